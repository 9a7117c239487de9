/* The --help texts, kept in one place beside each other so that they stay
 * consistent (doc/reclaim.1 says the same at length). */
#ifndef RECLAIM_TOOLS_USAGE_H
#define RECLAIM_TOOLS_USAGE_H

#include <stdio.h>

void usage_main(FILE *out);
/* The help of one subcommand ("run", "leaks", "report"). */
void usage_command(FILE *out, const char *cmd);

#endif
