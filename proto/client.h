/* client.h: the C client library of sluice (wire protocol: proto/PROTOCOL.md).
 *
 * One sl_client talks to one server URL. For tcp:// and ipc:// it keeps a
 * pool of connections that speak REQ's wire format over nng streams
 * (client_pool.h; PROTOCOL.md says why); for tls+tcp://, ws:// and wss:// it
 * holds one nng REQ socket with one dialer. Every operation of the protocol
 * has one blocking function here; each call borrows its own connection (or
 * its own nng context), so any number of threads may share one client.
 *
 * Ownership, one scheme everywhere: every call fills a caller-provided
 * sl_client_result. Whatever the outcome, the caller releases it with
 * sl_client_result_free() (safe on a zeroed or already freed result). Every
 * slice and array reachable from a result points into memory the result owns
 * (the reply bytes and the decoded arrays) and stays valid until that free.
 * Slices are not NUL-terminated. Request arguments are only borrowed during
 * the call. A call overwrites *res without freeing it: free a result before
 * passing it to another call.
 *
 * Errors: every call returns an sl_client_status; SL_CLIENT_OK (zero) means
 * the server answered {"ok": true} and the reply decoded. Otherwise
 * res->error says what happened, per call (no global state):
 *   SL_CLIENT_ERR_SERVER     the server answered {"ok": false}: code is the
 *                            wire code ("not_found", ...), message, field and
 *                            index are copied from the reply.
 *   SL_CLIENT_ERR_TRANSPORT  no reply: code is one of
 *                            "unavailable"     not connected (refused, no route,
 *                                              nothing listening, never connected
 *                                              before the timeout),
 *                            "timeout"         connected, no reply in time,
 *                            "connection_lost" the connection dropped after the
 *                                              request was sent: it may or may not
 *                                              have been applied,
 *                            "closed"          the client was closed,
 *                            "transport"       any other nng failure (nng_error).
 *   SL_CLIENT_ERR_BAD_REPLY  code "bad_reply": the reply is not one well-formed
 *                            msgpack map of the documented shape.
 *   SL_CLIENT_ERR_ARGUMENT   code "invalid_argument": a NULL where something is
 *                            required, a count that overflows, an unusable URL or
 *                            option. The library does not check protocol limits
 *                            (topic syntax, batch sizes...): the server does, so
 *                            tests can send what they like.
 *   SL_CLIENT_ERR_NOMEM      code "no_memory": a local allocation failed.
 * Strings in sl_client_error are NUL-terminated copies, cut to fit.
 *
 * Timeouts: each call may take up to the client's timeout_ms to get its
 * request onto a connection and again up to timeout_ms (plus wait_ms for
 * pull) for the reply. Requests are never resent (publishes are not
 * idempotent without a key, long-polls would pile up): when the connection
 * carrying a request drops, the call ends at once with "connection_lost".
 * (On the REQ socket NNG_OPT_REQ_RESENDTIME is infinite, and nng 1.5.2 then
 * fails the call with NNG_ECONNRESET rather than resending it.) A connection
 * that timed out or failed is closed, never reused.
 *
 * The encoders (sl_client_encode_*) and the decoder (sl_client_decode_reply)
 * are the very functions the calls use; they need no network, so tests and
 * asynchronous callers can use them directly.
 *
 * The webhook operations (webhook.*) follow the same scheme; their calls and
 * encoders are declared in proto/client_webhook.h, their reply shapes and
 * result members here.
 */
#ifndef SLUICE_PROTO_CLIENT_H
#define SLUICE_PROTO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "core/group.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/slice.h"
#include "core/webhook.h"

#define SL_CLIENT_DEFAULT_URL "tcp://127.0.0.1:7450"
#define SL_CLIENT_DEFAULT_TIMEOUT_MS 10000
#define SL_CLIENT_DEFAULT_MAX_REPLY (64u * 1024u * 1024u)
#define SL_CLIENT_CODE_MAX 64      /* bytes of sl_client_error.code, NUL included */
#define SL_CLIENT_MESSAGE_MAX 512  /* bytes of sl_client_error.message, NUL included */
#define SL_CLIENT_FIELD_MAX 256    /* bytes of sl_client_error.field, NUL included */

