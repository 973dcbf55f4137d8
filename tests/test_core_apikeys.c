/* test_core_apikeys.c: API keys in core (apikey.h): scope names,
 * configuration checks, create / verify / get / list / revoke against a
 * real store in a temporary directory, the stored record (salt and hash,
 * never the token), topic limits, and sl_filter_covers (topic.h). */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikey.h"
#include "core/apikey_record.h"
#include "core/db.h"
#include "core/store.h"
#include "core/topic.h"
#include "tests/support.h"
#include "tests/unit.h"

#define T0 1700000000000ull /* a fixed "now" in Unix ms */

/* ---- fixture: one store in its own directory -------------------------------- */

typedef struct fixture {
    char *dir;        /* temp dir (owned) */
    sl_store *store;  /* open store (owned) */
} fixture;

static int fx_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("apikeys");
    if (!f->dir)
        return -1;
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f->dir;
    opt.relaxed_sync = true;
    return sl_store_open(&opt, &f->store) == SL_OK ? 0 : -1;
}

static void fx_close(fixture *f)
{
    sl_store_close(f->store);
    test_rmtree(f->dir);
    free(f->dir);
    memset(f, 0, sizeof *f);
}

/* A valid configuration: name, scopes, patterns (NULL-ended, may be NULL). */
static void cfg_make(sl_apikey_config *cfg, const char *name, uint32_t scopes,
                     const char *const *patterns)
{
    sl_apikey_config_default(cfg);
    cfg->name = sl_slice_of(name);
    cfg->scopes = scopes;
    for (size_t i = 0; patterns && patterns[i]; i++)
        cfg->patterns[cfg->npatterns++] = sl_slice_of(patterns[i]);
}

/* Create a key in its own committed transaction. */
static sl_err create(fixture *f, const sl_apikey_config *cfg, uint64_t now,
                     char id[SL_APIKEY_ID_LEN + 1], char token[SL_APIKEY_TOKEN_LEN + 1])
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_apikey_create(&w, cfg, now, id, token);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

static sl_err revoke(fixture *f, const char *id)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_apikey_revoke(&w, id);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

/* Verify token in a read transaction; id_out (may be NULL) gets the key's id. */
static sl_err verify(fixture *f, sl_slice token, char *id_out)
{
    sl_txn r;
    sl_apikey_view v;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_apikey_verify(&r, token, &v);
    if (rc == SL_OK && id_out)
        memcpy(id_out, v.id, sizeof v.id);
    sl_txn_abort(&r);
    return rc;
}

static sl_err verify_cstr(fixture *f, const char *token)
{
    return verify(f, sl_slice_of(token), NULL);
}

/* ---- scopes and configuration --------------------------------------------------- */

TEST(test_scope_names)
{
    static const char *const names[] = {"*", "events:write", "events:read", "groups:write",
                                        "webhooks:read", "webhooks:write", "keys:write",
                                        "stats:read"};
    for (uint32_t i = 0; i < 8; i++) {
        REQUIRE(sl_scope_name(1u << i) != NULL);
        CHECK(strcmp(sl_scope_name(1u << i), names[i]) == 0);
        uint32_t bit = 0;
        CHECK(sl_scope_from_name(sl_slice_of(names[i]), &bit));
        CHECK_EQ_U64(bit, 1u << i);
    }
    CHECK(sl_scope_name(0) == NULL);
    CHECK(sl_scope_name(3) == NULL);
    CHECK(sl_scope_name(1u << 8) == NULL);
    uint32_t bit = 77;
    CHECK(!sl_scope_from_name(sl_slice_of("events"), &bit));
    CHECK(!sl_scope_from_name(sl_slice_of("EVENTS:READ"), &bit));
    CHECK(!sl_scope_from_name(sl_slice_of(""), &bit));
    CHECK_EQ_U64(bit, 77);
    CHECK_EQ_U64(SL_SCOPE_STATS_READ, 1u << 7);
}

