/* The allocation and collection-control calls of <reclaim.h>:
 * reclaim_malloc (zeroed), reclaim_malloc_atomic, reclaim_collect,
 * enable/disable (automatic collections stop, explicit ones still run),
 * a fixed threshold (1 MiB gives about one collection per MiB), the count
 * since the last collection, statistics, the START/END callbacks of
 * reclaim_on_collect, and freed slots waiting on a thread's free list
 * across a collection. Links libreclaim: every allocation of the
 * test, Criterion's own included, goes through reclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>

#include "api_test.h"

Test(control, malloc_is_zeroed_even_when_reusing_a_dirty_block)
{
    for (size_t n = 1; n <= 70000; n = n * 3 + 5) {
        unsigned char *dirty = malloc(n);
        cr_assert_not_null(dirty);
        memset(dirty, 0xa5, n);
        free(dirty);
        unsigned char *p = reclaim_malloc(n);
        cr_assert_not_null(p);
        cr_assert_eq(reclaim_block_start(p), p);
        cr_assert_geq(reclaim_block_size(p), n);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(p[i], 0, "byte %zu of a %zu-byte reclaim_malloc block is %#x", i, n, p[i]);
        free(p);
    }
    void *z = reclaim_malloc(0);
    cr_assert_not_null(z);
    free(z);
}

Test(control, malloc_atomic_gives_a_usable_block)
{
    for (size_t n = 1; n <= 100000; n = n * 4 + 3) {
        unsigned char *p = reclaim_malloc_atomic(n);
        cr_assert_not_null(p);
        cr_assert_eq(reclaim_block_start(p + n / 2), p);
        cr_assert_geq(reclaim_block_size(p), n);
        memset(p, 0x5a, n);
        p = realloc(p, n * 2);
        cr_assert_not_null(p);
        cr_assert_eq(p[n - 1], 0x5a);
        free(p);
    }
}

Test(control, out_of_memory_is_null_and_enomem)
{
    errno = 0;
    cr_assert_null(reclaim_malloc(SIZE_MAX - 4096));
    cr_assert_eq(errno, ENOMEM);
    errno = 0;
    cr_assert_null(reclaim_malloc_atomic(SIZE_MAX / 2));
    cr_assert_eq(errno, ENOMEM);
}

/* A collection sets the slots waiting on free lists aside as free
 * and puts them back: before and after it they are no blocks, and malloc
 * hands them out again as blocks. */
Test(control, freed_slots_stay_free_across_a_collection)
{
    enum { N = 8 };
    void *b[N];
    for (int i = 0; i < N; i++)
        b[i] = malloc(100);
    for (int i = 0; i < N; i++)
        free(b[i]);
    for (int i = 0; i < N; i++)
        cr_assert_null(reclaim_block_start(b[i]), "freed block %d is still a block", i);
    reclaim_collect();
    for (int i = 0; i < N; i++)
        cr_assert_null(reclaim_block_start(b[i]), "freed block %d is a block after a collection", i);
    for (int i = 0; i < N; i++) {
        char *q = malloc(100);
        int reused = 0;
        for (int j = 0; j < N; j++)
            reused |= q == b[j];
        cr_assert(reused, "malloc did not reuse a freed slot (test assumption)");
        cr_assert_eq(reclaim_block_start(q + 50), q, "a reused slot is no block");
        memset(q, i, 100);
    }
}

/* Seven 1600-byte blocks fill one span (3 pages, 7 slots of 1664 bytes).
 * A thread allocates them and exits, so nobody owns the span; this
 * thread frees them all onto its free list. To the collection the
 * span then looks empty, but its pages must stay: the list still links
 * into them, and malloc hands those slots out next. */
static void *alloc_span_of_1600(void *arg)
{
    void **b = arg;
    for (int i = 0; i < 7; i++)
        b[i] = malloc(1600);
    return NULL;
}

Test(control, a_collection_keeps_the_pages_of_slots_waiting_on_a_free_list)
{
    void *b[7];
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, alloc_span_of_1600, b), 0);
    pthread_join(t, NULL);
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < 7; i++) {
        lo = (uintptr_t)b[i] < lo ? (uintptr_t)b[i] : lo;
        hi = (uintptr_t)b[i] > hi ? (uintptr_t)b[i] : hi;
    }
    cr_assert_lt(hi - lo, 3 * 4096, "the seven blocks are not one span (test assumption)");
    for (int i = 0; i < 7; i++)
        free(b[i]);
    reclaim_collect();
    size_t big_size = 64 << 10;
    unsigned char *big = malloc(big_size);
    cr_assert_not_null(big);
    memset(big, 0xab, big_size);
    for (int i = 0; i < 7; i++) {
        unsigned char *q = malloc(1600);
        cr_assert_eq(reclaim_block_start(q), q, "slot %p, handed out again, is no block", (void *)q);
        cr_assert((uintptr_t)q + 1600 <= (uintptr_t)big || (uintptr_t)q >= (uintptr_t)big + big_size,
                  "slot %p overlaps a block allocated after it was freed", (void *)q);
        memset(q, i, 1600);
    }
    for (size_t i = 0; i < big_size; i++)
        cr_assert_eq(big[i], 0xab, "byte %zu of the big block was overwritten", i);
}

