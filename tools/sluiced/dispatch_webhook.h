/* dispatch_webhook.h: sluiced-internal: the webhook.* ops (see dispatch.h
 * and dispatch_context.h). dispatch.c puts them in its op tables. */
#ifndef SLUICE_SLUICED_DISPATCH_WEBHOOK_H
#define SLUICE_SLUICED_DISPATCH_WEBHOOK_H

#include "tools/sluiced/dispatch_context.h"

/* read ops */
sl_err dw_get(dctx *c, failure *f);
sl_err dw_list(dctx *c, failure *f);          /* webhook.list and webhook.targets */
sl_err dw_stats(dctx *c, failure *f);
sl_err dw_deliveries(dctx *c, failure *f);
sl_err dw_event_types(dctx *c, failure *f);

/* write ops */
sl_err dw_create(dctx *c, failure *f);
sl_err dw_update(dctx *c, failure *f);
sl_err dw_delete(dctx *c, failure *f);
sl_err dw_set_active(dctx *c, failure *f);    /* webhook.enable, webhook.disable */
sl_err dw_reset(dctx *c, failure *f);
sl_err dw_rotate_secret(dctx *c, failure *f);
sl_err dw_test(dctx *c, failure *f);          /* appends: counts as a publish */
sl_err dw_retry(dctx *c, failure *f);
sl_err dw_report(dctx *c, failure *f);

#endif
