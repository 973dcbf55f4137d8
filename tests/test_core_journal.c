/* test_core_journal.c: the write-ahead journal (core/journal.h), the redo
 * list the change wrappers fill (core/redo.h) and the store's use of them:
 * a crash (the open write transaction never committed) loses nothing that
 * was journaled, and replay rebuilds exactly the state the writer had. Real
 * files in temporary directories; time is passed explicitly. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/db.h"
#include "core/group.h"
#include "core/journal.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/retention.h"
#include "core/store.h"
#include "tests/support.h"
#include "tests/unit.h"

#define T0 1700000000000ull
#define MIB (1024ull * 1024ull)

/* ---- the journal file ---------------------------------------------------- */

TEST(crc32c_known_values)
{
    CHECK_EQ_U64(sl_crc32c(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ_U64(sl_crc32c(0, "", 0), 0);
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    /* in pieces (odd lengths too) as in one go */
    uint32_t whole = sl_crc32c(0, buf, sizeof buf);
    uint32_t part = sl_crc32c(sl_crc32c(0, buf, 333), buf + 333, sizeof buf - 333);
    CHECK_EQ_U64(part, whole);
}

typedef struct seen {
    size_t n;
    size_t len[8];
    uint8_t first[8];
} seen;

static sl_err remember(void *ctx, const uint8_t *body, size_t n)
{
    seen *s = ctx;
    if (s->n == 8)
        return SL_ERR_TOO_LARGE;
    s->len[s->n] = n;
    s->first[s->n] = n ? body[0] : 0;
    s->n++;
    return SL_OK;
}

/* Flip one byte of the file at off. */
static int flip_byte(const char *dir, uint64_t off)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    uint8_t b;
    int rc = pread(fd, &b, 1, (off_t)off) == 1 ? 0 : -1;
    b ^= 0x40;
    if (rc == 0 && pwrite(fd, &b, 1, (off_t)off) != 1)
        rc = -1;
    close(fd);
    return rc;
}

TEST(journal_replays_whole_records_and_stops_at_a_torn_one)
{
    char *dir = test_tmpdir("journal");
    REQUIRE(dir);
    sl_journal *j = NULL;
    REQUIRE(sl_journal_open(dir, 2 * MIB, false, &j) == SL_OK && j == NULL); /* no create */
    REQUIRE(sl_journal_open(dir, 2 * MIB, true, &j) == SL_OK && j);
    CHECK_EQ_U64(sl_journal_capacity(j), 2 * MIB);
    sl_journal_start_lap(j, 77, 5);
    uint8_t a[10] = {'a'}, b[300] = {'b'}, c[1] = {'c'};
    REQUIRE(sl_journal_append(j, a, sizeof a, true) == SL_OK);
    REQUIRE(sl_journal_append(j, b, sizeof b, true) == SL_OK);
    REQUIRE(sl_journal_append(j, c, sizeof c, false) == SL_OK);
    CHECK_EQ_U64(sl_journal_next_lsn(j), 8);
    CHECK(!sl_journal_fits(j, 2 * MIB)); /* bigger than what is left */
    CHECK(sl_journal_append(j, a, 2 * MIB, true) == SL_ERR_TOO_LARGE);
    sl_journal_close(j);

    /* a new process: the lap as the checkpoint recorded it */
    REQUIRE(sl_journal_open(dir, 4 * MIB, true, &j) == SL_OK);
    CHECK_EQ_U64(sl_journal_capacity(j), 2 * MIB); /* an existing file keeps its size */
    sl_journal_start_lap(j, 77, 5);
    seen s = {0};
    REQUIRE(sl_journal_replay(j, UINT64_MAX, remember, &s) == SL_OK);
    CHECK_EQ_U64(s.n, 3);
    CHECK(s.len[0] == 10 && s.len[1] == 300 && s.len[2] == 1);
    CHECK(s.first[0] == 'a' && s.first[1] == 'b' && s.first[2] == 'c');
    CHECK_EQ_U64(sl_journal_next_lsn(j), 8);
    /* bounded by end_lsn */
    s = (seen){0};
    REQUIRE(sl_journal_replay(j, 6, remember, &s) == SL_OK);
    CHECK_EQ_U64(s.n, 1);
    sl_journal_close(j);

    /* a torn second record (one byte of its body changed) ends the lap there */
    REQUIRE(flip_byte(dir, SL_JOURNAL_HEAD + sizeof a + SL_JOURNAL_HEAD + 100) == 0);
    REQUIRE(sl_journal_open(dir, 2 * MIB, true, &j) == SL_OK);
    sl_journal_start_lap(j, 77, 5);
    s = (seen){0};
    REQUIRE(sl_journal_replay(j, UINT64_MAX, remember, &s) == SL_OK);
    CHECK_EQ_U64(s.n, 1);
    CHECK_EQ_U64(sl_journal_next_lsn(j), 6); /* the next append overwrites the torn one */

    /* another lap, or the right lap at another lsn: nothing */
    sl_journal_start_lap(j, 78, 5);
    s = (seen){0};
    REQUIRE(sl_journal_replay(j, UINT64_MAX, remember, &s) == SL_OK);
    CHECK_EQ_U64(s.n, 0);
    sl_journal_start_lap(j, 77, 6);
    s = (seen){0};
    REQUIRE(sl_journal_replay(j, UINT64_MAX, remember, &s) == SL_OK);
    CHECK_EQ_U64(s.n, 0);
    sl_journal_close(j);
    test_rmtree(dir);
    free(dir);
}

TEST(journal_cut_short_while_created_is_made_again)
{
    char *dir = test_tmpdir("journal");
    REQUIRE(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("x", f);
    fclose(f);
    sl_journal *j = NULL;
    REQUIRE(sl_journal_open(dir, 2 * MIB, true, &j) == SL_OK && j);
    CHECK_EQ_U64(sl_journal_capacity(j), 2 * MIB);
    sl_journal_close(j);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == 2 * MIB);
    test_rmtree(dir);
    free(dir);
}

/* ---- the store: journaled batches survive a crash -------------------------- */

static sl_err open_store(const char *dir, bool journal, sl_store **s)
{
    sl_store_options o;
    sl_store_options_default(&o);
    o.path = dir;
    o.journal = journal;
    o.journal_bytes = 4 * MIB;
    return sl_store_open(&o, s);
}

/* Every record of every database as one byte string (meta "journal", the
 * checkpoint's own bookkeeping, left out). *out is malloc'd. */
typedef struct dump {
    uint8_t *p;
    size_t len, cap;
} dump;

static int dump_add(dump *d, const void *p, size_t n)
{
    if (d->len + n + 8 > d->cap) {
        size_t cap = (d->cap + n + 8) * 2;
        uint8_t *q = realloc(d->p, cap);
        if (!q)
            return -1;
        d->p = q;
        d->cap = cap;
    }
    uint64_t len = n;
    memcpy(d->p + d->len, &len, 8);
    memcpy(d->p + d->len + 8, p, n);
    d->len += n + 8;
    return 0;
}

static int dump_all(sl_txn *t, dump *d)
{
    memset(d, 0, sizeof *d);
    for (int db = 0; db < SL_DB_COUNT; db++) {
        MDB_cursor *c;
        if (mdb_cursor_open(t->txn, sl_dbi(t, (sl_db)db), &c) != MDB_SUCCESS)
            return -1;
        MDB_val k, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (db == SL_DB_META && k.mv_size == 7 && memcmp(k.mv_data, "journal", 7) == 0)
                continue;
            if (dump_add(d, &db, sizeof db) || dump_add(d, k.mv_data, k.mv_size) ||
                dump_add(d, v.mv_data, v.mv_size)) {
                rc = -1;
                break;
            }
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND)
            return -1;
    }
    return 0;
}

