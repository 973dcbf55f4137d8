/* test_daemon.c: the real sluiced over real nng sockets against a real LMDB
 * in a temp dir: the consumer cycle, competing consumers, fan-out,
 * redelivery, nack delay, stale acks, dead letters and replay, idempotent
 * publish, wildcards, long-polls, errors, clean shutdown and restart. */
#include <dirent.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdlib.h>

#include "daemon_client.h"
#include "unit.h"

/* One daemon for the tests that do not need their own. */
typedef struct fixture {
    test_daemon d;
    sl_client *c;
} fixture;

static int fixture_up(fixture *f, const char *const *extra)
{
    memset(f, 0, sizeof *f);
    if (test_daemon_start(&f->d, NULL, extra) != 0)
        return -1;
    f->c = tc_open(f->d.url);
    return f->c ? 0 : -1;
}

static int fixture_down(fixture *f)
{
    sl_client_close(f->c);
    return test_daemon_cleanup(&f->d);
}

TEST(publish_pull_ack_cycle)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "billing", NULL, 0, 0) == 0);
    sl_event_in evs[3];
    memset(evs, 0, sizeof evs);
    sl_header hdr = {sl_slice_of("trace"), sl_slice_of("abc")};
    const char *payloads[3] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        evs[i].topic = sl_slice_of("order.created");
        evs[i].payload = sl_slice_of(payloads[i]);
    }
    evs[0].content_type = sl_slice_of("text/plain");
    evs[0].headers = &hdr;
    evs[0].nheaders = 1;
    sl_client_result res = {0};
    REQUIRE(sl_client_publish(f.c, evs, 3, &res) == SL_CLIENT_OK);
    REQUIRE(res.publish.n == 3);
    uint64_t first = res.publish.results[0].seq;
    CHECK(res.publish.results[1].seq == first + 1);
    CHECK(res.publish.results[2].seq == first + 2);
    CHECK(res.publish.results[0].id.len == SL_EVENT_ID_LEN);
    sl_client_result_free(&res);

    REQUIRE(sl_client_pull(f.c, "billing", 10, 0, &res) == SL_CLIENT_OK);
    REQUIRE(res.pull.n == 3);
    sl_slice tokens[3];
    char tokbuf[3][SL_TOKEN_LEN + 1];
    for (size_t i = 0; i < 3; i++) {
        const sl_client_delivery *d = &res.pull.deliveries[i];
        CHECK(d->attempt == 1);
        CHECK(d->event.seq == first + i);
        CHECK(sl_slice_eq_cstr(d->event.payload, payloads[i]));
        CHECK(sl_slice_eq_cstr(d->event.topic, "order.created"));
        REQUIRE(d->token.len == SL_TOKEN_LEN);
        memcpy(tokbuf[i], d->token.ptr, SL_TOKEN_LEN);
        tokbuf[i][SL_TOKEN_LEN] = 0;
        tokens[i] = sl_slice_of(tokbuf[i]);
    }
    CHECK(sl_slice_eq_cstr(res.pull.deliveries[0].event.content_type, "text/plain"));
    CHECK(res.pull.deliveries[0].event.nheaders == 1);
    sl_client_result_free(&res);

    REQUIRE(sl_client_ack(f.c, "billing", tokens, 3, &res) == SL_CLIENT_OK);
    REQUIRE(res.settle.n == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(res.settle.status[i] == SL_TOKEN_OK);
    sl_client_result_free(&res);

    REQUIRE(sl_client_pull(f.c, "billing", 10, 0, &res) == SL_CLIENT_OK);
    CHECK(res.pull.n == 0);
    sl_client_result_free(&res);

    REQUIRE(sl_client_group_get(f.c, "billing", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.acked, 3);
    CHECK_EQ_U64(res.group.lag, 0);
    CHECK_EQ_U64(res.group.in_flight, 0);
    sl_client_result_free(&res);

    /* a second ack of the same token: nothing pending any more */
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "billing", tokens[0], 0, NULL) == SL_TOKEN_GONE);
    CHECK(fixture_down(&f) == 0);
}

TEST(competing_consumers_get_disjoint_events)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    sl_client *c2 = tc_open(f.d.url);
    REQUIRE(c2);
    REQUIRE(tc_group(f.c, "workers", NULL, 60000, 0) == 0);
    enum { N = 100 };
    for (int i = 0; i < N; i++)
        REQUIRE(tc_publish(f.c, "job.run", "x", NULL) != 0);
    static int seen[N + 8];
    memset(seen, 0, sizeof seen);
    int total = 0;
    for (int round = 0; round < 40 && total < N; round++) {
        sl_client *c = (round % 2) ? c2 : f.c;
        sl_client_result res = {0};
        REQUIRE(sl_client_pull(c, "workers", 7, 0, &res) == SL_CLIENT_OK);
        for (size_t i = 0; i < res.pull.n; i++) {
            uint64_t seq = res.pull.deliveries[i].event.seq;
            REQUIRE(seq >= 1 && seq <= N);
            seen[seq]++;
            total++;
        }
        sl_client_result_free(&res);
    }
    CHECK(total == N);
    for (int s = 1; s <= N; s++)
        CHECK(seen[s] == 1);
    sl_client_close(c2);
    CHECK(fixture_down(&f) == 0);
}

