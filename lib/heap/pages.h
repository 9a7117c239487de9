/* The page allocator: hands out runs of pages (spans) from the reserved
 * region, coalesces freed runs, and gives idle pages back to the OS. */
#ifndef RECLAIM_HEAP_PAGES_H
#define RECLAIM_HEAP_PAGES_H

#include "span.h"

int  pages_init(void);
/* A span of npages, aligned to align_pages (a power of two). Its kind is
 * NONE until the caller says what it is; *clean says whether its bytes are
 * known to be zero.
 * NULL when the region is exhausted. */
struct span *pages_alloc(size_t npages, size_t align_pages, int *clean);
/* Returns an unused SMALL or LARGE span to the free pool. */
void pages_free(struct span *s);
/* Same, when the caller already holds the pages lock (the collector). */
void pages_free_locked(struct span *s);
/* Sets every page-map entry of s to s (after its kind is set), and its
 * page-info entries. */
void pages_map(struct span *s);
/* Sets s's page-info entries again (its side data appeared). */
void pages_set_info(struct span *s);
/* Turns free's fast path off (sparse) or on again for a SMALL span's
 * pages, leaving alone an entry pages_set_info made slow meanwhile (side
 * data, from any thread): the owner may call it while another thread
 * makes the span's side data. */
void pages_set_sparse(struct span *s, int sparse);

void pages_lock(void);
void pages_unlock(void);
/* madvise every dirty free span (for the collector, after resuming). */
void pages_purge(void);

size_t pages_in_use_bytes(void);
size_t pages_peak_bytes(void);
/* One past the highest span id ever used: the collector iterates 1..this. */
uint32_t pages_span_limit(void);

#endif
