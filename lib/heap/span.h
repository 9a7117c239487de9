/* Spans and the page map: the block table every lookup goes through.
 *
 * The heap is one reserved region. Each 4 KiB page of it has a 32-bit entry
 * in the page map naming the span that holds it (0 = none). A span is a
 * run of pages holding either many slots of one size class (SMALL) or one
 * large block (LARGE), or free pages (FREE: only its first and last page
 * name it). Span descriptors live in their own reserved array, outside the
 * heap: allocation, remote-free and mark state are bitmaps there, never
 * headers next to user bytes.
 *
 * Ownership (what lets malloc and free run without atomics): a SMALL span
 * belongs to the thread cache that took it until that thread exits. Its
 * alloc bitmap is written only by (a) the owner, with single-instruction
 * read-modify-writes, (b) whoever holds an unowned span exclusively under
 * its class lock, or (c) the collector while every other thread is
 * stopped. Other threads free into a span by setting its remote bit
 * atomically and, the first time, pushing the span onto the owner's
 * remote stack; the owner folds remote bits into alloc when it takes the
 * span from there. A slot is allocated iff its alloc bit is set and its
 * remote bit is clear. The slots waiting on threads' free lists (tcache.h)
 * are the one layer above this: the program freed them, but the bitmap
 * still calls them allocated until they leave the list; a collection sets
 * them aside for its duration (collect.h).
 *
 * Beside the page map, a 16-bit page-info entry per page gives free()'s
 * fast path what it needs without the descriptor, whose cache miss was
 * the largest cost of a free: the size class of a SMALL span without side
 * data, and the page's index in its span. */
#ifndef RECLAIM_HEAP_SPAN_H
#define RECLAIM_HEAP_SPAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/compiler.h"
#include "os.h"
#include "sizeclass.h"

#define PAGE_SHIFT 12
#define SPAN_WORDS (SC_MAX_SLOTS / 64)

enum span_kind { SPAN_NONE = 0, SPAN_FREE, SPAN_SMALL, SPAN_LARGE };
enum span_where { WHERE_NONE = 0, WHERE_CURRENT, WHERE_LOCAL, WHERE_FULL };

struct span_bits {
    uint64_t alloc;
    _Atomic uint64_t remote;
    uint64_t mark;          /* the collector's; clear outside a collection */
};

/* Per-block side data (heap.h: heap_block_flags/tags), made on demand. */
struct span_side {
    uint32_t cap;        /* slots it has room for */
    uint32_t *tags;
    uint8_t *flags;
};

/* Laid out so that everything malloc, free and the marker touch for a
 * span of up to 64 slots (the header fields and bits[0]) shares the first
 * cache line: marking a random graph is bound by these misses. */
struct span {
    uintptr_t start;
    _Atomic(void *) owner;   /* owning thread cache (SMALL), or NULL */
    uint32_t size;       /* slot size (SMALL) or npages * page (LARGE) */
    uint32_t magic;
    uint8_t kind;
    uint8_t cls;
    /* Owner-private: which of the owner's lists holds the span (enum
     * span_where), and the slots allocated or cached by it. */
    uint8_t where;
    _Atomic uint8_t rpending;    /* on its owner's remote stack */
    uint16_t used;
    uint16_t nslots;
    struct span_side *side;      /* per-block flags and tags, or NULL */
    struct span_bits bits[SPAN_WORDS];
    uint16_t nwords;
    uint8_t listed;      /* on a partial list (SMALL) or a free bin (FREE) */
    uint8_t dirty;       /* FREE: pages may be non-zero and resident */
    /* During a collection: holds slots set aside from free lists,
     * so the sweep must not give it back even if nothing else is live. */
    uint8_t pinned;
    /* Owner-private: on the owner's local list and under 3/4 full; frees
     * into it skip the free lists (small.c: sparse_update). */
    uint8_t sparse;
    uint32_t npages;
    uint32_t id;
    struct span *rnext;          /* link on the owner's remote stack */
    /* The owner's private lists, or the class's shared partial list. */
    struct span *next, *prev;
} __attribute__((aligned(CACHELINE)));

/* The region and its tables; written once at init, read everywhere. */
struct heap_region {
    uintptr_t base;
    size_t size;                /* reserved bytes */
    _Atomic size_t limit;       /* bytes of the region in use so far (grows) */
    uint32_t *pagemap;
    uint16_t *pageinfo;         /* PAGEINFO_* per page, committed with pagemap */
    struct span *spans;         /* indexed by span id; id 0 unused */
};
extern struct heap_region region;

/* A page-info entry: class + 1 in the low byte for a page of a SMALL span
 * without side data, PAGEINFO_SPARSE for one of a span being drained
 * (small.c: sparse_update), 0 for every other page (both: free()'s slow
 * path); the page's index in its span in the high byte. */
#define PAGEINFO_CLASS(e) ((unsigned)((e) & 0xff) - 1u)   /* >= SC_COUNT: slow */
#define PAGEINFO_SPARSE   0xff
#define PAGEINFO_INDEX(e) ((unsigned)(e) >> 8)

static ALWAYS_INLINE struct span *span_of(uintptr_t addr)
{
    uintptr_t off = addr - region.base;
    if (unlikely(off >= atomic_load_explicit(&region.limit, memory_order_relaxed)))
        return NULL;
    uint32_t id = region.pagemap[off >> PAGE_SHIFT];
    return id ? &region.spans[id] : NULL;
}

static ALWAYS_INLINE int region_contains(uintptr_t addr)
{
    return addr - region.base < region.size;
}

/* Slot index of addr inside a SMALL span (may be >= nslots in the tail). */
static ALWAYS_INLINE uint32_t span_slot(const struct span *s, uintptr_t addr)
{
    return (uint32_t)(((uint64_t)(addr - s->start) * s->magic) >> 32);
}

/* The span of an address known to lie in a mapped span (no limit check). */
static ALWAYS_INLINE struct span *span_of_block(uintptr_t addr)
{
    return &region.spans[region.pagemap[(addr - region.base) >> PAGE_SHIFT]];
}

/* The span of the small block starting at a (known to be one), and the
 * bitmap word and bit of its slot. */
static ALWAYS_INLINE struct span_bits *span_block_bits(uintptr_t a, struct span **sp, uint64_t *m)
{
    struct span *s = span_of_block(a);
    uint32_t i = span_slot(s, a);
    *sp = s;
    *m = 1ull << (i & 63);
    return &s->bits[i >> 6];
}

static ALWAYS_INLINE uint64_t span_live_bits(const struct span_bits *b)
{
    return b->alloc & ~atomic_load_explicit(&b->remote, memory_order_relaxed);
}

static ALWAYS_INLINE uint64_t span_valid_mask(const struct span *s, unsigned w)
{
    unsigned rem = s->nslots & 63;
    return (w == s->nwords - 1u && rem) ? (1ull << rem) - 1 : ~0ull;
}

/* Single-instruction updates of an alloc word (see "bit ownership"). */
static ALWAYS_INLINE void bits_set(uint64_t *w, uint64_t m)
{
#if defined(__x86_64__)
    __asm__ __volatile__("orq %1, %0" : "+m"(*w) : "r"(m) : "cc");
#else
    __atomic_fetch_or(w, m, __ATOMIC_RELAXED);
#endif
}

static ALWAYS_INLINE void bits_clear(uint64_t *w, uint64_t m)
{
#if defined(__x86_64__)
    __asm__ __volatile__("andq %1, %0" : "+m"(*w) : "r"(~m) : "cc");
#else
    __atomic_fetch_and(w, ~m, __ATOMIC_RELAXED);
#endif
}

#endif
