/* test_daemon_storage.c: running out of room. At the disk quota publishes
 * fail with "storage_full" while pulls and acks keep working; on a disk that
 * is really full (a small tmpfs) the same, and the daemon stays up with
 * every acknowledged event intact. */
#include <stdlib.h>

#include "daemon_client.h"
#include "unit.h"

#define CHUNK (48 * 1024)

/* Publish batches of 8 events of CHUNK bytes until a publish fails (at most
 * max_batches). Returns the number of events acknowledged; *code gets the
 * failing error code ("" if none failed). */
static size_t fill(sl_client *c, size_t max_batches, char *code, size_t cap)
{
    static char payload[CHUNK];
    memset(payload, 'z', sizeof payload);
    sl_event_in evs[8];
    memset(evs, 0, sizeof evs);
    for (int i = 0; i < 8; i++) {
        evs[i].topic = sl_slice_of("fill.up");
        evs[i].payload = (sl_slice){payload, sizeof payload};
    }
    size_t acked = 0;
    code[0] = 0;
    for (size_t b = 0; b < max_batches; b++) {
        sl_client_result res = {0};
        sl_client_status st = sl_client_publish(c, evs, 8, &res);
        if (st != SL_CLIENT_OK) {
            snprintf(code, cap, "%s", res.error.code);
            fprintf(stderr, "  publish refused after %zu events: %s: %s\n", acked,
                    res.error.code, res.error.message);
            sl_client_result_free(&res);
            break;
        }
        acked += res.publish.n;
        sl_client_result_free(&res);
    }
    return acked;
}

/* Pull and ack everything there is; returns how many were acked. */
static size_t drain(sl_client *c, const char *group)
{
    size_t acked = 0;
    for (int guard = 0; guard < 1000; guard++) {
        sl_client_result res = {0};
        if (sl_client_pull(c, group, 50, 0, &res) != SL_CLIENT_OK) {
            fprintf(stderr, "  pull failed: %s: %s\n", res.error.code, res.error.message);
            sl_client_result_free(&res);
            break;
        }
        size_t n = res.pull.n;
        sl_slice tokens[50];
        for (size_t i = 0; i < n; i++)
            tokens[i] = res.pull.deliveries[i].token;
        sl_client_result ack = {0};
        if (n && sl_client_ack(c, group, tokens, n, &ack) == SL_CLIENT_OK)
            for (size_t i = 0; i < ack.settle.n; i++)
                acked += ack.settle.status[i] == SL_TOKEN_OK;
        sl_client_result_free(&ack);
        sl_client_result_free(&res);
        if (n == 0)
            break;
    }
    return acked;
}

TEST(quota_refuses_publishes_but_consumers_go_on)
{
    test_daemon d;
    const char *extra[] = {"--quota", "4MiB", "--map-initial", "1MiB", NULL};
    REQUIRE(test_daemon_start(&d, NULL, extra) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "eat", NULL, 0, 0) == 0);
    char code[64];
    size_t acked = fill(c, 200, code, sizeof code);
    CHECK(acked > 0);
    CHECK(strcmp(code, "storage_full") == 0);
    /* consumers keep working at the quota */
    CHECK_EQ_U64(drain(c, "eat"), acked);
    /* and the daemon is up, answering */
    sl_client_result res = {0};
    CHECK(sl_client_stats_get(c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, acked);
    sl_client_result_free(&res);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* Fill a private tmpfs of size (extra: more daemon flags) until publishes
 * fail; check the failure is "storage_full" and that everything acknowledged
 * is there. (The tmpfs lives in the daemon's own mount namespace, so a
 * restart would not find it: crashes are test_daemon_crash.c's.) */
static void full_disk(int *unit_failed_, const char *size, const char *const *extra)
{
    test_daemon d;
    int rc = test_daemon_start_tmpfs(&d, size, extra);
    if (rc == 1) {
        printf("  (skipped: no user namespaces for a private tmpfs here)\n");
        return;
    }
    REQUIRE(rc == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "disk", NULL, 0, 0) == 0);
    char code[64];
    size_t acked = fill(c, 200, code, sizeof code);
    CHECK(acked > 0);
    CHECK(strcmp(code, "storage_full") == 0);
    CHECK(test_daemon_alive(&d));
    /* everything acknowledged is still readable and deliverable */
    sl_client_result res = {0};
    REQUIRE(sl_client_stats_get(c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.stats.events, acked);
    sl_client_result_free(&res);
    size_t got = 0;
    for (int guard = 0; guard < 1000; guard++) {
        REQUIRE(sl_client_log_read(c, SL_CLIENT_LOG_SEQ, got + 1, 100, &res) == SL_CLIENT_OK);
        size_t n = res.log.n;
        for (size_t i = 0; i < n; i++)
            CHECK(res.log.events[i].payload.len == CHUNK);
        got += n;
        sl_client_result_free(&res);
        if (n == 0)
            break;
    }
    CHECK_EQ_U64(got, acked);
    /* a second attempt fails the same clear way, the daemon still serves */
    size_t more = fill(c, 4, code, sizeof code);
    CHECK(more == 0 && strcmp(code, "storage_full") == 0);
    CHECK(sl_client_ping(c, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* Too small for the journal: the daemon runs without it. */
TEST(full_disk_gives_storage_full_and_loses_nothing)
{
    full_disk(unit_failed_, "3m", NULL);
}

/* Room for a small journal: batches are journaled until the room for a
 * checkpoint cannot be reserved any more. */
TEST(full_disk_with_the_journal_loses_nothing)
{
    const char *extra[] = {"--journal-size", "2MiB", NULL};
    full_disk(unit_failed_, "24m", extra);
}

UNIT_MAIN("storage", UNIT_CASE(quota_refuses_publishes_but_consumers_go_on),
          UNIT_CASE(full_disk_gives_storage_full_and_loses_nothing),
          UNIT_CASE(full_disk_with_the_journal_loses_nothing))
