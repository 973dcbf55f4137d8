/* client.c: see client.h.
 *
 * The proto SConscript builds this one file into libsluice_client, so the
 * library is here in sections, each one concept:
 *   1. errors and names          4. reply decoding (shapes, then operations)
 *   2. the request sink          5. the transport (socket, dialer, one call)
 *   3. request encoders          6. one function per operation
 * Data flows: arguments -> encoder -> nng message -> call -> reply -> decoder.
 */
#include "proto/client.h"

#include <inttypes.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/mp_guard.h"

#define PROTO_VERSION 1
#define REPLY_DEPTH_MAX 8          /* deepest reply: map/array/dead letter/event/headers */
#define RECONNECT_MIN_MS 100       /* first redial delay after a lost connection */
#define RECONNECT_MAX_MS 2000      /* longest redial delay */

/* ==== 1. errors and names ================================================== */

/* Copy n bytes of src into dst (cap bytes, NUL included), cut to fit, with
 * control characters replaced so messages print safely. */
static void copy_text(char *dst, size_t cap, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && i + 1 < cap && src[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

/* Record an error in e (replacing whatever was there) and return st. */
__attribute__((format(printf, 4, 5)))
static sl_client_status fail(sl_client_error *e, sl_client_status st, const char *code,
                             const char *fmt, ...)
{
    memset(e, 0, sizeof *e);
    e->status = st;
    copy_text(e->code, sizeof e->code, code, strlen(code));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return st;
}

static sl_client_status fail_nomem(sl_client_error *e)
{
    return fail(e, SL_CLIENT_ERR_NOMEM, "no_memory", "out of memory");
}

static sl_client_status fail_argument(sl_client_error *e, const char *what)
{
    return fail(e, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "%s", what);
}

const char *sl_client_status_name(sl_client_status st)
{
    switch (st) {
    case SL_CLIENT_OK: return "ok";
    case SL_CLIENT_ERR_SERVER: return "server";
    case SL_CLIENT_ERR_TRANSPORT: return "transport";
    case SL_CLIENT_ERR_BAD_REPLY: return "bad_reply";
    case SL_CLIENT_ERR_ARGUMENT: return "argument";
    case SL_CLIENT_ERR_NOMEM: return "no_memory";
    }
    return "unknown";
}

const char *sl_client_op_name(sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_PING: return "ping";
    case SL_CLIENT_OP_PUBLISH: return "publish";
    case SL_CLIENT_OP_PULL: return "pull";
    case SL_CLIENT_OP_ACK: return "ack";
    case SL_CLIENT_OP_NACK: return "nack";
    case SL_CLIENT_OP_EXTEND: return "extend";
    case SL_CLIENT_OP_TERM: return "term";
    case SL_CLIENT_OP_GROUP_CREATE: return "group.create";
    case SL_CLIENT_OP_GROUP_UPDATE: return "group.update";
    case SL_CLIENT_OP_GROUP_GET: return "group.get";
    case SL_CLIENT_OP_GROUP_LIST: return "group.list";
    case SL_CLIENT_OP_GROUP_DELETE: return "group.delete";
    case SL_CLIENT_OP_TOPICS: return "topics";
    case SL_CLIENT_OP_LOG_READ: return "log.read";
    case SL_CLIENT_OP_DLQ_LIST: return "dlq.list";
    case SL_CLIENT_OP_DLQ_GET: return "dlq.get";
    case SL_CLIENT_OP_DLQ_REPLAY: return "dlq.replay";
    case SL_CLIENT_OP_DLQ_PURGE: return "dlq.purge";
    case SL_CLIENT_OP_STATS: return "stats";
    case SL_CLIENT_OP_NONE:
    case SL_CLIENT_OP_RAW: break;
    }
    return "";
}

/* ==== 2. the request sink ===================================================
 * Encoders write through a msgpack_packer into a sink over an sl_client_buf
 * (which grows by doubling). A failed append or an over-long string marks
 * the sink; the encoder's caller checks it once at the end. */

typedef struct sink {
    msgpack_packer pk;   /* writes through sink_write */
    sl_client_buf *buf;  /* the target */
    bool nomem;          /* an append failed */
    bool too_long;       /* a string, bin or count does not fit msgpack's 32 bits */
} sink;

void sl_client_buf_free(sl_client_buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Make room for n more bytes in b. */
static bool buf_reserve(sl_client_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return true;
    if (n > SIZE_MAX - b->len)
        return false;
    size_t want = b->len + n, cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

static int sink_write(void *data, const char *p, size_t n)
{
    sink *s = data;
    if (s->nomem)
        return -1;
    if (!buf_reserve(s->buf, n)) {
        s->nomem = true;
        return -1;
    }
    memcpy(s->buf->data + s->buf->len, p, n);
    s->buf->len += n;
    return 0;
}

static void sink_init_buf(sink *s, sl_client_buf *b)
{
    memset(s, 0, sizeof *s);
    s->buf = b;
    msgpack_packer_init(&s->pk, s, sink_write);
}


/* The status of an encoder run: its own result, else the sink's state. */
static sl_client_status sink_status(const sink *s, sl_client_status st)
{
    if (st != SL_CLIENT_OK)
        return st;
    if (s->nomem)
        return SL_CLIENT_ERR_NOMEM;
    if (s->too_long)
        return SL_CLIENT_ERR_ARGUMENT;
    return SL_CLIENT_OK;
}

static bool fits32(sink *s, size_t n)
{
    if (n > UINT32_MAX) {
        s->too_long = true;
        return false;
    }
    return true;
}

static void put_map(sink *s, size_t n)
{
    if (fits32(s, n))
        msgpack_pack_map(&s->pk, n);
}

static void put_array(sink *s, size_t n)
{
    if (fits32(s, n))
        msgpack_pack_array(&s->pk, n);
}

static void put_str(sink *s, sl_slice v)
{
    if (fits32(s, v.len)) {
        msgpack_pack_str(&s->pk, v.len);
        if (v.len > 0)
            msgpack_pack_str_body(&s->pk, v.ptr, v.len);
    }
}

static void put_cstr(sink *s, const char *v)
{
    put_str(s, sl_slice_of(v));
}

static void put_bin(sink *s, sl_slice v)
{
    if (fits32(s, v.len)) {
        msgpack_pack_bin(&s->pk, v.len);
        if (v.len > 0)
            msgpack_pack_bin_body(&s->pk, v.ptr, v.len);
    }
}

static void put_uint(sink *s, uint64_t v)
{
    msgpack_pack_uint64(&s->pk, v);
}

static void put_kv_uint(sink *s, const char *key, uint64_t v)
{
    put_cstr(s, key);
    put_uint(s, v);
}

static void put_kv_cstr(sink *s, const char *key, const char *v)
{
    put_cstr(s, key);
    put_cstr(s, v);
}

/* The request map header: nfields operation fields follow "v" and "op". */
static void put_request(sink *s, sl_client_op op, size_t nfields)
{
    put_map(s, nfields + 2);
    put_kv_uint(s, "v", PROTO_VERSION);
    put_kv_cstr(s, "op", sl_client_op_name(op));
}

/* A slice may have a NULL pointer only when empty. */
static bool slice_ok(sl_slice v)
{
    return v.ptr != NULL || v.len == 0;
}

/* ==== 3. request encoders ===================================================
 * pack_* write one request into a sink and check their arguments first;
 * the public sl_client_encode_* run them into a buffer. */

static sl_client_status pack_bare(sink *s, sl_client_op op)
{
    if (op != SL_CLIENT_OP_PING && op != SL_CLIENT_OP_GROUP_LIST && op != SL_CLIENT_OP_TOPICS &&
        op != SL_CLIENT_OP_STATS)
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, op, 0);
    return SL_CLIENT_OK;
}

static bool event_ok(const sl_event_in *ev)
{
    if (!slice_ok(ev->topic) || !slice_ok(ev->payload) || !slice_ok(ev->content_type) ||
        !slice_ok(ev->idem_key) || (ev->nheaders > 0 && !ev->headers))
        return false;
    for (size_t i = 0; i < ev->nheaders; i++)
        if (!slice_ok(ev->headers[i].key) || !slice_ok(ev->headers[i].value))
            return false;
    return true;
}

static void pack_event(sink *s, const sl_event_in *ev)
{
    bool ct = ev->content_type.len > 0, hd = ev->nheaders > 0, key = ev->idem_key.len > 0;
    put_map(s, 2 + (size_t)ct + (size_t)hd + (size_t)key);
    put_cstr(s, "topic");
    put_str(s, ev->topic);
    put_cstr(s, "payload");
    put_bin(s, ev->payload);
    if (ct) {
        put_cstr(s, "content_type");
        put_str(s, ev->content_type);
    }
    if (hd) {
        put_cstr(s, "headers");
        put_map(s, ev->nheaders);
        for (size_t i = 0; i < ev->nheaders; i++) {
            put_str(s, ev->headers[i].key);
            put_str(s, ev->headers[i].value);
        }
    }
    if (key) {
        put_cstr(s, "key");
        put_str(s, ev->idem_key);
    }
}

static sl_client_status pack_publish(sink *s, const sl_event_in *events, size_t n)
{
    if (n > 0 && !events)
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!event_ok(&events[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, SL_CLIENT_OP_PUBLISH, 1);
    put_cstr(s, "events");
    put_array(s, n);
    for (size_t i = 0; i < n; i++)
        pack_event(s, &events[i]);
    return SL_CLIENT_OK;
}

static sl_client_status pack_pull(sink *s, const char *group, uint32_t max, uint64_t wait_ms,
                                  const sl_slice *acks, size_t nacks)
{
    if (!group || (nacks > 0 && !acks))
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < nacks; i++)
        if (!slice_ok(acks[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, SL_CLIENT_OP_PULL, 2 + (max > 0) + (nacks > 0));
    put_kv_cstr(s, "group", group);
    if (max > 0)
        put_kv_uint(s, "max", max);
    put_kv_uint(s, "wait_ms", wait_ms);
    if (nacks > 0) {
        put_cstr(s, "ack");
        put_array(s, nacks);
        for (size_t i = 0; i < nacks; i++)
            put_str(s, acks[i]);
    }
    return SL_CLIENT_OK;
}

static sl_client_op settle_op(sl_settle_kind kind)
{
    switch (kind) {
    case SL_SETTLE_ACK: return SL_CLIENT_OP_ACK;
    case SL_SETTLE_NACK: return SL_CLIENT_OP_NACK;
    case SL_SETTLE_EXTEND: return SL_CLIENT_OP_EXTEND;
    case SL_SETTLE_TERM: return SL_CLIENT_OP_TERM;
    }
    return SL_CLIENT_OP_NONE;
}

static sl_client_status pack_settle(sink *s, sl_settle_kind kind, const char *group,
                                    const sl_slice *tokens, size_t n, uint64_t delay_ms,
                                    const char *reason)
{
    sl_client_op op = settle_op(kind);
    if (op == SL_CLIENT_OP_NONE || !group || (n > 0 && !tokens))
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!slice_ok(tokens[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    bool with_delay = (kind == SL_SETTLE_NACK || kind == SL_SETTLE_EXTEND) &&
                      delay_ms != SL_DELAY_DEFAULT;
    bool with_reason = (kind == SL_SETTLE_NACK || kind == SL_SETTLE_TERM) && reason;
    put_request(s, op, 2 + (size_t)with_delay + (size_t)with_reason);
    put_kv_cstr(s, "group", group);
    put_cstr(s, "tokens");
    put_array(s, n);
    for (size_t i = 0; i < n; i++)
        put_str(s, tokens[i]);
    if (with_delay)
        put_kv_uint(s, kind == SL_SETTLE_NACK ? "delay_ms" : "lease_ms", delay_ms);
    if (with_reason)
        put_kv_cstr(s, "reason", reason);
    return SL_CLIENT_OK;
}

static const char *start_name(sl_start_kind k)
{
    switch (k) {
    case SL_START_EARLIEST: return "earliest";
    case SL_START_LATEST: return "latest";
    case SL_START_SEQ: return "seq";
    case SL_START_TIME: return "time";
    }
    return NULL;
}

/* cfg's strings end inside their arrays and its counts fit them. */
static bool group_config_ok(const sl_group_config *cfg, unsigned mask)
{
    if (memchr(cfg->name, '\0', sizeof cfg->name) == NULL)
        return false;
    if (mask & SL_CLIENT_GROUP_FILTERS) {
        if (cfg->nfilters > SL_FILTERS_MAX)
            return false;
        for (uint32_t i = 0; i < cfg->nfilters; i++)
            if (memchr(cfg->filters[i], '\0', sizeof cfg->filters[i]) == NULL)
                return false;
    }
    if ((mask & SL_CLIENT_GROUP_START) && !start_name(cfg->start))
        return false;
    if ((mask & SL_CLIENT_GROUP_BACKOFF) && cfg->nbackoff > SL_BACKOFF_MAX)
        return false;
    return true;
}

/* How many request fields the mask selects (name included). */
static size_t group_field_count(const sl_group_config *cfg, unsigned mask)
{
    size_t n = 1;
    n += (mask & SL_CLIENT_GROUP_FILTERS) != 0;
    if (mask & SL_CLIENT_GROUP_START)
        n += (cfg->start == SL_START_SEQ || cfg->start == SL_START_TIME) ? 2 : 1;
    n += (mask & SL_CLIENT_GROUP_ACK_WAIT) != 0;
    n += (mask & SL_CLIENT_GROUP_MAX_DELIVERIES) != 0;
    n += (mask & SL_CLIENT_GROUP_MAX_INFLIGHT) != 0;
    n += (mask & SL_CLIENT_GROUP_BACKOFF) != 0;
    return n;
}

static sl_client_status pack_group_put(sink *s, sl_client_op op, const sl_group_config *cfg,
                                       unsigned mask)
{
    if ((op != SL_CLIENT_OP_GROUP_CREATE && op != SL_CLIENT_OP_GROUP_UPDATE) || !cfg ||
        (mask & ~SL_CLIENT_GROUP_ALL) || !group_config_ok(cfg, mask))
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, op, group_field_count(cfg, mask));
    put_kv_cstr(s, "name", cfg->name);
    if (mask & SL_CLIENT_GROUP_FILTERS) {
        put_cstr(s, "filters");
        put_array(s, cfg->nfilters);
        for (uint32_t i = 0; i < cfg->nfilters; i++)
            put_cstr(s, cfg->filters[i]);
    }
    if (mask & SL_CLIENT_GROUP_START) {
        put_kv_cstr(s, "start", start_name(cfg->start));
        if (cfg->start == SL_START_SEQ || cfg->start == SL_START_TIME)
            put_kv_uint(s, "start_value", cfg->start_value);
    }
    if (mask & SL_CLIENT_GROUP_ACK_WAIT)
        put_kv_uint(s, "ack_wait_ms", cfg->ack_wait_ms);
    if (mask & SL_CLIENT_GROUP_MAX_DELIVERIES)
        put_kv_uint(s, "max_deliveries", cfg->max_deliveries);
    if (mask & SL_CLIENT_GROUP_MAX_INFLIGHT)
        put_kv_uint(s, "max_inflight", cfg->max_inflight);
    if (mask & SL_CLIENT_GROUP_BACKOFF) {
        put_cstr(s, "backoff_ms");
        put_array(s, cfg->nbackoff);
        for (uint32_t i = 0; i < cfg->nbackoff; i++)
            put_uint(s, cfg->backoff_ms[i]);
    }
    return SL_CLIENT_OK;
}

static sl_client_status pack_group_name(sink *s, sl_client_op op, const char *name)
{
    if ((op != SL_CLIENT_OP_GROUP_GET && op != SL_CLIENT_OP_GROUP_DELETE) || !name)
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, op, 1);
    put_kv_cstr(s, "name", name);
    return SL_CLIENT_OK;
}

static sl_client_status pack_log_read(sink *s, sl_client_log_from from, uint64_t value,
                                      uint32_t max)
{
    if (from != SL_CLIENT_LOG_OLDEST && from != SL_CLIENT_LOG_SEQ && from != SL_CLIENT_LOG_TIME)
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, SL_CLIENT_OP_LOG_READ, (size_t)(from != SL_CLIENT_LOG_OLDEST) + (max > 0));
    if (from == SL_CLIENT_LOG_SEQ)
        put_kv_uint(s, "from_seq", value);
    else if (from == SL_CLIENT_LOG_TIME)
        put_kv_uint(s, "from_time_ms", value);
    if (max > 0)
        put_kv_uint(s, "max", max);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_list(sink *s, const char *group, uint64_t after_seq,
                                      uint32_t limit)
{
    if (!group)
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, SL_CLIENT_OP_DLQ_LIST, 2 + (limit > 0));
    put_kv_cstr(s, "group", group);
    put_kv_uint(s, "after_seq", after_seq);
    if (limit > 0)
        put_kv_uint(s, "limit", limit);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_get(sink *s, const char *group, uint64_t seq)
{
    if (!group)
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, SL_CLIENT_OP_DLQ_GET, 2);
    put_kv_cstr(s, "group", group);
    put_kv_uint(s, "seq", seq);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_change(sink *s, sl_client_op op, const char *group,
                                        const uint64_t *seqs, size_t n, bool all)
{
    if ((op != SL_CLIENT_OP_DLQ_REPLAY && op != SL_CLIENT_OP_DLQ_PURGE) || !group ||
        (!all && n > 0 && !seqs))
        return SL_CLIENT_ERR_ARGUMENT;
    put_request(s, op, 2);
    put_kv_cstr(s, "group", group);
    if (all) {
        put_cstr(s, "all");
        msgpack_pack_true(&s->pk);
        return SL_CLIENT_OK;
    }
    put_cstr(s, "seqs");
    put_array(s, n);
    for (size_t i = 0; i < n; i++)
        put_uint(s, seqs[i]);
    return SL_CLIENT_OK;
}

/* Run an encoder into out; on failure out->len is restored. */
#define ENCODE_INTO(out, call)                                                    \
    do {                                                                          \
        if (!(out))                                                               \
            return SL_CLIENT_ERR_ARGUMENT;                                        \
        size_t len0_ = (out)->len;                                                \
        sink s_;                                                                  \
        sink_init_buf(&s_, (out));                                                \
        sink *s = &s_;                                                            \
        sl_client_status st_ = sink_status(s, (call));                            \
        if (st_ != SL_CLIENT_OK)                                                  \
            (out)->len = len0_;                                                   \
        return st_;                                                               \
    } while (0)

sl_client_status sl_client_encode_ping(sl_client_buf *out)
{
    ENCODE_INTO(out, pack_bare(s, SL_CLIENT_OP_PING));
}

sl_client_status sl_client_encode_bare(sl_client_buf *out, sl_client_op op)
{
    ENCODE_INTO(out, pack_bare(s, op));
}

sl_client_status sl_client_encode_publish(sl_client_buf *out, const sl_event_in *events,
                                          size_t n)
{
    ENCODE_INTO(out, pack_publish(s, events, n));
}

sl_client_status sl_client_encode_pull(sl_client_buf *out, const char *group, uint32_t max,
                                       uint64_t wait_ms)
{
    ENCODE_INTO(out, pack_pull(s, group, max, wait_ms, NULL, 0));
}

sl_client_status sl_client_encode_settle(sl_client_buf *out, sl_settle_kind kind,
                                         const char *group, const sl_slice *tokens,
                                         size_t n, uint64_t delay_ms, const char *reason)
{
    ENCODE_INTO(out, pack_settle(s, kind, group, tokens, n, delay_ms, reason));
}

sl_client_status sl_client_encode_group_put(sl_client_buf *out, sl_client_op op,
                                            const sl_group_config *cfg, unsigned mask)
{
    ENCODE_INTO(out, pack_group_put(s, op, cfg, mask));
}

sl_client_status sl_client_encode_group_name(sl_client_buf *out, sl_client_op op,
                                             const char *name)
{
    ENCODE_INTO(out, pack_group_name(s, op, name));
}

sl_client_status sl_client_encode_log_read(sl_client_buf *out, sl_client_log_from from,
                                           uint64_t value, uint32_t max)
{
    ENCODE_INTO(out, pack_log_read(s, from, value, max));
}

sl_client_status sl_client_encode_dlq_list(sl_client_buf *out, const char *group,
                                           uint64_t after_seq, uint32_t limit)
{
    ENCODE_INTO(out, pack_dlq_list(s, group, after_seq, limit));
}

sl_client_status sl_client_encode_dlq_get(sl_client_buf *out, const char *group, uint64_t seq)
{
    ENCODE_INTO(out, pack_dlq_get(s, group, seq));
}

sl_client_status sl_client_encode_dlq_change(sl_client_buf *out, sl_client_op op,
                                             const char *group, const uint64_t *seqs,
                                             size_t n, bool all)
{
    ENCODE_INTO(out, pack_dlq_change(s, op, group, seqs, n, all));
}

/* ==== 4. reply decoding ======================================================
 * The reply is checked with sl_mp_guard, unpacked with msgpack-c (strings
 * and bins point into the reply bytes), then walked into the typed result.
 * Decoded arrays come from the unpacker's zone, which the result owns. */

typedef struct decoder {
    msgpack_zone *zone;    /* decode memory (owned by the result) */
    sl_client_error *err;  /* the first failure goes here */
    char where[48];        /* the array element being decoded, e.g. "deliveries[3]"; "" at top */
} decoder;

/* Record a malformed reply (the first problem only) and return false. */
static bool bad(decoder *d, const char *key, const char *what)
{
    if (d->err->status == SL_CLIENT_OK)
        fail(d->err, SL_CLIENT_ERR_BAD_REPLY, "bad_reply", "malformed reply: %s%s%s %s",
             d->where, (*d->where && key) ? "." : "", key ? key : "", what);
    return false;
}

static bool nomem(decoder *d)
{
    fail_nomem(d->err);
    return false;
}

/* n elements of size bytes each from the zone; NULL for n == 0. */
static bool alloc_elems(decoder *d, size_t n, size_t size, void **out)
{
    *out = NULL;
    if (n == 0)
        return true;
    if (n > SIZE_MAX / size)
        return nomem(d);
    *out = d->zone ? msgpack_zone_malloc(d->zone, n * size) : NULL;
    if (!*out)
        return nomem(d);
    memset(*out, 0, n * size);
    return true;
}

static const msgpack_object *find(const msgpack_object *map, const char *key)
{
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* The value of key: *out NULL when absent (or nil, for optional keys). */
static bool get(decoder *d, const msgpack_object *map, const char *key, bool required,
                const msgpack_object **out)
{
    *out = find(map, key);
    if (*out && (*out)->type == MSGPACK_OBJECT_NIL && !required)
        *out = NULL;
    if (!*out && required)
        return bad(d, key, "is missing");
    return true;
}

static bool get_uint(decoder *d, const msgpack_object *map, const char *key, bool required,
                     uint64_t *out)
{
    const msgpack_object *o;
    *out = 0;
    if (!get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return bad(d, key, "is not a non-negative integer");
    if (o)
        *out = o->via.u64;
    return true;
}

static bool get_u32(decoder *d, const msgpack_object *map, const char *key, bool required,
                    uint32_t *out)
{
    uint64_t v;
    *out = 0;
    if (!get_uint(d, map, key, required, &v))
        return false;
    if (v > UINT32_MAX)
        return bad(d, key, "is out of range");
    *out = (uint32_t)v;
    return true;
}

static sl_slice slice_of_str(const msgpack_object *o)
{
    sl_slice s = {o->via.str.ptr, o->via.str.size};
    return s;
}

/* A str (or, with bin_ok, a bin) as a slice into the reply. */
static bool get_bytes(decoder *d, const msgpack_object *map, const char *key, bool required,
                      bool bin_ok, sl_slice *out)
{
    const msgpack_object *o;
    out->ptr = NULL;
    out->len = 0;
    if (!get(d, map, key, required, &o))
        return false;
    if (!o)
        return true;
    if (o->type == MSGPACK_OBJECT_STR) {
        *out = slice_of_str(o);
    } else if (bin_ok && o->type == MSGPACK_OBJECT_BIN) {
        out->ptr = o->via.bin.ptr;
        out->len = o->via.bin.size;
    } else {
        return bad(d, key, bin_ok ? "is not a bin or str" : "is not a str");
    }
    return true;
}

static bool get_str(decoder *d, const msgpack_object *map, const char *key, bool required,
                    sl_slice *out)
{
    return get_bytes(d, map, key, required, false, out);
}

static bool get_bool(decoder *d, const msgpack_object *map, const char *key, bool required,
                     bool *out)
{
    const msgpack_object *o;
    *out = false;
    if (!get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_BOOLEAN)
        return bad(d, key, "is not a bool");
    if (o)
        *out = o->via.boolean;
    return true;
}

/* An array (absent optional: empty) or a map (*out NULL when absent). */
static bool get_array(decoder *d, const msgpack_object *map, const char *key, bool required,
                      msgpack_object_array *out)
{
    const msgpack_object *o;
    out->size = 0;
    out->ptr = NULL;
    if (!get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_ARRAY)
        return bad(d, key, "is not an array");
    if (o)
        *out = o->via.array;
    return true;
}

static bool get_map(decoder *d, const msgpack_object *map, const char *key, bool required,
                    const msgpack_object **out)
{
    if (!get(d, map, key, required, out))
        return false;
    if (*out && (*out)->type != MSGPACK_OBJECT_MAP)
        return bad(d, key, "is not a map");
    return true;
}

/* Every element of arr is a map of at least min_keys entries. Checked before
 * decoded arrays are allocated, so a reply of many tiny elements cannot make
 * the decoder allocate much more than the unpacker already did. */
static bool maps_of(decoder *d, const msgpack_object_array *arr, const char *key,
                    uint32_t min_keys)
{
    for (uint32_t i = 0; i < arr->size; i++)
        if (arr->ptr[i].type != MSGPACK_OBJECT_MAP || arr->ptr[i].via.map.size < min_keys)
            return bad(d, key, "has an element that is not a complete map");
    return true;
}

/* Mark element i of the array under key as the place of any failure. */
static void enter(decoder *d, const char *key, uint32_t i)
{
    snprintf(d->where, sizeof d->where, "%s[%" PRIu32 "]", key, i);
}

static void leave(decoder *d)
{
    d->where[0] = '\0';
}

/* ---- shapes ---- */

static bool decode_headers(decoder *d, const msgpack_object *ev, sl_client_event *out)
{
    const msgpack_object *h;
    if (!get_map(d, ev, "headers", false, &h))
        return false;
    if (!h)
        return true;
    void *mem;
    if (!alloc_elems(d, h->via.map.size, sizeof(sl_header), &mem))
        return false;
    sl_header *hs = mem;
    for (uint32_t i = 0; i < h->via.map.size; i++) {
        const msgpack_object_kv *kv = &h->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_STR)
            return bad(d, "headers", "is not a map of str to str");
        hs[i].key = slice_of_str(&kv->key);
        hs[i].value = slice_of_str(&kv->val);
    }
    out->headers = hs;
    out->nheaders = h->via.map.size;
    return true;
}

#define EVENT_KEYS 5 /* seq, id, topic, ts_ms, payload */

static bool decode_event(decoder *d, const msgpack_object *o, sl_client_event *out)
{
    return get_uint(d, o, "seq", true, &out->seq) && get_str(d, o, "id", true, &out->id) &&
           get_str(d, o, "topic", true, &out->topic) &&
           get_uint(d, o, "ts_ms", true, &out->ts_ms) &&
           get_bytes(d, o, "payload", true, true, &out->payload) &&
           get_str(d, o, "content_type", false, &out->content_type) &&
           decode_headers(d, o, out);
}

static bool decode_delivery(decoder *d, const msgpack_object *o, sl_client_delivery *out)
{
    return decode_event(d, o, &out->event) && get_u32(d, o, "attempt", true, &out->attempt) &&
           get_str(d, o, "token", true, &out->token) &&
           get_uint(d, o, "lease_until_ms", true, &out->lease_until_ms);
}

static bool decode_start(decoder *d, const msgpack_object *o, sl_start_kind *out)
{
    sl_slice s;
    if (!get_str(d, o, "start", true, &s))
        return false;
    static const sl_start_kind kinds[] = {SL_START_EARLIEST, SL_START_LATEST, SL_START_SEQ,
                                          SL_START_TIME};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (sl_slice_eq_cstr(s, start_name(kinds[i]))) {
            *out = kinds[i];
            return true;
        }
    return bad(d, "start", "is not earliest, latest, seq or time");
}

static bool decode_filters(decoder *d, const msgpack_object *o, sl_client_group *out)
{
    msgpack_object_array a;
    void *mem;
    if (!get_array(d, o, "filters", true, &a) || !alloc_elems(d, a.size, sizeof(sl_slice), &mem))
        return false;
    sl_slice *fs = mem;
    for (uint32_t i = 0; i < a.size; i++) {
        if (a.ptr[i].type != MSGPACK_OBJECT_STR)
            return bad(d, "filters", "is not an array of str");
        fs[i] = slice_of_str(&a.ptr[i]);
    }
    out->filters = fs;
    out->nfilters = a.size;
    return true;
}

static bool decode_backoff(decoder *d, const msgpack_object *o, sl_client_group *out)
{
    msgpack_object_array a;
    void *mem;
    if (!get_array(d, o, "backoff_ms", false, &a) ||
        !alloc_elems(d, a.size, sizeof(uint64_t), &mem))
        return false;
    uint64_t *bs = mem;
    for (uint32_t i = 0; i < a.size; i++) {
        if (a.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return bad(d, "backoff_ms", "is not an array of uint");
        bs[i] = a.ptr[i].via.u64;
    }
    out->backoff_ms = bs;
    out->nbackoff = a.size;
    return true;
}

#define GROUP_KEYS 3 /* name, filters, start */

static bool decode_group(decoder *d, const msgpack_object *o, sl_client_group *g)
{
    return get_str(d, o, "name", true, &g->name) && decode_filters(d, o, g) &&
           decode_start(d, o, &g->start) &&
           get_uint(d, o, "start_value", false, &g->start_value) &&
           get_uint(d, o, "ack_wait_ms", false, &g->ack_wait_ms) &&
           get_uint(d, o, "max_deliveries", false, &g->max_deliveries) &&
           get_uint(d, o, "max_inflight", false, &g->max_inflight) &&
           decode_backoff(d, o, g) && get_uint(d, o, "cursor", false, &g->cursor) &&
           get_uint(d, o, "lag", false, &g->lag) &&
           get_uint(d, o, "in_flight", false, &g->in_flight) &&
           get_uint(d, o, "waiting", false, &g->waiting) &&
           get_uint(d, o, "delivered", false, &g->delivered) &&
           get_uint(d, o, "redelivered", false, &g->redelivered) &&
           get_uint(d, o, "acked", false, &g->acked) &&
           get_uint(d, o, "dlq_size", false, &g->dlq_size) &&
           get_uint(d, o, "created_ms", false, &g->created_ms);
}

#define DEAD_LETTER_KEYS 5 /* seq, id, attempts, dead_at_ms, reason */

static bool decode_dead_letter(decoder *d, const msgpack_object *o, sl_client_dead_letter *dl)
{
    const msgpack_object *ev;
    if (!(get_uint(d, o, "seq", true, &dl->seq) && get_str(d, o, "id", true, &dl->id) &&
          get_uint(d, o, "attempts", true, &dl->attempts) &&
          get_uint(d, o, "dead_at_ms", true, &dl->dead_at_ms) &&
          get_str(d, o, "reason", true, &dl->reason) && get_map(d, o, "event", false, &ev)))
        return false;
    dl->has_event = ev != NULL;
    return !ev || decode_event(d, ev, &dl->event);
}

#define TOPIC_KEYS 5 /* name, events, bytes, first_seq, last_seq */

static bool decode_topic(decoder *d, const msgpack_object *o, sl_topic_info *t)
{
    return get_str(d, o, "name", true, &t->name) && get_uint(d, o, "events", true, &t->events) &&
           get_uint(d, o, "bytes", true, &t->bytes) &&
           get_uint(d, o, "first_seq", true, &t->first_seq) &&
           get_uint(d, o, "last_seq", true, &t->last_seq);
}

static bool decode_published(decoder *d, const msgpack_object *o, sl_client_published *p)
{
    return get_uint(d, o, "seq", true, &p->seq) && get_str(d, o, "id", true, &p->id) &&
           get_uint(d, o, "ts_ms", true, &p->ts_ms) &&
           get_bool(d, o, "duplicate", false, &p->duplicate);
}

/* Decode the array under key, each element a map of at least min_keys
 * entries, into a zone array of n elements of elem_size bytes, calling one
 * of the element decoders above (typed through a void pointer). */
typedef bool (*elem_fn)(decoder *d, const msgpack_object *o, void *out);

static bool decode_list(decoder *d, const msgpack_object *top, const char *key,
                        uint32_t min_keys, size_t elem_size, elem_fn fn, const void **out,
                        size_t *n)
{
    msgpack_object_array a;
    void *mem;
    if (!get_array(d, top, key, true, &a) || !maps_of(d, &a, key, min_keys) ||
        !alloc_elems(d, a.size, elem_size, &mem))
        return false;
    for (uint32_t i = 0; i < a.size; i++) {
        enter(d, key, i);
        if (!fn(d, &a.ptr[i], (char *)mem + (size_t)i * elem_size))
            return false;
    }
    leave(d);
    *out = mem;
    *n = a.size;
    return true;
}

/* Adapters from the typed element decoders to elem_fn. */
static bool elem_published(decoder *d, const msgpack_object *o, void *out)
{
    return decode_published(d, o, out);
}
static bool elem_delivery(decoder *d, const msgpack_object *o, void *out)
{
    return decode_delivery(d, o, out);
}
static bool elem_group(decoder *d, const msgpack_object *o, void *out)
{
    return decode_group(d, o, out);
}
static bool elem_topic(decoder *d, const msgpack_object *o, void *out)
{
    return decode_topic(d, o, out);
}
static bool elem_event(decoder *d, const msgpack_object *o, void *out)
{
    return decode_event(d, o, out);
}
static bool elem_dead_letter(decoder *d, const msgpack_object *o, void *out)
{
    return decode_dead_letter(d, o, out);
}

/* ---- operations ---- */

static bool decode_ping(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return get_str(d, top, "version", true, &r->ping.version) &&
           get_uint(d, top, "proto", true, &r->ping.proto) &&
           get_uint(d, top, "time_ms", true, &r->ping.time_ms);
}

static bool decode_publish(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "results", 3, sizeof(sl_client_published), elem_published, &p,
                     &r->publish.n))
        return false;
    r->publish.results = p;
    return true;
}

static bool token_status_of(sl_slice s, sl_token_status *out)
{
    static const struct {
        const char *name;
        sl_token_status status;
    } names[] = {{"ok", SL_TOKEN_OK},
                 {"stale", SL_TOKEN_STALE},
                 {"gone", SL_TOKEN_GONE},
                 {"invalid", SL_TOKEN_INVALID}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (sl_slice_eq_cstr(s, names[i].name)) {
            *out = names[i].status;
            return true;
        }
    return false;
}

/* An array of token statuses under key (required or not; absent: n = 0). */
static bool decode_statuses(decoder *d, const msgpack_object *top, const char *key,
                            bool required, const sl_token_status **out, size_t *n)
{
    msgpack_object_array a;
    void *mem;
    *out = NULL;
    *n = 0;
    if (!get_array(d, top, key, required, &a))
        return false;
    if (a.size == 0)
        return true;
    if (!alloc_elems(d, a.size, sizeof(sl_token_status), &mem))
        return false;
    sl_token_status *st = mem;
    for (uint32_t i = 0; i < a.size; i++)
        if (a.ptr[i].type != MSGPACK_OBJECT_STR ||
            !token_status_of(slice_of_str(&a.ptr[i]), &st[i]))
            return bad(d, key, "holds something other than ok, stale, gone or invalid");
    *out = st;
    *n = a.size;
    return true;
}

static bool decode_settle(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return decode_statuses(d, top, "results", true, &r->settle.status, &r->settle.n);
}

static bool decode_pull(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "deliveries", EVENT_KEYS + 3, sizeof(sl_client_delivery),
                     elem_delivery, &p, &r->pull.n))
        return false;
    r->pull.deliveries = p;
    return decode_statuses(d, top, "acked", false, &r->pull.acked, &r->pull.nacked);
}

static bool decode_one_group(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *g;
    if (!get_map(d, top, "group", true, &g))
        return false;
    return decode_group(d, g, &r->group);
}

static bool decode_groups(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "groups", GROUP_KEYS, sizeof(sl_client_group), elem_group, &p,
                     &r->groups.n))
        return false;
    r->groups.groups = p;
    return true;
}

static bool decode_topics(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "topics", TOPIC_KEYS, sizeof(sl_topic_info), elem_topic, &p,
                     &r->topics.n))
        return false;
    r->topics.topics = p;
    return true;
}

