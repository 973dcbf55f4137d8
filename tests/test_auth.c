/* test_auth.c: the daemon's auth module without a daemon: which listeners
 * count as loopback-only (auth_policy.h), the scope of every op, the token
 * buckets (auth_rate.h), sl_auth_check against a real store with real keys
 * (401, 403 for scopes and topic limits, 429 with its numbers), and the
 * client's map-header growth that carries the key in every request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikey.h"
#include "core/group.h"
#include "core/store.h"
#include "proto/client_internal.h"
#include "tests/support.h"
#include "tests/unit.h"
#include "tools/sluiced/auth.h"
#include "tools/sluiced/auth_policy.h"
#include "tools/sluiced/auth_rate.h"

#define T0 1700000000000ull /* a fixed "now" in Unix ms */

/* ---- which listeners are loopback-only -------------------------------------------- */

TEST(loopback_only_urls)
{
    static const char *const local[] = {
        "tcp://127.0.0.1:7450", "tcp://127.9.8.7:1",     "tcp://[::1]:7450",
        "tcp://localhost:7450", "tcp4://127.0.0.1:1",    "ws://127.0.0.1:80/sluice",
        "wss://[::1]:443/x",    "tls+tcp://127.0.0.1:1", "http://127.0.0.1:8080",
        "https://localhost:8443", "ipc:///run/sluice.sock", "inproc://x",
    };
    static const char *const exposed[] = {
        "tcp://0.0.0.0:7450", "tcp://[::]:7450",       "tcp://*:7450",
        "tcp://:7450",        "tcp://10.0.0.1:7450",   "tcp://example.com:7450",
        "ws://0.0.0.0:80/x",  "http://192.168.1.2:80", "https://[2001:db8::1]:443",
        "tcp://128.0.0.1:1",  "tcp://127.1:1",         "nonsense",
        "tcp://[::1:7450",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        if (!sl_url_loopback_only(local[i]))
            fprintf(stderr, "  %s should be loopback-only\n", local[i]);
        CHECK(sl_url_loopback_only(local[i]));
    }
    for (size_t i = 0; i < sizeof exposed / sizeof exposed[0]; i++) {
        if (sl_url_loopback_only(exposed[i]))
            fprintf(stderr, "  %s should not be loopback-only\n", exposed[i]);
        CHECK(!sl_url_loopback_only(exposed[i]));
    }
    CHECK(!sl_url_loopback_only(NULL));
}

TEST(policy_decides)
{
    static sl_config cfg;
    bool on = true;
    sl_config_defaults(&cfg); /* tcp://127.0.0.1:7450 */
    CHECK(sl_auth_policy_decide(&cfg, &on) == 0 && !on);
    char err[128];
    CHECK(sl_config_set(&cfg, "http-listen", "http://0.0.0.0:8080", err, sizeof err) == 0);
    CHECK(strcmp(sl_auth_exposed_listener(&cfg), "http://0.0.0.0:8080") == 0);
    CHECK(sl_auth_policy_decide(&cfg, &on) == 0 && on);
    CHECK(sl_config_set(&cfg, "auth", "off", err, sizeof err) == 0);
    CHECK(sl_auth_policy_decide(&cfg, &on) != 0);
    CHECK(sl_config_set(&cfg, "insecure", "true", err, sizeof err) == 0);
    CHECK(sl_auth_policy_decide(&cfg, &on) == 0 && !on);
    sl_config_defaults(&cfg);
    CHECK(sl_config_set(&cfg, "auth", "on", err, sizeof err) == 0);
    CHECK(sl_auth_policy_decide(&cfg, &on) == 0 && on);
    CHECK(sl_config_set(&cfg, "auth", "sometimes", err, sizeof err) != 0);
}

/* ---- scopes ----------------------------------------------------------------------------- */

