/* lease.c: leases: the lease record and due index, ack tokens, pull,
 * settle (ack / nack / extend / term, as sessions: one group record load
 * and write for many tokens), expiry into the DLQ, and making a waiting
 * lease due now (webhook retry).
 * See lease.h and lease_record.h; record layouts in core/FORMAT.md.
 *
 * Every lease has a due entry gid(4) due_ms(8) seq(8) in DB_DUE, except the
 * first deliveries of a pull: they share one batch entry gid(4) due_ms(8)
 * first_seq(8) 0x01 -> last_seq(8), and their records (version 2) say so, so
 * an ack of one is a single delete. A pull walks the group's due entries up
 * to now (ended leases, waiting leases; a batch entry by walking the leases of
 * its range that it still covers), then new events from the group's cursor. Nothing here allocates: records are
 * decoded into stack structs, and the group record is written once per call.
 */
#include "lease.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "dlq_record.h"
#include "group_record.h"
#include "hex_id.h"
#include "lease_record.h"
#include "log.h"

#define LEASE_FIXED_LEN 24   /* bytes before the reason, see FORMAT.md */
#define LEASE_RECORD_MAX (LEASE_FIXED_LEN + SL_REASON_MAX)
#define NEW_SCAN_MAX 10000   /* non-matching events looked at per pull */
#define DUE_SCAN_MAX 10000   /* due entries looked at per pull; not-spent ones
                                skipped per group in expire */
#define TOKEN_RAW_LEN 16     /* gid(4) seq(8) delivery number, low 32 bits(4) */

/* ---- the lease record --------------------------------------------------- */

/* version: SL_LEASE_RECORD_VERSION or SL_LEASE_RECORD_VERSION_BATCH. */
static size_t lease_encode(const sl_lease_rec *r, uint8_t version, uint8_t *buf)
{
    uint16_t rlen = r->reason_len > SL_REASON_MAX ? SL_REASON_MAX : r->reason_len;
    buf[0] = version;
    buf[1] = (uint8_t)r->state;
    sl_put_u32(buf + 2, r->attempt);
    sl_put_u64(buf + 6, r->due_ms);
    sl_put_u64(buf + 14, r->delivery);
    sl_put_u16(buf + 22, rlen);
    memcpy(buf + LEASE_FIXED_LEN, r->reason, rlen);
    return LEASE_FIXED_LEN + (size_t)rlen;
}

static sl_err lease_decode(MDB_val v, sl_lease_rec *out)
{
    const uint8_t *p = v.mv_data;
    if (v.mv_size < 1)
        return SL_ERR_CORRUPT;
    if (p[0] != SL_LEASE_RECORD_VERSION && p[0] != SL_LEASE_RECORD_VERSION_BATCH)
        return SL_ERR_VERSION;
    if (v.mv_size < LEASE_FIXED_LEN)
        return SL_ERR_CORRUPT;
    uint16_t rlen = sl_get_u16(p + 22);
    if (rlen > SL_REASON_MAX || v.mv_size != LEASE_FIXED_LEN + (size_t)rlen)
        return SL_ERR_CORRUPT;
    if (p[1] != SL_LEASE_IN_FLIGHT && p[1] != SL_LEASE_WAITING)
        return SL_ERR_CORRUPT;
    if (p[0] == SL_LEASE_RECORD_VERSION_BATCH && p[1] != SL_LEASE_IN_FLIGHT)
        return SL_ERR_CORRUPT;
    out->batch = p[0] == SL_LEASE_RECORD_VERSION_BATCH;
    out->state = (sl_lease_state)p[1];
    out->attempt = sl_get_u32(p + 2);
    out->due_ms = sl_get_u64(p + 6);
    out->delivery = sl_get_u64(p + 14);
    out->reason_len = rlen;
    memcpy(out->reason, p + LEASE_FIXED_LEN, rlen);
    return SL_OK;
}

sl_err sl_lease_rec_get(sl_txn *t, uint32_t gid, uint64_t seq, sl_lease_rec *out)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_LEASES), &k, &v);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return lease_decode(v, out);
}

static sl_err due_put(sl_txn *w, uint32_t gid, uint64_t due_ms, uint64_t seq)
{
    uint8_t key[SL_DUE_KEY_LEN];
    sl_due_key(key, gid, due_ms, seq);
    MDB_val k = {sizeof key, key}, v = {0, NULL};
    int rc = sl_db_put(w, SL_DB_DUE, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

static sl_err due_del(sl_txn *w, uint32_t gid, uint64_t due_ms, uint64_t seq)
{
    uint8_t key[SL_DUE_KEY_LEN];
    sl_due_key(key, gid, due_ms, seq);
    MDB_val k = {sizeof key, key};
    int rc = sl_db_del(w, SL_DB_DUE, &k);
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* Write the record alone (no due entry), as version 1 (own due entry). */
static sl_err lease_write(sl_txn *w, uint32_t gid, uint64_t seq, const sl_lease_rec *rec)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN], buf[LEASE_RECORD_MAX];
    sl_gid_seq_key(key, gid, seq);
    MDB_val k = {sizeof key, key}, v = {lease_encode(rec, SL_LEASE_RECORD_VERSION, buf), buf};
    int mrc = sl_db_put(w, SL_DB_LEASES, &k, &v, 0);
    return mrc ? sl_err_from_mdb(mrc) : SL_OK;
}

/* Read the lease of (gid, seq) through cursor c on DB_LEASES, leaving c on
 * it. A cursor that sits near the key finds it without a search from the
 * root (acks come in seq order). Errors as sl_lease_rec_get. */
static sl_err lease_seek(MDB_cursor *c, uint32_t gid, uint64_t seq, sl_lease_rec *out)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return lease_decode(v, out);
}

