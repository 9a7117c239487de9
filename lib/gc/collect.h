/* The gc floor's face: running a collection and deciding when to run one. */
#ifndef RECLAIM_GC_COLLECT_H
#define RECLAIM_GC_COLLECT_H

#include <stddef.h>
#include <stdint.h>

struct gc_stats {
    size_t collections;
    size_t live_blocks, live_bytes;          /* as found by the last collection */
    size_t reclaimed_blocks, reclaimed_bytes;
    unsigned long long pause_ns_total, pause_ns_max;
    size_t root_bytes;                       /* roots scanned by the last collection */
};

/* Installs the automatic trigger according to options (collect mode). */
void gc_init(void);
/* A full collection now, in any mode. Returns blocks reclaimed (0 when the
 * world could not be stopped, or another thread was collecting). */
size_t gc_collect(void);
void gc_get_stats(struct gc_stats *out);
/* The RECLAIM_STATS=1 line. */
void gc_print_stats(void);

/* Automatic collection on/off (reclaim_enable/disable), and a fixed
 * threshold in bytes of net allocation (0: the adaptive default). */
void   gc_set_enabled(int on);
int    gc_is_enabled(void);
void   gc_set_threshold(size_t bytes);
size_t gc_get_threshold(void);

/* fork: the collector's lock around the heap's. */
void gc_fork_prepare(void);
void gc_fork_parent(void);
void gc_fork_child(void);

/* A leak check (leaks mode at exit, reclaim_report_leaks, a signal): mark
 * from the roots, the calling thread's stack from self_sp up only (pass
 * the stack pointer of the frame that called exit(), so the frames of
 * exit and of reclaim are not roots), then classify every allocated block
 * left unmarked, as valgrind does: a lost block no other lost block
 * reaches is DIRECT; the rest are INDIRECT; in a lost cycle with no
 * pointer from outside, the first block (by address) is DIRECT. Nothing is
 * freed. fn gets every block, reachable ones too, with its allocation
 * tag (heap_block_tag), then the marks are cleared. Runs fn while the
 * world is stopped: fn must not allocate or take locks (copy into memory
 * prepared beforehand). Returns -1 when the world could not be stopped. */
enum leak_kind { LEAK_REACHABLE = 0, LEAK_DIRECT, LEAK_INDIRECT };
typedef void (*leak_fn)(uintptr_t start, size_t size, uint32_t tag, enum leak_kind kind, void *arg);
int gc_leak_check(uintptr_t self_sp, leak_fn fn, void *arg);

#endif
