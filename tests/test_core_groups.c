/* test_core_groups.c: consumer groups, leases, dead letters and maintenance
 * against a real store in a temporary directory. Time is passed explicitly
 * (now_ms), so nothing here sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/dlq.h"
#include "core/group.h"
#include "core/group_record.h"
#include "core/lease.h"
#include "core/lease_record.h"
#include "core/log.h"
#include "core/retention.h"
#include "core/store.h"
#include "tests/support.h"
#include "tests/unit.h"

#define T0 1700000000000ull /* a fixed "now" in Unix ms */
#define GOT_MAX 1000

/* ---- fixture: one store in its own directory ----------------------------- */

typedef struct fixture {
    char *dir;           /* temp dir (owned) */
    sl_store *store;     /* open store (owned) */
    sl_retention retention; /* retention the store is opened with */
} fixture;

static sl_err fx_open_store(fixture *f)
{
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f->dir;
    opt.map_initial_bytes = 64ull << 20;
    opt.relaxed_sync = true;
    opt.retention = f->retention;
    return sl_store_open(&opt, &f->store);
}

/* Open a fresh store; max_events / hard set the retention. 0 on success. */
static int fx_open_with(fixture *f, uint64_t max_events, bool hard)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("groups");
    if (!f->dir)
        return -1;
    sl_store_options opt;
    sl_store_options_default(&opt);
    f->retention = opt.retention;
    f->retention.max_events = max_events;
    f->retention.discard_unconsumed = hard;
    return fx_open_store(f) == SL_OK ? 0 : -1;
}

static int fx_open(fixture *f)
{
    return fx_open_with(f, 0, false);
}

static int fx_reopen(fixture *f)
{
    sl_store_close(f->store);
    f->store = NULL;
    return fx_open_store(f) == SL_OK ? 0 : -1;
}

static void fx_close(fixture *f)
{
    sl_store_close(f->store);
    test_rmtree(f->dir);
    free(f->dir);
    memset(f, 0, sizeof *f);
}

/* Append count events of topic at now (in batches); first seq in *first. */
static sl_err append_n(fixture *f, const char *topic, size_t count, uint64_t now,
                       uint64_t *first)
{
    static sl_event_in ev[SL_PUBLISH_BATCH_MAX];
    static sl_append_result res[SL_PUBLISH_BATCH_MAX];
    for (size_t i = 0; i < SL_PUBLISH_BATCH_MAX; i++)
        ev[i] = (sl_event_in){.topic = sl_slice_of(topic), .payload = sl_slice_of("{}")};
    for (size_t done = 0; done < count;) {
        size_t n = count - done < SL_PUBLISH_BATCH_MAX ? count - done : SL_PUBLISH_BATCH_MAX;
        sl_txn w;
        size_t bad;
        sl_err rc = sl_txn_begin_write(f->store, &w);
        if (rc != SL_OK)
            return rc;
        rc = sl_log_append(&w, ev, n, now, res, &bad);
        if (rc != SL_OK) {
            sl_txn_abort(&w);
            return rc;
        }
        if (done == 0 && first)
            *first = res[0].seq;
        rc = sl_txn_commit(&w);
        if (rc != SL_OK)
            return rc;
        done += n;
    }
    return SL_OK;
}

/* Append one event; returns its seq, 0 on failure. */
static uint64_t append(fixture *f, const char *topic, uint64_t now)
{
    uint64_t seq = 0;
    return append_n(f, topic, 1, now, &seq) == SL_OK ? seq : 0;
}

/* ---- groups ---------------------------------------------------------------- */

static void cfg_named(sl_group_config *cfg, const char *name, const char *filter)
{
    sl_group_config_default(cfg);
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    if (filter)
        snprintf(cfg->filters[0], sizeof cfg->filters[0], "%s", filter);
}

static sl_err create(fixture *f, const sl_group_config *cfg, uint64_t now)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_group_create(&w, cfg, now);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

static sl_err create_simple(fixture *f, const char *name, const char *filter,
                            uint64_t ack_wait, uint32_t max_deliveries)
{
    sl_group_config cfg;
    cfg_named(&cfg, name, filter);
    cfg.ack_wait_ms = ack_wait;
    cfg.max_deliveries = max_deliveries;
    return create(f, &cfg, T0);
}

static sl_err info(fixture *f, const char *name, sl_group_info *out)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_group_get(&r, name, out);
    sl_txn_abort(&r);
    return rc;
}

/* Run op(w, ctx) in its own write transaction and commit it. */
typedef sl_err (*write_op)(sl_txn *w, void *ctx);

static sl_err in_write(fixture *f, write_op op, void *ctx)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = op(&w, ctx);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

/* ---- pulling ------------------------------------------------------------------- */

typedef struct got {
    size_t n;                               /* deliveries */
    uint64_t seq[GOT_MAX];
    uint32_t attempt[GOT_MAX];
    uint64_t until[GOT_MAX];
    char token[GOT_MAX][SL_TOKEN_LEN + 1];
    char topic[GOT_MAX][32];
    sl_pull_result res;
} got;

static sl_err collect(void *ctx, const sl_delivery *d)
{
    got *g = ctx;
    if (g->n == GOT_MAX)
        return SL_ERR_TOO_LARGE;
    g->seq[g->n] = d->event.seq;
    g->attempt[g->n] = d->attempt;
    g->until[g->n] = d->lease_until_ms;
    memcpy(g->token[g->n], d->token, sizeof g->token[0]);
    size_t tl = d->event.topic.len < 31 ? d->event.topic.len : 31;
    memcpy(g->topic[g->n], d->event.topic.ptr, tl);
    g->topic[g->n][tl] = '\0';
    g->n++;
    return SL_OK;
}

typedef struct pull_args {
    const char *group;
    size_t max;
    uint64_t now;
    got *g;
} pull_args;

static sl_err pull_op(sl_txn *w, void *ctx)
{
    pull_args *a = ctx;
    return sl_lease_pull(w, a->group, a->max, a->now, collect, a->g, &a->g->res);
}

/* Pull up to max into *g (reset first). */
static sl_err pull(fixture *f, const char *group, size_t max, uint64_t now, got *g)
{
    memset(g, 0, sizeof *g);
    pull_args a = {group, max, now, g};
    return in_write(f, pull_op, &a);
}

typedef struct settle_args {
    const char *group;
    sl_settle_kind kind;
    const sl_slice *tokens;
    size_t n;
    uint64_t delay;
    sl_slice reason;
    uint64_t now;
    sl_token_status *status;
} settle_args;

static sl_err settle_op(sl_txn *w, void *ctx)
{
    settle_args *a = ctx;
    return sl_lease_settle(w, a->group, a->kind, a->tokens, a->n, a->delay, a->reason, a->now,
                           a->status);
}

/* Settle one token; returns its status, or -1 when the call failed. */
static int settle1(fixture *f, const char *group, sl_settle_kind kind, const char *token,
                   uint64_t delay, const char *reason, uint64_t now)
{
    sl_slice tok = sl_slice_of(token);
    sl_token_status st = SL_TOKEN_INVALID;
    settle_args a = {group, kind, &tok, 1, delay, sl_slice_of(reason), now, &st};
    return in_write(f, settle_op, &a) == SL_OK ? (int)st : -1;
}

static int ack(fixture *f, const char *group, const char *token)
{
    return settle1(f, group, SL_SETTLE_ACK, token, 0, NULL, T0);
}

/* ---- dead letters ------------------------------------------------------------ */

typedef struct dl_seen {
    size_t n;
    uint64_t seq[64];
    uint32_t attempts[64];
    uint64_t dead_at[64];
    bool retained[64];
    char reason[64][SL_REASON_MAX + 1];
    char topic[64][32];
} dl_seen;

static sl_err dl_collect(void *ctx, const sl_dead_letter *dl)
{
    dl_seen *s = ctx;
    if (s->n == 64)
        return SL_ERR_TOO_LARGE;
    s->seq[s->n] = dl->seq;
    s->attempts[s->n] = dl->attempts;
    s->dead_at[s->n] = dl->dead_at_ms;
    s->retained[s->n] = dl->event_retained;
    memcpy(s->reason[s->n], dl->reason.ptr, dl->reason.len);
    s->reason[s->n][dl->reason.len] = '\0';
    size_t tl = dl->event.topic.len < 31 ? dl->event.topic.len : 31;
    if (dl->event_retained)
        memcpy(s->topic[s->n], dl->event.topic.ptr, tl);
    s->topic[s->n][dl->event_retained ? tl : 0] = '\0';
    s->n++;
    return SL_OK;
}

static sl_err dlq_list(fixture *f, const char *group, uint64_t after, size_t limit,
                       dl_seen *s, uint64_t *next)
{
    memset(s, 0, sizeof *s);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_dlq_list(&r, group, after, limit, dl_collect, s, next);
    sl_txn_abort(&r);
    return rc;
}

