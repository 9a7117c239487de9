/* Misuse of the API gets the one-line treatment of a bad free: releasing
 * a block whose count is zero, retaining, releasing or giving a finalizer
 * or a weak reference to something that is not a block start, reading a
 * freed weak handle. Each case runs in a forked child: it writes the
 * address it is about to pass to stdout, then misuses it; stderr must be
 * exactly "reclaim: CALL(ADDR): WHAT\n" and the child must die of
 * SIGABRT. With RECLAIM_ON_ERROR=warn the same line is printed and the
 * call returns its failure value.
 *
 * Cases that need an environment variable the library reads at start-up
 * (RECLAIM_ON_ERROR, RECLAIM_MODE) re-execute this binary with argv[0]
 * "api-case:NAME"; a constructor here runs the case before Criterion
 * starts. That is also where `reclaim_collect` in leaks mode is checked:
 * explicit collections still collect (and finalize) there. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>

#include "api_test.h"

static void expect_abort(void (*fn)(void *), const char *call, const char *what)
{
    struct unit_child c;
    cr_assert_eq(unit_run_child(fn, NULL, NULL, &c), 0);
    char want[256];
    char addr[32];
    cr_assert_eq(sscanf(c.out, "%31s", addr), 1, "child wrote no address; stderr: %s", c.err);
    snprintf(want, sizeof want, "reclaim: %s(%s): %s\n", call, addr, what);
    cr_assert_str_eq(c.err, want);
    cr_assert_eq(unit_lines(c.err), 1);
    cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
              "child status %#x, not SIGABRT", c.status);
}

static void release_never_retained(void *arg)
{
    (void)arg;
    void *p = malloc(32);
    unit_say_ptr(p);
    reclaim_release(p);
}

static void release_twice(void *arg)
{
    (void)arg;
    void *p = reclaim_retain(malloc(32));
    unit_say_ptr(p);
    reclaim_release(p);
    reclaim_release(unit_launder(p));
}

static void release_interior(void *arg)
{
    (void)arg;
    char *p = reclaim_retain(malloc(32));
    unit_say_ptr(p + 8);
    reclaim_release(p + 8);
}

static void retain_interior(void *arg)
{
    (void)arg;
    char *p = malloc(100);
    unit_say_ptr(p + 16);
    reclaim_retain(p + 16);
}

static int not_heap;

static void retain_foreign(void *arg)
{
    (void)arg;
    unit_say_ptr(&not_heap);
    reclaim_retain(&not_heap);
}

static void fin(void *block, void *data)
{
    (void)block;
    (void)data;
}

static void finalizer_interior(void *arg)
{
    (void)arg;
    char *p = malloc(100);
    unit_say_ptr(p + 1);
    reclaim_set_finalizer(p + 1, fin, NULL);
}

static void finalizer_freed(void *arg)
{
    (void)arg;
    char *p = malloc(100);
    free(p);
    p = unit_launder(p);
    unit_say_ptr(p);
    reclaim_set_finalizer(p, fin, NULL);
}

static void weak_foreign(void *arg)
{
    (void)arg;
    unit_say_ptr(&not_heap);
    reclaim_weak_new(&not_heap);
}

static void weak_get_freed(void *arg)
{
    (void)arg;
    void *t = malloc(10);
    reclaim_weak *w = reclaim_weak_new(t);
    reclaim_weak_free(w);
    w = unit_launder(w);
    unit_say_ptr(w);
    reclaim_weak_get(w);
}

static void free_finalizable_twice(void *arg)
{
    (void)arg;
    void *p = malloc(64);
    reclaim_set_finalizer(p, fin, NULL);
    unit_say_ptr(p);
    free(p);
    free(unit_launder(p));
}

/* Each case: the child that misuses, the call it misuses and what the
 * one line must say about it. */
#define ABORTS(id, child, call, what) \
    Test(misuse, id) { expect_abort(child, call, what); }

ABORTS(release_of_a_count_of_zero, release_never_retained,
       "reclaim_release", "reference count is already zero")
/* The first release freed it. */
ABORTS(release_more_often_than_retained, release_twice,
       "reclaim_release", "not an allocated block (freed?)")
ABORTS(release_of_an_interior_pointer, release_interior,
       "reclaim_release", "pointer into the middle of a block")
ABORTS(retain_of_an_interior_pointer, retain_interior,
       "reclaim_retain", "pointer into the middle of a block")
ABORTS(retain_of_something_not_allocated_by_reclaim, retain_foreign,
       "reclaim_retain", "not a block reclaim allocated")
ABORTS(finalizer_on_an_interior_pointer, finalizer_interior,
       "reclaim_set_finalizer", "pointer into the middle of a block")
ABORTS(finalizer_on_a_freed_block, finalizer_freed,
       "reclaim_set_finalizer", "not an allocated block (freed?)")
