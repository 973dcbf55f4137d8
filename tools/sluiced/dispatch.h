/* dispatch.h: one decoded request -> core -> one encoded reply.
 *
 * The transport (listener.c) decodes a request (proto/request.h) and asks
 * sl_dispatch_kind() where it runs:
 *   - SL_RUN_READ: sl_dispatch_read() at once, in a read-only transaction, on
 *     the calling (nng) thread. It never waits for the writer.
 *   - SL_RUN_WRITE: the writer thread (writer.c) calls sl_dispatch_write()
 *     in its batch transaction (optimistically shared by every request of
 *     the batch; when one fails on its own the batch runs again with each
 *     request in a child transaction of its own).
 * Both always leave a complete reply (ok or error) in *out unless they return
 * SL_ERR_NOMEM. Data flows one way: request -> core -> reply; dispatch keeps
 * no state of its own beyond the counters in sl_server_counters.
 */
#ifndef SLUICE_SLUICED_DISPATCH_H
#define SLUICE_SLUICED_DISPATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "core/error.h"
#include "core/store.h"
#include "proto/reply.h"
#include "proto/request.h"

typedef enum sl_run_kind { SL_RUN_READ, SL_RUN_WRITE } sl_run_kind;

/* Counters shown by the "stats" op. Owned by the daemon (server.c), shared
 * by pointer; atomics, so any thread may bump them. */
typedef struct sl_server_counters {
    atomic_uint_fast64_t requests;    /* requests answered */
    atomic_uint_fast64_t publishes;   /* events appended (not counting duplicates) */
    atomic_uint_fast64_t parked_pulls;/* long-polls parked now */
    atomic_uint_fast64_t connections; /* client connections open now on tcp:// and ipc://
                                         (sp_server.h) */
    atomic_uint_fast64_t commits;     /* LMDB commits (checkpoints; durable: two flushes) */
    atomic_uint_fast64_t journal_writes; /* batches made durable by the journal instead
                                         (one write, one fdatasync) */
    atomic_uint_fast64_t journal_us;  /* time in journal writes (record, pwritev,
                                         fdatasync) */
    atomic_uint_fast64_t checkpoint_us; /* time in LMDB commits (those above, and the
                                         idle ones): the writer's longest stalls */
    atomic_uint_fast64_t commit_requests; /* requests they answered (group commit:
                                         commit_requests / (commits + journal_writes)) */
    uint64_t started_ms;              /* set once at start */
} sl_server_counters;

/* What a write changed, for the writer to wake parked long-polls and to
 * decide whether to park this pull. */
typedef struct sl_write_effects {
    bool appended;        /* events were appended: wake parked pulls */
    size_t appended_events; /* publish: events appended (duplicates not counted) */
    bool made_due;        /* nack/replay made events due now: wake parked pulls */
    bool is_publish;      /* the request appends (for sl_store_grow's quota rule) */
    size_t delivered;     /* pull: deliveries in the reply */
    uint64_t next_due_ms; /* pull: when this group's next pending event is due (0: none) */
} sl_write_effects;

sl_run_kind sl_dispatch_kind(const sl_request *req);

/* Where req runs now: SL_RUN_READ for a read while read transactions see
 * every acknowledged change; otherwise SL_RUN_WRITE: a read queued to the
 * writer (sl_store_reads_lag: acknowledged changes are only in the journal)
 * runs in its open transaction once the batch is durable, so a client reads
 * what it wrote. */
sl_run_kind sl_dispatch_route(const sl_store *store, const sl_request *req);

/* True when req appends events (publish, webhook.test): refused while the
 * disk quota is reached (the quota rule of sl_store_grow). */
bool sl_dispatch_appends(const sl_request *req);

/* Run a read-only request (in a read transaction of its own). */
sl_err sl_dispatch_read(sl_store *store, const sl_request *req, uint64_t now_ms,
                        const sl_server_counters *counters, sl_reply_buf *out);
/* The same in the transaction in (the writer's open write transaction: it
 * sees what only the journal holds yet); NULL: one of its own. in is only
 * read. */
sl_err sl_dispatch_read_in(sl_store *store, sl_txn *in, const sl_request *req, uint64_t now_ms,
                           const sl_server_counters *counters, sl_reply_buf *out);

/* Run a write request in the write transaction w (the batch's, or a child).
 * Returns:
 *   SL_OK: the request succeeded: commit w; *out holds the ok reply.
 *   SL_ERR_MAP_FULL, SL_ERR_TXN_FULL, SL_ERR_STORAGE, SL_ERR_STORAGE_FULL,
 *   SL_ERR_NOMEM: a storage-level failure: the writer aborts (and may retry)
 *   and writes the reply itself; *out is unspecified.
 *   any other error: the request failed on its own (bad group, ...): abort w;
 *   *out holds the error reply.
 * out is reset by the callee first, so a retried request starts clean. */
sl_err sl_dispatch_write(sl_txn *w, const sl_request *req, uint64_t now_ms,
                         sl_reply_buf *out, sl_write_effects *fx);

#endif
