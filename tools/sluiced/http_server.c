/* http_server.c: see http_server.h.
 *
 * HTTP/1.1 is served here, on nng streams (tcp://, or tls+tcp:// for
 * https), not through nng's HTTP server: nng 1.5.2's server canonifies
 * every request URI in place before any handler runs, and a URI whose path
 * ends in a valid %XX escape makes it read and write past the end of its
 * heap buffer (http_uri_canonify skips the terminating NUL). Any client
 * could corrupt the daemon's heap with one request line. Owning the
 * connection also lets every malformed request get an answer (400, 431,
 * 505) instead of a silent close, and bounds how long a client may take.
 *
 * A connection (http_conn) reads one request head at a time into its
 * buffer, parses it into a call (http_call), and does nothing else until
 * the call's response is written: at most one operation is in flight on a
 * connection at any moment, so its state needs no lock; each completion
 * hands it on to the next step. Pipelined bytes stay in the buffer for the
 * next request.
 */
#include "tools/sluiced/http_server.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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
#define HEAD_MAX 16384u            /* request line and headers; more: 431 */
#define HEADERS_MAX 64             /* header lines; more: 431 */
#define URI_MAX 8192u              /* request target; more: 414 */
#define HEAD_TIMEOUT_MS 30000      /* a request head must arrive whole within this */
#define IDLE_MS 30000              /* body bytes, or a next request, must come within this */
#define BODY_CHUNK 65536u          /* the body buffer starts here and doubles as data comes */
#define WRITE_MAX_MS 120000        /* a response the client stops taking for this long: closed */
#define STOP_DRAIN_MS 5000         /* at stop, most time given to responses still being written */
#define CONNS_MAX 8192             /* open connections; more are closed at once */
#define ACCEPT_RETRY_MS 100        /* after an accept error (out of descriptors, ...) */

typedef struct http_conn http_conn;
typedef struct http_listener http_listener;

/* One listening URL. */
struct http_listener {
    sl_http *h;
    nng_stream_listener *l;
    nng_aio *aio;                 /* accepts, or sleeps after an accept error */
    bool sleeping;
};

struct sl_http {
    const sl_http_env *env;                    /* borrowed (the server's) */
    http_listener listeners[SL_LISTEN_MAX];
    size_t n;
    pthread_mutex_t mu;                        /* guards conns, nconns, stopping */
    pthread_cond_t cv;                         /* nconns reached 0 */
    http_conn *conns;                          /* open connections */
    size_t nconns;
    bool stopping;
    atomic_size_t writing;                     /* responses being written */
};

typedef struct http_header {
    sl_slice name, value;
} http_header;

/* One request, from its parsed head to its response (then freed). */
typedef struct http_call {
    sl_job job;                  /* must stay first: the writer hands back &job */
    const sl_http_env *env;
    http_conn *conn;             /* the connection; it waits for this call */
    char *head;                  /* owned copy of the request head */
    sl_slice method, target;     /* into head */
    http_header headers[HEADERS_MAX];
    size_t nheaders;
    char *uri;                   /* owned copy of the target (NUL-terminated) */
    sl_slice path, query;        /* into uri */
    char *body;                  /* owned */
    size_t body_len;             /* bytes read so far */
    size_t body_cap;             /* bytes allocated */
    size_t body_want;            /* Content-Length */
    bool body_unread;            /* a body was announced and not (fully) read: the
                                    connection cannot carry another request */
    bool head_method;            /* HEAD: the response goes without its body */
    bool client_close;           /* the client asked to close (or speaks HTTP/1.0) */
    bool expect_continue;        /* Expect: 100-continue */
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
} http_call;

typedef enum conn_state {
    C_HEAD,                      /* reading a request head */
    C_BODY,                      /* reading the call's body */
    C_CONTINUE,                  /* sending "100 Continue" */
    C_RESPONSE,                  /* sending the call's response */
    C_BUSY                       /* the call runs (writer, long-poll): nothing in flight */
} conn_state;

struct http_conn {
    sl_http *h;
    http_conn *prev, *next;      /* in h->conns (h->mu) */
    pthread_mutex_t mu;          /* orders starting an operation against closing */
    bool closing;                /* sl_http_stop closed the stream (mu) */
    nng_stream *stream;          /* owned */
    nng_aio *rx, *tx;            /* owned */
    conn_state state;
    http_call *call;             /* the request being served, or NULL */
    uint64_t head_deadline_ms;   /* monotonic: the head must be whole by then */
    nng_iov iov[2];              /* what is left to send */
    unsigned niov;
    size_t have;                 /* bytes in buf */
    size_t scanned;              /* buf[0..scanned) holds no head end: not searched again */
    char buf[HEAD_MAX];          /* received, not yet consumed */
};

