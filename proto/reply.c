/* reply.c: see reply.h. msgpack-c's packer writes into a msgpack_sbuffer;
 * its only failure is a failed realloc, reported here as SL_ERR_NOMEM. */
#include "proto/reply.h"

#include <stdlib.h>
#include <string.h>
#include "core/bytes.h"

static sl_err mp_rc(int rc)
{
    return rc == 0 ? SL_OK : SL_ERR_NOMEM;
}

/* The packer of r, pointed at r's buffer (r may have moved since init). */
static msgpack_packer *pk_of(sl_reply_buf *r)
{
    msgpack_packer_init(&r->pk, &r->sbuf, msgpack_sbuffer_write);
    return &r->pk;
}

void sl_reply_init(sl_reply_buf *r)
{
    msgpack_sbuffer_init(&r->sbuf);
    msgpack_packer_init(&r->pk, &r->sbuf, msgpack_sbuffer_write);
}

void sl_reply_reset(sl_reply_buf *r)
{
    msgpack_sbuffer_clear(&r->sbuf);
}

void sl_reply_free(sl_reply_buf *r)
{
    msgpack_sbuffer_destroy(&r->sbuf);
    sl_reply_init(r);
}

void sl_reply_shrink(sl_reply_buf *r, size_t keep_bytes)
{
    if (r->sbuf.alloc > keep_bytes)
        sl_reply_free(r);
    else
        sl_reply_reset(r);
}

const void *sl_reply_data(const sl_reply_buf *r)
{
    return r->sbuf.size ? r->sbuf.data : NULL;
}

size_t sl_reply_size(const sl_reply_buf *r)
{
    return r->sbuf.size;
}

/* ---- building blocks ----------------------------------------------------- */

sl_err sl_reply_str(sl_reply_buf *r, sl_slice s)
{
    msgpack_packer *pk = pk_of(r);
    if (msgpack_pack_str(pk, s.len) != 0)
        return SL_ERR_NOMEM;
    return s.len ? mp_rc(msgpack_pack_str_body(pk, s.ptr, s.len)) : SL_OK;
}

sl_err sl_reply_bin(sl_reply_buf *r, sl_slice b)
{
    msgpack_packer *pk = pk_of(r);
    if (msgpack_pack_bin(pk, b.len) != 0)
        return SL_ERR_NOMEM;
    return b.len ? mp_rc(msgpack_pack_bin_body(pk, b.ptr, b.len)) : SL_OK;
}

sl_err sl_reply_key(sl_reply_buf *r, const char *key)
{
    return sl_reply_str(r, sl_slice_of(key));
}

sl_err sl_reply_uint(sl_reply_buf *r, uint64_t v)
{
    return mp_rc(msgpack_pack_uint64(pk_of(r), v));
}

sl_err sl_reply_bool(sl_reply_buf *r, bool v)
{
    return mp_rc(v ? msgpack_pack_true(pk_of(r)) : msgpack_pack_false(pk_of(r)));
}

sl_err sl_reply_array(sl_reply_buf *r, uint32_t n)
{
    return mp_rc(msgpack_pack_array(pk_of(r), n));
}

sl_err sl_reply_map(sl_reply_buf *r, uint32_t n)
{
    return mp_rc(msgpack_pack_map(pk_of(r), n));
}

sl_err sl_reply_kv_uint(sl_reply_buf *r, const char *key, uint64_t v)
{
    sl_err rc = sl_reply_key(r, key);
    return rc != SL_OK ? rc : sl_reply_uint(r, v);
}

sl_err sl_reply_kv_str(sl_reply_buf *r, const char *key, const char *v)
{
    sl_err rc = sl_reply_key(r, key);
    return rc != SL_OK ? rc : sl_reply_str(r, sl_slice_of(v));
}

sl_err sl_reply_ok_begin(sl_reply_buf *r, uint32_t npairs)
{
    sl_reply_reset(r);
    sl_err rc = sl_reply_map(r, npairs + 1);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "ok");
    return rc != SL_OK ? rc : sl_reply_bool(r, true);
}

sl_err sl_reply_array_open(sl_reply_buf *r, size_t *mark)
{
    static const char header[5] = {(char)0xdd, 0, 0, 0, 0}; /* array 32, count 0 */
    *mark = r->sbuf.size;
    return mp_rc(msgpack_sbuffer_write(&r->sbuf, header, sizeof header));
}

void sl_reply_array_patch(sl_reply_buf *r, size_t mark, uint32_t n)
{
    if (mark + 5 <= r->sbuf.size && (uint8_t)r->sbuf.data[mark] == 0xdd)
        sl_put_u32((uint8_t *)r->sbuf.data + mark + 1, n);
}

