/* request_webhook.c: see request_webhook.h. */
#include "proto/request_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/event.h"
#include "core/lease.h"
#include "core/topic.h"

#define OVERLAP_MAX_MS 2592000000ull /* 30 days */

/* ---- ids ------------------------------------------------------------------ */

/* A webhook id field: required, or optional (absent: out = ""). */
static int read_id(const field_table *t, const char *key, bool required,
                   char out[SL_WEBHOOK_ID_LEN + 1], sl_wire_error *e)
{
    sl_slice s;
    bool present;
    out[0] = '\0';
    if (rf_opt_str(t, key, 64, &s, &present, e) != 0)
        return -1;
    if (!present || (!required && s.len == 0))
        return required ? rf_missing(e, t, key) : 0;
    if (!sl_webhook_id_valid(s))
        return rf_fail_at(e, t, key, "invalid_argument",
                          "\"%s\" is not a webhook id (wh_ + 16 hex digits)", rf_show(s).text);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

/* An event id field: *present false when absent (and not required). */
static int read_event_id(const field_table *t, const char *key, bool required,
                         uint64_t *instance, uint64_t *seq, sl_wire_error *e)
{
    sl_slice s;
    bool present;
    *instance = 0;
    *seq = 0;
    if (rf_opt_str(t, key, 64, &s, &present, e) != 0)
        return -1;
    if (!present)
        return required ? rf_missing(e, t, key) : 0;
    if (sl_event_id_parse(s, instance, seq) != SL_OK || *seq == 0)
        return rf_fail_at(e, t, key, "invalid_argument", "\"%s\" is not an event id",
                          rf_show(s).text);
    return 0;
}

/* ---- webhook.create / webhook.update ---------------------------------------- */

/* A str field of the config: given sets bit. */
static int config_str(const field_table *t, const char *key, size_t max, sl_slice *out,
                      unsigned bit, unsigned *given, sl_wire_error *e)
{
    bool present;
    if (rf_opt_str(t, key, max, out, &present, e) != 0)
        return -1;
    *given |= present ? bit : 0u;
    return 0;
}

/* A uint field of the config in min..max: given sets bit. */
static int config_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                       uint64_t *out, unsigned bit, unsigned *given, sl_wire_error *e)
{
    bool present;
    if (rf_opt_uint(t, key, min, max, out, &present, e) != 0)
        return -1;
    *given |= present ? bit : 0u;
    return 0;
}

static int decode_filters(const field_table *t, sl_webhook_config *cfg, unsigned *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n;
    bool present;
    if (rf_opt_array(t, "filters", &items, &n, &present, e) != 0)
        return -1;
    if (!present)
        return 0;
    if (rf_check_count(t, "filters", n, SL_WEBHOOK_FILTERS_MAX, e) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_str(&items, t, "filters", i, SL_TOPIC_MAX, &cfg->filters[i], e) != 0)
            return -1;
    cfg->nfilters = n;
    *given |= SL_WEBHOOK_GIVEN_FILTERS;
    return 0;
}

static int decode_retry(const field_table *t, sl_webhook_config *cfg, unsigned *given,
                        sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n;
    bool present;
    if (rf_opt_array(t, "retry_schedule_ms", &items, &n, &present, e) != 0)
        return -1;
    if (!present)
        return 0;
    if (n > SL_WEBHOOK_RETRY_MAX)
        return rf_fail_at(e, t, "retry_schedule_ms", "too_large",
                          "%u entries is over the limit of %d", (unsigned)n,
                          SL_WEBHOOK_RETRY_MAX);
    for (uint32_t i = 0; i < n; i++)
        if (rf_element_uint(&items, t, "retry_schedule_ms", i, SL_DURATION_MS_MAX,
                            &cfg->retry_ms[i], e) != 0)
            return -1;
    cfg->nretry = n;
    *given |= SL_WEBHOOK_GIVEN_RETRY;
    return 0;
}

/* headers: a map str -> str, at most SL_WEBHOOK_HEADERS_MAX pairs. */
static int decode_headers(const field_table *t, sl_webhook_config *cfg, unsigned *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n;
    bool present;
    if (rf_opt_map(t, "headers", &items, &n, &present, e) != 0)
        return -1;
    if (!present)
        return 0;
    if (n > SL_WEBHOOK_HEADERS_MAX)
        return rf_fail_at(e, t, "headers", "too_large", "%u headers is over the limit of %d",
                          (unsigned)n, SL_WEBHOOK_HEADERS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        sl_mp_item k, v;
        if (sl_mp_read(&items, &k) != SL_OK || k.type != SL_MP_STR ||
            sl_mp_read(&items, &v) != SL_OK || v.type != SL_MP_STR)
            return rf_fail_at(e, t, "headers", "wrong_type",
                              "must map header names (str) to values (str)");
        cfg->headers[i].key = k.bytes;
        cfg->headers[i].value = v.bytes;
    }
    cfg->nheaders = n;
    *given |= SL_WEBHOOK_GIVEN_HEADERS;
    return 0;
}

