/* Leak test: the exit status. A program that leaks nothing keeps its own
 * status (from exit() or from main's return); one that leaks exits with
 * 23 (LeakSanitizer's convention), or RECLAIM_EXITCODE; RECLAIM_EXITCODE=0
 * keeps the program's status; a bad value is reported and ignored. Output
 * the program buffered is not lost. */
#include "leaklib.h"

static LEAKLIB_NOINLINE void lose(void)
{
    leaklib_sink = malloc(100);
    leaklib_sink = NULL;
}

int main(int argc, char **argv)
{
    if (leaklib_is_child()) {
        const char *what = argc > 1 ? argv[1] : "";
        /* stdout is a file in "leak-out": fully buffered until exit */
        if (!strcmp(what, "leak-out"))
            printf("child output\n");
        if (!strcmp(what, "clean-exit"))
            exit(7);
        if (!strcmp(what, "clean-return"))
            return 9;
        lose();
        leaklib_scrub();
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int st = leaklib_child("clean-exit", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "no leak, exit(7): status 7 (status %#x)", st);
    st = leaklib_child("clean-return", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 9, "no leak, return 9: status 9 (status %#x)", st);
    st = leaklib_child("leak", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "leak: status 23 by default (status %#x)", st);
    const char *code42[] = { "RECLAIM_EXITCODE=42", NULL };
    st = leaklib_child("leak", code42, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "leak, RECLAIM_EXITCODE=42: status 42 (status %#x)", st);
    const char *code0[] = { "RECLAIM_EXITCODE=0", NULL };
    st = leaklib_child("leak", code0, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 3, "leak, RECLAIM_EXITCODE=0: own status 3 (status %#x)", st);

    const char *bad[] = { "RECLAIM_EXITCODE=300", NULL };
    st = leaklib_child("leak", bad, 1);
    const char *text = leaklib_text();
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23 && text &&
              strstr(text, "reclaim: RECLAIM_EXITCODE=300: bad value (expected an exit status from 0 to 255); "
                           "ignored\n"),
          "RECLAIM_EXITCODE=300: one line saying so, and 23 (status %#x)", st);

    /* The child's stdout goes to a file: what it buffered must be flushed
     * before the status is changed with _exit. */
    char path[512];
    snprintf(path, sizeof path, "%s/out", leaklib_dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || saved < 0 || dup2(fd, 1) < 0)
        check_fail("redirecting stdout: %s", strerror(errno));
    close(fd);
    st = leaklib_child("leak-out", NULL, 0);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23 && !strcmp(buf, "child output\n"),
          "leak with stdout in a file: status 23 and the buffered output written");
    return check_finish("leak_exit");
}
