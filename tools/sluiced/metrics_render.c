/* metrics_render.c: sl_metrics_render (metrics.h): the /metrics page.
 *
 * Families, in this order: requests (counts and latency histograms from
 * sl_metrics), server counters, storage, the log, per consumer group, per
 * webhook subscription. Everything read from the store comes from one
 * read-only transaction. A family's samples must be contiguous, so the
 * per-group and per-webhook families are each written into their own
 * buffer during one walk and joined at the end. The page, its buffers and
 * the op snapshots are allocated here, never on the request path.
 */
#include "metrics.h"

#include <string.h>

#include "core/group.h"
#include "core/log.h"
#include "core/version.h"
#include "core/webhook.h"
#include "metrics_text.h"

#define WALK_NOTE " (at most the first 10000 by name)"
#define HOOK_NOTE " (at most the first 10000 subscriptions by id)"

/* A family's name, type and help. */
typedef struct family_def {
    const char *name;
    const char *type;
    const char *help;
} family_def;

/* ---- requests ---------------------------------------------------------------- */

static const char *const transport_label[SL_METRICS_TRANSPORTS] = {"nng", "http"};

/* The ops whose series are always shown, even at zero; the others appear
 * once they were seen on that transport. */
static bool always_shown(unsigned op)
{
    switch (op) {
    case SL_OP_PUBLISH:
    case SL_OP_PULL:
    case SL_OP_ACK:
    case SL_OP_NACK:
    case SL_OP_EXTEND:
    case SL_OP_TERM:
        return true;
    default:
        return false;
    }
}

/* One op's counters at one moment (each load is atomic, the set is not). */
typedef struct op_snapshot {
    uint64_t ok, error;
    uint64_t cumulative[SL_METRICS_BOUNDS + 1]; /* le bound i; the last is +Inf = count */
    uint64_t sum_us;
} op_snapshot;

static void take_snapshot(sl_op_metrics *om, op_snapshot *s)
{
    s->ok = atomic_load_explicit(&om->ok, memory_order_relaxed);
    s->error = atomic_load_explicit(&om->error, memory_order_relaxed);
    s->sum_us = atomic_load_explicit(&om->sum_us, memory_order_relaxed);
    uint64_t total = 0;
    for (unsigned b = 0; b <= SL_METRICS_BOUNDS; b++) {
        total += atomic_load_explicit(&om->bucket[b], memory_order_relaxed);
        s->cumulative[b] = total;
    }
}

static bool shown(unsigned op, const op_snapshot *s)
{
    return always_shown(op) || s->ok || s->error || s->cumulative[SL_METRICS_BOUNDS];
}

/* Seconds of us without trailing zeros: "0.00005", "2.5", "10". */
static char *fmt_bound(char out[SL_MTEXT_VALUE_MAX], uint64_t us)
{
    sl_mtext_fmt_fixed(out, us, 6);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
    return out;
}

static sl_err requests_total(sl_mtext *out, unsigned t, unsigned op, const op_snapshot *s)
{
    char v[SL_MTEXT_VALUE_MAX];
    sl_mlabel l[3] = {{"op", sl_slice_of(sl_metrics_op_label(op))},
                      {"transport", sl_slice_of(transport_label[t])},
                      {"outcome", sl_slice_of("ok")}};
    sl_err rc = sl_mtext_sample(out, "sluice_requests_total", l, 3, sl_mtext_fmt_u64(v, s->ok));
    l[2].value = sl_slice_of("error");
    if (rc == SL_OK)
        rc = sl_mtext_sample(out, "sluice_requests_total", l, 3, sl_mtext_fmt_u64(v, s->error));
    return rc;
}

