/* Running the program: its environment (the library preloaded, RECLAIM_*
 * set), and waiting for it and for every process it leaves behind, whose
 * reports are wanted too. */
#ifndef RECLAIM_TOOLS_LAUNCH_H
#define RECLAIM_TOOLS_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

struct env_set {
    const char *name, *value;
};

/* A copy of the environment with each of set[0..n) set (replacing any
 * earlier value) and library put first in LD_PRELOAD, before whatever the
 * user preloads already. */
char **build_env(const char *library, const struct env_set *set, size_t n);

/* execve, or a one-line message and exit 126/127 like a shell's. */
_Noreturn void exec_program(const char *path, char *const argv[], char *const envp[]);

struct outcome {
    pid_t pid;                 /* of the program started */
    int signal;                /* it died of this signal (0: it exited) */
    int status;                /* exit status, when signal == 0 */
    int core;                  /* it dumped core */
};

/* Starts path and waits for it, then for the processes it started that
 * outlive it (the tool is their subreaper), until none is left or the user
 * interrupts the wait. Termination signals sent to the tool itself (not
 * those the terminal sends the whole process group) are passed on to the
 * program. Returns -1 if the program could not be started. */
int launch_and_wait(const char *path, char *const argv[], char *const envp[],
                    struct outcome *out);

#endif
