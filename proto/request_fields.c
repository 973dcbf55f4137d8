/* request_fields.c: see request_fields.h. */
#include "proto/request_fields.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- errors -------------------------------------------------------------- */

static int rf_vfail(sl_wire_error *e, const char *code, const char *field, const char *fmt,
                 va_list ap)
{
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return -1;
}

/* Fill e and return -1. field NULL: none. */
int rf_fail(sl_wire_error *e, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rf_vfail(e, code, field, fmt, ap);
    va_end(ap);
    return -1;
}


shown rf_show(sl_slice s)
{
    shown out;
    size_t n = 0;
    for (size_t i = 0; i < s.len && n < 40; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        out.text[n++] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char)ch : '?';
    }
    if (s.len > 40) {
        memcpy(out.text + n, "...", 3);
        n += 3;
    }
    out.text[n] = '\0';
    return out;
}

/* ---- maps as field tables ------------------------------------------------ */



field_path rf_path_of(const field_table *t, const char *key)
{
    field_path p;
    if (t->parent)
        snprintf(p.text, sizeof p.text, "%s[%lld].%s", t->parent, t->index, key);
    else
        snprintf(p.text, sizeof p.text, "%s", key);
    return p;
}

/* Fail on field key of t: field = its path, message = "path: " + fmt. */
int rf_fail_at(sl_wire_error *e, const field_table *t, const char *key, const char *code,
                   const char *fmt, ...)
{
    field_path p = rf_path_of(t, key);
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rf_fail(e, code, p.text, "%s: %s", p.text, what);
}

bool rf_table_has(const field_table *t, sl_slice key)
{
    for (size_t i = 0; i < t->n; i++)
        if (sl_slice_eq(t->key[i], key))
            return true;
    return false;
}

/* A bad_request about the map of t itself; its path ("events[3]") is only
 * formatted here, on the error path. */
int rf_table_fail(sl_wire_error *e, const field_table *t, const char *fmt, ...)
{
    char where[96], what[200];
    snprintf(where, sizeof where, "%s[%lld]", t->parent ? t->parent : "", t->index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rf_fail(e, "bad_request", t->parent ? where : NULL, "%s", what);
}

/* Load the count pairs at *c into t (already named by parent/index) and move
 * *c past them. bad_request for non-str keys, too many keys, a key twice. */
int rf_load_table(sl_mp_cursor *c, uint32_t count, field_table *t, sl_wire_error *e)
{
    t->n = 0;
    if (count > SL_REQUEST_MAP_KEYS_MAX)
        return rf_table_fail(e, t, "a map with %u keys: at most %d are allowed", (unsigned)count,
                          SL_REQUEST_MAP_KEYS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        sl_mp_item k;
        if (sl_mp_read(c, &k) != SL_OK || k.type != SL_MP_STR)
            return rf_table_fail(e, t, "map keys must be strings");
        if (rf_table_has(t, k.bytes))
            return rf_table_fail(e, t, "key \"%s\" given twice", rf_show(k.bytes).text);
        t->key[t->n] = k.bytes;
        t->value[t->n] = *c;
        t->n++;
        if (sl_mp_skip(c) != SL_OK)
            return rf_table_fail(e, t, "malformed value");
    }
    return 0;
}

/* Where the value of key starts, or NULL when absent. */
const sl_mp_cursor *rf_find(const field_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (sl_slice_eq_cstr(t->key[i], key))
            return &t->value[i];
    return NULL;
}

/* ---- typed field readers ------------------------------------------------- */

/* The item of key: 1 found (in *it, with *after past its header), 0 absent. */
int rf_lookup(const field_table *t, const char *key, sl_mp_item *it, sl_mp_cursor *after)
{
    const sl_mp_cursor *v = rf_find(t, key);
    if (!v)
        return 0;
    *after = *v;
    return sl_mp_read(after, it) == SL_OK ? 1 : 0; /* the guard made reads safe */
}

int rf_missing(sl_wire_error *e, const field_table *t, const char *key)
{
    return rf_fail_at(e, t, key, "missing_field", "required");
}

/* Optional uint in min..max; *present says whether it was given. */
int rf_opt_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                    uint64_t *out, bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *present = rf_lookup(t, key, &it, &after) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_UINT)
        return rf_fail_at(e, t, key, "wrong_type", "must be an unsigned integer");
    if (it.u < min || it.u > max)
        return rf_fail_at(e, t, key, "invalid_argument", "must be %llu..%llu (got %llu)",
                       (unsigned long long)min, (unsigned long long)max,
                       (unsigned long long)it.u);
    *out = it.u;
    return 0;
}

/* Optional uint with a default. */
int rf_uint_or(const field_table *t, const char *key, uint64_t min, uint64_t max,
                   uint64_t def, uint64_t *out, sl_wire_error *e)
{
    bool present;
    *out = def;
    return rf_opt_uint(t, key, min, max, out, &present, e);
}

/* Required uint in min..max. */
int rf_req_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                    uint64_t *out, sl_wire_error *e)
{
    bool present;
    if (rf_opt_uint(t, key, min, max, out, &present, e) != 0)
        return -1;
    return present ? 0 : rf_missing(e, t, key);
}

