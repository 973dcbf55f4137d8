/* http_head.h: one HTTP/1.1 request head, parsed (RFC 9112).
 *
 * Pure parsing, no I/O: the connection (http_conn.c) finds the blank line
 * ending a head and parses it here; the call (http_call.c) reads its
 * method, path, query and headers. A parsed head owns its bytes; every
 * slice in it points into them.
 */
#ifndef SLUICE_SLUICED_HTTP_HEAD_H
#define SLUICE_SLUICED_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include "core/slice.h"

#define HTTP_HEAD_MAX 16384u       /* request line and headers; more: 431 */
#define HTTP_HEADERS_MAX 64        /* header lines; more: 431 */
#define HTTP_URI_MAX 8192u         /* request target; more: 414 */

typedef struct http_header {
    sl_slice name, value;
} http_header;

typedef struct http_head {
    char *raw;                   /* owned copy of the request head */
    sl_slice method, target;     /* into raw */
    http_header headers[HTTP_HEADERS_MAX];
    size_t nheaders;
    char *uri;                   /* owned copy of the target (NUL-terminated) */
    sl_slice path, query;        /* into uri */
    bool client_close;           /* the client asked to close (or speaks HTTP/1.0) */
    bool expect_continue;        /* Expect: 100-continue */
} http_head;

/* Parse the len bytes at raw (a whole head, ending with the blank line)
 * into h (zeroed by the caller), which owns raw from now on, also on
 * failure. 0; or an HTTP status to refuse the head with, *why saying why
 * (503: out of memory). Either way http_head_free(h) releases it. */
int http_head_parse(http_head *h, char *raw, size_t len, const char **why);

/* Free what h owns (not h itself). */
void http_head_free(http_head *h);

/* The value of header name (any case); empty when absent. */
sl_slice http_head_get(const http_head *h, const char *name);

/* Is header name (any case) present, even empty? */
bool http_head_has(const http_head *h, const char *name);

/* Does the request announce a body (which must then be read, or the
 * connection closed: its bytes would be taken for the next request)? */
bool http_head_announces_body(const http_head *h);

#endif
