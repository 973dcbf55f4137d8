/* apikey.c: API keys in the store: new ids and tokens, create / revoke /
 * get / list, and verifying a presented token (SHA-256 through OpenSSL's
 * EVP, constant-time comparison). Configuration checks, ids and topic
 * limits are in apikey_config.c; the record codec in apikey_record.c. See
 * apikey.h; layout in core/FORMAT.md, "API keys". */
#include "apikey.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>
#include "apikey_record.h"
#include "base64.h"
#include "bytes.h"
#include "db.h"

#define TOKEN_PREFIX "slk_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_HEX_AT TOKEN_PREFIX_LEN                /* 16 hex digits of the id */
#define TOKEN_SEP_AT (TOKEN_HEX_AT + 16)             /* '_' */
#define TOKEN_SECRET_AT (TOKEN_SEP_AT + 1)           /* 43 base64url characters */
#define SECRET_RAW_LEN 32
#define SECRET_TEXT_LEN 43                           /* base64url of 32 bytes, no '=' */
#define ID_TRIES 16                                  /* fresh random ids before giving up */

/* ---- randomness and tokens ---------------------------------------------------- */

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

/* SHA-256(salt || token) into hash. token is at most SL_APIKEY_TOKEN_LEN
 * bytes (longer ones are cut: they never verify anyway). */
static sl_err token_hash(const uint8_t salt[SL_APIKEY_SALT_LEN], sl_slice token,
                         uint8_t hash[SL_APIKEY_HASH_LEN])
{
    uint8_t buf[SL_APIKEY_SALT_LEN + SL_APIKEY_TOKEN_LEN];
    size_t n = token.len > SL_APIKEY_TOKEN_LEN ? SL_APIKEY_TOKEN_LEN : token.len;
    memcpy(buf, salt, SL_APIKEY_SALT_LEN);
    if (n)
        memcpy(buf + SL_APIKEY_SALT_LEN, token.ptr, n);
    unsigned int len = 0;
    int ok = EVP_Digest(buf, SL_APIKEY_SALT_LEN + n, hash, &len, EVP_sha256(), NULL);
    OPENSSL_cleanse(buf, sizeof buf);
    return ok == 1 && len == SL_APIKEY_HASH_LEN ? SL_OK : SL_ERR_NOMEM;
}

/* A new token for id: "slk_" + the id's 16 hex + "_" + base64url (no
 * padding) of 32 random bytes. */
