/* request.c: see request.h.
 *
 * The bytes are first checked whole by sl_mp_guard, then read in place with
 * an sl_mp_cursor. Each map (the request, and each publish event) is loaded
 * into a field_table of key -> value position, which also catches duplicate
 * keys; the op's decoder then looks its fields up by name, checking type,
 * presence and range, and naming the field path in any error.
 */
#include "proto/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dlq.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/topic.h"
#include "proto/mp_guard.h"
#include "proto/request_fields.h"
#include "proto/request_keys.h"
#include "proto/request_webhook.h"

static const char *const op_names[SL_OP_COUNT] = {
    [SL_OP_PING] = "ping",
    [SL_OP_PUBLISH] = "publish",
    [SL_OP_PULL] = "pull",
    [SL_OP_ACK] = "ack",
    [SL_OP_NACK] = "nack",
    [SL_OP_EXTEND] = "extend",
    [SL_OP_TERM] = "term",
    [SL_OP_GROUP_CREATE] = "group.create",
    [SL_OP_GROUP_UPDATE] = "group.update",
    [SL_OP_GROUP_GET] = "group.get",
    [SL_OP_GROUP_LIST] = "group.list",
    [SL_OP_GROUP_DELETE] = "group.delete",
    [SL_OP_TOPICS] = "topics",
    [SL_OP_LOG_READ] = "log.read",
    [SL_OP_DLQ_LIST] = "dlq.list",
    [SL_OP_DLQ_GET] = "dlq.get",
    [SL_OP_DLQ_REPLAY] = "dlq.replay",
    [SL_OP_DLQ_PURGE] = "dlq.purge",
    [SL_OP_STATS] = "stats",
    [SL_OP_WEBHOOK_CREATE] = "webhook.create",
    [SL_OP_WEBHOOK_UPDATE] = "webhook.update",
    [SL_OP_WEBHOOK_GET] = "webhook.get",
    [SL_OP_WEBHOOK_LIST] = "webhook.list",
    [SL_OP_WEBHOOK_DELETE] = "webhook.delete",
    [SL_OP_WEBHOOK_ENABLE] = "webhook.enable",
    [SL_OP_WEBHOOK_DISABLE] = "webhook.disable",
    [SL_OP_WEBHOOK_RESET] = "webhook.reset",
    [SL_OP_WEBHOOK_ROTATE_SECRET] = "webhook.rotate_secret",
    [SL_OP_WEBHOOK_TEST] = "webhook.test",
    [SL_OP_WEBHOOK_STATS] = "webhook.stats",
    [SL_OP_WEBHOOK_DELIVERIES] = "webhook.deliveries",
    [SL_OP_WEBHOOK_RETRY] = "webhook.retry",
    [SL_OP_WEBHOOK_EVENT_TYPES] = "webhook.event_types",
    [SL_OP_WEBHOOK_TARGETS] = "webhook.targets",
    [SL_OP_WEBHOOK_REPORT] = "webhook.report",
    [SL_OP_KEYS_CREATE] = "keys.create",
    [SL_OP_KEYS_GET] = "keys.get",
    [SL_OP_KEYS_LIST] = "keys.list",
    [SL_OP_KEYS_REVOKE] = "keys.revoke",
};

const char *sl_op_name(sl_op op)
{
    if ((unsigned)op >= SL_OP_COUNT)
        return "?";
    return op_names[op];
}

bool sl_op_from_name(sl_slice name, sl_op *op)
{
    for (unsigned i = 0; i < SL_OP_COUNT; i++) {
        if (sl_slice_eq_cstr(name, op_names[i])) {
            *op = (sl_op)i;
            return true;
        }
    }
    return false;
}

static const char *const start_names[] = {
    [SL_START_EARLIEST] = "earliest",
    [SL_START_LATEST] = "latest",
    [SL_START_SEQ] = "seq",
    [SL_START_TIME] = "time",
};

const char *sl_start_kind_name(sl_start_kind k)
{
    if ((unsigned)k > SL_START_TIME)
        return "?";
    return start_names[k];
}

