/* client_webhook.c: the webhook operations of the client library (see
 * client_webhook.h; wire contract: PROTOCOL.md "Webhook subscriptions").
 *
 * Built into libsluice_client with client.c, whose sink, decoder and call
 * helpers (client_internal.h) it uses. In three sections: request encoders
 * (pack_*), reply decoders (shapes, then operations: client.c's decoder
 * dispatch asks cl_webhook_decoder_of for them), one function per
 * operation. Nothing here is global or mutable.
 */
#include "proto/client_webhook.h"

#include <msgpack.h>
#include <string.h>
#include "proto/client_internal.h"

#define GIVEN_ALL ((unsigned)SL_WEBHOOK_GIVEN_HEADERS * 2u - 1u) /* every SL_WEBHOOK_GIVEN_* */

/* ==== 1. request encoders ==================================================== */

static bool is_id_op(sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_WEBHOOK_GET:
    case SL_CLIENT_OP_WEBHOOK_DELETE:
    case SL_CLIENT_OP_WEBHOOK_ENABLE:
    case SL_CLIENT_OP_WEBHOOK_DISABLE:
    case SL_CLIENT_OP_WEBHOOK_RESET:
    case SL_CLIENT_OP_WEBHOOK_TEST:
    case SL_CLIENT_OP_WEBHOOK_STATS: return true;
    default: return false;
    }
}

/* The fields mask selects can be sent: slices usable, counts within arrays. */
static bool config_ok(const sl_webhook_config *cfg, unsigned mask)
{
    if ((mask & SL_WEBHOOK_GIVEN_FILTERS) && cfg->nfilters > SL_WEBHOOK_FILTERS_MAX)
        return false;
    if ((mask & SL_WEBHOOK_GIVEN_RETRY) && cfg->nretry > SL_WEBHOOK_RETRY_MAX)
        return false;
    if ((mask & SL_WEBHOOK_GIVEN_HEADERS) &&
        (cfg->nheaders > SL_WEBHOOK_HEADERS_MAX || !cl_headers_ok(cfg->headers, cfg->nheaders)))
        return false;
    if ((mask & SL_WEBHOOK_GIVEN_FILTERS))
        for (uint32_t i = 0; i < cfg->nfilters; i++)
            if (!cl_slice_ok(cfg->filters[i]))
                return false;
    return cl_slice_ok(cfg->name) && cl_slice_ok(cfg->description) && cl_slice_ok(cfg->url);
}

/* One request field per bit. */
static size_t bit_count(unsigned mask)
{
    size_t n = 0;
    for (; mask; mask &= mask - 1)
        n++;
    return n;
}

/* The config fields mask selects, in SL_WEBHOOK_GIVEN_* order. */
static void put_config(cl_sink *s, const sl_webhook_config *cfg, unsigned mask)
{
    if (mask & SL_WEBHOOK_GIVEN_NAME)
        cl_put_kv_str(s, "name", cfg->name);
    if (mask & SL_WEBHOOK_GIVEN_DESCRIPTION)
        cl_put_kv_str(s, "description", cfg->description);
    if (mask & SL_WEBHOOK_GIVEN_URL)
        cl_put_kv_str(s, "url", cfg->url);
    if (mask & SL_WEBHOOK_GIVEN_FILTERS) {
        cl_put_cstr(s, "filters");
        cl_put_array(s, cfg->nfilters);
        for (uint32_t i = 0; i < cfg->nfilters; i++)
            cl_put_str(s, cfg->filters[i]);
    }
    if (mask & SL_WEBHOOK_GIVEN_ACTIVE) {
        cl_put_cstr(s, "active");
        cl_put_bool(s, cfg->active);
    }
    if (mask & SL_WEBHOOK_GIVEN_RETRY) {
        cl_put_cstr(s, "retry_schedule_ms");
        cl_put_array(s, cfg->nretry);
        for (uint32_t i = 0; i < cfg->nretry; i++)
            cl_put_uint(s, cfg->retry_ms[i]);
    }
    if (mask & SL_WEBHOOK_GIVEN_TIMEOUT)
        cl_put_kv_uint(s, "timeout_ms", cfg->timeout_ms);
    if (mask & SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT)
        cl_put_kv_uint(s, "max_in_flight", cfg->max_in_flight);
    if (mask & SL_WEBHOOK_GIVEN_RATE_LIMIT)
        cl_put_kv_uint(s, "rate_limit", cfg->rate_limit);
    if (mask & SL_WEBHOOK_GIVEN_DISABLE_AFTER)
        cl_put_kv_uint(s, "disable_after", cfg->disable_after);
    if (mask & SL_WEBHOOK_GIVEN_HEADERS) {
        cl_put_cstr(s, "headers");
        cl_put_headers(s, cfg->headers, cfg->nheaders);
    }
}

