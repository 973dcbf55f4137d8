/* client.c: see client.h.
 *
 * The proto SConscript builds this file and client_webhook.c (the webhook
 * operations, client_webhook.h) into libsluice_client. The helpers the two
 * share are defined here and declared in client_internal.h. This file is in
 * sections, each one concept:
 *   1. errors and names          4. reply decoding (shapes, then operations)
 *   2. the request sink          5. the transport (pool or socket, one call)
 *   3. request encoders          6. one function per operation
 * Data flows: arguments -> encoder -> request bytes -> call -> reply -> decoder.
 */
#include "proto/client.h"
#include "proto/client_internal.h"

#include <inttypes.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/client_conn.h"
#include "proto/client_pool.h"
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
sl_client_status cl_fail(sl_client_error *e, sl_client_status st, const char *code,
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

sl_client_status cl_fail_nomem(sl_client_error *e)
{
    return cl_fail(e, SL_CLIENT_ERR_NOMEM, "no_memory", "out of memory");
}

sl_client_status cl_fail_argument(sl_client_error *e, const char *what)
{
    return cl_fail(e, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "%s", what);
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
    case SL_CLIENT_OP_WEBHOOK_CREATE: return "webhook.create";
    case SL_CLIENT_OP_WEBHOOK_UPDATE: return "webhook.update";
    case SL_CLIENT_OP_WEBHOOK_GET: return "webhook.get";
    case SL_CLIENT_OP_WEBHOOK_DELETE: return "webhook.delete";
    case SL_CLIENT_OP_WEBHOOK_ENABLE: return "webhook.enable";
    case SL_CLIENT_OP_WEBHOOK_DISABLE: return "webhook.disable";
    case SL_CLIENT_OP_WEBHOOK_RESET: return "webhook.reset";
    case SL_CLIENT_OP_WEBHOOK_LIST: return "webhook.list";
    case SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET: return "webhook.rotate_secret";
    case SL_CLIENT_OP_WEBHOOK_TEST: return "webhook.test";
    case SL_CLIENT_OP_WEBHOOK_STATS: return "webhook.stats";
    case SL_CLIENT_OP_WEBHOOK_DELIVERIES: return "webhook.deliveries";
    case SL_CLIENT_OP_WEBHOOK_RETRY: return "webhook.retry";
    case SL_CLIENT_OP_WEBHOOK_EVENT_TYPES: return "webhook.event_types";
    case SL_CLIENT_OP_WEBHOOK_TARGETS: return "webhook.targets";
    case SL_CLIENT_OP_WEBHOOK_REPORT: return "webhook.report";
    case SL_CLIENT_OP_KEYS_CREATE: return "keys.create";
    case SL_CLIENT_OP_KEYS_GET: return "keys.get";
    case SL_CLIENT_OP_KEYS_LIST: return "keys.list";
    case SL_CLIENT_OP_KEYS_REVOKE: return "keys.revoke";
    case SL_CLIENT_OP_NONE:
    case SL_CLIENT_OP_RAW: break;
    }
    return "";
}

/* ==== 2. the request sink ===================================================
 * Encoders write through a msgpack_packer into a sink over an sl_client_buf
 * (which grows by doubling). A failed append or an over-long string marks
 * the sink; the encoder's caller checks it once at the end. */

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
    cl_sink *s = data;
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

void cl_sink_init_buf(cl_sink *s, sl_client_buf *b)
{
    memset(s, 0, sizeof *s);
    s->buf = b;
    msgpack_packer_init(&s->pk, s, sink_write);
}

/* The status of an encoder run: its own result, else the sink's state. */
sl_client_status cl_sink_status(const cl_sink *s, sl_client_status st)
{
    if (st != SL_CLIENT_OK)
        return st;
    if (s->nomem)
        return SL_CLIENT_ERR_NOMEM;
    if (s->too_long)
        return SL_CLIENT_ERR_ARGUMENT;
    return SL_CLIENT_OK;
}

static bool fits32(cl_sink *s, size_t n)
{
    if (n > UINT32_MAX) {
        s->too_long = true;
        return false;
    }
    return true;
}

void cl_put_map(cl_sink *s, size_t n)
{
    if (fits32(s, n))
        msgpack_pack_map(&s->pk, n);
}

void cl_put_array(cl_sink *s, size_t n)
{
    if (fits32(s, n))
        msgpack_pack_array(&s->pk, n);
}

void cl_put_str(cl_sink *s, sl_slice v)
{
    if (fits32(s, v.len)) {
        msgpack_pack_str(&s->pk, v.len);
        if (v.len > 0)
            msgpack_pack_str_body(&s->pk, v.ptr, v.len);
    }
}

void cl_put_cstr(cl_sink *s, const char *v)
{
    cl_put_str(s, sl_slice_of(v));
}

void cl_put_bin(cl_sink *s, sl_slice v)
{
    if (fits32(s, v.len)) {
        msgpack_pack_bin(&s->pk, v.len);
        if (v.len > 0)
            msgpack_pack_bin_body(&s->pk, v.ptr, v.len);
    }
}

void cl_put_uint(cl_sink *s, uint64_t v)
{
    msgpack_pack_uint64(&s->pk, v);
}

void cl_put_bool(cl_sink *s, bool v)
{
    if (v)
        msgpack_pack_true(&s->pk);
    else
        msgpack_pack_false(&s->pk);
}

void cl_put_kv_uint(cl_sink *s, const char *key, uint64_t v)
{
    cl_put_cstr(s, key);
    cl_put_uint(s, v);
}

void cl_put_kv_cstr(cl_sink *s, const char *key, const char *v)
{
    cl_put_cstr(s, key);
    cl_put_cstr(s, v);
}

void cl_put_kv_str(cl_sink *s, const char *key, sl_slice v)
{
    cl_put_cstr(s, key);
    cl_put_str(s, v);
}

/* A map of str -> str. */
void cl_put_headers(cl_sink *s, const sl_header *h, size_t n)
{
    cl_put_map(s, n);
    for (size_t i = 0; i < n; i++) {
        cl_put_str(s, h[i].key);
        cl_put_str(s, h[i].value);
    }
}

/* The request map header: nfields operation fields follow "v" and "op". */
void cl_put_request(cl_sink *s, sl_client_op op, size_t nfields)
{
    cl_put_map(s, nfields + 2);
    cl_put_kv_uint(s, "v", PROTO_VERSION);
    cl_put_kv_cstr(s, "op", sl_client_op_name(op));
}

/* A slice may have a NULL pointer only when empty. */
bool cl_slice_ok(sl_slice v)
{
    return v.ptr != NULL || v.len == 0;
}

bool cl_headers_ok(const sl_header *h, size_t n)
{
    if (n > 0 && !h)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!cl_slice_ok(h[i].key) || !cl_slice_ok(h[i].value))
            return false;
    return true;
}

