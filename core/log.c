/* log.c: the append-only event log, topic statistics and idempotency keys
 * (see log.h). Record and key layouts are in core/FORMAT.md; the code below
 * must agree with it byte for byte.
 *
 * Sections: event record codec, log state, topic statistics, idempotency
 * keys, append, reads, trim.
 */
#include "log.h"

#include <string.h>

#include "bytes.h"
#include "db.h"
#include "topic.h"

/* ---- event record codec ------------------------------------------------ */

#define SL_EVENT_RECORD_VERSION 1
#define REC_FIXED_LEN 22 /* version, flags, ts, 4 length bytes, 2 u32 lengths */
#define REC_OFF_TS 2
#define REC_OFF_TOPIC_LEN 10
#define REC_OFF_CT_LEN 11
#define REC_OFF_KEY_LEN 12
#define REC_OFF_NHEADERS 13
#define REC_OFF_HEADERS_LEN 14
#define REC_OFF_PAYLOAD_LEN 18
#define SEQ_KEY_LEN 8

/* Bytes of the encoded headers block of ev: per header u16 key length, key,
 * u16 value length, value. */
static size_t headers_block_len(const sl_event_in *ev)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->nheaders; i++)
        n += 4 + ev->headers[i].key.len + ev->headers[i].value.len;
    return n;
}

/* The "bytes" an event counts for in the log and topic statistics. */
static uint64_t event_in_bytes(const sl_event_in *ev)
{
    return ev->payload.len + ev->topic.len + ev->content_type.len + headers_block_len(ev);
}

static uint64_t event_view_bytes(const sl_event_view *ev)
{
    return ev->payload.len + ev->topic.len + ev->content_type.len + ev->headers_raw_len;
}

static size_t record_len(const sl_event_in *ev)
{
    return REC_FIXED_LEN + ev->topic.len + ev->content_type.len + ev->idem_key.len +
           headers_block_len(ev) + ev->payload.len;
}

