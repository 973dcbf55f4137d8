/* driver_redis.c: Redis Streams under the benchmark (see driver.h).
 *
 * The driver runs the Debian redis-server on a free 127.0.0.1 port with a
 * generated redis.conf in the work directory: append-only file on (Redis 7
 * keeps it in <workdir>/appendonlydir/), no RDB snapshots, and appendfsync
 * "always" (fsync before each reply) or "everysec" (fsync once a second, so
 * up to about a second of acknowledged writes can be lost).
 *
 *   setup     XGROUP CREATE bench g 0 MKSTREAM
 *   publish   n x XADD bench * d <payload>, pipelined: one round trip
 *   pull_ack  XREADGROUP GROUP g c<k> COUNT max [BLOCK wait_ms] STREAMS bench >
 *             then one XACK bench g <id>... for the whole batch
 *   pull_next XACK of the previous batch and the next XREADGROUP sent
 *             together (pipelined: one round trip), the reply kept until
 *             the next call (the XACK ids point into it)
 *   disk      allocated size of appendonlydir/
 *   restart   SIGTERM (Redis flushes and fsyncs the AOF), start again on the
 *             same directory, time until PING answers PONG (not -LOADING)
 *
 * Connections do not survive restart: disconnect them first and connect anew
 * afterwards. Each connection is its own consumer c<k> of group g.
 */
#include "tools/bench/driver.h"
#include "tools/bench/server_proc.h"

#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define REDIS_FIXED_PATH "/usr/bin/redis-server"

enum {
    READY_TIMEOUT_MS = 300000, /* start-up incl. loading the AOF after restart */
    PROBE_TIMEOUT_MS = 200,    /* one readiness probe: connect + PING */
    CONNECT_TIMEOUT_MS = 5000, /* a benchmark connection */
    REPLY_TIMEOUT_MS = 30000,  /* any reply, beyond a pull's own BLOCK time */
    XACK_FIXED_ARGS = 3,       /* "XACK" "bench" "g" before the ids */
    TERM_EXIT_CODE = 0,        /* redis-server's exit code after SIGTERM */
    START_ATTEMPTS = 3         /* fresh ports tried when the server does not come up */
};

struct bench_system {
    server_proc proc;                /* the redis-server child */
    char binary[PATH_MAX];           /* path of redis-server */
    char conf_path[PATH_MAX];        /* <workdir>/redis.conf (generated) */
    char log_path[PATH_MAX];         /* <workdir>/redis.out: the child's stdout/stderr */
    char aof_dir[PATH_MAX];          /* <workdir>/appendonlydir: the data measured */
    int port;                        /* TCP port on 127.0.0.1 */
    atomic_uint next_consumer;       /* numbers the connections' consumers c1, c2, ... */
};

struct bench_conn {
    bench_system *sys;               /* the server this connection talks to */
    redisContext *ctx;               /* blocking hiredis connection (owned) */
    char consumer[24];               /* this connection's consumer name in group g */
    long timeout_ms;                 /* socket timeout currently set on ctx */
    const char **ack_argv;           /* XACK argument vector, reused (owned array) */
    size_t *ack_lens;                /* lengths of ack_argv's strings (owned array) */
    size_t ack_cap;                  /* entries both arrays hold */
    redisReply *held;                /* pull_next: the last XREADGROUP reply, not yet acked */
    size_t nheld;                    /* its entries (their ids are in ack_argv) */
};

/* ---- server ---------------------------------------------------------- */

static int path_in(char *out, const char *workdir, const char *file)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", workdir, file);
    if (n < 0 || n >= PATH_MAX) {
        fprintf(stderr, "redis: work directory path too long\n");
        return -1;
    }
    return 0;
}

/* redis.conf quotes the paths; refuse characters its parser would take as
 * quoting or escapes. */
static int conf_safe(const char *path)
{
    if (strpbrk(path, "\"\\\n\r") != NULL) {
        fprintf(stderr, "redis: work directory %s has characters redis.conf cannot hold\n", path);
        return -1;
    }
    return 0;
}

static int write_conf(const bench_system *sys, const char *workdir, const char *fsync_policy)
{
    FILE *f = fopen(sys->conf_path, "w");
    if (f == NULL) {
        perror("redis: cannot write redis.conf");
        return -1;
    }
    fprintf(f,
            "bind 127.0.0.1\n"
            "protected-mode yes\n"
            "port %d\n"
            "daemonize no\n"
            "dir \"%s\"\n"
            "logfile \"%s/redis.log\"\n"
            "save \"\"\n"
            "appendonly yes\n"
            "appenddirname \"appendonlydir\"\n"
            "appendfsync %s\n",
            sys->port, workdir, workdir, fsync_policy);
    if (fclose(f) != 0) {
        perror("redis: cannot write redis.conf");
        return -1;
    }
    return 0;
}