static int decode_limits(const field_table *t, sl_webhook_config *cfg, unsigned *given,
                         sl_wire_error *e)
{
    uint64_t inflight = cfg->max_in_flight, rate = cfg->rate_limit, after = cfg->disable_after;
    if (config_uint(t, "timeout_ms", 1, SL_WEBHOOK_TIMEOUT_MAX_MS, &cfg->timeout_ms,
                    SL_WEBHOOK_GIVEN_TIMEOUT, given, e) != 0 ||
        config_uint(t, "max_in_flight", 1, SL_WEBHOOK_IN_FLIGHT_MAX, &inflight,
                    SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT, given, e) != 0 ||
        config_uint(t, "rate_limit", 0, SL_WEBHOOK_RATE_MAX, &rate, SL_WEBHOOK_GIVEN_RATE_LIMIT,
                    given, e) != 0 ||
        config_uint(t, "disable_after", 0, UINT32_MAX, &after, SL_WEBHOOK_GIVEN_DISABLE_AFTER,
                    given, e) != 0)
        return -1;
    cfg->max_in_flight = (uint32_t)inflight;
    cfg->rate_limit = (uint32_t)rate;
    cfg->disable_after = (uint32_t)after;
    return 0;
}

static int decode_active(const field_table *t, sl_webhook_config *cfg, unsigned *given,
                         sl_wire_error *e)
{
    bool present;
    if (rf_opt_bool(t, "active", &cfg->active, &present, e) != 0)
        return -1;
    *given |= present ? SL_WEBHOOK_GIVEN_ACTIVE : 0u;
    return 0;
}

/* Check every field given with the core's rules (a field not given holds a
 * default; name and url, which have none, get stand-ins for the check). */
static int check_config(const field_table *t, const sl_webhook_config *cfg, sl_wire_error *e)
{
    sl_webhook_config c = *cfg;
    const char *field = NULL;
    if (c.name.len == 0 && !rf_find(t, "name"))
        c.name = sl_slice_of("-");
    if (c.url.len == 0 && !rf_find(t, "url"))
        c.url = sl_slice_of("https://example.com/");
    if (sl_webhook_config_check(&c, &field) == SL_OK)
        return 0;
    return rf_fail_at(e, t, field ? field : "webhook", "invalid_argument",
                      "not a valid value (see PROTOCOL.md, webhook.create)");
}

int rw_decode_webhook(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_webhook *w = &req->webhook;
    sl_webhook_config *cfg = &w->config;
    bool create = req->op == SL_OP_WEBHOOK_CREATE;
    sl_webhook_config_default(cfg);
    w->given = 0;
    w->id[0] = '\0';
    if ((!create && read_id(t, "id", true, w->id, e) != 0) ||
        config_str(t, "name", SL_WEBHOOK_NAME_MAX, &cfg->name, SL_WEBHOOK_GIVEN_NAME, &w->given,
                   e) != 0 ||
        config_str(t, "description", SL_WEBHOOK_DESC_MAX, &cfg->description,
                   SL_WEBHOOK_GIVEN_DESCRIPTION, &w->given, e) != 0 ||
        config_str(t, "url", SL_WEBHOOK_URL_MAX, &cfg->url, SL_WEBHOOK_GIVEN_URL, &w->given,
                   e) != 0 ||
        decode_filters(t, cfg, &w->given, e) != 0 || decode_active(t, cfg, &w->given, e) != 0 ||
        decode_retry(t, cfg, &w->given, e) != 0 || decode_limits(t, cfg, &w->given, e) != 0 ||
        decode_headers(t, cfg, &w->given, e) != 0)
        return -1;
    if (create && !(w->given & SL_WEBHOOK_GIVEN_NAME))
        return rf_missing(e, t, "name");
    if (create && !(w->given & SL_WEBHOOK_GIVEN_URL))
        return rf_missing(e, t, "url");
    return check_config(t, cfg, e);
}

/* ---- the small ones ----------------------------------------------------------- */

int rw_decode_webhook_ref(const field_table *t, sl_request *req, sl_wire_error *e)
{
    return read_id(t, "id", true, req->webhook_ref.id, e);
}

int rw_decode_webhook_list(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t limit;
    if (read_id(t, "after", false, req->webhook_list.after, e) != 0 ||
        rf_uint_or(t, "limit", 1, SL_WEBHOOK_PAGE_MAX, SL_READ_DEFAULT, &limit, e) != 0)
        return -1;
    req->webhook_list.limit = (size_t)limit;
    return 0;
}

int rw_decode_webhook_rotate(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_webhook_rotate *r = &req->webhook_rotate;
    if (read_id(t, "id", true, r->id, e) != 0)
        return -1;
    return rf_uint_or(t, "overlap_ms", 0, OVERLAP_MAX_MS, SL_WEBHOOK_OVERLAP_DEFAULT_MS,
                      &r->overlap_ms, e);
}

int rw_decode_webhook_retry(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_webhook_retry *r = &req->webhook_retry;
    if (read_id(t, "id", true, r->id, e) != 0)
        return -1;
    return read_event_id(t, "event_id", true, &r->event_instance, &r->seq, e);
}

/* ---- webhook.deliveries --------------------------------------------------------- */

