/* test_daemon_crash.c: kill -9 of the daemon during a publish load, then a
 * restart: every acknowledged event is in the log exactly once and is
 * delivered; leases held at the crash come back. Three crash rounds. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "daemon_client.h"
#include "unit.h"

#define PRODUCERS 3
#define MAX_ACKED 200000

/* What one producer had acknowledged: payload "p<producer>-<n>" -> seq. */
typedef struct producer {
    const char *url;
    int id;
    volatile int stop;
    size_t next;               /* next n to publish */
    size_t nacked;
    uint64_t *acked_seq;       /* indexed by n; 0 when not acknowledged */
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    sl_client *c = tc_open(p->url);
    if (!c)
        return NULL;
    enum { BATCH = 20 };
    char payloads[BATCH][32];
    sl_event_in evs[BATCH];
    while (!p->stop && p->next + BATCH < MAX_ACKED) {
        memset(evs, 0, sizeof evs);
        for (int i = 0; i < BATCH; i++) {
            snprintf(payloads[i], sizeof payloads[i], "p%d-%zu", p->id, p->next + (size_t)i);
            evs[i].topic = sl_slice_of("crash.test");
            evs[i].payload = sl_slice_of(payloads[i]);
        }
        sl_client_result res = {0};
        sl_client_status st = sl_client_publish(c, evs, BATCH, &res);
        if (st == SL_CLIENT_OK && res.publish.n == BATCH) {
            for (int i = 0; i < BATCH; i++)
                p->acked_seq[p->next + (size_t)i] = res.publish.results[i].seq;
            p->nacked += BATCH;
        }
        sl_client_result_free(&res);
        p->next += BATCH; /* unacknowledged batches are simply not counted */
        if (st == SL_CLIENT_ERR_TRANSPORT)
            break;
    }
    sl_client_close(c);
    return NULL;
}

/* Parse "p<id>-<n>". */
static int parse_payload(sl_slice s, int *id, size_t *n)
{
    char buf[32];
    if (s.len == 0 || s.len >= sizeof buf)
        return -1;
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
    return sscanf(buf, "p%d-%zu", id, n) == 2 ? 0 : -1;
}

/* Read the whole log; count each acknowledged (producer, n) found with the
 * right seq. Returns the number of events read, or -1. */
static long read_log(sl_client *c, producer *ps, uint32_t *found_count)
{
    uint64_t from = 1;
    long total = 0;
    for (int guard = 0; guard < 100000; guard++) {
        sl_client_result res = {0};
        if (sl_client_log_read(c, SL_CLIENT_LOG_SEQ, from, 1000, &res) != SL_CLIENT_OK) {
            sl_client_result_free(&res);
            return -1;
        }
        size_t n = res.log.n;
        for (size_t i = 0; i < n; i++) {
            int id;
            size_t k;
            const sl_client_event *ev = &res.log.events[i];
            if (parse_payload(ev->payload, &id, &k) == 0 && id >= 0 && id < PRODUCERS &&
                k < MAX_ACKED && ps[id].acked_seq[k] == ev->seq)
                found_count[(size_t)id * MAX_ACKED + k]++;
        }
        total += (long)n;
        from = res.log.next_seq;
        sl_client_result_free(&res);
        if (n == 0)
            break;
    }
    return total;
}

TEST(kill_9_during_publish_load_loses_nothing_acknowledged)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "audit", NULL, 400, 0) == 0);
    sl_client_close(c);

    producer ps[PRODUCERS];
    memset(ps, 0, sizeof ps);
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i].url = d.url;
        ps[i].id = i;
        ps[i].acked_seq = calloc(MAX_ACKED, sizeof(uint64_t));
        REQUIRE(ps[i].acked_seq);
    }
    /* Three rounds: load, kill -9 mid-load, restart. */
    for (int round = 0; round < 3; round++) {
        pthread_t th[PRODUCERS];
        for (int i = 0; i < PRODUCERS; i++) {
            ps[i].stop = 0;
            REQUIRE(pthread_create(&th[i], NULL, produce, &ps[i]) == 0);
        }
        test_sleep_ms(700 + 150 * (unsigned)round);
        test_daemon_kill(&d);
        for (int i = 0; i < PRODUCERS; i++) {
            ps[i].stop = 1;
            pthread_join(th[i], NULL);
        }
        REQUIRE(test_daemon_restart(&d, NULL) == 0);
    }
    size_t acked = 0;
    for (int i = 0; i < PRODUCERS; i++)
        acked += ps[i].nacked;
    CHECK(acked > 0);
    printf("  %zu events acknowledged across 3 kill -9 rounds\n", acked);

    c = tc_open(d.url);
    REQUIRE(c);
    uint32_t *found = calloc((size_t)PRODUCERS * MAX_ACKED, sizeof *found);
    REQUIRE(found);
    long total = read_log(c, ps, found);
    CHECK(total >= (long)acked);
    size_t missing = 0, doubled = 0;
    for (int i = 0; i < PRODUCERS; i++)
        for (size_t k = 0; k < MAX_ACKED; k++)
            if (ps[i].acked_seq[k]) {
                uint32_t f = found[(size_t)i * MAX_ACKED + k];
                missing += f == 0;
                doubled += f > 1;
            }
    CHECK_EQ_U64(missing, 0);
    CHECK_EQ_U64(doubled, 0);

    /* Every acknowledged event is delivered to a group reading from the start. */
    memset(found, 0, (size_t)PRODUCERS * MAX_ACKED * sizeof *found);
    size_t delivered = 0;
    for (int guard = 0; guard < 10000; guard++) {
        sl_client_result res = {0};
        REQUIRE(sl_client_pull(c, "audit", 1000, 0, &res) == SL_CLIENT_OK);
        size_t n = res.pull.n;
        sl_slice tokens[1000];
        for (size_t i = 0; i < n; i++) {
            int id;
            size_t k;
            const sl_client_delivery *dv = &res.pull.deliveries[i];
            tokens[i] = dv->token;
            if (parse_payload(dv->event.payload, &id, &k) == 0 && id >= 0 && id < PRODUCERS &&
                k < MAX_ACKED && ps[id].acked_seq[k] == dv->event.seq &&
                found[(size_t)id * MAX_ACKED + k]++ == 0)
                delivered++;
        }
        if (n) {
            sl_client_result ack = {0};
            CHECK(sl_client_ack(c, "audit", tokens, n, &ack) == SL_CLIENT_OK);
            sl_client_result_free(&ack);
        }
        sl_client_result_free(&res);
        if (n == 0)
            break;
    }
    CHECK_EQ_U64(delivered, acked);

    free(found);
    for (int i = 0; i < PRODUCERS; i++)
        free(ps[i].acked_seq);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

