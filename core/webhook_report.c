/* webhook_report.c: what the bridge hands back about deliveries:
 * sl_webhook_report (settle each attempt through the lease of group
 * "_wh.<id>", count it, log it, disable the endpoint when it is gone or
 * failing) and sl_webhook_retry (deliver one failed event again now).
 * See webhook.h. Per report call the subscription, its group and its stats
 * are loaded once, and the group record (through one settle session, see
 * lease_record.h), the stats and the delivery-log counter are written at
 * most once; nothing is allocated.
 */
#include "webhook.h"

#include <stdio.h>
#include <string.h>
#include "delivery_log.h"
#include "dlq.h"
#include "group_record.h"
#include "lease.h"
#include "lease_record.h"
#include "log.h"
#include "topic.h"
#include "webhook_record.h"

#define RETRY_AFTER_MAX_MS 86400000u /* Retry-After is honoured up to a day */
#define RETRY_ENTRY_MAX_MS 86400000u /* a schedule entry, as webhook_config.c checks */
#define JITTER_MIN_PERMILLE 900u     /* delays are scaled by 0.900 .. 1.100 */
#define JITTER_SPAN_PERMILLE 201u
#define REASON_GONE "gone"
#define REASON_FAILING "failing"
#define TERM_REASON_MAX 80

/* One report call: what it needs of the subscription, copied out of LMDB. */
typedef struct report_run {
    sl_txn *w;                               /* the caller's write txn */
    uint64_t key;                            /* the subscription */
    uint64_t now_ms;                         /* the injected clock */
    sl_settle_session settle;                /* the group "_wh.<id>": loaded once,
                                                written once at the end */
    uint32_t nretry;                         /* the retry schedule */
    uint64_t retry_ms[SL_WEBHOOK_RETRY_MAX];
    uint32_t disable_after;                  /* 0: never auto-disable */
    bool active;                             /* active when loaded */
    const char *disable;                     /* reason to disable with at the end, or NULL */
    sl_webhook_stats_rec stats;              /* written back once at the end */
    sl_log_reader log;                       /* event topics */
    sl_delivery_writer dlog;                 /* the attempt log */
} report_run;

/* What one attempt is, as far as the lease goes. */
typedef struct attempt_state {
    uint64_t seq;              /* the event; 0 when the token is not one of ours */
    bool live;                 /* the token holds the event's current delivery */
    sl_lease_rec lease;        /* that delivery's lease, when live */
    char topic[SL_TOPIC_MAX];  /* the event's topic ("" when it is gone) */
    size_t topic_len;
} attempt_state;

/* ---- loading ----------------------------------------------------------------- */

static sl_err report_load(report_run *r, sl_txn *w, const char *id, uint64_t now_ms)
{
    memset(r, 0, sizeof *r);
    r->w = w;
    r->now_ms = now_ms;
    sl_webhook_view v;
    if (!id || !sl_webhook_key_parse(sl_slice_of(id), &r->key))
        return SL_ERR_NOT_FOUND;
    sl_err rc = sl_webhook_rec_get(w, r->key, &v);
    if (rc != SL_OK)
        return rc;
    r->nretry = v.config.nretry;
    memcpy(r->retry_ms, v.config.retry_ms, sizeof r->retry_ms);
    r->disable_after = v.config.disable_after;
    r->active = v.config.active;
    rc = sl_webhook_stats_get(w, r->key, &r->stats);
    if (rc == SL_OK)
        rc = sl_settle_begin(w, v.group, &r->settle); /* last: nothing to undo */
    return rc;
}

/* Decode the token, read the event's topic and its lease. */
static sl_err attempt_load(report_run *r, sl_slice token, attempt_state *st)
{
    memset(st, 0, sizeof *st);
    uint32_t gid, delivery;
    uint64_t seq;
    if (!sl_token_decode(token, &gid, &seq, &delivery) || gid != r->settle.g.gid)
        return SL_OK; /* not a token of this subscription */
    st->seq = seq;
    sl_event_view ev;
    sl_err rc = sl_log_reader_get(&r->log, seq, &ev);
    if (rc == SL_OK) {
        st->topic_len = ev.topic.len > SL_TOPIC_MAX ? SL_TOPIC_MAX : ev.topic.len;
        memcpy(st->topic, ev.topic.ptr, st->topic_len);
    } else if (rc != SL_ERR_NOT_FOUND) {
        return rc;
    }
    rc = sl_lease_rec_get(r->w, gid, seq, &st->lease);
    if (rc == SL_ERR_NOT_FOUND)
        return SL_OK;
    st->live = rc == SL_OK && (uint32_t)st->lease.delivery == delivery;
    return rc;
}

/* ---- deciding and settling ---------------------------------------------------- */

/* A 64-bit mixing function (the splitmix64 finalizer). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The delay before the retry after attempt (1..nretry) of seq: the
 * schedule's entry scaled by 0.9..1.1, drawn from (seq, attempt, now), and
 * at least retry_after_ms. */
