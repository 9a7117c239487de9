/* bench/bintree.c: the Benchmarks Game binary-trees shape.
 *
 * Usage: bintree --free|--nofree [MAX_DEPTH]
 * Builds a stretch tree, one long-lived tree, then many short-lived trees of
 * depths 4, 6, ..., MAX_DEPTH, checking (counting) each. Every node is its
 * own 16-byte malloc, so this is an allocation-bound benchmark of tiny
 * blocks that die young.
 *   --free    frees every tree after checking it, as a C program should;
 *   --nofree  never frees anything: under glibc the heap grows with all the
 *             work done, under a collector it stays near the live set (the
 *             long-lived tree plus whatever is in flight).
 * Single-threaded; the result line is the sum of all checks. */
#include "bench.h"

#include <string.h>

#define MIN_DEPTH 4
/* Depth 16 does about 15 M node allocations; without freeing that is about
 * 470 MiB of glibc heap, the most we want a benchmark to take. */
#define DEFAULT_DEPTH 16

typedef struct node {
    struct node *left, *right;
} node;

static node *make(int depth)
{
    node *n = xmalloc(sizeof *n);
    if (depth > 0) {
        n->left = make(depth - 1);
        n->right = make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static long check(const node *n)
{
    return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

static void release(node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    free(n);
}

/* Reached through a global so that the long-lived tree is a root any
 * collector must find, not only a stack slot. */
static node *long_lived;

int main(int argc, char **argv)
{
    int do_free = -1;
    if (argc >= 2 && !strcmp(argv[1], "--free"))
        do_free = 1;
    else if (argc >= 2 && !strcmp(argv[1], "--nofree"))
        do_free = 0;
    if (do_free < 0 || argc > 3) {
        fprintf(stderr, "usage: %s --free|--nofree [MAX_DEPTH]\n", argv[0]);
        return 2;
    }
    int max_depth = argc > 2 ? atoi(argv[2]) : DEFAULT_DEPTH;
    if (max_depth < MIN_DEPTH + 2)
        max_depth = MIN_DEPTH + 2;

    uint64_t h = 0;
    node *stretch = make(max_depth + 1);
    long c = check(stretch);
    h = mix(h, c);
    if (do_free)
        release(stretch);
    stretch = NULL;

    long_lived = make(max_depth);
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + MIN_DEPTH);
        long sum = 0;
        for (long i = 0; i < iterations; i++) {
            node *t = make(d);
            sum += check(t);
            if (do_free)
                release(t);
        }
        h = mix(h, sum);
    }
    h = mix(h, check(long_lived));
    if (do_free)
        release(long_lived);
    printf("result: bintree depth=%d checksum=%016llx\n", max_depth, (unsigned long long)h);
    return 0;
}
