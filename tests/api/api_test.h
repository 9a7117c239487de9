/* Helpers shared by the tests of the explicit-control API (<reclaim.h>).
 *
 * Keeping "the only pointer" honest, as the root probes do: blocks are
 * made by out-of-line helpers that hand back the pointer XOR-masked, so
 * the test function itself never holds a real pointer in a local or a
 * callee-saved register; the dead stack the helpers used is overwritten
 * (api_scrub) before each collection. A test that wants a block to die
 * keeps only masked values of it.
 *
 * Also: a child runner that captures stderr (the misuse messages end in
 * abort()), and re-running this same binary with an environment variable
 * set (options are read once, by the library constructor). Everything is
 * static: each test program uses a different subset. */
#ifndef RECLAIM_TESTS_API_TEST_H
#define RECLAIM_TESTS_API_TEST_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <reclaim.h>

#include "../unit/unit.h"

#define API_NOINLINE __attribute__((noinline))
#define API_UNUSED __attribute__((unused))
#define API_MASK ((uintptr_t)0x5a5aa5a5c3c33c3cull)

static API_UNUSED void *volatile api_sink;

static API_UNUSED uintptr_t api_mask(const void *p)
{
    return (uintptr_t)p ^ API_MASK;
}

static API_UNUSED void *api_unmask(uintptr_t m)
{
    return (void *)(m ^ API_MASK);
}

/* The byte at offset j of a block filled with key. */
static API_UNUSED unsigned char api_byte(uintptr_t key, size_t j)
{
    return (unsigned char)(key * 131u + j * 7u + 1u);
}

static API_UNUSED API_NOINLINE void api_fill(void *p, size_t n, uintptr_t key)
{
    unsigned char *b = p;
    for (size_t j = 0; j < n; j++)
        b[j] = api_byte(key, j);
}

/* 1 when the n bytes at p still hold key's pattern. */
static API_UNUSED API_NOINLINE int api_intact(const void *p, size_t n, uintptr_t key)
{
    const unsigned char *b = p;
    for (size_t j = 0; j < n; j++)
        if (b[j] != api_byte(key, j))
            return 0;
    return 1;
}

/* A malloc'd block of n bytes holding key's pattern, masked. */
static API_UNUSED API_NOINLINE uintptr_t api_new_masked(size_t n, uintptr_t key)
{
    void *p = malloc(n);
    if (!p)
        abort();
    api_fill(p, n, key);
    return api_mask(p);
}

/* 1 when the block whose masked start is m is still allocated (its start
 * is a block start). */
static API_UNUSED API_NOINLINE int api_alive(uintptr_t m)
{
    void *p = api_unmask(m);
    return reclaim_block_start(p) == p;
}

/* Overwrites the dead stack below the caller, so that stale copies of
 * pointers left there by helpers cannot keep blocks alive. */
static API_UNUSED API_NOINLINE void api_scrub(void)
{
    volatile char buf[64 * 1024];
    memset((char *)buf, 0, sizeof buf);
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* A collection with a clean stack below the caller. */
static API_UNUSED API_NOINLINE size_t api_collect(void)
{
    api_scrub();
    return reclaim_collect();
}

static API_UNUSED size_t api_collections(void)
{
    reclaim_stats s;
    reclaim_get_stats(&s);
    return s.collections;
}

/* Allocates and drops `bytes` of garbage in pieces of `piece` bytes. */
static API_UNUSED API_NOINLINE void api_garbage(size_t bytes, size_t piece)
{
    for (size_t done = 0; done < bytes; done += piece) {
        char *p = malloc(piece);
        if (!p)
            abort();
        p[0] = 1;
        api_sink = p;
    }
    api_sink = NULL;
}

/* ---- children: tests/unit/unit.h's runner (unit_run_child, with an
 * optional re-exec environment), struct unit_child and unit_lines. ---- */
#endif
