/* Thin wrappers over mmap/mprotect/madvise plus the list of reclaim's own
 * mappings. The list is a fixed array so it can be read while the world is
 * stopped without taking anything a stopped thread might hold. */
#include "os.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "../util/lock.h"

#define MAX_RANGES 256

static struct os_range ranges[MAX_RANGES];
static lock_t ranges_lock = LOCK_INIT;

void *os_reserve(size_t size)
{
    int saved = errno;
    void *p = mmap(NULL, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    errno = saved;
    if (p == MAP_FAILED)
        return NULL;
    os_register(p, size);
    return p;
}

int os_commit(void *addr, size_t size)
{
    int saved = errno;
    int r = mprotect(addr, size, PROT_READ | PROT_WRITE);
    errno = saved;
    return r;
}

void os_hugepages(void *addr, size_t size)
{
    int saved = errno;
    madvise(addr, size, MADV_HUGEPAGE);
    errno = saved;
}

void os_decommit(void *addr, size_t size)
{
    int saved = errno;
    madvise(addr, size, MADV_DONTNEED);
    errno = saved;
}

static void register_locked(void *addr, size_t size)
{
    for (size_t i = 0; i < MAX_RANGES; i++) {
        if (!ranges[i].start) {
            ranges[i].end = (uintptr_t)addr + size;
            __atomic_store_n(&ranges[i].start, (uintptr_t)addr, __ATOMIC_RELEASE);
            break;
        }
    }
}

static void unregister_locked(void *addr)
{
    for (size_t i = 0; i < MAX_RANGES; i++)
        if (ranges[i].start == (uintptr_t)addr)
            __atomic_store_n(&ranges[i].start, 0, __ATOMIC_RELEASE);
}

void os_register(void *addr, size_t size)
{
    lock_acquire(&ranges_lock);
    register_locked(addr, size);
    lock_release(&ranges_lock);
}

void os_unregister(void *addr)
{
    lock_acquire(&ranges_lock);
    unregister_locked(addr);
    lock_release(&ranges_lock);
}

/* For the collector, which holds os_lock_all() while the world is stopped. */
void *os_map_locked(size_t size)
{
    int saved = errno;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    if (p == MAP_FAILED)
        return NULL;
    register_locked(p, size);
    return p;
}

void os_unmap_locked(void *addr, size_t size)
{
    int saved = errno;
    unregister_locked(addr);
    munmap(addr, size);
    errno = saved;
}

void *os_map(size_t size)
{
    lock_acquire(&ranges_lock);
    void *p = os_map_locked(size);
    lock_release(&ranges_lock);
    return p;
}

void os_unmap(void *addr, size_t size)
{
    lock_acquire(&ranges_lock);
    os_unmap_locked(addr, size);
    lock_release(&ranges_lock);
}

size_t os_ranges(struct os_range *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < MAX_RANGES && n < max; i++) {
        uintptr_t s = __atomic_load_n(&ranges[i].start, __ATOMIC_ACQUIRE);
        if (s) {
            out[n].start = s;
            out[n].end = ranges[i].end;
            n++;
        }
    }
    return n;
}

#define META_CHUNK (1u << 20)

static lock_t meta_lock = LOCK_INIT;
static char *meta_cur, *meta_end;

void *meta_alloc(size_t size)
{
    size = (size + 63) & ~(size_t)63;
    lock_acquire(&meta_lock);
    if ((size_t)(meta_end - meta_cur) < size) {
        size_t chunk = size > META_CHUNK ? (size + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1)
                                         : META_CHUNK;
        char *p = os_map(chunk);
        if (!p) {
            lock_release(&meta_lock);
            return NULL;
        }
        meta_cur = p;
        meta_end = p + chunk;
    }
    void *r = meta_cur;
    meta_cur += size;
    lock_release(&meta_lock);
    return r;
}

/* fork: the child must not inherit a lock held by a thread that vanished. */
/* Order: meta before ranges, as meta_alloc -> os_map -> os_register. */
void os_lock_all(void)
{
    lock_acquire(&meta_lock);
    lock_acquire(&ranges_lock);
}

void os_unlock_all(void)
{
    lock_release(&ranges_lock);
    lock_release(&meta_lock);
}
