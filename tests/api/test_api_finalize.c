/* Finalizers and weak references.
 *
 * A finalizer runs exactly once, whichever way its block goes (found
 * unreachable, released to zero, freed), with the block and what it
 * reaches intact, after the world is resumed, in the collecting thread
 * (for an automatic collection, the one that triggered it); the block is
 * reclaimed by a later collection unless the finalizer resurrected it.
 * A lost cycle with finalizers is finalized whole, then reclaimed. Weak
 * references read NULL from the moment their target is found unreachable
 * (before its finalizer runs), never keep it alive wherever the handle is
 * stored, and follow it through realloc. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>

#include "api_test.h"

#define NFIN 16

/* What the finalizers saw. Blocks are recorded masked: a global holding a
 * real pointer would be a root. */
static int calls[NFIN];
static uintptr_t called_with[NFIN];
static int intact_then[NFIN];
static int weak_null_then[NFIN];
static reclaim_weak *weak_of[NFIN];
static pthread_t thread_of[NFIN];
static void *resurrected;
static int resurrect;
static size_t size_of[NFIN];

static void fin(void *block, void *data)
{
    int i = (int)(intptr_t)data;
    calls[i]++;
    called_with[i] = api_mask(block);
    /* Block i holds a pointer to a child (pattern i + 100) at [0], then
     * its own pattern. */
    void **b = block;
    intact_then[i] = api_intact(b + 1, size_of[i] - sizeof(void *), (uintptr_t)i) &&
                     (!b[0] || api_intact(b[0], 200, (uintptr_t)i + 100));
    weak_null_then[i] = weak_of[i] ? reclaim_weak_get(weak_of[i]) == NULL : -1;
    thread_of[i] = pthread_self();
    if (resurrect)
        resurrected = block;
    /* Finalizers may allocate. */
    free(malloc(64));
}

/* Block i: a pointer to a child block at [0] (or NULL), its pattern after. */
static API_NOINLINE uintptr_t final_block(int i, size_t n, int with_child, int with_weak)
{
    void **b = malloc(n);
    size_of[i] = n;
    api_fill(b + 1, n - sizeof(void *), (uintptr_t)i);
    b[0] = NULL;
    if (with_child) {
        b[0] = malloc(200);
        api_fill(b[0], 200, (uintptr_t)i + 100);
    }
    cr_assert_eq(reclaim_set_finalizer(b, fin, (void *)(intptr_t)i), 0);
    weak_of[i] = with_weak ? reclaim_weak_new(b) : NULL;
    return api_mask(b);
}

static void reset(void)
{
    memset(calls, 0, sizeof calls);
    memset(weak_of, 0, sizeof weak_of);
    resurrected = NULL;
    resurrect = 0;
}

Test(finalize, unreachable_block_finalized_once_then_reclaimed)
{
    reset();
    uintptr_t m = final_block(0, 128, 1, 1);
    api_collect();
    cr_assert_eq(calls[0], 1, "finalizer ran %d times", calls[0]);
    cr_assert_eq(called_with[0], m);
    cr_assert(intact_then[0], "block or child not intact when the finalizer ran");
    cr_assert_eq(weak_null_then[0], 1, "weak reference not NULL when the finalizer ran");
    cr_assert(pthread_equal(thread_of[0], pthread_self()));
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert_eq(calls[0], 1, "finalizer ran again");
    cr_assert(!api_alive(m), "finalized, unreachable block never reclaimed");
    reclaim_weak_free(weak_of[0]);
}

Test(finalize, released_to_zero_finalized_once_and_freed)
{
    reset();
    uintptr_t m = final_block(1, 64, 1, 1);
    void *p = api_unmask(m);
    reclaim_retain(p);
    api_collect();
    cr_assert_eq(calls[1], 0, "finalizer of a retained block ran");
    cr_assert_eq(reclaim_release(p), 0);
    cr_assert_eq(calls[1], 1);
    cr_assert_eq(called_with[1], m);
    cr_assert(intact_then[1]);
    cr_assert_eq(weak_null_then[1], 1);
    cr_assert_null(reclaim_block_start(p));
    p = NULL;
    for (int i = 0; i < 2; i++)
        api_collect();
    cr_assert_eq(calls[1], 1);
    reclaim_weak_free(weak_of[1]);
}

