/* test_proto.c: the server side of the wire protocol: the msgpack guard and
 * cursor, request decoding (every op, every error code, truncations, fuzz),
 * reply encoders, and dispatch against a real store in a temp dir. */
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "core/bytes.h"
#include "core/store.h"
#include "proto/mp_guard.h"
#include "proto/reply.h"
#include "proto/request.h"
#include "tests/support.h"
#include "tests/unit.h"
#include "tools/sluiced/dispatch.h"


/* ---- building msgpack ------------------------------------------------------ */

/* A msgpack writer for building requests. */
typedef struct mp {
    msgpack_sbuffer sb; /* the bytes */
    msgpack_packer pk;  /* writes into sb */
} mp;

static void mp_init(mp *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_free(mp *m)
{
    msgpack_sbuffer_destroy(&m->sb);
}

static void s(mp *m, const char *str)
{
    size_t n = strlen(str);
    msgpack_pack_str(&m->pk, n);
    msgpack_pack_str_body(&m->pk, str, n);
}

static void sn(mp *m, const char *ptr, size_t n)
{
    msgpack_pack_str(&m->pk, n);
    msgpack_pack_str_body(&m->pk, ptr, n);
}

static void bin(mp *m, const char *ptr, size_t n)
{
    msgpack_pack_bin(&m->pk, n);
    msgpack_pack_bin_body(&m->pk, ptr, n);
}

static void u(mp *m, uint64_t v)
{
    msgpack_pack_uint64(&m->pk, v);
}

static void map(mp *m, size_t n)
{
    msgpack_pack_map(&m->pk, n);
}

static void arr(mp *m, size_t n)
{
    msgpack_pack_array(&m->pk, n);
}

/* A request map with nfields fields after "v" and "op". */
static void head(mp *m, size_t nfields, const char *op)
{
    map(m, nfields + 2);
    s(m, "v");
    u(m, 1);
    s(m, "op");
    s(m, op);
}

/* key: str value. */
static void kv_s(mp *m, const char *k, const char *v)
{
    s(m, k);
    s(m, v);
}

static void kv_u(mp *m, const char *k, uint64_t v)
{
    s(m, k);
    u(m, v);
}

/* ---- sample requests: one per op ------------------------------------------ */

static void sample_ping(mp *m)
{
    head(m, 0, "ping");
}

/* One publish of two events, the first with every optional field. */
static void sample_publish(mp *m)
{
    head(m, 1, "publish");
    s(m, "events");
    arr(m, 2);
    map(m, 5);
    kv_s(m, "topic", "order.created");
    s(m, "payload");
    bin(m, "{\"id\":1}", 8);
    kv_s(m, "content_type", "application/json");
    s(m, "headers");
    map(m, 2);
    kv_s(m, "trace", "abc");
    kv_s(m, "empty", "");
    kv_s(m, "key", "order-1");
    map(m, 2);
    kv_s(m, "topic", "order.paid");
    kv_s(m, "payload", "text payload");
}

static void sample_pull(mp *m)
{
    head(m, 3, "pull");
    kv_s(m, "group", "billing");
    kv_u(m, "max", 10);
    kv_u(m, "wait_ms", 5000);
}

static void sample_settle(mp *m, const char *op)
{
    bool nack = strcmp(op, "nack") == 0, extend = strcmp(op, "extend") == 0;
    bool term = strcmp(op, "term") == 0;
    head(m, 2 + (nack ? 2 : 0) + extend + term, op);
    kv_s(m, "group", "billing");
    s(m, "tokens");
    arr(m, 2);
    s(m, "0123456789abcdef0123456789abcdef");
    s(m, "nonsense");
    if (nack)
        kv_u(m, "delay_ms", 250);
    if (extend)
        kv_u(m, "lease_ms", 60000);
    if (nack || term)
        kv_s(m, "reason", "could not parse");
}

static void sample_ack(mp *m)
{
    sample_settle(m, "ack");
}

static void sample_nack(mp *m)
{
    sample_settle(m, "nack");
}

static void sample_extend(mp *m)
{
    sample_settle(m, "extend");
}

static void sample_term(mp *m)
{
    sample_settle(m, "term");
}

static void sample_group_create(mp *m)
{
    head(m, 8, "group.create");
    kv_s(m, "name", "billing");
    s(m, "filters");
    arr(m, 2);
    s(m, "order.>");
    s(m, "user.*");
    kv_s(m, "start", "seq");
    kv_u(m, "start_value", 42);
    kv_u(m, "ack_wait_ms", 1500);
    kv_u(m, "max_deliveries", 3);
    kv_u(m, "max_inflight", 77);
    s(m, "backoff_ms");
    arr(m, 3);
    u(m, 100);
    u(m, 1000);
    u(m, 10000);
}

static void sample_group_update(mp *m)
{
    head(m, 2, "group.update");
    kv_s(m, "name", "billing");
    kv_u(m, "max_inflight", 5);
}

static void sample_group_get(mp *m)
{
    head(m, 1, "group.get");
    kv_s(m, "name", "billing");
}

static void sample_group_list(mp *m)
{
    head(m, 0, "group.list");
}

static void sample_group_delete(mp *m)
{
    head(m, 1, "group.delete");
    kv_s(m, "name", "billing");
}

static void sample_topics(mp *m)
{
    head(m, 0, "topics");
}

static void sample_log_read(mp *m)
{
    head(m, 2, "log.read");
    kv_u(m, "from_time_ms", 1700000000000ull);
    kv_u(m, "max", 7);
}

static void sample_dlq_list(mp *m)
{
    head(m, 3, "dlq.list");
    kv_s(m, "group", "billing");
    kv_u(m, "after_seq", 9);
    kv_u(m, "limit", 20);
}

static void sample_dlq_get(mp *m)
{
    head(m, 2, "dlq.get");
    kv_s(m, "group", "billing");
    kv_u(m, "seq", 12);
}

static void sample_dlq_replay(mp *m)
{
    head(m, 2, "dlq.replay");
    kv_s(m, "group", "billing");
    s(m, "seqs");
    arr(m, 3);
    u(m, 3);
    u(m, 5);
    u(m, 8);
}

static void sample_dlq_purge(mp *m)
{
    head(m, 2, "dlq.purge");
    kv_s(m, "group", "billing");
    s(m, "all");
    msgpack_pack_true(&m->pk);
}

static void sample_stats(mp *m)
{
    head(m, 0, "stats");
}

typedef void (*sample_fn)(mp *m);

static const struct {
    sl_op op;
    sample_fn build;
} samples[] = {
    {SL_OP_PING, sample_ping},
    {SL_OP_PUBLISH, sample_publish},
    {SL_OP_PULL, sample_pull},
    {SL_OP_ACK, sample_ack},
    {SL_OP_NACK, sample_nack},
    {SL_OP_EXTEND, sample_extend},
    {SL_OP_TERM, sample_term},
    {SL_OP_GROUP_CREATE, sample_group_create},
    {SL_OP_GROUP_UPDATE, sample_group_update},
    {SL_OP_GROUP_GET, sample_group_get},
    {SL_OP_GROUP_LIST, sample_group_list},
    {SL_OP_GROUP_DELETE, sample_group_delete},
    {SL_OP_TOPICS, sample_topics},
    {SL_OP_LOG_READ, sample_log_read},
    {SL_OP_DLQ_LIST, sample_dlq_list},
    {SL_OP_DLQ_GET, sample_dlq_get},
    {SL_OP_DLQ_REPLAY, sample_dlq_replay},
    {SL_OP_DLQ_PURGE, sample_dlq_purge},
    {SL_OP_STATS, sample_stats},
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

/* ---- decoding helpers ------------------------------------------------------ */

static int decode_mp(const mp *m, sl_request *req, sl_wire_error *e)
{
    return sl_request_decode(m->sb.data, m->sb.size, req, e);
}

/* Decode m expecting failure with code (and field, unless NULL). */
static bool fails_with(const mp *m, const char *code, const char *field)
{
    sl_request req;
    sl_wire_error e;
    int rc = decode_mp(m, &req, &e);
    sl_request_release(&req);
    bool ok = rc == -1 && e.code && strcmp(e.code, code) == 0 &&
              (!field || strcmp(e.field, field) == 0) && e.message[0];
    if (!ok)
        fprintf(stderr, "  wanted %s [%s], got rc %d: %s [%s] %s\n", code, field ? field : "",
                rc, rc ? e.code : "-", rc ? e.field : "", rc ? e.message : "");
    return ok;
}

/* ---- the guard and the cursor ---------------------------------------------- */

static const char *guard_why(const void *buf, size_t len, unsigned depth)
{
    const char *why = NULL;
    sl_err rc = sl_mp_guard(buf, len, depth, &why);
    return rc == SL_OK ? "ok" : why;
}

TEST(guard_rejects_huge_counts)
{
    static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t str32[] = {0xdb, 0x00, 0x10, 0x00, 0x00, 'a'};
    static const uint8_t bin8[] = {0xc4, 0x05, 'a', 'b'};
    static const uint8_t ext8[] = {0xc7, 0x09, 0x01, 'a'};
    /* two nested arrays whose counts each fit, but not together */
    static const uint8_t sum[] = {0x92, 0x93, 0x01, 0x02};
    CHECK(strcmp(guard_why(arr32, sizeof arr32, 8), "count larger than input") == 0);
    CHECK(strcmp(guard_why(map32, sizeof map32, 8), "count larger than input") == 0);
    CHECK(strcmp(guard_why(str32, sizeof str32, 8), "length larger than input") == 0);
    CHECK(strcmp(guard_why(bin8, sizeof bin8, 8), "length larger than input") == 0);
    CHECK(strcmp(guard_why(ext8, sizeof ext8, 8), "length larger than input") == 0);
    CHECK(strcmp(guard_why(sum, sizeof sum, 8), "count larger than input") == 0);
}

TEST(guard_limits_depth)
{
    uint8_t buf[101];
    memset(buf, 0x91, 100); /* 100 nested one-element arrays ... */
    buf[100] = 0x90;        /* ... around an empty one */
    CHECK(strcmp(guard_why(buf, sizeof buf, 8), "too deep") == 0);
    CHECK(strcmp(guard_why(buf, sizeof buf, 1000), "too deep") == 0); /* capped */
    /* exactly 8 levels pass, 9 do not */
    CHECK(strcmp(guard_why(buf + 93, 8, 8), "ok") == 0);
    CHECK(strcmp(guard_why(buf + 92, 9, 8), "too deep") == 0);
    static const uint8_t scalar[] = {0x05};
    CHECK(strcmp(guard_why(scalar, 1, 0), "ok") == 0);
    CHECK(strcmp(guard_why(buf + 100, 1, 0), "too deep") == 0);
}

TEST(guard_rejects_trailing_empty_reserved)
{
    mp m;
    mp_init(&m);
    sample_ping(&m);
    msgpack_pack_nil(&m.pk);
    CHECK(strcmp(guard_why(m.sb.data, m.sb.size, 8), "trailing bytes") == 0);
    CHECK(strcmp(guard_why(m.sb.data, m.sb.size - 1, 8), "ok") == 0);
    CHECK(strcmp(guard_why(NULL, 0, 8), "empty input") == 0);
    static const uint8_t reserved[] = {0x91, 0xc1};
    CHECK(strcmp(guard_why(reserved, 2, 8), "reserved byte 0xc1") == 0);
    CHECK(sl_mp_guard(reserved, 2, 8, NULL) == SL_ERR_INVALID);
    mp_free(&m);
}

TEST(guard_rejects_every_prefix)
{
    mp m;
    mp_init(&m);
    sample_publish(&m);
    for (size_t n = 0; n < m.sb.size; n++)
        CHECK(sl_mp_guard(m.sb.data, n, 8, NULL) == SL_ERR_INVALID);
    CHECK(sl_mp_guard(m.sb.data, m.sb.size, 8, NULL) == SL_OK);
    mp_free(&m);
}

TEST(cursor_reads_every_type)
{
    mp m;
    mp_init(&m);
    arr(&m, 11);
    msgpack_pack_nil(&m.pk);
    msgpack_pack_true(&m.pk);
    msgpack_pack_int64(&m.pk, -300);
    msgpack_pack_int8(&m.pk, 7); /* a signed encoding of a positive value */
    u(&m, 1ull << 40);
    msgpack_pack_double(&m.pk, 1.5);
    s(&m, "abc");
    bin(&m, "xy", 2);
    msgpack_pack_ext(&m.pk, 3, 5);
    msgpack_pack_ext_body(&m.pk, "hello", 3);
    map(&m, 1);
    s(&m, "k");
    arr(&m, 0);
    msgpack_pack_float(&m.pk, 2.25f);
    REQUIRE(sl_mp_guard(m.sb.data, m.sb.size, 8, NULL) == SL_OK);
    sl_mp_cursor c = sl_mp_cursor_make(m.sb.data, m.sb.size);
    sl_mp_item it;
    REQUIRE(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_ARRAY && it.count == 11);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_NIL);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_BOOL && it.b);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_NEGINT && it.i == -300);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_UINT && it.u == 7);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_UINT && it.u == 1ull << 40);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_FLOAT && it.f == 1.5);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_STR &&
          sl_slice_eq_cstr(it.bytes, "abc"));
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_BIN &&
          sl_slice_eq_cstr(it.bytes, "xy"));
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_EXT && it.ext_type == 5 &&
          sl_slice_eq_cstr(it.bytes, "hel"));
    sl_mp_cursor before_map = c;
    CHECK(sl_mp_skip(&c) == SL_OK); /* the whole map {"k": []} */
    CHECK(sl_mp_read(&before_map, &it) == SL_OK && it.type == SL_MP_MAP && it.count == 1);
    CHECK(sl_mp_read(&c, &it) == SL_OK && it.type == SL_MP_FLOAT && it.f == 2.25);
    CHECK(sl_mp_read(&c, &it) == SL_ERR_END);
    CHECK(sl_mp_cursor_left(&c) == 0);
    sl_mp_cursor cut = sl_mp_cursor_make(m.sb.data, 3);
    CHECK(sl_mp_skip(&cut) == SL_ERR_INVALID && cut.pos == (const uint8_t *)m.sb.data);
    mp_free(&m);
}

