/* bench.c: sluice-bench, the benchmark program.
 *
 * One command starts each system in turn (sluice, then every comparison
 * driver that is available), runs the same workloads against it on loopback,
 * and prints one set of tables (stdout, and a Markdown report with --report):
 * publish throughput, pull+ack throughput, paced latency, disk per event,
 * memory and restart time with a backlog, two baselines of the file system
 * (fdatasync, raw LMDB), and the targets with PASS/FAIL.
 *
 * Every measured run gets a fresh server in its own directory under the work
 * directory, removed after the run (unless --keep). SIGINT/SIGTERM end the
 * runs early; the servers are always stopped, the report holds what was
 * measured. Exit status: 0 when every run worked (whatever the targets say),
 * 1 when a run failed, 2 on bad usage, 130 when interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "driver.h"
#include "stats.h"
#include "workload.h"

extern char **environ;

#define NKINDS 4           /* systems: sluice, redis always, redis everysec, jetstream */
#define NPAYLOADS 2
#define NPRODUCERS 3
#define NBATCHES 3
#define NCONSUMERS 2
#define NPULL_MODES 2
#define NSTAGES 3          /* backlog memory samples */
#define TOPIC_BYTES 11     /* strlen("bench.event") */
#define LATENCY_RATE 10000.0
#define PING_CLIENTS 64u   /* the round trip alone, as many clients as the 64 x 1 run */
#define PULL_BATCH 1000u
#define BACKLOG_PRODUCERS 4u
#define BACKLOG_BATCH 1000u
#define BACKLOG_CAP_MS 1800000u /* 30 min: a bound, not a target */
#define PREPUBLISH_CAP_MS 120000u
#define COUNT_MAX 1000000000ull
#define ROUNDS_MAX 9u      /* --rounds at most */
#define ROUNDS_DEFAULT 3u
#define PROBE_FSYNCS 200u  /* fdatasyncs of the probe next to an fsync-scaled run */
#define PROBE_CAP_MS 2000u

enum { KIND_SLUICE, KIND_REDIS_ALWAYS, KIND_REDIS_EVERYSEC, KIND_JETSTREAM };
enum { ONLY_SLUICE = 1u, ONLY_REDIS = 2u, ONLY_JETSTREAM = 4u };

static const size_t payload_sizes[NPAYLOADS] = {256, 4096};
static const unsigned producer_counts[NPRODUCERS] = {1, 4, 64};
static const size_t batch_sizes[NBATCHES] = {1, 100, 1000};
static const unsigned consumer_counts[NCONSUMERS] = {1, 4};
static const bench_pull_mode pull_modes[NPULL_MODES] = {BENCH_PULL_THEN_ACK,
                                                        BENCH_ACK_WITH_NEXT_PULL};
static const char *const pull_mode_names[NPULL_MODES] = {"pull, then ack",
                                                         "ack with the next pull"};
static const double stage_fractions[NSTAGES] = {0.1, 0.5, 1.0};
static const char *const kind_slug[NKINDS] = {"sluice", "redis-always", "redis-everysec",
                                              "jetstream"};
static const unsigned kind_only[NKINDS] = {ONLY_SLUICE, ONLY_REDIS, ONLY_REDIS,
                                           ONLY_JETSTREAM};

typedef struct options {
    bool quick;            /* small counts and caps: the test suite's smoke run */
    bool keep;             /* keep the work directory and the run directories */
    bool compare_backlog;  /* the backlog workload for every system, not only sluice */
    const char *report;    /* Markdown report path; NULL: stdout only */
    unsigned only;         /* ONLY_* bits; 0: every system */
    uint64_t events;       /* events per throughput run */
    uint64_t backlog;      /* events of the memory / restart backlog */
    uint64_t cap_ms;       /* wall-time cap of one measured run */
    unsigned rounds;       /* runs of each cell a target reads, interleaved */
    const char *workdir;   /* NULL: a new temporary directory */
} options;

/* One measured value: state 0 not run, 1 measured, -1 failed. A cell a
 * target reads runs opt.rounds times, interleaved with the other systems'
 * runs of it; r is then the round with the median rate. */
typedef struct rate_cell {
    bench_rate r;                  /* the outcome */
    int state;                     /* 0 not run, 1 measured, -1 failed (any round) */
    bench_rate round[ROUNDS_MAX];  /* each measured round, in run order */
    double probe_us[ROUNDS_MAX];   /* fdatasync median just before that round (sluice's
                                      64 x 1 only; 0: not probed) */
    unsigned rounds;               /* entries of round in use */
} rate_cell;

/* As rate_cell; l is the round with the median p99. */
typedef struct lat_cell {
    bench_latency l;               /* the outcome */
    int state;                     /* 0 not run, 1 measured, -1 failed (any round) */
    bench_latency round[ROUNDS_MAX];
    double probe_us[ROUNDS_MAX];   /* as in rate_cell (sluice's publish latency only) */
    unsigned rounds;
} lat_cell;

typedef struct disk_cell {
    uint64_t fixed;        /* disk_bytes of the fresh system before the run (journal
                              and reserved room included): not per event */
    uint64_t bytes;        /* disk_bytes after the run, less fixed */
    uint64_t events;       /* events the run stored */
    int state;             /* 0 not run, 1 measured, -1 failed */
} disk_cell;

typedef struct mem_cell {
    uint64_t events;       /* backlog when sampled */
    bench_mem mem;         /* the server's memory */
    uint64_t disk;         /* its data on disk */
    int state;             /* 0 not run, 1 measured, -1 failed */
} mem_cell;

/* Everything measured on one system. */
typedef struct sys_result {
    int kind;                                         /* KIND_* */
    const bench_driver *drv;                          /* its driver */
    rate_cell publish[NPAYLOADS][NPRODUCERS][NBATCHES];
    disk_cell disk[NPAYLOADS];                        /* after 4 producers x 1000 */
    rate_cell pull[NPULL_MODES][NCONSUMERS];          /* by pull_modes, consumer_counts */
    lat_cell lat_publish;                             /* single publishes */
    lat_cell lat_delivery;                            /* publish to delivery */
    rate_cell ping_many;                              /* pings, PING_CLIENTS back to back */
    lat_cell lat_ping;                                /* paced pings */
    mem_cell stage[NSTAGES + 1];                      /* backlog samples, then after restart */
    double restart_ms;                                /* ready time with the backlog */
    int restart_state;                                /* 0 not run, 1 measured, -1 failed */
} sys_result;

/* The whole run: options, baselines, results, the stop flag. */
typedef struct bench_run {
    options opt;                /* parsed options */
    char command[8192];         /* the exact command, for the report */
    atomic_int stop;            /* set by the signal thread */
    atomic_int finished;        /* tells the signal thread to return */
    char workdir[PATH_MAX];     /* where every run directory goes */
    bool own_workdir;           /* created by us: removed at the end unless --keep */
    unsigned next_dir;          /* number of the next run directory */
    double fsync_us;            /* median fdatasync after a 4 KiB pwrite */
    int fsync_state;            /* 0 not run, 1 measured, -1 failed */
    rate_cell lmdb;             /* raw LMDB batched appends */
    sys_result sys[NKINDS];     /* one per available system, in kind order */
    size_t nsys;                /* entries of sys in use */
    int failures;               /* runs that failed */
} bench_run;

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-bench [options]\n"
            "  --quick              small counts (2k events per run, 20k backlog, 1 s caps)\n"
            "  --report FILE        also write the Markdown report to FILE\n"
            "  --only SYSTEM        sluice, redis or jetstream (repeatable; default all)\n"
            "  --events N           events per throughput run (200000)\n"
            "  --rounds N           runs of each cell a target reads, 1..9 (3; --quick 1)\n"
            "  --backlog N          events of the memory/restart backlog (10000000)\n"
            "  --compare-backlog    run the backlog workload on every system\n"
            "  --workdir DIR        where the servers keep their data (a new temp dir)\n"
            "  --keep               keep the work directory\n"
            "env: SLUICED  the sluiced executable (default: ../sluiced/sluiced)\n");
}