TEST(scope_of_every_op)
{
    CHECK(sl_auth_scope_of(SL_OP_PING) == 0);
    CHECK(sl_auth_scope_of(SL_OP_PUBLISH) == SL_SCOPE_EVENTS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_PULL) == SL_SCOPE_EVENTS_READ);
    CHECK(sl_auth_scope_of(SL_OP_TERM) == SL_SCOPE_EVENTS_READ);
    CHECK(sl_auth_scope_of(SL_OP_LOG_READ) == SL_SCOPE_EVENTS_READ);
    CHECK(sl_auth_scope_of(SL_OP_DLQ_GET) == SL_SCOPE_EVENTS_READ);
    CHECK(sl_auth_scope_of(SL_OP_GROUP_DELETE) == SL_SCOPE_GROUPS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_DLQ_REPLAY) == SL_SCOPE_GROUPS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_STATS) == SL_SCOPE_STATS_READ);
    CHECK(sl_auth_scope_of(SL_OP_WEBHOOK_EVENT_TYPES) == SL_SCOPE_WEBHOOKS_READ);
    CHECK(sl_auth_scope_of(SL_OP_WEBHOOK_DELIVERIES) == SL_SCOPE_WEBHOOKS_READ);
    CHECK(sl_auth_scope_of(SL_OP_WEBHOOK_TARGETS) == SL_SCOPE_WEBHOOKS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_WEBHOOK_REPORT) == SL_SCOPE_WEBHOOKS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_KEYS_CREATE) == SL_SCOPE_KEYS_WRITE);
    CHECK(sl_auth_scope_of(SL_OP_KEYS_LIST) == SL_SCOPE_KEYS_WRITE);
    /* every op but ping needs exactly one named scope: none falls to "*" only */
    for (unsigned op = 1; op < SL_OP_COUNT; op++) {
        uint32_t s = sl_auth_scope_of((sl_op)op);
        if (s == SL_SCOPE_ALL || s == 0 || (s & (s - 1)) != 0)
            fprintf(stderr, "  %s: scope %#x\n", sl_op_name((sl_op)op), (unsigned)s);
        CHECK(s != SL_SCOPE_ALL && s != 0 && (s & (s - 1)) == 0);
    }
}

/* ---- the token buckets ---------------------------------------------------------------------- */

TEST(rate_buckets)
{
    sl_rate_table *t = NULL;
    REQUIRE(sl_rate_table_new(&t) == SL_OK);
    sl_rate_verdict v;
    /* 60/min: one per second, a burst of 60 */
    for (unsigned i = 0; i < 60; i++) {
        sl_rate_take(t, "key_0000000000000001", 60, T0, &v);
        CHECK(v.allowed && v.limit == 60 && v.remaining == 59 - i);
    }
    sl_rate_take(t, "key_0000000000000001", 60, T0, &v);
    CHECK(!v.allowed && v.remaining == 0 && v.retry_after_s == 1);
    CHECK_EQ_U64(v.reset_s, T0 / 1000 + 60);
    /* another key has its own bucket */
    sl_rate_take(t, "key_0000000000000002", 60, T0, &v);
    CHECK(v.allowed && v.remaining == 59);
    /* a second later one token is back, and only one */
    sl_rate_take(t, "key_0000000000000001", 60, T0 + 1000, &v);
    CHECK(v.allowed && v.remaining == 0);
    sl_rate_take(t, "key_0000000000000001", 60, T0 + 1000, &v);
    CHECK(!v.allowed);
    /* a clock going backwards adds nothing */
    sl_rate_take(t, "key_0000000000000001", 60, T0, &v);
    CHECK(!v.allowed);
    /* a minute refills it, never past the capacity */
    sl_rate_take(t, "key_0000000000000001", 60, T0 + 3600000, &v);
    CHECK(v.allowed && v.remaining == 59);
    /* 1/min: the wait is a minute */
    sl_rate_take(t, "key_0000000000000003", 1, T0, &v);
    sl_rate_take(t, "key_0000000000000003", 1, T0, &v);
    CHECK(!v.allowed && v.retry_after_s == 60);
    /* a changed limit starts a full bucket of the new size */
    sl_rate_take(t, "key_0000000000000003", 5, T0, &v);
    CHECK(v.allowed && v.limit == 5 && v.remaining == 4);
    sl_rate_table_free(t);
}

