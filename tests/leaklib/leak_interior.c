/* Leak test: blocks the program still reaches are not leaks, in two
 * places a naive exit-time check gets wrong: a block reached only through
 * a pointer into its middle, and a list whose only pointer is held in a
 * callee-saved register by a frame above exit()'s caller (exit's own
 * frames save that register below the stack pointer the check scans from;
 * the check takes the register values the unwinder recovers). A program
 * that leaks nothing keeps its own exit status and prints nothing more. */
#include "leaklib.h"

static char *middle;      /* the only reference: 8 bytes into the block */

struct node {
    struct node *next;
    long value;
};

static LEAKLIB_NOINLINE struct node *make_list(int n)
{
    struct node *head = NULL;
    for (int i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x);
        x->next = head;
        x->value = i;
        head = x;
    }
    return head;
}

static volatile int exit_now = 1;

/* Touches no callee-saved register: the caller's stay as they are. */
static LEAKLIB_NOINLINE void maybe_exit(void)
{
    if (exit_now)
        exit(6);
}

/* Optimized, head lives in a callee-saved register across maybe_exit()
 * (it is used afterwards), and nowhere else. */
static LEAKLIB_NOINLINE int hold_in_register(void)
{
    struct node *head = make_list(10);
    leaklib_scrub();
    maybe_exit();
    return (int)head->value;
}

static LEAKLIB_NOINLINE void keep_by_interior(void)
{
    char *p = malloc(64);
    memset(p, 7, 64);
    middle = p + 8;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        if (argc > 1 && !strcmp(argv[1], "register"))
            return hold_in_register();
        keep_by_interior();
        leaklib_scrub();
        return middle[0] == 7 ? 5 : 1;
    }

    struct lreport r;
    int st = leaklib_child("interior", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 5, "no leak: the program's own status 5 (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 0 && r.sum[K_INDIRECT][0] == 0,
          "no direct or indirect block (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_INDIRECT][0]);
    int found = 0;
    for (int i = 0; i < r.nrec; i++)
        if (r.rec[i].kind == K_REACHABLE && r.rec[i].bytes == 64 &&
            leaklib_frame0_in(&r, &r.rec[i], (void *)keep_by_interior, 256))
            found = 1;
    check(found, "the block is listed as reachable, allocated in keep_by_interior");

    st = leaklib_child("interior", NULL, 1);
    const char *text = leaklib_text();
    check(WIFEXITED(st) && WEXITSTATUS(st) == 5, "text mode: status 5 (status %#x)", st);
    check(text && !*text, "text mode: nothing written on stderr when nothing leaked");

    st = leaklib_child("register", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 6, "register: no leak, status 6 from exit(6) (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 0 && r.sum[K_INDIRECT][0] == 0,
          "register: the list held in a register is not lost (%llu direct, %llu indirect)",
          r.sum[K_DIRECT][0], r.sum[K_INDIRECT][0]);
    return check_finish("leak_interior");
}
