/* Raw blocks -> reports (see analyze.h). */
#define _GNU_SOURCE
#include "analyze.h"

#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "symbolize.h"
#include "util.h"

/* A record reduced to the frames that are shown, before symbolization. */
struct pending {
    enum record_kind kind;
    uint64_t blocks, bytes;
    size_t nframes;
    struct frame_ref *frames;
};

/* reclaim's own frames (malloc and the stack capture) say nothing about
 * the program; the module is how they are recognised. */
static int is_own_module(const char *path)
{
    return !strncmp(path_basename(path), "libreclaim.", 11);
}

/* The library names the main executable as the dynamic loader does: by
 * an empty path (or, from dladdr, by argv[0], which may be relative to a
 * directory the program has since left). The process line's exe, from
 * /proc/self/exe, is the reliable path. */
static const char *resolve_module(const char *path, const char *exe)
{
    if (!*path)
        return *exe ? intern(exe) : path;
    if (path[0] != '/' && exe[0] == '/' && !strcmp(path_basename(path), path_basename(exe)))
        return intern(exe);
    return path;
}

static int cmp_frames(const struct frame_ref *a, size_t na, const struct frame_ref *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        if (a[i].module != b[i].module)
            return strcmp(a[i].module, b[i].module);
        if (a[i].offset != b[i].offset)
            return a[i].offset < b[i].offset ? -1 : 1;
    }
    return na < nb ? -1 : na > nb;
}

static int cmp_pending(const void *x, const void *y)
{
    const struct pending *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return cmp_frames(a->frames, a->nframes, b->frames, b->nframes);
}

/* The records of one block with reclaim's frames dropped and equal stacks
 * merged (two raw stacks can differ only inside reclaim). */
static size_t reduce(const struct raw_block *b, struct pending **out)
{
    struct pending *p = xcalloc(b->nrecords, sizeof *p);
    for (size_t i = 0; i < b->nrecords; i++) {
        const struct raw_record *r = &b->records[i];
        p[i] = (struct pending){ r->kind, r->blocks, r->bytes, 0,
                                 xcalloc(r->stack->nframes, sizeof(struct frame_ref)) };
        for (size_t f = 0; f < r->stack->nframes; f++) {
            struct frame_ref fr = r->stack->frames[f];
            if (is_own_module(fr.module))
                continue;
            fr.module = resolve_module(fr.module, b->exe);
            p[i].frames[p[i].nframes++] = fr;
        }
    }
    qsort(p, b->nrecords, sizeof *p, cmp_pending);
    size_t n = 0;
    for (size_t i = 0; i < b->nrecords; i++) {
        if (n && !cmp_pending(&p[n - 1], &p[i])) {
            p[n - 1].blocks += p[i].blocks;
            p[n - 1].bytes += p[i].bytes;
            free(p[i].frames);
        } else {
            p[n++] = p[i];
        }
    }
    *out = p;
    return n;
}

static void expand(struct leak *l, const struct pending *p)
{
    size_t cap = 0;
    for (size_t i = 0; i < p->nframes; i++) {
        const struct sym_result *s = symbolize(p->frames[i].module, p->frames[i].offset);
        xgrow(&l->frames, &cap, l->nframes + s->n, sizeof *l->frames);
        for (size_t k = 0; k < s->n; k++)
            l->frames[l->nframes++] = (struct shown_frame){
                .function = s->lines[k].function,
                .file = s->lines[k].file,
                .line = s->lines[k].line,
                .module = p->frames[i].module,
                .offset = p->frames[i].offset,
                .inlined = k + 1 < s->n,
            };
    }
}

static struct suppression *suppressed(struct suppressions *supp, const struct leak *l)
{
    for (size_t k = 0; k < supp->n; k++)
        for (size_t i = 0; i < l->nframes; i++) {
            const struct shown_frame *f = &l->frames[i];
            const char *pat = supp->list[k].pattern;
            if (supp_pattern_match(pat, f->function) || supp_pattern_match(pat, f->file) ||
                supp_pattern_match(pat, f->module))
                return &supp->list[k];
        }
    return NULL;
}

static int cmp_leak(const void *x, const void *y)
{
    const struct leak *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    for (size_t i = 0; i < a->nframes && i < b->nframes; i++) {
        int c = strcmp(a->frames[i].module, b->frames[i].module);
        if (c)
            return c;
        if (a->frames[i].offset != b->frames[i].offset)
            return a->frames[i].offset < b->frames[i].offset ? -1 : 1;
    }
    return a->nframes < b->nframes ? -1 : a->nframes > b->nframes;
}

