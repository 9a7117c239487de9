/* Probe: coroutine stacks (makecontext/swapcontext). The only pointers sit
 * in the locals of a coroutine whose stack is
 *   - an mmap'd region, or
 *   - a block malloc'd from reclaim's heap (kept by the main program);
 * first while the coroutine is suspended and the main thread churns, then
 * while the churn (and so the collector) runs on the coroutine's own stack
 * with more pointers in the suspended main stack's frames. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <ucontext.h>

#include "probe.h"

#define STACK (256u * 1024)

static ucontext_t main_ctx, co_ctx;
static unsigned co_bad;
static int co_mode;          /* 0: suspend while main churns; 1: churn here */
static unsigned co_base;

static void coroutine(void)
{
    void *slots[PROBE_BLOCKS];
    probe_make(slots, PROBE_BLOCKS, co_base);
    if (co_mode == 0)
        swapcontext(&co_ctx, &main_ctx);      /* main churns meanwhile */
    else
        probe_churn("churn on the coroutine stack");
    co_bad = probe_verify(slots, PROBE_BLOCKS, co_base, "coroutine stack");
    __asm__ __volatile__("" : : "r"(slots) : "memory");
}

static PROBE_NOINLINE void *stack_for(int from_heap)
{
    if (from_heap) {
        void *s = malloc(STACK);
        if (!s)
            check_fail("malloc of a coroutine stack failed");
        return s;
    }
    void *s = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (s == MAP_FAILED)
        check_fail("mmap of a coroutine stack failed");
    return s;
}

static PROBE_NOINLINE void run(int from_heap, int mode, unsigned base)
{
    void *main_slots[PROBE_BLOCKS];    /* on the main stack, for mode 1 */
    probe_make(main_slots, PROBE_BLOCKS, base + 5000);
    void *volatile stack = stack_for(from_heap);   /* volatile: live across swapcontext */
    const char *volatile kind = from_heap ? "malloc'd" : "mmap'd";

    co_mode = mode;
    co_base = base;
    co_bad = ~0u;
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = STACK;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, coroutine, 0);
    swapcontext(&main_ctx, &co_ctx);
    if (mode == 0) {
        probe_churn("coroutine suspended");
        swapcontext(&main_ctx, &co_ctx);     /* it verifies, then returns here */
        check(co_bad == 0, "suspended coroutine, %s stack: %u of %u blocks intact and allocated",
                    kind, PROBE_BLOCKS - co_bad, PROBE_BLOCKS);
    } else {
        check(co_bad == 0,
                    "collector running on a coroutine, %s stack: %u of %u blocks on it intact and allocated",
                    kind, PROBE_BLOCKS - co_bad, PROBE_BLOCKS);
        char where[128];
        snprintf(where, sizeof where, "main stack while the collector ran on a %s coroutine stack", kind);
        probe_report(main_slots, PROBE_BLOCKS, base + 5000, where);
    }
    if (from_heap) {
        check(reclaim_block_start(stack) == stack, "the malloc'd coroutine stack is still allocated");
        free(stack);
    } else {
        munmap(stack, STACK);
    }
    __asm__ __volatile__("" : : "r"(main_slots) : "memory");
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    run(0, 0, 0);
    run(1, 0, 100);
    run(0, 1, 200);
    run(1, 1, 300);
    return check_finish("probe_coroutine");
}
