/* The subcommands, each in a file of its own: argc/argv start at the
 * subcommand's name; each returns the tool's exit status. */
#ifndef RECLAIM_TOOLS_COMMANDS_H
#define RECLAIM_TOOLS_COMMANDS_H

#include "args.h"

int cmd_run(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* What run and leaks check before starting anything. */
struct target {
    char *path;                /* PROGRAM resolved through PATH */
    char *library;             /* absolute path of libreclaim.so */
};

/* Exits with a one-line message when a.rest names no program, a program
 * that is not there or not executable (127/126), a statically linked one
 * (2), or when the library cannot be found (2). */
void prepare_target(struct target *t, const struct args *a, const char *cmd);

#endif
