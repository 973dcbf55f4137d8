/* signature.h: the two webhook signatures every delivery carries (see
 * /work/shared/webhook-signing.md and docs of the bridge):
 *
 *   seeds' scheme   X-Webhook-Signature: sha256=<lowercase hex of
 *                   HMAC-SHA256(key = the secret's bytes as written,
 *                   message = "{timestamp}.{body}")>
 *   Standard        webhook-signature: v1,<base64 of HMAC-SHA256(key =
 *   Webhooks v1     base64-decode(secret without "whsec_"), message =
 *                   "{id}.{timestamp}.{body}")>
 *
 * With several live secrets (a rotation's overlap), each header holds one
 * entry per secret, separated by one space, in the order given (current
 * secret first).
 *
 * A wh_signer holds the OpenSSL HMAC context, made once (wh_signer_init)
 * and reused for every signature: signing allocates nothing. One signer per
 * thread; it owns nothing of the caller's. Secrets, ids and bodies are
 * borrowed for the call only.
 */
#ifndef SLUICE_BRIDGE_SIGNATURE_H
#define SLUICE_BRIDGE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>
#include "core/error.h"
#include "core/slice.h"

#define WH_SIG_SEED_LEN 71 /* "sha256=" + 64 hex digits */
#define WH_SIG_V1_LEN 47   /* "v1," + 44 base64 characters */
#define WH_SIG_KEY_MIN 24  /* bytes of a decoded Standard Webhooks key */
#define WH_SIG_KEY_MAX 64
#define WH_SIG_SECRET_PREFIX "whsec_"

/* Bytes (with the NUL) a header value of n entries needs. */
#define WH_SIG_SEED_HEADER_CAP(n) ((n) * (WH_SIG_SEED_LEN + 1))
#define WH_SIG_V1_HEADER_CAP(n) ((n) * (WH_SIG_V1_LEN + 1))

typedef struct wh_signer {
    EVP_MAC *mac;     /* HMAC, fetched once (owned) */
    EVP_MAC_CTX *ctx; /* set to SHA-256, re-keyed per signature (owned) */
} wh_signer;

/* Prepare s. SL_ERR_NOMEM when OpenSSL cannot (then s needs no free). */
sl_err wh_signer_init(wh_signer *s);

/* Release what s holds; s may be zeroed or already freed. */
void wh_signer_free(wh_signer *s);

/* The seeds' scheme: "sha256=<hex>" into out (NUL-terminated).
 * SL_ERR_INVALID for an empty secret, SL_ERR_NOMEM when OpenSSL fails. */
sl_err wh_sign_seed(wh_signer *s, sl_slice secret, uint64_t timestamp, sl_slice body,
                    char out[WH_SIG_SEED_LEN + 1]);

/* Standard Webhooks v1: "v1,<base64>" into out (NUL-terminated). The
 * "whsec_" prefix is optional; what follows must be base64 of
 * WH_SIG_KEY_MIN..WH_SIG_KEY_MAX bytes, else SL_ERR_INVALID.
 * SL_ERR_NOMEM when OpenSSL fails. */
sl_err wh_sign_v1(wh_signer *s, sl_slice secret, sl_slice id, uint64_t timestamp,
                  sl_slice body, char out[WH_SIG_V1_LEN + 1]);

/* Both header values for the live secrets[0..n) (n >= 1, current first):
 * seed_out gets "sha256=... sha256=...", v1_out "v1,... v1,...", each
 * NUL-terminated, one entry per secret, space-separated. Capacities are
 * the buffers' sizes in bytes: WH_SIG_SEED_HEADER_CAP(n) and
 * WH_SIG_V1_HEADER_CAP(n) suffice. SL_ERR_INVALID when n is 0 or a secret
 * is unusable (see wh_sign_v1), SL_ERR_TOO_LARGE when a buffer is too
 * small, SL_ERR_NOMEM when OpenSSL fails; on any error both outputs are
 * left empty (when their capacity is not 0). */
sl_err wh_sign_headers(wh_signer *s, const sl_slice *secrets, size_t n, sl_slice id,
                       uint64_t timestamp, sl_slice body, char *seed_out, size_t seed_cap,
                       char *v1_out, size_t v1_cap);

#endif
