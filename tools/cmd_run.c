/* `reclaim run [--stats] [--] PROGRAM ARGS...`: the collector preloaded,
 * nothing else. The tool becomes the program (exec, no fork), so the exit
 * status, signals and process id are the program's own. */
#include <stddef.h>

#include "commands.h"
#include "launch.h"

int cmd_run(int argc, char **argv)
{
    struct args a;
    parse_args(&a, "run", OPT_STATS | OPT_LIBRARY, argc, argv);
    struct target t;
    prepare_target(&t, &a, "run");
    struct env_set set[] = {
        { "RECLAIM_MODE", "collect" },
        { "RECLAIM_STATS", "1" },
    };
    char **env = build_env(t.library, set, a.stats ? 2 : 1);
    exec_program(t.path, a.rest, env);
}