static void conn_next(http_conn *k);
static void conn_close(http_conn *k);
static void route_call(http_call *c);
static void proceed(http_call *c);
static void read_more(http_call *c);

static uint64_t mono_ms(void)
{
    return sl_mono_us() / 1000u;
}

/* ---- the call's lifetime --------------------------------------------------------- */

static void call_free(http_call *c)
{
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
    free(c->uri);
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

static void on_tx_done(http_conn *k, int rv);

/* Start a send (or a receive) on k's stream, unless sl_http_stop has closed
 * it: false then, and the caller goes on as if it failed with NNG_ECLOSED.
 * nng 1.5.2 queues an operation started on a closed TCP stream without
 * failing it, so without this a connection could wait forever at stop. */
static bool conn_submit(http_conn *k, bool send)
{
    pthread_mutex_lock(&k->mu);
    bool ok = !k->closing;
    if (ok && send)
        nng_stream_send(k->stream, k->tx); /* completes on a task thread, never here */
    else if (ok)
        nng_stream_recv(k->stream, k->rx);
    pthread_mutex_unlock(&k->mu);
    return ok;
}

/* Send iov[0..niov) on the connection; on_tx goes on when all is out. */
static void conn_send(http_conn *k, conn_state state, nng_duration timeout)
{
    k->state = state;
    nng_aio_set_timeout(k->tx, timeout);
    (void)nng_aio_set_iov(k->tx, k->niov, k->iov); /* at most two: cannot fail */
    if (!conn_submit(k, true))
        on_tx_done(k, NNG_ECLOSED);
}

/* Send status with body (content type ctype), then free the call and go
 * on with the connection. close_conn: close it afterwards (also done
 * whenever a body was left unread, or the client asked). */
static void respond_raw(http_call *c, int status, const char *ctype, const void *body,
                        size_t len, bool close_conn)
{
    http_conn *k = c->conn;
    observe(c, status);
    c->close_after = close_conn || c->body_unread || c->client_close;
    size_t cap = 1024, n = 0;
    char v[32];
    c->rhead = malloc(cap);
    c->rbody = len ? malloc(len) : NULL;
    if (!c->rhead || (len && !c->rbody)) {
        sl_log_error("out of memory for a %zu-byte HTTP response", len);
        call_free(c);
        k->call = NULL;
        conn_close(k);
        return;
    }
    if (len)
        memcpy(c->rbody, body, len);
    n = (size_t)snprintf(c->rhead, cap, "HTTP/1.1 %d %s\r\n", status, reason_of(status));
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
    k->iov[0] = (nng_iov){c->rhead, n};
    k->niov = 1;
    if (len && !c->head_method)
        k->iov[k->niov++] = (nng_iov){c->rbody, len};
    atomic_fetch_add(&k->h->writing, 1);
    conn_send(k, C_RESPONSE, WRITE_MAX_MS);
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

/* ---- connections ------------------------------------------------------------------- */

/* Close k and free it (and its call, if any). Nothing may be in flight on
 * it: called from its own completions, never concurrently with one. */
static void conn_close(http_conn *k)
{
    sl_http *h = k->h;
    pthread_mutex_lock(&h->mu);
    if (k->prev)
        k->prev->next = k->next;
    else
        h->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    h->nconns--;
    if (h->nconns == 0)
        pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (k->call)
        call_free(k->call);
    nng_stream_close(k->stream);
    nng_stream_free(k->stream); /* nng reaps it: safe from a callback */
    nng_aio_reap(k->rx);        /* we may be inside either callback */
    nng_aio_reap(k->tx);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* Before parsing a head: a bare answer with no call behind it. */
static void conn_reject(http_conn *k, int status, const char *message)
{
    http_call *c = calloc(1, sizeof *c);
    if (!c) {
        conn_close(k);
        return;
    }
    c->env = k->h->env;
    c->conn = k;
    c->started_us = sl_mono_us();
    c->client_close = true;
    msgpack_sbuffer_init(&c->request);
    sl_reply_init(&c->job.reply);
    jb_init(&c->out);
    k->call = c;
    respond_error(c, status, "bad_request", message, NULL);
}

/* The response is out (or could not be sent). */
static void on_tx_done(http_conn *k, int rv)
{
    http_call *c = k->call;
    if (k->state == C_CONTINUE) {
        if (rv != 0) {
            conn_close(k);
            return;
        }
        read_more(c);
        return;
    }
    bool close = rv != 0 || c->close_after;
    /* h may be freed once writing is 0 and every connection is closed:
     * this connection is still open here, so h lives. */
    atomic_fetch_sub(&k->h->writing, 1);
    call_free(c);
    k->call = NULL;
    if (close)
        conn_close(k);
    else
        conn_next(k);
}

static void on_tx(void *arg)
{
    http_conn *k = arg;
    int rv = nng_aio_result(k->tx);
    if (rv == 0) {
        /* a send may take only part: go on with the rest */
        size_t done = nng_aio_count(k->tx);
        unsigned i = 0;
        while (i < k->niov && done >= k->iov[i].iov_len)
            done -= k->iov[i++].iov_len;
        if (i < k->niov) {
            memmove(k->iov, k->iov + i, (k->niov - i) * sizeof k->iov[0]);
            k->niov -= i;
            k->iov[0].iov_buf = (char *)k->iov[0].iov_buf + done;
            k->iov[0].iov_len -= done;
            conn_send(k, k->state, WRITE_MAX_MS);
            return;
        }
    }
    on_tx_done(k, rv);
}

/* Is c a token character (RFC 9110: method and header names)? */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static sl_slice trim_ows(sl_slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t'))
        s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* The headers whose duplicates are refused: each says one thing. */
static bool single_valued(sl_slice name)
{
    static const char *const names[] = {"Content-Length", "Transfer-Encoding", "Content-Type",
                                        "Host", "X-API-Key", "Authorization",
                                        "Idempotency-Key", "Expect"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name.len == strlen(names[i]) && strncasecmp(name.ptr, names[i], name.len) == 0)
            return true;
    return false;
}

static sl_slice call_header(const http_call *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->nheaders; i++)
        if (c->headers[i].name.len == n && strncasecmp(c->headers[i].name.ptr, name, n) == 0)
            return c->headers[i].value;
    return (sl_slice){NULL, 0};
}

static bool has_header(const http_call *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->nheaders; i++)
        if (c->headers[i].name.len == n && strncasecmp(c->headers[i].name.ptr, name, n) == 0)
            return true;
    return false;
}

/* Does the comma-separated header value list hold token (any case)? */
static bool list_has(sl_slice v, const char *token)
{
    size_t n = strlen(token), i = 0;
    while (i < v.len) {
        size_t end = i;
        while (end < v.len && v.ptr[end] != ',')
            end++;
        sl_slice item = trim_ows((sl_slice){v.ptr + i, end - i});
        if (item.len == n && strncasecmp(item.ptr, token, n) == 0)
            return true;
        i = end + 1;
    }
    return false;
}

/* Parse the head in c->head (len bytes, ending with the blank line).
 * 0, or an HTTP status to refuse it with (*why says why). */
static int parse_head(http_call *c, size_t len, const char **why)
{
    char *p = c->head, *end = c->head + len - 2; /* at the final CRLF */
    char *eol = memchr(p, '\r', (size_t)(end - p) + 1);
    if (!eol || eol[1] != '\n') {
        *why = "malformed request line";
        return 400;
    }
    /* request line: method SP target SP HTTP/1.x */
    char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1))) {
        *why = "malformed request line (method SP target SP version)";
        return 400;
    }
    c->method = (sl_slice){p, (size_t)(sp1 - p)};
    c->target = (sl_slice){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    sl_slice version = {sp2 + 1, (size_t)(eol - sp2 - 1)};
    for (size_t i = 0; i < c->method.len; i++)
        if (!is_tchar((unsigned char)c->method.ptr[i])) {
            *why = "malformed method";
            return 400;
        }
    for (size_t i = 0; i < c->target.len; i++)
        if ((unsigned char)c->target.ptr[i] <= 0x20 || (unsigned char)c->target.ptr[i] >= 0x7f) {
            *why = "malformed request target";
            return 400;
        }
    if (c->target.len > URI_MAX) {
        *why = "the request target is too long";
        return 414;
    }
    if (version.len != 8 || memcmp(version.ptr, "HTTP/", 5) != 0 || version.ptr[6] != '.' ||
        version.ptr[5] < '0' || version.ptr[5] > '9' || version.ptr[7] < '0' ||
        version.ptr[7] > '9') {
        *why = "malformed HTTP version";
        return 400;
    }
    if (version.ptr[5] != '1') {
        *why = "only HTTP/1.x is served";
        return 505;
    }
    bool http11 = version.ptr[7] >= '1';
    /* header lines: name ":" OWS value OWS */
    for (p = eol + 2; p < end;) {
        eol = memchr(p, '\r', (size_t)(end - p) + 1);
        if (!eol || eol[1] != '\n') {
            *why = "malformed header line";
            return 400;
        }
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p) {
            *why = "malformed header line (name: value)";
            return 400;
        }
        sl_slice name = {p, (size_t)(colon - p)};
        for (size_t i = 0; i < name.len; i++)
            if (!is_tchar((unsigned char)name.ptr[i])) {
                *why = "malformed header name (no space before ':', no folding)";
                return 400;
            }
        sl_slice value = trim_ows((sl_slice){colon + 1, (size_t)(eol - colon - 1)});
        for (size_t i = 0; i < value.len; i++) {
            unsigned char ch = (unsigned char)value.ptr[i];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                *why = "a control character in a header value";
                return 400;
            }
        }
        if (c->nheaders == HEADERS_MAX) {
            *why = "too many header lines";
            return 431;
        }
        if (single_valued(name)) {
            for (size_t i = 0; i < c->nheaders; i++)
                if (c->headers[i].name.len == name.len &&
                    strncasecmp(c->headers[i].name.ptr, name.ptr, name.len) == 0) {
                    *why = "a header that takes one value is given twice";
                    return 400;
                }
        }
        c->headers[c->nheaders++] = (http_header){name, value};
        p = eol + 2;
    }
    if (http11 && !has_header(c, "Host")) {
        *why = "HTTP/1.1 needs a Host header";
        return 400;
    }
    sl_slice conn = call_header(c, "Connection");
    c->client_close = !http11 || list_has(conn, "close");
    c->expect_continue = http11 && list_has(call_header(c, "Expect"), "100-continue");
    return 0;
}

