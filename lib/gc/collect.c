/* A collection, start to end: take every heap lock (so no stopped thread
 * holds one), stop the world, mark from the roots and from the blocks of
 * threads caught inside malloc, sweep, resume. Also the automatic trigger:
 * collect when the bytes allocated since the last collection reach
 * RECLAIM_GROWTH percent of the live heap (never less than
 * RECLAIM_MIN_HEAP), or every RECLAIM_COLLECT_EVERY bytes when set. */
#include "collect.h"

#include <errno.h>
#include <time.h>

#include "../heap/collect.h"
#include "../util/lock.h"
#include "../util/log.h"
#include "../util/options.h"
#include "client.h"
#include "internal.h"
#include "mark.h"
#include "roots.h"
#include "stop.h"

static lock_t gc_lock = LOCK_INIT;
static struct gc_stats stats;
static const struct gc_client *client;
static int enabled = 1;
static size_t fixed_threshold;

void gc_set_client(const struct gc_client *c)
{
    client = c;
}

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void auto_collect(void)
{
    gc_collect();
}

/* With free() honoured, allocation volume says little about garbage: a
 * program that frees what it allocates should never pay for collections.
 * So the automatic trigger is the net growth of allocated bytes since the
 * last collection (handed out less freed), as Go's GOGC: collect when it
 * reaches RECLAIM_GROWTH percent of the live bytes the last collection
 * found, never less than RECLAIM_MIN_HEAP. RECLAIM_COLLECT_EVERY, for
 * stress tests, counts bytes handed out instead. */
static void set_next_trigger(void)
{
    heap_reset_count();
    if (options.mode != MODE_COLLECT || !enabled) {
        heap_set_trigger(0, 0, NULL);
        return;
    }
    if (fixed_threshold) {
        heap_set_trigger(fixed_threshold, 0, auto_collect);
        return;
    }
    if (options.collect_every) {
        heap_set_trigger(options.collect_every, 0, auto_collect);
        return;
    }
    size_t t = stats.live_bytes / 100 * options.growth_percent;
    heap_set_trigger(0, t > options.min_heap ? t : options.min_heap, auto_collect);
}

static size_t root_bytes;

static void root_cb(uintptr_t lo, uintptr_t hi, enum root_kind kind, const char *what, void *arg)
{
    (void)kind;
    (void)what;
    (void)arg;
    root_bytes += hi - lo;
    mark_range(lo, hi);
}

static void client_mark_range(uintptr_t lo, uintptr_t hi)
{
    mark_range(lo, hi);
}

static int client_is_marked(uintptr_t p)
{
    return heap_is_marked(p);
}

static void client_keep(uintptr_t p)
{
    mark_block(p);
    mark_finish();
}

/* Marks from every root. Kept out of line so that the callee-saved
 * registers spilled here sit in this frame, above the stack pointer that
 * roots_enumerate scans from. self_sp, when not 0, replaces that stack
 * pointer (a leak check scans the caller's stack from the frame that
 * called exit(), and not this thread's registers). */
