/* request_keys.c: see request_keys.h. */
#include "proto/request_keys.h"

#include <string.h>
#include "core/topic.h"

#define SCOPES_MAX 8 /* entries of "scopes": one per scope (SL_SCOPE_*) */

/* A key id field: required, or optional (absent or "": out = ""). */
static int read_id(const field_table *t, const char *key, bool required,
                   char out[SL_APIKEY_ID_LEN + 1], sl_wire_error *e)
{
    sl_slice s;
    bool present;
    out[0] = '\0';
    if (rf_opt_str(t, key, 64, &s, &present, e) != 0)
        return -1;
    if (!present || (!required && s.len == 0))
        return required ? rf_missing(e, t, key) : 0;
    if (!sl_apikey_id_valid(s))
        return rf_fail_at(e, t, key, "invalid_argument",
                          "\"%s\" is not a key id (key_ + 16 hex digits)", rf_show(s).text);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

/* scopes: 1..SCOPES_MAX scope names (a name given twice counts once). */
static int decode_scopes(const field_table *t, sl_apikey_config *cfg, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n;
    if (rf_req_array(t, "scopes", SCOPES_MAX, &items, &n, e) != 0)
        return -1;
    cfg->scopes = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_slice s;
        uint32_t bit;
        if (rf_element_str(&items, t, "scopes", i, 64, &s, e) != 0)
            return -1;
        if (!sl_scope_from_name(s, &bit)) {
            field_path p = rf_element_path(t, "scopes", i);
            return rf_fail(e, "invalid_argument", p.text, "%s: \"%s\" is not a scope", p.text,
                           rf_show(s).text);
        }
        cfg->scopes |= bit;
    }
    return 0;
}

/* topics: 0..SL_APIKEY_PATTERNS_MAX topic filters (none: every topic). */
static int decode_topics(const field_table *t, sl_apikey_config *cfg, sl_wire_error *e)
{
    sl_mp_cursor items;
    uint32_t n;
    bool present;
    if (rf_opt_array(t, "topics", &items, &n, &present, e) != 0)
        return -1;
    if (!present)
        return 0;
    if (n > SL_APIKEY_PATTERNS_MAX)
        return rf_fail_at(e, t, "topics", "too_large", "%u patterns is over the limit of %d",
                          (unsigned)n, SL_APIKEY_PATTERNS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        sl_slice *p = &cfg->patterns[i];
        if (rf_element_str(&items, t, "topics", i, SL_TOPIC_MAX, p, e) != 0)
            return -1;
        if (!sl_filter_valid(*p)) {
            field_path path = rf_element_path(t, "topics", i);
            return rf_fail(e, "invalid_argument", path.text, "%s: \"%s\" is not a topic filter",
                           path.text, rf_show(*p).text);
        }
    }
    cfg->npatterns = n;
    return 0;
}

int rk_decode_keys_create(const field_table *t, sl_request *req, sl_wire_error *e)
{
    sl_apikey_config *cfg = &req->keys_create.config;
    uint64_t rate;
    const char *field = NULL;
    sl_apikey_config_default(cfg);
    if (rf_req_str(t, "name", SL_APIKEY_NAME_MAX, &cfg->name, e) != 0 ||
        decode_scopes(t, cfg, e) != 0 || decode_topics(t, cfg, e) != 0 ||
        rf_uint_or(t, "rate_per_minute", 1, SL_APIKEY_RATE_MAX, SL_APIKEY_RATE_DEFAULT, &rate,
                   e) != 0)
        return -1;
    cfg->rate_per_minute = (uint32_t)rate;
    if (sl_apikey_config_check(cfg, &field) == SL_OK)
        return 0;
    return rf_fail_at(e, t, field ? field : "name", "invalid_argument",
                      "not a valid value (see PROTOCOL.md, keys.create)");
}

int rk_decode_keys_ref(const field_table *t, sl_request *req, sl_wire_error *e)
{
    return read_id(t, "id", true, req->keys_ref.id, e);
}

int rk_decode_keys_list(const field_table *t, sl_request *req, sl_wire_error *e)
{
    uint64_t limit;
    if (read_id(t, "after", false, req->keys_list.after, e) != 0 ||
        rf_uint_or(t, "limit", 1, SL_APIKEY_PAGE_MAX, SL_READ_DEFAULT, &limit, e) != 0)
        return -1;
    req->keys_list.limit = (size_t)limit;
    return 0;
}
