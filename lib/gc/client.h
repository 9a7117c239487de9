/* How the floors above take part in a collection without the gc floor
 * knowing them (arrows point down: they pass callbacks down). One client,
 * the api floor, registers once at start-up; it multiplexes further. */
#ifndef RECLAIM_GC_CLIENT_H
#define RECLAIM_GC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct gc_stats;

struct gc_client {
    /* Before the world stops (locks not held): e.g. RECLAIM_EVENT_START
     * callbacks. May allocate. */
    void (*start)(void);
    /* World stopped, heap locks held, after the ordinary roots: mark the
     * client's own roots (registered ranges, blocks with a reference
     * count above zero). No allocation, no locks. */
    void (*roots)(void (*mark_range)(uintptr_t lo, uintptr_t hi), void (*mark_block)(uintptr_t p));
    /* World stopped, marking done, before the sweep: for each block the
     * client tracks (finalizers, weak references), is_marked(p) says
     * whether it survives; keep(p) marks p and everything it reaches (a
     * block whose finalizer is due stays intact until it has run). */
    void (*before_sweep)(int (*is_marked)(uintptr_t p), void (*keep)(uintptr_t p));
    /* World resumed, every lock released, in the collecting thread: run
     * due finalizers, RECLAIM_EVENT_END callbacks. May allocate. */
    void (*end)(const struct gc_stats *stats);
};

void gc_set_client(const struct gc_client *client);

#endif