static sl_err dlq_get(fixture *f, const char *group, uint64_t seq, dl_seen *s)
{
    memset(s, 0, sizeof *s);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_dlq_get(&r, group, seq, dl_collect, s);
    sl_txn_abort(&r);
    return rc;
}

typedef struct dlq_args {
    const char *group;
    const uint64_t *seqs;
    size_t n;
    bool all;
    bool replay;
    uint64_t now;
    size_t done;
    uint64_t remaining;
} dlq_args;

static sl_err dlq_op(sl_txn *w, void *ctx)
{
    dlq_args *a = ctx;
    if (a->replay)
        return sl_dlq_replay(w, a->group, a->seqs, a->n, a->all, a->now, &a->done,
                             &a->remaining);
    return sl_dlq_purge(w, a->group, a->seqs, a->n, a->all, &a->done, &a->remaining);
}

typedef struct expire_args {
    uint64_t now;
    size_t max;
    size_t moved;
} expire_args;

static sl_err expire_op(sl_txn *w, void *ctx)
{
    expire_args *a = ctx;
    return sl_lease_expire(w, a->now, a->max, &a->moved);
}

typedef struct maintain_args {
    uint64_t now;
    size_t budget;
    sl_maintenance_result res;
} maintain_args;

static sl_err maintain_op(sl_txn *w, void *ctx)
{
    maintain_args *a = ctx;
    return sl_maintain(w, a->now, a->budget, &a->res);
}

static sl_err floor_of(fixture *f, uint64_t *floor_seq)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_groups_floor(&r, floor_seq);
    sl_txn_abort(&r);
    return rc;
}

static sl_err bounds_of(fixture *f, sl_log_bounds *b)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_get_bounds(&r, b);
    sl_txn_abort(&r);
    return rc;
}

/* ---- configuration ------------------------------------------------------------ */

TEST(test_defaults)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    CHECK(cfg.name[0] == '\0');
    CHECK_EQ_U64(cfg.nfilters, 1);
    CHECK(strcmp(cfg.filters[0], ">") == 0);
    CHECK(cfg.start == SL_START_EARLIEST);
    CHECK_EQ_U64(cfg.ack_wait_ms, 30000);
    CHECK_EQ_U64(cfg.max_deliveries, 5);
    CHECK_EQ_U64(cfg.max_inflight, 1000);
    CHECK_EQ_U64(cfg.nbackoff, 0);
    const char *field = NULL;
    CHECK(sl_group_config_check(&cfg, &field) == SL_ERR_INVALID);
    CHECK(field && strcmp(field, "name") == 0);
    snprintf(cfg.name, sizeof cfg.name, "billing");
    CHECK(sl_group_config_check(&cfg, &field) == SL_OK);
    CHECK(field == NULL);
}

/* Expect cfg (valid but for one change) to fail on field. */
static bool fails_on(const sl_group_config *cfg, const char *field)
{
    const char *got_field = NULL;
    return sl_group_config_check(cfg, &got_field) == SL_ERR_INVALID && got_field &&
           strcmp(got_field, field) == 0;
}

TEST(test_validation)
{
    sl_group_config base, c;
    cfg_named(&base, "ok-name_1.x", NULL);
    CHECK(sl_group_config_check(&base, NULL) == SL_OK);
    c = base, snprintf(c.name, sizeof c.name, "a b");
    CHECK(fails_on(&c, "name"));
    c = base, memset(c.name, 'a', sizeof c.name); /* not NUL-terminated */
    CHECK(fails_on(&c, "name"));
    c = base, memset(c.name, 'a', SL_GROUP_NAME_MAX), c.name[SL_GROUP_NAME_MAX] = '\0';
    CHECK(sl_group_config_check(&c, NULL) == SL_OK); /* 64 bytes is fine */
    c = base, c.nfilters = 0;
    CHECK(fails_on(&c, "filters"));
    c = base, c.nfilters = SL_FILTERS_MAX + 1;
    CHECK(fails_on(&c, "filters"));
    c = base, snprintf(c.filters[0], sizeof c.filters[0], "a..b");
    CHECK(fails_on(&c, "filters"));
    c = base, snprintf(c.filters[0], sizeof c.filters[0], "order.>.x");
    CHECK(fails_on(&c, "filters"));
    c = base, c.nfilters = 2, c.filters[1][0] = '\0';
    CHECK(fails_on(&c, "filters"));
    c = base, c.start = (sl_start_kind)9;
    CHECK(fails_on(&c, "start"));
    c = base, c.ack_wait_ms = 0;
    CHECK(fails_on(&c, "ack_wait_ms"));
    c = base, c.ack_wait_ms = 86400001;
    CHECK(fails_on(&c, "ack_wait_ms"));
    c = base, c.max_deliveries = 0;
    CHECK(fails_on(&c, "max_deliveries"));
    c = base, c.max_deliveries = 1001;
    CHECK(fails_on(&c, "max_deliveries"));
    c = base, c.max_inflight = 0;
    CHECK(fails_on(&c, "max_inflight"));
    c = base, c.max_inflight = 100001;
    CHECK(fails_on(&c, "max_inflight"));
    c = base, c.nbackoff = 17;
    CHECK(fails_on(&c, "backoff_ms"));
    c = base, c.nbackoff = 2, c.backoff_ms[1] = 86400001;
    CHECK(fails_on(&c, "backoff_ms"));
    CHECK(sl_group_config_check(NULL, NULL) == SL_ERR_INVALID);

    fixture f;
    REQUIRE(fx_open(&f) == 0);
    c = base, c.max_inflight = 0;
    CHECK(create(&f, &c, T0) == SL_ERR_INVALID);
    CHECK(create(&f, &base, T0) == SL_OK);
    CHECK(create(&f, &base, T0) == SL_ERR_EXISTS);
    sl_group_info gi;
    CHECK(info(&f, "no such", &gi) == SL_ERR_INVALID);
    CHECK(info(&f, "nosuch", &gi) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

typedef struct names {
    size_t n;
    char name[8][SL_GROUP_NAME_MAX + 1];
} names;

static sl_err name_collect(void *ctx, const sl_group_info *gi)
{
    names *ns = ctx;
    if (ns->n < 8)
        memcpy(ns->name[ns->n++], gi->config.name, sizeof ns->name[0]);
    return SL_OK;
}

static sl_err list_names(fixture *f, names *ns)
{
    memset(ns, 0, sizeof *ns);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_groups_each(&r, name_collect, ns);
    sl_txn_abort(&r);
    return rc;
}

static sl_err update_op(sl_txn *w, void *ctx)
{
    return sl_group_update(w, ctx);
}

static sl_err delete_op(sl_txn *w, void *ctx)
{
    return sl_group_delete(w, ctx);
}

TEST(test_create_get_list_update_delete)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(append(&f, "order.created", T0) == 1);
    sl_group_config cfg;
    cfg_named(&cfg, "zeta", NULL);
    REQUIRE(create(&f, &cfg, T0 + 5) == SL_OK);
    cfg_named(&cfg, "alpha", "order.*");
    cfg.nbackoff = 2, cfg.backoff_ms[0] = 10, cfg.backoff_ms[1] = 20;
    REQUIRE(create(&f, &cfg, T0 + 6) == SL_OK);

    sl_group_info gi;
    REQUIRE(info(&f, "alpha", &gi) == SL_OK);
    CHECK(strcmp(gi.config.name, "alpha") == 0);
    CHECK(strcmp(gi.config.filters[0], "order.*") == 0);
    CHECK_EQ_U64(gi.config.nbackoff, 2);
    CHECK_EQ_U64(gi.config.backoff_ms[1], 20);
    CHECK_EQ_U64(gi.cursor, 1);
    CHECK_EQ_U64(gi.lag, 1);
    CHECK_EQ_U64(gi.created_ms, T0 + 6);
    CHECK_EQ_U64(gi.in_flight + gi.waiting + gi.delivered + gi.acked + gi.dlq_size, 0);

    names ns;
    REQUIRE(list_names(&f, &ns) == SL_OK);
    CHECK_EQ_U64(ns.n, 2);
    CHECK(strcmp(ns.name[0], "alpha") == 0 && strcmp(ns.name[1], "zeta") == 0);

    got g;
    REQUIRE(pull(&f, "alpha", 10, T0, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 1);

    /* update: new limits and filters; the cursor, counters and start stay */
    cfg_named(&cfg, "alpha", "payment.>");
    cfg.nfilters = 2;
    snprintf(cfg.filters[1], sizeof cfg.filters[1], "order.*");
    cfg.max_deliveries = 3;
    cfg.start = SL_START_LATEST;
    REQUIRE(in_write(&f, update_op, &cfg) == SL_OK);
    REQUIRE(info(&f, "alpha", &gi) == SL_OK);
    CHECK_EQ_U64(gi.config.nfilters, 2);
    CHECK(strcmp(gi.config.filters[0], "payment.>") == 0);
    CHECK_EQ_U64(gi.config.max_deliveries, 3);
    CHECK(gi.config.start == SL_START_EARLIEST);
    CHECK_EQ_U64(gi.cursor, 2);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK_EQ_U64(gi.delivered, 1);
    CHECK_EQ_U64(gi.config.nbackoff, 0);
    cfg.max_inflight = 0;
    CHECK(in_write(&f, update_op, &cfg) == SL_ERR_INVALID);
    cfg_named(&cfg, "nosuch", NULL);
    CHECK(in_write(&f, update_op, &cfg) == SL_ERR_NOT_FOUND);

    CHECK(in_write(&f, delete_op, "alpha") == SL_OK);
    CHECK(info(&f, "alpha", &gi) == SL_ERR_NOT_FOUND);
    CHECK(in_write(&f, delete_op, "alpha") == SL_ERR_NOT_FOUND);
    REQUIRE(list_names(&f, &ns) == SL_OK);
    CHECK(ns.n == 1 && strcmp(ns.name[0], "zeta") == 0);
    fx_close(&f);
}

/* ---- pulling -------------------------------------------------------------------- */

TEST(test_fan_out)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "one", NULL, 30000, 5) == SL_OK);
    REQUIRE(create_simple(&f, "two", NULL, 30000, 5) == SL_OK);
    uint64_t first = 0;
    REQUIRE(append_n(&f, "order.created", 5, T0, &first) == SL_OK && first == 1);
    static got a, b;
    REQUIRE(pull(&f, "one", 10, T0, &a) == SL_OK);
    REQUIRE(pull(&f, "two", 10, T0, &b) == SL_OK);
    REQUIRE(a.n == 5 && b.n == 5);
    for (size_t i = 0; i < 5; i++) {
        CHECK_EQ_U64(a.seq[i], i + 1);
        CHECK_EQ_U64(b.seq[i], i + 1);
        CHECK_EQ_U64(a.attempt[i], 1);
        CHECK_EQ_U64(a.until[i], T0 + 30000);
        CHECK(strcmp(a.topic[i], "order.created") == 0);
        CHECK(strlen(a.token[i]) == SL_TOKEN_LEN);
        CHECK(strcmp(a.token[i], b.token[i]) != 0);
    }
    CHECK(ack(&f, "one", a.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "two", b.token[0]) == SL_TOKEN_OK);
    fx_close(&f);
}

