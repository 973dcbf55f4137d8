/* sp_pool.h: the calls of the stream server (sp_server.h): one per request
 * in flight on any of its connections, taken from a fixed pool.
 *
 * A call holds what one request needs on its way through: the job the
 * handler and the writer work on (job.h), the request's bytes, and the
 * backtrace its reply must echo. The pool is sized once (--max-pending), so
 * requests in flight and their memory are bounded however many connections
 * there are; a connection that finds the pool empty waits (sp_conn.c).
 *
 * Ownership: the pool owns the calls and their buffers. A taken call
 * belongs to the connection that took it until it gives it back. The pool
 * is shared by the connections' threads and the writer: take and give lock
 * it. */
#ifndef SLUICE_SLUICED_SP_POOL_H
#define SLUICE_SLUICED_SP_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "job.h"
#include "proto/sp_frame.h"
#include "core/error.h"

#define SL_SP_BACKTRACE_MAX 8 /* words a request's backtrace may have (nng's TTL limit) */

typedef struct sl_sp_conn sl_sp_conn;

typedef struct sl_sp_call {
    sl_job job;              /* must stay first: the writer hands back &job */
    sl_sp_conn *conn;        /* the connection it serves; borrowed while taken */
    uint8_t *buf;            /* the request's bytes, backtrace first (owned) */
    size_t cap;              /* bytes buf holds */
    size_t len;              /* bytes of the current request */
    uint8_t head[SP_HEAD_MAX + SL_SP_BACKTRACE_MAX * SP_WORD_LEN];
                             /* the reply's frame head, then the backtrace */
    size_t backtrace_len;    /* bytes of backtrace in the request (and reply) */
    struct sl_sp_call *next; /* free list, or the connection's send queue */
} sl_sp_call;

typedef struct sl_sp_pool {
    pthread_mutex_t mu;
    sl_sp_call *calls;       /* n of them (owned) */
    size_t n;
    sl_sp_call *free;        /* not taken */
} sl_sp_pool;

/* Set up n calls. SL_ERR_NOMEM when memory is short. */
sl_err sl_sp_pool_init(sl_sp_pool *pool, size_t n);

/* Free every call and buffer; no call may be taken. */
void sl_sp_pool_fini(sl_sp_pool *pool);

/* A free call for conn, or NULL when every call is taken. */
sl_sp_call *sl_sp_pool_take(sl_sp_pool *pool, sl_sp_conn *conn);

/* Room for a request of len bytes in call->buf: SL_ERR_NOMEM when the
 * memory cannot be had (the call is unchanged). */
sl_err sl_sp_call_reserve(sl_sp_call *call, size_t len);

/* Give call back; big buffers are let go so an idle pool stays small. */
void sl_sp_pool_give(sl_sp_pool *pool, sl_sp_call *call);

#endif
