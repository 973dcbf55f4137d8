/* json_buf.c: the JSON buffer writer (see json_buf.h). Each append first
 * reserves every byte it will write, then writes: a failure changes nothing. */
#include "tools/common/json_buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/base64.h"
#include "tools/common/json_check.h"

#define JB_MIN_CAP 256

/* ---- memory --------------------------------------------------------------------- */

void jb_init(json_buf *b)
{
    memset(b, 0, sizeof *b);
}

void jb_free(json_buf *b)
{
    free(b->data);
    jb_init(b);
}

void jb_reset(json_buf *b)
{
    b->len = 0;
    b->depth = 0;
    b->is_object = 0;
    b->has_items = 0;
    b->after_key = false;
    if (b->data)
        b->data[0] = '\0';
}

sl_err jb_reserve(json_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return SL_ERR_NOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SL_OK;
    size_t cap = b->cap < JB_MIN_CAP ? JB_MIN_CAP : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SL_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return SL_OK;
}

sl_slice jb_slice(const json_buf *b)
{
    sl_slice s = {b->data, b->len};
    return s;
}

/* ---- structure ------------------------------------------------------------------ */

static uint32_t bit_of(unsigned depth)
{
    return 1u << (depth - 1);
}

static bool in_object(const json_buf *b)
{
    return b->depth > 0 && (b->is_object & bit_of(b->depth));
}

/* Bytes written before an item: a comma when the container has one. */
static size_t comma_len(const json_buf *b)
{
    return !b->after_key && b->depth > 0 && (b->has_items & bit_of(b->depth)) ? 1 : 0;
}

/* Start a value of n bytes: check its place, reserve, write the comma.
 * *out gets where the n bytes go; the caller writes them, then commit(). */
static sl_err begin_value(json_buf *b, size_t n, char **out)
{
    if (in_object(b) && !b->after_key)
        return SL_ERR_INVALID;
    size_t comma = comma_len(b);
    if (n == SIZE_MAX)
        return SL_ERR_NOMEM;
    sl_err err = jb_reserve(b, comma + n);
    if (err != SL_OK)
        return err;
    if (comma)
        b->data[b->len++] = ',';
    if (b->depth > 0)
        b->has_items |= bit_of(b->depth);
    b->after_key = false;
    *out = b->data + b->len;
    return SL_OK;
}

