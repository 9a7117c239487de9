/* A small futex-free spinlock-with-yield for the allocator's slow paths.
 * It never allocates, is usable before libc is fully initialised, and can
 * be force-reset in a fork child (where the holder may have vanished). */
#ifndef RECLAIM_UTIL_LOCK_H
#define RECLAIM_UTIL_LOCK_H

#include <sched.h>
#include <stdatomic.h>

#include "compiler.h"

typedef struct { atomic_int v; } lock_t;
#define LOCK_INIT { 0 }

static inline void lock_acquire(lock_t *l)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(&l->v, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
        if (spins > 64)
            sched_yield();
        else
            cpu_relax();
    }
}

static inline int lock_try(lock_t *l)
{
    return !atomic_load_explicit(&l->v, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->v, 1, memory_order_acquire);
}

static inline void lock_release(lock_t *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

static inline void lock_reset(lock_t *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}

#endif