/* Whether a read transaction of s sees exactly the records of before (a
 * dump_all of the writer's transaction before a crash), which it frees. */
static bool store_matches(sl_store *s, dump *before)
{
    sl_txn r;
    dump after = {0};
    bool same = sl_txn_begin_read(s, &r) == SL_OK;
    if (same) {
        same = dump_all(&r, &after) == 0;
        sl_txn_abort(&r);
    }
    same = same && before->len > 0 && after.len == before->len &&
           memcmp(after.p, before->p, before->len) == 0;
    if (!same)
        fprintf(stderr, "  the store's records differ from the writer's (%zu bytes, expected %zu)\n",
                after.len, before->len);
    free(before->p);
    free(after.p);
    return same;
}

typedef struct tokens {
    size_t n;
    char tok[64][SL_TOKEN_LEN + 1];
} tokens;

static sl_err keep_token(void *ctx, const sl_delivery *d)
{
    tokens *t = ctx;
    if (t->n < 64)
        memcpy(t->tok[t->n++], d->token, SL_TOKEN_LEN + 1);
    return SL_OK;
}

static sl_err append(sl_txn *w, const char *topic, size_t n, size_t payload, uint64_t now)
{
    static char body[5000];
    static sl_event_in ev[64];
    static sl_append_result res[64];
    memset(body, 'p', sizeof body);
    for (size_t i = 0; i < n && i < 64; i++)
        ev[i] = (sl_event_in){.topic = sl_slice_of(topic),
                              .payload = {body, payload < sizeof body ? payload : sizeof body}};
    size_t bad;
    return sl_log_append(w, ev, n < 64 ? n : 64, now, res, &bad);
}

