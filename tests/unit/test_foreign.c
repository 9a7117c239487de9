/* Pointers reclaim does not own: blocks from glibc's allocator (here made
 * with __libc_malloc, as a library loaded before reclaim would have made
 * them) must go back to glibc through free, realloc and
 * malloc_usable_size, with glibc's own checks still in force. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

Test(foreign, free_realloc_and_usable_size_reach_glibc)
{
    unsigned char *g = __libc_malloc(100);
    cr_assert_not_null(g);
    for (int i = 0; i < 100; i++)
        g[i] = (unsigned char)(i * 7);
    /* glibc rounds 100 up to its chunk size less the header. */
    size_t u = malloc_usable_size(g);
    cr_assert_geq(u, 100);
    cr_assert_lt(u, 200);

    unsigned char *r = realloc(g, 5000);
    cr_assert_not_null(r);
    cr_assert_neq(r, g, "a foreign block must move into reclaim's heap");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(r[i], (unsigned char)(i * 7), "byte %d lost in the move", i);
    free(r);

    /* free() hands it to glibc: glibc can reuse it right away. */
    void *h = __libc_malloc(100);
    free(h);
    void *h2 = __libc_malloc(100);
    cr_assert_eq(h2, h, "glibc should hand back the chunk free() returned to it");
    __libc_free(h2);
}

Test(foreign, glibc_checks_still_apply)
{
    /* A double free of a glibc block is glibc's to catch: it aborts. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 2);
        void *g = __libc_malloc(64);
        free(g);
        free(g);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
              "glibc did not see the double free (status %#x)", st);
}
