/* Per-thread caches. A thread owns the spans it takes: one current span
 * per size class from which it hands out slots without locks or atomics,
 * a private list of owned spans with free slots and one of full spans.
 * Caches are registered in a global list so the collector and fork can
 * see every one of them. */
#ifndef RECLAIM_HEAP_TCACHE_H
#define RECLAIM_HEAP_TCACHE_H

#include "span.h"

/* Free-list length limit: for classes up to 1 KiB, as many slots as fit
 * in 32 KiB, at most 128 (so 128 down to 32), and 8 above. A list that
 * runs empty or full costs a slow path touching span descriptors, and on
 * churn a list's length wanders like a random walk: with 32 for every
 * class churn ran at 0.60x glibc's time, with this at 0.55x. 128 for every
 * class held more memory (1.2x glibc's peak) for little more. A free that
 * finds the list full gives half of it back to the bitmaps at once, so
 * that freeing many blocks in a row (a whole tree) costs one slow path per
 * half list, not per block. */
#define TC_BYTES (32u << 10)
#define TC_CACHE_MAX 128
#define TC_CACHE_BIG 8
#define TC_BIG_CLASS 32   /* first class above 1 KiB */

static ALWAYS_INLINE unsigned tcache_limit(unsigned c)
{
    if (c >= TC_BIG_CLASS)
        return TC_CACHE_BIG;
    unsigned n = TC_BYTES / sizeclasses[c].size;
    return n < TC_CACHE_MAX ? n : TC_CACHE_MAX;
}

/* Slots this thread freed, reused first (LIFO), in any thread's span: a
 * list linked through the slots' first words, as in glibc's tcache.
 * Neither putting a slot here nor taking it back touches its span: the
 * bitmap keeps calling it allocated meanwhile. That is what makes free and
 * malloc cheap, and what the rest of the heap has to allow for:
 *  - free writes heap_key into the slot's second word, so a second free of
 *    it is seen without the bitmap; lookups outside a collection treat
 *    such slots as free; malloc clears both words;
 *  - a collection sets every listed slot aside as free for its duration
 *    (collect.h), so it neither marks, reports nor scans them;
 *  - a slot's link is written before the head points at it, and the head
 *    moves past a slot before it is handed out, so a collection that stops
 *    the thread at any instruction finds each slot either on the list or
 *    in the thread's registers;
 *  - the links live in memory the program may still write through a
 *    dangling pointer: every slot is checked (tcache_slot_ok) before its
 *    link is followed, and a list that fails the check is dropped, never
 *    followed into a wild address. */
struct tbin {
    void *head;            /* newest free slot, or NULL */
    uint16_t ncached;      /* slots on the list */
    uint16_t limit;        /* tcache_limit of the class */
    uint16_t size;         /* slot size of the class */
    uint8_t lender;        /* class lending to this one in malloc's fast path (small.c: borrow), or 0 */
    uint64_t avail;        /* free slots of the current word, not yet handed out */
    uintptr_t wbase;       /* address of slot 0 of the current word */
    uint64_t *aword;       /* alloc word of the current word */
    struct span *span;     /* current span */
    struct span *local;    /* owned spans with free slots */
    struct span *full;     /* owned spans without */
};
/* One cache line: malloc and free each touch one bin. */
_Static_assert(sizeof(struct tbin) == 64, "struct tbin is one cache line");
_Static_assert(SC_MAX_SIZE <= UINT16_MAX && TC_CACHE_MAX <= UINT16_MAX && SC_COUNT <= 256,
               "struct tbin's narrow fields");

struct tcache {
    struct tbin bins[SC_COUNT];
    /* Owned spans that other threads (or the collector) freed into. */
    _Atomic(struct span *) remote;
    size_t count;          /* bytes handed out from bitmaps, not yet added to the global count */
    size_t freed;          /* bytes freed back to bitmaps, likewise */
    struct tcache *next, *prev;
    int orphan;            /* the shared cache of threads that have none */
};

#define TC_DEAD ((struct tcache *)1)

/* Written into the second word of every slot on a free list (heap.c):
 * odd, so never a block's address, and random per process. */
extern uint64_t heap_key;

/* Marks the slot p as freed: free does, before it lists p. */
static ALWAYS_INLINE void tcache_mark(void *p)
{
    ((uint64_t *)p)[1] = heap_key;
}

/* Whether the allocated slot p is one waiting on a free list, or freed
 * from one into the bitmap (outside a collection, when listed slots look
 * allocated in the bitmap). Only a program storing heap_key's value there
 * could fool it; a second free of such a slot is reported. */
static ALWAYS_INLINE int tcache_marked(const void *p)
{
    return ((const uint64_t *)p)[1] == heap_key;
}

/* Whether p can be a slot a free put on a list: 16-byte aligned inside
 * the region's committed part (so reading it cannot fault) and marked
 * with heap_key. False when the program wrote into the slot after freeing
 * it, or into the slot before it, whose link led here. */
static ALWAYS_INLINE int tcache_slot_ok(const void *p)
{
    uintptr_t off = (uintptr_t)p - region.base;
    return off < atomic_load_explicit(&region.limit, memory_order_relaxed) && !(off & 15) &&
           tcache_marked(p);
}

static ALWAYS_INLINE void *tcache_link(const void *p)
{
    return ((void *const *)p)[0];
}

extern __thread struct tcache *tc_self __attribute__((tls_model("initial-exec")));

int  tcache_init(void);
/* The calling thread's cache, created on first use; the shared orphan
 * cache (with its lock taken: release with tcache_put) when the thread has
 * none any more. NULL only when metadata memory is exhausted. */
struct tcache *tcache_get(void);
void tcache_put(struct tcache *tc);

/* The orphan cache's lock and the registry of caches (fork, collector). */
void tcache_lock_all(void);
void tcache_unlock_all(void);

/* Calls fn for every slot waiting on any free list, as far as each list
 * passes tcache_slot_ok (registry held, world stopped: the collector). */
void tcache_for_each_cached(void (*fn)(void *p));

/* fork child: caches of threads that no longer exist give their spans back. */
void tcache_fork_child(void);

#endif
