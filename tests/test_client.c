/* test_client.c: the C client library, mostly without a daemon.
 *
 *   - every request encoder, checked by unpacking with msgpack-c;
 *   - every reply decoder on hand-built replies, ok and error;
 *   - malformed replies (garbage, truncation at every length, wrong types,
 *     "ok" missing, hostile counts) give "bad_reply" and never crash;
 *   - the transport: an unreachable URL gives "unavailable" quickly, and a
 *     tiny REP server in this process checks timeouts, dropped connections
 *     (no resend) and many threads sharing one client;
 *   - the webhook operations (client_webhook.h): every encoder and decoder as
 *     above, then every call against a real sluiced ($SLUICED), this test
 *     playing the bridge (pull from the subscription's group, report).
 */
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/client.h"
#include "core/apikey.h"
#include "proto/client_keys.h"
#include "proto/client_webhook.h"
#include "tests/support.h"
#include "tests/unit.h"

/* ---- helpers: looking into an encoded request ------------------------------ */

/* An unpacked request; free with req_free. */
typedef struct req {
    msgpack_unpacked u;  /* the unpacked object and its zone */
    const msgpack_object *top; /* the root map, or NULL when it did not unpack to one */
} req;

static void req_open(req *r, const sl_client_buf *b)
{
    msgpack_unpacked_init(&r->u);
    size_t off = 0;
    r->top = NULL;
    if (msgpack_unpack_next(&r->u, b->data, b->len, &off) == MSGPACK_UNPACK_SUCCESS &&
        off == b->len && r->u.data.type == MSGPACK_OBJECT_MAP)
        r->top = &r->u.data;
}

static void req_free(req *r)
{
    msgpack_unpacked_destroy(&r->u);
}

static const msgpack_object *key_of(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static bool is_str(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static bool is_bin(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == strlen(s) &&
           memcmp(o->via.bin.ptr, s, o->via.bin.size) == 0;
}

static bool is_uint(const msgpack_object *o, uint64_t v)
{
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == v;
}

static uint32_t map_size(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_MAP ? o->via.map.size : 0xffffffffu;
}

static uint32_t array_size(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0xffffffffu;
}

/* The request has v = 1, op = op and nfields fields besides. */
static bool is_request(const req *r, const char *op, uint32_t nfields)
{
    return r->top && is_uint(key_of(r->top, "v"), 1) && is_str(key_of(r->top, "op"), op) &&
           map_size(r->top) == nfields + 2;
}

/* ---- helpers: building replies ----------------------------------------------- */

typedef struct reply {
    msgpack_sbuffer sb;  /* the bytes */
    msgpack_packer pk;   /* packs into sb */
} reply;

static void rp_init(reply *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void rp_free(reply *r)
{
    msgpack_sbuffer_destroy(&r->sb);
}

static void rp_str(reply *r, const char *s)
{
    msgpack_pack_str(&r->pk, strlen(s));
    msgpack_pack_str_body(&r->pk, s, strlen(s));
}

static void rp_bin(reply *r, const char *s)
{
    msgpack_pack_bin(&r->pk, strlen(s));
    msgpack_pack_bin_body(&r->pk, s, strlen(s));
}

static void rp_kv_uint(reply *r, const char *k, uint64_t v)
{
    rp_str(r, k);
    msgpack_pack_uint64(&r->pk, v);
}

static void rp_kv_str(reply *r, const char *k, const char *v)
{
    rp_str(r, k);
    rp_str(r, v);
}

/* {"ok": true, + nfields more}: the caller packs the fields. */
static void rp_ok(reply *r, uint32_t nfields)
{
    msgpack_pack_map(&r->pk, nfields + 1);
    rp_str(r, "ok");
    msgpack_pack_true(&r->pk);
}

/* An Event map with extra more keys to follow (for deliveries). */
static void rp_event(reply *r, uint64_t seq, const char *topic, const char *payload,
                     bool with_extras, uint32_t more)
{
    msgpack_pack_map(&r->pk, 5 + (with_extras ? 2 : 0) + more);
    rp_kv_uint(r, "seq", seq);
    rp_kv_str(r, "id", "evt_00000000000000010000000000000001");
    rp_kv_str(r, "topic", topic);
    rp_kv_uint(r, "ts_ms", 1763884800000ull + seq);
    rp_str(r, "payload");
    rp_bin(r, payload);
    if (with_extras) {
        rp_kv_str(r, "content_type", "application/json");
        rp_str(r, "headers");
        msgpack_pack_map(&r->pk, 2);
        rp_kv_str(r, "trace", "abc");
        rp_kv_str(r, "tenant", "t1");
    }
}

static sl_client_status decode(sl_client_op op, const reply *r, sl_client_result *res)
{
    return sl_client_decode_reply(op, r->sb.data, r->sb.size, res);
}

/* ---- encoders ------------------------------------------------------------------ */

TEST(encode_ping_and_bare_ops)
{
    static const struct {
        sl_client_op op;
        const char *name;
    } ops[] = {{SL_CLIENT_OP_PING, "ping"},
               {SL_CLIENT_OP_GROUP_LIST, "group.list"},
               {SL_CLIENT_OP_TOPICS, "topics"},
               {SL_CLIENT_OP_STATS, "stats"}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        sl_client_buf b = {0};
        REQUIRE(sl_client_encode_bare(&b, ops[i].op) == SL_CLIENT_OK);
        req r;
        req_open(&r, &b);
        CHECK(is_request(&r, ops[i].name, 0));
        req_free(&r);
        sl_client_buf_free(&b);
    }
    sl_client_buf b = {0};
    REQUIRE(sl_client_encode_ping(&b) == SL_CLIENT_OK);
    /* exactly the bytes of {"v": 1, "op": "ping"} */
    static const unsigned char ping[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p',
                                         0xa4, 'p',  'i', 'n',  'g'};
    CHECK(b.len == sizeof ping && memcmp(b.data, ping, sizeof ping) == 0);
    CHECK(sl_client_encode_bare(&b, SL_CLIENT_OP_PULL) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == sizeof ping);
    sl_client_buf_free(&b);
}

TEST(encode_publish)
{
    sl_header hs[2] = {{sl_slice_of("trace"), sl_slice_of("abc")},
                       {sl_slice_of("empty"), sl_slice_of("")}};
    sl_event_in evs[2] = {
        {.topic = sl_slice_of("order.created"), .payload = sl_slice_of("{\"id\":1}"),
         .content_type = sl_slice_of("application/json"), .headers = hs, .nheaders = 2,
         .idem_key = sl_slice_of("order-1")},
        {.topic = sl_slice_of("order.paid"), .payload = {NULL, 0}},
    };
    sl_client_buf b = {0};
    REQUIRE(sl_client_encode_publish(&b, evs, 2) == SL_CLIENT_OK);
    req r;
    req_open(&r, &b);
    CHECK(is_request(&r, "publish", 1));
    const msgpack_object *events = key_of(r.top, "events");
    REQUIRE(array_size(events) == 2);
    const msgpack_object *e0 = &events->via.array.ptr[0], *e1 = &events->via.array.ptr[1];
    CHECK(map_size(e0) == 5);
    CHECK(is_str(key_of(e0, "topic"), "order.created"));
    CHECK(is_bin(key_of(e0, "payload"), "{\"id\":1}"));
    CHECK(is_str(key_of(e0, "content_type"), "application/json"));
    CHECK(is_str(key_of(e0, "key"), "order-1"));
    const msgpack_object *h = key_of(e0, "headers");
    CHECK(map_size(h) == 2);
    CHECK(is_str(key_of(h, "trace"), "abc"));
    CHECK(is_str(key_of(h, "empty"), ""));
    CHECK(map_size(e1) == 2); /* no content_type, headers or key when not given */
    CHECK(is_str(key_of(e1, "topic"), "order.paid"));
    CHECK(is_bin(key_of(e1, "payload"), ""));
    req_free(&r);

    size_t len = b.len;
    sl_event_in broken = {.topic = {NULL, 3}};
    CHECK(sl_client_encode_publish(&b, &broken, 1) == SL_CLIENT_ERR_ARGUMENT);
    sl_event_in no_headers = {.topic = sl_slice_of("a"), .nheaders = 1};
    CHECK(sl_client_encode_publish(&b, &no_headers, 1) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_publish(&b, NULL, 1) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == len);
    sl_client_buf_free(&b);
}

TEST(encode_pull)
{
    sl_client_buf b = {0};
    REQUIRE(sl_client_encode_pull(&b, "billing", 10, 30000) == SL_CLIENT_OK);
    req r;
    req_open(&r, &b);
    CHECK(is_request(&r, "pull", 3));
    CHECK(is_str(key_of(r.top, "group"), "billing"));
    CHECK(is_uint(key_of(r.top, "max"), 10));
    CHECK(is_uint(key_of(r.top, "wait_ms"), 30000));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_pull(&b, "billing", 0, 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "pull", 2));
    CHECK(key_of(r.top, "max") == NULL);
    req_free(&r);
    CHECK(sl_client_encode_pull(&b, NULL, 1, 0) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_buf_free(&b);
}

TEST(encode_settle)
{
    sl_slice toks[2] = {sl_slice_of("0123456789abcdef0123456789abcdef"), sl_slice_of("x")};
    sl_client_buf b = {0};
    req r;

    REQUIRE(sl_client_encode_settle(&b, SL_SETTLE_ACK, "g", toks, 2, 5, "why") == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "ack", 2)); /* ack ignores delay and reason */
    CHECK(is_str(key_of(r.top, "group"), "g"));
    const msgpack_object *t = key_of(r.top, "tokens");
    REQUIRE(array_size(t) == 2);
    CHECK(is_str(&t->via.array.ptr[0], "0123456789abcdef0123456789abcdef"));
    CHECK(is_str(&t->via.array.ptr[1], "x"));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_settle(&b, SL_SETTLE_NACK, "g", toks, 1, 2500, "retry") ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "nack", 4));
    CHECK(is_uint(key_of(r.top, "delay_ms"), 2500));
    CHECK(is_str(key_of(r.top, "reason"), "retry"));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_settle(&b, SL_SETTLE_NACK, "g", toks, 1, SL_DELAY_DEFAULT, NULL) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "nack", 2));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_settle(&b, SL_SETTLE_EXTEND, "g", toks, 1, 60000, "no") ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "extend", 3));
    CHECK(is_uint(key_of(r.top, "lease_ms"), 60000));
    CHECK(key_of(r.top, "reason") == NULL);
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_settle(&b, SL_SETTLE_TERM, "g", toks, 1, 7, "bad total") ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "term", 3));
    CHECK(is_str(key_of(r.top, "reason"), "bad total"));
    CHECK(key_of(r.top, "delay_ms") == NULL);
    req_free(&r);

    CHECK(sl_client_encode_settle(&b, SL_SETTLE_ACK, NULL, toks, 1, 0, NULL) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_settle(&b, SL_SETTLE_ACK, "g", NULL, 1, 0, NULL) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_settle(&b, (sl_settle_kind)9, "g", toks, 1, 0, NULL) ==
          SL_CLIENT_ERR_ARGUMENT);
    sl_client_buf_free(&b);
}

static void sample_config(sl_group_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->name, "billing");
    cfg->nfilters = 2;
    strcpy(cfg->filters[0], "order.*");
    strcpy(cfg->filters[1], "refund.>");
    cfg->start = SL_START_SEQ;
    cfg->start_value = 42;
    cfg->ack_wait_ms = 5000;
    cfg->max_deliveries = 3;
    cfg->max_inflight = 10;
    cfg->nbackoff = 2;
    cfg->backoff_ms[0] = 100;
    cfg->backoff_ms[1] = 1000;
}

TEST(encode_group_create_and_update)
{
    sl_group_config cfg;
    sample_config(&cfg);
    sl_client_buf b = {0};
    req r;
    REQUIRE(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_CREATE, &cfg,
                                       SL_CLIENT_GROUP_ALL) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "group.create", 8));
    CHECK(is_str(key_of(r.top, "name"), "billing"));
    const msgpack_object *f = key_of(r.top, "filters");
    REQUIRE(array_size(f) == 2);
    CHECK(is_str(&f->via.array.ptr[0], "order.*"));
    CHECK(is_str(&f->via.array.ptr[1], "refund.>"));
    CHECK(is_str(key_of(r.top, "start"), "seq"));
    CHECK(is_uint(key_of(r.top, "start_value"), 42));
    CHECK(is_uint(key_of(r.top, "ack_wait_ms"), 5000));
    CHECK(is_uint(key_of(r.top, "max_deliveries"), 3));
    CHECK(is_uint(key_of(r.top, "max_inflight"), 10));
    const msgpack_object *bo = key_of(r.top, "backoff_ms");
    REQUIRE(array_size(bo) == 2);
    CHECK(is_uint(&bo->via.array.ptr[1], 1000));
    req_free(&r);
    sl_client_buf_free(&b);

    /* only the masked fields; "latest" has no start_value */
    cfg.start = SL_START_LATEST;
    REQUIRE(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_UPDATE, &cfg,
                                       SL_CLIENT_GROUP_START | SL_CLIENT_GROUP_MAX_INFLIGHT) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "group.update", 3));
    CHECK(is_str(key_of(r.top, "start"), "latest"));
    CHECK(key_of(r.top, "start_value") == NULL);
    CHECK(key_of(r.top, "filters") == NULL);
    req_free(&r);
    sl_client_buf_free(&b);

    /* an empty backoff list is sent (it clears the backoff) */
    cfg.nbackoff = 0;
    REQUIRE(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_UPDATE, &cfg,
                                       SL_CLIENT_GROUP_BACKOFF) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "group.update", 2));
    CHECK(array_size(key_of(r.top, "backoff_ms")) == 0);
    req_free(&r);
    sl_client_buf_free(&b);

    sl_group_config bad = cfg;
    memset(bad.name, 'x', sizeof bad.name); /* not terminated */
    CHECK(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_CREATE, &bad, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    bad = cfg;
    bad.nfilters = SL_FILTERS_MAX + 1;
    CHECK(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_CREATE, &bad,
                                     SL_CLIENT_GROUP_FILTERS) == SL_CLIENT_ERR_ARGUMENT);
    bad = cfg;
    bad.nbackoff = SL_BACKOFF_MAX + 1;
    CHECK(sl_client_encode_group_put(&b, SL_CLIENT_OP_GROUP_CREATE, &bad,
                                     SL_CLIENT_GROUP_BACKOFF) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_group_put(&b, SL_CLIENT_OP_PING, &cfg, 0) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == 0);
    sl_client_buf_free(&b);
}

TEST(encode_group_name_log_dlq)
{
    sl_client_buf b = {0};
    req r;
    REQUIRE(sl_client_encode_group_name(&b, SL_CLIENT_OP_GROUP_GET, "billing") == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "group.get", 1));
    CHECK(is_str(key_of(r.top, "name"), "billing"));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_group_name(&b, SL_CLIENT_OP_GROUP_DELETE, "x") == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "group.delete", 1));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_log_read(&b, SL_CLIENT_LOG_OLDEST, 0, 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "log.read", 0));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_log_read(&b, SL_CLIENT_LOG_SEQ, 7, 50) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "log.read", 2));
    CHECK(is_uint(key_of(r.top, "from_seq"), 7));
    CHECK(is_uint(key_of(r.top, "max"), 50));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_log_read(&b, SL_CLIENT_LOG_TIME, 1763884800000ull, 0) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "log.read", 1));
    CHECK(is_uint(key_of(r.top, "from_time_ms"), 1763884800000ull));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_dlq_list(&b, "g", 9, 20) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "dlq.list", 3));
    CHECK(is_uint(key_of(r.top, "after_seq"), 9));
    CHECK(is_uint(key_of(r.top, "limit"), 20));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_dlq_get(&b, "g", 12) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "dlq.get", 2));
    CHECK(is_uint(key_of(r.top, "seq"), 12));
    req_free(&r);
    sl_client_buf_free(&b);

    uint64_t seqs[3] = {3, 5, 8};
    REQUIRE(sl_client_encode_dlq_change(&b, SL_CLIENT_OP_DLQ_REPLAY, "g", seqs, 3, false) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "dlq.replay", 2));
    const msgpack_object *s = key_of(r.top, "seqs");
    REQUIRE(array_size(s) == 3);
    CHECK(is_uint(&s->via.array.ptr[2], 8));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_dlq_change(&b, SL_CLIENT_OP_DLQ_PURGE, "g", NULL, 0, true) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "dlq.purge", 2));
    const msgpack_object *all = key_of(r.top, "all");
    CHECK(all && all->type == MSGPACK_OBJECT_BOOLEAN && all->via.boolean);
    CHECK(key_of(r.top, "seqs") == NULL);
    req_free(&r);
    CHECK(sl_client_encode_dlq_change(&b, SL_CLIENT_OP_DLQ_GET, "g", NULL, 0, true) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_dlq_get(&b, NULL, 1) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_ping(NULL) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_buf_free(&b);
}