ABORTS(weak_reference_to_something_not_allocated_by_reclaim, weak_foreign,
       "reclaim_weak_new", "not a block reclaim allocated")
ABORTS(freed_weak_handle, weak_get_freed,
       "reclaim_weak_get", "not a live weak reference")
ABORTS(double_free_of_a_finalizable_block, free_finalizable_twice,
       "free", "double free")

/* ---- cases run in a re-executed child ---- */

static int fin_calls;

static void count_fin(void *block, void *data)
{
    (void)block;
    (void)data;
    fin_calls++;
}

static API_NOINLINE uintptr_t lost_finalizable(void)
{
    void *p = malloc(200);
    reclaim_set_finalizer(p, count_fin, NULL);
    return api_mask(p);
}

/* RECLAIM_ON_ERROR=warn: the line, then the call's failure value, and the
 * program goes on. */
static void case_warn(void)
{
    char *p = malloc(32);
    unit_say_ptr(p);
    int r = reclaim_release(p);
    void *q = reclaim_retain(p + 4);
    int f = reclaim_set_finalizer(p + 4, fin, NULL);
    reclaim_weak *w = reclaim_weak_new(p + 4);
    printf("release=%d retain=%s finalizer=%d weak=%s alive=%d\n", r, q == p + 4 ? "p" : "?", f,
           w ? "?" : "NULL", reclaim_block_start(p) == p);
    fflush(stdout);
    _exit(0);
}

/* RECLAIM_MODE=leaks: no automatic collection, but reclaim_collect
 * collects and finalizes. */
static void case_leaks_collect(void)
{
    uintptr_t lost[20];
    for (int i = 0; i < 20; i++)
        lost[i] = api_new_masked(100, (uintptr_t)i);
    uintptr_t fm = lost_finalizable();
    api_garbage(32u << 20, 500);
    size_t automatic = api_collections();
    size_t freed = api_collect();
    int gone = 0;
    for (int i = 0; i < 20; i++)
        gone += !api_alive(lost[i]);
    api_collect();
    printf("automatic=%zu freed>=20:%d gone=%d finalized=%d final_gone=%d\n", automatic,
           freed >= 20, gone, fin_calls, !api_alive(fm));
    fflush(stdout);
    /* _exit: no exit-time leak report. */
    _exit(0);
}

__attribute__((constructor)) static void run_case(int argc, char **argv)
{
    (void)argc;
    if (!argv || !argv[0] || strncmp(argv[0], "api-case:", 9))
        return;
    if (!strcmp(argv[0] + 9, "warn"))
        case_warn();
    if (!strcmp(argv[0] + 9, "leaks_collect"))
        case_leaks_collect();
    _exit(99);
}

struct api_case {
    const char *name;
    const char *env;   /* "NAME=value" the library must see at start-up */
};

/* The child side of reexec: this binary again, named after the case so
 * that run_case picks it up before Criterion starts. */
static void exec_case(void *arg)
{
    const struct api_case *a = arg;
    putenv((char *)a->env);
    char arg0[64];
    snprintf(arg0, sizeof arg0, "api-case:%s", a->name);
    char *argv[] = { arg0, NULL };
    execv("/proc/self/exe", argv);
    _exit(127);
}

static void reexec(const char *name, const char *env, struct unit_child *c)
{
    struct api_case a = { name, env };
    cr_assert_eq(unit_run_child(exec_case, &a, NULL, c), 0);
}

Test(misuse, warn_mode_prints_and_goes_on)
{
    struct unit_child c;
    reexec("warn", "RECLAIM_ON_ERROR=warn", &c);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status %#x, stderr:\n%s", c.status,
              c.err);
    char addr[32];
    cr_assert_eq(sscanf(c.out, "%31s", addr), 1);
    void *p;
    cr_assert_eq(sscanf(addr, "%p", &p), 1);
    char want[1024];
    snprintf(want, sizeof want,
             "reclaim: reclaim_release(%p): reference count is already zero\n"
             "reclaim: reclaim_retain(%p): pointer into the middle of a block\n"
             "reclaim: reclaim_set_finalizer(%p): pointer into the middle of a block\n"
             "reclaim: reclaim_weak_new(%p): pointer into the middle of a block\n",
             p, (char *)p + 4, (char *)p + 4, (char *)p + 4);
    cr_assert_str_eq(c.err, want);
    cr_assert(strstr(c.out, "release=0 retain=p finalizer=-1 weak=NULL alive=1\n"), "%s", c.out);
}

Test(misuse, leaks_mode_still_collects_when_asked)
{
    struct unit_child c;
    reexec("leaks_collect", "RECLAIM_MODE=leaks", &c);
    cr_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status %#x, stderr:\n%s", c.status,
              c.err);
    cr_assert_str_eq(c.out, "automatic=0 freed>=20:1 gone=20 finalized=1 final_gone=1\n", "stderr: %s",
                     c.err);
}
