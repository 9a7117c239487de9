/* Small blocks: the cache refill path, span ownership and frees. The fast
 * paths live in small.h and heap.h; everything here runs about once per
 * 64 allocations, or on a free that changes a span's list, or on a free
 * from a thread that does not own the span. See span.h for who may write
 * which bits.
 *
 * A span is, for its owner, exactly one of: the current span of its class,
 * on the `local` list (has free slots) or on the `full` list. Unowned
 * spans (their thread exited) sit on their class's shared partial list
 * when they have free slots, and are adopted by the next thread that needs
 * one. Empty spans go back to the page allocator, keeping one per class. */
#include "small.h"

#include <errno.h>
#include <string.h>

#include "../util/error.h"
#include "../util/lock.h"
#include "heap.h"
#include "pages.h"
#include "side.h"

struct sclass {
    lock_t lock;
    struct span *partial;
} __attribute__((aligned(CACHELINE)));

static struct sclass classes[SC_COUNT];


void small_lock_all(void)
{
    for (unsigned c = 0; c < SC_COUNT; c++)
        lock_acquire(&classes[c].lock);
}

void small_unlock_all(void)
{
    for (unsigned c = SC_COUNT; c-- > 0;)
        lock_release(&classes[c].lock);
}

/* Doubly linked lists through next/prev: the owner's private ones and the
 * shared partial lists use the same links (a span is on one at a time). */
