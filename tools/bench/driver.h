/* driver.h: one queue system under benchmark, behind one interface.
 *
 * The benchmark (bench.c) runs the same workloads against every driver:
 * sluice, durable and in relaxed mode (driver_sluice.c), Redis Streams with appendfsync always and
 * everysec (driver_redis.c), NATS JetStream file store (driver_jetstream.c).
 * Each driver starts its own server on loopback in a fresh work directory,
 * so every row of the report comes from the same run on the same machine.
 *
 * Ownership: a system owns its server process and work files; a connection
 * belongs to one thread at a time. Every function returns 0 or -1 (after
 * printing why on stderr).
 */
#ifndef SLUICE_BENCH_DRIVER_H
#define SLUICE_BENCH_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct bench_system bench_system; /* a running server (driver-specific) */
typedef struct bench_conn bench_conn;     /* one client connection (driver-specific) */

/* Called for each event a pull hands out, before it is acked. */
typedef void (*bench_event_fn)(void *ctx, const void *payload, size_t len);

/* A server's durable writes so far (counters since it started). */
typedef struct bench_flushes {
    uint64_t writes;          /* each one flush: a journal write, or an LMDB commit */
    uint64_t requests;        /* the requests they answered */
    uint64_t journal_writes;  /* of the writes, the journal's: record + pwritev + fdatasync */
    uint64_t journal_us;      /* the time those took */
} bench_flushes;

typedef struct bench_driver {
    const char *name;     /* row label, e.g. "sluice", "redis (always)" */
    const char *setting;  /* one line on durability, e.g. "fsync before ack" */
    /* Start a server on loopback with its data in workdir (exists, empty).
     * Returns -1 when the server cannot start (e.g. not installed). */
    int (*start)(const char *workdir, bench_system **out);
    /* Stop the server (SIGTERM, wait) and free. */
    void (*stop)(bench_system *sys);
    /* Stop and start the server again on the same data; *ready_ms gets the
     * time from exec to the first answered request. */
    int (*restart)(bench_system *sys, double *ready_ms);
    int (*connect)(bench_system *sys, bench_conn **out);
    void (*disconnect)(bench_conn *conn);
    /* Create the stream/topic "bench" and consumer group "g" reading it from
     * the start. Called once per fresh system before any publish. */
    int (*setup)(bench_conn *conn);
    /* Publish n events (one batch / pipeline of n; n >= 1) with these
     * payloads (payloads[i], len bytes each) to topic "bench.event" and
     * return once the system acknowledged all of them. */
    int (*publish)(bench_conn *conn, const void *const *payloads, size_t len, size_t n);
    /* Pull up to max events of group "g" (waiting at most wait_ms when none
     * are there), call fn for each, ack them all. *got: how many. */
    int (*pull_ack)(bench_conn *conn, size_t max, uint64_t wait_ms, bench_event_fn fn,
                    void *ctx, size_t *got);
    /* The consumer cycle in one round trip: ack what this connection's
     * previous pull_next pulled and pull up to max more, together (sluice:
     * a pull carrying `ack`; Redis: XACK pipelined with XREADGROUP;
     * JetStream: its acks never wait for an answer, so as pull_ack). The
     * acks are done (per the system's setting) when it returns; the events
     * pulled now stay held until the next call or ack_held. *got: how many
     * were pulled now. */
    int (*pull_next)(bench_conn *conn, size_t max, uint64_t wait_ms, bench_event_fn fn,
                     void *ctx, size_t *got);
    /* One round trip that touches no storage (sluice: ping; Redis: PING;
     * JetStream: the NATS PING/PONG of a flush): the floor under every
     * request, measured beside the real ones. */
    int (*ping)(bench_conn *conn);
    /* Ack what the last pull_next pulled; nothing held: nothing to do. */
    int (*ack_held)(bench_conn *conn);
    /* Bytes the server's data files take on disk now (st_blocks * 512). */
    uint64_t (*disk_bytes)(bench_system *sys);
    /* The server's pid (for RSS / private memory from /proc). */
    pid_t (*pid)(bench_system *sys);
    /* Optional (NULL: the system does not say): the server's durable writes
     * since it started, for the report's lines on group commit. */
    int (*durable_writes)(bench_conn *conn, bench_flushes *out);
} bench_driver;

/* The drivers. The comparison drivers return NULL from their getter when
 * their server binary is missing, and the benchmark leaves their rows out. */
const bench_driver *bench_driver_sluice(void);
const bench_driver *bench_driver_sluice_relaxed(void); /* relaxed-sync: measured beside */
const bench_driver *bench_driver_redis_always(void);
const bench_driver *bench_driver_redis_everysec(void);
const bench_driver *bench_driver_jetstream(void);

#endif
