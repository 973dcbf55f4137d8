/* client_webhook.h: the webhook operations of the C client library
 * (PROTOCOL.md, "Webhook subscriptions"; the model: core/webhook.h).
 *
 * Same conventions as proto/client.h, which this extends: one blocking
 * function per operation, each on its own nng context; every call fills a
 * caller-provided sl_client_result that owns everything reachable from it
 * and that the caller releases with sl_client_result_free() whatever the
 * status; request arguments are only borrowed during the call. Replies
 * decode into the result members named below (reply shapes:
 * sl_client_webhook, sl_client_webhook_stats, sl_client_webhook_attempt_entry
 * in client.h). The library checks no protocol limit (URL syntax, counts of
 * headers, ...): the server does. Arguments it cannot send at all (a NULL
 * where something is required, a count larger than the array it indexes)
 * are SL_CLIENT_ERR_ARGUMENT.
 *
 * The encoders (sl_client_encode_webhook_*) are the very functions the calls
 * use; with sl_client_decode_reply they need no network.
 */
#ifndef SLUICE_PROTO_CLIENT_WEBHOOK_H
#define SLUICE_PROTO_CLIENT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include "core/delivery_log.h"
#include "core/webhook.h"
#include "proto/client.h"

/* ---- calls ------------------------------------------------------------------------ */

/* webhook.create: res->webhook (webhook and secret: "whsec_...", returned
 * this once). cfg is borrowed; name and url are always sent, every other
 * field only when its SL_WEBHOOK_GIVEN_* bit is in mask (else the server's
 * default). */
sl_client_status sl_client_webhook_create(sl_client *c, const sl_webhook_config *cfg,
                                          unsigned mask, sl_client_result *res);

/* webhook.update of subscription id: the fields whose SL_WEBHOOK_GIVEN_* bit
 * is in mask replace the current values (name and url too). res->webhook. */
sl_client_status sl_client_webhook_update(sl_client *c, const char *id,
                                          const sl_webhook_config *cfg, unsigned mask,
                                          sl_client_result *res);

/* webhook.get, .enable, .disable (reason "manual"), .reset (clears the
 * failure count and enables): res->webhook (secret len 0). */
sl_client_status sl_client_webhook_get(sl_client *c, const char *id, sl_client_result *res);
sl_client_status sl_client_webhook_enable(sl_client *c, const char *id, sl_client_result *res);
sl_client_status sl_client_webhook_disable(sl_client *c, const char *id,
                                           sl_client_result *res);
sl_client_status sl_client_webhook_reset(sl_client *c, const char *id, sl_client_result *res);

/* webhook.delete: removes the subscription, its group, stats and delivery
 * log. No result fields. */
sl_client_status sl_client_webhook_delete(sl_client *c, const char *id,
                                          sl_client_result *res);

/* webhook.list: subscriptions with id > after (NULL or "": from the first),
 * at most limit (0: omitted, the server's default of 100). res->webhooks
 * (secrets NULL), next_after len 0 on the last page. */
sl_client_status sl_client_webhook_list(sl_client *c, const char *after, uint32_t limit,
                                        sl_client_result *res);

/* webhook.rotate_secret: a new current secret; the old one keeps signing for
 * overlap_ms (SL_DELAY_DEFAULT omits the field: the server's 24 h).
 * res->webhook with secret: the new one, returned this once. */
sl_client_status sl_client_webhook_rotate_secret(sl_client *c, const char *id,
                                                 uint64_t overlap_ms, sl_client_result *res);

/* webhook.test: a "webhook.test" event for this endpoint only.
 * res->webhook_test (seq and event id of the event appended). */
sl_client_status sl_client_webhook_test(sl_client *c, const char *id, sl_client_result *res);

/* webhook.stats: res->webhook_stats. */
sl_client_status sl_client_webhook_stats_get(sl_client *c, const char *id,
                                             sl_client_result *res);

/* Which attempts webhook.deliveries returns; a zeroed struct (or NULL)
 * filters nothing. Each field is sent only when set. */