Test(control, collect_reclaims_lost_blocks_and_counts_them)
{
    uintptr_t lost[50];
    for (int i = 0; i < 50; i++)
        lost[i] = api_new_masked(100 + (size_t)i, (uintptr_t)i);
    size_t c0 = api_collections();
    size_t freed = api_collect();
    cr_assert_eq(api_collections(), c0 + 1);
    cr_assert_geq(freed, 50, "reclaim_collect returned %zu", freed);
    for (int i = 0; i < 50; i++)
        cr_assert(!api_alive(lost[i]), "lost block %d survived", i);
}

Test(control, stats_after_a_collection)
{
    static void *keep[20];
    for (int i = 0; i < 20; i++)
        keep[i] = malloc(1000);
    for (int i = 0; i < 30; i++)
        api_new_masked(500, (uintptr_t)i);   /* lost at once */
    reclaim_stats before, after;
    reclaim_get_stats(&before);
    api_collect();
    reclaim_get_stats(&after);
    cr_assert_eq(after.collections, before.collections + 1);
    cr_assert_geq(after.reclaimed_blocks - before.reclaimed_blocks, 30);
    cr_assert_geq(after.reclaimed_bytes - before.reclaimed_bytes, 30 * 500);
    cr_assert_geq(after.live_blocks, 20);
    cr_assert_geq(after.live_bytes, 20 * 1000);
    cr_assert_gt(after.heap_bytes, 0);
    cr_assert_gt(after.pause_ns_total, before.pause_ns_total);
    cr_assert_gt(after.pause_ns_max, 0);
    cr_assert_geq(after.pause_ns_total, after.pause_ns_max);
    for (int i = 0; i < 20; i++)
        free(keep[i]);
}

Test(control, disable_stops_automatic_collections_only)
{
    cr_assert(reclaim_is_enabled());
    reclaim_disable();
    cr_assert(!reclaim_is_enabled());
    size_t c0 = api_collections();
    api_garbage(96u << 20, 1000);
    cr_assert_eq(api_collections(), c0, "%zu automatic collections while disabled",
                 api_collections() - c0);
    /* An explicit collection still runs, and reclaims. */
    uintptr_t lost = api_new_masked(300, 7);
    api_collect();
    cr_assert_eq(api_collections(), c0 + 1);
    cr_assert(!api_alive(lost));
    /* Still off afterwards: the explicit collection re-arms nothing. */
    api_garbage(32u << 20, 1000);
    cr_assert_eq(api_collections(), c0 + 1);

    reclaim_enable();
    cr_assert(reclaim_is_enabled());
    api_garbage(96u << 20, 1000);
    cr_assert_gt(api_collections(), c0 + 1, "no automatic collection once enabled again");
}

/* Fills `bytes` of slots with garbage; returns the slot bytes handed out
 * (usable size + 1: the unit the allocator counts in). */
static API_NOINLINE size_t slot_garbage(size_t bytes, size_t piece)
{
    size_t slots = 0;
    for (size_t done = 0; done < bytes; done += piece) {
        char *p = malloc(piece);
        cr_assert_not_null(p);
        p[0] = 1;
        slots += reclaim_block_size(p) + 1;
        api_sink = p;
    }
    api_sink = NULL;
    return slots;
}

Test(control, a_1mib_threshold_gives_a_collection_per_mib)
{
    cr_assert_eq(reclaim_get_threshold(), 0);
    reclaim_set_threshold(1u << 20);
    cr_assert_eq(reclaim_get_threshold(), 1u << 20);
    api_collect();
    size_t c0 = api_collections();
    size_t slots = slot_garbage(48u << 20, 1000);
    size_t got = api_collections() - c0, want = slots >> 20;
    cr_assert(got >= want * 3 / 4 && got <= want * 5 / 4 + 1,
              "%zu collections for %zu MiB of slots at a 1 MiB threshold", got, want);

    /* 0 goes back to the adaptive default. */
    reclaim_set_threshold(0);
    cr_assert_eq(reclaim_get_threshold(), 0);
    c0 = api_collections();
    slot_garbage(8u << 20, 1000);
    cr_assert_lt(api_collections() - c0, 8, "still one collection per MiB after threshold 0");
}

