/* Bad input to the allocator: double frees (small, large, from another
 * thread's span, through free_sized, of a slot on another thread's free
 * list, of a slot that left its free list
 * for the bitmap when the list was full or the thread exited, around a
 * collection), frees of interior pointers, realloc and malloc_usable_size
 * of freed blocks, and a write into a freed block that breaks its free
 * list. Each runs in a forked child
 * whose stderr is captured; the child must print exactly one line,
 * "reclaim: CALL(0xADDR): WHAT", naming the pointer it was given, and die
 * of SIGABRT. With RECLAIM_ON_ERROR=warn the same line is printed and the
 * program carries on; options are read by the library constructor, so
 * that child re-executes this binary with the variable set and a case name
 * (UNIT_MISUSE_CASE), which a constructor here picks up before Criterion
 * starts. The same route checks start-up warnings for bad RECLAIM_*
 * variables. Entry-point test: links libreclaim. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reclaim.h>

#include "unit.h"

/* C23's free_sized; glibc's headers may not declare it yet. */
void free_sized(void *p, size_t size);

extern char **environ;

/* After a warned misuse the heap must still hand out distinct, intact
 * blocks of the size involved and others. */
static int heap_still_sane(size_t size)
{
    enum { N = 200 };
    void *b[N];
    for (int i = 0; i < N; i++) {
        size_t n = i % 2 ? size : (size_t)(i * 37 % 5000) + 1;
        b[i] = malloc(n);
        if (!b[i])
            return 0;
        unit_fill(b[i], n);
    }
    int ok = 1;
    for (int i = 0; i < N; i++) {
        size_t n = i % 2 ? size : (size_t)(i * 37 % 5000) + 1;
        ok &= unit_check(b[i], n);
    }
    for (int i = 0; i < N; i++)
        free(b[i]);
    return ok;
}

/* Each case returns 0 when everything after the misuse behaved (warn
 * mode); in abort mode it never gets that far. */
static int double_free(size_t n)
{
    char *p = malloc(n);
    unit_say_ptr(p);
    free(p);
    free(unit_launder(p));
    return !heap_still_sane(n);
}

static int case_double_free_small(void) { return double_free(48); }
static int case_double_free_large(void) { return double_free(100000); }

static int case_double_free_sized(void)
{
    char *p = malloc(200);
    unit_say_ptr(p);
    free_sized(p, 200);
    free_sized(unit_launder(p), 200);
    return !heap_still_sane(200);
}

/* The block comes from a thread that has exited: its span has no owner
 * any more, so both frees take the remote path. */
static void *alloc_64(void *arg)
{
    (void)arg;
    return malloc(64);
}

/* The block a thread running fn returned, once the thread has exited;
 * NULL if it could not run. */
static void *from_exited_thread(void *(*fn)(void *))
{
    pthread_t t;
    void *p;
    if (pthread_create(&t, NULL, fn, NULL) || pthread_join(t, &p))
        return NULL;
    return p;
}

static int case_double_free_exited_thread(void)
{
    void *p = from_exited_thread(alloc_64);
    if (!p)
        return 50;
    unit_say_ptr(p);
    free(p);
    free(unit_launder(p));
    return !heap_still_sane(64);
}

/* A block of a live thread, handed over to the main thread while that
 * thread stays alive (finish_hand_over lets it exit): still allocated, in
 * the thread's current span (remote frees into a span someone else owns),
 * or already freed by it and waiting on its own free list. */
static pthread_barrier_t barrier;
static void *volatile shared_block;
static pthread_t holder;

