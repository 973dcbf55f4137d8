/* test_core_log.c: the storage half of core: store, event log, topics,
 * idempotency keys, retention trims, format versions, map growth.
 * Every test uses a fresh store in its own temporary directory; time is
 * passed explicitly (no sleeps). */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/db.h"
#include "core/error.h"
#include "core/event.h"
#include "core/log.h"
#include "core/store.h"
#include "core/topic.h"
#include "tests/support.h"
#include "tests/unit.h"

/* ---- fixture ------------------------------------------------------------- */

typedef struct fixture {
    char *dir;             /* temporary data directory (owned) */
    sl_store *store;       /* the open store, or NULL */
    sl_store_options opt;  /* options it was opened with */
} fixture;

/* Create a temp dir and open a store there with opt (NULL: defaults). */
static sl_err fx_open(fixture *f, const sl_store_options *opt)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("core-log");
    if (!f->dir)
        return SL_ERR_STORAGE;
    if (opt)
        f->opt = *opt;
    else
        sl_store_options_default(&f->opt);
    f->opt.path = f->dir;
    return sl_store_open(&f->opt, &f->store);
}

static sl_err fx_reopen(fixture *f)
{
    sl_store_close(f->store);
    f->store = NULL;
    return sl_store_open(&f->opt, &f->store);
}

static void fx_close(fixture *f)
{
    sl_store_close(f->store);
    f->store = NULL;
    if (f->dir) {
        test_rmtree(f->dir);
        free(f->dir);
    }
    f->dir = NULL;
}

static sl_event_in ev_of(const char *topic, const char *payload)
{
    sl_event_in ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = sl_slice_of(topic);
    ev.payload = sl_slice_of(payload);
    return ev;
}

/* Append n events in one committed write transaction. */
static sl_err append_batch(sl_store *s, const sl_event_in *evs, size_t n, uint64_t now,
                           sl_append_result *res, size_t *bad)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(s, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_append(&w, evs, n, now, res, bad);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

static sl_err append_one(sl_store *s, const char *topic, const char *payload, const char *key,
                         uint64_t now, sl_append_result *res)
{
    sl_event_in ev = ev_of(topic, payload);
    if (key)
        ev.idem_key = sl_slice_of(key);
    return append_batch(s, &ev, 1, now, res, NULL);
}

static sl_err get_bounds(sl_store *s, sl_log_bounds *b)
{
    sl_txn r;
    sl_err rc = sl_txn_begin_read(s, &r);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_get_bounds(&r, b);
    sl_txn_abort(&r);
    return rc;
}

static sl_err trim(sl_store *s, uint64_t now, uint64_t floor, size_t max, size_t *deleted)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(s, &w);
    if (rc != SL_OK)
        return rc;
    rc = sl_log_trim(&w, now, floor, max, deleted);
    if (rc != SL_OK) {
        sl_txn_abort(&w);
        return rc;
    }
    return sl_txn_commit(&w);
}

static uint64_t db_entries(sl_store *s, sl_db db)
{
    sl_txn r;
    MDB_stat st;
    if (sl_txn_begin_read(s, &r) != SL_OK)
        return UINT64_MAX;
    int rc = mdb_stat(r.txn, sl_store_dbi(s, db), &st);
    sl_txn_abort(&r);
    return rc == MDB_SUCCESS ? st.ms_entries : UINT64_MAX;
}

/* ---- topics and filters ---------------------------------------------------- */

static sl_slice slice_n(const char *p, size_t n)
{
    sl_slice s = {p, n};
    return s;
}