TEST(test_one_group_two_consumers_disjoint)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 30000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 6, T0, NULL) == SL_OK);
    static got a, b, c;
    REQUIRE(pull(&f, "g", 3, T0, &a) == SL_OK);
    REQUIRE(pull(&f, "g", 3, T0, &b) == SL_OK);
    REQUIRE(pull(&f, "g", 3, T0, &c) == SL_OK);
    REQUIRE(a.n == 3 && b.n == 3);
    CHECK_EQ_U64(c.n, 0);
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ_U64(a.seq[i], i + 1);
        CHECK_EQ_U64(b.seq[i], i + 4);
    }
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 6);
    CHECK_EQ_U64(gi.delivered, 6);
    CHECK_EQ_U64(gi.lag, 0);
    CHECK_EQ_U64(gi.cursor, 7);
    CHECK_EQ_U64(c.res.next_due_ms, T0 + 30000);
    fx_close(&f);
}

TEST(test_expiry_redelivers_with_new_token)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got a, b, c;
    REQUIRE(pull(&f, "g", 1, T0, &a) == SL_OK);
    REQUIRE(a.n == 1);
    CHECK_EQ_U64(a.until[0], T0 + 1000);
    REQUIRE(pull(&f, "g", 1, T0 + 999, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, T0 + 1000);
    REQUIRE(pull(&f, "g", 1, T0 + 1000, &c) == SL_OK);
    REQUIRE(c.n == 1);
    CHECK_EQ_U64(c.seq[0], 1);
    CHECK_EQ_U64(c.attempt[0], 2);
    CHECK_EQ_U64(c.until[0], T0 + 2000);
    CHECK(strcmp(a.token[0], c.token[0]) != 0);

    CHECK(ack(&f, "g", a.token[0]) == SL_TOKEN_STALE);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, a.token[0], SL_DELAY_DEFAULT, NULL, T0) ==
          SL_TOKEN_STALE);
    CHECK(ack(&f, "g", c.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", c.token[0]) == SL_TOKEN_GONE);
    CHECK(ack(&f, "g", a.token[0]) == SL_TOKEN_GONE);

    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.delivered, 2);
    CHECK_EQ_U64(gi.redelivered, 1);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.waiting, 0);
    REQUIRE(pull(&f, "g", 1, T0 + 5000, &c) == SL_OK);
    CHECK_EQ_U64(c.n, 0);
    CHECK_EQ_U64(c.res.next_due_ms, 0);
    fx_close(&f);
}

TEST(test_ack_of_ended_lease_is_accepted)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got a, b;
    REQUIRE(pull(&f, "g", 1, T0, &a) == SL_OK && a.n == 1);
    /* the lease ended, nobody pulled since: the late ack still counts */
    CHECK(settle1(&f, "g", SL_SETTLE_ACK, a.token[0], 0, NULL, T0 + 5000) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 1, T0 + 6000, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    fx_close(&f);
}

TEST(test_nack_with_delay)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.max_inflight = 1;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append_n(&f, "t", 2, T0, NULL) == SL_OK);
    static got a, b, c;
    REQUIRE(pull(&f, "g", 5, T0, &a) == SL_OK);
    REQUIRE(a.n == 1 && a.seq[0] == 1);
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, a.token[0], 5000, "not yet", T0 + 10) ==
          SL_TOKEN_OK);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.waiting, 1);
    /* the nacked event does not hold the one in-flight slot */
    REQUIRE(pull(&f, "g", 5, T0 + 20, &b) == SL_OK);
    REQUIRE(b.n == 1);
    CHECK_EQ_U64(b.seq[0], 2);
    CHECK(ack(&f, "g", b.token[0]) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 5, T0 + 5009, &c) == SL_OK);
    CHECK_EQ_U64(c.n, 0);
    CHECK_EQ_U64(c.res.next_due_ms, T0 + 5010);
    REQUIRE(pull(&f, "g", 5, T0 + 5010, &c) == SL_OK);
    REQUIRE(c.n == 1);
    CHECK_EQ_U64(c.seq[0], 1);
    CHECK_EQ_U64(c.attempt[0], 2);
    /* a nack without delay and without backoff: due at once */
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, c.token[0], SL_DELAY_DEFAULT, NULL, T0 + 5011) ==
          SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 5, T0 + 5011, &c) == SL_OK);
    REQUIRE(c.n == 1);
    CHECK_EQ_U64(c.attempt[0], 3);
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK_EQ_U64(gi.waiting, 0);
    CHECK_EQ_U64(gi.redelivered, 2);
    fx_close(&f);
}

TEST(test_nack_default_backoff)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.nbackoff = 2, cfg.backoff_ms[0] = 100, cfg.backoff_ms[1] = 1000;
    cfg.max_deliveries = 10;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    uint64_t now = T0;
    const uint64_t expect_delay[] = {100, 1000, 1000};
    REQUIRE(pull(&f, "g", 1, now, &g) == SL_OK && g.n == 1);
    for (size_t i = 0; i < 3; i++) {
        CHECK(settle1(&f, "g", SL_SETTLE_NACK, g.token[0], SL_DELAY_DEFAULT, NULL, now) ==
              SL_TOKEN_OK);
        char token[SL_TOKEN_LEN + 1];
        memcpy(token, g.token[0], sizeof token);
        REQUIRE(pull(&f, "g", 1, now + expect_delay[i] - 1, &g) == SL_OK);
        CHECK_EQ_U64(g.n, 0);
        CHECK_EQ_U64(g.res.next_due_ms, now + expect_delay[i]);
        /* a repeated nack of a waiting lease is accepted (a retried request) */
        if (i == 0)
            CHECK(settle1(&f, "g", SL_SETTLE_NACK, token, SL_DELAY_DEFAULT, NULL, now) ==
                  SL_TOKEN_OK);
        now += expect_delay[i];
        REQUIRE(pull(&f, "g", 1, now, &g) == SL_OK);
        REQUIRE(g.n == 1);
        CHECK_EQ_U64(g.attempt[0], i + 2);
    }
    fx_close(&f);
}

TEST(test_lease_end_waits_for_backoff)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.ack_wait_ms = 1000;
    cfg.nbackoff = 1, cfg.backoff_ms[0] = 500;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    char token[SL_TOKEN_LEN + 1];
    memcpy(token, g.token[0], sizeof token);
    REQUIRE(pull(&f, "g", 1, T0 + 1000, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK_EQ_U64(g.res.next_due_ms, T0 + 1500);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.waiting, 1);
    /* waiting: extend is refused, the pending delivery can still be acked */
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, token, SL_DELAY_DEFAULT, NULL, T0 + 1001) ==
          SL_TOKEN_STALE);
    REQUIRE(pull(&f, "g", 1, T0 + 1500, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.attempt[0], 2);
    CHECK(ack(&f, "g", token) == SL_TOKEN_STALE);
    fx_close(&f);
}

