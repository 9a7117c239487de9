/* Root enumeration: turns /proc/self/maps plus the stopped world into the
 * list of ranges the marker must scan. It runs with every other thread
 * stopped and with the allocator's locks held (os_lock_all included), so it
 * makes system calls only: no heap, no stdio, no os_map() (that takes the
 * registry lock the collector already holds). Its scratch memory is mapped
 * with mmap directly and left out of the roots by address.
 *
 * Per mapping of /proc/self/maps:
 *   - not both readable and writable, [vvar]/[vdso]/[vsyscall], devices
 *     (/dev/... other than /dev/zero, /dev/shm/, /dev/hugepages; dma-buf):
 *     skipped;
 *   - holding a thread's stack pointer: [sp - red zone, end) is ROOT_STACK;
 *     the dead part below is skipped when the mapping is certainly just a
 *     stack ([stack], or a guard page right below it), and scanned as a
 *     plain mapping otherwise (it may be another object the kernel merged
 *     with the stack);
 *   - a stack pointer inside reclaim's heap (a coroutine stack that is a
 *     malloc'd block): ROOT_STACK from sp to the end of that block;
 *   - a glibc thread stack whose thread has exited (kept in glibc's stack
 *     cache or waiting for pthread_join): only its thread descriptor, which
 *     holds the DTV glibc frees later and the thread's return value; the
 *     dead frames and TLS below are what leaks hide in;
 *   - anything else: ROOT_MAPPING (data and bss, [heap], TLS, anonymous
 *     private and shared mappings, file-backed shared mappings);
 * always minus reclaim's own ranges (os_ranges()), subtracted piecewise
 * because the kernel merges adjacent anonymous mappings with equal flags,
 * and minus libreclaim.so's own .data and .bss (region.base there is the
 * address of the heap's first block). When reclaim is linked into the
 * executable its globals are not told apart and stay in the roots.
 * Only touched pages are reported (see roots_touched()). */
#define _GNU_SOURCE
#include "roots.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../heap/heap.h"
#include "../heap/os.h"
#include "../util/log.h"

#if defined(__x86_64__)
#define ROOTS_RED_ZONE 128u     /* leaf functions keep live data below sp */
#else
#define ROOTS_RED_ZONE 0u
#endif
#define ROOTS_HEAP_STACK_MAX (1u << 20)

/* PAGEMAP_SCAN (Linux 6.7). Our own copy of the uapi layout, because the
 * installed kernel headers may predate it; the ioctl number encodes the
 * size, so a layout mismatch fails cleanly with EINVAL/ENOTTY. */
struct roots_page_region { uint64_t start, end, categories; };
struct roots_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define ROOTS_PAGEMAP_SCAN _IOWR('f', 16, struct roots_pm_scan_arg)
#define ROOTS_PAGE_IS_PRESENT (1u << 3)
#define ROOTS_PAGE_IS_SWAPPED (1u << 4)
#define ROOTS_PAGE_IS_PFNZERO (1u << 5)

/* Scratch memory, kept from one collection to the next. */
#define ROOTS_MAX_EXCL 320          /* os_ranges() holds at most 256 */
#define ROOTS_VEC      1024
#define ROOTS_CHUNK    (64u << 10)   /* bytes of pagemap entries or mincore bytes per call */

struct roots_buf { char *p; size_t size; };

struct roots_scratch {
    struct os_range excl[ROOTS_MAX_EXCL];
    struct roots_page_region vec[ROOTS_VEC];
    unsigned char chunk[ROOTS_CHUNK];
};

/* redzone: live bytes below sp (a stopped thread may be in a leaf
 * function; the calling thread is running, so none). */
struct roots_thr { uintptr_t sp; size_t redzone; pid_t tid; };

static struct roots_buf roots_maps_buf, roots_thr_buf, roots_scratch_buf;
static enum roots_pages roots_method = ROOTS_PAGES_AUTO;
static enum roots_pages roots_forced = ROOTS_PAGES_AUTO;

/* glibc's thread descriptor (x86_64): tcbhead_t opens with tcb and self,
 * both pointing at the descriptor itself; the tid field's offset is found
 * on the collecting thread's own descriptor. -1 until looked for, 0 when
 * not found (the exited-thread rule is then off). */
static long roots_tid_off = -1;

