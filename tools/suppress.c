/* Loading and matching suppression patterns (see suppress.h). */
#define _GNU_SOURCE
#include "suppress.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Glob with '*' only, anchored at both ends of s, over pattern[0..plen).
 * Iterative with one backtrack point: linear enough for names. */
static int glob(const char *p, size_t plen, const char *s)
{
    const char *pend = p + plen, *star = NULL, *retry = NULL;
    while (*s) {
        if (p < pend && *p == '*') {
            star = ++p;
            retry = s;
        } else if (p < pend && *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star;
            s = ++retry;
        } else {
            return 0;
        }
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}

int supp_pattern_match(const char *pattern, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t len = strlen(pattern);
    int start = pattern[0] == '^';
    int end = len > (size_t)start && pattern[len - 1] == '$';
    const char *body = pattern + start;
    size_t blen = len - (size_t)start - (size_t)end;
    /* Unanchored sides behave as if the pattern had a '*' there. */
    char *full = xmalloc(blen + 3);
    size_t k = 0;
    if (!start)
        full[k++] = '*';
    memcpy(full + k, body, blen);
    k += blen;
    if (!end)
        full[k++] = '*';
    int r = glob(full, k, s);
    free(full);
    return r;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int supp_load(struct suppressions *s, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        warn("%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    while (getline(&buf, &cap, f) >= 0) {
        lineno++;
        char *line = trim(buf);
        if (!*line || *line == '#')
            continue;
        char *colon = strchr(line, ':');
        if (!colon) {
            warn("%s:%u: expected 'leak:PATTERN', got '%s'", path, lineno, line);
            rc = -1;
            break;
        }
        *colon = '\0';
        char *type = trim(line), *pattern = trim(colon + 1);
        if (strcmp(type, "leak")) {
            warn("%s:%u: unknown suppression type '%s' (reclaim knows only 'leak:')",
                 path, lineno, type);
            rc = -1;
            break;
        }
        if (!*pattern) {
            warn("%s:%u: empty pattern after 'leak:'", path, lineno);
            rc = -1;
            break;
        }
        xgrow(&s->list, &s->cap, s->n + 1, sizeof *s->list);
        s->list[s->n++] = (struct suppression){
            .pattern = xstrdup(pattern), .file = xstrdup(path), .line = lineno,
        };
    }
    free(buf);
    fclose(f);
    return rc;
}