TEST(two_groups_each_get_every_event)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "a", NULL, 0, 0) == 0);
    REQUIRE(tc_group(f.c, "b", NULL, 0, 0) == 0);
    for (int i = 0; i < 20; i++)
        REQUIRE(tc_publish(f.c, "fan.out", "x", NULL) != 0);
    const char *groups[2] = {"a", "b"};
    for (int g = 0; g < 2; g++) {
        sl_client_result res = {0};
        REQUIRE(sl_client_pull(f.c, groups[g], 100, 0, &res) == SL_CLIENT_OK);
        CHECK(res.pull.n == 20);
        sl_client_result_free(&res);
    }
    CHECK(fixture_down(&f) == 0);
}

/* Pull one delivery; copy its token into tok (SL_TOKEN_LEN+1). Returns the
 * attempt number, 0 when nothing came, -1 on error. */
static int pull_one(sl_client *c, const char *group, uint64_t wait_ms, char *tok, uint64_t *seq)
{
    sl_client_result res = {0};
    int out = -1;
    if (sl_client_pull(c, group, 1, wait_ms, &res) == SL_CLIENT_OK) {
        out = 0;
        if (res.pull.n == 1) {
            const sl_client_delivery *d = &res.pull.deliveries[0];
            out = (int)d->attempt;
            if (tok) {
                memcpy(tok, d->token.ptr, d->token.len < SL_TOKEN_LEN ? d->token.len : SL_TOKEN_LEN);
                tok[SL_TOKEN_LEN] = 0;
            }
            if (seq)
                *seq = d->event.seq;
        }
    } else {
        fprintf(stderr, "  pull failed: %s: %s\n", res.error.code, res.error.message);
    }
    sl_client_result_free(&res);
    return out;
}

TEST(redelivery_after_lease_and_stale_ack_refused)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "slow", NULL, 300, 0) == 0);
    uint64_t seq = tc_publish(f.c, "order.created", "x", NULL);
    REQUIRE(seq);
    char t1[SL_TOKEN_LEN + 1], t2[SL_TOKEN_LEN + 1];
    uint64_t s1 = 0, s2 = 0;
    CHECK(pull_one(f.c, "slow", 0, t1, &s1) == 1);
    CHECK(pull_one(f.c, "slow", 0, NULL, NULL) == 0); /* leased: not handed out again */
    /* the lease ends after 300 ms: a long-poll wakes for the redelivery */
    uint64_t t0 = test_mono_ms();
    CHECK(pull_one(f.c, "slow", 3000, t2, &s2) == 2);
    CHECK(test_mono_ms() - t0 < 2500);
    CHECK(s1 == seq && s2 == seq);
    CHECK(strcmp(t1, t2) != 0);
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "slow", sl_slice_of(t1), 0, NULL) == SL_TOKEN_STALE);
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "slow", sl_slice_of(t2), 0, NULL) == SL_TOKEN_OK);
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "slow", sl_slice_of("nonsense"), 0, NULL) ==
          SL_TOKEN_INVALID);
    CHECK(fixture_down(&f) == 0);
}

