/* driver_jetstream.c: NATS JetStream (file store) under the benchmark (see
 * driver.h).
 *
 * The driver runs the Debian nats-server as
 *   nats-server -js -a 127.0.0.1 -p <free port> -sd <workdir>/js
 * (no monitoring port), its output in <workdir>/nats-server.log.
 *
 *   setup     stream "bench" on subject "bench.event": file storage, limits
 *             retention, no limits; durable pull consumer "g": explicit ack,
 *             ack wait 60 s, deliver all, max ack pending 1,000,000 (far
 *             above what the workers ever hold unacked; see setup)
 *   publish   n x js_PublishAsync, then js_PublishAsyncComplete: JetStream's
 *             pipelined publish, returning once every message has its ack
 *   pull_ack  natsSubscription_Fetch(max, wait_ms) on a pull subscription
 *             bound to "g", then natsMsg_Ack on each message: the
 *             asynchronous ack (sent without waiting for a confirmation),
 *             like sluice's batched ack; not natsMsg_AckSync
 *   pull_next the same: the acks already go out without a round trip of
 *             their own, so nothing is held between calls
 *   disk      allocated size of <workdir>/js
 *   restart   SIGTERM, start again on the same store, time until a connect
 *             and the stream's info answer
 *
 * Durability: JetStream acknowledges a publish once the message is written
 * to its file store, without fsync; it syncs every 2 minutes by default.
 *
 * The nats library: nats_Open is called by start (it is idempotent), and
 * stop tears the library down with nats_CloseAndWait once every connection
 * of its system is closed (each system counts its open connections). So at
 * most one JetStream system may exist at a time in the process; the
 * benchmark runs its systems one after the other. Connections reconnect by
 * themselves after restart, but the benchmark should rather connect anew.
 */
#include "tools/bench/driver.h"
#include "tools/bench/server_proc.h"

#include <limits.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NATS_FIXED_PATH "/usr/sbin/nats-server"
#define STREAM "bench"
#define SUBJECT "bench.event"
#define CONSUMER "g"

enum {
    READY_TIMEOUT_MS = 300000,  /* start-up incl. recovering the store after restart */
    PROBE_TIMEOUT_MS = 500,     /* one readiness probe: connect + one API request */
    CONNECT_TIMEOUT_MS = 5000,  /* a benchmark connection */
    API_WAIT_MS = 10000,        /* JetStream API requests (stream info, add stream, ...) */
    PUBLISH_WAIT_MS = 30000,    /* all acks of one published batch */
    DISCONNECT_WAIT_MS = 5000,  /* outstanding publish acks when disconnecting */
    CLOSE_WAIT_MS = 5000,       /* nats library threads winding down */
    FETCH_MIN_WAIT_MS = 10,     /* Fetch needs a positive wait: floor for wait_ms 0 */
    ACK_WAIT_S = 60,            /* consumer ack wait */
    MAX_ACK_PENDING = 1000000,  /* consumer's cap on delivered, unacked messages */
    TERM_EXIT_CODE = 1,         /* nats-server exits 1 after a clean SIGTERM shutdown */
    START_ATTEMPTS = 3          /* fresh ports tried when the server does not come up */
};

struct bench_system {
    server_proc proc;             /* the nats-server child */
    char binary[PATH_MAX];        /* path of nats-server */
    char store_dir[PATH_MAX];     /* <workdir>/js: the JetStream store measured */
    char log_path[PATH_MAX];      /* <workdir>/nats-server.log: the child's output */
    char port_arg[16];            /* the port as text, for argv */
    char url[48];                 /* nats://127.0.0.1:<port> */
    atomic_int open_conns;        /* connections not yet disconnected */
    atomic_bool stream_ready;     /* setup created the stream: probes ask for its info */
    pthread_mutex_t orphans_lock; /* guards orphans */
    bench_conn *orphans;          /* closed connections the library may still call back */
};