bool sl_start_kind_from_name(sl_slice name, sl_start_kind *k)
{
    for (unsigned i = 0; i <= SL_START_TIME; i++) {
        if (sl_slice_eq_cstr(name, start_names[i])) {
            *k = (sl_start_kind)i;
            return true;
        }
    }
    return false;
}

/* ---- publish ------------------------------------------------------------- */

/* Load events[i] (a map) at *items into t. */
static int load_event(sl_mp_cursor *items, uint32_t i, field_table *t, sl_wire_error *e)
{
    sl_mp_item it;
    t->parent = "events";
    t->index = i;
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_MAP) {
        char p[32];
        snprintf(p, sizeof p, "events[%u]", (unsigned)i);
        return rf_fail(e, "wrong_type", p, "%s: an event must be a map", p);
    }
    return rf_load_table(items, it.count, t, e);
}

/* Headers of the event in t: *n pairs at *items (0 when absent). */
static int event_headers(const field_table *t, sl_mp_cursor *items, uint32_t *n,
                         sl_wire_error *e)
{
    sl_mp_item it;
    *n = 0;
    if (rf_lookup(t, "headers", &it, items) == 0)
        return 0;
    if (it.type != SL_MP_MAP)
        return rf_fail_at(e, t, "headers", "wrong_type", "must be a map of str to str");
    if (it.count > SL_HEADERS_MAX)
        return rf_fail_at(e, t, "headers", "too_large", "%u headers is over the limit of %d",
                       (unsigned)it.count, SL_HEADERS_MAX);
    *n = it.count;
    return 0;
}

/* First pass: check each event is a map and count all headers. */
static int count_headers(sl_mp_cursor items, uint32_t n, size_t *total, sl_wire_error *e)
{
    field_table t;
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_mp_cursor hdr;
        uint32_t nh;
        e->index = i;
        if (load_event(&items, i, &t, e) != 0 || event_headers(&t, &hdr, &nh, e) != 0)
            return -1;
        *total += nh;
    }
    e->index = -1;
    return 0;
}

/* One header pair at *items into *h, checked against the limits. */
static int read_header(sl_mp_cursor *items, const field_table *t, sl_header *h,
                       sl_wire_error *e)
{
    sl_mp_item k, v;
    if (sl_mp_read(items, &k) != SL_OK || k.type != SL_MP_STR || sl_mp_read(items, &v) != SL_OK ||
        v.type != SL_MP_STR)
        return rf_fail_at(e, t, "headers", "wrong_type", "must be a map of str to str");
    if (k.bytes.len == 0)
        return rf_fail_at(e, t, "headers", "invalid_argument", "a header key must not be empty");
    if (k.bytes.len > SL_HEADER_KEY_MAX)
        return rf_fail_at(e, t, "headers", "too_large", "a key of %zu bytes is over the limit of %d",
                       k.bytes.len, SL_HEADER_KEY_MAX);
    if (v.bytes.len > SL_HEADER_VALUE_MAX)
        return rf_fail_at(e, t, "headers", "too_large",
                       "header \"%s\": %zu bytes is over the limit of %d",
                       rf_show(k.bytes).text, v.bytes.len, SL_HEADER_VALUE_MAX);
    h->key = k.bytes;
    h->value = v.bytes;
    return 0;
}

/* The headers of the event in t into h[0..), setting ev->headers/nheaders. */
static int decode_headers(const field_table *t, sl_header *h, sl_event_in *ev, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (event_headers(t, &items, &n, e) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (read_header(&items, t, &h[i], e) != 0)
            return -1;
        for (uint32_t j = 0; j < i; j++)
            if (sl_slice_eq(h[j].key, h[i].key))
                return rf_fail_at(e, t, "headers", "bad_request", "header \"%s\" given twice",
                               rf_show(h[i].key).text);
    }
    ev->headers = n ? h : NULL;
    ev->nheaders = n;
    return 0;
}

