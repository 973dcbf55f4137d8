/* driver_sluice.c: the sluice driver: a real sluiced on an ipc:// socket in
 * the work directory, spoken to through the C client library. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "driver.h"
#include "proto/client.h"
#include "stats.h"

#define SLUICE_TOPIC "bench.event"
#define SLUICE_GROUP "g"
#define SLUICE_BATCH_MAX 1000u        /* events per publish, tokens per ack (protocol) */
#define SLUICE_READY_TIMEOUT_MS 60000u /* a large backlog may take a while to open */
#define SLUICE_STOP_TIMEOUT_MS 30000u
#define SLUICE_CALL_TIMEOUT_MS 30000u

struct bench_system {
    pid_t pid;                 /* the daemon; 0 when not running */
    char bin[PATH_MAX];        /* the sluiced executable */
    char data[PATH_MAX];       /* its --data directory */
    char url[PATH_MAX + 16];   /* ipc://<workdir>/sluiced.sock */
    char log_path[PATH_MAX];   /* its stdout and stderr */
    bool relaxed;              /* started with --relaxed-sync true */
};

struct bench_conn {
    sl_client *client;                    /* owned */
    sl_event_in events[SLUICE_BATCH_MAX]; /* a publish batch, reused */
    sl_slice tokens[SLUICE_BATCH_MAX];    /* the tokens of one pull, reused */
    sl_client_result held;                /* pull_next: the last pull, not yet acked */
};

/* $SLUICED, else sluiced next to this program's directory
 * (build/tools/bench/../sluiced/sluiced). */
static int find_sluiced(char *out, size_t cap)
{
    const char *env = getenv("SLUICED");
    if (env && *env)
        return snprintf(out, cap, "%s", env) < (int)cap ? 0 : -1;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if (snprintf(out, cap, "%s/../sluiced/sluiced", self) >= (int)cap)
        return -1;
    return access(out, X_OK) == 0 ? 0 : -1;
}

static void child_exec(const bench_system *s)
{
    int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0)
        dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    const char *listen = s->url;
    execl(s->bin, s->bin, "--data", s->data, "--listen", listen, "--log-level", "warn",
          "--relaxed-sync", s->relaxed ? "true" : "false", (char *)NULL);
    _exit(127);
}

/* Copy the end of the daemon's log to stderr (the run directory and the log
 * are removed after a failed start unless --keep). */
static void show_log_tail(const bench_system *s)
{
    FILE *f = fopen(s->log_path, "r");
    if (!f)
        return;
    char tail[2048];
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    long from = size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0;
    size_t n = size >= 0 && fseek(f, from, SEEK_SET) == 0 ? fread(tail, 1, sizeof tail - 1, f)
                                                          : 0;
    tail[n] = '\0';
    fclose(f);
    if (n)
        fprintf(stderr, "--- end of %s ---\n%s\n---\n", s->log_path, tail);
}

/* 0 once a ping is answered; -1 when the daemon died or the time ran out. */
static int wait_ready(bench_system *s, unsigned timeout_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    sl_client_options opt = {.timeout_ms = 1000};
    while (bench_now_ns() < deadline) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            fprintf(stderr, "sluice-bench: sluiced exited at start; see %s\n", s->log_path);
            return -1;
        }
        sl_client *c = NULL;
        if (sl_client_open(s->url, &opt, &c, NULL) == SL_CLIENT_OK) {
            sl_client_result res = {0};
            sl_client_status st = sl_client_ping(c, &res);
            sl_client_result_free(&res);
            sl_client_close(c);
            if (st == SL_CLIENT_OK)
                return 0;
        }
        bench_sleep_until_ns(bench_now_ns() + 2000000u);
    }
    fprintf(stderr, "sluice-bench: sluiced did not answer on %s; see %s\n", s->url,
            s->log_path);
    return -1;
}

static void kill_daemon(bench_system *s, int sig)
{
    if (s->pid > 0) {
        kill(s->pid, sig);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* SIGTERM, wait (SIGKILL after the timeout). */
static void stop_daemon(bench_system *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    uint64_t deadline = bench_now_ns() + (uint64_t)SLUICE_STOP_TIMEOUT_MS * 1000000u;
    while (bench_now_ns() < deadline) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "sluice-bench: sluiced did not exit cleanly (status %d); "
                                "see %s\n", status, s->log_path);
            return;
        }
        bench_sleep_until_ns(bench_now_ns() + 5000000u);
    }
    fprintf(stderr, "sluice-bench: sluiced did not stop in time; killing it\n");
    kill_daemon(s, SIGKILL);
}

static int spawn_daemon(bench_system *s, double *ready_ms)
{
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "sluice-bench: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0)
        child_exec(s);
    s->pid = pid;
    if (wait_ready(s, SLUICE_READY_TIMEOUT_MS) != 0) {
        kill_daemon(s, SIGKILL);
        show_log_tail(s);
        return -1;
    }
    if (ready_ms)
        *ready_ms = (double)(bench_now_ns() - t0) / 1e6;
    return 0;
}

