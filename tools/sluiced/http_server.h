/* http_server.h: the HTTP/JSON API (proto/HTTP.md).
 *
 * HTTP/1.1 served on nng streams (tcp://, tls+tcp:// for https), one
 * listener per configured http:// or https:// URL; not on nng's own HTTP
 * server, whose 1.5.2 request parsing corrupts the heap on some request
 * URIs (see http_conn.c). A call is: request head parsed -> route
 * (http_routes.h) -> API key checked (auth.h: live key, scope, rate) ->
 * body read and parsed (tools/common/json_parse.h) -> msgpack request
 * (http_request.h) -> the same decoder, topic checks and dispatch as nng
 * requests (reads at once, writes through the writer's group commit,
 * long-poll pulls parked there too) -> JSON response (http_reply.h). Plus
 * GET /healthz, /readyz and /metrics.
 *
 * Files: http_server.c (listeners, start, stop), http_conn.c (connections:
 * reading heads, framing errors, writing responses, timeouts, closing),
 * http_call.c (one call's lifecycle), http_ops.c (the operational
 * endpoints), http_head.c (parsing a head), http_env.h (what calls
 * borrow). Each depends only on those after it in this list.
 *
 * The server (server.c) owns the sl_http. Stop order matters: stop the
 * writer first (it answers every queued and parked call; calls submitted
 * after it stopped are answered at once), then sl_http_stop, which lets the
 * responses being written go out (at most a few seconds), closes every
 * connection and waits for each to be gone, then free the writer.
 */
#ifndef SLUICE_SLUICED_HTTP_SERVER_H
#define SLUICE_SLUICED_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include "tools/sluiced/config.h"
#include "tools/sluiced/http_env.h"

typedef struct sl_http sl_http;

/* Serve the n URLs (http://host:port or https://host:port; https needs
 * tls). env and tls are borrowed and must outlive the sl_http. 0 and *out
 * (owned by the caller), or -1 after logging why. */
int sl_http_start(const sl_http_env *env, const char (*urls)[512], size_t n,
                  nng_tls_config *tls, sl_http **out);

/* Stop accepting, let the responses being written drain (bounded), close
 * every connection and wait for each call still running to end (the
 * writer must be stopped first, so none waits in it), then free h. NULL
 * is ignored. */
void sl_http_stop(sl_http *h);

#endif
