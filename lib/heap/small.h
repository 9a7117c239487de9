/* Small blocks: size-class spans, their partial lists and thread caches. */
#ifndef RECLAIM_HEAP_SMALL_H
#define RECLAIM_HEAP_SMALL_H

#include "tcache.h"

/* Allocation of class c through the cache's slow path (refill), once
 * heap_init() succeeded. With `size`, a slot of a larger class may come
 * instead: *size is its size. */
void *small_alloc_slow(unsigned c, uint32_t *size);
void  small_free(struct span *s, uint32_t slot, void *p, const char *call);
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

/* Sets the alloc bit of a slot about to be handed out. p is in a register
 * before the bit is set and stays there after it: a collection that stops
 * the thread in between finds p among the registers and keeps the block,
 * instead of sweeping a slot the bitmap calls allocated and nothing
 * reaches yet. */
static ALWAYS_INLINE void *small_take(void *p, uint64_t *word, unsigned bit)
{
    __asm__ __volatile__("" : "+r"(p));
    bits_set(word, 1ull << bit);
    __asm__ __volatile__("" : : "r"(p) : "memory");
    return p;
}

/* A slot from the bin without leaving it (free list first, then the
 * current bitmap word), or NULL: the caller goes to small_alloc_slow,
 * which also deals with a list whose head fails its check. The caller
 * clears the slot's first two words (the link and heap_key). */
static ALWAYS_INLINE void *small_pop(struct tbin *b)
{
    void *p = b->head;
    if (likely(p)) {
        if (unlikely(!tcache_slot_ok(p)))
            return NULL;
        /* Still allocated in its bitmap: nothing to set (tcache.h). */
        b->head = tcache_link(p);
        b->ncached--;
        return p;
    }
    uint64_t m = b->avail;
    if (likely(m)) {
        unsigned bit = (unsigned)__builtin_ctzll(m);
        b->avail = m & (m - 1);
        return small_take((void *)(b->wbase + (uintptr_t)bit * b->size), b->aword, bit);
    }
    return NULL;
}

/* A slot of class c, or with `size`, of class c or one a little larger
 * (*size says which). */
static ALWAYS_INLINE void *small_alloc(unsigned c, uint32_t *size)
{
    struct tcache *tc = tc_self;
    if (likely((uintptr_t)tc > (uintptr_t)TC_DEAD)) {
        struct tbin *b = &tc->bins[c];
        void *p = small_pop(b);
        if (likely(p)) {
            if (size)
                *size = b->size;
            return p;
        }
    }
    return small_alloc_slow(c, size);
}

#endif
