/* `reclaim report [OPTIONS] FILE|DIR...`: formats raw report files that
 * were written without the tool driving the run (a service started by
 * its supervisor with RECLAIM_MODE=leaks and RECLAIM_REPORT_PATH set), and
 * is how the tests feed the formatter fixtures. */
#include <stdlib.h>

#include "commands.h"
#include "output.h"
#include "util.h"

int cmd_report(int argc, char **argv)
{
    struct args a;
    parse_args(&a, "report", OPT_REPORT, argc, argv);
    if (a.nrest < 1)
        die(EXIT_USAGE, "report: no report file given (see 'reclaim report --help')");
    struct reporting r;
    reporting_prepare(&r, &a);
    struct raw_set set = { 0 };
    int unreadable = 0;
    for (int i = 0; i < a.nrest; i++)
        if (collect_reports(&set, a.rest[i]))
            unreadable = 1;
    int found = reporting_finish(&r, &set, 0);
    if (unreadable || found < 0)
        return EXIT_USAGE;
    return found ? a.exitcode : 0;
}
