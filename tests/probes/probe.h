/* Shared pieces of the probe programs. Each probe hides the only pointers
 * to some blocks in one kind of root, allocates lots of garbage so that
 * many collections run (RECLAIM_COLLECT_EVERY, set here before the library
 * reads its options), and then checks every block is still allocated and
 * still holds its pattern. A probe prints one line per check and exits 0
 * only if all passed.
 *
 * Keeping "the only pointer" honest: blocks are made by probe_make(), out
 * of line, which stores each pointer straight into the root under test;
 * its own frame is dead stack once it returns (roots skip dead stack) and
 * the registers it used are overwritten by the calls that follow. */
#ifndef RECLAIM_PROBE_H
#define RECLAIM_PROBE_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <reclaim.h>

#include "../common/check.h"

#define PROBE_BLOCKS 100
#define PROBE_NOINLINE __attribute__((noinline))
#define PROBE_UNUSED __attribute__((unused))   /* not every probe uses every helper */
/* XOR mask for pointers that must not count as pointers. */
#define PROBE_MASK ((uintptr_t)0x5a5aa5a5c3c33c3cull)

static void *volatile probe_sink __attribute__((unused));

/* Options are read at library start-up, so set the stress knob and start
 * again when it is not set yet. */
static PROBE_UNUSED void probe_setup(char **argv, const char *every)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!getenv("RECLAIM_COLLECT_EVERY")) {
        setenv("RECLAIM_COLLECT_EVERY", every, 1);
        execv("/proc/self/exe", argv);
        check_fail("re-exec through /proc/self/exe: %s", strerror(errno));
    }
}

/* Block i of a set: mostly small, every tenth over 16 KiB (a large block). */
static PROBE_UNUSED size_t probe_size(unsigned i)
{
    return i % 10 == 3 ? 16 * 1024 + 1024 + i * 97u : 8 + (i * 37u) % 500;
}

static PROBE_UNUSED unsigned char probe_byte(unsigned i, size_t j)
{
    return (unsigned char)(i * 131u + j * 7u + 1u);
}

static PROBE_UNUSED PROBE_NOINLINE void *probe_new(unsigned i)
{
    size_t n = probe_size(i);
    unsigned char *p = malloc(n);
    if (!p)
        check_fail("malloc(%zu) returned NULL", n);
    for (size_t j = 0; j < n; j++)
        p[j] = probe_byte(i, j);
    return p;
}

/* Allocates blocks base..base+n-1 and stores them into slots[0..n-1]. */
static PROBE_UNUSED PROBE_NOINLINE void probe_make(void **slots, unsigned n, unsigned base)
{
    for (unsigned i = 0; i < n; i++)
        slots[i] = probe_new(base + i);
}

/* Same, but what is stored is p ^ PROBE_MASK: no pointer survives. */
static PROBE_UNUSED PROBE_NOINLINE void probe_make_masked(uintptr_t *slots, unsigned n, unsigned base)
{
    for (unsigned i = 0; i < n; i++)
        slots[i] = (uintptr_t)probe_new(base + i) ^ PROBE_MASK;
}

/* 0 when block base+i at p is intact and still allocated. */
static PROBE_UNUSED PROBE_NOINLINE int probe_intact(const void *p, unsigned i)
{
    if (!p)
        return -1;
    if (reclaim_block_start(p) != p)
        return -2;
    size_t n = probe_size(i);
    if (reclaim_block_size(p) < n)
        return -3;
    const unsigned char *b = p;
    for (size_t j = 0; j < n; j++)
        if (b[j] != probe_byte(i, j))
            return -4;
    return 0;
}

/* Counts the blocks of a set that are not intact, naming the first few. */
static PROBE_UNUSED PROBE_NOINLINE unsigned probe_verify(void *const *slots, unsigned n, unsigned base,
                                            const char *where)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++) {
        int r = probe_intact(slots[i], base + i);
        if (r && ++bad <= 3)
            fprintf(stderr, "  %s: block %u at %p (%zu bytes): %s\n", where, i, slots[i],
                    probe_size(base + i),
                    r == -1 ? "pointer is NULL" :
                    r == -2 ? "no longer an allocated block (reclaimed)" :
                    r == -3 ? "block too small" : "pattern overwritten");
    }
    return bad;
}

/* Reports a verified set as one check line. */
static PROBE_UNUSED void probe_report(void *const *slots, unsigned n, unsigned base, const char *where)
{
    unsigned bad = probe_verify(slots, n, base, where);
    check(bad == 0, "%s: %u of %u blocks intact and allocated", where, n - bad, n);
}

static PROBE_UNUSED size_t probe_collections(void)
{
    reclaim_stats s;
    reclaim_get_stats(&s);
    return s.collections;
}

static PROBE_UNUSED size_t probe_reclaimed(void)
{
    reclaim_stats s;
    reclaim_get_stats(&s);
    return s.reclaimed_blocks;
}

/* Allocates and drops `bytes` of garbage in small pieces. Returns how many
 * pieces. */
static PROBE_UNUSED PROBE_NOINLINE size_t probe_garbage(size_t bytes)
{
    size_t done = 0, k = 0;
    while (done < bytes) {
        size_t sz = 16 + (k * 40503u) % 240;
        char *p = malloc(sz);
        if (!p)
            check_fail("malloc(%zu) returned NULL during churn", sz);
        p[0] = (char)k;
        p[sz - 1] = (char)k;
        probe_sink = p;     /* keeps the call; only the latest piece survives */
        done += sz;
        k++;
    }
    probe_sink = NULL;
    return k;
}

/* Overwrites the dead stack below the caller and the scratch registers,
 * so that stale copies of pointers cannot keep blocks alive. */
static PROBE_UNUSED PROBE_NOINLINE void probe_scrub(void)
{
    volatile char buf[64 * 1024];
    memset((char *)buf, 0, sizeof buf);
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* The churn every positive probe runs while its blocks sit in the root
 * under test: 64 MiB of garbage (at RECLAIM_COLLECT_EVERY=1M that is some
 * sixty collections) and three explicit collections. Checks that
 * collection did happen and did reclaim the garbage, so that a probe
 * cannot pass only because nothing was ever collected. */
static PROBE_UNUSED PROBE_NOINLINE void probe_churn(const char *what)
{
    size_t c0 = probe_collections(), r0 = probe_reclaimed();
    size_t pieces = probe_garbage(64u << 20);
    for (int i = 0; i < 3; i++)
        reclaim_collect();
    size_t c1 = probe_collections(), r1 = probe_reclaimed();
    check(c1 - c0 >= 10 && r1 - r0 >= pieces / 2,
                "%s: churn of 64 MiB ran %zu collections reclaiming %zu blocks (of %zu garbage pieces)",
                what, c1 - c0, r1 - r0, pieces);
}

static PROBE_UNUSED double probe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