static sl_client_status pack_put(cl_sink *s, sl_client_op op, const char *id,
                                 const sl_webhook_config *cfg, unsigned mask)
{
    bool create = op == SL_CLIENT_OP_WEBHOOK_CREATE;
    if ((!create && op != SL_CLIENT_OP_WEBHOOK_UPDATE) || (!create && !id) || !cfg ||
        (mask & ~GIVEN_ALL))
        return SL_CLIENT_ERR_ARGUMENT;
    if (create)
        mask |= SL_WEBHOOK_GIVEN_NAME | SL_WEBHOOK_GIVEN_URL;
    if (!config_ok(cfg, mask))
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, bit_count(mask) + (create ? 0 : 1));
    if (!create)
        cl_put_kv_cstr(s, "id", id);
    put_config(s, cfg, mask);
    return SL_CLIENT_OK;
}

static sl_client_status pack_id(cl_sink *s, sl_client_op op, const char *id)
{
    if (!is_id_op(op) || !id)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, 1);
    cl_put_kv_cstr(s, "id", id);
    return SL_CLIENT_OK;
}

static sl_client_status pack_page(cl_sink *s, sl_client_op op, const char *after,
                                  uint32_t limit)
{
    if (op != SL_CLIENT_OP_WEBHOOK_LIST && op != SL_CLIENT_OP_WEBHOOK_TARGETS)
        return SL_CLIENT_ERR_ARGUMENT;
    bool with_after = after && *after;
    cl_put_request(s, op, (size_t)with_after + (limit > 0));
    if (with_after)
        cl_put_kv_cstr(s, "after", after);
    if (limit > 0)
        cl_put_kv_uint(s, "limit", limit);
    return SL_CLIENT_OK;
}

static sl_client_status pack_rotate(cl_sink *s, const char *id, uint64_t overlap_ms)
{
    if (!id)
        return SL_CLIENT_ERR_ARGUMENT;
    bool with_overlap = overlap_ms != SL_DELAY_DEFAULT;
    cl_put_request(s, SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET, 1 + (size_t)with_overlap);
    cl_put_kv_cstr(s, "id", id);
    if (with_overlap)
        cl_put_kv_uint(s, "overlap_ms", overlap_ms);
    return SL_CLIENT_OK;
}

static const char *status_filter_name(sl_delivery_status_filter f)
{
    switch (f) {
    case SL_DELIVERY_SUCCEEDED: return "succeeded";
    case SL_DELIVERY_FAILED: return "failed";
    case SL_DELIVERY_ANY: break;
    }
    return NULL;
}

