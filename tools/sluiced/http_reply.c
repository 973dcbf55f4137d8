/* http_reply.c: see http_reply.h. */
#include "tools/sluiced/http_reply.h"

#include <stdio.h>
#include <string.h>
#include "proto/mp_guard.h"
#include "tools/common/json_check.h"

/* ---- errors ----------------------------------------------------------------------- */

typedef struct code_status {
    const char *code;
    int status;
} code_status;

static const code_status statuses[] = {
    {"bad_request", 400},      {"bad_version", 400},     {"unknown_op", 404},
    {"missing_field", 422},    {"wrong_type", 422},      {"invalid_argument", 422},
    {"too_large", 413},        {"not_found", 404},       {"already_exists", 409},
    {"storage_full", 507},     {"storage_error", 503},   {"corrupt", 500},
    {"no_memory", 503},        {"busy", 503},            {"shutting_down", 503},
    {"unauthorized", 401},     {"forbidden", 403},       {"rate_limited", 429},
    {"unsupported_media_type", 415}, {"method_not_allowed", 405},
};

int http_status_of_code(const char *code)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(code, statuses[i].code) == 0)
            return statuses[i].status;
    return 500;
}

sl_err http_reply_error(json_buf *out, const char *code, const char *message, const char *field)
{
    jb_reset(out);
    sl_err rc = jb_begin_object(out);
    if (rc == SL_OK)
        rc = jb_key_cstr(out, "message");
    if (rc == SL_OK)
        rc = jb_cstr(out, message);
    if (rc == SL_OK)
        rc = jb_key_cstr(out, "code");
    if (rc == SL_OK)
        rc = jb_cstr(out, code);
    if (rc == SL_OK && field && field[0]) {
        rc = jb_key_cstr(out, "errors");
        if (rc == SL_OK)
            rc = jb_begin_object(out);
        if (rc == SL_OK)
            rc = jb_key_cstr(out, field);
        if (rc == SL_OK)
            rc = jb_begin_array(out);
        if (rc == SL_OK)
            rc = jb_cstr(out, message);
        if (rc == SL_OK)
            rc = jb_end_array(out);
        if (rc == SL_OK)
            rc = jb_end_object(out);
    }
    return rc == SL_OK ? jb_end_object(out) : rc;
}

/* ---- msgpack -> JSON ------------------------------------------------------------------- */

static sl_err write_value(json_buf *out, sl_mp_cursor *c);

static bool payload_is_json(sl_slice payload, sl_slice content_type)
{
    bool typed_json = content_type.len == 0;
    for (size_t i = 0; i + 4 <= content_type.len && !typed_json; i++)
        typed_json = memcmp(content_type.ptr + i, "json", 4) == 0;
    return typed_json && payload.len > 0 && json_is_valid(payload);
}

/* The str value of key in the map whose pairs start at c (count pairs). */
static sl_slice find_str(sl_mp_cursor c, uint32_t count, const char *key)
{
    for (uint32_t i = 0; i < count; i++) {
        sl_mp_item k, v;
        if (sl_mp_read(&c, &k) != SL_OK)
            break;
        sl_mp_cursor at = c;
        if (k.type == SL_MP_STR && sl_slice_eq_cstr(k.bytes, key) &&
            sl_mp_read(&at, &v) == SL_OK && v.type == SL_MP_STR)
            return v.bytes;
        if (sl_mp_skip(&c) != SL_OK)
            break;
    }
    return (sl_slice){NULL, 0};
}

/* A bin value under key: the payload as data / payload_base64, other
 * bytes as text when UTF-8, else key_base64. */
static sl_err write_bin(json_buf *out, sl_slice key, sl_slice bytes, sl_slice content_type)
{
    char name[128];
    sl_err rc;
    bool payload = sl_slice_eq_cstr(key, "payload");
    if (payload && payload_is_json(bytes, content_type)) {
        rc = jb_key_cstr(out, "data");
        return rc == SL_OK ? jb_raw(out, bytes) : rc;
    }
    if (!payload && utf8_is_valid(bytes)) {
        rc = jb_key(out, key);
        return rc == SL_OK ? jb_string(out, bytes) : rc;
    }
    snprintf(name, sizeof name, "%.*s_base64", (int)(key.len < 100 ? key.len : 100), key.ptr);
    rc = jb_key_cstr(out, name);
    return rc == SL_OK ? jb_base64(out, bytes) : rc;
}

/* The pairs of a map (count of them at c) as members of the open object;
 * skip: a key not to write (NULL: none); pick: only these keys (NULL: all). */