/* ---- status and error --------------------------------------------------- */

typedef enum sl_client_status {
    SL_CLIENT_OK = 0,
    SL_CLIENT_ERR_SERVER,    /* the server replied with an error */
    SL_CLIENT_ERR_TRANSPORT, /* no reply: unavailable, timeout, connection lost, closed */
    SL_CLIENT_ERR_BAD_REPLY, /* the reply is malformed */
    SL_CLIENT_ERR_ARGUMENT,  /* the caller passed something unusable */
    SL_CLIENT_ERR_NOMEM      /* a local allocation failed */
} sl_client_status;

typedef struct sl_client_error {
    sl_client_status status;              /* same as the call's return value */
    char code[SL_CLIENT_CODE_MAX];        /* wire code, or a transport/local code; "" when OK */
    char message[SL_CLIENT_MESSAGE_MAX];  /* for humans; "" when OK */
    char field[SL_CLIENT_FIELD_MAX];      /* server: the field to blame, or "" */
    bool has_index;                       /* server: index is set (publish: the failing event) */
    uint64_t index;                       /* server: the failing event's index in the batch */
    int nng_error;                        /* transport: the nng error number; else 0 */
} sl_client_error;

/* Name of a status ("ok", "server", "transport", "bad_reply", "argument",
 * "no_memory"). Static storage. */
const char *sl_client_status_name(sl_client_status st);

/* ---- operations ----------------------------------------------------------- */

typedef enum sl_client_op {
    SL_CLIENT_OP_NONE = 0,
    SL_CLIENT_OP_PING,
    SL_CLIENT_OP_PUBLISH,
    SL_CLIENT_OP_PULL,
    SL_CLIENT_OP_ACK,
    SL_CLIENT_OP_NACK,
    SL_CLIENT_OP_EXTEND,
    SL_CLIENT_OP_TERM,
    SL_CLIENT_OP_GROUP_CREATE,
    SL_CLIENT_OP_GROUP_UPDATE,
    SL_CLIENT_OP_GROUP_GET,
    SL_CLIENT_OP_GROUP_LIST,
    SL_CLIENT_OP_GROUP_DELETE,
    SL_CLIENT_OP_TOPICS,
    SL_CLIENT_OP_LOG_READ,
    SL_CLIENT_OP_DLQ_LIST,
    SL_CLIENT_OP_DLQ_GET,
    SL_CLIENT_OP_DLQ_REPLAY,
    SL_CLIENT_OP_DLQ_PURGE,
    SL_CLIENT_OP_STATS,
    SL_CLIENT_OP_WEBHOOK_CREATE,        /* the webhook operations: proto/client_webhook.h */
    SL_CLIENT_OP_WEBHOOK_UPDATE,
    SL_CLIENT_OP_WEBHOOK_GET,
    SL_CLIENT_OP_WEBHOOK_DELETE,
    SL_CLIENT_OP_WEBHOOK_ENABLE,
    SL_CLIENT_OP_WEBHOOK_DISABLE,
    SL_CLIENT_OP_WEBHOOK_RESET,
    SL_CLIENT_OP_WEBHOOK_LIST,
    SL_CLIENT_OP_WEBHOOK_ROTATE_SECRET,
    SL_CLIENT_OP_WEBHOOK_TEST,
    SL_CLIENT_OP_WEBHOOK_STATS,
    SL_CLIENT_OP_WEBHOOK_DELIVERIES,
    SL_CLIENT_OP_WEBHOOK_RETRY,
    SL_CLIENT_OP_WEBHOOK_EVENT_TYPES,
    SL_CLIENT_OP_WEBHOOK_TARGETS,
    SL_CLIENT_OP_WEBHOOK_REPORT,
    SL_CLIENT_OP_KEYS_CREATE,           /* the API key operations: proto/client_keys.h */
    SL_CLIENT_OP_KEYS_GET,
    SL_CLIENT_OP_KEYS_LIST,
    SL_CLIENT_OP_KEYS_REVOKE,
    SL_CLIENT_OP_RAW           /* sl_client_call_raw: bytes, not decoded */
} sl_client_op;

