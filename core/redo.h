/* redo.h: the changes of the open write transaction, as the journal keeps them.
 *
 * The change wrappers of db.h note every put and delete here while the
 * writer's transaction is open. When a batch is done the writer hands the
 * list to the journal (journal.h) as one record and clears it. A child
 * transaction remembers where it started (sl_redo_size) and an abort drops
 * back to it (sl_redo_truncate), so the list always holds exactly what the
 * open transaction changed since the list was last cleared.
 *
 * Encoding (big-endian, like every integer sluice stores), one change after
 * the other:
 *   kind(1: 'P' put, 'D' delete, 'S' splice) db(1) key_len(4)
 *   val_len(4, 0 for 'D') key val
 * A splice is a put whose value is given as pieces of the value it
 * replaces: its val is a list of pieces, 'C' from(4) len(4) (copy len bytes
 * of the old value from offset from) or 'L' len(4) bytes (literal). So an
 * append that adds one event to a chunk notes the event, not the chunk.
 * Replaying the changes in order on the state they were noted against gives
 * the same state (sl_redo_apply).
 *
 * Ownership: the store owns its sl_redo (sl_redo_new/sl_redo_free). Not
 * thread-safe: only the writer thread touches it. */
#ifndef SLUICE_CORE_REDO_H
#define SLUICE_CORE_REDO_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "db.h"
#include "error.h"

typedef struct sl_redo sl_redo;

/* limit: the most bytes worth keeping (a bigger list cannot be journaled):
 * past it changes are not noted and sl_redo_overflowed() says so, until a
 * truncate drops back below where that happened. NULL when out of memory. */
sl_redo *sl_redo_new(size_t limit);
void sl_redo_free(sl_redo *r);

/* Note a put. reserved: the value is not filled in yet (MDB_RESERVE); room is
 * kept for it and sl_redo_fill_reserved copies it in. Returns 0 or ENOMEM. */
int sl_redo_note_put(sl_redo *r, sl_db db, const MDB_val *key, const MDB_val *val,
                     bool reserved);
/* Note a splice: the value under key becomes new_len bytes, the copies
 * (sorted by to, disjoint, checked by the caller) taken from the value it
 * replaces and the rest filled in later by sl_redo_fill_reserved, as for a
 * reserved put. Returns 0 or ENOMEM. */
int sl_redo_note_splice(sl_redo *r, sl_db db, const MDB_val *key, size_t new_len,
                        const sl_db_copy *copies, size_t n);
/* Note a delete. Returns 0 or ENOMEM. */
int sl_redo_note_del(sl_redo *r, sl_db db, const MDB_val *key);
/* Copy the value of the last reserved put (same size) from val; for a
 * splice, the bytes its copies do not cover. */
void sl_redo_fill_reserved(sl_redo *r, const MDB_val *val);
/* Forget the last change noted (its LMDB call failed). */
void sl_redo_drop_last(sl_redo *r);

/* The encoded changes: size in bytes and the bytes (owned by r, valid until
 * the next change or truncate). */
size_t sl_redo_size(const sl_redo *r);
const uint8_t *sl_redo_data(const sl_redo *r);
bool sl_redo_overflowed(const sl_redo *r);
/* Drop everything after the first size bytes (0: clear). */
void sl_redo_truncate(sl_redo *r, size_t size);

/* Apply encoded changes (as sl_redo_data gave them) in the write transaction
 * t, whose redo list must be NULL (replaying is not itself noted).
 * SL_ERR_CORRUPT when the bytes do not decode; LMDB errors as sl_err. */
sl_err sl_redo_apply(sl_txn *t, const uint8_t *data, size_t size);

#endif
