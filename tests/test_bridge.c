/* test_bridge.c: webhook delivery end to end: the real sluiced, the real
 * sluice-bridge process and a real HTTP receiver (webhook_receiver.h), all
 * on loopback, with compressed retry schedules. Every wait is bounded. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daemon_client.h"
#include "proto/client_webhook.h"
#include "support.h"
#include "unit.h"
#include "webhook_receiver.h"

#define WAIT_MS 8000

/* The daemon, the bridge and the receiver of one test. */
typedef struct fixture {
    test_daemon d;
    pid_t bridge;
    char bridge_log[TEST_URL_MAX + 64];
    whr_server *rx;
    sl_client *c;
    int bridge_starts;  /* "delivering" lines seen in the bridge log */
} fixture;

/* Wait until the bridge (started last) says it is delivering: from then on
 * it handles SIGTERM. Counts the lines so a restarted bridge is seen too. */
static int wait_bridge_ready(fixture *f)
{
    uint64_t deadline = test_mono_ms() + 10000;
    while (test_mono_ms() < deadline && test_proc_alive(&f->bridge)) {
        FILE *log = fopen(f->bridge_log, "r");
        char line[512];
        int ready = 0;
        while (log && fgets(line, sizeof line, log))
            ready += strstr(line, "delivering webhooks") != NULL;
        if (log)
            fclose(log);
        if (ready > f->bridge_starts) {
            f->bridge_starts = ready;
            return 0;
        }
        test_sleep_ms(10);
    }
    fprintf(stderr, "  sluice-bridge did not start; its log is %s\n", f->bridge_log);
    return -1;
}

static int bridge_start(fixture *f, bool allow_private)
{
    const char *bin = getenv("SLUICE_BRIDGE");
    if (!bin) {
        fprintf(stderr, "  SLUICE_BRIDGE is not set (run with `scons test`)\n");
        return -1;
    }
    const char *argv[] = {bin, "--connect", f->d.url, "--refresh-ms", "100", "--idle-poll-ms",
                          "20", "--drain-ms", "2000", "--verbose",
                          allow_private ? "--allow-private-targets" : NULL, NULL};
    if (test_proc_spawn(&f->bridge, bin, argv, f->bridge_log) != 0)
        return -1;
    return wait_bridge_ready(f);
}

static int fx_start(fixture *f, bool allow_private)
{
    memset(f, 0, sizeof *f);
    if (test_daemon_start(&f->d, NULL, NULL) != 0)
        return -1;
    snprintf(f->bridge_log, sizeof f->bridge_log, "%s/bridge.log", f->d.dir);
    if (whr_start(&f->rx) != 0 || !(f->c = tc_open(f->d.url)))
        return -1;
    return bridge_start(f, allow_private);
}

/* Stop everything; -1 when the bridge did not exit cleanly or a sanitizer spoke. */
static int fx_stop(fixture *f)
{
    int rc = 0;
    if (f->bridge > 0 && test_proc_stop(&f->bridge, 10000) != 0) {
        fprintf(stderr, "  sluice-bridge did not exit cleanly on SIGTERM\n");
        rc = -1;
    }
    if (test_log_has_sanitizer_report(f->bridge_log)) {
        fprintf(stderr, "  sanitizer report in %s\n", f->bridge_log);
        rc = -1;
    }
    if (rc != 0) {
        char cmd[TEST_URL_MAX + 96];
        snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", f->bridge_log);
        if (system(cmd) != 0)
            fprintf(stderr, "  (cannot show the bridge log)\n");
    }
    sl_client_close(f->c);
    if (f->rx)
        whr_stop(f->rx);
    if (test_daemon_cleanup(&f->d) != 0)
        rc = -1;
    return rc;
}

/* A subscription to path of the receiver. */
typedef struct hook {
    char id[SL_WEBHOOK_ID_LEN + 1];
    char group[SL_GROUP_NAME_MAX + 1];
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
} hook;

typedef struct hook_spec {
    const char *path;
    const char *filter;         /* NULL: ">" */
    const uint64_t *retry_ms;   /* nretry entries */
    uint32_t nretry;
    uint64_t timeout_ms;        /* 0: 2000 */
    uint32_t disable_after;
    uint32_t max_in_flight;     /* 0: default */
} hook_spec;

static void copy_slice(char *out, size_t cap, sl_slice s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

static int hook_create(fixture *f, const hook_spec *spec, hook *h)
{
    char url[256];
    whr_url(f->rx, spec->path, url, sizeof url);
    sl_webhook_config cfg;
    sl_webhook_config_default(&cfg);
    cfg.name = sl_slice_of(spec->path);
    cfg.url = sl_slice_of(url);
    cfg.nfilters = 1;
    cfg.filters[0] = sl_slice_of(spec->filter ? spec->filter : ">");
    cfg.nretry = spec->nretry;
    for (uint32_t i = 0; i < spec->nretry; i++)
        cfg.retry_ms[i] = spec->retry_ms[i];
    cfg.timeout_ms = spec->timeout_ms ? spec->timeout_ms : 2000;
    cfg.disable_after = spec->disable_after;
    unsigned mask = SL_WEBHOOK_GIVEN_FILTERS | SL_WEBHOOK_GIVEN_RETRY | SL_WEBHOOK_GIVEN_TIMEOUT |
                    SL_WEBHOOK_GIVEN_DISABLE_AFTER;
    if (spec->max_in_flight) {
        cfg.max_in_flight = spec->max_in_flight;
        mask |= SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT;
    }
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_webhook_create(f->c, &cfg, mask, &res) == SL_CLIENT_OK) {
        copy_slice(h->id, sizeof h->id, res.webhook.webhook.id);
        copy_slice(h->group, sizeof h->group, res.webhook.webhook.group);
        copy_slice(h->secret, sizeof h->secret, res.webhook.secret);
        const char *secrets[] = {h->secret};
        rc = whr_set_secrets(f->rx, spec->path, secrets, 1);
    } else {
        fprintf(stderr, "  webhook.create: %s: %s\n", res.error.code, res.error.message);
    }
    sl_client_result_free(&res);
    return rc;
}

