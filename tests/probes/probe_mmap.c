/* Probe: mappings the program made itself. The only pointers sit in the
 * middle of a large anonymous private mapping (mostly untouched), an
 * anonymous shared mapping (MAP_SHARED | MAP_ANONYMOUS), and a shared
 * mapping of a temporary file. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "probe.h"

#define SIZE (32u << 20)
#define OFFSET (13u << 20)    /* far from the start: not in a touched first page */

static void *map(int flags, int fd, const char *what)
{
    void *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (m == MAP_FAILED)
        check_fail("mmap (%s): %s", what, strerror(errno));
    return m;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    char *priv = map(MAP_PRIVATE | MAP_ANONYMOUS, -1, "anonymous private");
    char *shared = map(MAP_SHARED | MAP_ANONYMOUS, -1, "anonymous shared");
    FILE *f = tmpfile();
    if (!f || ftruncate(fileno(f), SIZE))
        check_fail("temporary file: %s", strerror(errno));
    char *file = map(MAP_SHARED, fileno(f), "file-backed shared");

    void **ps = (void **)(priv + OFFSET), **ss = (void **)(shared + OFFSET);
    void **fs = (void **)(file + OFFSET);
    probe_make(ps, PROBE_BLOCKS, 0);
    probe_make(ss, PROBE_BLOCKS, 100);
    probe_make(fs, PROBE_BLOCKS, 200);
    /* and one block across a page boundary of each, split over two pages */
    probe_make((void **)(priv + OFFSET + (1u << 20) - 8), 2, 300);
    probe_make((void **)(shared + OFFSET + (1u << 20) - 8), 2, 302);

    probe_churn("program mappings");
    probe_report(ps, PROBE_BLOCKS, 0, "anonymous private mmap (32 MiB, pointers 13 MiB in)");
    probe_report(ss, PROBE_BLOCKS, 100, "anonymous shared mmap (MAP_SHARED | MAP_ANONYMOUS)");
    probe_report(fs, PROBE_BLOCKS, 200, "file-backed shared mmap (tmpfile)");
    probe_report((void **)(priv + OFFSET + (1u << 20) - 8), 2, 300,
                 "anonymous private mmap, pointers straddling a page boundary");
    probe_report((void **)(shared + OFFSET + (1u << 20) - 8), 2, 302,
                 "anonymous shared mmap, pointers straddling a page boundary");
    fclose(f);
    return check_finish("probe_mmap");
}
