/* Shared pieces of the leak-report tests. Each test is one program that is
 * its own driver: run plainly, it re-executes itself (/proc/self/exe) as a
 * child in leaks mode, with RECLAIM_REPORT_PATH pointing into a fresh
 * directory, waits for it, and checks the raw record file the library
 * wrote (exact block and byte counts per category) and, in a second run
 * without the path, the readable text on stderr (frames named). The child
 * runs the scenario named by its argument and exits.
 *
 * The checks read the library's output only: this is the library side of
 * `reclaim leaks`, with no tool in between. */
#ifndef RECLAIM_LEAKLIB_H
#define RECLAIM_LEAKLIB_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <reclaim.h>

#include "../common/check.h"

#define LEAKLIB_NOINLINE __attribute__((noinline))
#define LEAKLIB_UNUSED __attribute__((unused))

static long leaklib_last_pid;        /* of the last child run */
static void *volatile leaklib_sink LEAKLIB_UNUSED;

/* Overwrites the dead stack below the caller, so that what a returned
 * function left there cannot be what the test depends on. */
static LEAKLIB_UNUSED LEAKLIB_NOINLINE void leaklib_scrub(void)
{
    volatile char buf[32 * 1024];
    memset((char *)buf, 0, sizeof buf);
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* ---- the raw record file ---- */

enum { K_DIRECT, K_INDIRECT, K_REACHABLE };

struct lrecord {
    int kind;
    unsigned long stack;
    unsigned long long blocks, bytes;
};

struct lstack {
    unsigned long id;
    unsigned nframes;
    unsigned long module[64];
    unsigned long long offset[64];
};

struct lreport {
    int blocks_seen;                 /* "reclaim-report 1" lines */
    int ended;                       /* "end" lines */
    long pid;
    char exe[4096], modules[64][512];
    unsigned long module_ids[64];
    int nmodules;
    struct lstack stacks[256];
    int nstacks;
    struct lrecord rec[512];
    int nrec;
    int nrec_total[3];               /* records per kind, past the 512 kept too */
    unsigned long long sum[3][2];    /* [kind][blocks, bytes] from the summary line */
};

static void leaklib_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        unsigned v;
        if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Parses the last report block of the file (earlier ones are counted). */
static LEAKLIB_UNUSED int leaklib_parse(const char *path, struct lreport *r)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(r, 0, sizeof *r);
    char line[16384];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strcmp(line, "reclaim-report 1")) {
            int seen = r->blocks_seen, ended = r->ended;
            memset(r, 0, sizeof *r);
            r->blocks_seen = seen + 1;
            r->ended = ended;
        } else if (!strncmp(line, "process ", 8)) {
            long ppid;
            char exe[4096];
            if (sscanf(line + 8, "%ld %ld %4095s", &r->pid, &ppid, exe) == 3) {
                leaklib_decode(exe);
                snprintf(r->exe, sizeof r->exe, "%s", exe);
            }
        } else if (!strncmp(line, "module ", 7) && r->nmodules < 64) {
            char path[512];
            if (sscanf(line + 7, "%lu %511s", &r->module_ids[r->nmodules], path) == 2) {
                leaklib_decode(path);
                snprintf(r->modules[r->nmodules], sizeof r->modules[0], "%s", path);
                r->nmodules++;
            }
        } else if (!strncmp(line, "stack ", 6) && r->nstacks < 256) {
            struct lstack *s = &r->stacks[r->nstacks++];
            char *p = line + 6, *end;
            s->id = strtoul(p, &end, 10);
            s->nframes = 0;
            for (p = end; *p == ' ' && s->nframes < 64;) {
                s->module[s->nframes] = strtoul(p + 1, &end, 10);
                if (*end != ':')
                    break;
                s->offset[s->nframes++] = strtoull(end + 1, &end, 16);
                p = end;
            }
        } else if (!strncmp(line, "record ", 7) && r->nrec >= 512) {
            r->nrec_total[!strncmp(line + 7, "direct ", 7) ? K_DIRECT
                          : !strncmp(line + 7, "indirect ", 9) ? K_INDIRECT : K_REACHABLE]++;
        } else if (!strncmp(line, "record ", 7)) {
            struct lrecord *x = &r->rec[r->nrec];
            char kind[16];
            if (sscanf(line + 7, "%15s %lu %llu %llu", kind, &x->stack, &x->blocks, &x->bytes) == 4) {
                x->kind = !strcmp(kind, "direct") ? K_DIRECT : !strcmp(kind, "indirect") ? K_INDIRECT
                                                                                         : K_REACHABLE;
                r->nrec++;
                r->nrec_total[x->kind]++;
            }
        } else if (!strncmp(line, "summary ", 8)) {
            sscanf(line + 8, "direct_blocks=%llu direct_bytes=%llu indirect_blocks=%llu "
                             "indirect_bytes=%llu reachable_blocks=%llu reachable_bytes=%llu",
                   &r->sum[0][0], &r->sum[0][1], &r->sum[1][0], &r->sum[1][1], &r->sum[2][0],
                   &r->sum[2][1]);
        } else if (!strcmp(line, "end")) {
            r->ended++;
        }
    }
    fclose(f);
    return 0;
}

