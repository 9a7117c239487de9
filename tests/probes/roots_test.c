/* Test of root enumeration (lib/gc/roots.c) on its own, outside the
 * library: glibc's malloc stays this process's allocator, and a fake
 * "stopped world" describes threads that are merely blocked. Checks where
 * pointers can live (globals, stacks, TLS, mappings) are reported, and
 * what must not be (reclaim's own ranges, dead stack, untouched pages) is
 * not, without the enumeration itself making memory resident. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc/roots.h"
#include "heap/heap.h"
#include "heap/os.h"

#define PAGE 4096u
#define MAXR 65536

struct rec { uintptr_t a, b; enum root_kind kind; char what[64]; };
static struct rec recs[MAXR];
static size_t nrecs;
static int read_ranges;
static volatile uintptr_t sink;
static int failures;

static void record(uintptr_t a, uintptr_t b, enum root_kind kind, const char *what, void *arg)
{
    (void)arg;
    if (nrecs < MAXR) {
        recs[nrecs].a = a;
        recs[nrecs].b = b;
        recs[nrecs].kind = kind;
        snprintf(recs[nrecs].what, sizeof recs[nrecs].what, "%s", what);
        nrecs++;
    }
    if (a >= b || (a & 7))
        fprintf(stderr, "bad range %#lx-%#lx (%s)\n", (unsigned long)a, (unsigned long)b, what);
    /* Like the marker: every reported word must be readable. */
    if (read_ranges && kind != ROOT_REGS) {
        uintptr_t s = 0;
        for (uintptr_t p = a; p + 8 <= b; p += 8)
            s += *(const volatile uintptr_t *)p;
        sink += s;
    }
}

static void enumerate(const struct world *w)
{
    nrecs = 0;
    int saved = errno = 4242;
    if (roots_enumerate(w, (uintptr_t)__builtin_frame_address(0), record, NULL) != 0) {
        fprintf(stderr, "FAIL: roots_enumerate returned -1\n");
        exit(1);
    }
    if (errno != saved) {
        fprintf(stderr, "FAIL: errno changed to %d\n", errno);
        failures++;
    }
    if (nrecs == MAXR) {
        fprintf(stderr, "FAIL: too many ranges\n");
        exit(1);
    }
}

/* The record covering [p, p+len), or NULL. */
static const struct rec *covered(const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < nrecs; i++)
        if (recs[i].a <= a && a + len <= recs[i].b)
            return &recs[i];
    return NULL;
}

static const char *kind_name(enum root_kind k)
{
    switch (k) {
    case ROOT_STACK: return "stack";
    case ROOT_REGS: return "regs";
    case ROOT_MAPPING: return "mapping";
    case ROOT_EXTRA: return "extra";
    }
    return "?";
}

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static void expect_kind(const void *p, enum root_kind kind, const char *what)
{
    const struct rec *r = covered(p, sizeof(void *));
    char msg[256];
    snprintf(msg, sizeof msg, "%s is in a %s root (found: %s %s)", what, kind_name(kind),
             r ? kind_name(r->kind) : "none", r ? r->what : "");
    check(r && r->kind == kind, msg);
}

static void expect_none(const void *p, const char *what)
{
    const struct rec *r = covered(p, sizeof(void *));
    char msg[256];
    snprintf(msg, sizeof msg, "%s is not reported (found: %s %s)", what,
             r ? kind_name(r->kind) : "none", r ? r->what : "");
    check(!r, msg);
}

/* Resident anonymous pages (resident minus file-backed and shmem): the
 * test's own calls into libc fault in libc's read-only pages. */
static long rss_pages(void)
{
    long size = 0, res = 0, shared = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld %ld", &size, &res, &shared) != 3) {
        perror("statm");
        exit(1);
    }
    fclose(f);
    return res - shared;
}

/* ---- globals, stack ---------------------------------------------------- */

int test_global = 42;
static char test_bss[1 << 20];
static volatile uintptr_t dead_addr;

static __attribute__((noinline)) void deep(int depth)
{
    volatile char buf[4096];
    buf[0] = (char)depth;
    if (depth > 0)
        deep(depth - 1);
    else
        dead_addr = (uintptr_t)&buf[8] & ~(uintptr_t)7;
    buf[1] = buf[0];
}

