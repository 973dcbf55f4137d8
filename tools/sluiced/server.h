/* server.h: the daemon as one object: it owns the store, the writer thread,
 * its listeners (the stream server for tcp:// and ipc://, the nng REP
 * socket and its slots for the rest) and the requests in flight. Start it,
 * wait for a signal, stop it. */
#ifndef SLUICE_SLUICED_SERVER_H
#define SLUICE_SLUICED_SERVER_H

#include "config.h"

typedef struct sl_server sl_server;

/* Open the store, start the writer, listen on every configured URL and start
 * serving. cfg is copied. Returns 0 and *out (owned by the caller: free with
 * sl_server_stop), or -1 after logging why. */
int sl_server_start(const sl_config *cfg, sl_server **out);

/* Stop serving: queued writes finish and commit, parked long-polls get
 * their (empty) answer, listeners close, the store closes. Frees srv.
 * Once the writer has stopped, the rest may take 5 s at most: then the
 * process exits with status 0 (stop_guard.h says why). */
void sl_server_stop(sl_server *srv);

#endif