static sl_err settle(sl_txn *w, sl_settle_kind kind, const tokens *t, size_t from, size_t n,
                     uint64_t now)
{
    sl_slice s[64];
    sl_token_status st[64];
    for (size_t i = 0; i < n; i++)
        s[i] = sl_slice_of(t->tok[from + i]);
    return sl_lease_settle(w, "g", kind, s, n, 0, sl_slice_of("bad"), now, st);
}

/* What a writer does between two checkpoints: publishes (small events, and
 * 4 KiB ones in overflow pages), a group, pulls, acks, a nack, a term (dead
 * letter), maintenance; each step journaled. */
static int journaled_workload(sl_txn *w)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "g");
    snprintf(cfg.filters[0], sizeof cfg.filters[0], "a.>");
    cfg.ack_wait_ms = 1000;
    cfg.max_deliveries = 2;
    tokens t = {0};
    sl_pull_result pr;
    sl_maintenance_result mr;
    if (append(w, "a.x", 50, 200, T0) || sl_txn_journal(w) ||
        sl_group_create(w, &cfg, T0) || sl_txn_journal(w) ||
        sl_lease_pull(w, "g", 20, T0 + 1, keep_token, &t, &pr) || t.n != 20 ||
        sl_txn_journal(w) || settle(w, SL_SETTLE_ACK, &t, 0, 10, T0 + 2) ||
        settle(w, SL_SETTLE_NACK, &t, 10, 1, T0 + 2) ||
        settle(w, SL_SETTLE_TERM, &t, 11, 1, T0 + 2) || sl_txn_journal(w) ||
        sl_maintain(w, T0 + 5000, 10000, &mr) || sl_txn_journal(w) ||
        append(w, "a.big", 3, 4096, T0 + 6000) || sl_txn_journal(w))
        return -1;
    /* a whole pull acked (its lease record goes), a group made and deleted */
    tokens u = {0};
    snprintf(cfg.name, sizeof cfg.name, "h");
    if (sl_lease_pull(w, "g", 5, T0 + 7000, keep_token, &u, &pr) || u.n != 5 ||
        settle(w, SL_SETTLE_ACK, &u, 0, 5, T0 + 7001) || sl_group_create(w, &cfg, T0) ||
        sl_lease_pull(w, "h", 5, T0 + 7002, keep_token, &u, &pr) || sl_txn_journal(w) ||
        sl_group_delete(w, "h") || sl_txn_journal(w))
        return -1;
    /* one-event appends that extend a small chunk: journaled as splices */
    if (append(w, "a.s", 3, 100, T0 + 8000) || sl_txn_journal(w) ||
        append(w, "a.s", 1, 150, T0 + 8001) || sl_txn_journal(w) ||
        append(w, "a.s", 1, 90, T0 + 8002) || append(w, "a.s", 2, 10, T0 + 8003) ||
        sl_txn_journal(w))
        return -1;
    return 0;
}

