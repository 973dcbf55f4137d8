/* webhook_record.h: core-internal: the stored records of webhook
 * subscriptions (see webhook.h, delivery_log.h; layouts in core/FORMAT.md).
 *
 * A subscription's key is its id's 16 hex digits read as a u64 and stored as
 * 8 big-endian bytes, so key order is id order. DB_WEBHOOKS maps the key to
 * the subscription record, DB_WEBHOOK_STATS to the stats record, and
 * DB_DELIVERIES key(8) entry_id(8) to one delivery-log entry.
 *
 * webhook_record.c owns the three codecs and the get/put/del of the first
 * two; delivery_log.c owns the log's writer (append + trim) and reader;
 * webhook_config.c the id <-> key functions (no LMDB there). webhook.c and
 * webhook_report.c use them. Nothing here allocates: records
 * are encoded into stack buffers and decoded into caller structs whose
 * slices point into LMDB memory (valid until the transaction ends or, in a
 * write transaction, until the next write: copy first, then write).
 */
#ifndef SLUICE_CORE_WEBHOOK_RECORD_H
#define SLUICE_CORE_WEBHOOK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "delivery_log.h"
#include "error.h"
#include "slice.h"
#include "store.h"
#include "webhook.h"

#define SL_WEBHOOK_RECORD_VERSION 1
#define SL_WEBHOOK_STATS_VERSION 1
#define SL_DELIVERY_ENTRY_VERSION 1
#define SL_WEBHOOK_KEY_LEN 8            /* DB_WEBHOOKS / DB_WEBHOOK_STATS keys */
#define SL_DELIVERY_KEY_LEN 16          /* DB_DELIVERIES keys: key(8) entry_id(8) */
#define SL_WEBHOOK_REASON_MAX 32        /* bytes of a disabled reason */

/* ---- ids ------------------------------------------------------------------ */

/* The key of id ("wh_" + 16 lowercase hex). False when id is malformed. */
bool sl_webhook_key_parse(sl_slice id, uint64_t *key);

/* The id of key: "wh_" + 16 lowercase hex, NUL-terminated. */
void sl_webhook_key_format(uint64_t key, char out[SL_WEBHOOK_ID_LEN + 1]);

/* ---- the subscription record ------------------------------------------- */

/* Load the record of key into *out: id, group, config, times, disabled
 * reason, and every stored secret (expired ones too: the caller filters).
 * consecutive_failures is 0 (it lives in the stats record). Slices point
 * into LMDB. SL_ERR_NOT_FOUND, SL_ERR_CORRUPT, SL_ERR_VERSION, storage. */
sl_err sl_webhook_rec_get(sl_txn *t, uint64_t key, sl_webhook_view *out);

/* Decode a stored (key, value) pair of DB_WEBHOOKS, as sl_webhook_rec_get. */
sl_err sl_webhook_rec_decode(const void *key, size_t klen, const void *val, size_t vlen,
                             sl_webhook_view *out);

/* Store v under key in w (insert or replace). v's slices may point into
 * LMDB: they are all copied into a buffer before the write. Lengths must be
 * within the limits of webhook.h (checked: SL_ERR_INVALID). Storage errors. */
sl_err sl_webhook_rec_put(sl_txn *w, uint64_t key, const sl_webhook_view *v);

/* Delete the record of key. SL_ERR_NOT_FOUND, storage errors. */
sl_err sl_webhook_rec_del(sl_txn *w, uint64_t key);

/* ---- the stats record ---------------------------------------------------- */

typedef struct sl_webhook_stats_rec {
    uint64_t attempts;              /* attempts reported */
    uint64_t successes;             /* of which 2xx without error */
    uint64_t failures;              /* of which anything else */
    uint64_t dead;                  /* events dead-lettered by reports */
    uint32_t last_status;           /* HTTP status of the last attempt, 0: none */
    uint64_t last_attempt_ms;       /* 0: never */
    uint64_t last_success_ms;       /* 0: never */
    uint32_t consecutive_failures;  /* events in a row that exhausted their retries */
    uint64_t log_entries;           /* entries of this subscription in DB_DELIVERIES */
    uint8_t last_error_len;         /* 0..SL_WEBHOOK_ERROR_MAX */
    char last_error[SL_WEBHOOK_ERROR_MAX]; /* not NUL-terminated */
    uint64_t latency[SL_WEBHOOK_LATENCY_BUCKETS]; /* histogram, see webhook.h */
} sl_webhook_stats_rec;

