/* reclaim_explain: why is this block alive? A breadth-first search over
 * the heap from the roots, stopping at p's block, then the chain printed
 * one hop a line:
 *
 *   root: global 'cache'+8 in /usr/bin/prog (0x55f1c8e2a018) ->
 *   block 0x7f3a00001040 (64 bytes) +16 ->
 *   block 0x7f3a00002000 (48 bytes)
 *
 * It runs with the world going on (it may be called often, from anywhere,
 * and must not pause the program), so its roots are an approximation of
 * the collector's, built the same way: registered ranges and retained
 * blocks first, then every readable and writable mapping of
 * /proc/self/maps less reclaim's own memory, device mappings and
 * libreclaim's own data; the calling thread's stack only from its
 * caller's frame up (the frames of reclaim_explain hold p), other threads'
 * stacks whole. Registers are not seen. Mappings are read with
 * process_vm_readv, so one that another thread unmaps meanwhile is skipped
 * instead of faulting; pages never touched (or swapped out, per mincore)
 * are skipped too. Breadth first: the chain found is a shortest one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../heap/os.h"
#include "../util/compiler.h"
#include "../util/log.h"
#include "introspect.h"
#include "track.h"

/* How a block was first reached: from another block (index >= 0), or: */
#define EXPLAIN_UNSEEN   (-1L)
#define EXPLAIN_MAPPING  (-2L)   /* via: address of the root word */
#define EXPLAIN_RANGE    (-3L)   /* via: address of the word in a registered range */
#define EXPLAIN_RETAINED (-4L)   /* the block's own count > 0; via: the count */

#define EXPLAIN_CHUNK (64u << 10)
#define EXPLAIN_MAX_EXCL 320

struct explain_map {
    uintptr_t lo, hi;
    size_t path;                /* offset of its NUL-terminated path in maps text */
    unsigned char rw, skip;
};

struct explain {
    int fd;
    uintptr_t self_sp;          /* the caller's frame */
    struct api_snapshot s;
    long target;
    int found;
    /* per block, in one mapping: */
    long *from;
    uintptr_t *via;
    long *queue;
    size_t qhead, qtail;
    size_t per_block_bytes;
    /* /proc/self/maps, parsed in place */
    char *maps;
    size_t maps_bytes;
    struct explain_map *m;
    size_t nm, m_bytes;
    /* reclaim's own memory, sorted */
    struct os_range excl[EXPLAIN_MAX_EXCL];
    size_t nexcl;
    unsigned char *chunk;
    uintptr_t *roots;           /* retained blocks / ranges copied under api_lock */
    size_t roots_bytes;
};

/* ---- output ---- */

