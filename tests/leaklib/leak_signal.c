/* Leak test: RECLAIM_REPORT_SIGNAL. On the signal, a report is written
 * while the program runs on (a report block of its own, appended to the
 * process's file); the final report at exit follows in the same file. */
#include "leaklib.h"

#include <signal.h>
#include <time.h>

static LEAKLIB_NOINLINE void lose(void)
{
    leaklib_sink = malloc(48);
    leaklib_sink = NULL;
}

/* Waits until the file holds n complete report blocks. */
static int wait_reports(const char *path, int n)
{
    for (int tries = 0; tries < 1000; tries++) {
        FILE *f = fopen(path, "r");
        int ends = 0;
        char line[4096];
        while (f && fgets(line, sizeof line, f))
            ends += !strcmp(line, "end\n");
        if (f)
            fclose(f);
        if (ends >= n)
            return 1;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        char path[600];
        snprintf(path, sizeof path, "%s.%d", getenv("RECLAIM_REPORT_PATH"), (int)getpid());
        lose();
        leaklib_scrub();
        kill(getpid(), SIGUSR1);
        if (!wait_reports(path, 1))
            return 2;
        /* Still running: the program carries on after the report. */
        lose();
        leaklib_scrub();
        return 0;
    }

    const char *env[] = { "RECLAIM_REPORT_SIGNAL=USR1", NULL };
    int st = leaklib_child("signal", env, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "the program ran on and exited leaking: 23 (status %#x)", st);
    struct lreport r;
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.blocks_seen == 2 && r.ended == 2, "two complete report blocks in the file (%d, %d)",
          r.blocks_seen, r.ended);
    check(r.sum[K_DIRECT][0] == 2 && r.sum[K_DIRECT][1] == 96,
          "the final one: 2 direct blocks of 48 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);

    /* The first block alone: parse a copy cut after its "end". */
    char path[512], cut[512];
    snprintf(path, sizeof path, "%s/r.%ld", leaklib_dir, leaklib_last_pid);
    snprintf(cut, sizeof cut, "%s/first", leaklib_dir);
    FILE *in = fopen(path, "r"), *out = fopen(cut, "w");
    char line[16384];
    while (in && out && fgets(line, sizeof line, in)) {
        fputs(line, out);
        if (!strcmp(line, "end\n"))
            break;
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    if (leaklib_parse(cut, &r))
        check_fail("cannot read %s", cut);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 48,
          "the report on the signal: 1 direct block of 48 bytes (%llu, %llu)", r.sum[K_DIRECT][0],
          r.sum[K_DIRECT][1]);
    check(leaklib_frame0_in(&r, leaklib_record(&r, K_DIRECT, 0), (void *)lose, 256), "allocated in lose");
    return check_finish("leak_signal");
}
