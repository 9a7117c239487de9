/* Writing a leak check's result: the raw records the reclaim tool reads
 * (module path + offset per frame; the tool symbolizes) and the readable
 * text a program run without the tool gets on stderr. Plain write(2)
 * through a small buffer, scratch memory from os_map, never the heap:
 * the same code serves the exit hook, the signal thread and the API. */
#define _GNU_SOURCE
#include "write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../heap/os.h"
#include "../util/log.h"
#include "stack.h"
#include "symbols.h"

struct out {
    int fd, err;
    size_t n;
    char buf[8192];
};

static void out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->n && !o->err) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            o->err = 1;
        else
            off += (size_t)w;
    }
    o->n = 0;
}

static void out_mem(struct out *o, const char *s, size_t n)
{
    while (n) {
        if (o->n == sizeof o->buf)
            out_flush(o);
        size_t k = sizeof o->buf - o->n < n ? sizeof o->buf - o->n : n;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
    }
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void out_fmt(struct out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = log_vformat(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    out_mem(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
}

/* One percent-encoded byte: the raw format separates fields by spaces
 * and records by newlines, so those (every control byte, in fact) and
 * '%' itself are escaped. */
static void out_enc_byte(struct out *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    if (c <= ' ' || c == '%' || c == 0x7f) {
        char e[3] = { '%', hex[c >> 4], hex[c & 15] };
        out_mem(o, e, 3);
    } else {
        out_mem(o, (const char *)&c, 1);
    }
}

static void out_enc(struct out *o, const char *s)
{
    if (!*s)
        out_str(o, "%00");   /* never an empty field */
    for (; *s; s++)
        out_enc_byte(o, (unsigned char)*s);
}

static const char *basename_of(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static void exe_path(char *buf, size_t len)
{
    int saved = errno;
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    errno = saved;
    buf[n > 0 ? n : 0] = '\0';
}

/* argv as the kernel has it (/proc/self/cmdline), one encoded field per
 * argument: the tool decodes the rest of the line into the command. */
static void out_cmdline(struct out *o, const char *exe)
{
    int saved = errno;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    int any = 0, sep = 0;
    if (fd >= 0) {
        char chunk[1024];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
            for (ssize_t i = 0; i < n; i++) {
                if (!chunk[i]) {
                    sep = any;
                    continue;
                }
                if (sep)
                    out_mem(o, " ", 1);
                sep = 0;
                any = 1;
                out_enc_byte(o, (unsigned char)chunk[i]);
            }
        }
        close(fd);
    }
    errno = saved;
    if (!any)
        out_enc(o, exe);
}

/* ---- raw records ---- */

/* Scratch bitmaps: which stacks and modules the records reference. */
struct marks {
    uint64_t *stacks, *modules;
    size_t nstacks, nmodules, bytes;
};

static int marks_get(struct marks *m)
{
    m->nstacks = (size_t)stack_count() + 1;
    m->nmodules = (size_t)stack_module_count() + 1;
    m->bytes = ((m->nstacks + 63) / 64 + (m->nmodules + 63) / 64) * sizeof(uint64_t);
    m->stacks = os_map(m->bytes);
    if (!m->stacks)
        return -1;
    m->modules = m->stacks + (m->nstacks + 63) / 64;
    return 0;
}

static int bit_test(const uint64_t *b, size_t i) { return (int)(b[i / 64] >> (i % 64) & 1); }
static void bit_set(uint64_t *b, size_t i) { b[i / 64] |= 1ull << (i % 64); }
static void bit_clear(uint64_t *b, size_t i) { b[i / 64] &= ~(1ull << (i % 64)); }

static const char *kind_word(enum leak_kind k)
{
    return k == LEAK_DIRECT ? "direct" : k == LEAK_INDIRECT ? "indirect" : "reachable";
}

int leakrep_write_raw(int fd, const struct leakrep_result *r)
{
    struct marks m;
    if (marks_get(&m))
        return -1;
    struct out *o = os_map(sizeof *o);
    if (!o) {
        os_unmap(m.stacks, m.bytes);
        return -1;
    }
    o->fd = fd;

    char exe[4096];
    exe_path(exe, sizeof exe);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    out_str(o, "reclaim-report 1\n");
    out_fmt(o, "process %d %d ", (int)getpid(), (int)getppid());
    out_enc(o, exe);
    out_mem(o, " ", 1);
    out_cmdline(o, exe);
    long ms = now.tv_nsec / 1000000;   /* log_vformat has no zero padding */
    out_fmt(o, "\ntime %lld.%c%c%c\n", (long long)now.tv_sec, (char)('0' + ms / 100),
            (char)('0' + ms / 10 % 10), (char)('0' + ms % 10));

    /* Which stacks, then which modules, the records need. */
    for (size_t i = 0; i < r->nrec; i++) {
        uint32_t id = r->rec[i].stack;
        if (id >= m.nstacks || bit_test(m.stacks, id))
            continue;
        bit_set(m.stacks, id);
        const uint64_t *locs;
        unsigned n = stack_frames(id, &locs, NULL);
        for (unsigned k = 0; k < n; k++) {
            uint32_t mid = STACK_LOC_MODULE(locs[k]);
            if (mid < m.nmodules)
                bit_set(m.modules, mid);
        }
    }
    for (size_t mid = 0; mid < m.nmodules; mid++) {
        if (!bit_test(m.modules, mid))
            continue;
        out_fmt(o, "module %zu ", mid);
        out_enc(o, stack_module_path((uint32_t)mid));
        out_mem(o, "\n", 1);
    }
    for (size_t i = 0; i < r->nrec; i++) {
        uint32_t id = r->rec[i].stack;
        if (id >= m.nstacks || !bit_test(m.stacks, id))
            continue;
        bit_clear(m.stacks, id);
        out_fmt(o, "stack %u", id);
        const uint64_t *locs;
        unsigned n = stack_frames(id, &locs, NULL);
        for (unsigned k = 0; k < n; k++)
            out_fmt(o, " %u:%llx", STACK_LOC_MODULE(locs[k]),
                    (unsigned long long)STACK_LOC_OFFSET(locs[k]));
        out_mem(o, "\n", 1);
    }
    for (size_t i = 0; i < r->nrec; i++)
        out_fmt(o, "record %s %u %llu %llu\n", kind_word(r->rec[i].kind), r->rec[i].stack,
                (unsigned long long)r->rec[i].blocks, (unsigned long long)r->rec[i].bytes);
    out_fmt(o, "summary direct_blocks=%llu direct_bytes=%llu indirect_blocks=%llu "
               "indirect_bytes=%llu reachable_blocks=%llu reachable_bytes=%llu\nend\n",
            (unsigned long long)r->blocks[LEAK_DIRECT], (unsigned long long)r->bytes[LEAK_DIRECT],
            (unsigned long long)r->blocks[LEAK_INDIRECT], (unsigned long long)r->bytes[LEAK_INDIRECT],
            (unsigned long long)r->blocks[LEAK_REACHABLE], (unsigned long long)r->bytes[LEAK_REACHABLE]);
    out_flush(o);
    int err = o->err;
    os_unmap(o, sizeof *o);
    os_unmap(m.stacks, m.bytes);
    return err ? -1 : 0;
}

/* ---- readable text ---- */

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void text_stack(struct out *o, uint32_t id)
{
    const uint64_t *locs;
    unsigned n = stack_frames(id, &locs, NULL);
    if (!n) {
        out_str(o, "    (no allocation stack: stacks are recorded in leaks mode only, and not "
                   "for blocks made before reclaim started)\n");
        return;
    }
    for (unsigned k = 0; k < n; k++) {
        uint32_t mid = STACK_LOC_MODULE(locs[k]);
        unsigned long long off = STACK_LOC_OFFSET(locs[k]);
        if (!mid) {
            out_fmt(o, "    #%u 0x%llx (<unknown module>)\n", k, off);
            continue;
        }
        unsigned long long addr = stack_module_bias(mid) + off;
        const char *fn = sym_lookup(mid, off);
        const char *mod = basename_of(stack_module_path(mid));
        if (fn)
            out_fmt(o, "    #%u 0x%llx in %s (%s+0x%llx)\n", k, addr, fn, mod, off);
        else
            out_fmt(o, "    #%u 0x%llx (%s+0x%llx)\n", k, addr, mod, off);
    }
}

int leakrep_write_text(int fd, const struct leakrep_result *r, int show_reachable)
{
    struct out *o = os_map(sizeof *o);
    if (!o)
        return -1;
    o->fd = fd;
    char exe[4096];
    exe_path(exe, sizeof exe);
    out_fmt(o, "\n==%d== reclaim: leak report for %s\n", (int)getpid(), exe);
    for (size_t i = 0; i < r->nrec; i++) {
        const struct leakrep_record *rec = &r->rec[i];
        if (rec->kind == LEAK_REACHABLE && !show_reachable)
            continue;
        const char *what = rec->kind == LEAK_DIRECT ? "Direct leak of" :
                           rec->kind == LEAK_INDIRECT ? "Indirect leak of" : "Still reachable:";
        out_fmt(o, "\n%s %llu %s in %llu %s allocated from:\n", what,
                (unsigned long long)rec->bytes, plural(rec->bytes, "byte", "bytes"),
                (unsigned long long)rec->blocks, plural(rec->blocks, "block", "blocks"));
        text_stack(o, rec->stack);
    }
    sym_release();
    uint64_t lost_blocks = r->blocks[LEAK_DIRECT] + r->blocks[LEAK_INDIRECT];
    uint64_t lost_bytes = r->bytes[LEAK_DIRECT] + r->bytes[LEAK_INDIRECT];
    out_fmt(o, "\nSUMMARY: reclaim: %llu bytes leaked in %llu allocations (direct %llu bytes in "
               "%llu blocks, indirect %llu bytes in %llu blocks; %llu bytes reachable in %llu "
               "blocks).\n",
            (unsigned long long)lost_bytes, (unsigned long long)lost_blocks,
            (unsigned long long)r->bytes[LEAK_DIRECT], (unsigned long long)r->blocks[LEAK_DIRECT],
            (unsigned long long)r->bytes[LEAK_INDIRECT], (unsigned long long)r->blocks[LEAK_INDIRECT],
            (unsigned long long)r->bytes[LEAK_REACHABLE],
            (unsigned long long)r->blocks[LEAK_REACHABLE]);
    out_flush(o);
    int err = o->err;
    os_unmap(o, sizeof *o);
    return err ? -1 : 0;
}
