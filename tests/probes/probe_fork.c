/* fork: collection keeps working in a forked child, including when other
 * threads were running (and allocating) at the fork. The child keeps
 * blocks only on its stack, loses masked ones, churns; the kept blocks
 * must be intact and the lost ones reclaimed. The parent's threads keep
 * their own blocks intact meanwhile. */
#define _GNU_SOURCE
#include "probe.h"

#include <pthread.h>
#include <sys/wait.h>

static volatile int stop;

static void *busy(void *arg)
{
    unsigned base = (unsigned)(uintptr_t)arg;
    void *mine[PROBE_BLOCKS];
    probe_make(mine, PROBE_BLOCKS, base);
    while (!stop) {
        free(malloc(64));
        free(malloc(5000));
    }
    return (void *)(uintptr_t)probe_verify(mine, PROBE_BLOCKS, base, "thread");
}

static PROBE_NOINLINE int child(void)
{
    void *kept[PROBE_BLOCKS];
    static uintptr_t lost[PROBE_BLOCKS];
    probe_make(kept, PROBE_BLOCKS, 500);
    probe_make_masked(lost, PROBE_BLOCKS, 700);
    probe_churn("child");
    reclaim_collect();
    /* A lost block survived if it is still there, whole: its address
     * alone may hold a new block by now (the first check() line's stdio
     * buffer took a large lost block's pages). */
    unsigned left = 0;
    for (unsigned i = 0; i < PROBE_BLOCKS; i++)
        if (probe_intact((void *)(lost[i] ^ PROBE_MASK), 700 + i) == 0)
            left++;
    check(left == 0, "child: lost blocks reclaimed (%u of %u left)", left, PROBE_BLOCKS);
    check(probe_verify(kept, PROBE_BLOCKS, 500, "child stack") == 0,
                "child: blocks on its stack intact");
    check(probe_collections() >= 10, "child: collections ran (%zu)", probe_collections());
    return check_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    pthread_t t[3];
    for (unsigned i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(100 * (i + 1)));
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child());
        int st;
        waitpid(pid, &st, 0);
        check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                    "fork %d: child passed (status %#x)", round, st);
    }
    stop = 1;
    for (unsigned i = 0; i < 3; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        check(bad == NULL, "parent thread %u: blocks intact", i);
    }
    return check_finish("probe_fork");
}
