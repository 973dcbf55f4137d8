/* http_request.c: see http_request.h. */
#include "tools/sluiced/http_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/base64.h"
#include "core/webhook.h"

#define VALUE_MAX 4096 /* a path capture or query value, decoded */

/* The state of one build. */
typedef struct builder {
    msgpack_packer pk;
    msgpack_sbuffer *out;
    const http_build_in *in;
    http_build_error *err;
    char *scratch;        /* unescaped strings (owned, grown as needed) */
    size_t scratch_cap;
    uint8_t *bytes;       /* decoded base64 payloads (owned, grown as needed) */
    size_t bytes_cap;
} builder;

static int fail(builder *b, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(builder *b, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    b->err->status = status;
    snprintf(b->err->field, sizeof b->err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(b->err->message, sizeof b->err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int nomem(builder *b)
{
    return fail(b, 503, NULL, "out of memory");
}

/* ---- msgpack helpers ----------------------------------------------------------- */

static int pack_cstr(builder *b, const char *s)
{
    size_t n = strlen(s);
    if (msgpack_pack_str(&b->pk, n) != 0 || msgpack_pack_str_body(&b->pk, s, n) != 0)
        return nomem(b);
    return 0;
}

static int pack_bytes(builder *b, const void *p, size_t n, bool bin)
{
    int rc = bin ? msgpack_pack_bin(&b->pk, n) : msgpack_pack_str(&b->pk, n);
    if (rc == 0)
        rc = bin ? msgpack_pack_bin_body(&b->pk, p, n) : msgpack_pack_str_body(&b->pk, p, n);
    return rc == 0 ? 0 : nomem(b);
}

/* A map32 header whose count is patched later: its offset in *mark. */
static int open_map(builder *b, size_t *mark)
{
    static const char header[5] = {(char)0xdf, 0, 0, 0, 0};
    *mark = b->out->size;
    return msgpack_sbuffer_write(b->out, header, sizeof header) == 0 ? 0 : nomem(b);
}

static void patch_map(builder *b, size_t mark, uint32_t n)
{
    unsigned char *p = (unsigned char *)b->out->data + mark + 1;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
}

/* ---- JSON -> msgpack ------------------------------------------------------------- */

/* The unescaped text of string token t, in the scratch buffer. */
static int unescape(builder *b, const json_tok *t, sl_slice *out)
{
    size_t need = (size_t)(t->end - t->start) + 1, len = 0;
    if (need > b->scratch_cap) {
        char *p = realloc(b->scratch, need);
        if (!p)
            return nomem(b);
        b->scratch = p;
        b->scratch_cap = need;
    }
    if (json_string_copy(b->in->body, t, b->scratch, b->scratch_cap, &len) != SL_OK)
        return fail(b, 400, NULL, "a string of the body does not decode");
    *out = (sl_slice){b->scratch, len};
    return 0;
}

static int pack_number(builder *b, const json_tok *t)
{
    uint64_t u;
    int64_t i;
    if (json_u64(b->in->body, t, &u) == SL_OK)
        return msgpack_pack_uint64(&b->pk, u) == 0 ? 0 : nomem(b);
    if (json_i64(b->in->body, t, &i) == SL_OK)
        return msgpack_pack_int64(&b->pk, i) == 0 ? 0 : nomem(b);
    char text[64];
    sl_slice raw = json_raw(b->in->body, t);
    if (raw.len >= sizeof text)
        return fail(b, 422, NULL, "a number of the body is too long");
    memcpy(text, raw.ptr, raw.len);
    text[raw.len] = '\0';
    return msgpack_pack_double(&b->pk, strtod(text, NULL)) == 0 ? 0 : nomem(b);
}

static int pack_value(builder *b, size_t i);

/* The members of the object at index i, each key then value. */
static int pack_members(builder *b, size_t i)
{
    const json_doc *d = b->in->body;
    size_t k = i + 1;
    for (uint32_t m = 0; m < d->toks[i].size; m++) {
        sl_slice key;
        if (unescape(b, &d->toks[k], &key) != 0 || pack_bytes(b, key.ptr, key.len, false) != 0 ||
            pack_value(b, k + 1) != 0)
            return -1;
        k = d->toks[k + 1].next;
    }
    return 0;
}

static int pack_value(builder *b, size_t i)
{
    const json_doc *d = b->in->body;
    const json_tok *t = &d->toks[i];
    sl_slice s;
    switch (t->type) {
    case JSON_OBJECT:
        if (msgpack_pack_map(&b->pk, t->size) != 0)
            return nomem(b);
        return pack_members(b, i);
    case JSON_ARRAY:
        if (msgpack_pack_array(&b->pk, t->size) != 0)
            return nomem(b);
        for (size_t k = i + 1, n = 0; n < t->size; n++, k = d->toks[k].next)
            if (pack_value(b, k) != 0)
                return -1;
        return 0;
    case JSON_STRING:
        return unescape(b, t, &s) == 0 ? pack_bytes(b, s.ptr, s.len, false) : -1;
    case JSON_NUMBER:
        return pack_number(b, t);
    case JSON_TRUE:
        return msgpack_pack_true(&b->pk) == 0 ? 0 : nomem(b);
    case JSON_FALSE:
        return msgpack_pack_false(&b->pk) == 0 ? 0 : nomem(b);
    default:
        return msgpack_pack_nil(&b->pk) == 0 ? 0 : nomem(b);
    }
}

/* ---- query strings and path captures ----------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_percent_decode(sl_slice s, bool plus_is_space, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '%') {
            int hi = i + 2 < s.len ? hexval(s.ptr[i + 1]) : -1;
            int lo = i + 2 < s.len ? hexval(s.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                return -1;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    *len = o;
    return 0;
}

int http_query_get(sl_slice query, const char *name, sl_slice *value)
{
    size_t n = strlen(name), i = 0;
    int found = 0;
    while (i < query.len) {
        size_t end = i;
        while (end < query.len && query.ptr[end] != '&')
            end++;
        sl_slice part = {query.ptr + i, end - i};
        if (part.len >= n && memcmp(part.ptr, name, n) == 0 &&
            (part.len == n || part.ptr[n] == '=')) {
            if (found)
                return -1;
            *value = part.len == n ? (sl_slice){part.ptr + n, 0}
                                   : (sl_slice){part.ptr + n + 1, part.len - n - 1};
            found = 1;
        }
        i = end + 1;
    }
    return found;
}

static bool all_digits(sl_slice s)
{
    if (s.len == 0 || s.len > 19)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

static uint64_t digits_value(sl_slice s)
{
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++)
        v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    return v;
}

int http_parse_uint(sl_slice s, uint64_t *v)
{
    if (!all_digits(s))
        return -1;
    *v = digits_value(s);
    return 0;
}

int http_parse_time(sl_slice s, uint64_t *ms)
{
    if (all_digits(s)) {
        *ms = digits_value(s);
        return 0;
    }
    char text[40];
    if (s.len >= sizeof text)
        return -1;
    memcpy(text, s.ptr, s.len);
    text[s.len] = '\0';
    struct tm tm = {0};
    int frac = 0, used = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return -1;
    const char *rest = text + used;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            frac *= 10;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000u + (uint64_t)frac;
    return 0;
}

/* One typed query parameter as a field. *n counts the pairs written. */
static int pack_query_param(builder *b, const http_qparam *q, uint32_t *n)
{
    sl_slice raw;
    char value[VALUE_MAX];
    size_t len;
    int given = http_query_get(b->in->query, q->name, &raw);
    if (given == 0)
        return 0;
    if (given < 0)
        return fail(b, 400, q->name, "%s: given more than once", q->name);
    if (http_percent_decode(raw, true, value, sizeof value, &len) != 0)
        return fail(b, 400, q->name, "%s: not a valid query value", q->name);
    sl_slice v = {value, len};
    uint64_t u = 0;
    int rc = 0;
    if (q->type == Q_UINT && !all_digits(v))
        return fail(b, 422, q->name, "%s: must be a non-negative integer", q->name);
    if (q->type == Q_TIME && http_parse_time(v, &u) != 0)
        return fail(b, 422, q->name, "%s: must be Unix ms or an ISO 8601 UTC time", q->name);
    if (q->type == Q_BOOL && strcmp(value, "true") && strcmp(value, "false") &&
        strcmp(value, "1") && strcmp(value, "0"))
        return fail(b, 422, q->name, "%s: must be true or false", q->name);
    if (pack_cstr(b, q->field) != 0)
        return -1;
    if (q->type == Q_UINT)
        rc = msgpack_pack_uint64(&b->pk, digits_value(v));
    else if (q->type == Q_TIME)
        rc = msgpack_pack_uint64(&b->pk, u);
    else if (q->type == Q_BOOL)
        rc = (value[0] == 't' || value[0] == '1') ? msgpack_pack_true(&b->pk)
                                                  : msgpack_pack_false(&b->pk);
    else
        return pack_bytes(b, value, len, false) == 0 ? ((*n)++, 0) : -1;
    if (rc != 0)
        return nomem(b);
    (*n)++;
    return 0;
}

static int pack_query(builder *b, uint32_t *n)
{
    const http_qparam *q = b->in->match->route->query;
    for (; q && q->name; q++)
        if (pack_query_param(b, q, n) != 0)
            return -1;
    return 0;
}

/* Path captures under the route's field names. */
static int pack_params(builder *b, uint32_t *n)
{
    const http_match *m = b->in->match;
    for (size_t i = 0; i < m->nparams; i++) {
        char value[VALUE_MAX];
        size_t len;
        const char *field = m->route->params[i];
        if (http_percent_decode(m->params[i], false, value, sizeof value, &len) != 0)
            return fail(b, 400, field, "%s: not a valid path segment", field);
        if (pack_cstr(b, field) != 0)
            return -1;
        int rc;
        if (strcmp(field, "seq") == 0) {
            if (!all_digits((sl_slice){value, len}))
                return fail(b, 422, field, "seq: must be a non-negative integer");
            rc = msgpack_pack_uint64(&b->pk, digits_value((sl_slice){value, len})) == 0 ? 0
                                                                                      : nomem(b);
        } else if (b->in->match->route->build == B_WEBHOOK_GROUP) {
            /* the capture is a webhook id; the op wants its group */
            char group[VALUE_MAX + 8];
            int glen = snprintf(group, sizeof group, "%s%s", SL_WEBHOOK_GROUP_PREFIX, value);
            rc = pack_bytes(b, group, (size_t)glen, false);
        } else {
            rc = pack_bytes(b, value, len, false);
        }
        if (rc != 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* ---- the body ------------------------------------------------------------------------ */

/* The root of the body, which must be an object (or absent: index SIZE_MAX). */
static int body_root(builder *b, size_t *root)
{
    const json_doc *d = b->in->body;
    *root = SIZE_MAX;
    if (!d || d->ntoks == 0)
        return 0;
    if (d->toks[0].type != JSON_OBJECT)
        return fail(b, 400, NULL, "the body must be a JSON object");
    *root = 0;
    return 0;
}

static int pack_body(builder *b, uint32_t *n)
{
    size_t root;
    if (body_root(b, &root) != 0)
        return -1;
    if (root == SIZE_MAX)
        return 0;
    if (!b->in->match->route->body && b->in->body->toks[0].size > 0)
        return fail(b, 400, NULL, "this route takes no body");
    static const char *const reserved[] = {"v", "op", "key"};
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
        if (json_member(b->in->body, &b->in->body->toks[0], reserved[r]))
            return fail(b, 422, reserved[r], "%s: not a field of this route (API keys go in "
                                             "X-API-Key)", reserved[r]);
    if (pack_members(b, root) != 0)
        return -1;
    *n += b->in->body->toks[0].size;
    return 0;
}

/* ---- publish --------------------------------------------------------------------------- */

/* The payload of event object ev (index) at position i: from data, payload
 * or payload_base64; *json says it came from data. */
static int pack_payload(builder *b, size_t ev, size_t i, bool *json)
{
    const json_doc *d = b->in->body;
    const json_tok *data = json_member(d, &d->toks[ev], "data");
    const json_tok *text = json_member(d, &d->toks[ev], "payload");
    const json_tok *b64 = json_member(d, &d->toks[ev], "payload_base64");
    char field[64];
    snprintf(field, sizeof field, "events[%zu].data", i);
    if ((data != NULL) + (text != NULL) + (b64 != NULL) != 1)
        return fail(b, 422, field, "%s: give exactly one of data (any JSON), payload (a string) "
                                   "or payload_base64", field);
    *json = data != NULL;
    if (pack_cstr(b, "payload") != 0)
        return -1;
    if (data) {
        sl_slice raw = json_raw(d, data);
        return pack_bytes(b, raw.ptr, raw.len, true);
    }
    sl_slice s;
    if (text && text->type == JSON_STRING)
        return unescape(b, text, &s) == 0 ? pack_bytes(b, s.ptr, s.len, true) : -1;
    snprintf(field, sizeof field, "events[%zu].%s", i, text ? "payload" : "payload_base64");
    if ((text ? text : b64)->type != JSON_STRING)
        return fail(b, 422, field, "%s: must be a string", field);
    if (unescape(b, b64, &s) != 0)
        return -1;
    size_t cap = sl_base64_decoded_max(s.len), len = 0;
    if (cap > b->bytes_cap) { /* one buffer for the whole batch, grown as needed */
        uint8_t *p = realloc(b->bytes, cap);
        if (!p)
            return nomem(b);
        b->bytes = p;
        b->bytes_cap = cap;
    }
    if (sl_base64_decode(s, b->bytes, b->bytes_cap, &len) != SL_OK)
        return fail(b, 422, field, "%s: not valid base64", field);
    return pack_bytes(b, b->bytes, len, true);
}

static bool is_payload_key(builder *b, size_t k)
{
    const json_doc *d = b->in->body;
    return json_string_eq(d, &d->toks[k], "data") || json_string_eq(d, &d->toks[k], "payload") ||
           json_string_eq(d, &d->toks[k], "payload_base64");
}

/* The idempotency key an event without one gets from the header. */
static int pack_header_key(builder *b, size_t i, size_t nevents)
{
    sl_slice k = b->in->idempotency_key;
    char key[256];
    int len = nevents == 1 ? snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr)
                           : snprintf(key, sizeof key, "%.*s:%zu", (int)k.len, k.ptr, i);
    if (len < 0 || (size_t)len >= sizeof key)
        return fail(b, 422, "Idempotency-Key", "Idempotency-Key: too long");
    if (pack_cstr(b, "key") != 0)
        return -1;
    return pack_bytes(b, key, (size_t)len, false);
}

/* Event object ev (index) at position i of nevents. */
static int pack_event(builder *b, size_t ev, size_t i, size_t nevents)
{
    const json_doc *d = b->in->body;
    char field[48];
    snprintf(field, sizeof field, "events[%zu]", i);
    if (d->toks[ev].type != JSON_OBJECT)
        return fail(b, 422, field, "%s: an event must be an object", field);
    size_t mark;
    uint32_t n = 0;
    bool json = false;
    if (open_map(b, &mark) != 0 || pack_payload(b, ev, i, &json) != 0)
        return -1;
    n++;
    size_t k = ev + 1;
    for (uint32_t m = 0; m < d->toks[ev].size; m++, k = d->toks[k + 1].next) {
        if (is_payload_key(b, k))
            continue;
        sl_slice key;
        if (unescape(b, &d->toks[k], &key) != 0 || pack_bytes(b, key.ptr, key.len, false) != 0 ||
            pack_value(b, k + 1) != 0)
            return -1;
        n++;
    }
    const json_tok *ct = json_member(d, &d->toks[ev], "content_type");
    if (json && !ct) {
        if (pack_cstr(b, "content_type") != 0 || pack_cstr(b, "application/json") != 0)
            return -1;
        n++;
    }
    if (b->in->idempotency_key.len && !json_member(d, &d->toks[ev], "key")) {
        if (pack_header_key(b, i, nevents) != 0)
            return -1;
        n++;
    }
    patch_map(b, mark, n);
    return 0;
}

/* "events": an array of event objects, or the body itself as one event. */
static int pack_events(builder *b, uint32_t *n)
{
    size_t root;
    if (body_root(b, &root) != 0)
        return -1;
    if (root == SIZE_MAX)
        return fail(b, 400, NULL, "the body must be a JSON object with \"events\" (or one event)");
    const json_doc *d = b->in->body;
    const json_tok *events = json_member(d, &d->toks[0], "events");
    if (pack_cstr(b, "events") != 0)
        return -1;
    (*n)++;
    if (!events) {
        if (msgpack_pack_array(&b->pk, 1) != 0)
            return nomem(b);
        return pack_event(b, 0, 0, 1);
    }
    if (events->type != JSON_ARRAY)
        return fail(b, 422, "events", "events: must be an array of events");
    size_t first = (size_t)(events - d->toks) + 1;
    if (msgpack_pack_array(&b->pk, events->size) != 0)
        return nomem(b);
    for (size_t i = 0, k = first; i < events->size; i++, k = d->toks[k].next)
        if (pack_event(b, k, i, events->size) != 0)
            return -1;
    return 0;
}

/* ---- the request ------------------------------------------------------------------------ */

static int pack_limit(builder *b, uint32_t *n)
{
    const http_route *r = b->in->match->route;
    if (r->paging != P_LIMIT || b->in->limit == 0)
        return 0;
    if (pack_cstr(b, r->limit_field) != 0)
        return -1;
    if (msgpack_pack_uint64(&b->pk, b->in->limit) != 0)
        return nomem(b);
    (*n)++;
    return 0;
}

int http_request_build(const http_build_in *in, msgpack_sbuffer *out, http_build_error *err)
{
    builder b = {.out = out, .in = in, .err = err};
    msgpack_packer_init(&b.pk, out, msgpack_sbuffer_write);
    memset(err, 0, sizeof *err);
    size_t mark;
    uint32_t n = 2;
    int rc = open_map(&b, &mark);
    if (rc == 0)
        rc = pack_cstr(&b, "v");
    if (rc == 0)
        rc = msgpack_pack_uint8(&b.pk, SL_PROTO_VERSION) == 0 ? 0 : nomem(&b);
    if (rc == 0)
        rc = pack_cstr(&b, "op");
    if (rc == 0)
        rc = pack_cstr(&b, sl_op_name(in->match->route->op));
    if (rc == 0)
        rc = pack_params(&b, &n);
    if (rc == 0)
        rc = pack_query(&b, &n);
    if (rc == 0)
        rc = pack_limit(&b, &n);
    if (rc == 0)
        rc = in->match->route->build == B_PUBLISH ? pack_events(&b, &n) : pack_body(&b, &n);
    if (rc == 0)
        patch_map(&b, mark, n);
    free(b.scratch);
    free(b.bytes);
    return rc;
}
