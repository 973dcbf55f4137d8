/* http_call.c: see http_call.h.
 *
 * A call is driven by its connection's completions and the writer: each
 * step either answers (one respond_* call, after which the call is the
 * connection's to free) or hands the call on to the next step. At most one
 * step runs at a time, so a call needs no lock.
 */
#include "tools/sluiced/http_call.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nng/nng.h>
#include "proto/mp_guard.h"
#include "tools/common/json_parse.h"
#include "tools/sluiced/clock.h"
#include "tools/sluiced/http_ops.h"
#include "tools/sluiced/http_reply.h"
#include "tools/sluiced/http_request.h"
#include "tools/sluiced/http_routes.h"
#include "tools/sluiced/logger.h"

#define JSON_TOKENS_MAX (1u << 20) /* per body */
#define JSON_DEPTH_MAX 32
#define PAGE_MAX 100000
#define BODY_CHUNK 65536u          /* the body buffer starts here and doubles as data comes */

/* One request, from its parsed head to its response (then freed). */
struct http_call {
    sl_job job;                  /* must stay first: the writer hands back &job */
    const sl_http_env *env;
    http_link link;              /* the connection; it waits for this call */
    http_head *head;             /* owned; NULL for a refused request */
    char *body;                  /* owned */
    size_t body_len;             /* bytes read so far */
    size_t body_cap;             /* bytes allocated */
    size_t body_want;            /* Content-Length */
    bool body_unread;            /* a body was announced and not (fully) read: the
                                    connection cannot carry another request */
    bool head_method;            /* HEAD: the response goes without its body */
    bool client_close;           /* the client asked to close (or speaks HTTP/1.0) */
    bool close_after;            /* close the connection once the response is out */
    json_doc doc;                /* owned when parsed */
    bool parsed;
    msgpack_sbuffer request;     /* owned: the msgpack request */
    bool decoded;                /* job.req must be released */
    http_match match;
    http_page page;
    sl_auth_result auth;         /* the key's check before the body (rate headers) */
    json_buf out;                /* owned: the response body */
    char *rhead;                 /* owned: the response head being sent */
    char *rbody;                 /* owned: the response body being sent */
    uint64_t started_us;
};

static void route_call(http_call *c);
static void proceed(http_call *c);
static void run(http_call *c);
static void read_more(http_call *c);
static sl_slice header(const http_call *c, const char *name);
static sl_slice api_key(const http_call *c);

/* ---- the call's lifetime --------------------------------------------------------- */

void http_call_free(http_call *c)
{
    if (!c)
        return;
    if (c->decoded)
        sl_request_release(&c->job.req);
    if (c->parsed)
        json_doc_free(&c->doc);
    msgpack_sbuffer_destroy(&c->request);
    sl_reply_free(&c->job.reply);
    jb_free(&c->out);
    free(c->rhead);
    free(c->rbody);
    free(c->body);
    if (c->head)
        http_head_free(c->head);
    free(c->head);
    free(c);
}

