/* The human-readable report: per process, its leaks grouped by allocation
 * stack, largest first, then a SUMMARY line. */
#ifndef RECLAIM_TOOLS_TEXT_H
#define RECLAIM_TOOLS_TEXT_H

#include <stdio.h>

#include "analyze.h"
#include "suppress.h"

void text_write(FILE *out, const struct analysis *a, const struct suppressions *supp,
                int show_reachable);

#endif
