/* group.c: consumer groups: configuration checks, the group record codec,
 * create / update / delete / read (with lag) and the retention floor.
 * See group.h and group_record.h; record layout in core/FORMAT.md. */
#include "group.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "record_codec.h"
#include "db.h"
#include "group_record.h"
#include "lease_record.h"
#include "log.h"
#include "topic.h"

#define GROUP_FIXED_LEN 95 /* bytes before the backoff list, see FORMAT.md */
#define GROUP_RECORD_MAX \
    (GROUP_FIXED_LEN + 8 * SL_BACKOFF_MAX + 1 + SL_FILTERS_MAX * (1 + SL_TOPIC_MAX))
#define ACK_WAIT_MAX_MS 86400000u
#define BACKOFF_ENTRY_MAX_MS 86400000u
#define LAG_SCAN_MAX 1000000u
#define META_NEXT_GROUP_ID "next_group_id"

/* ---- configuration ------------------------------------------------------ */

void sl_group_config_default(sl_group_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->nfilters = 1;
    cfg->filters[0][0] = '>';
    cfg->start = SL_START_EARLIEST;
    cfg->ack_wait_ms = 30000;
    cfg->max_deliveries = 5;
    cfg->max_inflight = 1000;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool sl_group_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strnlen(name, SL_GROUP_NAME_MAX + 1);
    if (n == 0 || n > SL_GROUP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(name[i]))
            return false;
    return true;
}

static bool filters_ok(const sl_group_config *cfg)
{
    if (cfg->nfilters < 1 || cfg->nfilters > SL_FILTERS_MAX)
        return false;
    for (uint32_t i = 0; i < cfg->nfilters; i++) {
        size_t n = strnlen(cfg->filters[i], SL_TOPIC_MAX + 1);
        if (n > SL_TOPIC_MAX || !sl_filter_valid((sl_slice){cfg->filters[i], n}))
            return false;
    }
    return true;
}

static bool backoff_ok(const sl_group_config *cfg)
{
    if (cfg->nbackoff > SL_BACKOFF_MAX)
        return false;
    for (uint32_t i = 0; i < cfg->nbackoff; i++)
        if (cfg->backoff_ms[i] > BACKOFF_ENTRY_MAX_MS)
            return false;
    return true;
}

static bool start_ok(sl_start_kind start)
{
    int k = (int)start;
    return k >= SL_START_EARLIEST && k <= SL_START_TIME;
}

/* The name of the first invalid field of cfg, or NULL when it is valid. */
static const char *config_bad_field(const sl_group_config *cfg)
{
    if (!memchr(cfg->name, '\0', sizeof cfg->name) || !sl_group_name_valid(cfg->name))
        return "name";
    if (!filters_ok(cfg))
        return "filters";
    if (!start_ok(cfg->start))
        return "start";
    if (cfg->ack_wait_ms < 1 || cfg->ack_wait_ms > ACK_WAIT_MAX_MS)
        return "ack_wait_ms";
    if (cfg->max_deliveries < 1 || cfg->max_deliveries > SL_MAX_DELIVERIES_MAX)
        return "max_deliveries";
    if (cfg->max_inflight < 1 || cfg->max_inflight > SL_MAX_INFLIGHT_MAX)
        return "max_inflight";
    if (!backoff_ok(cfg))
        return "backoff_ms";
    return NULL;
}

sl_err sl_group_config_check(const sl_group_config *cfg, const char **field)
{
    const char *bad = cfg ? config_bad_field(cfg) : "config";
    if (field)
        *field = bad;
    return bad ? SL_ERR_INVALID : SL_OK;
}

/* ---- filter sets -------------------------------------------------------- */

void sl_filter_set_init(sl_filter_set *set, const sl_group_config *cfg)
{
    set->n = cfg->nfilters > SL_FILTERS_MAX ? SL_FILTERS_MAX : cfg->nfilters;
    set->all = false;
    for (uint32_t i = 0; i < set->n; i++) {
        set->f[i] = (sl_slice){cfg->filters[i], strnlen(cfg->filters[i], SL_TOPIC_MAX)};
        if (sl_slice_eq_cstr(set->f[i], ">"))
            set->all = true;
    }
}

