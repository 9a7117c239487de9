/* Stopping and resuming the world (see stop.h for the contract).
 *
 * Two mechanisms, tried in this order:
 *
 * 1. ptrace from a helper task, as LeakSanitizer does. The caller clones a
 *    "tracer" that shares its address space (CLONE_VM, not CLONE_THREAD, so
 *    it is a separate process and may ptrace our threads). The tracer
 *    PTRACE_SEIZEs and PTRACE_INTERRUPTs every thread listed in
 *    /proc/self/task, re-reading the list until a pass finds no new thread
 *    (then every thread that could have created one is stopped), reads each
 *    thread's registers, tells the caller, waits for "resume" and exits:
 *    the kernel detaches every tracee of a dying tracer. A thread sleeping
 *    in a restartable system call (nanosleep, poll, futex, read, ...) is
 *    restarted by the kernel with its remaining time, so it cannot tell;
 *    signal masks do not matter to ptrace. Signals that reach a thread
 *    while it is being stopped are handed straight back to it (PTRACE_CONT
 *    with the signal); signals sent while it is stopped simply stay queued
 *    in the kernel: none is lost, and the tracer never holds one, so even
 *    killing it loses nothing.
 *
 *    The tracer shares our TLS (same fs base) but is not a glibc thread:
 *    it must never write errno or any thread-local, so it uses only the raw
 *    system-call helper below, and it runs with every signal blocked (the
 *    program's handlers are copied into it by clone; one running there
 *    would be a disaster). It has no exit signal, so the program never sees
 *    a SIGCHLD or a child in wait(); the caller reaps it with __WALL.
 *
 *    epoll_wait and rt_sigtimedwait are the exceptions the kernel makes to
 *    transparent restarts: woken by the interrupt, they return EINTR (as
 *    after SIGSTOP/SIGCONT or a debugger's attach; signal(7), ptrace(2)).
 *    When such a call waits forever (no timeout), the tracer turns the
 *    EINTR into -ERESTARTNOHAND before resuming (x86_64 only), so the
 *    kernel restarts it if no handler runs and still reports EINTR if one
 *    does: what the program would see without us. With a finite timeout a
 *    restart would begin the full timeout again (and repeated collections
 *    could postpone it forever), and ptrace offers no way to learn how
 *    much is left, nor to stop a thread without waking it, so we leave that
 *    EINTR alone: programs must handle it for epoll_wait anyway.
 *
 *    Yama's ptrace_scope 1 lets a process trace only its descendants, and
 *    the tracer is a child: the caller names it with PR_SET_PTRACER and
 *    clears that afterwards (there is no way to read back a value the
 *    program may have set itself; we skip all this when we hold
 *    CAP_SYS_PTRACE, which overrides Yama).
 *
 * 2. Signals, where ptrace is refused (a debugger already attached,
 *    seccomp, a non-dumpable process without CAP_SYS_PTRACE, Yama scope 3),
 *    as the Boehm collector does. We use signal 63 (SIGRTMAX-1): a real-time
 *    signal is queued per send and never merged with a program's own
 *    instance, programs that use real-time signals count up from SIGRTMIN,
 *    and SIGRTMAX itself is left to tools such as valgrind. Our handler
 *    (SA_SIGINFO|SA_RESTART, every signal blocked while it runs) copies the
 *    interrupted registers from the ucontext, acknowledges, and waits on a
 *    futex until resumed. The costs, which are why this is only a fallback:
 *      - a thread blocked in a call the kernel never restarts after a
 *        handler (nanosleep, sleep, poll, select, epoll_wait, sigtimedwait,
 *        recv with a timeout, ...: see signal(7)) returns EINTR or early;
 *      - a thread that blocks signal 63 cannot be stopped: we read its
 *        SigBlk in /proc/self/task/<tid>/status and, unless it unblocks
 *        soon (a thread being created starts with everything blocked), give
 *        up (-1: the caller skips the collection). glibc's thread exit
 *        blocks every signal and may wait for a lock a stopped thread holds:
 *        that too ends in -1, never in a hang;
 *      - the program's disposition of signal 63 is swapped for ours during
 *        the stop: a sigaction() call then sees ours, and the program's own
 *        signal 63 arriving meanwhile is passed to its handler by ours;
 *      - a debugger shows the signal (gdb: "handle SIG63 nostop noprint").
 *
 * Either way, a stop that does not complete within STOP_TIMEOUT_MS (a
 * thread in uninterruptible sleep, a vfork parent whose child waits for
 * the allocator's locks) is undone and reported as -1.
 *
 * Nothing here allocates from the heap, uses stdio or opendir, or takes a
 * lock another thread could hold: the caller holds the allocator's locks,
 * os.c's included, so not even os_map() may be called during a stop. The
 * thread table and the tracer's stack are mapped at load time (registered
 * with os.c, so never scanned) or, failing that or for very many threads,
 * by raw mmap; both are scrubbed after each stop. */
#define _GNU_SOURCE
#include "stop.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../heap/os.h"
#include "../util/compiler.h"
#include "../util/log.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "stop.c: only x86_64 and aarch64 are supported"
#endif

#define STOP_SIGNO       63                   /* SIGRTMAX - 1, see above */
#define STOP_TIMEOUT_MS  3000                 /* then give up: -1 */
#define BLOCKED_GRACE_MS 50                   /* a thread briefly blocking signal 63... */
#define BLOCKED_RUN_MS   5                    /* ...unless it runs that long blocking it */
#define BLOCKED_MAX_MS   500                  /* ...or waits that long for a CPU */
#define TRACER_STACK     (256u * 1024)
#define PAGE             4096u

/* ---- raw system calls: no errno, no TLS -------------------------------- */

static inline long sc6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ __volatile__("svc 0"
                         : "+r"(x0)
                         : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                         : "memory", "cc");
    return x0;
#endif
}

