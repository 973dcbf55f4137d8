/* auth_policy.h: is authentication on, from the configuration?
 *
 * On when the config says "auth = on", or "auto" (the default) and some
 * listener (nng or HTTP) is not loopback-only. "auth = off" with a listener
 * that is not loopback-only is refused unless the config also says
 * "insecure" (the --insecure flag): sluiced will not serve the network
 * unauthenticated by accident.
 *
 * Loopback-only: ipc:// and inproc://, and a URL whose host is in
 * 127.0.0.0/8, is ::1 or is "localhost". Anything else is not: 0.0.0.0,
 * ::, "*", an empty host, any other address or host name.
 *
 * Pure functions over the config plus log lines; no state. server.c calls
 * sl_auth_policy_decide once at start, before anything listens.
 */
#ifndef SLUICE_SLUICED_AUTH_POLICY_H
#define SLUICE_SLUICED_AUTH_POLICY_H

#include <stdbool.h>
#include "tools/sluiced/config.h"

/* True when url (an nng or http(s) URL) accepts connections only from
 * this machine. NULL or unparsable: false. */
bool sl_url_loopback_only(const char *url);

/* The first listener of cfg (nng, then HTTP) that is not loopback-only;
 * NULL when there is none. Points into cfg. */
const char *sl_auth_exposed_listener(const sl_config *cfg);

/* Decide for cfg and log the decision and why (info; a warning for an
 * insecure start). Returns 0 with *enabled set, or -1 after logging why
 * sluiced must not start (auth off, a listener beyond loopback, no
 * --insecure). */
int sl_auth_policy_decide(const sl_config *cfg, bool *enabled);

#endif