static sl_err histogram(sl_mtext *out, unsigned t, unsigned op, const op_snapshot *s)
{
    char v[SL_MTEXT_VALUE_MAX], le[SL_MTEXT_VALUE_MAX];
    sl_mlabel l[3] = {{"op", sl_slice_of(sl_metrics_op_label(op))},
                      {"transport", sl_slice_of(transport_label[t])},
                      {"le", sl_slice_of("")}};
    sl_err rc = SL_OK;
    for (unsigned b = 0; b <= SL_METRICS_BOUNDS && rc == SL_OK; b++) {
        bool finite = b < SL_METRICS_BOUNDS;
        l[2].value = sl_slice_of(finite ? fmt_bound(le, sl_metrics_bucket_bound_us(b)) : "+Inf");
        rc = sl_mtext_sample(out, "sluice_request_duration_seconds_bucket", l, 3,
                             sl_mtext_fmt_u64(v, s->cumulative[b]));
    }
    if (rc == SL_OK)
        rc = sl_mtext_sample(out, "sluice_request_duration_seconds_sum", l, 2,
                             sl_mtext_fmt_fixed(v, s->sum_us, 6));
    if (rc == SL_OK)
        rc = sl_mtext_sample(out, "sluice_request_duration_seconds_count", l, 2,
                             sl_mtext_fmt_u64(v, s->cumulative[SL_METRICS_BOUNDS]));
    return rc;
}

typedef sl_err (*op_writer)(sl_mtext *out, unsigned t, unsigned op, const op_snapshot *s);

/* One family with a series per shown (transport, op). */
static sl_err op_family(sl_metrics *m, sl_mtext *out, const family_def *f, op_writer write)
{
    sl_err rc = sl_mtext_family(out, f->name, f->type, f->help);
    op_snapshot s;
    for (unsigned t = 0; t < SL_METRICS_TRANSPORTS && rc == SL_OK; t++) {
        for (unsigned op = 0; op < SL_METRICS_OPS && rc == SL_OK; op++) {
            take_snapshot(&m->op[t][op], &s);
            if (shown(op, &s))
                rc = write(out, t, op, &s);
        }
    }
    return rc;
}

static sl_err render_requests(sl_metrics *m, sl_mtext *out)
{
    static const family_def total = {
        "sluice_requests_total", "counter",
        "Requests answered, by op, transport (nng, http) and outcome (ok, error); "
        "op=\"invalid\": refused before naming a valid op"};
    static const family_def duration = {
        "sluice_request_duration_seconds", "histogram",
        "Time from a request's arrival to its reply, by op and transport (a long-poll "
        "pull includes its wait)"};
    sl_err rc = op_family(m, out, &total, requests_total);
    return rc == SL_OK ? op_family(m, out, &duration, histogram) : rc;
}

/* ---- single values ------------------------------------------------------------- */

/* A family with one unlabeled sample. */
static sl_err single(sl_mtext *out, const char *name, const char *type, const char *help,
                     const char *value)
{
    sl_err rc = sl_mtext_family(out, name, type, help);
    return rc == SL_OK ? sl_mtext_sample(out, name, NULL, 0, value) : rc;
}

static sl_err render_server(const sl_server_counters *k, uint64_t now_ms, sl_mtext *out)
{
    char v[SL_MTEXT_VALUE_MAX];
    uint64_t up_ms = now_ms > k->started_ms ? now_ms - k->started_ms : 0;
    sl_mlabel version = {"version", sl_slice_of(SLUICE_VERSION)};
    sl_err rc = sl_mtext_family(out, "sluice_build_info", "gauge", "The running sluiced's version");
    if (rc == SL_OK)
        rc = sl_mtext_sample(out, "sluice_build_info", &version, 1, "1");
    if (rc == SL_OK)
        rc = single(out, "sluice_events_published_total", "counter",
                    "Events appended to the log (idempotent duplicates not counted)",
                    sl_mtext_fmt_u64(v, atomic_load(&k->publishes)));
    if (rc == SL_OK)
        rc = single(out, "sluice_parked_pulls", "gauge", "Long-poll pulls waiting for events now",
                    sl_mtext_fmt_u64(v, atomic_load(&k->parked_pulls)));
    if (rc == SL_OK)
        rc = single(out, "sluice_connections", "gauge",
                    "Client connections open now on the tcp:// and ipc:// listeners",
                    sl_mtext_fmt_u64(v, atomic_load(&k->connections)));
    if (rc == SL_OK)
        rc = single(out, "sluice_commits_total", "counter",
                    "LMDB write transactions committed: checkpoints (synced unless relaxed)",
                    sl_mtext_fmt_u64(v, atomic_load(&k->commits)));
    if (rc == SL_OK)
        rc = single(out, "sluice_journal_writes_total", "counter",
                    "Batches made durable by one journal write and fdatasync instead",
                    sl_mtext_fmt_u64(v, atomic_load(&k->journal_writes)));
    if (rc == SL_OK)
        rc = single(out, "sluice_commit_seconds_total", "counter",
                    "Time spent making batches durable (journal writes and LMDB commits, "
                    "idle checkpoints and syncs included): the sum of the two below",
                    sl_mtext_fmt_fixed(v, atomic_load(&k->journal_us) +
                                              atomic_load(&k->checkpoint_us), 6));
    if (rc == SL_OK)
        rc = single(out, "sluice_journal_seconds_total", "counter",
                    "Time in journal writes (the batch's record, pwritev, fdatasync): "
                    "over sluice_journal_writes_total, what one takes",
                    sl_mtext_fmt_fixed(v, atomic_load(&k->journal_us), 6));
    if (rc == SL_OK)
        rc = single(out, "sluice_checkpoint_seconds_total", "counter",
                    "Time in LMDB commits (checkpoints, idle ones included): each writes "
                    "the pages of every batch journaled since the last",
                    sl_mtext_fmt_fixed(v, atomic_load(&k->checkpoint_us), 6));
    if (rc == SL_OK)
        rc = single(out, "sluice_commit_requests_total", "counter",
                    "Requests answered by those commits and journal writes (group commit)",
                    sl_mtext_fmt_u64(v, atomic_load(&k->commit_requests)));
    if (rc == SL_OK)
        rc = single(out, "sluice_uptime_seconds", "gauge", "Seconds since sluiced started",
                    sl_mtext_fmt_fixed(v, up_ms, 3));
    return rc;
}

