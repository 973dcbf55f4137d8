/* webhook_config.c: the pure parts of webhook subscriptions: configuration
 * defaults and checks, subscription ids and keys, group names, result
 * names. No LMDB and no state here, so the protocol and client code can use
 * them without a store. See webhook.h and webhook_record.h. */
#include "webhook.h"
#include "hex_id.h"

#include <string.h>
#include "topic.h"
#include "webhook_record.h"

#define ID_PREFIX "wh_"
#define RETRY_ENTRY_MAX_MS 86400000u

/* ---- configuration ------------------------------------------------------ */

void sl_webhook_config_default(sl_webhook_config *cfg)
{
    static const uint64_t schedule[] = {30000, 300000, 1800000, 7200000};
    memset(cfg, 0, sizeof *cfg);
    cfg->name = (sl_slice){"", 0};
    cfg->description = (sl_slice){"", 0};
    cfg->url = (sl_slice){"", 0};
    cfg->nfilters = 1;
    cfg->filters[0] = sl_slice_of(">");
    cfg->active = true;
    cfg->nretry = sizeof schedule / sizeof schedule[0];
    memcpy(cfg->retry_ms, schedule, sizeof schedule);
    cfg->timeout_ms = 10000;
    cfg->max_in_flight = 16;
    cfg->rate_limit = 0;
    cfg->disable_after = 5;
}

/* Length of the UTF-8 sequence at s[i] (1..4), 0 when it is not well-formed
 * (overlong forms, surrogates and code points past U+10FFFF are not). *cp
 * gets the code point. */
static size_t utf8_seq(sl_slice s, size_t i, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s.ptr + i;
    size_t left = s.len - i;
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

/* True when s is well-formed UTF-8 of min..max bytes; without control
 * characters (C0, DEL, C1) when strict, else only without NUL. */
static bool text_ok(sl_slice s, size_t min, size_t max, bool strict)
{
    if (s.len < min || s.len > max || (s.len && !s.ptr))
        return false;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t n = utf8_seq(s, i, &cp);
        if (n == 0 || cp == 0)
            return false;
        if (strict && (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)))
            return false;
        i += n;
    }
    return true;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when s starts with prefix (lowercase ASCII), ignoring case. */
static bool prefix_ci(sl_slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (s.len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s.ptr[i]) != prefix[i])
            return false;
    return true;
}

static bool eq_ci(sl_slice a, sl_slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower(a.ptr[i]) != lower(b.ptr[i]))
            return false;
    return true;
}

/* The port after a host: empty, or 1..65535 in decimal. */
static bool port_ok(const char *p, size_t n)
{
    if (n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return n == 0 || (v >= 1 && v <= 65535);
}

/* The authority of an http(s) URL: [userinfo@]host[:port], host non-empty
 * (a name, an IPv4 address or an [IPv6] literal). */
static bool authority_ok(const char *a, size_t n)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    size_t host_end;
    if (n && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close || close == a + 1)
            return false;
        host_end = (size_t)(close - a) + 1;
    } else {
        const char *colon = memchr(a, ':', n);
        host_end = colon ? (size_t)(colon - a) : n;
        if (host_end == 0)
            return false;
    }
    if (host_end == n)
        return true;
    return a[host_end] == ':' && port_ok(a + host_end + 1, n - host_end - 1);
}

static bool url_ok(sl_slice u)
{
    if (u.len == 0 || u.len > SL_WEBHOOK_URL_MAX || !u.ptr)
        return false;
    for (size_t i = 0; i < u.len; i++) {
        unsigned char c = (unsigned char)u.ptr[i];
        if (c <= 0x20 || c == 0x7F)
            return false;
    }
    size_t start = prefix_ci(u, "http://") ? 7 : prefix_ci(u, "https://") ? 8 : 0;
    if (start == 0)
        return false;
    size_t end = start;
    while (end < u.len && u.ptr[end] != '/' && u.ptr[end] != '?' && u.ptr[end] != '#')
        end++;
    return authority_ok(u.ptr + start, end - start);
}

static bool filters_ok(const sl_webhook_config *c)
{
    if (c->nfilters < 1 || c->nfilters > SL_WEBHOOK_FILTERS_MAX)
        return false;
    for (uint32_t i = 0; i < c->nfilters; i++)
        if (!sl_filter_valid(c->filters[i]))
            return false;
    return true;
}

