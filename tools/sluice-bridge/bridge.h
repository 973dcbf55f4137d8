/* bridge.h: sluice-bridge's delivery loop.
 *
 * One thread. It polls webhook.targets for the active subscriptions, pulls
 * each one's group (within its in-flight and rate limits), POSTs every event
 * through one libcurl multi handle (so a slow or dead endpoint never delays
 * the others) and reports each attempt's outcome with webhook.report, which
 * acks, schedules the retry, dead-letters or disables in sluiced. Delivery
 * state lives in sluiced: a bridge killed at any moment loses nothing (the
 * leases of unreported events end and they are delivered again, with the
 * same id), and several bridges may serve the same subscriptions at once.
 */
#ifndef SLUICE_BRIDGE_BRIDGE_H
#define SLUICE_BRIDGE_BRIDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/error.h"
#include "proto/client.h"

typedef struct wh_bridge_options {
    const char *url;            /* sluiced's nng URL; default SL_CLIENT_DEFAULT_URL */
    sl_client_options client;   /* TLS, timeouts of the nng connection */
    bool allow_private;         /* allow targets on loopback, private and other
                                   non-public addresses (tests, internal use) */
    uint64_t refresh_ms;        /* how often to poll webhook.targets; default 2000 */
    uint64_t idle_poll_ms;      /* pull again this long after an empty pull; default 250 */
    uint32_t pull_max;          /* most events per pull; default 100 */
    uint64_t drain_ms;          /* on stop, wait this long for POSTs in flight; default 10000 */
    bool verbose;               /* log every attempt */
} wh_bridge_options;

/* Defaults as above. */
void wh_bridge_options_default(wh_bridge_options *opt);

/* Run until *stop becomes non-zero (a signal handler sets it), then let the
 * POSTs in flight finish (up to drain_ms), report them and return SL_OK.
 * Errors at start: SL_ERR_INVALID (libcurl or OpenSSL would not start),
 * SL_ERR_NOMEM, SL_ERR_STORAGE ("unavailable": cannot reach sluiced at
 * start). Once running, a lost daemon connection is logged and retried. */
sl_err wh_bridge_run(const wh_bridge_options *opt, volatile sig_atomic_t *stop);

#endif
