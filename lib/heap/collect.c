/* The heap side of a collection (see collect.h). Runs with the world
 * stopped and every heap lock held by the collecting thread, so it may
 * rewrite any bitmap and move spans between lists without atomics. */
#include "collect.h"

#include "pages.h"

void heap_gc_begin(void)
{
    /* Freed slots waiting in threads' arrays become free slots, except in
     * the one array a busy thread (stopped inside malloc or free) may be
     * using, or all of them when it is exiting: heap_in_progress makes
     * those roots instead. */
    for (struct tcache *tc = tcache_first(); tc; tc = tc->next) {
        int busy = tc->in_alloc;
        if (busy != TC_BUSY_EXIT)
            small_flush_cached(tc, 1, tcache_busy_class(busy));
    }
    uint32_t n = pages_span_limit();
    for (uint32_t id = 1; id < n; id++) {
        struct span *s = &region.spans[id];
        if (s->kind == SPAN_SMALL)
            small_fold(s);
    }
}

static void protect_word(struct span *s, unsigned w,
                         void (*fn)(uintptr_t, size_t, void *), void *arg)
{
    uint64_t bits = span_live_bits(&s->bits[w]) & span_valid_mask(s, w);
    while (bits) {
        unsigned b = (unsigned)__builtin_ctzll(bits);
        bits &= bits - 1;
        fn(s->start + (uintptr_t)(w * 64 + b) * s->size, s->size - 1, arg);
    }
}

void heap_in_progress(void (*fn)(uintptr_t, size_t, void *), void *arg)
{
    for (struct tcache *tc = tcache_first(); tc; tc = tc->next) {
        int busy = tc->in_alloc;
        if (!busy)
            continue;
        if (busy == TC_BUSY_EXIT) {
            /* Giving everything back: its arrays were not flushed. */
            for (unsigned c = 0; c < SC_COUNT; c++)
                for (unsigned i = 0; i < TC_CACHE; i++)
                    if (tc->bins[c].cached[i])
                        fn((uintptr_t)tc->bins[c].cached[i], 1, arg);
            continue;
        }
        int bc = tcache_busy_class(busy);
        if (bc >= 0) {
            struct tbin *b = &tc->bins[bc];
            /* A thread stopped inside malloc may hold its new block only as
             * (span, slot) in registers: keep the blocks of the current word
             * of the class it is allocating from... */
            if (b->span && b->span->kind == SPAN_SMALL)
                protect_word(b->span, b->word, fn, arg);
            /* ... and the slots of that class's free-slot array, one of
             * which it may be taking or putting back. Only this class:
             * keeping every class's blocks hid leaks from reports made
             * while a thread was inside malloc. */
            for (unsigned i = 0; i < TC_CACHE; i++)
                if (b->cached[i])
                    fn((uintptr_t)b->cached[i], 1, arg);
        }
        if (tc->pending)
            fn(tc->pending, 1, arg);
    }
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
    if (!any) {
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