TEST(test_extend_keeps_lease)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    char token[SL_TOKEN_LEN + 1];
    memcpy(token, g.token[0], sizeof token);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, token, SL_DELAY_DEFAULT, NULL, T0 + 900) ==
          SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 1, T0 + 1000, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK_EQ_U64(g.res.next_due_ms, T0 + 1900);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, token, 5000, NULL, T0 + 1800) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 1, T0 + 6799, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    REQUIRE(pull(&f, "g", 1, T0 + 6800, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.attempt[0], 2);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, token, SL_DELAY_DEFAULT, NULL, T0 + 6800) ==
          SL_TOKEN_STALE);
    /* extend of a nacked lease: refused */
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, g.token[0], 100000, NULL, T0 + 6800) ==
          SL_TOKEN_OK);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, g.token[0], SL_DELAY_DEFAULT, NULL, T0 + 6801) ==
          SL_TOKEN_STALE);
    fx_close(&f);
}

TEST(test_term_to_dlq_with_reason)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append_n(&f, "order.created", 3, T0, NULL) == SL_OK);
    static got g;
    REQUIRE(pull(&f, "g", 3, T0, &g) == SL_OK && g.n == 3);
    CHECK(settle1(&f, "g", SL_SETTLE_TERM, g.token[0], 0, "bad payload", T0 + 7) ==
          SL_TOKEN_OK);
    CHECK(settle1(&f, "g", SL_SETTLE_TERM, g.token[1], 0, NULL, T0 + 8) == SL_TOKEN_OK);
    static char longer[3000];
    memset(longer, 'x', sizeof longer - 1);
    CHECK(settle1(&f, "g", SL_SETTLE_TERM, g.token[2], 0, longer, T0 + 9) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", g.token[0]) == SL_TOKEN_GONE);

    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 3);
    CHECK_EQ_U64(gi.in_flight, 0);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "g", 1, &s) == SL_OK);
    REQUIRE(s.n == 1);
    CHECK_EQ_U64(s.seq[0], 1);
    CHECK_EQ_U64(s.attempts[0], 1);
    CHECK_EQ_U64(s.dead_at[0], T0 + 7);
    CHECK(strcmp(s.reason[0], "bad payload") == 0);
    CHECK(s.retained[0]);
    CHECK(strcmp(s.topic[0], "order.created") == 0);
    REQUIRE(dlq_get(&f, "g", 2, &s) == SL_OK);
    CHECK(strcmp(s.reason[0], "terminated by consumer") == 0);
    REQUIRE(dlq_get(&f, "g", 3, &s) == SL_OK);
    CHECK_EQ_U64(strlen(s.reason[0]), SL_REASON_MAX);
    CHECK(dlq_get(&f, "g", 4, &s) == SL_ERR_NOT_FOUND);
    CHECK(dlq_get(&f, "nosuch", 1, &s) == SL_ERR_NOT_FOUND);
    fx_close(&f);
}

TEST(test_max_deliveries_via_pull)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 100, 2) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    REQUIRE(pull(&f, "g", 1, T0 + 100, &g) == SL_OK && g.n == 1);
    CHECK_EQ_U64(g.attempt[0], 2);
    REQUIRE(pull(&f, "g", 1, T0 + 200, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK_EQ_U64(g.res.dead_lettered, 1);
    CHECK_EQ_U64(g.res.next_due_ms, 0);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 1);
    CHECK_EQ_U64(gi.in_flight, 0);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "g", 1, &s) == SL_OK && s.n == 1);
    CHECK_EQ_U64(s.attempts[0], 2);
    CHECK_EQ_U64(s.dead_at[0], T0 + 200);
    CHECK(strcmp(s.reason[0], "max deliveries exceeded") == 0);
    fx_close(&f);
}

TEST(test_nack_of_last_delivery_dead_letters_with_reason)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 100, 1) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, g.token[0], 10, "downstream 503", T0 + 1) ==
          SL_TOKEN_OK);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "g", 1, &s) == SL_OK && s.n == 1);
    CHECK(strcmp(s.reason[0], "downstream 503") == 0);
    CHECK_EQ_U64(s.attempts[0], 1);
    fx_close(&f);
}

TEST(test_nack_reason_used_when_it_dies_later)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 100, 2) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, g.token[0], 0, "timeout calling crm", T0) ==
          SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    REQUIRE(pull(&f, "g", 1, T0 + 100, &g) == SL_OK);
    CHECK_EQ_U64(g.res.dead_lettered, 1);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "g", 1, &s) == SL_OK && s.n == 1);
    CHECK(strcmp(s.reason[0], "timeout calling crm") == 0);
    fx_close(&f);
}

TEST(test_max_deliveries_via_expire)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "a", NULL, 100, 1) == SL_OK);
    REQUIRE(create_simple(&f, "b", NULL, 100, 2) == SL_OK);
    REQUIRE(append_n(&f, "t", 3, T0, NULL) == SL_OK);
    static got g;
    REQUIRE(pull(&f, "a", 3, T0, &g) == SL_OK && g.n == 3);
    REQUIRE(pull(&f, "b", 3, T0, &g) == SL_OK && g.n == 3);
    expire_args e = {T0 + 99, 10, 0};
    REQUIRE(in_write(&f, expire_op, &e) == SL_OK);
    CHECK_EQ_U64(e.moved, 0);
    e = (expire_args){T0 + 100, 2, 0};
    REQUIRE(in_write(&f, expire_op, &e) == SL_OK);
    CHECK_EQ_U64(e.moved, 2);
    e = (expire_args){T0 + 100, 10, 0};
    REQUIRE(in_write(&f, expire_op, &e) == SL_OK);
    CHECK_EQ_U64(e.moved, 1); /* group b still has a delivery left for each */
    sl_group_info gi;
    REQUIRE(info(&f, "a", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 3);
    CHECK_EQ_U64(gi.in_flight, 0);
    REQUIRE(info(&f, "b", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 0);
    CHECK_EQ_U64(gi.in_flight, 3);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "a", 2, &s) == SL_OK && s.n == 1);
    CHECK(strcmp(s.reason[0], "max deliveries exceeded") == 0);
    CHECK_EQ_U64(s.dead_at[0], T0 + 100);
    fx_close(&f);
}

/* Dead-letter events 1..n of a new group "g" (max_deliveries 1). */
static sl_err make_dead_letters(fixture *f, size_t n)
{
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.max_deliveries = 1;
    cfg.ack_wait_ms = 10;
    cfg.max_inflight = SL_MAX_INFLIGHT_MAX;
    sl_err rc = create(f, &cfg, T0);
    if (rc == SL_OK)
        rc = append_n(f, "order.created", n, T0, NULL);
    static got g;
    for (size_t done = 0; rc == SL_OK && done < n; done += g.n) {
        rc = pull(f, "g", SL_PULL_BATCH_MAX, T0, &g);
        if (rc == SL_OK && g.n == 0)
            rc = SL_ERR_END;
    }
    expire_args e = {T0 + 10, n, 0};
    if (rc == SL_OK)
        rc = in_write(f, expire_op, &e);
    return rc == SL_OK && e.moved != n ? SL_ERR_END : rc;
}

