/* sp_conn.c: see sp_conn.h. */
#include "sp_conn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "logger.h"

#define HANDSHAKE_MS 10000 /* a peer has this long to say it is an SP REQ socket */
#define BODY_MS 30000      /* a request begun must go on arriving within this */
#define SEND_MS 30000      /* a reply must be taken within this */
#define WAIT_CALL_MS 10    /* every call is taken: look again after this */

#define RX_BUF_BYTES 4096  /* a connection's receive buffer */

typedef enum rx_state {
    RX_HANDSHAKE, /* the peer's handshake */
    RX_NEXT,      /* between requests */
    RX_HEAD,      /* a frame head */
    RX_CALL,      /* a call for the request (RX_WAIT_CALL: none free, sleeping) */
    RX_WAIT_CALL,
    RX_BODY,      /* the rest of the request, straight into its call */
    RX_REQUEST    /* the request is whole */
} rx_state;
typedef enum tx_state { TX_HANDSHAKE, TX_REPLY } tx_state;

struct sl_sp_conn {
    const sl_sp_conn_env *env;   /* borrowed */
    nng_stream *stream;          /* owned */
    nng_aio *rx, *tx;            /* owned; callbacks on_rx, on_tx */
    sp_framing framing;
    bool trusted;
    sl_sp_conn_links links;      /* the server's */

    /* The receive chain's own (one callback at a time). */
    rx_state rx_state;
    sl_sp_call *reading;         /* the call a request is being read into */
    uint64_t rx_len;             /* the length in its frame head */
    uint8_t rx_buf[RX_BUF_BYTES];
    size_t rx_have;              /* bytes in rx_buf */
    size_t rx_off;               /* of which parsed */
    uint8_t *rx_at;              /* where the current receive goes */
    size_t rx_left;              /* a body's bytes still to come */

    /* The send chain's own (whoever set tx_busy). */
    tx_state tx_state;
    uint8_t our_handshake[SP_HANDSHAKE_LEN];
    nng_iov tx_iov[2];
    unsigned tx_n;

    /* Shared by both chains and the writer thread. */
    pthread_mutex_t mu;
    unsigned inflight;           /* requests handed to the handler, reply not yet sent */
    unsigned queued;             /* of those, finished ones whose replies wait to go out */
    bool rx_busy;                /* the receive chain is running (an rx aio is pending
                                    or its callback is at work) */
    bool tx_busy;                /* the send chain is running; the queue's head is
                                    what it sends */
    bool rx_paused;              /* reading waits for the peer to take replies */
    bool closing;
    bool dead;                   /* handed to on_dead */
    sl_sp_call *q_head, *q_tail; /* finished requests whose replies go out in turn */
};

sl_sp_conn_links *sl_sp_conn_links_of(sl_sp_conn *c)
{
    return &c->links;
}

/* ---- ending ----------------------------------------------------------------
 * Everything below that ends something checks, under mu, whether nothing
 * refers to the connection any more; the one that finds so hands it back,
 * as its last act. */

static bool now_dead(sl_sp_conn *c)
{
    if (!c->closing || c->rx_busy || c->tx_busy || c->inflight > 0 || c->dead)
        return false;
    c->dead = true;
    return true;
}

static void hand_back(sl_sp_conn *c, bool dead)
{
    if (dead)
        c->env->on_dead(c->env->on_dead_arg, c);
}

/* Close the stream: pending receives and sends end with an error. Under mu,
 * as every receive and send is posted: in nng 1.5.2 one posted after the
 * close would never end (tcp_doread returns early on a closed connection). */
static void close_locked(sl_sp_conn *c)
{
    c->closing = true;
    nng_stream_close(c->stream);
}

void sl_sp_conn_close(sl_sp_conn *c)
{
    pthread_mutex_lock(&c->mu);
    close_locked(c);
    bool dead = now_dead(c);
    pthread_mutex_unlock(&c->mu);
    hand_back(c, dead);
}