/* ==== 3. request encoders ===================================================
 * pack_* write one request into a sink and check their arguments first;
 * the public sl_client_encode_* run them into a buffer. */

static sl_client_status pack_bare(cl_sink *s, sl_client_op op)
{
    if (op != SL_CLIENT_OP_PING && op != SL_CLIENT_OP_GROUP_LIST && op != SL_CLIENT_OP_TOPICS &&
        op != SL_CLIENT_OP_STATS)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, 0);
    return SL_CLIENT_OK;
}

static bool event_ok(const sl_event_in *ev)
{
    return cl_slice_ok(ev->topic) && cl_slice_ok(ev->payload) &&
           cl_slice_ok(ev->content_type) && cl_slice_ok(ev->idem_key) &&
           cl_headers_ok(ev->headers, ev->nheaders);
}

static void pack_event(cl_sink *s, const sl_event_in *ev)
{
    bool ct = ev->content_type.len > 0, hd = ev->nheaders > 0, key = ev->idem_key.len > 0;
    cl_put_map(s, 2 + (size_t)ct + (size_t)hd + (size_t)key);
    cl_put_cstr(s, "topic");
    cl_put_str(s, ev->topic);
    cl_put_cstr(s, "payload");
    cl_put_bin(s, ev->payload);
    if (ct) {
        cl_put_cstr(s, "content_type");
        cl_put_str(s, ev->content_type);
    }
    if (hd) {
        cl_put_cstr(s, "headers");
        cl_put_headers(s, ev->headers, ev->nheaders);
    }
    if (key) {
        cl_put_cstr(s, "key");
        cl_put_str(s, ev->idem_key);
    }
}

