/* dispatch.c: see dispatch.h.
 *
 * Each op is one function: it calls the core and encodes the ok reply. When
 * the core fails, the op returns the sl_err and, when it knows better than
 * sl_err_text, a failure (message, field, index); sl_dispatch_read/write
 * turn that into the error reply, or hand storage-level errors back to the
 * writer untouched.
 */
#include "tools/sluiced/dispatch.h"
#include "tools/sluiced/dispatch_context.h"
#include "tools/sluiced/dispatch_keys.h"
#include "tools/sluiced/dispatch_webhook.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/dlq.h"
#include "core/group.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/version.h"

sl_run_kind sl_dispatch_kind(const sl_request *req)
{
    switch (req->op) {
    case SL_OP_PING:
    case SL_OP_GROUP_GET:
    case SL_OP_GROUP_LIST:
    case SL_OP_TOPICS:
    case SL_OP_LOG_READ:
    case SL_OP_DLQ_LIST:
    case SL_OP_DLQ_GET:
    case SL_OP_STATS:
    case SL_OP_WEBHOOK_GET:
    case SL_OP_WEBHOOK_LIST:
    case SL_OP_WEBHOOK_TARGETS:
    case SL_OP_WEBHOOK_STATS:
    case SL_OP_WEBHOOK_DELIVERIES:
    case SL_OP_WEBHOOK_EVENT_TYPES:
    case SL_OP_KEYS_GET:
    case SL_OP_KEYS_LIST:
        return SL_RUN_READ;
    default:
        return SL_RUN_WRITE;
    }
}

/* rc from a core call naming group (in field): explain NOT_FOUND. */
static sl_err group_rc(failure *f, sl_err rc, const char *group, const char *field)
{
    if (rc == SL_ERR_NOT_FOUND)
        return dx_explain(f, rc, field, "no group named \"%s\"", group);
    return rc;
}

/* The error reply for rc and f. SL_OK or SL_ERR_NOMEM. */
static sl_err reply_failure(sl_reply_buf *out, sl_err rc, const failure *f)
{
    sl_wire_error e;
    e.code = sl_err_code(rc);
    snprintf(e.field, sizeof e.field, "%s", f->field);
    snprintf(e.message, sizeof e.message, "%s", f->message[0] ? f->message : sl_err_text(rc));
    e.index = f->index;
    return sl_reply_wire_error(out, &e);
}

/* ---- read ops ------------------------------------------------------------ */

static sl_err op_ping(dctx *c, failure *f)
{
    (void)f;
    sl_err rc = sl_reply_ok_begin(c->out, 3);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(c->out, "version", SLUICE_VERSION);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(c->out, "proto", SL_PROTO_VERSION);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(c->out, "time_ms", c->now_ms);
    return rc;
}

/* {"ok":true,"group":Group} for the group called name, read in c->txn. */
static sl_err reply_group_named(dctx *c, failure *f, const char *name)
{
    sl_group_info info;
    sl_err rc = sl_group_get(c->txn, name, &info);
    if (rc != SL_OK)
        return group_rc(f, rc, name, "name");
    rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "group");
    return rc != SL_OK ? rc : sl_reply_group(c->out, &info);
}

static sl_err op_group_get(dctx *c, failure *f)
{
    return reply_group_named(c, f, c->req->group_ref.name);
}

static sl_err on_group(void *ctx, const sl_group_info *info)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_group(l->out, info);
}

static sl_err op_group_list(dctx *c, failure *f)
{
    (void)f;
    list_ctx l = {c->out, c->instance, 0};
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "groups", &mark);
    if (rc == SL_OK)
        rc = sl_groups_each(c->txn, on_group, &l);
    if (rc == SL_OK)
        sl_reply_array_patch(c->out, mark, l.n);
    return rc;
}

static sl_err on_topic(void *ctx, const sl_topic_info *info)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_topic(l->out, info);
}

