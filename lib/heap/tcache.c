/* Thread cache life cycle: created on a thread's first allocation, given
 * back by a pthread key destructor when the thread exits, and orphaned in
 * a fork child for every thread that did not survive the fork. A thread
 * whose cache is gone (late destructors) shares one locked orphan cache. */
#include "tcache.h"

#include <pthread.h>
#include <string.h>

#include "../util/lock.h"
#include "small.h"

__thread struct tcache *tc_self __attribute__((tls_model("initial-exec")));

static lock_t registry_lock = LOCK_INIT;
static struct tcache *registry;
static struct tcache *pool;          /* caches of exited threads, for reuse */
static pthread_key_t key;
/* The shared cache of threads that have none. Most processes never use
 * it: its first user sets it up (orphan_setup), nothing touches it
 * before, and it lies behind the rest of .bss (COLD_BSS). */
static struct tcache orphan COLD_BSS;
static lock_t orphan_lock = LOCK_INIT;

static void link_cache(struct tcache *tc)
{
    tc->prev = NULL;
    tc->next = registry;
    if (registry)
        registry->prev = tc;
    registry = tc;
}

static void unlink_cache(struct tcache *tc)
{
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        registry = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
}

static void destroy(void *arg)
{
    struct tcache *tc = arg;
    tc_self = TC_DEAD;
    small_abandon_all(tc, 0);
    lock_acquire(&registry_lock);
    unlink_cache(tc);
    tc->next = pool;
    pool = tc;
    lock_release(&registry_lock);
}

/* Slot sizes and list limits, so that a pop or a push needs nothing
 * outside its bin. */
static void set_sizes(struct tcache *tc)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        tc->bins[c].size = sizeclasses[c].size;
        tc->bins[c].limit = tcache_limit(c);
    }
}

int tcache_init(void)
{
    return pthread_key_create(&key, destroy) ? -1 : 0;
}

/* Under orphan_lock, by the orphan's first user. */
static NOINLINE void orphan_setup(void)
{
    set_sizes(&orphan);
    orphan.orphan = 1;
    lock_acquire(&registry_lock);
    link_cache(&orphan);
    lock_release(&registry_lock);
}

static struct tcache *create(void)
{
    lock_acquire(&registry_lock);
    struct tcache *tc = pool;
    if (tc)
        pool = tc->next;
    lock_release(&registry_lock);
    /* Fresh metadata is zero already (new mappings); only a reused cache
     * needs clearing. */
    if (tc)
        memset(tc, 0, sizeof *tc);
    else if (!(tc = meta_alloc(sizeof *tc)))
        return NULL;
    set_sizes(tc);
    lock_acquire(&registry_lock);
    link_cache(tc);
    lock_release(&registry_lock);
    /* Set before pthread_setspecific, which may itself call calloc. */
    tc_self = tc;
    pthread_setspecific(key, tc);
    return tc;
}

struct tcache *tcache_get(void)
{
    struct tcache *tc = tc_self;
    if ((uintptr_t)tc > (uintptr_t)TC_DEAD)
        return tc;
    if (!tc && (tc = create()))
        return tc;
    lock_acquire(&orphan_lock);
    if (unlikely(!orphan.orphan))
        orphan_setup();
    return &orphan;
}

void tcache_put(struct tcache *tc)
{
    if (tc->orphan)
        lock_release(&orphan_lock);
}

void tcache_lock_all(void)
{
    lock_acquire(&orphan_lock);
    lock_acquire(&registry_lock);
}

void tcache_unlock_all(void)
{
    lock_release(&registry_lock);
    lock_release(&orphan_lock);
}

void tcache_for_each_cached(void (*fn)(void *p))
{
    for (struct tcache *tc = registry; tc; tc = tc->next) {
        for (unsigned c = 0; c < SC_COUNT; c++) {
            /* The bound stops a cycle a dangling write made (a healthy
             * list never holds more than the limit). */
            unsigned n = 0;
            for (void *p = tc->bins[c].head; p && n <= tcache_limit(c) && tcache_slot_ok(p); n++) {
                void *next = tcache_link(p);
                fn(p);
                p = next;
            }
        }
    }
}

void tcache_fork_child(void)
{
    /* Called with every lock held by the forking thread. The other
     * threads are gone; their caches' spans become shared again. */
    struct tcache *self = tc_self;
    struct tcache *tc = registry;
    while (tc) {
        struct tcache *next = tc->next;
        if (tc != self && !tc->orphan) {
            small_abandon_all(tc, 1);
            unlink_cache(tc);
            tc->next = pool;
            pool = tc;
        }
        tc = next;
    }
}