static void analyze_block(struct report *r, struct suppressions *supp)
{
    const struct raw_block *b = r->raw;
    struct pending *p;
    size_t n = reduce(b, &p);
    struct totals sums = { 0 }, supp_sums = { 0 };
    r->leaks = xcalloc(n, sizeof *r->leaks);
    for (size_t i = 0; i < n; i++) {
        struct leak *l = &r->leaks[r->nleaks++];
        *l = (struct leak){ .kind = p[i].kind, .blocks = p[i].blocks, .bytes = p[i].bytes };
        expand(l, &p[i]);
        free(p[i].frames);
        struct suppression *s = l->kind != KIND_REACHABLE ? suppressed(supp, l) : NULL;
        if (s) {
            l->suppressed_by = s;
            /* Pattern statistics count each leak once: from the final
             * report, which the on-demand ones only anticipate. */
            if (r->index == r->count) {
                s->hits++;
                s->blocks += l->blocks;
                s->bytes += l->bytes;
            }
            supp_sums.blocks[l->kind] += l->blocks;
            supp_sums.bytes[l->kind] += l->bytes;
        } else {
            sums.blocks[l->kind] += l->blocks;
            sums.bytes[l->kind] += l->bytes;
        }
    }
    free(p);
    qsort(r->leaks, r->nleaks, sizeof *r->leaks, cmp_leak);

    /* The summary line counts every block even when the library wrote
     * fewer records; without one, the records are all there is. */
    for (int k = 0; k < KIND_COUNT; k++) {
        uint64_t blocks = sums.blocks[k], bytes = sums.bytes[k];
        if (b->has_summary) {
            uint64_t sb = b->summary.blocks[k], sy = b->summary.bytes[k];
            blocks = sb > supp_sums.blocks[k] ? sb - supp_sums.blocks[k] : 0;
            bytes = sy > supp_sums.bytes[k] ? sy - supp_sums.bytes[k] : 0;
        }
        r->shown.blocks[k] = blocks;
        r->shown.bytes[k] = bytes;
        if (k != KIND_REACHABLE) {
            r->suppressed_blocks += supp_sums.blocks[k];
            r->suppressed_bytes += supp_sums.bytes[k];
        }
    }
}

int report_has_leaks(const struct report *r)
{
    return r->shown.blocks[KIND_DIRECT] || r->shown.blocks[KIND_INDIRECT] ||
           r->shown.bytes[KIND_DIRECT] || r->shown.bytes[KIND_INDIRECT];
}

/* A run of consecutive blocks of one file written by one process image. */
struct group {
    size_t first, count, order;
    long pid;
    int is_first;
};

static int same_process(const struct raw_block *a, const struct raw_block *b)
{
    return a->source == b->source && a->pid == b->pid && !strcmp(a->exe, b->exe) &&
           !strcmp(a->command, b->command);
}

static int cmp_group(const void *x, const void *y)
{
    const struct group *a = x, *b = y;
    if (a->is_first != b->is_first)
        return a->is_first ? -1 : 1;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

void analyze(struct analysis *a, const struct raw_set *set, struct suppressions *supp,
             long first_pid)
{
    memset(a, 0, sizeof *a);
    struct group *g = xcalloc(set->nblocks, sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < set->nblocks; i++) {
        if (ng && same_process(set->blocks[g[ng - 1].first], set->blocks[i])) {
            g[ng - 1].count++;
            continue;
        }
        long pid = set->blocks[i]->pid;
        g[ng] = (struct group){ i, 1, ng, pid, first_pid > 0 && pid == first_pid };
        ng++;
    }
    qsort(g, ng, sizeof *g, cmp_group);

    a->reports = xcalloc(set->nblocks, sizeof *a->reports);
    a->nprocesses = (unsigned)ng;
    for (size_t k = 0; k < ng; k++)
        for (size_t j = 0; j < g[k].count; j++) {
            struct report *r = &a->reports[a->nreports++];
            r->raw = set->blocks[g[k].first + j];
            r->index = (unsigned)j + 1;
            r->count = (unsigned)g[k].count;
            analyze_block(r, supp);
            if (r->index != r->count)
                continue;       /* on-demand reports overlap the final one */
            a->leaked_blocks += r->shown.blocks[KIND_DIRECT] + r->shown.blocks[KIND_INDIRECT];
            a->leaked_bytes += r->shown.bytes[KIND_DIRECT] + r->shown.bytes[KIND_INDIRECT];
            a->suppressed_blocks += r->suppressed_blocks;
            a->suppressed_bytes += r->suppressed_bytes;
        }
    free(g);
}