/* A deterministic generator for the fuzz tests. */
static uint64_t next_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

TEST(guard_and_decode_survive_random_bytes)
{
    uint64_t seed = 20240601;
    uint8_t buf[96];
    size_t accepted = 0;
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = next_rand(&seed) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)next_rand(&seed);
        if (len > 0 && iter % 2 == 0)
            buf[0] = 0x80 | (buf[0] & 0x0f); /* often a map, to get further */
        sl_request req;
        sl_wire_error e;
        int rc = sl_request_decode(buf, len, &req, &e);
        CHECK(rc == 0 || (rc == -1 && e.code != NULL && e.message[0] != '\0'));
        sl_request_release(&req);
        if (sl_mp_guard(buf, len, 8, NULL) == SL_OK) {
            accepted++;
            sl_mp_cursor c = sl_mp_cursor_make(buf, len);
            CHECK(sl_mp_skip(&c) == SL_OK && sl_mp_cursor_left(&c) == 0);
        }
    }
    CHECK(accepted > 0);
}

TEST(decode_survives_mutated_samples)
{
    uint64_t seed = 7;
    for (int iter = 0; iter < 4000; iter++) {
        mp m;
        mp_init(&m);
        samples[iter % NSAMPLES].build(&m);
        uint8_t *p = (uint8_t *)m.sb.data;
        int flips = 1 + (int)(next_rand(&seed) % 3);
        for (int k = 0; k < flips; k++)
            p[next_rand(&seed) % m.sb.size] = (uint8_t)next_rand(&seed);
        sl_request req;
        sl_wire_error e;
        int rc = decode_mp(&m, &req, &e);
        CHECK(rc == 0 || (rc == -1 && e.code != NULL));
        sl_request_release(&req);
        mp_free(&m);
    }
}

/* ---- decoding: happy paths ------------------------------------------------- */

TEST(decode_every_sample)
{
    for (size_t i = 0; i < NSAMPLES; i++) {
        mp m;
        mp_init(&m);
        samples[i].build(&m);
        sl_request req;
        sl_wire_error e;
        int rc = decode_mp(&m, &req, &e);
        if (rc != 0)
            fprintf(stderr, "  %s: %s %s\n", sl_op_name(samples[i].op), e.code, e.message);
        CHECK(rc == 0 && req.op == samples[i].op);
        sl_request_release(&req);
        sl_request_release(&req); /* twice is harmless */
        mp_free(&m);
    }
}

