/* Stopping the world: every thread of the process except the caller is
 * stopped, its registers captured, and later resumed, without the program
 * being able to tell (no EINTR, no early wake-up from sleeps, signal masks
 * and handlers untouched).
 *
 * Preferred mechanism: a helper task (clone, sharing the address space)
 * ptrace-seizes and interrupts every thread, as LeakSanitizer does; a
 * sleeping thread's system call is restarted transparently by the kernel.
 * Fallback, where ptrace is refused (a debugger already attached, seccomp,
 * no permission): a signal-based stop; its costs are documented in stop.c.
 *
 * Called with the heap locks held: nothing here allocates from the heap,
 * uses stdio, or calls a libc function that might take a lock a stopped
 * thread could hold. */
#ifndef RECLAIM_GC_STOP_H
#define RECLAIM_GC_STOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STOP_MAX_REGS 32
/* The vector registers' save area as the kernel lays it out (x86_64:
 * XSAVE, up to AVX-512's 2.7 KiB; aarch64: the FP/SIMD registers). Code
 * moves pointers through these registers (struct copies, memmove), and a
 * thread can be stopped while one holds the only copy. */
#define STOP_MAX_VWORDS 512

struct stopped_thread {
    pid_t tid;
    uintptr_t sp;                     /* stack pointer at the stop */
    uintptr_t regs[STOP_MAX_REGS];    /* general-purpose registers */
    unsigned nregs;
    unsigned nvwords;                 /* words of vregs[] filled */
    uintptr_t vregs[STOP_MAX_VWORDS]; /* vector and floating-point registers */
};

enum stop_method { STOP_NONE = 0, STOP_PTRACE, STOP_SIGNAL };

struct world {
    struct stopped_thread *threads;   /* every thread but the caller; memory owned by stop.c */
    size_t count;
    enum stop_method method;
};

/* 0: every other thread is stopped and described in *w (count 0 and
 *    method STOP_NONE when the caller is the only thread), until
 *    resume_world(w), which must follow. errno is left as it was.
 * -1: the world could not be stopped safely; nothing is stopped and the
 *     caller must not collect (when in doubt, keep everything); no
 *     resume_world() needed. One line is logged the first time.
 * One stop at a time per process: a concurrent call returns -1. */
int  stop_world(struct world *w);
void resume_world(struct world *w);
const char *stop_method_name(enum stop_method m);

/* Tests only: nonzero makes stop_world() use the signal fallback even where
 * ptrace works. */
void stop_force_signals(int on);

#endif
