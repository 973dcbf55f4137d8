/* test_http.c: the HTTP/JSON API against the real daemon over real HTTP and
 * HTTPS (libcurl), on loopback: the consumer cycle, every route family,
 * paging, errors, a long-poll woken by an nng publish. Auth: test_http_auth.c. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "daemon_client.h"
#include "http_client.h"
#include "unit.h"

TEST(test_consumer_cycle_over_http)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"billing\", \"filters\": [\"order.*\"]}",
                    NULL, &r) == 201);
    CHECK(hr_str_eq(&r, "data.name", "billing"));
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/events",
                    "{\"events\": [{\"topic\": \"order.created\", \"data\": {\"id\": 1, \"total\": 2.5}},"
                    " {\"topic\": \"order.paid\", \"payload_base64\": \"AAH/\", "
                    "\"content_type\": \"application/x-raw\"},"
                    " {\"topic\": \"order.note\", \"payload\": \"plain text\"}]}",
                    NULL, &r) == 201);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 3);
    CHECK(hr_str_prefix(&r, "data[0].id", "evt_"));
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/groups/billing/pull", "{\"max\": 10}", NULL, &r) == 200);
    REQUIRE(hr_array_len(&r, "data") == 3);
    CHECK(hr_raw_eq(&r, "data[0].data", "{\"id\": 1, \"total\": 2.5}")); /* JSON travels as JSON */
    CHECK(hr_str_eq(&r, "data[1].payload_base64", "AAH/"));
    CHECK(hr_str_eq(&r, "data[1].content_type", "application/x-raw"));
    CHECK(hr_str_eq(&r, "data[2].payload_base64", "cGxhaW4gdGV4dA=="));
    CHECK_EQ_U64(hr_uint(&r, "data[0].attempt"), 1);
    char body[512];
    char t0[64], t1[64], t2[64];
    REQUIRE(hr_str(&r, "data[0].token", t0, sizeof t0) && hr_str(&r, "data[1].token", t1, sizeof t1) &&
            hr_str(&r, "data[2].token", t2, sizeof t2));
    hr_free(&r);
    snprintf(body, sizeof body, "{\"tokens\": [\"%s\", \"%s\"]}", t0, t1);
    REQUIRE(hf_call(&f, "POST", "/v1/groups/billing/ack", body, NULL, &r) == 200);
    CHECK(hr_str_eq(&r, "data[0]", "ok") && hr_str_eq(&r, "data[1]", "ok"));
    hr_free(&r);
    snprintf(body, sizeof body, "{\"tokens\": [\"%s\"], \"reason\": \"cannot parse\"}", t2);
    REQUIRE(hf_call(&f, "POST", "/v1/groups/billing/term", body, NULL, &r) == 200);
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/groups/billing/lag", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_uint(&r, "data.lag"), 0);
    CHECK_EQ_U64(hr_uint(&r, "data.dlq_size"), 1);
    CHECK(!hr_has(&r, "data.filters")); /* lag shows the counters only */
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/groups/billing/dead-letters", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 1);
    CHECK(hr_str_eq(&r, "data[0].reason", "cannot parse"));
    uint64_t seq = hr_uint(&r, "data[0].seq");
    hr_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/groups/billing/dead-letters/%llu", (unsigned long long)seq);
    REQUIRE(hf_call(&f, "GET", path, NULL, NULL, &r) == 200);
    CHECK(hr_str_eq(&r, "data.event.payload_base64", "cGxhaW4gdGV4dA=="));
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/groups/billing/dead-letters/replay", "{\"all\": true}", NULL,
                    &r) == 200);
    CHECK_EQ_U64(hr_uint(&r, "data.replayed"), 1);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_every_route_family_answers)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    struct {
        const char *method, *path, *body;
        long status;
    } calls[] = {
        {"GET", "/healthz", NULL, 200},
        {"GET", "/readyz", NULL, 200},
        {"POST", "/v1/groups", "{\"name\": \"g1\"}", 201},
        {"PATCH", "/v1/groups/g1", "{\"max_deliveries\": 3}", 200},
        {"GET", "/v1/groups/g1", NULL, 200},
        {"GET", "/v1/groups", NULL, 200},
        {"POST", "/v1/events", "{\"topic\": \"a.b\", \"data\": [1, 2]}", 201},
        {"GET", "/v1/events?max=5", NULL, 200},
        {"GET", "/v1/events?since=2020-01-01T00:00:00Z", NULL, 200},
        {"GET", "/v1/topics", NULL, 200},
        {"POST", "/v1/groups/g1/pull", NULL, 200},
        {"POST", "/v1/groups/g1/nack", "{\"tokens\": [\"x\"]}", 200},
        {"POST", "/v1/groups/g1/extend", "{\"tokens\": [\"x\"]}", 200},
        {"POST", "/v1/groups/g1/dead-letters/purge", "{\"all\": true}", 200},
        {"GET", "/v1/stats", NULL, 200},
        {"GET", "/v1/event-types", NULL, 200},
        {"GET", "/metrics", NULL, 200},
        {"DELETE", "/v1/groups/g1", NULL, 204},
        {"GET", "/v1/groups/g1", NULL, 404},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        long st = hf_call(&f, calls[i].method, calls[i].path, calls[i].body, NULL, &r);
        if (st != calls[i].status)
            fprintf(stderr, "  %s %s -> %ld (want %ld): %s\n", calls[i].method, calls[i].path, st,
                    calls[i].status, r.body ? r.body : "");
        CHECK(st == calls[i].status);
        hr_free(&r);
    }
    /* webhooks */
    REQUIRE(hf_call(&f, "POST", "/v1/webhooks",
                    "{\"name\": \"erp\", \"url\": \"https://example.com/hook\", "
                    "\"filters\": [\"order.>\"], \"headers\": {\"X-Tenant\": \"7\"}}",
                    NULL, &r) == 201);
    CHECK(hr_str_prefix(&r, "data.secret", "whsec_"));
    char id[64], path[160];
    REQUIRE(hr_str(&r, "data.id", id, sizeof id));
    hr_free(&r);
    const char *hook_calls[][3] = {
        {"GET", "", "200"},           {"PATCH", "", "200"},          {"POST", "/disable", "200"},
        {"POST", "/enable", "200"},   {"POST", "/reset", "200"},     {"POST", "/test", "200"},
        {"GET", "/stats", "200"},     {"GET", "/deliveries", "200"}, {"GET", "/dead-letters", "200"},
        {"POST", "/rotate-secret", "200"},
        {"POST", "/dead-letters/replay", "200"},
        {"POST", "/deliveries/evt_00000000000000000000000000000001/retry", "404"},
    };
    for (size_t i = 0; i < sizeof hook_calls / sizeof hook_calls[0]; i++) {
        snprintf(path, sizeof path, "/v1/webhooks/%s%s", id, hook_calls[i][1]);
        const char *body = strcmp(hook_calls[i][0], "PATCH") == 0 ? "{\"timeout_ms\": 5000}"
                           : strstr(path, "replay")                ? "{\"all\": true}"
                                                                   : NULL;
        long st = hf_call(&f, hook_calls[i][0], path, body, NULL, &r);
        if (st != atol(hook_calls[i][2]))
            fprintf(stderr, "  %s %s -> %ld: %s\n", hook_calls[i][0], path, st, r.body ? r.body : "");
        CHECK(st == atol(hook_calls[i][2]));
        hr_free(&r);
    }
    REQUIRE(hf_call(&f, "GET", "/v1/webhooks", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 1);
    CHECK(!hr_has(&r, "data[0].secret")); /* never listed */
    hr_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    CHECK(hf_call(&f, "DELETE", path, NULL, NULL, &r) == 204);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_lists_are_paged)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    for (int i = 0; i < 30; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\": \"g%02d\"}", i);
        REQUIRE(hf_call(&f, "POST", "/v1/groups", body, NULL, &r) == 201);
        hr_free(&r);
    }
    REQUIRE(hf_call(&f, "GET", "/v1/groups?per_page=10&page=2", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 10);
    CHECK(hr_str_eq(&r, "data[0].name", "g10"));
    CHECK_EQ_U64(hr_uint(&r, "meta.current_page"), 2);
    CHECK_EQ_U64(hr_uint(&r, "meta.total"), 30);
    CHECK_EQ_U64(hr_uint(&r, "meta.last_page"), 3);
    CHECK_EQ_U64(hr_uint(&r, "meta.from"), 11);
    CHECK(hr_str_eq(&r, "links.next", "/v1/groups?page=3&per_page=10"));
    CHECK(hr_str_eq(&r, "links.prev", "/v1/groups?page=1&per_page=10"));
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/groups?per_page=10&page=3", NULL, NULL, &r) == 200);
    CHECK(hr_is_null(&r, "links.next"));
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?per_page=101", NULL, NULL, &r) == 422);
    CHECK(hr_has(&r, "errors.per_page"));
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?page=0", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_bad_requests_get_clear_errors)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": ", NULL, &r) == 400);
    CHECK(hr_has(&r, "message"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "[1, 2]", NULL, &r) == 400);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": 7}", NULL, &r) == 422);
    CHECK(hr_has(&r, "errors.name"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"filters\": [\">\"]}", NULL, &r) == 422);
    CHECK(hr_has(&r, "errors.name"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"events\": [{\"topic\": \"bad topic\", \"data\": 1}]}",
                  NULL, &r) == 422);
    CHECK(hr_has(&r, "errors.events[0].topic"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"a\"}", NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"a\", \"payload_base64\": \"!!\"}", NULL,
                  &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"x\"}", "Content-Type: text/plain", &r) ==
          415);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/nothing", NULL, NULL, &r) == 404);
    hr_free(&r);
    CHECK(hf_call(&f, "PUT", "/v1/groups", NULL, NULL, &r) == 405);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups/nope", NULL, NULL, &r) == 404);
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"dup\"}", NULL, &r) == 201);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"dup\"}", NULL, &r) == 409);
    hr_free(&r);
    /* a body over the limit (the daemon runs with max-request-bytes 1 MiB) */
    size_t big = (1u << 20) + 100;
    char *huge = malloc(big + 1);
    REQUIRE(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    CHECK(hf_call(&f, "POST", "/v1/events", huge, NULL, &r) == 413);
    hr_free(&r);
    free(huge);
    /* deep nesting and garbage bytes */
    char deep[300];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    CHECK(hf_call(&f, "POST", "/v1/events", deep, NULL, &r) == 400);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"a\", \"data\": \"\xff\xfe\"}", NULL, &r) ==
          400);
    hr_free(&r);
    /* the daemon is still up */
    CHECK(hf_call(&f, "GET", "/healthz", NULL, NULL, &r) == 200);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_idempotency_key_header)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    const char *ev = "{\"topic\": \"order.created\", \"data\": {\"id\": 9}}";
    REQUIRE(hf_call(&f, "POST", "/v1/events", ev, "Idempotency-Key: order-9", &r) == 201);
    uint64_t seq = hr_uint(&r, "data[0].seq");
    CHECK(!hr_bool(&r, "data[0].duplicate"));
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/events", ev, "Idempotency-Key: order-9", &r) == 201);
    CHECK(hr_bool(&r, "data[0].duplicate"));
    CHECK_EQ_U64(hr_uint(&r, "data[0].seq"), seq);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

