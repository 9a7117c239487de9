/* The heap floor's face to the floors above: allocate, free, resize, and
 * classify any machine word in O(1). Pointers outside the region are not
 * ours; callers check heap_owns() first and hand those elsewhere. */
#ifndef RECLAIM_HEAP_HEAP_H
#define RECLAIM_HEAP_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "small.h"

/* Idempotent; returns 0 once the heap is usable. Safe from inside malloc. */
int heap_init(void);

void  *heap_alloc_slow(size_t n);
void  *heap_calloc(size_t n);                       /* zeroed */
void  *heap_memalign(size_t align, size_t n);       /* align: power of two */
void   heap_free(void *p, const char *call);
void  *heap_realloc(void *p, size_t n, const char *call);
size_t heap_usable_size(const void *p, const char *call);

static ALWAYS_INLINE int heap_owns(const void *p)
{
    return region_contains((uintptr_t)p);
}

static ALWAYS_INLINE void *heap_alloc(size_t n)
{
    if (likely(n < SC_MAX_SIZE))
        return small_alloc(sizeclass_of(n + 1));
    return heap_alloc_slow(n);
}

/* free() of a pointer inside the region. The common case (a small block
 * of a span this thread owns) is handled inline; the rest, including every
 * misuse report, goes through heap_free. */
static ALWAYS_INLINE void heap_free_fast(void *p, const char *call)
{
    uintptr_t a = (uintptr_t)p;
    struct span *s = span_of(a);
    struct tcache *tc = tc_self;
    if (likely(s && s->kind == SPAN_SMALL && (uintptr_t)tc > (uintptr_t)TC_DEAD &&
               atomic_load_explicit(&s->owner, memory_order_relaxed) == tc)) {
        uint32_t i = span_slot(s, a);
        struct span_bits *b = &s->bits[i >> 6];
        uint64_t m = 1ull << (i & 63);
        if (likely(s->start + (uintptr_t)i * s->size == a && (span_live_bits(b) & m))) {
            struct tbin *bin = &tc->bins[s->cls];
            uint32_t n = bin->ncached;
            if (likely(n < TC_CACHE)) {
                tc->in_alloc = 1;
                __asm__ __volatile__("" : : : "memory");
                bin->cached[n] = p;
                bin->ncached = n + 1;
                bits_set(&b->cached, m);
                __asm__ __volatile__("" : : : "memory");
                tc->in_alloc = 0;
                return;
            }
            bits_clear(&b->alloc, m);
            if (unlikely(--s->used == 0 || s->where == WHERE_FULL))
                small_owner_freed(tc, s);
            return;
        }
    }
    heap_free(p, call);
}

/* The block table lookup: is w inside an allocated block (or one byte past
 * its end)? Fills start/size (usable size) and the span and slot. */
struct heap_block {
    uintptr_t start;
    size_t size;
    struct span *span;
    uint32_t slot;
};
int heap_find(uintptr_t w, struct heap_block *out);

/* Allocation volume and the collection trigger. The collector installs fn;
 * it is called from an allocating thread, outside every heap lock, once
 * the bytes allocated since heap_reset_count() reach the threshold. */
void   heap_set_trigger(size_t threshold, void (*fn)(void));
size_t heap_count(void);
void   heap_reset_count(void);
void   heap_count_alloc(size_t bytes);
void   heap_maybe_collect(void);

/* Every lock of the heap floor, in the one global order (fork, collector). */
void heap_lock_all(void);
void heap_unlock_all(void);
void heap_fork_child(void);

#endif
