/* The async-signal-safe formatter behind every message reclaim prints.
 * Allocation paths and stopped-world code cannot use stdio, so this covers
 * the few conversions our messages need and nothing more. */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct out { char *buf; size_t len, pos; };

static void put(struct out *o, char c)
{
    if (o->pos + 1 < o->len)
        o->buf[o->pos] = c;
    o->pos++;
}

static void put_str(struct out *o, const char *s)
{
    if (!s)
        s = "(null)";
    while (*s)
        put(o, *s++);
}

static void put_unsigned(struct out *o, unsigned long long v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n)
        put(o, tmp[--n]);
}

static void put_signed(struct out *o, long long v)
{
    if (v < 0) {
        put(o, '-');
        put_unsigned(o, 0ULL - (unsigned long long)v, 10);
    } else {
        put_unsigned(o, (unsigned long long)v, 10);
    }
}

size_t log_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
    struct out o = { buf, len, 0 };
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        int lng = 0, sz = 0;
        while (*f == 'l') { lng++; f++; }
        if (*f == 'z') { sz = 1; f++; }
        switch (*f) {
        case 's': put_str(&o, va_arg(ap, const char *)); break;
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case 'd':
            if (sz) put_signed(&o, va_arg(ap, ptrdiff_t));
            else if (lng >= 2) put_signed(&o, va_arg(ap, long long));
            else if (lng == 1) put_signed(&o, va_arg(ap, long));
            else put_signed(&o, va_arg(ap, int));
            break;
        case 'u': case 'x': {
            unsigned base = *f == 'x' ? 16 : 10;
            if (sz) put_unsigned(&o, va_arg(ap, size_t), base);
            else if (lng >= 2) put_unsigned(&o, va_arg(ap, unsigned long long), base);
            else if (lng == 1) put_unsigned(&o, va_arg(ap, unsigned long), base);
            else put_unsigned(&o, va_arg(ap, unsigned), base);
            break;
        }
        case 'p':
            put_str(&o, "0x");
            put_unsigned(&o, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%': put(&o, '%'); break;
        case '\0': f--; break;
        default: put(&o, '%'); put(&o, *f); break;
        }
    }
    if (len)
        buf[o.pos < len ? o.pos : len - 1] = '\0';
    return o.pos;
}

size_t log_format(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = log_vformat(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void vline(int fd, const char *fmt, va_list ap)
{
    int saved = errno;
    char buf[1024];
    memcpy(buf, "reclaim: ", 9);
    size_t n = log_vformat(buf + 9, sizeof buf - 10, fmt, ap);
    if (n > sizeof buf - 11)
        n = sizeof buf - 11;
    n += 9;
    buf[n++] = '\n';
    write_all(fd, buf, n);
    errno = saved;
}

void log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(2, fmt, ap);
    va_end(ap);
}

void log_line_fd(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(fd, fmt, ap);
    va_end(ap);
}
