/* Draining sparse spans (lib/heap/small.c: sparse_update): once a span on
 * its owner's local list is under 3/4 full, frees into it go straight to
 * its bitmap instead of the thread's free list, so that the span can
 * empty and its pages go back to the page allocator. Internal test: the
 * heap floor is called directly, in a fresh process per test. */
#include <criterion/criterion.h>
#include <signal.h>

#include "heap/heap.h"
#include "heap/pages.h"

#define N       250      /* bytes: the 256-byte class */
#define PER     16       /* its slots per span */
#define NSPANS  13

static void *blocks[NSPANS][PER];

static const struct span *span_at(const void *p)
{
    struct heap_block b;
    cr_assert(heap_find((uintptr_t)p, &b), "%p is not a block", p);
    return b.span;
}

/* NSPANS spans of the class, every slot allocated, blocks[i] the slots of
 * the i-th span. */
static void setup(void)
{
    cr_assert_eq(heap_init(), 0, "heap_init failed");
    cr_assert_eq(sizeclasses[sizeclass_of(N + 1)].size, 256u);
    cr_assert_eq(sizeclasses[sizeclass_of(N + 1)].nslots, PER);
    cr_assert_eq(tcache_limit(sizeclass_of(N + 1)), 8 * PER, "the free list holds 8 spans' worth");
    for (unsigned i = 0; i < NSPANS; i++) {
        for (unsigned j = 0; j < PER; j++) {
            blocks[i][j] = heap_alloc(N);
            cr_assert_not_null(blocks[i][j]);
        }
        for (unsigned j = 1; j < PER; j++)
            cr_assert_eq(span_at(blocks[i][j]), span_at(blocks[i][0]), "span %u is not one span", i);
    }
}

static void free_range(unsigned span, unsigned from, unsigned to)
{
    for (unsigned j = from; j < to; j++)
        heap_free(blocks[span][j], "test");
}

/* Fills the free list (spans 1-4 whole, then half of spans 5-12) and
 * overflows it with a block of span 0: the list gives its newest half,
 * the halves of spans 5-12, to their bitmaps, which leaves those spans on
 * the local list and half full, so draining. Span 0 is still full and
 * span 12 current. */
static void make_draining(void)
{
    for (unsigned i = 1; i <= 4; i++)
        free_range(i, 0, PER);
    for (unsigned i = 5; i < NSPANS; i++)
        free_range(i, 0, PER / 2);
    heap_free(blocks[0][0], "test");
}

/* Freeing the other half of span 5 empties it: its page goes back at
 * once. Were those frees listed (the list has room again), the span
 * would keep its page until the list overflowed again. */
Test(drain, a_half_empty_span_empties_past_the_free_list, .init = setup)
{
    make_draining();
    size_t before = pages_in_use_bytes();
    free_range(5, PER / 2, PER);
    cr_assert_eq(pages_in_use_bytes(), before - OS_PAGE,
                 "span 5 kept its page: %zu bytes in use, %zu before", pages_in_use_bytes(), before);
}

/* Only draining spans skip the list: a free into span 0 (full) or span
 * 12 (current) is listed, one into span 6 is not. */
Test(drain, only_frees_into_draining_spans_skip_the_list, .init = setup)
{
    make_draining();
    const struct tbin *bin = &tc_self->bins[sizeclass_of(N + 1)];
    unsigned n = bin->ncached;
    heap_free(blocks[0][1], "test");
    cr_assert_eq(bin->ncached, n + 1, "a free into a full span was not listed");
    heap_free(blocks[NSPANS - 1][PER - 1], "test");
    cr_assert_eq(bin->ncached, n + 2, "a free into the current span was not listed");
    heap_free(blocks[6][PER - 1], "test");
    cr_assert_eq(bin->ncached, n + 2, "a free into a draining span was listed");
}

/* A block freed into a draining span is free in its bitmap at once: the
 * block table no longer knows it, and a second free of it is reported. */
Test(drain, a_second_free_into_a_draining_span_is_reported, .init = setup, .signal = SIGABRT)
{
    make_draining();
    void *p = blocks[5][PER / 2];
    heap_free(p, "test");
    struct heap_block b;
    cr_assert_not(heap_find((uintptr_t)p, &b), "a freed block is still in the block table");
    heap_free(p, "test");
}

/* Side data made for a draining span (here by a flag on one of its
 * blocks) keeps free off its fast path after the span stops draining: a
 * freed block's flags must be cleared, which only the slow path does. */
Test(drain, side_data_outlives_draining, .init = setup)
{
    make_draining();
    void *q = blocks[6][PER - 1];
    cr_assert_eq(heap_block_set_flags((uintptr_t)q, BLOCK_NOSCAN, 0), 0);
    const struct span *s6 = span_at(q);
    unsigned k = 0;
    for (;;) {
        void *p = heap_alloc(N);
        cr_assert_not_null(p);
        if (span_at(p) == s6)
            break;   /* span 6 is current: no longer draining */
        cr_assert(++k < 1000, "span 6 never became current");
    }
    cr_assert_eq(heap_free_cached(q), 0, "a block with side data took free's fast path");
    heap_free(q, "test");
}
