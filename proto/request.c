/* request.c: see request.h.
 *
 * The bytes are first checked whole by sl_mp_guard, then read in place with
 * an sl_mp_cursor. Each map (the request, and each publish event) is loaded
 * into a field_table of key -> value position, which also catches duplicate
 * keys; the op's decoder then looks its fields up by name, checking type,
 * presence and range, and naming the field path in any error.
 */
#include "proto/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/dlq.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/topic.h"
#include "proto/mp_guard.h"

static const char *const op_names[SL_OP_COUNT] = {
    [SL_OP_PING] = "ping",
    [SL_OP_PUBLISH] = "publish",
    [SL_OP_PULL] = "pull",
    [SL_OP_ACK] = "ack",
    [SL_OP_NACK] = "nack",
    [SL_OP_EXTEND] = "extend",
    [SL_OP_TERM] = "term",
    [SL_OP_GROUP_CREATE] = "group.create",
    [SL_OP_GROUP_UPDATE] = "group.update",
    [SL_OP_GROUP_GET] = "group.get",
    [SL_OP_GROUP_LIST] = "group.list",
    [SL_OP_GROUP_DELETE] = "group.delete",
    [SL_OP_TOPICS] = "topics",
    [SL_OP_LOG_READ] = "log.read",
    [SL_OP_DLQ_LIST] = "dlq.list",
    [SL_OP_DLQ_GET] = "dlq.get",
    [SL_OP_DLQ_REPLAY] = "dlq.replay",
    [SL_OP_DLQ_PURGE] = "dlq.purge",
    [SL_OP_STATS] = "stats",
};

const char *sl_op_name(sl_op op)
{
    if ((unsigned)op >= SL_OP_COUNT)
        return "?";
    return op_names[op];
}

bool sl_op_from_name(sl_slice name, sl_op *op)
{
    for (unsigned i = 0; i < SL_OP_COUNT; i++) {
        if (sl_slice_eq_cstr(name, op_names[i])) {
            *op = (sl_op)i;
            return true;
        }
    }
    return false;
}

static const char *const start_names[] = {
    [SL_START_EARLIEST] = "earliest",
    [SL_START_LATEST] = "latest",
    [SL_START_SEQ] = "seq",
    [SL_START_TIME] = "time",
};

const char *sl_start_kind_name(sl_start_kind k)
{
    if ((unsigned)k > SL_START_TIME)
        return "?";
    return start_names[k];
}

bool sl_start_kind_from_name(sl_slice name, sl_start_kind *k)
{
    for (unsigned i = 0; i <= SL_START_TIME; i++) {
        if (sl_slice_eq_cstr(name, start_names[i])) {
            *k = (sl_start_kind)i;
            return true;
        }
    }
    return false;
}

/* ---- errors -------------------------------------------------------------- */

static int vfail(sl_wire_error *e, const char *code, const char *field, const char *fmt,
                 va_list ap)
{
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return -1;
}

