/* report.c: see report.h. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

/* A steal percentage, or ? when unknown. */
static void steal_text(double pct, char *out, size_t cap)
{
    if (pct < 0)
        snprintf(out, cap, "?");
    else
        snprintf(out, cap, "%.1f", pct);
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
    fprintf(f, "- warm-up: before each publish run and each raw LMDB measurement, a scratch "
               "file of about what the run writes (at most 1 GiB) is written and deleted "
               "unsynced, so that every run starts on memory the VM has backed (on a VM "
               "that returns freed memory to its host, touching such memory again is slow)\n");
    char stolen[16];
    steal_text(run->steal_pct, stolen, sizeof stolen);
    fprintf(f, "- CPU time stolen by the hypervisor over the whole run (steal in /proc/stat): "
               "%s%%; the latency table gives it for each paced run\n",
            stolen);
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
               "machine, whatever the system does with an event. sluice (relaxed) is the "
               "same daemon with the same round trip: its pings are sluice's.\n\n");
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
               "the clock stops. Each pull asks for at most what no other consumer has "
               "claimed, so none at the end waits for events that will not come.\n\n",
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
        fprintf(f, "| %s | %s | failed | | | | | | |\n", name, what);
        return;
    }
    const bench_latency *l = &c->l;
    char stolen[16];
    steal_text(l->steal_pct, stolen, sizeof stolen);
    fprintf(f, "| %s | %s | %.0f%s | %llu | %.3f | %.3f | %.3f | %.3f | %s |\n", name, what,
            l->rate_achieved, l->capped ? "*" : "", (unsigned long long)l->events,
            l->p50_us / 1000, l->p99_us / 1000, l->p999_us / 1000, l->max_us / 1000, stolen);
}

