/* workload.c: see workload.h. */
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stats.h"

#define LATENCY_SENDERS 64u        /* connections pacing the open loop */
#define PULL_WAIT_MS 100u          /* long-poll of a consumer (pull+ack runs claim what
                                      they pull, so it does not come into play there) */
#define DELIVERY_GRACE_MS 5000u    /* consumer keeps going after the publishers */
#define DELIVERY_MAX_BATCH 1000u
#define PAYLOAD_POOL 1000u         /* distinct payloads a publish run cycles through */

/* ---- a start gate: threads wait until the clock starts (or the run is off) */

typedef struct gate {
    pthread_mutex_t mu;   /* guards state */
    pthread_cond_t cv;    /* signalled when state changes */
    int state;            /* 0 waiting, 1 go, -1 abandoned */
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->state = 0;
}

static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void gate_open(gate *g, int state)
{
    pthread_mutex_lock(&g->mu);
    g->state = state;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Returns 1 to go, 0 when the run was abandoned. */
static int gate_wait(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->state == 0)
        pthread_cond_wait(&g->cv, &g->mu);
    int go = g->state > 0;
    pthread_mutex_unlock(&g->mu);
    return go;
}

/* ---- a crew: n connections, n threads ------------------------------------ */

typedef struct crew {
    unsigned n;              /* connections (and threads) */
    bench_conn **conns;      /* n connections; owned */
    pthread_t *threads;      /* n threads */
    unsigned started;        /* threads running (to join) */
} crew;

static void crew_close(crew *c, const bench_target *t)
{
    for (unsigned i = 0; c->conns && i < c->n; i++)
        if (c->conns[i])
            t->drv->disconnect(c->conns[i]);
    free(c->conns);
    free(c->threads);
    memset(c, 0, sizeof *c);
}

/* n threads' connections to t; none when t has no driver (a crew that only
 * keeps time). */
static int crew_connect(crew *c, const bench_target *t, unsigned n)
{
    memset(c, 0, sizeof *c);
    c->conns = calloc(n, sizeof *c->conns);
    c->threads = calloc(n, sizeof *c->threads);
    if (!c->conns || !c->threads) {
        crew_close(c, t);
        return -1;
    }
    c->n = n;
    for (unsigned i = 0; t->drv && i < n; i++) {
        if (t->drv->connect(t->sys, &c->conns[i]) != 0) {
            c->conns[i] = NULL;
            crew_close(c, t);
            return -1;
        }
    }
    return 0;
}

/* Start one thread per connection: fn(args + i * size). */
static int crew_start(crew *c, void *(*fn)(void *), void *args, size_t size)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (pthread_create(&c->threads[i], NULL, fn, (char *)args + i * size) != 0)
            return -1;
        c->started++;
    }
    return 0;
}

static void crew_join(crew *c)
{
    for (unsigned i = 0; i < c->started; i++)
        pthread_join(c->threads[i], NULL);
    c->started = 0;
}