#define SC(n, a, b, c, d) sc6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static pid_t raw_gettid(void) { return (pid_t)SC(SYS_gettid, 0, 0, 0, 0); }
static pid_t raw_getpid(void) { return (pid_t)SC(SYS_getpid, 0, 0, 0, 0); }
static long raw_ptrace(long req, pid_t tid, long addr, long data)
{
    return SC(SYS_ptrace, req, tid, addr, data);
}
static long raw_wait(pid_t pid, int *status, int options)
{
    return SC(SYS_wait4, pid, status, options, 0);
}
static int raw_open_at(int dirfd, const char *path, int flags)
{
    return (int)SC(SYS_openat, dirfd, path, flags, 0);
}
static void raw_close(int fd) { SC(SYS_close, fd, 0, 0, 0); }
static _Noreturn void raw_exit(int code)
{
    for (;;)
        SC(SYS_exit, code, 0, 0, 0);
}

static long futex_wait(atomic_int *word, int val, const struct timespec *ts)
{
    /* Not FUTEX_PRIVATE_FLAG: the tracer is another process (same mm). */
    return SC(SYS_futex, word, FUTEX_WAIT, val, ts);
}
static void futex_wake(atomic_int *word)
{
    SC(SYS_futex, word, FUTEX_WAKE, 0x7fffffff, 0);
}

static void *raw_map(size_t size)
{
    long p = sc6(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return (p < 0 && p > -4096) ? NULL : (void *)p;
}
static void raw_unmap(void *p, size_t size) { SC(SYS_munmap, p, size, 0, 0); }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec ts = { 0, ns };
    SC(SYS_nanosleep, &ts, 0, 0, 0);
}

/* ---- thread table ------------------------------------------------------ *
 * pub[] is what the caller sees (w->threads); priv[] is our state per
 * record; hash[] maps tid -> index+1 so that re-reading /proc/self/task is
 * linear in the number of threads. One raw mapping, grown by copying: by
 * the tracer while it stops threads, by the caller in the signal path
 * (only while no handler can be writing into it). */

enum tstate {
    T_NEW,          /* listed, nothing done yet */
    T_PENDING,      /* ptrace: seized and interrupted, stop not yet seen */
    T_STOPPED,      /* stopped and described in pub[] */
    T_GONE,         /* exited (or a zombie) before we got it */
    T_BLOCKED,      /* signals: it blocks STOP_SIGNO (maybe only briefly) */
    T_SENT          /* signals: sent, not yet acknowledged */
};

struct trec {
    pid_t tid;
    atomic_int state;
    uint64_t since, run0;   /* signals, T_BLOCKED: first seen blocking, its CPU time then */
};

struct table {
    struct stopped_thread *pub;
    struct trec *priv;
    int *hash;
    size_t cap, n, hmask;
    void *map;
    size_t map_size;
    int registered;         /* map came from os_map(): never unmap it here */
};

static struct table tab;

static size_t table_bytes(size_t cap, size_t hsize)
{
    size_t b = cap * sizeof(struct stopped_thread) + cap * sizeof(struct trec) +
               hsize * sizeof(int);
    return (b + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static void hash_put(struct table *t, pid_t tid, size_t idx)
{
    size_t h = ((uint32_t)tid * 2654435761u) & t->hmask;
    while (t->hash[h])
        h = (h + 1) & t->hmask;
    t->hash[h] = (int)idx + 1;
}

static int hash_has(const struct table *t, pid_t tid)
{
    size_t h = ((uint32_t)tid * 2654435761u) & t->hmask;
    for (int v; (v = t->hash[h]); h = (h + 1) & t->hmask)
        if (t->priv[v - 1].tid == tid)
            return 1;
    return 0;
}

static struct table table_layout(char *m, size_t cap, size_t bytes)
{
    return (struct table){
        .pub = (struct stopped_thread *)m,
        .priv = (struct trec *)(m + cap * sizeof(struct stopped_thread)),
        .hash = (int *)(m + cap * (sizeof(struct stopped_thread) + sizeof(struct trec))),
        .cap = cap, .hmask = cap * 2 - 1, .map = m, .map_size = bytes,
    };
}

/* Makes room for at least `want` records, keeping the current ones.
 * Only raw system calls: the tracer calls this too. */
static int table_reserve(struct table *t, size_t want)
{
    if (want <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < want)
        cap *= 2;
    size_t bytes = table_bytes(cap, cap * 2);
    char *m = raw_map(bytes);
    if (!m)
        return -ENOMEM;
    struct table n = table_layout(m, cap, bytes);
    n.n = t->n;
    for (size_t i = 0; i < t->n; i++) {
        n.pub[i] = t->pub[i];
        n.priv[i].tid = t->priv[i].tid;
        n.priv[i].since = t->priv[i].since;
        n.priv[i].run0 = t->priv[i].run0;
        atomic_store_explicit(&n.priv[i].state,
                              atomic_load_explicit(&t->priv[i].state, memory_order_relaxed),
                              memory_order_relaxed);
        hash_put(&n, n.priv[i].tid, i);
    }
    /* Switch first, unmap after: a tracer killed in between (timeout)
     * leaves a leak, not a table pointing at nothing. */
    struct table old = *t;
    *t = n;
    if (old.map && !old.registered)
        raw_unmap(old.map, old.map_size);
    return 0;
}

static void table_clear(struct table *t)
{
    if (t->hash)
        memset(t->hash, 0, (t->hmask + 1) * sizeof(int));
    t->n = 0;
}

static int table_add(struct table *t, pid_t tid)
{
    if (hash_has(t, tid))
        return 0;
    if (t->n == t->cap) {
        int r = table_reserve(t, t->n + 1);
        if (r < 0)
            return r;
    }
    size_t i = t->n++;
    t->priv[i].tid = tid;
    atomic_store_explicit(&t->priv[i].state, T_NEW, memory_order_relaxed);
    memset(&t->pub[i], 0, sizeof t->pub[i]);
    t->pub[i].tid = tid;
    hash_put(t, tid, i);
    return 1;
}

/* Moves the records in state T_STOPPED to the front; returns their count. */
static size_t table_compact(struct table *t)
{
    size_t j = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (atomic_load_explicit(&t->priv[i].state, memory_order_acquire) != T_STOPPED)
            continue;
        if (i != j) {
            t->pub[j] = t->pub[i];
            t->priv[j].tid = t->priv[i].tid;
            atomic_store_explicit(&t->priv[j].state, T_STOPPED, memory_order_relaxed);
        }
        j++;
    }
    t->n = j;
    return j;
}

/* ---- /proc/self/task ---------------------------------------------------- */

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static pid_t parse_tid(const char *s)
{
    long v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 0x3fffffff)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return (pid_t)v;
}