/* Fill e and return -1. field NULL: none. */
static int fail(sl_wire_error *e, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(sl_wire_error *e, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(e, code, field, fmt, ap);
    va_end(ap);
    return -1;
}

/* Untrusted bytes made fit for a message: printable ASCII, at most 40. */
typedef struct shown {
    char text[48]; /* NUL-terminated */
} shown;

static shown show(sl_slice s)
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

/* The keys of one map with where each value starts. */
typedef struct field_table {
    size_t n;                                    /* pairs loaded */
    sl_slice key[SL_REQUEST_MAP_KEYS_MAX];       /* key i (a str) */
    sl_mp_cursor value[SL_REQUEST_MAP_KEYS_MAX]; /* value i starts here */
    const char *parent;                          /* "events" for an event map, NULL at top */
    long long index;                             /* position in parent; -1 at top */
} field_table;

/* The path of key inside t: "max" or "events[3].topic". */
typedef struct field_path {
    char text[96]; /* NUL-terminated */
} field_path;

static field_path path_of(const field_table *t, const char *key)
{
    field_path p;
    if (t->parent)
        snprintf(p.text, sizeof p.text, "%s[%lld].%s", t->parent, t->index, key);
    else
        snprintf(p.text, sizeof p.text, "%s", key);
    return p;
}

/* Fail on field key of t: field = its path, message = "path: " + fmt. */
static int fail_at(sl_wire_error *e, const field_table *t, const char *key, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_at(sl_wire_error *e, const field_table *t, const char *key, const char *code,
                   const char *fmt, ...)
{
    field_path p = path_of(t, key);
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail(e, code, p.text, "%s: %s", p.text, what);
}

static bool table_has(const field_table *t, sl_slice key)
{
    for (size_t i = 0; i < t->n; i++)
        if (sl_slice_eq(t->key[i], key))
            return true;
    return false;
}

/* A bad_request about the map of t itself; its path ("events[3]") is only
 * formatted here, on the error path. */
static int table_fail(sl_wire_error *e, const field_table *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int table_fail(sl_wire_error *e, const field_table *t, const char *fmt, ...)
{
    char where[96], what[200];
    snprintf(where, sizeof where, "%s[%lld]", t->parent ? t->parent : "", t->index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail(e, "bad_request", t->parent ? where : NULL, "%s", what);
}

/* Load the count pairs at *c into t (already named by parent/index) and move
 * *c past them. bad_request for non-str keys, too many keys, a key twice. */
static int load_table(sl_mp_cursor *c, uint32_t count, field_table *t, sl_wire_error *e)
{
    t->n = 0;
    if (count > SL_REQUEST_MAP_KEYS_MAX)
        return table_fail(e, t, "a map with %u keys: at most %d are allowed", (unsigned)count,
                          SL_REQUEST_MAP_KEYS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        sl_mp_item k;
        if (sl_mp_read(c, &k) != SL_OK || k.type != SL_MP_STR)
            return table_fail(e, t, "map keys must be strings");
        if (table_has(t, k.bytes))
            return table_fail(e, t, "key \"%s\" given twice", show(k.bytes).text);
        t->key[t->n] = k.bytes;
        t->value[t->n] = *c;
        t->n++;
        if (sl_mp_skip(c) != SL_OK)
            return table_fail(e, t, "malformed value");
    }
    return 0;
}

/* Where the value of key starts, or NULL when absent. */
static const sl_mp_cursor *find(const field_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (sl_slice_eq_cstr(t->key[i], key))
            return &t->value[i];
    return NULL;
}

/* ---- typed field readers ------------------------------------------------- */

/* The item of key: 1 found (in *it, with *after past its header), 0 absent. */
static int lookup(const field_table *t, const char *key, sl_mp_item *it, sl_mp_cursor *after)
{
    const sl_mp_cursor *v = find(t, key);
    if (!v)
        return 0;
    *after = *v;
    return sl_mp_read(after, it) == SL_OK ? 1 : 0; /* the guard made reads safe */
}

static int missing(sl_wire_error *e, const field_table *t, const char *key)
{
    return fail_at(e, t, key, "missing_field", "required");
}

/* Optional uint in min..max; *present says whether it was given. */
static int opt_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                    uint64_t *out, bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *present = lookup(t, key, &it, &after) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_UINT)
        return fail_at(e, t, key, "wrong_type", "must be an unsigned integer");
    if (it.u < min || it.u > max)
        return fail_at(e, t, key, "invalid_argument", "must be %llu..%llu (got %llu)",
                       (unsigned long long)min, (unsigned long long)max,
                       (unsigned long long)it.u);
    *out = it.u;
    return 0;
}

/* Optional uint with a default. */
static int uint_or(const field_table *t, const char *key, uint64_t min, uint64_t max,
                   uint64_t def, uint64_t *out, sl_wire_error *e)
{
    bool present;
    *out = def;
    return opt_uint(t, key, min, max, out, &present, e);
}

/* Required uint in min..max. */
static int req_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                    uint64_t *out, sl_wire_error *e)
{
    bool present;
    if (opt_uint(t, key, min, max, out, &present, e) != 0)
        return -1;
    return present ? 0 : missing(e, t, key);
}

/* Optional str of at most max_len bytes. */
static int opt_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
                   bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *present = lookup(t, key, &it, &after) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_STR)
        return fail_at(e, t, key, "wrong_type", "must be a string");
    if (it.bytes.len > max_len)
        return fail_at(e, t, key, "too_large", "%zu bytes is over the limit of %zu",
                       it.bytes.len, max_len);
    *out = it.bytes;
    return 0;
}

static int req_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
                   sl_wire_error *e)
{
    bool present;
    if (opt_str(t, key, max_len, out, &present, e) != 0)
        return -1;
    return present ? 0 : missing(e, t, key);
}

