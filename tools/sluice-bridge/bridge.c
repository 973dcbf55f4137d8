/* bridge.c: see bridge.h. */
#include "tools/sluice-bridge/bridge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "proto/client_webhook.h"
#include "tools/sluice-bridge/endpoint.h"
#include "tools/sluice-bridge/post.h"
#include "tools/sluice-bridge/signature.h"

#define POLL_MAX_MS 200      /* longest sleep in curl_multi_poll */
#define TARGETS_PAGE 1000

typedef struct bridge {
    const wh_bridge_options *opt;
    sl_client *client;
    CURLM *multi;
    wh_signer signer;
    wh_endpoint **eps;       /* owned, each malloc'd */
    size_t neps, cap;
    uint64_t next_refresh_ms;
    size_t in_flight;        /* POSTs in the multi handle */
    wh_post *flying;         /* those POSTs (doubly linked by prev/next) */
} bridge;

/* ---- clocks and log ----------------------------------------------------------- */

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void bridge_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bridge_log(const char *fmt, ...)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s sluice-bridge: ", when);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void wh_bridge_options_default(wh_bridge_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->url = SL_CLIENT_DEFAULT_URL;
    opt->refresh_ms = 2000;
    opt->idle_poll_ms = 250;
    opt->pull_max = 100;
    opt->drain_ms = 10000;
}

/* ---- endpoints: the targets poll ------------------------------------------------ */

static wh_endpoint *find_endpoint(bridge *b, sl_slice id)
{
    for (size_t i = 0; i < b->neps; i++)
        if (sl_slice_eq_cstr(id, b->eps[i]->id))
            return b->eps[i];
    return NULL;
}

static wh_endpoint *add_endpoint(bridge *b)
{
    if (b->neps == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        wh_endpoint **eps = realloc(b->eps, cap * sizeof *eps);
        if (!eps)
            return NULL;
        b->eps = eps;
        b->cap = cap;
    }
    wh_endpoint *e = calloc(1, sizeof *e);
    if (e)
        b->eps[b->neps++] = e;
    return e;
}

/* Take one page of targets; *next gets its next_after ("" at the end). */
static void apply_targets(bridge *b, const sl_client_result *res, uint64_t now)
{
    for (size_t i = 0; i < res->webhooks.n; i++) {
        const sl_client_webhook *w = &res->webhooks.webhooks[i];
        wh_endpoint *e = find_endpoint(b, w->id);
        bool fresh = e == NULL;
        if (!e && !(e = add_endpoint(b)))
            return;
        if (wh_endpoint_apply(e, w, now) != SL_OK) {
            bridge_log("webhook %.*s: cannot use its configuration", (int)w->id.len, w->id.ptr);
            continue;
        }
        if (fresh || !e->listed)
            e->next_pull_ms = now;
        e->listed = true;
    }
}

/* Drop endpoints that are no longer listed and have nothing in progress. */
static void prune_endpoints(bridge *b)
{
    size_t kept = 0;
    for (size_t i = 0; i < b->neps; i++) {
        wh_endpoint *e = b->eps[i];
        if (!e->listed && e->in_flight == 0 && e->ndone == 0) {
            wh_endpoint_clear(e);
            free(e);
            continue;
        }
        b->eps[kept++] = e;
    }
    b->neps = kept;
}

static void refresh(bridge *b, uint64_t now)
{
    char after[SL_WEBHOOK_ID_LEN + 1] = "";
    b->next_refresh_ms = now + b->opt->refresh_ms;
    for (size_t i = 0; i < b->neps; i++)
        b->eps[i]->listed = false;
    for (int page = 0; page < 1000; page++) {
        sl_client_result res = {0};
        if (sl_client_webhook_targets(b->client, after, TARGETS_PAGE, &res) != SL_CLIENT_OK) {
            bridge_log("webhook.targets failed: %s: %s", res.error.code, res.error.message);
            for (size_t i = 0; i < b->neps; i++)
                b->eps[i]->listed = true; /* keep delivering what we know */
            sl_client_result_free(&res);
            return;
        }
        apply_targets(b, &res, now);
        sl_slice next = res.webhooks.next_after;
        bool more = next.len > 0 && next.len < sizeof after;
        if (more) {
            memcpy(after, next.ptr, next.len);
            after[next.len] = '\0';
        }
        sl_client_result_free(&res);
        if (!more)
            break;
    }
    prune_endpoints(b);
}

/* ---- pulling and starting POSTs ----------------------------------------------------- */

