/* Helpers shared by the unit tests: fill patterns (address-derived, so a
 * block that overlaps another, or is handed out twice, shows up as a
 * mismatch; or keyed, for contents that move), and running a function in a forked child with its
 * stdout and stderr captured. Everything is static inline: each test
 * program uses a different subset. */
#ifndef RECLAIM_TESTS_UNIT_H
#define RECLAIM_TESTS_UNIT_H

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The 8 pattern bytes at offsets 8w..8w+7 of a pattern keyed by `key`. */
static inline uint64_t unit_pattern_word(uint64_t key, size_t w)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ull + (uint64_t)w * 0x94d049bb133111ebull;
    return x ^ x >> 29;
}

static inline void unit_fill_key(void *p, size_t n, uint64_t key)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = unit_pattern_word(key, i / 8);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(b + i, &x, k);
    }
}

/* 1 when the n bytes at p still hold the pattern of `key`. */
static inline int unit_check_key(const void *p, size_t n, uint64_t key)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = unit_pattern_word(key, i / 8);
        size_t k = n - i < 8 ? n - i : 8;
        if (memcmp(b + i, &x, k))
            return 0;
    }
    return 1;
}

/* Keyed by the block's address and size, so that two live blocks never
 * share a pattern: a block handed out twice, or overlapping another, shows
 * up as a mismatch. (Not for contents that move: realloc.) */
static inline uint64_t unit_key(const void *p, size_t n)
{
    return (uint64_t)(uintptr_t)p ^ (uint64_t)n * 0xbf58476d1ce4e5b9ull;
}

static inline void unit_fill(void *p, size_t n)
{
    unit_fill_key(p, n, unit_key(p, n));
}

static inline int unit_check(const void *p, size_t n)
{
    return unit_check_key(p, n, unit_key(p, n));
}

struct unit_child {
    int status;          /* from waitpid */
    char out[4096];      /* the child's stdout, NUL-terminated (truncated) */
    char err[4096];      /* the child's stderr, NUL-terminated (truncated) */
};

static inline void unit_drain(int fds[2], char *bufs[2], size_t cap)
{
    size_t len[2] = { 0, 0 };
    int open_fds = 2;
    while (open_fds) {
        struct pollfd pf[2];
        int n = 0, which[2];
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0) {
                pf[n].fd = fds[i];
                pf[n].events = POLLIN;
                which[n++] = i;
            }
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < n; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = which[k];
            char tmp[512];
            ssize_t r = read(fds[i], tmp, sizeof tmp);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
                continue;
            }
            size_t room = cap - 1 - len[i];
            size_t take = (size_t)r < room ? (size_t)r : room;
            memcpy(bufs[i] + len[i], tmp, take);
            len[i] += take;
        }
    }
    bufs[0][len[0]] = '\0';
    bufs[1][len[1]] = '\0';
}

/* Runs fn(arg) in a forked child whose stdout and stderr go to pipes; the
 * child exits 0 if fn returns. No core files: an expected abort() should
 * not litter the build tree or take seconds to dump. Returns -1 if the
 * child could not be started. */
/* Runs fn(arg) in a forked child with stdout and stderr captured (no core
 * files); the child exits 0 if fn returns. With env set ("NAME=value"),
 * the child instead re-executes this binary with env added and argv
 * {"test-child", NULL}, for cases the library constructor must see.
 * -1 if it could not start. */
static inline int unit_run_child(void (*fn)(void *), void *arg, const char *env,
                                 struct unit_child *res)
{
    int po[2], pe[2];
    if (pipe(po))
        return -1;
    if (pipe(pe)) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        if (env) {
            putenv((char *)env);
            char *argv[] = { (char *)"test-child", NULL };
            execv("/proc/self/exe", argv);
            _exit(127);
        }
        fn(arg);
        _exit(0);
    }
    close(po[1]);
    close(pe[1]);
    int fds[2] = { po[0], pe[0] };
    char *bufs[2] = { res->out, res->err };
    unit_drain(fds, bufs, sizeof res->out);
    while (waitpid(pid, &res->status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* Tells the parent of a misuse child which pointer the misuse is about to
 * pass: the message to expect names it. write(2), not stdio: abort() does
 * not flush buffers. */
static inline void unit_say_ptr(const void *p)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%p\n", p);
    if (write(1, buf, (size_t)n) != n)
        _exit(90);
}

/* Hides a pointer's history from the compiler's use-after-free warnings,
 * so that a test can hand a freed pointer back on purpose. */
static inline void *unit_launder(void *p)
{
    void *volatile v = p;
    return v;
}

/* Number of '\n' in s: every reclaim message is exactly one line. */
static inline int unit_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#endif
