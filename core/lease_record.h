/* lease_record.h: core-internal: one pending event of a group (a lease).
 *
 * DB_LEASES maps gid(4) seq(8) to a lease record; DB_DUE walks a group's
 * leases in the order they become due. A lease has either its own due entry
 * gid(4) due_ms(8) seq(8), always equal to its due_ms, or (a first delivery,
 * untouched since: record version 2, `batch`) it is covered by the batch due
 * entry gid(4) due_ms(8) first_seq(8) 0x01 -> last_seq(8) its pull wrote once
 * for all the leases it made. The put/del functions below keep the records
 * and their entries in step. Layout in core/FORMAT.md.
 * lease.c implements these functions; dlq.c (replay) and the webhook
 * code (webhook_report.c: token decode, settle sessions, retry now) use them.
 */
#ifndef SLUICE_CORE_LEASE_RECORD_H
#define SLUICE_CORE_LEASE_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include "bytes.h"
#include "db.h"
#include "error.h"
#include "group_record.h"
#include "lease.h"
#include "store.h"

#define SL_LEASE_RECORD_VERSION 1       /* a lease with a due entry of its own */
#define SL_LEASE_RECORD_VERSION_BATCH 2 /* same layout; covered by a batch due entry */
#define SL_GID_SEQ_KEY_LEN 12 /* gid(4) seq(8): DB_LEASES and DB_DLQ keys */
#define SL_DUE_KEY_LEN 20     /* gid(4) due_ms(8) seq(8): DB_DUE keys */
#define SL_DUE_BATCH_KEY_LEN 21 /* gid(4) due_ms(8) first_seq(8) 0x01: batch entries */

typedef enum sl_lease_state {
    SL_LEASE_IN_FLIGHT = 1, /* delivered; due_ms is when the lease ends */
    SL_LEASE_WAITING = 2    /* nacked, ended with backoff, or replayed;
                               due_ms is when it may be delivered again */
} sl_lease_state;

typedef struct sl_lease_rec {
    sl_lease_state state;        /* in flight or waiting */
    uint32_t attempt;            /* deliveries made so far (0 after a replay) */
    uint64_t due_ms;             /* lease end, or redelivery time when waiting */
    uint64_t delivery;           /* delivery number of the last delivery */
    uint16_t reason_len;         /* bytes used in reason (last nack reason) */
    char reason[SL_REASON_MAX];  /* not NUL-terminated */
    bool batch;                  /* read only (set by sl_lease_rec_get): an in-flight
                                    first delivery without a due entry of its own,
                                    covered by its pull's batch due entry */
} sl_lease_rec;

static inline void sl_gid_seq_key(uint8_t key[SL_GID_SEQ_KEY_LEN], uint32_t gid, uint64_t seq)
{
    sl_put_u32(key, gid);
    sl_put_u64(key + 4, seq);
}

static inline void sl_due_key(uint8_t key[SL_DUE_KEY_LEN], uint32_t gid, uint64_t due_ms,
                              uint64_t seq)
{
    sl_put_u32(key, gid);
    sl_put_u64(key + 4, due_ms);
    sl_put_u64(key + 12, seq);
}

/* Read the lease of (gid, seq) into *out. SL_ERR_NOT_FOUND when there is
 * none, SL_ERR_CORRUPT / SL_ERR_VERSION when it does not decode, storage
 * errors. */
sl_err sl_lease_rec_get(sl_txn *t, uint32_t gid, uint64_t seq, sl_lease_rec *out);

/* Write the lease of (gid, seq) and its own due entry in write txn w (rec's
 * batch field is ignored: the record written is version 1). old is the lease
 * being replaced (its due entry is moved when due_ms changed; a batch lease
 * gets an entry of its own), or NULL when there is none. Errors:
 * SL_ERR_MAP_FULL, SL_ERR_TXN_FULL, SL_ERR_STORAGE... */
sl_err sl_lease_rec_put(sl_txn *w, uint32_t gid, uint64_t seq, const sl_lease_rec *rec,
                        const sl_lease_rec *old);

/* Delete the lease of (gid, seq), as read into *lease, with its own due
 * entry (a batch lease has none: its batch entry goes when the pull that
 * walks it finds no lease left). Missing entries are not an error. Storage
 * errors. */
sl_err sl_lease_rec_del(sl_txn *w, uint32_t gid, uint64_t seq, const sl_lease_rec *lease);

/* Make the waiting lease of (gid, seq) due at now_ms (no later), so the
 * next pull delivers it; attempt and delivery number are kept. The group
 * record is unchanged (the lease stays waiting). SL_ERR_NOT_FOUND when
 * there is no lease or it is in flight; storage errors. */
sl_err sl_lease_due_now(sl_txn *w, uint32_t gid, uint64_t seq, uint64_t now_ms);

/* Decode an ack token (see core/FORMAT.md, "Ack tokens") into the group id,
 * the sequence and the low 32 bits of the delivery number. False when it is
 * not 32 lowercase hex digits. No lookup: whether it still holds a lease is
 * for the caller to check (sl_lease_rec_get, delivery numbers equal). */
bool sl_token_decode(sl_slice token, uint32_t *gid, uint64_t *seq, uint32_t *delivery);

/* A settle session: settles of one group in write txn w, each with its own
 * kind, delay and reason, with the group record loaded once (begin) and
 * written once (end, only when a settle changed it). sl_lease_settle is one
 * session; sl_webhook_report runs one per report call, because each attempt
 * has its own kind, delay and reason. Between begin and end nothing else may
 * load or save the group's record in w: its counters live in the session.
 * Steps run in order, each against the leases as the previous ones left
 * them, exactly as separate sl_lease_settle calls of one token would.
 * After begin succeeded, end it (it writes the group) or abort w. */
typedef struct sl_settle_session {
    sl_txn *w;          /* the caller's write txn; NULL once ended */
    MDB_cursor *leases; /* on DB_LEASES in w: the steps' lookups start near the last
                           one; closed by end, or by LMDB when w is aborted */
    sl_group_rec g;     /* the group, counters as the steps so far left them */
    bool changed;       /* a step settled a token: end writes g */
} sl_settle_session;

/* Start a session on group in w. SL_ERR_NOT_FOUND for an unknown group,
 * SL_ERR_INVALID, SL_ERR_CORRUPT / SL_ERR_VERSION, storage errors. */
sl_err sl_settle_begin(sl_txn *w, const char *group, sl_settle_session *s);

/* Settle one token as sl_lease_settle does (kind, delay_ms and reason as
 * there); *status gets its status. SL_ERR_INVALID (bad kind, NULL reason
 * with a length), storage errors: then the caller must abort w. */
sl_err sl_settle_step(sl_settle_session *s, sl_settle_kind kind, sl_slice token,
                      uint64_t delay_ms, sl_slice reason, uint64_t now_ms,
                      sl_token_status *status);

/* End the session: write the group record when a step changed it. Call it
 * only when every step succeeded (after an error, abort w instead: nothing
 * to release). Storage errors. Safe on an ended session. */
sl_err sl_settle_end(sl_settle_session *s);

#endif
