/* retention.h: periodic maintenance of the store: trim the log by the
 * retention limits (respecting the groups' floor unless limits are hard),
 * expire idempotency keys, and move spent leases to the DLQ.
 */
#ifndef SLUICE_CORE_RETENTION_H
#define SLUICE_CORE_RETENTION_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "store.h"

typedef struct sl_maintenance_result {
    size_t trimmed;        /* events removed from the log */
    size_t dead_lettered;  /* leases moved to DLQs */
    bool more;             /* budget ran out: run again soon */
} sl_maintenance_result;

/* One bounded maintenance pass in write txn w; at most budget records of
 * each kind are touched. */
sl_err sl_maintain(sl_txn *w, uint64_t now_ms, size_t budget, sl_maintenance_result *out);

#endif