struct roots_ctx {
    root_fn fn;
    void *arg;
    int pagemap_fd;
    size_t nexcl;
    struct os_range *excl;
    struct roots_scratch *s;
    /* the run being merged */
    uintptr_t run_a, run_b, lo, hi;
    enum root_kind kind;
    const char *what;
};

/* ---- scratch memory -------------------------------------------------- */

static int roots_buf_need(struct roots_buf *b, size_t need)
{
    if (b->size >= need)
        return 0;
    size_t size = b->size ? b->size : 64 * 1024;
    while (size < need)
        size *= 2;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (b->p)
        munmap(b->p, b->size);
    b->p = p;
    b->size = size;
    return 0;
}

/* The whole of /proc/self/maps in one NUL-terminated buffer; reread from
 * the start into a bigger buffer until it fits. */
static int roots_read_maps(void)
{
    if (roots_buf_need(&roots_maps_buf, 256 * 1024))
        return -1;
    for (;;) {
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        size_t len = 0, cap = roots_maps_buf.size - 1;
        int full = 0;
        for (;;) {
            if (len == cap) {
                full = 1;
                break;
            }
            ssize_t r = read(fd, roots_maps_buf.p + len, cap - len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                close(fd);
                return -1;
            }
            if (r == 0)
                break;
            len += (size_t)r;
        }
        close(fd);
        if (!full) {
            roots_maps_buf.p[len] = '\0';
            return 0;
        }
        if (roots_buf_need(&roots_maps_buf, roots_maps_buf.size * 2))
            return -1;
    }
}

/* ---- /proc/self/maps lines ------------------------------------------- */

struct roots_vma {
    uintptr_t start, end;
    char r, w, x, shared;
    const char *path;            /* "" for anonymous */
};

static const char *roots_hex(const char *p, uintptr_t *out)
{
    uintptr_t v = 0;
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else
            break;
        v = v * 16 + d;
    }
    *out = v;
    return p;
}

/* Parses the line at *cur, NUL-terminates it in place (so the path can be
 * handed out as `what`) and advances *cur. 0 at the end of the buffer. */
static int roots_next_vma(char **cur, struct roots_vma *m)
{
    char *p = *cur;
    if (!*p)
        return 0;
    char *nl = strchr(p, '\n');
    char *next = nl ? nl + 1 : p + strlen(p);
    if (nl)
        *nl = '\0';
    *cur = next;

    const char *q = roots_hex(p, &m->start);
    if (*q == '-')
        q++;
    q = roots_hex(q, &m->end);
    while (*q == ' ')
        q++;
    m->r = q[0] == 'r';
    m->w = q[0] && q[1] == 'w';
    m->x = q[0] && q[1] && q[2] == 'x';
    m->shared = q[0] && q[1] && q[2] && q[3] == 's';
    /* perms, offset, dev, inode, then the path (possibly empty) */
    for (int field = 0; field < 4; field++) {
        while (*q && *q != ' ')
            q++;
        while (*q == ' ')
            q++;
    }
    m->path = q;
    return 1;
}

static int roots_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Mappings whose reading could have side effects or fault (device memory),
 * or that cannot hold program data. */
static int roots_skip_path(const char *path)
{
    if (path[0] == '[')
        return roots_prefix(path, "[vvar") || roots_prefix(path, "[vdso") ||
               roots_prefix(path, "[vsyscall");
    if (roots_prefix(path, "/dev/"))
        return !(roots_prefix(path, "/dev/zero") || roots_prefix(path, "/dev/shm/") ||
                 roots_prefix(path, "/dev/hugepages"));
    /* buffers shared with devices (GPU memory exported as dma-buf) */
    return roots_prefix(path, "/dmabuf:") || roots_prefix(path, "anon_inode:dmabuf");
}

/* ---- touched pages --------------------------------------------------- */

static void roots_flush(struct roots_ctx *c)
{
    if (c->run_a < c->run_b) {
        uintptr_t a = c->run_a > c->lo ? c->run_a : c->lo;
        uintptr_t b = c->run_b < c->hi ? c->run_b : c->hi;
        if (a < b)
            c->fn(a, b, c->kind, c->what, c->arg);
    }
    c->run_a = c->run_b = 0;
}

static void roots_add(struct roots_ctx *c, uintptr_t a, uintptr_t b)
{
    if (c->run_a < c->run_b && a == c->run_b) {
        c->run_b = b;
        return;
    }
    roots_flush(c);
    c->run_a = a;
    c->run_b = b;
}

