/* sp_server.c: see sp_server.h. */
#include "sp_server.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "logger.h"
#include "sp_conn.h"
#include "sp_pool.h"

#define LISTEN_MAX 8          /* listeners per server */
#define ACCEPT_PAUSE_MS 100   /* after a failed accept (no fds left...) */

typedef struct listener {
    sl_sp_server *srv;
    nng_stream_listener *l;   /* owned */
    nng_aio *accept;          /* owned; callback on_accept */
    sp_framing framing;
    bool trusted;             /* ipc://: the socket file's permissions guard it */
    bool pausing;             /* accept is a pause after a failure */
} listener;

struct sl_sp_server {
    sl_sp_pool pool;
    sl_sp_conn_env conn_env;
    listener listeners[LISTEN_MAX];
    size_t nlisteners;
    pthread_mutex_t mu;       /* guards live */
    pthread_cond_t gone;      /* a connection was freed */
    sl_sp_conn *live;         /* every connection not yet freed (counted in the
                                 handler's counters->connections) */
    pthread_mutex_t dead_mu;  /* guards dead, stopping */
    pthread_cond_t dead_cv;
    sl_sp_conn *dead;         /* handed back, to be freed by the reaper */
    bool stopping;
    pthread_t reaper;
    bool reaper_started;
};

/* ---- the connections' list, and the reaper -----------------------------------
 * Lock order: mu, then a connection's own lock, then dead_mu. A connection
 * is taken off the live list only by the reaper, under mu, so whoever holds
 * mu may touch every connection on it. */

static void link_live(sl_sp_server *s, sl_sp_conn *c)
{
    sl_sp_conn_links *k = sl_sp_conn_links_of(c);
    pthread_mutex_lock(&s->mu);
    k->prev = NULL;
    k->next = s->live;
    if (s->live)
        sl_sp_conn_links_of(s->live)->prev = c;
    s->live = c;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->conn_env.handler->counters->connections, 1);
}

static void unlink_live(sl_sp_server *s, sl_sp_conn *c)
{
    sl_sp_conn_links *k = sl_sp_conn_links_of(c);
    if (k->prev)
        sl_sp_conn_links_of(k->prev)->next = k->next;
    else
        s->live = k->next;
    if (k->next)
        sl_sp_conn_links_of(k->next)->prev = k->prev;
    atomic_fetch_sub(&s->conn_env.handler->counters->connections, 1);
}

/* sl_sp_conn_env.on_dead: on one of c's threads; the reaper frees it. */
static void on_dead(void *arg, sl_sp_conn *c)
{
    sl_sp_server *s = arg;
    pthread_mutex_lock(&s->dead_mu);
    sl_sp_conn_links_of(c)->dead_next = s->dead;
    s->dead = c;
    pthread_cond_signal(&s->dead_cv);
    pthread_mutex_unlock(&s->dead_mu);
}

