/* The one place that decides what happens after a misuse report. */
#include "error.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

void error_bad_pointer(const char *call, const void *p, const char *what)
{
    log_line("%s(%p): %s", call, p, what);
    if (options.on_error == ON_ERROR_ABORT)
        abort();
}

const char *error_freed_reason(const char *call)
{
    return strncmp(call, "free", 4) ? "block already freed" : "double free";
}
