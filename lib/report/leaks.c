/* The leak check and where its report goes. A check sums every allocated
 * block per (allocation stack, kind) while the world is stopped, into a
 * table mapped beforehand (the callback may neither allocate nor lock);
 * once the world runs again the sums become records, sorted, and are
 * written: raw records to $RECLAIM_REPORT_PATH.<pid> for the reclaim tool,
 * or readable text on stderr.
 *
 * Three ways in: the exit hook of leaks mode (which may turn a leak into
 * the exit status, as LeakSanitizer does), a signal (RECLAIM_REPORT_SIGNAL:
 * the handler only posts a semaphore; a thread of ours does the work, the
 * program running on), and leakrep_report() for reclaim_report_leaks. */
#define _GNU_SOURCE
#include "leaks.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../gc/collect.h"
#include "../heap/os.h"
#include "../util/lock.h"
#include "../util/log.h"
#include "../util/options.h"
#include "../util/sort.h"
#include "stack.h"
#include "unwind.h"
#include "write.h"

#define CHECK_FAILED ((size_t)-1)

struct counts {
    uint64_t blocks, bytes;
};

struct acc {
    struct counts *by;         /* [stack id * 3 + kind] */
    uint32_t cap;              /* stack ids below this have their own counts */
};

/* One report at a time: the signal thread, the exit hook and the API. */
static lock_t report_lock = LOCK_INIT;
static int report_thread_wanted;
static sem_t report_sem;
/* stderr as it was at start-up: programs close fd 2 in their own exit
 * handlers (coreutils' close_stdout), which run before ours. -1: none. */
static int saved_stderr = -1;

/* World stopped: adds into memory mapped before, nothing else. */
static void count_block(uintptr_t start, size_t size, uint32_t tag, enum leak_kind kind, void *arg)
{
    (void)start;
    struct acc *a = arg;
    if ((unsigned)kind > LEAK_INDIRECT)
        return;
    uint32_t id = STACK_TAG_ID(tag), slack = STACK_TAG_SLACK(tag);
    if (id == STACK_ID_OWN)
        return;
    /* A stack recorded after the table was sized (threads run until the
     * world stops) is counted without its stack rather than dropped. */
    if (id >= a->cap)
        id = 0;
    if (slack != STACK_SLACK_UNKNOWN && slack <= size)
        size -= slack;
    struct counts *c = &a->by[(size_t)id * 3 + kind];
    c->blocks++;
    c->bytes += size;
}

/* Record order: direct, indirect, reachable; within each, most bytes first. */
static int before(const struct leakrep_record *a, const struct leakrep_record *b)
{
    static const int rank[] = { [LEAK_DIRECT] = 0, [LEAK_INDIRECT] = 1, [LEAK_REACHABLE] = 2 };
    if (rank[a->kind] != rank[b->kind])
        return rank[a->kind] < rank[b->kind];
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks;
    return a->stack < b->stack;
}

static int record_before(const void *a, const void *b)
{
    return before(a, b);
}

static size_t records_bytes(const struct leakrep_result *r)
{
    return r->nrec * sizeof *r->rec;
}

static void result_free(struct leakrep_result *r)
{
    if (r->rec)
        os_unmap(r->rec, records_bytes(r));
    r->rec = NULL;
}

/* Runs the check and turns the sums into sorted records. */
static int run_check(uintptr_t self_sp, struct leakrep_result *r)
{
    memset(r, 0, sizeof *r);
    uint64_t cap = (uint64_t)stack_count() + 4096 + 1;
    if (cap > (uint64_t)STACK_ID_MAX + 1)
        cap = (uint64_t)STACK_ID_MAX + 1;
    struct acc a = { NULL, (uint32_t)cap };
    size_t bytes = (size_t)a.cap * 3 * sizeof(struct counts);
    a.by = os_map(bytes);
    if (!a.by) {
        log_line("leak check: cannot map %zu bytes to count in", bytes);
        return -1;
    }
    if (gc_leak_check(self_sp, count_block, &a)) {
        log_line("leak check: the other threads could not be stopped; no report");
        os_unmap(a.by, bytes);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < (size_t)a.cap * 3; i++)
        n += a.by[i].blocks != 0;
    if (n) {
        r->rec = os_map(n * sizeof *r->rec);
        if (!r->rec) {
            log_line("leak check: cannot map memory for %zu records", n);
            os_unmap(a.by, bytes);
            return -1;
        }
    }
    for (uint32_t id = 0; id < a.cap; id++) {
        for (unsigned k = 0; k < 3; k++) {
            const struct counts *c = &a.by[(size_t)id * 3 + k];
            if (!c->blocks)
                continue;
            r->blocks[k] += c->blocks;
            r->bytes[k] += c->bytes;
            r->rec[r->nrec++] = (struct leakrep_record){ id, (enum leak_kind)k, c->blocks, c->bytes };
        }
    }
    sort_heap(r->rec, r->nrec, sizeof *r->rec, record_before);
    os_unmap(a.by, bytes);
    return 0;
}

