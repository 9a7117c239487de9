/* Open-addressing id -> pointer map (see idmap.h). */
#include "idmap.h"

#include <stdlib.h>

#include "util.h"

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Ids are often small consecutive numbers: mix them so that they
     * spread over the table instead of forming one long run. */
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static void grow(struct idmap *m)
{
    struct idmap n = { .cap = m->cap ? m->cap * 2 : 64 };
    n.keys = xcalloc(n.cap, sizeof *n.keys);
    n.vals = xcalloc(n.cap, sizeof *n.vals);
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i])
            idmap_put(&n, m->keys[i], m->vals[i]);
    idmap_free(m);
    *m = n;
}

void idmap_put(struct idmap *m, uint64_t key, void *val)
{
    if ((m->used + 1) * 4 > m->cap * 3)
        grow(m);
    size_t i = slot_of(key, m->cap);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->vals[i])
        m->used++;
    m->keys[i] = key;
    m->vals[i] = val;
}

void *idmap_get(const struct idmap *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->vals[i]) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->used = 0;
}