/* Optional array: *items is at its first element, *n its length. */
static int opt_array(const field_table *t, const char *key, sl_mp_cursor *items, uint32_t *n,
                     bool *present, sl_wire_error *e)
{
    sl_mp_item it;
    *n = 0;
    *present = lookup(t, key, &it, items) == 1;
    if (!*present)
        return 0;
    if (it.type != SL_MP_ARRAY)
        return fail_at(e, t, key, "wrong_type", "must be an array");
    *n = it.count;
    return 0;
}

/* Array length n within 1..max: invalid_argument when empty, too_large over. */
static int check_count(const field_table *t, const char *key, uint32_t n, uint32_t max,
                       sl_wire_error *e)
{
    if (n == 0)
        return fail_at(e, t, key, "invalid_argument", "must hold 1..%u entries, not 0",
                       (unsigned)max);
    if (n > max)
        return fail_at(e, t, key, "too_large", "%u entries is over the limit of %u",
                       (unsigned)n, (unsigned)max);
    return 0;
}

static int req_array(const field_table *t, const char *key, uint32_t max, sl_mp_cursor *items,
                     uint32_t *n, sl_wire_error *e)
{
    bool present;
    if (opt_array(t, key, items, n, &present, e) != 0)
        return -1;
    if (!present)
        return missing(e, t, key);
    return check_count(t, key, *n, max, e);
}

static bool name_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Required group name: 1..SL_GROUP_NAME_MAX bytes of [A-Za-z0-9_.-]. */
static int req_name(const field_table *t, const char *key, char out[SL_GROUP_NAME_MAX + 1],
                    sl_wire_error *e)
{
    sl_slice s;
    if (req_str(t, key, SL_GROUP_NAME_MAX, &s, e) != 0)
        return -1;
    if (s.len == 0)
        return fail_at(e, t, key, "invalid_argument", "a group name must not be empty");
    for (size_t i = 0; i < s.len; i++)
        if (!name_char_ok(s.ptr[i]))
            return fail_at(e, t, key, "invalid_argument",
                           "\"%s\" is not a group name: use only A-Z a-z 0-9 _ . -",
                           show(s).text);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

/* The element i of an array field, for error paths like "tokens[4]". */
static field_path element_path(const field_table *t, const char *key, uint32_t i)
{
    field_path p = path_of(t, key);
    size_t used = strlen(p.text);
    snprintf(p.text + used, sizeof p.text - used, "[%u]", (unsigned)i);
    return p;
}

/* Read element i of an array as a uint. */
static int element_uint(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                        uint64_t max, uint64_t *out, sl_wire_error *e)
{
    sl_mp_item it;
    field_path p; /* formatted on the error paths only */
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_UINT) {
        p = element_path(t, key, i);
        return fail(e, "wrong_type", p.text, "%s: must be an unsigned integer", p.text);
    }
    if (it.u > max) {
        p = element_path(t, key, i);
        return fail(e, "invalid_argument", p.text, "%s: must be 0..%llu (got %llu)", p.text,
                    (unsigned long long)max, (unsigned long long)it.u);
    }
    *out = it.u;
    return 0;
}

/* Read element i of an array as a str of at most max_len bytes. */
static int element_str(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                       size_t max_len, sl_slice *out, sl_wire_error *e)
{
    sl_mp_item it;
    field_path p; /* formatted on the error paths only */
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_STR) {
        p = element_path(t, key, i);
        return fail(e, "wrong_type", p.text, "%s: must be a string", p.text);
    }
    if (it.bytes.len > max_len) {
        p = element_path(t, key, i);
        return fail(e, "too_large", p.text, "%s: %zu bytes is over the limit of %zu", p.text,
                    it.bytes.len, max_len);
    }
    *out = it.bytes;
    return 0;
}

/* ---- publish ------------------------------------------------------------- */

/* Load events[i] (a map) at *items into t. */
static int load_event(sl_mp_cursor *items, uint32_t i, field_table *t, sl_wire_error *e)
{
    sl_mp_item it;
    t->parent = "events";
    t->index = i;
    if (sl_mp_read(items, &it) != SL_OK || it.type != SL_MP_MAP) {
        char p[32];
        snprintf(p, sizeof p, "events[%u]", (unsigned)i);
        return fail(e, "wrong_type", p, "%s: an event must be a map", p);
    }
    return load_table(items, it.count, t, e);
}

