/* Page allocator over the reserved region. Free runs sit in exact-size bins
 * (1..127 pages) plus one first-fit list for bigger runs; a freed span
 * merges with free neighbours found through the page map. Dirty free pages
 * are kept for reuse up to a bound and then handed back with madvise; runs
 * of a megabyte or more go back at once. */
#include "pages.h"

#include <string.h>

#include "../util/lock.h"

#define FREE_BINS   128
#define MAX_SPANS   (1u << 24)
#define COMMIT_STEP (32u << 20)
#define DIRTY_MAX   (8u << 20)
#define RETURN_NOW  256          /* pages: freed runs this big go back at once */
#define HUGE_HEAP   (64u << 20)  /* heap bytes past which new commits ask for huge pages */
#define HUGE_SPANS  (4u << 20)   /* likewise for the span descriptor array */

struct heap_region region;

static lock_t lock = LOCK_INIT;
static struct span *bins[FREE_BINS];
static uint64_t bin_mask[FREE_BINS / 64];
static size_t top;               /* pages handed out from the region so far */
static uint32_t span_hw = 1;     /* next never-used span id */
static size_t spans_committed;   /* bytes of the span array committed */
static struct span *span_pool;   /* recycled descriptors */
static size_t dirty_pages, used_pages, peak_pages;

int pages_init(void)
{
    for (size_t size = (size_t)1 << 40; size >= (size_t)1 << 30; size >>= 1) {
        void *base = os_reserve(size);
        if (!base)
            continue;
        void *pm = os_reserve((size >> PAGE_SHIFT) * sizeof(uint32_t));
        void *pi = os_reserve((size >> PAGE_SHIFT) * sizeof(uint16_t));
        void *sp = os_reserve((size_t)MAX_SPANS * sizeof(struct span));
        if (!pm || !pi || !sp)
            return -1;
        region.base = (uintptr_t)base;
        region.size = size;
        region.pagemap = pm;
        region.pageinfo = pi;
        region.spans = sp;
        return 0;
    }
    return -1;
}

static struct span *span_new(void)
{
    struct span *s = span_pool;
    if (s) {
        span_pool = s->next;
    } else {
        if (span_hw >= MAX_SPANS)
            return NULL;
        size_t need = (size_t)(span_hw + 1) * sizeof(struct span);
        if (need > spans_committed) {
            size_t step = 1u << 20;
            if (os_commit((char *)region.spans + spans_committed, step))
                return NULL;
            if (spans_committed >= HUGE_SPANS)
                os_hugepages((char *)region.spans + spans_committed, step);
            spans_committed += step;
        }
        s = &region.spans[span_hw];
        s->id = span_hw++;
    }
    uint32_t id = s->id;
    struct span_side *side = s->side;   /* kept for the next span here */
    memset(s, 0, sizeof *s);
    s->id = id;
    s->side = side;
    return s;
}

static void span_delete(struct span *s)
{
    s->kind = SPAN_NONE;
    s->next = span_pool;
    span_pool = s;
}

static unsigned bin_of(size_t npages)
{
    return npages < FREE_BINS ? (unsigned)npages : 0;
}

static void free_insert(struct span *s)
{
    unsigned b = bin_of(s->npages);
    s->kind = SPAN_FREE;
    s->listed = 1;
    s->prev = NULL;
    s->next = bins[b];
    if (bins[b])
        bins[b]->prev = s;
    bins[b] = s;
    bin_mask[b / 64] |= 1ull << (b % 64);
    size_t first = (s->start - region.base) >> PAGE_SHIFT;
    region.pagemap[first] = s->id;
    region.pagemap[first + s->npages - 1] = s->id;
    if (s->dirty)
        dirty_pages += s->npages;
}

static void free_remove(struct span *s)
{
    unsigned b = bin_of(s->npages);
    if (s->prev)
        s->prev->next = s->next;
    else
        bins[b] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (!bins[b])
        bin_mask[b / 64] &= ~(1ull << (b % 64));
    s->listed = 0;
    if (s->dirty)
        dirty_pages -= s->npages;
    size_t first = (s->start - region.base) >> PAGE_SHIFT;
    region.pagemap[first] = 0;
    region.pagemap[first + s->npages - 1] = 0;
}

