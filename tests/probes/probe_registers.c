/* Probe: registers only. A thread holds the only pointers to five blocks
 * in callee-saved registers (rbx, r12-r15): it loads them from XOR-masked
 * copies inside one asm statement, so no real pointer is ever in memory,
 * and keeps them there while the main thread churns: first spinning on a
 * memory flag (a running thread), then blocked in a raw read(2) system
 * call. Afterwards it masks the registers back into memory and the main
 * thread checks they still point at intact blocks. x86_64 only. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>

#include "probe.h"

#if defined(__x86_64__)

#define NREGS 5

static uintptr_t masked_in[NREGS], masked_out[NREGS];

/* The asm both threads share (operands in, out, mask): unmask in[] into
 * the callee-saved registers, so that they hold the only pointers, and
 * later mask them back into out[]. */
#define LOAD_UNMASKED                                            \
    "movq 0(%[in]), %%rbx\n\t"  "xorq %[mask], %%rbx\n\t"      \
    "movq 8(%[in]), %%r12\n\t"  "xorq %[mask], %%r12\n\t"      \
    "movq 16(%[in]), %%r13\n\t" "xorq %[mask], %%r13\n\t"      \
    "movq 24(%[in]), %%r14\n\t" "xorq %[mask], %%r14\n\t"      \
    "movq 32(%[in]), %%r15\n\t" "xorq %[mask], %%r15\n\t"
#define STORE_MASKED                                             \
    "xorq %[mask], %%rbx\n\t"   "movq %%rbx, 0(%[out])\n\t"    \
    "xorq %[mask], %%r12\n\t"   "movq %%r12, 8(%[out])\n\t"    \
    "xorq %[mask], %%r13\n\t"   "movq %%r13, 16(%[out])\n\t"   \
    "xorq %[mask], %%r14\n\t"   "movq %%r14, 24(%[out])\n\t"   \
    "xorq %[mask], %%r15\n\t"   "movq %%r15, 32(%[out])\n\t"

static volatile int ready, go;
static int pipefd[2];
static long read_result, read_eintr;

static void *spinner(void *arg)
{
    (void)arg;
    __asm__ __volatile__(
        LOAD_UNMASKED
        "movl $1, %[ready]\n\t"
        "1:\n\t"
        "pause\n\t"
        "cmpl $0, %[go]\n\t"
        "je 1b\n\t"
        STORE_MASKED
        : [ready] "+m"(ready)
        : [in] "r"(masked_in), [out] "r"(masked_out), [mask] "r"(PROBE_MASK), [go] "m"(go)
        : "rbx", "r12", "r13", "r14", "r15", "memory", "cc");
    return NULL;
}

/* Blocked in read(fd, buf, 1) issued with the syscall instruction, so no
 * libc wrapper spills anything; the kernel preserves rbx and r12-r15. */
static long read_fd;
static const uintptr_t mask_word = PROBE_MASK;
static char read_buf[8];

static void *reader(void *arg)
{
    (void)arg;
    long rax, eintr = 0;
    __asm__ __volatile__(
        LOAD_UNMASKED
        "movl $1, %[ready]\n\t"
        "2:\n\t"
        "movq %[nr], %%rax\n\t"
        "movq %[fd], %%rdi\n\t"
        "leaq %[buf], %%rsi\n\t"
        "movq $1, %%rdx\n\t"
        "syscall\n\t"
        "cmpq $-4, %%rax\n\t"       /* EINTR: count it and read again */
        "jne 3f\n\t"
        "incq %[eintr]\n\t"
        "jmp 2b\n\t"
        "3:\n\t"
        STORE_MASKED
        : [ready] "+m"(ready), "=&a"(rax), [eintr] "+m"(eintr), [buf] "=m"(read_buf)
        : [in] "r"(masked_in), [out] "r"(masked_out), [mask] "m"(mask_word),
          [nr] "i"(SYS_read), [fd] "m"(read_fd)
        : "rbx", "r12", "r13", "r14", "r15", "rcx", "rdx", "rsi", "rdi", "r11", "memory", "cc");
    read_result = rax;
    read_eintr = eintr;
    return NULL;
}

static void wait_ready(void)
{
    while (!ready) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

static void run(const char *name, void *(*fn)(void *), unsigned base, void (*release)(void))
{
    probe_make_masked(masked_in, NREGS, base);
    ready = 0;
    go = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL))
        check_fail("pthread_create failed");
    wait_ready();
    probe_scrub();
    probe_churn(name);
    release();
    pthread_join(t, NULL);

    void *p[NREGS];
    int same = 1;
    for (int i = 0; i < NREGS; i++) {
        p[i] = (void *)(masked_out[i] ^ PROBE_MASK);
        same &= masked_out[i] == masked_in[i];
    }
    check(same, "%s: the registers came back unchanged", name);
    probe_report(p, NREGS, base, name);
}

static void release_spinner(void) { go = 1; }

static void release_reader(void)
{
    if (write(pipefd[1], "x", 1) != 1)
        check_fail("write to pipe failed");
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    if (pipe(pipefd))
        check_fail("pipe failed");
    read_fd = pipefd[0];
    run("registers of a spinning thread (rbx, r12-r15)", spinner, 0, release_spinner);
    run("registers of a thread blocked in read(2)", reader, 10, release_reader);
    check(read_result == 1, "the blocked read(2) returned 1 (got %ld)", read_result);
    if (read_eintr)
        printf("note: read(2) was interrupted %ld time(s) with EINTR\n", read_eintr);
    return check_finish("probe_registers");
}

#else

int main(void)
{
    printf("probe_registers: skipped (x86_64 only)\n");
    return 77;
}

#endif