static void observe(http_call *c, int status)
{
    atomic_fetch_add(&c->env->counters->requests, 1);
    if (c->env->metrics)
        sl_metrics_observe(c->env->metrics,
                           c->match.route ? c->match.route->op : (sl_op)SL_METRICS_OP_INVALID,
                           status < 400, sl_mono_us() - c->started_us, true);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

/* Append "name: value\r\n" at *n of buf (cap). */
static void head_line(char *buf, size_t cap, size_t *n, const char *name, const char *value)
{
    if (*n < cap)
        *n += (size_t)snprintf(buf + *n, cap - *n, "%s: %s\r\n", name, value);
}

/* The response head for status and a body of len bytes (ctype) into
 * c->rhead (cap bytes): its length. */
static size_t format_head(http_call *c, size_t cap, int status, const char *ctype, size_t len)
{
    char v[32];
    size_t n = (size_t)snprintf(c->rhead, cap, "HTTP/1.1 %d %s\r\n", status, reason_of(status));
    if (status != 204) {
        snprintf(v, sizeof v, "%zu", len);
        head_line(c->rhead, cap, &n, "Content-Length", v);
    }
    if (len)
        head_line(c->rhead, cap, &n, "Content-Type", ctype);
    if (c->close_after)
        head_line(c->rhead, cap, &n, "Connection", "close");
    if (c->auth.rate_limited) {
        snprintf(v, sizeof v, "%" PRIu32, c->auth.rate_limit);
        head_line(c->rhead, cap, &n, "X-RateLimit-Limit", v);
        snprintf(v, sizeof v, "%" PRIu32, c->auth.rate_remaining);
        head_line(c->rhead, cap, &n, "X-RateLimit-Remaining", v);
        snprintf(v, sizeof v, "%" PRIu64, c->auth.rate_reset_s);
        head_line(c->rhead, cap, &n, "X-RateLimit-Reset", v);
        if (c->auth.retry_after_s) {
            snprintf(v, sizeof v, "%" PRIu64, c->auth.retry_after_s);
            head_line(c->rhead, cap, &n, "Retry-After", v);
        }
    }
    if (n < cap)
        n += (size_t)snprintf(c->rhead + n, cap - n, "\r\n");
    if (n >= cap)
        n = cap - 1; /* cannot happen: the lines above are short */
    return n;
}

/* Send status with body (content type ctype) through the link; the
 * connection frees the call once it is out and goes on. close_conn: close
 * it afterwards (also done whenever a body was left unread, or the client
 * asked). */
static void respond_raw(http_call *c, int status, const char *ctype, const void *body,
                        size_t len, bool close_conn)
{
    observe(c, status);
    c->close_after = close_conn || c->body_unread || c->client_close;
    size_t cap = 1024;
    c->rhead = malloc(cap);
    c->rbody = len ? malloc(len) : NULL;
    if (!c->rhead || (len && !c->rbody)) {
        sl_log_error("out of memory for a %zu-byte HTTP response", len);
        c->link.close(c->link.conn); /* frees c */
        return;
    }
    if (len)
        memcpy(c->rbody, body, len);
    size_t n = format_head(c, cap, status, ctype, len);
    c->link.send(c->link.conn, c->rhead, n, c->rbody, len && !c->head_method ? len : 0,
                 c->close_after);
}

static void respond_json(http_call *c, int status, bool close_conn)
{
    sl_slice b = jb_slice(&c->out);
    respond_raw(c, status, "application/json", b.ptr, b.len, close_conn);
}

static void respond_error(http_call *c, int status, const char *code, const char *message,
                          const char *field)
{
    if (http_reply_error(&c->out, code, message, field) != SL_OK)
        jb_reset(&c->out);
    respond_json(c, status, status == 413 || status == 411);
}

/* ---- running the request -------------------------------------------------------- */

/* The "ok" of a msgpack reply map. */
static bool reply_ok(const sl_reply_buf *r)
{
    sl_mp_cursor cur = sl_mp_cursor_make(sl_reply_data(r), sl_reply_size(r));
    sl_mp_item it, k, v;
    if (sl_mp_read(&cur, &it) != SL_OK || it.type != SL_MP_MAP)
        return false;
    for (uint32_t i = 0; i < it.count; i++) {
        if (sl_mp_read(&cur, &k) != SL_OK)
            return false;
        sl_mp_cursor at = cur;
        if (k.type == SL_MP_STR && sl_slice_eq_cstr(k.bytes, "ok"))
            return sl_mp_read(&at, &v) == SL_OK && v.type == SL_MP_BOOL && v.b;
        if (sl_mp_skip(&cur) != SL_OK)
            return false;
    }
    return false;
}

/* The error of a {"ok": false, "error": {...}} reply, as an HTTP error. */
static void respond_wire_error(http_call *c)
{
    char code[64] = "internal", message[512] = "internal error", field[128] = "";
    sl_mp_cursor cur = sl_mp_cursor_make(sl_reply_data(&c->job.reply), sl_reply_size(&c->job.reply));
    sl_mp_item it, k, v;
    if (sl_mp_read(&cur, &it) == SL_OK && it.type == SL_MP_MAP) {
        for (uint32_t i = 0; i < it.count; i++) {
            if (sl_mp_read(&cur, &k) != SL_OK)
                break;
            if (!sl_slice_eq_cstr(k.bytes, "error")) {
                sl_mp_skip(&cur);
                continue;
            }
            sl_mp_item e;
            if (sl_mp_read(&cur, &e) != SL_OK || e.type != SL_MP_MAP)
                break;
            for (uint32_t j = 0; j < e.count; j++) {
                if (sl_mp_read(&cur, &k) != SL_OK)
                    break;
                sl_mp_cursor at = cur;
                if (sl_mp_read(&at, &v) == SL_OK && v.type == SL_MP_STR) {
                    char *dst = sl_slice_eq_cstr(k.bytes, "code")      ? code
                                : sl_slice_eq_cstr(k.bytes, "message") ? message
                                : sl_slice_eq_cstr(k.bytes, "field")   ? field
                                                                       : NULL;
                    size_t cap = dst == code ? sizeof code : dst == message ? sizeof message
                                                                              : sizeof field;
                    if (dst)
                        snprintf(dst, cap, "%.*s", (int)v.bytes.len, v.bytes.ptr);
                }
                sl_mp_skip(&cur);
            }
            break;
        }
    }
    respond_error(c, http_status_of_code(code), code, message, field);
}

/* The job's reply is final: shape it. Any thread. */
static void complete(http_call *c)
{
    if (!reply_ok(&c->job.reply)) {
        respond_wire_error(c);
        return;
    }
    int status = 200;
    const http_route *r = c->match.route;
    sl_err rc = http_reply_shape(r, sl_reply_data(&c->job.reply), sl_reply_size(&c->job.reply),
                                 r->paging != P_NONE ? &c->page : NULL, &c->out, &status);
    if (rc != SL_OK) {
        respond_error(c, 500, "internal", "the reply could not be encoded as JSON", NULL);
        return;
    }
    respond_json(c, status, false);
}

static void on_job_finish(sl_job *job)
{
    complete((http_call *)job);
}

static void run(http_call *c)
{
    uint64_t now = sl_wall_ms();
    if (sl_dispatch_route(c->env->store, &c->job.req) == SL_RUN_READ) {
        if (sl_dispatch_read(c->env->store, &c->job.req, now, c->env->counters,
                             &c->job.reply) != SL_OK) {
            respond_error(c, 503, "no_memory", "out of memory", NULL);
            return;
        }
        complete(c);
        return;
    }
    c->job.finish = on_job_finish;
    c->job.bytes = c->request.size;
    c->job.wait_until_ms = 0;
    if (c->job.req.op == SL_OP_PULL && c->job.req.pull.wait_ms > 0)
        c->job.wait_until_ms = now + c->job.req.pull.wait_ms;
    /* The writer owns the job until it calls on_job_finish: at the latest
     * when it stops (before sl_http_stop), with what it has. */
    sl_writer_submit(c->env->writer, &c->job);
}

/* ---- from HTTP to the request ------------------------------------------------------- */

static sl_slice header(const http_call *c, const char *name)
{
    return http_head_get(c->head, name);
}

/* The API key of the call: X-API-Key, or Authorization: Bearer. */
static sl_slice api_key(const http_call *c)
{
    sl_slice k = header(c, "X-API-Key");
    if (k.len)
        return k;
    sl_slice a = header(c, "Authorization");
    if (a.len > 7 && strncasecmp(a.ptr, "Bearer ", 7) == 0)
        return (sl_slice){a.ptr + 7, a.len - 7};
    return (sl_slice){NULL, 0};
}

/* page and per_page of a list route. */
static int read_paging(http_call *c, uint64_t *limit)
{
    const http_route *r = c->match.route;
    sl_slice v;
    uint64_t n;
    c->page = (http_page){1, HTTP_PER_PAGE_DEFAULT, c->head->path, c->head->query};
    *limit = 0;
    if (r->paging == P_NONE)
        return 0;
    int given = http_query_get(c->head->query, "page", &v);
    if (given < 0) {
        respond_error(c, 400, "bad_request", "page: given more than once", "page");
        return -1;
    }
    if (given) {
        if (http_parse_uint(v, &n) != 0 || n == 0 || n > PAGE_MAX) {
            respond_error(c, 422, "invalid_argument", "page: must be 1..100000", "page");
            return -1;
        }
        c->page.page = n;
    }
    given = http_query_get(c->head->query, "per_page", &v);
    if (given < 0) {
        respond_error(c, 400, "bad_request", "per_page: given more than once", "per_page");
        return -1;
    }
    if (given) {
        if (http_parse_uint(v, &n) != 0 || n == 0 || n > HTTP_PER_PAGE_MAX) {
            respond_error(c, 422, "invalid_argument", "per_page: must be 1..100", "per_page");
            return -1;
        }
        c->page.per_page = n;
    }
    if (r->paging != P_LIMIT)
        return 0;
    /* The op is asked for exactly the items up to the end of this page, so
     * its cursor (in meta) continues right after the page's last item. */
    uint64_t reach = c->page.page * c->page.per_page; /* <= PAGE_MAX * 100: no overflow */
    if (reach > r->limit_max) {
        respond_error(c, 422, "invalid_argument",
                      "page: too deep for this list; follow the cursor in meta instead", "page");
        return -1;
    }
    *limit = reach;
    return 0;
}

static int parse_body(http_call *c)
{
    if (c->body_len == 0)
        return 0;
    json_error err;
    sl_err rc = json_parse(&c->doc, c->body, c->body_len, JSON_TOKENS_MAX, JSON_DEPTH_MAX, &err);
    c->parsed = rc == SL_OK;
    if (rc == SL_OK)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "the body is not valid JSON: %s (at byte %zu)", err.message,
             err.offset);
    if (rc == SL_ERR_TOO_LARGE)
        respond_error(c, 413, "too_large", msg, NULL);
    else
        respond_error(c, 400, "bad_request", msg, NULL);
    return -1;
}

