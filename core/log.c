/* log.c: the append-only event log, topic statistics and idempotency keys
 * (see log.h). Events are stored in chunks (core/chunk.h) in the "chunks"
 * database; the layouts are in core/FORMAT.md and the code below must agree
 * with it byte for byte.
 *
 * Sections: input validation, topic statistics, idempotency keys, chunk
 * lookup, append, reads, trim.
 */
#include "log.h"

#include <string.h>

#include "bytes.h"
#include "chunk.h"
#include "db.h"
#include "log_state.h"
#include "topic.h"

#define SEQ_KEY_LEN 8
#define TAIL_COPY_MAX 4080 /* largest small tail chunk rewritten by an append */

/* The "bytes" an event counts for in the log and topic statistics. */
static uint64_t event_in_bytes(const sl_event_in *ev)
{
    return ev->payload.len + ev->topic.len + ev->content_type.len + sl_chunk_headers_len(ev);
}

static uint64_t event_view_bytes(const sl_event_view *ev)
{
    return ev->payload.len + ev->topic.len + ev->content_type.len + ev->headers_raw_len;
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
    return sl_err_from_mdb(sl_db_put(w, SL_DB_TOPICS, key, &v, 0));
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
        return sl_err_from_mdb(sl_db_del(w, SL_DB_TOPICS, &key));
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
        int rc = sl_db_del(w, SL_DB_IDEM_EXP, &ek);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return sl_err_from_mdb(rc);
    }
    uint8_t vbuf[IDEM_REC_LEN];
    sl_put_u64(vbuf, rec->seq);
    sl_put_u64(vbuf + 8, rec->ts);
    MDB_val k = {key.len, (void *)key.ptr}, v = {sizeof vbuf, vbuf};
    int rc = sl_db_put(w, SL_DB_IDEM, &k, &v, 0);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    MDB_val ek = idem_exp_key(kbuf, rec->ts, key);
    return sl_err_from_mdb(sl_db_put(w, SL_DB_IDEM_EXP, &ek, &none, 0));
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
            err = sl_err_from_mdb(sl_db_del(w, SL_DB_IDEM, &ik));
        }
        if (err == SL_OK)
            err = sl_err_from_mdb(sl_db_cursor_del(w, SL_DB_IDEM_EXP, cur));
    }
    mdb_cursor_close(cur);
    return err;
}

/* ---- chunk lookup ------------------------------------------------------ */

static sl_err chunk_at(const MDB_val *k, const MDB_val *v, sl_chunk *c)
{
    return sl_chunk_parse(k->mv_data, k->mv_size, v->mv_data, v->mv_size, c);
}

/* Read the chunk under the cursor (op: MDB_FIRST, MDB_NEXT, ...) into *c.
 * SL_ERR_NOT_FOUND when there is none. */
static sl_err chunk_get(MDB_cursor *cur, MDB_cursor_op op, sl_chunk *c)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, op);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    return chunk_at(&k, &v, c);
}

static bool chunk_holds(const sl_chunk *c, uint64_t seq)
{
    return seq >= c->first_seq && seq - c->first_seq < c->count;
}

/* Position cur at the chunk holding seq or, when none does, the first chunk
 * after it. SL_ERR_NOT_FOUND when there is neither. */
static sl_err chunk_locate(MDB_cursor *cur, uint64_t seq, sl_chunk *c)
{
    uint8_t kbuf[SEQ_KEY_LEN];
    sl_put_u64(kbuf, seq);
    MDB_val k = {sizeof kbuf, kbuf}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    bool after = rc == MDB_SUCCESS;
    if (after) {
        sl_err err = chunk_at(&k, &v, c);
        if (err != SL_OK || c->first_seq == seq)
            return err;
    }
    /* the chunk before the key found (or the last one) may hold seq */
    sl_err err = chunk_get(cur, after ? MDB_PREV : MDB_LAST, c);
    if (err == SL_OK && chunk_holds(c, seq))
        return SL_OK;
    if (err != SL_OK && err != SL_ERR_NOT_FOUND)
        return err;
    if (!after)
        return SL_ERR_NOT_FOUND;
    return chunk_get(cur, err == SL_OK ? MDB_NEXT : MDB_FIRST, c);
}

