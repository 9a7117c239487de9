/* Messages and allocation for the reclaim tool (see util.h). */
#define _GNU_SOURCE
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vwarn(const char *fmt, va_list ap)
{
    /* One fprintf per line keeps lines whole when the program's children
     * write to the same stderr. */
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0) {
        fputs("reclaim: out of memory\n", stderr);
        return;
    }
    fprintf(stderr, "reclaim: %s\n", msg);
    free(msg);
}

void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

void die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
    exit(status);
}

static void *check(void *p)
{
    if (!p)
        die(EXIT_FAILURE, "out of memory");
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return check(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }
char *xstrdup(const char *s) { return check(strdup(s)); }
char *xstrndup(const char *s, size_t n) { return check(strndup(s, n)); }

void xgrow(void *pp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes))
        die(EXIT_FAILURE, "out of memory");
    *(void **)pp = xrealloc(*(void **)pp, bytes);
    *cap = n;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        die(EXIT_FAILURE, "out of memory");
    return s;
}

const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