static void *hand_over_64(void *free_first)
{
    void *p = malloc(64);
    if (free_first)
        free(p);
    shared_block = p;
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

/* NULL when the thread could not be started. */
static void *start_hand_over(int free_first)
{
    pthread_barrier_init(&barrier, NULL, 2);
    if (pthread_create(&holder, NULL, hand_over_64, free_first ? (void *)1 : NULL))
        return NULL;
    pthread_barrier_wait(&barrier);
    return shared_block;
}

static void finish_hand_over(void)
{
    pthread_barrier_wait(&barrier);
    pthread_join(holder, NULL);
}

static int case_double_free_live_thread(void)
{
    void *p = start_hand_over(0);
    if (!p)
        return 50;
    unit_say_ptr(p);
    free(p);
    free(unit_launder(p));
    finish_hand_over();
    return !heap_still_sane(64);
}

/* For misuse that a missed check would let through quietly: in abort
 * mode the child returns right away (and fails for not aborting) instead
 * of having the damage caught later by heap_still_sane. */
static int sane_if_warned(size_t size)
{
    return getenv("RECLAIM_ON_ERROR") ? !heap_still_sane(size) : 0;
}

/* The first free was the live thread's own: nothing walks its list, only
 * the slot's mark can tell. */
static int case_double_free_on_other_list(void)
{
    void *p = start_hand_over(1);
    if (!p)
        return 50;
    unit_say_ptr(p);
    free(unit_launder(p));
    finish_hand_over();
    return sane_if_warned(64);
}

/* A free that finds its list full sends the newest half of it to the
 * bitmap; a second free of one of those slots must still be caught. */
static int case_double_free_after_overflow(void)
{
    enum { LIMIT = 128 };   /* tcache_limit: the list's length for 48 bytes */
    void *b[LIMIT + 8];
    /* Empties the list, so that the frees below fill it from nothing. */
    for (int i = 0; i < LIMIT + 8; i++)
        b[i] = malloc(48);
    char *p = malloc(48);
    for (int i = 0; i < LIMIT - 1; i++)
        free(b[i]);
    free(p);               /* the list is full, p at its head */
    free(b[LIMIT - 1]);    /* the list gives back its newest half, p with it */
    unit_say_ptr(p);
    free(unit_launder(p));
    for (int i = LIMIT; i < LIMIT + 8; i++)
        free(b[i]);
    return sane_if_warned(48);
}

/* A thread's free lists are emptied into the bitmaps when it exits. */
static void *alloc_free_64(void *arg)
{
    (void)arg;
    void *p = malloc(64);
    free(p);
    return p;
}

static int case_double_free_after_thread_exit(void)
{
    void *p = from_exited_thread(alloc_free_64);
    if (!p)
        return 50;
    unit_say_ptr(p);
    free(p);
    return sane_if_warned(64);
}

/* A collection sets free lists aside and puts them back: the slot
 * is still known as freed afterwards. */
static int case_double_free_after_collection(void)
{
    char *p = malloc(80);
    unit_say_ptr(p);
    free(p);
    reclaim_collect();
    free(unit_launder(p));
    return sane_if_warned(80);
}

/* Free lists link slots through their first words, which a program can
 * still write through a dangling pointer: malloc must see the damage
 * instead of following the link, and hand out another block. */
static int case_write_after_free(void)
{
    char *p = malloc(144);
    unit_say_ptr(p);
    free(p);
    memset(unit_launder(p), 0x41, 16);
    char *q = malloc(144);
    if (q == p)
        return 1;
    free(q);
    return sane_if_warned(144);
}

static int interior(size_t n, size_t off)
{
    char *p = malloc(n);
    unit_say_ptr(p + off);
    free(p + off);
    /* The block itself was left alone and is still freeable. */
    free(p);
    return !heap_still_sane(n);
}

static int case_interior_small(void) { return interior(100, 16); }
static int case_interior_small_odd(void) { return interior(100, 1); }
static int case_interior_large(void) { return interior(100000, 4096 + 8); }

/* A pointer into the unused tail of a one-page span of 48-byte slots
 * (85 slots, 16 spare bytes): inside the region but no block at all. */
static int case_span_tail(void)
{
    char *p = malloc(40);
    char *tail = (char *)((uintptr_t)p & ~(uintptr_t)4095) + 85 * 48;
    unit_say_ptr(tail);
    free(tail);
    free(p);
    return !heap_still_sane(40);
}

static int realloc_freed(size_t n)
{
    char *p = malloc(n);
    unit_say_ptr(p);
    free(p);
    errno = 0;
    void *q = realloc(unit_launder(p), 10);
    return q != NULL || !heap_still_sane(n);
}

static int case_realloc_freed(void) { return realloc_freed(50); }
static int case_realloc_freed_large(void) { return realloc_freed(70000); }

static int case_reallocarray_freed(void)
{
    char *p = malloc(50);
    unit_say_ptr(p);
    free(p);
    void *q = reallocarray(unit_launder(p), 5, 5);
    return q != NULL || !heap_still_sane(50);
}

static int usable_freed(size_t n)
{
    char *p = malloc(n);
    unit_say_ptr(p);
    free(p);
    size_t u = malloc_usable_size(unit_launder(p));
    return u != 0 || !heap_still_sane(n);
}

static int case_usable_freed(void) { return usable_freed(30); }
static int case_usable_freed_large(void) { return usable_freed(50000); }

/* Says it ran, so that the parent knows the constructor caught the case. */
static int case_none(void)
{
    return write(1, "none\n", 5) != 5;
}

struct misuse {
    const char *name;
    int (*run)(void);
    const char *call, *what;
};

static const struct misuse cases[] = {
    { "double-free-small", case_double_free_small, "free", "double free" },
    { "double-free-large", case_double_free_large, "free", "double free" },
    { "double-free-sized", case_double_free_sized, "free_sized", "double free" },
    { "double-free-exited-thread", case_double_free_exited_thread, "free", "double free" },
    { "double-free-live-thread", case_double_free_live_thread, "free", "double free" },
    { "double-free-on-other-list", case_double_free_on_other_list, "free", "double free" },
    { "double-free-after-overflow", case_double_free_after_overflow, "free", "double free" },
    { "double-free-after-thread-exit", case_double_free_after_thread_exit, "free", "double free" },
    { "double-free-after-collection", case_double_free_after_collection, "free", "double free" },
    { "write-after-free", case_write_after_free, "malloc",
      "free list damaged: a block was written after it was freed" },
    { "interior-small", case_interior_small, "free", "pointer into the middle of a block" },
    { "interior-small-odd", case_interior_small_odd, "free", "pointer into the middle of a block" },
    { "interior-large", case_interior_large, "free", "pointer into the middle of a block" },
    { "span-tail", case_span_tail, "free", "not a block reclaim allocated" },
    { "realloc-freed", case_realloc_freed, "realloc", "block already freed" },
    { "realloc-freed-large", case_realloc_freed_large, "realloc", "block already freed" },
    { "reallocarray-freed", case_reallocarray_freed, "reallocarray", "block already freed" },
    { "usable-freed", case_usable_freed, "malloc_usable_size", "block already freed" },
    { "usable-freed-large", case_usable_freed_large, "malloc_usable_size", "block already freed" },
    { "none", case_none, NULL, NULL },
};
#define N_CASES (sizeof cases / sizeof *cases)

static const struct misuse *find_case(const char *name)
{
    for (size_t i = 0; i < N_CASES; i++)
        if (!strcmp(cases[i].name, name))
            return &cases[i];
    return NULL;
}

/* The re-executed child: runs its case before Criterion's main and never
 * returns to it. Library constructors (reclaim's option parsing) have run. */
__attribute__((constructor)) static void misuse_child(void)
{
    const char *name = getenv("UNIT_MISUSE_CASE");
    if (!name)
        return;
    const struct misuse *m = find_case(name);
    _exit(m ? m->run() : 99);
}

/* ---- the parent side ---- */

static void run_in_fork(void *arg)
{
    const struct misuse *m = arg;
    m->run();
    _exit(4);   /* reached only if the misuse did not abort */
}

struct exec_arg {
    const char *name;
    const char *const *extra;   /* NULL-terminated NAME=value list */
};

/* execve of this very binary with the caller's environment minus every
 * RECLAIM_* variable (so the outer shell cannot change the outcome) and
 * Criterion's sandbox handle (BXFI_*: the child is no test worker), plus
 * the case name and the extra variables. */
static void run_in_exec(void *arg)
{
    const struct exec_arg *a = arg;
    static char *envp[512];
    static char case_var[128];
    size_t n = 0;
    for (char **e = environ; *e && n < 500; e++)
        if (strncmp(*e, "RECLAIM_", 8) && strncmp(*e, "BXFI_", 5) &&
            strncmp(*e, "UNIT_MISUSE_CASE=", 17))
            envp[n++] = *e;
    snprintf(case_var, sizeof case_var, "UNIT_MISUSE_CASE=%s", a->name);
    envp[n++] = case_var;
    for (const char *const *x = a->extra; x && *x && n < 510; x++)
        envp[n++] = (char *)*x;
    envp[n] = NULL;
    /* If the constructor did not catch the case, Criterion rejects this
     * option instead of running the whole suite again. */
    char *argv[] = { "test_misuse", "--unit-misuse-child-not-handled", NULL };
    execve("/proc/self/exe", argv, envp);
    _exit(98);
}

static void expect_line(const struct misuse *m, const struct unit_child *c, const char *mode)
{
    cr_assert_eq(strncmp(c->out, "0x", 2), 0, "%s [%s]: child reported no address (stdout \"%s\", "
                 "stderr \"%s\", status %#x)", m->name, mode, c->out, c->err, c->status);
    unsigned long addr = strtoul(c->out, NULL, 16);
    char want[256];
    snprintf(want, sizeof want, "reclaim: %s(0x%lx): %s\n", m->call, addr, m->what);
    cr_assert_str_eq(c->err, want, "%s [%s]", m->name, mode);
}

static void abort_case(const char *name)
{
    const char *on_error = getenv("RECLAIM_ON_ERROR");
    if (on_error && strcmp(on_error, "abort"))
        cr_skip_test("RECLAIM_ON_ERROR=%s is set in the environment", on_error);
    const struct misuse *m = find_case(name);
    cr_assert_not_null(m);
    struct unit_child c;
    cr_assert_eq(unit_run_child(run_in_fork, (void *)m, NULL, &c), 0);
    cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
              "%s: child did not die of SIGABRT (status %#x, stderr \"%s\")", name, c.status, c.err);
    expect_line(m, &c, "abort");
}

