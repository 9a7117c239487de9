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

/* Zeroes the bytes of a slot past the request. A slot the program freed
 * keeps its old contents; when a smaller request reuses it, the tail the
 * program never writes would hold stale pointers keeping dead blocks alive
 * (clearing whole blocks on free doubled the cost of free). The tail runs
 * from the request's last 16-byte chunk to the end of the slot: at least
 * 16 bytes (slots are multiples of 16 and hold one byte more than asked)
 * and at most 64 for every class up to 512 bytes (one class step plus 15).
 * Such a tail gets four aligned 16-byte stores, overlapping when it is
 * shorter, with no branch on its length to mispredict and no store outside
 * it (a fixed 64 bytes touched lines the program never would); longer
 * tails are finished by a loop or memset. Bytes inside the request may be
 * cleared too: they are not initialised. */
typedef long long heap_v16 __attribute__((vector_size(16), aligned(16)));

/* Requests below this have tails of at most 64 bytes (a unit test checks). */
#define HEAP_SHORT_TAIL 512u

static ALWAYS_INLINE void heap_clear_short_tail(void *p, size_t n, size_t slot)
{
    /* And the free-list link and heap_key, inside the request or not. */
    *(heap_v16 *)p = (heap_v16){ 0, 0 };
    char *from = (char *)p + (n & ~(size_t)15);
    char *last = (char *)p + slot - 16;
    char *a1 = from + 16 < last ? from + 16 : last;
    char *a2 = from + 32 < last ? from + 32 : last;
    *(heap_v16 *)from = (heap_v16){ 0, 0 };
    *(heap_v16 *)a1 = (heap_v16){ 0, 0 };
    *(heap_v16 *)a2 = (heap_v16){ 0, 0 };
    *(heap_v16 *)last = (heap_v16){ 0, 0 };
}

static ALWAYS_INLINE void heap_clear_tail(void *p, size_t n, size_t slot)
{
    char *from = (char *)p + (n & ~(size_t)15);
    char *end = (char *)p + slot;
    if (likely(end - from <= 64)) {
        heap_clear_short_tail(p, n, slot);
        return;
    }
    *(heap_v16 *)p = (heap_v16){ 0, 0 };
    if (end - from > 256) {
        __builtin_memset(from, 0, (size_t)(end - from));
        return;
    }
    for (char *q = from; q < end; q += 16) {
        *(heap_v16 *)q = (heap_v16){ 0, 0 };
        __asm__("" : "+r"(q));
    }
}

/* A block below HEAP_SHORT_TAIL bytes from the calling thread's bin, or
 * NULL when that needs more (heap_alloc_slow). Calls nothing, so that an
 * entry point taking this path first needs no stack frame of its own. */
static ALWAYS_INLINE void *heap_alloc_fast(size_t n)
{
    struct tcache *tc = tc_self;
    if (likely(n < HEAP_SHORT_TAIL && (uintptr_t)tc > (uintptr_t)TC_DEAD)) {
        struct tbin *b = &tc->bins[sc_small_index[(n + 16) >> 4]];
        void *p = small_pop(b);
        if (likely(p)) {
            heap_clear_short_tail(p, n, b->size);
            return p;
        }
        /* A class whose spans are full borrows (small.c: borrow), unless
         * its list is there but damaged: small_alloc_slow reports that. */
        struct tbin *l = &tc->bins[b->lender];
        if (b->lender && !b->head && (p = small_pop(l))) {
            heap_clear_short_tail(p, n, l->size);
            return p;
        }
    }
    return NULL;
}

static ALWAYS_INLINE void *heap_alloc(size_t n)
{
    void *p = heap_alloc_fast(n);
    return likely(p) ? p : heap_alloc_slow(n);
}

/* Allocation volume and the collection trigger. The collector installs fn;
 * it is called from an allocating thread, outside every heap lock, once
 * the bytes handed out since heap_reset_count() reach count_threshold, or
 * those bytes less the bytes the program freed since reach net_threshold
 * (0: that test is off). Blocks cycling through a thread's free list
 * count neither way. */
