/* client_conn.h: one connection of the client library to a server: the
 * request/reply wire format of nng's REQ/REP protocols (SP), spoken by the
 * client itself over an nng stream (tcp://, ipc://).
 *
 * The server is an nng REP socket and sees an ordinary REQ peer: the same
 * 8-byte handshake, the same message frames (tcp: an 8-byte length;
 * ipc: a type byte 1 and an 8-byte length), each request led by a 4-byte
 * request id with its top bit set, which the reply echoes. What the client
 * saves over an nng REQ socket is the hand-offs between threads: a send is
 * written by the calling thread, and the reply wakes it straight from nng's
 * poller (PROTOCOL.md, "Transports", has the figures).
 *
 * A connection carries one request at a time. Between calls it is idle and
 * keeps a one-byte receive posted, so that a connection the server closed
 * while idle is known dead before a request is written on it
 * (cl_conn_take).
 *
 * Ownership: cl_conn_dial gives the caller a connection to free with
 * cl_conn_free. A connection is used by one thread at a time. The reply of a
 * call is an nng message the caller owns (nng_msg_free).
 * Errors are nng error numbers (0: success); see cl_conn_call for which. */
#ifndef SLUICE_PROTO_CLIENT_CONN_H
#define SLUICE_PROTO_CLIENT_CONN_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/sp_frame.h"

typedef struct cl_conn cl_conn;

/* ms as an nng duration, capped at what one holds (the client library's
 * timeouts are uint64_t ms). */
static inline nng_duration cl_duration_of(uint64_t ms)
{
    return ms > INT32_MAX ? INT32_MAX : (nng_duration)ms;
}

/* Connect with d (framing: sp_framing_of its URL, not SP_FRAMING_NONE) and exchange the SP handshake, all within timeout.
 * Errors: the dial's (NNG_ECONNREFUSED, NNG_ENOENT, NNG_ETIMEDOUT...),
 * NNG_EPROTO when the peer is not an SP REP socket, NNG_ENOMEM. */
int cl_conn_dial(nng_stream_dialer *d, sp_framing framing, nng_duration timeout,
                 cl_conn **out);

/* Send body (len bytes; NULL when len is 0) as one request within
 * send_timeout, then wait up to reply_timeout for its reply. On 0, *reply
 * is the reply's body (the caller's). *sent says whether the whole request
 * was written (false: it never reached the server whole).
 * Errors: NNG_ETIMEDOUT, NNG_ECONNSHUT / NNG_ECONNRESET (the server closed
 * the connection), NNG_EMSGSIZE (a reply over max_reply bytes), NNG_EPROTO
 * (a malformed frame or a reply to another request), NNG_ENOMEM.
 * After any error the connection is unusable: free it. */
int cl_conn_call(cl_conn *c, const void *body, size_t len, nng_duration send_timeout,
                 nng_duration reply_timeout, size_t max_reply, nng_msg **reply,
                 bool *sent);

/* The connection goes idle: post the receive that watches for the server
 * closing it. */
void cl_conn_park(cl_conn *c);

/* An idle connection is wanted for a call: end the watch. False when the
 * server closed the connection or sent something unasked meanwhile (free
 * it); true when it can carry a request. */
bool cl_conn_take(cl_conn *c);

/* Close the stream (ending any watch or call) and free everything.
 * NULL is ignored. */
void cl_conn_free(cl_conn *c);

#endif
