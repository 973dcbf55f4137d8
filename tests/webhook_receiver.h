/* webhook_receiver.h: a real HTTP/1.1 server on 127.0.0.1 for the webhook
 * tests: it records every request and verifies both webhook signatures with
 * its own code (OpenSSL HMAC, independent of tools/sluice-bridge).
 *
 * Threads: one accepting, one per connection (at most WHR_CONN_MAX;
 * keep-alive supported; an idle connection is closed after WHR_IDLE_MS).
 * Every wait is bounded; whr_stop wakes and joins them all within about
 * 100 ms, even in the middle of a stall. All calls are thread-safe (one
 * mutex and one condition variable).
 *
 * Behaviour is scripted per request path (the target without its query):
 * a queue of one-shot behaviours, used first, in order, then the path's
 * default, else 200 with an empty body. A stall sleeps before answering (so
 * the client times out); a drop closes the connection without an answer.
 * Responses may also carry a Location header, padding headers (a huge
 * head) or a large 'x' body, sent whole or cut short after a stall (a body
 * that never ends in time). The request is recorded on arrival, before the
 * stall or drop.
 *
 * Limits: a head of up to WHR_HEAD_MAX bytes (else 431), a body of up to
 * WHR_BODY_MAX with Content-Length (else 413; Transfer-Encoding gets 501),
 * "Expect: 100-continue" honoured, WHR_PATHS_MAX paths (requests to more are
 * answered 200 and not recorded), WHR_RECORDS_MAX requests kept per path.
 */
#ifndef SLUICE_TESTS_WEBHOOK_RECEIVER_H
#define SLUICE_TESTS_WEBHOOK_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WHR_SECRETS_MAX 4
#define WHR_SECRET_MAX 128         /* bytes of one secret */
#define WHR_PATH_MAX 256
#define WHR_VALUE_MAX 384          /* a named header's value kept (longer: cut) */
#define WHR_RETRY_AFTER_MAX 64
#define WHR_RESPONSE_MAX 2048      /* response body bytes */
#define WHR_HEAD_MAX 65536
#define WHR_BODY_MAX (8u << 20)
#define WHR_PATHS_MAX 64
#define WHR_QUEUE_MAX 64           /* one-shot behaviours queued per path */
#define WHR_RECORDS_MAX 100000
#define WHR_CONN_MAX 64
#define WHR_IDLE_MS 15000
#define WHR_TOLERANCE_S 300        /* Standard Webhooks timestamp tolerance */

typedef struct whr_server whr_server;

/* How to answer one request. Strings are copied by the setters. */
typedef struct whr_behaviour {
    unsigned status;         /* 0: 200 */
    const char *retry_after; /* a Retry-After value to send; NULL: none */
    unsigned stall_ms;       /* sleep this long before answering */
    bool drop;               /* close the connection without answering (after the stall) */
    const char *body;        /* response body (text); NULL: empty */
    const char *location;    /* a Location header to send (redirects); NULL: none */
    size_t pad_headers;      /* about this many bytes of extra "X-Pad-<n>: xxx" header
                                lines (each under 1 KiB); 0: none */
    size_t body_bytes;       /* > 0: instead of body, announce Content-Length body_bytes
                                and send that many 'x' bytes... */
    unsigned body_stall_ms;  /* ...but when this is set, send only the first
                                min(body_bytes, 16 KiB), then wait this long (bounded,
                                woken by whr_stop) and close the connection */
} whr_behaviour;

/* One request as received. Owned by whoever got it from whr_get: free with
 * whr_request_free. Absent named headers are "". */
typedef struct whr_request {
    char path[WHR_PATH_MAX];
    char method[16];
    uint64_t arrival_ms;       /* monotonic, the clock of test_mono_ms */
    uint64_t arrival_wall_ms;  /* Unix ms */
    unsigned status;           /* what it was answered; 0: dropped */
    char x_webhook_id[WHR_VALUE_MAX];
    char x_webhook_event[WHR_VALUE_MAX];
    char x_webhook_timestamp[WHR_VALUE_MAX];
    char x_webhook_signature[WHR_VALUE_MAX];
    char x_webhook_attempt[WHR_VALUE_MAX];
    char webhook_id[WHR_VALUE_MAX];
    char webhook_timestamp[WHR_VALUE_MAX];
    char webhook_signature[WHR_VALUE_MAX];
    char user_agent[WHR_VALUE_MAX];
    char content_type[WHR_VALUE_MAX];
    unsigned seed_ok;          /* bit i: secret i has a matching "sha256=" entry in
                                  X-Webhook-Signature (over X-Webhook-Timestamp.body) */
    unsigned v1_ok;            /* bit i: secret i has a matching "v1," entry in
                                  webhook-signature (webhook-timestamp within
                                  WHR_TOLERANCE_S of the arrival) */
    char *headers;             /* every header: "name\0value\0" pairs (owned) */
    size_t headers_len;
    char *body;                /* the body, NUL-terminated (owned; never NULL) */
    size_t body_len;
} whr_request;

/* Start on 127.0.0.1, an ephemeral port. 0 and *out, or -1. */
int whr_start(whr_server **out);

/* Stop: close the listener, wake and join every thread, free everything.
 * NULL is fine. */
void whr_stop(whr_server *s);

/* The port, and "http://127.0.0.1:<port><path>" into buf (cap bytes).
 * whr_url returns 0, or -1 when buf is too small. */
int whr_port(const whr_server *s);
int whr_url(const whr_server *s, const char *path, char *buf, size_t cap);

/* The default behaviour of path (replacing the previous). 0 or -1 (too many
 * paths, path too long). */
int whr_set_default(whr_server *s, const char *path, const whr_behaviour *b);

/* Queue a one-shot behaviour for the next request of path that finds the
 * queue at it. 0 or -1 (queue full, too many paths). */
int whr_push(whr_server *s, const char *path, const whr_behaviour *b);

/* The secrets (0..WHR_SECRETS_MAX, each "whsec_..." or any string for the
 * seeds' scheme) to verify requests to path with, from now on; bit i of
 * seed_ok / v1_ok refers to secrets[i]. 0 or -1. */
int whr_set_secrets(whr_server *s, const char *path, const char *const *secrets, size_t n);

/* Requests recorded for path so far. */
size_t whr_count(whr_server *s, const char *path);

/* Wait until whr_count(path) >= n, at most timeout_ms. True when reached. */
bool whr_wait(whr_server *s, const char *path, size_t n, unsigned timeout_ms);

/* A copy of request i (0 = the first) of path, or NULL (no such request,
 * out of memory). */
whr_request *whr_get(whr_server *s, const char *path, size_t i);

void whr_request_free(whr_request *r);

/* The value of the first header called name (case-insensitive) of r, or
 * NULL. Borrowed from r. */
const char *whr_header(const whr_request *r, const char *name);

#endif
