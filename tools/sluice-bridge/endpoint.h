/* endpoint.h: the bridge's state for one webhook subscription.
 *
 * A copy of what webhook.targets said about it (URL, live secrets, custom
 * headers, limits), refreshed on every targets poll, plus the delivery
 * state that lives only as long as the process: POSTs in flight, finished
 * POSTs waiting to be reported, when to pull next, the rate bucket. Nothing
 * here needs to survive a crash: leases in sluiced bring unreported events
 * back. The bridge (bridge.c) owns each endpoint (one malloc each, so posts
 * can point at their endpoint while the list changes).
 */
#ifndef SLUICE_BRIDGE_ENDPOINT_H
#define SLUICE_BRIDGE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/group.h"
#include "core/webhook.h"
#include "proto/client.h"
#include "tools/sluice-bridge/post.h"
#include "tools/sluice-bridge/rate_limit.h"

typedef struct wh_endpoint {
    char id[SL_WEBHOOK_ID_LEN + 1];
    char group[SL_GROUP_NAME_MAX + 1];
    char *url;                                            /* owned, NUL-terminated */
    size_t nsecrets;
    char secret_text[SL_WEBHOOK_SECRETS_MAX][SL_WEBHOOK_SECRET_LEN + 1];
    sl_slice secrets[SL_WEBHOOK_SECRETS_MAX];             /* point into secret_text */
    size_t nheaders;
    char *header_lines[SL_WEBHOOK_HEADERS_MAX];           /* owned "Name: value" lines */
    uint64_t timeout_ms;
    uint32_t max_in_flight;
    wh_rate rate;
    bool listed;          /* to be pulled: active in the latest complete targets
                             answer, and neither deleted nor disabled since */
    bool seen;            /* in the targets pages of the refresh under way */
    bool gone;            /* sluiced said not_found: deleted; outcomes of its POSTs
                             still out are dropped unreported (nothing to report to) */
    uint32_t in_flight;   /* POSTs started and not finished */
    uint64_t next_pull_ms;/* monotonic ms before which not to pull */
    uint32_t pull_failures; /* pulls refused in a row (backs the next one off) */
    wh_post *done;        /* finished POSTs whose outcome is not reported yet */
    size_t ndone;
    uint64_t next_report_ms; /* monotonic ms before which not to retry a failed report */
} wh_endpoint;

/* Take over the configuration of target w (id, group, url, secrets,
 * headers, limits); e must be zeroed the first time. now_ms: monotonic, for
 * the rate bucket. POSTs already started keep what they were built with
 * (their body, headers and signatures are their own). On error e keeps its
 * previous configuration: SL_ERR_NOMEM, SL_ERR_INVALID (a field too long for
 * its buffer, no secret or too many). */
sl_err wh_endpoint_apply(wh_endpoint *e, const sl_client_webhook *w, uint64_t now_ms);

/* What wh_post_start needs, borrowing from e. */
wh_post_target wh_endpoint_target(const wh_endpoint *e, bool allow_private);

/* Free what e owns (not its posts: the bridge frees those). */
void wh_endpoint_clear(wh_endpoint *e);

#endif