static sl_client_status pack_publish(cl_sink *s, const sl_event_in *events, size_t n)
{
    if (n > 0 && !events)
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!event_ok(&events[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_PUBLISH, 1);
    cl_put_cstr(s, "events");
    cl_put_array(s, n);
    for (size_t i = 0; i < n; i++)
        pack_event(s, &events[i]);
    return SL_CLIENT_OK;
}

static sl_client_status pack_pull(cl_sink *s, const char *group, uint32_t max, uint64_t wait_ms,
                                  const sl_slice *acks, size_t nacks)
{
    if (!group || (nacks > 0 && !acks))
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < nacks; i++)
        if (!cl_slice_ok(acks[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_PULL, 2 + (max > 0) + (nacks > 0));
    cl_put_kv_cstr(s, "group", group);
    if (max > 0)
        cl_put_kv_uint(s, "max", max);
    cl_put_kv_uint(s, "wait_ms", wait_ms);
    if (nacks > 0) {
        cl_put_cstr(s, "ack");
        cl_put_array(s, nacks);
        for (size_t i = 0; i < nacks; i++)
            cl_put_str(s, acks[i]);
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

static sl_client_status pack_settle(cl_sink *s, sl_settle_kind kind, const char *group,
                                    const sl_slice *tokens, size_t n, uint64_t delay_ms,
                                    const char *reason)
{
    sl_client_op op = settle_op(kind);
    if (op == SL_CLIENT_OP_NONE || !group || (n > 0 && !tokens))
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!cl_slice_ok(tokens[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    bool with_delay = (kind == SL_SETTLE_NACK || kind == SL_SETTLE_EXTEND) &&
                      delay_ms != SL_DELAY_DEFAULT;
    bool with_reason = (kind == SL_SETTLE_NACK || kind == SL_SETTLE_TERM) && reason;
    cl_put_request(s, op, 2 + (size_t)with_delay + (size_t)with_reason);
    cl_put_kv_cstr(s, "group", group);
    cl_put_cstr(s, "tokens");
    cl_put_array(s, n);
    for (size_t i = 0; i < n; i++)
        cl_put_str(s, tokens[i]);
    if (with_delay)
        cl_put_kv_uint(s, kind == SL_SETTLE_NACK ? "delay_ms" : "lease_ms", delay_ms);
    if (with_reason)
        cl_put_kv_cstr(s, "reason", reason);
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

static sl_client_status pack_group_put(cl_sink *s, sl_client_op op, const sl_group_config *cfg,
                                       unsigned mask)
{
    if ((op != SL_CLIENT_OP_GROUP_CREATE && op != SL_CLIENT_OP_GROUP_UPDATE) || !cfg ||
        (mask & ~SL_CLIENT_GROUP_ALL) || !group_config_ok(cfg, mask))
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, group_field_count(cfg, mask));
    cl_put_kv_cstr(s, "name", cfg->name);
    if (mask & SL_CLIENT_GROUP_FILTERS) {
        cl_put_cstr(s, "filters");
        cl_put_array(s, cfg->nfilters);
        for (uint32_t i = 0; i < cfg->nfilters; i++)
            cl_put_cstr(s, cfg->filters[i]);
    }
    if (mask & SL_CLIENT_GROUP_START) {
        cl_put_kv_cstr(s, "start", start_name(cfg->start));
        if (cfg->start == SL_START_SEQ || cfg->start == SL_START_TIME)
            cl_put_kv_uint(s, "start_value", cfg->start_value);
    }
    if (mask & SL_CLIENT_GROUP_ACK_WAIT)
        cl_put_kv_uint(s, "ack_wait_ms", cfg->ack_wait_ms);
    if (mask & SL_CLIENT_GROUP_MAX_DELIVERIES)
        cl_put_kv_uint(s, "max_deliveries", cfg->max_deliveries);
    if (mask & SL_CLIENT_GROUP_MAX_INFLIGHT)
        cl_put_kv_uint(s, "max_inflight", cfg->max_inflight);
    if (mask & SL_CLIENT_GROUP_BACKOFF) {
        cl_put_cstr(s, "backoff_ms");
        cl_put_array(s, cfg->nbackoff);
        for (uint32_t i = 0; i < cfg->nbackoff; i++)
            cl_put_uint(s, cfg->backoff_ms[i]);
    }
    return SL_CLIENT_OK;
}

static sl_client_status pack_group_name(cl_sink *s, sl_client_op op, const char *name)
{
    if ((op != SL_CLIENT_OP_GROUP_GET && op != SL_CLIENT_OP_GROUP_DELETE) || !name)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, 1);
    cl_put_kv_cstr(s, "name", name);
    return SL_CLIENT_OK;
}

static sl_client_status pack_log_read(cl_sink *s, sl_client_log_from from, uint64_t value,
                                      uint32_t max)
{
    if (from != SL_CLIENT_LOG_OLDEST && from != SL_CLIENT_LOG_SEQ && from != SL_CLIENT_LOG_TIME)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_LOG_READ, (size_t)(from != SL_CLIENT_LOG_OLDEST) + (max > 0));
    if (from == SL_CLIENT_LOG_SEQ)
        cl_put_kv_uint(s, "from_seq", value);
    else if (from == SL_CLIENT_LOG_TIME)
        cl_put_kv_uint(s, "from_time_ms", value);
    if (max > 0)
        cl_put_kv_uint(s, "max", max);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_list(cl_sink *s, const char *group, uint64_t after_seq,
                                      uint32_t limit)
{
    if (!group)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_DLQ_LIST, 2 + (limit > 0));
    cl_put_kv_cstr(s, "group", group);
    cl_put_kv_uint(s, "after_seq", after_seq);
    if (limit > 0)
        cl_put_kv_uint(s, "limit", limit);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_get(cl_sink *s, const char *group, uint64_t seq)
{
    if (!group)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_DLQ_GET, 2);
    cl_put_kv_cstr(s, "group", group);
    cl_put_kv_uint(s, "seq", seq);
    return SL_CLIENT_OK;
}

static sl_client_status pack_dlq_change(cl_sink *s, sl_client_op op, const char *group,
                                        const uint64_t *seqs, size_t n, bool all)
{
    if ((op != SL_CLIENT_OP_DLQ_REPLAY && op != SL_CLIENT_OP_DLQ_PURGE) || !group ||
        (!all && n > 0 && !seqs))
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, 2);
    cl_put_kv_cstr(s, "group", group);
    if (all) {
        cl_put_cstr(s, "all");
        cl_put_bool(s, true);
        return SL_CLIENT_OK;
    }
    cl_put_cstr(s, "seqs");
    cl_put_array(s, n);
    for (size_t i = 0; i < n; i++)
        cl_put_uint(s, seqs[i]);
    return SL_CLIENT_OK;
}

sl_client_status sl_client_encode_ping(sl_client_buf *out)
{
    CL_ENCODE_INTO(out, pack_bare(s, SL_CLIENT_OP_PING));
}

sl_client_status sl_client_encode_bare(sl_client_buf *out, sl_client_op op)
{
    CL_ENCODE_INTO(out, pack_bare(s, op));
}

sl_client_status sl_client_encode_publish(sl_client_buf *out, const sl_event_in *events,
                                          size_t n)
{
    CL_ENCODE_INTO(out, pack_publish(s, events, n));
}

sl_client_status sl_client_encode_pull(sl_client_buf *out, const char *group, uint32_t max,
                                       uint64_t wait_ms)
{
    CL_ENCODE_INTO(out, pack_pull(s, group, max, wait_ms, NULL, 0));
}

sl_client_status sl_client_encode_settle(sl_client_buf *out, sl_settle_kind kind,
                                         const char *group, const sl_slice *tokens,
                                         size_t n, uint64_t delay_ms, const char *reason)
{
    CL_ENCODE_INTO(out, pack_settle(s, kind, group, tokens, n, delay_ms, reason));
}

sl_client_status sl_client_encode_group_put(sl_client_buf *out, sl_client_op op,
                                            const sl_group_config *cfg, unsigned mask)
{
    CL_ENCODE_INTO(out, pack_group_put(s, op, cfg, mask));
}

sl_client_status sl_client_encode_group_name(sl_client_buf *out, sl_client_op op,
                                             const char *name)
{
    CL_ENCODE_INTO(out, pack_group_name(s, op, name));
}

sl_client_status sl_client_encode_log_read(sl_client_buf *out, sl_client_log_from from,
                                           uint64_t value, uint32_t max)
{
    CL_ENCODE_INTO(out, pack_log_read(s, from, value, max));
}

sl_client_status sl_client_encode_dlq_list(sl_client_buf *out, const char *group,
                                           uint64_t after_seq, uint32_t limit)
{
    CL_ENCODE_INTO(out, pack_dlq_list(s, group, after_seq, limit));
}

sl_client_status sl_client_encode_dlq_get(sl_client_buf *out, const char *group, uint64_t seq)
{
    CL_ENCODE_INTO(out, pack_dlq_get(s, group, seq));
}

sl_client_status sl_client_encode_dlq_change(sl_client_buf *out, sl_client_op op,
                                             const char *group, const uint64_t *seqs,
                                             size_t n, bool all)
{
    CL_ENCODE_INTO(out, pack_dlq_change(s, op, group, seqs, n, all));
}

/* ==== 4. reply decoding ======================================================
 * The reply is checked with sl_mp_guard, unpacked with msgpack-c (strings
 * and bins point into the reply bytes), then walked into the typed result.
 * Decoded arrays come from the unpacker's zone, which the result owns. */

/* Record a malformed reply (the first problem only) and return false. */
bool cl_bad(cl_decoder *d, const char *key, const char *what)
{
    if (d->err->status != SL_CLIENT_OK)
        return false;
    char where[64] = "";
    if (d->where_key)
        snprintf(where, sizeof where, "%s[%" PRIu32 "]", d->where_key, d->where_index);
    cl_fail(d->err, SL_CLIENT_ERR_BAD_REPLY, "bad_reply", "malformed reply: %s%s%s %s", where,
            (*where && key) ? "." : "", key ? key : "", what);
    return false;
}

bool cl_nomem(cl_decoder *d)
{
    cl_fail_nomem(d->err);
    return false;
}

/* n elements of size bytes each from the zone; NULL for n == 0. */
bool cl_alloc_elems(cl_decoder *d, size_t n, size_t size, void **out)
{
    *out = NULL;
    if (n == 0)
        return true;
    if (n > SIZE_MAX / size)
        return cl_nomem(d);
    *out = d->zone ? msgpack_zone_malloc(d->zone, n * size) : NULL;
    if (!*out)
        return cl_nomem(d);
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
bool cl_get(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
            const msgpack_object **out)
{
    *out = find(map, key);
    if (*out && (*out)->type == MSGPACK_OBJECT_NIL && !required)
        *out = NULL;
    if (!*out && required)
        return cl_bad(d, key, "is missing");
    return true;
}

bool cl_get_uint(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                 uint64_t *out)
{
    const msgpack_object *o;
    *out = 0;
    if (!cl_get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return cl_bad(d, key, "is not a non-negative integer");
    if (o)
        *out = o->via.u64;
    return true;
}

bool cl_get_u32(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                uint32_t *out)
{
    uint64_t v;
    *out = 0;
    if (!cl_get_uint(d, map, key, required, &v))
        return false;
    if (v > UINT32_MAX)
        return cl_bad(d, key, "is out of range");
    *out = (uint32_t)v;
    return true;
}

sl_slice cl_slice_of_str(const msgpack_object *o)
{
    sl_slice s = {o->via.str.ptr, o->via.str.size};
    return s;
}

/* A str (or, with bin_ok, a bin) as a slice into the reply. */
bool cl_get_bytes(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                  bool bin_ok, sl_slice *out)
{
    const msgpack_object *o;
    out->ptr = NULL;
    out->len = 0;
    if (!cl_get(d, map, key, required, &o))
        return false;
    if (!o)
        return true;
    if (o->type == MSGPACK_OBJECT_STR) {
        *out = cl_slice_of_str(o);
    } else if (bin_ok && o->type == MSGPACK_OBJECT_BIN) {
        out->ptr = o->via.bin.ptr;
        out->len = o->via.bin.size;
    } else {
        return cl_bad(d, key, bin_ok ? "is not a bin or str" : "is not a str");
    }
    return true;
}

bool cl_get_str(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                sl_slice *out)
{
    return cl_get_bytes(d, map, key, required, false, out);
}

bool cl_get_bool(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                 bool *out)
{
    const msgpack_object *o;
    *out = false;
    if (!cl_get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_BOOLEAN)
        return cl_bad(d, key, "is not a bool");
    if (o)
        *out = o->via.boolean;
    return true;
}

/* An array (absent optional: empty) or a map (*out NULL when absent). */
bool cl_get_array(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                  msgpack_object_array *out)
{
    const msgpack_object *o;
    out->size = 0;
    out->ptr = NULL;
    if (!cl_get(d, map, key, required, &o))
        return false;
    if (o && o->type != MSGPACK_OBJECT_ARRAY)
        return cl_bad(d, key, "is not an array");
    if (o)
        *out = o->via.array;
    return true;
}

bool cl_get_map(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                const msgpack_object **out)
{
    if (!cl_get(d, map, key, required, out))
        return false;
    if (*out && (*out)->type != MSGPACK_OBJECT_MAP)
        return cl_bad(d, key, "is not a map");
    return true;
}

/* Every element of arr is a map of at least min_keys entries. Checked before
 * decoded arrays are allocated, so a reply of many tiny elements cannot make
 * the decoder allocate much more than the unpacker already did. */
bool cl_maps_of(cl_decoder *d, const msgpack_object_array *arr, const char *key,
                uint32_t min_keys)
{
    for (uint32_t i = 0; i < arr->size; i++)
        if (arr->ptr[i].type != MSGPACK_OBJECT_MAP || arr->ptr[i].via.map.size < min_keys)
            return cl_bad(d, key, "has an element that is not a complete map");
    return true;
}

/* Mark element i of the array under key (a string that outlives the
 * decoding) as the place of any failure; formatted only when one happens. */
void cl_enter(cl_decoder *d, const char *key, uint32_t i)
{
    d->where_key = key;
    d->where_index = i;
}

void cl_leave(cl_decoder *d)
{
    d->where_key = NULL;
}

/* ---- shapes ---- */

bool cl_decode_str_map(cl_decoder *d, const msgpack_object *map, const char *key,
                       bool required, const sl_header **out, size_t *n)
{
    const msgpack_object *h;
    void *mem;
    *out = NULL;
    *n = 0;
    if (!cl_get_map(d, map, key, required, &h))
        return false;
    if (!h)
        return true;
    if (!cl_alloc_elems(d, h->via.map.size, sizeof(sl_header), &mem))
        return false;
    sl_header *hs = mem;
    for (uint32_t i = 0; i < h->via.map.size; i++) {
        const msgpack_object_kv *kv = &h->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_STR)
            return cl_bad(d, key, "is not a map of str to str");
        hs[i].key = cl_slice_of_str(&kv->key);
        hs[i].value = cl_slice_of_str(&kv->val);
    }
    *out = hs;
    *n = h->via.map.size;
    return true;
}

bool cl_decode_str_array(cl_decoder *d, const msgpack_object *map, const char *key,
                         bool required, const sl_slice **out, size_t *n)
{
    msgpack_object_array a;
    void *mem;
    *out = NULL;
    *n = 0;
    if (!cl_get_array(d, map, key, required, &a) ||
        !cl_alloc_elems(d, a.size, sizeof(sl_slice), &mem))
        return false;
    sl_slice *ss = mem;
    for (uint32_t i = 0; i < a.size; i++) {
        if (a.ptr[i].type != MSGPACK_OBJECT_STR)
            return cl_bad(d, key, "is not an array of str");
        ss[i] = cl_slice_of_str(&a.ptr[i]);
    }
    *out = ss;
    *n = a.size;
    return true;
}

bool cl_decode_uint_array(cl_decoder *d, const msgpack_object *map, const char *key,
                          bool required, const uint64_t **out, size_t *n)
{
    msgpack_object_array a;
    void *mem;
    *out = NULL;
    *n = 0;
    if (!cl_get_array(d, map, key, required, &a) ||
        !cl_alloc_elems(d, a.size, sizeof(uint64_t), &mem))
        return false;
    uint64_t *us = mem;
    for (uint32_t i = 0; i < a.size; i++) {
        if (a.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return cl_bad(d, key, "is not an array of uint");
        us[i] = a.ptr[i].via.u64;
    }
    *out = us;
    *n = a.size;
    return true;
}

#define EVENT_KEYS 5 /* seq, id, topic, ts_ms, payload */

static bool decode_event(cl_decoder *d, const msgpack_object *o, sl_client_event *out)
{
    return cl_get_uint(d, o, "seq", true, &out->seq) && cl_get_str(d, o, "id", true, &out->id) &&
           cl_get_str(d, o, "topic", true, &out->topic) &&
           cl_get_uint(d, o, "ts_ms", true, &out->ts_ms) &&
           cl_get_bytes(d, o, "payload", true, true, &out->payload) &&
           cl_get_str(d, o, "content_type", false, &out->content_type) &&
           cl_decode_str_map(d, o, "headers", false, &out->headers, &out->nheaders);
}

static bool decode_delivery(cl_decoder *d, const msgpack_object *o, sl_client_delivery *out)
{
    return decode_event(d, o, &out->event) && cl_get_u32(d, o, "attempt", true, &out->attempt) &&
           cl_get_str(d, o, "token", true, &out->token) &&
           cl_get_uint(d, o, "lease_until_ms", true, &out->lease_until_ms);
}

static bool decode_start(cl_decoder *d, const msgpack_object *o, sl_start_kind *out)
{
    sl_slice s;
    if (!cl_get_str(d, o, "start", true, &s))
        return false;
    static const sl_start_kind kinds[] = {SL_START_EARLIEST, SL_START_LATEST, SL_START_SEQ,
                                          SL_START_TIME};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (sl_slice_eq_cstr(s, start_name(kinds[i]))) {
            *out = kinds[i];
            return true;
        }
    return cl_bad(d, "start", "is not earliest, latest, seq or time");
}

#define GROUP_KEYS 3 /* name, filters, start */

static bool decode_group(cl_decoder *d, const msgpack_object *o, sl_client_group *g)
{
    return cl_get_str(d, o, "name", true, &g->name) &&
           cl_decode_str_array(d, o, "filters", true, &g->filters, &g->nfilters) &&
           decode_start(d, o, &g->start) &&
           cl_get_uint(d, o, "start_value", false, &g->start_value) &&
           cl_get_uint(d, o, "ack_wait_ms", false, &g->ack_wait_ms) &&
           cl_get_uint(d, o, "max_deliveries", false, &g->max_deliveries) &&
           cl_get_uint(d, o, "max_inflight", false, &g->max_inflight) &&
           cl_decode_uint_array(d, o, "backoff_ms", false, &g->backoff_ms, &g->nbackoff) &&
           cl_get_uint(d, o, "cursor", false, &g->cursor) &&
           cl_get_uint(d, o, "lag", false, &g->lag) &&
           cl_get_uint(d, o, "in_flight", false, &g->in_flight) &&
           cl_get_uint(d, o, "waiting", false, &g->waiting) &&
           cl_get_uint(d, o, "delivered", false, &g->delivered) &&
           cl_get_uint(d, o, "redelivered", false, &g->redelivered) &&
           cl_get_uint(d, o, "acked", false, &g->acked) &&
           cl_get_uint(d, o, "dlq_size", false, &g->dlq_size) &&
           cl_get_uint(d, o, "created_ms", false, &g->created_ms);
}

#define DEAD_LETTER_KEYS 5 /* seq, id, attempts, dead_at_ms, reason */

static bool decode_dead_letter(cl_decoder *d, const msgpack_object *o, sl_client_dead_letter *dl)
{
    const msgpack_object *ev;
    if (!(cl_get_uint(d, o, "seq", true, &dl->seq) && cl_get_str(d, o, "id", true, &dl->id) &&
          cl_get_uint(d, o, "attempts", true, &dl->attempts) &&
          cl_get_uint(d, o, "dead_at_ms", true, &dl->dead_at_ms) &&
          cl_get_str(d, o, "reason", true, &dl->reason) && cl_get_map(d, o, "event", false, &ev)))
        return false;
    dl->has_event = ev != NULL;
    return !ev || decode_event(d, ev, &dl->event);
}

#define TOPIC_KEYS 5 /* name, events, bytes, first_seq, last_seq */

static bool decode_topic(cl_decoder *d, const msgpack_object *o, sl_topic_info *t)
{
    return cl_get_str(d, o, "name", true, &t->name) &&
           cl_get_uint(d, o, "events", true, &t->events) &&
           cl_get_uint(d, o, "bytes", true, &t->bytes) &&
           cl_get_uint(d, o, "first_seq", true, &t->first_seq) &&
           cl_get_uint(d, o, "last_seq", true, &t->last_seq);
}

static bool decode_published(cl_decoder *d, const msgpack_object *o, sl_client_published *p)
{
    return cl_get_uint(d, o, "seq", true, &p->seq) && cl_get_str(d, o, "id", true, &p->id) &&
           cl_get_uint(d, o, "ts_ms", true, &p->ts_ms) &&
           cl_get_bool(d, o, "duplicate", false, &p->duplicate);
}

/* Decode the array under key, each element a map of at least min_keys
 * entries, into a zone array of n elements of elem_size bytes, calling one
 * of the element decoders above (typed through a void pointer). */

bool cl_decode_list(cl_decoder *d, const msgpack_object *top, const char *key,
                    uint32_t min_keys, size_t elem_size, cl_elem_fn fn, const void **out,
                    size_t *n)
{
    msgpack_object_array a;
    void *mem;
    if (!cl_get_array(d, top, key, true, &a) || !cl_maps_of(d, &a, key, min_keys) ||
        !cl_alloc_elems(d, a.size, elem_size, &mem))
        return false;
    for (uint32_t i = 0; i < a.size; i++) {
        cl_enter(d, key, i);
        if (!fn(d, &a.ptr[i], (char *)mem + (size_t)i * elem_size))
            return false;
    }
    cl_leave(d);
    *out = mem;
    *n = a.size;
    return true;
}

/* Adapters from the typed element decoders to cl_elem_fn. */
static bool elem_published(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_published(d, o, out);
}
static bool elem_delivery(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_delivery(d, o, out);
}
static bool elem_group(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_group(d, o, out);
}
static bool elem_topic(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_topic(d, o, out);
}
static bool elem_event(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_event(d, o, out);
}
static bool elem_dead_letter(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_dead_letter(d, o, out);
}

/* ---- operations ---- */

static bool decode_ping(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return cl_get_str(d, top, "version", true, &r->ping.version) &&
           cl_get_uint(d, top, "proto", true, &r->ping.proto) &&
           cl_get_uint(d, top, "time_ms", true, &r->ping.time_ms);
}

static bool decode_publish(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "results", 3, sizeof(sl_client_published), elem_published, &p,
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
static bool decode_statuses(cl_decoder *d, const msgpack_object *top, const char *key,
                            bool required, const sl_token_status **out, size_t *n)
{
    msgpack_object_array a;
    void *mem;
    *out = NULL;
    *n = 0;
    if (!cl_get_array(d, top, key, required, &a))
        return false;
    if (a.size == 0)
        return true;
    if (!cl_alloc_elems(d, a.size, sizeof(sl_token_status), &mem))
        return false;
    sl_token_status *st = mem;
    for (uint32_t i = 0; i < a.size; i++)
        if (a.ptr[i].type != MSGPACK_OBJECT_STR ||
            !token_status_of(cl_slice_of_str(&a.ptr[i]), &st[i]))
            return cl_bad(d, key, "holds something other than ok, stale, gone or invalid");
    *out = st;
    *n = a.size;
    return true;
}

static bool decode_settle(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return decode_statuses(d, top, "results", true, &r->settle.status, &r->settle.n);
}

static bool decode_pull(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "deliveries", EVENT_KEYS + 3, sizeof(sl_client_delivery),
                     elem_delivery, &p, &r->pull.n))
        return false;
    r->pull.deliveries = p;
    return decode_statuses(d, top, "acked", false, &r->pull.acked, &r->pull.nacked);
}

static bool decode_one_group(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *g;
    if (!cl_get_map(d, top, "group", true, &g))
        return false;
    return decode_group(d, g, &r->group);
}

static bool decode_groups(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "groups", GROUP_KEYS, sizeof(sl_client_group), elem_group, &p,
                     &r->groups.n))
        return false;
    r->groups.groups = p;
    return true;
}

static bool decode_topics(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "topics", TOPIC_KEYS, sizeof(sl_topic_info), elem_topic, &p,
                     &r->topics.n))
        return false;
    r->topics.topics = p;
    return true;
}

