/* Probe: lost memory is reclaimed. Three phases, each allocating only the
 * structure it then loses (so the growth of reclaimed_blocks over the
 * phase counts exactly its blocks):
 *   - 20000 lost cycles (pairs and triangles pointing at each other);
 *   - a lost singly linked list of 2 million nodes;
 *   - leaks of threads that exited: 8 threads each allocate 2000 blocks,
 *     keep them in a list on their stack and in their TLS, and exit.
 * Each phase must see reclaimed_blocks grow by at least its block count. */
#define _GNU_SOURCE
#include <pthread.h>

#include "probe.h"

struct node { struct node *next; uintptr_t v; };

static PROBE_NOINLINE size_t make_cycles(unsigned n)
{
    size_t blocks = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned len = 2 + i % 2;
        struct node *first = malloc(sizeof *first), *prev = first;
        if (!first)
            check_fail("malloc failed");
        for (unsigned k = 1; k < len; k++) {
            struct node *nd = malloc(sizeof *nd + (i % 7) * 16);
            if (!nd)
                check_fail("malloc failed");
            prev->next = nd;
            prev = nd;
        }
        prev->next = first;
        blocks += len;
    }
    return blocks;
}

static PROBE_NOINLINE void make_list(size_t n)
{
    struct node *head = NULL;
    for (size_t i = 0; i < n; i++) {
        struct node *nd = malloc(sizeof *nd);
        if (!nd)
            check_fail("malloc failed at node %zu", i);
        nd->next = head;
        nd->v = i;
        head = nd;
    }
    probe_sink = NULL;
    __asm__ __volatile__("" : : "r"(head) : "memory");
}

#define THREADS 8
#define PER_THREAD 2000
static __thread struct node *thread_list;

static void *leaker(void *arg)
{
    (void)arg;
    struct node *head = NULL;
    for (int i = 0; i < PER_THREAD; i++) {
        struct node *nd = malloc(sizeof *nd + (size_t)(i % 5) * 24);
        if (!nd)
            check_fail("malloc failed");
        nd->next = head;
        head = nd;
    }
    thread_list = head;
    __asm__ __volatile__("" : : "r"(head) : "memory");
    return NULL;
}

/* Runs fn (which returns how many blocks it lost), then collections;
 * *got: how many blocks were reclaimed over the phase. */
static size_t phase(size_t (*fn)(void), size_t *got)
{
    reclaim_collect();
    size_t r0 = probe_reclaimed();
    size_t lost = fn();
    probe_scrub();
    reclaim_collect();
    reclaim_collect();
    *got = probe_reclaimed() - r0;
    return lost;
}

static size_t cycles(void) { return make_cycles(20000); }
static size_t list(void) { make_list(2000000); return 2000000; }

static size_t threads(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, leaker, NULL))
            check_fail("pthread_create failed");
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return (size_t)THREADS * PER_THREAD;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    double t0 = probe_now();
    size_t got, lost = phase(cycles, &got);
    check(got >= lost, "20000 lost cycles: %zu blocks reclaimed, %zu lost", got, lost);

    lost = phase(list, &got);
    check(got >= lost, "lost list of 2 million nodes: %zu blocks reclaimed, %zu lost", got, lost);

    lost = phase(threads, &got);
    check(got >= lost, "leaks of %d exited threads: %zu blocks reclaimed, %zu lost",
                THREADS, got, lost);
    printf("note: %.2f s\n", probe_now() - t0);
    return check_finish("probe_lost");
}
