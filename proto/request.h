/* request.h: decoding one untrusted request message (proto/PROTOCOL.md).
 *
 * sl_request_decode checks everything the protocol promises to check (shape,
 * types, presence, ranges, limits, topic and name syntax) so the daemon's
 * dispatch only meets well-formed requests. Strings come out as slices into
 * the request buffer; the only allocation is one block per request holding
 * the publish events with their headers, or the tokens, or the seqs.
 */
#ifndef SLUICE_PROTO_REQUEST_H
#define SLUICE_PROTO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "core/group.h"
#include "core/lease.h"
#include "core/slice.h"
#include "core/delivery_log.h"
#include "core/webhook.h"
#include "core/apikey.h"

#define SL_PROTO_VERSION 1
#define SL_REQUEST_MAX_DEPTH 8       /* nesting limit of a request */
#define SL_REQUEST_MAP_KEYS_MAX 64   /* keys in one request or event map */
#define SL_WAIT_MS_MAX 300000        /* pull wait_ms */
#define SL_DURATION_MS_MAX 86400000  /* ack_wait_ms, lease_ms, delay_ms, backoff entries */
#define SL_READ_MAX 1000             /* log.read max, dlq.list limit */
#define SL_READ_DEFAULT 100          /* their default */
#define SL_REQUEST_KEY_MAX 128       /* the API key of a request ("key") */

typedef enum sl_op {
    SL_OP_PING,
    SL_OP_PUBLISH,
    SL_OP_PULL,
    SL_OP_ACK,
    SL_OP_NACK,
    SL_OP_EXTEND,
    SL_OP_TERM,
    SL_OP_GROUP_CREATE,
    SL_OP_GROUP_UPDATE,
    SL_OP_GROUP_GET,
    SL_OP_GROUP_LIST,
    SL_OP_GROUP_DELETE,
    SL_OP_TOPICS,
    SL_OP_LOG_READ,
    SL_OP_DLQ_LIST,
    SL_OP_DLQ_GET,
    SL_OP_DLQ_REPLAY,
    SL_OP_DLQ_PURGE,
    SL_OP_STATS,
    SL_OP_WEBHOOK_CREATE,
    SL_OP_WEBHOOK_UPDATE,
    SL_OP_WEBHOOK_GET,
    SL_OP_WEBHOOK_LIST,
    SL_OP_WEBHOOK_DELETE,
    SL_OP_WEBHOOK_ENABLE,
    SL_OP_WEBHOOK_DISABLE,
    SL_OP_WEBHOOK_RESET,
    SL_OP_WEBHOOK_ROTATE_SECRET,
    SL_OP_WEBHOOK_TEST,
    SL_OP_WEBHOOK_STATS,
    SL_OP_WEBHOOK_DELIVERIES,
    SL_OP_WEBHOOK_RETRY,
    SL_OP_WEBHOOK_EVENT_TYPES,
    SL_OP_WEBHOOK_TARGETS,
    SL_OP_WEBHOOK_REPORT,
    SL_OP_KEYS_CREATE,
    SL_OP_KEYS_GET,
    SL_OP_KEYS_LIST,
    SL_OP_KEYS_REVOKE,
    SL_OP_COUNT
} sl_op;

/* The wire name of op ("publish", "group.create", ...); static storage.
 * "?" for a value outside the enum. */
const char *sl_op_name(sl_op op);

/* The op whose wire name is name. False (and *op untouched) when unknown. */
bool sl_op_from_name(sl_slice name, sl_op *op);

/* The wire name of a group start kind ("earliest", "latest", "seq", "time");
 * static storage; "?" for a value outside the enum. */
const char *sl_start_kind_name(sl_start_kind k);

/* The start kind whose wire name is name. False (and *k untouched) when unknown. */
bool sl_start_kind_from_name(sl_slice name, sl_start_kind *k);

/* Why a request was refused, ready for sl_reply_wire_error (reply.h). */
typedef struct sl_wire_error {
    const char *code;   /* static, a PROTOCOL.md code ("bad_request", ...) */
    char field[96];     /* path of the field to blame, "" if none */
    char message[256];  /* for humans */
    long long index;    /* publish: the event to blame; -1 if none */
} sl_wire_error;

/* publish: the batch. */
typedef struct sl_req_publish {
    sl_event_in *events; /* nevents events; headers point into the same block */
    size_t nevents;      /* 1..SL_PUBLISH_BATCH_MAX */
} sl_req_publish;