/* Delete the lease c sits on (just read by lease_seek as *lease, seq) with
 * its own due entry: sl_lease_rec_del without a second search. */
static sl_err lease_del_here(sl_txn *w, MDB_cursor *c, uint32_t gid, uint64_t seq,
                             const sl_lease_rec *lease)
{
    int rc = sl_db_cursor_del(w, SL_DB_LEASES, c);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return lease->batch ? SL_OK : due_del(w, gid, lease->due_ms, seq);
}

sl_err sl_lease_rec_put(sl_txn *w, uint32_t gid, uint64_t seq, const sl_lease_rec *rec,
                        const sl_lease_rec *old)
{
    /* a batch lease has no entry of its own yet: it gets one now */
    bool moved = !old || old->batch || old->due_ms != rec->due_ms;
    sl_err rc = old && !old->batch && moved ? due_del(w, gid, old->due_ms, seq) : SL_OK;
    if (rc == SL_OK)
        rc = lease_write(w, gid, seq, rec);
    if (rc != SL_OK)
        return rc;
    return moved ? due_put(w, gid, rec->due_ms, seq) : SL_OK;
}

sl_err sl_lease_rec_del(sl_txn *w, uint32_t gid, uint64_t seq, const sl_lease_rec *lease)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, seq);
    MDB_val k = {sizeof key, key};
    int rc = sl_db_del(w, SL_DB_LEASES, &k);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    return lease->batch ? SL_OK : due_del(w, gid, lease->due_ms, seq);
}

/* ---- batch due entries ------------------------------------------------------ */

static void due_batch_key(uint8_t key[SL_DUE_BATCH_KEY_LEN], uint32_t gid, uint64_t due_ms,
                          uint64_t first)
{
    sl_due_key(key, gid, due_ms, first);
    key[SL_DUE_KEY_LEN] = 1;
}

/* The batch entry covering the batch leases of [first, last] due at due_ms. */
static sl_err due_batch_put(sl_txn *w, uint32_t gid, uint64_t due_ms, uint64_t first,
                            uint64_t last)
{
    uint8_t key[SL_DUE_BATCH_KEY_LEN], val[8];
    due_batch_key(key, gid, due_ms, first);
    sl_put_u64(val, last);
    MDB_val k = {sizeof key, key}, v = {sizeof val, val};
    int rc = sl_db_put(w, SL_DB_DUE, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

static sl_err due_batch_del(sl_txn *w, uint32_t gid, uint64_t due_ms, uint64_t first)
{
    uint8_t key[SL_DUE_BATCH_KEY_LEN];
    due_batch_key(key, gid, due_ms, first);
    MDB_val k = {sizeof key, key};
    int rc = sl_db_del(w, SL_DB_DUE, &k);
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* The first lease of gid at or after seq from, up to last, that the batch
 * entry due at due_ms covers (a batch lease with that due_ms): *found false
 * when there is none. c is a cursor on DB_LEASES; it is positioned afresh
 * on every call, so writes between calls are fine. */
static sl_err batch_next(MDB_cursor *c, uint32_t gid, uint64_t due_ms, uint64_t from,
                         uint64_t last, uint64_t *seq, sl_lease_rec *out, bool *found)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, from);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    *found = false;
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SL_GID_SEQ_KEY_LEN || sl_get_u32(k.mv_data) != gid)
            return SL_OK;
        *seq = sl_get_u64((const uint8_t *)k.mv_data + 4);
        if (*seq > last)
            return SL_OK;
        sl_err drc = lease_decode(v, out);
        if (drc != SL_OK)
            return drc;
        if (out->batch && out->due_ms == due_ms) {
            *found = true;
            return SL_OK;
        }
    }
    return rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

sl_err sl_lease_due_now(sl_txn *w, uint32_t gid, uint64_t seq, uint64_t now_ms)
{
    sl_lease_rec old;
    sl_err rc = sl_lease_rec_get(w, gid, seq, &old);
    if (rc != SL_OK)
        return rc;
    if (old.state != SL_LEASE_WAITING)
        return SL_ERR_NOT_FOUND;
    if (old.due_ms <= now_ms)
        return SL_OK; /* due already */
    sl_lease_rec lease = old;
    lease.due_ms = now_ms;
    return sl_lease_rec_put(w, gid, seq, &lease, &old);
}

/* ---- tokens --------------------------------------------------------------- */