static int parse_count(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > COUNT_MAX) {
        fprintf(stderr, "sluice-bench: %s wants a count 1..%llu, not '%s'\n", flag,
                COUNT_MAX, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_only(const char *s, unsigned *only)
{
    if (strcmp(s, "sluice") == 0)
        *only |= ONLY_SLUICE;
    else if (strcmp(s, "redis") == 0)
        *only |= ONLY_REDIS;
    else if (strcmp(s, "jetstream") == 0)
        *only |= ONLY_JETSTREAM;
    else {
        fprintf(stderr, "sluice-bench: --only wants sluice, redis or jetstream, not '%s'\n", s);
        return -1;
    }
    return 0;
}

/* One option taking a value; *i moves past it. 0, -1 (bad), 1 (not ours). */
static int parse_valued(options *o, int argc, char **argv, int *i, uint64_t *events,
                        uint64_t *backlog, uint64_t *rounds)
{
    const char *a = argv[*i];
    bool known = strcmp(a, "--report") == 0 || strcmp(a, "--only") == 0 ||
                 strcmp(a, "--events") == 0 || strcmp(a, "--backlog") == 0 ||
                 strcmp(a, "--workdir") == 0 || strcmp(a, "--rounds") == 0;
    if (!known)
        return 1;
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        fprintf(stderr, "sluice-bench: %s needs a value\n", a);
        return -1;
    }
    const char *v = argv[++*i];
    if (strcmp(a, "--report") == 0)
        o->report = v;
    else if (strcmp(a, "--workdir") == 0)
        o->workdir = v;
    else if (strcmp(a, "--only") == 0)
        return parse_only(v, &o->only);
    else if (strcmp(a, "--rounds") == 0) {
        if (parse_count(a, v, rounds) != 0)
            return -1;
        if (*rounds > ROUNDS_MAX) {
            fprintf(stderr, "sluice-bench: --rounds wants 1..%u, not '%s'\n", ROUNDS_MAX, v);
            return -1;
        }
    } else
        return parse_count(a, v, strcmp(a, "--events") == 0 ? events : backlog);
    return 0;
}

/* 0 to run, 1 after --help, -1 on bad usage. */
static int parse_options(int argc, char **argv, options *o)
{
    uint64_t events = 0, backlog = 0, rounds = 0;
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--quick") == 0)
            o->quick = true;
        else if (strcmp(a, "--keep") == 0)
            o->keep = true;
        else if (strcmp(a, "--compare-backlog") == 0)
            o->compare_backlog = true;
        else {
            int rc = parse_valued(o, argc, argv, &i, &events, &backlog, &rounds);
            if (rc == 1)
                fprintf(stderr, "sluice-bench: unknown option '%s'\n", a);
            if (rc != 0) {
                usage(stderr);
                return -1;
            }
        }
    }
    o->events = events ? events : o->quick ? 2000 : 200000;
    o->backlog = backlog ? backlog : o->quick ? 20000 : 10000000;
    o->cap_ms = o->quick ? 1000 : 4000;
    o->rounds = rounds ? (unsigned)rounds : o->quick ? 1 : ROUNDS_DEFAULT;
    return 0;
}

/* The command line as a shell would take it back, SLUICED first. */
static void format_command(char *out, size_t cap, int argc, char **argv)
{
    size_t len = 0;
    const char *sluiced = getenv("SLUICED");
    out[0] = '\0';
    if (sluiced && *sluiced)
        len += (size_t)snprintf(out, cap, "SLUICED=%s ", sluiced);
    for (int i = 0; i < argc && len < cap; i++) {
        bool plain = argv[i][0] && strspn(argv[i], "abcdefghijklmnopqrstuvwxyz"
                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789-_./=:+,@%") == strlen(argv[i]);
        len += (size_t)snprintf(out + len, cap - len, plain ? "%s%s" : "%s'%s'",
                                i ? " " : "", argv[i]);
    }
}

/* ---- signals: a thread turns SIGINT/SIGTERM into run->stop ---------------- */

typedef struct sig_watch {
    sigset_t set;           /* SIGINT, SIGTERM: blocked in every thread */
    bench_run *run;         /* borrowed */
    pthread_t thread;       /* the sigwait thread */
    bool running;           /* thread started */
} sig_watch;

static void *sig_main(void *arg)
{
    sig_watch *w = arg;
    for (;;) {
        int sig;
        if (sigwait(&w->set, &sig) != 0)
            continue;
        if (atomic_load(&w->run->finished))
            return NULL;
        atomic_store(&w->run->stop, 1);
        static const char msg[] = "sluice-bench: interrupted; stopping the servers\n";
        if (write(2, msg, sizeof msg - 1) < 0)
            continue;
    }
}

static int sig_watch_start(sig_watch *w, bench_run *run)
{
    memset(w, 0, sizeof *w);
    w->run = run;
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &w->set, NULL) != 0 ||
        pthread_create(&w->thread, NULL, sig_main, w) != 0) {
        fprintf(stderr, "sluice-bench: cannot watch for signals\n");
        return -1;
    }
    w->running = true;
    return 0;
}

static void sig_watch_stop(sig_watch *w)
{
    if (!w->running)
        return;
    atomic_store(&w->run->finished, 1);
    pthread_kill(w->thread, SIGTERM);
    pthread_join(w->thread, NULL);
    w->running = false;
}

/* ---- the work directory ----------------------------------------------------- */

static int workdir_open(bench_run *run)
{
    const char *dir = run->opt.workdir;
    if (dir) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "sluice-bench: mkdir %s: %s\n", dir, strerror(errno));
            return -1;
        }
        if (!realpath(dir, run->workdir)) {
            fprintf(stderr, "sluice-bench: %s: %s\n", dir, strerror(errno));
            return -1;
        }
        return 0;
    }
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(run->workdir, sizeof run->workdir, "%s/sluice-bench-XXXXXX", base);
    if (!mkdtemp(run->workdir)) {
        fprintf(stderr, "sluice-bench: mkdtemp in %s: %s\n", base, strerror(errno));
        return -1;
    }
    run->own_workdir = true;
    return 0;
}

static void workdir_close(bench_run *run)
{
    if (run->opt.keep)
        fprintf(stderr, "sluice-bench: kept %s\n", run->workdir);
    else if (run->own_workdir && bench_rmtree(run->workdir) != 0)
        fprintf(stderr, "sluice-bench: cannot remove %s\n", run->workdir);
}

/* ---- running one job on a fresh system ------------------------------------ */

