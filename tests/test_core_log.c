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
#include "core/chunk.h"
#include "core/db.h"
#include "core/error.h"
#include "core/event.h"
#include "core/log.h"
#include "core/log_format_v1.h"
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
    CHECK_EQ_U64(st.format_version, 4);
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

TEST(format_version_refused)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_store_close(f.store);
    f.store = NULL;
    REQUIRE(test_lmdb_put_u32(f.dir, "meta", "format", 99) == 0);
    CHECK(sl_store_open(&f.opt, &f.store) == SL_ERR_VERSION);
    CHECK(f.store == NULL);
    REQUIRE(test_lmdb_put_u32(f.dir, "meta", "format", 1) == 0);
    CHECK(sl_store_open(&f.opt, &f.store) == SL_OK);
    fx_close(&f);

    /* a format 3 store (its journal holds no splices) is a format 4 one as it is */
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "kept", NULL, 1, &res) == SL_OK);
    sl_store_close(f.store);
    f.store = NULL;
    REQUIRE(test_lmdb_put_u32(f.dir, "meta", "format", 3) == 0);
    REQUIRE(sl_store_open(&f.opt, &f.store) == SL_OK);
    sl_store_stats st;
    REQUIRE(sl_store_get_stats(f.store, &st) == SL_OK);
    CHECK_EQ_U64(st.format_version, 4);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK_EQ_U64(b.events, 1);
    fx_close(&f);

    /* data without any format record is not ours to guess about */
    char *dir = test_tmpdir("core-fmt");
    REQUIRE(dir);
    REQUIRE(test_lmdb_put_u32(dir, "events", "x", 1) == 0);
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

/* Copy the stored chunk under seq into buf (at most cap bytes); its size. */
static size_t raw_chunk(sl_store *s, uint64_t seq, uint8_t *buf, size_t cap)
{
    sl_txn r;
    if (sl_txn_begin_read(s, &r) != SL_OK)
        return 0;
    uint8_t key[8];
    sl_put_u64(key, seq);
    MDB_val k = {sizeof key, key}, v;
    size_t n = 0;
    if (mdb_get(r.txn, sl_store_dbi(s, SL_DB_CHUNKS), &k, &v) == MDB_SUCCESS && v.mv_size <= cap) {
        memcpy(buf, v.mv_data, v.mv_size);
        n = v.mv_size;
    }
    sl_txn_abort(&r);
    return n;
}

/* sl_log_get(seq) and an iterator from seq both end with want. */
static int reads_fail(sl_store *s, uint64_t seq, sl_err want)
{
    sl_txn r;
    sl_event_view v;
    sl_log_iter it;
    if (sl_txn_begin_read(s, &r) != SL_OK)
        return 0;
    sl_err got = sl_log_get(&r, seq, &v), got_it = SL_OK;
    if (sl_log_iter_open(&r, seq, &it) == SL_OK)
        got_it = sl_log_iter_next(&it, &v);
    sl_log_iter_close(&it);
    sl_txn_abort(&r);
    if (got != want || got_it != want)
        fprintf(stderr, "  seq %llu: get %s, iter %s\n", (unsigned long long)seq,
                sl_err_code(got), sl_err_code(got_it));
    return got == want && got_it == want;
}

TEST(corrupt_records)
{
    fixture f;
    REQUIRE(fx_open(&f, NULL) == SL_OK);
    sl_append_result res;
    REQUIRE(append_one(f.store, "t", "x", NULL, 1, &res) == SL_OK);
    uint8_t good[256], bad[256], key[8];
    size_t n = raw_chunk(f.store, 1, good, sizeof good);
    REQUIRE(n == SL_CHUNK_HEADER_LEN + 4 + SL_CHUNK_RECORD_FIXED + 2);
    sl_put_u64(key, 1);
    /* an unknown chunk version */
    memcpy(bad, good, n);
    bad[0] = 9;
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, bad, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_ERR_VERSION));
    /* a chunk cut short, a count of 0, an offset past the end, a bad record */
    const size_t cut_at[] = {10, n - 1};
    for (size_t i = 0; i < 2; i++) {
        REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, good, cut_at[i]) == SL_OK);
        CHECK(reads_fail(f.store, 1, SL_ERR_CORRUPT));
    }
    memcpy(bad, good, n);
    sl_put_u16(bad + 2, 0);
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, bad, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_ERR_CORRUPT));
    memcpy(bad, good, n);
    sl_put_u32(bad + SL_CHUNK_HEADER_LEN, 99);
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, bad, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_ERR_CORRUPT));
    memcpy(bad, good, n);
    bad[SL_CHUNK_HEADER_LEN + 4 + 4] = 0; /* topic length 0 */
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, bad, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_ERR_CORRUPT));
    memcpy(bad, good, n);
    bad[SL_CHUNK_HEADER_LEN + 4 + 4] = 3; /* topic longer than the record */
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, bad, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_ERR_CORRUPT));
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, good, n) == SL_OK);
    CHECK(reads_fail(f.store, 1, SL_OK));
    /* the log state is behind the stored events: appends refuse, not overwrite */
    sl_put_u64(key, 2);
    REQUIRE(raw_put(f.store, SL_DB_CHUNKS, key, 8, good, n) == SL_OK);
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

