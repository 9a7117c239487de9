/* Inside the report floor: the result of one leak check, summed per
 * (allocation stack, kind), and the two ways of writing it out. */
#ifndef RECLAIM_REPORT_WRITE_H
#define RECLAIM_REPORT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "../gc/collect.h"

struct leakrep_record {
    uint32_t stack;            /* stack id; 0: no stack recorded */
    enum leak_kind kind;
    uint64_t blocks, bytes;    /* bytes as requested by the program */
};

struct leakrep_result {
    struct leakrep_record *rec;   /* direct, then indirect, then reachable; largest first */
    size_t nrec;
    uint64_t blocks[3], bytes[3]; /* by enum leak_kind */
};

/* One "reclaim-report 1" ... "end" block of raw records (the format the
 * reclaim tool reads, see tools/rawreport.h). Returns -1 on a write error. */
int leakrep_write_raw(int fd, const struct leakrep_result *r);

/* The readable report: records grouped by stack with function names where
 * the modules have symbols, then the SUMMARY line. Reachable records only
 * with show_reachable. Returns -1 on a write error. */
int leakrep_write_text(int fd, const struct leakrep_result *r, int show_reachable);

#endif