static uint8_t *put_bytes(uint8_t *p, sl_slice s)
{
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* Encode ev with timestamp ts into p, which holds record_len(ev) bytes. */
static void record_write(uint8_t *p, const sl_event_in *ev, uint64_t ts)
{
    p[0] = SL_EVENT_RECORD_VERSION;
    p[1] = 0; /* flags: reserved */
    sl_put_u64(p + REC_OFF_TS, ts);
    p[REC_OFF_TOPIC_LEN] = (uint8_t)ev->topic.len;
    p[REC_OFF_CT_LEN] = (uint8_t)ev->content_type.len;
    p[REC_OFF_KEY_LEN] = (uint8_t)ev->idem_key.len;
    p[REC_OFF_NHEADERS] = (uint8_t)ev->nheaders;
    sl_put_u32(p + REC_OFF_HEADERS_LEN, (uint32_t)headers_block_len(ev));
    sl_put_u32(p + REC_OFF_PAYLOAD_LEN, (uint32_t)ev->payload.len);
    p += REC_FIXED_LEN;
    p = put_bytes(p, ev->topic);
    p = put_bytes(p, ev->content_type);
    p = put_bytes(p, ev->idem_key);
    for (size_t i = 0; i < ev->nheaders; i++) {
        sl_put_u16(p, (uint16_t)ev->headers[i].key.len);
        p = put_bytes(p + 2, ev->headers[i].key);
        sl_put_u16(p, (uint16_t)ev->headers[i].value.len);
        p = put_bytes(p + 2, ev->headers[i].value);
    }
    put_bytes(p, ev->payload);
}

static sl_slice take_slice(const uint8_t **p, size_t len)
{
    sl_slice s = {(const char *)*p, len};
    *p += len;
    return s;
}

/* The headers block of out holds exactly out->nheaders well-formed headers. */
static sl_err check_headers_block(const sl_event_view *out)
{
    size_t pos = 0;
    sl_header h;
    for (uint32_t i = 0; i < out->nheaders; i++)
        if (sl_event_header_next(out, &pos, &h) != SL_OK)
            return SL_ERR_CORRUPT;
    return pos == out->headers_raw_len ? SL_OK : SL_ERR_CORRUPT;
}

/* Decode the record val stored under key into *out (slices point into val). */
static sl_err record_decode(const MDB_val *key, const MDB_val *val, sl_event_view *out)
{
    const uint8_t *p = val->mv_data;
    if (key->mv_size != SEQ_KEY_LEN || val->mv_size < REC_FIXED_LEN)
        return SL_ERR_CORRUPT;
    if (p[0] != SL_EVENT_RECORD_VERSION)
        return SL_ERR_VERSION;
    size_t topic_len = p[REC_OFF_TOPIC_LEN], ct_len = p[REC_OFF_CT_LEN];
    size_t key_len = p[REC_OFF_KEY_LEN], nheaders = p[REC_OFF_NHEADERS];
    uint64_t headers_len = sl_get_u32(p + REC_OFF_HEADERS_LEN);
    uint64_t payload_len = sl_get_u32(p + REC_OFF_PAYLOAD_LEN);
    if (topic_len == 0 || ct_len > SL_CONTENT_TYPE_MAX || key_len > SL_IDEM_KEY_MAX ||
        nheaders > SL_HEADERS_MAX)
        return SL_ERR_CORRUPT;
    if (REC_FIXED_LEN + topic_len + ct_len + key_len + headers_len + payload_len != val->mv_size)
        return SL_ERR_CORRUPT;
    memset(out, 0, sizeof *out);
    out->seq = sl_get_u64(key->mv_data);
    out->ts_ms = sl_get_u64(p + REC_OFF_TS);
    p += REC_FIXED_LEN;
    out->topic = take_slice(&p, topic_len);
    out->content_type = take_slice(&p, ct_len);
    out->idem_key = take_slice(&p, key_len);
    out->nheaders = (uint32_t)nheaders;
    out->headers_raw = p;
    out->headers_raw_len = (size_t)headers_len;
    p += headers_len;
    out->payload = take_slice(&p, (size_t)payload_len);
    return check_headers_block(out);
}

/* Only the timestamp of a record (for searches by time). */
static sl_err record_ts(const MDB_val *val, uint64_t *ts)
{
    if (val->mv_size < REC_FIXED_LEN)
        return SL_ERR_CORRUPT;
    *ts = sl_get_u64((const uint8_t *)val->mv_data + REC_OFF_TS);
    return SL_OK;
}

/* ---- input validation -------------------------------------------------- */

/* A slice with a NULL pointer but a length is invalid; over max too large. */
static sl_err check_slice(sl_slice s, size_t max)
{
    if (s.len && !s.ptr)
        return SL_ERR_INVALID;
    return s.len > max ? SL_ERR_TOO_LARGE : SL_OK;
}

static sl_err check_headers(const sl_event_in *ev)
{
    if (ev->nheaders > SL_HEADERS_MAX)
        return SL_ERR_TOO_LARGE;
    if (ev->nheaders && !ev->headers)
        return SL_ERR_INVALID;
    for (size_t i = 0; i < ev->nheaders; i++) {
        const sl_header *h = &ev->headers[i];
        if (h->key.len == 0)
            return SL_ERR_INVALID;
        sl_err rc = check_slice(h->key, SL_HEADER_KEY_MAX);
        if (rc == SL_OK)
            rc = check_slice(h->value, SL_HEADER_VALUE_MAX);
        if (rc != SL_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (sl_slice_eq(ev->headers[j].key, h->key))
                return SL_ERR_INVALID; /* a header key given twice */
    }
    return SL_OK;
}

static sl_err check_event(const sl_event_in *ev, uint64_t max_payload)
{
    if (!sl_topic_valid(ev->topic))
        return SL_ERR_INVALID;
    sl_err rc = check_slice(ev->payload, max_payload);
    if (rc == SL_OK)
        rc = check_slice(ev->content_type, SL_CONTENT_TYPE_MAX);
    if (rc == SL_OK)
        rc = check_slice(ev->idem_key, SL_IDEM_KEY_MAX);
    if (rc == SL_OK)
        rc = check_headers(ev);
    return rc;
}

/* ---- log state (meta "log_state") -------------------------------------- */

#define LOG_STATE_KEY "log_state"
#define LOG_STATE_LEN 32

typedef struct log_state {
    uint64_t next_seq; /* sequence the next appended event gets (from 1) */
    uint64_t last_ts;  /* timestamp of the newest append (never decreases) */
    uint64_t events;   /* retained events */
    uint64_t bytes;    /* retained bytes (see event_in_bytes) */
} log_state;

static MDB_val state_key(void)
{
    MDB_val k = {sizeof LOG_STATE_KEY - 1, (void *)LOG_STATE_KEY};
    return k;
}

static sl_err state_load(sl_txn *t, log_state *st)
{
    MDB_val k = state_key(), v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_META), &k, &v);
    if (rc == MDB_NOTFOUND) {
        st->next_seq = 1;
        st->last_ts = st->events = st->bytes = 0;
        return SL_OK;
    }
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != LOG_STATE_LEN)
        return SL_ERR_CORRUPT;
    const uint8_t *p = v.mv_data;
    st->next_seq = sl_get_u64(p);
    st->last_ts = sl_get_u64(p + 8);
    st->events = sl_get_u64(p + 16);
    st->bytes = sl_get_u64(p + 24);
    return st->next_seq ? SL_OK : SL_ERR_CORRUPT;
}

