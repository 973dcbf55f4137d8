/* retention.c: one bounded maintenance pass: trim the log (never below what
 * the groups still need unless limits are hard), then move spent leases to
 * the DLQs. See retention.h. */
#include "retention.h"

#include <string.h>
#include "group.h"
#include "lease.h"
#include "log.h"

sl_err sl_maintain(sl_txn *w, uint64_t now_ms, size_t budget, sl_maintenance_result *out)
{
    if (!w || !w->write || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    const sl_store_options *opt = sl_store_options_of(w->store);
    uint64_t floor_seq = UINT64_MAX;
    sl_err rc = opt->retention.discard_unconsumed ? SL_OK : sl_groups_floor(w, &floor_seq);
    if (rc == SL_OK)
        rc = sl_log_trim(w, now_ms, floor_seq, budget, &out->trimmed);
    if (rc == SL_OK)
        rc = sl_lease_expire(w, now_ms, budget, &out->dead_lettered);
    if (rc != SL_OK)
        return rc;
    out->more = budget > 0 && (out->trimmed >= budget || out->dead_lettered >= budget);
    return SL_OK;
}
