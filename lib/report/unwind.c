/* libunwind on demand (see unwind.h). The symbol names are the ones the
 * headers map unw_* to (UNW_LOCAL_ONLY picks the _UL<arch>_ family), so
 * they come from the same macros instead of being spelled out here. The
 * library is loaded RTLD_LOCAL: its exported _Unwind_* and backtrace stay
 * out of the program's symbol scope, as they would not if it were linked. */
#define _GNU_SOURCE
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>

#include "../util/log.h"

#ifndef UNWIND_SONAME
#define UNWIND_SONAME "libunwind.so.8"
#endif

#define UNWIND_STR2(x) #x
#define UNWIND_STR(x)  UNWIND_STR2(x)

struct unwind_api unwind;
int unwind_loaded;

#if defined(__aarch64__)
/* Inline assembly there, not a symbol of the library. */
static int getcontext_inline(unw_context_t *uc)
{
    return unw_getcontext(uc);
}
#endif

/* A symbol of lib; the first one missing is reported and sets *bad. */
static void *sym(void *lib, const char *name, int *bad)
{
    void *p = dlsym(lib, name);
    if (!p && !*bad) {
        log_line("leaks mode: %s has no %s; allocation stacks are not recorded",
                 UNWIND_SONAME, name);
        *bad = 1;
    }
    return p;
}

#define UNWIND_SYM(field, name) \
    (u.field = (__typeof__(u.field))sym(lib, UNWIND_STR(name), &bad))

int unwind_load(void)
{
    static int tried;
    if (unwind_loaded)
        return 0;
    if (tried)
        return -1;
    tried = 1;
    int saved = errno;
    /* Never unloaded: libunwind keeps per-thread caches, and this library
     * itself is -z nodelete. */
    void *lib = dlopen(UNWIND_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib) {
        const char *why = dlerror();
        log_line("leaks mode: cannot load %s (%s); allocation stacks are not recorded",
                 UNWIND_SONAME, why ? why : "unknown error");
        errno = saved;
        return -1;
    }
    struct unwind_api u;
    int bad = 0;
    UNWIND_SYM(backtrace, unw_backtrace);
    UNWIND_SYM(init_local, unw_init_local);
    UNWIND_SYM(step, unw_step);
    UNWIND_SYM(get_reg, unw_get_reg);
    UNWIND_SYM(get_proc_info, unw_get_proc_info);
    UNWIND_SYM(get_proc_name, unw_get_proc_name);
    UNWIND_SYM(set_caching_policy, unw_set_caching_policy);
    UNWIND_SYM(local_addr_space, unw_local_addr_space);
#if defined(__aarch64__)
    u.getcontext = getcontext_inline;
#else
    UNWIND_SYM(getcontext, unw_tdep_getcontext);
#endif
    errno = saved;
    if (bad)
        return -1;
    unwind = u;
    unwind_loaded = 1;
    return 0;
}
