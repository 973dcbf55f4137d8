/* test_daemon_longpoll.c: 1000 consumers long-polling at once must not block
 * publishers or each other; a publish wakes them. Uses raw nng contexts on
 * one REQ socket (1000 requests in flight) and the client's encoders. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>

#include "daemon_client.h"
#include "unit.h"

#define POLLERS 1000

typedef struct poller {
    nng_ctx ctx;
    nng_aio *aio;
    int state;             /* 0 sending, 1 receiving, 2 done, 3 failed */
    size_t deliveries;
    uint64_t seq;
} poller;

static nng_msg *pull_request(void)
{
    sl_client_buf b = {0};
    nng_msg *m = NULL;
    if (sl_client_encode_pull(&b, "crowd", 1, 20000) == SL_CLIENT_OK &&
        nng_msg_alloc(&m, 0) == 0 && nng_msg_append(m, b.data, b.len) != 0) {
        nng_msg_free(m);
        m = NULL;
    }
    sl_client_buf_free(&b);
    return m;
}

static void poller_cb(void *arg)
{
    poller *p = arg;
    int rv = nng_aio_result(p->aio);
    if (rv != 0) {
        if (p->state == 0)
            nng_msg_free(nng_aio_get_msg(p->aio));
        p->state = 3;
        return;
    }
    if (p->state == 0) {
        p->state = 1;
        nng_ctx_recv(p->ctx, p->aio);
        return;
    }
    nng_msg *m = nng_aio_get_msg(p->aio);
    sl_client_result res = {0};
    if (sl_client_decode_reply(SL_CLIENT_OP_PULL, nng_msg_body(m), nng_msg_len(m), &res) ==
        SL_CLIENT_OK) {
        p->deliveries = res.pull.n;
        if (res.pull.n)
            p->seq = res.pull.deliveries[0].event.seq;
        p->state = 2;
    } else {
        p->state = 3;
    }
    sl_client_result_free(&res);
    nng_msg_free(m);
}

static size_t count_state(poller *ps, int state)
{
    size_t n = 0;
    for (size_t i = 0; i < POLLERS; i++)
        n += ps[i].state == state;
    return n;
}

TEST(thousand_long_polls_do_not_block_publishers)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "crowd", NULL, 60000, 0) == 0);

    nng_socket s;
    REQUIRE(nng_req0_open(&s) == 0);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    REQUIRE(nng_dial(s, d.url, NULL, 0) == 0);
    poller *ps = calloc(POLLERS, sizeof *ps);
    REQUIRE(ps);
    for (size_t i = 0; i < POLLERS; i++) {
        REQUIRE(nng_ctx_open(&ps[i].ctx, s) == 0);
        REQUIRE(nng_aio_alloc(&ps[i].aio, poller_cb, &ps[i]) == 0);
        nng_aio_set_timeout(ps[i].aio, 30000);
        nng_msg *m = pull_request();
        REQUIRE(m);
        nng_aio_set_msg(ps[i].aio, m);
        nng_ctx_send(ps[i].ctx, ps[i].aio);
    }
    /* wait until the daemon holds them all parked */
    uint64_t deadline = test_mono_ms() + 15000;
    uint64_t parked = 0;
    while (test_mono_ms() < deadline && parked < POLLERS) {
        sl_client_result res = {0};
        if (sl_client_stats_get(c, &res) == SL_CLIENT_OK)
            parked = res.stats.parked_pulls;
        sl_client_result_free(&res);
        test_sleep_ms(50);
    }
    CHECK_EQ_U64(parked, POLLERS);
    CHECK(count_state(ps, 2) == 0); /* nobody answered early */

    /* publishers are served while 1000 long-polls wait */
    for (int i = 0; i < 20; i++) {
        uint64_t t0 = test_mono_ms();
        REQUIRE(tc_publish(c, "crowd.event", "x", NULL) != 0);
        CHECK(test_mono_ms() - t0 < 3000);
    }
    sl_event_in evs[SL_PUBLISH_BATCH_MAX];
    memset(evs, 0, sizeof evs);
    for (size_t i = 0; i < POLLERS - 20; i++) {
        evs[i].topic = sl_slice_of("crowd.event");
        evs[i].payload = sl_slice_of("y");
    }
    sl_client_result res = {0};
    REQUIRE(sl_client_publish(c, evs, POLLERS - 20, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);

    /* every poller wakes with exactly one distinct event */
    deadline = test_mono_ms() + 30000;
    while (test_mono_ms() < deadline && count_state(ps, 2) + count_state(ps, 3) < POLLERS)
        test_sleep_ms(20);
    CHECK(count_state(ps, 2) == POLLERS);
    char *seen = calloc(POLLERS + 1, 1);
    REQUIRE(seen);
    size_t delivered = 0;
    for (size_t i = 0; i < POLLERS; i++) {
        if (ps[i].state == 2 && ps[i].deliveries == 1 && ps[i].seq >= 1 && ps[i].seq <= POLLERS) {
            CHECK(!seen[ps[i].seq]);
            seen[ps[i].seq] = 1;
            delivered++;
        }
    }
    CHECK_EQ_U64(delivered, POLLERS);
    free(seen);
    for (size_t i = 0; i < POLLERS; i++) {
        nng_aio_stop(ps[i].aio);
        nng_aio_free(ps[i].aio);
        nng_ctx_close(ps[i].ctx);
    }
    free(ps);
    nng_close(s);
    CHECK(test_daemon_alive(&d));
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("longpoll", UNIT_CASE(thousand_long_polls_do_not_block_publishers))
