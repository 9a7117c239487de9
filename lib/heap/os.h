/* OS memory for the heap floor: reserving address space, committing it,
 * giving pages back, and the registry of every mapping reclaim itself made
 * (so the collector never scans its own metadata). */
#ifndef RECLAIM_HEAP_OS_H
#define RECLAIM_HEAP_OS_H

#include <stddef.h>
#include <stdint.h>

#define OS_PAGE 4096u

void *os_reserve(size_t size);                 /* PROT_NONE, NULL on failure */
int   os_commit(void *addr, size_t size);      /* 0 or -1 */
void  os_decommit(void *addr, size_t size);    /* contents become zero, RSS drops */
/* Asks for transparent huge pages: fewer TLB misses when the collector
 * walks a big heap at random; used only past a size where the RSS cost of
 * a half-used huge page no longer matters. */
void  os_hugepages(void *addr, size_t size);
void *os_map(size_t size);                     /* fresh RW zeroed memory, registered */
void  os_unmap(void *addr, size_t size);
/* The same, for a caller that already holds os_lock_all() (the collector). */
void *os_map_locked(size_t size);
void  os_unmap_locked(void *addr, size_t size);

/* The registry of reclaim's own mappings. */
struct os_range { uintptr_t start, end; };
void   os_register(void *addr, size_t size);
void   os_unregister(void *addr);
size_t os_ranges(struct os_range *out, size_t max);

/* Metadata memory that never comes from the heap: a bump allocator over
 * os_map'd chunks. Zeroed; never freed (callers recycle their objects). */
void *meta_alloc(size_t size);

/* Taken around fork and stop-the-world, in the global lock order. */
void os_lock_all(void);
void os_unlock_all(void);

#endif