typedef int (*system_job)(bench_run *run, sys_result *sr, const bench_target *t, void *ctx);

static int setup_system(const bench_driver *drv, bench_system *sys)
{
    bench_conn *c;
    if (drv->connect(sys, &c) != 0)
        return -1;
    int rc = drv->setup(c);
    drv->disconnect(c);
    return rc;
}

/* Start a server in a new directory, set it up, run job, stop, clean up.
 * Returns job's result, -1 when the server did not come up, 0 when the
 * run was skipped because of a signal. */
static int on_fresh_system(bench_run *run, sys_result *sr, system_job job, void *ctx)
{
    if (atomic_load(&run->stop))
        return 0;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s-%u", run->workdir, kind_slug[sr->kind],
                 run->next_dir++) >= (int)sizeof dir ||
        mkdir(dir, 0755) != 0) {
        fprintf(stderr, "sluice-bench: cannot make a run directory in %s\n", run->workdir);
        return -1;
    }
    bench_system *sys = NULL;
    int rc = sr->drv->start(dir, &sys);
    if (rc == 0) {
        rc = setup_system(sr->drv, sys);
        bench_target t = {sr->drv, sys, &run->stop};
        if (rc == 0)
            rc = job(run, sr, &t, ctx);
        sr->drv->stop(sys);
    }
    if (!run->opt.keep)
        bench_rmtree(dir);
    return rc;
}

static int cell_state(bench_run *run, int rc)
{
    if (rc == 0)
        return 1;
    run->failures++;
    return -1;
}

/* Record how a run on a fresh system went: a run cut short by a signal is
 * left out (state 0) unless it failed. */
static void record(bench_run *run, int rc, int *state)
{
    if (rc == 0 && atomic_load(&run->stop))
        return;
    int now = cell_state(run, rc);
    if (*state != -1)
        *state = now;
}

static void keep_rate(rate_cell *c, double probe_us)
{
    if (c->rounds < ROUNDS_MAX) {
        c->probe_us[c->rounds] = probe_us;
        c->round[c->rounds++] = c->r;
    }
}

static void keep_latency(lat_cell *c, double probe_us)
{
    if (c->rounds < ROUNDS_MAX) {
        c->probe_us[c->rounds] = probe_us;
        c->round[c->rounds++] = c->l;
    }
}

/* The fdatasync median right now, for a run scaled by it (0: failed). */
static double fsync_probe(const bench_run *run)
{
    double us = 0;
    if (bench_fsync_baseline(run->workdir, PROBE_FSYNCS, PROBE_CAP_MS, &us) != 0)
        return 0;
    return us;
}

/* ---- the jobs --------------------------------------------------------------- */

typedef struct publish_spec {
    int p, k, b;            /* indexes into payload_sizes, producer_counts, batch_sizes */
} publish_spec;

static int job_publish(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    const publish_spec *s = ctx;
    rate_cell *cell = &sr->publish[s->p][s->k][s->b];
    bool scaled = sr->kind == KIND_SLUICE && s->p == 0 && s->k == 2 && s->b == 0;
    double probe = scaled ? fsync_probe(run) : 0;
    uint64_t fixed = t->drv->disk_bytes(t->sys);
    int rc = bench_publish_run(t, producer_counts[s->k], batch_sizes[s->b],
                               payload_sizes[s->p], run->opt.events, run->opt.cap_ms, &cell->r);
    if (rc == 0)
        keep_rate(cell, probe);
    fprintf(stderr, "  %s: publish %zu B, %u x %zu: %.0f events/s%s\n", sr->drv->name,
            payload_sizes[s->p], producer_counts[s->k], batch_sizes[s->b], cell->r.per_s,
            cell->r.capped ? " (capped)" : "");
    if (rc == 0 && producer_counts[s->k] == 4 && batch_sizes[s->b] == 1000) {
        uint64_t after = t->drv->disk_bytes(t->sys);
        sr->disk[s->p].fixed = fixed;
        sr->disk[s->p].bytes = after > fixed ? after - fixed : 0;
        sr->disk[s->p].events = cell->r.events;
        sr->disk[s->p].state = 1;
    }
    return rc;
}

/* One pull+ack run: indexes into pull_modes and consumer_counts. */
typedef struct pull_spec {
    int m, c;
} pull_spec;

static int job_pull(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    const pull_spec *ps = ctx;
    rate_cell *cell = &sr->pull[ps->m][ps->c];
    bench_rate pre;
    uint64_t cap = run->opt.cap_ms * 10 > PREPUBLISH_CAP_MS ? run->opt.cap_ms * 10
                                                              : PREPUBLISH_CAP_MS;
    if (bench_publish_run(t, 4, PULL_BATCH, 256, run->opt.events, cap, &pre) != 0)
        return -1;
    int rc = bench_pull_run(t, consumer_counts[ps->c], PULL_BATCH, pull_modes[ps->m],
                            pre.events, run->opt.cap_ms, &cell->r);
    if (rc == 0)
        keep_rate(cell, 0);
    fprintf(stderr, "  %s: pull+ack (%s), %u consumer(s): %.0f events/s%s\n", sr->drv->name,
            pull_mode_names[ps->m], consumer_counts[ps->c], cell->r.per_s,
            cell->r.capped ? " (capped)" : "");
    return rc;
}

static uint64_t latency_events(const bench_run *run)
{
    uint64_t by_time = (uint64_t)(LATENCY_RATE * (double)run->opt.cap_ms / 1000.0);
    return run->opt.events < by_time ? run->opt.events : by_time;
}

static void print_latency_progress(const char *name, const char *what, const bench_latency *l)
{
    fprintf(stderr, "  %s: %s latency at %.0f/s: p50 %.3f ms, p99 %.3f ms (%.0f/s achieved)\n",
            name, what, l->rate_target, l->p50_us / 1000, l->p99_us / 1000, l->rate_achieved);
}

static int job_latency_publish(bench_run *run, sys_result *sr, const bench_target *t,
                               void *ctx)
{
    (void)ctx;
    bench_latency *l = &sr->lat_publish.l;
    double probe = sr->kind == KIND_SLUICE ? fsync_probe(run) : 0;
    int rc = bench_latency_publish(t, LATENCY_RATE, latency_events(run), run->opt.cap_ms, l);
    if (rc == 0)
        keep_latency(&sr->lat_publish, probe);
    print_latency_progress(sr->drv->name, "publish", l);
    return rc;
}

static int job_latency_delivery(bench_run *run, sys_result *sr, const bench_target *t,
                                void *ctx)
{
    (void)ctx;
    bench_latency *l = &sr->lat_delivery.l;
    int rc = bench_latency_delivery(t, LATENCY_RATE, latency_events(run), 256,
                                    run->opt.cap_ms, l);
    print_latency_progress(sr->drv->name, "delivery", l);
    return rc;
}

/* The round trip alone, no storage: what a 64 x 1 publish and a paced
 * publish cost before the system does anything with the event. */
static int job_ping(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    (void)ctx;
    rate_cell *cell = &sr->ping_many;
    int rc = bench_ping_run(t, PING_CLIENTS, run->opt.events, run->opt.cap_ms, &cell->r);
    fprintf(stderr, "  %s: ping, %u clients: %.0f/s%s\n", sr->drv->name, PING_CLIENTS,
            cell->r.per_s, cell->r.capped ? " (capped)" : "");
    return rc;
}

