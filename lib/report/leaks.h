/* Leak reports, the report floor's face to the api floor: the exit-time
 * check of leaks mode, reports on a signal, and reports on demand
 * (reclaim_report_leaks). */
#ifndef RECLAIM_REPORT_LEAKS_H
#define RECLAIM_REPORT_LEAKS_H

#include <stddef.h>

/* Leaks mode, from the constructor: starts stack capture, registers the
 * exit-time report and, with RECLAIM_REPORT_SIGNAL, the signal handler
 * and the thread that writes those reports. */
void leakrep_init(void);

/* A leak check now, the calling thread's stack scanned from its caller's
 * frame up; the readable report goes to fd. Returns the lost blocks
 * (direct + indirect), or (size_t)-1 when no check could be made. */
size_t leakrep_report(int fd);

/* fork child: a fresh report lock and, with a report signal, a new
 * report thread (threads do not survive fork). */
void leakrep_fork_child(void);

#endif