static sl_err render_storage(sl_store *store, sl_mtext *out)
{
    sl_store_stats s;
    sl_err rc = sl_store_get_stats(store, &s);
    if (rc != SL_OK)
        return rc;
    const struct {
        const char *name, *help;
        uint64_t value;
    } g[] = {
        {"sluice_storage_used_bytes", "LMDB pages in use (high-water mark) in bytes", s.used_bytes},
        {"sluice_storage_map_bytes", "Current LMDB map size in bytes", s.map_bytes},
        {"sluice_storage_quota_bytes", "Disk quota in bytes (publishes fail past it)",
         s.quota_bytes},
        {"sluice_storage_file_bytes", "Size of data.mdb on disk in bytes", s.file_bytes},
    };
    char v[SL_MTEXT_VALUE_MAX];
    for (size_t i = 0; i < sizeof g / sizeof g[0] && rc == SL_OK; i++)
        rc = single(out, g[i].name, "gauge", g[i].help, sl_mtext_fmt_u64(v, g[i].value));
    return rc;
}

static sl_err render_log(sl_txn *t, sl_mtext *out)
{
    sl_log_bounds b;
    sl_err rc = sl_log_get_bounds(t, &b);
    char v[SL_MTEXT_VALUE_MAX];
    if (rc == SL_OK)
        rc = single(out, "sluice_log_events", "gauge", "Events retained in the log",
                    sl_mtext_fmt_u64(v, b.events));
    if (rc == SL_OK)
        rc = single(out, "sluice_log_bytes", "gauge",
                    "Bytes retained in the log (payloads, topics, headers)",
                    sl_mtext_fmt_u64(v, b.bytes));
    if (rc == SL_OK)
        rc = single(out, "sluice_log_last_seq", "gauge",
                    "Sequence of the newest retained event (0: empty log)",
                    sl_mtext_fmt_u64(v, b.last_seq));
    return rc;
}

/* ---- families written during one walk ----------------------------------------- */

#define SET_MAX 8

/* Up to SET_MAX families, each in its own buffer, joined by set_close. */
typedef struct family_set {
    sl_mtext text[SET_MAX];
    size_t n;
} family_set;

static sl_err set_open(family_set *s, const family_def *defs, size_t n)
{
    sl_err rc = SL_OK;
    for (s->n = 0; s->n < n && s->n < SET_MAX; s->n++) {
        sl_mtext_init(&s->text[s->n]);
        if (rc == SL_OK)
            rc = sl_mtext_family(&s->text[s->n], defs[s->n].name, defs[s->n].type,
                                 defs[s->n].help);
    }
    return rc;
}

