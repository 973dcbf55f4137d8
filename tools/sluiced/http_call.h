/* http_call.h: one HTTP call, from its parsed request head to its response.
 *
 * A call is: request head (http_head.h) -> route (http_routes.h), or an
 * operational endpoint (http_ops.h) -> API key checked (auth.h: live key,
 * scope, rate) -> body read and parsed (tools/common/json_parse.h) ->
 * msgpack request (http_request.h) -> the same decoder, topic checks and
 * dispatch as nng requests (reads at once, writes through the writer's
 * group commit, long-poll pulls parked there too) -> JSON response
 * (http_reply.h), or an error.
 *
 * Who owns what: the connection (http_conn.c) creates the call, hands it a
 * parsed head and frees it once its one response is out, or when the
 * connection closes. The call answers only through its http_link: it reads
 * the body and sends its response with the link's functions and never sees
 * the connection itself. While the writer runs a call (sl_writer_submit),
 * the writer owns it until on its finish; nothing is in flight on the
 * connection meanwhile.
 */
#ifndef SLUICE_SLUICED_HTTP_CALL_H
#define SLUICE_SLUICED_HTTP_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include "tools/sluiced/http_head.h"
#include "tools/sluiced/http_env.h"

/* How a call uses its connection (http_conn.c implements it). At most one
 * of these is in progress at a time; each ends in exactly one callback. */
typedef struct http_link {
    void *conn;
    /* Move up to cap bytes received after the head into dst: how many. */
    size_t (*take)(void *conn, char *dst, size_t cap);
    /* Receive up to cap bytes of the body into dst (after sending "100
     * Continue" when continue_first), waiting for them a bounded time:
     * then http_call_on_body, on the connection's thread. */
    void (*recv)(void *conn, char *dst, size_t cap, bool continue_first);
    /* Send the response: head, then body (body_len 0: none). Both stay the
     * call's and must live until http_call_free, which the connection calls
     * once they are out (close_after: it closes then). */
    void (*send)(void *conn, char *head, size_t head_len, char *body, size_t body_len,
                 bool close_after);
    /* Close the connection at once; it frees the call too. */
    void (*close)(void *conn);
} http_link;

typedef struct http_call http_call;

/* A call on the connection of link (copied), with nothing yet: NULL when
 * out of memory. env is borrowed. */
http_call *http_call_new(const sl_http_env *env, const http_link *link);

/* Serve the request of head (owned by c from now on). */
void http_call_begin(http_call *c, http_head *head);

/* Answer a request that cannot be served (a framing error: status, code,
 * message) and close the connection after it: nothing that follows on it
 * can be trusted. */
void http_call_refuse(http_call *c, int status, const char *code, const char *message);

/* The link's recv ended: rv (an nng error, or 0 with count bytes). */
void http_call_on_body(http_call *c, int rv, size_t count);

/* Free c and all it owns. NULL is ignored. */
void http_call_free(http_call *c);

#endif