static int job_latency_ping(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    (void)ctx;
    bench_latency *l = &sr->lat_ping.l;
    int rc = bench_latency_ping(t, LATENCY_RATE, latency_events(run), run->opt.cap_ms, l);
    print_latency_progress(sr->drv->name, "ping", l);
    return rc;
}

static int sample_memory(const bench_target *t, uint64_t events, mem_cell *cell)
{
    cell->events = events;
    cell->disk = t->drv->disk_bytes(t->sys);
    int rc = bench_mem_read(t->drv->pid(t->sys), &cell->mem);
    cell->state = rc == 0 ? 1 : -1;
    fprintf(stderr, "  %s: memory at %llu events: VmHWM %.1f MiB, private %.1f MiB\n",
            t->drv->name, (unsigned long long)events, (double)cell->mem.hwm_kib / 1024,
            (double)cell->mem.private_kib / 1024);
    return rc;
}

static int job_backlog(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    (void)ctx;
    uint64_t done = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < NSTAGES && !atomic_load(&run->stop); i++) {
        uint64_t goal = (uint64_t)((double)run->opt.backlog * stage_fractions[i]);
        bench_rate r;
        if (goal > done)
            rc = bench_publish_run(t, BACKLOG_PRODUCERS, BACKLOG_BATCH, 256, goal - done,
                                   BACKLOG_CAP_MS, &r);
        if (rc == 0 && goal > done)
            done += r.events;
        if (rc == 0)
            rc = sample_memory(t, done, &sr->stage[i]);
    }
    if (rc != 0 || atomic_load(&run->stop))
        return rc;
    rc = t->drv->restart(t->sys, &sr->restart_ms);
    sr->restart_state = rc == 0 ? 1 : -1;
    fprintf(stderr, "  %s: restart with %llu events: ready in %.1f ms\n", sr->drv->name,
            (unsigned long long)done, sr->restart_ms);
    if (rc == 0)
        rc = sample_memory(t, done, &sr->stage[NSTAGES]);
    return rc;
}

/* ---- the plan ------------------------------------------------------------------ */

/* Whether a target reads this publish cell: 4 producers x 1000 (both
 * payloads), and 256 B with 64 producers x 1. */
static bool target_publish(const publish_spec *s)
{
    return (s->k == 1 && s->b == 2) || (s->p == 0 && s->k == 2 && s->b == 0);
}

/* Run one cell on every system, `rounds` times, interleaved: round 1 on each
 * system, then round 2, ... so the systems compared share a time window on
 * a machine whose speed drifts. state_of: the cell's state in a system. */
static void run_cell(bench_run *run, unsigned rounds, system_job job, void *ctx,
                     int *(*state_of)(sys_result *sr, const void *ctx))
{
    for (unsigned r = 0; r < rounds; r++)
        for (size_t i = 0; i < run->nsys && !atomic_load(&run->stop); i++) {
            sys_result *sr = &run->sys[i];
            record(run, on_fresh_system(run, sr, job, ctx), state_of(sr, ctx));
        }
}

static int *publish_state(sys_result *sr, const void *ctx)
{
    const publish_spec *s = ctx;
    return &sr->publish[s->p][s->k][s->b].state;
}

static int *pull_state(sys_result *sr, const void *ctx)
{
    const pull_spec *ps = ctx;
    return &sr->pull[ps->m][ps->c].state;
}

static int *lat_publish_state(sys_result *sr, const void *ctx)
{
    (void)ctx;
    return &sr->lat_publish.state;
}

static int *lat_delivery_state(sys_result *sr, const void *ctx)
{
    (void)ctx;
    return &sr->lat_delivery.state;
}

static int *ping_state(sys_result *sr, const void *ctx)
{
    (void)ctx;
    return &sr->ping_many.state;
}

static int *lat_ping_state(sys_result *sr, const void *ctx)
{
    (void)ctx;
    return &sr->lat_ping.state;
}

static void run_cells(bench_run *run)
{
    for (int p = 0; p < NPAYLOADS; p++)
        for (int k = 0; k < NPRODUCERS; k++)
            for (int b = 0; b < NBATCHES; b++) {
                publish_spec s = {p, k, b};
                run_cell(run, target_publish(&s) ? run->opt.rounds : 1, job_publish, &s,
                         publish_state);
            }
    for (int m = 0; m < NPULL_MODES; m++)
        for (int c = 0; c < NCONSUMERS; c++) {
            pull_spec ps = {m, c};
            run_cell(run, consumer_counts[c] == 4 ? run->opt.rounds : 1, job_pull, &ps,
                     pull_state);
        }
    run_cell(run, run->opt.rounds, job_latency_publish, NULL, lat_publish_state);
    run_cell(run, 1, job_latency_delivery, NULL, lat_delivery_state);
    run_cell(run, 1, job_ping, NULL, ping_state);
    run_cell(run, 1, job_latency_ping, NULL, lat_ping_state);
}

static void run_backlogs(bench_run *run)
{
    for (size_t i = 0; i < run->nsys && !atomic_load(&run->stop); i++) {
        sys_result *sr = &run->sys[i];
        if (sr->kind != KIND_SLUICE && !run->opt.compare_backlog)
            continue;
        int backlog_state = 0;
        record(run, on_fresh_system(run, sr, job_backlog, NULL), &backlog_state);
    }
}

/* ---- medians of rounds ----------------------------------------------------------- */

static int by_value(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return x < y ? -1 : x > y;
}

/* Index of the median of v[0..n); of an even n, the lower middle one, or
 * with upper the upper one (the less flattering choice either way). */
static unsigned median_index(const double *v, unsigned n, bool upper)
{
    double pairs[ROUNDS_MAX][2];
    for (unsigned i = 0; i < n; i++) {
        pairs[i][0] = v[i];
        pairs[i][1] = (double)i;
    }
    qsort(pairs, n, sizeof pairs[0], by_value);
    return (unsigned)pairs[upper ? n / 2 : (n - 1) / 2][1];
}

static void settle_rate(rate_cell *c)
{
    double v[ROUNDS_MAX];
    for (unsigned i = 0; i < c->rounds; i++)
        v[i] = c->round[i].per_s;
    if (c->rounds > 1)
        c->r = c->round[median_index(v, c->rounds, false)];
}

static void settle_latency(lat_cell *c)
{
    double v[ROUNDS_MAX];
    for (unsigned i = 0; i < c->rounds; i++)
        v[i] = c->round[i].p99_us;
    if (c->rounds > 1)
        c->l = c->round[median_index(v, c->rounds, true)];
}

/* Each multi-round cell shows its median round in the tables. */
static void settle_rounds(bench_run *run)
{
    for (size_t i = 0; i < run->nsys; i++) {
        sys_result *sr = &run->sys[i];
        for (int p = 0; p < NPAYLOADS; p++)
            for (int k = 0; k < NPRODUCERS; k++)
                for (int b = 0; b < NBATCHES; b++)
                    settle_rate(&sr->publish[p][k][b]);
        for (int m = 0; m < NPULL_MODES; m++)
            for (int c = 0; c < NCONSUMERS; c++)
                settle_rate(&sr->pull[m][c]);
        settle_latency(&sr->lat_publish);
    }
}