static bool decode_log(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "events", EVENT_KEYS, sizeof(sl_client_event), elem_event, &p,
                     &r->log.n))
        return false;
    r->log.events = p;
    return cl_get_uint(d, top, "next_seq", true, &r->log.next_seq);
}

static bool decode_dlq_list(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "dead_letters", DEAD_LETTER_KEYS, sizeof(sl_client_dead_letter),
                     elem_dead_letter, &p, &r->dlq_list.n))
        return false;
    r->dlq_list.dead_letters = p;
    return cl_get_uint(d, top, "next_after", true, &r->dlq_list.next_after);
}

static bool decode_dlq_get(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *o;
    return cl_get_map(d, top, "dead_letter", true, &o) &&
           decode_dead_letter(d, o, &r->dead_letter);
}

static bool decode_dlq_change(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const char *key = r->op == SL_CLIENT_OP_DLQ_REPLAY ? "replayed" : "purged";
    return cl_get_uint(d, top, key, true, &r->dlq_change.count) &&
           cl_get_uint(d, top, "remaining", false, &r->dlq_change.remaining);
}

static bool decode_stats(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    sl_client_stats *s = &r->stats;
    return cl_get_str(d, top, "version", true, &s->version) &&
           cl_get_uint(d, top, "uptime_ms", false, &s->uptime_ms) &&
           cl_get_uint(d, top, "events", false, &s->events) &&
           cl_get_uint(d, top, "bytes", false, &s->bytes) &&
           cl_get_uint(d, top, "first_seq", false, &s->first_seq) &&
           cl_get_uint(d, top, "last_seq", false, &s->last_seq) &&
           cl_get_uint(d, top, "next_seq", false, &s->next_seq) &&
           cl_get_uint(d, top, "topics", false, &s->topics) &&
           cl_get_uint(d, top, "groups", false, &s->groups) &&
           cl_get_uint(d, top, "map_bytes", false, &s->map_bytes) &&
           cl_get_uint(d, top, "used_bytes", false, &s->used_bytes) &&
           cl_get_uint(d, top, "quota_bytes", false, &s->quota_bytes) &&
           cl_get_uint(d, top, "file_bytes", false, &s->file_bytes) &&
           cl_get_uint(d, top, "requests", false, &s->requests) &&
           cl_get_uint(d, top, "publishes", false, &s->publishes) &&
           cl_get_uint(d, top, "parked_pulls", false, &s->parked_pulls) &&
           cl_get_uint(d, top, "commits", false, &s->commits) &&
           cl_get_uint(d, top, "journal_writes", false, &s->journal_writes) &&
           cl_get_uint(d, top, "commit_requests", false, &s->commit_requests) &&
           cl_get_uint(d, top, "journal_us", false, &s->journal_us) &&
           cl_get_uint(d, top, "checkpoint_us", false, &s->checkpoint_us);
}

