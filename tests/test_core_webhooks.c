/* test_core_webhooks.c: webhook subscriptions in core (webhook.h,
 * delivery_log.h): configuration checks, create / get / list / update /
 * delete with the group underneath, secrets, reserved topics, reports
 * (ack, retry with jitter, dead letters, auto-disable, 410, stale tokens),
 * statistics, the delivery log and retries, against a real store in a
 * temporary directory. Time is passed explicitly, so nothing sleeps. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/bytes.h"
#include "core/db.h"
#include "core/delivery_log.h"
#include "core/dlq.h"
#include "core/group.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/store.h"
#include "core/topic.h"
#include "core/webhook.h"
#include "core/webhook_record.h"
#include "tests/support.h"
#include "tests/unit.h"

#define T0 1700000000000ull /* a fixed "now" in Unix ms */
#define GOT_MAX 1000
#define URL "https://hooks.example.com/in"

/* ---- fixture: one store in its own directory -------------------------------- */

typedef struct fixture {
    char *dir;        /* temp dir (owned) */
    sl_store *store;  /* open store (owned) */
} fixture;

static sl_err fx_open_store(fixture *f)
{
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f->dir;
    opt.map_initial_bytes = 64ull << 20;
    opt.relaxed_sync = true;
    return sl_store_open(&opt, &f->store);
}

static int fx_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("webhooks");
    if (!f->dir)
        return -1;
    return fx_open_store(f) == SL_OK ? 0 : -1;
}

static int fx_reopen(fixture *f)
{
    sl_store_close(f->store);
    f->store = NULL;
    return fx_open_store(f) == SL_OK ? 0 : -1;
}

static void fx_close(fixture *f)
{
    sl_store_close(f->store);
    test_rmtree(f->dir);
    free(f->dir);
    memset(f, 0, sizeof *f);
}

/* Run op(w, ctx) in its own write transaction and commit it. */
typedef sl_err (*write_op)(sl_txn *w, void *ctx);

static sl_err in_write(fixture *f, write_op op, void *ctx)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = op(&w, ctx);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

/* Append one event of topic; returns its seq, 0 on failure. */
static uint64_t append(fixture *f, const char *topic, uint64_t now)
{
    sl_event_in ev = {.topic = sl_slice_of(topic), .payload = sl_slice_of("{}")};
    sl_append_result res;
    sl_txn w;
    size_t bad;
    if (sl_txn_begin_write(f->store, &w) != SL_OK)
        return 0;
    if (sl_log_append(&w, &ev, 1, now, &res, &bad) != SL_OK) {
        sl_txn_abort(&w);
        return 0;
    }
    return sl_txn_commit(&w) == SL_OK ? res.seq : 0;
}

/* ---- subscriptions ------------------------------------------------------------ */

/* A valid configuration: name "hook", URL, one filter. */
static void cfg_make(sl_webhook_config *cfg, const char *filter)
{
    sl_webhook_config_default(cfg);
    cfg->name = sl_slice_of("hook");
    cfg->url = sl_slice_of(URL);
    if (filter)
        cfg->filters[0] = sl_slice_of(filter);
}

typedef struct create_args {
    const sl_webhook_config *cfg;
    uint64_t now;
    char id[SL_WEBHOOK_ID_LEN + 1];
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
} create_args;

static sl_err create_op(sl_txn *w, void *ctx)
{
    create_args *a = ctx;
    return sl_webhook_create(w, a->cfg, a->now, a->id, a->secret);
}

/* Create a subscription; id (and secret, may be NULL) get its id. */
static sl_err create(fixture *f, const sl_webhook_config *cfg, char *id, char *secret)
{
    create_args a = {.cfg = cfg, .now = T0};
    sl_err rc = in_write(f, create_op, &a);
    if (rc == SL_OK) {
        memcpy(id, a.id, sizeof a.id);
        if (secret)
            memcpy(secret, a.secret, sizeof a.secret);
    }
    return rc;
}

static sl_err create_simple(fixture *f, const char *filter, uint32_t nretry,
                            const uint64_t *retry, uint32_t disable_after, char *id)
{
    sl_webhook_config cfg;
    cfg_make(&cfg, filter);
    cfg.nretry = nretry;
    for (uint32_t i = 0; i < nretry; i++)
        cfg.retry_ms[i] = retry[i];
    cfg.disable_after = disable_after;
    cfg.timeout_ms = 1000; /* lease: 3 s */
    return create(f, &cfg, id, NULL);
}

/* What a view held, copied out of the transaction. */
typedef struct snap {
    char id[SL_WEBHOOK_ID_LEN + 1];
    char group[SL_GROUP_NAME_MAX + 1];
    char name[SL_WEBHOOK_NAME_MAX + 1];
    char url[SL_WEBHOOK_URL_MAX + 1];
    char reason[32];
    bool active;
    uint64_t disabled_ms, created_ms, updated_ms, timeout_ms;
    uint32_t consecutive, nfilters, nretry, nheaders, nsecrets;
    uint32_t max_in_flight, rate_limit, disable_after;
    char filters[SL_WEBHOOK_FILTERS_MAX][SL_TOPIC_MAX + 1];
    uint64_t retry[SL_WEBHOOK_RETRY_MAX];
    char hkey[SL_WEBHOOK_HEADERS_MAX][SL_WEBHOOK_HEADER_NAME_MAX + 1];
    char hval[SL_WEBHOOK_HEADERS_MAX][64];
    char secrets[SL_WEBHOOK_SECRETS_MAX][SL_WEBHOOK_SECRET_LEN + 1];
    uint64_t expires[SL_WEBHOOK_SECRETS_MAX];
} snap;

static void copy_str(char *dst, size_t cap, sl_slice s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void snap_of(const sl_webhook_view *v, snap *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->id, v->id, sizeof s->id);
    memcpy(s->group, v->group, sizeof s->group);
    const sl_webhook_config *c = &v->config;
    copy_str(s->name, sizeof s->name, c->name);
    copy_str(s->url, sizeof s->url, c->url);
    copy_str(s->reason, sizeof s->reason, v->disabled_reason);
    s->active = c->active;
    s->disabled_ms = v->disabled_ms;
    s->created_ms = v->created_ms;
    s->updated_ms = v->updated_ms;
    s->timeout_ms = c->timeout_ms;
    s->consecutive = v->consecutive_failures;
    s->nfilters = c->nfilters;
    s->nretry = c->nretry;
    s->nheaders = c->nheaders;
    s->nsecrets = v->nsecrets;
    s->max_in_flight = c->max_in_flight;
    s->rate_limit = c->rate_limit;
    s->disable_after = c->disable_after;
    for (uint32_t i = 0; i < c->nfilters && i < SL_WEBHOOK_FILTERS_MAX; i++)
        copy_str(s->filters[i], sizeof s->filters[i], c->filters[i]);
    memcpy(s->retry, c->retry_ms, sizeof s->retry);
    for (uint32_t i = 0; i < c->nheaders && i < SL_WEBHOOK_HEADERS_MAX; i++) {
        copy_str(s->hkey[i], sizeof s->hkey[i], c->headers[i].key);
        copy_str(s->hval[i], sizeof s->hval[i], c->headers[i].value);
    }
    for (uint32_t i = 0; i < v->nsecrets && i < SL_WEBHOOK_SECRETS_MAX; i++) {
        copy_str(s->secrets[i], sizeof s->secrets[i], v->secrets[i].secret);
        s->expires[i] = v->secrets[i].expires_ms;
    }
}

static sl_err get(fixture *f, const char *id, uint64_t now, snap *s)
{
    sl_txn r;
    sl_webhook_view v;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_webhook_get(&r, id, now, &v);
    if (rc == SL_OK)
        snap_of(&v, s);
    sl_txn_abort(&r);
    return rc;
}

static sl_err stats(fixture *f, const char *id, sl_webhook_stats *out)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_webhook_get_stats(&r, id, out);
    sl_txn_abort(&r);
    return rc;
}

static sl_err group_info(fixture *f, const char *name, sl_group_info *out)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_group_get(&r, name, out);
    sl_txn_abort(&r);
    return rc;
}

typedef struct update_args {
    const char *id;
    const sl_webhook_config *cfg;
    unsigned given;
    uint64_t now;
} update_args;

static sl_err update_op(sl_txn *w, void *ctx)
{
    update_args *a = ctx;
    return sl_webhook_update(w, a->id, a->cfg, a->given, a->now);
}

static sl_err update(fixture *f, const char *id, const sl_webhook_config *cfg, unsigned given)
{
    update_args a = {id, cfg, given, T0 + 5};
    return in_write(f, update_op, &a);
}

typedef struct id_args {
    const char *id;
    int what;       /* 0 delete, 1 enable, 2 disable, 3 reset, 4 rotate, 5 retry */
    uint64_t now;
    uint64_t value; /* overlap (rotate) or seq (retry) */
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
} id_args;

static sl_err id_op(sl_txn *w, void *ctx)
{
    id_args *a = ctx;
    switch (a->what) {
    case 0:
        return sl_webhook_delete(w, a->id);
    case 1:
        return sl_webhook_set_active(w, a->id, true, a->now);
    case 2:
        return sl_webhook_set_active(w, a->id, false, a->now);
    case 3:
        return sl_webhook_reset(w, a->id, a->now);
    case 4:
        return sl_webhook_rotate_secret(w, a->id, a->value, a->now, a->secret);
    default:
        return sl_webhook_retry(w, a->id, a->value, a->now);
    }
}

static sl_err on_id(fixture *f, const char *id, int what, uint64_t now, uint64_t value)
{
    id_args a = {.id = id, .what = what, .now = now, .value = value};
    return in_write(f, id_op, &a);
}

static sl_err rotate(fixture *f, const char *id, uint64_t overlap, uint64_t now, char *secret)
{
    id_args a = {.id = id, .what = 4, .now = now, .value = overlap};
    sl_err rc = in_write(f, id_op, &a);
    if (rc == SL_OK && secret)
        memcpy(secret, a.secret, sizeof a.secret);
    return rc;
}

/* ---- pulling and reporting -------------------------------------------------------- */

typedef struct got {
    size_t n;
    uint64_t seq[GOT_MAX];
    uint32_t attempt[GOT_MAX];
    char token[GOT_MAX][SL_TOKEN_LEN + 1];
    char topic[GOT_MAX][64];
} got;

static sl_err collect(void *ctx, const sl_delivery *d)
{
    got *g = ctx;
    if (g->n == GOT_MAX)
        return SL_ERR_TOO_LARGE;
    g->seq[g->n] = d->event.seq;
    g->attempt[g->n] = d->attempt;
    memcpy(g->token[g->n], d->token, sizeof g->token[0]);
    copy_str(g->topic[g->n], sizeof g->topic[0], d->event.topic);
    g->n++;
    return SL_OK;
}

typedef struct pull_args {
    const char *group;
    size_t max;
    uint64_t now;
    got *g;
} pull_args;

static sl_err pull_op(sl_txn *w, void *ctx)
{
    pull_args *a = ctx;
    sl_pull_result res;
    return sl_lease_pull(w, a->group, a->max, a->now, collect, a->g, &res);
}

static sl_err pull(fixture *f, const char *group, size_t max, uint64_t now, got *g)
{
    memset(g, 0, sizeof *g);
    pull_args a = {group, max, now, g};
    return in_write(f, pull_op, &a);
}

/* Pull the webhook group of id. */
static sl_err pull_wh(fixture *f, const char *id, size_t max, uint64_t now, got *g)
{
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id, group);
    return pull(f, group, max, now, g);
}

typedef struct report_args {
    const char *id;
    const sl_webhook_attempt *a;
    size_t n;
    uint64_t now;
    sl_webhook_outcome *out;
} report_args;

static sl_err report_op(sl_txn *w, void *ctx)
{
    report_args *a = ctx;
    return sl_webhook_report(w, a->id, a->a, a->n, a->now, a->out);
}

static sl_err report(fixture *f, const char *id, const sl_webhook_attempt *a, size_t n,
                     uint64_t now, sl_webhook_outcome *out)
{
    report_args r = {id, a, n, now, out};
    return in_write(f, report_op, &r);
}

static sl_webhook_attempt attempt_of(const char *token, uint32_t status, const char *error,
                                     uint64_t sent)
{
    sl_webhook_attempt a;
    memset(&a, 0, sizeof a);
    a.token = sl_slice_of(token);
    a.http_status = status;
    a.error = sl_slice_of(error ? error : "");
    a.latency_us = 1500;
    a.body = sl_slice_of(status ? "ok body" : "");
    a.sent_ms = sent;
    return a;
}

