/* report.h: the tables of a sluice-bench run, and its targets with PASS/FAIL.
 *
 * Machine, baselines, publish and pull+ack throughput side by side with
 * ratios, paced latency, disk per event, memory and restart, then every
 * target of the performance issue, from what bench_run holds. */
#ifndef SLUICE_BENCH_REPORT_H
#define SLUICE_BENCH_REPORT_H

#include "results.h"

/* Print the report on stdout and, with run->opt.report, write it to that
 * file as well. 0, or -1 when the file could not be written (said on stderr). */
int bench_report_write(const bench_run *run);

#endif
