/* auth.c: see auth.h.
 *
 * One check, in this order: a token is there (401), it verifies in a read
 * transaction (401), the key's rate bucket has a token (429, HTTP only),
 * the key has the op's scope (403), and, for a key limited to topics, every
 * topic the request may touch is within its patterns (403): the events of
 * a publish, the filters of a group (read in the same transaction) or of a
 * webhook. The key's record is only used inside that transaction.
 *
 * A group's filters are read from its record (core/group_record.h,
 * sl_group_rec_load) rather than with sl_group_get, which would also count
 * the group's lag: a scan of the log on every pull of a limited key.
 *
 * Owns: the rate table (auth_rate.h). Borrows: the store.
 */
#include "tools/sluiced/auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/group_record.h"
#include "tools/sluiced/auth_rate.h"

struct sl_auth {
    sl_store *store;       /* borrowed */
    bool enabled;          /* keys are required */
    sl_rate_table *rates;  /* owned: the HTTP API's buckets, one per key id */
};

sl_err sl_auth_new(sl_store *store, bool enabled, sl_auth **out)
{
    sl_auth *a = calloc(1, sizeof *a);
    if (!a)
        return SL_ERR_NOMEM;
    sl_err rc = sl_rate_table_new(&a->rates);
    if (rc != SL_OK) {
        free(a);
        return rc;
    }
    a->store = store;
    a->enabled = enabled;
    *out = a;
    return SL_OK;
}

void sl_auth_free(sl_auth *a)
{
    if (!a)
        return;
    sl_rate_table_free(a->rates);
    free(a);
}

bool sl_auth_enabled(const sl_auth *a)
{
    return a && a->enabled;
}

uint32_t sl_auth_scope_of(sl_op op)
{
    switch (op) {
    case SL_OP_PING:
        return 0;
    case SL_OP_PUBLISH:
        return SL_SCOPE_EVENTS_WRITE;
    case SL_OP_PULL:
    case SL_OP_ACK:
    case SL_OP_NACK:
    case SL_OP_EXTEND:
    case SL_OP_TERM:
    case SL_OP_LOG_READ:
    case SL_OP_TOPICS:
    case SL_OP_GROUP_GET:
    case SL_OP_GROUP_LIST:
    case SL_OP_DLQ_LIST:
    case SL_OP_DLQ_GET:
        return SL_SCOPE_EVENTS_READ;
    case SL_OP_GROUP_CREATE:
    case SL_OP_GROUP_UPDATE:
    case SL_OP_GROUP_DELETE:
    case SL_OP_DLQ_REPLAY:
    case SL_OP_DLQ_PURGE:
        return SL_SCOPE_GROUPS_WRITE;
    case SL_OP_STATS:
        return SL_SCOPE_STATS_READ;
    case SL_OP_WEBHOOK_GET:
    case SL_OP_WEBHOOK_LIST:
    case SL_OP_WEBHOOK_STATS:
    case SL_OP_WEBHOOK_DELIVERIES:
    case SL_OP_WEBHOOK_EVENT_TYPES:
        return SL_SCOPE_WEBHOOKS_READ;
    case SL_OP_WEBHOOK_CREATE:
    case SL_OP_WEBHOOK_UPDATE:
    case SL_OP_WEBHOOK_DELETE:
    case SL_OP_WEBHOOK_ENABLE:
    case SL_OP_WEBHOOK_DISABLE:
    case SL_OP_WEBHOOK_RESET:
    case SL_OP_WEBHOOK_ROTATE_SECRET:
    case SL_OP_WEBHOOK_TEST:
    case SL_OP_WEBHOOK_RETRY:
    case SL_OP_WEBHOOK_TARGETS:
    case SL_OP_WEBHOOK_REPORT:
        return SL_SCOPE_WEBHOOKS_WRITE;
    case SL_OP_KEYS_CREATE:
    case SL_OP_KEYS_GET:
    case SL_OP_KEYS_LIST:
    case SL_OP_KEYS_REVOKE:
        return SL_SCOPE_KEYS_WRITE;
    default:
        return SL_SCOPE_ALL; /* an op not listed here: "*" keys only */
    }
}

/* ---- the result -------------------------------------------------------------------- */

