/* Command-line options of the subcommands, parsed in one place so that
 * every subcommand spells and checks them the same way. */
#ifndef RECLAIM_TOOLS_ARGS_H
#define RECLAIM_TOOLS_ARGS_H

#include <stddef.h>

/* Which options a subcommand accepts. */
enum {
    OPT_STATS = 1 << 0,        /* --stats */
    OPT_LIBRARY = 1 << 1,      /* --library FILE */
    OPT_REPORT = 1 << 2,       /* --output, --json, --show-reachable, --exitcode, --suppressions */
    OPT_SIGNAL = 1 << 3,       /* --signal SIG */
};

struct args {
    int stats;
    const char *library;
    const char *output, *json;
    int show_reachable;
    int exitcode;              /* for leaks; default 23 */
    size_t nsupp;
    const char **suppressions;
    int signal;                /* 0: none */
    char **rest;               /* PROGRAM ARGS... or FILE... */
    int nrest;
};

#define DEFAULT_LEAK_EXITCODE 23

/* Parses argv[1..] of subcommand `cmd` (argv[0] is the subcommand name).
 * Options end at "--" or at the first operand, so that the program's own
 * options are never taken for the tool's. Prints the subcommand's usage
 * and exits 0 for --help; prints a one-line error and exits 2 for a bad
 * option. */
void parse_args(struct args *a, const char *cmd, unsigned accepted, int argc, char **argv);

#endif
