/* Roots: every place an unmodified program can keep a pointer. Recomputed
 * at each collection from /proc/self/maps, because mappings change:
 *   - the stack of every thread from its stack pointer (less, for a stopped
 *     thread, the 128-byte
 *     red zone) up to the end of its stack mapping, and its registers,
 *     vector registers included;
 *   - every other readable and writable mapping: data and bss of the
 *     executable and of each loaded library, static and dynamic TLS, the
 *     program's own anonymous private and shared mappings;
 * minus reclaim's own mappings (os_ranges()) and device mappings. Pages
 * never touched (neither present nor swapped) are skipped without being
 * made resident. Called by the collecting thread with the world stopped. */
#ifndef RECLAIM_GC_ROOTS_H
#define RECLAIM_GC_ROOTS_H

#include <stdint.h>

#include "stop.h"

enum root_kind {
    ROOT_STACK,     /* a thread's live stack */
    ROOT_REGS,      /* a stopped thread's saved registers */
    ROOT_MAPPING,   /* any other writable mapping (data, bss, TLS, anonymous, shared) */
    ROOT_EXTRA      /* ranges registered through the API */
};

/* [start, end) is a range of words to scan; `what` names it for reports
 * (a path, "[stack]", "thread 1234", ...) and stays valid during the call. */
typedef void (*root_fn)(uintptr_t start, uintptr_t end, enum root_kind kind,
                        const char *what, void *arg);

/* self_sp: where the collecting thread's live stack starts, scanned
 * exactly (it is running, so it has no red zone; a leak check passes the
 * frame that called exit()); its registers must already be spilled above
 * it by the caller. Returns 0, or -1 when the
 * roots could not be found (/proc/self/maps unreadable, e.g. no file
 * descriptor left, or no memory for the scratch buffers): nothing was
 * reported completely and the caller must not sweep. errno is preserved. */
int roots_enumerate(const struct world *w, uintptr_t self_sp, root_fn fn, void *arg);

/* How touched pages are told from never-touched ones: the PAGEMAP_SCAN
 * ioctl (Linux 6.7+), reading /proc/self/pagemap entries, or nothing (every
 * page of a private mapping is scanned). Shared mappings always use
 * mincore(). AUTO until the first enumeration chooses; forcing a method is
 * for tests (ROOTS_PAGES_AUTO lets it choose again). */
enum roots_pages { ROOTS_PAGES_AUTO, ROOTS_PAGES_SCAN, ROOTS_PAGES_READ, ROOTS_PAGES_ALL };
enum roots_pages roots_pages_method(void);
void roots_force_pages_method(enum roots_pages m);

#endif
