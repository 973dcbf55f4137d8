/* metrics.c: see metrics.h. The counters and observing them; the page is
 * written by metrics_render.c. */
#include "metrics.h"

#include <string.h>

/* 1-2.5-5 steps from 50 us to 10 s. */
static const uint64_t bounds_us[SL_METRICS_BOUNDS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void sl_metrics_init(sl_metrics *m)
{
    for (unsigned t = 0; t < SL_METRICS_TRANSPORTS; t++) {
        for (unsigned o = 0; o < SL_METRICS_OPS; o++) {
            sl_op_metrics *om = &m->op[t][o];
            atomic_init(&om->ok, 0);
            atomic_init(&om->error, 0);
            atomic_init(&om->sum_us, 0);
            for (unsigned b = 0; b <= SL_METRICS_BOUNDS; b++)
                atomic_init(&om->bucket[b], 0);
        }
    }
}

uint64_t sl_metrics_bucket_bound_us(unsigned i)
{
    return i < SL_METRICS_BOUNDS ? bounds_us[i] : UINT64_MAX;
}

const char *sl_metrics_op_label(unsigned op)
{
    return op < SL_OP_COUNT ? sl_op_name((sl_op)op) : "invalid";
}

/* The first bucket whose bound is >= latency_us (SL_METRICS_BOUNDS: +Inf). */
static unsigned bucket_of(uint64_t latency_us)
{
    unsigned i = 0;
    while (i < SL_METRICS_BOUNDS && latency_us > bounds_us[i])
        i++;
    return i;
}

void sl_metrics_observe(sl_metrics *m, sl_op op, bool ok, uint64_t latency_us, bool http)
{
    unsigned o = (unsigned)op < SL_OP_COUNT ? (unsigned)op : SL_METRICS_OP_INVALID;
    sl_op_metrics *om = &m->op[http ? SL_METRICS_HTTP : SL_METRICS_NNG][o];
    atomic_fetch_add_explicit(ok ? &om->ok : &om->error, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&om->bucket[bucket_of(latency_us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&om->sum_us, latency_us, memory_order_relaxed);
}

/* True when the msgpack reply starts as {"ok": true, ...} (reply.h writes
 * "ok" as the first key of every reply). */
static bool reply_is_ok(const uint8_t *p, size_t n)
{
    size_t head;
    if (n >= 1 && (p[0] & 0xf0) == 0x80)
        head = 1; /* fixmap */
    else if (n >= 1 && p[0] == 0xde)
        head = 3; /* map 16 */
    else if (n >= 1 && p[0] == 0xdf)
        head = 5; /* map 32 */
    else
        return false;
    static const uint8_t ok_true[4] = {0xa2, 'o', 'k', 0xc3};
    return n >= head + sizeof ok_true && memcmp(p + head, ok_true, sizeof ok_true) == 0;
}

void sl_metrics_observe_job(sl_metrics *m, const sl_job *job)
{
    uint64_t now = sl_metrics_now_us();
    uint64_t latency = now > job->started_us ? now - job->started_us : 0;
    bool ok = reply_is_ok(sl_reply_data(&job->reply), sl_reply_size(&job->reply));
    sl_metrics_observe(m, job->req.op, ok, latency, false);
}
