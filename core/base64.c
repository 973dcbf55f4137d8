/* base64.c: see base64.h. */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sl_base64_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* The 6-bit value of c, or -1 outside the alphabet. */
static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* text without its '=' padding (at most two, only at the end of a quad). */
static sl_err strip_padding(sl_slice *text)
{
    size_t pad = 0;
    while (text->len > 0 && text->ptr[text->len - 1] == '=' && pad < 2) {
        text->len--;
        pad++;
    }
    if (pad > 0 && (text->len + pad) % 4 != 0)
        return SL_ERR_INVALID;
    return text->len % 4 == 1 ? SL_ERR_INVALID : SL_OK;
}

sl_err sl_base64_decode(sl_slice text, uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    sl_err err = strip_padding(&text);
    if (err != SL_OK)
        return err;
    size_t need = text.len / 4 * 3 + (text.len % 4 ? text.len % 4 - 1 : 0);
    if (need > out_cap)
        return SL_ERR_TOO_LARGE;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < text.len; i++) {
        int v = value_of(text.ptr[i]);
        if (v < 0)
            return SL_ERR_INVALID;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits must be zero (canonical encoding) */
        return SL_ERR_INVALID;
    *out_len = o;
    return SL_OK;
}