/* Adds every thread listed in dirfd but `self` to t. Returns the number of
 * new records or -errno. `count_only` just counts the others. */
static long read_tids(int dirfd, pid_t self, struct table *t, int count_only)
{
    char buf[4096] __attribute__((aligned(8)));
    long added = 0;
    if (SC(SYS_lseek, dirfd, 0, SEEK_SET, 0) < 0)
        return -EIO;
    for (;;) {
        long got = SC(SYS_getdents64, dirfd, buf, sizeof buf, 0);
        if (got < 0)
            return got;
        if (got == 0)
            return added;
        for (long off = 0; off < got;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
            off += d->d_reclen;
            pid_t tid = parse_tid(d->d_name);
            if (tid <= 0 || tid == self)
                continue;
            if (count_only) {
                added++;
                continue;
            }
            int r = table_add(t, tid);
            if (r < 0)
                return r;
            added += r;
        }
    }
}

/* Formats "<tid>/<leaf>" without stdio. */
static void task_path(char *out, pid_t tid, const char *leaf)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + tid % 10);
        tid /= 10;
    } while (tid);
    while (n)
        *out++ = tmp[--n];
    *out++ = '/';
    while (*leaf)
        *out++ = *leaf++;
    *out = '\0';
}

static long read_task_file(int dirfd, pid_t tid, const char *leaf, char *buf, size_t len)
{
    char path[48];
    task_path(path, tid, leaf);
    int fd = raw_open_at(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fd;
    long n = SC(SYS_read, fd, buf, len - 1, 0);
    raw_close(fd);
    if (n < 0)
        return n;
    buf[n] = '\0';
    return n;
}

/* The state letter of /proc/.../stat (R, S, D, Z, ...), 0 if gone. */
static char task_state(int dirfd, pid_t tid)
{
    char buf[512];
    if (read_task_file(dirfd, tid, "stat", buf, sizeof buf) < 0)
        return 0;
    const char *close = NULL;
    for (const char *p = buf; *p; p++)
        if (*p == ')')
            close = p;   /* the last one: the name may contain ')' */
    return close && close[1] == ' ' ? close[2] : '?';
}

/* 1 if the thread is gone or a zombie (e.g. a main thread that called
 * pthread_exit: ptrace refuses it with EPERM, nothing to stop there). */
static int task_is_dead(int dirfd, pid_t tid)
{
    char st = task_state(dirfd, tid);
    return !st || st == 'Z' || st == 'X' || st == 'x';
}

/* CPU time the thread has run, in ns (first field of schedstat), or -1. */
static int64_t task_runtime(int dirfd, pid_t tid)
{
    char buf[128];
    if (read_task_file(dirfd, tid, "schedstat", buf, sizeof buf) <= 0 ||
        buf[0] < '0' || buf[0] > '9')
        return -1;
    int64_t v = 0;
    for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return v;
}

/* The hexadecimal value of a "Name:\t0000..." line of a status file. */
static uint64_t status_hex(const char *buf, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = buf; *p; p++) {
        if ((p == buf || p[-1] == '\n') && !strncmp(p, name, len)) {
            p += len;
            while (*p == ' ' || *p == '\t')
                p++;
            uint64_t v = 0;
            for (;; p++) {
                int d;
                if (*p >= '0' && *p <= '9') d = *p - '0';
                else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
                else break;
                v = v << 4 | (uint64_t)d;
            }
            return v;
        }
    }
    return 0;
}

/* 1 if the thread blocks sig, 0 if not, -1 if it is gone. */
static int task_blocks(int dirfd, pid_t tid, int sig)
{
    char buf[2048];
    if (read_task_file(dirfd, tid, "status", buf, sizeof buf) < 0)
        return -1;
    return (int)(status_hex(buf, "SigBlk:") >> (sig - 1) & 1);
}

/* ---- once-per-process messages, Yama ------------------------------------ */

static atomic_int logged;

#define fail_once(...) do {                                            \
        if (!atomic_exchange_explicit(&logged, 1, memory_order_relaxed)) \
            log_line(__VA_ARGS__);                                      \
    } while (0)

/* /proc/sys/kernel/yama/ptrace_scope, read once: -1 absent/unknown.
 * Scope 1 lets a process trace only its descendants, and our tracer is a
 * child: the caller must name it with PR_SET_PTRACER, unless it holds
 * CAP_SYS_PTRACE, which overrides Yama (then we leave PR_SET_PTRACER alone:
 * there is no way to read back a value the program may have set). */
static int yama_scope = -2;

static int read_yama(void)
{
    if (yama_scope != -2)
        return yama_scope;
    int scope = -1;
    int fd = raw_open_at(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char c;
        if (SC(SYS_read, fd, &c, 1, 0) == 1 && c >= '0' && c <= '9')
            scope = c - '0';
        raw_close(fd);
    }
    if (scope == 1) {
        char buf[2048];
        fd = raw_open_at(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            long n = SC(SYS_read, fd, buf, sizeof buf - 1, 0);
            raw_close(fd);
            buf[n > 0 ? n : 0] = '\0';
            if (status_hex(buf, "CapEff:") >> 19 & 1)   /* CAP_SYS_PTRACE */
                scope = 0;
        }
    }
    yama_scope = scope;
    return scope;
}

/* ---- the ptrace path --------------------------------------------------- */

enum { TR_STARTING = 0, TR_STOPPED, TR_FAILED };

struct tracer {
    atomic_int go;          /* caller -> tracer: may attach (PR_SET_PTRACER done) */
    atomic_int state;       /* tracer -> caller: TR_* */
    atomic_int resume;      /* caller -> tracer: detach and exit */
    int err;                /* TR_FAILED: -errno of what failed */
    pid_t fail_tid;
    pid_t pid, self;        /* the program, the collecting thread */
    int dirfd;              /* /proc/self/task of the program */
};

static struct tracer tr;
static char *tracer_stack;

#define INITIAL_CAP 256

