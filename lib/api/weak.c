/* Weak references. A handle lives in reclaim's own memory, which is never
 * scanned, so it never keeps its target alive wherever the program keeps
 * the handle pointer. A collection clears every handle whose target it
 * found unreachable (before_sweep, before any finalizer runs); free and
 * release to zero clear them too.
 *
 * reclaim_weak_get takes no lock: the target is one atomic word. Racing
 * with a collection, the load happens either before the world stops (the
 * value is then in the caller's registers or stack, a root, so the target
 * is marked and the handle is not cleared) or after before_sweep (NULL if
 * it was cleared). Either way the caller never sees a reclaimed block. */
#include <errno.h>

#include "../util/compiler.h"
#include "../util/error.h"
#include "track.h"

RECLAIM_EXPORT reclaim_weak *reclaim_weak_new(void *target)
{
    struct heap_block b;
    if (!api_check_start("reclaim_weak_new", target, &b))
        return NULL;
    lock_acquire(&api_lock);
    struct reclaim_weak *w = api_weak_alloc();
    struct api_rec *r = w ? api_rec_get(b.start) : NULL;
    if (!r || heap_block_set_flags(b.start, BLOCK_WEAK, 0)) {
        if (r)
            api_rec_drop_if_idle(r);
        if (w)
            api_weak_recycle(w);
        lock_release(&api_lock);
        errno = ENOMEM;
        return NULL;
    }
    w->rec = r;
    w->prev = NULL;
    w->next = r->weak;
    if (r->weak)
        r->weak->prev = w;
    r->weak = w;
    w->magic = API_WEAK_MAGIC;
    atomic_store_explicit(&w->target, b.start, memory_order_release);
    lock_release(&api_lock);
    return w;
}

RECLAIM_EXPORT void *reclaim_weak_get(const reclaim_weak *w)
{
    if (!w)
        return NULL;
    if (w->magic != API_WEAK_MAGIC) {
        error_bad_pointer("reclaim_weak_get", w, "not a live weak reference");
        return NULL;
    }
    return (void *)atomic_load_explicit(&w->target, memory_order_acquire);
}

RECLAIM_EXPORT void reclaim_weak_free(reclaim_weak *w)
{
    if (!w)
        return;
    lock_acquire(&api_lock);
    if (w->magic != API_WEAK_MAGIC) {
        lock_release(&api_lock);
        error_bad_pointer("reclaim_weak_free", w, "not a live weak reference");
        return;
    }
    struct api_rec *r = w->rec;
    if (r) {
        if (w->prev)
            w->prev->next = w->next;
        else
            r->weak = w->next;
        if (w->next)
            w->next->prev = w->prev;
        if (!r->weak)
            heap_block_set_flags(r->block, 0, BLOCK_WEAK);
        api_rec_drop_if_idle(r);
    }
    atomic_store_explicit(&w->target, 0, memory_order_relaxed);
    api_weak_recycle(w);
    lock_release(&api_lock);
}