/* Report one attempt; the outcome's result is 99 when the call failed. */
static sl_webhook_outcome report1(fixture *f, const char *id, const char *token,
                                  uint32_t status, const char *error, uint64_t now)
{
    sl_webhook_attempt a = attempt_of(token, status, error, now);
    sl_webhook_outcome o;
    if (report(f, id, &a, 1, now, &o) != SL_OK)
        o.result = (sl_attempt_result)99;
    return o;
}

/* Entries of DB_DELIVERIES and DB_WEBHOOK_STATS, all subscriptions. */
static void db_counts(fixture *f, uint64_t *entries, uint64_t *stats_recs)
{
    sl_txn r;
    MDB_stat st;
    *entries = *stats_recs = UINT64_MAX;
    if (sl_txn_begin_read(f->store, &r) != SL_OK)
        return;
    if (mdb_stat(r.txn, sl_dbi(&r, SL_DB_DELIVERIES), &st) == 0)
        *entries = st.ms_entries;
    if (mdb_stat(r.txn, sl_dbi(&r, SL_DB_WEBHOOK_STATS), &st) == 0)
        *stats_recs = st.ms_entries;
    sl_txn_abort(&r);
}

/* ---- the delivery log -------------------------------------------------------------- */

typedef struct entries {
    size_t n;
    uint64_t entry[GOT_MAX];
    uint64_t seq[GOT_MAX];
    uint32_t attempt[GOT_MAX];
    uint32_t status[GOT_MAX];
    uint64_t time[GOT_MAX];
    sl_attempt_result result[GOT_MAX];
    char topic[GOT_MAX][64];
    char error[GOT_MAX][SL_WEBHOOK_ERROR_MAX + 1];
    char body[GOT_MAX][32];
} entries;

static sl_err entry_collect(void *ctx, const sl_delivery_entry *e)
{
    entries *s = ctx;
    if (s->n == GOT_MAX)
        return SL_ERR_TOO_LARGE;
    s->entry[s->n] = e->entry_id;
    s->seq[s->n] = e->seq;
    s->attempt[s->n] = e->attempt;
    s->status[s->n] = e->http_status;
    s->time[s->n] = e->time_ms;
    s->result[s->n] = e->result;
    copy_str(s->topic[s->n], sizeof s->topic[0], e->topic);
    copy_str(s->error[s->n], sizeof s->error[0], e->error);
    copy_str(s->body[s->n], sizeof s->body[0], e->body);
    s->n++;
    return SL_OK;
}

static sl_err log_list(fixture *f, const char *id, const sl_delivery_filter *flt,
                       uint64_t before, size_t limit, entries *s, uint64_t *next)
{
    memset(s, 0, sizeof *s);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_delivery_log_list(&r, id, flt, before, limit, entry_collect, s, next);
    sl_txn_abort(&r);
    return rc;
}

/* ---- configuration ------------------------------------------------------------------- */

/* Expect cfg (valid but for one change) to fail on field. */
static bool fails_on(const sl_webhook_config *cfg, const char *field)
{
    const char *got_field = NULL;
    sl_err rc = sl_webhook_config_check(cfg, &got_field);
    if (rc == SL_ERR_INVALID && got_field && strcmp(got_field, field) == 0)
        return true;
    fprintf(stderr, "  expected failure on %s, got %s (%s)\n", field, sl_err_code(rc),
            got_field ? got_field : "-");
    return false;
}

static bool url_fails(const char *url)
{
    sl_webhook_config cfg;
    cfg_make(&cfg, NULL);
    cfg.url = sl_slice_of(url);
    if (fails_on(&cfg, "url"))
        return true;
    fprintf(stderr, "  url: \"%s\"\n", url);
    return false;
}

static bool url_passes(const char *url)
{
    sl_webhook_config cfg;
    cfg_make(&cfg, NULL);
    cfg.url = sl_slice_of(url);
    if (sl_webhook_config_check(&cfg, NULL) == SL_OK)
        return true;
    fprintf(stderr, "  url refused: \"%s\"\n", url);
    return false;
}

static bool header_fails(const char *key, sl_slice value)
{
    sl_webhook_config cfg;
    cfg_make(&cfg, NULL);
    cfg.nheaders = 1;
    cfg.headers[0] = (sl_header){sl_slice_of(key), value};
    if (fails_on(&cfg, "headers"))
        return true;
    fprintf(stderr, "  header: \"%s\"\n", key);
    return false;
}

TEST(test_config_defaults_and_checks)
{
    sl_webhook_config cfg;
    sl_webhook_config_default(&cfg);
    CHECK(cfg.active);
    CHECK_EQ_U64(cfg.nfilters, 1);
    CHECK(sl_slice_eq_cstr(cfg.filters[0], ">"));
    CHECK_EQ_U64(cfg.nretry, 4);
    CHECK_EQ_U64(cfg.retry_ms[0], 30000);
    CHECK_EQ_U64(cfg.retry_ms[3], 7200000);
    CHECK_EQ_U64(cfg.timeout_ms, 10000);
    CHECK_EQ_U64(cfg.max_in_flight, 16);
    CHECK_EQ_U64(cfg.rate_limit, 0);
    CHECK_EQ_U64(cfg.disable_after, 5);
    CHECK(fails_on(&cfg, "name"));
    cfg.name = sl_slice_of("hook");
    CHECK(fails_on(&cfg, "url"));
    cfg_make(&cfg, NULL);
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);

    /* urls */
    CHECK(url_fails("ftp://example.com/"));
    CHECK(url_fails("example.com/hook"));
    CHECK(url_fails("http://"));
    CHECK(url_fails("https:///path"));
    CHECK(url_fails("http://:8080/x"));
    CHECK(url_fails("http://user@/x"));
    CHECK(url_fails("http://exa mple.com/"));
    CHECK(url_fails(" http://example.com/"));
    CHECK(url_fails("http://example.com/a\tb"));
    CHECK(url_fails("http://example.com/\x7f"));
    CHECK(url_fails("http://example.com:99999/"));
    CHECK(url_fails("http://example.com:8x/"));
    CHECK(url_fails("http://[]/"));
    CHECK(url_fails("javascript:alert(1)"));
    CHECK(url_passes("HTTPS://Example.COM/In?x=1#frag"));
    CHECK(url_passes("http://127.0.0.1:8080"));
    CHECK(url_passes("http://user:pw@host/x"));
    CHECK(url_passes("http://[::1]:9000/hook"));
    char long_url[SL_WEBHOOK_URL_MAX + 2];
    memset(long_url, 'a', sizeof long_url);
    memcpy(long_url, "http://x/", 9);
    long_url[SL_WEBHOOK_URL_MAX] = '\0';
    CHECK(url_passes(long_url));
    long_url[SL_WEBHOOK_URL_MAX] = 'a';
    long_url[SL_WEBHOOK_URL_MAX + 1] = '\0';
    CHECK(url_fails(long_url));

    /* name and description */
    cfg_make(&cfg, NULL);
    cfg.name = sl_slice_of("");
    CHECK(fails_on(&cfg, "name"));
    cfg.name = sl_slice_of("bad\x01name");
    CHECK(fails_on(&cfg, "name"));
    cfg.name = sl_slice_of("bad\xff");
    CHECK(fails_on(&cfg, "name"));
    cfg.name = sl_slice_of("caf\xc3\xa9 \xe2\x82\xac");
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    char big[SL_WEBHOOK_DESC_MAX + 1];
    memset(big, 'n', sizeof big);
    cfg.name = (sl_slice){big, SL_WEBHOOK_NAME_MAX};
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    cfg.name = (sl_slice){big, SL_WEBHOOK_NAME_MAX + 1};
    CHECK(fails_on(&cfg, "name"));
    cfg_make(&cfg, NULL);
    cfg.description = (sl_slice){big, SL_WEBHOOK_DESC_MAX + 1};
    CHECK(fails_on(&cfg, "description"));
    cfg.description = (sl_slice){big, SL_WEBHOOK_DESC_MAX};
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);

    /* filters */
    cfg_make(&cfg, NULL);
    cfg.nfilters = 0;
    CHECK(fails_on(&cfg, "filters"));
    cfg.nfilters = SL_WEBHOOK_FILTERS_MAX;
    for (uint32_t i = 0; i < SL_WEBHOOK_FILTERS_MAX; i++)
        cfg.filters[i] = sl_slice_of("order.*");
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    cfg.nfilters = SL_WEBHOOK_FILTERS_MAX + 1; /* too many */
    CHECK(fails_on(&cfg, "filters"));
    cfg.nfilters = 1;
    cfg.filters[0] = sl_slice_of("order..created");
    CHECK(fails_on(&cfg, "filters"));
    cfg.filters[0] = sl_slice_of("order.>.x");
    CHECK(fails_on(&cfg, "filters"));

    /* retry schedule and limits */
    cfg_make(&cfg, NULL);
    cfg.retry_ms[1] = 0;
    CHECK(fails_on(&cfg, "retry_schedule_ms"));
    cfg.retry_ms[1] = 86400001;
    CHECK(fails_on(&cfg, "retry_schedule_ms"));
    cfg.retry_ms[1] = 86400000;
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    cfg.nretry = SL_WEBHOOK_RETRY_MAX + 1;
    CHECK(fails_on(&cfg, "retry_schedule_ms"));
    cfg.nretry = 0;
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    cfg.timeout_ms = 0;
    CHECK(fails_on(&cfg, "timeout_ms"));
    cfg.timeout_ms = SL_WEBHOOK_TIMEOUT_MAX_MS + 1;
    CHECK(fails_on(&cfg, "timeout_ms"));
    cfg.timeout_ms = SL_WEBHOOK_TIMEOUT_MAX_MS;
    cfg.max_in_flight = 0;
    CHECK(fails_on(&cfg, "max_in_flight"));
    cfg.max_in_flight = SL_WEBHOOK_IN_FLIGHT_MAX + 1;
    CHECK(fails_on(&cfg, "max_in_flight"));
    cfg.max_in_flight = 1;
    cfg.rate_limit = SL_WEBHOOK_RATE_MAX + 1;
    CHECK(fails_on(&cfg, "rate_limit"));
    cfg.rate_limit = SL_WEBHOOK_RATE_MAX;
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);

    /* headers */
    sl_slice v = sl_slice_of("v");
    CHECK(header_fails("Content-Type", v));
    CHECK(header_fails("content-length", v));
    CHECK(header_fails("USER-AGENT", v));
    CHECK(header_fails("Host", v));
    CHECK(header_fails("Transfer-Encoding", v));
    CHECK(header_fails("Connection", v));
    CHECK(header_fails("Expect", v));
    CHECK(header_fails("X-Webhook-Id", v));
    CHECK(header_fails("webhook-signature", v));
    CHECK(header_fails("Bad Name", v));
    CHECK(header_fails("a:b", v));
    CHECK(header_fails("", v));
    char long_name[SL_WEBHOOK_HEADER_NAME_MAX + 2];
    memset(long_name, 'h', sizeof long_name);
    long_name[SL_WEBHOOK_HEADER_NAME_MAX + 1] = '\0';
    CHECK(header_fails(long_name, v));
    CHECK(header_fails("X-Ok", sl_slice_of("a\r\nInjected: 1")));
    CHECK(header_fails("X-Ok", sl_slice_of("a\nb")));
    CHECK(header_fails("X-Ok", (sl_slice){"a\0b", 3}));
    CHECK(header_fails("X-Ok", (sl_slice){big, SL_WEBHOOK_HEADER_VALUE_MAX + 1}));
    cfg_make(&cfg, NULL);
    cfg.nheaders = 2;
    cfg.headers[0] = (sl_header){sl_slice_of("X-Token"), sl_slice_of("a")};
    cfg.headers[1] = (sl_header){sl_slice_of("x-token"), sl_slice_of("b")};
    CHECK(fails_on(&cfg, "headers")); /* the same name twice */
    cfg.headers[1] = (sl_header){sl_slice_of("Authorization"), sl_slice_of("Bearer x y")};
    CHECK(sl_webhook_config_check(&cfg, NULL) == SL_OK);
    cfg.nheaders = SL_WEBHOOK_HEADERS_MAX + 1;
    CHECK(fails_on(&cfg, "headers"));
    CHECK(sl_webhook_config_check(NULL, NULL) == SL_ERR_INVALID);
}

