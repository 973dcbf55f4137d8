/* sp_pool.c: see sp_pool.h. */
#include "sp_pool.h"

#include <stdlib.h>
#include <string.h>

#define KEEP_BYTES (16u * 1024u) /* request and reply bytes a free call keeps */

sl_err sl_sp_pool_init(sl_sp_pool *pool, size_t n)
{
    memset(pool, 0, sizeof *pool);
    pool->calls = calloc(n ? n : 1, sizeof *pool->calls);
    if (!pool->calls || pthread_mutex_init(&pool->mu, NULL) != 0) {
        free(pool->calls);
        pool->calls = NULL;
        return SL_ERR_NOMEM;
    }
    pool->n = n;
    for (size_t i = n; i-- > 0;) {
        sl_reply_init(&pool->calls[i].job.reply);
        pool->calls[i].next = pool->free;
        pool->free = &pool->calls[i];
    }
    return SL_OK;
}

void sl_sp_pool_fini(sl_sp_pool *pool)
{
    if (!pool->calls)
        return;
    for (size_t i = 0; i < pool->n; i++) {
        sl_reply_free(&pool->calls[i].job.reply);
        free(pool->calls[i].buf);
    }
    free(pool->calls);
    pool->calls = NULL;
    pthread_mutex_destroy(&pool->mu);
}

sl_sp_call *sl_sp_pool_take(sl_sp_pool *pool, sl_sp_conn *conn)
{
    pthread_mutex_lock(&pool->mu);
    sl_sp_call *call = pool->free;
    if (call)
        pool->free = call->next;
    pthread_mutex_unlock(&pool->mu);
    if (call) {
        call->conn = conn;
        call->next = NULL;
        call->len = 0;
        call->backtrace_len = 0;
    }
    return call;
}

sl_err sl_sp_call_reserve(sl_sp_call *call, size_t len)
{
    if (len <= call->cap)
        return SL_OK;
    uint8_t *buf = realloc(call->buf, len);
    if (!buf)
        return SL_ERR_NOMEM;
    call->buf = buf;
    call->cap = len;
    return SL_OK;
}

void sl_sp_pool_give(sl_sp_pool *pool, sl_sp_call *call)
{
    if (call->cap > KEEP_BYTES) {
        free(call->buf);
        call->buf = NULL;
        call->cap = 0;
    }
    sl_reply_shrink(&call->job.reply, KEEP_BYTES);
    call->conn = NULL;
    pthread_mutex_lock(&pool->mu);
    call->next = pool->free;
    pool->free = call;
    pthread_mutex_unlock(&pool->mu);
}
