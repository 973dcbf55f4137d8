/* log_state.c: load and save the log state record (see log_state.h). */
#include "log_state.h"

#include "bytes.h"
#include "db.h"

static MDB_val state_key(void)
{
    MDB_val k = {sizeof SL_LOG_STATE_KEY - 1, (void *)SL_LOG_STATE_KEY};
    return k;
}

sl_err sl_log_state_load(sl_txn *t, sl_log_state *st)
{
    MDB_val k = state_key(), v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_META), &k, &v);
    if (rc == MDB_NOTFOUND) {
        st->next_seq = st->head_seq = 1;
        st->last_ts = st->events = st->bytes = 0;
        return SL_OK;
    }
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    if (v.mv_size != SL_LOG_STATE_LEN)
        return SL_ERR_CORRUPT;
    const uint8_t *p = v.mv_data;
    st->next_seq = sl_get_u64(p);
    st->last_ts = sl_get_u64(p + 8);
    st->events = sl_get_u64(p + 16);
    st->bytes = sl_get_u64(p + 24);
    st->head_seq = sl_get_u64(p + 32);
    bool ok = st->next_seq && st->head_seq && st->head_seq <= st->next_seq &&
              st->events <= st->next_seq - st->head_seq;
    return ok ? SL_OK : SL_ERR_CORRUPT;
}

sl_err sl_log_state_save(sl_txn *w, const sl_log_state *st)
{
    uint8_t buf[SL_LOG_STATE_LEN];
    sl_put_u64(buf, st->next_seq);
    sl_put_u64(buf + 8, st->last_ts);
    sl_put_u64(buf + 16, st->events);
    sl_put_u64(buf + 24, st->bytes);
    sl_put_u64(buf + 32, st->head_seq);
    MDB_val k = state_key(), v = {sizeof buf, buf};
    return sl_err_from_mdb(sl_db_put(w, SL_DB_META, &k, &v, 0));
}