struct bench_conn {
    bench_system *sys;            /* the server this connection talks to */
    natsConnection *nc;           /* the NATS connection (owned) */
    jsCtx *js;                    /* JetStream context on nc (owned) */
    natsSubscription *sub;        /* pull subscription bound to "g", made by the first pull */
    atomic_size_t publish_errors; /* failed async publishes of the current batch */
    bench_conn *next_orphan;      /* link in sys->orphans */
};

/* Print why a call failed; the library's last error text when it is about
 * the same status. */
static int nats_fail(const char *what, natsStatus s, jsErrCode jerr)
{
    natsStatus last_status = NATS_OK;
    const char *last = nats_GetLastError(&last_status);
    fprintf(stderr, "jetstream: %s: %s", what, natsStatus_GetText(s));
    if (jerr != 0)
        fprintf(stderr, " (JetStream error %d)", (int)jerr);
    if (last != NULL && last[0] != '\0' && last_status == s)
        fprintf(stderr, ": %s", last);
    fputc('\n', stderr);
    return -1;
}

static natsStatus open_nats(const char *url, int64_t timeout_ms, bool reconnect,
                            natsConnection **nc)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, timeout_ms);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(opts, reconnect);
    /* Write each publish, pull request and ack at once: the library's
     * flusher otherwise waits 1 ms to gather writes, adding a millisecond
     * to every round trip (single publishes went from 1.0 to 0.2 ms). */
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(opts, true);
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

/* ---- server ---------------------------------------------------------- */

/* One API request that shows JetStream is serving: the stream's info once
 * setup made it, else the account info. */
static natsStatus ask_jetstream(jsCtx *js, bool stream_ready)
{
    jsErrCode jerr = 0;
    natsStatus s;
    if (stream_ready) {
        jsStreamInfo *si = NULL;
        s = js_GetStreamInfo(&si, js, STREAM, NULL, &jerr);
        jsStreamInfo_Destroy(si);
    } else {
        jsAccountInfo *ai = NULL;
        s = js_GetAccountInfo(&ai, js, NULL, &jerr);
        jsAccountInfo_Destroy(ai);
    }
    return s;
}

/* Readiness probe: connect, then one JetStream API request answers. */
static int probe_jetstream(void *arg)
{
    bench_system *sys = arg;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = PROBE_TIMEOUT_MS;
    natsStatus s = open_nats(sys->url, PROBE_TIMEOUT_MS, false, &nc);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, &jo);
    if (s == NATS_OK)
        s = ask_jetstream(js, atomic_load(&sys->stream_ready));
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return s == NATS_OK ? 0 : -1;
}

static int launch(bench_system *sys)
{
    char *argv[] = {sys->binary, "-js", "-a", "127.0.0.1", "-p", sys->port_arg,
                    "-sd", sys->store_dir, NULL};
    if (server_proc_spawn(&sys->proc, "nats-server", argv, sys->log_path, TERM_EXIT_CODE) != 0)
        return -1;
    if (server_proc_wait_ready(&sys->proc, probe_jetstream, sys, READY_TIMEOUT_MS) != 0) {
        server_proc_stop(&sys->proc);
        return -1;
    }
    return 0;
}

static int prepare(bench_system *sys, const char *workdir)
{
    if (server_proc_find(NATS_FIXED_PATH, "nats-server", sys->binary, sizeof sys->binary) != 0) {
        fprintf(stderr, "jetstream: nats-server is not installed\n");
        return -1;
    }
    int a = snprintf(sys->store_dir, sizeof sys->store_dir, "%s/js", workdir);
    int b = snprintf(sys->log_path, sizeof sys->log_path, "%s/nats-server.log", workdir);
    if (a < 0 || (size_t)a >= sizeof sys->store_dir || b < 0
        || (size_t)b >= sizeof sys->log_path) {
        fprintf(stderr, "jetstream: work directory path too long\n");
        return -1;
    }
    int port;
    if (server_proc_free_port("nats-server", &port) != 0)
        return -1;
    snprintf(sys->port_arg, sizeof sys->port_arg, "%d", port);
    snprintf(sys->url, sizeof sys->url, "nats://127.0.0.1:%d", port);
    return 0;
}