/* ---- decoders: ok replies ---------------------------------------------------------- */

TEST(decode_ping_and_stats)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 3);
    rp_kv_str(&r, "version", "0.1.0");
    rp_kv_uint(&r, "proto", 1);
    rp_kv_uint(&r, "time_ms", 1763884800000ull);
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_PING, &r, &res) == SL_CLIENT_OK);
    CHECK(res.op == SL_CLIENT_OP_PING && res.error.status == SL_CLIENT_OK);
    CHECK(sl_slice_eq_cstr(res.ping.version, "0.1.0"));
    CHECK_EQ_U64(res.ping.proto, 1);
    CHECK_EQ_U64(res.ping.time_ms, 1763884800000ull);
    sl_client_result_free(&res);
    sl_client_result_free(&res); /* twice is fine */
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 10);
    rp_kv_str(&r, "version", "0.1.0");
    rp_kv_uint(&r, "events", 12);
    rp_kv_uint(&r, "next_seq", 13);
    rp_kv_uint(&r, "parked_pulls", 2);
    rp_kv_uint(&r, "journal_writes", 30);
    rp_kv_uint(&r, "commits", 3);
    rp_kv_uint(&r, "commit_requests", 250);
    rp_kv_uint(&r, "journal_us", 4321);
    rp_kv_uint(&r, "checkpoint_us", 765);
    rp_kv_uint(&r, "some_future_key", 99); /* unknown keys are ignored */
    REQUIRE(decode(SL_CLIENT_OP_STATS, &r, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, 12);
    CHECK_EQ_U64(res.stats.next_seq, 13);
    CHECK_EQ_U64(res.stats.parked_pulls, 2);
    CHECK_EQ_U64(res.stats.journal_writes, 30);
    CHECK_EQ_U64(res.stats.commits, 3);
    CHECK_EQ_U64(res.stats.commit_requests, 250);
    CHECK_EQ_U64(res.stats.journal_us, 4321);
    CHECK_EQ_U64(res.stats.checkpoint_us, 765);
    CHECK_EQ_U64(res.stats.quota_bytes, 0);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_publish)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "results");
    msgpack_pack_array(&r.pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&r.pk, 4);
        rp_kv_uint(&r, "seq", 7);
        rp_kv_str(&r, "id", "evt_00000000000000010000000000000007");
        rp_kv_uint(&r, "ts_ms", 1000);
        rp_str(&r, "duplicate");
        if (i)
            msgpack_pack_true(&r.pk);
        else
            msgpack_pack_false(&r.pk);
    }
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_PUBLISH, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.publish.n == 2);
    CHECK_EQ_U64(res.publish.results[0].seq, 7);
    CHECK(sl_slice_eq_cstr(res.publish.results[0].id, "evt_00000000000000010000000000000007"));
    CHECK(!res.publish.results[0].duplicate);
    CHECK(res.publish.results[1].duplicate);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_pull)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "deliveries");
    msgpack_pack_array(&r.pk, 2);
    rp_event(&r, 5, "order.created", "{\"id\":1}", true, 3);
    rp_kv_uint(&r, "attempt", 2);
    rp_kv_str(&r, "token", "0123456789abcdef0123456789abcdef");
    rp_kv_uint(&r, "lease_until_ms", 99);
    rp_event(&r, 6, "order.paid", "", false, 3);
    rp_kv_uint(&r, "attempt", 1);
    rp_kv_str(&r, "token", "fedcba9876543210fedcba9876543210");
    rp_kv_uint(&r, "lease_until_ms", 100);
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_PULL, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.pull.n == 2);
    const sl_client_delivery *d = &res.pull.deliveries[0];
    CHECK_EQ_U64(d->event.seq, 5);
    CHECK(sl_slice_eq_cstr(d->event.topic, "order.created"));
    CHECK(sl_slice_eq_cstr(d->event.payload, "{\"id\":1}"));
    CHECK(sl_slice_eq_cstr(d->event.content_type, "application/json"));
    REQUIRE(d->event.nheaders == 2);
    CHECK(sl_slice_eq_cstr(d->event.headers[0].key, "trace"));
    CHECK(sl_slice_eq_cstr(d->event.headers[1].value, "t1"));
    CHECK_EQ_U64(d->attempt, 2);
    CHECK(sl_slice_eq_cstr(d->token, "0123456789abcdef0123456789abcdef"));
    CHECK_EQ_U64(d->lease_until_ms, 99);
    d = &res.pull.deliveries[1];
    CHECK(d->event.payload.len == 0 && d->event.content_type.len == 0);
    CHECK(d->event.nheaders == 0 && d->event.headers == NULL);
    sl_client_result_free(&res);
    rp_free(&r);

    /* an empty pull (after a long-poll) */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "deliveries");
    msgpack_pack_array(&r.pk, 0);
    REQUIRE(decode(SL_CLIENT_OP_PULL, &r, &res) == SL_CLIENT_OK);
    CHECK(res.pull.n == 0);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_settle)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "results");
    msgpack_pack_array(&r.pk, 4);
    rp_str(&r, "ok");
    rp_str(&r, "stale");
    rp_str(&r, "gone");
    rp_str(&r, "invalid");
    static const sl_client_op ops[] = {SL_CLIENT_OP_ACK, SL_CLIENT_OP_NACK, SL_CLIENT_OP_EXTEND,
                                       SL_CLIENT_OP_TERM};
    for (size_t i = 0; i < 4; i++) {
        sl_client_result res;
        REQUIRE(decode(ops[i], &r, &res) == SL_CLIENT_OK);
        REQUIRE(res.settle.n == 4);
        CHECK(res.settle.status[0] == SL_TOKEN_OK);
        CHECK(res.settle.status[1] == SL_TOKEN_STALE);
        CHECK(res.settle.status[2] == SL_TOKEN_GONE);
        CHECK(res.settle.status[3] == SL_TOKEN_INVALID);
        sl_client_result_free(&res);
    }
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "results");
    msgpack_pack_array(&r.pk, 1);
    rp_str(&r, "maybe");
    sl_client_result res;
    CHECK(decode(SL_CLIENT_OP_ACK, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);
}

static void rp_group(reply *r, const char *name)
{
    msgpack_pack_map(&r->pk, 19);
    rp_kv_str(r, "name", name);
    rp_str(r, "filters");
    msgpack_pack_array(&r->pk, 2);
    rp_str(r, "order.*");
    rp_str(r, "refund.>");
    rp_kv_str(r, "start", "time");
    rp_kv_uint(r, "start_value", 1763884800000ull);
    rp_kv_uint(r, "ack_wait_ms", 5000);
    rp_kv_uint(r, "max_deliveries", 3);
    rp_kv_uint(r, "max_inflight", 10);
    rp_str(r, "backoff_ms");
    msgpack_pack_array(&r->pk, 2);
    msgpack_pack_uint64(&r->pk, 100);
    msgpack_pack_uint64(&r->pk, 2000);
    rp_kv_uint(r, "cursor", 11);
    rp_kv_uint(r, "lag", 4);
    rp_kv_uint(r, "in_flight", 2);
    rp_kv_uint(r, "waiting", 1);
    rp_kv_uint(r, "delivered", 20);
    rp_kv_uint(r, "redelivered", 5);
    rp_kv_uint(r, "acked", 14);
    rp_kv_uint(r, "dlq_size", 1);
    rp_kv_uint(r, "created_ms", 1763884700000ull);
    rp_str(r, "future");
    msgpack_pack_nil(&r->pk);
    rp_kv_uint(r, "future2", 1);
}