/* The subscription's current state. */
static int hook_get(fixture *f, const hook *h, bool *active, char *reason, size_t cap)
{
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_webhook_get(f->c, h->id, &res) == SL_CLIENT_OK) {
        *active = res.webhook.webhook.active;
        copy_slice(reason, cap, res.webhook.webhook.disabled_reason);
        rc = 0;
    }
    sl_client_result_free(&res);
    return rc;
}

/* Wait until the subscription's active flag is want. */
static bool wait_active(fixture *f, const hook *h, bool want, char *reason, size_t cap)
{
    uint64_t deadline = test_mono_ms() + WAIT_MS;
    bool active = !want;
    while (test_mono_ms() < deadline) {
        if (hook_get(f, h, &active, reason, cap) == 0 && active == want)
            return true;
        test_sleep_ms(20);
    }
    return false;
}

static int stats_of(fixture *f, const hook *h, sl_client_webhook_stats *out)
{
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_webhook_stats_get(f->c, h->id, &res) == SL_CLIENT_OK) {
        *out = res.webhook_stats;
        rc = 0;
    }
    sl_client_result_free(&res);
    return rc;
}

/* Wait until the stats say n successes (reports land after the POSTs). */
static bool wait_successes(fixture *f, const hook *h, uint64_t n)
{
    uint64_t deadline = test_mono_ms() + WAIT_MS;
    sl_client_webhook_stats s;
    while (test_mono_ms() < deadline) {
        if (stats_of(f, h, &s) == 0 && s.successes >= n)
            return true;
        test_sleep_ms(20);
    }
    return false;
}

static uint64_t publish_json(fixture *f, const char *topic, const char *json)
{
    sl_event_in ev = {0};
    ev.topic = sl_slice_of(topic);
    ev.payload = sl_slice_of(json);
    ev.content_type = sl_slice_of("application/json");
    sl_client_result res = {0};
    uint64_t seq = 0;
    if (sl_client_publish(f->c, &ev, 1, &res) == SL_CLIENT_OK)
        seq = res.publish.results[0].seq;
    sl_client_result_free(&res);
    return seq;
}

static void set_status(fixture *f, const char *path, unsigned status)
{
    whr_behaviour b = {.status = status};
    whr_set_default(f->rx, path, &b);
}

/* Lines of the bridge's log holding needle. */
static int log_count(const fixture *f, const char *needle)
{
    FILE *log = fopen(f->bridge_log, "r");
    char line[1024];
    int n = 0;
    while (log && fgets(line, sizeof line, log))
        n += strstr(line, needle) != NULL;
    if (log)
        fclose(log);
    return n;
}

/* Wait until the bridge's log holds needle. */
static bool wait_log(const fixture *f, const char *needle, unsigned timeout_ms)
{
    uint64_t deadline = test_mono_ms() + timeout_ms;
    while (test_mono_ms() < deadline) {
        if (log_count(f, needle) > 0)
            return true;
        test_sleep_ms(20);
    }
    return false;
}

/* CPU time (user + system) the bridge used so far, in clock ticks. */
static long bridge_cpu_ticks(const fixture *f)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)f->bridge);
    FILE *st = fopen(path, "r");
    if (!st)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, st);
    fclose(st);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2)
        return -1;
    return (long)(utime + stime);
}

/* Publish one JSON event; its id into id (cap bytes). */
static int publish_id(fixture *f, const char *topic, char *id, size_t cap)
{
    sl_event_in ev = {.topic = sl_slice_of(topic), .payload = sl_slice_of("{}")};
    sl_client_result res = {0};
    int rc = -1;
    if (sl_client_publish(f->c, &ev, 1, &res) == SL_CLIENT_OK) {
        copy_slice(id, cap, res.publish.results[0].id);
        rc = 0;
    }
    sl_client_result_free(&res);
    return rc;
}

/* How many requests to path carried event id. */
static size_t seen_times(fixture *f, const char *path, const char *id)
{
    size_t n = whr_count(f->rx, path), times = 0;
    for (size_t j = 0; j < n; j++) {
        whr_request *r = whr_get(f->rx, path, j);
        times += r && strcmp(r->x_webhook_id, id) == 0;
        whr_request_free(r);
    }
    return times;
}

/* ---- tests ----------------------------------------------------------------------- */

