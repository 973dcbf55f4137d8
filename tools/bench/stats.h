/* stats.h: what the benchmark computes from what it recorded: percentiles
 * over latency samples, a process's memory from /proc, the CPU time the
 * hypervisor stole (/proc/stat), the disk a directory takes, and a monotonic
 * clock with precise sleeps.
 *
 * Ownership: a bench_samples owns its array (one malloc at init, freed by
 * bench_samples_free). Every other function only reads its arguments.
 */
#ifndef SLUICE_BENCH_STATS_H
#define SLUICE_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/* Sleep until the CLOCK_MONOTONIC time t_ns (returns at once when past). */
void bench_sleep_until_ns(uint64_t t_ns);

/* Make the calling thread's timed sleeps end on time: Linux lets a sleep
 * overshoot by the thread's timer slack (50 us by default), which a paced
 * loop would count against the system it measures. Returns 0, or -1 (the
 * kernel refused; errno says why). */
int bench_precise_sleeps(void);

/* The machine's CPU time so far, in clock ticks, from /proc/stat. */
typedef struct bench_cpu {
    uint64_t total;   /* every state, steal included */
    uint64_t steal;   /* time the hypervisor ran something else on our CPUs */
} bench_cpu;

/* Read the counters. Returns 0, or -1 (/proc/stat unreadable). */
int bench_cpu_read(bench_cpu *out);

/* Percent of the CPU time from a to b that was stolen; -1 when no time
 * passed or the counters went backwards. */
double bench_cpu_steal_pct(const bench_cpu *a, const bench_cpu *b);

/* Latency samples in microseconds, in a fixed-size array allocated up front
 * (recording never allocates). Slots are written by index, so threads that
 * own distinct indexes may record concurrently. */
typedef struct bench_samples {
    double *us;     /* cap values; owned */
    size_t cap;     /* slots allocated */
    size_t n;       /* slots in use: [0, n) are valid after bench_samples_close */
} bench_samples;

/* Allocate cap slots (cap >= 1). Returns 0, or -1 (out of memory; *s zeroed). */
int bench_samples_init(bench_samples *s, size_t cap);

/* Free the array and zero *s. Safe on a zeroed struct and twice. */
void bench_samples_free(bench_samples *s);

/* Sort the first n values (n <= cap) so percentiles can be read. */
void bench_samples_close(bench_samples *s, size_t n);

/* The p-th percentile (0 < p <= 100, nearest rank) of the closed samples;
 * 0 when there are none. */
double bench_percentile(const bench_samples *s, double p);

/* The median of n doubles; sorts v in place. 0 when n is 0. */
double bench_median(double *v, size_t n);

/* The index of the median of v[0..n) (n > 0), v untouched: of an even n the
 * lower middle value, or with upper the upper one; equal values rank by
 * index. */
size_t bench_median_index(const double *v, size_t n, bool upper);

/* A process's memory in KiB, from /proc/<pid>/status and smaps_rollup. */
typedef struct bench_mem {
    uint64_t hwm_kib;        /* VmHWM: peak resident set */
    uint64_t rss_kib;        /* VmRSS: resident set now */
    uint64_t private_kib;    /* Private_Clean + Private_Dirty (smaps_rollup) */
    uint64_t anon_kib;       /* Anonymous (smaps_rollup): heap and stacks */
} bench_mem;

/* Read pid's memory. Returns 0, or -1 (process gone, /proc unreadable; a
 * message on stderr). */
int bench_mem_read(pid_t pid, bench_mem *out);

/* Bytes the regular files below path take on disk (st_blocks * 512),
 * following no symlinks. 0 when path does not exist. */
uint64_t bench_dir_disk_bytes(const char *path);

/* Remove path and everything below it. Returns 0 or -1. */
int bench_rmtree(const char *path);

#endif