/* Headers of the event in t: *n pairs at *items (0 when absent). */
static int event_headers(const field_table *t, sl_mp_cursor *items, uint32_t *n,
                         sl_wire_error *e)
{
    sl_mp_item it;
    *n = 0;
    if (lookup(t, "headers", &it, items) == 0)
        return 0;
    if (it.type != SL_MP_MAP)
        return fail_at(e, t, "headers", "wrong_type", "must be a map of str to str");
    if (it.count > SL_HEADERS_MAX)
        return fail_at(e, t, "headers", "too_large", "%u headers is over the limit of %d",
                       (unsigned)it.count, SL_HEADERS_MAX);
    *n = it.count;
    return 0;
}

/* First pass: check each event is a map and count all headers. */
static int count_headers(sl_mp_cursor items, uint32_t n, size_t *total, sl_wire_error *e)
{
    field_table t;
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_mp_cursor hdr;
        uint32_t nh;
        e->index = i;
        if (load_event(&items, i, &t, e) != 0 || event_headers(&t, &hdr, &nh, e) != 0)
            return -1;
        *total += nh;
    }
    e->index = -1;
    return 0;
}

/* One header pair at *items into *h, checked against the limits. */
static int read_header(sl_mp_cursor *items, const field_table *t, sl_header *h,
                       sl_wire_error *e)
{
    sl_mp_item k, v;
    if (sl_mp_read(items, &k) != SL_OK || k.type != SL_MP_STR || sl_mp_read(items, &v) != SL_OK ||
        v.type != SL_MP_STR)
        return fail_at(e, t, "headers", "wrong_type", "must be a map of str to str");
    if (k.bytes.len == 0)
        return fail_at(e, t, "headers", "invalid_argument", "a header key must not be empty");
    if (k.bytes.len > SL_HEADER_KEY_MAX)
        return fail_at(e, t, "headers", "too_large", "a key of %zu bytes is over the limit of %d",
                       k.bytes.len, SL_HEADER_KEY_MAX);
    if (v.bytes.len > SL_HEADER_VALUE_MAX)
        return fail_at(e, t, "headers", "too_large",
                       "header \"%s\": %zu bytes is over the limit of %d",
                       show(k.bytes).text, v.bytes.len, SL_HEADER_VALUE_MAX);
    h->key = k.bytes;
    h->value = v.bytes;
    return 0;
}

/* The headers of the event in t into h[0..), setting ev->headers/nheaders. */
static int decode_headers(const field_table *t, sl_header *h, sl_event_in *ev, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (event_headers(t, &items, &n, e) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (read_header(&items, t, &h[i], e) != 0)
            return -1;
        for (uint32_t j = 0; j < i; j++)
            if (sl_slice_eq(h[j].key, h[i].key))
                return fail_at(e, t, "headers", "bad_request", "header \"%s\" given twice",
                               show(h[i].key).text);
    }
    ev->headers = n ? h : NULL;
    ev->nheaders = n;
    return 0;
}

static int decode_topic(const field_table *t, sl_slice *topic, sl_wire_error *e)
{
    if (req_str(t, "topic", SL_TOPIC_MAX, topic, e) != 0)
        return -1;
    if (!sl_topic_valid(*topic))
        return fail_at(e, t, "topic", "invalid_argument",
                       "\"%s\" is not a topic: use segments of A-Z a-z 0-9 _ - joined by '.'",
                       show(*topic).text);
    return 0;
}

static int decode_payload(const field_table *t, sl_slice *payload, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    if (lookup(t, "payload", &it, &after) == 0)
        return missing(e, t, "payload");
    if (it.type != SL_MP_BIN && it.type != SL_MP_STR)
        return fail_at(e, t, "payload", "wrong_type", "must be bin or str");
    *payload = it.bytes;
    return 0;
}

static int decode_idem_key(const field_table *t, sl_slice *key, sl_wire_error *e)
{
    bool present;
    if (opt_str(t, "key", SL_IDEM_KEY_MAX, key, &present, e) != 0)
        return -1;
    if (present && key->len == 0)
        return fail_at(e, t, "key", "invalid_argument", "an idempotency key must not be empty");
    return 0;
}

