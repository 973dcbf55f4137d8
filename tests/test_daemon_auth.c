/* test_daemon_auth.c: API keys against the real daemon (proto/PROTOCOL.md,
 * "Authentication"). sluiced runs with --auth on, an ipc:// listener (trusted:
 * keys are made there) and tcp on 127.0.0.1 (keys required): 401 without or
 * with a bad or revoked key, 403 for a missing scope or a topic outside the
 * key's patterns, the CLI's --api-key / $SLUICE_API_KEY, the bridge's, no token
 * in any log; then the start-up rules: auth off with a listener beyond
 * loopback is refused (before listening) unless --insecure; auto with only
 * loopback listeners is off. */
#include <stdlib.h>
#include <sys/wait.h>

#include "daemon_client.h"
#include "core/apikey.h"
#include "proto/client_keys.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A client on url carrying key (NULL: none). */
static sl_client *open_with_key(const char *url, const char *key)
{
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_options opt = {0};
    opt.timeout_ms = 5000;
    opt.api_key = key;
    if (sl_client_open(url, &opt, &c, &err) != SL_CLIENT_OK) {
        fprintf(stderr, "  cannot open client on %s: %s: %s\n", url, err.code, err.message);
        return NULL;
    }
    return c;
}

/* Create a key over c (scopes and topics comma-separated; topics NULL: all);
 * its id and token go to the buffers. 0 or -1. */
static int make_key(sl_client *c, const char *scopes, const char *topics, char *id, char *token)
{
    sl_slice sc[8], tp[8];
    sl_client_key_spec spec = {.name = sl_slice_of("test"), .scopes = sc, .topics = tp};
    char sbuf[128], tbuf[128];
    snprintf(sbuf, sizeof sbuf, "%s", scopes);
    snprintf(tbuf, sizeof tbuf, "%s", topics ? topics : "");
    for (char *s = strtok(sbuf, ","); s && spec.nscopes < 8; s = strtok(NULL, ","))
        sc[spec.nscopes++] = sl_slice_of(s);
    for (char *s = strtok(tbuf, ","); s && spec.ntopics < 8; s = strtok(NULL, ","))
        tp[spec.ntopics++] = sl_slice_of(s);
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_keys_create(c, &spec, &res) == SL_CLIENT_OK &&
        res.apikey.token.len <= SL_APIKEY_TOKEN_LEN && res.apikey.key.id.len <= SL_APIKEY_ID_LEN) {
        snprintf(token, SL_APIKEY_TOKEN_LEN + 1, "%.*s", (int)res.apikey.token.len,
                 res.apikey.token.ptr);
        snprintf(id, SL_APIKEY_ID_LEN + 1, "%.*s", (int)res.apikey.key.id.len,
                 res.apikey.key.id.ptr);
        rc = 0;
    } else {
        fprintf(stderr, "  keys.create failed: %s: %s\n", res.error.code, res.error.message);
    }
    sl_client_result_free(&res);
    return rc;
}

/* The server error code of a ping (or "ok"). */
static const char *ping_code(sl_client *c, char *buf, size_t cap)
{
    sl_client_result res = {0};
    sl_client_status st = sl_client_ping(c, &res);
    snprintf(buf, cap, "%s", st == SL_CLIENT_OK ? "ok" : res.error.code);
    sl_client_result_free(&res);
    return buf;
}

/* Publish events of the given topics; the result (error fields) in *res. */
static sl_client_status publish_topics(sl_client *c, const char *const *topics, size_t n,
                                       sl_client_result *res)
{
    sl_event_in ev[4] = {{{0}}};
    for (size_t i = 0; i < n && i < 4; i++) {
        ev[i].topic = sl_slice_of(topics[i]);
        ev[i].payload = sl_slice_of("{}");
    }
    return sl_client_publish(c, ev, n, res);
}