/* The wire name of op ("ping", "group.create", ...); "" for NONE and RAW.
 * Static storage. */
const char *sl_client_op_name(sl_client_op op);

/* ---- decoded reply shapes (all memory owned by the sl_client_result) ------ */

/* An Event of PROTOCOL.md. */
typedef struct sl_client_event {
    uint64_t seq;             /* sequence in the log */
    uint64_t ts_ms;           /* server append time, Unix ms */
    sl_slice id;              /* "evt_" + 32 hex */
    sl_slice topic;
    sl_slice payload;         /* the bytes as published (bin or str on the wire) */
    sl_slice content_type;    /* len 0 when absent */
    const sl_header *headers; /* nheaders entries; NULL when none */
    size_t nheaders;
} sl_client_event;

/* A Delivery of a pull reply. */
typedef struct sl_client_delivery {
    sl_client_event event;    /* the event delivered */
    uint32_t attempt;         /* 1 for the first delivery to this group */
    sl_slice token;           /* ack token of this delivery (32 hex) */
    uint64_t lease_until_ms;  /* when the lease ends unless extended */
} sl_client_delivery;

/* One result of a publish, in the order of the events sent. */
typedef struct sl_client_published {
    uint64_t seq;             /* the event's sequence (the original one when duplicate) */
    uint64_t ts_ms;           /* its append time */
    sl_slice id;              /* its event id */
    bool duplicate;           /* the idempotency key was seen: nothing appended */
} sl_client_published;

/* A Group of PROTOCOL.md: configuration, cursor and counters. Keys other than
 * name, filters and start are read as 0 / empty when the server omits them. */
typedef struct sl_client_group {
    sl_slice name;
    const sl_slice *filters;      /* nfilters topic filters */
    size_t nfilters;
    sl_start_kind start;          /* EARLIEST, LATEST, SEQ or TIME */
    uint64_t start_value;         /* the sequence or Unix ms for SEQ / TIME */
    uint64_t ack_wait_ms;         /* lease length */
    uint64_t max_deliveries;      /* deliveries before dead-lettering */
    uint64_t max_inflight;        /* most events leased at once */
    const uint64_t *backoff_ms;   /* nbackoff redelivery delays; NULL when none */
    size_t nbackoff;
    uint64_t cursor;              /* next sequence the group has not looked at */
    uint64_t lag;                 /* matching events at or after the cursor */
    uint64_t in_flight;           /* leased now */
    uint64_t waiting;             /* waiting for redelivery */
    uint64_t delivered;           /* deliveries made */
    uint64_t redelivered;         /* of which repeated */
    uint64_t acked;               /* acks */
    uint64_t dlq_size;            /* dead letters held */
    uint64_t created_ms;          /* creation time, Unix ms */
} sl_client_group;

/* A DeadLetter of PROTOCOL.md. */
typedef struct sl_client_dead_letter {
    uint64_t seq;             /* the event's sequence */
    sl_slice id;              /* the event id */
    uint64_t attempts;        /* deliveries made before it died */
    uint64_t dead_at_ms;      /* when it was dead-lettered */
    sl_slice reason;          /* "max deliveries exceeded" or the term reason */
    bool has_event;           /* false when retention dropped the event */
    sl_client_event event;    /* the event, if has_event */
} sl_client_dead_letter;

/* The stats reply. */
typedef struct sl_client_stats {
    sl_slice version;         /* server version */
    uint64_t uptime_ms, events, bytes, first_seq, last_seq, next_seq, topics, groups;
    uint64_t map_bytes, used_bytes, quota_bytes, file_bytes; /* storage */
    uint64_t requests;        /* requests served since start */
    uint64_t publishes;       /* events appended since start */
    uint64_t parked_pulls;    /* long-polls waiting now */
    uint64_t commits;         /* LMDB commits since start (checkpoints included) */
    uint64_t journal_writes;  /* batches made durable by one journal write + fdatasync */
    uint64_t commit_requests; /* requests those commits and journal writes answered */
    uint64_t journal_us;      /* microseconds the journal writes took, syncs included */
    uint64_t checkpoint_us;   /* microseconds in LMDB commits, idle checkpoints included */
} sl_client_stats;