TEST(nack_with_delay_then_redelivered)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "g", NULL, 60000, 0) == 0);
    REQUIRE(tc_publish(f.c, "t.x", "x", NULL));
    char tok[SL_TOKEN_LEN + 1];
    REQUIRE(pull_one(f.c, "g", 0, tok, NULL) == 1);
    CHECK(tc_settle1(f.c, SL_SETTLE_NACK, "g", sl_slice_of(tok), 400, "try later") == SL_TOKEN_OK);
    CHECK(pull_one(f.c, "g", 0, NULL, NULL) == 0); /* not before the delay */
    sl_client_result res = {0};
    REQUIRE(sl_client_group_get(f.c, "g", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.waiting, 1);
    CHECK_EQ_U64(res.group.in_flight, 0);
    sl_client_result_free(&res);
    uint64_t t0 = test_mono_ms();
    CHECK(pull_one(f.c, "g", 3000, tok, NULL) == 2);
    uint64_t took = test_mono_ms() - t0;
    CHECK(took >= 250 && took < 2500);
    /* extend keeps the lease; term sends it to the DLQ with the reason */
    CHECK(tc_settle1(f.c, SL_SETTLE_EXTEND, "g", sl_slice_of(tok), 60000, NULL) == SL_TOKEN_OK);
    CHECK(tc_settle1(f.c, SL_SETTLE_TERM, "g", sl_slice_of(tok), 0, "poison") == SL_TOKEN_OK);
    REQUIRE(sl_client_dlq_list(f.c, "g", 0, 10, &res) == SL_CLIENT_OK);
    REQUIRE(res.dlq_list.n == 1);
    CHECK(sl_slice_eq_cstr(res.dlq_list.dead_letters[0].reason, "poison"));
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

TEST(dead_letter_after_max_deliveries_then_replay)
{
    fixture f;
    const char *extra[] = {"--maintenance-interval", "100ms", NULL};
    REQUIRE(fixture_up(&f, extra) == 0);
    REQUIRE(tc_group(f.c, "fragile", NULL, 150, 2) == 0);
    uint64_t seq = tc_publish(f.c, "order.created", "boom", NULL);
    REQUIRE(seq);
    CHECK(pull_one(f.c, "fragile", 0, NULL, NULL) == 1);
    CHECK(pull_one(f.c, "fragile", 2000, NULL, NULL) == 2);
    /* the second lease ends: the event is dead-lettered, not delivered */
    CHECK(pull_one(f.c, "fragile", 600, NULL, NULL) == 0);
    sl_client_result res = {0};
    REQUIRE(sl_client_dlq_list(f.c, "fragile", 0, 10, &res) == SL_CLIENT_OK);
    REQUIRE(res.dlq_list.n == 1);
    const sl_client_dead_letter *dl = &res.dlq_list.dead_letters[0];
    CHECK(dl->seq == seq);
    CHECK(dl->attempts == 2);
    CHECK(dl->has_event && sl_slice_eq_cstr(dl->event.payload, "boom"));
    sl_client_result_free(&res);
    REQUIRE(sl_client_dlq_get(f.c, "fragile", seq, &res) == SL_CLIENT_OK);
    CHECK(res.dead_letter.seq == seq);
    sl_client_result_free(&res);
    REQUIRE(sl_client_dlq_replay(f.c, "fragile", NULL, 0, true, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.dlq_change.count, 1);
    sl_client_result_free(&res);
    char tok[SL_TOKEN_LEN + 1];
    CHECK(pull_one(f.c, "fragile", 1000, tok, NULL) == 1); /* attempts reset */
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "fragile", sl_slice_of(tok), 0, NULL) == SL_TOKEN_OK);
    REQUIRE(sl_client_group_get(f.c, "fragile", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.dlq_size, 0);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

TEST(idempotent_publish_returns_original)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    uint64_t a = tc_publish(f.c, "order.created", "x", "order-1001");
    uint64_t b = tc_publish(f.c, "order.created", "x", "order-1001");
    CHECK(a != 0 && a == b);
    uint64_t c = tc_publish(f.c, "order.created", "x", "order-1002");
    CHECK(c == a + 1);
    sl_client_result res = {0};
    REQUIRE(sl_client_topics(f.c, &res) == SL_CLIENT_OK);
    REQUIRE(res.topics.n == 1);
    CHECK_EQ_U64(res.topics.topics[0].events, 2);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

TEST(wildcard_filters)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    const char *filters[] = {"order.*", "inventory.>", NULL};
    REQUIRE(tc_group(f.c, "w", filters, 0, 0) == 0);
    const char *topics[] = {"order.created", "order.line.added", "order", "inventory.updated",
                            "inventory.a.b", "inventory", "shipping.sent"};
    const int match[] = {1, 0, 0, 1, 1, 0, 0};
    for (size_t i = 0; i < 7; i++)
        REQUIRE(tc_publish(f.c, topics[i], "x", NULL));
    sl_client_result res = {0};
    REQUIRE(sl_client_pull(f.c, "w", 100, 0, &res) == SL_CLIENT_OK);
    int got[7] = {0};
    for (size_t i = 0; i < res.pull.n; i++)
        for (size_t t = 0; t < 7; t++)
            if (sl_slice_eq_cstr(res.pull.deliveries[i].event.topic, topics[t]))
                got[t]++;
    for (size_t t = 0; t < 7; t++)
        CHECK(got[t] == match[t]);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

typedef struct poll_arg {
    const char *url;
    int attempt;
    uint64_t took_ms;
} poll_arg;

static void *long_poll(void *p)
{
    poll_arg *a = p;
    sl_client *c = tc_open(a->url);
    if (!c)
        return NULL;
    uint64_t t0 = test_mono_ms();
    a->attempt = pull_one(c, "lp", 10000, NULL, NULL);
    a->took_ms = test_mono_ms() - t0;
    sl_client_close(c);
    return NULL;
}

TEST(long_poll_wakes_on_publish_and_times_out_empty)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "lp", NULL, 0, 0) == 0);
    uint64_t t0 = test_mono_ms();
    CHECK(pull_one(f.c, "lp", 300, NULL, NULL) == 0);
    uint64_t took = test_mono_ms() - t0;
    CHECK(took >= 280 && took < 3000);

    poll_arg a = {f.d.url, -1, 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, long_poll, &a) == 0);
    test_sleep_ms(300);
    REQUIRE(tc_publish(f.c, "wake.up", "x", NULL));
    pthread_join(th, NULL);
    CHECK(a.attempt == 1);
    CHECK(a.took_ms < 5000);
    CHECK(fixture_down(&f) == 0);
}

static const char *call_raw_code(sl_client *c, const void *buf, size_t len, char *code, size_t cap)
{
    sl_client_result res = {0};
    code[0] = 0;
    if (sl_client_call_raw(c, buf, len, 5000, &res) == SL_CLIENT_OK) {
        /* decode it as a ping reply: an error reply comes back as SERVER */
        sl_client_result dec = {0};
        if (sl_client_decode_reply(SL_CLIENT_OP_PING, res.raw.data, res.raw.len, &dec) ==
            SL_CLIENT_ERR_SERVER)
            snprintf(code, cap, "%s", dec.error.code);
        sl_client_result_free(&dec);
    }
    sl_client_result_free(&res);
    return code;
}

