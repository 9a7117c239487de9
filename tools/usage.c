/* Help texts (see usage.h). */
#include "usage.h"

#include <string.h>

static const char synopsis[] =
    "Usage: reclaim run [--stats] [--library FILE] [--] PROGRAM [ARGS...]\n"
    "       reclaim leaks [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "       reclaim report [OPTIONS] FILE|DIR...\n"
    "       reclaim --help | --version\n";

static const char run_help[] =
    "\n"
    "reclaim run: run PROGRAM with the garbage collector preloaded (RECLAIM_MODE=collect).\n"
    "Blocks the program loses are reclaimed while it runs. Exits with PROGRAM's status.\n"
    "\n"
    "  --stats           print a summary line of collections on stderr at exit\n"
    "  --library FILE    preload this libreclaim.so instead of the one found\n";

static const char report_options[] =
    "  --output FILE     write the text report to FILE instead of stderr\n"
    "  --json FILE       also write JSON Lines to FILE: one object per process report\n"
    "  --show-reachable  list blocks still reachable at exit too (not leaks)\n"
    "  --suppressions FILE\n"
    "                    hide leaks matching LeakSanitizer-style 'leak:PATTERN' lines\n"
    "                    (counted in the summary); may be given more than once\n"
    "  --exitcode N      exit status when leaks are found (default 23; 0: never fail)\n";

static const char leaks_help[] =
    "\n"
    "reclaim leaks: run PROGRAM with the library in leaks mode and report every block\n"
    "it allocated, never freed and can no longer reach, grouped by allocation stack,\n"
    "largest first. Forked children and exec'd programs are reported too.\n"
    "\n";

static const char leaks_more[] =
    "  --signal SIG      the program writes a report whenever it receives SIG\n"
    "                    (e.g. USR1); all reports are shown when it ends\n"
    "  --library FILE    preload this libreclaim.so instead of the one found\n"
    "\n"
    "Exit status: PROGRAM's own when no leak is found; the --exitcode value when one\n"
    "is; 128+N when PROGRAM was killed by signal N; 2 for bad options or a statically\n"
    "linked PROGRAM; 126/127 when PROGRAM cannot be run or is not found.\n";

static const char report_help[] =
    "\n"
    "reclaim report: read raw report files written by the library in leaks mode\n"
    "(RECLAIM_MODE=leaks RECLAIM_REPORT_PATH=PREFIX writes PREFIX.<pid>) and print\n"
    "them as 'reclaim leaks' does. A DIR operand means every file in it.\n"
    "\n";

static const char report_more[] =
    "\n"
    "Exit status: 0 when no leak is found, the --exitcode value when one is, 2 when a\n"
    "file cannot be read.\n";

void usage_main(FILE *out)
{
    fputs(synopsis, out);
    fputs("\n"
          "reclaim is a conservative garbage collector and leak checker for C programs,\n"
          "preloaded into unmodified programs as a malloc replacement.\n"
          "\n"
          "  run      run a program with leaks collected as it runs\n"
          "  leaks    run a program and report its leaks when it ends\n"
          "  report   format raw report files written by the library\n"
          "\n"
          "'reclaim COMMAND --help' lists a command's options; man reclaim tells all.\n",
          out);
}

void usage_command(FILE *out, const char *cmd)
{
    fputs(synopsis, out);
    if (!strcmp(cmd, "run")) {
        fputs(run_help, out);
    } else if (!strcmp(cmd, "leaks")) {
        fputs(leaks_help, out);
        fputs(report_options, out);
        fputs(leaks_more, out);
    } else {
        fputs(report_help, out);
        fputs(report_options, out);
        fputs(report_more, out);
    }
}
