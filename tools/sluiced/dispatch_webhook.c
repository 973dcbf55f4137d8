/* dispatch_webhook.c: see dispatch_webhook.h. One function per op: call the
 * core (core/webhook.h, core/delivery_log.h), encode the ok reply
 * (proto/reply_webhook.h). */
#include "tools/sluiced/dispatch_webhook.h"

#include <stdio.h>
#include <string.h>
#include "core/delivery_log.h"
#include "core/log.h"
#include "core/topic.h"
#include "core/webhook.h"
#include "proto/reply_webhook.h"

/* rc of a core call on subscription id: explain NOT_FOUND. */
static sl_err webhook_rc(failure *f, sl_err rc, const char *id)
{
    if (rc == SL_ERR_NOT_FOUND)
        return dx_explain(f, rc, "id", "no webhook with id \"%s\"", id);
    return rc;
}

/* {"ok":true,"webhook":Webhook[, "secret": secret]} for id, read in c->txn. */
static sl_err reply_webhook(dctx *c, failure *f, const char *id, const char *secret)
{
    sl_webhook_view v;
    sl_err rc = sl_webhook_get(c->txn, id, c->now_ms, &v);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    rc = sl_reply_ok_begin(c->out, secret ? 2 : 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "webhook");
    if (rc == SL_OK)
        rc = sl_reply_webhook(c->out, &v, false);
    if (rc == SL_OK && secret)
        rc = sl_reply_kv_str(c->out, "secret", secret);
    return rc;
}

/* The event id of a request was made by another data directory. */
static sl_err foreign_event(dctx *c, failure *f, uint64_t instance)
{
    if (instance == c->instance)
        return SL_OK;
    return dx_explain(f, SL_ERR_NOT_FOUND, "event_id", "event_id: not an event of this server");
}

/* ---- read ops ----------------------------------------------------------------- */

sl_err dw_get(dctx *c, failure *f)
{
    return reply_webhook(c, f, c->req->webhook_ref.id, NULL);
}

typedef struct webhook_list {
    list_ctx l;
    bool targets; /* webhook.targets: active ones only, with their secrets */
} webhook_list;

static sl_err on_webhook(void *ctx, const sl_webhook_view *v)
{
    webhook_list *w = ctx;
    if (w->targets && !v->config.active)
        return SL_OK;
    w->l.n++;
    return sl_reply_webhook(w->l.out, v, w->targets);
}

sl_err dw_list(dctx *c, failure *f)
{
    (void)f;
    const sl_req_webhook_list *q = &c->req->webhook_list;
    webhook_list w = {{c->out, c->instance, 0}, c->req->op == SL_OP_WEBHOOK_TARGETS};
    char next[SL_WEBHOOK_ID_LEN + 1] = "";
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, w.targets ? "targets" : "webhooks", &mark);
    if (rc == SL_OK)
        rc = sl_webhook_list(c->txn, q->after, q->limit, c->now_ms, on_webhook, &w, next);
    if (rc != SL_OK)
        return rc;
    sl_reply_array_patch(c->out, mark, w.l.n);
    return sl_reply_kv_str(c->out, "next_after", next);
}

sl_err dw_stats(dctx *c, failure *f)
{
    const char *id = c->req->webhook_ref.id;
    sl_webhook_stats s;
    sl_err rc = sl_webhook_get_stats(c->txn, id, &s);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "stats");
    return rc == SL_OK ? sl_reply_webhook_stats(c->out, &s) : rc;
}

static sl_err on_entry(void *ctx, const sl_delivery_entry *e)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_delivery_entry(l->out, l->instance, e);
}

sl_err dw_deliveries(dctx *c, failure *f)
{
    const sl_req_webhook_deliveries *q = &c->req->webhook_deliveries;
    if (q->filter.seq && foreign_event(c, f, q->event_instance) != SL_OK)
        return SL_ERR_NOT_FOUND;
    list_ctx l = {c->out, c->instance, 0};
    uint64_t next = 0;
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "deliveries", &mark);
    if (rc == SL_OK)
        rc = sl_delivery_log_list(c->txn, q->id, &q->filter, q->before, q->limit, on_entry, &l,
                                  &next);
    if (rc != SL_OK)
        return webhook_rc(f, rc, q->id);
    sl_reply_array_patch(c->out, mark, l.n);
    return sl_reply_kv_uint(c->out, "next_before", next);
}

static sl_err on_topic_name(void *ctx, const sl_topic_info *t)
{
    list_ctx *l = ctx;
    if (t->name.len == 0 || t->name.ptr[0] == '_')
        return SL_OK; /* reserved: webhook test events */
    l->n++;
    return sl_reply_str(l->out, t->name);
}

sl_err dw_event_types(dctx *c, failure *f)
{
    (void)f;
    list_ctx l = {c->out, c->instance, 0};
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "types", &mark);
    if (rc == SL_OK)
        rc = sl_topics_each(c->txn, on_topic_name, &l);
    if (rc == SL_OK)
        sl_reply_array_patch(c->out, mark, l.n);
    return rc;
}

/* ---- write ops ------------------------------------------------------------------ */

