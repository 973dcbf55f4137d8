/* client_conn.c: see client_conn.h. */
#include "proto/client_conn.h"

#include <nng/supplemental/util/platform.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_HEAD_MAX (SP_HEAD_MAX + SP_WORD_LEN) /* ipc type byte + length + id */

struct cl_conn {
    nng_stream *stream;     /* owned */
    nng_aio *tx;            /* sends; no callback: completes in the waiting thread */
    nng_aio *rx;            /* receives, and the idle watch */
    sp_framing framing;
    uint32_t next_id;       /* low 31 bits of the next request id */
    bool watching;          /* the idle watch is posted on rx */
    uint8_t watch_byte;     /* where the idle watch would put a byte */
};

/* ---- moving bytes ---------------------------------------------------------
 * Streams may move fewer bytes than asked; these loop until all are moved
 * or the deadline passes. */

static nng_duration remaining(nng_time deadline)
{
    if (deadline == (nng_time)-1)
        return NNG_DURATION_INFINITE;
    nng_time now = nng_clock();
    if (now >= deadline)
        return NNG_DURATION_ZERO;
    return cl_duration_of(deadline - now);
}

static nng_time deadline_after(nng_duration timeout)
{
    if (timeout < 0)
        return (nng_time)-1;
    return nng_clock() + (nng_time)timeout;
}

/* Send or receive every byte of iov[0..n) (iov is consumed) by deadline. */
static int transfer(cl_conn *c, bool send, nng_iov *iov, unsigned n, nng_time deadline)
{
    nng_aio *aio = send ? c->tx : c->rx;
    while (n > 0) {
        nng_duration left = remaining(deadline);
        if (left == NNG_DURATION_ZERO)
            return NNG_ETIMEDOUT;
        int rv = nng_aio_set_iov(aio, n, iov);
        if (rv != 0)
            return rv;
        nng_aio_set_timeout(aio, left);
        if (send)
            nng_stream_send(c->stream, aio);
        else
            nng_stream_recv(c->stream, aio);
        nng_aio_wait(aio);
        if ((rv = nng_aio_result(aio)) != 0)
            return rv;
        size_t moved = nng_aio_count(aio);
        if (moved == 0)
            return NNG_ECONNSHUT;
        iov = sp_iov_advance(iov, &n, moved);
    }
    return 0;
}

static int transfer_one(cl_conn *c, bool send, void *buf, size_t len, nng_time deadline)
{
    nng_iov iov = {.iov_buf = buf, .iov_len = len};
    return len == 0 ? 0 : transfer(c, send, &iov, 1, deadline);
}

/* ---- the handshake ----------------------------------------------------------- */

static int handshake(cl_conn *c, nng_duration timeout)
{
    nng_time deadline = deadline_after(timeout);
    uint8_t ours[SP_HANDSHAKE_LEN], theirs[SP_HANDSHAKE_LEN];
    sp_handshake_put(ours, SP_PROTO_REQ);
    int rv = transfer_one(c, true, ours, sizeof ours, deadline);
    if (rv == 0)
        rv = transfer_one(c, false, theirs, sizeof theirs, deadline);
    if (rv != 0)
        return rv;
    return sp_handshake_is(theirs, SP_PROTO_REP) ? 0 : NNG_EPROTO;
}

int cl_conn_dial(nng_stream_dialer *d, sp_framing framing, nng_duration timeout,
                 cl_conn **out)
{
    *out = NULL;
    cl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NNG_ENOMEM;
    c->framing = framing;
    c->next_id = nng_random() & 0x7fffffffu;
    int rv = nng_aio_alloc(&c->tx, NULL, NULL);
    if (rv == 0)
        rv = nng_aio_alloc(&c->rx, NULL, NULL);
    if (rv == 0) {
        nng_aio_set_timeout(c->tx, timeout);
        nng_stream_dialer_dial(d, c->tx);
        nng_aio_wait(c->tx);
        if ((rv = nng_aio_result(c->tx)) == 0)
            c->stream = nng_aio_get_output(c->tx, 0);
    }
    if (rv == 0)
        rv = handshake(c, timeout);
    if (rv != 0) {
        cl_conn_free(c);
        return rv;
    }
    *out = c;
    return 0;
}

