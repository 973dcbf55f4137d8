/* group_record.h: core-internal: the stored state of one consumer group.
 *
 * DB_GROUPS maps a group name to this record (layout in core/FORMAT.md).
 * group.c implements these functions; lease.c and dlq.c use them so that
 * every operation updates a group's record exactly once per call.
 */
#ifndef SLUICE_CORE_GROUP_RECORD_H
#define SLUICE_CORE_GROUP_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include "group.h"
#include "store.h"

#define SL_GROUP_RECORD_VERSION 1

typedef struct sl_group_rec {
    uint32_t gid;              /* group id from meta "next_group_id", never reused */
    sl_group_config config;    /* name (the key), filters, limits, start */
    uint64_t cursor;           /* next log sequence the group has not looked at */
    uint64_t next_delivery;    /* delivery number the next delivery gets (from 1) */
    uint32_t in_flight;        /* leases in state in-flight */
    uint32_t waiting;          /* leases in state waiting */
    uint64_t delivered;        /* deliveries made, first and repeated */
    uint64_t redelivered;      /* of which repeated */
    uint64_t acked;            /* leases settled by ack */
    uint64_t dlq_size;         /* dead letters held */
    uint64_t created_ms;       /* creation time, Unix ms */
} sl_group_rec;

/* True when name is a valid group name (1..SL_GROUP_NAME_MAX of
 * [A-Za-z0-9_.-], NUL-terminated). NULL is not valid. */
bool sl_group_name_valid(const char *name);

/* Load the record of group name into *out (fully overwritten).
 * Errors: SL_ERR_INVALID (name not a valid group name), SL_ERR_NOT_FOUND,
 * SL_ERR_CORRUPT / SL_ERR_VERSION (record does not decode), storage errors. */
sl_err sl_group_rec_load(sl_txn *t, const char *name, sl_group_rec *out);

/* Store rec under rec->config.name in write txn w (insert or replace).
 * Errors: SL_ERR_MAP_FULL, SL_ERR_TXN_FULL, SL_ERR_STORAGE... */
sl_err sl_group_rec_save(sl_txn *w, const sl_group_rec *rec);

/* True when a and b differ in cursor, delivery counter or counters (what
 * pulls, settles and expiry change), so unchanged records need no write. */
bool sl_group_rec_state_differs(const sl_group_rec *a, const sl_group_rec *b);

/* Take the next delivery number of rec (advances the counter; never 0). */
uint64_t sl_group_rec_take_delivery(sl_group_rec *rec);

/* A group's filters as slices, made once per call so that matching an event
 * does not measure the filter strings again. */
typedef struct sl_filter_set {
    uint32_t n;                        /* filters in use */
    bool all;                          /* one of them is ">": every topic but
                                          reserved ones (topic.h) matches */
    sl_slice f[SL_FILTERS_MAX];        /* the filters; borrow from the config */
} sl_filter_set;

/* Fill set from cfg (which must outlive set). */
void sl_filter_set_init(sl_filter_set *set, const sl_group_config *cfg);

/* True when topic matches one of the filters of set. */
bool sl_filter_set_match(const sl_filter_set *set, sl_slice topic);

/* Saturating counter steps: a counter never wraps below 0 or above its max. */
static inline uint32_t sl_dec32(uint32_t v)
{
    return v ? v - 1 : 0;
}

static inline uint64_t sl_dec64(uint64_t v)
{
    return v ? v - 1 : 0;
}

static inline uint32_t sl_inc32(uint32_t v)
{
    return v == UINT32_MAX ? v : v + 1;
}

/* a + b, saturating at UINT64_MAX (times plus delays). */
static inline uint64_t sl_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