static sl_err set_close(family_set *s, sl_mtext *out)
{
    sl_err rc = SL_OK;
    for (size_t i = 0; i < s->n && rc == SL_OK; i++)
        rc = sl_mtext_append_text(out, &s->text[i]);
    return rc;
}

static void set_free(family_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        sl_mtext_free(&s->text[i]);
    s->n = 0;
}

/* Sample i of the set: values[i] with the same labels. */
static sl_err set_samples(family_set *s, const family_def *defs, const sl_mlabel *labels,
                          size_t nlabels, char values[][SL_MTEXT_VALUE_MAX])
{
    sl_err rc = SL_OK;
    for (size_t i = 0; i < s->n && rc == SL_OK; i++)
        rc = sl_mtext_sample(&s->text[i], defs[i].name, labels, nlabels, values[i]);
    return rc;
}

/* ---- groups ---------------------------------------------------------------------- */

enum { G_LAG, G_IN_FLIGHT, G_WAITING, G_DLQ, G_ACKED, G_DELIVERED, G_COUNT };

static const family_def group_defs[G_COUNT] = {
    [G_LAG] = {"sluice_group_lag", "gauge",
               "Matching events the group has not delivered yet" WALK_NOTE},
    [G_IN_FLIGHT] = {"sluice_group_in_flight", "gauge", "Deliveries leased now" WALK_NOTE},
    [G_WAITING] = {"sluice_group_waiting", "gauge",
                   "Events nacked or whose lease ended, waiting for redelivery" WALK_NOTE},
    [G_DLQ] = {"sluice_group_dlq_size", "gauge", "Dead letters held" WALK_NOTE},
    [G_ACKED] = {"sluice_group_acked_total", "counter", "Deliveries acked" WALK_NOTE},
    [G_DELIVERED] = {"sluice_group_delivered_total", "counter",
                     "Deliveries made, first ones and redeliveries" WALK_NOTE},
};

typedef struct group_walk {
    family_set set;
    size_t seen;
} group_walk;

static sl_err on_group(void *ctx, const sl_group_info *g)
{
    group_walk *w = ctx;
    if (w->seen >= SL_METRICS_WALK_MAX)
        return SL_ERR_END;
    w->seen++;
    char v[G_COUNT][SL_MTEXT_VALUE_MAX];
    sl_mtext_fmt_u64(v[G_LAG], g->lag);
    sl_mtext_fmt_u64(v[G_IN_FLIGHT], g->in_flight);
    sl_mtext_fmt_u64(v[G_WAITING], g->waiting);
    sl_mtext_fmt_u64(v[G_DLQ], g->dlq_size);
    sl_mtext_fmt_u64(v[G_ACKED], g->acked);
    sl_mtext_fmt_u64(v[G_DELIVERED], g->delivered);
    sl_mlabel l = {"group", sl_slice_of(g->config.name)};
    return set_samples(&w->set, group_defs, &l, 1, v);
}

static sl_err render_groups(sl_txn *t, sl_mtext *out)
{
    group_walk w = {.seen = 0};
    sl_err rc = set_open(&w.set, group_defs, G_COUNT);
    if (rc == SL_OK)
        rc = sl_groups_each(t, on_group, &w);
    if (rc == SL_ERR_END)
        rc = SL_OK; /* stopped at SL_METRICS_WALK_MAX */
    if (rc == SL_OK)
        rc = set_close(&w.set, out);
    set_free(&w.set);
    return rc;
}

/* ---- webhook subscriptions ------------------------------------------------------- */

enum { W_ATTEMPTS, W_SUCCESSES, W_FAILURES, W_DEAD, W_BACKLOG, W_ACTIVE, W_P50, W_P99, W_COUNT };

static const family_def hook_defs[W_COUNT] = {
    [W_ATTEMPTS] = {"sluice_webhook_attempts_total", "counter",
                    "Delivery attempts (POSTs) reported" HOOK_NOTE},
    [W_SUCCESSES] = {"sluice_webhook_successes_total", "counter",
                     "Attempts answered 2xx in time" HOOK_NOTE},
    [W_FAILURES] = {"sluice_webhook_failures_total", "counter", "Attempts that failed" HOOK_NOTE},
    [W_DEAD] = {"sluice_webhook_dead_total", "counter",
                "Events that exhausted their retries (dead-lettered)" HOOK_NOTE},
    [W_BACKLOG] = {"sluice_webhook_backlog", "gauge",
                   "Events not delivered yet: lag, waiting for a retry, in flight" HOOK_NOTE},
    [W_ACTIVE] = {"sluice_webhook_active", "gauge",
                  "1 when the subscription delivers, 0 when disabled" HOOK_NOTE},
    [W_P50] = {"sluice_webhook_latency_p50_seconds", "gauge",
               "Median attempt latency (bucket upper bound; 0: no data)" HOOK_NOTE},
    [W_P99] = {"sluice_webhook_latency_p99_seconds", "gauge",
               "99th percentile attempt latency (bucket upper bound; 0: no data)" HOOK_NOTE},
};