static bool decode_nothing(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    (void)d, (void)top, (void)r;
    return true;
}

static cl_op_decoder decoder_of(sl_client_op op)
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
    case SL_CLIENT_OP_WEBHOOK_CREATE:
    case SL_CLIENT_OP_WEBHOOK_UPDATE:
    case SL_CLIENT_OP_WEBHOOK_GET:
    case SL_CLIENT_OP_WEBHOOK_DELETE:
    case SL_CLIENT_OP_WEBHOOK_ENABLE:
    case SL_CLIENT_OP_WEBHOOK_DISABLE:
    case SL_CLIENT_OP_WEBHOOK_RESET:
    case SL_CLIENT_OP_WEBHOOK_LIST:
    case SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET:
    case SL_CLIENT_OP_WEBHOOK_TEST:
    case SL_CLIENT_OP_WEBHOOK_STATS:
    case SL_CLIENT_OP_WEBHOOK_DELIVERIES:
    case SL_CLIENT_OP_WEBHOOK_RETRY:
    case SL_CLIENT_OP_WEBHOOK_EVENT_TYPES:
    case SL_CLIENT_OP_WEBHOOK_TARGETS:
    case SL_CLIENT_OP_WEBHOOK_REPORT: return cl_webhook_decoder_of(op);
    case SL_CLIENT_OP_KEYS_CREATE:
    case SL_CLIENT_OP_KEYS_GET:
    case SL_CLIENT_OP_KEYS_LIST:
    case SL_CLIENT_OP_KEYS_REVOKE: return cl_keys_decoder_of(op);
    case SL_CLIENT_OP_NONE:
    case SL_CLIENT_OP_RAW: break;
    }
    return NULL;
}

