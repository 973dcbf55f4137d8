/* dlq.c: the dead-letter queue of each group: the dead-letter record, list,
 * get, replay and purge. See dlq.h and dlq_record.h; layout in FORMAT.md. */
#include "dlq.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "dlq_record.h"
#include "group_record.h"
#include "lease_record.h"
#include "log.h"

#define DLQ_FIXED_LEN 15 /* version(1) attempts(4) dead_at_ms(8) reason_len(2) */
#define DLQ_RECORD_MAX (DLQ_FIXED_LEN + SL_REASON_MAX)

/* ---- the record ------------------------------------------------------------ */

sl_err sl_dlq_put(sl_txn *w, uint32_t gid, uint64_t seq, uint32_t attempts,
                  uint64_t dead_at_ms, sl_slice reason, bool *added)
{
    reason = sl_reason_cut(reason);
    if (reason.len && !reason.ptr)
        return SL_ERR_INVALID;
    uint8_t key[SL_GID_SEQ_KEY_LEN], buf[DLQ_RECORD_MAX];
    sl_gid_seq_key(key, gid, seq);
    MDB_dbi dbi = sl_dbi(w, SL_DB_DLQ);
    MDB_val k = {sizeof key, key}, old;
    int rc = mdb_get(w->txn, dbi, &k, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    *added = rc == MDB_NOTFOUND;
    buf[0] = SL_DLQ_RECORD_VERSION;
    sl_put_u32(buf + 1, attempts);
    sl_put_u64(buf + 5, dead_at_ms);
    sl_put_u16(buf + 13, (uint16_t)reason.len);
    if (reason.len)
        memcpy(buf + DLQ_FIXED_LEN, reason.ptr, reason.len);
    MDB_val v = {DLQ_FIXED_LEN + reason.len, buf};
    rc = sl_db_put(w, SL_DB_DLQ, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

/* Decode the record (key, val) of gid into *dl (event not filled in). */
static sl_err dlq_decode(MDB_val key, MDB_val val, sl_dead_letter *dl)
{
    const uint8_t *p = val.mv_data;
    if (key.mv_size != SL_GID_SEQ_KEY_LEN || val.mv_size < 1)
        return SL_ERR_CORRUPT;
    if (p[0] != SL_DLQ_RECORD_VERSION)
        return SL_ERR_VERSION;
    if (val.mv_size < DLQ_FIXED_LEN)
        return SL_ERR_CORRUPT;
    size_t rlen = sl_get_u16(p + 13);
    if (rlen > SL_REASON_MAX || val.mv_size != DLQ_FIXED_LEN + rlen)
        return SL_ERR_CORRUPT;
    memset(dl, 0, sizeof *dl);
    dl->seq = sl_get_u64((const uint8_t *)key.mv_data + 4);
    dl->attempts = sl_get_u32(p + 1);
    dl->dead_at_ms = sl_get_u64(p + 5);
    dl->reason = (sl_slice){(const char *)p + DLQ_FIXED_LEN, rlen};
    return SL_OK;
}

/* Decode (key, val), look the event up, and hand the dead letter to cb. */
static sl_err emit(sl_txn *t, MDB_val key, MDB_val val, sl_dead_letter_cb cb, void *ctx)
{
    sl_dead_letter dl;
    sl_err rc = dlq_decode(key, val, &dl);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_get(t, dl.seq, &dl.event);
    dl.event_retained = rc == SL_OK;
    if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
        return rc;
    if (!dl.event_retained)
        memset(&dl.event, 0, sizeof dl.event);
    return cb(ctx, &dl);
}

/* ---- reading ------------------------------------------------------------------ */

/* Walk the dead letters of gid after after_seq: at most limit to cb; *next
 * gets the last seq given when more follow, else 0. */
static sl_err list_page(sl_txn *t, MDB_cursor *c, uint32_t gid, uint64_t after_seq,
                        size_t limit, sl_dead_letter_cb cb, void *ctx, uint64_t *next)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, after_seq + 1);
    MDB_val k = {sizeof key, key}, v;
    size_t given = 0;
    uint64_t last = 0;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SL_GID_SEQ_KEY_LEN || sl_get_u32(k.mv_data) != gid)
            break;
        if (given == limit) {
            *next = last;
            return SL_OK;
        }
        last = sl_get_u64((const uint8_t *)k.mv_data + 4);
        sl_err rc = emit(t, k, v, cb, ctx);
        if (rc != SL_OK)
            return rc;
        given++;
    }
    return mrc == 0 || mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

sl_err sl_dlq_list(sl_txn *t, const char *group, uint64_t after_seq, size_t limit,
                   sl_dead_letter_cb cb, void *ctx, uint64_t *next_after)
{
    if (!t || !cb || !next_after || limit < 1 || limit > SL_DLQ_PAGE_MAX)
        return SL_ERR_INVALID;
    *next_after = 0;
    sl_group_rec g;
    sl_err rc = sl_group_rec_load(t, group, &g);
    if (rc != SL_OK || after_seq == UINT64_MAX)
        return rc;
    MDB_cursor *c;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_DLQ), &c);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    rc = list_page(t, c, g.gid, after_seq, limit, cb, ctx, next_after);
    mdb_cursor_close(c);
    return rc;
}

sl_err sl_dlq_get(sl_txn *t, const char *group, uint64_t seq, sl_dead_letter_cb cb,
                  void *ctx)
{
    if (!t || !cb)
        return SL_ERR_INVALID;
    sl_group_rec g;
    sl_err rc = sl_group_rec_load(t, group, &g);
    if (rc != SL_OK)
        return rc;
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, g.gid, seq);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_get(t->txn, sl_dbi(t, SL_DB_DLQ), &k, &v);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    return emit(t, k, v, cb, ctx);
}