TEST(test_dlq_list_replay_purge)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(make_dead_letters(&f, 5) == SL_OK);
    static dl_seen s;
    uint64_t next = 99;
    REQUIRE(dlq_list(&f, "g", 0, 2, &s, &next) == SL_OK);
    CHECK(s.n == 2 && s.seq[0] == 1 && s.seq[1] == 2);
    CHECK_EQ_U64(next, 2);
    REQUIRE(dlq_list(&f, "g", next, 2, &s, &next) == SL_OK);
    CHECK(s.n == 2 && s.seq[0] == 3 && s.seq[1] == 4);
    CHECK_EQ_U64(next, 4);
    REQUIRE(dlq_list(&f, "g", next, 2, &s, &next) == SL_OK);
    CHECK(s.n == 1 && s.seq[0] == 5);
    CHECK_EQ_U64(next, 0);
    REQUIRE(dlq_list(&f, "g", 0, 5, &s, &next) == SL_OK);
    CHECK_EQ_U64(s.n, 5);
    CHECK_EQ_U64(next, 0);
    CHECK(dlq_list(&f, "g", 0, 0, &s, &next) == SL_ERR_INVALID);
    CHECK(dlq_list(&f, "g", 0, SL_DLQ_PAGE_MAX + 1, &s, &next) == SL_ERR_INVALID);
    CHECK(dlq_list(&f, "nosuch", 0, 5, &s, &next) == SL_ERR_NOT_FOUND);

    const uint64_t pick[] = {2, 99};
    dlq_args a = {"g", pick, 2, false, true, T0 + 50, 0, 7};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK);
    CHECK_EQ_U64(a.done, 1);
    CHECK_EQ_U64(a.remaining, 0);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 4);
    CHECK_EQ_U64(gi.waiting, 1);
    static got g;
    REQUIRE(pull(&f, "g", 10, T0 + 50, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], 2);
    CHECK_EQ_U64(g.attempt[0], 1);
    CHECK(ack(&f, "g", g.token[0]) == SL_TOKEN_OK);

    const uint64_t one[] = {1};
    a = (dlq_args){"g", one, 1, false, false, 0, 0, 0};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK);
    CHECK_EQ_U64(a.done, 1);
    a = (dlq_args){"g", NULL, 0, true, false, 0, 0, 7};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK);
    CHECK_EQ_U64(a.done, 3);
    CHECK_EQ_U64(a.remaining, 0);
    REQUIRE(dlq_list(&f, "g", 0, 10, &s, &next) == SL_OK);
    CHECK_EQ_U64(s.n, 0);
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 0);
    a = (dlq_args){"g", NULL, 0, false, false, 0, 0, 0};
    CHECK(in_write(&f, dlq_op, &a) == SL_ERR_INVALID);
    fx_close(&f);
}

TEST(test_dlq_all_in_batches)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    const size_t n = SL_DLQ_BATCH_MAX + 5;
    REQUIRE(make_dead_letters(&f, n) == SL_OK);
    dlq_args a = {"g", NULL, 0, true, true, T0 + 20, 0, 0};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK);
    CHECK_EQ_U64(a.done, SL_DLQ_BATCH_MAX);
    CHECK_EQ_U64(a.remaining, 5);
    a = (dlq_args){"g", NULL, 0, true, true, T0 + 20, 0, 0};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK);
    CHECK_EQ_U64(a.done, 5);
    CHECK_EQ_U64(a.remaining, 0);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 0);
    CHECK_EQ_U64(gi.waiting, n);
    static got g;
    REQUIRE(pull(&f, "g", 10, T0 + 20, &g) == SL_OK);
    REQUIRE(g.n == 10);
    CHECK_EQ_U64(g.seq[0], 1);
    CHECK_EQ_U64(g.attempt[0], 1);
    fx_close(&f);
}

TEST(test_wildcard_filters)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "star", "order.*", 30000, 5) == SL_OK);
    REQUIRE(create_simple(&f, "tail", "order.>", 30000, 5) == SL_OK);
    sl_group_config cfg;
    cfg_named(&cfg, "multi", "payment.created");
    cfg.nfilters = 2;
    snprintf(cfg.filters[1], sizeof cfg.filters[1], "order.line.*");
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    const char *topics[] = {"order", "order.created", "order.line.added", "payment.created",
                            "orders.x"};
    for (size_t i = 0; i < 5; i++)
        REQUIRE(append(&f, topics[i], T0) == i + 1);
    static got g;
    REQUIRE(pull(&f, "star", 10, T0, &g) == SL_OK);
    CHECK(g.n == 1 && g.seq[0] == 2);
    REQUIRE(pull(&f, "tail", 10, T0, &g) == SL_OK);
    CHECK(g.n == 2 && g.seq[0] == 2 && g.seq[1] == 3);
    REQUIRE(pull(&f, "multi", 10, T0, &g) == SL_OK);
    CHECK(g.n == 2 && g.seq[0] == 3 && g.seq[1] == 4);
    sl_group_info gi;
    REQUIRE(info(&f, "star", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 6);
    fx_close(&f);
}

TEST(test_max_inflight)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.max_inflight = 3;
    cfg.ack_wait_ms = 1000;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append_n(&f, "t", 10, T0, NULL) == SL_OK);
    static got a, b;
    REQUIRE(pull(&f, "g", 10, T0, &a) == SL_OK);
    REQUIRE(a.n == 3);
    REQUIRE(pull(&f, "g", 10, T0, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, T0 + 1000);
    CHECK(ack(&f, "g", a.token[1]) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 10, T0, &b) == SL_OK);
    REQUIRE(b.n == 1);
    CHECK_EQ_U64(b.seq[0], 4);
    /* a nacked event that is due comes before new events */
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, a.token[0], 0, NULL, T0 + 1) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 10, T0 + 2, &b) == SL_OK);
    REQUIRE(b.n == 1);
    CHECK_EQ_U64(b.seq[0], 1);
    /* nacked (not holding a slot), room for one new event */
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, b.token[0], 100, NULL, T0 + 3) == SL_TOKEN_OK);
    REQUIRE(pull(&f, "g", 10, T0 + 4, &b) == SL_OK);
    REQUIRE(b.n == 1);
    CHECK_EQ_U64(b.seq[0], 5);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 3);
    CHECK_EQ_U64(gi.waiting, 1);
    /* full with the nacked event due: it waits for room; the next wake-up is
       when an in-flight lease ends */
    REQUIRE(pull(&f, "g", 10, T0 + 200, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, T0 + 1000);
    fx_close(&f);
}

/* A lease written ahead of the group's cursor (the pull checks for one with
 * a single seek and skips it), and one settle call whose tokens come out of
 * order and twice (the settle session looks them up through one cursor). */
typedef struct ahead_args {
    const char *group;
    uint64_t seq;
} ahead_args;

static sl_err put_waiting_lease(sl_txn *w, void *ctx)
{
    const ahead_args *a = ctx;
    sl_group_rec g;
    sl_err rc = sl_group_rec_load(w, a->group, &g);
    if (rc != SL_OK)
        return rc;
    sl_lease_rec lease = {.state = SL_LEASE_WAITING, .attempt = 0, .due_ms = T0 + 3600000,
                          .delivery = 0};
    return sl_lease_rec_put(w, g.gid, a->seq, &lease, NULL);
}

TEST(test_leases_ahead_of_cursor_and_unordered_acks)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 30000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 6, T0, NULL) == SL_OK);
    ahead_args a3 = {"g", 3}, a5 = {"g", 5};
    REQUIRE(in_write(&f, put_waiting_lease, &a3) == SL_OK);
    REQUIRE(in_write(&f, put_waiting_lease, &a5) == SL_OK);
    static got g;
    REQUIRE(pull(&f, "g", 10, T0, &g) == SL_OK);
    REQUIRE(g.n == 4); /* 3 and 5 are pending already: not new */
    CHECK_EQ_U64(g.seq[0], 1);
    CHECK_EQ_U64(g.seq[1], 2);
    CHECK_EQ_U64(g.seq[2], 4);
    CHECK_EQ_U64(g.seq[3], 6);
    sl_slice tok[5] = {sl_slice_of(g.token[3]), sl_slice_of(g.token[0]),
                       sl_slice_of(g.token[0]), sl_slice_of(g.token[2]),
                       sl_slice_of(g.token[1])};
    sl_token_status st[5];
    settle_args sa = {"g", SL_SETTLE_ACK, tok, 5, 0, sl_slice_of(""), T0 + 1, st};
    REQUIRE(in_write(&f, settle_op, &sa) == SL_OK);
    CHECK(st[0] == SL_TOKEN_OK);
    CHECK(st[1] == SL_TOKEN_OK);
    CHECK(st[2] == SL_TOKEN_GONE);
    CHECK(st[3] == SL_TOKEN_OK);
    CHECK(st[4] == SL_TOKEN_OK);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.waiting, 0); /* put directly: the counters never knew them */
    CHECK_EQ_U64(gi.acked, 4);
    fx_close(&f);
}