static bool decode_log(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "events", EVENT_KEYS, sizeof(sl_client_event), elem_event, &p,
                     &r->log.n))
        return false;
    r->log.events = p;
    return get_uint(d, top, "next_seq", true, &r->log.next_seq);
}

static bool decode_dlq_list(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!decode_list(d, top, "dead_letters", DEAD_LETTER_KEYS, sizeof(sl_client_dead_letter),
                     elem_dead_letter, &p, &r->dlq_list.n))
        return false;
    r->dlq_list.dead_letters = p;
    return get_uint(d, top, "next_after", true, &r->dlq_list.next_after);
}

static bool decode_dlq_get(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *o;
    return get_map(d, top, "dead_letter", true, &o) &&
           decode_dead_letter(d, o, &r->dead_letter);
}

static bool decode_dlq_change(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const char *key = r->op == SL_CLIENT_OP_DLQ_REPLAY ? "replayed" : "purged";
    return get_uint(d, top, key, true, &r->dlq_change.count) &&
           get_uint(d, top, "remaining", false, &r->dlq_change.remaining);
}

static bool decode_stats(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    sl_client_stats *s = &r->stats;
    return get_str(d, top, "version", true, &s->version) &&
           get_uint(d, top, "uptime_ms", false, &s->uptime_ms) &&
           get_uint(d, top, "events", false, &s->events) &&
           get_uint(d, top, "bytes", false, &s->bytes) &&
           get_uint(d, top, "first_seq", false, &s->first_seq) &&
           get_uint(d, top, "last_seq", false, &s->last_seq) &&
           get_uint(d, top, "next_seq", false, &s->next_seq) &&
           get_uint(d, top, "topics", false, &s->topics) &&
           get_uint(d, top, "groups", false, &s->groups) &&
           get_uint(d, top, "map_bytes", false, &s->map_bytes) &&
           get_uint(d, top, "used_bytes", false, &s->used_bytes) &&
           get_uint(d, top, "quota_bytes", false, &s->quota_bytes) &&
           get_uint(d, top, "file_bytes", false, &s->file_bytes) &&
           get_uint(d, top, "requests", false, &s->requests) &&
           get_uint(d, top, "publishes", false, &s->publishes) &&
           get_uint(d, top, "parked_pulls", false, &s->parked_pulls);
}