/* {"ok": false, "error": {...}}: copy the details, return SERVER. */
static sl_client_status decode_error(cl_decoder *d, const msgpack_object *top)
{
    const msgpack_object *e;
    sl_slice code, message, field;
    uint64_t index;
    const msgpack_object *has_index = NULL;
    if (!cl_get_map(d, top, "error", true, &e) || !cl_get_str(d, e, "code", true, &code) ||
        !cl_get_str(d, e, "message", false, &message) ||
        !cl_get_str(d, e, "field", false, &field) ||
        !cl_get_uint(d, e, "index", false, &index) || !cl_get(d, e, "index", false, &has_index) ||
        (code.len == 0 && !cl_bad(d, "error.code", "is empty")))
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
    cl_op_decoder fn = decoder_of(op);
    const char *why = NULL;
    if (!fn)
        return cl_fail_argument(&res->error, "not an operation with a reply to decode");
    if (sl_mp_guard(buf, len, REPLY_DEPTH_MAX, &why) != SL_OK)
        return cl_fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                    "malformed reply: not one well-formed msgpack object (%s)", why);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&u, buf, len, &off);
    res->zone_ = msgpack_unpacked_release_zone(&u);
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return cl_fail_nomem(&res->error);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
        return cl_fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                    "malformed reply: not one msgpack object");
    cl_decoder d = {.zone = res->zone_, .err = &res->error};
    const msgpack_object *top = &u.data;
    bool ok;
    if (top->type != MSGPACK_OBJECT_MAP) {
        cl_bad(&d, NULL, "the reply is not a map");
        return res->error.status;
    }
    if (!cl_get_bool(&d, top, "ok", true, &ok))
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
        return cl_fail_argument(&res->error, "NULL reply buffer");
    res->reply_ = malloc(len ? len : 1);
    if (!res->reply_)
        return cl_fail_nomem(&res->error);
    if (len > 0)
        memcpy(res->reply_, buf, len);
    return decode_owned(op, res->reply_, len, res);
}

/* ==== 5. the transport =======================================================
 * tcp:// and ipc:// go through a pool of connections that speak REQ's wire
 * format themselves (client_pool.h): one connection per call in flight, no
 * thread hand-offs. tls+tcp://, ws:// and wss:// go through one REQ socket
 * with one dialer: each call opens its own context and aio (so threads can
 * share the client), sends, then waits for the reply. The resend time is
 * infinite on the socket and on each context: nng 1.5.2 then never sends a
 * request twice; when the connection carrying it drops, the receive fails
 * with NNG_ECONNRESET, reported as "connection_lost". Neither path ever
 * sends a request twice. */

struct sl_client {
    cl_pool *pool;              /* tcp, ipc (owned); else NULL */
    nng_socket sock;            /* tls+tcp, ws, wss: the REQ socket */
    nng_dialer dialer;          /* its one dialer (redials after a loss) */
    uint64_t timeout_ms;        /* per request */
    char *url;                  /* for messages (owned) */
    char *api_key;              /* sent as "key" in every request (owned), or NULL */
};

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
    case NNG_ENOMEM: return cl_fail_nomem(err);
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
    case NNG_EINVAL:
    case NNG_ENOENT:
        return cl_fail(err, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "%s %s: %s", step, url,
                    nng_strerror(rv));
    default:
        break;
    }
    sl_client_status st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "unavailable", "%s %s: %s", step,
                               url, nng_strerror(rv));
    err->nng_error = rv;
    return st;
}

