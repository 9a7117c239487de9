/* Leak test: a lost list of 10 nodes is 1 direct block (the head) and 9
 * indirect ones, bytes exact; a lost cycle of two is 1 direct + 1
 * indirect (a cycle with no pointer from outside is never missed). */
#include "leaklib.h"

struct node {
    struct node *next;
    long value[2];
};   /* 24 bytes: reclaim's slot is 32, the report must say 24 */

static LEAKLIB_NOINLINE void lose_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct node *n = malloc(sizeof *n);
        n->next = head;
        n->value[0] = i;
        head = n;
        leaklib_sink = n;   /* a volatile store: the compiler cannot drop the malloc */
    }
    leaklib_sink = NULL;
}

static LEAKLIB_NOINLINE void lose_cycle(void)
{
    struct node *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    a->next = b;
    b->next = a;
    leaklib_sink = a;
    leaklib_sink = b;
    leaklib_sink = NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        if (argc > 1 && !strcmp(argv[1], "list"))
            lose_list();
        else
            lose_cycle();
        leaklib_scrub();
        return 0;
    }

    struct lreport r;
    leaklib_child("list", NULL, 0);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 24,
          "list: 1 direct block of 24 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.sum[K_INDIRECT][0] == 9 && r.sum[K_INDIRECT][1] == 216,
          "list: 9 indirect blocks of 216 bytes (%llu, %llu)", r.sum[K_INDIRECT][0], r.sum[K_INDIRECT][1]);
    const struct lrecord *d = leaklib_record(&r, K_DIRECT, 0), *i = leaklib_record(&r, K_INDIRECT, 0);
    check(d && i && d->stack == i->stack && !leaklib_record(&r, K_INDIRECT, 1),
          "list: both records carry the same allocation stack");
    check(leaklib_frame0_in(&r, d, (void *)lose_list, 512), "list: allocated in lose_list");

    leaklib_child("list", NULL, 1);
    const char *text = leaklib_text();
    check(leaklib_text_has(text, "Direct leak of 24 bytes in 1 block allocated from:", "lose_list"),
          "text: 'Direct leak of 24 bytes in 1 block', #0 in lose_list");
    check(leaklib_text_has(text, "Indirect leak of 216 bytes in 9 blocks allocated from:", "lose_list"),
          "text: 'Indirect leak of 216 bytes in 9 blocks', #0 in lose_list");

    leaklib_child("cycle", NULL, 0);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 24,
          "cycle: 1 direct block of 24 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.sum[K_INDIRECT][0] == 1 && r.sum[K_INDIRECT][1] == 24,
          "cycle: 1 indirect block of 24 bytes (%llu, %llu)", r.sum[K_INDIRECT][0], r.sum[K_INDIRECT][1]);
    check(leaklib_frame0_in(&r, leaklib_record(&r, K_DIRECT, 0), (void *)lose_cycle, 256),
          "cycle: allocated in lose_cycle");
    return check_finish("leak_list");
}
