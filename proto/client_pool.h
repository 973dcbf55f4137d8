/* client_pool.h: the client library's connections to one server URL
 * (tcp:// and ipc://; tls+tcp://, ws:// and wss:// go through an nng REQ
 * socket in client.c instead, see client_pool.c for why TLS does).
 *
 * Each call borrows one connection (client_conn.h) for its request and its
 * reply, so threads that share a client never wait for each other: an idle
 * connection is reused, else a new one is dialed. Dialing goes on, with
 * growing pauses, until the call's send timeout, so a call made while the
 * server restarts waits for it rather than failing at once. A connection
 * that failed in any way is closed, never reused: a late reply cannot be
 * taken for another request's.
 *
 * Ownership: cl_pool_open gives the caller a pool to close with
 * cl_pool_close; the pool owns its dialer and its idle connections. Errors are nng error numbers. */
#ifndef SLUICE_PROTO_CLIENT_POOL_H
#define SLUICE_PROTO_CLIENT_POOL_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cl_pool cl_pool;

/* Whether url's scheme is one the pool speaks (else use a REQ socket). */
bool cl_pool_serves(const char *url);

/* The limits a pool is opened with. */
typedef struct cl_pool_options {
    size_t max_reply;         /* a larger reply fails its call with NNG_EMSGSIZE */
    uint64_t redial_min_ms;   /* first pause between dials within one call */
    uint64_t redial_max_ms;   /* longest pause */
} cl_pool_options;

/* Set up the dialer for url. Connects nothing yet.
 * Errors: NNG_ENOTSUP (a scheme it does not serve), NNG_EADDRINVAL and
 * NNG_EINVAL (a malformed address), NNG_ENOMEM. */
int cl_pool_open(const char *url, const cl_pool_options *opt, cl_pool **out);

/* Dial one connection now, within timeout_ms, and keep it idle (for
 * sl_client_open's eager connect). Errors: the dial's. */
int cl_pool_connect(cl_pool *p, uint64_t timeout_ms);

/* One request and its reply: a connection within send_ms (an idle one, or
 * dialed until then), the request written within the rest of send_ms, the
 * reply within reply_ms. On 0, *reply is the reply body (the caller's).
 * *sending says the failure came before the whole request was written.
 * Errors: NNG_ETIMEDOUT (with *sending: no connection in time), the errors
 * of cl_conn_call, a permanent dial error (NNG_EADDRINVAL...). */
int cl_pool_call(cl_pool *p, const void *body, size_t len, uint64_t send_ms,
                 uint64_t reply_ms, nng_msg **reply, bool *sending);

/* Free the pool and its idle connections. No call may be running on it.
 * NULL is ignored. */
void cl_pool_close(cl_pool *p);

#endif
