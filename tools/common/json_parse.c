/* json_parse.c: the strict JSON parser and the token accessors (see
 * json_parse.h).
 *
 * The parser is a loop over three states (a value is due, a key is due, a
 * value just ended), not a recursion: nesting costs no C stack. While a
 * container is open its token keeps its parent's index in `next`; closing it
 * restores the parent and sets `next` for real. Duplicate keys are found when
 * an object closes, by sorting its keys on their unescaped bytes (a stable
 * merge sort in a scratch array the parser owns and frees), so a hostile
 * object of many keys costs O(n log n), never O(n^2).
 */
#include "tools/common/json_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/common/json_check.h"

#define NO_TOKEN UINT32_MAX /* "no parent": the root's */
#define MIN_TOKS 16         /* first allocation of the token array */
#define KEY_SHOWN_MAX 64    /* bytes of a duplicate key quoted in the message */

typedef enum want {
    WANT_VALUE, /* a value is due (the root, an array element, after ':') */
    WANT_KEY,   /* a key is due (after ',' in an object) */
    WANT_MORE   /* a value ended: ',' or the closing bracket or the end is due */
} want;

typedef struct parser {
    json_doc *doc;          /* output: doc->toks grows as tokens come */
    const unsigned char *p; /* the text */
    size_t len;             /* its length */
    size_t pos;             /* next byte to read */
    size_t max_tokens;      /* the caller's limit */
    unsigned max_depth;     /* the caller's limit */
    unsigned depth;         /* open containers */
    uint32_t cur;           /* the innermost open container, or NO_TOKEN */
    json_error *err;        /* where failures are described (may be NULL) */
    uint32_t *keys;         /* scratch for the duplicate check (owned, 2 x keys_cap) */
    size_t keys_cap;        /* keys that fit in one half of it */
} parser;

/* ---- errors --------------------------------------------------------------------- */

