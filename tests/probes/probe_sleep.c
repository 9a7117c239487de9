/* Probe: sleeping threads must not notice collections. Threads sleep 2 s
 * in nanosleep, clock_nanosleep (absolute deadline), poll and select while
 * the main thread forces collections; each must return success (0) after
 * no less than the full 2 s (CLOCK_MONOTONIC), never early with EINTR. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/select.h>

#include "probe.h"

enum { NANOSLEEP, CLOCK_NANOSLEEP_ABS, POLL, SELECT, KINDS };
static const char *names[KINDS] = { "nanosleep", "clock_nanosleep (TIMER_ABSTIME)", "poll", "select" };
static int rc[KINDS], err[KINDS];
static double elapsed[KINDS];
static volatile int finished;

static void *sleeper(void *arg)
{
    int kind = (int)(uintptr_t)arg;
    double t0 = probe_now();
    int r = -1;
    errno = 0;
    switch (kind) {
    case NANOSLEEP: {
        struct timespec ts = { 2, 0 };
        r = nanosleep(&ts, NULL);
        break;
    }
    case CLOCK_NANOSLEEP_ABS: {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 2;
        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);   /* returns the error */
        break;
    }
    case POLL:
        r = poll(NULL, 0, 2000);
        break;
    case SELECT: {
        struct timeval tv = { 2, 0 };
        r = select(0, NULL, NULL, NULL, &tv);
        break;
    }
    }
    err[kind] = errno;
    elapsed[kind] = probe_now() - t0;
    rc[kind] = r;
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    pthread_t t[KINDS];
    for (int i = 0; i < KINDS; i++)
        if (pthread_create(&t[i], NULL, sleeper, (void *)(uintptr_t)i))
            check_fail("pthread_create failed");
    size_t c0 = probe_collections();
    double t0 = probe_now();
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < KINDS && probe_now() - t0 < 10.0) {
        probe_garbage(1u << 20);
        reclaim_collect();
    }
    for (int i = 0; i < KINDS; i++)
        pthread_join(t[i], NULL);
    size_t c1 = probe_collections();
    check(c1 - c0 >= 20, "%zu collections ran during the sleeps", c1 - c0);
    for (int i = 0; i < KINDS; i++) {
        check(rc[i] == 0 && elapsed[i] >= 2.0,
                    "%s: returned %d (errno %d) after %.3f s (want 0 after >= 2.000 s)", names[i], rc[i],
                    err[i], elapsed[i]);
        if (elapsed[i] > 3.0)
            printf("note: %s overslept by %.3f s\n", names[i], elapsed[i] - 2.0);
    }
    return check_finish("probe_sleep");
}
