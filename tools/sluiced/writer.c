/* writer.c: see writer.h. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "core/retention.h"
#include "logger.h"

#define BATCH_MAX 256             /* requests per write transaction */
#define BATCH_BYTES_MAX (8u << 20) /* request bytes per write transaction: LMDB keeps a
                                      transaction's dirty pages on the heap, so this
                                      bounds the daemon's memory, not the backlog */
#define MAINTENANCE_BUDGET 10000  /* records touched per maintenance pass */
#define GROW_ATTEMPTS 32
#define IDLE_CHECKPOINT_MS 100    /* quiet this long: checkpoint what the journal holds */

struct sl_writer {
    sl_store *store;                 /* borrowed */
    sl_server_counters *counters;    /* borrowed */
    uint64_t maintenance_ms;
    uint64_t sync_ms;                /* relaxed mode: fsync period; 0: every commit syncs */
    pthread_t thread;
    pthread_mutex_t mu;              /* guards the fields up to "exited" */
    pthread_cond_t cv;
    sl_job *head, *tail;             /* submitted, not yet taken */
    bool stopping;                   /* sl_writer_stop was called */
    bool exited;                     /* the thread is gone: submit finishes jobs itself */
    /* Below: touched by the writer thread only. */
    sl_job *parked;                  /* long-polls waiting for events */
    uint64_t next_maintenance_ms;
    bool maintenance_more;           /* last pass ran out of budget */
    uint64_t next_sync_ms;           /* relaxed mode: when the timer fsyncs next */
    uint64_t idle_checkpoint_ms;     /* checkpoint the open transaction then if no
                                        batch came in between */
    sl_txn open;                     /* the open top-level transaction (txn.txn NULL:
                                        none): with a journal it stays open across
                                        batches until a checkpoint */
    sl_job *batch[BATCH_MAX];
    sl_write_effects fx[BATCH_MAX];
    bool ok[BATCH_MAX];              /* job succeeded and was committed */
};

static void finish_with_error(sl_job *job, const char *code, const char *message)
{
    sl_reply_reset(&job->reply);
    sl_reply_error(&job->reply, code, message, NULL);
    job->finish(job);
}