TEST(test_ids_and_names)
{
    CHECK(sl_webhook_id_valid(sl_slice_of("wh_0123456789abcdef")));
    CHECK(!sl_webhook_id_valid(sl_slice_of("wh_0123456789ABCDEF")));
    CHECK(!sl_webhook_id_valid(sl_slice_of("wh_0123456789abcde")));
    CHECK(!sl_webhook_id_valid(sl_slice_of("xx_0123456789abcdef")));
    CHECK(!sl_webhook_id_valid(sl_slice_of("wh_0123456789abcdefa")));
    char g[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name("wh_0123456789abcdef", g);
    CHECK(strcmp(g, "_wh.wh_0123456789abcdef") == 0);
    CHECK(sl_topic_valid(sl_slice_of(g)));
    sl_webhook_group_name(NULL, g); /* no id: the prefix alone (no memcpy from NULL) */
    CHECK(strcmp(g, "_wh.") == 0);
    CHECK(strcmp(sl_attempt_result_name(SL_ATTEMPT_DELIVERED), "delivered") == 0);
    CHECK(strcmp(sl_attempt_result_name(SL_ATTEMPT_RETRY), "retry") == 0);
    CHECK(strcmp(sl_attempt_result_name(SL_ATTEMPT_DEAD), "dead") == 0);
    CHECK(strcmp(sl_attempt_result_name(SL_ATTEMPT_DISABLED), "disabled") == 0);
    CHECK(strcmp(sl_attempt_result_name(SL_ATTEMPT_STALE), "stale") == 0);
}

/* ---- create / get / list / update / delete ---------------------------------------- */

static bool secret_well_formed(const char *s)
{
    if (strlen(s) != SL_WEBHOOK_SECRET_LEN || strncmp(s, "whsec_", 6) != 0)
        return false;
    uint8_t raw[64];
    size_t n = 0;
    return sl_base64_decode(sl_slice_of(s + 6), raw, sizeof raw, &n) == SL_OK && n == 32;
}

typedef struct ids {
    size_t n;
    char id[16][SL_WEBHOOK_ID_LEN + 1];
} ids;

static sl_err id_collect(void *ctx, const sl_webhook_view *v)
{
    ids *s = ctx;
    if (s->n == 16)
        return SL_ERR_TOO_LARGE;
    memcpy(s->id[s->n++], v->id, SL_WEBHOOK_ID_LEN + 1);
    return SL_OK;
}

static sl_err list(fixture *f, const char *after, size_t limit, ids *s, char *next)
{
    memset(s, 0, sizeof *s);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_webhook_list(&r, after, limit, T0, id_collect, s, next);
    sl_txn_abort(&r);
    return rc;
}

TEST(test_create_get_list)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(append(&f, "order.created", T0) == 1); /* before: not seen (start latest) */
    sl_webhook_config cfg;
    cfg_make(&cfg, "order.>");
    cfg.description = sl_slice_of("billing endpoint");
    cfg.nretry = 2;
    cfg.retry_ms[0] = 1000;
    cfg.retry_ms[1] = 5000;
    cfg.timeout_ms = 2000;
    cfg.max_in_flight = 7;
    cfg.rate_limit = 50;
    cfg.nheaders = 1;
    cfg.headers[0] = (sl_header){sl_slice_of("Authorization"), sl_slice_of("Bearer t")};
    char id[3][SL_WEBHOOK_ID_LEN + 1], secret[SL_WEBHOOK_SECRET_LEN + 1];
    REQUIRE(create(&f, &cfg, id[0], secret) == SL_OK);
    CHECK(sl_webhook_id_valid(sl_slice_of(id[0])));
    CHECK(secret_well_formed(secret));

    snap s;
    REQUIRE(get(&f, id[0], T0, &s) == SL_OK);
    CHECK(strcmp(s.id, id[0]) == 0);
    CHECK(strncmp(s.group, "_wh.", 4) == 0 && strcmp(s.group + 4, id[0]) == 0);
    CHECK(strcmp(s.name, "hook") == 0);
    CHECK(strcmp(s.url, URL) == 0);
    CHECK(s.active);
    CHECK(s.reason[0] == '\0');
    CHECK_EQ_U64(s.created_ms, T0);
    CHECK_EQ_U64(s.updated_ms, T0);
    CHECK_EQ_U64(s.nfilters, 1);
    CHECK(strcmp(s.filters[0], "order.>") == 0);
    CHECK_EQ_U64(s.nretry, 2);
    CHECK_EQ_U64(s.retry[1], 5000);
    CHECK_EQ_U64(s.timeout_ms, 2000);
    CHECK_EQ_U64(s.max_in_flight, 7);
    CHECK_EQ_U64(s.rate_limit, 50);
    CHECK_EQ_U64(s.disable_after, 5);
    CHECK_EQ_U64(s.nheaders, 1);
    CHECK(strcmp(s.hkey[0], "Authorization") == 0 && strcmp(s.hval[0], "Bearer t") == 0);
    CHECK_EQ_U64(s.nsecrets, 1);
    CHECK(strcmp(s.secrets[0], secret) == 0);
    CHECK_EQ_U64(s.expires[0], 0);
    CHECK_EQ_U64(s.consecutive, 0);

    /* the group underneath */
    sl_group_info gi;
    REQUIRE(group_info(&f, s.group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.config.nfilters, 2);
    CHECK(strcmp(gi.config.filters[0], "order.>") == 0);
    CHECK(strcmp(gi.config.filters[1], s.group) == 0); /* the test topic */
    CHECK(gi.config.start == SL_START_LATEST);
    CHECK_EQ_U64(gi.cursor, 2);
    CHECK_EQ_U64(gi.lag, 0);
    CHECK_EQ_U64(gi.config.ack_wait_ms, 2 * 2000 + 1000);
    CHECK_EQ_U64(gi.config.max_deliveries, 3 + 3); /* nretry + 1 + 3 unreported */
    CHECK_EQ_U64(gi.config.max_inflight, 7);
    CHECK_EQ_U64(gi.config.nbackoff, 2);
    CHECK_EQ_U64(gi.config.backoff_ms[0], 1000);
    CHECK_EQ_U64(gi.config.backoff_ms[1], 5000);

    /* an inactive one starts disabled ("manual") */
    cfg.active = false;
    REQUIRE(create(&f, &cfg, id[1], NULL) == SL_OK);
    REQUIRE(get(&f, id[1], T0, &s) == SL_OK);
    CHECK(!s.active);
    CHECK(strcmp(s.reason, "manual") == 0);
    CHECK_EQ_U64(s.disabled_ms, T0);
    cfg.active = true;
    REQUIRE(create(&f, &cfg, id[2], NULL) == SL_OK);
    CHECK(strcmp(id[0], id[1]) != 0 && strcmp(id[1], id[2]) != 0);

    /* list in id order, paged */
    ids page;
    char next[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(list(&f, NULL, 2, &page, next) == SL_OK);
    CHECK_EQ_U64(page.n, 2);
    CHECK(strcmp(page.id[0], page.id[1]) < 0);
    CHECK(strcmp(next, page.id[1]) == 0);
    char first[2][SL_WEBHOOK_ID_LEN + 1];
    memcpy(first, page.id, sizeof first);
    REQUIRE(list(&f, next, 2, &page, next) == SL_OK);
    CHECK_EQ_U64(page.n, 1);
    CHECK(strcmp(page.id[0], first[1]) > 0);
    CHECK(next[0] == '\0');
    REQUIRE(list(&f, "", 1000, &page, next) == SL_OK);
    CHECK_EQ_U64(page.n, 3);
    CHECK(next[0] == '\0');
    REQUIRE(list(&f, "wh_ffffffffffffffff", 10, &page, next) == SL_OK);
    CHECK_EQ_U64(page.n, 0);
    CHECK(list(&f, "bogus", 10, &page, next) == SL_ERR_INVALID);
    CHECK(list(&f, NULL, 0, &page, next) == SL_ERR_INVALID);

    /* unknown and malformed ids */
    CHECK(get(&f, "wh_0000000000000000", T0, &s) == SL_ERR_NOT_FOUND);
    CHECK(get(&f, "nope", T0, &s) == SL_ERR_NOT_FOUND);
    CHECK(on_id(&f, "wh_0000000000000000", 0, T0, 0) == SL_ERR_NOT_FOUND);

    /* everything survives a reopen */
    REQUIRE(fx_reopen(&f) == 0);
    REQUIRE(get(&f, id[0], T0, &s) == SL_OK);
    CHECK(strcmp(s.secrets[0], secret) == 0);
    CHECK(strcmp(s.hval[0], "Bearer t") == 0);
    fx_close(&f);
}

TEST(test_update_keeps_group_in_step)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_webhook_config cfg;
    cfg_make(&cfg, "order.>");
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create(&f, &cfg, id, NULL) == SL_OK);

    /* only the given fields change */
    sl_webhook_config upd;
    memset(&upd, 0, sizeof upd);
    upd.name = sl_slice_of("renamed");
    upd.url = sl_slice_of("ftp://ignored"); /* not given: not checked, not used */
    REQUIRE(update(&f, id, &upd, SL_WEBHOOK_GIVEN_NAME) == SL_OK);
    snap s;
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(strcmp(s.name, "renamed") == 0);
    CHECK(strcmp(s.url, URL) == 0);
    CHECK_EQ_U64(s.updated_ms, T0 + 5);
    CHECK_EQ_U64(s.created_ms, T0);
    CHECK_EQ_U64(s.nretry, 4);

    /* filters, schedule, timeout, in flight: the group follows */
    upd.nfilters = 2;
    upd.filters[0] = sl_slice_of("a.*");
    upd.filters[1] = sl_slice_of("b");
    upd.nretry = 1;
    upd.retry_ms[0] = 777;
    upd.timeout_ms = 100;
    upd.max_in_flight = 3;
    upd.disable_after = 0;
    upd.nheaders = 1;
    upd.headers[0] = (sl_header){sl_slice_of("X-A"), sl_slice_of("1")};
    unsigned given = SL_WEBHOOK_GIVEN_FILTERS | SL_WEBHOOK_GIVEN_RETRY |
                     SL_WEBHOOK_GIVEN_TIMEOUT | SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT |
                     SL_WEBHOOK_GIVEN_DISABLE_AFTER | SL_WEBHOOK_GIVEN_HEADERS;
    REQUIRE(update(&f, id, &upd, given) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(strcmp(s.name, "renamed") == 0);
    CHECK_EQ_U64(s.nfilters, 2);
    CHECK(strcmp(s.filters[1], "b") == 0);
    CHECK_EQ_U64(s.nretry, 1);
    CHECK_EQ_U64(s.disable_after, 0);
    CHECK_EQ_U64(s.nheaders, 1);
    sl_group_info gi;
    REQUIRE(group_info(&f, s.group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.config.nfilters, 3);
    CHECK(strcmp(gi.config.filters[0], "a.*") == 0);
    CHECK(strcmp(gi.config.filters[1], "b") == 0);
    CHECK(strcmp(gi.config.filters[2], s.group) == 0);
    CHECK_EQ_U64(gi.config.ack_wait_ms, 1200);
    CHECK_EQ_U64(gi.config.max_deliveries, 2 + 3);
    CHECK_EQ_U64(gi.config.max_inflight, 3);
    CHECK_EQ_U64(gi.config.nbackoff, 1);
    CHECK_EQ_U64(gi.config.backoff_ms[0], 777);

    /* an invalid merge changes nothing */
    upd.url = sl_slice_of("http://bad host/");
    CHECK(update(&f, id, &upd, SL_WEBHOOK_GIVEN_URL) == SL_ERR_INVALID);
    upd.nfilters = 0;
    CHECK(update(&f, id, &upd, SL_WEBHOOK_GIVEN_FILTERS) == SL_ERR_INVALID);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(strcmp(s.url, URL) == 0);
    CHECK_EQ_U64(s.nfilters, 2);

    /* active through update: manual disable, re-enable clears the reason */
    upd.active = false;
    REQUIRE(update(&f, id, &upd, SL_WEBHOOK_GIVEN_ACTIVE) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(!s.active);
    CHECK(strcmp(s.reason, "manual") == 0);
    CHECK_EQ_U64(s.disabled_ms, T0 + 5);
    upd.active = true;
    REQUIRE(update(&f, id, &upd, SL_WEBHOOK_GIVEN_ACTIVE) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(s.active);
    CHECK(s.reason[0] == '\0');
    CHECK_EQ_U64(s.disabled_ms, 0);

    /* enable / disable calls */
    REQUIRE(on_id(&f, id, 2, T0 + 9, 0) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(!s.active && strcmp(s.reason, "manual") == 0 && s.disabled_ms == T0 + 9);
    REQUIRE(on_id(&f, id, 1, T0 + 10, 0) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(s.active && s.reason[0] == '\0');
    CHECK(update(&f, "wh_0000000000000001", &upd, SL_WEBHOOK_GIVEN_NAME) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

TEST(test_delete_removes_everything)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[2][SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id[0]) == SL_OK);
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id[1]) == SL_OK);
    REQUIRE(append(&f, "order.created", T0) > 0);
    REQUIRE(append(&f, "order.created", T0) > 0);
    got g;
    for (int k = 0; k < 2; k++) {
        REQUIRE(pull_wh(&f, id[k], 10, T0, &g) == SL_OK);
        REQUIRE(g.n == 2);
        CHECK(report1(&f, id[k], g.token[0], 200, NULL, T0).result == SL_ATTEMPT_DELIVERED);
        CHECK(report1(&f, id[k], g.token[1], 500, NULL, T0).result == SL_ATTEMPT_DEAD);
    }
    uint64_t nentries, nstats;
    db_counts(&f, &nentries, &nstats);
    CHECK_EQ_U64(nentries, 4);
    CHECK_EQ_U64(nstats, 2);

    REQUIRE(on_id(&f, id[0], 0, T0, 0) == SL_OK);
    snap s;
    CHECK(get(&f, id[0], T0, &s) == SL_ERR_NOT_FOUND);
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id[0], group);
    sl_group_info gi;
    CHECK(group_info(&f, group, &gi) == SL_ERR_NOT_FOUND);
    db_counts(&f, &nentries, &nstats);
    CHECK_EQ_U64(nentries, 2); /* the other subscription's */
    CHECK_EQ_U64(nstats, 1);
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    CHECK(log_list(&f, id[0], &any, 0, 10, &e, &next) == SL_ERR_NOT_FOUND);
    REQUIRE(log_list(&f, id[1], &any, 0, 10, &e, &next) == SL_OK);
    CHECK_EQ_U64(e.n, 2);
    CHECK(on_id(&f, id[0], 0, T0, 0) == SL_ERR_NOT_FOUND);
    sl_webhook_stats st;
    CHECK(stats(&f, id[0], &st) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

/* ---- secrets ---------------------------------------------------------------------- */

TEST(test_secrets_rotate)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_webhook_config cfg;
    cfg_make(&cfg, NULL);
    char id[SL_WEBHOOK_ID_LEN + 1], s0[SL_WEBHOOK_SECRET_LEN + 1], s1[SL_WEBHOOK_SECRET_LEN + 1];
    REQUIRE(create(&f, &cfg, id, s0) == SL_OK);

    /* the old one keeps signing until the overlap ends */
    REQUIRE(rotate(&f, id, 1000, T0 + 10, s1) == SL_OK);
    CHECK(secret_well_formed(s1));
    CHECK(strcmp(s0, s1) != 0);
    snap s;
    REQUIRE(get(&f, id, T0 + 10, &s) == SL_OK);
    REQUIRE(s.nsecrets == 2);
    CHECK(strcmp(s.secrets[0], s1) == 0 && s.expires[0] == 0);
    CHECK(strcmp(s.secrets[1], s0) == 0 && s.expires[1] == T0 + 1010);
    CHECK_EQ_U64(s.updated_ms, T0 + 10);
    REQUIRE(get(&f, id, T0 + 1009, &s) == SL_OK);
    CHECK_EQ_U64(s.nsecrets, 2);
    REQUIRE(get(&f, id, T0 + 1010, &s) == SL_OK); /* expired: left out of the view */
    CHECK_EQ_U64(s.nsecrets, 1);
    CHECK(strcmp(s.secrets[0], s1) == 0);

    /* a rotation after the end drops the expired one from the record */
    char s2[SL_WEBHOOK_SECRET_LEN + 1];
    REQUIRE(rotate(&f, id, 0, T0 + 2000, s2) == SL_OK); /* no overlap: s1 stops now */
    REQUIRE(get(&f, id, 0, &s) == SL_OK); /* now 0: nothing expired in the view */
    CHECK_EQ_U64(s.nsecrets, 1);
    CHECK(strcmp(s.secrets[0], s2) == 0);

    /* at most SL_WEBHOOK_SECRETS_MAX: the oldest go */
    char last[SL_WEBHOOK_SECRET_LEN + 1];
    for (int i = 0; i < 6; i++)
        REQUIRE(rotate(&f, id, 86400000, T0 + 3000 + (uint64_t)i, last) == SL_OK);
    REQUIRE(get(&f, id, T0 + 4000, &s) == SL_OK);
    CHECK_EQ_U64(s.nsecrets, SL_WEBHOOK_SECRETS_MAX);
    CHECK(strcmp(s.secrets[0], last) == 0 && s.expires[0] == 0);
    for (uint32_t i = 1; i < s.nsecrets; i++) {
        CHECK(s.expires[i] == T0 + 3000 + 6 - i + 86400000);
        CHECK(strcmp(s.secrets[i], s.secrets[i - 1]) != 0);
    }
    CHECK(rotate(&f, id, 2592000001ull, T0, NULL) == SL_ERR_INVALID);
    CHECK(rotate(&f, "wh_0000000000000000", 0, T0, NULL) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

/* ---- reserved topics --------------------------------------------------------------- */

TEST(test_reserved_topics)
{
    static const struct {
        const char *f, *t;
        bool match;
    } cases[] = {
        {">", "_wh.x", false},        {"*.x", "_wh.x", false},
        {"*", "_wh", false},          {"*.>", "_wh.x", false},
        {"_wh.>", "_wh.x", true},     {"_wh.*", "_wh.x", true},
        {"_wh.x", "_wh.x", true},     {">", "a_b", true},
        {"a.>", "a._x", true},        {"a.*", "a._x", true},
        {">", "order.created", true}, {"*.created", "order.created", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool m = sl_filter_match(sl_slice_of(cases[i].f), sl_slice_of(cases[i].t));
        if (m != cases[i].match) {
            fprintf(stderr, "  case \"%s\" ~ \"%s\"\n", cases[i].f, cases[i].t);
            CHECK(false);
        }
    }
    CHECK(sl_topic_reserved(sl_slice_of("_wh.x")));
    CHECK(!sl_topic_reserved(sl_slice_of("wh._x")));
    CHECK(sl_topic_valid(sl_slice_of("_wh.wh_0123456789abcdef")));

    /* a ">" group does not get test events; the webhook group does */
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_group_config gc;
    sl_group_config_default(&gc);
    snprintf(gc.name, sizeof gc.name, "everything");
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    REQUIRE(sl_group_create(&w, &gc, T0) == SL_OK);
    REQUIRE(sl_txn_commit(&w) == SL_OK);
    char id[SL_WEBHOOK_ID_LEN + 1], topic[SL_GROUP_NAME_MAX + 1];
    REQUIRE(create_simple(&f, ">", 0, NULL, 5, id) == SL_OK);
    sl_webhook_group_name(id, topic);
    uint64_t test_seq = append(&f, topic, T0);
    uint64_t order_seq = append(&f, "order.created", T0);
    REQUIRE(test_seq && order_seq);
    got g;
    REQUIRE(pull(&f, "everything", 10, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], order_seq);
    REQUIRE(pull_wh(&f, id, 10, T0, &g) == SL_OK);
    REQUIRE(g.n == 2);
    CHECK_EQ_U64(g.seq[0], test_seq);
    CHECK(strcmp(g.topic[0], topic) == 0);
    CHECK_EQ_U64(g.seq[1], order_seq);

    /* another subscription does not see this one's test topic */
    char other[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, ">", 0, NULL, 5, other) == SL_OK);
    REQUIRE(append(&f, topic, T0) > 0);
    REQUIRE(pull_wh(&f, other, 10, T0, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    fx_close(&f);
}

/* ---- reports ------------------------------------------------------------------------ */

TEST(test_report_success_acks)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000};
    REQUIRE(create_simple(&f, "order.>", 1, sched, 5, id) == SL_OK);
    uint64_t seq = append(&f, "order.created", T0);
    got g;
    REQUIRE(pull_wh(&f, id, 10, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    char token[SL_TOKEN_LEN + 1];
    memcpy(token, g.token[0], sizeof token);
    sl_webhook_attempt a = attempt_of(token, 204, NULL, T0 + 1);
    a.latency_us = 12345;
    sl_webhook_outcome o;
    REQUIRE(report(&f, id, &a, 1, T0 + 2, &o) == SL_OK);
    CHECK(o.result == SL_ATTEMPT_DELIVERED);
    CHECK_EQ_U64(o.attempt, 1);
    CHECK_EQ_U64(o.retry_at_ms, 0);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 1);
    CHECK_EQ_U64(st.successes, 1);
    CHECK_EQ_U64(st.failures, 0);
    CHECK_EQ_U64(st.last_status, 204);
    CHECK(st.last_error[0] == '\0');
    CHECK_EQ_U64(st.last_attempt_ms, T0 + 1);
    CHECK_EQ_U64(st.last_success_ms, T0 + 1);
    CHECK_EQ_U64(st.backlog, 0);
    CHECK(st.latency_p50_us > 12345 && st.latency_p50_us <= 12345 * 1.19 + 1);
    snap s;
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    sl_group_info gi;
    REQUIRE(group_info(&f, s.group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.in_flight, 0);
    REQUIRE(pull_wh(&f, id, 10, T0 + 100000, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    /* the same token again: stale, still logged */
    o = report1(&f, id, s.group /* not a token */, 200, NULL, T0 + 3);
    CHECK(o.result == SL_ATTEMPT_STALE && o.attempt == 0);
    a.sent_ms = 0; /* defaults to now */
    REQUIRE(report(&f, id, &a, 1, T0 + 4, &o) == SL_OK);
    CHECK(o.result == SL_ATTEMPT_STALE);
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 3);
    CHECK_EQ_U64(st.last_attempt_ms, T0 + 4);
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    REQUIRE(log_list(&f, id, &any, 0, 10, &e, &next) == SL_OK);
    REQUIRE(e.n == 3);
    CHECK(e.result[2] == SL_ATTEMPT_DELIVERED && e.seq[2] == seq && e.attempt[2] == 1);
    CHECK(strcmp(e.topic[2], "order.created") == 0);
    CHECK(strcmp(e.body[2], "ok body") == 0);
    CHECK(e.result[1] == SL_ATTEMPT_STALE && e.seq[1] == 0 && e.topic[1][0] == '\0');
    CHECK(e.result[0] == SL_ATTEMPT_STALE && e.seq[0] == seq && e.attempt[0] == 0);
    CHECK(strcmp(e.topic[0], "order.created") == 0);
    CHECK_EQ_U64(next, 0);

    /* bad calls */
    CHECK(report(&f, "wh_0000000000000000", &a, 1, T0, &o) == SL_ERR_NOT_FOUND);
    CHECK(report(&f, id, &a, 0, T0, &o) == SL_ERR_INVALID);
    CHECK(report(&f, id, &a, SL_SETTLE_BATCH_MAX + 1, T0, &o) == SL_ERR_TOO_LARGE);
    fx_close(&f);
}

TEST(test_report_failure_retries_with_jitter)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {10000, 60000};
    REQUIRE(create_simple(&f, "order.>", 2, sched, 5, id) == SL_OK);
    enum { N = 16 }; /* the default max in flight */
    for (int i = 0; i < N; i++)
        REQUIRE(append(&f, "order.created", T0) > 0);
    got g;
    REQUIRE(pull_wh(&f, id, N, T0, &g) == SL_OK);
    REQUIRE(g.n == N);
    static sl_webhook_attempt a[N];
    static sl_webhook_outcome o[N];
    for (int i = 0; i < N; i++)
        a[i] = attempt_of(g.token[i], 500, NULL, T0);
    REQUIRE(report(&f, id, a, N, T0, o) == SL_OK);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        CHECK(o[i].result == SL_ATTEMPT_RETRY);
        CHECK_EQ_U64(o[i].attempt, 1);
        CHECK(o[i].retry_at_ms >= T0 + 9000 && o[i].retry_at_ms <= T0 + 11000);
        lo = o[i].retry_at_ms < lo ? o[i].retry_at_ms : lo;
        hi = o[i].retry_at_ms > hi ? o[i].retry_at_ms : hi;
    }
    CHECK(hi - lo > 1000); /* spread, not one delay for all */
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.waiting, N);
    CHECK_EQ_U64(st.backlog, N);
    CHECK_EQ_U64(st.failures, N);
    CHECK_EQ_U64(st.last_status, 500);

    /* each comes back when its retry is due, as attempt 2 */
    REQUIRE(pull_wh(&f, id, N, lo - 1, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    REQUIRE(pull_wh(&f, id, N, lo, &g) == SL_OK);
    CHECK(g.n >= 1);
    REQUIRE(pull_wh(&f, id, N, hi, &g) == SL_OK);
    got g2;
    REQUIRE(pull_wh(&f, id, N, hi, &g2) == SL_OK);
    CHECK_EQ_U64(g2.n, 0);
    REQUIRE(g.n >= 1);
    CHECK_EQ_U64(g.attempt[0], 2);

    /* attempt 2 fails with Retry-After: at least that long, else 60 s +-10% */
    sl_webhook_attempt b = attempt_of(g.token[0], 503, NULL, hi);
    b.retry_after_ms = 3600000;
    sl_webhook_outcome ob;
    REQUIRE(report(&f, id, &b, 1, hi, &ob) == SL_OK);
    CHECK(ob.result == SL_ATTEMPT_RETRY);
    CHECK_EQ_U64(ob.attempt, 2);
    CHECK_EQ_U64(ob.retry_at_ms, hi + 3600000);
    if (g.n >= 2) {
        b = attempt_of(g.token[1], 503, NULL, hi);
        b.retry_after_ms = 100; /* shorter than the schedule: the schedule wins */
        REQUIRE(report(&f, id, &b, 1, hi, &ob) == SL_OK);
        CHECK(ob.retry_at_ms >= hi + 54000 && ob.retry_at_ms <= hi + 66000);
    }
    fx_close(&f);
}

/* Fail every attempt of one new event until it is dead; returns the last
 * outcome. */
static sl_webhook_outcome fail_to_death(fixture *f, const char *id, const char *topic,
                                        uint64_t *now, const char *error)
{
    sl_webhook_outcome o = {.result = (sl_attempt_result)99};
    if (append(f, topic, *now) == 0)
        return o;
    for (int i = 0; i < 20; i++) {
        got g;
        *now += 4000000; /* past any retry of the tests' schedules */
        if (pull_wh(f, id, 1, *now, &g) != SL_OK || g.n != 1)
            return o;
        o = report1(f, id, g.token[0], error ? 0 : 500, error, *now);
        if (o.result != SL_ATTEMPT_RETRY)
            return o;
    }
    return o;
}

typedef struct dl_seen {
    size_t n;
    uint64_t seq[8];
    uint32_t attempts[8];
    char reason[8][64];
} dl_seen;

static sl_err dl_collect(void *ctx, const sl_dead_letter *dl)
{
    dl_seen *s = ctx;
    if (s->n == 8)
        return SL_ERR_TOO_LARGE;
    s->seq[s->n] = dl->seq;
    s->attempts[s->n] = dl->attempts;
    copy_str(s->reason[s->n], sizeof s->reason[0], dl->reason);
    s->n++;
    return SL_OK;
}

static sl_err dead_letters(fixture *f, const char *id, dl_seen *s)
{
    memset(s, 0, sizeof *s);
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id, group);
    sl_txn r;
    uint64_t next;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_dlq_list(&r, group, 0, 8, dl_collect, s, &next);
    sl_txn_abort(&r);
    return rc;
}

TEST(test_attempts_past_schedule_go_to_dlq)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000, 2000};
    REQUIRE(create_simple(&f, "order.>", 2, sched, 5, id) == SL_OK);
    uint64_t now = T0;
    sl_webhook_outcome o = fail_to_death(&f, id, "order.created", &now, NULL);
    CHECK(o.result == SL_ATTEMPT_DEAD);
    CHECK_EQ_U64(o.attempt, 3);
    o = fail_to_death(&f, id, "order.created", &now, "timeout");
    CHECK(o.result == SL_ATTEMPT_DEAD);
    dl_seen d;
    REQUIRE(dead_letters(&f, id, &d) == SL_OK);
    REQUIRE(d.n == 2);
    CHECK(strcmp(d.reason[0], "HTTP 500") == 0);
    CHECK_EQ_U64(d.attempts[0], 3);
    CHECK(strcmp(d.reason[1], "timeout") == 0);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.dead, 2);
    CHECK_EQ_U64(st.attempts, 6);
    CHECK_EQ_U64(st.failures, 6);
    CHECK_EQ_U64(st.dlq_size, 2);
    CHECK_EQ_U64(st.backlog, 0);
    CHECK(strcmp(st.last_error, "timeout") == 0);
    CHECK_EQ_U64(st.last_status, 0);
    snap s;
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK_EQ_U64(s.consecutive, 2);
    CHECK(s.active);
    fx_close(&f);
}

TEST(test_disable_after_consecutive_dead_events)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 3, id) == SL_OK);
    uint64_t now = T0;
    /* dead, dead, success (resets), dead, dead: still active */
    CHECK(fail_to_death(&f, id, "order.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    CHECK(fail_to_death(&f, id, "order.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    snap s;
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK_EQ_U64(s.consecutive, 2);
    REQUIRE(append(&f, "order.ok", now) > 0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, now, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK(report1(&f, id, g.token[0], 200, NULL, now).result == SL_ATTEMPT_DELIVERED);
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK_EQ_U64(s.consecutive, 0);
    CHECK(fail_to_death(&f, id, "order.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    CHECK(fail_to_death(&f, id, "order.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK(s.active);
    /* the third in a row disables: "failing" */
    CHECK(fail_to_death(&f, id, "order.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK(!s.active);
    CHECK(strcmp(s.reason, "failing") == 0);
    CHECK_EQ_U64(s.disabled_ms, now);
    CHECK_EQ_U64(s.consecutive, 3);
    /* reset: count cleared, enabled */
    REQUIRE(on_id(&f, id, 3, now + 1, 0) == SL_OK);
    REQUIRE(get(&f, id, now, &s) == SL_OK);
    CHECK(s.active);
    CHECK(s.reason[0] == '\0');
    CHECK_EQ_U64(s.consecutive, 0);

    /* disable_after 0: never */
    char never[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "other.>", 0, NULL, 0, never) == SL_OK);
    for (int i = 0; i < 4; i++)
        CHECK(fail_to_death(&f, never, "other.a", &now, NULL).result == SL_ATTEMPT_DEAD);
    REQUIRE(get(&f, never, now, &s) == SL_OK);
    CHECK(s.active);
    CHECK_EQ_U64(s.consecutive, 4);
    fx_close(&f);
}

TEST(test_gone_disables_and_event_waits)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000};
    REQUIRE(create_simple(&f, "order.>", 1, sched, 5, id) == SL_OK);
    uint64_t seq = append(&f, "order.created", T0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    sl_webhook_outcome o = report1(&f, id, g.token[0], 410, NULL, T0 + 1);
    CHECK(o.result == SL_ATTEMPT_DISABLED);
    CHECK_EQ_U64(o.attempt, 1);
    snap s;
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(!s.active);
    CHECK(strcmp(s.reason, "gone") == 0);
    CHECK_EQ_U64(s.disabled_ms, T0 + 1);
    CHECK_EQ_U64(s.consecutive, 0);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.waiting, 1);
    CHECK_EQ_U64(st.dead, 0);
    CHECK_EQ_U64(st.dlq_size, 0);
    /* enabled again, the bridge pulls: the event comes back */
    REQUIRE(on_id(&f, id, 1, T0 + 5, 0) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(s.active && s.reason[0] == '\0');
    REQUIRE(pull_wh(&f, id, 1, T0 + 5, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], seq);
    CHECK_EQ_U64(g.attempt[0], 2);
    CHECK(report1(&f, id, g.token[0], 200, NULL, T0 + 6).result == SL_ATTEMPT_DELIVERED);
    fx_close(&f);
}

TEST(test_stale_token_is_logged)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000, 1000};
    REQUIRE(create_simple(&f, "order.>", 2, sched, 5, id) == SL_OK);
    uint64_t seq = append(&f, "order.created", T0);
    got g1, g2;
    REQUIRE(pull_wh(&f, id, 1, T0, &g1) == SL_OK);
    REQUIRE(g1.n == 1);
    /* the lease (3 s) ends unsettled; the event is delivered again */
    REQUIRE(pull_wh(&f, id, 1, T0 + 10000, &g2) == SL_OK);
    REQUIRE(g2.n == 1);
    CHECK_EQ_U64(g2.attempt[0], 2);
    sl_webhook_outcome o = report1(&f, id, g1.token[0], 200, NULL, T0 + 10001);
    CHECK(o.result == SL_ATTEMPT_STALE);
    CHECK_EQ_U64(o.attempt, 0);
    o = report1(&f, id, g2.token[0], 200, NULL, T0 + 10002);
    CHECK(o.result == SL_ATTEMPT_DELIVERED);
    CHECK_EQ_U64(o.attempt, 2);
    /* a token of another group is not ours */
    char other[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, other) == SL_OK);
    REQUIRE(append(&f, "order.created", T0 + 20000) > 0);
    got go;
    REQUIRE(pull_wh(&f, other, 1, T0 + 20000, &go) == SL_OK);
    REQUIRE(go.n == 1);
    o = report1(&f, id, go.token[0], 200, NULL, T0 + 20001);
    CHECK(o.result == SL_ATTEMPT_STALE);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 3);
    CHECK_EQ_U64(st.successes, 3);
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    REQUIRE(log_list(&f, id, &any, 0, 10, &e, &next) == SL_OK);
    REQUIRE(e.n == 3);
    CHECK(e.result[0] == SL_ATTEMPT_STALE && e.seq[0] == 0);
    CHECK(e.result[1] == SL_ATTEMPT_DELIVERED && e.seq[1] == seq);
    CHECK(e.result[2] == SL_ATTEMPT_STALE && e.seq[2] == seq);
    /* a 410 disables even when its token is stale */
    o = report1(&f, id, g1.token[0], 410, NULL, T0 + 30000);
    CHECK(o.result == SL_ATTEMPT_STALE);
    snap s;
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK(!s.active && strcmp(s.reason, "gone") == 0);
    fx_close(&f);
}

TEST(test_unreported_deliveries_come_back)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id) == SL_OK); /* no retries */
    /* a lease that ends unreported (bridge crash) is delivered again, not
     * dead-lettered, though the schedule is empty */
    uint64_t seq = append(&f, "order.created", T0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    REQUIRE(pull_wh(&f, id, 1, T0 + 10000, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], seq);
    CHECK_EQ_U64(g.attempt[0], 2);
    CHECK(report1(&f, id, g.token[0], 200, NULL, T0 + 10001).result == SL_ATTEMPT_DELIVERED);
    /* a failure reported past the schedule is dead at once */
    REQUIRE(append(&f, "order.created", T0) > 0);
    REQUIRE(pull_wh(&f, id, 1, T0 + 20000, &g) == SL_OK);
    REQUIRE(pull_wh(&f, id, 1, T0 + 30000, &g) == SL_OK);
    REQUIRE(g.n == 1 && g.attempt[0] == 2);
    CHECK(report1(&f, id, g.token[0], 500, NULL, T0 + 30001).result == SL_ATTEMPT_DEAD);
    /* but never reported at all, it ends in the DLQ after a bounded number */
    REQUIRE(append(&f, "order.created", T0) > 0);
    uint64_t now = T0 + 40000;
    size_t deliveries = 0;
    for (int i = 0; i < 10; i++, now += 10000) {
        REQUIRE(pull_wh(&f, id, 1, now, &g) == SL_OK);
        deliveries += g.n;
    }
    CHECK_EQ_U64(deliveries, 4);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.dlq_size, 2);
    CHECK_EQ_U64(st.backlog, 0);
    fx_close(&f);
}