static sl_err op_topics(dctx *c, failure *f)
{
    (void)f;
    list_ctx l = {c->out, c->instance, 0};
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "topics", &mark);
    if (rc == SL_OK)
        rc = sl_topics_each(c->txn, on_topic, &l);
    if (rc == SL_OK)
        sl_reply_array_patch(c->out, mark, l.n);
    return rc;
}

/* Where log.read starts. */
static sl_err log_read_start(dctx *c, const sl_log_bounds *b, uint64_t *from)
{
    const sl_req_log_read *q = &c->req->log_read;
    *from = q->has_from_seq ? q->from_seq : b->first_seq;
    if (q->has_from_time)
        return sl_log_seq_at_time(c->txn, q->from_time_ms, from);
    return SL_OK;
}

/* Encode up to max events from the iterator; *next gets the seq after the
 * last one written (unchanged when none). */
static sl_err encode_events(dctx *c, sl_log_iter *it, size_t max, uint32_t *n, uint64_t *next)
{
    sl_err rc = SL_OK;
    *n = 0;
    while (*n < max) {
        sl_event_view ev;
        rc = sl_log_iter_next(it, &ev);
        if (rc == SL_ERR_END)
            return SL_OK;
        if (rc == SL_OK)
            rc = sl_reply_event(c->out, c->instance, &ev);
        if (rc != SL_OK)
            return rc;
        (*n)++;
        *next = ev.seq + 1;
    }
    return rc;
}

static sl_err op_log_read(dctx *c, failure *f)
{
    (void)f;
    sl_log_bounds b;
    uint64_t from;
    sl_err rc = sl_log_get_bounds(c->txn, &b);
    if (rc == SL_OK)
        rc = log_read_start(c, &b, &from);
    if (rc != SL_OK)
        return rc;
    uint64_t next = from > b.next_seq ? from : b.next_seq;
    uint32_t n = 0;
    size_t mark;
    sl_log_iter it;
    rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "events", &mark);
    if (rc == SL_OK)
        rc = sl_log_iter_open(c->txn, from, &it);
    if (rc != SL_OK)
        return rc;
    rc = encode_events(c, &it, c->req->log_read.max, &n, &next);
    sl_log_iter_close(&it);
    if (rc != SL_OK)
        return rc;
    sl_reply_array_patch(c->out, mark, n);
    return sl_reply_kv_uint(c->out, "next_seq", next);
}

static sl_err on_dead_letter(void *ctx, const sl_dead_letter *dl)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_dead_letter(l->out, l->instance, dl);
}

static sl_err op_dlq_list(dctx *c, failure *f)
{
    const sl_req_dlq_list *q = &c->req->dlq_list;
    list_ctx l = {c->out, c->instance, 0};
    uint64_t next_after = 0;
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "dead_letters", &mark);
    if (rc != SL_OK)
        return rc;
    rc = sl_dlq_list(c->txn, q->group, q->after_seq, q->limit, on_dead_letter, &l, &next_after);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    sl_reply_array_patch(c->out, mark, l.n);
    return sl_reply_kv_uint(c->out, "next_after", next_after);
}

/* NOT_FOUND from dlq.get: say whether the group or the dead letter is missing. */
static sl_err dlq_get_missing(dctx *c, failure *f)
{
    const sl_req_dlq_get *q = &c->req->dlq_get;
    sl_group_info info;
    sl_err rc = sl_group_get(c->txn, q->group, &info);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    return dx_explain(f, SL_ERR_NOT_FOUND, "seq", "group \"%s\" has no dead letter with seq %llu",
                   q->group, (unsigned long long)q->seq);
}

static sl_err op_dlq_get(dctx *c, failure *f)
{
    const sl_req_dlq_get *q = &c->req->dlq_get;
    list_ctx l = {c->out, c->instance, 0};
    sl_err rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "dead_letter");
    if (rc == SL_OK)
        rc = sl_dlq_get(c->txn, q->group, q->seq, on_dead_letter, &l);
    if (rc == SL_ERR_NOT_FOUND || (rc == SL_OK && l.n != 1))
        return dlq_get_missing(c, f);
    return rc;
}