TEST(topic_validation)
{
    static const struct {
        const char *s;
        bool topic, filter;
    } cases[] = {
        {"order", true, true},
        {"order.created", true, true},
        {"a.b-c.d_e.F9", true, true},
        {"", false, false},
        {".", false, false},
        {".order", false, false},
        {"order.", false, false},
        {"order..created", false, false},
        {"order created", false, false},
        {"order/created", false, false},
        {"ordér", false, false},
        {"*", false, true},
        {">", false, true},
        {"order.*", false, true},
        {"*.created", false, true},
        {"order.>", false, true},
        {"order.*.>", false, true},
        {">.order", false, false},
        {"order.>.x", false, false},
        {"order*", false, false},
        {"order.**", false, false},
        {"order.>>", false, false},
        {"*>", false, false},
        {"order.*.", false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_slice s = sl_slice_of(cases[i].s);
        if (sl_topic_valid(s) != cases[i].topic || sl_filter_valid(s) != cases[i].filter) {
            fprintf(stderr, "  case \"%s\"\n", cases[i].s);
            CHECK(false);
        }
    }
    char buf[300];
    memset(buf, 'a', sizeof buf);
    CHECK(sl_topic_valid(slice_n(buf, 255)));
    CHECK(!sl_topic_valid(slice_n(buf, 256)));
    CHECK(sl_filter_valid(slice_n(buf, 255)));
    CHECK(!sl_filter_valid(slice_n(buf, 256)));
    buf[253] = '.';
    buf[254] = '>';
    CHECK(sl_filter_valid(slice_n(buf, 255)));
    CHECK(!sl_topic_valid(slice_n(buf, 255)));
    CHECK(!sl_topic_valid(slice_n(NULL, 3)));
    CHECK(!sl_topic_valid(slice_n("order\0x", 7)));
}

TEST(filter_matching)
{
    static const struct {
        const char *f, *t;
        bool match;
    } cases[] = {
        {"order.created", "order.created", true},
        {"order.created", "order.create", false},
        {"order.created", "order.createdx", false},
        {"order.created", "order", false},
        {"order", "order.created", false},
        {"order.*", "order.created", true},
        {"order.*", "order", false},
        {"order.*", "order.line.added", false},
        {"order.>", "order.created", true},
        {"order.>", "order.line.added", true},
        {"order.>", "order", false},
        {"order.>", "orders.x", false},
        {"*", "order", true},
        {"*", "order.created", false},
        {">", "order", true},
        {">", "a.b.c.d", true},
        {"*.created", "order.created", true},
        {"*.created", "order.deleted", false},
        {"*.*", "a.b", true},
        {"*.*", "a", false},
        {"a.*.c", "a.b.c", true},
        {"a.*.c", "a.b.d", false},
        {"a.*.>", "a.b", false},
        {"a.*.>", "a.b.c", true},
        {"a.*.>", "a.b.c.d", true},
        {"ab", "a", false},
        {"a", "ab", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool m = sl_filter_match(sl_slice_of(cases[i].f), sl_slice_of(cases[i].t));
        if (m != cases[i].match) {
            fprintf(stderr, "  case \"%s\" ~ \"%s\"\n", cases[i].f, cases[i].t);
            CHECK(false);
        }
    }
    CHECK(!sl_filter_match(sl_slice_of(""), sl_slice_of("a")));
    CHECK(!sl_filter_match(sl_slice_of(">"), sl_slice_of("")));
}

/* ---- event ids and headers ------------------------------------------------- */

TEST(event_ids)
{
    char id[SL_EVENT_ID_LEN + 1];
    sl_event_id_format(0x0123456789abcdefull, 42, id);
    CHECK(strcmp(id, "evt_0123456789abcdef000000000000002a") == 0);
    CHECK_EQ_U64(strlen(id), SL_EVENT_ID_LEN);
    uint64_t inst = 0, seq = 0;
    CHECK(sl_event_id_parse(sl_slice_of(id), &inst, &seq) == SL_OK);
    CHECK_EQ_U64(inst, 0x0123456789abcdefull);
    CHECK_EQ_U64(seq, 42);
    sl_event_id_format(UINT64_MAX, UINT64_MAX, id);
    CHECK(strcmp(id, "evt_ffffffffffffffffffffffffffffffff") == 0);
    CHECK(sl_event_id_parse(sl_slice_of(id), NULL, &seq) == SL_OK);
    CHECK_EQ_U64(seq, UINT64_MAX);
    static const char *bad[] = {
        "", "evt_", "evt_0123456789abcdef000000000000002", "evt_0123456789abcdef000000000000002a0",
        "EVT_0123456789abcdef000000000000002a", "evt_0123456789ABCDEF000000000000002a",
        "evt_0123456789abcdeg000000000000002a", "evx_0123456789abcdef000000000000002a",
        "evt_0123456789abcdef00000000000000-a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sl_event_id_parse(sl_slice_of(bad[i]), &inst, &seq) == SL_ERR_INVALID);
    CHECK(sl_event_id_parse(slice_n(NULL, 36), NULL, NULL) == SL_ERR_INVALID);
}

TEST(header_block_iteration)
{
    static const uint8_t good[] = {0, 1, 'k', 0, 2, 'v', 'w', 0, 2, 'k', '2', 0, 0};
    sl_event_view ev;
    memset(&ev, 0, sizeof ev);
    ev.nheaders = 2;
    ev.headers_raw = good;
    ev.headers_raw_len = sizeof good;
    size_t pos = 0;
    sl_header h;
    REQUIRE(sl_event_header_next(&ev, &pos, &h) == SL_OK);
    CHECK(sl_slice_eq_cstr(h.key, "k") && sl_slice_eq_cstr(h.value, "vw"));
    REQUIRE(sl_event_header_next(&ev, &pos, &h) == SL_OK);
    CHECK(sl_slice_eq_cstr(h.key, "k2") && h.value.len == 0);
    CHECK(sl_event_header_next(&ev, &pos, &h) == SL_ERR_END);
    /* truncated value, truncated length, empty key, position past the end */
    static const uint8_t cut[] = {0, 1, 'k', 0, 5, 'v'};
    static const uint8_t half[] = {0, 1, 'k', 0};
    static const uint8_t nokey[] = {0, 0, 0, 0};
    const uint8_t *blocks[] = {cut, half, nokey};
    size_t lens[] = {sizeof cut, sizeof half, sizeof nokey};
    for (size_t i = 0; i < 3; i++) {
        ev.headers_raw = blocks[i];
        ev.headers_raw_len = lens[i];
        pos = 0;
        CHECK(sl_event_header_next(&ev, &pos, &h) == SL_ERR_CORRUPT);
    }
    pos = 99;
    CHECK(sl_event_header_next(&ev, &pos, &h) == SL_ERR_CORRUPT);
}

TEST(error_names)
{
    CHECK(strcmp(sl_err_code(SL_ERR_INVALID), "invalid_argument") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_NOT_FOUND), "not_found") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_EXISTS), "already_exists") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_TOO_LARGE), "too_large") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_STORAGE_FULL), "storage_full") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_MAP_FULL), "storage_error") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_TXN_FULL), "storage_error") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_STORAGE), "storage_error") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_CORRUPT), "corrupt") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_VERSION), "bad_version") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_NOMEM), "no_memory") == 0);
    CHECK(strcmp(sl_err_code(SL_ERR_END), "end") == 0);
    CHECK(strcmp(sl_err_code((sl_err)999), "internal") == 0);
    for (int e = SL_OK; e <= SL_ERR_END; e++)
        CHECK(sl_err_text((sl_err)e)[0] != '\0');
    CHECK(sl_err_from_mdb(MDB_MAP_FULL) == SL_ERR_MAP_FULL);
    CHECK(sl_err_from_mdb(MDB_TXN_FULL) == SL_ERR_TXN_FULL);
    CHECK(sl_err_from_mdb(MDB_NOTFOUND) == SL_ERR_NOT_FOUND);
    CHECK(sl_err_from_mdb(MDB_CORRUPTED) == SL_ERR_CORRUPT);
    CHECK(sl_err_from_mdb(MDB_PAGE_NOTFOUND) == SL_ERR_CORRUPT);
    CHECK(sl_err_from_mdb(28 /* ENOSPC */) == SL_ERR_STORAGE_FULL);
    CHECK(sl_err_from_mdb(12 /* ENOMEM */) == SL_ERR_NOMEM);
    CHECK(sl_err_from_mdb(MDB_BAD_TXN) == SL_ERR_STORAGE);
    CHECK(sl_err_from_mdb(0) == SL_OK);
}

/* ---- store ---------------------------------------------------------------- */

