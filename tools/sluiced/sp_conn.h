/* sp_conn.h: one client connection of the stream server (sp_server.h): the
 * daemon's end of nng's REQ/REP wire format (proto/sp_frame.h), spoken over
 * an nng stream the daemon owns.
 *
 * Each connection runs two chains of callbacks:
 *   receive: handshake -> frame head -> [a call from the pool] -> request
 *            bytes -> handler (handler.h) -> next frame head ...
 *   send:    handshake -> reply -> reply ...  (replies in the order they finish)
 * A peer may have many requests in flight (an nng REQ socket with contexts
 * sends them without waiting, long-polls among them). Each holds a call of
 * the shared pool (sp_pool.h) from its frame head to its reply; when every
 * call is taken, reading waits for one. An idle connection holds none. When SL_SP_QUEUED_MAX replies wait for the peer to take them, reading
 * waits too: a peer that does not read cannot make the daemon hold more.
 *
 * What ends a connection: the peer closing it; a handshake that is not an SP
 * REQ peer's or does not come within 10 s; a malformed or oversized frame;
 * a request that stops half-way for 30 s; a reply the peer does not take
 * within 30 s. The daemon closes the stream itself, so a peer that goes away
 * with replies backed up leaves nothing behind.
 *
 * Ownership: sl_sp_conn_open takes the stream. The connection belongs to
 * the server; when it has closed and nothing refers to it any more (no
 * callback pending, no request at the writer), env->on_dead hands it back,
 * and the server frees it with sl_sp_conn_free from a thread of its own. */
#ifndef SLUICE_SLUICED_SP_CONN_H
#define SLUICE_SLUICED_SP_CONN_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/error.h"
#include "handler.h"
#include "proto/sp_frame.h"
#include "sp_pool.h"

#define SL_SP_QUEUED_MAX 64 /* replies waiting to go out on one connection */

/* What every connection borrows from the server. */
typedef struct sl_sp_conn_env {
    const sl_handler_env *handler;
    sl_sp_pool *pool;
    uint64_t max_frame_bytes;                   /* bigger frames end the connection */
    void (*on_dead)(void *arg, sl_sp_conn *c);  /* must not free c on this thread */
    void *on_dead_arg;
} sl_sp_conn_env;

/* A connection on stream (taken: freed here on failure too), not serving
 * yet. trusted: it came through an ipc:// listener, so its requests need no
 * API key. Errors: SL_ERR_NOMEM. */
sl_err sl_sp_conn_open(const sl_sp_conn_env *env, nng_stream *stream, sp_framing framing,
                       bool trusted, sl_sp_conn **out);

/* Start serving (once the server has it in its list: on_dead may come
 * before this returns). */
void sl_sp_conn_run(sl_sp_conn *c);

/* Close it: what is in flight finishes, then on_dead. Any thread but
 * with no lock of the connection held; again is harmless. */
void sl_sp_conn_close(sl_sp_conn *c);

/* Links in the server's lists of connections, for the server to use. */
typedef struct sl_sp_conn_links {
    sl_sp_conn *prev, *next; /* the live ones */
    sl_sp_conn *dead_next;   /* handed back, to be freed */
} sl_sp_conn_links;

sl_sp_conn_links *sl_sp_conn_links_of(sl_sp_conn *c);

/* Free c, once on_dead has handed it back (or when it never ran); not on
 * one of its callbacks. */
void sl_sp_conn_free(sl_sp_conn *c);

#endif
