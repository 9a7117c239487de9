/* Reference counts: reclaim_retain, reclaim_release, reclaim_refcount.
 * A block with a count above zero is a root (the gc_client's roots hook
 * marks it); release to zero runs the finalizer and frees at once, which
 * is the point of counting: no waiting for the next collection. */
#include <errno.h>
#include <limits.h>

#include "../util/compiler.h"
#include "../util/error.h"
#include "track.h"

RECLAIM_EXPORT void *reclaim_retain(void *p)
{
    struct heap_block b;
    if (!p)
        return NULL;
    if (!api_check_start("reclaim_retain", p, &b))
        return p;
    lock_acquire(&api_lock);
    struct api_rec *r = api_rec_get(b.start);
    if (!r) {
        lock_release(&api_lock);
        errno = ENOMEM;
        return NULL;
    }
    if (r->refcount++ == 0)
        atomic_fetch_add_explicit(&api_nretained, 1, memory_order_relaxed);
    lock_release(&api_lock);
    return p;
}

RECLAIM_EXPORT int reclaim_release(void *p)
{
    struct heap_block b;
    if (!p)
        return 0;
    if (!api_check_start("reclaim_release", p, &b))
        return 0;
    lock_acquire(&api_lock);
    struct api_rec *r = api_rec_find(b.start);
    if (!r || r->refcount == 0) {
        lock_release(&api_lock);
        error_bad_pointer("reclaim_release", p, "reference count is already zero");
        return 0;
    }
    size_t left = --r->refcount;
    if (left) {
        lock_release(&api_lock);
        return left > INT_MAX ? INT_MAX : (int)left;
    }
    /* Counted before retiring: api_rec_retire only uncounts live counts. */
    atomic_fetch_sub_explicit(&api_nretained, 1, memory_order_relaxed);
    api_rec_finish(r, p, "reclaim_release");
    return 0;
}

RECLAIM_EXPORT size_t reclaim_refcount(const void *p)
{
    struct heap_block b;
    if (!heap_find((uintptr_t)p, &b))
        return 0;
    lock_acquire(&api_lock);
    struct api_rec *r = api_rec_find(b.start);
    size_t n = r ? r->refcount : 0;
    lock_release(&api_lock);
    return n;
}