void sl_writer_submit(sl_writer *w, sl_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->exited) {
        pthread_mutex_unlock(&w->mu);
        finish_with_error(job, "shutting_down", "the server is stopping");
        return;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* ---- one batch: one write transaction ---------------------------------- */

/* A run of jobs with their results: a view into the writer's arrays. */
typedef struct batch {
    sl_job **jobs;
    sl_write_effects *fx;
    bool *ok;         /* job succeeded and is part of the committed transaction */
    size_t n;
} batch;

static bool is_storage_level(sl_err rc)
{
    return rc == SL_ERR_MAP_FULL || rc == SL_ERR_TXN_FULL || rc == SL_ERR_STORAGE ||
           rc == SL_ERR_STORAGE_FULL || rc == SL_ERR_NOMEM || rc == SL_ERR_CORRUPT;
}

static bool any_publish(const batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (sl_dispatch_appends(&b->jobs[i]->req))
            return true;
    return false;
}

/* A job failed on its own (bad group, ...) while the batch ran without
 * per-request isolation: its partial writes, if any, share the batch's
 * transaction, so the batch must run again with isolation. */
#define SL_NEEDS_ISOLATION SL_ERR_END

/* A read that came to the writer because the journal held changes a read
 * transaction would miss (sl_store_reads_lag): it runs once the batch is
 * durable, in the open transaction (settle_batch). */
static bool is_read(const sl_job *job)
{
    return sl_dispatch_kind(&job->req) == SL_RUN_READ;
}

/* The requests whose batches the journal makes durable: the traffic of
 * producers, consumers and the bridge (its delivery reports), and reads.
 * Everything else (configuration: groups, keys, webhooks) commits a
 * checkpoint, so what other threads read outside the writer (API keys,
 * group filters) is never behind. */
static bool is_hot(const sl_job *job)
{
    switch (job->req.op) {
    case SL_OP_PUBLISH:
    case SL_OP_PULL:
    case SL_OP_ACK:
    case SL_OP_NACK:
    case SL_OP_EXTEND:
    case SL_OP_TERM:
    case SL_OP_WEBHOOK_REPORT:
        return true;
    default:
        return false;
    }
}

/* A job that failed on its own: did it leave changes in txn? With a journal
 * the change list tells (before: its size when the job began). */
static bool left_changes(const sl_txn *txn, bool tracked, size_t before)
{
    size_t after;
    return !tracked || !sl_txn_changes(txn, &after) || after != before;
}

/* Run job i of b in txn. isolate: in a child transaction of its own, so a
 * job that fails on its own leaves no trace (LMDB allocates a few MiB per
 * child transaction, so this is the fallback, not the rule). Returns SL_OK,
 * SL_NEEDS_ISOLATION, or a storage-level error that spoils the whole
 * transaction; the job's own failure is in b->ok[i]. */
static sl_err run_job(const batch *b, sl_txn *txn, size_t i, uint64_t now, bool publish_allowed,
                      bool isolate)
{
    sl_job *job = b->jobs[i];
    memset(&b->fx[i], 0, sizeof b->fx[i]);
    b->ok[i] = false;
    if (is_read(job)) {
        b->ok[i] = true;
        return SL_OK;
    }
    if (!publish_allowed && sl_dispatch_appends(&job->req)) {
        sl_reply_reset(&job->reply);
        sl_reply_core_error(&job->reply, SL_ERR_STORAGE_FULL,
                            "storage full: the disk quota is reached; publishes are refused "
                            "until retention or purges free space",
                            NULL);
        return SL_OK;
    }
    size_t before = 0;
    bool tracked = sl_txn_changes(txn, &before);
    sl_txn child, *t = txn;
    if (isolate) {
        sl_err rc = sl_txn_begin_child(txn, &child);
        if (rc != SL_OK)
            return rc;
        t = &child;
    }
    sl_err rc = sl_dispatch_write(t, &job->req, now, &job->reply, &b->fx[i]);
    if (rc == SL_OK) {
        rc = isolate ? sl_txn_commit(&child) : SL_OK;
        b->ok[i] = rc == SL_OK;
        return rc;
    }
    if (isolate)
        sl_txn_abort(&child);
    if (is_storage_level(rc))
        return rc;
    return isolate || !left_changes(txn, tracked, before) ? SL_OK : SL_NEEDS_ISOLATION;
}

static sl_err run_maintenance(sl_writer *w, sl_txn *txn, uint64_t now)
{
    sl_txn child;
    sl_err rc = sl_txn_begin_child(txn, &child);
    if (rc != SL_OK)
        return rc;
    sl_maintenance_result res = {0};
    rc = sl_maintain(&child, now, MAINTENANCE_BUDGET, &res);
    if (rc != SL_OK) {
        sl_txn_abort(&child);
        if (!is_storage_level(rc))
            sl_log_warn("maintenance: %s", sl_err_text(rc));
        return is_storage_level(rc) ? rc : SL_OK;
    }
    w->maintenance_more = res.more;
    if (res.trimmed || res.dead_lettered)
        sl_log_debug("maintenance: trimmed %zu events, dead-lettered %zu", res.trimmed,
                     res.dead_lettered);
    return sl_txn_commit(&child);
}

/* Whether the journal can make b durable (else: a checkpoint). */
static bool journal_takes(const sl_writer *w, const batch *b, bool maintain)
{
    if (maintain || !sl_txn_can_journal(&w->open))
        return false;
    for (size_t i = 0; i < b->n; i++)
        if (!is_hot(b->jobs[i]) && !is_read(b->jobs[i]))
            return false;
    return true;
}

/* Make the batch durable: one journal write, or a checkpoint (the LMDB
 * commit that ends the open transaction). */
static sl_err make_durable(sl_writer *w, const batch *b, bool maintain)
{
    uint64_t t0 = sl_mono_us();
    bool journal = journal_takes(w, b, maintain);
    sl_err rc = journal ? sl_txn_journal(&w->open) : sl_txn_commit(&w->open);
    if (rc != SL_OK) {
        sl_txn_abort(&w->open); /* what the journal holds is replayed on the next begin */
        return rc;
    }
    uint64_t took = sl_mono_us() - t0;
    atomic_fetch_add(journal ? &w->counters->journal_writes : &w->counters->commits, 1);
    atomic_fetch_add(journal ? &w->counters->journal_us : &w->counters->checkpoint_us, took);
    atomic_fetch_add(&w->counters->commit_requests, b->n);
    return SL_OK;
}

/* One attempt at the whole batch in the open transaction, made durable once. */
static sl_err run_once(sl_writer *w, const batch *b, bool maintain, uint64_t now,
                       bool publish_allowed, bool isolate)
{
    sl_err rc = w->open.txn ? SL_OK : sl_txn_begin_write(w->store, &w->open);
    if (rc != SL_OK)
        return rc;
    for (size_t i = 0; i < b->n && rc == SL_OK; i++)
        rc = run_job(b, &w->open, i, now, publish_allowed, isolate);
    if (rc == SL_OK && maintain)
        rc = run_maintenance(w, &w->open, now);
    if (rc != SL_OK) {
        sl_txn_abort(&w->open); /* journaled batches come back on the next begin */
        return rc;
    }
    return make_durable(w, b, maintain);
}

/* Commit the open transaction (a checkpoint). fresh: when none is open,
 * begin one first (which replays what the journal holds). */
static sl_err checkpoint(sl_writer *w, bool fresh)
{
    if (!w->open.txn) {
        sl_err rc = fresh ? sl_txn_begin_write(w->store, &w->open) : SL_OK;
        if (rc != SL_OK || !fresh)
            return rc;
    }
    uint64_t t0 = sl_mono_us();
    sl_err rc = sl_txn_commit(&w->open);
    if (rc == SL_OK) {
        atomic_fetch_add(&w->counters->commits, 1);
        atomic_fetch_add(&w->counters->checkpoint_us, sl_mono_us() - t0);
    } else { /* the next batch begins by replaying the journal, and tries again */
        sl_log_error("checkpoint failed: %s", sl_err_text(rc));
    }
    return rc;
}

static void fail_batch(const batch *b, sl_err rc, const char *message)
{
    for (size_t i = 0; i < b->n; i++) {
        b->ok[i] = false;
        memset(&b->fx[i], 0, sizeof b->fx[i]);
        sl_reply_reset(&b->jobs[i]->reply);
        sl_reply_core_error(&b->jobs[i]->reply, rc, message, NULL);
    }
}

static void run_batch(sl_writer *w, const batch *b, bool maintain, uint64_t now);

/* A transaction too big for LMDB: run the halves one after the other. */
static void split_batch(sl_writer *w, const batch *b, uint64_t now)
{
    if (b->n <= 1) {
        fail_batch(b, SL_ERR_TOO_LARGE, "request too large for one transaction");
        return;
    }
    size_t half = b->n / 2;
    batch first = {b->jobs, b->fx, b->ok, half};
    batch second = {b->jobs + half, b->fx + half, b->ok + half, b->n - half};
    run_batch(w, &first, false, now);
    run_batch(w, &second, false, now);
}

/* Run b until it commits: grow the map when it is full (publishes stop at
 * the quota, the rest may use the reserve), split it when it is too big. */
static void run_batch(sl_writer *w, const batch *b, bool maintain, uint64_t now)
{
    bool publish_allowed = true;
    bool isolate = false; /* optimistic: no child transactions until a job fails */
    bool checkpointed = false;
    for (int attempt = 0; attempt < GROW_ATTEMPTS; attempt++) {
        sl_err rc = run_once(w, b, maintain, now, publish_allowed, isolate);
        if (rc == SL_OK)
            return;
        if (rc == SL_NEEDS_ISOLATION) {
            isolate = true;
            continue;
        }
        if (rc == SL_ERR_MAP_FULL) {
            bool pub = publish_allowed && any_publish(b);
            sl_err g = sl_store_grow(w->store, pub);
            if (g == SL_OK)
                continue;
            if (g == SL_ERR_STORAGE_FULL && pub) {
                sl_log_warn("disk quota reached: refusing publishes");
                publish_allowed = false;
                continue;
            }
            break;
        }
        if (rc == SL_ERR_TXN_FULL && !checkpointed && sl_store_journaled(w->store)) {
            /* the open transaction carried journaled batches: checkpoint
               them first, then this batch gets a transaction of its own */
            checkpointed = true;
            if (checkpoint(w, true) == SL_OK)
                continue;
        }
        if (rc == SL_ERR_TXN_FULL) {
            split_batch(w, b, now);
            return;
        }
        sl_log_error("write transaction failed: %s", sl_err_text(rc));
        fail_batch(b, rc, rc == SL_ERR_STORAGE_FULL ? "storage full: the disk is full" : NULL);
        return;
    }
    fail_batch(b, SL_ERR_STORAGE_FULL, "storage full: the store cannot grow");
}

/* ---- after the commit: answer, park, wake -------------------------------- */

static bool wants_parking(const sl_job *job, const sl_write_effects *fx, bool ok, uint64_t now)
{
    return ok && job->req.op == SL_OP_PULL && fx->delivered == 0 && job->wait_until_ms > now;
}

static void park(sl_writer *w, sl_job *job, const sl_write_effects *fx)
{
    /* Its acks are committed now: when it runs again it must not ack again. */
    job->req.pull.ack_applied = true;
    job->wake_at_ms = job->wait_until_ms;
    if (fx->next_due_ms && fx->next_due_ms < job->wake_at_ms)
        job->wake_at_ms = fx->next_due_ms;
    job->next = w->parked;
    w->parked = job;
    atomic_fetch_add(&w->counters->parked_pulls, 1);
}

/* Wake every parked pull: something may be there for it now. */
static void wake_all_parked(sl_writer *w, uint64_t now)
{
    for (sl_job *j = w->parked; j; j = j->next)
        j->wake_at_ms = now;
}

/* A read job, once its batch is durable: in the open transaction, which
 * holds every acknowledged change, or (after a checkpoint) a read
 * transaction, which does too. */
static void run_read(sl_writer *w, sl_job *job, uint64_t now)
{
    sl_txn *in = w->open.txn ? &w->open : NULL;
    if (sl_dispatch_read_in(w->store, in, &job->req, now, w->counters, &job->reply) != SL_OK)
        finish_with_error(job, "no_memory", "out of memory");
    else
        job->finish(job);
}

static void settle_batch(sl_writer *w, const batch *b, uint64_t now)
{
    bool wake = false;
    for (size_t i = 0; i < b->n; i++) {
        sl_job *job = b->jobs[i];
        if (b->ok[i] && is_read(job)) {
            run_read(w, job, now);
            continue;
        }
        if (b->ok[i]) {
            wake |= b->fx[i].appended || b->fx[i].made_due;
            atomic_fetch_add(&w->counters->publishes, b->fx[i].appended_events);
        }
        if (wants_parking(job, &b->fx[i], b->ok[i], now))
            park(w, job, &b->fx[i]);
        else
            job->finish(job);
    }
    if (wake)
        wake_all_parked(w, now);
}

/* ---- the thread ----------------------------------------------------------- */

/* Move parked jobs that are due into the batch array from index n. */
static size_t take_due_parked(sl_writer *w, size_t n, uint64_t now)
{
    sl_job **link = &w->parked;
    while (*link && n < BATCH_MAX) {
        sl_job *j = *link;
        if (j->wake_at_ms <= now) {
            *link = j->next;
            atomic_fetch_sub(&w->counters->parked_pulls, 1);
            w->batch[n++] = j;
        } else {
            link = &j->next;
        }
    }
    return n;
}

static uint64_t next_wake_ms(const sl_writer *w)
{
    uint64_t t = w->maintenance_more ? 0 : w->next_maintenance_ms;
    if (w->open.txn && w->idle_checkpoint_ms < t)
        t = w->idle_checkpoint_ms;
    if (w->sync_ms && w->next_sync_ms < t)
        t = w->next_sync_ms;
    for (const sl_job *j = w->parked; j; j = j->next)
        if (j->wake_at_ms < t)
            t = j->wake_at_ms;
    return t;
}

static void wait_for_work(sl_writer *w)
{
    while (!w->head && !w->stopping) {
        uint64_t wake = next_wake_ms(w);
        uint64_t now = sl_wall_ms();
        if (wake <= now)
            return;
        struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000L};
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (sl_wall_ms() >= wake)
            return;
    }
}