sl_err dw_create(dctx *c, failure *f)
{
    char id[SL_WEBHOOK_ID_LEN + 1], secret[SL_WEBHOOK_SECRET_LEN + 1];
    const char *field = NULL;
    const sl_webhook_config *cfg = &c->req->webhook.config;
    sl_err rc = sl_webhook_create(c->txn, cfg, c->now_ms, id, secret);
    if (rc == SL_ERR_INVALID && sl_webhook_config_check(cfg, &field) != SL_OK)
        return dx_explain(f, rc, field, "%s: not a valid value", field ? field : "webhook");
    if (rc != SL_OK)
        return rc;
    rc = reply_webhook(c, f, id, secret);
    memset(secret, 0, sizeof secret);
    return rc;
}

sl_err dw_update(dctx *c, failure *f)
{
    const sl_req_webhook *q = &c->req->webhook;
    sl_err rc = sl_webhook_update(c->txn, q->id, &q->config, q->given, c->now_ms);
    if (rc == SL_ERR_INVALID)
        return dx_explain(f, rc, NULL, "the webhook after this update is not valid");
    if (rc != SL_OK)
        return webhook_rc(f, rc, q->id);
    return reply_webhook(c, f, q->id, NULL);
}

sl_err dw_delete(dctx *c, failure *f)
{
    const char *id = c->req->webhook_ref.id;
    sl_err rc = sl_webhook_delete(c->txn, id);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    return sl_reply_ok_begin(c->out, 0);
}

sl_err dw_set_active(dctx *c, failure *f)
{
    const char *id = c->req->webhook_ref.id;
    bool enable = c->req->op == SL_OP_WEBHOOK_ENABLE;
    sl_err rc = sl_webhook_set_active(c->txn, id, enable, c->now_ms);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    return reply_webhook(c, f, id, NULL);
}

sl_err dw_reset(dctx *c, failure *f)
{
    const char *id = c->req->webhook_ref.id;
    sl_err rc = sl_webhook_reset(c->txn, id, c->now_ms);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    return reply_webhook(c, f, id, NULL);
}

sl_err dw_rotate_secret(dctx *c, failure *f)
{
    const sl_req_webhook_rotate *q = &c->req->webhook_rotate;
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
    sl_err rc = sl_webhook_rotate_secret(c->txn, q->id, q->overlap_ms, c->now_ms, secret);
    if (rc != SL_OK)
        return webhook_rc(f, rc, q->id);
    rc = reply_webhook(c, f, q->id, secret);
    memset(secret, 0, sizeof secret);
    return rc;
}

sl_err dw_test(dctx *c, failure *f)
{
    const char *id = c->req->webhook_ref.id;
    sl_webhook_view v;
    sl_err rc = sl_webhook_get(c->txn, id, c->now_ms, &v);
    if (rc != SL_OK)
        return webhook_rc(f, rc, id);
    char topic[SL_GROUP_NAME_MAX + 1], payload[160];
    sl_webhook_group_name(id, topic);
    int n = snprintf(payload, sizeof payload,
                     "{\"webhook_id\":\"%s\",\"message\":\"a test event sent by sluice\"}", id);
    sl_event_in ev = {.topic = sl_slice_of(topic),
                      .payload = {payload, (size_t)n},
                      .content_type = sl_slice_of("application/json")};
    sl_append_result res;
    size_t bad = 0;
    rc = sl_log_append(c->txn, &ev, 1, c->now_ms, &res, &bad);
    if (rc != SL_OK)
        return rc;
    c->fx->appended = true;
    c->fx->appended_events = 1;
    char event_id[SL_EVENT_ID_LEN + 1];
    sl_event_id_format(c->instance, res.seq, event_id);
    rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(c->out, "seq", res.seq);
    return rc == SL_OK ? sl_reply_kv_str(c->out, "id", event_id) : rc;
}

sl_err dw_retry(dctx *c, failure *f)
{
    const sl_req_webhook_retry *q = &c->req->webhook_retry;
    if (foreign_event(c, f, q->event_instance) != SL_OK)
        return SL_ERR_NOT_FOUND;
    sl_err rc = sl_webhook_retry(c->txn, q->id, q->seq, c->now_ms);
    if (rc == SL_ERR_NOT_FOUND) {
        sl_webhook_view v;
        if (sl_webhook_get(c->txn, q->id, c->now_ms, &v) != SL_OK)
            return webhook_rc(f, rc, q->id);
        return dx_explain(f, rc, "event_id",
                          "event_id: that event is neither dead-lettered nor waiting for a "
                          "retry in this webhook");
    }
    if (rc != SL_OK)
        return rc;
    c->fx->made_due = true;
    return sl_reply_ok_begin(c->out, 0);
}

sl_err dw_report(dctx *c, failure *f)
{
    const sl_req_webhook_report *q = &c->req->webhook_report;
    for (size_t i = 0; i < q->nattempts; i++)
        if (q->attempts[i].sent_ms == 0)
            q->attempts[i].sent_ms = c->now_ms; /* the request's own block: ours to fill */
    sl_err rc = sl_webhook_report(c->txn, q->id, q->attempts, q->nattempts, c->now_ms,
                                  q->outcomes);
    if (rc != SL_OK)
        return webhook_rc(f, rc, q->id);
    size_t mark;
    rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "outcomes", &mark);
    for (size_t i = 0; i < q->nattempts && rc == SL_OK; i++) {
        rc = sl_reply_webhook_outcome(c->out, &q->outcomes[i]);
        c->fx->made_due |= q->outcomes[i].result == SL_ATTEMPT_RETRY;
    }
    if (rc == SL_OK)
        sl_reply_array_patch(c->out, mark, (uint32_t)q->nattempts);
    return rc;
}
