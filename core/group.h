/* group.h: consumer groups: their configuration, cursor and counters.
 *
 * A group reads the events whose topic matches one of its filters, from its
 * start position on, each group with its own cursor (groups fan out). Names
 * are 1..SL_GROUP_NAME_MAX bytes of [A-Za-z0-9_.-]. Leases (pull/ack) are in
 * lease.h, dead letters in dlq.h.
 */
#ifndef SLUICE_CORE_GROUP_H
#define SLUICE_CORE_GROUP_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "slice.h"
#include "store.h"
#include "topic.h"

#define SL_GROUP_NAME_MAX 64
#define SL_FILTERS_MAX 16
#define SL_BACKOFF_MAX 16
#define SL_MAX_DELIVERIES_MAX 1000
#define SL_MAX_INFLIGHT_MAX 100000

typedef enum sl_start_kind {
    SL_START_EARLIEST = 0, /* the oldest retained event */
    SL_START_LATEST = 1,   /* only events appended after creation */
    SL_START_SEQ = 2,      /* start_value is a sequence */
    SL_START_TIME = 3      /* start_value is Unix ms: first event at or after it */
} sl_start_kind;

typedef struct sl_group_config {
    char name[SL_GROUP_NAME_MAX + 1];                    /* NUL-terminated */
    uint32_t nfilters;                                   /* 1..SL_FILTERS_MAX */
    char filters[SL_FILTERS_MAX][SL_TOPIC_MAX + 1];      /* NUL-terminated each */
    sl_start_kind start;
    uint64_t start_value;
    uint64_t ack_wait_ms;      /* lease length; default 30000; 1 ms..24 h */
    uint32_t max_deliveries;   /* default 5; 1..SL_MAX_DELIVERIES_MAX */
    uint32_t max_inflight;     /* default 1000; 1..SL_MAX_INFLIGHT_MAX */
    uint32_t nbackoff;         /* 0..SL_BACKOFF_MAX */
    uint64_t backoff_ms[SL_BACKOFF_MAX]; /* delay before redelivery n+1 (last repeats) */
} sl_group_config;

typedef struct sl_group_info {
    sl_group_config config;
    uint64_t cursor;          /* next sequence this group has not looked at */
    uint64_t lag;             /* matching events at or after cursor (never delivered) */
    uint32_t in_flight;       /* leased, lease not ended or not yet noticed ended */
    uint32_t waiting;         /* nacked or lease-ended, waiting for redelivery */
    uint64_t delivered;       /* deliveries made (first ones and redeliveries) */
    uint64_t redelivered;     /* of which redeliveries */
    uint64_t acked;
    uint64_t dlq_size;        /* dead letters held */
    uint64_t created_ms;
} sl_group_info;

/* Defaults: one filter ">" (everything), start EARLIEST, ack wait 30 s,
 * 5 deliveries, 1000 in flight, no backoff. name is empty. */
void sl_group_config_default(sl_group_config *cfg);

/* Validate cfg; on failure *field names the offending field (static string,
 * e.g. "filters") and SL_ERR_INVALID is returned. */
sl_err sl_group_config_check(const sl_group_config *cfg, const char **field);

/* Create. SL_ERR_EXISTS, SL_ERR_INVALID, SL_ERR_MAP_FULL, SL_ERR_STORAGE. */
sl_err sl_group_create(sl_txn *w, const sl_group_config *cfg, uint64_t now_ms);

/* Replace the configuration of an existing group, keeping cursor, leases,
 * dead letters and counters (start/start_value are ignored). SL_ERR_NOT_FOUND. */
sl_err sl_group_update(sl_txn *w, const sl_group_config *cfg);

/* Delete the group, its leases and its dead letters. SL_ERR_NOT_FOUND. */
sl_err sl_group_delete(sl_txn *w, const char *name);

/* Read one group with its counters and lag. SL_ERR_NOT_FOUND. Lag is exact
 * for a group with the filter ">" (from the log bounds, no scan), except that
 * it also counts events of reserved topics (topic.h: webhook test events,
 * rare) which ">" does not take; with other filters it counts matching
 * events from the cursor on, looking at no more than 1,000,000 events (past
 * that it is the count so far: a lower bound). */
sl_err sl_group_get(sl_txn *t, const char *name, sl_group_info *out);

/* Each group in name order, with counters; lag is computed too. */
typedef sl_err (*sl_group_cb)(void *ctx, const sl_group_info *info);
sl_err sl_groups_each(sl_txn *t, sl_group_cb cb, void *ctx);

/* The lowest sequence any group still needs (its cursor, any pending lease,
 * any dead letter); UINT64_MAX when there are no groups. For retention. */
sl_err sl_groups_floor(sl_txn *t, uint64_t *floor_seq);

#endif