TEST(decode_groups)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "group");
    rp_group(&r, "billing");
    static const sl_client_op ops[] = {SL_CLIENT_OP_GROUP_CREATE, SL_CLIENT_OP_GROUP_UPDATE,
                                       SL_CLIENT_OP_GROUP_GET};
    for (size_t i = 0; i < 3; i++) {
        sl_client_result res;
        REQUIRE(decode(ops[i], &r, &res) == SL_CLIENT_OK);
        const sl_client_group *g = &res.group;
        CHECK(sl_slice_eq_cstr(g->name, "billing"));
        REQUIRE(g->nfilters == 2);
        CHECK(sl_slice_eq_cstr(g->filters[1], "refund.>"));
        CHECK(g->start == SL_START_TIME);
        CHECK_EQ_U64(g->start_value, 1763884800000ull);
        CHECK_EQ_U64(g->ack_wait_ms, 5000);
        CHECK_EQ_U64(g->max_deliveries, 3);
        CHECK_EQ_U64(g->max_inflight, 10);
        REQUIRE(g->nbackoff == 2);
        CHECK_EQ_U64(g->backoff_ms[1], 2000);
        CHECK_EQ_U64(g->cursor, 11);
        CHECK_EQ_U64(g->lag, 4);
        CHECK_EQ_U64(g->in_flight, 2);
        CHECK_EQ_U64(g->waiting, 1);
        CHECK_EQ_U64(g->delivered, 20);
        CHECK_EQ_U64(g->redelivered, 5);
        CHECK_EQ_U64(g->acked, 14);
        CHECK_EQ_U64(g->dlq_size, 1);
        CHECK_EQ_U64(g->created_ms, 1763884700000ull);
        sl_client_result_free(&res);
    }
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "groups");
    msgpack_pack_array(&r.pk, 2);
    rp_group(&r, "a");
    rp_group(&r, "b");
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_GROUP_LIST, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.groups.n == 2);
    CHECK(sl_slice_eq_cstr(res.groups.groups[1].name, "b"));
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 0);
    REQUIRE(decode(SL_CLIENT_OP_GROUP_DELETE, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_topics_and_log)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "topics");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_map(&r.pk, 5);
    rp_kv_str(&r, "name", "order.created");
    rp_kv_uint(&r, "events", 3);
    rp_kv_uint(&r, "bytes", 300);
    rp_kv_uint(&r, "first_seq", 1);
    rp_kv_uint(&r, "last_seq", 9);
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_TOPICS, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.topics.n == 1);
    CHECK(sl_slice_eq_cstr(res.topics.topics[0].name, "order.created"));
    CHECK_EQ_U64(res.topics.topics[0].bytes, 300);
    CHECK_EQ_U64(res.topics.topics[0].last_seq, 9);
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "events");
    msgpack_pack_array(&r.pk, 2);
    rp_event(&r, 1, "a", "x", false, 0);
    rp_event(&r, 2, "b", "y", true, 0);
    rp_kv_uint(&r, "next_seq", 3);
    REQUIRE(decode(SL_CLIENT_OP_LOG_READ, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.log.n == 2);
    CHECK_EQ_U64(res.log.events[1].seq, 2);
    CHECK(sl_slice_eq_cstr(res.log.events[1].payload, "y"));
    CHECK_EQ_U64(res.log.next_seq, 3);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* A DeadLetter, with or without its event. */
static void rp_dead_letter(reply *r, uint64_t seq, bool with_event)
{
    msgpack_pack_map(&r->pk, 5 + (with_event ? 1 : 0));
    rp_kv_uint(r, "seq", seq);
    rp_kv_str(r, "id", "evt_00000000000000010000000000000009");
    rp_kv_uint(r, "attempts", 5);
    rp_kv_uint(r, "dead_at_ms", 1234);
    rp_kv_str(r, "reason", "max deliveries exceeded");
    if (with_event) {
        rp_str(r, "event");
        rp_event(r, seq, "order.created", "{}", true, 0);
    }
}

TEST(decode_dlq)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "dead_letters");
    msgpack_pack_array(&r.pk, 2);
    rp_dead_letter(&r, 9, true);
    rp_dead_letter(&r, 10, false);
    rp_kv_uint(&r, "next_after", 10);
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_DLQ_LIST, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.dlq_list.n == 2);
    const sl_client_dead_letter *dl = &res.dlq_list.dead_letters[0];
    CHECK_EQ_U64(dl->seq, 9);
    CHECK_EQ_U64(dl->attempts, 5);
    CHECK(sl_slice_eq_cstr(dl->reason, "max deliveries exceeded"));
    CHECK(dl->has_event);
    CHECK(sl_slice_eq_cstr(dl->event.topic, "order.created"));
    CHECK(dl->event.nheaders == 2);
    CHECK(!res.dlq_list.dead_letters[1].has_event);
    CHECK_EQ_U64(res.dlq_list.next_after, 10);
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "dead_letter");
    rp_dead_letter(&r, 9, true);
    REQUIRE(decode(SL_CLIENT_OP_DLQ_GET, &r, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.dead_letter.seq, 9);
    CHECK(res.dead_letter.has_event);
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 2);
    rp_kv_uint(&r, "replayed", 4);
    rp_kv_uint(&r, "remaining", 1);
    REQUIRE(decode(SL_CLIENT_OP_DLQ_REPLAY, &r, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.dlq_change.count, 4);
    CHECK_EQ_U64(res.dlq_change.remaining, 1);
    sl_client_result_free(&res);
    /* purge wants "purged", not "replayed" */
    CHECK(decode(SL_CLIENT_OP_DLQ_PURGE, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strstr(res.error.message, "purged") != NULL);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* ---- decoders: error replies -------------------------------------------------------- */

static void rp_error(reply *r, const char *code, const char *message, const char *field,
                     int64_t index)
{
    msgpack_pack_map(&r->pk, 2);
    rp_str(r, "ok");
    msgpack_pack_false(&r->pk);
    rp_str(r, "error");
    msgpack_pack_map(&r->pk, 2 + (field ? 1 : 0) + (index >= 0 ? 1 : 0));
    rp_kv_str(r, "code", code);
    rp_kv_str(r, "message", message);
    if (field)
        rp_kv_str(r, "field", field);
    if (index >= 0)
        rp_kv_uint(r, "index", (uint64_t)index);
}

TEST(decode_server_errors)
{
    for (sl_client_op op = SL_CLIENT_OP_PING; op <= SL_CLIENT_OP_STATS; op++) {
        reply r;
        rp_init(&r);
        rp_error(&r, "not_found", "no group named \"billing\"", "group", -1);
        sl_client_result res;
        CHECK(decode(op, &r, &res) == SL_CLIENT_ERR_SERVER);
        CHECK(res.error.status == SL_CLIENT_ERR_SERVER);
        CHECK(strcmp(res.error.code, "not_found") == 0);
        CHECK(strcmp(res.error.message, "no group named \"billing\"") == 0);
        CHECK(strcmp(res.error.field, "group") == 0);
        CHECK(!res.error.has_index);
        sl_client_result_free(&res);
        rp_free(&r);
    }

    reply r;
    rp_init(&r);
    rp_error(&r, "invalid_argument", "bad topic", "events[3].topic", 3);
    sl_client_result res;
    CHECK(decode(SL_CLIENT_OP_PUBLISH, &r, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    CHECK(strcmp(res.error.field, "events[3].topic") == 0);
    CHECK(res.error.has_index && res.error.index == 3);
    sl_client_result_free(&res);
    rp_free(&r);

    /* an index of 0 is an index */
    rp_init(&r);
    rp_error(&r, "too_large", "payload over 1 MiB", NULL, 0);
    CHECK(decode(SL_CLIENT_OP_PUBLISH, &r, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(res.error.has_index && res.error.index == 0);
    CHECK(res.error.field[0] == '\0');
    sl_client_result_free(&res);
    rp_free(&r);

    /* control characters in a message are neutralised; long ones are cut */
    char longmsg[2000];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    longmsg[5] = '\033';
    rp_init(&r);
    rp_error(&r, "internal", longmsg, NULL, -1);
    CHECK(decode(SL_CLIENT_OP_STATS, &r, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strlen(res.error.message) == SL_CLIENT_MESSAGE_MAX - 1);
    CHECK(strchr(res.error.message, '\033') == NULL);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_malformed_errors)
{
    /* {"ok": false} without "error", error not a map, code missing or not str */
    reply r;
    sl_client_result res;
    for (int variant = 0; variant < 5; variant++) {
        rp_init(&r);
        msgpack_pack_map(&r.pk, variant == 0 ? 1 : 2);
        rp_str(&r, "ok");
        msgpack_pack_false(&r.pk);
        if (variant == 1) {
            rp_kv_str(&r, "error", "not_found");
        } else if (variant == 2) {
            rp_str(&r, "error");
            msgpack_pack_map(&r.pk, 1);
            rp_kv_str(&r, "message", "no code");
        } else if (variant == 3) {
            rp_str(&r, "error");
            msgpack_pack_map(&r.pk, 1);
            rp_kv_uint(&r, "code", 4);
        } else if (variant == 4) {
            rp_str(&r, "error");
            msgpack_pack_map(&r.pk, 2);
            rp_kv_str(&r, "code", "x");
            rp_kv_str(&r, "index", "three");
        }
        CHECK(decode(SL_CLIENT_OP_PING, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
        CHECK(strcmp(res.error.code, "bad_reply") == 0);
        sl_client_result_free(&res);
        rp_free(&r);
    }
}

/* ---- decoders: malformed replies ----------------------------------------------------- */

static sl_client_status decode_bytes(sl_client_op op, const void *p, size_t n)
{
    sl_client_result res;
    sl_client_status st = sl_client_decode_reply(op, p, n, &res);
    bool coherent = res.error.status == st &&
                    (st == SL_CLIENT_OK || (res.error.code[0] != '\0' && res.error.message[0]));
    if (st == SL_CLIENT_ERR_BAD_REPLY && strcmp(res.error.code, "bad_reply") != 0)
        coherent = false;
    sl_client_result_free(&res);
    return coherent ? st : (sl_client_status)-1;
}

TEST(decode_garbage)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"", 0},                                /* empty */
        {"\xc1", 1},                            /* reserved byte */
        {"hello", 5},                           /* a fixint and trailing bytes */
        {"\x81\xa2ok\xc3\x01", 6},              /* trailing bytes */
        {"\x81\xa2ok", 4},                      /* truncated */
        {"\xdd\xff\xff\xff\xff", 5},            /* array of 4 G elements */
        {"\xdf\xff\xff\xff\xff", 5},            /* map of 4 G pairs */
        {"\xdb\xff\xff\xff\xff", 5},            /* str of 4 GB */
        {"\x93\x01\x02\x03", 4},                /* not a map */
        {"\x80", 1},                            /* "ok" missing */
        {"\x81\xa2ok\x01", 5},                  /* "ok" not a bool */
        {"\x81\xa2ok\xc0", 5},                  /* "ok" nil */
        {"\x81\xa2ok\xc3", 5},                  /* ok, but the op's fields are missing */
        {"\x81\x01\xc3", 3},                    /* a non-string key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (sl_client_op op = SL_CLIENT_OP_PING; op <= SL_CLIENT_OP_STATS; op++) {
            if (op == SL_CLIENT_OP_GROUP_DELETE && i == 12)
                continue; /* {"ok": true} is a complete group.delete reply */
            sl_client_status st = decode_bytes(op, cases[i].bytes, cases[i].len);
            if (st != SL_CLIENT_ERR_BAD_REPLY)
                fprintf(stderr, "  case %zu op %s: status %d\n", i, sl_client_op_name(op), st);
            CHECK(st == SL_CLIENT_ERR_BAD_REPLY);
        }
    CHECK(decode_bytes(SL_CLIENT_OP_GROUP_DELETE, "\x81\xa2ok\xc3", 5) == SL_CLIENT_OK);

    /* nesting deeper than the guard allows */
    unsigned char deep[64];
    deep[0] = 0x81, deep[1] = 0xa2, deep[2] = 'o', deep[3] = 'k';
    memset(deep + 4, 0x91, sizeof deep - 5);
    deep[sizeof deep - 1] = 0xc3;
    CHECK(decode_bytes(SL_CLIENT_OP_PING, deep, sizeof deep) == SL_CLIENT_ERR_BAD_REPLY);

    /* bad arguments */
    sl_client_result res;
    CHECK(sl_client_decode_reply(SL_CLIENT_OP_PING, NULL, 3, &res) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_result_free(&res);
    CHECK(sl_client_decode_reply(SL_CLIENT_OP_RAW, "\x80", 1, &res) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_result_free(&res);
    CHECK(sl_client_decode_reply(SL_CLIENT_OP_PING, "\x80", 1, NULL) == SL_CLIENT_ERR_ARGUMENT);
}

TEST(decode_wrong_types)
{
    /* each reply is right but for one field */
    reply r;
    sl_client_result res;
    for (int variant = 0; variant < 9; variant++) {
        rp_init(&r);
        rp_ok(&r, 1);
        rp_str(&r, "deliveries");
        msgpack_pack_array(&r.pk, 1);
        msgpack_pack_map(&r.pk, 8 + (variant == 8 ? 1 : 0));
        if (variant == 0)
            rp_kv_str(&r, "seq", "5");
        else
            rp_kv_uint(&r, "seq", 5);
        rp_kv_str(&r, "id", "evt_x");
        if (variant == 1) {
            rp_str(&r, "topic");
            rp_bin(&r, "a");
        } else {
            rp_kv_str(&r, "topic", "a");
        }
        rp_kv_uint(&r, "ts_ms", 1);
        rp_str(&r, "payload");
        if (variant == 2)
            msgpack_pack_int64(&r.pk, -1);
        else
            rp_bin(&r, "p");
        if (variant == 3) {
            rp_str(&r, "attempt");
            msgpack_pack_int64(&r.pk, -2);
        } else if (variant == 4) {
            rp_kv_uint(&r, "attempt", 1ull << 40); /* out of uint32 range */
        } else if (variant == 5) {
            rp_str(&r, "attempt");
            msgpack_pack_double(&r.pk, 1.0);
        } else {
            rp_kv_uint(&r, "attempt", 1);
        }
        if (variant == 6) {
            rp_str(&r, "token");
            msgpack_pack_nil(&r.pk);
        } else {
            rp_kv_str(&r, "token", "t");
        }
        if (variant == 7) {
            rp_kv_str(&r, "headers", "k=v");
        } else {
            rp_kv_uint(&r, "lease_until_ms", 1);
        }
        if (variant == 8) {
            rp_str(&r, "headers");
            msgpack_pack_map(&r.pk, 1);
            rp_str(&r, "k");
            msgpack_pack_uint64(&r.pk, 1);
        }
        sl_client_status st = decode(SL_CLIENT_OP_PULL, &r, &res);
        if (st != SL_CLIENT_ERR_BAD_REPLY)
            fprintf(stderr, "  variant %d: status %d\n", variant, st);
        CHECK(st == SL_CLIENT_ERR_BAD_REPLY);
        CHECK(strstr(res.error.message, "deliveries[0]") != NULL);
        sl_client_result_free(&res);
        rp_free(&r);
    }

    /* a list whose elements are not maps, or too small to be complete */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "groups");
    msgpack_pack_array(&r.pk, 3);
    msgpack_pack_map(&r.pk, 0);
    msgpack_pack_map(&r.pk, 0);
    msgpack_pack_uint64(&r.pk, 1);
    CHECK(decode(SL_CLIENT_OP_GROUP_LIST, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);

    /* a group with an unknown start */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "group");
    msgpack_pack_map(&r.pk, 3);
    rp_kv_str(&r, "name", "g");
    rp_str(&r, "filters");
    msgpack_pack_array(&r.pk, 0);
    rp_kv_str(&r, "start", "yesterday");
    CHECK(decode(SL_CLIENT_OP_GROUP_GET, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* Every prefix of a valid reply is rejected as bad_reply, never a crash. */
static void truncate_everywhere(int *unit_failed_, sl_client_op op, const reply *r)
{
    REQUIRE(decode_bytes(op, r->sb.data, r->sb.size) == SL_CLIENT_OK);
    for (size_t n = 0; n < r->sb.size; n++) {
        /* a fresh heap copy of exactly n bytes, so ASan sees any over-read */
        char *p = malloc(n ? n : 1);
        REQUIRE(p);
        memcpy(p, r->sb.data, n);
        sl_client_status st = decode_bytes(op, p, n);
        free(p);
        if (st != SL_CLIENT_ERR_BAD_REPLY) {
            fprintf(stderr, "  %s cut at %zu of %zu: status %d\n", sl_client_op_name(op), n,
                    r->sb.size, st);
            CHECK(st == SL_CLIENT_ERR_BAD_REPLY);
            return;
        }
    }
}

TEST(decode_truncated_at_every_length)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "deliveries");
    msgpack_pack_array(&r.pk, 2);
    for (int i = 0; i < 2; i++) {
        rp_event(&r, 5 + i, "order.created", "{\"id\":1}", true, 3);
        rp_kv_uint(&r, "attempt", 1);
        rp_kv_str(&r, "token", "0123456789abcdef0123456789abcdef");
        rp_kv_uint(&r, "lease_until_ms", 99);
    }
    truncate_everywhere(unit_failed_, SL_CLIENT_OP_PULL, &r);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "dead_letters");
    msgpack_pack_array(&r.pk, 1);
    rp_dead_letter(&r, 9, true);
    rp_kv_uint(&r, "next_after", 0);
    truncate_everywhere(unit_failed_, SL_CLIENT_OP_DLQ_LIST, &r);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "groups");
    msgpack_pack_array(&r.pk, 1);
    rp_group(&r, "billing");
    truncate_everywhere(unit_failed_, SL_CLIENT_OP_GROUP_LIST, &r);
    rp_free(&r);

    rp_init(&r);
    rp_error(&r, "invalid_argument", "bad topic", "events[3].topic", 3);
    sl_client_result res;
    CHECK(decode(SL_CLIENT_OP_PUBLISH, &r, &res) == SL_CLIENT_ERR_SERVER);
    sl_client_result_free(&res);
    for (size_t n = 0; n < r.sb.size; n++)
        CHECK(decode_bytes(SL_CLIENT_OP_PUBLISH, r.sb.data, n) == SL_CLIENT_ERR_BAD_REPLY);
    rp_free(&r);
}

/* ---- webhooks: encoders ------------------------------------------------------------ */

static bool is_bool(const msgpack_object *o, bool v)
{
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean == v;
}

/* A configuration with every field set; borrows static strings. */
static void sample_webhook(sl_webhook_config *cfg)
{
    static const sl_header hs[2] = {{{"X-Team", 6}, {"billing", 7}}, {{"X-Empty", 7}, {"", 0}}};
    memset(cfg, 0, sizeof *cfg);
    cfg->name = sl_slice_of("orders");
    cfg->description = sl_slice_of("the order service");
    cfg->url = sl_slice_of("https://example.com/hook");
    cfg->nfilters = 2;
    cfg->filters[0] = sl_slice_of("order.*");
    cfg->filters[1] = sl_slice_of("refund.>");
    cfg->active = false;
    cfg->nretry = 3;
    cfg->retry_ms[0] = 1000;
    cfg->retry_ms[1] = 60000;
    cfg->retry_ms[2] = 3600000;
    cfg->timeout_ms = 5000;
    cfg->max_in_flight = 4;
    cfg->rate_limit = 50;
    cfg->disable_after = 0;
    cfg->nheaders = 2;
    memcpy(cfg->headers, hs, sizeof hs);
}

#define GIVEN_ALL 0x7ffu

TEST(encode_webhook_create_and_update)
{
    sl_webhook_config cfg;
    sample_webhook(&cfg);
    sl_client_buf b = {0};
    req r;

    /* create sends name and url always, the rest only when given */
    REQUIRE(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg, 0) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.create", 2));
    CHECK(is_str(key_of(r.top, "name"), "orders"));
    CHECK(is_str(key_of(r.top, "url"), "https://example.com/hook"));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, "ignored", &cfg,
                                         GIVEN_ALL) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.create", 11));
    CHECK(key_of(r.top, "id") == NULL);
    CHECK(is_str(key_of(r.top, "description"), "the order service"));
    const msgpack_object *f = key_of(r.top, "filters");
    REQUIRE(array_size(f) == 2);
    CHECK(is_str(&f->via.array.ptr[1], "refund.>"));
    CHECK(is_bool(key_of(r.top, "active"), false));
    const msgpack_object *rs = key_of(r.top, "retry_schedule_ms");
    REQUIRE(array_size(rs) == 3);
    CHECK(is_uint(&rs->via.array.ptr[2], 3600000));
    CHECK(is_uint(key_of(r.top, "timeout_ms"), 5000));
    CHECK(is_uint(key_of(r.top, "max_in_flight"), 4));
    CHECK(is_uint(key_of(r.top, "rate_limit"), 50));
    CHECK(is_uint(key_of(r.top, "disable_after"), 0));
    const msgpack_object *h = key_of(r.top, "headers");
    CHECK(map_size(h) == 2);
    CHECK(is_str(key_of(h, "X-Team"), "billing"));
    CHECK(is_str(key_of(h, "X-Empty"), ""));
    req_free(&r);
    sl_client_buf_free(&b);

    /* update: id and exactly the fields of the mask (an empty retry list clears it) */
    cfg.nretry = 0;
    REQUIRE(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_UPDATE, "wh_0123456789abcdef",
                                         &cfg, SL_WEBHOOK_GIVEN_URL | SL_WEBHOOK_GIVEN_RETRY |
                                                   SL_WEBHOOK_GIVEN_ACTIVE) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.update", 4));
    CHECK(is_str(key_of(r.top, "id"), "wh_0123456789abcdef"));
    CHECK(is_str(key_of(r.top, "url"), "https://example.com/hook"));
    CHECK(array_size(key_of(r.top, "retry_schedule_ms")) == 0);
    CHECK(is_bool(key_of(r.top, "active"), false));
    CHECK(key_of(r.top, "name") == NULL);
    req_free(&r);

    /* what cannot be sent */
    size_t len = b.len;
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_UPDATE, NULL, &cfg, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_GET, "x", &cfg, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, NULL, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg, 1u << 11) ==
          SL_CLIENT_ERR_ARGUMENT);
    cfg.nfilters = SL_WEBHOOK_FILTERS_MAX + 1;
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg,
                                       SL_WEBHOOK_GIVEN_FILTERS) == SL_CLIENT_ERR_ARGUMENT);
    /* ... but only when the field is sent */
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg, 0) ==
          SL_CLIENT_OK);
    len = b.len;
    cfg.nfilters = 1;
    cfg.nheaders = 1;
    cfg.headers[0].key = (sl_slice){NULL, 2};
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg,
                                       SL_WEBHOOK_GIVEN_HEADERS) == SL_CLIENT_ERR_ARGUMENT);
    cfg.url = (sl_slice){NULL, 5};
    CHECK(sl_client_encode_webhook_put(&b, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == len);
    CHECK(sl_client_encode_webhook_put(NULL, SL_CLIENT_OP_WEBHOOK_CREATE, NULL, &cfg, 0) ==
          SL_CLIENT_ERR_ARGUMENT);
    sl_client_buf_free(&b);
}

