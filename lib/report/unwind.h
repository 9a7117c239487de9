/* libunwind, loaded only when stacks are wanted. Linking it would map it
 * (and liblzma behind it) into every process the library is preloaded
 * into: over 100 KiB resident, with the libc pages their relocation
 * touches, that only leaks mode uses. So leaks mode dlopens it from the
 * constructor and calls it through these pointers.
 * The headers still come from libunwind-dev at build time, which keeps the
 * types, register numbers and symbol names those headers choose. */
#ifndef RECLAIM_REPORT_UNWIND_H
#define RECLAIM_REPORT_UNWIND_H

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* The prototypes are the headers' own, through typeof. */
struct unwind_api {
    __typeof__(unw_backtrace) *backtrace;
    int (*getcontext)(unw_context_t *uc);   /* a macro on some targets */
    __typeof__(unw_init_local) *init_local;
    __typeof__(unw_step) *step;
    __typeof__(unw_get_reg) *get_reg;
    __typeof__(unw_get_proc_info) *get_proc_info;
    __typeof__(unw_get_proc_name) *get_proc_name;
    __typeof__(unw_set_caching_policy) *set_caching_policy;
    unw_addr_space_t *local_addr_space;
};

/* Filled by unwind_load(); every pointer is valid once unwind_loaded is set. */
extern struct unwind_api unwind;
extern int unwind_loaded;

/* Loads libunwind (once). Never from inside malloc: dlopen takes the
 * loader's lock and allocates. Returns 0 when loaded; otherwise says why
 * on stderr, once, and returns -1. */
int unwind_load(void);

#endif
