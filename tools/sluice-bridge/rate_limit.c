/* rate_limit.c: the token bucket (see rate_limit.h). A token is 1000
 * milli-tokens; rate tokens per second is rate milli-tokens per ms. */
#include "tools/sluice-bridge/rate_limit.h"

#define MILLI 1000u

static uint64_t burst_milli(uint32_t rate)
{
    return (uint64_t)(rate > 1 ? rate : 1) * MILLI;
}

/* Bring the tokens up to now_ms. */
static void refill(wh_rate *r, uint64_t now_ms)
{
    if (now_ms <= r->last_ms)
        return;
    uint64_t cap = burst_milli(r->rate);
    uint64_t elapsed = now_ms - r->last_ms;
    r->last_ms = now_ms;
    if (r->rate == 0 || elapsed >= cap / r->rate + 1) {
        r->milli = cap;
        return;
    }
    r->milli += elapsed * r->rate;
    if (r->milli > cap)
        r->milli = cap;
}

void wh_rate_init(wh_rate *r, uint32_t rate, uint64_t now_ms)
{
    r->rate = rate;
    r->milli = burst_milli(rate);
    r->last_ms = now_ms;
}

void wh_rate_set(wh_rate *r, uint32_t rate, uint64_t now_ms)
{
    refill(r, now_ms);
    r->rate = rate;
    if (r->milli > burst_milli(rate))
        r->milli = burst_milli(rate);
}

bool wh_rate_take(wh_rate *r, uint64_t now_ms)
{
    if (r->rate == 0)
        return true;
    refill(r, now_ms);
    if (r->milli < MILLI)
        return false;
    r->milli -= MILLI;
    return true;
}

void wh_rate_refund(wh_rate *r, uint32_t n)
{
    if (r->rate == 0)
        return;
    uint64_t cap = burst_milli(r->rate);
    uint64_t add = (uint64_t)n * MILLI;
    r->milli = add >= cap - (r->milli < cap ? r->milli : cap) ? cap : r->milli + add;
}

uint64_t wh_rate_ready_at(wh_rate *r, uint64_t now_ms)
{
    if (r->rate == 0)
        return now_ms;
    refill(r, now_ms);
    if (r->milli >= MILLI)
        return now_ms;
    uint64_t missing = MILLI - r->milli;
    uint64_t base = now_ms > r->last_ms ? now_ms : r->last_ms;
    return base + (missing + r->rate - 1) / r->rate;
}
