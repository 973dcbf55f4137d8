/* journal.h: the write-ahead journal in front of LMDB.
 *
 * A durable LMDB commit flushes the disk twice (the pages, then the meta
 * page) and writes every page the transaction touched. To answer a batch of
 * small requests after ONE flush of one small write, the writer keeps its
 * LMDB transaction open across batches, appends each batch's changes (redo.h)
 * to this journal, fdatasyncs it and answers. Now and then it commits the
 * LMDB transaction durably (a checkpoint, store.h) and the journal starts a
 * new lap from its beginning.
 *
 * The file, <data>/journal, has a fixed size and is written full of zeros
 * when created, so an append never changes the file's size or block map and
 * fdatasync flushes just the data. It is a sequence of records from offset 0:
 *
 *   magic "SLJR"(4) crc32c(4) lap(8) lsn(8) body_len(4) zero(4) body
 *
 * (big-endian; the crc covers everything after it, body included). The lap
 * is a random number drawn at each checkpoint (0 before the first) and
 * stored, with the lsn the lap starts at, in the LMDB meta record "journal"
 * of that same checkpoint.
 * Recovery reads records from offset 0 while the magic, crc and lap match
 * and the lsn runs on one by one: a torn or stale record (an older lap, zeros)
 * ends the lap.
 *
 * Ownership: the store owns its journal (sl_journal_open/close). Not
 * thread-safe: the writer thread (and store open) use it. */
#ifndef SLUICE_CORE_JOURNAL_H
#define SLUICE_CORE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define SL_JOURNAL_HEAD 32u

typedef struct sl_journal sl_journal;

/* Open <dir>/journal. An existing file is used as it is (its size is its
 * capacity). A missing one is created when create is true (capacity bytes of
 * zeros, synced, and the directory synced; removed again if that fails);
 * otherwise *out is NULL and the result SL_OK. SL_ERR_STORAGE,
 * SL_ERR_STORAGE_FULL (no room to create it), SL_ERR_NOMEM. */
sl_err sl_journal_open(const char *dir, uint64_t capacity, bool create, sl_journal **out);
void sl_journal_close(sl_journal *j);

/* Start a lap: the next record goes to offset 0 with this lap and lsn. */
void sl_journal_start_lap(sl_journal *j, uint64_t lap, uint64_t lsn);
uint64_t sl_journal_lap(const sl_journal *j);
/* The file's size: the most one lap holds. */
uint64_t sl_journal_capacity(const sl_journal *j);
/* The lsn the current lap started at, and the one the next record gets. */
uint64_t sl_journal_first_lsn(const sl_journal *j);
uint64_t sl_journal_next_lsn(const sl_journal *j);

/* Whether a record with a body of n bytes fits in what is left of the lap. */
bool sl_journal_fits(const sl_journal *j, size_t n);

/* Append one record and, if sync, fdatasync: durable on SL_OK. On failure
 * the record does not count (the next one reuses its lsn and place). */
sl_err sl_journal_append(sl_journal *j, const uint8_t *body, size_t n, bool sync);

/* Called for each record found, in order. Its body is valid during the call. */
typedef sl_err (*sl_journal_record_fn)(void *ctx, const uint8_t *body, size_t n);

/* Read the current lap from offset 0: records of lap whose lsn runs on from
 * sl_journal_first_lsn(), up to (not including) end_lsn, while they are whole.
 * Calls fn for each; stops at the first error fn returns. On SL_OK the
 * journal's next record follows the last one read. */
sl_err sl_journal_replay(sl_journal *j, uint64_t end_lsn, sl_journal_record_fn fn, void *ctx);

/* CRC-32C (Castagnoli) of n bytes, continuing from crc (0 to start). */
uint32_t sl_crc32c(uint32_t crc, const void *data, size_t n);

#endif