typedef struct hook_walk {
    family_set set;
    sl_txn *txn;
    size_t seen;
} hook_walk;

static sl_err on_hook(void *ctx, const sl_webhook_view *h)
{
    hook_walk *w = ctx;
    sl_webhook_stats st;
    sl_err rc = sl_webhook_get_stats(w->txn, h->id, &st);
    if (rc != SL_OK)
        return rc;
    w->seen++;
    char v[W_COUNT][SL_MTEXT_VALUE_MAX];
    sl_mtext_fmt_u64(v[W_ATTEMPTS], st.attempts);
    sl_mtext_fmt_u64(v[W_SUCCESSES], st.successes);
    sl_mtext_fmt_u64(v[W_FAILURES], st.failures);
    sl_mtext_fmt_u64(v[W_DEAD], st.dead);
    sl_mtext_fmt_u64(v[W_BACKLOG], st.backlog);
    sl_mtext_fmt_u64(v[W_ACTIVE], h->config.active ? 1 : 0);
    sl_mtext_fmt_fixed(v[W_P50], st.latency_p50_us, 6);
    sl_mtext_fmt_fixed(v[W_P99], st.latency_p99_us, 6);
    sl_mlabel l[2] = {{"webhook", sl_slice_of(h->id)}, {"name", h->config.name}};
    return set_samples(&w->set, hook_defs, l, 2, v);
}

static sl_err render_webhooks(sl_txn *t, uint64_t now_ms, sl_mtext *out)
{
    hook_walk w = {.txn = t, .seen = 0};
    char after[SL_WEBHOOK_ID_LEN + 1] = "";
    sl_err rc = set_open(&w.set, hook_defs, W_COUNT);
    while (rc == SL_OK && w.seen < SL_METRICS_WALK_MAX) {
        size_t left = SL_METRICS_WALK_MAX - w.seen;
        char next[SL_WEBHOOK_ID_LEN + 1];
        rc = sl_webhook_list(t, after, left < SL_WEBHOOK_PAGE_MAX ? left : SL_WEBHOOK_PAGE_MAX,
                             now_ms, on_hook, &w, next);
        if (rc != SL_OK || !next[0])
            break;
        memcpy(after, next, sizeof after);
    }
    if (rc == SL_OK)
        rc = set_close(&w.set, out);
    set_free(&w.set);
    return rc;
}

/* ---- the page ---------------------------------------------------------------------- */

static sl_err render_store(sl_store *store, uint64_t now_ms, sl_mtext *out)
{
    sl_txn t;
    sl_err rc = sl_txn_begin_read(store, &t);
    if (rc != SL_OK)
        return rc;
    rc = render_log(&t, out);
    if (rc == SL_OK)
        rc = render_groups(&t, out);
    if (rc == SL_OK)
        rc = render_webhooks(&t, now_ms, out);
    sl_txn_abort(&t);
    return rc;
}

sl_err sl_metrics_render(sl_metrics *m, sl_store *store, const sl_server_counters *counters,
                         uint64_t now_ms, char **text, size_t *len)
{
    if (!m || !store || !counters || !text || !len)
        return SL_ERR_INVALID;
    sl_mtext out;
    sl_mtext_init(&out);
    sl_err rc = render_requests(m, &out);
    if (rc == SL_OK)
        rc = render_server(counters, now_ms, &out);
    if (rc == SL_OK)
        rc = render_storage(store, &out);
    if (rc == SL_OK)
        rc = render_store(store, now_ms, &out);
    if (rc == SL_OK)
        rc = sl_mtext_take(&out, text, len);
    sl_mtext_free(&out);
    return rc;
}