TEST(test_stats_latency_and_backlog)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id) == SL_OK);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 0);
    CHECK_EQ_U64(st.latency_p50_us, 0);
    CHECK_EQ_U64(st.latency_p99_us, 0);
    CHECK_EQ_U64(st.last_attempt_ms, 0);
    /* 90 fast, 10 slow (stale tokens count as attempts too) */
    static sl_webhook_attempt a[100];
    static sl_webhook_outcome o[100];
    for (int i = 0; i < 100; i++) {
        a[i] = attempt_of("x", 200, NULL, T0);
        a[i].latency_us = i < 90 ? 2100 : 450000;
    }
    REQUIRE(report(&f, id, a, 100, T0, o) == SL_OK);
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 100);
    CHECK(st.latency_p50_us > 2100 && st.latency_p50_us <= 2100 * 1.19 + 1);
    CHECK(st.latency_p99_us > 450000 && st.latency_p99_us <= 450000 * 1.19 + 1);
    /* the very slow and the very fast land in the end buckets */
    a[0].latency_us = 0;
    a[1].latency_us = UINT64_MAX;
    REQUIRE(report(&f, id, a, 2, T0, o) == SL_OK);
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK(st.latency_p50_us > 2100 && st.latency_p50_us <= 2100 * 1.19 + 1);
    /* backlog = lag + in flight + waiting */
    for (int i = 0; i < 3; i++)
        REQUIRE(append(&f, "order.created", T0) > 0);
    REQUIRE(append(&f, "ignored", T0) > 0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.in_flight, 1);
    CHECK_EQ_U64(st.backlog, 3);
    fx_close(&f);
}

