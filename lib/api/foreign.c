/* Forwarding to the next allocator (glibc's) with dlsym(RTLD_NEXT). The
 * look-up happens in the constructor, never inside malloc: dlsym takes the
 * loader's lock and may allocate. A foreign pointer seen before that (or
 * when there is no next allocator) is left alone, which is always safe. */
#define _GNU_SOURCE
#include "foreign.h"

#include <dlfcn.h>

#include "../util/compiler.h"

static void (*next_free)(void *);
static size_t (*next_usable)(void *);

void foreign_resolve(void)
{
    void *f = dlsym(RTLD_NEXT, "free");
    void *u = dlsym(RTLD_NEXT, "malloc_usable_size");
    extern void free(void *);
    if (f != (void *)free)
        next_free = (void (*)(void *))f;
    next_usable = (size_t (*)(void *))u;
}

void foreign_free(void *p)
{
    if (next_free)
        next_free(p);
}

size_t foreign_usable_size(void *p)
{
    return next_usable ? next_usable(p) : 0;
}