static uint64_t retry_delay(const report_run *r, uint64_t seq, uint32_t attempt,
                            uint64_t retry_after_ms)
{
    uint64_t base = r->retry_ms[attempt - 1];
    if (base > RETRY_ENTRY_MAX_MS)
        base = RETRY_ENTRY_MAX_MS; /* checked at create/update; no overflow below */
    uint64_t h = mix64(seq ^ mix64((uint64_t)attempt << 32 ^ mix64(r->now_ms)));
    uint64_t delay = base * (JITTER_MIN_PERMILLE + h % JITTER_SPAN_PERMILLE) / 1000;
    if (retry_after_ms > RETRY_AFTER_MAX_MS)
        retry_after_ms = RETRY_AFTER_MAX_MS;
    return delay > retry_after_ms ? delay : retry_after_ms;
}

/* What the failure was, for the lease and the dead letter: the error code,
 * else "HTTP <status>", else "no response". */
static sl_slice failure_reason(const sl_webhook_attempt *a, char buf[TERM_REASON_MAX])
{
    size_t n;
    if (a->error.len) {
        n = a->error.len > SL_WEBHOOK_ERROR_MAX ? SL_WEBHOOK_ERROR_MAX : a->error.len;
        memcpy(buf, a->error.ptr, n);
    } else if (a->http_status) {
        n = (size_t)snprintf(buf, TERM_REASON_MAX, "HTTP %u", (unsigned)a->http_status);
    } else {
        n = (size_t)snprintf(buf, TERM_REASON_MAX, "no response");
    }
    return (sl_slice){buf, n};
}

static sl_token_status settle(report_run *r, sl_slice token, sl_settle_kind kind,
                              uint64_t delay_ms, sl_slice reason, sl_err *rc)
{
    sl_token_status st = SL_TOKEN_INVALID;
    *rc = sl_settle_step(&r->settle, kind, token, delay_ms, reason, r->now_ms, &st);
    return st;
}

static uint64_t inc64(uint64_t v)
{
    return v == UINT64_MAX ? v : v + 1;
}

/* Ask for the subscription to be disabled with reason at the end of the
 * call (the first reason wins; a disabled one keeps its own). */
static void want_disable(report_run *r, const char *reason)
{
    if (r->active && !r->disable)
        r->disable = reason;
}

/* Settle a live attempt that failed; o gets the result. */
static sl_err settle_failure(report_run *r, const sl_webhook_attempt *a, const attempt_state *st,
                             sl_webhook_outcome *o)
{
    char buf[TERM_REASON_MAX];
    sl_slice reason = failure_reason(a, buf);
    uint32_t attempt = st->lease.attempt;
    sl_err rc;
    if (a->http_status == 410) {
        /* the event waits (a disabled subscription is not pulled); on its
         * last allowed delivery the nack dead-letters it */
        if (settle(r, a->token, SL_SETTLE_NACK, 0, reason, &rc) == SL_TOKEN_OK) {
            o->result = SL_ATTEMPT_DISABLED;
            if (attempt >= r->settle.g.config.max_deliveries)
                r->stats.dead = inc64(r->stats.dead);
        }
        return rc;
    }
    /* a retry needs a delivery left in the group (a nack of the last one
     * dead-letters: that is the DEAD below, not a retry) */
    if (attempt >= 1 && attempt <= r->nretry && attempt < r->settle.g.config.max_deliveries) {
        uint64_t delay = retry_delay(r, st->seq, attempt, a->retry_after_ms);
        if (settle(r, a->token, SL_SETTLE_NACK, delay, reason, &rc) == SL_TOKEN_OK) {
            o->result = SL_ATTEMPT_RETRY;
            o->retry_at_ms = sl_add_sat(r->now_ms, delay);
        }
        return rc;
    }
    if (settle(r, a->token, SL_SETTLE_TERM, 0, reason, &rc) == SL_TOKEN_OK) {
        o->result = SL_ATTEMPT_DEAD;
        r->stats.dead = inc64(r->stats.dead);
        r->stats.consecutive_failures = sl_inc32(r->stats.consecutive_failures);
        if (r->disable_after && r->stats.consecutive_failures >= r->disable_after)
            want_disable(r, REASON_FAILING);
    }
    return rc;
}

static bool succeeded(const sl_webhook_attempt *a)
{
    return a->http_status >= 200 && a->http_status <= 299 && a->error.len == 0;
}

/* ---- counting and logging ------------------------------------------------------- */

static void count_attempt(report_run *r, const sl_webhook_attempt *a, uint64_t sent_ms)
{
    sl_webhook_stats_rec *s = &r->stats;
    bool ok = succeeded(a);
    s->attempts = inc64(s->attempts);
    if (ok) {
        s->successes = inc64(s->successes);
        s->last_success_ms = sent_ms;
        s->consecutive_failures = 0; /* the endpoint works */
    } else {
        s->failures = inc64(s->failures);
    }
    s->last_status = a->http_status;
    s->last_error_len = (uint8_t)(a->error.len > SL_WEBHOOK_ERROR_MAX ? SL_WEBHOOK_ERROR_MAX
                                                                      : a->error.len);
    if (s->last_error_len)
        memcpy(s->last_error, a->error.ptr, s->last_error_len);
    s->last_attempt_ms = sent_ms;
    sl_webhook_stats_add_latency(s, a->latency_us);
}

