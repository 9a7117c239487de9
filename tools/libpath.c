/* Finding libreclaim.so (see libpath.h). The build tree comes first, so
 * that a freshly built tool never preloads an older installed library. */
#define _GNU_SOURCE
#include "libpath.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#ifndef RECLAIM_INSTALLED_LIBRARY
#error "the Makefile defines RECLAIM_INSTALLED_LIBRARY as $(libdir)/libreclaim.so"
#endif

/* The build-tree library relative to the running executable, which is
 * tools/reclaim, or tools/.libs/reclaim if libtool ever wraps it. */
static char *build_tree_library(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    if (!strcmp(path_basename(self), ".libs"))
        *strrchr(self, '/') = '\0';
    char *la = xasprintf("%s/../lib/libreclaim.la", self);
    char *so = xasprintf("%s/../lib/.libs/libreclaim.so", self);
    int found = !access(la, F_OK) && !access(so, R_OK);
    free(la);
    if (!found) {
        free(so);
        return NULL;
    }
    return so;
}

static char *usable(const char *path)
{
    char *abs = realpath(path, NULL);
    if (!abs) {
        warn("%s: %s", path, strerror(errno));
        return NULL;
    }
    /* The dynamic loader splits LD_PRELOAD at spaces and colons. */
    if (strpbrk(abs, " :")) {
        warn("%s: LD_PRELOAD cannot name a path with a space or a colon; "
             "copy or link the library elsewhere and use --library", abs);
        free(abs);
        return NULL;
    }
    return abs;
}

char *find_library(const char *explicit)
{
    if (explicit)
        return usable(explicit);
    char *lib = build_tree_library();
    if (lib) {
        char *abs = usable(lib);
        free(lib);
        return abs;
    }
    if (!access(RECLAIM_INSTALLED_LIBRARY, R_OK))
        return usable(RECLAIM_INSTALLED_LIBRARY);
    warn("cannot find libreclaim.so: not in a build tree beside this program, and not "
         "installed as %s; name it with --library FILE", RECLAIM_INSTALLED_LIBRARY);
    return NULL;
}