/* ---- errors -------------------------------------------------------------- */

static sl_err error_reply(sl_reply_buf *r, const char *code, const char *message,
                          const char *field, long long index)
{
    bool has_field = field && field[0];
    bool has_index = index >= 0;
    sl_reply_reset(r);
    sl_err rc = sl_reply_map(r, 2);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "ok");
    if (rc == SL_OK)
        rc = sl_reply_bool(r, false);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "error");
    if (rc == SL_OK)
        rc = sl_reply_map(r, 2 + has_field + has_index);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "code", code ? code : "internal");
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "message", message ? message : "");
    if (rc == SL_OK && has_field)
        rc = sl_reply_kv_str(r, "field", field);
    if (rc == SL_OK && has_index)
        rc = sl_reply_kv_uint(r, "index", (uint64_t)index);
    return rc;
}

sl_err sl_reply_error(sl_reply_buf *r, const char *code, const char *message, const char *field)
{
    return error_reply(r, code, message, field, -1);
}

sl_err sl_reply_wire_error(sl_reply_buf *r, const sl_wire_error *e)
{
    return error_reply(r, e->code, e->message, e->field, e->index);
}

sl_err sl_reply_core_error(sl_reply_buf *r, sl_err err, const char *message, const char *field)
{
    return error_reply(r, sl_err_code(err), message ? message : sl_err_text(err), field, -1);
}

/* ---- shapes -------------------------------------------------------------- */

static sl_err kv_id(sl_reply_buf *r, uint64_t instance, uint64_t seq)
{
    char id[SL_EVENT_ID_LEN + 1];
    sl_event_id_format(instance, seq, id);
    return sl_reply_kv_str(r, "id", id);
}

sl_err sl_reply_kv_slice(sl_reply_buf *r, const char *key, sl_slice v)
{
    sl_err rc = sl_reply_key(r, key);
    return rc != SL_OK ? rc : sl_reply_str(r, v);
}

/* Number of pairs pack_event_pairs writes for ev. */
static uint32_t event_pairs(const sl_event_view *ev)
{
    return 5 + (ev->content_type.len > 0) + (ev->nheaders > 0);
}

static sl_err pack_headers(sl_reply_buf *r, const sl_event_view *ev)
{
    sl_err rc = sl_reply_key(r, "headers");
    if (rc == SL_OK)
        rc = sl_reply_map(r, ev->nheaders);
    size_t pos = 0;
    for (uint32_t i = 0; i < ev->nheaders && rc == SL_OK; i++) {
        sl_header h;
        if (sl_event_header_next(ev, &pos, &h) != SL_OK)
            return SL_ERR_CORRUPT;
        rc = sl_reply_str(r, h.key);
        if (rc == SL_OK)
            rc = sl_reply_str(r, h.value);
    }
    return rc;
}

/* The Event pairs of ev, without the map header. */
static sl_err pack_event_pairs(sl_reply_buf *r, uint64_t instance, const sl_event_view *ev)
{
    sl_err rc = sl_reply_kv_uint(r, "seq", ev->seq);
    if (rc == SL_OK)
        rc = kv_id(r, instance, ev->seq);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "topic", ev->topic);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "ts_ms", ev->ts_ms);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "payload");
    if (rc == SL_OK)
        rc = sl_reply_bin(r, ev->payload);
    if (rc == SL_OK && ev->content_type.len > 0)
        rc = sl_reply_kv_slice(r, "content_type", ev->content_type);
    if (rc == SL_OK && ev->nheaders > 0)
        rc = pack_headers(r, ev);
    return rc;
}

sl_err sl_reply_event(sl_reply_buf *r, uint64_t instance, const sl_event_view *ev)
{
    sl_err rc = sl_reply_map(r, event_pairs(ev));
    return rc != SL_OK ? rc : pack_event_pairs(r, instance, ev);
}

/* ---- direct encoding (pull's hot path) -------------------------------------
 * A pull encodes up to SL_PULL_BATCH_MAX deliveries on the writer thread, in
 * its transaction. Instead of one packer call (buffer check, function
 * pointer, memcpy) per key and value, a delivery reserves room once and
 * writes its bytes straight into the buffer. The bytes are exactly those the
 * packer writes (smallest integer, str and bin forms; msgpack-c 4.0 packs
 * str 8 for 32..255 bytes). */

