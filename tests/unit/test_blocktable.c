/* The block table (heap_find): the O(1) word classification marking lives
 * on. For blocks of many sizes, small and large, plain and aligned, every
 * address inside a block and one byte past its usable end must name that
 * block; the bytes around it must never name it; a freed block must
 * vanish; words outside the region must name nothing. Internal test: the
 * heap floor is called directly (glibc malloc stays the process's). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"
#include "heap/pages.h"

#define NEIGHBOURS 3

static void setup(void)
{
    cr_assert_eq(heap_init(), 0, "heap_init failed");
}

/* Every offset in [0, usable] names the block starting at p. */
static void check_whole_block(uintptr_t p, size_t n)
{
    struct heap_block b;
    cr_assert(heap_find(p, &b), "block %#lx (%zu B) not found", (unsigned long)p, n);
    size_t usable = b.size;
    cr_assert_geq(usable, n, "block %#lx: usable %zu < requested %zu", (unsigned long)p, usable, n);
    cr_assert_eq(heap_usable_size((void *)p, "test"), usable);
    for (size_t off = 0; off <= usable; off++) {
        struct heap_block o = { 0, 0, NULL, 0 };
        if (!heap_find(p + off, &o) || o.start != p || o.size != usable || o.span != b.span ||
            o.slot != b.slot)
            cr_assert_fail("block %#lx (%zu B, usable %zu): offset %zu maps to start %#lx size %zu",
                           (unsigned long)p, n, usable, off, (unsigned long)o.start, o.size);
    }
    /* Just before: nothing, or a neighbour that really contains it. */
    struct heap_block o;
    if (heap_find(p - 1, &o)) {
        cr_assert_neq(o.start, p, "block %#lx: the byte before it maps to it", (unsigned long)p);
        cr_assert(o.start <= p - 1 && p - 1 <= o.start + o.size,
                  "block %#lx: the byte before maps to %#lx+%zu", (unsigned long)p,
                  (unsigned long)o.start, o.size);
    }
    /* One past the one-past-end: the next slot, so nothing or a neighbour
     * starting right there. */
    uintptr_t after = p + usable + 1;
    if (heap_find(after, &o))
        cr_assert_eq(o.start, after, "block %#lx: %#lx maps to %#lx", (unsigned long)p,
                     (unsigned long)after, (unsigned long)o.start);
}

/* After a free, and before anything else is allocated, no byte of the
 * old block (nor its one-past-end) maps to any block. */
static void check_gone(uintptr_t p, size_t usable)
{
    for (size_t off = 0; off <= usable; off++) {
        struct heap_block o;
        if (heap_find(p + off, &o))
            cr_assert_fail("freed block %#lx: offset %zu maps to %#lx", (unsigned long)p, off,
                           (unsigned long)o.start);
    }
}

static void check_size(size_t align, size_t n)
{
    void *blocks[NEIGHBOURS];
    size_t usable[NEIGHBOURS];
    for (int i = 0; i < NEIGHBOURS; i++) {
        blocks[i] = align ? heap_memalign(align, n) : heap_alloc(n);
        cr_assert_not_null(blocks[i], "alloc(%zu, align %zu) failed", n, align);
        if (align)
            cr_assert_eq((uintptr_t)blocks[i] % align, 0u, "%p not aligned to %zu", blocks[i], align);
        cr_assert(heap_owns(blocks[i]));
    }
    for (int i = 0; i < NEIGHBOURS; i++) {
        check_whole_block((uintptr_t)blocks[i], n);
        usable[i] = heap_usable_size(blocks[i], "test");
    }
    /* Free the middle one first, so its neighbours are still allocated. */
    for (int k = 0; k < NEIGHBOURS; k++) {
        int i = (k + 1) % NEIGHBOURS;
        heap_free(blocks[i], "test");
        check_gone((uintptr_t)blocks[i], usable[i]);
        for (int j = 0; j < NEIGHBOURS; j++)
            if (j != i && blocks[j]) {
                struct heap_block o;
                cr_assert(heap_find((uintptr_t)blocks[j], &o) && o.start == (uintptr_t)blocks[j],
                          "freeing %p lost its neighbour %p", blocks[i], blocks[j]);
            }
        blocks[i] = NULL;
    }
}

static const size_t small_sizes[] = {
    0, 1, 15, 16, 17, 31, 32, 47, 100, 255, 256, 257, 500, 1000, 1023, 1024, 1025,
    2000, 3000, 4095, 4096, 4097, 6000, 8191, 8192, 12000, 16382, 16383,
};
static const size_t large_sizes[] = {
    16384, 16385, 20000, 65535, 65536, 100000, 262144, 1u << 20, (1u << 20) + 1,
};

Test(blocktable, small_blocks, .init = setup)
{
    for (size_t i = 0; i < sizeof small_sizes / sizeof *small_sizes; i++)
        check_size(0, small_sizes[i]);
}

Test(blocktable, every_size_class, .init = setup)
{
    for (unsigned c = 0; c < SC_COUNT; c++)
        check_size(0, sizeclasses[c].size - 1);
}

Test(blocktable, large_blocks, .init = setup)
{
    for (size_t i = 0; i < sizeof large_sizes / sizeof *large_sizes; i++)
        check_size(0, large_sizes[i]);
}

Test(blocktable, aligned_blocks, .init = setup)
{
    static const size_t sizes[] = { 0, 1, 100, 4095, 5000, 16383, 16384, 40000 };
    for (size_t align = 32; align <= 65536; align *= 2)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            check_size(align, sizes[i]);
}

