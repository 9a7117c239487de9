/* The heap side of a collection (see collect.h). Runs with the world
 * stopped and every heap lock held by the collecting thread, so it may
 * rewrite any bitmap and move spans between lists without atomics. */
#include "collect.h"

#include "pages.h"

static void set_aside(void *p)
{
    struct span *s;
    uint64_t m;
    span_block_bits((uintptr_t)p, &s, &m)->alloc &= ~m;
    s->pinned = 1;   /* a free list still links here: the pages must stay */
}

static void put_back(void *p)
{
    struct span *s;
    uint64_t m;
    span_block_bits((uintptr_t)p, &s, &m)->alloc |= m;
    s->pinned = 0;
}

void heap_gc_begin(void)
{
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL)
            small_fold(s);
    }
    tcache_for_each_cached(set_aside);
}

void heap_gc_end(void)
{
    tcache_for_each_cached(put_back);
}

void heap_for_each_marked(void (*fn)(uintptr_t, size_t, void *), void *arg)
{
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL) {
            for (unsigned w = 0; w < s->nwords; w++) {
                uint64_t m = s->bits[w].mark;
                while (m) {
                    unsigned b = (unsigned)__builtin_ctzll(m);
                    m &= m - 1;
                    if (s->side && (s->side->flags[w * 64 + b] & BLOCK_NOSCAN))
                        continue;
                    fn(s->start + (uintptr_t)(w * 64 + b) * s->size, s->size - 1, arg);
                }
            }
        } else if (s->kind == SPAN_LARGE && (s->bits[0].mark & 1) &&
                   !(s->side && (s->side->flags[0] & BLOCK_NOSCAN))) {
            fn(s->start, ((size_t)s->npages << PAGE_SHIFT) - 1, arg);
        }
    }
}

static void sweep_small(struct span *s, struct heap_sweep *out)
{
    size_t size = s->size - 1;
    size_t before = out->freed_blocks;
    int any = 0;
    for (unsigned w = 0; w < s->nwords; w++) {
        uint64_t live = span_live_bits(&s->bits[w]) & span_valid_mask(s, w);
        uint64_t keep = live & s->bits[w].mark;
        uint64_t dead = live & ~keep;
        size_t freed = (size_t)popcount64(dead);
        size_t kept = (size_t)popcount64(keep);
        out->freed_blocks += freed;
        out->freed_bytes += freed * size;
        out->live_blocks += kept;
        out->live_bytes += kept * size;
        s->bits[w].alloc &= ~dead;
        if (s->side)
            for (uint64_t d = dead; d; d &= d - 1)
                s->side->flags[w * 64 + (unsigned)__builtin_ctzll(d)] = 0;
        s->bits[w].mark = 0;
        any |= keep != 0;
    }
    if (atomic_load_explicit(&s->owner, memory_order_relaxed)) {
        /* An owned span stays with its thread, which learns of the freed
         * slots (and gives the span back if it emptied) through its
         * remote stack, exactly as after a cross-thread free. */
        if (out->freed_blocks != before)
            small_notify_locked(s);
        return;
    }
    if (!any && !s->pinned) {
        small_unlist_locked(s);
        pages_free_locked(s);
    } else if (!s->listed) {
        small_relist_locked(s);
    }
}

void heap_sweep(struct heap_sweep *out)
{
    out->freed_blocks = out->freed_bytes = out->live_blocks = out->live_bytes = 0;
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL) {
            sweep_small(s, out);
        } else if (s->kind == SPAN_LARGE && (s->bits[0].alloc & 1)) {
            size_t size = ((size_t)s->npages << PAGE_SHIFT) - 1;
            if (s->bits[0].mark & 1) {
                s->bits[0].mark = 0;
                out->live_blocks++;
                out->live_bytes += size;
            } else {
                out->freed_blocks++;
                out->freed_bytes += size;
                s->bits[0].alloc = 0;
                if (s->side)
                    s->side->flags[0] = 0;
                pages_free_locked(s);
            }
        }
    }
}

int heap_is_marked(uintptr_t p)
{
    struct heap_block b;
    if (!heap_find(p, &b))
        return 0;
    return (int)((b.span->bits[b.slot >> 6].mark >> (b.slot & 63)) & 1);
}

void heap_clear_marks(void)
{
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL || s->kind == SPAN_LARGE)
            for (unsigned w = 0; w < SPAN_WORDS; w++)
                s->bits[w].mark = 0;
    }
}

size_t heap_bytes(void) { return pages_in_use_bytes(); }
size_t heap_peak_bytes(void) { return pages_peak_bytes(); }
