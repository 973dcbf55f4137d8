/* store.c: the LMDB environment, its named databases and transactions
 * (see store.h; on-disk layout in core/FORMAT.md). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "bytes.h"
#include "db.h"
#include "journal.h"
#include "log_format_v1.h"
#include "redo.h"

#define MIB (1024ull * 1024ull)
#define SL_FORMAT_VERSION 4u          /* the on-disk format this code writes */
#define SL_FORMAT_OLDEST 1u           /* the oldest format it upgrades at open */
#define SL_MAP_MIN_BYTES (1 * MIB)    /* smallest accepted initial map */
#define SL_QUOTA_MAX_BYTES (1ull << 50) /* 1 PiB: beyond it sizes stop being sane */
#define SL_READERS_MAX 65536u         /* most reader slots accepted */
#define SL_PAYLOAD_LIMIT (256 * MIB)  /* largest max_payload_bytes accepted */
#define SL_GROW_MIN_STEP (64 * MIB)   /* a grow adds at least this much */
#define SL_RESERVE_MIN (16 * MIB)     /* smallest non-publish reserve above the quota */
#define JOURNAL_RECORD_MAX (512u * 1024u) /* bigger batches commit to LMDB instead */
#define SL_MAXDBS 32                  /* named databases the env allows (room to grow) */

struct sl_store {
    MDB_env *env;                  /* the LMDB environment (owned) */
    MDB_dbi dbi[SL_DB_COUNT];      /* handle of each named database */
    sl_store_options opt;          /* options as opened; opt.path points at path */
    char *path;                    /* copy of the data directory path (owned) */
    uint64_t instance;             /* random id of this data directory */
    uint32_t format_version;       /* format version found or written at open */
    pthread_rwlock_t map_lock;     /* every top-level transaction holds it shared;
                                      sl_store_grow takes it exclusively, because
                                      mdb_env_set_mapsize needs no live transaction
                                      anywhere in the process */
    bool map_lock_ready;           /* map_lock was initialised */
    sl_journal *journal;           /* the write-ahead journal (owned); NULL in
                                      relaxed mode or with journal off */
    sl_redo *redo;                 /* changes of the open write transaction (owned) */
    bool recovered;                /* the journal was read back at open */
    bool journal_room;             /* disk blocks are reserved for a checkpoint */
    uint64_t journal_replayed;     /* records replayed at open */
    atomic_bool unsaved;           /* acknowledged changes are in the journal only:
                                      read transactions do not see them yet */
};

static const char *const db_names[SL_DB_COUNT] = {
    [SL_DB_META] = "meta",       [SL_DB_EVENTS] = "events", [SL_DB_TOPICS] = "topics",
    [SL_DB_IDEM] = "idem",       [SL_DB_IDEM_EXP] = "idem_exp", [SL_DB_GROUPS] = "groups",
    [SL_DB_LEASES] = "leases",   [SL_DB_DUE] = "due",       [SL_DB_DLQ] = "dlq",
    [SL_DB_CHUNKS] = "chunks",   [SL_DB_WEBHOOKS] = "webhooks",
    [SL_DB_WEBHOOK_STATS] = "webhook_stats", [SL_DB_DELIVERIES] = "deliveries",
    [SL_DB_APIKEYS] = "apikeys",
};

sl_err sl_err_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return SL_OK;
    case MDB_NOTFOUND:
        return SL_ERR_NOT_FOUND;
    case MDB_MAP_FULL:
        return SL_ERR_MAP_FULL;
    case MDB_TXN_FULL:
        return SL_ERR_TXN_FULL;
    case ENOSPC:
    case EDQUOT:
        return SL_ERR_STORAGE_FULL;
    case ENOMEM:
        return SL_ERR_NOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return SL_ERR_CORRUPT;
    default:
        return SL_ERR_STORAGE;
    }
}