TEST(decode_publish_fields)
{
    mp m;
    mp_init(&m);
    sample_publish(&m);
    sl_request req;
    sl_wire_error e;
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    REQUIRE(req.publish.nevents == 2);
    const sl_event_in *a = &req.publish.events[0], *b = &req.publish.events[1];
    CHECK(sl_slice_eq_cstr(a->topic, "order.created"));
    CHECK(sl_slice_eq_cstr(a->payload, "{\"id\":1}"));
    CHECK(sl_slice_eq_cstr(a->content_type, "application/json"));
    CHECK(sl_slice_eq_cstr(a->idem_key, "order-1"));
    REQUIRE(a->nheaders == 2);
    CHECK(sl_slice_eq_cstr(a->headers[0].key, "trace"));
    CHECK(sl_slice_eq_cstr(a->headers[0].value, "abc"));
    CHECK(sl_slice_eq_cstr(a->headers[1].key, "empty") && a->headers[1].value.len == 0);
    CHECK(sl_slice_eq_cstr(b->topic, "order.paid"));
    CHECK(sl_slice_eq_cstr(b->payload, "text payload"));
    CHECK(b->content_type.len == 0 && b->idem_key.len == 0 && b->nheaders == 0);
    /* slices point into the request bytes */
    const char *lo = m.sb.data, *hi = m.sb.data + m.sb.size;
    CHECK(a->topic.ptr > lo && a->topic.ptr < hi);
    CHECK(req.owned != NULL);
    sl_request_release(&req);
    CHECK(req.owned == NULL);
    mp_free(&m);
}

TEST(decode_pull_and_settle_fields)
{
    mp m;
    mp_init(&m);
    sample_pull(&m);
    sl_request req;
    sl_wire_error e;
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(strcmp(req.pull.group, "billing") == 0 && req.pull.max == 10 &&
          req.pull.wait_ms == 5000);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m); /* defaults */
    head(&m, 1, "pull");
    kv_s(&m, "group", "a.b-c_D9");
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(strcmp(req.pull.group, "a.b-c_D9") == 0 && req.pull.max == 1 && req.pull.wait_ms == 0);
    sl_request_release(&req);
    mp_free(&m);

    const char *ops[] = {"ack", "nack", "extend", "term"};
    const uint64_t delays[] = {SL_DELAY_DEFAULT, 250, 60000, SL_DELAY_DEFAULT};
    for (int i = 0; i < 4; i++) {
        mp_init(&m);
        sample_settle(&m, ops[i]);
        REQUIRE(decode_mp(&m, &req, &e) == 0);
        CHECK((int)req.op == (int)SL_OP_ACK + i);
        CHECK(req.settle.ntokens == 2 && sl_slice_eq_cstr(req.settle.tokens[1], "nonsense"));
        CHECK(req.settle.delay_ms == delays[i]);
        CHECK(sl_slice_eq_cstr(req.settle.reason, i == 1 || i == 3 ? "could not parse" : ""));
        sl_request_release(&req);
        mp_free(&m);
    }
}

TEST(decode_settle_cuts_long_reason)
{
    char reason[SL_REASON_MAX + 10];
    memset(reason, 'r', sizeof reason);
    memcpy(reason + SL_REASON_MAX - 1, "\xc3\xa9", 2); /* 'é' across the limit */
    mp m;
    mp_init(&m);
    head(&m, 3, "term");
    kv_s(&m, "group", "g");
    s(&m, "tokens");
    arr(&m, 1);
    s(&m, "t");
    s(&m, "reason");
    sn(&m, reason, sizeof reason);
    sl_request req;
    sl_wire_error e;
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK_EQ_U64(req.settle.reason.len, SL_REASON_MAX - 1);
    sl_request_release(&req);
    mp_free(&m);
}