static void run_baselines(bench_run *run)
{
    unsigned rounds = run->opt.quick ? 100 : 1000;
    run->fsync_state = cell_state(run, bench_fsync_baseline(run->workdir, rounds,
                                                            run->opt.cap_ms, &run->fsync_us));
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/lmdb-baseline", run->workdir);
    run->lmdb.state = cell_state(run, bench_lmdb_baseline(dir, 1000, 256, run->opt.events,
                                                          run->opt.cap_ms, &run->lmdb.r));
    fprintf(stderr, "sluice-bench: fdatasync median %.1f us; raw LMDB %.0f events/s\n",
            run->fsync_us, run->lmdb.r.per_s);
}

/* The systems to run: wanted by --only and with a driver (non-NULL). */
static void plan_systems(bench_run *run)
{
    const bench_driver *drivers[NKINDS] = {bench_driver_sluice(), bench_driver_redis_always(),
                                           bench_driver_redis_everysec(),
                                           bench_driver_jetstream()};
    for (int k = 0; k < NKINDS; k++) {
        bool wanted = run->opt.only == 0 || (run->opt.only & kind_only[k]);
        if (wanted && !drivers[k] && k != KIND_SLUICE)
            fprintf(stderr, "sluice-bench: %s is not available; its rows are left out\n",
                    kind_slug[k]);
        if (wanted && drivers[k]) {
            run->sys[run->nsys].kind = k;
            run->sys[run->nsys].drv = drivers[k];
            run->nsys++;
        }
    }
}

/* ---- the report: machine ----------------------------------------------------- */

static void first_line(char *s)
{
    s[strcspn(s, "\r\n")] = '\0';
}

/* The first line argv prints on stdout (argv[0] found in PATH), or "". */
static void capture_line(char *const argv[], char *out, size_t cap)
{
    out[0] = '\0';
    int fds[2];
    if (pipe(fds) != 0)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (f && err == 0 && fgets(out, (int)cap, f))
        first_line(out);
    if (f)
        fclose(f);
    else
        close(fds[0]);
    if (err == 0)
        waitpid(pid, NULL, 0);
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(out, cap, "%s", strchr(line, ':') + 2);
            first_line(out);
            break;
        }
    }
    if (f)
        fclose(f);
}

/* The mount holding path (longest matching mount point): device, type, options. */
static void mount_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/self/mounts", "r");
    char dev[256], mnt[1024], type[64], opts[512];
    size_t best = 0;
    while (f && fscanf(f, "%255s %1023s %63s %511s %*d %*d", dev, mnt, type, opts) == 4) {
        size_t n = strlen(mnt);
        bool under = strncmp(path, mnt, n) == 0 &&
                     (path[n] == '/' || path[n] == '\0' || strcmp(mnt, "/") == 0);
        if (under && n >= best) {
            best = n;
            snprintf(out, cap, "%s on %s (%s, %s)", dev, mnt, type, opts);
        }
    }
    if (f)
        fclose(f);
}

static void sluiced_version(char *out, size_t cap)
{
    const char *bin = getenv("SLUICED");
    char *const argv[] = {(char *)(bin && *bin ? bin : "sluiced"), "--version", NULL};
    capture_line(argv, out, cap);
}

static void print_machine(FILE *f, const bench_run *run)
{
    struct utsname u;
    char cpu[256], mnt[2048], v_sluice[256], v_redis[256], v_nats[256];
    char *const redis_argv[] = {"redis-server", "--version", NULL};
    char *const nats_argv[] = {"nats-server", "--version", NULL};
    cpu_model(cpu, sizeof cpu);
    mount_of(run->workdir, mnt, sizeof mnt);
    sluiced_version(v_sluice, sizeof v_sluice);
    capture_line(redis_argv, v_redis, sizeof v_redis);
    capture_line(nats_argv, v_nats, sizeof v_nats);
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fprintf(f, "# sluice-bench report\n\n## Machine\n\n");
    fprintf(f, "- CPUs: %ld (nproc), model: %s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu);
    fprintf(f, "- kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    fprintf(f, "- work directory: %s, file system: %s\n", run->workdir, mnt);
    fprintf(f, "- versions: %s; %s; %s\n", v_sluice[0] ? v_sluice : "sluiced (unknown)",
            v_redis[0] ? v_redis : "redis-server not installed",
            v_nats[0] ? v_nats : "nats-server not installed");
    fprintf(f, "- command: `%s`\n", run->command);
    fprintf(f, "- counts: %llu events per run, each run capped at %.1f s (a capped run reports "
               "events/s over what it did, marked *); backlog %llu events; %u round(s) of "
               "the cells the targets read\n",
            (unsigned long long)run->opt.events, (double)run->opt.cap_ms / 1000,
            (unsigned long long)run->opt.backlog, run->opt.rounds);
    fprintf(f, "- systems:\n");
    for (size_t i = 0; i < run->nsys; i++)
        fprintf(f, "  - %s: %s\n", run->sys[i].drv->name, run->sys[i].drv->setting);
    fprintf(f, "\n");
}

/* ---- the report: tables ---------------------------------------------------------- */

static const sys_result *find_kind(const bench_run *run, int kind)
{
    for (size_t i = 0; i < run->nsys; i++)
        if (run->sys[i].kind == kind)
            return &run->sys[i];
    return NULL;
}

static void rate_text(const rate_cell *c, char *out, size_t cap)
{
    if (c->state == 0)
        snprintf(out, cap, "-");
    else if (c->state < 0)
        snprintf(out, cap, "failed");
    else
        snprintf(out, cap, "%.0f%s", c->r.per_s, c->r.capped ? "*" : "");
}

/* sluice / other for two cells, into out; 0 when both are measured. */
static int ratio_of(const rate_cell *s, const rate_cell *o, double *ratio)
{
    if (!s || !o || s->state != 1 || o->state != 1 || o->r.per_s <= 0)
        return -1;
    *ratio = s->r.per_s / o->r.per_s;
    return 0;
}

static void ratio_text(const rate_cell *s, const rate_cell *o, char *out, size_t cap)
{
    double r;
    if (ratio_of(s, o, &r) == 0)
        snprintf(out, cap, "%.2fx", r);
    else
        snprintf(out, cap, "-");
}

/* The header of a side-by-side table: lead columns, a column per system,
 * a ratio column per other system (when sluice ran). */
static void side_header(FILE *f, const bench_run *run, const char *lead, int nlead)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    int cols = nlead;
    fprintf(f, "| %s |", lead);
    for (size_t i = 0; i < run->nsys; i++, cols++)
        fprintf(f, " %s |", run->sys[i].drv->name);
    for (size_t i = 0; s && i < run->nsys; i++) {
        if (run->sys[i].kind == KIND_SLUICE)
            continue;
        fprintf(f, " sluice / %s |", run->sys[i].drv->name);
        cols++;
    }
    fprintf(f, "\n|");
    for (int i = 0; i < cols; i++)
        fprintf(f, "---|");
    fprintf(f, "\n");
}

typedef const rate_cell *(*cell_pick)(const sys_result *sr, const void *ctx);

static void side_row(FILE *f, const bench_run *run, const char *lead, cell_pick pick,
                     const void *ctx)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    char buf[64];
    fprintf(f, "| %s |", lead);
    for (size_t i = 0; i < run->nsys; i++) {
        rate_text(pick(&run->sys[i], ctx), buf, sizeof buf);
        fprintf(f, " %s |", buf);
    }
    for (size_t i = 0; s && i < run->nsys; i++) {
        if (run->sys[i].kind == KIND_SLUICE)
            continue;
        ratio_text(pick(s, ctx), pick(&run->sys[i], ctx), buf, sizeof buf);
        fprintf(f, " %s |", buf);
    }
    fprintf(f, "\n");
}

