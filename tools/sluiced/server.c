/* server.c: see server.h. */
#include "server.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_policy.h"
#include "clock.h"
#include "core/store.h"
#include "dispatch.h"
#include "logger.h"
#include "metrics.h"
#include "proto/sp_frame.h"
#include "slot.h"
#include "sp_server.h"
#include "stop_guard.h"
#include "writer.h"
#include "http_server.h"

#define STOP_GUARD_MS 5000 /* longest wait for the transports to close at shutdown */

struct sl_server {
    sl_config cfg;                 /* our copy; cfg.store.path points into it */
    sl_store *store;
    sl_writer *writer;
    sl_server_counters counters;
    sl_metrics metrics;            /* request metrics for /metrics (metrics.h) */
    sl_handler_env handler_env;    /* what every request borrows (handler.h) */
    sl_sp_server *streams;         /* serves tcp:// and ipc:// (sp_server.h) */
    nng_socket sock;               /* REP: serves tls+tcp://, ws://, wss:// */
    bool sock_open;
    nng_tls_config *tls;
    sl_auth *auth;                 /* API keys; created after the store */
    bool auth_on;                  /* auth_policy.h's decision */
    sl_slot *slots;                /* cfg.max_pending of them, when sock is open */
    size_t nslots;                 /* initialised ones */
    sl_http_env http_env;          /* what HTTP calls borrow */
    sl_http *http;                 /* the HTTP/JSON API, or NULL */
};

static bool url_needs_tls(const char *url)
{
    return strncmp(url, "tls+", 4) == 0 || strncmp(url, "wss://", 6) == 0;
}

/* Read a whole (small, PEM) file into a NUL-terminated malloc'd string. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size >= 0 && size < (1L << 20) && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[size] = 0;
    fclose(f);
    return buf;
}

static int make_tls_config(sl_server *srv)
{
    if (!srv->cfg.tls_cert[0] || !srv->cfg.tls_key[0]) {
        sl_log_error("a tls+tcp:// or wss:// listener needs --tls-cert and --tls-key");
        return -1;
    }
    char *cert = read_pem(srv->cfg.tls_cert);
    char *key = read_pem(srv->cfg.tls_key);
    int rv = NNG_ENOENT;
    if (!cert || !key)
        sl_log_error("cannot read %s", !cert ? srv->cfg.tls_cert : srv->cfg.tls_key);
    else if ((rv = nng_tls_config_alloc(&srv->tls, NNG_TLS_MODE_SERVER)) == 0 &&
             (rv = nng_tls_config_own_cert(srv->tls, cert, key, NULL)) != 0)
        sl_log_error("bad TLS certificate or key: %s", nng_strerror(rv));
    free(cert);
    free(key);
    return rv == 0 ? 0 : -1;
}

static int listen_on(sl_server *srv, const char *url)
{
    nng_listener l;
    int rv = nng_listener_create(&l, srv->sock, url);
    if (rv == 0)
        rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, (size_t)srv->cfg.max_request_bytes * 2);
    if (rv == 0 && url_needs_tls(url)) {
        if (!srv->tls && make_tls_config(srv) != 0)
            return -1;
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, srv->tls);
    }
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    if (rv != 0) {
        sl_log_error("cannot listen on %s: %s", url, nng_strerror(rv));
        return -1;
    }
    sl_log_info("listening on %s", url);
    if (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0)
        sl_log_warn("%s: ws:// and wss:// are served by nng 1.5.2's HTTP server, which "
                    "overruns a buffer on request paths ending in a %%XX escape (before any "
                    "key is checked); prefer tcp:// or tls+tcp://, or keep this listener "
                    "on a trusted network", url);
    return 0;
}

/* The REP socket, for the listeners the stream server does not take. */
static int open_socket(sl_server *srv)
{
    int rv = nng_rep0_open(&srv->sock);
    if (rv != 0) {
        sl_log_error("cannot open socket: %s", nng_strerror(rv));
        return -1;
    }
    srv->sock_open = true;
    return 0;
}

static int start_slots(sl_server *srv)
{
    srv->slots = calloc(srv->cfg.max_pending, sizeof *srv->slots);
    if (!srv->slots) {
        sl_log_error("out of memory for %u request slots", srv->cfg.max_pending);
        return -1;
    }
    for (; srv->nslots < srv->cfg.max_pending; srv->nslots++) {
        int rv = sl_slot_init(&srv->slots[srv->nslots], srv->sock, &srv->handler_env);
        if (rv != 0) {
            sl_log_error("cannot set up request slot: %s", nng_strerror(rv));
            return -1;
        }
    }
    for (size_t i = 0; i < srv->nslots; i++)
        sl_slot_start(&srv->slots[i]);
    return 0;
}

/* Serve every --listen URL: tcp:// and ipc:// on the stream server, the
 * rest on the REP socket and its slots. */