static void free_orphans(bench_system *sys)
{
    while (sys->orphans != NULL) {
        bench_conn *conn = sys->orphans;
        sys->orphans = conn->next_orphan;
        free(conn);
    }
}

/* Tear the nats library down when no connection of sys is open; then no
 * library thread can call back into an orphaned connection any more. */
static void close_library(bench_system *sys)
{
    int open = atomic_load(&sys->open_conns);
    if (open != 0) {
        fprintf(stderr, "jetstream: %d connections still open: nats library left open\n", open);
        return;
    }
    natsStatus s = nats_CloseAndWait(CLOSE_WAIT_MS);
    if (s != NATS_OK) {
        nats_fail("closing the nats library", s, 0);
        return;
    }
    free_orphans(sys);
}

static int start(const char *workdir, bench_system **out)
{
    *out = NULL;
    natsStatus s = nats_Open(-1);
    if (s != NATS_OK)
        return nats_fail("opening the nats library", s, 0);
    bench_system *sys = calloc(1, sizeof *sys);
    if (sys == NULL) {
        fprintf(stderr, "jetstream: out of memory\n");
        return -1;
    }
    atomic_init(&sys->open_conns, 0);
    atomic_init(&sys->stream_ready, false);
    if (pthread_mutex_init(&sys->orphans_lock, NULL) != 0) {
        fprintf(stderr, "jetstream: cannot create a mutex\n");
        free(sys);
        return -1;
    }
    int rc = -1;
    /* Another process may take the free port first: then try another. */
    for (int attempt = 0; rc != 0 && attempt < START_ATTEMPTS; attempt++) {
        if (prepare(sys, workdir) != 0)
            break;
        rc = launch(sys);
    }
    if (rc != 0) {
        close_library(sys);
        pthread_mutex_destroy(&sys->orphans_lock);
        free(sys);
        return -1;
    }
    *out = sys;
    return 0;
}

static void stop(bench_system *sys)
{
    if (sys == NULL)
        return;
    server_proc_stop(&sys->proc);
    close_library(sys);
    pthread_mutex_destroy(&sys->orphans_lock);
    free(sys);
}

static int launch_cb(void *sys)
{
    return launch(sys);
}

static int restart(bench_system *sys, double *ready_ms)
{
    return server_proc_restart(&sys->proc, "jetstream", launch_cb, sys, ready_ms);
}

static uint64_t disk_bytes(bench_system *sys)
{
    return server_proc_disk_bytes(sys->store_dir);
}

static pid_t server_pid(bench_system *sys)
{
    return sys->proc.pid;
}

/* ---- connections ----------------------------------------------------- */

/* Called on a library thread for each async publish the server refused or
 * that failed: counted, the first of a batch printed. */
static void on_publish_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    bench_conn *conn = closure;
    if (atomic_fetch_add(&conn->publish_errors, 1) == 0)
        fprintf(stderr, "jetstream: publish refused: %s (JetStream error %d)\n",
                pae->ErrText != NULL ? pae->ErrText : natsStatus_GetText(pae->Err),
                (int)pae->ErrCode);
}

static int connect_to(bench_system *sys, bench_conn **out)
{
    *out = NULL;
    bench_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        fprintf(stderr, "jetstream: out of memory\n");
        return -1;
    }
    conn->sys = sys;
    atomic_init(&conn->publish_errors, 0);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = API_WAIT_MS;
    jo.PublishAsync.MaxPending = 0; /* no cap: a batch of n is pipelined whole */
    jo.PublishAsync.ErrHandler = on_publish_error;
    jo.PublishAsync.ErrHandlerClosure = conn;
    natsStatus s = open_nats(sys->url, CONNECT_TIMEOUT_MS, true, &conn->nc);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&conn->js, conn->nc, &jo);
    if (s != NATS_OK) {
        nats_fail("connect", s, 0);
        jsCtx_Destroy(conn->js);
        natsConnection_Destroy(conn->nc);
        free(conn);
        return -1;
    }
    atomic_fetch_add(&sys->open_conns, 1);
    *out = conn;
    return 0;
}

