/* The checks run and leaks make before starting the program (see
 * commands.h): each failure is one line and a distinct exit status, never a
 * run that silently checks nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "libpath.h"
#include "prog.h"
#include "util.h"

void prepare_target(struct target *t, const struct args *a, const char *cmd)
{
    if (a->nrest < 1)
        die(EXIT_USAGE, "%s: no program to run (see 'reclaim %s --help')", cmd, cmd);
    const char *name = a->rest[0];
    t->path = prog_resolve(name);
    if (!t->path) {
        if (errno == EACCES)
            die(EXIT_NOT_EXECUTABLE, "%s: permission denied", name);
        if (strchr(name, '/'))
            die(EXIT_NOT_FOUND, "%s: no such file", name);
        die(EXIT_NOT_FOUND, "%s: command not found", name);
    }
    if (prog_link_kind(t->path) == LINK_STATIC)
        die(EXIT_USAGE, "%s is statically linked; LD_PRELOAD cannot reach it "
            "(link it with -lreclaim instead)", name);
    t->library = find_library(a->library);
    if (!t->library)
        exit(EXIT_USAGE);       /* find_library said why, in one line */
}
