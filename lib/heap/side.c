/* Per-block side data: flags (never scan, has a finalizer, is a weak
 * target) and a 32-bit tag (the allocation stack in leaks mode), kept in
 * reclaim's own memory beside the span, never in the block. Made for a
 * span the first time one of its blocks needs it; a descriptor reused for
 * a span with more slots gets a new one. */
#include "side.h"

#include <string.h>

#include "heap.h"
#include "pages.h"

void heap_side_reset(struct span *s)
{
    struct span_side *side = s->side;
    if (!side)
        return;
    if (side->cap < s->nslots) {
        s->side = NULL;   /* too small for this span: made again on demand */
        return;
    }
    memset(side->tags, 0, side->cap * sizeof *side->tags);
    memset(side->flags, 0, side->cap);
}

static struct span_side *side_of(struct span *s)
{
    struct span_side *side = __atomic_load_n(&s->side, __ATOMIC_ACQUIRE);
    if (side)
        return side;
    uint32_t cap = s->kind == SPAN_SMALL ? s->nslots : 1;
    side = meta_alloc(sizeof *side + cap * (sizeof(uint32_t) + 1));
    if (!side)
        return NULL;
    side->cap = cap;
    side->tags = (uint32_t *)(side + 1);
    side->flags = (uint8_t *)(side->tags + cap);
    struct span_side *expect = NULL;
    /* Two threads may race for the same span's side data; the loser's
     * (zeroed, bump-allocated) memory is simply not used. */
    if (!__atomic_compare_exchange_n(&s->side, &expect, side, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        side = expect;
    else if (s->kind == SPAN_SMALL)
        pages_set_info(s);   /* its frees now clear flags: slow path */
    return side;
}

static struct span *block_span(uintptr_t start, uint32_t *slot)
{
    struct heap_block b;
    if (!heap_find(start, &b) || b.start != start)
        return NULL;
    *slot = b.slot;
    return b.span;
}

/* The side data of the block starting at start, if it has any (make: one
 * is made when missing), and its slot. */
static struct span_side *block_side(uintptr_t start, uint32_t *slot, int make)
{
    struct span *s = block_span(start, slot);
    if (!s)
        return NULL;
    return make ? side_of(s) : s->side;
}

unsigned heap_block_flags(uintptr_t start)
{
    uint32_t slot;
    struct span_side *side = block_side(start, &slot, 0);
    return side ? side->flags[slot] : 0;
}

int heap_block_set_flags(uintptr_t start, unsigned set, unsigned clear)
{
    uint32_t slot;
    struct span_side *side = block_side(start, &slot, 1);
    if (!side)
        return -1;
    side->flags[slot] = (uint8_t)((side->flags[slot] & ~clear) | set);
    return 0;
}

uint32_t heap_block_tag(uintptr_t start)
{
    uint32_t slot;
    struct span_side *side = block_side(start, &slot, 0);
    return side ? side->tags[slot] : 0;
}

int heap_block_set_tag(uintptr_t start, uint32_t tag)
{
    uint32_t slot;
    struct span_side *side = block_side(start, &slot, 1);
    if (!side)
        return -1;
    side->tags[slot] = tag;
    return 0;
}

size_t heap_for_each_block(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg)
{
    heap_lock_all();
    size_t visited = heap_for_each_block_locked(fn, arg);
    heap_unlock_all();
    return visited;
}

size_t heap_for_each_block_locked(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg)
{
    size_t visited = 0;
    /* Slots waiting on free lists look allocated: skip them. */
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL) {
            for (uint32_t i = 0; i < s->nslots; i++) {
                struct heap_block b;
                uintptr_t start = s->start + (uintptr_t)i * s->size;
                if (!heap_find(start, &b))
                    continue;
                visited++;
                if (fn(start, b.size, arg))
                    goto out;
            }
        } else if (s->kind == SPAN_LARGE && (s->bits[0].alloc & 1)) {
            visited++;
            if (fn(s->start, ((size_t)s->npages << PAGE_SHIFT) - 1, arg))
                goto out;
        }
    }
out:
    return visited;
}
