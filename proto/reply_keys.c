/* reply_keys.c: see reply_keys.h. */
#include "proto/reply_keys.h"

/* scopes: the names of the bits set, lowest bit first. */
static sl_err pack_scopes(sl_reply_buf *r, uint32_t scopes)
{
    uint32_t n = 0;
    for (uint32_t bit = 1; bit && bit <= SL_SCOPE_MASK; bit <<= 1)
        n += (scopes & bit) && sl_scope_name(bit) ? 1 : 0;
    sl_err rc = sl_reply_key(r, "scopes");
    if (rc == SL_OK)
        rc = sl_reply_array(r, n);
    for (uint32_t bit = 1; bit && bit <= SL_SCOPE_MASK && rc == SL_OK; bit <<= 1)
        if ((scopes & bit) && sl_scope_name(bit))
            rc = sl_reply_str(r, sl_slice_of(sl_scope_name(bit)));
    return rc;
}

static sl_err pack_topics(sl_reply_buf *r, const sl_apikey_config *c)
{
    uint32_t n = c->npatterns > SL_APIKEY_PATTERNS_MAX ? SL_APIKEY_PATTERNS_MAX : c->npatterns;
    sl_err rc = sl_reply_key(r, "topics");
    if (rc == SL_OK)
        rc = sl_reply_array(r, n);
    for (uint32_t i = 0; i < n && rc == SL_OK; i++)
        rc = sl_reply_str(r, c->patterns[i]);
    return rc;
}

sl_err sl_reply_apikey(sl_reply_buf *r, const sl_apikey_view *v)
{
    sl_err rc = sl_reply_map(r, 6);
    if (rc == SL_OK)
        rc = sl_reply_kv_str(r, "id", v->id);
    if (rc == SL_OK)
        rc = sl_reply_kv_slice(r, "name", v->config.name);
    if (rc == SL_OK)
        rc = pack_scopes(r, v->config.scopes);
    if (rc == SL_OK)
        rc = pack_topics(r, &v->config);
    if (rc == SL_OK)
        rc = sl_reply_kv_uint(r, "rate_per_minute", v->config.rate_per_minute);
    return rc == SL_OK ? sl_reply_kv_uint(r, "created_ms", v->created_ms) : rc;
}
