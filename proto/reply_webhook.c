/* reply_webhook.c: see reply_webhook.h. */
#include "proto/reply_webhook.h"

#include "core/event.h"

typedef struct kv_u64 {
    const char *key;
    uint64_t value;
} kv_u64;

static sl_err pack_uints(sl_reply_buf *r, const kv_u64 *kv, size_t n)
{
    sl_err rc = SL_OK;
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_reply_kv_uint(r, kv[i].key, kv[i].value);
    return rc;
}

static sl_err pack_slices(sl_reply_buf *r, const char *key, const sl_slice *s, uint32_t n)
{
    sl_err rc = sl_reply_key(r, key);
    if (rc == SL_OK)
        rc = sl_reply_array(r, n);
    for (uint32_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_reply_str(r, s[i]);
    return rc;
}

static sl_err pack_retry(sl_reply_buf *r, const sl_webhook_config *c)
{
    sl_err rc = sl_reply_key(r, "retry_schedule_ms");
    if (rc == SL_OK)
        rc = sl_reply_array(r, c->nretry);
    for (uint32_t i = 0; i < c->nretry && rc == SL_OK; i++)
        rc = sl_reply_uint(r, c->retry_ms[i]);
    return rc;
}

static sl_err pack_headers(sl_reply_buf *r, const sl_webhook_config *c)
{
    sl_err rc = sl_reply_key(r, "headers");
    if (rc == SL_OK)
        rc = sl_reply_map(r, c->nheaders);
    for (uint32_t i = 0; i < c->nheaders && rc == SL_OK; i++) {
        rc = sl_reply_str(r, c->headers[i].key);
        if (rc == SL_OK)
            rc = sl_reply_str(r, c->headers[i].value);
    }
    return rc;
}

/* secrets: the strings (Target) or [{expires_ms}] (Webhook). */
static sl_err pack_secrets(sl_reply_buf *r, const sl_webhook_view *v, bool with_secrets)
{
    sl_err rc = sl_reply_key(r, "secrets");
    if (rc == SL_OK)
        rc = sl_reply_array(r, v->nsecrets);
    for (uint32_t i = 0; i < v->nsecrets && rc == SL_OK; i++) {
        if (with_secrets) {
            rc = sl_reply_str(r, v->secrets[i].secret);
            continue;
        }
        rc = sl_reply_map(r, 1);
        if (rc == SL_OK)
            rc = sl_reply_kv_uint(r, "expires_ms", v->secrets[i].expires_ms);
    }
    return rc;
}

static sl_err pack_texts(sl_reply_buf *r, const sl_webhook_view *v)
{
    const sl_webhook_config *c = &v->config;
    sl_err rc = sl_reply_kv_str(r, "id", v->id);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "name", c->name);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "description", c->description);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "url", c->url);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "disabled_reason", v->disabled_reason);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "group", v->group);
    if (rc == SL_OK)
        rc = sl_reply_key(r, "active");
    return rc == SL_OK ? sl_reply_bool(r, c->active) : rc;
}

sl_err sl_reply_webhook(sl_reply_buf *r, const sl_webhook_view *v, bool with_secrets)
{
    const sl_webhook_config *c = &v->config;
    const kv_u64 numbers[] = {
        {"disabled_ms", v->disabled_ms},     {"timeout_ms", c->timeout_ms},
        {"max_in_flight", c->max_in_flight}, {"rate_limit", c->rate_limit},
        {"disable_after", c->disable_after}, {"consecutive_failures", v->consecutive_failures},
        {"created_ms", v->created_ms},       {"updated_ms", v->updated_ms},
    };
    size_t nnumbers = sizeof numbers / sizeof numbers[0];
    sl_err rc = sl_reply_map(r, (uint32_t)(7 + nnumbers + 4));
    if (rc == SL_OK)
        rc = pack_texts(r, v);
    if (rc == SL_OK)
        rc = pack_uints(r, numbers, nnumbers);
    if (rc == SL_OK)
        rc = pack_slices(r, "filters", c->filters, c->nfilters);
    if (rc == SL_OK)
        rc = pack_retry(r, c);
    if (rc == SL_OK)
        rc = pack_headers(r, c);
    return rc == SL_OK ? pack_secrets(r, v, with_secrets) : rc;
}

sl_err sl_reply_webhook_stats(sl_reply_buf *r, const sl_webhook_stats *s)
{
    const kv_u64 numbers[] = {
        {"attempts", s->attempts},
        {"successes", s->successes},
        {"failures", s->failures},
        {"dead", s->dead},
        {"last_status", s->last_status},
        {"last_attempt_ms", s->last_attempt_ms},
        {"last_success_ms", s->last_success_ms},
        {"latency_p50_us", s->latency_p50_us},
        {"latency_p99_us", s->latency_p99_us},
        {"backlog", s->backlog},
        {"in_flight", s->in_flight},
        {"waiting", s->waiting},
        {"dlq_size", s->dlq_size},
    };
    size_t n = sizeof numbers / sizeof numbers[0];
    sl_err rc = sl_reply_map(r, (uint32_t)(n + 1));
    if (rc == SL_OK)
        rc = pack_uints(r, numbers, n);
    return rc == SL_OK ? sl_reply_kv_str(r, "last_error", s->last_error) : rc;
}

sl_err sl_reply_delivery_entry(sl_reply_buf *r, uint64_t instance, const sl_delivery_entry *d)
{
    char id[SL_EVENT_ID_LEN + 1];
    sl_event_id_format(instance, d->seq, id);
    const kv_u64 numbers[] = {
        {"entry", d->entry_id},          {"seq", d->seq},
        {"attempt", d->attempt},         {"time_ms", d->time_ms},
        {"http_status", d->http_status}, {"latency_us", d->latency_us},
    };
    size_t n = sizeof numbers / sizeof numbers[0];
    sl_err rc = sl_reply_map(r, (uint32_t)(n + 5));
    if (rc == SL_OK)
        rc = pack_uints(r, numbers, n);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "event_id", id);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "topic", d->topic);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "error", d->error);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "result", sl_attempt_result_name(d->result));
    if (rc == SL_OK)
        rc = sl_reply_key(r, "body");
    return rc == SL_OK ? sl_reply_bin(r, d->body) : rc;
}

sl_err sl_reply_webhook_outcome(sl_reply_buf *r, const sl_webhook_outcome *o)
{
    sl_err rc = sl_reply_map(r, 3);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "result", sl_attempt_result_name(o->result));
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "attempt", o->attempt);
    return rc == SL_OK ? sl_reply_kv_uint(r, "retry_at_ms", o->retry_at_ms) : rc;
}