/* The receive chain stops for good (why: for the log). */
static void rx_end(sl_sp_conn *c, const char *why, int rv)
{
    if (why)
        sl_log_debug("connection closed: %s%s%s", why, rv ? ": " : "", rv ? nng_strerror(rv) : "");
    if (c->reading) {
        sl_sp_pool_give(c->env->pool, c->reading);
        c->reading = NULL;
    }
    pthread_mutex_lock(&c->mu);
    c->rx_busy = false;
    close_locked(c);
    bool dead = now_dead(c);
    pthread_mutex_unlock(&c->mu);
    hand_back(c, dead);
}

/* ---- the send chain ------------------------------------------------------ */

static void tx_end(sl_sp_conn *c, int rv);

static void tx_post(sl_sp_conn *c)
{
    pthread_mutex_lock(&c->mu);
    int rv = c->closing ? NNG_ECLOSED : nng_aio_set_iov(c->tx, c->tx_n, c->tx_iov);
    if (rv == 0) {
        nng_aio_set_timeout(c->tx, SEND_MS);
        nng_stream_send(c->stream, c->tx);
    }
    pthread_mutex_unlock(&c->mu);
    if (rv != 0)
        tx_end(c, rv);
}

static void tx_reply(sl_sp_conn *c, sl_sp_call *call)
{
    c->tx_state = TX_REPLY;
    size_t head_len = sp_head_len(c->framing);
    uint8_t *head = call->head + SP_HEAD_MAX - head_len; /* the backtrace follows it */
    size_t body = sl_reply_size(&call->job.reply);
    sp_head_put(c->framing, head, call->backtrace_len + body);
    c->tx_iov[0] = (nng_iov){.iov_buf = head, .iov_len = head_len + call->backtrace_len};
    c->tx_iov[1] = (nng_iov){.iov_buf = (void *)sl_reply_data(&call->job.reply), .iov_len = body};
    c->tx_n = body ? 2 : 1;
    tx_post(c);
}

/* Sending failed: no reply goes out any more; give back the waiting calls. */
static void tx_end(sl_sp_conn *c, int rv)
{
    sl_log_debug("connection closed: sending a reply: %s", nng_strerror(rv));
    pthread_mutex_lock(&c->mu);
    sl_sp_call *q = c->q_head;
    c->q_head = c->q_tail = NULL;
    for (sl_sp_call *k = q; k; k = k->next)
        c->inflight--;
    c->queued = 0;
    c->tx_busy = false;
    close_locked(c);
    bool dead = now_dead(c);
    pthread_mutex_unlock(&c->mu);
    for (sl_sp_call *k = q, *next; k; k = next) {
        next = k->next;
        sl_sp_pool_give(c->env->pool, k);
    }
    hand_back(c, dead);
}

/* Advance tx_iov past what the last send moved; true when all of it was. */
static bool tx_advance(sl_sp_conn *c, size_t moved)
{
    nng_iov *rest = sp_iov_advance(c->tx_iov, &c->tx_n, moved);
    memmove(c->tx_iov, rest, c->tx_n * sizeof *rest);
    return c->tx_n == 0;
}

static void rx_run(sl_sp_conn *c);

static void on_tx(void *arg)
{
    sl_sp_conn *c = arg;
    int rv = nng_aio_result(c->tx);
    size_t moved = nng_aio_count(c->tx);
    if (rv == 0 && moved == 0)
        rv = NNG_ECONNSHUT;
    if (rv != 0) {
        tx_end(c, rv);
        return;
    }
    if (!tx_advance(c, moved)) {
        tx_post(c);
        return;
    }
    pthread_mutex_lock(&c->mu);
    sl_sp_call *sent = NULL;
    if (c->tx_state == TX_REPLY) {
        sent = c->q_head;
        c->q_head = sent->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->inflight--;
        c->queued--;
    }
    bool resume = c->rx_paused && !c->closing && c->queued < SL_SP_QUEUED_MAX;
    if (resume) {
        c->rx_paused = false;
        c->rx_busy = true;
    }
    sl_sp_call *next = c->q_head; /* only finished calls are queued: send even when closing */
    if (!next)
        c->tx_busy = false;
    bool dead = now_dead(c);
    pthread_mutex_unlock(&c->mu);
    if (sent)
        sl_sp_pool_give(c->env->pool, sent);
    if (resume)
        rx_run(c);
    if (next)
        tx_reply(c, next);
    hand_back(c, dead);
}