TEST(encode_webhook_id_page_and_small_ops)
{
    static const struct {
        sl_client_op op;
        const char *name;
    } ops[] = {{SL_CLIENT_OP_WEBHOOK_GET, "webhook.get"},
               {SL_CLIENT_OP_WEBHOOK_DELETE, "webhook.delete"},
               {SL_CLIENT_OP_WEBHOOK_ENABLE, "webhook.enable"},
               {SL_CLIENT_OP_WEBHOOK_DISABLE, "webhook.disable"},
               {SL_CLIENT_OP_WEBHOOK_RESET, "webhook.reset"},
               {SL_CLIENT_OP_WEBHOOK_TEST, "webhook.test"},
               {SL_CLIENT_OP_WEBHOOK_STATS, "webhook.stats"}};
    sl_client_buf b = {0};
    req r;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        REQUIRE(sl_client_encode_webhook_id(&b, ops[i].op, "wh_1") == SL_CLIENT_OK);
        req_open(&r, &b);
        CHECK(is_request(&r, ops[i].name, 1));
        CHECK(is_str(key_of(r.top, "id"), "wh_1"));
        req_free(&r);
        sl_client_buf_free(&b);
    }
    CHECK(sl_client_encode_webhook_id(&b, SL_CLIENT_OP_WEBHOOK_GET, NULL) ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_id(&b, SL_CLIENT_OP_WEBHOOK_LIST, "wh_1") ==
          SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == 0);

    REQUIRE(sl_client_encode_webhook_page(&b, SL_CLIENT_OP_WEBHOOK_LIST, "wh_1", 10) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.list", 2));
    CHECK(is_str(key_of(r.top, "after"), "wh_1"));
    CHECK(is_uint(key_of(r.top, "limit"), 10));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_webhook_page(&b, SL_CLIENT_OP_WEBHOOK_TARGETS, "", 0) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.targets", 0)); /* "" and 0 are omitted */
    req_free(&r);
    sl_client_buf_free(&b);
    CHECK(sl_client_encode_webhook_page(&b, SL_CLIENT_OP_WEBHOOK_GET, NULL, 0) ==
          SL_CLIENT_ERR_ARGUMENT);

    REQUIRE(sl_client_encode_webhook_rotate_secret(&b, "wh_1", 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.rotate_secret", 2));
    CHECK(is_uint(key_of(r.top, "overlap_ms"), 0));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_webhook_rotate_secret(&b, "wh_1", SL_DELAY_DEFAULT) ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.rotate_secret", 1));
    req_free(&r);
    sl_client_buf_free(&b);

    REQUIRE(sl_client_encode_webhook_retry(&b, "wh_1", "evt_9") == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.retry", 2));
    CHECK(is_str(key_of(r.top, "event_id"), "evt_9"));
    req_free(&r);
    sl_client_buf_free(&b);
    CHECK(sl_client_encode_webhook_retry(&b, "wh_1", NULL) == SL_CLIENT_ERR_ARGUMENT);

    REQUIRE(sl_client_encode_webhook_event_types(&b) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.event_types", 0));
    req_free(&r);
    sl_client_buf_free(&b);
}

TEST(encode_webhook_deliveries)
{
    sl_client_buf b = {0};
    req r;
    sl_client_deliveries_filter f = {.status = SL_DELIVERY_FAILED, .http_status = 503,
                                     .since_ms = 1000, .until_ms = 2000, .event_id = "evt_1"};
    REQUIRE(sl_client_encode_webhook_deliveries(&b, "wh_1", &f, 77, 20) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.deliveries", 8));
    CHECK(is_str(key_of(r.top, "id"), "wh_1"));
    CHECK(is_str(key_of(r.top, "status"), "failed"));
    CHECK(is_uint(key_of(r.top, "http_status"), 503));
    CHECK(is_uint(key_of(r.top, "since_ms"), 1000));
    CHECK(is_uint(key_of(r.top, "until_ms"), 2000));
    CHECK(is_str(key_of(r.top, "event_id"), "evt_1"));
    CHECK(is_uint(key_of(r.top, "before"), 77));
    CHECK(is_uint(key_of(r.top, "limit"), 20));
    req_free(&r);
    sl_client_buf_free(&b);

    f = (sl_client_deliveries_filter){.status = SL_DELIVERY_SUCCEEDED};
    REQUIRE(sl_client_encode_webhook_deliveries(&b, "wh_1", &f, 0, 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.deliveries", 2));
    CHECK(is_str(key_of(r.top, "status"), "succeeded"));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_webhook_deliveries(&b, "wh_1", NULL, 0, 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.deliveries", 1));
    req_free(&r);
    sl_client_buf_free(&b);

    f.status = (sl_delivery_status_filter)7;
    CHECK(sl_client_encode_webhook_deliveries(&b, "wh_1", &f, 0, 0) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_deliveries(&b, NULL, NULL, 0, 0) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == 0);
    sl_client_buf_free(&b);
}

TEST(encode_webhook_report)
{
    sl_webhook_attempt at[2] = {
        {.token = sl_slice_of("0123456789abcdef0123456789abcdef"), .http_status = 503,
         .error = sl_slice_of(""), .latency_us = 1200, .body = sl_slice_of("busy\x00\xff"),
         .retry_after_ms = 30000, .sent_ms = 1763884800000ull},
        {.token = sl_slice_of("t2"), .error = sl_slice_of("timeout")},
    };
    at[0].body.len = 6;
    sl_client_buf b = {0};
    req r;
    REQUIRE(sl_client_encode_webhook_report(&b, "wh_1", at, 2) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "webhook.report", 2));
    CHECK(is_str(key_of(r.top, "id"), "wh_1"));
    const msgpack_object *a = key_of(r.top, "attempts");
    REQUIRE(array_size(a) == 2);
    const msgpack_object *a0 = &a->via.array.ptr[0], *a1 = &a->via.array.ptr[1];
    CHECK(map_size(a0) == 6); /* the empty error is left out */
    CHECK(is_str(key_of(a0, "token"), "0123456789abcdef0123456789abcdef"));
    CHECK(is_uint(key_of(a0, "http_status"), 503));
    CHECK(is_uint(key_of(a0, "latency_us"), 1200));
    const msgpack_object *body = key_of(a0, "body");
    CHECK(body && body->type == MSGPACK_OBJECT_BIN && body->via.bin.size == 6 &&
          memcmp(body->via.bin.ptr, "busy\x00\xff", 6) == 0);
    CHECK(is_uint(key_of(a0, "retry_after_ms"), 30000));
    CHECK(is_uint(key_of(a0, "sent_ms"), 1763884800000ull));
    CHECK(map_size(a1) == 2);
    CHECK(is_str(key_of(a1, "error"), "timeout"));
    req_free(&r);

    size_t len = b.len;
    CHECK(sl_client_encode_webhook_report(&b, "wh_1", NULL, 1) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_webhook_report(&b, NULL, at, 1) == SL_CLIENT_ERR_ARGUMENT);
    at[1].token = (sl_slice){NULL, 1};
    CHECK(sl_client_encode_webhook_report(&b, "wh_1", at, 2) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == len);
    sl_client_buf_free(&b);
}

/* ---- webhooks: decoders ---------------------------------------------------------------- */

/* A Webhook (or, with target, a Target: secrets as str) of every key. */
static void rp_webhook(reply *r, const char *id, bool target)
{
    msgpack_pack_map(&r->pk, 19);
    rp_kv_str(r, "id", id);
    rp_kv_str(r, "name", "orders");
    rp_kv_str(r, "description", "the order service");
    rp_kv_str(r, "url", "https://example.com/hook");
    rp_str(r, "filters");
    msgpack_pack_array(&r->pk, 2);
    rp_str(r, "order.*");
    rp_str(r, "refund.>");
    rp_str(r, "active");
    msgpack_pack_false(&r->pk);
    rp_kv_str(r, "disabled_reason", "failing");
    rp_kv_uint(r, "disabled_ms", 1763884900000ull);
    rp_str(r, "retry_schedule_ms");
    msgpack_pack_array(&r->pk, 2);
    msgpack_pack_uint64(&r->pk, 30000);
    msgpack_pack_uint64(&r->pk, 300000);
    rp_kv_uint(r, "timeout_ms", 10000);
    rp_kv_uint(r, "max_in_flight", 16);
    rp_kv_uint(r, "rate_limit", 5);
    rp_kv_uint(r, "disable_after", 3);
    rp_str(r, "headers");
    msgpack_pack_map(&r->pk, 1);
    rp_kv_str(r, "X-Team", "billing");
    rp_kv_str(r, "group", "_wh.wh_0123456789abcdef");
    rp_kv_uint(r, "consecutive_failures", 3);
    rp_str(r, "secrets");
    msgpack_pack_array(&r->pk, 2);
    if (target) {
        rp_str(r, "whsec_new");
        rp_str(r, "whsec_old");
    } else {
        msgpack_pack_map(&r->pk, 1);
        rp_kv_uint(r, "expires_ms", 0);
        msgpack_pack_map(&r->pk, 1);
        rp_kv_uint(r, "expires_ms", 1763971200000ull);
    }
    rp_kv_uint(r, "created_ms", 1763884800000ull);
    rp_kv_uint(r, "updated_ms", 1763884850000ull);
}

/* Checks every field rp_webhook wrote. */
static void check_webhook(int *unit_failed_, const sl_client_webhook *w, bool target)
{
    CHECK(sl_slice_eq_cstr(w->id, "wh_0123456789abcdef"));
    CHECK(sl_slice_eq_cstr(w->name, "orders"));
    CHECK(sl_slice_eq_cstr(w->description, "the order service"));
    CHECK(sl_slice_eq_cstr(w->url, "https://example.com/hook"));
    REQUIRE(w->nfilters == 2);
    CHECK(sl_slice_eq_cstr(w->filters[1], "refund.>"));
    CHECK(!w->active);
    CHECK(sl_slice_eq_cstr(w->disabled_reason, "failing"));
    CHECK_EQ_U64(w->disabled_ms, 1763884900000ull);
    REQUIRE(w->nretry == 2);
    CHECK_EQ_U64(w->retry_schedule_ms[1], 300000);
    CHECK_EQ_U64(w->timeout_ms, 10000);
    CHECK_EQ_U64(w->max_in_flight, 16);
    CHECK_EQ_U64(w->rate_limit, 5);
    CHECK_EQ_U64(w->disable_after, 3);
    REQUIRE(w->nheaders == 1);
    CHECK(sl_slice_eq_cstr(w->headers[0].key, "X-Team"));
    CHECK(sl_slice_eq_cstr(w->headers[0].value, "billing"));
    CHECK(sl_slice_eq_cstr(w->group, "_wh.wh_0123456789abcdef"));
    CHECK_EQ_U64(w->consecutive_failures, 3);
    REQUIRE(w->nsecrets == 2);
    if (target) {
        CHECK(w->secret_expires_ms == NULL);
        REQUIRE(w->secrets != NULL);
        CHECK(sl_slice_eq_cstr(w->secrets[0], "whsec_new"));
        CHECK(sl_slice_eq_cstr(w->secrets[1], "whsec_old"));
    } else {
        CHECK(w->secrets == NULL);
        REQUIRE(w->secret_expires_ms != NULL);
        CHECK_EQ_U64(w->secret_expires_ms[0], 0);
        CHECK_EQ_U64(w->secret_expires_ms[1], 1763971200000ull);
    }
    CHECK_EQ_U64(w->created_ms, 1763884800000ull);
    CHECK_EQ_U64(w->updated_ms, 1763884850000ull);
}

TEST(decode_webhook_one)
{
    static const sl_client_op ops[] = {
        SL_CLIENT_OP_WEBHOOK_CREATE, SL_CLIENT_OP_WEBHOOK_UPDATE, SL_CLIENT_OP_WEBHOOK_GET,
        SL_CLIENT_OP_WEBHOOK_ENABLE, SL_CLIENT_OP_WEBHOOK_DISABLE, SL_CLIENT_OP_WEBHOOK_RESET,
        SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET};
    reply r;
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "webhook");
    rp_webhook(&r, "wh_0123456789abcdef", false);
    rp_kv_str(&r, "secret", "whsec_AAAA");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        sl_client_result res;
        REQUIRE(decode(ops[i], &r, &res) == SL_CLIENT_OK);
        check_webhook(unit_failed_, &res.webhook.webhook, false);
        bool with_secret = ops[i] == SL_CLIENT_OP_WEBHOOK_CREATE ||
                           ops[i] == SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET;
        CHECK(sl_slice_eq_cstr(res.webhook.secret, with_secret ? "whsec_AAAA" : ""));
        sl_client_result_free(&res);
    }
    rp_free(&r);

    /* create and rotate_secret need the secret; the others do not */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "webhook");
    rp_webhook(&r, "wh_0123456789abcdef", false);
    sl_client_result res;
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_GET, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_CREATE, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strstr(res.error.message, "secret") != NULL);
    sl_client_result_free(&res);
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);

    /* only id, name, url, filters, active and group are required */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "webhook");
    msgpack_pack_map(&r.pk, 6);
    rp_kv_str(&r, "id", "wh_1");
    rp_kv_str(&r, "name", "n");
    rp_kv_str(&r, "url", "http://x");
    rp_str(&r, "filters");
    msgpack_pack_array(&r.pk, 0);
    rp_str(&r, "active");
    msgpack_pack_true(&r.pk);
    rp_kv_str(&r, "group", "_wh.wh_1");
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_GET, &r, &res) == SL_CLIENT_OK);
    CHECK(res.webhook.webhook.active);
    CHECK(res.webhook.webhook.nsecrets == 0 && res.webhook.webhook.nretry == 0);
    CHECK(res.webhook.webhook.description.len == 0);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_webhook_list_and_targets)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "webhooks");
    msgpack_pack_array(&r.pk, 2);
    rp_webhook(&r, "wh_0123456789abcdef", false);
    rp_webhook(&r, "wh_0123456789abcdef", false);
    rp_kv_str(&r, "next_after", "wh_0123456789abcdef");
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_LIST, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhooks.n == 2);
    check_webhook(unit_failed_, &res.webhooks.webhooks[1], false);
    CHECK(sl_slice_eq_cstr(res.webhooks.next_after, "wh_0123456789abcdef"));
    sl_client_result_free(&res);
    /* a list reply is no targets reply */
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_TARGETS, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "targets");
    msgpack_pack_array(&r.pk, 1);
    rp_webhook(&r, "wh_0123456789abcdef", true);
    rp_kv_str(&r, "next_after", "");
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_TARGETS, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhooks.n == 1);
    check_webhook(unit_failed_, &res.webhooks.webhooks[0], true);
    CHECK(res.webhooks.next_after.len == 0);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* A delivery attempt entry; result as given. */
static void rp_attempt_entry(reply *r, uint64_t entry, const char *result)
{
    msgpack_pack_map(&r->pk, 11);
    rp_kv_uint(r, "entry", entry);
    rp_kv_uint(r, "seq", 9);
    rp_kv_str(r, "event_id", "evt_00000000000000010000000000000009");
    rp_kv_str(r, "topic", "order.created");
    rp_kv_uint(r, "attempt", 2);
    rp_kv_uint(r, "time_ms", 1763884800000ull);
    rp_kv_uint(r, "http_status", 503);
    rp_kv_str(r, "error", "");
    rp_kv_uint(r, "latency_us", 1500);
    rp_str(r, "body");
    rp_bin(r, "try later");
    rp_kv_str(r, "result", result);
}

