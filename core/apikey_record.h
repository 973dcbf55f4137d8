/* apikey_record.h: core-internal: the stored record of an API key and the
 * id <-> key mapping (see apikey.h; layout in core/FORMAT.md, "API keys").
 *
 * A key's id is "key_" + 16 lowercase hex digits; its LMDB key in
 * DB_APIKEYS is those digits read as a u64, stored as 8 big-endian bytes,
 * so key order is id order. The record holds the salt, the hash
 * SHA-256(salt || token), and the configuration; never the token.
 *
 * apikey_record.c owns the codec and get/put/del; apikey_config.c the pure
 * id functions (no LMDB there); apikey.c uses them. Nothing here
 * allocates: records are encoded into stack buffers and decoded into caller
 * structs whose slices point into LMDB memory (valid until the transaction
 * ends or, in a write transaction, until the next write).
 */
#ifndef SLUICE_CORE_APIKEY_RECORD_H
#define SLUICE_CORE_APIKEY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "apikey.h"
#include "error.h"
#include "slice.h"
#include "store.h"

#define SL_APIKEY_RECORD_VERSION 1
#define SL_APIKEY_KEY_LEN 8      /* DB_APIKEYS keys */
#define SL_APIKEY_SALT_LEN 16
#define SL_APIKEY_HASH_LEN 32    /* SHA-256 */

/* A stored key: the public view plus what verifies its token. */
typedef struct sl_apikey_rec {
    sl_apikey_view view;                    /* id, config (slices into LMDB), created_ms */
    uint8_t salt[SL_APIKEY_SALT_LEN];       /* random, per key */
    uint8_t hash[SL_APIKEY_HASH_LEN];       /* SHA-256(salt || token) */
} sl_apikey_rec;

/* The key of id ("key_" + 16 lowercase hex). False when id is malformed. */
bool sl_apikey_key_parse(sl_slice id, uint64_t *key);

/* The id of key: "key_" + 16 lowercase hex, NUL-terminated. */
void sl_apikey_key_format(uint64_t key, char out[SL_APIKEY_ID_LEN + 1]);

/* Load the record of key. SL_ERR_NOT_FOUND, SL_ERR_CORRUPT, SL_ERR_VERSION,
 * storage errors. */
sl_err sl_apikey_rec_get(sl_txn *t, uint64_t key, sl_apikey_rec *out);

/* Decode a stored (key, value) pair of DB_APIKEYS, as sl_apikey_rec_get. */
sl_err sl_apikey_rec_decode(const void *key, size_t klen, const void *val, size_t vlen,
                            sl_apikey_rec *out);

/* Store r under key in w (insert or replace). Its slices are copied into a
 * buffer before the write. Counts and lengths out of the limits of apikey.h:
 * SL_ERR_INVALID. Storage errors. */
sl_err sl_apikey_rec_put(sl_txn *w, uint64_t key, const sl_apikey_rec *r);

/* Delete the record of key. SL_ERR_NOT_FOUND, storage errors. */
sl_err sl_apikey_rec_del(sl_txn *w, uint64_t key);

#endif