__attribute__((format(printf, 2, 3)))
static void say(int fd, const char *fmt, ...)
{
    char line[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    size_t n = log_vformat(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

/* ---- the search ---- */

static void visit(struct explain *e, uintptr_t v, long from, uintptr_t via)
{
    if (!heap_owns((const void *)v))
        return;
    long i = api_snapshot_find(&e->s, v);
    if (i < 0 || e->from[i] != EXPLAIN_UNSEEN)
        return;
    e->from[i] = from;
    e->via[i] = via;
    e->queue[e->qtail++] = i;
    if (i == e->target)
        e->found = 1;
}

/* Root words in [lo, hi), read through process_vm_readv. */
static void scan_words(struct explain *e, uintptr_t lo, uintptr_t hi, long kind)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    pid_t self = getpid();
    while (lo < hi && !e->found) {
        size_t n = hi - lo < EXPLAIN_CHUNK ? hi - lo : EXPLAIN_CHUNK;
        /* Skip pages never touched: reading them would only find zeros. */
        unsigned char vec[EXPLAIN_CHUNK / OS_PAGE + 1];
        uintptr_t page = lo & ~(uintptr_t)(OS_PAGE - 1);
        size_t span = ((lo + n + OS_PAGE - 1) & ~(uintptr_t)(OS_PAGE - 1)) - page;
        if (span <= sizeof vec * OS_PAGE && mincore((void *)page, span, vec) == 0) {
            int any = 0;
            for (size_t i = 0; i < span / OS_PAGE; i++)
                any |= vec[i] & 1;
            if (!any) {
                lo += n;
                continue;
            }
        }
        struct iovec local = { e->chunk, n }, remote = { (void *)lo, n };
        ssize_t got = process_vm_readv(self, &local, 1, &remote, 1, 0);
        if (got <= 0) {
            /* Unmapped meanwhile, or not readable after all: next page. */
            uintptr_t next = (lo + OS_PAGE) & ~(uintptr_t)(OS_PAGE - 1);
            lo = next > lo ? next : hi;
            continue;
        }
        const uintptr_t *w = (const uintptr_t *)e->chunk;
        for (size_t k = 0; k < (size_t)got / sizeof *w && !e->found; k++)
            visit(e, w[k], kind, lo + k * sizeof *w);
        lo += (size_t)got;
    }
}

/* [lo, hi) less reclaim's own ranges. */
static void scan_mapping(struct explain *e, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < e->nexcl && lo < hi; i++) {
        const struct os_range *x = &e->excl[i];
        if (x->end <= lo)
            continue;
        if (x->start >= hi)
            break;
        if (x->start > lo)
            scan_words(e, lo, x->start, EXPLAIN_MAPPING);
        lo = x->end;
    }
    if (lo < hi)
        scan_words(e, lo, hi, EXPLAIN_MAPPING);
}

static void bfs(struct explain *e)
{
    while (!e->found && e->qhead < e->qtail) {
        long i = e->queue[e->qhead++];
        uintptr_t start = e->s.b[i].start;
        struct heap_block b;
        if (!heap_find(start, &b) || b.start != start || (heap_block_flags(start) & BLOCK_NOSCAN))
            continue;   /* freed since the snapshot, or never scanned */
        const uintptr_t *w = (const uintptr_t *)start;
        size_t nw = (e->s.b[i].size + 1) / sizeof *w;
        for (size_t k = 0; k < nw && !e->found; k++)
            visit(e, *(const volatile uintptr_t *)&w[k], i, k * sizeof *w);
    }
}

/* ---- /proc/self/maps ---- */

static uintptr_t hex(const char **s)
{
    uintptr_t v = 0;
    for (;; (*s)++) {
        char c = **s;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else
            return v;
    }
}

static int prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int read_maps(struct explain *e)
{
    size_t bytes = 256u << 10;
    for (;;) {
        e->maps = os_map(bytes);
        if (!e->maps)
            return -1;
        e->maps_bytes = bytes;
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        size_t len = 0;
        ssize_t r;
        while (len < bytes - 1 && ((r = read(fd, e->maps + len, bytes - 1 - len)) > 0 ||
                                   (r < 0 && errno == EINTR)))
            if (r > 0)
                len += (size_t)r;
        close(fd);
        if (len < bytes - 1) {
            e->maps[len] = '\0';
            break;
        }
        os_unmap(e->maps, bytes);
        e->maps = NULL;
        bytes *= 4;
    }
    size_t lines = 0;
    for (const char *c = e->maps; *c; c++)
        lines += *c == '\n';
    e->m_bytes = (lines + 1) * sizeof *e->m;
    e->m = os_map(e->m_bytes);
    if (!e->m)
        return -1;
    /* "lo-hi perms offset dev inode   path": the path is cut in place. */
    char *c = e->maps;
    while (*c) {
        char *eol = strchr(c, '\n');
        if (eol)
            *eol = '\0';
        const char *s = c;
        struct explain_map *m = &e->m[e->nm];
        m->lo = hex(&s);
        s++;
        m->hi = hex(&s);
        s++;
        m->rw = s[0] == 'r' && s[1] == 'w';
        for (int f = 0; f < 4 && *s; f++) {     /* perms, offset, dev, inode */
            while (*s && *s != ' ')
                s++;
            while (*s == ' ')
                s++;
        }
        m->path = (size_t)(s - e->maps);
        m->skip = !m->rw || prefix(s, "[vvar") || prefix(s, "[vdso]") || prefix(s, "[vsyscall]") ||
                  (prefix(s, "/dev/") && !(prefix(s, "/dev/zero") || prefix(s, "/dev/shm/") ||
                                           prefix(s, "/dev/hugepages")));
        e->nm++;
        if (!eol)
            break;
        c = eol + 1;
    }
    return 0;
}

/* ---- what is not a root ---- */

static char explain_anchor;

static int own_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct explain *e = arg;
    uintptr_t me = (uintptr_t)&explain_anchor;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz;
    }
    if (!mine)
        return 0;
    /* Linked into the executable: our globals sit with the program's. */
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 1;
    for (int i = 0; i < info->dlpi_phnum && e->nexcl < EXPLAIN_MAX_EXCL; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        e->excl[e->nexcl].start = lo & ~(uintptr_t)(OS_PAGE - 1);
        e->excl[e->nexcl].end = (lo + ph->p_memsz + OS_PAGE - 1) & ~(uintptr_t)(OS_PAGE - 1);
        e->nexcl++;
    }
    return 1;
}