/* Memory prepared at load time, while os_map() may still be called (inside
 * stop_world the caller holds os.c's lock): registered, so the collector
 * does not scan it. Should this not have run yet, or should a program have
 * more than INITIAL_CAP threads, raw mappings take over; scanning those is
 * harmless (they hold the registers the collector scans anyway, and are
 * scrubbed on resume), merely not free. */
__attribute__((constructor)) static void stop_prepare(void)
{
    if (!tracer_stack) {
        char *s = os_map(TRACER_STACK);
        if (s) {
            SC(SYS_mprotect, s, PAGE, PROT_NONE, 0);   /* guard */
            tracer_stack = s;
        }
    }
    if (!tab.map) {
        size_t bytes = table_bytes(INITIAL_CAP, INITIAL_CAP * 2);
        char *m = os_map(bytes);
        if (m) {
            tab = table_layout(m, INITIAL_CAP, bytes);
            tab.registered = 1;
        }
    }
}

#if defined(__x86_64__)
#define NREGS_PTRACE 27     /* every field of struct user_regs_struct */
#else
#define NREGS_PTRACE 32     /* x0..x30 and sp (pc and pstate are no pointers) */
#endif
_Static_assert(NREGS_PTRACE <= STOP_MAX_REGS, "STOP_MAX_REGS too small");

static int get_regs(pid_t tid, struct stopped_thread *st, struct user_regs_struct *r)
{
    struct iovec io = { r, sizeof *r };
    long e = raw_ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, (long)&io);
    if (e < 0)
        return (int)e;
#if defined(__x86_64__)
    _Static_assert(sizeof *r == NREGS_PTRACE * sizeof(uintptr_t), "user_regs_struct");
    memcpy(st->regs, r, sizeof *r);
    st->sp = r->rsp;
#else
    for (int i = 0; i < 31; i++)
        st->regs[i] = r->regs[i];
    st->regs[31] = r->sp;
    st->sp = r->sp;
#endif
    st->nregs = NREGS_PTRACE;
    /* Vector registers: whatever of their save area the kernel gives
     * (none, where the regset is missing, is what we had before). */
    struct iovec vio = { st->vregs, sizeof st->vregs };
#if defined(__x86_64__)
    if (raw_ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, (long)&vio) < 0) {
        vio.iov_len = sizeof st->vregs;   /* no XSAVE: the FXSAVE area, xmm0-15 */
        if (raw_ptrace(PTRACE_GETREGSET, tid, NT_PRFPREG, (long)&vio) < 0)
            vio.iov_len = 0;
    }
#else
    if (raw_ptrace(PTRACE_GETREGSET, tid, NT_PRFPREG, (long)&vio) < 0)
        vio.iov_len = 0;
#endif
    st->nvwords = (unsigned)(vio.iov_len / sizeof(uintptr_t));
    return 0;
}

/* The thread stopped right after a wait-forever epoll_wait/epoll_pwait/
 * epoll_pwait2/rt_sigtimedwait returned EINTR because of our interrupt:
 * make it -ERESTARTNOHAND so that the kernel restarts the call on detach
 * unless a signal handler runs, which then still sees EINTR. */
static void restart_if_needed(pid_t tid, const struct user_regs_struct *r)
{
#if defined(__x86_64__)
    if ((long)r->rax != -EINTR)
        return;
    int forever;
    switch ((long)r->orig_rax) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
        forever = (int)r->r10 < 0;
        break;
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
        forever = r->r10 == 0;
        break;
#endif
    case SYS_rt_sigtimedwait:
        forever = r->rdx == 0;
        break;
    default:
        return;
    }
    if (!forever)
        return;
    /* Still sitting right after the syscall instruction (0f 05)? */
    long word = 0;
    if (raw_ptrace(PTRACE_PEEKTEXT, tid, (long)(r->rip - 2), (long)&word) < 0 ||
        (word & 0xffff) != 0x050f)
        return;
    raw_ptrace(PTRACE_POKEUSER, tid, offsetof(struct user_regs_struct, rax), -514 /* ERESTARTNOHAND */);
#else
    /* arm64 decides about restarting before the stop is reported and
     * forgets the syscall number, so the trick does not apply there. */
    (void)tid;
    (void)r;
#endif
}

/* Waits until tid reports its stop (state T_STOPPED) or its exit (T_GONE). */
static void tracer_wait_stop(struct trec *rec, struct stopped_thread *st)
{
    pid_t tid = rec->tid;
    for (;;) {
        int status = 0;
        long r = raw_wait(tid, &status, __WALL);
        if (r == -EINTR)
            continue;
        if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
            atomic_store_explicit(&rec->state, T_GONE, memory_order_relaxed);
            return;
        }
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status);
        int event = status >> 16;
        if (event == 0) {
            /* Signal-delivery-stop: a signal was on its way in. Give it
             * back now; the pending interrupt stops the thread right after
             * (at the handler's first instruction, its frame pushed). */
            if (raw_ptrace(PTRACE_CONT, tid, 0, sig) < 0) {
                atomic_store_explicit(&rec->state, T_GONE, memory_order_relaxed);
                return;
            }
            continue;
        }
        /* PTRACE_EVENT_STOP: our interrupt (SIGTRAP) or a group-stop. */
        struct user_regs_struct regs;
        if (get_regs(tid, st, &regs) < 0) {
            atomic_store_explicit(&rec->state, T_GONE, memory_order_relaxed);   /* being killed */
            return;
        }
        if (event == PTRACE_EVENT_STOP && sig == SIGTRAP)
            restart_if_needed(tid, &regs);
        atomic_store_explicit(&rec->state, T_STOPPED, memory_order_relaxed);
        return;
    }
}

static void tracer_fail(int err, pid_t tid)
{
    tr.err = err;
    tr.fail_tid = tid;
    atomic_store_explicit(&tr.state, TR_FAILED, memory_order_release);
    futex_wake(&tr.state);
    /* Exiting detaches every tracee (the kernel drops a pending interrupt
     * and wakes stopped ones); no signal is held here, so none is lost. */
    raw_exit(0);
}

/* On a busy machine the tracer competes for a CPU with every runnable
 * thread of the program, and its work is a long series of short steps,
 * each waiting for one: the stop would take as many time slices. Since
 * Linux 6.12 a task may ask for a shorter slice (no privilege needed); the
 * scheduler then lets it preempt sooner. Older kernels ignore the request
 * or refuse it, which costs nothing. Only the tracer is affected; the
 * caller sets it as soon as the tracer exists, before its first run. */
