/* log_format_v1.c: the format 1 event record, and the upgrade of a format 1
 * log into format 2 chunks (see log_format_v1.h, core/FORMAT.md). */
#include "log_format_v1.h"

#include <string.h>

#include "bytes.h"
#include "chunk.h"
#include "db.h"
#include "log_state.h"

#define V1_RECORD_VERSION 1
#define V1_FIXED_LEN 22
#define V1_OFF_TS 2
#define V1_OFF_TOPIC_LEN 10
#define V1_OFF_CT_LEN 11
#define V1_OFF_KEY_LEN 12
#define V1_OFF_NHEADERS 13
#define V1_OFF_HEADERS_LEN 14
#define V1_OFF_PAYLOAD_LEN 18
#define V1_STATE_LEN 32
#define SEQ_KEY_LEN 8
#define PROGRESS_LEN 12 /* u32 target format, u64 next seq to move */
#define TARGET_FORMAT 2

static sl_slice take_slice(const uint8_t **p, size_t len)
{
    sl_slice s = {(const char *)*p, len};
    *p += len;
    return s;
}

sl_err sl_log_v1_decode(const void *key, size_t key_len, const void *val, size_t val_len,
                        sl_event_view *out)
{
    const uint8_t *p = val;
    if (key_len != SEQ_KEY_LEN || val_len < V1_FIXED_LEN)
        return SL_ERR_CORRUPT;
    if (p[0] != V1_RECORD_VERSION)
        return SL_ERR_VERSION;
    size_t topic_len = p[V1_OFF_TOPIC_LEN], ct_len = p[V1_OFF_CT_LEN];
    size_t key_n = p[V1_OFF_KEY_LEN], nheaders = p[V1_OFF_NHEADERS];
    uint64_t headers_len = sl_get_u32(p + V1_OFF_HEADERS_LEN);
    uint64_t payload_len = sl_get_u32(p + V1_OFF_PAYLOAD_LEN);
    if (topic_len == 0 || ct_len > SL_CONTENT_TYPE_MAX || key_n > SL_IDEM_KEY_MAX ||
        nheaders > SL_HEADERS_MAX || headers_len > UINT16_MAX)
        return SL_ERR_CORRUPT;
    if (V1_FIXED_LEN + topic_len + ct_len + key_n + headers_len + payload_len != val_len)
        return SL_ERR_CORRUPT;
    memset(out, 0, sizeof *out);
    out->seq = sl_get_u64(key);
    out->ts_ms = sl_get_u64(p + V1_OFF_TS);
    p += V1_FIXED_LEN;
    out->topic = take_slice(&p, topic_len);
    out->content_type = take_slice(&p, ct_len);
    out->idem_key = take_slice(&p, key_n);
    out->nheaders = (uint32_t)nheaders;
    out->headers_raw = p;
    out->headers_raw_len = (size_t)headers_len;
    p += headers_len;
    out->payload = take_slice(&p, (size_t)payload_len);
    size_t pos = 0;
    sl_header h;
    for (uint32_t i = 0; i < out->nheaders; i++)
        if (sl_event_header_next(out, &pos, &h) != SL_OK)
            return SL_ERR_CORRUPT;
    return pos == out->headers_raw_len ? SL_OK : SL_ERR_CORRUPT;
}

/* ---- progress record (meta "upgrade") ----------------------------------- */

static MDB_val progress_key(void)
{
    MDB_val k = {sizeof SL_UPGRADE_KEY - 1, (void *)SL_UPGRADE_KEY};
    return k;
}

/* The next format 1 sequence to move (0 when the upgrade has not started). */
static sl_err progress_load(sl_txn *w, uint64_t *next)
{
    MDB_val k = progress_key(), v;
    int rc = mdb_get(w->txn, sl_dbi(w, SL_DB_META), &k, &v);
    *next = 0;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != PROGRESS_LEN || sl_get_u32(v.mv_data) != TARGET_FORMAT)
        return SL_ERR_CORRUPT;
    *next = sl_get_u64((const uint8_t *)v.mv_data + 4);
    return SL_OK;
}

static sl_err progress_save(sl_txn *w, uint64_t next)
{
    uint8_t buf[PROGRESS_LEN];
    sl_put_u32(buf, TARGET_FORMAT);
    sl_put_u64(buf + 4, next);
    MDB_val k = progress_key(), v = {sizeof buf, buf};
    return sl_err_from_mdb(sl_db_put(w, SL_DB_META, &k, &v, 0));
}

