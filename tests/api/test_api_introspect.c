/* Heap introspection: reclaim_for_each_block (every allocated block,
 * early stop, a callback that allocates), reclaim_block_start/size,
 * reclaim_referrers (blocks pointing into a block, interior pointers
 * included, atomic blocks not scanned, foreign addresses), reclaim_explain
 * (a chain from a global, from a retained block, from a registered range;
 * "not reachable"; "not a block") and reclaim_report_leaks. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>

#include "api_test.h"

/* Output of fn(fd) captured through a temporary file. */
static char captured[16384];

static int capture_fd(void)
{
    char path[] = "/tmp/reclaim-api-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    return fd;
}

static const char *captured_text(int fd)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, captured, sizeof captured - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(fd);
    return captured;
}

/* ---- for_each_block ---- */

#define NB 10
static void *blocks[NB];
struct visit { int found[NB]; size_t calls; int stop_after; };

static int visitor(void *block, size_t size, void *data)
{
    struct visit *v = data;
    v->calls++;
    for (int i = 0; i < NB; i++)
        if (block == blocks[i]) {
            v->found[i]++;
            cr_assert_geq(size, 3000 + (size_t)i * 16);
        }
    /* The callback may allocate and free. */
    free(malloc(32));
    return v->stop_after && (int)v->calls >= v->stop_after;
}

Test(introspect, for_each_block_visits_every_block)
{
    for (int i = 0; i < NB; i++)
        blocks[i] = malloc(3000 + (size_t)i * 16);
    free(blocks[NB - 1]);
    void *gone = blocks[NB - 1];
    blocks[NB - 1] = NULL;
    struct visit v = { { 0 }, 0, 0 };
    size_t n = reclaim_for_each_block(visitor, &v);
    cr_assert_eq(n, v.calls);
    cr_assert_geq(n, NB - 1);
    for (int i = 0; i < NB - 1; i++)
        cr_assert_eq(v.found[i], 1, "block %d visited %d times", i, v.found[i]);
    (void)gone;

    struct visit first = { { 0 }, 0, 1 };
    cr_assert_eq(reclaim_for_each_block(visitor, &first), 1, "did not stop when fn returned 1");
    struct visit three = { { 0 }, 0, 3 };
    cr_assert_eq(reclaim_for_each_block(visitor, &three), 3);
    for (int i = 0; i < NB - 1; i++)
        free(blocks[i]);
}

Test(introspect, block_start_and_size)
{
    char *p = malloc(100);
    cr_assert_eq(reclaim_block_start(p), p);
    cr_assert_eq(reclaim_block_start(p + 57), p);
    cr_assert_geq(reclaim_block_size(p + 57), 100);
    cr_assert_eq(reclaim_block_start(p + reclaim_block_size(p)), p, "one past the end");
    int local;
    static int global;
    cr_assert_null(reclaim_block_start(&local));
    cr_assert_null(reclaim_block_start(&global));
    cr_assert_null(reclaim_block_start(NULL));
    cr_assert_eq(reclaim_block_size(&local), 0);
    free(p);
    cr_assert_null(reclaim_block_start(p));
    cr_assert_eq(reclaim_block_size(p), 0);
}

/* ---- referrers ---- */

static void *ref_a, *ref_b, *ref_c, *ref_d, *ref_t;

Test(introspect, referrers)
{
    ref_t = malloc(64);
    ref_a = malloc(32);
    ref_b = malloc(4000);
    ref_c = malloc(32);
    ref_d = reclaim_malloc_atomic(32);
    memset(ref_c, 0, 32);
    ((void **)ref_a)[0] = ref_t;                      /* start */
    ((void **)ref_b)[300] = (char *)ref_t + 40;       /* interior */
    ((void **)ref_d)[1] = ref_t;                      /* never scanned */
    void *out[4] = { 0 };
    size_t n = reclaim_referrers((char *)ref_t + 8, out, 4);
    cr_assert_eq(n, 2, "%zu referrers", n);
    cr_assert((out[0] == ref_a && out[1] == ref_b) || (out[0] == ref_b && out[1] == ref_a));
    cr_assert_null(out[2]);
    void *one[1] = { 0 };
    cr_assert_eq(reclaim_referrers(ref_t, one, 1), 2, "count, not what fits");
    cr_assert(one[0] == ref_a || one[0] == ref_b);
    cr_assert_eq(reclaim_referrers(ref_t, NULL, 0), 2);
    int local;
    cr_assert_eq(reclaim_referrers(&local, out, 4), 0);
    cr_assert_eq(reclaim_referrers(ref_c, out, 4), 0);
}

/* ---- explain ---- */

/* volatile: written only, the compiler would drop the stores. */
static void *volatile chain_root;

/* chain_root -> A -(+16)-> B -(+8)-> T. Everything handed back masked: a
 * real pointer in the test's frame would be a shorter chain. Sizes no
 * other code here uses, so that no stale word left on the stack by
 * Criterion can point into the slots (a conservative root is a root). */
static API_NOINLINE uintptr_t make_chain(uintptr_t *a_out, uintptr_t *b_out)
{
    void **a = reclaim_malloc(2344), **b = reclaim_malloc(2856);
    void *t = malloc(3416);
    a[2] = b;
    b[1] = (char *)t + 8;
    chain_root = a;
    *a_out = api_mask(a);
    *b_out = api_mask(b);
    return api_mask(t);
}