TEST(test_delivery_is_signed_and_logged)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/ok"}, &h) == 0);
    REQUIRE(publish_json(&f, "order.created", "{\"order\": 1}") > 0);
    sl_event_in bin = {.topic = sl_slice_of("file.uploaded"), .payload = {"\x00\x01\xff", 3},
                       .content_type = sl_slice_of("application/x-thing")};
    sl_client_result res = {0};
    REQUIRE(sl_client_publish(f.c, &bin, 1, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(whr_wait(f.rx, "/ok", 2, WAIT_MS));
    for (size_t i = 0; i < 2; i++) {
        whr_request *r = whr_get(f.rx, "/ok", i);
        REQUIRE(r != NULL);
        CHECK(strcmp(r->method, "POST") == 0);
        CHECK(r->seed_ok == 1 && r->v1_ok == 1); /* both schemes verify */
        CHECK(strncmp(r->x_webhook_id, "evt_", 4) == 0);
        CHECK(strcmp(r->x_webhook_id, r->webhook_id) == 0);
        CHECK(strcmp(r->x_webhook_attempt, "1") == 0);
        CHECK(strncmp(r->user_agent, "sluice-webhooks/", 16) == 0);
        CHECK(strcmp(r->content_type, "application/json") == 0);
        CHECK(strstr(r->body, "\"created_at\":\"") != NULL);
        if (strcmp(r->x_webhook_event, "order.created") == 0) {
            CHECK(strstr(r->body, "\"data\":{\"order\": 1}") != NULL);
        } else {
            CHECK(strcmp(r->x_webhook_event, "file.uploaded") == 0);
            CHECK(strstr(r->body, "\"base64\":\"AAH/\"") != NULL);
            CHECK(strstr(r->body, "\"content_type\":\"application/x-thing\"") != NULL);
        }
        whr_request_free(r);
    }
    REQUIRE(wait_successes(&f, &h, 2));
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.attempts, 2);
    CHECK_EQ_U64(s.failures, 0);
    CHECK_EQ_U64(s.last_status, 200);
    CHECK_EQ_U64(s.backlog, 0);
    CHECK(s.latency_p50_us > 0);
    REQUIRE(sl_client_webhook_deliveries(f.c, h.id, NULL, 0, 0, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook_deliveries.n, 2);
    for (size_t i = 0; i < res.webhook_deliveries.n; i++) {
        CHECK_EQ_U64(res.webhook_deliveries.entries[i].http_status, 200);
        CHECK(res.webhook_deliveries.entries[i].result == SL_ATTEMPT_DELIVERED);
    }
    sl_client_result_free(&res);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_retries_follow_the_schedule_then_dlq_and_replay)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    const uint64_t retry[] = {300, 600};
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/fail", .retry_ms = retry, .nretry = 2}, &h) ==
            0);
    set_status(&f, "/fail", 500);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/fail", 3, WAIT_MS));
    whr_request *r[3];
    for (size_t i = 0; i < 3; i++)
        r[i] = whr_get(f.rx, "/fail", i);
    REQUIRE(r[0] && r[1] && r[2]);
    CHECK(strcmp(r[0]->x_webhook_attempt, "1") == 0);
    CHECK(strcmp(r[1]->x_webhook_attempt, "2") == 0);
    CHECK(strcmp(r[2]->x_webhook_attempt, "3") == 0);
    CHECK(strcmp(r[0]->x_webhook_id, r[2]->x_webhook_id) == 0); /* same id every attempt */
    uint64_t gap1 = r[1]->arrival_ms - r[0]->arrival_ms, gap2 = r[2]->arrival_ms - r[1]->arrival_ms;
    CHECK(gap1 >= 270 && gap1 < 2000); /* 300 ms +-10%, plus polling */
    CHECK(gap2 >= 540 && gap2 < 2500); /* 600 ms +-10% */
    char event_id[WHR_VALUE_MAX];
    memcpy(event_id, r[0]->x_webhook_id, sizeof event_id);
    for (size_t i = 0; i < 3; i++)
        whr_request_free(r[i]);
    /* the schedule is spent: a dead letter */
    sl_client_result res = {0};
    uint64_t deadline = test_mono_ms() + WAIT_MS;
    size_t dead = 0;
    while (dead == 0 && test_mono_ms() < deadline) {
        sl_client_result_free(&res);
        if (sl_client_dlq_list(f.c, h.group, 0, 0, &res) == SL_CLIENT_OK)
            dead = res.dlq_list.n;
        test_sleep_ms(20);
    }
    CHECK_EQ_U64(dead, 1);
    sl_client_result_free(&res);
    test_sleep_ms(700);
    CHECK_EQ_U64(whr_count(f.rx, "/fail"), 3); /* no fourth attempt */
    /* failed attempts are in the log, filtered */
    sl_client_deliveries_filter failed = {.status = SL_DELIVERY_FAILED};
    REQUIRE(sl_client_webhook_deliveries(f.c, h.id, &failed, 0, 0, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook_deliveries.n, 3);
    if (res.webhook_deliveries.n == 3) {
        CHECK_EQ_U64(res.webhook_deliveries.entries[0].attempt, 3); /* newest first */
        CHECK(res.webhook_deliveries.entries[0].result == SL_ATTEMPT_DEAD);
        CHECK(res.webhook_deliveries.entries[2].result == SL_ATTEMPT_RETRY);
    }
    sl_client_result_free(&res);
    /* the endpoint recovers; retry that one event */
    set_status(&f, "/fail", 200);
    REQUIRE(sl_client_webhook_retry(f.c, h.id, event_id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(whr_wait(f.rx, "/fail", 4, WAIT_MS));
    whr_request *last = whr_get(f.rx, "/fail", 3);
    REQUIRE(last != NULL);
    CHECK(strcmp(last->x_webhook_id, event_id) == 0);
    whr_request_free(last);
    CHECK(wait_successes(&f, &h, 1));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_auto_disable_after_consecutive_dead_events_and_reset)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/dead", .nretry = 0, .disable_after = 2}, &h) ==
            0);
    set_status(&f, "/dead", 503);
    for (int i = 0; i < 3; i++)
        REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    char reason[32];
    REQUIRE(wait_active(&f, &h, false, reason, sizeof reason));
    CHECK(strcmp(reason, "failing") == 0);
    test_sleep_ms(400);
    size_t seen = whr_count(f.rx, "/dead");
    CHECK(seen >= 2 && seen <= 3); /* a third may have been in flight when it tipped */
    /* reset resumes from where delivery stopped */
    set_status(&f, "/dead", 200);
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_reset(f.c, h.id, &res) == SL_CLIENT_OK);
    CHECK(res.webhook.webhook.active);
    CHECK_EQ_U64(res.webhook.webhook.consecutive_failures, 0);
    sl_client_result_free(&res);
    if (seen == 2)
        CHECK(wait_successes(&f, &h, 1));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_gone_disables_at_once_and_enable_resumes)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    const uint64_t retry[] = {100};
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/gone", .retry_ms = retry, .nretry = 1}, &h) ==
            0);
    set_status(&f, "/gone", 410);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    char reason[32];
    REQUIRE(wait_active(&f, &h, false, reason, sizeof reason));
    CHECK(strcmp(reason, "gone") == 0);
    test_sleep_ms(300);
    CHECK_EQ_U64(whr_count(f.rx, "/gone"), 1);
    set_status(&f, "/gone", 204);
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_enable(f.c, h.id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(whr_wait(f.rx, "/gone", 2, WAIT_MS)); /* the event waited */
    CHECK(wait_successes(&f, &h, 1));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_retry_after_is_honoured)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    const uint64_t retry[] = {50};
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/busy", .retry_ms = retry, .nretry = 1}, &h) ==
            0);
    whr_behaviour busy = {.status = 429, .retry_after = "1"};
    REQUIRE(whr_push(f.rx, "/busy", &busy) == 0);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/busy", 2, WAIT_MS));
    whr_request *a = whr_get(f.rx, "/busy", 0), *b = whr_get(f.rx, "/busy", 1);
    REQUIRE(a && b);
    CHECK(b->arrival_ms - a->arrival_ms >= 950); /* not the schedule's 50 ms */
    CHECK(strcmp(b->x_webhook_attempt, "2") == 0);
    whr_request_free(a);
    whr_request_free(b);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_rotate_secret_signs_with_both_during_the_overlap)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/rot"}, &h) == 0);
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_rotate_secret(f.c, h.id, 1500, &res) == SL_CLIENT_OK);
    char fresh[SL_WEBHOOK_SECRET_LEN + 1];
    copy_slice(fresh, sizeof fresh, res.webhook.secret);
    CHECK(strcmp(fresh, h.secret) != 0);
    CHECK_EQ_U64(res.webhook.webhook.nsecrets, 2);
    sl_client_result_free(&res);
    const char *both[] = {h.secret, fresh};
    REQUIRE(whr_set_secrets(f.rx, "/rot", both, 2) == 0);
    uint64_t rotated = test_mono_ms();
    test_sleep_ms(300); /* the bridge refreshes its targets every 100 ms */
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/rot", 1, WAIT_MS));
    whr_request *r = whr_get(f.rx, "/rot", 0);
    REQUIRE(r != NULL);
    CHECK(r->seed_ok == 3 && r->v1_ok == 3); /* old and new */
    CHECK(strchr(r->webhook_signature, ' ') != NULL);
    whr_request_free(r);
    while (test_mono_ms() < rotated + 1500 + 400)
        test_sleep_ms(50);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/rot", 2, WAIT_MS));
    r = whr_get(f.rx, "/rot", 1);
    REQUIRE(r != NULL);
    CHECK(r->seed_ok == 2 && r->v1_ok == 2); /* only the new one */
    whr_request_free(r);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_slow_endpoint_does_not_delay_a_healthy_one)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook slow, fast;
    REQUIRE(hook_create(&f,
                        &(hook_spec){.path = "/slow", .filter = "slow.>", .timeout_ms = 5000,
                                     .max_in_flight = 2},
                        &slow) == 0);
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/fast", .filter = "fast.>"}, &fast) == 0);
    whr_behaviour stall = {.stall_ms = 3000};
    whr_set_default(f.rx, "/slow", &stall);
    for (int i = 0; i < 6; i++)
        REQUIRE(publish_json(&f, "slow.thing", "{}") > 0);
    test_sleep_ms(200); /* the slow POSTs are in flight */
    uint64_t start = test_mono_ms();
    for (int i = 0; i < 20; i++)
        REQUIRE(publish_json(&f, "fast.thing", "{}") > 0);
    CHECK(whr_wait(f.rx, "/fast", 20, 2500));
    CHECK(test_mono_ms() - start < 2500); /* well before the stalled answers */
    CHECK(whr_count(f.rx, "/slow") <= 2);  /* its own in-flight limit */
    CHECK(fx_stop(&f) == 0);
}

