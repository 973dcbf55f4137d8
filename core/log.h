/* log.h: the append-only event log, its topic statistics and idempotency keys.
 *
 * Events are keyed by their 64-bit sequence. Sequences start at 1, increase by
 * one per appended event, and are never reused (also after trims and
 * restarts). Timestamps are server-assigned and never decrease along the log,
 * so the log can be searched by time.
 */
#ifndef SLUICE_CORE_LOG_H
#define SLUICE_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "event.h"
#include "store.h"

#define SL_PUBLISH_BATCH_MAX 1000

typedef struct sl_append_result {
    uint64_t seq;    /* the event's sequence (the original one for a duplicate) */
    uint64_t ts_ms;  /* its timestamp */
    bool duplicate;  /* idempotency key seen inside the dedupe window: nothing appended */
} sl_append_result;

/* Append n events (1..SL_PUBLISH_BATCH_MAX) in write txn w at time now_ms.
 * The batch is all-or-nothing: when any event is invalid nothing is written,
 * *bad_index names it and the result is SL_ERR_INVALID or SL_ERR_TOO_LARGE
 * (*bad_index is SIZE_MAX when the batch itself is bad: n out of range, NULL
 * arguments; bad_index may be NULL).
 * out must hold n results. A repeated idempotency key (inside the batch or
 * within dedupe_window_ms before) yields the original seq with duplicate=true.
 * Also SL_ERR_MAP_FULL / SL_ERR_STORAGE. No allocation per event. */
sl_err sl_log_append(sl_txn *w, const sl_event_in *events, size_t n, uint64_t now_ms,
                     sl_append_result *out, size_t *bad_index);

typedef struct sl_log_bounds {
    uint64_t first_seq;   /* oldest retained event; 0 when the log is empty */
    uint64_t last_seq;    /* newest retained event; 0 when empty */
    uint64_t next_seq;    /* the sequence the next append gets */
    uint64_t events;      /* retained events */
    uint64_t bytes;       /* retained payload + topic + headers bytes */
} sl_log_bounds;

sl_err sl_log_get_bounds(sl_txn *t, sl_log_bounds *out);

/* Read one event. SL_ERR_NOT_FOUND if not retained. */
sl_err sl_log_get(sl_txn *t, uint64_t seq, sl_event_view *out);

/* Many lookups by sequence in one transaction with one cursor (no
 * allocation per lookup): for pull's redeliveries and DLQ listings. */
typedef struct sl_log_reader {
    sl_txn *txn;        /* the transaction it reads in */
    void *cursor;       /* MDB_cursor on the chunks */
    uint64_t head_seq;  /* internal: first retained sequence when opened */
    uint64_t next_seq;  /* internal: the next sequence to be appended */
} sl_log_reader;

/* Open a reader in t; close it with sl_log_reader_close before t ends. */
sl_err sl_log_reader_open(sl_txn *t, sl_log_reader *r);
/* Like sl_log_get. The view lives until the transaction ends or the log is
 * written (trims) in it. */
sl_err sl_log_reader_get(sl_log_reader *r, uint64_t seq, sl_event_view *out);
/* Close; safe on a zeroed reader. */
void sl_log_reader_close(sl_log_reader *r);

/* First sequence whose timestamp is >= ts_ms; next_seq when there is none. */
sl_err sl_log_seq_at_time(sl_txn *t, uint64_t ts_ms, uint64_t *seq_out);

/* Forward iterator over the log from a sequence. */
typedef struct sl_log_iter {
    sl_txn *txn;
    void *cursor;        /* MDB_cursor */
    uint64_t next;       /* internal */
    bool started;        /* internal */
} sl_log_iter;

/* Open at the first event with seq >= from_seq. Close with sl_log_iter_close. */
sl_err sl_log_iter_open(sl_txn *t, uint64_t from_seq, sl_log_iter *it);
/* Next event, or SL_ERR_END. The view lives until the next call or close. */
sl_err sl_log_iter_next(sl_log_iter *it, sl_event_view *out);
void sl_log_iter_close(sl_log_iter *it);

typedef struct sl_topic_info {
    sl_slice name;        /* valid during the callback */
    uint64_t events;
    uint64_t bytes;
    uint64_t first_seq;
    uint64_t last_seq;
} sl_topic_info;

/* Call cb for each topic with retained events, in name order. A non-OK
 * return from cb stops the walk and is returned. */
typedef sl_err (*sl_topic_cb)(void *ctx, const sl_topic_info *info);
sl_err sl_topics_each(sl_txn *t, sl_topic_cb cb, void *ctx);

/* Delete events from the head of the log while a retention limit is
 * exceeded, never at or above floor_seq (pass UINT64_MAX for no floor), at
 * most max_delete events. Also drops idempotency keys older than the window.
 * *deleted gets the count of events removed. */
sl_err sl_log_trim(sl_txn *w, uint64_t now_ms, uint64_t floor_seq, size_t max_delete,
                   size_t *deleted);

#endif
