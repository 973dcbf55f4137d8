/* slot.h: one nng REP context: receive a request, route it, send the reply.
 *
 * The server owns an array of slots (one per concurrent request it allows).
 * Each slot is a small state machine driven by its one aio:
 *   RECEIVING -> (decode; read op: answer at once | write op: writer) -> SENDING -> RECEIVING
 * The slot owns the request message while it works on it, its job (job.h)
 * and the job's reply buffer, and frees them at sl_slot_fini. */
#ifndef SLUICE_SLUICED_SLOT_H
#define SLUICE_SLUICED_SLOT_H

#include <nng/nng.h>
#include <stdint.h>
#include "core/store.h"
#include "dispatch.h"
#include "job.h"
#include "auth.h"
#include "metrics.h"
#include "writer.h"

/* What every slot shares: borrowed pointers, all owned by the server. */
typedef struct sl_slot_env {
    sl_store *store;
    sl_writer *writer;
    sl_server_counters *counters;
    uint64_t max_request_bytes;
    sl_metrics *metrics;          /* request counts and latencies (metrics.h) */
    sl_auth *auth;                /* API keys (auth.h) */
    const int *trusted_listeners; /* ids of the ipc:// listeners: their requests need
                                     no key (the socket file's permissions guard them) */
    size_t ntrusted_listeners;
} sl_slot_env;

typedef enum sl_slot_state { SL_SLOT_IDLE, SL_SLOT_RECEIVING, SL_SLOT_WORKING, SL_SLOT_SENDING } sl_slot_state;

typedef struct sl_slot {
    sl_job job;                /* must stay first: the writer hands back &job */
    const sl_slot_env *env;
    nng_ctx ctx;
    nng_aio *aio;
    nng_msg *request;          /* the message being worked on (owned), or NULL */
    bool decoded;              /* job.req must be released */
    sl_slot_state state;
} sl_slot;

/* Set up slot on socket sock. Returns 0 or an nng error. */
int sl_slot_init(sl_slot *slot, nng_socket sock, const sl_slot_env *env);

/* Start receiving. */
void sl_slot_start(sl_slot *slot);

/* Wait for the slot's aio to stop (the socket must be closed first). */
void sl_slot_stop(sl_slot *slot);

/* Free what the slot owns. After sl_slot_stop. */
void sl_slot_fini(sl_slot *slot);

#endif