typedef struct poll_arg {
    http_fixture *f;
    long status;
    uint64_t took_ms;
    size_t n;
} poll_arg;

static void *long_poll(void *p)
{
    poll_arg *a = p;
    http_resp r;
    uint64_t t0 = test_mono_ms();
    a->status = hf_call(a->f, "POST", "/v1/groups/lp/pull", "{\"wait_ms\": 10000}", NULL, &r);
    a->took_ms = test_mono_ms() - t0;
    a->n = hr_array_len(&r, "data");
    hr_free(&r);
    return NULL;
}

TEST(test_long_poll_is_woken_by_an_nng_publish)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"lp\"}", NULL, &r) == 201);
    hr_free(&r);
    poll_arg a = {.f = &f};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, long_poll, &a) == 0);
    test_sleep_ms(300); /* the pull is parked */
    sl_client *c = tc_open(f.d.url);
    CHECK(c && tc_publish(c, "x.y", "{}", NULL) > 0);
    sl_client_close(c);
    pthread_join(t, NULL);
    CHECK(a.status == 200);
    CHECK_EQ_U64(a.n, 1);
    CHECK(a.took_ms < 5000);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_https_with_a_self_signed_certificate)
{
    http_fixture f;
    REQUIRE(hf_start(&f, true, NULL) == 0);
    http_resp r;
    CHECK(hf_call(&f, "GET", "/healthz", NULL, NULL, &r) == 200);
    hr_free(&r);
    REQUIRE(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"s.t\", \"data\": true}", NULL, &r) ==
            201);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

UNIT_MAIN("test_http", UNIT_CASE(test_consumer_cycle_over_http),
          UNIT_CASE(test_every_route_family_answers), UNIT_CASE(test_lists_are_paged),
          UNIT_CASE(test_bad_requests_get_clear_errors), UNIT_CASE(test_idempotency_key_header),
          UNIT_CASE(test_long_poll_is_woken_by_an_nng_publish),
          UNIT_CASE(test_https_with_a_self_signed_certificate))