/* PAGEMAP_SCAN: present pages that are not the shared zero page, and
 * swapped-out pages. Returns where it stopped (pb when done). */
static uintptr_t roots_scan(struct roots_ctx *c, uintptr_t pa, uintptr_t pb)
{
    struct roots_pm_scan_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.size = sizeof arg;
    arg.start = pa;
    arg.end = pb;
    arg.vec = (uintptr_t)c->s->vec;
    arg.vec_len = ROOTS_VEC;
    arg.category_inverted = ROOTS_PAGE_IS_PFNZERO;
    arg.category_mask = ROOTS_PAGE_IS_PFNZERO;
    arg.category_anyof_mask = ROOTS_PAGE_IS_PRESENT | ROOTS_PAGE_IS_SWAPPED;
    arg.return_mask = ROOTS_PAGE_IS_PRESENT | ROOTS_PAGE_IS_SWAPPED;
    while (arg.start < pb) {
        int n = ioctl(c->pagemap_fd, ROOTS_PAGEMAP_SCAN, &arg);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return arg.start;
        for (int i = 0; i < n; i++)
            roots_add(c, c->s->vec[i].start, c->s->vec[i].end);
        if (arg.walk_end <= arg.start)
            return arg.start;
        arg.start = arg.walk_end;
    }
    return pb;
}

/* /proc/self/pagemap entries: bit 63 present, bit 62 swapped. */
static uintptr_t roots_read_pagemap(struct roots_ctx *c, uintptr_t pa, uintptr_t pb)
{
    uint64_t *ent = (uint64_t *)c->s->chunk;
    const size_t per = ROOTS_CHUNK / sizeof(uint64_t);
    while (pa < pb) {
        size_t n = (pb - pa) / OS_PAGE;
        if (n > per)
            n = per;
        ssize_t r = pread(c->pagemap_fd, ent, n * sizeof(uint64_t),
                          (off_t)(pa / OS_PAGE * sizeof(uint64_t)));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < (ssize_t)sizeof(uint64_t))
            return pa;
        n = (size_t)r / sizeof(uint64_t);
        for (size_t i = 0; i < n; i++)
            if (ent[i] >> 62)
                roots_add(c, pa + i * OS_PAGE, pa + (i + 1) * OS_PAGE);
        pa += n * OS_PAGE;
    }
    return pb;
}

/* Shared mappings: a page holds data when it is in the page cache, which
 * mincore() reports even where this process has no page-table entry (after
 * fork the child has none for inherited shared mappings, yet their contents
 * are there). pagemap would call those untouched. */
static uintptr_t roots_mincore(struct roots_ctx *c, uintptr_t pa, uintptr_t pb)
{
    unsigned char *vec = c->s->chunk;
    while (pa < pb) {
        size_t n = (pb - pa) / OS_PAGE;
        if (n > ROOTS_CHUNK)
            n = ROOTS_CHUNK;
        if (mincore((void *)pa, n * OS_PAGE, vec)) {
            if (errno == EAGAIN)
                continue;
            return pa;
        }
        for (size_t i = 0; i < n; i++)
            if (vec[i] & 1)
                roots_add(c, pa + i * OS_PAGE, pa + (i + 1) * OS_PAGE);
        pa += n * OS_PAGE;
    }
    return pb;
}

/* Reports the touched pages of [a, b) as maximal runs, clipped to [a, b).
 * Whatever a mechanism could not classify is reported whole: scanning too
 * much only costs time, missing a page frees live memory. */
static void roots_touched(struct roots_ctx *c, uintptr_t a, uintptr_t b,
                          enum root_kind kind, const char *what, int shared)
{
    a &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (a >= b)
        return;
    uintptr_t pa = a & ~(uintptr_t)(OS_PAGE - 1);
    uintptr_t pb = (b + OS_PAGE - 1) & ~(uintptr_t)(OS_PAGE - 1);
    c->lo = a;
    c->hi = b;
    c->kind = kind;
    c->what = what;
    c->run_a = c->run_b = 0;

    uintptr_t done = pa;
    if (shared)
        done = roots_mincore(c, pa, pb);
    else if (c->pagemap_fd >= 0 && roots_method == ROOTS_PAGES_SCAN)
        done = roots_scan(c, pa, pb);
    else if (c->pagemap_fd >= 0 && roots_method == ROOTS_PAGES_READ)
        done = roots_read_pagemap(c, pa, pb);
    if (done < pb)
        roots_add(c, done, pb);
    roots_flush(c);
}

