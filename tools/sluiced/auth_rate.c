/* auth_rate.c: see auth_rate.h. */
#include "tools/sluiced/auth_rate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/apikey.h"

#define RATE_SETS 128            /* sets in the table (a power of two) */
#define RATE_WAYS 8              /* entries per set */
#define UNITS_PER_TOKEN 60000u   /* 1/60000ths: a bucket gains `rate` units per ms */
#define REFILL_MS 60000u         /* an empty bucket is full again after a minute */

typedef struct rate_entry {
    char id[SL_APIKEY_ID_LEN + 1]; /* the key id; "" when the entry is free */
    uint32_t rate;                 /* requests per minute */
    uint64_t units;                /* tokens held, in UNITS_PER_TOKEN ths */
    uint64_t last_ms;              /* when units was last brought up to date */
} rate_entry;

struct sl_rate_table {
    pthread_mutex_t lock;                       /* guards sets */
    rate_entry sets[RATE_SETS][RATE_WAYS];
};

sl_err sl_rate_table_new(sl_rate_table **out)
{
    sl_rate_table *t = calloc(1, sizeof *t);
    if (!t)
        return SL_ERR_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return SL_ERR_STORAGE;
    }
    *out = t;
    return SL_OK;
}

void sl_rate_table_free(sl_rate_table *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* FNV-1a of the id: which set it lives in. */
static unsigned set_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; id[i] && i < SL_APIKEY_ID_LEN; i++)
        h = (h ^ (unsigned char)id[i]) * 16777619u;
    return h & (RATE_SETS - 1);
}

static uint64_t capacity(uint32_t rate)
{
    return (uint64_t)rate * UNITS_PER_TOKEN;
}

/* e's tokens at now_ms (in units), without changing e. */
static uint64_t units_at(const rate_entry *e, uint64_t now_ms)
{
    uint64_t elapsed = now_ms > e->last_ms ? now_ms - e->last_ms : 0;
    if (elapsed > REFILL_MS)
        elapsed = REFILL_MS; /* full anyway; keeps the product small */
    uint64_t units = e->units + elapsed * e->rate;
    uint64_t cap = capacity(e->rate);
    return units > cap ? cap : units;
}

/* Bring e's bucket up to now_ms (a clock going backwards adds nothing). */
static void refill(rate_entry *e, uint64_t now_ms)
{
    e->units = units_at(e, now_ms);
    if (now_ms > e->last_ms)
        e->last_ms = now_ms;
}

static bool is_idle(const rate_entry *e, uint64_t now_ms)
{
    return units_at(e, now_ms) == capacity(e->rate);
}

/* The entry to (re)use for a key not in set: free, else idle, else the least
 * recently used. */
static rate_entry *victim(rate_entry *set, uint64_t now_ms)
{
    rate_entry *oldest = &set[0];
    for (unsigned i = 0; i < RATE_WAYS; i++) {
        if (!set[i].id[0] || is_idle(&set[i], now_ms))
            return &set[i];
        if (set[i].last_ms < oldest->last_ms)
            oldest = &set[i];
    }
    return oldest;
}

/* The entry of id (fresh and full when new or when its rate changed). */
static rate_entry *entry_of(sl_rate_table *t, const char *id, uint32_t rate, uint64_t now_ms)
{
    rate_entry *set = t->sets[set_of(id)];
    rate_entry *e = NULL;
    for (unsigned i = 0; i < RATE_WAYS && !e; i++)
        if (set[i].id[0] && strncmp(set[i].id, id, SL_APIKEY_ID_LEN) == 0)
            e = &set[i];
    if (e && e->rate == rate)
        return e;
    if (!e) {
        e = victim(set, now_ms);
        memset(e->id, 0, sizeof e->id);
        strncpy(e->id, id, SL_APIKEY_ID_LEN);
    }
    e->rate = rate;
    e->units = capacity(rate);
    e->last_ms = now_ms;
    return e;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Fill out from e after the take. */
static void verdict_of(const rate_entry *e, bool allowed, uint64_t now_ms, sl_rate_verdict *out)
{
    uint64_t cap = capacity(e->rate);
    out->allowed = allowed;
    out->limit = e->rate;
    out->remaining = (uint32_t)(e->units / UNITS_PER_TOKEN);
    out->reset_s = ceil_div(now_ms + ceil_div(cap - e->units, e->rate), 1000);
    out->retry_after_s = 0;
    if (!allowed) {
        uint64_t wait_ms = ceil_div(UNITS_PER_TOKEN - e->units, e->rate);
        out->retry_after_s = wait_ms < 1000 ? 1 : ceil_div(wait_ms, 1000);
    }
}

void sl_rate_take(sl_rate_table *t, const char *key_id, uint32_t per_minute, uint64_t now_ms,
                  sl_rate_verdict *out)
{
    uint32_t rate = per_minute ? per_minute : 1;
    pthread_mutex_lock(&t->lock);
    rate_entry *e = entry_of(t, key_id, rate, now_ms);
    refill(e, now_ms);
    bool allowed = e->units >= UNITS_PER_TOKEN;
    if (allowed)
        e->units -= UNITS_PER_TOKEN;
    verdict_of(e, allowed, now_ms, out);
    pthread_mutex_unlock(&t->lock);
}