TEST(bad_input_gets_error_replies_and_daemon_stays_up)
{
    fixture f;
    const char *extra[] = {"--max-request-bytes", "64KiB", NULL};
    REQUIRE(fixture_up(&f, extra) == 0);
    char code[64];
    static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    CHECK(strcmp(call_raw_code(f.c, huge_array, sizeof huge_array, code, sizeof code),
                 "bad_request") == 0);
    CHECK(strcmp(call_raw_code(f.c, "", 0, code, sizeof code), "bad_request") == 0);
    CHECK(strcmp(call_raw_code(f.c, "\xc1", 1, code, sizeof code), "bad_request") == 0);
    /* {"v": 2, "op": "ping"} */
    static const unsigned char v2[] = {0x82, 0xa1, 'v', 0x02, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'};
    CHECK(strcmp(call_raw_code(f.c, v2, sizeof v2, code, sizeof code), "bad_version") == 0);
    static const unsigned char nop[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa3, 'n', 'o', 'p'};
    CHECK(strcmp(call_raw_code(f.c, nop, sizeof nop, code, sizeof code), "unknown_op") == 0);
    /* ping with trailing bytes */
    static const unsigned char trailing[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p',
                                             0xa4, 'p',  'i', 'n',  'g',  0x00};
    CHECK(strcmp(call_raw_code(f.c, trailing, sizeof trailing, code, sizeof code),
                 "bad_request") == 0);

    /* pull's "ack" must be an array of 1..1000 strings */
    static const unsigned char ack_int[] = {0x84, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'p', 'u',
                                            'l', 'l', 0xa5, 'g', 'r', 'o', 'u', 'p', 0xa1, 'g',
                                            0xa3, 'a', 'c', 'k', 0x05};
    CHECK(strcmp(call_raw_code(f.c, ack_int, sizeof ack_int, code, sizeof code), "wrong_type") == 0);
    static const unsigned char ack_empty[] = {0x84, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'p',
                                              'u', 'l', 'l', 0xa5, 'g', 'r', 'o', 'u', 'p', 0xa1,
                                              'g', 0xa3, 'a', 'c', 'k', 0x90};
    CHECK(strcmp(call_raw_code(f.c, ack_empty, sizeof ack_empty, code, sizeof code),
                 "invalid_argument") == 0);

    /* every truncation of a real publish request */
    sl_client_buf buf = {0};
    sl_event_in ev = {0};
    ev.topic = sl_slice_of("order.created");
    ev.payload = sl_slice_of("{\"id\": 1}");
    ev.idem_key = sl_slice_of("k1");
    REQUIRE(sl_client_encode_publish(&buf, &ev, 1) == SL_CLIENT_OK);
    for (size_t len = 1; len < buf.len; len++)
        CHECK(call_raw_code(f.c, buf.data, len, code, sizeof code)[0] != 0);
    sl_client_buf_free(&buf);

    /* random garbage */
    unsigned seed = 12345;
    unsigned char junk[256];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof junk) + 1;
        for (size_t i = 0; i < len; i++)
            junk[i] = (unsigned char)rand_r(&seed);
        CHECK(call_raw_code(f.c, junk, len, code, sizeof code)[0] != 0);
    }

    /* oversize: over the 64 KiB request limit, under nng's hard limit */
    size_t big = 100 * 1024;
    char *payload = malloc(big);
    REQUIRE(payload);
    memset(payload, 'x', big);
    ev.payload = (sl_slice){payload, big};
    ev.idem_key = (sl_slice){0};
    sl_client_result res = {0};
    CHECK(sl_client_publish(f.c, &ev, 1, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "too_large") == 0);
    sl_client_result_free(&res);
    free(payload);

    /* invalid topic and unknown group: clear errors naming the field */
    ev.payload = sl_slice_of("x");
    ev.topic = sl_slice_of("bad..topic");
    CHECK(sl_client_publish(f.c, &ev, 1, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    CHECK(res.error.has_index && res.error.index == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_pull(f.c, "nobody", 1, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);
    REQUIRE(tc_group(f.c, "dup", NULL, 0, 0) == 0);
    CHECK(tc_group(f.c, "dup", NULL, 0, 0) != 0);

    CHECK(test_daemon_alive(&f.d));
    CHECK(sl_client_ping(f.c, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

TEST(clean_shutdown_and_restart_keep_everything)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "keep", NULL, 60000, 0) == 0);
    for (int i = 0; i < 10; i++)
        REQUIRE(tc_publish(f.c, "persist.me", "x", NULL));
    char tok[SL_TOKEN_LEN + 1];
    REQUIRE(pull_one(f.c, "keep", 0, tok, NULL) == 1);
    sl_client_close(f.c);
    CHECK(test_daemon_stop(&f.d) == 0);
    REQUIRE(test_daemon_restart(&f.d, NULL) == 0);
    f.c = tc_open(f.d.url);
    REQUIRE(f.c);
    sl_client_result res = {0};
    REQUIRE(sl_client_stats_get(f.c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, 10);
    sl_client_result_free(&res);
    /* the lease survived the restart: the token still acks */
    CHECK(tc_settle1(f.c, SL_SETTLE_ACK, "keep", sl_slice_of(tok), 0, NULL) == SL_TOKEN_OK);
    REQUIRE(sl_client_group_get(f.c, "keep", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.lag, 9);
    sl_client_result_free(&res);
    uint64_t next = tc_publish(f.c, "persist.me", "x", NULL);
    CHECK(next == 11); /* sequences continue, never reused */
    CHECK(fixture_down(&f) == 0);
}

/* ---- raw SP peers: nng REQ/REP framing by hand on an nng stream (tcp) ---- */

/* A stream to url, or NULL. */
static nng_stream *raw_dial(const char *url)
{
    nng_stream_dialer *d = NULL;
    nng_aio *aio = NULL;
    nng_stream *s = NULL;
    if (nng_stream_dialer_alloc(&d, url) == 0 && nng_aio_alloc(&aio, NULL, NULL) == 0) {
        nng_aio_set_timeout(aio, 2000);
        nng_stream_dialer_dial(d, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) == 0)
            s = nng_aio_get_output(aio, 0);
    }
    nng_aio_free(aio);
    nng_stream_dialer_free(d);
    return s;
}

static void raw_free(nng_stream *s)
{
    nng_stream_close(s);
    nng_stream_free(s);
}

/* Send or receive exactly len bytes within timeout_ms: 0, or -1 (the
 * connection closed, failed or stalled). */
static int raw_move(nng_stream *s, bool send, void *buf, size_t len, unsigned timeout_ms)
{
    nng_aio *aio;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0)
        return -1;
    uint64_t deadline = test_mono_ms() + timeout_ms;
    int rc = 0;
    while (len > 0 && rc == 0) {
        uint64_t now = test_mono_ms();
        nng_iov iov = {.iov_buf = buf, .iov_len = len};
        nng_aio_set_iov(aio, 1, &iov);
        nng_aio_set_timeout(aio, now < deadline ? (nng_duration)(deadline - now) : 1);
        if (send)
            nng_stream_send(s, aio);
        else
            nng_stream_recv(s, aio);
        nng_aio_wait(aio);
        size_t moved = nng_aio_count(aio);
        rc = nng_aio_result(aio) == 0 && moved > 0 ? 0 : -1;
        buf = (uint8_t *)buf + moved;
        len -= moved;
    }
    nng_aio_free(aio);
    return rc;
}

static const uint8_t REQ_HANDSHAKE[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};

/* A stream that has sent a REQ peer's handshake and read the daemon's. */
static nng_stream *raw_req_peer(const char *url)
{
    nng_stream *s = raw_dial(url);
    uint8_t theirs[8];
    if (s && (raw_move(s, true, (void *)REQ_HANDSHAKE, 8, 2000) != 0 ||
              raw_move(s, false, theirs, 8, 2000) != 0 || theirs[5] != 0x31)) {
        raw_free(s);
        s = NULL;
    }
    return s;
}

/* Frame body (len bytes) behind an 8-byte length into out; its length. */
static size_t raw_frame(uint8_t *out, const void *body, size_t len)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    memcpy(out + 8, body, len);
    return 8 + len;
}

/* Does the daemon close s within timeout_ms (reading drains what it sent)? */
static bool raw_closed_by_peer(nng_stream *s, unsigned timeout_ms)
{
    uint8_t sink[256];
    uint64_t deadline = test_mono_ms() + timeout_ms;
    while (test_mono_ms() < deadline) {
        nng_aio *aio;
        if (nng_aio_alloc(&aio, NULL, NULL) != 0)
            return false;
        nng_iov iov = {.iov_buf = sink, .iov_len = sizeof sink};
        nng_aio_set_iov(aio, 1, &iov);
        nng_aio_set_timeout(aio, 200);
        nng_stream_recv(s, aio);
        nng_aio_wait(aio);
        int rv = nng_aio_result(aio);
        size_t moved = nng_aio_count(aio);
        nng_aio_free(aio);
        if (rv != 0 && rv != NNG_ETIMEDOUT)
            return true;
        if (rv == 0 && moved == 0)
            return true;
    }
    return false;
}

/* A client that writes requests and never reads the replies: requests of 16
 * zero bytes (each answered with an error). Sends until the daemon stops
 * reading or `count` went out, then leaves. Returns how many went out. */
static int rude_client(const char *url, int count)
{
    nng_stream *s = raw_dial(url);
    int sent = 0;
    if (!s || raw_move(s, true, (void *)REQ_HANDSHAKE, 8, 200) != 0)
        count = 0;
    for (int i = 0; i < count; i++) {
        uint8_t body[4 + 16] = {0x80, 0, 0, (uint8_t)i}; /* request id, top bit set */
        uint8_t frame[8 + sizeof body];
        if (raw_move(s, true, frame, raw_frame(frame, body, sizeof body), 200) != 0)
            break; /* the daemon stopped reading: its replies are backed up */
        sent++;
    }
    if (s)
        raw_free(s);
    return sent;
}

/* What a ping request is on the wire: {"v": 1, "op": "ping"}. */
static const uint8_t PING[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'};

/* Requests pipelined on one connection, one with a two-word backtrace (as
 * through an nng device): each reply echoes its request's words. Then
 * peers that break the wire format lose their connection, and only that. */
TEST(raw_sp_peers_pipelined_and_malformed)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", test_free_port());
    test_daemon d;
    REQUIRE(test_daemon_start(&d, url, NULL) == 0);

    nng_stream *s = raw_req_peer(url);
    REQUIRE(s);
    uint8_t out[3 * (8 + 8 + sizeof PING)];
    size_t n = 0;
    for (uint8_t i = 0; i < 3; i++) {
        uint8_t body[8 + sizeof PING];
        size_t words = i == 2 ? 8 : 4; /* the last: a hop's word, then the id */
        memset(body, 0, 8);
        body[words - 4] = 0x80;
        body[words - 1] = i;
        if (words == 8)
            body[3] = 7; /* the hop's word: top bit clear */
        memcpy(body + words, PING, sizeof PING);
        n += raw_frame(out + n, body, words + sizeof PING);
    }
    REQUIRE(raw_move(s, true, out, n, 2000) == 0);
    bool seen[3] = {false, false, false};
    for (int r = 0; r < 3; r++) {
        uint8_t head[8], reply[512];
        REQUIRE(raw_move(s, false, head, 8, 5000) == 0);
        uint64_t len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | head[i];
        REQUIRE(len >= 4 && len <= sizeof reply);
        REQUIRE(raw_move(s, false, reply, (size_t)len, 5000) == 0);
        bool hop = reply[0] == 0 && reply[3] == 7;
        const uint8_t *id = hop ? reply + 4 : reply;
        CHECK(id[0] == 0x80 && id[3] < 3 && (id[3] == 2) == hop);
        if (id[3] < 3)
            seen[id[3]] = true;
    }
    CHECK(seen[0] && seen[1] && seen[2]);
    /* a request that arrives a byte at a time */
    uint8_t one[4 + sizeof PING] = {0x80, 0, 0, 9};
    memcpy(one + 4, PING, sizeof PING);
    n = raw_frame(out, one, sizeof one);
    for (size_t i = 0; i < n; i++) {
        CHECK(raw_move(s, true, out + i, 1, 2000) == 0);
        test_sleep_ms(2);
    }
    uint8_t head[8 + 4];
    CHECK(raw_move(s, false, head, sizeof head, 5000) == 0);
    CHECK(head[8] == 0x80 && head[11] == 9);
    raw_free(s);

    /* not an SP peer: an HTTP request */
    s = raw_dial(url);
    REQUIRE(s);
    char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(raw_move(s, true, http, strlen(http), 2000) == 0);
    CHECK(raw_closed_by_peer(s, 3000));
    raw_free(s);
    /* a frame of 2^40 bytes */
    s = raw_req_peer(url);
    REQUIRE(s);
    uint8_t huge[8] = {0, 0, 1, 0, 0, 0, 0, 0};
    CHECK(raw_move(s, true, huge, 8, 2000) == 0);
    CHECK(raw_closed_by_peer(s, 3000));
    raw_free(s);
    /* a request without a request id: no word with its top bit set within
       the 8 a backtrace may have */
    s = raw_req_peer(url);
    REQUIRE(s);
    uint8_t body[40] = {0};
    n = raw_frame(out, body, sizeof body);
    CHECK(raw_move(s, true, out, n, 2000) == 0);
    CHECK(raw_closed_by_peer(s, 3000));
    raw_free(s);

    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    CHECK(tc_publish(c, "still.served", "x", NULL) == 1);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* More connections than --max-pending, all idle, take no request slots:
 * a client still gets through. And more requests pipelined on one
 * connection than there are slots all get their replies, in turn. */
TEST(idle_connections_hold_no_request_slots)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", test_free_port());
    const char *extra[] = {"--max-pending", "4", NULL};
    test_daemon d;
    REQUIRE(test_daemon_start(&d, url, extra) == 0);
    nng_stream *idle[12];
    for (int i = 0; i < 12; i++)
        REQUIRE((idle[i] = raw_req_peer(url)) != NULL);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    CHECK(tc_publish(c, "gets.through", "x", NULL) == 1);
    sl_client_close(c);

    enum { PIPELINED = 10 };
    uint8_t out[PIPELINED * (8 + 4 + sizeof PING)];
    size_t n = 0;
    for (uint8_t i = 0; i < PIPELINED; i++) {
        uint8_t body[4 + sizeof PING] = {0x80, 0, 0, i};
        memcpy(body + 4, PING, sizeof PING);
        n += raw_frame(out + n, body, sizeof body);
    }
    REQUIRE(raw_move(idle[0], true, out, n, 2000) == 0);
    int replies = 0;
    for (int r = 0; r < PIPELINED; r++) {
        uint8_t head[8 + 4], reply[512];
        if (raw_move(idle[0], false, head, sizeof head, 5000) != 0)
            break;
        uint64_t len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | head[i];
        if (len < 4 || len - 4 > sizeof reply || raw_move(idle[0], false, reply, len - 4, 5000) != 0)
            break;
        replies += head[8] == 0x80 && head[11] < PIPELINED;
    }
    CHECK(replies == PIPELINED);
    for (int i = 0; i < 12; i++)
        raw_free(idle[i]);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* Open file descriptors of process pid (its /proc/<pid>/fd entries). */
static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* Wait up to timeout_ms for pid to have at most want open fds; the last count. */
static int wait_fds_at_most(pid_t pid, int want, unsigned timeout_ms)
{
    uint64_t deadline = test_mono_ms() + timeout_ms;
    int n = open_fds(pid);
    while (n > want && test_mono_ms() < deadline) {
        test_sleep_ms(50);
        n = open_fds(pid);
    }
    return n;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Clients that write requests without reading the replies, then reset: the
 * daemon keeps serving, closes their connections (nng 1.5.2's REP socket
 * kept them and their fds for good, and then hung in its close), and stops
 * promptly with nothing lost. */
TEST(stops_after_clients_that_never_read_their_replies)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", test_free_port());
    test_daemon d;
    REQUIRE(test_daemon_start(&d, url, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    for (int i = 0; i < 10; i++)
        REQUIRE(tc_publish(c, "kept.across", "x", NULL));
    sl_client_close(c);
    int fds_before = wait_fds_at_most(d.pid, 0, 200); /* client connections gone */
    int sent = 0;
    for (int i = 0; i < 8; i++)
        sent += rude_client(url, 20000);
    CHECK(sent > 0);
    /* it let go of every rude connection */
    int fds_after = wait_fds_at_most(d.pid, fds_before, 5000);
    if (fds_after > fds_before)
        fprintf(stderr, "  open fds: %d before the rude clients, %d after\n", fds_before,
                fds_after);
    CHECK(fds_after <= fds_before);
    /* the daemon still serves */
    c = tc_open(d.url);
    REQUIRE(c);
    CHECK(tc_publish(c, "kept.across", "x", NULL) == 11);
    sl_client_close(c);
    /* and stops on SIGTERM, promptly (the stop guard never has to step in) */
    uint64_t t0 = test_mono_ms();
    CHECK(test_daemon_stop(&d) == 0);
    CHECK(test_mono_ms() - t0 < 3000);
    CHECK(!file_contains(d.log_path, "shutdown:"));
    /* nothing acknowledged was lost */
    REQUIRE(test_daemon_restart(&d, NULL) == 0);
    c = tc_open(d.url);
    REQUIRE(c);
    sl_client_result res = {0};
    REQUIRE(sl_client_stats_get(c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, 11);
    sl_client_result_free(&res);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

TEST(retention_trims_but_keeps_what_groups_need)
{
    fixture f;
    const char *extra[] = {"--retention-max-events", "5", "--maintenance-interval", "50ms", NULL};
    REQUIRE(fixture_up(&f, extra) == 0);
    REQUIRE(tc_group(f.c, "reader", NULL, 0, 0) == 0);
    for (int i = 0; i < 20; i++)
        REQUIRE(tc_publish(f.c, "keep.me", "x", NULL));
    test_sleep_ms(300);
    sl_client_result res = {0};
    REQUIRE(sl_client_stats_get(f.c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, 20); /* the group has read none: nothing trimmed */
    sl_client_result_free(&res);
    REQUIRE(sl_client_pull(f.c, "reader", 20, 0, &res) == SL_CLIENT_OK);
    REQUIRE(res.pull.n == 20);
    sl_slice tokens[20];
    for (size_t i = 0; i < 20; i++)
        tokens[i] = res.pull.deliveries[i].token;
    sl_client_result ack = {0};
    REQUIRE(sl_client_ack(f.c, "reader", tokens, 20, &ack) == SL_CLIENT_OK);
    sl_client_result_free(&ack);
    sl_client_result_free(&res);
    uint64_t events = 20;
    for (int i = 0; i < 40 && events > 5; i++) {
        test_sleep_ms(50);
        REQUIRE(sl_client_stats_get(f.c, &res) == SL_CLIENT_OK);
        events = res.stats.events;
        sl_client_result_free(&res);
    }
    CHECK_EQ_U64(events, 5); /* acked by every group: trimmed to the limit */
    REQUIRE(sl_client_stats_get(f.c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.first_seq, 16);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

/* The first line of the file at path into line ("" when there is none). */
static void first_line(const char *path, char *line, size_t cap)
{
    FILE *f = fopen(path, "r");
    line[0] = 0;
    if (f) {
        if (!fgets(line, (int)cap, f))
            line[0] = 0;
        fclose(f);
    }
}

TEST(config_file_settings_apply)
{
    char *dir = test_tmpdir("conf");
    REQUIRE(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/sluiced.conf", dir);
    FILE *cf = fopen(path, "w");
    REQUIRE(cf);
    fputs("# test config\nmax-payload = 100B   # tiny\ndedupe-window = 1s\nlog-level = debug\n", cf);
    fclose(cf);
    fixture f;
    const char *extra[] = {"--config", path, NULL};
    REQUIRE(fixture_up(&f, extra) == 0);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sl_event_in ev = {0};
    ev.topic = sl_slice_of("conf.test");
    ev.payload = sl_slice_of(big);
    sl_client_result res = {0};
    CHECK(sl_client_publish(f.c, &ev, 1, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "too_large") == 0);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
    /* a bad setting: the daemon refuses to start and says why */
    cf = fopen(path, "w");
    REQUIRE(cf);
    fputs("max-payload = lots\n", cf);
    fclose(cf);
    test_daemon bad;
    CHECK(test_daemon_start(&bad, NULL, extra) != 0);
    char line[512];
    first_line(bad.log_path, line, sizeof line);
    CHECK(strstr(line, "max-payload") != NULL);
    CHECK(test_daemon_cleanup(&bad) == 0);
    /* a journal size out of range: refused with the range */
    const char *small_journal[] = {"--journal-size", "1MiB", NULL};
    CHECK(test_daemon_start(&bad, NULL, small_journal) != 0);
    first_line(bad.log_path, line, sizeof line);
    CHECK(strstr(line, "journal-size") != NULL && strstr(line, "out of range") != NULL);
    CHECK(test_daemon_cleanup(&bad) == 0);
    test_rmtree(dir);
    free(dir);
}

TEST(relaxed_sync_mode_serves_and_keeps_data_across_restart)
{
    fixture f;
    const char *extra[] = {"--relaxed-sync", "true", "--relaxed-sync-interval", "50ms", NULL};
    REQUIRE(fixture_up(&f, extra) == 0);
    REQUIRE(tc_group(f.c, "r", NULL, 0, 0) == 0);
    for (int i = 0; i < 50; i++)
        REQUIRE(tc_publish(f.c, "relaxed.mode", "x", NULL));
    test_sleep_ms(150); /* past one fsync period */
    sl_client_close(f.c);
    test_daemon_kill(&f.d);
    REQUIRE(test_daemon_restart(&f.d, extra) == 0);
    f.c = tc_open(f.d.url);
    REQUIRE(f.c);
    sl_client_result res = {0};
    REQUIRE(sl_client_pull(f.c, "r", 100, 0, &res) == SL_CLIENT_OK);
    CHECK(res.pull.n == 50);
    sl_client_result_free(&res);
    CHECK(fixture_down(&f) == 0);
}

typedef struct publish_later_arg {
    const char *url;
    unsigned delay_ms;
} publish_later_arg;

static void *publish_later(void *p)
{
    publish_later_arg *a = p;
    test_sleep_ms(a->delay_ms);
    sl_client *c = tc_open(a->url);
    if (c) {
        tc_publish(c, "ack.next", "two", NULL);
        sl_client_close(c);
    }
    return NULL;
}

TEST(pull_with_ack_settles_then_delivers_once)
{
    fixture f;
    REQUIRE(fixture_up(&f, NULL) == 0);
    REQUIRE(tc_group(f.c, "next", NULL, 60000, 0) == 0);
    REQUIRE(tc_publish(f.c, "ack.next", "one", NULL));
    char tok[SL_TOKEN_LEN + 1];
    REQUIRE(pull_one(f.c, "next", 0, tok, NULL) == 1);
    /* ack "one" and long-poll for the next: parks, then a publish wakes it */
    sl_slice acks[2] = {sl_slice_of(tok), sl_slice_of("nonsense")};
    sl_client *c2 = tc_open(f.d.url);
    REQUIRE(c2);
    sl_client_result res = {0};
    /* publish the second event from another connection while the first waits */
    uint64_t t0 = test_mono_ms();
    pthread_t th;
    publish_later_arg pl = {f.d.url, 300};
    REQUIRE(pthread_create(&th, NULL, publish_later, &pl) == 0);
    REQUIRE(sl_client_pull_ack(c2, "next", 5, 5000, acks, 2, &res) == SL_CLIENT_OK);
    pthread_join(th, NULL);
    CHECK(test_mono_ms() - t0 >= 250);
    REQUIRE(res.pull.nacked == 2);
    CHECK(res.pull.acked[0] == SL_TOKEN_OK);
    CHECK(res.pull.acked[1] == SL_TOKEN_INVALID);
    REQUIRE(res.pull.n == 1);
    CHECK(sl_slice_eq_cstr(res.pull.deliveries[0].event.payload, "two"));
    sl_client_result_free(&res);
    REQUIRE(sl_client_group_get(f.c, "next", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.acked, 1); /* acked once, although the pull ran twice */
    CHECK_EQ_U64(res.group.in_flight, 1);
    sl_client_result_free(&res);
    sl_client_close(c2);
    CHECK(fixture_down(&f) == 0);
}

/* With the journal, an acknowledged publish may not be in LMDB's committed
 * state yet: a read right after it must still see it (the read waits for the
 * checkpoint), every time. */
TEST(reads_see_what_was_just_acknowledged)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    for (uint64_t i = 1; i <= 50; i++) {
        uint64_t seq = tc_publish(c, "fresh.read", "x", NULL);
        REQUIRE(seq != 0);
        sl_client_result res = {0};
        REQUIRE(sl_client_log_read(c, SL_CLIENT_LOG_SEQ, seq, 10, &res) == SL_CLIENT_OK);
        CHECK(res.log.n == 1 && res.log.events[0].seq == seq);
        sl_client_result_free(&res);
        REQUIRE(sl_client_stats_get(c, &res) == SL_CLIENT_OK);
        CHECK_EQ_U64(res.stats.events, i);
        sl_client_result_free(&res);
    }
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* stats counts the flushes: one client publishing one event at a time gets
 * no company in a batch, so each publish needs a durable write of its own
 * (a journal write or a commit), and each is counted as a request answered
 * and as time spent.
 * (Many requests per write, under concurrency, is what `scons bench` shows.) */
TEST(stats_count_the_durable_writes_behind_the_replies)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    sl_client_result before = {0}, after = {0};
    REQUIRE(sl_client_stats_get(c, &before) == SL_CLIENT_OK);
    for (int i = 0; i < 20; i++)
        REQUIRE(tc_publish(c, "counted.flush", "x", NULL));
    REQUIRE(sl_client_stats_get(c, &after) == SL_CLIENT_OK);
    const sl_client_stats *a = &before.stats, *b = &after.stats;
    CHECK(b->commits + b->journal_writes - a->commits - a->journal_writes >= 20);
    CHECK(b->journal_writes > a->journal_writes); /* the journal is on by default */
    CHECK(b->commit_requests - a->commit_requests >= 20);
    CHECK(b->commit_requests <= b->requests);
    CHECK(b->journal_us > a->journal_us); /* 20 fdatasyncs take more than a microsecond */
    CHECK(b->checkpoint_us >= a->checkpoint_us);
    sl_client_result_free(&before);
    sl_client_result_free(&after);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("daemon", UNIT_CASE(publish_pull_ack_cycle),
          UNIT_CASE(competing_consumers_get_disjoint_events),
          UNIT_CASE(two_groups_each_get_every_event),
          UNIT_CASE(redelivery_after_lease_and_stale_ack_refused),
          UNIT_CASE(nack_with_delay_then_redelivered),
          UNIT_CASE(dead_letter_after_max_deliveries_then_replay),
          UNIT_CASE(idempotent_publish_returns_original), UNIT_CASE(wildcard_filters),
          UNIT_CASE(long_poll_wakes_on_publish_and_times_out_empty),
          UNIT_CASE(bad_input_gets_error_replies_and_daemon_stays_up),
          UNIT_CASE(clean_shutdown_and_restart_keep_everything),
          UNIT_CASE(stops_after_clients_that_never_read_their_replies),
          UNIT_CASE(raw_sp_peers_pipelined_and_malformed),
          UNIT_CASE(idle_connections_hold_no_request_slots),
          UNIT_CASE(retention_trims_but_keeps_what_groups_need),
          UNIT_CASE(config_file_settings_apply),
          UNIT_CASE(relaxed_sync_mode_serves_and_keeps_data_across_restart),
          UNIT_CASE(pull_with_ack_settles_then_delivers_once),
          UNIT_CASE(reads_see_what_was_just_acknowledged),
          UNIT_CASE(stats_count_the_durable_writes_behind_the_replies))
