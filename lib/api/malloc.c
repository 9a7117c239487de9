/* The libc allocation names, exported with glibc's semantics. Everything
 * else in the library is hidden; these functions call the heap floor
 * directly, never each other through the PLT. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../heap/heap.h"
#include "../util/compiler.h"
#include "../util/error.h"
#include "foreign.h"

extern const int init_linked;
__attribute__((used)) static const int *const pull_init = &init_linked;

RECLAIM_EXPORT void *malloc(size_t n)
{
    return heap_alloc(n);
}

static ALWAYS_INLINE void release(void *p, const char *call)
{
    if (!p)
        return;
    if (likely(heap_owns(p)))
        heap_free_fast(p, call);
    else
        foreign_free(p);
}

RECLAIM_EXPORT void free(void *p)
{
    release(p, "free");
}

RECLAIM_EXPORT void *calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return heap_calloc(n);
}

static void *resize(void *p, size_t n, const char *call)
{
    if (!p)
        return heap_alloc(n);
    if (n == 0) {
        /* glibc frees and returns NULL. */
        release(p, call);
        return NULL;
    }
    if (likely(heap_owns(p)))
        return heap_realloc(p, n, call);
    void *q = heap_alloc(n);
    if (q) {
        size_t old = foreign_usable_size(p);
        memcpy(q, p, old < n ? old : n);
        foreign_free(p);
    }
    return q;
}

RECLAIM_EXPORT void *realloc(void *p, size_t n)
{
    return resize(p, n, "realloc");
}

RECLAIM_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return resize(p, n, "reallocarray");
}

static int power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

RECLAIM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!power_of_two(align) || align % sizeof(void *))
        return EINVAL;
    int saved = errno;
    void *p = heap_memalign(align, n);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

RECLAIM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return heap_memalign(align, n);
}

RECLAIM_EXPORT void *memalign(size_t align, size_t n)
{
    /* glibc rounds a non-power-of-two alignment up instead of failing. */
    if (align > ((size_t)1 << (sizeof(size_t) * 8 - 2))) {
        errno = EINVAL;
        return NULL;
    }
    while (align & (align - 1))
        align = (align | (align - 1)) + 1;
    return heap_memalign(align, n);
}

RECLAIM_EXPORT void *valloc(size_t n)
{
    return heap_memalign(OS_PAGE, n);
}

RECLAIM_EXPORT void *pvalloc(size_t n)
{
    if (n > SIZE_MAX - OS_PAGE) {
        errno = ENOMEM;
        return NULL;
    }
    n = (n + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    return heap_memalign(OS_PAGE, n ? n : OS_PAGE);
}

RECLAIM_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (heap_owns(p))
        return heap_usable_size(p, "malloc_usable_size");
    return foreign_usable_size(p);
}

RECLAIM_EXPORT void free_sized(void *p, size_t size)
{
    (void)size;
    release(p, "free_sized");
}

RECLAIM_EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    release(p, "free_aligned_sized");
}