static int decode_status_filter(const field_table *t, sl_delivery_filter *f, sl_wire_error *e)
{
    sl_slice s;
    bool present;
    uint64_t http = 0;
    if (rf_opt_str(t, "status", 64, &s, &present, e) != 0)
        return -1;
    if (present && sl_slice_eq_cstr(s, "succeeded"))
        f->status = SL_DELIVERY_SUCCEEDED;
    else if (present && sl_slice_eq_cstr(s, "failed"))
        f->status = SL_DELIVERY_FAILED;
    else if (present)
        return rf_fail_at(e, t, "status", "invalid_argument", "must be succeeded or failed");
    if (rf_opt_uint(t, "http_status", 100, 599, &http, &present, e) != 0)
        return -1;
    f->http_status = (uint32_t)http;
    return 0;
}

int rw_decode_webhook_deliveries(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_webhook_deliveries *d = &req->webhook_deliveries;
    uint64_t limit;
    bool present;
    memset(&d->filter, 0, sizeof d->filter);
    if (read_id(t, "id", true, d->id, e) != 0 || decode_status_filter(t, &d->filter, e) != 0 ||
        rf_opt_uint(t, "since_ms", 0, UINT64_MAX, &d->filter.since_ms, &present, e) != 0 ||
        rf_opt_uint(t, "until_ms", 0, UINT64_MAX, &d->filter.until_ms, &present, e) != 0 ||
        read_event_id(t, "event_id", false, &d->event_instance, &d->filter.seq, e) != 0 ||
        rf_uint_or(t, "before", 0, UINT64_MAX, 0, &d->before, e) != 0 ||
        rf_uint_or(t, "limit", 1, SL_DELIVERY_PAGE_MAX, SL_READ_DEFAULT, &limit, e) != 0)
        return -1;
    d->limit = (size_t)limit;
    return 0;
}

/* ---- webhook.report -------------------------------------------------------------- */

/* s cut to max bytes, not inside a UTF-8 sequence when it is text. */
static sl_slice cut(sl_slice s, size_t max)
{
    if (s.len <= max)
        return s;
    size_t n = max;
    for (int back = 0; back < 3 && n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80; back++)
        n--;
    s.len = n;
    return s;
}

static int attempt_body(const field_table *t, sl_webhook_attempt *a, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    if (rf_lookup(t, "body", &it, &after) == 0)
        return 0;
    if (it.type != SL_MP_BIN && it.type != SL_MP_STR)
        return rf_fail_at(e, t, "body", "wrong_type", "must be bin or str");
    a->body = it.bytes.len > SL_WEBHOOK_BODY_KEEP
                  ? (sl_slice){it.bytes.ptr, SL_WEBHOOK_BODY_KEEP}
                  : it.bytes;
    return 0;
}

/* Decode attempts[i] (a map at *items) into a. */
static int decode_attempt(sl_mp_cursor *items, uint32_t i, sl_webhook_attempt *a,
                          sl_wire_error *e)
{
    field_table at;
    sl_mp_item it;
    uint64_t status;
    bool present;
    at.parent = "attempts";
    at.index = i;
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_MAP) {
        char p[32];
        snprintf(p, sizeof p, "attempts[%u]", (unsigned)i);
        return rf_fail(e, "wrong_type", p, "%s: an attempt must be a map", p);
    }
    if (rf_load_table(items, it.count, &at, e) != 0 ||
        rf_req_str(&at, "token", 64, &a->token, e) != 0 ||
        rf_uint_or(&at, "http_status", 0, 999, 0, &status, e) != 0 ||
        rf_opt_str(&at, "error", SIZE_MAX, &a->error, &present, e) != 0 ||
        rf_uint_or(&at, "latency_us", 0, UINT64_MAX, 0, &a->latency_us, e) != 0 ||
        attempt_body(&at, a, e) != 0 ||
        rf_uint_or(&at, "retry_after_ms", 0, SL_DURATION_MS_MAX, 0, &a->retry_after_ms, e) != 0 ||
        rf_uint_or(&at, "sent_ms", 0, UINT64_MAX, 0, &a->sent_ms, e) != 0)
        return -1;
    a->http_status = (uint32_t)status;
    a->error = cut(a->error, SL_WEBHOOK_ERROR_MAX);
    return 0;
}

int rw_decode_webhook_report(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_webhook_report *r = &req->webhook_report;
    sl_mp_cursor items;
    uint32_t n = 0;
    if (read_id(t, "id", true, r->id, e) != 0 ||
        rf_req_array(t, "attempts", SL_SETTLE_BATCH_MAX, &items, &n, e) != 0)
        return -1;
    void *block = calloc(n, sizeof(sl_webhook_attempt) + sizeof(sl_webhook_outcome));
    if (!block)
        return rf_fail(e, "no_memory", NULL, "out of memory for %u attempts", (unsigned)n);
    req->owned = block;
    r->attempts = block;
    r->outcomes = (sl_webhook_outcome *)(r->attempts + n);
    for (uint32_t i = 0; i < n; i++)
        if (decode_attempt(&items, i, &r->attempts[i], e) != 0)
            return -1;
    r->nattempts = n;
    return 0;
}