/* [a, b) minus reclaim's own ranges (sorted, disjoint). */
static void roots_emit(struct roots_ctx *c, uintptr_t a, uintptr_t b,
                       enum root_kind kind, const char *what, int shared)
{
    for (size_t i = 0; i < c->nexcl && a < b; i++) {
        const struct os_range *e = &c->excl[i];
        if (e->end <= a)
            continue;
        if (e->start >= b)
            break;
        if (e->start > a)
            roots_touched(c, a, e->start, kind, what, shared);
        a = e->end;
    }
    if (a < b)
        roots_touched(c, a, b, kind, what, shared);
}

static int roots_excluded(const struct roots_ctx *c, uintptr_t p)
{
    for (size_t i = 0; i < c->nexcl; i++)
        if (p >= c->excl[i].start && p < c->excl[i].end)
            return 1;
    return 0;
}

/* ---- set-up ---------------------------------------------------------- */

/* The linker defines both in every module; hidden, they are this one's. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));
static int roots_anchor __attribute__((section(".data"))) = 1;   /* opens our writable segment */

/* The mapping start of the line of /proc/self/maps holding a, or 0. Reads
 * without modifying the buffer (the walk parses it afterwards). */
static uintptr_t roots_vma_start(uintptr_t a)
{
    const char *p = roots_maps_buf.p;
    while (*p) {
        uintptr_t s, e;
        const char *q = roots_hex(p, &s);
        if (*q == '-')
            q++;
        roots_hex(q, &e);
        if (a >= s && a < e)
            return s;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return 0;
}

/* Leaves out libreclaim.so's own .data and .bss: reclaim keeps no program
 * pointer there, and heap addresses it does keep (the region's base, which
 * is the first block) would retain blocks. Linked into the executable
 * (static library), our globals are mixed with the program's: keep them. */
static void roots_exclude_own_data(struct roots_ctx *c)
{
    uintptr_t ehdr = (uintptr_t)&__ehdr_start;
    if (ehdr + __ehdr_start.e_phoff == getauxval(AT_PHDR))
        return;
    uintptr_t start = roots_vma_start((uintptr_t)&roots_anchor);
    if (start && start < (uintptr_t)_end && c->nexcl < ROOTS_MAX_EXCL) {
        c->excl[c->nexcl].start = start;
        c->excl[c->nexcl].end = (uintptr_t)_end;
        c->nexcl++;
    }
}

static void roots_add_excl(struct roots_ctx *c, const struct roots_buf *b)
{
    if (b->p && c->nexcl < ROOTS_MAX_EXCL) {
        c->excl[c->nexcl].start = (uintptr_t)b->p;
        c->excl[c->nexcl].end = (uintptr_t)b->p + b->size;
        c->nexcl++;
    }
}

static void roots_sort_excl(struct roots_ctx *c)
{
    struct os_range *x = c->excl;
    size_t n = c->nexcl;
    for (size_t i = 1; i < n; i++) {
        struct os_range v = x[i];
        size_t j = i;
        for (; j > 0 && x[j - 1].start > v.start; j--)
            x[j] = x[j - 1];
        x[j] = v;
    }
    size_t m = 0;   /* merge overlaps so roots_emit can walk them in order */
    for (size_t i = 0; i < n; i++) {
        if (m && x[i].start <= x[m - 1].end) {
            if (x[i].end > x[m - 1].end)
                x[m - 1].end = x[i].end;
        } else {
            x[m++] = x[i];
        }
    }
    c->nexcl = m;
}

static void roots_sort_thr(struct roots_thr *t, size_t n)
{
    static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < n; i++) {
            struct roots_thr v = t[i];
            size_t j = i;
            for (; j >= gap && t[j - gap].sp > v.sp; j -= gap)
                t[j] = t[j - gap];
            t[j] = v;
        }
    }
}

