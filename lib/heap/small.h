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
/* Folds pending remote frees into the alloc bitmap (span held exclusively
 * or the world stopped). */
void small_fold(struct span *s);

static ALWAYS_INLINE void *small_alloc(unsigned c)
{
    struct tcache *tc = tc_self;
    if (likely((uintptr_t)tc > (uintptr_t)TC_DEAD)) {
        struct tbin *b = &tc->bins[c];
        uint32_t n = b->ncached;
        if (likely(n)) {
            tc->in_alloc = 1;
            __asm__ __volatile__("" : : : "memory");
            void *p = b->cached[--n];
            b->ncached = n;
            struct span *s = span_of_block((uintptr_t)p);
            uint32_t i = span_slot(s, (uintptr_t)p);
            bits_clear(&s->bits[i >> 6].cached, 1ull << (i & 63));
            __asm__ __volatile__("" : : "r"(p) : "memory");
            tc->in_alloc = 0;
            return p;
        }
        uint64_t m = b->avail;
        if (likely(m)) {
            tc->in_alloc = 1;
            __asm__ __volatile__("" : : : "memory");
            unsigned bit = (unsigned)__builtin_ctzll(m);
            b->avail = m & (m - 1);
            bits_set(&b->span->bits[b->word].alloc, 1ull << bit);
            void *p = (void *)(b->wbase + (uintptr_t)bit * b->size);
            /* p must exist in a register before the flag drops. */
            __asm__ __volatile__("" : : "r"(p) : "memory");
            tc->in_alloc = 0;
            return p;
        }
    }
    return small_alloc_slow(c);
}

#endif
