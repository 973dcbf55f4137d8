/* bench.c: sluice-bench, the benchmark program.
 *
 * One command runs the same workloads on loopback against sluice and every
 * comparison system that is available, one workload (a cell) at a time on
 * each system in turn, so the figures compared share a time window. The
 * cells the targets read run --rounds times, interleaved. It then prints the
 * tables (report.c; stdout, and a Markdown report with --report): publish
 * throughput, pull+ack throughput, paced latency (with the schedule alone
 * as its floor, and the CPU time the hypervisor stole), disk per event,
 * memory and restart time with a backlog, the baselines (fdatasync, raw
 * LMDB, a thread hand-off), and the targets with PASS/FAIL. results.h is
 * what it measures.
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
#include "report.h"
#include "results.h"
#include "wake_probe.h"

#define BACKLOG_CAP_MS 1800000u /* 30 min: a bound, not a target */
#define PREPUBLISH_CAP_MS 120000u
#define COUNT_MAX 1000000000ull
#define ROUNDS_DEFAULT 3u
#define PROBE_CAP_MS 2000u
#define WARM_MAX ((uint64_t)1 << 30) /* bytes of memory warmed before a publish run */
#define WARM_EVENT_EXTRA 64u         /* bytes a system stores per event beyond the payload,
                                        about (the warm-up aims a little high: x 1.25) */

enum { ONLY_SLUICE = 1u, ONLY_REDIS = 2u, ONLY_JETSTREAM = 4u };

static const double stage_fractions[NSTAGES] = {0.1, 0.5, 1.0};
static const char *const kind_slug[NKINDS] = {"sluice", "sluice-relaxed", "redis-always",
                                              "redis-everysec", "jetstream"};
static const unsigned kind_only[NKINDS] = {ONLY_SLUICE, ONLY_SLUICE, ONLY_REDIS, ONLY_REDIS,
                                           ONLY_JETSTREAM};

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-bench [options]\n"
            "  --quick              small counts (2k events per run, 20k backlog, 1 s caps)\n"
            "  --report FILE        also write the Markdown report to FILE\n"
            "  --only SYSTEM        sluice (durable and relaxed), redis or jetstream\n"
            "                       (repeatable; default all)\n"
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
    sync(); /* the next run starts on a quiet disk: no system pays for the writeback
               of what the one before it left unsynced (JetStream, Redis everysec) */
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

/* Memory the VM has backed, about what a publish run will write
 * (bench_warm_memory says why). A failed warm-up only costs fairness. */
static void warm_memory(const bench_run *run, size_t payload)
{
    uint64_t bytes = run->opt.events * (payload + WARM_EVENT_EXTRA) / 4 * 5;
    (void)bench_warm_memory(run->workdir, bytes < WARM_MAX ? bytes : WARM_MAX);
}

/* Raw LMDB (batches of 1000 appends of 256 B) in <workdir>/<name>, on
 * warmed memory like every publish run. */
static int raw_lmdb(const bench_run *run, const char *name, bench_rate *out)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/%s", run->workdir, name);
    warm_memory(run, 256);
    return bench_lmdb_baseline(dir, 1000, 256, run->opt.events, run->opt.cap_ms, out);
}

/* Raw LMDB right now, kept as a round of run->lmdb: the target pairs it
 * with the sluice run that follows. A failed probe is left out (the target
 * then uses the outcomes). */