static void atomic_max_u64(atomic_uint_fast64_t *a, uint64_t v)
{
    uint_fast64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

static double seconds_between(uint64_t t0, uint64_t t1)
{
    return t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
}

/* Incompressible bytes (xorshift64*): a system that compresses its files
 * (Redis' RDB preamble does) must not look smaller than it is. */
static void fill_random(char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        buf[i] = (char)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

/* ---- publish throughput -------------------------------------------------- */

typedef struct pub_shared {
    gate start;                   /* opens when the clock starts */
    const bench_target *t;        /* the system */
    size_t batch;                 /* events per publish */
    size_t payload_len;           /* bytes per event */
    const char *pool;             /* PAYLOAD_POOL distinct payloads back to back */
    uint64_t events;              /* events to publish in all */
    uint64_t deadline_ns;         /* the cap */
    bool ping;                    /* send pings instead of publishes (batch 1) */
    atomic_uint_fast64_t claimed; /* events handed to a producer */
    atomic_uint_fast64_t done;    /* events acknowledged */
    atomic_uint_fast64_t last_ns; /* time of the last acknowledgement */
    atomic_int failed;            /* a publish failed */
} pub_shared;

typedef struct pub_worker {
    pub_shared *sh;               /* borrowed */
    bench_conn *conn;             /* borrowed from the crew */
    const void **ptrs;            /* batch pointers into the pool; owned */
} pub_worker;

static int keep_going(const bench_target *t, atomic_int *failed, uint64_t deadline)
{
    return !atomic_load(t->stop) && !atomic_load(failed) && bench_now_ns() < deadline;
}

static void *pub_main(void *arg)
{
    pub_worker *w = arg;
    pub_shared *sh = w->sh;
    if (!gate_wait(&sh->start))
        return NULL;
    while (keep_going(sh->t, &sh->failed, sh->deadline_ns)) {
        uint64_t first = atomic_fetch_add(&sh->claimed, sh->batch);
        if (first >= sh->events)
            break;
        uint64_t left = sh->events - first;
        size_t n = left < sh->batch ? (size_t)left : sh->batch;
        int rc = sh->ping ? sh->t->drv->ping(w->conn)
                          : sh->t->drv->publish(w->conn, w->ptrs, sh->payload_len, n);
        if (rc != 0) {
            atomic_store(&sh->failed, 1);
            break;
        }
        atomic_fetch_add(&sh->done, n);
        atomic_max_u64(&sh->last_ns, bench_now_ns());
    }
    return NULL;
}

static void pub_workers_free(pub_worker *w, unsigned n)
{
    for (unsigned i = 0; w && i < n; i++)
        free(w[i].ptrs);
    free(w);
}

/* One pointer array per producer: distinct payloads from the pool, so that
 * neighbouring events never repeat each other. */
static pub_worker *pub_workers_new(pub_shared *sh, const crew *c)
{
    pub_worker *w = calloc(c->n, sizeof *w);
    if (!w)
        return NULL;
    for (unsigned i = 0; i < c->n; i++) {
        w[i].sh = sh;
        w[i].conn = c->conns[i];
        w[i].ptrs = calloc(sh->batch, sizeof *w[i].ptrs);
        if (!w[i].ptrs) {
            pub_workers_free(w, c->n);
            return NULL;
        }
        for (size_t k = 0; k < sh->batch; k++)
            w[i].ptrs[k] = sh->pool + ((k + (size_t)i * 131u) % PAYLOAD_POOL) * sh->payload_len;
    }
    return w;
}

static void rate_fill(bench_rate *out, uint64_t done, uint64_t wanted, uint64_t t0,
                      uint64_t last)
{
    out->events = done;
    out->seconds = seconds_between(t0, last);
    out->per_s = out->seconds > 0 ? (double)done / out->seconds : 0;
    out->capped = done < wanted;
}

/* When a run's clock starts: set once the crew's threads exist, just before
 * the gate opens (thread creation is not measured). */
typedef struct run_clock {
    uint64_t lead_ns;               /* the start is this long after the gate opens */
    uint64_t cap_ms;                /* the wall-time cap */
    uint64_t *t0;                   /* set: the start */
    uint64_t *deadline_ns;          /* set: the start + cap */
    atomic_uint_fast64_t *last_ns;  /* set to the start */
} run_clock;

/* Start the crew's threads, start the clock, open the gate, wait for the
 * crew. Returns 0 or -1 (a thread could not start: the others are told to
 * return at once). */
static int crew_run(crew *c, gate *g, void *(*fn)(void *), void *workers, size_t size,
                    const run_clock *clk)
{
    int rc = crew_start(c, fn, workers, size);
    *clk->t0 = bench_now_ns() + clk->lead_ns;
    *clk->deadline_ns = *clk->t0 + clk->cap_ms * 1000000u;
    atomic_store(clk->last_ns, *clk->t0);
    gate_open(g, rc == 0 ? 1 : -1);
    crew_join(c);
    return rc;
}

/* Each of `producers` threads sends back to back: publishes, or pings. */
static int closed_loop(const bench_target *t, unsigned producers, size_t batch,
                       size_t payload_len, bool ping, uint64_t events, uint64_t cap_ms,
                       bench_rate *out)
{
    memset(out, 0, sizeof *out);
    if (producers == 0 || batch == 0)
        return -1;
    char *pool = malloc(PAYLOAD_POOL * (payload_len ? payload_len : 1));
    if (!pool)
        return -1;
    fill_random(pool, PAYLOAD_POOL * payload_len, payload_len);
    pub_shared sh = {.t = t, .batch = batch, .payload_len = payload_len, .pool = pool,
                     .events = events, .ping = ping};
    gate_init(&sh.start);
    crew c;
    pub_worker *w = NULL;
    int rc = -1;
    if (crew_connect(&c, t, producers) != 0)
        goto out_gate;
    w = pub_workers_new(&sh, &c);
    if (!w)
        goto out_crew;
    uint64_t t0;
    run_clock clk = {0, cap_ms, &t0, &sh.deadline_ns, &sh.last_ns};
    rc = crew_run(&c, &sh.start, pub_main, w, sizeof *w, &clk);
    rate_fill(out, atomic_load(&sh.done), events, t0, atomic_load(&sh.last_ns));
    if (atomic_load(&sh.failed))
        rc = -1;
out_crew:
    pub_workers_free(w, c.n);
    crew_close(&c, t);
out_gate:
    gate_destroy(&sh.start);
    free(pool);
    if (rc != 0)
        fprintf(stderr, "sluice-bench: %s: %s run (%u x %zu) failed\n", t->drv->name,
                ping ? "ping" : "publish", producers, batch);
    return rc;
}

int bench_publish_run(const bench_target *t, unsigned producers, size_t batch,
                      size_t payload_len, uint64_t events, uint64_t cap_ms, bench_rate *out)
{
    return closed_loop(t, producers, batch, payload_len, false, events, cap_ms, out);
}

int bench_ping_run(const bench_target *t, unsigned clients, uint64_t count, uint64_t cap_ms,
                   bench_rate *out)
{
    return closed_loop(t, clients, 1, 0, true, count, cap_ms, out);
}

/* ---- pull + ack throughput ---------------------------------------------- */

typedef struct pull_shared {
    gate start;                    /* opens when the clock starts */
    const bench_target *t;         /* the system */
    size_t max_batch;              /* events per pull at most */
    bench_pull_mode mode;          /* how the acks go */
    uint64_t events;               /* events to consume in all */
    uint64_t deadline_ns;          /* the cap */
    atomic_uint_fast64_t unclaimed;/* events no consumer has claimed for a pull */
    atomic_uint_fast64_t consumed; /* events pulled and acked */
    atomic_uint_fast64_t last_ns;  /* time of the last ack that consumed some */
    atomic_int failed;             /* a pull or ack failed */
} pull_shared;

typedef struct pull_worker {
    pull_shared *sh;               /* borrowed */
    bench_conn *conn;              /* borrowed from the crew */
} pull_worker;

static void ignore_event(void *ctx, const void *payload, size_t len)
{
    (void)ctx, (void)payload, (void)len;
}

/* Take up to max of *unclaimed for one pull: each consumer pulls only what
 * is left for it, so no pull at the end of a run finds nothing and waits
 * (such a wait, on a pull carrying the last acks, would count as time). */
static size_t claim(atomic_uint_fast64_t *unclaimed, size_t max)
{
    uint_fast64_t left = atomic_load(unclaimed);
    size_t take;
    do
        take = left < max ? (size_t)left : max;
    while (take > 0 && !atomic_compare_exchange_weak(unclaimed, &left, left - take));
    return take;
}

static void *pull_main(void *arg)
{
    pull_worker *w = arg;
    pull_shared *sh = w->sh;
    if (!gate_wait(&sh->start))
        return NULL;
    const bench_driver *drv = sh->t->drv;
    bool with_next = sh->mode == BENCH_ACK_WITH_NEXT_PULL;
    size_t held = 0; /* with_next: what the last pull left to ack */
    size_t want;
    while (keep_going(sh->t, &sh->failed, sh->deadline_ns) &&
           (want = claim(&sh->unclaimed, sh->max_batch)) > 0) {
        size_t got = 0;
        int rc = with_next ? drv->pull_next(w->conn, want, PULL_WAIT_MS, ignore_event, NULL,
                                            &got)
                           : drv->pull_ack(w->conn, want, PULL_WAIT_MS, ignore_event, NULL,
                                           &got);
        if (rc != 0) {
            atomic_store(&sh->failed, 1);
            return NULL;
        }
        if (got < want) /* another pull may get them */
            atomic_fetch_add(&sh->unclaimed, want - got);
        atomic_fetch_add(&sh->consumed, got);
        if (got || held) /* it consumed some, or acked what the one before pulled */
            atomic_max_u64(&sh->last_ns, bench_now_ns());
        held = with_next ? got : 0;
    }
    /* The last batch counts once its ack is done: the clock runs until then. */
    if (with_next) {
        if (drv->ack_held(w->conn) != 0)
            atomic_store(&sh->failed, 1);
        else if (held)
            atomic_max_u64(&sh->last_ns, bench_now_ns());
    }
    return NULL;
}

int bench_pull_run(const bench_target *t, unsigned consumers, size_t max_batch,
                   bench_pull_mode mode, uint64_t events, uint64_t cap_ms, bench_rate *out)
{
    memset(out, 0, sizeof *out);
    if (consumers == 0 || max_batch == 0)
        return -1;
    pull_shared sh = {.t = t, .max_batch = max_batch, .mode = mode, .events = events,
                      .unclaimed = events};
    gate_init(&sh.start);
    crew c;
    pull_worker *w = NULL;
    int rc = -1;
    if (crew_connect(&c, t, consumers) != 0)
        goto out_gate;
    w = calloc(consumers, sizeof *w);
    if (!w)
        goto out_crew;
    for (unsigned i = 0; i < consumers; i++)
        w[i] = (pull_worker){&sh, c.conns[i]};
    uint64_t t0;
    run_clock clk = {0, cap_ms, &t0, &sh.deadline_ns, &sh.last_ns};
    rc = crew_run(&c, &sh.start, pull_main, w, sizeof *w, &clk);
    rate_fill(out, atomic_load(&sh.consumed), events, t0, atomic_load(&sh.last_ns));
    if (atomic_load(&sh.failed))
        rc = -1;
out_crew:
    free(w);
    crew_close(&c, t);
out_gate:
    gate_destroy(&sh.start);
    if (rc != 0)
        fprintf(stderr, "sluice-bench: %s: pull+ack run (%u consumers) failed\n",
                t->drv->name, consumers);
    return rc;
}

/* ---- paced latency -------------------------------------------------------- */

/* What a paced loop sends at each due time. */
typedef enum lat_request {
    LAT_PUBLISH,   /* one event */
    LAT_PING,      /* a request that stores nothing */
    LAT_NOTHING    /* no request: the schedule alone (no system, no connections) */
} lat_request;

typedef struct lat_shared {
    gate start;                    /* opens when the clock starts */
    const bench_target *t;         /* the system */
    uint64_t period_ns;            /* 1e9 / rate */
    uint64_t events;               /* events to send at most */
    size_t payload_len;            /* bytes per event, >= 8 */
    lat_request req;               /* what each due time sends */
    uint64_t t0;                   /* when event 0 is due */
    uint64_t deadline_ns;          /* no event is due after this */
    bench_samples *samples;        /* publish latencies, or NULL */
    atomic_uint_fast64_t next;     /* next event index to send */
    atomic_uint_fast64_t acked;    /* publishes acknowledged */
    atomic_uint_fast64_t last_ns;  /* time of the last acknowledgement */
    atomic_int failed;             /* a publish failed */
    atomic_int senders_done;       /* every sender has returned */
    double steal_pct;              /* CPU stolen while the senders ran; -1 unknown */
} lat_shared;

typedef struct lat_worker {
    lat_shared *sh;                /* borrowed */
    bench_conn *conn;              /* borrowed from the crew */
    char *payload;                 /* payload_len bytes; owned */
} lat_worker;

/* The request due now. Returns the driver's 0 or -1. */
static int send_one(lat_worker *w)
{
    const lat_shared *sh = w->sh;
    const void *ptrs[1] = {w->payload};
    switch (sh->req) {
    case LAT_PUBLISH:
        return sh->t->drv->publish(w->conn, ptrs, sh->payload_len, 1);
    case LAT_PING:
        return sh->t->drv->ping(w->conn);
    case LAT_NOTHING:
        break;
    }
    return 0;
}

static void *lat_main(void *arg)
{
    lat_worker *w = arg;
    lat_shared *sh = w->sh;
    if (!gate_wait(&sh->start))
        return NULL;
    if (bench_precise_sleeps() != 0) {
        atomic_store(&sh->failed, 1);
        return NULL;
    }
    while (!atomic_load(sh->t->stop) && !atomic_load(&sh->failed)) {
        uint64_t i = atomic_fetch_add(&sh->next, 1);
        uint64_t due = sh->t0 + i * sh->period_ns;
        if (i >= sh->events || due > sh->deadline_ns)
            break;
        bench_sleep_until_ns(due);
        memcpy(w->payload, &due, sizeof due);
        if (send_one(w) != 0) {
            atomic_store(&sh->failed, 1);
            break;
        }
        uint64_t now = bench_now_ns();
        uint64_t k = atomic_fetch_add(&sh->acked, 1);
        if (sh->samples && k < sh->samples->cap)
            sh->samples->us[k] = (double)(now - due) / 1000.0;
        atomic_max_u64(&sh->last_ns, now);
    }
    return NULL;
}

typedef struct consumer {
    lat_shared *sh;                /* borrowed */
    bench_conn *conn;              /* own connection; owned */
    bench_samples *samples;        /* delivery latencies; borrowed */
    uint64_t received;             /* events seen */
    uint64_t budget_ns;            /* gives up this long after the start */
    int failed;                    /* a pull failed */
} consumer;

static void on_delivery(void *ctx, const void *payload, size_t len)
{
    consumer *c = ctx;
    uint64_t due = 0, now = bench_now_ns();
    if (len >= sizeof due)
        memcpy(&due, payload, sizeof due);
    if (c->received < c->samples->cap && due && now >= due)
        c->samples->us[c->received] = (double)(now - due) / 1000.0;
    c->received++;
}

static void *consumer_main(void *arg)
{
    consumer *c = arg;
    lat_shared *sh = c->sh;
    if (!gate_wait(&sh->start))
        return NULL;
    uint64_t deadline = sh->t0 + c->budget_ns; /* t0 is set before the gate opens */
    while (!atomic_load(sh->t->stop) && bench_now_ns() < deadline) {
        if (atomic_load(&sh->senders_done) && c->received >= atomic_load(&sh->acked))
            break;
        size_t got = 0;
        if (sh->t->drv->pull_ack(c->conn, DELIVERY_MAX_BATCH, PULL_WAIT_MS, on_delivery, c,
                                 &got) != 0) {
            c->failed = 1;
            break;
        }
    }
    return NULL;
}

static void lat_workers_free(lat_worker *w, unsigned n)
{
    for (unsigned i = 0; w && i < n; i++)
        free(w[i].payload);
    free(w);
}

static lat_worker *lat_workers_new(lat_shared *sh, const crew *c)
{
    lat_worker *w = calloc(c->n, sizeof *w);
    if (!w)
        return NULL;
    for (unsigned i = 0; i < c->n; i++) {
        w[i].sh = sh;
        w[i].conn = c->conns[i];
        w[i].payload = calloc(1, sh->payload_len);
        if (!w[i].payload) {
            lat_workers_free(w, c->n);
            return NULL;
        }
        fill_random(w[i].payload + 8, sh->payload_len - 8, i);
    }
    return w;
}

static void latency_fill(bench_latency *out, bench_samples *s, size_t n, double rate,
                         uint64_t wanted, const lat_shared *sh)
{
    uint64_t t0 = sh->t0, last = atomic_load(&sh->last_ns);
    bench_samples_close(s, n);
    out->steal_pct = sh->steal_pct;
    out->rate_target = rate;
    out->events = s->n;
    double secs = seconds_between(t0, last);
    out->rate_achieved = secs > 0 ? (double)n / secs : 0;
    out->p50_us = bench_percentile(s, 50);
    out->p99_us = bench_percentile(s, 99);
    out->p999_us = bench_percentile(s, 99.9);
    out->max_us = bench_percentile(s, 100);
    out->capped = n < wanted;
}

/* Start the consumer thread (when c is not NULL), then the senders; join. */
static int paced_run(const bench_target *t, lat_shared *sh, consumer *cons, uint64_t cap_ms)
{
    crew c;
    lat_worker *w = NULL;
    int rc = -1;
    unsigned senders = sh->events < LATENCY_SENDERS ? (unsigned)sh->events : LATENCY_SENDERS;
    if (crew_connect(&c, t, senders ? senders : 1) != 0)
        return -1;
    w = lat_workers_new(sh, &c);
    if (!w)
        goto out;
    if (cons)
        cons->budget_ns = (cap_ms + DELIVERY_GRACE_MS) * 1000000ull;
    pthread_t ct;
    int have_consumer = cons && pthread_create(&ct, NULL, consumer_main, cons) == 0;
    if (cons && !have_consumer) {
        gate_open(&sh->start, -1);
        goto out;
    }
    /* 1 ms for the threads to get going after the gate opens */
    run_clock clk = {1000000u, cap_ms, &sh->t0, &sh->deadline_ns, &sh->last_ns};
    bench_cpu before, after;
    bool cpu_known = bench_cpu_read(&before) == 0;
    rc = crew_run(&c, &sh->start, lat_main, w, sizeof *w, &clk);
    cpu_known = cpu_known && bench_cpu_read(&after) == 0;
    sh->steal_pct = cpu_known ? bench_cpu_steal_pct(&before, &after) : -1;
    atomic_store(&sh->senders_done, 1);
    if (have_consumer)
        pthread_join(ct, NULL);
    if (atomic_load(&sh->failed) || (cons && cons->failed))
        rc = -1;
out:
    lat_workers_free(w, c.n);
    crew_close(&c, t);
    return rc;
}

/* Paced single publishes, or pings; latency from each one's due time. */
static int paced_requests(const bench_target *t, double rate, uint64_t events,
                          lat_request req, uint64_t cap_ms, bench_latency *out)
{
    memset(out, 0, sizeof *out);
    bench_samples s;
    if (rate <= 0 || events == 0 || bench_samples_init(&s, (size_t)events) != 0)
        return -1;
    lat_shared sh = {.t = t, .period_ns = (uint64_t)(1e9 / rate), .events = events,
                     .payload_len = 256, .req = req, .samples = &s};
    gate_init(&sh.start);
    int rc = paced_run(t, &sh, NULL, cap_ms);
    uint64_t acked = atomic_load(&sh.acked);
    latency_fill(out, &s, acked < s.cap ? (size_t)acked : s.cap, rate, events, &sh);
    gate_destroy(&sh.start);
    bench_samples_free(&s);
    static const char *const what[] = {"publish", "ping", "schedule"};
    if (rc != 0)
        fprintf(stderr, "sluice-bench: %s: %s latency run failed\n",
                t->drv ? t->drv->name : "bench", what[req]);
    return rc;
}

int bench_latency_publish(const bench_target *t, double rate, uint64_t events,
                          uint64_t cap_ms, bench_latency *out)
{
    return paced_requests(t, rate, events, LAT_PUBLISH, cap_ms, out);
}

int bench_latency_ping(const bench_target *t, double rate, uint64_t count, uint64_t cap_ms,
                       bench_latency *out)
{
    return paced_requests(t, rate, count, LAT_PING, cap_ms, out);
}

int bench_latency_schedule(const atomic_int *stop, double rate, uint64_t count,
                           uint64_t cap_ms, bench_latency *out)
{
    bench_target none = {.drv = NULL, .sys = NULL, .stop = stop};
    return paced_requests(&none, rate, count, LAT_NOTHING, cap_ms, out);
}

int bench_latency_delivery(const bench_target *t, double rate, uint64_t events,
                           size_t payload_len, uint64_t cap_ms, bench_latency *out)
{
    memset(out, 0, sizeof *out);
    bench_samples s;
    if (rate <= 0 || events == 0 || payload_len < 8 ||
        bench_samples_init(&s, (size_t)events) != 0)
        return -1;
    lat_shared sh = {.t = t, .period_ns = (uint64_t)(1e9 / rate), .events = events,
                     .payload_len = payload_len};
    consumer cons = {.sh = &sh, .samples = &s};
    gate_init(&sh.start);
    int rc = -1;
    if (t->drv->connect(t->sys, &cons.conn) == 0) {
        rc = paced_run(t, &sh, &cons, cap_ms);
        t->drv->disconnect(cons.conn);
    }
    size_t n = cons.received < s.cap ? (size_t)cons.received : s.cap;
    latency_fill(out, &s, n, rate, events, &sh);
    out->rate_achieved = seconds_between(sh.t0, atomic_load(&sh.last_ns)) > 0
                             ? (double)atomic_load(&sh.acked) /
                                   seconds_between(sh.t0, atomic_load(&sh.last_ns))
                             : 0;
    gate_destroy(&sh.start);
    bench_samples_free(&s);
    if (rc != 0)
        fprintf(stderr, "sluice-bench: %s: delivery latency run failed\n", t->drv->name);
    return rc;
}

/* ---- baselines ------------------------------------------------------------ */

int bench_fsync_baseline(const char *dir, unsigned count, uint64_t cap_ms, double *median_us)
{
    char path[4096];
    *median_us = 0;
    if (snprintf(path, sizeof path, "%s/fsync-baseline", dir) >= (int)sizeof path)
        return -1;
    double *v = calloc(count ? count : 1, sizeof *v);
    char block[4096];
    memset(block, 'f', sizeof block);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = (v && fd >= 0 && pwrite(fd, block, sizeof block, 0) == (ssize_t)sizeof block &&
              fsync(fd) == 0) ? 0 : -1;
    unsigned n = 0;
    uint64_t deadline = bench_now_ns() + cap_ms * 1000000u;
    while (rc == 0 && n < count && bench_now_ns() < deadline) {
        block[0] = (char)n;
        uint64_t t0 = bench_now_ns();
        if (pwrite(fd, block, sizeof block, 0) != (ssize_t)sizeof block || fdatasync(fd) != 0)
            rc = -1;
        else
            v[n++] = (double)(bench_now_ns() - t0) / 1000.0;
    }
    if (rc != 0)
        fprintf(stderr, "sluice-bench: fsync baseline in %s: %s\n", dir, strerror(errno));
    else
        *median_us = bench_median(v, n);
    if (fd >= 0)
        close(fd);
    unlink(path);
    free(v);
    return rc == 0 && n > 0 ? 0 : -1;
}

int bench_warm_memory(const char *dir, uint64_t bytes)
{
    enum { WARM_WRITE = 1u << 20 };
    char path[4096];
    if (snprintf(path, sizeof path, "%s/warm-memory", dir) >= (int)sizeof path)
        return -1;
    char *block = malloc(WARM_WRITE);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = block && fd >= 0 ? 0 : -1;
    if (block)
        memset(block, 'w', WARM_WRITE);
    const char *why = rc == 0 ? NULL : strerror(errno);
    for (uint64_t done = 0; rc == 0 && done < bytes; done += WARM_WRITE) {
        ssize_t n = write(fd, block, WARM_WRITE);
        if (n != (ssize_t)WARM_WRITE) {
            rc = -1;
            why = n < 0 ? strerror(errno) : "short write (disk full?)";
        }
    }
    if (rc != 0)
        fprintf(stderr, "sluice-bench: warming memory in %s: %s\n", dir, why);
    if (fd >= 0)
        close(fd);
    unlink(path);
    free(block);
    return rc;
}

/* Append n values under keys seq.. in one synced transaction. */
static int lmdb_batch(MDB_env *env, MDB_dbi dbi, uint64_t seq, size_t n, char *value,
                      size_t value_len)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (unsigned char)((seq + i) >> (56 - 8 * b));
        MDB_val k = {sizeof key, key}, v = {value_len, value};
        rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    }
    if (rc == 0)
        return mdb_txn_commit(txn);
    mdb_txn_abort(txn);
    return rc;
}

