/* request_keys.h: proto-internal: decoders of the keys.* requests.
 *
 * request.c's op table calls them; each reads the fields of the request map
 * in t into its member of req (see request.h) and returns 0, or -1 with e
 * filled. Field rules: proto/PROTOCOL.md, "API keys".
 */
#ifndef SLUICE_PROTO_REQUEST_KEYS_H
#define SLUICE_PROTO_REQUEST_KEYS_H

#include "proto/request.h"
#include "proto/request_fields.h"

/* keys.create -> req->keys_create. */
int rk_decode_keys_create(const field_table *t, sl_request *req, sl_wire_error *e);
/* keys.get, keys.revoke -> req->keys_ref. */
int rk_decode_keys_ref(const field_table *t, sl_request *req, sl_wire_error *e);
/* keys.list -> req->keys_list. */
int rk_decode_keys_list(const field_table *t, sl_request *req, sl_wire_error *e);

#endif
