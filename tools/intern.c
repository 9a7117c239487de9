/* The string pool behind intern() (see intern.h). */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char **slots;
static size_t cap, used;

uint64_t hash_bytes(const void *p, unsigned long n, uint64_t h)
{
    const unsigned char *c = p;
    for (unsigned long i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static size_t find(const char *s, size_t len)
{
    size_t i = (size_t)hash_bytes(s, len, HASH_SEED) & (cap - 1);
    while (slots[i] && strcmp(slots[i], s))
        i = (i + 1) & (cap - 1);
    return i;
}

const char *intern(const char *s)
{
    if ((used + 1) * 2 > cap) {
        const char **old = slots;
        size_t oldcap = cap;
        cap = cap ? cap * 2 : 256;
        slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i])
                slots[find(old[i], strlen(old[i]))] = old[i];
        free(old);
    }
    size_t i = find(s, strlen(s));
    if (!slots[i]) {
        slots[i] = xstrdup(s);
        used++;
    }
    return slots[i];
}
