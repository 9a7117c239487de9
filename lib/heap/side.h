/* Per-block side data of a span (see side.c); the face is in heap.h. */
#ifndef RECLAIM_HEAP_SIDE_H
#define RECLAIM_HEAP_SIDE_H

#include "span.h"

/* A span is being (re)carved: its side data, if any, starts clean. */
void heap_side_reset(struct span *s);

#endif