TEST(rate_table_stays_bounded)
{
    sl_rate_table *t = NULL;
    REQUIRE(sl_rate_table_new(&t) == SL_OK);
    sl_rate_verdict v;
    char id[SL_APIKEY_ID_LEN + 1];
    /* far more keys than entries, each spending its one token: the table
     * evicts, never grows, never refuses a key it has forgotten */
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "key_%016x", i);
        sl_rate_take(t, id, 1, T0 + i, &v);
        CHECK(v.allowed);
    }
    /* a busy key among them keeps its count */
    for (unsigned i = 0; i < 3; i++)
        sl_rate_take(t, "key_busybusybusybusy", 3, T0 + 30000, &v);
    CHECK(v.allowed && v.remaining == 0);
    sl_rate_take(t, "key_busybusybusybusy", 3, T0 + 30000, &v);
    CHECK(!v.allowed);
    sl_rate_table_free(t);
}

/* ---- sl_auth_check on a real store ------------------------------------------------------------ */

typedef struct fixture {
    char *dir;
    sl_store *store;
    sl_auth *auth;
} fixture;

static int fx_open(fixture *f, bool enabled)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("auth");
    if (!f->dir)
        return -1;
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f->dir;
    opt.relaxed_sync = true;
    if (sl_store_open(&opt, &f->store) != SL_OK)
        return -1;
    return sl_auth_new(f->store, enabled, &f->auth) == SL_OK ? 0 : -1;
}

static void fx_close(fixture *f)
{
    sl_auth_free(f->auth);
    sl_store_close(f->store);
    test_rmtree(f->dir);
    free(f->dir);
}

/* A key with scopes, patterns (NULL-ended, may be NULL) and a rate. */
static int make_key(fixture *f, uint32_t scopes, const char *const *patterns, uint32_t rate,
                    char token[SL_APIKEY_TOKEN_LEN + 1])
{
    sl_apikey_config cfg;
    sl_apikey_config_default(&cfg);
    cfg.name = sl_slice_of("test");
    cfg.scopes = scopes;
    for (size_t i = 0; patterns && patterns[i]; i++)
        cfg.patterns[cfg.npatterns++] = sl_slice_of(patterns[i]);
    if (rate)
        cfg.rate_per_minute = rate;
    char id[SL_APIKEY_ID_LEN + 1];
    sl_txn w;
    if (sl_txn_begin_write(f->store, &w) != SL_OK)
        return -1;
    if (sl_apikey_create(&w, &cfg, T0, id, token) != SL_OK) {
        sl_txn_abort(&w);
        return -1;
    }
    return sl_txn_commit(&w) == SL_OK ? 0 : -1;
}

static int make_group(fixture *f, const char *name, const char *filter)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "%s", name);
    snprintf(cfg.filters[0], sizeof cfg.filters[0], "%s", filter);
    sl_txn w;
    if (sl_txn_begin_write(f->store, &w) != SL_OK)
        return -1;
    if (sl_group_create(&w, &cfg, T0) != SL_OK) {
        sl_txn_abort(&w);
        return -1;
    }
    return sl_txn_commit(&w) == SL_OK ? 0 : -1;
}

static sl_request op_req(sl_op op)
{
    sl_request r;
    memset(&r, 0, sizeof r);
    r.op = op;
    return r;
}

static sl_request pull_req(const char *group)
{
    sl_request r = op_req(SL_OP_PULL);
    snprintf(r.pull.group, sizeof r.pull.group, "%s", group);
    r.pull.max = 1;
    return r;
}

static int check(fixture *f, const char *token, const sl_request *req, sl_auth_result *out)
{
    sl_auth_check(f->auth, sl_slice_of(token), req, false, T0, out);
    return out->status;
}

