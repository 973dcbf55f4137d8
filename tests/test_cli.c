/* test_cli.c: the sluice CLI ($SLUICE_CLI) against a real sluiced: every
 * command family, stdin and file publishing, --json output, and the exit
 * codes (0 ok, 1 server error, 2 usage, 3 transport). */
#include <stdlib.h>
#include <sys/wait.h>

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

TEST(stop_daemon)
{
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("cli", UNIT_CASE(start_daemon), UNIT_CASE(groups_lifecycle),
          UNIT_CASE(publish_from_args_stdin_and_file), UNIT_CASE(pull_ack_and_dead_letters),
          UNIT_CASE(log_and_stats), UNIT_CASE(exit_codes), UNIT_CASE(stop_daemon))
