/* Atomic blocks and registered roots: a pointer stored only inside a
 * reclaim_malloc_atomic block does not keep its target (the same pointer
 * in an ordinary block does); reclaim_add_roots on that block makes it a
 * root, reclaim_remove_roots undoes it, also for part of a range; the
 * never-scan flag does not outlive the block (a slot reused by malloc is
 * scanned again). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "api_test.h"

#define HOLDER 256

/* Stores a fresh target (pattern key) at word `word` of holder; returns
 * the target masked. */
static API_NOINLINE uintptr_t store_target(void *holder, size_t word, uintptr_t key)
{
    void *t = malloc(300);
    api_fill(t, 300, key);
    ((void **)holder)[word] = t;
    return api_mask(t);
}

static void *volatile holder;   /* the holder block is reachable from here */

Test(roots, pointer_in_an_atomic_block_does_not_keep_its_target)
{
    holder = reclaim_malloc_atomic(HOLDER);
    uintptr_t t = store_target(holder, 3, 1);
    api_collect();
    cr_assert(api_alive((uintptr_t)api_mask(holder)), "the atomic block itself was reclaimed");
    cr_assert(!api_alive(t), "target of a pointer in an atomic block kept alive");
}

Test(roots, the_same_pointer_in_an_ordinary_block_keeps_it)
{
    holder = reclaim_malloc(HOLDER);
    uintptr_t t = store_target(holder, 3, 2);
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert(api_alive(t));
    cr_assert(api_intact(api_unmask(t), 300, 2));
}

Test(roots, add_roots_on_an_atomic_block_makes_it_a_root)
{
    holder = reclaim_malloc_atomic(HOLDER);
    memset(holder, 0, HOLDER);
    reclaim_add_roots(holder, HOLDER);
    uintptr_t t = store_target(holder, 5, 3);
    api_garbage(16u << 20, 300);
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert(api_alive(t), "target of a registered range reclaimed");
    cr_assert(api_intact(api_unmask(t), 300, 3));
    reclaim_remove_roots(holder, HOLDER);
    api_collect();
    cr_assert(!api_alive(t), "still kept after reclaim_remove_roots");
}

Test(roots, remove_part_of_a_range)
{
    holder = reclaim_malloc_atomic(HOLDER);
    memset(holder, 0, HOLDER);
    reclaim_add_roots(holder, HOLDER);
    uintptr_t first = store_target(holder, 0, 4);
    uintptr_t middle = store_target(holder, 10, 5);
    uintptr_t last = store_target(holder, HOLDER / sizeof(void *) - 1, 6);
    /* Cut words 8..15 out of the middle: the range splits in two. */
    reclaim_remove_roots((void **)holder + 8, 8 * sizeof(void *));
    api_collect();
    cr_assert(api_alive(first));
    cr_assert(!api_alive(middle), "a word removed from the roots still kept its target");
    cr_assert(api_alive(last));
    /* Removing what was never added changes nothing. */
    static char elsewhere[64];
    reclaim_remove_roots(elsewhere, sizeof elsewhere);
    reclaim_remove_roots(holder, 0);
    api_collect();
    cr_assert(api_alive(first) && api_alive(last));
    reclaim_remove_roots(holder, HOLDER);
    api_collect();
    cr_assert(!api_alive(first) && !api_alive(last));
}

Test(roots, unaligned_range_covers_the_whole_words_inside)
{
    holder = reclaim_malloc_atomic(HOLDER);
    memset(holder, 0, HOLDER);
    reclaim_add_roots((char *)holder + 3, 2 * sizeof(void *) + 2);
    uintptr_t t = store_target(holder, 1, 7);
    api_collect();
    cr_assert(api_alive(t));
    reclaim_remove_roots((char *)holder + 3, 2 * sizeof(void *) + 2);
    api_collect();
    cr_assert(!api_alive(t));
}

static API_NOINLINE void *atomic_then_free(void)
{
    void *a = reclaim_malloc_atomic(HOLDER);
    free(a);
    return a;
}

Test(roots, atomic_flag_does_not_outlive_the_block)
{
    void *a = atomic_then_free();
    holder = malloc(HOLDER);
    cr_assert_eq(holder, a, "malloc did not reuse the slot just freed (test assumption)");
    memset(holder, 0, HOLDER);
    uintptr_t t = store_target(holder, 2, 8);
    a = NULL;
    api_collect();
    cr_assert(api_alive(t), "a reused slot is still treated as never-scan");
}
