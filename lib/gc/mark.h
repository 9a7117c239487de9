/* Marking: conservative scan of root ranges and of every reached block,
 * with an explicit mark stack (never recursion). */
#ifndef RECLAIM_GC_MARK_H
#define RECLAIM_GC_MARK_H

#include <stddef.h>
#include <stdint.h>

/* Maps the initial mark stack (outside any collection). */
void mark_init(void);
/* Starts a marking phase (the world is stopped: the heap cannot grow). */
void mark_begin(void);
/* Scans [lo, hi) for words that point into allocated blocks, marks them
 * and everything they reach. */
void mark_range(uintptr_t lo, uintptr_t hi);
/* Marks the block containing p (a root given as a block) and what it reaches. */
void mark_block(uintptr_t p);
/* Finishes marking: drains the stack and recovers from any overflow. */
void mark_finish(void);

#endif
