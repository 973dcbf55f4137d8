/* test_http.c: the HTTP/JSON API against the real daemon over real HTTP and
 * HTTPS (libcurl), on loopback: the consumer cycle, every route family,
 * paging, errors, a long-poll woken by an nng publish. Auth: test_http_auth.c. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* ---- hardening ---------------------------------------------------------------------- */

/* A request answered without its body being read must close the connection:
 * else the unread body is taken for the next request (here a whole GET). */
TEST(test_unread_body_closes_the_connection)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    const char *inner = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *cases[] = {"POST /v1/nothing", "POST /healthz", "PUT /v1/groups",
                           "POST /v1/groups"};
    const char *ctypes[] = {"application/json", "application/json", "application/json",
                            "text/plain"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[512], out[4096];
        snprintf(req, sizeof req,
                 "%s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                 cases[i], ctypes[i], strlen(inner), inner);
        bool closed = false;
        REQUIRE(hf_raw(&f, req, strlen(req), out, sizeof out, 3000, &closed) > 0);
        int st = hf_raw_status(out);
        if (hf_raw_count(out) != 1 || !closed)
            fprintf(stderr, "  %s: %s\n", cases[i], out);
        CHECK(st >= 400 && st < 500);
        CHECK(hf_raw_count(out) == 1); /* not the smuggled GET's 200 */
        CHECK(closed);
        CHECK(strcasestr(out, "Connection: close") != NULL);
    }
    CHECK(hf_stop(&f) == 0);
}

TEST(test_content_type_is_matched_exactly)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"a\"}",
                  "Content-Type: application/jsonx", &r) == 415);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"b\"}",
                  "Content-Type: application/json-patch+json", &r) == 415);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"c\"}",
                  "Content-Type: Application/JSON; charset=utf-8", &r) == 201);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"d\"}",
                  "Content-Type: application/json ;charset=utf-8", &r) == 201);
    hr_free(&r);
    /* header names in odd case, over a raw socket */
    const char *req = "POST /v1/groups HTTP/1.1\r\nhOsT: x\r\ncOnTeNt-TyPe: application/json\r\n"
                      "CONTENT-length: 12\r\nconnection: close\r\n\r\n{\"name\":\"e\"}";
    char out[4096];
    REQUIRE(hf_raw(&f, req, strlen(req), out, sizeof out, 3000, NULL) > 0);
    CHECK(hf_raw_status(out) == 201);
    CHECK(hf_stop(&f) == 0);
}

/* %00 in a path capture or a query value is refused: C strings further on
 * would cut it ("wh_...%00junk" must not name wh_...). */
TEST(test_nul_and_bad_escapes_in_paths_and_queries)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/webhooks",
                    "{\"name\": \"n\", \"url\": \"https://example.com/h\"}", NULL, &r) == 201);
    char id[64], path[256];
    REQUIRE(hr_str(&r, "data.id", id, sizeof id));
    hr_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s/dead-letters", id);
    CHECK(hf_call(&f, "GET", path, NULL, NULL, &r) == 200);
    hr_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s%%00junk/dead-letters", id);
    CHECK(hf_call(&f, "GET", path, NULL, NULL, &r) == 400);
    hr_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s%%00junk/dead-letters/replay", id);
    CHECK(hf_call(&f, "POST", path, "{\"all\": true}", NULL, &r) == 400);
    hr_free(&r);
    const char *bad[] = {"/v1/groups/a%00b", "/v1/groups/a%zzb", "/v1/groups/a%4",
                         "/v1/groups/a%", "/v1/keys?after=key_%00", "/v1/keys?after=%g1",
                         "/v1/webhooks/x/deliveries?event_id=e%00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long st = hf_call(&f, "GET", bad[i], NULL, NULL, &r);
        if (st != 400)
            fprintf(stderr, "  GET %s -> %ld %s\n", bad[i], st, r.body ? r.body : "");
        CHECK(st == 400);
        hr_free(&r);
    }
    /* long paths and queries: a 4xx, never a crash */
    size_t n = 7000;
    char *lp = malloc(n + 64);
    REQUIRE(lp);
    strcpy(lp, "/v1/groups/");
    memset(lp + strlen(lp), 'a', n);
    lp[11 + n] = '\0';
    long st = hf_call(&f, "GET", lp, NULL, NULL, &r);
    CHECK(st >= 400 && st < 500);
    hr_free(&r);
    strcpy(lp, "/v1/groups?x=");
    memset(lp + strlen(lp), '%', n);
    lp[13 + n] = '\0';
    st = hf_call(&f, "GET", lp, NULL, NULL, &r);
    CHECK(st == 200); /* an unknown parameter is ignored */
    hr_free(&r);
    free(lp);
    CHECK(hf_stop(&f) == 0);
}

