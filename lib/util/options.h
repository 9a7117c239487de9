/* Every RECLAIM_* environment variable is parsed here and nowhere else.
 * Unknown names and bad values get a one-line warning, never silence. */
#ifndef RECLAIM_UTIL_OPTIONS_H
#define RECLAIM_UTIL_OPTIONS_H

#include <stddef.h>

enum reclaim_mode { MODE_COLLECT, MODE_LEAKS, MODE_OFF };
enum on_error { ON_ERROR_ABORT, ON_ERROR_WARN };

struct options {
    enum reclaim_mode mode;
    enum on_error on_error;
    unsigned growth_percent;   /* collect when allocation since last GC exceeds this % of live */
    size_t min_heap;           /* floor for the automatic trigger */
    size_t collect_every;      /* stress: collect after every N bytes (0 = off) */
    int stats;                 /* summary line at exit */
    /* Leak reports (leaks mode). */
    const char *report_path;   /* raw records to <path>.<pid>; "" = text on stderr */
    int exitcode;              /* _exit status when leaks are found (0: keep the program's) */
    int report_signal;         /* a report on this signal, the program running on (0: none) */
    int show_reachable;        /* list reachable blocks in the text report too */
};

/* The longest RECLAIM_REPORT_PATH, its terminating NUL included. */
#define OPTIONS_PATH_MAX 4096

extern struct options options;

/* Parses envp (NULL-terminated "NAME=value" strings). Safe to call from
 * inside malloc: no allocation, no stdio. Calling it again re-parses. */
void options_parse(char *const *envp);

/* "1K" -> 1024 etc. Returns 0 on success, -1 on a malformed value. */
int options_parse_size(const char *s, size_t *out);

#endif