static sl_err state_save(sl_txn *w, const log_state *st)
{
    uint8_t buf[LOG_STATE_LEN];
    sl_put_u64(buf, st->next_seq);
    sl_put_u64(buf + 8, st->last_ts);
    sl_put_u64(buf + 16, st->events);
    sl_put_u64(buf + 24, st->bytes);
    MDB_val k = state_key(), v = {sizeof buf, buf};
    return sl_err_from_mdb(mdb_put(w->txn, sl_dbi(w, SL_DB_META), &k, &v, 0));
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* ---- topic statistics -------------------------------------------------- */

#define TOPIC_REC_LEN 32
#define TOPIC_TABLE_SIZE 32 /* distinct topics gathered before a flush */

typedef struct topic_rec {
    uint64_t events;    /* retained events of the topic */
    uint64_t bytes;     /* their bytes */
    uint64_t first_seq; /* oldest retained event (a lower bound after a trim) */
    uint64_t last_seq;  /* newest event */
} topic_rec;

/* What one batch (append or trim) does to one topic. */
typedef struct topic_delta {
    size_t name_len;             /* bytes used in name */
    char name[SL_TOPIC_MAX];     /* the topic (a copy: trims delete the source) */
    topic_rec d;                 /* events, bytes, lowest and highest seq touched */
} topic_delta;

/* The distinct topics of a batch, on the stack: no allocation per event. */
typedef struct topic_table {
    size_t n;                              /* entries in use */
    bool removing;                         /* trim (subtract) rather than append (add) */
    topic_delta e[TOPIC_TABLE_SIZE];       /* the entries */
} topic_table;

static sl_err topic_rec_get(sl_txn *t, MDB_val *key, topic_rec *out, bool *found)
{
    MDB_val v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_TOPICS), key, &v);
    *found = rc == MDB_SUCCESS;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != TOPIC_REC_LEN)
        return SL_ERR_CORRUPT;
    const uint8_t *p = v.mv_data;
    out->events = sl_get_u64(p);
    out->bytes = sl_get_u64(p + 8);
    out->first_seq = sl_get_u64(p + 16);
    out->last_seq = sl_get_u64(p + 24);
    return SL_OK;
}

static sl_err topic_rec_put(sl_txn *w, MDB_val *key, const topic_rec *r)
{
    uint8_t buf[TOPIC_REC_LEN];
    sl_put_u64(buf, r->events);
    sl_put_u64(buf + 8, r->bytes);
    sl_put_u64(buf + 16, r->first_seq);
    sl_put_u64(buf + 24, r->last_seq);
    MDB_val v = {sizeof buf, buf};
    return sl_err_from_mdb(mdb_put(w->txn, sl_dbi(w, SL_DB_TOPICS), key, &v, 0));
}

