/* workload.h: the measured loops, the same for every driver.
 *
 * Every loop is bounded twice: by a count of events and by a wall-time cap
 * (cap_ms); it also ends early when *stop becomes non-zero (SIGINT) or a
 * driver call fails. Connections are opened before the clock starts and
 * closed after it stops. Buffers are allocated before the clock starts: the
 * loops themselves do not allocate.
 *
 * Errors: each function returns 0, or -1 when a driver call failed or memory
 * ran out (the driver printed why; the loop says which workload on stderr).
 * A run stopped by its cap or by *stop is not an error: out->capped says so.
 */
#ifndef SLUICE_BENCH_WORKLOAD_H
#define SLUICE_BENCH_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "driver.h"

/* A running system under test. All borrowed. */
typedef struct bench_target {
    const bench_driver *drv;  /* its driver */
    bench_system *sys;        /* the running server */
    const atomic_int *stop;   /* non-zero: end every loop now (SIGINT) */
} bench_target;

/* The outcome of a throughput loop. */
typedef struct bench_rate {
    uint64_t events;   /* events published (or consumed) and acknowledged */
    double seconds;    /* from the start to the last acknowledgement */
    double per_s;      /* events / seconds; 0 when nothing was done */
    bool capped;       /* ended by the time cap or *stop before the count */
} bench_rate;

/* The outcome of a paced latency loop; times in microseconds. */
typedef struct bench_latency {
    double rate_target;    /* events/s asked for */
    double rate_achieved;  /* events/s completed */
    uint64_t events;       /* samples recorded */
    double p50_us, p99_us, p999_us, max_us;
    bool capped;           /* ended by the cap or *stop before the count */
    double steal_pct;      /* CPU time the hypervisor took from the machine while the
                              loop ran, percent (bench_cpu_steal_pct); -1: unknown */
} bench_latency;

/* Each of `producers` threads, one connection each, publishes batches of
 * `batch` events of payload_len bytes back to back until `events` events in
 * all were acknowledged or cap_ms passed. */
int bench_publish_run(const bench_target *t, unsigned producers, size_t batch,
                      size_t payload_len, uint64_t events, uint64_t cap_ms, bench_rate *out);

/* The round trip alone: each of `clients` threads, one connection each,
 * pings back to back (driver.h) until `count` were answered or cap_ms
 * passed. per_s: pings/s. */
int bench_ping_run(const bench_target *t, unsigned clients, uint64_t count, uint64_t cap_ms,
                   bench_rate *out);

/* How a consumer acks what it pulled (driver.h). */
typedef enum bench_pull_mode {
    BENCH_PULL_THEN_ACK,      /* pull_ack: a pull, then an ack: two round trips */
    BENCH_ACK_WITH_NEXT_PULL  /* pull_next: the acks ride on the next pull */
} bench_pull_mode;

/* Each of `consumers` threads, one connection each, pulls batches of up to
 * max_batch from group "g" and acks them, until `events` were consumed in
 * all or cap_ms passed; with BENCH_ACK_WITH_NEXT_PULL each thread acks what
 * it still holds before its clock stops. The events must already be there. */
int bench_pull_run(const bench_target *t, unsigned consumers, size_t max_batch,
                   bench_pull_mode mode, uint64_t events, uint64_t cap_ms, bench_rate *out);

/* A paced open loop of single publishes: event i is due at start + i / rate
 * and its latency is measured from that due time (so a stall counts against
 * every event it delayed: no coordinated omission). A pool of connections
 * sends them so that slow replies do not hold back the schedule; each of its
 * threads sleeps until the next due time without timer slack
 * (bench_precise_sleeps). Up to `events` events, at most cap_ms. */
int bench_latency_publish(const bench_target *t, double rate, uint64_t events,
                          uint64_t cap_ms, bench_latency *out);

/* The same open loop with pings instead of publishes: the round trip's own
 * latency under the same pacing and the same pool of connections. */
int bench_latency_ping(const bench_target *t, double rate, uint64_t count, uint64_t cap_ms,
                       bench_latency *out);

/* The same pacing with no request at all: the pool's threads sleep until
 * each due time and record how late they woke. No system is involved; it is
 * the floor the machine (its timers, its scheduler, a hypervisor that takes
 * the CPUs away) puts under every paced latency. Ends early when *stop
 * becomes non-zero. */
int bench_latency_schedule(const atomic_int *stop, double rate, uint64_t count,
                           uint64_t cap_ms, bench_latency *out);

/* The same paced publishes (payloads of payload_len >= 8 bytes carrying the
 * due time in their first 8), and one consumer long-polling group "g":
 * latency from the due time to the consumer seeing the event. */
int bench_latency_delivery(const bench_target *t, double rate, uint64_t events,
                           size_t payload_len, uint64_t cap_ms, bench_latency *out);

/* The median time, in microseconds, of fdatasync after a 4 KiB pwrite at
 * offset 0 of one file in dir (count rounds, at most cap_ms). */
int bench_fsync_baseline(const char *dir, unsigned count, uint64_t cap_ms, double *median_us);

/* Write `bytes` to a scratch file in dir in 1 MiB writes, then delete it
 * unsynced (nothing reaches the disk). The memory it held is free again, and
 * the next run gets pages the virtual machine has backed: on a VM that hands
 * freed memory back to its host (virtio-balloon free page reporting), the
 * first touch of such a page costs a fault in the host, which made a fresh
 * 800 MiB file write 30x slower than rewriting it, and the cost of a run
 * depended on how long the memory had lain free. */
int bench_warm_memory(const char *dir, uint64_t bytes);

/* Raw LMDB in dir (created, then removed): batches of `batch` appends of
 * value_len-byte values under 8-byte big-endian keys with MDB_APPEND, one
 * synced commit per batch, until `events` or cap_ms. */
int bench_lmdb_baseline(const char *dir, size_t batch, size_t value_len, uint64_t events,
                        uint64_t cap_ms, bench_rate *out);

#endif
