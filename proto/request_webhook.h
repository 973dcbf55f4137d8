/* request_webhook.h: proto-internal: decoders of the webhook.* requests.
 *
 * request.c's op table calls them; each reads the fields of the request map
 * in t into its member of req (see request.h) and returns 0, or -1 with e
 * filled. Field rules: proto/PROTOCOL.md, "Webhook subscriptions".
 */
#ifndef SLUICE_PROTO_REQUEST_WEBHOOK_H
#define SLUICE_PROTO_REQUEST_WEBHOOK_H

#include "proto/request.h"
#include "proto/request_fields.h"

/* webhook.create, webhook.update -> req->webhook. */
int rw_decode_webhook(const field_table *t, sl_request *req, sl_wire_error *e);
/* webhook.get/delete/enable/disable/reset/test/stats -> req->webhook_ref. */
int rw_decode_webhook_ref(const field_table *t, sl_request *req, sl_wire_error *e);
/* webhook.list, webhook.targets -> req->webhook_list. */
int rw_decode_webhook_list(const field_table *t, sl_request *req, sl_wire_error *e);
int rw_decode_webhook_rotate(const field_table *t, sl_request *req, sl_wire_error *e);
int rw_decode_webhook_deliveries(const field_table *t, sl_request *req, sl_wire_error *e);
int rw_decode_webhook_retry(const field_table *t, sl_request *req, sl_wire_error *e);
/* webhook.report -> req->webhook_report; allocates req->owned. */
int rw_decode_webhook_report(const field_table *t, sl_request *req, sl_wire_error *e);

#endif
