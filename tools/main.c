/* reclaim, the command-line tool: `reclaim run|leaks|report ...`. It sets
 * up the environment the library reads, runs the program, and turns the
 * raw records the library writes into readable reports. Dispatch only;
 * each subcommand is in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "usage.h"
#include "util.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("reclaim %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "leaks"))
        return cmd_leaks(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    die(EXIT_USAGE, "unknown command '%s' (expected run, leaks or report; see 'reclaim --help')",
        cmd);
}
