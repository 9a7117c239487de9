/* The heap side of a collection: what the collector may ask of the block
 * table while every other thread is stopped and it holds heap_lock_all().
 * Marks are bits in the span descriptors; outside a collection they are
 * all clear. */
#ifndef RECLAIM_HEAP_COLLECT_H
#define RECLAIM_HEAP_COLLECT_H

#include "heap.h"

/* Folds every pending cross-thread free into the alloc bitmaps, and sets
 * the slots waiting on free lists aside as free, so that "allocated"
 * is a single bit test for the rest of the collection. */
void heap_gc_begin(void);
/* Puts the set-aside slots back, before the world resumes: every
 * collection that began ends with this, swept or not. */
void heap_gc_end(void);

/* The span w falls in, if any: the first half of a lookup, split off so
 * that the marker can prefetch the descriptor before it needs it. base and
 * limit are region.base and region.limit, read once per scan. */
static ALWAYS_INLINE struct span *heap_candidate(uintptr_t w, uintptr_t base, size_t limit)
{
    uintptr_t off = w - base;
    if (off >= limit)
        return NULL;
    uint32_t id = region.pagemap[off >> PAGE_SHIFT];
    return id ? &region.spans[id] : NULL;
}

/* The second half: if w points into an allocated, not yet marked block of
 * s (or one past its end), marks it and returns 1 with its start and
 * usable size, or 2 when the block holds no pointers (BLOCK_NOSCAN) and
 * needs no scan. */
static ALWAYS_INLINE int heap_mark_in(struct span *s, uintptr_t w, uintptr_t *start, size_t *size)
{
    if (s->kind == SPAN_SMALL) {
        uint32_t i = span_slot(s, w);
        if (i >= s->nslots)
            return 0;
        uint64_t m = 1ull << (i & 63);
        struct span_bits *b = &s->bits[i >> 6];
        if (!(b->alloc & m) || (b->mark & m))
            return 0;
        b->mark |= m;
        *start = s->start + (uintptr_t)i * s->size;
        *size = s->size - 1;
        return unlikely(s->side && (s->side->flags[i] & BLOCK_NOSCAN)) ? 2 : 1;
    }
    if (s->kind == SPAN_LARGE) {
        if (!(s->bits[0].alloc & 1) || (s->bits[0].mark & 1))
            return 0;
        s->bits[0].mark = 1;
        *start = s->start;
        *size = ((size_t)s->npages << PAGE_SHIFT) - 1;
        return unlikely(s->side && (s->side->flags[0] & BLOCK_NOSCAN)) ? 2 : 1;
    }
    return 0;
}

static ALWAYS_INLINE int heap_mark_word(uintptr_t w, uintptr_t *start, size_t *size)
{
    struct span *s = heap_candidate(w, region.base, atomic_load_explicit(&region.limit, memory_order_relaxed));
    return s ? heap_mark_in(s, w, start, size) : 0;
}

/* Every marked block (for re-scanning after a mark-stack overflow). */
void heap_for_each_marked(void (*fn)(uintptr_t start, size_t size, void *arg), void *arg);

struct heap_sweep {
    size_t freed_blocks, freed_bytes;   /* unmarked blocks made free */
    size_t live_blocks, live_bytes;     /* marked blocks kept */
};
/* Frees every allocated, unmarked block, clears every mark, and gives
 * emptied spans back to the page allocator. */
void heap_sweep(struct heap_sweep *out);

/* Whether the allocated block containing p is marked (0 if no block). */
int heap_is_marked(uintptr_t p);

/* Clears every mark without sweeping (an abandoned collection). */
void heap_clear_marks(void);

/* Heap footprint: bytes of pages in use by spans, and the peak. */
size_t heap_bytes(void);
size_t heap_peak_bytes(void);

#endif
