/* What one stop_world() + resume_world() costs, by number of threads and
 * mechanism: threads that sleep (blocked in a futex, the common case) and
 * threads that compute (always runnable; on a machine with fewer CPUs than
 * runnable threads, getting the tracer or the signal handlers scheduled is
 * part of the cost). Prints a table; fails only if a stop fails or misses
 * a thread. */
#include "world.h"

#include <sys/sysinfo.h>

static atomic_int go_away, ready;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&go_away))
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *computer(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load_explicit(&go_away, memory_order_relaxed))
        x++;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and 90th percentile in microseconds. */
static void measure(int n, int computing, int signals, int iters)
{
    pthread_t *th = malloc(sizeof *th * (size_t)(n ? n : 1));
    atomic_store(&go_away, 0);
    atomic_store(&ready, 0);
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, computing ? computer : sleeper, NULL);
    while (atomic_load(&ready) < n)
        usleep(1000);
    usleep(5000);
    stop_force_signals(signals);
    double *t = malloc(sizeof *t * (size_t)iters);
    int ok = 0;
    for (int it = 0; it < iters; it++) {
        struct world w;
        double t0 = now_s();
        int r = stop_world(&w);
        double t1 = now_s();
        if (r == 0) {
            if ((int)w.count == n)
                ok++;
            resume_world(&w);
        }
        t[it] = (now_s() - t0) * 1e6;
        (void)t1;
        usleep(1000);
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    printf("  %4d %-9s %-7s  median %8.1f us   p90 %8.1f us   %s\n", n,
           computing ? "computing" : "sleeping", signals ? "signals" : "ptrace", t[iters / 2],
           t[iters * 9 / 10], ok == iters ? "" : "(SOME STOPS FAILED)");
    CHECK(ok == iters, "%d threads: %d of %d stops succeeded", n, ok, iters);
    free(t);
    stop_force_signals(0);
    pthread_mutex_lock(&mu);
    atomic_store(&go_away, 1);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("stop_world + resume_world, %d CPUs:\n", get_nprocs());
    static const int ns[] = { 0, 1, 4, 16, 64, 256 };
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int sig = 0; sig < 2; sig++)
            measure(ns[i], 0, sig, ns[i] >= 64 ? 20 : 50);
    static const int nc[] = { 1, 4, 16 };
    for (unsigned i = 0; i < sizeof nc / sizeof nc[0]; i++)
        for (int sig = 0; sig < 2; sig++)
            measure(nc[i], 1, sig, 10);
    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
