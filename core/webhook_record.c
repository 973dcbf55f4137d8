/* webhook_record.c: the codecs of the webhook records (subscription, stats,
 * delivery-log entry), ids <-> keys, and the get/put/del of the subscription
 * and stats records. See webhook_record.h; layouts in core/FORMAT.md. */
#include "webhook_record.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "record_codec.h"
#include "db.h"
#include "topic.h"

#define STATS_LEN (130 + 8 * SL_WEBHOOK_LATENCY_BUCKETS)
#define REC_FIXED_LEN 46 /* bytes before the reason, see FORMAT.md */
#define SECRET_STORED_MAX 255
#define REC_MAX                                                                       \
    (REC_FIXED_LEN + 1 + SL_WEBHOOK_REASON_MAX + 1 + SL_WEBHOOK_NAME_MAX + 2 +         \
     SL_WEBHOOK_DESC_MAX + 2 + SL_WEBHOOK_URL_MAX + 1 +                                \
     SL_WEBHOOK_FILTERS_MAX * (1 + SL_TOPIC_MAX) + 1 + 8 * SL_WEBHOOK_RETRY_MAX + 1 +  \
     SL_WEBHOOK_HEADERS_MAX * (3 + SL_WEBHOOK_HEADER_NAME_MAX + SL_WEBHOOK_HEADER_VALUE_MAX) + \
     1 + SL_WEBHOOK_SECRETS_MAX * (9 + SECRET_STORED_MAX))

/* ---- a bounded rec_writer and reader ------------------------------------------ */

/* A string of at most max bytes with a 1-byte (wide: 2-byte) length. */
static void put_str(rec_writer *w, sl_slice s, size_t max, bool wide)
{
    if (s.len > max || (s.len && !s.ptr)) {
        w->bad = true;
        return;
    }
    if (wide)
        rec_put16(w, (uint16_t)s.len);
    else
        rec_put8(w, (uint8_t)s.len);
    rec_put_bytes(w, s.ptr, s.len);
}

/* A string with a 1-byte (wide: 2-byte) length of min..max bytes. */
static sl_slice get_str(rec_reader *r, size_t min, size_t max, bool wide)
{
    size_t n = wide ? rec_get16(r) : rec_get8(r);
    if (n < min || n > max)
        r->bad = true;
    const uint8_t *p = rec_take(r, n);
    return p ? (sl_slice){(const char *)p, n} : (sl_slice){"", 0};
}

/* ---- the subscription record --------------------------------------------- */

static void encode_lists(rec_writer *w, const sl_webhook_config *c)
{
    rec_put8(w, (uint8_t)c->nfilters);
    for (uint32_t i = 0; i < c->nfilters && !w->bad; i++)
        put_str(w, c->filters[i], SL_TOPIC_MAX, false);
    rec_put8(w, (uint8_t)c->nretry);
    for (uint32_t i = 0; i < c->nretry && !w->bad; i++)
        rec_put64(w, c->retry_ms[i]);
    rec_put8(w, (uint8_t)c->nheaders);
    for (uint32_t i = 0; i < c->nheaders && !w->bad; i++) {
        put_str(w, c->headers[i].key, SL_WEBHOOK_HEADER_NAME_MAX, false);
        put_str(w, c->headers[i].value, SL_WEBHOOK_HEADER_VALUE_MAX, true);
    }
}

/* Encode v into buf (REC_MAX bytes); 0 when a count or length is out of range. */
static size_t rec_encode(const sl_webhook_view *v, uint8_t *buf)
{
    const sl_webhook_config *c = &v->config;
    if (c->nfilters > SL_WEBHOOK_FILTERS_MAX || c->nretry > SL_WEBHOOK_RETRY_MAX ||
        c->nheaders > SL_WEBHOOK_HEADERS_MAX || v->nsecrets > SL_WEBHOOK_SECRETS_MAX)
        return 0;
    rec_writer w = {buf, REC_MAX, false};
    rec_put8(&w, SL_WEBHOOK_RECORD_VERSION);
    rec_put64(&w, v->created_ms);
    rec_put64(&w, v->updated_ms);
    rec_put64(&w, v->disabled_ms);
    rec_put8(&w, c->active ? 1 : 0);
    rec_put64(&w, c->timeout_ms);
    rec_put32(&w, c->max_in_flight);
    rec_put32(&w, c->rate_limit);
    rec_put32(&w, c->disable_after);
    put_str(&w, v->disabled_reason, SL_WEBHOOK_REASON_MAX, false);
    put_str(&w, c->name, SL_WEBHOOK_NAME_MAX, false);
    put_str(&w, c->description, SL_WEBHOOK_DESC_MAX, true);
    put_str(&w, c->url, SL_WEBHOOK_URL_MAX, true);
    encode_lists(&w, c);
    rec_put8(&w, (uint8_t)v->nsecrets);
    for (uint32_t i = 0; i < v->nsecrets && !w.bad; i++) {
        rec_put64(&w, v->secrets[i].expires_ms);
        put_str(&w, v->secrets[i].secret, SECRET_STORED_MAX, false);
    }
    return w.bad ? 0 : REC_MAX - w.left;
}

