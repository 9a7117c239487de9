/* Misuse of the allocator (double free, interior pointer, ...): one line
 * naming the call, the address and what is wrong, then abort() unless
 * RECLAIM_ON_ERROR=warn. */
#ifndef RECLAIM_UTIL_ERROR_H
#define RECLAIM_UTIL_ERROR_H

void error_bad_pointer(const char *call, const void *p, const char *what);
/* "double free" for the free family, "block already freed" for others. */
const char *error_freed_reason(const char *call);

#endif