static bool decode_nothing(decoder *d, const msgpack_object *top, sl_client_result *r)
{
    (void)d, (void)top, (void)r;
    return true;
}

typedef bool (*op_decoder)(decoder *d, const msgpack_object *top, sl_client_result *r);

static op_decoder decoder_of(sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_PING: return decode_ping;
    case SL_CLIENT_OP_PUBLISH: return decode_publish;
    case SL_CLIENT_OP_PULL: return decode_pull;
    case SL_CLIENT_OP_ACK:
    case SL_CLIENT_OP_NACK:
    case SL_CLIENT_OP_EXTEND:
    case SL_CLIENT_OP_TERM: return decode_settle;
    case SL_CLIENT_OP_GROUP_CREATE:
    case SL_CLIENT_OP_GROUP_UPDATE:
    case SL_CLIENT_OP_GROUP_GET: return decode_one_group;
    case SL_CLIENT_OP_GROUP_LIST: return decode_groups;
    case SL_CLIENT_OP_GROUP_DELETE: return decode_nothing;
    case SL_CLIENT_OP_TOPICS: return decode_topics;
    case SL_CLIENT_OP_LOG_READ: return decode_log;
    case SL_CLIENT_OP_DLQ_LIST: return decode_dlq_list;
    case SL_CLIENT_OP_DLQ_GET: return decode_dlq_get;
    case SL_CLIENT_OP_DLQ_REPLAY:
    case SL_CLIENT_OP_DLQ_PURGE: return decode_dlq_change;
    case SL_CLIENT_OP_STATS: return decode_stats;
    case SL_CLIENT_OP_NONE:
    case SL_CLIENT_OP_RAW: break;
    }
    return NULL;
}

