/* tests/tool/corpus.c: programs whose leaks are known exactly, one per
 * argument, for corpus.sh. Every allocation that is meant to leak happens
 * in a named function, so the report can be checked frame by frame; the
 * build's -O2 applies, so results go through a volatile sink to keep
 * calls and stores from being optimised away or turned into tail calls. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile sink;

/* thread: a joined thread leaks 3 blocks; a thread still running at exit
 * keeps 2 on its stack and 1 in its TLS (not leaks). */
static __thread void *tls_block;
static int hold_pipe[2];

static NOINLINE void *leaky_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        sink = malloc(48);
    sink = NULL;
    return NULL;
}

static NOINLINE void *holding_thread(void *arg)
{
    void *on_stack[2] = { malloc(64), malloc(64) };
    tls_block = malloc(64);
    write(*(int *)arg, "x", 1);
    char c;
    read(hold_pipe[0], &c, 1);   /* never returns: nothing writes */
    sink = on_stack[0];
    return on_stack[1];
}

static int thread_case(void)
{
    pthread_t a, b;
    int ready[2];
    pipe(hold_pipe);
    pipe(ready);
    pthread_create(&a, NULL, leaky_thread, NULL);
    pthread_join(a, NULL);
    pthread_create(&b, NULL, holding_thread, &ready[1]);
    char c;
    read(ready[0], &c, 1);
    return 0;
}

/* realloc: a chain ends lost (1000 bytes); a failed p = realloc(p, huge)
 * loses the original block (77 bytes). */
static NOINLINE void realloc_chain(void)
{
    char *p = malloc(10);
    p = realloc(p, 100);
    p = realloc(p, 1000);
    sink = p;      /* volatile: no tail call, so this frame is on the stack */
    sink = NULL;
}

static NOINLINE void failed_realloc(void)
{
    char *q = malloc(77);
    q[0] = 1;
    q = realloc(q, SIZE_MAX / 2);   /* fails: q is NULL, the block is lost */
    sink = q;
}

/* libc: leaks made inside libc on the user's behalf. */
static NOINLINE void use_libc(void)
{
    sink = strdup("abc");
    FILE *f = fmemopen("one line\n", 9, "r");
    char *line = NULL;
    size_t cap = 0;
    getline(&line, &cap, f);
    fclose(f);
    sink = line;
    char *s;
    asprintf(&s, "%d", 12345);
    sink = s;
    sink = NULL;
}

/* globals and mmap: reachable, not leaks. The globals are external: GCC
 * drops write-only statics, and the malloc calls with them. */
void *global_block;
void *global_array[4];

static int globals_case(void)
{
    global_block = malloc(100);
    for (int i = 0; i < 4; i++)
        global_array[i] = malloc(200);
    return 0;
}

static int mmap_case(void)
{
    void **page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[7] = malloc(300);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "thread"))
        return thread_case();
    if (!strcmp(c, "realloc")) {
        realloc_chain();
        failed_realloc();
        return 0;
    }
    if (!strcmp(c, "libc")) {
        use_libc();
        return 0;
    }
    if (!strcmp(c, "globals"))
        return globals_case();
    if (!strcmp(c, "mmap"))
        return mmap_case();
    fprintf(stderr, "usage: corpus thread|realloc|libc|globals|mmap\n");
    return 2;
}
