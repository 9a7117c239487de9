/* Every call is thread-safe: several threads at once collect, retain and
 * release blocks whose only pointers are hidden, set finalizers on blocks
 * they then drop, and read weak references to blocks they keep and to
 * blocks they drop. Checked: a retained block is never lost or
 * overwritten; a weak reference to a kept block always reads it; one to a
 * dropped block reads NULL or an intact block (never a reclaimed one);
 * every finalizer runs exactly once; introspection calls racing with all
 * this neither crash nor deadlock. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api_test.h"

#define THREADS 6
#define ROUNDS 1000
#define HIDDEN 16
#define NFIN (THREADS * ROUNDS)

static _Atomic int fin_calls[NFIN];
static atomic_int failures;
static atomic_int stop;

static void fin(void *block, void *data)
{
    (void)block;
    atomic_fetch_add(&fin_calls[(intptr_t)data], 1);
}

static void fail(const char *what, int t, int r)
{
    fprintf(stderr, "thread %d round %d: %s\n", t, r, what);
    atomic_fetch_add(&failures, 1);
}

static API_NOINLINE uintptr_t new_retained(uintptr_t key)
{
    void *p = malloc(64 + key % 200);
    api_fill(p, 64, key);
    reclaim_retain(p);
    return api_mask(p);
}

static API_NOINLINE void drop_finalizable(int id)
{
    void *p = malloc(48);
    reclaim_set_finalizer(p, fin, (void *)(intptr_t)id);
}

static API_NOINLINE reclaim_weak *weak_to_dropped(uintptr_t key)
{
    void *p = malloc(80);
    api_fill(p, 80, key);
    return reclaim_weak_new(p);
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uintptr_t hidden[HIDDEN];
    uintptr_t keys[HIDDEN];
    void *kept[8];
    reclaim_weak *wk[8];
    for (int i = 0; i < HIDDEN; i++) {
        keys[i] = (uintptr_t)(t * 1000 + i);
        hidden[i] = new_retained(keys[i]);
    }
    for (int i = 0; i < 8; i++) {
        kept[i] = malloc(32);
        wk[i] = reclaim_weak_new(kept[i]);
    }
    for (int r = 0; r < ROUNDS; r++) {
        int i = r % HIDDEN;
        void *p = api_unmask(hidden[i]);
        if (reclaim_block_start(p) != p || !api_intact(p, 64, keys[i]))
            fail("retained block lost or overwritten", t, r);
        if (reclaim_refcount(p) != 1)
            fail("wrong count", t, r);
        /* Retain twice more and release back, then replace the block. */
        reclaim_retain(p);
        reclaim_retain(p);
        if (reclaim_release(p) != 2 || reclaim_release(p) != 1)
            fail("release counted wrong", t, r);
        if (r % 3 == 0) {
            if (reclaim_release(p) != 0)
                fail("release to zero", t, r);
            keys[i] += 7919;
            hidden[i] = new_retained(keys[i]);
        }
        p = NULL;

        drop_finalizable(t * ROUNDS + r);

        reclaim_weak *w = weak_to_dropped((uintptr_t)r);
        for (int k = 0; k < 3; k++) {
            void *g = reclaim_weak_get(w);
            if (g && (reclaim_block_start(g) != g || !api_intact(g, 80, (uintptr_t)r)))
                fail("weak reference returned a reclaimed block", t, r);
            api_garbage(20000, 100);
        }
        reclaim_weak_free(w);

        for (int k = 0; k < 8; k++)
            if (reclaim_weak_get(wk[k]) != kept[k])
                fail("weak reference to a kept block lost it", t, r);

        if (r % 25 == t % 25)
            reclaim_collect();
        if (t == 0 && r % 50 == 0) {
            void *out[4];
            reclaim_referrers(kept[0], out, 4);
            reclaim_stats s;
            reclaim_get_stats(&s);
        }
    }
    for (int i = 0; i < HIDDEN; i++)
        reclaim_release(api_unmask(hidden[i]));
    for (int i = 0; i < 8; i++) {
        reclaim_weak_free(wk[i]);
        free(kept[i]);
    }
    return NULL;
}

static int count_block(void *block, size_t size, void *data)
{
    (void)block;
    (void)size;
    (*(size_t *)data)++;
    return 0;
}

/* Walks the heap while the workers run. */
static void *walker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        size_t n = 0;
        reclaim_for_each_block(count_block, &n);
        usleep(1000);
    }
    return NULL;
}

Test(threads, collect_retain_release_finalize_and_weak_at_once, .timeout = 120)
{
    reclaim_set_threshold(1u << 20);
    size_t c0 = api_collections();
    pthread_t th[THREADS], w;
    pthread_create(&w, NULL, walker, NULL);
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&stop, 1);
    pthread_join(w, NULL);
    cr_assert_eq(atomic_load(&failures), 0);
    /* The explicit ones alone: THREADS * ROUNDS / 25. */
    size_t ran = api_collections() - c0;
    cr_assert_geq(ran, THREADS * ROUNDS / 25, "only %zu collections ran", ran);
    cr_log_info("%zu collections", ran);
    /* Every dropped finalizable block is found within a few collections. */
    for (int i = 0; i < 4; i++)
        api_collect();
    int missing = 0, twice = 0;
    for (int i = 0; i < NFIN; i++) {
        missing += fin_calls[i] == 0;
        twice += fin_calls[i] > 1;
    }
    cr_assert_eq(twice, 0, "%d finalizers ran more than once", twice);
    /* Conservative: a stale word may keep a few dropped blocks alive. */
    cr_assert_leq(missing, NFIN / 100, "%d of %d finalizers never ran", missing, NFIN);
}