/* Apply one delta to the stored statistics of its topic. */
static sl_err topic_apply(sl_txn *w, const topic_delta *td, bool removing)
{
    MDB_val key = {td->name_len, (void *)td->name};
    topic_rec r = {0};
    bool found;
    sl_err rc = topic_rec_get(w, &key, &r, &found);
    if (rc != SL_OK)
        return rc;
    if (!removing) {
        if (!found || r.events == 0)
            r.first_seq = td->d.first_seq;
        r.events += td->d.events;
        r.bytes += td->d.bytes;
        r.last_seq = td->d.last_seq;
        return topic_rec_put(w, &key, &r);
    }
    if (!found)
        return SL_OK; /* nothing to subtract from */
    r.events = sub_sat(r.events, td->d.events);
    r.bytes = sub_sat(r.bytes, td->d.bytes);
    if (r.events == 0)
        return sl_err_from_mdb(mdb_del(w->txn, sl_dbi(w, SL_DB_TOPICS), &key, NULL));
    if (r.first_seq <= td->d.last_seq)
        r.first_seq = td->d.last_seq + 1; /* a lower bound: see FORMAT.md */
    return topic_rec_put(w, &key, &r);
}

static sl_err topic_table_flush(sl_txn *w, topic_table *tt)
{
    for (size_t i = 0; i < tt->n; i++) {
        sl_err rc = topic_apply(w, &tt->e[i], tt->removing);
        if (rc != SL_OK)
            return rc;
    }
    tt->n = 0;
    return SL_OK;
}

/* Count one event (seq, bytes) of topic into the table, flushing when full. */
static sl_err topic_table_note(sl_txn *w, topic_table *tt, sl_slice topic, uint64_t seq,
                               uint64_t bytes)
{
    topic_delta *td = NULL;
    for (size_t i = 0; i < tt->n && !td; i++)
        if (tt->e[i].name_len == topic.len && memcmp(tt->e[i].name, topic.ptr, topic.len) == 0)
            td = &tt->e[i];
    if (!td) {
        if (tt->n == TOPIC_TABLE_SIZE) {
            sl_err rc = topic_table_flush(w, tt);
            if (rc != SL_OK)
                return rc;
        }
        td = &tt->e[tt->n++];
        td->name_len = topic.len;
        memcpy(td->name, topic.ptr, topic.len);
        memset(&td->d, 0, sizeof td->d);
        td->d.first_seq = seq;
    }
    td->d.events++;
    td->d.bytes += bytes;
    td->d.last_seq = seq;
    return SL_OK;
}

/* ---- idempotency keys -------------------------------------------------- */

#define IDEM_REC_LEN 16
#define IDEM_EXP_KEY_MAX (8 + SL_IDEM_KEY_MAX)

typedef struct idem_rec {
    uint64_t seq; /* the event the key was first published with */
    uint64_t ts;  /* its timestamp: the dedupe window starts here */
} idem_rec;

static sl_err idem_get(sl_txn *t, sl_slice key, idem_rec *out, bool *found)
{
    MDB_val k = {key.len, (void *)key.ptr}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_IDEM), &k, &v);
    *found = rc == MDB_SUCCESS;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != IDEM_REC_LEN)
        return SL_ERR_CORRUPT;
    out->seq = sl_get_u64(v.mv_data);
    out->ts = sl_get_u64((const uint8_t *)v.mv_data + 8);
    return SL_OK;
}

static MDB_val idem_exp_key(uint8_t buf[IDEM_EXP_KEY_MAX], uint64_t ts, sl_slice key)
{
    sl_put_u64(buf, ts);
    memcpy(buf + 8, key.ptr, key.len);
    MDB_val k = {8 + key.len, buf};
    return k;
}

