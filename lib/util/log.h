/* Messages from inside the allocator: a tiny async-signal-safe formatter
 * that writes one line to stderr with write(2). No stdio, no allocation, so
 * it is usable inside malloc and while other threads are stopped. */
#ifndef RECLAIM_UTIL_LOG_H
#define RECLAIM_UTIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into buf (always NUL-terminated, truncated to len). Supports
 * %s %c %d %ld %lld %u %lu %llu %zu %zd %x %lx %zx %p %%. */
size_t log_vformat(char *buf, size_t len, const char *fmt, va_list ap);
size_t log_format(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "reclaim: " + message + "\n" on fd 2, errno preserved. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, to an arbitrary fd. */
void log_line_fd(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
