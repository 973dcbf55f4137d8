/* clock.h: the daemon's wall clock (Unix ms). Core never reads a clock:
 * the daemon passes now_ms into every core call, tests pass their own. */
#ifndef SLUICE_SLUICED_CLOCK_H
#define SLUICE_SLUICED_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t sl_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Monotonic microseconds, for durations (request latency). */
static inline uint64_t sl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
