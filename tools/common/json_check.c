/* json_check.c: the UTF-8 decoder and checks, and the JSON validator (see
 * json_check.h). Recursive descent over the bytes; nothing allocated. */
#include "tools/common/json_check.h"

#include <string.h>

/* ---- UTF-8 ---------------------------------------------------------------------- */

size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len;
    uint32_t min;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, *cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, *cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, *cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool utf8_is_clean_text(sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0 || is_control(cp))
            return false;
        i += len;
    }
    return true;
}

bool utf8_is_valid(sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

/* ---- the validator (RFC 8259) ------------------------------------------------------------ */

typedef struct scan {
    const unsigned char *p;  /* next byte */
    const unsigned char *end;/* one past the last */
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool take(scan *s, char ch)
{
    if (s->p < s->end && *s->p == (unsigned char)ch) {
        s->p++;
        return true;
    }
    return false;
}

static bool take_word(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool is_digit(scan *s)
{
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static bool take_digits(scan *s)
{
    if (!is_digit(s))
        return false;
    while (is_digit(s))
        s->p++;
    return true;
}

static bool scan_number(scan *s)
{
    take(s, '-');
    if (!take(s, '0') && !take_digits(s))
        return false;
    if (take(s, '.') && !take_digits(s))
        return false;
    if (take(s, 'e') || take(s, 'E')) {
        if (!take(s, '+'))
            take(s, '-');
        if (!take_digits(s))
            return false;
    }
    return true;
}

static bool is_hex(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* After the opening quote. */
static bool scan_string(scan *s)
{
    while (s->p < s->end) {
        unsigned char ch = *s->p;
        if (ch == '"') {
            s->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            s->p++;
            if (s->p >= s->end)
                return false;
            ch = *s->p++;
            if (ch == 'u') {
                for (int i = 0; i < 4; i++)
                    if (s->p >= s->end || !is_hex(*s->p++))
                        return false;
            } else if (!strchr("\"\\/bfnrt", ch) || ch == '\0') {
                return false;
            }
            continue;
        }
        uint32_t cp;
        size_t len = utf8_next(s->p, (size_t)(s->end - s->p), &cp);
        if (len == 0)
            return false;
        s->p += len;
    }
    return false;
}

static bool scan_value(scan *s, unsigned depth);

/* After '[' or '{': the items up to the closing bracket. */
static bool scan_items(scan *s, unsigned depth, bool object)
{
    char close = object ? '}' : ']';
    skip_ws(s);
    if (take(s, close))
        return true;
    for (;;) {
        skip_ws(s);
        if (object) {
            if (!take(s, '"') || !scan_string(s))
                return false;
            skip_ws(s);
            if (!take(s, ':'))
                return false;
        }
        if (!scan_value(s, depth + 1))
            return false;
        skip_ws(s);
        if (take(s, close))
            return true;
        if (!take(s, ','))
            return false;
    }
}

static bool scan_value(scan *s, unsigned depth)
{
    if (depth > JSON_VALID_DEPTH)
        return false;
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{': s->p++; return scan_items(s, depth, true);
    case '[': s->p++; return scan_items(s, depth, false);
    case '"': s->p++; return scan_string(s);
    case 't': return take_word(s, "true");
    case 'f': return take_word(s, "false");
    case 'n': return take_word(s, "null");
    default: return scan_number(s);
    }
}

bool json_is_valid(sl_slice s)
{
    if (s.len == 0)
        return false;
    scan sc = {(const unsigned char *)s.ptr, (const unsigned char *)s.ptr + s.len};
    if (!scan_value(&sc, 0))
        return false;
    skip_ws(&sc);
    return sc.p == sc.end;
}
