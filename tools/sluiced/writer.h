/* writer.h: the single writer thread: group commit.
 *
 * Every request that changes the store (publish, pull, ack, ...) is queued
 * here. The writer takes everything queued (up to a cap), runs it in ONE
 * LMDB write transaction (a request that fails after changing something
 * makes the batch run again with each request in a child transaction, so it
 * does not spoil the others), makes it durable once, and only then lets each
 * job finish: nothing is acknowledged before it is durable.
 *
 * Durable means, with the journal (core/journal.h, the default): a batch of
 * publishes, pulls, settles and webhook reports is one journal write and one
 * fdatasync, and
 * the LMDB transaction stays open for the next batch. Reads that came here
 * because read transactions lag behind the journal run in it once their
 * batch is durable. A checkpoint (the LMDB commit, two flushes) ends it: for
 * any other request (configuration), with the maintenance pass, when the
 * journal's lap is full, and after IDLE_CHECKPOINT_MS without requests.
 * Without the journal (relaxed mode) every batch is an LMDB commit.
 *
 * It also owns long-polls: a pull that found nothing is parked and runs
 * again when events are appended or made due, when one of its group's
 * leases is due, or at its deadline (then it answers empty). And it runs
 * the periodic maintenance pass (retention, idempotency keys, spent leases).
 *
 * When the LMDB map is full the batch is aborted, the map grows and the batch
 * runs again; at the disk quota publishes fail with "storage_full" while
 * everything else keeps working in the reserve above the quota. */
#ifndef SLUICE_SLUICED_WRITER_H
#define SLUICE_SLUICED_WRITER_H

#include <stdint.h>
#include "core/error.h"
#include "core/store.h"
#include "dispatch.h"
#include "job.h"

typedef struct sl_writer sl_writer;

/* Start the writer thread. store and counters are borrowed and must outlive
 * the writer. maintenance_ms: period of the maintenance pass. sync_ms: 0 in
 * the default (durable) mode, where every commit fsyncs; in relaxed mode
 * (the store opened with relaxed_sync) the period of the fsync timer. On
 * success *out is owned by the caller (sl_writer_stop, sl_writer_free). */
sl_err sl_writer_start(sl_store *store, sl_server_counters *counters, uint64_t maintenance_ms,
                       uint64_t sync_ms, sl_writer **out);

/* Queue a job. Thread-safe. After sl_writer_stop began, the job is finished
 * at once with a "shutting_down" error. */
void sl_writer_submit(sl_writer *w, sl_job *job);

/* Finish every queued job (their transactions commit), answer parked
 * long-polls with what they have, and stop the thread. Jobs submitted
 * afterwards by other threads are finished at once with "shutting_down". */
void sl_writer_stop(sl_writer *w);

/* Free a stopped writer, once no thread can submit any more. NULL is ignored. */
void sl_writer_free(sl_writer *w);

#endif
