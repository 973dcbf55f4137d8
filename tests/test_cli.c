/* test_cli.c: the sluice CLI ($SLUICE_CLI) against a real sluiced: every
 * command family (webhooks and API keys too, this test playing the bridge through the
 * client library where an attempt is needed), stdin and file publishing,
 * --json output, and the exit codes (0 ok, 1 server error, 2 usage, 3
 * transport). */
#include <stdlib.h>
#include <sys/wait.h>

#include "proto/client_webhook.h"
#include "support.h"
#include "unit.h"

static test_daemon d;

/* Run `sluice --url URL ARGS` with optional stdin text; capture stdout in out
 * (cap bytes). Returns the exit status, or -1. */
static int cli(const char *args, const char *input, char *out, size_t cap)
{
    const char *bin = getenv("SLUICE_CLI");
    if (!bin)
        return -1;
    char *in_path = NULL;
    if (input) {
        size_t n = strlen(d.dir) + 16;
        in_path = malloc(n);
        snprintf(in_path, n, "%s/stdin.txt", d.dir);
        FILE *f = fopen(in_path, "w");
        if (!f)
            return -1;
        fputs(input, f);
        fclose(f);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s --url '%s' %s <%s 2>/dev/null", bin, d.url, args,
             in_path ? in_path : "/dev/null");
    free(in_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out[65536];

TEST(start_daemon)
{
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
}

TEST(groups_lifecycle)
{
    CHECK(cli("groups create billing --filter 'order.*' --ack-wait 5000 --max-deliveries 3", NULL,
              out, sizeof out) == 0);
    CHECK(strstr(out, "billing") != NULL);
    CHECK(cli("groups create billing", NULL, out, sizeof out) == 1); /* exists */
    CHECK(cli("groups update billing --max-inflight 50", NULL, out, sizeof out) == 0);
    CHECK(cli("--json groups show billing", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"max_inflight\":50") != NULL);
    CHECK(strstr(out, "\"ack_wait_ms\":5000") != NULL);
    CHECK(cli("groups create temp --start latest", NULL, out, sizeof out) == 0);
    CHECK(cli("--json groups list", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"temp\"") && strstr(out, "\"billing\""));
    CHECK(cli("groups delete temp", NULL, out, sizeof out) == 0);
    CHECK(cli("groups show temp", NULL, out, sizeof out) == 1);
}

TEST(publish_from_args_stdin_and_file)
{
    CHECK(cli("--json publish order.created '{\"id\": 1}' --key k1 --header src=test "
              "--content-type application/json",
              NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"seq\":1") != NULL);
    CHECK(cli("--json publish order.created '{\"id\": 1}' --key k1", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"duplicate\":true") != NULL);
    CHECK(cli("publish order.paid", "line one\nline two\n", out, sizeof out) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/payload.bin", d.dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fwrite("\x00\x01\x02\xff", 1, 4, f);
    fclose(f);
    char args[700];
    snprintf(args, sizeof args, "publish order.blob --file '%s'", path);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(cli("--json topics", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "order.created") && strstr(out, "order.paid") && strstr(out, "order.blob"));
}

TEST(pull_ack_and_dead_letters)
{
    CHECK(cli("--json pull billing --max 10", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"attempt\":1") != NULL);
    CHECK(strstr(out, "\"payload_base64\"") != NULL); /* the binary payload */
    CHECK(strstr(out, "\"payload\":{\"id\": 1}") != NULL); /* JSON embedded */
    /* take the first token and terminate it */
    char *t = strstr(out, "\"token\":\"");
    REQUIRE(t);
    char token[33];
    memcpy(token, t + 9, 32);
    token[32] = 0;
    char args[256];
    snprintf(args, sizeof args, "term billing %s --reason 'bad total'", token);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    snprintf(args, sizeof args, "ack billing %s", token);
    CHECK(cli(args, NULL, out, sizeof out) == 1); /* gone: not settled */
    CHECK(cli("--json dlq list billing", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "bad total") != NULL);
    CHECK(cli("dlq show billing 1", NULL, out, sizeof out) == 0);
    CHECK(cli("dlq replay billing --all", NULL, out, sizeof out) == 0);
    CHECK(cli("--json pull billing --max 10 --ack", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"seq\":1") != NULL);
    CHECK(cli("--json groups show billing", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"in_flight\":3") != NULL); /* the three not yet acked */
    CHECK(cli("dlq purge billing --all", NULL, out, sizeof out) == 0);
}

TEST(log_and_stats)
{
    CHECK(cli("--json log --from-seq 1 --max 2", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"next_seq\":3") != NULL);
    CHECK(cli("--json stats", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"events\":4") != NULL);
}

TEST(exit_codes)
{
    CHECK(cli("pull nobody", NULL, out, sizeof out) == 1);
    CHECK(cli("publish 'bad..topic' x", NULL, out, sizeof out) == 1);
    CHECK(cli("frobnicate", NULL, out, sizeof out) == 2);
    CHECK(cli("pull", NULL, out, sizeof out) == 2);
    CHECK(cli("pull billing --max lots", NULL, out, sizeof out) == 2);
    CHECK(cli("--url tcp://127.0.0.1:1 stats", NULL, out, sizeof out) == 3);
    CHECK(cli("--json pull nobody", NULL, out, sizeof out) == 1);
    CHECK(strstr(out, "\"error\"") != NULL);
}

/* ---- webhooks ----------------------------------------------------------------------- */

/* text is one valid JSON document (python3's json module says so). */
static bool parses_as_json(const char *text)
{
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/out.json", d.dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '%s' 2>/dev/null", path);
    return system(cmd) == 0;
}

/* The value of the first "key":"..." in text, into val (cap bytes). */
static bool json_str_of(const char *text, const char *key, char *val, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(text, pat);
    if (!p)
        return false;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= cap)
        return false;
    memcpy(val, p, (size_t)(end - p));
    val[end - p] = 0;
    return true;
}

/* Play the bridge once: pull one event of the subscription's group and
 * report a 503 for it. 0 or -1. */
static int bridge_fails_once(const char *id)
{
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_options opt = {.timeout_ms = 5000};
    if (sl_client_open(d.url, &opt, &c, &err) != SL_CLIENT_OK)
        return -1;
    char group[64];
    snprintf(group, sizeof group, "_wh.%s", id);
    sl_client_result res;
    int rc = -1;
    if (sl_client_pull(c, group, 1, 2000, &res) == SL_CLIENT_OK && res.pull.n == 1) {
        sl_webhook_attempt at = {.token = res.pull.deliveries[0].token, .http_status = 503,
                                 .latency_us = 900, .body = sl_slice_of("try later")};
        sl_client_result rep;
        if (sl_client_webhook_report(c, id, &at, 1, &rep) == SL_CLIENT_OK)
            rc = 0;
        sl_client_result_free(&rep);
    }
    sl_client_result_free(&res);
    sl_client_close(c);
    return rc;
}

static char wh_id[32];

TEST(webhooks_create_get_update)
{
    CHECK(cli("webhooks create --name orders --url http://127.0.0.1:9/hook --filter 'order.*' "
              "--retry 1m,2h --timeout 5s --max-in-flight 4 --rate 10 --disable-after 3 "
              "--header 'X-Team: billing' --description 'the orders'",
              NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "whsec_") != NULL);
    CHECK(strstr(out, "not be shown again") != NULL);
    REQUIRE(cli("--json webhooks list", NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    REQUIRE(json_str_of(out, "id", wh_id, sizeof wh_id));
    CHECK(strncmp(wh_id, "wh_", 3) == 0);

    char args[256];
    snprintf(args, sizeof args, "--json webhooks get %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    CHECK(strstr(out, "\"retry_schedule_ms\":[60000,7200000]") != NULL);
    CHECK(strstr(out, "\"timeout_ms\":5000") != NULL);
    CHECK(strstr(out, "\"max_in_flight\":4") != NULL);
    CHECK(strstr(out, "\"rate_limit\":10") != NULL);
    CHECK(strstr(out, "\"disable_after\":3") != NULL);
    CHECK(strstr(out, "\"headers\":{\"X-Team\":\"billing\"}") != NULL);
    CHECK(strstr(out, "\"filters\":[\"order.*\"]") != NULL);
    CHECK(strstr(out, "\"secret\"") == NULL); /* shown once only */
    snprintf(args, sizeof args, "webhooks get %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "url:") && strstr(out, "http://127.0.0.1:9/hook"));
    CHECK(strstr(out, "whsec_") == NULL);

    snprintf(args, sizeof args, "webhooks update %s --name renamed --inactive --retry none",
             wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    snprintf(args, sizeof args, "--json webhooks get %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"name\":\"renamed\"") != NULL);
    CHECK(strstr(out, "\"active\":false") != NULL);
    CHECK(strstr(out, "\"disabled_reason\":\"manual\"") != NULL);
    CHECK(strstr(out, "\"retry_schedule_ms\":[]") != NULL);
    CHECK(strstr(out, "\"rate_limit\":10") != NULL); /* kept */
    snprintf(args, sizeof args, "--json webhooks enable %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"active\":true") != NULL);
    snprintf(args, sizeof args, "--json webhooks disable %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"active\":false") != NULL);
    snprintf(args, sizeof args, "webhooks reset %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "active:          yes") != NULL);

    snprintf(args, sizeof args, "--json webhooks rotate-secret %s --overlap 1h", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    CHECK(strstr(out, "\"secret\":\"whsec_") != NULL);
    CHECK(strstr(out, "\"secrets\":[{\"expires_ms\":0},{\"expires_ms\":") != NULL);
    snprintf(args, sizeof args, "webhooks rotate-secret %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "whsec_") && strstr(out, "not be shown again"));
    CHECK(cli("webhooks list", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, wh_id) && strstr(out, "renamed"));
}

TEST(webhooks_test_stats_deliveries)
{
    char args[256];
    CHECK(cli("publish order.created '{\"id\": 7}'", NULL, out, sizeof out) == 0);
    snprintf(args, sizeof args, "webhooks test %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "test event seq") != NULL);
    snprintf(args, sizeof args, "--json webhooks test %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"id\":\"evt_"));
    snprintf(args, sizeof args, "--json webhooks stats %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    CHECK(strstr(out, "\"backlog\":3") != NULL);
    CHECK(strstr(out, "\"attempts\":0") != NULL);

    /* one failed attempt (this test plays the bridge), then the log */
    REQUIRE(bridge_fails_once(wh_id) == 0);
    snprintf(args, sizeof args, "webhooks deliveries %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "503") && strstr(out, "dead")); /* no retries left: dead */
    snprintf(args, sizeof args,
             "--json webhooks deliveries %s --status failed --http-status 503 "
             "--since 2020-01-01T00:00:00Z --limit 5", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    CHECK(strstr(out, "\"http_status\":503") != NULL);
    CHECK(strstr(out, "\"body\":\"try later\"") != NULL);
    char evt[64];
    CHECK(json_str_of(out, "event_id", evt, sizeof evt));
    snprintf(args, sizeof args, "--json webhooks deliveries %s --status succeeded", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"deliveries\":[]") != NULL);
    snprintf(args, sizeof args, "webhooks stats %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "attempts:        1") != NULL);

    /* the dead event: listed, retried, replayed */
    snprintf(args, sizeof args, "--json webhooks dead-letters %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"dead_letters\":[{"));
    snprintf(args, sizeof args, "webhooks retry %s %s", wh_id, evt);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    snprintf(args, sizeof args, "webhooks dead-letters %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "(no dead letters)") != NULL);
    snprintf(args, sizeof args, "--json webhooks replay %s --all", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "\"replayed\":0") != NULL);

    CHECK(cli("--json webhooks event-types", NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out));
    CHECK(strstr(out, "\"order.created\"") != NULL);
    CHECK(strstr(out, "\"_wh.") == NULL);
    CHECK(cli("webhooks event-types", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "order.created\n") != NULL);

    snprintf(args, sizeof args, "webhooks delete %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    snprintf(args, sizeof args, "webhooks get %s", wh_id);
    CHECK(cli(args, NULL, out, sizeof out) == 1);
}

TEST(webhooks_exit_codes)
{
    CHECK(cli("webhooks --help", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "rotate-secret") != NULL);
    CHECK(cli("webhooks", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks frob", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks create --url http://x", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks create --name a --url http://x --retry 5parsecs", NULL, out,
              sizeof out) == 2);
    CHECK(cli("webhooks create --name a --url http://x --header NoColon", NULL, out,
              sizeof out) == 2);
    CHECK(cli("webhooks create --name a --url http://x --timeout soon", NULL, out,
              sizeof out) == 2);
    CHECK(cli("webhooks get", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks get a b", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks update wh_0000000000000000", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks replay wh_0000000000000000", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks replay wh_0000000000000000 1 --all", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks retry wh_0000000000000000", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks deliveries wh_0000000000000000 --status maybe", NULL, out,
              sizeof out) == 2);
    CHECK(cli("webhooks deliveries wh_0000000000000000 --since yesterday", NULL, out,
              sizeof out) == 2);
    CHECK(cli("webhooks list --limit 0", NULL, out, sizeof out) == 2);
    CHECK(cli("webhooks get wh_0000000000000000", NULL, out, sizeof out) == 1);
    CHECK(cli("--json webhooks get wh_0000000000000000", NULL, out, sizeof out) == 1);
    CHECK(strstr(out, "\"not_found\"") != NULL && parses_as_json(out));
    CHECK(cli("webhooks dead-letters wh_0000000000000000", NULL, out, sizeof out) == 1);
    CHECK(cli("webhooks retry wh_0000000000000000 evt_00000000000000000000000000000001", NULL,
              out, sizeof out) == 1);
    CHECK(cli("webhooks create --name a --url ftp://x", NULL, out, sizeof out) == 1);
    CHECK(cli("--url tcp://127.0.0.1:1 webhooks list", NULL, out, sizeof out) == 3);
}

/* ---- API keys ----------------------------------------------------------------------------- */

/* The 64-byte token after "token:" in text output into tok; false when absent. */
static bool token_of(const char *text, char tok[65])
{
    const char *t = strstr(text, "slk_");
    if (!t || strlen(t) < 64)
        return false;
    memcpy(tok, t, 64);
    tok[64] = 0;
    return true;
}

/* "key_" + 16 hex after needle and any spaces (e.g. "\"id\":\"") into id. */
static bool id_after(const char *text, const char *needle, char id[21])
{
    const char *t = strstr(text, needle);
    if (!t)
        return false;
    t += strlen(needle);
    while (*t == ' ')
        t++;
    if (strlen(t) < 20 || strncmp(t, "key_", 4) != 0)
        return false;
    memcpy(id, t, 20);
    id[20] = 0;
    return true;
}

TEST(keys_create_list_revoke)
{
    char tok[65], id[21], args[256];
    CHECK(cli("keys create --name billing --scopes events:read,events:write "
              "--topics 'order.>,invoice.*' --rate 100",
              NULL, out, sizeof out) == 0);
    REQUIRE(token_of(out, tok));
    CHECK(strstr(out, "will not be shown again") != NULL);
    CHECK(strstr(out, "events:read") && strstr(out, "events:write"));
    CHECK(strstr(out, "order.>, invoice.*") != NULL);
    CHECK(strstr(out, "100 requests/minute") != NULL);
    REQUIRE(id_after(out, "id:", id));
    CHECK(memcmp(tok + 4, id + 4, 16) == 0);

    /* list and get show the key, never its secret */
    CHECK(cli("keys list", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, id) != NULL && strstr(out, "billing") != NULL);
    CHECK(strstr(out, "slk_") == NULL && strstr(out, tok + 21) == NULL);
    CHECK(cli("--json keys list", NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"keys\":[") && strstr(out, "\"next_after\":\"\""));
    CHECK(strstr(out, "slk_") == NULL && strstr(out, "token") == NULL);
    snprintf(args, sizeof args, "--json keys get %s", id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"rate_per_minute\":100") != NULL);
    CHECK(strstr(out, "\"topics\":[\"order.>\",\"invoice.*\"]") != NULL);
    CHECK(strstr(out, "slk_") == NULL);

    /* --json create: the token once, in the document */
    CHECK(cli("--json keys create --name ops --scopes '*'", NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"token\":\"slk_") != NULL);
    CHECK(strstr(out, "\"rate_per_minute\":1000") && strstr(out, "\"topics\":[]"));
    char id2[21];
    REQUIRE(id_after(out, "\"id\":\"", id2));

    /* revoke: gone from get and list */
    snprintf(args, sizeof args, "keys revoke %s", id);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "revoked") != NULL);
    snprintf(args, sizeof args, "keys get %s", id);
    CHECK(cli(args, NULL, out, sizeof out) == 1);
    snprintf(args, sizeof args, "keys revoke %s", id);
    CHECK(cli(args, NULL, out, sizeof out) == 1);
    CHECK(cli("keys list --limit 10", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, id) == NULL && strstr(out, id2) != NULL);
    snprintf(args, sizeof args, "--json keys revoke %s", id2);
    CHECK(cli(args, NULL, out, sizeof out) == 0);
    CHECK(parses_as_json(out) && strstr(out, "\"revoked\"") != NULL);
    CHECK(cli("keys list", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "(no API keys)") != NULL);
}

TEST(keys_exit_codes)
{
    CHECK(cli("keys --help", NULL, out, sizeof out) == 0);
    CHECK(strstr(out, "keys create") && strstr(out, "revoke"));
    CHECK(cli("help keys", NULL, out, sizeof out) == 0);
    CHECK(cli("keys", NULL, out, sizeof out) == 2);
    CHECK(cli("keys frob", NULL, out, sizeof out) == 2);
    CHECK(cli("keys create --scopes '*'", NULL, out, sizeof out) == 2);       /* no --name */
    CHECK(cli("keys create --name a", NULL, out, sizeof out) == 2);           /* no --scopes */
    CHECK(cli("keys create --name a --scopes 'a,,b'", NULL, out, sizeof out) == 2);
    CHECK(cli("keys create --name a --scopes '*' --topics ''", NULL, out, sizeof out) == 2);
    CHECK(cli("keys create --name a --scopes '*' --rate 0", NULL, out, sizeof out) == 2);
    CHECK(cli("keys create --name a --scopes '*' --rate lots", NULL, out, sizeof out) == 2);
    CHECK(cli("keys create --name a --scopes '*' --bogus", NULL, out, sizeof out) == 2);
    CHECK(cli("keys get", NULL, out, sizeof out) == 2);
    CHECK(cli("keys get a b", NULL, out, sizeof out) == 2);
    CHECK(cli("keys revoke", NULL, out, sizeof out) == 2);
    CHECK(cli("keys list --limit 0", NULL, out, sizeof out) == 2);
    CHECK(cli("keys list extra", NULL, out, sizeof out) == 2);
    /* the server's checks: exit 1 */
    CHECK(cli("keys create --name a --scopes events:everything", NULL, out, sizeof out) == 1);
    CHECK(cli("keys create --name a --scopes '*' --topics 'order..x'", NULL, out,
              sizeof out) == 1);
    CHECK(cli("keys get key_0000000000000000", NULL, out, sizeof out) == 1);
    CHECK(cli("--json keys get key_0000000000000000", NULL, out, sizeof out) == 1);
    CHECK(strstr(out, "\"not_found\"") != NULL && parses_as_json(out));
    CHECK(cli("keys get nonsense", NULL, out, sizeof out) == 1);
    CHECK(cli("--url tcp://127.0.0.1:1 keys list", NULL, out, sizeof out) == 3);
}

TEST(stop_daemon)
{
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("cli", UNIT_CASE(start_daemon), UNIT_CASE(groups_lifecycle),
          UNIT_CASE(publish_from_args_stdin_and_file), UNIT_CASE(pull_ack_and_dead_letters),
          UNIT_CASE(log_and_stats), UNIT_CASE(exit_codes), UNIT_CASE(webhooks_create_get_update),
          UNIT_CASE(webhooks_test_stats_deliveries), UNIT_CASE(webhooks_exit_codes),
          UNIT_CASE(keys_create_list_revoke), UNIT_CASE(keys_exit_codes),
          UNIT_CASE(stop_daemon))
