/* http_conn.h: HTTP/1.1 connections on nng streams, and the set of them.
 *
 * A connection reads one request head at a time, parses it (http_head.h)
 * and hands it to a call (http_call.h), which reads the body and sends its
 * one response through the connection's http_link; then the connection
 * reads the next head. It answers framing errors itself (400, 431, 505),
 * bounds how long a client may take (head, body, response) and closes.
 *
 * The server (http_server.c) owns the set: it hands each accepted stream to
 * it and, at stop, drains then closes it. The set owns its connections; a
 * connection owns its stream and its call.
 */
#ifndef SLUICE_SLUICED_HTTP_CONN_H
#define SLUICE_SLUICED_HTTP_CONN_H

#include <nng/nng.h>
#include "tools/sluiced/http_env.h"

typedef struct http_conns http_conns;

/* An empty set whose calls borrow env (which must outlive it): NULL when
 * out of resources. */
http_conns *http_conns_new(const sl_http_env *env);

/* Serve the accepted stream s (owned from now on) on a new connection of
 * set, unless the set is closing or full: then s is closed at once. */
void http_conn_start(http_conns *set, nng_stream *s);

/* Wait (at most ms) for the responses being written to go out. */
void http_conns_drain(http_conns *set, unsigned ms);

/* Close every connection (what is in flight on each fails at once and
 * closes it), refuse new ones, and wait until all are gone. No call may be
 * waiting on the writer (stop it first). */
void http_conns_close(http_conns *set);

/* Free the set, closed first. NULL is ignored. */
void http_conns_free(http_conns *set);

#endif
