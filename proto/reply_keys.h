/* reply_keys.h: encoding the API key shape of proto/PROTOCOL.md ("API
 * keys"), with the building blocks of reply.h. Returns SL_OK or
 * SL_ERR_NOMEM (then r holds a partial object). */
#ifndef SLUICE_PROTO_REPLY_KEYS_H
#define SLUICE_PROTO_REPLY_KEYS_H

#include "core/apikey.h"
#include "proto/reply.h"

/* Key map {id, name, scopes, topics, rate_per_minute, created_ms} of v:
 * never the token nor anything derived from it. */
sl_err sl_reply_apikey(sl_reply_buf *r, const sl_apikey_view *v);

#endif