TEST(store_options)
{
    sl_store_options o;
    sl_store_options_default(&o);
    CHECK(o.path == NULL);
    CHECK_EQ_U64(o.map_initial_bytes, 64ull << 20);
    CHECK_EQ_U64(o.quota_bytes, 8ull << 30);
    CHECK_EQ_U64(o.max_readers, 1024);
    CHECK_EQ_U64(o.max_payload_bytes, 1 << 20);
    CHECK_EQ_U64(o.dedupe_window_ms, 120000);
    CHECK_EQ_U64(o.retention.max_age_ms, 7ull * 24 * 3600 * 1000);
    CHECK(!o.relaxed_sync && !o.retention.discard_unconsumed);

    char *dir = test_tmpdir("core-opts");
    REQUIRE(dir);
    sl_store *s = (sl_store *)1;
    CHECK(sl_store_open(&o, &s) == SL_ERR_INVALID); /* no path */
    CHECK(s == NULL);
    CHECK(sl_store_open(NULL, &s) == SL_ERR_INVALID);
    o.path = dir;
    CHECK(sl_store_open(&o, NULL) == SL_ERR_INVALID);
    sl_store_options b = o;
    b.path = "";
    CHECK(sl_store_open(&b, &s) == SL_ERR_INVALID);
    b = o;
    b.map_initial_bytes = 4096;
    CHECK(sl_store_open(&b, &s) == SL_ERR_INVALID);
    b = o;
    b.quota_bytes = b.map_initial_bytes - 1;
    CHECK(sl_store_open(&b, &s) == SL_ERR_INVALID);
    b = o;
    b.max_readers = 0;
    CHECK(sl_store_open(&b, &s) == SL_ERR_INVALID);
    b = o;
    b.max_payload_bytes = 0;
    CHECK(sl_store_open(&b, &s) == SL_ERR_INVALID);

    /* a nested path that does not exist yet is created */
    char nested[512];
    snprintf(nested, sizeof nested, "%s/a/b/data", dir);
    b = o;
    b.path = nested;
    REQUIRE(sl_store_open(&b, &s) == SL_OK);
    CHECK(strcmp(sl_store_options_of(s)->path, nested) == 0);
    CHECK(sl_store_options_of(s)->path != nested); /* the store keeps its own copy */
    CHECK(sl_store_instance(s) != 0);
    sl_store_stats st;
    REQUIRE(sl_store_get_stats(s, &st) == SL_OK);
    CHECK_EQ_U64(st.map_bytes, 64ull << 20);
    CHECK_EQ_U64(st.quota_bytes, 8ull << 30);
    CHECK_EQ_U64(st.format_version, 1);
    CHECK_EQ_U64(st.readers_max, 1024);
    CHECK(st.used_bytes > 0 && st.file_bytes > 0);
    CHECK_EQ_U64(st.readers_used, 0);
    sl_txn r1, r2;
    REQUIRE(sl_txn_begin_read(s, &r1) == SL_OK);
    REQUIRE(sl_txn_begin_read(s, &r2) == SL_OK);
    REQUIRE(sl_store_get_stats(s, &st) == SL_OK);
    CHECK_EQ_U64(st.readers_used, 2);
    sl_txn_abort(&r1);
    CHECK(sl_txn_commit(&r2) == SL_OK);
    REQUIRE(sl_store_get_stats(s, &st) == SL_OK);
    CHECK_EQ_U64(st.readers_used, 0);
    CHECK(sl_store_sync(s) == SL_OK);
    sl_store_close(s);
    sl_store_close(NULL);
    test_rmtree(dir);
    free(dir);
}

TEST(store_reopen_keeps_instance)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    uint64_t inst = sl_store_instance(f.store);
    REQUIRE(fx_reopen(&f) == SL_OK);
    CHECK_EQ_U64(sl_store_instance(f.store), inst);
    fx_close(&f);
}

TEST(txn_misuse)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_txn zero;
    memset(&zero, 0, sizeof zero);
    sl_txn_abort(&zero);
    sl_txn_abort(NULL);
    CHECK(sl_txn_commit(&zero) == SL_ERR_INVALID);
    sl_txn r, c;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    CHECK(sl_txn_begin_child(&r, &c) == SL_ERR_INVALID);
    sl_event_in ev = ev_of("t", "x");
    sl_append_result res;
    CHECK(sl_log_append(&r, &ev, 1, 1, &res, NULL) == SL_ERR_INVALID); /* read txn */
    size_t del;
    CHECK(sl_log_trim(&r, 1, UINT64_MAX, 10, &del) == SL_ERR_INVALID);
    sl_txn_abort(&r);
    /* a child transaction that aborts leaves nothing behind */
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    REQUIRE(sl_txn_begin_child(&w, &c) == SL_OK);
    CHECK(sl_log_append(&c, &ev, 1, 1, &res, NULL) == SL_OK);
    sl_txn_abort(&c);
    REQUIRE(sl_txn_begin_child(&w, &c) == SL_OK);
    CHECK(sl_log_append(&c, &ev, 1, 1, &res, NULL) == SL_OK);
    CHECK_EQ_U64(res.seq, 1);
    CHECK(sl_txn_commit(&c) == SL_OK);
    CHECK(sl_txn_commit(&w) == SL_OK);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK_EQ_U64(b.events, 1);
    CHECK_EQ_U64(b.next_seq, 2);
    fx_close(&f);
}

/* Write meta "format" = version with raw LMDB into the store at dir. */
static int raw_put_u32(const char *dir, const char *dbname, const char *key, uint32_t v)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t buf[4];
    sl_put_u32(buf, v);
    if (mdb_env_create(&env) != 0)
        return -1;
    mdb_env_set_maxdbs(env, 32);
    int rc = mdb_env_open(env, dir, 0, 0640);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi);
        MDB_val k = {strlen(key), (void *)key}, val = {sizeof buf, buf};
        if (rc == 0)
            rc = mdb_put(txn, dbi, &k, &val, 0);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    mdb_env_close(env);
    return rc;
}

TEST(format_version_refused)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_store_close(f.store);
    f.store = NULL;
    REQUIRE(raw_put_u32(f.dir, "meta", "format", 99) == 0);
    CHECK(sl_store_open(&f.opt, &f.store) == SL_ERR_VERSION);
    CHECK(f.store == NULL);
    REQUIRE(raw_put_u32(f.dir, "meta", "format", 1) == 0);
    CHECK(sl_store_open(&f.opt, &f.store) == SL_OK);
    fx_close(&f);

    /* data without any format record is not ours to guess about */
    char *dir = test_tmpdir("core-fmt");
    REQUIRE(dir);
    REQUIRE(raw_put_u32(dir, "events", "x", 1) == 0);
    sl_store_options o;
    sl_store_options_default(&o);
    o.path = dir;
    sl_store *s = NULL;
    CHECK(sl_store_open(&o, &s) == SL_ERR_VERSION);
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

/* ---- append and read ------------------------------------------------------- */

