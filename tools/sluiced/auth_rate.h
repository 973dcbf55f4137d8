/* auth_rate.h: the per-key token buckets of the HTTP API's rate limits.
 *
 * One bucket per API key id: capacity rate_per_minute tokens, refilled at
 * rate_per_minute / 60 tokens per second; each request takes one. Integer
 * arithmetic in 1/60000ths of a token (a bucket gains exactly rate units per
 * ms): exact, no drift. Time is the caller's wall clock in ms (a clock going
 * backwards adds nothing).
 *
 * The table is owned by sl_auth (auth.c), allocated once and bounded: a
 * fixed number of sets of a few entries each, the key id hashed to a set.
 * A key that is not in its set takes an empty entry, else one whose bucket
 * has filled up again (forgetting it changes nothing), else the one idle
 * longest. One mutex guards it; a call holds it for a few dozen
 * instructions. No allocation after sl_rate_table_new.
 */
#ifndef SLUICE_SLUICED_AUTH_RATE_H
#define SLUICE_SLUICED_AUTH_RATE_H

#include <stdbool.h>
#include <stdint.h>
#include "core/error.h"

typedef struct sl_rate_table sl_rate_table;

/* What one request's take found. */
typedef struct sl_rate_verdict {
    bool allowed;            /* a token was taken: the request may go */
    uint32_t limit;          /* requests per minute (the capacity) */
    uint32_t remaining;      /* whole tokens left after this request */
    uint64_t reset_s;        /* Unix seconds when the bucket is full again */
    uint64_t retry_after_s;  /* !allowed: seconds until a token is there (>= 1); else 0 */
} sl_rate_verdict;

/* A new, empty table. *out is the caller's (sl_rate_table_free).
 * SL_ERR_NOMEM, SL_ERR_STORAGE (the mutex would not initialise). */
sl_err sl_rate_table_new(sl_rate_table **out);

/* Free t; NULL is ignored. No call may be running on it. */
void sl_rate_table_free(sl_rate_table *t);

/* Take one token from the bucket of key_id (NUL-terminated, at most
 * SL_APIKEY_ID_LEN bytes are used), whose limit is per_minute (0 counts as
 * 1), at now_ms. A key seen for the first time, or whose limit changed,
 * starts with a full bucket. Thread-safe. */
void sl_rate_take(sl_rate_table *t, const char *key_id, uint32_t per_minute, uint64_t now_ms,
                  sl_rate_verdict *out);

#endif