TEST(decode_group_fields)
{
    mp m;
    mp_init(&m);
    sample_group_create(&m);
    sl_request req;
    sl_wire_error e;
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    const sl_group_config *c = &req.group.config;
    CHECK(strcmp(c->name, "billing") == 0);
    CHECK(c->nfilters == 2 && strcmp(c->filters[0], "order.>") == 0 &&
          strcmp(c->filters[1], "user.*") == 0);
    CHECK(c->start == SL_START_SEQ && c->start_value == 42);
    CHECK(c->ack_wait_ms == 1500 && c->max_deliveries == 3 && c->max_inflight == 77);
    CHECK(c->nbackoff == 3 && c->backoff_ms[2] == 10000);
    CHECK(req.group.given == (SL_GROUP_GIVEN_FILTERS | SL_GROUP_GIVEN_START |
                              SL_GROUP_GIVEN_START_VALUE | SL_GROUP_GIVEN_ACK_WAIT |
                              SL_GROUP_GIVEN_MAX_DELIVERIES | SL_GROUP_GIVEN_MAX_INFLIGHT |
                              SL_GROUP_GIVEN_BACKOFF));
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    sample_group_update(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(req.op == SL_OP_GROUP_UPDATE && req.group.given == SL_GROUP_GIVEN_MAX_INFLIGHT);
    CHECK(req.group.config.max_inflight == 5);
    CHECK(req.group.config.nfilters == 1 && strcmp(req.group.config.filters[0], ">") == 0);
    CHECK(req.group.config.ack_wait_ms == 30000); /* defaults elsewhere */
    sl_request_release(&req);
    mp_free(&m);
}

TEST(decode_read_and_dlq_fields)
{
    mp m;
    sl_request req;
    sl_wire_error e;
    mp_init(&m);
    sample_log_read(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(req.log_read.has_from_time && !req.log_read.has_from_seq && req.log_read.max == 7);
    CHECK(req.log_read.from_time_ms == 1700000000000ull);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    head(&m, 0, "log.read");
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(!req.log_read.has_from_time && !req.log_read.has_from_seq &&
          req.log_read.max == SL_READ_DEFAULT);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    sample_dlq_list(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(req.dlq_list.after_seq == 9 && req.dlq_list.limit == 20);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    sample_dlq_get(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(strcmp(req.dlq_get.group, "billing") == 0 && req.dlq_get.seq == 12);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    sample_dlq_replay(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(!req.dlq_batch.all && req.dlq_batch.nseqs == 3 && req.dlq_batch.seqs[2] == 8);
    sl_request_release(&req);
    mp_free(&m);

    mp_init(&m);
    sample_dlq_purge(&m);
    REQUIRE(decode_mp(&m, &req, &e) == 0);
    CHECK(req.dlq_batch.all && req.dlq_batch.nseqs == 0 && req.dlq_batch.seqs == NULL);
    sl_request_release(&req);
    mp_free(&m);
}

TEST(decode_ignores_unknown_keys_and_order)
{
    mp m;
    mp_init(&m);
    map(&m, 4);
    kv_s(&m, "group", "g1");
    kv_u(&m, "future_field", 9);
    kv_s(&m, "op", "pull");
    kv_u(&m, "v", 1);
    sl_request req;
    sl_wire_error e;
    CHECK(decode_mp(&m, &req, &e) == 0 && req.op == SL_OP_PULL);
    sl_request_release(&req);
    mp_free(&m);
}

/* ---- decoding: errors ------------------------------------------------------ */

TEST(decode_bad_request)
{
    mp m;
    mp_init(&m);
    arr(&m, 0);
    CHECK(fails_with(&m, "bad_request", NULL)); /* not a map */
    mp_free(&m);

    static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    sl_request req;
    sl_wire_error e;
    CHECK(sl_request_decode(huge, sizeof huge, &req, &e) == -1 &&
          strcmp(e.code, "bad_request") == 0);
    sl_request_release(&req);
    CHECK(sl_request_decode(NULL, 0, &req, &e) == -1 && strcmp(e.code, "bad_request") == 0);
    sl_request_release(&req);

    mp_init(&m); /* duplicate key */
    head(&m, 2, "pull");
    kv_s(&m, "group", "a");
    kv_s(&m, "group", "b");
    CHECK(fails_with(&m, "bad_request", NULL));
    mp_free(&m);

    mp_init(&m); /* duplicate unknown key */
    head(&m, 2, "ping");
    kv_u(&m, "x", 1);
    kv_u(&m, "x", 2);
    CHECK(fails_with(&m, "bad_request", NULL));
    mp_free(&m);

    mp_init(&m); /* a non-string key */
    map(&m, 3);
    kv_u(&m, "v", 1);
    kv_s(&m, "op", "ping");
    u(&m, 5);
    u(&m, 6);
    CHECK(fails_with(&m, "bad_request", NULL));
    mp_free(&m);

    mp_init(&m); /* too many keys */
    head(&m, SL_REQUEST_MAP_KEYS_MAX, "ping");
    for (int i = 0; i < SL_REQUEST_MAP_KEYS_MAX; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        kv_u(&m, k, 0);
    }
    CHECK(fails_with(&m, "bad_request", NULL));
    mp_free(&m);

    mp_init(&m); /* duplicate header key */
    head(&m, 1, "publish");
    s(&m, "events");
    arr(&m, 1);
    map(&m, 3);
    kv_s(&m, "topic", "t");
    kv_s(&m, "payload", "");
    s(&m, "headers");
    map(&m, 2);
    kv_s(&m, "h", "1");
    kv_s(&m, "h", "2");
    CHECK(fails_with(&m, "bad_request", "events[0].headers"));
    mp_free(&m);
}

TEST(decode_version_and_op_errors)
{
    mp m;
    mp_init(&m);
    map(&m, 1);
    kv_s(&m, "op", "ping");
    CHECK(fails_with(&m, "missing_field", "v"));
    mp_free(&m);

    mp_init(&m);
    map(&m, 2);
    kv_u(&m, "v", 2);
    kv_s(&m, "op", "ping");
    CHECK(fails_with(&m, "bad_version", "v"));
    mp_free(&m);

    mp_init(&m);
    map(&m, 2);
    kv_s(&m, "v", "1");
    kv_s(&m, "op", "ping");
    CHECK(fails_with(&m, "bad_version", "v"));
    mp_free(&m);

    mp_init(&m);
    map(&m, 1);
    kv_u(&m, "v", 1);
    CHECK(fails_with(&m, "missing_field", "op"));
    mp_free(&m);

    mp_init(&m);
    map(&m, 2);
    kv_u(&m, "v", 1);
    kv_u(&m, "op", 3);
    CHECK(fails_with(&m, "wrong_type", "op"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 0, "explode\x01\n");
    CHECK(fails_with(&m, "unknown_op", "op"));
    mp_free(&m);
}

/* A publish of one event built by fill (which writes the event map). */
static void one_event(mp *m, void (*fill)(mp *m))
{
    head(m, 1, "publish");
    s(m, "events");
    arr(m, 2);
    map(m, 2);
    kv_s(m, "topic", "ok.topic");
    kv_s(m, "payload", "x");
    fill(m);
}

static void ev_topic_wrong_type(mp *m)
{
    map(m, 2);
    kv_u(m, "topic", 5);
    kv_s(m, "payload", "x");
}

static void ev_topic_invalid(mp *m)
{
    map(m, 2);
    kv_s(m, "topic", "a..b");
    kv_s(m, "payload", "x");
}

static void ev_topic_long(mp *m)
{
    char t[300];
    memset(t, 'a', sizeof t);
    map(m, 2);
    s(m, "topic");
    sn(m, t, sizeof t);
    kv_s(m, "payload", "x");
}

static void ev_no_payload(mp *m)
{
    map(m, 1);
    kv_s(m, "topic", "a");
}

static void ev_payload_int(mp *m)
{
    map(m, 2);
    kv_s(m, "topic", "a");
    kv_u(m, "payload", 1);
}

static void ev_not_map(mp *m)
{
    s(m, "event");
}

static void ev_empty_key(mp *m)
{
    map(m, 3);
    kv_s(m, "topic", "a");
    kv_s(m, "payload", "x");
    kv_s(m, "key", "");
}

static void ev_many_headers(mp *m)
{
    map(m, 3);
    kv_s(m, "topic", "a");
    kv_s(m, "payload", "x");
    s(m, "headers");
    map(m, SL_HEADERS_MAX + 1);
    for (int i = 0; i <= SL_HEADERS_MAX; i++) {
        char k[8];
        snprintf(k, sizeof k, "h%d", i);
        kv_s(m, k, "v");
    }
}

static void ev_header_value_int(mp *m)
{
    map(m, 3);
    kv_s(m, "topic", "a");
    kv_s(m, "payload", "x");
    s(m, "headers");
    map(m, 1);
    kv_u(m, "h", 1);
}

static void ev_long_content_type(mp *m)
{
    char t[SL_CONTENT_TYPE_MAX + 1];
    memset(t, 'c', sizeof t);
    map(m, 3);
    kv_s(m, "topic", "a");
    kv_s(m, "payload", "x");
    s(m, "content_type");
    sn(m, t, sizeof t);
}

/* Decode a one-bad-event publish: the error names event 1. */
static bool event_fails(void (*fill)(mp *m), const char *code, const char *field)
{
    mp m;
    mp_init(&m);
    one_event(&m, fill);
    sl_request req;
    sl_wire_error e;
    int rc = decode_mp(&m, &req, &e);
    sl_request_release(&req);
    mp_free(&m);
    bool ok = rc == -1 && strcmp(e.code, code) == 0 && strcmp(e.field, field) == 0 && e.index == 1;
    if (!ok)
        fprintf(stderr, "  wanted %s [%s], got %s [%s] index %lld: %s\n", code, field,
                rc ? e.code : "-", e.field, e.index, e.message);
    return ok;
}

TEST(decode_publish_errors)
{
    CHECK(event_fails(ev_topic_wrong_type, "wrong_type", "events[1].topic"));
    CHECK(event_fails(ev_topic_invalid, "invalid_argument", "events[1].topic"));
    CHECK(event_fails(ev_topic_long, "too_large", "events[1].topic"));
    CHECK(event_fails(ev_no_payload, "missing_field", "events[1].payload"));
    CHECK(event_fails(ev_payload_int, "wrong_type", "events[1].payload"));
    CHECK(event_fails(ev_not_map, "wrong_type", "events[1]"));
    CHECK(event_fails(ev_empty_key, "invalid_argument", "events[1].key"));
    CHECK(event_fails(ev_many_headers, "too_large", "events[1].headers"));
    CHECK(event_fails(ev_header_value_int, "wrong_type", "events[1].headers"));
    CHECK(event_fails(ev_long_content_type, "too_large", "events[1].content_type"));

    mp m;
    mp_init(&m);
    head(&m, 0, "publish");
    CHECK(fails_with(&m, "missing_field", "events"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "publish");
    s(&m, "events");
    arr(&m, 0);
    CHECK(fails_with(&m, "invalid_argument", "events"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "publish");
    s(&m, "events");
    map(&m, 0);
    CHECK(fails_with(&m, "wrong_type", "events"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "publish");
    s(&m, "events");
    arr(&m, SL_PUBLISH_BATCH_MAX + 1);
    for (int i = 0; i <= SL_PUBLISH_BATCH_MAX; i++)
        map(&m, 0);
    CHECK(fails_with(&m, "too_large", "events"));
    mp_free(&m);
}

TEST(decode_field_errors)
{
    mp m;
    mp_init(&m);
    head(&m, 0, "pull");
    CHECK(fails_with(&m, "missing_field", "group"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "pull");
    kv_s(&m, "group", "g");
    kv_u(&m, "max", 0);
    CHECK(fails_with(&m, "invalid_argument", "max"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "pull");
    kv_s(&m, "group", "g");
    kv_u(&m, "wait_ms", SL_WAIT_MS_MAX + 1);
    CHECK(fails_with(&m, "invalid_argument", "wait_ms"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "pull");
    kv_s(&m, "group", "g");
    s(&m, "max");
    msgpack_pack_int64(&m.pk, -1);
    CHECK(fails_with(&m, "wrong_type", "max"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "pull");
    kv_s(&m, "group", "g");
    s(&m, "max");
    msgpack_pack_double(&m.pk, 2.5);
    CHECK(fails_with(&m, "wrong_type", "max"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "pull");
    kv_s(&m, "group", "bad name!");
    CHECK(fails_with(&m, "invalid_argument", "group"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "pull");
    kv_s(&m, "group", "");
    CHECK(fails_with(&m, "invalid_argument", "group"));
    mp_free(&m);

    char longname[SL_GROUP_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    mp_init(&m);
    head(&m, 1, "group.get");
    kv_s(&m, "name", longname);
    CHECK(fails_with(&m, "too_large", "name"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "ack");
    kv_s(&m, "group", "g");
    s(&m, "tokens");
    arr(&m, 2);
    s(&m, "t");
    u(&m, 1);
    CHECK(fails_with(&m, "wrong_type", "tokens[1]"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "ack");
    kv_s(&m, "group", "g");
    s(&m, "tokens");
    arr(&m, 0);
    CHECK(fails_with(&m, "invalid_argument", "tokens"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 3, "extend");
    kv_s(&m, "group", "g");
    s(&m, "tokens");
    arr(&m, 1);
    s(&m, "t");
    kv_u(&m, "lease_ms", 0);
    CHECK(fails_with(&m, "invalid_argument", "lease_ms"));
    mp_free(&m);
}

TEST(decode_group_and_dlq_errors)
{
    mp m;
    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    kv_s(&m, "start", "time");
    CHECK(fails_with(&m, "missing_field", "start_value"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    kv_s(&m, "start", "yesterday");
    CHECK(fails_with(&m, "invalid_argument", "start"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    s(&m, "filters");
    arr(&m, 2);
    s(&m, "a.>");
    s(&m, "a.>.b");
    CHECK(fails_with(&m, "invalid_argument", "filters[1]"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    s(&m, "filters");
    arr(&m, 0);
    CHECK(fails_with(&m, "invalid_argument", "filters"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    kv_u(&m, "max_deliveries", SL_MAX_DELIVERIES_MAX + 1);
    CHECK(fails_with(&m, "invalid_argument", "max_deliveries"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    s(&m, "backoff_ms");
    arr(&m, SL_BACKOFF_MAX + 1);
    for (int i = 0; i <= SL_BACKOFF_MAX; i++)
        u(&m, 1);
    CHECK(fails_with(&m, "too_large", "backoff_ms"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "group.create");
    kv_s(&m, "name", "g");
    s(&m, "backoff_ms");
    arr(&m, 2);
    u(&m, 1);
    s(&m, "2");
    CHECK(fails_with(&m, "wrong_type", "backoff_ms[1]"));
    mp_free(&m);

    mp_init(&m); /* both seqs and all */
    head(&m, 3, "dlq.replay");
    kv_s(&m, "group", "g");
    s(&m, "seqs");
    arr(&m, 1);
    u(&m, 1);
    s(&m, "all");
    msgpack_pack_true(&m.pk);
    CHECK(fails_with(&m, "invalid_argument", "all"));
    mp_free(&m);

    mp_init(&m); /* neither */
    head(&m, 2, "dlq.purge");
    kv_s(&m, "group", "g");
    s(&m, "all");
    msgpack_pack_false(&m.pk);
    CHECK(fails_with(&m, "invalid_argument", "seqs"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "dlq.purge");
    kv_s(&m, "group", "g");
    kv_u(&m, "all", 1);
    CHECK(fails_with(&m, "wrong_type", "all"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 1, "dlq.get");
    kv_s(&m, "group", "g");
    CHECK(fails_with(&m, "missing_field", "seq"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "log.read");
    kv_u(&m, "from_seq", 1);
    kv_u(&m, "from_time_ms", 1);
    CHECK(fails_with(&m, "invalid_argument", "from_time_ms"));
    mp_free(&m);

    mp_init(&m);
    head(&m, 2, "dlq.list");
    kv_s(&m, "group", "g");
    kv_u(&m, "limit", SL_DLQ_PAGE_MAX + 1);
    CHECK(fails_with(&m, "invalid_argument", "limit"));
    mp_free(&m);
}

TEST(decode_rejects_every_truncation)
{
    for (size_t i = 0; i < NSAMPLES; i++) {
        mp m;
        mp_init(&m);
        samples[i].build(&m);
        for (size_t n = 0; n < m.sb.size; n++) {
            sl_request req;
            sl_wire_error e;
            int rc = sl_request_decode(m.sb.data, n, &req, &e);
            CHECK(rc == -1 && strcmp(e.code, "bad_request") == 0);
            sl_request_release(&req);
        }
        mp_free(&m);
    }
}

/* ---- reply encoders --------------------------------------------------------- */

/* Unpack exactly one object from data; false on anything else. */
static bool unpack_one(const void *data, size_t len, msgpack_unpacked *out)
{
    size_t off = 0;
    msgpack_unpacked_init(out);
    return data && msgpack_unpack_next(out, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
           off == len;
}

static const msgpack_object *get(const msgpack_object *o, const char *key)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

static bool is_str(const msgpack_object *o, const char *want)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(want) &&
           memcmp(o->via.str.ptr, want, o->via.str.size) == 0;
}

static bool is_uint(const msgpack_object *o, uint64_t want)
{
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == want;
}

/* A uint field, or UINT64_MAX when absent or not a uint. */
static uint64_t get_u(const msgpack_object *o, const char *key)
{
    const msgpack_object *v = get(o, key);
    return v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 : UINT64_MAX;
}

static bool is_ok(const msgpack_object *o)
{
    const msgpack_object *v = get(o, "ok");
    return v && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

/* The array under key, or NULL. */
static const msgpack_object_array *get_arr(const msgpack_object *o, const char *key)
{
    const msgpack_object *v = get(o, key);
    return v && v->type == MSGPACK_OBJECT_ARRAY ? &v->via.array : NULL;
}

/* Element 0 of the array under key, or NULL. */
static const msgpack_object *first_of(const msgpack_object *o, const char *key)
{
    const msgpack_object_array *a = get_arr(o, key);
    return a && a->size > 0 ? &a->ptr[0] : NULL;
}

TEST(reply_error_shapes)
{
    sl_reply_buf r;
    msgpack_unpacked up;
    sl_reply_init(&r);
    CHECK(sl_reply_data(&r) == NULL && sl_reply_size(&r) == 0);
    REQUIRE(sl_reply_error(&r, "not_found", "no group named \"x\"", "group") == SL_OK);
    REQUIRE(unpack_one(sl_reply_data(&r), sl_reply_size(&r), &up));
    const msgpack_object *o = &up.data;
    const msgpack_object *err = get(o, "error");
    CHECK(!is_ok(o) && get(o, "ok") && o->via.map.size == 2);
    CHECK(is_str(get(err, "code"), "not_found") && is_str(get(err, "field"), "group"));
    CHECK(is_str(get(err, "message"), "no group named \"x\"") && !get(err, "index"));
    msgpack_unpacked_destroy(&up);

    sl_wire_error we = {.code = "wrong_type", .index = 3};
    snprintf(we.field, sizeof we.field, "events[3].topic");
    snprintf(we.message, sizeof we.message, "must be a string");
    REQUIRE(sl_reply_wire_error(&r, &we) == SL_OK);
    REQUIRE(unpack_one(sl_reply_data(&r), sl_reply_size(&r), &up));
    err = get(&up.data, "error");
    CHECK(is_uint(get(err, "index"), 3) && is_str(get(err, "field"), "events[3].topic"));
    msgpack_unpacked_destroy(&up);

    REQUIRE(sl_reply_core_error(&r, SL_ERR_EXISTS, NULL, NULL) == SL_OK);
    REQUIRE(unpack_one(sl_reply_data(&r), sl_reply_size(&r), &up));
    err = get(&up.data, "error");
    CHECK(is_str(get(err, "code"), "already_exists") && !get(err, "field"));
    CHECK(get(err, "message") && get(err, "message")->via.str.size > 0);
    msgpack_unpacked_destroy(&up);
    sl_reply_free(&r);
}

TEST(reply_patched_array_and_shapes)
{
    sl_reply_buf r;
    msgpack_unpacked up;
    sl_reply_init(&r);
    size_t mark;
    REQUIRE(sl_reply_ok_begin(&r, 2) == SL_OK);
    REQUIRE(sl_reply_key(&r, "items") == SL_OK && sl_reply_array_open(&r, &mark) == SL_OK);
    for (uint32_t i = 0; i < 3; i++)
        REQUIRE(sl_reply_uint(&r, i * 1000) == SL_OK);
    sl_reply_array_patch(&r, mark, 3);
    REQUIRE(sl_reply_key(&r, "event") == SL_OK);
    uint8_t raw[32];
    size_t n = 0;
    sl_put_u16(raw + n, 2), n += 2;
    memcpy(raw + n, "k1", 2), n += 2;
    sl_put_u16(raw + n, 3), n += 2;
    memcpy(raw + n, "val", 3), n += 3;
    sl_event_view ev = {.seq = 9, .ts_ms = 1234, .topic = sl_slice_of("a.b"),
                        .payload = {"\0\1", 2}, .content_type = sl_slice_of("text/plain"),
                        .nheaders = 1, .headers_raw = raw, .headers_raw_len = n};
    REQUIRE(sl_reply_event(&r, 0xabcdefull, &ev) == SL_OK);
    REQUIRE(unpack_one(sl_reply_data(&r), sl_reply_size(&r), &up));
    const msgpack_object *o = &up.data;
    CHECK(is_ok(o));
    const msgpack_object_array *items = get_arr(o, "items");
    CHECK(items && items->size == 3 && is_uint(&items->ptr[2], 2000));
    const msgpack_object *e = get(o, "event");
    CHECK(is_uint(get(e, "seq"), 9) && is_uint(get(e, "ts_ms"), 1234));
    CHECK(is_str(get(e, "id"), "evt_0000000000abcdef0000000000000009"));
    CHECK(is_str(get(e, "topic"), "a.b") && is_str(get(e, "content_type"), "text/plain"));
    const msgpack_object *pl = get(e, "payload");
    CHECK(pl && pl->type == MSGPACK_OBJECT_BIN && pl->via.bin.size == 2);
    CHECK(is_str(get(get(e, "headers"), "k1"), "val"));
    msgpack_unpacked_destroy(&up);

    /* a corrupt header block is reported, not encoded */
    ev.headers_raw_len = 3;
    sl_reply_reset(&r);
    CHECK(sl_reply_event(&r, 1, &ev) == SL_ERR_CORRUPT);

    sl_group_info g;
    memset(&g, 0, sizeof g);
    sl_group_config_default(&g.config);
    snprintf(g.config.name, sizeof g.config.name, "billing");
    g.lag = 5;
    sl_reply_reset(&r);
    REQUIRE(sl_reply_group(&r, &g) == SL_OK);
    REQUIRE(unpack_one(sl_reply_data(&r), sl_reply_size(&r), &up));
    o = &up.data;
    CHECK(o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 17);
    CHECK(is_str(get(o, "name"), "billing") && is_str(get(o, "start"), "earliest"));
    CHECK(get_u(o, "lag") == 5 && get_u(o, "ack_wait_ms") == 30000);
    const msgpack_object_array *f = get_arr(o, "filters");
    CHECK(f && f->size == 1 && is_str(&f->ptr[0], ">"));
    msgpack_unpacked_destroy(&up);
    sl_reply_free(&r);
}

/* ---- dispatch against a real store ------------------------------------------ */

/* A store in a temp dir, and what a request run through dispatch left. */
typedef struct harness {
    char *dir;                   /* temp dir (owned) */
    sl_store *store;             /* open store */
    sl_server_counters counters; /* for stats */
    sl_reply_buf out;            /* reply of the last run */
    msgpack_unpacked reply;      /* that reply, unpacked */
    sl_write_effects fx;         /* effects of the last write */
    sl_err rc;                   /* dispatch result of the last run */
    uint64_t now;                /* the injected clock */
} harness;

static bool h_open(harness *h)
{
    memset(h, 0, sizeof *h);
    sl_reply_init(&h->out);
    msgpack_unpacked_init(&h->reply);
    h->now = 1700000000000ull;
    h->counters.started_ms = h->now - 5000;
    h->dir = test_tmpdir("proto");
    if (!h->dir)
        return false;
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = h->dir;
    opt.max_payload_bytes = 64;
    return sl_store_open(&opt, &h->store) == SL_OK;
}

static void h_close(harness *h)
{
    sl_store_close(h->store);
    test_rmtree(h->dir);
    free(h->dir);
    sl_reply_free(&h->out);
    msgpack_unpacked_destroy(&h->reply);
}

/* Run a write request in a child of a fresh write txn, as the writer does. */
static sl_err h_write(harness *h, const sl_request *req)
{
    sl_txn w, child;
    sl_err rc = sl_txn_begin_write(h->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_txn_begin_child(&w, &child);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    rc = sl_dispatch_write(&child, req, h->now, &h->out, &h->fx);
    if (rc == SL_OK)
        rc = sl_txn_commit(&child);
    else
        sl_txn_abort(&child);
    sl_err crc = sl_txn_commit(&w);
    return rc != SL_OK ? rc : crc;
}

/* Decode and dispatch the request in m; returns the unpacked reply or NULL. */
static const msgpack_object *h_run(harness *h, mp *m)
{
    sl_request req;
    sl_wire_error e;
    memset(&h->fx, 0, sizeof h->fx);
    if (decode_mp(m, &req, &e) != 0) {
        fprintf(stderr, "  decode failed: %s %s\n", e.code, e.message);
        h->rc = SL_ERR_INVALID;
        sl_reply_wire_error(&h->out, &e);
    } else if (sl_dispatch_kind(&req) == SL_RUN_READ) {
        h->rc = sl_dispatch_read(h->store, &req, h->now, &h->counters, &h->out);
    } else {
        h->rc = h_write(h, &req);
    }
    sl_request_release(&req);
    mp_free(m);
    msgpack_unpacked_destroy(&h->reply);
    if (!unpack_one(sl_reply_data(&h->out), sl_reply_size(&h->out), &h->reply))
        return NULL;
    return &h->reply.data;
}

/* The error code of a reply, or "" when it is ok or malformed. */
static const char *error_code(const msgpack_object *o)
{
    static char code[32];
    const msgpack_object *c = get(get(o, "error"), "code");
    code[0] = '\0';
    if (c && c->type == MSGPACK_OBJECT_STR && c->via.str.size < sizeof code) {
        memcpy(code, c->via.str.ptr, c->via.str.size);
        code[c->via.str.size] = '\0';
    }
    return code;
}

static void req_group_create(mp *m, const char *name, const char *filter, uint64_t max_del)
{
    mp_init(m);
    head(m, 3, "group.create");
    kv_s(m, "name", name);
    s(m, "filters");
    arr(m, 1);
    s(m, filter);
    kv_u(m, "max_deliveries", max_del);
}

/* Publish order.created (with headers, key k1), order.paid, user.signup. */
static void req_publish3(mp *m)
{
    mp_init(m);
    head(m, 1, "publish");
    s(m, "events");
    arr(m, 3);
    map(m, 5);
    kv_s(m, "topic", "order.created");
    s(m, "payload");
    bin(m, "{}", 2);
    kv_s(m, "content_type", "application/json");
    s(m, "headers");
    map(m, 1);
    kv_s(m, "trace", "t-1");
    kv_s(m, "key", "k1");
    map(m, 2);
    kv_s(m, "topic", "order.paid");
    kv_s(m, "payload", "paid");
    map(m, 2);
    kv_s(m, "topic", "user.signup");
    kv_s(m, "payload", "u");
}

static void req_pull(mp *m, const char *group, uint64_t max)
{
    mp_init(m);
    head(m, 2, "pull");
    kv_s(m, "group", group);
    kv_u(m, "max", max);
}

/* A settle request for one token (a str object from a reply). */
static void req_settle(mp *m, const char *op, const msgpack_object *token, const char *reason)
{
    mp_init(m);
    head(m, 2 + (reason != NULL), op);
    kv_s(m, "group", "billing");
    s(m, "tokens");
    arr(m, 2);
    sn(m, token->via.str.ptr, token->via.str.size);
    s(m, "not-a-token");
    if (reason)
        kv_s(m, "reason", reason);
}

/* Copy of the token of delivery i of a pull reply (reply buffers are reused). */
typedef struct token_copy {
    char text[SL_TOKEN_LEN + 1]; /* NUL-terminated */
    msgpack_object obj;          /* a str object pointing at text */
} token_copy;

static bool copy_token(const msgpack_object *reply, uint32_t i, token_copy *t)
{
    const msgpack_object_array *d = get_arr(reply, "deliveries");
    const msgpack_object *tok = d && i < d->size ? get(&d->ptr[i], "token") : NULL;
    if (!tok || tok->type != MSGPACK_OBJECT_STR || tok->via.str.size != SL_TOKEN_LEN)
        return false;
    memcpy(t->text, tok->via.str.ptr, SL_TOKEN_LEN);
    t->text[SL_TOKEN_LEN] = '\0';
    t->obj.type = MSGPACK_OBJECT_STR;
    t->obj.via.str.ptr = t->text;
    t->obj.via.str.size = SL_TOKEN_LEN;
    return true;
}

TEST(dispatch_group_publish_pull_ack)
{
    harness h;
    REQUIRE(h_open(&h));
    mp m;
    const msgpack_object *o;

    req_group_create(&m, "billing", "order.>", 2);
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    CHECK(is_str(get(get(o, "group"), "name"), "billing"));
    CHECK(get_u(get(o, "group"), "max_deliveries") == 2);

    req_group_create(&m, "billing", ">", 1);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "already_exists") == 0 && h.rc == SL_ERR_EXISTS);
    CHECK(is_str(get(get(o, "error"), "field"), "name"));

    req_publish3(&m);
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    const msgpack_object_array *res = get_arr(o, "results");
    REQUIRE(res && res->size == 3);
    CHECK(get_u(&res->ptr[0], "seq") == 1 && get_u(&res->ptr[2], "seq") == 3);
    CHECK(get_u(&res->ptr[0], "ts_ms") == h.now);
    const msgpack_object *id = get(&res->ptr[1], "id");
    CHECK(id && id->type == MSGPACK_OBJECT_STR && id->via.str.size == SL_EVENT_ID_LEN);
    CHECK(h.fx.appended && h.fx.appended_events == 3 && h.fx.is_publish);

    req_publish3(&m); /* k1 again: a duplicate, the others are new */
    o = h_run(&h, &m);
    res = get_arr(o, "results");
    REQUIRE(res && res->size == 3);
    const msgpack_object *dup = get(&res->ptr[0], "duplicate");
    CHECK(dup && dup->type == MSGPACK_OBJECT_BOOLEAN && dup->via.boolean);
    CHECK(get_u(&res->ptr[0], "seq") == 1 && get_u(&res->ptr[1], "seq") == 4);
    CHECK(h.fx.appended_events == 2);

    h.now += 10;
    req_pull(&m, "billing", 10);
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    const msgpack_object_array *d = get_arr(o, "deliveries");
    REQUIRE(d && d->size == 3); /* seqs 1, 2 and 4 match order.> */
    CHECK(h.fx.delivered == 3);
    const msgpack_object *first = &d->ptr[0];
    CHECK(get_u(first, "seq") == 1 && get_u(first, "attempt") == 1);
    CHECK(is_str(get(first, "topic"), "order.created"));
    CHECK(is_str(get(first, "content_type"), "application/json"));
    CHECK(is_str(get(get(first, "headers"), "trace"), "t-1"));
    CHECK(get_u(first, "lease_until_ms") > h.now);
    CHECK(get_u(&d->ptr[1], "seq") == 2 && !get(&d->ptr[1], "headers"));
    token_copy tok;
    REQUIRE(copy_token(o, 0, &tok));

    req_settle(&m, "ack", &tok.obj, NULL);
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    res = get_arr(o, "results");
    REQUIRE(res && res->size == 2);
    CHECK(is_str(&res->ptr[0], "ok") && is_str(&res->ptr[1], "invalid"));

    req_settle(&m, "ack", &tok.obj, NULL); /* again: nothing pending under it */
    o = h_run(&h, &m);
    res = get_arr(o, "results");
    CHECK(res && res->size == 2 && is_str(&res->ptr[0], "gone"));

    req_pull(&m, "nope", 1);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0 && h.rc == SL_ERR_NOT_FOUND);
    const msgpack_object *msg = get(get(o, "error"), "message");
    CHECK(msg && msg->type == MSGPACK_OBJECT_STR &&
          memmem(msg->via.str.ptr, msg->via.str.size, "\"nope\"", 6) != NULL);
    h_close(&h);
}

TEST(dispatch_publish_too_large)
{
    harness h;
    REQUIRE(h_open(&h));
    char big[100];
    memset(big, 'x', sizeof big);
    mp m;
    mp_init(&m);
    head(&m, 1, "publish");
    s(&m, "events");
    arr(&m, 2);
    map(&m, 2);
    kv_s(&m, "topic", "a");
    kv_s(&m, "payload", "small");
    map(&m, 2);
    kv_s(&m, "topic", "a");
    s(&m, "payload");
    bin(&m, big, sizeof big);
    const msgpack_object *o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "too_large") == 0 && h.rc == SL_ERR_TOO_LARGE);
    CHECK(is_uint(get(get(o, "error"), "index"), 1));
    CHECK(is_str(get(get(o, "error"), "field"), "events[1].payload"));
    CHECK(!h.fx.appended && h.fx.is_publish);

    mp_init(&m);
    head(&m, 0, "stats");
    o = h_run(&h, &m);
    CHECK(is_ok(o) && get_u(o, "events") == 0); /* all-or-nothing */
    h_close(&h);
}

TEST(dispatch_term_dlq_replay_purge)
{
    harness h;
    REQUIRE(h_open(&h));
    mp m;
    const msgpack_object *o;
    req_group_create(&m, "billing", "order.*", 5);
    REQUIRE(is_ok(h_run(&h, &m)));
    req_publish3(&m);
    REQUIRE(is_ok(h_run(&h, &m)));

    req_pull(&m, "billing", 1);
    o = h_run(&h, &m);
    token_copy tok;
    REQUIRE(copy_token(o, 0, &tok));
    req_settle(&m, "term", &tok.obj, "cannot parse");
    o = h_run(&h, &m);
    REQUIRE(is_ok(o));
    CHECK(is_str(first_of(o, "results"), "ok"));

    mp_init(&m);
    head(&m, 1, "dlq.list");
    kv_s(&m, "group", "billing");
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    const msgpack_object_array *dl = get_arr(o, "dead_letters");
    REQUIRE(dl && dl->size == 1);
    CHECK(get_u(&dl->ptr[0], "seq") == 1 && is_str(get(&dl->ptr[0], "reason"), "cannot parse"));
    CHECK(get_u(&dl->ptr[0], "attempts") == 1);
    CHECK(is_str(get(get(&dl->ptr[0], "event"), "topic"), "order.created"));
    CHECK(get_u(o, "next_after") == 0);

    mp_init(&m);
    head(&m, 2, "dlq.get");
    kv_s(&m, "group", "billing");
    kv_u(&m, "seq", 1);
    o = h_run(&h, &m);
    CHECK(is_ok(o) && get_u(get(o, "dead_letter"), "seq") == 1);

    mp_init(&m);
    head(&m, 2, "dlq.get");
    kv_s(&m, "group", "billing");
    kv_u(&m, "seq", 99);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0 && is_str(get(get(o, "error"), "field"), "seq"));

    mp_init(&m);
    head(&m, 2, "dlq.replay");
    kv_s(&m, "group", "billing");
    s(&m, "all");
    msgpack_pack_true(&m.pk);
    o = h_run(&h, &m);
    REQUIRE(is_ok(o));
    CHECK(get_u(o, "replayed") == 1 && get_u(o, "remaining") == 0 && h.fx.made_due);

    req_pull(&m, "billing", 1); /* the replayed event comes first */
    o = h_run(&h, &m);
    REQUIRE(copy_token(o, 0, &tok));
    CHECK(get_u(first_of(o, "deliveries"), "seq") == 1);

    mp_init(&m); /* nack with no delay: due again at once */
    head(&m, 3, "nack");
    kv_s(&m, "group", "billing");
    s(&m, "tokens");
    arr(&m, 1);
    s(&m, tok.text);
    kv_u(&m, "delay_ms", 0);
    o = h_run(&h, &m);
    CHECK(is_ok(o) && h.fx.made_due);

    req_pull(&m, "billing", 1);
    o = h_run(&h, &m);
    REQUIRE(copy_token(o, 0, &tok));
    CHECK(get_u(first_of(o, "deliveries"), "seq") == 1);
    CHECK(get_u(first_of(o, "deliveries"), "attempt") == 2);

    req_settle(&m, "term", &tok.obj, NULL);
    REQUIRE(is_ok(h_run(&h, &m)));
    mp_init(&m);
    head(&m, 2, "dlq.purge");
    kv_s(&m, "group", "billing");
    s(&m, "seqs");
    arr(&m, 2);
    u(&m, 1);
    u(&m, 77);
    o = h_run(&h, &m);
    CHECK(is_ok(o) && get_u(o, "purged") == 1);

    mp_init(&m);
    head(&m, 1, "group.get");
    kv_s(&m, "name", "billing");
    o = h_run(&h, &m);
    CHECK(is_ok(o) && get_u(get(o, "group"), "dlq_size") == 0);

    mp_init(&m);
    head(&m, 2, "dlq.purge");
    kv_s(&m, "group", "ghost");
    s(&m, "all");
    msgpack_pack_true(&m.pk);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0);
    CHECK(is_str(get(get(o, "error"), "field"), "group"));
    h_close(&h);
}

TEST(dispatch_read_ops)
{
    harness h;
    REQUIRE(h_open(&h));
    mp m;
    const msgpack_object *o;
    req_group_create(&m, "billing", "order.>", 5);
    REQUIRE(is_ok(h_run(&h, &m)));
    req_group_create(&m, "audit", ">", 5);
    REQUIRE(is_ok(h_run(&h, &m)));
    req_publish3(&m);
    REQUIRE(is_ok(h_run(&h, &m)));

    mp_init(&m);
    sample_ping(&m);
    o = h_run(&h, &m);
    CHECK(is_ok(o) && is_uint(get(o, "proto"), 1) && get_u(o, "time_ms") == h.now);
    CHECK(get(o, "version") && get(o, "version")->type == MSGPACK_OBJECT_STR);

    mp_init(&m);
    sample_group_list(&m);
    o = h_run(&h, &m);
    const msgpack_object_array *g = get_arr(o, "groups");
    REQUIRE(is_ok(o) && g && g->size == 2);
    CHECK(is_str(get(&g->ptr[0], "name"), "audit") && is_str(get(&g->ptr[1], "name"), "billing"));

    mp_init(&m);
    sample_topics(&m);
    o = h_run(&h, &m);
    const msgpack_object_array *t = get_arr(o, "topics");
    REQUIRE(is_ok(o) && t && t->size == 3);
    CHECK(is_str(get(&t->ptr[0], "name"), "order.created") && get_u(&t->ptr[0], "events") == 1);

    mp_init(&m);
    head(&m, 2, "log.read");
    kv_u(&m, "from_seq", 2);
    kv_u(&m, "max", 1);
    o = h_run(&h, &m);
    const msgpack_object_array *ev = get_arr(o, "events");
    REQUIRE(is_ok(o) && ev && ev->size == 1);
    CHECK(get_u(&ev->ptr[0], "seq") == 2 && get_u(o, "next_seq") == 3);

    mp_init(&m);
    head(&m, 1, "log.read");
    kv_u(&m, "from_seq", 50);
    o = h_run(&h, &m);
    ev = get_arr(o, "events");
    CHECK(is_ok(o) && ev && ev->size == 0 && get_u(o, "next_seq") == 50);

    mp_init(&m);
    head(&m, 1, "log.read");
    kv_u(&m, "from_time_ms", h.now);
    o = h_run(&h, &m);
    ev = get_arr(o, "events");
    CHECK(is_ok(o) && ev && ev->size == 3 && get_u(o, "next_seq") == 4);

    h.counters.requests = 7;
    h.counters.commits = 2;
    h.counters.journal_writes = 5;
    h.counters.commit_requests = 6;
    h.counters.journal_us = 900;
    h.counters.checkpoint_us = 300;
    mp_init(&m);
    sample_stats(&m);
    o = h_run(&h, &m);
    REQUIRE(is_ok(o));
    CHECK(get_u(o, "events") == 3 && get_u(o, "groups") == 2 && get_u(o, "topics") == 3);
    CHECK(get_u(o, "first_seq") == 1 && get_u(o, "last_seq") == 3 && get_u(o, "next_seq") == 4);
    CHECK(get_u(o, "uptime_ms") == 5000 && get_u(o, "requests") == 7);
    CHECK(get_u(o, "map_bytes") > 0 && get_u(o, "parked_pulls") == 0);
    CHECK(get_u(o, "commits") == 2 && get_u(o, "journal_writes") == 5 &&
          get_u(o, "commit_requests") == 6 && get_u(o, "journal_us") == 900 &&
          get_u(o, "checkpoint_us") == 300);

    mp_init(&m);
    head(&m, 1, "group.get");
    kv_s(&m, "name", "missing");
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0 && h.rc == SL_OK);
    h_close(&h);
}

TEST(dispatch_group_update_delete)
{
    harness h;
    REQUIRE(h_open(&h));
    mp m;
    const msgpack_object *o;
    req_group_create(&m, "billing", "order.>", 4);
    REQUIRE(is_ok(h_run(&h, &m)));

    mp_init(&m);
    head(&m, 3, "group.update");
    kv_s(&m, "name", "billing");
    kv_u(&m, "ack_wait_ms", 5000);
    s(&m, "backoff_ms");
    arr(&m, 2);
    u(&m, 10);
    u(&m, 20);
    o = h_run(&h, &m);
    REQUIRE(o && is_ok(o));
    const msgpack_object *g = get(o, "group");
    CHECK(get_u(g, "ack_wait_ms") == 5000 && get_u(g, "max_deliveries") == 4);
    const msgpack_object_array *f = get_arr(g, "filters");
    CHECK(f && f->size == 1 && is_str(&f->ptr[0], "order.>"));
    const msgpack_object_array *b = get_arr(g, "backoff_ms");
    CHECK(b && b->size == 2 && is_uint(&b->ptr[1], 20));

    mp_init(&m);
    head(&m, 2, "group.update");
    kv_s(&m, "name", "ghost");
    kv_u(&m, "ack_wait_ms", 5000);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0 && is_str(get(get(o, "error"), "field"), "name"));

    mp_init(&m);
    sample_group_delete(&m);
    o = h_run(&h, &m);
    CHECK(is_ok(o) && o->via.map.size == 1);

    mp_init(&m);
    sample_group_delete(&m);
    o = h_run(&h, &m);
    CHECK(strcmp(error_code(o), "not_found") == 0 && h.rc == SL_ERR_NOT_FOUND);
    h_close(&h);
}

UNIT_MAIN("proto",
          UNIT_CASE(guard_rejects_huge_counts),
          UNIT_CASE(guard_limits_depth),
          UNIT_CASE(guard_rejects_trailing_empty_reserved),
          UNIT_CASE(guard_rejects_every_prefix),
          UNIT_CASE(cursor_reads_every_type),
          UNIT_CASE(guard_and_decode_survive_random_bytes),
          UNIT_CASE(decode_survives_mutated_samples),
          UNIT_CASE(decode_every_sample),
          UNIT_CASE(decode_publish_fields),
          UNIT_CASE(decode_pull_and_settle_fields),
          UNIT_CASE(decode_settle_cuts_long_reason),
          UNIT_CASE(decode_group_fields),
          UNIT_CASE(decode_read_and_dlq_fields),
          UNIT_CASE(decode_ignores_unknown_keys_and_order),
          UNIT_CASE(decode_bad_request),
          UNIT_CASE(decode_version_and_op_errors),
          UNIT_CASE(decode_publish_errors),
          UNIT_CASE(decode_field_errors),
          UNIT_CASE(decode_group_and_dlq_errors),
          UNIT_CASE(decode_rejects_every_truncation),
          UNIT_CASE(reply_error_shapes),
          UNIT_CASE(reply_patched_array_and_shapes),
          UNIT_CASE(dispatch_group_publish_pull_ack),
          UNIT_CASE(dispatch_publish_too_large),
          UNIT_CASE(dispatch_term_dlq_replay_purge),
          UNIT_CASE(dispatch_read_ops),
          UNIT_CASE(dispatch_group_update_delete))
