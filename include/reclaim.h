/* reclaim: a conservative garbage collector and leak checker for C.
 *
 * Linking with -lreclaim (or LD_PRELOAD=libreclaim.so) replaces malloc,
 * free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc, malloc_usable_size, free_sized and
 * free_aligned_sized. Every block they return is collectable: once no
 * root (thread stack or register, global, thread-local storage, any
 * writable mapping the program made) reaches it, a collection frees it.
 *
 * The calls below give a program explicit control: running and tuning
 * collections, reference-count-style ownership (retain/release) that frees
 * at once, finalizers, weak references, extra roots and a look inside the
 * heap. The full description is in reclaim(3). Every call is thread-safe.
 *
 * A program that only preloads the library can look these names up with
 * dlsym(RTLD_DEFAULT, "reclaim_collect") and so on. */
#ifndef RECLAIM_H
#define RECLAIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RECLAIM_VERSION "0.1.0"

/* ---- allocation: the same heap as malloc; both kinds are collectable ---- */

/* size bytes, zero-filled (NULL and errno ENOMEM when memory is exhausted).
 * Free it with free(), reclaim_release() or by dropping every pointer. */
void  *reclaim_malloc(size_t size);
/* size bytes, not zeroed, for data that holds no pointers (strings,
 * pixels, numbers): the collector never scans it, so it is cheaper to
 * keep and a word in it that looks like a pointer keeps nothing alive.
 * A pointer stored only in such a block does NOT keep its target. */
void  *reclaim_malloc_atomic(size_t size);

/* ---- collection control ---- */

/* A full collection now, in every mode (RECLAIM_MODE=leaks included, where
 * nothing is collected automatically). The finalizers it finds due have
 * run when it returns. Returns the number of blocks reclaimed (0 too when
 * another thread was collecting at that moment). */
size_t reclaim_collect(void);
/* Automatic collection on (the default in collect mode) or off. While it
 * is off, the heap only grows; reclaim_collect() still collects. */
void   reclaim_enable(void);
void   reclaim_disable(void);
int    reclaim_is_enabled(void);
/* Collect automatically once the allocated bytes have grown by this much
 * (bytes handed out less bytes freed) since the last collection; 0 goes
 * back to the adaptive default (a percentage of the live heap,
 * RECLAIM_GROWTH, never below RECLAIM_MIN_HEAP). */
void   reclaim_set_threshold(size_t bytes);
/* The fixed threshold, or 0 when the adaptive default is in force. */
size_t reclaim_get_threshold(void);
/* Bytes handed out since the last collection (whole slots; each thread
 * adds its share in steps of 64 KiB; a block recycled through the
 * thread's small cache of freed blocks is not counted again). */
size_t reclaim_get_count(void);

/* ---- reference counts ---- */

/* Count + 1 on the block that p starts; returns p. While its count is
 * above zero the block is a root: it and everything it reaches stay
 * allocated even if no pointer to it can be seen (stored XOR-ed, in a
 * file, in the kernel). NULL is returned unchanged. A p that is not the
 * start of an allocated block is misuse (one line on stderr, then abort
 * unless RECLAIM_ON_ERROR=warn). */
void  *reclaim_retain(void *p);
/* Count - 1; returns the new count. When it reaches 0 the block's
 * finalizer (if any) runs and the block is freed at once, in this call.
 * Releasing a block whose count is already 0 is misuse. NULL: returns 0. */
int    reclaim_release(void *p);
/* The count of the block containing p; 0 for a block never retained and
 * for anything that is not a block. */
size_t reclaim_refcount(const void *p);

/* ---- finalizers and weak references ---- */

typedef void (*reclaim_finalizer_fn)(void *block, void *data);
/* Registers fn(p, data) to run once, before p's memory is reused, however
 * the block goes: found unreachable by a collection, released to zero, or
 * freed (free, realloc(p, 0)). It runs after the world is resumed, in the
 * thread that ran the collection (for an automatic collection, the thread
 * whose allocation triggered it). The block and everything it reaches
 * stay intact until fn has run; if fn stores p where it can be reached
 * again, the block lives on. Replaces an earlier finalizer; fn NULL
 * removes it. Returns 0, or -1 (errno ENOMEM) when reclaim's own memory
 * is exhausted. p must be the start of an allocated block (misuse
 * otherwise; returns -1). */
int    reclaim_set_finalizer(void *p, reclaim_finalizer_fn fn, void *data);