static redisContext *redis_open(int port, long timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (ctx == NULL)
        return NULL;
    if (ctx->err == 0 && redisSetTimeout(ctx, tv) == REDIS_OK)
        return ctx;
    redisFree(ctx);
    return NULL;
}

/* Readiness probe: PING answered with PONG (while loading the AOF, Redis
 * answers -LOADING instead). */
static int probe_ping(void *arg)
{
    const bench_system *sys = arg;
    redisContext *ctx = redis_open(sys->port, PROBE_TIMEOUT_MS);
    if (ctx == NULL)
        return -1;
    redisReply *r = redisCommand(ctx, "PING");
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r != NULL)
        freeReplyObject(r);
    redisFree(ctx);
    return ok ? 0 : -1;
}

static int launch(bench_system *sys)
{
    char *argv[] = {sys->binary, sys->conf_path, NULL};
    if (server_proc_spawn(&sys->proc, "redis", argv, sys->log_path, TERM_EXIT_CODE) != 0)
        return -1;
    if (server_proc_wait_ready(&sys->proc, probe_ping, sys, READY_TIMEOUT_MS) != 0) {
        server_proc_stop(&sys->proc);
        return -1;
    }
    return 0;
}

static int prepare(bench_system *sys, const char *workdir, const char *fsync_policy)
{
    if (server_proc_find(REDIS_FIXED_PATH, "redis-server", sys->binary, sizeof sys->binary)
        != 0) {
        fprintf(stderr, "redis: redis-server is not installed\n");
        return -1;
    }
    if (conf_safe(workdir) != 0 || path_in(sys->conf_path, workdir, "redis.conf") != 0
        || path_in(sys->log_path, workdir, "redis.out") != 0
        || path_in(sys->aof_dir, workdir, "appendonlydir") != 0)
        return -1;
    if (server_proc_free_port("redis", &sys->port) != 0)
        return -1;
    return write_conf(sys, workdir, fsync_policy);
}

static int start_with(const char *workdir, const char *fsync_policy, bench_system **out)
{
    *out = NULL;
    bench_system *sys = calloc(1, sizeof *sys);
    if (sys == NULL) {
        fprintf(stderr, "redis: out of memory\n");
        return -1;
    }
    atomic_init(&sys->next_consumer, 0);
    int rc = -1;
    /* Another process may take the free port first: then try another. */
    for (int attempt = 0; rc != 0 && attempt < START_ATTEMPTS; attempt++) {
        if (prepare(sys, workdir, fsync_policy) != 0)
            break;
        rc = launch(sys);
    }
    if (rc != 0) {
        free(sys);
        return -1;
    }
    *out = sys;
    return 0;
}

static int start_always(const char *workdir, bench_system **out)
{
    return start_with(workdir, "always", out);
}

static int start_everysec(const char *workdir, bench_system **out)
{
    return start_with(workdir, "everysec", out);
}

static void stop(bench_system *sys)
{
    if (sys == NULL)
        return;
    server_proc_stop(&sys->proc);
    free(sys);
}

static int launch_cb(void *sys)
{
    return launch(sys);
}

static int restart(bench_system *sys, double *ready_ms)
{
    return server_proc_restart(&sys->proc, "redis", launch_cb, sys, ready_ms);
}

static uint64_t disk_bytes(bench_system *sys)
{
    return server_proc_disk_bytes(sys->aof_dir);
}

static pid_t server_pid(bench_system *sys)
{
    return sys->proc.pid;
}

/* ---- connections ----------------------------------------------------- */

/* Print why a request failed: the connection's I/O error, or the reply. */
static int fail(const bench_conn *conn, const char *what, const redisReply *r)
{
    if (conn->ctx->err != 0)
        fprintf(stderr, "redis: %s: %s\n", what, conn->ctx->errstr);
    else if (r != NULL && r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "redis: %s: %s\n", what, r->str);
    else
        fprintf(stderr, "redis: %s: unexpected reply (type %d)\n", what, r ? r->type : -1);
    return -1;
}