TEST(append_and_read_back)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_header hs[2] = {{sl_slice_of("trace"), sl_slice_of("abc")},
                       {sl_slice_of("empty"), sl_slice_of("")}};
    sl_event_in evs[3];
    evs[0] = ev_of("order.created", "{\"id\":1}");
    evs[0].content_type = sl_slice_of("application/json");
    evs[0].headers = hs;
    evs[0].nheaders = 2;
    evs[0].idem_key = sl_slice_of("key-1");
    evs[1] = ev_of("order.deleted", "");
    static const char bin[] = {0, 1, 2, 0, (char)0xff};
    evs[2] = ev_of("blob", NULL);
    evs[2].payload = slice_n(bin, sizeof bin);
    sl_append_result res[3];
    size_t bad = 7;
    REQUIRE(append_batch(f.store, evs, 3, 1000, res, &bad) == SL_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_U64(res[i].seq, i + 1);
        CHECK_EQ_U64(res[i].ts_ms, 1000);
        CHECK(!res[i].duplicate);
    }

    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    sl_event_view v;
    REQUIRE(sl_log_get(&r, 1, &v) == SL_OK);
    CHECK_EQ_U64(v.seq, 1);
    CHECK_EQ_U64(v.ts_ms, 1000);
    CHECK(sl_slice_eq_cstr(v.topic, "order.created"));
    CHECK(sl_slice_eq_cstr(v.payload, "{\"id\":1}"));
    CHECK(sl_slice_eq_cstr(v.content_type, "application/json"));
    CHECK(sl_slice_eq_cstr(v.idem_key, "key-1"));
    CHECK_EQ_U64(v.nheaders, 2);
    size_t pos = 0;
    sl_header h;
    REQUIRE(sl_event_header_next(&v, &pos, &h) == SL_OK);
    CHECK(sl_slice_eq_cstr(h.key, "trace") && sl_slice_eq_cstr(h.value, "abc"));
    REQUIRE(sl_event_header_next(&v, &pos, &h) == SL_OK);
    CHECK(sl_slice_eq_cstr(h.key, "empty") && h.value.len == 0);
    CHECK(sl_event_header_next(&v, &pos, &h) == SL_ERR_END);

    REQUIRE(sl_log_get(&r, 2, &v) == SL_OK);
    CHECK(v.payload.len == 0 && v.content_type.len == 0 && v.idem_key.len == 0);
    CHECK(v.nheaders == 0 && v.headers_raw_len == 0);
    pos = 0;
    CHECK(sl_event_header_next(&v, &pos, &h) == SL_ERR_END);
    REQUIRE(sl_log_get(&r, 3, &v) == SL_OK);
    CHECK(v.payload.len == sizeof bin && memcmp(v.payload.ptr, bin, sizeof bin) == 0);
    CHECK(sl_log_get(&r, 4, &v) == SL_ERR_NOT_FOUND);
    CHECK(sl_log_get(&r, 0, &v) == SL_ERR_NOT_FOUND);

    sl_log_bounds b;
    REQUIRE(sl_log_get_bounds(&r, &b) == SL_OK);
    CHECK_EQ_U64(b.first_seq, 1);
    CHECK_EQ_U64(b.last_seq, 3);
    CHECK_EQ_U64(b.next_seq, 4);
    CHECK_EQ_U64(b.events, 3);
    /* bytes = payload + topic + content type + headers block */
    uint64_t e1 = 8 + 13 + 16 + (2 + 5 + 2 + 3) + (2 + 5 + 2 + 0);
    CHECK_EQ_U64(b.bytes, e1 + 13 + (sizeof bin + 4));
    sl_txn_abort(&r);
    fx_close(&f);
}

TEST(empty_log_bounds)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 0 && b.last_seq == 0 && b.events == 0 && b.bytes == 0);
    CHECK_EQ_U64(b.next_seq, 1);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    uint64_t seq = 0;
    CHECK(sl_log_seq_at_time(&r, 0, &seq) == SL_OK);
    CHECK_EQ_U64(seq, 1);
    sl_log_iter it;
    sl_event_view v;
    REQUIRE(sl_log_iter_open(&r, 0, &it) == SL_OK);
    CHECK(sl_log_iter_next(&it, &v) == SL_ERR_END);
    sl_log_iter_close(&it);
    sl_log_iter_close(&it); /* twice is harmless */
    sl_txn_abort(&r);
    fx_close(&f);
}

TEST(sequences_never_reused)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.retention.max_age_ms = 1000;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_append_result res;
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        REQUIRE(append_one(f.store, "t", "x", NULL, 100, &res) == SL_OK);
        CHECK(res.seq > last);
        last = res.seq;
    }
    REQUIRE(fx_reopen(&f) == SL_OK);
    REQUIRE(append_one(f.store, "t", "x", NULL, 100, &res) == SL_OK);
    CHECK_EQ_U64(res.seq, 6);
    size_t deleted = 0;
    REQUIRE(trim(f.store, 100000, UINT64_MAX, 100, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 6);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 0 && b.last_seq == 0 && b.events == 0 && b.bytes == 0);
    CHECK_EQ_U64(b.next_seq, 7);
    REQUIRE(fx_reopen(&f) == SL_OK);
    REQUIRE(append_one(f.store, "t", "x", NULL, 100000, &res) == SL_OK);
    CHECK_EQ_U64(res.seq, 7);
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 7 && b.last_seq == 7 && b.events == 1);
    fx_close(&f);
}

TEST(timestamps_never_decrease)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "a", NULL, 5000, &res) == SL_OK);
    CHECK_EQ_U64(res.ts_ms, 5000);
    REQUIRE(append_one(f.store, "t", "b", NULL, 4000, &res) == SL_OK); /* clock went back */
    CHECK_EQ_U64(res.ts_ms, 5000);
    REQUIRE(fx_reopen(&f) == SL_OK);
    REQUIRE(append_one(f.store, "t", "c", NULL, 10, &res) == SL_OK);
    CHECK_EQ_U64(res.ts_ms, 5000);
    REQUIRE(append_one(f.store, "t", "d", NULL, 6000, &res) == SL_OK);
    CHECK_EQ_U64(res.ts_ms, 6000);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    sl_log_iter it;
    sl_event_view v;
    uint64_t prev = 0;
    REQUIRE(sl_log_iter_open(&r, 1, &it) == SL_OK);
    while (sl_log_iter_next(&it, &v) == SL_OK) {
        CHECK(v.ts_ms >= prev);
        prev = v.ts_ms;
    }
    sl_log_iter_close(&it);
    sl_txn_abort(&r);
    fx_close(&f);
}

/* Append evs expecting failure rc at index bad_want, and check that nothing
 * was written. */
static int refused(sl_store *s, const sl_event_in *evs, size_t n, sl_err rc_want,
                   size_t bad_want)
{
    sl_append_result res[4];
    size_t bad = 12345;
    sl_err rc = append_batch(s, evs, n, 1, res, &bad);
    sl_log_bounds b;
    if (get_bounds(s, &b) != SL_OK)
        return 0;
    if (rc != rc_want || bad != bad_want || b.events != 0 || b.next_seq != 1) {
        fprintf(stderr, "  refused: rc=%s bad=%zu events=%llu\n", sl_err_code(rc), bad,
                (unsigned long long)b.events);
        return 0;
    }
    return 1;
}