static sl_err write_members(json_buf *out, sl_mp_cursor *c, uint32_t count, const char *skip,
                            const char *const *pick)
{
    sl_slice content_type = find_str(*c, count, "content_type");
    for (uint32_t i = 0; i < count; i++) {
        sl_mp_item k;
        if (sl_mp_read(c, &k) != SL_OK || k.type != SL_MP_STR)
            return SL_ERR_CORRUPT;
        bool wanted = !(skip && sl_slice_eq_cstr(k.bytes, skip));
        if (pick && wanted) {
            wanted = false;
            for (const char *const *p = pick; *p && !wanted; p++)
                wanted = sl_slice_eq_cstr(k.bytes, *p);
        }
        sl_mp_cursor at = *c;
        sl_mp_item v;
        if (!wanted) {
            if (sl_mp_skip(c) != SL_OK)
                return SL_ERR_CORRUPT;
            continue;
        }
        if (sl_mp_read(&at, &v) == SL_OK && v.type == SL_MP_BIN) {
            *c = at;
            sl_err rc = write_bin(out, k.bytes, v.bytes, content_type);
            if (rc != SL_OK)
                return rc;
            continue;
        }
        sl_err rc = jb_key(out, k.bytes);
        if (rc == SL_OK)
            rc = write_value(out, c);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

static sl_err write_value(json_buf *out, sl_mp_cursor *c)
{
    sl_mp_item it;
    if (sl_mp_read(c, &it) != SL_OK)
        return SL_ERR_CORRUPT;
    sl_err rc;
    switch (it.type) {
    case SL_MP_NIL:
        return jb_null(out);
    case SL_MP_BOOL:
        return jb_bool(out, it.b);
    case SL_MP_UINT:
        return jb_uint(out, it.u);
    case SL_MP_NEGINT:
        return jb_int(out, it.i);
    case SL_MP_STR:
        return jb_string(out, it.bytes);
    case SL_MP_BIN:
        return utf8_is_valid(it.bytes) ? jb_string(out, it.bytes) : jb_base64(out, it.bytes);
    case SL_MP_ARRAY:
        rc = jb_begin_array(out);
        for (uint32_t i = 0; i < it.count && rc == SL_OK; i++)
            rc = write_value(out, c);
        return rc == SL_OK ? jb_end_array(out) : rc;
    case SL_MP_MAP:
        rc = jb_begin_object(out);
        if (rc == SL_OK)
            rc = write_members(out, c, it.count, NULL, NULL);
        return rc == SL_OK ? jb_end_object(out) : rc;
    default:
        return jb_null(out); /* floats and ext never appear in replies */
    }
}

/* ---- the reply's top-level map ------------------------------------------------------- */

/* Where each top-level value of the reply starts. */
typedef struct top_map {
    sl_mp_cursor start;   /* the first pair */
    uint32_t count;
} top_map;

static sl_err open_reply(const void *reply, size_t len, top_map *m)
{
    sl_mp_cursor c = sl_mp_cursor_make(reply, len);
    sl_mp_item it;
    if (sl_mp_read(&c, &it) != SL_OK || it.type != SL_MP_MAP)
        return SL_ERR_CORRUPT;
    m->start = c;
    m->count = it.count;
    return SL_OK;
}

/* The value of key in m: *at before it. false when absent. */
static bool top_find(const top_map *m, const char *key, sl_mp_cursor *at)
{
    sl_mp_cursor c = m->start;
    for (uint32_t i = 0; i < m->count; i++) {
        sl_mp_item k;
        if (sl_mp_read(&c, &k) != SL_OK)
            return false;
        if (k.type == SL_MP_STR && sl_slice_eq_cstr(k.bytes, key)) {
            *at = c;
            return true;
        }
        if (sl_mp_skip(&c) != SL_OK)
            return false;
    }
    return false;
}

/* Is key one the data object takes (data key, merged keys, "ok")? */
static bool is_data_key(const http_route *r, sl_slice key)
{
    if (sl_slice_eq_cstr(key, "ok") || (r->data_key && sl_slice_eq_cstr(key, r->data_key)))
        return true;
    for (int i = 0; i < 2; i++)
        if (r->merge[i] && sl_slice_eq_cstr(key, r->merge[i]))
            return true;
    return false;
}

/* Write the merged keys of r into the open data object. */
static sl_err write_merged(json_buf *out, const http_route *r, const top_map *m)
{
    for (int i = 0; i < 2 && r->merge[i]; i++) {
        sl_mp_cursor at;
        if (!top_find(m, r->merge[i], &at))
            continue;
        sl_err rc = jb_key_cstr(out, r->merge[i]);
        if (rc == SL_OK)
            rc = write_value(out, &at);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* "data": the data key's value (an object, with merges and picks). */
static sl_err write_data_object(json_buf *out, const http_route *r, const top_map *m)
{
    sl_mp_cursor at;
    sl_mp_item it;
    sl_err rc = jb_key_cstr(out, "data");
    if (rc != SL_OK)
        return rc;
    if (r->data_key[0] == '\0') { /* the whole reply but "ok" */
        at = m->start;
        rc = jb_begin_object(out);
        if (rc == SL_OK)
            rc = write_members(out, &at, m->count, "ok", NULL);
        return rc == SL_OK ? jb_end_object(out) : rc;
    }
    if (!top_find(m, r->data_key, &at))
        return SL_ERR_CORRUPT;
    sl_mp_cursor peek = at;
    if (sl_mp_read(&peek, &it) != SL_OK)
        return SL_ERR_CORRUPT;
    if (it.type != SL_MP_MAP)
        return write_value(out, &at);
    rc = jb_begin_object(out);
    if (rc == SL_OK)
        rc = write_members(out, &peek, it.count, NULL, r->pick);
    if (rc == SL_OK)
        rc = write_merged(out, r, m);
    return rc == SL_OK ? jb_end_object(out) : rc;
}

/* The reply's other keys, into the open meta object. */
static sl_err write_rest(json_buf *out, const http_route *r, const top_map *m, uint32_t *n)
{
    sl_mp_cursor c = m->start;
    *n = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        sl_mp_item k;
        if (sl_mp_read(&c, &k) != SL_OK || k.type != SL_MP_STR)
            return SL_ERR_CORRUPT;
        if (is_data_key(r, k.bytes) || (r->data_key && r->data_key[0] == '\0')) {
            if (sl_mp_skip(&c) != SL_OK)
                return SL_ERR_CORRUPT;
            continue;
        }
        sl_err rc = jb_key(out, k.bytes);
        if (rc == SL_OK)
            rc = write_value(out, &c);
        if (rc != SL_OK)
            return rc;
        (*n)++;
    }
    return SL_OK;
}

/* ---- lists ------------------------------------------------------------------------------ */

/* A link to page p of the same request. */
static sl_err write_link(json_buf *out, const char *name, const http_page *pg, uint64_t p,
                         bool present)
{
    sl_err rc = jb_key_cstr(out, name);
    if (rc != SL_OK || !present)
        return rc == SL_OK ? jb_null(out) : rc;
    char link[2048];
    if (pg->path.len > sizeof link / 2)
        return jb_null(out); /* cannot be a list route's path: no link rather than a cut one */
    size_t n = (size_t)snprintf(link, sizeof link, "%.*s?", (int)pg->path.len, pg->path.ptr);
    for (size_t i = 0; i < pg->query.len && n < sizeof link - 64;) {
        size_t end = i;
        while (end < pg->query.len && pg->query.ptr[end] != '&')
            end++;
        sl_slice part = {pg->query.ptr + i, end - i};
        bool paging = (part.len >= 5 && memcmp(part.ptr, "page=", 5) == 0) ||
                      (part.len >= 9 && memcmp(part.ptr, "per_page=", 9) == 0);
        if (!paging && part.len && n + part.len + 1 < sizeof link - 64)
            n += (size_t)snprintf(link + n, sizeof link - n, "%.*s&", (int)part.len, part.ptr);
        i = end + 1;
    }
    snprintf(link + n, sizeof link - n, "page=%llu&per_page=%llu", (unsigned long long)p,
             (unsigned long long)pg->per_page);
    return jb_cstr(out, link);
}

typedef struct list_window {
    uint64_t offset;   /* first item of the page in the list returned */
    uint64_t shown;    /* items on the page */
    uint64_t total;    /* P_ALL: the whole list's length */
    bool more;         /* there is a next page */
} list_window;

static sl_err write_page_meta(json_buf *out, const http_route *r, const http_page *pg,
                              const list_window *w, const top_map *m)
{
    uint32_t extra;
    sl_err rc = jb_key_cstr(out, "meta");
    if (rc == SL_OK)
        rc = jb_begin_object(out);
    const struct {
        const char *key;
        uint64_t v;
        bool show;
    } nums[] = {
        {"current_page", pg->page, true},
        {"per_page", pg->per_page, true},
        {"from", w->shown ? w->offset + 1 : 0, true},
        {"to", w->offset + w->shown, true},
        {"total", w->total, r->paging == P_ALL},
        {"last_page", w->total ? (w->total + pg->per_page - 1) / pg->per_page : 1,
         r->paging == P_ALL},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && rc == SL_OK; i++)
        if (nums[i].show) {
            rc = jb_key_cstr(out, nums[i].key);
            if (rc == SL_OK)
                rc = jb_uint(out, nums[i].v);
        }
    if (rc == SL_OK)
        rc = write_rest(out, r, m, &extra);
    if (rc == SL_OK)
        rc = jb_end_object(out);
    if (rc == SL_OK)
        rc = jb_key_cstr(out, "links");
    if (rc == SL_OK)
        rc = jb_begin_object(out);
    uint64_t last = w->total ? (w->total + pg->per_page - 1) / pg->per_page : 1;
    if (rc == SL_OK)
        rc = write_link(out, "first", pg, 1, true);
    if (rc == SL_OK)
        rc = write_link(out, "last", pg, last, r->paging == P_ALL);
    if (rc == SL_OK)
        rc = write_link(out, "prev", pg, pg->page - 1, pg->page > 1);
    if (rc == SL_OK)
        rc = write_link(out, "next", pg, pg->page + 1, w->more);
    return rc == SL_OK ? jb_end_object(out) : rc;
}

/* Does the reply carry a cursor to more items (a "next_..." key with a
 * non-empty string or a non-zero uint: next_after, next_before)? */
static bool has_cursor(const top_map *m)
{
    sl_mp_cursor c = m->start;
    for (uint32_t i = 0; i < m->count; i++) {
        sl_mp_item k, v;
        if (sl_mp_read(&c, &k) != SL_OK)
            return false;
        sl_mp_cursor at = c;
        if (k.type == SL_MP_STR && k.bytes.len > 5 && memcmp(k.bytes.ptr, "next_", 5) == 0 &&
            sl_mp_read(&at, &v) == SL_OK &&
            ((v.type == SL_MP_STR && v.bytes.len > 0) || (v.type == SL_MP_UINT && v.u > 0)))
            return true;
        if (sl_mp_skip(&c) != SL_OK)
            return false;
    }
    return false;
}

/* A paged list: the window of the data key's array. P_LIMIT routes asked
 * the op for exactly page * per_page items, so this page ends where the
 * op's cursor (kept in meta) continues; there is a next page when that
 * cursor is set and the next page is still within the op's limit. */
static sl_err write_list(json_buf *out, const http_route *r, const top_map *m,
                         const http_page *pg)
{
    sl_mp_cursor at;
    sl_mp_item it;
    if (!top_find(m, r->data_key, &at) || sl_mp_read(&at, &it) != SL_OK ||
        it.type != SL_MP_ARRAY)
        return SL_ERR_CORRUPT;
    list_window w = {.offset = (pg->page - 1) * pg->per_page, .total = it.count};
    w.shown = it.count > w.offset ? it.count - w.offset : 0;
    if (w.shown > pg->per_page)
        w.shown = pg->per_page;
    w.more = it.count > w.offset + w.shown;
    if (r->paging == P_LIMIT)
        w.more = w.more || (has_cursor(m) && (pg->page + 1) * pg->per_page <= r->limit_max);
    sl_err rc = jb_key_cstr(out, "data");
    if (rc == SL_OK)
        rc = jb_begin_array(out);
    for (uint64_t i = 0; i < it.count && rc == SL_OK; i++) {
        if (i >= w.offset && i < w.offset + w.shown)
            rc = write_value(out, &at);
        else if (sl_mp_skip(&at) != SL_OK)
            rc = SL_ERR_CORRUPT;
    }
    if (rc == SL_OK)
        rc = jb_end_array(out);
    return rc == SL_OK ? write_page_meta(out, r, pg, &w, m) : rc;
}

sl_err http_reply_shape(const http_route *r, const void *reply, size_t len, const http_page *page,
                        json_buf *out, int *status)
{
    top_map m;
    jb_reset(out);
    *status = r->status;
    if (!r->data_key) {
        *status = 204;
        return SL_OK;
    }
    sl_err rc = open_reply(reply, len, &m);
    if (rc == SL_OK)
        rc = jb_begin_object(out);
    if (rc != SL_OK)
        return rc;
    if (r->paging != P_NONE && page)
        rc = write_list(out, r, &m, page);
    else {
        uint32_t extra = 0;
        rc = write_data_object(out, r, &m);
        if (rc == SL_OK && r->data_key[0]) {
            rc = jb_key_cstr(out, "meta");
            if (rc == SL_OK)
                rc = jb_begin_object(out);
            if (rc == SL_OK)
                rc = write_rest(out, r, &m, &extra);
            if (rc == SL_OK)
                rc = jb_end_object(out);
        }
    }
    return rc == SL_OK ? jb_end_object(out) : rc;
}
