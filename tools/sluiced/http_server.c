/* http_server.c: see http_server.h. */
#include "tools/sluiced/http_server.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nng/supplemental/http/http.h>
#include "proto/mp_guard.h"
#include "tools/common/json_parse.h"
#include "tools/sluiced/clock.h"
#include "tools/sluiced/http_reply.h"
#include "tools/sluiced/http_request.h"
#include "tools/sluiced/http_routes.h"
#include "tools/sluiced/logger.h"

#define JSON_TOKENS_MAX (1u << 20) /* per body */
#define JSON_DEPTH_MAX 32
#define PAGE_MAX 100000

struct sl_http {
    nng_http_server *servers[8];
    size_t n;
};

/* One HTTP call, from the handler to the response. */
typedef struct http_call {
    sl_job job;                  /* must stay first: the writer hands back &job */
    const sl_http_env *env;
    nng_aio *aio;                /* the handler's: completed exactly once */
    nng_http_conn *conn;
    nng_http_req *req;
    nng_aio *body_aio;           /* owned: reads the body */
    char *uri;                   /* owned copy of the request URI */
    sl_slice path, query;        /* into uri */
    char *body;                  /* owned */
    size_t body_len;
    json_doc doc;                /* owned when parsed */
    bool parsed;
    msgpack_sbuffer request;     /* owned: the msgpack request */
    bool decoded;                /* job.req must be released */
    http_match match;
    http_page page;
    sl_auth_result auth;
    json_buf out;                /* owned: the response body */
    uint64_t started_us;
    pthread_mutex_t mu;
    bool abandoned;              /* the aio was closed under us: answer nobody */
    bool answered;
} http_call;

/* ---- the call's lifetime --------------------------------------------------------- */

