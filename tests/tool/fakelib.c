/* tests/tool: a stand-in for libreclaim.so, so that the tool's own tests
 * (exit statuses, processes, on-demand reports, the environment it sets)
 * do not depend on the real library. `reclaim leaks --library` preloads
 * it. At exit it appends the report block held in $FAKE_RECLAIM_FIXTURE to
 * $RECLAIM_REPORT_PATH.<pid>, as the library would, with @PID@, @PPID@ and
 * @EXE@ replaced; on $RECLAIM_REPORT_SIGNAL it appends one more. A process
 * killed by a signal writes nothing, like the real one. If
 * $FAKE_RECLAIM_ENVLOG is set, each process appends there the variables
 * the tool set for it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fixture[65536];
static size_t fixture_len;

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void write_report(void)
{
    const char *prefix = getenv("RECLAIM_REPORT_PATH");
    if (!prefix || !fixture_len)
        return;
    char path[4096], exe[4096], num[32];
    snprintf(path, sizeof path, "%s.%d", prefix, (int)getpid());
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    for (const char *p = fixture; p < fixture + fixture_len;) {
        const char *at = memchr(p, '@', (size_t)(fixture + fixture_len - p));
        if (!at) {
            put(fd, p, (size_t)(fixture + fixture_len - p));
            break;
        }
        put(fd, p, (size_t)(at - p));
        if (!strncmp(at, "@PID@", 5)) {
            snprintf(num, sizeof num, "%d", (int)getpid());
            put(fd, num, strlen(num));
            p = at + 5;
        } else if (!strncmp(at, "@PPID@", 6)) {
            snprintf(num, sizeof num, "%d", (int)getppid());
            put(fd, num, strlen(num));
            p = at + 6;
        } else if (!strncmp(at, "@EXE@", 5)) {
            put(fd, exe, strlen(exe));
            p = at + 5;
        } else {
            put(fd, "@", 1);
            p = at + 1;
        }
    }
    close(fd);
}

static void on_signal(int sig)
{
    (void)sig;
    write_report();     /* not async-signal-safe in general; fine for a test */
}

static void log_env(void)
{
    const char *log = getenv("FAKE_RECLAIM_ENVLOG");
    if (!log)
        return;
    FILE *f = fopen(log, "a");
    if (!f)
        return;
    static const char *const names[] = { "RECLAIM_MODE", "RECLAIM_REPORT_PATH",
        "RECLAIM_EXITCODE", "RECLAIM_REPORT_SIGNAL", "RECLAIM_STATS", "LD_PRELOAD" };
    fprintf(f, "pid=%d", (int)getpid());
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        fprintf(f, " %s=%s", names[i], v ? v : "(unset)");
    }
    fputc('\n', f);
    fclose(f);
}

__attribute__((constructor)) static void fake_init(void)
{
    log_env();
    const char *fx = getenv("FAKE_RECLAIM_FIXTURE");
    if (fx) {
        int fd = open(fx, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, fixture, sizeof fixture);
            fixture_len = n > 0 ? (size_t)n : 0;
            close(fd);
        }
    }
    const char *sig = getenv("RECLAIM_REPORT_SIGNAL");
    if (sig && atoi(sig) > 0)
        signal(atoi(sig), on_signal);
}

__attribute__((destructor)) static void fake_fini(void)
{
    write_report();
}
