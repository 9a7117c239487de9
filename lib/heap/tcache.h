/* Per-thread caches. Each thread owns one current span per size class and
 * hands out its free slots without locks or atomics. Caches are registered
 * in a global list so the collector and fork can see every one of them. */
#ifndef RECLAIM_HEAP_TCACHE_H
#define RECLAIM_HEAP_TCACHE_H

#include "span.h"

struct tbin {
    uint64_t avail;        /* free slots of the current word, not yet handed out */
    uintptr_t wbase;       /* address of slot 0 of the current word */
    uint32_t size;
    uint32_t word;
    struct span *span;     /* current span, owned by this cache */
};

struct tcache {
    struct tbin bins[SC_COUNT];
    /* Set while this thread is inside an allocation slow or fast path; the
     * collector then treats the current words and `pending` as live. */
    volatile int in_alloc;
    volatile uintptr_t pending;
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

/* fork child: caches of threads that no longer exist give their spans back. */
void tcache_fork_child(void);

#endif
