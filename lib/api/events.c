/* Collection callbacks (reclaim_on_collect). The list only grows: a node,
 * once published, is never changed or freed, so the collecting thread
 * walks it without a lock (it runs the callbacks before taking api_lock
 * and after giving it back). Nodes live in reclaim's own memory. */
#include <stdatomic.h>

#include "../heap/os.h"
#include "../util/compiler.h"
#include "../util/log.h"
#include "track.h"

struct event_cb {
    reclaim_event_fn fn;
    void *data;
    struct event_cb *_Atomic next;
};

static struct event_cb *_Atomic head;
static struct event_cb *tail;          /* under api_lock */

RECLAIM_EXPORT void reclaim_on_collect(reclaim_event_fn fn, void *data)
{
    if (!fn)
        return;
    /* meta_alloc, not api_lock's slabs: callbacks are few, and meta_alloc
     * may be called before taking api_lock. */
    struct event_cb *cb = meta_alloc(sizeof *cb);
    if (!cb) {
        log_line("reclaim_on_collect: out of memory; callback not registered");
        return;
    }
    cb->fn = fn;
    cb->data = data;
    lock_acquire(&api_lock);
    if (tail)
        atomic_store_explicit(&tail->next, cb, memory_order_release);
    else
        atomic_store_explicit(&head, cb, memory_order_release);
    tail = cb;
    lock_release(&api_lock);
}

void api_events_fire(int event, const reclaim_stats *stats)
{
    for (struct event_cb *cb = atomic_load_explicit(&head, memory_order_acquire); cb;
         cb = atomic_load_explicit(&cb->next, memory_order_acquire))
        cb->fn(event, stats, cb->data);
}