/* Take p out of the flying list (if it is in it). */
static void unlink_flying(bridge *b, wh_post *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (b->flying == p)
        b->flying = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

static void finish_post(bridge *b, wh_endpoint *e, wh_post *p)
{
    unlink_flying(b, p);
    p->next = e->done;
    e->done = p;
    e->ndone++;
}

/* Start the POST of delivery d; a POST that cannot start is reported as a
 * failed attempt ("bridge_error") so the schedule still applies. */
static void start_post(bridge *b, wh_endpoint *e, const sl_client_delivery *d)
{
    wh_post *p = calloc(1, sizeof *p);
    if (!p)
        return; /* the lease ends and the event comes back */
    p->owner = e;
    wh_post_target t = wh_endpoint_target(e, b->opt->allow_private);
    sl_err rc = wh_post_start(p, &b->signer, &t, d, clock_ms(CLOCK_REALTIME), mono_us());
    if (rc == SL_OK && curl_multi_add_handle(b->multi, p->easy) == CURLM_OK) {
        p->next = b->flying;
        if (b->flying)
            b->flying->prev = p;
        b->flying = p;
        e->in_flight++;
        b->in_flight++;
        return;
    }
    bridge_log("webhook %s: cannot start a POST (%s)", e->id, sl_err_code(rc));
    snprintf(p->error_text, sizeof p->error_text, "bridge_error");
    p->start_failed = true;
    finish_post(b, e, p);
}

/* How many events e may take now (in-flight room, pull size, rate). */
static uint32_t pull_budget(bridge *b, wh_endpoint *e, uint64_t now)
{
    uint32_t room = e->max_in_flight > e->in_flight ? e->max_in_flight - e->in_flight : 0;
    uint32_t want = room < b->opt->pull_max ? room : b->opt->pull_max, n = 0;
    while (n < want && wh_rate_take(&e->rate, now))
        n++;
    if (n == 0 && want > 0)
        e->next_pull_ms = wh_rate_ready_at(&e->rate, now);
    return n;
}

static void pull_endpoint(bridge *b, wh_endpoint *e, uint64_t now)
{
    if (!e->listed || now < e->next_pull_ms)
        return;
    uint32_t n = pull_budget(b, e, now);
    if (n == 0)
        return;
    sl_client_result res = {0};
    if (sl_client_pull(b->client, e->group, n, 0, &res) != SL_CLIENT_OK) {
        bridge_log("webhook %s: pull failed: %s: %s", e->id, res.error.code, res.error.message);
        if (strcmp(res.error.code, "not_found") == 0)
            e->listed = false; /* deleted meanwhile */
        e->next_pull_ms = now + b->opt->idle_poll_ms;
        sl_client_result_free(&res);
        return;
    }
    for (size_t i = 0; i < res.pull.n; i++)
        start_post(b, e, &res.pull.deliveries[i]);
    e->next_pull_ms = res.pull.n < n ? now + b->opt->idle_poll_ms : now;
    sl_client_result_free(&res);
}

/* ---- finished POSTs and their reports ------------------------------------------------ */

static void collect_done(bridge *b)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        wh_post *p = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
        CURLcode result = m->data.result;
        curl_multi_remove_handle(b->multi, m->easy_handle);
        wh_endpoint *e = p->owner;
        p->result = result;
        p->finished_us = mono_us();
        e->in_flight--;
        b->in_flight--;
        finish_post(b, e, p);
    }
}

static void log_outcome(const wh_endpoint *e, const sl_webhook_attempt *a,
                        const sl_webhook_outcome *o)
{
    bridge_log("webhook %s: attempt %u: %u%s%.*s -> %s", e->id, o->attempt, a->http_status,
               a->error.len ? " " : "", (int)a->error.len, a->error.ptr,
               sl_attempt_result_name(o->result));
}

/* Free the first n finished POSTs of e. */
static void drop_first(wh_endpoint *e, size_t n)
{
    for (size_t i = 0; i < n && e->done; i++) {
        wh_post *p = e->done;
        e->done = p->next;
        e->ndone--;
        wh_post_free(p);
        free(p);
    }
}

