/* The api floor's internal face: what the libc entry points (malloc.c)
 * and start-up (init.c) need from the explicit-control calls. Blocks the
 * program told reclaim about (retained, finalizable, weakly referenced)
 * need care when they are freed or moved; a program that never did pays
 * one predictable load per free(). */
#ifndef RECLAIM_API_API_H
#define RECLAIM_API_API_H

#include <stdatomic.h>
#include <stddef.h>

#include "../util/compiler.h"

/* Non-zero once any block has been retained, given a finalizer or a weak
 * reference. Never goes back to zero. */
extern atomic_int api_tracking;

static ALWAYS_INLINE int api_tracking_on(void)
{
    return unlikely(atomic_load_explicit(&api_tracking, memory_order_relaxed) != 0);
}

/* free() of p (inside the heap region) while api_tracking is on: when p
 * is a tracked block, runs its finalizer, clears its weak references,
 * drops its count, frees it and returns 1; otherwise returns 0 and the
 * caller frees as usual (misuse included). */
int api_free_tracked(void *p, const char *call);

/* realloc of p (inside the heap region, n > 0) while api_tracking is on:
 * when p is a tracked block, resizes it so that its count, finalizer and
 * weak references follow it to the new address, stores the result in *out
 * and returns 1; otherwise returns 0. */
int api_realloc_tracked(void *p, size_t n, const char *call, void **out);

/* Start-up (library constructor): registers the api floor's gc_client. */
void api_init(void);

/* fork: the api lock, taken after the collector's and before the heap's
 * (the order a collection takes them in). */
void api_fork_prepare(void);
void api_fork_parent(void);
void api_fork_child(void);

#endif
