/* Pointers reclaim does not own (allocated before it was loaded, or by the
 * dynamic loader's own allocator) go to the next allocator in the chain. */
#ifndef RECLAIM_API_FOREIGN_H
#define RECLAIM_API_FOREIGN_H

#include <stddef.h>

void   foreign_resolve(void);
void   foreign_free(void *p);
size_t foreign_usable_size(void *p);

#endif