/* Take up to BATCH_MAX submitted jobs into w->batch. Called with mu held. */
static size_t take_submitted(sl_writer *w)
{
    size_t n = 0, bytes = 0;
    while (w->head && n < BATCH_MAX && (n == 0 || bytes + w->head->bytes <= BATCH_BYTES_MAX)) {
        sl_job *j = w->head;
        w->head = j->next;
        bytes += j->bytes;
        w->batch[n++] = j;
    }
    if (!w->head)
        w->tail = NULL;
    return n;
}

/* Answer every parked pull with what it has (an empty list): shutdown. */
static void release_parked(sl_writer *w)
{
    while (w->parked) {
        sl_job *j = w->parked;
        w->parked = j->next;
        atomic_fetch_sub(&w->counters->parked_pulls, 1);
        j->finish(j);
    }
}

/* Relaxed mode: commits did not fsync; flush them now. */
static void relaxed_sync(sl_writer *w, uint64_t now)
{
    w->next_sync_ms = now + w->sync_ms;
    sl_err rc = sl_store_sync(w->store);
    if (rc != SL_OK)
        sl_log_error("relaxed mode: fsync failed: %s", sl_err_text(rc));
}

static void *writer_main(void *arg)
{
    sl_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        wait_for_work(w);
        size_t n = take_submitted(w);
        bool stop = w->stopping && !w->head;
        pthread_mutex_unlock(&w->mu);

        uint64_t now = sl_wall_ms();
        n = take_due_parked(w, n, now);
        bool maintain = now >= w->next_maintenance_ms || w->maintenance_more;
        if (maintain)
            w->next_maintenance_ms = now + w->maintenance_ms;
        if (n || maintain) {
            batch b = {w->batch, w->fx, w->ok, n};
            run_batch(w, &b, maintain, now);
            settle_batch(w, &b, now);
            w->idle_checkpoint_ms = now + IDLE_CHECKPOINT_MS;
        } else if (now >= w->idle_checkpoint_ms) {
            checkpoint(w, false); /* idle: let read transactions catch up */
        }

        if (w->sync_ms && (stop || now >= w->next_sync_ms))
            relaxed_sync(w, now);
        if (stop)
            break;
    }
    checkpoint(w, false);
    release_parked(w);
    pthread_mutex_lock(&w->mu);
    w->exited = true;
    sl_job *rest = w->head;
    w->head = w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    for (sl_job *j = rest, *next; j; j = next) {
        next = j->next;
        finish_with_error(j, "shutting_down", "the server is stopping");
    }
    return NULL;
}

sl_err sl_writer_start(sl_store *store, sl_server_counters *counters, uint64_t maintenance_ms,
                       uint64_t sync_ms, sl_writer **out)
{
    sl_writer *w = calloc(1, sizeof *w);
    if (!w)
        return SL_ERR_NOMEM;
    w->store = store;
    w->counters = counters;
    w->maintenance_ms = maintenance_ms ? maintenance_ms : 1000;
    w->sync_ms = sync_ms;
    w->next_sync_ms = sl_wall_ms() + sync_ms;
    w->next_maintenance_ms = sl_wall_ms() + w->maintenance_ms;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    if (pthread_mutex_init(&w->mu, NULL) != 0 || pthread_cond_init(&w->cv, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(w);
        return SL_ERR_NOMEM;
    }
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return SL_ERR_NOMEM;
    }
    *out = w;
    return SL_OK;
}

void sl_writer_stop(sl_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
}

void sl_writer_free(sl_writer *w)
{
    if (!w)
        return;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