/* Counting callbacks for stats. */
static sl_err count_group(void *ctx, const sl_group_info *info)
{
    (void)info;
    (*(uint64_t *)ctx)++;
    return SL_OK;
}

static sl_err count_topic(void *ctx, const sl_topic_info *info)
{
    (void)info;
    (*(uint64_t *)ctx)++;
    return SL_OK;
}

/* One "key": uint pair of the stats reply. */
typedef struct stat_pair {
    const char *key; /* wire name */
    uint64_t value;  /* its value */
} stat_pair;

static sl_err op_stats(dctx *c, failure *f)
{
    (void)f;
    sl_log_bounds b;
    sl_store_stats s;
    uint64_t groups = 0, topics = 0;
    sl_err rc = sl_log_get_bounds(c->txn, &b);
    if (rc == SL_OK)
        rc = sl_store_get_stats(c->store, &s);
    if (rc == SL_OK)
        rc = sl_groups_each(c->txn, count_group, &groups);
    if (rc == SL_OK)
        rc = sl_topics_each(c->txn, count_topic, &topics);
    if (rc != SL_OK)
        return rc;
    const sl_server_counters *k = c->counters;
    uint64_t started = k->started_ms;
    const stat_pair pairs[] = {
        {"uptime_ms", c->now_ms > started ? c->now_ms - started : 0},
        {"events", b.events}, {"bytes", b.bytes}, {"first_seq", b.first_seq},
        {"last_seq", b.last_seq}, {"next_seq", b.next_seq}, {"topics", topics},
        {"groups", groups}, {"map_bytes", s.map_bytes}, {"used_bytes", s.used_bytes},
        {"quota_bytes", s.quota_bytes}, {"file_bytes", s.file_bytes},
        {"requests", atomic_load(&k->requests)}, {"publishes", atomic_load(&k->publishes)},
        {"parked_pulls", atomic_load(&k->parked_pulls)},
        {"commits", atomic_load(&k->commits)},
        {"journal_writes", atomic_load(&k->journal_writes)},
        {"commit_requests", atomic_load(&k->commit_requests)},
        {"journal_us", atomic_load(&k->journal_us)},
        {"checkpoint_us", atomic_load(&k->checkpoint_us)},
    };
    const uint32_t npairs = sizeof pairs / sizeof pairs[0];
    rc = sl_reply_ok_begin(c->out, npairs + 1);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(c->out, "version", SLUICE_VERSION);
    for (uint32_t i = 0; i < npairs && rc == SL_OK; i++)
        rc = sl_reply_kv_uint(c->out, pairs[i].key, pairs[i].value);
    return rc;
}

/* ---- write ops ----------------------------------------------------------- */

/* Explain why sl_log_append refused event i. */
static sl_err bad_event(dctx *c, failure *f, sl_err rc, size_t i)
{
    const sl_req_publish *p = &c->req->publish;
    char field[48];
    f->index = i < p->nevents ? (long long)i : -1;
    if (f->index < 0)
        return rc;
    uint64_t max_payload = sl_store_options_of(c->txn->store)->max_payload_bytes;
    if (rc == SL_ERR_TOO_LARGE && p->events[i].payload.len > max_payload) {
        snprintf(field, sizeof field, "events[%zu].payload", i);
        return dx_explain(f, rc, field, "%s: %zu bytes is over the payload limit of %llu bytes",
                       field, p->events[i].payload.len, (unsigned long long)max_payload);
    }
    snprintf(field, sizeof field, "events[%zu]", i);
    return dx_explain(f, rc, field, "%s: %s", field, sl_err_text(rc));
}