typedef struct reclaim_weak reclaim_weak;
/* A weak reference to the block target starts: it does not keep the
 * block alive, wherever the program keeps the handle. NULL (errno ENOMEM)
 * when memory is exhausted, or (misuse) when target is not the start of
 * an allocated block. Free it with reclaim_weak_free(). */
reclaim_weak *reclaim_weak_new(void *target);
/* The target, or NULL from the moment a collection found it unreachable
 * (before its finalizer runs), or once it was freed or released. A target
 * returned stays allocated while the caller holds the pointer. */
void  *reclaim_weak_get(const reclaim_weak *w);
/* Frees the handle (not the target). NULL is ignored. */
void   reclaim_weak_free(reclaim_weak *w);

/* ---- roots the scanner cannot see ---- */

/* Adds [start, start+len) to the roots: every pointer-sized, aligned word
 * in it keeps what it points to. For memory reclaim does not scan by
 * itself: a reclaim_malloc_atomic block, or memory that is not a writable
 * mapping. The range must stay readable while registered. */
void   reclaim_add_roots(void *start, size_t len);
/* Removes [start, start+len) from the registered roots (ranges that
 * overlap it are cut; ranges never added are ignored). */
void   reclaim_remove_roots(void *start, size_t len);

/* ---- introspection ---- */

typedef struct reclaim_stats {
    size_t collections;                 /* collections run so far */
    size_t live_blocks, live_bytes;     /* found by the last collection */
    size_t heap_bytes;                  /* pages the heap uses now */
    size_t reclaimed_blocks, reclaimed_bytes;   /* by every collection */
    unsigned long long pause_ns_total, pause_ns_max;   /* world stopped */
    /* more fields may follow in a later version */
} reclaim_stats;
/* Figures as of the last collection (live_*), and running totals. */
void   reclaim_get_stats(reclaim_stats *out);

/* Calls fn(block, usable size, data) for every allocated block (garbage
 * not collected yet included: call reclaim_collect() first for live ones
 * only); stops when fn returns non-zero. fn may allocate and free; blocks
 * allocated meanwhile may or may not be visited, blocks freed meanwhile are
 * not. Returns the number of blocks visited. */
size_t reclaim_for_each_block(int (*fn)(void *block, size_t size, void *data), void *data);
/* The start of the allocated block containing p (or whose end p is one
 * past), or NULL when p is not inside an allocated block. */
void  *reclaim_block_start(const void *p);
/* The usable size of that block, or 0. */
size_t reclaim_block_size(const void *p);
/* The blocks holding a pointer into p's block (p may point anywhere in
 * it): stores up to max of their starts in out and returns how many there
 * are. Roots (stacks, globals) are not blocks and are not counted;
 * reclaim_malloc_atomic blocks are not scanned. 0 when p is not a block. */
size_t reclaim_referrers(const void *p, void **out, size_t max);
/* Writes to fd, one line per hop, a chain of pointers from a root (thread
 * stack, global variable, mapping, retained block, registered range) to
 * p's block. Returns 1 when a chain was found, 0 when the block is not
 * reachable, -1 (and a line saying so) when p is not in a block. */
int    reclaim_explain(const void *p, int fd);
/* A leak report now, in the text format of `reclaim leaks`: every block
 * no root reaches, grouped by allocation stack (recorded in leaks mode).
 * Nothing is freed. Returns the number of lost blocks, or (size_t)-1 when
 * no check could be made. */
size_t reclaim_report_leaks(int fd);

#define RECLAIM_EVENT_START 1
#define RECLAIM_EVENT_END   2
typedef void (*reclaim_event_fn)(int event, const reclaim_stats *stats, void *data);
/* fn(RECLAIM_EVENT_START, stats, data) before each collection (stats as
 * of the previous one) and fn(RECLAIM_EVENT_END, stats, data) after it
 * and its finalizers, in the collecting thread. Several callbacks may be
 * registered (NULL is ignored); they run in registration order and cannot
 * be removed. fn may allocate and call any reclaim_* function. During
 * START a collection is under way: reclaim_collect returns 0 at once,
 * reclaim_report_leaks returns (size_t)-1, reclaim_get_stats gives the
 * figures passed to fn, and enable/disable/set_threshold take effect
 * when this collection ends. */
void   reclaim_on_collect(reclaim_event_fn fn, void *data);

#ifdef __cplusplus
}
#endif

#endif
