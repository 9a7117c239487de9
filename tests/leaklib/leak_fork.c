/* Leak test: after fork, parent and child each report their own leaks, in
 * their own file ($RECLAIM_REPORT_PATH.<pid>), each naming its own pid. */
#include "leaklib.h"

#include <dirent.h>

static LEAKLIB_NOINLINE void lose(size_t n)
{
    leaklib_sink = malloc(n);
    leaklib_sink = NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        pid_t pid = fork();
        if (pid < 0)
            check_fail("fork: %s", strerror(errno));
        if (pid == 0) {
            lose(33);
            leaklib_scrub();
            exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        lose(44);
        leaklib_scrub();
        return 0;
    }

    int st = leaklib_child("fork", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "parent: status 23 (status %#x)", st);
    struct lreport r;
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.pid == leaklib_last_pid && r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 44,
          "parent's file: its pid, 1 direct block of 44 bytes (%llu, %llu)", r.sum[K_DIRECT][0],
          r.sum[K_DIRECT][1]);
    check(leaklib_frame0_in(&r, leaklib_record(&r, K_DIRECT, 0), (void *)lose, 256), "parent: allocated in lose");

    /* The other file is the forked child's. */
    DIR *d = opendir(leaklib_dir);
    long other = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        long pid;
        if (sscanf(e->d_name, "r.%ld", &pid) == 1 && pid != leaklib_last_pid)
            other = pid;
    }
    if (d)
        closedir(d);
    check(other != 0, "a second report file, of pid %ld", other);
    if (other && leaklib_report_of(other, &r) == 0) {
        check(r.pid == other && r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 33,
              "child's file: its pid, 1 direct block of 33 bytes (%llu, %llu)", r.sum[K_DIRECT][0],
              r.sum[K_DIRECT][1]);
        check(leaklib_frame0_in(&r, leaklib_record(&r, K_DIRECT, 0), (void *)lose, 256),
              "child: allocated in lose");
    }
    return check_finish("leak_fork");
}