/* The field sl_apikey_config_check names for cfg, or "" when valid. */
static const char *bad_field(const sl_apikey_config *cfg)
{
    const char *field = NULL;
    sl_err rc = sl_apikey_config_check(cfg, &field);
    if (rc == SL_OK)
        return field == NULL ? "" : "?";
    return rc == SL_ERR_INVALID && field ? field : "?";
}

TEST(test_config_checks)
{
    sl_apikey_config c;
    sl_apikey_config_default(&c);
    CHECK_EQ_U64(c.rate_per_minute, SL_APIKEY_RATE_DEFAULT);
    CHECK_EQ_U64(c.npatterns, 0);
    CHECK_EQ_U64(c.scopes, 0);
    CHECK(strcmp(bad_field(&c), "name") == 0);
    cfg_make(&c, "ci", SL_SCOPE_EVENTS_READ, NULL);
    CHECK(strcmp(bad_field(&c), "") == 0);

    char longname[SL_APIKEY_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    c.name = sl_slice_of(longname);
    CHECK(strcmp(bad_field(&c), "name") == 0);
    c.name.len = SL_APIKEY_NAME_MAX;
    CHECK(strcmp(bad_field(&c), "") == 0);
    c.name = sl_slice_of("tab\there");
    CHECK(strcmp(bad_field(&c), "name") == 0);
    c.name = sl_slice_of("bad \xc3");
    CHECK(strcmp(bad_field(&c), "name") == 0);
    c.name = sl_slice_of("caf\xc3\xa9 billing");
    CHECK(strcmp(bad_field(&c), "") == 0);

    c.scopes = 0;
    CHECK(strcmp(bad_field(&c), "scopes") == 0);
    c.scopes = 1u << 8;
    CHECK(strcmp(bad_field(&c), "scopes") == 0);
    c.scopes = SL_SCOPE_MASK;
    CHECK(strcmp(bad_field(&c), "") == 0);

    c.npatterns = 1;
    c.patterns[0] = sl_slice_of("order..x");
    CHECK(strcmp(bad_field(&c), "topics") == 0);
    c.patterns[0] = sl_slice_of("order.>.x");
    CHECK(strcmp(bad_field(&c), "topics") == 0);
    c.patterns[0] = sl_slice_of("order.>");
    CHECK(strcmp(bad_field(&c), "") == 0);
    c.npatterns = SL_APIKEY_PATTERNS_MAX + 1;
    for (uint32_t i = 0; i < SL_APIKEY_PATTERNS_MAX; i++)
        c.patterns[i] = sl_slice_of("a.*");
    CHECK(strcmp(bad_field(&c), "topics") == 0);
    c.npatterns = SL_APIKEY_PATTERNS_MAX;
    CHECK(strcmp(bad_field(&c), "") == 0);

    c.rate_per_minute = 0;
    CHECK(strcmp(bad_field(&c), "rate_per_minute") == 0);
    c.rate_per_minute = SL_APIKEY_RATE_MAX + 1;
    CHECK(strcmp(bad_field(&c), "rate_per_minute") == 0);
    c.rate_per_minute = SL_APIKEY_RATE_MAX;
    CHECK(strcmp(bad_field(&c), "") == 0);
    CHECK(sl_apikey_config_check(NULL, NULL) == SL_ERR_INVALID);

    CHECK(sl_apikey_id_valid(sl_slice_of("key_0123456789abcdef")));
    CHECK(!sl_apikey_id_valid(sl_slice_of("key_0123456789ABCDEF")));
    CHECK(!sl_apikey_id_valid(sl_slice_of("key_0123456789abcde")));
    CHECK(!sl_apikey_id_valid(sl_slice_of("wh_0123456789abcdef0")));
}

/* ---- create / verify -------------------------------------------------------------- */

static bool token_shape_ok(const char *t)
{
    if (strlen(t) != SL_APIKEY_TOKEN_LEN || strncmp(t, "slk_", 4) != 0 || t[20] != '_')
        return false;
    for (size_t i = 4; i < 20; i++)
        if (!strchr("0123456789abcdef", t[i]))
            return false;
    for (size_t i = 21; i < SL_APIKEY_TOKEN_LEN; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", t[i]))
            return false;
    return true;
}

TEST(test_create_verify_get)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    static const char *const pats[] = {"order.>", "invoice.*", NULL};
    sl_apikey_config cfg;
    cfg_make(&cfg, "billing", SL_SCOPE_EVENTS_READ | SL_SCOPE_EVENTS_WRITE, pats);
    cfg.rate_per_minute = 100;
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(create(&f, &cfg, T0, id, token) == SL_OK);
    CHECK(sl_apikey_id_valid(sl_slice_of(id)));
    CHECK(token_shape_ok(token));
    CHECK(memcmp(token + 4, id + 4, 16) == 0); /* the token names its key */

    char got[SL_APIKEY_ID_LEN + 1] = "";
    CHECK(verify(&f, sl_slice_of(token), got) == SL_OK);
    CHECK(strcmp(got, id) == 0);

    sl_txn r;
    sl_apikey_view v;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    CHECK(sl_apikey_verify(&r, sl_slice_of(token), &v) == SL_OK);
    CHECK(sl_apikey_get(&r, id, &v) == SL_OK);
    CHECK(strcmp(v.id, id) == 0);
    CHECK(sl_slice_eq_cstr(v.config.name, "billing"));
    CHECK_EQ_U64(v.config.scopes, SL_SCOPE_EVENTS_READ | SL_SCOPE_EVENTS_WRITE);
    CHECK_EQ_U64(v.config.rate_per_minute, 100);
    CHECK_EQ_U64(v.created_ms, T0);
    REQUIRE(v.config.npatterns == 2);
    CHECK(sl_slice_eq_cstr(v.config.patterns[0], "order.>"));
    CHECK(sl_slice_eq_cstr(v.config.patterns[1], "invoice.*"));
    CHECK(sl_apikey_get(&r, "key_0000000000000000", &v) == SL_ERR_NOT_FOUND);
    CHECK(sl_apikey_get(&r, "nonsense", &v) == SL_ERR_NOT_FOUND);
    sl_txn_abort(&r);

    /* a second key gets another id and token; both verify to their own */
    char id2[SL_APIKEY_ID_LEN + 1], token2[SL_APIKEY_TOKEN_LEN + 1];
    cfg_make(&cfg, "admin", SL_SCOPE_ALL, NULL);
    REQUIRE(create(&f, &cfg, T0 + 1, id2, token2) == SL_OK);
    CHECK(strcmp(id, id2) != 0);
    CHECK(strcmp(token, token2) != 0);
    CHECK(verify(&f, sl_slice_of(token2), got) == SL_OK);
    CHECK(strcmp(got, id2) == 0);

    /* an invalid configuration creates nothing */
    cfg.scopes = 0;
    CHECK(create(&f, &cfg, T0, id2, token2) == SL_ERR_INVALID);
    fx_close(&f);
}

TEST(test_verify_refuses)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_apikey_config cfg;
    cfg_make(&cfg, "ci", SL_SCOPE_EVENTS_READ, NULL);
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(create(&f, &cfg, T0, id, token) == SL_OK);
    char bad[SL_APIKEY_TOKEN_LEN + 2];

    /* wrong secret: one character of the secret changed */
    memcpy(bad, token, sizeof token);
    bad[40] = bad[40] == 'A' ? 'B' : 'A';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    /* unknown id, right shape */
    memcpy(bad, token, sizeof token);
    bad[10] = bad[10] == '0' ? '1' : '0';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    /* malformed: uppercase hex, no separator, a '=' in the secret, too long,
     * too short, another prefix, empty */
    memcpy(bad, token, sizeof token);
    bad[5] = 'A';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    memcpy(bad, token, sizeof token);
    bad[20] = 'x';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    memcpy(bad, token, sizeof token);
    bad[63] = '=';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    memcpy(bad, token, sizeof token);
    bad[64] = 'x';
    bad[65] = '\0';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    CHECK(verify(&f, (sl_slice){token, SL_APIKEY_TOKEN_LEN - 1}, NULL) == SL_ERR_NOT_FOUND);
    memcpy(bad, token, sizeof token);
    bad[0] = 'x';
    CHECK(verify_cstr(&f, bad) == SL_ERR_NOT_FOUND);
    CHECK(verify_cstr(&f, "") == SL_ERR_NOT_FOUND);
    CHECK(verify(&f, (sl_slice){NULL, 0}, NULL) == SL_ERR_NOT_FOUND);
    CHECK(verify_cstr(&f, id) == SL_ERR_NOT_FOUND);
    /* the token itself still verifies */
    CHECK(verify_cstr(&f, token) == SL_OK);

    /* revoked: the token fails from then on; revoking again: not found */
    CHECK(revoke(&f, id) == SL_OK);
    CHECK(verify_cstr(&f, token) == SL_ERR_NOT_FOUND);
    CHECK(revoke(&f, id) == SL_ERR_NOT_FOUND);
    CHECK(revoke(&f, "key_nothex") == SL_ERR_NOT_FOUND);
    sl_txn r;
    sl_apikey_view v;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    CHECK(sl_apikey_get(&r, id, &v) == SL_ERR_NOT_FOUND);
    sl_txn_abort(&r);
    fx_close(&f);
}

