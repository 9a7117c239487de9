/* The program the tool is asked to run: found through PATH as execvp would,
 * and checked for dynamic linking, since LD_PRELOAD cannot reach a
 * statically linked program and running it "checked" would be a lie. */
#ifndef RECLAIM_TOOLS_PROG_H
#define RECLAIM_TOOLS_PROG_H

/* The path execvp would run for name (name itself when it contains a '/'),
 * malloc'd; or NULL with errno ENOENT (nowhere) or EACCES (found, but not
 * executable). */
char *prog_resolve(const char *name);

enum link_kind {
    LINK_DYNAMIC,              /* has an ELF interpreter: LD_PRELOAD works */
    LINK_STATIC,               /* no interpreter (static or static-pie) */
    LINK_UNKNOWN,              /* not an ELF file we can read; let exec decide */
};

/* For "#!" scripts, the interpreter is what gets loaded, so it is the one
 * examined. */
enum link_kind prog_link_kind(const char *path);

#endif