static sl_err fail(parser *ps, sl_err code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sl_err fail(parser *ps, sl_err code, size_t offset, const char *fmt, ...)
{
    if (ps->err) {
        ps->err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err->message, sizeof ps->err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The text ended where more was due; what says where. */
static sl_err fail_end(parser *ps, const char *what)
{
    return fail(ps, SL_ERR_INVALID, ps->len, "unexpected end of input %s", what);
}

/* A readable name for the byte c into out. */
static const char *describe(unsigned char c, char out[16])
{
    if (c == '\'')
        snprintf(out, 16, "single quote");
    else if (c > 0x20 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", c);
    return out;
}

static sl_err fail_byte(parser *ps, size_t at, const char *expected)
{
    char d[16];
    return fail(ps, SL_ERR_INVALID, at, "unexpected %s, expected %s", describe(ps->p[at], d),
                expected);
}

/* ---- tokens --------------------------------------------------------------------- */

static sl_err grow(parser *ps)
{
    json_doc *d = ps->doc;
    if (d->ntoks < d->cap)
        return SL_OK;
    size_t cap = d->cap ? d->cap * 2 : MIN_TOKS;
    if (cap > ps->max_tokens)
        cap = ps->max_tokens;
    json_tok *t = cap > SIZE_MAX / sizeof *t ? NULL : realloc(d->toks, cap * sizeof *t);
    if (!t)
        return fail(ps, SL_ERR_NOMEM, ps->pos, "out of memory for %zu tokens", cap);
    d->toks = t;
    d->cap = cap;
    return SL_OK;
}

/* A new token of the value starting at byte at; *index gets its index. */
static sl_err add_tok(parser *ps, json_type type, size_t at, uint32_t *index)
{
    json_doc *d = ps->doc;
    if (d->ntoks >= ps->max_tokens)
        return fail(ps, SL_ERR_TOO_LARGE, at, "more than %zu tokens (values and keys)",
                    ps->max_tokens);
    sl_err err = grow(ps);
    if (err != SL_OK)
        return err;
    uint32_t i = (uint32_t)d->ntoks++;
    json_tok t = {type, (uint32_t)at, (uint32_t)at, 0, i + 1};
    d->toks[i] = t;
    *index = i;
    return SL_OK;
}

/* ---- scalars -------------------------------------------------------------------- */

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        ps->pos++;
    }
}

static sl_err parse_literal(parser *ps, const char *word, json_type type)
{
    size_t n = strlen(word), left = ps->len - ps->pos;
    const unsigned char *at = ps->p + ps->pos;
    if (left < n && memcmp(at, word, left) == 0)
        return fail_end(ps, "in a literal");
    if (left < n || memcmp(at, word, n) != 0)
        return fail(ps, SL_ERR_INVALID, ps->pos, "invalid literal (expected '%s')", word);
    uint32_t t;
    sl_err err = add_tok(ps, type, ps->pos, &t);
    if (err != SL_OK)
        return err;
    ps->pos += n;
    ps->doc->toks[t].end = (uint32_t)ps->pos;
    return SL_OK;
}

static bool digit_at(const parser *ps, size_t i)
{
    return i < ps->len && ps->p[i] >= '0' && ps->p[i] <= '9';
}

/* One or more digits at *i, which moves past them; where says after what. */
static sl_err take_digits(parser *ps, size_t *i, const char *where)
{
    if (*i >= ps->len)
        return fail_end(ps, "in a number");
    if (!digit_at(ps, *i))
        return fail(ps, SL_ERR_INVALID, *i, "expected a digit %s", where);
    while (digit_at(ps, *i))
        (*i)++;
    return SL_OK;
}

/* At '-' or a digit. */
static sl_err parse_number(parser *ps)
{
    size_t i = ps->pos;
    sl_err err = SL_OK;
    if (ps->p[i] == '-')
        i++;
    if (i < ps->len && ps->p[i] == '0') {
        if (digit_at(ps, ++i))
            return fail(ps, SL_ERR_INVALID, i - 1, "leading zero in a number");
    } else {
        err = take_digits(ps, &i, "after '-'");
    }
    if (err == SL_OK && i < ps->len && ps->p[i] == '.') {
        i++;
        err = take_digits(ps, &i, "after '.' in a number");
    }
    if (err == SL_OK && i < ps->len && (ps->p[i] == 'e' || ps->p[i] == 'E')) {
        i++;
        if (i < ps->len && (ps->p[i] == '+' || ps->p[i] == '-'))
            i++;
        err = take_digits(ps, &i, "in the exponent of a number");
    }
    uint32_t t;
    if (err == SL_OK)
        err = add_tok(ps, JSON_NUMBER, ps->pos, &t);
    if (err != SL_OK)
        return err;
    ps->doc->toks[t].end = (uint32_t)i;
    ps->pos = i;
    return SL_OK;
}

/* ---- strings -------------------------------------------------------------------- */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at i into *cp. */
static sl_err scan_hex4(parser *ps, size_t i, uint32_t *cp)
{
    uint32_t v = 0;
    for (size_t k = i; k < i + 4; k++) {
        if (k >= ps->len)
            return fail_end(ps, "in a \\u escape");
        int h = hex_value(ps->p[k]);
        if (h < 0)
            return fail(ps, SL_ERR_INVALID, k, "expected 4 hex digits after \\u");
        v = v << 4 | (uint32_t)h;
    }
    *cp = v;
    return SL_OK;
}

/* "\u" at i (ps->p[i] is the backslash) followed by a low surrogate. */
static sl_err scan_low_surrogate(parser *ps, size_t i, size_t high_at)
{
    if (i >= ps->len || (ps->p[i] == '\\' && i + 1 >= ps->len))
        return fail_end(ps, "after a high surrogate");
    uint32_t low = 0;
    if (ps->p[i] == '\\' && ps->p[i + 1] == 'u') {
        sl_err err = scan_hex4(ps, i + 2, &low);
        if (err != SL_OK)
            return err;
    }
    if (low < 0xdc00 || low > 0xdfff)
        return fail(ps, SL_ERR_INVALID, high_at, "unpaired surrogate in a \\u escape");
    return SL_OK;
}

/* The escape whose backslash is at *i, which moves past it. */
static sl_err scan_escape(parser *ps, size_t *i)
{
    size_t at = *i;
    if (at + 1 >= ps->len)
        return fail_end(ps, "in a string escape");
    unsigned char c = ps->p[at + 1];
    if (c != 'u') {
        char d[16];
        if (!memchr("\"\\/bfnrt", c, 8))
            return fail(ps, SL_ERR_INVALID, at, "invalid escape: backslash then %s",
                        describe(c, d));
        *i = at + 2;
        return SL_OK;
    }
    uint32_t cp;
    sl_err err = scan_hex4(ps, at + 2, &cp);
    if (err == SL_OK && cp >= 0xdc00 && cp <= 0xdfff)
        err = fail(ps, SL_ERR_INVALID, at, "unpaired surrogate in a \\u escape");
    if (err == SL_OK && cp >= 0xd800 && cp <= 0xdbff) {
        err = scan_low_surrogate(ps, at + 6, at);
        at += 6;
    }
    *i = at + 6;
    return err;
}

/* Bytes of the UTF-8 sequence a lead byte announces (0: not a lead). */
static size_t utf8_seq_len(unsigned char lead)
{
    if ((lead & 0xe0) == 0xc0)
        return 2;
    if ((lead & 0xf0) == 0xe0)
        return 3;
    if ((lead & 0xf8) == 0xf0)
        return 4;
    return 0;
}

/* The non-ASCII character at *i, which moves past it. */
static sl_err scan_utf8(parser *ps, size_t *i)
{
    uint32_t cp;
    size_t left = ps->len - *i, n = utf8_next(ps->p + *i, left, &cp);
    if (n != 0) {
        *i += n;
        return SL_OK;
    }
    size_t need = utf8_seq_len(ps->p[*i]);
    bool cut = need > left;
    for (size_t k = 1; cut && k < left; k++)
        cut = (ps->p[*i + k] & 0xc0) == 0x80;
    if (cut)
        return fail_end(ps, "in a string");
    return fail(ps, SL_ERR_INVALID, *i, "invalid UTF-8 in a string");
}

/* The string whose opening quote is at ps->pos: checked, a token made, pos
 * moved past the closing quote. */
static sl_err parse_string(parser *ps)
{
    uint32_t t;
    sl_err err = add_tok(ps, JSON_STRING, ps->pos, &t);
    size_t i = ps->pos + 1;
    while (err == SL_OK) {
        if (i >= ps->len)
            return fail_end(ps, "in a string");
        unsigned char c = ps->p[i];
        if (c == '"')
            break;
        if (c == '\\')
            err = scan_escape(ps, &i);
        else if (c < 0x20)
            err = fail(ps, SL_ERR_INVALID, i, "control character 0x%02x in a string", c);
        else if (c < 0x80)
            i++;
        else
            err = scan_utf8(ps, &i);
    }
    if (err != SL_OK)
        return err;
    ps->doc->toks[t].start = (uint32_t)ps->pos + 1;
    ps->doc->toks[t].end = (uint32_t)i;
    ps->pos = i + 1;
    return SL_OK;
}

/* ---- unescaping (of strings the parser accepted) -------------------------------- */

typedef struct unescaper {
    const unsigned char *p;   /* next byte of the escaped content */
    const unsigned char *end; /* one past its last */
    unsigned char pend[4];    /* the UTF-8 of a \u escape being handed out */
    unsigned npend, ipend;    /* its length, and the next byte to hand out */
} unescaper;

static void unesc_init(unescaper *u, const json_doc *doc, const json_tok *tok)
{
    u->p = (const unsigned char *)doc->text + tok->start;
    u->end = (const unsigned char *)doc->text + tok->end;
    u->npend = u->ipend = 0;
}

static uint32_t hex4(const unsigned char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (uint32_t)hex_value(p[k]);
    return v;
}

static unsigned utf8_put(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* After "\u": the first byte of the character (a pair is joined). */
static int unesc_u(unescaper *u)
{
    if (u->end - u->p < 4) { /* not a parsed string: stop, never overread */
        u->p = u->end;
        return -1;
    }
    uint32_t cp = hex4(u->p);
    u->p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff && u->end - u->p >= 6) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(u->p + 2) - 0xdc00);
        u->p += 6;
    }
    u->npend = utf8_put(cp, u->pend);
    u->ipend = 1;
    return u->pend[0];
}