static API_NOINLINE int explain_masked(uintptr_t m, int fd)
{
    return reclaim_explain(api_unmask(m), fd);
}

static API_NOINLINE void expected_chain(char *want, size_t len, uintptr_t a, uintptr_t b, uintptr_t t)
{
    snprintf(want, len, "\nblock %p (%zu bytes) +16 ->\nblock %p (%zu bytes) +8 ->\nblock %p (%zu bytes)\n",
             api_unmask(a), reclaim_block_size(api_unmask(a)), api_unmask(b),
             reclaim_block_size(api_unmask(b)), api_unmask(t), reclaim_block_size(api_unmask(t)));
}

/* The body runs in a frame laid over freshly cleared stack, so that none
 * of its own slots holds a stale word. */
static API_NOINLINE void chain_from_a_global(void)
{
    uintptr_t a, b;
    uintptr_t t = make_chain(&a, &b);
    api_scrub();
    int fd = capture_fd();
    int r = explain_masked(t, fd);
    const char *s = captured_text(fd);
    cr_assert_eq(r, 1, "explain returned %d and wrote:\n%s", r, s);
    cr_assert_eq(unit_lines(s), 4, "explain wrote:\n%s", s);
    char want[256];
    cr_assert(!strncmp(s, "root: ", 6), "explain wrote:\n%s", s);
    cr_assert(strstr(s, "test_api_introspect"), "root not named after the program:\n%s", s);
    expected_chain(want, sizeof want, a, b, t);
    cr_assert(strstr(s, want), "explain wrote:\n%s\nwanted the chain:%s", s, want);
    chain_root = NULL;
}

Test(introspect, explain_a_chain_from_a_global)
{
    api_scrub();
    chain_from_a_global();
}

Test(introspect, explain_unreachable_and_not_a_block)
{
    uintptr_t t = api_new_masked(40, 1);
    api_scrub();
    int fd = capture_fd();
    cr_assert_eq(explain_masked(t, fd), 0);
    const char *s = captured_text(fd);
    cr_assert_eq(unit_lines(s), 1, "%s", s);
    cr_assert(strstr(s, "not reachable from any root"), "%s", s);

    int local;
    fd = capture_fd();
    cr_assert_eq(reclaim_explain(&local, fd), -1);
    s = captured_text(fd);
    cr_assert_eq(unit_lines(s), 1, "%s", s);
    cr_assert(strstr(s, ": not a block"), "%s", s);
}

Test(introspect, explain_from_a_retained_block_and_a_registered_range)
{
    uintptr_t t = api_new_masked(40, 2);
    reclaim_retain(api_unmask(t));
    int fd = capture_fd();
    cr_assert_eq(explain_masked(t, fd), 1);
    const char *s = captured_text(fd);
    cr_assert(!strncmp(s, "root: reference count 1 (reclaim_retain) ->\n", 44), "%s", s);
    cr_assert_eq(unit_lines(s), 2, "%s", s);
    reclaim_release(api_unmask(t));

    static void *holder;
    holder = reclaim_malloc_atomic(64);
    uintptr_t u = api_new_masked(40, 3);
    ((void **)holder)[1] = api_unmask(u);
    reclaim_add_roots(holder, 64);
    fd = capture_fd();
    cr_assert_eq(explain_masked(u, fd), 1);
    s = captured_text(fd);
    cr_assert(!strncmp(s, "root: range registered with reclaim_add_roots", 45), "%s", s);
    reclaim_remove_roots(holder, 64);
    fd = capture_fd();
    cr_assert_eq(explain_masked(u, fd), 0, "%s", captured_text(fd));
}

/* ---- leak report ---- */

Test(introspect, report_leaks)
{
    reclaim_disable();
    uintptr_t lost[3];
    for (int i = 0; i < 3; i++)
        lost[i] = api_new_masked(777, (uintptr_t)i);
    api_scrub();
    int fd = capture_fd();
    size_t n = reclaim_report_leaks(fd);
    const char *s = captured_text(fd);
    cr_assert_neq(n, (size_t)-1, "no leak check could be made");
    cr_assert_geq(n, 3, "%zu lost blocks reported:\n%s", n, s);
    cr_assert(strstr(s, "SUMMARY: reclaim:"), "%s", s);
    /* Nothing was freed. */
    for (int i = 0; i < 3; i++)
        cr_assert(api_alive(lost[i]));
}

/* A leak check marks from the api floor's roots too: a retained block
 * whose only pointer is hidden is not lost. */
static API_NOINLINE size_t lost_now(int fd)
{
    api_scrub();
    lseek(fd, 0, SEEK_SET);
    return reclaim_report_leaks(fd);
}

static API_NOINLINE void retain_masked(uintptr_t m, int on)
{
    if (on)
        reclaim_retain(api_unmask(m));
    else
        reclaim_release(api_unmask(m));
}

Test(introspect, report_leaks_does_not_count_retained_blocks)
{
    reclaim_disable();
    uintptr_t h = api_new_masked(919, 9);
    int fd = capture_fd();
    size_t lost = lost_now(fd);
    retain_masked(h, 1);
    size_t lost_retained = lost_now(fd);
    retain_masked(h, 0);
    close(fd);
    cr_assert_geq(lost, 1);
    cr_assert_eq(lost_retained, lost - 1, "%zu lost blocks, %zu once one is retained", lost,
                 lost_retained);
}
