/* The heap entry points below the libc names: start-up, large blocks,
 * aligned requests, realloc, the O(1) block lookup and the allocation
 * counter that drives automatic collection. */
#include "heap.h"

#include <errno.h>
#include <string.h>
#include <sys/auxv.h>

#include "../util/error.h"
#include "../util/lock.h"
#include "pages.h"
#include "side.h"

static _Atomic int state;          /* 0 new, 1 initialising, 2 ready, -1 failed */
static _Atomic size_t alloc_count, free_count;
static size_t trigger_count = SIZE_MAX, trigger_net = SIZE_MAX;
static void (*trigger_fn)(void);

/* Odd, so never the start of a block; random per process (the kernel's
 * AT_RANDOM bytes), so no program writes it by chance. */
uint64_t heap_key = 0x9e3779b97f4a7c15ull;

static void key_init(void)
{
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    uint64_t k;
    if (r) {
        memcpy(&k, r + 8, sizeof k);
        heap_key ^= k;
    }
    heap_key |= 1;
}

int heap_init(void)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (likely(s == 2))
        return 0;
    int expect = 0;
    if (atomic_compare_exchange_strong(&state, &expect, 1)) {
        key_init();
        int ok = pages_init() == 0;
        if (ok)
            ok = tcache_init() == 0;
        atomic_store_explicit(&state, ok ? 2 : -1, memory_order_release);
        return ok ? 0 : -1;
    }
    while ((s = atomic_load_explicit(&state, memory_order_acquire)) == 1)
        cpu_relax();
    return s == 2 ? 0 : -1;
}

void heap_set_trigger(size_t count_threshold, size_t net_threshold, void (*fn)(void))
{
    trigger_fn = fn;
    trigger_count = count_threshold ? count_threshold : SIZE_MAX;
    trigger_net = net_threshold ? net_threshold : SIZE_MAX;
}

size_t heap_count(void) { return atomic_load_explicit(&alloc_count, memory_order_relaxed); }
void heap_reset_count(void)
{
    atomic_store_explicit(&alloc_count, 0, memory_order_relaxed);
    atomic_store_explicit(&free_count, 0, memory_order_relaxed);
}

void heap_count_free(size_t bytes)
{
    atomic_fetch_add_explicit(&free_count, bytes, memory_order_relaxed);
}

#define COUNT_FLUSH (64u << 10)

void heap_note_free(struct tcache *tc, size_t bytes)
{
    tc->freed += bytes;
    if (unlikely(tc->freed >= COUNT_FLUSH)) {
        heap_count_free(tc->freed);
        tc->freed = 0;
    }
}

void heap_count_alloc(size_t bytes)
{
    atomic_fetch_add_explicit(&alloc_count, bytes, memory_order_relaxed);
}

void heap_maybe_collect(void)
{
    size_t a = atomic_load_explicit(&alloc_count, memory_order_relaxed);
    size_t f = atomic_load_explicit(&free_count, memory_order_relaxed);
    if (unlikely(a >= trigger_count || (a > f && a - f >= trigger_net)) && trigger_fn)
        trigger_fn();
}

