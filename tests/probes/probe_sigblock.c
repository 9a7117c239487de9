/* Probe: threads that block every signal (pthread_sigmask SIG_SETMASK with
 * a full set) and allocate while collections run. Four such threads loop:
 * make a set of blocks whose only pointers are on their stack, allocate
 * garbage (which triggers collections from these threads too), verify the
 * set. The main thread forces collections meanwhile. A collector that
 * stops threads with signals cannot stop these; it must not corrupt them
 * either way. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "probe.h"

#define THREADS 4
#define SET 40

static volatile int stop;
static unsigned rounds[THREADS], bad[THREADS];
static int mask_ok[THREADS];

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    sigset_t all, now;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    while (!stop) {
        void *slots[SET];
        unsigned base = id * 100000 + rounds[id] % 1000 * 50;
        probe_make(slots, SET, base);
        probe_garbage(1u << 20);
        bad[id] += probe_verify(slots, SET, base, "signal-blocking thread");
        for (unsigned i = 0; i < SET; i++)
            free(slots[i]);
        rounds[id]++;
    }
    /* the collector must not have changed the mask either */
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    mask_ok[id] = sigismember(&now, SIGUSR1) && sigismember(&now, SIGSEGV) &&
                  sigismember(&now, SIGRTMIN);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    pthread_t t[THREADS];
    size_t c0 = probe_collections();
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
            check_fail("pthread_create failed");
    double t0 = probe_now();
    while (probe_now() - t0 < 2.5) {
        probe_garbage(1u << 20);
        reclaim_collect();
        /* leave the workers room to run between forced collections */
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    stop = 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    size_t c1 = probe_collections();
    check(c1 - c0 >= 20, "%zu collections ran while the threads worked", c1 - c0);
    for (int i = 0; i < THREADS; i++) {
        check(rounds[i] > 0 && bad[i] == 0,
                    "thread %d blocking all signals: %u rounds of %d blocks, %u bad", i, rounds[i],
                    SET, bad[i]);
        check(mask_ok[i], "thread %d: its signal mask is still full", i);
    }
    return check_finish("probe_sigblock");
}
