/* Small blocks: the cache refill path, span hand-over between threads and
 * frees. The fast paths live in small.h; everything here is the slower
 * path taken about once per 64 allocations or on a free from a thread that
 * does not own the span. See span.h for who may write which bits. */
#include "small.h"

#include <errno.h>
#include <string.h>

#include "../util/error.h"
#include "../util/lock.h"
#include "heap.h"
#include "pages.h"

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

void small_relist_locked(struct span *s)
{
    struct sclass *sc = &classes[s->cls];
    s->listed = 1;
    s->prev = NULL;
    s->next = sc->partial;
    if (sc->partial)
        sc->partial->prev = s;
    sc->partial = s;
}

void small_unlist_locked(struct span *s)
{
    struct sclass *sc = &classes[s->cls];
    if (!s->listed)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        sc->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
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

/* Points the bin at the first word of its span with a free slot. */
static int bin_fill(struct tbin *b)
{
    struct span *s = b->span;
    small_fold(s);
    for (unsigned w = 0; w < s->nwords; w++) {
        uint64_t free = ~s->bits[w].alloc & span_valid_mask(s, w);
        if (free) {
            b->avail = free;
            b->word = w;
            b->size = s->size;
            b->wbase = s->start + (uintptr_t)w * 64 * s->size;
            heap_count_alloc((size_t)__builtin_popcountll(free) * s->size);
            return 1;
        }
    }
    return 0;
}

static int has_free(struct span *s)
{
    for (unsigned w = 0; w < s->nwords; w++)
        if (~s->bits[w].alloc & span_valid_mask(s, w))
            return 1;
    return 0;
}

/* The page allocator takes it back. The class lock stays held across the
 * hand-over so that a racing remote free (maybe_list) sees it gone. */
static void give_back_locked(struct span *s)
{
    atomic_store(&s->owner, NULL);
    small_fold(s);
    pages_free(s);
}

void small_release(struct tcache *tc, unsigned c)
{
    struct tbin *b = &tc->bins[c];
    struct span *s = b->span;
    struct sclass *sc = &classes[c];
    b->span = NULL;
    b->avail = 0;
    lock_acquire(&sc->lock);
    atomic_store(&s->owner, NULL);
    if (small_span_unused(s) && sc->partial)
        give_back_locked(s);
    else if (!s->listed && (has_free(s) || any_remote(s)))
        small_relist_locked(s);
    lock_release(&sc->lock);
}

static struct span *span_fresh(struct tcache *tc, unsigned c)
{
    const struct sizeclass *k = &sizeclasses[c];
    int clean;
    struct span *s = pages_alloc(k->pages, 1, &clean);
    if (!s)
        return NULL;
    s->cls = (uint8_t)c;
    s->size = k->size;
    s->magic = k->magic;
    s->nslots = (uint16_t)k->nslots;
    s->nwords = (uint16_t)((k->nslots + 63) / 64);
    memset(s->bits, 0, sizeof s->bits);
    memset(s->mark, 0, sizeof s->mark);
    atomic_store_explicit(&s->owner, tc, memory_order_relaxed);
    s->kind = SPAN_SMALL;
    pages_map(s);
    return s;
}

/* A span for the cache: a partial one from the shared list, else new. */
static struct span *span_acquire(struct tcache *tc, unsigned c)
{
    struct sclass *sc = &classes[c];
    for (;;) {
        lock_acquire(&sc->lock);
        struct span *s = sc->partial;
        if (!s)
            break;
        small_unlist_locked(s);
        atomic_store(&s->owner, tc);
        small_fold(s);
        if (small_span_unused(s) && sc->partial) {
            /* Empty, and there are others to use: its pages go back. */
            give_back_locked(s);
            lock_release(&sc->lock);
            continue;
        }
        lock_release(&sc->lock);
        return s;
    }
    lock_release(&sc->lock);
    return span_fresh(tc, c);
}

void *small_alloc_slow(unsigned c)
{
    if (unlikely(heap_init())) {
        errno = ENOMEM;
        return NULL;
    }
    heap_maybe_collect();
    struct tcache *tc = tcache_get();
    if (!tc) {
        errno = ENOMEM;
        return NULL;
    }
    tc->in_alloc = 1;
    __asm__ __volatile__("" : : : "memory");
    struct tbin *b = &tc->bins[c];
    void *p = NULL;
    if (!b->avail) {
        if (!b->span || !bin_fill(b)) {
            if (b->span)
                small_release(tc, c);
            for (;;) {
                b->span = span_acquire(tc, c);
                if (!b->span) {
                    errno = ENOMEM;
                    goto out;
                }
                if (bin_fill(b))
                    break;
                small_release(tc, c);   /* a full span that was listed by a race */
            }
        }
    }
    uint64_t m = b->avail;
    unsigned bit = (unsigned)__builtin_ctzll(m);
    b->avail = m & (m - 1);
    bits_set(&b->span->bits[b->word].alloc, 1ull << bit);
    p = (void *)(b->wbase + (uintptr_t)bit * b->size);
    __asm__ __volatile__("" : : "r"(p) : "memory");
out:
    tc->in_alloc = 0;
    tcache_put(tc);
    return p;
}

static void maybe_list(struct span *s)
{
    if (atomic_load(&s->owner) || s->listed)
        return;
    struct sclass *sc = &classes[s->cls];
    lock_acquire(&sc->lock);
    if (s->kind == SPAN_SMALL && !atomic_load(&s->owner) && !s->listed)
        small_relist_locked(s);
    lock_release(&sc->lock);
}

void small_free(struct span *s, uint32_t slot, void *p, const char *call)
{
    unsigned w = slot >> 6;
    uint64_t m = 1ull << (slot & 63);
    struct span_bits *bits = &s->bits[w];
    struct tcache *tc = tc_self;
    /* A thread without a cache (NULL or TC_DEAD) never owns a span: an
     * unowned span's NULL owner must not look like "mine". */
    if ((uintptr_t)tc > (uintptr_t)TC_DEAD &&
        atomic_load_explicit(&s->owner, memory_order_relaxed) == tc) {
        if (unlikely(!(bits->alloc & m) ||
                     (atomic_load_explicit(&bits->remote, memory_order_relaxed) & m))) {
            error_bad_pointer(call, p, error_freed_reason(call));
            return;
        }
        bits_clear(&bits->alloc, m);
        return;
    }
    if (unlikely(!(bits->alloc & m))) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    uint64_t old = atomic_fetch_or(&bits->remote, m);
    if (unlikely(old & m)) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    maybe_list(s);
}
