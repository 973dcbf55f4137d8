/* rate_limit.h: a token bucket for one endpoint's requests per second.
 *
 * rate tokens are added per second, up to a burst of max(1, rate); each
 * request takes one. Rate 0 means unlimited. Time is the caller's monotonic
 * clock in ms, passed into every call (a clock going backwards adds
 * nothing). Integer arithmetic in thousandths of a token: exact, no drift.
 * The caller owns the struct; no allocation, no locking (one owner thread).
 */
#ifndef SLUICE_BRIDGE_RATE_LIMIT_H
#define SLUICE_BRIDGE_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wh_rate {
    uint32_t rate;       /* tokens per second; 0: unlimited */
    uint64_t milli;      /* tokens held, in thousandths */
    uint64_t last_ms;    /* when milli was last brought up to date */
} wh_rate;

/* A full bucket of rate per second at now_ms. */
void wh_rate_init(wh_rate *r, uint32_t rate, uint64_t now_ms);

/* Change the rate (a subscription update), keeping the tokens held (cut to
 * the new burst). */
void wh_rate_set(wh_rate *r, uint32_t rate, uint64_t now_ms);

/* Take one token if there is one: true when the request may go now. */
bool wh_rate_take(wh_rate *r, uint64_t now_ms);

/* Give back n tokens taken but not used (a pull that returned fewer
 * events than it asked for), up to the burst. */
void wh_rate_refund(wh_rate *r, uint32_t n);

/* The earliest time (ms, same clock) wh_rate_take will succeed: now_ms when
 * it would now. */
uint64_t wh_rate_ready_at(wh_rate *r, uint64_t now_ms);

#endif