static int set_timeout(bench_conn *conn, long timeout_ms)
{
    if (conn->timeout_ms == timeout_ms)
        return 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (redisSetTimeout(conn->ctx, tv) != REDIS_OK)
        return fail(conn, "set timeout", NULL);
    conn->timeout_ms = timeout_ms;
    return 0;
}

static int connect_to(bench_system *sys, bench_conn **out)
{
    *out = NULL;
    bench_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        fprintf(stderr, "redis: out of memory\n");
        return -1;
    }
    conn->sys = sys;
    conn->timeout_ms = CONNECT_TIMEOUT_MS;
    conn->ctx = redis_open(sys->port, CONNECT_TIMEOUT_MS);
    if (conn->ctx == NULL) {
        fprintf(stderr, "redis: cannot connect to 127.0.0.1:%d\n", sys->port);
        free(conn);
        return -1;
    }
    if (set_timeout(conn, REPLY_TIMEOUT_MS) != 0) {
        redisFree(conn->ctx);
        free(conn);
        return -1;
    }
    unsigned k = atomic_fetch_add(&sys->next_consumer, 1) + 1;
    snprintf(conn->consumer, sizeof conn->consumer, "c%u", k);
    *out = conn;
    return 0;
}

static void disconnect(bench_conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->held != NULL)
        freeReplyObject(conn->held);
    redisFree(conn->ctx);
    free(conn->ack_argv);
    free(conn->ack_lens);
    free(conn);
}

static int setup(bench_conn *conn)
{
    redisReply *r = redisCommand(conn->ctx, "XGROUP CREATE bench g 0 MKSTREAM");
    int rc = (r != NULL && r->type == REDIS_REPLY_STATUS) ? 0 : fail(conn, "XGROUP CREATE", r);
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/* Read the n replies of a pipeline of XADDs (each the new id). Reads all of
 * them even after an error reply, so the connection stays in step. */
static int read_xadd_replies(bench_conn *conn, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(conn->ctx, &reply) != REDIS_OK)
            return fail(conn, "XADD", NULL);
        redisReply *r = reply;
        if (r->type != REDIS_REPLY_STRING && rc == 0)
            rc = fail(conn, "XADD", r);
        freeReplyObject(r);
    }
    return rc;
}

static int publish(bench_conn *conn, const void *const *payloads, size_t len, size_t n)
{
    if (n == 0 || payloads == NULL) {
        fprintf(stderr, "redis: publish: no events\n");
        return -1;
    }
    const char *argv[5] = {"XADD", "bench", "*", "d", NULL};
    size_t lens[5] = {4, 5, 1, 1, len};
    for (size_t i = 0; i < n; i++) {
        argv[4] = payloads[i];
        if (redisAppendCommandArgv(conn->ctx, 5, argv, lens) != REDIS_OK) {
            fprintf(stderr, "redis: XADD: cannot queue command %zu of %zu\n", i + 1, n);
            read_xadd_replies(conn, i); /* send and settle those already queued */
            return -1;
        }
    }
    return read_xadd_replies(conn, n);
}

static int ping(bench_conn *conn)
{
    redisReply *r = redisCommand(conn->ctx, "PING");
    int rc = (r != NULL && r->type == REDIS_REPLY_STATUS) ? 0 : fail(conn, "PING", r);
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

static int reserve_acks(bench_conn *conn, size_t ids)
{
    size_t need = ids + XACK_FIXED_ARGS;
    if (need <= conn->ack_cap)
        return 0;
    const char **argv = realloc(conn->ack_argv, need * sizeof *argv);
    if (argv == NULL)
        goto oom;
    conn->ack_argv = argv;
    size_t *lens = realloc(conn->ack_lens, need * sizeof *lens);
    if (lens == NULL)
        goto oom;
    conn->ack_lens = lens;
    conn->ack_cap = need;
    return 0;
oom:
    fprintf(stderr, "redis: out of memory\n");
    return -1;
}

/* Queue XREADGROUP ... > on the connection's output buffer (no round trip). */
static int append_read_group(bench_conn *conn, size_t max, uint64_t wait_ms)
{
    char count[24], block[24];
    snprintf(count, sizeof count, "%zu", max);
    snprintf(block, sizeof block, "%llu", (unsigned long long)wait_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", "g", conn->consumer, "COUNT", count,
                          "BLOCK", block, "STREAMS", "bench", ">"};
    const char *no_block[] = {"XREADGROUP", "GROUP", "g", conn->consumer, "COUNT", count,
                              "STREAMS", "bench", ">"};
    int argc = wait_ms > 0 ? 11 : 9;
    if (redisAppendCommandArgv(conn->ctx, argc, wait_ms > 0 ? argv : no_block, NULL) != REDIS_OK)
        return fail(conn, "XREADGROUP", NULL);
    return 0;
}

/* XREADGROUP ... >: the reply (caller frees; nil when BLOCK timed out), or
 * NULL on failure. */
static redisReply *read_group(bench_conn *conn, size_t max, uint64_t wait_ms)
{
    void *reply = NULL;
    if (append_read_group(conn, max, wait_ms) != 0)
        return NULL;
    if (redisGetReply(conn->ctx, &reply) != REDIS_OK) {
        fail(conn, "XREADGROUP", NULL);
        return NULL;
    }
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_ARRAY || r->type == REDIS_REPLY_NIL)
        return r;
    fail(conn, "XREADGROUP", r);
    freeReplyObject(r);
    return NULL;
}