/* A Webhook of PROTOCOL.md (a webhook subscription), or a Target (the same
 * with its secrets, webhook.targets only). Keys other than id, name, url,
 * filters, active and group are read as 0 / empty when the server omits
 * them. */
typedef struct sl_client_webhook {
    sl_slice id;                      /* "wh_" + 16 hex */
    sl_slice name;
    sl_slice description;             /* len 0 when none */
    sl_slice url;                     /* http:// or https:// */
    const sl_slice *filters;          /* nfilters topic filters */
    size_t nfilters;
    bool active;                      /* delivering now */
    sl_slice disabled_reason;         /* "" when active; "manual", "gone" or "failing" */
    uint64_t disabled_ms;             /* when it was disabled; 0 when active */
    const uint64_t *retry_schedule_ms; /* nretry delays before attempts 2, 3, ...; NULL when none */
    size_t nretry;
    uint64_t timeout_ms;              /* per POST */
    uint64_t max_in_flight;           /* POSTs at once */
    uint64_t rate_limit;              /* POSTs per second; 0: none */
    uint64_t disable_after;           /* consecutive dead events before auto-disable; 0: never */
    const sl_header *headers;         /* nheaders custom headers; NULL when none */
    size_t nheaders;
    sl_slice group;                   /* the consumer group underneath, "_wh.<id>" */
    uint64_t consecutive_failures;    /* events in a row that exhausted their retries */
    size_t nsecrets;                  /* live signing secrets, current first */
    const uint64_t *secret_expires_ms; /* nsecrets expiries (0: does not expire); NULL for
                                         webhook.targets, whose reply carries no expiries */
    const sl_slice *secrets;          /* webhook.targets only: the nsecrets secrets
                                         ("whsec_..."); NULL for every other operation */
    uint64_t created_ms;
    uint64_t updated_ms;
} sl_client_webhook;

/* The WebhookStats of webhook.stats. */
typedef struct sl_client_webhook_stats {
    uint64_t attempts;         /* POSTs reported */
    uint64_t successes;        /* 2xx in time */
    uint64_t failures;         /* every other outcome */
    uint64_t dead;             /* events that exhausted their retries */
    uint64_t last_status;      /* HTTP status of the last attempt; 0: none or no response */
    sl_slice last_error;       /* error code of the last attempt; "" when none */
    uint64_t last_attempt_ms;  /* 0: never */
    uint64_t last_success_ms;  /* 0: never */
    uint64_t latency_p50_us;   /* histogram bucket upper bounds; 0: no data */
    uint64_t latency_p99_us;
    uint64_t backlog;          /* events not yet delivered: lag + waiting + in flight */
    uint64_t in_flight;        /* leased to a bridge now */
    uint64_t waiting;          /* waiting for a retry */
    uint64_t dlq_size;         /* dead letters held */
} sl_client_webhook_stats;

/* One delivery attempt of webhook.deliveries. */
typedef struct sl_client_webhook_attempt_entry {
    uint64_t entry;            /* paging cursor (increases with time) */
    uint64_t seq;              /* the event */
    sl_slice event_id;         /* its id */
    sl_slice topic;            /* its topic ("_wh.<id>" for test events) */
    uint32_t attempt;          /* 1, 2, ... */
    uint64_t time_ms;          /* when the attempt was sent */
    uint32_t http_status;      /* 0: no response */
    sl_slice error;            /* "" or a code: "timeout", "connect", "tls", ... */
    uint64_t latency_us;
    sl_slice body;             /* the first 1 KiB of the response */
    sl_attempt_result result;  /* parsed from its wire name ("delivered", "retry", ...) */
} sl_client_webhook_attempt_entry;