TEST(test_killed_bridge_loses_nothing)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    /* timeout 1 s: leases last 2 x 1 s + 1 s; no retries: a bridge's crash
     * must not use up the schedule of an event it never finished */
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/k", .timeout_ms = 1000}, &h) == 0);
    whr_behaviour stall = {.stall_ms = 600};
    whr_set_default(f.rx, "/k", &stall);
    char ids[5][64];
    sl_client_result res = {0};
    for (int i = 0; i < 5; i++) {
        sl_event_in ev = {.topic = sl_slice_of("order.created"), .payload = sl_slice_of("{}")};
        REQUIRE(sl_client_publish(f.c, &ev, 1, &res) == SL_CLIENT_OK);
        copy_slice(ids[i], sizeof ids[i], res.publish.results[0].id);
        sl_client_result_free(&res);
    }
    REQUIRE(whr_wait(f.rx, "/k", 1, WAIT_MS)); /* POSTs are in flight */
    test_proc_kill(&f.bridge);                /* kill -9 mid-delivery */
    set_status(&f, "/k", 200);
    REQUIRE(bridge_start(&f, true) == 0);
    REQUIRE(wait_successes(&f, &h, 5));
    /* every event arrived (some twice, with the same id) */
    size_t n = whr_count(f.rx, "/k");
    for (int i = 0; i < 5; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++) {
            whr_request *r = whr_get(f.rx, "/k", j);
            seen = r && strcmp(r->x_webhook_id, ids[i]) == 0;
            whr_request_free(r);
        }
        CHECK(seen);
    }
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.backlog, 0);
    CHECK_EQ_U64(s.dlq_size, 0);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_private_targets_are_refused_by_default)
{
    fixture f;
    REQUIRE(fx_start(&f, false) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/private", .nretry = 0}, &h) == 0);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    sl_client_deliveries_filter failed = {.status = SL_DELIVERY_FAILED};
    sl_client_result res = {0};
    uint64_t deadline = test_mono_ms() + WAIT_MS;
    size_t n = 0;
    while (n == 0 && test_mono_ms() < deadline) {
        sl_client_result_free(&res);
        if (sl_client_webhook_deliveries(f.c, h.id, &failed, 0, 0, &res) == SL_CLIENT_OK)
            n = res.webhook_deliveries.n;
        test_sleep_ms(20);
    }
    REQUIRE(n == 1);
    CHECK(sl_slice_eq_cstr(res.webhook_deliveries.entries[0].error, "refused_target"));
    CHECK_EQ_U64(res.webhook_deliveries.entries[0].http_status, 0);
    sl_client_result_free(&res);
    CHECK_EQ_U64(whr_count(f.rx, "/private"), 0);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_webhook_test_event_reaches_that_endpoint_only)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook a, b;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/a"}, &a) == 0);
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/b"}, &b) == 0);
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_test(f.c, a.id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    REQUIRE(whr_wait(f.rx, "/a", 1, WAIT_MS));
    whr_request *r = whr_get(f.rx, "/a", 0);
    REQUIRE(r != NULL);
    CHECK(strcmp(r->x_webhook_event, "webhook.test") == 0);
    CHECK(strstr(r->body, "\"type\":\"webhook.test\"") != NULL);
    whr_request_free(r);
    test_sleep_ms(300);
    CHECK_EQ_U64(whr_count(f.rx, "/b"), 0);
    REQUIRE(sl_client_webhook_event_types(f.c, &res) == SL_CLIENT_OK);
    CHECK_EQ_U64(res.event_types.n, 0); /* the test topic is reserved */
    sl_client_result_free(&res);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_bad_webhook_requests_get_clear_errors)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    sl_webhook_config cfg;
    sl_webhook_config_default(&cfg);
    cfg.name = sl_slice_of("x");
    const char *bad_urls[] = {"ftp://example.com/", "http://", "http://exa mple.com/",
                              "example.com/hook", "javascript:alert(1)"};
    sl_client_result res = {0};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        cfg.url = sl_slice_of(bad_urls[i]);
        CHECK(sl_client_webhook_create(f.c, &cfg, 0, &res) == SL_CLIENT_ERR_SERVER);
        CHECK(strcmp(res.error.code, "invalid_argument") == 0);
        CHECK(strcmp(res.error.field, "url") == 0);
        sl_client_result_free(&res);
    }
    cfg.url = sl_slice_of("https://example.com/hook");
    cfg.nheaders = 1;
    cfg.headers[0].key = sl_slice_of("X-Webhook-Signature");
    cfg.headers[0].value = sl_slice_of("forged");
    CHECK(sl_client_webhook_create(f.c, &cfg, SL_WEBHOOK_GIVEN_HEADERS, &res) ==
          SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.field, "headers") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_get(f.c, "wh_0000000000000001", &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "not_found") == 0);
    sl_client_result_free(&res);
    CHECK(sl_client_webhook_get(f.c, "nope", &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
    /* reserved names */
    CHECK(tc_publish(f.c, "_wh.wh_0000000000000001", "{}", NULL) == 0);
    sl_group_config g;
    sl_group_config_default(&g);
    snprintf(g.name, sizeof g.name, "_mine");
    CHECK(sl_client_group_create(f.c, &g, 0, &res) == SL_CLIENT_ERR_SERVER);
    CHECK(strcmp(res.error.code, "invalid_argument") == 0);
    sl_client_result_free(&res);
    /* a report of tokens that mean nothing */
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/x"}, &h) == 0);
    sl_webhook_attempt junk = {.token = sl_slice_of("zz"), .http_status = 200};
    REQUIRE(sl_client_webhook_report(f.c, h.id, &junk, 1, &res) == SL_CLIENT_OK);
    CHECK(res.webhook_report.outcomes[0].result == SL_ATTEMPT_STALE);
    sl_client_result_free(&res);
    CHECK(test_daemon_alive(&f.d));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_timeouts_and_dropped_connections_are_failures)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    const uint64_t retry[] = {100, 100, 100};
    hook h;
    REQUIRE(hook_create(&f,
                        &(hook_spec){.path = "/flaky", .retry_ms = retry, .nretry = 3,
                                     .timeout_ms = 300},
                        &h) == 0);
    whr_behaviour stall = {.stall_ms = 1500}, drop = {.drop = true};
    REQUIRE(whr_push(f.rx, "/flaky", &stall) == 0);
    /* the timeout closed the first connection, so the drop happens on a fresh
     * one, which libcurl does not silently resend */
    REQUIRE(whr_push(f.rx, "/flaky", &drop) == 0);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(wait_successes(&f, &h, 1));
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_deliveries(f.c, h.id, NULL, 0, 0, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhook_deliveries.n == 3);
    const sl_client_webhook_attempt_entry *e = res.webhook_deliveries.entries;
    CHECK(sl_slice_eq_cstr(e[2].error, "timeout"));           /* the oldest */
    CHECK(sl_slice_eq_cstr(e[1].error, "connection_closed"));
    CHECK(e[1].http_status == 0 && e[2].http_status == 0);
    CHECK(e[0].result == SL_ATTEMPT_DELIVERED && e[0].attempt == 3);
    CHECK(e[2].latency_us >= 250000 && e[2].latency_us < 1500000); /* cut at the timeout */
    sl_client_result_free(&res);
    /* the stats and the log agree with what the receiver answered */
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.attempts, 3);
    CHECK_EQ_U64(s.successes, 1);
    CHECK_EQ_U64(s.failures, 2);
    CHECK_EQ_U64(s.last_status, 200);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_rate_limit_spreads_the_posts)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/rl"}, &h) == 0);
    sl_webhook_config cfg;
    sl_webhook_config_default(&cfg);
    cfg.rate_limit = 5;
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_update(f.c, h.id, &cfg, SL_WEBHOOK_GIVEN_RATE_LIMIT, &res) ==
            SL_CLIENT_OK);
    CHECK_EQ_U64(res.webhook.webhook.rate_limit, 5);
    sl_client_result_free(&res);
    test_sleep_ms(300); /* the bridge picks the limit up */
    for (int i = 0; i < 10; i++)
        REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/rl", 10, WAIT_MS));
    whr_request *first = whr_get(f.rx, "/rl", 0), *last = whr_get(f.rx, "/rl", 9);
    REQUIRE(first && last);
    /* a burst of 5, then 5 more at 5 per second: about a second (the idle
     * pulls before took no tokens: the whole burst was there) */
    CHECK(last->arrival_ms - first->arrival_ms >= 800);
    CHECK(last->arrival_ms - first->arrival_ms < 1500);
    whr_request *fifth = whr_get(f.rx, "/rl", 4);
    REQUIRE(fifth != NULL);
    CHECK(fifth->arrival_ms - first->arrival_ms < 300);
    whr_request_free(fifth);
    whr_request_free(first);
    whr_request_free(last);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_daemon_restart_while_posts_are_out_loses_nothing)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    /* timeout 3 s: leases of 7 s, so outcomes kept during a short outage are
     * reported in time */
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/r", .timeout_ms = 3000}, &h) == 0);
    whr_behaviour stall = {.stall_ms = 600};
    whr_set_default(f.rx, "/r", &stall);
    char ids[6][64];
    for (int i = 0; i < 3; i++)
        REQUIRE(publish_id(&f, "order.created", ids[i], sizeof ids[i]) == 0);
    REQUIRE(whr_wait(f.rx, "/r", 3, WAIT_MS)); /* the three POSTs are out */
    REQUIRE(test_daemon_stop(&f.d) == 0);
    /* sluiced is down: the POSTs finish, their reports wait; the bridge says
     * so once and backs off instead of spinning */
    REQUIRE(wait_log(&f, "sluiced unreachable", 5000));
    long cpu0 = bridge_cpu_ticks(&f);
    uint64_t t0 = test_mono_ms();
    test_sleep_ms(1500);
    long cpu1 = bridge_cpu_ticks(&f);
    uint64_t down_ms = test_mono_ms() - t0;
    REQUIRE(cpu0 >= 0 && cpu1 >= 0);
    long hz = sysconf(_SC_CLK_TCK);
    /* well under 10% of one core (a spinning loop would use all of it) */
    CHECK((cpu1 - cpu0) * 1000 < (long)down_ms * hz / 10);
    CHECK(test_proc_alive(&f.bridge));
    CHECK_EQ_U64(log_count(&f, "sluiced unreachable"), 1);
    CHECK_EQ_U64(log_count(&f, "pull failed"), 0);
    REQUIRE(test_daemon_restart(&f.d, NULL) == 0);
    for (int i = 3; i < 6; i++)
        REQUIRE(publish_id(&f, "order.created", ids[i], sizeof ids[i]) == 0);
    REQUIRE(wait_successes(&f, &h, 6));
    CHECK(wait_log(&f, "sluiced answers again", 1000));
    /* each event exactly once: the kept outcomes were reported after the
     * restart, within their leases */
    for (int i = 0; i < 6; i++)
        CHECK_EQ_U64(seen_times(&f, "/r", ids[i]), 1);
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.attempts, 6);
    CHECK_EQ_U64(s.successes, 6);
    CHECK_EQ_U64(s.backlog, 0);
    CHECK_EQ_U64(s.dlq_size, 0);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_outcomes_are_dropped_when_their_leases_end_unreported)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    const uint64_t retry[] = {100};
    /* timeout 300 ms: leases of 1.6 s */
    REQUIRE(hook_create(&f,
                        &(hook_spec){.path = "/lease", .timeout_ms = 300, .retry_ms = retry,
                                     .nretry = 1},
                        &h) == 0);
    whr_behaviour stall = {.stall_ms = 150};
    whr_push(f.rx, "/lease", &stall);
    char id[64];
    REQUIRE(publish_id(&f, "order.created", id, sizeof id) == 0);
    REQUIRE(whr_wait(f.rx, "/lease", 1, WAIT_MS));
    REQUIRE(test_daemon_stop(&f.d) == 0);
    /* the outcome cannot be reported; once the lease is over it is dropped,
     * said in the log, and not retried any more */
    CHECK(wait_log(&f, "not reported before their leases ended", 5000));
    REQUIRE(test_daemon_restart(&f.d, NULL) == 0);
    /* the event comes back (same id, next attempt) and is delivered */
    REQUIRE(wait_successes(&f, &h, 1));
    CHECK(seen_times(&f, "/lease", id) == 2);
    whr_request *r = whr_get(f.rx, "/lease", 1);
    REQUIRE(r != NULL);
    CHECK(strcmp(r->x_webhook_attempt, "2") == 0);
    whr_request_free(r);
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.backlog, 0);
    CHECK_EQ_U64(s.dlq_size, 0);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_sigterm_while_sluiced_is_down_is_bounded_and_loses_nothing)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/t", .timeout_ms = 2000}, &h) == 0);
    whr_behaviour stall = {.stall_ms = 400};
    whr_push(f.rx, "/t", &stall);
    char id[64];
    REQUIRE(publish_id(&f, "order.created", id, sizeof id) == 0);
    REQUIRE(whr_wait(f.rx, "/t", 1, WAIT_MS));
    REQUIRE(test_daemon_stop(&f.d) == 0);
    /* the drain (2 s in these tests) cannot report: it gives up in time */
    uint64_t t0 = test_mono_ms();
    CHECK(test_proc_stop(&f.bridge, 8000) == 0);
    CHECK(test_mono_ms() - t0 < 2000 + 2 * 2000 + 1000);
    CHECK(log_count(&f, "outcomes unreported") == 1);
    REQUIRE(test_daemon_restart(&f.d, NULL) == 0);
    REQUIRE(bridge_start(&f, true) == 0);
    /* the lease ends (5 s) and the event is delivered again */
    uint64_t deadline = test_mono_ms() + 15000;
    while (seen_times(&f, "/t", id) < 2 && test_mono_ms() < deadline)
        test_sleep_ms(50);
    CHECK_EQ_U64(seen_times(&f, "/t", id), 2);
    CHECK(wait_successes(&f, &h, 1));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_sigterm_drain_finishes_and_reports_the_posts_out)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/drain", .timeout_ms = 3000}, &h) == 0);
    whr_behaviour stall = {.stall_ms = 700};
    whr_set_default(f.rx, "/drain", &stall);
    for (int i = 0; i < 3; i++)
        REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/drain", 3, WAIT_MS));
    CHECK(test_proc_stop(&f.bridge, 8000) == 0);
    CHECK(log_count(&f, "unfinished") == 0);
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.successes, 3); /* reported before it exited */
    CHECK_EQ_U64(s.backlog, 0);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_redirects_are_failures_and_not_followed)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    const uint64_t retry[] = {100};
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/moved", .retry_ms = retry, .nretry = 1},
                        &h) == 0);
    char elsewhere[256];
    whr_url(f.rx, "/elsewhere", elsewhere, sizeof elsewhere);
    REQUIRE(whr_push(f.rx, "/moved", &(whr_behaviour){.status = 302, .location = elsewhere}) ==
            0);
    whr_set_default(f.rx, "/moved", &(whr_behaviour){.status = 301, .location = elsewhere});
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    sl_client_result res = {0};
    uint64_t deadline = test_mono_ms() + WAIT_MS;
    size_t n = 0;
    while (n < 2 && test_mono_ms() < deadline) {
        sl_client_result_free(&res);
        if (sl_client_webhook_deliveries(f.c, h.id, NULL, 0, 0, &res) == SL_CLIENT_OK)
            n = res.webhook_deliveries.n;
        test_sleep_ms(20);
    }
    REQUIRE(n == 2);
    const sl_client_webhook_attempt_entry *e = res.webhook_deliveries.entries;
    CHECK_EQ_U64(e[1].http_status, 302); /* the oldest */
    CHECK(e[1].result == SL_ATTEMPT_RETRY);
    CHECK_EQ_U64(e[0].http_status, 301);
    CHECK(e[0].result == SL_ATTEMPT_DEAD);
    sl_client_result_free(&res);
    CHECK_EQ_U64(whr_count(f.rx, "/elsewhere"), 0);
    sl_client_webhook_stats s;
    REQUIRE(stats_of(&f, &h, &s) == 0);
    CHECK_EQ_U64(s.failures, 2);
    CHECK_EQ_U64(s.successes, 0);
    CHECK_EQ_U64(s.dlq_size, 1);
    CHECK(fx_stop(&f) == 0);
}

