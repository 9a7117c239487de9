/* Small helpers every part of the reclaim tool uses: messages that start
 * with "reclaim: ", allocation that cannot fail (the tool is short-lived and
 * has nothing sensible to do without memory), and path fragments. */
#ifndef RECLAIM_TOOLS_UTIL_H
#define RECLAIM_TOOLS_UTIL_H

#include <stddef.h>

/* Exit statuses of the tool itself, beside the program's and the leak one. */
#define EXIT_USAGE 2          /* bad options, refused program, unreadable input */
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

/* "reclaim: " + message + "\n" on stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warn(), then exit(status). */
_Noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows *p (an array of *cap elements of size `size`) so that it holds at
 * least `need` elements, doubling to keep appends amortised O(1). */
void xgrow(void *pp, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The part after the last '/'. */
const char *path_basename(const char *path);

#endif
