/* The explicit-control calls of <reclaim.h> that sit directly on the
 * collector and the block table: the two reclaim allocators, running and
 * tuning collections, statistics, and the block lookup. */
#include "reclaim.h"

#include "../gc/collect.h"
#include "../heap/collect.h"
#include "../report/stack.h"
#include "../util/compiler.h"
#include "track.h"

RECLAIM_EXPORT void *reclaim_malloc(size_t size)
{
    void *p = heap_calloc(size);
    stack_note(p, size);
    return p;
}

RECLAIM_EXPORT void *reclaim_malloc_atomic(size_t size)
{
    void *p = heap_alloc(size);
    /* Without the flag (no metadata memory) the block is scanned like any
     * other: that only retains more, it never frees a live block. */
    if (p)
        heap_block_set_flags((uintptr_t)p, BLOCK_NOSCAN, 0);
    stack_note(p, size);
    return p;
}

/* Zeroes the dead stack below the caller. The collector's own frames,
 * live while it marks, are laid over the dead frames of the program's
 * last calls (reclaim_weak_new, a constructor, ...); their unwritten
 * slots would hold stale pointers and keep the very blocks the program
 * just dropped. 16 KiB of memset is nothing next to a collection. */
static NOINLINE void clear_dead_stack(void)
{
    volatile char junk[16384];
    __builtin_memset((char *)junk, 0, sizeof junk);
    __asm__ __volatile__("" : : "r"(junk) : "memory");
}

RECLAIM_EXPORT size_t reclaim_collect(void)
{
    if (heap_init())
        return 0;
    clear_dead_stack();
    return gc_collect();
}

/* In a START callback the collector holds the lock these settings take:
 * they are remembered and applied when the collection ends. */
RECLAIM_EXPORT void reclaim_enable(void)
{
    if (api_in_start)
        api_defer_enabled(1);
    else
        gc_set_enabled(1);
}

RECLAIM_EXPORT void reclaim_disable(void)
{
    if (api_in_start)
        api_defer_enabled(0);
    else
        gc_set_enabled(0);
}

RECLAIM_EXPORT int reclaim_is_enabled(void)
{
    int on;
    if (api_in_start && api_deferred_enabled(&on))
        return on;
    return gc_is_enabled();
}

RECLAIM_EXPORT void reclaim_set_threshold(size_t bytes)
{
    if (api_in_start)
        api_defer_threshold(bytes);
    else
        gc_set_threshold(bytes);
}

RECLAIM_EXPORT size_t reclaim_get_threshold(void)
{
    size_t t;
    if (api_in_start && api_deferred_threshold(&t))
        return t;
    return gc_get_threshold();
}

RECLAIM_EXPORT size_t reclaim_get_count(void)
{
    return heap_count();
}

void api_stats_from(const struct gc_stats *s, reclaim_stats *out)
{
    out->collections = s->collections;
    out->live_blocks = s->live_blocks;
    out->live_bytes = s->live_bytes;
    out->heap_bytes = heap_bytes();
    out->reclaimed_blocks = s->reclaimed_blocks;
    out->reclaimed_bytes = s->reclaimed_bytes;
    out->pause_ns_total = s->pause_ns_total;
    out->pause_ns_max = s->pause_ns_max;
}

RECLAIM_EXPORT void reclaim_get_stats(reclaim_stats *out)
{
    if (api_in_start) {
        /* The figures START callbacks are given. */
        api_last_stats(out);
        return;
    }
    struct gc_stats s;
    gc_get_stats(&s);
    api_stats_from(&s, out);
}

RECLAIM_EXPORT void *reclaim_block_start(const void *p)
{
    struct heap_block b;
    return heap_find((uintptr_t)p, &b) ? (void *)b.start : NULL;
}

RECLAIM_EXPORT size_t reclaim_block_size(const void *p)
{
    struct heap_block b;
    return heap_find((uintptr_t)p, &b) ? b.size : 0;
}
