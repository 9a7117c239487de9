/* Reference counts: retain/release/refcount arithmetic; a retained block
 * whose only pointer is hidden (XOR-masked) survives collections, with
 * everything it reaches; release to zero frees at once, not at the next
 * collection; a cycle of retained blocks is kept until released; free and
 * realloc of a retained block. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "api_test.h"

Test(refcount, counts_up_and_down)
{
    char *p = malloc(64);
    cr_assert_eq(reclaim_refcount(p), 0);
    cr_assert_eq(reclaim_retain(p), p);
    cr_assert_eq(reclaim_retain(p), p);
    cr_assert_eq(reclaim_retain(p), p);
    cr_assert_eq(reclaim_refcount(p), 3);
    cr_assert_eq(reclaim_refcount(p + 10), 3, "an interior pointer names the same block");
    cr_assert_eq(reclaim_release(p), 2);
    cr_assert_eq(reclaim_release(p), 1);
    cr_assert_eq(reclaim_refcount(p), 1);
    cr_assert_eq(reclaim_release(p), 0);
    cr_assert_null(reclaim_block_start(p));

    int local;
    cr_assert_eq(reclaim_refcount(&local), 0);
    cr_assert_eq(reclaim_refcount(NULL), 0);
    cr_assert_null(reclaim_retain(NULL));
    cr_assert_eq(reclaim_release(NULL), 0);
}

/* A retained block holding key's pattern and a pointer to a child block
 * (pattern key + 1) that nothing else points to; returns it masked. */
static API_NOINLINE uintptr_t retained_pair(uintptr_t key)
{
    void **p = malloc(256);
    api_fill(p + 1, 256 - sizeof(void *), key);
    void *child = malloc(1000);
    api_fill(child, 1000, key + 1);
    p[0] = child;
    reclaim_retain(p);
    return api_mask(p);
}

static API_NOINLINE int pair_intact(uintptr_t m, uintptr_t key)
{
    void **p = api_unmask(m);
    return reclaim_block_start(p) == p && api_intact(p + 1, 256 - sizeof(void *), key) &&
           reclaim_block_start(p[0]) == p[0] && api_intact(p[0], 1000, key + 1);
}

Test(refcount, retained_block_with_hidden_pointer_survives)
{
    uintptr_t m[20];
    for (uintptr_t i = 0; i < 20; i++)
        m[i] = retained_pair(i * 10);
    uintptr_t control = api_new_masked(256, 99);
    size_t c0 = api_collections();
    api_garbage(32u << 20, 200);
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert_geq(api_collections() - c0, 3);
    cr_assert(!api_alive(control), "the unretained control block was not reclaimed");
    for (uintptr_t i = 0; i < 20; i++) {
        cr_assert(pair_intact(m[i], i * 10), "retained block %zu (or its child) lost", (size_t)i);
        cr_assert_eq(reclaim_refcount(api_unmask(m[i])), 1);
    }
    for (uintptr_t i = 0; i < 20; i++) {
        cr_assert_eq(reclaim_release(api_unmask(m[i])), 0);
        cr_assert(!api_alive(m[i]), "block %zu still allocated after release to zero", (size_t)i);
    }
    /* The children are ordinary garbage now. */
    api_collect();
}

Test(refcount, release_to_zero_frees_at_once)
{
    reclaim_disable();   /* no collection can be what frees it */
    size_t c0 = api_collections();
    for (size_t n = 8; n < 300000; n = n * 5 + 1) {
        char *p = malloc(n);
        reclaim_retain(p);
        reclaim_retain(p);
        cr_assert_eq(reclaim_release(p), 1);
        cr_assert_eq(reclaim_block_start(p), p);
        cr_assert_eq(reclaim_release(p), 0);
        cr_assert_null(reclaim_block_start(p), "%zu-byte block still allocated after release to 0", n);
    }
    cr_assert_eq(api_collections(), c0);
}

static API_NOINLINE uintptr_t retained_cycle(uintptr_t *other)
{
    void **a = malloc(64), **b = malloc(64);
    a[0] = b;
    b[0] = a;
    reclaim_retain(a);
    reclaim_retain(b);
    *other = api_mask(b);
    return api_mask(a);
}

Test(refcount, a_retained_cycle_is_kept_until_released)
{
    uintptr_t b, a = retained_cycle(&b);
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert(api_alive(a) && api_alive(b));
    cr_assert_eq(((void **)api_unmask(a))[0], api_unmask(b));
    cr_assert_eq(reclaim_release(api_unmask(a)), 0);
    cr_assert(!api_alive(a));
    cr_assert(api_alive(b));
    cr_assert_eq(reclaim_release(api_unmask(b)), 0);
    cr_assert(!api_alive(b));
}

Test(refcount, free_of_a_retained_block_drops_its_count)
{
    reclaim_disable();
    char *p = malloc(48);
    reclaim_retain(p);
    free(p);
    cr_assert_null(reclaim_block_start(p));
    /* The slot comes back to a new block, which is not retained. */
    char *q = malloc(48);
    cr_assert_eq(reclaim_refcount(q), 0);
    free(q);
}

Test(refcount, realloc_moves_the_count)
{
    char *p = malloc(32);
    memset(p, 7, 32);
    reclaim_retain(p);
    reclaim_retain(p);
    char *same = realloc(p, 16);
    cr_assert_eq(same, p, "shrinking a retained block moved it");
    char *q = realloc(p, 100000);
    cr_assert_not_null(q);
    cr_assert_neq(q, p);
    cr_assert_eq(q[31], 7);
    cr_assert_eq(reclaim_refcount(q), 2);
    cr_assert_eq(reclaim_refcount(p), 0);
    cr_assert_eq(reclaim_release(q), 1);
    cr_assert_eq(reclaim_release(q), 0);
    cr_assert_null(reclaim_block_start(q));
}