TEST(test_webhook_deleted_while_its_post_is_in_flight)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    /* max_in_flight 2: with both POSTs out nothing is pulled, so the report
     * is what finds the subscription gone */
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/del", .timeout_ms = 3000, .max_in_flight = 2},
                        &h) == 0);
    whr_behaviour stall = {.stall_ms = 800};
    whr_set_default(f.rx, "/del", &stall);
    for (int i = 0; i < 2; i++)
        REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/del", 2, WAIT_MS));
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_delete(f.c, h.id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    /* the report answers not_found: the outcomes are dropped, said once */
    CHECK(wait_log(&f, "(webhook.report: not_found)", 5000));
    test_sleep_ms(300);
    CHECK(test_proc_alive(&f.bridge));
    CHECK_EQ_U64(log_count(&f, "not_found"), 1);
    CHECK_EQ_U64(log_count(&f, "report failed"), 0);
    CHECK_EQ_U64(whr_count(f.rx, "/del"), 2);
    /* the bridge goes on with the others */
    hook other;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/other"}, &other) == 0);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    CHECK(wait_successes(&f, &other, 1));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_webhook_disabled_while_its_post_is_in_flight)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/off", .timeout_ms = 3000}, &h) == 0);
    whr_behaviour stall = {.stall_ms = 600};
    whr_push(f.rx, "/off", &stall);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(whr_wait(f.rx, "/off", 1, WAIT_MS));
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_disable(f.c, h.id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    /* the POST out is still reported (its event is delivered) */
    REQUIRE(wait_successes(&f, &h, 1));
    /* nothing more is pulled while disabled; the events wait */
    test_sleep_ms(300); /* past a refresh */
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    test_sleep_ms(500);
    CHECK_EQ_U64(whr_count(f.rx, "/off"), 1);
    REQUIRE(sl_client_webhook_enable(f.c, h.id, &res) == SL_CLIENT_OK);
    sl_client_result_free(&res);
    CHECK(whr_wait(f.rx, "/off", 2, WAIT_MS));
    CHECK(wait_successes(&f, &h, 2));
    CHECK(fx_stop(&f) == 0);
}

