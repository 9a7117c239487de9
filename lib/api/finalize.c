/* Finalizers: reclaim_set_finalizer and the due list.
 *
 * A finalizable block found unreachable leaves the table for the due list
 * (before_sweep, world stopped); it is kept, with everything it reaches,
 * by that collection and marked as a root by every later one until its
 * finalizer has run. The collecting thread runs it in the end hook, with
 * the world resumed and no lock held, then forgets it: if the block is
 * still unreachable, a later collection reclaims it like any other. Each
 * due record is claimed by exactly one thread, so a finalizer runs once
 * even when collections overlap their end hooks. */
#include <errno.h>

#include "../util/compiler.h"
#include "track.h"

/* Doubly linked so that a finished record leaves in O(1). */
static struct api_rec *due_head;

RECLAIM_EXPORT int reclaim_set_finalizer(void *p, reclaim_finalizer_fn fn, void *data)
{
    struct heap_block b;
    if (!api_check_start("reclaim_set_finalizer", p, &b))
        return -1;
    lock_acquire(&api_lock);
    if (!fn) {
        struct api_rec *r = api_rec_find(b.start);
        if (r) {
            r->fn = NULL;
            r->data = NULL;
            api_rec_drop_if_idle(r);
        }
        /* A stale flag only costs free() a lookup; clear it anyway. */
        heap_block_set_flags(b.start, 0, BLOCK_FINAL);
        lock_release(&api_lock);
        return 0;
    }
    struct api_rec *r = api_rec_get(b.start);
    /* The flag is what lets free() notice the finalizer cheaply; without
     * it the finalizer would be skipped on free(), so both or neither. */
    if (!r || heap_block_set_flags(b.start, BLOCK_FINAL, 0)) {
        if (r)
            api_rec_drop_if_idle(r);
        lock_release(&api_lock);
        errno = ENOMEM;
        return -1;
    }
    r->fn = fn;
    r->data = data;
    lock_release(&api_lock);
    return 0;
}

void api_final_make_due(struct api_rec *r)
{
    r->fresh = 1;
    r->claimed = 0;
    r->due_prev = NULL;
    r->due_next = due_head;
    if (due_head)
        due_head->due_prev = r;
    due_head = r;
}

void api_final_mark_due(void (*mark_block)(uintptr_t p))
{
    for (struct api_rec *r = due_head; r; r = r->due_next)
        mark_block(r->block);
}

void api_final_keep_fresh(void (*keep)(uintptr_t p))
{
    for (struct api_rec *r = due_head; r && r->fresh; r = r->due_next) {
        r->fresh = 0;
        keep(r->block);
    }
}

struct api_rec *api_final_claim(void)
{
    struct api_rec *run = NULL, **tail = &run;
    /* Oldest first: the list is newest first, so walk it backwards. */
    struct api_rec *last = due_head;
    while (last && last->due_next)
        last = last->due_next;
    for (struct api_rec *r = last; r; r = r->due_prev) {
        if (r->claimed)
            continue;
        r->claimed = 1;
        r->run_next = NULL;
        *tail = r;
        tail = &r->run_next;
    }
    return run;
}

void api_final_run(struct api_rec *run)
{
    if (!run)
        return;
    for (struct api_rec *r = run; r; r = r->run_next) {
        /* Cleared before fn runs, so that fn may register a new finalizer
         * (or weak reference) for the block it resurrects. */
        heap_block_set_flags(r->block, 0, BLOCK_FINAL | BLOCK_WEAK);
        r->fn((void *)r->block, r->data);
    }
    lock_acquire(&api_lock);
    while (run) {
        struct api_rec *r = run;
        run = r->run_next;
        if (r->due_prev)
            r->due_prev->due_next = r->due_next;
        else
            due_head = r->due_next;
        if (r->due_next)
            r->due_next->due_prev = r->due_prev;
        api_rec_free(r);
    }
    lock_release(&api_lock);
}
