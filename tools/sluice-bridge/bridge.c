/* bridge.c: see bridge.h. */
#include "tools/sluice-bridge/bridge.h"

#include <inttypes.h>
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
#define BACKOFF_MIN_MS 100   /* first wait before probing a lost sluiced */
#define BACKOFF_MAX_MS 5000  /* longest wait between probes / refused pulls */
#define REPORT_RETRY_MS 1000 /* wait before retrying a report sluiced refused */
#define PROBE_TIMEOUT_MS 250 /* each half of a probe (onto a connection, the reply) */

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
    sl_client_buf ping;      /* a ping request, encoded once: the probe (owned) */
    bool down;               /* sluiced did not answer: no call but the probe */
    uint64_t down_since_ms;  /* monotonic, while down */
    uint64_t next_probe_ms;  /* monotonic, while down */
    uint64_t backoff_ms;     /* the wait after the next failed probe */
    uint64_t up_since_ms;    /* monotonic: when the last probe passed */
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
    opt->client.timeout_ms = WH_BRIDGE_DAEMON_TIMEOUT_MS;
    opt->refresh_ms = 2000;
    opt->idle_poll_ms = 250;
    opt->pull_max = 100;
    opt->drain_ms = 10000;
}

/* ---- sluiced's health ----------------------------------------------------------- *
 * Every call to sluiced blocks the loop (sl_client is synchronous) for at most
 * 2 x the client timeout (getting onto a connection, then the reply). When a
 * call gets no reply (or sluiced says it is stopping), the bridge stops
 * calling it: no refresh, pull or report until a probe (a ping with
 * PROBE_TIMEOUT_MS, whatever it answers) gets a reply; probes back off from
 * BACKOFF_MIN_MS to BACKOFF_MAX_MS. So while sluiced is down the loop stalls
 * at most 2 x PROBE_TIMEOUT_MS per probe and the POSTs in flight go on. */

static bool daemon_lost(sl_client_status st, const sl_client_result *res)
{
    return st == SL_CLIENT_ERR_TRANSPORT ||
           (st == SL_CLIENT_ERR_SERVER && strcmp(res->error.code, "shutting_down") == 0);
}

/* A call (what) got no answer: stop calling until a probe answers. */
static void mark_down(bridge *b, const char *what, const sl_client_error *err)
{
    uint64_t now = clock_ms(CLOCK_MONOTONIC);
    if (!b->down) {
        b->down = true;
        b->down_since_ms = now;
        /* down again soon after a probe passed (it answers pings but not the
         * calls that write): keep backing off rather than start over */
        bool flapping = b->backoff_ms && now - b->up_since_ms < 2 * BACKOFF_MAX_MS;
        b->backoff_ms = !flapping ? BACKOFF_MIN_MS
                        : b->backoff_ms * 2 < BACKOFF_MAX_MS ? b->backoff_ms * 2
                                                              : BACKOFF_MAX_MS;
        bridge_log("sluiced unreachable (%s: %s: %s): pausing pulls and reports, probing "
                   "it in %" PRIu64 " ms, backing off up to every %d ms", what, err->code,
                   err->message, b->backoff_ms, BACKOFF_MAX_MS);
    }
    b->next_probe_ms = now + b->backoff_ms;
}

/* True when calls to sluiced may go out: it is up, or a probe due now got
 * an answer. */