/* A Key of PROTOCOL.md ("API keys"): never its token. Keys other than id,
 * name and scopes are read as 0 / empty when the server omits them. */
typedef struct sl_client_apikey {
    sl_slice id;                      /* "key_" + 16 hex */
    sl_slice name;
    const sl_slice *scopes;           /* nscopes scope names ("*", "events:read", ...) */
    size_t nscopes;
    const sl_slice *topics;           /* ntopics topic patterns; NULL when none (every topic) */
    size_t ntopics;
    uint64_t rate_per_minute;         /* the key's rate limit */
    uint64_t created_ms;
} sl_client_apikey;

/* ---- the result of one call ------------------------------------------------ */

typedef struct sl_client_result {
    sl_client_op op;          /* the operation; tells which member below is set */
    sl_client_error error;    /* status OK, or what went wrong */
    union {
        struct { sl_slice version; uint64_t proto; uint64_t time_ms; } ping;
        struct { const sl_client_published *results; size_t n; } publish;
        /* pull; acked: with sl_client_pull_ack, one status per token acked */
        struct {
            const sl_client_delivery *deliveries;
            size_t n;
            const sl_token_status *acked;
            size_t nacked;
        } pull;
        /* ack, nack, extend, term: one status per token, in order */
        struct { const sl_token_status *status; size_t n; } settle;
        /* group.create, group.update, group.get */
        sl_client_group group;
        struct { const sl_client_group *groups; size_t n; } groups;
        /* topics: name slices point into the reply */
        struct { const sl_topic_info *topics; size_t n; } topics;
        struct { const sl_client_event *events; size_t n; uint64_t next_seq; } log;
        struct {
            const sl_client_dead_letter *dead_letters;
            size_t n;
            uint64_t next_after;
        } dlq_list;
        sl_client_dead_letter dead_letter;           /* dlq.get */
        /* dlq.replay (count: replayed) and dlq.purge (count: purged) */
        struct { uint64_t count; uint64_t remaining; } dlq_change;
        sl_client_stats stats;
        /* webhook.create, .update, .get, .enable, .disable, .reset,
         * .rotate_secret; secret: create and rotate_secret only (len 0 else),
         * the signing secret shown this once */
        struct { sl_client_webhook webhook; sl_slice secret; } webhook;
        /* webhook.list (entries without secrets) and webhook.targets (with
         * them); next_after: the after of the next page, len 0 at the end */
        struct { const sl_client_webhook *webhooks; size_t n; sl_slice next_after; } webhooks;
        /* webhook.test: the test event appended */
        struct { uint64_t seq; sl_slice event_id; } webhook_test;
        sl_client_webhook_stats webhook_stats;       /* webhook.stats */
        /* webhook.deliveries, newest first; next_before 0 when no more */
        struct {
            const sl_client_webhook_attempt_entry *entries;
            size_t n;
            uint64_t next_before;
        } webhook_deliveries;
        /* webhook.event_types: topics by name */
        struct { const sl_slice *types; size_t n; } event_types;
        /* webhook.report: one outcome per attempt sent, in order */
        struct { const sl_webhook_outcome *outcomes; size_t n; } webhook_report;
        /* keys.create, keys.get; token: create only (len 0 else), the key's
         * secret, returned this once */
        struct { sl_client_apikey key; sl_slice token; } apikey;
        /* keys.list; next_after: the after of the next page, len 0 at the end */
        struct { const sl_client_apikey *keys; size_t n; sl_slice next_after; } apikeys;
        /* call_raw: the reply bytes exactly as received, not checked */
        struct { const void *data; size_t len; } raw;
    };
    void *reply_;             /* private: the owned reply (nng_msg or malloc'd copy) */
    bool reply_is_msg_;       /* private: reply_ is an nng_msg */
    void *zone_;              /* private: decode memory (msgpack_zone) */
} sl_client_result;

/* Release everything res owns and zero it. Safe on a zeroed result and twice. */
void sl_client_result_free(sl_client_result *res);

/* ---- opening and closing ---------------------------------------------------- */