TEST(test_start_positions)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(append(&f, "t", T0) == 1);
    REQUIRE(append(&f, "t", T0 + 10) == 2);
    REQUIRE(append(&f, "t", T0 + 20) == 3);
    sl_group_config cfg;
    cfg_named(&cfg, "latest", NULL);
    cfg.start = SL_START_LATEST;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    cfg_named(&cfg, "seq", NULL);
    cfg.start = SL_START_SEQ, cfg.start_value = 2;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    cfg_named(&cfg, "seq0", NULL);
    cfg.start = SL_START_SEQ, cfg.start_value = 0;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    cfg_named(&cfg, "time", NULL);
    cfg.start = SL_START_TIME, cfg.start_value = T0 + 5;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    cfg_named(&cfg, "future", NULL);
    cfg.start = SL_START_TIME, cfg.start_value = T0 + 100000;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append(&f, "t", T0 + 30) == 4);

    sl_group_info gi;
    REQUIRE(info(&f, "latest", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 4);
    REQUIRE(info(&f, "seq", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 2);
    CHECK_EQ_U64(gi.lag, 3);
    REQUIRE(info(&f, "seq0", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 1);
    REQUIRE(info(&f, "time", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 2);
    REQUIRE(info(&f, "future", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 4);
    static got g;
    REQUIRE(pull(&f, "latest", 10, T0 + 30, &g) == SL_OK);
    CHECK(g.n == 1 && g.seq[0] == 4);
    REQUIRE(pull(&f, "time", 10, T0 + 30, &g) == SL_OK);
    CHECK(g.n == 3 && g.seq[0] == 2);
    fx_close(&f);
}

TEST(test_lag_counts)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "all", NULL, 30000, 5) == SL_OK);
    REQUIRE(create_simple(&f, "a", "a.*", 30000, 5) == SL_OK);
    const char *topics[] = {"a.x", "b.x", "a.x", "b.x", "a.x", "b.x", "a.x", "b.x", "a.x", "a.x"};
    for (size_t i = 0; i < 10; i++)
        REQUIRE(append(&f, topics[i], T0) == i + 1);
    sl_group_info gi;
    REQUIRE(info(&f, "all", &gi) == SL_OK);
    CHECK_EQ_U64(gi.lag, 10);
    REQUIRE(info(&f, "a", &gi) == SL_OK);
    CHECK_EQ_U64(gi.lag, 6);
    static got g;
    REQUIRE(pull(&f, "all", 3, T0, &g) == SL_OK && g.n == 3);
    REQUIRE(pull(&f, "a", 2, T0, &g) == SL_OK && g.n == 2);
    CHECK(g.seq[0] == 1 && g.seq[1] == 3);
    REQUIRE(info(&f, "all", &gi) == SL_OK);
    CHECK_EQ_U64(gi.lag, 7);
    REQUIRE(info(&f, "a", &gi) == SL_OK);
    CHECK_EQ_U64(gi.cursor, 4);
    CHECK_EQ_U64(gi.lag, 4);
    REQUIRE(pull(&f, "all", 100, T0, &g) == SL_OK && g.n == 7);
    REQUIRE(info(&f, "all", &gi) == SL_OK);
    CHECK_EQ_U64(gi.lag, 0);
    fx_close(&f);
}

TEST(test_scan_is_bounded)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", "want", 30000, 5) == SL_OK);
    REQUIRE(append_n(&f, "noise", 10001, T0, NULL) == SL_OK);
    REQUIRE(append(&f, "want", T0) == 10002);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.lag, 1);
    static got g;
    REQUIRE(pull(&f, "g", 10, T0 + 1, &g) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK_EQ_U64(g.res.next_due_ms, T0 + 1); /* more to look at: try again now */
    REQUIRE(pull(&f, "g", 10, T0 + 1, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], 10002);
    fx_close(&f);
}

TEST(test_reopen_keeps_leases_and_counters)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 3, T0, NULL) == SL_OK);
    static got g;
    REQUIRE(pull(&f, "g", 2, T0, &g) == SL_OK && g.n == 2);
    char token2[SL_TOKEN_LEN + 1];
    memcpy(token2, g.token[1], sizeof token2);
    CHECK(ack(&f, "g", g.token[0]) == SL_TOKEN_OK);
    REQUIRE(fx_reopen(&f) == 0);

    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK_EQ_U64(gi.acked, 1);
    CHECK_EQ_U64(gi.delivered, 2);
    CHECK_EQ_U64(gi.cursor, 3);
    REQUIRE(pull(&f, "g", 5, T0 + 500, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], 3);
    REQUIRE(pull(&f, "g", 5, T0 + 1000, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], 2);
    CHECK_EQ_U64(g.attempt[0], 2);
    CHECK(strcmp(g.token[0], token2) != 0);
    CHECK(ack(&f, "g", token2) == SL_TOKEN_STALE);
    CHECK(ack(&f, "g", g.token[0]) == SL_TOKEN_OK);
    fx_close(&f);
}

TEST(test_floor_and_maintain)
{
    fixture f;
    REQUIRE(fx_open_with(&f, 2, false) == 0);
    uint64_t floor_seq = 0;
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, UINT64_MAX);
    REQUIRE(append_n(&f, "t", 5, T0, NULL) == SL_OK);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 1);
    maintain_args m = {T0, 100, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.trimmed, 0);

    static got g;
    REQUIRE(pull(&f, "g", 3, T0, &g) == SL_OK && g.n == 3);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 1); /* lease on 1 */
    CHECK(ack(&f, "g", g.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", g.token[1]) == SL_TOKEN_OK);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 3);
    m = (maintain_args){T0, 100, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.trimmed, 2);
    CHECK(!m.res.more);
    sl_log_bounds b;
    REQUIRE(bounds_of(&f, &b) == SL_OK);
    CHECK_EQ_U64(b.first_seq, 3);

    /* a dead letter holds the floor too */
    CHECK(settle1(&f, "g", SL_SETTLE_TERM, g.token[2], 0, "no", T0) == SL_TOKEN_OK);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 3);
    const uint64_t three[] = {3};
    dlq_args a = {"g", three, 1, false, false, 0, 0, 0};
    REQUIRE(in_write(&f, dlq_op, &a) == SL_OK && a.done == 1);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 4); /* the cursor */
    m = (maintain_args){T0, 100, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.trimmed, 1);
    REQUIRE(bounds_of(&f, &b) == SL_OK);
    CHECK_EQ_U64(b.first_seq, 4);
    CHECK_EQ_U64(b.events, 2);

    /* maintenance also dead-letters spent leases, within its budget */
    sl_group_config cfg;
    cfg_named(&cfg, "once", NULL);
    cfg.max_deliveries = 1, cfg.ack_wait_ms = 10;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(pull(&f, "once", 2, T0, &g) == SL_OK && g.n == 2);
    m = (maintain_args){T0 + 10, 1, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.dead_lettered, 1);
    CHECK(m.res.more);
    m = (maintain_args){T0 + 10, 10, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.dead_lettered, 1);
    CHECK(!m.res.more);
    fx_close(&f);
}

TEST(test_hard_retention_drops_leases)
{
    fixture f;
    REQUIRE(fx_open_with(&f, 1, true) == 0);
    sl_group_config cfg;
    cfg_named(&cfg, "g", NULL);
    cfg.ack_wait_ms = 100;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    cfg_named(&cfg, "d", NULL);
    cfg.ack_wait_ms = 100, cfg.max_deliveries = 1;
    REQUIRE(create(&f, &cfg, T0) == SL_OK);
    REQUIRE(append_n(&f, "t", 3, T0, NULL) == SL_OK);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1 && g.seq[0] == 1);
    REQUIRE(pull(&f, "d", 1, T0, &g) == SL_OK && g.n == 1);
    CHECK(settle1(&f, "d", SL_SETTLE_TERM, g.token[0], 0, "x", T0) == SL_TOKEN_OK);
    maintain_args m = {T0, 100, {0}};
    REQUIRE(in_write(&f, maintain_op, &m) == SL_OK);
    CHECK_EQ_U64(m.res.trimmed, 2);
    REQUIRE(pull(&f, "g", 10, T0 + 100, &g) == SL_OK);
    REQUIRE(g.n == 1);
    CHECK_EQ_U64(g.seq[0], 3); /* 1's lease was dropped, 2 is gone */
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 1);
    CHECK_EQ_U64(gi.waiting, 0);
    static dl_seen s;
    REQUIRE(dlq_get(&f, "d", 1, &s) == SL_OK && s.n == 1);
    CHECK(!s.retained[0]);
    fx_close(&f);
}

/* Replace one hex digit of token at i with c. */
static void poke(char *token, size_t i, char c)
{
    token[i] = c;
}

TEST(test_tokens_of_other_groups_are_invalid)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "a", NULL, 30000, 5) == SL_OK);
    REQUIRE(create_simple(&f, "b", NULL, 30000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 2, T0, NULL) == SL_OK);
    static got ga, gb;
    REQUIRE(pull(&f, "a", 2, T0, &ga) == SL_OK && ga.n == 2);
    REQUIRE(pull(&f, "b", 2, T0, &gb) == SL_OK && gb.n == 2);
    CHECK(ack(&f, "b", ga.token[0]) == SL_TOKEN_INVALID);
    CHECK(ack(&f, "a", "xyz") == SL_TOKEN_INVALID);
    CHECK(ack(&f, "a", "") == SL_TOKEN_INVALID);
    char bad[SL_TOKEN_LEN + 2];
    memcpy(bad, ga.token[0], SL_TOKEN_LEN + 1);
    bad[SL_TOKEN_LEN - 1] = '\0';
    CHECK(ack(&f, "a", bad) == SL_TOKEN_INVALID); /* 31 digits */
    memcpy(bad, ga.token[0], SL_TOKEN_LEN + 1);
    poke(bad, 0, 'A');
    CHECK(ack(&f, "a", bad) == SL_TOKEN_INVALID); /* uppercase */
    memcpy(bad, ga.token[0], SL_TOKEN_LEN + 1);
    poke(bad, 5, 'g');
    CHECK(ack(&f, "a", bad) == SL_TOKEN_INVALID);
    memcpy(bad, ga.token[0], SL_TOKEN_LEN + 1);
    poke(bad, 23, bad[23] == '9' ? '8' : '9'); /* another seq: nothing pending */
    CHECK(ack(&f, "a", bad) == SL_TOKEN_GONE);

    /* delete and recreate "a": the old tokens mean nothing to the new group */
    CHECK(in_write(&f, delete_op, "a") == SL_OK);
    REQUIRE(create_simple(&f, "a", NULL, 30000, 5) == SL_OK);
    CHECK(ack(&f, "a", ga.token[1]) == SL_TOKEN_INVALID);
    sl_group_info gi;
    REQUIRE(info(&f, "a", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.cursor, 1);
    REQUIRE(pull(&f, "a", 2, T0, &ga) == SL_OK);
    CHECK_EQ_U64(ga.n, 2);
    CHECK_EQ_U64(ga.attempt[0], 1);
    /* the other group's leases survived the delete */
    CHECK(ack(&f, "b", gb.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "b", gb.token[1]) == SL_TOKEN_OK);
    fx_close(&f);
}