/* Load the stats of key into *out; a subscription without a stats record
 * (nothing reported yet) gets all zeros and SL_OK. SL_ERR_CORRUPT,
 * SL_ERR_VERSION, storage errors. */
sl_err sl_webhook_stats_get(sl_txn *t, uint64_t key, sl_webhook_stats_rec *out);

/* Store the stats of key in w. Storage errors. */
sl_err sl_webhook_stats_put(sl_txn *w, uint64_t key, const sl_webhook_stats_rec *s);

/* Delete the stats of key; a missing record is not an error. */
sl_err sl_webhook_stats_del(sl_txn *w, uint64_t key);

/* Count one latency (microseconds) in the histogram. */
void sl_webhook_stats_add_latency(sl_webhook_stats_rec *s, uint64_t latency_us);

/* The upper bound (us) of the bucket holding the pct-th percentile (1..100)
 * of the histogram; 0 when it is empty. */
uint64_t sl_webhook_stats_percentile(const sl_webhook_stats_rec *s, unsigned pct);

/* ---- delivery-log entries ------------------------------------------------ */

/* DB_DELIVERIES key of (subscription key, entry_id). */
void sl_delivery_key(uint8_t out[SL_DELIVERY_KEY_LEN], uint64_t key, uint64_t entry_id);

/* Largest encoded entry. */
#define SL_DELIVERY_ENTRY_MAX (38 + 255 + SL_WEBHOOK_ERROR_MAX + SL_WEBHOOK_BODY_KEEP)

/* Encode e (entry_id is the key's, not encoded; topic, error and body cut to
 * 255, SL_WEBHOOK_ERROR_MAX and SL_WEBHOOK_BODY_KEEP bytes) into buf, which
 * holds SL_DELIVERY_ENTRY_MAX bytes. Returns the length. */
size_t sl_delivery_entry_encode(const sl_delivery_entry *e, uint8_t *buf);

/* Decode a stored (key, value) pair of DB_DELIVERIES. SL_ERR_CORRUPT,
 * SL_ERR_VERSION. */
sl_err sl_delivery_entry_decode(const void *key, size_t klen, const void *val, size_t vlen,
                                sl_delivery_entry *out);

/* ---- the delivery-log writer (delivery_log.c) ------------------------------ */

/* Appends the entries of one subscription within one call: the meta counter
 * "next_delivery_entry" is read once at open and written once at close. */
typedef struct sl_delivery_writer {
    sl_txn *w;            /* the caller's write txn */
    void *cursor;         /* MDB_cursor on DB_DELIVERIES (owned) */
    uint64_t key;         /* the subscription */
    uint64_t next_entry;  /* entry id the next append gets */
    bool added;           /* something was appended: the counter must be saved */
} sl_delivery_writer;

/* Open a writer for subscription key in w. Storage errors. */
sl_err sl_delivery_writer_open(sl_txn *w, uint64_t key, sl_delivery_writer *dw);

/* Append e (its entry_id is ignored: the next id is given) and drop the
 * subscription's oldest entries while *count (the subscription's entry
 * count, from its stats record, updated here) passes SL_DELIVERY_LOG_KEEP.
 * A count that appends cannot reach (over KEEP + 1) is recounted first; the
 * entry just appended is never dropped. SL_ERR_TOO_LARGE when the entry ids
 * are used up (never wraps to ids in use), storage errors. */
sl_err sl_delivery_writer_add(sl_delivery_writer *dw, const sl_delivery_entry *e,
                              uint64_t *count);

/* Close the writer; save: write the entry counter back (when anything was
 * appended). Returns the error of that write. Safe on a zeroed writer. */
sl_err sl_delivery_writer_close(sl_delivery_writer *dw, bool save);

/* Delete every entry of subscription key. Storage errors. */
sl_err sl_delivery_log_delete_all(sl_txn *w, uint64_t key);

#endif
