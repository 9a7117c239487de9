/* Allocation stacks, the report floor's face to the api floor: in leaks
 * mode every allocation entry point hands its new block to stack_note(),
 * which records the caller's stack once in a deduplicating table and tags
 * the block with the stack's id. The reading side serves the leak report:
 * each stack as (module, offset) frames, resolved when it was first seen so
 * that a library dlclose'd since is still named. */
#ifndef RECLAIM_REPORT_STACK_H
#define RECLAIM_REPORT_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "../util/compiler.h"

/* Frames kept per stack (innermost first), reclaim's own not counted. */
#define STACK_MAX_FRAMES 64

/* A block's tag: the stack id in the low bits, and in the high bits how
 * many of the block's usable bytes the program did not ask for ("slack"),
 * so that reports give requested sizes, as valgrind and LeakSanitizer do,
 * without a size table of their own. Slack that does not fit (a realloc
 * that shrank in place) is STACK_SLACK_UNKNOWN: report the usable size. */
#define STACK_ID_BITS        20
#define STACK_ID_MAX         ((1u << STACK_ID_BITS) - 1)
#define STACK_SLACK_UNKNOWN  ((1u << (32 - STACK_ID_BITS)) - 1)
#define STACK_TAG_ID(tag)    ((tag) & STACK_ID_MAX)
/* The id of blocks the library allocated itself, through the loader, when
 * it loaded libunwind: reachable from the loader's tables, never the
 * program's, so no report counts them. No stack in the table has it. */
#define STACK_ID_OWN         STACK_ID_MAX
#define STACK_TAG_SLACK(tag) ((tag) >> STACK_ID_BITS)

/* A resolved frame: module id (0: no module, the offset is the address)
 * in the top 16 bits, the offset from the module's load bias below. */
#define STACK_LOC_MODULE(loc) ((uint32_t)((loc) >> 48))
#define STACK_LOC_OFFSET(loc) ((loc) & ((UINT64_C(1) << 48) - 1))

extern int stack_enabled;

/* Leaks mode, from the constructor: loads libunwind, reserves the tables
 * and turns capture on. Returns -1 (capture stays off) when libunwind
 * cannot be loaded or memory cannot be reserved. */
int stack_init(void);

/* Records the program's stack for the block p of n requested bytes and
 * tags the block. caller is the return address of the exported entry
 * point the program called: the stack starts at that frame, and every
 * frame inside reclaim, however its calls were compiled, is left out.
 * Allocations made while capturing get STACK_ID_OWN. */
NOINLINE void stack_tag(void *p, size_t n, uintptr_t caller);

static ALWAYS_INLINE void stack_note_at(void *p, size_t n, uintptr_t caller)
{
    if (unlikely(stack_enabled) && p)
        stack_tag(p, n, caller);
}

/* In an exported entry point itself (not inlined elsewhere). */
#define stack_note(p, n) stack_note_at((p), (n), (uintptr_t)__builtin_return_address(0))

/* The calling thread's allocations get tag 0 while raised (the report's
 * own allocations are neither captured nor worth unwinding for). Returns
 * the previous setting, to restore. */
int stack_suspend(int on);

/* Reading side. Ids run from 1 to stack_count(); entries never change
 * once published, so they are read without a lock. */
uint32_t stack_count(void);
/* Frames of stack id (innermost first): resolved locations, and the
 * return addresses minus one as captured. Returns the number of frames. */
unsigned stack_frames(uint32_t id, const uint64_t **locs, const uintptr_t **pcs);

/* Modules: ids from 1 to stack_module_count(). */
uint32_t    stack_module_count(void);
const char *stack_module_path(uint32_t mid);
uintptr_t   stack_module_bias(uint32_t mid);

/* fork child: the tables' locks may have been held by a thread that is
 * gone; every update is published last, so a reset leaves them sound. */
void stack_fork_child(void);

#endif