/* Does the request announce a body (which must then be read, or the
 * connection closed: its bytes would be taken for the next request)? */
static bool announces_body(const http_call *c)
{
    sl_slice cl = call_header(c, "Content-Length");
    if (has_header(c, "Transfer-Encoding"))
        return true;
    for (size_t i = 0; i < cl.len; i++)
        if (cl.ptr[i] != '0')
            return true; /* not a plain 0: unread or unreadable */
    return false;
}

/* The target's path and query, into an owned copy (absolute-form
 * "http://host/path" is taken as its path). */
static int split_target(http_call *c)
{
    sl_slice t = c->target;
    if (t.len > 7 && (strncasecmp(t.ptr, "http://", 7) == 0 || strncasecmp(t.ptr, "https://", 8) == 0)) {
        size_t skip = t.ptr[4] == ':' ? 7 : 8;
        const char *slash = memchr(t.ptr + skip, '/', t.len - skip);
        t = slash ? (sl_slice){slash, t.len - (size_t)(slash - t.ptr)} : (sl_slice){"/", 1};
    }
    c->uri = malloc(t.len + 1);
    if (!c->uri)
        return -1;
    memcpy(c->uri, t.ptr, t.len);
    c->uri[t.len] = '\0';
    char *q = strchr(c->uri, '?');
    c->path = (sl_slice){c->uri, q ? (size_t)(q - c->uri) : t.len};
    c->query = q ? sl_slice_of(q + 1) : (sl_slice){NULL, 0};
    return 0;
}

