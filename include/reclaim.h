/* reclaim: a conservative garbage collector and leak checker for C.
 *
 * Linking with -lreclaim (or LD_PRELOAD=libreclaim.so) replaces malloc,
 * free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, free_sized and
 * free_aligned_sized. The calls below give a program explicit control;
 * see reclaim(3). */
#ifndef RECLAIM_H
#define RECLAIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RECLAIM_VERSION "0.1.0"

/* A full collection now. Returns the number of blocks reclaimed. Works in
 * every mode, including leaks mode where nothing is collected otherwise. */
size_t reclaim_collect(void);

typedef struct reclaim_stats {
    size_t collections, live_blocks, live_bytes, heap_bytes, reclaimed_blocks, reclaimed_bytes;
    unsigned long long pause_ns_total, pause_ns_max;
} reclaim_stats;
/* Figures as of the last collection (live_*), and running totals. */
void reclaim_get_stats(reclaim_stats *out);

/* The start of the allocated block containing p (or whose end p is one
 * past), or NULL when p is not inside an allocated block. */
void  *reclaim_block_start(const void *p);
/* The usable size of that block, or 0. */
size_t reclaim_block_size(const void *p);

#ifdef __cplusplus
}
#endif

#endif