static void print_latency(FILE *f, const bench_run *run)
{
    fprintf(f, "## Latency\n\nOne producer, batches of 1, 256 B, paced at %.0f events/s "
               "(open loop: event i is due at start + i / rate and measured from that due "
               "time, sent from a pool of connections so a slow reply does not delay the "
               "schedule). Delivery: a consumer long-polls; the payload carries the due time. "
               "Ping: the same schedule and connections with a request that stores nothing "
               "(sluice: ping; Redis: PING; JetStream: a NATS PING/PONG), the floor under a "
               "publish (sluice (relaxed) shares sluice's). The schedule alone: the same pool of threads and pacing with no "
               "request, how late the threads woke (they sleep without timer slack), the "
               "floor under every row. Stolen CPU: the share of the machine's CPU time "
               "that the hypervisor gave to something else while the row ran (steal in "
               "/proc/stat). Milliseconds.\n\n",
            LATENCY_RATE);
    fprintf(f, "| system | latency of | achieved events/s | samples | p50 | p99 | p99.9 | max "
               "| stolen CPU %% |\n|---|---|---|---|---|---|---|---|---|\n");
    latency_row(f, "-", "the schedule alone (no request)", &run->schedule);
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
                                     : " Redis and JetStream hold a backlog in RAM, and "
                                       "sluice (relaxed) keeps it as sluice does: they "
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
    if (run->lmdb.rounds == 0)
        return;
    fprintf(f, "| raw LMDB probe (as below) before each round of sluice's 256 B 4 x 1000 "
               "publish |");
    for (unsigned i = 0; i < run->lmdb.rounds; i++)
        fprintf(f, "%s%.0f", i ? ", " : " ", run->lmdb.round[i].per_s);
    fprintf(f, " events/s |\n");
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
    if (run->wake_state == 1 && run->wake_us[0] > 0)
        fprintf(f, "| a thread wakes a sleeping one (mutex + condition variable hand-off), "
                   "median | %.1f us across two CPUs; %.1f us on one CPU |\n",
                run->wake_us[0], run->wake_us[1]);
    else if (run->wake_state == 1)
        fprintf(f, "| a thread wakes a sleeping one (mutex + condition variable hand-off), "
                   "median | %.1f us (one CPU) |\n",
                run->wake_us[1]);
    else
        fprintf(f, "| a thread hand-off, median | failed |\n");
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
    t->value = v[bench_median_index(v, t->rounds, t->at_most)];
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
 * (the two ran minutes apart at most; raw LMDB just before sluice); else the
 * ratio of the outcomes. */
static target ratio_target(const char *what, const rate_cell *s, const rate_cell *o,
                           double bound)
{
    target t = {.what = what, .bound = bound, .unit = "x"};
    t.have = ratio_of(s, o, &t.value) == 0;
    if (!t.have || s->rounds == 0 || s->rounds != o->rounds)
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

/* Sleeping threads a request wakes between the client's call and its
 * return. A ping: the daemon's nng poller (the request arrives), nng's task
 * thread (runs sluice's receive callback, which answers), the client's nng
 * poller (the reply arrives), the calling thread. A publish adds sluice's
 * writer thread between the task thread and the reply. */
#define PING_HANDOFFS 4
#define PUBLISH_HANDOFFS 5

/* What those hand-offs cost at the probe's medians: the part of one
 * request's latency that comes from the machine's scheduler. */
static void print_handoffs(FILE *f, const bench_run *run)
{
    if (run->wake_state != 1)
        return;
    double across = run->wake_us[0], one = run->wake_us[1], fsync = run->fsync_us;
    fprintf(f, "Thread hand-offs: a ping wakes %d sleeping threads and a publish %d (the "
               "daemon's nng poller, nng's task thread, for a publish sluice's writer, then "
               "the client's nng poller and the calling thread). ",
            PING_HANDOFFS, PUBLISH_HANDOFFS);
    if (across > 0)
        fprintf(f, "A hand-off took %.1f us across CPUs and %.1f us on one in this run, so "
                   "they are %.0f-%.0f us of a ping, and a lone publish cannot take less "
                   "than %.0f-%.0f us (%.2f-%.2fx one fdatasync)",
                across, one, PING_HANDOFFS * one, PING_HANDOFFS * across,
                fsync + PUBLISH_HANDOFFS * one, fsync + PUBLISH_HANDOFFS * across,
                1 + PUBLISH_HANDOFFS * one / fsync, 1 + PUBLISH_HANDOFFS * across / fsync);
    else
        fprintf(f, "A hand-off took %.1f us in this run (one CPU), so they are %.0f us of a "
                   "ping, and a lone publish cannot take less than %.0f us (%.2fx one "
                   "fdatasync)",
                one, PING_HANDOFFS * one, fsync + PUBLISH_HANDOFFS * one,
                1 + PUBLISH_HANDOFFS * one / fsync);
    fprintf(f, " before it waits for a flush already in flight.\n\n");
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
    print_handoffs(f, run);
}

/* The paced cell of a system that a floor reads. */
typedef const lat_cell *(*lat_pick)(const sys_result *sr);

static const lat_cell *pick_lat_ping(const sys_result *sr)
{
    return &sr->lat_ping;
}

static const lat_cell *pick_lat_publish(const sys_result *sr)
{
    return &sr->lat_publish;
}

static double quantile(const lat_cell *c, bool p99)
{
    return p99 ? c->l.p99_us : c->l.p50_us;
}

/* Of the systems whose cell `pick` measured, the one with the lowest p50
 * (or p99); NULL when none did. */
static const sys_result *lowest_latency(const bench_run *run, lat_pick pick, bool p99)
{
    const sys_result *best = NULL;
    for (size_t i = 0; i < run->nsys; i++) {
        const lat_cell *c = pick(&run->sys[i]);
        if (c->state != 1 || c->l.events == 0)
            continue;
        if (!best || quantile(c, p99) < quantile(pick(best), p99))
            best = &run->sys[i];
    }
    return best;
}

/* The system with the most pings/s from PING_CLIENTS clients; NULL: none. */
static const sys_result *fastest_ping(const bench_run *run)
{
    const sys_result *best = NULL;
    for (size_t i = 0; i < run->nsys; i++) {
        const rate_cell *c = &run->sys[i].ping_many;
        if (c->state == 1 && (!best || c->r.per_s > best->ping_many.r.per_s))
            best = &run->sys[i];
    }
    return best;
}

/* The machine's floor under the fsync targets: the best any system did in
 * this run. A durable publish is at least a round trip and an fdatasync,
 * and 64 clients x 1 cannot publish faster than they can ping. */
static void print_machine_floor(FILE *f, const bench_run *run)
{
    if (run->fsync_state != 1 || run->fsync_us <= 0)
        return;
    const sys_result *many = fastest_ping(run);
    const sys_result *ping = lowest_latency(run, pick_lat_ping, false);
    const sys_result *pub = lowest_latency(run, pick_lat_publish, true);
    if (!many && !ping && !pub)
        return;
    fprintf(f, "The machine's floor under those targets, the best of every system in this "
               "run:");
    if (many)
        fprintf(f, " the fastest round trip alone, %u clients x 1, was %s's %.0f/s, %.2fx "
                   "the fsyncs/s of one writer (a publish cannot beat its round trip);",
                PING_CLIENTS, many->drv->name, many->ping_many.r.per_s,
                many->ping_many.r.per_s / (1e6 / run->fsync_us));
    if (ping)
        fprintf(f, " the lowest paced ping p50 was %s's %.3f ms, and a durable publish is at "
                   "least a round trip and an fdatasync: %.2fx one fdatasync;",
                ping->drv->name, ping->lat_ping.l.p50_us / 1000,
                1 + ping->lat_ping.l.p50_us / run->fsync_us);
    if (pub)
        fprintf(f, " the lowest publish p99, durable or not, was %s's %.2f ms;",
                pub->drv->name, pub->lat_publish.l.p99_us / 1000);
    fprintf(f, " where these miss a target, no system measured here meets it on this "
               "machine.\n\n");
}

/* The schedule alone, round by round: what the machine adds to every paced
 * latency, p99 target included. */
static void print_schedule(FILE *f, const bench_run *run)
{
    const lat_cell *c = &run->schedule;
    if (c->state != 1 || c->rounds == 0)
        return;
    fprintf(f, "The paced schedule alone (no request), in each round just before the paced "
               "publishes: the threads woke p50");
    for (unsigned i = 0; i < c->rounds; i++)
        fprintf(f, "%s %.3f", i ? "," : "", c->round[i].p50_us / 1000);
    fprintf(f, " ms and p99");
    for (unsigned i = 0; i < c->rounds; i++)
        fprintf(f, "%s %.3f", i ? "," : "", c->round[i].p99_us / 1000);
    fprintf(f, " ms late, with");
    for (unsigned i = 0; i < c->rounds; i++) {
        char stolen[16];
        steal_text(c->round[i].steal_pct, stolen, sizeof stolen);
        fprintf(f, "%s %s", i ? "," : "", stolen);
    }
    fprintf(f, "%% of the CPU time stolen; every paced latency above includes that "
               "lateness.\n\n");
}

/* One cell's flushes, round by round, as a list item. */
static void flush_item(FILE *f, const bench_run *run, const char *what, const flush_cell *fc)
{
    if (fc->rounds == 0)
        return;
    fprintf(f, "- %s:", what);
    for (unsigned i = 0; i < fc->rounds; i++) {
        double probe = probe_or_baseline(run, fc->probe_us[i]);
        fprintf(f, "%s %.1f per write at %.0f/s", i ? ";" : "", fc->requests_per_write[i],
                fc->writes_per_s[i]);
        if (fc->journal_write_us[i] > 0)
            fprintf(f, ", journal writes %.0f us", fc->journal_write_us[i]);
        if (fc->journal_write_us[i] > 0 && probe > 0)
            fprintf(f, " (%.2fx)", fc->journal_write_us[i] / probe);
    }
    fprintf(f, "\n");
}

/* Group commit at work in sluice's 64 x 1 and paced publishes, from the
 * daemon's stats. */
static void print_flushes(FILE *f, const bench_run *run)
{
    const sys_result *s = find_kind(run, KIND_SLUICE);
    if (!s || (s->flushes.rounds == 0 && s->lat_flushes.rounds == 0))
        return;
    fprintf(f, "Group commit in sluice, round by round (the daemon's `stats` around each "
               "round): requests answered per durable write (`commit_requests` over "
               "`journal_writes + commits`), durable writes/s, and what one journal write "
               "(the batch's record, pwritev, fdatasync: `journal_us` over "
               "`journal_writes`) took on average under that load, with its ratio to the "
               "fdatasync probed just before the round on the idle machine:\n\n");
    char what[96];
    snprintf(what, sizeof what, "%u x 1 publishes", producer_counts[2]);
    flush_item(f, run, what, &s->flushes);
    snprintf(what, sizeof what, "paced publishes at %.0f/s", LATENCY_RATE);
    flush_item(f, run, what, &s->lat_flushes);
    fprintf(f, "\n");
}

static void print_targets(FILE *f, const bench_run *run)
{
    fprintf(f, "## Targets\n\nRatios from this run (n/a: a system or baseline it needs was "
               "not measured). The cells the targets read ran %u round(s), interleaved: "
               "round 1 on every system, then round 2, and so on, so that the systems "
               "compared ran minutes apart at most on a machine whose speed drifts. *Each "
               "round* gives a round's ratio (sluice's round i over the other system's round "
               "i; raw LMDB and fdatasync as probed just before sluice's run, see "
               "Baselines; %u syncs a probe); *measured* is their median. The tables above show, "
               "for those cells, the round with the median rate (latency: the median "
               "p99).\n\n| target | measured | each round | required | result "
               "|\n|---|---|---|---|---|\n",
            run->opt.rounds, PROBE_FSYNCS);
    throughput_targets(f, run);
    fsync_targets(f, run);
    disk_target(f, run);
    fprintf(f, "\n");
    print_floor(f, run);
    print_machine_floor(f, run);
    print_schedule(f, run);
    print_flushes(f, run);
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

int bench_report_write(const bench_run *run)
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