/* A whole head (len bytes) is at the start of k->buf: make its call. */
static void start_call(http_conn *k, size_t len)
{
    http_call *c = calloc(1, sizeof *c);
    char *head = malloc(len);
    if (!c || !head) {
        free(c);
        free(head);
        sl_log_error("out of memory for an HTTP request");
        conn_close(k);
        return;
    }
    memcpy(head, k->buf, len);
    k->have -= len;
    memmove(k->buf, k->buf + len, k->have);
    c->env = k->h->env;
    c->conn = k;
    c->head = head;
    c->started_us = sl_mono_us();
    msgpack_sbuffer_init(&c->request);
    sl_reply_init(&c->job.reply);
    jb_init(&c->out);
    k->call = c;
    k->state = C_BUSY;
    const char *why = "";
    int status = parse_head(c, len, &why);
    if (status == 0 && split_target(c) != 0) {
        status = 503;
        why = "out of memory";
    }
    if (status != 0) {
        c->client_close = true; /* what follows cannot be trusted */
        respond_error(c, status, status == 503 ? "no_memory" : "bad_request", why, NULL);
        return;
    }
    c->body_unread = announces_body(c);
    c->head_method = sl_slice_eq_cstr(c->method, "HEAD");
    route_call(c);
}

/* Where the blank line ending a head is in buf[0..have): its end, or 0.
 * Each byte is searched once however the head trickles in. */