static sl_client_status setup_tls(sl_client *c, const sl_client_options *opt,
                                  sl_client_error *err)
{
    if (!opt->tls_ca_file)
        return cl_fail_argument(err, "a TLS URL needs a CA file (tls_ca_file)");
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
        return cl_fail(err, SL_CLIENT_ERR_ARGUMENT, "invalid_argument", "CA file %s: %s",
                    opt->tls_ca_file, nng_strerror(rv));
    }
    if (rv == 0)
        rv = nng_dialer_set_ptr(c->dialer, NNG_OPT_TLS_CONFIG, cfg);
    if (u)
        nng_url_free(u);
    nng_tls_config_free(cfg); /* the dialer holds its own reference */
    return rv == 0 ? SL_CLIENT_OK : dial_error(err, c->url, "TLS set-up for", rv);
}

/* The pool of connections for tcp and ipc URLs; dial one now unless opt
 * says lazy. */
static sl_client_status open_pool(sl_client *c, const sl_client_options *opt,
                                  sl_client_error *err)
{
    cl_pool_options po = {
        .max_reply = opt->max_reply_bytes ? opt->max_reply_bytes : SL_CLIENT_DEFAULT_MAX_REPLY,
        .redial_min_ms = RECONNECT_MIN_MS,
        .redial_max_ms = RECONNECT_MAX_MS,
    };
    int rv = cl_pool_open(c->url, &po, &c->pool);
    if (rv != 0)
        return dial_error(err, c->url, "cannot dial", rv);
    if (!opt->lazy_connect && (rv = cl_pool_connect(c->pool, c->timeout_ms)) != 0)
        return dial_error(err, c->url, "cannot connect to", rv);
    return SL_CLIENT_OK;
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
        return cl_fail_argument(err, "sl_client_open needs a URL and an out pointer");
    *out = NULL;
    if (!opt)
        opt = &defaults;
    sl_client *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url))) {
        free(c);
        return cl_fail_nomem(err);
    }
    c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : SL_CLIENT_DEFAULT_TIMEOUT_MS;
    if (opt->api_key && *opt->api_key && !(c->api_key = strdup(opt->api_key))) {
        sl_client_close(c);
        return cl_fail_nomem(err);
    }
    sl_client_status st;
    if (cl_pool_serves(url)) {
        st = open_pool(c, opt, err);
    } else {
        st = open_socket(c, err);
        if (st == SL_CLIENT_OK)
            st = dial(c, opt, err);
    }
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
    if (c->pool)
        cl_pool_close(c->pool);
    else
        nng_close(c->sock); /* also closes the dialer */
    free(c->url);
    free(c->api_key);
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
        return cl_fail_nomem(err);
    if (rv == NNG_EMSGSIZE)
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "connection_lost",
                  "the reply from %s is larger than this client accepts (max_reply_bytes): "
                  "the connection was dropped", c->url);
    else if (rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "connection_lost",
                  "the connection to %s dropped while the request was out: it may or may "
                  "not have been applied", c->url);
    else if (rv == NNG_ETIMEDOUT && sending)
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "unavailable",
                  "not connected to %s within %" PRIu64 " ms", c->url, waited_ms);
    else if (rv == NNG_ETIMEDOUT)
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "timeout",
                  "no reply from %s within %" PRIu64 " ms", c->url, waited_ms);
    else if (rv == NNG_ECLOSED)
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "closed", "the client is closed");
    else
        st = cl_fail(err, SL_CLIENT_ERR_TRANSPORT, "transport", "%s: %s", c->url,
                  nng_strerror(rv));
    err->nng_error = rv;
    return st;
}

/* Wait for the reply of the request just sent on ctx. */
static sl_client_status call_receive(sl_client *c, nng_ctx ctx, nng_aio *aio, uint64_t wait_ms,
                                     nng_msg **reply, sl_client_error *err)
{
    nng_aio_set_timeout(aio, cl_duration_of(wait_ms));
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0)
        return call_error(c, err, rv, false, wait_ms);
    *reply = nng_aio_get_msg(aio);
    return SL_CLIENT_OK;
}

/* call_run through the pool: the request is written straight from its
 * buffer. */
static sl_client_status call_pooled(sl_client *c, const sl_client_buf *req, uint64_t send_ms,
                                    uint64_t reply_ms, nng_msg **reply, sl_client_error *err)
{
    bool sending;
    int rv = cl_pool_call(c->pool, req->data, req->len, send_ms, reply_ms, reply, &sending);
    return rv == 0 ? SL_CLIENT_OK : call_error(c, err, rv, sending, sending ? send_ms : reply_ms);
}

/* Send the request in req and wait for one reply: onto a connection
 * within send_ms, the reply within reply_ms after that. */
