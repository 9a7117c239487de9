/* Stopping the world must be invisible to sleeping threads and must catch
 * every thread, whatever it blocks.
 *
 * Threads: nanosleep(2 s), poll(2 s), sleep(2), epoll_wait(2 s), an
 * epoll_wait and a sigwaitinfo that wait forever (woken by the test after
 * the loop), a read() on a pipe, a thread that blocks every signal and
 * spins, and one that blocks every signal and keeps a value only in a
 * register. Meanwhile the main thread stops and resumes the world 200
 * times and checks each stop: every thread listed once, nothing else, each
 * stack pointer inside its stack, the spinner frozen, the register value
 * captured, errno untouched. The sleepers must return after their full
 * time with success. What the finite epoll_wait did is reported. */
#include "world.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define ITERATIONS 200
#define SLEEP_S 2

static atomic_int ready;
static atomic_int go_away;
static volatile unsigned long spin_count;

struct result {
    const char *what;
    long ret;
    int err;
    double elapsed;
};

static struct result r_nanosleep = { .what = "nanosleep" }, r_poll = { .what = "poll" },
                     r_sleep = { .what = "sleep" }, r_epoll = { .what = "epoll_wait(2 s)" },
                     r_epoll_forever = { .what = "epoll_wait(forever)" },
                     r_sigwait = { .what = "sigwaitinfo" }, r_read = { .what = "read(pipe)" };

static int epfd_forever, evfd, pipefd[2];