void   heap_set_trigger(size_t count_threshold, size_t net_threshold, void (*fn)(void));
size_t heap_count(void);
void   heap_reset_count(void);
void   heap_count_alloc(size_t bytes);
void   heap_count_free(size_t bytes);
/* Per thread, flushed to the global counts now and then. */
void   heap_note_free(struct tcache *tc, size_t bytes);

/* Puts the freed slot p of class c on tc's free list, unless it is full
 * (returns 0). The caller has checked that p is an allocated block. */
static ALWAYS_INLINE int heap_cache_put(struct tcache *tc, unsigned c, void *p)
{
    struct tbin *bin = &tc->bins[c];
    uint32_t n = bin->ncached;
    if (unlikely(n >= bin->limit))
        return 0;
    ((void **)p)[0] = bin->head;
    tcache_mark(p);
    /* Linked before it is listed: see tcache.h. */
    __asm__ __volatile__("" : : : "memory");
    bin->head = p;         /* from here on, a collection sees it cached */
    bin->ncached = n + 1;
    return 1;
}

/* The common free(): a small block of a span without side data goes to
 * the class's free list of the calling thread, whatever thread owns
 * the span, with no look at the span descriptor: the page-info entry gives
 * the class and the slot check, and the word free writes into the block
 * (heap_key) shows a second free. Returns 0, having done nothing, for
 * everything else (NULL, foreign pointers, a full list, every misuse),
 * which goes through heap_free and its bitmap checks. Calls nothing. */
static ALWAYS_INLINE int heap_free_cached(void *p)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t off = a - region.base;
    struct tcache *tc = tc_self;
    if (likely(off < atomic_load_explicit(&region.limit, memory_order_relaxed))) {
        unsigned e = __atomic_load_n(&region.pageinfo[off >> PAGE_SHIFT], __ATOMIC_RELAXED);
        unsigned c = PAGEINFO_CLASS(e);
        if (likely(c < SC_COUNT && (uintptr_t)tc > (uintptr_t)TC_DEAD)) {
            const struct sizeclass *k = &sizeclasses[c];
            uint32_t soff = (uint32_t)(PAGEINFO_INDEX(e) << PAGE_SHIFT) | (uint32_t)(off & (OS_PAGE - 1));
            uint64_t q = (uint64_t)soff * k->magic;   /* slot start: see sizeclass.h */
            if (likely((uint32_t)q < k->magic && (q >> 32) < k->nslots &&
                       !tcache_marked(p)))
                return heap_cache_put(tc, c, p);
        }
    }
    return 0;
}

/* Per-block side data, kept beside the span (never in the block): flags
 * for the collector and the api floor, and a 32-bit tag (the allocation
 * stack id in leaks mode). Flags are cleared whenever the block is freed
 * (by the program or the collector); the tag is simply overwritten. Both
 * take the start of an allocated block. set functions return -1 when
 * metadata memory is exhausted. */
#define BLOCK_NOSCAN   0x01   /* reclaim_malloc_atomic: never scanned for pointers */
#define BLOCK_FINAL    0x02   /* a finalizer is registered (the api floor keeps it) */
#define BLOCK_WEAK     0x04   /* a weak reference targets it (likewise) */
unsigned heap_block_flags(uintptr_t start);
int      heap_block_set_flags(uintptr_t start, unsigned set, unsigned clear);
uint32_t heap_block_tag(uintptr_t start);
int      heap_block_set_tag(uintptr_t start, uint32_t tag);
/* Calls fn for every allocated block (cached free slots excluded); stops
 * when fn returns non-zero. Takes the heap locks: fn must not allocate. */
size_t   heap_for_each_block(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg);
/* The same for a caller that holds heap_lock_all() (the collector). */
size_t   heap_for_each_block_locked(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg);

/* The block table lookup: is w inside an allocated block (or one byte past
 * its end)? Fills start/size (usable size) and the span and slot. */
struct heap_block {
    uintptr_t start;
    size_t size;
    struct span *span;
    uint32_t slot;
};
int heap_find(uintptr_t w, struct heap_block *out);

void   heap_maybe_collect(void);

/* Every lock of the heap floor, in the one global order (fork, collector). */
void heap_lock_all(void);
void heap_unlock_all(void);
void heap_fork_child(void);

#endif
