/* bench/bench.h: the few helpers every benchmark shares.
 *
 * A fixed-seed xorshift64 PRNG so that every run, under every allocator,
 * does exactly the same work and prints exactly the same result line, and a
 * 64-bit mixer for folding values into that result, and the process's exact
 * RSS as it exits (below). Header-only so that each benchmark stays a
 * single standalone program (libc + pthreads only). */
#ifndef BENCH_H
#define BENCH_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* xorshift64 (Marsaglia): tiny, fast and good enough to pick sizes and
 * indices; the state must never be 0, hence the seed fix-up. */
typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return r->s = x;
}

/* A value in [0, n). The modulo bias is irrelevant for a benchmark and this
 * keeps the sequence easy to reproduce. */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Fold v into a running checksum (splitmix64 finaliser), so that a single
 * wrong byte anywhere changes the printed result. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

/* Out of memory is a benchmark failure, never something to limp past. */
static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench: malloc(%zu) failed\n", n);
        exit(2);
    }
    return p;
}

/* The process's resident set as it exits, on stdout as rss_end_kib=N for
 * bench/measure: most benchmarks peak at their end, and the peak the
 * kernel reports (ru_maxrss) is read from per-CPU counters folded in
 * steps of 32 pages, up to 256 KiB off on two CPUs. VmRSS in
 * /proc/self/status is the exact count on current kernels. A destructor,
 * so that it comes after main's last output; read with open and read, so
 * that the reading allocates nothing.
 *
 * libc's teardown still runs after it (other destructors, __cxa_finalize
 * unregistering fork handlers, flushing stdio), and a program whose
 * allocator never ran that code maps it only then: under glibc's malloc,
 * 64-128 KiB of libc's text on churn. So, when run by measure
 * (BENCH_EXIT_FD names a socket to it), this also asks measure to read
 * VmRSS as the process exits, and waits for its answer. */
__attribute__((destructor)) static void bench_rss_at_exit(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n > 0) {
        buf[n] = 0;
        const char *p = strstr(buf, "\nVmRSS:");
        if (p)
            printf("rss_end_kib=%ld\n", strtol(p + sizeof "\nVmRSS:" - 1, NULL, 10));
    }
    const char *s = getenv("BENCH_EXIT_FD");
    if (s && *s) {
        int sock = atoi(s);
        char c = 'x';
        if (write(sock, &c, 1) == 1)
            (void)!read(sock, &c, 1);
        close(sock);
    }
}

#endif