/* ---- the delivery log --------------------------------------------------------------- */

TEST(test_delivery_log_filters_and_paging)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000, 1000, 1000};
    REQUIRE(create_simple(&f, "order.>", 3, sched, 5, id) == SL_OK);
    uint64_t s1 = append(&f, "order.one", T0);
    uint64_t s2 = append(&f, "order.two", T0);
    got g;
    REQUIRE(pull_wh(&f, id, 2, T0, &g) == SL_OK);
    REQUIRE(g.n == 2);
    /* s1: 500 at T0+10, then 200 later; s2: 404 at T0+20, timeout at T0+5020 */
    sl_webhook_attempt a[2] = {attempt_of(g.token[0], 500, NULL, T0 + 10),
                               attempt_of(g.token[1], 404, NULL, T0 + 20)};
    sl_webhook_outcome o[2];
    REQUIRE(report(&f, id, a, 2, T0 + 30, o) == SL_OK);
    REQUIRE(pull_wh(&f, id, 2, T0 + 5000, &g) == SL_OK);
    REQUIRE(g.n == 2);
    REQUIRE(g.seq[0] == s1 || g.seq[1] == s1);
    int i1 = g.seq[0] == s1 ? 0 : 1;
    a[0] = attempt_of(g.token[i1], 200, NULL, T0 + 5010);
    a[1] = attempt_of(g.token[1 - i1], 0, "timeout", T0 + 5020);
    REQUIRE(report(&f, id, a, 2, T0 + 5030, o) == SL_OK);

    entries e;
    uint64_t next;
    sl_delivery_filter flt = {0};
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    REQUIRE(e.n == 4);
    CHECK_EQ_U64(next, 0);
    for (size_t i = 1; i < e.n; i++)
        CHECK(e.entry[i] < e.entry[i - 1]); /* newest first */
    CHECK(e.seq[0] == s2 && strcmp(e.error[0], "timeout") == 0 && e.status[0] == 0);
    CHECK(e.result[0] == SL_ATTEMPT_RETRY && e.attempt[0] == 2);
    CHECK(e.seq[1] == s1 && e.status[1] == 200 && e.result[1] == SL_ATTEMPT_DELIVERED);
    CHECK(strcmp(e.topic[1], "order.one") == 0);
    CHECK(e.seq[3] == s1 && e.status[3] == 500 && e.time[3] == T0 + 10);
    CHECK(strcmp(e.topic[2], "order.two") == 0);

    flt.status = SL_DELIVERY_SUCCEEDED;
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    CHECK(e.n == 1 && e.status[0] == 200);
    flt.status = SL_DELIVERY_FAILED;
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    CHECK_EQ_U64(e.n, 3);
    flt = (sl_delivery_filter){.http_status = 404};
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    CHECK(e.n == 1 && e.seq[0] == s2);
    flt = (sl_delivery_filter){.since_ms = T0 + 20, .until_ms = T0 + 5020};
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    CHECK(e.n == 2 && e.time[0] == T0 + 5010 && e.time[1] == T0 + 20);
    flt = (sl_delivery_filter){.seq = s1};
    REQUIRE(log_list(&f, id, &flt, 0, 100, &e, &next) == SL_OK);
    CHECK(e.n == 2 && e.seq[0] == s1 && e.seq[1] == s1);

    /* paging: limit 1, then follow the cursor */
    flt = (sl_delivery_filter){0};
    uint64_t before = 0, seen[8];
    size_t pages = 0, total = 0;
    do {
        REQUIRE(log_list(&f, id, &flt, before, 1, &e, &next) == SL_OK);
        REQUIRE(e.n <= 1 && total < 8);
        if (e.n)
            seen[total++] = e.entry[0];
        before = next;
        pages++;
    } while (next && pages < 10);
    CHECK_EQ_U64(total, 4);
    for (size_t i = 1; i < total; i++)
        CHECK(seen[i] < seen[i - 1]);
    /* a filtered page stops where the next match starts */
    flt.status = SL_DELIVERY_FAILED;
    REQUIRE(log_list(&f, id, &flt, 0, 1, &e, &next) == SL_OK);
    REQUIRE(e.n == 1);
    CHECK(next != 0 && next < e.entry[0]); /* below the success that followed it */
    REQUIRE(log_list(&f, id, &flt, next, 1, &e, &next) == SL_OK);
    REQUIRE(e.n == 1);
    CHECK(e.status[0] == 404);
    CHECK(next != 0);
    REQUIRE(log_list(&f, id, &flt, next, 1, &e, &next) == SL_OK);
    CHECK(e.n == 1 && e.status[0] == 500);
    CHECK_EQ_U64(next, 0);

    CHECK(log_list(&f, id, &flt, 0, 0, &e, &next) == SL_ERR_INVALID);
    CHECK(log_list(&f, id, &flt, 0, SL_DELIVERY_PAGE_MAX + 1, &e, &next) == SL_ERR_INVALID);
    CHECK(log_list(&f, "wh_0000000000000000", &flt, 0, 1, &e, &next) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

TEST(test_delivery_log_keeps_the_newest)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[2][SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id[0]) == SL_OK);
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 5, id[1]) == SL_OK);
    static sl_webhook_attempt a[SL_SETTLE_BATCH_MAX];
    static sl_webhook_outcome o[SL_SETTLE_BATCH_MAX];
    for (size_t i = 0; i < SL_SETTLE_BATCH_MAX; i++)
        a[i] = attempt_of("x", 500, NULL, T0 + i);
    REQUIRE(report(&f, id[1], a, 3, T0, o) == SL_OK); /* the other one's */
    size_t rounds = SL_DELIVERY_LOG_KEEP / SL_SETTLE_BATCH_MAX + 2;
    for (size_t r = 0; r < rounds; r++)
        REQUIRE(report(&f, id[0], a, SL_SETTLE_BATCH_MAX, T0, o) == SL_OK);
    uint64_t nentries, nstats;
    db_counts(&f, &nentries, &nstats);
    CHECK_EQ_U64(nentries, SL_DELIVERY_LOG_KEEP + 3);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id[0], &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, rounds * SL_SETTLE_BATCH_MAX);
    /* the newest are kept: walk every page */
    entries *e = malloc(sizeof *e);
    REQUIRE(e != NULL);
    sl_delivery_filter any = {0};
    uint64_t before = 0, next, count = 0, newest = 0, oldest = 0;
    do {
        REQUIRE(log_list(&f, id[0], &any, before, SL_DELIVERY_PAGE_MAX, e, &next) == SL_OK);
        if (e->n) {
            newest = newest ? newest : e->entry[0];
            oldest = e->entry[e->n - 1];
        }
        count += e->n;
        before = next;
    } while (next);
    CHECK_EQ_U64(count, SL_DELIVERY_LOG_KEEP);
    CHECK_EQ_U64(newest - oldest + 1, SL_DELIVERY_LOG_KEEP);
    REQUIRE(log_list(&f, id[1], &any, 0, 10, e, &next) == SL_OK);
    CHECK_EQ_U64(e->n, 3); /* untouched */
    /* a filter that matches little looks at no more than 100 x limit */
    sl_delivery_filter none = {.http_status = 299};
    REQUIRE(log_list(&f, id[0], &none, 0, 10, e, &next) == SL_OK);
    CHECK_EQ_U64(e->n, 0);
    CHECK(next != 0 && newest - next + 1 == 1000);
    free(e);
    fx_close(&f);
}