static void warn_case(const char *name)
{
    static const char *const warn[] = { "RECLAIM_ON_ERROR=warn", NULL };
    const struct misuse *m = find_case(name);
    cr_assert_not_null(m);
    struct exec_arg a = { name, warn };
    struct unit_child c;
    cr_assert_eq(unit_run_child(run_in_exec, &a, NULL, &c), 0);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
              "%s: with RECLAIM_ON_ERROR=warn the child did not carry on (status %#x, stderr "
              "\"%s\")", name, c.status, c.err);
    expect_line(m, &c, "warn");
}

#define MISUSE(id, name)                               \
    Test(misuse_abort, id) { abort_case(name); }       \
    Test(misuse_warn, id) { warn_case(name); }

MISUSE(double_free_small, "double-free-small")
MISUSE(double_free_large, "double-free-large")
MISUSE(double_free_sized, "double-free-sized")
MISUSE(double_free_exited_thread, "double-free-exited-thread")
MISUSE(double_free_live_thread, "double-free-live-thread")
MISUSE(double_free_on_other_list, "double-free-on-other-list")
MISUSE(double_free_after_overflow, "double-free-after-overflow")
MISUSE(double_free_after_thread_exit, "double-free-after-thread-exit")
MISUSE(double_free_after_collection, "double-free-after-collection")
MISUSE(write_after_free, "write-after-free")
MISUSE(interior_small, "interior-small")
MISUSE(interior_small_odd, "interior-small-odd")
MISUSE(interior_large, "interior-large")
MISUSE(span_tail, "span-tail")
MISUSE(realloc_freed, "realloc-freed")
MISUSE(realloc_freed_large, "realloc-freed-large")
MISUSE(reallocarray_freed, "reallocarray-freed")
MISUSE(usable_freed, "usable-freed")
MISUSE(usable_freed_large, "usable-freed-large")

