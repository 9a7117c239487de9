/* bench/gcpause.c: how long a full collection stops the program.
 *
 * Usage: gcpause [LIVE_MIB]
 * Builds a random graph of LIVE_MIB (default 256) MiB of 64-byte nodes, each
 * with 6 pointer fields: 4 form a random spanning tree (so everything is
 * reachable from one global root), 2 point at random nodes (cycles, no
 * locality). Then, if the program runs under reclaim (reclaim_collect is
 * found with dlsym, so this binary needs no link to the library), it times
 * three full collections and prints the best as
 *   pause_ms=... live_mib=... ms_per_mib=...
 * Under any other allocator there is nothing to time and it says so.
 * Finally it walks the graph: the result line (node count and a checksum of
 * the values) is identical under every allocator unless a collection freed
 * something reachable. */
#define _GNU_SOURCE
#include "bench.h"

#include <dlfcn.h>
#include <time.h>

typedef struct node {
    struct node *p[6];
    uint64_t val;
    uint64_t seen;
} node;

#define TREE_FANOUT 4
#define NROOTS 1024

/* The graph hangs off a global; the other roots add random entry points
 * the way a program's globals would. */
static node *roots[NROOTS];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void build(size_t n, rng_t *r)
{
    /* A temporary index of all nodes, shuffled so that tree neighbours are
     * far apart in memory: marking then chases pointers at random, as it
     * would in a long-running program's heap. */
    node **all = xmalloc(n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        node *x = xmalloc(sizeof *x);
        *x = (node){ .val = rng_next(r) };
        all[i] = x;
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_below(r, i + 1);
        node *t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    for (size_t i = 1; i < n; i++)
        all[(i - 1) / TREE_FANOUT]->p[(i - 1) % TREE_FANOUT] = all[i];
    for (size_t i = 0; i < n; i++) {
        all[i]->p[4] = all[rng_below(r, n)];
        all[i]->p[5] = all[rng_below(r, n)];
    }
    roots[0] = all[0];
    for (size_t i = 1; i < NROOTS; i++)
        roots[i] = all[rng_below(r, n)];
    /* From here on the graph is reachable only through roots[]. */
    free(all);
}

static void walk(size_t n, size_t *count, uint64_t *sum)
{
    node **stack = xmalloc(n * sizeof *stack);
    size_t sp = 0, c = 0;
    uint64_t s = 0;
    for (size_t i = 0; i < NROOTS; i++) {
        if (roots[i]->seen)
            continue;
        roots[i]->seen = 1;
        stack[sp++] = roots[i];
        while (sp) {
            node *x = stack[--sp];
            c++;
            s += x->val;
            for (int k = 0; k < 6; k++) {
                node *y = x->p[k];
                if (y && !y->seen && sp < n) {
                    y->seen = 1;
                    stack[sp++] = y;
                }
            }
        }
    }
    free(stack);
    *count = c;
    *sum = s;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [LIVE_MIB]\n", argv[0]);
        return 2;
    }
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t n = (mib << 20) / sizeof(node);
    if (n < NROOTS) {
        fprintf(stderr, "gcpause: LIVE_MIB too small\n");
        return 2;
    }
    rng_t r;
    rng_seed(&r, 7);
    build(n, &r);
    double live_mib = (double)(n * sizeof(node)) / (1 << 20);

    /* Looked up at run time: present only when reclaim is the allocator. */
    size_t (*collect)(void) = (size_t (*)(void))dlsym(RTLD_DEFAULT, "reclaim_collect");
    if (collect) {
        double best = 0, t[3];
        for (int i = 0; i < 3; i++) {
            double t0 = now_ms();
            collect();
            t[i] = now_ms() - t0;
            if (i == 0 || t[i] < best)
                best = t[i];
        }
        printf("pause_ms=%.2f live_mib=%.1f ms_per_mib=%.3f (best of 3: %.2f %.2f %.2f ms)\n",
               best, live_mib, best / live_mib, t[0], t[1], t[2]);
    } else {
        printf("pause: not applicable (no reclaim_collect; live_mib=%.1f)\n", live_mib);
    }

    size_t count;
    uint64_t sum;
    walk(n, &count, &sum);
    printf("result: gcpause nodes=%zu reached=%zu checksum=%016llx\n", n, count,
           (unsigned long long)sum);
    return count == n ? 0 : 1;
}
