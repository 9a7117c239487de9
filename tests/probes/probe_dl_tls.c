/* Probe: dynamic TLS. A __thread array of a dlopen'd library lives in a
 * block glibc allocates on the first access from each thread (with
 * malloc, so in reclaim's heap), reached only through the thread's DTV,
 * itself reached from the thread control block. The only pointers to the
 * blocks sit in that array, for the main thread and for another thread
 * that waits while the main thread churns. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

#include "probe.h"

typedef void **(*slots_fn)(void);
static slots_fn tls_slots;
static pthread_barrier_t ready, done;
static unsigned thread_bad;
static int thread_in_heap;

static void *worker(void *arg)
{
    (void)arg;
    probe_make(tls_slots(), PROBE_BLOCKS, 500);
    thread_in_heap = reclaim_block_start(tls_slots()) != NULL;
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    thread_bad = probe_verify(tls_slots(), PROBE_BLOCKS, 500, "thread's dynamic TLS");
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", PROBE_LIBDIR, "probe_dl_a.so");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        check_fail("dlopen %s: %s", path, dlerror());
    tls_slots = (slots_fn)dlsym(h, "probe_dl_tls_slots");
    if (!tls_slots)
        check_fail("dlsym: %s", dlerror());

    probe_make(tls_slots(), PROBE_BLOCKS, 0);
    printf("note: the main thread's dynamic TLS block is %s reclaim's heap\n",
           reclaim_block_start(tls_slots()) ? "inside" : "outside");

    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL))
        check_fail("pthread_create failed");
    pthread_barrier_wait(&ready);
    printf("note: the other thread's dynamic TLS block is %s reclaim's heap\n",
           thread_in_heap ? "inside" : "outside");
    probe_churn("dynamic TLS");
    probe_report(tls_slots(), PROBE_BLOCKS, 0, "main thread's dynamic TLS (__thread in a dlopen'd library)");
    pthread_barrier_wait(&done);
    pthread_join(t, NULL);
    check(thread_bad == 0, "another thread's dynamic TLS: %u of %u blocks intact and allocated",
                PROBE_BLOCKS - thread_bad, PROBE_BLOCKS);
    return check_finish("probe_dl_tls");
}
