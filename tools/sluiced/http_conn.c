/* http_conn.c: see http_conn.h.
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
 * buffer, parses it and hands it to a call (http_call.h), and does nothing
 * else until the call's response is written: at most one operation is in
 * flight on a connection at any moment, so its state needs no lock; each
 * completion hands it on to the next step. Pipelined bytes stay in the
 * buffer for the next request.
 */
#include "tools/sluiced/http_conn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tools/sluiced/clock.h"
#include "tools/sluiced/http_call.h"
#include "tools/sluiced/http_head.h"
#include "tools/sluiced/logger.h"

#define HEAD_TIMEOUT_MS 30000      /* a request head must arrive whole within this */
#define IDLE_MS 30000              /* body bytes, or a next request, must come within this */
#define WRITE_MAX_MS 120000        /* a response the client stops taking for this long: closed */
#define CONNS_MAX 8192             /* open connections; more are closed at once */

typedef struct http_conn http_conn;

struct http_conns {
    const sl_http_env *env;                    /* borrowed (the server's) */
    pthread_mutex_t mu;                        /* guards conns, nconns, stopping */
    pthread_cond_t cv;                         /* nconns reached 0 */
    http_conn *conns;                          /* open connections */
    size_t nconns;
    bool stopping;
    atomic_size_t writing;                     /* responses being written */
};

typedef enum conn_state {
    C_HEAD,                      /* reading a request head */
    C_BODY,                      /* reading the call's body */
    C_CONTINUE,                  /* sending "100 Continue" */
    C_RESPONSE,                  /* sending the call's response */
    C_BUSY                       /* the call runs (writer, long-poll): nothing in flight */
} conn_state;

struct http_conn {
    http_conns *set;
    http_conn *prev, *next;      /* in set->conns (set->mu) */
    pthread_mutex_t mu;          /* orders starting an operation against closing */
    bool closing;                /* http_conns_close closed the stream (mu) */
    nng_stream *stream;          /* owned */
    nng_aio *rx, *tx;            /* owned */
    conn_state state;
    http_call *call;             /* the request being served, or NULL */
    bool close_after;            /* close once the call's response is out */
    char *body_dst;              /* after "100 Continue": where the body goes */
    size_t body_cap;             /* ... and how much of it */
    uint64_t head_deadline_ms;   /* monotonic: the head must be whole by then */
    nng_iov iov[2];              /* what is left to send */
    unsigned niov;
    size_t have;                 /* bytes in buf */
    size_t scanned;              /* buf[0..scanned) holds no head end: not searched again */
    char buf[HTTP_HEAD_MAX];     /* received, not yet consumed */
};

static void conn_next(http_conn *k);
static void conn_close(http_conn *k);
static void on_tx_done(http_conn *k, int rv);

static uint64_t mono_ms(void)
{
    return sl_mono_us() / 1000u;
}

/* ---- sending and receiving --------------------------------------------------------- */

/* Start a send (or a receive) on k's stream, unless http_conns_close has closed
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

/* ---- the call's link (http_call.h) ------------------------------------------------ */

static size_t link_take(void *arg, char *dst, size_t cap)
{
    http_conn *k = arg;
    size_t take = k->have < cap ? k->have : cap;
    memcpy(dst, k->buf, take);
    k->have -= take;
    memmove(k->buf, k->buf + take, k->have);
    k->scanned = 0;
    return take;
}

static void link_recv(void *arg, char *dst, size_t cap, bool continue_first)
{
    http_conn *k = arg;
    if (continue_first) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        k->body_dst = dst;
        k->body_cap = cap;
        k->iov[0] = (nng_iov){(void *)cont, sizeof cont - 1};
        k->niov = 1;
        conn_send(k, C_CONTINUE, WRITE_MAX_MS);
        return;
    }
    k->state = C_BODY;
    nng_iov iov = {dst, cap};
    (void)nng_aio_set_iov(k->rx, 1, &iov);
    nng_aio_set_timeout(k->rx, IDLE_MS);
    if (!conn_submit(k, false))
        http_call_on_body(k->call, NNG_ECLOSED, 0);
}

static void link_send(void *arg, char *head, size_t head_len, char *body, size_t body_len,
                      bool close_after)
{
    http_conn *k = arg;
    k->close_after = close_after;
    k->iov[0] = (nng_iov){head, head_len};
    k->niov = 1;
    if (body_len)
        k->iov[k->niov++] = (nng_iov){body, body_len};
    atomic_fetch_add(&k->set->writing, 1);
    conn_send(k, C_RESPONSE, WRITE_MAX_MS);
}

