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

static int epfd_2s, epfd_forever, evfd, pipefd[2];
static sigset_t usr2;

static long call_nanosleep(void)
{
    struct timespec ts = { SLEEP_S, 0 };
    return nanosleep(&ts, NULL);
}

static long call_poll(void) { return poll(NULL, 0, SLEEP_S * 1000); }
static long call_sleep(void) { return sleep(SLEEP_S); }

static long call_epoll(void)
{
    struct epoll_event ev;
    return epoll_wait(epfd_2s, &ev, 1, SLEEP_S * 1000);
}

static long call_epoll_forever(void)
{
    struct epoll_event ev;
    return epoll_wait(epfd_forever, &ev, 1, -1);
}

/* SIGUSR2 is blocked in every thread (main blocks it before it starts
 * any), which sigwaitinfo needs. */
static long call_sigwait(void) { return sigwaitinfo(&usr2, NULL); }

static long call_read(void)
{
    char c;
    return read(pipefd[0], &c, 1);
}

static struct blocked r_nanosleep = { .what = "nanosleep", .call = call_nanosleep,
                                      .ready = &ready };
static struct blocked r_poll = { .what = "poll", .call = call_poll, .ready = &ready };
static struct blocked r_sleep = { .what = "sleep", .call = call_sleep, .ready = &ready };
static struct blocked r_epoll = { .what = "epoll_wait(2 s)", .call = call_epoll, .ready = &ready };
static struct blocked r_epoll_forever = { .what = "epoll_wait(forever)", .call = call_epoll_forever,
                                          .ready = &ready };
static struct blocked r_sigwait = { .what = "sigwaitinfo", .call = call_sigwait, .ready = &ready };
static struct blocked r_read = { .what = "read(pipe)", .call = call_read, .ready = &ready };

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

static void expect_full_sleep(const struct blocked *r, long want_ret)
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
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);

    epfd_2s = epoll_create1(EPOLL_CLOEXEC);
    epfd_forever = epoll_create1(EPOLL_CLOEXEC);
    evfd = eventfd(0, EFD_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN };
    epoll_ctl(epfd_forever, EPOLL_CTL_ADD, evfd, &ev);
    if (pipe(pipefd))
        return 1;

    struct {
        void *(*fn)(void *);
        void *arg;
    } threads[] = { { blocked_thread, &r_nanosleep }, { blocked_thread, &r_poll },
                    { blocked_thread, &r_sleep }, { blocked_thread, &r_epoll },
                    { blocked_thread, &r_epoll_forever }, { blocked_thread, &r_sigwait },
                    { blocked_thread, &r_read }, { t_spin, NULL }, { t_register, NULL } };
    enum { N = sizeof threads / sizeof threads[0] };
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, threads[i].fn, threads[i].arg);
    while (atomic_load(&ready) < N)
        usleep(1000);
    usleep(20000);   /* let the sleepers get into their system calls */

    double total = 0, worst = 0, best = 1e9;
    int reg_found = 0, vreg_found = 0, spinner_moved = 0;
    enum stop_method method = STOP_NONE;
    for (int it = 0; it < ITERATIONS; it++) {
        struct stop_seen seen;
        if (checked_stop("sleepers", it, &spin_count, reg_tid, &seen))
            break;
        method = seen.method;
        spinner_moved += seen.spinner_moved;
        reg_found += seen.reg_found;
        vreg_found += seen.vreg_found;
        total += seen.seconds;
        if (seen.seconds > worst) worst = seen.seconds;
        if (seen.seconds < best) best = seen.seconds;
        usleep(5000);
    }
    printf("method %s: stop+resume with %d threads: mean %.1f us, min %.1f us, max %.1f us "
           "(includes 100 us of checking)\n", stop_method_name(method), N,
           total / ITERATIONS * 1e6, best * 1e6, worst * 1e6);
    CHECK(method == STOP_PTRACE, "method %s, expected ptrace", stop_method_name(method));
    CHECK(!spinner_moved, "the spinning thread ran during %d stops", spinner_moved);
    CHECK(reg_found == ITERATIONS, "register value found in %d of %d stops", reg_found,
          ITERATIONS);
    CHECK(vreg_found == ITERATIONS, "vector register value found in %d of %d stops", vreg_found,
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