static sl_err op_publish(dctx *c, failure *f)
{
    const sl_req_publish *p = &c->req->publish;
    sl_append_result results[SL_PUBLISH_BATCH_MAX];
    size_t bad = 0;
    if (p->nevents == 0 || p->nevents > SL_PUBLISH_BATCH_MAX)
        return dx_explain(f, SL_ERR_INVALID, "events", "events: 1..%d events", SL_PUBLISH_BATCH_MAX);
    sl_err rc = sl_log_append(c->txn, p->events, p->nevents, c->now_ms, results, &bad);
    if (rc == SL_ERR_INVALID || rc == SL_ERR_TOO_LARGE)
        return bad_event(c, f, rc, bad);
    if (rc != SL_OK)
        return rc;
    size_t appended = 0;
    rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "results");
    if (rc == SL_OK)
        rc = sl_reply_array(c->out, (uint32_t)p->nevents);
    for (size_t i = 0; i < p->nevents && rc == SL_OK; i++) {
        appended += !results[i].duplicate;
        rc = sl_reply_append_result(c->out, c->instance, &results[i]);
    }
    if (rc == SL_OK) {
        c->fx->appended_events = appended;
        c->fx->appended = appended > 0;
    }
    return rc;
}

static sl_err on_delivery(void *ctx, const sl_delivery *d)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_delivery(l->out, l->instance, d);
}

/* pull's "ack": settle the tokens (once: a parked pull that runs again only
 * reports the statuses of its first, committed run). */
static sl_err pull_acks(dctx *c, failure *f)
{
    const sl_req_pull *q = &c->req->pull;
    if (q->nack == 0 || q->ack_applied)
        return SL_OK;
    sl_err rc = sl_lease_settle(c->txn, q->group, SL_SETTLE_ACK, q->ack, q->nack,
                                SL_DELAY_DEFAULT, (sl_slice){0}, c->now_ms, q->ack_status);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    for (size_t i = 0; i < q->nack; i++)
        c->fx->made_due |= q->ack_status[i] == SL_TOKEN_OK; /* room for parked pulls */
    return SL_OK;
}

static sl_err encode_ack_statuses(sl_reply_buf *out, const sl_req_pull *q)
{
    sl_err rc = sl_reply_key(out, "acked");
    if (rc == SL_OK)
        rc = sl_reply_array(out, (uint32_t)q->nack);
    for (size_t i = 0; i < q->nack && rc == SL_OK; i++)
        rc = sl_reply_str(out, sl_slice_of(sl_token_status_name(q->ack_status[i])));
    return rc;
}

static sl_err op_pull(dctx *c, failure *f)
{
    const sl_req_pull *q = &c->req->pull;
    list_ctx l = {c->out, c->instance, 0};
    sl_pull_result res = {0};
    size_t mark;
    sl_err rc = pull_acks(c, f);
    if (rc != SL_OK)
        return rc;
    rc = sl_reply_ok_begin(c->out, q->nack ? 2 : 1);
    if (rc == SL_OK && q->nack)
        rc = encode_ack_statuses(c->out, q);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "deliveries", &mark);
    if (rc != SL_OK)
        return rc;
    rc = sl_lease_pull(c->txn, q->group, q->max, c->now_ms, on_delivery, &l, &res);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    sl_reply_array_patch(c->out, mark, l.n);
    c->fx->delivered = l.n;
    c->fx->next_due_ms = res.next_due_ms;
    return SL_OK;
}

static sl_settle_kind settle_kind_of(sl_op op)
{
    switch (op) {
    case SL_OP_NACK: return SL_SETTLE_NACK;
    case SL_OP_EXTEND: return SL_SETTLE_EXTEND;
    case SL_OP_TERM: return SL_SETTLE_TERM;
    default: return SL_SETTLE_ACK;
    }
}