/* {"ok": false, "error": {...}}: copy the details, return SERVER. */
static sl_client_status decode_error(decoder *d, const msgpack_object *top)
{
    const msgpack_object *e;
    sl_slice code, message, field;
    uint64_t index;
    const msgpack_object *has_index = NULL;
    if (!get_map(d, top, "error", true, &e) || !get_str(d, e, "code", true, &code) ||
        !get_str(d, e, "message", false, &message) || !get_str(d, e, "field", false, &field) ||
        !get_uint(d, e, "index", false, &index) || !get(d, e, "index", false, &has_index) ||
        (code.len == 0 && !bad(d, "error.code", "is empty")))
        return d->err->status;
    sl_client_error *out = d->err;
    out->status = SL_CLIENT_ERR_SERVER;
    copy_text(out->code, sizeof out->code, code.ptr, code.len);
    copy_text(out->message, sizeof out->message, message.ptr, message.len);
    copy_text(out->field, sizeof out->field, field.ptr, field.len);
    out->has_index = has_index != NULL;
    out->index = index;
    return SL_CLIENT_ERR_SERVER;
}

/* Decode the len reply bytes at buf, which res already owns, as op. */
static sl_client_status decode_owned(sl_client_op op, const char *buf, size_t len,
                                     sl_client_result *res)
{
    op_decoder fn = decoder_of(op);
    const char *why = NULL;
    if (!fn)
        return fail_argument(&res->error, "not an operation with a reply to decode");
    if (sl_mp_guard(buf, len, REPLY_DEPTH_MAX, &why) != SL_OK)
        return fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                    "malformed reply: not one well-formed msgpack object (%s)", why);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&u, buf, len, &off);
    res->zone_ = msgpack_unpacked_release_zone(&u);
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return fail_nomem(&res->error);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
        return fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                    "malformed reply: not one msgpack object");
    decoder d = {.zone = res->zone_, .err = &res->error};
    const msgpack_object *top = &u.data;
    bool ok;
    if (top->type != MSGPACK_OBJECT_MAP) {
        bad(&d, NULL, "the reply is not a map");
        return res->error.status;
    }
    if (!get_bool(&d, top, "ok", true, &ok))
        return res->error.status;
    if (!ok)
        return decode_error(&d, top);
    if (!fn(&d, top, res))
        return res->error.status;
    return SL_CLIENT_OK;
}

