/* A consistent list of the allocated blocks, taken without holding any
 * lock while the program's code runs: heap_for_each_block holds the heap
 * locks and its callback must not allocate, so the (start, size) pairs are
 * copied into a mapping of reclaim's own first, then walked at leisure.
 * Shared by reclaim_for_each_block, reclaim_referrers, reclaim_explain. */
#ifndef RECLAIM_API_INTROSPECT_H
#define RECLAIM_API_INTROSPECT_H

#include <stddef.h>
#include <stdint.h>

struct api_block { uintptr_t start; size_t size; };

struct api_snapshot {
    struct api_block *b;
    size_t n;
    size_t bytes;       /* of the mapping */
};

/* 0, or -1 when no memory could be mapped for it. */
int  api_snapshot_take(struct api_snapshot *s);
/* Sorts by start, for api_snapshot_find. */
void api_snapshot_sort(struct api_snapshot *s);
/* Index of the block containing w (start <= w <= start + size), or -1. */
long api_snapshot_find(const struct api_snapshot *s, uintptr_t w);
void api_snapshot_free(struct api_snapshot *s);

#endif