/* ---- start-up warnings for RECLAIM_* variables ---- */

static void startup(const char *const *env, const char *needle)
{
    struct exec_arg a = { "none", env };
    struct unit_child c;
    cr_assert_eq(unit_run_child(run_in_exec, &a, NULL, &c), 0);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status %#x, stderr \"%s\"",
              c.status, c.err);
    cr_assert_str_eq(c.out, "none\n", "the re-executed child did not run its case");
    if (!needle) {
        cr_assert_str_empty(c.err);
        return;
    }
    cr_assert_eq(unit_lines(c.err), 1, "expected one line: \"%s\"", c.err);
    cr_assert_eq(strncmp(c.err, "reclaim: ", 9), 0, "\"%s\"", c.err);
    cr_assert_not_null(strstr(c.err, needle), "\"%s\" does not name %s", c.err, needle);
}

Test(startup, clean_environment_is_silent)
{
    static const char *const env[] = { "RECLAIM_ON_ERROR=warn", NULL };
    startup(env, NULL);
}

Test(startup, unknown_variable)
{
    static const char *const env[] = { "RECLAIM_FOO=1", NULL };
    startup(env, "RECLAIM_FOO");
}

Test(startup, bad_mode)
{
    static const char *const env[] = { "RECLAIM_MODE=bogus", NULL };
    startup(env, "RECLAIM_MODE=bogus");
}

Test(startup, bad_collect_every)
{
    static const char *const env[] = { "RECLAIM_COLLECT_EVERY=12Q", NULL };
    startup(env, "RECLAIM_COLLECT_EVERY=12Q");
}
