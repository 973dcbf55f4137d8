/* log_state.h: the log state record, meta "log_state" (core/FORMAT.md).
 * Core-internal: only core/ includes it. */
#ifndef SLUICE_CORE_LOG_STATE_H
#define SLUICE_CORE_LOG_STATE_H

#include <stdint.h>
#include "error.h"
#include "store.h"

#define SL_LOG_STATE_KEY "log_state"
#define SL_LOG_STATE_LEN 40 /* format 2 (format 1 had 32 bytes, without head_seq) */

typedef struct sl_log_state {
    uint64_t next_seq; /* sequence the next appended event gets (from 1) */
    uint64_t last_ts;  /* timestamp of the newest append (never decreases) */
    uint64_t events;   /* retained events */
    uint64_t bytes;    /* retained bytes (payload + topic + content type + headers) */
    uint64_t head_seq; /* oldest sequence not trimmed: events below it are gone,
                          even while the chunk holding them is still stored */
} sl_log_state;

/* Read the state in txn t into *st; an absent record is the empty log
 * (next_seq = head_seq = 1, the rest 0). SL_ERR_CORRUPT when the record is
 * not SL_LOG_STATE_LEN bytes or its sequences are inconsistent; LMDB errors
 * mapped by sl_err_from_mdb. */
sl_err sl_log_state_load(sl_txn *t, sl_log_state *st);

/* Write *st in write txn w. LMDB errors (SL_ERR_MAP_FULL, ...). */
sl_err sl_log_state_save(sl_txn *w, const sl_log_state *st);

#endif
