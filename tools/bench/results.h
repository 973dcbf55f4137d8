/* results.h: what one sluice-bench run measures, and where it keeps it.
 *
 * The workload matrix (payloads, producers, batches, consumers), one cell per
 * measured value (state 0 not run, 1 measured, -1 failed), everything
 * measured on one system (sys_result) and the whole run (bench_run). bench.c
 * fills them; report.c prints them. */
#ifndef SLUICE_BENCH_RESULTS_H
#define SLUICE_BENCH_RESULTS_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "driver.h"
#include "stats.h"
#include "workload.h"

#define NKINDS 5           /* systems: sluice, sluice relaxed, redis always, redis
                              everysec, jetstream */
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
#define ROUNDS_MAX 9u      /* --rounds at most */
#define PROBE_FSYNCS 200u  /* fdatasyncs of the probe next to an fsync-scaled run */

enum { KIND_SLUICE, KIND_SLUICE_RELAXED, KIND_REDIS_ALWAYS, KIND_REDIS_EVERYSEC, KIND_JETSTREAM };

/* The matrix (results.c). */
extern const size_t payload_sizes[NPAYLOADS];
extern const unsigned producer_counts[NPRODUCERS];
extern const size_t batch_sizes[NBATCHES];
extern const unsigned consumer_counts[NCONSUMERS];
extern const bench_pull_mode pull_modes[NPULL_MODES];
extern const char *const pull_mode_names[NPULL_MODES];

/* One publish run: indexes into payload_sizes, producer_counts, batch_sizes. */
typedef struct publish_spec {
    int p, k, b;
} publish_spec;

/* One pull+ack run: indexes into pull_modes and consumer_counts. */
typedef struct pull_spec {
    int m, c;
} pull_spec;

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

/* Group commit in the rounds of the 64 x 1 publish (systems whose driver
 * has durable_writes): per round, the durable writes (flushes) the server
 * made while it ran and the requests they answered. */
typedef struct flush_cell {
    double writes_per_s[ROUNDS_MAX];
    double requests_per_write[ROUNDS_MAX];
    double journal_write_us[ROUNDS_MAX]; /* what one journal write took, on average
                                            (0: none in the round) */
    double probe_us[ROUNDS_MAX];        /* fdatasync probed before the round (0: none) */
    unsigned rounds;
} flush_cell;

/* Everything measured on one system. */
typedef struct sys_result {
    int kind;                                         /* KIND_* */
    const bench_driver *drv;                          /* its driver */
    rate_cell publish[NPAYLOADS][NPRODUCERS][NBATCHES];
    disk_cell disk[NPAYLOADS];                        /* after 4 producers x 1000 */
    flush_cell flushes;                               /* 256 B, 64 x 1 */
    flush_cell lat_flushes;                           /* paced single publishes */
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
    double steal_pct;           /* CPU time the hypervisor took over the whole run, %
                                   (bench_cpu_steal_pct); -1: unknown */
    double fsync_us;            /* median fdatasync after a 4 KiB pwrite */
    int fsync_state;            /* 0 not run, 1 measured, -1 failed */
    double wake_us[2];          /* median thread hand-off: [0] across CPUs, [1] on one */
    int wake_state;             /* 0 not run, 1 measured, -1 failed */
    rate_cell lmdb;             /* raw LMDB batched appends */
    lat_cell schedule;          /* the paced latency schedule alone, no request: once a
                                   round, before that round's paced publishes */
    sys_result sys[NKINDS];     /* one per available system, in kind order */
    size_t nsys;                /* entries of sys in use */
    int failures;               /* runs that failed */
} bench_run;

#endif