Test(finalize, freed_block_finalized_once)
{
    reset();
    uintptr_t m = final_block(2, 96, 0, 1);
    void *p = api_unmask(m);
    free(p);
    cr_assert_eq(calls[2], 1);
    cr_assert_eq(called_with[2], m);
    cr_assert(intact_then[2], "block not intact when its finalizer ran on free");
    cr_assert_eq(weak_null_then[2], 1);
    cr_assert_null(reclaim_block_start(p));
    p = NULL;
    for (int i = 0; i < 2; i++)
        api_collect();
    cr_assert_eq(calls[2], 1);

    /* realloc(p, 0) frees too. */
    m = final_block(3, 96, 0, 0);
    cr_assert_null(realloc(api_unmask(m), 0));
    cr_assert_eq(calls[3], 1);
}

static API_NOINLINE void lost_final_cycle(int first, int n, uintptr_t *out)
{
    void *b[NFIN];
    for (int i = 0; i < n; i++)
        b[i] = api_unmask(final_block(first + i, 64, 0, 1));
    for (int i = 0; i < n; i++) {
        ((void **)b[i])[0] = b[(i + 1) % n];
        out[i] = api_mask(b[i]);
    }
}

Test(finalize, lost_cycle_all_finalized_then_reclaimed)
{
    reset();
    uintptr_t m[4];
    lost_final_cycle(4, 4, m);
    api_collect();
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(calls[4 + i], 1, "block %d of the cycle finalized %d times", i, calls[4 + i]);
        cr_assert_eq(weak_null_then[4 + i], 1);
        cr_assert_eq(reclaim_weak_get(weak_of[4 + i]), NULL);
    }
    api_collect();
    api_collect();
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(calls[4 + i], 1);
        cr_assert(!api_alive(m[i]), "cycle block %d never reclaimed", i);
        reclaim_weak_free(weak_of[4 + i]);
    }
}

Test(finalize, resurrection_keeps_the_block_and_it_is_not_finalized_again)
{
    reset();
    resurrect = 1;
    uintptr_t m = final_block(8, 64, 1, 0);
    api_collect();
    cr_assert_eq(calls[8], 1);
    resurrect = 0;
    cr_assert_eq(api_mask(resurrected), m);
    for (int i = 0; i < 3; i++)
        api_collect();
    cr_assert(api_alive(m), "a resurrected block was reclaimed");
    cr_assert(api_intact((void **)api_unmask(m) + 1, 64 - sizeof(void *), 8));
    cr_assert_eq(calls[8], 1);
    resurrected = NULL;
    api_collect();
    cr_assert(!api_alive(m), "dropped again, never reclaimed");
    cr_assert_eq(calls[8], 1);
}

Test(finalize, removed_or_replaced_finalizer)
{
    reset();
    uintptr_t m = final_block(9, 64, 0, 0);
    cr_assert_eq(reclaim_set_finalizer(api_unmask(m), NULL, NULL), 0);
    api_collect();
    cr_assert_eq(calls[9], 0);
    cr_assert(!api_alive(m));

    m = final_block(10, 64, 0, 0);
    cr_assert_eq(reclaim_set_finalizer(api_unmask(m), fin, (void *)(intptr_t)11), 0);
    size_of[11] = 64;
    api_collect();
    cr_assert_eq(calls[10], 0);
    cr_assert_eq(calls[11], 1);
}

/* The trigger: another thread allocates until a collection runs. */
static void *churn(void *arg)
{
    (void)arg;
    api_garbage(8u << 20, 500);
    return NULL;
}

Test(finalize, automatic_collection_finalizes_in_the_triggering_thread)
{
    reset();
    reclaim_set_threshold(1u << 20);
    final_block(12, 64, 0, 0);
    api_scrub();
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, churn, NULL), 0);
    pthread_join(t, NULL);
    cr_assert_eq(calls[12], 1);
    cr_assert(pthread_equal(thread_of[12], t), "finalizer did not run in the allocating thread");
}

/* ---- weak references ---- */

static API_NOINLINE uintptr_t lost_pair(reclaim_weak **wa, reclaim_weak **wb, uintptr_t *mb)
{
    void **a = malloc(2216), **b = malloc(2216);
    a[0] = b;
    b[0] = a;
    *wa = reclaim_weak_new(a);
    *wb = reclaim_weak_new(b);
    *mb = api_mask(b);
    return api_mask(a);
}

/* Out of line: the real pointers it reads stay in its own (dead) frame. */
static API_NOINLINE int weak_reads(reclaim_weak *w, uintptr_t m)
{
    return reclaim_weak_get(w) == api_unmask(m);
}