/* The entry that gives free's fast path page i of SMALL span s. */
static uint16_t info_fast(const struct span *s, uint32_t i)
{
    return (uint16_t)((s->cls + 1u) | (i << 8));
}

void pages_set_info(struct span *s)
{
    uint16_t *pi = &region.pageinfo[(s->start - region.base) >> PAGE_SHIFT];
    int fast = s->kind == SPAN_SMALL && !__atomic_load_n(&s->side, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < s->npages; i++)
        __atomic_store_n(&pi[i], fast ? info_fast(s, i) : 0, __ATOMIC_RELAXED);
}

void pages_set_sparse(struct span *s, int sparse)
{
    uint16_t *pi = &region.pageinfo[(s->start - region.base) >> PAGE_SHIFT];
    for (uint32_t i = 0; i < s->npages; i++) {
        uint16_t fast = info_fast(s, i);
        uint16_t slow = (uint16_t)(PAGEINFO_SPARSE | (i << 8));
        uint16_t expect = sparse ? fast : slow;
        __atomic_compare_exchange_n(&pi[i], &expect, sparse ? slow : fast, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
}

void pages_map(struct span *s)
{
    uint32_t *pm = &region.pagemap[(s->start - region.base) >> PAGE_SHIFT];
    for (uint32_t i = 0; i < s->npages; i++)
        pm[i] = s->id;
    pages_set_info(s);
}

static struct span *find_free(size_t need)
{
    if (need < FREE_BINS) {
        for (unsigned w = (unsigned)need / 64; w < FREE_BINS / 64; w++) {
            uint64_t m = bin_mask[w];
            if (w == need / 64)
                m &= ~0ull << (need % 64);
            if (m)
                return bins[w * 64 + (unsigned)__builtin_ctzll(m)];
        }
    }
    for (struct span *s = bins[0]; s; s = s->next)
        if (s->npages >= need)
            return s;
    return NULL;
}

/* Commits the part of a per-page table (entry bytes each) that covers
 * region bytes [from, to). */
static int commit_table(void *table, size_t entry, size_t from, size_t to)
{
    size_t old = ((from >> PAGE_SHIFT) * entry + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    size_t new = ((to >> PAGE_SHIFT) * entry + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    return new > old ? os_commit((char *)table + old, new - old) : 0;
}

/* Pages at [top, top + n) of the region, committing more if needed. */
static int grow(size_t npages)
{
    size_t end = (top + npages) << PAGE_SHIFT;
    if (end > region.size || end < top)
        return -1;
    size_t limit = atomic_load_explicit(&region.limit, memory_order_relaxed);
    if (end > limit) {
        size_t nl = (end + COMMIT_STEP - 1) & ~(size_t)(COMMIT_STEP - 1);
        if (nl > region.size)
            nl = region.size;
        if (os_commit((void *)(region.base + limit), nl - limit))
            return -1;
        if (nl > HUGE_HEAP)
            os_hugepages((void *)(region.base + (limit > HUGE_HEAP ? limit : HUGE_HEAP)),
                         nl - (limit > HUGE_HEAP ? limit : HUGE_HEAP));
        if (commit_table(region.pagemap, sizeof(uint32_t), limit, nl) ||
            commit_table(region.pageinfo, sizeof(uint16_t), limit, nl))
            return -1;
        atomic_store_explicit(&region.limit, nl, memory_order_release);
    }
    return 0;
}

/* Splits the pages [start, start + n) off the front of free-pool span s
 * (already removed from its bin), returning the remainder to the pool. */
static struct span *carve(struct span *s, size_t n)
{
    if (s->npages > n) {
        struct span *rest = span_new();
        if (!rest) {
            free_insert(s);
            return NULL;
        }
        rest->start = s->start + (n << PAGE_SHIFT);
        rest->npages = (uint32_t)(s->npages - n);
        rest->dirty = s->dirty;
        free_insert(rest);
        s->npages = (uint32_t)n;
    }
    return s;
}

static struct span *alloc_locked(size_t npages, size_t align, int *clean)
{
    if (npages >= (1ull << 32) || align > (1u << 20))
        return NULL;
    size_t need = npages + align - 1;
    struct span *s = find_free(need);
    if (s) {
        free_remove(s);
    } else {
        size_t pad = ((region.base >> PAGE_SHIFT) + top) & (align - 1);
        pad = pad ? align - pad : 0;
        if (grow(pad + npages))
            return NULL;
        s = span_new();
        if (!s)
            return NULL;
        s->start = region.base + (top << PAGE_SHIFT);
        s->npages = (uint32_t)(pad + npages);
        s->dirty = 0;
        top += pad + npages;
    }
    size_t first = (s->start - region.base) >> PAGE_SHIFT;
    size_t mis = ((region.base >> PAGE_SHIFT) + first) & (align - 1);
    if (mis) {
        /* Give the unaligned front back and keep the aligned rest. */
        size_t lead = align - mis;
        struct span *front = s;
        s = span_new();
        if (!s) {
            free_insert(front);
            return NULL;
        }
        s->start = front->start + (lead << PAGE_SHIFT);
        s->npages = (uint32_t)(front->npages - lead);
        s->dirty = front->dirty;
        front->npages = (uint32_t)lead;
        free_insert(front);
    }
    s = carve(s, npages);
    if (!s)
        return NULL;
    *clean = !s->dirty;
    /* No longer FREE, whatever the descriptor said: the caller names its
     * pages in the page map before it says what the span is, and a
     * neighbour freed meanwhile must not take a FREE one to merge with. */
    s->kind = SPAN_NONE;
    s->dirty = 0;
    s->listed = 0;
    s->next = s->prev = NULL;
    used_pages += s->npages;
    if (used_pages > peak_pages)
        peak_pages = used_pages;
    return s;
}

struct span *pages_alloc(size_t npages, size_t align, int *clean)
{
    lock_acquire(&lock);
    struct span *s = alloc_locked(npages, align ? align : 1, clean);
    lock_release(&lock);
    return s;
}

static void purge_locked(void)
{
    for (unsigned b = 0; b < FREE_BINS; b++)
        for (struct span *s = bins[b]; s; s = s->next)
            if (s->dirty) {
                os_decommit((void *)s->start, (size_t)s->npages << PAGE_SHIFT);
                s->dirty = 0;
                dirty_pages -= s->npages;
            }
}

void pages_free_locked(struct span *s)
{
    size_t first = (s->start - region.base) >> PAGE_SHIFT;
    used_pages -= s->npages;
    memset(&region.pagemap[first], 0, (size_t)s->npages * sizeof(uint32_t));
    memset(&region.pageinfo[first], 0, (size_t)s->npages * sizeof(uint16_t));
    s->dirty = 1;
    s->owner = NULL;
    if (s->npages >= RETURN_NOW) {
        os_decommit((void *)s->start, (size_t)s->npages << PAGE_SHIFT);
        s->dirty = 0;
    }
    if (first > 0) {
        uint32_t lid = region.pagemap[first - 1];
        struct span *l = lid ? &region.spans[lid] : NULL;
        if (l && l->kind == SPAN_FREE) {
            free_remove(l);
            l->npages += s->npages;
            l->dirty |= s->dirty;
            span_delete(s);
            s = l;
        }
    }
    size_t next = ((s->start - region.base) >> PAGE_SHIFT) + s->npages;
    if (next < top) {
        uint32_t rid = region.pagemap[next];
        struct span *r = rid ? &region.spans[rid] : NULL;
        if (r && r->kind == SPAN_FREE) {
            free_remove(r);
            s->npages += r->npages;
            s->dirty |= r->dirty;
            span_delete(r);
        }
    }
    free_insert(s);
    if (dirty_pages > (DIRTY_MAX >> PAGE_SHIFT))
        purge_locked();
}

void pages_free(struct span *s)
{
    lock_acquire(&lock);
    pages_free_locked(s);
    lock_release(&lock);
}

void pages_purge(void)
{
    lock_acquire(&lock);
    purge_locked();
    lock_release(&lock);
}

void pages_lock(void)   { lock_acquire(&lock); }
void pages_unlock(void) { lock_release(&lock); }

size_t pages_in_use_bytes(void) { return used_pages << PAGE_SHIFT; }
size_t pages_peak_bytes(void) { return peak_pages << PAGE_SHIFT; }
uint32_t pages_span_limit(void) { return span_hw; }