static int decode_topic(const field_table *t, sl_slice *topic, sl_wire_error *e)
{
    if (rf_req_str(t, "topic", SL_TOPIC_MAX, topic, e) != 0)
        return -1;
    if (!sl_topic_valid(*topic))
        return rf_fail_at(e, t, "topic", "invalid_argument",
                       "\"%s\" is not a topic: use segments of A-Z a-z 0-9 _ - joined by '.'",
                       rf_show(*topic).text);
    if (topic->ptr[0] == '_')
        return rf_fail_at(e, t, "topic", "invalid_argument",
                          "topics starting with '_' are reserved for sluice itself");
    return 0;
}

static int decode_payload(const field_table *t, sl_slice *payload, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    if (rf_lookup(t, "payload", &it, &after) == 0)
        return rf_missing(e, t, "payload");
    if (it.type != SL_MP_BIN && it.type != SL_MP_STR)
        return rf_fail_at(e, t, "payload", "wrong_type", "must be bin or str");
    *payload = it.bytes;
    return 0;
}

static int decode_idem_key(const field_table *t, sl_slice *key, sl_wire_error *e)
{
    bool present;
    if (rf_opt_str(t, "key", SL_IDEM_KEY_MAX, key, &present, e) != 0)
        return -1;
    if (present && key->len == 0)
        return rf_fail_at(e, t, "key", "invalid_argument", "an idempotency key must not be empty");
    return 0;
}

/* Decode the event map in t into ev; its headers go to h. */
static int decode_event(const field_table *t, sl_event_in *ev, sl_header *h, sl_wire_error *e)
{
    bool present;
    if (decode_topic(t, &ev->topic, e) != 0 || decode_payload(t, &ev->payload, e) != 0 ||
        rf_opt_str(t, "content_type", SL_CONTENT_TYPE_MAX, &ev->content_type, &present, e) != 0 ||
        decode_idem_key(t, &ev->idem_key, e) != 0)
        return -1;
    return decode_headers(t, h, ev, e);
}

static int decode_publish(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    size_t nheaders;
    if (rf_req_array(t, "events", SL_PUBLISH_BATCH_MAX, &items, &n, e) != 0 ||
        count_headers(items, n, &nheaders, e) != 0)
        return -1;
    sl_event_in *events = calloc(1, n * sizeof *events + nheaders * sizeof(sl_header));
    if (!events)
        return rf_fail(e, "no_memory", NULL, "out of memory for %u events", (unsigned)n);
    req->owned = events;
    sl_header *h = (sl_header *)(events + n);
    field_table et;
    for (uint32_t i = 0; i < n; i++) {
        e->index = i;
        if (load_event(&items, i, &et, e) != 0 || decode_event(&et, &events[i], h, e) != 0)
            return -1;
        h += events[i].nheaders;
    }
    e->index = -1;
    req->publish.events = events;
    req->publish.nevents = n;
    return 0;
}

/* ---- pull, ack, nack, extend, term --------------------------------------- */

/* pull's optional "ack": tokens to ack first, with room for their statuses
 * in the same (one) allocation. */
static int decode_pull_acks(const field_table *t, sl_req_pull *p, void **owned,
                            sl_wire_error *e)
{
    if (!rf_find(t, "ack"))
        return 0;
    sl_mp_cursor items;
    uint32_t n = 0;
    if (rf_req_array(t, "ack", SL_SETTLE_BATCH_MAX, &items, &n, e) != 0)
        return -1;
    void *block = calloc(n ? n : 1, sizeof(sl_slice) + sizeof(sl_token_status));
    if (!block)
        return rf_fail(e, "no_memory", NULL, "out of memory for %u tokens", (unsigned)n);
    *owned = block;
    p->ack = block;
    p->ack_status = (sl_token_status *)(p->ack + (n ? n : 1));
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_str(&items, t, "ack", i, SIZE_MAX, &p->ack[i], e) != 0)
            return -1;
    p->nack = n;
    return 0;
}

static int decode_pull(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t max;
    if (rf_req_name(t, "group", req->pull.group, e) != 0 ||
        rf_uint_or(t, "max", 1, SL_PULL_BATCH_MAX, 1, &max, e) != 0 ||
        rf_uint_or(t, "wait_ms", 0, SL_WAIT_MS_MAX, 0, &req->pull.wait_ms, e) != 0 ||
        decode_pull_acks(t, &req->pull, &req->owned, e) != 0)
        return -1;
    req->pull.max = (size_t)max;
    return 0;
}