static void token_format(uint32_t gid, uint64_t seq, uint64_t delivery,
                         char out[SL_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[TOKEN_RAW_LEN];
    sl_put_u32(raw, gid);
    sl_put_u64(raw + 4, seq);
    sl_put_u32(raw + 12, (uint32_t)delivery);
    for (size_t i = 0; i < TOKEN_RAW_LEN; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[SL_TOKEN_LEN] = '\0';
}

bool sl_token_decode(sl_slice tok, uint32_t *gid, uint64_t *seq, uint32_t *delivery)
{
    if (tok.len != SL_TOKEN_LEN || !tok.ptr)
        return false;
    uint8_t raw[TOKEN_RAW_LEN];
    for (size_t i = 0; i < TOKEN_RAW_LEN; i++) {
        int hi = sl_hex_digit(tok.ptr[2 * i]), lo = sl_hex_digit(tok.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    *gid = sl_get_u32(raw);
    *seq = sl_get_u64(raw + 4);
    *delivery = sl_get_u32(raw + 12);
    return true;
}

const char *sl_token_status_name(sl_token_status s)
{
    switch (s) {
    case SL_TOKEN_OK:
        return "ok";
    case SL_TOKEN_STALE:
        return "stale";
    case SL_TOKEN_GONE:
        return "gone";
    case SL_TOKEN_INVALID:
        return "invalid";
    }
    return "invalid";
}

/* ---- shared steps -------------------------------------------------------- */

static bool is_write(const sl_txn *w)
{
    return w && w->txn && w->write;
}

/* The group's backoff before delivery attempt+1 (0 without backoff). */
static uint64_t backoff_for(const sl_group_config *cfg, uint32_t attempt)
{
    if (cfg->nbackoff == 0)
        return 0;
    uint32_t i = attempt ? attempt - 1 : 0;
    if (i >= cfg->nbackoff)
        i = cfg->nbackoff - 1;
    return cfg->backoff_ms[i];
}

/* A lease leaves the group: take it out of its state's counter. */
static void uncount(sl_group_rec *g, sl_lease_state state)
{
    if (state == SL_LEASE_IN_FLIGHT)
        g->in_flight = sl_dec32(g->in_flight);
    else
        g->waiting = sl_dec32(g->waiting);
}

/* A lease changes state: move it between the counters. */
static void recount(sl_group_rec *g, sl_lease_state from, sl_lease_state to)
{
    if (from == to)
        return;
    uncount(g, from);
    if (to == SL_LEASE_IN_FLIGHT)
        g->in_flight = sl_inc32(g->in_flight);
    else
        g->waiting = sl_inc32(g->waiting);
}

/* Move the lease of seq to the DLQ: with reason, else the lease's last nack
 * reason, else "max deliveries exceeded". */
static sl_err dead_letter(sl_txn *w, sl_group_rec *g, uint64_t seq, const sl_lease_rec *lease,
                          sl_slice reason, uint64_t now_ms)
{
    if (reason.len == 0 && lease->reason_len)
        reason = (sl_slice){lease->reason, lease->reason_len};
    if (reason.len == 0)
        reason = sl_slice_of(SL_REASON_MAX_DELIVERIES);
    bool added = false;
    sl_err rc = sl_dlq_put(w, g->gid, seq, lease->attempt, now_ms, reason, &added);
    if (rc == SL_OK)
        rc = sl_lease_rec_del(w, g->gid, seq, lease);
    if (rc != SL_OK)
        return rc;
    uncount(g, lease->state);
    if (added)
        g->dlq_size++;
    return SL_OK;
}

/* True when the lease has used up the group's deliveries. */
static bool spent(const sl_group_rec *g, const sl_lease_rec *lease)
{
    return lease->attempt >= g->config.max_deliveries;
}

/* ---- pull ------------------------------------------------------------------ */

/* The state of one pull. */
typedef struct pull_run {
    sl_txn *w;             /* the caller's write txn */
    sl_group_rec g;        /* the group, written back once at the end */
    sl_group_rec loaded;   /* g as loaded: no write when nothing changed */
    sl_filter_set fs;      /* its filters, borrowing from g.config */
    size_t max;            /* deliveries wanted */
    uint64_t now_ms;       /* the injected clock */
    sl_delivery_cb cb;     /* where deliveries go */
    void *ctx;             /* cb's context */
    MDB_cursor *due;       /* cursor on DB_DUE, opened once */
    MDB_cursor *leases;    /* cursor on DB_LEASES (batch entries), opened once */
    sl_log_reader log;     /* event lookups for redeliveries, opened once */
    bool scan_cut;         /* stopped scanning new events at NEW_SCAN_MAX */
    sl_pull_result res;    /* what the caller gets */
} pull_run;

static bool pull_full(const pull_run *p)
{
    return p->g.in_flight >= p->g.config.max_inflight;
}

/* Hand one delivery to the callback. The event view must be fresh: the
 * callback runs before this delivery's writes. */
static sl_err deliver(pull_run *p, const sl_event_view *ev, const sl_lease_rec *lease)
{
    sl_delivery d;
    d.event = *ev;
    d.attempt = lease->attempt;
    d.lease_until_ms = lease->due_ms;
    token_format(p->g.gid, ev->seq, lease->delivery, d.token);
    sl_err rc = p->cb(p->ctx, &d);
    if (rc == SL_OK)
        p->res.delivered++;
    return rc;
}

/* Deliver an existing lease again (ended in flight, or waiting and due). */
static sl_err redeliver(pull_run *p, uint64_t seq, const sl_lease_rec *old)
{
    sl_event_view ev;
    sl_err rc = sl_log_reader_get(&p->log, seq, &ev);
    if (rc == SL_ERR_NOT_FOUND) { /* trimmed by hard retention: nothing to deliver */
        uncount(&p->g, old->state);
        return sl_lease_rec_del(p->w, p->g.gid, seq, old);
    }
    if (rc != SL_OK)
        return rc;
    sl_lease_rec lease = *old;
    lease.state = SL_LEASE_IN_FLIGHT;
    lease.attempt = old->attempt == UINT32_MAX ? UINT32_MAX : old->attempt + 1;
    lease.delivery = sl_group_rec_take_delivery(&p->g);
    lease.due_ms = sl_add_sat(p->now_ms, p->g.config.ack_wait_ms);
    rc = deliver(p, &ev, &lease);
    if (rc == SL_OK)
        rc = sl_lease_rec_put(p->w, p->g.gid, seq, &lease, old);
    if (rc != SL_OK)
        return rc;
    recount(&p->g, old->state, SL_LEASE_IN_FLIGHT);
    p->g.delivered++;
    p->g.redelivered++;
    return SL_OK;
}

/* An in-flight lease ended; the group has backoff that has not passed yet:
 * park it as waiting until lease end + backoff. */
static sl_err park_waiting(pull_run *p, uint64_t seq, const sl_lease_rec *old, uint64_t until)
{
    sl_lease_rec lease = *old;
    lease.state = SL_LEASE_WAITING;
    lease.due_ms = until;
    sl_err rc = sl_lease_rec_put(p->w, p->g.gid, seq, &lease, old);
    if (rc == SL_OK)
        recount(&p->g, old->state, SL_LEASE_WAITING);
    return rc;
}

/* A lease that is due (due_ms <= now): redeliver, park or dead-letter it. */
static sl_err handle_lease(pull_run *p, uint64_t due_ms, uint64_t seq,
                           const sl_lease_rec *lease)
{
    sl_err rc;
    if (spent(&p->g, lease)) {
        rc = dead_letter(p->w, &p->g, seq, lease, (sl_slice){NULL, 0}, p->now_ms);
        if (rc == SL_OK)
            p->res.dead_lettered++;
        return rc;
    }
    if (lease->state == SL_LEASE_IN_FLIGHT) {
        uint64_t ready = sl_add_sat(due_ms, backoff_for(&p->g.config, lease->attempt));
        if (ready > p->now_ms)
            return park_waiting(p, seq, lease, ready);
    } else if (pull_full(p)) {
        return SL_OK; /* waiting, but max_inflight reached: leave it due */
    }
    return redeliver(p, seq, lease);
}

/* One due entry (gid, due_ms, seq) with due_ms <= now. */
static sl_err handle_due(pull_run *p, uint64_t due_ms, uint64_t seq)
{
    sl_lease_rec lease;
    sl_err rc = sl_lease_rec_get(p->w, p->g.gid, seq, &lease);
    if (rc == SL_ERR_NOT_FOUND || (rc == SL_OK && (lease.due_ms != due_ms || lease.batch)))
        return due_del(p->w, p->g.gid, due_ms, seq); /* stray entry: repair */
    if (rc != SL_OK)
        return rc;
    return handle_lease(p, due_ms, seq, &lease);
}

/* One batch entry (gid, due_ms, first) -> last with due_ms <= now: its
 * leases in seq order. When the pull is full before the end, the entry is
 * moved to the first lease it still covers; otherwise it goes. */
static sl_err handle_batch(pull_run *p, uint64_t due_ms, uint64_t first, uint64_t last)
{
    uint64_t from = first;
    for (;;) {
        uint64_t seq;
        sl_lease_rec lease;
        bool found;
        sl_err rc = batch_next(p->leases, p->g.gid, due_ms, from, last, &seq, &lease, &found);
        if (rc != SL_OK)
            return rc;
        if (!found)
            return due_batch_del(p->w, p->g.gid, due_ms, first);
        if (p->res.delivered >= p->max) {
            if (seq == first)
                return SL_OK;
            rc = due_batch_del(p->w, p->g.gid, due_ms, first);
            return rc != SL_OK ? rc : due_batch_put(p->w, p->g.gid, due_ms, seq, last);
        }
        rc = handle_lease(p, due_ms, seq, &lease);
        if (rc != SL_OK)
            return rc;
        if (seq == last)
            return due_batch_del(p->w, p->g.gid, due_ms, first);
        from = seq + 1;
    }
}

/* A position in a group's due order: the key to seek from. */
typedef struct due_pos {
    uint8_t key[SL_DUE_BATCH_KEY_LEN + 1];
    size_t len;
} due_pos;

/* One due entry as read. */
typedef struct due_entry {
    uint64_t due_ms;   /* when it is due */
    uint64_t seq;      /* the lease's seq, or a batch entry's first_seq */
    bool batch;        /* a batch entry */
    uint64_t last;     /* batch entry: last_seq */
} due_entry;

/* The start of gid's due entries. */
static void due_start(due_pos *pos, uint32_t gid)
{
    sl_due_key(pos->key, gid, 0, 0);
    pos->len = SL_DUE_KEY_LEN;
}

/* Read the due entry at or after pos for gid: *found false when there is
 * none. Then pos is the smallest key after the entry: its key + one 0 byte
 * (entry keys are 20 or 21 bytes, so this never overflows). */
static sl_err due_seek(MDB_cursor *c, due_pos *pos, uint32_t gid, due_entry *e, bool *found)
{
    MDB_val k = {pos->len, pos->key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    *found = false;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl_err_from_mdb(rc);
    if (k.mv_size < SL_DUE_KEY_LEN || sl_get_u32(k.mv_data) != gid)
        return SL_OK;
    const uint8_t *kb = k.mv_data;
    if (k.mv_size == SL_DUE_KEY_LEN) {
        e->batch = false;
    } else if (k.mv_size == SL_DUE_BATCH_KEY_LEN && kb[SL_DUE_KEY_LEN] == 1 &&
               v.mv_size == 8) {
        e->batch = true;
        e->last = sl_get_u64(v.mv_data);
    } else {
        return SL_ERR_CORRUPT;
    }
    e->due_ms = sl_get_u64(kb + 4);
    e->seq = sl_get_u64(kb + 12);
    memcpy(pos->key, kb, k.mv_size);
    pos->key[k.mv_size] = 0;
    pos->len = k.mv_size + 1;
    *found = true;
    return SL_OK;
}

/* Step 1: leases that are due, in due order. */
static sl_err pull_due(pull_run *p)
{
    due_pos pos;
    due_start(&pos, p->g.gid);
    for (unsigned scanned = 0; scanned < DUE_SCAN_MAX && p->res.delivered < p->max;
         scanned++) {
        due_entry e;
        bool found;
        sl_err rc = due_seek(p->due, &pos, p->g.gid, &e, &found);
        if (rc != SL_OK)
            return rc;
        if (!found || e.due_ms > p->now_ms)
            return SL_OK;
        rc = e.batch ? handle_batch(p, e.due_ms, e.seq, e.last) : handle_due(p, e.due_ms, e.seq);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* The first deliveries one pull makes, and what it knows of the leases at
 * or after the group's cursor: normally none (one exists when a dead letter
 * was replayed ahead of the cursor), so one seek finds the next such lease
 * and the events before it need no lookup. */
typedef struct new_batch {
    uint64_t first, last; /* their seqs */
    size_t n;             /* how many */
    bool known;           /* next_taken is valid (for seqs up to it) */
    uint64_t next_taken;  /* the smallest seq >= the one checked with a lease; UINT64_MAX: none */
} new_batch;

/* Is there a lease for seq (>= every seq asked before in this pull)? */
static sl_err lease_taken(pull_run *p, new_batch *nb, uint64_t seq, bool *taken)
{
    if (!nb->known || seq > nb->next_taken) {
        uint8_t key[SL_GID_SEQ_KEY_LEN];
        sl_gid_seq_key(key, p->g.gid, seq);
        MDB_val k = {sizeof key, key}, v;
        int rc = mdb_cursor_get(p->leases, &k, &v, MDB_SET_RANGE);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return sl_err_from_mdb(rc);
        bool mine = rc == 0 && k.mv_size == SL_GID_SEQ_KEY_LEN && sl_get_u32(k.mv_data) == p->g.gid;
        nb->next_taken = mine ? sl_get_u64((const uint8_t *)k.mv_data + 4) : UINT64_MAX;
        nb->known = true;
    }
    *taken = seq == nb->next_taken;
    return SL_OK;
}

/* Write a new batch lease (version 2) through p->leases: consecutive new
 * leases land next to each other, mostly without a search from the root. */
static sl_err lease_write_new(pull_run *p, uint64_t seq, const sl_lease_rec *rec)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN], buf[LEASE_RECORD_MAX];
    sl_gid_seq_key(key, p->g.gid, seq);
    MDB_val k = {sizeof key, key};
    MDB_val v = {lease_encode(rec, SL_LEASE_RECORD_VERSION_BATCH, buf), buf};
    int rc = sl_db_cursor_put(p->w, SL_DB_LEASES, p->leases, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

/* Lease a new event (first delivery) unless it is pending already: a batch
 * lease (record version 2, no due entry of its own), noted in nb. */
static sl_err lease_new(pull_run *p, const sl_event_view *ev, new_batch *nb)
{
    bool taken = false;
    sl_err rc = lease_taken(p, nb, ev->seq, &taken);
    if (rc != SL_OK || taken)
        return rc; /* taken: a lease exists already (replayed ahead of the cursor) */
    sl_lease_rec lease;
    lease.state = SL_LEASE_IN_FLIGHT;
    lease.attempt = 1;
    lease.due_ms = sl_add_sat(p->now_ms, p->g.config.ack_wait_ms);
    lease.delivery = sl_group_rec_take_delivery(&p->g);
    lease.reason_len = 0;
    rc = deliver(p, ev, &lease);
    if (rc == SL_OK)
        rc = lease_write_new(p, ev->seq, &lease);
    if (rc != SL_OK)
        return rc;
    if (nb->n++ == 0)
        nb->first = ev->seq;
    nb->last = ev->seq;
    p->g.in_flight = sl_inc32(p->g.in_flight);
    p->g.delivered++;
    return SL_OK;
}

/* Step 2: new events from the cursor. */
static sl_err pull_new(pull_run *p)
{
    if (p->res.delivered >= p->max || pull_full(p))
        return SL_OK;
    sl_log_iter it;
    sl_err rc = sl_log_iter_open(p->w, p->g.cursor, &it);
    if (rc != SL_OK)
        return rc;
    sl_event_view ev;
    unsigned skipped = 0;
    new_batch nb = {0, 0, 0, false, 0};
    while (p->res.delivered < p->max && !pull_full(p)) {
        rc = sl_log_iter_next(&it, &ev);
        if (rc != SL_OK)
            break;
        p->g.cursor = ev.seq + 1;
        if (sl_filter_set_match(&p->fs, ev.topic)) {
            rc = lease_new(p, &ev, &nb);
            if (rc != SL_OK)
                break;
        } else if (++skipped >= NEW_SCAN_MAX) {
            p->scan_cut = true;
            break;
        }
    }
    sl_log_iter_close(&it);
    if (rc == SL_ERR_END)
        rc = SL_OK;
    if (rc == SL_OK && nb.n) /* every lease of this pull ends at the same time */
        rc = due_batch_put(p->w, p->g.gid, sl_add_sat(p->now_ms, p->g.config.ack_wait_ms),
                           nb.first, nb.last);
    return rc;
}

/* The earliest due_ms among the group's leases that a later pull could act
 * on: any lease while below max_inflight, else only in-flight ones (their end
 * frees room). 0 when there is none within DUE_SCAN_MAX entries. */
static sl_err pull_next_due(pull_run *p, uint64_t *next)
{
    due_pos pos;
    due_start(&pos, p->g.gid);
    *next = 0;
    for (unsigned scanned = 0; scanned < DUE_SCAN_MAX; scanned++) {
        due_entry e;
        bool found;
        sl_err rc = due_seek(p->due, &pos, p->g.gid, &e, &found);
        if (rc != SL_OK || !found)
            return rc;
        if (!pull_full(p) || e.batch) { /* a batch entry covers in-flight leases only */
            *next = e.due_ms;
            return SL_OK;
        }
        sl_lease_rec lease;
        rc = sl_lease_rec_get(p->w, p->g.gid, e.seq, &lease);
        if (rc == SL_OK && lease.state == SL_LEASE_IN_FLIGHT) {
            *next = e.due_ms;
            return SL_OK;
        }
        if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
            return rc;
    }
    return SL_OK;
}

static sl_err pull_steps(pull_run *p)
{
    sl_err rc = pull_due(p);
    if (rc == SL_OK)
        rc = pull_new(p);
    if (rc == SL_OK)
        rc = pull_next_due(p, &p->res.next_due_ms);
    if (rc == SL_OK && p->scan_cut)
        p->res.next_due_ms = p->now_ms ? p->now_ms : 1; /* more to look at now */
    if (rc == SL_OK && sl_group_rec_state_differs(&p->loaded, &p->g))
        rc = sl_group_rec_save(p->w, &p->g);
    return rc;
}

sl_err sl_lease_pull(sl_txn *w, const char *group, size_t max, uint64_t now_ms,
                     sl_delivery_cb cb, void *ctx, sl_pull_result *res)
{
    if (!is_write(w) || !cb || max < 1 || max > SL_PULL_BATCH_MAX)
        return SL_ERR_INVALID;
    pull_run p;
    memset(&p.res, 0, sizeof p.res);
    sl_err rc = sl_group_rec_load(w, group, &p.g);
    if (rc != SL_OK)
        return rc;
    p.loaded = p.g;
    sl_filter_set_init(&p.fs, &p.g.config);
    p.w = w;
    p.max = max;
    p.now_ms = now_ms;
    p.cb = cb;
    p.ctx = ctx;
    p.scan_cut = false;
    int mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_DUE), &p.due);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_LEASES), &p.leases);
    if (mrc != 0) {
        mdb_cursor_close(p.due);
        return sl_err_from_mdb(mrc);
    }
    rc = sl_log_reader_open(w, &p.log);
    if (rc == SL_OK)
        rc = pull_steps(&p);
    sl_log_reader_close(&p.log);
    mdb_cursor_close(p.leases);
    mdb_cursor_close(p.due);
    if (rc == SL_OK && res)
        *res = p.res;
    return rc;
}

/* ---- settle ----------------------------------------------------------------- */

/* One settle step of a session: what to do with one token. */
typedef struct settle_run {
    sl_txn *w;             /* the session's write txn */
    MDB_cursor *leases;    /* the session's cursor on DB_LEASES */
    sl_group_rec *g;       /* the session's group, written back at its end */
    sl_settle_kind kind;   /* ack, nack, extend or term */
    uint64_t delay_ms;     /* nack delay / extend lease length, or SL_DELAY_DEFAULT */
    sl_slice reason;       /* nack / term reason, already cut to SL_REASON_MAX */
    uint64_t now_ms;       /* the injected clock */
} settle_run;

/* The cursor sits on the lease (settle_one just read it). */
static sl_err settle_ack(settle_run *s, uint64_t seq, const sl_lease_rec *lease)
{
    sl_err rc = lease_del_here(s->w, s->leases, s->g->gid, seq, lease);
    if (rc != SL_OK)
        return rc;
    uncount(s->g, lease->state);
    s->g->acked++;
    return SL_OK;
}

static sl_err settle_nack(settle_run *s, uint64_t seq, const sl_lease_rec *old)
{
    if (spent(s->g, old)) /* no deliveries left: waiting would only end in the DLQ */
        return dead_letter(s->w, s->g, seq, old, s->reason, s->now_ms);
    sl_lease_rec lease = *old;
    uint64_t delay = s->delay_ms == SL_DELAY_DEFAULT
                         ? backoff_for(&s->g->config, old->attempt)
                         : s->delay_ms;
    lease.state = SL_LEASE_WAITING;
    lease.due_ms = sl_add_sat(s->now_ms, delay);
    if (s->reason.len) {
        lease.reason_len = (uint16_t)s->reason.len;
        memcpy(lease.reason, s->reason.ptr, s->reason.len);
    }
    sl_err rc = sl_lease_rec_put(s->w, s->g->gid, seq, &lease, old);
    if (rc == SL_OK)
        recount(s->g, old->state, SL_LEASE_WAITING);
    return rc;
}

static sl_err settle_extend(settle_run *s, uint64_t seq, const sl_lease_rec *old)
{
    sl_lease_rec lease = *old;
    uint64_t len = s->delay_ms == SL_DELAY_DEFAULT ? s->g->config.ack_wait_ms : s->delay_ms;
    lease.due_ms = sl_add_sat(s->now_ms, len);
    return sl_lease_rec_put(s->w, s->g->gid, seq, &lease, old);
}

static sl_err settle_term(settle_run *s, uint64_t seq, const sl_lease_rec *lease)
{
    sl_slice reason = s->reason.len ? s->reason : sl_slice_of(SL_REASON_TERMINATED);
    return dead_letter(s->w, s->g, seq, lease, reason, s->now_ms);
}

/* Settle one token; *st gets its status. Errors are storage-level only. */
static sl_err settle_one(settle_run *s, sl_slice token, sl_token_status *st)
{
    uint32_t gid, delivery;
    uint64_t seq;
    if (!sl_token_decode(token, &gid, &seq, &delivery) || gid != s->g->gid) {
        *st = SL_TOKEN_INVALID;
        return SL_OK;
    }
    sl_lease_rec lease;
    sl_err rc = lease_seek(s->leases, gid, seq, &lease);
    *st = SL_TOKEN_GONE;
    if (rc == SL_ERR_NOT_FOUND)
        return SL_OK;
    if (rc != SL_OK)
        return rc;
    *st = SL_TOKEN_STALE;
    if ((uint32_t)lease.delivery != delivery)
        return SL_OK;
    if (s->kind == SL_SETTLE_EXTEND && lease.state == SL_LEASE_WAITING)
        return SL_OK;
    *st = SL_TOKEN_OK;
    switch (s->kind) {
    case SL_SETTLE_ACK:
        return settle_ack(s, seq, &lease);
    case SL_SETTLE_NACK:
        return settle_nack(s, seq, &lease);
    case SL_SETTLE_EXTEND:
        return settle_extend(s, seq, &lease);
    case SL_SETTLE_TERM:
        return settle_term(s, seq, &lease);
    }
    *st = SL_TOKEN_INVALID;
    return SL_OK;
}

static bool kind_ok(sl_settle_kind kind)
{
    int k = (int)kind;
    return k >= SL_SETTLE_ACK && k <= SL_SETTLE_TERM;
}

sl_err sl_settle_begin(sl_txn *w, const char *group, sl_settle_session *ss)
{
    if (!is_write(w) || !ss)
        return SL_ERR_INVALID;
    memset(ss, 0, sizeof *ss);
    sl_err rc = sl_group_rec_load(w, group, &ss->g);
    if (rc != SL_OK)
        return rc;
    int mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_LEASES), &ss->leases);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    ss->w = w;
    return SL_OK;
}