typedef struct sl_client sl_client;

/* Options; a zeroed struct (or NULL) means every default. */
typedef struct sl_client_options {
    uint64_t timeout_ms;          /* per request; 0: SL_CLIENT_DEFAULT_TIMEOUT_MS (10 s) */
    const char *tls_ca_file;      /* PEM CA file to verify the server; required for
                                     tls+tcp:// and wss://. Borrowed during open. */
    const char *tls_server_name;  /* name the certificate must carry; NULL: the URL's host */
    bool lazy_connect;            /* false: open dials once, blocking, and fails with
                                     "unavailable" when nothing answers; true: open
                                     returns at once and the first call connects
                                     (waiting up to timeout_ms for a connection) */
    size_t max_reply_bytes;       /* a larger reply drops the connection (the call
                                     ends "connection_lost"); 0: 64 MiB */
    const char *api_key;          /* NULL or "": none; else every call's request
                                     carries it as "key" (PROTOCOL.md,
                                     "Authentication"; not sl_client_call_raw nor
                                     the sl_client_encode_* functions). Copied at open. */
} sl_client_options;

/* Open a client for url (tcp://, ipc://, ws://, tls+tcp://, wss://).
 * On SL_CLIENT_OK *out is the caller's: close it with sl_client_close().
 * The first connection: see lazy_connect. With the default (blocking) dial
 * the wait is bounded by timeout_ms for tcp:// and ipc://, and by the
 * operating system's connect timeout for the others. Later, a lost
 * connection is redialed: for tcp:// and ipc:// by the next call that needs
 * a connection (dialing again, with growing pauses, until its timeout);
 * for the others in the background. err may be NULL; else it gets the error details.
 * Errors: ARGUMENT (NULL url/out, unknown scheme, bad address, TLS without a
 * CA file or with an unreadable one), TRANSPORT "unavailable" (refused,
 * unreachable), NOMEM. */
sl_client_status sl_client_open(const char *url, const sl_client_options *opt,
                                sl_client **out, sl_client_error *err);

/* Close the client. No call may be running on it (from any thread).
 * NULL is ignored. */
void sl_client_close(sl_client *c);

/* The timeout the client was opened with, in ms. */
uint64_t sl_client_timeout_ms(const sl_client *c);

/* ---- one function per operation ------------------------------------------------
 * Each returns the status (also in res->error.status) and fills *res, which the
 * caller must free with sl_client_result_free() whatever the status. Strings
 * given as const char * must be NUL-terminated; NULL is ARGUMENT unless said
 * otherwise. */

/* ping: res->ping. */
sl_client_status sl_client_ping(sl_client *c, sl_client_result *res);

/* publish n events (the protocol allows 1..1000; any n is sent as is):
 * res->publish, one result per event in order. A server error caused by one
 * event carries error.index (and error.field, e.g. "events[3].topic"). */
sl_client_status sl_client_publish(sl_client *c, const sl_event_in *events, size_t n,
                                   sl_client_result *res);

/* pull up to max (0: omitted, the server's default of 1) deliveries of
 * group, long-polling up to wait_ms: res->pull. The reply may take up to
 * timeout_ms + wait_ms. */
sl_client_status sl_client_pull(sl_client *c, const char *group, uint32_t max,
                                uint64_t wait_ms, sl_client_result *res);

/* Ack n tokens (of earlier deliveries) and pull the next batch, in one
 * request and one commit: the fast consumer loop. res->pull as for
 * sl_client_pull, plus res->pull.acked: one status per token, in order. */
sl_client_status sl_client_pull_ack(sl_client *c, const char *group, uint32_t max,
                                    uint64_t wait_ms, const sl_slice *acks, size_t nacks,
                                    sl_client_result *res);

/* Settle n tokens: res->settle, one status per token in order (a reply with
 * another count is BAD_REPLY; so is a publish reply with a result count other
 * than n). */
sl_client_status sl_client_ack(sl_client *c, const char *group, const sl_slice *tokens,
                               size_t n, sl_client_result *res);