/* Decode the event map in t into ev; its headers go to h. */
static int decode_event(const field_table *t, sl_event_in *ev, sl_header *h, sl_wire_error *e)
{
    bool present;
    if (decode_topic(t, &ev->topic, e) != 0 || decode_payload(t, &ev->payload, e) != 0 ||
        opt_str(t, "content_type", SL_CONTENT_TYPE_MAX, &ev->content_type, &present, e) != 0 ||
        decode_idem_key(t, &ev->idem_key, e) != 0)
        return -1;
    return decode_headers(t, h, ev, e);
}

static int decode_publish(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    size_t nheaders;
    if (req_array(t, "events", SL_PUBLISH_BATCH_MAX, &items, &n, e) != 0 ||
        count_headers(items, n, &nheaders, e) != 0)
        return -1;
    sl_event_in *events = calloc(1, n * sizeof *events + nheaders * sizeof(sl_header));
    if (!events)
        return fail(e, "no_memory", NULL, "out of memory for %u events", (unsigned)n);
    req->owned = events;
    sl_header *h = (sl_header *)(events + n);
    field_table et;
    for (uint32_t i = 0; i < n; i++) {
        e->index = i;
        if (load_event(&items, i, &et, e) != 0 || decode_event(&et, &events[i], h, e) != 0)
            return -1;
        h += events[i].nheaders;
    }
    e->index = -1;
    req->publish.events = events;
    req->publish.nevents = n;
    return 0;
}

/* ---- pull, ack, nack, extend, term --------------------------------------- */

/* pull's optional "ack": tokens to ack first, with room for their statuses
 * in the same (one) allocation. */
static int decode_pull_acks(const field_table *t, sl_req_pull *p, void **owned,
                            sl_wire_error *e)
{
    if (!find(t, "ack"))
        return 0;
    sl_mp_cursor items;
    uint32_t n = 0;
    if (req_array(t, "ack", SL_SETTLE_BATCH_MAX, &items, &n, e) != 0)
        return -1;
    void *block = calloc(n ? n : 1, sizeof(sl_slice) + sizeof(sl_token_status));
    if (!block)
        return fail(e, "no_memory", NULL, "out of memory for %u tokens", (unsigned)n);
    *owned = block;
    p->ack = block;
    p->ack_status = (sl_token_status *)(p->ack + (n ? n : 1));
    for (uint32_t i = 0; i < n; i++)
        if (element_str(&items, t, "ack", i, SIZE_MAX, &p->ack[i], e) != 0)
            return -1;
    p->nack = n;
    return 0;
}

static int decode_pull(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t max;
    if (req_name(t, "group", req->pull.group, e) != 0 ||
        uint_or(t, "max", 1, SL_PULL_BATCH_MAX, 1, &max, e) != 0 ||
        uint_or(t, "wait_ms", 0, SL_WAIT_MS_MAX, 0, &req->pull.wait_ms, e) != 0 ||
        decode_pull_acks(t, &req->pull, &req->owned, e) != 0)
        return -1;
    req->pull.max = (size_t)max;
    return 0;
}

/* reason cut to SL_REASON_MAX bytes, not inside a UTF-8 sequence. */
static sl_slice cut_reason(sl_slice r)
{
    if (r.len <= SL_REASON_MAX)
        return r;
    size_t n = SL_REASON_MAX;
    for (int back = 0; back < 3 && n > 0 && ((unsigned char)r.ptr[n] & 0xc0) == 0x80; back++)
        n--;
    r.len = n;
    return r;
}

static int decode_tokens(const field_table *t, sl_req_settle *s, void **owned, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (req_array(t, "tokens", SL_SETTLE_BATCH_MAX, &items, &n, e) != 0)
        return -1;
    s->tokens = calloc(n, sizeof *s->tokens);
    if (!s->tokens)
        return fail(e, "no_memory", NULL, "out of memory for %u tokens", (unsigned)n);
    *owned = s->tokens;
    for (uint32_t i = 0; i < n; i++)
        if (element_str(&items, t, "tokens", i, SIZE_MAX, &s->tokens[i], e) != 0)
            return -1;
    s->ntokens = n;
    return 0;
}