static int build_request(http_call *c)
{
    uint64_t limit;
    if (read_paging(c, &limit) != 0)
        return -1;
    http_build_in in = {&c->match, c->head->query, c->parsed ? &c->doc : NULL,
                        header(c, "Idempotency-Key"), limit};
    http_build_error err;
    if (http_request_build(&in, &c->request, &err) != 0) {
        const char *code = err.status == 400 ? "bad_request"
                           : err.status == 413 ? "too_large"
                           : err.status == 422 ? "invalid_argument"
                                               : "no_memory";
        respond_error(c, err.status, code, err.message, err.field);
        return -1;
    }
    return 0;
}

static int decode_request(http_call *c)
{
    sl_wire_error err;
    c->decoded = true;
    if (sl_request_decode(c->request.data, c->request.size, &c->job.req, &err) == 0)
        return 0;
    respond_error(c, http_status_of_code(err.code), err.code, err.message, err.field);
    return -1;
}

/* The whole check on the decoded request (topic limits too). The rate was
 * taken before the body (check_key_first): not again. */
static int check_auth(http_call *c)
{
    sl_auth_result r;
    sl_auth_check(c->env->auth, api_key(c), &c->job.req, false, sl_wall_ms(), &r);
    if (r.status == 0)
        return 0;
    respond_error(c, r.status, r.code, r.message, r.field);
    return -1;
}

