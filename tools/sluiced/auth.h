/* auth.h: who may do what: API keys, scopes, topic limits, rate limits.
 *
 * The daemon owns one sl_auth (server.c). Both transports ask it about every
 * decoded request before it runs: the nng slots (token from the request's
 * "key" field; requests that came through an ipc:// listener are trusted,
 * the socket file's permissions guard them) and the HTTP API (token from
 * X-API-Key or "Authorization: Bearer"; rate-limited per key).
 *
 * When auth is off every request is allowed. It is on when the config says
 * "auth = on", or says "auto" (the default) and some listener (nng or HTTP)
 * is not loopback-only. Scopes per op and what topic limits mean: see
 * core/apikey.h and proto/PROTOCOL.md, "Authentication".
 *
 * Thread-safe: any thread may call sl_auth_check at any time.
 */
#ifndef SLUICE_SLUICED_AUTH_H
#define SLUICE_SLUICED_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "core/apikey.h"
#include "core/error.h"
#include "core/slice.h"
#include "core/store.h"
#include "proto/request.h"

typedef struct sl_auth sl_auth;

/* Create the auth state for store (borrowed; must outlive it). enabled:
 * whether keys are required. *out is owned by the caller (sl_auth_free).
 * SL_ERR_NOMEM. */
sl_err sl_auth_new(sl_store *store, bool enabled, sl_auth **out);
void sl_auth_free(sl_auth *a);
bool sl_auth_enabled(const sl_auth *a);

typedef struct sl_auth_result {
    int status;                       /* 0: allowed; 401 (no key, unknown key),
                                         403 (scope or topic), 429 (rate limit),
                                         503 (storage error while checking) */
    const char *code;                 /* wire code: "unauthorized", "forbidden",
                                         "rate_limited", "storage_error"; NULL when 0 */
    char message[192];                /* for humans; never contains the token */
    char field[64];                   /* a field to blame (e.g. "events[2].topic"), or "" */
    long long index;                  /* publish: the event to blame, else -1 */
    char key_id[SL_APIKEY_ID_LEN + 1];/* the key used, "" if none or auth is off */
    bool rate_limited;                /* the rate fields below are set */
    uint32_t rate_limit;              /* X-RateLimit-Limit: requests per minute */
    uint32_t rate_remaining;          /* X-RateLimit-Remaining */
    uint64_t rate_reset_s;            /* X-RateLimit-Reset: Unix seconds when the
                                         bucket is full again */
    uint64_t retry_after_s;           /* 429: Retry-After (seconds, >= 1) */
} sl_auth_result;

/* May a request carrying token (len 0: none) do req? apply_rate: take one
 * token from the key's bucket (the HTTP API). now_ms: wall clock. Fills
 * *out; out->status 0 means go on. When auth is off: status 0, nothing
 * else set. */
void sl_auth_check(sl_auth *a, sl_slice token, const sl_request *req, bool apply_rate,
                   uint64_t now_ms, sl_auth_result *out);

/* The checks that need only the token and the op: a token is there and is
 * a live key (401), its rate bucket has a token when apply_rate (429), it
 * has the op's scope (403); not the topic limits, which need the decoded
 * request. The HTTP API runs this before it reads a body, so a request
 * without a valid key is refused before any of its body is parsed, and a
 * key's rate counts every request, malformed ones too; then sl_auth_check
 * without the rate on the decoded request. Fills *out like sl_auth_check. */
void sl_auth_check_op(sl_auth *a, sl_slice token, sl_op op, bool apply_rate, uint64_t now_ms,
                      sl_auth_result *out);

/* The scope bit op needs (SL_SCOPE_* of core/apikey.h); 0: any valid key
 * (ping). */
uint32_t sl_auth_scope_of(sl_op op);

#endif