/* A small block reports the usable size of its class: slot size - 1. */
Test(blocktable, small_usable_is_slot_minus_one, .init = setup)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        void *p = heap_alloc(sizeclasses[c].size - 1);
        struct heap_block b;
        cr_assert(heap_find((uintptr_t)p, &b));
        cr_assert_eq(b.size, sizeclasses[c].size - 1u, "class %u", c);
        cr_assert_eq(b.span->size, sizeclasses[c].size);
        heap_free(p, "test");
    }
}

/* The bytes of a small span past its last slot belong to no block. */
Test(blocktable, span_tail_maps_to_nothing, .init = setup)
{
    int tails = 0;
    for (unsigned c = 0; c < SC_COUNT; c++) {
        const struct sizeclass *k = &sizeclasses[c];
        size_t span_bytes = (size_t)k->pages * OS_PAGE, used = (size_t)k->nslots * k->size;
        if (used == span_bytes)
            continue;
        /* Fill a whole span so that its last slot is allocated too. */
        void *blocks[SC_MAX_SLOTS + 1];
        unsigned n = 0;
        struct span *s = NULL;
        uintptr_t last_start = 0;
        for (; n <= SC_MAX_SLOTS; n++) {
            blocks[n] = heap_alloc(k->size - 1);
            struct heap_block b;
            cr_assert(heap_find((uintptr_t)blocks[n], &b));
            if (b.slot == k->nslots - 1u) {
                s = b.span;
                last_start = b.start;
                n++;
                break;
            }
        }
        cr_assert_not_null(s, "class %u: never got the last slot of a span", c);
        cr_assert_eq(last_start + k->size, s->start + used);
        for (uintptr_t a = s->start + used; a < s->start + span_bytes; a++) {
            struct heap_block o;
            if (heap_find(a, &o))
                cr_assert_fail("class %u: tail byte %#lx maps to %#lx", c, (unsigned long)a,
                               (unsigned long)o.start);
        }
        tails++;
        for (unsigned i = 0; i < n; i++)
            heap_free(blocks[i], "test");
    }
    cr_assert_gt(tails, 0);
}

Test(blocktable, words_outside_the_region, .init = setup)
{
    void *keep = heap_alloc(64);   /* so the region is not empty */
    int on_stack = 0;
    void *from_glibc = malloc(64);
    uintptr_t limit = atomic_load(&region.limit);
    uintptr_t words[] = {
        0, 1, 4096, (uintptr_t)&on_stack, (uintptr_t)from_glibc, (uintptr_t)&region,
        (uintptr_t)region.pagemap, (uintptr_t)region.spans,
        region.base - 1, region.base - 4096, region.base + region.size,
        region.base + region.size + 4096, region.base + limit, region.base + limit + 12345,
        region.base + region.size - 1, UINTPTR_MAX, UINTPTR_MAX - 4095,
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        struct heap_block o;
        cr_assert_not(heap_find(words[i], &o), "word %#lx (#%zu) maps to a block",
                      (unsigned long)words[i], i);
    }
    cr_assert_not(heap_owns(&on_stack));
    cr_assert_not(heap_owns(from_glibc));
    cr_assert_not(heap_owns((void *)(region.base - 1)));
    cr_assert_not(heap_owns((void *)(region.base + region.size)));
    free(from_glibc);
    heap_free(keep, "test");
}

/* The same through a thread: its cache is a different owner. */
static void *alloc_in_thread(void *arg)
{
    return heap_alloc((size_t)(uintptr_t)arg);
}

Test(blocktable, block_of_another_thread, .init = setup)
{
    pthread_t t;
    void *p;
    for (size_t n = 24; n <= 40000; n *= 3) {
        cr_assert_eq(pthread_create(&t, NULL, alloc_in_thread, (void *)(uintptr_t)n), 0);
        cr_assert_eq(pthread_join(t, &p), 0);
        cr_assert_not_null(p);
        check_whole_block((uintptr_t)p, n);
        size_t usable = heap_usable_size(p, "test");
        heap_free(p, "test");
        check_gone((uintptr_t)p, usable);
    }
}

/* A slot reused for a smaller request must not show its old contents past
 * the request: a stale pointer there would keep a dead block alive. Each
 * block is filled with ones, freed onto the thread's free list and
 * taken back (LIFO) for n bytes; every aligned word that starts at or past
 * n must read zero. Sizes cover every tail shape: the four-store path of
 * classes up to 512 bytes and the loop and memset of longer tails. */
Test(blocktable, reused_slot_tail_is_cleared, .init = setup)
{
    for (size_t n = 0; n < 4096; n += (n < 1100 ? 1 : 37)) {
        size_t slot = sizeclasses[sizeclass_of(n + 1)].size;
        unsigned char *p = heap_alloc(slot - 1);
        cr_assert_not_null(p);
        memset(p, 0xff, slot);
        cr_assert(heap_free_cached(p), "slot of %zu B did not go to the free list", slot);
        unsigned char *q = heap_alloc(n);
        cr_assert_eq(q, p, "request of %zu B did not reuse the freed slot", n);
        for (size_t off = (n + 7) & ~(size_t)7; off < slot; off++)
            if (q[off])
                cr_assert_fail("request of %zu B in a %zu B slot: byte %zu is %#x, not 0", n, slot,
                               off, q[off]);
        cr_assert(heap_free_cached(q));
    }
}