static void *large_alloc(size_t n, size_t align, int zero)
{
    heap_maybe_collect();
    if (n >= region.size) {
        errno = ENOMEM;
        return NULL;
    }
    size_t npages = (n + 1 + OS_PAGE - 1) >> PAGE_SHIFT;
    size_t align_pages = align > OS_PAGE ? align >> PAGE_SHIFT : 1;
    int clean;
    struct span *s = pages_alloc(npages, align_pages, &clean);
    void *p = NULL;
    if (s) {
        /* As for small blocks (small_take): the address is in a register
         * before the block can be found allocated, and stays there (or in
         * this frame) until it is returned, so a collection that stops the
         * thread in between keeps it. */
        p = (void *)s->start;
        __asm__ __volatile__("" : "+r"(p) : : "memory");
        /* A collection may stop this thread between any two of these
         * stores. The sweep frees a span it finds LARGE and allocated;
         * the marker finds a block through the page map. So the page map
         * names the span before its kind says LARGE, or a sweep could free
         * a block the marker cannot find from the register holding it.
         * (Meanwhile the kind is NONE, as pages_alloc left it.) */
        s->size = (uint32_t)(npages << PAGE_SHIFT);
        s->nslots = 1;
        s->nwords = 1;
        s->magic = 0;
        s->bits[0].alloc = 1;
        atomic_store_explicit(&s->bits[0].remote, 0, memory_order_relaxed);
        s->bits[0].mark = 0;
        heap_side_reset(s);
        pages_map(s);
        __asm__ __volatile__("" : : : "memory");
        s->kind = SPAN_LARGE;
        heap_count_alloc(npages << PAGE_SHIFT);
    } else {
        errno = ENOMEM;
    }
    __asm__ __volatile__("" : : "r"(p) : "memory");
    /* Reused pages: calloc's promise, or at least no stale pointers in the
     * tail the program will not write (see heap_clear_tail). */
    if (p && !clean) {
        size_t from = zero ? 0 : (n & ~(sizeof(uintptr_t) - 1));
        memset((char *)p + from, 0, (npages << PAGE_SHIFT) - from);
    }
    return p;
}

static size_t large_size(const struct span *s)
{
    return (size_t)s->npages << PAGE_SHIFT;
}

void *heap_alloc_slow(size_t n)
{
    if (unlikely(heap_init())) {
        errno = ENOMEM;
        return NULL;
    }
    if (n < SC_MAX_SIZE) {
        uint32_t size;
        void *p = small_alloc(sizeclass_of(n + 1), &size);
        if (p)
            heap_clear_tail(p, n, size);
        return p;
    }
    return large_alloc(n, 1, 0);
}

void *heap_calloc(size_t n)
{
    if (unlikely(heap_init())) {
        errno = ENOMEM;
        return NULL;
    }
    if (n < SC_MAX_SIZE) {
        uint32_t size;
        void *p = small_alloc(sizeclass_of(n + 1), &size);
        if (p)
            memset(p, 0, size);
        return p;
    }
    return large_alloc(n, 1, 1);
}

void *heap_memalign(size_t align, size_t n)
{
    if (unlikely(heap_init())) {
        errno = ENOMEM;
        return NULL;
    }
    if (align <= 16)
        return heap_alloc(n);
    if (n < SC_MAX_SIZE && align <= OS_PAGE) {
        size_t want = n + 1 > align ? n + 1 : align;
        for (unsigned c = sizeclass_of(want); c < SC_COUNT; c++) {
            if (sizeclasses[c].size % align == 0) {
                void *p = small_alloc(c, NULL);
                if (p)
                    heap_clear_tail(p, n, sizeclasses[c].size);
                return p;
            }
        }
    }
    if (n > SIZE_MAX - align) {
        errno = ENOMEM;
        return NULL;
    }
    return large_alloc(n, align, 0);
}

/* Checks that p is the start of an allocated block and returns its span
 * (slot in *slot), or reports the misuse and returns NULL. */
static struct span *checked(const void *p, const char *call, uint32_t *slot)
{
    uintptr_t a = (uintptr_t)p;
    struct span *s = span_of(a);
    if (s && s->kind == SPAN_SMALL) {
        uint32_t i = span_slot(s, a);
        uintptr_t start = s->start + (uintptr_t)i * s->size;
        if (i < s->nslots && start == a) {
            *slot = i;
            return s;
        }
        if (i < s->nslots)
            error_bad_pointer(call, p, "pointer into the middle of a block");
        else
            error_bad_pointer(call, p, "not a block reclaim allocated");
        return NULL;
    }
    if (s && s->kind == SPAN_LARGE) {
        if (a == s->start) {
            *slot = 0;
            return s;
        }
        error_bad_pointer(call, p, "pointer into the middle of a block");
        return NULL;
    }
    /* Inside the region but in no span: freed pages (a large block freed
     * before) or never handed out. */
    error_bad_pointer(call, p, s || a - region.base < region.limit ? error_freed_reason(call)
                                                                   : "not a block reclaim allocated");
    return NULL;
}