typedef struct sl_client_deliveries_filter {
    sl_delivery_status_filter status; /* SL_DELIVERY_ANY: omitted; SUCCEEDED / FAILED */
    uint32_t http_status;             /* 0: omitted; else only attempts answered with it */
    uint64_t since_ms;                /* 0: omitted; else sent at or after (Unix ms) */
    uint64_t until_ms;                /* 0: omitted; else sent before */
    const char *event_id;             /* NULL: omitted; else only this event's attempts */
} sl_client_deliveries_filter;

/* webhook.deliveries: attempts with entry < before (0: omitted, from the
 * newest), at most limit (0: omitted, the server's default of 100), newest
 * first. res->webhook_deliveries (next_before 0 when there are no more). */
sl_client_status sl_client_webhook_deliveries(sl_client *c, const char *id,
                                              const sl_client_deliveries_filter *filter,
                                              uint64_t before, uint32_t limit,
                                              sl_client_result *res);

/* webhook.retry: deliver one failed event (event_id) again now. No result
 * fields; not_found when the event is neither dead nor waiting. */
sl_client_status sl_client_webhook_retry(sl_client *c, const char *id, const char *event_id,
                                         sl_client_result *res);

/* webhook.event_types: the topics of the retained log. res->event_types. */
sl_client_status sl_client_webhook_event_types(sl_client *c, sl_client_result *res);

/* webhook.targets (for the bridge): active subscriptions with their
 * secrets; after and limit as for sl_client_webhook_list. res->webhooks
 * (secrets set, secret_expires_ms NULL). */
sl_client_status sl_client_webhook_targets(sl_client *c, const char *after, uint32_t limit,
                                           sl_client_result *res);

/* webhook.report (for the bridge): the outcomes of n attempts of
 * subscription id, applied in one transaction. Per attempt, token is always
 * sent; http_status, error, latency_us, body, retry_after_ms and sent_ms
 * only when non-zero / non-empty. res->webhook_report: one outcome per
 * attempt in order (a reply with another count is BAD_REPLY). */
sl_client_status sl_client_webhook_report(sl_client *c, const char *id,
                                          const sl_webhook_attempt *attempts, size_t n,
                                          sl_client_result *res);

/* ---- encoders: requests without a network -------------------------------------------
 * Each appends one complete request to out; arguments as for the matching
 * call. Returns OK, ARGUMENT (NULL where something is required, a wrong op,
 * a count over its array) or NOMEM; on error out->len is unchanged. */

/* op WEBHOOK_CREATE (id ignored, may be NULL) or WEBHOOK_UPDATE (id required). */
sl_client_status sl_client_encode_webhook_put(sl_client_buf *out, sl_client_op op,
                                              const char *id, const sl_webhook_config *cfg,
                                              unsigned mask);
/* op WEBHOOK_GET, _DELETE, _ENABLE, _DISABLE, _RESET, _TEST or _STATS. */
sl_client_status sl_client_encode_webhook_id(sl_client_buf *out, sl_client_op op,
                                             const char *id);
/* op WEBHOOK_LIST or WEBHOOK_TARGETS. */
sl_client_status sl_client_encode_webhook_page(sl_client_buf *out, sl_client_op op,
                                               const char *after, uint32_t limit);
sl_client_status sl_client_encode_webhook_rotate_secret(sl_client_buf *out, const char *id,
                                                        uint64_t overlap_ms);
sl_client_status sl_client_encode_webhook_deliveries(sl_client_buf *out, const char *id,
                                                     const sl_client_deliveries_filter *filter,
                                                     uint64_t before, uint32_t limit);
sl_client_status sl_client_encode_webhook_retry(sl_client_buf *out, const char *id,
                                                const char *event_id);
sl_client_status sl_client_encode_webhook_event_types(sl_client_buf *out);
sl_client_status sl_client_encode_webhook_report(sl_client_buf *out, const char *id,
                                                 const sl_webhook_attempt *attempts, size_t n);

#endif