/* ---- threads ------------------------------------------------------------ */

static __thread void *tls_var = (void *)1;
static pthread_barrier_t bar;
struct thr_info { pid_t tid; uintptr_t sp, local, dead, tls, self; };

static void *live_thread(void *arg)
{
    struct thr_info *ti = arg;
    volatile uintptr_t local = 0x1234;
    deep(8);
    ti->dead = dead_addr;
    ti->tid = gettid();
    ti->local = (uintptr_t)&local;
    ti->tls = (uintptr_t)&tls_var;
    ti->sp = (uintptr_t)__builtin_frame_address(0) - 256;
    pthread_barrier_wait(&bar);    /* described to the enumerator */
    pthread_barrier_wait(&bar);    /* done */
    return NULL;
}

static void *exiting_thread(void *arg)
{
    struct thr_info *ti = arg;
    deep(8);
    ti->dead = dead_addr;
    ti->tls = (uintptr_t)&tls_var;
    ti->self = (uintptr_t)pthread_self();
    return NULL;
}

static void test_threads(void)
{
    struct thr_info ti = { 0 };
    pthread_t t;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t, NULL, live_thread, &ti);
    pthread_barrier_wait(&bar);

    struct stopped_thread st = { .tid = ti.tid, .sp = ti.sp, .nregs = 3,
                                 .regs = { 0x1111, 0x2222, 0x3333 } };
    struct world w = { .threads = &st, .count = 1, .method = STOP_PTRACE };
    enumerate(&w);
    char name[64];
    snprintf(name, sizeof name, "thread %d", (int)ti.tid);
    const struct rec *r = covered((void *)ti.local, 8);
    check(r && r->kind == ROOT_STACK && strcmp(r->what, name) == 0,
          "a stopped thread's local is in a stack root named after its tid");
    expect_none((void *)ti.dead, "the stopped thread's dead stack (below its sp)");
    check(covered((void *)ti.tls, 8) != NULL, "the stopped thread's static TLS is reported");
    r = NULL;
    for (size_t i = 0; i < nrecs; i++)
        if (recs[i].kind == ROOT_REGS)
            r = &recs[i];
    snprintf(name, sizeof name, "registers %d", (int)ti.tid);
    check(r && strcmp(r->what, name) == 0 && r->a == (uintptr_t)&st.regs[0] &&
              r->b == (uintptr_t)&st.regs[3],
          "the stopped thread's registers are reported as [regs, regs + nregs)");

    /* A thread the world does not describe: its whole stack is scanned. */
    enumerate(&(struct world){ 0 });
    r = covered((void *)ti.dead, 8);
    check(r && r->kind == ROOT_MAPPING,
          "a stack with no known sp is scanned whole (conservative)");

    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);

    /* An exited thread: glibc keeps its stack; only its descriptor counts. */
    struct thr_info ex = { 0 };
    pthread_create(&t, NULL, exiting_thread, &ex);
    pthread_join(t, NULL);
    enumerate(&(struct world){ 0 });
#if defined(__x86_64__) && defined(__GLIBC__)
    expect_none((void *)ex.dead, "an exited thread's dead frames");
    expect_none((void *)ex.tls, "an exited thread's static TLS");
    expect_kind((void *)(ex.self + 8), ROOT_MAPPING, "an exited thread's descriptor (DTV pointer)");
#else
    printf("skip: exited-thread rule is x86_64 glibc only\n");
#endif
}

/* ---- a stack inside reclaim's heap ------------------------------------ */

