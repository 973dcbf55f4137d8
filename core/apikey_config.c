/* apikey_config.c: the pure parts of API keys: scope names, configuration
 * defaults and checks, key ids, and what topics a key's patterns allow. No
 * LMDB, no OpenSSL and no state here, so the protocol, the client and the
 * CLI can use them without a store. See apikey.h and apikey_record.h. */
#include "apikey.h"
#include "hex_id.h"

#include <string.h>
#include "apikey_record.h"
#include "topic.h"

#define ID_PREFIX "key_"

/* ---- scopes ----------------------------------------------------------------- */

static const char *const scope_names[] = {
    "*", "events:write", "events:read", "groups:write",
    "webhooks:read", "webhooks:write", "keys:write", "stats:read",
};
#define NSCOPES (sizeof scope_names / sizeof scope_names[0])

const char *sl_scope_name(uint32_t bit)
{
    for (size_t i = 0; i < NSCOPES; i++)
        if (bit == 1u << i)
            return scope_names[i];
    return NULL;
}

bool sl_scope_from_name(sl_slice name, uint32_t *bit)
{
    for (size_t i = 0; i < NSCOPES; i++)
        if (sl_slice_eq_cstr(name, scope_names[i])) {
            *bit = 1u << i;
            return true;
        }
    return false;
}

/* ---- configuration ---------------------------------------------------------- */

void sl_apikey_config_default(sl_apikey_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->name = (sl_slice){"", 0};
    cfg->rate_per_minute = SL_APIKEY_RATE_DEFAULT;
}

/* Length of the well-formed UTF-8 sequence at p[0..left) (1..4), 0 when
 * it is not one (overlong forms, surrogates, past U+10FFFF); *cp gets the
 * code point. */
static size_t utf8_seq(const unsigned char *p, size_t left, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                          : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    uint32_t v = n == 1 ? c : n == 2 ? c & 0x1Fu : n == 3 ? c & 0x0Fu : c & 0x07u;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[k] & 0x3Fu);
    }
    static const uint32_t min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_of[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* 1..SL_APIKEY_NAME_MAX bytes of UTF-8 without control characters. */
static bool name_ok(sl_slice s)
{
    if (s.len < 1 || s.len > SL_APIKEY_NAME_MAX || !s.ptr)
        return false;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t n = utf8_seq((const unsigned char *)s.ptr + i, s.len - i, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return false;
        i += n;
    }
    return true;
}

static bool patterns_ok(const sl_apikey_config *c)
{
    if (c->npatterns > SL_APIKEY_PATTERNS_MAX)
        return false;
    for (uint32_t i = 0; i < c->npatterns; i++)
        if (!sl_filter_valid(c->patterns[i]))
            return false;
    return true;
}

/* The first invalid field of c (its wire name), or NULL. */
static const char *config_bad_field(const sl_apikey_config *c)
{
    if (!name_ok(c->name))
        return "name";
    if (c->scopes == 0 || (c->scopes & ~SL_SCOPE_MASK) != 0)
        return "scopes";
    if (!patterns_ok(c))
        return "topics";
    if (c->rate_per_minute < 1 || c->rate_per_minute > SL_APIKEY_RATE_MAX)
        return "rate_per_minute";
    return NULL;
}

sl_err sl_apikey_config_check(const sl_apikey_config *cfg, const char **field)
{
    const char *bad = cfg ? config_bad_field(cfg) : "config";
    if (field)
        *field = bad;
    return bad ? SL_ERR_INVALID : SL_OK;
}

bool sl_apikey_id_valid(sl_slice s)
{
    uint64_t key;
    return sl_apikey_key_parse(s, &key);
}

/* ---- ids ---------------------------------------------------------------------- */

bool sl_apikey_key_parse(sl_slice id, uint64_t *key)
{
    return sl_hex_id_parse(id, ID_PREFIX, key);
}

void sl_apikey_key_format(uint64_t key, char out[SL_APIKEY_ID_LEN + 1])
{
    sl_hex_id_format(ID_PREFIX, key, out);
}

/* ---- topic limits -------------------------------------------------------------- */

bool sl_apikey_allows_topic(const sl_apikey_view *k, sl_slice topic)
{
    if (k->config.npatterns == 0)
        return true;
    for (uint32_t i = 0; i < k->config.npatterns && i < SL_APIKEY_PATTERNS_MAX; i++)
        if (sl_filter_match(k->config.patterns[i], topic))
            return true;
    return false;
}

bool sl_apikey_allows_filter(const sl_apikey_view *k, sl_slice filter)
{
    if (k->config.npatterns == 0)
        return true;
    for (uint32_t i = 0; i < k->config.npatterns && i < SL_APIKEY_PATTERNS_MAX; i++)
        if (sl_filter_covers(k->config.patterns[i], filter))
            return true;
    return false;
}
