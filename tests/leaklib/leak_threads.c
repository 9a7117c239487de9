/* Leak test: stack capture under threads. Eight threads walk a binary tree
 * of calls 14 deep (two call sites per level, so every path is a different
 * stack: 16384 of them, which makes the stack table grow while the other
 * threads look stacks up without its lock); each leaf loses one block and
 * allocates and frees a few more from the same stack. The threads are
 * joined, so nothing of theirs reaches the blocks: 16384 direct records of
 * one block each, exact. */
#include "leaklib.h"

#include <pthread.h>

#define DEPTH 14
#define THREADS 8
#define PATHS (1 << DEPTH)

static LEAKLIB_NOINLINE void walk(unsigned bits, int depth);

static LEAKLIB_NOINLINE void walk_a(unsigned bits, int depth)
{
    walk(bits >> 1, depth - 1);
    __asm__ __volatile__("");   /* not a tail call: this frame stays on the stack */
}

static LEAKLIB_NOINLINE void walk_b(unsigned bits, int depth)
{
    walk(bits >> 1, depth - 1);
    __asm__ __volatile__("");
}

static LEAKLIB_NOINLINE void walk(unsigned bits, int depth)
{
    if (depth == 0) {
        for (int i = 0; i < 4; i++)
            free(malloc(40));
        leaklib_sink = malloc(24);
        leaklib_sink = NULL;
        return;
    }
    if (bits & 1)
        walk_a(bits, depth);
    else
        walk_b(bits, depth);
    __asm__ __volatile__("");
}

static void *thread_main(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (unsigned p = t; p < PATHS; p += THREADS)
        walk(p, DEPTH);
    leaklib_scrub();
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (leaklib_is_child()) {
        pthread_t th[THREADS];
        for (unsigned t = 0; t < THREADS; t++)
            if (pthread_create(&th[t], NULL, thread_main, (void *)(uintptr_t)t))
                check_fail("pthread_create failed");
        for (unsigned t = 0; t < THREADS; t++)
            pthread_join(th[t], NULL);
        return 0;
    }

    static struct lreport r;
    int st = leaklib_child("threads", NULL, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 23, "status 23 (status %#x)", st);
    if (leaklib_report_of(leaklib_last_pid, &r))
        check_fail("no report file for pid %ld", leaklib_last_pid);
    check(r.sum[K_DIRECT][0] == PATHS && r.sum[K_DIRECT][1] == 24ull * PATHS,
          "%d direct blocks of 24 bytes (%llu, %llu)", PATHS, r.sum[K_DIRECT][0], r.sum[K_DIRECT][1]);
    check(r.nrec_total[K_DIRECT] == PATHS, "one direct record per path: %d (%d)", PATHS,
          r.nrec_total[K_DIRECT]);
    /* The parser keeps the first 256 stacks: look at the first 200 records. */
    int ok = 1;
    for (int i = 0; i < r.nrec && i < 200 && ok; i++)
        if (r.rec[i].kind == K_DIRECT)
            ok = r.rec[i].blocks == 1 && leaklib_frame0_in(&r, &r.rec[i], (void *)walk, 256) &&
                 leaklib_stack(&r, r.rec[i].stack)->nframes >= DEPTH + 2;
    check(ok, "each of them one block, allocated in walk, with the whole path in its stack");
    return check_finish("leak_threads");
}