/* ---- retry ---------------------------------------------------------------------------- */

TEST(test_retry_now)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {3600000};
    REQUIRE(create_simple(&f, "order.>", 1, sched, 5, id) == SL_OK);
    uint64_t now = T0;

    /* a dead letter is replayed and can be pulled again, as attempt 1 */
    CHECK(fail_to_death(&f, id, "order.created", &now, NULL).result == SL_ATTEMPT_DEAD);
    dl_seen d;
    REQUIRE(dead_letters(&f, id, &d) == SL_OK);
    REQUIRE(d.n == 1);
    uint64_t dead_seq = d.seq[0];
    REQUIRE(on_id(&f, id, 5, now, dead_seq) == SL_OK);
    REQUIRE(dead_letters(&f, id, &d) == SL_OK);
    CHECK_EQ_U64(d.n, 0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, now, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], dead_seq);
    CHECK_EQ_U64(g.attempt[0], 1);

    /* a waiting event (retry in an hour) becomes due now */
    sl_webhook_outcome o = report1(&f, id, g.token[0], 500, NULL, now);
    REQUIRE(o.result == SL_ATTEMPT_RETRY);
    REQUIRE(pull_wh(&f, id, 1, now + 1, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    REQUIRE(on_id(&f, id, 5, now + 1, dead_seq) == SL_OK);
    REQUIRE(pull_wh(&f, id, 1, now + 1, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], dead_seq);
    CHECK_EQ_U64(g.attempt[0], 2);

    /* in flight, delivered or unknown: not found */
    CHECK(on_id(&f, id, 5, now + 2, dead_seq) == SL_ERR_NOT_FOUND);
    CHECK(report1(&f, id, g.token[0], 200, NULL, now + 2).result == SL_ATTEMPT_DELIVERED);
    CHECK(on_id(&f, id, 5, now + 3, dead_seq) == SL_ERR_NOT_FOUND);
    CHECK(on_id(&f, id, 5, now + 3, 999999) == SL_ERR_NOT_FOUND);
    CHECK(on_id(&f, "wh_0000000000000000", 5, now, dead_seq) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

/* ---- review regressions ------------------------------------------------------------ */

/* Raw access to one database, for records the API cannot make. */
static sl_err raw_put(fixture *f, sl_db db, const void *key, size_t klen, const void *val,
                      size_t vlen)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(w.txn, sl_dbi(&w, db), &k, &v, 0);
    if (mrc != 0) {
        sl_txn_abort(&w);
        return sl_err_from_mdb(mrc);
    }
    return sl_txn_commit(&w);
}

/* Copy the raw value of key in db into buf (cap bytes); *len its size. */
static sl_err raw_get(fixture *f, sl_db db, const void *key, size_t klen, uint8_t *buf,
                      size_t cap, size_t *len)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, v;
    int mrc = mdb_get(r.txn, sl_dbi(&r, db), &k, &v);
    rc = mrc ? sl_err_from_mdb(mrc) : v.mv_size > cap ? SL_ERR_TOO_LARGE : SL_OK;
    if (rc == SL_OK) {
        memcpy(buf, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    sl_txn_abort(&r);
    return rc;
}

static uint64_t key_of(const char *id)
{
    uint64_t key = 0;
    sl_webhook_key_parse(sl_slice_of(id), &key);
    return key;
}

static sl_err stats_rec_get(fixture *f, const char *id, sl_webhook_stats_rec *s)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_webhook_stats_get(&r, key_of(id), s);
    sl_txn_abort(&r);
    return rc;
}

typedef struct stats_put_args {
    uint64_t key;
    const sl_webhook_stats_rec *s;
} stats_put_args;

static sl_err stats_put_op(sl_txn *w, void *ctx)
{
    stats_put_args *a = ctx;
    return sl_webhook_stats_put(w, a->key, a->s);
}

static sl_err stats_rec_put(fixture *f, const char *id, const sl_webhook_stats_rec *s)
{
    stats_put_args a = {key_of(id), s};
    return in_write(f, stats_put_op, &a);
}

/* One report call settles many attempts through one group record: the
 * outcomes and the group's counters are those of settling them one by one. */
TEST(test_report_batch_outcomes_and_counters)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000};
    REQUIRE(create_simple(&f, "order.>", 1, sched, 0, id) == SL_OK);
    uint64_t seq[5];
    for (int i = 0; i < 5; i++)
        REQUIRE((seq[i] = append(&f, "order.created", T0)) > 0);
    got g1;
    REQUIRE(pull_wh(&f, id, 5, T0, &g1) == SL_OK);
    REQUIRE(g1.n == 5);
    /* bring event 4 to attempt 2 (past the schedule of one retry) */
    REQUIRE(report1(&f, id, g1.token[4], 500, NULL, T0 + 1).result == SL_ATTEMPT_RETRY);
    got g2;
    REQUIRE(pull_wh(&f, id, 5, T0 + 1200, &g2) == SL_OK); /* the others' leases: 3 s */
    REQUIRE(g2.n == 1 && g2.seq[0] == seq[4] && g2.attempt[0] == 2);

    sl_webhook_attempt a[8] = {
        attempt_of(g1.token[0], 200, NULL, T0 + 10),    /* delivered */
        attempt_of(g1.token[1], 500, NULL, T0 + 11),    /* retry */
        attempt_of(g1.token[0], 200, NULL, T0 + 12),    /* the same token again: stale */
        attempt_of(g2.token[0], 0, "timeout", T0 + 13), /* attempt 2 > nretry: dead */
        attempt_of(g2.token[0], 500, NULL, T0 + 14),    /* dead already: stale */
        attempt_of(g1.token[4], 200, NULL, T0 + 15),    /* an old delivery: stale */
        attempt_of(g1.token[2], 0, "connect", T0 + 16), /* retry */
        attempt_of("not a token", 200, NULL, T0 + 17),  /* stale, seq 0 */
    };
    sl_webhook_outcome o[8];
    REQUIRE(report(&f, id, a, 8, T0 + 20, o) == SL_OK);
    static const sl_attempt_result want[8] = {
        SL_ATTEMPT_DELIVERED, SL_ATTEMPT_RETRY, SL_ATTEMPT_STALE, SL_ATTEMPT_DEAD,
        SL_ATTEMPT_STALE,     SL_ATTEMPT_STALE, SL_ATTEMPT_RETRY, SL_ATTEMPT_STALE};
    static const uint32_t want_attempt[8] = {1, 1, 0, 2, 0, 0, 1, 0};
    for (int i = 0; i < 8; i++) {
        CHECK(o[i].result == want[i]);
        CHECK_EQ_U64(o[i].attempt, want_attempt[i]);
        CHECK((o[i].retry_at_ms != 0) == (want[i] == SL_ATTEMPT_RETRY));
    }
    /* the group: 1 acked, 2 waiting, 1 in flight (event 3, not reported), 1 dead */
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id, group);
    sl_group_info gi;
    REQUIRE(group_info(&f, group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.waiting, 2);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK_EQ_U64(gi.dlq_size, 1);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 9);
    CHECK_EQ_U64(st.successes, 4); /* 2xx counts, stale or not */
    CHECK_EQ_U64(st.dead, 1);
    CHECK_EQ_U64(st.backlog, 3);
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    REQUIRE(log_list(&f, id, &any, 0, 100, &e, &next) == SL_OK);
    REQUIRE(e.n == 9);
    for (int i = 0; i < 8; i++) { /* newest first */
        CHECK(e.result[7 - i] == want[i]);
        CHECK_EQ_U64(e.attempt[7 - i], want_attempt[i]);
    }
    CHECK_EQ_U64(e.seq[0], 0);
    CHECK_EQ_U64(e.seq[3], seq[4]); /* the dead one's stale repeat still names it */
    /* a report of nothing but stale tokens changes no counter */
    REQUIRE(report(&f, id, &a[2], 1, T0 + 30, o) == SL_OK);
    CHECK(o[0].result == SL_ATTEMPT_STALE);
    REQUIRE(group_info(&f, group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.waiting, 2);
    fx_close(&f);
}

