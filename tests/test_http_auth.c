/* test_http_auth.c: the HTTP API with auth on: 401 without a key, 403 for a
 * wrong scope or topic, 429 with its headers once a key's rate is spent,
 * rate headers on every keyed answer, keys managed over HTTP, and a key's
 * token never in a log or a list. Keys are bootstrapped over the daemon's
 * ipc:// socket (trusted), as an operator would. */
#include <stdlib.h>
#include <string.h>
#include "daemon_client.h"
#include "http_client.h"
#include "proto/client_keys.h"
#include "tools/sluiced/auth_rate.h"
#include "unit.h"

static const char *const auth_on[] = {"--auth", "on", NULL};

/* Create a key over ipc; its token into token. */
static int make_key(http_fixture *f, const char *scopes_csv, const char *topic, uint32_t rate,
                    char *token, size_t cap)
{
    sl_client *c = tc_open(f->d.url);
    if (!c)
        return -1;
    sl_slice scopes[4];
    size_t n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", scopes_csv);
    for (char *s = strtok(buf, ","); s && n < 4; s = strtok(NULL, ","))
        scopes[n++] = sl_slice_of(s);
    sl_slice topics[1] = {sl_slice_of(topic)};
    sl_client_key_spec spec = {sl_slice_of("test"), scopes, n, topics, topic ? 1 : 0, rate};
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_keys_create(c, &spec, &res) == SL_CLIENT_OK) {
        snprintf(token, cap, "%.*s", (int)res.apikey.token.len, res.apikey.token.ptr);
        rc = 0;
    } else {
        fprintf(stderr, "  keys.create: %s: %s\n", res.error.code, res.error.message);
    }
    sl_client_result_free(&res);
    sl_client_close(c);
    return rc;
}

/* Does the file at path contain s? */
static bool file_contains(const char *path, const char *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, s) != NULL;
    fclose(f);
    return found;
}

TEST(test_keys_scopes_and_topics)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, auth_on) == 0);
    http_resp r;
    CHECK(hf_call(&f, "GET", "/v1/groups", NULL, NULL, &r) == 401);
    CHECK(hr_str_eq(&r, "code", "unauthorized"));
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups", NULL, "X-API-Key: slk_0000000000000000_nope", &r) ==
          401);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/healthz", NULL, NULL, &r) == 200); /* no key needed */
    hr_free(&r);
    char admin[128], reader[128], orders[128];
    REQUIRE(make_key(&f, "*", NULL, 0, admin, sizeof admin) == 0);
    REQUIRE(make_key(&f, "events:read", NULL, 0, reader, sizeof reader) == 0);
    REQUIRE(make_key(&f, "events:write", "order.>", 0, orders, sizeof orders) == 0);
    /* the admin key works as X-API-Key and as a Bearer token */
    snprintf(f.api_key, sizeof f.api_key, "%s", admin);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"g\"}", NULL, &r) == 201);
    hr_free(&r);
    f.api_key[0] = '\0';
    char bearer[200];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", admin);
    CHECK(hf_call(&f, "GET", "/v1/groups/g", NULL, bearer, &r) == 200);
    hr_free(&r);
    /* a read key may not create groups */
    snprintf(f.api_key, sizeof f.api_key, "%s", reader);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"h\"}", NULL, &r) == 403);
    CHECK(hr_str_eq(&r, "code", "forbidden"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups/g/pull", NULL, NULL, &r) == 200);
    hr_free(&r);
    /* a key limited to order.> publishes there only */
    snprintf(f.api_key, sizeof f.api_key, "%s", orders);
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"topic\": \"order.created\", \"data\": 1}", NULL,
                  &r) == 201);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/events",
                  "{\"events\": [{\"topic\": \"order.paid\", \"data\": 1},"
                  " {\"topic\": \"invoice.paid\", \"data\": 2}]}",
                  NULL, &r) == 403);
    CHECK(hr_has(&r, "errors.events[1].topic"));
    hr_free(&r);
    /* keys over HTTP: create (token shown once), list (never the token), revoke */
    snprintf(f.api_key, sizeof f.api_key, "%s", admin);
    REQUIRE(hf_call(&f, "POST", "/v1/keys",
                    "{\"name\": \"poller\", \"scopes\": [\"events:read\"], \"rate_per_minute\": 50}",
                    NULL, &r) == 201);
    char token[128], id[64];
    CHECK(hr_str_prefix(&r, "data.token", "slk_"));
    REQUIRE(hr_str(&r, "data.token", token, sizeof token) && hr_str(&r, "data.id", id, sizeof id));
    hr_free(&r);
    REQUIRE(hf_call(&f, "GET", "/v1/keys", NULL, NULL, &r) == 200);
    CHECK_EQ_U64(hr_array_len(&r, "data"), 4);
    CHECK(strstr(r.body, "slk_") == NULL); /* no token in a list */
    hr_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/keys/%s", id);
    CHECK(hf_call(&f, "GET", path, NULL, NULL, &r) == 200);
    CHECK(hr_str_eq(&r, "data.name", "poller") && !hr_has(&r, "data.token"));
    CHECK_EQ_U64(hr_uint(&r, "data.rate_per_minute"), 50);
    hr_free(&r);
    CHECK(hf_call(&f, "DELETE", path, NULL, NULL, &r) == 204);
    hr_free(&r);
    snprintf(f.api_key, sizeof f.api_key, "%s", token);
    CHECK(hf_call(&f, "GET", "/v1/groups", NULL, NULL, &r) == 401); /* revoked */
    hr_free(&r);
    /* no token appears in the daemon's log */
    CHECK(!file_contains(f.d.log_path, admin));
    CHECK(!file_contains(f.d.log_path, token));
    CHECK(!file_contains(f.d.log_path, "slk_"));
    CHECK(hf_stop(&f) == 0);
}