/* True when needle occurs in hay[0..n). */
static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* Read the whole file at path (malloc'd; *n its size), NULL on failure. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    *n = len;
    return buf;
}

TEST(test_token_is_not_stored)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_apikey_config cfg;
    cfg_make(&cfg, "secret-keeper", SL_SCOPE_ALL, NULL);
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(create(&f, &cfg, T0, id, token) == SL_OK);
    const char *secret = token + 21; /* the 43 random characters */

    /* the stored record: salt + hash, neither the token nor its secret */
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    uint8_t kb[8];
    uint64_t key;
    REQUIRE(sl_apikey_key_parse(sl_slice_of(id), &key));
    for (int i = 7; i >= 0; i--, key >>= 8)
        kb[i] = (uint8_t)key;
    MDB_val k = {sizeof kb, kb}, v;
    REQUIRE(mdb_get(r.txn, sl_dbi(&r, SL_DB_APIKEYS), &k, &v) == 0);
    CHECK(!contains(v.mv_data, v.mv_size, token));
    CHECK(!contains(v.mv_data, v.mv_size, secret));
    CHECK(contains(v.mv_data, v.mv_size, "secret-keeper"));
    sl_apikey_rec rec;
    CHECK(sl_apikey_rec_decode(kb, sizeof kb, v.mv_data, v.mv_size, &rec) == SL_OK);
    CHECK_EQ_U64(v.mv_size, 65 + 1 + strlen("secret-keeper") + 1);
    sl_txn_abort(&r);

    /* nor anywhere in the data file */
    sl_store_close(f.store);
    f.store = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/data.mdb", f.dir);
    size_t n = 0;
    uint8_t *all = slurp(path, &n);
    REQUIRE(all != NULL);
    CHECK(n > 0);
    CHECK(!contains(all, n, secret));
    CHECK(contains(all, n, "secret-keeper"));
    free(all);
    fx_close(&f);
}

