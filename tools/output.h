/* What `leaks` and `report` share once report files exist: suppressions,
 * the output files, reading the files, analysis and writing. */
#ifndef RECLAIM_TOOLS_OUTPUT_H
#define RECLAIM_TOOLS_OUTPUT_H

#include <stdio.h>

#include "args.h"
#include "rawreport.h"
#include "suppress.h"

struct reporting {
    struct suppressions supp;
    FILE *text, *json;
    const char *text_path, *json_path;   /* NULL for stderr / no JSON */
    int show_reachable;
};

/* Loads suppressions and opens the outputs, or exits 2 saying why. Done
 * before a program runs, so that a typo does not cost a whole run. */
void reporting_prepare(struct reporting *r, const struct args *a);

/* Reads the report file at path, or every file in it if it is a directory
 * (in name order, skipping hidden ones). Returns -1 if path or a file in
 * it cannot be read. */
int collect_reports(struct raw_set *set, const char *path);

/* Writes the reports in set (first_pid's first, if > 0) and closes the
 * outputs. Returns 1 if an unsuppressed leak was found, 0 if not, -1 if an
 * output could not be written. */
int reporting_finish(struct reporting *r, const struct raw_set *set, long first_pid);

#endif
