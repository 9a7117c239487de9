/* From raw blocks to what is shown: reclaim's own frames dropped, records
 * whose remaining stacks are equal merged, every frame symbolized (inlined
 * frames expanded), suppressions applied, leaks sorted largest first, and
 * the totals of each report computed. The text and JSON writers only
 * format what this produces. */
#ifndef RECLAIM_TOOLS_ANALYZE_H
#define RECLAIM_TOOLS_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "rawreport.h"
#include "suppress.h"

struct shown_frame {
    const char *function;      /* NULL when unknown */
    const char *file;          /* NULL when unknown */
    unsigned line;             /* 0 when unknown */
    const char *module;        /* path, after resolving the executable's */
    uint64_t offset;
    int inlined;               /* a function inlined into the next frame */
};

struct leak {
    enum record_kind kind;
    uint64_t blocks, bytes;
    size_t nframes;
    struct shown_frame *frames;
    const struct suppression *suppressed_by;   /* NULL if shown */
};

struct report {
    const struct raw_block *raw;
    unsigned index, count;     /* report `index` (1-based) of the `count` of this process */
    size_t nleaks;             /* every kind; suppressed ones included */
    struct leak *leaks;        /* largest first */
    struct totals shown;       /* per kind, suppressed leaks excluded */
    uint64_t suppressed_blocks, suppressed_bytes;
};

struct analysis {
    size_t nreports;
    struct report *reports;    /* grouped by process, processes in pid order */
    uint64_t leaked_blocks, leaked_bytes;          /* over all final reports */
    uint64_t suppressed_blocks, suppressed_bytes;
    unsigned nprocesses;
};

/* first_pid, if > 0, is shown first (the program the tool started). */
void analyze(struct analysis *a, const struct raw_set *set, struct suppressions *supp,
             long first_pid);

/* Does the report hold a direct or indirect leak that is not suppressed? */
int report_has_leaks(const struct report *r);

#endif
