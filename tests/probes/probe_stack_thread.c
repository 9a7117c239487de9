/* Probe: other threads' stacks. Each thread keeps the only pointers to its
 * blocks in its locals and waits on a barrier while the main thread churns
 * and collects; then it checks its blocks itself. One thread has the
 * default stack, one a small stack set through pthread attributes, one a
 * stack the program mmap'd and handed to pthread_attr_setstack. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>

#include "probe.h"

#define NTHREADS 3

static pthread_barrier_t ready, done;
static unsigned bad[NTHREADS];

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    void *slots[PROBE_BLOCKS];
    probe_make(slots, PROBE_BLOCKS, id * 1000);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);       /* main churns in between */
    bad[id] = probe_verify(slots, PROBE_BLOCKS, id * 1000, "thread stack");
    __asm__ __volatile__("" : : "r"(slots) : "memory");
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    pthread_barrier_init(&ready, NULL, NTHREADS + 1);
    pthread_barrier_init(&done, NULL, NTHREADS + 1);

    pthread_t t[NTHREADS];
    pthread_attr_t small, own;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 64 * 1024);
    size_t own_size = 256 * 1024;
    void *own_stack = mmap(NULL, own_size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (own_stack == MAP_FAILED)
        check_fail("mmap of a thread stack failed");
    pthread_attr_init(&own);
    pthread_attr_setstack(&own, own_stack, own_size);
    const char *names[NTHREADS] = { "default stack", "64 KiB stack", "mmap'd stack (pthread_attr_setstack)" };
    if (pthread_create(&t[0], NULL, worker, (void *)0) ||
        pthread_create(&t[1], &small, worker, (void *)1) ||
        pthread_create(&t[2], &own, worker, (void *)2))
        check_fail("pthread_create failed");

    pthread_barrier_wait(&ready);
    probe_churn("while threads wait");
    pthread_barrier_wait(&done);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NTHREADS; i++)
        check(bad[i] == 0, "another thread's stack (%s): %u of %u blocks intact and allocated",
                    names[i], PROBE_BLOCKS - bad[i], PROBE_BLOCKS);
    return check_finish("probe_stack_thread");
}