static sl_client_status pack_deliveries(cl_sink *s, const char *id,
                                        const sl_client_deliveries_filter *filter,
                                        uint64_t before, uint32_t limit)
{
    static const sl_client_deliveries_filter none;
    if (!filter)
        filter = &none;
    const char *status = status_filter_name(filter->status);
    if (!id || (filter->status != SL_DELIVERY_ANY && !status))
        return SL_CLIENT_ERR_ARGUMENT;
    size_t n = 1 + (size_t)(status != NULL) + (filter->http_status > 0) +
               (filter->since_ms > 0) + (filter->until_ms > 0) + (filter->event_id != NULL) +
               (before > 0) + (limit > 0);
    cl_put_request(s, SL_CLIENT_OP_WEBHOOK_DELIVERIES, n);
    cl_put_kv_cstr(s, "id", id);
    if (status)
        cl_put_kv_cstr(s, "status", status);
    if (filter->http_status > 0)
        cl_put_kv_uint(s, "http_status", filter->http_status);
    if (filter->since_ms > 0)
        cl_put_kv_uint(s, "since_ms", filter->since_ms);
    if (filter->until_ms > 0)
        cl_put_kv_uint(s, "until_ms", filter->until_ms);
    if (filter->event_id)
        cl_put_kv_cstr(s, "event_id", filter->event_id);
    if (before > 0)
        cl_put_kv_uint(s, "before", before);
    if (limit > 0)
        cl_put_kv_uint(s, "limit", limit);
    return SL_CLIENT_OK;
}

static sl_client_status pack_retry(cl_sink *s, const char *id, const char *event_id)
{
    if (!id || !event_id)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_WEBHOOK_RETRY, 2);
    cl_put_kv_cstr(s, "id", id);
    cl_put_kv_cstr(s, "event_id", event_id);
    return SL_CLIENT_OK;
}

static sl_client_status pack_event_types(cl_sink *s)
{
    cl_put_request(s, SL_CLIENT_OP_WEBHOOK_EVENT_TYPES, 0);
    return SL_CLIENT_OK;
}

static bool attempt_ok(const sl_webhook_attempt *a)
{
    return cl_slice_ok(a->token) && cl_slice_ok(a->error) && cl_slice_ok(a->body);
}

/* One attempt map: token always, the rest when set. */
static void put_attempt(cl_sink *s, const sl_webhook_attempt *a)
{
    size_t n = 1 + (size_t)(a->http_status > 0) + (a->error.len > 0) + (a->latency_us > 0) +
               (a->body.len > 0) + (a->retry_after_ms > 0) + (a->sent_ms > 0);
    cl_put_map(s, n);
    cl_put_kv_str(s, "token", a->token);
    if (a->http_status > 0)
        cl_put_kv_uint(s, "http_status", a->http_status);
    if (a->error.len > 0)
        cl_put_kv_str(s, "error", a->error);
    if (a->latency_us > 0)
        cl_put_kv_uint(s, "latency_us", a->latency_us);
    if (a->body.len > 0) {
        cl_put_cstr(s, "body");
        cl_put_bin(s, a->body);
    }
    if (a->retry_after_ms > 0)
        cl_put_kv_uint(s, "retry_after_ms", a->retry_after_ms);
    if (a->sent_ms > 0)
        cl_put_kv_uint(s, "sent_ms", a->sent_ms);
}

static sl_client_status pack_report(cl_sink *s, const char *id,
                                    const sl_webhook_attempt *attempts, size_t n)
{
    if (!id || (n > 0 && !attempts))
        return SL_CLIENT_ERR_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!attempt_ok(&attempts[i]))
            return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, SL_CLIENT_OP_WEBHOOK_REPORT, 2);
    cl_put_kv_cstr(s, "id", id);
    cl_put_cstr(s, "attempts");
    cl_put_array(s, n);
    for (size_t i = 0; i < n; i++)
        put_attempt(s, &attempts[i]);
    return SL_CLIENT_OK;
}

sl_client_status sl_client_encode_webhook_put(sl_client_buf *out, sl_client_op op,
                                              const char *id, const sl_webhook_config *cfg,
                                              unsigned mask)
{
    CL_ENCODE_INTO(out, pack_put(s, op, id, cfg, mask));
}