static API_NOINLINE void lost_cycle_body(void)
{
    reclaim_weak *wa, *wb;
    uintptr_t mb, ma = lost_pair(&wa, &wb, &mb);
    cr_assert(weak_reads(wa, ma) && weak_reads(wb, mb));
    api_collect();
    cr_assert_null(reclaim_weak_get(wa));
    cr_assert_null(reclaim_weak_get(wb));
    cr_assert(!api_alive(ma) && !api_alive(mb));
    reclaim_weak_free(wa);
    reclaim_weak_free(wb);
}

Test(weak, lost_cycle_reclaimed_and_weak_references_cleared)
{
    api_scrub();
    lost_cycle_body();
}

static void *live_target;

Test(weak, reachable_target_stays)
{
    live_target = malloc(100);
    reclaim_weak *w = reclaim_weak_new(live_target);
    cr_assert_not_null(w);
    for (int i = 0; i < 3; i++) {
        api_collect();
        cr_assert_eq(reclaim_weak_get(w), live_target);
    }
    reclaim_weak_free(w);
    reclaim_weak_free(NULL);
    cr_assert_null(reclaim_weak_get(NULL));
    free(live_target);
}

static reclaim_weak *stored_handles[8];

/* The handle is kept inside the target itself, in a live block and in a
 * global: none of these keeps the target alive. */
static API_NOINLINE uintptr_t target_with_handles(void *holder)
{
    void **t = malloc(64);
    reclaim_weak *w = reclaim_weak_new(t);
    t[0] = w;
    ((reclaim_weak **)holder)[0] = w;
    stored_handles[0] = w;
    return api_mask(t);
}

Test(weak, the_handle_never_keeps_its_target)
{
    static void *holder;
    holder = malloc(64);
    uintptr_t m = target_with_handles(holder);
    api_collect();
    cr_assert(!api_alive(m), "target kept alive by its weak handle");
    cr_assert_null(reclaim_weak_get(stored_handles[0]));
    reclaim_weak_free(stored_handles[0]);
    free(holder);
}

Test(weak, free_and_release_clear_it_at_once)
{
    reclaim_disable();
    char *p = malloc(32);
    reclaim_weak *w1 = reclaim_weak_new(p), *w2 = reclaim_weak_new(p);
    free(p);
    cr_assert_null(reclaim_weak_get(w1));
    cr_assert_null(reclaim_weak_get(w2));
    p = malloc(32);
    reclaim_weak *w3 = reclaim_weak_new(reclaim_retain(p));
    cr_assert_eq(reclaim_release(p), 0);
    cr_assert_null(reclaim_weak_get(w3));
    reclaim_weak_free(w1);
    reclaim_weak_free(w2);
    reclaim_weak_free(w3);
    /* A slot reused by a new block does not revive old handles. */
    char *q = malloc(32);
    reclaim_weak *w4 = reclaim_weak_new(q);
    cr_assert_eq(reclaim_weak_get(w4), q);
    reclaim_weak_free(w4);
    free(q);
}

Test(weak, follows_realloc)
{
    char *p = malloc(24);
    reclaim_weak *w = reclaim_weak_new(p);
    char *q = realloc(p, 50000);
    cr_assert_eq(reclaim_weak_get(w), q);
    free(q);
    cr_assert_null(reclaim_weak_get(w));
    reclaim_weak_free(w);
}

static void *targets[1000];
static reclaim_weak *ws[1000];

static API_NOINLINE void weak_round(void)
{
    for (int i = 0; i < 1000; i++) {
        targets[i] = malloc(16);
        ws[i] = reclaim_weak_new(targets[i]);
        cr_assert_not_null(ws[i]);
    }
}

/* Out of line, like weak_round: the pointers its checks compare stay in
 * its frame, which api_collect scrubs, and not in the test's, where they
 * would keep the next round's blocks in the same slots alive. */
static API_NOINLINE void weak_check_round(int round)
{
    for (int i = 0; i < 1000; i++) {
        if (i % 2)
            cr_assert_eq(reclaim_weak_get(ws[i]), targets[i]);
        else
            cr_assert_null(reclaim_weak_get(ws[i]), "handle %d of round %d not cleared", i, round);
        reclaim_weak_free(ws[i]);
    }
    for (int i = 1; i < 1000; i += 2)
        free(targets[i]);
}

Test(weak, many_handles_recycled)
{
    for (int round = 0; round < 5; round++) {
        weak_round();
        for (int i = 0; i < 1000; i += 2)
            targets[i] = NULL;
        api_collect();
        weak_check_round(round);
    }
}
