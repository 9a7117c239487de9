/* tests/tool: the shared library symtest dlopens, captures a stack in,
 * and dlcloses before writing its report. */
#include "symtest.h"

#define BARRIER() __asm__ volatile("" ::: "memory")

void lib_leak(capture_fn *capture, struct rec *r, int main_line);

void lib_leak(capture_fn *capture, struct rec *r, int main_line)
{
    capture(r, "lib_leak:%d main:%d", __LINE__, main_line);
    BARRIER();
}