/* Record key -> (seq, ts), replacing old (if any) and its expiry entry. */
static sl_err idem_put(sl_txn *w, sl_slice key, const idem_rec *rec, const idem_rec *old)
{
    uint8_t kbuf[IDEM_EXP_KEY_MAX];
    MDB_val none = {0, (void *)""};
    if (old) {
        MDB_val ek = idem_exp_key(kbuf, old->ts, key);
        int rc = mdb_del(w->txn, sl_dbi(w, SL_DB_IDEM_EXP), &ek, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return sl_err_from_mdb(rc);
    }
    uint8_t vbuf[IDEM_REC_LEN];
    sl_put_u64(vbuf, rec->seq);
    sl_put_u64(vbuf + 8, rec->ts);
    MDB_val k = {key.len, (void *)key.ptr}, v = {sizeof vbuf, vbuf};
    int rc = mdb_put(w->txn, sl_dbi(w, SL_DB_IDEM), &k, &v, 0);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    MDB_val ek = idem_exp_key(kbuf, rec->ts, key);
    return sl_err_from_mdb(mdb_put(w->txn, sl_dbi(w, SL_DB_IDEM_EXP), &ek, &none, 0));
}

/* True when a key first seen at seen_ts is still a duplicate at ts. */
static bool idem_live(uint64_t seen_ts, uint64_t ts, uint64_t window)
{
    return seen_ts > ts || ts - seen_ts < window;
}

/* Drop at most budget idempotency keys whose window ended by now_ms. */
static sl_err idem_expire(sl_txn *w, uint64_t now_ms, uint64_t window, size_t budget)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_IDEM_EXP), &cur);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    sl_err err = SL_OK;
    for (size_t done = 0; done < budget && err == SL_OK; done++) {
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND)
            break;
        if (rc != MDB_SUCCESS || k.mv_size <= 8 || k.mv_size > IDEM_EXP_KEY_MAX) {
            err = rc != MDB_SUCCESS ? sl_err_from_mdb(rc) : SL_ERR_CORRUPT;
            break;
        }
        uint8_t kbuf[IDEM_EXP_KEY_MAX]; /* a copy: the deletes below move pages */
        memcpy(kbuf, k.mv_data, k.mv_size);
        uint64_t ts = sl_get_u64(kbuf);
        if (idem_live(ts, now_ms, window))
            break;
        sl_slice key = {(const char *)kbuf + 8, k.mv_size - 8};
        idem_rec cur_rec;
        bool found;
        err = idem_get(w, key, &cur_rec, &found);
        if (err == SL_OK && found && cur_rec.ts == ts) {
            MDB_val ik = {key.len, (void *)key.ptr};
            err = sl_err_from_mdb(mdb_del(w->txn, sl_dbi(w, SL_DB_IDEM), &ik, NULL));
        }
        if (err == SL_OK)
            err = sl_err_from_mdb(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    return err;
}

/* ---- append ------------------------------------------------------------ */

/* Everything one append batch works with. */
typedef struct append_ctx {
    sl_txn *w;              /* the caller's write transaction */
    MDB_cursor *events;     /* cursor on SL_DB_EVENTS for MDB_APPEND */
    log_state st;           /* log state, saved once at the end */
    uint64_t ts;            /* the batch's timestamp */
    uint64_t window;        /* dedupe window, ms */
    topic_table topics;     /* per-topic deltas of the batch */
} append_ctx;