/* Report e's finished POSTs (at most SL_SETTLE_BATCH_MAX per call). */
static void report_endpoint(bridge *b, wh_endpoint *e)
{
    size_t n = e->ndone < SL_SETTLE_BATCH_MAX ? e->ndone : SL_SETTLE_BATCH_MAX;
    sl_webhook_attempt *a = calloc(n, sizeof *a);
    if (!a)
        return; /* try again on the next turn */
    wh_post *p = e->done;
    for (size_t i = 0; i < n; i++, p = p->next)
        wh_post_outcome(p, &a[i]);
    sl_client_result res = {0};
    sl_client_status st = sl_client_webhook_report(b->client, e->id, a, n, &res);
    if (st == SL_CLIENT_OK) {
        for (size_t i = 0; i < n && b->opt->verbose; i++)
            log_outcome(e, &a[i], &res.webhook_report.outcomes[i]);
        for (size_t i = 0; i < n; i++)
            if (res.webhook_report.outcomes[i].result == SL_ATTEMPT_DISABLED)
                e->listed = false;
    } else {
        bridge_log("webhook %s: report failed: %s: %s", e->id, res.error.code,
                   res.error.message);
    }
    bool drop = st == SL_CLIENT_OK || st == SL_CLIENT_ERR_SERVER;
    sl_client_result_free(&res);
    free(a);
    if (drop)
        drop_first(e, n);
}

static void report_all(bridge *b)
{
    for (size_t i = 0; i < b->neps; i++)
        if (b->eps[i]->ndone > 0)
            report_endpoint(b, b->eps[i]);
}

/* ---- the loop -------------------------------------------------------------------------- */

/* How long curl_multi_poll may sleep: until the next pull or refresh is due. */
static int poll_timeout(const bridge *b, uint64_t now, bool pulling)
{
    uint64_t until = b->next_refresh_ms;
    for (size_t i = 0; pulling && i < b->neps; i++) {
        const wh_endpoint *e = b->eps[i];
        if (e->listed && e->in_flight < e->max_in_flight && e->next_pull_ms < until)
            until = e->next_pull_ms;
    }
    uint64_t wait = until > now ? until - now : 0;
    return (int)(wait < POLL_MAX_MS ? wait : POLL_MAX_MS);
}

/* One turn: (pull,) run the transfers, report what finished, sleep. */
static void turn(bridge *b, bool pulling)
{
    uint64_t now = clock_ms(CLOCK_MONOTONIC);
    if (pulling && now >= b->next_refresh_ms)
        refresh(b, now);
    for (size_t i = 0; pulling && i < b->neps; i++)
        pull_endpoint(b, b->eps[i], now);
    int running = 0;
    curl_multi_perform(b->multi, &running);
    collect_done(b);
    report_all(b);
    curl_multi_poll(b->multi, NULL, 0, poll_timeout(b, clock_ms(CLOCK_MONOTONIC), pulling), NULL);
}

static sl_err bridge_open(bridge *b, const wh_bridge_options *opt)
{
    memset(b, 0, sizeof *b);
    b->opt = opt;
    if (wh_signer_init(&b->signer) != SL_OK)
        return SL_ERR_INVALID;
    b->multi = curl_multi_init();
    if (!b->multi)
        return SL_ERR_NOMEM;
    sl_client_options copt = opt->client;
    copt.lazy_connect = true;
    sl_client_error err;
    if (sl_client_open(opt->url, &copt, &b->client, &err) != SL_CLIENT_OK) {
        bridge_log("cannot open %s: %s: %s", opt->url, err.code, err.message);
        return SL_ERR_INVALID;
    }
    return SL_OK;
}

/* Drop the POSTs still running (at stop, after the drain time): their
 * leases end and sluiced delivers those events again. */
static void abandon_in_flight(bridge *b)
{
    while (b->flying) {
        wh_post *p = b->flying;
        unlink_flying(b, p);
        curl_multi_remove_handle(b->multi, p->easy);
        wh_post_free(p);
        free(p);
    }
    b->in_flight = 0;
}

static void bridge_close(bridge *b)
{
    abandon_in_flight(b);
    for (size_t i = 0; i < b->neps; i++) {
        drop_first(b->eps[i], b->eps[i]->ndone);
        wh_endpoint_clear(b->eps[i]);
        free(b->eps[i]);
    }
    free(b->eps);
    if (b->multi)
        curl_multi_cleanup(b->multi);
    sl_client_close(b->client);
    wh_signer_free(&b->signer);
}

sl_err wh_bridge_run(const wh_bridge_options *opt, volatile sig_atomic_t *stop)
{
    bridge b;
    sl_err rc = bridge_open(&b, opt);
    if (rc != SL_OK) {
        bridge_close(&b);
        return rc;
    }
    bridge_log("delivering webhooks from %s%s", opt->url,
               opt->allow_private ? " (private targets allowed)" : "");
    while (!*stop)
        turn(&b, true);
    uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + opt->drain_ms;
    while (b.in_flight > 0 && clock_ms(CLOCK_MONOTONIC) < deadline)
        turn(&b, false);
    if (b.in_flight > 0)
        bridge_log("stopping with %zu POSTs unfinished: their events come back when their "
                   "leases end", b.in_flight);
    bridge_close(&b);
    bridge_log("stopped");
    return SL_OK;
}