/* The op's own field: nack delay_ms, extend lease_ms, nack/term reason. */
static int decode_settle_extra(const field_table *t, sl_op op, sl_req_settle *s,
                               sl_wire_error *e)
{
    bool present;
    s->delay_ms = SL_DELAY_DEFAULT;
    if (op == SL_OP_NACK &&
        opt_uint(t, "delay_ms", 0, SL_DURATION_MS_MAX, &s->delay_ms, &present, e) != 0)
        return -1;
    if (op == SL_OP_EXTEND &&
        opt_uint(t, "lease_ms", 1, SL_DURATION_MS_MAX, &s->delay_ms, &present, e) != 0)
        return -1;
    if (op == SL_OP_NACK || op == SL_OP_TERM) {
        if (opt_str(t, "reason", SIZE_MAX, &s->reason, &present, e) != 0)
            return -1;
        s->reason = cut_reason(s->reason);
    }
    return 0;
}

static int decode_settle(const field_table *t, sl_request *req, sl_wire_error *e)
{
    if (req_name(t, "group", req->settle.group, e) != 0 ||
        decode_tokens(t, &req->settle, &req->owned, e) != 0)
        return -1;
    return decode_settle_extra(t, req->op, &req->settle, e);
}

/* ---- group.* ------------------------------------------------------------- */

static int decode_filters(const field_table *t, sl_group_config *cfg, bool *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (opt_array(t, "filters", &items, &n, given, e) != 0)
        return -1;
    if (!*given)
        return 0;
    if (check_count(t, "filters", n, SL_FILTERS_MAX, e) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        sl_slice f;
        if (element_str(&items, t, "filters", i, SL_TOPIC_MAX, &f, e) != 0)
            return -1;
        if (!sl_filter_valid(f)) {
            field_path p = element_path(t, "filters", i);
            return fail(e, "invalid_argument", p.text, "%s: \"%s\" is not a topic filter",
                        p.text, show(f).text);
        }
        memcpy(cfg->filters[i], f.ptr, f.len);
        cfg->filters[i][f.len] = '\0';
    }
    cfg->nfilters = n;
    return 0;
}

static int decode_start(const field_table *t, sl_group_config *cfg, unsigned *given,
                        sl_wire_error *e)
{
    sl_slice s;
    bool present;
    if (opt_str(t, "start", SIZE_MAX, &s, &present, e) != 0)
        return -1;
    if (present) {
        if (!sl_start_kind_from_name(s, &cfg->start))
            return fail_at(e, t, "start", "invalid_argument",
                           "must be earliest, latest, seq or time");
        *given |= SL_GROUP_GIVEN_START;
    }
    if (opt_uint(t, "start_value", 0, UINT64_MAX, &cfg->start_value, &present, e) != 0)
        return -1;
    if (present)
        *given |= SL_GROUP_GIVEN_START_VALUE;
    return 0;
}

static int decode_backoff(const field_table *t, sl_group_config *cfg, bool *given,
                          sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n = 0;
    if (opt_array(t, "backoff_ms", &items, &n, given, e) != 0)
        return -1;
    if (!*given)
        return 0;
    if (n > SL_BACKOFF_MAX)
        return fail_at(e, t, "backoff_ms", "too_large", "%u entries is over the limit of %d",
                       (unsigned)n, SL_BACKOFF_MAX);
    for (uint32_t i = 0; i < n; i++)
        if (element_uint(&items, t, "backoff_ms", i, SL_DURATION_MS_MAX, &cfg->backoff_ms[i],
                         e) != 0)
            return -1;
    cfg->nbackoff = n;
    return 0;
}

/* A uint field of the group config: given sets bit. */
static int group_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                      uint64_t *out, unsigned bit, unsigned *given, sl_wire_error *e)
{
    bool present;
    if (opt_uint(t, key, min, max, out, &present, e) != 0)
        return -1;
    if (present)
        *given |= bit;
    return 0;
}

static int decode_limits(const field_table *t, sl_group_config *cfg, unsigned *given,
                         sl_wire_error *e)
{
    uint64_t deliveries = cfg->max_deliveries, inflight = cfg->max_inflight;
    if (group_uint(t, "ack_wait_ms", 1, SL_DURATION_MS_MAX, &cfg->ack_wait_ms,
                   SL_GROUP_GIVEN_ACK_WAIT, given, e) != 0 ||
        group_uint(t, "max_deliveries", 1, SL_MAX_DELIVERIES_MAX, &deliveries,
                   SL_GROUP_GIVEN_MAX_DELIVERIES, given, e) != 0 ||
        group_uint(t, "max_inflight", 1, SL_MAX_INFLIGHT_MAX, &inflight,
                   SL_GROUP_GIVEN_MAX_INFLIGHT, given, e) != 0)
        return -1;
    cfg->max_deliveries = (uint32_t)deliveries;
    cfg->max_inflight = (uint32_t)inflight;
    return 0;
}