NOINLINE int gc_mark_from_roots(const struct world *w, uintptr_t self_sp)
{
    uintptr_t regs[8] = { 0 };
#if defined(__x86_64__)
    __asm__ __volatile__("movq %%rbx, 0(%0)\n\tmovq %%rbp, 8(%0)\n\t"
                         "movq %%r12, 16(%0)\n\tmovq %%r13, 24(%0)\n\t"
                         "movq %%r14, 32(%0)\n\tmovq %%r15, 40(%0)"
                         : : "r"(regs) : "memory");
#endif
    __builtin_unwind_init();
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ __volatile__("movq %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ __volatile__("mov %0, sp" : "=r"(sp));
#else
    sp = (uintptr_t)&regs[0] - 1024;
#endif
    if (self_sp)
        sp = self_sp;
    mark_begin();
    int r = roots_enumerate(w, sp, root_cb, NULL);
    if (r == 0) {
        if (client && client->roots)
            client->roots(client_mark_range, mark_block);
        mark_finish();
    }
    __asm__ __volatile__("" : : "r"(regs) : "memory");
    return r;
}

size_t gc_collect(void)
{
    if (!lock_try(&gc_lock))
        return 0;
    int saved = errno;
    /* After the lock, so that START and END always pair; an allocation in
     * there that triggers a collection finds the lock taken and returns. */
    if (client && client->start)
        client->start();
    unsigned long long t0 = now_ns();
    heap_lock_all();
    struct world w;
    if (stop_world(&w)) {
        heap_unlock_all();
        heap_reset_count();
        struct gc_stats snapshot = stats;
        lock_release(&gc_lock);
        if (client && client->end)
            client->end(&snapshot);   /* START and END always pair */
        errno = saved;
        return 0;
    }
    heap_gc_begin();
    root_bytes = 0;
    struct heap_sweep sw = { 0 };
    if (gc_mark_from_roots(&w, 0) == 0) {
        if (client && client->before_sweep)
            client->before_sweep(client_is_marked, client_keep);
        heap_sweep(&sw);
    } else {
        /* Some roots could not be found: sweeping now could free live
         * blocks. Keep everything. */
        heap_clear_marks();
        sw.live_blocks = stats.live_blocks;
        sw.live_bytes = stats.live_bytes;
    }
    heap_gc_end();
    resume_world(&w);
    heap_unlock_all();

    unsigned long long pause = now_ns() - t0;
    stats.collections++;
    stats.root_bytes = root_bytes;
    stats.live_blocks = sw.live_blocks;
    stats.live_bytes = sw.live_bytes;
    stats.reclaimed_blocks += sw.freed_blocks;
    stats.reclaimed_bytes += sw.freed_bytes;
    stats.pause_ns_total += pause;
    if (pause > stats.pause_ns_max)
        stats.pause_ns_max = pause;
    set_next_trigger();
    struct gc_stats snapshot = stats;
    lock_release(&gc_lock);
    if (client && client->end)
        client->end(&snapshot);
    errno = saved;
    return sw.freed_blocks;
}

void gc_set_enabled(int on)
{
    lock_acquire(&gc_lock);
    enabled = on;
    set_next_trigger();
    lock_release(&gc_lock);
}

int gc_is_enabled(void)
{
    return enabled;
}

void gc_set_threshold(size_t bytes)
{
    lock_acquire(&gc_lock);
    fixed_threshold = bytes;
    set_next_trigger();
    lock_release(&gc_lock);
}

size_t gc_get_threshold(void)
{
    return fixed_threshold;
}

/* For the leak check, which runs the client's hooks around its own
 * collection-like pass. */
void gc_lock_acquire(void)
{
    lock_acquire(&gc_lock);
    if (client && client->start)
        client->start();
}

void gc_lock_release(void)
{
    struct gc_stats snapshot = stats;
    lock_release(&gc_lock);
    if (client && client->end)
        client->end(&snapshot);
}

void gc_init(void)
{
    mark_init();
    set_next_trigger();
}

void gc_get_stats(struct gc_stats *out)
{
    lock_acquire(&gc_lock);
    *out = stats;
    lock_release(&gc_lock);
}

static void ms(char *buf, size_t len, unsigned long long ns)
{
    unsigned long long us = ns / 1000;
    log_format(buf, len, "%llu.%llu%llu%llu", us / 1000, us / 100 % 10, us / 10 % 10, us % 10);
}

void gc_print_stats(void)
{
    struct gc_stats s;
    gc_get_stats(&s);
    char total[32], max[32];
    ms(total, sizeof total, s.pause_ns_total);
    ms(max, sizeof max, s.pause_ns_max);
    log_line("stats: collections=%zu reclaimed_blocks=%zu reclaimed_bytes=%zu "
             "peak_heap_bytes=%zu live_bytes=%zu root_bytes=%zu pause_total_ms=%s pause_max_ms=%s",
             s.collections, s.reclaimed_blocks, s.reclaimed_bytes, heap_peak_bytes(),
             s.live_bytes, s.root_bytes, total, max);
}

void gc_fork_prepare(void) { lock_acquire(&gc_lock); }
void gc_fork_parent(void)  { lock_release(&gc_lock); }
void gc_fork_child(void)   { lock_release(&gc_lock); }
