/* tests/tool: a program with known leaks for e2e.sh, which runs it under
 * `reclaim leaks` with the real library and checks counts, symbols and
 * file:line (the lines marked LINE: below are looked up by the script).
 *
 *   leaky_e2e          1000 blocks of 16 bytes lost from leak_many; a list
 *                      of 10 nodes lost from leak_list (1 direct, 9
 *                      indirect); 32 bytes reachable from a global
 *   leaky_e2e fork     the same, and a forked child that loses 7 blocks of
 *                      24 bytes from child_leak */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct node {
    struct node *next;
    long value;
};

void *keep;
/* Every block passes through here, so that the compiler cannot drop
 * allocations it sees are never read; cleared again, so that it keeps
 * nothing reachable. */
static void *volatile sink;

__attribute__((noinline)) static void leak_many(void)
{
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(16);   /* LINE:many */
        memset(p, i, 16);
        sink = p;
    }
    sink = NULL;
}

__attribute__((noinline)) static void leak_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct node *n = malloc(sizeof *n);   /* LINE:list */
        n->next = head;
        n->value = i;
        head = n;
        sink = head;
    }
    sink = NULL;
}

__attribute__((noinline)) static void child_leak(void)
{
    for (int i = 0; i < 7; i++)
        sink = malloc(24);   /* LINE:child */
    sink = NULL;
}

int main(int argc, char **argv)
{
    keep = malloc(32);
    leak_many();
    leak_list();
    if (argc > 1 && !strcmp(argv[1], "fork")) {
        pid_t p = fork();
        if (p == 0) {
            child_leak();
            exit(0);
        }
        waitpid(p, NULL, 0);
    }
    return 0;
}