static void decode_lists(rec_reader *r, sl_webhook_config *c)
{
    c->nfilters = rec_get8(r);
    if (c->nfilters < 1 || c->nfilters > SL_WEBHOOK_FILTERS_MAX)
        r->bad = true;
    for (uint32_t i = 0; i < c->nfilters && !r->bad; i++)
        c->filters[i] = get_str(r, 1, SL_TOPIC_MAX, false);
    c->nretry = rec_get8(r);
    if (c->nretry > SL_WEBHOOK_RETRY_MAX)
        r->bad = true;
    for (uint32_t i = 0; i < c->nretry && !r->bad; i++)
        c->retry_ms[i] = rec_get64(r);
    c->nheaders = rec_get8(r);
    if (c->nheaders > SL_WEBHOOK_HEADERS_MAX)
        r->bad = true;
    for (uint32_t i = 0; i < c->nheaders && !r->bad; i++) {
        c->headers[i].key = get_str(r, 1, SL_WEBHOOK_HEADER_NAME_MAX, false);
        c->headers[i].value = get_str(r, 0, SL_WEBHOOK_HEADER_VALUE_MAX, true);
    }
}

static void decode_secrets(rec_reader *r, sl_webhook_view *out)
{
    out->nsecrets = rec_get8(r);
    if (out->nsecrets > SL_WEBHOOK_SECRETS_MAX)
        r->bad = true;
    for (uint32_t i = 0; i < out->nsecrets && !r->bad; i++) {
        out->secrets[i].expires_ms = rec_get64(r);
        out->secrets[i].secret = get_str(r, 1, SECRET_STORED_MAX, false);
    }
}

sl_err sl_webhook_rec_decode(const void *key, size_t klen, const void *val, size_t vlen,
                             sl_webhook_view *out)
{
    memset(out, 0, sizeof *out);
    if (klen != SL_WEBHOOK_KEY_LEN || vlen < 1)
        return SL_ERR_CORRUPT;
    sl_webhook_key_format(sl_get_u64(key), out->id);
    sl_webhook_group_name(out->id, out->group);
    rec_reader r = {val, vlen, false};
    if (rec_get8(&r) != SL_WEBHOOK_RECORD_VERSION)
        return SL_ERR_VERSION;
    sl_webhook_config *c = &out->config;
    out->created_ms = rec_get64(&r);
    out->updated_ms = rec_get64(&r);
    out->disabled_ms = rec_get64(&r);
    uint8_t active = rec_get8(&r);
    c->active = active == 1;
    c->timeout_ms = rec_get64(&r);
    c->max_in_flight = rec_get32(&r);
    c->rate_limit = rec_get32(&r);
    c->disable_after = rec_get32(&r);
    out->disabled_reason = get_str(&r, 0, SL_WEBHOOK_REASON_MAX, false);
    c->name = get_str(&r, 1, SL_WEBHOOK_NAME_MAX, false);
    c->description = get_str(&r, 0, SL_WEBHOOK_DESC_MAX, true);
    c->url = get_str(&r, 1, SL_WEBHOOK_URL_MAX, true);
    decode_lists(&r, c);
    decode_secrets(&r, out);
    return r.bad || r.left || active > 1 ? SL_ERR_CORRUPT : SL_OK;
}

sl_err sl_webhook_rec_get(sl_txn *t, uint64_t key, sl_webhook_view *out)
{
    uint8_t kb[SL_WEBHOOK_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_WEBHOOKS), &k, &v);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return sl_webhook_rec_decode(kb, sizeof kb, v.mv_data, v.mv_size, out);
}

