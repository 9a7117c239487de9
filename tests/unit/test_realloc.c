/* realloc, calloc and malloc_usable_size through the exported names:
 * contents survive every kind of resize (small/large in both directions),
 * realloc(NULL, n) allocates, realloc(p, 0) frees and returns NULL, the
 * usable size covers the request, and calloc zeroes even a block that is
 * reused after being dirtied. Entry-point test: links libreclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* Resizes a block filled with a pattern and checks the common prefix. */
static void resize_keeps(size_t from, size_t to)
{
    unsigned char *p = malloc(from);
    cr_assert_not_null(p);
    for (size_t i = 0; i < from; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    unsigned char *q = realloc(p, to);
    cr_assert_not_null(q, "realloc(%zu -> %zu) failed", from, to);
    size_t keep = from < to ? from : to;
    for (size_t i = 0; i < keep; i++)
        if (q[i] != (unsigned char)(i * 7 + 3))
            cr_assert_fail("realloc(%zu -> %zu): byte %zu lost", from, to, i);
    size_t usable = malloc_usable_size(q);
    cr_assert_geq(usable, to, "realloc(%zu -> %zu): usable %zu", from, to, usable);
    memset(q, 0xee, usable);
    free(q);
}

Test(realloc, small_to_small)
{
    static const size_t s[][2] = {
        { 1, 2 }, { 24, 200 }, { 200, 24 }, { 100, 101 }, { 16, 17 }, { 1000, 16000 },
        { 16000, 1000 }, { 300, 150 }, { 300, 149 }, { 5, 1 },
    };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        resize_keeps(s[i][0], s[i][1]);
}

Test(realloc, small_to_large)
{
    resize_keeps(100, 100000);
    resize_keeps(16383, 16384);
    resize_keeps(1, 1u << 20);
}

Test(realloc, large_to_small)
{
    resize_keeps(100000, 100);
    resize_keeps(16384, 16383);
    resize_keeps(1u << 20, 1);
}

Test(realloc, large_to_large)
{
    resize_keeps(100000, 300000);
    resize_keeps(300000, 50000);
    resize_keeps(300000, 299999);
    resize_keeps(20000, 20001);
    resize_keeps(1u << 20, 3u << 20);
}

/* A chain of resizes up and down, each checking the whole prefix. */
Test(realloc, growth_chain)
{
    size_t n = 1;
    unsigned char *p = malloc(n);
    p[0] = 0;
    for (int step = 0; step < 60; step++) {
        size_t m = step < 40 ? n * 3 / 2 + 1 : n / 2 + 1;
        p = realloc(p, m);
        cr_assert_not_null(p);
        size_t keep = n < m ? n : m;
        for (size_t i = 0; i < keep; i++)
            if (p[i] != (unsigned char)(i * 13))
                cr_assert_fail("step %d (%zu -> %zu): byte %zu lost", step, n, m, i);
        for (size_t i = keep; i < m; i++)
            p[i] = (unsigned char)(i * 13);
        n = m;
    }
    free(p);
}

Test(realloc, null_pointer_allocates)
{
    static const size_t s[] = { 0, 1, 100, 16383, 16384, 100000 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        void *p = realloc(NULL, s[i]);
        cr_assert_not_null(p, "realloc(NULL, %zu)", s[i]);
        cr_assert_geq(malloc_usable_size(p), s[i]);
        unit_fill(p, s[i]);
        cr_assert(unit_check(p, s[i]));
        free(p);
    }
}

/* realloc(p, 0) returns NULL and frees p: freeing p again afterwards is
 * a double free, which reclaim must report (and abort on). Done in a
 * child so that the abort is observable. */
static void realloc_zero_then_free(void *arg)
{
    void *p = malloc((size_t)(uintptr_t)arg);
    printf("%p\n", p);
    fflush(stdout);
    if (realloc(p, 0) != NULL)
        _exit(3);
    void *volatile again = p;   /* hide the use-after-free from the compiler */
    free(again);
    _exit(4);
}

Test(realloc, zero_size_frees)
{
    static const size_t s[] = { 10, 5000, 100000 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        struct unit_child c;
        cr_assert_eq(unit_run_child(realloc_zero_then_free, (void *)(uintptr_t)s[i], NULL, &c), 0);
        cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
                  "size %zu: status %#x, stderr \"%s\"", s[i], c.status, c.err);
        char want[128];
        unsigned long addr = strtoul(c.out, NULL, 16);
        snprintf(want, sizeof want, "reclaim: free(0x%lx): double free\n", addr);
        cr_assert_str_eq(c.err, want, "size %zu", s[i]);
    }
}