static void roots_choose_method(struct roots_ctx *c)
{
    if (roots_forced != ROOTS_PAGES_AUTO) {
        roots_method = roots_forced;
        return;
    }
    if (roots_method != ROOTS_PAGES_AUTO || c->pagemap_fd < 0)
        return;
    /* Probe on our own scratch page (known to be mapped and touched). */
    uintptr_t pa = (uintptr_t)c->s;
    struct roots_pm_scan_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.size = sizeof arg;
    arg.start = pa;
    arg.end = pa + OS_PAGE;
    arg.vec = (uintptr_t)c->s->vec;
    arg.vec_len = 1;
    arg.category_anyof_mask = ROOTS_PAGE_IS_PRESENT | ROOTS_PAGE_IS_SWAPPED;
    arg.return_mask = ROOTS_PAGE_IS_PRESENT | ROOTS_PAGE_IS_SWAPPED;
    if (ioctl(c->pagemap_fd, ROOTS_PAGEMAP_SCAN, &arg) == 1) {
        roots_method = ROOTS_PAGES_SCAN;
        return;
    }
    uint64_t e;
    if (pread(c->pagemap_fd, &e, sizeof e, (off_t)(pa / OS_PAGE * sizeof e)) == sizeof e &&
        (e >> 63))
        roots_method = ROOTS_PAGES_READ;
    else
        roots_method = ROOTS_PAGES_ALL;
}

/* Finds where glibc keeps the tid in its thread descriptor, from the
 * caller's own descriptor. Exactly one match past the TCB head, or the
 * exited-thread rule stays off (then such stacks are scanned whole). */
static void roots_find_tid_off(void)
{
#if defined(__x86_64__) && defined(__GLIBC__)
    if (roots_tid_off != -1)
        return;
    roots_tid_off = 0;
    uintptr_t pd = (uintptr_t)pthread_self();
    const uintptr_t *w = (const uintptr_t *)pd;
    if (!pd || w[0] != pd || w[2] != pd)
        return;
    int tid = (int)gettid();
    long found = 0;
    for (long off = 64; off < 2048; off += 4) {
        if (*(const int *)(pd + (uintptr_t)off) == tid) {
            if (found)
                return;
            found = off;
        }
    }
    roots_tid_off = found;
#endif
}

/* A glibc thread descriptor near the top of [s, e) whose thread is gone
 * (tid 0 once the kernel cleared it at exit, -1 once glibc recycled it).
 * Returns its address, or 0. */
static uintptr_t roots_dead_thread(uintptr_t s, uintptr_t e)
{
    if (roots_tid_off <= 0 || e - s < 4 * OS_PAGE)
        return 0;
    uintptr_t low = e - 4 * OS_PAGE;
    for (uintptr_t pd = (e - 64) & ~(uintptr_t)63; pd >= low; pd -= 64) {
        const uintptr_t *w = (const uintptr_t *)pd;
        if (w[0] == pd && w[2] == pd) {
            if (pd + (uintptr_t)roots_tid_off + sizeof(int) > e)
                return 0;
            int tid = *(const int *)(pd + (uintptr_t)roots_tid_off);
            return tid <= 0 ? pd : 0;
        }
    }
    return 0;
}

/* ---- the walk -------------------------------------------------------- */

/* A stack pointer inside reclaim's heap: the stack is a malloc'd block,
 * live from sp to the block's end. If sp is not in an allocated block
 * (should not happen), 1 MiB above sp within its mapping. */
static void roots_heap_stack(struct roots_ctx *c, const struct roots_thr *t,
                             uintptr_t vma_end, const char *what)
{
    uintptr_t a = t->sp >= t->redzone ? t->sp - t->redzone : 0;
    uintptr_t b = t->sp + ROOTS_HEAP_STACK_MAX;
    struct heap_block blk;
    if (heap_find(t->sp, &blk)) {
        if (a < blk.start)
            a = blk.start;
        b = blk.start + blk.size + 1;
    }
    if (b > vma_end)
        b = vma_end;
    roots_touched(c, a, b, ROOT_STACK, what, 0);
}

static void roots_thread_name(char *buf, size_t len, const char *prefix, pid_t tid)
{
    log_format(buf, len, "%s %d", prefix, (int)tid);
}