static void call_free(http_call *c)
{
    if (c->body_aio)
        nng_aio_reap(c->body_aio); /* we may be inside its callback */
    if (c->decoded)
        sl_request_release(&c->job.req);
    if (c->parsed)
        json_doc_free(&c->doc);
    msgpack_sbuffer_destroy(&c->request);
    sl_reply_free(&c->job.reply);
    jb_free(&c->out);
    free(c->body);
    free(c->uri);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void set_header(nng_http_res *res, const char *name, const char *value)
{
    (void)nng_http_res_set_header(res, name, value);
}

static void set_rate_headers(const http_call *c, nng_http_res *res)
{
    char v[32];
    if (!c->auth.rate_limited)
        return;
    snprintf(v, sizeof v, "%" PRIu32, c->auth.rate_limit);
    set_header(res, "X-RateLimit-Limit", v);
    snprintf(v, sizeof v, "%" PRIu32, c->auth.rate_remaining);
    set_header(res, "X-RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%" PRIu64, c->auth.rate_reset_s);
    set_header(res, "X-RateLimit-Reset", v);
    if (c->auth.retry_after_s) {
        snprintf(v, sizeof v, "%" PRIu64, c->auth.retry_after_s);
        set_header(res, "Retry-After", v);
    }
}

static void observe(http_call *c, int status)
{
    atomic_fetch_add(&c->env->counters->requests, 1);
    if (c->match.route && c->env->metrics)
        sl_metrics_observe(c->env->metrics, c->match.route->op, status < 400,
                           sl_mono_us() - c->started_us, true);
}

/* Send status with body (content type ctype) and free the call. */
static void respond_raw(http_call *c, int status, const char *ctype, const void *body,
                        size_t len, bool close_conn)
{
    nng_http_res *res = NULL;
    observe(c, status);
    pthread_mutex_lock(&c->mu);
    bool gone = c->abandoned;
    c->answered = true;
    pthread_mutex_unlock(&c->mu);
    if (gone) {
        call_free(c);
        return;
    }
    int rv = nng_http_res_alloc(&res);
    if (rv == 0)
        rv = nng_http_res_set_status(res, (uint16_t)status);
    if (rv == 0 && len)
        rv = nng_http_res_copy_data(res, body, len);
    if (rv == 0) {
        if (len)
            set_header(res, "Content-Type", ctype);
        set_rate_headers(c, res);
        if (close_conn)
            set_header(res, "Connection", "close");
        nng_aio_set_output(c->aio, 0, res);
    } else if (res) {
        nng_http_res_free(res);
    }
    nng_aio_finish(c->aio, rv == 0 ? 0 : NNG_ENOMEM);
    call_free(c);
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

/* nng closed the handler's aio (the server is stopping): answer nobody; the
 * job, if one runs, frees the call when it finishes. */
static void on_cancel(nng_aio *aio, void *arg, int rv)
{
    http_call *c = arg;
    pthread_mutex_lock(&c->mu);
    bool answered = c->answered;
    c->abandoned = true;
    pthread_mutex_unlock(&c->mu);
    if (!answered)
        nng_aio_finish(aio, rv);
}

/* ---- running the request ----------------------------------------------------------- */

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
    if (sl_dispatch_kind(&c->job.req) == SL_RUN_READ) {
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
    nng_aio_defer(c->aio, on_cancel, c);
    sl_writer_submit(c->env->writer, &c->job);
}

/* ---- from HTTP to the request ------------------------------------------------------- */

static sl_slice header(const http_call *c, const char *name)
{
    return sl_slice_of(nng_http_req_get_header(c->req, name));
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
    c->page = (http_page){1, HTTP_PER_PAGE_DEFAULT, c->path, c->query};
    *limit = 0;
    if (r->paging == P_NONE)
        return 0;
    if (http_query_get(c->query, "page", &v)) {
        if (http_parse_uint(v, &n) != 0 || n == 0 || n > PAGE_MAX) {
            respond_error(c, 422, "invalid_argument", "page: must be 1..100000", "page");
            return -1;
        }
        c->page.page = n;
    }
    if (http_query_get(c->query, "per_page", &v)) {
        if (http_parse_uint(v, &n) != 0 || n == 0 || n > HTTP_PER_PAGE_MAX) {
            respond_error(c, 422, "invalid_argument", "per_page: must be 1..100", "per_page");
            return -1;
        }
        c->page.per_page = n;
    }
    if (r->paging != P_LIMIT)
        return 0;
    uint64_t reach = c->page.page * c->page.per_page;
    if (reach >= r->limit_max) {
        respond_error(c, 422, "invalid_argument",
                      "page: too deep for this list; follow the cursor in meta instead", "page");
        return -1;
    }
    *limit = reach + 1; /* one more tells whether there is a next page */
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
    http_build_in in = {&c->match, c->query, c->parsed ? &c->doc : NULL,
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

static int check_auth(http_call *c)
{
    sl_auth_check(c->env->auth, api_key(c), &c->job.req, true, sl_wall_ms(), &c->auth);
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

static void on_body(void *arg)
{
    http_call *c = arg;
    if (nng_aio_result(c->body_aio) != 0) {
        respond_error(c, 400, "bad_request", "the body ended before its Content-Length", NULL);
        return;
    }
    proceed(c);
}

/* Check the headers of a body and start reading it. */
static void read_body(http_call *c)
{
    sl_slice te = header(c, "Transfer-Encoding");
    sl_slice cl = header(c, "Content-Length");
    if (te.len) {
        respond_error(c, 411, "bad_request", "send the body with a Content-Length", NULL);
        return;
    }
    uint64_t len = 0;
    if (cl.len && http_parse_uint(cl, &len) != 0) {
        respond_error(c, 400, "bad_request", "Content-Length is not a number", NULL);
        return;
    }
    if (len > c->env->max_request_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "a body of %" PRIu64 " bytes is over the limit of %" PRIu64,
                 len, c->env->max_request_bytes);
        respond_error(c, 413, "too_large", msg, NULL);
        return;
    }
    sl_slice ct = header(c, "Content-Type");
    if (len > 0 && (ct.len < 16 || strncasecmp(ct.ptr, "application/json", 16) != 0)) {
        respond_error(c, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json", "Content-Type");
        return;
    }
    if (len == 0) {
        proceed(c);
        return;
    }
    c->body = malloc(len);
    nng_iov iov = {c->body, len};
    if (!c->body || nng_aio_alloc(&c->body_aio, on_body, c) != 0 ||
        nng_aio_set_iov(c->body_aio, 1, &iov) != 0) {
        respond_error(c, 503, "no_memory", "out of memory for the body", NULL);
        return;
    }
    c->body_len = len;
    nng_http_conn_read_all(c->conn, c->body_aio);
}

/* ---- operational endpoints ------------------------------------------------------------ */

static void serve_healthz(http_call *c)
{
    if (jb_begin_object(&c->out) == SL_OK && jb_key_cstr(&c->out, "status") == SL_OK &&
        jb_cstr(&c->out, "ok") == SL_OK && jb_end_object(&c->out) == SL_OK)
        respond_json(c, 200, false);
    else
        respond_error(c, 503, "no_memory", "out of memory", NULL);
}

/* Ready: the store answers a read transaction and is not at its quota. */
static void serve_readyz(http_call *c)
{
    sl_txn t = {0};
    sl_store_stats st = {0};
    const char *state = "ok";
    if (sl_txn_begin_read(c->env->store, &t) != SL_OK)
        state = "storage_error";
    sl_txn_abort(&t);
    if (!strcmp(state, "ok") && sl_store_get_stats(c->env->store, &st) != SL_OK)
        state = "storage_error";
    if (!strcmp(state, "ok") && st.used_bytes >= st.quota_bytes)
        state = "storage_full";
    bool ok = !strcmp(state, "ok");
    if (jb_begin_object(&c->out) == SL_OK && jb_key_cstr(&c->out, "status") == SL_OK &&
        jb_cstr(&c->out, state) == SL_OK && jb_end_object(&c->out) == SL_OK)
        respond_json(c, ok ? 200 : 503, false);
    else
        respond_error(c, 503, "no_memory", "out of memory", NULL);
}

static void serve_metrics(http_call *c)
{
    sl_request stats = {.op = SL_OP_STATS};
    sl_auth_check(c->env->auth, api_key(c), &stats, true, sl_wall_ms(), &c->auth);
    if (c->auth.status != 0) {
        respond_error(c, c->auth.status, c->auth.code, c->auth.message, c->auth.field);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    if (sl_metrics_render(c->env->metrics, c->env->store, c->env->counters, sl_wall_ms(), &text,
                          &len) != SL_OK) {
        respond_error(c, 503, "storage_error", "metrics are not available now", NULL);
        return;
    }
    respond_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, false);
    free(text);
}

/* /healthz, /readyz, /metrics (GET only): true when served. */
static bool serve_operational(http_call *c, sl_slice method)
{
    void (*fn)(http_call *) = sl_slice_eq_cstr(c->path, "/healthz")   ? serve_healthz
                              : sl_slice_eq_cstr(c->path, "/readyz")  ? serve_readyz
                              : sl_slice_eq_cstr(c->path, "/metrics") ? serve_metrics
                                                                      : NULL;
    if (!fn)
        return false;
    if (!sl_slice_eq_cstr(method, "GET"))
        respond_error(c, 405, "method_not_allowed", "use GET", NULL);
    else
        fn(c);
    return true;
}

/* ---- the handler ---------------------------------------------------------------------- */

static void route_call(http_call *c)
{
    sl_slice method = sl_slice_of(nng_http_req_get_method(c->req));
    if (serve_operational(c, method))
        return;
    if (!http_route_find(method, c->path, &c->match)) {
        if (c->match.path_known)
            respond_error(c, 405, "method_not_allowed", "this path does not take that method",
                          NULL);
        else
            respond_error(c, 404, "not_found", "no such route (see proto/HTTP.md)", NULL);
        return;
    }
    if (sl_auth_enabled(c->env->auth) && api_key(c).len == 0) {
        respond_error(c, 401, "unauthorized", "an API key is required (X-API-Key or "
                                              "Authorization: Bearer)", NULL);
        return;
    }
    read_body(c);
}

static http_call *call_new(nng_aio *aio, const sl_http_env *env)
{
    http_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->env = env;
    c->aio = aio;
    c->req = nng_aio_get_input(aio, 0);
    c->conn = nng_aio_get_input(aio, 2);
    c->started_us = sl_mono_us();
    pthread_mutex_init(&c->mu, NULL);
    msgpack_sbuffer_init(&c->request);
    sl_reply_init(&c->job.reply);
    jb_init(&c->out);
    const char *uri = nng_http_req_get_uri(c->req);
    c->uri = strdup(uri ? uri : "/");
    if (!c->uri) {
        call_free(c);
        return NULL;
    }
    char *q = strchr(c->uri, '?');
    c->path = (sl_slice){c->uri, q ? (size_t)(q - c->uri) : strlen(c->uri)};
    c->query = q ? sl_slice_of(q + 1) : (sl_slice){NULL, 0};
    return c;
}

static void on_request(nng_aio *aio)
{
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    const sl_http_env *env = nng_http_handler_get_data(h);
    http_call *c = call_new(aio, env);
    if (!c) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    route_call(c);
}

/* ---- servers ------------------------------------------------------------------------------ */

static int serve_url(sl_http *h, const sl_http_env *env, const char *url, nng_tls_config *tls)
{
    nng_url *u = NULL;
    nng_http_server *srv = NULL;
    nng_http_handler *hd = NULL;
    bool https = strncmp(url, "https://", 8) == 0;
    int rv = nng_url_parse(&u, url);
    if (rv == 0)
        rv = nng_http_server_hold(&srv, u);
    nng_url_free(u);
    if (rv == 0 && https)
        rv = tls ? nng_http_server_set_tls(srv, tls) : NNG_EINVAL;
    if (rv == 0)
        rv = nng_http_handler_alloc(&hd, "/", on_request);
    if (rv == 0)
        rv = nng_http_handler_set_method(hd, NULL);
    if (rv == 0)
        rv = nng_http_handler_set_tree(hd);
    if (rv == 0)
        rv = nng_http_handler_collect_body(hd, false, 0);
    if (rv == 0)
        rv = nng_http_handler_set_data(hd, (void *)env, NULL);
    if (rv == 0 && (rv = nng_http_server_add_handler(srv, hd)) == 0)
        hd = NULL; /* the server owns it */
    if (rv == 0)
        rv = nng_http_server_start(srv);
    if (hd)
        nng_http_handler_free(hd);
    if (rv != 0) {
        sl_log_error("cannot serve HTTP on %s: %s%s", url, nng_strerror(rv),
                     https && !tls ? " (https needs --tls-cert and --tls-key)" : "");
        if (srv)
            nng_http_server_release(srv);
        return -1;
    }
    h->servers[h->n++] = srv;
    sl_log_info("HTTP API on %s", url);
    return 0;
}

int sl_http_start(const sl_http_env *env, const char (*urls)[512], size_t n,
                  nng_tls_config *tls, sl_http **out)
{
    sl_http *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i < n && i < sizeof h->servers / sizeof h->servers[0]; i++)
        if (serve_url(h, env, urls[i], tls) != 0) {
            sl_http_stop(h);
            return -1;
        }
    *out = h;
    return 0;
}

void sl_http_stop(sl_http *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        nng_http_server_stop(h->servers[i]);
        nng_http_server_release(h->servers[i]);
    }
    free(h);
}