/* The entries array of the reply [[ "bench", [entry...] ]], or NULL. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1)
        return NULL;
    const redisReply *stream = r->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2
        || stream->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return stream->element[1];
}

/* Payload of one entry [id, [field, value, ...]]: field "d"; an entry
 * without it (deleted meanwhile) hands out an empty payload. -1 when the
 * entry is malformed. */
static int entry_payload(const redisReply *entry, const char **data, size_t *len)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    *data = "";
    *len = 0;
    const redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *key = fields->element[i], *value = fields->element[i + 1];
        if (key->type == REDIS_REPLY_STRING && key->len == 1 && key->str[0] == 'd'
            && value->type == REDIS_REPLY_STRING) {
            *data = value->str;
            *len = value->len;
        }
    }
    return 0;
}

/* Hand out each entry, collecting its id into the XACK vector. */
static int hand_out(bench_conn *conn, const redisReply *entries, bench_event_fn fn, void *ctx)
{
    if (reserve_acks(conn, entries->elements) != 0)
        return -1;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *entry = entries->element[i];
        const char *data;
        size_t len;
        if (entry_payload(entry, &data, &len) != 0) {
            fprintf(stderr, "redis: XREADGROUP: malformed entry\n");
            return -1;
        }
        if (fn != NULL)
            fn(ctx, data, len);
        conn->ack_argv[XACK_FIXED_ARGS + i] = entry->element[0]->str;
        conn->ack_lens[XACK_FIXED_ARGS + i] = entry->element[0]->len;
    }
    return 0;
}

static void fill_ack_head(bench_conn *conn)
{
    conn->ack_argv[0] = "XACK";
    conn->ack_lens[0] = 4;
    conn->ack_argv[1] = "bench";
    conn->ack_lens[1] = 5;
    conn->ack_argv[2] = "g";
    conn->ack_lens[2] = 1;
}