static const rate_cell *pick_publish(const sys_result *sr, const void *ctx)
{
    const publish_spec *p = ctx;
    return &sr->publish[p->p][p->k][p->b];
}

static const rate_cell *pick_pull(const sys_result *sr, const void *ctx)
{
    const pull_spec *ps = ctx;
    return &sr->pull[ps->m][ps->c];
}

static const rate_cell *pick_ping(const sys_result *sr, const void *ctx)
{
    (void)ctx;
    return &sr->ping_many;
}

static void print_publish(FILE *f, const bench_run *run)
{
    fprintf(f, "## Publish throughput\n\nEvents/s acknowledged by the system (durably, per "
               "its setting above); each producer has its own connection and publishes "
               "batches back to back.\n\n");
    side_header(f, run, "payload | producers | batch", 3);
    for (int p = 0; p < NPAYLOADS; p++)
        for (int k = 0; k < NPRODUCERS; k++)
            for (int b = 0; b < NBATCHES; b++) {
                char lead[64];
                publish_spec s = {p, k, b};
                snprintf(lead, sizeof lead, "%zu B | %u | %zu", payload_sizes[p],
                         producer_counts[k], batch_sizes[b]);
                side_row(f, run, lead, pick_publish, &s);
            }
    char lead[64];
    snprintf(lead, sizeof lead, "ping (stores nothing) | %u | 1", PING_CLIENTS);
    side_row(f, run, lead, pick_ping, NULL);
    fprintf(f, "\nThe ping row is the round trip alone (sluice: ping; Redis: PING; JetStream: "
               "a NATS PING/PONG), requests/s: the ceiling of the 64 x 1 rows on this "
               "machine, whatever the system does with an event.\n\n");
}

static void print_pull(FILE *f, const bench_run *run)
{
    fprintf(f, "## Pull + ack throughput\n\n%llu events of 256 B published first; each "
               "consumer pulls batches of up to %u and acks them. Events/s consumed. "
               "*pull, then ack*: a pull, then an ack of the whole batch, two round trips "
               "per batch. *ack with the next pull*: one round trip per batch, the acks of "
               "one batch travelling with the pull of the next (sluice: a pull with `ack`; "
               "Redis: XACK and XREADGROUP pipelined; JetStream acks never wait for an "
               "answer, so its two rows run the same loop); the last batch is acked before "
               "the clock stops.\n\n",
            (unsigned long long)run->opt.events, PULL_BATCH);
    side_header(f, run, "acks | consumers", 2);
    for (int m = 0; m < NPULL_MODES; m++)
        for (int c = 0; c < NCONSUMERS; c++) {
            char lead[64];
            snprintf(lead, sizeof lead, "%s | %u", pull_mode_names[m], consumer_counts[c]);
            pull_spec ps = {m, c};
            side_row(f, run, lead, pick_pull, &ps);
        }
    fprintf(f, "\n");
}

static void latency_row(FILE *f, const char *name, const char *what, const lat_cell *c)
{
    if (c->state == 0)
        return;
    if (c->state < 0) {
        fprintf(f, "| %s | %s | failed | | | | | |\n", name, what);
        return;
    }
    const bench_latency *l = &c->l;
    fprintf(f, "| %s | %s | %.0f%s | %llu | %.3f | %.3f | %.3f | %.3f |\n", name, what,
            l->rate_achieved, l->capped ? "*" : "", (unsigned long long)l->events,
            l->p50_us / 1000, l->p99_us / 1000, l->p999_us / 1000, l->max_us / 1000);
}

static void print_latency(FILE *f, const bench_run *run)
{
    fprintf(f, "## Latency\n\nOne producer, batches of 1, 256 B, paced at %.0f events/s "
               "(open loop: event i is due at start + i / rate and measured from that due "
               "time, sent from a pool of connections so a slow reply does not delay the "
               "schedule). Delivery: a consumer long-polls; the payload carries the due time. "
               "Ping: the same schedule and connections with a request that stores nothing "
               "(sluice: ping; Redis: PING; JetStream: a NATS PING/PONG), the floor under a "
               "publish. Milliseconds.\n\n",
            LATENCY_RATE);
    fprintf(f, "| system | latency of | achieved events/s | samples | p50 | p99 | p99.9 | max "
               "|\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < run->nsys; i++) {
        latency_row(f, run->sys[i].drv->name, "publish", &run->sys[i].lat_publish);
        latency_row(f, run->sys[i].drv->name, "publish to delivery",
                    &run->sys[i].lat_delivery);
        latency_row(f, run->sys[i].drv->name, "ping (round trip alone)",
                    &run->sys[i].lat_ping);
    }
    fprintf(f, "\n");
}