static void list_push(struct span **head, struct span *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void list_remove(struct span **head, struct span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

void small_relist_locked(struct span *s)
{
    list_push(&classes[s->cls].partial, s);
    s->listed = 1;
}

void small_unlist_locked(struct span *s)
{
    if (!s->listed)
        return;
    list_remove(&classes[s->cls].partial, s);
    s->listed = 0;
}

void small_fold(struct span *s)
{
    for (unsigned w = 0; w < s->nwords; w++) {
        if (atomic_load_explicit(&s->bits[w].remote, memory_order_relaxed)) {
            uint64_t r = atomic_exchange(&s->bits[w].remote, 0);
            bits_clear(&s->bits[w].alloc, r);
        }
    }
}

int small_span_unused(struct span *s)
{
    for (unsigned w = 0; w < s->nwords; w++)
        if (s->bits[w].alloc & ~atomic_load_explicit(&s->bits[w].remote, memory_order_relaxed))
            return 0;
    return 1;
}

static int any_remote(struct span *s)
{
    for (unsigned w = 0; w < s->nwords; w++)
        if (atomic_load(&s->bits[w].remote))
            return 1;
    return 0;
}

static int has_free(struct span *s)
{
    for (unsigned w = 0; w < s->nwords; w++)
        if (~s->bits[w].alloc & span_valid_mask(s, w))
            return 1;
    return 0;
}

static uint16_t count_alloc(struct span *s)
{
    unsigned n = 0;
    for (unsigned w = 0; w < s->nwords; w++)
        n += (unsigned)popcount64(s->bits[w].alloc & span_valid_mask(s, w));
    return (uint16_t)n;
}

static void note_alloc(struct tcache *tc, size_t bytes)
{
    tc->count += bytes;
    if (tc->count >= (64u << 10)) {
        heap_count_alloc(tc->count);
        tc->count = 0;
    }
}

/* Frees into a span on its owner's local list that is less than 3/4 full
 * go to its bitmap, not to a free list: free's fast path finds a slow
 * page-info entry, and small_free frees the slot at once. Slots on free
 * lists are spread over every span of their class and are reused first,
 * so otherwise hardly a span ever empties and each class keeps the pages
 * of its own peak; so drained, spans empty and their pages go to whatever
 * class needs them. On churn: 2.7% less peak heap at one thread, 2.4% at
 * two, for the same instruction count. Called wherever `where` or `used`
 * changes. */
static void sparse_update(struct span *s)
{
    uint8_t want = s->where == WHERE_LOCAL && (unsigned)s->used * 4 < (unsigned)s->nslots * 3;
    if (want != s->sparse) {
        s->sparse = want;
        pages_set_sparse(s, want);
    }
}

/* Gives a span up: its owner is cleared and it goes to whoever needs it,
 * the page allocator when it is empty (and can_free), else the shared
 * partial list when it has room. Class lock held: a free racing with this
 * (notify) takes that lock and sees the outcome. */
static void abandon_locked(struct span *s, int can_free)
{
    atomic_store(&s->owner, NULL);
    s->where = WHERE_NONE;
    sparse_update(s);
    s->next = s->prev = NULL;
    small_fold(s);
    if (can_free && small_span_unused(s)) {
        small_unlist_locked(s);
        pages_free(s);
    } else if (!s->listed && (has_free(s) || any_remote(s))) {
        small_relist_locked(s);
    }
}

/* After a free that set a remote bit: make sure someone will fold it. An
 * owned span goes onto its owner's remote stack (once until drained); an
 * unowned one onto the shared partial list. Pushes happen only under the
 * class lock and only while the span has an owner; a thread gives up its
 * spans under every class lock after draining its stack, so no push can
 * land on a stack whose cache is gone. */
void small_notify_locked(struct span *s)
{
    if (s->kind != SPAN_SMALL)
        return;
    struct tcache *o = atomic_load(&s->owner);
    if (o) {
        if (!atomic_load(&s->rpending)) {
            atomic_store(&s->rpending, 1);
            struct span *head = atomic_load(&o->remote);
            do
                s->rnext = head;
            while (!atomic_compare_exchange_weak(&o->remote, &head, s));
        }
    } else if (!s->listed) {
        small_relist_locked(s);
    }
}

static void notify(struct span *s)
{
    /* Nothing to do when the owner will look anyway (see drain_remote for
     * why reading rpending after setting the bit is enough). */
    if (atomic_load(&s->rpending) || (!atomic_load(&s->owner) && s->listed))
        return;
    struct sclass *sc = &classes[s->cls];
    lock_acquire(&sc->lock);
    small_notify_locked(s);
    lock_release(&sc->lock);
}

/* The owner gives an empty, non-current span back to the page allocator
 * when it has another span of that class with room. */
static void maybe_give_back(struct tcache *tc, struct span *s)
{
    struct tbin *b = &tc->bins[s->cls];
    if (s->used || s->where != WHERE_LOCAL || atomic_load(&s->rpending) ||
        (!b->span && b->local == s && !s->next))
        return;
    list_remove(&b->local, s);
    struct sclass *sc = &classes[s->cls];
    lock_acquire(&sc->lock);
    abandon_locked(s, 1);
    lock_release(&sc->lock);
}

/* An owned full span got a free slot: it goes onto the local list, and
 * its class, having room of its own again, stops borrowing (borrow). */
static void full_has_room(struct tbin *b, struct span *s)
{
    list_remove(&b->full, s);
    list_push(&b->local, s);
    s->where = WHERE_LOCAL;
    b->lender = 0;
}

/* Takes in the spans other threads or the collector freed into. rpending
 * drops before the fold: a free that saw rpending set happened before
 * that store, so the fold sees its bit. */
static void drain_remote(struct tcache *tc)
{
    /* A plain load first: every refill comes here, and borrow refills
     * up to three classes. */
    if (!atomic_load_explicit(&tc->remote, memory_order_relaxed))
        return;
    struct span *s = atomic_exchange(&tc->remote, NULL);
    while (s) {
        struct span *next = s->rnext;
        atomic_store(&s->rpending, 0);
        struct tbin *b = &tc->bins[s->cls];
        small_fold(s);
        /* Slots on free lists are still allocated in the bitmap. */
        s->used = (uint16_t)(count_alloc(s) +
                             (s->where == WHERE_CURRENT ? popcount64(b->avail) : 0));
        if (s->where == WHERE_FULL && has_free(s))
            full_has_room(b, s);
        sparse_update(s);
        maybe_give_back(tc, s);
        s = next;
    }
}

/* Points the bin at the first word of its current span with a free slot. */
static int bin_fill(struct tcache *tc, struct tbin *b)
{
    struct span *s = b->span;
    small_fold(s);
    for (unsigned w = 0; w < s->nwords; w++) {
        uint64_t free = ~s->bits[w].alloc & span_valid_mask(s, w);
        if (free) {
            unsigned n = (unsigned)popcount64(free);
            b->avail = free;
            b->wbase = s->start + (uintptr_t)w * 64 * s->size;
            b->aword = &s->bits[w].alloc;
            s->used = (uint16_t)(s->used + n);
            note_alloc(tc, (size_t)n * s->size);
            return 1;
        }
    }
    return 0;
}

static struct span *span_fresh(struct tcache *tc, unsigned c)
{
    const struct sizeclass *k = &sizeclasses[c];
    int clean;
    struct span *s = pages_alloc(k->pages, 1, &clean);
    if (!s)
        return NULL;
    /* Reused pages hold old contents: a slot whose new owner never writes
     * some words would show stale pointers there. */
    if (!clean)
        memset((void *)s->start, 0, (size_t)k->pages << PAGE_SHIFT);
    s->cls = (uint8_t)c;
    s->size = k->size;
    s->magic = k->magic;
    s->nslots = (uint16_t)k->nslots;
    s->nwords = (uint16_t)((k->nslots + 63) / 64);
    memset(s->bits, 0, sizeof s->bits);
    heap_side_reset(s);
    s->used = 0;
    s->rpending = 0;
    atomic_store_explicit(&s->owner, tc, memory_order_relaxed);
    /* Owned before it is SMALL: a collection stopping this thread here
     * must not take an empty unowned span for one to give back. */
    __asm__ __volatile__("" : : : "memory");
    s->kind = SPAN_SMALL;
    pages_map(s);
    return s;
}

/* An unowned span with room from the class's shared list, now owned. */
static struct span *adopt(struct tcache *tc, unsigned c)
{
    struct sclass *sc = &classes[c];
    lock_acquire(&sc->lock);
    struct span *s;
    while ((s = sc->partial)) {
        small_unlist_locked(s);
        atomic_store(&s->owner, tc);
        small_fold(s);
        if (!has_free(s)) {
            atomic_store(&s->owner, NULL);   /* listed by a racing free, full */
            continue;
        }
        if (small_span_unused(s) && sc->partial) {
            abandon_locked(s, 1);            /* empty, and there are others */
            continue;
        }
        break;
    }
    lock_release(&sc->lock);
    if (s)
        s->used = count_alloc(s);
    return s;
}

/* Makes the bin's current span one with a free slot word loaded; takes
 * a span from outside the thread only when `grow`. */
static int refill(struct tcache *tc, unsigned c, int grow)
{
    struct tbin *b = &tc->bins[c];
    for (;;) {
        if (b->span && bin_fill(tc, b))
            return 1;
        if (b->span) {
            b->span->where = WHERE_FULL;
            list_push(&b->full, b->span);
            b->span = NULL;
        }
        drain_remote(tc);
        struct span *s = b->local;
        if (s)
            list_remove(&b->local, s);
        else if (!grow || (!(s = adopt(tc, c)) && !(s = span_fresh(tc, c))))
            return 0;
        s->where = WHERE_CURRENT;
        sparse_update(s);
        b->span = s;
        b->lender = 0;
    }
}

/* A list whose head fails tcache_slot_ok: the program wrote into a slot
 * it had freed. Its slots stay allocated in the bitmap, off every list:
 * the program may still write through its dangling pointer, and a
 * collection frees them once nothing points to them. */
static void drop_list(struct tbin *b)
{
    void *bad = b->head;
    b->head = NULL;
    b->ncached = 0;
    error_bad_pointer("malloc", bad, "free list damaged: a block was written after it was freed");
}

/* Class c's spans are all full: rather than a new span for it, a free
 * slot the thread already holds in one of the next classes up (free list,
 * current word, or a span of that class with room). A class that grows
 * past its old peak so takes memory the classes near it are not using
 * (spans seldom empty, so pages cannot move between classes otherwise):
 * with each class keeping the pages of its own peak, churn's peak RSS was
 * 1.15x glibc's. Waste bound in sizeclass.h. Only for plain requests: a
 * larger class's slots are less aligned.
 *
 * The next class up also becomes class c's lender: malloc's fast path
 * borrows from its free list and current word (heap_alloc_fast) until
 * class c has room of its own again. On churn, classes sit at their limit
 * often enough that a slow path per borrowed block cost 2.6% more
 * instructions. Only where every request of class c leaves a tail that
 * heap_clear_short_tail can clear in the lender's slots: at most 64 bytes
 * past the end of the class below. */
static void *borrow(struct tcache *tc, unsigned c, uint32_t *size)
{
    struct tbin *b = &tc->bins[c];
    for (unsigned c2 = c + 1; c2 <= c + SC_LEND_MAX && c2 < TC_BIG_CLASS; c2++) {
        struct tbin *l = &tc->bins[c2];
        void *p = small_pop(l);
        if (!p && !l->head && refill(tc, c2, 0))
            p = small_pop(l);
        if (p) {
            if (c2 == c + 1 && l->size - (c ? sizeclasses[c - 1].size : 0) <= 64)
                b->lender = (uint8_t)c2;
            *size = l->size;
            return p;
        }
    }
    return NULL;
}

void *small_alloc_slow(unsigned c, uint32_t *size)
{
    heap_maybe_collect();
    struct tcache *tc = tcache_get();
    if (!tc) {
        errno = ENOMEM;
        return NULL;
    }
    struct tbin *b = &tc->bins[c];
    /* A collection just now may have run finalizers that freed into the
     * list. A list small_pop still cannot take from failed its check.
     * (The orphan cache never has one: its threads free as remote.) */
    void *p = small_pop(b);
    if (!p) {
        if (unlikely(b->head))
            drop_list(b);
        if (b->avail || refill(tc, c, 0))
            p = small_pop(b);
        else if (size && b->full && (p = borrow(tc, c, size)))
            goto out;
        else if (refill(tc, c, 1))
            p = small_pop(b);
        else
            errno = ENOMEM;
    }
    if (size)
        *size = b->size;
out:
    tcache_put(tc);
    return p;
}

static void owner_freed(struct tcache *tc, struct span *s)
{
    if (s->where == WHERE_FULL)
        full_has_room(&tc->bins[s->cls], s);
    sparse_update(s);
    maybe_give_back(tc, s);
}

/* The owner frees slot bit m of its span s into the bitmap. `leaving`: tc
 * is being given up, so its span lists need no upkeep. */
static void owner_release(struct tcache *tc, struct span *s, struct span_bits *bits, uint64_t m,
                          int leaving)
{
    heap_note_free(tc, s->size);
    bits_clear(&bits->alloc, m);
    s->used--;
    if (!leaving)
        owner_freed(tc, s);
}

/* Frees a slot taken off tc's free list into its bitmap: directly when tc
 * owns the span (or nothing else runs: `exclusive`), else as a remote
 * free. The slot keeps heap_key, so that a second free of it reaches
 * small_free, where the bitmap shows it free. */
static void release_cached(struct tcache *tc, void *p, int exclusive, int leaving)
{
    struct span *s;
    uint64_t m;
    struct span_bits *bits = span_block_bits((uintptr_t)p, &s, &m);
    struct tcache *owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
    if (owner == tc) {
        owner_release(tc, s, bits, m, leaving);
        return;
    }
    heap_note_free(tc, s->size);
    if (exclusive) {
        bits_clear(&bits->alloc, m);
        return;
    }
    atomic_fetch_or(&bits->remote, m);
    notify(s);
}

/* Releases the newest slots of a list until `keep` are left. */
static void release_list(struct tcache *tc, unsigned c, uint32_t keep, int exclusive, int leaving)
{
    struct tbin *b = &tc->bins[c];
    while (b->head && b->ncached > keep) {
        void *p = b->head;
        if (!tcache_slot_ok(p)) {
            drop_list(b);
            return;
        }
        b->head = tcache_link(p);
        b->ncached--;
        /* Off the list before it is free: in between, p is in a register,
         * which a collection treats as a reference. */
        __asm__ __volatile__("" : "+r"(p) : : "memory");
        release_cached(tc, p, exclusive, leaving);
    }
}

/* A free found the list full: half of it goes back at once (see
 * TC_BYTES). */
static void trim_list(struct tcache *tc, unsigned c)
{
    release_list(tc, c, tcache_limit(c) / 2, 0, 0);
}

void small_free(struct span *s, uint32_t slot, void *p, const char *call)
{
    /* A slot on a free list is free for the program, allocated for the
     * bitmap; heap_key says which (tcache.h), as it does for a freed slot
     * that went on to the bitmap. */
    if (unlikely(tcache_marked(p))) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    unsigned w = slot >> 6;
    uint64_t m = 1ull << (slot & 63);
    struct span_bits *bits = &s->bits[w];
    struct tcache *tc = tc_self;
    if (unlikely(!(span_live_bits(bits) & m))) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    if (s->side)
        s->side->flags[slot] = 0;
    if (likely((uintptr_t)tc > (uintptr_t)TC_DEAD)) {
        if (atomic_load_explicit(&s->owner, memory_order_relaxed) == tc && s->sparse) {
            tcache_mark(p);   /* a second free of it comes back here */
            owner_release(tc, s, bits, m, 0);
            return;
        }
        if (unlikely(!heap_cache_put(tc, s->cls, p))) {
            trim_list(tc, s->cls);
            heap_cache_put(tc, s->cls, p);
        }
        return;
    }
    /* A thread without a cache (NULL or TC_DEAD) owns no span and frees
     * as remote. The slot is marked as freed all the same, so that free's
     * fast path sends a second free of it here, where the bitmap catches
     * it. */
    tcache_mark(p);
    heap_count_free(s->size);
    /* Atomic: of two threads freeing the same block at once, one sees
     * the other's bit. */
    if (unlikely(atomic_fetch_or(&bits->remote, m) & m)) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    notify(s);
}

/* Empties a cache's free lists into the bitmaps (thread exit; in a fork
 * child, `exclusive`: the only thread left, every lock held). */
static void flush_cached(struct tcache *tc, int exclusive)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        release_list(tc, c, 0, exclusive, 1);
        tc->bins[c].head = NULL;   /* what a count gone wrong left */
        tc->bins[c].ncached = 0;
    }
}