/* ---- chunks ------------------------------------------------------------------ */

/* Check that every seq in [first, last] reads back with the payload byte
 * (seq % 251) repeated len_of(seq) times, through sl_log_get and through one
 * iterator from first. */
typedef size_t (*len_fn)(uint64_t seq);

static int read_all(sl_store *s, uint64_t first, uint64_t last, len_fn len_of)
{
    sl_txn r;
    if (sl_txn_begin_read(s, &r) != SL_OK)
        return 0;
    int ok = 1;
    sl_event_view v;
    for (uint64_t seq = first; seq <= last && ok; seq++) {
        ok = sl_log_get(&r, seq, &v) == SL_OK && v.seq == seq &&
             v.payload.len == len_of(seq) &&
             (v.payload.len == 0 || (uint8_t)v.payload.ptr[v.payload.len - 1] == seq % 251);
        if (!ok)
            fprintf(stderr, "  get %llu failed\n", (unsigned long long)seq);
    }
    sl_log_iter it;
    uint64_t want = first;
    if (ok && sl_log_iter_open(&r, first, &it) == SL_OK) {
        while (ok && sl_log_iter_next(&it, &v) == SL_OK) {
            ok = v.seq == want && v.payload.len == len_of(want);
            want++;
        }
        sl_log_iter_close(&it);
    }
    if (want != last + 1) {
        fprintf(stderr, "  iterator stopped at %llu\n", (unsigned long long)want);
        ok = 0;
    }
    sl_txn_abort(&r);
    return ok;
}

/* Events whose payload is len bytes of (seq % 251), seq counted from next. */
static void fill_events(sl_event_in *evs, char *buf, size_t n, size_t len, uint64_t next,
                        const char *topic)
{
    for (size_t i = 0; i < n; i++) {
        char *p = buf + i * len;
        memset(p, (int)((next + i) % 251), len);
        evs[i] = ev_of(topic, NULL);
        evs[i].payload = slice_n(p, len);
    }
}

static size_t len_exact(uint64_t seq)
{
    (void)seq;
    return 65500 / 4 - SL_CHUNK_OFFSET_LEN - SL_CHUNK_RECORD_FIXED - 1;
}

static size_t len_exact_plus(uint64_t seq)
{
    return len_exact(seq) + 1;
}

TEST(chunk_boundaries_exact_pages)
{
    /* 4 events of this size fill a chunk exactly to 16 pages; one byte more
     * and only 3 fit */
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    size_t ps = 4096;
    CHECK_EQ_U64(sl_chunk_cap(ps), 16 * ps - 16);
    CHECK_EQ_U64(SL_CHUNK_HEADER_LEN + 4 * (SL_CHUNK_OFFSET_LEN + SL_CHUNK_RECORD_FIXED + 1 +
                                            len_exact(0)), sl_chunk_cap(ps));
    static char buf[8 * 16500];
    sl_event_in evs[8];
    sl_append_result res[8];
    fill_events(evs, buf, 8, len_exact(0), 1, "t");
    REQUIRE(append_batch(f.store, evs, 8, 1, res, NULL) == SL_OK);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_CHUNKS), 2);
    uint8_t key[8];
    sl_put_u64(key, 5);
    static uint8_t chunk[70000];
    CHECK_EQ_U64(raw_chunk(f.store, 5, chunk, sizeof chunk), sl_chunk_cap(ps));
    CHECK(read_all(f.store, 1, 8, len_exact));
    fx_close(&f);

    REQUIRE(fx_open(&f, &o) == SL_OK);
    fill_events(evs, buf, 8, len_exact_plus(0), 1, "t");
    REQUIRE(append_batch(f.store, evs, 8, 1, res, NULL) == SL_OK);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_CHUNKS), 3); /* 3 + 3 + 2 */
    CHECK(raw_chunk(f.store, 4, chunk, sizeof chunk) > 0);
    CHECK(raw_chunk(f.store, 7, chunk, sizeof chunk) > 0);
    CHECK(read_all(f.store, 1, 8, len_exact_plus));
    fx_close(&f);
}