/* Before anything of the body: a live key with the route's scope, and a
 * token from its rate bucket (every request counts, malformed ones too). */
static int check_key_first(http_call *c)
{
    if (!sl_auth_enabled(c->env->auth))
        return 0;
    sl_slice key = api_key(c);
    if (key.len == 0) {
        respond_error(c, 401, "unauthorized",
                      "an API key is required (X-API-Key or Authorization: Bearer)", NULL);
        return -1;
    }
    sl_auth_check_op(c->env->auth, key, c->match.route->op, true, sl_wall_ms(), &c->auth);
    if (c->auth.status == 0)
        return 0;
    respond_error(c, c->auth.status, c->auth.code, c->auth.message, c->auth.field);
    return -1;
}

/* The body is in: parse, build, decode, authorize, run. */
static void proceed(http_call *c)
{
    if (parse_body(c) != 0 || build_request(c) != 0 || decode_request(c) != 0 ||
        check_auth(c) != 0)
        return;
    run(c);
}


/* ---- the body ----------------------------------------------------------------------- */

void http_call_on_body(http_call *c, int rv, size_t count)
{
    if (rv == NNG_ETIMEDOUT || rv == NNG_ECLOSED) {
        /* stalled (nothing for a while), or closed by us at stop */
        observe(c, 400);
        c->link.close(c->link.conn); /* frees c */
        return;
    }
    if (rv != 0 || count == 0) {
        respond_error(c, 400, "bad_request", "the body ended before its Content-Length", NULL);
        return;
    }
    c->body_len += count;
    if (c->body_len < c->body_want) {
        read_more(c);
        return;
    }
    c->body_unread = false;
    proceed(c);
}

/* Read what comes of the body into its buffer, grown as data arrives (at
 * most about twice what was received, never the whole Content-Length up
 * front: a client announcing 16 MiB and sending nothing costs 64 KiB). */
static void read_more(http_call *c)
{
    if (c->body_len == c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap * 2 : BODY_CHUNK;
        if (cap > c->body_want)
            cap = c->body_want;
        char *p = realloc(c->body, cap);
        if (!p) {
            respond_error(c, 503, "no_memory", "out of memory for the body", NULL);
            return;
        }
        c->body = p;
        c->body_cap = cap;
    }
    c->link.recv(c->link.conn, c->body + c->body_len, c->body_cap - c->body_len, false);
}

/* Is ct the JSON media type: "application/json", any case, alone or with
 * parameters ("; charset=utf-8")? */