TEST(leases_held_at_a_crash_come_back)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "held", NULL, 500, 0) == 0);
    for (int i = 0; i < 5; i++)
        REQUIRE(tc_publish(c, "crash.lease", "x", NULL));
    sl_client_result res = {0};
    REQUIRE(sl_client_pull(c, "held", 5, 0, &res) == SL_CLIENT_OK);
    CHECK(res.pull.n == 5);
    sl_client_result_free(&res);
    sl_client_close(c);
    test_daemon_kill(&d);
    REQUIRE(test_daemon_restart(&d, NULL) == 0);
    c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(sl_client_group_get(c, "held", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.in_flight, 5);
    sl_client_result_free(&res);
    /* after the lease ends they are delivered again, attempt 2 */
    size_t got = 0;
    uint64_t deadline = test_mono_ms() + 5000;
    while (got < 5 && test_mono_ms() < deadline) {
        REQUIRE(sl_client_pull(c, "held", 5, 1000, &res) == SL_CLIENT_OK);
        for (size_t i = 0; i < res.pull.n; i++) {
            CHECK(res.pull.deliveries[i].attempt == 2);
            got++;
        }
        sl_client_result_free(&res);
    }
    CHECK(got == 5);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* 1 when the file at path holds needle. */
static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Settle tokens [from, from + n) of the pull in res the way kind says. */
static int settle(sl_client *c, const sl_client_result *pull, size_t from, size_t n, char kind)
{
    sl_slice toks[16];
    for (size_t i = 0; i < n; i++)
        toks[i] = pull->pull.deliveries[from + i].token;
    sl_client_result r = {0};
    sl_client_status st = kind == 'a'   ? sl_client_ack(c, "j", toks, n, &r)
                          : kind == 'n' ? sl_client_nack(c, "j", toks, n, 0, "again", &r)
                                        : sl_client_term(c, "j", toks, n, "bad", &r);
    sl_client_result_free(&r);
    return st == SL_CLIENT_OK ? 0 : -1;
}

/* The changes of the last moments before a kill -9 are only in the journal
 * (the daemon checkpoints after 100 ms of quiet): the restart replays them. */
TEST(settles_just_before_a_crash_hold)
{
    test_daemon d;
    REQUIRE(test_daemon_start(&d, NULL, NULL) == 0);
    sl_client *c = tc_open(d.url);
    REQUIRE(c);
    REQUIRE(tc_group(c, "j", NULL, 30000, 0) == 0);
    for (int i = 0; i < 10; i++)
        REQUIRE(tc_publish(c, "crash.journal", "x", NULL));
    sl_client_result pull = {0};
    REQUIRE(sl_client_pull(c, "j", 10, 0, &pull) == SL_CLIENT_OK);
    REQUIRE(pull.pull.n == 10);
    /* 6 acked, 2 nacked (due at once), 1 dead-lettered, 1 left leased */
    CHECK(settle(c, &pull, 0, 6, 'a') == 0);
    CHECK(settle(c, &pull, 6, 2, 'n') == 0);
    CHECK(settle(c, &pull, 8, 1, 't') == 0);
    sl_client_result_free(&pull);
    sl_client_close(c);
    test_daemon_kill(&d);
    REQUIRE(test_daemon_restart(&d, NULL) == 0);
    /* (a loaded host may have let the idle checkpoint in before the kill) */
    if (!file_has(d.log_path, "journal: replayed"))
        printf("  (the restart found nothing to replay: checkpointed before the kill)\n");
    c = tc_open(d.url);
    REQUIRE(c);
    sl_client_result res = {0};
    REQUIRE(sl_client_group_get(c, "j", &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.group.acked, 6);
    CHECK_EQ_U64(res.group.in_flight, 1);
    CHECK_EQ_U64(res.group.waiting, 2);
    CHECK_EQ_U64(res.group.dlq_size, 1);
    CHECK_EQ_U64(res.group.lag, 0);
    sl_client_result_free(&res);
    REQUIRE(sl_client_pull(c, "j", 10, 0, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.pull.n, 2); /* the nacked two, again */
    for (size_t i = 0; i < res.pull.n; i++)
        CHECK_EQ_U64(res.pull.deliveries[i].attempt, 2);
    sl_client_result_free(&res);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("crash", UNIT_CASE(kill_9_during_publish_load_loses_nothing_acknowledged),
          UNIT_CASE(leases_held_at_a_crash_come_back),
          UNIT_CASE(settles_just_before_a_crash_hold))