TEST(batch_all_or_nothing)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.max_payload_bytes = 16;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_event_in evs[3] = {ev_of("a", "1"), ev_of("b", "2"), ev_of("c", "3")};

    evs[1].topic = sl_slice_of("bad..topic");
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 1));
    evs[1].topic = sl_slice_of("");
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 1));
    evs[1].topic = sl_slice_of("b");

    evs[2].payload = sl_slice_of("0123456789abcdefX"); /* 17 > 16 */
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 2));
    evs[2].payload = sl_slice_of("0123456789abcdef"); /* exactly the limit: fine later */

    char big[2048];
    memset(big, 'x', sizeof big);
    evs[0].content_type = slice_n(big, SL_CONTENT_TYPE_MAX + 1);
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 0));
    evs[0].content_type = slice_n(NULL, 0);
    evs[0].idem_key = slice_n(big, SL_IDEM_KEY_MAX + 1);
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 0));
    evs[0].idem_key = slice_n(NULL, 0);
    evs[0].payload = slice_n(NULL, 3);
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 0));
    evs[0].payload = sl_slice_of("1");

    sl_header hs[SL_HEADERS_MAX + 1];
    char keys[SL_HEADERS_MAX + 1][8];
    for (int i = 0; i <= SL_HEADERS_MAX; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        hs[i].key = sl_slice_of(keys[i]);
        hs[i].value = sl_slice_of("v");
    }
    evs[1].headers = hs;
    evs[1].nheaders = SL_HEADERS_MAX + 1;
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 1));
    evs[1].nheaders = 2;
    hs[1].key = sl_slice_of("k0"); /* the same key twice */
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 1));
    hs[1].key = sl_slice_of("");
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 1));
    hs[1].key = slice_n(big, SL_HEADER_KEY_MAX + 1);
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 1));
    hs[1].key = sl_slice_of("k1");
    hs[1].value = slice_n(big, SL_HEADER_VALUE_MAX + 1);
    CHECK(refused(f.store, evs, 3, SL_ERR_TOO_LARGE, 1));
    hs[1].value = slice_n(big, SL_HEADER_VALUE_MAX);
    evs[1].headers = NULL;
    CHECK(refused(f.store, evs, 3, SL_ERR_INVALID, 1));
    evs[1].headers = hs;

    /* batch size limits: the batch as a whole is to blame */
    CHECK(refused(f.store, evs, 0, SL_ERR_INVALID, SIZE_MAX));
    CHECK(refused(f.store, evs, SL_PUBLISH_BATCH_MAX + 1, SL_ERR_INVALID, SIZE_MAX));
    CHECK(refused(f.store, NULL, 1, SL_ERR_INVALID, SIZE_MAX));

    /* everything at its limit is accepted */
    evs[0].content_type = slice_n(big, SL_CONTENT_TYPE_MAX);
    evs[0].idem_key = slice_n(big, SL_IDEM_KEY_MAX);
    hs[1].key = slice_n(big, SL_HEADER_KEY_MAX);
    evs[1].nheaders = SL_HEADERS_MAX;
    memset(big + 300, 'y', 10);
    evs[2].topic = slice_n(big, SL_TOPIC_MAX);
    sl_append_result res[3];
    REQUIRE(append_batch(f.store, evs, 3, 1, res, NULL) == SL_OK);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    sl_event_view v;
    REQUIRE(sl_log_get(&r, 2, &v) == SL_OK);
    CHECK_EQ_U64(v.nheaders, SL_HEADERS_MAX);
    size_t pos = 0, count = 0;
    sl_header h;
    while (sl_event_header_next(&v, &pos, &h) == SL_OK)
        count++;
    CHECK_EQ_U64(count, SL_HEADERS_MAX);
    REQUIRE(sl_log_get(&r, 3, &v) == SL_OK);
    CHECK_EQ_U64(v.topic.len, SL_TOPIC_MAX);
    CHECK_EQ_U64(v.payload.len, 16);
    sl_txn_abort(&r);
    fx_close(&f);
}

TEST(idempotency_keys)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK); /* window 120000 ms */
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "first", "k", 1000, &res) == SL_OK);
    CHECK(res.seq == 1 && !res.duplicate);
    /* inside the window: the original */
    REQUIRE(append_one(f.store, "t", "again", "k", 1000 + 119999, &res) == SL_OK);
    CHECK(res.seq == 1 && res.ts_ms == 1000 && res.duplicate);
    REQUIRE(append_one(f.store, "t", "other", "k2", 2000, &res) == SL_OK);
    CHECK(res.seq == 2 && !res.duplicate);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK_EQ_U64(b.events, 2);
    /* outside the window: appended anew, and the new one is the original now */
    REQUIRE(append_one(f.store, "t", "late", "k", 1000 + 120000, &res) == SL_OK);
    CHECK(res.seq == 3 && !res.duplicate);
    REQUIRE(append_one(f.store, "t", "late2", "k", 1000 + 120001, &res) == SL_OK);
    CHECK(res.seq == 3 && res.duplicate);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM), 2);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM_EXP), 2);

    /* a duplicate inside one batch gets the first one's seq */
    sl_event_in evs[4] = {ev_of("t", "a"), ev_of("t", "b"), ev_of("t", "c"), ev_of("t", "d")};
    evs[0].idem_key = sl_slice_of("batch");
    evs[2].idem_key = sl_slice_of("batch");
    evs[3].idem_key = sl_slice_of("k"); /* seen at 121000: in the window */
    sl_append_result rs[4];
    REQUIRE(append_batch(f.store, evs, 4, 130000, rs, NULL) == SL_OK);
    CHECK(rs[0].seq == 4 && !rs[0].duplicate);
    CHECK(rs[1].seq == 5 && !rs[1].duplicate);
    CHECK(rs[2].seq == 4 && rs[2].duplicate && rs[2].ts_ms == 130000);
    CHECK(rs[3].seq == 3 && rs[3].duplicate && rs[3].ts_ms == 121000);
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK_EQ_U64(b.next_seq, 6);
    CHECK_EQ_U64(b.events, 5);

    /* a batch of nothing but duplicates writes nothing */
    REQUIRE(append_one(f.store, "t", "x", "batch", 130001, &res) == SL_OK);
    CHECK(res.duplicate && res.seq == 4);
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK_EQ_U64(b.next_seq, 6);

    /* trims expire keys whose window ended: k2 (2000), k (121000), batch (130000) */
    size_t deleted = 99;
    REQUIRE(trim(f.store, 2000 + 120000, UINT64_MAX, 100, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 0);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM), 2); /* k2 gone; k, batch left */
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM_EXP), 2);
    REQUIRE(trim(f.store, 130000 + 120000, UINT64_MAX, 1, &deleted) == SL_OK); /* budget 1 */
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM), 1);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM_EXP), 1);
    REQUIRE(trim(f.store, 130000 + 120000, UINT64_MAX, 100, &deleted) == SL_OK);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM), 0);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_IDEM_EXP), 0);
    REQUIRE(append_one(f.store, "t", "x", "k2", 130000 + 120000, &res) == SL_OK);
    CHECK(res.seq == 6 && !res.duplicate);
    fx_close(&f);
}

