/* Option parsing for run, leaks and report (see args.h). */
#define _GNU_SOURCE
#include "args.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signame.h"
#include "usage.h"
#include "util.h"

enum { O_STATS = 256, O_LIBRARY, O_OUTPUT, O_JSON, O_REACHABLE, O_EXITCODE, O_SUPP, O_SIGNAL };

static const struct { struct option opt; unsigned needs; } all[] = {
    { { "stats", no_argument, NULL, O_STATS }, OPT_STATS },
    { { "library", required_argument, NULL, O_LIBRARY }, OPT_LIBRARY },
    { { "output", required_argument, NULL, O_OUTPUT }, OPT_REPORT },
    { { "json", required_argument, NULL, O_JSON }, OPT_REPORT },
    { { "show-reachable", no_argument, NULL, O_REACHABLE }, OPT_REPORT },
    { { "exitcode", required_argument, NULL, O_EXITCODE }, OPT_REPORT },
    { { "suppressions", required_argument, NULL, O_SUPP }, OPT_REPORT },
    { { "signal", required_argument, NULL, O_SIGNAL }, OPT_SIGNAL },
    { { "help", no_argument, NULL, 'h' }, 0 },
};
#define NALL (sizeof all / sizeof all[0])

static _Noreturn __attribute__((format(printf, 2, 3))) void bad(const char *cmd,
                                                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = (char *)fmt;
    va_end(ap);
    die(EXIT_USAGE, "%s: %s (see 'reclaim %s --help')", cmd, msg, cmd);
}

/* The library cannot report on a signal that cannot be caught, nor on one
 * that means the program has faulted: refused here, where it is clear. */
static int reportable(int sig)
{
    switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE:
    case SIGABRT: case SIGTRAP:
        return 0;
    default:
        return sig > 0;
    }
}

void parse_args(struct args *a, const char *cmd, unsigned accepted, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->exitcode = DEFAULT_LEAK_EXITCODE;
    struct option opts[NALL + 1];
    size_t n = 0;
    for (size_t i = 0; i < NALL; i++)
        if (!all[i].needs || (all[i].needs & accepted))
            opts[n++] = all[i].opt;
    opts[n] = (struct option){ 0 };

    opterr = 0;                /* messages of our own, naming the subcommand */
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case O_STATS: a->stats = 1; break;
        case O_LIBRARY: a->library = optarg; break;
        case O_OUTPUT: a->output = optarg; break;
        case O_JSON: a->json = optarg; break;
        case O_REACHABLE: a->show_reachable = 1; break;
        case O_SUPP:
            a->suppressions = xrealloc(a->suppressions, (a->nsupp + 1) * sizeof(char *));
            a->suppressions[a->nsupp++] = optarg;
            break;
        case O_EXITCODE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 255)
                bad(cmd, "--exitcode wants a number from 0 to 255, not '%s'", optarg);
            a->exitcode = (int)v;
            break;
        }
        case O_SIGNAL:
            a->signal = signal_from_name(optarg);
            if (a->signal <= 0)
                bad(cmd, "--signal: '%s' is not a signal (try USR1, SIGUSR2 or a number)",
                    optarg);
            if (!reportable(a->signal))
                bad(cmd, "--signal: %s cannot trigger a report (it cannot be caught, or it "
                    "means the program crashed); try USR1", signal_name(a->signal));
            break;
        case 'h':
            usage_command(stdout, cmd);
            exit(0);
        case ':':
            bad(cmd, "option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt)
                bad(cmd, "unknown option '-%c'", optopt);
            bad(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    a->rest = argv + optind;
    a->nrest = argc - optind;
}
