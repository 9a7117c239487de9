/* Starting and waiting (see launch.h). */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

char **build_env(const char *library, const struct env_set *set, size_t n)
{
    size_t count = 0;
    while (environ[count])
        count++;
    char **env = xcalloc(count + n + 2, sizeof *env);
    size_t k = 0;
    const char *preload = NULL;
    for (size_t i = 0; i < count; i++) {
        const char *e = environ[i];
        size_t len = strcspn(e, "=");
        if (!e[len])
            continue;
        int replaced = 0;
        for (size_t j = 0; j < n && !replaced; j++)
            replaced = strlen(set[j].name) == len && !strncmp(e, set[j].name, len);
        if (len == 10 && !strncmp(e, "LD_PRELOAD", 10)) {
            preload = e + 11;
            replaced = 1;
        }
        if (!replaced)
            env[k++] = (char *)e;
    }
    for (size_t j = 0; j < n; j++)
        env[k++] = xasprintf("%s=%s", set[j].name, set[j].value);
    env[k++] = preload && *preload ? xasprintf("LD_PRELOAD=%s:%s", library, preload)
                                   : xasprintf("LD_PRELOAD=%s", library);
    env[k] = NULL;
    return env;
}

void exec_program(const char *path, char *const argv[], char *const envp[])
{
    execve(path, argv, envp);
    int err = errno;
    warn("%s: %s", path, strerror(err));
    _exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
}

static const int forwarded[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

static volatile sig_atomic_t program_pid;      /* 0 once it has been waited for */
static volatile sig_atomic_t stop_waiting;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    int saved = errno;
    /* The terminal sends ^C to the whole foreground group, program
     * included (si_code SI_KERNEL); a kill(1) aimed at the tool alone
     * must reach the program, or a supervisor could not stop it. Once
     * the program is gone, any of these ends the wait for its leftovers. */
    if (program_pid) {
        if (si->si_code != SI_KERNEL)
            kill((pid_t)program_pid, sig);
    } else {
        stop_waiting = 1;
    }
    errno = saved;
}

static void record(struct outcome *out, int st)
{
    if (WIFSIGNALED(st)) {
        out->signal = WTERMSIG(st);
        out->core = WCOREDUMP(st) != 0;
    } else {
        out->status = WEXITSTATUS(st);
    }
}

/* Reaps the processes the program left behind: orphans are re-parented to
 * the tool (a subreaper), so waitpid sees every one of them. */
static void wait_for_leftovers(const char *name)
{
    int st, told = 0;
    for (;;) {
        pid_t p = waitpid(-1, &st, told ? 0 : WNOHANG);
        if (p > 0)
            continue;
        if (p < 0 && errno == EINTR) {
            if (stop_waiting) {
                warn("stopped waiting: reporting without the processes %s left running", name);
                return;
            }
            continue;
        }
        if (p < 0)
            return;             /* ECHILD: none left */
        warn("%s has exited; waiting for the processes it started to exit too "
             "(interrupt to report without them)", name);
        told = 1;
    }
}

int launch_and_wait(const char *path, char *const argv[], char *const envp[],
                    struct outcome *out)
{
    memset(out, 0, sizeof *out);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
        warn("cannot become a subreaper (%s): processes that outlive the program will "
             "not be waited for", strerror(errno));

    struct sigaction old[NFORWARDED], sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaction(forwarded[i], &sa, &old[i]);

    /* Blocked across fork until program_pid is known, so that the
     * handler never takes the program for already gone. */
    sigset_t block, saved_mask;
    sigemptyset(&block);
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &saved_mask);
    pid_t pid = fork();
    if (pid < 0) {
        warn("fork: %s", strerror(errno));
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        return -1;
    }
    if (pid == 0) {
        /* The program starts with the dispositions and mask the tool was
         * given (a signal ignored by nohup stays ignored). */
        for (size_t i = 0; i < NFORWARDED; i++)
            sigaction(forwarded[i], &old[i], NULL);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        exec_program(path, argv, envp);
    }
    out->pid = pid;
    program_pid = pid;
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);

    int st;
    for (;;) {
        pid_t p = waitpid(-1, &st, 0);
        if (p == pid)
            break;
        if (p < 0 && errno != EINTR) {
            warn("waitpid: %s", strerror(errno));
            return -1;
        }
    }
    program_pid = 0;
    record(out, st);
    wait_for_leftovers(path_basename(argv[0]));
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaction(forwarded[i], &old[i], NULL);
    return 0;
}