TEST(idempotency_window_zero)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.dedupe_window_ms = 0;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "a", "k", 10, &res) == SL_OK);
    REQUIRE(append_one(f.store, "t", "a", "k", 10, &res) == SL_OK);
    CHECK(res.seq == 2 && !res.duplicate);
    fx_close(&f);
}

/* ---- search, iteration, topics ---------------------------------------------- */

TEST(seq_at_time)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    /* 300 events, 3 per timestamp: ts(seq) = 10 * ((seq - 1) / 3 + 1) */
    sl_event_in evs[3] = {ev_of("t", "a"), ev_of("t", "b"), ev_of("t", "c")};
    sl_append_result res[3];
    for (uint64_t i = 1; i <= 100; i++)
        REQUIRE(append_batch(f.store, evs, 3, 10 * i, res, NULL) == SL_OK);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    for (uint64_t ts = 0; ts <= 1010; ts++) {
        uint64_t want = ts <= 10 ? 1 : ts > 1000 ? 301 : 3 * ((ts + 9) / 10 - 1) + 1;
        uint64_t got = 0;
        REQUIRE(sl_log_seq_at_time(&r, ts, &got) == SL_OK);
        if (got != want) {
            CHECK_EQ_U64(got, want);
            break;
        }
    }
    sl_txn_abort(&r);
    /* after a trim the search starts at the oldest retained event */
    size_t deleted;
    sl_store_close(f.store);
    f.opt.retention.max_events = 100;
    REQUIRE(sl_store_open(&f.opt, &f.store) == SL_OK);
    REQUIRE(trim(f.store, 1000, UINT64_MAX, 1000, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 200);
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    uint64_t got = 0;
    REQUIRE(sl_log_seq_at_time(&r, 0, &got) == SL_OK);
    CHECK_EQ_U64(got, 201);
    REQUIRE(sl_log_seq_at_time(&r, 700, &got) == SL_OK);
    CHECK_EQ_U64(got, 208);
    REQUIRE(sl_log_seq_at_time(&r, UINT64_MAX, &got) == SL_OK);
    CHECK_EQ_U64(got, 301);
    sl_txn_abort(&r);
    fx_close(&f);
}

TEST(iterator)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_event_in evs[10];
    char payloads[10][8];
    for (int i = 0; i < 10; i++) {
        snprintf(payloads[i], sizeof payloads[i], "p%d", i + 1);
        evs[i] = ev_of(i % 2 ? "odd" : "even", payloads[i]);
    }
    sl_append_result res[10];
    REQUIRE(append_batch(f.store, evs, 10, 50, res, NULL) == SL_OK);
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    sl_log_iter it;
    sl_event_view v;
    uint64_t want = 4;
    REQUIRE(sl_log_iter_open(&r, 4, &it) == SL_OK);
    sl_err rc;
    while ((rc = sl_log_iter_next(&it, &v)) == SL_OK) {
        char p[8];
        snprintf(p, sizeof p, "p%llu", (unsigned long long)want);
        CHECK_EQ_U64(v.seq, want);
        CHECK(sl_slice_eq_cstr(v.payload, p));
        CHECK(sl_slice_eq_cstr(v.topic, want % 2 ? "even" : "odd"));
        want++;
    }
    CHECK(rc == SL_ERR_END);
    CHECK_EQ_U64(want, 11);
    CHECK(sl_log_iter_next(&it, &v) == SL_ERR_END);
    sl_log_iter_close(&it);
    CHECK(sl_log_iter_next(&it, &v) == SL_ERR_INVALID); /* closed */
    REQUIRE(sl_log_iter_open(&r, 0, &it) == SL_OK);
    REQUIRE(sl_log_iter_next(&it, &v) == SL_OK);
    CHECK_EQ_U64(v.seq, 1);
    sl_log_iter_close(&it);
    REQUIRE(sl_log_iter_open(&r, 11, &it) == SL_OK);
    CHECK(sl_log_iter_next(&it, &v) == SL_ERR_END);
    sl_log_iter_close(&it);
    sl_txn_abort(&r);
    fx_close(&f);
}

typedef struct topic_seen {
    size_t n;                  /* topics seen */
    char names[64][16];        /* their names, in callback order */
    sl_topic_info info[64];    /* their statistics (names not kept) */
} topic_seen;

static sl_err collect_topic(void *ctx, const sl_topic_info *info)
{
    topic_seen *s = ctx;
    if (s->n == 64 || info->name.len >= 16)
        return SL_ERR_TOO_LARGE;
    memcpy(s->names[s->n], info->name.ptr, info->name.len);
    s->names[s->n][info->name.len] = '\0';
    s->info[s->n++] = *info;
    return SL_OK;
}

static sl_err stop_at_first(void *ctx, const sl_topic_info *info)
{
    (void)info;
    ++*(int *)ctx;
    return SL_ERR_NOT_FOUND;
}

static sl_err read_topics(sl_store *s, topic_seen *seen)
{
    memset(seen, 0, sizeof *seen);
    sl_txn r;
    sl_err rc = sl_txn_begin_read(s, &r);
    if (rc == SL_OK)
        rc = sl_topics_each(&r, collect_topic, seen);
    sl_txn_abort(&r);
    return rc;
}

TEST(topic_statistics)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_event_in evs[3] = {ev_of("b", "12345"), ev_of("a", "1"), ev_of("b", "123")};
    sl_append_result res[3];
    REQUIRE(append_batch(f.store, evs, 3, 1, res, NULL) == SL_OK);
    REQUIRE(append_one(f.store, "a", "22", NULL, 2, res) == SL_OK);
    topic_seen seen;
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == 2);
    CHECK(strcmp(seen.names[0], "a") == 0 && strcmp(seen.names[1], "b") == 0);
    CHECK(seen.info[0].events == 2 && seen.info[0].bytes == 2 + 3);
    CHECK(seen.info[0].first_seq == 2 && seen.info[0].last_seq == 4);
    CHECK(seen.info[1].events == 2 && seen.info[1].bytes == 6 + 4);
    CHECK(seen.info[1].first_seq == 1 && seen.info[1].last_seq == 3);
    int calls = 0;
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    CHECK(sl_topics_each(&r, stop_at_first, &calls) == SL_ERR_NOT_FOUND);
    CHECK(calls == 1);
    CHECK(sl_topics_each(&r, NULL, NULL) == SL_ERR_INVALID);
    sl_txn_abort(&r);
    fx_close(&f);
}