void sl_client_result_free(sl_client_result *res)
{
    if (!res)
        return;
    if (res->zone_)
        msgpack_zone_free(res->zone_);
    if (res->reply_) {
        if (res->reply_is_msg_)
            nng_msg_free(res->reply_);
        else
            free(res->reply_);
    }
    memset(res, 0, sizeof *res);
}

sl_client_status sl_client_decode_reply(sl_client_op op, const void *buf, size_t len,
                                        sl_client_result *res)
{
    if (!res)
        return SL_CLIENT_ERR_ARGUMENT;
    memset(res, 0, sizeof *res);
    res->op = op;
    if (!buf && len > 0)
        return fail_argument(&res->error, "NULL reply buffer");
    res->reply_ = malloc(len ? len : 1);
    if (!res->reply_)
        return fail_nomem(&res->error);
    if (len > 0)
        memcpy(res->reply_, buf, len);
    return decode_owned(op, res->reply_, len, res);
}

/* ==== 5. the transport =======================================================
 * One REQ socket, one dialer. Each call opens its own context and aio (so
 * threads can share the client), sends, then waits for the reply. The resend
 * time is infinite on the socket and on each context: nng 1.5.2 then never
 * sends a request twice; when the connection carrying it drops, the receive
 * fails with NNG_ECONNRESET, reported as "connection_lost". */

