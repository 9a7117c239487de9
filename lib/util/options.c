/* RECLAIM_* parsing. Runs at start-up, possibly from inside the first
 * malloc, so it walks the environment by hand and reports with log_line. */
#include "options.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "compiler.h"
#include "log.h"

struct options options = {
    .mode = MODE_COLLECT,
    .on_error = ON_ERROR_ABORT,
    .growth_percent = 100,
    /* Measured on the benchmarks: at 4 MiB a small live heap is
     * collected about twice as often (bintree: 100 collections, 0.88x
     * glibc's time, against 0.74x here); at 8 MiB the allocation front of
     * a leaky loop no longer stays in cache and it ran 30% slower. */
    .min_heap = 6u << 20,
    .collect_every = 0,
    .stats = 0,
    .report_path = "",
    .exitcode = 23,            /* LeakSanitizer's */
    .report_signal = 0,
    .show_reachable = 0,
};

/* Outside the struct, so that its 4 KiB stay in .bss (never resident unless
 * a path is set) rather than in .data, which is mapped whole. */
static char report_path[OPTIONS_PATH_MAX] COLD_BSS;

int options_parse_size(const char *s, size_t *out)
{
    if (!*s)
        return -1;
    size_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (size_t)(*p - '0'), &v))
            return -1;
    if (p == s)
        return -1;
    unsigned shift = 0;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: return -1;
    }
    if (shift && (*p == 'i' || *p == 'I'))
        p++;
    if (shift && (*p == 'b' || *p == 'B'))
        p++;
    if (*p)
        return -1;
    if (shift && v > (SIZE_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* "USR1", "SIGUSR1" or a number. Signals the program cannot sensibly
 * give up (KILL, STOP) or that mean a fault are refused. */
static int parse_signal(const char *s, int *out)
{
    static const struct { const char *name; int sig; } names[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
        { "USR2", SIGUSR2 }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
        { "CONT", SIGCONT }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
        { "URG", SIGURG }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
        { "IO", SIGIO }, { "PWR", SIGPWR },
    };
    unsigned long v;
    if (!parse_uint(s, 64, &v)) {
        if (v == 0 || v == SIGKILL || v == SIGSTOP || v == SIGSEGV || v == SIGBUS ||
            v == SIGILL || v == SIGFPE || v == SIGABRT || v == SIGTRAP)
            return -1;
        *out = (int)v;
        return 0;
    }
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strcmp(s, names[i].name)) {
            *out = names[i].sig;
            return 0;
        }
    }
    return -1;
}

static void bad(const char *name, const char *value, const char *expect)
{
    log_line("%s=%s: bad value (expected %s); ignored", name, value, expect);
}

/* Handles one RECLAIM_ variable; returns 0 if the name is unknown. */
static int apply(const char *nm, const char *value)
{
#define IS(lit) (!strcmp(nm, lit))

    if (IS("RECLAIM_MODE")) {
        if (!strcmp(value, "collect")) options.mode = MODE_COLLECT;
        else if (!strcmp(value, "leaks")) options.mode = MODE_LEAKS;
        else if (!strcmp(value, "off")) options.mode = MODE_OFF;
        else bad(nm, value, "collect, leaks or off");
    } else if (IS("RECLAIM_ON_ERROR")) {
        if (!strcmp(value, "abort")) options.on_error = ON_ERROR_ABORT;
        else if (!strcmp(value, "warn")) options.on_error = ON_ERROR_WARN;
        else bad(nm, value, "abort or warn");
    } else if (IS("RECLAIM_GROWTH")) {
        unsigned long v;
        if (parse_uint(value, 100000, &v) || v == 0) bad(nm, value, "a percentage from 1 to 100000");
        else options.growth_percent = (unsigned)v;
    } else if (IS("RECLAIM_MIN_HEAP")) {
        size_t v;
        if (options_parse_size(value, &v)) bad(nm, value, "a size such as 4M");
        else options.min_heap = v;
    } else if (IS("RECLAIM_COLLECT_EVERY")) {
        size_t v;
        if (options_parse_size(value, &v)) bad(nm, value, "a size such as 1M, or 0");
        else options.collect_every = v;
    } else if (IS("RECLAIM_STATS")) {
        if (parse_bool(value, &options.stats)) bad(nm, value, "0 or 1");
    } else if (IS("RECLAIM_REPORT_PATH")) {
        /* Room for ".<pid>" after it. */
        size_t len = strlen(value);
        if (len == 0 || len + 24 > OPTIONS_PATH_MAX) bad(nm, value, "a file path prefix");
        else {
            memcpy(report_path, value, len + 1);
            options.report_path = report_path;
        }
    } else if (IS("RECLAIM_EXITCODE")) {
        unsigned long v;
        if (parse_uint(value, 255, &v)) bad(nm, value, "an exit status from 0 to 255");
        else options.exitcode = (int)v;
    } else if (IS("RECLAIM_REPORT_SIGNAL")) {
        if (parse_signal(value, &options.report_signal))
            bad(nm, value, "a signal name such as USR1, or its number");
    } else if (IS("RECLAIM_SHOW_REACHABLE")) {
        if (parse_bool(value, &options.show_reachable)) bad(nm, value, "0 or 1");
    } else {
        return 0;
    }
    return 1;
#undef IS
}

void options_parse(char *const *envp)
{
    if (!envp)
        return;
    for (; *envp; envp++) {
        const char *e = *envp;
        if (strncmp(e, "RECLAIM_", 8))
            continue;
        const char *eq = strchr(e, '=');
        if (!eq)
            continue;
        char nm[64];
        size_t n = (size_t)(eq - e) < sizeof nm - 1 ? (size_t)(eq - e) : sizeof nm - 1;
        memcpy(nm, e, n);
        nm[n] = '\0';
        if (!apply(nm, eq + 1))
            log_line("%s: unknown variable; ignored (known: RECLAIM_MODE, RECLAIM_ON_ERROR, "
                     "RECLAIM_GROWTH, RECLAIM_MIN_HEAP, RECLAIM_COLLECT_EVERY, RECLAIM_STATS, "
                     "RECLAIM_REPORT_PATH, RECLAIM_EXITCODE, RECLAIM_REPORT_SIGNAL, "
                     "RECLAIM_SHOW_REACHABLE)", nm);
    }
}