/* job->finish of a call: on the handler's thread or the writer's. */
static void finish_call(sl_job *job)
{
    sl_sp_call *call = (sl_sp_call *)job;
    sl_sp_conn *c = call->conn;
    sl_handler_done(c->env->handler, job);
    pthread_mutex_lock(&c->mu);
    if (c->closing) { /* nobody to answer */
        c->inflight--;
        bool dead = now_dead(c);
        pthread_mutex_unlock(&c->mu);
        sl_sp_pool_give(c->env->pool, call);
        hand_back(c, dead);
        return;
    }
    call->next = NULL;
    if (c->q_tail)
        c->q_tail->next = call;
    else
        c->q_head = call;
    c->q_tail = call;
    c->queued++;
    bool start = !c->tx_busy;
    c->tx_busy = true;
    pthread_mutex_unlock(&c->mu);
    if (start)
        tx_reply(c, call);
}

/* ---- the receive chain -----------------------------------------------------
 * Bytes arrive in rx_buf, as many as the peer has sent (up to its size):
 * a small request usually comes whole with its frame head in one receive,
 * and requests pipelined behind it are parsed without another. A request
 * longer than what is buffered has the rest read straight into its call.
 * rx_run works through the states until it needs to wait, in a loop rather
 * than by recursion, so a buffer full of requests costs no stack. */

/* Post a receive of up to len bytes at at (the rest of a body: all of
 * them, through on_rx's reposts; a fill of rx_buf: any). */
static void rx_post(sl_sp_conn *c, uint8_t *at, size_t len, nng_duration timeout)
{
    c->rx_at = at;
    c->rx_left = len;
    nng_iov iov = {.iov_buf = at, .iov_len = len};
    pthread_mutex_lock(&c->mu);
    int rv = c->closing ? NNG_ECLOSED : nng_aio_set_iov(c->rx, 1, &iov);
    if (rv == 0) {
        nng_aio_set_timeout(c->rx, timeout);
        nng_stream_recv(c->stream, c->rx);
    }
    pthread_mutex_unlock(&c->mu);
    if (rv != 0)
        rx_end(c, rv == NNG_ECLOSED ? NULL : "receiving", rv);
}

static size_t buffered(const sl_sp_conn *c)
{
    return c->rx_have - c->rx_off;
}

/* Read more into rx_buf, after what is there. Between requests the peer
 * may stay quiet for good; once a handshake or frame head has begun, the
 * rest must come in time. */
static void rx_fill(sl_sp_conn *c)
{
    memmove(c->rx_buf, c->rx_buf + c->rx_off, buffered(c));
    c->rx_have -= c->rx_off;
    c->rx_off = 0;
    nng_duration timeout = c->rx_state == RX_HANDSHAKE ? HANDSHAKE_MS
                           : c->rx_have > 0            ? BODY_MS
                                                       : NNG_DURATION_INFINITE;
    rx_post(c, c->rx_buf + c->rx_have, sizeof c->rx_buf - c->rx_have, timeout);
}

typedef enum rx_step { RX_GO_ON, RX_WAIT } rx_step;

static rx_step rx_handshake(sl_sp_conn *c)
{
    if (buffered(c) < SP_HANDSHAKE_LEN) {
        rx_fill(c);
        return RX_WAIT;
    }
    const uint8_t *theirs = c->rx_buf + c->rx_off;
    c->rx_off += SP_HANDSHAKE_LEN;
    if (!sp_handshake_is(theirs, SP_PROTO_REQ)) {
        rx_end(c, "the peer is not an SP REQ socket", 0);
        return RX_WAIT;
    }
    c->rx_state = RX_NEXT;
    return RX_GO_ON;
}

