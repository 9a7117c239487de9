/* Per-thread caches. A thread owns the spans it takes: one current span
 * per size class from which it hands out slots without locks or atomics,
 * a private list of owned spans with free slots and one of full spans.
 * Caches are registered in a global list so the collector and fork can
 * see every one of them. */
#ifndef RECLAIM_HEAP_TCACHE_H
#define RECLAIM_HEAP_TCACHE_H

#include "span.h"

#define TC_CACHE 8

struct tbin {
    uint32_t ncached;
    void *cached[TC_CACHE]; /* slots this thread freed, reused first (LIFO);
                               still marked allocated in their span; entries
                               at and past ncached are NULL */
    uint64_t avail;        /* free slots of the current word, not yet handed out */
    uintptr_t wbase;       /* address of slot 0 of the current word */
    uint32_t size;
    uint32_t word;
    struct span *span;     /* current span */
    struct span *local;    /* owned spans with free slots */
    struct span *full;     /* owned spans without */
};

struct tcache {
    struct tbin bins[SC_COUNT];
    /* Non-zero while this thread is inside malloc or free, and says what it
     * is doing (TC_BUSY_*), so that the collector keeps exactly the blocks
     * it may be handing out or putting back: the current word and cached
     * slots of that one class, or `pending`. */
    volatile int in_alloc;
    volatile uintptr_t pending;
    /* Owned spans that other threads (or the collector) freed into. */
    _Atomic(struct span *) remote;
    size_t count;          /* bytes handed out from bitmaps, not yet added to the global count */
    size_t freed;          /* bytes freed back to bitmaps, likewise */
    struct tcache *next, *prev;
    int orphan;            /* the shared cache of threads that have none */
};

#define TC_DEAD ((struct tcache *)1)

/* in_alloc values: allocating from class c, freeing into class c,
 * allocating a large block, or giving everything back (thread exit). A
 * thread busy with one class touches no other class's free-slot array. */
#define TC_BUSY_ALLOC(c) (1 + (int)(c))
#define TC_BUSY_FREE(c)  (0x100 + (int)(c))
#define TC_BUSY_LARGE    0x200
#define TC_BUSY_EXIT     0x300

/* The class a busy value is about, or -1 (large, exit, idle). */
static inline int tcache_busy_class(int busy)
{
    if (busy >= TC_BUSY_ALLOC(0) && busy < TC_BUSY_ALLOC(SC_COUNT))
        return busy - TC_BUSY_ALLOC(0);
    if (busy >= TC_BUSY_FREE(0) && busy < TC_BUSY_FREE(SC_COUNT))
        return busy - TC_BUSY_FREE(0);
    return -1;
}

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

/* Whether p sits in tc's free-slot array for class c (a freed block). */
static inline int tcache_holds(const struct tcache *tc, unsigned c, const void *p)
{
    const struct tbin *b = &tc->bins[c];
    unsigned hit = 0;
#pragma GCC unroll 8
    for (uint32_t i = 0; i < TC_CACHE; i++)
        hit |= b->cached[i] == p;
    return hit;
}

/* fork child: caches of threads that no longer exist give their spans back. */
void tcache_fork_child(void);

#endif
