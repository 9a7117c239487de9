/* Heap introspection: reclaim_for_each_block and reclaim_referrers, on a
 * snapshot of the block list (introspect.h). Blocks are read in place:
 * the heap region stays mapped for the life of the process (freed pages
 * are only decommitted and read as zeros), so a block freed by another
 * thread meanwhile is harmless to read. */
#include "introspect.h"

#include "reclaim.h"

#include "../heap/heap.h"
#include "../heap/os.h"
#include "../util/compiler.h"
#include "../util/sort.h"

struct fill { struct api_snapshot *s; size_t cap; int full; };

static int fill_one(uintptr_t start, size_t size, void *arg)
{
    struct fill *f = arg;
    if (f->s->n == f->cap) {
        f->full = 1;
        return 1;
    }
    f->s->b[f->s->n].start = start;
    f->s->b[f->s->n].size = size;
    f->s->n++;
    return 0;
}

int api_snapshot_take(struct api_snapshot *s)
{
    size_t bytes = 256u << 10;
    for (;;) {
        s->b = os_map(bytes);
        if (!s->b)
            return -1;
        s->bytes = bytes;
        s->n = 0;
        struct fill f = { s, bytes / sizeof *s->b, 0 };
        heap_for_each_block(fill_one, &f);
        if (!f.full)
            return 0;
        /* More blocks than room: start again with four times the room. */
        os_unmap(s->b, bytes);
        bytes *= 4;
    }
}

void api_snapshot_free(struct api_snapshot *s)
{
    if (s->b)
        os_unmap(s->b, s->bytes);
    s->b = NULL;
    s->n = 0;
}

static int block_before(const void *a, const void *b)
{
    return ((const struct api_block *)a)->start < ((const struct api_block *)b)->start;
}

void api_snapshot_sort(struct api_snapshot *s)
{
    sort_heap(s->b, s->n, sizeof *s->b, block_before);
}

long api_snapshot_find(const struct api_snapshot *s, uintptr_t w)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->b[mid].start <= w)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return -1;
    const struct api_block *b = &s->b[lo - 1];
    return w - b->start <= b->size ? (long)(lo - 1) : -1;
}

/* 1 when start still begins an allocated block (it may have been freed
 * since the snapshot). */
static int still_allocated(uintptr_t start)
{
    struct heap_block b;
    return heap_find(start, &b) && b.start == start;
}

RECLAIM_EXPORT size_t reclaim_for_each_block(int (*fn)(void *block, size_t size, void *data), void *data)
{
    struct api_snapshot s = { 0 };
    if (!fn || heap_init() || api_snapshot_take(&s))
        return 0;
    size_t visited = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!still_allocated(s.b[i].start))
            continue;
        visited++;
        if (fn((void *)s.b[i].start, s.b[i].size, data))
            break;
    }
    api_snapshot_free(&s);
    return visited;
}

/* Does the block [start, start + size] hold a word pointing into
 * [lo, hi]? Reads the words the marker reads: up to the end of the slot. */
static int holds_pointer(uintptr_t start, size_t size, uintptr_t lo, uintptr_t hi)
{
    const uintptr_t *w = (const uintptr_t *)start;
    const uintptr_t *end = (const uintptr_t *)((start + size + 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1));
    for (; w < end; w++) {
        uintptr_t v = *(const volatile uintptr_t *)w;
        if (v - lo <= hi - lo)
            return 1;
    }
    return 0;
}

RECLAIM_EXPORT size_t reclaim_referrers(const void *p, void **out, size_t max)
{
    struct heap_block t;
    struct api_snapshot s = { 0 };
    if (!heap_find((uintptr_t)p, &t) || api_snapshot_take(&s))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++) {
        uintptr_t b = s.b[i].start;
        if (!still_allocated(b) || (heap_block_flags(b) & BLOCK_NOSCAN))
            continue;
        if (holds_pointer(b, s.b[i].size, t.start, t.start + t.size)) {
            if (n < max && out)
                out[n] = (void *)b;
            n++;
        }
    }
    api_snapshot_free(&s);
    return n;
}
