/* The marker. Every aligned word of a root or of a reached block is a
 * candidate; heap_mark_word() classifies it in O(1) through the block
 * table and sets its mark bit. Reached blocks go on an explicit stack in
 * reclaim's own memory (os_map, never the heap). When the stack cannot
 * grow, marking carries on dropping entries and records an overflow; the
 * overflow is then repaired by re-scanning every marked block until no
 * entry is dropped, so a lost list of millions of nodes needs no depth.
 *
 * A block's memory is prefetched when it is pushed: in a random graph the
 * scan is bound by memory latency, and a pushed block is usually scanned
 * only after a few others, by which time its lines have arrived. */
#include "mark.h"

#include "../heap/collect.h"
#include "../heap/os.h"
#include "../util/compiler.h"

struct item { uintptr_t lo, hi; };

static struct item *stack;
static size_t top, cap;
static int overflowed;

/* Stacks outgrown during a collection. They are unmapped only when the
 * next marking begins: roots are walked from a /proc/self/maps snapshot
 * while marking runs, and unmapping a stack the kernel had merged with a
 * neighbouring mapping would shrink that mapping under the walk (a crash
 * seen in perl). Mapping new memory never shrinks anything. */
#define RETIRED_MAX 32
static struct { void *p; size_t len; } retired[RETIRED_MAX];
static unsigned nretired;

#define INITIAL_CAP ((size_t)1 << 16)
#define MAX_CAP     ((size_t)1 << 27)

void mark_init(void)
{
    if (!stack && (stack = os_map(INITIAL_CAP * sizeof *stack)))
        cap = INITIAL_CAP;
}

/* Runs during a collection, with the os locks held by the collector. */
static NOINLINE void grow(void)
{
    size_t ncap = cap ? cap * 2 : INITIAL_CAP;
    struct item *n = ncap <= MAX_CAP ? os_map_locked(ncap * sizeof *n) : NULL;
    if (!n) {
        overflowed = 1;
        return;
    }
    for (size_t i = 0; i < top; i++)
        n[i] = stack[i];
    if (stack && nretired < RETIRED_MAX) {
        retired[nretired].p = stack;
        retired[nretired].len = cap * sizeof *stack;
        nretired++;
    }
    stack = n;
    cap = ncap;
}

static ALWAYS_INLINE void push(uintptr_t start, size_t size)
{
    if (unlikely(top == cap)) {
        grow();
        if (top == cap)
            return;   /* dropped: repaired by the overflow re-scan */
    }
    /* Both ends: a small block often straddles two cache lines. */
    __builtin_prefetch((const void *)start);
    __builtin_prefetch((const void *)(start + size - 1));
    stack[top].lo = start;
    stack[top].hi = start + size + 1;
    top++;
}

/* The marker is a small software pipeline, because marking a random
 * graph is bound by memory latency: a candidate word waits in a ring while
 * its span descriptor is prefetched, and a reached block waits in a FIFO
 * (after the stack) while its contents are prefetched. Both persist across
 * blocks: a block of a few words would never fill a per-block ring. */
#define RING 16
#define FIFO 8

static struct span *ring_s[RING];
static uintptr_t ring_w[RING];
static unsigned ring_n, ring_head;

static struct item fifo[FIFO];
static unsigned fifo_n, fifo_head;

static uintptr_t scan_base;
static size_t scan_limit;

static ALWAYS_INLINE void resolve_oldest(void)
{
    uintptr_t start;
    size_t size;
    if (heap_mark_in(ring_s[ring_head], ring_w[ring_head], &start, &size) == 1)
        push(start, size);
    ring_head = (ring_head + 1) % RING;
    ring_n--;
}

static void scan(uintptr_t lo, uintptr_t hi)
{
    uintptr_t base = scan_base;
    size_t limit = scan_limit;
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t)) {
        uintptr_t w = *(const uintptr_t *)p;
        struct span *s = heap_candidate(w, base, limit);
        if (!s)
            continue;
        __builtin_prefetch(s);
        if (ring_n == RING)
            resolve_oldest();
        unsigned slot = (ring_head + ring_n) % RING;
        ring_s[slot] = s;
        ring_w[slot] = w;
        ring_n++;
    }
}

static void drain(void)
{
    for (;;) {
        while (fifo_n < FIFO && top) {
            fifo[(fifo_head + fifo_n) % FIFO] = stack[--top];
            fifo_n++;
        }
        if (fifo_n) {
            struct item it = fifo[fifo_head];
            fifo_head = (fifo_head + 1) % FIFO;
            fifo_n--;
            scan(it.lo, it.hi);
        } else if (ring_n) {
            resolve_oldest();
        } else {
            return;
        }
    }
}

void mark_begin(void)
{
    for (; nretired; nretired--)
        os_unmap_locked(retired[nretired - 1].p, retired[nretired - 1].len);
    scan_base = region.base;
    scan_limit = atomic_load_explicit(&region.limit, memory_order_relaxed);
}

void mark_range(uintptr_t lo, uintptr_t hi)
{
    scan(lo, hi);
    drain();
}

void mark_block(uintptr_t p)
{
    uintptr_t start;
    size_t size;
    if (heap_mark_word(p, &start, &size) == 1) {
        push(start, size);
        drain();
    }
}

static void rescan_marked(uintptr_t start, size_t size, void *arg)
{
    (void)arg;
    scan(start, start + size + 1);
    drain();
}

void mark_finish(void)
{
    drain();
    while (overflowed) {
        overflowed = 0;
        heap_for_each_marked(rescan_marked, NULL);
    }
}
