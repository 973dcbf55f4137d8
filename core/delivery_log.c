/* delivery_log.c: the attempt log of each webhook subscription: appending
 * with its bound (the newest SL_DELIVERY_LOG_KEEP entries per subscription),
 * reading newest first with filters, and deleting a subscription's entries.
 * See delivery_log.h and webhook_record.h; layout in core/FORMAT.md.
 *
 * Entry ids come from meta "next_delivery_entry" (u64, absent means 1), one
 * counter for every subscription, so they increase with time; the key
 * subscription(8) entry_id(8) keeps each subscription's entries together, the
 * oldest first.
 */
#include "delivery_log.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "webhook_record.h"

#define META_NEXT_ENTRY "next_delivery_entry"
#define SCAN_FACTOR 100 /* entries looked at per call: SCAN_FACTOR x limit */

/* ---- writing ------------------------------------------------------------------ */

sl_err sl_delivery_writer_open(sl_txn *w, uint64_t key, sl_delivery_writer *dw)
{
    memset(dw, 0, sizeof *dw);
    MDB_val k = {strlen(META_NEXT_ENTRY), (void *)META_NEXT_ENTRY}, v;
    int rc = mdb_get(w->txn, sl_dbi(w, SL_DB_META), &k, &v);
    uint64_t next = 1;
    if (rc == 0 && v.mv_size != 8)
        return SL_ERR_CORRUPT;
    if (rc == 0)
        next = sl_get_u64(v.mv_data);
    else if (rc != MDB_NOTFOUND)
        return sl_err_from_mdb(rc);
    MDB_cursor *c;
    rc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_DELIVERIES), &c);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    dw->w = w;
    dw->cursor = c;
    dw->key = key;
    dw->next_entry = next ? next : 1;
    return SL_OK;
}

/* Delete the oldest entry of the writer's subscription with an entry id
 * below keep_from (0: any); *found false when there is none. */
