/* client_keys.h: the API key operations of the C client library
 * (PROTOCOL.md, "API keys"; the model: core/apikey.h).
 *
 * Same conventions as proto/client.h, which this extends: one blocking
 * function per operation, each on its own nng context; every call fills a
 * caller-provided sl_client_result that owns everything reachable from it
 * and that the caller releases with sl_client_result_free() whatever the
 * status; request arguments are only borrowed during the call. Replies
 * decode into res->apikey / res->apikeys (shape: sl_client_apikey in
 * client.h). The library checks no protocol limit (scope names, topic
 * syntax, counts): the server does. A NULL where something is required, or
 * a count with a NULL array, is SL_CLIENT_ERR_ARGUMENT.
 *
 * The encoders (sl_client_encode_keys_*) are the very functions the calls
 * use; with sl_client_decode_reply they need no network.
 */
#ifndef SLUICE_PROTO_CLIENT_KEYS_H
#define SLUICE_PROTO_CLIENT_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "core/slice.h"
#include "proto/client.h"

/* What keys.create sends. Every slice is borrowed during the call. */
typedef struct sl_client_key_spec {
    sl_slice name;                /* sent always */
    const sl_slice *scopes;       /* nscopes scope names, sent as given ("events:read", ...) */
    size_t nscopes;
    const sl_slice *topics;       /* ntopics topic patterns; ntopics 0: omitted (every topic) */
    size_t ntopics;
    uint32_t rate_per_minute;     /* 0: omitted (the server's default) */
} sl_client_key_spec;

/* ---- calls ------------------------------------------------------------------------ */

/* keys.create: res->apikey (key, and token: "slk_...", returned this once). */
sl_client_status sl_client_keys_create(sl_client *c, const sl_client_key_spec *spec,
                                       sl_client_result *res);

/* keys.get: res->apikey (token len 0). */
sl_client_status sl_client_keys_get(sl_client *c, const char *id, sl_client_result *res);

/* keys.list: keys with id > after (NULL or "": from the first), at most
 * limit (0: omitted, the server's default of 100). res->apikeys,
 * next_after len 0 on the last page. */
sl_client_status sl_client_keys_list(sl_client *c, const char *after, uint32_t limit,
                                     sl_client_result *res);

/* keys.revoke: the key's token fails from the next request on. No result
 * fields. */
sl_client_status sl_client_keys_revoke(sl_client *c, const char *id, sl_client_result *res);

/* ---- encoders: requests without a network -------------------------------------------
 * Each appends one complete request to out; arguments as for the matching
 * call. Returns OK, ARGUMENT or NOMEM; on error out->len is unchanged. */

sl_client_status sl_client_encode_keys_create(sl_client_buf *out,
                                              const sl_client_key_spec *spec);
/* op KEYS_GET or KEYS_REVOKE. */
sl_client_status sl_client_encode_keys_id(sl_client_buf *out, sl_client_op op, const char *id);
sl_client_status sl_client_encode_keys_list(sl_client_buf *out, const char *after,
                                            uint32_t limit);

#endif