/* A query parameter given twice is bad_request, like a key given twice in
 * a request (PROTOCOL.md). */
TEST(test_query_parameter_given_twice)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    const char *paths[] = {"/v1/groups?page=1&page=2", "/v1/groups?per_page=5&per_page=5",
                           "/v1/events?max=1&max=2", "/v1/keys?after=a&after=b"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        long st = hf_call(&f, "GET", paths[i], NULL, NULL, &r);
        if (st != 400)
            fprintf(stderr, "  GET %s -> %ld %s\n", paths[i], st, r.body ? r.body : "");
        CHECK(st == 400);
        CHECK(hr_str_eq(&r, "code", "bad_request"));
        hr_free(&r);
    }
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"g\"}", NULL, &r) == 201);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups/g/pull?max=1&max=2", NULL, NULL, &r) == 400);
    hr_free(&r);
    /* the same field in the query and in the body */
    CHECK(hf_call(&f, "POST", "/v1/groups/g/pull?max=1", "{\"max\": 2}", NULL, &r) == 400);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

/* Cursor-backed lists: following meta's cursor from a page continues right
 * after that page's last item (nothing skipped), and pages reach the whole
 * 1000 items the doc promises (page * per_page == 1000). */
TEST(test_cursor_lists_continue_where_the_page_ends)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    char ids[4][64];
    for (int i = 0; i < 4; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\": \"k%d\", \"scopes\": [\"events:read\"]}", i);
        REQUIRE(hf_call(&f, "POST", "/v1/keys", body, NULL, &r) == 201);
        hr_free(&r);
    }
    REQUIRE(hf_call(&f, "GET", "/v1/keys?per_page=100", NULL, NULL, &r) == 200);
    REQUIRE(hr_array_len(&r, "data") == 4);
    for (int i = 0; i < 4; i++) {
        char p[32];
        snprintf(p, sizeof p, "data[%d].id", i);
        REQUIRE(hr_str(&r, p, ids[i], sizeof ids[i]));
    }
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/keys?per_page=2", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 2);
    char cursor[64] = "";
    CHECK(hr_str(&r, "meta.next_after", cursor, sizeof cursor));
    CHECK(strcmp(cursor, ids[1]) == 0); /* after the page's last item */
    CHECK(!hr_is_null(&r, "links.next"));
    hr_free(&r);
    char path[160];
    snprintf(path, sizeof path, "/v1/keys?per_page=2&after=%s", cursor);
    REQUIRE(hf_call(&f, "GET", path, NULL, NULL, &r) == 200);
    CHECK(hr_str_eq(&r, "data[0].id", ids[2]));
    CHECK(hr_str_eq(&r, "data[1].id", ids[3]));
    CHECK(hr_str_eq(&r, "meta.next_after", "")); /* the last page */
    CHECK(hr_is_null(&r, "links.next"));
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/keys?per_page=2&page=2", NULL, NULL, &r) == 200);
    CHECK(hr_str_eq(&r, "data[0].id", ids[2]));
    CHECK(hr_is_null(&r, "links.next"));
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/keys?per_page=100&page=10", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 0);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/keys?per_page=100&page=11", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/keys?per_page=100&page=100000", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?per_page=100&page=100000", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 0);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?per_page=100&page=100001", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?page=99999999999999999999", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?page=-1", NULL, NULL, &r) == 422);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

/* Bodies that are valid JSON of the wrong shape, and numbers that do not
 * fit a uint: 4xx with a field, never a crash. */
