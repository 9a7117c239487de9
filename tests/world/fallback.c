/* The signal fallback (forced with stop_force_signals(1), as if ptrace
 * were refused).
 *
 * It must stop every thread and capture its registers and stack pointer
 * like the ptrace path; restore the program's own handler of the signal it
 * borrows (and pass the program's own instance of that signal to it); keep
 * errno; restart a read() (SA_RESTART). A thread that blocks every signal
 * cannot be stopped this way: stop_world() must then return -1 with
 * nothing stopped, and work again once that thread is gone. The ptrace
 * path, unforced, stops such a thread. What the fallback does to a
 * nanosleep is reported (EINTR is its documented cost). Last, a real
 * refusal: a child process that is not dumpable and lacks CAP_SYS_PTRACE
 * cannot be traced, and stop_world() must fall back to signals by itself. */
#include "world.h"

#include <linux/capability.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define BORROWED 63   /* the signal stop.c uses */
#define ITERATIONS 100

static atomic_int go_away, ready, blocker_go;
static volatile unsigned long spin_count;
static atomic_long prog_count;
static int pipefd[2];
static pid_t spin_tid, reg_tid;

static void prog_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    atomic_fetch_add(&prog_count, 1);
}

static void *t_spin(void *arg)
{
    (void)arg;
    struct known *k = register_self("spinner");
    spin_tid = k->tid;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load_explicit(&go_away, memory_order_relaxed))
        spin_count++;
    unregister_self(k);
    return NULL;
}

static void *t_register(void *arg)
{
    (void)arg;
    sigset_t s;
    sigfillset(&s);
    sigdelset(&s, BORROWED);
    pthread_sigmask(SIG_SETMASK, &s, NULL);
    struct known *k = register_self("register holder");
    reg_tid = k->tid;
    atomic_fetch_add(&ready, 1);
    hold_in_register(register_magic());
    unregister_self(k);
    return NULL;
}

static long call_read(void)
{
    char c;
    return read(pipefd[0], &c, 1);
}

static long call_nanosleep(void)
{
    struct timespec ts = { 1, 0 };
    return nanosleep(&ts, NULL);
}

static struct blocked r_read = { .what = "read(pipe)", .call = call_read, .ready = &ready,
                                 .ret = -2 };
static struct blocked r_nanosleep = { .what = "nanosleep", .call = call_nanosleep,
                                      .ready = &ready, .ret = -2 };

static void *t_blocker(void *arg)
{
    (void)arg;
    block_all_signals();
    struct known *k = register_self("blocks every signal");
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&blocker_go))
        usleep(1000);
    unregister_self(k);
    return NULL;
}

static int handler_is_ours(void)
{
    struct sigaction cur;
    sigaction(BORROWED, NULL, &cur);
    return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == prog_handler;
}

/* n stops that must succeed with the given method. */
static void stops(int n, enum stop_method want, const char *phase)
{
    int reg_found = 0, vreg_found = 0, moved = 0;
    double total = 0;
    for (int it = 0; it < n; it++) {
        struct stop_seen seen;
        if (checked_stop(phase, it, &spin_count, reg_tid, &seen))
            return;
        if (seen.method != want)
            CHECK(0, "%s, iter %d: method %s", phase, it, stop_method_name(seen.method));
        moved += seen.spinner_moved;
        reg_found += seen.reg_found;
        vreg_found += seen.vreg_found;
        total += seen.seconds;
        CHECK(handler_is_ours(), "%s, iter %d: the program's handler was not restored", phase,
              it);
        usleep(2000);
    }
    printf("%s: %d stops by %s, mean stop+resume %.1f us (includes 100 us of checking)\n",
           phase, n, stop_method_name(want), total / n * 1e6);
    CHECK(!moved, "%s: the spinner ran during %d stops", phase, moved);
    CHECK(reg_found == n, "%s: register value found in %d of %d stops", phase, reg_found, n);
    CHECK(vreg_found == n, "%s: vector register value found in %d of %d stops", phase, vreg_found,
          n);
}

static void *t_idle(void *arg)
{
    (void)arg;
    while (!atomic_load(&go_away))
        usleep(1000);
    return NULL;
}