static sl_err new_token(const char id[SL_APIKEY_ID_LEN + 1], char out[SL_APIKEY_TOKEN_LEN + 1])
{
    uint8_t raw[SECRET_RAW_LEN];
    char text[44 + 1]; /* sl_base64_encoded_len(32) + NUL */
    sl_err rc = random_bytes(raw, sizeof raw);
    if (rc != SL_OK)
        return rc;
    sl_base64_encode(raw, sizeof raw, text);
    for (size_t i = 0; i < SECRET_TEXT_LEN; i++)
        text[i] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : text[i];
    memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
    memcpy(out + TOKEN_HEX_AT, id + 4, 16); /* after "key_" */
    out[TOKEN_SEP_AT] = '_';
    memcpy(out + TOKEN_SECRET_AT, text, SECRET_TEXT_LEN);
    out[SL_APIKEY_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(text, sizeof text);
    return SL_OK;
}

static bool base64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* The key named by a well-formed token; false when it is not one. */
static bool token_key(sl_slice token, uint64_t *key)
{
    if (token.len != SL_APIKEY_TOKEN_LEN || !token.ptr ||
        memcmp(token.ptr, TOKEN_PREFIX, TOKEN_PREFIX_LEN) || token.ptr[TOKEN_SEP_AT] != '_')
        return false;
    for (size_t i = TOKEN_SECRET_AT; i < SL_APIKEY_TOKEN_LEN; i++)
        if (!base64url_char(token.ptr[i]))
            return false;
    char id[SL_APIKEY_ID_LEN];
    memcpy(id, "key_", 4);
    memcpy(id + 4, token.ptr + TOKEN_HEX_AT, 16);
    return sl_apikey_key_parse((sl_slice){id, sizeof id}, key);
}

/* A random key that no stored key uses yet. */
static sl_err new_key(sl_txn *w, uint64_t *key)
{
    for (int i = 0; i < ID_TRIES; i++) {
        uint8_t raw[8];
        sl_err rc = random_bytes(raw, sizeof raw);
        if (rc != SL_OK)
            return rc;
        *key = sl_get_u64(raw);
        sl_apikey_rec r;
        rc = sl_apikey_rec_get(w, *key, &r);
        if (rc == SL_ERR_NOT_FOUND)
            return SL_OK;
        if (rc != SL_OK && rc != SL_ERR_CORRUPT && rc != SL_ERR_VERSION)
            return rc;
    }
    return SL_ERR_EXISTS;
}

/* ---- create / revoke ---------------------------------------------------------- */

static bool is_write(const sl_txn *w)
{
    return w && w->txn && w->write;
}

sl_err sl_apikey_create(sl_txn *w, const sl_apikey_config *cfg, uint64_t now_ms,
                        char id_out[SL_APIKEY_ID_LEN + 1],
                        char token_out[SL_APIKEY_TOKEN_LEN + 1])
{
    if (!is_write(w) || !cfg || !id_out || !token_out)
        return SL_ERR_INVALID;
    sl_err rc = sl_apikey_config_check(cfg, NULL);
    if (rc != SL_OK)
        return rc;
    sl_apikey_rec r;
    char token[SL_APIKEY_TOKEN_LEN + 1];
    uint64_t key = 0;
    memset(&r, 0, sizeof r);
    rc = new_key(w, &key);
    if (rc != SL_OK)
        return rc;
    sl_apikey_key_format(key, r.view.id);
    r.view.config = *cfg;
    r.view.created_ms = now_ms;
    rc = random_bytes(r.salt, sizeof r.salt);
    if (rc == SL_OK)
        rc = new_token(r.view.id, token);
    if (rc == SL_OK)
        rc = token_hash(r.salt, (sl_slice){token, SL_APIKEY_TOKEN_LEN}, r.hash);
    if (rc == SL_OK)
        rc = sl_apikey_rec_put(w, key, &r);
    if (rc == SL_OK) {
        memcpy(id_out, r.view.id, sizeof r.view.id);
        memcpy(token_out, token, sizeof token);
    }
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

sl_err sl_apikey_revoke(sl_txn *w, const char *id)
{
    uint64_t key;
    if (!is_write(w) || !id)
        return SL_ERR_INVALID;
    if (!sl_apikey_key_parse(sl_slice_of(id), &key))
        return SL_ERR_NOT_FOUND;
    return sl_apikey_rec_del(w, key);
}

/* ---- reading -------------------------------------------------------------------- */

sl_err sl_apikey_get(sl_txn *t, const char *id, sl_apikey_view *out)
{
    uint64_t key;
    sl_apikey_rec r;
    if (!t || !t->txn || !id || !out)
        return SL_ERR_INVALID;
    if (!sl_apikey_key_parse(sl_slice_of(id), &key))
        return SL_ERR_NOT_FOUND;
    sl_err rc = sl_apikey_rec_get(t, key, &r);
    if (rc == SL_OK)
        *out = r.view;
    return rc;
}

/* Position c on the first key after the id after ("": the first one).
 * *found false when there is none. */
static sl_err seek_after(MDB_cursor *c, const char *after, MDB_val *k, MDB_val *v, bool *found)
{
    uint64_t key;
    uint8_t kb[SL_APIKEY_KEY_LEN];
    int rc;
    *found = false;
    if (!after[0]) {
        rc = mdb_cursor_get(c, k, v, MDB_FIRST);
    } else {
        if (!sl_apikey_key_parse(sl_slice_of(after), &key))
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

/* Hand at most limit keys from the cursor's position to cb. */
static sl_err list_walk(MDB_cursor *c, MDB_val k, MDB_val v, size_t limit, sl_apikey_cb cb,
                        void *ctx, char next_after[SL_APIKEY_ID_LEN + 1])
{
    sl_apikey_rec r;
    size_t given = 0;
    int mrc = 0;
    for (; mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (given == limit) {
            memcpy(next_after, r.view.id, sizeof r.view.id);
            return SL_OK;
        }
        sl_err rc = sl_apikey_rec_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &r);
        if (rc == SL_OK)
            rc = cb(ctx, &r.view);
        if (rc != SL_OK)
            return rc;
        given++;
    }
    return mrc == MDB_NOTFOUND ? SL_OK : sl_err_from_mdb(mrc);
}

sl_err sl_apikey_list(sl_txn *t, const char *after, size_t limit, sl_apikey_cb cb, void *ctx,
                      char next_after[SL_APIKEY_ID_LEN + 1])
{
    if (!t || !t->txn || !cb || !next_after || limit < 1 || limit > SL_APIKEY_PAGE_MAX)
        return SL_ERR_INVALID;
    char from[SL_APIKEY_ID_LEN + 1] = ""; /* after may be next_after itself */
    if (after && strnlen(after, sizeof from) < sizeof from)
        memcpy(from, after, strlen(after) + 1);
    else if (after)
        return SL_ERR_INVALID;
    next_after[0] = '\0';
    MDB_cursor *c;
    int mrc = mdb_cursor_open(t->txn, sl_dbi(t, SL_DB_APIKEYS), &c);
    if (mrc != 0)
        return sl_err_from_mdb(mrc);
    MDB_val k, v;
    bool found;
    sl_err rc = seek_after(c, from, &k, &v, &found);
    if (rc == SL_OK && found)
        rc = list_walk(c, k, v, limit, cb, ctx, next_after);
    mdb_cursor_close(c);
    return rc;
}

/* ---- verifying ------------------------------------------------------------------- */

sl_err sl_apikey_verify(sl_txn *t, sl_slice token, sl_apikey_view *out)
{
    if (!t || !t->txn || !out || (token.len && !token.ptr))
        return SL_ERR_NOT_FOUND;
    static const sl_apikey_rec none; /* unknown key: hash against zeros all the same */
    sl_apikey_rec r;
    uint64_t key = 0;
    bool known = token_key(token, &key);
    sl_err rc = known ? sl_apikey_rec_get(t, key, &r) : SL_ERR_NOT_FOUND;
    if (rc != SL_OK && rc != SL_ERR_NOT_FOUND)
        return rc;
    known = known && rc == SL_OK;
    const sl_apikey_rec *use = known ? &r : &none;
    uint8_t hash[SL_APIKEY_HASH_LEN];
    rc = token_hash(use->salt, token, hash);
    if (rc != SL_OK)
        return rc;
    bool same = CRYPTO_memcmp(hash, use->hash, sizeof hash) == 0;
    if (!known || !same)
        return SL_ERR_NOT_FOUND;
    *out = r.view;
    return SL_OK;
}
