/* handler.h: one request, whichever transport carried it.
 *
 * The transports (slot.c: nng REP contexts, for tls+tcp://, ws:// and wss://;
 * sp_conn.c: SP over nng streams, for tcp:// and ipc://) receive a request's
 * bytes into a job of theirs and hand both here: size check, decode, API key
 * check, then the answer: at once for reads, through the writer (writer.h)
 * for everything that changes the store. Either way job->finish is called
 * exactly once, with job->reply holding the reply, on this thread or the
 * writer's. The transport then calls sl_handler_done and sends the reply.
 *
 * Ownership: the transport owns the job and the request bytes; the bytes
 * must stay unchanged until sl_handler_done (the decoded request points
 * into them). */
#ifndef SLUICE_SLUICED_HANDLER_H
#define SLUICE_SLUICED_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "auth.h"
#include "core/store.h"
#include "job.h"
#include "metrics.h"
#include "writer.h"

/* What every request borrows: all owned by the server. */
typedef struct sl_handler_env {
    sl_store *store;
    sl_writer *writer;
    sl_server_counters *counters;
    uint64_t max_request_bytes;
    sl_metrics *metrics;          /* request counts and latencies (metrics.h) */
    sl_auth *auth;                /* API keys (auth.h) */
} sl_handler_env;

/* Run the request in body[0..len) (NULL when len is 0). trusted: it came
 * through an ipc:// listener, whose socket file's permissions stand in for
 * an API key. Sets job->finish's argument up; job->finish must be set. */
void sl_handle(const sl_handler_env *env, sl_job *job, const void *body, size_t len,
               bool trusted);

/* After job->finish, before the reply goes out: count the request in the
 * metrics and let go of the decoded request. */
void sl_handler_done(const sl_handler_env *env, sl_job *job);

#endif