static sl_err append_record(append_ctx *c, const sl_event_in *ev, uint64_t seq)
{
    uint8_t kbuf[SEQ_KEY_LEN];
    sl_put_u64(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf}, v = {record_len(ev), NULL};
    int rc = mdb_cursor_put(c->events, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return SL_ERR_CORRUPT; /* the log state is behind the stored events */
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    record_write(v.mv_data, ev, c->ts);
    return SL_OK;
}

/* Append one (valid) event, or find it is a duplicate. */
static sl_err append_one(append_ctx *c, const sl_event_in *ev, sl_append_result *out)
{
    idem_rec old;
    bool has_old = false;
    if (ev->idem_key.len) {
        sl_err rc = idem_get(c->w, ev->idem_key, &old, &has_old);
        if (rc != SL_OK)
            return rc;
        if (has_old && idem_live(old.ts, c->ts, c->window)) {
            out->seq = old.seq;
            out->ts_ms = old.ts;
            out->duplicate = true;
            return SL_OK;
        }
    }
    if (c->st.next_seq == UINT64_MAX)
        return SL_ERR_STORAGE; /* sequence space exhausted */
    uint64_t seq = c->st.next_seq;
    sl_err rc = append_record(c, ev, seq);
    if (rc == SL_OK && ev->idem_key.len) {
        idem_rec rec = {seq, c->ts};
        rc = idem_put(c->w, ev->idem_key, &rec, has_old ? &old : NULL);
    }
    uint64_t bytes = event_in_bytes(ev);
    if (rc == SL_OK)
        rc = topic_table_note(c->w, &c->topics, ev->topic, seq, bytes);
    if (rc != SL_OK)
        return rc;
    c->st.next_seq++;
    c->st.events++;
    c->st.bytes += bytes;
    out->seq = seq;
    out->ts_ms = c->ts;
    out->duplicate = false;
    return SL_OK;
}

static sl_err check_batch(const sl_store_options *opt, const sl_event_in *events, size_t n,
                          size_t *bad_index)
{
    for (size_t i = 0; i < n; i++) {
        sl_err rc = check_event(&events[i], opt->max_payload_bytes);
        if (rc != SL_OK) {
            if (bad_index)
                *bad_index = i;
            return rc;
        }
    }
    return SL_OK;
}

sl_err sl_log_append(sl_txn *w, const sl_event_in *events, size_t n, uint64_t now_ms,
                     sl_append_result *out, size_t *bad_index)
{
    if (bad_index)
        *bad_index = SIZE_MAX;
    if (!w || !w->txn || !w->write || !events || !out || n == 0 || n > SL_PUBLISH_BATCH_MAX)
        return SL_ERR_INVALID;
    const sl_store_options *opt = sl_store_options_of(w->store);
    sl_err rc = check_batch(opt, events, n, bad_index);
    if (rc != SL_OK)
        return rc;
    append_ctx c;
    c.w = w;
    c.window = opt->dedupe_window_ms;
    c.topics.n = 0;
    c.topics.removing = false;
    rc = state_load(w, &c.st);
    if (rc != SL_OK)
        return rc;
    c.ts = now_ms > c.st.last_ts ? now_ms : c.st.last_ts;
    int mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_EVENTS), &c.events);
    if (mrc != MDB_SUCCESS)
        return sl_err_from_mdb(mrc);
    uint64_t before = c.st.next_seq;
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = append_one(&c, &events[i], &out[i]);
    mdb_cursor_close(c.events);
    if (rc == SL_OK && c.st.next_seq != before) {
        rc = topic_table_flush(w, &c.topics);
        c.st.last_ts = c.ts;
        if (rc == SL_OK)
            rc = state_save(w, &c.st);
    }
    return rc;
}

/* ---- reads ------------------------------------------------------------- */

static bool txn_ok(const sl_txn *t)
{
    return t && t->txn && t->store;
}

/* The seq of the first or last (op) event into *seq; 0 when the log is empty. */
static sl_err edge_seq(MDB_cursor *cur, MDB_cursor_op op, uint64_t *seq)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, op);
    *seq = 0;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (k.mv_size != SEQ_KEY_LEN)
        return SL_ERR_CORRUPT;
    *seq = sl_get_u64(k.mv_data);
    return SL_OK;
}

sl_err sl_log_get_bounds(sl_txn *t, sl_log_bounds *out)
{
    if (!txn_ok(t) || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    log_state st;
    sl_err rc = state_load(t, &st);
    if (rc != SL_OK)
        return rc;
    out->next_seq = st.next_seq;
    out->events = st.events;
    out->bytes = st.bytes;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_EVENTS), &cur);
    if (mrc != MDB_SUCCESS)
        return sl_err_from_mdb(mrc);
    rc = edge_seq(cur, MDB_FIRST, &out->first_seq);
    if (rc == SL_OK)
        rc = edge_seq(cur, MDB_LAST, &out->last_seq);
    mdb_cursor_close(cur);
    return rc;
}

sl_err sl_log_get(sl_txn *t, uint64_t seq, sl_event_view *out)
{
    if (!txn_ok(t) || !out)
        return SL_ERR_INVALID;
    uint8_t kbuf[SEQ_KEY_LEN];
    sl_put_u64(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_EVENTS), &k, &v);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    return record_decode(&k, &v, out);
}