sl_err sl_settle_step(sl_settle_session *ss, sl_settle_kind kind, sl_slice token,
                      uint64_t delay_ms, sl_slice reason, uint64_t now_ms,
                      sl_token_status *status)
{
    if (!ss || !ss->w || !status || !kind_ok(kind) || (!reason.ptr && reason.len))
        return SL_ERR_INVALID;
    settle_run s = {ss->w, ss->leases, &ss->g, kind, delay_ms, sl_reason_cut(reason), now_ms};
    sl_err rc = settle_one(&s, token, status);
    /* a failed step may have changed the group half way: the caller aborts
     * the transaction then, so only a settled token needs the write */
    if (rc == SL_OK && *status == SL_TOKEN_OK && kind != SL_SETTLE_EXTEND)
        ss->changed = true;
    return rc;
}

sl_err sl_settle_end(sl_settle_session *ss)
{
    if (!ss || !ss->w)
        return SL_OK;
    sl_err rc = ss->changed ? sl_group_rec_save(ss->w, &ss->g) : SL_OK;
    mdb_cursor_close(ss->leases);
    ss->leases = NULL;
    ss->w = NULL;
    ss->changed = false;
    return rc;
}

sl_err sl_lease_settle(sl_txn *w, const char *group, sl_settle_kind kind,
                       const sl_slice *tokens, size_t n, uint64_t delay_ms,
                       sl_slice reason, uint64_t now_ms, sl_token_status *status)
{
    if (!is_write(w) || !kind_ok(kind) || !tokens || !status || n < 1 ||
        (!reason.ptr && reason.len))
        return SL_ERR_INVALID;
    if (n > SL_SETTLE_BATCH_MAX)
        return SL_ERR_TOO_LARGE;
    sl_settle_session ss;
    sl_err rc = sl_settle_begin(w, group, &ss);
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_settle_step(&ss, kind, tokens[i], delay_ms, reason, now_ms, &status[i]);
    sl_err saved = rc == SL_OK ? sl_settle_end(&ss) : SL_OK;
    return rc == SL_OK ? saved : rc;
}

