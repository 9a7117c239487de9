/* Leak test: 100000 blocks lost from one allocation site are one record,
 * counted exactly, in the raw records and in the text. */
#include "leaklib.h"

#define MANY 100000

static LEAKLIB_NOINLINE void leak_many(void)
{
    for (int i = 0; i < MANY; i++) {
        char *p = malloc(16);
        p[0] = (char)i;
        leaklib_sink = p;
    }
    leaklib_sink = NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        leak_many();
        leaklib_scrub();
        return 0;
    }

    struct lreport r;
    leaklib_child("many", NULL, 0);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    const struct lrecord *x = leaklib_record(&r, K_DIRECT, 0);
    check(x && x->blocks == MANY && x->bytes == 16ull * MANY && !leaklib_record(&r, K_DIRECT, 1),
          "one direct record of %d blocks, %d bytes (%llu, %llu)", MANY, 16 * MANY,
          x ? x->blocks : 0, x ? x->bytes : 0);
    check(r.sum[K_DIRECT][0] == MANY && r.sum[K_INDIRECT][0] == 0,
          "summary: %d direct, 0 indirect (%llu, %llu)", MANY, r.sum[K_DIRECT][0], r.sum[K_INDIRECT][0]);
    check(leaklib_frame0_in(&r, x, (void *)leak_many, 256), "allocated in leak_many");

    leaklib_child("many", NULL, 1);
    const char *text = leaklib_text();
    check(leaklib_text_has(text, "Direct leak of 1600000 bytes in 100000 blocks allocated from:", "leak_many"),
          "text: 'Direct leak of 1600000 bytes in 100000 blocks', #0 in leak_many");
    check(text && strstr(text, "SUMMARY: reclaim: 1600000 bytes leaked in 100000 allocations"),
          "text: SUMMARY line");
    return check_finish("leak_many");
}