static size_t head_end(http_conn *k)
{
    for (size_t i = k->scanned > 3 ? k->scanned : 3; i < k->have; i++)
        if (k->buf[i] == '\n' && k->buf[i - 1] == '\r' && k->buf[i - 2] == '\n' &&
            k->buf[i - 3] == '\r') {
            k->scanned = 0; /* the buffer is about to shift */
            return i + 1;
        }
    k->scanned = k->have;
    return 0;
}

/* Read (more of) a request head, or start the one already buffered. */
static void conn_next(http_conn *k)
{
    /* blank lines between requests are ignored (RFC 9112) */
    size_t skip = 0;
    while (skip + 1 < k->have && k->buf[skip] == '\r' && k->buf[skip + 1] == '\n')
        skip += 2;
    if (skip) {
        k->have -= skip;
        memmove(k->buf, k->buf + skip, k->have);
        k->scanned = 0;
    }
    size_t len = head_end(k);
    if (len) {
        start_call(k, len);
        return;
    }
    if (k->have == sizeof k->buf) {
        conn_reject(k, 431, "the request line and headers are over 16 KiB");
        return;
    }
    if (k->state != C_HEAD) /* a new head: from now on, it has HEAD_TIMEOUT_MS */
        k->head_deadline_ms = mono_ms() + HEAD_TIMEOUT_MS;
    k->state = C_HEAD;
    uint64_t now = mono_ms();
    if (now >= k->head_deadline_ms) {
        conn_close(k); /* too slow; nobody is owed an answer */
        return;
    }
    nng_iov iov = {k->buf + k->have, sizeof k->buf - k->have};
    nng_aio_set_iov(k->rx, 1, &iov);
    nng_aio_set_timeout(k->rx, (nng_duration)(k->head_deadline_ms - now));
    if (!conn_submit(k, false))
        conn_close(k);
}

static void on_body(http_call *c, int rv, size_t count);

static void on_rx(void *arg)
{
    http_conn *k = arg;
    int rv = nng_aio_result(k->rx);
    size_t count = rv == 0 ? nng_aio_count(k->rx) : 0;
    if (k->state == C_BODY) {
        on_body(k->call, rv, count);
        return;
    }
    if (rv != 0 || count == 0) {
        /* The client stopped sending (or took too long) in the middle of a
         * head: tell it so, if it still listens. Between requests, or when
         * we closed it ourselves (stop), there is nobody to answer. */
        if (k->have > 0 && rv != NNG_ECLOSED)
            conn_reject(k, 400, rv == NNG_ETIMEDOUT ? "the request head took too long"
                                                    : "the request head ended early");
        else
            conn_close(k);
        return;
    }
    k->have += count;
    conn_next(k);
}

/* A new connection (accepted): register it and read its first request. */
static void conn_start(sl_http *h, nng_stream *s)
{
    http_conn *k = calloc(1, sizeof *k);
    if (!k || nng_aio_alloc(&k->rx, on_rx, k) != 0 || nng_aio_alloc(&k->tx, on_tx, k) != 0 ||
        pthread_mutex_init(&k->mu, NULL) != 0) {
        if (k) {
            nng_aio_free(k->rx);
            nng_aio_free(k->tx);
            free(k);
        }
        nng_stream_free(s);
        return;
    }
    k->h = h;
    k->stream = s;
    k->state = C_BUSY;
    pthread_mutex_lock(&h->mu);
    bool refuse = h->stopping || h->nconns >= CONNS_MAX;
    if (!refuse) {
        k->next = h->conns;
        if (h->conns)
            h->conns->prev = k;
        h->conns = k;
        h->nconns++;
    }
    pthread_mutex_unlock(&h->mu);
    if (refuse) {
        nng_stream_free(s);
        nng_aio_free(k->rx);
        nng_aio_free(k->tx);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return;
    }
    conn_next(k);
}