/* Waits for outstanding publish acks; a connection that still has some is
 * kept (orphaned) until stop, since the library may yet call
 * on_publish_error with it. */
static void disconnect(bench_conn *conn)
{
    if (conn == NULL)
        return;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = DISCONNECT_WAIT_MS;
    bool settled = js_PublishAsyncComplete(conn->js, &po) == NATS_OK;
    natsSubscription_Destroy(conn->sub);
    jsCtx_Destroy(conn->js);
    natsConnection_Destroy(conn->nc); /* closes: flushes pending acks first */
    bench_system *sys = conn->sys;
    atomic_fetch_sub(&sys->open_conns, 1);
    if (settled) {
        free(conn);
        return;
    }
    fprintf(stderr, "jetstream: disconnect with publishes still unacknowledged\n");
    pthread_mutex_lock(&sys->orphans_lock);
    conn->next_orphan = sys->orphans;
    sys->orphans = conn;
    pthread_mutex_unlock(&sys->orphans_lock);
}

/* The consumer's cap on unacked messages must exceed what all workers hold
 * at once (consumers x batch). The server's default is 1000 for explicit
 * ack, and nats.c sends max_ack_pending only when it is > 0, so -1 ("no
 * limit") silently became 1000: with 4 workers fetching 1000 each, the
 * server stalled at 1000 unacked, every Fetch got a partial batch and then
 * sat out its whole wait before returning (and acking), 13k events/s. The
 * value the server accepted is checked, so a cap it rewrites cannot skew
 * the benchmark unnoticed again. */
static int check_consumer(const jsConsumerInfo *ci)
{
    if (ci == NULL || ci->Config == NULL) {
        fprintf(stderr, "jetstream: add consumer " CONSUMER ": no consumer info returned\n");
        return -1;
    }
    if (ci->Config->MaxAckPending != MAX_ACK_PENDING) {
        fprintf(stderr, "jetstream: consumer " CONSUMER ": max ack pending is %lld, not %d\n",
                (long long)ci->Config->MaxAckPending, MAX_ACK_PENDING);
        return -1;
    }
    return 0;
}

static int setup(bench_conn *conn)
{
    const char *subjects[] = {SUBJECT};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc); /* no limits on messages, bytes, age */
    sc.Name = STREAM;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(NULL, conn->js, &sc, NULL, &jerr);
    if (s != NATS_OK)
        return nats_fail("add stream " STREAM, s, jerr);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = CONSUMER;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)ACK_WAIT_S * 1000000000;
    cc.DeliverPolicy = js_DeliverAll;
    cc.MaxAckPending = MAX_ACK_PENDING;
    jsConsumerInfo *ci = NULL;
    s = js_AddConsumer(&ci, conn->js, STREAM, &cc, NULL, &jerr);
    if (s != NATS_OK)
        return nats_fail("add consumer " CONSUMER, s, jerr);
    int rc = check_consumer(ci);
    jsConsumerInfo_Destroy(ci);
    if (rc != 0)
        return -1;
    atomic_store(&conn->sys->stream_ready, true);
    return 0;
}