TEST(topic_statistics_many_topics_in_one_batch)
{
    /* more distinct topics than the per-batch table holds: forces flushes */
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    enum { N = 1000, TOPICS = 50 };
    static sl_event_in evs[N];
    static sl_append_result res[N];
    char names[TOPICS][8];
    for (int t = 0; t < TOPICS; t++)
        snprintf(names[t], sizeof names[t], "t%02d", t);
    for (int i = 0; i < N; i++)
        evs[i] = ev_of(names[(i * 7) % TOPICS], "xy");
    REQUIRE(append_batch(f.store, evs, N, 1, res, NULL) == SL_OK);
    topic_seen seen;
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == TOPICS);
    uint64_t total = 0;
    for (int t = 0; t < TOPICS; t++) {
        CHECK(strcmp(seen.names[t], names[t]) == 0);
        CHECK_EQ_U64(seen.info[t].events, N / TOPICS);
        CHECK_EQ_U64(seen.info[t].bytes, (N / TOPICS) * 5);
        /* first and last seq of topic t: the first/last i with (7i % 50) == t */
        uint64_t first = 0, last = 0;
        for (int i = 0; i < N; i++)
            if ((i * 7) % TOPICS == t) {
                if (!first)
                    first = (uint64_t)i + 1;
                last = (uint64_t)i + 1;
            }
        CHECK_EQ_U64(seen.info[t].first_seq, first);
        CHECK_EQ_U64(seen.info[t].last_seq, last);
        total += seen.info[t].events;
    }
    CHECK_EQ_U64(total, N);

    /* a trim over as many topics flushes its table too */
    sl_store_close(f.store);
    f.opt.retention.max_events = N / 2;
    REQUIRE(sl_store_open(&f.opt, &f.store) == SL_OK);
    size_t deleted = 0;
    REQUIRE(trim(f.store, 1, UINT64_MAX, N, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, N / 2);
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == TOPICS);
    for (int t = 0; t < TOPICS; t++) {
        CHECK_EQ_U64(seen.info[t].events, N / TOPICS / 2);
        CHECK_EQ_U64(seen.info[t].bytes, (N / TOPICS / 2) * 5);
        CHECK(seen.info[t].first_seq <= (uint64_t)N / 2 + TOPICS);
    }
    fx_close(&f);
}

/* Put raw bytes under key in db, in a committed write transaction. */
static sl_err raw_put(sl_store *s, sl_db db, const void *key, size_t klen, const void *val,
                      size_t vlen)
{
    sl_txn w;
    sl_err rc = sl_txn_begin_write(s, &w);
    if (rc != SL_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(w.txn, sl_store_dbi(s, db), &k, &v, 0);
    if (mrc != MDB_SUCCESS) {
        sl_txn_abort(&w);
        return sl_err_from_mdb(mrc);
    }
    return sl_txn_commit(&w);
}

TEST(corrupt_records)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "x", NULL, 1, &res) == SL_OK);
    uint8_t key[8];
    sl_put_u64(key, 2);
    static const uint8_t junk[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 200, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE(raw_put(f.store, SL_DB_EVENTS, key, sizeof key, junk, sizeof junk) == SL_OK);
    uint8_t rec[23] = {9}; /* an unknown record version */
    sl_put_u64(key, 3);
    REQUIRE(raw_put(f.store, SL_DB_EVENTS, key, sizeof key, rec, sizeof rec) == SL_OK);
    sl_txn r;
    sl_event_view v;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    CHECK(sl_log_get(&r, 1, &v) == SL_OK);
    CHECK(sl_log_get(&r, 2, &v) == SL_ERR_CORRUPT);
    CHECK(sl_log_get(&r, 3, &v) == SL_ERR_VERSION);
    sl_log_iter it;
    REQUIRE(sl_log_iter_open(&r, 2, &it) == SL_OK);
    CHECK(sl_log_iter_next(&it, &v) == SL_ERR_CORRUPT);
    sl_log_iter_close(&it);
    sl_txn_abort(&r);
    /* the log state is behind the stored events: appends refuse, not overwrite */
    CHECK(append_one(f.store, "t", "y", NULL, 2, &res) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(f.store, SL_DB_META, "log_state", 9, "short", 5) == SL_OK);
    sl_log_bounds b;
    CHECK(get_bounds(f.store, &b) == SL_ERR_CORRUPT);
    CHECK(append_one(f.store, "t", "y", NULL, 2, &res) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(f.store, SL_DB_TOPICS, "t", 1, "bad", 3) == SL_OK);
    topic_seen seen;
    CHECK(read_topics(f.store, &seen) == SL_ERR_CORRUPT);
    REQUIRE(raw_put(f.store, SL_DB_META, "instance", 8, "bad", 3) == SL_OK);
    CHECK(fx_reopen(&f) == SL_ERR_CORRUPT);
    fx_close(&f);
}

/* ---- trims ------------------------------------------------------------------ */

TEST(trim_by_age)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.retention.max_age_ms = 1500;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "a", "1", NULL, 1000, &res) == SL_OK);
    REQUIRE(append_one(f.store, "b", "2", NULL, 2000, &res) == SL_OK);
    REQUIRE(append_one(f.store, "a", "3", NULL, 3000, &res) == SL_OK);
    size_t deleted = 0;
    REQUIRE(trim(f.store, 1000, UINT64_MAX, 100, &deleted) == SL_OK); /* now < max age */
    CHECK_EQ_U64(deleted, 0);
    REQUIRE(trim(f.store, 3500, UINT64_MAX, 100, &deleted) == SL_OK); /* drops ts < 2000 */
    CHECK_EQ_U64(deleted, 1);
    REQUIRE(trim(f.store, 3501, UINT64_MAX, 100, &deleted) == SL_OK); /* drops ts < 2001 */
    CHECK_EQ_U64(deleted, 1);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 3 && b.last_seq == 3 && b.events == 1 && b.bytes == 2);
    topic_seen seen;
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == 1); /* "b" lost its last event, and its record */
    CHECK(strcmp(seen.names[0], "a") == 0);
    CHECK(seen.info[0].events == 1 && seen.info[0].bytes == 2);
    CHECK(seen.info[0].first_seq == 2 && seen.info[0].last_seq == 3); /* lower bound */
    fx_close(&f);
}

TEST(trim_by_bytes)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.retention.max_age_ms = 0;
    o.retention.max_bytes = 35;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_event_in evs[10];
    for (int i = 0; i < 10; i++)
        evs[i] = ev_of("t", "123456789"); /* 10 bytes each */
    sl_append_result res[10];
    REQUIRE(append_batch(f.store, evs, 10, 1, res, NULL) == SL_OK);
    size_t deleted = 0;
    REQUIRE(trim(f.store, UINT64_MAX, UINT64_MAX, 100, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 7);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 8 && b.events == 3 && b.bytes == 30);
    fx_close(&f);
}

