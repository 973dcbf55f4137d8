/* http_request.h: an HTTP call -> the msgpack request of its op.
 *
 * The HTTP API speaks the same protocol as nng, so an HTTP call becomes a
 * msgpack request (proto/PROTOCOL.md) that then goes through the very same
 * decoder, checks and dispatch: {"v": 1, "op": route's op, the path
 * captures under the route's field names, the typed query parameters, and
 * every member of the JSON body object}. Publish bodies are special: each
 * event's "data" (any JSON value) becomes its payload byte for byte,
 * "payload_base64" is decoded, and the Idempotency-Key header keys events
 * that have no key of their own.
 */
#ifndef SLUICE_SLUICED_HTTP_REQUEST_H
#define SLUICE_SLUICED_HTTP_REQUEST_H

#include <stdint.h>
#include <msgpack.h>
#include "core/slice.h"
#include "tools/common/json_parse.h"
#include "tools/sluiced/http_routes.h"

/* Why an HTTP call could not become a request. */
typedef struct http_build_error {
    int status;          /* 400 (malformed), 413, 422 (a field's value) */
    char field[96];      /* the field or query parameter to blame, or "" */
    char message[256];
} http_build_error;

typedef struct http_build_in {
    const http_match *match;   /* the route and its captures */
    sl_slice query;            /* the query string, without '?' (may be empty) */
    const json_doc *body;      /* the parsed body, or NULL when there was none */
    sl_slice idempotency_key;  /* the Idempotency-Key header (len 0: none) */
    uint64_t limit;            /* P_LIMIT routes: the limit to ask for (0: the op's default) */
} http_build_in;

/* Append the request to out (a msgpack_sbuffer owned by the caller). 0, or
 * -1 with *err filled (out then holds a partial request: discard it). */
int http_request_build(const http_build_in *in, msgpack_sbuffer *out, http_build_error *err);

/* Percent-decode s into out (cap bytes, NUL added); '+' becomes ' ' when
 * plus_is_space. -1 when it does not fit, has a bad %XX, or decodes to a NUL
 * byte (%00: every value ends up in C strings or names further on). */
int http_percent_decode(sl_slice s, bool plus_is_space, char *out, size_t cap, size_t *len);

/* The value of query parameter name (raw, still encoded): 1 when given once
 * (*value set), 0 when absent, -1 when given more than once (bad_request,
 * like a key given twice in a request). */
int http_query_get(sl_slice query, const char *name, sl_slice *value);

/* Parse a non-negative decimal integer (1..19 digits). -1 otherwise. */
int http_parse_uint(sl_slice s, uint64_t *v);

/* Parse a time: Unix ms digits, or ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z"
 * (or +00:00). -1 when it is neither. */
int http_parse_time(sl_slice s, uint64_t *ms);

#endif
