/* Probe: static TLS of the executable (__thread arrays, initialised and
 * zero-initialised), for the main thread and for another thread that
 * waits while the main thread churns. */
#define _GNU_SOURCE
#include <pthread.h>

#include "probe.h"

#define HALF (PROBE_BLOCKS / 2)

__thread void *probe_tdata[HALF] = { (void *)1 };   /* .tdata */
__thread void *probe_tbss[HALF];                    /* .tbss */

static pthread_barrier_t ready, done;
static unsigned thread_bad;

static void *worker(void *arg)
{
    (void)arg;
    probe_make(probe_tdata, HALF, 300);
    probe_make(probe_tbss, HALF, 300 + HALF);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    thread_bad = probe_verify(probe_tdata, HALF, 300, "thread .tdata") +
                 probe_verify(probe_tbss, HALF, 300 + HALF, "thread .tbss");
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    probe_make(probe_tdata, HALF, 0);
    probe_make(probe_tbss, HALF, HALF);

    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL))
        check_fail("pthread_create failed");
    pthread_barrier_wait(&ready);
    probe_churn("static TLS");
    probe_report(probe_tdata, HALF, 0, "main thread's static TLS (.tdata)");
    probe_report(probe_tbss, HALF, HALF, "main thread's static TLS (.tbss)");
    pthread_barrier_wait(&done);
    pthread_join(t, NULL);
    check(thread_bad == 0, "another thread's static TLS: %u of %u blocks intact and allocated",
                PROBE_BLOCKS - thread_bad, PROBE_BLOCKS);
    return check_finish("probe_tls");
}
