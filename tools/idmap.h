/* A map from 64-bit ids to pointers (open addressing). Report files name
 * modules and stacks by numbers the library chose; they need not be dense,
 * so a plain array indexed by id would not do. */
#ifndef RECLAIM_TOOLS_IDMAP_H
#define RECLAIM_TOOLS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
    size_t cap, used;      /* cap is 0 or a power of two */
    uint64_t *keys;
    void **vals;           /* NULL marks an empty slot: values are never NULL */
};

/* Sets key to val (non-NULL), replacing any earlier value. */
void idmap_put(struct idmap *m, uint64_t key, void *val);
/* The value for key, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t key);
void idmap_free(struct idmap *m);

#endif