static size_t len_big_middle(uint64_t seq)
{
    return seq == 3 ? 200000 : 100;
}

TEST(chunk_event_larger_than_cap)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    static char buf[200000 + 4 * 100];
    sl_event_in evs[5];
    char *p = buf;
    for (uint64_t seq = 1; seq <= 5; seq++) {
        size_t len = len_big_middle(seq);
        memset(p, (int)(seq % 251), len);
        evs[seq - 1] = ev_of("t", NULL);
        evs[seq - 1].payload = slice_n(p, len);
        p += len;
    }
    sl_append_result res[5];
    REQUIRE(append_batch(f.store, evs, 5, 1, res, NULL) == SL_OK);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_CHUNKS), 3); /* [1,2] [3] [4,5] */
    static uint8_t chunk[256];
    CHECK(raw_chunk(f.store, 4, chunk, sizeof chunk) > 0);
    CHECK(read_all(f.store, 1, 5, len_big_middle));
    fx_close(&f);
}

static size_t len_256(uint64_t seq)
{
    (void)seq;
    return 256;
}

/* Bytes (payload + topic) of n events of len bytes on topic "bench.t". */
static double ratio_of(sl_store *s, uint64_t n, size_t len)
{
    sl_store_stats st;
    if (sl_store_get_stats(s, &st) != SL_OK)
        return 99;
    return (double)st.used_bytes / (double)(n * (len + 7));
}

TEST(thousands_of_single_event_appends)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    enum { N = 4000 };
    static char buf[256];
    sl_event_in ev;
    sl_append_result res;
    uint64_t t0 = test_mono_ms();
    for (uint64_t seq = 1; seq <= N / 2; seq++) {
        fill_events(&ev, buf, 1, 256, seq, "bench.t");
        REQUIRE(append_batch(f.store, &ev, 1, seq, &res, NULL) == SL_OK);
        REQUIRE(res.seq == seq);
    }
    double own_txns = ratio_of(f.store, N / 2, 256);
    /* the daemon's way: one write transaction, a child transaction per publish */
    sl_txn w, c;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    for (uint64_t seq = N / 2 + 1; seq <= N; seq++) {
        fill_events(&ev, buf, 1, 256, seq, "bench.t");
        REQUIRE(sl_txn_begin_child(&w, &c) == SL_OK);
        REQUIRE(sl_log_append(&c, &ev, 1, N, &res, NULL) == SL_OK);
        REQUIRE(sl_txn_commit(&c) == SL_OK);
    }
    REQUIRE(sl_txn_commit(&w) == SL_OK);
    double secs = (double)(test_mono_ms() - t0 + 1) / 1000.0;
    uint64_t chunks = db_entries(f.store, SL_DB_CHUNKS);
    CHECK(chunks < N / 5); /* small tails are extended, not one chunk per event */
    CHECK(read_all(f.store, 1, N, len_256));
    /* in one transaction the pages of each rewritten tail are freed only at
     * its commit (reused by later transactions): printed, not bounded */
    printf("  single-event appends, 256 B: %llu chunks, disk/data %.3f after %d own "
           "transactions, %.3f after %d more in child transactions; %.0f events/s\n",
           (unsigned long long)chunks, own_txns, N / 2, ratio_of(f.store, N, 256), N / 2,
           N / secs);
    CHECK(own_txns <= 1.4); /* 1.15 in the long run: one page per 14 events */
    fx_close(&f);
}

