/* Reading, analysing and writing reports (see output.h). */
#define _GNU_SOURCE
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze.h"
#include "json.h"
#include "text.h"
#include "util.h"

static FILE *open_output(const char *path, const char *what)
{
    FILE *f = fopen(path, "we");
    if (!f)
        die(EXIT_USAGE, "%s %s: %s", what, path, strerror(errno));
    return f;
}

void reporting_prepare(struct reporting *r, const struct args *a)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < a->nsupp; i++)
        if (supp_load(&r->supp, a->suppressions[i]))
            exit(EXIT_USAGE);
    r->show_reachable = a->show_reachable;
    r->text = stderr;
    if (a->output) {
        r->text_path = a->output;
        r->text = open_output(a->output, "--output");
    }
    if (a->json) {
        r->json_path = a->json;
        r->json = open_output(a->json, "--json");
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int collect_reports(struct raw_set *set, const char *path)
{
    struct stat st;
    if (stat(path, &st)) {
        warn("%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return raw_read_file(set, path);
    DIR *d = opendir(path);
    if (!d) {
        warn("%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        xgrow(&names, &cap, n + 1, sizeof *names);
        names[n++] = xasprintf("%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (raw_read_file(set, names[i]))
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

static int close_output(FILE *f, const char *path, const char *what)
{
    int bad = ferror(f);
    if (f == stderr)
        return fflush(f) || bad ? -1 : 0;
    if (fclose(f) || bad) {
        warn("%s %s: write error", what, path);
        return -1;
    }
    return 0;
}

int reporting_finish(struct reporting *r, const struct raw_set *set, long first_pid)
{
    struct analysis a;
    analyze(&a, set, &r->supp, first_pid);
    fflush(stdout);            /* the program's output, if it shares stderr's file */
    text_write(r->text, &a, &r->supp, r->show_reachable);
    int rc = close_output(r->text, r->text_path, "--output");
    if (r->json) {
        json_write(r->json, &a, r->show_reachable);
        if (close_output(r->json, r->json_path, "--json"))
            rc = -1;
    }
    if (rc)
        return -1;
    for (size_t i = 0; i < a.nreports; i++)
        if (report_has_leaks(&a.reports[i]))
            return 1;
    return 0;
}
