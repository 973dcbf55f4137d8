/* metrics.h: the daemon's request metrics, and the Prometheus exposition.
 *
 * The server (server.c) owns one sl_metrics and lends it to both transports:
 * the nng slots (slot.c) and the HTTP API observe every answered request
 * with sl_metrics_observe: per op and transport, a count by outcome (ok or
 * error) and a latency histogram (fixed buckets, 50 us .. 10 s). Observing
 * is a few relaxed C11 atomic adds: no lock, no allocation, any thread.
 *
 * sl_metrics_render writes the whole /metrics page (Prometheus text format
 * 0.0.4): these counters, the server counters (dispatch.h), storage and log
 * totals, and gauges per consumer group and per webhook subscription read
 * in one read-only transaction. It allocates the page; the caller frees it.
 */
#ifndef SLUICE_SLUICED_METRICS_H
#define SLUICE_SLUICED_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "core/error.h"
#include "core/store.h"
#include "dispatch.h"
#include "job.h"
#include "proto/request.h"

/* Finite histogram bounds (sl_metrics_bucket_bound_us); one more bucket
 * counts everything above the last (le="+Inf"). */
#define SL_METRICS_BOUNDS 17
/* Ops counted: every sl_op, plus one slot (SL_METRICS_OP_INVALID) for
 * requests that were refused before they named a valid op (malformed,
 * too large, failed decoding), shown as op="invalid". */
#define SL_METRICS_OP_INVALID SL_OP_COUNT
#define SL_METRICS_OPS (SL_OP_COUNT + 1)
/* Group and webhook walks stop after this many (in name / id order), so a
 * scrape stays bounded; the HELP text of those families says so. */
#define SL_METRICS_WALK_MAX 10000

typedef enum sl_metrics_transport {
    SL_METRICS_NNG = 0,
    SL_METRICS_HTTP = 1,
    SL_METRICS_TRANSPORTS = 2
} sl_metrics_transport;

/* One op on one transport. Buckets are not cumulative here (bucket i counts
 * latencies in (bound i-1, bound i]); rendering sums them. */
typedef struct sl_op_metrics {
    atomic_uint_fast64_t ok;                          /* answered with ok: true */
    atomic_uint_fast64_t error;                       /* answered with an error */
    atomic_uint_fast64_t bucket[SL_METRICS_BOUNDS + 1]; /* latency histogram */
    atomic_uint_fast64_t sum_us;                      /* total latency */
} sl_op_metrics;

/* Embedded in its owner (no allocation); sl_metrics_init before use. */
typedef struct sl_metrics {
    sl_op_metrics op[SL_METRICS_TRANSPORTS][SL_METRICS_OPS];
} sl_metrics;

/* Zero every counter. Call once, before any thread observes. */
void sl_metrics_init(sl_metrics *m);

/* Count one answered request: op (anything >= SL_OP_COUNT counts as
 * "invalid"), whether it succeeded, its latency from arrival to the reply
 * being handed to the transport (a long-poll pull includes its wait), and
 * the transport (http: the HTTP API, else nng). Thread-safe, lock-free. */
void sl_metrics_observe(sl_metrics *m, sl_op op, bool ok, uint64_t latency_us, bool http);

/* The nng slot's observe: op from job->req (the slot sets job->req.op to
 * SL_METRICS_OP_INVALID when a request does not decode), ok from the reply
 * in job->reply ({"ok": true, ...}), latency since job->started_us. Call
 * before the request is released. */
void sl_metrics_observe_job(sl_metrics *m, const sl_job *job);

/* Monotonic microseconds, for sl_job.started_us and latencies. */
static inline uint64_t sl_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Upper bound (microseconds) of finite bucket i < SL_METRICS_BOUNDS. */
uint64_t sl_metrics_bucket_bound_us(unsigned i);

/* The op label of op: sl_op_name, or "invalid". Static storage. */
const char *sl_metrics_op_label(unsigned op);

/* Render the Prometheus text page. m, counters: this server's; store: read
 * in one read-only transaction; now_ms: wall clock (uptime). On SL_OK,
 * *text (NUL-terminated, malloc'd: the caller frees it) and *len. Errors:
 * SL_ERR_INVALID (a NULL argument), SL_ERR_NOMEM, and storage errors of the
 * store reads (SL_ERR_STORAGE, SL_ERR_CORRUPT); *text is then untouched.
 * Thread-safe; takes no lock the request path takes. */
sl_err sl_metrics_render(sl_metrics *m, sl_store *store, const sl_server_counters *counters,
                         uint64_t now_ms, char **text, size_t *len);

#endif
