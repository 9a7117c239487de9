/* Where libreclaim.so is: beside the tool in a build tree (right after
 * `make`, tools/reclaim uses ../lib/.libs/libreclaim.so), or where `make
 * install` put it. */
#ifndef RECLAIM_TOOLS_LIBPATH_H
#define RECLAIM_TOOLS_LIBPATH_H

/* explicit: the --library argument, or NULL. Returns an absolute path
 * (malloc'd) usable in LD_PRELOAD, or NULL after printing why not. */
char *find_library(const char *explicit);

#endif
