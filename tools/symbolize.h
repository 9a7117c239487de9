/* Turning (module path, offset) into function names and file:line, inlined
 * functions included, with libdw (elfutils) inside this process: no
 * subprocess per frame, one libdw session per module, and a cache of every
 * answer, since the same frames (main, the program's allocation wrappers)
 * recur in most stacks. */
#ifndef RECLAIM_TOOLS_SYMBOLIZE_H
#define RECLAIM_TOOLS_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct sym_line {
    const char *function;      /* NULL when unknown */
    const char *file;          /* NULL when unknown */
    unsigned line;             /* 0 when unknown */
};

/* What one return address stands for: lines[0] is the innermost function
 * (an inlined one if the call was inlined), lines[n-1] the function the
 * code really belongs to. n >= 1. */
struct sym_result {
    size_t n;
    struct sym_line lines[];
};

/* module: the path of an ELF file (executable or shared library) as it is
 * on disk now; offset: the ELF virtual address of the call (return address
 * - 1 - load bias), as the library records it. Never returns NULL: an
 * unknown location has one line with NULL function and file. The result
 * lives as long as the process. */
const struct sym_result *symbolize(const char *module, uint64_t offset);

#endif
