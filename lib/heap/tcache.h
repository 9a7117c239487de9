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

struct tbin {
    uint32_t ncached;
    /* Slots this thread freed, reused first (LIFO). Their alloc bits are
     * already clear, so a second free of one is caught by the bitmap like
     * any double free, and the collector sees them as the free slots they
     * are. Only this thread hands them out: a refill reads the bitmap only
     * when the array is empty. Each entry keeps the alloc word and bit to
     * set again, so taking one back needs no page-map lookup. */
    uint8_t cbit[TC_CACHE];
    void *cached[TC_CACHE];
    uint64_t *cword[TC_CACHE];
    uint64_t avail;        /* free slots of the current word, not yet handed out */
    uintptr_t wbase;       /* address of slot 0 of the current word */
    uint64_t *aword;       /* alloc word of the current word */
    uint32_t size;
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

/* How many of the bin's cached slots lie in s (their alloc words lie in
 * s's descriptor). */
static inline unsigned tcache_cached_in(const struct tbin *b, const struct span *s)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < b->ncached; i++)
        n += (const char *)b->cword[i] >= (const char *)s &&
             (const char *)b->cword[i] < (const char *)(s + 1);
    return n;
}

/* fork child: caches of threads that no longer exist give their spans back. */
void tcache_fork_child(void);

#endif
