/* log_format_v1.h: reading the format 1 event log, and moving it into
 * format 2 chunks (core/FORMAT.md, "Upgrading"). Core-internal: store.c
 * runs the upgrade at open; the tests build format 1 stores by hand. */
#ifndef SLUICE_CORE_LOG_FORMAT_V1_H
#define SLUICE_CORE_LOG_FORMAT_V1_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "event.h"
#include "store.h"

#define SL_UPGRADE_KEY "upgrade"       /* meta key of the upgrade progress record */
#define SL_UPGRADE_STEP_EVENTS 10000u  /* events moved per upgrade transaction */
#define SL_UPGRADE_STEP_BYTES (64u << 20) /* and at most about this many bytes */

/* Decode the format 1 event record val (stored under the 8-byte key) into
 * *out; slices point into val. SL_ERR_CORRUPT on a size or field mismatch,
 * SL_ERR_VERSION on an unknown record version. */
sl_err sl_log_v1_decode(const void *key, size_t key_len, const void *val, size_t val_len,
                        sl_event_view *out);

/* One upgrade step in write txn w (the caller begins and commits it): move
 * at most max_events (and about SL_UPGRADE_STEP_BYTES) of the oldest format
 * 1 events into chunks, delete them from "events" and record the progress
 * in meta "upgrade". When no format 1 event is left, convert the log state
 * to format 2, delete the progress record and set *done (the caller then
 * writes meta "format" = 2 in the same transaction). Errors: SL_ERR_CORRUPT
 * (a record does not decode, or the progress record, the log state and the
 * stored events disagree), SL_ERR_VERSION, LMDB errors (SL_ERR_MAP_FULL:
 * abort, grow, run the step again). */
sl_err sl_log_upgrade_v1_step(sl_txn *w, size_t max_events, bool *done);

#endif