static size_t lost_blocks(const struct leakrep_result *r)
{
    return (size_t)(r->blocks[LEAK_DIRECT] + r->blocks[LEAK_INDIRECT]);
}

/* A check whose report goes where the options say: the raw file when the
 * tool asked for one, else text on stderr (at exit, only when there is
 * something to tell: a clean program's output stays its own). */
static size_t report_to_target(uintptr_t self_sp, int on_demand)
{
    struct leakrep_result r;
    lock_acquire(&report_lock);
    int was = stack_suspend(1);
    size_t lost = CHECK_FAILED;
    if (run_check(self_sp, &r) == 0) {
        lost = lost_blocks(&r);
        int text = !options.report_path[0];
        if (!text) {
            char path[OPTIONS_PATH_MAX + 24];
            log_format(path, sizeof path, "%s.%d", options.report_path, (int)getpid());
            int saved = errno;
            int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
            if (fd < 0 || leakrep_write_raw(fd, &r)) {
                log_line("%s: cannot write the leak report (%s); writing it here instead",
                         path, strerror(errno));
                text = 1;
            }
            if (fd >= 0)
                close(fd);
            errno = saved;
        }
        if (text && (on_demand || lost || (options.show_reachable && r.blocks[LEAK_REACHABLE]))) {
            int saved = errno;
            int fd = fcntl(2, F_GETFD) >= 0 || saved_stderr < 0 ? 2 : saved_stderr;
            errno = saved;
            leakrep_write_text(fd, &r, options.show_reachable);
        }
        result_free(&r);
    }
    stack_suspend(was);
    lock_release(&report_lock);
    return lost;
}

NOINLINE size_t leakrep_report(int fd)
{
    /* Every callee-saved register is saved in this frame's prologue (a
     * live pointer of the caller may sit in one), above `anchor`: the
     * stack is scanned from here up, this frame and the caller's, and not
     * the dead part below. */
    __builtin_unwind_init();
    volatile char anchor = 0;
    struct leakrep_result r;
    lock_acquire(&report_lock);
    int was = stack_suspend(1);
    size_t lost = CHECK_FAILED;
    if (run_check((uintptr_t)&anchor & ~(uintptr_t)(sizeof(void *) - 1), &r) == 0) {
        lost = lost_blocks(&r);
        leakrep_write_text(fd, &r, options.show_reachable);
        result_free(&r);
    }
    stack_suspend(was);
    lock_release(&report_lock);
    return lost;
}

/* ---- at exit ---- */

/* The callee-saved registers: a frame above exit's caller may keep a live
 * pointer in one across its calls, and exit's own frames save it below
 * the stack pointer we scan from. */
#if defined(__x86_64__)
static const int saved_regs[] = { UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                  UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15 };
#elif defined(__aarch64__)
static const int saved_regs[] = { UNW_AARCH64_X19, UNW_AARCH64_X20, UNW_AARCH64_X21,
                                  UNW_AARCH64_X22, UNW_AARCH64_X23, UNW_AARCH64_X24,
                                  UNW_AARCH64_X25, UNW_AARCH64_X26, UNW_AARCH64_X27,
                                  UNW_AARCH64_X28, UNW_AARCH64_X29 };
#else
static const int saved_regs[] = { UNW_REG_SP };   /* harmless: a stack address */
#endif
#define NSAVED (sizeof saved_regs / sizeof saved_regs[0])