void sl_store_options_default(sl_store_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->path = NULL;
    opt->map_initial_bytes = 64 * MIB;
    opt->quota_bytes = 8192 * MIB;
    opt->max_readers = 1024;
    opt->max_payload_bytes = 1 * MIB;
    opt->dedupe_window_ms = 120000;
    opt->retention.max_age_ms = 7ull * 24 * 3600 * 1000;
    opt->retention.max_bytes = 0;
    opt->retention.max_events = 0;
    opt->retention.discard_unconsumed = false;
    opt->relaxed_sync = false;
    opt->journal = true;
    opt->journal_bytes = 16 * MIB;
}

static bool options_valid(const sl_store_options *opt)
{
    if (!opt || !opt->path || !opt->path[0] || strlen(opt->path) > PATH_MAX - 32)
        return false;
    if (opt->map_initial_bytes < SL_MAP_MIN_BYTES || opt->quota_bytes > SL_QUOTA_MAX_BYTES)
        return false;
    if (opt->quota_bytes < opt->map_initial_bytes)
        return false;
    if (opt->max_readers < 1 || opt->max_readers > SL_READERS_MAX)
        return false;
    if (opt->journal && (opt->journal_bytes < 2 * MIB || opt->journal_bytes > 4096 * MIB))
        return false;
    return opt->max_payload_bytes >= 1 && opt->max_payload_bytes <= SL_PAYLOAD_LIMIT;
}

/* mkdir -p path with mode 0750 for the directories it creates. */
static sl_err make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return SL_ERR_INVALID;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return SL_ERR_STORAGE;
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return SL_ERR_STORAGE;
    return SL_OK;
}

