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

static ALWAYS_INLINE void heap_clear_tail(void *p, size_t n, size_t slot)
{
    char *from = (char *)p + (n & ~(size_t)15);
    char *end = (char *)p + slot;
    char *last = end - 16;
    if (likely(end - from <= 64)) {
        char *a1 = from + 16 < last ? from + 16 : last;
        char *a2 = from + 32 < last ? from + 32 : last;
        *(heap_v16 *)from = (heap_v16){ 0, 0 };
        *(heap_v16 *)a1 = (heap_v16){ 0, 0 };
        *(heap_v16 *)a2 = (heap_v16){ 0, 0 };
        *(heap_v16 *)last = (heap_v16){ 0, 0 };
        return;
    }
    if (end - from > 256) {
        __builtin_memset(from, 0, (size_t)(end - from));
        return;
    }
    for (char *q = from; q < end; q += 16) {
        *(heap_v16 *)q = (heap_v16){ 0, 0 };
        __asm__("" : "+r"(q));
    }
}

static ALWAYS_INLINE void *heap_alloc(size_t n)
{
    if (likely(n < SC_MAX_SIZE)) {
        unsigned c = sizeclass_of(n + 1);
        void *p = small_alloc(c);
        if (likely(p))
            heap_clear_tail(p, n, sizeclasses[c].size);
        return p;
    }
    return heap_alloc_slow(n);
}

/* Allocation volume and the collection trigger. The collector installs fn;
 * it is called from an allocating thread, outside every heap lock, once
 * the bytes handed out since heap_reset_count() reach count_threshold, or
 * those bytes less the bytes the program freed since reach net_threshold
 * (0: that test is off). Blocks cycling through a thread's free-slot array
 * count neither way. */
void   heap_set_trigger(size_t count_threshold, size_t net_threshold, void (*fn)(void));
size_t heap_count(void);
void   heap_reset_count(void);
void   heap_count_alloc(size_t bytes);
void   heap_count_free(size_t bytes);
/* Per thread, flushed to the global counts now and then. */
void   heap_note_free(struct tcache *tc, size_t bytes);

/* free() of a pointer inside the region. The common case (a small block
 * of a span this thread owns) is handled inline: the alloc bit is the
 * double-free check, and the slot goes to the class's free-slot array, or
 * back to the bitmap when that is full. The rest, including every misuse
 * report, goes through heap_free. */
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
            bits_clear(&b->alloc, m);
            if (unlikely(s->side))
                s->side->flags[i] = 0;
            struct tbin *bin = &tc->bins[s->cls];
            uint32_t n = bin->ncached;
            if (likely(n < tcache_limit(s->cls))) {
                bin->cached[n] = p;
                bin->cword[n] = &b->alloc;
                bin->cbit[n] = (uint8_t)(i & 63);
                bin->ncached = n + 1;
                return;
            }
            heap_note_free(tc, s->size);
            if (unlikely(--s->used == 0 || s->where == WHERE_FULL))
                small_owner_freed(tc, s);
            return;
        }
    }
    heap_free(p, call);
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