sl_client_status sl_client_encode_webhook_id(sl_client_buf *out, sl_client_op op,
                                             const char *id)
{
    CL_ENCODE_INTO(out, pack_id(s, op, id));
}

sl_client_status sl_client_encode_webhook_page(sl_client_buf *out, sl_client_op op,
                                               const char *after, uint32_t limit)
{
    CL_ENCODE_INTO(out, pack_page(s, op, after, limit));
}

sl_client_status sl_client_encode_webhook_rotate_secret(sl_client_buf *out, const char *id,
                                                        uint64_t overlap_ms)
{
    CL_ENCODE_INTO(out, pack_rotate(s, id, overlap_ms));
}

sl_client_status sl_client_encode_webhook_deliveries(sl_client_buf *out, const char *id,
                                                     const sl_client_deliveries_filter *filter,
                                                     uint64_t before, uint32_t limit)
{
    CL_ENCODE_INTO(out, pack_deliveries(s, id, filter, before, limit));
}

sl_client_status sl_client_encode_webhook_retry(sl_client_buf *out, const char *id,
                                                const char *event_id)
{
    CL_ENCODE_INTO(out, pack_retry(s, id, event_id));
}

sl_client_status sl_client_encode_webhook_event_types(sl_client_buf *out)
{
    CL_ENCODE_INTO(out, pack_event_types(s));
}

sl_client_status sl_client_encode_webhook_report(sl_client_buf *out, const char *id,
                                                 const sl_webhook_attempt *attempts, size_t n)
{
    CL_ENCODE_INTO(out, pack_report(s, id, attempts, n));
}

/* ==== 2. reply decoding ==========================================================
 * Shapes first (a Webhook or Target, an attempt entry, an outcome), then one
 * decoder per operation. */

/* The "secrets" of a Webhook: one {"expires_ms": uint} per live secret. */
static bool decode_secret_expiries(cl_decoder *d, const msgpack_object *o,
                                   sl_client_webhook *w)
{
    msgpack_object_array a;
    void *mem;
    if (!cl_get_array(d, o, "secrets", false, &a) || !cl_maps_of(d, &a, "secrets", 1) ||
        !cl_alloc_elems(d, a.size, sizeof(uint64_t), &mem))
        return false;
    uint64_t *exp = mem;
    for (uint32_t i = 0; i < a.size; i++)
        if (!cl_get_uint(d, &a.ptr[i], "expires_ms", true, &exp[i]))
            return false;
    w->secret_expires_ms = exp;
    w->nsecrets = a.size;
    return true;
}

#define WEBHOOK_KEYS 6 /* id, name, url, filters, active, group */

/* The keys every Webhook and Target share (all but "secrets"). */
static bool decode_webhook_common(cl_decoder *d, const msgpack_object *o, sl_client_webhook *w)
{
    return cl_get_str(d, o, "id", true, &w->id) && cl_get_str(d, o, "name", true, &w->name) &&
           cl_get_str(d, o, "description", false, &w->description) &&
           cl_get_str(d, o, "url", true, &w->url) &&
           cl_decode_str_array(d, o, "filters", true, &w->filters, &w->nfilters) &&
           cl_get_bool(d, o, "active", true, &w->active) &&
           cl_get_str(d, o, "disabled_reason", false, &w->disabled_reason) &&
           cl_get_uint(d, o, "disabled_ms", false, &w->disabled_ms) &&
           cl_decode_uint_array(d, o, "retry_schedule_ms", false, &w->retry_schedule_ms,
                                &w->nretry) &&
           cl_get_uint(d, o, "timeout_ms", false, &w->timeout_ms) &&
           cl_get_uint(d, o, "max_in_flight", false, &w->max_in_flight) &&
           cl_get_uint(d, o, "rate_limit", false, &w->rate_limit) &&
           cl_get_uint(d, o, "disable_after", false, &w->disable_after) &&
           cl_decode_str_map(d, o, "headers", false, &w->headers, &w->nheaders) &&
           cl_get_str(d, o, "group", true, &w->group) &&
           cl_get_uint(d, o, "consecutive_failures", false, &w->consecutive_failures) &&
           cl_get_uint(d, o, "created_ms", false, &w->created_ms) &&
           cl_get_uint(d, o, "updated_ms", false, &w->updated_ms);
}

