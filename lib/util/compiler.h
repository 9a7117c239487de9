/* Compiler helpers shared by every floor: visibility, branch hints, and the
 * attribute that keeps a function out of the PLT-facing export list. */
#ifndef RECLAIM_UTIL_COMPILER_H
#define RECLAIM_UTIL_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define RECLAIM_EXPORT   __attribute__((visibility("default")))
#define likely(x)        __builtin_expect(!!(x), 1)
#define unlikely(x)      __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE    inline __attribute__((always_inline))
#define NOINLINE         __attribute__((noinline))
#define COLD             __attribute__((cold, noinline))
#define CACHELINE        64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