static void ask_short_slice(pid_t pid)
{
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr = { .size = 48, .policy = 0 /* SCHED_OTHER */, .runtime = 100000 /* ns */ };
    long prio = SC(SYS_getpriority, PRIO_PROCESS, pid, 0, 0);   /* 20 - nice */
    if (prio < 0)
        return;
    attr.nice = (int32_t)(20 - prio);
    SC(SYS_sched_setattr, pid, &attr, 0, 0);
}

/* The helper task. Runs on tracer_stack, with every signal blocked, in
 * another process sharing our memory: raw system calls only. */
static int tracer_main(void *arg)
{
    (void)arg;
    /* Die with the collecting thread rather than outlive it. */
    SC(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0);
    if ((pid_t)SC(SYS_getppid, 0, 0, 0, 0) != tr.pid)
        raw_exit(0);
    while (!atomic_load_explicit(&tr.go, memory_order_acquire))
        futex_wait(&tr.go, 0, NULL);

    for (;;) {
        size_t first = tab.n;
        long added = read_tids(tr.dirfd, tr.self, &tab, 0);
        if (added < 0)
            tracer_fail((int)added, 0);
        if (added == 0)
            break;   /* everything listed is already stopped: nobody left to create threads */
        /* Interrupt all new threads first, then collect their stops: the
         * interrupts proceed in parallel. */
        for (size_t i = first; i < tab.n; i++) {
            struct trec *rec = &tab.priv[i];
            long r = raw_ptrace(PTRACE_SEIZE, rec->tid, 0, 0);
            if (r == -ESRCH || (r == -EPERM && task_is_dead(tr.dirfd, rec->tid))) {
                atomic_store_explicit(&rec->state, T_GONE, memory_order_relaxed);
                continue;
            }
            if (r < 0)
                tracer_fail((int)r, rec->tid);
            /* ESRCH here means it is exiting: its exit is reported to wait. */
            raw_ptrace(PTRACE_INTERRUPT, rec->tid, 0, 0);
            atomic_store_explicit(&rec->state, T_PENDING, memory_order_relaxed);
        }
        for (size_t i = first; i < tab.n; i++)
            if (atomic_load_explicit(&tab.priv[i].state, memory_order_relaxed) == T_PENDING)
                tracer_wait_stop(&tab.priv[i], &tab.pub[i]);
    }
    table_compact(&tab);

    atomic_store_explicit(&tr.state, TR_STOPPED, memory_order_release);
    futex_wake(&tr.state);
    while (!atomic_load_explicit(&tr.resume, memory_order_acquire))
        futex_wait(&tr.resume, 0, NULL);
    /* Resume by exiting: the kernel detaches every tracee as the tracer
     * dies (exactly what PTRACE_DETACH does, signal 0), all of them in one
     * critical section that also makes us a zombie and wakes the caller.
     * Detaching one by one instead, each woken thread may take the CPU
     * from the tracer before it is done with the rest. */
    raw_exit(0);
}

static pid_t tracer_pid;
static int tracer_set_ptracer;

/* After the tracer is reaped. */
static void tracer_gone(void)
{
    /* Its stack held copies of registers: drop the pages, nothing stale
     * stays for a later scan (and no memory stays resident). */
    SC(SYS_madvise, tracer_stack + PAGE, TRACER_STACK - PAGE, MADV_DONTNEED, 0);
    if (tracer_set_ptracer) {
        SC(SYS_prctl, PR_SET_PTRACER, 0, 0, 0);
        tracer_set_ptracer = 0;
    }
    tracer_pid = 0;
}

/* Reaps the tracer (it has no exit signal: __WALL). */
static void tracer_reap(void)
{
    int status;
    while (raw_wait(tracer_pid, &status, __WALL) == -EINTR)
        ;
    tracer_gone();
}

enum { PT_OK = 0, PT_FAILED = -1, PT_REFUSED = -2 };

