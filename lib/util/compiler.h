/* Compiler helpers shared by every floor: visibility, branch hints, and the
 * attribute that keeps a function out of the PLT-facing export list. */
#ifndef RECLAIM_UTIL_COMPILER_H
#define RECLAIM_UTIL_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define RECLAIM_EXPORT   __attribute__((visibility("default")))
/* On a declaration of data defined elsewhere in the library: without it
 * an extern is reached through the GOT, one load more on a fast path. */
#define HIDDEN           __attribute__((visibility("hidden")))
#define likely(x)        __builtin_expect(!!(x), 1)
#define unlikely(x)      __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE    inline __attribute__((always_inline))
#define NOINLINE         __attribute__((noinline))
#define COLD             __attribute__((cold, noinline))
#define CACHELINE        64
/* On a large zero-initialised object most processes never touch: the
 * library's linker script (lib/layout.ld) places it behind the rest of
 * .bss, where it does not spread the variables every process touches
 * over more pages. Without the script it is ordinary .bss. */
#define COLD_BSS         __attribute__((section(".bss.cold")))

/* Portable popcount: without -mpopcnt the builtin becomes a libgcc call. */
static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