/* reason cut to SL_REASON_MAX bytes, not inside a UTF-8 sequence. */
static sl_slice cut_reason(sl_slice r)
{
    if (r.len <= SL_REASON_MAX)
        return r;
    size_t n = SL_REASON_MAX;
    for (int back = 0; back < 3 && n > 0 && ((unsigned char)r.ptr[n] & 0xc0) == 0x80; back++)
        n--;
    r.len = n;
    return r;
}

static int decode_tokens(const field_table *t, sl_req_settle *s, void **owned, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (rf_req_array(t, "tokens", SL_SETTLE_BATCH_MAX, &items, &n, e) != 0)
        return -1;
    s->tokens = calloc(n, sizeof *s->tokens);
    if (!s->tokens)
        return rf_fail(e, "no_memory", NULL, "out of memory for %u tokens", (unsigned)n);
    *owned = s->tokens;
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_str(&items, t, "tokens", i, SIZE_MAX, &s->tokens[i], e) != 0)
            return -1;
    s->ntokens = n;
    return 0;
}

/* The op's own field: nack delay_ms, extend lease_ms, nack/term reason. */
static int decode_settle_extra(const field_table *t, sl_op op, sl_req_settle *s,
                               sl_wire_error *e)
{
    bool present;
    s->delay_ms = SL_DELAY_DEFAULT;
    if (op == SL_OP_NACK &&
        rf_opt_uint(t, "delay_ms", 0, SL_DURATION_MS_MAX, &s->delay_ms, &present, e) != 0)
        return -1;
    if (op == SL_OP_EXTEND &&
        rf_opt_uint(t, "lease_ms", 1, SL_DURATION_MS_MAX, &s->delay_ms, &present, e) != 0)
        return -1;
    if (op == SL_OP_NACK || op == SL_OP_TERM) {
        if (rf_opt_str(t, "reason", SIZE_MAX, &s->reason, &present, e) != 0)
            return -1;
        s->reason = cut_reason(s->reason);
    }
    return 0;
}

static int decode_settle(const field_table *t, sl_request *req, sl_wire_error *e)
{
    if (rf_req_name(t, "group", req->settle.group, e) != 0 ||
        decode_tokens(t, &req->settle, &req->owned, e) != 0)
        return -1;
    return decode_settle_extra(t, req->op, &req->settle, e);
}

/* ---- group.* ------------------------------------------------------------- */

static int decode_filters(const field_table *t, sl_group_config *cfg, bool *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (rf_opt_array(t, "filters", &items, &n, given, e) != 0)
        return -1;
    if (!*given)
        return 0;
    if (rf_check_count(t, "filters", n, SL_FILTERS_MAX, e) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        sl_slice f;
        if (rf_element_str(&items, t, "filters", i, SL_TOPIC_MAX, &f, e) != 0)
            return -1;
        if (!sl_filter_valid(f)) {
            field_path p = rf_element_path(t, "filters", i);
            return rf_fail(e, "invalid_argument", p.text, "%s: \"%s\" is not a topic filter",
                        p.text, rf_show(f).text);
        }
        memcpy(cfg->filters[i], f.ptr, f.len);
        cfg->filters[i][f.len] = '\0';
    }
    cfg->nfilters = n;
    return 0;
}

static int decode_start(const field_table *t, sl_group_config *cfg, unsigned *given,
                        sl_wire_error *e)
{
    sl_slice s;
    bool present;
    if (rf_opt_str(t, "start", SIZE_MAX, &s, &present, e) != 0)
        return -1;
    if (present) {
        if (!sl_start_kind_from_name(s, &cfg->start))
            return rf_fail_at(e, t, "start", "invalid_argument",
                           "must be earliest, latest, seq or time");
        *given |= SL_GROUP_GIVEN_START;
    }
    if (rf_opt_uint(t, "start_value", 0, UINT64_MAX, &cfg->start_value, &present, e) != 0)
        return -1;
    if (present)
        *given |= SL_GROUP_GIVEN_START_VALUE;
    return 0;
}

