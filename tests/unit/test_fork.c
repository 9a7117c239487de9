/* fork from a multithreaded process. While three threads churn
 * malloc/free, the main thread forks 20 times. Each child checks the
 * blocks the (now vanished) threads had published, frees half of them
 * (their spans belonged to caches that no longer exist), allocates and
 * frees small and large blocks, runs threads of its own doing the same,
 * and exits 0 only if every pattern checked out. A heap lock left held
 * across fork shows up as a hung child (killed by its alarm) and a stale
 * cache as corruption. Entry-point test: links libreclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define CHURNERS 3
#define SLOTS 128
#define FORKS 20

/* A published block: p is set (release) only once the block is filled
 * and n is written, and cleared before the block is freed, so a fork
 * snapshot never sees a dangling or half-written entry. */
struct slot {
    _Atomic(void *) p;
    size_t n;
};

static struct slot slots[CHURNERS][SLOTS];
static atomic_int stop;
static atomic_long rounds[CHURNERS];
static atomic_long parent_errors;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    if (r % 40 == 0)
        return 16384 + (size_t)(r >> 8) % 50000;
    return 1 + (size_t)(r >> 8) % 3000;
}

/* The churners mostly take slow paths (large blocks, big classes with few
 * slots per span), so that a fork often lands while one of them holds a
 * heap lock: that is what the fork handlers are for. They mark only the
 * ends of a block, to spend their time in the allocator. */
static size_t churn_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    if (r % 3 == 0)
        return 16384 + (size_t)(r >> 8) % 200000;
    return 1 + (size_t)(r >> 8) % 16383;
}

#define END 256

static void mark(void *p, size_t n)
{
    if (n <= 2 * END) {
        unit_fill(p, n);
        return;
    }
    unit_fill_key(p, END, unit_key(p, n));
    unit_fill_key((char *)p + n - END, END, ~unit_key(p, n));
}

static int marked(const void *p, size_t n)
{
    if (n <= 2 * END)
        return unit_check(p, n);
    return unit_check_key(p, END, unit_key(p, n)) &&
           unit_check_key((const char *)p + n - END, END, ~unit_key(p, n));
}

static void *churn(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t seed = 0x2545f4914f6cdd1dull * (uint64_t)(id + 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        struct slot *s = &slots[id][rnd(&seed) % SLOTS];
        void *old = atomic_exchange(&s->p, NULL);
        if (old) {
            if (!marked(old, s->n))
                atomic_fetch_add(&parent_errors, 1);
            free(old);
        }
        size_t n = churn_size(&seed);
        void *p = malloc(n);
        if (!p) {
            atomic_fetch_add(&parent_errors, 1);
            continue;
        }
        mark(p, n);
        s->n = n;
        atomic_store_explicit(&s->p, p, memory_order_release);
        atomic_fetch_add_explicit(&rounds[id], 1, memory_order_relaxed);
    }
    return NULL;
}

/* ---- in the child ---- */

static atomic_long child_errors;

static void local_work(uint64_t seed, int ops)
{
    enum { N = 64 };
    void *b[N] = { 0 };
    size_t bn[N] = { 0 };
    for (int r = 0; r < ops; r++) {
        unsigned i = (unsigned)(rnd(&seed) % N);
        if (b[i]) {
            if (!unit_check(b[i], bn[i]))
                atomic_fetch_add(&child_errors, 1);
            free(b[i]);
        }
        bn[i] = random_size(&seed);
        b[i] = malloc(bn[i]);
        if (!b[i]) {
            atomic_fetch_add(&child_errors, 1);
            continue;
        }
        unit_fill(b[i], bn[i]);
    }
    for (unsigned i = 0; i < N; i++)
        if (b[i]) {
            if (!unit_check(b[i], bn[i]))
                atomic_fetch_add(&child_errors, 1);
            free(b[i]);
        }
}

static void *child_thread(void *arg)
{
    local_work((uint64_t)(uintptr_t)arg * 977 + 5, 1000);
    return NULL;
}

/* Checks (and with free_them, frees every other one of) the blocks the
 * parent's threads had published when the fork happened. */
static void inherited(int free_them)
{
    for (int t = 0; t < CHURNERS; t++)
        for (int i = 0; i < SLOTS; i++) {
            void *p = atomic_load_explicit(&slots[t][i].p, memory_order_acquire);
            if (!p)
                continue;
            if (!marked(p, slots[t][i].n))
                atomic_fetch_add(&child_errors, 1);
            if (free_them && i % 2) {
                atomic_store(&slots[t][i].p, NULL);
                free(p);
            }
        }
}

static __attribute__((noreturn)) void child(int k)
{
    /* A hang guard, not a timing check: a deadlocked child must end. */
    alarm(20);
    inherited(1);
    local_work((uint64_t)k * 31 + 1, 1000);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        if (pthread_create(&t[i], NULL, child_thread, (void *)(uintptr_t)(k * 3 + i + 1)))
            _exit(3);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    inherited(0);
    _exit(atomic_load(&child_errors) ? 1 : 0);
}

Test(fork, from_a_multithreaded_process, .timeout = 240)
{
    pthread_t t[CHURNERS];
    for (int i = 0; i < CHURNERS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i), 0);
    /* Forks should land while every churner is busy. */
    for (int i = 0; i < CHURNERS; i++)
        while (atomic_load(&rounds[i]) < 1000)
            sched_yield();

    int status[FORKS];
    for (int k = 0; k < FORKS; k++) {
        /* Some allocation of the forking thread's own around each fork. */
        void *mine = malloc((size_t)k * 1000 + 10);
        cr_assert_not_null(mine);
        unit_fill(mine, (size_t)k * 1000 + 10);
        pid_t pid = fork();
        cr_assert_geq(pid, 0, "fork failed");
        if (pid == 0)
            child(k);
        cr_assert(unit_check(mine, (size_t)k * 1000 + 10));
        free(mine);
        while (waitpid(pid, &status[k], 0) < 0)
            cr_assert_eq(errno, EINTR);
        if (WIFSIGNALED(status[k]) && WTERMSIG(status[k]) == SIGALRM) {
            atomic_store(&stop, 1);
            cr_assert_fail("child %d hung (killed by its alarm): a heap lock held across fork?", k);
        }
    }

    atomic_store(&stop, 1);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < FORKS; k++) {
        cr_assert(WIFEXITED(status[k]) && WEXITSTATUS(status[k]) == 0,
                  "child %d failed: status %#x", k, status[k]);
    }
    cr_assert_eq(atomic_load(&parent_errors), 0, "%ld corrupt blocks in the parent",
                 atomic_load(&parent_errors));
    for (int t2 = 0; t2 < CHURNERS; t2++)
        for (int i = 0; i < SLOTS; i++) {
            void *p = atomic_load(&slots[t2][i].p);
            if (p) {
                cr_assert(marked(p, slots[t2][i].n));
                free(p);
            }
        }
}