static void test_heap_stack(void)
{
    if (heap_init() != 0) {
        printf("skip: heap_init failed\n");
        return;
    }
    char *blk = heap_alloc(64 * 1024);
    struct heap_block hb;
    if (!blk || !heap_find((uintptr_t)blk, &hb)) {
        printf("skip: no heap block\n");
        return;
    }
    memset(blk, 0, hb.size);   /* touch every page: untouched ones are not reported */
    struct stopped_thread st = { .tid = 77777, .sp = (uintptr_t)blk + 40000 };
    struct world w = { .threads = &st, .count = 1 };
    enumerate(&w);
    int found = 0;
    for (size_t i = 0; i < nrecs; i++)
        if (recs[i].kind == ROOT_STACK && recs[i].a == st.sp - 128 &&
            recs[i].b == hb.start + hb.size + 1 && strcmp(recs[i].what, "thread 77777") == 0)
            found = 1;
    if (!found)
        for (size_t i = 0; i < nrecs; i++)
            if (strstr(recs[i].what, "77777"))
                printf("  got %#lx-%#lx kind %d; want %#lx-%#lx\n", (unsigned long)recs[i].a,
                       (unsigned long)recs[i].b, recs[i].kind, (unsigned long)(st.sp - 128),
                       (unsigned long)(hb.start + hb.size + 1));
    check(found, "a stack pointer inside a heap block: [sp - 128, end of block) is a stack root");
    expect_none(blk + 1000, "the part of that heap block below sp");
}

/* ---- mappings ----------------------------------------------------------- */

static void test_anon(const char *label)
{
    size_t size = 64u << 20;
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    m[100 * PAGE + 64] = 1;
    volatile char c = m[200 * PAGE];     /* read only: the shared zero page */
    (void)c;
    enumerate(&(struct world){ 0 });
    char msg[128];
    snprintf(msg, sizeof msg, "[%s] a written page of a fresh 64 MiB mapping", label);
    expect_kind(m + 100 * PAGE + 64, ROOT_MAPPING, msg);
    snprintf(msg, sizeof msg, "[%s] an untouched page of it", label);
    if (roots_pages_method() == ROOTS_PAGES_ALL) {
        check(covered(m + 10000 * PAGE, 8) != NULL,
              "[all] without pagemap the untouched page is scanned (safe fallback)");
    } else {
        expect_none(m + 10000 * PAGE, msg);
        size_t bytes = 0;
        for (size_t i = 0; i < nrecs; i++)
            if (recs[i].a < (uintptr_t)m + size && recs[i].b > (uintptr_t)m)
                bytes += recs[i].b - recs[i].a;
        snprintf(msg, sizeof msg, "[%s] at most 2 pages of it reported (%zu bytes)", label, bytes);
        check(bytes <= 2 * PAGE, msg);
    }
    if (roots_pages_method() == ROOTS_PAGES_SCAN)
        expect_none(m + 200 * PAGE, "[scan] a page only read (zero page)");
    munmap(m, size);
}

static void test_own_ranges(void)
{
    char *a = os_map(1 << 20);
    char *r = os_reserve(16 << 20);
    if (!a || !r || os_commit(r, 1 << 20)) {
        fprintf(stderr, "FAIL: os_map/os_reserve\n");
        exit(1);
    }
    memset(a, 1, 1 << 20);
    memset(r, 1, 1 << 20);
    /* A program mapping the kernel keeps as one VMA with a registered
     * range: only the registered half is reclaim's. */
    char *mix = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    os_register(mix, 1 << 20);
    mix[10] = 1;
    mix[(1 << 20) + 10] = 1;

    enumerate(&(struct world){ 0 });
    struct os_range own[512];
    size_t n = os_ranges(own, 512);
    int bad = 0;
    for (size_t i = 0; i < nrecs; i++)
        for (size_t j = 0; j < n; j++)
            if (recs[i].kind != ROOT_REGS && recs[i].a < own[j].end && own[j].start < recs[i].b)
                bad++;
    check(n >= 3 && bad == 0, "no reported range overlaps reclaim's own ranges (os_ranges)");
    expect_none(mix + 10, "the registered half of a merged mapping");
    expect_kind(mix + (1 << 20) + 8, ROOT_MAPPING, "the program's half of a merged mapping");
    os_unregister(mix);
    munmap(mix, 2 << 20);
}