static int start_listeners(sl_server *srv)
{
    srv->handler_env = (sl_handler_env){srv->store, srv->writer, &srv->counters,
                                        srv->cfg.max_request_bytes, &srv->metrics, srv->auth};
    if (sl_sp_server_start(&srv->handler_env, srv->cfg.max_pending,
                           srv->cfg.max_request_bytes * 2, &srv->streams) != SL_OK) {
        sl_log_error("out of memory for %u request slots", srv->cfg.max_pending);
        return -1;
    }
    for (size_t i = 0; i < srv->cfg.nlisten; i++) {
        const char *url = srv->cfg.listen[i];
        if (sp_framing_of(url) != SP_FRAMING_NONE) {
            if (sl_sp_server_listen(srv->streams, url) != 0)
                return -1;
            continue;
        }
        if ((!srv->sock_open && open_socket(srv) != 0) || listen_on(srv, url) != 0)
            return -1;
    }
    return srv->sock_open ? start_slots(srv) : 0;
}

static int open_store(sl_server *srv)
{
    srv->cfg.store.path = srv->cfg.data_dir;
    sl_err rc = sl_store_open(&srv->cfg.store, &srv->store);
    if (rc != SL_OK) {
        sl_log_error("cannot open the store in %s: %s", srv->cfg.data_dir, sl_err_text(rc));
        return -1;
    }
    sl_log_info("store open in %s", srv->cfg.data_dir);
    sl_store_stats st;
    if (sl_store_get_stats(srv->store, &st) == SL_OK && st.journal_replayed)
        sl_log_info("journal: replayed %llu batches a crash left past the last checkpoint",
                    (unsigned long long)st.journal_replayed);
    if (sl_store_get_stats(srv->store, &st) == SL_OK && !st.journal &&
        !srv->cfg.store.relaxed_sync && srv->cfg.store.journal)
        sl_log_warn("journal: no room for it on the disk: every batch is an LMDB commit");
    if (srv->cfg.store.relaxed_sync)
        sl_log_warn("RELAXED SYNC: publishes are acknowledged before fsync (flushed every "
                    "%llu ms); a power loss may lose the last moments",
                    (unsigned long long)srv->cfg.relaxed_sync_ms);
    return 0;
}

/* The HTTP/JSON API, when http-listen URLs are configured. */
static int start_http(sl_server *srv)
{
    bool https = false;
    for (size_t i = 0; i < srv->cfg.nhttp_listen; i++)
        https |= strncmp(srv->cfg.http_listen[i], "https://", 8) == 0;
    if (srv->cfg.nhttp_listen == 0)
        return 0;
    if (https && !srv->tls && make_tls_config(srv) != 0)
        return -1;
    srv->http_env = (sl_http_env){srv->store, srv->writer, &srv->counters, srv->auth,
                                  &srv->metrics, srv->cfg.max_request_bytes};
    return sl_http_start(&srv->http_env, (const char(*)[512])srv->cfg.http_listen,
                         srv->cfg.nhttp_listen, srv->tls, &srv->http);
}

int sl_server_start(const sl_config *cfg, sl_server **out)
{
    sl_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        sl_log_error("out of memory");
        return -1;
    }
    srv->cfg = *cfg;
    srv->counters.started_ms = sl_wall_ms();
    sl_metrics_init(&srv->metrics);
    if (sl_auth_policy_decide(cfg, &srv->auth_on) != 0 || open_store(srv) != 0)
        goto fail;
    if (sl_auth_new(srv->store, srv->auth_on, &srv->auth) != SL_OK) {
        sl_log_error("out of memory for the API key checks");
        goto fail;
    }
    uint64_t sync_ms = cfg->store.relaxed_sync ? (cfg->relaxed_sync_ms ? cfg->relaxed_sync_ms : 100) : 0;
    if (sl_writer_start(srv->store, &srv->counters, cfg->maintenance_ms, sync_ms,
                        &srv->writer) != SL_OK) {
        sl_log_error("cannot start the writer thread");
        goto fail;
    }
    if (start_listeners(srv) != 0 || start_http(srv) != 0)
        goto fail;
    *out = srv;
    return 0;
fail:
    sl_server_stop(srv);
    return -1;
}

void sl_server_stop(sl_server *srv)
{
    if (!srv)
        return;
    if (srv->writer)
        sl_writer_stop(srv->writer); /* commits what is queued, answers parked pulls */
    /* Everything acknowledged is durable now; the rest only lets go of
     * connections and memory, and nng 1.5.2 may never finish it. */
    sl_stop_guard *guard = sl_stop_guard_arm(STOP_GUARD_MS, "closing the connections");
    sl_http_stop(srv->http);         /* no HTTP call is left in the writer */
    sl_sp_server_stop(srv->streams);
    if (srv->sock_open)
        nng_close(srv->sock);        /* every slot's aio completes with NNG_ECLOSED */
    for (size_t i = 0; i < srv->nslots; i++)
        sl_slot_stop(&srv->slots[i]);
    for (size_t i = 0; i < srv->nslots; i++)
        sl_slot_fini(&srv->slots[i]);
    free(srv->slots);
    sl_writer_free(srv->writer);
    sl_auth_free(srv->auth);
    if (srv->tls)
        nng_tls_config_free(srv->tls);
    sl_store_close(srv->store);
    free(srv);
    sl_stop_guard_disarm(guard);
}
