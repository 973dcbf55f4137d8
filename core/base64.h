/* base64.h: standard base64 (RFC 4648, with '=' padding).
 * Pure functions on caller-owned buffers: no allocation, no state.
 * Used for webhook secrets ("whsec_" + base64), Standard Webhooks signatures
 * and binary payloads inside JSON. */
#ifndef SLUICE_CORE_BASE64_H
#define SLUICE_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "slice.h"

/* Characters sl_base64_encode writes for n input bytes (no NUL). */
static inline size_t sl_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Largest number of bytes sl_base64_decode can produce from n characters. */
static inline size_t sl_base64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

/* Encode in[0..n) into out, which must hold sl_base64_encoded_len(n) + 1
 * bytes; writes a terminating NUL. Returns the characters written (no NUL). */
size_t sl_base64_encode(const void *in, size_t n, char *out);

/* Decode text (padding optional; no whitespace allowed) into out, which
 * holds out_cap bytes. *out_len gets the bytes written. SL_ERR_INVALID on a
 * character outside the alphabet, bad padding or a dangling char;
 * SL_ERR_TOO_LARGE when out_cap is too small. */
sl_err sl_base64_decode(sl_slice text, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