TEST(test_rate_limit_headers_and_429)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, auth_on) == 0);
    char key[128];
    REQUIRE(make_key(&f, "*", NULL, 5, key, sizeof key) == 0);
    snprintf(f.api_key, sizeof f.api_key, "%s", key);
    http_resp r;
    char v[64];
    for (int i = 0; i < 5; i++) {
        REQUIRE(hf_call(&f, "GET", "/v1/stats", NULL, NULL, &r) == 200);
        CHECK(hr_header(&r, "X-RateLimit-Limit", v, sizeof v) && strcmp(v, "5") == 0);
        CHECK(hr_header(&r, "X-RateLimit-Remaining", v, sizeof v) && atoi(v) == 4 - i);
        CHECK(hr_header(&r, "X-RateLimit-Reset", v, sizeof v) && atoll(v) > 1700000000);
        hr_free(&r);
    }
    CHECK(hf_call(&f, "GET", "/v1/stats", NULL, NULL, &r) == 429);
    CHECK(hr_str_eq(&r, "code", "rate_limited"));
    CHECK(hr_header(&r, "Retry-After", v, sizeof v) && atoi(v) >= 1);
    CHECK(hr_header(&r, "X-RateLimit-Remaining", v, sizeof v) && strcmp(v, "0") == 0);
    hr_free(&r);
    CHECK(hf_stop(&f) == 0);
}

TEST(test_public_http_listener_requires_auth_or_insecure)
{
    /* auto + a non-loopback HTTP listener: auth is on (checked before binding) */
    test_daemon d;
    int port = test_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "http://0.0.0.0:%d", port);
    const char *off[] = {"--auth", "off", "--http-listen", listen, NULL};
    CHECK(test_daemon_start(&d, NULL, off) != 0); /* refused without --insecure */
    CHECK(file_contains(d.log_path, "--insecure"));
    test_daemon_cleanup(&d);
}