static bool decode_webhook(cl_decoder *d, const msgpack_object *o, sl_client_webhook *w)
{
    return decode_webhook_common(d, o, w) && decode_secret_expiries(d, o, w);
}

/* A Target: "secrets" holds the secrets themselves. */
static bool decode_target(cl_decoder *d, const msgpack_object *o, sl_client_webhook *w)
{
    return decode_webhook_common(d, o, w) &&
           cl_decode_str_array(d, o, "secrets", false, &w->secrets, &w->nsecrets);
}

static bool result_of(sl_slice name, sl_attempt_result *out)
{
    static const struct {
        const char *name;
        sl_attempt_result result;
    } names[] = {{"delivered", SL_ATTEMPT_DELIVERED},
                 {"retry", SL_ATTEMPT_RETRY},
                 {"dead", SL_ATTEMPT_DEAD},
                 {"disabled", SL_ATTEMPT_DISABLED},
                 {"stale", SL_ATTEMPT_STALE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (sl_slice_eq_cstr(name, names[i].name)) {
            *out = names[i].result;
            return true;
        }
    return false;
}

static bool decode_result(cl_decoder *d, const msgpack_object *o, sl_attempt_result *out)
{
    sl_slice name;
    if (!cl_get_str(d, o, "result", true, &name))
        return false;
    if (!result_of(name, out))
        return cl_bad(d, "result", "is not delivered, retry, dead, disabled or stale");
    return true;
}

#define ATTEMPT_KEYS 6 /* entry, seq, event_id, attempt, time_ms, result */

static bool decode_attempt_entry(cl_decoder *d, const msgpack_object *o,
                                 sl_client_webhook_attempt_entry *e)
{
    return cl_get_uint(d, o, "entry", true, &e->entry) &&
           cl_get_uint(d, o, "seq", true, &e->seq) &&
           cl_get_str(d, o, "event_id", true, &e->event_id) &&
           cl_get_str(d, o, "topic", false, &e->topic) &&
           cl_get_u32(d, o, "attempt", true, &e->attempt) &&
           cl_get_uint(d, o, "time_ms", true, &e->time_ms) &&
           cl_get_u32(d, o, "http_status", false, &e->http_status) &&
           cl_get_str(d, o, "error", false, &e->error) &&
           cl_get_uint(d, o, "latency_us", false, &e->latency_us) &&
           cl_get_bytes(d, o, "body", false, true, &e->body) && decode_result(d, o, &e->result);
}

#define OUTCOME_KEYS 2 /* result, attempt */

static bool decode_outcome(cl_decoder *d, const msgpack_object *o, sl_webhook_outcome *out)
{
    return decode_result(d, o, &out->result) &&
           cl_get_u32(d, o, "attempt", true, &out->attempt) &&
           cl_get_uint(d, o, "retry_at_ms", false, &out->retry_at_ms);
}

/* Adapters from the typed element decoders to cl_elem_fn. */
static bool elem_webhook(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_webhook(d, o, out);
}
static bool elem_target(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_target(d, o, out);
}
static bool elem_attempt_entry(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_attempt_entry(d, o, out);
}
static bool elem_outcome(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_outcome(d, o, out);
}

/* ---- operations ---- */

/* create, update, get, enable, disable, reset, rotate_secret: "webhook",
 * and for create and rotate_secret the "secret". */
static bool decode_one(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *w;
    bool with_secret = r->op == SL_CLIENT_OP_WEBHOOK_CREATE ||
                       r->op == SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET;
    if (!cl_get_map(d, top, "webhook", true, &w) || !decode_webhook(d, w, &r->webhook.webhook))
        return false;
    return !with_secret || cl_get_str(d, top, "secret", true, &r->webhook.secret);
}

static bool decode_page(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    bool targets = r->op == SL_CLIENT_OP_WEBHOOK_TARGETS;
    const void *p;
    if (!cl_decode_list(d, top, targets ? "targets" : "webhooks", WEBHOOK_KEYS,
                        sizeof(sl_client_webhook), targets ? elem_target : elem_webhook, &p,
                        &r->webhooks.n))
        return false;
    r->webhooks.webhooks = p;
    return cl_get_str(d, top, "next_after", true, &r->webhooks.next_after);
}

static bool decode_test(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return cl_get_uint(d, top, "seq", true, &r->webhook_test.seq) &&
           cl_get_str(d, top, "id", true, &r->webhook_test.event_id);
}

static bool decode_stats(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *o;
    sl_client_webhook_stats *s = &r->webhook_stats;
    return cl_get_map(d, top, "stats", true, &o) &&
           cl_get_uint(d, o, "attempts", false, &s->attempts) &&
           cl_get_uint(d, o, "successes", false, &s->successes) &&
           cl_get_uint(d, o, "failures", false, &s->failures) &&
           cl_get_uint(d, o, "dead", false, &s->dead) &&
           cl_get_uint(d, o, "last_status", false, &s->last_status) &&
           cl_get_str(d, o, "last_error", false, &s->last_error) &&
           cl_get_uint(d, o, "last_attempt_ms", false, &s->last_attempt_ms) &&
           cl_get_uint(d, o, "last_success_ms", false, &s->last_success_ms) &&
           cl_get_uint(d, o, "latency_p50_us", false, &s->latency_p50_us) &&
           cl_get_uint(d, o, "latency_p99_us", false, &s->latency_p99_us) &&
           cl_get_uint(d, o, "backlog", false, &s->backlog) &&
           cl_get_uint(d, o, "in_flight", false, &s->in_flight) &&
           cl_get_uint(d, o, "waiting", false, &s->waiting) &&
           cl_get_uint(d, o, "dlq_size", false, &s->dlq_size);
}

static bool decode_deliveries(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "deliveries", ATTEMPT_KEYS,
                        sizeof(sl_client_webhook_attempt_entry), elem_attempt_entry, &p,
                        &r->webhook_deliveries.n))
        return false;
    r->webhook_deliveries.entries = p;
    return cl_get_uint(d, top, "next_before", true, &r->webhook_deliveries.next_before);
}

