/* db.h: core-internal access to the named LMDB databases of a store.
 * Not part of the public core API: only the .c files of core/ include it.
 * The key and value layout of each database is in core/FORMAT.md. */
#ifndef SLUICE_CORE_DB_H
#define SLUICE_CORE_DB_H

#include <lmdb.h>
#include "error.h"
#include "store.h"

typedef enum sl_db {
    SL_DB_META = 0,  /* "format", "instance", "log_state", "next_group_id",
                        "next_delivery_entry", ... */
    SL_DB_EVENTS,    /* format 1 only: seq(8) -> event record (empty in format 2) */
    SL_DB_TOPICS,    /* topic name -> topic statistics */
    SL_DB_IDEM,      /* idempotency key -> seq(8) ts(8) */
    SL_DB_IDEM_EXP,  /* ts(8) key -> "" (expiry order) */
    SL_DB_GROUPS,    /* group name -> group record */
    SL_DB_LEASES,    /* gid(4) seq(8) -> lease record */
    SL_DB_DUE,       /* gid(4) due_ms(8) seq(8) -> "" (redelivery order) */
    SL_DB_DLQ,       /* gid(4) seq(8) -> dead-letter record */
    SL_DB_CHUNKS,    /* format 2: first seq(8) -> chunk of events */
    SL_DB_WEBHOOKS,  /* webhook id(8) -> subscription record */
    SL_DB_WEBHOOK_STATS, /* webhook id(8) -> stats record (counters, latency
                            histogram, consecutive failures, log size) */
    SL_DB_DELIVERIES, /* webhook id(8) entry_id(8) -> delivery-log entry */
    SL_DB_APIKEYS,   /* API key id(8) -> key record (salt, hash, config) */
    SL_DB_COUNT
} sl_db;

/* The handle of database db in store. */
MDB_dbi sl_store_dbi(const sl_store *store, sl_db db);

/* The dbi of db in the store of txn t (shorthand). */
static inline MDB_dbi sl_dbi(const sl_txn *t, sl_db db)
{
    return sl_store_dbi(t->store, db);
}

/* Map an LMDB return code to sl_err: MDB_NOTFOUND -> SL_ERR_NOT_FOUND,
 * MDB_MAP_FULL -> SL_ERR_MAP_FULL, MDB_TXN_FULL -> SL_ERR_TXN_FULL,
 * ENOSPC/EDQUOT -> SL_ERR_STORAGE_FULL, ENOMEM -> SL_ERR_NOMEM,
 * MDB_CORRUPTED/MDB_PAGE_NOTFOUND -> SL_ERR_CORRUPT, others SL_ERR_STORAGE. */
sl_err sl_err_from_mdb(int rc);

/* ---- changes -------------------------------------------------------------
 * Every put and delete of core goes through these (never mdb_put/mdb_del
 * directly): they call LMDB and, when the store keeps a journal
 * (journal.h), also note the change in the open write transaction's redo
 * list (redo.h), so the writer can make a batch durable with one journal
 * write instead of an LMDB commit. They return LMDB's code (ENOMEM when the
 * redo list cannot grow). The databases are plain key -> value (no
 * MDB_DUPSORT), so a change is a put of (key, value) or a delete of key. */
int sl_db_put(sl_txn *t, sl_db db, MDB_val *key, MDB_val *val, unsigned flags);
int sl_db_del(sl_txn *t, sl_db db, MDB_val *key);
/* c must be a cursor on db in t. */
int sl_db_cursor_put(sl_txn *t, sl_db db, MDB_cursor *c, MDB_val *key, MDB_val *val,
                     unsigned flags);
/* Deletes the item c is on (mdb_cursor_del with flags 0). */
int sl_db_cursor_del(sl_txn *t, sl_db db, MDB_cursor *c);
/* A run of a rewritten value that equals a run of the value it replaces:
 * len bytes at offset to of the new value are those at offset from of the
 * old one. */
typedef struct sl_db_copy {
    size_t to, from, len;
} sl_db_copy;
/* Rewrite the item c is on, the last of db (its key: key, in memory the
 * caller owns), as a new value of val->mv_size bytes that the caller fills
 * (val->mv_data gets the memory, as with MDB_RESERVE): LMDB deletes the item
 * and appends key again, and the redo list notes only the bytes the copies
 * (sorted by to, disjoint, inside both values) do not cover. The old value
 * is gone once this returns: copy what the new one needs first. Then
 * sl_db_reserved. EINVAL when a copy does not fit. */
int sl_db_cursor_rewrite_last(sl_txn *t, sl_db db, MDB_cursor *c, MDB_val *key, MDB_val *val,
                              const sl_db_copy *copies, size_t n);
/* After a put with MDB_RESERVE or a rewrite, once val->mv_data is filled
 * in: note the value. Must come before any other change in t. */
int sl_db_reserved(sl_txn *t, const MDB_val *val);

#endif