TEST(test_huge_response_body_is_cut_and_the_2xx_counts)
{
    fixture f;
    REQUIRE(fx_start(&f, true) == 0);
    hook h;
    REQUIRE(hook_create(&f, &(hook_spec){.path = "/huge", .timeout_ms = 2000}, &h) == 0);
    whr_behaviour huge = {.body_bytes = 100u << 20, .body_stall_ms = 4000};
    whr_set_default(f.rx, "/huge", &huge);
    REQUIRE(publish_json(&f, "order.created", "{}") > 0);
    REQUIRE(wait_successes(&f, &h, 1));
    sl_client_result res = {0};
    REQUIRE(sl_client_webhook_deliveries(f.c, h.id, NULL, 0, 0, &res) == SL_CLIENT_OK);
    REQUIRE(res.webhook_deliveries.n == 1);
    const sl_client_webhook_attempt_entry *e = res.webhook_deliveries.entries;
    CHECK_EQ_U64(e[0].http_status, 200);
    CHECK_EQ_U64(e[0].body.len, SL_WEBHOOK_BODY_KEEP);
    CHECK(e[0].latency_us < 1500000); /* not the timeout */
    sl_client_result_free(&res);
    CHECK(fx_stop(&f) == 0);
}

UNIT_MAIN("test_bridge",
          UNIT_CASE(test_delivery_is_signed_and_logged),
          UNIT_CASE(test_retries_follow_the_schedule_then_dlq_and_replay),
          UNIT_CASE(test_auto_disable_after_consecutive_dead_events_and_reset),
          UNIT_CASE(test_gone_disables_at_once_and_enable_resumes),
          UNIT_CASE(test_retry_after_is_honoured),
          UNIT_CASE(test_rotate_secret_signs_with_both_during_the_overlap),
          UNIT_CASE(test_slow_endpoint_does_not_delay_a_healthy_one),
          UNIT_CASE(test_killed_bridge_loses_nothing),
          UNIT_CASE(test_private_targets_are_refused_by_default),
          UNIT_CASE(test_webhook_test_event_reaches_that_endpoint_only),
          UNIT_CASE(test_bad_webhook_requests_get_clear_errors),
          UNIT_CASE(test_timeouts_and_dropped_connections_are_failures),
          UNIT_CASE(test_rate_limit_spreads_the_posts),
          UNIT_CASE(test_daemon_restart_while_posts_are_out_loses_nothing),
          UNIT_CASE(test_outcomes_are_dropped_when_their_leases_end_unreported),
          UNIT_CASE(test_sigterm_while_sluiced_is_down_is_bounded_and_loses_nothing),
          UNIT_CASE(test_sigterm_drain_finishes_and_reports_the_posts_out),
          UNIT_CASE(test_redirects_are_failures_and_not_followed),
          UNIT_CASE(test_webhook_deleted_while_its_post_is_in_flight),
          UNIT_CASE(test_webhook_disabled_while_its_post_is_in_flight),
          UNIT_CASE(test_huge_response_body_is_cut_and_the_2xx_counts))