/* nack: delay_ms SL_DELAY_DEFAULT omits the field (the group's backoff);
 * reason NULL omits it. */
sl_client_status sl_client_nack(sl_client *c, const char *group, const sl_slice *tokens,
                                size_t n, uint64_t delay_ms, const char *reason,
                                sl_client_result *res);
/* extend: lease_ms SL_DELAY_DEFAULT omits the field (the group's ack wait). */
sl_client_status sl_client_extend(sl_client *c, const char *group, const sl_slice *tokens,
                                  size_t n, uint64_t lease_ms, sl_client_result *res);
/* term: reason NULL omits it. */
sl_client_status sl_client_term(sl_client *c, const char *group, const sl_slice *tokens,
                                size_t n, const char *reason, sl_client_result *res);

/* Which fields of an sl_group_config a group.create / group.update sends.
 * cfg->name is always sent. Fields not sent take the server's default
 * (create) or keep their value (update). START is sent as given; the server
 * ignores it on update. */
#define SL_CLIENT_GROUP_FILTERS (1u << 0)        /* nfilters, filters */
#define SL_CLIENT_GROUP_START (1u << 1)          /* start, start_value (SEQ/TIME only) */
#define SL_CLIENT_GROUP_ACK_WAIT (1u << 2)       /* ack_wait_ms */
#define SL_CLIENT_GROUP_MAX_DELIVERIES (1u << 3) /* max_deliveries */
#define SL_CLIENT_GROUP_MAX_INFLIGHT (1u << 4)   /* max_inflight */
#define SL_CLIENT_GROUP_BACKOFF (1u << 5)        /* nbackoff, backoff_ms (0 entries: clears) */
#define SL_CLIENT_GROUP_ALL 0x3fu

/* group.create / group.update: res->group. cfg is borrowed; its strings must
 * be NUL-terminated within their arrays (ARGUMENT otherwise). */
sl_client_status sl_client_group_create(sl_client *c, const sl_group_config *cfg,
                                        unsigned mask, sl_client_result *res);
sl_client_status sl_client_group_update(sl_client *c, const sl_group_config *cfg,
                                        unsigned mask, sl_client_result *res);
/* group.get: res->group. */
sl_client_status sl_client_group_get(sl_client *c, const char *name, sl_client_result *res);
/* group.list: res->groups. */
sl_client_status sl_client_group_list(sl_client *c, sl_client_result *res);
/* group.delete: no result fields. */
sl_client_status sl_client_group_delete(sl_client *c, const char *name,
                                        sl_client_result *res);

/* topics: res->topics. */
sl_client_status sl_client_topics(sl_client *c, sl_client_result *res);

/* Where log.read starts. */
typedef enum sl_client_log_from {
    SL_CLIENT_LOG_OLDEST = 0, /* no from field: the oldest retained event */
    SL_CLIENT_LOG_SEQ = 1,    /* from_seq = value */
    SL_CLIENT_LOG_TIME = 2    /* from_time_ms = value */
} sl_client_log_from;

/* log.read: res->log. max 0 omits it (the server's default of 100). */
sl_client_status sl_client_log_read(sl_client *c, sl_client_log_from from, uint64_t value,
                                    uint32_t max, sl_client_result *res);

/* dlq.list: res->dlq_list. limit 0 omits it (the server's default of 100). */
sl_client_status sl_client_dlq_list(sl_client *c, const char *group, uint64_t after_seq,
                                    uint32_t limit, sl_client_result *res);
/* dlq.get: res->dead_letter. */
sl_client_status sl_client_dlq_get(sl_client *c, const char *group, uint64_t seq,
                                   sl_client_result *res);
/* dlq.replay / dlq.purge: all=true sends "all": true (seqs ignored), else
 * the n seqs. res->dlq_change. */
sl_client_status sl_client_dlq_replay(sl_client *c, const char *group, const uint64_t *seqs,
                                      size_t n, bool all, sl_client_result *res);
sl_client_status sl_client_dlq_purge(sl_client *c, const char *group, const uint64_t *seqs,
                                     size_t n, bool all, sl_client_result *res);

