/* apikey_record.c: the codec of the API key record and its get/put/del.
 * See apikey_record.h; layout in core/FORMAT.md, "API keys". */
#include "apikey_record.h"

#include <lmdb.h>
#include <string.h>
#include "bytes.h"
#include "record_codec.h"
#include "db.h"
#include "topic.h"

#define REC_FIXED_LEN (1 + 8 + 4 + 4 + SL_APIKEY_SALT_LEN + SL_APIKEY_HASH_LEN) /* 65 */
#define REC_MAX                                                                  \
    (REC_FIXED_LEN + 1 + SL_APIKEY_NAME_MAX + 1 + SL_APIKEY_PATTERNS_MAX * (1 + SL_TOPIC_MAX))

/* ---- encoding --------------------------------------------------------------- */

/* A string of min..max (<= 255) bytes with a 1-byte length. */
static void put_str(rec_writer *w, sl_slice s, size_t min, size_t max)
{
    if (s.len < min || s.len > max || (s.len && !s.ptr)) {
        w->bad = true;
        return;
    }
    uint8_t n = (uint8_t)s.len;
    rec_put_bytes(w, &n, 1);
    rec_put_bytes(w, s.ptr, s.len);
}

/* Encode r into buf (REC_MAX bytes); 0 when a count or length is out of range. */
static size_t rec_encode(const sl_apikey_rec *r, uint8_t *buf)
{
    const sl_apikey_config *c = &r->view.config;
    if (c->npatterns > SL_APIKEY_PATTERNS_MAX)
        return 0;
    rec_writer w = {buf, REC_MAX, false};
    uint8_t version = SL_APIKEY_RECORD_VERSION, n = (uint8_t)c->npatterns;
    rec_put_bytes(&w, &version, 1);
    rec_put64(&w, r->view.created_ms);
    rec_put32(&w, c->rate_per_minute);
    rec_put32(&w, c->scopes);
    rec_put_bytes(&w, r->salt, sizeof r->salt);
    rec_put_bytes(&w, r->hash, sizeof r->hash);
    put_str(&w, c->name, 1, SL_APIKEY_NAME_MAX);
    rec_put_bytes(&w, &n, 1);
    for (uint32_t i = 0; i < c->npatterns && !w.bad; i++)
        put_str(&w, c->patterns[i], 1, SL_TOPIC_MAX);
    return w.bad ? 0 : REC_MAX - w.left;
}

/* ---- decoding --------------------------------------------------------------- */

/* A string with a 1-byte length of min..max bytes. */
static sl_slice get_str(rec_reader *r, size_t min, size_t max)
{
    size_t n = rec_get8(r);
    if (n < min || n > max)
        r->bad = true;
    const uint8_t *p = rec_take(r, n);
    return p ? (sl_slice){(const char *)p, n} : (sl_slice){"", 0};
}

sl_err sl_apikey_rec_decode(const void *key, size_t klen, const void *val, size_t vlen,
                            sl_apikey_rec *out)
{
    memset(out, 0, sizeof *out);
    if (klen != SL_APIKEY_KEY_LEN || vlen < 1)
        return SL_ERR_CORRUPT;
    sl_apikey_key_format(sl_get_u64(key), out->view.id);
    rec_reader r = {val, vlen, false};
    if (rec_get8(&r) != SL_APIKEY_RECORD_VERSION)
        return SL_ERR_VERSION;
    sl_apikey_config *c = &out->view.config;
    out->view.created_ms = rec_get64(&r);
    c->rate_per_minute = rec_get32(&r);
    c->scopes = rec_get32(&r);
    rec_get_fixed(&r, out->salt, sizeof out->salt);
    rec_get_fixed(&r, out->hash, sizeof out->hash);
    c->name = get_str(&r, 1, SL_APIKEY_NAME_MAX);
    c->npatterns = rec_get8(&r);
    if (c->npatterns > SL_APIKEY_PATTERNS_MAX)
        r.bad = true;
    for (uint32_t i = 0; i < c->npatterns && !r.bad; i++)
        c->patterns[i] = get_str(&r, 1, SL_TOPIC_MAX);
    /* FORMAT.md: at least one known scope bit, a rate of 1..SL_APIKEY_RATE_MAX */
    bool fields_ok = c->scopes != 0 && (c->scopes & ~SL_SCOPE_MASK) == 0 &&
                     c->rate_per_minute >= 1 && c->rate_per_minute <= SL_APIKEY_RATE_MAX;
    return r.bad || r.left || !fields_ok ? SL_ERR_CORRUPT : SL_OK;
}

/* ---- get / put / del -------------------------------------------------------- */

sl_err sl_apikey_rec_get(sl_txn *t, uint64_t key, sl_apikey_rec *out)
{
    uint8_t kb[SL_APIKEY_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(t->txn, sl_dbi(t, SL_DB_APIKEYS), &k, &v);
    if (rc != 0)
        return sl_err_from_mdb(rc);
    return sl_apikey_rec_decode(kb, sizeof kb, v.mv_data, v.mv_size, out);
}

sl_err sl_apikey_rec_put(sl_txn *w, uint64_t key, const sl_apikey_rec *r)
{
    uint8_t buf[REC_MAX], kb[SL_APIKEY_KEY_LEN];
    size_t len = rec_encode(r, buf); /* copies everything before the write */
    if (len == 0)
        return SL_ERR_INVALID;
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb}, val = {len, buf};
    int rc = sl_db_put(w, SL_DB_APIKEYS, &k, &val, 0);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}

sl_err sl_apikey_rec_del(sl_txn *w, uint64_t key)
{
    uint8_t kb[SL_APIKEY_KEY_LEN];
    sl_put_u64(kb, key);
    MDB_val k = {sizeof kb, kb};
    int rc = sl_db_del(w, SL_DB_APIKEYS, &k);
    return rc ? sl_err_from_mdb(rc) : SL_OK;
}
