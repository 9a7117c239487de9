/* Probe: globals of dlopen'd libraries. Blocks are stored in the .data and
 * .bss of library A; then library B is dlopen'd (the mappings change after
 * the blocks were stored) and gets blocks of its own; collections run;
 * both are checked. Then B is dlclose'd, collections run again and A is
 * checked once more. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "probe.h"

#define HALF (PROBE_BLOCKS / 2)

typedef void **(*slots_fn)(void);

static void *load(const char *name, slots_fn *data, slots_fn *bss)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", PROBE_LIBDIR, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        check_fail("dlopen %s: %s", path, dlerror());
    *data = (slots_fn)dlsym(h, "probe_dl_data_slots");
    *bss = (slots_fn)dlsym(h, "probe_dl_bss_slots");
    if (!*data || !*bss)
        check_fail("dlsym in %s: %s", path, dlerror());
    return h;
}

int main(int argc, char **argv)
{
    (void)argc;
    probe_setup(argv, "1M");
    slots_fn a_data, a_bss, b_data, b_bss;
    load("probe_dl_a.so", &a_data, &a_bss);
    probe_make(a_data(), HALF, 0);
    probe_make(a_bss(), HALF, HALF);

    void *hb = load("probe_dl_b.so", &b_data, &b_bss);
    probe_make(b_data(), HALF, 200);
    probe_make(b_bss(), HALF, 200 + HALF);

    probe_churn("dlopen'd globals");
    probe_report(a_data(), HALF, 0, "library A .data (stored before B was loaded)");
    probe_report(a_bss(), HALF, HALF, "library A .bss (stored before B was loaded)");
    probe_report(b_data(), HALF, 200, "library B .data (dlopen'd later)");
    probe_report(b_bss(), HALF, 200 + HALF, "library B .bss (dlopen'd later)");

    if (dlclose(hb))
        check_fail("dlclose: %s", dlerror());
    probe_churn("after dlclose of B");
    probe_report(a_data(), HALF, 0, "library A .data after B was dlclose'd");
    probe_report(a_bss(), HALF, HALF, "library A .bss after B was dlclose'd");
    return check_finish("probe_dl_globals");
}