TEST(a_crash_loses_nothing_journaled)
{
    char *dir = test_tmpdir("journal-store");
    REQUIRE(dir);
    sl_store *s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    CHECK(sl_store_journaled(s));
    sl_txn w;
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    CHECK(!sl_store_reads_lag(s));
    REQUIRE(journaled_workload(&w) == 0);
    CHECK(sl_store_reads_lag(s)); /* read transactions do not see it yet */
    dump before;
    REQUIRE(dump_all(&w, &before) == 0);
    /* one more change that is never journaled: lost, as it was never acknowledged */
    REQUIRE(append(&w, "a.lost", 1, 10, T0 + 7000) == SL_OK);
    sl_txn_abort(&w); /* the crash: no checkpoint */
    sl_store_close(s);
    s = NULL;

    REQUIRE(open_store(dir, true, &s) == SL_OK); /* replays the journal */
    CHECK(!sl_store_reads_lag(s));
    CHECK(store_matches(s, &before));
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

/* A format 3 store left with journaled changes (a crash) is upgraded to
 * format 4 at open, and the journal is replayed as it was. */
TEST(a_format_3_store_with_a_journal_to_replay_opens_as_format_4)
{
    char *dir = test_tmpdir("journal-store");
    REQUIRE(dir);
    sl_store *s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    sl_txn w;
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    REQUIRE(append(&w, "a", 20, 100, T0) == SL_OK && sl_txn_journal(&w) == SL_OK);
    dump before;
    REQUIRE(dump_all(&w, &before) == 0);
    sl_txn_abort(&w); /* the crash */
    sl_store_close(s);
    s = NULL;
    REQUIRE(test_lmdb_put_u32(dir, "meta", "format", 3) == 0);
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    sl_store_stats st;
    REQUIRE(sl_store_get_stats(s, &st) == SL_OK);
    CHECK_EQ_U64(st.format_version, 4);
    CHECK_EQ_U64(st.journal_replayed, 1);
    CHECK(store_matches(s, &before)); /* meta "format" is 4 again, as before */
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

/* Events in the log of s as a read transaction sees it; UINT64_MAX on error. */
static uint64_t events_in(sl_store *s)
{
    sl_txn r;
    sl_log_bounds b;
    if (sl_txn_begin_read(s, &r) != SL_OK)
        return UINT64_MAX;
    sl_err rc = sl_log_get_bounds(&r, &b);
    sl_txn_abort(&r);
    return rc == SL_OK ? b.events : UINT64_MAX;
}

TEST(an_aborted_child_leaves_nothing_in_the_journal)
{
    char *dir = test_tmpdir("journal-store");
    REQUIRE(dir);
    sl_store *s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    sl_txn w, child;
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    REQUIRE(append(&w, "kept", 2, 10, T0) == SL_OK);
    size_t before, after;
    REQUIRE(sl_txn_changes(&w, &before));
    REQUIRE(sl_txn_begin_child(&w, &child) == SL_OK);
    REQUIRE(append(&child, "dropped", 2, 10, T0) == SL_OK);
    sl_txn_abort(&child);
    REQUIRE(sl_txn_changes(&w, &after));
    CHECK_EQ_U64(after, before);
    REQUIRE(sl_txn_begin_child(&w, &child) == SL_OK);
    REQUIRE(append(&child, "kept2", 1, 10, T0) == SL_OK);
    REQUIRE(sl_txn_commit(&child) == SL_OK);
    REQUIRE(sl_txn_can_journal(&w));
    REQUIRE(sl_txn_journal(&w) == SL_OK);
    REQUIRE(sl_txn_changes(&w, &after));
    CHECK_EQ_U64(after, 0); /* journaled: the list starts over */
    sl_txn_abort(&w);
    sl_store_close(s);
    s = NULL;

    /* reopened with the journal off: what it holds is still read back */
    REQUIRE(open_store(dir, false, &s) == SL_OK);
    CHECK(!sl_store_journaled(s));
    CHECK_EQ_U64(events_in(s), 3); /* kept x2 + kept2, not dropped */
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

TEST(a_checkpoint_starts_a_new_lap)
{
    char *dir = test_tmpdir("journal-store");
    REQUIRE(dir);
    sl_store *s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    sl_txn w;
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    REQUIRE(append(&w, "a", 5, 10, T0) == SL_OK);
    REQUIRE(sl_txn_journal(&w) == SL_OK);
    CHECK(sl_store_reads_lag(s));
    REQUIRE(sl_txn_commit(&w) == SL_OK); /* checkpoint */
    CHECK(!sl_store_reads_lag(s));
    /* after the checkpoint the old lap's records must not come back */
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    REQUIRE(append(&w, "b", 1, 10, T0) == SL_OK);
    REQUIRE(sl_txn_journal(&w) == SL_OK);
    sl_txn_abort(&w);
    sl_store_close(s);
    s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    CHECK_EQ_U64(events_in(s), 6);
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

/* The lap and lsn of the record at offset 0 of dir's journal. */
static int first_record(const char *dir, uint64_t *lap, uint64_t *lsn)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    int fd = open(path, O_RDONLY);
    uint8_t h[SL_JOURNAL_HEAD];
    int rc = fd >= 0 && pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -1;
    if (fd >= 0)
        close(fd);
    *lap = *lsn = 0;
    for (int i = 0; i < 8; i++) {
        *lap = *lap << 8 | h[8 + i];
        *lsn = *lsn << 8 | h[16 + i];
    }
    return rc;
}

static sl_err skip_record(void *ctx, const uint8_t *body, size_t n)
{
    (void)ctx;
    (void)body;
    (void)n;
    return SL_OK;
}

/* After a journaled one-event append (its chunk: key seq 1, 45 bytes), a
 * whole record (its crc right) with the changes bad[0..n): what opening the
 * store then returns. */
static sl_err open_after_record(const uint8_t *bad, size_t n)
{
    char *dir = test_tmpdir("journal-store");
    if (!dir)
        return SL_ERR_NOMEM;
    sl_store *s = NULL;
    sl_txn w;
    sl_err rc = open_store(dir, true, &s);
    if (rc == SL_OK && (rc = sl_txn_begin_write(s, &w)) == SL_OK) {
        if ((rc = append(&w, "a", 1, 10, T0)) == SL_OK)
            rc = sl_txn_journal(&w);
        sl_txn_abort(&w);
    }
    sl_store_close(s);
    s = NULL;
    uint64_t lap, lsn;
    sl_journal *j = NULL;
    if (rc == SL_OK)
        rc = first_record(dir, &lap, &lsn) == 0 ? SL_OK : SL_ERR_STORAGE;
    if (rc == SL_OK && (rc = sl_journal_open(dir, 4 * MIB, false, &j)) == SL_OK) {
        sl_journal_start_lap(j, lap, lsn);
        rc = sl_journal_replay(j, UINT64_MAX, skip_record, NULL); /* to after the append */
        if (rc == SL_OK)
            rc = sl_journal_append(j, bad, n, true);
        sl_journal_close(j);
    }
    if (rc == SL_OK)
        rc = open_store(dir, true, &s);
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
    return rc;
}

/* Whole records whose changes do not decode, or do not fit the state they
 * are replayed on: the store refuses to open with "corrupt" rather than
 * guess. */
TEST(a_record_that_does_not_decode_is_corrupt)
{
    const uint8_t unknown_kind[] = {'X', 1, 0, 0, 0, 1, 0, 0, 0, 0, 'k'};
    CHECK_EQ_U64(open_after_record(unknown_kind, sizeof unknown_kind), SL_ERR_CORRUPT);
    const uint8_t c = SL_DB_CHUNKS;
#define CHUNK_1 0, 0, 0, 0, 0, 0, 0, 1 /* the key of the chunk that exists */
    const uint8_t splice_of_nothing[] = {'S', c, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0,
                                         0, 0, 0, 2, 'C', 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK_EQ_U64(open_after_record(splice_of_nothing, sizeof splice_of_nothing),
                 SL_ERR_CORRUPT);
    const uint8_t copy_past_old[] = {'S', c, 0, 0, 0, 8, 0, 0, 0, 9, CHUNK_1,
                                     'C', 0, 0, 0, 40, 0, 0, 0, 6};
    CHECK_EQ_U64(open_after_record(copy_past_old, sizeof copy_past_old), SL_ERR_CORRUPT);
    const uint8_t literal_past_end[] = {'S', c, 0, 0, 0, 8, 0, 0, 0, 7, CHUNK_1,
                                        'L', 0, 0, 0, 3, 'a', 'b'};
    CHECK_EQ_U64(open_after_record(literal_past_end, sizeof literal_past_end),
                 SL_ERR_CORRUPT);
    const uint8_t unknown_piece[] = {'S', c, 0, 0, 0, 8, 0, 0, 0, 1, CHUNK_1, 'Z'};
    CHECK_EQ_U64(open_after_record(unknown_piece, sizeof unknown_piece), SL_ERR_CORRUPT);
    /* a splice that fits replays (here: the chunk as it was, piece by piece) */
    const uint8_t whole_copy[] = {'S', c, 0, 0, 0, 8, 0, 0, 0, 18, CHUNK_1,
                                  'C', 0, 0, 0, 0, 0, 0, 0, 20, 'C', 0, 0, 0, 20, 0, 0, 0, 25};
    CHECK_EQ_U64(open_after_record(whole_copy, sizeof whole_copy), SL_OK);
#undef CHUNK_1
}

/* An append that adds one event to a small chunk journals the event (a
 * splice of the chunk), not the whole chunk again; replay rebuilds it. */
TEST(a_one_event_append_journals_the_event_not_its_chunk)
{
    char *dir = test_tmpdir("journal-store");
    REQUIRE(dir);
    sl_store *s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    sl_txn w;
    REQUIRE(sl_txn_begin_write(s, &w) == SL_OK);
    REQUIRE(append(&w, "t", 12, 200, T0) == SL_OK); /* a chunk of about 2.7 KB */
    REQUIRE(sl_txn_journal(&w) == SL_OK);
    size_t bytes = 0;
    REQUIRE(append(&w, "t", 1, 200, T0 + 1) == SL_OK);
    REQUIRE(sl_txn_changes(&w, &bytes));
    printf("  one 200-byte event added to a 12-event chunk: %zu bytes of changes\n", bytes);
    CHECK(bytes > 200 && bytes < 500);
    REQUIRE(sl_txn_journal(&w) == SL_OK);
    dump before;
    REQUIRE(dump_all(&w, &before) == 0);
    sl_txn_abort(&w); /* a crash */
    sl_store_close(s);
    s = NULL;
    REQUIRE(open_store(dir, true, &s) == SL_OK);
    CHECK(store_matches(s, &before));
    CHECK_EQ_U64(events_in(s), 13);
    sl_store_close(s);
    test_rmtree(dir);
    free(dir);
}

UNIT_MAIN("core_journal", UNIT_CASE(crc32c_known_values),
          UNIT_CASE(journal_replays_whole_records_and_stops_at_a_torn_one),
          UNIT_CASE(journal_cut_short_while_created_is_made_again),
          UNIT_CASE(a_crash_loses_nothing_journaled),
          UNIT_CASE(a_format_3_store_with_a_journal_to_replay_opens_as_format_4),
          UNIT_CASE(an_aborted_child_leaves_nothing_in_the_journal),
          UNIT_CASE(a_checkpoint_starts_a_new_lap),
          UNIT_CASE(a_record_that_does_not_decode_is_corrupt),
          UNIT_CASE(a_one_event_append_journals_the_event_not_its_chunk))