/* Optional str of at most max_len bytes. */
int rf_opt_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
                   bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *present = rf_lookup(t, key, &it, &after) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_STR)
        return rf_fail_at(e, t, key, "wrong_type", "must be a string");
    if (it.bytes.len > max_len)
        return rf_fail_at(e, t, key, "too_large", "%zu bytes is over the limit of %zu",
                       it.bytes.len, max_len);
    *out = it.bytes;
    return 0;
}

int rf_req_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
                   sl_wire_error *e)
{
    bool present;
    if (rf_opt_str(t, key, max_len, out, &present, e) != 0)
        return -1;
    return present ? 0 : rf_missing(e, t, key);
}

/* Optional array: *items is at its first element, *n its length. */
int rf_opt_array(const field_table *t, const char *key, sl_mp_cursor *items, uint32_t *n,
                     bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    *n = 0;
    *present = rf_lookup(t, key, &it, items) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_ARRAY)
        return rf_fail_at(e, t, key, "wrong_type", "must be an array");
    *n = it.count;
    return 0;
}

/* Array length n within 1..max: invalid_argument when empty, too_large over. */
int rf_check_count(const field_table *t, const char *key, uint32_t n, uint32_t max,
                       sl_wire_error *e)
{
    if (n == 0)
        return rf_fail_at(e, t, key, "invalid_argument", "must hold 1..%u entries, not 0",
                       (unsigned)max);
    if (n > max)
        return rf_fail_at(e, t, key, "too_large", "%u entries is over the limit of %u",
                       (unsigned)n, (unsigned)max);
    return 0;
}

int rf_req_array(const field_table *t, const char *key, uint32_t max, sl_mp_cursor *items,
                     uint32_t *n, sl_wire_error *e)
{
    bool present;
    if (rf_opt_array(t, key, items, n, &present, e) != 0)
        return -1;
    if (!present)
        return rf_missing(e, t, key);
    return rf_check_count(t, key, *n, max, e);
}

bool rf_name_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Required group name: 1..SL_GROUP_NAME_MAX bytes of [A-Za-z0-9_.-]. */
int rf_req_name(const field_table *t, const char *key, char out[SL_GROUP_NAME_MAX + 1],
                    sl_wire_error *e)
{
    sl_slice s;
    if (rf_req_str(t, key, SL_GROUP_NAME_MAX, &s, e) != 0)
        return -1;
    if (s.len == 0)
        return rf_fail_at(e, t, key, "invalid_argument", "a group name must not be empty");
    for (size_t i = 0; i < s.len; i++)
        if (!rf_name_char_ok(s.ptr[i]))
            return rf_fail_at(e, t, key, "invalid_argument",
                           "\"%s\" is not a group name: use only A-Z a-z 0-9 _ . -",
                           rf_show(s).text);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

/* The element i of an array field, for error paths like "tokens[4]". */
field_path rf_element_path(const field_table *t, const char *key, uint32_t i)
{
    field_path p = rf_path_of(t, key);
    size_t used = strlen(p.text);
    snprintf(p.text + used, sizeof p.text - used, "[%u]", (unsigned)i);
    return p;
}

/* Read element i of an array as a uint. */
int rf_element_uint(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                        uint64_t max, uint64_t *out, sl_wire_error *e)
{
    sl_mp_item it;
    field_path p; /* formatted on the error paths only */
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_UINT) {
        p = rf_element_path(t, key, i);
        return rf_fail(e, "wrong_type", p.text, "%s: must be an unsigned integer", p.text);
    }
    if (it.u > max) {
        p = rf_element_path(t, key, i);
        return rf_fail(e, "invalid_argument", p.text, "%s: must be 0..%llu (got %llu)", p.text,
                    (unsigned long long)max, (unsigned long long)it.u);
    }
    *out = it.u;
    return 0;
}

/* Read element i of an array as a str of at most max_len bytes. */
int rf_element_str(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                       size_t max_len, sl_slice *out, sl_wire_error *e)
{
    sl_mp_item it;
    field_path p; /* formatted on the error paths only */
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_STR) {
        p = rf_element_path(t, key, i);
        return rf_fail(e, "wrong_type", p.text, "%s: must be a string", p.text);
    }
    if (it.bytes.len > max_len) {
        p = rf_element_path(t, key, i);
        return rf_fail(e, "too_large", p.text, "%s: %zu bytes is over the limit of %zu", p.text,
                    it.bytes.len, max_len);
    }
    *out = it.bytes;
    return 0;
}

int rf_opt_bool(const field_table *t, const char *key, bool *out, bool *present,
                sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *present = rf_lookup(t, key, &it, &after) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_BOOL)
        return rf_fail_at(e, t, key, "wrong_type", "must be a bool");
    *out = it.b;
    return 0;
}

int rf_opt_map(const field_table *t, const char *key, sl_mp_cursor *items, uint32_t *n,
               bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    *n = 0;
    *present = rf_lookup(t, key, &it, items) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_MAP)
        return rf_fail_at(e, t, key, "wrong_type", "must be a map");
    *n = it.count;
    return 0;
}
