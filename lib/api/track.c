/* The table of tracked blocks (see track.h): a chained hash keyed by block
 * start, records and weak handles carved from reclaim's own mappings, and
 * the two places the libc entry points hand tracked blocks to: free() and
 * realloc(). */
#include "track.h"

#include <errno.h>
#include <string.h>

#include "../heap/os.h"
#include "../util/error.h"
#include "api.h"

lock_t api_lock = LOCK_INIT;
atomic_int api_tracking;
atomic_size_t api_nretained;

static struct api_rec **buckets;
static size_t nbuckets, nrecs;          /* nbuckets: a power of two */
static struct api_rec *free_recs;

/* Records come from slabs mapped here rather than from meta_alloc: the
 * registry of reclaim's mappings is a fixed array, and a slab that does
 * not fit in it would be scanned as a root, so a program with a million
 * tracked blocks must not cost a thousand mappings. Slabs double in size
 * (64 KiB up to 64 MiB): a few dozen mappings at most, ever. */
#define API_SLAB_MIN (64u << 10)
#define API_SLAB_MAX (64u << 20)
static char *slab_cur, *slab_end;
static size_t slab_next = API_SLAB_MIN;

static void *slab_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if ((size_t)(slab_end - slab_cur) < size) {
        char *p = os_map(slab_next);
        if (!p)
            return NULL;
        slab_cur = p;
        slab_end = p + slab_next;
        if (slab_next < API_SLAB_MAX)
            slab_next *= 2;
    }
    void *r = slab_cur;
    slab_cur += size;
    return r;
}

static size_t hash(uintptr_t block, size_t n)
{
    /* Blocks are 16-byte aligned: drop the bits that never vary. */
    uint64_t h = (uint64_t)(block >> 4) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (n - 1);
}

/* Doubles the bucket array once the chains average two records. */
static int grow(void)
{
    size_t n = nbuckets ? nbuckets * 2 : 1024;
    struct api_rec **nb = os_map(n * sizeof *nb);
    if (!nb)
        return nbuckets ? 0 : -1;   /* longer chains still work */
    for (size_t i = 0; i < nbuckets; i++) {
        struct api_rec *r = buckets[i];
        while (r) {
            struct api_rec *next = r->next;
            size_t h = hash(r->block, n);
            r->next = nb[h];
            nb[h] = r;
            r = next;
        }
    }
    if (buckets)
        os_unmap(buckets, nbuckets * sizeof *buckets);
    buckets = nb;
    nbuckets = n;
    return 0;
}

struct api_rec *api_rec_find(uintptr_t block)
{
    if (!nbuckets)
        return NULL;
    for (struct api_rec *r = buckets[hash(block, nbuckets)]; r; r = r->next)
        if (r->block == block)
            return r;
    return NULL;
}

static void insert(struct api_rec *r)
{
    size_t h = hash(r->block, nbuckets);
    r->next = buckets[h];
    buckets[h] = r;
    nrecs++;
}

struct api_rec *api_rec_get(uintptr_t block)
{
    struct api_rec *r = api_rec_find(block);
    if (r)
        return r;
    if ((nrecs >= nbuckets * 2 || !nbuckets) && grow())
        return NULL;
    r = free_recs;
    if (r)
        free_recs = r->next;
    else if (!(r = slab_alloc(sizeof *r)))
        return NULL;
    memset(r, 0, sizeof *r);
    r->block = block;
    insert(r);
    atomic_store_explicit(&api_tracking, 1, memory_order_relaxed);
    return r;
}

void api_rec_unlink(struct api_rec *r)
{
    struct api_rec **pp = &buckets[hash(r->block, nbuckets)];
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    r->next = NULL;
    nrecs--;
}

void api_rec_move(struct api_rec *r, uintptr_t block)
{
    api_rec_unlink(r);
    r->block = block;
    insert(r);
    for (struct reclaim_weak *w = r->weak; w; w = w->next)
        atomic_store_explicit(&w->target, block, memory_order_release);
}

void api_rec_free(struct api_rec *r)
{
    r->block = 0;
    r->next = free_recs;
    free_recs = r;
}

void api_rec_drop_if_idle(struct api_rec *r)
{
    if (!r->refcount && !r->fn && !r->weak) {
        api_rec_unlink(r);
        api_rec_free(r);
    }
}

void api_rec_for_each(int (*fn)(struct api_rec *r, void *arg), void *arg)
{
    for (size_t i = 0; i < nbuckets; i++) {
        struct api_rec *r = buckets[i];
        while (r) {
            struct api_rec *next = r->next;
            fn(r, arg);
            r = next;
        }
    }
}