struct sl_client {
    nng_socket sock;            /* the REQ socket */
    nng_dialer dialer;          /* its one dialer (redials after a loss) */
    uint64_t timeout_ms;        /* per request */
    char *url;                  /* for messages (owned) */
};

static nng_duration duration_of(uint64_t ms)
{
    return ms > INT32_MAX ? INT32_MAX : (nng_duration)ms;
}

static bool is_tls_url(const char *url)
{
    static const char *const schemes[] = {"tls+tcp://", "tls+tcp4://", "tls+tcp6://",
                                          "wss://",     "wss4://",     "wss6://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            return true;
    return false;
}

/* Map an nng error from setting up the dialer to a status. */
static sl_client_status dial_error(sl_client_error *err, const char *url, const char *step, int rv)
{
    switch (rv) {
    case NNG_ENOMEM: return fail_nomem(err);
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
    case NNG_EINVAL:
    case NNG_ENOENT:
        return fail(err, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "%s %s: %s", step, url,
                    nng_strerror(rv));
    default:
        break;
    }
    sl_client_status st = fail(err, SL_CLIENT_ERR_TRANSPORT, "unavailable", "%s %s: %s", step,
                               url, nng_strerror(rv));
    err->nng_error = rv;
    return st;
}

static sl_client_status setup_tls(sl_client *c, const sl_client_options *opt,
                                  sl_client_error *err)
{
    if (!opt->tls_ca_file)
        return fail_argument(err, "a TLS URL needs a CA file (tls_ca_file)");
    nng_tls_config *cfg;
    int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
    if (rv != 0)
        return dial_error(err, c->url, "TLS set-up for", rv);
    nng_url *u = NULL;
    const char *name = opt->tls_server_name;
    if (!name && (rv = nng_url_parse(&u, c->url)) == 0)
        name = u->u_hostname;
    if (rv == 0)
        rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    if (rv == 0 && name && *name)
        rv = nng_tls_config_server_name(cfg, name);
    if (rv == 0 && (rv = nng_tls_config_ca_file(cfg, opt->tls_ca_file)) != 0) {
        if (u)
            nng_url_free(u);
        nng_tls_config_free(cfg);
        return fail(err, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "CA file %s: %s",
                    opt->tls_ca_file, nng_strerror(rv));
    }
    if (rv == 0)
        rv = nng_dialer_set_ptr(c->dialer, NNG_OPT_TLS_CONFIG, cfg);
    if (u)
        nng_url_free(u);
    nng_tls_config_free(cfg); /* the dialer holds its own reference */
    return rv == 0 ? SL_CLIENT_OK : dial_error(err, c->url, "TLS set-up for", rv);
}

/* Create the dialer with its options; start it (see lazy_connect). */
static sl_client_status dial(sl_client *c, const sl_client_options *opt, sl_client_error *err)
{
    int rv = nng_dialer_create(&c->dialer, c->sock, c->url);
    if (rv != 0)
        return dial_error(err, c->url, "cannot dial", rv);
    size_t max = opt->max_reply_bytes ? opt->max_reply_bytes : SL_CLIENT_DEFAULT_MAX_REPLY;
    if ((rv = nng_dialer_set_size(c->dialer, NNG_OPT_RECVMAXSZ, max)) != 0 && rv != NNG_ENOTSUP)
        return dial_error(err, c->url, "cannot limit replies from", rv);
    if ((rv = nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS)) != 0 ||
        (rv = nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS)) != 0)
        return dial_error(err, c->url, "cannot set redial times for", rv);
    if (is_tls_url(c->url)) {
        sl_client_status st = setup_tls(c, opt, err);
        if (st != SL_CLIENT_OK)
            return st;
    }
    rv = nng_dialer_start(c->dialer, opt->lazy_connect ? NNG_FLAG_NONBLOCK : 0);
    return rv == 0 ? SL_CLIENT_OK : dial_error(err, c->url, "cannot connect to", rv);
}