/* 300 batches of 20 events of 1000 B, batch b at ts 10 * b. */
static sl_err fill_timed(sl_store *s)
{
    static char buf[20 * 1000];
    sl_event_in evs[20];
    sl_append_result res[20];
    for (uint64_t b = 1; b <= 300; b++) {
        fill_events(evs, buf, 20, 1000, (b - 1) * 20 + 1, b % 2 ? "odd" : "even");
        sl_err rc = append_batch(s, evs, 20, 10 * b, res, NULL);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

static size_t len_1000(uint64_t seq)
{
    (void)seq;
    return 1000;
}

TEST(iterator_and_time_search_across_chunks)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    REQUIRE(fill_timed(f.store) == SL_OK);
    CHECK(db_entries(f.store, SL_DB_CHUNKS) >= 100); /* 20 KB per batch: one chunk each */
    CHECK(read_all(f.store, 1, 6000, len_1000));
    CHECK(read_all(f.store, 3999, 6000, len_1000)); /* iterators from inside a chunk */
    sl_txn r;
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    for (uint64_t ts = 0; ts <= 3010; ts++) {
        uint64_t want = ts <= 10 ? 1 : ts > 3000 ? 6001 : 20 * ((ts + 9) / 10 - 1) + 1;
        uint64_t got = 0;
        REQUIRE(sl_log_seq_at_time(&r, ts, &got) == SL_OK);
        if (got != want) {
            CHECK_EQ_U64(got, want);
            break;
        }
    }
    sl_txn_abort(&r);
    fx_close(&f);
}

/* The bytes of events [first, last] of fill_timed. */
static uint64_t timed_bytes(uint64_t first, uint64_t last)
{
    uint64_t n = 0;
    for (uint64_t seq = first; seq <= last; seq++)
        n += 1000 + (((seq - 1) / 20 + 1) % 2 ? 3 : 4);
    return n;
}

TEST(trim_whole_chunks_with_floor_inside)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    o.retention.max_events = 1000;
    fixture f;
    REQUIRE(fx_open(&f, &o) == SL_OK);
    REQUIRE(fill_timed(f.store) == SL_OK);
    uint64_t chunks = db_entries(f.store, SL_DB_CHUNKS);
    sl_txn r;
    sl_chunk c;
    size_t deleted = 0;
    /* the floor is inside the chunk of 2001..2020: events below it go, the
     * chunk holding it stays whole */
    REQUIRE(trim(f.store, 1, 2010, 100000, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 2009);
    sl_log_bounds b;
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 2010 && b.last_seq == 6000 && b.events == 3991);
    CHECK_EQ_U64(b.bytes, timed_bytes(2010, 6000));
    REQUIRE(sl_txn_begin_read(f.store, &r) == SL_OK);
    MDB_cursor *cur;
    REQUIRE(mdb_cursor_open(r.txn, sl_store_dbi(f.store, SL_DB_CHUNKS), &cur) == 0);
    MDB_val k, v;
    REQUIRE(mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0);
    REQUIRE(sl_chunk_parse(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &c) == SL_OK);
    CHECK_EQ_U64(c.first_seq, 2001); /* whole chunks below went */
    mdb_cursor_close(cur);
    CHECK_EQ_U64(db_entries(f.store, SL_DB_CHUNKS), chunks - 100);
    sl_event_view ev;
    CHECK(sl_log_get(&r, 2009, &ev) == SL_ERR_NOT_FOUND); /* trimmed, still stored */
    CHECK(sl_log_get(&r, 2010, &ev) == SL_OK);
    uint64_t seq = 0;
    REQUIRE(sl_log_seq_at_time(&r, 0, &seq) == SL_OK);
    CHECK_EQ_U64(seq, 2010);
    sl_txn_abort(&r);
    CHECK(read_all(f.store, 2010, 6000, len_1000));
    /* no floor: down to the limit; the chunk holding the new head stays */
    REQUIRE(trim(f.store, 1, UINT64_MAX, 100000, &deleted) == SL_OK);
    CHECK_EQ_U64(deleted, 2991);
    REQUIRE(get_bounds(f.store, &b) == SL_OK);
    CHECK(b.first_seq == 5001 && b.events == 1000);
    topic_seen seen;
    REQUIRE(read_topics(f.store, &seen) == SL_OK);
    REQUIRE(seen.n == 2);
    CHECK(seen.info[0].events + seen.info[1].events == 1000);
    CHECK_EQ_U64(seen.info[0].bytes + seen.info[1].bytes, timed_bytes(5001, 6000));
    CHECK(read_all(f.store, 5001, 6000, len_1000));
    fx_close(&f);
}

/* ---- disk use ------------------------------------------------------------------ */