static void *t_nanosleep(void *arg)
{
    (void)arg;
    struct known *k = register_self("nanosleep");
    atomic_fetch_add(&ready, 1);
    struct timespec ts = { SLEEP_S, 0 };
    double t0 = now_s();
    errno = 0;
    r_nanosleep.ret = nanosleep(&ts, NULL);
    r_nanosleep.err = errno;
    r_nanosleep.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_poll(void *arg)
{
    (void)arg;
    struct known *k = register_self("poll");
    atomic_fetch_add(&ready, 1);
    double t0 = now_s();
    errno = 0;
    r_poll.ret = poll(NULL, 0, SLEEP_S * 1000);
    r_poll.err = errno;
    r_poll.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_sleep(void *arg)
{
    (void)arg;
    struct known *k = register_self("sleep");
    atomic_fetch_add(&ready, 1);
    double t0 = now_s();
    errno = 0;
    r_sleep.ret = sleep(SLEEP_S);
    r_sleep.err = errno;
    r_sleep.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_epoll(void *arg)
{
    (void)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct known *k = register_self("epoll_wait(2 s)");
    atomic_fetch_add(&ready, 1);
    struct epoll_event ev;
    double t0 = now_s();
    errno = 0;
    r_epoll.ret = epoll_wait(ep, &ev, 1, SLEEP_S * 1000);
    r_epoll.err = errno;
    r_epoll.elapsed = now_s() - t0;
    close(ep);
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_epoll_forever(void *arg)
{
    (void)arg;
    struct known *k = register_self("epoll_wait(forever)");
    atomic_fetch_add(&ready, 1);
    struct epoll_event ev;
    double t0 = now_s();
    errno = 0;
    r_epoll_forever.ret = epoll_wait(epfd_forever, &ev, 1, -1);
    r_epoll_forever.err = errno;
    r_epoll_forever.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_sigwait(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    struct known *k = register_self("sigwaitinfo");
    atomic_fetch_add(&ready, 1);
    double t0 = now_s();
    errno = 0;
    r_sigwait.ret = sigwaitinfo(&s, NULL);
    r_sigwait.err = errno;
    r_sigwait.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_read(void *arg)
{
    (void)arg;
    struct known *k = register_self("read(pipe)");
    atomic_fetch_add(&ready, 1);
    char c;
    double t0 = now_s();
    errno = 0;
    r_read.ret = read(pipefd[0], &c, 1);
    r_read.err = errno;
    r_read.elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static void *t_spin(void *arg)
{
    (void)arg;
    block_all_signals();
    struct known *k = register_self("spinner (all signals blocked)");
    atomic_fetch_add(&ready, 1);
    while (!atomic_load_explicit(&go_away, memory_order_relaxed))
        spin_count++;
    linger();
    unregister_self(k);
    return NULL;
}

static pid_t reg_tid;

static void *t_register(void *arg)
{
    (void)arg;
    block_all_signals();
    struct known *k = register_self("register holder (all signals blocked)");
    reg_tid = k->tid;
    atomic_fetch_add(&ready, 1);
    hold_in_register(register_magic());
    linger();
    unregister_self(k);
    return NULL;
}

static void expect_full_sleep(const struct result *r, long want_ret)
{
    printf("  %-22s returned %ld (errno %d) after %.3f s\n", r->what, r->ret, r->err, r->elapsed);
    CHECK(r->ret == want_ret, "%s returned %ld, errno %d (%s)", r->what, r->ret, r->err,
          strerror(r->err));
    CHECK(r->elapsed >= SLEEP_S - 0.001, "%s woke early: %.3f s", r->what, r->elapsed);
    CHECK(r->elapsed < SLEEP_S + 1.0, "%s woke late: %.3f s", r->what, r->elapsed);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* SIGUSR2 is for sigwaitinfo only; nobody else takes it. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);

    epfd_forever = epoll_create1(EPOLL_CLOEXEC);
    evfd = eventfd(0, EFD_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(epfd_forever, EPOLL_CTL_ADD, evfd, &ev);
    if (pipe(pipefd))
        return 1;

    void *(*fns[])(void *) = { t_nanosleep, t_poll, t_sleep, t_epoll, t_epoll_forever,
                               t_sigwait, t_read, t_spin, t_register };
    enum { N = sizeof fns / sizeof fns[0] };
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, fns[i], NULL);
    while (atomic_load(&ready) < N)
        usleep(1000);
    usleep(20000);   /* let the sleepers get into their system calls */

    double total = 0, worst = 0, best = 1e9;
    int reg_found = 0, spinner_moved = 0;
    enum stop_method method = STOP_NONE;
    for (int it = 0; it < ITERATIONS; it++) {
        struct world w;
        errno = 4242;
        double t0 = now_s();
        int r = stop_world(&w);
        if (r != 0) {
            CHECK(0, "iter %d: stop_world returned %d", it, r);
            break;
        }
        if (errno != 4242)
            fail_later("iter %d: stop_world changed errno to %d", it, errno);
        method = w.method;
        unsigned long before = spin_count;
        spin_ns(100000);
        if (spin_count != before)
            spinner_moved++;
        check_world(&w, it);
        if ((int)w.count != live_known())
            fail_later("iter %d: %zu threads stopped, %d alive", it, w.count, live_known());
        const struct stopped_thread *rt = find_stopped(&w, reg_tid);
        if (rt && regs_contain(rt, register_magic()))
            reg_found++;
        resume_world(&w);
        double dt = now_s() - t0;
        if (errno != 4242)
            fail_later("iter %d: resume_world changed errno to %d", it, errno);
        total += dt;
        if (dt > worst) worst = dt;
        if (dt < best) best = dt;
        flush_failures();
        usleep(5000);
    }
    printf("method %s: stop+resume with %d threads: mean %.1f us, min %.1f us, max %.1f us "
           "(includes 100 us of checking)\n", stop_method_name(method), N,
           total / ITERATIONS * 1e6, best * 1e6, worst * 1e6);
    CHECK(method == STOP_PTRACE, "method %s, expected ptrace", stop_method_name(method));
    CHECK(!spinner_moved, "the spinning thread ran during %d stops", spinner_moved);
    CHECK(reg_found == ITERATIONS, "register value found in %d of %d stops", reg_found,
          ITERATIONS);

    uint64_t one = 1;
    if (write(evfd, &one, sizeof one) != sizeof one)
        return 1;
    pthread_kill(th[5], SIGUSR2);
    if (write(pipefd[1], "x", 1) != 1)
        return 1;
    atomic_store(&linger_release, 1);
    atomic_store(&go_away, 1);
    atomic_store(&reg_release, 1);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);

    printf("sleepers:\n");
    expect_full_sleep(&r_nanosleep, 0);
    expect_full_sleep(&r_poll, 0);
    expect_full_sleep(&r_sleep, 0);
    printf("  %-22s returned %ld (errno %d %s) after %.3f s\n", r_epoll.what, r_epoll.ret,
           r_epoll.err, r_epoll.ret < 0 ? strerror(r_epoll.err) : "", r_epoll.elapsed);
    if (r_epoll.ret < 0 && r_epoll.err == EINTR)
        printf("  note: epoll_wait with a finite timeout returns EINTR when a thread is "
               "stopped (kernel behaviour, as with SIGSTOP/SIGCONT; see stop.c)\n");
    else
        expect_full_sleep(&r_epoll, 0);
    printf("  %-22s returned %ld (errno %d)\n", r_epoll_forever.what, r_epoll_forever.ret,
           r_epoll_forever.err);
    CHECK(r_epoll_forever.ret == 1, "epoll_wait(forever) returned %ld, errno %d (%s)",
          r_epoll_forever.ret, r_epoll_forever.err, strerror(r_epoll_forever.err));
    printf("  %-22s returned %ld (errno %d)\n", r_sigwait.what, r_sigwait.ret, r_sigwait.err);
    CHECK(r_sigwait.ret == SIGUSR2, "sigwaitinfo returned %ld, errno %d (%s)", r_sigwait.ret,
          r_sigwait.err, strerror(r_sigwait.err));
    printf("  %-22s returned %ld (errno %d)\n", r_read.what, r_read.ret, r_read.err);
    CHECK(r_read.ret == 1, "read returned %ld, errno %d (%s)", r_read.ret, r_read.err,
          strerror(r_read.err));

    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