/* ---- replay and purge ------------------------------------------------------------ */

/* One replay or purge call. */
typedef struct dlq_run {
    sl_txn *w;          /* the caller's write txn */
    sl_group_rec g;     /* the group, written back once at the end */
    bool replay;        /* true: replay; false: purge */
    uint64_t now_ms;    /* replay: when the replayed events become due */
    size_t done;        /* dead letters handled */
} dlq_run;

static sl_err dlq_del(sl_txn *w, uint32_t gid, uint64_t seq)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, seq);
    MDB_val k = {sizeof key, key};
    int rc = sl_db_del(w, SL_DB_DLQ, &k);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

/* Put seq back into the group as a waiting lease due now, with attempt 0 so
 * its next delivery is attempt 1. A lease that exists already is kept. */
static sl_err replay_lease(dlq_run *r, uint64_t seq)
{
    sl_lease_rec lease;
    sl_err rc = sl_lease_rec_get(r->w, r->g.gid, seq, &lease);
    if (rc != SL_ERR_NOT_FOUND)
        return rc;
    lease.state = SL_LEASE_WAITING;
    lease.attempt = 0;
    lease.due_ms = r->now_ms;
    lease.delivery = sl_group_rec_take_delivery(&r->g);
    lease.reason_len = 0;
    rc = sl_lease_rec_put(r->w, r->g.gid, seq, &lease, NULL);
    if (rc == SL_OK)
        r->g.waiting = sl_inc32(r->g.waiting);
    return rc;
}

/* Replay or purge the dead letter of seq, which exists. */
static sl_err handle_one(dlq_run *r, uint64_t seq)
{
    sl_err rc = dlq_del(r->w, r->g.gid, seq);
    if (rc == SL_OK && r->replay)
        rc = replay_lease(r, seq);
    if (rc != SL_OK)
        return rc;
    r->g.dlq_size = sl_dec64(r->g.dlq_size);
    r->done++;
    return SL_OK;
}

static sl_err handle_seqs(dlq_run *r, const uint64_t *seqs, size_t n)
{
    MDB_dbi dbi = sl_dbi(r->w, SL_DB_DLQ);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[SL_GID_SEQ_KEY_LEN];
        sl_gid_seq_key(key, r->g.gid, seqs[i]);
        MDB_val k = {sizeof key, key}, v;
        int mrc = mdb_get(r->w->txn, dbi, &k, &v);
        if (mrc == MDB_NOTFOUND)
            continue; /* unknown (or given twice): skipped */
        if (mrc != 0)
            return sl_err_from_mdb(mrc);
        sl_err rc = handle_one(r, seqs[i]);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* The first dead letter of gid: *found false when there is none. */
static sl_err first_dead_letter(MDB_cursor *c, uint32_t gid, uint64_t *seq, bool *found)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, 0);
    MDB_val k = {sizeof key, key}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    *found = mrc == 0 && k.mv_size == SL_GID_SEQ_KEY_LEN && sl_get_u32(k.mv_data) == gid;
    if (*found)
        *seq = sl_get_u64((const uint8_t *)k.mv_data + 4);
    return mrc == 0 || mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

/* Handle the group's dead letters from the first on, at most
 * SL_DLQ_BATCH_MAX; *remaining gets how many are left. */
static sl_err handle_all(dlq_run *r, uint64_t *remaining)
{
    MDB_cursor *c;
    int mrc = mdb_cursor_open(r->w->txn, sl_dbi(r->w, SL_DB_DLQ), &c);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    sl_err rc = SL_OK;
    bool found = true;
    uint64_t seq = 0;
    for (size_t i = 0; i <= SL_DLQ_BATCH_MAX && rc == SL_OK; i++) {
        rc = first_dead_letter(c, r->g.gid, &seq, &found);
        if (rc != SL_OK || !found || i == SL_DLQ_BATCH_MAX)
            break;
        rc = handle_one(r, seq);
    }
    mdb_cursor_close(c);
    if (rc == SL_OK && !found)
        r->g.dlq_size = 0; /* all gone: the counter is exact again */
    *remaining = found ? (r->g.dlq_size ? r->g.dlq_size : 1) : 0;
    return rc;
}

static sl_err dlq_apply(sl_txn *w, const char *group, const uint64_t *seqs, size_t n,
                        bool all, bool replay, uint64_t now_ms, size_t *done,
                        uint64_t *remaining)
{
    if (!w || !w->txn || !w->write || (!all && (!seqs || n < 1)))
        return SL_ERR_INVALID;
    if (!all && n > SL_DLQ_BATCH_MAX)
        return SL_ERR_TOO_LARGE;
    dlq_run r = {.w = w, .replay = replay, .now_ms = now_ms, .done = 0};
    uint64_t left = 0;
    sl_err rc = sl_group_rec_load(w, group, &r.g);
    if (rc != SL_OK)
        return rc;
    rc = all ? handle_all(&r, &left) : handle_seqs(&r, seqs, n);
    if (rc == SL_OK)
        rc = sl_group_rec_save(w, &r.g);
    if (rc != SL_OK)
        return rc;
    if (done)
        *done = r.done;
    if (remaining)
        *remaining = left;
    return SL_OK;
}

sl_err sl_dlq_replay(sl_txn *w, const char *group, const uint64_t *seqs, size_t n, bool all,
                     uint64_t now_ms, size_t *done, uint64_t *remaining)
{
    return dlq_apply(w, group, seqs, n, all, true, now_ms, done, remaining);
}

sl_err sl_dlq_purge(sl_txn *w, const char *group, const uint64_t *seqs, size_t n, bool all,
                    size_t *done, uint64_t *remaining)
{
    return dlq_apply(w, group, seqs, n, all, false, 0, done, remaining);
}
