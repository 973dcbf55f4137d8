/* store.h: the LMDB environment that holds everything sluice keeps.
 *
 * One sl_store per data directory and process. It owns the MDB_env and the
 * named databases (see core/FORMAT.md for what each holds). All work happens
 * in transactions (sl_txn), which the caller begins and ends:
 *
 *   - write transactions: one at a time in the whole process, on one thread
 *     (the daemon's writer), which applies a whole batch of requests in one
 *     transaction and commits once (with fsync unless relaxed_sync).
 *     sl_txn_begin_child() gives a nested transaction per request so one
 *     failing request does not spoil the others.
 *   - the journal (journal.h, on unless relaxed_sync): the writer may keep
 *     its top-level transaction open across batches and make each batch
 *     durable with sl_txn_journal() (one small write, one fdatasync) instead
 *     of a commit. sl_txn_commit() of a top-level transaction is then a
 *     checkpoint: LMDB commits durably and the journal starts over. Changes
 *     that are only journaled are invisible to read transactions until the
 *     checkpoint (sl_store_reads_lag). sl_txn_abort() of the open transaction
 *     loses nothing journaled: the next sl_txn_begin_write() replays it, as
 *     sl_store_open() does after a crash.
 *   - read transactions: any number, any thread (MDB_NOTLS), never blocked
 *     by the writer.
 *
 * When an operation returns SL_ERR_MAP_FULL the whole write transaction is
 * poisoned: abort it, call sl_store_grow(), and apply the batch again.
 * Thread safety: sl_store_open/close from one thread while nothing else uses
 * the store; everything else may be called from any thread.
 */
#ifndef SLUICE_CORE_STORE_H
#define SLUICE_CORE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "error.h"

struct MDB_txn;
struct sl_redo;

typedef struct sl_retention {
    uint64_t max_age_ms;  /* 0: no age limit. Default 7 days */
    uint64_t max_bytes;   /* 0: no byte limit (the quota still applies). Default 0 */
    uint64_t max_events;  /* 0: no count limit. Default 0 */
    bool discard_unconsumed; /* false (default): never trim an event a group
                                still needs (unread, pending or dead-lettered);
                                true: limits are hard, like Kafka. */
} sl_retention;

typedef struct sl_store_options {
    const char *path;            /* data directory; created if missing. Borrowed. */
    uint64_t map_initial_bytes;  /* initial LMDB map size. Default 64 MiB */
    uint64_t quota_bytes;        /* disk quota: the map never grows past it for
                                    publishes. Default 8 GiB */
    uint32_t max_readers;        /* concurrent read transactions. Default 1024 */
    uint64_t max_payload_bytes;  /* per event. Default 1 MiB */
    uint64_t dedupe_window_ms;   /* idempotency-key window. Default 120000 */
    sl_retention retention;
    bool relaxed_sync;           /* commit without fsync (MDB_NOSYNC); caller must
                                    call sl_store_sync() on a timer. Default false */
    bool journal;                /* keep the write-ahead journal (ignored with
                                    relaxed_sync). Default true */
    uint64_t journal_bytes;      /* its size, 2 MiB..4 GiB. Default 16 MiB */
} sl_store_options;

typedef struct sl_store sl_store;

/* A transaction. Stack-allocate it; sl_txn_begin_* fill it in. */
typedef struct sl_txn {
    sl_store *store;
    struct MDB_txn *txn;  /* NULL once ended */
    bool write;           /* a write (or child) transaction */
    bool top;             /* internal: top-level, holds the store's map lock */
    struct sl_redo *redo; /* internal: where changes are noted for the journal
                             (the store's, borrowed); NULL: not journaled */
    size_t redo_mark;     /* internal: a child's start in redo (abort drops back) */
} sl_txn;

typedef struct sl_store_stats {
    uint64_t map_bytes;       /* current LMDB map size */
    uint64_t used_bytes;      /* pages in use (high-water mark) x page size */
    uint64_t quota_bytes;
    uint64_t file_bytes;      /* size of data.mdb on disk */
    uint32_t readers_max;
    uint32_t readers_used;
    uint32_t format_version;
    bool journal;              /* the write-ahead journal is in use */
    uint64_t journal_replayed; /* journal records replayed when the store opened
                                  (what a crash left past the last checkpoint) */
} sl_store_stats;

