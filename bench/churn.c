/* bench/churn.c: raw malloc/free throughput with a steady live set.
 *
 * Usage: churn THREADS [STEPS_PER_THREAD]
 * Each thread keeps a ring of 4096 live blocks of 8..512 bytes and, per
 * step, replaces one at random: read back what was written into the old
 * block, free it, malloc a new one of a random size and write into it. The
 * live set stays small (about 1 MiB per thread), so this measures the fast
 * paths (thread caches, size classes) and, with 2 threads, that they do not
 * contend. The result line depends only on the PRNG and the bytes read back,
 * so it is identical under every correct allocator. */
#include "bench.h"

#include <pthread.h>
#include <string.h>

#define RING 4096
#define MIN_SIZE 8
#define MAX_SIZE 512
/* Tuned so that glibc takes about 1-2 s per run on the reference machine. */
#define DEFAULT_STEPS 50000000ul

typedef struct {
    unsigned index;
    unsigned long steps;
    uint64_t sum;
} worker_t;

/* What a block of size sz holding tag should read back as: the tag in the
 * first 8 bytes and its low byte, flipped, in the last one. */
static inline void fill(unsigned char *p, size_t sz, uint64_t tag)
{
    memcpy(p, &tag, sizeof tag);
    p[sz - 1] = (unsigned char)~tag;
}

static inline uint64_t read_back(const unsigned char *p, size_t sz)
{
    uint64_t tag;
    memcpy(&tag, p, sizeof tag);
    return tag * 31 + p[sz - 1];
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    rng_t r;
    rng_seed(&r, 0x1234567ull * (w->index + 1));
    unsigned char *ring[RING];
    unsigned short size[RING];
    uint64_t sum = 0;

    for (unsigned i = 0; i < RING; i++) {
        size[i] = MIN_SIZE + rng_below(&r, MAX_SIZE - MIN_SIZE + 1);
        ring[i] = xmalloc(size[i]);
        fill(ring[i], size[i], i);
    }
    for (unsigned long s = 0; s < w->steps; s++) {
        uint64_t x = rng_next(&r);
        unsigned i = x % RING;
        /* The old block must still hold what we wrote (allocators that
         * hand out a live block twice, or scribble on it, show up here). */
        sum = sum * 0x100000001b3ull + read_back(ring[i], size[i]);
        free(ring[i]);
        size_t sz = MIN_SIZE + (x >> 32) % (MAX_SIZE - MIN_SIZE + 1);
        unsigned char *p = xmalloc(sz);
        fill(p, sz, x ^ s);
        sum += p[sz - 1];
        ring[i] = p;
        size[i] = sz;
    }
    for (unsigned i = 0; i < RING; i++) {
        sum = sum * 0x100000001b3ull + read_back(ring[i], size[i]);
        free(ring[i]);
    }
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s THREADS [STEPS_PER_THREAD]\n", argv[0]);
        return 2;
    }
    unsigned nthreads = strtoul(argv[1], NULL, 10);
    unsigned long steps = argc > 2 ? strtoul(argv[2], NULL, 10) : DEFAULT_STEPS;
    if (nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "churn: THREADS must be 1..64\n");
        return 2;
    }
    worker_t w[64];
    pthread_t tid[64];
    for (unsigned t = 0; t < nthreads; t++)
        w[t] = (worker_t){ .index = t, .steps = steps };
    /* One thread means a single-threaded program: the work runs on the
     * main thread and no thread is ever created, so allocators keep their
     * single-threaded fast paths (glibc does), as a real such program
     * would see them. */
    if (nthreads == 1) {
        worker(&w[0]);
    } else {
        for (unsigned t = 0; t < nthreads; t++) {
            if (pthread_create(&tid[t], NULL, worker, &w[t])) {
                fprintf(stderr, "churn: pthread_create failed\n");
                return 2;
            }
        }
        for (unsigned t = 0; t < nthreads; t++)
            pthread_join(tid[t], NULL);
    }
    uint64_t h = 0;
    for (unsigned t = 0; t < nthreads; t++)
        h = mix(h, w[t].sum);
    printf("result: churn threads=%u steps=%lu checksum=%016llx\n", nthreads, steps,
           (unsigned long long)h);
    return 0;
}
