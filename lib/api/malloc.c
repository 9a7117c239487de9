/* The libc allocation names, exported with glibc's semantics. Everything
 * else in the library is hidden; these functions call the heap floor
 * directly, never each other through the PLT. In leaks mode each one that
 * hands out a block records its caller's stack (stack_note, given the
 * entry point's return address: that is how reclaim's own frames are
 * dropped). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../heap/heap.h"
#include "../report/stack.h"
#include "../util/compiler.h"
#include "../util/error.h"
#include "api.h"
#include "foreign.h"

extern const int init_linked;
__attribute__((used)) static const int *const pull_init = &init_linked;

/* malloc and free try the heap's fast paths, which call nothing, and
 * jump to the rest: so the common case runs without a stack frame or
 * saved registers. */
static NOINLINE void *malloc_slow(size_t n, uintptr_t caller)
{
    void *p = heap_alloc_slow(n);
    stack_note_at(p, n, caller);
    return p;
}

RECLAIM_EXPORT void *malloc(size_t n)
{
    if (likely(!stack_enabled)) {
        void *p = heap_alloc_fast(n);
        if (likely(p))
            return p;
    }
    return malloc_slow(n, (uintptr_t)__builtin_return_address(0));
}

static NOINLINE void release_slow(void *p, const char *call)
{
    if (!p)
        return;
    if (likely(heap_owns(p))) {
        /* A block with a finalizer, weak references or a count needs the
         * api floor; a program that never used those pays one load. */
        if (api_tracking_on() && api_free_tracked(p, call))
            return;
        heap_free(p, call);
    } else {
        foreign_free(p);
    }
}

static ALWAYS_INLINE void release(void *p, const char *call)
{
    if (likely(!api_tracking_on()) && likely(heap_free_cached(p)))
        return;
    release_slow(p, call);
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
    void *p = heap_calloc(n);
    stack_note(p, n);
    return p;
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
    if (likely(heap_owns(p))) {
        void *q;
        /* Moving a tracked block moves its count, finalizer and weak
         * references with it. */
        if (api_tracking_on() && api_realloc_tracked(p, n, call, &q))
            return q;
        return heap_realloc(p, n, call);
    }
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
    void *q = resize(p, n, "realloc");
    stack_note(q, n);
    return q;
}

RECLAIM_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = resize(p, n, "reallocarray");
    stack_note(q, n);
    return q;
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
    stack_note(p, n);
    *out = p;
    return 0;
}

RECLAIM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    void *p = heap_memalign(align, n);
    stack_note(p, n);
    return p;
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
    void *p = heap_memalign(align, n);
    stack_note(p, n);
    return p;
}

RECLAIM_EXPORT void *valloc(size_t n)
{
    void *p = heap_memalign(OS_PAGE, n);
    stack_note(p, n);
    return p;
}

RECLAIM_EXPORT void *pvalloc(size_t n)
{
    if (n > SIZE_MAX - OS_PAGE) {
        errno = ENOMEM;
        return NULL;
    }
    n = (n + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    void *p = heap_memalign(OS_PAGE, n ? n : OS_PAGE);
    stack_note(p, n ? n : OS_PAGE);
    return p;
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
