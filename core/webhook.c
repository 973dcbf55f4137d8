/* webhook.c: webhook subscriptions in the store: new ids and secrets,
 * create / update / delete / get / list, enable and disable, secret
 * rotation and statistics. The subscription's group "_wh.<id>" is kept in
 * step with its configuration here. Configuration checks and ids are in
 * webhook_config.c; reports and retries (what the bridge hands back) in
 * webhook_report.c; records in webhook_record.c; the attempt log in
 * delivery_log.c. See webhook.h; layouts in core/FORMAT.md.
 */
#include "webhook.h"

#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <sys/random.h>
#include "base64.h"
#include "bytes.h"
#include "db.h"
#include "delivery_log.h"
#include "group_record.h"
#include "topic.h"
#include "webhook_record.h"

#define SECRET_PREFIX "whsec_"
#define SECRET_PREFIX_LEN 6
#define SECRET_RAW_LEN 32
#define OVERLAP_MAX_MS 2592000000ull /* 30 days */
#define ID_TRIES 16                  /* fresh random ids tried before giving up */
#define REASON_MANUAL "manual"
#define UNREPORTED_MAX 3             /* deliveries the group allows beyond the schedule
                                        for attempts never reported (bridge crash) */

/* ---- secrets and ids -------------------------------------------------------- */

static sl_err random_bytes(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((uint8_t *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return SL_ERR_STORAGE;
        got += (size_t)r;
    }
    return SL_OK;
}

/* A new signing secret: "whsec_" + base64 of 32 random bytes. */
static sl_err new_secret(char out[SL_WEBHOOK_SECRET_LEN + 1])
{
    uint8_t raw[SECRET_RAW_LEN];
    sl_err rc = random_bytes(raw, sizeof raw);
    if (rc != SL_OK)
        return rc;
    memcpy(out, SECRET_PREFIX, SECRET_PREFIX_LEN);
    sl_base64_encode(raw, sizeof raw, out + SECRET_PREFIX_LEN);
    memset(raw, 0, sizeof raw);
    return SL_OK;
}

/* A random key that no subscription (nor group "_wh.<id>") uses yet. */
static sl_err new_key(sl_txn *w, uint64_t *key)
{
    for (int i = 0; i < ID_TRIES; i++) {
        uint8_t raw[8];
        sl_err rc = random_bytes(raw, sizeof raw);
        if (rc != SL_OK)
            return rc;
        *key = sl_get_u64(raw);
        sl_webhook_view v;
        rc = sl_webhook_rec_get(w, *key, &v);
        if (rc == SL_OK)
            continue; /* taken: draw again */
        if (rc != SL_ERR_NOT_FOUND)
            return rc;
        sl_group_rec g;
        char id[SL_WEBHOOK_ID_LEN + 1];
        sl_webhook_key_format(*key, id);
        sl_webhook_group_name(id, v.group);
        rc = sl_group_rec_load(w, v.group, &g);
        if (rc == SL_ERR_NOT_FOUND)
            return SL_OK;
        if (rc != SL_OK)
            return rc;
    }
    return SL_ERR_EXISTS;
}

/* The group of subscription id with configuration c. */
static void group_config_of(const char *id, const sl_webhook_config *c, sl_group_config *g)
{
    sl_group_config_default(g);
    sl_webhook_group_name(id, g->name);
    uint32_t n = c->nfilters > SL_WEBHOOK_FILTERS_MAX ? SL_WEBHOOK_FILTERS_MAX : c->nfilters;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = c->filters[i].len > SL_TOPIC_MAX ? SL_TOPIC_MAX : c->filters[i].len;
        memcpy(g->filters[i], c->filters[i].ptr, len);
        g->filters[i][len] = '\0';
    }
    memcpy(g->filters[n], g->name, strlen(g->name) + 1); /* the test topic */
    g->nfilters = n + 1;
    g->start = SL_START_LATEST;
    g->ack_wait_ms = 2 * c->timeout_ms + 1000;
    /* the report dead-letters after attempt nretry + 1; the group's own limit
     * only catches leases that end unreported, and a bridge restart must not
     * send what it was posting to the DLQ */
    g->max_deliveries = c->nretry + 1 + UNREPORTED_MAX;
    g->max_inflight = c->max_in_flight;
    g->nbackoff = c->nretry;
    memcpy(g->backoff_ms, c->retry_ms, sizeof c->retry_ms[0] * c->nretry);
}

/* ---- shared steps ---------------------------------------------------------- */

static bool is_write(const sl_txn *w)
{
    return w && w->txn && w->write;
}

