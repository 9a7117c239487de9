/* The stack table behind leaks mode. Every allocation unwinds its caller's
 * stack with libunwind's unw_backtrace (DWARF-based, with libunwind's
 * per-PC trace cache, so a warm capture costs a few nanoseconds a frame)
 * and looks the return addresses up in an open-addressing index without
 * taking a lock: entries are immutable once published and old index
 * tables are never unmapped, so a reader can only miss, never misread. A
 * miss resolves the frames to modules (dl_iterate_phdr) and then inserts
 * under the table's own lock, held for a copy and a few stores only.
 *
 * Lock order: the loader's locks (and libunwind's) are never requested
 * while one of ours is held, so a thread that allocates from inside the
 * loader (dlopen) cannot deadlock against one capturing. The module lock
 * is taken only inside the dl_iterate_phdr callback, under the loader's
 * lock, never the other way round.
 *
 * All memory is one reservation of reclaim's own (never the heap),
 * committed as the tables grow. */
#define _GNU_SOURCE
#include "stack.h"

#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "../heap/heap.h"
#include "../heap/os.h"
#include "../util/lock.h"
#include "../util/log.h"
#include "unwind.h"

#define CAPTURE_FRAMES (STACK_MAX_FRAMES + 8)  /* reclaim's own frames come first */
#define INDEX_FIRST    4096u                   /* slots of the first index table */
#define MAX_MODULES    65535u                  /* a module id has 16 bits */
#define PATHS_BYTES    (4u << 20)
#define COMMIT_STEP    (256u << 10)

struct entry {
    uint64_t hash;
    uint64_t frames;      /* index in pool: pcs[n], then locs[n] */
    uint32_t n;
    uint32_t pad;
};

struct index {
    uint32_t mask;
    uint32_t pad[15];     /* slots start on their own cache line */
    _Atomic uint32_t slots[];
};

struct module {
    uintptr_t bias;
    uint32_t path;        /* offset in the path pool */
    uint32_t len;
};

/* A slice of the reservation, committed up to `committed` on demand. */
struct area {
    char *base;
    size_t size, used, committed;
};

int stack_enabled;                  /* stack_note calls stack_tag */
static int stack_ready;             /* ... which captures */

static struct area entries_area, pool_area, index_area, modules_area, paths_area;
static struct entry *entries;              /* by id; entries[0] unused */
static uint64_t *pool;
static struct module *modules;             /* by id; modules[0] unused */
static _Atomic(struct index *) index_cur;
static _Atomic uint32_t nstacks, nmodules;
static lock_t table_lock = LOCK_INIT, module_lock = LOCK_INIT;
static char exe_path[4096] COLD_BSS;

/* Raised while this thread reports: its allocations get tag 0. */
static __thread int stack_busy;
/* Raised while this thread loads libunwind or captures a stack: what the
 * loader and libunwind allocate then (libunwind's dynamic TLS block in
 * each thread, for one) is the library's own, tagged STACK_ID_OWN. */
static __thread int stack_own;

/* Makes area bytes [0, need) usable. Called with the area's lock held. */
static int area_ensure(struct area *a, size_t need)
{
    if (need <= a->committed)
        return 0;
    if (need > a->size)
        return -1;
    size_t to = (need + COMMIT_STEP - 1) & ~(size_t)(COMMIT_STEP - 1);
    if (to > a->size)
        to = a->size;
    if (os_commit(a->base + a->committed, to - a->committed))
        return -1;
    a->committed = to;
    return 0;
}

static size_t index_bytes(uint32_t slots)
{
    return (sizeof(struct index) + (size_t)slots * sizeof(uint32_t) + 63) & ~(size_t)63;
}

/* The next index table, carved from the index area (tables are never
 * reused: a reader may still be probing an old one). */
static struct index *index_new(uint32_t slots)
{
    size_t bytes = index_bytes(slots);
    if (area_ensure(&index_area, index_area.used + bytes))
        return NULL;
    struct index *ix = (struct index *)(index_area.base + index_area.used);
    index_area.used += bytes;
    ix->mask = slots - 1;
    return ix;
}

