/* Signal names both ways: "USR1", "SIGUSR1" or "10" in options, and a
 * readable name in messages. */
#ifndef RECLAIM_TOOLS_SIGNAME_H
#define RECLAIM_TOOLS_SIGNAME_H

/* The signal number, or -1 if s names no signal. Real-time signals are
 * accepted as RTMIN+N / RTMAX-N. */
int signal_from_name(const char *s);

/* "SIGUSR1" for 10; "signal 42" style for others (static buffer). */
const char *signal_name(int sig);

#endif