/* ---- one call -------------------------------------------------------------------- */

/* The frame head of a request of len body bytes with this id: its length. */
static size_t frame_head(const cl_conn *c, uint8_t *head, size_t len, uint32_t id)
{
    size_t at = sp_head_put(c->framing, head, (uint64_t)len + SP_WORD_LEN);
    sp_put_be(head + at, id, SP_WORD_LEN);
    return at + SP_WORD_LEN;
}

static int send_request(cl_conn *c, const void *body, size_t len, uint32_t id,
                        nng_duration timeout)
{
    uint8_t head[FRAME_HEAD_MAX];
    nng_iov iov[2] = {{.iov_buf = head, .iov_len = frame_head(c, head, len, id)},
                      {.iov_buf = (void *)body, .iov_len = len}};
    return transfer(c, true, iov, len > 0 ? 2 : 1, deadline_after(timeout));
}

static int receive_reply(cl_conn *c, uint32_t id, nng_duration timeout, size_t max_reply,
                         nng_msg **reply)
{
    nng_time deadline = deadline_after(timeout);
    uint8_t head[FRAME_HEAD_MAX];
    size_t head_len = sp_head_len(c->framing);
    int rv = transfer_one(c, false, head, head_len + SP_WORD_LEN, deadline);
    if (rv != 0)
        return rv;
    uint64_t frame_len;
    if (!sp_head_get(c->framing, head, &frame_len) || frame_len < SP_WORD_LEN ||
        sp_get_be(head + head_len, SP_WORD_LEN) != id)
        return NNG_EPROTO;
    uint64_t body_len = frame_len - SP_WORD_LEN;
    if (body_len > max_reply)
        return NNG_EMSGSIZE;
    nng_msg *msg;
    if ((rv = nng_msg_alloc(&msg, (size_t)body_len)) != 0)
        return rv;
    if ((rv = transfer_one(c, false, nng_msg_body(msg), (size_t)body_len, deadline)) != 0) {
        nng_msg_free(msg);
        return rv;
    }
    *reply = msg;
    return 0;
}

int cl_conn_call(cl_conn *c, const void *body, size_t len, nng_duration send_timeout,
                 nng_duration reply_timeout, size_t max_reply, nng_msg **reply,
                 bool *sent)
{
    *reply = NULL;
    *sent = false;
    uint32_t id = 0x80000000u | c->next_id;
    c->next_id = (c->next_id + 1) & 0x7fffffffu;
    int rv = send_request(c, body, len, id, send_timeout);
    if (rv != 0)
        return rv;
    *sent = true;
    return receive_reply(c, id, reply_timeout, max_reply, reply);
}

/* ---- idle ------------------------------------------------------------------------------ */

void cl_conn_park(cl_conn *c)
{
    nng_iov iov = {.iov_buf = &c->watch_byte, .iov_len = 1};
    if (nng_aio_set_iov(c->rx, 1, &iov) != 0)
        return; /* unwatched: a dead connection then fails its next call */
    nng_aio_set_timeout(c->rx, NNG_DURATION_INFINITE);
    nng_stream_recv(c->stream, c->rx);
    c->watching = true;
}

bool cl_conn_take(cl_conn *c)
{
    if (!c->watching)
        return true;
    c->watching = false;
    nng_aio_cancel(c->rx);
    nng_aio_wait(c->rx);
    return nng_aio_result(c->rx) == NNG_ECANCELED && nng_aio_count(c->rx) == 0;
}

void cl_conn_free(cl_conn *c)
{
    if (!c)
        return;
    if (c->stream)
        nng_stream_close(c->stream);
    nng_aio_free(c->tx); /* waits for what is posted on it to end */
    nng_aio_free(c->rx);
    nng_stream_free(c->stream);
    free(c);
}
