/* Signals sent to threads around and during a stop are delivered
 * afterwards, none lost, with their siginfo intact.
 *
 * Workers count a queued real-time signal (and sum its si_value) in a
 * handler. Part 1: while the world is stopped, the main thread queues
 * three signals to each worker and a SIGUSR1; no handler may run before
 * resume_world(), and afterwards all of them must have run. Part 2: a
 * child process keeps queueing signals to the workers while the main
 * thread stops and resumes the world 200 times, so that signals also
 * arrive while a thread is being stopped (the tracer sees a
 * signal-delivery-stop and must hand the signal back); every signal the
 * child managed to queue must be delivered, with the same values.
 * Part 3: a thread in epoll_wait(-1), which the stop turns into a restart,
 * must still see EINTR when a signal handler runs (sent during a stop), as
 * it would without the stop. */
#include "world.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#define NWORKERS 4

static int rtsig;
static atomic_long got_count, got_sum, got_usr1;
static atomic_int go_away, ready;
static pid_t worker_tid[NWORKERS];

static void on_rt(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    atomic_fetch_add(&got_count, 1);
    atomic_fetch_add(&got_sum, si->si_value.sival_int);
}

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&got_usr1, 1);
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    worker_tid[i] = gettid_();
    sigset_t s;
    sigemptyset(&s);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    atomic_fetch_add(&ready, 1);
    volatile unsigned long x = 0;
    while (!atomic_load(&go_away)) {
        switch (i) {
        case 0: x++; break;                                   /* spins */
        case 1: { struct timespec ts = { 0, 200000 }; nanosleep(&ts, NULL); break; }
        case 2: sched_yield(); break;
        default: { struct timespec ts = { 0, 3000000 }; nanosleep(&ts, NULL); break; }
        }
    }
    return NULL;
}

static atomic_int ep_ready;
static atomic_long ep_ret = -2, ep_err;
static pid_t ep_tid;

static void *epoll_waiter(void *arg)
{
    int ep = (int)(intptr_t)arg;
    ep_tid = gettid_();
    sigset_t s;
    sigemptyset(&s);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    struct epoll_event ev;
    atomic_store(&ep_ready, 1);
    errno = 0;
    long r = epoll_wait(ep, &ev, 1, -1);
    atomic_store(&ep_err, errno);
    atomic_store(&ep_ret, r);
    return NULL;
}

static int queue_to(pid_t pid, pid_t tid, int sig, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return (int)syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &si);
}