static void roots_walk(struct roots_ctx *c, struct roots_thr *thr, size_t nthr)
{
    char *cur = roots_maps_buf.p;
    struct roots_vma m;
    uintptr_t prev_end = 0;
    int prev_none = 0;          /* previous mapping had no access: a guard */
    size_t ti = 0;
    char name[48];

    while (roots_next_vma(&cur, &m)) {
        /* threads whose sp is below this mapping lie in no mapping */
        while (ti < nthr && thr[ti].sp < m.start)
            ti++;
        size_t t0 = ti;
        while (ti < nthr && thr[ti].sp < m.end)
            ti++;
        size_t t1 = ti;

        int guarded = prev_end == m.start && prev_none;
        prev_end = m.end;
        prev_none = !m.r && !m.w && !m.x;

        if (!m.r || !m.w || roots_skip_path(m.path))
            continue;
        const char *path = m.path[0] ? m.path : "[anon]";

        /* this mapping's live stacks: reclaim's heap ones apart */
        const struct roots_thr *low = NULL;
        for (size_t i = t0; i < t1; i++) {
            if (region_contains(thr[i].sp)) {
                roots_thread_name(name, sizeof name, "thread", thr[i].tid);
                roots_heap_stack(c, &thr[i], m.end, name);
            } else if (!roots_excluded(c, thr[i].sp) && !low) {
                low = &thr[i];   /* sorted: the lowest sp */
            }
        }

        if (low) {
            uintptr_t lo = low->sp >= m.start + low->redzone ? low->sp - low->redzone : m.start;
            if (!guarded && strcmp(m.path, "[stack]") != 0)
                roots_emit(c, m.start, lo, ROOT_MAPPING, path, m.shared);
            roots_thread_name(name, sizeof name, "thread", low->tid);
            roots_emit(c, lo, m.end, ROOT_STACK, name, m.shared);
            continue;
        }

        if (guarded && !m.shared && !m.path[0]) {
            uintptr_t pd = roots_dead_thread(m.start, m.end);
            if (pd && !roots_excluded(c, pd)) {
                roots_emit(c, pd, m.end, ROOT_MAPPING, "[exited thread]", 0);
                continue;
            }
        }
        roots_emit(c, m.start, m.end, ROOT_MAPPING, path, m.shared);
    }
}

int roots_enumerate(const struct world *w, uintptr_t self_sp, root_fn fn, void *arg)
{
    int saved = errno;
    size_t nthr = (w ? w->count : 0) + 1;

    if (roots_buf_need(&roots_scratch_buf, sizeof(struct roots_scratch)) ||
        roots_buf_need(&roots_thr_buf, nthr * sizeof(struct roots_thr)) ||
        roots_read_maps()) {
        errno = saved;
        return -1;
    }

    struct roots_ctx c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.arg = arg;
    c.s = (struct roots_scratch *)roots_scratch_buf.p;
    c.excl = c.s->excl;
    c.nexcl = os_ranges(c.excl, ROOTS_MAX_EXCL - 4);
    roots_exclude_own_data(&c);
    roots_add_excl(&c, &roots_maps_buf);
    roots_add_excl(&c, &roots_thr_buf);
    roots_add_excl(&c, &roots_scratch_buf);
    roots_sort_excl(&c);

    struct roots_thr *thr = (struct roots_thr *)roots_thr_buf.p;
    size_t n = 0;
    for (size_t i = 0; w && i < w->count; i++) {
        if (w->threads[i].sp) {
            thr[n].sp = w->threads[i].sp;
            thr[n].redzone = ROOTS_RED_ZONE;
            thr[n].tid = w->threads[i].tid;
            n++;
        }
    }
    thr[n].sp = self_sp;
    thr[n].redzone = 0;
    thr[n].tid = gettid();
    n++;
    roots_sort_thr(thr, n);

    c.pagemap_fd = roots_forced == ROOTS_PAGES_ALL ? -1
                   : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    roots_choose_method(&c);
    roots_find_tid_off();

    roots_walk(&c, thr, n);

    char name[48];
    for (size_t i = 0; w && i < w->count; i++) {
        const struct stopped_thread *t = &w->threads[i];
        unsigned nregs = t->nregs < STOP_MAX_REGS ? t->nregs : STOP_MAX_REGS;
        unsigned nv = t->nvwords < STOP_MAX_VWORDS ? t->nvwords : STOP_MAX_VWORDS;
        roots_thread_name(name, sizeof name, "registers", t->tid);
        if (nregs)
            fn((uintptr_t)&t->regs[0], (uintptr_t)&t->regs[nregs], ROOT_REGS, name, arg);
        if (nv)
            fn((uintptr_t)&t->vregs[0], (uintptr_t)&t->vregs[nv], ROOT_REGS, name, arg);
    }

    if (c.pagemap_fd >= 0)
        close(c.pagemap_fd);
    errno = saved;
    return 0;
}

enum roots_pages roots_pages_method(void)
{
    return roots_method;
}

void roots_force_pages_method(enum roots_pages m)
{
    roots_forced = m;
    roots_method = m;
}
