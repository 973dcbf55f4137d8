/* apikey.h: API keys: who may call sluiced when authentication is on.
 *
 * A key has an id ("key_" + 16 hex), a name, scopes, optional topic
 * patterns it is limited to, and a rate limit (requests per minute, applied
 * by the HTTP API). Its secret is shown once, at creation: the token
 * "slk_<16 hex of the id>_<43 base64url chars of 32 random bytes>". The
 * store keeps only a random 16-byte salt and SHA-256(salt || token); a
 * presented token is checked by recomputing that hash and comparing in
 * constant time. Nothing here decides what a scope allows: that is the
 * daemon's auth module (tools/sluiced/auth.h).
 *
 * Views point into LMDB memory: valid until the transaction ends or, in a
 * write transaction, until the next write.
 */
#ifndef SLUICE_CORE_APIKEY_H
#define SLUICE_CORE_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "slice.h"
#include "store.h"
#include "topic.h"

#define SL_APIKEY_ID_LEN 20          /* "key_" + 16 lowercase hex */
#define SL_APIKEY_TOKEN_LEN 64       /* "slk_" + 16 hex + "_" + 43 base64url */
#define SL_APIKEY_NAME_MAX 128
#define SL_APIKEY_PATTERNS_MAX 16
#define SL_APIKEY_RATE_DEFAULT 1000  /* requests per minute */
#define SL_APIKEY_RATE_MAX 1000000
#define SL_APIKEY_PAGE_MAX 1000

/* Scopes, as bits. */
enum {
    SL_SCOPE_ALL = 1u << 0,            /* "*": everything */
    SL_SCOPE_EVENTS_WRITE = 1u << 1,   /* "events:write": publish */
    SL_SCOPE_EVENTS_READ = 1u << 2,    /* "events:read": pull, ack, nack, extend, term,
                                          log.read, topics, group.get/list, dlq.list/get */
    SL_SCOPE_GROUPS_WRITE = 1u << 3,   /* "groups:write": group.create/update/delete,
                                          dlq.replay/purge */
    SL_SCOPE_WEBHOOKS_READ = 1u << 4,  /* "webhooks:read": webhook get/list/stats/
                                          deliveries/event_types */
    SL_SCOPE_WEBHOOKS_WRITE = 1u << 5, /* "webhooks:write": every other webhook op,
                                          including the bridge's targets and report */
    SL_SCOPE_KEYS_WRITE = 1u << 6,     /* "keys:write": keys.create/list/revoke */
    SL_SCOPE_STATS_READ = 1u << 7      /* "stats:read": stats, /metrics */
};
#define SL_SCOPE_MASK 0xffu

/* The wire name of one scope bit ("*", "events:write", ...); NULL if not one. */
const char *sl_scope_name(uint32_t bit);
/* The bit of a scope name; false when unknown. */
bool sl_scope_from_name(sl_slice name, uint32_t *bit);

typedef struct sl_apikey_config {
    sl_slice name;                              /* 1..SL_APIKEY_NAME_MAX bytes of UTF-8 */
    uint32_t scopes;                            /* at least one SL_SCOPE_* bit */
    uint32_t npatterns;                         /* 0: every topic; else 1..PATTERNS_MAX */
    sl_slice patterns[SL_APIKEY_PATTERNS_MAX];  /* topic filters (topic.h) the key is
                                                   limited to */
    uint32_t rate_per_minute;                   /* 1..SL_APIKEY_RATE_MAX; default
                                                   SL_APIKEY_RATE_DEFAULT */
} sl_apikey_config;

typedef struct sl_apikey_view {
    char id[SL_APIKEY_ID_LEN + 1];
    sl_apikey_config config;                    /* slices into LMDB */
    uint64_t created_ms;
} sl_apikey_view;

/* True when s is a well-formed key id ("key_" + 16 lowercase hex). */
bool sl_apikey_id_valid(sl_slice s);

/* Defaults: empty name, no scopes, no patterns, SL_APIKEY_RATE_DEFAULT. */
void sl_apikey_config_default(sl_apikey_config *cfg);

/* Validate; on failure *field names the field ("name", "scopes", "topics",
 * "rate_per_minute"; static) and SL_ERR_INVALID is returned. */
sl_err sl_apikey_config_check(const sl_apikey_config *cfg, const char **field);

/* Create a key. Its id goes to id_out and its token (the secret) to
 * token_out: returned this once, never stored. SL_ERR_INVALID, storage errors. */
sl_err sl_apikey_create(sl_txn *w, const sl_apikey_config *cfg, uint64_t now_ms,
                        char id_out[SL_APIKEY_ID_LEN + 1],
                        char token_out[SL_APIKEY_TOKEN_LEN + 1]);

/* Delete key id: requests with its token fail from the next one on.
 * SL_ERR_NOT_FOUND. */
sl_err sl_apikey_revoke(sl_txn *w, const char *id);

/* One key (never its secret). SL_ERR_NOT_FOUND (also for a malformed id). */
sl_err sl_apikey_get(sl_txn *t, const char *id, sl_apikey_view *out);

typedef sl_err (*sl_apikey_cb)(void *ctx, const sl_apikey_view *v);

/* Keys with id > after (NULL or "": from the first), in id order, at most
 * limit (1..SL_APIKEY_PAGE_MAX); next_after gets the id for the next page,
 * "" at the end. A non-OK cb result stops the walk and is returned. */
sl_err sl_apikey_list(sl_txn *t, const char *after, size_t limit, sl_apikey_cb cb, void *ctx,
                      char next_after[SL_APIKEY_ID_LEN + 1]);

/* The key a presented token belongs to: SL_OK and *out, or SL_ERR_NOT_FOUND
 * for anything else (malformed, unknown id, wrong secret: indistinguishable,
 * and the secret comparison takes the same time whatever matches). */
sl_err sl_apikey_verify(sl_txn *t, sl_slice token, sl_apikey_view *out);

/* True when topic is within the key's patterns (always, with none). */
bool sl_apikey_allows_topic(const sl_apikey_view *k, sl_slice topic);

/* True when every topic filter f may match is within the key's patterns
 * (always, with none): for a group's filters. */
bool sl_apikey_allows_filter(const sl_apikey_view *k, sl_slice filter);
/* (Checked pattern by pattern with sl_filter_covers: a filter that only the
 * union of several patterns covers, e.g. "a.>" under "a.*" and "a.*.>", is
 * refused. Refusing too much is the safe side.) */

#endif