TEST(trim_by_count_budget_and_floor)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.retention.max_events = 4;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_event_in evs[10];
    for (int i = 0; i < 10; i++)
        evs[i] = ev_of(i < 5 ? "x" : "y", "p");
    sl_append_result res[10];
    REQUIRE(append_batch(f.store, evs, 10, 1, res, NULL) == SL_OK);
    size_t deleted = 0;
    REQUIRE(trim(f.store, 1, UINT64_MAX, 2, &deleted) == SL_OK); /* budget */
    CHECK_EQ_U64(deleted, 2);
    REQUIRE(trim(f.store, 1, 4, 100, &deleted) == SL_OK); /* floor: never seq >= 4 */
    CHECK_EQ_U64(deleted, 1);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 4 && b.events == 7);
    REQUIRE(trim(f.store, 1, UINT64_MAX, 0, &deleted) == SL_OK); /* no budget */
    CHECK_EQ_U64(deleted, 0);
    REQUIRE(trim(f.store, 1, UINT64_MAX, 100, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 3);
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 7 && b.last_seq == 10 && b.events == 4 && b.bytes == 8);
    topic_seen seen;
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == 1);
    CHECK(strcmp(seen.names[0], "y") == 0 && seen.info[0].events == 4);
    CHECK(seen.info[0].first_seq == 7 && seen.info[0].bytes == 8);
    REQUIRE(trim(f.store, 1, UINT64_MAX, 100, &deleted) == SL_OK); /* within limits */
    CHECK_EQ_U64(deleted, 0);
    fx_close(&f);
}

/* ---- map growth and the quota ----------------------------------------------- */

/* Append batches of 8 x 16 KiB until the map is full; returns the number of
 * batches committed, and leaves the failed batch for the caller to retry. */
static int fill_until_full(sl_store *s, const sl_event_in *evs, uint64_t *now, sl_err *last)
{
    sl_append_result res[8];
    for (int i = 0; i < 10000; i++) {
        *last = append_batch(s, evs, 8, ++*now, res, NULL);
        if (*last != SL_OK)
            return i;
    }
    return -1;
}

TEST(map_full_grow_and_quota)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.map_initial_bytes = 1 << 20;
    o.quota_bytes = 2 << 20;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    static char payload[16 << 10];
    memset(payload, 'z', sizeof payload);
    sl_event_in evs[8];
    for (int i = 0; i < 8; i++) {
        evs[i] = ev_of("fill", NULL);
        evs[i].payload = slice_n(payload, sizeof payload);
    }
    uint64_t now = 0;
    sl_err rc = SL_OK;
    int batches = fill_until_full(f.store, evs, &now, &rc);
    CHECK(batches > 0);
    REQUIRE(rc == SL_ERR_MAP_FULL);
    sl_log_bounds before;
    REQUIRE(get_bounds(f.store, &before) == SL_OK);
    CHECK_EQ_U64(before.events, (uint64_t)batches * 8); /* the failed batch left nothing */

    /* grow (publish) up to the quota, retry the same batch */
    REQUIRE(sl_store_grow(f.store, true) == SL_OK);
    sl_store_stats st;
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK_EQ_U64(st.map_bytes, 2 << 20);
    sl_append_result res[8];
    CHECK(append_batch(f.store, evs, 8, now, res, NULL) == SL_OK);
    CHECK_EQ_U64(res[0].seq, before.next_seq);
    sl_txn r;
    sl_event_view v;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    REQUIRE(sl_log_get(&r, res[7].seq, &v) == SL_OK);
    CHECK(v.payload.len == sizeof payload && memcmp(v.payload.ptr, payload, sizeof payload) == 0);
    sl_txn_abort(&r);

    /* at the quota: publishes cannot grow, the non-publish reserve can */
    batches = fill_until_full(f.store, evs, &now, &rc);
    REQUIRE(rc == SL_ERR_MAP_FULL);
    CHECK(sl_store_grow(f.store, true) == SL_ERR_STORAGE_FULL);
    REQUIRE(sl_store_grow(f.store, false) == SL_OK);
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK_EQ_U64(st.map_bytes, (2 << 20) + (16 << 20)); /* quota + 16 MiB reserve */
    CHECK(st.used_bytes <= st.map_bytes);
    CHECK(sl_store_grow(f.store, false) == SL_ERR_STORAGE_FULL);
    CHECK(append_batch(f.store, evs, 8, now, res, NULL) == SL_OK);

    /* a reopen keeps a map at least as large as the file */
    REQUIRE(fx_reopen(&f) == SL_OK);
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK(st.map_bytes >= st.file_bytes);
    CHECK(st.map_bytes >= st.used_bytes);
    sl_log_bounds after;
    REQUIRE(get_bounds(f.store, &after) == SL_OK);
    CHECK(after.events > before.events);
    fx_close(&f);
}

TEST(grow_steps)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.map_initial_bytes = 1 << 20;
    o.quota_bytes = 1ull << 30;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    sl_store_stats st;
    REQUIRE(sl_store_grow(f.store, true) == SL_OK); /* at least +64 MiB */
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK_EQ_U64(st.map_bytes, 65ull << 20);
    REQUIRE(sl_store_grow(f.store, true) == SL_OK); /* then doubles: 130 > 65 + 64 */
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK_EQ_U64(st.map_bytes, 130ull << 20);
    fx_close(&f);
}

UNIT_MAIN("core_log", UNIT_CASE(topic_validation), UNIT_CASE(filter_matching),
          UNIT_CASE(event_ids), UNIT_CASE(header_block_iteration), UNIT_CASE(error_names),
          UNIT_CASE(store_options), UNIT_CASE(store_reopen_keeps_instance),
          UNIT_CASE(txn_misuse), UNIT_CASE(format_version_refused),
          UNIT_CASE(append_and_read_back), UNIT_CASE(empty_log_bounds),
          UNIT_CASE(sequences_never_reused), UNIT_CASE(timestamps_never_decrease),
          UNIT_CASE(batch_all_or_nothing), UNIT_CASE(idempotency_keys),
          UNIT_CASE(idempotency_window_zero), UNIT_CASE(seq_at_time), UNIT_CASE(iterator),
          UNIT_CASE(topic_statistics), UNIT_CASE(topic_statistics_many_topics_in_one_batch),
          UNIT_CASE(corrupt_records),
          UNIT_CASE(trim_by_age), UNIT_CASE(trim_by_bytes),
          UNIT_CASE(trim_by_count_budget_and_floor), UNIT_CASE(map_full_grow_and_quota),
          UNIT_CASE(grow_steps))