static int decode_backoff(const field_table *t, sl_group_config *cfg, bool *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (rf_opt_array(t, "backoff_ms", &items, &n, given, e) != 0)
        return -1;
    if (!*given)
        return 0;
    if (n > SL_BACKOFF_MAX)
        return rf_fail_at(e, t, "backoff_ms", "too_large", "%u entries is over the limit of %d",
                       (unsigned)n, SL_BACKOFF_MAX);
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_uint(&items, t, "backoff_ms", i, SL_DURATION_MS_MAX, &cfg->backoff_ms[i],
                         e) != 0)
            return -1;
    cfg->nbackoff = n;
    return 0;
}

/* A uint field of the group config: given sets bit. */
static int group_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                      uint64_t *out, unsigned bit, unsigned *given, sl_wire_error *e)
{
    bool present;
    if (rf_opt_uint(t, key, min, max, out, &present, e) != 0)
        return -1;
    if (present)
        *given |= bit;
    return 0;
}

static int decode_limits(const field_table *t, sl_group_config *cfg, unsigned *given,
                         sl_wire_error *e)
{
    uint64_t deliveries = cfg->max_deliveries, inflight = cfg->max_inflight;
    if (group_uint(t, "ack_wait_ms", 1, SL_DURATION_MS_MAX, &cfg->ack_wait_ms,
                   SL_GROUP_GIVEN_ACK_WAIT, given, e) != 0 ||
        group_uint(t, "max_deliveries", 1, SL_MAX_DELIVERIES_MAX, &deliveries,
                   SL_GROUP_GIVEN_MAX_DELIVERIES, given, e) != 0 ||
        group_uint(t, "max_inflight", 1, SL_MAX_INFLIGHT_MAX, &inflight,
                   SL_GROUP_GIVEN_MAX_INFLIGHT, given, e) != 0)
        return -1;
    cfg->max_deliveries = (uint32_t)deliveries;
    cfg->max_inflight = (uint32_t)inflight;
    return 0;
}

/* Group names starting with '_' belong to sluice (webhook groups): users may
 * read them, not create, change or delete them. */
static int check_not_reserved(const field_table *t, const char *key, const char *name,
                              sl_wire_error *e)
{
    if (name[0] == '_')
        return rf_fail_at(e, t, key, "invalid_argument",
                          "group names starting with '_' are reserved for sluice itself "
                          "(a webhook's group is managed through webhook.*)");
    return 0;
}

static int decode_group(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_group_config *cfg = &req->group.config;
    unsigned *given = &req->group.given;
    bool filters, backoff;
    sl_group_config_default(cfg);
    *given = 0;
    if (rf_req_name(t, "name", cfg->name, e) != 0 ||
        check_not_reserved(t, "name", cfg->name, e) != 0 ||
        decode_filters(t, cfg, &filters, e) != 0 ||
        decode_start(t, cfg, given, e) != 0 || decode_limits(t, cfg, given, e) != 0 ||
        decode_backoff(t, cfg, &backoff, e) != 0)
        return -1;
    *given |= (filters ? SL_GROUP_GIVEN_FILTERS : 0u) | (backoff ? SL_GROUP_GIVEN_BACKOFF : 0u);
    bool needs_value = cfg->start == SL_START_SEQ || cfg->start == SL_START_TIME;
    if (req->op == SL_OP_GROUP_CREATE && needs_value && !(*given & SL_GROUP_GIVEN_START_VALUE))
        return rf_fail_at(e, t, "start_value", "missing_field", "required when start is %s",
                       sl_start_kind_name(cfg->start));
    return 0;
}

static int decode_group_ref(const field_table *t, sl_request *req, sl_wire_error *e)
{
    if (rf_req_name(t, "name", req->group_ref.name, e) != 0)
        return -1;
    return req->op == SL_OP_GROUP_DELETE ? check_not_reserved(t, "name", req->group_ref.name, e)
                                         : 0;
}

/* ---- log.read, dlq.* ----------------------------------------------------- */