static bool daemon_ready(bridge *b)
{
    if (!b->down)
        return true;
    uint64_t now = clock_ms(CLOCK_MONOTONIC);
    if (now < b->next_probe_ms)
        return false;
    sl_client_result res = {0}, reply = {0};
    sl_client_status st =
        sl_client_call_raw(b->client, b->ping.data, b->ping.len, PROBE_TIMEOUT_MS, &res);
    if (st == SL_CLIENT_OK &&
        sl_client_decode_reply(SL_CLIENT_OP_PING, res.raw.data, res.raw.len, &reply) ==
            SL_CLIENT_ERR_SERVER &&
        daemon_lost(SL_CLIENT_ERR_SERVER, &reply))
        st = SL_CLIENT_ERR_TRANSPORT; /* it answers, but only that it is stopping */
    sl_client_result_free(&reply);
    sl_client_result_free(&res);
    now = clock_ms(CLOCK_MONOTONIC);
    if (st != SL_CLIENT_OK) {
        b->backoff_ms = b->backoff_ms * 2 < BACKOFF_MAX_MS ? b->backoff_ms * 2 : BACKOFF_MAX_MS;
        b->next_probe_ms = now + b->backoff_ms;
        return false;
    }
    bridge_log("sluiced answers again (after %" PRIu64 " ms): resuming", now - b->down_since_ms);
    b->down = false;
    b->up_since_ms = now;
    b->next_refresh_ms = now; /* subscriptions may have changed meanwhile */
    return true;
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

/* Take one page of targets. False when out of memory (the page was not
 * taken whole). */
static bool apply_targets(bridge *b, const sl_client_result *res, uint64_t now)
{
    for (size_t i = 0; i < res->webhooks.n; i++) {
        const sl_client_webhook *w = &res->webhooks.webhooks[i];
        wh_endpoint *e = find_endpoint(b, w->id);
        bool fresh = e == NULL;
        if (!e && !(e = add_endpoint(b)))
            return false;
        if (wh_endpoint_apply(e, w, now) != SL_OK) {
            bridge_log("webhook %.*s: cannot use its configuration", (int)w->id.len, w->id.ptr);
            continue; /* not seen: not pulled */
        }
        if (fresh || !e->listed) {
            e->next_pull_ms = now;
            e->pull_failures = 0;
        }
        e->seen = true;
        e->listed = true;
        e->gone = false;
    }
    return true;
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

/* Poll webhook.targets. Only a complete answer (every page) unlists the
 * subscriptions it leaves out; after a failure each endpoint keeps its
 * state (an endpoint unlisted since, deleted or disabled, stays unlisted). */
static void refresh(bridge *b, uint64_t now)
{
    char after[SL_WEBHOOK_ID_LEN + 1] = "";
    b->next_refresh_ms = now + b->opt->refresh_ms;
    for (size_t i = 0; i < b->neps; i++)
        b->eps[i]->seen = false;
    for (int page = 0; page < 1000; page++) {
        sl_client_result res = {0};
        sl_client_status st = sl_client_webhook_targets(b->client, after, TARGETS_PAGE, &res);
        if (st != SL_CLIENT_OK) {
            if (daemon_lost(st, &res))
                mark_down(b, "webhook.targets", &res.error);
            else
                bridge_log("webhook.targets failed: %s: %s", res.error.code, res.error.message);
            sl_client_result_free(&res);
            return;
        }
        if (!apply_targets(b, &res, now)) {
            bridge_log("webhook.targets: out of memory");
            sl_client_result_free(&res);
            return;
        }
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
    for (size_t i = 0; i < b->neps; i++)
        b->eps[i]->listed = b->eps[i]->seen;
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
    if (!p) {
        bridge_log("webhook %s: out of memory: a POST not started (its event comes back when "
                   "its lease ends)", e->id);
        return;
    }
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
    bridge_log("webhook %s: cannot start a POST (%s)", e->id,
               rc != SL_OK ? sl_err_code(rc) : "curl_multi_add_handle failed");
    if (p->token[0] == '\0') { /* nothing to report it with: its lease ends */
        wh_post_free(p);
        free(p);
        return;
    }
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

/* sluiced answered not_found for e (to what): the subscription was deleted.
 * Pull it no more and drop the outcomes of its POSTs (finished or still out):
 * they have nowhere to go. Logged once. */
static void mark_gone(wh_endpoint *e, const char *what)
{
    if (!e->gone)
        bridge_log("webhook %s: deleted (%s: not_found): no more pulls; the outcomes of its "
                   "%zu POSTs still out or unreported are dropped", e->id, what,
                   (size_t)e->in_flight + e->ndone);
    e->gone = true;
    e->listed = false;
}

/* A refused pull: wait idle_poll_ms, doubling per refusal in a row up to
 * BACKOFF_MAX_MS; logged on the first refusal and then every 16th. */
static void pull_refused(bridge *b, wh_endpoint *e, uint64_t now, const sl_client_error *err)
{
    if (e->pull_failures % 16 == 0)
        bridge_log("webhook %s: pull failed: %s: %s", e->id, err->code, err->message);
    uint64_t wait = b->opt->idle_poll_ms;
    for (uint32_t i = 0; i < e->pull_failures && wait < BACKOFF_MAX_MS; i++)
        wait *= 2;
    e->pull_failures++;
    e->next_pull_ms = now + (wait < BACKOFF_MAX_MS ? wait : BACKOFF_MAX_MS);
}

static void pull_endpoint(bridge *b, wh_endpoint *e, uint64_t now)
{
    if (b->down || !e->listed || now < e->next_pull_ms)
        return;
    uint32_t n = pull_budget(b, e, now);
    if (n == 0)
        return;
    sl_client_result res = {0};
    sl_client_status st = sl_client_pull(b->client, e->group, n, 0, &res);
    if (st != SL_CLIENT_OK) {
        wh_rate_refund(&e->rate, n);
        if (daemon_lost(st, &res)) {
            mark_down(b, "pull", &res.error);
        } else if (st == SL_CLIENT_ERR_SERVER && strcmp(res.error.code, "not_found") == 0) {
            mark_gone(e, "pull");
        } else {
            pull_refused(b, e, now, &res.error);
        }
        sl_client_result_free(&res);
        return;
    }
    e->pull_failures = 0;
    if (res.pull.n < n)
        wh_rate_refund(&e->rate, n - (uint32_t)res.pull.n);
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

/* Drop e's finished POSTs whose lease is over unreported: sluiced hands
 * those events out again (same id) and a report could only be logged as
 * stale. This is what bounds the retries of a failing report. */
static void expire_done(bridge *b, wh_endpoint *e, uint64_t now_us)
{
    size_t dropped = 0;
    for (wh_post **link = &e->done; *link;) {
        wh_post *p = *link;
        if (now_us < p->lease_end_us) {
            link = &p->next;
            continue;
        }
        *link = p->next;
        e->ndone--;
        wh_post_free(p);
        free(p);
        dropped++;
    }
    if (dropped)
        bridge_log("webhook %s: %zu attempt outcome(s) not reported before their leases "
                   "ended (%s): those events will be delivered again", e->id, dropped,
                   b->down ? "sluiced unreachable" : "reports failed");
}

/* A server error after which the same report may succeed later. */
static bool report_transient(const char *code)
{
    static const char *const codes[] = {"storage_error", "storage_full", "no_memory", "busy",
                                        "corrupt", "internal", "unauthorized", "forbidden"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* Report e's finished POSTs (at most SL_SETTLE_BATCH_MAX per call). They are
 * dropped once sluiced answered for them, or when it never will (the
 * subscription is gone, the report is malformed); after any other failure
 * they are kept and the report retried (when sluiced answers again, or
 * after REPORT_RETRY_MS) until their leases end (expire_done). */
static void report_endpoint(bridge *b, wh_endpoint *e, uint64_t now)
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
    bool drop = true;
    if (st == SL_CLIENT_OK) {
        for (size_t i = 0; i < n && b->opt->verbose; i++)
            log_outcome(e, &a[i], &res.webhook_report.outcomes[i]);
        for (size_t i = 0; i < n; i++)
            if (res.webhook_report.outcomes[i].result == SL_ATTEMPT_DISABLED)
                e->listed = false;
    } else if (daemon_lost(st, &res)) {
        mark_down(b, "webhook.report", &res.error);
        drop = false;
    } else if (st == SL_CLIENT_ERR_SERVER && strcmp(res.error.code, "not_found") == 0) {
        mark_gone(e, "webhook.report");
    } else if ((st == SL_CLIENT_ERR_SERVER && report_transient(res.error.code)) ||
               st == SL_CLIENT_ERR_NOMEM || st == SL_CLIENT_ERR_BAD_REPLY) {
        bridge_log("webhook %s: report failed: %s: %s (retrying until the leases end)", e->id,
                   res.error.code, res.error.message);
        e->next_report_ms = now + REPORT_RETRY_MS;
        drop = false;
    } else {
        bridge_log("webhook %s: report refused: %s: %s: %zu outcome(s) dropped (those events "
                   "come back when their leases end)", e->id, res.error.code, res.error.message,
                   n);
    }
    sl_client_result_free(&res);
    free(a);
    if (drop)
        drop_first(e, n);
}

/* Expire what can no longer be reported, then report the rest (unless
 * sluiced is down). */
static void report_all(bridge *b)
{
    uint64_t now = clock_ms(CLOCK_MONOTONIC), now_us = mono_us();
    for (size_t i = 0; i < b->neps; i++) {
        wh_endpoint *e = b->eps[i];
        if (e->ndone > 0 && e->gone)
            drop_first(e, e->ndone); /* deleted: said once, when sluiced said so */
        if (e->ndone > 0)
            expire_done(b, e, now_us);
        if (e->ndone > 0 && !b->down && now >= e->next_report_ms)
            report_endpoint(b, e, now);
    }
}

static size_t unreported(const bridge *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->neps; i++)
        n += b->eps[i]->ndone;
    return n;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* How long curl_multi_poll may sleep: until the next probe, refresh, pull
 * or report retry is due (libcurl's own timers wake it too). */
static int poll_timeout(const bridge *b, uint64_t now, bool pulling)
{
    uint64_t until = now + POLL_MAX_MS;
    if (b->down) {
        if (b->next_probe_ms < until)
            until = b->next_probe_ms;
    } else {
        if (pulling && b->next_refresh_ms < until)
            until = b->next_refresh_ms;
        for (size_t i = 0; i < b->neps; i++) {
            const wh_endpoint *e = b->eps[i];
            if (pulling && e->listed && e->in_flight < e->max_in_flight &&
                e->next_pull_ms < until)
                until = e->next_pull_ms;
            if (e->ndone > 0 && e->next_report_ms < until)
                until = e->next_report_ms;
        }
    }
    return (int)(until > now ? until - now : 0);
}

/* One turn: (refresh and pull,) run the transfers, report what finished,
 * sleep. Calls to sluiced only while it answers (daemon_ready). */
static void turn(bridge *b, bool pulling)
{
    bool wanted = pulling || unreported(b) > 0;
    if (wanted && daemon_ready(b)) {
        uint64_t now = clock_ms(CLOCK_MONOTONIC);
        if (pulling && now >= b->next_refresh_ms)
            refresh(b, now);
        for (size_t i = 0; pulling && i < b->neps; i++)
            pull_endpoint(b, b->eps[i], now);
    }
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
    if (!b->multi || sl_client_encode_ping(&b->ping) != SL_CLIENT_OK)
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
    sl_client_buf_free(&b->ping);
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
    /* drain: no more pulls; finish the POSTs in flight and report them all */
    uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + opt->drain_ms;
    while ((b.in_flight > 0 || unreported(&b) > 0) && clock_ms(CLOCK_MONOTONIC) < deadline)
        turn(&b, false);
    size_t left = unreported(&b);
    if (b.in_flight > 0 || left > 0)
        bridge_log("stopping with %zu POSTs unfinished and %zu outcomes unreported: their "
                   "events come back when their leases end", b.in_flight, left);
    bridge_close(&b);
    bridge_log("stopped");
    return SL_OK;
}
