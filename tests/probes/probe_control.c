/* Control probe: the only "pointers" to the blocks are XOR-masked, so no
 * root holds a real pointer. The blocks MUST be reclaimed; otherwise the
 * positive probes prove nothing. Two rounds:
 *   1. blocks made, stack and registers scrubbed, one reclaim_collect():
 *      every block reclaimed by that collection;
 *   2. blocks made, 64 MiB of churn (collections every 1 MiB), then the
 *      explicit collections: every block reclaimed, and the stats count
 *      at least as many reclaimed blocks as were lost. */
#define _GNU_SOURCE
#include "probe.h"

static uintptr_t masked[PROBE_BLOCKS];

static PROBE_NOINLINE unsigned still_allocated(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PROBE_BLOCKS; i++)
        if (reclaim_block_start((void *)(masked[i] ^ PROBE_MASK)))
            n++;
    return n;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");

    reclaim_collect();
    size_t r0 = probe_reclaimed();
    probe_make_masked(masked, PROBE_BLOCKS, 0);
    probe_scrub();
    size_t got = reclaim_collect();
    size_t r1 = probe_reclaimed();
    unsigned left = still_allocated();
    check(left == 0, "masked blocks, one collection: %u of %u reclaimed "
                "(reclaim_collect returned %zu, stats +%zu)",
                PROBE_BLOCKS - left, PROBE_BLOCKS, got, r1 - r0);
    check(r1 - r0 >= PROBE_BLOCKS, "reclaimed_blocks grew by at least %u (%zu)",
                PROBE_BLOCKS, r1 - r0);

    probe_make_masked(masked, PROBE_BLOCKS, 100);
    probe_scrub();
    probe_churn("control");
    left = still_allocated();
    check(left == 0, "masked blocks, after the churn: %u of %u reclaimed",
                PROBE_BLOCKS - left, PROBE_BLOCKS);
    return check_finish("probe_control");
}