/* Append n events of len bytes on "bench.t" in batches of batch; returns
 * used bytes / (payload + topic bytes), and prints it with the rate. */
static double space_run(size_t len, size_t n, size_t batch, int *failed)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.relaxed_sync = true;
    fixture f;
    if (fx_open(&f, &o) != SL_OK) {
        *failed = 1;
        return 99;
    }
    static char buf[SL_PUBLISH_BATCH_MAX * 4096];
    static sl_event_in evs[SL_PUBLISH_BATCH_MAX];
    static sl_append_result res[SL_PUBLISH_BATCH_MAX];
    uint64_t t0 = test_mono_ms();
    for (size_t done = 0; done < n && !*failed; done += batch) {
        fill_events(evs, buf, batch, len, done + 1, "bench.t");
        if (append_batch(f.store, evs, batch, done, res, NULL) != SL_OK)
            *failed = 1;
    }
    double secs = (double)(test_mono_ms() - t0 + 1) / 1000.0;
    double ratio = ratio_of(f.store, n, len);
    printf("  %zu events of %zu B in batches of %zu: disk/data %.3f, %.0f events/s\n", n, len,
           batch, ratio, (double)n / secs);
    fx_close(&f);
    return ratio;
}

TEST(disk_use_per_event)
{
    int failed = 0;
    CHECK(space_run(256, 20000, 100, &failed) <= 1.15);
    CHECK(space_run(256, 20000, 1000, &failed) <= 1.15);
    CHECK(space_run(4096, 2000, 100, &failed) <= 1.15);
    CHECK(space_run(4096, 2000, 1000, &failed) <= 1.15);
    space_run(4096, 500, 1, &failed); /* printed, not bounded: see FORMAT.md */
    CHECK(!failed);
}

/* ---- upgrading a format 1 store --------------------------------------------------- */

/* A format 1 data directory written with raw LMDB, as format 1 code would. */
typedef struct v1_store {
    MDB_env *env;    /* the environment */
    MDB_txn *txn;    /* the one write transaction */
    MDB_dbi meta;    /* "meta" */
    MDB_dbi events;  /* "events" */
    MDB_dbi topics;  /* "topics" */
} v1_store;

static int v1_begin(const char *dir, v1_store *v)
{
    if (mdb_env_create(&v->env) != 0)
        return -1;
    mdb_env_set_maxdbs(v->env, 32);
    mdb_env_set_mapsize(v->env, 256u << 20);
    int rc = mdb_env_open(v->env, dir, 0, 0640);
    if (rc == 0)
        rc = mdb_txn_begin(v->env, NULL, 0, &v->txn);
    if (rc == 0)
        rc = mdb_dbi_open(v->txn, "meta", MDB_CREATE, &v->meta);
    if (rc == 0)
        rc = mdb_dbi_open(v->txn, "events", MDB_CREATE, &v->events);
    if (rc == 0)
        rc = mdb_dbi_open(v->txn, "topics", MDB_CREATE, &v->topics);
    return rc;
}

static int v1_end(v1_store *v)
{
    int rc = mdb_txn_commit(v->txn);
    mdb_env_close(v->env);
    return rc;
}

static int v1_put(v1_store *v, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    MDB_val k = {klen, (void *)key}, d = {vlen, (void *)val};
    return mdb_put(v->txn, dbi, &k, &d, 0);
}

static size_t len_v1(uint64_t seq)
{
    return seq % 300;
}

/* The format 1 record of seq: topic "t", payload len_v1(seq) bytes of
 * seq % 251, ts seq / 10; every 1000th with a content type, an idempotency
 * key and a header. bad: a record whose lengths do not add up. */
static int v1_put_event(v1_store *v, uint64_t seq, bool bad)
{
    bool extra = seq % 1000 == 0;
    uint8_t rec[22 + 1 + 2 + 3 + 6 + 300];
    size_t plen = len_v1(seq);
    rec[0] = 1;
    rec[1] = 0;
    sl_put_u64(rec + 2, seq / 10);
    rec[10] = 1;
    rec[11] = extra ? 2 : 0;
    rec[12] = extra ? 3 : 0;
    rec[13] = extra ? 1 : 0;
    sl_put_u32(rec + 14, extra ? 6 : 0);
    sl_put_u32(rec + 18, (uint32_t)plen + (bad ? 1 : 0));
    uint8_t *p = rec + 22;
    *p++ = 't';
    if (extra) {
        memcpy(p, "ctkey\0\1h\0\1v", 11);
        p += 11;
    }
    memset(p, (int)(seq % 251), plen);
    p += plen;
    uint8_t key[8];
    sl_put_u64(key, seq);
    return v1_put(v, v->events, key, 8, rec, (size_t)(p - rec));
}