/* 1 when the file at path contains needle. */
static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Run the CLI with env (may be "") and args; its exit status, stdout+stderr in out. */
static int run_cli(const char *env, const char *url, const char *args, char *out, size_t cap)
{
    const char *bin = getenv("SLUICE_CLI");
    if (!bin)
        return -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "env -u SLUICE_API_KEY %s %s --url '%s' %s </dev/null 2>&1", env,
             bin, url, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- one daemon with auth on: ipc:// (trusted) and tcp on loopback -------------------------- */

typedef struct fixture {
    test_daemon d;
    char tcp[64];
    sl_client *ipc;                        /* no key: trusted */
    char admin[SL_APIKEY_TOKEN_LEN + 1];   /* "*" */
    char reader[SL_APIKEY_TOKEN_LEN + 1];  /* events:read */
    char orders[SL_APIKEY_TOKEN_LEN + 1];  /* events:read,events:write on order.> */
    char orders_id[SL_APIKEY_ID_LEN + 1];
    char bridge[SL_APIKEY_TOKEN_LEN + 1];  /* events:read,webhooks:write */
} fixture;

static fixture fx;

static int fx_start(void)
{
    memset(&fx, 0, sizeof fx);
    snprintf(fx.tcp, sizeof fx.tcp, "tcp://127.0.0.1:%d", test_free_port());
    const char *extra[] = {"--auth", "on", "--listen", fx.tcp, NULL};
    /* d.url (the first listener, pinged at start) is the ipc:// socket */
    if (test_daemon_start(&fx.d, NULL, extra) != 0 || !(fx.ipc = tc_open(fx.d.url)))
        return -1;
    char id[SL_APIKEY_ID_LEN + 1];
    if (make_key(fx.ipc, "*", NULL, id, fx.admin) != 0 ||
        make_key(fx.ipc, "events:read", NULL, id, fx.reader) != 0 ||
        make_key(fx.ipc, "events:read,events:write", "order.>", fx.orders_id, fx.orders) != 0 ||
        make_key(fx.ipc, "events:read,webhooks:write", NULL, id, fx.bridge) != 0)
        return -1;
    static const char *const order_star[] = {"order.*", NULL};
    if (tc_group(fx.ipc, "orders", order_star, 0, 0) != 0 ||
        tc_group(fx.ipc, "all", NULL, 0, 0) != 0)
        return -1;
    return 0;
}

TEST(keys_required_over_tcp)
{
    REQUIRE(fx_start() == 0);
    char code[64];
    sl_client *anon = open_with_key(fx.tcp, NULL);
    REQUIRE(anon);
    CHECK(strcmp(ping_code(anon, code, sizeof code), "unauthorized") == 0);
    sl_client_result res = {0};
    static const char *const one[] = {"order.created"};
    CHECK(publish_topics(anon, one, 1, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "unauthorized") == 0);
    CHECK(strcmp(res.error.message, "an API key is required") == 0);
    sl_client_result_free(&res);
    sl_client_close(anon);

    sl_client *bad = open_with_key(fx.tcp, "slk_0123456789abcdef_notarealsecret");
    REQUIRE(bad);
    CHECK(sl_client_ping(bad, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "unauthorized") == 0);
    CHECK(strcmp(res.error.message, "unknown or revoked API key") == 0);
    sl_client_result_free(&res);
    sl_client_close(bad);

    /* ipc:// needs no key; a good key works over tcp */
    CHECK(strcmp(ping_code(fx.ipc, code, sizeof code), "ok") == 0);
    CHECK(tc_publish(fx.ipc, "order.created", "{}", NULL) != 0);
    sl_client *admin = open_with_key(fx.tcp, fx.admin);
    REQUIRE(admin);
    CHECK(strcmp(ping_code(admin, code, sizeof code), "ok") == 0);
    CHECK(tc_publish(admin, "invoice.paid", "{}", NULL) != 0);
    CHECK(sl_client_stats_get(admin, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    sl_client_close(admin);
}

TEST(scopes_over_tcp)
{
    sl_client *reader = open_with_key(fx.tcp, fx.reader);
    REQUIRE(reader);
    sl_client_result res = {0};
    CHECK(sl_client_pull(reader, "all", 1, 0, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    static const char *const one[] = {"order.created"};
    CHECK(publish_topics(reader, one, 1, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0 && strstr(res.error.message, "events:write"));
    sl_client_result_free(&res);
    CHECK(sl_client_stats_get(reader, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_keys_list(reader, NULL, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0);
    sl_client_result_free(&res);
    sl_client_close(reader);
}

TEST(topic_limits_over_tcp)
{
    sl_client *c = open_with_key(fx.tcp, fx.orders);
    REQUIRE(c);
    sl_client_result res = {0};
    static const char *const ok[] = {"order.created"};
    static const char *const mixed[] = {"order.created", "invoice.paid"};
    CHECK(publish_topics(c, ok, 1, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(publish_topics(c, mixed, 2, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0);
    CHECK(strcmp(res.error.field, "events[1].topic") == 0);
    CHECK(res.error.has_index && res.error.index == 1);
    sl_client_result_free(&res);
    CHECK(sl_client_pull(c, "orders", 10, 0, &res) == SL_CLIENT_OK && res.pull.n > 0);
    sl_client_result_free(&res);
    CHECK(sl_client_pull(c, "all", 1, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0 && strcmp(res.error.field, "group") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_topics(c, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "forbidden") == 0);
    sl_client_result_free(&res);

    /* revoked: refused from the next request on */
    CHECK(sl_client_keys_revoke(fx.ipc, fx.orders_id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    char code[64];
    CHECK(strcmp(ping_code(c, code, sizeof code), "unauthorized") == 0);
    sl_client_close(c);
}

TEST(cli_sends_the_key)
{
    char out[8192], env[256];
    CHECK(run_cli("", fx.tcp, "stats", out, sizeof out) == 1);
    CHECK(strstr(out, "unauthorized") != NULL);
    char args[256];
    snprintf(args, sizeof args, "--api-key %s stats --json", fx.admin);
    CHECK(run_cli("", fx.tcp, args, out, sizeof out) == 0);
    snprintf(env, sizeof env, "SLUICE_API_KEY=%s", fx.admin);
    CHECK(run_cli(env, fx.tcp, "stats", out, sizeof out) == 0);
    snprintf(env, sizeof env, "SLUICE_API_KEY=%s", fx.reader);
    CHECK(run_cli(env, fx.tcp, "publish order.created '{}'", out, sizeof out) == 1);
    CHECK(strstr(out, "forbidden") != NULL);
    /* no key over ipc:// */
    CHECK(run_cli("", fx.d.url, "stats", out, sizeof out) == 0);
}

/* Run the bridge on the tcp listener (key NULL: none; env: through
 * $SLUICE_API_KEY) for a moment: 1 when its log says webhook.targets was
 * refused as unauthorized, 2 when it failed otherwise, 0 when it worked. */
static int bridge_refused(const char *key, bool env, const char *log)
{
    const char *bin = getenv("SLUICE_BRIDGE");
    if (!bin)
        return -1;
    const char *argv[12] = {bin, "--connect", fx.tcp, "--refresh-ms", "50"};
    int n = 5;
    if (key && !env) {
        argv[n++] = "--api-key";
        argv[n++] = key;
    }
    argv[n] = NULL;
    unsetenv("SLUICE_API_KEY");
    if (env)
        setenv("SLUICE_API_KEY", key, 1);
    pid_t pid;
    int rc = test_proc_spawn(&pid, bin, argv, log);
    unsetenv("SLUICE_API_KEY");
    if (rc != 0)
        return -1;
    uint64_t deadline = test_mono_ms() + 600;
    while (test_mono_ms() < deadline && !file_contains(log, "webhook.targets failed"))
        test_sleep_ms(20);
    test_proc_stop(&pid, 5000);
    if (test_log_has_sanitizer_report(log))
        return -1;
    if (file_contains(log, "webhook.targets failed: unauthorized"))
        return 1;
    return file_contains(log, "webhook.targets failed") ? 2 : 0;
}

TEST(bridge_sends_the_key)
{
    char log[TEST_URL_MAX + 64];
    snprintf(log, sizeof log, "%s/bridge-none.log", fx.d.dir);
    CHECK(bridge_refused(NULL, false, log) == 1);
    snprintf(log, sizeof log, "%s/bridge-flag.log", fx.d.dir);
    CHECK(bridge_refused(fx.bridge, false, log) == 0);
    CHECK(!file_contains(log, fx.bridge));
    snprintf(log, sizeof log, "%s/bridge-env.log", fx.d.dir);
    CHECK(bridge_refused(fx.bridge, true, log) == 0);
}

TEST(no_token_in_the_log)
{
    sl_client_close(fx.ipc);
    CHECK(test_daemon_stop(&fx.d) == 0);
    CHECK(file_contains(fx.d.log_path, "auth on"));
    const char *tokens[] = {fx.admin, fx.reader, fx.orders, fx.bridge};
    for (size_t i = 0; i < 4; i++) {
        CHECK(strlen(tokens[i]) > 20);
        CHECK(!file_contains(fx.d.log_path, tokens[i]));
        CHECK(!file_contains(fx.d.log_path, tokens[i] + 21)); /* the secret part alone */
    }
    CHECK(test_daemon_cleanup(&fx.d) == 0);
}

/* ---- start-up rules ------------------------------------------------------------------------ */

TEST(auth_off_beyond_loopback_is_refused)
{
    const char *bin = getenv("SLUICED");
    REQUIRE(bin);
    char *dir = test_tmpdir("authoff");
    REQUIRE(dir);
    char data[512], log[512], url[64];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/sluiced.log", dir);
    snprintf(url, sizeof url, "tcp://0.0.0.0:%d", test_free_port());
    const char *argv[] = {bin, "--data", data, "--auth", "off", "--listen", url, NULL};
    pid_t pid;
    REQUIRE(test_proc_spawn(&pid, bin, argv, log) == 0);
    uint64_t deadline = test_mono_ms() + 10000;
    int status = -1;
    while (test_mono_ms() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        test_sleep_ms(10);
    }
    if (pid) {
        test_proc_kill(&pid);
        CHECK(0); /* it ran instead of refusing */
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    CHECK(file_contains(log, "--insecure"));
    CHECK(!file_contains(log, "listening on")); /* refused before listening */
    CHECK(!test_log_has_sanitizer_report(log));
    test_rmtree(dir);
    free(dir);
}

TEST(insecure_starts_anyway)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://0.0.0.0:%d", test_free_port());
    const char *extra[] = {"--auth", "off", "--insecure", "--listen", url, NULL};
    test_daemon d;
    CHECK(test_daemon_start(&d, NULL, extra) == 0); /* pinged over its ipc:// socket */
    CHECK(test_daemon_stop(&d) == 0);
    CHECK(file_contains(d.log_path, "INSECURE"));
    CHECK(test_daemon_cleanup(&d) == 0);
}

TEST(auto_on_loopback_is_off)
{
    char tcp[64];
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", test_free_port());
    const char *extra[] = {"--listen", tcp, NULL};
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, extra) == 0);
    sl_client *c = open_with_key(tcp, NULL);
    CHECK(c && tc_publish(c, "order.created", "{}", NULL) != 0);
    sl_client_close(c);
    CHECK(file_contains(d.log_path, "auth off"));
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("daemon_auth", UNIT_CASE(keys_required_over_tcp), UNIT_CASE(scopes_over_tcp),
          UNIT_CASE(topic_limits_over_tcp), UNIT_CASE(cli_sends_the_key),
          UNIT_CASE(bridge_sends_the_key), UNIT_CASE(no_token_in_the_log),
          UNIT_CASE(auth_off_beyond_loopback_is_refused), UNIT_CASE(insecure_starts_anyway),
          UNIT_CASE(auto_on_loopback_is_off))