/* Position cur at the first event with seq >= seq: its seq and ts. */
static sl_err seek_ts(MDB_cursor *cur, uint64_t seq, uint64_t *found_seq, uint64_t *ts)
{
    uint8_t kbuf[SEQ_KEY_LEN];
    sl_put_u64(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (k.mv_size != SEQ_KEY_LEN)
        return SL_ERR_CORRUPT;
    *found_seq = sl_get_u64(k.mv_data);
    return record_ts(&v, ts);
}

/* Binary search over [lo, hi) (hi = last + 1) for the first event with
 * timestamp >= ts_ms; keys may have gaps, so each probe lands on the first
 * existing key at or after its midpoint. */
static sl_err search_time(MDB_cursor *cur, uint64_t lo, uint64_t hi, uint64_t ts_ms,
                          uint64_t *best)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, k = 0, ts = 0;
        sl_err rc = seek_ts(cur, mid, &k, &ts);
        if (rc != SL_OK)
            return rc;
        if (ts >= ts_ms) {
            *best = k;
            hi = mid;
        } else {
            lo = k + 1;
        }
    }
    return SL_OK;
}

sl_err sl_log_seq_at_time(sl_txn *t, uint64_t ts_ms, uint64_t *seq_out)
{
    if (!txn_ok(t) || !seq_out)
        return SL_ERR_INVALID;
    sl_log_bounds b;
    sl_err rc = sl_log_get_bounds(t, &b);
    if (rc != SL_OK)
        return rc;
    *seq_out = b.next_seq;
    if (b.first_seq == 0)
        return SL_OK;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_EVENTS), &cur);
    if (mrc != MDB_SUCCESS)
        return sl_err_from_mdb(mrc);
    uint64_t best = b.next_seq;
    rc = search_time(cur, b.first_seq, b.last_seq + 1, ts_ms, &best);
    mdb_cursor_close(cur);
    if (rc == SL_OK)
        *seq_out = best;
    return rc == SL_ERR_NOT_FOUND ? SL_ERR_CORRUPT : rc;
}

sl_err sl_log_iter_open(sl_txn *t, uint64_t from_seq, sl_log_iter *it)
{
    if (!it)
        return SL_ERR_INVALID;
    memset(it, 0, sizeof *it);
    if (!txn_ok(t))
        return SL_ERR_INVALID;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_EVENTS), &cur);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    it->txn = t;
    it->cursor = cur;
    it->next = from_seq;
    it->started = false;
    return SL_OK;
}

sl_err sl_log_iter_next(sl_log_iter *it, sl_event_view *out)
{
    if (!it || !it->cursor || !out)
        return SL_ERR_INVALID;
    uint8_t kbuf[SEQ_KEY_LEN];
    sl_put_u64(kbuf, it->next);
    MDB_val k = {sizeof kbuf, kbuf}, v;
    int rc = mdb_cursor_get(it->cursor, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return SL_ERR_END;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    it->started = true;
    sl_err err = record_decode(&k, &v, out);
    if (err == SL_OK)
        it->next = out->seq + 1;
    return err;
}

void sl_log_iter_close(sl_log_iter *it)
{
    if (!it)
        return;
    if (it->cursor)
        mdb_cursor_close(it->cursor);
    it->cursor = NULL;
    it->txn = NULL;
}

static sl_err topic_visit(const MDB_val *k, const MDB_val *v, sl_topic_cb cb, void *ctx)
{
    if (k->mv_size == 0 || k->mv_size > SL_TOPIC_MAX || v->mv_size != TOPIC_REC_LEN)
        return SL_ERR_CORRUPT;
    const uint8_t *p = v->mv_data;
    sl_topic_info info;
    info.name.ptr = k->mv_data;
    info.name.len = k->mv_size;
    info.events = sl_get_u64(p);
    info.bytes = sl_get_u64(p + 8);
    info.first_seq = sl_get_u64(p + 16);
    info.last_seq = sl_get_u64(p + 24);
    return info.events ? cb(ctx, &info) : SL_OK;
}

sl_err sl_topics_each(sl_txn *t, sl_topic_cb cb, void *ctx)
{
    if (!txn_ok(t) || !cb)
        return SL_ERR_INVALID;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_TOPICS), &cur);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    sl_err err = SL_OK;
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST; err == SL_OK; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        if (rc != MDB_SUCCESS) {
            err = rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
            break;
        }
        err = topic_visit(&k, &v, cb, ctx);
    }
    mdb_cursor_close(cur);
    return err;
}