sl_err sl_webhook_rec_put(sl_txn *w, uint64_t key, const sl_webhook_view *v)
{
    uint8_t buf[REC_MAX], kb[SL_WEBHOOK_KEY_LEN];
    size_t len = rec_encode(v, buf); /* copies everything before the write */
    if (len == 0)
        return SL_ERR_INVALID;
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, val = {len, buf};
    int rc = sl_db_put(w, SL_DB_WEBHOOKS, &k, &val, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

sl_err sl_webhook_rec_del(sl_txn *w, uint64_t key)
{
    uint8_t kb[SL_WEBHOOK_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb};
    int rc = sl_db_del(w, SL_DB_WEBHOOKS, &k);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

/* ---- the stats record ------------------------------------------------------ */

static void stats_encode(const sl_webhook_stats_rec *s, uint8_t buf[STATS_LEN])
{
    rec_writer w = {buf, STATS_LEN, false};
    uint8_t elen = s->last_error_len > SL_WEBHOOK_ERROR_MAX ? SL_WEBHOOK_ERROR_MAX
                                                            : s->last_error_len;
    uint8_t err[SL_WEBHOOK_ERROR_MAX] = {0};
    memcpy(err, s->last_error, elen);
    rec_put8(&w, SL_WEBHOOK_STATS_VERSION);
    rec_put64(&w, s->attempts);
    rec_put64(&w, s->successes);
    rec_put64(&w, s->failures);
    rec_put64(&w, s->dead);
    rec_put32(&w, s->last_status);
    rec_put64(&w, s->last_attempt_ms);
    rec_put64(&w, s->last_success_ms);
    rec_put32(&w, s->consecutive_failures);
    rec_put64(&w, s->log_entries);
    rec_put8(&w, elen);
    rec_put_bytes(&w, err, sizeof err);
    for (size_t i = 0; i < SL_WEBHOOK_LATENCY_BUCKETS; i++)
        rec_put64(&w, s->latency[i]);
}

static sl_err stats_decode(const uint8_t *p, size_t len, sl_webhook_stats_rec *s)
{
    if (len < 1)
        return SL_ERR_CORRUPT;
    if (p[0] != SL_WEBHOOK_STATS_VERSION)
        return SL_ERR_VERSION;
    if (len != STATS_LEN)
        return SL_ERR_CORRUPT;
    rec_reader r = {p + 1, len - 1, false};
    s->attempts = rec_get64(&r);
    s->successes = rec_get64(&r);
    s->failures = rec_get64(&r);
    s->dead = rec_get64(&r);
    s->last_status = rec_get32(&r);
    s->last_attempt_ms = rec_get64(&r);
    s->last_success_ms = rec_get64(&r);
    s->consecutive_failures = rec_get32(&r);
    s->log_entries = rec_get64(&r);
    s->last_error_len = rec_get8(&r);
    const uint8_t *err = rec_take(&r, SL_WEBHOOK_ERROR_MAX);
    if (!err || s->last_error_len > SL_WEBHOOK_ERROR_MAX)
        return SL_ERR_CORRUPT;
    memcpy(s->last_error, err, SL_WEBHOOK_ERROR_MAX);
    for (size_t i = 0; i < SL_WEBHOOK_LATENCY_BUCKETS; i++)
        s->latency[i] = rec_get64(&r);
    return r.bad || r.left ? SL_ERR_CORRUPT : SL_OK;
}

sl_err sl_webhook_stats_get(sl_txn *t, uint64_t key, sl_webhook_stats_rec *out)
{
    memset(out, 0, sizeof *out);
    uint8_t kb[SL_WEBHOOK_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_WEBHOOK_STATS), &k, &v);
    if (rc == MDB_NOTFOUND)
        return SL_OK;
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return stats_decode(v.mv_data, v.mv_size, out);
}

sl_err sl_webhook_stats_put(sl_txn *w, uint64_t key, const sl_webhook_stats_rec *s)
{
    uint8_t buf[STATS_LEN], kb[SL_WEBHOOK_KEY_LEN];
    stats_encode(s, buf);
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, v = {sizeof buf, buf};
    int rc = sl_db_put(w, SL_DB_WEBHOOK_STATS, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

sl_err sl_webhook_stats_del(sl_txn *w, uint64_t key)
{
    uint8_t kb[SL_WEBHOOK_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb};
    int rc = sl_db_del(w, SL_DB_WEBHOOK_STATS, &k);
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* ---- the latency histogram -------------------------------------------------- */

/* Upper bound of bucket i in us: 1 ms x 2^(i/4), from whole octaves times
 * 2^(0, 1/4, 1/2, 3/4) in millionths (no floating point). */
static uint64_t bucket_bound_us(size_t i)
{
    static const uint64_t quarter[4] = {1000000, 1189207, 1414214, 1681793};
    return ((uint64_t)1000 << (i / 4)) * quarter[i % 4] / 1000000;
}

void sl_webhook_stats_add_latency(sl_webhook_stats_rec *s, uint64_t latency_us)
{
    size_t lo = 0, hi = SL_WEBHOOK_LATENCY_BUCKETS - 1; /* the last bucket takes the rest */
    while (lo < hi) { /* the first bucket whose bound is above the latency */
        size_t mid = (lo + hi) / 2;
        if (latency_us < bucket_bound_us(mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (s->latency[lo] < UINT64_MAX)
        s->latency[lo]++;
}

uint64_t sl_webhook_stats_percentile(const sl_webhook_stats_rec *s, unsigned pct)
{
    uint64_t total = 0;
    for (size_t i = 0; i < SL_WEBHOOK_LATENCY_BUCKETS; i++)
        total = total > UINT64_MAX - s->latency[i] ? UINT64_MAX : total + s->latency[i];
    if (total == 0 || pct == 0)
        return 0;
    if (pct > 100)
        pct = 100;
    /* the rank of the percentile: ceil(total x pct / 100), without overflow */
    uint64_t rank = total / 100 * pct + (total % 100 * pct + 99) / 100;
    uint64_t seen = 0;
    for (size_t i = 0; i < SL_WEBHOOK_LATENCY_BUCKETS; i++) {
        seen = seen > UINT64_MAX - s->latency[i] ? UINT64_MAX : seen + s->latency[i];
        if (seen >= rank)
            return bucket_bound_us(i);
    }
    return bucket_bound_us(SL_WEBHOOK_LATENCY_BUCKETS - 1);
}

/* ---- delivery-log entries ------------------------------------------------------ */

void sl_delivery_key(uint8_t out[SL_DELIVERY_KEY_LEN], uint64_t key, uint64_t entry_id)
{
    sl_put_u64(out, key);
    sl_put_u64(out + 8, entry_id);
}

static sl_slice cut(sl_slice s, size_t max)
{
    if (s.len > max)
        s.len = max;
    if (!s.ptr)
        s = (sl_slice){"", 0};
    return s;
}

size_t sl_delivery_entry_encode(const sl_delivery_entry *e, uint8_t *buf)
{
    sl_slice topic = cut(e->topic, SL_TOPIC_MAX);
    sl_slice error = cut(e->error, SL_WEBHOOK_ERROR_MAX);
    sl_slice body = cut(e->body, SL_WEBHOOK_BODY_KEEP);
    rec_writer w = {buf, SL_DELIVERY_ENTRY_MAX, false};
    rec_put8(&w, SL_DELIVERY_ENTRY_VERSION);
    rec_put8(&w, (uint8_t)e->result);
    rec_put32(&w, e->attempt);
    rec_put64(&w, e->seq);
    rec_put64(&w, e->time_ms);
    rec_put32(&w, e->http_status);
    rec_put64(&w, e->latency_us);
    rec_put8(&w, (uint8_t)topic.len);
    rec_put8(&w, (uint8_t)error.len);
    rec_put16(&w, (uint16_t)body.len);
    rec_put_bytes(&w, topic.ptr, topic.len);
    rec_put_bytes(&w, error.ptr, error.len);
    rec_put_bytes(&w, body.ptr, body.len);
    return SL_DELIVERY_ENTRY_MAX - w.left;
}

sl_err sl_delivery_entry_decode(const void *key, size_t klen, const void *val, size_t vlen,
                                sl_delivery_entry *out)
{
    memset(out, 0, sizeof *out);
    if (klen != SL_DELIVERY_KEY_LEN || vlen < 1)
        return SL_ERR_CORRUPT;
    out->entry_id = sl_get_u64((const uint8_t *)key + 8);
    rec_reader r = {val, vlen, false};
    if (rec_get8(&r) != SL_DELIVERY_ENTRY_VERSION)
        return SL_ERR_VERSION;
    uint8_t result = rec_get8(&r);
    out->attempt = rec_get32(&r);
    out->seq = rec_get64(&r);
    out->time_ms = rec_get64(&r);
    out->http_status = rec_get32(&r);
    out->latency_us = rec_get64(&r);
    size_t tlen = rec_get8(&r), elen = rec_get8(&r), blen = rec_get16(&r);
    const uint8_t *t = rec_take(&r, tlen), *e = rec_take(&r, elen), *b = rec_take(&r, blen);
    if (r.bad || r.left || result > SL_ATTEMPT_STALE || elen > SL_WEBHOOK_ERROR_MAX ||
        blen > SL_WEBHOOK_BODY_KEEP)
        return SL_ERR_CORRUPT;
    out->result = (sl_attempt_result)result;
    out->topic = (sl_slice){(const char *)t, tlen};
    out->error = (sl_slice){(const char *)e, elen};
    out->body = (sl_slice){(const char *)b, blen};
    return SL_OK;
}
