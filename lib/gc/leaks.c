/* The leak check: which allocated blocks can no longer be reached, and how
 * they are lost. Valgrind's categories: after marking from the roots, every
 * unmarked block is lost; in address order, each lost block not yet
 * visited becomes DIRECT and everything it reaches that is lost becomes
 * INDIRECT (an earlier DIRECT block reached this way is demoted). So a
 * lost list reports its head as direct and the rest as indirect, and a lost
 * cycle with no pointer from outside reports exactly one direct block.
 * Runs with the world stopped; its working memory is mapped with the os
 * locks held (os_map_locked), never taken from the heap. */
#include "collect.h"

#include <errno.h>

#include "../heap/collect.h"
#include "../heap/os.h"
#include "../util/sort.h"
#include "internal.h"

struct lost {
    uintptr_t start;
    size_t size;
    enum leak_kind kind;
};

struct lost_list {
    struct lost *v;
    size_t n, cap;
};

static int count_unmarked(uintptr_t start, size_t size, void *arg)
{
    (void)start;
    (void)size;
    if (!heap_is_marked(start))
        (*(size_t *)arg)++;
    return 0;
}

static int collect_unmarked(uintptr_t start, size_t size, void *arg)
{
    struct lost_list *l = arg;
    if (!heap_is_marked(start) && l->n < l->cap) {
        l->v[l->n].start = start;
        l->v[l->n].size = size;
        l->v[l->n].kind = LEAK_DIRECT;
        l->n++;
    }
    return 0;
}

struct reach_ctx {
    leak_fn fn;
    void *arg;
};

static int report_reachable(uintptr_t start, size_t size, void *arg)
{
    struct reach_ctx *c = arg;
    if (heap_is_marked(start))
        c->fn(start, size, heap_block_tag(start), LEAK_REACHABLE, c->arg);
    return 0;
}

/* By address: the blocks come in span order, and find_lost searches. */
static int lost_before(const void *a, const void *b)
{
    return ((const struct lost *)a)->start < ((const struct lost *)b)->start;
}

static struct lost *find_lost(struct lost_list *l, uintptr_t start)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].start < start)
            lo = mid + 1;
        else if (l->v[mid].start > start)
            hi = mid;
        else
            return &l->v[mid];
    }
    return NULL;
}

/* Walks everything lost that `leader` reaches, with an explicit stack. */
static void visit(struct lost_list *l, struct lost *leader, uintptr_t *stack, size_t cap)
{
    size_t top = 0;
    uintptr_t s;
    size_t sz;
    if (heap_mark_word(leader->start, &s, &sz) == 0)
        return;   /* visited already from an earlier leader */
    leader->kind = LEAK_DIRECT;
    stack[top++] = leader->start;
    while (top) {
        uintptr_t b = stack[--top];
        struct lost *lb = find_lost(l, b);
        if (!lb || (heap_block_flags(b) & BLOCK_NOSCAN))
            continue;
        for (uintptr_t p = b; p + sizeof(uintptr_t) <= b + lb->size + 1; p += sizeof(uintptr_t)) {
            uintptr_t w = *(const uintptr_t *)p;
            struct heap_block hb;
            if (!heap_find(w, &hb))
                continue;
            struct lost *t = find_lost(l, hb.start);
            if (!t || t == leader)
                continue;
            if (heap_mark_word(hb.start, &s, &sz)) {
                t->kind = LEAK_INDIRECT;
                if (top < cap)
                    stack[top++] = hb.start;
            } else if (t->kind == LEAK_DIRECT) {
                t->kind = LEAK_INDIRECT;   /* an earlier leader, reached from this one */
            }
        }
    }
}

int gc_leak_check(uintptr_t self_sp, leak_fn fn, void *arg)
{
    int saved = errno;
    gc_lock_acquire();
    heap_lock_all();
    struct world w;
    if (stop_world(&w)) {
        heap_unlock_all();
        gc_lock_release();
        errno = saved;
        return -1;
    }
    heap_gc_begin();
    int r = gc_mark_from_roots(&w, self_sp);
    if (r == 0) {
        struct reach_ctx rc = { fn, arg };
        heap_for_each_block_locked(report_reachable, &rc);
        size_t n = 0;
        heap_for_each_block_locked(count_unmarked, &n);
        struct lost_list l = { NULL, 0, n };
        size_t bytes = n * sizeof(struct lost) + n * sizeof(uintptr_t) + 1;
        void *mem = n ? os_map_locked(bytes) : NULL;
        if (mem) {
            l.v = mem;
            uintptr_t *stack = (uintptr_t *)(l.v + n);
            heap_for_each_block_locked(collect_unmarked, &l);
            sort_heap(l.v, l.n, sizeof *l.v, lost_before);
            for (size_t i = 0; i < l.n; i++)
                visit(&l, &l.v[i], stack, n);
            for (size_t i = 0; i < l.n; i++)
                fn(l.v[i].start, l.v[i].size, heap_block_tag(l.v[i].start), l.v[i].kind, arg);
            os_unmap_locked(mem, bytes);
        } else if (n) {
            r = -1;   /* no memory to classify in: report nothing rather than guess */
        }
    }
    heap_clear_marks();
    heap_gc_end();
    resume_world(&w);
    heap_unlock_all();
    gc_lock_release();
    errno = saved;
    return r;
}
