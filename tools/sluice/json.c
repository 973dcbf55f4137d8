/* json.c: a streaming JSON writer, a JSON validator, a UTF-8 check and
 * base64 (see cli.h). Output goes straight to the stream: no buffers. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <string.h>

#define JSON_VALID_DEPTH 256 /* deepest nesting json_is_valid accepts */

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left) and its code
 * point, or 0 when the bytes there are not valid UTF-8. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
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

void utf8_write_escaped(FILE *f, sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0) {
            fprintf(f, "\\x%02x", p[i]);
            len = 1;
        } else if (cp == '\n') {
            fputs("\\n", f);
        } else if (cp == '\t') {
            fputs("\\t", f);
        } else if (cp == '\r') {
            fputs("\\r", f);
        } else if (is_control(cp)) {
            fprintf(f, "\\u%04" PRIx32, cp);
        } else {
            fwrite(p + i, 1, len, f);
        }
        i += len;
    }
}

/* ---- the writer --------------------------------------------------------------------- */

void jw_init(json_writer *w, FILE *f)
{
    memset(w, 0, sizeof *w);
    w->f = f;
}

/* Before any value: the comma between items, unless it follows a key. */
static void before_value(json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->depth <= JSON_DEPTH_MAX) {
        if (w->has_items[w->depth - 1])
            fputc(',', w->f);
        w->has_items[w->depth - 1] = true;
    }
}

static void open_container(json_writer *w, char ch)
{
    before_value(w);
    fputc(ch, w->f);
    w->depth++;
    if (w->depth <= JSON_DEPTH_MAX)
        w->has_items[w->depth - 1] = false;
}

static void close_container(json_writer *w, char ch)
{
    if (w->depth > 0)
        w->depth--;
    fputc(ch, w->f);
}

void jw_begin_object(json_writer *w)
{
    open_container(w, '{');
}

void jw_end_object(json_writer *w)
{
    close_container(w, '}');
}

void jw_begin_array(json_writer *w)
{
    open_container(w, '[');
}

void jw_end_array(json_writer *w)
{
    close_container(w, ']');
}

/* The body of a string (no quotes). */
static void write_escaped(FILE *f, sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0) {
            fputs("\\ufffd", f); /* an invalid byte */
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp == '\n')
            fputs("\\n", f);
        else if (cp == '\t')
            fputs("\\t", f);
        else if (cp == '\r')
            fputs("\\r", f);
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(f, "\\u%04" PRIx32, cp);
        else
            fwrite(p + i, 1, len, f);
        i += len;
    }
}

void jw_key_slice(json_writer *w, sl_slice key)
{
    before_value(w);
    fputc('"', w->f);
    write_escaped(w->f, key);
    fputs("\":", w->f);
    w->after_key = true;
}

void jw_key(json_writer *w, const char *key)
{
    jw_key_slice(w, sl_slice_of(key));
}

void jw_string(json_writer *w, sl_slice s)
{
    before_value(w);
    fputc('"', w->f);
    write_escaped(w->f, s);
    fputc('"', w->f);
}

void jw_cstr(json_writer *w, const char *s)
{
    jw_string(w, sl_slice_of(s));
}

void jw_uint(json_writer *w, uint64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void jw_bool(json_writer *w, bool v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->f);
}

void jw_raw(json_writer *w, sl_slice json)
{
    before_value(w);
    fwrite(json.ptr, 1, json.len, w->f);
}

void cli_base64(FILE *f, sl_slice bytes)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)bytes.ptr;
    for (size_t i = 0; i < bytes.len; i += 3) {
        size_t left = bytes.len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        char out[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63],
                       left > 1 ? alphabet[(v >> 6) & 63] : '=', left > 2 ? alphabet[v & 63] : '='};
        fwrite(out, 1, sizeof out, f);
    }
}

void jw_base64(json_writer *w, sl_slice bytes)
{
    before_value(w);
    fputc('"', w->f);
    cli_base64(w->f, bytes);
    fputc('"', w->f);
}

void jw_finish(json_writer *w)
{
    fputc('\n', w->f);
}

void jw_key_uint(json_writer *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    jw_uint(w, v);
}

void jw_key_str(json_writer *w, const char *key, sl_slice v)
{
    jw_key(w, key);
    jw_string(w, v);
}

void jw_key_cstr(json_writer *w, const char *key, const char *v)
{
    jw_key(w, key);
    jw_cstr(w, v);
}

void jw_key_bool(json_writer *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
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