static sl_client_status call_run(sl_client *c, const sl_client_buf *req, uint64_t send_ms,
                                 uint64_t reply_ms, nng_msg **reply, sl_client_error *err)
{
    if (c->pool)
        return call_pooled(c, req, send_ms, reply_ms, reply, err);
    nng_msg *msg;
    int rv = nng_msg_alloc(&msg, req->len);
    if (rv != 0)
        return cl_fail_nomem(err);
    if (req->len) /* an empty raw request has no buffer at all */
        memcpy(nng_msg_body(msg), req->data, req->len);
    nng_ctx ctx;
    nng_aio *aio = NULL;
    if ((rv = nng_ctx_open(&ctx, c->sock)) != 0) {
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
    nng_aio_set_timeout(aio, cl_duration_of(send_ms));
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
 * cl_call_begin resets the result and allocates the request message; the
 * caller packs into k.s; cl_call_end checks the packing, runs the call and
 * decodes the reply into the result. */

sl_client_status cl_call_begin(cl_call *k, sl_client *c, sl_client_op op,
                               sl_client_result *res)
{
    memset(k, 0, sizeof *k);
    if (!res)
        return SL_CLIENT_ERR_ARGUMENT;
    memset(res, 0, sizeof *res);
    res->op = op;
    if (!c)
        return cl_fail_argument(&res->error, "NULL client");
    k->client = c;
    k->res = res;
    cl_sink_init_buf(&k->s, &k->buf);
    return SL_CLIENT_OK;
}

/* Read the map header at the start of b: its length in bytes and count.
 * False when b does not start with a map. */
static bool map_header(const sl_client_buf *b, size_t *hdr_len, uint32_t *count)
{
    const unsigned char *p = (const unsigned char *)b->data;
    if (b->len >= 1 && (p[0] & 0xf0) == 0x80) {
        *hdr_len = 1;
        *count = p[0] & 0x0f;
    } else if (b->len >= 3 && p[0] == 0xde) {
        *hdr_len = 3;
        *count = (uint32_t)p[1] << 8 | p[2];
    } else if (b->len >= 5 && p[0] == 0xdf) {
        *hdr_len = 5;
        *count = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    } else {
        return false;
    }
    return true;
}

/* Count one more pair in the map header at the start of b (see
 * client_internal.h). */
sl_client_status cl_map_header_add_one(sl_client_buf *b)
{
    size_t old_len;
    uint32_t n;
    if (!map_header(b, &old_len, &n) || n == UINT32_MAX)
        return SL_CLIENT_ERR_ARGUMENT;
    n++;
    size_t new_len = n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
    if (new_len > old_len) {
        if (!buf_reserve(b, new_len - old_len))
            return SL_CLIENT_ERR_NOMEM;
        memmove(b->data + new_len, b->data + old_len, b->len - old_len);
        b->len += new_len - old_len;
    }
    unsigned char *p = (unsigned char *)b->data;
    if (new_len == 1) {
        p[0] = (unsigned char)(0x80 | n);
    } else if (new_len == 3) {
        p[0] = 0xde;
        p[1] = (unsigned char)(n >> 8);
        p[2] = (unsigned char)n;
    } else {
        p[0] = 0xdf;
        for (int i = 0; i < 4; i++)
            p[1 + i] = (unsigned char)(n >> (24 - 8 * i));
    }
    return SL_CLIENT_OK;
}

/* Add "key": the client's API key to the packed request (every call but
 * raw ones). The one place all encoders' requests pass. */
static sl_client_status add_api_key(cl_call *k)
{
    if (!k->client->api_key || k->res->op == SL_CLIENT_OP_RAW)
        return SL_CLIENT_OK;
    cl_put_kv_cstr(&k->s, "key", k->client->api_key);
    sl_client_status st = cl_sink_status(&k->s, SL_CLIENT_OK);
    return st == SL_CLIENT_OK ? cl_map_header_add_one(&k->buf) : st;
}

/* The request is packed (packed: the encoder's own status): send it within
 * timeout_ms, wait up to timeout_ms + extra_ms for the reply, decode it. */
sl_client_status cl_call_end(cl_call *k, sl_client_status packed, uint64_t timeout_ms,
                             uint64_t extra_ms)
{
    sl_client_result *res = k->res;
    sl_client_status st = cl_sink_status(&k->s, packed);
    if (st == SL_CLIENT_OK)
        st = add_api_key(k);
    if (st != SL_CLIENT_OK) {
        sl_client_buf_free(&k->buf);
        if (st == SL_CLIENT_ERR_NOMEM)
            return cl_fail_nomem(&res->error);
        return cl_fail_argument(&res->error, "unusable request arguments (NULL pointer, bad "
                                          "count, unterminated name or too long a field)");
    }
    uint64_t t = timeout_ms;
    uint64_t reply_ms = extra_ms > UINT64_MAX - t ? UINT64_MAX : t + extra_ms;
    nng_msg *reply = NULL;
    st = call_run(k->client, &k->buf, t, reply_ms, &reply, &res->error);
    sl_client_buf_free(&k->buf);
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
sl_client_status cl_check_count(sl_client_result *res, sl_client_status st, size_t got,
                                size_t sent, const char *what)
{
    if (st != SL_CLIENT_OK || got == sent)
        return st;
    return cl_fail(&res->error, SL_CLIENT_ERR_BAD_REPLY, "bad_reply",
                "malformed reply: %zu %s for %zu sent", got, what, sent);
}

sl_client_status sl_client_ping(sl_client *c, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_PING, res);
    return cl_call_end(&k, pack_bare(&k.s, SL_CLIENT_OP_PING), c->timeout_ms, 0);
}

sl_client_status sl_client_publish(sl_client *c, const sl_event_in *events, size_t n,
                                   sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_PUBLISH, res);
    sl_client_status st = cl_call_end(&k, pack_publish(&k.s, events, n), c->timeout_ms, 0);
    return cl_check_count(res, st, res->publish.n, n, "results");
}

sl_client_status sl_client_pull(sl_client *c, const char *group, uint32_t max,
                                uint64_t wait_ms, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_PULL, res);
    return cl_call_end(&k, pack_pull(&k.s, group, max, wait_ms, NULL, 0), c->timeout_ms, wait_ms);
}

sl_client_status sl_client_pull_ack(sl_client *c, const char *group, uint32_t max,
                                    uint64_t wait_ms, const sl_slice *acks, size_t nacks,
                                    sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_PULL, res);
    sl_client_status st = cl_call_end(&k, pack_pull(&k.s, group, max, wait_ms, acks, nacks),
                                   c->timeout_ms, wait_ms);
    return cl_check_count(res, st, res->pull.nacked, nacks, "ack statuses");
}

static sl_client_status settle(sl_client *c, sl_settle_kind kind, const char *group,
                               const sl_slice *tokens, size_t n, uint64_t delay_ms,
                               const char *reason, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, settle_op(kind), res);
    sl_client_status st = cl_call_end(&k, pack_settle(&k.s, kind, group, tokens, n, delay_ms,
                                                   reason), c->timeout_ms, 0);
    return cl_check_count(res, st, res->settle.n, n, "statuses");
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
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_group_put(&k.s, op, cfg, mask), c->timeout_ms, 0);
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
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_group_name(&k.s, op, name), c->timeout_ms, 0);
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
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_bare(&k.s, op), c->timeout_ms, 0);
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
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_LOG_READ, res);
    return cl_call_end(&k, pack_log_read(&k.s, from, value, max), c->timeout_ms, 0);
}

sl_client_status sl_client_dlq_list(sl_client *c, const char *group, uint64_t after_seq,
                                    uint32_t limit, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_DLQ_LIST, res);
    return cl_call_end(&k, pack_dlq_list(&k.s, group, after_seq, limit), c->timeout_ms, 0);
}

sl_client_status sl_client_dlq_get(sl_client *c, const char *group, uint64_t seq,
                                   sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_DLQ_GET, res);
    return cl_call_end(&k, pack_dlq_get(&k.s, group, seq), c->timeout_ms, 0);
}

static sl_client_status dlq_change(sl_client *c, sl_client_op op, const char *group,
                                   const uint64_t *seqs, size_t n, bool all,
                                   sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_dlq_change(&k.s, op, group, seqs, n, all), c->timeout_ms, 0);
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
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_RAW, res);
    if (!req && len > 0)
        return cl_fail_argument(&res->error, "NULL request bytes");
    if (len > 0 && sink_write(&k.s, req, len) != 0) {
        sl_client_buf_free(&k.buf);
        return cl_fail_nomem(&res->error);
    }
    return cl_call_end(&k, SL_CLIENT_OK, timeout_ms ? timeout_ms : c->timeout_ms, 0);
}
