/* reclaim: a conservative garbage collector and leak checker for C.
 *
 * Linking with -lreclaim (or LD_PRELOAD=libreclaim.so) replaces malloc,
 * free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, free_sized and
 * free_aligned_sized. The explicit-control API (collection, reference
 * counts, finalizers, weak references, introspection) will be declared
 * here as it lands; see reclaim(3). */
#ifndef RECLAIM_H
#define RECLAIM_H

#define RECLAIM_VERSION "0.1.0"

#endif
