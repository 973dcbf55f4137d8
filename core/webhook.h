/* webhook.h: webhook subscriptions (endpoints the bridge POSTs events to).
 *
 * A subscription is a consumer group named "_wh.<id>" (so its events are kept
 * while the endpoint is down or disabled, see group.h and lease.h) plus what
 * the bridge needs to deliver: target URL, signing secrets, retry schedule,
 * timeout, in-flight and rate limits, custom headers. The core also keeps
 * each subscription's delivery statistics and its attempt log
 * (delivery_log.h). Delivering itself (HTTP) is the bridge's work: it pulls
 * from the group, POSTs, and hands the outcomes to sl_webhook_report, which
 * acks, schedules the retry, dead-letters, disables and logs in the caller's
 * write transaction. Nothing about delivery state lives only in the bridge.
 *
 * Names reserved for the system start with '_': the group "_wh.<id>", and
 * the topic "_wh.<id>" that carries the "webhook.test" events of one
 * subscription (see sl_webhook_test_topic; a filter whose first segment is a
 * wildcard does not match topics whose first segment starts with '_').
 *
 * Views (sl_webhook_view) point into LMDB memory: valid until the
 * transaction ends or, in a write transaction, until the next write.
 */
#ifndef SLUICE_CORE_WEBHOOK_H
#define SLUICE_CORE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "event.h"
#include "group.h"
#include "slice.h"
#include "store.h"

#define SL_WEBHOOK_ID_LEN 19                     /* "wh_" + 16 lowercase hex */
#define SL_WEBHOOK_GROUP_PREFIX "_wh."           /* group and test topic: prefix + id */
#define SL_WEBHOOK_NAME_MAX 128
#define SL_WEBHOOK_DESC_MAX 1024
#define SL_WEBHOOK_URL_MAX 2048
#define SL_WEBHOOK_FILTERS_MAX (SL_FILTERS_MAX - 1) /* the group adds the test topic */
#define SL_WEBHOOK_RETRY_MAX SL_BACKOFF_MAX      /* entries of a retry schedule */
#define SL_WEBHOOK_HEADERS_MAX 16
#define SL_WEBHOOK_HEADER_NAME_MAX 64
#define SL_WEBHOOK_HEADER_VALUE_MAX 1024
#define SL_WEBHOOK_SECRETS_MAX 4                 /* live secrets kept during rotations */
#define SL_WEBHOOK_SECRET_LEN 50                 /* "whsec_" + base64 of 32 bytes */
#define SL_WEBHOOK_TIMEOUT_MAX_MS 300000
#define SL_WEBHOOK_IN_FLIGHT_MAX 1000
#define SL_WEBHOOK_RATE_MAX 100000               /* requests per second */
#define SL_WEBHOOK_OVERLAP_DEFAULT_MS 86400000   /* rotate-secret overlap: 24 h */
#define SL_WEBHOOK_BODY_KEEP 1024                /* response bytes kept per attempt */
#define SL_WEBHOOK_ERROR_MAX 64                  /* bytes of an attempt's error code */
#define SL_WEBHOOK_PAGE_MAX 1000

