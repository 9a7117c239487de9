/* RECLAIM_* parsing (lib/util/options.c), called directly with a fake
 * environment: valid values land in `options`, and every unknown name or
 * bad value produces exactly one warning line that names it, leaving the
 * setting untouched. Internal test; stderr (fd 2, where log_line writes)
 * is captured through a pipe. The start-up path (the same parser run by
 * the library constructor) is covered in test_misuse.c. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "util/options.h"
#include "unit.h"

static struct options defaults;
static int saved_fd2 = -1, pipe_rd = -1;

static void setup(void)
{
    defaults = options;
}

static void capture_begin(void)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    saved_fd2 = dup(2);
    cr_assert_geq(saved_fd2, 0);
    cr_assert_geq(dup2(p[1], 2), 0);
    close(p[1]);
    pipe_rd = p[0];
}

/* Restores fd 2 and returns what was written to it. Messages are far
 * smaller than a pipe's buffer, so writing never blocked. */
static const char *capture_end(void)
{
    static char buf[8192];
    cr_assert_geq(dup2(saved_fd2, 2), 0);
    close(saved_fd2);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(pipe_rd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(pipe_rd);
    buf[len] = '\0';
    return buf;
}

static const char *parse(char *const *envp)
{
    options = defaults;
    capture_begin();
    options_parse(envp);
    return capture_end();
}

static void assert_one_warning(const char *out, const char *needle)
{
    cr_assert_eq(unit_lines(out), 1, "expected one line, got: \"%s\"", out);
    cr_assert_eq(out[strlen(out) - 1], '\n', "not a whole line: \"%s\"", out);
    cr_assert_eq(strncmp(out, "reclaim: ", 9), 0, "no prefix: \"%s\"", out);
    cr_assert_not_null(strstr(out, needle), "\"%s\" does not name %s", out, needle);
}

static int options_equal(const struct options *a, const struct options *b)
{
    return a->mode == b->mode && a->on_error == b->on_error &&
           a->growth_percent == b->growth_percent && a->min_heap == b->min_heap &&
           a->collect_every == b->collect_every && a->stats == b->stats;
}

Test(options, unknown_variable_is_named, .init = setup)
{
    char *env[] = { "RECLAIM_FOO=1", NULL };
    const char *out = parse(env);
    assert_one_warning(out, "RECLAIM_FOO");
    cr_assert(strstr(out, "unknown"), "\"%s\"", out);
    cr_assert(options_equal(&options, &defaults));
}

Test(options, bad_mode_names_variable_and_value, .init = setup)
{
    char *env[] = { "RECLAIM_MODE=bogus", NULL };
    assert_one_warning(parse(env), "RECLAIM_MODE=bogus");
    cr_assert_eq(options.mode, defaults.mode);
}

Test(options, bad_size_names_variable_and_value, .init = setup)
{
    char *env[] = { "RECLAIM_COLLECT_EVERY=12Q", NULL };
    assert_one_warning(parse(env), "RECLAIM_COLLECT_EVERY=12Q");
    cr_assert_eq(options.collect_every, defaults.collect_every);
}

Test(options, every_bad_value_is_reported, .init = setup)
{
    static char *cases[][2] = {
        { "RECLAIM_ON_ERROR=ignore", "RECLAIM_ON_ERROR=ignore" },
        { "RECLAIM_GROWTH=0", "RECLAIM_GROWTH=0" },
        { "RECLAIM_GROWTH=abc", "RECLAIM_GROWTH=abc" },
        { "RECLAIM_GROWTH=100001", "RECLAIM_GROWTH=100001" },
        { "RECLAIM_GROWTH=", "RECLAIM_GROWTH=" },
        { "RECLAIM_MIN_HEAP=lots", "RECLAIM_MIN_HEAP=lots" },
        { "RECLAIM_MIN_HEAP=", "RECLAIM_MIN_HEAP=" },
        { "RECLAIM_COLLECT_EVERY=-1", "RECLAIM_COLLECT_EVERY=-1" },
        { "RECLAIM_STATS=maybe", "RECLAIM_STATS=maybe" },
        { "RECLAIM_MODE=", "RECLAIM_MODE=" },
        { "RECLAIM_mode=off", "RECLAIM_mode" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *env[] = { cases[i][0], NULL };
        assert_one_warning(parse(env), cases[i][1]);
        cr_assert(options_equal(&options, &defaults), "%s changed a setting", cases[i][0]);
    }
}

Test(options, valid_values_apply_silently, .init = setup)
{
    char *env[] = {
        "HOME=/nowhere", "RECLAIM_MODE=leaks", "RECLAIM_ON_ERROR=warn", "RECLAIM_GROWTH=250",
        "RECLAIM_MIN_HEAP=64K", "RECLAIM_COLLECT_EVERY=1M", "RECLAIM_STATS=yes", NULL,
    };
    const char *out = parse(env);
    cr_assert_str_empty(out);
    cr_assert_eq(options.mode, MODE_LEAKS);
    cr_assert_eq(options.on_error, ON_ERROR_WARN);
    cr_assert_eq(options.growth_percent, 250u);
    cr_assert_eq(options.min_heap, (size_t)64 << 10);
    cr_assert_eq(options.collect_every, (size_t)1 << 20);
    cr_assert_eq(options.stats, 1);

    char *env2[] = { "RECLAIM_MODE=off", "RECLAIM_STATS=0", "RECLAIM_ON_ERROR=abort",
                     "RECLAIM_COLLECT_EVERY=0", NULL };
    out = parse(env2);
    cr_assert_str_empty(out);
    cr_assert_eq(options.mode, MODE_OFF);
    cr_assert_eq(options.stats, 0);
    cr_assert_eq(options.on_error, ON_ERROR_ABORT);
    cr_assert_eq(options.collect_every, 0u);
}

/* Names that merely look alike are not ours; a RECLAIM_ name without '='
 * is not a variable definition. Neither is reported. */
Test(options, other_variables_are_ignored, .init = setup)
{
    char *env[] = { "PATH=/bin", "RECLAIMX=1", "XRECLAIM_MODE=bogus", "RECLAIM_MODE",
                    "reclaim_mode=bogus", NULL };
    cr_assert_str_empty(parse(env));
    cr_assert(options_equal(&options, &defaults));
    cr_assert_str_empty(parse(NULL));
}

/* One line per problem, and the good settings between them still apply. */
Test(options, several_problems_several_lines, .init = setup)
{
    char *env[] = { "RECLAIM_FOO=1", "RECLAIM_MODE=leaks", "RECLAIM_MODE=bogus",
                    "RECLAIM_COLLECT_EVERY=12Q", "RECLAIM_BAR=", NULL };
    const char *out = parse(env);
    cr_assert_eq(unit_lines(out), 4, "\"%s\"", out);
    cr_assert(strstr(out, "RECLAIM_FOO") && strstr(out, "RECLAIM_MODE=bogus") &&
              strstr(out, "RECLAIM_COLLECT_EVERY=12Q") && strstr(out, "RECLAIM_BAR"), "\"%s\"", out);
    cr_assert_eq(options.mode, MODE_LEAKS);
}

/* A name longer than the parser's buffer still gives one line. */
Test(options, very_long_unknown_name, .init = setup)
{
    char name[300] = "RECLAIM_";
    memset(name + 8, 'X', 250);
    strcpy(name + 258, "=1");
    char *env[] = { name, NULL };
    assert_one_warning(parse(env), "RECLAIM_XXXXXXXX");
}

Test(options, parse_size)
{
    static const struct { const char *s; size_t v; } good[] = {
        { "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "1K", 1024 }, { "1k", 1024 },
        { "1M", 1u << 20 }, { "1G", 1u << 30 }, { "1MiB", 1u << 20 }, { "1KiB", 1024 },
        { "2GiB", (size_t)2 << 30 }, { "3mb", (size_t)3 << 20 }, { "16384G", (size_t)1 << 44 },
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        size_t v = 12345;
        cr_assert_eq(options_parse_size(good[i].s, &v), 0, "\"%s\" rejected", good[i].s);
        cr_assert_eq(v, good[i].v, "\"%s\" -> %zu", good[i].s, v);
    }
    static const char *bad[] = {
        "", "K", "12Q", "1MiBx", "-1", " 1", "1 ", "1.5M", "1iB", "0x10",
        "99999999999999999999999", "17179869184G", "18446744073709551616",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t v = 12345;
        cr_assert_eq(options_parse_size(bad[i], &v), -1, "\"%s\" accepted (%zu)", bad[i], v);
        cr_assert_eq(v, 12345u, "\"%s\" wrote the output", bad[i]);
    }
}