static sl_err op_settle(dctx *c, failure *f)
{
    const sl_req_settle *q = &c->req->settle;
    sl_token_status status[SL_SETTLE_BATCH_MAX];
    if (q->ntokens == 0 || q->ntokens > SL_SETTLE_BATCH_MAX)
        return dx_explain(f, SL_ERR_INVALID, "tokens", "tokens: 1..%d tokens", SL_SETTLE_BATCH_MAX);
    sl_settle_kind kind = settle_kind_of(c->req->op);
    uint64_t delay = kind == SL_SETTLE_NACK || kind == SL_SETTLE_EXTEND ? q->delay_ms
                                                                        : SL_DELAY_DEFAULT;
    sl_err rc = sl_lease_settle(c->txn, q->group, kind, q->tokens, q->ntokens, delay, q->reason,
                                c->now_ms, status);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    bool any_ok = false;
    rc = sl_reply_ok_begin(c->out, 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "results");
    if (rc == SL_OK)
        rc = sl_reply_array(c->out, (uint32_t)q->ntokens);
    for (size_t i = 0; i < q->ntokens && rc == SL_OK; i++) {
        any_ok |= status[i] == SL_TOKEN_OK;
        rc = sl_reply_str(c->out, sl_slice_of(sl_token_status_name(status[i])));
    }
    /* nack makes events due; ack and term free in-flight room a parked pull
     * of a group at max_inflight is waiting for. */
    if (rc == SL_OK)
        c->fx->made_due = any_ok && kind != SL_SETTLE_EXTEND;
    return rc;
}

/* SL_ERR_INVALID from create/update: name the field sl_group_config_check blames. */
static sl_err bad_config(failure *f, const sl_group_config *cfg)
{
    const char *field = NULL;
    if (sl_group_config_check(cfg, &field) == SL_OK || !field)
        return dx_explain(f, SL_ERR_INVALID, NULL, "invalid group configuration");
    return dx_explain(f, SL_ERR_INVALID, field, "%s: invalid value", field);
}

static sl_err op_group_create(dctx *c, failure *f)
{
    const sl_group_config *cfg = &c->req->group.config;
    sl_err rc = sl_group_create(c->txn, cfg, c->now_ms);
    if (rc == SL_ERR_EXISTS)
        return dx_explain(f, rc, "name", "a group named \"%s\" already exists", cfg->name);
    if (rc == SL_ERR_INVALID)
        return bad_config(f, cfg);
    if (rc != SL_OK)
        return rc;
    return reply_group_named(c, f, cfg->name);
}

/* Copy into to the fields of q that the request gave. */
static void merge_config(sl_group_config *to, const sl_req_group *q)
{
    const sl_group_config *from = &q->config;
    if (q->given & SL_GROUP_GIVEN_FILTERS) {
        to->nfilters = from->nfilters;
        memcpy(to->filters, from->filters, sizeof to->filters);
    }
    if (q->given & SL_GROUP_GIVEN_ACK_WAIT)
        to->ack_wait_ms = from->ack_wait_ms;
    if (q->given & SL_GROUP_GIVEN_MAX_DELIVERIES)
        to->max_deliveries = from->max_deliveries;
    if (q->given & SL_GROUP_GIVEN_MAX_INFLIGHT)
        to->max_inflight = from->max_inflight;
    if (q->given & SL_GROUP_GIVEN_BACKOFF) {
        to->nbackoff = from->nbackoff;
        memcpy(to->backoff_ms, from->backoff_ms, sizeof to->backoff_ms);
    }
}

static sl_err op_group_update(dctx *c, failure *f)
{
    const sl_req_group *q = &c->req->group;
    sl_group_info info;
    sl_err rc = sl_group_get(c->txn, q->config.name, &info);
    if (rc != SL_OK)
        return group_rc(f, rc, q->config.name, "name");
    merge_config(&info.config, q);
    rc = sl_group_update(c->txn, &info.config);
    if (rc == SL_ERR_INVALID)
        return bad_config(f, &info.config);
    if (rc != SL_OK)
        return group_rc(f, rc, q->config.name, "name");
    return reply_group_named(c, f, q->config.name);
}

static sl_err op_group_delete(dctx *c, failure *f)
{
    const char *name = c->req->group_ref.name;
    sl_err rc = sl_group_delete(c->txn, name);
    if (rc != SL_OK)
        return group_rc(f, rc, name, "name");
    return sl_reply_ok_begin(c->out, 0);
}

