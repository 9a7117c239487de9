/* `reclaim leaks [OPTIONS] [--] PROGRAM ARGS...`: runs the program with the
 * library in leaks mode writing raw records into a private directory, waits
 * for the program and everything it started, then reads every record file
 * there (one per process: forked children and exec'd programs write their
 * own) and reports. The library is told to exit normally
 * (RECLAIM_EXITCODE=0): the exit status is decided here, where suppressions
 * are known. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "launch.h"
#include "output.h"
#include "signame.h"
#include "util.h"

static char *private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/reclaim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        int err = errno;
        free(dir);
        if (tmp && *tmp)
            die(EXIT_USAGE, "cannot create a directory for reports in TMPDIR=%s: %s", tmp,
                strerror(err));
        die(EXIT_USAGE, "cannot create a directory for reports in /tmp: %s", strerror(err));
    }
    return dir;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char *p = xasprintf("%s/%s", dir, e->d_name);
                unlink(p);
                free(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

static void explain_missing(const struct raw_set *set, const struct outcome *o, const char *name)
{
    for (size_t i = 0; i < set->nblocks; i++)
        if (set->blocks[i]->pid == o->pid)
            return;
    if (o->signal)
        warn("%s (pid %ld) was killed by %s before it could write its leak report", name,
             (long)o->pid, signal_name(o->signal));
    else
        warn("%s (pid %ld) wrote no leak report: was libreclaim.so loaded? (setuid programs "
             "ignore LD_PRELOAD; a program that empties its environment or ends with _exit() "
             "writes none)", name, (long)o->pid);
}

int cmd_leaks(int argc, char **argv)
{
    struct args a;
    parse_args(&a, "leaks", OPT_REPORT | OPT_SIGNAL | OPT_LIBRARY, argc, argv);
    struct target t;
    prepare_target(&t, &a, "leaks");
    struct reporting r;
    reporting_prepare(&r, &a);

    char *dir = private_dir();
    char *prefix = xasprintf("%s/report", dir);
    char signo[16];
    snprintf(signo, sizeof signo, "%d", a.signal);
    struct env_set set[] = {
        { "RECLAIM_MODE", "leaks" },
        { "RECLAIM_REPORT_PATH", prefix },
        { "RECLAIM_EXITCODE", "0" },
        { "RECLAIM_REPORT_SIGNAL", signo },
    };
    char **env = build_env(t.library, set, a.signal ? 4 : 3);

    struct outcome o;
    if (launch_and_wait(t.path, a.rest, env, &o)) {
        remove_dir(dir);
        return EXIT_USAGE;
    }

    struct raw_set reports = { 0 };
    collect_reports(&reports, dir);
    remove_dir(dir);
    const char *name = a.rest[0];
    explain_missing(&reports, &o, name);
    int found = reporting_finish(&r, &reports, o.pid);

    if (o.signal) {
        warn("%s was killed by %s%s", name, signal_name(o.signal), o.core ? " (core dumped)" : "");
        return 128 + o.signal;
    }
    if (found < 0)
        return EXIT_USAGE;
    if (found && a.exitcode)
        return a.exitcode;
    return o.status;
}