/* Thread exit (or, in a fork child, for each thread that did not survive):
 * every owned span is given up. All class locks are held throughout (taken
 * here unless `locked`), so no free can push onto this cache's remote
 * stack meanwhile; in a fork child the page lock is held too, so empty
 * spans stay on their partial lists instead of going back to it. */
void small_abandon_all(struct tcache *tc, int locked)
{
    flush_cached(tc, locked);
    if (!locked)
        small_lock_all();
    for (struct span *s = atomic_exchange(&tc->remote, NULL); s; s = s->rnext)
        atomic_store(&s->rpending, 0);
    for (unsigned c = 0; c < SC_COUNT; c++) {
        struct tbin *b = &tc->bins[c];
        struct span *s, *next;
        if ((s = b->span))
            abandon_locked(s, !locked);
        for (s = b->local; s; s = next) {
            next = s->next;
            abandon_locked(s, !locked);
        }
        for (s = b->full; s; s = next) {
            next = s->next;
            abandon_locked(s, !locked);
        }
        b->span = b->local = b->full = NULL;
        b->lender = 0;
        b->avail = 0;
    }
    if (!locked)
        small_unlock_all();
    if (tc->count) {
        heap_count_alloc(tc->count);
        tc->count = 0;
    }
    if (tc->freed) {
        heap_count_free(tc->freed);
        tc->freed = 0;
    }
}
