/* Roots the scanner cannot see by itself: reclaim_add_roots and
 * reclaim_remove_roots keep a list of word-aligned ranges, which the
 * gc_client's roots hook hands to the marker. The list is an array in one
 * mapping of reclaim's own, grown by doubling. */
#include <string.h>

#include "../heap/os.h"
#include "../util/compiler.h"
#include "../util/log.h"
#include "track.h"

struct range { uintptr_t lo, hi; };

static struct range *ranges;
static size_t nranges, cap;

static int reserve(size_t need)
{
    if (need <= cap)
        return 0;
    size_t ncap = cap ? cap * 2 : 256;
    while (ncap < need)
        ncap *= 2;
    struct range *n = os_map(ncap * sizeof *n);
    if (!n)
        return -1;
    if (ranges) {
        memcpy(n, ranges, nranges * sizeof *n);
        os_unmap(ranges, cap * sizeof *ranges);
    }
    ranges = n;
    cap = ncap;
    return 0;
}

/* Whole words only: the marker reads aligned words. */
static int word_range(const void *start, size_t len, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t a = (uintptr_t)start, e;
    if (__builtin_add_overflow(a, len, &e))
        e = UINTPTR_MAX;
    *lo = (a + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    *hi = e & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    return *lo < *hi;
}

RECLAIM_EXPORT void reclaim_add_roots(void *start, size_t len)
{
    uintptr_t lo, hi;
    if (!word_range(start, len, &lo, &hi))
        return;
    lock_acquire(&api_lock);
    int ok = reserve(nranges + 1) == 0;
    if (ok) {
        ranges[nranges].lo = lo;
        ranges[nranges].hi = hi;
        nranges++;
    }
    lock_release(&api_lock);
    if (!ok)
        log_line("reclaim_add_roots(%p, %zu): out of memory for the list of roots", start, len);
}

RECLAIM_EXPORT void reclaim_remove_roots(void *start, size_t len)
{
    uintptr_t lo, hi;
    if (!word_range(start, len, &lo, &hi))
        return;
    lock_acquire(&api_lock);
    for (size_t i = 0; i < nranges;) {
        struct range *r = &ranges[i];
        if (r->hi <= lo || r->lo >= hi) {
            i++;
            continue;
        }
        if (r->lo < lo && r->hi > hi) {
            /* Cut out of the middle: the tail becomes a range of its own.
             * Without room for it, keep the tail in the roots (retaining
             * too much is safe; dropping a root is not). */
            if (reserve(nranges + 1) == 0) {
                r = &ranges[i];
                ranges[nranges].lo = hi;
                ranges[nranges].hi = r->hi;
                nranges++;
                r->hi = lo;
            }
            i++;
        } else if (r->lo < lo) {
            r->hi = lo;
            i++;
        } else if (r->hi > hi) {
            r->lo = hi;
            i++;
        } else {
            ranges[i] = ranges[--nranges];
        }
    }
    lock_release(&api_lock);
}

void api_roots_mark(void (*mark_range)(uintptr_t lo, uintptr_t hi))
{
    for (size_t i = 0; i < nranges; i++)
        mark_range(ranges[i].lo, ranges[i].hi);
}

size_t api_roots_copy(uintptr_t *out, size_t max)
{
    for (size_t i = 0; i < nranges && i < max; i++) {
        out[2 * i] = ranges[i].lo;
        out[2 * i + 1] = ranges[i].hi;
    }
    return nranges;
}