static int ptrace_stop(struct world *w, int dirfd, pid_t pid, pid_t self)
{
    if (!tracer_stack) {
        char *s = raw_map(TRACER_STACK);
        if (!s)
            return PT_REFUSED;
        SC(SYS_mprotect, s, PAGE, PROT_NONE, 0);   /* guard */
        tracer_stack = s;
    }
    /* Under Yama's scope 1 the tracer must wait until we have named it
     * our tracer; otherwise it may start at once. */
    int yama = read_yama() == 1;
    atomic_store(&tr.go, !yama);
    atomic_store(&tr.state, TR_STARTING);
    atomic_store(&tr.resume, 0);
    tr.err = 0;
    tr.fail_tid = 0;
    tr.pid = pid;
    tr.self = self;
    tr.dirfd = dirfd;
    table_clear(&tab);

    /* The tracer starts with every signal blocked (SIGCANCEL and SIGSETXID
     * included, hence the raw call): the program's handlers are copied into
     * it and must never run there. Ours is restored right after. */
    uint64_t all = ~(uint64_t)0, old;
    SC(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
    /* Exit signal 0: no SIGCHLD for the program, invisible to its wait(). */
    pid_t child = clone(tracer_main, tracer_stack + TRACER_STACK,
                        CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, NULL);
    SC(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, sizeof old);
    if (child < 0)
        return PT_REFUSED;   /* seccomp, RLIMIT_NPROC, ...: try signals */
    tracer_pid = child;
    ask_short_slice(child);
    if (yama) {
        if (SC(SYS_prctl, PR_SET_PTRACER, child, 0, 0) == 0)
            tracer_set_ptracer = 1;
        atomic_store_explicit(&tr.go, 1, memory_order_release);
        futex_wake(&tr.go);
    }

    uint64_t deadline = now_ns() + (uint64_t)STOP_TIMEOUT_MS * 1000000u;
    int state;
    while ((state = atomic_load_explicit(&tr.state, memory_order_acquire)) == TR_STARTING) {
        uint64_t now = now_ns();
        if (now >= deadline) {
            /* A thread that will not stop (uninterruptible sleep, a vfork
             * parent whose child waits for our locks): give up. Killing the
             * tracer detaches everything; it holds no signal. */
            SC(SYS_kill, child, SIGKILL, 0, 0);
            tracer_reap();
            fail_once("could not stop all threads within %d ms; not collecting", STOP_TIMEOUT_MS);
            return PT_FAILED;
        }
        uint64_t left = deadline - now;
        if (left > 20000000u)
            left = 20000000u;
        struct timespec ts = { 0, (long)left };
        futex_wait(&tr.state, TR_STARTING, &ts);
        if (atomic_load_explicit(&tr.state, memory_order_acquire) != TR_STARTING)
            continue;
        int status;
        if (raw_wait(child, &status, __WALL | WNOHANG) == child) {
            /* Died without a word (seccomp killed it on ptrace, ...), or
             * failed and exited between our two looks at its state. */
            tracer_gone();
            if (atomic_load_explicit(&tr.state, memory_order_acquire) == TR_FAILED &&
                tr.err != -EPERM && tr.err != -ENOSYS) {
                fail_once("cannot stop thread %d: ptrace error %d; not collecting",
                          (int)tr.fail_tid, -tr.err);
                return PT_FAILED;
            }
            return PT_REFUSED;
        }
    }
    if (state == TR_FAILED) {
        int err = tr.err;
        pid_t tid = tr.fail_tid;
        tracer_reap();
        if (err == -EPERM || err == -ENOSYS)
            return PT_REFUSED;
        fail_once("cannot stop thread %d: ptrace error %d; not collecting", (int)tid, -err);
        return PT_FAILED;
    }
    w->threads = tab.pub;
    w->count = tab.n;
    w->method = STOP_PTRACE;
    return PT_OK;
}

static void ptrace_resume(void)
{
    atomic_store_explicit(&tr.resume, 1, memory_order_release);
    futex_wake(&tr.resume);
    tracer_reap();
}

/* ---- the signal path --------------------------------------------------- */

/* si_value of our signals: a 16-bit magic, a 28-bit generation and a
 * 20-bit record index. */
#define SIG_MAGIC  0x7ec1u
#define GEN_MASK   0xfffffffu
#define IDX_MASK   0xfffffu

static struct sigaction sig_saved;     /* the program's disposition */
static int sig_installed;
static pid_t sig_pid;
static atomic_uint sig_gen;            /* generation of the stop in progress, 0 none */
static atomic_int sig_hold;            /* nonzero: stopped threads wait */
static atomic_int sig_acked;           /* acknowledgements so far (futex word) */
static atomic_int sig_stragglers;      /* ours, sent by a stop that gave up */

/* A record is T_SENT until its thread claims it (T_FILLING, then
 * T_STOPPED) or the caller gives up on it (T_GONE): a compare-and-swap
 * decides, so a late handler never writes into the table. */
#define T_FILLING 100

static int force_signals;

void stop_force_signals(int on) { force_signals = on; }

static void forward_foreign(int sig, siginfo_t *si, void *uc)
{
    /* A signal 63 of the program's own, arrived while ours is installed:
     * run its handler as if it had been called directly. */
    struct sigaction *a = &sig_saved;
    if (a->sa_flags & SA_SIGINFO) {
        if (a->sa_sigaction)
            a->sa_sigaction(sig, si, uc);
    } else if (a->sa_handler == SIG_DFL) {
        /* Default action for a real-time signal: terminate. Do it: put the
         * default back and send it again (delivered when we return). */
        int saved = errno;
        sigaction(sig, a, NULL);
        sig_installed = 0;
        if (SC(SYS_rt_tgsigqueueinfo, raw_getpid(), raw_gettid(), sig, si) < 0)
            SC(SYS_tgkill, raw_getpid(), raw_gettid(), sig, 0);
        errno = saved;
    } else if (a->sa_handler != SIG_IGN) {
        a->sa_handler(sig);
    }
}

/* The vector registers from the signal frame, as the ptrace path reads
 * them (get_regs); returns the words copied. x86_64: the FXSAVE area, or
 * the whole XSAVE area when the kernel says it saved one (the software
 * bytes at offset 464 hold FP_XSTATE_MAGIC1 and its size). aarch64: the
 * FP/SIMD record that opens __reserved. A plain loop: no libc here. */
static unsigned sig_vregs(const ucontext_t *uc, uintptr_t *out)
{
    const unsigned char *a = NULL;
    size_t bytes = 0;
#if defined(__x86_64__)
    a = (const unsigned char *)uc->uc_mcontext.fpregs;
    if (a) {
        uint32_t magic, size;
        __builtin_memcpy(&magic, a + 464, sizeof magic);
        __builtin_memcpy(&size, a + 468, sizeof size);
        bytes = magic == 0x46505853u && size > 512 ? size : 512;
    }
#else
    uint32_t magic;
    __builtin_memcpy(&magic, uc->uc_mcontext.__reserved, sizeof magic);
    if (magic == 0x46508001u) {          /* FPSIMD_MAGIC */
        a = uc->uc_mcontext.__reserved;
        bytes = 528;
    }
#endif
    if (bytes > STOP_MAX_VWORDS * sizeof(uintptr_t))
        bytes = STOP_MAX_VWORDS * sizeof(uintptr_t);
    unsigned n = (unsigned)(bytes / sizeof(uintptr_t));
    for (unsigned i = 0; i < n; i++)
        __builtin_memcpy(&out[i], a + i * sizeof(uintptr_t), sizeof(uintptr_t));
    return n;
}

static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
    uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    if (si->si_code != SI_QUEUE || si->si_pid != sig_pid || (v >> 48) != SIG_MAGIC) {
        forward_foreign(sig, si, ucv);
        return;
    }
    unsigned gen = (unsigned)(v >> 20) & GEN_MASK;
    size_t idx = (size_t)(v & IDX_MASK);
    unsigned cur = atomic_load_explicit(&sig_gen, memory_order_acquire);
    int expect = T_SENT;
    if (!cur || gen != (cur & GEN_MASK) || idx >= tab.n ||
        !atomic_compare_exchange_strong(&tab.priv[idx].state, &expect, T_FILLING)) {
        /* Late: sent by a stop that gave up on this thread. */
        atomic_fetch_sub_explicit(&sig_stragglers, 1, memory_order_relaxed);
        return;
    }
    const ucontext_t *uc = ucv;
    struct stopped_thread *st = &tab.pub[idx];
    st->tid = raw_gettid();
#if defined(__x86_64__)
    static const int order[] = { REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
                                 REG_R14, REG_R15, REG_RDI, REG_RSI, REG_RBP, REG_RBX,
                                 REG_RDX, REG_RAX, REG_RCX, REG_RSP, REG_RIP };
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        st->regs[i] = (uintptr_t)uc->uc_mcontext.gregs[order[i]];
    st->nregs = sizeof order / sizeof order[0];
    st->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#else
    for (int i = 0; i < 31; i++)
        st->regs[i] = uc->uc_mcontext.regs[i];
    st->regs[31] = uc->uc_mcontext.sp;
    st->nregs = 32;
    st->sp = uc->uc_mcontext.sp;
#endif
    st->nvwords = sig_vregs(uc, st->vregs);
    int hold = atomic_load_explicit(&sig_hold, memory_order_acquire);
    atomic_store_explicit(&tab.priv[idx].state, T_STOPPED, memory_order_release);
    atomic_fetch_add_explicit(&sig_acked, 1, memory_order_release);
    futex_wake(&sig_acked);
    /* Wait until resumed. Every signal is blocked meanwhile (sa_mask), so
     * the program's own signals wait too, and are delivered afterwards. */
    while (hold && atomic_load_explicit(&sig_hold, memory_order_acquire) == hold)
        futex_wait(&sig_hold, hold, NULL);
}