static bool decode_event_types(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    return cl_decode_str_array(d, top, "types", true, &r->event_types.types, &r->event_types.n);
}

static bool decode_report(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "outcomes", OUTCOME_KEYS, sizeof(sl_webhook_outcome),
                        elem_outcome, &p, &r->webhook_report.n))
        return false;
    r->webhook_report.outcomes = p;
    return true;
}

static bool decode_nothing(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    (void)d, (void)top, (void)r;
    return true;
}

cl_op_decoder cl_webhook_decoder_of(sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_WEBHOOK_CREATE:
    case SL_CLIENT_OP_WEBHOOK_UPDATE:
    case SL_CLIENT_OP_WEBHOOK_GET:
    case SL_CLIENT_OP_WEBHOOK_ENABLE:
    case SL_CLIENT_OP_WEBHOOK_DISABLE:
    case SL_CLIENT_OP_WEBHOOK_RESET:
    case SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET: return decode_one;
    case SL_CLIENT_OP_WEBHOOK_LIST:
    case SL_CLIENT_OP_WEBHOOK_TARGETS: return decode_page;
    case SL_CLIENT_OP_WEBHOOK_TEST: return decode_test;
    case SL_CLIENT_OP_WEBHOOK_STATS: return decode_stats;
    case SL_CLIENT_OP_WEBHOOK_DELIVERIES: return decode_deliveries;
    case SL_CLIENT_OP_WEBHOOK_EVENT_TYPES: return decode_event_types;
    case SL_CLIENT_OP_WEBHOOK_REPORT: return decode_report;
    case SL_CLIENT_OP_WEBHOOK_DELETE:
    case SL_CLIENT_OP_WEBHOOK_RETRY: return decode_nothing;
    default: return NULL;
    }
}

