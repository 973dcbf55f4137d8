/* lease.h: pulling events through a group and settling them (at-least-once).
 *
 * Pull leases events to a consumer for the group's ack wait. Each delivery
 * gets an attempt number (1 for the first) and an ack token tied to that one
 * delivery. Settling a token: ack (done), nack (redeliver, optionally after a
 * delay), extend (restart the lease), term (straight to the dead-letter
 * queue). A lease that ends without a settle makes the event due again; when
 * the event has had max_deliveries deliveries it moves to the DLQ instead.
 * All state lives in LMDB, so leases survive a crash and come back when due.
 */
#ifndef SLUICE_CORE_LEASE_H
#define SLUICE_CORE_LEASE_H

#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "event.h"
#include "slice.h"
#include "store.h"

#define SL_PULL_BATCH_MAX 1000
#define SL_SETTLE_BATCH_MAX 1000
#define SL_TOKEN_LEN 32      /* hex characters */
#define SL_REASON_MAX 1024   /* bytes kept of a nack/term reason */
#define SL_DELAY_DEFAULT UINT64_MAX

typedef struct sl_delivery {
    sl_event_view event;               /* valid during the callback only */
    uint32_t attempt;                  /* 1, 2, ... */
    char token[SL_TOKEN_LEN + 1];      /* NUL-terminated ack token */
    uint64_t lease_until_ms;           /* when the lease ends */
} sl_delivery;

typedef sl_err (*sl_delivery_cb)(void *ctx, const sl_delivery *d);

typedef struct sl_pull_result {
    size_t delivered;          /* deliveries handed to the callback */
    size_t dead_lettered;      /* events moved to the DLQ while looking */
    uint64_t next_due_ms;      /* earliest time a pending event of this group
                                  becomes due (0: none); for long-poll wake-ups.
                                  At max_inflight: the earliest lease end. now_ms
                                  when the scan bound stopped the pull early */
} sl_pull_result;

/* Lease up to max (1..SL_PULL_BATCH_MAX) events of group to one consumer:
 * first events whose redelivery is due, then new events from the cursor,
 * never more than max_inflight leased at once. cb is called for each
 * delivery inside the transaction; a non-OK return aborts the pull with that
 * error (the caller then aborts the (child) transaction). SL_ERR_NOT_FOUND
 * for an unknown group. Scans at most a bounded number of non-matching
 * events per call. */
sl_err sl_lease_pull(sl_txn *w, const char *group, size_t max, uint64_t now_ms,
                     sl_delivery_cb cb, void *ctx, sl_pull_result *res);

typedef enum sl_settle_kind {
    SL_SETTLE_ACK = 0,
    SL_SETTLE_NACK = 1,   /* delay: SL_DELAY_DEFAULT = the group's backoff (or 0) */
    SL_SETTLE_EXTEND = 2, /* delay: new lease length; SL_DELAY_DEFAULT = ack wait */
    SL_SETTLE_TERM = 3    /* reason is kept with the dead letter */
} sl_settle_kind;

typedef enum sl_token_status {
    SL_TOKEN_OK = 0,      /* settled */
    SL_TOKEN_STALE = 1,   /* the event was redelivered since: refused */
    SL_TOKEN_GONE = 2,    /* nothing pending for it (already acked, dead-lettered) */
    SL_TOKEN_INVALID = 3  /* not a token */
} sl_token_status;

/* Stable wire name of a token status ("ok", "stale", "gone", "invalid"). */
const char *sl_token_status_name(sl_token_status s);

/* Settle n (1..SL_SETTLE_BATCH_MAX) tokens of group. status must hold n
 * entries, one per token. Returns SL_OK when the batch was processed (see
 * each status), SL_ERR_NOT_FOUND for an unknown group, SL_ERR_INVALID for bad
 * arguments, SL_ERR_TOO_LARGE for n over the limit, SL_ERR_MAP_FULL...
 * A lease whose time ran out but that was not redelivered yet can still be
 * settled. A nack of the last allowed delivery dead-letters the event at
 * once (with the nack reason); a nack reason is otherwise kept and becomes
 * the dead-letter reason if the event dies later. Extend of a nacked
 * (waiting) lease is stale; ack, nack again and term of it are accepted. */
sl_err sl_lease_settle(sl_txn *w, const char *group, sl_settle_kind kind,
                       const sl_slice *tokens, size_t n, uint64_t delay_ms,
                       sl_slice reason, uint64_t now_ms, sl_token_status *status);

/* Move every lease of every group that ended before now_ms and has had
 * max_deliveries deliveries to the DLQ ("max deliveries exceeded"), at most
 * max_moves; *moved gets the count. Run by the daemon's maintenance tick so
 * dead letters appear even when nobody pulls. */
sl_err sl_lease_expire(sl_txn *w, uint64_t now_ms, size_t max_moves, size_t *moved);

#endif