/* What a subscription is configured to do. Borrows every slice. */
typedef struct sl_webhook_config {
    sl_slice name;                               /* 1..SL_WEBHOOK_NAME_MAX bytes of UTF-8 */
    sl_slice description;                        /* 0..SL_WEBHOOK_DESC_MAX */
    sl_slice url;                                /* "http://" or "https://" + host..., no
                                                    spaces or controls, ..SL_WEBHOOK_URL_MAX */
    uint32_t nfilters;                           /* 1..SL_WEBHOOK_FILTERS_MAX */
    sl_slice filters[SL_WEBHOOK_FILTERS_MAX];    /* topic filters (topic.h) */
    bool active;                                 /* delivering; default true */
    uint32_t nretry;                             /* 0..SL_WEBHOOK_RETRY_MAX */
    uint64_t retry_ms[SL_WEBHOOK_RETRY_MAX];     /* delay before attempt 2, 3, ...;
                                                    default 30 s, 5 min, 30 min, 2 h;
                                                    each 1 ms..24 h; +-10% jitter applied */
    uint64_t timeout_ms;                         /* per request; default 10000; 1..SL_WEBHOOK_TIMEOUT_MAX_MS */
    uint32_t max_in_flight;                      /* default 16; 1..SL_WEBHOOK_IN_FLIGHT_MAX */
    uint32_t rate_limit;                         /* requests/s; 0 (default): none; ..SL_WEBHOOK_RATE_MAX */
    uint32_t disable_after;                      /* consecutive events that exhausted their
                                                    retries before auto-disable; default 5;
                                                    0: never */
    uint32_t nheaders;                           /* 0..SL_WEBHOOK_HEADERS_MAX */
    sl_header headers[SL_WEBHOOK_HEADERS_MAX];   /* custom headers: key 1..64 token chars,
                                                    not one the bridge sets (X-Webhook-*,
                                                    webhook-*, Content-Type, Content-Length,
                                                    User-Agent, Host, ...); value 0..1024
                                                    bytes without CR, LF or NUL */
} sl_webhook_config;

/* Bits of the given mask of sl_webhook_update: which fields to change. */
enum {
    SL_WEBHOOK_GIVEN_NAME = 1u << 0,
    SL_WEBHOOK_GIVEN_DESCRIPTION = 1u << 1,
    SL_WEBHOOK_GIVEN_URL = 1u << 2,
    SL_WEBHOOK_GIVEN_FILTERS = 1u << 3,
    SL_WEBHOOK_GIVEN_ACTIVE = 1u << 4,
    SL_WEBHOOK_GIVEN_RETRY = 1u << 5,
    SL_WEBHOOK_GIVEN_TIMEOUT = 1u << 6,
    SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT = 1u << 7,
    SL_WEBHOOK_GIVEN_RATE_LIMIT = 1u << 8,
    SL_WEBHOOK_GIVEN_DISABLE_AFTER = 1u << 9,
    SL_WEBHOOK_GIVEN_HEADERS = 1u << 10
};

typedef struct sl_webhook_secret {
    sl_slice secret;      /* "whsec_..." */
    uint64_t expires_ms;  /* 0: the current secret; else signs until then */
} sl_webhook_secret;

/* A stored subscription. */
typedef struct sl_webhook_view {
    char id[SL_WEBHOOK_ID_LEN + 1];              /* NUL-terminated */
    char group[SL_GROUP_NAME_MAX + 1];           /* "_wh.<id>" */
    sl_webhook_config config;                    /* config.active: delivering now */
    uint64_t created_ms;
    uint64_t updated_ms;
    sl_slice disabled_reason;                    /* "" when active; "manual", "gone"
                                                    (the endpoint answered 410) or
                                                    "failing" (auto-disable) */
    uint64_t disabled_ms;                        /* 0 when active */
    uint32_t consecutive_failures;               /* events in a row that exhausted retries */
    uint32_t nsecrets;                           /* live secrets, 1..SL_WEBHOOK_SECRETS_MAX */
    sl_webhook_secret secrets[SL_WEBHOOK_SECRETS_MAX]; /* newest (current) first; expired
                                                    ones (expires_ms <= now) left out */
} sl_webhook_view;

/* Latency histogram buckets: bucket i counts latencies below
 * 1 ms * 2^(i/4) (the last bucket counts everything above). */
#define SL_WEBHOOK_LATENCY_BUCKETS 96

typedef struct sl_webhook_stats {
    uint64_t attempts;        /* POSTs reported */
    uint64_t successes;       /* 2xx in time */
    uint64_t failures;        /* everything else */
    uint64_t dead;            /* events that exhausted their retries (to the DLQ) */
    uint32_t last_status;     /* HTTP status of the last attempt; 0: none / no response */
    char last_error[SL_WEBHOOK_ERROR_MAX + 1]; /* error code of the last attempt, "" if none */
    uint64_t last_attempt_ms; /* 0: never */
    uint64_t last_success_ms; /* 0: never */
    uint64_t latency_p50_us;  /* from the histogram (upper bound of the bucket); 0: no data */
    uint64_t latency_p99_us;
    uint64_t backlog;         /* events not yet delivered: group lag + waiting + in flight */
    uint64_t in_flight;       /* leased to a bridge now */
    uint64_t waiting;         /* waiting for a retry */
    uint64_t dlq_size;        /* dead letters held */
} sl_webhook_stats;