/* Between requests: go on unless closing or the peer leaves replies
 * untaken (then the next reply sent resumes reading). */
static rx_step rx_next(sl_sp_conn *c)
{
    c->rx_state = RX_HEAD; /* before a pause: the resume may run at once */
    pthread_mutex_lock(&c->mu);
    bool closing = c->closing, pause = !closing && c->queued >= SL_SP_QUEUED_MAX;
    if (pause) {
        c->rx_paused = true;
        c->rx_busy = false;
    }
    pthread_mutex_unlock(&c->mu);
    if (closing)
        rx_end(c, NULL, 0); /* c may be gone after this */
    return closing || pause ? RX_WAIT : RX_GO_ON;
}

static rx_step rx_head(sl_sp_conn *c)
{
    size_t head_len = sp_head_len(c->framing);
    if (buffered(c) < head_len) {
        rx_fill(c);
        return RX_WAIT;
    }
    uint64_t len;
    bool ok = sp_head_get(c->framing, c->rx_buf + c->rx_off, &len) && len >= SP_WORD_LEN;
    c->rx_off += head_len;
    if (!ok) {
        rx_end(c, "malformed frame", 0);
        return RX_WAIT;
    }
    if (len > c->env->max_frame_bytes) {
        sl_log_warn("closing a connection that sent a %llu-byte request (the limit is %llu)",
                    (unsigned long long)len, (unsigned long long)c->env->max_frame_bytes);
        rx_end(c, NULL, 0);
        return RX_WAIT;
    }
    c->rx_len = len;
    c->rx_state = RX_CALL;
    return RX_GO_ON;
}

/* A request of rx_len bytes has begun: take a call for it (an idle
 * connection holds none), move in what is buffered, read the rest. */
static rx_step rx_call(sl_sp_conn *c)
{
    c->reading = sl_sp_pool_take(c->env->pool, c);
    if (!c->reading) { /* every call is in flight: look again shortly */
        c->rx_state = RX_WAIT_CALL;
        nng_sleep_aio(WAIT_CALL_MS, c->rx);
        return RX_WAIT;
    }
    size_t len = (size_t)c->rx_len;
    if (sl_sp_call_reserve(c->reading, len) != SL_OK) {
        sl_log_error("out of memory for a %zu-byte request", len);
        rx_end(c, NULL, 0);
        return RX_WAIT;
    }
    c->reading->len = len;
    size_t have = buffered(c) < len ? buffered(c) : len;
    memcpy(c->reading->buf, c->rx_buf + c->rx_off, have);
    c->rx_off += have;
    if (have == len) {
        c->rx_state = RX_REQUEST;
        return RX_GO_ON;
    }
    c->rx_state = RX_BODY;
    rx_post(c, c->reading->buf + have, len - have, BODY_MS);
    return RX_WAIT;
}

/* Bytes of the backtrace at the start of the request (the last word has its
 * top bit set), or 0 when there is none within SL_SP_BACKTRACE_MAX words. */
static size_t backtrace_len(const sl_sp_call *call)
{
    for (size_t at = 0; at + SP_WORD_LEN <= call->len && at < SL_SP_BACKTRACE_MAX * SP_WORD_LEN;
         at += SP_WORD_LEN)
        if (call->buf[at] & 0x80)
            return at + SP_WORD_LEN;
    return 0;
}