TEST(test_wrong_shapes_and_numbers)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"g\"}", NULL, &r) == 201);
    hr_free(&r);
    struct {
        const char *method, *path, *body;
        long status;
    } calls[] = {
        {"POST", "/v1/groups/g/pull", "{\"max\": 1.5}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": -1}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": 1e999}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": -1e999}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": 18446744073709551616}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": 100000000000000000000000000000000000000000000000000"
                                      "000000000000000000000}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": \"5\"}", 422},
        {"POST", "/v1/groups/g/pull", "{\"max\": null}", 422},
        {"POST", "/v1/groups/g/pull", "{\"wait_ms\": 1e2}", 422},
        {"POST", "/v1/groups/g/pull", "{\"wait_ms\": 300001}", 422},
        {"POST", "/v1/groups/g/pull", "{\"ack\": \"x\"}", 422},
        {"POST", "/v1/groups/g/pull", "{\"ack\": [1, 2]}", 422},
        {"POST", "/v1/groups/g/pull?max=-1", NULL, 422},
        {"POST", "/v1/groups/g/pull?max=1e3", NULL, 422},
        {"POST", "/v1/groups/g/pull?max=1.0", NULL, 422},
        {"POST", "/v1/groups/g/pull?max=", NULL, 422},
        {"POST", "/v1/groups/g/pull?wait_ms=99999999999999999999", NULL, 422},
        {"POST", "/v1/groups/g/ack", "{\"tokens\": {}}", 422},
        {"POST", "/v1/groups/g/ack", "{\"tokens\": [[]]}", 422},
        {"POST", "/v1/groups/g/ack", "{\"tokens\": []}", 422},
        {"POST", "/v1/groups/g/ack", "\"tokens\"", 400},
        {"POST", "/v1/groups/g/ack", "null", 400},
        {"POST", "/v1/groups/g/ack", "[]", 400},
        {"POST", "/v1/groups/g/ack", "{}", 422},
        {"POST", "/v1/groups", "{\"name\": [\"g2\"]}", 422},
        {"POST", "/v1/groups", "{\"name\": \"g2\", \"filters\": \">\"}", 422},
        {"POST", "/v1/groups", "{\"name\": \"g2\", \"filters\": [{}]}", 422},
        {"POST", "/v1/groups", "{\"name\": \"g2\", \"ack_wait_ms\": -5}", 422},
        {"POST", "/v1/groups", "{\"name\": \"g2\", \"backoff_ms\": [1, -1]}", 422},
        {"POST", "/v1/groups", "{\"v\": 1, \"name\": \"g2\"}", 422},
        {"POST", "/v1/groups", "{\"op\": \"ping\", \"name\": \"g2\"}", 422},
        {"POST", "/v1/groups", "{\"key\": \"slk_x\", \"name\": \"g2\"}", 422},
        {"POST", "/v1/events", "{\"events\": {}}", 422},
        {"POST", "/v1/events", "{\"events\": [1]}", 422},
        {"POST", "/v1/events", "{\"events\": [[]]}", 422},
        {"POST", "/v1/events", "{\"events\": []}", 422},
        {"POST", "/v1/events", "{\"events\": [{\"topic\": 5, \"data\": 1}]}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"payload\": 5}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"payload_base64\": []}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"data\": 1, \"payload\": \"x\"}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"data\": 1, \"headers\": [1]}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"data\": 1, \"headers\": {\"h\": 1}}", 422},
        {"POST", "/v1/events", "{\"topic\": \"a\", \"data\": 1, \"key\": 5}", 422},
        {"POST", "/v1/events", "[{\"topic\": \"a\", \"data\": 1}]", 400},
        {"GET", "/v1/groups", "{\"x\": 1}", 400},
        {"GET", "/v1/events?from_seq=-1", NULL, 422},
        {"GET", "/v1/events?since=2026-13-01T00:00:00Z", NULL, 422},
        {"GET", "/v1/events?since=yesterday", NULL, 422},
        {"GET", "/v1/groups/g/dead-letters/-1", NULL, 422},
        {"GET", "/v1/groups/g/dead-letters/1e3", NULL, 422},
        {"GET", "/v1/groups/g/dead-letters/99999999999999999999", NULL, 422},
        {"POST", "/v1/keys", "{\"name\": \"k\", \"scopes\": [\"*\"], \"rate_per_minute\": -1}", 422},
        {"POST", "/v1/keys", "{\"name\": \"k\", \"scopes\": [\"*\"], \"rate_per_minute\": 0.5}", 422},
        {"POST", "/v1/keys", "{\"name\": \"k\", \"scopes\": \"*\"}", 422},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        long st = hf_call(&f, calls[i].method, calls[i].path, calls[i].body, NULL, &r);
        if (st != calls[i].status)
            fprintf(stderr, "  %s %s %s -> %ld (want %ld): %s\n", calls[i].method, calls[i].path,
                    calls[i].body ? calls[i].body : "", st, calls[i].status, r.body ? r.body : "");
        CHECK(st == calls[i].status);
        CHECK(hr_has(&r, "code") && hr_has(&r, "message"));
        hr_free(&r);
    }
    CHECK(hf_call(&f, "GET", "/healthz", NULL, NULL, &r) == 200);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