Test(control, count_is_bytes_since_the_last_collection)
{
    api_collect();
    /* Per-thread counts reach the global one in steps of 64 KiB. */
    cr_assert_leq(reclaim_get_count(), 128u << 10, "count %zu right after a collection",
                  reclaim_get_count());
    static void *keep[256];
    for (int i = 0; i < 256; i++)
        keep[i] = malloc(4000);
    size_t c = reclaim_get_count();
    cr_assert(c >= 1000u * 1000 - (64u << 10) && c <= (2u << 20), "count %zu after 1 MB", c);
    api_collect();
    cr_assert_leq(reclaim_get_count(), 128u << 10);
    for (int i = 0; i < 256; i++)
        free(keep[i]);
}

/* ---- callbacks ---- */

struct seen {
    int event;
    size_t collections;
    void *data;
    pthread_t thread;
};
/* volatile: the compiler takes malloc for a call that never runs program
 * code, but an automatic collection in malloc runs the callbacks. */
static volatile struct seen seen[64];
static volatile int nseen;
static int tags[2];

static void on_event(int event, const reclaim_stats *stats, void *data)
{
    if (nseen < 64) {
        seen[nseen].event = event;
        seen[nseen].collections = stats->collections;
        seen[nseen].data = data;
        seen[nseen].thread = pthread_self();
        nseen++;
    }
    /* Callbacks may allocate. */
    free(malloc(100));
}

Test(control, callbacks_see_start_and_end)
{
    reclaim_on_collect(on_event, &tags[0]);
    reclaim_on_collect(on_event, &tags[1]);
    reclaim_on_collect(NULL, NULL);   /* ignored */
    size_t c0 = api_collections();
    nseen = 0;
    api_collect();
    cr_assert_eq(nseen, 4, "%d callback calls for one collection", nseen);
    /* Registration order, START before END. */
    cr_assert_eq(seen[0].event, RECLAIM_EVENT_START);
    cr_assert_eq(seen[0].data, &tags[0]);
    cr_assert_eq(seen[1].event, RECLAIM_EVENT_START);
    cr_assert_eq(seen[1].data, &tags[1]);
    cr_assert_eq(seen[2].event, RECLAIM_EVENT_END);
    cr_assert_eq(seen[2].data, &tags[0]);
    cr_assert_eq(seen[3].event, RECLAIM_EVENT_END);
    cr_assert_eq(seen[3].data, &tags[1]);
    /* START: figures of the previous collection; END: of this one. */
    cr_assert_eq(seen[0].collections, c0);
    cr_assert_eq(seen[2].collections, c0 + 1);
    for (int i = 0; i < 4; i++)
        cr_assert(pthread_equal(seen[i].thread, pthread_self()));

    /* Automatic collections call them too. */
    reclaim_set_threshold(1u << 20);
    nseen = 0;
    api_garbage(4u << 20, 1000);
    int n = nseen;
    cr_assert_geq(n, 2 * 2 * 3, "%d callback calls over 4 MiB at a 1 MiB threshold", n);
    for (int i = 0; i + 1 < n; i += 4) {
        cr_assert_eq(seen[i].event, RECLAIM_EVENT_START);
        cr_assert_eq(seen[i + 2].event, RECLAIM_EVENT_END);
    }
}

/* A START callback runs while the collector holds its own lock: the calls
 * that need it must neither deadlock nor be lost. */
static volatile int start_checks = -1;

static void at_start(int event, const reclaim_stats *stats, void *data)
{
    (void)data;
    if (event != RECLAIM_EVENT_START || start_checks >= 0)
        return;
    int ok = 1;
    reclaim_stats s;
    reclaim_get_stats(&s);
    ok &= s.collections == stats->collections;
    reclaim_disable();
    ok &= !reclaim_is_enabled();
    reclaim_set_threshold(3u << 20);
    ok &= reclaim_get_threshold() == 3u << 20;
    ok &= reclaim_collect() == 0;                 /* this collection is running */
    ok &= reclaim_report_leaks(2) == (size_t)-1;  /* no check can be made now */
    start_checks = ok;
}

Test(control, calls_from_a_start_callback)
{
    reclaim_on_collect(at_start, NULL);
    size_t c0 = api_collections();
    api_collect();
    cr_assert_eq(start_checks, 1);
    cr_assert_eq(api_collections(), c0 + 1);
    /* Applied once the collection was over. */
    cr_assert(!reclaim_is_enabled());
    cr_assert_eq(reclaim_get_threshold(), 3u << 20);
    reclaim_enable();
    reclaim_set_threshold(0);
}