static int decode_group(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_group_config *cfg = &req->group.config;
    unsigned *given = &req->group.given;
    bool filters, backoff;
    sl_group_config_default(cfg);
    *given = 0;
    if (req_name(t, "name", cfg->name, e) != 0 || decode_filters(t, cfg, &filters, e) != 0 ||
        decode_start(t, cfg, given, e) != 0 || decode_limits(t, cfg, given, e) != 0 ||
        decode_backoff(t, cfg, &backoff, e) != 0)
        return -1;
    *given |= (filters ? SL_GROUP_GIVEN_FILTERS : 0u) | (backoff ? SL_GROUP_GIVEN_BACKOFF : 0u);
    bool needs_value = cfg->start == SL_START_SEQ || cfg->start == SL_START_TIME;
    if (req->op == SL_OP_GROUP_CREATE && needs_value && !(*given & SL_GROUP_GIVEN_START_VALUE))
        return fail_at(e, t, "start_value", "missing_field", "required when start is %s",
                       sl_start_kind_name(cfg->start));
    return 0;
}

static int decode_group_ref(const field_table *t, sl_request *req, sl_wire_error *e)
{
    return req_name(t, "name", req->group_ref.name, e);
}

/* ---- log.read, dlq.* ----------------------------------------------------- */

static int decode_log_read(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_log_read *r = &req->log_read;
    uint64_t max;
    if (opt_uint(t, "from_seq", 0, UINT64_MAX, &r->from_seq, &r->has_from_seq, e) != 0 ||
        opt_uint(t, "from_time_ms", 0, UINT64_MAX, &r->from_time_ms, &r->has_from_time, e) != 0 ||
        uint_or(t, "max", 1, SL_READ_MAX, SL_READ_DEFAULT, &max, e) != 0)
        return -1;
    if (r->has_from_seq && r->has_from_time)
        return fail_at(e, t, "from_time_ms", "invalid_argument",
                       "give from_seq or from_time_ms, not both");
    r->max = (size_t)max;
    return 0;
}

static int decode_dlq_list(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t limit;
    if (req_name(t, "group", req->dlq_list.group, e) != 0 ||
        uint_or(t, "after_seq", 0, UINT64_MAX, 0, &req->dlq_list.after_seq, e) != 0 ||
        uint_or(t, "limit", 1, SL_DLQ_PAGE_MAX, SL_READ_DEFAULT, &limit, e) != 0)
        return -1;
    req->dlq_list.limit = (size_t)limit;
    return 0;
}

static int decode_dlq_get(const field_table *t, sl_request *req, sl_wire_error *e)
{
    if (req_name(t, "group", req->dlq_get.group, e) != 0)
        return -1;
    return req_uint(t, "seq", 0, UINT64_MAX, &req->dlq_get.seq, e);
}

/* all: optional bool. */
static int decode_all(const field_table *t, bool *all, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    *all = false;
    if (lookup(t, "all", &it, &after) == 0)
        return 0;
    if (it.type != SL_MP_BOOL)
        return fail_at(e, t, "all", "wrong_type", "must be a bool");
    *all = it.b;
    return 0;
}

static int decode_seqs(const field_table *t, sl_mp_cursor items, uint32_t n, sl_request *req,
                       sl_wire_error *e)
{
    sl_req_dlq_batch *b = &req->dlq_batch;
    if (check_count(t, "seqs", n, SL_DLQ_BATCH_MAX, e) != 0)
        return -1;
    b->seqs = calloc(n, sizeof *b->seqs);
    if (!b->seqs)
        return fail(e, "no_memory", NULL, "out of memory for %u seqs", (unsigned)n);
    req->owned = b->seqs;
    for (uint32_t i = 0; i < n; i++)
        if (element_uint(&items, t, "seqs", i, UINT64_MAX, &b->seqs[i], e) != 0)
            return -1;
    b->nseqs = n;
    return 0;
}