/* Room for n more bytes in r's buffer (grown as msgpack_sbuffer_write does). */
static sl_err reserve(sl_reply_buf *r, size_t n)
{
    msgpack_sbuffer *sb = &r->sbuf;
    if (sb->alloc - sb->size >= n)
        return SL_OK;
    size_t alloc = sb->alloc ? sb->alloc * 2 : MSGPACK_SBUFFER_INIT_SIZE;
    while (alloc < sb->size + n) {
        if (alloc * 2 <= alloc)
            return SL_ERR_NOMEM;
        alloc *= 2;
    }
    char *data = realloc(sb->data, alloc);
    if (!data)
        return SL_ERR_NOMEM;
    sb->data = data;
    sb->alloc = alloc;
    return SL_OK;
}

static uint8_t *put_uint(uint8_t *p, uint64_t v)
{
    if (v < 128) {
        *p++ = (uint8_t)v;
    } else if (v < 256) {
        *p++ = 0xcc;
        *p++ = (uint8_t)v;
    } else if (v < 65536) {
        *p++ = 0xcd;
        sl_put_u16(p, (uint16_t)v);
        p += 2;
    } else if (v <= UINT32_MAX) {
        *p++ = 0xce;
        sl_put_u32(p, (uint32_t)v);
        p += 4;
    } else {
        *p++ = 0xcf;
        sl_put_u64(p, v);
        p += 8;
    }
    return p;
}

/* A str (bin: 0) or bin (bin: 1) header and body: at most 5 + len bytes. */
static uint8_t *put_raw(uint8_t *p, int bin, const void *data, size_t len)
{
    if (!bin && len < 32) {
        *p++ = (uint8_t)(0xa0 | len);
    } else if (len < 256) {
        *p++ = bin ? 0xc4 : 0xd9;
        *p++ = (uint8_t)len;
    } else if (len < 65536) {
        *p++ = bin ? 0xc5 : 0xda;
        sl_put_u16(p, (uint16_t)len);
        p += 2;
    } else {
        *p++ = bin ? 0xc6 : 0xdb;
        sl_put_u32(p, (uint32_t)len);
        p += 4;
    }
    if (len)
        memcpy(p, data, len);
    return p + len;
}

/* A key known at compile time (shorter than 32 bytes: one fixstr). */
#define PUT_KEY(p, lit) put_raw((p), 0, (lit), sizeof(lit) - 1)

static uint8_t *put_map(uint8_t *p, uint32_t n)
{
    if (n < 16) {
        *p++ = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        *p++ = 0xde;
        sl_put_u16(p, (uint16_t)n);
        p += 2;
    } else {
        *p++ = 0xdf;
        sl_put_u32(p, n);
        p += 4;
    }
    return p;
}

#define UINT_MAX_BYTES 9
#define RAW_HDR_MAX 5

sl_err sl_reply_delivery(sl_reply_buf *r, uint64_t instance, const sl_delivery *d)
{
    const sl_event_view *ev = &d->event;
    /* the map header, seq, id, topic, ts_ms, payload and content_type */
    size_t need = 5 + (4 + UINT_MAX_BYTES) + (3 + RAW_HDR_MAX + SL_EVENT_ID_LEN) +
                  (6 + RAW_HDR_MAX + ev->topic.len) + (6 + UINT_MAX_BYTES) +
                  (8 + RAW_HDR_MAX + ev->payload.len) +
                  (13 + RAW_HDR_MAX + ev->content_type.len);
    sl_err rc = reserve(r, need);
    if (rc != SL_OK)
        return rc;
    char id[SL_EVENT_ID_LEN + 1];
    sl_event_id_format(instance, ev->seq, id);
    uint8_t *p = (uint8_t *)r->sbuf.data + r->sbuf.size;
    p = put_map(p, event_pairs(ev) + 3);
    p = PUT_KEY(p, "seq");
    p = put_uint(p, ev->seq);
    p = PUT_KEY(p, "id");
    p = put_raw(p, 0, id, SL_EVENT_ID_LEN);
    p = PUT_KEY(p, "topic");
    p = put_raw(p, 0, ev->topic.ptr, ev->topic.len);
    p = PUT_KEY(p, "ts_ms");
    p = put_uint(p, ev->ts_ms);
    p = PUT_KEY(p, "payload");
    p = put_raw(p, 1, ev->payload.ptr, ev->payload.len);
    if (ev->content_type.len > 0) {
        p = PUT_KEY(p, "content_type");
        p = put_raw(p, 0, ev->content_type.ptr, ev->content_type.len);
    }
    r->sbuf.size = (size_t)(p - (uint8_t *)r->sbuf.data);
    if (ev->nheaders > 0 && (rc = pack_headers(r, ev)) != SL_OK)
        return rc;
    /* attempt, token, lease_until_ms */
    rc = reserve(r, (8 + UINT_MAX_BYTES) + (6 + RAW_HDR_MAX + SL_TOKEN_LEN) +
                        (15 + UINT_MAX_BYTES));
    if (rc != SL_OK)
        return rc;
    p = (uint8_t *)r->sbuf.data + r->sbuf.size;
    p = PUT_KEY(p, "attempt");
    p = put_uint(p, d->attempt);
    p = PUT_KEY(p, "token");
    p = put_raw(p, 0, d->token, strnlen(d->token, SL_TOKEN_LEN));
    p = PUT_KEY(p, "lease_until_ms");
    p = put_uint(p, d->lease_until_ms);
    r->sbuf.size = (size_t)(p - (uint8_t *)r->sbuf.data);
    return SL_OK;
}

