/* Shared bits of the stop-the-world tests: failure reporting, a registry
 * of the test's own threads (tid and stack bounds), timing, a check of a
 * stopped world against that registry, the body of a thread blocked in one
 * call, and one stop and resume with every check the tests make of it.
 *
 * While the world is stopped a test must not take any lock a stopped
 * thread may hold (stdio, malloc): checks only record failures into a
 * static buffer, printed after resume_world(). */
#ifndef RECLAIM_TESTS_WORLD_H
#define RECLAIM_TESTS_WORLD_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/gc/stop.h"
#include "../../lib/util/log.h"

static int failures;
static char pending[8192];
static size_t pending_len;

/* Usable while the world is stopped: formats into a static buffer. */
__attribute__((format(printf, 1, 2), unused))
static inline void fail_later(const char *fmt, ...)
{
    failures++;
    if (pending_len + 200 >= sizeof pending)
        return;
    va_list ap;
    va_start(ap, fmt);
    pending_len += log_vformat(pending + pending_len, sizeof pending - pending_len - 1, fmt, ap);
    va_end(ap);
    pending[pending_len++] = '\n';
    pending[pending_len] = '\0';
}

static inline void flush_failures(void)
{
    if (pending_len) {
        fputs(pending, stderr);
        pending_len = 0;
        pending[0] = '\0';
    }
}

#define CHECK(cond, ...) do {                                   \
        if (!(cond)) {                                          \
            failures++;                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                       \
            fputc('\n', stderr);                                \
        }                                                       \
    } while (0)

static inline pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void spin_ns(uint64_t ns)
{
    uint64_t end = now_ns() + ns;
    while (now_ns() < end)
        ;
}

/* ---- registry of the test's threads ----------------------------------- */

#define MAX_KNOWN 512

struct known {
    atomic_int tid;
    uintptr_t lo, hi;        /* stack bounds */
    const char *name;
    int seen;                /* scratch for check_world */
};

static struct known known[MAX_KNOWN];
static atomic_int nknown;

/* Called by a thread about itself. */
static inline struct known *register_self(const char *name)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    int i = atomic_fetch_add(&nknown, 1);
    if (i >= MAX_KNOWN)
        abort();
    struct known *k = &known[i];
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    k->lo = (uintptr_t)addr;
    k->hi = (uintptr_t)addr + size;
    k->name = name;
    atomic_store(&k->tid, gettid_());
    return k;
}

static inline void unregister_self(struct known *k)
{
    atomic_store(&k->tid, 0);
}

/* A thread whose work is done stays alive (and registered) until the test
 * releases it: one that unregisters and exits while the world is being
 * stopped would be reported as a stranger. */
static atomic_int linger_release;