static void test_shared(void)
{
    size_t size = 16u << 20;
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    m[3 * PAGE + 8] = 1;
    enumerate(&(struct world){ 0 });
    expect_kind(m + 3 * PAGE + 8, ROOT_MAPPING, "a written page of a shared anonymous mapping");
    expect_none(m + 100 * PAGE, "an untouched page of it");

    /* After fork the child has no page-table entries for inherited shared
     * mappings, yet their contents are there. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        enumerate(&(struct world){ 0 });
        const struct rec *r = covered(m + 3 * PAGE + 8, 8);
        _exit(r && !covered(m + 100 * PAGE, 8) ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "in a forked child, the inherited written shared page is reported (untouched is not)");
    munmap(m, size);

    /* A file-backed shared mapping longer than its file: reading past EOF
     * would be SIGBUS, so those pages must not be reported. */
    FILE *f = tmpfile();
    if (!f || ftruncate(fileno(f), PAGE)) {
        perror("tmpfile");
        exit(1);
    }
    char *fm = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0);
    fm[16] = 1;
    read_ranges = 1;
    enumerate(&(struct world){ 0 });
    read_ranges = 0;
    expect_kind(fm + 16, ROOT_MAPPING, "a written page of a file-backed shared mapping");
    expect_none(fm + 2 * PAGE, "its pages past the end of the file");
    munmap(fm, 4 * PAGE);
    fclose(f);
}

/* More mappings than the first /proc/self/maps buffer holds. */
static void test_many_mappings(void)
{
    enum { N = 6000 };
    char *m = mmap(NULL, (size_t)N * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < N; i += 2)    /* alternate protections: no merging */
        mprotect(m + (size_t)i * PAGE, PAGE, PROT_READ);
    m[(size_t)(N - 1) * PAGE + 8] = 1;
    enumerate(&(struct world){ 0 });
    expect_kind(m + (size_t)(N - 1) * PAGE + 8, ROOT_MAPPING,
                "a written page in the last of 6000 mappings (maps buffer grows)");
    munmap(m, (size_t)N * PAGE);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(recs, 0, sizeof recs);   /* make the record array resident up front */
    test_bss[12345] = 1;

    enumerate(&(struct world){ 0 });
    const char *names[] = { "auto", "pagemap-scan", "pagemap-read", "all" };
    printf("touched pages found with: %s\n", names[roots_pages_method()]);
    check(roots_pages_method() != ROOTS_PAGES_AUTO, "a page method was chosen");

    expect_kind(&test_global, ROOT_MAPPING, "a .data global");
    expect_kind(&test_bss[12344], ROOT_MAPPING, "a written .bss global");

    volatile uintptr_t local = 0x4242;
    deep(8);
    uintptr_t dead = dead_addr;
    enumerate(&(struct world){ 0 });
    expect_kind((const void *)&local, ROOT_STACK, "a local of the current frame");
    expect_none((void *)dead, "the caller's dead stack below sp");
    check(covered(&tls_var, 8) != NULL, "the main thread's static TLS is reported");

    /* RSS: enumerating (and reading every reported word, as the marker
     * will) must not make untouched memory resident. */
    char *big = mmap(NULL, 256u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    big[5 * PAGE] = 1;
    read_ranges = 1;
    enumerate(&(struct world){ 0 });
    long before = rss_pages();
    enumerate(&(struct world){ 0 });
    enumerate(&(struct world){ 0 });
    long after = rss_pages();
    read_ranges = 0;
    char msg[128];
    snprintf(msg, sizeof msg, "anonymous RSS does not grow from enumerating and reading the roots (%ld -> %ld pages)",
             before, after);
    check(after - before <= 4, msg);
    munmap(big, 256u << 20);

    test_anon("auto");
    test_own_ranges();
    test_shared();
    test_threads();
    test_heap_stack();
    test_many_mappings();

    roots_force_pages_method(ROOTS_PAGES_READ);
    test_anon("read");
    roots_force_pages_method(ROOTS_PAGES_ALL);
    test_anon("all");
    read_ranges = 1;
    enumerate(&(struct world){ 0 });   /* every reported word still readable */
    read_ranges = 0;
    roots_force_pages_method(ROOTS_PAGES_AUTO);
    test_anon("auto again");

    if (failures) {
        printf("roots_test: %d FAILED\n", failures);
        return 1;
    }
    printf("roots_test: all passed\n");
    return 0;
}