/* ---- expire ------------------------------------------------------------------ */

/* Move the spent, due leases of group g to its DLQ, at most *budget (which
 * is decremented), looking past at most DUE_SCAN_MAX due leases that are not
 * spent. *changed tells whether g needs writing back. */
/* The spent leases of batch entry e (due): dead-letter them, within the
 * budget; the rest count as skipped. The entry is left for the next pull. */
static sl_err expire_batch(sl_txn *w, MDB_cursor *leases, sl_group_rec *g, const due_entry *e,
                           uint64_t now_ms, size_t *budget, bool *changed, unsigned *skipped)
{
    uint64_t from = e->seq;
    while (*budget > 0 && *skipped < DUE_SCAN_MAX) {
        uint64_t seq;
        sl_lease_rec lease;
        bool found;
        sl_err rc = batch_next(leases, g->gid, e->due_ms, from, e->last, &seq, &lease, &found);
        if (rc != SL_OK || !found)
            return rc;
        if (spent(g, &lease)) {
            rc = dead_letter(w, g, seq, &lease, (sl_slice){NULL, 0}, now_ms);
            if (rc != SL_OK)
                return rc;
            *changed = true;
            (*budget)--;
        } else {
            (*skipped)++;
        }
        if (seq == e->last)
            return SL_OK;
        from = seq + 1;
    }
    return SL_OK;
}

