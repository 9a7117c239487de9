/* Requests that cannot be satisfied: size overflows in calloc and
 * reallocarray, sizes near SIZE_MAX, and sizes bigger than reclaim's whole
 * region. Each must give NULL with errno ENOMEM (or ENOMEM as the return
 * value of posix_memalign), leave a block being resized valid, and leave
 * the allocator working. Entry-point test: links libreclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"

/* Through volatiles: the compiler must not judge these sizes itself. */
static volatile size_t huge[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)PTRDIFF_MAX,
    (size_t)PTRDIFF_MAX + 1, (size_t)1 << 45, (size_t)1 << 50,
};
#define N_HUGE (sizeof huge / sizeof *huge)

#define EXPECT_ENOMEM(call, what, arg)                                                   \
    do {                                                                                 \
        errno = 0;                                                                       \
        void *r_ = (call);                                                               \
        cr_assert_null(r_, "%s(%#zx) returned %p", what, (size_t)(arg), r_);             \
        cr_assert_eq(errno, ENOMEM, "%s(%#zx): errno %d", what, (size_t)(arg), errno);   \
    } while (0)

/* A failed resize leaves its argument valid, which the compiler's
 * use-after-free analysis cannot know: the pointer goes through a
 * volatile so the tests can keep using it. */
static void *kept(void *p)
{
    void *volatile v = p;
    return v;
}

/* The allocator still works after a failure. */
static void still_works(void)
{
    void *a = malloc(100), *b = malloc(100000);
    cr_assert(a && b);
    unit_fill(a, 100);
    unit_fill(b, 100000);
    cr_assert(unit_check(a, 100) && unit_check(b, 100000));
    free(a);
    free(b);
}

Test(enomem, malloc_huge)
{
    for (size_t i = 0; i < N_HUGE; i++)
        EXPECT_ENOMEM(malloc(huge[i]), "malloc", huge[i]);
    still_works();
}

Test(enomem, calloc_overflow)
{
    volatile size_t half = SIZE_MAX / 2, big = (size_t)1 << 33;
    EXPECT_ENOMEM(calloc(half, 4), "calloc(SIZE_MAX/2, 4)", half);
    EXPECT_ENOMEM(calloc(4, half), "calloc(4, SIZE_MAX/2)", half);
    EXPECT_ENOMEM(calloc(big, big), "calloc(2^33, 2^33)", big);
    EXPECT_ENOMEM(calloc(1, huge[0]), "calloc(1, SIZE_MAX)", huge[0]);
    for (size_t i = 0; i < N_HUGE; i++)
        EXPECT_ENOMEM(calloc(huge[i], 1), "calloc", huge[i]);
    still_works();
}

Test(enomem, reallocarray_overflow)
{
    volatile size_t half = SIZE_MAX / 2;
    EXPECT_ENOMEM(reallocarray(NULL, half, 4), "reallocarray(NULL, SIZE_MAX/2, 4)", half);
    void *p = malloc(300);
    unit_fill_key(p, 300, 77);
    EXPECT_ENOMEM(reallocarray(kept(p), half, 3), "reallocarray(p, SIZE_MAX/2, 3)", half);
    EXPECT_ENOMEM(reallocarray(kept(p), 3, half), "reallocarray(p, 3, SIZE_MAX/2)", half);
    p = kept(p);
    cr_assert(unit_check_key(p, 300, 77), "block changed by a failed reallocarray");
    void *q = reallocarray(p, 10, 100);
    cr_assert_not_null(q);
    cr_assert(unit_check_key(q, 300, 77), "contents lost after a failed reallocarray");
    free(q);
    still_works();
}

/* The block survives the failure: same contents, still resizable and
 * freeable (a double free would abort the test). */
static void realloc_huge_keeps(size_t n)
{
    void *p = malloc(n);
    cr_assert_not_null(p);
    unit_fill_key(p, n, n);
    for (size_t i = 0; i < N_HUGE; i++) {
        EXPECT_ENOMEM(realloc(p, huge[i]), "realloc", huge[i]);
        p = kept(p);
        cr_assert(unit_check_key(p, n, n), "%zu-byte block changed by a failed realloc", n);
        cr_assert_geq(malloc_usable_size(p), n);
    }
    void *q = realloc(p, n + 1);
    cr_assert_not_null(q);
    cr_assert(unit_check_key(q, n, n), "contents lost after failed reallocs");
    free(q);
}

Test(enomem, realloc_huge_keeps_block)
{
    realloc_huge_keeps(40);
    realloc_huge_keeps(16000);
    realloc_huge_keeps(200000);
    still_works();
}

Test(enomem, aligned_entry_points)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        void *p = (void *)0x1234;
        int saved = errno = 12345;
        int r = posix_memalign(&p, 64, huge[i]);
        cr_assert_eq(r, ENOMEM, "posix_memalign(64, %#zx) = %d", huge[i], r);
        cr_assert_eq(p, (void *)0x1234, "posix_memalign wrote *out on failure");
        cr_assert_eq(errno, saved, "posix_memalign changed errno");
        r = posix_memalign(&p, 65536, huge[i]);
        cr_assert_eq(r, ENOMEM, "posix_memalign(65536, %#zx) = %d", huge[i], r);
        EXPECT_ENOMEM(aligned_alloc(4096, huge[i]), "aligned_alloc(4096)", huge[i]);
        EXPECT_ENOMEM(aligned_alloc(32, huge[i]), "aligned_alloc(32)", huge[i]);
        EXPECT_ENOMEM(memalign(65536, huge[i]), "memalign(65536)", huge[i]);
        EXPECT_ENOMEM(valloc(huge[i]), "valloc", huge[i]);
        EXPECT_ENOMEM(pvalloc(huge[i]), "pvalloc", huge[i]);
    }
    still_works();
}

/* Alignments no region can honour: powers of two up to 2^63. */
Test(enomem, huge_alignments)
{
    for (unsigned shift = 36; shift < 64; shift++) {
        volatile size_t align = (size_t)1 << shift;
        void *p = (void *)0x1234;
        int r = posix_memalign(&p, align, 64);
        cr_assert_eq(r, ENOMEM, "posix_memalign(2^%u, 64) = %d", shift, r);
        cr_assert_eq(p, (void *)0x1234);
        EXPECT_ENOMEM(aligned_alloc(align, 64), "aligned_alloc(2^n, 64)", align);
        if (shift < 63)
            EXPECT_ENOMEM(memalign(align, 64), "memalign(2^n, 64)", align);
    }
    still_works();
}

/* Large alignments that fit are honoured. */
Test(enomem, large_alignments_that_fit)
{
    for (size_t align = (size_t)1 << 17; align <= (size_t)16 << 20; align *= 2) {
        void *p = aligned_alloc(align, 100);
        cr_assert_not_null(p, "aligned_alloc(%zu, 100)", align);
        cr_assert_eq((uintptr_t)p % align, 0u, "aligned_alloc(%zu) = %p", align, p);
        unit_fill(p, 100);
        cr_assert(unit_check(p, 100));
        free(p);
    }
}

/* Success must not disturb errno either (the program cannot tell reclaim
 * is there). */
Test(enomem, success_keeps_errno)
{
    static const size_t s[] = { 1, 100, 16384, 100000, 5u << 20 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        errno = 4242;
        void *p = malloc(s[i]);
        void *q = calloc(1, s[i]);
        void *r = aligned_alloc(4096, s[i]);
        p = realloc(p, s[i] * 2);
        free(q);
        free(r);
        free(p);
        cr_assert_eq(errno, 4242, "size %zu: errno changed to %d", s[i], errno);
    }
}
