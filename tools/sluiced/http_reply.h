/* http_reply.h: an op's msgpack reply -> the HTTP API's JSON response.
 *
 * Success: {"data": ...} with the route's data key (an object, or a list);
 * the reply's other keys go to "meta" (cursors such as next_seq) or are
 * merged into the data object (a new webhook's secret). Lists are paged with
 * page/per_page: {"data": [...], "meta": {current_page, per_page, from, to,
 * total, last_page}, "links": {first, last, prev, next}}. Binary values:
 * an event payload that is JSON travels as "data" (the JSON itself), any
 * other as "payload_base64"; other bytes as a string when they are UTF-8,
 * else "<key>_base64".
 * Errors: {"message", "code", "errors": {field: [message]}} with the HTTP
 * status for the protocol's error code.
 */
#ifndef SLUICE_SLUICED_HTTP_REPLY_H
#define SLUICE_SLUICED_HTTP_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"
#include "tools/common/json_buf.h"
#include "tools/sluiced/http_routes.h"

#define HTTP_PER_PAGE_DEFAULT 25
#define HTTP_PER_PAGE_MAX 100

typedef struct http_page {
    uint64_t page;       /* 1.. */
    uint64_t per_page;   /* 1..HTTP_PER_PAGE_MAX */
    sl_slice path;       /* the request path, for links */
    sl_slice query;      /* the request query, for links (page/per_page replaced) */
} http_page;

/* The HTTP status for a protocol error code ("not_found" -> 404, ...). */
int http_status_of_code(const char *code);

/* Write the JSON error body into out. field NULL or "": no "errors". */
sl_err http_reply_error(json_buf *out, const char *code, const char *message, const char *field);

/* Shape reply (the op's msgpack reply, well-formed: the server made it) of
 * route r into out and *status. page: for list routes. SL_ERR_NOMEM,
 * SL_ERR_CORRUPT (a reply not of the expected shape: a bug). */
sl_err http_reply_shape(const http_route *r, const void *reply, size_t len, const http_page *page,
                        json_buf *out, int *status);

#endif
