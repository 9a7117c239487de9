/* bench/leaky.c: a long-running request loop that leaks.
 *
 * Each request builds a small graph with cycles (20..50 nodes, each with up
 * to 4 random edges and a payload of 16..128 bytes), walks it to compute a
 * result, then frees only some of its nodes and simply drops the rest: the
 * typical server that leaks a little on every request. The result is
 * recorded in a cache of the 64 most recent results, reachable from a
 * global; evicted entries are leaked too. Every request also reads a
 * cached entry (struct and string) back into its result, so a collector
 * that frees something still reachable changes the printed checksum.
 * Under glibc the process grows without bound (to about 650 MiB at the
 * default size); a collector keeps it near the tiny live set.
 * Single-threaded.
 *
 * Usage: leaky [--fixed-arrays] [REQUESTS]
 * The request's node and walk arrays hold exactly its n nodes. With
 * --fixed-arrays they are 50 entries whatever n is, as in many real
 * programs: the entries past n keep pointers left by earlier requests in a
 * live frame, where a conservative collector must take them for roots, and
 * each such old node reaches, through its dangling edges into slots that
 * were freed and reused since, a chain of newer graphs. The printed result
 * is the same either way; only what a collector can prove dead differs. */
#include "bench.h"

#include <string.h>

#define DEFAULT_REQUESTS 150000ul
#define CACHE 64
#define MAX_EDGES 4

typedef struct gnode {
    struct gnode *edge[MAX_EDGES];
    unsigned nedges, id;
    unsigned char *payload;
    size_t payload_len;
    int seen;
} gnode;

typedef struct result {
    uint64_t value;
    unsigned long request;
    char *text;
} result;

/* The cache is the only long-lived data; keeping it in a global makes the
 * data segment the root a collector must scan to keep it. */
static result *cache[CACHE];

static uint64_t walk(gnode *start, gnode **stack, unsigned n)
{
    /* Iterative depth-first walk: cycles are the point of the graph, so
     * nodes are marked as seen. */
    uint64_t v = 0;
    unsigned sp = 0;
    start->seen = 1;
    stack[sp++] = start;
    while (sp) {
        gnode *g = stack[--sp];
        v = v * 1099511628211ull + g->id;
        for (size_t i = 0; i < g->payload_len; i += 16)
            v += g->payload[i];
        for (unsigned e = 0; e < g->nedges; e++) {
            gnode *t = g->edge[e];
            if (!t->seen && sp < n) {
                t->seen = 1;
                stack[sp++] = t;
            }
        }
    }
    return v;
}

#define MAX_NODES 50

static uint64_t request(rng_t *r, unsigned long req, unsigned n, gnode **nodes, gnode **stack)
{
    for (unsigned i = 0; i < n; i++) {
        gnode *g = xmalloc(sizeof *g);
        g->id = req * 64 + i;
        g->nedges = 0;
        g->seen = 0;
        g->payload_len = 16 + rng_below(r, 113);
        g->payload = xmalloc(g->payload_len);
        for (size_t b = 0; b < g->payload_len; b++)
            g->payload[b] = (unsigned char)(g->id + b);
        nodes[i] = g;
    }
    /* A chain through all nodes so that the walk reaches every one, plus
     * random edges that make cycles (including back to the start). */
    for (unsigned i = 0; i < n; i++) {
        gnode *g = nodes[i];
        g->edge[g->nedges++] = nodes[(i + 1) % n];
        unsigned extra = rng_below(r, MAX_EDGES);
        for (unsigned e = 0; e < extra; e++)
            g->edge[g->nedges++] = nodes[rng_below(r, n)];
    }
    uint64_t v = walk(nodes[0], stack, n);

    /* Consult the cache: the entry must still be intact. */
    const result *old = cache[rng_below(r, CACHE)];
    if (old)
        v = mix(v, old->value ^ old->request ^ strlen(old->text) ^ (unsigned char)old->text[4]);

    /* Record the result; the evicted entry is dropped, not freed. */
    result *res = xmalloc(sizeof *res);
    res->value = v;
    res->request = req;
    res->text = xmalloc(48);
    snprintf(res->text, 48, "req %lu -> %016llx", req, (unsigned long long)v);
    cache[req % CACHE] = res;

    /* Free about a third of the nodes (with their payloads); the rest and
     * the payloads of some freed nodes leak. */
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = rng_next(r);
        if (x % 3 == 0) {
            if (x & 8)
                free(nodes[i]->payload);
            free(nodes[i]);
        }
    }
    return v;
}

static __attribute__((noinline)) uint64_t request_exact(rng_t *r, unsigned long req)
{
    unsigned n = 20 + rng_below(r, MAX_NODES - 20 + 1);
    gnode *nodes[n], *stack[n];
    return request(r, req, n, nodes, stack);
}

static __attribute__((noinline)) uint64_t request_fixed(rng_t *r, unsigned long req)
{
    unsigned n = 20 + rng_below(r, MAX_NODES - 20 + 1);
    gnode *nodes[MAX_NODES], *stack[MAX_NODES];
    return request(r, req, n, nodes, stack);
}

int main(int argc, char **argv)
{
    int fixed = argc > 1 && strcmp(argv[1], "--fixed-arrays") == 0;
    if (argc - fixed > 2) {
        fprintf(stderr, "usage: %s [--fixed-arrays] [REQUESTS]\n", argv[0]);
        return 2;
    }
    unsigned long requests = argc - fixed > 1 ? strtoul(argv[1 + fixed], NULL, 10) : DEFAULT_REQUESTS;
    rng_t r;
    rng_seed(&r, 42);
    uint64_t h = 0;
    for (unsigned long q = 0; q < requests; q++)
        h = mix(h, fixed ? request_fixed(&r, q) : request_exact(&r, q));
    for (unsigned c = 0; c < CACHE; c++)
        if (cache[c])
            for (const char *s = cache[c]->text; *s; s++)
                h = mix(h, (unsigned char)*s);
    printf("result: leaky requests=%lu checksum=%016llx\n", requests, (unsigned long long)h);
    return 0;
}
