/* Reading raw record files (format in rawreport.h). The parser is lenient
 * where leniency keeps information (a block cut short by a killed process
 * is still shown) and loud where it would hide it (every malformed line is
 * reported with its file and line number). */
#define _GNU_SOURCE
#include "rawreport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "intern.h"
#include "util.h"

/* Past this many complaints about one file, only a count is printed. */
#define MAX_COMPLAINTS 10

struct parser {
    const char *path;
    unsigned long lineno;
    unsigned complaints;
    struct raw_set *set;
    struct raw_block *block;   /* open block, or NULL between blocks */
    struct idmap modules;      /* id -> interned path */
    struct idmap stacks;       /* id -> struct raw_stack */
};

const char *kind_name(enum record_kind k)
{
    static const char *const names[KIND_COUNT] = { "direct", "indirect", "reachable" };
    return k < KIND_COUNT ? names[k] : "?";
}

/* what says what is wrong and, unless the line is skipped, what was
 * done with it instead. */
static void complain(struct parser *p, const char *what)
{
    if (++p->complaints <= MAX_COMPLAINTS)
        warn("%s:%lu: %s", p->path, p->lineno, what);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void percent_decode(char *s)
{
    char *out = s;
    for (; *s; s++) {
        int hi, lo;
        if (*s == '%' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Splits off the next space-separated field of *line (NULL at the end). */
static char *field(char **line)
{
    char *s = *line;
    if (!s || !*s)
        return NULL;
    char *sp = strchr(s, ' ');
    if (sp) {
        *sp = '\0';
        *line = sp + 1;
    } else {
        *line = s + strlen(s);
    }
    return s;
}

static int parse_u64(const char *s, int base, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static struct raw_block *open_block(struct parser *p)
{
    struct raw_block *b = xcalloc(1, sizeof *b);
    b->source = p->path;
    b->pid = b->ppid = -1;
    b->exe = xstrdup("");
    b->command = xstrdup("");
    b->time = -1;
    struct raw_set *set = p->set;
    xgrow(&set->blocks, &set->cap, set->nblocks + 1, sizeof *set->blocks);
    set->blocks[set->nblocks++] = b;
    return b;
}

static void line_header(struct parser *p, char *rest)
{
    if (p->block && !p->block->complete)
        warn("%s: a report block of pid %ld ends without its 'end' line (the process was "
             "interrupted while writing it?); showing what it holds", p->path, p->block->pid);
    char *version = field(&rest);
    if (!version || strcmp(version, "1")) {
        complain(p, "unsupported report version (this tool reads version 1); line skipped");
        p->block = NULL;
        return;
    }
    p->block = open_block(p);
}

static void line_process(struct parser *p, char *rest)
{
    uint64_t pid, ppid;
    char *exe;
    if (parse_u64(field(&rest), 10, &pid) || parse_u64(field(&rest), 10, &ppid) ||
        !(exe = field(&rest))) {
        complain(p, "malformed 'process' line; line skipped");
        return;
    }
    struct raw_block *b = p->block;
    b->pid = (long)pid;
    b->ppid = (long)ppid;
    free(b->exe);
    free(b->command);
    b->exe = xstrdup(exe);
    percent_decode(b->exe);
    /* The rest is argv: encoded as one field or as one field per argument,
     * either way decoding the remainder gives the command line. */
    b->command = xstrdup(rest);
    percent_decode(b->command);
}

static void line_time(struct parser *p, char *rest)
{
    char *s = field(&rest), *end;
    double t = s ? strtod(s, &end) : -1;
    if (!s || *end || t < 0) {
        complain(p, "malformed 'time' line; line skipped");
        return;
    }
    p->block->time = t;
}

static void line_module(struct parser *p, char *rest)
{
    uint64_t id;
    if (parse_u64(field(&rest), 10, &id) || !*rest) {
        complain(p, "malformed 'module' line; line skipped");
        return;
    }
    percent_decode(rest);
    idmap_put(&p->modules, id, (void *)intern(rest));
}

static void line_stack(struct parser *p, char *rest)
{
    uint64_t id;
    if (parse_u64(field(&rest), 10, &id)) {
        complain(p, "malformed 'stack' line; line skipped");
        return;
    }
    struct raw_stack *s = xcalloc(1, sizeof *s);
    size_t cap = 0;
    for (char *f; (f = field(&rest));) {
        char *colon = strchr(f, ':');
        uint64_t mod, off;
        if (!colon) {
            complain(p, "malformed frame in 'stack' line (expected MODULE:OFFSET); line skipped");
            goto bad;
        }
        *colon = '\0';
        if (parse_u64(f, 10, &mod) || parse_u64(colon + 1, 16, &off)) {
            complain(p, "malformed frame in 'stack' line (expected MODULE:OFFSET); line skipped");
            goto bad;
        }
        const char *path = idmap_get(&p->modules, mod);
        if (!path) {
            complain(p, "'stack' line names a module that no 'module' line defined; line skipped");
            goto bad;
        }
        xgrow(&s->frames, &cap, s->nframes + 1, sizeof *s->frames);
        s->frames[s->nframes++] = (struct frame_ref){ path, off };
    }
    idmap_put(&p->stacks, id, s);
    return;
bad:
    free(s->frames);
    free(s);
}

static int parse_kind(const char *s, enum record_kind *k)
{
    for (int i = 0; i < KIND_COUNT; i++)
        if (s && !strcmp(s, kind_name(i))) {
            *k = i;
            return 0;
        }
    return -1;
}

static void line_record(struct parser *p, char *rest)
{
    enum record_kind kind;
    uint64_t id, blocks, bytes;
    if (parse_kind(field(&rest), &kind) || parse_u64(field(&rest), 10, &id) ||
        parse_u64(field(&rest), 10, &blocks) || parse_u64(field(&rest), 10, &bytes)) {
        complain(p, "malformed 'record' line; line skipped");
        return;
    }
    const struct raw_stack *stack = idmap_get(&p->stacks, id);
    if (!stack) {
        /* Still count it: the bytes are real even if the stack is lost. */
        complain(p, "'record' line names a stack that no 'stack' line defined; counted "
                    "with no stack");
        static const struct raw_stack empty;
        stack = &empty;
    }
    struct raw_block *b = p->block;
    xgrow(&b->records, &b->cap, b->nrecords + 1, sizeof *b->records);
    b->records[b->nrecords++] = (struct raw_record){ kind, stack, blocks, bytes };
}

static void line_summary(struct parser *p, char *rest)
{
    struct totals t = { 0 };
    for (char *f; (f = field(&rest));) {
        char *eq = strchr(f, '=');
        uint64_t v;
        if (!eq || parse_u64(eq + 1, 10, &v)) {
            complain(p, "malformed 'summary' line; line skipped");
            return;
        }
        *eq = '\0';
        char *us = strrchr(f, '_');
        enum record_kind k;
        if (!us)
            continue;
        *us = '\0';
        if (parse_kind(f, &k))
            continue;   /* a counter this tool does not know yet */
        if (!strcmp(us + 1, "blocks"))
            t.blocks[k] = v;
        else if (!strcmp(us + 1, "bytes"))
            t.bytes[k] = v;
    }
    p->block->summary = t;
    p->block->has_summary = 1;
}

static void parse_line(struct parser *p, char *line)
{
    char *rest = line;
    char *kw = field(&rest);
    if (!kw)
        return;                     /* blank line */
    if (!strcmp(kw, "reclaim-report")) {
        line_header(p, rest);
        return;
    }
    if (!p->block) {
        complain(p, "line outside a report block; line skipped");
        return;
    }
    if (!strcmp(kw, "process")) line_process(p, rest);
    else if (!strcmp(kw, "time")) line_time(p, rest);
    else if (!strcmp(kw, "module")) line_module(p, rest);
    else if (!strcmp(kw, "stack")) line_stack(p, rest);
    else if (!strcmp(kw, "record")) line_record(p, rest);
    else if (!strcmp(kw, "summary")) line_summary(p, rest);
    else if (!strcmp(kw, "end")) {
        p->block->complete = 1;
        p->block = NULL;
    }
    /* Anything else is a line type from a newer library: skipped. */
}

int raw_read_file(struct raw_set *set, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        warn("%s: %s", path, strerror(errno));
        return -1;
    }
    struct parser p = { .path = intern(path), .set = set };
    size_t before = set->nblocks;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        p.lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (p.lineno == 1 && strncmp(line, "reclaim-report ", 15)) {
            warn("%s: not a reclaim report file (it does not start with 'reclaim-report')", path);
            free(line);
            fclose(f);
            return -1;
        }
        parse_line(&p, line);
    }
    free(line);
    int err = ferror(f);
    fclose(f);
    if (err)
        warn("%s: read error; using what was read", path);
    if (p.block && !p.block->complete)
        warn("%s: the last report block (pid %ld) ends without its 'end' line (the process "
             "was interrupted while writing it?); showing what it holds", path, p.block->pid);
    if (p.complaints > MAX_COMPLAINTS)
        warn("%s: %u malformed lines in all", path, p.complaints);
    if (set->nblocks == before && p.lineno > 0)
        warn("%s: no usable report block", path);
    /* Stacks stay alive (records point at them); only the id maps go. */
    idmap_free(&p.modules);
    idmap_free(&p.stacks);
    return 0;
}