/* Fill opt with the defaults above (path NULL). */
void sl_store_options_default(sl_store_options *opt);

/* Open (creating if needed) the store at opt->path. On success *out is owned
 * by the caller: close it with sl_store_close(). Errors: SL_ERR_INVALID (bad
 * options: no path, map_initial_bytes < 1 MiB, quota_bytes below it or over
 * 1 PiB, max_readers not 1..65536, max_payload_bytes not 1..256 MiB),
 * SL_ERR_VERSION (data written by an unsupported format version),
 * SL_ERR_STORAGE (LMDB or file-system failure), SL_ERR_CORRUPT (a meta
 * record does not decode), SL_ERR_NOMEM. */
sl_err sl_store_open(const sl_store_options *opt, sl_store **out);

/* Close the store. No transaction may be open. NULL is ignored. */
void sl_store_close(sl_store *store);

/* The options the store was opened with (path included). Owned by store. */
const sl_store_options *sl_store_options_of(const sl_store *store);

/* This data directory's random 64-bit instance id (part of every event id). */
uint64_t sl_store_instance(const sl_store *store);

sl_err sl_txn_begin_read(sl_store *store, sl_txn *out);
sl_err sl_txn_begin_write(sl_store *store, sl_txn *out);
/* A nested write transaction inside parent (which must be a write txn). */
sl_err sl_txn_begin_child(sl_txn *parent, sl_txn *out);
/* Commit (a top-level one of a journaled store: a checkpoint, see above).
 * SL_ERR_STORAGE_FULL on ENOSPC/EDQUOT, SL_ERR_MAP_FULL, SL_ERR_STORAGE.
 * The txn is ended whatever the result. */
sl_err sl_txn_commit(sl_txn *txn);
/* Abort; safe on a zeroed txn. */
void sl_txn_abort(sl_txn *txn);

/* Whether sl_txn_journal() can take what the top-level write transaction txn
 * changed since it began or was last journaled: the store keeps a journal,
 * the changes are small enough (512 KiB) and fit in the journal's lap. When
 * false, commit instead. */
bool sl_txn_can_journal(const sl_txn *txn);
/* Make those changes durable in the journal (one write and one fdatasync;
 * nothing when there are none); txn stays open for more. On an error the
 * changes are not durable: abort txn (the journaled ones are replayed by the
 * next sl_txn_begin_write). SL_ERR_INVALID when !sl_txn_can_journal(txn). */
sl_err sl_txn_journal(sl_txn *txn);

/* How many bytes of changes txn (or its parents) noted since the top-level
 * transaction began or was last journaled: a request that failed without
 * changing this changed nothing. false when that is not known (no journal,
 * or more changes than a journal record takes). */
bool sl_txn_changes(const sl_txn *txn, size_t *bytes);

/* The store keeps a journal. */
bool sl_store_journaled(const sl_store *store);
/* True while acknowledged changes are journaled but not checkpointed: a read
 * transaction begun now would not see them. Any thread. */
bool sl_store_reads_lag(const sl_store *store);

/* Grow the map after SL_ERR_MAP_FULL. The caller's own transactions must all
 * be ended; it waits for other threads' transactions to end (a read-write
 * lock that every top-level transaction holds shared).
 * for_publish: true if the batch holds publishes; then the map may not pass
 * quota_bytes. Non-publish batches (acks, leases) may use a reserve of
 * max(quota/16, 16 MiB) above the quota so consumers keep working when the
 * disk quota is reached. SL_ERR_STORAGE_FULL when it cannot grow. */
sl_err sl_store_grow(sl_store *store, bool for_publish);

/* Flush to disk (relaxed_sync mode's timer). */
sl_err sl_store_sync(sl_store *store);

sl_err sl_store_get_stats(sl_store *store, sl_store_stats *out);

#endif