TEST(off_allows_everything)
{
    fixture f;
    REQUIRE(fx_open(&f, false) == 0);
    sl_request req = op_req(SL_OP_TOPICS);
    sl_auth_result r;
    CHECK(check(&f, "", &req, &r) == 0 && r.code == NULL && !r.rate_limited);
    sl_auth_check(f.auth, sl_slice_of("nonsense"), &req, true, T0, &r);
    CHECK(r.status == 0 && r.key_id[0] == 0);
    CHECK(!sl_auth_enabled(f.auth));
    fx_close(&f);
}

TEST(keys_required_and_verified)
{
    fixture f;
    REQUIRE(fx_open(&f, true) == 0);
    char token[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(make_key(&f, SL_SCOPE_ALL, NULL, 0, token) == 0);
    sl_request ping = op_req(SL_OP_PING);
    sl_auth_result r;
    CHECK(check(&f, "", &ping, &r) == 401 && strcmp(r.code, "unauthorized") == 0);
    CHECK(strcmp(r.message, "an API key is required") == 0);
    char wrong[SL_APIKEY_TOKEN_LEN + 1];
    memcpy(wrong, token, sizeof wrong);
    wrong[40] = wrong[40] == 'A' ? 'B' : 'A'; /* inside the secret */
    CHECK(check(&f, wrong, &ping, &r) == 401 && strcmp(r.code, "unauthorized") == 0);
    CHECK(strcmp(r.message, "unknown or revoked API key") == 0);
    CHECK(strstr(r.message, wrong) == NULL && r.key_id[0] == 0);
    CHECK(check(&f, "slk_garbage", &ping, &r) == 401);
    CHECK(check(&f, token, &ping, &r) == 0 && strncmp(r.key_id, "key_", 4) == 0);
    sl_request topics = op_req(SL_OP_TOPICS);
    CHECK(check(&f, token, &topics, &r) == 0); /* "*" allows all */
    fx_close(&f);
}

TEST(scopes_are_enforced)
{
    fixture f;
    REQUIRE(fx_open(&f, true) == 0);
    char reader[SL_APIKEY_TOKEN_LEN + 1], none[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(make_key(&f, SL_SCOPE_EVENTS_READ | SL_SCOPE_STATS_READ, NULL, 0, reader) == 0);
    REQUIRE(make_key(&f, SL_SCOPE_WEBHOOKS_READ, NULL, 0, none) == 0);
    REQUIRE(make_group(&f, "all", ">") == 0);
    sl_auth_result r;
    sl_request pull = pull_req("all"), stats = op_req(SL_OP_STATS);
    sl_request publish = op_req(SL_OP_PUBLISH), create = op_req(SL_OP_KEYS_CREATE);
    CHECK(check(&f, reader, &pull, &r) == 0);
    CHECK(check(&f, reader, &stats, &r) == 0);
    CHECK(check(&f, reader, &publish, &r) == 403 && strcmp(r.code, "forbidden") == 0);
    CHECK(strstr(r.message, "events:write") != NULL);
    CHECK(check(&f, reader, &create, &r) == 403 && strstr(r.message, "keys:write"));
    CHECK(check(&f, none, &pull, &r) == 403);
    sl_request ping = op_req(SL_OP_PING);
    CHECK(check(&f, none, &ping, &r) == 0); /* any valid key may ping */
    fx_close(&f);
}

TEST(topic_limits)
{
    fixture f;
    REQUIRE(fx_open(&f, true) == 0);
    static const char *const orders[] = {"order.>", NULL};
    char tok[SL_APIKEY_TOKEN_LEN + 1], wide[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(make_key(&f, SL_SCOPE_ALL, orders, 0, tok) == 0);
    REQUIRE(make_key(&f, SL_SCOPE_ALL, NULL, 0, wide) == 0);
    REQUIRE(make_group(&f, "orders", "order.*") == 0);
    REQUIRE(make_group(&f, "everything", ">") == 0);
    sl_auth_result r;

    /* publish: every event's topic */
    sl_event_in ev[2] = {{.topic = sl_slice_of("order.created")},
                         {.topic = sl_slice_of("invoice.paid")}};
    sl_request pub = op_req(SL_OP_PUBLISH);
    pub.publish.events = ev;
    pub.publish.nevents = 1;
    CHECK(check(&f, tok, &pub, &r) == 0);
    pub.publish.nevents = 2;
    CHECK(check(&f, tok, &pub, &r) == 403 && strcmp(r.field, "events[1].topic") == 0);
    CHECK(r.index == 1 && strstr(r.message, "invoice.paid") != NULL);
    CHECK(check(&f, wide, &pub, &r) == 0);

    /* pull, settle, dlq, group.get: the group's filters */
    sl_request pull = pull_req("orders");
    CHECK(check(&f, tok, &pull, &r) == 0);
    pull = pull_req("everything");
    CHECK(check(&f, tok, &pull, &r) == 403 && strcmp(r.field, "group") == 0);
    CHECK(check(&f, wide, &pull, &r) == 0);
    sl_request ack = op_req(SL_OP_ACK);
    snprintf(ack.settle.group, sizeof ack.settle.group, "everything");
    CHECK(check(&f, tok, &ack, &r) == 403);
    sl_request dlq = op_req(SL_OP_DLQ_PURGE);
    snprintf(dlq.dlq_batch.group, sizeof dlq.dlq_batch.group, "orders");
    CHECK(check(&f, tok, &dlq, &r) == 0);
    sl_request get = op_req(SL_OP_GROUP_GET);
    snprintf(get.group_ref.name, sizeof get.group_ref.name, "everything");
    CHECK(check(&f, tok, &get, &r) == 403 && strcmp(r.field, "name") == 0);
    /* a group that does not exist: the op answers not_found itself */
    pull = pull_req("nosuch");
    CHECK(check(&f, tok, &pull, &r) == 0);

    /* group.create/update: the filters given (and update: the group's own) */
    sl_request create = op_req(SL_OP_GROUP_CREATE);
    sl_group_config_default(&create.group.config); /* filters [">"] */
    snprintf(create.group.config.name, sizeof create.group.config.name, "mine");
    CHECK(check(&f, tok, &create, &r) == 403 && strcmp(r.field, "filters[0]") == 0);
    snprintf(create.group.config.filters[0], sizeof create.group.config.filters[0], "order.*");
    CHECK(check(&f, tok, &create, &r) == 0);
    sl_request update = create;
    update.op = SL_OP_GROUP_UPDATE;
    snprintf(update.group.config.name, sizeof update.group.config.name, "everything");
    update.group.given = SL_GROUP_GIVEN_FILTERS;
    CHECK(check(&f, tok, &update, &r) == 403 && strcmp(r.field, "name") == 0);
    snprintf(update.group.config.name, sizeof update.group.config.name, "orders");
    CHECK(check(&f, tok, &update, &r) == 0);

    /* ops that show every topic */
    sl_request topics = op_req(SL_OP_TOPICS), log = op_req(SL_OP_LOG_READ);
    CHECK(check(&f, tok, &topics, &r) == 403 && strcmp(r.code, "forbidden") == 0);
    CHECK(check(&f, tok, &log, &r) == 403);
    CHECK(check(&f, wide, &topics, &r) == 0 && check(&f, wide, &log, &r) == 0);

    /* webhooks: the filters when given, else the scope alone */
    sl_request wh = op_req(SL_OP_WEBHOOK_CREATE);
    sl_webhook_config_default(&wh.webhook.config);
    wh.webhook.config.filters[0] = sl_slice_of("order.created");
    wh.webhook.config.nfilters = 1;
    CHECK(check(&f, tok, &wh, &r) == 0);
    wh.webhook.config.filters[0] = sl_slice_of("*.created");
    CHECK(check(&f, tok, &wh, &r) == 403 && strcmp(r.field, "filters[0]") == 0);
    wh.op = SL_OP_WEBHOOK_UPDATE; /* filters not given: the scope decides */
    CHECK(check(&f, tok, &wh, &r) == 0);
    sl_request whget = op_req(SL_OP_WEBHOOK_GET);
    CHECK(check(&f, tok, &whget, &r) == 0);
    fx_close(&f);
}

TEST(rate_limit_per_key)
{
    fixture f;
    REQUIRE(fx_open(&f, true) == 0);
    char tok[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(make_key(&f, SL_SCOPE_STATS_READ, NULL, 100, tok) == 0);
    sl_request stats = op_req(SL_OP_STATS), publish = op_req(SL_OP_PUBLISH);
    sl_auth_result r;
    for (unsigned i = 0; i < 100; i++) {
        /* forbidden requests count too: every answered request does */
        const sl_request *req = i == 50 ? &publish : &stats;
        sl_auth_check(f.auth, sl_slice_of(tok), req, true, T0 + i, &r);
        CHECK(r.status == (i == 50 ? 403 : 0));
        CHECK(r.rate_limited && r.rate_limit == 100 && r.rate_remaining == 99 - i);
        CHECK(r.rate_reset_s >= T0 / 1000 && r.rate_reset_s <= T0 / 1000 + 61);
    }
    sl_auth_check(f.auth, sl_slice_of(tok), &stats, true, T0 + 100, &r);
    CHECK(r.status == 429 && strcmp(r.code, "rate_limited") == 0);
    CHECK(r.retry_after_s >= 1 && r.rate_remaining == 0);
    /* without apply_rate (nng), no bucket is touched */
    sl_auth_check(f.auth, sl_slice_of(tok), &stats, false, T0 + 100, &r);
    CHECK(r.status == 0 && !r.rate_limited);
    /* 600 ms later one token is back */
    sl_auth_check(f.auth, sl_slice_of(tok), &stats, true, T0 + 700, &r);
    CHECK(r.status == 0);
    fx_close(&f);
}

/* ---- the client's key: one more pair in the request map ------------------------------------------ */

static void buf_set(sl_client_buf *b, const unsigned char *bytes, size_t n)
{
    b->data = realloc(b->data, n + 8);
    memcpy(b->data, bytes, n);
    b->len = n;
    b->cap = n + 8;
}

TEST(map_header_grows)
{
    sl_client_buf b = {0};
    const unsigned char fix14[] = {0x8e, 'x'};
    buf_set(&b, fix14, sizeof fix14);
    CHECK(cl_map_header_add_one(&b) == SL_CLIENT_OK);
    CHECK(b.len == 2 && (unsigned char)b.data[0] == 0x8f && b.data[1] == 'x');
    CHECK(cl_map_header_add_one(&b) == SL_CLIENT_OK); /* 16: fixmap -> map16 */
    const unsigned char m16[] = {0xde, 0x00, 0x10, 'x'};
    CHECK(b.len == 4 && memcmp(b.data, m16, 4) == 0);
    const unsigned char full16[] = {0xde, 0xff, 0xff, 'y', 'z'};
    buf_set(&b, full16, sizeof full16);
    CHECK(cl_map_header_add_one(&b) == SL_CLIENT_OK); /* 65536: map16 -> map32 */
    const unsigned char m32[] = {0xdf, 0x00, 0x01, 0x00, 0x00, 'y', 'z'};
    CHECK(b.len == 7 && memcmp(b.data, m32, 7) == 0);
    const unsigned char arr[] = {0x91, 0x01};
    buf_set(&b, arr, sizeof arr);
    CHECK(cl_map_header_add_one(&b) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_buf_free(&b);
}

UNIT_MAIN("auth", UNIT_CASE(loopback_only_urls), UNIT_CASE(policy_decides),
          UNIT_CASE(scope_of_every_op), UNIT_CASE(rate_buckets),
          UNIT_CASE(rate_table_stays_bounded), UNIT_CASE(off_allows_everything),
          UNIT_CASE(keys_required_and_verified), UNIT_CASE(scopes_are_enforced),
          UNIT_CASE(topic_limits), UNIT_CASE(rate_limit_per_key), UNIT_CASE(map_header_grows))