/* ==== 3. one function per operation ================================================ */

static sl_client_status put(sl_client *c, sl_client_op op, const char *id,
                            const sl_webhook_config *cfg, unsigned mask, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_put(&k.s, op, id, cfg, mask), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_create(sl_client *c, const sl_webhook_config *cfg,
                                          unsigned mask, sl_client_result *res)
{
    return put(c, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, cfg, mask, res);
}

sl_client_status sl_client_webhook_update(sl_client *c, const char *id,
                                          const sl_webhook_config *cfg, unsigned mask,
                                          sl_client_result *res)
{
    return put(c, SL_CLIENT_OP_WEBHOOK_UPDATE, id, cfg, mask, res);
}

static sl_client_status by_id(sl_client *c, sl_client_op op, const char *id,
                              sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_id(&k.s, op, id), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_get(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_GET, id, res);
}

sl_client_status sl_client_webhook_delete(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_DELETE, id, res);
}

sl_client_status sl_client_webhook_enable(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_ENABLE, id, res);
}

sl_client_status sl_client_webhook_disable(sl_client *c, const char *id,
                                           sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_DISABLE, id, res);
}

sl_client_status sl_client_webhook_reset(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_RESET, id, res);
}

sl_client_status sl_client_webhook_test(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_TEST, id, res);
}

sl_client_status sl_client_webhook_stats_get(sl_client *c, const char *id,
                                             sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_WEBHOOK_STATS, id, res);
}

static sl_client_status page(sl_client *c, sl_client_op op, const char *after, uint32_t limit,
                             sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_page(&k.s, op, after, limit), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_list(sl_client *c, const char *after, uint32_t limit,
                                        sl_client_result *res)
{
    return page(c, SL_CLIENT_OP_WEBHOOK_LIST, after, limit, res);
}

sl_client_status sl_client_webhook_targets(sl_client *c, const char *after, uint32_t limit,
                                           sl_client_result *res)
{
    return page(c, SL_CLIENT_OP_WEBHOOK_TARGETS, after, limit, res);
}

sl_client_status sl_client_webhook_rotate_secret(sl_client *c, const char *id,
                                                 uint64_t overlap_ms, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET, res);
    return cl_call_end(&k, pack_rotate(&k.s, id, overlap_ms), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_deliveries(sl_client *c, const char *id,
                                              const sl_client_deliveries_filter *filter,
                                              uint64_t before, uint32_t limit,
                                              sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_WEBHOOK_DELIVERIES, res);
    return cl_call_end(&k, pack_deliveries(&k.s, id, filter, before, limit),
                       sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_retry(sl_client *c, const char *id, const char *event_id,
                                         sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_WEBHOOK_RETRY, res);
    return cl_call_end(&k, pack_retry(&k.s, id, event_id), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_event_types(sl_client *c, sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_WEBHOOK_EVENT_TYPES, res);
    return cl_call_end(&k, pack_event_types(&k.s), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_webhook_report(sl_client *c, const char *id,
                                          const sl_webhook_attempt *attempts, size_t n,
                                          sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_WEBHOOK_REPORT, res);
    sl_client_status st = cl_call_end(&k, pack_report(&k.s, id, attempts, n),
                                      sl_client_timeout_ms(c), 0);
    return cl_check_count(res, st, res->webhook_report.n, n, "outcomes");
}
