/* Suppressions in LeakSanitizer's format, so that existing files work:
 *
 *   # a comment
 *   leak:PATTERN
 *
 * PATTERN is matched against every frame's function name, source file and
 * module path; '*' matches any run of characters, '^' at the start and '$'
 * at the end anchor it, and without anchors it may match anywhere in the
 * name (as in LeakSanitizer: "leak:libfoo.so" matches any frame in
 * /usr/lib/libfoo.so.1). A leak matching any pattern is not shown, but is
 * counted in the summary, and each pattern counts what it matched. */
#ifndef RECLAIM_TOOLS_SUPPRESS_H
#define RECLAIM_TOOLS_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

struct suppression {
    char *pattern;             /* without "leak:" */
    const char *file;          /* where it was read, for messages */
    unsigned line;
    uint64_t hits, blocks, bytes;
};

struct suppressions {
    size_t n, cap;
    struct suppression *list;
};

/* Appends the patterns of the file at path. Returns -1 (after printing
 * file:line and why) for an unreadable file or a line that is neither a
 * comment nor "leak:PATTERN"; a mistyped suppression must not pass
 * silently. */
int supp_load(struct suppressions *s, const char *path);

/* Does pattern match s, with the rules above? An empty s never matches. */
int supp_pattern_match(const char *pattern, const char *s);

#endif