static sl_err expire_group(sl_txn *w, MDB_cursor *due, MDB_cursor *leases, sl_group_rec *g,
                           uint64_t now_ms, size_t *budget, bool *changed)
{
    due_pos pos;
    due_start(&pos, g->gid);
    *changed = false;
    unsigned skipped = 0;
    while (*budget > 0 && skipped < DUE_SCAN_MAX) {
        due_entry e;
        bool found;
        sl_err rc = due_seek(due, &pos, g->gid, &e, &found);
        if (rc != SL_OK || !found || e.due_ms > now_ms)
            return rc;
        if (e.batch) {
            rc = expire_batch(w, leases, g, &e, now_ms, budget, changed, &skipped);
            if (rc != SL_OK)
                return rc;
            continue;
        }
        sl_lease_rec lease;
        rc = sl_lease_rec_get(w, g->gid, e.seq, &lease);
        if (rc == SL_OK && lease.due_ms == e.due_ms && !lease.batch && spent(g, &lease)) {
            rc = dead_letter(w, g, e.seq, &lease, (sl_slice){NULL, 0}, now_ms);
            *changed = true;
            (*budget)--;
        } else {
            skipped++;
        }
        if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
            return rc;
    }
    return SL_OK;
}

/* Position groups cursor c on the first group after name (or the first group
 * when name is empty). *found is false past the last one. */