static sl_err drop_oldest(sl_delivery_writer *dw, uint64_t keep_from, bool *found)
{
    uint8_t kb[SL_DELIVERY_KEY_LEN];
    sl_delivery_key(kb, dw->key, 0);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_cursor_get(dw->cursor, &k, &v, MDB_SET_RANGE);
    *found = rc == 0 && k.mv_size == SL_DELIVERY_KEY_LEN && sl_get_u64(k.mv_data) == dw->key &&
             (keep_from == 0 || sl_get_u64((const uint8_t *)k.mv_data + 8) < keep_from);
    if (*found)
        rc = sl_db_cursor_del(dw->w, SL_DB_DELIVERIES, dw->cursor);
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* The number of entries the writer's subscription has. */
static sl_err count_entries(sl_delivery_writer *dw, uint64_t *n)
{
    uint8_t kb[SL_DELIVERY_KEY_LEN];
    sl_delivery_key(kb, dw->key, 0);
    MDB_val k = {sizeof kb, kb}, v;
    *n = 0;
    int rc = mdb_cursor_get(dw->cursor, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(dw->cursor, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SL_DELIVERY_KEY_LEN || sl_get_u64(k.mv_data) != dw->key)
            break;
        ++*n;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

sl_err sl_delivery_writer_add(sl_delivery_writer *dw, const sl_delivery_entry *e,
                              uint64_t *count)
{
    if (dw->next_entry == UINT64_MAX) /* ids used up: never reuse (or wrap to) old ones */
        return SL_ERR_TOO_LARGE;
    uint64_t entry = dw->next_entry;
    uint8_t kb[SL_DELIVERY_KEY_LEN], buf[SL_DELIVERY_ENTRY_MAX];
    sl_delivery_key(kb, dw->key, entry);
    MDB_val k = {sizeof kb, kb}, v = {sl_delivery_entry_encode(e, buf), buf};
    int rc = sl_db_put(dw->w, SL_DB_DELIVERIES, &k, &v, 0);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    dw->next_entry++;
    dw->added = true;
    if (*count < UINT64_MAX)
        ++*count;
    if (*count > SL_DELIVERY_LOG_KEEP + 1) {
        /* every add trims back to KEEP, so the stored count was off (a
         * damaged stats record): count again rather than drop what the
         * wrong number says, the new entry included */
        sl_err err = count_entries(dw, count);
        if (err != SL_OK)
            return err;
    }
    while (*count > SL_DELIVERY_LOG_KEEP) {
        bool found;
        sl_err err = drop_oldest(dw, entry, &found);
        if (err != SL_OK)
            return err;
        if (!found) { /* the count was off: nothing older is left */
            *count = 1;
            break;
        }
        --*count;
    }
    return SL_OK;
}

sl_err sl_delivery_writer_close(sl_delivery_writer *dw, bool save)
{
    if (!dw->cursor)
        return SL_OK;
    mdb_cursor_close(dw->cursor);
    dw->cursor = NULL;
    if (!save || !dw->added)
        return SL_OK;
    uint8_t buf[8];
    sl_put_u64(buf, dw->next_entry);
    MDB_val k = {strlen(META_NEXT_ENTRY), (void *)META_NEXT_ENTRY}, v = {sizeof buf, buf};
    int rc = sl_db_put(dw->w, SL_DB_META, &k, &v, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

sl_err sl_delivery_log_delete_all(sl_txn *w, uint64_t key)
{
    sl_delivery_writer dw = {.w = w, .key = key};
    MDB_cursor *c;
    int rc = mdb_cursor_open(w->txn, sl_dbi(w, SL_DB_DELIVERIES), &c);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    dw.cursor = c;
    sl_err err = SL_OK;
    for (bool found = true; found && err == SL_OK;)
        err = drop_oldest(&dw, 0, &found);
    mdb_cursor_close(c);
    return err;
}

/* ---- reading ------------------------------------------------------------------- */

static bool entry_matches(const sl_delivery_entry *e, const sl_delivery_filter *f)
{
    if (f->status == SL_DELIVERY_SUCCEEDED && e->result != SL_ATTEMPT_DELIVERED)
        return false;
    if (f->status == SL_DELIVERY_FAILED && e->result == SL_ATTEMPT_DELIVERED)
        return false;
    if (f->http_status && e->http_status != f->http_status)
        return false;
    if (f->since_ms && e->time_ms < f->since_ms)
        return false;
    if (f->until_ms && e->time_ms >= f->until_ms)
        return false;
    return !f->seq || e->seq == f->seq;
}

/* Position c on the newest entry of key below before (0: the newest of
 * all); *found false when there is none. */
static sl_err seek_newest(MDB_cursor *c, uint64_t key, uint64_t before, MDB_val *k, MDB_val *v,
                          bool *found)
{
    uint8_t kb[SL_DELIVERY_KEY_LEN];
    int rc;
    if (before == 0 && key == UINT64_MAX) {
        rc = mdb_cursor_get(c, k, v, MDB_LAST);
    } else {
        if (before)
            sl_delivery_key(kb, key, before);
        else
            sl_delivery_key(kb, key + 1, 0);
        k->mv_size = sizeof kb;
        k->mv_data = kb;
        rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
        if (rc == 0)
            rc = mdb_cursor_get(c, k, v, MDB_PREV);
        else if (rc == MDB_NOTFOUND) /* nothing at or after: the last entry of all */
            rc = mdb_cursor_get(c, k, v, MDB_LAST);
    }
    *found = rc == 0 && k->mv_size == SL_DELIVERY_KEY_LEN && sl_get_u64(k->mv_data) == key;
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

/* One listing call. */
typedef struct list_run {
    const sl_delivery_filter *f;  /* what to give */
    size_t limit;                 /* most entries given */
    sl_delivery_entry_cb cb;      /* where they go */
    void *ctx;                    /* cb's context */
    uint64_t *next_before;        /* the cursor for the next page */
} list_run;

/* Walk the entries of key from the one c is on, newest first. */
static sl_err list_walk(list_run *r, MDB_cursor *c, uint64_t key, MDB_val k, MDB_val v)
{
    size_t given = 0, looked = 0, budget = SCAN_FACTOR * r->limit;
    uint64_t last = 0; /* the entry looked at last */
    int rc = 0;
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
        if (k.mv_size != SL_DELIVERY_KEY_LEN || sl_get_u64(k.mv_data) != key)
            break;
        if (looked == budget) { /* the bound: the next page goes on below last */
            *r->next_before = last;
            return SL_OK;
        }
        sl_delivery_entry e;
        sl_err err = sl_delivery_entry_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &e);
        if (err != SL_OK)
            return err;
        looked++;
        if (!entry_matches(&e, r->f)) {
            last = e.entry_id;
            continue;
        }
        if (given == r->limit) { /* one more match: the next page starts with it */
            *r->next_before = last;
            return SL_OK;
        }
        last = e.entry_id;
        err = r->cb(r->ctx, &e);
        if (err != SL_OK)
            return err;
        given++;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(rc);
}

sl_err sl_delivery_log_list(sl_txn *t, const char *id, const sl_delivery_filter *f,
                            uint64_t before, size_t limit, sl_delivery_entry_cb cb, void *ctx,
                            uint64_t *next_before)
{
    if (!t || !t->txn || !id || !f || !cb || !next_before || limit < 1 ||
        limit > SL_DELIVERY_PAGE_MAX)
        return SL_ERR_INVALID;
    *next_before = 0;
    uint64_t key;
    sl_webhook_view view;
    if (!sl_webhook_key_parse(sl_slice_of(id), &key))
        return SL_ERR_NOT_FOUND;
    sl_err err = sl_webhook_rec_get(t, key, &view);
    if (err != SL_OK || before == 1)
        return err;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_DELIVERIES), &c);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    MDB_val k, v;
    bool found;
    list_run r = {f, limit, cb, ctx, next_before};
    err = seek_newest(c, key, before, &k, &v, &found);
    if (err == SL_OK && found)
        err = list_walk(&r, c, key, k, v);
    mdb_cursor_close(c);
    return err;
}