bool sl_filter_set_match(const sl_filter_set *set, sl_slice topic)
{
    if (set->all && !sl_topic_reserved(topic))
        return true; /* ">" takes every topic but reserved ones (topic.h) */
    for (uint32_t i = 0; i < set->n; i++)
        if (sl_filter_match(set->f[i], topic))
            return true;
    return false;
}

/* ---- the record codec --------------------------------------------------- */

static uint8_t *put8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    sl_put_u32(p, v);
    return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    sl_put_u64(p, v);
    return p + 8;
}

/* Encode rec into buf (GROUP_RECORD_MAX bytes); returns the length. */
static size_t group_rec_encode(const sl_group_rec *r, uint8_t *buf)
{
    const sl_group_config *c = &r->config;
    uint8_t *p = put8(buf, SL_GROUP_RECORD_VERSION);
    p = put32(p, r->gid);
    p = put64(p, r->created_ms);
    p = put64(p, r->cursor);
    p = put64(p, r->next_delivery);
    p = put32(p, r->in_flight);
    p = put32(p, r->waiting);
    p = put64(p, r->delivered);
    p = put64(p, r->redelivered);
    p = put64(p, r->acked);
    p = put64(p, r->dlq_size);
    p = put8(p, (uint8_t)c->start);
    p = put64(p, c->start_value);
    p = put64(p, c->ack_wait_ms);
    p = put32(p, c->max_deliveries);
    p = put32(p, c->max_inflight);
    p = put8(p, (uint8_t)c->nbackoff);
    for (uint32_t i = 0; i < c->nbackoff; i++)
        p = put64(p, c->backoff_ms[i]);
    p = put8(p, (uint8_t)c->nfilters);
    for (uint32_t i = 0; i < c->nfilters; i++) {
        size_t n = strnlen(c->filters[i], SL_TOPIC_MAX);
        p = put8(p, (uint8_t)n);
        memcpy(p, c->filters[i], n);
        p += n;
    }
    return (size_t)(p - buf);
}

static sl_err decode_config_tail(rec_reader *r, sl_group_config *c)
{
    c->nbackoff = rec_get8(r);
    if (c->nbackoff > SL_BACKOFF_MAX)
        return SL_ERR_CORRUPT;
    for (uint32_t i = 0; i < c->nbackoff; i++)
        c->backoff_ms[i] = rec_get64(r);
    c->nfilters = rec_get8(r);
    if (c->nfilters < 1 || c->nfilters > SL_FILTERS_MAX)
        return SL_ERR_CORRUPT;
    for (uint32_t i = 0; i < c->nfilters; i++) {
        uint8_t n = rec_get8(r);
        const uint8_t *f = rec_take(r, n);
        if (!f || n == 0)
            return SL_ERR_CORRUPT;
        memcpy(c->filters[i], f, n);
    }
    return r->bad || r->left ? SL_ERR_CORRUPT : SL_OK;
}

static sl_err group_rec_decode(MDB_val key, MDB_val val, sl_group_rec *out)
{
    memset(out, 0, sizeof *out);
    if (key.mv_size < 1 || key.mv_size > SL_GROUP_NAME_MAX)
        return SL_ERR_CORRUPT;
    memcpy(out->config.name, key.mv_data, key.mv_size);
    rec_reader r = {val.mv_data, val.mv_size, false};
    uint8_t version = rec_get8(&r);
    if (r.bad)
        return SL_ERR_CORRUPT;
    if (version != SL_GROUP_RECORD_VERSION)
        return SL_ERR_VERSION;
    out->gid = rec_get32(&r);
    out->created_ms = rec_get64(&r);
    out->cursor = rec_get64(&r);
    out->next_delivery = rec_get64(&r);
    out->in_flight = rec_get32(&r);
    out->waiting = rec_get32(&r);
    out->delivered = rec_get64(&r);
    out->redelivered = rec_get64(&r);
    out->acked = rec_get64(&r);
    out->dlq_size = rec_get64(&r);
    out->config.start = (sl_start_kind)rec_get8(&r);
    out->config.start_value = rec_get64(&r);
    out->config.ack_wait_ms = rec_get64(&r);
    out->config.max_deliveries = rec_get32(&r);
    out->config.max_inflight = rec_get32(&r);
    if (r.bad || !start_ok(out->config.start))
        return SL_ERR_CORRUPT;
    return decode_config_tail(&r, &out->config);
}