static void wait_for(atomic_long *v, long want)
{
    for (int i = 0; i < 2000 && atomic_load(v) < want; i++)
        usleep(1000);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    rtsig = SIGRTMIN + 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(rtsig, &sa, NULL);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    /* The main thread never takes them: only the workers count. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, rtsig);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);

    pthread_t th[NWORKERS];
    for (int i = 0; i < NWORKERS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    while (atomic_load(&ready) < NWORKERS)
        usleep(1000);

    /* Part 1: signals sent while stopped. */
    long sent = 0, sum = 0;
    for (int it = 0; it < 50; it++) {
        struct world w;
        long c0 = atomic_load(&got_count), u0 = atomic_load(&got_usr1);
        if (stop_world(&w) != 0) {
            CHECK(0, "stop_world failed");
            break;
        }
        for (int i = 0; i < NWORKERS; i++) {
            for (int k = 0; k < 3; k++) {
                int v = it * 100 + i * 10 + k;
                if (queue_to(getpid(), worker_tid[i], rtsig, v) == 0) {
                    sent++;
                    sum += v;
                }
            }
            syscall(SYS_tgkill, getpid(), worker_tid[i], SIGUSR1);
        }
        spin_ns(200000);
        if (atomic_load(&got_count) != c0 || atomic_load(&got_usr1) != u0)
            fail_later("iter %d: a handler ran while the world was stopped", it);
        resume_world(&w);
        flush_failures();
        wait_for(&got_count, sent);
        wait_for(&got_usr1, u0 + NWORKERS);
        CHECK(atomic_load(&got_usr1) >= u0 + NWORKERS, "iter %d: SIGUSR1 lost (%ld of %d)", it,
              atomic_load(&got_usr1) - u0, NWORKERS);
    }
    CHECK(atomic_load(&got_count) == sent, "part 1: %ld signals sent, %ld delivered", sent,
          atomic_load(&got_count));
    CHECK(atomic_load(&got_sum) == sum, "part 1: si_value sum %ld, expected %ld",
          atomic_load(&got_sum), sum);
    printf("part 1: %ld queued signals and %d SIGUSR1 sent during stops, all delivered after\n",
           sent, 50 * NWORKERS);

    /* Part 2: a child process queues signals all along. */
    atomic_store(&got_count, 0);
    atomic_store(&got_sum, 0);
    int res[2], quit[2];
    if (pipe(res) || pipe(quit))
        return 1;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        close(quit[1]);
        long csent = 0, csum = 0;
        int v = 1;
        struct timespec ts = { 0, 50000 };
        for (;;) {
            struct pollfd p = { quit[0], POLLIN, 0 };
            if (poll(&p, 1, 0) > 0)
                break;
            for (int i = 0; i < NWORKERS; i++, v = v % 1000 + 1) {
                if (queue_to(parent, worker_tid[i], rtsig, v) == 0) {
                    csent++;
                    csum += v;
                }
            }
            nanosleep(&ts, NULL);
        }
        long out[2] = { csent, csum };
        if (write(res[1], out, sizeof out) != sizeof out)
            _exit(2);
        _exit(0);
    }
    close(res[1]);
    close(quit[0]);
    usleep(10000);
    int ok_stops = 0;
    for (int it = 0; it < 200; it++) {
        struct world w;
        if (stop_world(&w) != 0) {
            CHECK(0, "part 2: stop_world failed");
            break;
        }
        if (w.count == NWORKERS)
            ok_stops++;
        resume_world(&w);
        usleep(2000);
    }
    close(quit[1]);
    long out[2] = { 0, 0 };
    CHECK(read(res[0], out, sizeof out) == sizeof out, "no result from the sender");
    int status;
    waitpid(child, &status, 0);
    wait_for(&got_count, out[0]);
    usleep(50000);
    printf("part 2: %ld signals queued by another process during 200 stops, %ld delivered\n",
           out[0], atomic_load(&got_count));
    CHECK(ok_stops == 200, "part 2: %d of 200 stops saw all %d workers", ok_stops, NWORKERS);
    CHECK(out[0] > 1000, "part 2: only %ld signals sent", out[0]);
    CHECK(atomic_load(&got_count) == out[0], "part 2: %ld sent, %ld delivered", out[0],
          atomic_load(&got_count));
    CHECK(atomic_load(&got_sum) == out[1], "part 2: si_value sum %ld, expected %ld",
          atomic_load(&got_sum), out[1]);

    /* Part 3. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    pthread_t et;
    long usr1_before = atomic_load(&got_usr1);
    pthread_create(&et, NULL, epoll_waiter, (void *)(intptr_t)ep);
    while (!atomic_load(&ep_ready))
        usleep(1000);
    usleep(20000);
    for (int it = 0; it < 10; it++) {
        struct world w;
        if (stop_world(&w) == 0)
            resume_world(&w);
        usleep(2000);
    }
    CHECK(atomic_load(&ep_ret) == -2, "epoll_wait(-1) returned %ld (errno %ld) after stops",
          atomic_load(&ep_ret), atomic_load(&ep_err));
    struct world w;
    if (stop_world(&w) == 0) {
        syscall(SYS_tgkill, getpid(), ep_tid, SIGUSR1);
        resume_world(&w);
    }
    for (int i = 0; i < 2000 && atomic_load(&ep_ret) == -2; i++)
        usleep(1000);
    printf("part 3: epoll_wait(-1) through 10 stops, then a handler: returned %ld (errno %ld)\n",
           atomic_load(&ep_ret), atomic_load(&ep_err));
    CHECK(atomic_load(&ep_ret) == -1 && atomic_load(&ep_err) == EINTR,
          "epoll_wait(-1) interrupted by a handler returned %ld, errno %ld: expected EINTR",
          atomic_load(&ep_ret), atomic_load(&ep_err));
    CHECK(atomic_load(&got_usr1) == usr1_before + 1, "SIGUSR1 handled %ld times",
          atomic_load(&got_usr1) - usr1_before);
    pthread_join(et, NULL);
    close(ep);

    atomic_store(&go_away, 1);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
