/* Interned strings: one copy of each distinct string, so that module paths
 * can be compared and used as cache keys by pointer. Never freed: the tool
 * lives for one report. */
#ifndef RECLAIM_TOOLS_INTERN_H
#define RECLAIM_TOOLS_INTERN_H

#include <stdint.h>

/* The one copy of s. */
const char *intern(const char *s);

/* FNV-1a, also used by callers that hash interned pointers with offsets. */
uint64_t hash_bytes(const void *p, unsigned long n, uint64_t h);
#define HASH_SEED 0xcbf29ce484222325ULL

#endif
