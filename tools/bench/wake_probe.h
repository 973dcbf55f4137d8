/* wake_probe.h: what it costs on this machine to wake a sleeping thread.
 *
 * Every request to a server on the same machine crosses threads: the
 * client's write wakes the server's thread, the reply wakes the client's.
 * Inside sluice a request crosses more (nng's poller hands it to nng's task
 * thread, that one to the writer thread, the client's poller to the calling
 * thread). On a virtual machine a wake-up that lands on an idle virtual CPU
 * costs an interrupt the host has to deliver, many times a switch on one
 * CPU, and those costs, not the disk, set the floor of one request's
 * latency. The probe measures it beside the fdatasync baseline so the
 * report can say how much of a round trip it is.
 *
 * The probe: two threads pass a turn back and forth through a mutex and a
 * condition variable (what nng's waits and sluice's writer queue use), each
 * sleeping until the other hands the turn back. One hand-off is half a
 * round trip.
 *
 * Returns 0 and the median hand-off in *median_us, or -1 (after printing
 * why on stderr). No allocation outlives the call. */
#ifndef SLUICE_BENCH_WAKE_PROBE_H
#define SLUICE_BENCH_WAKE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

/* count round trips, at most cap_ms, with the two threads pinned: across:
 * to two different CPUs of the caller's affinity mask (each wake-up crosses
 * CPUs; when the caller may run on one CPU only there is nothing to measure:
 * 0 with *median_us 0), otherwise both to one. Left to the scheduler, a pair that only wakes each other ends up on
 * one CPU; the daemon's threads, with other work beside them, often do not,
 * so the report gives both ends. The caller's affinity is restored. */
int bench_wake_probe(unsigned count, uint64_t cap_ms, bool across, double *median_us);

#endif