/* A failure within the schedule on the group's last allowed delivery is
 * dead-lettered by the nack: the outcome must say DEAD, not RETRY. */
TEST(test_report_retry_needs_a_delivery_left)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t sched[] = {1000, 1000};
    REQUIRE(create_simple(&f, "order.>", 2, sched, 0, id) == SL_OK);
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id, group);
    sl_group_info gi;
    REQUIRE(group_info(&f, group, &gi) == SL_OK);
    gi.config.max_deliveries = 1; /* the group changed behind the subscription's back */
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    REQUIRE(sl_group_update(&w, &gi.config) == SL_OK);
    REQUIRE(sl_txn_commit(&w) == SL_OK);
    REQUIRE(append(&f, "order.created", T0) > 0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    sl_webhook_outcome o = report1(&f, id, g.token[0], 500, NULL, T0 + 1);
    CHECK(o.result == SL_ATTEMPT_DEAD);
    CHECK_EQ_U64(o.retry_at_ms, 0);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.dlq_size, 1);
    CHECK_EQ_U64(st.dead, 1);
    CHECK_EQ_U64(st.waiting, 0);
    snap s;
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    CHECK_EQ_U64(s.consecutive, 1);
    fx_close(&f);
}

/* Counters at their limits stay there; percentiles do not wrap. */
TEST(test_stats_counters_saturate)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 0, id) == SL_OK);
    sl_webhook_stats_rec s;
    memset(&s, 0, sizeof s);
    s.attempts = s.successes = s.failures = s.dead = UINT64_MAX;
    s.latency[0] = 1;
    s.latency[1] = UINT64_MAX; /* 1 ms .. 1.19 ms */
    REQUIRE(stats_rec_put(&f, id, &s) == SL_OK);
    uint64_t now = T0;
    CHECK(fail_to_death(&f, id, "order.created", &now, NULL).result == SL_ATTEMPT_DEAD);
    CHECK(report1(&f, id, "x", 200, NULL, now).result == SL_ATTEMPT_STALE);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK(st.attempts == UINT64_MAX);
    CHECK(st.successes == UINT64_MAX);
    CHECK(st.failures == UINT64_MAX);
    CHECK(st.dead == UINT64_MAX);
    CHECK_EQ_U64(st.latency_p50_us, 1189);
    CHECK_EQ_U64(st.latency_p99_us, 1189);
    fx_close(&f);
}

/* A stats record whose entry count is off (damaged) must not make a report
 * delete the entry it just appended, nor keep the wrong count. */
TEST(test_delivery_log_count_off)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 0, id) == SL_OK);
    sl_webhook_attempt a[3] = {attempt_of("x", 500, NULL, T0), attempt_of("x", 501, NULL, T0),
                               attempt_of("x", 502, NULL, T0)};
    sl_webhook_outcome o[3];
    REQUIRE(report(&f, id, a, 3, T0, o) == SL_OK);
    static const uint64_t wrong[] = {UINT64_MAX, 50000, UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        sl_webhook_stats_rec s;
        REQUIRE(stats_rec_get(&f, id, &s) == SL_OK);
        s.log_entries = wrong[i];
        REQUIRE(stats_rec_put(&f, id, &s) == SL_OK);
        CHECK(report1(&f, id, "x", 503, NULL, T0 + 1 + i).result == SL_ATTEMPT_STALE);
        entries e;
        uint64_t next;
        sl_delivery_filter any = {0};
        REQUIRE(log_list(&f, id, &any, 0, 100, &e, &next) == SL_OK);
        CHECK_EQ_U64(e.n, 4 + i);
        CHECK(e.n > 0 && e.time[0] == T0 + 1 + i); /* the newest is there */
        REQUIRE(stats_rec_get(&f, id, &s) == SL_OK);
        CHECK_EQ_U64(s.log_entries, 4 + i);
    }
    fx_close(&f);
}

/* The entry id counter never wraps around to ids in use. */
TEST(test_delivery_entry_ids_used_up)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 0, id) == SL_OK);
    CHECK(report1(&f, id, "x", 500, NULL, T0).result == SL_ATTEMPT_STALE);
    uint8_t v[8];
    sl_put_u64(v, UINT64_MAX - 1);
    const char *name = "next_delivery_entry";
    REQUIRE(raw_put(&f, SL_DB_META, name, strlen(name), v, sizeof v) == SL_OK);
    CHECK(report1(&f, id, "x", 501, NULL, T0 + 1).result == SL_ATTEMPT_STALE);
    sl_webhook_attempt a = attempt_of("x", 502, NULL, T0 + 2);
    sl_webhook_outcome o;
    CHECK(report(&f, id, &a, 1, T0 + 2, &o) == SL_ERR_TOO_LARGE);
    CHECK(report(&f, id, &a, 1, T0 + 3, &o) == SL_ERR_TOO_LARGE);
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    REQUIRE(log_list(&f, id, &any, 0, 100, &e, &next) == SL_OK);
    REQUIRE(e.n == 2);
    CHECK(e.entry[0] == UINT64_MAX - 1 && e.status[0] == 501);
    CHECK(e.entry[1] == 1 && e.status[1] == 500);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 2);
    fx_close(&f);
}