/* A format 1 store holding events [first, last] (the ones before first
 * trimmed); event bad_seq, if not 0, is corrupt. */
static int v1_build(const char *dir, uint64_t first, uint64_t last, uint64_t bad_seq)
{
    v1_store v;
    int rc = v1_begin(dir, &v);
    uint8_t buf[32];
    sl_put_u32(buf, 1);
    if (rc == 0)
        rc = v1_put(&v, v.meta, "format", 6, buf, 4);
    sl_put_u64(buf, 0x1234);
    if (rc == 0)
        rc = v1_put(&v, v.meta, "instance", 8, buf, 8);
    uint64_t bytes = 0;
    for (uint64_t seq = first; seq <= last && rc == 0; seq++) {
        rc = v1_put_event(&v, seq, seq == bad_seq);
        bytes += 1 + len_v1(seq) + (seq % 1000 == 0 ? 2 + 6 : 0);
    }
    sl_put_u64(buf, last + 1);
    sl_put_u64(buf + 8, last / 10);
    sl_put_u64(buf + 16, last - first + 1);
    sl_put_u64(buf + 24, bytes);
    if (rc == 0)
        rc = v1_put(&v, v.meta, "log_state", 9, buf, 32);
    sl_put_u64(buf, last - first + 1);
    sl_put_u64(buf + 8, bytes);
    sl_put_u64(buf + 16, first);
    sl_put_u64(buf + 24, last);
    if (rc == 0)
        rc = v1_put(&v, v.topics, "t", 1, buf, 32);
    int rc2 = v1_end(&v);
    return rc ? rc : rc2;
}

/* Meta "upgrade" and "format" and the entries of "events" of a closed store. */
static int v1_progress(const char *dir, uint64_t *next, uint32_t *format, uint64_t *v1_left)
{
    v1_store v;
    int rc = v1_begin(dir, &v);
    MDB_val k = {7, (void *)"upgrade"}, d;
    *next = 0;
    if (rc == 0 && mdb_get(v.txn, v.meta, &k, &d) == 0 && d.mv_size == 12)
        *next = sl_get_u64((uint8_t *)d.mv_data + 4);
    k = (MDB_val){6, (void *)"format"};
    if (rc == 0)
        rc = mdb_get(v.txn, v.meta, &k, &d);
    if (rc == 0)
        *format = sl_get_u32(d.mv_data);
    MDB_stat st;
    if (rc == 0)
        rc = mdb_stat(v.txn, v.events, &st);
    if (rc == 0)
        *v1_left = st.ms_entries;
    mdb_txn_abort(v.txn);
    mdb_env_close(v.env);
    return rc;
}

/* Everything about the upgraded store of v1_build(first, last). */
static int v1_check_upgraded(sl_store *s, uint64_t first, uint64_t last)
{
    sl_log_bounds b;
    sl_store_stats st;
    if (get_bounds(s, &b) != SL_OK || sl_store_get_stats(s, &st) != SL_OK)
        return 0;
    int ok = b.first_seq == first && b.last_seq == last && b.next_seq == last + 1 &&
             b.events == last - first + 1 && st.format_version == 4 &&
             db_entries(s, SL_DB_EVENTS) == 0 && read_all(s, first, last, len_v1);
    sl_txn r;
    sl_event_view v;
    if (ok && sl_txn_begin_read(s, &r) == SL_OK) {
        ok = sl_log_get(&r, 10000, &v) == SL_OK && sl_slice_eq_cstr(v.content_type, "ct") &&
             sl_slice_eq_cstr(v.idem_key, "key") && v.nheaders == 1 && v.ts_ms == 1000;
        uint64_t seq = 0;
        ok = ok && sl_log_seq_at_time(&r, 2000, &seq) == SL_OK && seq == 20000;
        sl_txn_abort(&r);
    }
    topic_seen seen;
    ok = ok && read_topics(s, &seen) == SL_OK && seen.n == 1 &&
         seen.info[0].events == last - first + 1 && seen.info[0].bytes == b.bytes;
    return ok;
}