TEST(test_delete_removes_leases_and_dead_letters)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(make_dead_letters(&f, 3) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 4);
    static got g;
    REQUIRE(pull(&f, "g", 5, T0 + 20, &g) == SL_OK && g.n == 1);
    REQUIRE(create_simple(&f, "keep", NULL, 30000, 5) == SL_OK);
    uint64_t floor_seq = 0;
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, 1);
    CHECK(in_write(&f, delete_op, "g") == SL_OK);
    REQUIRE(create_simple(&f, "g", NULL, 30000, 5) == SL_OK);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size + gi.in_flight + gi.waiting + gi.delivered, 0);
    static dl_seen s;
    uint64_t next;
    REQUIRE(dlq_list(&f, "g", 0, 10, &s, &next) == SL_OK);
    CHECK_EQ_U64(s.n, 0);
    CHECK(in_write(&f, delete_op, "keep") == SL_OK);
    CHECK(in_write(&f, delete_op, "g") == SL_OK);
    REQUIRE(floor_of(&f, &floor_seq) == SL_OK);
    CHECK_EQ_U64(floor_seq, UINT64_MAX);
    fx_close(&f);
}

static sl_err bad_pull_op(sl_txn *w, void *ctx)
{
    got *g = ctx;
    sl_err rc = sl_lease_pull(w, "g", 0, T0, collect, g, NULL);
    if (rc != SL_ERR_INVALID)
        return SL_ERR_END;
    rc = sl_lease_pull(w, "g", SL_PULL_BATCH_MAX + 1, T0, collect, g, NULL);
    if (rc != SL_ERR_INVALID)
        return SL_ERR_END;
    rc = sl_lease_pull(w, "nosuch", 1, T0, collect, g, NULL);
    return rc == SL_ERR_NOT_FOUND ? SL_OK : SL_ERR_END;
}

static sl_err bad_settle_op(sl_txn *w, void *ctx)
{
    (void)ctx;
    static sl_slice toks[SL_SETTLE_BATCH_MAX + 1];
    static sl_token_status st[SL_SETTLE_BATCH_MAX + 1];
    sl_err rc = sl_lease_settle(w, "g", SL_SETTLE_ACK, toks, 0, 0, (sl_slice){0}, T0, st);
    if (rc != SL_ERR_INVALID)
        return SL_ERR_END;
    rc = sl_lease_settle(w, "g", SL_SETTLE_ACK, toks, SL_SETTLE_BATCH_MAX + 1, 0,
                         (sl_slice){0}, T0, st);
    if (rc != SL_ERR_TOO_LARGE)
        return SL_ERR_END;
    rc = sl_lease_settle(w, "g", (sl_settle_kind)7, toks, 1, 0, (sl_slice){0}, T0, st);
    if (rc != SL_ERR_INVALID)
        return SL_ERR_END;
    rc = sl_lease_settle(w, "g", SL_SETTLE_ACK, toks, 1, 0, (sl_slice){NULL, 3}, T0, st);
    if (rc != SL_ERR_INVALID)
        return SL_ERR_END;
    rc = sl_lease_settle(w, "nosuch", SL_SETTLE_ACK, toks, 1, 0, (sl_slice){0}, T0, st);
    if (rc != SL_ERR_NOT_FOUND)
        return SL_ERR_END;
    /* a batch of SL_SETTLE_BATCH_MAX empty tokens: each invalid */
    rc = sl_lease_settle(w, "g", SL_SETTLE_ACK, toks, SL_SETTLE_BATCH_MAX, 0, (sl_slice){0},
                         T0, st);
    if (rc != SL_OK || st[0] != SL_TOKEN_INVALID || st[SL_SETTLE_BATCH_MAX - 1] != SL_TOKEN_INVALID)
        return SL_ERR_END;
    return SL_OK;
}

TEST(test_bad_arguments)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 30000, 5) == SL_OK);
    static got g;
    CHECK(in_write(&f, bad_pull_op, &g) == SL_OK);
    CHECK(in_write(&f, bad_settle_op, NULL) == SL_OK);
    CHECK(strcmp(sl_token_status_name(SL_TOKEN_OK), "ok") == 0);
    CHECK(strcmp(sl_token_status_name(SL_TOKEN_STALE), "stale") == 0);
    CHECK(strcmp(sl_token_status_name(SL_TOKEN_GONE), "gone") == 0);
    CHECK(strcmp(sl_token_status_name(SL_TOKEN_INVALID), "invalid") == 0);
    fx_close(&f);
}

/* Overwrite the value of key in database db with bytes. */
static sl_err poke_record(fixture *f, sl_db db, const void *key, size_t klen,
                          const void *val, size_t vlen)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(w.txn, sl_store_dbi(f->store, db), &k, &v, 0);
    if (mrc != 0) {
        sl_txn_abort(&w);
        return sl_err_from_mdb(mrc);
    }
    return sl_txn_commit(&w);
}

TEST(test_corrupt_records_give_errors)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 30000, 5) == SL_OK);
    REQUIRE(append(&f, "t", T0) == 1);
    static got g;
    REQUIRE(pull(&f, "g", 1, T0, &g) == SL_OK && g.n == 1);
    /* the lease of (gid 1, seq 1): a truncated record */
    const uint8_t lease_key[12] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t short_val[3] = {1, 1, 0};
    REQUIRE(poke_record(&f, SL_DB_LEASES, lease_key, 12, short_val, 3) == SL_OK);
    CHECK(settle1(&f, "g", SL_SETTLE_ACK, g.token[0], 0, NULL, T0) == -1);
    const uint8_t future_val[1] = {9};
    REQUIRE(poke_record(&f, SL_DB_LEASES, lease_key, 12, future_val, 1) == SL_OK);
    sl_slice tok = sl_slice_of(g.token[0]);
    sl_token_status st;
    settle_args a = {"g", SL_SETTLE_ACK, &tok, 1, 0, (sl_slice){0}, T0, &st};
    CHECK(in_write(&f, settle_op, &a) == SL_ERR_VERSION);

    /* group records: truncated, bad filter count, trailing bytes */
    const uint8_t bad_group[20] = {1, 0, 0, 0, 2};
    REQUIRE(poke_record(&f, SL_DB_GROUPS, "bad", 3, bad_group, sizeof bad_group) == SL_OK);
    sl_group_info gi;
    CHECK(info(&f, "bad", &gi) == SL_ERR_CORRUPT);
    CHECK(pull(&f, "bad", 1, T0, &g) == SL_ERR_CORRUPT);
    names ns;
    CHECK(list_names(&f, &ns) == SL_ERR_CORRUPT);
    uint64_t floor_seq;
    CHECK(floor_of(&f, &floor_seq) == SL_ERR_CORRUPT);
    fx_close(&f);
}

/* ---- batch due entries (core/FORMAT.md, "Due index") --------------------- */

/* Records in db (all groups). */
static size_t count_db(fixture *f, sl_db db)
{
    sl_txn r;
    if (sl_txn_begin_read(f->store, &r) != SL_OK)
        return (size_t)-1;
    MDB_cursor *c;
    size_t n = 0;
    if (mdb_cursor_open(r.txn, sl_store_dbi(f->store, db), &c) == 0) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            n++;
        mdb_cursor_close(c);
    }
    sl_txn_abort(&r);
    return n;
}

