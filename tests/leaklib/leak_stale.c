/* Leak test: stale pointers in dead stack slots must not hide a leak. The
 * whole file is built at -O0 (whatever CFLAGS say), so make_list keeps
 * every node pointer in its stack frame; that frame is dead once it
 * returns, and main exits right away, so its stale slots are still there
 * (partly overwritten by exit's own frames) when the leak check runs. The
 * check scans the exiting thread from the frame that called exit() up:
 * the list is found lost, 1 direct + 9 indirect. LeakSanitizer misses
 * exactly this case. */
#pragma GCC optimize("O0")
#include "leaklib.h"

struct node {
    struct node *next;
    long value;
};

/* Every node's address also sits in a local array: dead stack that spans
 * more than exit's own frames overwrite, so stale copies of the pointers
 * are certainly there when the check runs. */
static LEAKLIB_NOINLINE void make_list(void)
{
    struct node *all[64];
    struct node *head = NULL, *n = NULL;
    for (int i = 0; i < 64; i++)
        all[i] = NULL;
    for (int i = 0; i < 10; i++) {
        n = malloc(sizeof *n);
        n->next = head;
        n->value = i;
        head = n;
        for (int k = i; k < 64; k += 10)
            all[k] = n;
    }
    __asm__ __volatile__("" : : "r"(all) : "memory");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        if (argc > 1 && !strcmp(argv[1], "exit")) {
            make_list();
            exit(0);
        }
        /* The same list, but main returns instead of calling exit. */
        make_list();
        return 0;
    }

    struct lreport r;
    int st = leaklib_child("exit", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "exit(): leaking, status 23 (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 16,
          "exit(): 1 direct block of 16 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.sum[K_INDIRECT][0] == 9 && r.sum[K_INDIRECT][1] == 144,
          "exit(): 9 indirect blocks of 144 bytes (%llu, %llu)", r.sum[K_INDIRECT][0], r.sum[K_INDIRECT][1]);
    check(leaklib_frame0_in(&r, leaklib_record(&r, K_DIRECT, 0), (void *)make_list, 512),
          "exit(): allocated in make_list");

    st = leaklib_child("return", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "return from main: status 23 (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_INDIRECT][0] == 9,
          "return from main: 1 direct + 9 indirect (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_INDIRECT][0]);
    return check_finish("leak_stale");
}
