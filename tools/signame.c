/* Signal name table (see signame.h). sigabbrev_np would do, but only from
 * glibc 2.32 on, and it knows no "RTMIN+N". */
#define _GNU_SOURCE
#include "signame.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; int sig; } table[] = {
    { "HUP", SIGHUP },   { "INT", SIGINT },       { "QUIT", SIGQUIT }, { "ILL", SIGILL },
    { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },
    { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
    { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
    { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },   { "XCPU", SIGXCPU },
    { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
    { "IO", SIGIO },     { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

static int number(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

int signal_from_name(const char *s)
{
    int n;
    if (*s >= '0' && *s <= '9')
        return number(s, &n) || n < 1 || n >= NSIG ? -1 : n;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcasecmp(s, table[i].name))
            return table[i].sig;
    if (!strncasecmp(s, "RTMIN", 5)) {
        if (!s[5])
            return SIGRTMIN;
        if (s[5] == '+' && !number(s + 6, &n) && SIGRTMIN + n <= SIGRTMAX)
            return SIGRTMIN + n;
    }
    if (!strncasecmp(s, "RTMAX", 5)) {
        if (!s[5])
            return SIGRTMAX;
        if (s[5] == '-' && !number(s + 6, &n) && SIGRTMAX - n >= SIGRTMIN)
            return SIGRTMAX - n;
    }
    return -1;
}

const char *signal_name(int sig)
{
    static char buf[32];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].sig == sig) {
            snprintf(buf, sizeof buf, "SIG%s", table[i].name);
            return buf;
        }
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}
