/* The size-class table against the rules written in lib/heap/sizeclass.h:
 * shape, waste bound, span geometry, the byte-count lookup tables, and
 * the reciprocal `magic` that the block lookup divides with (checked for
 * every offset of every span, since one wrong quotient misplaces a block).
 * Internal test: links the UBSan build of the heap floor. */
#include <criterion/criterion.h>

#include "heap/sizeclass.h"
#include "heap/os.h"
#include "heap/heap.h"
#include "heap/tcache.h"

#define MAX_SPAN_PAGES 32u

Test(sizeclass, sizes_increase_in_multiples_of_16)
{
    cr_assert_eq(sizeclasses[0].size, 16u);
    cr_assert_eq(sizeclasses[SC_COUNT - 1].size, SC_MAX_SIZE);
    for (unsigned c = 0; c < SC_COUNT; c++) {
        cr_assert_eq(sizeclasses[c].size % 16, 0u, "class %u: size %u", c, sizeclasses[c].size);
        if (c)
            cr_assert_gt(sizeclasses[c].size, sizeclasses[c - 1].size, "class %u", c);
    }
}

/* "16..256 in steps of 16, then eight classes per doubling". */
Test(sizeclass, documented_shape)
{
    unsigned c = 0;
    for (uint32_t s = 16; s <= 256; s += 16, c++)
        cr_assert_eq(sizeclasses[c].size, s, "class %u", c);
    for (uint32_t base = 256; base < SC_MAX_SIZE; base *= 2)
        for (uint32_t k = 1; k <= 8; k++, c++) {
            cr_assert_lt(c, SC_COUNT);
            cr_assert_eq(sizeclasses[c].size, base + k * (base / 8), "class %u", c);
        }
    cr_assert_eq(c, SC_COUNT);
}

Test(sizeclass, every_power_of_two_is_a_class)
{
    for (uint32_t p = 16; p <= SC_MAX_SIZE; p *= 2) {
        int found = 0;
        for (unsigned c = 0; c < SC_COUNT; c++)
            found |= sizeclasses[c].size == p;
        cr_assert(found, "no class of %u bytes", p);
    }
}

/* A request of n bytes takes the smallest class of at least n + 1 bytes.
 * Up to 256 B the slot is at most 16 B more than the request (the +1 byte
 * can push it one step up); above, the waste stays below 1/8 of the slot. */
Test(sizeclass, waste_bound)
{
    for (size_t n = 1; n < SC_MAX_SIZE; n++) {
        uint32_t slot = sizeclasses[sizeclass_of(n + 1)].size;
        if (slot < n + 1)
            cr_assert_fail("request %zu: slot %u too small", n, slot);
        size_t waste = slot - n;
        if (slot <= 256 ? waste > 16 : waste * 8 >= slot)
            cr_assert_fail("request %zu: slot %u wastes %zu bytes", n, slot, waste);
    }
}

static int span_ok(uint32_t size, uint32_t pages)
{
    uint32_t bytes = pages * OS_PAGE, n = bytes / size;
    return n >= 4 && n <= SC_MAX_SLOTS && (bytes - n * size) * 16 <= bytes;
}

Test(sizeclass, span_geometry)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        const struct sizeclass *k = &sizeclasses[c];
        cr_assert(k->pages >= 1 && k->pages <= MAX_SPAN_PAGES, "class %u: %u pages", c, k->pages);
        cr_assert_eq(k->nslots, k->pages * OS_PAGE / k->size, "class %u: nslots", c);
        cr_assert_geq(k->nslots, 4u, "class %u: fewer than 4 slots", c);
        cr_assert_leq(k->nslots, SC_MAX_SLOTS, "class %u: more slots than the bitmap", c);
        /* The fewest pages, two at least above 256 B, with a short tail. */
        uint32_t fewest = 0;
        for (uint32_t p = k->size > 256 ? 2 : 1; p <= MAX_SPAN_PAGES && !fewest; p++)
            if (span_ok(k->size, p))
                fewest = p;
        if (fewest)
            cr_assert_eq(k->pages, fewest, "class %u (%u B): %u pages, the rule gives %u", c,
                         k->size, k->pages, fewest);
    }
}