/* ---- trim -------------------------------------------------------------- */

/* True when the log, holding st, with the oldest event at ts, is over a
 * retention limit of r at now_ms. */
static bool over_retention(const sl_retention *r, const log_state *st, uint64_t ts,
                           uint64_t now_ms)
{
    if (r->max_age_ms && now_ms > r->max_age_ms && ts < now_ms - r->max_age_ms)
        return true;
    if (r->max_bytes && st->bytes > r->max_bytes)
        return true;
    return r->max_events && st->events > r->max_events;
}

/* Everything one trim works with. */
typedef struct trim_ctx {
    sl_txn *w;                  /* the caller's write transaction */
    MDB_cursor *events;         /* cursor on SL_DB_EVENTS */
    const sl_retention *ret;    /* the store's retention limits */
    log_state st;               /* log state, saved once at the end */
    topic_table topics;         /* per-topic deletions */
} trim_ctx;

/* Delete the head event if a limit asks for it and the floor allows it.
 * *done is set when trimming must stop. */
static sl_err trim_head(trim_ctx *c, uint64_t now_ms, uint64_t floor_seq, bool *done)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c->events, &k, &v, MDB_FIRST);
    *done = true;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    sl_event_view ev;
    sl_err err = record_decode(&k, &v, &ev);
    if (err != SL_OK)
        return err;
    if (ev.seq >= floor_seq || !over_retention(c->ret, &c->st, ev.ts_ms, now_ms))
        return SL_OK;
    uint64_t bytes = event_view_bytes(&ev);
    /* Copy the topic first: writes (a table flush) may move the page it is on. */
    char name[SL_TOPIC_MAX];
    if (ev.topic.len > sizeof name)
        return SL_ERR_CORRUPT;
    memcpy(name, ev.topic.ptr, ev.topic.len);
    sl_slice topic = {name, ev.topic.len};
    err = topic_table_note(c->w, &c->topics, topic, ev.seq, bytes);
    if (err != SL_OK)
        return err;
    rc = mdb_cursor_del(c->events, 0);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    c->st.events = sub_sat(c->st.events, 1);
    c->st.bytes = sub_sat(c->st.bytes, bytes);
    *done = false;
    return SL_OK;
}

sl_err sl_log_trim(sl_txn *w, uint64_t now_ms, uint64_t floor_seq, size_t max_delete,
                   size_t *deleted)
{
    if (deleted)
        *deleted = 0;
    if (!txn_ok(w) || !w->write)
        return SL_ERR_INVALID;
    const sl_store_options *opt = sl_store_options_of(w->store);
    trim_ctx c;
    c.w = w;
    c.ret = &opt->retention;
    c.topics.n = 0;
    c.topics.removing = true;
    sl_err rc = state_load(w, &c.st);
    if (rc != SL_OK)
        return rc;
    int mrc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_EVENTS), &c.events);
    if (mrc != MDB_SUCCESS)
        return sl_err_from_mdb(mrc);
    size_t n = 0;
    bool done = false;
    while (n < max_delete && !done && rc == SL_OK) {
        rc = trim_head(&c, now_ms, floor_seq, &done);
        if (rc == SL_OK && !done)
            n++;
    }
    mdb_cursor_close(c.events);
    if (rc == SL_OK && n) {
        rc = topic_table_flush(w, &c.topics);
        if (rc == SL_OK)
            rc = state_save(w, &c.st);
    }
    if (rc == SL_OK)
        rc = idem_expire(w, now_ms, opt->dedupe_window_ms, max_delete);
    if (rc == SL_OK && deleted)
        *deleted = n;
    return rc;
}