/* ---- list -------------------------------------------------------------------------- */

typedef struct got_list {
    char ids[64][SL_APIKEY_ID_LEN + 1];
    size_t n;
} got_list;

static sl_err collect(void *ctx, const sl_apikey_view *v)
{
    got_list *g = ctx;
    if (g->n < 64)
        memcpy(g->ids[g->n++], v->id, sizeof v->id);
    return SL_OK;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(test_list_paging)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char ids[7][SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    sl_apikey_config cfg;
    cfg_make(&cfg, "k", SL_SCOPE_STATS_READ, NULL);
    for (int i = 0; i < 7; i++)
        REQUIRE(create(&f, &cfg, T0 + (uint64_t)i, ids[i], token) == SL_OK);
    qsort(ids, 7, sizeof ids[0], cmp_ids);

    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    got_list g = {.n = 0};
    char next[SL_APIKEY_ID_LEN + 1] = "";
    size_t pages = 0;
    do { /* pages of 3: 3 + 3 + 1, in id order; next_after passed back in place */
        REQUIRE(sl_apikey_list(&r, next, 3, collect, &g, next) == SL_OK);
        pages++;
    } while (next[0] && pages < 10);
    CHECK_EQ_U64(pages, 3);
    REQUIRE(g.n == 7);
    for (int i = 0; i < 7; i++)
        CHECK(strcmp(g.ids[i], ids[i]) == 0);

    g.n = 0;
    CHECK(sl_apikey_list(&r, NULL, SL_APIKEY_PAGE_MAX, collect, &g, next) == SL_OK);
    CHECK_EQ_U64(g.n, 7);
    CHECK(next[0] == '\0');
    g.n = 0; /* exactly the rest: no further page */
    CHECK(sl_apikey_list(&r, ids[3], 3, collect, &g, next) == SL_OK);
    CHECK_EQ_U64(g.n, 3);
    CHECK(next[0] == '\0');
    g.n = 0;
    CHECK(sl_apikey_list(&r, ids[6], 3, collect, &g, next) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK(sl_apikey_list(&r, "key_ffffffffffffffff", 3, collect, &g, next) == SL_OK);
    CHECK_EQ_U64(g.n, 0);
    CHECK(sl_apikey_list(&r, "bogus", 3, collect, &g, next) == SL_ERR_INVALID);
    CHECK(sl_apikey_list(&r, "", 0, collect, &g, next) == SL_ERR_INVALID);
    CHECK(sl_apikey_list(&r, "", SL_APIKEY_PAGE_MAX + 1, collect, &g, next) == SL_ERR_INVALID);
    sl_txn_abort(&r);
    fx_close(&f);
}

static sl_err stop_at_two(void *ctx, const sl_apikey_view *v)
{
    got_list *g = ctx;
    (void)v;
    return ++g->n == 2 ? SL_ERR_END : SL_OK;
}

TEST(test_list_callback_stops)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1], next[SL_APIKEY_ID_LEN + 1];
    sl_apikey_config cfg;
    cfg_make(&cfg, "k", SL_SCOPE_STATS_READ, NULL);
    for (int i = 0; i < 4; i++)
        REQUIRE(create(&f, &cfg, T0, id, token) == SL_OK);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    got_list g = {.n = 0};
    CHECK(sl_apikey_list(&r, "", 10, stop_at_two, &g, next) == SL_ERR_END);
    CHECK_EQ_U64(g.n, 2);
    sl_txn_abort(&r);
    fx_close(&f);
}