static void print_disk(FILE *f, const bench_run *run)
{
    fprintf(f, "## Disk per event\n\nThe publish run with 4 producers and batches of "
               "1000: what the data files' disk usage grew by / events stored, and its ratio to "
               "payload + topic bytes (topic \"bench.event\", %d B). \"Fixed\" is the usage "
               "of the fresh system before the run (sluice: its 16 MiB journal and the disk "
               "room it keeps reserved for a checkpoint), which does not grow with events.\n\n",
               TOPIC_BYTES);
    fprintf(f, "| system | payload | events | fixed MiB | growth MiB | bytes/event | ratio to "
               "payload+topic |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < run->nsys; i++)
        for (int p = 0; p < NPAYLOADS; p++) {
            const disk_cell *d = &run->sys[i].disk[p];
            if (d->state != 1 || d->events == 0)
                continue;
            double per = (double)d->bytes / (double)d->events;
            fprintf(f, "| %s | %zu B | %llu | %.1f | %.1f | %.0f | %.2f |\n",
                    run->sys[i].drv->name, payload_sizes[p], (unsigned long long)d->events,
                    (double)d->fixed / 1048576.0, (double)d->bytes / 1048576.0, per,
                    per / (double)(payload_sizes[p] + TOPIC_BYTES));
        }
    fprintf(f, "\n");
}

static void memory_rows(FILE *f, const sys_result *sr)
{
    for (int i = 0; i <= NSTAGES; i++) {
        const mem_cell *m = &sr->stage[i];
        if (m->state != 1)
            continue;
        fprintf(f, "| %s | %llu%s | %.1f | %.1f | %.1f | %.1f | %.1f |\n", sr->drv->name,
                (unsigned long long)m->events, i == NSTAGES ? " (after restart)" : "",
                (double)m->mem.hwm_kib / 1024, (double)m->mem.rss_kib / 1024,
                (double)m->mem.private_kib / 1024, (double)m->mem.anon_kib / 1024,
                (double)m->disk / 1048576.0);
    }
}

static void print_memory(FILE *f, const bench_run *run)
{
    fprintf(f, "## Memory and restart\n\nThe server with a backlog of %llu events of 256 B "
               "(published by %u producers in batches of %u, nobody consuming), sampled at "
               "10%%, 50%% and 100%% of it and after a restart. VmHWM from "
               "/proc/<pid>/status; private = Private_Clean + Private_Dirty and anonymous from "
               "/proc/<pid>/smaps_rollup (LMDB's map pages read by the server count as "
               "private clean). MiB.%s\n\n",
            (unsigned long long)run->opt.backlog, BACKLOG_PRODUCERS, BACKLOG_BATCH,
            run->opt.compare_backlog ? ""
                                     : " Redis and JetStream hold a backlog in RAM: they "
                                       "run this only with --compare-backlog.");
    fprintf(f, "| system | backlog events | VmHWM | VmRSS | private | anonymous | disk |\n"
               "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < run->nsys; i++)
        memory_rows(f, &run->sys[i]);
    fprintf(f, "\n| system | restart: exec to first answered request (ms) |\n|---|---|\n");
    for (size_t i = 0; i < run->nsys; i++) {
        const sys_result *sr = &run->sys[i];
        if (sr->restart_state == 1)
            fprintf(f, "| %s | %.1f |\n", sr->drv->name, sr->restart_ms);
        else if (sr->restart_state < 0)
            fprintf(f, "| %s | failed |\n", sr->drv->name);
    }
    fprintf(f, "\n");
}

/* The fdatasync probes made before sluice's fsync-scaled runs, one row a cell. */
static void probe_row(FILE *f, const char *what, const double *probe_us, unsigned n)
{
    if (n == 0)
        return;
    fprintf(f, "| fdatasync probe (%u syncs, median) before each round of %s |", PROBE_FSYNCS,
            what);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s%.1f", i ? ", " : " ", probe_us[i]);
    fprintf(f, " us |\n");
}

static void probe_rows(FILE *f, const bench_run *run)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    if (!s)
        return;
    probe_row(f, "sluice's 64 x 1 publish", s->publish[0][2][0].probe_us,
              s->publish[0][2][0].rounds);
    probe_row(f, "sluice's paced publish", s->lat_publish.probe_us, s->lat_publish.rounds);
}

static void print_baselines(FILE *f, const bench_run *run)
{
    fprintf(f, "## Baselines\n\nSame file system as the servers' data (the work "
               "directory).\n\n| baseline | value |\n|---|---|\n");
    if (run->fsync_state == 1)
        fprintf(f, "| fdatasync after a 4 KiB pwrite, median | %.1f us (%.0f fsyncs/s) |\n",
                run->fsync_us, run->fsync_us > 0 ? 1e6 / run->fsync_us : 0);
    else
        fprintf(f, "| fdatasync after a 4 KiB pwrite, median | failed |\n");
    probe_rows(f, run);
    char buf[64];
    rate_text(&run->lmdb, buf, sizeof buf);
    fprintf(f, "| raw LMDB: batches of 1000 appends of 256 B, MDB_APPEND, synced commit | %s "
               "events/s |\n\n", buf);
}

/* ---- the report: targets ------------------------------------------------------------ */

/* A target: measured value against a bound. have 0: n/a (why in note). */
typedef struct target {
    const char *what;      /* the target in words */
    double value;          /* measured (a ratio, or ms) */
    double bound;          /* the bound */
    bool at_most;          /* value <= bound (else value >= bound) */
    bool strict;           /* < or > instead of <= or >= */
    const char *unit;      /* "x" or " ms" */
    bool have;             /* value was measured */
    double each[ROUNDS_MAX]; /* the value of each round, when value is their median */
    unsigned rounds;       /* entries of each in use; 0: value is from one outcome */
} target;

/* value := the median of the rounds' values. */
static void target_from_rounds(target *t)
{
    if (t->rounds == 0)
        return;
    double v[ROUNDS_MAX];
    memcpy(v, t->each, t->rounds * sizeof v[0]);
    t->value = v[median_index(v, t->rounds, t->at_most)];
    t->have = true;
}

static void rounds_text(const target *t, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < t->rounds && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%.2f", i ? ", " : "", t->each[i]);
    if (t->rounds == 0)
        snprintf(out, cap, "-");
}

static void print_target(FILE *f, const target *t)
{
    const char *op = t->at_most ? (t->strict ? "<" : "<=") : (t->strict ? ">" : ">=");
    if (!t->have) {
        fprintf(f, "| %s | - | - | %s %.2f%s | n/a |\n", t->what, op, t->bound, t->unit);
        return;
    }
    bool pass = t->at_most ? (t->strict ? t->value < t->bound : t->value <= t->bound)
                           : (t->strict ? t->value > t->bound : t->value >= t->bound);
    char each[160];
    rounds_text(t, each, sizeof each);
    fprintf(f, "| %s | %.2f%s | %s | %s %.2f%s | %s |\n", t->what, t->value, t->unit, each, op,
            t->bound, t->unit, pass ? "PASS" : "FAIL");
}

static const rate_cell *publish_cell(const bench_run *run, int kind, int p, int k, int b)
{
    const sys_result *sr = find_kind(run, kind);
    return sr ? &sr->publish[p][k][b] : NULL;
}

static const rate_cell *pull_cell(const bench_run *run, int kind, int m, int c)
{
    const sys_result *sr = find_kind(run, kind);
    return sr ? &sr->pull[m][c] : NULL;
}

/* s / o: with the same rounds on both, the median of each round's ratio
 * (the two ran minutes apart at most); else the ratio of the outcomes. */
static target ratio_target(const char *what, const rate_cell *s, const rate_cell *o,
                           double bound)
{
    target t = {.what = what, .bound = bound, .unit = "x"};
    t.have = ratio_of(s, o, &t.value) == 0;
    if (!t.have || s->rounds < 2 || s->rounds != o->rounds)
        return t;
    for (unsigned i = 0; i < s->rounds; i++) {
        if (o->round[i].per_s <= 0)
            return t;
        t.each[i] = s->round[i].per_s / o->round[i].per_s;
    }
    t.rounds = s->rounds;
    target_from_rounds(&t);
    return t;
}

/* The fdatasync time a round is scaled by: its own probe, else the baseline. */
static double probe_or_baseline(const bench_run *run, double probe_us)
{
    return probe_us > 0 ? probe_us : run->fsync_us;
}

/* Publish 256 B and 4 KiB with 4 producers x 1000 (index 1, 2). */
static void throughput_targets(FILE *f, const bench_run *run)
{
    const rate_cell *s256 = publish_cell(run, KIND_SLUICE, 0, 1, 2);
    const rate_cell *s4k = publish_cell(run, KIND_SLUICE, 1, 1, 2);
    target t[] = {
        ratio_target("publish 256 B, 4 producers x 1000: sluice / redis (always)", s256,
                     publish_cell(run, KIND_REDIS_ALWAYS, 0, 1, 2), 3),
        ratio_target("publish 256 B, 4 producers x 1000: sluice / jetstream", s256,
                     publish_cell(run, KIND_JETSTREAM, 0, 1, 2), 3),
        ratio_target("publish 256 B, 4 producers x 1000: sluice / raw LMDB appends", s256,
                     &run->lmdb, 0.7),
        ratio_target("pull+ack 256 B, 4 consumers, pull then ack: sluice / redis (always)",
                     pull_cell(run, KIND_SLUICE, 0, 1), pull_cell(run, KIND_REDIS_ALWAYS, 0, 1),
                     2.5),
        ratio_target("pull+ack 256 B, 4 consumers, pull then ack: sluice / jetstream",
                     pull_cell(run, KIND_SLUICE, 0, 1), pull_cell(run, KIND_JETSTREAM, 0, 1), 3),
        ratio_target("pull+ack 256 B, 4 consumers, ack with the next pull: sluice / redis "
                     "(always)",
                     pull_cell(run, KIND_SLUICE, 1, 1), pull_cell(run, KIND_REDIS_ALWAYS, 1, 1),
                     2.5),
        ratio_target("pull+ack 256 B, 4 consumers, ack with the next pull: sluice / jetstream",
                     pull_cell(run, KIND_SLUICE, 1, 1), pull_cell(run, KIND_JETSTREAM, 1, 1), 3),
        ratio_target("publish 4 KiB, 4 producers x 1000: sluice / jetstream", s4k,
                     publish_cell(run, KIND_JETSTREAM, 1, 1, 2), 2),
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        print_target(f, &t[i]);
}

/* Against fdatasync: each round is scaled by the probe made just before it
 * (else the baseline); the value is the median over the rounds. */
static void fsync_targets(FILE *f, const bench_run *run)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    bool fs = run->fsync_state == 1 && run->fsync_us > 0;
    const rate_cell *many = s ? &s->publish[0][2][0] : NULL;
    target t64 = {.what = "publish 256 B, 64 producers x 1: sluice events/s / fsyncs/s of "
                          "one writer",
                  .bound = 10, .unit = "x"};
    for (unsigned i = 0; fs && many && many->state == 1 && i < many->rounds; i++)
        t64.each[t64.rounds++] =
            many->round[i].per_s * probe_or_baseline(run, many->probe_us[i]) / 1e6;
    const lat_cell *lat = s ? &s->lat_publish : NULL;
    target p50 = {.what = "single publish p50 / one fdatasync (median)", .bound = 1.5,
                  .at_most = true, .unit = "x"};
    target p99 = {.what = "single publish p99", .bound = 2, .at_most = true, .strict = true,
                  .unit = " ms"};
    for (unsigned i = 0; lat && lat->state == 1 && i < lat->rounds; i++) {
        if (lat->round[i].events == 0)
            continue;
        if (fs)
            p50.each[p50.rounds++] =
                lat->round[i].p50_us / probe_or_baseline(run, lat->probe_us[i]);
        p99.each[p99.rounds++] = lat->round[i].p99_us / 1000;
    }
    target_from_rounds(&t64);
    target_from_rounds(&p50);
    target_from_rounds(&p99);
    print_target(f, &t64);
    print_target(f, &p50);
    print_target(f, &p99);
}

static void disk_target(FILE *f, const bench_run *run)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    const disk_cell *d = s ? &s->disk[1] : NULL;
    target t = {.what = "disk per 4 KiB event / (payload + topic bytes)", .bound = 1.15,
                .at_most = true, .unit = "x", .have = d && d->state == 1 && d->events > 0};
    if (t.have)
        t.value = (double)d->bytes / (double)d->events / (double)(4096 + TOPIC_BYTES);
    print_target(f, &t);
}