/* Load the subscription id: SL_ERR_NOT_FOUND also for a malformed id. */
static sl_err load(sl_txn *t, const char *id, uint64_t *key, sl_webhook_view *v)
{
    if (!t || !t->txn || !id || !v)
        return SL_ERR_INVALID;
    if (!sl_webhook_key_parse(sl_slice_of(id), key))
        return SL_ERR_NOT_FOUND;
    return sl_webhook_rec_get(t, *key, v);
}

/* Enable v, or disable it with reason "manual" (a disabled one keeps its
 * reason and time). */
static void apply_active(sl_webhook_view *v, bool active, uint64_t now_ms)
{
    if (active) {
        v->config.active = true;
        v->disabled_reason = (sl_slice){"", 0};
        v->disabled_ms = 0;
    } else if (v->config.active) {
        v->config.active = false;
        v->disabled_reason = sl_slice_of(REASON_MANUAL);
        v->disabled_ms = now_ms;
    }
}

/* Leave out the secrets that expired by now_ms (the view only). */
static void drop_expired(sl_webhook_view *v, uint64_t now_ms)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->nsecrets; i++)
        if (v->secrets[i].expires_ms == 0 || v->secrets[i].expires_ms > now_ms)
            v->secrets[n++] = v->secrets[i];
    v->nsecrets = n;
}

/* Finish a view for the caller: live secrets, consecutive failures. */
static sl_err finish_view(sl_txn *t, uint64_t key, uint64_t now_ms, sl_webhook_view *v)
{
    sl_webhook_stats_rec s;
    sl_err rc = sl_webhook_stats_get(t, key, &s);
    drop_expired(v, now_ms);
    v->consecutive_failures = s.consecutive_failures;
    return rc;
}

/* ---- create / update / delete --------------------------------------------- */

sl_err sl_webhook_create(sl_txn *w, const sl_webhook_config *cfg, uint64_t now_ms,
                         char id_out[SL_WEBHOOK_ID_LEN + 1],
                         char secret_out[SL_WEBHOOK_SECRET_LEN + 1])
{
    if (!is_write(w) || !cfg || !id_out || !secret_out)
        return SL_ERR_INVALID;
    sl_err rc = sl_webhook_config_check(cfg, NULL);
    if (rc != SL_OK)
        return rc;
    uint64_t key = 0;
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
    rc = new_key(w, &key);
    if (rc == SL_OK)
        rc = new_secret(secret);
    if (rc != SL_OK)
        return rc;
    sl_webhook_view v;
    memset(&v, 0, sizeof v);
    sl_webhook_key_format(key, v.id);
    v.config = *cfg;
    v.created_ms = v.updated_ms = now_ms;
    v.config.active = true;
    v.disabled_reason = (sl_slice){"", 0};
    apply_active(&v, cfg->active, now_ms);
    v.nsecrets = 1;
    v.secrets[0] = (sl_webhook_secret){{secret, SL_WEBHOOK_SECRET_LEN}, 0};
    sl_group_config g;
    group_config_of(v.id, cfg, &g);
    rc = sl_webhook_rec_put(w, key, &v);
    if (rc == SL_OK)
        rc = sl_group_create(w, &g, now_ms);
    if (rc == SL_OK) {
        memcpy(id_out, v.id, sizeof v.id);
        memcpy(secret_out, secret, sizeof secret);
    }
    memset(secret, 0, sizeof secret);
    return rc;
}

/* Copy the fields of src named by given into dst. */
static void merge(sl_webhook_config *dst, const sl_webhook_config *src, unsigned given)
{
    if (given & SL_WEBHOOK_GIVEN_NAME)
        dst->name = src->name;
    if (given & SL_WEBHOOK_GIVEN_DESCRIPTION)
        dst->description = src->description;
    if (given & SL_WEBHOOK_GIVEN_URL)
        dst->url = src->url;
    if (given & SL_WEBHOOK_GIVEN_FILTERS) {
        dst->nfilters = src->nfilters;
        memcpy(dst->filters, src->filters, sizeof dst->filters);
    }
    if (given & SL_WEBHOOK_GIVEN_RETRY) {
        dst->nretry = src->nretry;
        memcpy(dst->retry_ms, src->retry_ms, sizeof dst->retry_ms);
    }
    if (given & SL_WEBHOOK_GIVEN_TIMEOUT)
        dst->timeout_ms = src->timeout_ms;
    if (given & SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT)
        dst->max_in_flight = src->max_in_flight;
    if (given & SL_WEBHOOK_GIVEN_RATE_LIMIT)
        dst->rate_limit = src->rate_limit;
    if (given & SL_WEBHOOK_GIVEN_DISABLE_AFTER)
        dst->disable_after = src->disable_after;
    if (given & SL_WEBHOOK_GIVEN_HEADERS) {
        dst->nheaders = src->nheaders;
        memcpy(dst->headers, src->headers, sizeof dst->headers);
    }
}