static sl_err kv_filters(sl_reply_buf *r, const sl_group_config *c)
{
    uint32_t n = c->nfilters <= SL_FILTERS_MAX ? c->nfilters : SL_FILTERS_MAX;
    sl_err rc = sl_reply_key(r, "filters");
    if (rc == SL_OK)
        rc = sl_reply_array(r, n);
    for (uint32_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_reply_str(r, sl_slice_of(c->filters[i]));
    return rc;
}

static sl_err kv_backoff(sl_reply_buf *r, const sl_group_config *c)
{
    uint32_t n = c->nbackoff <= SL_BACKOFF_MAX ? c->nbackoff : SL_BACKOFF_MAX;
    sl_err rc = sl_reply_key(r, "backoff_ms");
    if (rc == SL_OK)
        rc = sl_reply_array(r, n);
    for (uint32_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_reply_uint(r, c->backoff_ms[i]);
    return rc;
}

/* The configuration pairs of a Group (8). */
static sl_err pack_group_config(sl_reply_buf *r, const sl_group_config *c)
{
    sl_err rc = sl_reply_kv_str(r, "name", c->name);
    if (rc == SL_OK)
        rc = kv_filters(r, c);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "start", sl_start_kind_name(c->start));
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "start_value", c->start_value);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "ack_wait_ms", c->ack_wait_ms);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "max_deliveries", c->max_deliveries);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "max_inflight", c->max_inflight);
    if (rc == SL_OK)
        rc = kv_backoff(r, c);
    return rc;
}

sl_err sl_reply_group(sl_reply_buf *r, const sl_group_info *g)
{
    sl_err rc = sl_reply_map(r, 17);
    if (rc == SL_OK)
        rc = pack_group_config(r, &g->config);
    const struct {
        const char *key;
        uint64_t value;
    } counters[] = {
        {"cursor", g->cursor},       {"lag", g->lag},
        {"in_flight", g->in_flight}, {"waiting", g->waiting},
        {"delivered", g->delivered}, {"redelivered", g->redelivered},
        {"acked", g->acked},         {"dlq_size", g->dlq_size},
        {"created_ms", g->created_ms},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0] && rc == SL_OK; i++)
        rc = sl_reply_kv_uint(r, counters[i].key, counters[i].value);
    return rc;
}

sl_err sl_reply_dead_letter(sl_reply_buf *r, uint64_t instance, const sl_dead_letter *dl)
{
    sl_err rc = sl_reply_map(r, 5 + dl->event_retained);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "seq", dl->seq);
    if (rc == SL_OK)
        rc = kv_id(r, instance, dl->seq);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "attempts", dl->attempts);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "dead_at_ms", dl->dead_at_ms);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "reason", dl->reason);
    if (rc == SL_OK && dl->event_retained) {
        rc = sl_reply_key(r, "event");
        if (rc == SL_OK)
            rc = sl_reply_event(r, instance, &dl->event);
    }
    return rc;
}

sl_err sl_reply_topic(sl_reply_buf *r, const sl_topic_info *t)
{
    sl_err rc = sl_reply_map(r, 5);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "name", t->name);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "events", t->events);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "bytes", t->bytes);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "first_seq", t->first_seq);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "last_seq", t->last_seq);
    return rc;
}

sl_err sl_reply_append_result(sl_reply_buf *r, uint64_t instance, const sl_append_result *a)
{
    sl_err rc = sl_reply_map(r, 4);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "seq", a->seq);
    if (rc == SL_OK)
        rc = kv_id(r, instance, a->seq);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "ts_ms", a->ts_ms);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "duplicate");
    if (rc == SL_OK)
        rc = sl_reply_bool(r, a->duplicate);
    return rc;
}
