/* Lending between size classes (lib/heap/small.c: borrow): a class whose
 * spans are all full takes the free slots its thread holds in the next
 * classes up before it takes a new span; malloc's fast path goes on
 * borrowing from that lender until the class has room of its own again;
 * aligned requests never borrow, since a larger class's slots are less
 * aligned. Internal test: the heap floor is called directly, in a fresh
 * process per test, so every class starts empty. */
#include <criterion/criterion.h>
#include <string.h>

#include "heap/heap.h"

static void setup(void)
{
    cr_assert_eq(heap_init(), 0, "heap_init failed");
}

static const struct span *span_of_block_at(const void *p)
{
    struct heap_block b;
    cr_assert(heap_find((uintptr_t)p, &b), "%p is not a block", p);
    return b.span;
}

static unsigned class_of(const void *p)
{
    return span_of_block_at(p)->cls;
}

/* Allocates blocks of the class of `n`-byte requests, n bytes each,
 * until one comes from another class or `max` are taken; returns how
 * many of the class's own came first. */
static unsigned fill_class(void **own, unsigned max, size_t n, void **other)
{
    unsigned c = sizeclass_of(n + 1), k = 0;
    *other = NULL;
    while (k < max) {
        void *p = heap_alloc(n);
        cr_assert_not_null(p);
        if (class_of(p) != c) {
            *other = p;
            break;
        }
        own[k++] = p;
    }
    return k;
}

/* Every byte of the slot from the first word past the request on is 0
 * (the lender's slots were filled with ones before they were freed). */
static void check_tail_clear(const void *p, size_t n, size_t slot)
{
    const unsigned char *b = p;
    for (size_t off = (n + 7) & ~(size_t)7; off < slot; off++)
        if (b[off])
            cr_assert_fail("lent slot %p: byte %zu of the tail is %#x, not 0", p, off, b[off]);
}

/* Puts k slots of n-byte requests, filled with ones, on the free list of
 * their class; freed[k - 1] is the newest. */
static void free_slots(void **freed, unsigned k, size_t n)
{
    for (unsigned i = 0; i < k; i++) {
        freed[i] = heap_alloc(n);
        memset(freed[i], 0xff, n + 1);
    }
    for (unsigned i = 0; i < k; i++)
        heap_free(freed[i], "test");
}

/* 112-byte slots, lent by the 128-byte class: its 16 freed slots (newest
 * first), then the rest of its span. The lent slot's whole tail is
 * cleared, past where a 112-byte slot would end. Then the 128-byte class
 * has nothing left, the 144-byte one never had anything, and the
 * 112-byte class grows instead of either of them. */
Test(lend, a_full_class_borrows_free_slots_of_the_next_class_up, .init = setup)
{
    const size_t n = 100, lender_n = 127;
    const unsigned c = sizeclass_of(n + 1), c1 = c + 1;
    cr_assert_eq(sizeclasses[c].size, 112u);
    cr_assert_eq(sizeclasses[c1].size, 128u);

    void *freed[16];
    free_slots(freed, 16, lender_n);

    void *own[64], *lent;
    unsigned k = fill_class(own, 64, n, &lent);
    cr_assert_eq(k, sizeclasses[c].nslots, "the class took %u of its own slots first", k);
    cr_assert_not_null(lent, "a full class took a new span while the next class had free slots");
    cr_assert_eq(lent, freed[15], "the newest free slot of the class above was not the one lent");
    cr_assert_eq(heap_usable_size(lent, "test"), 127u);
    check_tail_clear(lent, n, 128);

    /* The rest through malloc's fast path: the other 15 from the list
     * (each with its tail cleared too), then the lender's fresh slots. */
    unsigned lent_count = 1;
    void *p;
    while (class_of(p = heap_alloc(n)) == c1) {
        if (lent_count < 16) {
            cr_assert_eq(p, freed[15 - lent_count]);
            check_tail_clear(p, n, 128);
        }
        lent_count++;
    }
    cr_assert_eq(lent_count, sizeclasses[c1].nslots,
                 "%u slots lent: the class above has one span of %u slots", lent_count,
                 sizeclasses[c1].nslots);
    cr_assert_eq(class_of(p), c, "with nothing left to lend, the class grows itself");
    cr_assert_neq(span_of_block_at(p), span_of_block_at(own[0]));
}

/* The 64-byte class, whose slots are 64-byte aligned, with every span full
 * and an 80-byte lender: memalign(64) still gets a 64-byte slot of its
 * own class. */
Test(lend, aligned_requests_do_not_borrow, .init = setup)
{
    const size_t n = 60;
    const unsigned c = sizeclass_of(n + 1);
    cr_assert_eq(sizeclasses[c].size, 64u);
    void *freed[16];
    free_slots(freed, 16, 79);

    void *own[128], *lent;
    fill_class(own, 128, n, &lent);
    cr_assert_not_null(lent, "the setup expected the 80-byte class to lend");
    cr_assert_eq(class_of(lent), c + 1);

    void *q = heap_memalign(64, n);
    cr_assert_not_null(q);
    cr_assert_eq((uintptr_t)q % 64, 0u, "memalign(64) returned %p", q);
    cr_assert_eq(class_of(q), c, "memalign(64) got a slot of class %u", class_of(q));
}

/* The 480-byte class borrows from the 512-byte one through malloc's fast
 * path. When the program frees enough of its own blocks that its free
 * list sends half back to their spans, the class has room again: once the
 * list is used up, its next block comes from those spans, though the
 * lender still holds free slots. */
Test(lend, a_class_with_room_again_stops_borrowing, .init = setup)
{
    const size_t n = 470;
    const unsigned c = sizeclass_of(n + 1), c1 = c + 1;
    cr_assert_eq(sizeclasses[c].size, 480u);
    cr_assert_eq(sizeclasses[c1].size, 512u);
    /* Whole spans' worth, more than the free list holds. */
    const unsigned per = sizeclasses[c].nslots, OWN = per * (tcache_limit(c) / per + 1);
    void *own[256];
    cr_assert_leq(OWN, 256u);

    for (unsigned i = 0; i < OWN; i++) {
        own[i] = heap_alloc(n);
        cr_assert_eq(class_of(own[i]), c);
    }
    void *freed[8];
    free_slots(freed, 8, 511);

    void *a = heap_alloc(n), *b = heap_alloc(n);
    cr_assert_eq(class_of(a), c1, "a full 480-byte class did not borrow");
    cr_assert_eq(class_of(b), c1, "the second request did not borrow from the same lender");

    for (unsigned i = 0; i < OWN; i++)
        heap_free(own[i], "test");
    unsigned listed = OWN - tcache_limit(c) / 2;
    for (unsigned i = 0; i < listed; i++)
        cr_assert_eq(class_of(heap_alloc(n)), c, "block %u off the class's own free list", i);
    void *p = heap_alloc(n);
    cr_assert_eq(class_of(p), c, "the class borrowed though its spans had room again");
}