/* ---- moving events -------------------------------------------------------- */

/* The cursors and limits of one step. */
typedef struct upgrade_step {
    sl_txn *w;             /* the caller's write transaction */
    MDB_cursor *v1;        /* on SL_DB_EVENTS (format 1) */
    MDB_cursor *chunks;    /* on SL_DB_CHUNKS */
    size_t cap;            /* largest chunk of several events, bytes */
    size_t budget;         /* events this step may still move */
    size_t bytes_left;     /* bytes this step may still write */
} upgrade_step;

/* The oldest format 1 event (op MDB_FIRST) or the next one (MDB_NEXT). */
static sl_err v1_get(MDB_cursor *cur, MDB_cursor_op op, sl_event_view *ev)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, op);
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    return sl_log_v1_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ev);
}

/* What the next chunk takes from the head of the format 1 log. */
typedef struct chunk_span {
    uint64_t first_seq;  /* first event */
    uint32_t count;      /* events */
    size_t len;          /* chunk bytes */
    uint64_t first_ts;   /* timestamps of the first and last event */
    uint64_t last_ts;
} chunk_span;

/* May ev follow the events of span s in the same chunk? */
static bool span_takes(const upgrade_step *u, const chunk_span *s, const sl_event_view *ev,
                       size_t add)
{
    if (s->count == 0)
        return true;
    return s->len + add <= u->cap && s->count < SL_CHUNK_MAX_EVENTS && s->count < u->budget &&
           ev->seq == s->first_seq + s->count && ev->ts_ms >= s->last_ts &&
           ev->ts_ms - s->first_ts <= SL_CHUNK_TS_SPAN_MAX && s->len + add <= u->bytes_left;
}

/* Measure the next chunk from the head of the format 1 log. */
static sl_err span_plan(upgrade_step *u, chunk_span *s)
{
    memset(s, 0, sizeof *s);
    s->len = SL_CHUNK_HEADER_LEN;
    sl_event_view ev;
    sl_err rc;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        rc = v1_get(u->v1, op, &ev);
        if (rc != SL_OK)
            break;
        size_t add = sl_chunk_entry_len_view(&ev);
        if (!span_takes(u, s, &ev, add))
            break;
        if (s->count == 0) {
            s->first_seq = ev.seq;
            s->first_ts = ev.ts_ms;
        }
        s->len += add;
        s->last_ts = ev.ts_ms;
        s->count++;
    }
    return rc == SL_ERR_NOT_FOUND ? SL_OK : rc;
}

/* Write the chunk of span s (the first events of the format 1 log). */
static sl_err span_write(upgrade_step *u, const chunk_span *s)
{
    uint8_t key[SEQ_KEY_LEN];
    sl_put_u64(key, s->first_seq);
    MDB_val k = {sizeof key, key}, v = {s->len, NULL};
    int mrc = sl_db_cursor_put(u->w, SL_DB_CHUNKS, u->chunks, &k, &v,
                               MDB_APPEND | MDB_RESERVE);
    if (mrc != MDB_SUCCESS)
        return mrc == MDB_KEYEXIST ? SL_ERR_CORRUPT : sl_err_from_mdb(mrc);
    sl_chunk_writer cw;
    sl_chunk_writer_start(&cw, v.mv_data, s->count, s->first_ts, s->last_ts);
    sl_event_view ev;
    for (uint32_t i = 0; i < s->count; i++) {
        sl_err rc = v1_get(u->v1, i ? MDB_NEXT : MDB_FIRST, &ev);
        if (rc != SL_OK)
            return rc;
        sl_chunk_writer_add_view(&cw, &ev);
    }
    return sl_err_from_mdb(sl_db_reserved(u->w, &v)); /* all s->len bytes are written */
}

/* Write the chunk of span s, then delete its events from the format 1 log. */
static sl_err span_move(upgrade_step *u, const chunk_span *s)
{
    sl_err rc = span_write(u, s);
    for (uint32_t i = 0; i < s->count && rc == SL_OK; i++) {
        MDB_val dk, dv;
        rc = sl_err_from_mdb(mdb_cursor_get(u->v1, &dk, &dv, MDB_FIRST));
        if (rc == SL_OK)
            rc = sl_err_from_mdb(sl_db_cursor_del(u->w, SL_DB_EVENTS, u->v1));
    }
    if (rc == SL_OK) {
        u->budget -= s->count;
        u->bytes_left = u->bytes_left > s->len ? u->bytes_left - s->len : 0;
    }
    return rc;
}