static int decode_log_read(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_log_read *r = &req->log_read;
    uint64_t max;
    if (rf_opt_uint(t, "from_seq", 0, UINT64_MAX, &r->from_seq, &r->has_from_seq, e) != 0 ||
        rf_opt_uint(t, "from_time_ms", 0, UINT64_MAX, &r->from_time_ms, &r->has_from_time, e) != 0 ||
        rf_uint_or(t, "max", 1, SL_READ_MAX, SL_READ_DEFAULT, &max, e) != 0)
        return -1;
    if (r->has_from_seq && r->has_from_time)
        return rf_fail_at(e, t, "from_time_ms", "invalid_argument",
                       "give from_seq or from_time_ms, not both");
    r->max = (size_t)max;
    return 0;
}

static int decode_dlq_list(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t limit;
    if (rf_req_name(t, "group", req->dlq_list.group, e) != 0 ||
        rf_uint_or(t, "after_seq", 0, UINT64_MAX, 0, &req->dlq_list.after_seq, e) != 0 ||
        rf_uint_or(t, "limit", 1, SL_DLQ_PAGE_MAX, SL_READ_DEFAULT, &limit, e) != 0)
        return -1;
    req->dlq_list.limit = (size_t)limit;
    return 0;
}

static int decode_dlq_get(const field_table *t, sl_request *req, sl_wire_error *e)
{
    if (rf_req_name(t, "group", req->dlq_get.group, e) != 0)
        return -1;
    return rf_req_uint(t, "seq", 0, UINT64_MAX, &req->dlq_get.seq, e);
}

/* all: optional bool, false when absent. */
static int decode_all(const field_table *t, bool *all, sl_wire_error *e)
{
    bool present;
    *all = false;
    return rf_opt_bool(t, "all", all, &present, e);
}

static int decode_seqs(const field_table *t, sl_mp_cursor items, uint32_t n, sl_request *req,
                       sl_wire_error *e)
{
    sl_req_dlq_batch *b = &req->dlq_batch;
    if (rf_check_count(t, "seqs", n, SL_DLQ_BATCH_MAX, e) != 0)
        return -1;
    b->seqs = calloc(n, sizeof *b->seqs);
    if (!b->seqs)
        return rf_fail(e, "no_memory", NULL, "out of memory for %u seqs", (unsigned)n);
    req->owned = b->seqs;
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_uint(&items, t, "seqs", i, UINT64_MAX, &b->seqs[i], e) != 0)
            return -1;
    b->nseqs = n;
    return 0;
}

static int decode_dlq_batch(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_dlq_batch *b = &req->dlq_batch;
    sl_mp_cursor items;
    uint32_t n = 0;
    bool has_seqs;
    if (rf_req_name(t, "group", b->group, e) != 0 || decode_all(t, &b->all, e) != 0 ||
        rf_opt_array(t, "seqs", &items, &n, &has_seqs, e) != 0)
        return -1;
    if (b->all && has_seqs)
        return rf_fail_at(e, t, "all", "invalid_argument", "give seqs or all: true, not both");
    if (!b->all && !has_seqs)
        return rf_fail_at(e, t, "seqs", "invalid_argument",
                       "give seqs (1..%d sequences) or all: true", SL_DLQ_BATCH_MAX);
    return b->all ? 0 : decode_seqs(t, items, n, req, e);
}

/* ---- the request --------------------------------------------------------- */

typedef int (*op_decoder)(const field_table *t, sl_request *req, sl_wire_error *e);