sl_err sl_webhook_update(sl_txn *w, const char *id, const sl_webhook_config *cfg,
                         unsigned given, uint64_t now_ms)
{
    if (!is_write(w) || !cfg)
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_err rc = load(w, id, &key, &v);
    if (rc != SL_OK)
        return rc;
    merge(&v.config, cfg, given);
    rc = sl_webhook_config_check(&v.config, NULL);
    if (rc != SL_OK)
        return rc;
    if (given & SL_WEBHOOK_GIVEN_ACTIVE)
        apply_active(&v, cfg->active, now_ms);
    v.updated_ms = now_ms;
    sl_group_config g;
    group_config_of(v.id, &v.config, &g); /* copies: before any write */
    rc = sl_webhook_rec_put(w, key, &v);
    if (rc == SL_OK)
        rc = sl_group_update(w, &g);
    return rc;
}

sl_err sl_webhook_delete(sl_txn *w, const char *id)
{
    if (!is_write(w))
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_err rc = load(w, id, &key, &v);
    if (rc != SL_OK)
        return rc;
    char group[SL_GROUP_NAME_MAX + 1];
    memcpy(group, v.group, sizeof group);
    rc = sl_group_delete(w, group);
    if (rc == SL_ERR_NOT_FOUND)
        rc = SL_OK; /* gone already: the rest still goes */
    if (rc == SL_OK)
        rc = sl_webhook_rec_del(w, key);
    if (rc == SL_OK)
        rc = sl_webhook_stats_del(w, key);
    if (rc == SL_OK)
        rc = sl_delivery_log_delete_all(w, key);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

sl_err sl_webhook_get(sl_txn *t, const char *id, uint64_t now_ms, sl_webhook_view *out)
{
    uint64_t key;
    sl_err rc = load(t, id, &key, out);
    return rc == SL_OK ? finish_view(t, key, now_ms, out) : rc;
}

/* Position c on the first subscription after the id after (NULL or "":
 * the first one). *found false when there is none. */
static sl_err seek_after(MDB_cursor *c, const char *after, MDB_val *k, MDB_val *v, bool *found)
{
    uint64_t key;
    uint8_t kb[SL_WEBHOOK_KEY_LEN];
    int rc;
    *found = false;
    if (!after || !after[0]) {
        rc = mdb_cursor_get(c, k, v, MDB_FIRST);
    } else {
        if (!sl_webhook_key_parse(sl_slice_of(after), &key))
            return SL_ERR_INVALID;
        if (key == UINT64_MAX)
            return SL_OK;
        sl_put_u64(kb, key + 1);
        k->mv_size = sizeof kb;
        k->mv_data = kb;
        rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    }
    *found = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* One listing call. */
typedef struct list_run {
    sl_txn *t;          /* the caller's transaction */
    size_t limit;       /* most subscriptions given */
    uint64_t now_ms;    /* for expired secrets */
    sl_webhook_cb cb;   /* where they go */
    void *ctx;          /* cb's context */
} list_run;

static sl_err list_walk(list_run *r, MDB_cursor *c, MDB_val k, MDB_val v,
                        char next_after[SL_WEBHOOK_ID_LEN + 1])
{
    sl_webhook_view view;
    size_t given = 0;
    int mrc = 0;
    for (; mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (given == r->limit) {
            memcpy(next_after, view.id, sizeof view.id);
            return SL_OK;
        }
        sl_err rc = sl_webhook_rec_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &view);
        if (rc == SL_OK)
            rc = finish_view(r->t, sl_get_u64(k.mv_data), r->now_ms, &view);
        if (rc == SL_OK)
            rc = r->cb(r->ctx, &view);
        if (rc != SL_OK)
            return rc;
        given++;
    }
    return mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

sl_err sl_webhook_list(sl_txn *t, const char *after, size_t limit, uint64_t now_ms,
                       sl_webhook_cb cb, void *ctx, char next_after[SL_WEBHOOK_ID_LEN + 1])
{
    if (!t || !t->txn || !cb || !next_after || limit < 1 || limit > SL_WEBHOOK_PAGE_MAX)
        return SL_ERR_INVALID;
    char from[SL_WEBHOOK_ID_LEN + 1] = ""; /* after may be next_after itself */
    if (after && strnlen(after, sizeof from) < sizeof from)
        memcpy(from, after, strlen(after) + 1);
    else if (after)
        return SL_ERR_INVALID;
    next_after[0] = '\0';
    MDB_cursor *c;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_WEBHOOKS), &c);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    MDB_val k, v;
    bool found;
    list_run r = {t, limit, now_ms, cb, ctx};
    sl_err rc = seek_after(c, from, &k, &v, &found);
    if (rc == SL_OK && found)
        rc = list_walk(&r, c, k, v, next_after);
    mdb_cursor_close(c);
    return rc;
}

