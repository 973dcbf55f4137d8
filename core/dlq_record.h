/* dlq_record.h: core-internal: writing a dead letter.
 *
 * DB_DLQ maps gid(4) seq(8) to a dead-letter record (layout in
 * core/FORMAT.md). dlq.c implements this; lease.c calls it when a lease is
 * terminated or runs out of deliveries.
 */
#ifndef SLUICE_CORE_DLQ_RECORD_H
#define SLUICE_CORE_DLQ_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "lease.h"
#include "slice.h"
#include "store.h"

#define SL_DLQ_RECORD_VERSION 1
#define SL_REASON_MAX_DELIVERIES "max deliveries exceeded"
#define SL_REASON_TERMINATED "terminated by consumer"

/* reason cut to at most SL_REASON_MAX bytes, on a UTF-8 character boundary
 * (a cut never leaves half a character behind). */
static inline sl_slice sl_reason_cut(sl_slice reason)
{
    if (reason.len <= SL_REASON_MAX)
        return reason;
    size_t n = SL_REASON_MAX;
    while (n > 0 && ((unsigned char)reason.ptr[n] & 0xC0) == 0x80)
        n--;
    return (sl_slice){reason.ptr, n};
}

/* Store the dead letter of (gid, seq) in write txn w, replacing any earlier
 * one. reason is copied, cut to SL_REASON_MAX bytes (reason.ptr may be NULL
 * only when reason.len is 0). *added (required) is set to true when no dead
 * letter of that seq existed before, so the caller counts it once in the
 * group record; the caller also removes the lease. Errors: SL_ERR_MAP_FULL,
 * SL_ERR_TXN_FULL, SL_ERR_STORAGE, SL_ERR_CORRUPT... */
sl_err sl_dlq_put(sl_txn *w, uint32_t gid, uint64_t seq, uint32_t attempts,
                  uint64_t dead_at_ms, sl_slice reason, bool *added);

#endif