void heap_free(void *p, const char *call)
{
    uint32_t slot;
    struct span *s = checked(p, call, &slot);
    if (!s)
        return;
    if (s->kind == SPAN_SMALL) {
        small_free(s, slot, p, call);
        return;
    }
    heap_count_free((size_t)s->npages << PAGE_SHIFT);
    /* Atomic, so that two threads freeing the same large block cannot
     * both get through to pages_free. */
    if (!(__atomic_exchange_n(&s->bits[0].alloc, 0, __ATOMIC_ACQ_REL) & 1)) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return;
    }
    if (s->side)
        s->side->flags[0] = 0;
    pages_free(s);
}

static int slot_allocated(const struct span *s, uint32_t slot)
{
    return (int)((span_live_bits(&s->bits[slot >> 6]) >> (slot & 63)) & 1);
}

/* Allocated for the program: in the bitmap, and not waiting on a free
 * list (which the bitmap still counts). */
static int block_allocated(const struct span *s, uint32_t slot)
{
    if (!slot_allocated(s, slot))
        return 0;
    return s->kind != SPAN_SMALL || !tcache_marked((void *)(s->start + (uintptr_t)slot * s->size));
}

size_t heap_usable_size(const void *p, const char *call)
{
    uint32_t slot;
    struct span *s = checked(p, call, &slot);
    if (!s)
        return 0;
    if (!block_allocated(s, slot)) {
        error_bad_pointer(call, p, error_freed_reason(call));
        return 0;
    }
    return (s->kind == SPAN_SMALL ? s->size : large_size(s)) - 1;
}

void *heap_realloc(void *p, size_t n, const char *call)
{
    uint32_t slot;
    struct span *s = checked(p, call, &slot);
    if (!s || !block_allocated(s, slot)) {
        if (s)
            error_bad_pointer(call, p, error_freed_reason(call));
        errno = EINVAL;
        return NULL;
    }
    size_t old = (s->kind == SPAN_SMALL ? s->size : large_size(s)) - 1;
    /* Keep the block when the new size fits and wastes less than half. */
    if (n <= old && n >= old / 2)
        return p;
    void *q = heap_alloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, n < old ? n : old);
    /* A block that holds no pointers still holds none after a move. */
    if (s->side && (s->side->flags[slot] & BLOCK_NOSCAN))
        heap_block_set_flags((uintptr_t)q, BLOCK_NOSCAN, 0);
    /* A growing vector keeps its spare capacity unwritten: stale words
     * there would be taken for pointers. */
    if (n > old)
        memset((char *)q + old, 0, n - old);
    heap_free(p, call);
    return q;
}

int heap_find(uintptr_t w, struct heap_block *out)
{
    struct span *s = span_of(w);
    if (!s)
        return 0;
    if (s->kind == SPAN_SMALL) {
        uint32_t i = span_slot(s, w);
        if (i >= s->nslots || !block_allocated(s, i))
            return 0;
        out->start = s->start + (uintptr_t)i * s->size;
        out->size = s->size - 1;
        out->span = s;
        out->slot = i;
        return 1;
    }
    if (s->kind == SPAN_LARGE && slot_allocated(s, 0)) {
        out->start = s->start;
        out->size = large_size(s) - 1;
        out->span = s;
        out->slot = 0;
        return 1;
    }
    return 0;
}

void heap_lock_all(void)
{
    tcache_lock_all();
    small_lock_all();
    pages_lock();
    os_lock_all();
}

void heap_unlock_all(void)
{
    os_unlock_all();
    pages_unlock();
    small_unlock_all();
    tcache_unlock_all();
}

void heap_fork_child(void)
{
    tcache_fork_child();
    heap_unlock_all();
}
