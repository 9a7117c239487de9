/* Helpers shared by the tests of the explicit-control API (<reclaim.h>).
 *
 * Keeping "the only pointer" honest, as the root probes do: blocks are
 * made by out-of-line helpers that hand back the pointer XOR-masked, so
 * the test function itself never holds a real pointer in a local or a
 * callee-saved register; the dead stack the helpers used is overwritten
 * (api_scrub) before each collection. A test that wants a block to die
 * keeps only masked values of it.
 *
 * Also: a child runner that captures stderr (the misuse messages end in
 * abort()), and re-running this same binary with an environment variable
 * set (options are read once, by the library constructor). Everything is
 * static: each test program uses a different subset. */
#ifndef RECLAIM_TESTS_API_TEST_H
#define RECLAIM_TESTS_API_TEST_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <reclaim.h>

#define API_NOINLINE __attribute__((noinline))
#define API_UNUSED __attribute__((unused))
#define API_MASK ((uintptr_t)0x5a5aa5a5c3c33c3cull)

static API_UNUSED void *volatile api_sink;

static API_UNUSED uintptr_t api_mask(const void *p)
{
    return (uintptr_t)p ^ API_MASK;
}

static API_UNUSED void *api_unmask(uintptr_t m)
{
    return (void *)(m ^ API_MASK);
}

/* The byte at offset j of a block filled with key. */
static API_UNUSED unsigned char api_byte(uintptr_t key, size_t j)
{
    return (unsigned char)(key * 131u + j * 7u + 1u);
}

static API_UNUSED API_NOINLINE void api_fill(void *p, size_t n, uintptr_t key)
{
    unsigned char *b = p;
    for (size_t j = 0; j < n; j++)
        b[j] = api_byte(key, j);
}

/* 1 when the n bytes at p still hold key's pattern. */
static API_UNUSED API_NOINLINE int api_intact(const void *p, size_t n, uintptr_t key)
{
    const unsigned char *b = p;
    for (size_t j = 0; j < n; j++)
        if (b[j] != api_byte(key, j))
            return 0;
    return 1;
}

/* A malloc'd block of n bytes holding key's pattern, masked. */
static API_UNUSED API_NOINLINE uintptr_t api_new_masked(size_t n, uintptr_t key)
{
    void *p = malloc(n);
    if (!p)
        abort();
    api_fill(p, n, key);
    return api_mask(p);
}

/* 1 when the block whose masked start is m is still allocated (its start
 * is a block start). */
static API_UNUSED API_NOINLINE int api_alive(uintptr_t m)
{
    void *p = api_unmask(m);
    return reclaim_block_start(p) == p;
}

/* Overwrites the dead stack below the caller, so that stale copies of
 * pointers left there by helpers cannot keep blocks alive. */
static API_UNUSED API_NOINLINE void api_scrub(void)
{
    volatile char buf[64 * 1024];
    memset((char *)buf, 0, sizeof buf);
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* A collection with a clean stack below the caller. */
static API_UNUSED API_NOINLINE size_t api_collect(void)
{
    api_scrub();
    return reclaim_collect();
}

static API_UNUSED size_t api_collections(void)
{
    reclaim_stats s;
    reclaim_get_stats(&s);
    return s.collections;
}

/* Allocates and drops `bytes` of garbage in pieces of `piece` bytes. */
static API_UNUSED API_NOINLINE void api_garbage(size_t bytes, size_t piece)
{
    for (size_t done = 0; done < bytes; done += piece) {
        char *p = malloc(piece);
        if (!p)
            abort();
        p[0] = 1;
        api_sink = p;
    }
    api_sink = NULL;
}

/* ---- children ---- */

struct api_child {
    int status;          /* from waitpid */
    char out[4096];      /* stdout, NUL-terminated, truncated */
    char err[4096];      /* stderr, likewise */
};

static API_UNUSED void api_drain(int fds[2], char *bufs[2], size_t cap)
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

/* Runs fn(arg) in a forked child with stdout and stderr captured (no core
 * files); the child exits 0 if fn returns. With env set ("NAME=value"),
 * the child instead re-executes this binary with env added and argv
 * {argv0, NULL}, for cases the library constructor must see; a
 * constructor in the test picks the case up. -1 if it could not start. */
static API_UNUSED int api_run_child(void (*fn)(void *), void *arg, const char *env,
                                    struct api_child *res)
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
            char *argv[] = { (char *)"api-test-child", NULL };
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
    api_drain(fds, bufs, sizeof res->out);
    while (waitpid(pid, &res->status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* Number of '\n' in s. */
static API_UNUSED int api_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#endif