static LEAKLIB_UNUSED const struct lstack *leaklib_stack(const struct lreport *r, unsigned long id)
{
    for (int i = 0; i < r->nstacks; i++)
        if (r->stacks[i].id == id)
            return &r->stacks[i];
    return NULL;
}

static LEAKLIB_UNUSED const char *leaklib_module(const struct lreport *r, unsigned long id)
{
    for (int i = 0; i < r->nmodules; i++)
        if (r->module_ids[i] == id)
            return r->modules[i];
    return "?";
}

/* The n-th record of a kind (largest first, as the library sorts them). */
static LEAKLIB_UNUSED const struct lrecord *leaklib_record(const struct lreport *r, int kind, int n)
{
    for (int i = 0; i < r->nrec; i++)
        if (r->rec[i].kind == kind && n-- == 0)
            return &r->rec[i];
    return NULL;
}

static int leaklib_bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uintptr_t *)data = info->dlpi_addr;   /* the first object is the program */
    return 1;
}

/* This program's load bias: what the library subtracts from a PC. */
static LEAKLIB_UNUSED uintptr_t leaklib_bias(void)
{
    uintptr_t bias = 0;
    dl_iterate_phdr(leaklib_bias_cb, &bias);
    return bias;
}

/* Checks the innermost frame of a record's stack is in this program (so
 * reclaim's own frames were dropped) and lies inside fn: the frame's
 * offset is compared with fn's, both relative to the same load bias. */
static LEAKLIB_UNUSED int leaklib_frame0_in(const struct lreport *r, const struct lrecord *x,
                                            void *fn, size_t fn_max)
{
    const struct lstack *s = x ? leaklib_stack(r, x->stack) : NULL;
    if (!s || !s->nframes)
        return 0;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    if (strcmp(leaklib_module(r, s->module[0]), self))
        return 0;
    uintptr_t f = (uintptr_t)fn - leaklib_bias();
    return s->offset[0] >= f && s->offset[0] < f + fn_max;
}

/* ---- running the child ---- */

static char leaklib_dir[256];

static void leaklib_cleanup(void)
{
    if (!leaklib_dir[0])
        return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", leaklib_dir);
    if (system(cmd)) {
        /* nothing more to do about a temporary directory */
    }
}

/* Runs this program as a leaks-mode child with argument arg and the
 * extra environment (NULL-terminated "NAME=value" list); returns the raw
 * wait status. With text set, no report path: stderr goes to text_path. */
static LEAKLIB_UNUSED int leaklib_child(const char *arg, const char *const *env, int text)
{
    if (!leaklib_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(leaklib_dir, sizeof leaklib_dir, "%s/leaklib.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(leaklib_dir))
            check_fail("mkdtemp: %s", strerror(errno));
        atexit(leaklib_cleanup);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        check_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        char path[512];
        setenv("LEAKLIB_CHILD", "1", 1);
        setenv("RECLAIM_MODE", "leaks", 1);
        unsetenv("RECLAIM_EXITCODE");
        unsetenv("RECLAIM_COLLECT_EVERY");
        if (text) {
            unsetenv("RECLAIM_REPORT_PATH");
            snprintf(path, sizeof path, "%s/text", leaklib_dir);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 2) < 0)
                _exit(126);
            close(fd);
        } else {
            snprintf(path, sizeof path, "%s/r", leaklib_dir);
            setenv("RECLAIM_REPORT_PATH", path, 1);
        }
        for (; env && *env; env++)
            putenv((char *)*env);
        char *argv[] = { (char *)"leaklib-child", (char *)arg, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            check_fail("waitpid: %s", strerror(errno));
    leaklib_last_pid = pid;
    return st;
}

/* The raw file of process pid. */
static LEAKLIB_UNUSED int leaklib_report_of(long pid, struct lreport *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/r.%ld", leaklib_dir, pid);
    return leaklib_parse(path, r);
}

/* The whole text the last text-mode child wrote on stderr. */
static LEAKLIB_UNUSED char *leaklib_text(void)
{
    static char buf[1 << 20];
    char path[512];
    snprintf(path, sizeof path, "%s/text", leaklib_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Does the text hold `header` immediately followed by a frame #0 "in fn "? */
static LEAKLIB_UNUSED int leaklib_text_has(const char *text, const char *header, const char *fn)
{
    char want[256];
    snprintf(want, sizeof want, " in %s (", fn);
    for (const char *p = text; text && (p = strstr(p, header)); p++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return 0;
        const char *end = strchr(nl + 1, '\n');
        if (!end)
            end = nl + strlen(nl);
        const char *hit = strstr(nl + 1, want);
        if (hit && hit < end && strstr(nl + 1, "#0 ") < end)
            return 1;
    }
    return 0;
}

static LEAKLIB_UNUSED int leaklib_is_child(void)
{
    /* A reference the linker sees, so that libreclaim stays a needed
     * library even where the compiler folded every malloc away. */
    static void *(*volatile keep)(const void *) = reclaim_block_start;
    (void)keep;
    return getenv("LEAKLIB_CHILD") != NULL;
}

#endif