TEST(decode_webhook_stats_test_types_deliveries)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "stats");
    msgpack_pack_map(&r.pk, 14);
    static const char *const keys[] = {"attempts", "successes", "failures", "dead",
                                       "last_status", "last_attempt_ms", "last_success_ms",
                                       "latency_p50_us", "latency_p99_us", "backlog",
                                       "in_flight", "waiting", "dlq_size"};
    for (size_t i = 0; i < 13; i++)
        rp_kv_uint(&r, keys[i], 100 + i);
    rp_kv_str(&r, "last_error", "timeout");
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_STATS, &r, &res) == SL_CLIENT_OK);
    const sl_client_webhook_stats *s = &res.webhook_stats;
    CHECK_EQ_U64(s->attempts, 100);
    CHECK_EQ_U64(s->successes, 101);
    CHECK_EQ_U64(s->failures, 102);
    CHECK_EQ_U64(s->dead, 103);
    CHECK_EQ_U64(s->last_status, 104);
    CHECK_EQ_U64(s->last_attempt_ms, 105);
    CHECK_EQ_U64(s->last_success_ms, 106);
    CHECK_EQ_U64(s->latency_p50_us, 107);
    CHECK_EQ_U64(s->latency_p99_us, 108);
    CHECK_EQ_U64(s->backlog, 109);
    CHECK_EQ_U64(s->in_flight, 110);
    CHECK_EQ_U64(s->waiting, 111);
    CHECK_EQ_U64(s->dlq_size, 112);
    CHECK(sl_slice_eq_cstr(s->last_error, "timeout"));
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 2);
    rp_kv_uint(&r, "seq", 42);
    rp_kv_str(&r, "id", "evt_0000000000000001000000000000002a");
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_TEST, &r, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook_test.seq, 42);
    CHECK(sl_slice_eq_cstr(res.webhook_test.event_id, "evt_0000000000000001000000000000002a"));
    sl_client_result_free(&res);
    rp_free(&r);

    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "types");
    msgpack_pack_array(&r.pk, 2);
    rp_str(&r, "order.created");
    rp_str(&r, "order.paid");
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_EVENT_TYPES, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.event_types.n == 2);
    CHECK(sl_slice_eq_cstr(res.event_types.types[1], "order.paid"));
    sl_client_result_free(&res);
    rp_free(&r);

    static const char *const results[] = {"delivered", "retry", "dead", "disabled", "stale"};
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "deliveries");
    msgpack_pack_array(&r.pk, 5);
    for (size_t i = 0; i < 5; i++)
        rp_attempt_entry(&r, 10 - i, results[i]);
    rp_kv_uint(&r, "next_before", 6);
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_DELIVERIES, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhook_deliveries.n == 5);
    const sl_client_webhook_attempt_entry *e = &res.webhook_deliveries.entries[0];
    CHECK_EQ_U64(e->entry, 10);
    CHECK_EQ_U64(e->seq, 9);
    CHECK(sl_slice_eq_cstr(e->event_id, "evt_00000000000000010000000000000009"));
    CHECK(sl_slice_eq_cstr(e->topic, "order.created"));
    CHECK_EQ_U64(e->attempt, 2);
    CHECK_EQ_U64(e->time_ms, 1763884800000ull);
    CHECK_EQ_U64(e->http_status, 503);
    CHECK(e->error.len == 0);
    CHECK_EQ_U64(e->latency_us, 1500);
    CHECK(sl_slice_eq_cstr(e->body, "try later"));
    CHECK(e->result == SL_ATTEMPT_DELIVERED);
    CHECK(res.webhook_deliveries.entries[1].result == SL_ATTEMPT_RETRY);
    CHECK(res.webhook_deliveries.entries[2].result == SL_ATTEMPT_DEAD);
    CHECK(res.webhook_deliveries.entries[3].result == SL_ATTEMPT_DISABLED);
    CHECK(res.webhook_deliveries.entries[4].result == SL_ATTEMPT_STALE);
    CHECK_EQ_U64(res.webhook_deliveries.next_before, 6);
    sl_client_result_free(&res);
    rp_free(&r);

    /* delete and retry answer nothing else */
    rp_init(&r);
    rp_ok(&r, 0);
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_DELETE, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_RETRY, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    rp_free(&r);
}

TEST(decode_webhook_report)
{
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "outcomes");
    msgpack_pack_array(&r.pk, 3);
    msgpack_pack_map(&r.pk, 3);
    rp_kv_str(&r, "result", "retry");
    rp_kv_uint(&r, "attempt", 1);
    rp_kv_uint(&r, "retry_at_ms", 1763884830000ull);
    msgpack_pack_map(&r.pk, 2);
    rp_kv_str(&r, "result", "delivered");
    rp_kv_uint(&r, "attempt", 3);
    msgpack_pack_map(&r.pk, 3);
    rp_kv_str(&r, "result", "dead");
    rp_kv_uint(&r, "attempt", 5);
    rp_kv_uint(&r, "retry_at_ms", 0);
    sl_client_result res;
    REQUIRE(decode(SL_CLIENT_OP_WEBHOOK_REPORT, &r, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhook_report.n == 3);
    const sl_webhook_outcome *o = res.webhook_report.outcomes;
    CHECK(o[0].result == SL_ATTEMPT_RETRY && o[0].attempt == 1);
    CHECK_EQ_U64(o[0].retry_at_ms, 1763884830000ull);
    CHECK(o[1].result == SL_ATTEMPT_DELIVERED && o[1].attempt == 3 && o[1].retry_at_ms == 0);
    CHECK(o[2].result == SL_ATTEMPT_DEAD && o[2].attempt == 5);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* The ok replies of every webhook op, as the decoder tests build them. */
static void rp_webhook_reply(reply *r, sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_WEBHOOK_LIST:
    case SL_CLIENT_OP_WEBHOOK_TARGETS:
        rp_ok(r, 2);
        rp_str(r, op == SL_CLIENT_OP_WEBHOOK_LIST ? "webhooks" : "targets");
        msgpack_pack_array(&r->pk, 1);
        rp_webhook(r, "wh_0123456789abcdef", op == SL_CLIENT_OP_WEBHOOK_TARGETS);
        rp_kv_str(r, "next_after", "");
        break;
    case SL_CLIENT_OP_WEBHOOK_DELIVERIES:
        rp_ok(r, 2);
        rp_str(r, "deliveries");
        msgpack_pack_array(&r->pk, 2);
        rp_attempt_entry(r, 2, "retry");
        rp_attempt_entry(r, 1, "dead");
        rp_kv_uint(r, "next_before", 0);
        break;
    default:
        rp_ok(r, 2);
        rp_str(r, "webhook");
        rp_webhook(r, "wh_0123456789abcdef", false);
        rp_kv_str(r, "secret", "whsec_AAAA");
        break;
    }
}

TEST(decode_webhook_malformed)
{
    /* server errors and garbage, for every webhook op */
    for (sl_client_op op = SL_CLIENT_OP_WEBHOOK_CREATE; op <= SL_CLIENT_OP_WEBHOOK_REPORT; op++) {
        reply r;
        rp_init(&r);
        rp_error(&r, "not_found", "no webhook with id \"wh_1\"", "id", -1);
        sl_client_result res;
        CHECK(decode(op, &r, &res) == SL_CLIENT_ERR_SERVER);
        CHECK(strcmp(res.error.code, "not_found") == 0 && strcmp(res.error.field, "id") == 0);
        sl_client_result_free(&res);
        rp_free(&r);
        bool nothing = op == SL_CLIENT_OP_WEBHOOK_DELETE || op == SL_CLIENT_OP_WEBHOOK_RETRY;
        CHECK(decode_bytes(op, "\x81\xa2ok\xc3", 5) ==
              (nothing ? SL_CLIENT_OK : SL_CLIENT_ERR_BAD_REPLY));
        CHECK(decode_bytes(op, "\x93\x01\x02\x03", 4) == SL_CLIENT_ERR_BAD_REPLY);
        CHECK(decode_bytes(op, "\x81\xa2ok", 4) == SL_CLIENT_ERR_BAD_REPLY);
        CHECK(decode_bytes(op, "\xdd\xff\xff\xff\xff", 5) == SL_CLIENT_ERR_BAD_REPLY);
    }

    /* one wrong field each */
    sl_client_result res;
    for (int variant = 0; variant < 8; variant++) {
        reply r;
        rp_init(&r);
        rp_ok(&r, 1);
        rp_str(&r, "webhook");
        msgpack_pack_map(&r.pk, 7);
        rp_kv_str(&r, "id", "wh_1");
        rp_kv_str(&r, "name", "n");
        if (variant == 0)
            rp_kv_uint(&r, "url", 1);
        else
            rp_kv_str(&r, "url", "http://x");
        rp_str(&r, "filters");
        if (variant == 1) {
            rp_str(&r, ">");
        } else {
            msgpack_pack_array(&r.pk, 1);
            if (variant == 2)
                msgpack_pack_uint64(&r.pk, 1);
            else
                rp_str(&r, ">");
        }
        rp_str(&r, "active");
        if (variant == 3)
            rp_str(&r, "yes");
        else
            msgpack_pack_true(&r.pk);
        rp_kv_str(&r, variant == 4 ? "grp" : "group", "_wh.wh_1");
        rp_str(&r, "secrets");
        if (variant == 5) {
            msgpack_pack_array(&r.pk, 1);
            rp_str(&r, "whsec_leaked"); /* a Target's secrets in a Webhook */
        } else if (variant == 6) {
            msgpack_pack_array(&r.pk, 1);
            msgpack_pack_map(&r.pk, 1);
            rp_kv_str(&r, "expires_ms", "never");
        } else if (variant == 7) {
            msgpack_pack_map(&r.pk, 0);
        } else {
            msgpack_pack_array(&r.pk, 0);
        }
        sl_client_status st = decode(SL_CLIENT_OP_WEBHOOK_GET, &r, &res);
        if (st != SL_CLIENT_ERR_BAD_REPLY)
            fprintf(stderr, "  variant %d: status %d\n", variant, st);
        CHECK(st == SL_CLIENT_ERR_BAD_REPLY);
        CHECK(strcmp(res.error.code, "bad_reply") == 0);
        sl_client_result_free(&res);
        rp_free(&r);
    }

    /* an unknown result name, a non-map outcome, a missing next_before */
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "outcomes");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_map(&r.pk, 2);
    rp_kv_str(&r, "result", "lost");
    rp_kv_uint(&r, "attempt", 1);
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_REPORT, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strstr(res.error.message, "outcomes[0].result") != NULL);
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "outcomes");
    msgpack_pack_array(&r.pk, 1);
    rp_str(&r, "delivered");
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_REPORT, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "deliveries");
    msgpack_pack_array(&r.pk, 1);
    rp_attempt_entry(&r, 1, "retry");
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_DELIVERIES, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strstr(res.error.message, "next_before") != NULL);
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "types");
    msgpack_pack_array(&r.pk, 1);
    rp_bin(&r, "order.created");
    CHECK(decode(SL_CLIENT_OP_WEBHOOK_EVENT_TYPES, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);

    /* truncated anywhere */
    static const sl_client_op cut[] = {SL_CLIENT_OP_WEBHOOK_CREATE, SL_CLIENT_OP_WEBHOOK_LIST,
                                       SL_CLIENT_OP_WEBHOOK_TARGETS,
                                       SL_CLIENT_OP_WEBHOOK_DELIVERIES};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        rp_init(&r);
        rp_webhook_reply(&r, cut[i]);
        truncate_everywhere(unit_failed_, cut[i], &r);
        rp_free(&r);
    }
}

/* ---- the transport: nothing listening ----------------------------------------------- */

TEST(open_unreachable_is_unavailable)
{
    uint64_t t0 = test_mono_ms();
    sl_client *c = (sl_client *)1;
    sl_client_error err;
    sl_client_options opt = {.timeout_ms = 300};
    CHECK(sl_client_open("tcp://127.0.0.1:1", &opt, &c, &err) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(c == NULL);
    CHECK(strcmp(err.code, "unavailable") == 0);
    CHECK(err.nng_error != 0);
    CHECK(strstr(err.message, "tcp://127.0.0.1:1") != NULL);
    CHECK(test_mono_ms() - t0 < 3000);
}

TEST(lazy_client_call_is_unavailable)
{
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_options opt = {.timeout_ms = 300, .lazy_connect = true};
    REQUIRE(sl_client_open("tcp://127.0.0.1:1", &opt, &c, &err) == SL_CLIENT_OK);
    CHECK(sl_client_timeout_ms(c) == 300);
    uint64_t t0 = test_mono_ms();
    sl_client_result res;
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "unavailable") == 0 || strcmp(res.error.code, "timeout") == 0);
    sl_client_result_free(&res);
    uint64_t took = test_mono_ms() - t0;
    CHECK(took >= 250 && took < 3000);

    /* a pull waits for the connection no longer than the timeout either */
    t0 = test_mono_ms();
    CHECK(sl_client_pull(c, "g", 1, 60000, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "unavailable") == 0);
    sl_client_result_free(&res);
    CHECK(test_mono_ms() - t0 < 3000);

    t0 = test_mono_ms();
    CHECK(sl_client_call_raw(c, "xyz", 3, 100, &res) == SL_CLIENT_ERR_TRANSPORT);
    sl_client_result_free(&res);
    CHECK(test_mono_ms() - t0 < 2000);
    sl_client_close(c);
}