/* Blocks being allocated while another thread collects. A collection
 * stops each thread wherever it is, inside malloc too; a block it may
 * find allocated there must also be found from the register that holds
 * its address. Large blocks once became LARGE in their descriptor before
 * the page map named them: a collection stopping the thread in between
 * swept a block it could not find, and threaded `git grep` lost a zlib
 * window about once in a hundred runs. Here twelve threads allocate,
 * fill, check and free large blocks as fast as they can, preempting each
 * other at random points on a machine with fewer cores, while another
 * thread collects every half millisecond (not back to back, which would
 * keep them waiting on the heap's locks instead). A block swept under its
 * owner is refilled by another thread (a broken pattern) or freed twice
 * (abort). Before the fix this failed within a second. */
#define CHURNERS 12
#define CHURN_COLLECTIONS 400

static void *alloc_churner(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    static const size_t sizes[] = { 20000, 40000, 70000, 200 };
    for (int r = 0; !atomic_load_explicit(&stop, memory_order_relaxed); r++) {
        size_t n = sizes[(size_t)r % (sizeof sizes / sizeof sizes[0])];
        uintptr_t key = t << 32 | (uintptr_t)r;
        void *p = malloc(n);
        api_fill(p, n < 256 ? n : 256, key);
        if (!api_intact(p, n < 256 ? n : 256, key))
            fail("a block changed under its owner", (int)t, r);
        free(p);
    }
    return NULL;
}

static void *collector(void *arg)
{
    (void)arg;
    reclaim_stats s;
    do {
        reclaim_collect();
        usleep(500);
        reclaim_get_stats(&s);
    } while (s.collections < CHURN_COLLECTIONS);
    atomic_store(&stop, 1);
    return NULL;
}

Test(threads, blocks_allocated_during_collections_stay_allocated, .timeout = 120)
{
    pthread_t c, w[CHURNERS];
    atomic_store(&stop, 0);
    for (int t = 0; t < CHURNERS; t++)
        cr_assert_eq(pthread_create(&w[t], NULL, alloc_churner, (void *)(intptr_t)t), 0);
    cr_assert_eq(pthread_create(&c, NULL, collector, NULL), 0);
    pthread_join(c, NULL);
    for (int t = 0; t < CHURNERS; t++)
        pthread_join(w[t], NULL);
    cr_assert_eq(atomic_load(&failures), 0);
}

#if defined(__x86_64__)
/* A pointer held only in a vector register of a stopped thread. Compilers
 * copy structs and glibc moves memory through SSE/AVX registers, so at
 * the instant a collection stops a thread, the only copy of a pointer can
 * be in one (a swap: one element loaded, the other stored over it). Here
 * a thread builds the pointer inside xmm15 (masked in a general register,
 * unmasked in the vector unit), clears the general registers that saw it,
 * and spins while the main thread collects: the block must survive. */
static atomic_int vec_phase;
static uintptr_t vec_back;

static API_NOINLINE void *vec_holder(void *arg)
{
    (void)arg;
    uintptr_t m = api_new_masked(96, 42);
    api_scrub();
    __asm__ __volatile__("movq %0, %%xmm15\n\t"
                         "movq %1, %%xmm14\n\t"
                         "pxor %%xmm14, %%xmm15\n\t"
                         "pxor %%xmm14, %%xmm14\n\t"
                         "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t"
                         "xorl %%esi, %%esi\n\txorl %%edi, %%edi\n\txorl %%r8d, %%r8d\n\t"
                         "xorl %%r9d, %%r9d\n\txorl %%r10d, %%r10d\n\txorl %%r11d, %%r11d"
                         : : "r"(m), "r"(API_MASK)
                         : "xmm14", "xmm15", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                           "r10", "r11", "memory");
    m = 0;
    atomic_store(&vec_phase, 1);
    while (atomic_load(&vec_phase) != 2)
        ;
    uintptr_t back;
    __asm__ __volatile__("movq %%xmm15, %0" : "=r"(back) : : "xmm15");
    vec_back = back;
    return NULL;
}

Test(threads, a_pointer_only_in_a_vector_register_keeps_its_block, .timeout = 60)
{
    pthread_t t;
    atomic_store(&vec_phase, 0);
    cr_assert_eq(pthread_create(&t, NULL, vec_holder, NULL), 0);
    while (atomic_load(&vec_phase) != 1)
        sched_yield();
    size_t before = api_collections();
    api_collect();
    api_collect();
    cr_assert_geq(api_collections(), before + 2);
    atomic_store(&vec_phase, 2);
    pthread_join(t, NULL);
    void *p = (void *)vec_back;
    cr_assert_eq(reclaim_block_start(p), p, "the block held in xmm15 was reclaimed");
    cr_assert(api_intact(p, 96, 42), "the block held in xmm15 was overwritten");
}
#endif
