/* slot.h: one nng REP context: receive a request, hand it to the handler
 * (handler.h), send the reply. This is the transport of the listeners that
 * need nng's socket layer: tls+tcp://, ws://, wss:// (tcp:// and ipc:// are
 * served by the stream server, sp_listen.h). None of them is trusted: every
 * request needs its API key when keys are on.
 *
 * The server owns an array of slots (one per concurrent request it allows).
 * Each slot is a small state machine driven by its one aio:
 *   RECEIVING -> (handler: read op answered at once | write op: writer) -> SENDING -> RECEIVING
 * The slot owns the request message while it works on it, its job (job.h)
 * and the job's reply buffer, and frees them at sl_slot_fini. */
#ifndef SLUICE_SLUICED_SLOT_H
#define SLUICE_SLUICED_SLOT_H

#include <nng/nng.h>
#include "handler.h"
#include "job.h"

typedef enum sl_slot_state { SL_SLOT_IDLE, SL_SLOT_RECEIVING, SL_SLOT_WORKING, SL_SLOT_SENDING } sl_slot_state;

typedef struct sl_slot {
    sl_job job;                /* must stay first: the writer hands back &job */
    const sl_handler_env *env; /* borrowed from the server */
    nng_ctx ctx;
    nng_aio *aio;
    nng_msg *request;          /* the message being worked on (owned), or NULL */
    sl_slot_state state;
} sl_slot;

/* Set up slot on socket sock. Returns 0 or an nng error. */
int sl_slot_init(sl_slot *slot, nng_socket sock, const sl_handler_env *env);

/* Start receiving. */
void sl_slot_start(sl_slot *slot);

/* Wait for the slot's aio to stop (the socket must be closed first). */
void sl_slot_stop(sl_slot *slot);

/* Free what the slot owns. After sl_slot_stop. */
void sl_slot_fini(sl_slot *slot);

#endif
