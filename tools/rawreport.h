/* The raw record files the library writes in leaks mode, one per process
 * ($RECLAIM_REPORT_PATH.<pid>), read back into memory. The library keeps
 * its side cheap: module paths and offsets only; everything readable is
 * made here, outside the program.
 *
 * A file holds one or more blocks (one per on-demand report, then the final
 * one), each:
 *
 *   reclaim-report 1
 *   process <pid> <ppid> <exe> <argv...>
 *   time <seconds since the epoch>                      (optional)
 *   module <id> <path>
 *   stack <id> <module id>:<hex offset> ...             (innermost first)
 *   record <direct|indirect|reachable> <stack id> <blocks> <bytes>
 *   summary direct_blocks=N direct_bytes=N ... reachable_bytes=N
 *   end
 *
 * Strings are percent-encoded (at least space, newline and '%'; an empty
 * string is "%00"). A frame's offset is the return address minus one minus
 * the module's load bias (dl_iterate_phdr's dlpi_addr): the ELF virtual
 * address of the call, as addr2line takes it. The main executable's
 * module path is empty (its dlpi_name); the process line names it. Module
 * and stack definitions carry over to later blocks of the same file, and a
 * redefinition replaces the earlier one, so both per-block and per-file
 * numbering work. Unknown line types are skipped, so that the library can
 * add lines without breaking an older tool. */
#ifndef RECLAIM_TOOLS_RAWREPORT_H
#define RECLAIM_TOOLS_RAWREPORT_H

#include <stddef.h>
#include <stdint.h>

enum record_kind { KIND_DIRECT, KIND_INDIRECT, KIND_REACHABLE, KIND_COUNT };

/* "direct", "indirect", "reachable". */
const char *kind_name(enum record_kind k);

struct frame_ref {
    const char *module;        /* interned path, as the library wrote it */
    uint64_t offset;           /* return address - 1 - the module's load bias
                                  (dlpi_addr): the call's ELF virtual address */
};

struct raw_stack {
    size_t nframes;
    struct frame_ref *frames;  /* innermost first */
};

struct raw_record {
    enum record_kind kind;
    const struct raw_stack *stack;
    uint64_t blocks, bytes;
};

struct totals {
    uint64_t blocks[KIND_COUNT], bytes[KIND_COUNT];
};

struct raw_block {
    const char *source;        /* the file it was read from */
    long pid, ppid;
    char *exe;                 /* decoded; "" if the line was missing */
    char *command;             /* argv joined by spaces, decoded */
    double time;               /* seconds since the epoch; < 0 when unknown */
    int complete;              /* its "end" line was seen */
    int has_summary;
    struct totals summary;
    size_t nrecords, cap;
    struct raw_record *records;
};

struct raw_set {
    size_t nblocks, cap;
    struct raw_block **blocks;
};

/* Appends every block of the file at path to set, in file order. Malformed
 * lines are reported (file:line) and skipped. Returns -1 if the file cannot
 * be opened or is not a report file at all, 0 otherwise. */
int raw_read_file(struct raw_set *set, const char *path);

/* Decodes %XX escapes in place; a '%' not followed by two hex digits stays. */
void percent_decode(char *s);

#endif