/* The next unescaped byte, or -1 at the end. */
static int unesc_next(unescaper *u)
{
    if (u->ipend < u->npend)
        return u->pend[u->ipend++];
    if (u->p >= u->end)
        return -1;
    unsigned char c = *u->p++;
    if (c != '\\' || u->p >= u->end)
        return c;
    switch (c = *u->p++) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': return unesc_u(u);
    default: return c; /* " \ / */
    }
}

/* Order of two string tokens by their unescaped bytes. */
static int unesc_cmp(const json_doc *doc, const json_tok *a, const json_tok *b)
{
    unescaper ua, ub;
    unesc_init(&ua, doc, a);
    unesc_init(&ub, doc, b);
    for (;;) {
        int ca = unesc_next(&ua), cb = unesc_next(&ub);
        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (ca < 0)
            return 0;
    }
}

/* ---- duplicate keys ------------------------------------------------------------- */

/* Stable merge sort of key token indices a[0..n) by unescaped key. */
static void sort_keys(const json_doc *doc, uint32_t *a, uint32_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    sort_keys(doc, a, tmp, h);
    sort_keys(doc, a + h, tmp, n - h);
    while (i < h && j < n)
        tmp[k++] = unesc_cmp(doc, &doc->toks[a[j]], &doc->toks[a[i]]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static sl_err fail_duplicate(parser *ps, uint32_t key)
{
    const json_tok *t = &ps->doc->toks[key];
    size_t n = t->end - t->start;
    bool cut = n > KEY_SHOWN_MAX;
    if (cut) { /* end on a character boundary */
        n = KEY_SHOWN_MAX;
        while (n > 0 && (ps->p[t->start + n] & 0xc0) == 0x80)
            n--;
    }
    return fail(ps, SL_ERR_INVALID, t->start - 1, "duplicate key \"%.*s%s\"", (int)n,
                (const char *)ps->p + t->start, cut ? "..." : "");
}

/* The object obj has just closed: fail if two of its keys are equal. */
static sl_err check_duplicates(parser *ps, uint32_t obj)
{
    const json_doc *d = ps->doc;
    size_t n = d->toks[obj].size;
    if (n > ps->keys_cap) {
        uint32_t *k = n > SIZE_MAX / (2 * sizeof *k) ? NULL
                                                      : realloc(ps->keys, 2 * n * sizeof *k);
        if (!k)
            return fail(ps, SL_ERR_NOMEM, ps->pos, "out of memory for %zu keys", n);
        ps->keys = k;
        ps->keys_cap = n;
    }
    size_t count = 0;
    for (uint32_t i = obj + 1; count < n; i = d->toks[i + 1].next)
        ps->keys[count++] = i;
    sort_keys(d, ps->keys, ps->keys + n, n);
    uint32_t dup = NO_TOKEN; /* the earliest key equal to one before it */
    for (size_t j = 1; j < n; j++)
        if (ps->keys[j] < dup &&
            unesc_cmp(d, &d->toks[ps->keys[j - 1]], &d->toks[ps->keys[j]]) == 0)
            dup = ps->keys[j];
    return dup == NO_TOKEN ? SL_OK : fail_duplicate(ps, dup);
}

/* ---- containers ----------------------------------------------------------------- */

/* The innermost open container's closing bracket is at pos. */
static sl_err close_container(parser *ps)
{
    json_tok *t = &ps->doc->toks[ps->cur];
    uint32_t self = ps->cur, parent = t->next;
    t->end = (uint32_t)++ps->pos;
    t->next = (uint32_t)ps->doc->ntoks;
    ps->cur = parent;
    ps->depth--;
    if (t->type == JSON_OBJECT && t->size > 1)
        return check_duplicates(ps, self);
    return SL_OK;
}

/* At '{' or '['; *w gets what comes next. */
static sl_err open_container(parser *ps, json_type type, want *w)
{
    if (ps->depth >= ps->max_depth)
        return fail(ps, SL_ERR_INVALID, ps->pos, "nesting deeper than %u levels", ps->max_depth);
    uint32_t t;
    sl_err err = add_tok(ps, type, ps->pos, &t);
    if (err != SL_OK)
        return err;
    ps->doc->toks[t].next = ps->cur; /* the parent, until it closes */
    ps->cur = t;
    ps->depth++;
    ps->pos++;
    skip_ws(ps);
    bool object = type == JSON_OBJECT;
    if (ps->pos < ps->len && ps->p[ps->pos] == (object ? '}' : ']')) {
        *w = WANT_MORE;
        return close_container(ps);
    }
    *w = object ? WANT_KEY : WANT_VALUE;
    return SL_OK;
}

/* ---- the states ----------------------------------------------------------------- */

static sl_err step_value(parser *ps, want *w)
{
    if (ps->pos >= ps->len && ps->cur == NO_TOKEN)
        return fail(ps, SL_ERR_INVALID, ps->len, "empty input, expected a JSON value");
    if (ps->pos >= ps->len)
        return fail_end(ps, "(expected a value)");
    json_tok *parent = ps->cur == NO_TOKEN ? NULL : &ps->doc->toks[ps->cur];
    unsigned char c = ps->p[ps->pos];
    if (parent && parent->type == JSON_ARRAY) {
        if (c == ']') /* an empty array closed when it opened: a comma came before */
            return fail(ps, SL_ERR_INVALID, ps->pos, "trailing comma in an array");
        parent->size++;
    }
    *w = WANT_MORE;
    switch (c) {
    case '{': return open_container(ps, JSON_OBJECT, w);
    case '[': return open_container(ps, JSON_ARRAY, w);
    case '"': return parse_string(ps);
    case 't': return parse_literal(ps, "true", JSON_TRUE);
    case 'f': return parse_literal(ps, "false", JSON_FALSE);
    case 'n': return parse_literal(ps, "null", JSON_NULL);
    default: break;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps);
    return fail_byte(ps, ps->pos, "a value");
}

static sl_err step_key(parser *ps, want *w)
{
    if (ps->pos >= ps->len)
        return fail_end(ps, "in an object (expected a key)");
    unsigned char c = ps->p[ps->pos];
    if (c == '}') /* an empty object closed when it opened: a comma came before */
        return fail(ps, SL_ERR_INVALID, ps->pos, "trailing comma in an object");
    if (c != '"')
        return fail_byte(ps, ps->pos, "a string key in an object");
    ps->doc->toks[ps->cur].size++;
    sl_err err = parse_string(ps);
    if (err != SL_OK)
        return err;
    skip_ws(ps);
    if (ps->pos >= ps->len)
        return fail_end(ps, "after an object key (expected ':')");
    if (ps->p[ps->pos] != ':')
        return fail(ps, SL_ERR_INVALID, ps->pos, "expected ':' after an object key");
    ps->pos++;
    *w = WANT_VALUE;
    return SL_OK;
}

static sl_err step_more(parser *ps, want *w)
{
    bool object = ps->doc->toks[ps->cur].type == JSON_OBJECT;
    if (ps->pos >= ps->len)
        return fail_end(ps, object ? "in an object" : "in an array");
    unsigned char c = ps->p[ps->pos];
    if (c == ',') {
        ps->pos++;
        *w = object ? WANT_KEY : WANT_VALUE;
        return SL_OK;
    }
    if (c == (object ? '}' : ']'))
        return close_container(ps);
    return fail(ps, SL_ERR_INVALID, ps->pos,
                object ? "expected ',' or '}' after an object member"
                       : "expected ',' or ']' after an array element");
}

static sl_err parse_text(parser *ps)
{
    want w = WANT_VALUE;
    for (;;) {
        skip_ws(ps);
        sl_err err = SL_OK;
        if (w == WANT_MORE && ps->cur == NO_TOKEN)
            return ps->pos == ps->len ? SL_OK
                                      : fail(ps, SL_ERR_INVALID, ps->pos,
                                             "unexpected data after the JSON value");
        if (w == WANT_VALUE)
            err = step_value(ps, &w);
        else if (w == WANT_KEY)
            err = step_key(ps, &w);
        else
            err = step_more(ps, &w);
        if (err != SL_OK)
            return err;
    }
}

sl_err json_parse(json_doc *doc, const char *text, size_t len, size_t max_tokens,
                  unsigned max_depth, json_error *err)
{
    memset(doc, 0, sizeof *doc);
    parser ps = {doc, (const unsigned char *)text, len, 0, max_tokens, max_depth, 0, NO_TOKEN,
                 err, NULL, 0};
    if (max_tokens > NO_TOKEN - 1)
        ps.max_tokens = NO_TOKEN - 1; /* indices stay below NO_TOKEN */
    if (!text && len > 0)
        return fail(&ps, SL_ERR_INVALID, 0, "no text");
    if (len >= UINT32_MAX)
        return fail(&ps, SL_ERR_TOO_LARGE, 0, "document of %zu bytes is too large", len);
    doc->text = text;
    doc->len = len;
    sl_err rc = parse_text(&ps);
    free(ps.keys);
    if (rc != SL_OK)
        json_doc_free(doc);
    return rc;
}

void json_doc_free(json_doc *doc)
{
    free(doc->toks);
    memset(doc, 0, sizeof *doc);
}

/* ---- walking -------------------------------------------------------------------- */

const json_tok *json_root(const json_doc *doc)
{
    return doc->ntoks ? &doc->toks[0] : NULL;
}

const json_tok *json_first(const json_doc *doc, const json_tok *c)
{
    (void)doc;
    if (!c || (c->type != JSON_OBJECT && c->type != JSON_ARRAY) || c->size == 0)
        return NULL;
    return c + 1;
}

const json_tok *json_next(const json_doc *doc, const json_tok *c, const json_tok *child)
{
    if (!c || !child || child->next >= c->next)
        return NULL;
    return &doc->toks[child->next];
}

const json_tok *json_member(const json_doc *doc, const json_tok *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT || !key)
        return NULL;
    for (const json_tok *k = json_first(doc, obj); k; k = json_next(doc, obj, k + 1))
        if (json_string_eq(doc, k, key))
            return k + 1;
    return NULL;
}

const char *json_type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_NUMBER: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* ---- values --------------------------------------------------------------------- */

sl_err json_string_copy(const json_doc *doc, const json_tok *tok, char *out, size_t cap,
                        size_t *len)
{
    if (!tok || tok->type != JSON_STRING)
        return SL_ERR_INVALID;
    unescaper u;
    unesc_init(&u, doc, tok);
    size_t n = 0;
    for (int c; (c = unesc_next(&u)) >= 0; n++)
        if (n + 1 < cap)
            out[n] = (char)c;
    if (len)
        *len = n;
    if (n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return SL_ERR_TOO_LARGE;
    }
    out[n] = '\0';
    return SL_OK;
}

bool json_string_eq(const json_doc *doc, const json_tok *tok, const char *s)
{
    if (!tok || tok->type != JSON_STRING || !s)
        return false;
    unescaper u;
    unesc_init(&u, doc, tok);
    const unsigned char *q = (const unsigned char *)s;
    for (;; q++) {
        int c = unesc_next(&u);
        if (c < 0)
            return *q == '\0';
        if (*q == '\0' || c != *q)
            return false;
    }
}

/* The digits s[0..n) as a number no larger than max. */
static sl_err parse_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0)
        return SL_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return SL_ERR_INVALID; /* a fraction, an exponent or a sign */
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return SL_ERR_TOO_LARGE;
        v = v * 10 + d;
    }
    *out = v;
    return SL_OK;
}

sl_err json_u64(const json_doc *doc, const json_tok *tok, uint64_t *out)
{
    if (!tok || tok->type != JSON_NUMBER)
        return SL_ERR_INVALID;
    return parse_digits(doc->text + tok->start, tok->end - tok->start, UINT64_MAX, out);
}

sl_err json_i64(const json_doc *doc, const json_tok *tok, int64_t *out)
{
    if (!tok || tok->type != JSON_NUMBER)
        return SL_ERR_INVALID;
    const char *s = doc->text + tok->start;
    size_t n = tok->end - tok->start;
    bool negative = n > 0 && s[0] == '-';
    uint64_t max = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v;
    sl_err err = parse_digits(s + negative, n - negative, max, &v);
    if (err != SL_OK)
        return err;
    if (!negative)
        *out = (int64_t)v;
    else
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return SL_OK;
}

sl_slice json_raw(const json_doc *doc, const json_tok *tok)
{
    bool quoted = tok->type == JSON_STRING;
    sl_slice s = {doc->text + tok->start - quoted, tok->end - tok->start + 2 * quoted};
    return s;
}
