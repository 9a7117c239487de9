/* Leak test: single lost blocks, one per allocation call, each reported
 * once as direct with the size the program asked for (not the size of the
 * slot reclaim gave it), and the stack of the call that made it. */
#include "leaklib.h"

#include <malloc.h>

static LEAKLIB_NOINLINE void lose_one(void)
{
    char *p = malloc(40);
    memset(p, 1, 40);
    leaklib_sink = p;   /* a volatile store: the compiler cannot drop the malloc */
    leaklib_sink = NULL;
}

static LEAKLIB_NOINLINE void lose_calloc(void) { leaklib_sink = calloc(3, 20); }

static LEAKLIB_NOINLINE void lose_realloc(void)
{
    char *p = malloc(10);
    p = realloc(p, 100);
    p = realloc(p, 1000);
    leaklib_sink = p;
}

static LEAKLIB_NOINLINE void lose_memalign(void)
{
    void *p;
    if (posix_memalign(&p, 64, 100))
        check_fail("posix_memalign failed");
    leaklib_sink = p;
}

static LEAKLIB_NOINLINE void lose_aligned(void) { leaklib_sink = aligned_alloc(4096, 5000); }

static LEAKLIB_NOINLINE void lose_them(void)
{
    lose_calloc();
    lose_realloc();
    lose_memalign();
    lose_aligned();
    leaklib_sink = NULL;
}

/* The record of kind direct whose bytes are `bytes`, if exactly one. */
static const struct lrecord *direct_of(const struct lreport *r, unsigned long long bytes)
{
    const struct lrecord *hit = NULL;
    for (int i = 0; i < r->nrec; i++) {
        if (r->rec[i].kind == K_DIRECT && r->rec[i].bytes == bytes) {
            if (hit)
                return NULL;
            hit = &r->rec[i];
        }
    }
    return hit;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        if (argc > 1 && !strcmp(argv[1], "one"))
            lose_one();
        else
            lose_them();
        leaklib_scrub();
        return 0;
    }

    struct lreport r;
    int st = leaklib_child("one", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "a leaking program exits with 23 (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.blocks_seen == 1 && r.ended == 1, "one complete report block (%d, %d)", r.blocks_seen, r.ended);
    check(r.pid == leaklib_last_pid, "the report names the child's pid (%ld)", r.pid);
    check(r.sum[K_DIRECT][0] == 1 && r.sum[K_DIRECT][1] == 40,
          "summary: 1 direct block of 40 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.sum[K_INDIRECT][0] == 0, "summary: no indirect block (%llu)", r.sum[K_INDIRECT][0]);
    const struct lrecord *x = leaklib_record(&r, K_DIRECT, 0);
    check(x && x->blocks == 1 && x->bytes == 40 && !leaklib_record(&r, K_DIRECT, 1),
          "one direct record: 1 block, 40 bytes");
    check(leaklib_frame0_in(&r, x, (void *)lose_one, 256),
          "its innermost frame is in lose_one (reclaim's own frames dropped)");

    st = leaklib_child("one", NULL, 1);
    const char *text = leaklib_text();
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "text mode: exits with 23 too (status %#x)", st);
    check(leaklib_text_has(text, "Direct leak of 40 bytes in 1 block allocated from:", "lose_one"),
          "text: 'Direct leak of 40 bytes in 1 block', #0 in lose_one");
    check(text && strstr(text, "SUMMARY: reclaim: 40 bytes leaked in 1 allocations (direct 40 bytes in 1 "
                               "blocks, indirect 0 bytes in 0 blocks;"),
          "text: the SUMMARY line");

    st = leaklib_child("calls", NULL, 0);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == 4 && r.sum[K_DIRECT][1] == 60 + 1000 + 100 + 5000,
          "summary: 4 direct blocks of 6160 bytes (%llu, %llu)", r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.sum[K_INDIRECT][0] == 0, "summary: no indirect block (%llu)", r.sum[K_INDIRECT][0]);
    check(leaklib_frame0_in(&r, direct_of(&r, 60), (void *)lose_calloc, 256), "calloc(3, 20): 60 bytes, in lose_calloc");
    check(leaklib_frame0_in(&r, direct_of(&r, 1000), (void *)lose_realloc, 256),
          "realloc chain: 1000 bytes, from the last realloc in lose_realloc");
    check(leaklib_frame0_in(&r, direct_of(&r, 100), (void *)lose_memalign, 256),
          "posix_memalign(64, 100): 100 bytes, in lose_memalign");
    check(leaklib_frame0_in(&r, direct_of(&r, 5000), (void *)lose_aligned, 256),
          "aligned_alloc(4096, 5000): 5000 bytes, in lose_aligned");
    return check_finish("leak_blocks");
}