sl_err sl_webhook_get_stats(sl_txn *t, const char *id, sl_webhook_stats *out)
{
    if (!out)
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_webhook_stats_rec s;
    sl_group_info g;
    sl_err rc = load(t, id, &key, &v);
    if (rc == SL_OK)
        rc = sl_webhook_stats_get(t, key, &s);
    if (rc != SL_OK)
        return rc;
    rc = sl_group_get(t, v.group, &g);
    if (rc == SL_ERR_NOT_FOUND) { /* no group (deleted behind our back): nothing pending */
        memset(&g, 0, sizeof g);
        rc = SL_OK;
    }
    if (rc != SL_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->attempts = s.attempts;
    out->successes = s.successes;
    out->failures = s.failures;
    out->dead = s.dead;
    out->last_status = s.last_status;
    memcpy(out->last_error, s.last_error, s.last_error_len);
    out->last_error[s.last_error_len] = '\0';
    out->last_attempt_ms = s.last_attempt_ms;
    out->last_success_ms = s.last_success_ms;
    out->latency_p50_us = sl_webhook_stats_percentile(&s, 50);
    out->latency_p99_us = sl_webhook_stats_percentile(&s, 99);
    out->in_flight = g.in_flight;
    out->waiting = g.waiting;
    out->dlq_size = g.dlq_size;
    out->backlog = sl_add_sat(g.lag, (uint64_t)g.in_flight + g.waiting);
    return SL_OK;
}

/* ---- state changes -------------------------------------------------------------- */

sl_err sl_webhook_set_active(sl_txn *w, const char *id, bool active, uint64_t now_ms)
{
    if (!is_write(w))
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_err rc = load(w, id, &key, &v);
    if (rc != SL_OK)
        return rc;
    apply_active(&v, active, now_ms);
    v.updated_ms = now_ms;
    return sl_webhook_rec_put(w, key, &v);
}

sl_err sl_webhook_reset(sl_txn *w, const char *id, uint64_t now_ms)
{
    if (!is_write(w))
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_webhook_stats_rec s;
    sl_err rc = load(w, id, &key, &v);
    if (rc == SL_OK)
        rc = sl_webhook_stats_get(w, key, &s);
    if (rc != SL_OK)
        return rc;
    apply_active(&v, true, now_ms);
    v.updated_ms = now_ms;
    rc = sl_webhook_rec_put(w, key, &v);
    if (rc == SL_OK && s.consecutive_failures) {
        s.consecutive_failures = 0;
        rc = sl_webhook_stats_put(w, key, &s);
    }
    return rc;
}

/* The secrets after a rotation: fresh first, then the previous current one
 * until now + overlap (dropped at once without overlap), then the others
 * that have not expired; the oldest go past SL_WEBHOOK_SECRETS_MAX. */
static void rotate_list(sl_webhook_view *v, const char *fresh, uint64_t overlap_ms,
                        uint64_t now_ms)
{
    sl_webhook_secret next[SL_WEBHOOK_SECRETS_MAX];
    uint32_t n = 0;
    next[n++] = (sl_webhook_secret){{fresh, SL_WEBHOOK_SECRET_LEN}, 0};
    for (uint32_t i = 0; i < v->nsecrets && n < SL_WEBHOOK_SECRETS_MAX; i++) {
        sl_webhook_secret s = v->secrets[i];
        if (s.expires_ms == 0 && overlap_ms == 0)
            continue;
        if (s.expires_ms == 0)
            s.expires_ms = sl_add_sat(now_ms, overlap_ms);
        else if (s.expires_ms <= now_ms)
            continue;
        next[n++] = s;
    }
    memcpy(v->secrets, next, sizeof next[0] * n);
    v->nsecrets = n;
}

sl_err sl_webhook_rotate_secret(sl_txn *w, const char *id, uint64_t overlap_ms,
                                uint64_t now_ms, char secret_out[SL_WEBHOOK_SECRET_LEN + 1])
{
    if (!is_write(w) || !secret_out)
        return SL_ERR_INVALID;
    uint64_t key;
    sl_webhook_view v;
    sl_err rc = load(w, id, &key, &v);
    if (rc != SL_OK)
        return rc;
    if (overlap_ms > OVERLAP_MAX_MS)
        return SL_ERR_INVALID;
    char secret[SL_WEBHOOK_SECRET_LEN + 1];
    rc = new_secret(secret);
    if (rc != SL_OK)
        return rc;
    rotate_list(&v, secret, overlap_ms, now_ms);
    v.updated_ms = now_ms;
    rc = sl_webhook_rec_put(w, key, &v);
    if (rc == SL_OK)
        memcpy(secret_out, secret, sizeof secret);
    memset(secret, 0, sizeof secret);
    return rc;
}