static sl_err op_dlq_batch(dctx *c, failure *f)
{
    const sl_req_dlq_batch *q = &c->req->dlq_batch;
    bool replay = c->req->op == SL_OP_DLQ_REPLAY;
    size_t done = 0;
    uint64_t remaining = 0;
    sl_err rc = replay ? sl_dlq_replay(c->txn, q->group, q->seqs, q->nseqs, q->all, c->now_ms,
                                       &done, &remaining)
                       : sl_dlq_purge(c->txn, q->group, q->seqs, q->nseqs, q->all, &done,
                                      &remaining);
    if (rc != SL_OK)
        return group_rc(f, rc, q->group, "group");
    rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(c->out, replay ? "replayed" : "purged", done);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(c->out, "remaining", remaining);
    if (rc == SL_OK)
        c->fx->made_due = replay && done > 0;
    return rc;
}

/* ---- entry points -------------------------------------------------------- */


static const op_fn read_ops[SL_OP_COUNT] = {
    [SL_OP_PING] = op_ping,
    [SL_OP_GROUP_GET] = op_group_get,
    [SL_OP_GROUP_LIST] = op_group_list,
    [SL_OP_TOPICS] = op_topics,
    [SL_OP_LOG_READ] = op_log_read,
    [SL_OP_DLQ_LIST] = op_dlq_list,
    [SL_OP_DLQ_GET] = op_dlq_get,
    [SL_OP_STATS] = op_stats,
    [SL_OP_WEBHOOK_GET] = dw_get,
    [SL_OP_WEBHOOK_LIST] = dw_list,
    [SL_OP_WEBHOOK_TARGETS] = dw_list,
    [SL_OP_WEBHOOK_STATS] = dw_stats,
    [SL_OP_WEBHOOK_DELIVERIES] = dw_deliveries,
    [SL_OP_WEBHOOK_EVENT_TYPES] = dw_event_types,
    [SL_OP_KEYS_GET] = dk_get,
    [SL_OP_KEYS_LIST] = dk_list,
};

static const op_fn write_ops[SL_OP_COUNT] = {
    [SL_OP_PUBLISH] = op_publish,
    [SL_OP_PULL] = op_pull,
    [SL_OP_ACK] = op_settle,
    [SL_OP_NACK] = op_settle,
    [SL_OP_EXTEND] = op_settle,
    [SL_OP_TERM] = op_settle,
    [SL_OP_GROUP_CREATE] = op_group_create,
    [SL_OP_GROUP_UPDATE] = op_group_update,
    [SL_OP_GROUP_DELETE] = op_group_delete,
    [SL_OP_DLQ_REPLAY] = op_dlq_batch,
    [SL_OP_DLQ_PURGE] = op_dlq_batch,
    [SL_OP_WEBHOOK_CREATE] = dw_create,
    [SL_OP_WEBHOOK_UPDATE] = dw_update,
    [SL_OP_WEBHOOK_DELETE] = dw_delete,
    [SL_OP_WEBHOOK_ENABLE] = dw_set_active,
    [SL_OP_WEBHOOK_DISABLE] = dw_set_active,
    [SL_OP_WEBHOOK_RESET] = dw_reset,
    [SL_OP_WEBHOOK_ROTATE_SECRET] = dw_rotate_secret,
    [SL_OP_WEBHOOK_TEST] = dw_test,
    [SL_OP_WEBHOOK_RETRY] = dw_retry,
    [SL_OP_WEBHOOK_REPORT] = dw_report,
    [SL_OP_KEYS_CREATE] = dk_create,
    [SL_OP_KEYS_REVOKE] = dk_revoke,
};

/* The op of table for req, or NULL (with an "internal" reply in out). */
static op_fn op_of(const op_fn *table, const sl_request *req, sl_reply_buf *out)
{
    op_fn fn = (unsigned)req->op < SL_OP_COUNT ? table[req->op] : NULL;
    if (!fn)
        sl_reply_error(out, "internal", "operation dispatched to the wrong path", NULL);
    return fn;
}

