/* Probe: the executable's globals. The only pointers sit in an initialised
 * array (.data), a zero-initialised one (.bss), and at the head of a
 * linked list reached from a single .bss pointer (blocks kept alive only
 * through other blocks). */
#define _GNU_SOURCE
#include "probe.h"

#define HALF (PROBE_BLOCKS / 2)

void *probe_data_slots[HALF] = { (void *)1 };     /* initialised: .data */
void *probe_bss_slots[HALF];                      /* .bss */

struct node { struct node *next; unsigned id; char pad[40]; };
struct node *probe_list_head;                     /* .bss */

extern char __data_start[], _edata[], __bss_start[], _end[];

static PROBE_NOINLINE void make_list(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct node *nd = malloc(sizeof *nd);
        if (!nd)
            check_fail("malloc failed");
        nd->id = i;
        memset(nd->pad, (int)(i & 0xff), sizeof nd->pad);
        nd->next = probe_list_head;
        probe_list_head = nd;
    }
}

static PROBE_NOINLINE unsigned check_list(unsigned n)
{
    unsigned seen = 0;
    for (struct node *nd = probe_list_head; nd; nd = nd->next, seen++) {
        if (reclaim_block_start(nd) != nd || nd->id != n - 1 - seen)
            return seen;
        for (size_t j = 0; j < sizeof nd->pad; j++)
            if (nd->pad[j] != (char)(nd->id & 0xff))
                return seen;
    }
    return seen;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    uintptr_t d = (uintptr_t)probe_data_slots, b = (uintptr_t)probe_bss_slots;
    if (!(d >= (uintptr_t)__data_start && d < (uintptr_t)_edata))
        printf("note: probe_data_slots is not in .data as expected\n");
    if (!(b >= (uintptr_t)__bss_start && b < (uintptr_t)_end))
        printf("note: probe_bss_slots is not in .bss as expected\n");

    probe_make(probe_data_slots, HALF, 0);
    probe_make(probe_bss_slots, HALF, HALF);
    make_list(10000);
    probe_churn("globals");
    probe_report(probe_data_slots, HALF, 0, ".data global array");
    probe_report(probe_bss_slots, HALF, HALF, ".bss global array");
    unsigned seen = check_list(10000);
    check(seen == 10000, "list of 10000 blocks reached from one .bss pointer: %u intact", seen);
    return check_finish("probe_globals");
}