/* HEAD gets the headers of the answer but never a body (a body would be
 * read as the start of the next response). */
TEST(test_head_has_no_body)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    const char *req = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n";
    char out[4096];
    REQUIRE(hf_raw(&f, req, strlen(req), out, sizeof out, 3000, NULL) > 0);
    CHECK(hf_raw_count(out) == 2);
    char *second = strstr(out + 7, "HTTP/1.1 ");
    CHECK(second && strstr(out, "{\"status\"") == strstr(second, "{\"status\""));
    CHECK(hf_stop(&f) == 0);
}

/* A webhook name with a quote and a backslash is escaped in /metrics labels. */
TEST(test_metrics_labels_are_escaped)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/webhooks",
                    "{\"name\": \"a\\\"b\\\\c\", \"url\": \"https://example.com/h\"}", NULL,
                    &r) == 201);
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/metrics", NULL, NULL, &r) == 200);
    CHECK(r.body && strstr(r.body, "name=\"a\\\"b\\\\c\"") != NULL);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

typedef struct parked_arg {
    http_fixture *f;
    long status;
    size_t n;
    uint64_t took_ms;
    char body[256];      /* the start of the answer, to tell why when it is not 200 */
} parked_arg;

static void *parked_pull(void *p)
{
    parked_arg *a = p;
    http_resp r;
    uint64_t t0 = test_mono_ms();
    a->status = hf_call(a->f, "POST", "/v1/groups/lp/pull", "{\"wait_ms\": 60000}", NULL, &r);
    a->took_ms = test_mono_ms() - t0;
    a->n = hr_array_len(&r, "data");
    snprintf(a->body, sizeof a->body, "%s", r.body ? r.body : "");
    hr_free(&r);
    return NULL;
}

/* SIGTERM while HTTP long-polls are parked: each is answered (200, empty)
 * before the daemon closes its HTTP server, and it exits cleanly. */
TEST(test_sigterm_answers_parked_http_long_polls)
{
    for (int round = 0; round < 3; round++) {
        http_fixture f;
        REQUIRE(hf_start(&f, false, NULL) == 0);
        http_resp r;
        REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"lp\"}", NULL, &r) == 201);
        hr_free(&r);
        enum { N = 6 };
        parked_arg a[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            a[i] = (parked_arg){.f = &f};
            REQUIRE(pthread_create(&t[i], NULL, parked_pull, &a[i]) == 0);
        }
        /* wait until all are parked (stats: parked pulls), bounded */
        uint64_t deadline = test_mono_ms() + 5000;
        while (test_mono_ms() < deadline) {
            hf_call(&f, "GET", "/v1/stats", NULL, NULL, &r);
            uint64_t parked = hr_uint(&r, "data.parked_pulls");
            hr_free(&r);
            if (parked == N)
                break;
            test_sleep_ms(20);
        }
        CHECK(test_daemon_stop(&f.d) == 0);
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (a[i].status != 200)
                fprintf(stderr, "  round %d pull %d: status %ld after %llu ms: %s\n", round, i,
                        a[i].status, (unsigned long long)a[i].took_ms, a[i].body);
            CHECK(a[i].status == 200);
            CHECK_EQ_U64(a[i].n, 0);
            CHECK(a[i].took_ms < 15000);
        }
        CHECK(hf_stop(&f) == 0);
    }
}

/* ---- a few hundred malformed requests -------------------------------------------------- */

static uint64_t fuzz_state;

static uint32_t fuzz_next(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 7;
    fuzz_state ^= fuzz_state << 17;
    return (uint32_t)(fuzz_state >> 11);
}

static unsigned fuzz_below(unsigned n)
{
    return fuzz_next() % n;
}

/* Send req on a new connection, half-close, read (bounded). The status of
 * the one answer, 0 when the connection closed without one, -1 when it did
 * not even close. */
static int fuzz_exchange(const http_fixture *f, const char *req, size_t len, char *out,
                         size_t cap)
{
    int fd = hf_raw_connect(f);
    if (fd < 0)
        return -2;
    hf_raw_send(fd, req, len);
    shutdown(fd, SHUT_WR);
    bool closed = false;
    size_t n = hf_raw_read(fd, out, cap, 5000, &closed);
    close(fd);
    if (n == 0)
        return closed ? 0 : -1;
    return hf_raw_status(out);
}

/* What each kind of malformed request may be answered with. */
typedef enum { WANT_4XX, WANT_4XX_OR_CLOSE } fuzz_want;

