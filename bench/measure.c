/* bench/measure.c: run one benchmark once and report what it cost.
 *
 *   measure [--preload LIB] [--timeout SEC] [--stdout FILE] -- PROG [ARG...]
 *     Runs PROG with LD_PRELOAD=LIB (or with LD_PRELOAD removed when no LIB
 *     is given, so a stray preload cannot taint the glibc baseline), its
 *     standard output sent to FILE, and prints one line:
 *       wall_s=.. user_s=.. sys_s=.. maxrss_kib=.. rss_sampled_kib=.. rss_exit_kib=.. status=exit:N|signal:N|timeout
 *     Wall time is taken around fork..wait4; CPU time and maxrss_kib come
 *     from the child's rusage, which covers all its threads. rss_sampled_kib
 *     is the largest VmRSS read from /proc/PID/status every 2 ms while the
 *     child runs: exact, where ru_maxrss is read from per-CPU counters that
 *     are folded in steps of 32 pages (bench/bench.h). rss_exit_kib is
 *     VmRSS as the child exits, after its last destructor and libc's own
 *     teardown, or -1: a benchmark's destructor (bench.h) asks for it over
 *     the socket named by BENCH_EXIT_FD, and measure then traces the child
 *     for that one event. Exits 0 when PROG exited 0, 1 otherwise.
 *   measure --probe LIB
 *     Exits 0 (printing the resolved path) when LIB can be preloaded and
 *     itself defines malloc, i.e. preloading it really replaces the
 *     allocator; 1 when it is missing, 3 when it loads but leaves malloc to
 *     libc (Boehm's libgc built without --enable-redirect-malloc, for
 *     instance). The look is taken in a re-executed measure with LIB
 *     preloaded (--probe-preloaded, internal).
 *
 * A C program rather than /usr/bin/time so the harness needs nothing that
 * might be missing, and so the timeout and the signal mask handed to the
 * child are under our control. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: measure [--preload LIB] [--timeout SEC] [--stdout FILE] -- PROG [ARG...]\n"
                    "       measure --probe LIB\n");
    return 2;
}

/* The child half of --probe: runs with lib preloaded. */
static int probe_preloaded(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return 1;
    /* dlsym on a handle also searches the library's dependencies, libc
     * among them; only a malloc defined in the library itself counts. */
    struct link_map *lm = NULL;
    Dl_info di;
    void *m = dlsym(h, "malloc");
    if (!m || dlinfo(h, RTLD_DI_LINKMAP, &lm) || !lm || !dladdr(m, &di) || !di.dli_fname ||
        strcmp(di.dli_fname, lm->l_name))
        return 3;
    printf("%s\n", lm->l_name);
    return 0;
}

/* Looks at lib preloaded into a re-executed measure, as the benchmarks
 * will run it: a dlopen from here fails for allocators that use
 * initial-exec TLS (jemalloc), which preload fine. */
static int probe(const char *lib)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        setenv("LD_PRELOAD", lib, 1);
        execl("/proc/self/exe", "measure", "--probe-preloaded", lib, (char *)NULL);
        _exit(1);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

/* The child's resident set now, in KiB, or -1. */
static long rss_now(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *p = strstr(buf, "\nVmRSS:");
    return p ? strtol(p + sizeof "\nVmRSS:" - 1, NULL, 10) : -1;
}

static double seconds(struct timeval tv)
{
    return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *preload = NULL, *out = NULL;
    double timeout = 300;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--probe") && i + 1 < argc && argc == 3)
            return probe(argv[i + 1]);
        else if (!strcmp(argv[i], "--probe-preloaded") && i + 1 < argc && argc == 3)
            return probe_preloaded(argv[i + 1]);
        else if (!strcmp(argv[i], "--preload") && i + 1 < argc)
            preload = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--stdout") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else
            return usage();
    }
    if (i >= argc || timeout <= 0)
        return usage();

    /* SIGCHLD is blocked so that a signalfd reports it to poll, which
     * waits with a deadline; the child gets the original mask back before
     * exec, since a benchmark must not run with signals it does not expect
     * blocked. */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);

    int sv[2], sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("measure: signalfd/socketpair");
        return 1;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        char fdnum[16];
        snprintf(fdnum, sizeof fdnum, "%d", sv[1]);
        if (fcntl(sv[1], F_SETFD, 0) < 0 || setenv("BENCH_EXIT_FD", fdnum, 1) < 0)
            _exit(127);
        if (preload && *preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        if (out) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
                perror("measure: stdout file");
                _exit(127);
            }
        }
        execvp(argv[i], argv + i);
        fprintf(stderr, "measure: exec %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }

    close(sv[1]);
    int timed_out = 0, traced = 0;
    long sampled = -1, at_exit = -1;
    struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { sv[0], POLLIN, 0 } };
    for (;;) {
        long r = rss_now(pid);
        if (r > sampled)
            sampled = r;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double left = timeout - ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int ms = left > 0.002 ? 2 : (int)(left * 1e3) + 1;
        if (poll(pf, 2, ms) < 0) {
            if (errno == EINTR)
                continue;
            perror("measure: poll");
            kill(pid, SIGKILL);
            break;
        }
        /* The child's last destructor asks to be traced to its exit: seize
         * it (no stop now; ptrace stays off the whole run before) and let
         * it go on. Where tracing is not allowed, it goes on untraced. */
        if (pf[1].revents) {
            char c;
            if (read(sv[0], &c, 1) == 1) {
                traced = ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT) == 0;
                if (write(sv[0], &c, 1) < 0)
                    perror("measure: reply");
            }
            pf[1].fd = -1;
        }
        if (!pf[0].revents)
            continue;
        struct signalfd_siginfo ssi;
        if (read(sfd, &ssi, sizeof ssi) < 0 && errno != EAGAIN)
            break;
        if (!traced)
            break;                      /* untraced, SIGCHLD means it ended */
        /* Traced: a stop, or the end. Peek without reaping (wait4 below
         * takes the rusage). */
        siginfo_t si = { 0 };
        if (waitid(P_PID, pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
            continue;
        if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG | __WALL) != pid || !WIFSTOPPED(st))
            continue;
        if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
            at_exit = rss_now(pid);
            ptrace(PTRACE_DETACH, pid, NULL, NULL);
            traced = 0;
        } else {
            /* A signal on its way to the child: deliver it. */
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(st >> 16 ? 0 : WSTOPSIG(st)));
        }
    }

    int status;
    struct rusage ru;
    for (;;) {
        if (wait4(pid, &status, __WALL, &ru) < 0) {
            if (errno == EINTR)
                continue;
            perror("measure: wait4");
            return 1;
        }
        if (!WIFSTOPPED(status))
            break;
        /* Still traced (a timeout, or an exit stop SIGKILL cut short). */
        ptrace(PTRACE_DETACH, pid, NULL, (void *)(long)(status >> 16 ? 0 : WSTOPSIG(status)));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    char st[32];
    if (timed_out)
        snprintf(st, sizeof st, "timeout");
    else if (WIFEXITED(status))
        snprintf(st, sizeof st, "exit:%d", WEXITSTATUS(status));
    else
        snprintf(st, sizeof st, "signal:%d", WTERMSIG(status));
    /* ru_maxrss is in KiB on Linux. */
    printf("wall_s=%.3f user_s=%.3f sys_s=%.3f maxrss_kib=%ld rss_sampled_kib=%ld rss_exit_kib=%ld status=%s\n",
           wall, seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, sampled, at_exit, st);
    return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