/* The floor under the fsync targets, from this run: what sluice's round
 * trip alone (ping) gives on the same scale. */
static void print_floor(FILE *f, const bench_run *run)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    if (!s || run->fsync_state != 1 || run->fsync_us <= 0)
        return;
    bool many = s->ping_many.state == 1, lat = s->lat_ping.state == 1 && s->lat_ping.l.events;
    if (!many && !lat)
        return;
    fprintf(f, "The same scales for sluice's round trip alone (ping, no storage) in this run:");
    if (many)
        fprintf(f, " %u clients x 1: %.2fx the fsyncs/s of one writer;", PING_CLIENTS,
                s->ping_many.r.per_s / (1e6 / run->fsync_us));
    if (lat)
        fprintf(f, " paced at %.0f/s: p50 %.2fx one fdatasync, p99 %.2f ms;", LATENCY_RATE,
                s->lat_ping.l.p50_us / run->fsync_us, s->lat_ping.l.p99_us / 1000);
    fprintf(f, " a publish cannot do better than these.\n\n");
}

static void print_targets(FILE *f, const bench_run *run)
{
    fprintf(f, "## Targets\n\nRatios from this run (n/a: a system or baseline it needs was "
               "not measured). The cells the targets read ran %u round(s), interleaved: "
               "round 1 on every system, then round 2, and so on, so that the systems "
               "compared ran minutes apart at most on a machine whose speed drifts. *Each "
               "round* gives a round's ratio (sluice's round i over the other system's round "
               "i; the fsync-scaled targets over an fdatasync probe of %u syncs made just "
               "before sluice's run); *measured* is their median. The tables above show, "
               "for those cells, the round with the median rate (latency: the median "
               "p99).\n\n| target | measured | each round | required | result "
               "|\n|---|---|---|---|---|\n",
            run->opt.rounds, PROBE_FSYNCS);
    throughput_targets(f, run);
    fsync_targets(f, run);
    disk_target(f, run);
    fprintf(f, "\n");
    print_floor(f, run);
}

static void print_report(FILE *f, const bench_run *run)
{
    print_machine(f, run);
    print_baselines(f, run);
    print_publish(f, run);
    print_pull(f, run);
    print_latency(f, run);
    print_disk(f, run);
    print_memory(f, run);
    print_targets(f, run);
    if (atomic_load(&run->stop))
        fprintf(f, "Interrupted: the runs after the signal were not made.\n");
    if (run->failures)
        fprintf(f, "%d run(s) failed: see the messages on stderr.\n", run->failures);
}

static int write_report(const bench_run *run)
{
    print_report(stdout, run);
    fflush(stdout);
    if (!run->opt.report)
        return 0;
    FILE *f = fopen(run->opt.report, "w");
    if (!f) {
        fprintf(stderr, "sluice-bench: %s: %s\n", run->opt.report, strerror(errno));
        return -1;
    }
    print_report(f, run);
    if (fclose(f) != 0) {
        fprintf(stderr, "sluice-bench: writing %s: %s\n", run->opt.report, strerror(errno));
        return -1;
    }
    fprintf(stderr, "sluice-bench: report written to %s\n", run->opt.report);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void run_all(bench_run *run)
{
    run_baselines(run);
    run_cells(run);
    run_backlogs(run);
    settle_rounds(run);
}

int main(int argc, char **argv)
{
    bench_run *run = calloc(1, sizeof *run);
    if (!run) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        return 1;
    }
    int rc = parse_options(argc, argv, &run->opt);
    if (rc != 0) {
        free(run);
        return rc > 0 ? 0 : 2;
    }
    format_command(run->command, sizeof run->command, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    sig_watch watch;
    if (sig_watch_start(&watch, run) != 0 || workdir_open(run) != 0) {
        sig_watch_stop(&watch);
        free(run);
        return 1;
    }
    plan_systems(run);
    run_all(run);
    int report_rc = write_report(run);
    workdir_close(run);
    sig_watch_stop(&watch);
    int status = atomic_load(&run->stop) ? 130 : (run->failures || report_rc) ? 1 : 0;
    free(run);
    return status;
}