/* One delivery attempt's outcome, as the bridge reports it. Borrows slices. */
typedef struct sl_webhook_attempt {
    sl_slice token;           /* the lease token of the delivery (lease.h) */
    uint32_t http_status;     /* 0: no response */
    sl_slice error;           /* "" on a response; else a short code ("timeout",
                                 "connect", "tls", "refused_target", "dns", ...),
                                 cut to SL_WEBHOOK_ERROR_MAX */
    uint64_t latency_us;      /* request start to end */
    sl_slice body;            /* start of the response body, cut to SL_WEBHOOK_BODY_KEEP */
    uint64_t retry_after_ms;  /* from Retry-After on 429/503; 0: none */
    uint64_t sent_ms;         /* when the attempt started (Unix ms) */
} sl_webhook_attempt;

/* What sl_webhook_report made of one attempt. */
typedef enum sl_attempt_result {
    SL_ATTEMPT_DELIVERED = 0, /* 2xx: acked */
    SL_ATTEMPT_RETRY = 1,     /* failed: comes back at retry_at_ms */
    SL_ATTEMPT_DEAD = 2,      /* failed, schedule spent: moved to the DLQ */
    SL_ATTEMPT_DISABLED = 3,  /* 410 Gone: endpoint disabled, the event waits */
    SL_ATTEMPT_STALE = 4      /* the token no longer holds the event (its lease ended
                                 and it was redelivered, or it was settled): only logged */
} sl_attempt_result;

/* Stable wire name: "delivered", "retry", "dead", "disabled", "stale". */
const char *sl_attempt_result_name(sl_attempt_result r);

typedef struct sl_webhook_outcome {
    sl_attempt_result result;
    uint32_t attempt;         /* the attempt number of that delivery (1, 2, ...); 0 if the
                                 token does not decode or no longer names a pending
                                 delivery (SL_ATTEMPT_STALE) */
    uint64_t retry_at_ms;     /* SL_ATTEMPT_RETRY: when it is due again */
} sl_webhook_outcome;

/* Defaults as documented above; name and url empty, one filter ">". */
void sl_webhook_config_default(sl_webhook_config *cfg);

/* Validate cfg; on failure *field names the field ("url", "filters",
 * "headers", ...; static) and SL_ERR_INVALID is returned. */
sl_err sl_webhook_config_check(const sl_webhook_config *cfg, const char **field);

/* The group and the test topic of a subscription id: "_wh." + id. */
void sl_webhook_group_name(const char *id, char out[SL_GROUP_NAME_MAX + 1]);

/* True when s is a well-formed subscription id. */
bool sl_webhook_id_valid(sl_slice s);

/* Create a subscription and its group (starting at the latest event: only
 * events published from now on). A fresh random id goes to id_out and the
 * signing secret ("whsec_" + base64 of 32 random bytes) to secret_out: it is
 * returned this once (the bridge reads it with sl_webhook_get).
 * SL_ERR_INVALID (config), storage errors. */
sl_err sl_webhook_create(sl_txn *w, const sl_webhook_config *cfg, uint64_t now_ms,
                         char id_out[SL_WEBHOOK_ID_LEN + 1],
                         char secret_out[SL_WEBHOOK_SECRET_LEN + 1]);

/* Change the fields named by given (SL_WEBHOOK_GIVEN_*) to those of cfg and
 * keep the rest; the group follows (filters, limits). Re-activating through
 * update clears the disabled reason. SL_ERR_NOT_FOUND, SL_ERR_INVALID. */
sl_err sl_webhook_update(sl_txn *w, const char *id, const sl_webhook_config *cfg,
                         unsigned given, uint64_t now_ms);

/* Delete the subscription, its group (leases, dead letters), its stats and
 * its delivery log. SL_ERR_NOT_FOUND. */