/* The request is whole in its call: to the handler with it. */
static rx_step rx_request(sl_sp_conn *c)
{
    sl_sp_call *call = c->reading;
    size_t bt = backtrace_len(call);
    if (bt == 0) {
        rx_end(c, "a request without a request id", 0);
        return RX_WAIT;
    }
    call->backtrace_len = bt;
    memcpy(call->head + SP_HEAD_MAX, call->buf, bt);
    c->reading = NULL;
    pthread_mutex_lock(&c->mu);
    c->inflight++;
    pthread_mutex_unlock(&c->mu);
    call->job.finish = finish_call;
    sl_handle(c->env->handler, &call->job, call->buf + bt, call->len - bt, c->trusted);
    c->rx_state = RX_NEXT;
    return RX_GO_ON;
}

static void rx_run(sl_sp_conn *c)
{
    rx_step step = RX_GO_ON;
    while (step == RX_GO_ON) {
        switch (c->rx_state) {
        case RX_HANDSHAKE:
            step = rx_handshake(c);
            break;
        case RX_NEXT:
            step = rx_next(c);
            break;
        case RX_HEAD:
            step = rx_head(c);
            break;
        case RX_CALL:
            step = rx_call(c);
            break;
        case RX_REQUEST:
            step = rx_request(c);
            break;
        default: /* RX_BODY, RX_WAIT_CALL: on_rx's */
            step = RX_WAIT;
            break;
        }
    }
}

static void on_rx(void *arg)
{
    sl_sp_conn *c = arg;
    int rv = nng_aio_result(c->rx);
    if (c->rx_state == RX_WAIT_CALL) {
        if (rv != 0) {
            rx_end(c, NULL, 0);
            return;
        }
        c->rx_state = RX_CALL; /* closing: its receive fails at once */
        rx_run(c);
        return;
    }
    size_t moved = nng_aio_count(c->rx);
    if (rv == 0 && moved == 0)
        rv = NNG_ECONNSHUT;
    if (rv != 0) {
        bool between = c->rx_state == RX_HEAD && buffered(c) == 0;
        rx_end(c, between ? NULL : "receiving", rv);
        return;
    }
    if (c->rx_state != RX_BODY) { /* a fill of rx_buf */
        c->rx_have += moved;
        rx_run(c);
        return;
    }
    c->rx_at += moved;
    c->rx_left -= moved;
    if (c->rx_left > 0) {
        rx_post(c, c->rx_at, c->rx_left, BODY_MS);
        return;
    }
    c->rx_state = RX_REQUEST;
    rx_run(c);
}

/* ---- start and free ----------------------------------------------------------- */

sl_err sl_sp_conn_open(const sl_sp_conn_env *env, nng_stream *stream, sp_framing framing,
                       bool trusted, sl_sp_conn **out)
{
    *out = NULL;
    sl_sp_conn *c = calloc(1, sizeof *c);
    if (!c || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        nng_stream_free(stream);
        return SL_ERR_NOMEM;
    }
    c->env = env;
    c->stream = stream;
    c->framing = framing;
    c->trusted = trusted;
    if (nng_aio_alloc(&c->rx, on_rx, c) != 0 || nng_aio_alloc(&c->tx, on_tx, c) != 0) {
        sl_sp_conn_free(c);
        return SL_ERR_NOMEM;
    }
    *out = c;
    return SL_OK;
}

void sl_sp_conn_run(sl_sp_conn *c)
{
    c->rx_busy = c->tx_busy = true;
    /* The handshakes cross: ours goes out while theirs is read. */
    sp_handshake_put(c->our_handshake, SP_PROTO_REP);
    c->tx_state = TX_HANDSHAKE;
    c->tx_iov[0] = (nng_iov){.iov_buf = c->our_handshake, .iov_len = SP_HANDSHAKE_LEN};
    c->tx_n = 1;
    tx_post(c);
    c->rx_state = RX_HANDSHAKE;
    rx_run(c);
}

void sl_sp_conn_free(sl_sp_conn *c)
{
    if (!c)
        return;
    if (c->stream)
        nng_stream_close(c->stream);
    if (c->rx)
        nng_aio_free(c->rx); /* waits for a callback still returning */
    if (c->tx)
        nng_aio_free(c->tx);
    if (c->stream)
        nng_stream_free(c->stream);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
