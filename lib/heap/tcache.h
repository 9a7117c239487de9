/* Per-thread caches. A thread owns the spans it takes: one current span
 * per size class from which it hands out slots without locks or atomics,
 * a private list of owned spans with free slots and one of full spans.
 * Caches are registered in a global list so the collector and fork can
 * see every one of them. */
#ifndef RECLAIM_HEAP_TCACHE_H
#define RECLAIM_HEAP_TCACHE_H

#include "span.h"

/* Free-slot array capacity: 32 slots for classes up to 1 KiB, at most
 * 32 KiB of them (on churn, 16 ran 8% slower and 64 held more memory for
 * no further gain), and 8 above, as every class had before. */
#define TC_CACHE 32
#define TC_CACHE_BIG 8
#define TC_BIG_CLASS 32   /* first class above 1 KiB */

static ALWAYS_INLINE unsigned tcache_limit(unsigned c)
{
    return c < TC_BIG_CLASS ? TC_CACHE : TC_CACHE_BIG;
}

/* Slots this thread freed, reused first (LIFO), in any thread's span.
 * Neither putting a slot here nor taking it back touches its span: the
 * bitmap keeps calling it allocated meanwhile. That is what makes free and
 * malloc cheap, and what the rest of the heap has to allow for:
 *  - free writes heap_key into the slot's second word (heap.h), so a
 *    second free of it is seen without the bitmap (and confirmed against
 *    the arrays); lookups outside a collection treat such slots as free;
 *  - a collection sets every cached slot aside as free for its duration
 *    (collect.h), so it neither marks, reports nor scans them;
 *  - entries at and above ncached are NULL. Storing a slot into the array
 *    is what makes it cached, and taking one out clears its entry before
 *    the count, so a collection that stops the thread at any instruction
 *    finds each slot either in an array or in the thread's registers. */
struct tbin {
    uint32_t ncached;
    uint32_t size;         /* slot size of the class */
    void *cached[TC_CACHE];
    uint64_t avail;        /* free slots of the current word, not yet handed out */
    uintptr_t wbase;       /* address of slot 0 of the current word */
    uint64_t *aword;       /* alloc word of the current word */
    uint32_t word;
    struct span *span;     /* current span */
    struct span *local;    /* owned spans with free slots */
    struct span *full;     /* owned spans without */
};

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

extern __thread struct tcache *tc_self __attribute__((tls_model("initial-exec")));

int  tcache_init(void);
/* The calling thread's cache, created on first use; the shared orphan
 * cache (with its lock taken: release with tcache_put) when the thread has
 * none any more. NULL only when metadata memory is exhausted. */
struct tcache *tcache_get(void);
void tcache_put(struct tcache *tc);

/* Every registered cache, in order; the caller holds the registry. */
void tcache_lock_all(void);
void tcache_unlock_all(void);
struct tcache *tcache_first(void);

/* Whether p (a slot of class c) waits in some thread's free-slot array.
 * Takes the registry lock unless the calling thread's own array has it. */
int tcache_holds(const void *p, unsigned c);
/* Calls fn for every slot waiting in any array (registry held, world
 * stopped: the collector). */
void tcache_for_each_cached(void (*fn)(void *p));

/* fork child: caches of threads that no longer exist give their spans back. */
void tcache_fork_child(void);

#endif
