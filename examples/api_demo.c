/* api_demo: the explicit-control API of <reclaim.h> in one small program.
 *
 * A toy document store. Documents point at each other (links go both
 * ways, so they form cycles); an index keeps weak references to them, so
 * that it never keeps a document alive by itself; each document has a
 * finalizer that notes when it goes. The program then:
 *
 *   1. loses a cycle of three documents: one collection finalizes all
 *      three and clears their weak references, a later one reclaims them;
 *   2. hands a document to "the outside world" as a number (its address
 *      XOR-ed, as a file or the kernel might keep it): reclaim_retain keeps
 *      it alive, reclaim_release frees it at once;
 *   3. keeps text in reclaim_malloc_atomic buffers (never scanned);
 *   4. asks reclaim_explain why a document is alive, and
 *      reclaim_referrers who points at it;
 *   5. watches collections with reclaim_on_collect.
 *
 * Build: cc api_demo.c -lreclaim (or run under LD_PRELOAD=libreclaim.so).
 * It prints what happens and checks it against what reclaim(3) promises:
 * it exits 1, naming the difference, if anything is off. `make check`
 * runs it. */
#include <reclaim.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct doc {
    struct doc *link;          /* the next document of its cycle */
    char *text;                /* an atomic buffer: holds no pointers */
    char name[16];
};

static int failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "  ok:" : "  FAILED:", what);
    if (!ok)
        failed = 1;
}

/* ---- finalizers: who went, in what order (unspecified) ---- */

static char gone[256];

static void doc_finalizer(void *block, void *data)
{
    struct doc *d = block;
    /* The document is intact here, and so is what it points to. */
    (void)data;
    strncat(gone, d->name, sizeof gone - strlen(gone) - 2);
    strcat(gone, " ");
}

static struct doc *new_doc(const char *name, const char *text)
{
    struct doc *d = reclaim_malloc(sizeof *d);       /* zero-filled */
    snprintf(d->name, sizeof d->name, "%s", name);
    d->text = reclaim_malloc_atomic(strlen(text) + 1);
    strcpy(d->text, text);
    reclaim_set_finalizer(d, doc_finalizer, NULL);
    return d;
}

/* ---- a lost cycle ---- */

static reclaim_weak *index_of[3];

/* Out of line, so that no pointer to the cycle is left in main's frame. */
static __attribute__((noinline)) void make_lost_cycle(void)
{
    struct doc *a = new_doc("alpha", "first"), *b = new_doc("beta", "second"),
               *c = new_doc("gamma", "third");
    a->link = b;
    b->link = c;
    c->link = a;
    index_of[0] = reclaim_weak_new(a);
    index_of[1] = reclaim_weak_new(b);
    index_of[2] = reclaim_weak_new(c);
}

/* A conservative collector treats every word that looks like a pointer as
 * one; stale copies in the dead part of the stack are not scanned, but a
 * demo that must behave the same on every run clears them anyway. */
static __attribute__((noinline)) void clear_dead_stack(void)
{
    volatile char junk[16384];
    memset((char *)junk, 0, sizeof junk);
}

static size_t collect(void)
{
    clear_dead_stack();
    return reclaim_collect();
}

/* ---- the outside world keeps a number, not a pointer ---- */

#define MASK ((uintptr_t)0x5a5aa5a5c3c33c3cull)

static __attribute__((noinline)) uintptr_t give_away(void)
{
    struct doc *d = new_doc("delta", "kept by a number");
    return (uintptr_t)reclaim_retain(d) ^ MASK;
}

/* ---- collection callbacks ---- */

static int starts, ends;

static void on_collect(int event, const reclaim_stats *stats, void *data)
{
    (void)stats;
    (void)data;
    if (event == RECLAIM_EVENT_START)
        starts++;
    else if (event == RECLAIM_EVENT_END)
        ends++;
}

/* A global: a root. volatile only so that the compiler stores it at once
 * instead of keeping it in a register, which would make the chain that
 * reclaim_explain prints start on the stack. */
static struct doc *volatile library;

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Only the collections this program asks for, so that every run
     * prints the same thing. */
    reclaim_disable();
    reclaim_on_collect(on_collect, NULL);

    printf("1. a lost cycle of three documents\n");
    make_lost_cycle();
    check(reclaim_weak_get(index_of[0]) != NULL, "the index sees alpha before any collection");
    collect();
    check(strlen(gone) == strlen("alpha beta gamma ") && strstr(gone, "alpha") &&
          strstr(gone, "beta") && strstr(gone, "gamma"),
          "one collection finalized alpha, beta and gamma (a cycle, in any order)");
    check(!reclaim_weak_get(index_of[0]) && !reclaim_weak_get(index_of[1]) &&
          !reclaim_weak_get(index_of[2]),
          "their weak references read NULL");
    reclaim_stats before, after;
    reclaim_get_stats(&before);
    collect();
    reclaim_get_stats(&after);
    check(after.reclaimed_blocks - before.reclaimed_blocks >= 6,
          "the next collection reclaimed them and their text buffers");
    for (int i = 0; i < 3; i++)
        reclaim_weak_free(index_of[i]);

    printf("2. a document known only by a number\n");
    gone[0] = '\0';
    uintptr_t number = give_away();
    collect();
    collect();
    struct doc *d = (struct doc *)(number ^ MASK);
    check(reclaim_refcount(d) == 1 && !strcmp(d->name, "delta") &&
          !strcmp(d->text, "kept by a number"),
          "retained: it and its text survived two collections");
    check(reclaim_release(d) == 0 && !strcmp(gone, "delta "), "released to zero: finalized...");
    check(reclaim_block_start(d) == NULL, "...and freed at once, without a collection");

    printf("3. why is a document alive?\n");
    library = new_doc("epsilon", "in the library");
    struct doc *zeta = new_doc("zeta", "linked from epsilon");
    library->link = zeta;
    void *who[4];
    check(reclaim_referrers(zeta, who, 4) == 1 && who[0] == library,
          "reclaim_referrers: only epsilon points at zeta");
    check(reclaim_referrers(zeta->text, who, 4) == 1 && who[0] == zeta,
          "zeta's text is pointed at by zeta only");
    printf("   reclaim_explain(zeta):\n");
    fflush(stdout);
    /* Drop the copies on our own stack, or the shortest chain would be
     * "this thread's stack -> zeta". */
    zeta = NULL;
    memset(who, 0, sizeof who);
    /* Prints the chain: root (the global `library`) -> epsilon -> zeta. */
    check(reclaim_explain(library->link, 1) == 1, "zeta is reachable");
    check(reclaim_explain(&failed, 1) == -1, "a global is not a block");

    printf("4. collections, watched and counted\n");
    check(!reclaim_is_enabled(), "automatic collection is off");
    check(starts == 4 && ends == 4, "4 collections, each seen at its start and its end");
    reclaim_get_stats(&after);
    check(after.collections >= 4, "reclaim_get_stats counts them too");

    printf(failed ? "api_demo: FAILED\n" : "api_demo: all as documented\n");
    return failed;
}