/* Run fn in a fresh read transaction (ping needs none). */
/* Run fn in in (a read, or the writer's open write transaction), or in a
 * read transaction of its own when in is NULL. */
static sl_err run_read(dctx *c, sl_txn *in, op_fn fn, failure *f)
{
    if (fn == op_ping)
        return fn(c, f);
    sl_txn t = {0};
    sl_err rc = in ? SL_OK : sl_txn_begin_read(c->store, &t);
    if (rc != SL_OK)
        return rc;
    c->txn = in ? in : &t;
    c->instance = sl_store_instance(c->store);
    rc = fn(c, f);
    sl_txn_abort(&t);
    c->txn = NULL;
    return rc;
}

sl_err sl_dispatch_read(sl_store *store, const sl_request *req, uint64_t now_ms,
                        const sl_server_counters *counters, sl_reply_buf *out)
{
    return sl_dispatch_read_in(store, NULL, req, now_ms, counters, out);
}

sl_err sl_dispatch_read_in(sl_store *store, sl_txn *in, const sl_request *req, uint64_t now_ms,
                           const sl_server_counters *counters, sl_reply_buf *out)
{
    sl_reply_reset(out);
    op_fn fn = op_of(read_ops, req, out);
    if (!fn)
        return sl_reply_size(out) ? SL_OK : SL_ERR_NOMEM;
    dctx c = {.store = store, .req = req, .now_ms = now_ms, .counters = counters, .out = out};
    failure f = {.index = -1};
    sl_err rc = run_read(&c, in, fn, &f);
    if (rc == SL_OK)
        return SL_OK;
    return reply_failure(out, rc, &f);
}

/* The storage-level errors the writer handles itself (see dispatch.h). */
static bool storage_level(sl_err rc)
{
    return rc == SL_ERR_MAP_FULL || rc == SL_ERR_TXN_FULL || rc == SL_ERR_STORAGE ||
           rc == SL_ERR_STORAGE_FULL || rc == SL_ERR_NOMEM;
}

sl_run_kind sl_dispatch_route(const sl_store *store, const sl_request *req)
{
    sl_run_kind kind = sl_dispatch_kind(req);
    return kind == SL_RUN_READ && sl_store_reads_lag(store) ? SL_RUN_WRITE : kind;
}

bool sl_dispatch_appends(const sl_request *req)
{
    return req->op == SL_OP_PUBLISH || req->op == SL_OP_WEBHOOK_TEST;
}

sl_err sl_dispatch_write(sl_txn *w, const sl_request *req, uint64_t now_ms, sl_reply_buf *out,
                         sl_write_effects *fx)
{
    sl_reply_reset(out);
    memset(fx, 0, sizeof *fx);
    fx->is_publish = sl_dispatch_appends(req);
    op_fn fn = op_of(write_ops, req, out);
    if (!fn)
        return sl_reply_size(out) ? SL_ERR_INVALID : SL_ERR_NOMEM;
    dctx c = {.store = w->store, .txn = w, .req = req, .now_ms = now_ms,
              .instance = sl_store_instance(w->store), .out = out, .fx = fx};
    failure f = {.index = -1};
    sl_err rc = fn(&c, &f);
    if (rc == SL_OK || storage_level(rc))
        return rc;
    memset(fx, 0, sizeof *fx);
    fx->is_publish = sl_dispatch_appends(req);
    return reply_failure(out, rc, &f) == SL_OK ? rc : SL_ERR_NOMEM;
}

/* ---- shared with the other dispatch_*.c files ------------------------------ */

sl_err dx_explain(failure *f, sl_err rc, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return rc;
}

sl_err dx_open_list(sl_reply_buf *out, const char *key, size_t *mark)
{
    sl_err rc = sl_reply_key(out, key);
    return rc != SL_OK ? rc : sl_reply_array_open(out, mark);
}