static bool is_json_type(sl_slice ct)
{
    static const char json[] = "application/json";
    size_t n = sizeof json - 1;
    if (ct.len < n || strncasecmp(ct.ptr, json, n) != 0)
        return false;
    for (size_t i = n; i < ct.len; i++) {
        if (ct.ptr[i] == ';')
            return true;
        if (ct.ptr[i] != ' ' && ct.ptr[i] != '\t')
            return false;
    }
    return true;
}

/* Check the headers of a body: its length (0: none) in *len, or -1 once
 * refused. */
static int body_length(http_call *c, uint64_t *len)
{
    sl_slice cl = header(c, "Content-Length");
    if (http_head_has(c->head, "Transfer-Encoding")) {
        respond_error(c, 411, "bad_request", "send the body with a Content-Length", NULL);
        return -1;
    }
    *len = 0;
    if (cl.len && http_parse_uint(cl, len) != 0) {
        respond_error(c, 400, "bad_request", "Content-Length is not a number", NULL);
        return -1;
    }
    if (*len > c->env->max_request_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "a body of %" PRIu64 " bytes is over the limit of %" PRIu64,
                 *len, c->env->max_request_bytes);
        respond_error(c, 413, "too_large", msg, NULL);
        return -1;
    }
    if (*len > 0 && !is_json_type(header(c, "Content-Type"))) {
        respond_error(c, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json", "Content-Type");
        return -1;
    }
    return 0;
}

/* Check the headers of a body and start reading it: first what came with
 * the head, then from the connection (after "100 Continue" when the client
 * waits for it). */
static void read_body(http_call *c)
{
    uint64_t len;
    if (body_length(c, &len) != 0)
        return;
    if (len == 0) {
        proceed(c);
        return;
    }
    c->body_want = (size_t)len;
    /* BODY_CHUNK >= HTTP_HEAD_MAX: the buffer takes all the connection holds */
    c->body_cap = c->body_want < BODY_CHUNK ? c->body_want : BODY_CHUNK;
    c->body = malloc(c->body_cap);
    if (!c->body) {
        respond_error(c, 503, "no_memory", "out of memory for the body", NULL);
        return;
    }
    size_t take = c->link.take(c->link.conn, c->body, c->body_cap);
    c->body_len = take;
    if (c->body_len == c->body_want) {
        c->body_unread = false;
        proceed(c);
        return;
    }
    if (c->head->expect_continue && take == 0) {
        c->link.recv(c->link.conn, c->body, c->body_cap, true);
        return;
    }
    read_more(c);
}

/* ---- operational endpoints ------------------------------------------------------------ */

/* /healthz, /readyz, /metrics (http_ops.h): true when served. */
static bool serve_operational(http_call *c, sl_slice method)
{
    http_ops_answer a;
    if (!http_ops_serve(c->env, method, c->head_method, c->head->path, api_key(c), &c->out,
                        &c->auth, &a))
        return false;
    if (a.text)
        respond_raw(c, a.status, HTTP_METRICS_TYPE, a.text, a.text_len, false);
    else
        respond_json(c, a.status, false);
    free(a.text);
    return true;
}

/* ---- the handler ---------------------------------------------------------------------- */

static void route_call(http_call *c)
{
    sl_slice method = c->head->method;
    if (serve_operational(c, method))
        return;
    if (!http_route_find(method, c->head->path, &c->match)) {
        if (c->match.path_known)
            respond_error(c, 405, "method_not_allowed", "this path does not take that method",
                          NULL);
        else
            respond_error(c, 404, "not_found", "no such route (see proto/HTTP.md)", NULL);
        return;
    }
    if (check_key_first(c) != 0)
        return;
    read_body(c);
}

/* ---- what the connection calls ------------------------------------------------------ */

http_call *http_call_new(const sl_http_env *env, const http_link *link)
{
    http_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->env = env;
    c->link = *link;
    c->started_us = sl_mono_us();
    msgpack_sbuffer_init(&c->request);
    sl_reply_init(&c->job.reply);
    jb_init(&c->out);
    return c;
}

void http_call_begin(http_call *c, http_head *head)
{
    c->head = head;
    c->client_close = head->client_close;
    c->body_unread = http_head_announces_body(head);
    c->head_method = sl_slice_eq_cstr(head->method, "HEAD");
    route_call(c);
}

void http_call_refuse(http_call *c, int status, const char *code, const char *message)
{
    c->client_close = true; /* what follows cannot be trusted */
    respond_error(c, status, code, message, NULL);
}
