/* Probe: the main thread's stack. The only pointers to the blocks sit in a
 * local array of a frame that stays live while the collections run below
 * it. */
#define _GNU_SOURCE
#include "probe.h"

static PROBE_NOINLINE void run(void)
{
    void *slots[PROBE_BLOCKS];
    probe_make(slots, PROBE_BLOCKS, 0);
    probe_churn("main stack");
    probe_report(slots, PROBE_BLOCKS, 0, "main thread stack (local array of a live frame)");
    __asm__ __volatile__("" : : "r"(slots) : "memory");
}

/* Deeper: the pointers sit a few frames above the collections. */
static PROBE_NOINLINE void level(int n, void **outer)
{
    if (n > 0) {
        volatile char pad[512];
        pad[0] = (char)n;
        level(n - 1, outer);
        __asm__ __volatile__("" : : "r"(pad) : "memory");
        return;
    }
    probe_churn("main stack, 8 frames down");
    probe_report(outer, PROBE_BLOCKS, 1000, "main thread stack, 8 frames above the collector");
}

static PROBE_NOINLINE void run_deep(void)
{
    void *slots[PROBE_BLOCKS];
    probe_make(slots, PROBE_BLOCKS, 1000);
    level(8, slots);
    __asm__ __volatile__("" : : "r"(slots) : "memory");
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    run();
    run_deep();
    return check_finish("probe_stack_main");
}