/* Every byte count 1..16384 maps to the smallest class that holds it. */
Test(sizeclass, lookup_tables)
{
    for (size_t bytes = 1; bytes <= SC_MAX_SIZE; bytes++) {
        unsigned c = sizeclass_of(bytes);
        if (c >= SC_COUNT)
            cr_assert_fail("%zu bytes: class %u out of range", bytes, c);
        if (sizeclasses[c].size < bytes)
            cr_assert_fail("%zu bytes: class %u (%u B) too small", bytes, c, sizeclasses[c].size);
        if (c && sizeclasses[c - 1].size >= bytes)
            cr_assert_fail("%zu bytes: class %u (%u B) not the smallest", bytes, c,
                           sizeclasses[c].size);
    }
}

Test(sizeclass, magic_is_documented_reciprocal)
{
    for (unsigned c = 0; c < SC_COUNT; c++)
        cr_assert_eq(sizeclasses[c].magic, (uint32_t)((1ull << 32) / sizeclasses[c].size + 1),
                     "class %u", c);
}

/* Exhaustive: the block lookup relies on this for every offset a pointer
 * into a span can have, the tail past the last slot included, and free's
 * fast path on the low half of the product telling slot starts apart. */
Test(sizeclass, magic_divides_every_offset)
{
    unsigned long long checked = 0;
    for (unsigned c = 0; c < SC_COUNT; c++) {
        const struct sizeclass *k = &sizeclasses[c];
        uint64_t span_bytes = (uint64_t)k->pages * OS_PAGE;
        for (uint64_t off = 0; off < span_bytes; off++) {
            uint64_t q = (off * k->magic) >> 32;
            if (q != off / k->size)
                cr_assert_fail("class %u (%u B): offset %llu gives %llu, want %llu", c, k->size,
                               (unsigned long long)off, (unsigned long long)q,
                               (unsigned long long)(off / k->size));
            int start = (uint32_t)(off * k->magic) < k->magic;
            if (start != (off % k->size == 0))
                cr_assert_fail("class %u (%u B): offset %llu taken for %s slot start", c, k->size,
                               (unsigned long long)off, start ? "a" : "no");
        }
        checked += span_bytes;
    }
    cr_assert_gt(checked, 0ull);
}

/* malloc's fast path clears a reused slot's tail with four 16-byte
 * stores: enough for every request below HEAP_SHORT_TAIL, whose class it
 * finds with the small table alone. */
Test(sizeclass, short_requests_have_short_tails)
{
    for (size_t n = 0; n < HEAP_SHORT_TAIL; n++) {
        unsigned c = sizeclass_of(n + 1);
        cr_assert_eq(c, sc_small_index[(n + 16) >> 4], "request %zu", n);
        size_t tail = sizeclasses[c].size - (n & ~(size_t)15);
        cr_assert_leq(tail, 64, "request %zu: tail of %zu bytes in its %u B slot", n, tail,
                      sizeclasses[c].size);
    }
}

/* The waste bound sizeclass.h gives for a slot lent by a class above
 * (small.c: borrow, classes up to 1 KiB): the smallest request of class c
 * is the slot size of class c - 1. */
Test(sizeclass, lent_slot_waste_bound)
{
    for (unsigned c = 0; c < TC_BIG_CLASS; c++) {
        size_t n = c ? sizeclasses[c - 1].size : 0;
        cr_assert_eq(sizeclass_of(n + 1), c);
        for (unsigned c2 = c + 1; c2 <= c + SC_LEND_MAX && c2 < TC_BIG_CLASS; c2++) {
            size_t slot = sizeclasses[c2].size, waste = slot - n;
            if (slot <= 256)
                cr_assert_leq(waste, 48u, "request %zu in a %zu B slot", n, slot);
            else
                cr_assert_leq(waste * 11, slot * 3, "request %zu in a %zu B slot", n, slot);
        }
    }
}

/* A free list of a class up to 1 KiB holds 32 to 128 slots and at most
 * 32 KiB of them; above, TC_CACHE_BIG slots. */
Test(sizeclass, free_list_limits)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        unsigned size = sizeclasses[c].size, n = tcache_limit(c);
        if (size > 1024) {
            cr_assert_eq(n, TC_CACHE_BIG, "class %u (%u B)", c, size);
            continue;
        }
        cr_assert(n >= 32 && n <= 128, "class %u (%u B): %u slots", c, size, n);
        cr_assert_leq((size_t)n * size, (size_t)32 << 10, "class %u holds more than 32 KiB", c);
        cr_assert(n == 128 || (size_t)(n + 1) * size > (size_t)32 << 10,
                  "class %u (%u B) could hold more than %u", c, size, n);
    }
    cr_assert_eq(tcache_limit(0), 128);
    cr_assert_eq(tcache_limit(sizeclass_of(1024)), 32);
}