/* ---- topic limits -------------------------------------------------------------------- */

TEST(test_filter_covers)
{
    static const struct {
        const char *pattern, *filter;
        bool covers;
    } cases[] = {
        {"order.created", "order.created", true},
        {"order.created", "order.paid", false},
        {"order.created", "order.*", false},
        {"order.created", "order.>", false},
        {"order.*", "order.created", true},
        {"order.*", "order.*", true},
        {"order.*", "order.>", false},
        {"order.*", "order", false},
        {"order.*", "order.a.b", false},
        {"order.*", "*.created", false},
        {"*.created", "order.created", true},
        {"*.created", "*.created", true},
        {"*.*", "a.*", true},
        {"order.>", "order.created", true},
        {"order.>", "order.a.b.c", true},
        {"order.>", "order.*", true},
        {"order.>", "order.*.x", true},
        {"order.>", "order.>", true},
        {"order.>", "order.*.>", true},
        {"order.>", "order", false},
        {"order.>", "invoice.>", false},
        {"order.>", ">", false},
        {"order.>", "*.created", false},
        {">", "order", true},
        {">", "*", true},
        {">", ">", true},
        {">", "a.*.>", true},
        {"*", ">", false},
        {"*", "order", true},
        {"*", "order.x", false},
        {"a.*.>", "a.b.>", true},
        {"a.*.>", "a.>", false},
        {"a.*.>", "a.b", false},
        /* reserved topics: a wildcard-first pattern does not cover them */
        {">", "_wh.x", false},
        {"*.x", "_wh.x", false},
        {">", "*.x", true},
        {"_wh.>", "_wh.x", true},
        {"_wh.*", "_wh.*", true},
        /* invalid either side */
        {"order..x", "order.x", false},
        {"order.>", "order..x", false},
        {"", "order", false},
        {"order", "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = sl_filter_covers(sl_slice_of(cases[i].pattern), sl_slice_of(cases[i].filter));
        if (got != cases[i].covers)
            fprintf(stderr, "  covers(%s, %s) = %d\n", cases[i].pattern, cases[i].filter, got);
        CHECK(got == cases[i].covers);
    }
}

TEST(test_allows_topic_and_filter)
{
    sl_apikey_view k;
    memset(&k, 0, sizeof k);
    sl_apikey_config_default(&k.config);
    /* no patterns: everything */
    CHECK(sl_apikey_allows_topic(&k, sl_slice_of("order.created")));
    CHECK(sl_apikey_allows_topic(&k, sl_slice_of("_wh.wh_0123456789abcdef")));
    CHECK(sl_apikey_allows_filter(&k, sl_slice_of(">")));

    k.config.npatterns = 2;
    k.config.patterns[0] = sl_slice_of("order.>");
    k.config.patterns[1] = sl_slice_of("invoice.*");
    static const struct {
        const char *topic;
        bool allowed;
    } topics[] = {
        {"order.created", true}, {"order.line.added", true}, {"order", false},
        {"invoice.paid", true},  {"invoice.paid.late", false}, {"invoice", false},
        {"user.created", false}, {"_wh.x", false},
    };
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        CHECK(sl_apikey_allows_topic(&k, sl_slice_of(topics[i].topic)) == topics[i].allowed);
    static const struct {
        const char *filter;
        bool allowed;
    } filters[] = {
        {"order.created", true}, {"order.*", true},   {"order.>", true},
        {"invoice.*", true},     {"invoice.paid", true}, {"invoice.>", false},
        {">", false},            {"*.created", false}, {"user.*", false},
        {"order", false},
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        CHECK(sl_apikey_allows_filter(&k, sl_slice_of(filters[i].filter)) == filters[i].allowed);
    /* a union of patterns is not enough on its own (documented: refuse) */
    k.config.patterns[0] = sl_slice_of("a.*");
    k.config.patterns[1] = sl_slice_of("a.*.>");
    CHECK(sl_apikey_allows_topic(&k, sl_slice_of("a.b")));
    CHECK(sl_apikey_allows_topic(&k, sl_slice_of("a.b.c")));
    CHECK(!sl_apikey_allows_filter(&k, sl_slice_of("a.>")));
}

/* ---- stored records that do not decode ------------------------------------------ */

static sl_err raw_put(fixture *f, const uint8_t kb[8], const void *val, size_t vlen)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(f->store, &w);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {8, (void *)kb}, v = {vlen, (void *)val};
    int mrc = mdb_put(w.txn, sl_dbi(&w, SL_DB_APIKEYS), &k, &v, 0);
    if (mrc != 0) {
        sl_txn_abort(&w);
        return sl_err_from_mdb(mrc);
    }
    return sl_txn_commit(&w);
}

static sl_err get_key(fixture *f, const char *id)
{
    sl_txn r;
    sl_apikey_view v;
    sl_err rc = sl_txn_begin_read(f->store, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_apikey_get(&r, id, &v);
    sl_txn_abort(&r);
    return rc;
}

/* A record cut short, too long, or with fields out of FORMAT.md's ranges
 * (scopes 0 or unknown bits, rate 0 or past the maximum) is corrupt: never
 * a key with no scopes or a zero rate handed to the daemon. */
TEST(test_corrupt_records_give_errors)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    static const char *const pats[] = {"order.>", NULL};
    sl_apikey_config cfg;
    cfg_make(&cfg, "ci", SL_SCOPE_EVENTS_READ, pats);
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    REQUIRE(create(&f, &cfg, T0, id, token) == SL_OK);
    uint64_t key;
    REQUIRE(sl_apikey_key_parse(sl_slice_of(id), &key));
    uint8_t kb[8], rec[512], bad[512];
    for (int i = 7; i >= 0; i--, key >>= 8)
        kb[i] = (uint8_t)key;
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    MDB_val k = {8, kb}, v;
    REQUIRE(mdb_get(r.txn, sl_dbi(&r, SL_DB_APIKEYS), &k, &v) == 0);
    size_t len = v.mv_size;
    REQUIRE(len <= sizeof rec);
    memcpy(rec, v.mv_data, len);
    sl_txn_abort(&r);
    CHECK_EQ_U64(len, 65 + 1 + 2 + 1 + 1 + 7);

    for (size_t n = 0; n < len; n++) {
        REQUIRE(raw_put(&f, kb, rec, n) == SL_OK);
        CHECK(get_key(&f, id) == SL_ERR_CORRUPT);
    }
    memcpy(bad, rec, len);
    bad[len] = 'x';
    REQUIRE(raw_put(&f, kb, bad, len + 1) == SL_OK);
    CHECK(get_key(&f, id) == SL_ERR_CORRUPT);
    bad[0] = 2;
    REQUIRE(raw_put(&f, kb, bad, len) == SL_OK);
    CHECK(get_key(&f, id) == SL_ERR_VERSION);

    static const struct {
        size_t at;          /* offset of a u32 field */
        uint32_t value;
    } fields[] = {
        {13, 0},          /* no scope */
        {13, 1u << 8},    /* an unknown scope bit */
        {13, 0x80000004u},
        {9, 0},           /* rate 0 */
        {9, SL_APIKEY_RATE_MAX + 1},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        memcpy(bad, rec, len);
        for (int b = 3; b >= 0; b--)
            bad[fields[i].at + (size_t)(3 - b)] = (uint8_t)(fields[i].value >> (8 * b));
        REQUIRE(raw_put(&f, kb, bad, len) == SL_OK);
        CHECK(get_key(&f, id) == SL_ERR_CORRUPT);
        CHECK(verify_cstr(&f, token) != SL_OK);
    }
    /* back as it was: fine again */
    REQUIRE(raw_put(&f, kb, rec, len) == SL_OK);
    CHECK(get_key(&f, id) == SL_OK);
    CHECK(verify_cstr(&f, token) == SL_OK);
    fx_close(&f);
}

UNIT_MAIN("core_apikeys", UNIT_CASE(test_scope_names), UNIT_CASE(test_config_checks),
          UNIT_CASE(test_create_verify_get), UNIT_CASE(test_verify_refuses),
          UNIT_CASE(test_token_is_not_stored), UNIT_CASE(test_list_paging),
          UNIT_CASE(test_list_callback_stops), UNIT_CASE(test_filter_covers),
          UNIT_CASE(test_allows_topic_and_filter), UNIT_CASE(test_corrupt_records_give_errors))