static int start_daemon(const char *workdir, bool relaxed, bench_system **out)
{
    bench_system *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->relaxed = relaxed;
    if (find_sluiced(s->bin, sizeof s->bin) != 0) {
        fprintf(stderr, "sluice-bench: set SLUICED to the sluiced executable\n");
        free(s);
        return -1;
    }
    if (snprintf(s->data, sizeof s->data, "%s/data", workdir) >= (int)sizeof s->data ||
        snprintf(s->url, sizeof s->url, "ipc://%s/sluiced.sock", workdir) >=
            (int)sizeof s->url ||
        snprintf(s->log_path, sizeof s->log_path, "%s/sluiced.log", workdir) >=
            (int)sizeof s->log_path) {
        fprintf(stderr, "sluice-bench: work directory path too long\n");
        free(s);
        return -1;
    }
    if (spawn_daemon(s, NULL) != 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int sluice_start(const char *workdir, bench_system **out)
{
    return start_daemon(workdir, false, out);
}

static int sluice_start_relaxed(const char *workdir, bench_system **out)
{
    return start_daemon(workdir, true, out);
}

static void sluice_stop(bench_system *s)
{
    if (!s)
        return;
    stop_daemon(s);
    free(s);
}

static int sluice_restart(bench_system *s, double *ready_ms)
{
    stop_daemon(s);
    return spawn_daemon(s, ready_ms);
}

static int sluice_connect(bench_system *s, bench_conn **out)
{
    bench_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    sl_client_options opt = {.timeout_ms = SLUICE_CALL_TIMEOUT_MS};
    sl_client_error err = {0};
    if (sl_client_open(s->url, &opt, &c->client, &err) != SL_CLIENT_OK) {
        fprintf(stderr, "sluice-bench: connect %s: %s: %s\n", s->url, err.code, err.message);
        free(c);
        return -1;
    }
    for (size_t i = 0; i < SLUICE_BATCH_MAX; i++)
        c->events[i].topic = sl_slice_of(SLUICE_TOPIC);
    *out = c;
    return 0;
}

static void sluice_disconnect(bench_conn *c)
{
    if (!c)
        return;
    sl_client_result_free(&c->held);
    sl_client_close(c->client);
    free(c);
}

/* Report a failed call; returns -1. */
static int call_failed(const char *what, const sl_client_result *res)
{
    fprintf(stderr, "sluice-bench: sluice %s: %s %s: %s\n", what,
            sl_client_status_name(res->error.status), res->error.code, res->error.message);
    return -1;
}

static int sluice_setup(bench_conn *c)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "%s", SLUICE_GROUP);
    cfg.nfilters = 1;
    snprintf(cfg.filters[0], sizeof cfg.filters[0], ">");
    cfg.start = SL_START_EARLIEST;
    cfg.ack_wait_ms = 60000;
    cfg.max_inflight = SL_MAX_INFLIGHT_MAX; /* 4 consumers x 1000 must not starve */
    sl_client_result res = {0};
    sl_client_status st = sl_client_group_create(
        c->client, &cfg,
        SL_CLIENT_GROUP_FILTERS | SL_CLIENT_GROUP_START | SL_CLIENT_GROUP_ACK_WAIT |
            SL_CLIENT_GROUP_MAX_INFLIGHT,
        &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("group.create", &res);
    sl_client_result_free(&res);
    return rc;
}

static int publish_chunk(bench_conn *c, const void *const *payloads, size_t len, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c->events[i].payload = (sl_slice){payloads[i], len};
    sl_client_result res = {0};
    sl_client_status st = sl_client_publish(c->client, c->events, n, &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("publish", &res);
    sl_client_result_free(&res);
    return rc;
}

static int sluice_publish(bench_conn *c, const void *const *payloads, size_t len, size_t n)
{
    for (size_t done = 0; done < n;) {
        size_t k = n - done < SLUICE_BATCH_MAX ? n - done : SLUICE_BATCH_MAX;
        if (publish_chunk(c, payloads + done, len, k) != 0)
            return -1;
        done += k;
    }
    return 0;
}

static int sluice_ping(bench_conn *c)
{
    sl_client_result res = {0};
    sl_client_status st = sl_client_ping(c->client, &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("ping", &res);
    sl_client_result_free(&res);
    return rc;
}

/* Ack the deliveries of a pull result; every token must settle. */
/* Check the per-token statuses of an ack; -1 when one is not "ok". */
static int check_acked(const sl_token_status *status, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (status[i] != SL_TOKEN_OK) {
            fprintf(stderr, "sluice-bench: sluice ack: token %zu: %s\n", i,
                    sl_token_status_name(status[i]));
            return -1;
        }
    }
    return 0;
}

/* Point c->tokens at the tokens of pulled; returns how many. */
static size_t collect_tokens(bench_conn *c, const sl_client_result *pulled)
{
    size_t n = pulled->pull.n;
    for (size_t i = 0; i < n; i++)
        c->tokens[i] = pulled->pull.deliveries[i].token;
    return n;
}

static int ack_all(bench_conn *c, const sl_client_result *pulled)
{
    size_t n = collect_tokens(c, pulled);
    sl_client_result res = {0};
    sl_client_status st = sl_client_ack(c->client, SLUICE_GROUP, c->tokens, n, &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("ack", &res);
    if (rc == 0)
        rc = check_acked(res.settle.status, n);
    sl_client_result_free(&res);
    return rc;
}

static void hand_out(const sl_client_result *res, bench_event_fn fn, void *ctx)
{
    for (size_t i = 0; fn && i < res->pull.n; i++)
        fn(ctx, res->pull.deliveries[i].event.payload.ptr,
           res->pull.deliveries[i].event.payload.len);
}

static uint32_t pull_max(size_t max)
{
    return max > SLUICE_BATCH_MAX ? SLUICE_BATCH_MAX : (uint32_t)(max ? max : 1);
}

static int sluice_pull_ack(bench_conn *c, size_t max, uint64_t wait_ms, bench_event_fn fn,
                           void *ctx, size_t *got)
{
    *got = 0;
    sl_client_result res = {0};
    sl_client_status st = sl_client_pull(c->client, SLUICE_GROUP, pull_max(max), wait_ms, &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("pull", &res);
    if (rc == 0)
        hand_out(&res, fn, ctx);
    if (rc == 0 && res.pull.n > 0)
        rc = ack_all(c, &res);
    if (rc == 0)
        *got = res.pull.n;
    sl_client_result_free(&res);
    return rc;
}

/* The consumer loop PROTOCOL.md recommends: a pull that carries the acks of
 * the previous one (one request, one commit per cycle). */
static int sluice_pull_next(bench_conn *c, size_t max, uint64_t wait_ms, bench_event_fn fn,
                            void *ctx, size_t *got)
{
    *got = 0;
    size_t nacks = collect_tokens(c, &c->held);
    sl_client_result res = {0};
    sl_client_status st = sl_client_pull_ack(c->client, SLUICE_GROUP, pull_max(max), wait_ms,
                                             c->tokens, nacks, &res);
    int rc = st == SL_CLIENT_OK ? 0 : call_failed("pull with ack", &res);
    if (rc == 0)
        rc = check_acked(res.pull.acked, nacks);
    sl_client_result_free(&c->held);
    if (rc != 0) {
        sl_client_result_free(&res);
        return rc;
    }
    hand_out(&res, fn, ctx);
    *got = res.pull.n;
    c->held = res; /* its tokens ride on the next call */
    return 0;
}

static int sluice_ack_held(bench_conn *c)
{
    int rc = c->held.pull.n > 0 ? ack_all(c, &c->held) : 0;
    sl_client_result_free(&c->held);
    return rc;
}

static int sluice_durable_writes(bench_conn *c, bench_flushes *out)
{
    sl_client_result res = {0};
    int rc = sl_client_stats_get(c->client, &res) == SL_CLIENT_OK ? 0 : call_failed("stats", &res);
    if (rc == 0) {
        out->writes = res.stats.commits + res.stats.journal_writes;
        out->requests = res.stats.commit_requests;
        out->journal_writes = res.stats.journal_writes;
        out->journal_us = res.stats.journal_us;
    }
    sl_client_result_free(&res);
    return rc;
}

static uint64_t sluice_disk_bytes(bench_system *s)
{
    return bench_dir_disk_bytes(s->data);
}

static pid_t sluice_pid(bench_system *s)
{
    return s->pid;
}

/* Everything but the name, the setting and start, shared by both modes. */
#define SLUICE_OPS                                                                     \
    .stop = sluice_stop, .restart = sluice_restart,                                    \
    .connect = sluice_connect, .disconnect = sluice_disconnect, .setup = sluice_setup, \
    .publish = sluice_publish, .pull_ack = sluice_pull_ack,                            \
    .pull_next = sluice_pull_next, .ping = sluice_ping, .ack_held = sluice_ack_held,   \
    .disk_bytes = sluice_disk_bytes, .pid = sluice_pid,                                \
    .durable_writes = sluice_durable_writes

const bench_driver *bench_driver_sluice(void)
{
    static const bench_driver driver = {
        .name = "sluice",
        .setting = "fdatasync (of the write-ahead journal, or an LMDB synced commit) before "
                   "every publish reply",
        .start = sluice_start,
        SLUICE_OPS,
    };
    return &driver;
}

const bench_driver *bench_driver_sluice_relaxed(void)
{
    static const bench_driver driver = {
        .name = "sluice (relaxed)",
        .setting = "relaxed-sync: LMDB commits without fsync, an fsync every 100 ms: may lose "
                   "the last moments on power loss (not on a crash of the process)",
        .start = sluice_start_relaxed,
        SLUICE_OPS,
    };
    return &driver;
}