static sl_err open_chunks(sl_txn *t, MDB_cursor **cur)
{
    return sl_err_from_mdb(mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_CHUNKS), cur));
}

static size_t page_size_of(sl_txn *t)
{
    MDB_stat st;
    if (mdb_env_stat(mdb_txn_env(t->txn), &st) != MDB_SUCCESS || st.ms_psize < 512)
        return 4096;
    return st.ms_psize;
}

/* ---- append ------------------------------------------------------------ */

/* Everything one append batch works with. */
typedef struct append_ctx {
    sl_txn *w;              /* the caller's write transaction */
    sl_log_state st;        /* log state, saved once at the end */
    uint64_t ts;            /* the batch's timestamp */
    uint64_t window;        /* dedupe window, ms */
    topic_table topics;     /* per-topic deltas of the batch */
} append_ctx;

/* Decide one (valid) event: a duplicate, or the next sequence. Records its
 * idempotency key and topic statistics; the event is written later, with its
 * chunk. */
static sl_err append_decide(append_ctx *c, const sl_event_in *ev, sl_append_result *out)
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
    sl_err rc = SL_OK;
    if (ev->idem_key.len) {
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

/* How the new events of one batch are cut into chunks. */
typedef struct chunk_plan {
    const sl_event_in *events;  /* the batch */
    const sl_append_result *out; /* its decisions (duplicates are skipped) */
    size_t n;                   /* events in the batch */
    size_t cap;                 /* largest chunk of several events, bytes */
    size_t small_max;           /* largest small chunk (one page), see tail_extend */
    uint64_t ts;                /* the batch's timestamp */
    sl_txn *w;                  /* the write transaction the chunks go into */
} chunk_plan;

/* From event i, take events into a chunk that starts with len bytes and
 * count events, until the next would pass the cap or the event limit (a
 * chunk takes at least one event, however large). Returns the index after
 * the last event taken; *len and *count grow. */
static size_t plan_take(const chunk_plan *p, size_t i, size_t *len, uint32_t *count)
{
    for (; i < p->n; i++) {
        if (p->out[i].duplicate)
            continue;
        size_t add = sl_chunk_entry_len_in(&p->events[i]);
        if (*count && (*len + add > p->cap || *count >= SL_CHUNK_MAX_EVENTS))
            break;
        *len += add;
        ++*count;
    }
    return i;
}

/* A small tail chunk the batch may extend (by rewriting it). */
typedef struct tail_chunk {
    bool usable;           /* present, small, and the batch may extend it */
    uint8_t key[SEQ_KEY_LEN]; /* its key */
    uint8_t copy[TAIL_COPY_MAX]; /* a copy of its value (the rewrite replaces it) */
    sl_chunk c;            /* parsed from copy */
} tail_chunk;

/* Look at the last chunk: it must end right before first_seq; keep a copy
 * when it is small enough to extend at timestamp ts. */
static sl_err tail_load(MDB_cursor *cur, const chunk_plan *p, uint64_t first_seq,
                        tail_chunk *t)
{
    MDB_val k, v;
    t->usable = false;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    sl_chunk c;
    sl_err err = chunk_at(&k, &v, &c);
    if (err != SL_OK)
        return err;
    if (c.first_seq + c.count > first_seq)
        return SL_ERR_CORRUPT; /* the log state is behind the stored events */
    if (c.first_seq + c.count != first_seq || v.mv_size > p->small_max ||
        v.mv_size > sizeof t->copy || c.count >= SL_CHUNK_MAX_EVENTS ||
        p->ts - c.first_ts > SL_CHUNK_TS_SPAN_MAX)
        return SL_OK;
    memcpy(t->key, k.mv_data, SEQ_KEY_LEN);
    memcpy(t->copy, v.mv_data, v.mv_size);
    t->usable = true;
    return chunk_at(&k, &(MDB_val){v.mv_size, t->copy}, &t->c);
}

/* Reserve a chunk of v->mv_size bytes under key (appended: the largest key)
 * through cur, a cursor on SL_DB_CHUNKS in w; v->mv_data gets the memory.
 * The caller fills it, then notes it with sl_db_reserved. */
static sl_err chunk_reserve(sl_txn *w, MDB_cursor *cur, const uint8_t key[SEQ_KEY_LEN],
                            MDB_val *v)
{
    MDB_val k = {SEQ_KEY_LEN, (void *)key};
    int rc = sl_db_cursor_put(w, SL_DB_CHUNKS, cur, &k, v, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST)
        return SL_ERR_CORRUPT; /* the log state is behind the stored events */
    return sl_err_from_mdb(rc);
}

/* Rewrite the tail chunk cur is on as a chunk of count events and v->mv_size
 * bytes that starts with the tail's events; v->mv_data gets the memory. The
 * journal notes only what is new (sl_db_cursor_rewrite_last). */
static sl_err tail_rewrite(sl_txn *w, MDB_cursor *cur, const tail_chunk *tail, uint32_t count,
                           MDB_val *v)
{
    sl_chunk_run runs[2];
    sl_chunk_copy_runs(&tail->c, count, runs);
    sl_db_copy copies[2];
    for (int i = 0; i < 2; i++)
        copies[i] = (sl_db_copy){runs[i].to, runs[i].from, runs[i].len};
    MDB_val k = {SEQ_KEY_LEN, (void *)tail->key};
    int rc = sl_db_cursor_rewrite_last(w, SL_DB_CHUNKS, cur, &k, v, copies, 2);
    if (rc == MDB_KEYEXIST)
        return SL_ERR_CORRUPT; /* the log state is behind the stored events */
    return sl_err_from_mdb(rc);
}

/* Write events [i, end) (duplicates skipped), count of them, as one chunk of
 * len bytes: a new one, or the tail (cur on it) rewritten with them after its
 * own records. */
static sl_err chunk_write(MDB_cursor *cur, const chunk_plan *p, const tail_chunk *tail,
                          size_t i, size_t end, uint32_t count, size_t len)
{
    uint8_t key[SEQ_KEY_LEN];
    sl_put_u64(key, p->out[i].seq);
    MDB_val v = {len, NULL};
    sl_err rc = tail ? tail_rewrite(p->w, cur, tail, count, &v)
                     : chunk_reserve(p->w, cur, key, &v);
    if (rc != SL_OK)
        return rc;
    sl_chunk_writer w;
    sl_chunk_writer_start(&w, v.mv_data, count, tail ? tail->c.first_ts : p->ts, p->ts);
    if (tail)
        sl_chunk_writer_copy(&w, &tail->c);
    for (; i < end; i++)
        if (!p->out[i].duplicate)
            sl_chunk_writer_add_in(&w, &p->events[i], p->ts);
    return sl_err_from_mdb(sl_db_reserved(p->w, &v)); /* all len bytes are written */
}

/* Extend the small tail chunk (at most one page) with the first events of
 * the batch when it stays small, or when the batch fills it beyond (then it
 * is a big chunk anyway); *i moves past the events taken. So a stream of
 * one-event appends fills one page per chunk instead of taking a leaf node
 * (or a page) per event; the price is a copy of at most one page per append.
 * (Small chunks are not kept below half a page: LMDB splits a leaf page when
 * a value in it grows, which leaves leaf pages half empty.) */
static sl_err tail_extend(MDB_cursor *cur, const chunk_plan *p, uint64_t first_seq, size_t *i)
{
    tail_chunk tail;
    sl_err rc = tail_load(cur, p, first_seq, &tail);
    if (rc != SL_OK || !tail.usable)
        return rc;
    size_t len = tail.c.len;
    uint32_t count = tail.c.count;
    size_t end = plan_take(p, *i, &len, &count);
    if (count == tail.c.count || (end == p->n && len > p->small_max))
        return SL_OK; /* nothing fits, or it would end as a half-empty overflow chunk */
    rc = chunk_write(cur, p, &tail, *i, end, count, len); /* cur is still on the tail */
    if (rc == SL_OK)
        *i = end;
    return rc;
}

/* Write the batch's new events (the first has sequence first_seq) as chunks. */
static sl_err write_chunks(const chunk_plan *p, uint64_t first_seq)
{
    MDB_cursor *cur;
    sl_err rc = open_chunks(p->w, &cur);
    if (rc != SL_OK)
        return rc;
    size_t i = 0;
    rc = tail_extend(cur, p, first_seq, &i);
    while (rc == SL_OK && i < p->n) {
        if (p->out[i].duplicate) {
            i++;
            continue;
        }
        size_t len = SL_CHUNK_HEADER_LEN;
        uint32_t count = 0;
        size_t end = plan_take(p, i, &len, &count);
        rc = chunk_write(cur, p, NULL, i, end, count, len);
        i = end;
    }
    mdb_cursor_close(cur);
    return rc;
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
    rc = sl_log_state_load(w, &c.st);
    if (rc != SL_OK)
        return rc;
    c.ts = now_ms > c.st.last_ts ? now_ms : c.st.last_ts;
    uint64_t first_seq = c.st.next_seq;
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = append_decide(&c, &events[i], &out[i]);
    if (rc != SL_OK || c.st.next_seq == first_seq)
        return rc;
    size_t ps = page_size_of(w);
    chunk_plan plan = {events, out, n, sl_chunk_cap(ps), sl_chunk_small_max(ps), c.ts, w};
    rc = write_chunks(&plan, first_seq);
    if (rc == SL_OK)
        rc = topic_table_flush(w, &c.topics);
    c.st.last_ts = c.ts;
    if (rc == SL_OK)
        rc = sl_log_state_save(w, &c.st);
    return rc;
}

/* ---- reads ------------------------------------------------------------- */

static bool txn_ok(const sl_txn *t)
{
    return t && t->txn && t->store;
}

sl_err sl_log_get_bounds(sl_txn *t, sl_log_bounds *out)
{
    if (!txn_ok(t) || !out)
        return SL_ERR_INVALID;
    memset(out, 0, sizeof *out);
    sl_log_state st;
    sl_err rc = sl_log_state_load(t, &st);
    if (rc != SL_OK)
        return rc;
    out->next_seq = st.next_seq;
    out->events = st.events;
    out->bytes = st.bytes;
    if (st.events == 0)
        return SL_OK;
    MDB_cursor *cur;
    rc = open_chunks(t, &cur);
    if (rc != SL_OK)
        return rc;
    sl_chunk c;
    rc = chunk_locate(cur, st.head_seq, &c);
    if (rc == SL_OK)
        out->first_seq = c.first_seq > st.head_seq ? c.first_seq : st.head_seq;
    if (rc == SL_OK)
        rc = chunk_get(cur, MDB_LAST, &c);
    if (rc == SL_OK)
        out->last_seq = c.first_seq + c.count - 1;
    mdb_cursor_close(cur);
    return rc == SL_ERR_NOT_FOUND ? SL_ERR_CORRUPT : rc; /* events counted, none stored */
}

sl_err sl_log_reader_open(sl_txn *t, sl_log_reader *r)
{
    if (!txn_ok(t) || !r)
        return SL_ERR_INVALID;
    memset(r, 0, sizeof *r);
    sl_log_state st;
    sl_err rc = sl_log_state_load(t, &st);
    if (rc != SL_OK)
        return rc;
    MDB_cursor *cur;
    rc = open_chunks(t, &cur);
    if (rc != SL_OK)
        return rc;
    r->txn = t;
    r->cursor = cur;
    r->head_seq = st.head_seq;
    r->next_seq = st.next_seq;
    return SL_OK;
}

sl_err sl_log_reader_get(sl_log_reader *r, uint64_t seq, sl_event_view *out)
{
    if (!r || !r->cursor || !out)
        return SL_ERR_INVALID;
    if (seq < r->head_seq || seq >= r->next_seq)
        return SL_ERR_NOT_FOUND;
    sl_chunk c;
    sl_err rc = chunk_locate(r->cursor, seq, &c);
    if (rc == SL_OK)
        rc = chunk_holds(&c, seq) ? sl_chunk_event(&c, (uint32_t)(seq - c.first_seq), out)
                                  : SL_ERR_NOT_FOUND;
    return rc;
}

void sl_log_reader_close(sl_log_reader *r)
{
    if (r && r->cursor) {
        mdb_cursor_close(r->cursor);
        r->cursor = NULL;
    }
}

sl_err sl_log_get(sl_txn *t, uint64_t seq, sl_event_view *out)
{
    if (!out)
        return SL_ERR_INVALID;
    sl_log_reader r;
    sl_err rc = sl_log_reader_open(t, &r);
    if (rc == SL_OK)
        rc = sl_log_reader_get(&r, seq, out);
    sl_log_reader_close(&r);
    return rc;
}

/* The first index of c whose timestamp is >= ts_ms (c->count if none). */
static sl_err chunk_search_time(const sl_chunk *c, uint64_t ts_ms, uint32_t *index)
{
    uint32_t lo = 0, hi = c->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t ts;
        sl_err rc = sl_chunk_event_ts(c, mid, &ts);
        if (rc != SL_OK)
            return rc;
        if (ts >= ts_ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    *index = lo;
    return SL_OK;
}

/* Binary search over the chunks holding [lo, hi) for the first event with
 * timestamp >= ts_ms: each probe lands on the chunk holding its midpoint
 * (or the next one), whose first and last timestamps halve the range, and
 * the chunk that straddles ts_ms is searched inside. */
static sl_err search_time(MDB_cursor *cur, uint64_t lo, uint64_t hi, uint64_t ts_ms,
                          uint64_t *best)
{
    while (lo < hi) {
        sl_chunk c;
        sl_err rc = chunk_locate(cur, lo + (hi - lo) / 2, &c);
        if (rc != SL_OK)
            return rc;
        uint64_t end = c.first_seq + c.count;
        if (c.last_ts < ts_ms) {
            lo = end;
        } else if (c.first_ts >= ts_ms || c.first_seq >= hi) {
            *best = c.first_seq;
            hi = c.first_seq;
        } else {
            uint32_t index;
            rc = chunk_search_time(&c, ts_ms, &index);
            if (rc == SL_OK)
                *best = c.first_seq + index;
            return rc;
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
    rc = open_chunks(t, &cur);
    if (rc != SL_OK)
        return rc;
    uint64_t best = b.next_seq;
    rc = search_time(cur, b.first_seq, b.last_seq + 1, ts_ms, &best);
    mdb_cursor_close(cur);
    if (rc == SL_OK)
        *seq_out = best < b.first_seq ? b.first_seq : best;
    return rc == SL_ERR_NOT_FOUND ? SL_ERR_CORRUPT : rc;
}

sl_err sl_log_iter_open(sl_txn *t, uint64_t from_seq, sl_log_iter *it)
{
    if (!it)
        return SL_ERR_INVALID;
    memset(it, 0, sizeof *it);
    sl_log_reader r;
    sl_err rc = sl_log_reader_open(t, &r);
    if (rc != SL_OK)
        return rc;
    it->txn = t;
    it->cursor = r.cursor; /* the iterator owns the reader's cursor from here */
    it->next = from_seq > r.head_seq ? from_seq : r.head_seq;
    it->started = false;
    return SL_OK;
}

/* The chunk holding it->next or the next one after it; the cursor stays on
 * the chunk between calls. */
static sl_err iter_chunk(sl_log_iter *it, sl_chunk *c)
{
    if (!it->started)
        return chunk_locate(it->cursor, it->next, c);
    sl_err rc = chunk_get(it->cursor, MDB_GET_CURRENT, c);
    if (rc == SL_OK && it->next - c->first_seq >= c->count)
        rc = chunk_get(it->cursor, MDB_NEXT, c);
    return rc;
}

sl_err sl_log_iter_next(sl_log_iter *it, sl_event_view *out)
{
    if (!it || !it->cursor || !out)
        return SL_ERR_INVALID;
    sl_chunk c;
    sl_err rc = iter_chunk(it, &c);
    if (rc == SL_ERR_NOT_FOUND)
        return SL_ERR_END;
    if (rc != SL_OK)
        return rc;
    it->started = true;
    if (it->next < c.first_seq)
        it->next = c.first_seq; /* a gap in the log */
    rc = sl_chunk_event(&c, (uint32_t)(it->next - c.first_seq), out);
    if (rc == SL_OK)
        it->next++;
    return rc;
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
static bool over_retention(const sl_retention *r, const sl_log_state *st, uint64_t ts,
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
    MDB_cursor *chunks;         /* cursor on SL_DB_CHUNKS */
    const sl_retention *ret;    /* the store's retention limits */
    sl_log_state st;            /* log state, saved once at the end */
    topic_table topics;         /* per-topic deletions */
} trim_ctx;

/* Delete the head chunk when every event in it is trimmed (below head_seq).
 * Leaves the cursor anywhere; *c is the head chunk still stored. */
static sl_err drop_spent_chunks(trim_ctx *x, sl_chunk *c, bool *empty)
{
    for (;;) {
        sl_err rc = chunk_get(x->chunks, MDB_FIRST, c);
        *empty = rc == SL_ERR_NOT_FOUND;
        if (rc != SL_OK)
            return *empty ? SL_OK : rc;
        if (c->first_seq + c->count > x->st.head_seq)
            return SL_OK;
        rc = sl_err_from_mdb(sl_db_cursor_del(x->w, SL_DB_CHUNKS, x->chunks));
        if (rc != SL_OK)
            return rc;
    }
}

/* Trim the head event if a limit asks for it and the floor allows it; whole
 * chunks go once all their events are trimmed. *done: trimming must stop. */
static sl_err trim_head(trim_ctx *x, uint64_t now_ms, uint64_t floor_seq, bool *done)
{
    sl_chunk c;
    bool empty;
    *done = true;
    sl_err err = drop_spent_chunks(x, &c, &empty);
    if (err != SL_OK || empty || x->st.events == 0)
        return err;
    uint64_t seq = x->st.head_seq > c.first_seq ? x->st.head_seq : c.first_seq;
    sl_event_view ev;
    err = sl_chunk_event(&c, (uint32_t)(seq - c.first_seq), &ev);
    if (err != SL_OK)
        return err;
    if (seq >= floor_seq || !over_retention(x->ret, &x->st, ev.ts_ms, now_ms))
        return SL_OK;
    uint64_t bytes = event_view_bytes(&ev);
    /* Copy the topic first: writes (a table flush) may move the page it is on. */
    char name[SL_TOPIC_MAX];
    if (ev.topic.len > sizeof name)
        return SL_ERR_CORRUPT;
    memcpy(name, ev.topic.ptr, ev.topic.len);
    sl_slice topic = {name, ev.topic.len};
    err = topic_table_note(x->w, &x->topics, topic, seq, bytes);
    if (err != SL_OK)
        return err;
    x->st.head_seq = seq + 1;
    x->st.events = sub_sat(x->st.events, 1);
    x->st.bytes = sub_sat(x->st.bytes, bytes);
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
    trim_ctx x;
    x.w = w;
    x.ret = &opt->retention;
    x.topics.n = 0;
    x.topics.removing = true;
    sl_err rc = sl_log_state_load(w, &x.st);
    if (rc != SL_OK)
        return rc;
    rc = open_chunks(w, &x.chunks);
    if (rc != SL_OK)
        return rc;
    size_t n = 0;
    bool done = false;
    while (n < max_delete && !done && rc == SL_OK) {
        rc = trim_head(&x, now_ms, floor_seq, &done);
        if (rc == SL_OK && !done)
            n++;
    }
    if (rc == SL_OK && n) {
        sl_chunk c;
        bool empty;
        rc = drop_spent_chunks(&x, &c, &empty); /* the last chunk emptied */
    }
    mdb_cursor_close(x.chunks);
    if (rc == SL_OK && n) {
        rc = topic_table_flush(w, &x.topics);
        if (rc == SL_OK)
            rc = sl_log_state_save(w, &x.st);
    }
    if (rc == SL_OK)
        rc = idem_expire(w, now_ms, opt->dedupe_window_ms, max_delete);
    if (rc == SL_OK && deleted)
        *deleted = n;
    return rc;
}