static void on_accept(void *arg)
{
    http_listener *L = arg;
    int rv = nng_aio_result(L->aio);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    if (L->sleeping) {
        L->sleeping = false;
        nng_stream_listener_accept(L->l, L->aio);
        return;
    }
    if (rv != 0) {
        sl_log_warn("HTTP accept failed: %s", nng_strerror(rv));
        L->sleeping = true;
        nng_sleep_aio(ACCEPT_RETRY_MS, L->aio);
        return;
    }
    conn_start(L->h, nng_aio_get_output(L->aio, 0));
    nng_stream_listener_accept(L->l, L->aio);
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
    /* The writer owns the job until it calls on_job_finish: at the latest
     * when it stops (before sl_http_stop), with what it has. */
    sl_writer_submit(c->env->writer, &c->job);
}

/* ---- from HTTP to the request ------------------------------------------------------- */

static sl_slice header(const http_call *c, const char *name)
{
    return call_header(c, name);
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
    int given = http_query_get(c->query, "page", &v);
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
    given = http_query_get(c->query, "per_page", &v);
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

static void on_body(http_call *c, int rv, size_t count)
{
    http_conn *k = c->conn;
    if (rv == NNG_ETIMEDOUT || rv == NNG_ECLOSED) {
        /* stalled (nothing for IDLE_MS), or closed by us at stop */
        observe(c, 400);
        conn_close(k); /* frees c */
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
    http_conn *k = c->conn;
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
    k->state = C_BODY;
    nng_iov iov = {c->body + c->body_len, c->body_cap - c->body_len};
    (void)nng_aio_set_iov(k->rx, 1, &iov);
    nng_aio_set_timeout(k->rx, IDLE_MS);
    if (!conn_submit(k, false))
        on_body(c, NNG_ECLOSED, 0);
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

/* Check the headers of a body and start reading it: first what came with
 * the head, then from the connection (after "100 Continue" when the client
 * waits for it). */
static void read_body(http_call *c)
{
    http_conn *k = c->conn;
    sl_slice cl = header(c, "Content-Length");
    if (has_header(c, "Transfer-Encoding")) {
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
    if (len > 0 && !is_json_type(header(c, "Content-Type"))) {
        respond_error(c, 415, "unsupported_media_type",
                      "send the body as Content-Type: application/json", "Content-Type");
        return;
    }
    if (len == 0) {
        proceed(c);
        return;
    }
    c->body_want = (size_t)len;
    c->body_cap = c->body_want < BODY_CHUNK ? c->body_want : BODY_CHUNK; /* >= HEAD_MAX */
    c->body = malloc(c->body_cap);
    if (!c->body) {
        respond_error(c, 503, "no_memory", "out of memory for the body", NULL);
        return;
    }
    size_t take = k->have < c->body_want ? k->have : c->body_want;
    memcpy(c->body, k->buf, take);
    k->have -= take;
    memmove(k->buf, k->buf + take, k->have);
    k->scanned = 0;
    c->body_len = take;
    if (c->body_len == c->body_want) {
        c->body_unread = false;
        proceed(c);
        return;
    }
    if (c->expect_continue && take == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        k->iov[0] = (nng_iov){(void *)cont, sizeof cont - 1};
        k->niov = 1;
        conn_send(k, C_CONTINUE, WRITE_MAX_MS);
        return;
    }
    read_more(c);
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
    sl_auth_check_op(c->env->auth, api_key(c), SL_OP_STATS, true, sl_wall_ms(), &c->auth);
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

/* /healthz, /readyz, /metrics (GET, or HEAD): true when served. */
static bool serve_operational(http_call *c, sl_slice method)
{
    void (*fn)(http_call *) = sl_slice_eq_cstr(c->path, "/healthz")   ? serve_healthz
                              : sl_slice_eq_cstr(c->path, "/readyz")  ? serve_readyz
                              : sl_slice_eq_cstr(c->path, "/metrics") ? serve_metrics
                                                                      : NULL;
    if (!fn)
        return false;
    if (!sl_slice_eq_cstr(method, "GET") && !c->head_method)
        respond_error(c, 405, "method_not_allowed", "use GET", NULL);
    else
        fn(c);
    return true;
}


/* ---- the handler ---------------------------------------------------------------------- */

static void route_call(http_call *c)
{
    sl_slice method = c->method;
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
    if (check_key_first(c) != 0)
        return;
    read_body(c);
}

/* ---- listeners ----------------------------------------------------------------------------- */

/* The stream URL for an http:// or https:// one: tcp:// or tls+tcp://,
 * host and port only (a path in the URL is ignored, as it always was). */
static int stream_url(const char *url, char *out, size_t cap, bool *https)
{
    nng_url *u = NULL;
    int rv = nng_url_parse(&u, url);
    if (rv != 0)
        return rv;
    *https = strcmp(u->u_scheme, "https") == 0;
    if (!*https && strcmp(u->u_scheme, "http") != 0) {
        nng_url_free(u);
        return NNG_EADDRINVAL;
    }
    bool v6 = strchr(u->u_hostname, ':') != NULL;
    int n = snprintf(out, cap, "%s://%s%s%s:%s", *https ? "tls+tcp" : "tcp", v6 ? "[" : "",
                     u->u_hostname, v6 ? "]" : "", u->u_port);
    nng_url_free(u);
    return n > 0 && (size_t)n < cap ? 0 : NNG_EINVAL;
}

static int serve_url(sl_http *h, const char *url, nng_tls_config *tls)
{
    http_listener *L = &h->listeners[h->n];
    char su[600];
    bool https = false;
    int rv = stream_url(url, su, sizeof su, &https);
    if (rv == 0)
        rv = nng_stream_listener_alloc(&L->l, su);
    if (rv == 0 && https)
        rv = tls ? nng_stream_listener_set_ptr(L->l, NNG_OPT_TLS_CONFIG, tls) : NNG_EINVAL;
    if (rv == 0)
        rv = nng_stream_listener_listen(L->l);
    if (rv == 0)
        rv = nng_aio_alloc(&L->aio, on_accept, L);
    if (rv != 0) {
        sl_log_error("cannot serve HTTP on %s: %s%s", url, nng_strerror(rv),
                     https && !tls ? " (https needs --tls-cert and --tls-key)" : "");
        if (L->l)
            nng_stream_listener_free(L->l);
        memset(L, 0, sizeof *L);
        return -1;
    }
    L->h = h;
    h->n++;
    nng_stream_listener_accept(L->l, L->aio);
    sl_log_info("HTTP API on %s", url);
    return 0;
}

int sl_http_start(const sl_http_env *env, const char (*urls)[512], size_t n,
                  nng_tls_config *tls, sl_http **out)
{
    sl_http *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->env = env;
    atomic_init(&h->writing, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&h->mu, NULL) != 0 || pthread_cond_init(&h->cv, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(h);
        return -1;
    }
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < n && i < SL_LISTEN_MAX; i++)
        if (serve_url(h, urls[i], tls) != 0) {
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
    /* 1. No new connection. */
    for (size_t i = 0; i < h->n; i++) {
        nng_stream_listener_close(h->listeners[i].l);
        nng_aio_stop(h->listeners[i].aio);
    }
    /* 2. Let the responses being written go out (among them the long-polls
     * the writer, stopped before us, has just answered). Bounded: a client
     * that does not read its answer does not hold the daemon up. */
    uint64_t deadline = sl_mono_us() + (uint64_t)STOP_DRAIN_MS * 1000u;
    while (atomic_load(&h->writing) > 0 && sl_mono_us() < deadline) {
        struct timespec pause = {0, 2000000}; /* 2 ms */
        nanosleep(&pause, NULL);
    }
    /* 3. Close every connection: what is in flight on each fails at once
     * and closes it; wait until all are gone (none waits on the writer). */
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    for (http_conn *k = h->conns; k; k = k->next) {
        pthread_mutex_lock(&k->mu);
        k->closing = true;
        nng_stream_close(k->stream); /* fails what is in flight on it */
        pthread_mutex_unlock(&k->mu);
    }
    while (h->nconns > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 5;
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) != 0 && h->nconns > 0)
            sl_log_warn("waiting for %zu HTTP connections to close", h->nconns);
    }
    pthread_mutex_unlock(&h->mu);
    /* 4. Free. */
    for (size_t i = 0; i < h->n; i++) {
        nng_aio_free(h->listeners[i].aio);
        nng_stream_listener_free(h->listeners[i].l);
    }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