static sl_err next_group(MDB_cursor *c, const char *name, MDB_val *k, MDB_val *v, bool *found)
{
    char after[SL_GROUP_NAME_MAX + 2];
    size_t n = strlen(name);
    memcpy(after, name, n);
    after[n] = '\0'; /* name + NUL: the smallest key greater than name */
    k->mv_size = n + 1;
    k->mv_data = after;
    int rc = n ? mdb_cursor_get(c, k, v, MDB_SET_RANGE) : mdb_cursor_get(c, k, v, MDB_FIRST);
    *found = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

static sl_err expire_all(sl_txn *w, MDB_cursor *groups, MDB_cursor *due, MDB_cursor *leases,
                         uint64_t now_ms, size_t *budget)
{
    char name[SL_GROUP_NAME_MAX + 1] = "";
    sl_group_rec g;
    while (*budget > 0) {
        MDB_val k, v;
        bool found, changed;
        sl_err rc = next_group(groups, name, &k, &v, &found);
        if (rc != SL_OK || !found)
            return rc;
        if (k.mv_size < 1 || k.mv_size > SL_GROUP_NAME_MAX)
            return SL_ERR_CORRUPT;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        rc = sl_group_rec_load(w, name, &g);
        if (rc == SL_OK)
            rc = expire_group(w, due, leases, &g, now_ms, budget, &changed);
        if (rc == SL_OK && changed)
            rc = sl_group_rec_save(w, &g);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

sl_err sl_lease_expire(sl_txn *w, uint64_t now_ms, size_t max_moves, size_t *moved)
{
    if (!is_write(w) || !moved)
        return SL_ERR_INVALID;
    *moved = 0;
    MDB_cursor *groups, *due, *leases;
    int mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_GROUPS), &groups);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_DUE), &due);
    if (mrc != 0) {
        mdb_cursor_close(groups);
        return sl_err_from_mdb(mrc);
    }
    mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_LEASES), &leases);
    if (mrc != 0) {
        mdb_cursor_close(due);
        mdb_cursor_close(groups);
        return sl_err_from_mdb(mrc);
    }
    size_t budget = max_moves;
    sl_err rc = expire_all(w, groups, due, leases, now_ms, &budget);
    mdb_cursor_close(leases);
    mdb_cursor_close(due);
    mdb_cursor_close(groups);
    *moved = max_moves - budget;
    return rc;
}