static sl_err log_attempt(report_run *r, const sl_webhook_attempt *a, const attempt_state *st,
                          const sl_webhook_outcome *o, uint64_t sent_ms)
{
    sl_delivery_entry e;
    memset(&e, 0, sizeof e);
    e.seq = st->seq;
    e.topic = (sl_slice){st->topic, st->topic_len};
    e.attempt = o->attempt;
    e.time_ms = sent_ms;
    e.http_status = a->http_status;
    e.error = a->error;
    e.latency_us = a->latency_us;
    e.body = a->body;
    e.result = o->result;
    return sl_delivery_writer_add(&r->dlog, &e, &r->stats.log_entries);
}

/* ---- one attempt, one call -------------------------------------------------------- */

static bool attempt_args_ok(const sl_webhook_attempt *a)
{
    return (a->token.ptr || !a->token.len) && (a->error.ptr || !a->error.len) &&
           (a->body.ptr || !a->body.len);
}

static sl_err report_one(report_run *r, const sl_webhook_attempt *a, sl_webhook_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->result = SL_ATTEMPT_STALE;
    uint64_t sent_ms = a->sent_ms ? a->sent_ms : r->now_ms;
    attempt_state st;
    sl_err rc = attempt_load(r, a->token, &st);
    if (rc == SL_OK && st.live) {
        o->attempt = st.lease.attempt;
        if (succeeded(a)) {
            if (settle(r, a->token, SL_SETTLE_ACK, 0, (sl_slice){NULL, 0}, &rc) == SL_TOKEN_OK)
                o->result = SL_ATTEMPT_DELIVERED;
        } else {
            rc = settle_failure(r, a, &st, o);
        }
    }
    if (rc != SL_OK)
        return rc;
    if (a->http_status == 410)
        want_disable(r, REASON_GONE); /* the endpoint says so, stale token or not */
    count_attempt(r, a, sent_ms);
    return log_attempt(r, a, &st, o, sent_ms);
}

/* Disable the subscription with r->disable (it was active when loaded). */
static sl_err disable(report_run *r)
{
    sl_webhook_view v;
    sl_err rc = sl_webhook_rec_get(r->w, r->key, &v); /* re-read: writes happened since */
    if (rc != SL_OK || !v.config.active)
        return rc;
    v.config.active = false;
    v.disabled_reason = sl_slice_of(r->disable);
    v.disabled_ms = r->now_ms;
    return sl_webhook_rec_put(r->w, r->key, &v);
}

sl_err sl_webhook_report(sl_txn *w, const char *id, const sl_webhook_attempt *attempts,
                         size_t n, uint64_t now_ms, sl_webhook_outcome *out)
{
    if (!w || !w->txn || !w->write || !attempts || !out || n < 1)
        return SL_ERR_INVALID;
    if (n > SL_SETTLE_BATCH_MAX)
        return SL_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i++) /* before anything is settled */
        if (!attempt_args_ok(&attempts[i]))
            return SL_ERR_INVALID;
    report_run r;
    sl_err rc = report_load(&r, w, id, now_ms);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_reader_open(w, &r.log);
    if (rc != SL_OK)
        return rc;
    rc = sl_delivery_writer_open(w, r.key, &r.dlog);
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = report_one(&r, &attempts[i], &out[i]);
    if (rc == SL_OK)
        rc = sl_settle_end(&r.settle); /* the group record, once */
    if (rc == SL_OK && r.disable)
        rc = disable(&r);
    if (rc == SL_OK)
        rc = sl_webhook_stats_put(w, r.key, &r.stats);
    sl_err closed = sl_delivery_writer_close(&r.dlog, rc == SL_OK);
    sl_log_reader_close(&r.log);
    return rc == SL_OK ? closed : rc;
}

/* ---- retry now ------------------------------------------------------------------ */

sl_err sl_webhook_retry(sl_txn *w, const char *id, uint64_t seq, uint64_t now_ms)
{
    if (!w || !w->txn || !w->write)
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    if (!id || !sl_webhook_key_parse(sl_slice_of(id), &key))
        return SL_ERR_NOT_FOUND;
    sl_err rc = sl_webhook_rec_get(w, key, &v);
    if (rc != SL_OK)
        return rc;
    char group[SL_GROUP_NAME_MAX + 1];
    memcpy(group, v.group, sizeof group);
    sl_group_rec g;
    rc = sl_group_rec_load(w, group, &g);
    if (rc != SL_OK)
        return rc;
    size_t replayed = 0;
    rc = sl_dlq_replay(w, group, &seq, 1, false, now_ms, &replayed, NULL);
    if (rc != SL_OK || replayed)
        return rc;
    return sl_lease_due_now(w, g.gid, seq, now_ms);
}