TEST(open_bad_arguments)
{
    sl_client *c = NULL;
    sl_client_error err;
    CHECK(sl_client_open("nope://x", NULL, &c, &err) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(strcmp(err.code, "invalid_argument") == 0);
    CHECK(sl_client_open("tcp://127.0.0.1", NULL, &c, &err) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_open(NULL, NULL, &c, &err) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_open("tcp://127.0.0.1:1", NULL, NULL, NULL) == SL_CLIENT_ERR_ARGUMENT);
    /* TLS needs a CA file, and a readable one */
    CHECK(sl_client_open("tls+tcp://127.0.0.1:1", NULL, &c, &err) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(strstr(err.message, "CA") != NULL);
    sl_client_options opt = {.tls_ca_file = "/nonexistent/ca.pem"};
    CHECK(sl_client_open("wss://127.0.0.1:1/q", &opt, &c, &err) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(c == NULL);
    sl_client_result res;
    CHECK(sl_client_ping(NULL, &res) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_result_free(&res);
    CHECK(sl_client_ping(NULL, NULL) == SL_CLIENT_ERR_ARGUMENT);
    sl_client_close(NULL);
}

/* ---- the transport: a scripted REP server in this process ---------------------------- */

typedef enum fake_mode {
    FAKE_ECHO,      /* answer each request with its own bytes */
    FAKE_SILENT,    /* never answer */
    FAKE_DROP,      /* close the connection a request came on */
    FAKE_CANNED     /* answer every request with the bytes in canned */
} fake_mode;

typedef struct fake_server {
    nng_socket sock;          /* rep0, listening on url */
    pthread_t thread;         /* runs fake_loop */
    fake_mode mode;           /* how to answer */
    atomic_int requests;      /* requests received */
    const void *canned;       /* FAKE_CANNED: the reply (borrowed) */
    size_t canned_len;
    char *dir;                /* temp dir of the ipc socket (owned) */
    int late_rc;              /* listen_late: what fake_listen returned */
    char url[300];            /* ipc:// URL */
} fake_server;

static void *fake_loop(void *arg)
{
    fake_server *f = arg;
    for (;;) {
        nng_msg *m;
        if (nng_recvmsg(f->sock, &m, 0) != 0)
            return NULL; /* closed */
        atomic_fetch_add(&f->requests, 1);
        if (f->mode == FAKE_CANNED) {
            nng_msg_clear(m);
            if (nng_msg_append(m, f->canned, f->canned_len) != 0 || nng_sendmsg(f->sock, m, 0) != 0)
                nng_msg_free(m);
        } else if (f->mode == FAKE_ECHO) {
            if (nng_sendmsg(f->sock, m, 0) != 0)
                nng_msg_free(m);
        } else {
            if (f->mode == FAKE_DROP)
                nng_pipe_close(nng_msg_get_pipe(m));
            nng_msg_free(m);
        }
    }
}

/* Open the REP socket, listen on f->url and start answering. */
static int fake_listen(fake_server *f)
{
    if (nng_rep0_open(&f->sock) != 0)
        return -1;
    if (nng_listen(f->sock, f->url, NULL, 0) != 0 ||
        pthread_create(&f->thread, NULL, fake_loop, f) != 0) {
        nng_close(f->sock);
        return -1;
    }
    return 0;
}

static int fake_start_canned(fake_server *f, fake_mode mode, const void *canned, size_t len)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->canned = canned;
    f->canned_len = len;
    if (!(f->dir = test_tmpdir("client")))
        return -1;
    snprintf(f->url, sizeof f->url, "ipc://%s/fake.sock", f->dir);
    return fake_listen(f);
}

static int fake_start(fake_server *f, fake_mode mode)
{
    return fake_start_canned(f, mode, NULL, 0);
}

/* Close the server's socket (dropping every connection) and listen again
 * on the same URL with a new one, as a restarted daemon would. */
static int fake_restart(fake_server *f)
{
    nng_close(f->sock);
    pthread_join(f->thread, NULL);
    return fake_listen(f);
}

static void fake_stop(fake_server *f)
{
    nng_close(f->sock);
    pthread_join(f->thread, NULL);
    test_rmtree(f->dir);
    free(f->dir);
}

/* A client of url opened with opt, or NULL (the error printed). */
static sl_client *open_client(const char *url, sl_client_options opt)
{
    sl_client *c = NULL;
    sl_client_error err;
    if (sl_client_open(url, &opt, &c, &err) != SL_CLIENT_OK)
        fprintf(stderr, "  open %s: %s: %s\n", url, err.code, err.message);
    return c;
}

TEST(raw_call_roundtrip_and_decode_via_fake_server)
{
    fake_server f;
    REQUIRE(fake_start(&f, FAKE_ECHO) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 2000});
    REQUIRE(c);

    sl_client_result res;
    REQUIRE(sl_client_call_raw(c, "\x00garbage\xff", 9, 0, &res) == SL_CLIENT_OK);
    CHECK(res.op == SL_CLIENT_OP_RAW);
    CHECK(res.raw.len == 9 && memcmp(res.raw.data, "\x00garbage\xff", 9) == 0);
    sl_client_result_free(&res);
    REQUIRE(sl_client_call_raw(c, NULL, 0, 0, &res) == SL_CLIENT_OK);
    CHECK(res.raw.len == 0);
    sl_client_result_free(&res);

    /* an echoed request is a map without "ok": the typed call says bad_reply */
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strcmp(res.error.code, "bad_reply") == 0);
    sl_client_result_free(&res);
    /* argument errors never reach the wire */
    int before = atomic_load(&f.requests);
    CHECK(sl_client_pull(c, NULL, 1, 0, &res) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
    CHECK(atomic_load(&f.requests) == before);
    sl_client_close(c);
    fake_stop(&f);
}

TEST(silent_server_is_timeout)
{
    fake_server f;
    REQUIRE(fake_start(&f, FAKE_SILENT) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 200});
    REQUIRE(c);
    sl_client_result res;
    uint64_t t0 = test_mono_ms();
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "timeout") == 0);
    sl_client_result_free(&res);
    uint64_t took = test_mono_ms() - t0;
    CHECK(took >= 150 && took < 2000);
    /* a pull's reply window is the timeout plus wait_ms */
    t0 = test_mono_ms();
    CHECK(sl_client_pull(c, "g", 1, 300, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "timeout") == 0);
    sl_client_result_free(&res);
    took = test_mono_ms() - t0;
    CHECK(took >= 450 && took < 3000);
    CHECK(atomic_load(&f.requests) == 2); /* never resent */
    sl_client_close(c);
    fake_stop(&f);
}

TEST(dropped_connection_is_lost_not_resent)
{
    fake_server f;
    REQUIRE(fake_start(&f, FAKE_DROP) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 5000});
    REQUIRE(c);
    sl_event_in ev = {.topic = sl_slice_of("order.created"), .payload = sl_slice_of("{}")};
    sl_client_result res;
    uint64_t t0 = test_mono_ms();
    CHECK(sl_client_publish(c, &ev, 1, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "connection_lost") == 0);
    sl_client_result_free(&res);
    CHECK(test_mono_ms() - t0 < 2500); /* well before the 5 s timeout */
    /* the client redials (100 ms); nng must not have sent the publish again */
    test_sleep_ms(400);
    CHECK(atomic_load(&f.requests) == 1);
    sl_client_close(c);
    fake_stop(&f);
}

TEST(typed_calls_through_the_network_path)
{
    /* a publish reply with one result, for every request */
    reply r;
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "results");
    msgpack_pack_array(&r.pk, 1);
    msgpack_pack_map(&r.pk, 4);
    rp_kv_uint(&r, "seq", 41);
    rp_kv_str(&r, "id", "evt_00000000000000010000000000000029");
    rp_kv_uint(&r, "ts_ms", 5);
    rp_str(&r, "duplicate");
    msgpack_pack_false(&r.pk);
    fake_server f;
    REQUIRE(fake_start_canned(&f, FAKE_CANNED, r.sb.data, r.sb.size) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 2000});
    REQUIRE(c);
    sl_event_in evs[2] = {{.topic = sl_slice_of("a"), .payload = sl_slice_of("1")},
                          {.topic = sl_slice_of("a"), .payload = sl_slice_of("2")}};
    sl_client_result res;
    CHECK(sl_client_publish(c, evs, 1, &res) == SL_CLIENT_OK);
    CHECK(res.publish.n == 1 && res.publish.results[0].seq == 41);
    sl_client_result_free(&res);
    /* two events sent, one result back: the reply does not answer the request */
    CHECK(sl_client_publish(c, evs, 2, &res) == SL_CLIENT_ERR_BAD_REPLY);
    CHECK(strstr(res.error.message, "1 results for 2 sent") != NULL);
    sl_client_result_free(&res);
    /* the same bytes are no ping reply */
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    /* nor a settle reply ("results" holds maps, not status strings) */
    sl_slice tok = sl_slice_of("t");
    CHECK(sl_client_ack(c, "g", &tok, 1, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    sl_client_close(c);
    fake_stop(&f);
    rp_free(&r);
}

TEST(connection_dropped_while_idle_is_redialed)
{
    fake_server f;
    REQUIRE(fake_start(&f, FAKE_ECHO) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 2000});
    REQUIRE(c);
    sl_client_result res;
    CHECK(sl_client_call_raw(c, "one", 3, 0, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    /* the client's connection is idle when the server drops it */
    REQUIRE(fake_restart(&f) == 0);
    test_sleep_ms(200);
    /* the next call notices, dials again and is answered: no connection_lost */
    CHECK(sl_client_call_raw(c, "two", 3, 0, &res) == SL_CLIENT_OK);
    CHECK(res.raw.len == 3 && memcmp(res.raw.data, "two", 3) == 0);
    sl_client_result_free(&res);
    CHECK(atomic_load(&f.requests) == 2);
    sl_client_close(c);
    fake_stop(&f);
}

/* A call made while nothing listens yet keeps dialing until its timeout:
 * a server that comes up meanwhile answers it. */
static void *listen_late(void *arg)
{
    fake_server *f = arg;
    test_sleep_ms(300);
    f->late_rc = fake_listen(f);
    return NULL;
}

TEST(call_waits_for_a_server_that_comes_up)
{
    fake_server f;
    memset(&f, 0, sizeof f);
    f.mode = FAKE_ECHO;
    REQUIRE((f.dir = test_tmpdir("client")) != NULL);
    snprintf(f.url, sizeof f.url, "ipc://%s/late.sock", f.dir);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 5000, .lazy_connect = true});
    REQUIRE(c);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, listen_late, &f) == 0);
    uint64_t t0 = test_mono_ms();
    sl_client_result res;
    CHECK(sl_client_call_raw(c, "hi", 2, 0, &res) == SL_CLIENT_OK);
    CHECK(res.raw.len == 2 && memcmp(res.raw.data, "hi", 2) == 0);
    sl_client_result_free(&res);
    uint64_t took = test_mono_ms() - t0;
    CHECK(took >= 250 && took < 4000);
    pthread_join(th, NULL);
    REQUIRE(f.late_rc == 0);
    CHECK(atomic_load(&f.requests) == 1);
    sl_client_close(c);
    fake_stop(&f);
}

/* A server that is not an SP REP socket: it answers the handshake with
 * other bytes. */
typedef struct stranger {
    nng_stream_listener *l;
    atomic_int accepted;
} stranger;

static void *stranger_loop(void *arg)
{
    stranger *st = arg;
    nng_aio *aio;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0)
        return NULL;
    for (int i = 0; i < 100; i++) { /* bounded: the test makes a few connections */
        nng_stream_listener_accept(st->l, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) != 0)
            break; /* closed */
        atomic_fetch_add(&st->accepted, 1);
        nng_stream *s = nng_aio_get_output(aio, 0);
        char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
        nng_iov iov = {.iov_buf = junk, .iov_len = sizeof junk - 1};
        nng_aio_set_iov(aio, 1, &iov);
        nng_aio_set_timeout(aio, 1000);
        nng_stream_send(s, aio);
        nng_aio_wait(aio);
        nng_stream_close(s);
        nng_stream_free(s);
    }
    nng_aio_free(aio);
    return NULL;
}

TEST(server_that_is_not_sp_is_refused)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", test_free_port());
    stranger st = {0};
    REQUIRE(nng_stream_listener_alloc(&st.l, url) == 0);
    REQUIRE(nng_stream_listener_listen(st.l) == 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, stranger_loop, &st) == 0);
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_options opt = {.timeout_ms = 1000};
    uint64_t t0 = test_mono_ms();
    CHECK(sl_client_open(url, &opt, &c, &err) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(err.code, "unavailable") == 0);
    CHECK(err.nng_error == NNG_EPROTO);
    CHECK(test_mono_ms() - t0 < 3000);
    /* a lazy client's call keeps trying until its timeout, then says so */
    opt.lazy_connect = true;
    opt.timeout_ms = 400;
    REQUIRE(sl_client_open(url, &opt, &c, &err) == SL_CLIENT_OK);
    sl_client_result res;
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "unavailable") == 0);
    sl_client_result_free(&res);
    sl_client_close(c);
    CHECK(atomic_load(&st.accepted) >= 2);
    nng_stream_listener_close(st.l);
    pthread_join(th, NULL);
    nng_stream_listener_free(st.l);
}

TEST(reply_over_max_reply_is_connection_lost)
{
    static char big[4096];
    memset(big, 'x', sizeof big);
    fake_server f;
    REQUIRE(fake_start_canned(&f, FAKE_CANNED, big, sizeof big) == 0);
    sl_client *c = open_client(f.url, (sl_client_options){.timeout_ms = 2000, .max_reply_bytes = 1000});
    REQUIRE(c);
    sl_client_result res;
    uint64_t t0 = test_mono_ms();
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "connection_lost") == 0);
    CHECK(strstr(res.error.message, "max_reply_bytes") != NULL);
    sl_client_result_free(&res);
    CHECK(test_mono_ms() - t0 < 1500);
    /* the next call is refused the same way, on a new connection */
    CHECK(sl_client_call_raw(c, "x", 1, 0, &res) == SL_CLIENT_ERR_TRANSPORT);
    CHECK(strcmp(res.error.code, "connection_lost") == 0);
    sl_client_result_free(&res);
    CHECK(atomic_load(&f.requests) == 2);
    sl_client_close(c);
    fake_stop(&f);
}

/* Many threads share one client; each gets its own reply back. */
typedef struct worker {
    sl_client *client;   /* shared */
    int id;              /* this worker's number */
    int calls;           /* how many calls to make */
    int ok;              /* calls that got their own bytes back */
} worker;

#define WORKER_CALLS 50

static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->calls; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "w%d-call%d", w->id, i);
        sl_client_result res;
        if (sl_client_call_raw(w->client, msg, (size_t)n, 0, &res) == SL_CLIENT_OK &&
            res.raw.len == (size_t)n && memcmp(res.raw.data, msg, (size_t)n) == 0)
            w->ok++;
        sl_client_result_free(&res);
    }
    return NULL;
}

/* nworkers threads make `calls` calls each on client c: all answered? */
static void run_workers(int *unit_failed_, sl_client *c, int nworkers, int calls)
{
    worker *ws = calloc((size_t)nworkers, sizeof *ws);
    pthread_t *th = calloc((size_t)nworkers, sizeof *th);
    if (!ws || !th) {
        free(ws);
        free(th);
    }
    REQUIRE(ws && th);
    int started = 0;
    for (; started < nworkers; started++) {
        ws[started] = (worker){.client = c, .id = started, .calls = calls};
        if (pthread_create(&th[started], NULL, worker_run, &ws[started]) != 0)
            break;
    }
    CHECK(started == nworkers);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        CHECK(ws[i].ok == calls);
    }
    free(ws);
    free(th);
}

TEST(threads_share_one_client)
{
    fake_server f;
    REQUIRE(fake_start(&f, FAKE_ECHO) == 0);
    sl_client *c = NULL;
    sl_client_error err;
    REQUIRE(sl_client_open(f.url, NULL, &c, &err) == SL_CLIENT_OK);
    run_workers(unit_failed_, c, 8, WORKER_CALLS);
    /* more threads at once than the client keeps idle connections for (256) */
    run_workers(unit_failed_, c, 300, 3);
    CHECK(atomic_load(&f.requests) == 8 * WORKER_CALLS + 300 * 3);
    sl_client_close(c);
    fake_stop(&f);
}

/* ---- API keys (client_keys.h): encoders and decoders ------------------------------------- */

TEST(encode_keys)
{
    static const sl_slice scopes[2] = {{"events:read", 11}, {"events:write", 12}};
    static const sl_slice topics[2] = {{"order.>", 7}, {"invoice.*", 9}};
    sl_client_key_spec spec = {.name = sl_slice_of("billing"), .scopes = scopes, .nscopes = 2};
    sl_client_buf b = {0};
    req r;

    /* create: name and scopes always; topics and rate only when given */
    REQUIRE(sl_client_encode_keys_create(&b, &spec) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "keys.create", 2));
    CHECK(is_str(key_of(r.top, "name"), "billing"));
    const msgpack_object *s = key_of(r.top, "scopes");
    REQUIRE(array_size(s) == 2);
    CHECK(is_str(&s->via.array.ptr[1], "events:write"));
    CHECK(key_of(r.top, "topics") == NULL && key_of(r.top, "rate_per_minute") == NULL);
    req_free(&r);
    sl_client_buf_free(&b);
    spec.topics = topics;
    spec.ntopics = 2;
    spec.rate_per_minute = 100;
    REQUIRE(sl_client_encode_keys_create(&b, &spec) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "keys.create", 4));
    const msgpack_object *t = key_of(r.top, "topics");
    REQUIRE(array_size(t) == 2);
    CHECK(is_str(&t->via.array.ptr[0], "order.>"));
    CHECK(is_uint(key_of(r.top, "rate_per_minute"), 100));
    req_free(&r);
    sl_client_buf_free(&b);

    /* get, revoke, list */
    REQUIRE(sl_client_encode_keys_id(&b, SL_CLIENT_OP_KEYS_REVOKE, "key_0123456789abcdef") ==
            SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "keys.revoke", 1));
    CHECK(is_str(key_of(r.top, "id"), "key_0123456789abcdef"));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_keys_list(&b, NULL, 0) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "keys.list", 0));
    req_free(&r);
    sl_client_buf_free(&b);
    REQUIRE(sl_client_encode_keys_list(&b, "key_0123456789abcdef", 5) == SL_CLIENT_OK);
    req_open(&r, &b);
    CHECK(is_request(&r, "keys.list", 2));
    CHECK(is_uint(key_of(r.top, "limit"), 5));
    req_free(&r);

    /* what cannot be sent */
    size_t len = b.len;
    CHECK(sl_client_encode_keys_create(&b, NULL) == SL_CLIENT_ERR_ARGUMENT);
    spec.scopes = NULL;
    CHECK(sl_client_encode_keys_create(&b, &spec) == SL_CLIENT_ERR_ARGUMENT);
    spec.scopes = scopes;
    spec.name = (sl_slice){NULL, 3};
    CHECK(sl_client_encode_keys_create(&b, &spec) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_keys_id(&b, SL_CLIENT_OP_KEYS_LIST, "x") == SL_CLIENT_ERR_ARGUMENT);
    CHECK(sl_client_encode_keys_id(&b, SL_CLIENT_OP_KEYS_GET, NULL) == SL_CLIENT_ERR_ARGUMENT);
    CHECK(b.len == len);
    sl_client_buf_free(&b);
}