static int sig_install(void)
{
    if (sig_installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = stop_handler;
    /* Not SA_ONSTACK: a program sizes its alternate stack for its own
     * handlers, and normal thread stacks have room for our small frame. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(STOP_SIGNO, &sa, &sig_saved) < 0)
        return -1;
    sig_installed = 1;
    return 0;
}

static void sig_uninstall(void)
{
    /* A signal still pending from a stop that gave up must find our
     * handler (the default action of signal 63 is to terminate). */
    if (sig_installed && atomic_load(&sig_stragglers) <= 0) {
        sigaction(STOP_SIGNO, &sig_saved, NULL);
        sig_installed = 0;
    }
}

static void sig_release(void)
{
    atomic_store_explicit(&sig_gen, 0, memory_order_release);
    atomic_store_explicit(&sig_hold, 0, memory_order_release);
    futex_wake(&sig_hold);
}

/* Gives up on a record still waiting for its thread; 1 if it was ours to
 * give up (the thread had not claimed it yet). */
static int sig_disown(struct trec *rec)
{
    for (;;) {
        int s = atomic_load_explicit(&rec->state, memory_order_acquire);
        if (s == T_FILLING) {
            cpu_relax();   /* its handler is copying registers: a moment */
            continue;
        }
        return s == T_SENT && atomic_compare_exchange_strong(&rec->state, &s, T_GONE);
    }
}

/* Gives up: releases the threads already stopped, and counts the signals
 * still on their way so that our handler stays to absorb them. */
static void sig_abort(void)
{
    int late = 0;
    for (size_t i = 0; i < tab.n; i++)
        late += sig_disown(&tab.priv[i]);
    atomic_fetch_add(&sig_stragglers, late);
    sig_release();
    sig_uninstall();
}

static int signal_stop(struct world *w, int dirfd, pid_t pid, pid_t self)
{
    static unsigned gen_counter;
    unsigned gen;
    do
        gen = ++gen_counter & GEN_MASK;
    while (!gen);
    sig_pid = pid;
    table_clear(&tab);
    atomic_store(&sig_acked, 0);
    atomic_store(&sig_hold, (int)gen);
    atomic_store_explicit(&sig_gen, gen, memory_order_release);
    if (sig_install() < 0) {
        sig_release();
        fail_once("cannot install the handler of signal %d; not collecting", STOP_SIGNO);
        return -1;
    }

    uint64_t start = now_ns();
    uint64_t deadline = start + (uint64_t)STOP_TIMEOUT_MS * 1000000u;
    for (;;) {
        /* Every record is acknowledged, gone or blocked here, so no
         * handler writes into the table while it may grow. */
        long added = read_tids(dirfd, self, &tab, 0);
        if (added < 0) {
            sig_abort();
            fail_once("cannot read /proc/self/task (error %ld); not collecting", -added);
            return -1;
        }
        int sent = 0, blocked = 0;
        pid_t hopeless = 0;
        for (size_t i = 0; i < tab.n; i++) {
            struct trec *rec = &tab.priv[i];
            int s = atomic_load_explicit(&rec->state, memory_order_acquire);
            if (s != T_NEW && s != T_BLOCKED)
                continue;
            int b = task_blocks(dirfd, rec->tid, STOP_SIGNO);
            if (b < 0) {
                atomic_store(&rec->state, T_GONE);
                continue;
            }
            if (b) {
                /* Blocking our signal, maybe only for a moment: a thread
                 * being created starts with every signal blocked, and
                 * pthread_create blocks them around clone. Give up on it
                 * once it has had time to unblock: it sleeps, or it runs
                 * and still blocks it, or it has waited far too long (for
                 * a CPU, say). */
                uint64_t now = now_ns();
                int64_t run = task_runtime(dirfd, rec->tid);
                if (s != T_BLOCKED) {
                    rec->since = now;
                    rec->run0 = run < 0 ? 0 : (uint64_t)run;
                    atomic_store(&rec->state, T_BLOCKED);
                }
                uint64_t waited = now - rec->since;
                if (waited >= (uint64_t)BLOCKED_GRACE_MS * 1000000u) {
                    /* Sleeping ('S') with it blocked: not about to unblock.
                     * Runnable, or held by a debugger ('t'): maybe. */
                    char st = task_state(dirfd, rec->tid);
                    if (st == 'S' || waited >= (uint64_t)BLOCKED_MAX_MS * 1000000u ||
                        (run >= 0 && (uint64_t)run - rec->run0 >= BLOCKED_RUN_MS * 1000000u))
                        hopeless = rec->tid;
                }
                blocked++;
                continue;
            }
            siginfo_t si;
            memset(&si, 0, sizeof si);
            si.si_signo = STOP_SIGNO;
            si.si_code = SI_QUEUE;
            si.si_pid = pid;
            si.si_uid = (uid_t)SC(SYS_getuid, 0, 0, 0, 0);
            si.si_value.sival_ptr =
                (void *)(uintptr_t)((uint64_t)SIG_MAGIC << 48 | (uint64_t)gen << 20 | i);
            atomic_store(&rec->state, T_SENT);
            long r = SC(SYS_rt_tgsigqueueinfo, pid, rec->tid, STOP_SIGNO, &si);
            if (r < 0) {
                atomic_store(&rec->state, T_GONE);
                if (r != -ESRCH) {
                    sig_abort();
                    fail_once("cannot signal thread %d (error %ld); not collecting",
                              (int)rec->tid, -r);
                    return -1;
                }
                continue;
            }
            sent++;
        }

        /* Wait for every signalled thread to acknowledge. */
        for (;;) {
            int acked = atomic_load_explicit(&sig_acked, memory_order_acquire);
            int waiting = 0;
            for (size_t i = 0; i < tab.n; i++) {
                int s = atomic_load_explicit(&tab.priv[i].state, memory_order_acquire);
                waiting += s == T_SENT || s == T_FILLING;
            }
            if (!waiting)
                break;
            uint64_t now = now_ns();
            if (now >= deadline) {
                sig_abort();
                fail_once("could not stop all threads within %d ms; not collecting",
                          STOP_TIMEOUT_MS);
                return -1;
            }
            struct timespec ts = { 0, 10000000 };
            if (futex_wait(&sig_acked, acked, &ts) == -ETIMEDOUT) {
                /* Someone exited with our signal pending? */
                for (size_t i = 0; i < tab.n; i++) {
                    struct trec *rec = &tab.priv[i];
                    if (atomic_load(&rec->state) == T_SENT &&
                        SC(SYS_tgkill, pid, rec->tid, 0, 0) == -ESRCH)
                        sig_disown(rec);
                }
            }
        }

        if (hopeless) {
            sig_abort();
            fail_once("cannot stop thread %d: it blocks signal %d and ptrace is "
                      "unavailable; not collecting", (int)hopeless, STOP_SIGNO);
            return -1;
        }
        if (blocked) {
            if (now_ns() >= deadline) {
                sig_abort();
                fail_once("could not stop all threads within %d ms; not collecting",
                          STOP_TIMEOUT_MS);
                return -1;
            }
            sleep_ns(1000000);   /* look again */
            continue;
        }
        if (!added && !sent)
            break;
    }
    table_compact(&tab);
    w->threads = tab.pub;
    w->count = tab.n;
    w->method = STOP_SIGNAL;
    return 0;
}

static void signal_resume(void)
{
    sig_release();
    sig_uninstall();
}

/* ---- the interface ----------------------------------------------------- */

static atomic_int busy;          /* see claim() */
static unsigned ptrace_skip;    /* stops left before trying ptrace again */

static int stop_world_inner(struct world *w)
{
    w->threads = NULL;
    w->count = 0;
    w->method = STOP_NONE;
    pid_t pid = raw_getpid(), self = raw_gettid();
    int dirfd = raw_open_at(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fail_once("cannot open /proc/self/task (error %d); not collecting", -dirfd);
        return -1;
    }
    /* Alone (single-threaded program, or a fork child): nothing to stop,
     * and nobody can create a thread behind our back. */
    long others = read_tids(dirfd, self, NULL, 1);
    if (others <= 0) {
        raw_close(dirfd);
        if (others < 0) {
            fail_once("cannot read /proc/self/task (error %ld); not collecting", -others);
            return -1;
        }
        return 0;
    }
    if (table_reserve(&tab, (size_t)others * 2 + 16) < 0) {
        raw_close(dirfd);
        fail_once("out of memory for the thread table; not collecting");
        return -1;
    }
    sig_uninstall();   /* left installed by a stop that gave up? */

    int r = PT_REFUSED;
    if (!force_signals && !ptrace_skip) {
        r = ptrace_stop(w, dirfd, pid, self);
        if (r == PT_REFUSED)
            ptrace_skip = 16;   /* a debugger may leave: try again later */
    } else if (ptrace_skip) {
        ptrace_skip--;
    }
    if (r == PT_REFUSED)
        r = signal_stop(w, dirfd, pid, self);
    raw_close(dirfd);
    return r < 0 ? -1 : 0;
}

/* busy holds the pid of the process in the middle of a stop. Another pid
 * there means we are the child of a fork that another thread made while
 * this one was stopping (the allocator's fork handlers rule that out, a
 * direct caller may not): that stop does not exist here, forget it. */
static int claim(pid_t pid)
{
    int owner = 0;
    if (atomic_compare_exchange_strong(&busy, &owner, (int)pid))
        return 1;
    if (owner == (int)pid || !atomic_compare_exchange_strong(&busy, &owner, (int)pid))
        return 0;
    tracer_pid = 0;
    tracer_set_ptracer = 0;
    atomic_store(&sig_gen, 0);
    atomic_store(&sig_hold, 0);
    atomic_store(&sig_stragglers, 0);   /* pending signals do not survive fork */
    tab.n = 0;
    return 1;
}

int stop_world(struct world *w)
{
    int saved = errno;
    int r = -1;
    w->threads = NULL;
    w->count = 0;
    w->method = STOP_NONE;
    if (claim(raw_getpid())) {
        r = stop_world_inner(w);
        if (r < 0)
            atomic_store(&busy, 0);
    }
    errno = saved;
    return r;
}

void resume_world(struct world *w)
{
    int saved = errno;
    if (w->method == STOP_PTRACE)
        ptrace_resume();
    else if (w->method == STOP_SIGNAL)
        signal_resume();
    /* Nothing stale for a later root scan to find. */
    if (tab.pub && tab.n)
        memset(tab.pub, 0, tab.n * sizeof *tab.pub);
    tab.n = 0;
    w->threads = NULL;
    w->count = 0;
    w->method = STOP_NONE;
    atomic_store(&busy, 0);
    errno = saved;
}

const char *stop_method_name(enum stop_method m)
{
    switch (m) {
    case STOP_PTRACE: return "ptrace";
    case STOP_SIGNAL: return "signals";
    default:          return "none";
    }
}
