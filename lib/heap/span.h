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
 * Bit ownership (what lets malloc run without atomics): the alloc bitmap
 * of a span is written only by (a) the thread that owns the span as its
 * current span for that class, with single-instruction read-modify-writes,
 * (b) whoever holds the span exclusively under its class lock, or (c) the
 * collector while every other thread is stopped. Other threads free into a
 * span by setting its remote bit atomically; the owner folds remote bits
 * into alloc when it runs out of slots. A slot is allocated iff its alloc
 * bit is set and its remote bit is clear. */
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

struct span_bits {
    uint64_t alloc;
    _Atomic uint64_t remote;
};

struct span {
    uintptr_t start;
    uint32_t npages;
    uint32_t id;
    uint8_t kind;
    uint8_t cls;
    uint8_t listed;      /* on a partial list (SMALL) or a free bin (FREE) */
    uint8_t dirty;       /* FREE: pages may be non-zero and resident */
    uint16_t nslots;
    uint16_t nwords;
    uint32_t size;       /* slot size (SMALL) or npages * page (LARGE) */
    uint32_t magic;
    _Atomic(void *) owner;   /* owning thread cache (SMALL), or NULL */
    struct span *next, *prev;
    struct span_bits bits[SPAN_WORDS];
    uint64_t mark[SPAN_WORDS];
};

/* The region and its tables; written once at init, read everywhere. */
struct heap_region {
    uintptr_t base;
    size_t size;                /* reserved bytes */
    _Atomic size_t limit;       /* bytes of the region in use so far (grows) */
    uint32_t *pagemap;
    struct span *spans;         /* indexed by span id; id 0 unused */
};
extern struct heap_region region;

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