/* The stack pointer of the frame that called exit() (__libc_start_call_main
 * when main returned): the check scans from there up, so stale pointers
 * in the dead frames of exit, of the exit handlers and of reclaim cannot
 * keep a lost block looking reachable. regs gets the callee-saved
 * registers as that frame left them. 0 when exit is not on the stack. */
static NOINLINE uintptr_t exit_caller_sp(uintptr_t regs[NSAVED])
{
    unw_context_t uc;
    unw_cursor_t c;
    if (!unwind_loaded || unwind.getcontext(&uc) || unwind.init_local(&c, &uc))
        return 0;
    uintptr_t target = (uintptr_t)&exit;
    for (int depth = 0; depth < 64; depth++) {
        unw_proc_info_t pi;
        int is_exit = unwind.get_proc_info(&c, &pi) == 0 && pi.start_ip == target;
        if (!is_exit) {
            /* A program that takes exit's address can make its PLT slot
             * the canonical one: fall back to the name. */
            char name[8];
            unw_word_t off;
            is_exit = unwind.get_proc_name(&c, name, sizeof name, &off) == 0 && !strcmp(name, "exit");
        }
        if (unwind.step(&c) <= 0)
            return 0;
        if (is_exit) {
            unw_word_t sp, v;
            if (unwind.get_reg(&c, UNW_REG_SP, &sp))
                return 0;
            for (size_t i = 0; i < NSAVED; i++)
                regs[i] = unwind.get_reg(&c, saved_regs[i], &v) ? 0 : (uintptr_t)v;
            return (uintptr_t)sp;
        }
    }
    return 0;
}

static void exit_hook(void)
{
    stack_suspend(1);
    uintptr_t regs[NSAVED] = { 0 };
    uintptr_t sp = exit_caller_sp(regs);
    if (!sp)
        sp = (uintptr_t)__builtin_frame_address(0);   /* conservative: scans our frames too */
    /* The registers go where the root scan finds them: an anonymous page
     * mapped directly, deliberately not through os_map, so that it counts
     * as program memory like any other anonymous mapping. */
    int saved = errno;
    void *page = mmap(NULL, OS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    if (page != MAP_FAILED)
        memcpy(page, regs, sizeof regs);
    size_t lost = report_to_target(sp, 0);
    if (page != MAP_FAILED)
        munmap(page, OS_PAGE);
    if (lost != CHECK_FAILED && lost && options.exitcode) {
        /* _exit skips stdio's own flush at the end of exit. */
        fflush(NULL);
        _exit(options.exitcode);
    }
}

/* ---- on a signal ---- */

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    sem_post(&report_sem);
    errno = saved;
}

static void *report_thread(void *arg)
{
    (void)arg;
    stack_suspend(1);
    for (;;) {
        if (sem_wait(&report_sem)) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        volatile char anchor = 0;
        report_to_target((uintptr_t)&anchor & ~(uintptr_t)(sizeof(void *) - 1), 1);
    }
}

static void start_report_thread(void)
{
    /* Every signal blocked in our thread: the program's signals keep
     * going to the program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int err = pthread_create(&t, NULL, report_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        log_line("RECLAIM_REPORT_SIGNAL: cannot start the report thread (%s)", strerror(err));
        return;
    }
    pthread_detach(t);
    pthread_setname_np(t, "reclaim-report");
}

void leakrep_init(void)
{
    stack_init();   /* without it, reports still come, with no stacks */
    /* Registered from the constructor, before the program's own handlers
     * and glibc's destructor pass: runs after them, so what they free is
     * not reported. */
    atexit(exit_hook);
    if (!options.report_path[0]) {
        /* Near the top of the descriptor range, close-on-exec, as valgrind
         * keeps its own: out of the way of the program's numbering. */
        struct rlimit rl;
        int saved = errno;
        int low = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                  rl.rlim_cur > 64 ? (int)rl.rlim_cur - 16 : 3;
        saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, low);
        errno = saved;
    }
    if (options.report_signal) {
        sem_init(&report_sem, 0, 0);
        report_thread_wanted = 1;
        start_report_thread();
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(options.report_signal, &sa, NULL);
    }
}

void leakrep_fork_child(void)
{
    lock_reset(&report_lock);
    if (report_thread_wanted) {
        sem_init(&report_sem, 0, 0);
        start_report_thread();
    }
}
