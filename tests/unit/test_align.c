/* Every aligned entry point (posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc) through the exported names, for alignments 8 B..64 KiB
 * and sizes from 0 to beyond the small classes: the address is aligned,
 * the usable size covers the request, and the whole usable size can be
 * written without touching any other live block (each block gets its own
 * pattern, checked after all of a round are written). Then the invalid
 * alignments, with glibc's semantics. Entry-point test: links libreclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"

#define PAGE 4096u

enum entry { POSIX_MEMALIGN, ALIGNED_ALLOC, MEMALIGN, VALLOC, PVALLOC, N_ENTRIES };
static const char *const entry_name[] = {
    "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
};

static const size_t sizes[] = {
    0, 1, 7, 8, 24, 100, 255, 1000, 4095, 4096, 4097, 10000, 16383, 16384, 16385, 40000, 70000,
};
#define N_SIZES (sizeof sizes / sizeof *sizes)

static void *get(enum entry e, size_t align, size_t n)
{
    void *p = NULL;
    switch (e) {
    case POSIX_MEMALIGN: {
        int r = posix_memalign(&p, align, n);
        cr_assert_eq(r, 0, "posix_memalign(%zu, %zu) = %d", align, n, r);
        break;
    }
    case ALIGNED_ALLOC: p = aligned_alloc(align, n); break;
    case MEMALIGN: p = memalign(align, n); break;
    case VALLOC: p = valloc(n); break;
    case PVALLOC: p = pvalloc(n); break;
    default: break;
    }
    cr_assert_not_null(p, "%s(%zu, %zu) returned NULL", entry_name[e], align, n);
    return p;
}

/* One round: every size at one alignment, all alive together. */
static void round_of(enum entry e, size_t align)
{
    void *blocks[N_SIZES];
    size_t usable[N_SIZES];
    size_t want_align = e == VALLOC || e == PVALLOC ? PAGE : align;
    for (size_t i = 0; i < N_SIZES; i++) {
        size_t n = sizes[i];
        void *p = blocks[i] = get(e, align, n);
        cr_assert_eq((uintptr_t)p % want_align, 0u, "%s(%zu, %zu) = %p: misaligned",
                     entry_name[e], align, n, p);
        usable[i] = malloc_usable_size(p);
        size_t need = n;
        if (e == PVALLOC)   /* glibc: rounded up to whole pages, at least one */
            need = n ? (n + PAGE - 1) / PAGE * PAGE : PAGE;
        cr_assert_geq(usable[i], need, "%s(%zu, %zu): usable %zu", entry_name[e], align, n,
                      usable[i]);
        unit_fill(p, usable[i]);
    }
    for (size_t i = 0; i < N_SIZES; i++) {
        cr_assert(unit_check(blocks[i], usable[i]), "%s(%zu, %zu) = %p: contents overwritten",
                  entry_name[e], align, sizes[i], blocks[i]);
        free(blocks[i]);
    }
}

static void every_alignment(enum entry e)
{
    size_t min = e == POSIX_MEMALIGN ? sizeof(void *) : 8;
    for (size_t align = min; align <= 65536; align *= 2)
        round_of(e, align);
}

Test(align, posix_memalign) { every_alignment(POSIX_MEMALIGN); }
Test(align, aligned_alloc)  { every_alignment(ALIGNED_ALLOC); }
Test(align, memalign)       { every_alignment(MEMALIGN); }
Test(align, valloc)         { round_of(VALLOC, PAGE); }
Test(align, pvalloc)        { round_of(PVALLOC, PAGE); }

/* Alignments 1, 2 and 4 are valid powers of two for aligned_alloc and
 * memalign; the result must still be usable and suitably aligned for
 * anything malloc returns. */
Test(align, tiny_alignments)
{
    for (size_t align = 1; align < 8; align *= 2) {
        void *p = aligned_alloc(align, 40), *q = memalign(align, 40);
        cr_assert(p && q);
        cr_assert_eq((uintptr_t)p % 16, 0u);
        cr_assert_eq((uintptr_t)q % 16, 0u);
        unit_fill(p, 40);
        unit_fill(q, 40);
        cr_assert(unit_check(p, 40) && unit_check(q, 40));
        free(p);
        free(q);
    }
}

/* Many aligned blocks alive at once must not overlap. */
Test(align, many_page_aligned_blocks_do_not_overlap)
{
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = aligned_alloc(PAGE, (size_t)(i % 7) * 1000 + 1);
        cr_assert_not_null(p[i]);
        cr_assert_eq((uintptr_t)p[i] % PAGE, 0u);
        unit_fill(p[i], (size_t)(i % 7) * 1000 + 1);
    }
    for (int i = 0; i < N; i++) {
        cr_assert(unit_check(p[i], (size_t)(i % 7) * 1000 + 1), "block %d overwritten", i);
        free(p[i]);
    }
}

Test(align, posix_memalign_rejects_bad_alignments)
{
    static const size_t bad[] = { 0, 1, 2, 4, 12, 24, 48, 100, 4097, 65535, (size_t)1 << 63 | 8 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *p = (void *)0x1234;
        int r = posix_memalign(&p, bad[i], 64);
        cr_assert_eq(r, EINVAL, "alignment %zu: returned %d", bad[i], r);
        cr_assert_eq(p, (void *)0x1234, "alignment %zu: *out was written", bad[i]);
    }
}

Test(align, aligned_alloc_rejects_non_powers_of_two)
{
    static const size_t bad[] = { 0, 3, 12, 24, 48, 100, 4097, 65535 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        void *p = aligned_alloc(bad[i], 64);
        cr_assert_null(p, "alignment %zu accepted", bad[i]);
        cr_assert_eq(errno, EINVAL, "alignment %zu: errno %d", bad[i], errno);
    }
}

/* glibc's memalign rounds a non-power-of-two alignment up to the next
 * power of two instead of failing. */
Test(align, memalign_rounds_alignment_up)
{
    static const struct { size_t align, expect; } cases[] = {
        { 3, 4 }, { 24, 32 }, { 48, 64 }, { 100, 128 }, { 3000, 4096 }, { 4097, 8192 },
        { 40000, 65536 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        void *p = memalign(cases[i].align, 100);
        cr_assert_not_null(p, "memalign(%zu)", cases[i].align);
        cr_assert_eq((uintptr_t)p % cases[i].expect, 0u, "memalign(%zu) = %p", cases[i].align, p);
        unit_fill(p, 100);
        cr_assert(unit_check(p, 100));
        free(p);
    }
}
