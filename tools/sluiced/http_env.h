/* http_env.h: what every HTTP call borrows from the server.
 *
 * All owned by the server (server.c), which fills it before sl_http_start
 * (http_server.h) and keeps it until after sl_http_stop. Shared by the
 * connections (http_conn.h), the calls (http_call.h) and the operational
 * endpoints (http_ops.h), so none of them depends on http_server.h.
 */
#ifndef SLUICE_SLUICED_HTTP_ENV_H
#define SLUICE_SLUICED_HTTP_ENV_H

#include <stdint.h>
#include "core/store.h"
#include "tools/sluiced/auth.h"
#include "tools/sluiced/dispatch.h"
#include "tools/sluiced/metrics.h"
#include "tools/sluiced/writer.h"

/* What every call borrows; all owned by the server. */
typedef struct sl_http_env {
    sl_store *store;
    sl_writer *writer;
    sl_server_counters *counters;
    sl_auth *auth;
    sl_metrics *metrics;
    uint64_t max_request_bytes;   /* larger bodies get 413 */
} sl_http_env;

#endif
