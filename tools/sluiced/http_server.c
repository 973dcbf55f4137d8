/* http_server.c: see http_server.h.
 *
 * The listeners: one nng stream listener per URL (tcp://, or tls+tcp://
 * for https), each accepting on its own aio and handing every stream to
 * the set of connections (http_conn.h), which serves HTTP/1.1 on it (not
 * nng's HTTP server: see http_conn.c). Start and stop are here; the stop
 * order is written down in http_server.h.
 */
#include "tools/sluiced/http_server.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/sluiced/http_conn.h"
#include "tools/sluiced/logger.h"

#define STOP_DRAIN_MS 5000         /* at stop, most time given to responses still being written */
#define ACCEPT_RETRY_MS 100        /* after an accept error (out of descriptors, ...) */

typedef struct http_listener http_listener;

/* One listening URL. */
struct http_listener {
    sl_http *h;
    nng_stream_listener *l;
    nng_aio *aio;                 /* accepts, or sleeps after an accept error */
    bool sleeping;
};

struct sl_http {
    http_listener listeners[SL_LISTEN_MAX];
    size_t n;
    http_conns *conns;                         /* owned: the open connections */
};

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
    http_conn_start(L->h->conns, nng_aio_get_output(L->aio, 0));
    nng_stream_listener_accept(L->l, L->aio);
}

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
    h->conns = http_conns_new(env);
    if (!h->conns) {
        free(h);
        return -1;
    }
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
    http_conns_drain(h->conns, STOP_DRAIN_MS);
    /* 3. Close every connection: what is in flight on each fails at once
     * and closes it; wait until all are gone (none waits on the writer). */
    http_conns_close(h->conns);
    /* 4. Free. */
    for (size_t i = 0; i < h->n; i++) {
        nng_aio_free(h->listeners[i].aio);
        nng_stream_listener_free(h->listeners[i].l);
    }
    http_conns_free(h->conns);
    free(h);
}