/* Move chunks while the budget lasts; *next: the next sequence to move. */
static sl_err move_events(upgrade_step *u, uint64_t *next)
{
    while (u->budget > 0 && u->bytes_left > 0) {
        chunk_span s;
        sl_err rc = span_plan(u, &s);
        if (rc != SL_OK || s.count == 0)
            return rc;
        if (s.first_seq < *next)
            return SL_ERR_CORRUPT; /* an event the progress record says has moved */
        rc = span_move(u, &s);
        if (rc != SL_OK)
            return rc;
        *next = s.first_seq + s.count;
    }
    return SL_OK;
}

/* ---- finishing -------------------------------------------------------------- */

/* Rewrite the format 1 log state (32 bytes) as format 2 (with head_seq, the
 * first stored event or next_seq). */
static sl_err convert_state(sl_txn *w, MDB_cursor *chunks)
{
    MDB_val k = {sizeof SL_LOG_STATE_KEY - 1, (void *)SL_LOG_STATE_KEY}, v;
    int rc = mdb_get(w->txn, sl_dbi(w, SL_DB_META), &k, &v);
    MDB_val ck, cv;
    int crc = mdb_cursor_get(chunks, &ck, &cv, MDB_FIRST);
    if (crc != MDB_SUCCESS && crc != MDB_NOTFOUND)
        return sl_err_from_mdb(crc);
    if (rc == MDB_NOTFOUND) /* no append ever: the log must be empty */
        return crc == MDB_NOTFOUND ? SL_OK : SL_ERR_CORRUPT;
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != V1_STATE_LEN || (crc == MDB_SUCCESS && ck.mv_size != SEQ_KEY_LEN))
        return SL_ERR_CORRUPT;
    const uint8_t *p = v.mv_data;
    sl_log_state st = {sl_get_u64(p), sl_get_u64(p + 8), sl_get_u64(p + 16), sl_get_u64(p + 24),
                       0};
    st.head_seq = crc == MDB_SUCCESS ? sl_get_u64(ck.mv_data) : st.next_seq;
    if (st.next_seq == 0 || st.head_seq == 0 || st.head_seq > st.next_seq)
        return SL_ERR_CORRUPT;
    return sl_log_state_save(w, &st);
}

static sl_err finish(sl_txn *w, MDB_cursor *chunks)
{
    sl_err rc = convert_state(w, chunks);
    if (rc != SL_OK)
        return rc;
    MDB_val k = progress_key();
    int mrc = sl_db_del(w, SL_DB_META, &k);
    return mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

static size_t page_size_of(sl_txn *t)
{
    MDB_stat st;
    if (mdb_env_stat(mdb_txn_env(t->txn), &st) != MDB_SUCCESS || st.ms_psize < 512)
        return 4096;
    return st.ms_psize;
}

sl_err sl_log_upgrade_v1_step(sl_txn *w, size_t max_events, bool *done)
{
    if (!w || !w->txn || !w->write || !done || max_events == 0)
        return SL_ERR_INVALID;
    *done = false;
    uint64_t next;
    sl_err rc = progress_load(w, &next);
    if (rc != SL_OK)
        return rc;
    upgrade_step u = {w, NULL, NULL, sl_chunk_cap(page_size_of(w)), max_events,
                      SL_UPGRADE_STEP_BYTES};
    rc = sl_err_from_mdb(mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_EVENTS), &u.v1));
    if (rc != SL_OK)
        return rc;
    rc = sl_err_from_mdb(mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_CHUNKS), &u.chunks));
    if (rc == SL_OK)
        rc = move_events(&u, &next);
    MDB_val k, v;
    int left = rc == SL_OK ? mdb_cursor_get(u.v1, &k, &v, MDB_FIRST) : MDB_SUCCESS;
    if (rc == SL_OK && left == MDB_NOTFOUND) {
        rc = finish(w, u.chunks);
        *done = rc == SL_OK;
    } else if (rc == SL_OK && left == MDB_SUCCESS) {
        rc = progress_save(w, next);
    } else if (rc == SL_OK) {
        rc = sl_err_from_mdb(left);
    }
    if (u.chunks)
        mdb_cursor_close(u.chunks);
    mdb_cursor_close(u.v1);
    return rc;
}
