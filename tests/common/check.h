/* Pass/fail reporting for the test programs that are their own drivers
 * (tests/probes, tests/leaklib): one "ok  : ..." or "FAIL: ..." line per
 * check on stdout, a fatal "FAIL: ..." on stderr for what stops the test
 * outright, and a closing verdict line whose exit status is the test's.
 * One copy, so that every such program reports in the same words.
 * Everything is static: each program is a single file and uses a subset. */
#ifndef RECLAIM_TESTS_COMMON_CHECK_H
#define RECLAIM_TESTS_COMMON_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures __attribute__((unused));

__attribute__((format(printf, 2, 3), unused))
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!ok)
        check_failures++;
}

__attribute__((format(printf, 1, 2), noreturn, unused))
static void check_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    exit(1);
}

/* The last line a program prints; its return value is the exit status. */
__attribute__((unused))
static int check_finish(const char *name)
{
    if (check_failures) {
        printf("%s: %d check(s) FAILED\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