static bool fuzz_ok(int status, fuzz_want want)
{
    if (status >= 400 && status < 500)
        return true;
    return want == WANT_4XX_OR_CLOSE && status == 0;
}

/* Random bytes in bodies, bad methods, bad paths and escapes (paths ending
 * in %XX crashed nng 1.5.2's own HTTP server), odd headers, raw garbage:
 * each gets a 4xx (raw garbage may, rarely, just be closed), and the
 * daemon stays up and stops cleanly. The seed is printed: a failure can be
 * replayed with SLUICE_FUZZ_SEED. */
TEST(test_malformed_requests_get_4xx_and_the_daemon_stays_up)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"g\"}", NULL, &r) == 201);
    hr_free(&r);
    const char *env_seed = getenv("SLUICE_FUZZ_SEED");
    fuzz_state = env_seed ? strtoull(env_seed, NULL, 10) : test_wall_ms();
    if (!fuzz_state)
        fuzz_state = 1;
    fprintf(stderr, "  seed %llu (SLUICE_FUZZ_SEED)\n", (unsigned long long)fuzz_state);
    static const char *const body_routes[] = {
        "POST /v1/events",         "POST /v1/groups",         "PATCH /v1/groups/g",
        "POST /v1/groups/g/pull",  "POST /v1/groups/g/ack",   "POST /v1/groups/g/nack",
        "POST /v1/keys",           "POST /v1/webhooks",       "POST /v1/groups/g/dead-letters/replay",
    };
    static const char *const valid[] = {
        "{\"events\": [{\"topic\": \"a.b\", \"data\": {\"x\": [1, 2.5, \"s\"]}}]}",
        "{\"name\": \"g2\", \"filters\": [\"a.*\"], \"ack_wait_ms\": 1000}",
        "{\"max\": 10, \"wait_ms\": 0, \"ack\": [\"t1\", \"t2\"]}",
        "{\"name\": \"k\", \"scopes\": [\"*\"], \"topics\": [\"a.>\"]}",
    };
    static const char *const methods[] = {"GETT", "get", "Post", "PUT", "TRACE", "CONNECT",
                                          "OPTIONS", "BREW", "DELETE", "PATCH", "M-SEARCH",
                                          "PROPFIND", "X"};
    static const char *const headers[] = {
        "Content-Length: -1\r\n",        "Content-Length: 1e3\r\n",
        "Content-Length: 12abc\r\n",     "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: 0x10\r\n",      "Transfer-Encoding: chunked\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 18446744073709551615\r\n",
        "Content-Length: 4\r\nContent-Type: text/json\r\n",
        "Content-Length: 4\r\n",        "Content-Length: 4\r\nContent-Type: application/xml\r\n",
    };
    char *req = malloc(16384), *out = malloc(16384);
    REQUIRE(req && out);
    int bad = 0, total = 0, closed_without_answer = 0;
    for (int round = 0; round < 450; round++) {
        size_t len = 0;
        fuzz_want want = WANT_4XX;
        int kind = round % 6;
        if (kind == 0) { /* random bytes as a JSON body */
            char body[1024];
            size_t n = 1 + fuzz_below(sizeof body);
            for (size_t i = 0; i < n; i++)
                body[i] = (char)fuzz_below(256);
            if (body[0] == '{' || body[0] == '[' || (body[0] >= '0' && body[0] <= '9'))
                body[0] = '!'; /* never valid JSON by chance */
            const char *route = body_routes[fuzz_below(sizeof body_routes / sizeof body_routes[0])];
            len = (size_t)snprintf(req, 16384,
                                   "%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                                   route, n);
            memcpy(req + len, body, n);
            len += n;
        } else if (kind == 1) { /* valid JSON cut short, or with one byte broken */
            const char *v = valid[fuzz_below(sizeof valid / sizeof valid[0])];
            char body[256];
            size_t n = strlen(v);
            memcpy(body, v, n);
            if (fuzz_below(2))
                n = 1 + fuzz_below((unsigned)n - 1); /* cut: never the whole */
            else
                body[fuzz_below((unsigned)n)] = "\x01\xff\"{}[],:"[fuzz_below(9)];
            const char *route = body_routes[fuzz_below(sizeof body_routes / sizeof body_routes[0])];
            len = (size_t)snprintf(req, 16384,
                                   "%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                                   route, n);
            memcpy(req + len, body, n);
            len += n;
            want = WANT_4XX; /* a broken byte may still parse: checked below */
        } else if (kind == 2) { /* methods that are not the route's */
            const char *m = methods[fuzz_below(sizeof methods / sizeof methods[0])];
            const char *paths[] = {"/v1/events/x", "/v1/groups/g/pull", "/healthz", "/v1/keys/k/x",
                                   "/v1/stats", "/v1/topics"};
            const char *p = paths[fuzz_below(sizeof paths / sizeof paths[0])];
            len = (size_t)snprintf(req, 16384, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   m, p);
        } else if (kind == 3) { /* paths of random printable bytes and escapes */
            char path[6000];
            size_t n = 0;
            const char *prefix[] = {"/v1/groups/", "/v1/", "/v1/webhooks/", "/v1/keys/",
                                    "/v1/groups/g/dead-letters/"};
            /* '~' is in no name, id or route: never an existing resource */
            n += (size_t)snprintf(path, sizeof path, "%s~",
                                  prefix[fuzz_below(sizeof prefix / sizeof prefix[0])]);
            size_t extra = 1 + (fuzz_below(8) == 0 ? fuzz_below(5000) : fuzz_below(40));
            for (size_t i = 0; i < extra && n + 4 < sizeof path; i++) {
                unsigned c = fuzz_below(10);
                if (c == 0)
                    n += (size_t)snprintf(path + n, sizeof path - n, "%%%02X", fuzz_below(256));
                else if (c == 1)
                    path[n++] = '%';
                else /* printable, no space; no '?' or '#' (they end the path) */
                    path[n++] = (char)(33 + fuzz_below(94));
                if (path[n - 1] == '?' || path[n - 1] == '#')
                    path[n - 1] = '~';
            }
            path[n] = '\0';
            const char *m = fuzz_below(2) ? "GET" : "POST";
            len = (size_t)snprintf(req, 16384, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   m, path);
        } else if (kind == 4) { /* odd headers */
            const char *h = headers[fuzz_below(sizeof headers / sizeof headers[0])];
            len = (size_t)snprintf(req, 16384,
                                   "POST /v1/groups HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n"
                                   "{\"a\"",
                                   h);
            if (strstr(h, "chunked"))
                len += (size_t)snprintf(req + len, 16384 - len, "\r\n0\r\n\r\n");
        } else { /* raw garbage, sometimes behind a plausible start */
            size_t n = 1 + fuzz_below(2048);
            size_t start = 0;
            if (fuzz_below(2))
                start = (size_t)snprintf(req, 16384, "%s /v1/groups HTTP/1.1\r\n",
                                         fuzz_below(2) ? "GET" : "POST");
            for (size_t i = 0; i < n; i++)
                req[start + i] = (char)fuzz_below(256);
            len = start + n;
            want = WANT_4XX_OR_CLOSE;
        }
        int st = fuzz_exchange(&f, req, len, out, 16384);
        total++;
        if (st == 0)
            closed_without_answer++;
        bool ok = fuzz_ok(st, want);
        if (!ok && kind == 1 && st >= 200 && st < 300)
            ok = true; /* a broken byte that still made valid JSON (",": "x" to "x") */
        if (!ok) {
            bad++;
            if (bad <= 5)
                fprintf(stderr, "  round %d (kind %d): status %d for %.120s...\n  answer: %.200s\n",
                        round, kind, st, req, out);
        }
        if (round % 50 == 49)
            REQUIRE(test_daemon_alive(&f.d));
    }
    fprintf(stderr, "  %d requests, %d closed without an answer\n", total, closed_without_answer);
    CHECK(bad == 0);
    CHECK(closed_without_answer <= total / 50); /* garbage is answered too (400) */
    free(req);
    free(out);
    CHECK(test_daemon_alive(&f.d));
    CHECK(hf_call(&f, "GET", "/healthz", NULL, NULL, &r) == 200);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups/g", NULL, NULL, &r) == 200);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

/* Request paths ending in a valid %XX escape made nng 1.5.2's HTTP server
 * read and write past the end of a heap buffer (http_uri_canonify): the
 * daemon's heap was corrupted and it crashed, now and then. Hundreds of
 * them, with garbage between, must leave it up and answering. */
TEST(test_paths_ending_in_escapes)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    char req[512], out[8192];
    int bad = 0;
    for (int i = 0; i < 400; i++) {
        int fd = hf_raw_connect(&f);
        REQUIRE(fd >= 0);
        size_t len = 0;
        for (int j = 0; j < 4; j++) /* four pipelined requests on one connection */
            len += (size_t)snprintf(req + len, sizeof req - len,
                                    "GET /v1/groups/%.*s%%4%X%s HTTP/1.1\r\nHost: x\r\n%s\r\n",
                                    (i + j) % 40, "abcdefghijklmnopqrstuvwxyzabcdefghijklmno",
                                    (i * 7 + j) % 16, j % 2 ? "?page=%41" : "",
                                    j == 3 ? "Connection: close\r\n" : "");
        hf_raw_send(fd, req, len);
        hf_raw_read(fd, out, sizeof out, 5000, NULL);
        close(fd);
        int st = hf_raw_status(out);
        if (hf_raw_count(out) != 4 || st < 400 || st >= 500) {
            if (bad++ < 3)
                fprintf(stderr, "  %d: %.300s\n", i, out);
        }
    }
    CHECK(bad == 0);
    CHECK(test_daemon_alive(&f.d));
    CHECK(hf_stop(&f) == 0);
}

/* What a client may send at the edges of HTTP/1.1: every one answered. */
TEST(test_http_framing_edges)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    char out[65536];
    struct {
        const char *req;
        int status;
    } cases[] = {
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},        /* a TLS hello */
        {"GARBAGE\r\n\r\n", 400},
        {"GET /healthz\r\n\r\n", 400},                                 /* HTTP/0.9 */
        {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET /healthz HTTP/1.1\r\n\r\n", 400},                        /* no Host */
        {"GET /healthz HTTP/1.0\r\n\r\n", 200},                        /* 1.0: no Host needed */
        {"GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n", 400},
        {"GET /h\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
        {"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 12\r\nContent-Length: 12\r\n\r\n{\"name\":\"a\"}", 400},
        {"POST /v1/groups HTTP/1.1\r\nHost: x\r\nX-API-Key: a\r\nx-api-key: b\r\n\r\n", 400},
        {"POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 5\r\n\r\n{\"a\"", 400}, /* the body ends early */
        {"GET http://example.com/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200}, /* absolute-form */
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *r = cases[i].req;
        int fd = hf_raw_connect(&f);
        REQUIRE(fd >= 0);
        hf_raw_send(fd, r, strlen(r));
        shutdown(fd, SHUT_WR);
        hf_raw_read(fd, out, sizeof out, 5000, NULL);
        close(fd);
        if (hf_raw_status(out) != cases[i].status)
            fprintf(stderr, "  case %zu: want %d, got: %.200s\n", i, cases[i].status, out);
        CHECK(hf_raw_status(out) == cases[i].status);
    }
    /* a head over 16 KiB: 431; a target over 8 KiB: 414 */
    char *big = malloc(20000);
    REQUIRE(big);
    int n = snprintf(big, 20000, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', 17000);
    strcpy(big + n + 17000, "\r\n\r\n");
    long got = hf_raw(&f, big, strlen(big), out, sizeof out, 5000, NULL);
    CHECK(got > 0 && hf_raw_status(out) == 431);
    n = snprintf(big, 20000, "GET /");
    memset(big + n, 'a', 9000);
    strcpy(big + n + 9000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    got = hf_raw(&f, big, strlen(big), out, sizeof out, 5000, NULL);
    CHECK(got > 0 && hf_raw_status(out) == 414);
    free(big);
    /* pipelined requests are answered in order on one connection */
    const char *pipe = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 13\r\n\r\n{\"name\":\"pp\"}"
                       "GET /v1/groups/pp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    REQUIRE(hf_raw(&f, pipe, strlen(pipe), out, sizeof out, 5000, NULL) > 0);
    CHECK(hf_raw_count(out) == 3);
    char *second = strstr(out + 1, "HTTP/1.1 ");
    char *third = second ? strstr(second + 1, "HTTP/1.1 ") : NULL;
    CHECK(hf_raw_status(out) == 200 && second && hf_raw_status(second) == 201 && third &&
          hf_raw_status(third) == 200);
    /* Expect: 100-continue: the client is told to send its body */
    int fd = hf_raw_connect(&f);
    REQUIRE(fd >= 0);
    const char *head = "POST /v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 13\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
    hf_raw_send(fd, head, strlen(head));
    hf_raw_read(fd, out, sizeof out, 1000, NULL); /* bounded: the 100 comes at once */
    CHECK(strncmp(out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    hf_raw_send(fd, "{\"name\":\"ec\"}", 13);
    hf_raw_read(fd, out, sizeof out, 5000, NULL);
    CHECK(hf_raw_status(out) == 201);
    close(fd);
    CHECK(test_daemon_alive(&f.d));
    CHECK(hf_stop(&f) == 0);
}

/* A client that goes away while its long-poll is parked: the pull still
 * ends (woken by a publish, into a closed connection), nothing leaks or
 * crashes, and the event it leased comes back after its lease (at least
 * once: never lost). */
TEST(test_long_poll_client_goes_away)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, NULL) == 0);
    http_resp r;
    REQUIRE(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"gone\", \"ack_wait_ms\": 1000}",
                    NULL, &r) == 201);
    hr_free(&r);
    for (int i = 0; i < 20; i++) { /* some time out, most are woken */
        int fd = hf_raw_connect(&f);
        REQUIRE(fd >= 0);
        const char *body = i % 4 ? "{\"wait_ms\": 20000}" : "{\"wait_ms\": 300}";
        char req[512];
        int n = snprintf(req, sizeof req,
                         "POST /v1/groups/gone/pull HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(body), body);
        hf_raw_send(fd, req, (size_t)n);
        close(fd); /* gone before any answer */
    }
    test_sleep_ms(500);
    REQUIRE(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"t.x\", \"data\": 1}", NULL, &r) == 201);
    hr_free(&r);
    size_t published = 1;
    /* wait until no pull is parked any more (bounded) */
    uint64_t deadline = test_mono_ms() + 10000, parked = 1;
    while (parked && test_mono_ms() < deadline) {
        test_sleep_ms(50);
        hf_call(&f, "GET", "/v1/stats", NULL, NULL, &r);
        parked = hr_uint(&r, "data.parked_pulls");
        hr_free(&r);
        if (parked) { /* the woken ones took the event; the rest wait for more */
            REQUIRE(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"t.y\", \"data\": 2}", NULL,
                            &r) == 201);
            hr_free(&r);
            published++;
        }
    }
    CHECK(parked == 0);
    /* every event published comes back to a live consumer once the leases
     * of the gone pulls end: none is lost (bounded wait) */
    size_t got = 0;
    deadline = test_mono_ms() + 10000;
    while (got < published && test_mono_ms() < deadline) {
        REQUIRE(hf_call(&f, "POST", "/v1/groups/gone/pull", "{\"max\": 1000, \"wait_ms\": 500}",
                        NULL, &r) == 200);
        size_t n = hr_array_len(&r, "data");
        char body[8192] = "{\"tokens\": [";
        size_t len = strlen(body);
        for (size_t i = 0; i < n && len + 200 < sizeof body; i++) {
            char path[32], token[128];
            snprintf(path, sizeof path, "data[%zu].token", i);
            if (hr_str(&r, path, token, sizeof token))
                len += (size_t)snprintf(body + len, sizeof body - len, "%s\"%s\"", i ? ", " : "",
                                        token);
        }
        snprintf(body + len, sizeof body - len, "]}");
        hr_free(&r);
        if (n) {
            REQUIRE(hf_call(&f, "POST", "/v1/groups/gone/ack", body, NULL, &r) == 200);
            hr_free(&r);
        }
        got += n;
    }
    CHECK_EQ_U64(got, published);
    CHECK(test_daemon_alive(&f.d));
    CHECK(hf_stop(&f) == 0);
}

UNIT_MAIN("test_http", UNIT_CASE(test_consumer_cycle_over_http),
          UNIT_CASE(test_every_route_family_answers), UNIT_CASE(test_lists_are_paged),
          UNIT_CASE(test_bad_requests_get_clear_errors), UNIT_CASE(test_idempotency_key_header),
          UNIT_CASE(test_long_poll_is_woken_by_an_nng_publish),
          UNIT_CASE(test_https_with_a_self_signed_certificate),
          UNIT_CASE(test_unread_body_closes_the_connection),
          UNIT_CASE(test_content_type_is_matched_exactly),
          UNIT_CASE(test_nul_and_bad_escapes_in_paths_and_queries),
          UNIT_CASE(test_query_parameter_given_twice),
          UNIT_CASE(test_cursor_lists_continue_where_the_page_ends),
          UNIT_CASE(test_wrong_shapes_and_numbers), UNIT_CASE(test_head_has_no_body),
          UNIT_CASE(test_metrics_labels_are_escaped),
          UNIT_CASE(test_sigterm_answers_parked_http_long_polls),
          UNIT_CASE(test_malformed_requests_get_4xx_and_the_daemon_stays_up),
          UNIT_CASE(test_paths_ending_in_escapes), UNIT_CASE(test_http_framing_edges),
          UNIT_CASE(test_long_poll_client_goes_away))