/* pull. */
typedef struct sl_req_pull {
    char group[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
    size_t max;                        /* 1..SL_PULL_BATCH_MAX, default 1 */
    uint64_t wait_ms;                  /* 0..SL_WAIT_MS_MAX, default 0 */
    sl_slice *ack;                     /* tokens to ack before pulling ("ack"); NULL if none */
    size_t nack;                       /* 0..SL_SETTLE_BATCH_MAX */
    sl_token_status *ack_status;       /* nack slots for their statuses (owned with ack) */
    bool ack_applied;                  /* set by the writer once a run that applied the
                                          acks has committed: a parked pull that runs
                                          again reports ack_status, does not re-ack */
} sl_req_pull;

/* ack, nack, extend, term. */
typedef struct sl_req_settle {
    char group[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
    sl_slice *tokens;                  /* ntokens strings, unchecked (core says "invalid") */
    size_t ntokens;                    /* 1..SL_SETTLE_BATCH_MAX */
    uint64_t delay_ms;                 /* nack: delay_ms; extend: lease_ms;
                                          SL_DELAY_DEFAULT when not given */
    sl_slice reason;                   /* nack/term: reason, cut to SL_REASON_MAX bytes
                                          on a UTF-8 boundary; len 0 when not given */
} sl_req_settle;

/* Bits of sl_req_group.given: which fields the request carried. */
enum {
    SL_GROUP_GIVEN_FILTERS = 1u << 0,
    SL_GROUP_GIVEN_START = 1u << 1,
    SL_GROUP_GIVEN_START_VALUE = 1u << 2,
    SL_GROUP_GIVEN_ACK_WAIT = 1u << 3,
    SL_GROUP_GIVEN_MAX_DELIVERIES = 1u << 4,
    SL_GROUP_GIVEN_MAX_INFLIGHT = 1u << 5,
    SL_GROUP_GIVEN_BACKOFF = 1u << 6
};

/* group.create, group.update. */
typedef struct sl_req_group {
    sl_group_config config; /* name, plus defaults (sl_group_config_default)
                               overwritten by every field given */
    unsigned given;         /* SL_GROUP_GIVEN_* bits: for update, merge only these */
} sl_req_group;

/* group.get, group.delete. */
typedef struct sl_req_group_ref {
    char name[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
} sl_req_group_ref;

/* log.read. */
typedef struct sl_req_log_read {
    bool has_from_seq;     /* from_seq given */
    uint64_t from_seq;     /* first sequence to read */
    bool has_from_time;    /* from_time_ms given (never together with from_seq) */
    uint64_t from_time_ms; /* first event at or after this time */
    size_t max;            /* 1..SL_READ_MAX, default SL_READ_DEFAULT */
} sl_req_log_read;

/* dlq.list. */
typedef struct sl_req_dlq_list {
    char group[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
    uint64_t after_seq;                /* default 0 */
    size_t limit;                      /* 1..SL_DLQ_PAGE_MAX, default SL_READ_DEFAULT */
} sl_req_dlq_list;

/* dlq.get. */
typedef struct sl_req_dlq_get {
    char group[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
    uint64_t seq;                      /* the dead letter */
} sl_req_dlq_get;

/* dlq.replay, dlq.purge. */
typedef struct sl_req_dlq_batch {
    char group[SL_GROUP_NAME_MAX + 1]; /* valid group name, NUL-terminated */
    bool all;                          /* every dead letter; seqs is then NULL */
    uint64_t *seqs;                    /* nseqs sequences (when !all) */
    size_t nseqs;                      /* 1..SL_DLQ_BATCH_MAX when !all, else 0 */
} sl_req_dlq_batch;

/* webhook.create, webhook.update. */
typedef struct sl_req_webhook {
    char id[SL_WEBHOOK_ID_LEN + 1];   /* update: a well-formed id; create: "" */
    sl_webhook_config config;         /* sl_webhook_config_default overwritten by every
                                         field given; slices point into the request */
    unsigned given;                   /* SL_WEBHOOK_GIVEN_* bits of the fields given */
} sl_req_webhook;

/* webhook.get, .delete, .enable, .disable, .reset, .test, .stats. */
typedef struct sl_req_webhook_ref {
    char id[SL_WEBHOOK_ID_LEN + 1];   /* well-formed id */
} sl_req_webhook_ref;

/* webhook.list, webhook.targets. */
typedef struct sl_req_webhook_list {
    char after[SL_WEBHOOK_ID_LEN + 1]; /* "" or a well-formed id */
    size_t limit;                      /* 1..SL_WEBHOOK_PAGE_MAX, default SL_READ_DEFAULT */
} sl_req_webhook_list;

/* webhook.rotate_secret. */
typedef struct sl_req_webhook_rotate {
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t overlap_ms;              /* default SL_WEBHOOK_OVERLAP_DEFAULT_MS */
} sl_req_webhook_rotate;

/* webhook.deliveries. */
typedef struct sl_req_webhook_deliveries {
    char id[SL_WEBHOOK_ID_LEN + 1];
    sl_delivery_filter filter;        /* seq from event_id (0: any) */
    uint64_t event_instance;          /* instance part of event_id (0 when not given) */
    uint64_t before;                  /* 0: from the newest */
    size_t limit;                     /* 1..SL_DELIVERY_PAGE_MAX, default SL_READ_DEFAULT */
} sl_req_webhook_deliveries;

/* webhook.retry. */
typedef struct sl_req_webhook_retry {
    char id[SL_WEBHOOK_ID_LEN + 1];
    uint64_t seq;                     /* from event_id */
    uint64_t event_instance;          /* instance part of event_id */
} sl_req_webhook_retry;

/* webhook.report. */
typedef struct sl_req_webhook_report {
    char id[SL_WEBHOOK_ID_LEN + 1];
    sl_webhook_attempt *attempts;     /* nattempts, in the one owned block; sent_ms 0:
                                         not given (the server's now applies) */
    size_t nattempts;                 /* 1..SL_SETTLE_BATCH_MAX */
    sl_webhook_outcome *outcomes;     /* nattempts slots for the results (same block) */
} sl_req_webhook_report;

/* keys.create. */
typedef struct sl_req_keys_create {
    sl_apikey_config config;          /* sl_apikey_config_default overwritten by every
                                         field given; slices point into the request */
} sl_req_keys_create;

/* keys.get, keys.revoke. */
typedef struct sl_req_keys_ref {
    char id[SL_APIKEY_ID_LEN + 1];    /* well-formed key id */
} sl_req_keys_ref;

/* keys.list. */
typedef struct sl_req_keys_list {
    char after[SL_APIKEY_ID_LEN + 1]; /* "" or a well-formed key id */
    size_t limit;                     /* 1..SL_APIKEY_PAGE_MAX, default SL_READ_DEFAULT */
} sl_req_keys_list;

/* One decoded request. Which member of the union is meaningful follows op:
 * publish, pull, settle (ack/nack/extend/term), group (group.create/update),
 * group_ref (group.get/delete), log_read, dlq_list, dlq_get, dlq_batch
 * (dlq.replay/purge); ping, group.list, topics and stats have no fields. */
typedef struct sl_request {
    sl_op op;                        /* the operation */
    sl_slice key;                    /* the API key ("key", 0..SL_REQUEST_KEY_MAX bytes,
                                        checked by the daemon's auth); len 0 when absent */
    union {
        sl_req_publish publish;
        sl_req_pull pull;
        sl_req_settle settle;
        sl_req_group group;
        sl_req_group_ref group_ref;
        sl_req_log_read log_read;
        sl_req_dlq_list dlq_list;
        sl_req_dlq_get dlq_get;
        sl_req_dlq_batch dlq_batch;
        sl_req_webhook webhook;                 /* webhook.create, .update */
        sl_req_webhook_ref webhook_ref;         /* webhook.get/delete/enable/disable/
                                                   reset/test/stats */
        sl_req_webhook_list webhook_list;       /* webhook.list, .targets */
        sl_req_webhook_rotate webhook_rotate;
        sl_req_webhook_deliveries webhook_deliveries;
        sl_req_webhook_retry webhook_retry;
        sl_req_webhook_report webhook_report;   /* webhook.event_types has no fields */
        sl_req_keys_create keys_create;
        sl_req_keys_ref keys_ref;               /* keys.get, keys.revoke */
        sl_req_keys_list keys_list;
    };
    void *owned;                     /* internal: the one heap block, or NULL */
} sl_request;

/* Decode one request from buf[0..len) (buf may be NULL when len is 0).
 * buf must stay alive and unchanged until sl_request_release (slices point
 * into it). Returns 0 on success; -1 with *err filled (code, field, message,
 * index) on any bad input, including "no_memory" when the one allocation
 * fails. Call sl_request_release(req) in both cases. Never crashes, whatever
 * the bytes. req and err are owned by the caller. */
int sl_request_decode(const void *buf, size_t len, sl_request *req, sl_wire_error *err);

/* Free what decode allocated; req may then be decoded into again. Safe to
 * call twice, and on a request zeroed with memset. */
void sl_request_release(sl_request *req);

#endif