__attribute__((format(printf, 5, 6)))
static void deny(sl_auth_result *out, int status, const char *code, const char *field,
                 const char *fmt, ...)
{
    out->status = status;
    out->code = code;
    snprintf(out->field, sizeof out->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

static void deny_storage(sl_auth_result *out, sl_err rc)
{
    deny(out, 503, "storage_error", NULL, "cannot check the API key: %s", sl_err_text(rc));
}

/* ---- topic limits ---------------------------------------------------------------------- */

/* A topic or filter for a message: cut to fit. */
static int shown(size_t len)
{
    return len > 64 ? 64 : (int)len;
}

static bool check_publish(const sl_apikey_view *k, const sl_req_publish *p, sl_auth_result *out)
{
    for (size_t i = 0; i < p->nevents; i++) {
        sl_slice t = p->events[i].topic;
        if (sl_apikey_allows_topic(k, t))
            continue;
        char field[48];
        snprintf(field, sizeof field, "events[%zu].topic", i);
        deny(out, 403, "forbidden", field, "this API key may not publish to topic \"%.*s\"",
             shown(t.len), t.ptr);
        out->index = (long long)i;
        return false;
    }
    return true;
}

/* Every filter of a group config; field: "filters" (they were given: blame
 * filters[i]) or the field naming the stored group ("group", "name"). */
static bool check_filters(const sl_apikey_view *k, const sl_group_config *cfg,
                          const char *field, sl_auth_result *out)
{
    for (uint32_t i = 0; i < cfg->nfilters; i++) {
        if (sl_apikey_allows_filter(k, sl_slice_of(cfg->filters[i])))
            continue;
        char path[32];
        if (strcmp(field, "filters") == 0) {
            snprintf(path, sizeof path, "filters[%u]", (unsigned)i);
            field = path;
        }
        deny(out, 403, "forbidden", field,
             "this API key is limited to topics that filter \"%.64s\" of group \"%s\" "
             "goes beyond", cfg->filters[i], cfg->name);
        return false;
    }
    return true;
}

/* The stored filters of group name (a missing group passes: the op itself
 * answers not_found). */
static bool check_group(sl_txn *t, const sl_apikey_view *k, const char *name, const char *field,
                        sl_auth_result *out)
{
    sl_group_rec rec;
    sl_err rc = sl_group_rec_load(t, name, &rec);
    if (rc == SL_ERR_NOT_FOUND)
        return true;
    if (rc != SL_OK) {
        deny_storage(out, rc);
        return false;
    }
    return check_filters(k, &rec.config, field, out);
}

/* group.create: the filters it asks for; group.update: those given and the
 * group's own. */
static bool check_group_put(sl_txn *t, const sl_apikey_view *k, const sl_request *req,
                            sl_auth_result *out)
{
    const sl_req_group *g = &req->group;
    bool given = req->op == SL_OP_GROUP_CREATE || (g->given & SL_GROUP_GIVEN_FILTERS);
    if (given && !check_filters(k, &g->config, "filters", out))
        return false;
    return req->op == SL_OP_GROUP_CREATE || check_group(t, k, g->config.name, "name", out);
}

static bool check_webhook_put(const sl_apikey_view *k, const sl_request *req,
                              sl_auth_result *out)
{
    const sl_req_webhook *w = &req->webhook;
    if (req->op == SL_OP_WEBHOOK_UPDATE && !(w->given & SL_WEBHOOK_GIVEN_FILTERS))
        return true;
    for (uint32_t i = 0; i < w->config.nfilters; i++) {
        sl_slice f = w->config.filters[i];
        if (sl_apikey_allows_filter(k, f))
            continue;
        char field[32];
        snprintf(field, sizeof field, "filters[%u]", (unsigned)i);
        deny(out, 403, "forbidden", field,
             "this API key is limited to topics that filter \"%.*s\" goes beyond",
             shown(f.len), f.ptr);
        return false;
    }
    return true;
}

/* Ops that show every topic: not for a key limited to some. */
static bool check_all_topics(const sl_request *req, sl_auth_result *out)
{
    deny(out, 403, "forbidden", NULL,
         "%s shows every topic: not allowed for an API key limited to topics",
         sl_op_name(req->op));
    return false;
}

/* The topic limits of k (which has patterns) for req. */
static bool check_topics(sl_txn *t, const sl_apikey_view *k, const sl_request *req,
                         sl_auth_result *out)
{
    switch (req->op) {
    case SL_OP_PUBLISH:
        return check_publish(k, &req->publish, out);
    case SL_OP_PULL:
        return check_group(t, k, req->pull.group, "group", out);
    case SL_OP_ACK:
    case SL_OP_NACK:
    case SL_OP_EXTEND:
    case SL_OP_TERM:
        return check_group(t, k, req->settle.group, "group", out);
    case SL_OP_DLQ_LIST:
        return check_group(t, k, req->dlq_list.group, "group", out);
    case SL_OP_DLQ_GET:
        return check_group(t, k, req->dlq_get.group, "group", out);
    case SL_OP_DLQ_REPLAY:
    case SL_OP_DLQ_PURGE:
        return check_group(t, k, req->dlq_batch.group, "group", out);
    case SL_OP_GROUP_GET:
    case SL_OP_GROUP_DELETE:
        return check_group(t, k, req->group_ref.name, "name", out);
    case SL_OP_GROUP_CREATE:
    case SL_OP_GROUP_UPDATE:
        return check_group_put(t, k, req, out);
    case SL_OP_WEBHOOK_CREATE:
    case SL_OP_WEBHOOK_UPDATE:
        return check_webhook_put(k, req, out);
    case SL_OP_LOG_READ:
    case SL_OP_TOPICS:
    case SL_OP_WEBHOOK_EVENT_TYPES:
        return check_all_topics(req, out);
    default:
        return true;
    }
}

/* ---- the check ---------------------------------------------------------------------------- */

static bool check_rate(sl_auth *a, const sl_apikey_view *k, uint64_t now_ms, sl_auth_result *out)
{
    sl_rate_verdict v;
    sl_rate_take(a->rates, k->id, k->config.rate_per_minute, now_ms, &v);
    out->rate_limited = true;
    out->rate_limit = v.limit;
    out->rate_remaining = v.remaining;
    out->rate_reset_s = v.reset_s;
    if (v.allowed)
        return true;
    out->retry_after_s = v.retry_after_s;
    deny(out, 429, "rate_limited", NULL,
         "rate limit of %u requests per minute reached for this API key; retry in %llu s",
         (unsigned)v.limit, (unsigned long long)v.retry_after_s);
    return false;
}

static bool check_scope(const sl_apikey_view *k, sl_op op, sl_auth_result *out)
{
    uint32_t need = sl_auth_scope_of(op);
    if (need == 0 || (k->config.scopes & (need | SL_SCOPE_ALL)))
        return true;
    const char *name = sl_scope_name(need);
    deny(out, 403, "forbidden", NULL, "this API key lacks the scope \"%s\" that %s needs",
         name ? name : "?", sl_op_name(op));
    return false;
}

/* The key behind token, checked for op (and, when req is not NULL, req's
 * topics), inside read transaction t. */
static void check_key(sl_auth *a, sl_txn *t, sl_slice token, sl_op op, const sl_request *req,
                      bool apply_rate, uint64_t now_ms, sl_auth_result *out)
{
    sl_apikey_view k;
    sl_err rc = sl_apikey_verify(t, token, &k);
    if (rc == SL_ERR_NOT_FOUND) {
        deny(out, 401, "unauthorized", NULL, "unknown or revoked API key");
        return;
    }
    if (rc != SL_OK) {
        deny_storage(out, rc);
        return;
    }
    snprintf(out->key_id, sizeof out->key_id, "%s", k.id);
    if (apply_rate && !check_rate(a, &k, now_ms, out))
        return;
    if (!check_scope(&k, op, out))
        return;
    if (req && k.config.npatterns > 0)
        check_topics(t, &k, req, out);
}

/* sl_auth_check and sl_auth_check_op: req NULL checks no topics. */
static void check(sl_auth *a, sl_slice token, sl_op op, const sl_request *req, bool apply_rate,
                  uint64_t now_ms, sl_auth_result *out)
{
    memset(out, 0, sizeof *out);
    out->index = -1;
    if (!sl_auth_enabled(a))
        return;
    if (token.len == 0) {
        deny(out, 401, "unauthorized", NULL, "an API key is required");
        return;
    }
    sl_txn t;
    sl_err rc = sl_txn_begin_read(a->store, &t);
    if (rc != SL_OK) {
        deny_storage(out, rc);
        return;
    }
    check_key(a, &t, token, op, req, apply_rate, now_ms, out);
    sl_txn_abort(&t);
}

void sl_auth_check(sl_auth *a, sl_slice token, const sl_request *req, bool apply_rate,
                   uint64_t now_ms, sl_auth_result *out)
{
    check(a, token, req->op, req, apply_rate, now_ms, out);
}

void sl_auth_check_op(sl_auth *a, sl_slice token, sl_op op, bool apply_rate, uint64_t now_ms,
                      sl_auth_result *out)
{
    check(a, token, op, NULL, apply_rate, now_ms, out);
}
