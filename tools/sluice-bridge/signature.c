/* signature.c: HMAC-SHA256 webhook signatures with OpenSSL 3's EVP_MAC (see
 * signature.h). The message parts are fed to the MAC one after the other,
 * so no buffer joins them. */
#include "tools/sluice-bridge/signature.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "core/base64.h"

#define HMAC_LEN 32

sl_err wh_signer_init(wh_signer *s)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    s->ctx = NULL;
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s->mac)
        s->ctx = EVP_MAC_CTX_new(s->mac);
    if (!s->ctx || !EVP_MAC_CTX_set_params(s->ctx, params)) {
        wh_signer_free(s);
        return SL_ERR_NOMEM;
    }
    return SL_OK;
}

void wh_signer_free(wh_signer *s)
{
    EVP_MAC_CTX_free(s->ctx);
    EVP_MAC_free(s->mac);
    s->ctx = NULL;
    s->mac = NULL;
}

/* HMAC(key, parts[0] || parts[1] || ...) into out. */
static sl_err hmac(wh_signer *s, const uint8_t *key, size_t key_len, const sl_slice *parts,
                   size_t nparts, uint8_t out[HMAC_LEN])
{
    if (key_len == 0) /* EVP_MAC_init takes no key as "keep the previous one" */
        return SL_ERR_INVALID;
    if (!EVP_MAC_init(s->ctx, key, key_len, NULL))
        return SL_ERR_NOMEM;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len && !EVP_MAC_update(s->ctx, (const unsigned char *)parts[i].ptr,
                                            parts[i].len))
            return SL_ERR_NOMEM;
    size_t len = 0;
    if (!EVP_MAC_final(s->ctx, out, &len, HMAC_LEN) || len != HMAC_LEN)
        return SL_ERR_NOMEM;
    return SL_OK;
}

sl_err wh_sign_seed(wh_signer *s, sl_slice secret, uint64_t timestamp, sl_slice body,
                    char out[WH_SIG_SEED_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char ts[24];
    int ts_len = snprintf(ts, sizeof ts, "%" PRIu64 ".", timestamp);
    sl_slice parts[] = {{ts, (size_t)ts_len}, body};
    uint8_t mac[HMAC_LEN];
    out[0] = '\0';
    sl_err err = hmac(s, (const uint8_t *)secret.ptr, secret.len, parts, 2, mac);
    if (err != SL_OK)
        return err;
    memcpy(out, "sha256=", 7);
    for (size_t i = 0; i < HMAC_LEN; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[WH_SIG_SEED_LEN] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
    return SL_OK;
}

/* The key of a Standard Webhooks secret. */
static sl_err v1_key(sl_slice secret, uint8_t key[WH_SIG_KEY_MAX], size_t *key_len)
{
    size_t plen = strlen(WH_SIG_SECRET_PREFIX);
    if (secret.len >= plen && memcmp(secret.ptr, WH_SIG_SECRET_PREFIX, plen) == 0) {
        secret.ptr += plen;
        secret.len -= plen;
    }
    sl_err err = sl_base64_decode(secret, key, WH_SIG_KEY_MAX, key_len);
    if (err != SL_OK || *key_len < WH_SIG_KEY_MIN)
        return SL_ERR_INVALID;
    return SL_OK;
}

sl_err wh_sign_v1(wh_signer *s, sl_slice secret, sl_slice id, uint64_t timestamp,
                  sl_slice body, char out[WH_SIG_V1_LEN + 1])
{
    uint8_t key[WH_SIG_KEY_MAX];
    size_t key_len;
    out[0] = '\0';
    sl_err err = v1_key(secret, key, &key_len);
    if (err != SL_OK)
        return err;
    char ts[24];
    int ts_len = snprintf(ts, sizeof ts, ".%" PRIu64 ".", timestamp);
    sl_slice parts[] = {id, {ts, (size_t)ts_len}, body};
    uint8_t mac[HMAC_LEN];
    err = hmac(s, key, key_len, parts, 3, mac);
    OPENSSL_cleanse(key, sizeof key);
    if (err != SL_OK)
        return err;
    memcpy(out, "v1,", 3);
    sl_base64_encode(mac, HMAC_LEN, out + 3);
    OPENSSL_cleanse(mac, sizeof mac);
    return SL_OK;
}

/* Append entry (len bytes) to the list in out (*used bytes so far, cap in
 * all), with a space before it unless it is the first. */
static sl_err append_entry(char *out, size_t cap, size_t *used, const char *entry, size_t len)
{
    size_t sep = *used ? 1 : 0;
    if (cap < 1 || cap - 1 - *used < sep + len)
        return SL_ERR_TOO_LARGE;
    if (sep)
        out[(*used)++] = ' ';
    memcpy(out + *used, entry, len);
    *used += len;
    out[*used] = '\0';
    return SL_OK;
}

static sl_err sign_all(wh_signer *s, const sl_slice *secrets, size_t n, sl_slice id,
                       uint64_t timestamp, sl_slice body, char *seed_out, size_t seed_cap,
                       char *v1_out, size_t v1_cap)
{
    size_t seed_used = 0, v1_used = 0;
    for (size_t i = 0; i < n; i++) {
        char seed[WH_SIG_SEED_LEN + 1], v1[WH_SIG_V1_LEN + 1];
        sl_err err = wh_sign_seed(s, secrets[i], timestamp, body, seed);
        if (err == SL_OK)
            err = wh_sign_v1(s, secrets[i], id, timestamp, body, v1);
        if (err == SL_OK)
            err = append_entry(seed_out, seed_cap, &seed_used, seed, WH_SIG_SEED_LEN);
        if (err == SL_OK)
            err = append_entry(v1_out, v1_cap, &v1_used, v1, WH_SIG_V1_LEN);
        if (err != SL_OK)
            return err;
    }
    return SL_OK;
}

sl_err wh_sign_headers(wh_signer *s, const sl_slice *secrets, size_t n, sl_slice id,
                       uint64_t timestamp, sl_slice body, char *seed_out, size_t seed_cap,
                       char *v1_out, size_t v1_cap)
{
    if (seed_cap)
        seed_out[0] = '\0';
    if (v1_cap)
        v1_out[0] = '\0';
    if (n == 0)
        return SL_ERR_INVALID;
    sl_err err = sign_all(s, secrets, n, id, timestamp, body, seed_out, seed_cap, v1_out, v1_cap);
    if (err != SL_OK) {
        if (seed_cap)
            seed_out[0] = '\0';
        if (v1_cap)
            v1_out[0] = '\0';
    }
    return err;
}
