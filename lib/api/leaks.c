/* reclaim_report_leaks: a leak report on demand, written by the report
 * floor in the text format of `reclaim leaks`. Works in every mode; in
 * collect mode, blocks are only tagged with their allocation stack when
 * stack capture is on, so the report may group them less finely. */
#include "reclaim.h"

#include "../report/leaks.h"
#include "../util/compiler.h"
#include "track.h"

RECLAIM_EXPORT size_t reclaim_report_leaks(int fd)
{
    /* A leak check needs the collector's lock, which a START callback's
     * collection holds: no check can be made there. */
    if (api_in_start)
        return (size_t)-1;
    return leakrep_report(fd);
}