static sl_client_status open_socket(sl_client *c, sl_client_error *err)
{
    int rv = nng_req0_open(&c->sock);
    if (rv == 0)
        rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    return rv == 0 ? SL_CLIENT_OK : dial_error(err, c->url, "cannot open a socket for", rv);
}

sl_client_status sl_client_open(const char *url, const sl_client_options *opt, sl_client **out,
                                sl_client_error *err)
{
    sl_client_error dummy;
    static const sl_client_options defaults;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    if (!url || !out)
        return fail_argument(err, "sl_client_open needs a URL and an out pointer");
    *out = NULL;
    if (!opt)
        opt = &defaults;
    sl_client *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        return fail_nomem(err);
    }
    c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : SL_CLIENT_DEFAULT_TIMEOUT_MS;
    sl_client_status st = open_socket(c, err);
    if (st == SL_CLIENT_OK)
        st = dial(c, opt, err);
    if (st != SL_CLIENT_OK) {
        sl_client_close(c);
        return st;
    }
    *out = c;
    return SL_CLIENT_OK;
}

void sl_client_close(sl_client *c)
{
    if (!c)
        return;
    nng_close(c->sock); /* also closes the dialer */
    free(c->url);
    free(c);
}

uint64_t sl_client_timeout_ms(const sl_client *c)
{
    return c ? c->timeout_ms : 0;
}

/* The error of a failed send (phase "send") or receive. */
static sl_client_status call_error(sl_client *c, sl_client_error *err, int rv, bool sending,
                                   uint64_t waited_ms)
{
    sl_client_status st;
    if (rv == NNG_ENOMEM)
        return fail_nomem(err);
    if (rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
        st = fail(err, SL_CLIENT_ERR_TRANSPORT, "connection_lost",
                  "the connection to %s dropped while the request was out: it may or may "
                  "not have been applied", c->url);
    else if (rv == NNG_ETIMEDOUT && sending)
        st = fail(err, SL_CLIENT_ERR_TRANSPORT, "unavailable",
                  "not connected to %s within %" PRIu64 " ms", c->url, waited_ms);
    else if (rv == NNG_ETIMEDOUT)
        st = fail(err, SL_CLIENT_ERR_TRANSPORT, "timeout",
                  "no reply from %s within %" PRIu64 " ms", c->url, waited_ms);
    else if (rv == NNG_ECLOSED)
        st = fail(err, SL_CLIENT_ERR_TRANSPORT, "closed", "the client is closed");
    else
        st = fail(err, SL_CLIENT_ERR_TRANSPORT, "transport", "%s: %s", c->url,
                  nng_strerror(rv));
    err->nng_error = rv;
    return st;
}

/* Wait for the reply of the request just sent on ctx. */
static sl_client_status call_receive(sl_client *c, nng_ctx ctx, nng_aio *aio, uint64_t wait_ms,
                                     nng_msg **reply, sl_client_error *err)
{
    nng_aio_set_timeout(aio, duration_of(wait_ms));
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0)
        return call_error(c, err, rv, false, wait_ms);
    *reply = nng_aio_get_msg(aio);
    return SL_CLIENT_OK;
}

/* Send msg (always consumed) and wait for one reply: onto a connection
 * within send_ms, the reply within reply_ms after that. */
static sl_client_status call_run(sl_client *c, nng_msg *msg, uint64_t send_ms, uint64_t reply_ms,
                                 nng_msg **reply, sl_client_error *err)
{
    nng_ctx ctx;
    nng_aio *aio = NULL;
    int rv = nng_ctx_open(&ctx, c->sock);
    if (rv != 0) {
        nng_msg_free(msg);
        return call_error(c, err, rv, true, 0);
    }
    if ((rv = nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
        (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
        nng_msg_free(msg);
        nng_ctx_close(ctx);
        return call_error(c, err, rv, true, 0);
    }
    nng_aio_set_msg(aio, msg);
    nng_aio_set_timeout(aio, duration_of(send_ms));
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    sl_client_status st;
    if ((rv = nng_aio_result(aio)) != 0) {
        nng_msg_free(nng_aio_get_msg(aio)); /* a failed send leaves the message with us */
        st = call_error(c, err, rv, true, send_ms);
    } else {
        st = call_receive(c, ctx, aio, reply_ms, reply, err);
    }
    nng_aio_free(aio);
    nng_ctx_close(ctx);
    return st;
}

/* ==== 6. one function per operation ===========================================
 * call_begin resets the result and allocates the request message; the
 * caller packs into k.s; call_end checks the packing, runs the call and
 * decodes the reply into the result. */

typedef struct call {
    sl_client *client;        /* the client to call */
    sl_client_result *res;    /* the caller's result */
    sl_client_buf buf;        /* the request being packed (grows by doubling:
                                 nng messages grow exactly, so packing many
                                 small pieces straight into one is quadratic) */
    sink s;                   /* packs into buf */
} call;

static sl_client_status call_begin(call *k, sl_client *c, sl_client_op op, sl_client_result *res)
{
    memset(k, 0, sizeof *k);
    if (!res)
        return SL_CLIENT_ERR_ARGUMENT;
    memset(res, 0, sizeof *res);
    res->op = op;
    if (!c)
        return fail_argument(&res->error, "NULL client");
    k->client = c;
    k->res = res;
    sink_init_buf(&k->s, &k->buf);
    return SL_CLIENT_OK;
}

/* The request is packed (packed: the encoder's own status): send it within
 * timeout_ms, wait up to timeout_ms + extra_ms for the reply, decode it. */
static sl_client_status call_end(call *k, sl_client_status packed, uint64_t timeout_ms,
                                 uint64_t extra_ms)
{
    sl_client_result *res = k->res;
    sl_client_status st = sink_status(&k->s, packed);
    nng_msg *msg = NULL;
    if (st == SL_CLIENT_OK) {
        if (nng_msg_alloc(&msg, k->buf.len) == 0) {
            if (k->buf.len) /* an empty raw request has no buffer at all */
                memcpy(nng_msg_body(msg), k->buf.data, k->buf.len);
        }
        else
            st = SL_CLIENT_ERR_NOMEM;
    }
    sl_client_buf_free(&k->buf);
    if (st != SL_CLIENT_OK) {
        if (st == SL_CLIENT_ERR_NOMEM)
            return fail_nomem(&res->error);
        return fail_argument(&res->error, "unusable request arguments (NULL pointer, bad "
                                          "count, unterminated name or too long a field)");
    }
    uint64_t t = timeout_ms;
    uint64_t reply_ms = extra_ms > UINT64_MAX - t ? UINT64_MAX : t + extra_ms;
    nng_msg *reply = NULL;
    st = call_run(k->client, msg, t, reply_ms, &reply, &res->error);
    if (st != SL_CLIENT_OK)
        return st;
    res->reply_ = reply;
    res->reply_is_msg_ = true;
    if (res->op == SL_CLIENT_OP_RAW) {
        res->raw.data = nng_msg_body(reply);
        res->raw.len = nng_msg_len(reply);
        return SL_CLIENT_OK;
    }
    return decode_owned(res->op, nng_msg_body(reply), nng_msg_len(reply), res);
}

/* An ok reply must answer for exactly the items sent (events, tokens). */
static sl_client_status check_count(sl_client_result *res, sl_client_status st, size_t got,
                                    size_t sent, const char *what)
{
    if (st != SL_CLIENT_OK || got == sent)
        return st;
    return fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                "malformed reply: %zu %s for %zu sent", got, what, sent);
}

/* Begin a call of op; on failure return its status. */
#define CALL_BEGIN(k, c, op, res)                                                 \
    do {                                                                          \
        sl_client_status st_ = call_begin(&(k), (c), (op), (res));                \
        if (st_ != SL_CLIENT_OK)                                                  \
            return st_;                                                           \
    } while (0)

sl_client_status sl_client_ping(sl_client *c, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_PING, res);
    return call_end(&k, pack_bare(&k.s, SL_CLIENT_OP_PING), c->timeout_ms, 0);
}

