/* Names shared inside the gc floor (collect.c and leaks.c), not above. */
#ifndef RECLAIM_GC_INTERNAL_H
#define RECLAIM_GC_INTERNAL_H

#include <stdint.h>

#include "stop.h"

int  gc_mark_from_roots(const struct world *w, uintptr_t self_sp);
/* The collector's lock, with the client's start and end hooks around it. */
void gc_lock_acquire(void);
void gc_lock_release(void);

#endif