/* The key is checked before the body is read or parsed: a bad key gets 401
 * whatever its body, and every request of a key takes from its rate, the
 * malformed ones too. */
TEST(test_key_is_checked_before_the_body)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, auth_on) == 0);
    http_resp r;
    const char *bogus = "X-API-Key: slk_0000000000000000_nope";
    CHECK(hf_call(&f, "POST", "/v1/events", "{\"topic\": ", bogus, &r) == 401);
    CHECK(hr_str_eq(&r, "code", "unauthorized"));
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": 7}", bogus, &r) == 401);
    hr_free(&r);
    CHECK(hf_call(&f, "GET", "/v1/groups?page=0", NULL, bogus, &r) == 401);
    hr_free(&r);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"x\"}", "Content-Type: text/plain", &r) ==
          401);
    hr_free(&r);
    /* a key without the scope: 403 before its body is looked at */
    char reader[128], limited[128];
    REQUIRE(make_key(&f, "events:read", NULL, 0, reader, sizeof reader) == 0);
    snprintf(f.api_key, sizeof f.api_key, "%s", reader);
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": 7}", NULL, &r) == 403);
    hr_free(&r);
    /* rate: 3 a minute; three malformed requests spend it */
    REQUIRE(make_key(&f, "*", NULL, 3, limited, sizeof limited) == 0);
    snprintf(f.api_key, sizeof f.api_key, "%s", limited);
    char v[64];
    const char *bad[] = {"{\"name\": ", "[1]", "{\"name\": 7}"};
    for (int i = 0; i < 3; i++) {
        long st = hf_call(&f, "POST", "/v1/groups", bad[i], NULL, &r);
        CHECK(st == 400 || st == 422);
        CHECK(hr_header(&r, "X-RateLimit-Remaining", v, sizeof v) && atoi(v) == 2 - i);
        hr_free(&r);
    }
    CHECK(hf_call(&f, "POST", "/v1/groups", "{\"name\": \"ok\"}", NULL, &r) == 429);
    CHECK(hr_header(&r, "Retry-After", v, sizeof v) && atoi(v) >= 1);
    hr_free(&r);
    /* /metrics needs stats:read; HEAD answers without a body */
    snprintf(f.api_key, sizeof f.api_key, "%s", reader);
    CHECK(hf_call(&f, "GET", "/metrics", NULL, NULL, &r) == 403);
    hr_free(&r);
    f.api_key[0] = '\0';
    const char *head = "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char out[2048];
    REQUIRE(hf_raw(&f, head, strlen(head), out, sizeof out, 3000, NULL) > 0);
    CHECK(hf_raw_status(out) == 401);
    CHECK(strstr(out, "\r\n\r\n") && strstr(out, "\r\n\r\n")[4] == '\0');
    CHECK(hf_stop(&f) == 0);
}

/* A token sent where it does not belong never comes back in a reply. */
TEST(test_token_never_echoed)
{
    http_fixture f;
    REQUIRE(hf_start(&f, false, auth_on) == 0);
    char admin[128], orders[128];
    REQUIRE(make_key(&f, "*", NULL, 0, admin, sizeof admin) == 0);
    REQUIRE(make_key(&f, "events:write,events:read", "order.>", 0, orders, sizeof orders) == 0);
    snprintf(f.api_key, sizeof f.api_key, "%s", admin);
    http_resp r;
    char body[512];
    snprintf(body, sizeof body, "{\"name\": \"g\", \"key\": \"%s\"}", admin);
    CHECK(hf_call(&f, "POST", "/v1/groups", body, NULL, &r) == 422);
    CHECK(r.body && !strstr(r.body, admin));
    hr_free(&r);
    char path[256];
    snprintf(path, sizeof path, "/v1/keys/%s", admin);
    CHECK(hf_call(&f, "GET", path, NULL, NULL, &r) == 422);
    CHECK(r.body && !strstr(r.body, admin + 22)); /* not even the secret part */
    hr_free(&r);
    snprintf(f.api_key, sizeof f.api_key, "%s", orders);
    CHECK(hf_call(&f, "GET", "/v1/topics", NULL, NULL, &r) == 403);
    CHECK(r.body && !strstr(r.body, orders));
    hr_free(&r);
    snprintf(f.api_key, sizeof f.api_key, "%s", admin); /* a near miss */
    size_t last = strlen(f.api_key) - 1;
    f.api_key[last] = f.api_key[last] == 'A' ? 'B' : 'A';
    CHECK(hf_call(&f, "GET", "/v1/stats", NULL, NULL, &r) == 401);
    CHECK(r.body && !strstr(r.body, admin + 22));
    hr_free(&r);
    CHECK(!file_contains(f.d.log_path, admin + 22));
    CHECK(!file_contains(f.d.log_path, orders + 22));
    CHECK(hf_stop(&f) == 0);
}

