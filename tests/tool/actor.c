/* tests/tool: a program that does what its arguments say, in order, so
 * that the tool's tests can stage processes without depending on a
 * shell's own forks:
 *
 *   fork          a child that exits 0 at once; waited for
 *   orphan:MS     a child that exits 0 after MS ms; not waited for
 *   signal:SIG    sends itself SIG (number) and carries on
 *   raise:SIG     dies of SIG (number)
 *   exec:PATH     becomes PATH (no arguments)
 *   sleep:MS      sleeps MS ms
 *   exit:N        exits with status N (the default is 0)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts))
        ;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *colon = strchr(a, ':');
        const char *val = colon ? colon + 1 : "";
        size_t len = colon ? (size_t)(colon - a) : strlen(a);
        if (len == 4 && !strncmp(a, "fork", 4)) {
            pid_t p = fork();
            if (p == 0)
                exit(0);
            waitpid(p, NULL, 0);
        } else if (len == 6 && !strncmp(a, "orphan", 6)) {
            if (fork() == 0) {
                sleep_ms(atol(val));
                exit(0);
            }
        } else if (len == 6 && !strncmp(a, "signal", 6)) {
            kill(getpid(), atoi(val));
        } else if (len == 5 && !strncmp(a, "raise", 5)) {
            signal(atoi(val), SIG_DFL);
            raise(atoi(val));
        } else if (len == 4 && !strncmp(a, "exec", 4)) {
            execl(val, val, (char *)NULL);
            perror(val);
            return 99;
        } else if (len == 5 && !strncmp(a, "sleep", 5)) {
            sleep_ms(atol(val));
        } else if (len == 4 && !strncmp(a, "exit", 4)) {
            exit(atoi(val));
        } else {
            fprintf(stderr, "actor: unknown action '%s'\n", a);
            return 98;
        }
    }
    return 0;
}
