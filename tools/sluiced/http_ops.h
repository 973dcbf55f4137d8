/* http_ops.h: the operational endpoints GET (or HEAD) /healthz, /readyz
 * and /metrics.
 *
 * They take no body and no request decoding: the call (http_call.c) asks
 * here first, and sends what is answered. /metrics needs a key with the
 * stats scope when auth is on; the other two are open. Everything is
 * borrowed from the call; the answer's text, if any, is the caller's.
 */
#ifndef SLUICE_SLUICED_HTTP_OPS_H
#define SLUICE_SLUICED_HTTP_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include "core/slice.h"
#include "tools/common/json_buf.h"
#include "tools/sluiced/auth.h"
#include "tools/sluiced/http_env.h"

#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What an endpoint answers: status, and its body: text when not NULL
 * (HTTP_METRICS_TYPE, owned by the caller: free it), else the JSON in the
 * json_buf given to http_ops_serve. */
typedef struct http_ops_answer {
    int status;
    char *text;
    size_t text_len;
} http_ops_answer;

/* If path is /healthz, /readyz or /metrics, answer it (method must be GET,
 * or HEAD: head_method) into *a and out (empty), and fill *auth with the
 * key's check (its rate headers go with the response): true. Else false,
 * and nothing is touched. key: the call's API key. */
bool http_ops_serve(const sl_http_env *env, sl_slice method, bool head_method, sl_slice path,
                    sl_slice key, json_buf *out, sl_auth_result *auth, http_ops_answer *a);

#endif
