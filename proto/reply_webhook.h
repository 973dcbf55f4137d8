/* reply_webhook.h: encoding the webhook shapes of proto/PROTOCOL.md
 * ("Webhook subscriptions"), with the building blocks of reply.h. Each
 * returns SL_OK or SL_ERR_NOMEM (then r holds a partial object). */
#ifndef SLUICE_PROTO_REPLY_WEBHOOK_H
#define SLUICE_PROTO_REPLY_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>
#include "core/delivery_log.h"
#include "core/webhook.h"
#include "proto/reply.h"

/* Webhook map of v; with_secrets: the Target shape (the secrets themselves,
 * for the bridge) instead of their expiry times. */
sl_err sl_reply_webhook(sl_reply_buf *r, const sl_webhook_view *v, bool with_secrets);

/* WebhookStats map. */
sl_err sl_reply_webhook_stats(sl_reply_buf *r, const sl_webhook_stats *s);

/* Delivery attempt map; instance is the store's, for the event id. */
sl_err sl_reply_delivery_entry(sl_reply_buf *r, uint64_t instance, const sl_delivery_entry *d);

/* Outcome map {result, attempt, retry_at_ms} of webhook.report. */
sl_err sl_reply_webhook_outcome(sl_reply_buf *r, const sl_webhook_outcome *o);

#endif
