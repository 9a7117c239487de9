/* A small library the probes dlopen: globals in .data and .bss and a
 * thread-local array that, in a dlopen'd library, is dynamic TLS (glibc
 * allocates it with malloc on first access from each thread). */
#include <stddef.h>

#define SLOTS 100

void *probe_dl_data[SLOTS / 2] = { (void *)1 };
void *probe_dl_bss[SLOTS / 2];
__thread void *probe_dl_tls[SLOTS];

void **probe_dl_data_slots(void) { return probe_dl_data; }
void **probe_dl_bss_slots(void) { return probe_dl_bss; }
void **probe_dl_tls_slots(void) { return probe_dl_tls; }