static void exclusions(struct explain *e)
{
    e->nexcl = os_ranges(e->excl, EXPLAIN_MAX_EXCL - 8);
    dl_iterate_phdr(own_segments, e);
    /* Insertion sort: a few hundred ranges at most. */
    for (size_t i = 1; i < e->nexcl; i++) {
        struct os_range v = e->excl[i];
        size_t j = i;
        for (; j > 0 && e->excl[j - 1].start > v.start; j--)
            e->excl[j] = e->excl[j - 1];
        e->excl[j] = v;
    }
}

/* ---- roots ---- */

static size_t retained_n, retained_cap;
static uintptr_t *retained_out;

static int copy_retained(struct api_rec *r, void *arg)
{
    (void)arg;
    if (r->refcount) {
        if (retained_n < retained_cap) {
            retained_out[2 * retained_n] = r->block;
            retained_out[2 * retained_n + 1] = r->refcount;
        }
        retained_n++;
    }
    return 0;
}

/* Retained blocks and registered ranges, copied under api_lock into one
 * mapping sized beforehand (what is added meanwhile is not seen). */
static void api_roots(struct explain *e)
{
    size_t cap_ret = atomic_load_explicit(&api_nretained, memory_order_relaxed) + 64;
    lock_acquire(&api_lock);
    size_t cap_rng = api_roots_copy(NULL, 0) + 64;
    lock_release(&api_lock);
    e->roots_bytes = ((cap_ret + cap_rng) * 2 * sizeof(uintptr_t) + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    e->roots = os_map(e->roots_bytes);
    if (!e->roots)
        return;
    uintptr_t *ranges = e->roots + 2 * cap_ret;
    lock_acquire(&api_lock);
    retained_out = e->roots;
    retained_cap = cap_ret;
    retained_n = 0;
    api_rec_for_each(copy_retained, NULL);
    size_t nret = retained_n < cap_ret ? retained_n : cap_ret;
    size_t nranges = api_roots_copy(ranges, cap_rng);
    if (nranges > cap_rng)
        nranges = cap_rng;
    lock_release(&api_lock);

    for (size_t i = 0; i < nret && !e->found; i++) {
        long k = api_snapshot_find(&e->s, e->roots[2 * i]);
        if (k >= 0 && e->from[k] == EXPLAIN_UNSEEN) {
            e->from[k] = EXPLAIN_RETAINED;
            e->via[k] = e->roots[2 * i + 1];
            e->queue[e->qtail++] = k;
            e->found = k == e->target;
        }
    }
    for (size_t i = 0; i < nranges && !e->found; i++) {
        uintptr_t lo = ranges[2 * i], hi = ranges[2 * i + 1];
        /* A range inside the heap is read in place (process_vm_readv
         * would do too; this is what the marker does). */
        if (heap_owns((const void *)lo)) {
            for (uintptr_t a = lo; a + sizeof(uintptr_t) <= hi && !e->found; a += sizeof(uintptr_t))
                visit(e, *(const volatile uintptr_t *)a, EXPLAIN_RANGE, a);
        } else {
            scan_words(e, lo, hi, EXPLAIN_RANGE);
        }
    }
}

static void mapping_roots(struct explain *e)
{
    for (size_t i = 0; i < e->nm && !e->found; i++) {
        const struct explain_map *m = &e->m[i];
        if (m->skip)
            continue;
        uintptr_t lo = m->lo;
        if (e->self_sp >= m->lo && e->self_sp < m->hi)
            lo = e->self_sp;
        scan_mapping(e, lo, m->hi);
    }
}

/* ---- the chain ---- */

static const struct explain_map *map_of(const struct explain *e, uintptr_t a)
{
    for (size_t i = 0; i < e->nm; i++)
        if (a >= e->m[i].lo && a < e->m[i].hi)
            return &e->m[i];
    return NULL;
}

static void say_root(const struct explain *e, uintptr_t a)
{
    const struct explain_map *m = map_of(e, a);
    const char *path = m ? e->maps + m->path : "";
    if (m && e->self_sp >= m->lo && e->self_sp < m->hi) {
        say(e->fd, "root: stack of this thread (%p) ->", (void *)a);
        return;
    }
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1((void *)a, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && info.dli_sname &&
        a >= (uintptr_t)info.dli_saddr && a < (uintptr_t)info.dli_saddr + sym->st_size) {
        say(e->fd, "root: global '%s'+%zu in %s (%p) ->", info.dli_sname,
            (size_t)(a - (uintptr_t)info.dli_saddr), info.dli_fname ? info.dli_fname : "?", (void *)a);
        return;
    }
    if (!strcmp(path, "[stack]"))
        say(e->fd, "root: stack of the main thread (%p) ->", (void *)a);
    else if (path[0] == '/')
        say(e->fd, "root: data of %s (%p) ->", path, (void *)a);
    else if (!path[0] && m && m > e->m && m[-1].hi == m->lo && e->maps[m[-1].path] == '/')
        /* Anonymous right after a file's data: its bss. */
        say(e->fd, "root: bss of %s (%p) ->", e->maps + m[-1].path, (void *)a);
    else if (path[0])
        say(e->fd, "root: %s (%p) ->", path, (void *)a);
    else if (m)
        say(e->fd, "root: anonymous mapping %p-%p, a thread stack or the program's own memory (%p) ->",
            (void *)m->lo, (void *)m->hi, (void *)a);
    else
        say(e->fd, "root: %p ->", (void *)a);
}

static void say_chain(struct explain *e, const void *p)
{
    /* Walk back from the target, stacking the hops in the (now idle)
     * queue, then print them root first. */
    size_t n = 0;
    for (long i = e->target; i >= 0; i = e->from[i])
        e->queue[n++] = i;
    long first = e->queue[n - 1];
    if (e->from[first] == EXPLAIN_RETAINED)
        say(e->fd, "root: reference count %zu (reclaim_retain) ->", (size_t)e->via[first]);
    else if (e->from[first] == EXPLAIN_RANGE)
        say(e->fd, "root: range registered with reclaim_add_roots (%p) ->", (void *)e->via[first]);
    else
        say_root(e, e->via[first]);
    while (n-- > 1) {
        long i = e->queue[n], next = e->queue[n - 1];
        say(e->fd, "block %p (%zu bytes) +%zu ->", (void *)e->s.b[i].start, e->s.b[i].size,
            (size_t)e->via[next]);
    }
    const struct api_block *t = &e->s.b[e->target];
    if ((uintptr_t)p == t->start)
        say(e->fd, "block %p (%zu bytes)", (void *)t->start, t->size);
    else
        say(e->fd, "block %p (%zu bytes), holding %p", (void *)t->start, t->size, p);
}

static void release_all(struct explain *e)
{
    api_snapshot_free(&e->s);
    if (e->from)
        os_unmap(e->from, e->per_block_bytes);
    if (e->m)
        os_unmap(e->m, e->m_bytes);
    if (e->maps)
        os_unmap(e->maps, e->maps_bytes);
    if (e->chunk)
        os_unmap(e->chunk, EXPLAIN_CHUNK);
    if (e->roots)
        os_unmap(e->roots, e->roots_bytes);
}

/* Kept out of line with its own frame, so that the caller's frame bound
 * taken in reclaim_explain is above everything this search puts on the
 * stack. */
static NOINLINE int explain(struct explain *e, const void *p)
{
    struct heap_block t;
    if (!heap_find((uintptr_t)p, &t)) {
        say(e->fd, "%p: not a block", p);
        return -1;
    }
    int saved = errno;
    int r = -2;
    if (api_snapshot_take(&e->s))
        goto out;
    api_snapshot_sort(&e->s);
    e->target = api_snapshot_find(&e->s, t.start);
    if (e->target < 0) {            /* freed since */
        say(e->fd, "%p: not a block", p);
        r = -1;
        goto out;
    }
    e->per_block_bytes = (e->s.n * (2 * sizeof(long) + sizeof(uintptr_t)) + OS_PAGE - 1) &
                         ~(size_t)(OS_PAGE - 1);
    e->from = os_map(e->per_block_bytes);
    e->chunk = os_map(EXPLAIN_CHUNK);
    if (!e->from || !e->chunk || read_maps(e))
        goto out;
    e->via = (uintptr_t *)(e->from + e->s.n);
    e->queue = (long *)(e->via + e->s.n);
    for (size_t i = 0; i < e->s.n; i++)
        e->from[i] = EXPLAIN_UNSEEN;
    exclusions(e);

    api_roots(e);
    mapping_roots(e);
    bfs(e);
    if (e->found) {
        say_chain(e, p);
        r = 1;
    } else {
        say(e->fd, "block %p (%zu bytes): not reachable from any root", (void *)t.start, t.size);
        r = 0;
    }
out:
    if (r == -2) {
        say(e->fd, "%p: reclaim_explain: out of memory", p);
        r = 0;
    }
    release_all(e);
    errno = saved;
    return r;
}

RECLAIM_EXPORT int reclaim_explain(const void *p, int fd)
{
    struct explain e;
    memset(&e, 0, sizeof e);
    e.fd = fd;
    /* The caller's frames only: ours hold p. With frame pointers (the
     * library is built with them), on x86_64 the caller's frame starts
     * above the saved frame pointer and return address; elsewhere, at the
     * caller's own frame record. */
#if defined(__x86_64__)
    e.self_sp = (uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *);
#else
    e.self_sp = *(uintptr_t *)__builtin_frame_address(0);
#endif
    return explain(&e, p);
}
