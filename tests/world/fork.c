/* stop_world in the child of a multithreaded parent.
 *
 * The parent runs a spinner (all signals blocked), a sleeper and a thread
 * stopping and resuming the world in a loop, then forks, once from the
 * main thread and once from another thread. The child, alone, must get an
 * empty world; after starting threads of its own it must get exactly
 * those, frozen. The parent must still stop its own threads afterwards. */
#include "world.h"

#include <sys/wait.h>

static atomic_int go_away;
static volatile unsigned long spin_count;
static atomic_int ready;

static void *spinner(void *arg)
{
    struct known *k = register_self((const char *)arg);
    block_all_signals();
    atomic_fetch_add(&ready, 1);
    while (!atomic_load_explicit(&go_away, memory_order_relaxed))
        spin_count++;
    unregister_self(k);
    return NULL;
}

static void *sleeper(void *arg)
{
    struct known *k = register_self((const char *)arg);
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&go_away)) {
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    unregister_self(k);
    return NULL;
}

/* In the child: returns the exit status. */
static int child_main(void)
{
    /* The registry describes the parent's threads: start afresh. */
    atomic_store(&nknown, 0);
    atomic_store(&ready, 0);
    atomic_store(&go_away, 0);
    struct world w;
    if (stop_world(&w) != 0) {
        fprintf(stderr, "child: stop_world failed while alone\n");
        return 1;
    }
    int bad = w.count != 0;
    resume_world(&w);
    if (bad) {
        fprintf(stderr, "child: alone, but %zu threads stopped\n", w.count);
        return 1;
    }
    pthread_t t[3];
    pthread_create(&t[0], NULL, spinner, "child spinner");
    pthread_create(&t[1], NULL, sleeper, "child sleeper");
    pthread_create(&t[2], NULL, spinner, "child spinner 2");
    while (atomic_load(&ready) < 3)
        usleep(1000);
    for (int it = 0; it < 50; it++) {
        if (stop_world(&w) != 0) {
            fprintf(stderr, "child: stop_world failed\n");
            return 1;
        }
        unsigned long before = spin_count;
        spin_ns(50000);
        if (spin_count != before)
            fail_later("child iter %d: a spinner ran while stopped", it);
        if (w.count != 3)
            fail_later("child iter %d: %zu threads stopped, expected 3", it, w.count);
        check_world(&w, it);
        resume_world(&w);
        flush_failures();
        usleep(1000);
    }
    atomic_store(&go_away, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    return failures != 0;
}

static void fork_and_check(const char *from)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_main());
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child forked from %s: status %#x",
          from, status);
    printf("child forked from %s: %s\n", from,
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED");
}

static void *forker(void *arg)
{
    (void)arg;
    fork_and_check("a second thread");
    return NULL;
}

static atomic_int looping;

static void *stopper(void *arg)
{
    (void)arg;
    while (!atomic_load(&looping)) {
        struct world w;
        if (stop_world(&w) == 0)
            resume_world(&w);
        usleep(500);
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t a, b, c;
    pthread_create(&a, NULL, spinner, "parent spinner");
    pthread_create(&b, NULL, sleeper, "parent sleeper");
    while (atomic_load(&ready) < 2)
        usleep(1000);
    /* Forks while another thread stops and resumes the world. */
    pthread_create(&c, NULL, stopper, NULL);
    usleep(5000);
    fork_and_check("the main thread");
    pthread_t f;
    pthread_create(&f, NULL, forker, NULL);
    pthread_join(f, NULL);
    atomic_store(&looping, 1);
    pthread_join(c, NULL);

    /* The parent is still fine. */
    for (int it = 0; it < 20; it++) {
        struct world w;
        if (stop_world(&w) != 0) {
            CHECK(0, "parent: stop_world failed");
            break;
        }
        if (w.count != 2)
            fail_later("parent iter %d: %zu threads stopped, expected 2", it, w.count);
        check_world(&w, it);
        resume_world(&w);
        flush_failures();
    }
    atomic_store(&go_away, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
