/* Threads created and exiting while the world is stopped and resumed.
 *
 * Two spawner threads keep creating short-lived threads (some of which
 * create a thread of their own) while the main thread stops and resumes
 * the world 300 times. Every thread, spawners included, keeps bumping one
 * shared counter: if any thread escaped a stop (say, one being created at
 * that moment), the counter moves while the world is stopped. Every
 * stopped tid must exist and be listed once. */
#include "world.h"

#include <sys/resource.h>

#define ITERATIONS 300
#define MAX_LIVE 40

static atomic_ulong work;
static atomic_int stop_spawning;
static atomic_int live;
static atomic_ulong created;

static void *shortlived(void *arg)
{
    int depth = (int)(intptr_t)arg;
    unsigned n = 200 + (unsigned)(now_ns() % 3000);
    for (unsigned i = 0; i < n; i++) {
        atomic_fetch_add_explicit(&work, 1, memory_order_relaxed);
        if (i % 512 == 0)
            sched_yield();
    }
    if (depth == 0 && atomic_load(&live) < MAX_LIVE && (now_ns() & 1)) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        atomic_fetch_add(&live, 1);
        if (pthread_create(&t, &a, shortlived, (void *)1) == 0)
            atomic_fetch_add(&created, 1);
        else
            atomic_fetch_sub(&live, 1);
        pthread_attr_destroy(&a);
    }
    atomic_fetch_sub(&live, 1);
    return NULL;
}

static void *spawner(void *arg)
{
    (void)arg;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    while (!atomic_load(&stop_spawning)) {
        atomic_fetch_add_explicit(&work, 1, memory_order_relaxed);
        if (atomic_load(&live) >= MAX_LIVE) {
            sched_yield();
            continue;
        }
        pthread_t t;
        atomic_fetch_add(&live, 1);
        if (pthread_create(&t, &a, shortlived, (void *)0) == 0)
            atomic_fetch_add(&created, 1);
        else
            atomic_fetch_sub(&live, 1);
    }
    pthread_attr_destroy(&a);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t sp[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&sp[i], NULL, spawner, NULL);
    usleep(20000);

    int moved = 0;
    size_t most = 0, total = 0;
    pid_t pid = getpid();
    double t0 = now_s();
    for (int it = 0; it < ITERATIONS; it++) {
        struct world w;
        if (stop_world(&w) != 0) {
            CHECK(0, "iter %d: stop_world failed", it);
            break;
        }
        unsigned long before = atomic_load(&work);
        spin_ns(50000);
        if (atomic_load(&work) != before)
            moved++;
        for (size_t i = 0; i < w.count; i++) {
            pid_t tid = w.threads[i].tid;
            if (tid == gettid_())
                fail_later("iter %d: the caller is in its own world", it);
            if (syscall(SYS_tgkill, pid, tid, 0) != 0)
                fail_later("iter %d: tid %d does not exist (%s)", it, (int)tid,
                           stop_method_name(w.method));
            for (size_t j = 0; j < i; j++)
                if (w.threads[j].tid == tid)
                    fail_later("iter %d: tid %d listed twice", it, (int)tid);
        }
        if (w.count > most)
            most = w.count;
        total += w.count;
        resume_world(&w);
        flush_failures();
        usleep(1000);
    }
    double dt = now_s() - t0;
    atomic_store(&stop_spawning, 1);
    pthread_join(sp[0], NULL);
    pthread_join(sp[1], NULL);
    while (atomic_load(&live) > 0)
        usleep(1000);

    printf("%d stops in %.2f s, %lu threads created meanwhile, %.1f threads stopped on "
           "average, at most %zu\n", ITERATIONS, dt, atomic_load(&created),
           (double)total / ITERATIONS, most);
    CHECK(!moved, "some thread ran during %d of %d stops", moved, ITERATIONS);
    CHECK(atomic_load(&created) > 100, "only %lu threads created", atomic_load(&created));
    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