/* In a child: ptrace refused for real. 0 ok, 1 failed, 2 cannot refuse. */
static int refused_child(void)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) == 0) {
        d[0].effective &= ~(1u << CAP_SYS_PTRACE);
        if (syscall(SYS_capset, &h, d) != 0)
            return 2;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 2;
    atomic_store(&go_away, 0);
    pthread_t t;
    pthread_create(&t, NULL, t_idle, NULL);
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        struct world w;
        if (stop_world(&w) != 0) {
            fprintf(stderr, "refused child: stop_world failed\n");
            bad = 1;
            break;
        }
        if (w.method != STOP_SIGNAL || w.count != 1) {
            fprintf(stderr, "refused child: method %s, %zu threads\n",
                    stop_method_name(w.method), w.count);
            bad = 1;
        }
        resume_world(&w);
    }
    atomic_store(&go_away, 1);
    pthread_join(t, NULL);
    return bad;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prog_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(BORROWED, &sa, NULL);
    if (pipe(pipefd))
        return 1;

    pthread_t th[4];
    pthread_create(&th[0], NULL, t_spin, NULL);
    pthread_create(&th[1], NULL, t_register, NULL);
    pthread_create(&th[2], NULL, blocked_thread, &r_read);
    pthread_create(&th[3], NULL, blocked_thread, &r_nanosleep);
    while (atomic_load(&ready) < 4)
        usleep(1000);
    usleep(10000);

    stop_force_signals(1);
    stops(ITERATIONS, STOP_SIGNAL, "fallback");

    /* The program's own signal 63, sent during a stop, reaches its handler. */
    struct world w;
    CHECK(stop_world(&w) == 0, "stop_world failed");
    syscall(SYS_tgkill, getpid(), spin_tid, BORROWED);
    resume_world(&w);
    for (int i = 0; i < 1000 && atomic_load(&prog_count) < 1; i++)
        usleep(1000);
    CHECK(atomic_load(&prog_count) == 1, "the program's signal %d reached its handler %ld times",
          BORROWED, atomic_load(&prog_count));

    /* A thread that blocks every signal: no stop. */
    pthread_t blk;
    atomic_store(&ready, 0);
    pthread_create(&blk, NULL, t_blocker, NULL);
    while (atomic_load(&ready) < 1)
        usleep(1000);
    fprintf(stderr, "(a message about a thread blocking signal %d is expected here)\n",
            BORROWED);
    errno = 555;
    double t0 = now_s();
    int r = stop_world(&w);
    double dt = now_s() - t0;
    CHECK(r == -1, "stop_world returned %d with a thread blocking every signal", r);
    CHECK(errno == 555, "errno changed to %d", errno);
    CHECK(w.count == 0 && w.method == STOP_NONE, "failed stop_world left count %zu, method %s",
          w.count, stop_method_name(w.method));
    if (r == 0)
        resume_world(&w);
    printf("with a thread blocking every signal: stop_world returned %d after %.1f ms\n", r,
           dt * 1e3);
    unsigned long before = spin_count;
    usleep(20000);
    CHECK(spin_count != before, "the spinner is not running after a failed stop");
    CHECK(handler_is_ours(), "the program's handler was not restored after a failed stop");

    /* The ptrace path stops it. */
    stop_force_signals(0);
    stops(20, STOP_PTRACE, "ptrace, with the blocking thread");

    atomic_store(&blocker_go, 1);
    pthread_join(blk, NULL);
    stop_force_signals(1);
    stops(20, STOP_SIGNAL, "fallback, blocking thread gone");

    if (write(pipefd[1], "x", 1) != 1)
        return 1;
    atomic_store(&linger_release, 1);
    pthread_join(th[2], NULL);
    pthread_join(th[3], NULL);
    atomic_store(&go_away, 1);
    atomic_store(&reg_release, 1);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    stop_force_signals(0);
    pid_t child = fork();
    if (child == 0)
        _exit(refused_child());
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        printf("could not make a process ptrace refuses: that part skipped\n");
    } else {
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "fallback where ptrace is refused for real: status %#x", status);
        printf("non-dumpable child without CAP_SYS_PTRACE: fell back to signals by itself: %s\n",
               WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED");
    }

    printf("read(pipe) returned %ld (errno %d)\n", r_read.ret, r_read.err);
    CHECK(r_read.ret == 1, "read returned %ld, errno %d (%s): SA_RESTART should restart it",
          r_read.ret, r_read.err, strerror(r_read.err));
    printf("nanosleep(1 s) under the fallback returned %ld (errno %d %s) after %.3f s: the "
           "documented cost of stopping with signals\n", r_nanosleep.ret, r_nanosleep.err,
           r_nanosleep.ret ? strerror(r_nanosleep.err) : "", r_nanosleep.elapsed);

    if (failures)
        printf("FAILED: %d failure(s)\n", failures);
    else
        printf("ok\n");
    return failures != 0;
}
