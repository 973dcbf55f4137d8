/* target_guard.h: refuse webhook targets on non-public addresses (SSRF).
 *
 * wh_addr_classify sorts an address (IPv4, IPv6, IPv4-mapped IPv6, NAT64
 * 64:ff9b::/96 and 6to4 2002::/16 by the IPv4 address they embed) into
 * public or one of the non-public classes: unspecified, loopback, private
 * (RFC 1918, fc00::/7, fec0::/10, 64:ff9b:1::/48), shared (CGNAT
 * 100.64/10), link-local, multicast, broadcast, documentation (192.0.2/24,
 * 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20), reserved (0/8,
 * 192.0.0/24, 192.88.99/24, 198.18/15, 240/4, ::/96, 2001::/23, anything
 * outside 2000::/3), unsupported (not IP).
 *
 * wh_target_opensocket is a CURLOPT_OPENSOCKETFUNCTION: libcurl calls it
 * for each address it is about to connect to, after DNS, so the check
 * applies to the address actually connected (a name resolving to 127.0.0.1,
 * or re-resolving differently, does not get through). A refused address
 * gets CURL_SOCKET_BAD (the transfer fails with CURLE_COULDNT_CONNECT
 * unless another resolved address is allowed) and the guard's refused flag.
 *
 * The check is only complete when the bridge also, on every easy handle:
 *   - restricts protocols to http and https: CURLOPT_PROTOCOLS_STR "http,https"
 *     (CURLOPT_PROTOCOLS = CURLPROTO_HTTP | CURLPROTO_HTTPS before curl 7.85);
 *   - does not follow redirects (CURLOPT_FOLLOWLOCATION 0, the default);
 *   - ignores proxy environment variables (CURLOPT_PROXY ""), since with a
 *     proxy only the proxy's address is checked.
 * wh_target_guard_apply sets all of that and the callback.
 */
#ifndef SLUICE_BRIDGE_TARGET_GUARD_H
#define SLUICE_BRIDGE_TARGET_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "core/error.h"

typedef enum wh_addr_class {
    WH_ADDR_PUBLIC = 0,
    WH_ADDR_UNSPECIFIED,
    WH_ADDR_LOOPBACK,
    WH_ADDR_PRIVATE,
    WH_ADDR_SHARED,
    WH_ADDR_LINK_LOCAL,
    WH_ADDR_MULTICAST,
    WH_ADDR_BROADCAST,
    WH_ADDR_DOCUMENTATION,
    WH_ADDR_RESERVED,
    WH_ADDR_UNSUPPORTED
} wh_addr_class;

/* Stable name: "public", "unspecified", "loopback", "private", "shared",
 * "link_local", "multicast", "broadcast", "documentation", "reserved",
 * "unsupported". Static storage. */
const char *wh_addr_class_name(wh_addr_class c);

/* The class of the address sa (len bytes; a too short sockaddr is
 * "unsupported"). */
wh_addr_class wh_addr_classify(const struct sockaddr *sa, size_t len);

/* Per transfer (one per easy handle): the CURLOPT_OPENSOCKETDATA of
 * wh_target_opensocket. Owned by the caller; it must outlive the transfer. */
typedef struct wh_target_guard {
    bool allow_private;          /* set by the bridge: connect to any address */
    bool refused;                /* set by the callback: an address was refused */
    wh_addr_class refused_class; /* the class of the last address refused */
} wh_target_guard;

/* Clear the outcome before a new transfer (allow_private is kept). */
void wh_target_guard_reset(wh_target_guard *g);

/* The CURLOPT_OPENSOCKETFUNCTION; clientp is a wh_target_guard. Refuses
 * every purpose but CURLSOCKTYPE_IPCXN, and non-public addresses unless
 * allow_private; otherwise opens the socket (close-on-exec). */
curl_socket_t wh_target_opensocket(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *address);

/* Set on easy: the callback with g, protocols http,https (also for
 * redirects), no redirect following, no proxy. SL_ERR_INVALID when libcurl
 * refuses an option. */
sl_err wh_target_guard_apply(CURL *easy, wh_target_guard *g);

#endif
