/* sp_server.h: the stream server: serves the tcp:// and ipc:// listeners by
 * speaking nng's REQ/REP wire format over nng streams the daemon owns
 * (sp_conn.h), rather than through an nng REP socket (slot.h).
 *
 * Why: the daemon then holds each connection and can close it. With nng
 * 1.5.2's REP socket, a client that reset with replies backed up left its
 * connection and file descriptor behind for good (README, "Running
 * sluiced"); here a reply not taken within 30 s, or a reset, closes the
 * connection. It also saves the REP socket's hand-offs between threads.
 * Clients see no difference: any nng REQ socket, or the C client's own
 * streams (proto/client_conn.h), talks to it.
 *
 * It owns the listeners, the connections, the pool of calls (sp_pool.h)
 * and a reaper thread that frees connections once they are done. It counts
 * the connections open in the handler's counters (sluice_connections). */
#ifndef SLUICE_SLUICED_SP_SERVER_H
#define SLUICE_SLUICED_SP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "handler.h"

typedef struct sl_sp_server sl_sp_server;

/* A server with max_pending calls (requests in flight, long-polls
 * included, over all its connections) whose requests go to handler
 * (borrowed until sl_sp_server_stop returns); frames over max_frame_bytes
 * end their connection. Errors: SL_ERR_NOMEM. */
sl_err sl_sp_server_start(const sl_handler_env *handler, size_t max_pending,
                          uint64_t max_frame_bytes, sl_sp_server **out);

/* Listen on url (tcp://... or ipc://...; sp_framing_of says which it
 * takes). Returns 0 or an nng error number, after logging why. */
int sl_sp_server_listen(sl_sp_server *s, const char *url);

/* Stop listening, close every connection, wait until they are done, free.
 * Call it after the writer has stopped, so that no request is left there.
 * NULL is ignored. */
void sl_sp_server_stop(sl_sp_server *s);

#endif
