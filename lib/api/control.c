/* The explicit-control calls of <reclaim.h> that sit directly on the
 * collector and the block table. */
#include "reclaim.h"

#include "../gc/collect.h"
#include "../heap/collect.h"
#include "../util/compiler.h"

RECLAIM_EXPORT size_t reclaim_collect(void)
{
    if (heap_init())
        return 0;
    return gc_collect();
}

RECLAIM_EXPORT void reclaim_get_stats(reclaim_stats *out)
{
    struct gc_stats s;
    gc_get_stats(&s);
    out->collections = s.collections;
    out->live_blocks = s.live_blocks;
    out->live_bytes = s.live_bytes;
    out->heap_bytes = heap_bytes();
    out->reclaimed_blocks = s.reclaimed_blocks;
    out->reclaimed_bytes = s.reclaimed_bytes;
    out->pause_ns_total = s.pause_ns_total;
    out->pause_ns_max = s.pause_ns_max;
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
