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
 *
 * Timing. sluiced leases each pulled event for 2 x T + 1 s, T being the
 * subscription's timeout (core/webhook.c): the POST gets T (CURLOPT_TIMEOUT_MS),
 * which leaves at least T + 1 s to report its outcome. The calls to sluiced
 * (webhook.targets, pull, webhook.report) are blocking: each one can hold the
 * loop, and so every endpoint's transfers, for at most 2 x client.timeout_ms
 * (getting onto a connection, then the reply; default
 * WH_BRIDGE_DAEMON_TIMEOUT_MS, so 4 s). A response that arrives during such
 * a stall is read after it; if the POST's own T passed meanwhile, libcurl
 * counts a timeout. After a call that got no reply, no other call goes out
 * until a ping probe (250 ms per half) is answered, probing every 100 ms
 * backing off to 5 s: while sluiced is down or restarting, the loop stalls
 * at most 0.5 s per probe, POSTs in flight finish, their outcomes are kept
 * and reported once sluiced answers (leases are stored, so a restart keeps
 * them), and an outcome whose lease ended meanwhile is dropped with a log
 * line (its event comes back). A report that sluiced refuses for good (the
 * subscription was deleted, a malformed report) is dropped with a log line;
 * one refused for a passing reason is retried every second until its lease
 * ends. Pulls sluiced refuses back off from idle_poll_ms to 5 s.
 */
#ifndef SLUICE_BRIDGE_BRIDGE_H
#define SLUICE_BRIDGE_BRIDGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/error.h"
#include "proto/client.h"

#define WH_BRIDGE_DAEMON_TIMEOUT_MS 2000 /* default client.timeout_ms */

typedef struct wh_bridge_options {
    const char *url;            /* sluiced's nng URL; default SL_CLIENT_DEFAULT_URL */
    sl_client_options client;   /* TLS, API key, timeout of the nng calls (default
                                   WH_BRIDGE_DAEMON_TIMEOUT_MS; see "Timing") */
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

/* Run until *stop becomes non-zero (a signal handler sets it; it is looked
 * at between turns, so within 200 ms plus the stall bound of "Timing"),
 * then pull no more, let the POSTs in flight finish and report every
 * outcome, for up to drain_ms, and return SL_OK (what is left then comes
 * back when its lease ends; logged). Errors at start: SL_ERR_INVALID
 * (OpenSSL would not start, sl_client_open refused the URL or TLS options),
 * SL_ERR_NOMEM. sluiced need not be up at start: the connection is made in
 * the background, and a lost one is logged and probed (see "Timing"). */
sl_err wh_bridge_run(const wh_bridge_options *opt, volatile sig_atomic_t *stop);

#endif