static int decode_dlq_batch(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_req_dlq_batch *b = &req->dlq_batch;
    sl_mp_cursor items;
    uint32_t n = 0;
    bool has_seqs;
    if (req_name(t, "group", b->group, e) != 0 || decode_all(t, &b->all, e) != 0 ||
        opt_array(t, "seqs", &items, &n, &has_seqs, e) != 0)
        return -1;
    if (b->all && has_seqs)
        return fail_at(e, t, "all", "invalid_argument", "give seqs or all: true, not both");
    if (!b->all && !has_seqs)
        return fail_at(e, t, "seqs", "invalid_argument",
                       "give seqs (1..%d sequences) or all: true", SL_DLQ_BATCH_MAX);
    return b->all ? 0 : decode_seqs(t, items, n, req, e);
}

/* ---- the request --------------------------------------------------------- */

typedef int (*op_decoder)(const field_table *t, sl_request *req, sl_wire_error *e);

/* The decoder of each op; NULL: the op has no fields. */
static const op_decoder decoders[SL_OP_COUNT] = {
    [SL_OP_PUBLISH] = decode_publish,
    [SL_OP_PULL] = decode_pull,
    [SL_OP_ACK] = decode_settle,
    [SL_OP_NACK] = decode_settle,
    [SL_OP_EXTEND] = decode_settle,
    [SL_OP_TERM] = decode_settle,
    [SL_OP_GROUP_CREATE] = decode_group,
    [SL_OP_GROUP_UPDATE] = decode_group,
    [SL_OP_GROUP_GET] = decode_group_ref,
    [SL_OP_GROUP_DELETE] = decode_group_ref,
    [SL_OP_LOG_READ] = decode_log_read,
    [SL_OP_DLQ_LIST] = decode_dlq_list,
    [SL_OP_DLQ_GET] = decode_dlq_get,
    [SL_OP_DLQ_REPLAY] = decode_dlq_batch,
    [SL_OP_DLQ_PURGE] = decode_dlq_batch,
};

static int check_version(const field_table *t, sl_wire_error *e)
{
    sl_mp_item it;
    sl_mp_cursor after;
    if (lookup(t, "v", &it, &after) == 0)
        return missing(e, t, "v");
    if (it.type != SL_MP_UINT)
        return fail(e, "bad_version", "v", "v: the protocol version must be an unsigned integer");
    if (it.u != SL_PROTO_VERSION)
        return fail(e, "bad_version", "v",
                    "v: protocol version %llu is not supported (this server speaks %d)",
                    (unsigned long long)it.u, SL_PROTO_VERSION);
    return 0;
}

static int decode_op(const field_table *t, sl_op *op, sl_wire_error *e)
{
    sl_slice name;
    if (req_str(t, "op", SIZE_MAX, &name, e) != 0)
        return -1;
    if (!sl_op_from_name(name, op))
        return fail(e, "unknown_op", "op", "op: \"%s\" is not an operation of protocol version %d",
                    show(name).text, SL_PROTO_VERSION);
    return 0;
}

/* Load the top-level map of the guarded buffer into t. */
static int load_request(const void *buf, size_t len, field_table *t, sl_wire_error *e)
{
    sl_mp_cursor c = sl_mp_cursor_make(buf, len);
    sl_mp_item top;
    if (sl_mp_read(&c, &top) != SL_OK || top.type != SL_MP_MAP)
        return fail(e, "bad_request", NULL, "a request must be a msgpack map");
    t->parent = NULL;
    t->index = -1;
    return load_table(&c, top.count, t, e);
}

int sl_request_decode(const void *buf, size_t len, sl_request *req, sl_wire_error *err)
{
    memset(req, 0, sizeof *req);
    err->code = NULL;
    err->field[0] = '\0';
    err->message[0] = '\0';
    err->index = -1;
    const char *why;
    if (sl_mp_guard(buf, len, SL_REQUEST_MAX_DEPTH, &why) != SL_OK)
        return fail(err, "bad_request", NULL, "not one valid msgpack object: %s", why);
    field_table t;
    if (load_request(buf, len, &t, err) != 0 || check_version(&t, err) != 0 ||
        decode_op(&t, &req->op, err) != 0)
        return -1;
    op_decoder decode = decoders[req->op];
    return decode ? decode(&t, req, err) : 0;
}

void sl_request_release(sl_request *req)
{
    free(req->owned);
    req->owned = NULL;
}
