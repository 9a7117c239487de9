/* The api floor's part in every collection: the one gc_client, registered
 * at start-up. In order:
 *   start         START callbacks, then api_lock (held until end, so that
 *                 no stopped thread is half-way through changing a table);
 *   roots         retained blocks, blocks whose finalizer is due but has
 *                 not run yet, registered ranges;
 *   before_sweep  every tracked block the marking did not reach: its weak
 *                 references read NULL from now on; with a finalizer, it
 *                 is due and kept (with what it reaches) for this sweep;
 *   end           api_lock given back, due finalizers run, END callbacks.
 * All four run in the collecting thread; roots and before_sweep while
 * the world is stopped, so they neither allocate nor wait for a lock. */
#include <string.h>

#include "../gc/client.h"
#include "../gc/collect.h"
#include "api.h"
#include "track.h"

/* The figures given to START callbacks: those of the last collection
 * (asking the collector for them would wait on the lock it holds). */
static lock_t last_lock = LOCK_INIT;
static reclaim_stats last_stats;

/* Set while a collection holds api_lock from start to end. */
static int held_by_collection;

__thread int api_in_start;

void api_last_stats(reclaim_stats *out)
{
    lock_acquire(&last_lock);
    *out = last_stats;
    lock_release(&last_lock);
}

/* Settings asked for by START callbacks, applied by the end hook; under
 * last_lock, because the next collection's START may already run (in
 * another thread) while this one's end hook applies them. */
static int defer_on = -1;
static int defer_thr_set;
static size_t defer_thr;

void api_defer_enabled(int on)
{
    lock_acquire(&last_lock);
    defer_on = on;
    lock_release(&last_lock);
}

void api_defer_threshold(size_t bytes)
{
    lock_acquire(&last_lock);
    defer_thr = bytes;
    defer_thr_set = 1;
    lock_release(&last_lock);
}

int api_deferred_enabled(int *out)
{
    lock_acquire(&last_lock);
    int set = defer_on >= 0;
    if (set)
        *out = defer_on;
    lock_release(&last_lock);
    return set;
}

int api_deferred_threshold(size_t *out)
{
    lock_acquire(&last_lock);
    int set = defer_thr_set;
    if (set)
        *out = defer_thr;
    lock_release(&last_lock);
    return set;
}

static void client_start(void)
{
    reclaim_stats s;
    api_last_stats(&s);
    api_in_start = 1;
    api_events_fire(RECLAIM_EVENT_START, &s);
    api_in_start = 0;
    lock_acquire(&api_lock);
    held_by_collection = 1;
}

static void (*roots_mark_block)(uintptr_t p);

static int mark_retained(struct api_rec *r, void *arg)
{
    (void)arg;
    if (r->refcount)
        roots_mark_block(r->block);
    return 0;
}

static void client_roots(void (*mark_range)(uintptr_t lo, uintptr_t hi), void (*mark_block)(uintptr_t p))
{
    /* A leak check marks without a start hook: api_lock is then free,
     * and taking it cannot block (the world is stopped, nobody else runs),
     * unless a stopped thread holds it, half-way through changing the
     * tables. Those cannot be read then; the check goes on without them
     * (retained blocks may be reported lost), which is better than
     * walking a table being rebuilt. */
    int mine = !held_by_collection;
    if (mine && !lock_try(&api_lock))
        return;
    roots_mark_block = mark_block;
    api_rec_for_each(mark_retained, NULL);
    api_final_mark_due(mark_block);
    api_roots_mark(mark_range);
    if (mine)
        lock_release(&api_lock);
}

static int (*sweep_is_marked)(uintptr_t p);

static int find_unreachable(struct api_rec *r, void *arg)
{
    (void)arg;
    if (r->refcount || sweep_is_marked(r->block))
        return 0;
    api_weak_clear_all(r);
    api_rec_unlink(r);
    if (r->fn)
        api_final_make_due(r);
    else
        api_rec_free(r);
    return 1;
}

static void client_before_sweep(int (*is_marked)(uintptr_t p), void (*keep)(uintptr_t p))
{
    /* Two passes: every finalizable block is judged on the marking alone,
     * before keep() marks what the first of them reaches; otherwise only
     * one block of a lost cycle would ever be finalized. */
    sweep_is_marked = is_marked;
    api_rec_for_each(find_unreachable, NULL);
    api_final_keep_fresh(keep);
}

static void client_end(const struct gc_stats *stats)
{
    reclaim_stats s;
    api_stats_from(stats, &s);
    struct api_rec *run = api_final_claim();
    held_by_collection = 0;
    lock_release(&api_lock);
    lock_acquire(&last_lock);
    last_stats = s;
    int on = defer_on, thr_set = defer_thr_set;
    size_t thr = defer_thr;
    defer_on = -1;
    defer_thr_set = 0;
    lock_release(&last_lock);
    /* The collector's lock is free again: apply what START callbacks
     * asked for. */
    if (on >= 0)
        gc_set_enabled(on);
    if (thr_set)
        gc_set_threshold(thr);
    api_final_run(run);
    api_events_fire(RECLAIM_EVENT_END, &s);
}

static const struct gc_client client = {
    .start = client_start,
    .roots = client_roots,
    .before_sweep = client_before_sweep,
    .end = client_end,
};

void api_init(void)
{
    gc_set_client(&client);
}