static void lmdb_probe(bench_run *run)
{
    bench_rate r;
    if (raw_lmdb(run, "lmdb-probe", &r) == 0 && run->lmdb.rounds < ROUNDS_MAX)
        run->lmdb.round[run->lmdb.rounds++] = r;
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

/* The server's durable writes, the requests they answered and the time
 * they took, so far. Returns 0, or -1 (the system does not say, or the
 * call failed). */
static int durable_snapshot(const bench_target *t, bench_flushes *snap)
{
    bench_conn *c;
    if (!t->drv->durable_writes || t->drv->connect(t->sys, &c) != 0)
        return -1;
    int rc = t->drv->durable_writes(c, snap);
    t->drv->disconnect(c);
    return rc;
}

/* A round's flushes from the snapshots around it (a failed snapshot: none). */
static void keep_flushes(flush_cell *fc, const bench_flushes *before,
                         const bench_flushes *after, double seconds, double probe_us)
{
    uint64_t writes = after->writes - before->writes;
    uint64_t requests = after->requests - before->requests;
    uint64_t journal_writes = after->journal_writes - before->journal_writes;
    uint64_t journal_us = after->journal_us - before->journal_us;
    if (fc->rounds >= ROUNDS_MAX || writes == 0 || seconds <= 0)
        return;
    fc->writes_per_s[fc->rounds] = (double)writes / seconds;
    fc->journal_write_us[fc->rounds] =
        journal_writes ? (double)journal_us / (double)journal_writes : 0;
    fc->probe_us[fc->rounds] = probe_us;
    fc->requests_per_write[fc->rounds++] = (double)requests / (double)writes;
}

static int job_publish(bench_run *run, sys_result *sr, const bench_target *t, void *ctx)
{
    const publish_spec *s = ctx;
    rate_cell *cell = &sr->publish[s->p][s->k][s->b];
    bool many_singles = s->p == 0 && s->k == 2 && s->b == 0; /* 256 B, 64 x 1 */
    bool scaled = sr->kind == KIND_SLUICE && many_singles;
    double probe = scaled ? fsync_probe(run) : 0;
    if (sr->kind == KIND_SLUICE && s->p == 0 && s->k == 1 && s->b == 2)
        lmdb_probe(run);
    uint64_t fixed = t->drv->disk_bytes(t->sys);
    warm_memory(run, payload_sizes[s->p]);
    bench_flushes snap, snap_after;
    bool flushes = many_singles && durable_snapshot(t, &snap) == 0;
    int rc = bench_publish_run(t, producer_counts[s->k], batch_sizes[s->b],
                               payload_sizes[s->p], run->opt.events, run->opt.cap_ms, &cell->r);
    if (rc == 0)
        keep_rate(cell, probe);
    if (rc == 0 && flushes && durable_snapshot(t, &snap_after) == 0)
        keep_flushes(&sr->flushes, &snap, &snap_after, cell->r.seconds, probe);
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
    fprintf(stderr, "  %s: %s latency at %.0f/s: p50 %.3f ms, p99 %.3f ms (%.0f/s achieved; "
                    "%.1f%% of the CPU time stolen)\n",
            name, what, l->rate_target, l->p50_us / 1000, l->p99_us / 1000, l->rate_achieved,
            l->steal_pct);
}

/* The schedule alone (no request), once a round, before the round's first
 * paced publish: the floor under that round's latencies. A failure fails
 * the cell and not the round's publishes. */
static void probe_schedule(bench_run *run)
{
    lat_cell *c = &run->schedule;
    int rc = bench_latency_schedule(&run->stop, LATENCY_RATE, latency_events(run),
                                    run->opt.cap_ms, &c->l);
    if (rc == 0 && !atomic_load(&run->stop))
        keep_latency(c, 0);
    record(run, rc, &c->state);
    fprintf(stderr, "  the schedule alone (no request) at %.0f/s: woke p50 %.3f ms, p99 %.3f "
                    "ms late; %.1f%% of the CPU time stolen\n",
            c->l.rate_target, c->l.p50_us / 1000, c->l.p99_us / 1000, c->l.steal_pct);
}

static int job_latency_publish(bench_run *run, sys_result *sr, const bench_target *t,
                               void *ctx)
{
    (void)ctx;
    bench_latency *l = &sr->lat_publish.l;
    if (sr == &run->sys[0])
        probe_schedule(run);
    double probe = sr->kind == KIND_SLUICE ? fsync_probe(run) : 0;
    bench_flushes snap, snap_after;
    bool flushes = durable_snapshot(t, &snap) == 0;
    int rc = bench_latency_publish(t, LATENCY_RATE, latency_events(run), run->opt.cap_ms, l);
    if (rc == 0)
        keep_latency(&sr->lat_publish, probe);
    if (rc == 0 && flushes && l->rate_achieved > 0 && durable_snapshot(t, &snap_after) == 0)
        keep_flushes(&sr->lat_flushes, &snap, &snap_after,
                     (double)l->events / l->rate_achieved, probe);
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

/* Whether the cell of job runs on sr's system: sluice (relaxed) is the same
 * daemon as sluice, so the round trip alone (the ping cells) is measured on
 * sluice only. */
static bool runs_cell(const sys_result *sr, system_job job)
{
    bool ping = job == job_ping || job == job_latency_ping;
    return !(ping && sr->kind == KIND_SLUICE_RELAXED);
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
            if (runs_cell(sr, job))
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

static void settle_rate(rate_cell *c)
{
    double v[ROUNDS_MAX];
    for (unsigned i = 0; i < c->rounds; i++)
        v[i] = c->round[i].per_s;
    if (c->rounds > 1)
        c->r = c->round[bench_median_index(v, c->rounds, false)];
}

static void settle_latency(lat_cell *c)
{
    double v[ROUNDS_MAX];
    for (unsigned i = 0; i < c->rounds; i++)
        v[i] = c->round[i].p99_us;
    if (c->rounds > 1)
        c->l = c->round[bench_median_index(v, c->rounds, true)];
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
    settle_latency(&run->schedule);
}

/* A thread hand-off across two CPUs, then on one. */
static int probe_wakes(bench_run *run, unsigned rounds)
{
    if (bench_wake_probe(rounds, run->opt.cap_ms, true, &run->wake_us[0]) != 0)
        return -1;
    return bench_wake_probe(rounds, run->opt.cap_ms, false, &run->wake_us[1]);
}

static void run_baselines(bench_run *run)
{
    unsigned rounds = run->opt.quick ? 100 : 1000;
    run->fsync_state = cell_state(run, bench_fsync_baseline(run->workdir, rounds,
                                                            run->opt.cap_ms, &run->fsync_us));
    run->lmdb.state = cell_state(run, raw_lmdb(run, "lmdb-baseline", &run->lmdb.r));
    run->wake_state = cell_state(run, probe_wakes(run, rounds));
    fprintf(stderr,
            "sluice-bench: fdatasync median %.1f us; raw LMDB %.0f events/s; a thread "
            "hand-off %.1f us on one CPU, %.1f us across CPUs (0: one CPU)\n",
            run->fsync_us, run->lmdb.r.per_s, run->wake_us[1], run->wake_us[0]);
}

/* The systems to run: wanted by --only and with a driver (non-NULL). */
static void plan_systems(bench_run *run)
{
    const bench_driver *drivers[NKINDS] = {bench_driver_sluice(), bench_driver_sluice_relaxed(),
                                           bench_driver_redis_always(),
                                           bench_driver_redis_everysec(),
                                           bench_driver_jetstream()};
    for (int k = 0; k < NKINDS; k++) {
        bool wanted = run->opt.only == 0 || (run->opt.only & kind_only[k]);
        if (wanted && !drivers[k])
            fprintf(stderr, "sluice-bench: %s is not available; its rows are left out\n",
                    kind_slug[k]);
        if (wanted && drivers[k]) {
            run->sys[run->nsys].kind = k;
            run->sys[run->nsys].drv = drivers[k];
            run->nsys++;
        }
    }
}

/* ---- main ---------------------------------------------------------------------------- */

static void run_all(bench_run *run)
{
    bench_cpu before, after;
    bool known = bench_cpu_read(&before) == 0;
    run_baselines(run);
    run_cells(run);
    run_backlogs(run);
    settle_rounds(run);
    known = known && bench_cpu_read(&after) == 0;
    run->steal_pct = known ? bench_cpu_steal_pct(&before, &after) : -1;
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
    int report_rc = bench_report_write(run);
    workdir_close(run);
    sig_watch_stop(&watch);
    int status = atomic_load(&run->stop) ? 130 : (run->failures || report_rc) ? 1 : 0;
    free(run);
    return status;
}
