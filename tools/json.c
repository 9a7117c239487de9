/* Writing JSON Lines (see json.h). Strings are escaped for JSON; bytes that
 * are not valid UTF-8 (a path is just bytes) become \u00XX so that every
 * line stays parseable. */
#include "json.h"

#include <inttypes.h>
#include <string.h>

static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    if (s[0] < 0x80) return 1;
    else if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2) n = 2;
    else if ((s[0] & 0xf0) == 0xe0) n = 3;
    else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4) n = 4;
    else return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static void put_string(FILE *out, const char *str)
{
    if (!str) {
        fputs("null", out);
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        size_t n = utf8_len(s);
        if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if (*s == '\n') {
            fputs("\\n", out);
        } else if (*s == '\t') {
            fputs("\\t", out);
        } else if (*s < 0x20 || n == 0) {
            fprintf(out, "\\u%04x", *s);
            n = 1;
        } else {
            fwrite(s, 1, n, out);
        }
        s += n ? n : 1;
    }
    fputc('"', out);
}

static void put_leaks(FILE *out, const struct report *r, int reachable)
{
    int first = 1;
    fputc('[', out);
    for (size_t i = 0; i < r->nleaks; i++) {
        const struct leak *l = &r->leaks[i];
        if (l->suppressed_by || (l->kind == KIND_REACHABLE) != reachable)
            continue;
        fprintf(out, "%s{\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64
                ",\"stack\":[", first ? "" : ",", kind_name(l->kind), l->bytes, l->blocks);
        first = 0;
        for (size_t k = 0; k < l->nframes; k++) {
            const struct shown_frame *f = &l->frames[k];
            fputs(k ? ",{\"function\":" : "{\"function\":", out);
            put_string(out, f->function);
            fputs(",\"file\":", out);
            put_string(out, f->file);
            if (f->line)
                fprintf(out, ",\"line\":%u", f->line);
            else
                fputs(",\"line\":null", out);
            fputs(",\"module\":", out);
            put_string(out, f->module);
            fprintf(out, ",\"offset\":\"0x%" PRIx64 "\",\"inlined\":%s}", f->offset,
                    f->inlined ? "true" : "false");
        }
        fputs("]}", out);
    }
    fputc(']', out);
}

void json_write(FILE *out, const struct analysis *a, int show_reachable)
{
    for (size_t i = 0; i < a->nreports; i++) {
        const struct report *r = &a->reports[i];
        const struct raw_block *b = r->raw;
        fprintf(out, "{\"pid\":%ld,\"ppid\":%ld,\"exe\":", b->pid, b->ppid);
        put_string(out, b->exe);
        fputs(",\"command\":", out);
        put_string(out, b->command);
        fprintf(out, ",\"report\":%u,\"reports\":%u,\"time\":", r->index, r->count);
        if (b->time >= 0)
            fprintf(out, "%.3f", b->time);
        else
            fputs("null", out);
        fprintf(out, ",\"complete\":%s,\"leaks\":", b->complete ? "true" : "false");
        put_leaks(out, r, 0);
        if (show_reachable) {
            fputs(",\"reachable\":", out);
            put_leaks(out, r, 1);
        }
        const struct totals *t = &r->shown;
        fprintf(out, ",\"summary\":{\"direct_blocks\":%" PRIu64 ",\"direct_bytes\":%" PRIu64
                ",\"indirect_blocks\":%" PRIu64 ",\"indirect_bytes\":%" PRIu64
                ",\"reachable_blocks\":%" PRIu64 ",\"reachable_bytes\":%" PRIu64
                ",\"suppressed_blocks\":%" PRIu64 ",\"suppressed_bytes\":%" PRIu64 "}}\n",
                t->blocks[KIND_DIRECT], t->bytes[KIND_DIRECT], t->blocks[KIND_INDIRECT],
                t->bytes[KIND_INDIRECT], t->blocks[KIND_REACHABLE], t->bytes[KIND_REACHABLE],
                r->suppressed_blocks, r->suppressed_bytes);
    }
}