/* The token bucket at its edges, on the table itself. */
TEST(test_rate_bucket_edges)
{
    sl_rate_table *t = NULL;
    REQUIRE(sl_rate_table_new(&t) == SL_OK);
    sl_rate_verdict v;
    const uint64_t t0 = 1700000000000ull;
    /* 1 a minute (and 0, which counts as 1) */
    sl_rate_take(t, "key_0000000000000001", 0, t0, &v);
    CHECK(v.allowed && v.limit == 1 && v.remaining == 0);
    CHECK(v.reset_s == (t0 + 60000) / 1000);
    sl_rate_take(t, "key_0000000000000001", 0, t0, &v);
    CHECK(!v.allowed && v.retry_after_s == 60);
    sl_rate_take(t, "key_0000000000000001", 0, t0 + 59999, &v);
    CHECK(!v.allowed && v.retry_after_s == 1);
    sl_rate_take(t, "key_0000000000000001", 0, t0 + 60000, &v);
    CHECK(v.allowed);
    /* a clock going backwards adds nothing and breaks nothing */
    sl_rate_take(t, "key_0000000000000001", 0, t0, &v);
    CHECK(!v.allowed && v.retry_after_s >= 1);
    sl_rate_take(t, "key_0000000000000001", 0, 0, &v);
    CHECK(!v.allowed && v.retry_after_s >= 1);
    /* the largest rate: no overflow in units, a full bucket */
    sl_rate_take(t, "key_0000000000000002", UINT32_MAX, t0, &v);
    CHECK(v.allowed && v.limit == UINT32_MAX && v.remaining == UINT32_MAX - 1);
    sl_rate_take(t, "key_0000000000000002", UINT32_MAX, UINT64_MAX / 2, &v);
    CHECK(v.allowed && v.remaining == UINT32_MAX - 1);
    /* a changed rate starts full */
    sl_rate_take(t, "key_0000000000000003", 2, t0, &v);
    sl_rate_take(t, "key_0000000000000003", 2, t0, &v);
    sl_rate_take(t, "key_0000000000000003", 2, t0, &v);
    CHECK(!v.allowed);
    sl_rate_take(t, "key_0000000000000003", 5, t0, &v);
    CHECK(v.allowed && v.remaining == 4);
    /* many keys: the table stays bounded and each key still gets its own
     * bucket or a fresh one, never another key's */
    char id[32];
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "key_%016x", i + 100);
        sl_rate_take(t, id, 1, t0, &v);
        CHECK(v.allowed);
    }
    sl_rate_table_free(t);
}

UNIT_MAIN("test_http_auth", UNIT_CASE(test_keys_scopes_and_topics),
          UNIT_CASE(test_rate_limit_headers_and_429),
          UNIT_CASE(test_public_http_listener_requires_auth_or_insecure),
          UNIT_CASE(test_key_is_checked_before_the_body), UNIT_CASE(test_token_never_echoed),
          UNIT_CASE(test_rate_bucket_edges))
