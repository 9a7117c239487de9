/* The machine-readable report: JSON Lines, one object per report of each
 * process (one per process unless on-demand reports were asked for). */
#ifndef RECLAIM_TOOLS_JSON_H
#define RECLAIM_TOOLS_JSON_H

#include <stdio.h>

#include "analyze.h"

/* Each line:
 *   {"pid", "ppid", "exe", "command", "report", "reports", "time", "complete",
 *    "leaks": [{"kind", "bytes", "blocks",
 *               "stack": [{"function", "file", "line", "module", "offset", "inlined"}]}],
 *    ["reachable": [...same shape...],]   (with show_reachable)
 *    "summary": {"direct_blocks", "direct_bytes", "indirect_blocks", "indirect_bytes",
 *                "reachable_blocks", "reachable_bytes",
 *                "suppressed_blocks", "suppressed_bytes"}}
 * Unknown function, file, line and time are null; offset is a hex string. */
void json_write(FILE *out, const struct analysis *a, int show_reachable);

#endif