/* A Key map. */
static void rp_key(reply *r, const char *id)
{
    msgpack_pack_map(&r->pk, 6);
    rp_kv_str(r, "id", id);
    rp_kv_str(r, "name", "billing");
    rp_str(r, "scopes");
    msgpack_pack_array(&r->pk, 2);
    rp_str(r, "events:write");
    rp_str(r, "events:read");
    rp_str(r, "topics");
    msgpack_pack_array(&r->pk, 1);
    rp_str(r, "order.>");
    rp_kv_uint(r, "rate_per_minute", 100);
    rp_kv_uint(r, "created_ms", 1763884800000ull);
}

TEST(decode_keys)
{
    reply r;
    sl_client_result res;
    const char *token = "slk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "key");
    rp_key(&r, "key_0123456789abcdef");
    rp_kv_str(&r, "token", token);
    REQUIRE(decode(SL_CLIENT_OP_KEYS_CREATE, &r, &res) == SL_CLIENT_OK);
    const sl_client_apikey *k = &res.apikey.key;
    CHECK(sl_slice_eq_cstr(k->id, "key_0123456789abcdef"));
    CHECK(sl_slice_eq_cstr(k->name, "billing"));
    CHECK(k->nscopes == 2 && sl_slice_eq_cstr(k->scopes[1], "events:read"));
    CHECK(k->ntopics == 1 && sl_slice_eq_cstr(k->topics[0], "order.>"));
    CHECK_EQ_U64(k->rate_per_minute, 100);
    CHECK_EQ_U64(k->created_ms, 1763884800000ull);
    CHECK(sl_slice_eq_cstr(res.apikey.token, token));
    sl_client_result_free(&res);
    /* create without its token is malformed; get ignores it */
    CHECK(decode(SL_CLIENT_OP_KEYS_GET, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "key");
    rp_key(&r, "key_0123456789abcdef");
    CHECK(decode(SL_CLIENT_OP_KEYS_CREATE, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    REQUIRE(decode(SL_CLIENT_OP_KEYS_GET, &r, &res) == SL_CLIENT_OK);
    CHECK(res.apikey.token.len == 0);
    sl_client_result_free(&res);
    truncate_everywhere(unit_failed_, SL_CLIENT_OP_KEYS_GET, &r);
    rp_free(&r);

    /* list */
    rp_init(&r);
    rp_ok(&r, 2);
    rp_str(&r, "keys");
    msgpack_pack_array(&r.pk, 2);
    rp_key(&r, "key_0000000000000001");
    rp_key(&r, "key_0000000000000002");
    rp_kv_str(&r, "next_after", "key_0000000000000002");
    REQUIRE(decode(SL_CLIENT_OP_KEYS_LIST, &r, &res) == SL_CLIENT_OK);
    CHECK(res.apikeys.n == 2 && sl_slice_eq_cstr(res.apikeys.keys[1].id, "key_0000000000000002"));
    CHECK(sl_slice_eq_cstr(res.apikeys.next_after, "key_0000000000000002"));
    sl_client_result_free(&res);
    truncate_everywhere(unit_failed_, SL_CLIENT_OP_KEYS_LIST, &r);
    rp_free(&r);

    /* wrong types and missing keys */
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "key");
    msgpack_pack_map(&r.pk, 3);
    rp_kv_str(&r, "id", "key_0123456789abcdef");
    rp_kv_str(&r, "name", "x");
    rp_kv_str(&r, "scopes", "*"); /* not an array */
    CHECK(decode(SL_CLIENT_OP_KEYS_GET, &r, &res) == SL_CLIENT_ERR_BAD_REPLY);
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 1);
    rp_str(&r, "keys");
    msgpack_pack_array(&r.pk, 0);
    CHECK(decode(SL_CLIENT_OP_KEYS_LIST, &r, &res) == SL_CLIENT_ERR_BAD_REPLY); /* no next_after */
    sl_client_result_free(&res);
    rp_free(&r);
    rp_init(&r);
    rp_ok(&r, 0);
    CHECK(decode(SL_CLIENT_OP_KEYS_REVOKE, &r, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    rp_free(&r);
}

/* ---- webhooks against the real daemon ---------------------------------------------------- */

static test_daemon wd;  /* the daemon of the webhook tests */
static sl_client *wc;   /* a client of it */

TEST(webhook_daemon_start)
{
    REQUIRE(test_daemon_start(&wd, NULL, NULL) == 0);
    sl_client_options opt = {.timeout_ms = 5000};
    sl_client_error err;
    REQUIRE(sl_client_open(wd.url, &opt, &wc, &err) == SL_CLIENT_OK);
}

/* Create a subscription to url (filters: one, or none for the default);
 * its id and group go to the buffers. Returns the status. */
static sl_client_status wh_create(const char *name, const char *filter, const uint64_t *retry,
                                  uint32_t nretry, char id[32], char group[80])
{
    sl_webhook_config cfg = {.name = sl_slice_of(name),
                             .url = sl_slice_of("http://127.0.0.1:9/hook")};
    unsigned mask = 0;
    if (filter) {
        cfg.nfilters = 1;
        cfg.filters[0] = sl_slice_of(filter);
        mask |= SL_WEBHOOK_GIVEN_FILTERS;
    }
    if (retry) {
        cfg.nretry = nretry;
        memcpy(cfg.retry_ms, retry, nretry * sizeof *retry);
        mask |= SL_WEBHOOK_GIVEN_RETRY;
    }
    sl_client_result res;
    sl_client_status st = sl_client_webhook_create(wc, &cfg, mask, &res);
    if (st == SL_CLIENT_OK) {
        const sl_client_webhook *w = &res.webhook.webhook;
        snprintf(id, 32, "%.*s", (int)w->id.len, w->id.ptr);
        snprintf(group, 80, "%.*s", (int)w->group.len, w->group.ptr);
    } else {
        fprintf(stderr, "  webhook.create: %s: %s\n", res.error.code, res.error.message);
    }
    sl_client_result_free(&res);
    return st;
}

TEST(webhook_calls_lifecycle)
{
    static const sl_header hs[1] = {{{"X-Team", 6}, {"billing", 7}}};
    sl_webhook_config cfg = {.name = sl_slice_of("orders"),
                             .description = sl_slice_of("the order service"),
                             .url = sl_slice_of("https://example.com/hook"),
                             .nfilters = 1,
                             .filters = {sl_slice_of("order.*")},
                             .active = true,
                             .nretry = 2,
                             .retry_ms = {1000, 2000},
                             .timeout_ms = 5000,
                             .max_in_flight = 4,
                             .rate_limit = 10,
                             .disable_after = 2,
                             .nheaders = 1};
    memcpy(cfg.headers, hs, sizeof hs);
    sl_client_result res;
    REQUIRE(sl_client_webhook_create(wc, &cfg, 0x7ffu, &res) == SL_CLIENT_OK);
    const sl_client_webhook *w = &res.webhook.webhook;
    char id[32], secret[64];
    snprintf(id, sizeof id, "%.*s", (int)w->id.len, w->id.ptr);
    snprintf(secret, sizeof secret, "%.*s", (int)res.webhook.secret.len, res.webhook.secret.ptr);
    CHECK(strncmp(id, "wh_", 3) == 0 && strlen(id) == SL_WEBHOOK_ID_LEN);
    CHECK(strncmp(secret, "whsec_", 6) == 0 && strlen(secret) == SL_WEBHOOK_SECRET_LEN);
    CHECK(sl_slice_eq_cstr(w->description, "the order service"));
    CHECK(w->nfilters == 1 && sl_slice_eq_cstr(w->filters[0], "order.*"));
    CHECK(w->active && w->disabled_reason.len == 0);
    CHECK(w->nretry == 2 && w->retry_schedule_ms[1] == 2000);
    CHECK_EQ_U64(w->timeout_ms, 5000);
    CHECK_EQ_U64(w->max_in_flight, 4);
    CHECK_EQ_U64(w->rate_limit, 10);
    CHECK_EQ_U64(w->disable_after, 2);
    CHECK(w->nheaders == 1 && sl_slice_eq_cstr(w->headers[0].value, "billing"));
    CHECK(w->nsecrets == 1 && w->secret_expires_ms[0] == 0 && w->secrets == NULL);
    CHECK(w->created_ms > 0 && w->created_ms == w->updated_ms);
    sl_client_result_free(&res);

    REQUIRE(sl_client_webhook_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK(sl_slice_eq_cstr(res.webhook.webhook.name, "orders"));
    CHECK(res.webhook.secret.len == 0);
    sl_client_result_free(&res);

    sl_webhook_config up = {.name = sl_slice_of("orders-v2"), .max_in_flight = 8};
    REQUIRE(sl_client_webhook_update(wc, id, &up,
                                     SL_WEBHOOK_GIVEN_NAME | SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT,
                                     &res) == SL_CLIENT_OK);
    CHECK(sl_slice_eq_cstr(res.webhook.webhook.name, "orders-v2"));
    CHECK_EQ_U64(res.webhook.webhook.max_in_flight, 8);
    CHECK_EQ_U64(res.webhook.webhook.rate_limit, 10); /* kept */
    sl_client_result_free(&res);

    REQUIRE(sl_client_webhook_disable(wc, id, &res) == SL_CLIENT_OK);
    CHECK(!res.webhook.webhook.active);
    CHECK(sl_slice_eq_cstr(res.webhook.webhook.disabled_reason, "manual"));
    CHECK(res.webhook.webhook.disabled_ms > 0);
    sl_client_result_free(&res);
    REQUIRE(sl_client_webhook_enable(wc, id, &res) == SL_CLIENT_OK);
    CHECK(res.webhook.webhook.active && res.webhook.webhook.disabled_ms == 0);
    sl_client_result_free(&res);
    REQUIRE(sl_client_webhook_reset(wc, id, &res) == SL_CLIENT_OK);
    CHECK(res.webhook.webhook.active && res.webhook.webhook.consecutive_failures == 0);
    sl_client_result_free(&res);

    uint64_t t0 = test_wall_ms();
    REQUIRE(sl_client_webhook_rotate_secret(wc, id, 60000, &res) == SL_CLIENT_OK);
    CHECK(res.webhook.secret.len == SL_WEBHOOK_SECRET_LEN);
    CHECK(!sl_slice_eq_cstr(res.webhook.secret, secret));
    REQUIRE(res.webhook.webhook.nsecrets == 2);
    CHECK(res.webhook.webhook.secret_expires_ms[0] == 0);
    CHECK(res.webhook.webhook.secret_expires_ms[1] >= t0 + 59000 &&
          res.webhook.webhook.secret_expires_ms[1] <= test_wall_ms() + 61000);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_rotate_secret(wc, id, SL_DELAY_DEFAULT, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* paging: three subscriptions, two per page */
    char id2[32], id3[32], g[80];
    REQUIRE(wh_create("second", NULL, NULL, 0, id2, g) == SL_CLIENT_OK);
    REQUIRE(wh_create("third", NULL, NULL, 0, id3, g) == SL_CLIENT_OK);
    REQUIRE(sl_client_webhook_list(wc, NULL, 2, &res) == SL_CLIENT_OK);
    CHECK(res.webhooks.n == 2 && res.webhooks.next_after.len > 0);
    char after[32];
    snprintf(after, sizeof after, "%.*s", (int)res.webhooks.next_after.len,
             res.webhooks.next_after.ptr);
    CHECK(res.webhooks.n == 2 && res.webhooks.webhooks[0].secrets == NULL);
    sl_client_result_free(&res);
    REQUIRE(sl_client_webhook_list(wc, after, 2, &res) == SL_CLIENT_OK);
    CHECK(res.webhooks.n == 1 && res.webhooks.next_after.len == 0);
    sl_client_result_free(&res);

    /* targets: active ones, with their secrets */
    REQUIRE(sl_client_webhook_disable(wc, id3, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(sl_client_webhook_targets(wc, NULL, 0, &res) == SL_CLIENT_OK);
    CHECK(res.webhooks.n == 2);
    for (size_t i = 0; i < res.webhooks.n; i++) {
        const sl_client_webhook *t = &res.webhooks.webhooks[i];
        CHECK(!sl_slice_eq_cstr(t->id, id3));
        REQUIRE(t->nsecrets >= 1 && t->secrets != NULL);
        CHECK(t->secrets[0].len == SL_WEBHOOK_SECRET_LEN);
        CHECK(t->secrets[0].len >= 6 && memcmp(t->secrets[0].ptr, "whsec_", 6) == 0);
    }
    sl_client_result_free(&res);

    REQUIRE(sl_client_webhook_delete(wc, id2, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_get(wc, id2, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_delete(wc, id3, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_delete(wc, id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* the server checks what the library does not */
    sl_webhook_config bad = {.name = sl_slice_of("x"), .url = sl_slice_of("ftp://nope")};
    CHECK(sl_client_webhook_create(wc, &bad, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
}

/* Pull one delivery of group (waiting up to 2 s); its token and event id
 * go to the buffers. 0 or -1. */
static int wh_pull(const char *group, char token[40], char event_id[48], uint32_t *attempt)
{
    sl_client_result res;
    int rc = -1;
    if (sl_client_pull(wc, group, 1, 2000, &res) == SL_CLIENT_OK && res.pull.n == 1) {
        const sl_client_delivery *dl = &res.pull.deliveries[0];
        snprintf(token, 40, "%.*s", (int)dl->token.len, dl->token.ptr);
        snprintf(event_id, 48, "%.*s", (int)dl->event.id.len, dl->event.id.ptr);
        *attempt = dl->attempt;
        rc = 0;
    } else {
        fprintf(stderr, "  pull %s: %s %s (%zu)\n", group, res.error.code, res.error.message,
                res.pull.n);
    }
    sl_client_result_free(&res);
    return rc;
}

/* Report one attempt of token with an HTTP status; the outcome to *out. */
static sl_client_status wh_report(const char *id, const char *token, uint32_t http_status,
                                  const char *body, sl_webhook_outcome *out)
{
    sl_webhook_attempt at = {.token = sl_slice_of(token), .http_status = http_status,
                             .latency_us = 1234, .body = sl_slice_of(body),
                             .sent_ms = test_wall_ms()};
    sl_client_result res;
    sl_client_status st = sl_client_webhook_report(wc, id, &at, 1, &res);
    if (st == SL_CLIENT_OK)
        *out = res.webhook_report.outcomes[0];
    else
        fprintf(stderr, "  webhook.report: %s: %s\n", res.error.code, res.error.message);
    sl_client_result_free(&res);
    return st;
}

TEST(webhook_calls_delivery_cycle)
{
    /* this test is the bridge: it pulls from the group and reports outcomes */
    static const uint64_t retry[1] = {60000};
    char id[32], group[80], token[40], first_token[40], evt[48], evt2[48];
    uint32_t attempt = 0;
    sl_webhook_outcome o;
    sl_client_result res;
    REQUIRE(wh_create("cycle", "order.*", retry, 1, id, group) == SL_CLIENT_OK);
    sl_event_in ev = {.topic = sl_slice_of("order.created"), .payload = sl_slice_of("{}")};
    REQUIRE(sl_client_publish(wc, &ev, 1, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* attempt 1 fails: retried after 60 s +-10% */
    REQUIRE(wh_pull(group, first_token, evt, &attempt) == 0);
    CHECK(attempt == 1);
    uint64_t t0 = test_wall_ms();
    REQUIRE(wh_report(id, first_token, 503, "busy", &o) == SL_CLIENT_OK);
    CHECK(o.result == SL_ATTEMPT_RETRY && o.attempt == 1);
    CHECK(o.retry_at_ms >= t0 + 53000 && o.retry_at_ms <= test_wall_ms() + 67000);
    REQUIRE(sl_client_webhook_stats_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook_stats.attempts, 1);
    CHECK_EQ_U64(res.webhook_stats.failures, 1);
    CHECK_EQ_U64(res.webhook_stats.last_status, 503);
    CHECK_EQ_U64(res.webhook_stats.waiting, 1);
    CHECK(res.webhook_stats.last_attempt_ms > 0 && res.webhook_stats.last_success_ms == 0);
    sl_client_result_free(&res);

    /* the log, with filters */
    REQUIRE(sl_client_webhook_deliveries(wc, id, NULL, 0, 0, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhook_deliveries.n == 1);
    const sl_client_webhook_attempt_entry *e = &res.webhook_deliveries.entries[0];
    CHECK(sl_slice_eq_cstr(e->event_id, evt));
    CHECK(sl_slice_eq_cstr(e->topic, "order.created"));
    CHECK(e->attempt == 1 && e->http_status == 503 && e->result == SL_ATTEMPT_RETRY);
    CHECK(sl_slice_eq_cstr(e->body, "busy"));
    CHECK_EQ_U64(e->latency_us, 1234);
    CHECK(res.webhook_deliveries.next_before == 0);
    sl_client_result_free(&res);
    sl_client_deliveries_filter f = {.status = SL_DELIVERY_SUCCEEDED};
    REQUIRE(sl_client_webhook_deliveries(wc, id, &f, 0, 10, &res) == SL_CLIENT_OK);
    CHECK(res.webhook_deliveries.n == 0);
    sl_client_result_free(&res);
    f = (sl_client_deliveries_filter){.status = SL_DELIVERY_FAILED, .http_status = 503,
                                      .since_ms = t0 - 60000, .event_id = evt};
    REQUIRE(sl_client_webhook_deliveries(wc, id, &f, 0, 10, &res) == SL_CLIENT_OK);
    CHECK(res.webhook_deliveries.n == 1);
    sl_client_result_free(&res);

    /* retry makes it due at once; attempt 2 fails too: dead (schedule spent) */
    REQUIRE(sl_client_webhook_retry(wc, id, evt, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(wh_pull(group, token, evt2, &attempt) == 0);
    CHECK(attempt == 2 && strcmp(evt, evt2) == 0);
    REQUIRE(wh_report(id, token, 500, "", &o) == SL_CLIENT_OK);
    CHECK(o.result == SL_ATTEMPT_DEAD && o.attempt == 2);
    REQUIRE(sl_client_webhook_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook.webhook.consecutive_failures, 1);
    sl_client_result_free(&res);
    REQUIRE(sl_client_dlq_list(wc, group, 0, 0, &res) == SL_CLIENT_OK);
    CHECK(res.dlq_list.n == 1);
    sl_client_result_free(&res);

    /* a stale token is only logged */
    REQUIRE(wh_report(id, first_token, 502, "", &o) == SL_CLIENT_OK);
    CHECK(o.result == SL_ATTEMPT_STALE);

    /* retry replays the dead letter; this time it is delivered */
    REQUIRE(sl_client_webhook_retry(wc, id, evt, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(wh_pull(group, token, evt2, &attempt) == 0);
    REQUIRE(wh_report(id, token, 204, "", &o) == SL_CLIENT_OK);
    CHECK(o.result == SL_ATTEMPT_DELIVERED);
    REQUIRE(sl_client_webhook_stats_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook_stats.successes, 1);
    CHECK_EQ_U64(res.webhook_stats.dead, 1);
    CHECK_EQ_U64(res.webhook_stats.dlq_size, 0);
    CHECK_EQ_U64(res.webhook_stats.backlog, 0);
    CHECK(res.webhook_stats.last_success_ms > 0);
    sl_client_result_free(&res);
    REQUIRE(sl_client_webhook_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook.webhook.consecutive_failures, 0);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_retry(wc, id, evt, &res) == SL_CLIENT_ERR_SERVER); /* delivered */
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);

    /* a test event comes on the reserved topic; a 410 disables ("gone") */
    REQUIRE(sl_client_webhook_test(wc, id, &res) == SL_CLIENT_OK);
    uint64_t test_seq = res.webhook_test.seq;
    CHECK(test_seq > 0 && res.webhook_test.event_id.len == SL_EVENT_ID_LEN);
    sl_client_result_free(&res);
    REQUIRE(sl_client_pull(wc, group, 1, 2000, &res) == SL_CLIENT_OK);
    REQUIRE(res.pull.n == 1);
    CHECK_EQ_U64(res.pull.deliveries[0].event.seq, test_seq);
    CHECK(res.pull.deliveries[0].event.topic.len > 4 &&
          memcmp(res.pull.deliveries[0].event.topic.ptr, "_wh.", 4) == 0);
    snprintf(token, sizeof token, "%.*s", (int)res.pull.deliveries[0].token.len,
             res.pull.deliveries[0].token.ptr);
    sl_client_result_free(&res);
    REQUIRE(wh_report(id, token, 410, "", &o) == SL_CLIENT_OK);
    CHECK(o.result == SL_ATTEMPT_DISABLED);
    REQUIRE(sl_client_webhook_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK(!res.webhook.webhook.active);
    CHECK(sl_slice_eq_cstr(res.webhook.webhook.disabled_reason, "gone"));
    sl_client_result_free(&res);

    /* the topics of the log, reserved ones left out */
    REQUIRE(sl_client_webhook_event_types(wc, &res) == SL_CLIENT_OK);
    bool seen = false;
    for (size_t i = 0; i < res.event_types.n; i++) {
        seen |= sl_slice_eq_cstr(res.event_types.types[i], "order.created");
        CHECK(res.event_types.types[i].len > 0 && res.event_types.types[i].ptr[0] != '_');
    }
    CHECK(seen);
    sl_client_result_free(&res);

    /* unknown subscriptions are not_found (stats too: webhook.h) */
    CHECK(sl_client_webhook_stats_get(wc, "wh_0000000000000000", &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_report(wc, id, NULL, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
}

/* keys.* against the real daemon (auth is off here: only the ops). */
TEST(keys_calls_lifecycle)
{
    static const sl_slice scopes[2] = {{"events:read", 11}, {"events:write", 12}};
    static const sl_slice topics[2] = {{"order.>", 7}, {"invoice.*", 9}};
    sl_client_key_spec spec = {.name = sl_slice_of("billing"), .scopes = scopes, .nscopes = 2,
                               .topics = topics, .ntopics = 2, .rate_per_minute = 100};
    sl_client_result res;
    REQUIRE(sl_client_keys_create(wc, &spec, &res) == SL_CLIENT_OK);
    const sl_client_apikey *k = &res.apikey.key;
    char id[32], token[80];
    snprintf(id, sizeof id, "%.*s", (int)k->id.len, k->id.ptr);
    snprintf(token, sizeof token, "%.*s", (int)res.apikey.token.len, res.apikey.token.ptr);
    CHECK(strncmp(id, "key_", 4) == 0 && strlen(id) == SL_APIKEY_ID_LEN);
    CHECK(strncmp(token, "slk_", 4) == 0 && strlen(token) == SL_APIKEY_TOKEN_LEN);
    CHECK(memcmp(token + 4, id + 4, 16) == 0);
    CHECK(sl_slice_eq_cstr(k->name, "billing"));
    CHECK(k->nscopes == 2 && sl_slice_eq_cstr(k->scopes[0], "events:write") &&
          sl_slice_eq_cstr(k->scopes[1], "events:read"));
    CHECK(k->ntopics == 2 && sl_slice_eq_cstr(k->topics[1], "invoice.*"));
    CHECK_EQ_U64(k->rate_per_minute, 100);
    CHECK(k->created_ms > 0);
    sl_client_result_free(&res);

    /* get: the same key, never the token */
    REQUIRE(sl_client_keys_get(wc, id, &res) == SL_CLIENT_OK);
    CHECK(sl_slice_eq_cstr(res.apikey.key.id, id));
    CHECK(res.apikey.token.len == 0);
    sl_client_result_free(&res);

    /* defaults: every topic, 1000 per minute; "*" */
    static const sl_slice all[1] = {{"*", 1}};
    sl_client_key_spec admin = {.name = sl_slice_of("admin"), .scopes = all, .nscopes = 1};
    REQUIRE(sl_client_keys_create(wc, &admin, &res) == SL_CLIENT_OK);
    CHECK(res.apikey.key.ntopics == 0);
    CHECK_EQ_U64(res.apikey.key.rate_per_minute, SL_APIKEY_RATE_DEFAULT);
    char id2[32];
    snprintf(id2, sizeof id2, "%.*s", (int)res.apikey.key.id.len, res.apikey.key.id.ptr);
    sl_client_result_free(&res);
    REQUIRE(sl_client_keys_create(wc, &admin, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* list: three keys, two per page, in id order */
    REQUIRE(sl_client_keys_list(wc, NULL, 2, &res) == SL_CLIENT_OK);
    CHECK(res.apikeys.n == 2 && res.apikeys.next_after.len == SL_APIKEY_ID_LEN);
    char after[32];
    snprintf(after, sizeof after, "%.*s", (int)res.apikeys.next_after.len,
             res.apikeys.next_after.ptr);
    sl_client_result_free(&res);
    REQUIRE(sl_client_keys_list(wc, after, 2, &res) == SL_CLIENT_OK);
    CHECK(res.apikeys.n == 1 && res.apikeys.next_after.len == 0);
    sl_client_result_free(&res);

    /* revoke: gone; twice: not_found */
    REQUIRE(sl_client_keys_revoke(wc, id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_get(wc, id, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0 && strcmp(res.error.field, "id") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_revoke(wc, id, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_revoke(wc, id2, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* the server checks what the library does not */
    static const sl_slice bad_scope[1] = {{"events:everything", 17}};
    sl_client_key_spec bad = {.name = sl_slice_of("x"), .scopes = bad_scope, .nscopes = 1};
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0 &&
          strcmp(res.error.field, "scopes[0]") == 0);
    sl_client_result_free(&res);
    bad.scopes = all;
    bad.nscopes = 0;
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
    static const sl_slice bad_topic[1] = {{"order..x", 8}};
    bad.nscopes = 1;
    bad.topics = bad_topic;
    bad.ntopics = 1;
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.field, "topics[0]") == 0);
    sl_client_result_free(&res);
    bad.ntopics = 0;
    bad.name = sl_slice_of("");
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.field, "name") == 0);
    sl_client_result_free(&res);
    bad.name = sl_slice_of("x");
    bad.rate_per_minute = SL_APIKEY_RATE_MAX + 1;
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.field, "rate_per_minute") == 0);
    sl_client_result_free(&res);
    bad.rate_per_minute = 0;
    sl_slice many[SL_APIKEY_PATTERNS_MAX + 1];
    for (size_t i = 0; i < SL_APIKEY_PATTERNS_MAX + 1; i++)
        many[i] = sl_slice_of("order.*");
    bad.topics = many;
    bad.ntopics = SL_APIKEY_PATTERNS_MAX + 1;
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "too_large") == 0 && strcmp(res.error.field, "topics") == 0);
    sl_client_result_free(&res);
    bad.ntopics = SL_APIKEY_PATTERNS_MAX;
    CHECK(sl_client_keys_create(wc, &bad, &res) == SL_CLIENT_OK); /* 16 is the limit */
    CHECK(res.apikey.key.ntopics == SL_APIKEY_PATTERNS_MAX);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_get(wc, "key_nothex", &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_list(wc, "bogus", 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.field, "after") == 0);
    sl_client_result_free(&res);
}

TEST(webhook_daemon_stop)
{
    sl_client_close(wc);
    wc = NULL;
    CHECK(test_daemon_cleanup(&wd) == 0);
}

TEST(names)
{
    CHECK(strcmp(sl_client_op_name(SL_CLIENT_OP_GROUP_CREATE), "group.create") == 0);
    CHECK(strcmp(sl_client_op_name(SL_CLIENT_OP_LOG_READ), "log.read") == 0);
    CHECK(strcmp(sl_client_op_name(SL_CLIENT_OP_RAW), "") == 0);
    CHECK(strcmp(sl_client_op_name(SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET),
                 "webhook.rotate_secret") == 0);
    CHECK(strcmp(sl_client_op_name(SL_CLIENT_OP_WEBHOOK_EVENT_TYPES), "webhook.event_types") == 0);
    for (sl_client_op op = SL_CLIENT_OP_WEBHOOK_CREATE; op <= SL_CLIENT_OP_WEBHOOK_REPORT; op++)
        CHECK(strncmp(sl_client_op_name(op), "webhook.", 8) == 0);
    for (sl_client_op op = SL_CLIENT_OP_KEYS_CREATE; op <= SL_CLIENT_OP_KEYS_REVOKE; op++)
        CHECK(strncmp(sl_client_op_name(op), "keys.", 5) == 0);
    CHECK(strcmp(sl_client_status_name(SL_CLIENT_ERR_BAD_REPLY), "bad_reply") == 0);
}

UNIT_MAIN("test_client", UNIT_CASE(encode_ping_and_bare_ops), UNIT_CASE(encode_publish),
          UNIT_CASE(encode_pull), UNIT_CASE(encode_settle),
          UNIT_CASE(encode_group_create_and_update), UNIT_CASE(encode_group_name_log_dlq),
          UNIT_CASE(decode_ping_and_stats), UNIT_CASE(decode_publish), UNIT_CASE(decode_pull),
          UNIT_CASE(decode_settle), UNIT_CASE(decode_groups), UNIT_CASE(decode_topics_and_log),
          UNIT_CASE(decode_dlq), UNIT_CASE(decode_server_errors),
          UNIT_CASE(decode_malformed_errors), UNIT_CASE(decode_garbage),
          UNIT_CASE(decode_wrong_types), UNIT_CASE(decode_truncated_at_every_length),
          UNIT_CASE(open_unreachable_is_unavailable), UNIT_CASE(lazy_client_call_is_unavailable),
          UNIT_CASE(connection_dropped_while_idle_is_redialed),
          UNIT_CASE(reply_over_max_reply_is_connection_lost),
          UNIT_CASE(call_waits_for_a_server_that_comes_up),
          UNIT_CASE(server_that_is_not_sp_is_refused),
          UNIT_CASE(open_bad_arguments), UNIT_CASE(raw_call_roundtrip_and_decode_via_fake_server),
          UNIT_CASE(silent_server_is_timeout), UNIT_CASE(dropped_connection_is_lost_not_resent),
          UNIT_CASE(typed_calls_through_the_network_path),
          UNIT_CASE(threads_share_one_client), UNIT_CASE(encode_webhook_create_and_update),
          UNIT_CASE(encode_webhook_id_page_and_small_ops), UNIT_CASE(encode_webhook_deliveries),
          UNIT_CASE(encode_webhook_report), UNIT_CASE(decode_webhook_one),
          UNIT_CASE(decode_webhook_list_and_targets),
          UNIT_CASE(decode_webhook_stats_test_types_deliveries), UNIT_CASE(decode_webhook_report),
          UNIT_CASE(decode_webhook_malformed), UNIT_CASE(webhook_daemon_start),
          UNIT_CASE(webhook_calls_lifecycle), UNIT_CASE(webhook_calls_delivery_cycle),
          UNIT_CASE(encode_keys), UNIT_CASE(decode_keys), UNIT_CASE(keys_calls_lifecycle),
          UNIT_CASE(webhook_daemon_stop), UNIT_CASE(names))