/* The stored layouts, byte for byte as core/FORMAT.md has them. */
TEST(test_records_match_format)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_webhook_config cfg;
    cfg_make(&cfg, "order.>");
    cfg.description = sl_slice_of("d");
    cfg.nretry = 1;
    cfg.retry_ms[0] = 86400000;
    cfg.timeout_ms = 1234;
    cfg.max_in_flight = 7;
    cfg.rate_limit = 9;
    cfg.disable_after = 3;
    cfg.nheaders = 1;
    cfg.headers[0] = (sl_header){sl_slice_of("X-A"), sl_slice_of("vv")};
    char id[SL_WEBHOOK_ID_LEN + 1], secret[SL_WEBHOOK_SECRET_LEN + 1];
    REQUIRE(create(&f, &cfg, id, secret) == SL_OK);
    uint8_t kb[8], buf[4096];
    sl_put_u64(kb, key_of(id));
    size_t len = 0;
    REQUIRE(raw_get(&f, SL_DB_WEBHOOKS, kb, sizeof kb, buf, sizeof buf, &len) == SL_OK);
    /* 46 fixed, reason 1+0, name 1+4, desc 2+1, url 2+n, filters 1+1+7,
     * retry 1+8, headers 1+1+3+2+2, secrets 1+8+1+50 */
    size_t want = 46 + 1 + 5 + 3 + 2 + strlen(URL) + 9 + 9 + 9 + 60;
    CHECK_EQ_U64(len, want);
    CHECK_EQ_U64(buf[0], 1);
    CHECK_EQ_U64(sl_get_u64(buf + 1), T0);
    CHECK_EQ_U64(sl_get_u64(buf + 9), T0);
    CHECK_EQ_U64(sl_get_u64(buf + 17), 0);
    CHECK_EQ_U64(buf[25], 1);
    CHECK_EQ_U64(sl_get_u64(buf + 26), 1234);
    CHECK_EQ_U64(sl_get_u32(buf + 34), 7);
    CHECK_EQ_U64(sl_get_u32(buf + 38), 9);
    CHECK_EQ_U64(sl_get_u32(buf + 42), 3);
    CHECK_EQ_U64(buf[46], 0);
    CHECK(buf[47] == 4 && memcmp(buf + 48, "hook", 4) == 0);
    CHECK(sl_get_u16(buf + 52) == 1 && buf[54] == 'd');
    CHECK(sl_get_u16(buf + 55) == strlen(URL) && memcmp(buf + 57, URL, strlen(URL)) == 0);
    const uint8_t *p = buf + 57 + strlen(URL);
    CHECK(p[0] == 1 && p[1] == 7 && memcmp(p + 2, "order.>", 7) == 0);
    p += 9;
    CHECK(p[0] == 1 && sl_get_u64(p + 1) == 86400000);
    p += 9;
    CHECK(p[0] == 1 && p[1] == 3 && memcmp(p + 2, "X-A", 3) == 0);
    CHECK(sl_get_u16(p + 5) == 2 && memcmp(p + 7, "vv", 2) == 0);
    p += 9;
    CHECK(p[0] == 1 && sl_get_u64(p + 1) == 0 && p[9] == 50);
    CHECK(memcmp(p + 10, secret, 50) == 0);

    /* stats: 898 bytes; delivery entry: 38 + topic + error + body */
    uint64_t seq = append(&f, "order.created", T0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    sl_webhook_attempt a = attempt_of(g.token[0], 0, "tls", T0 + 5);
    a.latency_us = 777;
    a.body = sl_slice_of("bd");
    sl_webhook_outcome o;
    REQUIRE(report(&f, id, &a, 1, T0 + 6, &o) == SL_OK);
    REQUIRE(o.result == SL_ATTEMPT_RETRY);
    REQUIRE(raw_get(&f, SL_DB_WEBHOOK_STATS, kb, sizeof kb, buf, sizeof buf, &len) == SL_OK);
    CHECK_EQ_U64(len, 898);
    CHECK_EQ_U64(buf[0], 1);
    CHECK_EQ_U64(sl_get_u64(buf + 1), 1);  /* attempts */
    CHECK_EQ_U64(sl_get_u64(buf + 17), 1); /* failures */
    CHECK_EQ_U64(sl_get_u64(buf + 37), T0 + 5);
    CHECK_EQ_U64(sl_get_u64(buf + 57), 1); /* log_entries */
    CHECK(buf[65] == 3 && memcmp(buf + 66, "tls", 3) == 0 && buf[69] == 0);
    CHECK_EQ_U64(sl_get_u64(buf + 130), 1); /* 777 us: bucket 0 */
    uint8_t dk[16];
    sl_delivery_key(dk, key_of(id), 1);
    REQUIRE(raw_get(&f, SL_DB_DELIVERIES, dk, sizeof dk, buf, sizeof buf, &len) == SL_OK);
    CHECK_EQ_U64(len, 38 + strlen("order.created") + 3 + 2);
    CHECK(buf[0] == 1 && buf[1] == SL_ATTEMPT_RETRY);
    CHECK_EQ_U64(sl_get_u32(buf + 2), 1);
    CHECK_EQ_U64(sl_get_u64(buf + 6), seq);
    CHECK_EQ_U64(sl_get_u64(buf + 14), T0 + 5);
    CHECK_EQ_U64(sl_get_u32(buf + 22), 0);
    CHECK_EQ_U64(sl_get_u64(buf + 26), 777);
    CHECK(buf[34] == 13 && buf[35] == 3 && sl_get_u16(buf + 36) == 2);
    CHECK(memcmp(buf + 38, "order.createdtlsbd", 18) == 0);
    const char *name = "next_delivery_entry";
    REQUIRE(raw_get(&f, SL_DB_META, name, strlen(name), buf, sizeof buf, &len) == SL_OK);
    CHECK(len == 8 && sl_get_u64(buf) == 2);
    fx_close(&f);
}

/* Records that do not decode give SL_ERR_CORRUPT (or SL_ERR_VERSION), never
 * a crash: every truncation of each record, bad counts, stray keys. */
TEST(test_corrupt_records_give_errors)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 1, (const uint64_t[]){1000}, 0, id) == SL_OK);
    CHECK(report1(&f, id, "x", 500, "connect", T0).result == SL_ATTEMPT_STALE);
    uint8_t kb[8], rec[4096], stats_rec[1024], entry[2048], bad[4096];
    size_t rlen, slen, elen;
    sl_put_u64(kb, key_of(id));
    uint8_t dk[16];
    sl_delivery_key(dk, key_of(id), 1);
    REQUIRE(raw_get(&f, SL_DB_WEBHOOKS, kb, 8, rec, sizeof rec, &rlen) == SL_OK);
    REQUIRE(raw_get(&f, SL_DB_WEBHOOK_STATS, kb, 8, stats_rec, sizeof stats_rec, &slen) ==
            SL_OK);
    REQUIRE(raw_get(&f, SL_DB_DELIVERIES, dk, 16, entry, sizeof entry, &elen) == SL_OK);
    snap s;
    sl_webhook_stats st;
    entries e;
    uint64_t next;
    sl_delivery_filter any = {0};
    for (size_t n = 0; n < rlen; n++) { /* the subscription record, cut short */
        REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, kb, 8, rec, n) == SL_OK);
        CHECK(get(&f, id, T0, &s) == SL_ERR_CORRUPT);
        CHECK(report1(&f, id, "x", 200, NULL, T0).result == (sl_attempt_result)99);
    }
    memcpy(bad, rec, rlen);
    bad[rlen] = 0;
    REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, kb, 8, bad, rlen + 1) == SL_OK); /* one too many */
    CHECK(get(&f, id, T0, &s) == SL_ERR_CORRUPT);
    bad[0] = 9;
    REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, kb, 8, bad, rlen) == SL_OK);
    CHECK(get(&f, id, T0, &s) == SL_ERR_VERSION);
    memcpy(bad, rec, rlen);
    bad[25] = 2; /* active neither 0 nor 1 */
    REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, kb, 8, bad, rlen) == SL_OK);
    CHECK(get(&f, id, T0, &s) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, kb, 8, rec, rlen) == SL_OK);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);

    for (size_t n = 0; n < slen; n++) { /* the stats record */
        REQUIRE(raw_put(&f, SL_DB_WEBHOOK_STATS, kb, 8, stats_rec, n) == SL_OK);
        CHECK(stats(&f, id, &st) == SL_ERR_CORRUPT);
        CHECK(report1(&f, id, "x", 200, NULL, T0).result == (sl_attempt_result)99);
    }
    memcpy(bad, stats_rec, slen);
    bad[65] = SL_WEBHOOK_ERROR_MAX + 1; /* last_error_len */
    REQUIRE(raw_put(&f, SL_DB_WEBHOOK_STATS, kb, 8, bad, slen) == SL_OK);
    CHECK(stats(&f, id, &st) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(&f, SL_DB_WEBHOOK_STATS, kb, 8, stats_rec, slen) == SL_OK);
    REQUIRE(stats(&f, id, &st) == SL_OK);

    for (size_t n = 0; n < elen; n++) { /* a delivery-log entry */
        REQUIRE(raw_put(&f, SL_DB_DELIVERIES, dk, 16, entry, n) == SL_OK);
        CHECK(log_list(&f, id, &any, 0, 10, &e, &next) == SL_ERR_CORRUPT);
    }
    memcpy(bad, entry, elen);
    bad[1] = 5; /* result */
    REQUIRE(raw_put(&f, SL_DB_DELIVERIES, dk, 16, bad, elen) == SL_OK);
    CHECK(log_list(&f, id, &any, 0, 10, &e, &next) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(&f, SL_DB_DELIVERIES, dk, 16, entry, elen) == SL_OK);
    REQUIRE(log_list(&f, id, &any, 0, 10, &e, &next) == SL_OK);
    CHECK_EQ_U64(e.n, 1);

    /* a key of the wrong length among the subscriptions */
    REQUIRE(raw_put(&f, SL_DB_WEBHOOKS, "short", 5, rec, rlen) == SL_OK);
    ids page;
    CHECK(list(&f, NULL, 10, &page, (char[SL_WEBHOOK_ID_LEN + 1]){0}) == SL_ERR_CORRUPT);
    REQUIRE(get(&f, id, T0, &s) == SL_OK);
    fx_close(&f);
}

/* A report that runs out of map returns SL_ERR_MAP_FULL (nothing else), so
 * the writer can abort, grow the map and apply the same report again. */
TEST(test_report_map_full_propagates)
{
    fixture f;
    memset(&f, 0, sizeof f);
    f.dir = test_tmpdir("webhooks");
    REQUIRE(f.dir != NULL);
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f.dir;
    opt.map_initial_bytes = 1ull << 20;
    opt.quota_bytes = 1ull << 20;
    opt.relaxed_sync = true;
    REQUIRE(sl_store_open(&opt, &f.store) == SL_OK);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 0, id) == SL_OK);
    static char body[SL_WEBHOOK_BODY_KEEP];
    memset(body, 'b', sizeof body);
    static sl_webhook_attempt a[SL_SETTLE_BATCH_MAX];
    static sl_webhook_outcome o[SL_SETTLE_BATCH_MAX];
    for (size_t i = 0; i < SL_SETTLE_BATCH_MAX; i++) {
        a[i] = attempt_of("x", 500, NULL, T0);
        a[i].body = (sl_slice){body, sizeof body};
    }
    sl_err rc = report(&f, id, a, SL_SETTLE_BATCH_MAX, T0, o);
    CHECK(rc == SL_ERR_MAP_FULL);
    sl_webhook_stats st;
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, 0); /* nothing of it committed */
    for (int i = 0; i < 8 && rc == SL_ERR_MAP_FULL; i++) {
        REQUIRE(sl_store_grow(f.store, false) == SL_OK);
        rc = report(&f, id, a, SL_SETTLE_BATCH_MAX, T0, o);
    }
    CHECK(rc == SL_OK);
    REQUIRE(stats(&f, id, &st) == SL_OK);
    CHECK_EQ_U64(st.attempts, SL_SETTLE_BATCH_MAX);
    fx_close(&f);
}

/* A report with a bad attempt anywhere in it settles nothing at all, even
 * when the caller goes on with the transaction. */
TEST(test_report_invalid_settles_nothing)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_WEBHOOK_ID_LEN + 1];
    REQUIRE(create_simple(&f, "order.>", 0, NULL, 0, id) == SL_OK);
    REQUIRE(append(&f, "order.created", T0) > 0);
    got g;
    REQUIRE(pull_wh(&f, id, 1, T0, &g) == SL_OK);
    REQUIRE(g.n == 1);
    sl_webhook_attempt a[2] = {attempt_of(g.token[0], 200, NULL, T0),
                               attempt_of("x", 500, NULL, T0)};
    a[1].body = (sl_slice){NULL, 3};
    sl_webhook_outcome o[2];
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    CHECK(sl_webhook_report(&w, id, a, 2, T0, o) == SL_ERR_INVALID);
    REQUIRE(sl_txn_commit(&w) == SL_OK); /* committed anyway: nothing half done */
    char group[SL_GROUP_NAME_MAX + 1];
    sl_webhook_group_name(id, group);
    sl_group_info gi;
    REQUIRE(group_info(&f, group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.acked, 0);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK(report1(&f, id, g.token[0], 200, NULL, T0 + 1).result == SL_ATTEMPT_DELIVERED);
    REQUIRE(group_info(&f, group, &gi) == SL_OK);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.in_flight, 0);
    fx_close(&f);
}

UNIT_MAIN("core_webhooks", UNIT_CASE(test_config_defaults_and_checks),
          UNIT_CASE(test_ids_and_names), UNIT_CASE(test_create_get_list),
          UNIT_CASE(test_update_keeps_group_in_step), UNIT_CASE(test_delete_removes_everything),
          UNIT_CASE(test_secrets_rotate), UNIT_CASE(test_reserved_topics),
          UNIT_CASE(test_report_success_acks), UNIT_CASE(test_report_failure_retries_with_jitter),
          UNIT_CASE(test_attempts_past_schedule_go_to_dlq),
          UNIT_CASE(test_disable_after_consecutive_dead_events),
          UNIT_CASE(test_gone_disables_and_event_waits), UNIT_CASE(test_stale_token_is_logged),
          UNIT_CASE(test_unreported_deliveries_come_back),
          UNIT_CASE(test_stats_latency_and_backlog),
          UNIT_CASE(test_delivery_log_filters_and_paging),
          UNIT_CASE(test_delivery_log_keeps_the_newest), UNIT_CASE(test_retry_now),
          UNIT_CASE(test_report_batch_outcomes_and_counters),
          UNIT_CASE(test_report_retry_needs_a_delivery_left),
          UNIT_CASE(test_stats_counters_saturate), UNIT_CASE(test_delivery_log_count_off),
          UNIT_CASE(test_delivery_entry_ids_used_up), UNIT_CASE(test_records_match_format),
          UNIT_CASE(test_corrupt_records_give_errors),
          UNIT_CASE(test_report_map_full_propagates),
          UNIT_CASE(test_report_invalid_settles_nothing))