static void link_close(void *arg)
{
    conn_close(arg);
}

/* A new call on k, which waits for it from now on (NULL: out of memory). */
static http_call *conn_call(http_conn *k)
{
    http_link link = {k, link_take, link_recv, link_send, link_close};
    http_call *c = http_call_new(k->set->env, &link);
    k->call = c;
    k->state = C_BUSY;
    return c;
}

/* ---- connections ------------------------------------------------------------------- */

/* Close k and free it (and its call, if any). Nothing may be in flight on
 * it: called from its own completions, never concurrently with one. */
static void conn_close(http_conn *k)
{
    http_conns *h = k->set;
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
        http_call_free(k->call);
    nng_stream_close(k->stream);
    nng_stream_free(k->stream); /* nng reaps it: safe from a callback */
    nng_aio_reap(k->rx);        /* we may be inside either callback */
    nng_aio_reap(k->tx);
    /* The operation whose completion brought us here may have been started
     * by conn_submit on another thread that still holds mu (it unlocks after
     * nng_stream_send/recv returns): wait for it to let go, or its unlock
     * would write into freed memory. */
    pthread_mutex_lock(&k->mu);
    pthread_mutex_unlock(&k->mu);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* Before a head is whole: answer status through a call with no head
 * (http_call_refuse), then close. */
static void conn_reject(http_conn *k, int status, const char *message)
{
    http_call *c = conn_call(k);
    if (!c) {
        conn_close(k);
        return;
    }
    http_call_refuse(c, status, "bad_request", message);
}

/* The response is out (or could not be sent). */
static void on_tx_done(http_conn *k, int rv)
{
    if (k->state == C_CONTINUE) {
        if (rv != 0) {
            conn_close(k);
            return;
        }
        link_recv(k, k->body_dst, k->body_cap, false);
        return;
    }
    bool close = rv != 0 || k->close_after;
    /* the set may be freed once writing is 0 and every connection is
     * closed: this connection is still open here, so it lives. */
    atomic_fetch_sub(&k->set->writing, 1);
    http_call_free(k->call);
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

/* A whole head (len bytes) is at the start of k->buf: hand it to a call. */
static void start_call(http_conn *k, size_t len)
{
    http_head *head = calloc(1, sizeof *head);
    char *raw = malloc(len);
    http_call *c = head && raw ? conn_call(k) : NULL;
    if (!c) {
        free(head);
        free(raw);
        k->call = NULL;
        sl_log_error("out of memory for an HTTP request");
        conn_close(k);
        return;
    }
    memcpy(raw, k->buf, len);
    k->have -= len;
    memmove(k->buf, k->buf + len, k->have);
    const char *why = "";
    int status = http_head_parse(head, raw, len, &why);
    if (status != 0) {
        http_head_free(head);
        free(head);
        http_call_refuse(c, status, status == 503 ? "no_memory" : "bad_request", why);
        return;
    }
    http_call_begin(c, head);
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

static void on_rx(void *arg)
{
    http_conn *k = arg;
    int rv = nng_aio_result(k->rx);
    size_t count = rv == 0 ? nng_aio_count(k->rx) : 0;
    if (k->state == C_BODY) {
        http_call_on_body(k->call, rv, count);
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
void http_conn_start(http_conns *h, nng_stream *s)
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
    k->set = h;
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

/* ---- the set ------------------------------------------------------------------------ */

http_conns *http_conns_new(const sl_http_env *env)
{
    http_conns *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->env = env;
    atomic_init(&h->writing, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&h->mu, NULL) != 0 || pthread_cond_init(&h->cv, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        free(h);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    return h;
}

void http_conns_drain(http_conns *h, unsigned ms)
{
    uint64_t deadline = sl_mono_us() + (uint64_t)ms * 1000u;
    while (atomic_load(&h->writing) > 0 && sl_mono_us() < deadline) {
        struct timespec pause = {0, 2000000}; /* 2 ms */
        nanosleep(&pause, NULL);
    }
}

void http_conns_close(http_conns *h)
{
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
}

void http_conns_free(http_conns *h)
{
    if (!h)
        return;
    http_conns_close(h);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
