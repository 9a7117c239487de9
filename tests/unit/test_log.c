/* The async-signal-safe formatter behind every reclaim message
 * (lib/util/log.c). Each supported conversion is compared with glibc's
 * snprintf on edge values, and so is truncation at every buffer length,
 * since the two must agree for the messages to read as their format
 * strings promise. Then log_line itself: prefix, one line, errno kept.
 * Internal test. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Formats with both, compares text and return value, and checks that the
 * formatter wrote no byte past the buffer it was given. */
#define SAME(fmt, ...)                                                              \
    do {                                                                            \
        char want[256], got[256 + 16];                                              \
        int wn = snprintf(want, sizeof want, fmt, __VA_ARGS__);                     \
        memset(got, 0x5a, sizeof got);                                              \
        size_t gn = log_format(got, 256, fmt, __VA_ARGS__);                         \
        cr_assert_str_eq(got, want, "format \"%s\"", fmt);                          \
        cr_assert_eq(gn, (size_t)wn, "format \"%s\": returned %zu, want %d", fmt,   \
                     gn, wn);                                                       \
        for (size_t i_ = 256; i_ < sizeof got; i_++)                                \
            cr_assert_eq((unsigned char)got[i_], 0x5au, "wrote past the buffer");   \
    } while (0)

Test(log, strings_and_chars)
{
    SAME("%s", "hello");
    SAME("%s", "");
    SAME("[%s|%s]", "a", "bc");
    SAME("%c", 'x');
    SAME("%c%c%c", 'a', '\t', 'z');
    char got[32];
    const char *volatile null = NULL;   /* a literal NULL trips -Wformat-overflow */
    log_format(got, sizeof got, "%s", null);
    cr_assert_str_eq(got, "(null)");
}

Test(log, signed_conversions)
{
    SAME("%d", 0);
    SAME("%d", -42);
    SAME("%d", INT_MIN);
    SAME("%d", INT_MAX);
    SAME("%ld", LONG_MIN);
    SAME("%ld", LONG_MAX);
    SAME("%lld", LLONG_MIN);
    SAME("%lld", LLONG_MAX);
    SAME("%zd", (ptrdiff_t)-5);
    SAME("%zd", (ptrdiff_t)PTRDIFF_MIN);
    SAME("%zd", (ptrdiff_t)PTRDIFF_MAX);
}

Test(log, unsigned_conversions)
{
    SAME("%u", 0u);
    SAME("%u", UINT_MAX);
    SAME("%lu", ULONG_MAX);
    SAME("%llu", ULLONG_MAX);
    SAME("%zu", (size_t)0);
    SAME("%zu", SIZE_MAX);
    SAME("%x", 0u);
    SAME("%x", 0xdeadbeefu);
    SAME("%x", UINT_MAX);
    SAME("%lx", 0x123456789abcdef0ul);
    SAME("%lx", ULONG_MAX);
    SAME("%zx", (size_t)0xabcdef);
    SAME("%zx", SIZE_MAX);
}

/* Pointers print as 0x%lx (lowercase, no padding), which is the form the
 * misuse messages promise; NULL too (glibc would say "(nil)"). */
Test(log, pointers)
{
    static const uintptr_t vals[] = { 0, 1, 0xabc, 0x7f00deadbeef, UINTPTR_MAX };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char want[64], got[64];
        snprintf(want, sizeof want, "0x%lx", (unsigned long)vals[i]);
        size_t n = log_format(got, sizeof got, "%p", (void *)vals[i]);
        cr_assert_str_eq(got, want);
        cr_assert_eq(n, strlen(want));
    }
}

Test(log, percent_and_mixed)
{
    SAME("%%%s", "");
    SAME("100%% of %d%%", 7);
    SAME("free(%p): %s at %zu/%lu [%c] %x%%", (void *)0x1234, "double free", (size_t)17,
         99ul, 'q', 255u);
    SAME("no conversions at all%s", "");
}

/* At every buffer length the text is the prefix snprintf would keep, and
 * the return value is the untruncated length (log_line relies on it). */
Test(log, truncation_at_every_length)
{
    const char *fmt = "block %p: %s (%zu bytes, %d)";
    char want[128];
    int full = snprintf(want, sizeof want, fmt, (void *)0xfeed, "too long", (size_t)4096, -3);
    /* snprintf prints %p like we do for a non-NULL pointer. */
    for (size_t len = 0; len <= (size_t)full + 2; len++) {
        char got[160], ref[160];
        memset(got, 0x5a, sizeof got);
        memset(ref, 0x5a, sizeof ref);
        size_t n = log_format(got, len, fmt, (void *)0xfeed, "too long", (size_t)4096, -3);
        snprintf(ref, len, fmt, (void *)0xfeed, "too long", (size_t)4096, -3);
        cr_assert_eq(n, (size_t)full, "len %zu: returned %zu", len, n);
        cr_assert_eq(memcmp(got, ref, sizeof got), 0, "len %zu: \"%.*s\" vs \"%.*s\"", len,
                     (int)(len ? len - 1 : 0), got, (int)(len ? len - 1 : 0), ref);
    }
}

Test(log, unknown_conversion_and_trailing_percent)
{
    char got[32];
    memset(got, 0x5a, sizeof got);
    /* Through a variable: -Wformat would rightly reject these literals. */
    const char *volatile fmt = "a%qb";
    size_t n = log_format(got, sizeof got, fmt, 0);
    cr_assert_str_eq(got, "a%qb");
    cr_assert_eq(n, 4u);
    fmt = "end%";
    n = log_format(got, sizeof got, fmt, 0);
    cr_assert_eq(strncmp(got, "end", 3), 0, "\"%s\"", got);
    cr_assert_leq(n, 4u);
    cr_assert_eq(got[n], '\0');
}

static int capture(void (*fn)(void), char *buf, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    close(p[1]);
    fn();
    dup2(saved, 2);
    close(saved);
    size_t len = 0;
    ssize_t r;
    while (len < cap - 1 && (r = read(p[0], buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    close(p[0]);
    buf[len] = '\0';
    return (int)len;
}

static void emit_short(void)
{
    errno = ERANGE;
    log_line("free(%p): %s", (void *)0x10, "double free");
    cr_assert_eq(errno, ERANGE, "log_line changed errno");
}

static void emit_long(void)
{
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_line("long %s", big);
}

Test(log, log_line_writes_one_prefixed_line)
{
    char buf[8192];
    capture(emit_short, buf, sizeof buf);
    cr_assert_str_eq(buf, "reclaim: free(0x10): double free\n");
}

/* A message longer than the line buffer is cut, but stays one line. */
Test(log, log_line_truncates_long_messages)
{
    char buf[8192];
    int n = capture(emit_long, buf, sizeof buf);
    cr_assert_gt(n, 100);
    cr_assert_lt(n, 3000);
    cr_assert_eq(strncmp(buf, "reclaim: long yyy", 17), 0);
    cr_assert_eq(buf[n - 1], '\n');
    cr_assert_eq(strchr(buf, '\n'), buf + n - 1, "more than one line");
}

Test(log, log_line_fd_uses_the_fd)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    log_line_fd(p[1], "x=%d", 5);
    close(p[1]);
    char buf[64] = "";
    ssize_t r = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    cr_assert_eq(r, 13);
    cr_assert_str_eq(buf, "reclaim: x=5\n");
}
