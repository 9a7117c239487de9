/* An in-place heap sort for the places that cannot call qsort: glibc's
 * qsort may allocate (from our own heap), and some of these run while the
 * world is stopped. n log n whatever the input order, no recursion. */
#ifndef RECLAIM_UTIL_SORT_H
#define RECLAIM_UTIL_SORT_H

#include <stddef.h>
#include <string.h>

/* before(a, b): whether a sorts before b. Elements up to 64 bytes. */
typedef int (*sort_before_fn)(const void *a, const void *b);

static inline void sort_swap(char *a, char *b, size_t size)
{
    char t[64];
    memcpy(t, a, size);
    memcpy(a, b, size);
    memcpy(b, t, size);
}

static inline void sort_sift(char *v, size_t i, size_t n, size_t size, sort_before_fn before)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && before(v + c * size, v + (c + 1) * size))
            c++;
        if (!before(v + i * size, v + c * size))
            return;
        sort_swap(v + i * size, v + c * size, size);
        i = c;
    }
}

static inline void sort_heap(void *base, size_t n, size_t size, sort_before_fn before)
{
    char *v = base;
    for (size_t i = n / 2; i-- > 0;)
        sort_sift(v, i, n, size, before);
    for (size_t end = n; end-- > 1;) {
        sort_swap(v, v + end * size, size);
        sort_sift(v, 0, end, size, before);
    }
}

#endif