static int publish(bench_conn *conn, const void *const *payloads, size_t len, size_t n)
{
    if (n == 0 || payloads == NULL || len > INT_MAX) {
        fprintf(stderr, "jetstream: publish: no events, or payload of %zu bytes too big\n", len);
        return -1;
    }
    atomic_store(&conn->publish_errors, 0);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        natsStatus s = js_PublishAsync(conn->js, SUBJECT, payloads[i], (int)len, NULL);
        if (s != NATS_OK) {
            rc = nats_fail("publish", s, 0);
            break; /* still wait for those already sent */
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    natsStatus s = js_PublishAsyncComplete(conn->js, &po);
    if (s != NATS_OK)
        return nats_fail("waiting for publish acks", s, 0);
    size_t errors = atomic_load(&conn->publish_errors);
    if (errors != 0) {
        fprintf(stderr, "jetstream: %zu of %zu publishes failed\n", errors, n);
        return -1;
    }
    return rc;
}

static int subscribe(bench_conn *conn)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = STREAM;
    so.Consumer = CONSUMER;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&conn->sub, conn->js, SUBJECT, CONSUMER, NULL, &so, &jerr);
    return s == NATS_OK ? 0 : nats_fail("pull subscribe to " CONSUMER, s, jerr);
}

/* Fetch returns at once with what is there (a no-wait request first); when
 * nothing is, it long-polls and returns when messages arrive (measured with
 * nats-server 2.9: one message published 50 ms into a 500 ms wait came back
 * after 53 ms) or wait_ms passed. */
static int pull_ack(bench_conn *conn, size_t max, uint64_t wait_ms, bench_event_fn fn,
                    void *ctx, size_t *got)
{
    *got = 0;
    if (max == 0 || max > INT_MAX || wait_ms > 3600000) {
        fprintf(stderr, "jetstream: pull: max %zu / wait %llu ms out of range\n", max,
                (unsigned long long)wait_ms);
        return -1;
    }
    if (conn->sub == NULL && subscribe(conn) != 0)
        return -1;
    int64_t wait = wait_ms < FETCH_MIN_WAIT_MS ? FETCH_MIN_WAIT_MS : (int64_t)wait_ms;
    natsMsgList list;
    jsErrCode jerr = 0;
    natsStatus s = natsSubscription_Fetch(&list, conn->sub, (int)max, wait, &jerr);
    if ((s == NATS_TIMEOUT || s == NATS_NOT_FOUND)
        && natsConnection_Status(conn->nc) == NATS_CONN_STATUS_CONNECTED)
        return 0; /* nothing there */
    if (s != NATS_OK)
        return nats_fail("fetch", s, jerr);
    int rc = 0;
    for (int i = 0; i < list.Count; i++) {
        natsMsg *msg = list.Msgs[i];
        const char *data = natsMsg_GetData(msg);
        if (fn != NULL)
            fn(ctx, data != NULL ? data : "", (size_t)natsMsg_GetDataLength(msg));
        s = natsMsg_Ack(msg, NULL);
        if (s != NATS_OK && rc == 0)
            rc = nats_fail("ack", s, 0);
    }
    if (rc == 0)
        *got = (size_t)list.Count;
    natsMsgList_Destroy(&list);
    return rc;
}

static int ping(bench_conn *conn)
{
    natsStatus s = natsConnection_FlushTimeout(conn->nc, PUBLISH_WAIT_MS);
    return s == NATS_OK ? 0 : nats_fail("flush (PING/PONG)", s, 0);
}

static int ack_held(bench_conn *conn)
{
    (void)conn; /* pull_ack acked everything already */
    return 0;
}

/* ---- the driver ------------------------------------------------------ */

static const bench_driver jetstream = {
    .name = "nats jetstream",
    .setting = "file store, no fsync before ack (sync every 2 min by default)",
    .start = start,
    .stop = stop,
    .restart = restart,
    .connect = connect_to,
    .disconnect = disconnect,
    .setup = setup,
    .publish = publish,
    .pull_ack = pull_ack,
    .pull_next = pull_ack,
    .ping = ping,
    .ack_held = ack_held,
    .disk_bytes = disk_bytes,
    .pid = server_pid,
};

const bench_driver *bench_driver_jetstream(void)
{
    char path[PATH_MAX];
    return server_proc_find(NATS_FIXED_PATH, "nats-server", path, sizeof path) == 0 ? &jetstream
                                                                                     : NULL;
}