sl_client_status sl_client_publish(sl_client *c, const sl_event_in *events, size_t n,
                                   sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_PUBLISH, res);
    sl_client_status st = call_end(&k, pack_publish(&k.s, events, n), c->timeout_ms, 0);
    return check_count(res, st, res->publish.n, n, "results");
}

sl_client_status sl_client_pull(sl_client *c, const char *group, uint32_t max,
                                uint64_t wait_ms, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_PULL, res);
    return call_end(&k, pack_pull(&k.s, group, max, wait_ms, NULL, 0), c->timeout_ms, wait_ms);
}

sl_client_status sl_client_pull_ack(sl_client *c, const char *group, uint32_t max,
                                    uint64_t wait_ms, const sl_slice *acks, size_t nacks,
                                    sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_PULL, res);
    sl_client_status st = call_end(&k, pack_pull(&k.s, group, max, wait_ms, acks, nacks),
                                   c->timeout_ms, wait_ms);
    return check_count(res, st, res->pull.nacked, nacks, "ack statuses");
}

static sl_client_status settle(sl_client *c, sl_settle_kind kind, const char *group,
                               const sl_slice *tokens, size_t n, uint64_t delay_ms,
                               const char *reason, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, settle_op(kind), res);
    sl_client_status st = call_end(&k, pack_settle(&k.s, kind, group, tokens, n, delay_ms,
                                                   reason), c->timeout_ms, 0);
    return check_count(res, st, res->settle.n, n, "statuses");
}

sl_client_status sl_client_ack(sl_client *c, const char *group, const sl_slice *tokens,
                               size_t n, sl_client_result *res)
{
    return settle(c, SL_SETTLE_ACK, group, tokens, n, SL_DELAY_DEFAULT, NULL, res);
}

sl_client_status sl_client_nack(sl_client *c, const char *group, const sl_slice *tokens,
                                size_t n, uint64_t delay_ms, const char *reason,
                                sl_client_result *res)
{
    return settle(c, SL_SETTLE_NACK, group, tokens, n, delay_ms, reason, res);
}

sl_client_status sl_client_extend(sl_client *c, const char *group, const sl_slice *tokens,
                                  size_t n, uint64_t lease_ms, sl_client_result *res)
{
    return settle(c, SL_SETTLE_EXTEND, group, tokens, n, lease_ms, NULL, res);
}

sl_client_status sl_client_term(sl_client *c, const char *group, const sl_slice *tokens,
                                size_t n, const char *reason, sl_client_result *res)
{
    return settle(c, SL_SETTLE_TERM, group, tokens, n, SL_DELAY_DEFAULT, reason, res);
}

static sl_client_status group_put(sl_client *c, sl_client_op op, const sl_group_config *cfg,
                                  unsigned mask, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, op, res);
    return call_end(&k, pack_group_put(&k.s, op, cfg, mask), c->timeout_ms, 0);
}

sl_client_status sl_client_group_create(sl_client *c, const sl_group_config *cfg,
                                        unsigned mask, sl_client_result *res)
{
    return group_put(c, SL_CLIENT_OP_GROUP_CREATE, cfg, mask, res);
}

sl_client_status sl_client_group_update(sl_client *c, const sl_group_config *cfg,
                                        unsigned mask, sl_client_result *res)
{
    return group_put(c, SL_CLIENT_OP_GROUP_UPDATE, cfg, mask, res);
}

static sl_client_status group_name(sl_client *c, sl_client_op op, const char *name,
                                   sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, op, res);
    return call_end(&k, pack_group_name(&k.s, op, name), c->timeout_ms, 0);
}

sl_client_status sl_client_group_get(sl_client *c, const char *name, sl_client_result *res)
{
    return group_name(c, SL_CLIENT_OP_GROUP_GET, name, res);
}

sl_client_status sl_client_group_delete(sl_client *c, const char *name, sl_client_result *res)
{
    return group_name(c, SL_CLIENT_OP_GROUP_DELETE, name, res);
}

static sl_client_status bare(sl_client *c, sl_client_op op, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, op, res);
    return call_end(&k, pack_bare(&k.s, op), c->timeout_ms, 0);
}

sl_client_status sl_client_group_list(sl_client *c, sl_client_result *res)
{
    return bare(c, SL_CLIENT_OP_GROUP_LIST, res);
}

sl_client_status sl_client_topics(sl_client *c, sl_client_result *res)
{
    return bare(c, SL_CLIENT_OP_TOPICS, res);
}

sl_client_status sl_client_stats_get(sl_client *c, sl_client_result *res)
{
    return bare(c, SL_CLIENT_OP_STATS, res);
}

sl_client_status sl_client_log_read(sl_client *c, sl_client_log_from from, uint64_t value,
                                    uint32_t max, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_LOG_READ, res);
    return call_end(&k, pack_log_read(&k.s, from, value, max), c->timeout_ms, 0);
}

sl_client_status sl_client_dlq_list(sl_client *c, const char *group, uint64_t after_seq,
                                    uint32_t limit, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_DLQ_LIST, res);
    return call_end(&k, pack_dlq_list(&k.s, group, after_seq, limit), c->timeout_ms, 0);
}

sl_client_status sl_client_dlq_get(sl_client *c, const char *group, uint64_t seq,
                                   sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_DLQ_GET, res);
    return call_end(&k, pack_dlq_get(&k.s, group, seq), c->timeout_ms, 0);
}

static sl_client_status dlq_change(sl_client *c, sl_client_op op, const char *group,
                                   const uint64_t *seqs, size_t n, bool all,
                                   sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, op, res);
    return call_end(&k, pack_dlq_change(&k.s, op, group, seqs, n, all), c->timeout_ms, 0);
}

sl_client_status sl_client_dlq_replay(sl_client *c, const char *group, const uint64_t *seqs,
                                      size_t n, bool all, sl_client_result *res)
{
    return dlq_change(c, SL_CLIENT_OP_DLQ_REPLAY, group, seqs, n, all, res);
}

sl_client_status sl_client_dlq_purge(sl_client *c, const char *group, const uint64_t *seqs,
                                     size_t n, bool all, sl_client_result *res)
{
    return dlq_change(c, SL_CLIENT_OP_DLQ_PURGE, group, seqs, n, all, res);
}

sl_client_status sl_client_call_raw(sl_client *c, const void *req, size_t len,
                                    uint64_t timeout_ms, sl_client_result *res)
{
    call k;
    CALL_BEGIN(k, c, SL_CLIENT_OP_RAW, res);
    if (!req && len > 0)
        return fail_argument(&res->error, "NULL request bytes");
    if (len > 0 && sink_write(&k.s, req, len) != 0) {
        sl_client_buf_free(&k.buf);
        return fail_nomem(&res->error);
    }
    return call_end(&k, SL_CLIENT_OK, timeout_ms ? timeout_ms : c->timeout_ms, 0);
}
