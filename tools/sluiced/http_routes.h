/* http_routes.h: the HTTP/JSON API's routes (proto/HTTP.md).
 *
 * Each route maps a method and a path pattern to one protocol op: how to
 * build the op's msgpack request from the path, the query and the JSON body
 * (http_request.h) and how to shape its msgpack reply into the JSON
 * response (http_reply.h). The table is static, read-only data: no state.
 */
#ifndef SLUICE_SLUICED_HTTP_ROUTES_H
#define SLUICE_SLUICED_HTTP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include "core/slice.h"
#include "proto/request.h"

#define HTTP_PARAMS_MAX 3

/* How a query parameter becomes a request field. */
typedef enum http_qtype {
    Q_UINT,   /* a decimal integer */
    Q_STR,    /* the (percent-decoded) text */
    Q_BOOL,   /* true/false/1/0 */
    Q_TIME    /* Unix ms, or an ISO 8601 UTC time ("2026-01-01T00:00:00Z") -> Unix ms */
} http_qtype;

typedef struct http_qparam {
    const char *name;   /* in the query string */
    const char *field;  /* in the request */
    http_qtype type;
} http_qparam;

/* What builds the request beyond the generic rules. */
typedef enum http_build_kind {
    B_GENERIC,          /* params + query + body members */
    B_PUBLISH,          /* the events of the body: data / payload / payload_base64 */
    B_WEBHOOK_GROUP     /* the {id} param names a webhook: field "group" = "_wh." + id */
} http_build_kind;

/* How lists are paged with page/per_page. */
typedef enum http_paging {
    P_NONE,             /* not a list, or returned whole */
    P_ALL,              /* the op returns the whole list: the API slices it */
    P_LIMIT             /* the op takes a limit (limit_field): asked for enough to
                           reach the page, at most 1000 */
} http_paging;

typedef struct http_route {
    const char *method;                       /* "GET", "POST", "PATCH", "DELETE" */
    const char *pattern;                      /* "/v1/groups/{}/pull": {} captures a segment */
    sl_op op;
    const char *params[HTTP_PARAMS_MAX];      /* request field of each capture */
    const http_qparam *query;                 /* accepted query parameters; NULL: none */
    bool body;                                /* a JSON object body's members become fields */
    http_build_kind build;
    const char *data_key;                     /* reply key that becomes "data"; NULL: 204 */
    const char *merge[2];                     /* reply keys merged into the data object */
    const char *const *pick;                  /* only these keys of the data object; NULL: all */
    http_paging paging;
    const char *limit_field;                  /* P_LIMIT: the op's limit field */
    unsigned limit_max;                       /* P_LIMIT: the op's most per call */
    int status;                               /* success status: 200, 201 */
} http_route;

typedef struct http_match {
    const http_route *route;
    sl_slice params[HTTP_PARAMS_MAX];         /* captured segments (still percent-encoded) */
    size_t nparams;
    bool path_known;                          /* some route has this path (for 405) */
} http_match;

/* Find the route for method and path (no query). false: none (m->path_known
 * tells 405 from 404). */
bool http_route_find(sl_slice method, sl_slice path, http_match *m);

#endif