Test(realloc, usable_size_covers_request)
{
    for (size_t n = 0; n <= 70000; n += n < 1100 ? 1 : 97) {
        void *p = malloc(n);
        cr_assert_not_null(p, "malloc(%zu)", n);
        size_t u = malloc_usable_size(p);
        if (u < n)
            cr_assert_fail("malloc(%zu): usable %zu", n, u);
        memset(p, 0xa5, u);
        free(p);
    }
    cr_assert_eq(malloc_usable_size(NULL), 0u);
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

Test(calloc, zeroes_fresh_blocks)
{
    static const size_t s[][2] = {
        { 1, 1 }, { 3, 7 }, { 10, 100 }, { 1, 16383 }, { 16384, 1 }, { 1000, 1000 }, { 0, 5 },
        { 5, 0 },
    };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        size_t n = s[i][0] * s[i][1];
        unsigned char *p = calloc(s[i][0], s[i][1]);
        cr_assert_not_null(p, "calloc(%zu, %zu)", s[i][0], s[i][1]);
        cr_assert(all_zero(p, n), "calloc(%zu, %zu) not zeroed", s[i][0], s[i][1]);
        cr_assert_geq(malloc_usable_size(p), n);
        free(p);
    }
}

/* Dirty many blocks, free them, calloc the same sizes: the allocator
 * hands the dirty memory back, and calloc must zero it. The test insists
 * that some new block really overlaps the dirtied memory, or it would
 * prove nothing. */
static void reused_blocks_are_zeroed(size_t size, int count)
{
    uintptr_t *lo = malloc((size_t)count * sizeof *lo);
    uintptr_t *hi = malloc((size_t)count * sizeof *hi);
    void **fresh = malloc((size_t)count * sizeof *fresh);
    cr_assert(lo && hi && fresh);
    for (int i = 0; i < count; i++) {
        void *p = malloc(size);
        cr_assert_not_null(p);
        size_t u = malloc_usable_size(p);
        memset(p, 0xab, u);
        lo[i] = (uintptr_t)p;
        hi[i] = (uintptr_t)p + u;
    }
    for (int i = 0; i < count; i++)
        free((void *)lo[i]);
    int reused = 0;
    for (int i = 0; i < count; i++) {
        fresh[i] = calloc(1, size);
        cr_assert_not_null(fresh[i]);
        cr_assert(all_zero(fresh[i], size), "calloc(1, %zu) = %p: dirty", size, fresh[i]);
        uintptr_t a = (uintptr_t)fresh[i], b = a + size;
        for (int j = 0; j < count; j++)
            if (a < hi[j] && lo[j] < b) {
                reused++;
                break;
            }
    }
    cr_assert_gt(reused, 0, "size %zu: no new block overlaps the freed ones", size);
    for (int i = 0; i < count; i++)
        free(fresh[i]);
    free(lo);
    free(hi);
    free(fresh);
}

Test(calloc, zeroes_reused_small_blocks)
{
    static const size_t s[] = { 8, 100, 1000, 5000, 16383 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        reused_blocks_are_zeroed(s[i], 300);
}

Test(calloc, zeroes_reused_large_blocks)
{
    static const size_t s[] = { 16384, 50000, 300000, 2u << 20 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        reused_blocks_are_zeroed(s[i], 8);
}