void api_weak_clear_all(struct api_rec *r)
{
    struct reclaim_weak *w = r->weak;
    while (w) {
        struct reclaim_weak *next = w->next;
        atomic_store_explicit(&w->target, 0, memory_order_release);
        w->rec = NULL;
        w->next = w->prev = NULL;
        w = next;
    }
    r->weak = NULL;
}

void api_rec_retire(struct api_rec *r, reclaim_finalizer_fn *fn, void **data)
{
    api_rec_unlink(r);
    if (r->refcount)
        atomic_fetch_sub_explicit(&api_nretained, 1, memory_order_relaxed);
    api_weak_clear_all(r);
    *fn = r->fn;
    *data = r->data;
    api_rec_free(r);
}

/* Weak handles come from the same slabs, recycled through their own list. */
static struct reclaim_weak *free_weak;

struct reclaim_weak *api_weak_alloc(void)
{
    struct reclaim_weak *w = free_weak;
    if (w)
        free_weak = w->next;
    else if (!(w = slab_alloc(sizeof *w)))
        return NULL;
    memset(w, 0, sizeof *w);
    return w;
}

void api_weak_recycle(struct reclaim_weak *w)
{
    w->magic = 0;
    w->rec = NULL;
    w->prev = NULL;
    w->next = free_weak;
    free_weak = w;
}

int api_check_start(const char *call, const void *p, struct heap_block *b)
{
    if (heap_find((uintptr_t)p, b)) {
        if (b->start == (uintptr_t)p)
            return 1;
        error_bad_pointer(call, p, "pointer into the middle of a block");
        return 0;
    }
    error_bad_pointer(call, p, heap_owns(p) ? "not an allocated block (freed?)"
                                            : "not a block reclaim allocated");
    return 0;
}

/* Whether p may have a record: a lookup under the lock is needed only for
 * blocks flagged finalizable or weakly referenced, or while some block is
 * retained (counts have no flag of their own). */
static int maybe_tracked(const struct heap_block *b)
{
    return atomic_load_explicit(&api_nretained, memory_order_relaxed) ||
           (heap_block_flags(b->start) & (BLOCK_FINAL | BLOCK_WEAK));
}

int api_free_tracked(void *p, const char *call)
{
    struct heap_block b;
    if (!heap_find((uintptr_t)p, &b) || b.start != (uintptr_t)p || !maybe_tracked(&b))
        return 0;
    lock_acquire(&api_lock);
    struct api_rec *r = api_rec_find(b.start);
    if (!r) {
        lock_release(&api_lock);
        return 0;
    }
    api_rec_finish(r, p, call);
    return 1;
}

void api_rec_finish(struct api_rec *r, void *p, const char *call)
{
    reclaim_finalizer_fn fn;
    void *data;
    api_rec_retire(r, &fn, &data);
    lock_release(&api_lock);
    /* p is in this frame, so the block stays allocated and intact (a root)
     * while its finalizer runs, even if a collection runs meanwhile. */
    if (fn)
        fn(p, data);
    heap_free(p, call);
}

int api_realloc_tracked(void *p, size_t n, const char *call, void **out)
{
    struct heap_block b;
    if (!heap_find((uintptr_t)p, &b) || b.start != (uintptr_t)p || !maybe_tracked(&b))
        return 0;
    lock_acquire(&api_lock);
    int tracked = api_rec_find(b.start) != NULL;
    lock_release(&api_lock);
    if (!tracked)
        return 0;
    if (n <= b.size) {
        /* Shrinking in place keeps the block where its record is. */
        *out = p;
        return 1;
    }
    /* Not under api_lock: an allocation can start a collection. */
    void *q = heap_alloc(n);
    if (!q) {
        errno = ENOMEM;
        *out = NULL;
        return 1;
    }
    memcpy(q, p, b.size);
    unsigned flags = heap_block_flags(b.start) & (BLOCK_FINAL | BLOCK_WEAK | BLOCK_NOSCAN);
    if (flags)
        heap_block_set_flags((uintptr_t)q, flags, 0);
    lock_acquire(&api_lock);
    struct api_rec *r = api_rec_find(b.start);
    if (r)
        api_rec_move(r, (uintptr_t)q);
    lock_release(&api_lock);
    heap_free(p, call);
    *out = q;
    return 1;
}

void api_fork_prepare(void) { lock_acquire(&api_lock); }
void api_fork_parent(void)  { lock_release(&api_lock); }
void api_fork_child(void)   { lock_release(&api_lock); }
