/* Threads through the exported names. Four threads allocate and free
 * random sizes; half of their blocks travel to another thread through a
 * locked queue and are freed there (remote frees into a span someone else
 * owns). Every block carries a pattern derived from its address, checked
 * just before it is freed, so a block handed out twice or overlapping
 * another shows up. Then 200 short-lived threads: their caches must come
 * back when they exit (the address range the heap hands out stays
 * bounded) and the blocks they leave behind stay intact. Entry-point
 * test: links libreclaim. Assertions happen in the main thread only;
 * workers count problems. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define THREADS 4

static atomic_long errors;
static atomic_long remote_frees;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mostly small sizes, some at the top of the classes, a few large. */
static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 16) {
    case 0: return 16384 + (size_t)(r >> 8) % 200000;
    case 1: case 2: return 1024 + (size_t)(r >> 8) % 15360;
    default: return (size_t)(r >> 8) % 1024;
    }
}

static void check_and_free(void *p, size_t n)
{
    if (!unit_check(p, n))
        atomic_fetch_add(&errors, 1);
    free(p);
}

/* ---- cross-thread frees through locked queues ---- */

struct item {
    struct item *next;
    void *p;
    size_t n;
};

struct queue {
    pthread_mutex_t lock;
    struct item *head;
    long pushed, popped;
};

static struct queue queues[THREADS];
static pthread_barrier_t done_producing;

static void push(struct queue *q, void *p, size_t n)
{
    /* The node itself is one more block freed by another thread. */
    struct item *it = malloc(sizeof *it);
    if (!it) {
        atomic_fetch_add(&errors, 1);
        return;
    }
    it->p = p;
    it->n = n;
    pthread_mutex_lock(&q->lock);
    it->next = q->head;
    q->head = it;
    q->pushed++;
    pthread_mutex_unlock(&q->lock);
}

static int drain(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    struct item *it = q->head;
    q->head = NULL;
    pthread_mutex_unlock(&q->lock);
    int n = 0;
    while (it) {
        struct item *next = it->next;
        check_and_free(it->p, it->n);
        free(it);
        atomic_fetch_add(&remote_frees, 1);
        n++;
        it = next;
    }
    pthread_mutex_lock(&q->lock);
    q->popped += n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

#define LIVE 256
#define ROUNDS 20000

static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    void *live[LIVE] = { 0 };
    size_t size[LIVE] = { 0 };
    struct queue *out = &queues[(id + 1) % THREADS], *in = &queues[id];
    for (int r = 0; r < ROUNDS; r++) {
        unsigned i = (unsigned)(rnd(&seed) % LIVE);
        if (live[i]) {
            if (rnd(&seed) & 1) {
                if (!unit_check(live[i], size[i]))
                    atomic_fetch_add(&errors, 1);
                push(out, live[i], size[i]);
            } else {
                check_and_free(live[i], size[i]);
            }
        }
        size_t n = random_size(&seed);
        void *p = malloc(n);
        if (!p || (uintptr_t)p % 16 || malloc_usable_size(p) < n) {
            atomic_fetch_add(&errors, 1);
            live[i] = NULL;
            continue;
        }
        unit_fill(p, n);
        live[i] = p;
        size[i] = n;
        if (r % 64 == 0)
            drain(in);
    }
    for (unsigned i = 0; i < LIVE; i++)
        if (live[i])
            push(out, live[i], size[i]);
    pthread_barrier_wait(&done_producing);
    drain(in);
    return NULL;
}

Test(threads, cross_thread_frees, .timeout = 120)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&done_producing, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_mutex_init(&queues[i].lock, NULL);
        queues[i].head = NULL;
    }
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&errors), 0, "%ld blocks were corrupt or misallocated",
                 atomic_load(&errors));
    long pushed = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_null(queues[i].head, "queue %d not drained", i);
        cr_assert_eq(queues[i].pushed, queues[i].popped);
        pushed += queues[i].pushed;
    }
    /* About half of the frees must really have crossed threads. */
    cr_assert_gt(atomic_load(&remote_frees), THREADS * ROUNDS / 4, "only %ld remote frees",
                 atomic_load(&remote_frees));
    cr_assert_eq(pushed, atomic_load(&remote_frees));
}

/* ---- short-lived threads ---- */

#define KEEP 32

struct shortlived {
    uint64_t seed;
    void *keep[KEEP];     /* blocks left to the main thread */
    size_t keep_n[KEEP];
    uintptr_t hi;         /* end of the highest block it allocated */
};

/* The slot size of class i, as documented in lib/heap/sizeclass.h: 16..256
 * in steps of 16, then eight classes per doubling. */
static size_t class_size(int i)
{
    if (i < 16)
        return 16 * (size_t)(i + 1);
    size_t base = (size_t)256 << ((i - 16) / 8);
    return base + (size_t)((i - 16) % 8 + 1) * base / 8;
}

static void *short_thread(void *arg)
{
    struct shortlived *s = arg;
    s->hi = 0;
    void *tmp[96];
    size_t tmp_n[96];
    /* One block of every small class so that the thread owns a span per
     * class when it exits, then random ones. */
    for (int i = 0; i < 96; i++) {
        size_t n = i < 64 ? class_size(i) - 1 : random_size(&s->seed);
        tmp[i] = malloc(n);
        tmp_n[i] = n;
        if (!tmp[i]) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        unit_fill(tmp[i], n);
        uintptr_t a = (uintptr_t)tmp[i];
        if (a + n > s->hi)
            s->hi = a + n;
    }
    for (int i = 0; i < 96; i++) {
        if (!tmp[i])
            continue;
        if (i % 3 == 0 && i / 3 < KEEP) {
            s->keep[i / 3] = tmp[i];
            s->keep_n[i / 3] = tmp_n[i];
        } else {
            check_and_free(tmp[i], tmp_n[i]);
        }
    }
    return NULL;
}

/* Runs `count` threads, four at a time; main checks and frees what each
 * left behind after it exited. Returns the highest address handed out. */
static uintptr_t generation(int count, uint64_t seed)
{
    uintptr_t hi = 0;
    for (int done = 0; done < count; done += 4) {
        pthread_t t[4];
        struct shortlived s[4];
        for (int k = 0; k < 4; k++) {
            memset(&s[k], 0, sizeof s[k]);
            s[k].seed = seed + (uint64_t)(done + k) * 7919 + 1;
            cr_assert_eq(pthread_create(&t[k], NULL, short_thread, &s[k]), 0);
        }
        for (int k = 0; k < 4; k++) {
            pthread_join(t[k], NULL);
            if (s[k].hi > hi)
                hi = s[k].hi;
            for (int i = 0; i < KEEP; i++)
                if (s[k].keep[i])
                    check_and_free(s[k].keep[i], s[k].keep_n[i]);
        }
    }
    return hi;
}

Test(threads, exited_threads_return_their_caches, .timeout = 120)
{
    /* Warm up: the heap reaches its working size. */
    uintptr_t hi1 = generation(40, 1);
    uintptr_t hi2 = generation(200, 2);
    cr_assert_eq(atomic_load(&errors), 0, "%ld blocks were corrupt or misallocated",
                 atomic_load(&errors));
    /* Each thread takes a span of every class (about 1 MiB of spans per
     * thread); if exited threads kept them, 200 more threads would push
     * the heap's top up by some 200 MiB. Reused, it barely moves. */
    size_t growth = hi2 > hi1 ? hi2 - hi1 : 0;
    cr_assert_lt(growth, (size_t)64 << 20, "heap top grew by %zu MiB over 200 threads",
                 growth >> 20);
}