TEST(test_batch_leases_one_due_entry_per_pull)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 5, T0, NULL) == SL_OK);
    static got a, b, c;
    REQUIRE(pull(&f, "g", 5, T0, &a) == SL_OK && a.n == 5);
    CHECK_EQ_U64(count_db(&f, SL_DB_LEASES), 5);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 1); /* one batch entry */
    CHECK(ack(&f, "g", a.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", a.token[2]) == SL_TOKEN_OK);
    CHECK_EQ_U64(count_db(&f, SL_DB_LEASES), 3);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 1);
    REQUIRE(pull(&f, "g", 5, T0 + 999, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, T0 + 1000);
    /* the leases end: redelivered in seq order, two now, the third next */
    REQUIRE(pull(&f, "g", 2, T0 + 1000, &b) == SL_OK && b.n == 2);
    CHECK_EQ_U64(b.seq[0], 2);
    CHECK_EQ_U64(b.seq[1], 4);
    CHECK_EQ_U64(b.attempt[0], 2);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 3); /* two own entries, the batch entry */
    CHECK(ack(&f, "g", a.token[1]) == SL_TOKEN_STALE);
    REQUIRE(pull(&f, "g", 5, T0 + 1000, &c) == SL_OK && c.n == 1);
    CHECK_EQ_U64(c.seq[0], 5);
    CHECK_EQ_U64(c.attempt[0], 2);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 3); /* the batch entry is gone */
    CHECK(ack(&f, "g", b.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", b.token[1]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", c.token[0]) == SL_TOKEN_OK);
    CHECK_EQ_U64(count_db(&f, SL_DB_LEASES), 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 0);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.acked, 5);
    CHECK_EQ_U64(gi.delivered, 8);
    /* all acked before the end: the batch entry goes at the next pull after it */
    REQUIRE(append_n(&f, "t", 3, T0, NULL) == SL_OK);
    REQUIRE(pull(&f, "g", 5, T0 + 2000, &a) == SL_OK && a.n == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(ack(&f, "g", a.token[i]) == SL_TOKEN_OK);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 1);
    REQUIRE(pull(&f, "g", 5, T0 + 3000, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 0);
    fx_close(&f);
}

TEST(test_batch_leases_settle_expire_reopen)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 2) == SL_OK);
    REQUIRE(append_n(&f, "t", 4, T0, NULL) == SL_OK);
    static got a, b;
    REQUIRE(pull(&f, "g", 4, T0, &a) == SL_OK && a.n == 4);
    /* nack 1 (due now), extend 2 (to T0 + 5000), term 4; 3 stays covered */
    CHECK(settle1(&f, "g", SL_SETTLE_NACK, a.token[0], 0, NULL, T0) == SL_TOKEN_OK);
    CHECK(settle1(&f, "g", SL_SETTLE_EXTEND, a.token[1], 5000, NULL, T0) == SL_TOKEN_OK);
    CHECK(settle1(&f, "g", SL_SETTLE_TERM, a.token[3], 0, NULL, T0) == SL_TOKEN_OK);
    REQUIRE(fx_reopen(&f) == 0); /* leases survive */
    REQUIRE(pull(&f, "g", 4, T0, &b) == SL_OK && b.n == 1);
    CHECK_EQ_U64(b.seq[0], 1);
    CHECK_EQ_U64(b.attempt[0], 2);
    REQUIRE(pull(&f, "g", 4, T0 + 999, &b) == SL_OK);
    CHECK_EQ_U64(b.n, 0);
    CHECK_EQ_U64(b.res.next_due_ms, T0 + 1000);
    /* at T0 + 1000 seqs 1 (its second lease) and 3 end: both spent (2 deliveries
     * for 1; 3 has one left) */
    expire_args e = {T0 + 1000, 10, 0};
    REQUIRE(in_write(&f, expire_op, &e) == SL_OK);
    CHECK_EQ_U64(e.moved, 1); /* seq 1 */
    REQUIRE(pull(&f, "g", 4, T0 + 1000, &b) == SL_OK && b.n == 1);
    CHECK_EQ_U64(b.seq[0], 3);
    CHECK_EQ_U64(b.attempt[0], 2);
    e = (expire_args){T0 + 2000, 10, 0};
    REQUIRE(in_write(&f, expire_op, &e) == SL_OK);
    CHECK_EQ_U64(e.moved, 1); /* seq 3 */
    REQUIRE(pull(&f, "g", 4, T0 + 5000, &b) == SL_OK && b.n == 1);
    CHECK_EQ_U64(b.seq[0], 2);
    CHECK_EQ_U64(b.attempt[0], 2);
    CHECK(ack(&f, "g", b.token[0]) == SL_TOKEN_OK);
    sl_group_info gi;
    REQUIRE(info(&f, "g", &gi) == SL_OK);
    CHECK_EQ_U64(gi.dlq_size, 3);
    CHECK_EQ_U64(gi.in_flight, 0);
    CHECK_EQ_U64(gi.waiting, 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_LEASES), 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 0);
    fx_close(&f);
}

/* A store written before batch entries: a version 1 lease with its own entry. */
TEST(test_version1_lease_with_own_due_entry)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    REQUIRE(create_simple(&f, "g", NULL, 1000, 5) == SL_OK);
    REQUIRE(append_n(&f, "t", 2, T0, NULL) == SL_OK);
    /* lease (gid 1, seq 2): version 1, in flight, attempt 1, due T0 + 500,
     * delivery 7; and its due entry. The group counts it in flight. */
    static got a, b;
    REQUIRE(pull(&f, "g", 2, T0, &a) == SL_OK && a.n == 2);
    uint8_t lkey[12] = {0, 0, 0, 1}, lval[24] = {1, 1}, dkey[20] = {0, 0, 0, 1};
    lkey[11] = 2;
    lval[5] = 1;
    uint64_t due = T0 + 500;
    for (int i = 0; i < 8; i++) {
        lval[6 + i] = (uint8_t)(due >> (56 - 8 * i));
        dkey[4 + i] = (uint8_t)(due >> (56 - 8 * i));
    }
    lval[21] = 7;
    dkey[19] = 2;
    REQUIRE(poke_record(&f, SL_DB_LEASES, lkey, 12, lval, 24) == SL_OK);
    REQUIRE(poke_record(&f, SL_DB_DUE, dkey, 20, "", 0) == SL_OK);
    CHECK(ack(&f, "g", a.token[1]) == SL_TOKEN_STALE);
    REQUIRE(pull(&f, "g", 5, T0 + 500, &b) == SL_OK && b.n == 1);
    CHECK_EQ_U64(b.seq[0], 2);
    CHECK_EQ_U64(b.attempt[0], 2);
    CHECK(ack(&f, "g", b.token[0]) == SL_TOKEN_OK);
    CHECK(ack(&f, "g", a.token[0]) == SL_TOKEN_OK);
    CHECK_EQ_U64(count_db(&f, SL_DB_LEASES), 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 1); /* the batch entry, until T0 + 1000 */
    REQUIRE(pull(&f, "g", 5, T0 + 1000, &b) == SL_OK && b.n == 0);
    CHECK_EQ_U64(count_db(&f, SL_DB_DUE), 0);
    fx_close(&f);
}

UNIT_MAIN("test_core_groups", UNIT_CASE(test_defaults), UNIT_CASE(test_validation),
          UNIT_CASE(test_create_get_list_update_delete), UNIT_CASE(test_fan_out),
          UNIT_CASE(test_one_group_two_consumers_disjoint),
          UNIT_CASE(test_expiry_redelivers_with_new_token),
          UNIT_CASE(test_ack_of_ended_lease_is_accepted), UNIT_CASE(test_nack_with_delay),
          UNIT_CASE(test_nack_default_backoff), UNIT_CASE(test_lease_end_waits_for_backoff),
          UNIT_CASE(test_extend_keeps_lease), UNIT_CASE(test_term_to_dlq_with_reason),
          UNIT_CASE(test_max_deliveries_via_pull),
          UNIT_CASE(test_nack_of_last_delivery_dead_letters_with_reason),
          UNIT_CASE(test_nack_reason_used_when_it_dies_later),
          UNIT_CASE(test_max_deliveries_via_expire), UNIT_CASE(test_dlq_list_replay_purge),
          UNIT_CASE(test_dlq_all_in_batches), UNIT_CASE(test_wildcard_filters),
          UNIT_CASE(test_max_inflight),
          UNIT_CASE(test_leases_ahead_of_cursor_and_unordered_acks), UNIT_CASE(test_start_positions),
          UNIT_CASE(test_lag_counts), UNIT_CASE(test_scan_is_bounded),
          UNIT_CASE(test_reopen_keeps_leases_and_counters), UNIT_CASE(test_floor_and_maintain),
          UNIT_CASE(test_hard_retention_drops_leases),
          UNIT_CASE(test_tokens_of_other_groups_are_invalid),
          UNIT_CASE(test_delete_removes_leases_and_dead_letters),
          UNIT_CASE(test_bad_arguments), UNIT_CASE(test_corrupt_records_give_errors),
          UNIT_CASE(test_batch_leases_one_due_entry_per_pull),
          UNIT_CASE(test_batch_leases_settle_expire_reopen),
          UNIT_CASE(test_version1_lease_with_own_due_entry))
