/* Function names for the readable report written inside the program (the
 * reclaim tool does the full job with file:line and inlined frames). */
#ifndef RECLAIM_REPORT_SYMBOLS_H
#define RECLAIM_REPORT_SYMBOLS_H

#include <stdint.h>

/* The function containing offset (module-relative, as recorded) in module
 * mid, or NULL. The name stays valid until sym_release(). */
const char *sym_lookup(uint32_t mid, uint64_t offset);

/* Unmaps every module file sym_lookup opened. */
void sym_release(void);

#endif
