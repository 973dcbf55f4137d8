/* db_change.c: the change wrappers of db.h: LMDB first, then the redo list
 * (a cursor delete notes first, while its key is still in the page; a
 * rewrite notes first, so that LMDB changes nothing when the note fails). */
#include "db.h"

#include <errno.h>
#include <stdbool.h>

#include "redo.h"

int sl_db_put(sl_txn *t, sl_db db, MDB_val *key, MDB_val *val, unsigned flags)
{
    int rc = mdb_put(t->txn, sl_dbi(t, db), key, val, flags);
    if (rc == MDB_SUCCESS && t->redo)
        rc = sl_redo_note_put(t->redo, db, key, val, (flags & MDB_RESERVE) != 0);
    return rc;
}

int sl_db_del(sl_txn *t, sl_db db, MDB_val *key)
{
    int rc = mdb_del(t->txn, sl_dbi(t, db), key, NULL);
    if (rc == MDB_SUCCESS && t->redo)
        rc = sl_redo_note_del(t->redo, db, key);
    return rc;
}

int sl_db_cursor_put(sl_txn *t, sl_db db, MDB_cursor *c, MDB_val *key, MDB_val *val,
                     unsigned flags)
{
    int rc = mdb_cursor_put(c, key, val, flags);
    if (rc == MDB_SUCCESS && t->redo)
        rc = sl_redo_note_put(t->redo, db, key, val, (flags & MDB_RESERVE) != 0);
    return rc;
}

int sl_db_cursor_del(sl_txn *t, sl_db db, MDB_cursor *c)
{
    if (t->redo) {
        /* The key lives in the page the delete changes: note it first. */
        MDB_val k, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
        if (rc == MDB_SUCCESS)
            rc = sl_redo_note_del(t->redo, db, &k);
        if (rc != MDB_SUCCESS)
            return rc;
        rc = mdb_cursor_del(c, 0);
        if (rc != MDB_SUCCESS)
            sl_redo_drop_last(t->redo);
        return rc;
    }
    return mdb_cursor_del(c, 0);
}

/* Whether the copies are sorted, disjoint and inside both values. */
static bool copies_fit(const sl_db_copy *copies, size_t n, size_t new_len, size_t old_len)
{
    size_t end = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_db_copy *k = &copies[i];
        if (k->to < end || k->to > new_len || k->len > new_len - k->to ||
            k->from > old_len || k->len > old_len - k->from)
            return false;
        end = k->to + k->len;
    }
    return true;
}

int sl_db_cursor_rewrite_last(sl_txn *t, sl_db db, MDB_cursor *c, MDB_val *key, MDB_val *val,
                              const sl_db_copy *copies, size_t n)
{
    MDB_val k, old;
    int rc = mdb_cursor_get(c, &k, &old, MDB_GET_CURRENT);
    if (rc != MDB_SUCCESS)
        return rc;
    if (!copies_fit(copies, n, val->mv_size, old.mv_size))
        return EINVAL;
    if (t->redo && (rc = sl_redo_note_splice(t->redo, db, key, val->mv_size, copies, n)) != 0)
        return rc;
    rc = mdb_cursor_del(c, 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_put(c, key, val, MDB_APPEND | MDB_RESERVE);
    if (rc != MDB_SUCCESS && t->redo)
        sl_redo_drop_last(t->redo);
    return rc;
}

int sl_db_reserved(sl_txn *t, const MDB_val *val)
{
    if (t->redo)
        sl_redo_fill_reserved(t->redo, val);
    return MDB_SUCCESS;
}
