/* Start-up that cannot happen inside malloc: reading RECLAIM_* options,
 * resolving the next allocator, registering the fork handlers and arming
 * the collector (or, in leaks mode, stack capture and the exit report);
 * at exit, the RECLAIM_STATS line. The
 * heap itself initialises lazily on the first allocation, which may come
 * before any constructor runs. */
#include <pthread.h>
#include <unistd.h>

#include "../gc/collect.h"
#include "../heap/heap.h"
#include "../report/leaks.h"
#include "../report/stack.h"
#include "../util/options.h"
#include "api.h"
#include "foreign.h"

extern char **environ;

#ifdef __GLIBC__
/* What pthread_atfork does (LSB names it), called directly: glibc ships
 * pthread_atfork in libc_nonshared.a, so the linker copies it into our
 * own object, behind all our code, and calling it would fault in the cold
 * last pages of the text. */
extern void *__dso_handle;
extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
#define api_atfork(prepare, parent, child) \
    __register_atfork(prepare, parent, child, &__dso_handle)
#else
#define api_atfork pthread_atfork
#endif

/* Referenced from malloc.c so that a static link (libreclaim.a) pulls this
 * object, and with it the constructor, into every program that allocates. */
const int init_linked = 1;

/* The api lock sits between the collector's and the heap's, the order a
 * collection takes them in. */
static void fork_prepare(void) { gc_fork_prepare(); api_fork_prepare(); heap_lock_all(); }
static void fork_parent(void)  { heap_unlock_all(); api_fork_parent(); gc_fork_parent(); }
static void fork_child(void)
{
    heap_fork_child();
    api_fork_child();
    gc_fork_child();
    if (options.mode == MODE_LEAKS) {
        stack_fork_child();
        leakrep_fork_child();
    }
}

__attribute__((constructor(101))) static void reclaim_init(void)
{
    heap_init();
    options_parse(environ);
    foreign_resolve();
    api_atfork(fork_prepare, fork_parent, fork_child);
    api_init();
    gc_init();
    if (options.mode == MODE_LEAKS)
        leakrep_init();
}

__attribute__((destructor)) static void reclaim_fini(void)
{
    if (options.stats)
        gc_print_stats();
}

/* The shared library's DT_FINI (-Wl,-fini in Makefile.am) instead of the
 * linker's default _fini, which sits after all the text: calling it at
 * exit would fault in the cold last pages, counted in the process's peak
 * RSS. The destructor above does the work, linked statically or not. */
void api_dt_fini(void);
void api_dt_fini(void)
{
}
