/* wake_probe.c: see wake_probe.h. */
#include "wake_probe.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "stats.h"

typedef struct relay {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned turn;      /* 0: the caller's, 1: the peer's */
    bool done;          /* the caller has stopped: the peer returns */
} relay;

/* The peer: wait for the turn, hand it back, until done. */
static void *peer_main(void *arg)
{
    relay *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->turn != 1 && !r->done)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->done)
            break;
        r->turn = 0;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* One round trip: hand the turn over and sleep until it comes back. */
static void round_trip(relay *r)
{
    pthread_mutex_lock(&r->mu);
    r->turn = 1;
    pthread_cond_broadcast(&r->cv);
    while (r->turn != 0)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

/* The CPUs the two threads go to: the first two of the caller's mask
 * (across), or its first one twice. false: not two CPUs for across. */
static bool pick_cpus(const cpu_set_t *mask, bool across, int cpu[2])
{
    int found = 0;
    for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
        if (CPU_ISSET(i, mask))
            cpu[found++] = i;
    if (found == 0)
        return false;
    if (!across)
        cpu[1] = cpu[0];
    return !across || found == 2;
}

static void set_one(cpu_set_t *set, int cpu)
{
    CPU_ZERO(set);
    CPU_SET(cpu, set);
}

/* count timed round trips with a running peer; v gets each, in us. */
static unsigned measure(relay *r, unsigned count, uint64_t cap_ms, double *v)
{
    uint64_t deadline = bench_now_ns() + cap_ms * 1000000u;
    unsigned n = 0;
    for (unsigned warm = 0; warm < 10; warm++)
        round_trip(r);
    while (n < count && bench_now_ns() < deadline) {
        uint64_t t0 = bench_now_ns();
        round_trip(r);
        v[n++] = (double)(bench_now_ns() - t0) / 1000.0;
    }
    return n;
}

/* Run the peer on CPU cpu[1] and time round trips from cpu[0]: *n timed. */
static int run_pinned(const int cpu[2], unsigned count, uint64_t cap_ms, double *v, unsigned *n)
{
    relay r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    cpu_set_t mine, theirs;
    set_one(&mine, cpu[0]);
    set_one(&theirs, cpu[1]);
    pthread_attr_t attr;
    if (pthread_setaffinity_np(pthread_self(), sizeof mine, &mine) != 0 ||
        pthread_attr_init(&attr) != 0)
        return -1;
    pthread_t peer;
    bool started = pthread_attr_setaffinity_np(&attr, sizeof theirs, &theirs) == 0 &&
                   pthread_create(&peer, &attr, peer_main, &r) == 0;
    pthread_attr_destroy(&attr);
    if (!started)
        return -1;
    *n = measure(&r, count, cap_ms, v);
    pthread_mutex_lock(&r.mu);
    r.done = true;
    pthread_cond_broadcast(&r.cv);
    pthread_mutex_unlock(&r.mu);
    pthread_join(peer, NULL);
    return 0;
}

int bench_wake_probe(unsigned count, uint64_t cap_ms, bool across, double *median_us)
{
    const char *what = across ? "across CPUs" : "on one CPU";
    *median_us = 0;
    cpu_set_t saved;
    int cpu[2];
    if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0) {
        fprintf(stderr, "sluice-bench: wake probe %s: no CPU affinity\n", what);
        return -1;
    }
    if (!pick_cpus(&saved, across, cpu))
        return across && CPU_COUNT(&saved) == 1 ? 0 : -1;
    double *v = calloc(count ? count : 1, sizeof *v);
    unsigned n = 0;
    int rc = v ? run_pinned(cpu, count, cap_ms, v, &n) : -1;
    if (pthread_setaffinity_np(pthread_self(), sizeof saved, &saved) != 0)
        rc = -1; /* left pinned: the threads the bench starts next would be too */
    if (rc == 0 && n > 0)
        *median_us = bench_median(v, n) / 2;
    else
        fprintf(stderr, "sluice-bench: wake probe %s failed\n", what);
    free(v);
    return rc == 0 && n > 0 ? 0 : -1;
}