TEST(upgrade_from_format_1)
{
    char *dir = test_tmpdir("core-v1");
    REQUIRE(dir);
    REQUIRE(v1_build(dir, 101, 25100, 0) == 0);
    sl_store_options o;
    sl_store_options_default(&o);
    o.path = dir;
    sl_store *s = NULL;
    uint64_t t0 = test_mono_ms();
    REQUIRE(sl_store_open(&o, &s) == SL_OK);
    printf("  upgraded 25000 events in %llu ms\n", (unsigned long long)(test_mono_ms() - t0));
    CHECK(v1_check_upgraded(s, 101, 25100));
    sl_append_result res;
    CHECK(append_one(s, "t", "new", NULL, 1, &res) == SL_OK);
    CHECK(res.seq == 25101 && res.ts_ms == 2510);
    sl_store_close(s);
    s = NULL;
    uint64_t next, left;
    uint32_t format;
    REQUIRE(v1_progress(dir, &next, &format, &left) == 0);
    CHECK(next == 0 && format == 4 && left == 0); /* no progress record left */
    REQUIRE(sl_store_open(&o, &s) == SL_OK); /* a format 4 store opens as is */
    sl_log_bounds b;
    REQUIRE(get_bounds(s, &b) == SL_OK);
    CHECK_EQ_U64(b.events, 25001);
    sl_store_close(s);
    s = NULL;
    /* a newer format is refused, untouched */
    REQUIRE(test_lmdb_put_u32(dir, "meta", "format", 5) == 0);
    CHECK(sl_store_open(&o, &s) == SL_ERR_VERSION);
    REQUIRE(v1_progress(dir, &next, &format, &left) == 0);
    CHECK_EQ_U64(format, 5);
    test_rmtree(dir);
    free(dir);

    /* an empty format 1 store (never appended to) */
    dir = test_tmpdir("core-v1");
    REQUIRE(dir);
    REQUIRE(test_lmdb_put_u32(dir, "meta", "format", 1) == 0);
    o.path = dir;
    REQUIRE(sl_store_open(&o, &s) == SL_OK);
    REQUIRE(get_bounds(s, &b) == SL_OK);
    CHECK(b.events == 0 && b.next_seq == 1);
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

TEST(upgrade_interrupted_resumes)
{
    char *dir = test_tmpdir("core-v1");
    REQUIRE(dir);
    REQUIRE(v1_build(dir, 101, 25100, 15100) == 0);
    sl_store_options o;
    sl_store_options_default(&o);
    o.path = dir;
    sl_store *s = NULL;
    /* the second step meets the bad record: its transaction is lost, as in
     * a crash; the first step's stays */
    CHECK(sl_store_open(&o, &s) == SL_ERR_CORRUPT);
    CHECK(s == NULL);
    uint64_t next, left;
    uint32_t format;
    REQUIRE(v1_progress(dir, &next, &format, &left) == 0);
    CHECK_EQ_U64(format, 1);
    CHECK_EQ_U64(next, 101 + SL_UPGRADE_STEP_EVENTS);
    CHECK_EQ_U64(left, 25000 - SL_UPGRADE_STEP_EVENTS);
    /* repair the record; the next open resumes where the first step ended */
    v1_store v;
    REQUIRE(v1_begin(dir, &v) == 0);
    REQUIRE(v1_put_event(&v, 15100, false) == 0);
    REQUIRE(v1_end(&v) == 0);
    REQUIRE(sl_store_open(&o, &s) == SL_OK);
    CHECK(v1_check_upgraded(s, 101, 25100));
    sl_store_close(s);
    REQUIRE(v1_progress(dir, &next, &format, &left) == 0);
    CHECK(next == 0 && format == 4 && left == 0);
    test_rmtree(dir);
    free(dir);
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
          UNIT_CASE(grow_steps), UNIT_CASE(chunk_boundaries_exact_pages),
          UNIT_CASE(chunk_event_larger_than_cap), UNIT_CASE(thousands_of_single_event_appends),
          UNIT_CASE(iterator_and_time_search_across_chunks),
          UNIT_CASE(trim_whole_chunks_with_floor_inside), UNIT_CASE(disk_use_per_event),
          UNIT_CASE(upgrade_from_format_1), UNIT_CASE(upgrade_interrupted_resumes))