static inline void linger(void)
{
    while (!atomic_load(&linger_release)) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

static inline struct known *find_known(pid_t tid)
{
    int n = atomic_load(&nknown);
    for (int i = 0; i < n; i++)
        if (atomic_load(&known[i].tid) == tid)
            return &known[i];
    return NULL;
}

static inline int live_known(void)
{
    int n = atomic_load(&nknown), c = 0;
    for (int i = 0; i < n; i++)
        c += atomic_load(&known[i].tid) != 0;
    return c;
}

/* The stopped world must be exactly the live registered threads, each
 * once, with its stack pointer inside its stack. Safe while stopped. */
static inline void check_world(const struct world *w, int iter)
{
    int n = atomic_load(&nknown);
    for (int i = 0; i < n; i++)
        known[i].seen = 0;
    for (size_t i = 0; i < w->count; i++) {
        const struct stopped_thread *t = &w->threads[i];
        struct known *k = find_known(t->tid);
        if (!k) {
            fail_later("iter %d: stopped tid %d is not one of ours", iter, (int)t->tid);
            continue;
        }
        if (k->seen++)
            fail_later("iter %d: tid %d listed twice", iter, (int)t->tid);
        /* The red zone and a signal frame may sit below sp: allow a little. */
        if (t->sp < k->lo || t->sp > k->hi)
            fail_later("iter %d: %s (tid %d): sp %p outside its stack [%p, %p)", iter,
                       k->name, (int)t->tid, (void *)t->sp, (void *)k->lo, (void *)k->hi);
        if (!t->nregs || t->nregs > STOP_MAX_REGS)
            fail_later("iter %d: tid %d: %u registers", iter, (int)t->tid, t->nregs);
        if (syscall(SYS_tgkill, getpid(), t->tid, 0) != 0)
            fail_later("iter %d: tid %d does not exist", iter, (int)t->tid);
    }
    for (int i = 0; i < n; i++)
        if (atomic_load(&known[i].tid) && !known[i].seen)
            fail_later("iter %d: %s (tid %d) was not stopped", iter, known[i].name,
                       (int)known[i].tid);
}

/* ---- a thread blocked in one call ------------------------------------ */

/* A thread that makes one blocking call, and what the call returned as
 * that thread saw it. */
struct blocked {
    const char *what;    /* registry name and report label */
    long (*call)(void);  /* the blocking call */
    atomic_int *ready;   /* counted up once registered */
    long ret;
    int err;             /* errno after the call */
    double elapsed;      /* seconds spent in the call */
};

/* Thread body, arg a struct blocked: registers, says it is ready, makes
 * the call (timed, errno recorded) and lingers until released. */
static inline void *blocked_thread(void *arg)
{
    struct blocked *b = arg;
    struct known *k = register_self(b->what);
    atomic_fetch_add(b->ready, 1);
    double t0 = now_s();
    errno = 0;
    b->ret = b->call();
    b->err = errno;
    b->elapsed = now_s() - t0;
    linger();
    unregister_self(k);
    return NULL;
}

static inline const struct stopped_thread *find_stopped(const struct world *w, pid_t tid)
{
    for (size_t i = 0; i < w->count; i++)
        if (w->threads[i].tid == tid)
            return &w->threads[i];
    return NULL;
}

static inline int regs_contain(const struct stopped_thread *t, uintptr_t v)
{
    for (unsigned i = 0; i < t->nregs; i++)
        if (t->regs[i] == v)
            return 1;
    return 0;
}

static inline int vregs_contain(const struct stopped_thread *t, uintptr_t v)
{
    for (unsigned i = 0; i < t->nvwords && i < STOP_MAX_VWORDS; i++)
        if (t->vregs[i] == v)
            return 1;
    return 0;
}

static inline void block_all_signals(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
}

/* ---- a thread that keeps a value only in a callee-saved register ------- */

static atomic_int reg_release;

/* A value that appears nowhere but in that register. */
static inline uintptr_t register_magic(void)
{
    return ((uintptr_t)0x5eedf00d << 20) ^ (uintptr_t)getpid();
}

/* Another, held meanwhile in a vector register only. */
static inline uintptr_t vector_magic(void)
{
    return register_magic() ^ ((uintptr_t)0x7ec << 48);
}

/* Spins with v in r12 (x86_64) / x19 (aarch64) and vector_magic() in xmm15
 * / v31 until reg_release. */
static inline void hold_in_register(uintptr_t v)
{
    uintptr_t vm = vector_magic();
#if defined(__x86_64__)
    __asm__ __volatile__(
        "mov %1, %%r12\n"
        "movq %2, %%xmm15\n"
        "1: pause\n"
        "cmpl $0, (%0)\n"
        "je 1b\n"
        "xor %%r12d, %%r12d\n"
        "pxor %%xmm15, %%xmm15\n"
        : : "r"(&reg_release), "r"(v), "r"(vm) : "r12", "xmm15", "memory", "cc");
#elif defined(__aarch64__)
    __asm__ __volatile__(
        "mov x19, %1\n"
        "fmov d31, %2\n"
        "1: yield\n"
        "ldr w9, [%0]\n"
        "cbz w9, 1b\n"
        "mov x19, xzr\n"
        "movi d31, #0\n"
        : : "r"(&reg_release), "r"(v), "r"(vm) : "x19", "x9", "v31", "memory", "cc");
#endif
}

/* ---- one stop of the world, checked --------------------------------- */

/* What one checked stop saw. */
struct stop_seen {
    enum stop_method method;
    int spinner_moved;   /* the spinning thread ran while the world was stopped */
    int reg_found;       /* reg_tid's register value was among its registers */
    int vreg_found;      /* and its vector register value among its vector registers */
    double seconds;      /* stop, 100 us of checking, resume */
};

/* One stop and resume, checked: errno kept by both, the stopped world
 * exactly the live registered threads (check_world), the spinner frozen
 * for 100 us. Failures are recorded while stopped and printed after
 * resume. -1 (with the failure printed) when stop_world itself failed. */
static inline int checked_stop(const char *phase, int it, const volatile unsigned long *spin_count,
                               pid_t reg_tid, struct stop_seen *seen)
{
    struct world w;
    errno = 777;
    double t0 = now_s();
    if (stop_world(&w) != 0) {
        CHECK(0, "%s, iter %d: stop_world failed", phase, it);
        return -1;
    }
    if (errno != 777)
        fail_later("%s, iter %d: stop_world changed errno to %d", phase, it, errno);
    seen->method = w.method;
    unsigned long before = *spin_count;
    spin_ns(100000);
    seen->spinner_moved = *spin_count != before;
    check_world(&w, it);
    if ((int)w.count != live_known())
        fail_later("%s, iter %d: %zu threads stopped, %d alive", phase, it, w.count,
                   live_known());
    const struct stopped_thread *rt = find_stopped(&w, reg_tid);
    seen->reg_found = rt && regs_contain(rt, register_magic());
    seen->vreg_found = rt && vregs_contain(rt, vector_magic());
    resume_world(&w);
    seen->seconds = now_s() - t0;
    if (errno != 777)
        fail_later("%s, iter %d: resume_world changed errno to %d", phase, it, errno);
    flush_failures();
    return 0;
}

#endif