/* The decoder of each op; NULL: the op has no fields. */
static const op_decoder decoders[SL_OP_COUNT] = {
    [SL_OP_PUBLISH] = decode_publish,
    [SL_OP_PULL] = decode_pull,
    [SL_OP_ACK] = decode_settle,
    [SL_OP_NACK] = decode_settle,
    [SL_OP_EXTEND] = decode_settle,
    [SL_OP_TERM] = decode_settle,
    [SL_OP_GROUP_CREATE] = decode_group,
    [SL_OP_GROUP_UPDATE] = decode_group,
    [SL_OP_GROUP_GET] = decode_group_ref,
    [SL_OP_GROUP_DELETE] = decode_group_ref,
    [SL_OP_LOG_READ] = decode_log_read,
    [SL_OP_DLQ_LIST] = decode_dlq_list,
    [SL_OP_DLQ_GET] = decode_dlq_get,
    [SL_OP_DLQ_REPLAY] = decode_dlq_batch,
    [SL_OP_DLQ_PURGE] = decode_dlq_batch,
    [SL_OP_WEBHOOK_CREATE] = rw_decode_webhook,
    [SL_OP_WEBHOOK_UPDATE] = rw_decode_webhook,
    [SL_OP_WEBHOOK_GET] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_LIST] = rw_decode_webhook_list,
    [SL_OP_WEBHOOK_DELETE] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_ENABLE] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_DISABLE] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_RESET] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_ROTATE_SECRET] = rw_decode_webhook_rotate,
    [SL_OP_WEBHOOK_TEST] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_STATS] = rw_decode_webhook_ref,
    [SL_OP_WEBHOOK_DELIVERIES] = rw_decode_webhook_deliveries,
    [SL_OP_WEBHOOK_RETRY] = rw_decode_webhook_retry,
    [SL_OP_WEBHOOK_TARGETS] = rw_decode_webhook_list,
    [SL_OP_WEBHOOK_REPORT] = rw_decode_webhook_report,
    [SL_OP_KEYS_CREATE] = rk_decode_keys_create,
    [SL_OP_KEYS_GET] = rk_decode_keys_ref,
    [SL_OP_KEYS_LIST] = rk_decode_keys_list,
    [SL_OP_KEYS_REVOKE] = rk_decode_keys_ref,
};

static int check_version(const field_table *t, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    if (rf_lookup(t, "v", &it, &after) == 0)
        return rf_missing(e, t, "v");
    if (it.type != SL_MP_UINT)
        return rf_fail(e, "bad_version", "v", "v: the protocol version must be an unsigned integer");
    if (it.u != SL_PROTO_VERSION)
        return rf_fail(e, "bad_version", "v",
                    "v: protocol version %llu is not supported (this server speaks %d)",
                    (unsigned long long)it.u, SL_PROTO_VERSION);
    return 0;
}

static int decode_op(const field_table *t, sl_op *op, sl_wire_error *e)
{
    sl_slice name;
    if (rf_req_str(t, "op", SIZE_MAX, &name, e) != 0)
        return -1;
    if (!sl_op_from_name(name, op))
        return rf_fail(e, "unknown_op", "op", "op: \"%s\" is not an operation of protocol version %d",
                    rf_show(name).text, SL_PROTO_VERSION);
    return 0;
}

/* Load the top-level map of the guarded buffer into t. */
static int load_request(const void *buf, size_t len, field_table *t, sl_wire_error *e)
{
    sl_mp_cursor c = sl_mp_cursor_make(buf, len);
    sl_mp_item top;
    if (sl_mp_read(&c, &top) != SL_OK || top.type != SL_MP_MAP)
        return rf_fail(e, "bad_request", NULL, "a request must be a msgpack map");
    t->parent = NULL;
    t->index = -1;
    return rf_load_table(&c, top.count, t, e);
}

int sl_request_decode(const void *buf, size_t len, sl_request *req, sl_wire_error *err)
{
    memset(req, 0, sizeof *req);
    err->code = NULL;
    err->field[0] = '\0';
    err->message[0] = '\0';
    err->index = -1;
    const char *why;
    if (sl_mp_guard(buf, len, SL_REQUEST_MAX_DEPTH, &why) != SL_OK)
        return rf_fail(err, "bad_request", NULL, "not one valid msgpack object: %s", why);
    field_table t;
    bool has_key;
    if (load_request(buf, len, &t, err) != 0 || check_version(&t, err) != 0 ||
        decode_op(&t, &req->op, err) != 0 ||
        rf_opt_str(&t, "key", SL_REQUEST_KEY_MAX, &req->key, &has_key, err) != 0)
        return -1;
    op_decoder decode = decoders[req->op];
    return decode ? decode(&t, req, err) : 0;
}

void sl_request_release(sl_request *req)
{
    free(req->owned);
    req->owned = NULL;
}