/* stats: res->stats. */
sl_client_status sl_client_stats_get(sl_client *c, sl_client_result *res);

/* Send len arbitrary bytes as one request and take whatever single message
 * comes back: res->op is RAW and res->raw holds the reply bytes, unchecked.
 * timeout_ms 0: the client's timeout. OK means a reply arrived, whatever it
 * says. len 0 is allowed (an empty message). */
sl_client_status sl_client_call_raw(sl_client *c, const void *req, size_t len,
                                    uint64_t timeout_ms, sl_client_result *res);

/* ---- encoders: requests without a network ----------------------------------- */

/* A growable byte buffer. Zero it before first use; the encoders append one
 * request each. Free with sl_client_buf_free(). */
typedef struct sl_client_buf {
    char *data;   /* len bytes; owned (malloc) */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
} sl_client_buf;

void sl_client_buf_free(sl_client_buf *b);

/* Each appends one complete request ({"v": 1, "op": ..., fields}) to out.
 * Arguments as for the matching sl_client_* call. Returns OK, ARGUMENT (NULL
 * where something is required) or NOMEM; on error out->len is unchanged. */
sl_client_status sl_client_encode_ping(sl_client_buf *out);
sl_client_status sl_client_encode_publish(sl_client_buf *out, const sl_event_in *events,
                                          size_t n);
sl_client_status sl_client_encode_pull(sl_client_buf *out, const char *group, uint32_t max,
                                       uint64_t wait_ms);
/* kind ACK/NACK/EXTEND/TERM; delay_ms: nack delay or extend lease
 * (SL_DELAY_DEFAULT: omitted; ignored for ack/term); reason: nack/term, NULL
 * omits it (ignored for ack/extend). */
sl_client_status sl_client_encode_settle(sl_client_buf *out, sl_settle_kind kind,
                                         const char *group, const sl_slice *tokens,
                                         size_t n, uint64_t delay_ms, const char *reason);
/* op: SL_CLIENT_OP_GROUP_CREATE or SL_CLIENT_OP_GROUP_UPDATE. */
sl_client_status sl_client_encode_group_put(sl_client_buf *out, sl_client_op op,
                                            const sl_group_config *cfg, unsigned mask);
/* op: GROUP_GET or GROUP_DELETE. */
sl_client_status sl_client_encode_group_name(sl_client_buf *out, sl_client_op op,
                                             const char *name);
/* An operation without fields: PING, GROUP_LIST, TOPICS, STATS. */
sl_client_status sl_client_encode_bare(sl_client_buf *out, sl_client_op op);
sl_client_status sl_client_encode_log_read(sl_client_buf *out, sl_client_log_from from,
                                           uint64_t value, uint32_t max);
sl_client_status sl_client_encode_dlq_list(sl_client_buf *out, const char *group,
                                           uint64_t after_seq, uint32_t limit);
sl_client_status sl_client_encode_dlq_get(sl_client_buf *out, const char *group,
                                          uint64_t seq);
/* op: DLQ_REPLAY or DLQ_PURGE. */
sl_client_status sl_client_encode_dlq_change(sl_client_buf *out, sl_client_op op,
                                             const char *group, const uint64_t *seqs,
                                             size_t n, bool all);

/* ---- decoder: replies without a network ---------------------------------------- */

/* Decode the reply bytes of operation op (not RAW or NONE) into *res, which
 * is overwritten (free it first if it held something) and must be freed with
 * sl_client_result_free() whatever the status. The bytes are copied: buf is
 * only borrowed during the call. Returns OK, SERVER (an {"ok": false} reply,
 * details in res->error), BAD_REPLY (anything malformed: not one msgpack
 * object, truncated, trailing bytes, too deep, counts larger than the bytes,
 * not a map, "ok" missing or not a bool, a documented field missing or of the
 * wrong type), ARGUMENT (bad op, NULL buf with len > 0) or NOMEM. */
sl_client_status sl_client_decode_reply(sl_client_op op, const void *buf, size_t len,
                                        sl_client_result *res);

#endif