static void commit(json_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

static sl_err append_value(json_buf *b, const char *bytes, size_t n)
{
    char *o;
    sl_err err = begin_value(b, n, &o);
    if (err != SL_OK)
        return err;
    if (n)
        memcpy(o, bytes, n);
    commit(b, n);
    return SL_OK;
}

static sl_err open_container(json_buf *b, bool object)
{
    if (b->depth >= JSON_BUF_DEPTH_MAX)
        return SL_ERR_TOO_LARGE;
    sl_err err = append_value(b, object ? "{" : "[", 1);
    if (err != SL_OK)
        return err;
    b->depth++;
    b->has_items &= ~bit_of(b->depth);
    if (object)
        b->is_object |= bit_of(b->depth);
    else
        b->is_object &= ~bit_of(b->depth);
    return SL_OK;
}

static sl_err close_container(json_buf *b, bool object)
{
    if (b->depth == 0 || in_object(b) != object || b->after_key)
        return SL_ERR_INVALID;
    sl_err err = jb_reserve(b, 1);
    if (err != SL_OK)
        return err;
    b->data[b->len] = object ? '}' : ']';
    commit(b, 1);
    b->depth--;
    return SL_OK;
}

sl_err jb_begin_object(json_buf *b)
{
    return open_container(b, true);
}

sl_err jb_end_object(json_buf *b)
{
    return close_container(b, true);
}

sl_err jb_begin_array(json_buf *b)
{
    return open_container(b, false);
}

sl_err jb_end_array(json_buf *b)
{
    return close_container(b, false);
}

/* ---- strings -------------------------------------------------------------------- */

/* The escaped form of the character at p (n >= 1 bytes left) into out (up
 * to 6 bytes); *used gets the input bytes it stands for. Returns its length. */
static size_t escape_one(const unsigned char *p, size_t n, char out[6], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t cp;
    size_t len = utf8_next(p, n, &cp);
    *used = len ? len : 1;
    if (len == 0)
        cp = 0xfffd; /* an invalid byte */
    const char *short_form = NULL;
    switch (cp) {
    case '"': short_form = "\\\""; break;
    case '\\': short_form = "\\\\"; break;
    case '\b': short_form = "\\b"; break;
    case '\f': short_form = "\\f"; break;
    case '\n': short_form = "\\n"; break;
    case '\r': short_form = "\\r"; break;
    case '\t': short_form = "\\t"; break;
    default: break;
    }
    if (short_form) {
        memcpy(out, short_form, 2);
        return 2;
    }
    if (len != 0 && cp >= 0x20 && cp != 0x7f && cp != 0x2028 && cp != 0x2029) {
        memcpy(out, p, len);
        return len;
    }
    out[0] = '\\', out[1] = 'u';
    for (int i = 0; i < 4; i++)
        out[2 + i] = hex[(cp >> (12 - 4 * i)) & 0xf];
    return 6;
}

static size_t escaped_len(sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t total = 0;
    char tmp[6];
    for (size_t i = 0, used; i < s.len; i += used)
        total += escape_one(p + i, s.len - i, tmp, &used);
    return total;
}

/* Writes the escaped string in quotes at o; returns the bytes written. */
static size_t write_quoted(char *o, sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t k = 0;
    o[k++] = '"';
    for (size_t i = 0, used; i < s.len; i += used)
        k += escape_one(p + i, s.len - i, o + k, &used);
    o[k++] = '"';
    return k;
}

sl_err jb_string(json_buf *b, sl_slice s)
{
    size_t n = escaped_len(s) + 2;
    char *o;
    sl_err err = begin_value(b, n, &o);
    if (err != SL_OK)
        return err;
    commit(b, write_quoted(o, s));
    return SL_OK;
}

sl_err jb_cstr(json_buf *b, const char *s)
{
    return jb_string(b, sl_slice_of(s));
}

sl_err jb_key(json_buf *b, sl_slice key)
{
    if (!in_object(b) || b->after_key)
        return SL_ERR_INVALID;
    size_t comma = comma_len(b);
    size_t n = escaped_len(key) + 3;
    sl_err err = jb_reserve(b, comma + n);
    if (err != SL_OK)
        return err;
    if (comma)
        b->data[b->len++] = ',';
    size_t k = write_quoted(b->data + b->len, key);
    b->data[b->len + k] = ':';
    commit(b, k + 1);
    b->has_items |= bit_of(b->depth);
    b->after_key = true;
    return SL_OK;
}

sl_err jb_key_cstr(json_buf *b, const char *key)
{
    return jb_key(b, sl_slice_of(key));
}

/* ---- other values --------------------------------------------------------------- */

sl_err jb_raw(json_buf *b, sl_slice json)
{
    return append_value(b, json.ptr, json.len);
}

sl_err jb_uint(json_buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    return append_value(b, tmp, (size_t)n);
}

sl_err jb_int(json_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return append_value(b, tmp, (size_t)n);
}

sl_err jb_bool(json_buf *b, bool v)
{
    return v ? append_value(b, "true", 4) : append_value(b, "false", 5);
}

sl_err jb_null(json_buf *b)
{
    return append_value(b, "null", 4);
}

sl_err jb_base64(json_buf *b, sl_slice bytes)
{
    if (bytes.len > (SIZE_MAX - 3) / 4 * 3 - 3)
        return SL_ERR_NOMEM;
    size_t n = sl_base64_encoded_len(bytes.len);
    char *o;
    sl_err err = begin_value(b, n + 2, &o);
    if (err != SL_OK)
        return err;
    o[0] = '"';
    sl_base64_encode(bytes.ptr, bytes.len, o + 1); /* its NUL lands where the quote goes */
    o[n + 1] = '"';
    commit(b, n + 2);
    return SL_OK;
}
