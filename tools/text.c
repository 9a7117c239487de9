/* Writing the text report (see text.h). The shape follows LeakSanitizer's,
 * which people and scripts already know:
 *
 *   Direct leak of 1600000 bytes in 100000 blocks allocated from:
 *       #0 leak_many j_many.c:12 (j_many+0x1169)
 *
 * Inlined functions get a line of their own, with the address of the
 * instruction they were inlined at. */
#define _GNU_SOURCE
#include "text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static char *cwd;
static size_t cwd_len;

/* Source paths below the current directory are shown relative to it:
 * shorter, and still what an editor opened here wants. */
static const char *show_path(const char *file)
{
    if (!cwd) {
        cwd = getcwd(NULL, 0);
        cwd_len = cwd ? strlen(cwd) : 0;
    }
    if (cwd_len > 1 && !strncmp(file, cwd, cwd_len) && file[cwd_len] == '/')
        return file + cwd_len + 1;
    return file;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void write_frames(FILE *out, const struct leak *l)
{
    if (!l->nframes)
        fprintf(out, "    (no stack recorded)\n");
    for (size_t i = 0; i < l->nframes; i++) {
        const struct shown_frame *f = &l->frames[i];
        fprintf(out, "    #%zu %s", i, f->function ? f->function : "??");
        if (f->file) {
            fprintf(out, " %s", show_path(f->file));
            if (f->line)
                fprintf(out, ":%u", f->line);
        }
        fprintf(out, " (%s+0x%" PRIx64 ")\n", path_basename(f->module), f->offset);
    }
}

static void write_leak(FILE *out, const struct leak *l)
{
    static const char *const title[KIND_COUNT] = { "Direct leak of", "Indirect leak of",
                                                   "Still reachable:" };
    fprintf(out, "%s %" PRIu64 " %s in %" PRIu64 " %s allocated from:\n", title[l->kind],
            l->bytes, plural(l->bytes, "byte", "bytes"), l->blocks,
            plural(l->blocks, "block", "blocks"));
    write_frames(out, l);
    fputc('\n', out);
}

static void write_header(FILE *out, const struct report *r)
{
    const struct raw_block *b = r->raw;
    fprintf(out, "reclaim: process %ld", b->pid);
    if (b->ppid >= 0)
        fprintf(out, " (parent %ld)", b->ppid);
    fprintf(out, ": %s", *b->command ? b->command : *b->exe ? b->exe : "?");
    if (r->count > 1)
        fprintf(out, "; report %u of %u", r->index, r->count);
    if (b->time >= 0) {
        char when[64];
        time_t t = (time_t)b->time;
        struct tm tm;
        if (localtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm))
            fprintf(out, ", at %s", when);
    }
    fputc('\n', out);
    if (!b->complete)
        fprintf(out, "reclaim: (incomplete: the process stopped while writing this report)\n");
    fputc('\n', out);
}

/* "N bytes in N blocks", with singulars where they belong. */
static void amount(FILE *out, uint64_t bytes, uint64_t blocks)
{
    fprintf(out, "%" PRIu64 " %s in %" PRIu64 " %s", bytes, plural(bytes, "byte", "bytes"),
            blocks, plural(blocks, "block", "blocks"));
}

static void write_summary(FILE *out, const struct report *r)
{
    const struct totals *t = &r->shown;
    uint64_t blocks = t->blocks[KIND_DIRECT] + t->blocks[KIND_INDIRECT];
    uint64_t bytes = t->bytes[KIND_DIRECT] + t->bytes[KIND_INDIRECT];
    fprintf(out, "SUMMARY: reclaim: %" PRIu64 " %s leaked in %" PRIu64 " %s", bytes,
            plural(bytes, "byte", "bytes"), blocks, plural(blocks, "allocation", "allocations"));
    if (blocks) {
        fputs(" (direct: ", out);
        amount(out, t->bytes[KIND_DIRECT], t->blocks[KIND_DIRECT]);
        fputs(", indirect: ", out);
        amount(out, t->bytes[KIND_INDIRECT], t->blocks[KIND_INDIRECT]);
        fputc(')', out);
    }
    fputs("; ", out);
    amount(out, t->bytes[KIND_REACHABLE], t->blocks[KIND_REACHABLE]);
    fputs(" still reachable; ", out);
    amount(out, r->suppressed_bytes, r->suppressed_blocks);
    fputs(" suppressed.\n", out);
}

static void write_suppressions(FILE *out, const struct suppressions *supp)
{
    int any = 0;
    for (size_t i = 0; i < supp->n; i++) {
        const struct suppression *s = &supp->list[i];
        if (!s->hits)
            continue;
        if (!any)
            fprintf(out, "Suppressions used:\n  %8s %12s %10s  pattern\n", "leaks", "bytes",
                    "blocks");
        any = 1;
        fprintf(out, "  %8" PRIu64 " %12" PRIu64 " %10" PRIu64 "  leak:%s (%s:%u)\n", s->hits,
                s->bytes, s->blocks, s->pattern, s->file, s->line);
    }
    if (any)
        fputc('\n', out);
}

/* With several processes (a build, a shell script), the ones that leaked
 * nothing would bury the ones that did: they are counted, not shown. */
static int worth_showing(const struct analysis *a, const struct report *r, int show_reachable)
{
    if (a->nprocesses == 1 || report_has_leaks(r) || !r->raw->complete)
        return 1;
    return show_reachable && r->shown.blocks[KIND_REACHABLE];
}

void text_write(FILE *out, const struct analysis *a, const struct suppressions *supp,
                int show_reachable)
{
    unsigned hidden = 0;
    for (size_t i = 0; i < a->nreports; i++) {
        const struct report *r = &a->reports[i];
        if (!worth_showing(a, r, show_reachable)) {
            hidden += r->index == r->count;
            continue;
        }
        write_header(out, r);
        for (size_t k = 0; k < r->nleaks; k++) {
            const struct leak *l = &r->leaks[k];
            if (!l->suppressed_by && (l->kind != KIND_REACHABLE || show_reachable))
                write_leak(out, l);
        }
        write_summary(out, r);
        fputc('\n', out);
    }
    write_suppressions(out, supp);
    if (a->nprocesses > 1) {
        fprintf(out, "SUMMARY: reclaim: %" PRIu64 " %s leaked in %" PRIu64
                " %s in all %u processes; ", a->leaked_bytes, plural(a->leaked_bytes, "byte",
                "bytes"), a->leaked_blocks, plural(a->leaked_blocks, "allocation", "allocations"),
                a->nprocesses);
        amount(out, a->suppressed_bytes, a->suppressed_blocks);
        fputs(" suppressed", out);
        if (hidden)
            fprintf(out, " (%u %s without leaks not shown)", hidden,
                    plural(hidden, "process", "processes"));
        fputs(".\n", out);
    }
}