static bool retry_ok(const sl_webhook_config *c)
{
    if (c->nretry > SL_WEBHOOK_RETRY_MAX)
        return false;
    for (uint32_t i = 0; i < c->nretry; i++)
        if (c->retry_ms[i] < 1 || c->retry_ms[i] > RETRY_ENTRY_MAX_MS)
            return false;
    return true;
}

/* RFC 7230 tchar. */
static bool tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* True when name is one the bridge sets itself. */
static bool header_reserved(sl_slice name)
{
    static const char *const fixed[] = {"content-type", "content-length", "user-agent",
                                        "host", "transfer-encoding", "connection",
                                        "expect"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (eq_ci(name, sl_slice_of(fixed[i])))
            return true;
    return prefix_ci(name, "x-webhook-") || prefix_ci(name, "webhook-");
}

static bool header_ok(const sl_header *h)
{
    sl_slice k = h->key, v = h->value;
    if (k.len < 1 || k.len > SL_WEBHOOK_HEADER_NAME_MAX || !k.ptr || header_reserved(k))
        return false;
    for (size_t i = 0; i < k.len; i++)
        if (!tchar(k.ptr[i]))
            return false;
    if (v.len > SL_WEBHOOK_HEADER_VALUE_MAX || (v.len && !v.ptr))
        return false;
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] == '\r' || v.ptr[i] == '\n' || v.ptr[i] == '\0')
            return false;
    return true;
}

static bool headers_ok(const sl_webhook_config *c)
{
    if (c->nheaders > SL_WEBHOOK_HEADERS_MAX)
        return false;
    for (uint32_t i = 0; i < c->nheaders; i++) {
        if (!header_ok(&c->headers[i]))
            return false;
        for (uint32_t j = 0; j < i; j++)
            if (eq_ci(c->headers[i].key, c->headers[j].key))
                return false; /* the same name twice */
    }
    return true;
}

/* The first invalid field of cfg (its wire name), or NULL. */
static const char *config_bad_field(const sl_webhook_config *c)
{
    if (!text_ok(c->name, 1, SL_WEBHOOK_NAME_MAX, true))
        return "name";
    if (!text_ok(c->description, 0, SL_WEBHOOK_DESC_MAX, false))
        return "description";
    if (!url_ok(c->url))
        return "url";
    if (!filters_ok(c))
        return "filters";
    if (!retry_ok(c))
        return "retry_schedule_ms";
    if (c->timeout_ms < 1 || c->timeout_ms > SL_WEBHOOK_TIMEOUT_MAX_MS)
        return "timeout_ms";
    if (c->max_in_flight < 1 || c->max_in_flight > SL_WEBHOOK_IN_FLIGHT_MAX)
        return "max_in_flight";
    if (c->rate_limit > SL_WEBHOOK_RATE_MAX)
        return "rate_limit";
    if (!headers_ok(c))
        return "headers";
    return NULL;
}

sl_err sl_webhook_config_check(const sl_webhook_config *cfg, const char **field)
{
    const char *bad = cfg ? config_bad_field(cfg) : "config";
    if (field)
        *field = bad;
    return bad ? SL_ERR_INVALID : SL_OK;
}

void sl_webhook_group_name(const char *id, char out[SL_GROUP_NAME_MAX + 1])
{
    size_t p = strlen(SL_WEBHOOK_GROUP_PREFIX);
    size_t n = id ? strnlen(id, SL_WEBHOOK_ID_LEN) : 0;
    memcpy(out, SL_WEBHOOK_GROUP_PREFIX, p);
    if (n)
        memcpy(out + p, id, n);
    out[p + n] = '\0';
}

bool sl_webhook_id_valid(sl_slice s)
{
    uint64_t key;
    return sl_webhook_key_parse(s, &key);
}

/* ---- ids ------------------------------------------------------------------ */

bool sl_webhook_key_parse(sl_slice id, uint64_t *key)
{
    return sl_hex_id_parse(id, ID_PREFIX, key);
}

void sl_webhook_key_format(uint64_t key, char out[SL_WEBHOOK_ID_LEN + 1])
{
    sl_hex_id_format(ID_PREFIX, key, out);
}

/* ---- names ---------------------------------------------------------------------- */

const char *sl_attempt_result_name(sl_attempt_result r)
{
    switch (r) {
    case SL_ATTEMPT_DELIVERED:
        return "delivered";
    case SL_ATTEMPT_RETRY:
        return "retry";
    case SL_ATTEMPT_DEAD:
        return "dead";
    case SL_ATTEMPT_DISABLED:
        return "disabled";
    case SL_ATTEMPT_STALE:
        return "stale";
    }
    return "stale";
}