/* Size of <dir>/data.mdb, 0 when it does not exist yet. */
static uint64_t data_file_size(const char *dir)
{
    char file[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(file, sizeof file, "%s/data.mdb", dir) >= sizeof file)
        return 0;
    if (stat(file, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

static sl_err random_u64(uint64_t *out)
{
    uint8_t buf[8];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = getrandom(buf + got, sizeof buf - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return SL_ERR_STORAGE;
        got += (size_t)r;
    }
    *out = sl_get_u64(buf);
    return SL_OK;
}

/* True when no database of the store holds any record. */
static sl_err store_is_empty(sl_store *s, MDB_txn *txn, bool *empty)
{
    *empty = true;
    for (int db = 0; db < SL_DB_COUNT; db++) {
        MDB_stat st;
        int rc = mdb_stat(txn, s->dbi[db], &st);
        if (rc != MDB_SUCCESS)
            return sl_err_from_mdb(rc);
        if (st.ms_entries)
            *empty = false;
    }
    return SL_OK;
}

/* Write meta "format" = SL_FORMAT_VERSION in txn. */
static sl_err put_format(sl_store *s, MDB_txn *txn)
{
    uint8_t buf[4];
    sl_put_u32(buf, SL_FORMAT_VERSION);
    MDB_val key = {6, (void *)"format"}, val = {sizeof buf, buf};
    return sl_err_from_mdb(mdb_put(txn, s->dbi[SL_DB_META], &key, &val, 0));
}

/* Read meta "format"; write it on a new store; refuse other versions.
 * Format 1 is accepted here and upgraded by upgrade_format() after the
 * start-up transaction (s->format_version stays 1 until then). */
static sl_err check_format(sl_store *s, MDB_txn *txn)
{
    MDB_val key = {6, (void *)"format"}, val;
    int rc = mdb_get(txn, s->dbi[SL_DB_META], &key, &val);
    if (rc == MDB_SUCCESS) {
        if (val.mv_size != 4)
            return SL_ERR_VERSION;
        s->format_version = sl_get_u32(val.mv_data);
        bool known = s->format_version >= SL_FORMAT_OLDEST &&
                     s->format_version <= SL_FORMAT_VERSION;
        return known ? SL_OK : SL_ERR_VERSION;
    }
    if (rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    bool empty;
    sl_err err = store_is_empty(s, txn, &empty);
    if (err != SL_OK)
        return err;
    if (!empty) /* data without a format record: not something we wrote */
        return SL_ERR_VERSION;
    s->format_version = SL_FORMAT_VERSION;
    return put_format(s, txn);
}

/* Read meta "instance", creating a random one on a new store. */
static sl_err load_instance(sl_store *s, MDB_txn *txn)
{
    MDB_val key = {8, (void *)"instance"}, val;
    int rc = mdb_get(txn, s->dbi[SL_DB_META], &key, &val);
    if (rc == MDB_SUCCESS) {
        if (val.mv_size != 8)
            return SL_ERR_CORRUPT;
        s->instance = sl_get_u64(val.mv_data);
        return SL_OK;
    }
    if (rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    sl_err err;
    do {
        err = random_u64(&s->instance);
    } while (err == SL_OK && s->instance == 0);
    if (err != SL_OK)
        return err;
    uint8_t buf[8];
    sl_put_u64(buf, s->instance);
    val.mv_size = sizeof buf;
    val.mv_data = buf;
    return sl_err_from_mdb(mdb_put(txn, s->dbi[SL_DB_META], &key, &val, 0));
}

/* The one start-up write transaction: open every database, check the
 * format, load the instance id. Databases added to format 2 later (the
 * webhook ones) are created empty here when an older data directory lacks
 * them. */
static sl_err startup_txn(sl_store *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    sl_err err = SL_OK;
    for (int db = 0; db < SL_DB_COUNT && err == SL_OK; db++)
        err = sl_err_from_mdb(mdb_dbi_open(txn, db_names[db], MDB_CREATE, &s->dbi[db]));
    if (err == SL_OK)
        err = check_format(s, txn);
    if (err == SL_OK)
        err = load_instance(s, txn);
    if (err != SL_OK) {
        mdb_txn_abort(txn);
        return err;
    }
    return sl_err_from_mdb(mdb_txn_commit(txn));
}

/* One upgrade transaction; *done once the store is at SL_FORMAT_VERSION.
 * Format 1 -> 2 moves the events (bounded steps); 2 -> 3 only adds the
 * journal, which starts empty, and 3 -> 4 only lets journal records carry
 * splices, which a format 3 journal does not hold: writing the format number
 * is all either takes. */
static sl_err upgrade_txn(sl_store *s, bool *done)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(s, &w);
    if (rc != SL_OK)
        return rc;
    *done = true;
    if (s->format_version == 1)
        rc = sl_log_upgrade_v1_step(&w, SL_UPGRADE_STEP_EVENTS, done);
    if (rc == SL_OK && *done)
        rc = put_format(s, w.txn);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

/* Upgrade a format 1 store in place (core/FORMAT.md, "Upgrading"): bounded
 * transactions, each committed, so a crash or an error leaves a store that
 * the next open resumes. The map grows (into the non-publish reserve) when a
 * step needs it. */
static sl_err upgrade_format(sl_store *s)
{
    bool done = s->format_version == SL_FORMAT_VERSION;
    while (!done) {
        sl_err rc = upgrade_txn(s, &done);
        if (rc == SL_ERR_MAP_FULL)
            rc = sl_store_grow(s, false);
        if (rc != SL_OK)
            return rc;
    }
    s->format_version = SL_FORMAT_VERSION;
    return SL_OK;
}

/* ---- the journal (journal.h) --------------------------------------------- */

#define JOURNAL_META_KEY "journal"

/* Meta "journal": the lap the journal is on and the lsn it started at, as of
 * the last checkpoint. Absent until the first checkpoint after journaled
 * changes: lap 0 from lsn 1 (the first lap's records carry lap 0). */
static sl_err load_journal_position(sl_store *s, uint64_t *lap, uint64_t *lsn)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    MDB_val key = {sizeof JOURNAL_META_KEY - 1, (void *)JOURNAL_META_KEY}, val;
    rc = mdb_get(txn, s->dbi[SL_DB_META], &key, &val);
    sl_err err = SL_OK;
    *lap = 0;
    *lsn = 1;
    if (rc == MDB_SUCCESS && val.mv_size == 16) {
        *lap = sl_get_u64(val.mv_data);
        *lsn = sl_get_u64((const uint8_t *)val.mv_data + 8);
    } else if (rc == MDB_SUCCESS) {
        err = SL_ERR_CORRUPT;
    } else if (rc != MDB_NOTFOUND) {
        err = sl_err_from_mdb(rc);
    }
    mdb_txn_abort(txn);
    return err;
}

/* In the checkpoint transaction: the journal starts a new lap after it. */
static sl_err put_journal_position(sl_txn *t, uint64_t lap, uint64_t lsn)
{
    uint8_t buf[16];
    sl_put_u64(buf, lap);
    sl_put_u64(buf + 8, lsn);
    MDB_val key = {sizeof JOURNAL_META_KEY - 1, (void *)JOURNAL_META_KEY};
    MDB_val val = {sizeof buf, buf};
    return sl_err_from_mdb(mdb_put(t->txn, t->store->dbi[SL_DB_META], &key, &val, 0));
}

/* Reserve disk blocks past the end of LMDB's data for what the open
 * transaction may write before its checkpoint (three journals' worth), so an
 * acknowledged change can always be checkpointed. Without that room the
 * writer commits every batch instead (sl_txn_can_journal), and a full disk
 * refuses publishes as it does without a journal. */
static void reserve_room(sl_store *s)
{
    MDB_envinfo info;
    MDB_stat st;
    int fd;
    s->journal_room = false;
    if (mdb_env_info(s->env, &info) != MDB_SUCCESS || mdb_env_stat(s->env, &st) != MDB_SUCCESS ||
        mdb_env_get_fd(s->env, &fd) != MDB_SUCCESS)
        return;
    off_t used = (off_t)((info.me_last_pgno + 1) * (uint64_t)st.ms_psize);
    off_t room = (off_t)(3 * sl_journal_capacity(s->journal));
    /* a file system without fallocate cannot promise room: journal anyway (a
       checkpoint that then finds the disk full fails until space is freed;
       nothing journaled is lost) */
    s->journal_room = fallocate(fd, FALLOC_FL_KEEP_SIZE, used, room) == 0 || errno == EOPNOTSUPP;
}

/* Records replayed from lsn on: the checkpoint after the replay starts the
 * new lap at the lsn after the last one replayed. */
static uint64_t lsn_span(const sl_store *s, uint64_t lsn)
{
    uint64_t next = sl_journal_next_lsn(s->journal);
    return next > lsn ? next - lsn : 0;
}

/* Checkpoint once: begin (which replays the journal) and commit. */
static sl_err recover_journal(sl_store *s)
{
    for (int attempt = 0; attempt < 32; attempt++) {
        sl_txn w;
        sl_err err = sl_txn_begin_write(s, &w);
        if (err == SL_OK) {
            err = sl_txn_commit(&w);
            if (err == SL_OK)
                s->recovered = true;
        }
        if (err != SL_ERR_MAP_FULL)
            return err;
        err = sl_store_grow(s, false);
        if (err != SL_OK)
            return err;
    }
    return SL_ERR_STORAGE_FULL;
}

/* Open the journal and bring what it holds past the last checkpoint into
 * LMDB: one write transaction replays it (sl_txn_begin_write) and commits
 * (a checkpoint, which starts a new lap). A journal left from a run with it
 * on is read back even when this one runs without it (want false); a new one
 * that does not fit on the disk is not an error: the store runs without. */
static sl_err open_journal(sl_store *s, bool want)
{
    uint64_t lap = 0, lsn = 1;
    sl_err err = load_journal_position(s, &lap, &lsn);
    if (err == SL_OK)
        err = sl_journal_open(s->path, s->opt.journal_bytes, want, &s->journal);
    if (err == SL_ERR_STORAGE_FULL && want)
        return SL_OK;
    if (err != SL_OK || !s->journal)
        return err;
    if (!(s->redo = sl_redo_new(JOURNAL_RECORD_MAX)))
        return SL_ERR_NOMEM;
    sl_journal_start_lap(s->journal, lap, lsn);
    err = recover_journal(s);
    s->journal_replayed = lsn_span(s, lsn);
    if (err == SL_OK && !want) {
        err = sl_store_sync(s); /* relaxed mode commits without it */
        sl_journal_close(s->journal);
        s->journal = NULL;
    }
    if (err == SL_OK && s->journal)
        reserve_room(s);
    return err;
}

static sl_err replay_record(void *ctx, const uint8_t *body, size_t n)
{
    return sl_redo_apply(ctx, body, n);
}

/* A new top-level write transaction of a journaled store starts from every
 * acknowledged change: the last checkpoint plus the journal's current lap. */
static sl_err replay_journal(sl_store *s, sl_txn *t)
{
    uint64_t end = s->recovered ? sl_journal_next_lsn(s->journal) : UINT64_MAX;
    if (s->recovered && end == sl_journal_first_lsn(s->journal))
        return SL_OK; /* nothing journaled since the checkpoint */
    sl_txn plain = *t;
    plain.redo = NULL;
    return sl_journal_replay(s->journal, end, replay_record, &plain);
}

/* Commit t as a checkpoint: LMDB durably, then the journal starts a new lap.
 * Returns LMDB's code. */
static int checkpoint(sl_txn *t)
{
    sl_store *s = t->store;
    uint64_t lsn = sl_journal_next_lsn(s->journal);
    if (lsn == sl_journal_first_lsn(s->journal) && sl_redo_size(t->redo) == 0 &&
        !sl_redo_overflowed(t->redo))
        return mdb_txn_commit(t->txn); /* nothing changed: LMDB writes nothing, same lap */
    uint64_t lap;
    sl_err err;
    do
        err = random_u64(&lap);
    while (err == SL_OK && lap == 0);
    if (err == SL_OK)
        err = put_journal_position(t, lap, lsn);
    if (err != SL_OK) {
        mdb_txn_abort(t->txn);
        return EIO;
    }
    int rc = mdb_txn_commit(t->txn);
    if (rc == MDB_SUCCESS) {
        sl_journal_start_lap(s->journal, lap, lsn);
        atomic_store(&s->unsaved, false);
        reserve_room(s);
    }
    return rc;
}

static sl_err open_env(sl_store *s)
{
    int rc = mdb_env_create(&s->env);
    if (rc != MDB_SUCCESS) {
        s->env = NULL;
        return sl_err_from_mdb(rc);
    }
    uint64_t map = s->opt.map_initial_bytes;
    uint64_t file = data_file_size(s->path);
    if (file > map)
        map = file;
    rc = mdb_env_set_maxdbs(s->env, SL_MAXDBS);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxreaders(s->env, s->opt.max_readers);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(s->env, (size_t)map);
    unsigned flags = MDB_NOTLS | (s->opt.relaxed_sync ? MDB_NOSYNC : 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(s->env, s->path, flags, 0640);
    if (rc == MDB_SUCCESS) {
        int dead = 0;
        rc = mdb_reader_check(s->env, &dead);
    }
    return sl_err_from_mdb(rc);
}

sl_err sl_store_open(const sl_store_options *opt, sl_store **out)
{
    if (!out)
        return SL_ERR_INVALID;
    *out = NULL;
    if (!options_valid(opt))
        return SL_ERR_INVALID;
    sl_err err = make_dirs(opt->path);
    if (err != SL_OK)
        return err;
    sl_store *s = calloc(1, sizeof *s);
    if (!s)
        return SL_ERR_NOMEM;
    s->opt = *opt;
    s->path = strdup(opt->path);
    if (!s->path) {
        free(s);
        return SL_ERR_NOMEM;
    }
    s->opt.path = s->path;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* a waiting grow must not starve behind a stream of readers */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    s->map_lock_ready = pthread_rwlock_init(&s->map_lock, &attr) == 0;
    pthread_rwlockattr_destroy(&attr);
    err = s->map_lock_ready ? open_env(s) : SL_ERR_NOMEM;
    if (err == SL_OK)
        err = startup_txn(s);
    if (err == SL_OK)
        err = upgrade_format(s);
    if (err == SL_OK)
        err = open_journal(s, opt->journal && !opt->relaxed_sync);
    if (err != SL_OK) {
        sl_store_close(s);
        return err == SL_ERR_NOT_FOUND ? SL_ERR_STORAGE : err;
    }
    *out = s;
    return SL_OK;
}

void sl_store_close(sl_store *store)
{
    if (!store)
        return;
    if (store->env)
        mdb_env_close(store->env);
    sl_journal_close(store->journal);
    sl_redo_free(store->redo);
    if (store->map_lock_ready)
        pthread_rwlock_destroy(&store->map_lock);
    free(store->path);
    free(store);
}

const sl_store_options *sl_store_options_of(const sl_store *store)
{
    return &store->opt;
}

uint64_t sl_store_instance(const sl_store *store)
{
    return store->instance;
}

MDB_dbi sl_store_dbi(const sl_store *store, sl_db db)
{
    /* dbi 0 is LMDB's free-page database: every user operation on it fails
     * with EINVAL, so an out-of-range db cannot touch data. */
    if ((unsigned)db >= SL_DB_COUNT)
        return 0;
    return store->dbi[db];
}

static sl_err txn_begin(sl_store *store, MDB_txn *parent, unsigned flags, sl_txn *out)
{
    bool top = parent == NULL;
    if (top)
        pthread_rwlock_rdlock(&store->map_lock);
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store->env, parent, flags, &txn);
    if (rc != MDB_SUCCESS) {
        if (top)
            pthread_rwlock_unlock(&store->map_lock);
        return sl_err_from_mdb(rc);
    }
    out->store = store;
    out->txn = txn;
    out->write = !(flags & MDB_RDONLY);
    out->top = top;
    return SL_OK;
}

/* The transaction has ended: a top-level one lets go of the map lock. */
static void txn_ended(sl_txn *txn)
{
    txn->txn = NULL;
    if (txn->top) {
        txn->top = false;
        pthread_rwlock_unlock(&txn->store->map_lock);
    }
}

sl_err sl_txn_begin_read(sl_store *store, sl_txn *out)
{
    if (!store || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    return txn_begin(store, NULL, MDB_RDONLY, out);
}

sl_err sl_txn_begin_write(sl_store *store, sl_txn *out)
{
    if (!store || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    sl_err err = txn_begin(store, NULL, 0, out);
    if (err != SL_OK || !store->journal)
        return err;
    err = replay_journal(store, out);
    if (err != SL_OK) {
        sl_txn_abort(out);
        return err;
    }
    sl_redo_truncate(store->redo, 0);
    out->redo = store->redo;
    return SL_OK;
}

sl_err sl_txn_begin_child(sl_txn *parent, sl_txn *out)
{
    if (!parent || !out || !parent->txn || !parent->write || !parent->store)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    sl_err err = txn_begin(parent->store, parent->txn, 0, out);
    if (err == SL_OK && parent->redo) {
        out->redo = parent->redo;
        out->redo_mark = sl_redo_size(parent->redo);
    }
    return err;
}

/* A failed write with the disk (nearly) full is "storage full", whatever
 * LMDB made of it: a short pwrite comes back from LMDB as EIO. */
#define SL_DISK_FULL_MARGIN (4 * MIB)

static bool disk_nearly_full(const char *path)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) != 0)
        return false;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize < SL_DISK_FULL_MARGIN;
}

sl_err sl_txn_commit(sl_txn *txn)
{
    if (!txn || !txn->txn)
        return SL_ERR_INVALID;
    sl_store *store = txn->store;
    bool journaled = txn->top && txn->redo;
    int rc = journaled ? checkpoint(txn) : mdb_txn_commit(txn->txn);
    if (journaled)
        sl_redo_truncate(txn->redo, 0);
    txn_ended(txn);
    if ((rc == EIO || rc == ENOSPC) && disk_nearly_full(store->path))
        return SL_ERR_STORAGE_FULL;
    return sl_err_from_mdb(rc);
}

void sl_txn_abort(sl_txn *txn)
{
    if (!txn || !txn->txn)
        return;
    mdb_txn_abort(txn->txn);
    if (txn->redo)
        sl_redo_truncate(txn->redo, txn->top ? 0 : txn->redo_mark);
    txn_ended(txn);
}

bool sl_txn_can_journal(const sl_txn *txn)
{
    if (!txn || !txn->txn || !txn->top || !txn->redo)
        return false;
    size_t n = sl_redo_size(txn->redo);
    return txn->store->journal_room && !sl_redo_overflowed(txn->redo) &&
           n <= JOURNAL_RECORD_MAX &&
           sl_journal_fits(txn->store->journal, n);
}

sl_err sl_txn_journal(sl_txn *txn)
{
    if (!sl_txn_can_journal(txn))
        return SL_ERR_INVALID;
    size_t n = sl_redo_size(txn->redo);
    if (n == 0)
        return SL_OK; /* nothing changed: nothing to make durable */
    sl_store *s = txn->store;
    sl_err err = sl_journal_append(s->journal, sl_redo_data(txn->redo), n, true);
    if (err != SL_OK)
        return err;
    sl_redo_truncate(txn->redo, 0);
    atomic_store(&s->unsaved, true);
    return SL_OK;
}

bool sl_txn_changes(const sl_txn *txn, size_t *bytes)
{
    if (!txn || !txn->redo || sl_redo_overflowed(txn->redo))
        return false;
    *bytes = sl_redo_size(txn->redo);
    return true;
}

bool sl_store_journaled(const sl_store *store)
{
    return store && store->journal;
}

bool sl_store_reads_lag(const sl_store *store)
{
    return store && atomic_load(&store->unsaved);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The largest map allowed: the quota for publishes, plus a reserve of
 * max(quota/16, 16 MiB) for everything else. */
static uint64_t map_cap(const sl_store_options *opt, bool for_publish)
{
    if (for_publish)
        return opt->quota_bytes;
    uint64_t reserve = opt->quota_bytes / 16;
    if (reserve < SL_RESERVE_MIN)
        reserve = SL_RESERVE_MIN;
    return add_sat(opt->quota_bytes, reserve);
}

sl_err sl_store_grow(sl_store *store, bool for_publish)
{
    if (!store)
        return SL_ERR_INVALID;
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(store->env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(store->env, &st);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    uint64_t cur = info.me_mapsize;
    uint64_t cap = map_cap(&store->opt, for_publish);
    uint64_t want = cur > UINT64_MAX / 2 ? UINT64_MAX : cur * 2;
    if (want < add_sat(cur, SL_GROW_MIN_STEP))
        want = add_sat(cur, SL_GROW_MIN_STEP);
    if (want > cap)
        want = cap;
    want -= want % st.ms_psize; /* whole pages */
    if (want <= cur || want > SIZE_MAX)
        return SL_ERR_STORAGE_FULL;
    pthread_rwlock_wrlock(&store->map_lock); /* waits for every open transaction */
    rc = mdb_env_set_mapsize(store->env, (size_t)want);
    pthread_rwlock_unlock(&store->map_lock);
    return sl_err_from_mdb(rc);
}

sl_err sl_store_sync(sl_store *store)
{
    if (!store)
        return SL_ERR_INVALID;
    return sl_err_from_mdb(mdb_env_sync(store->env, 1));
}

/* mdb_reader_list callback: one call per line; a reader's line starts with
 * its pid (digits after padding), the header and "(no ...)" lines do not. */
static int count_reader_line(const char *msg, void *ctx)
{
    while (*msg == ' ')
        msg++;
    if (*msg >= '0' && *msg <= '9')
        ++*(uint32_t *)ctx;
    return 0;
}

sl_err sl_store_get_stats(sl_store *store, sl_store_stats *out)
{
    if (!store || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(store->env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(store->env, &st);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    out->map_bytes = info.me_mapsize;
    out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->quota_bytes = store->opt.quota_bytes;
    out->file_bytes = data_file_size(store->path);
    out->readers_max = info.me_maxreaders;
    uint32_t readers = 0;
    if (mdb_reader_list(store->env, count_reader_line, &readers) >= 0)
        out->readers_used = readers;
    out->format_version = store->format_version;
    out->journal = store->journal != NULL;
    out->journal_replayed = store->journal_replayed;
    return SL_OK;
}