int stack_init(void)
{
    /* Tagging on before dlopen, so that what the loader and libunwind
     * allocate meanwhile is marked as ours; capturing only once ready. */
    stack_own = 1;
    __atomic_store_n(&stack_enabled, 1, __ATOMIC_RELEASE);
    int failed = unwind_load();
    stack_own = 0;
    if (failed)
        goto off;
    /* One reservation; every table has its worst case set aside, so none
     * of them ever moves. */
    size_t entries_bytes = ((size_t)STACK_ID_MAX + 1) * sizeof(struct entry);
    size_t pool_bytes = ((size_t)STACK_ID_MAX + 1) * STACK_MAX_FRAMES * 2 * sizeof(uint64_t);
    size_t index_total = 0;
    for (uint32_t s = INDEX_FIRST; s <= 2u * (STACK_ID_MAX + 1); s *= 2)
        index_total += index_bytes(s);
    size_t modules_bytes = ((size_t)MAX_MODULES + 1) * sizeof(struct module);
    struct area *areas[] = { &entries_area, &pool_area, &index_area, &modules_area, &paths_area };
    size_t sizes[] = { entries_bytes, pool_bytes, index_total, modules_bytes, PATHS_BYTES };
    size_t total = 0;
    for (size_t i = 0; i < 5; i++) {
        sizes[i] = (sizes[i] + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
        total += sizes[i];
    }
    char *base = os_reserve(total);
    if (!base) {
        log_line("leaks mode: cannot reserve %zu bytes for the stack table; "
                 "allocation stacks are not recorded", total);
        goto off;
    }
    for (size_t i = 0; i < 5; i++) {
        areas[i]->base = base;
        areas[i]->size = sizes[i];
        base += sizes[i];
    }
    entries = (struct entry *)entries_area.base;
    pool = (uint64_t *)pool_area.base;
    modules = (struct module *)modules_area.base;
    struct index *ix = index_new(INDEX_FIRST);
    if (!ix || area_ensure(&entries_area, sizeof(struct entry)) ||
        area_ensure(&modules_area, sizeof(struct module))) {
        log_line("leaks mode: cannot commit memory for the stack table; "
                 "allocation stacks are not recorded");
        goto off;
    }
    atomic_store_explicit(&index_cur, ix, memory_order_release);

    /* The main program appears in dl_iterate_phdr with an empty name. */
    int saved = errno;
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    errno = saved;
    if (n <= 0)
        n = 0;
    exe_path[n] = '\0';

    /* Per-thread caches: libunwind's global one takes a lock and masks
     * signals (two system calls) on every step outside the trace cache. */
    unwind.set_caching_policy(*unwind.local_addr_space, UNW_CACHE_PER_THREAD);
    __atomic_store_n(&stack_ready, 1, __ATOMIC_RELEASE);
    return 0;
off:
    __atomic_store_n(&stack_enabled, 0, __ATOMIC_RELEASE);
    return -1;
}

int stack_suspend(int on)
{
    int was = stack_busy;
    stack_busy = on;
    return was;
}

static ALWAYS_INLINE uint64_t hash_frames(const uintptr_t *pcs, unsigned n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ pcs[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h | 1;   /* never 0, so an entry's hash is never mistaken for empty */
}

/* A few dozen words: a plain loop beats a call to memcmp. */
static ALWAYS_INLINE int same_frames(const uint64_t *a, const uintptr_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static uint32_t index_find(const struct index *ix, uint64_t h, const uintptr_t *pcs, unsigned n)
{
    for (uint32_t i = (uint32_t)h & ix->mask;; i = (i + 1) & ix->mask) {
        uint32_t id = atomic_load_explicit(&ix->slots[i], memory_order_acquire);
        if (!id)
            return 0;
        const struct entry *e = &entries[id];
        if (e->hash == h && e->n == n && same_frames(pool + e->frames, pcs, n))
            return id;
    }
}

static void index_put(struct index *ix, uint64_t h, uint32_t id)
{
    uint32_t i = (uint32_t)h & ix->mask;
    while (atomic_load_explicit(&ix->slots[i], memory_order_relaxed))
        i = (i + 1) & ix->mask;
    atomic_store_explicit(&ix->slots[i], id, memory_order_release);
}

/* ---- modules ---- */

/* The id of the module loaded at bias from path, added if new (0 when the
 * table is full). Called inside dl_iterate_phdr: takes only the module
 * lock, which nothing else nests around. */
static uint32_t module_id(const char *path, uintptr_t bias)
{
    if (!path || !*path)
        path = exe_path;
    size_t len = strlen(path);
    uint32_t id = 0;
    lock_acquire(&module_lock);
    uint32_t n = atomic_load_explicit(&nmodules, memory_order_relaxed);
    for (uint32_t i = n; i >= 1 && !id; i--) {
        const struct module *m = &modules[i];
        if (m->bias == bias && m->len == len && !memcmp(paths_area.base + m->path, path, len))
            id = i;
    }
    if (!id && n < MAX_MODULES && len < PATHS_BYTES &&
        !area_ensure(&paths_area, paths_area.used + len + 1) &&
        !area_ensure(&modules_area, (n + 2) * sizeof(struct module))) {
        memcpy(paths_area.base + paths_area.used, path, len + 1);
        modules[n + 1].bias = bias;
        modules[n + 1].path = (uint32_t)paths_area.used;
        modules[n + 1].len = (uint32_t)len;
        paths_area.used += len + 1;
        /* Published last: a reader (or a fork child) never sees half a module. */
        atomic_store_explicit(&nmodules, n + 1, memory_order_release);
        id = n + 1;
    }
    lock_release(&module_lock);
    return id;
}

#define LOC_NONE UINT64_MAX

struct resolve {
    const uintptr_t *pcs;
    uint64_t *locs;
    unsigned n, left;
};

/* One loaded object: claims the frames inside its executable segments. */
static int resolve_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct resolve *r = data;
    uint32_t mid = 0;
    for (unsigned k = 0; k < info->dlpi_phnum; k++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        for (unsigned i = 0; i < r->n; i++) {
            if (r->locs[i] != LOC_NONE || r->pcs[i] < lo || r->pcs[i] >= hi)
                continue;
            if (!mid)
                mid = module_id(info->dlpi_name, info->dlpi_addr);
            if (!mid)
                return 1;   /* module table full: the rest stay addresses */
            r->locs[i] = (uint64_t)mid << 48 | STACK_LOC_OFFSET(r->pcs[i] - info->dlpi_addr);
            r->left--;
        }
    }
    return r->left == 0;
}

/* (module, offset) for every frame, while the modules are loaded. */
static void resolve(const uintptr_t *pcs, uint64_t *locs, unsigned n)
{
    struct resolve r = { pcs, locs, n, n };
    for (unsigned i = 0; i < n; i++)
        locs[i] = LOC_NONE;
    if (n)
        dl_iterate_phdr(resolve_cb, &r);
    for (unsigned i = 0; i < n; i++)
        if (locs[i] == LOC_NONE)
            locs[i] = STACK_LOC_OFFSET(pcs[i]);   /* module 0: the address itself */
}

/* Adds a stack (already resolved) unless another thread just did. */
static uint32_t insert(uint64_t h, const uintptr_t *pcs, const uint64_t *locs, unsigned n)
{
    lock_acquire(&table_lock);
    struct index *ix = atomic_load_explicit(&index_cur, memory_order_relaxed);
    uint32_t id = index_find(ix, h, pcs, n);
    if (id)
        goto out;
    uint32_t count = atomic_load_explicit(&nstacks, memory_order_relaxed);
    size_t words = pool_area.used / sizeof(uint64_t);
    if (count + 1 >= STACK_ID_OWN ||
        area_ensure(&entries_area, (count + 2) * sizeof(struct entry)) ||
        area_ensure(&pool_area, pool_area.used + 2 * n * sizeof(uint64_t)))
        goto out;   /* full: this stack gets tag 0 */
    /* Keep the load at most one half: grow into a fresh table first. */
    if ((size_t)(count + 1) * 2 > (size_t)ix->mask + 1) {
        struct index *bigger = index_new((ix->mask + 1) * 2);
        if (!bigger)
            goto out;
        for (uint32_t i = 1; i <= count; i++)
            index_put(bigger, entries[i].hash, i);
        atomic_store_explicit(&index_cur, bigger, memory_order_release);
        ix = bigger;
    }
    id = count + 1;
    memcpy(pool + words, pcs, n * sizeof *pcs);
    memcpy(pool + words + n, locs, n * sizeof *locs);
    pool_area.used += 2 * n * sizeof(uint64_t);
    entries[id].hash = h;
    entries[id].frames = words;
    entries[id].n = n;
    /* The slot's release store publishes the entry; the count goes last,
     * so a fork child that lost a thread mid-insert reuses the id, and
     * the stale slot just fails every comparison. */
    index_put(ix, h, id);
    atomic_store_explicit(&nstacks, id, memory_order_release);
out:
    lock_release(&table_lock);
    return id;
}

/* The stack above the program's call that returns to caller. */
static ALWAYS_INLINE uint32_t capture(uintptr_t caller)
{
    void *buf[CAPTURE_FRAMES];
    int got = unwind.backtrace(buf, CAPTURE_FRAMES);
    /* Reclaim's own frames (unw_backtrace, stack_tag, the entry point and
     * whatever it called) end where the program's call returns to. */
    int first = -1;
    for (int i = 0; i < got && i < 8; i++) {
        if ((uintptr_t)buf[i] == caller) {
            first = i;
            break;
        }
    }
    if (first < 0)
        return 0;
    unsigned n = (unsigned)(got - first);
    if (n > STACK_MAX_FRAMES)
        n = STACK_MAX_FRAMES;
    /* Return addresses minus one: the call instruction, which is what
     * symbolizes to the calling line (a call can end a function). */
    uintptr_t pcs[STACK_MAX_FRAMES];
    for (unsigned i = 0; i < n; i++)
        pcs[i] = (uintptr_t)buf[first + i] - 1;
    uint64_t h = hash_frames(pcs, n);
    uint32_t id = index_find(atomic_load_explicit(&index_cur, memory_order_acquire), h, pcs, n);
    if (likely(id))
        return id;
    uint64_t locs[STACK_MAX_FRAMES];
    resolve(pcs, locs, n);
    return insert(h, pcs, locs, n);
}

static uint32_t slack_of(void *p, size_t n)
{
    struct heap_block b;
    if (!heap_find((uintptr_t)p, &b) || b.size < n || b.size - n >= STACK_SLACK_UNKNOWN)
        return STACK_SLACK_UNKNOWN;
    return (uint32_t)(b.size - n);
}

NOINLINE void stack_tag(void *p, size_t n, uintptr_t caller)
{
    uint32_t tag = 0;
    if (unlikely(stack_own)) {
        tag = STACK_ID_OWN;
    } else if (!stack_busy && __atomic_load_n(&stack_ready, __ATOMIC_ACQUIRE)) {
        stack_own = 1;
        int saved = errno;
        uint32_t id = capture(caller);
        errno = saved;
        stack_own = 0;
        if (id)
            tag = id | slack_of(p, n) << STACK_ID_BITS;
    }
    /* Always stored: a reused slot still holds its last block's tag. */
    heap_block_set_tag((uintptr_t)p, tag);
}

/* ---- reading ---- */

uint32_t stack_count(void)
{
    return atomic_load_explicit(&nstacks, memory_order_acquire);
}

unsigned stack_frames(uint32_t id, const uint64_t **locs, const uintptr_t **pcs)
{
    if (!id || id > stack_count())
        return 0;
    const struct entry *e = &entries[id];
    if (pcs)
        *pcs = (const uintptr_t *)(pool + e->frames);
    if (locs)
        *locs = pool + e->frames + e->n;
    return e->n;
}

uint32_t stack_module_count(void)
{
    return atomic_load_explicit(&nmodules, memory_order_acquire);
}

const char *stack_module_path(uint32_t mid)
{
    if (!mid || mid > stack_module_count())
        return "[unknown]";
    return paths_area.base + modules[mid].path;
}

uintptr_t stack_module_bias(uint32_t mid)
{
    if (!mid || mid > stack_module_count())
        return 0;
    return modules[mid].bias;
}

void stack_fork_child(void)
{
    lock_reset(&table_lock);
    lock_reset(&module_lock);
}
