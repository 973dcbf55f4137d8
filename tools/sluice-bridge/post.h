/* post.h: one webhook POST in flight (one delivery attempt of one event).
 *
 * A wh_post owns its libcurl easy handle, its header list, the JSON body and
 * the start of the response; the bridge (bridge.c) owns the wh_post (one
 * malloc per attempt: the bridge is not on the queue's hot path) from
 * wh_post_start until wh_post_free, which comes after the attempt's outcome
 * was reported to sluiced (the sl_webhook_attempt that wh_post_outcome fills
 * points into the post).
 *
 * The request: POST url, body {"id","type","created_at","data"}
 * (envelope.h), headers X-Webhook-Id / -Event / -Timestamp / -Signature /
 * -Attempt, webhook-id / -timestamp / -signature (signature.h, every live
 * secret), User-Agent sluice-webhooks/<version>, Content-Type
 * application/json, then the subscription's custom headers. No redirects
 * (a 3xx is an answer like any other: a failure), http and https only, the
 * target address checked by target_guard.h.
 *
 * The response: its status, Retry-After, and the first SL_WEBHOOK_BODY_KEEP
 * bytes of its body are kept. Once that much body is in, the transfer stops
 * (the status decides: a 2xx is a success however long the body would
 * have been), so a huge or never-ending body neither streams for the whole
 * timeout nor turns a 2xx into a timeout. A response head over
 * WH_POST_HEAD_MAX bytes stops the transfer too: a failure,
 * "headers_too_large".
 */
#ifndef SLUICE_BRIDGE_POST_H
#define SLUICE_BRIDGE_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "core/error.h"
#include "core/lease.h"
#include "core/webhook.h"
#include "proto/client.h"
#include "tools/common/json_buf.h"
#include "tools/sluice-bridge/signature.h"
#include "tools/sluice-bridge/target_guard.h"

#define WH_POST_HEAD_MAX (64u * 1024u) /* bytes of response head (all header lines) */

/* What a POST needs from its subscription (borrowed during wh_post_start). */
typedef struct wh_post_target {
    const char *url;                  /* NUL-terminated */
    const sl_slice *secrets;          /* nsecrets live secrets, current first */
    size_t nsecrets;
    const char *const *header_lines;  /* nheaders "Name: value" lines */
    size_t nheaders;
    uint64_t timeout_ms;
    bool allow_private;               /* the bridge's switch for private targets */
} wh_post_target;

typedef struct wh_post {
    CURL *easy;                          /* owned */
    struct curl_slist *headers;          /* owned */
    json_buf body;                       /* owned: the envelope */
    wh_target_guard guard;               /* the address check's state */
    char token[SL_TOKEN_LEN + 1];        /* the delivery's lease token */
    uint32_t attempt;                    /* the delivery's attempt number */
    uint64_t sent_ms;                    /* wall clock when it started */
    uint64_t started_us;                 /* monotonic start, for the latency */
    uint64_t lease_end_us;               /* monotonic: when sluiced's lease of the delivery
                                            (2 x timeout + 1 s from the pull) is over at
                                            the latest; a report after it is only "stale" */
    char response[SL_WEBHOOK_BODY_KEEP]; /* first bytes of the response body */
    size_t response_len;
    bool body_cut;                       /* the transfer was stopped once response was full */
    size_t head_bytes;                   /* response header bytes seen */
    bool head_too_large;                 /* stopped: more than WH_POST_HEAD_MAX of them */
    uint64_t retry_after_ms;             /* from a Retry-After header; 0: none */
    char error_text[CURL_ERROR_SIZE];    /* libcurl's message, for the log */
    bool start_failed;                   /* set by the bridge: it never went out */
    CURLcode result;                     /* set by the bridge from CURLMSG_DONE */
    uint64_t finished_us;                /* set by the bridge: monotonic end */
    void *owner;                         /* the bridge's endpoint; not used here */
    struct wh_post *prev, *next;         /* the bridge's list links; not used here */
} wh_post;

/* Build and configure the POST of delivery d to target; the caller then adds
 * p->easy to its multi handle. p must be zeroed. signer is borrowed during
 * the call. SL_ERR_NOMEM, SL_ERR_INVALID (a secret does not decode, no
 * secret, an unusable token). On failure call wh_post_free(p) all the same;
 * p->token is "" when the delivery's token was unusable (nothing can be
 * reported for it: its lease just ends), else p can be reported as a
 * failed attempt. */
sl_err wh_post_start(wh_post *p, wh_signer *signer, const wh_post_target *target,
                     const sl_client_delivery *d, uint64_t now_ms, uint64_t now_us);

/* The outcome of the finished (or never started) POST p as an attempt for
 * sl_webhook_report; a points into p. */
void wh_post_outcome(const wh_post *p, sl_webhook_attempt *a);

/* Release what p owns (the easy handle must be out of any multi handle).
 * Safe on a zeroed post. Does not free p itself. */
void wh_post_free(wh_post *p);

#endif
