/* Small blocks: size-class spans, their partial lists and thread caches. */
#ifndef RECLAIM_HEAP_SMALL_H
#define RECLAIM_HEAP_SMALL_H

#include "tcache.h"

/* Allocation of class c through the cache's slow path (refill). */
void *small_alloc_slow(unsigned c);
void  small_free(struct span *s, uint32_t slot, void *p, const char *call);
/* After the owner freed a slot of s: list moves and giving back empties. */
void  small_owner_freed(struct tcache *tc, struct span *s);
/* Gives up every span of a cache (thread exit; `locked`: in a fork child,
 * with every heap lock already held). */
void  small_abandon_all(struct tcache *tc, int locked);
/* Someone must fold s's remote bits: its owner (remote stack) or, for an
 * unowned span, whoever adopts it (partial list). Class lock held. */
void  small_notify_locked(struct span *s);

void small_lock_all(void);
void small_unlock_all(void);
/* No allocated slot (alloc bits all covered by remote bits). */
int  small_span_unused(struct span *s);
void small_unlist_locked(struct span *s);
/* Puts an unowned span on its class's partial list (class lock held). */
void small_relist_locked(struct span *s);
/* Empties a cache's free-slot arrays (all but skip_class's, when that is
 * not -1): their slots become plain free slots. by_collector: the owner
 * is stopped rather than exiting or gone, so its private counts are left
 * to it. */
void small_flush_cached(struct tcache *tc, int by_collector, int skip_class);
/* Folds pending remote frees into the alloc bitmap (span held exclusively
 * or the world stopped). */
void small_fold(struct span *s);

static ALWAYS_INLINE void *small_alloc(unsigned c)
{
    struct tcache *tc = tc_self;
    if (likely((uintptr_t)tc > (uintptr_t)TC_DEAD)) {
        struct tbin *b = &tc->bins[c];
        /* Raised before the cache is read: the collector empties the arrays
         * of threads that are not inside malloc or free. */
        tc->in_alloc = TC_BUSY_ALLOC(c);
        __asm__ __volatile__("" : : : "memory");
        uint32_t n = b->ncached;
        if (likely(n)) {
            void *p = b->cached[--n];
            b->cached[n] = NULL;
            b->ncached = n;
            __asm__ __volatile__("" : : "r"(p) : "memory");
            tc->in_alloc = 0;
            return p;
        }
        uint64_t m = b->avail;
        if (likely(m)) {
            unsigned bit = (unsigned)__builtin_ctzll(m);
            b->avail = m & (m - 1);
            bits_set(&b->span->bits[b->word].alloc, 1ull << bit);
            void *p = (void *)(b->wbase + (uintptr_t)bit * b->size);
            /* p must exist in a register before the flag drops. */
            __asm__ __volatile__("" : : "r"(p) : "memory");
            tc->in_alloc = 0;
            return p;
        }
        tc->in_alloc = 0;
    }
    return small_alloc_slow(c);
}

#endif
