/* The gc floor's face: running a collection and deciding when to run one. */
#ifndef RECLAIM_GC_COLLECT_H
#define RECLAIM_GC_COLLECT_H

#include <stddef.h>

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

/* fork: the collector's lock around the heap's. */
void gc_fork_prepare(void);
void gc_fork_parent(void);
void gc_fork_child(void);

#endif