sl_err sl_group_rec_load(sl_txn *t, const char *name, sl_group_rec *out)
{
    if (!t || !out || !sl_group_name_valid(name))
        return SL_ERR_INVALID;
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_GROUPS), &k, &v);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return group_rec_decode(k, v, out);
}

sl_err sl_group_rec_save(sl_txn *w, const sl_group_rec *rec)
{
    uint8_t buf[GROUP_RECORD_MAX];
    size_t len = group_rec_encode(rec, buf);
    MDB_val k = {strnlen(rec->config.name, SL_GROUP_NAME_MAX), (void *)rec->config.name};
    MDB_val v = {len, buf};
    int rc = sl_db_put(w, SL_DB_GROUPS, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

bool sl_group_rec_state_differs(const sl_group_rec *a, const sl_group_rec *b)
{
    return a->cursor != b->cursor || a->next_delivery != b->next_delivery ||
           a->in_flight != b->in_flight || a->waiting != b->waiting ||
           a->delivered != b->delivered || a->redelivered != b->redelivered ||
           a->acked != b->acked || a->dlq_size != b->dlq_size;
}

uint64_t sl_group_rec_take_delivery(sl_group_rec *rec)
{
    uint64_t d = rec->next_delivery ? rec->next_delivery : 1;
    rec->next_delivery = d == UINT64_MAX ? 1 : d + 1;
    return d;
}

/* ---- create / update / delete ------------------------------------------- */

/* Take the next group id from meta "next_group_id" (4 bytes, big-endian;
 * absent means 1). SL_ERR_TOO_LARGE when ids are used up. */
static sl_err take_group_id(sl_txn *w, uint32_t *gid)
{
    MDB_dbi meta = sl_dbi(w, SL_DB_META);
    MDB_val k = {strlen(META_NEXT_GROUP_ID), (void *)META_NEXT_GROUP_ID}, v;
    uint64_t next = 1;
    int rc = mdb_get(w->txn, meta, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        next = sl_get_u32(v.mv_data);
    else if (rc == 0 && v.mv_size == 8)
        next = sl_get_u64(v.mv_data);
    else if (rc == 0)
        return SL_ERR_CORRUPT;
    else if (rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    if (next == 0)
        next = 1;
    if (next >= UINT32_MAX)
        return SL_ERR_TOO_LARGE;
    *gid = (uint32_t)next;
    uint8_t buf[4];
    sl_put_u32(buf, (uint32_t)next + 1);
    MDB_val nv = {sizeof buf, buf};
    rc = sl_db_put(w, SL_DB_META, &k, &nv, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The cursor a new group with cfg starts at. */
static sl_err start_cursor(sl_txn *t, const sl_group_config *cfg, uint64_t *cursor)
{
    sl_log_bounds b;
    sl_err rc = sl_log_get_bounds(t, &b);
    if (rc != SL_OK)
        return rc;
    uint64_t first = b.first_seq ? b.first_seq : b.next_seq;
    switch (cfg->start) {
    case SL_START_EARLIEST:
        *cursor = first;
        return SL_OK;
    case SL_START_LATEST:
        *cursor = b.next_seq;
        return SL_OK;
    case SL_START_SEQ:
        *cursor = max_u64(cfg->start_value, first);
        return SL_OK;
    case SL_START_TIME:
        rc = sl_log_seq_at_time(t, cfg->start_value, cursor);
        *cursor = max_u64(*cursor, first);
        return rc;
    }
    return SL_ERR_INVALID;
}

static bool is_write(const sl_txn *w)
{
    return w && w->txn && w->write;
}

sl_err sl_group_create(sl_txn *w, const sl_group_config *cfg, uint64_t now_ms)
{
    if (!is_write(w))
        return SL_ERR_INVALID;
    sl_err rc = sl_group_config_check(cfg, NULL);
    if (rc != SL_OK)
        return rc;
    sl_group_rec rec;
    rc = sl_group_rec_load(w, cfg->name, &rec);
    if (rc == SL_OK)
        return SL_ERR_EXISTS;
    if (rc != SL_ERR_NOT_FOUND)
        return rc;
    memset(&rec, 0, sizeof rec);
    rec.config = *cfg;
    rec.created_ms = now_ms;
    rec.next_delivery = 1;
    rc = start_cursor(w, cfg, &rec.cursor);
    if (rc == SL_OK)
        rc = take_group_id(w, &rec.gid);
    if (rc == SL_OK)
        rc = sl_group_rec_save(w, &rec);
    return rc;
}

sl_err sl_group_update(sl_txn *w, const sl_group_config *cfg)
{
    if (!is_write(w) || !cfg)
        return SL_ERR_INVALID;
    sl_group_rec rec;
    sl_err rc = sl_group_rec_load(w, cfg->name, &rec);
    if (rc != SL_OK)
        return rc;
    sl_group_config next = *cfg;
    next.start = rec.config.start;
    next.start_value = rec.config.start_value;
    rc = sl_group_config_check(&next, NULL);
    if (rc != SL_OK)
        return rc;
    rec.config = next;
    return sl_group_rec_save(w, &rec);
}

/* Delete every key of database db that starts with gid (4 bytes). */
static sl_err delete_gid_prefix(sl_txn *w, sl_db db, uint32_t gid)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(w->txn, sl_dbi(w, db), &c);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    uint8_t prefix[4];
    sl_put_u32(prefix, gid);
    for (;;) {
        MDB_val k = {sizeof prefix, prefix}, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0)
            break;
        rc = sl_db_cursor_del(w, db, c);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

sl_err sl_group_delete(sl_txn *w, const char *name)
{
    if (!is_write(w))
        return SL_ERR_INVALID;
    sl_group_rec rec;
    sl_err rc = sl_group_rec_load(w, name, &rec);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {strlen(name), (void *)name};
    int mrc = sl_db_del(w, SL_DB_GROUPS, &k);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    rc = delete_gid_prefix(w, SL_DB_LEASES, rec.gid);
    if (rc == SL_OK)
        rc = delete_gid_prefix(w, SL_DB_DUE, rec.gid);
    if (rc == SL_OK)
        rc = delete_gid_prefix(w, SL_DB_DLQ, rec.gid);
    return rc;
}

/* ---- reading: info, lag, list, floor ------------------------------------ */

/* Count matching events from the cursor on, at most LAG_SCAN_MAX looked at. */
static sl_err count_matching(sl_txn *t, const sl_group_rec *rec, const sl_filter_set *fs,
                             uint64_t *lag)
{
    sl_log_iter it;
    sl_err rc = sl_log_iter_open(t, rec->cursor, &it);
    if (rc != SL_OK)
        return rc;
    sl_event_view ev;
    uint64_t n = 0;
    for (uint32_t scanned = 0; scanned < LAG_SCAN_MAX; scanned++) {
        rc = sl_log_iter_next(&it, &ev);
        if (rc != SL_OK)
            break;
        if (sl_filter_set_match(fs, ev.topic))
            n++;
    }
    sl_log_iter_close(&it);
    *lag = n;
    return rc == SL_OK || rc == SL_ERR_END ? SL_OK : rc;
}

static sl_err group_lag(sl_txn *t, const sl_group_rec *rec, uint64_t *lag)
{
    sl_filter_set fs;
    sl_filter_set_init(&fs, &rec->config);
    if (!fs.all)
        return count_matching(t, rec, &fs, lag);
    sl_log_bounds b;
    sl_err rc = sl_log_get_bounds(t, &b);
    if (rc != SL_OK)
        return rc;
    uint64_t from = max_u64(rec->cursor, b.first_seq);
    uint64_t span = b.last_seq && b.last_seq >= from ? b.last_seq - from + 1 : 0;
    /* retained seqs are contiguous: exact, but for events of reserved topics
     * (webhook test events) that ">" does not take: see group.h */
    *lag = min_u64(span, b.events);
    return SL_OK;
}

static sl_err info_of(sl_txn *t, const sl_group_rec *rec, sl_group_info *out)
{
    memset(out, 0, sizeof *out);
    out->config = rec->config;
    out->cursor = rec->cursor;
    out->in_flight = rec->in_flight;
    out->waiting = rec->waiting;
    out->delivered = rec->delivered;
    out->redelivered = rec->redelivered;
    out->acked = rec->acked;
    out->dlq_size = rec->dlq_size;
    out->created_ms = rec->created_ms;
    return group_lag(t, rec, &out->lag);
}

sl_err sl_group_get(sl_txn *t, const char *name, sl_group_info *out)
{
    if (!t || !out)
        return SL_ERR_INVALID;
    sl_group_rec rec;
    sl_err rc = sl_group_rec_load(t, name, &rec);
    if (rc != SL_OK)
        return rc;
    return info_of(t, &rec, out);
}

sl_err sl_groups_each(sl_txn *t, sl_group_cb cb, void *ctx)
{
    if (!t || !cb)
        return SL_ERR_INVALID;
    MDB_cursor *c;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_GROUPS), &c);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    sl_group_rec rec;
    sl_group_info info;
    sl_err rc = SL_OK;
    MDB_val k, v;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && rc == SL_OK;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        rc = group_rec_decode(k, v, &rec);
        if (rc == SL_OK)
            rc = info_of(t, &rec, &info);
        if (rc == SL_OK)
            rc = cb(ctx, &info);
    }
    mdb_cursor_close(c);
    if (rc != SL_OK)
        return rc;
    return mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

/* The first seq of gid in a gid(4) seq(8) keyed database, or UINT64_MAX. */
static sl_err first_seq_of(MDB_cursor *c, uint32_t gid, uint64_t *seq)
{
    uint8_t key[SL_GID_SEQ_KEY_LEN];
    sl_gid_seq_key(key, gid, 0);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    *seq = UINT64_MAX;
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl_err_from_mdb(rc);
    if (k.mv_size == SL_GID_SEQ_KEY_LEN && sl_get_u32(k.mv_data) == gid)
        *seq = sl_get_u64((const uint8_t *)k.mv_data + 4);
    return SL_OK;
}

/* Lower *floor_seq to what the group of record (key, val) still needs. */
static sl_err floor_of_group(MDB_val key, MDB_val val, MDB_cursor *leases, MDB_cursor *dlq,
                             uint64_t *floor_seq)
{
    sl_group_rec rec;
    sl_err rc = group_rec_decode(key, val, &rec);
    if (rc != SL_OK)
        return rc;
    uint64_t lease_seq, dlq_seq;
    rc = first_seq_of(leases, rec.gid, &lease_seq);
    if (rc == SL_OK)
        rc = first_seq_of(dlq, rec.gid, &dlq_seq);
    if (rc == SL_OK)
        *floor_seq = min_u64(*floor_seq, min_u64(rec.cursor, min_u64(lease_seq, dlq_seq)));
    return rc;
}

static void close_cursors(MDB_cursor **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i])
            mdb_cursor_close(c[i]);
}

sl_err sl_groups_floor(sl_txn *t, uint64_t *floor_seq)
{
    if (!t || !floor_seq)
        return SL_ERR_INVALID;
    MDB_cursor *c[3] = {NULL, NULL, NULL}; /* groups, leases, dead letters */
    const sl_db dbs[3] = {SL_DB_GROUPS, SL_DB_LEASES, SL_DB_DLQ};
    int mrc = 0;
    for (size_t i = 0; i < 3 && mrc == 0; i++)
        mrc = mdb_cursor_open(t->txn, sl_dbi(t, dbs[i]), &c[i]);
    if (mrc != 0) {
        close_cursors(c, 3);
        return sl_err_from_mdb(mrc);
    }
    uint64_t floor = UINT64_MAX;
    sl_err rc = SL_OK;
    MDB_val k, v;
    for (mrc = mdb_cursor_get(c[0], &k, &v, MDB_FIRST); mrc == 0 && rc == SL_OK;
         mrc = mdb_cursor_get(c[0], &k, &v, MDB_NEXT))
        rc = floor_of_group(k, v, c[1], c[2], &floor);
    close_cursors(c, 3);
    if (rc == SL_OK && mrc != MDB_NOTFOUND)
        rc = sl_err_from_mdb(mrc);
    if (rc == SL_OK)
        *floor_seq = floor;
    return rc;
}