/* Check an XACK reply (freed here); -1 on failure. */
static int check_xack(bench_conn *conn, redisReply *r)
{
    int rc = (r != NULL && r->type == REDIS_REPLY_INTEGER) ? 0 : fail(conn, "XACK", r);
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

static int ack_all(bench_conn *conn, size_t ids)
{
    fill_ack_head(conn);
    return check_xack(conn, redisCommandArgv(conn->ctx, (int)(ids + XACK_FIXED_ARGS),
                                             conn->ack_argv, conn->ack_lens));
}

static int check_pull_args(size_t max, uint64_t wait_ms)
{
    if (max == 0 || max > (size_t)1 << 24 || wait_ms > 3600000) {
        fprintf(stderr, "redis: pull: max %zu / wait %llu ms out of range\n", max,
                (unsigned long long)wait_ms);
        return -1;
    }
    return 0;
}

/* *entries: the entries array of an XREADGROUP reply r (NULL when the read
 * timed out); -1 when r has another shape. */
static int reply_entries(const redisReply *r, const redisReply **entries)
{
    *entries = r->type == REDIS_REPLY_NIL ? NULL : stream_entries(r);
    if (r->type == REDIS_REPLY_ARRAY && *entries == NULL) {
        fprintf(stderr, "redis: XREADGROUP: unexpected reply shape\n");
        return -1;
    }
    return 0;
}

static int pull_ack(bench_conn *conn, size_t max, uint64_t wait_ms, bench_event_fn fn,
                    void *ctx, size_t *got)
{
    *got = 0;
    if (check_pull_args(max, wait_ms) != 0 ||
        set_timeout(conn, (long)wait_ms + REPLY_TIMEOUT_MS) != 0)
        return -1;
    redisReply *r = read_group(conn, max, wait_ms);
    if (r == NULL)
        return -1;
    const redisReply *entries;
    int rc = reply_entries(r, &entries);
    if (rc == 0 && entries != NULL && entries->elements > 0) {
        rc = hand_out(conn, entries, fn, ctx);
        /* The ids point into r: send XACK before freeing it. */
        if (rc == 0)
            rc = ack_all(conn, entries->elements);
        if (rc == 0)
            *got = entries->elements;
    }
    freeReplyObject(r);
    return rc;
}

static void drop_held(bench_conn *conn)
{
    if (conn->held != NULL)
        freeReplyObject(conn->held);
    conn->held = NULL;
    conn->nheld = 0;
}

/* Send the XACK of the held batch (if any) and the next XREADGROUP in one
 * write, then read both replies. */
static int pull_next(bench_conn *conn, size_t max, uint64_t wait_ms, bench_event_fn fn,
                     void *ctx, size_t *got)
{
    *got = 0;
    if (check_pull_args(max, wait_ms) != 0 ||
        set_timeout(conn, (long)wait_ms + REPLY_TIMEOUT_MS) != 0)
        return -1;
    size_t nacks = conn->nheld;
    if (nacks > 0) {
        fill_ack_head(conn);
        if (redisAppendCommandArgv(conn->ctx, (int)(nacks + XACK_FIXED_ARGS), conn->ack_argv,
                                   conn->ack_lens) != REDIS_OK)
            return fail(conn, "XACK", NULL);
    }
    if (append_read_group(conn, max, wait_ms) != 0)
        return -1;
    void *reply = NULL;
    int rc = 0;
    if (nacks > 0) {
        rc = redisGetReply(conn->ctx, &reply) == REDIS_OK ? check_xack(conn, reply)
                                                           : fail(conn, "XACK", NULL);
        drop_held(conn);
        if (rc != 0)
            return rc;
    }
    if (redisGetReply(conn->ctx, &reply) != REDIS_OK)
        return fail(conn, "XREADGROUP", NULL);
    redisReply *r = reply;
    const redisReply *entries = NULL;
    rc = r->type == REDIS_REPLY_ERROR ? fail(conn, "XREADGROUP", r) : reply_entries(r, &entries);
    if (rc == 0 && entries != NULL && entries->elements > 0)
        rc = hand_out(conn, entries, fn, ctx);
    if (rc != 0 || entries == NULL || entries->elements == 0) {
        freeReplyObject(r);
        return rc;
    }
    conn->held = r; /* the ids in ack_argv point into it */
    conn->nheld = *got = entries->elements;
    return 0;
}

static int ack_held(bench_conn *conn)
{
    int rc = conn->nheld > 0 ? ack_all(conn, conn->nheld) : 0;
    drop_held(conn);
    return rc;
}

/* ---- the drivers ----------------------------------------------------- */

static const bench_driver redis_always = {
    .name = "redis (always)",
    .setting = "AOF, fsync every write",
    .start = start_always,
    .stop = stop,
    .restart = restart,
    .connect = connect_to,
    .disconnect = disconnect,
    .setup = setup,
    .publish = publish,
    .pull_ack = pull_ack,
    .pull_next = pull_next,
    .ping = ping,
    .ack_held = ack_held,
    .disk_bytes = disk_bytes,
    .pid = server_pid,
};

static const bench_driver redis_everysec = {
    .name = "redis (everysec)",
    .setting = "AOF, fsync once a second: may lose 1 s",
    .start = start_everysec,
    .stop = stop,
    .restart = restart,
    .connect = connect_to,
    .disconnect = disconnect,
    .setup = setup,
    .publish = publish,
    .pull_ack = pull_ack,
    .pull_next = pull_next,
    .ping = ping,
    .ack_held = ack_held,
    .disk_bytes = disk_bytes,
    .pid = server_pid,
};

static int installed(void)
{
    char path[PATH_MAX];
    return server_proc_find(REDIS_FIXED_PATH, "redis-server", path, sizeof path) == 0;
}

const bench_driver *bench_driver_redis_always(void)
{
    return installed() ? &redis_always : NULL;
}

const bench_driver *bench_driver_redis_everysec(void)
{
    return installed() ? &redis_everysec : NULL;
}
