/* tests/tool: what symtest and its shared library share. */
#ifndef RECLAIM_TESTS_TOOL_SYMTEST_H
#define RECLAIM_TESTS_TOOL_SYMTEST_H

struct rec;
typedef void capture_fn(struct rec *r, const char *fmt, ...);
/* Calls capture from inside the library. */
typedef void lib_leak_fn(capture_fn *capture, struct rec *r, int main_line);

#endif
