/* delivery_log.h: the attempt log of each webhook subscription.
 *
 * sl_webhook_report (webhook.h) appends one entry per POST the bridge made;
 * this file reads them back, newest first, with filters. Each subscription
 * keeps its newest SL_DELIVERY_LOG_KEEP entries (older ones are dropped as
 * new ones arrive) and its entries go with it when it is deleted.
 */
#ifndef SLUICE_CORE_DELIVERY_LOG_H
#define SLUICE_CORE_DELIVERY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "slice.h"
#include "store.h"
#include "webhook.h"

#define SL_DELIVERY_LOG_KEEP 10000
#define SL_DELIVERY_PAGE_MAX 1000

typedef struct sl_delivery_entry {
    uint64_t entry_id;        /* increasing with time; the paging cursor */
    uint64_t seq;             /* the event (its id: sl_event_id_format); 0 when the
                                 token was not one of the subscription's */
    sl_slice topic;           /* the event's topic ("_wh.<id>" for test events; "" when
                                 the event is no longer in the log) */
    uint32_t attempt;         /* 1, 2, ... (0: the token did not decode or was stale) */
    uint64_t time_ms;         /* when the attempt was sent */
    uint32_t http_status;     /* 0: no response */
    sl_slice error;           /* "" or the error code */
    uint64_t latency_us;
    sl_slice body;            /* first SL_WEBHOOK_BODY_KEEP bytes of the response */
    sl_attempt_result result; /* what the report made of it */
} sl_delivery_entry;

typedef enum sl_delivery_status_filter {
    SL_DELIVERY_ANY = 0,
    SL_DELIVERY_SUCCEEDED = 1, /* result SL_ATTEMPT_DELIVERED */
    SL_DELIVERY_FAILED = 2     /* every other result */
} sl_delivery_status_filter;

typedef struct sl_delivery_filter {
    sl_delivery_status_filter status;
    uint32_t http_status;     /* 0: any; else only attempts answered with it */
    uint64_t since_ms;        /* 0: no lower bound; else time_ms >= since_ms */
    uint64_t until_ms;        /* 0: no upper bound; else time_ms < until_ms */
    uint64_t seq;             /* 0: any event; else only attempts of this event */
} sl_delivery_filter;

typedef sl_err (*sl_delivery_entry_cb)(void *ctx, const sl_delivery_entry *e);

/* Entries of subscription id matching f with entry_id < before (0: from the
 * newest), newest first, at most limit (1..SL_DELIVERY_PAGE_MAX), each given
 * to cb (slices valid during the call). *next_before gets the cursor for the
 * next page, 0 when there are no more. Looks at no more than 100 x limit
 * entries per call; when it stops on that bound *next_before is still set.
 * SL_ERR_NOT_FOUND for an unknown subscription. */
sl_err sl_delivery_log_list(sl_txn *t, const char *id, const sl_delivery_filter *f,
                            uint64_t before, size_t limit, sl_delivery_entry_cb cb, void *ctx,
                            uint64_t *next_before);

#endif
