/* client_pool.c: see client_pool.h. */
#include "proto/client_pool.h"

#include <nng/supplemental/util/platform.h>
#include <stdlib.h>
#include <string.h>
#include "proto/client_conn.h"

#define POOL_IDLE_MAX 256 /* idle connections kept; more are closed after their call */

struct cl_pool {
    nng_mtx *mu;                         /* guards idle, n_idle */
    nng_stream_dialer *dialer;           /* owned */
    sp_framing framing;
    cl_pool_options opt;                 /* as opened */
    size_t n_idle;
    cl_conn *idle[POOL_IDLE_MAX];        /* owned; the last one is reused first */
};

/* sp_framing_of takes tcp:// and ipc:// (and their kin), not tls+tcp://: in
 * nng 1.5.2 cancelling a receive on a TLS stream (the idle watch, a timeout)
 * aborts the TLS connection's own receive, and a receive posted after that
 * never completes. */
bool cl_pool_serves(const char *url)
{
    return url && sp_framing_of(url) != SP_FRAMING_NONE;
}

static bool is_tcp(const char *url)
{
    return strncmp(url, "tcp", 3) == 0;
}

int cl_pool_open(const char *url, const cl_pool_options *opt, cl_pool **out)
{
    *out = NULL;
    sp_framing framing = sp_framing_of(url);
    if (framing == SP_FRAMING_NONE)
        return NNG_ENOTSUP;
    cl_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NNG_ENOMEM;
    p->framing = framing;
    p->opt = *opt;
    int rv = nng_mtx_alloc(&p->mu);
    if (rv == 0)
        rv = nng_stream_dialer_alloc(&p->dialer, url);
    /* nng's SP transports turn Nagle off; a bare stream dialer does not */
    if (rv == 0 && is_tcp(url))
        rv = nng_stream_dialer_set_bool(p->dialer, NNG_OPT_TCP_NODELAY, true);
    if (rv != 0) {
        cl_pool_close(p);
        return rv;
    }
    *out = p;
    return 0;
}

/* Keep c for a later call, or close it when enough are idle. */
static void give_back(cl_pool *p, cl_conn *c)
{
    cl_conn_park(c);
    nng_mtx_lock(p->mu);
    bool kept = p->n_idle < POOL_IDLE_MAX;
    if (kept)
        p->idle[p->n_idle++] = c;
    nng_mtx_unlock(p->mu);
    if (!kept)
        cl_conn_free(c);
}

int cl_pool_connect(cl_pool *p, uint64_t timeout_ms)
{
    cl_conn *c;
    int rv = cl_conn_dial(p->dialer, p->framing, cl_duration_of(timeout_ms), &c);
    if (rv == 0)
        give_back(p, c);
    return rv;
}

/* An idle connection that is still open, or NULL. */
static cl_conn *take_idle(cl_pool *p)
{
    for (;;) {
        nng_mtx_lock(p->mu);
        cl_conn *c = p->n_idle > 0 ? p->idle[--p->n_idle] : NULL;
        nng_mtx_unlock(p->mu);
        if (!c || cl_conn_take(c))
            return c;
        cl_conn_free(c); /* the server closed it while it was idle */
    }
}

/* Errors that another dial cannot cure. */
static bool dial_error_is_final(int rv)
{
    return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP || rv == NNG_EINVAL ||
           rv == NNG_ENOMEM || rv == NNG_ECLOSED;
}

/* Dial until one connection is made or deadline (nng_clock) passes. */
static int dial_until(cl_pool *p, nng_time deadline, cl_conn **out)
{
    uint64_t pause = p->opt.redial_min_ms;
    for (;;) {
        nng_time now = nng_clock();
        if (now >= deadline)
            return NNG_ETIMEDOUT;
        int rv = cl_conn_dial(p->dialer, p->framing, cl_duration_of(deadline - now), out);
        if (rv == 0 || dial_error_is_final(rv))
            return rv;
        now = nng_clock();
        if (now >= deadline)
            return NNG_ETIMEDOUT;
        uint64_t left = deadline - now;
        nng_msleep(cl_duration_of(pause < left ? pause : left));
        pause = pause * 2 > p->opt.redial_max_ms ? p->opt.redial_max_ms : pause * 2;
    }
}

int cl_pool_call(cl_pool *p, const void *body, size_t len, uint64_t send_ms,
                 uint64_t reply_ms, nng_msg **reply, bool *sending)
{
    *reply = NULL;
    *sending = true;
    nng_time start = nng_clock();
    cl_conn *c = take_idle(p);
    int rv = 0;
    if (!c) {
        nng_time deadline = send_ms > UINT64_MAX - start ? UINT64_MAX : start + send_ms;
        if ((rv = dial_until(p, deadline, &c)) != 0)
            return rv;
    }
    uint64_t spent = nng_clock() - start;
    uint64_t send_left = send_ms > spent ? send_ms - spent : 1;
    bool sent;
    rv = cl_conn_call(c, body, len, cl_duration_of(send_left), cl_duration_of(reply_ms),
                      p->opt.max_reply, reply, &sent);
    *sending = !sent;
    if (rv == 0)
        give_back(p, c);
    else
        cl_conn_free(c);
    return rv;
}

void cl_pool_close(cl_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        cl_conn_free(p->idle[i]);
    nng_stream_dialer_free(p->dialer);
    if (p->mu)
        nng_mtx_free(p->mu);
    free(p);
}