sl_err sl_webhook_delete(sl_txn *w, const char *id);

/* Read one. SL_ERR_NOT_FOUND (also for a malformed id). */
sl_err sl_webhook_get(sl_txn *t, const char *id, uint64_t now_ms, sl_webhook_view *out);

typedef sl_err (*sl_webhook_cb)(void *ctx, const sl_webhook_view *v);

/* Subscriptions with id > after (NULL or "": from the first), in id order,
 * at most limit (1..SL_WEBHOOK_PAGE_MAX). next_after gets the id to pass for
 * the next page, "" when there are no more. A non-OK cb result stops the
 * walk and is returned. */
sl_err sl_webhook_list(sl_txn *t, const char *after, size_t limit, uint64_t now_ms,
                       sl_webhook_cb cb, void *ctx, char next_after[SL_WEBHOOK_ID_LEN + 1]);

/* Enable (clears the disabled reason) or disable (reason "manual").
 * SL_ERR_NOT_FOUND. */
sl_err sl_webhook_set_active(sl_txn *w, const char *id, bool active, uint64_t now_ms);

/* Clear the consecutive failure count and enable. SL_ERR_NOT_FOUND. */
sl_err sl_webhook_reset(sl_txn *w, const char *id, uint64_t now_ms);

/* New current secret (to secret_out, shown this once); the previous current
 * secret keeps signing until now_ms + overlap_ms (0: it stops at once).
 * Expired secrets are dropped; past SL_WEBHOOK_SECRETS_MAX the oldest go.
 * SL_ERR_NOT_FOUND, SL_ERR_INVALID (overlap over 30 days). */
sl_err sl_webhook_rotate_secret(sl_txn *w, const char *id, uint64_t overlap_ms,
                                uint64_t now_ms, char secret_out[SL_WEBHOOK_SECRET_LEN + 1]);

/* Statistics, with the backlog from the group. SL_ERR_NOT_FOUND. */
sl_err sl_webhook_get_stats(sl_txn *t, const char *id, sl_webhook_stats *out);

/* Apply n (1..SL_SETTLE_BATCH_MAX) attempt outcomes of subscription id, in
 * order, in w: a 2xx without error acks; a 410 disables the subscription
 * ("gone") and puts the event back to wait; any other failure of attempt k
 * nacks with delay retry_ms[k-1] +-10% (at least retry_after_ms) while k <=
 * nretry, else terminates it into the DLQ and counts a consecutive failure
 * (disable_after of them in a row disable the subscription: "failing"); a
 * success resets that count. Every attempt is appended to the delivery log
 * and counted in the stats. A token that no longer holds its event (see
 * SL_ATTEMPT_STALE) or is not one of this subscription's settles nothing:
 * SL_ATTEMPT_STALE, still logged and counted (a 410 still disables, a 2xx
 * still resets the count). The attempt number is the lease's (sl_delivery.
 * attempt): a delivery whose lease ended unreported (a bridge crash) counts
 * too, but the group allows a few of those beyond the schedule before its
 * own limit dead-letters (core/FORMAT.md). A 410 on the group's last allowed
 * delivery dead-letters the event (replayable with sl_webhook_retry).
 * out must hold n entries. SL_ERR_NOT_FOUND for an unknown subscription,
 * SL_ERR_INVALID (n 0, NULL slices), SL_ERR_TOO_LARGE (n over the limit, or
 * the delivery log's entry ids used up), SL_ERR_CORRUPT (a record involved
 * does not decode), storage errors (SL_ERR_MAP_FULL: abort w, grow, report
 * again). The group record is written once per call, however many
 * attempts. */
sl_err sl_webhook_report(sl_txn *w, const char *id, const sl_webhook_attempt *attempts,
                         size_t n, uint64_t now_ms, sl_webhook_outcome *out);

/* Deliver one failed event again now: a dead letter of the subscription is
 * replayed, an event waiting for its next retry becomes due at once.
 * SL_ERR_NOT_FOUND when the subscription is unknown or the event is neither. */
sl_err sl_webhook_retry(sl_txn *w, const char *id, uint64_t seq, uint64_t now_ms);

#endif