static void *reaper_main(void *arg)
{
    sl_sp_server *s = arg;
    pthread_mutex_lock(&s->dead_mu);
    for (;;) {
        while (!s->dead && !s->stopping)
            pthread_cond_wait(&s->dead_cv, &s->dead_mu);
        sl_sp_conn *batch = s->dead;
        s->dead = NULL;
        if (!batch && s->stopping)
            break;
        pthread_mutex_unlock(&s->dead_mu);
        for (sl_sp_conn *c = batch, *next; c; c = next) {
            next = sl_sp_conn_links_of(c)->dead_next;
            pthread_mutex_lock(&s->mu);
            unlink_live(s, c);
            pthread_mutex_unlock(&s->mu);
            sl_sp_conn_free(c);
            pthread_mutex_lock(&s->mu);
            pthread_cond_broadcast(&s->gone);
            pthread_mutex_unlock(&s->mu);
        }
        pthread_mutex_lock(&s->dead_mu);
    }
    pthread_mutex_unlock(&s->dead_mu);
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------ */

static void on_accept(void *arg)
{
    listener *l = arg;
    int rv = nng_aio_result(l->accept);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    if (l->pausing || rv != 0) {
        if (!l->pausing) { /* out of fds, say: do not spin on it */
            sl_log_warn("accepting a connection failed: %s", nng_strerror(rv));
            l->pausing = true;
            nng_sleep_aio(ACCEPT_PAUSE_MS, l->accept);
            return;
        }
        l->pausing = false;
        nng_stream_listener_accept(l->l, l->accept);
        return;
    }
    nng_stream *stream = nng_aio_get_output(l->accept, 0);
    sl_sp_conn *c;
    if (sl_sp_conn_open(&l->srv->conn_env, stream, l->framing, l->trusted, &c) == SL_OK) {
        link_live(l->srv, c);
        sl_sp_conn_run(c);
    } else {
        sl_log_error("out of memory for a new connection");
    }
    nng_stream_listener_accept(l->l, l->accept);
}

int sl_sp_server_listen(sl_sp_server *s, const char *url)
{
    sp_framing framing = sp_framing_of(url);
    if (s->nlisteners == LISTEN_MAX || framing == SP_FRAMING_NONE) {
        sl_log_error("cannot listen on %s: %s", url,
                     framing == SP_FRAMING_NONE ? "not a tcp:// or ipc:// URL" : "too many listeners");
        return NNG_EINVAL;
    }
    listener *l = &s->listeners[s->nlisteners];
    *l = (listener){.srv = s, .framing = framing, .trusted = framing == SP_FRAMING_IPC};
    int rv = nng_stream_listener_alloc(&l->l, url);
    if (rv == 0)
        rv = nng_stream_listener_listen(l->l);
    if (rv == 0)
        rv = nng_aio_alloc(&l->accept, on_accept, l);
    if (rv != 0) {
        sl_log_error("cannot listen on %s: %s", url, nng_strerror(rv));
        nng_stream_listener_free(l->l);
        return rv;
    }
    s->nlisteners++;
    nng_stream_listener_accept(l->l, l->accept);
    sl_log_info("listening on %s", url);
    return 0;
}

/* ---- start and stop --------------------------------------------------------------- */

sl_err sl_sp_server_start(const sl_handler_env *handler, size_t max_pending,
                          uint64_t max_frame_bytes, sl_sp_server **out)
{
    *out = NULL;
    sl_sp_server *s = calloc(1, sizeof *s);
    if (!s)
        return SL_ERR_NOMEM;
    if (sl_sp_pool_init(&s->pool, max_pending) != SL_OK) {
        free(s);
        return SL_ERR_NOMEM;
    }
    s->conn_env = (sl_sp_conn_env){handler, &s->pool, max_frame_bytes, on_dead, s};
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->gone, NULL);
    pthread_mutex_init(&s->dead_mu, NULL);
    pthread_cond_init(&s->dead_cv, NULL);
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        sl_sp_server_stop(s);
        return SL_ERR_NOMEM;
    }
    s->reaper_started = true;
    *out = s;
    return SL_OK;
}

static void close_listeners(sl_sp_server *s)
{
    for (size_t i = 0; i < s->nlisteners; i++)
        nng_stream_listener_close(s->listeners[i].l);
    for (size_t i = 0; i < s->nlisteners; i++) {
        nng_aio_stop(s->listeners[i].accept); /* no accept callback runs after this */
        nng_aio_free(s->listeners[i].accept);
        nng_stream_listener_free(s->listeners[i].l);
    }
    s->nlisteners = 0;
}

/* Close every connection and wait until the reaper has freed them all. */
static void close_connections(sl_sp_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (sl_sp_conn *c = s->live; c; c = sl_sp_conn_links_of(c)->next)
        sl_sp_conn_close(c);
    while (s->live)
        pthread_cond_wait(&s->gone, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void sl_sp_server_stop(sl_sp_server *s)
{
    if (!s)
        return;
    close_listeners(s);
    if (s->reaper_started) {
        close_connections(s);
        pthread_mutex_lock(&s->dead_mu);
        s->stopping = true;
        pthread_cond_signal(&s->dead_cv);
        pthread_mutex_unlock(&s->dead_mu);
        pthread_join(s->reaper, NULL);
    }
    pthread_cond_destroy(&s->dead_cv);
    pthread_mutex_destroy(&s->dead_mu);
    pthread_cond_destroy(&s->gone);
    pthread_mutex_destroy(&s->mu);
    sl_sp_pool_fini(&s->pool);
    free(s);
}