static int lmdb_open(const char *dir, size_t map_bytes, MDB_env **env, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = mkdir(dir, 0755) == 0 ? 0 : errno;
    if (rc == 0)
        rc = mdb_env_create(env);
    if (rc != 0)
        return rc;
    rc = mdb_env_set_mapsize(*env, map_bytes);
    if (rc == 0)
        rc = mdb_env_open(*env, dir, 0, 0644);
    if (rc == 0)
        rc = mdb_txn_begin(*env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_dbi_open(txn, NULL, 0, dbi)) != 0)
        mdb_txn_abort(txn);
    else if (rc == 0)
        rc = mdb_txn_commit(txn);
    if (rc != 0)
        mdb_env_close(*env);
    return rc;
}

int bench_lmdb_baseline(const char *dir, size_t batch, size_t value_len, uint64_t events,
                        uint64_t cap_ms, bench_rate *out)
{
    memset(out, 0, sizeof *out);
    MDB_env *env = NULL;
    MDB_dbi dbi;
    size_t map = (size_t)(events * (value_len + 64) * 2) + (64u << 20);
    char *value = malloc(value_len ? value_len : 1);
    int rc = value ? lmdb_open(dir, map, &env, &dbi) : ENOMEM;
    if (rc == 0) {
        fill_random(value, value_len, 1);
        uint64_t t0 = bench_now_ns(), deadline = t0 + cap_ms * 1000000u, done = 0;
        while (rc == 0 && done < events && bench_now_ns() < deadline) {
            size_t n = events - done < batch ? (size_t)(events - done) : batch;
            rc = lmdb_batch(env, dbi, done, n, value, value_len);
            if (rc == 0)
                done += n;
        }
        rate_fill(out, done, events, t0, bench_now_ns());
        mdb_env_close(env);
    }
    if (rc != 0)
        fprintf(stderr, "sluice-bench: LMDB baseline in %s: %s\n", dir, mdb_strerror(rc));
    free(value);
    bench_rmtree(dir);
    return rc == 0 ? 0 : -1;
}
