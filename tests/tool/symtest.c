/* tests/tool: the symbolizer's test subject. It captures its own stacks and
 * writes them as a raw report exactly as the library records frames
 * (module path from the link map, offset = return address - 1 - load
 * bias), so that symbolization is tested without the library: in a PIE and
 * a non-PIE build of this same file, through a function inlined into
 * another, and in a shared library that is dlclose'd before the report is
 * written.
 *
 *   symtest REPORT LIBSYMLIB.so
 *
 * On stdout, the expected frames of each record, innermost first, one
 * record a line: "KIND BLOCKS BYTES function:line function:line ...". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symtest.h"

#define MAX_FRAMES 64
#define BARRIER() __asm__ volatile("" ::: "memory")   /* no tail call before it */

struct frame { const char *module; unsigned long offset; };

struct rec {
    const char *kind;
    int blocks, bytes;
    int n;
    struct frame frames[MAX_FRAMES];
    char expect[512];
};

static struct rec recs[3];

/* What the library's stack capture does: drop the capturing frames, and
 * resolve each return address - 1 while its module is still loaded. */
__attribute__((noinline)) static void capture(struct rec *r, const char *fmt, ...)
{
    void *pcs[MAX_FRAMES];
    int n = backtrace(pcs, MAX_FRAMES);
    for (int i = 1; i < n; i++) {   /* pcs[0] is inside capture itself */
        Dl_info info;
        struct link_map *lm;
        uintptr_t pc = (uintptr_t)pcs[i] - 1;
        if (!dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
            continue;
        r->frames[r->n++] = (struct frame){ strdup(lm->l_name), pc - lm->l_addr };
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->expect, sizeof r->expect, fmt, ap);
    va_end(ap);
    BARRIER();
}

static inline __attribute__((always_inline)) void helper_inline(struct rec *r, int outer, int m)
{
    capture(r, "helper_inline:%d leak_outer:%d main:%d", __LINE__, outer, m);
    BARRIER();
}

__attribute__((noinline)) void leak_outer(struct rec *r, int m)
{
    helper_inline(r, __LINE__, m);
    BARRIER();
}

static void put_encoded(FILE *f, const char *s)
{
    if (!*s)
        fputs("%00", f);
    for (; *s; s++)
        if (*s <= ' ' || *s == '%')
            fprintf(f, "%%%02X", (unsigned char)*s);
        else
            fputc(*s, f);
}

static void write_report(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    fprintf(f, "reclaim-report 1\nprocess %d %d ", (int)getpid(), (int)getppid());
    put_encoded(f, exe);
    fputs(" symtest\n", f);
    const char *mods[16];
    int nmods = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < recs[r].n; i++) {
            int m = 0;
            while (m < nmods && strcmp(mods[m], recs[r].frames[i].module))
                m++;
            if (m == nmods && nmods < 16) {
                mods[nmods++] = recs[r].frames[i].module;
                fprintf(f, "module %d ", m + 1);
                put_encoded(f, mods[m]);
                fputc('\n', f);
            }
        }
    int tb[3] = { 0 }, ty[3] = { 0 };
    for (int r = 0; r < 3; r++) {
        fprintf(f, "stack %d", r + 1);
        for (int i = 0; i < recs[r].n; i++) {
            int m = 0;
            while (m < nmods && strcmp(mods[m], recs[r].frames[i].module))
                m++;
            fprintf(f, " %d:%lx", m + 1, recs[r].frames[i].offset);
        }
        fputc('\n', f);
        int k = !strcmp(recs[r].kind, "direct") ? 0 : !strcmp(recs[r].kind, "indirect") ? 1 : 2;
        tb[k] += recs[r].blocks;
        ty[k] += recs[r].bytes;
    }
    for (int r = 0; r < 3; r++)
        fprintf(f, "record %s %d %d %d\n", recs[r].kind, r + 1, recs[r].blocks, recs[r].bytes);
    fprintf(f, "summary direct_blocks=%d direct_bytes=%d indirect_blocks=%d indirect_bytes=%d "
               "reachable_blocks=%d reachable_bytes=%d\nend\n",
            tb[0], ty[0], tb[1], ty[1], tb[2], ty[2]);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: symtest REPORT LIBSYMLIB.so\n");
        return 2;
    }
    recs[0] = (struct rec){ .kind = "direct", .blocks = 3, .bytes = 48 };
    leak_outer(&recs[0], __LINE__);

    void *lib = dlopen(argv[2], RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "symtest: %s\n", dlerror());
        return 1;
    }
    lib_leak_fn *lib_leak = (lib_leak_fn *)dlsym(lib, "lib_leak");
    recs[1] = (struct rec){ .kind = "indirect", .blocks = 1, .bytes = 100 };
    lib_leak(capture, &recs[1], __LINE__);
    dlclose(lib);   /* gone before the report, as in the test corpus */

    recs[2] = (struct rec){ .kind = "reachable", .blocks = 2, .bytes = 32 };
    capture(&recs[2], "main:%d", __LINE__);

    write_report(argv[1]);
    for (int r = 0; r < 3; r++)
        printf("%s %d %d %s\n", recs[r].kind, recs[r].blocks, recs[r].bytes, recs[r].expect);
    return 0;
}
