/* The record of every block the program told reclaim about: its reference
 * count, its finalizer, the weak references that target it. One table for
 * all three, keyed by block start, so that freeing a block finds
 * everything about it in one lookup.
 *
 * All of it lives in reclaim's own memory (meta_alloc, os_map): never in
 * the heap, never scanned, so a record does not keep its block alive.
 *
 * api_lock guards the table, the due finalizers, the extra roots and the
 * callbacks. A collection takes it in its start hook, before the world
 * stops, and gives it back in its end hook: while threads are stopped, no
 * stopped thread can be half-way through changing any of this, and the
 * collector's hooks read and change it without taking a lock. Lock order:
 * the collector's lock, api_lock, the heap's locks. Never hold api_lock
 * while calling the program's code or allocating from the heap (an
 * allocation can start a collection, which takes api_lock). */
#ifndef RECLAIM_API_TRACK_H
#define RECLAIM_API_TRACK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "reclaim.h"

#include "../heap/heap.h"
#include "../util/lock.h"

#define API_WEAK_MAGIC 0x7765616bu   /* "weak": a handle in use */

/* The public handle, in reclaim's memory. target is read without the
 * lock (reclaim_weak_get); everything else changes under api_lock. */
struct reclaim_weak {
    _Atomic uintptr_t target;       /* 0 once cleared */
    struct api_rec *rec;            /* the target's record while target != 0 */
    struct reclaim_weak *next, *prev;   /* the record's handles; free list (next) */
    uint32_t magic;
};

struct api_rec {
    uintptr_t block;                /* start of the block */
    size_t refcount;
    reclaim_finalizer_fn fn;        /* NULL: none */
    void *data;
    struct reclaim_weak *weak;      /* handles targeting the block */
    struct api_rec *next;           /* hash chain, or the free list */
    /* Once found unreachable with a finalizer, the record leaves the table
     * for the due list until its finalizer has run. */
    struct api_rec *due_next, *due_prev, *run_next;
    unsigned char fresh;            /* due since this collection's marking */
    unsigned char claimed;          /* a thread is running its finalizer */
};

extern lock_t api_lock;
/* Records with a count above zero: while there are none, free() of a block
 * without BLOCK_FINAL or BLOCK_WEAK needs no lookup. */
extern atomic_size_t api_nretained;

/* All with api_lock held. */
struct api_rec *api_rec_find(uintptr_t block);
/* Finds or adds the record of block (turning api_tracking on); NULL when
 * reclaim's own memory is exhausted. */
struct api_rec *api_rec_get(uintptr_t block);
/* Takes r out of the table (it must be there) without freeing it. */
void api_rec_unlink(struct api_rec *r);
/* Moves r (in the table) to a new block address. */
void api_rec_move(struct api_rec *r, uintptr_t block);
void api_rec_free(struct api_rec *r);
/* Unlinks and frees r when nothing is left in it. */
void api_rec_drop_if_idle(struct api_rec *r);
/* Calls fn on every record in the table; fn returns 1 when it has taken r
 * out of the table itself (and may have freed it). */
void api_rec_for_each(int (*fn)(struct api_rec *r, void *arg), void *arg);
/* Weak handles: from reclaim's own memory, recycled. */
struct reclaim_weak *api_weak_alloc(void);
void api_weak_recycle(struct reclaim_weak *w);
/* Every handle targeting r's block reads NULL from now on. */
void api_weak_clear_all(struct api_rec *r);
/* The block is going away (release to zero, free): takes r out of the
 * table, clears its weak references, returns its finalizer in *fn and *data
 * and frees r. */
void api_rec_retire(struct api_rec *r, reclaim_finalizer_fn *fn, void **data);
/* The block p of r goes now: retires r, releases api_lock (held by the
 * caller), runs the finalizer if there was one, then frees p. */
void api_rec_finish(struct api_rec *r, void *p, const char *call);

/* 1 when p is the start of an allocated block (filled into *b);
 * otherwise reports the misuse as `call` and returns 0. */
int api_check_start(const char *call, const void *p, struct heap_block *b);

/* The due finalizers (finalize.c); api_lock held for all but the last. */
void api_final_make_due(struct api_rec *r);
void api_final_mark_due(void (*mark_block)(uintptr_t p));
void api_final_keep_fresh(void (*keep)(uintptr_t p));
struct api_rec *api_final_claim(void);
/* Runs the claimed finalizers (api_lock NOT held), then forgets them. */
void api_final_run(struct api_rec *run);

/* Extra roots (extra_roots.c), api_lock held. */
void api_roots_mark(void (*mark_range)(uintptr_t lo, uintptr_t hi));
/* Copies the registered ranges into out (pairs lo, hi) up to max ranges;
 * returns how many there are. */
size_t api_roots_copy(uintptr_t *out, size_t max);

/* Collection callbacks (events.c). */
void api_events_fire(int event, const reclaim_stats *stats);

/* START callbacks run while the collector holds its lock: a call that
 * needs that lock (statistics, enable/disable, threshold, a leak check)
 * would wait for itself. Set in the collecting thread while they run; such
 * calls then answer from api_last_stats, or are remembered and applied by
 * the end hook (client.c). */
extern __thread int api_in_start;
void api_last_stats(reclaim_stats *out);
void api_defer_enabled(int on);
void api_defer_threshold(size_t bytes);
/* The deferred values, when there are any: 1 and *out set, else 0. */
int  api_deferred_enabled(int *out);
int  api_deferred_threshold(size_t *out);

/* Stats conversion (control.c). */
struct gc_stats;
void api_stats_from(const struct gc_stats *s, reclaim_stats *out);

#endif
