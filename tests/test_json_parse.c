/* test_json_parse.c: the strict JSON parser (tools/common/json_parse.h):
 * valid documents and their tokens, a table of invalid ones with offset and
 * message, every truncation of a valid document, depth and token limits,
 * duplicate keys (also in big objects), the value accessors at their edges,
 * and a bounded fuzz loop of random mutations (fixed seed) that checks the
 * tokens of whatever parses and agreement with json_is_valid. Every input is
 * handed over in a heap buffer of exactly its length, so that
 * `scons sanitize=1` catches any read past the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit.h"
#include "tools/common/json_check.h"
#include "tools/common/json_parse.h"

#define TOKS 100000
#define DEPTH 64

/* ---- helpers -------------------------------------------------------------------- */

/* A heap copy of text[0..len) with nothing after it (ASan sees overreads). */
static char *exact_copy(const char *text, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, text, len);
    return p;
}

/* Parse text[0..len) from an exact heap copy; *copy keeps it for the doc. */
static sl_err parse_n(json_doc *doc, char **copy, const char *text, size_t len, size_t max_toks,
                      unsigned max_depth, json_error *err)
{
    *copy = exact_copy(text, len);
    if (!*copy)
        return SL_ERR_NOMEM;
    return json_parse(doc, *copy, len, max_toks, max_depth, err);
}

/* The structure of doc is coherent: spans in bounds, subtrees contiguous,
 * sizes equal to the children counted, keys strings. */
static int tokens_coherent(const json_doc *d)
{
    if (d->ntoks == 0 || d->toks[0].next != d->ntoks)
        return 0;
    for (size_t i = 0; i < d->ntoks; i++) {
        const json_tok *t = &d->toks[i];
        if (t->start > t->end || t->end > d->len || t->next <= i || t->next > d->ntoks)
            return 0;
        if (t->type != JSON_OBJECT && t->type != JSON_ARRAY) {
            if (t->next != i + 1 || t->size != 0)
                return 0;
            continue;
        }
        size_t children = 0, k = i + 1;
        for (; k < t->next; k = d->toks[k].next, children++)
            if (t->type == JSON_OBJECT && children % 2 == 0 && d->toks[k].type != JSON_STRING)
                return 0;
        if (k != t->next || children != (t->type == JSON_OBJECT ? 2 : 1) * (size_t)t->size)
            return 0;
    }
    return 1;
}

/* ---- valid documents ------------------------------------------------------------ */

typedef struct valid_case {
    const char *text;
    size_t ntoks;
    json_type root;
    uint32_t root_size;
} valid_case;

TEST(valid_documents)
{
    static const valid_case cases[] = {
        {"{}", 1, JSON_OBJECT, 0},
        {"[]", 1, JSON_ARRAY, 0},
        {" \t\r\n{ \n} \t\r\n", 1, JSON_OBJECT, 0},
        {"[ ]", 1, JSON_ARRAY, 0},
        {"0", 1, JSON_NUMBER, 0},
        {"-0", 1, JSON_NUMBER, 0},
        {"-0.0e-0", 1, JSON_NUMBER, 0},
        {"1E+5", 1, JSON_NUMBER, 0},
        {"123456789012345678901234567890.5e300", 1, JSON_NUMBER, 0},
        {"-9223372036854775809", 1, JSON_NUMBER, 0},
        {"true", 1, JSON_TRUE, 0},
        {"false", 1, JSON_FALSE, 0},
        {"null", 1, JSON_NULL, 0},
        {"\"\"", 1, JSON_STRING, 0},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", 1, JSON_STRING, 0},
        {"\"raw: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f \xf4\x8f\xbf\xbf\"", 1,
         JSON_STRING, 0},
        {"[[[[]]],{},[{}]]", 7, JSON_ARRAY, 3},
        {"{\"a\":{\"a\":{\"a\":1}},\"b\":[]}", 9, JSON_OBJECT, 2},
        {"{\"a\":1,\"A\":2,\"a \":3,\"\":4}", 9, JSON_OBJECT, 4},
        {"[1,-2,3.5,-4e10,true,false,null,\"x\",{},[]]", 11, JSON_ARRAY, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const valid_case *c = &cases[i];
        json_doc d;
        json_error e = {0, ""};
        char *copy;
        sl_err rc = parse_n(&d, &copy, c->text, strlen(c->text), TOKS, DEPTH, &e);
        if (rc != SL_OK)
            fprintf(stderr, "  case %zu: %s at %zu\n", i, e.message, e.offset);
        CHECK(rc == SL_OK);
        if (rc == SL_OK) {
            CHECK_EQ_U64(d.ntoks, c->ntoks);
            CHECK(json_root(&d)->type == c->root);
            CHECK_EQ_U64(json_root(&d)->size, c->root_size);
            CHECK(tokens_coherent(&d));
            CHECK(json_is_valid(sl_slice_of(c->text)));
        }
        json_doc_free(&d);
        free(copy);
    }
}

TEST(nested_tokens)
{
    /*                    0         1         2         3         4
     *                    01234567890123456789012345678901234567890123 */
    const char *text = " {\"a\" : [1, {\"b\":null}], \"c\":\"x\\n\"} ";
    json_doc d;
    json_error e;
    char *copy;
    REQUIRE(parse_n(&d, &copy, text, strlen(text), TOKS, DEPTH, &e) == SL_OK);
    static const json_tok want[] = {
        {JSON_OBJECT, 1, 35, 2, 9}, {JSON_STRING, 3, 4, 0, 2},  {JSON_ARRAY, 8, 23, 2, 7},
        {JSON_NUMBER, 9, 10, 0, 4}, {JSON_OBJECT, 12, 22, 1, 7}, {JSON_STRING, 14, 15, 0, 6},
        {JSON_NULL, 17, 21, 0, 7},  {JSON_STRING, 26, 27, 0, 8}, {JSON_STRING, 30, 33, 0, 9},
    };
    REQUIRE(d.ntoks == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < d.ntoks; i++) {
        CHECK(d.toks[i].type == want[i].type);
        CHECK_EQ_U64(d.toks[i].start, want[i].start);
        CHECK_EQ_U64(d.toks[i].end, want[i].end);
        CHECK_EQ_U64(d.toks[i].size, want[i].size);
        CHECK_EQ_U64(d.toks[i].next, want[i].next);
    }
    CHECK(tokens_coherent(&d));
    json_doc_free(&d);
    CHECK(d.toks == NULL && d.ntoks == 0);
    json_doc_free(&d); /* twice is fine */
    free(copy);
}

TEST(walking)
{
    const char *text = "{\"k\\u00e9y\":1,\"arr\":[10,{\"x\":[]},\"s\"],\"nul\\u0000\":true}";
    json_doc d;
    json_error e;
    char *copy;
    REQUIRE(parse_n(&d, &copy, text, strlen(text), TOKS, DEPTH, &e) == SL_OK);
    const json_tok *root = json_root(&d);
    const json_tok *v = json_member(&d, root, "k\xc3\xa9y");
    REQUIRE(v != NULL);
    CHECK(v->type == JSON_NUMBER);
    CHECK(json_member(&d, root, "key") == NULL);
    CHECK(json_member(&d, root, "nul") == NULL); /* the key holds a NUL after "nul" */
    CHECK(json_member(&d, root, "x") == NULL);   /* members of members are not members */
    CHECK(json_member(&d, root, NULL) == NULL);
    const json_tok *arr = json_member(&d, root, "arr");
    REQUIRE(arr != NULL && arr->type == JSON_ARRAY);
    CHECK(json_member(&d, arr, "x") == NULL); /* not an object */
    json_type seen[4];
    size_t n = 0;
    for (const json_tok *t = json_first(&d, arr); t && n < 4; t = json_next(&d, arr, t))
        seen[n++] = t->type;
    CHECK_EQ_U64(n, 3);
    CHECK(seen[0] == JSON_NUMBER && seen[1] == JSON_OBJECT && seen[2] == JSON_STRING);
    const json_tok *inner = json_first(&d, arr) + 1;
    CHECK(json_first(&d, json_member(&d, inner, "x")) == NULL); /* empty array */
    CHECK(json_first(&d, v) == NULL);                           /* not a container */
    n = 0;
    for (const json_tok *k = json_first(&d, root); k; k = json_next(&d, root, k + 1))
        n++;
    CHECK_EQ_U64(n, root->size);
    CHECK_EQ_U64(n, 3);
    CHECK(strcmp(json_type_name(JSON_OBJECT), "object") == 0);
    CHECK(strcmp(json_type_name(JSON_FALSE), "boolean") == 0);
    CHECK(strcmp(json_type_name(JSON_NULL), "null") == 0);
    json_doc_free(&d);
    CHECK(json_root(&d) == NULL);
    free(copy);
}

/* ---- invalid documents ---------------------------------------------------------- */

typedef struct invalid_case {
    const char *text;
    size_t len;      /* 0: strlen(text) */
    size_t offset;   /* expected error offset */
    const char *msg; /* a substring of the expected message */
} invalid_case;

#define BAD(t, off, m) {t, 0, off, m}
#define BAD_N(t, off, m) {t, sizeof(t) - 1, off, m} /* with embedded NULs */

TEST(invalid_documents)
{
    static const invalid_case cases[] = {
        BAD("", 0, "empty input"),
        BAD(" \n\t ", 4, "empty input"),
        BAD("{\"a\":1,}", 7, "trailing comma in an object"),
        BAD("[1,]", 3, "trailing comma in an array"),
        BAD("[1 , ]", 5, "trailing comma in an array"),
        BAD("[,1]", 1, "unexpected ',', expected a value"),
        BAD("{'a':1}", 1, "unexpected single quote, expected a string key"),
        BAD("['a']", 1, "unexpected single quote, expected a value"),
        BAD("{a:1}", 1, "expected a string key"),
        BAD("{1:2}", 1, "expected a string key"),
        BAD("{\"a\" 1}", 5, "expected ':' after an object key"),
        BAD("{\"a\":}", 5, "unexpected '}', expected a value"),
        BAD("[1 2]", 3, "expected ',' or ']' after an array element"),
        BAD("[1}", 2, "expected ',' or ']'"),
        BAD("{\"a\":1]", 6, "expected ',' or '}' after an object member"),
        BAD("01", 0, "leading zero"),
        BAD("[-01]", 2, "leading zero"),
        BAD("00", 0, "leading zero"),
        BAD("+1", 0, "unexpected '+'"),
        BAD("1.e3", 2, "expected a digit after '.'"),
        BAD(".5", 0, "unexpected '.'"),
        BAD("1e+", 3, "unexpected end of input in a number"),
        BAD("1ex", 2, "expected a digit in the exponent"),
        BAD("-a", 1, "expected a digit after '-'"),
        BAD("NaN", 0, "unexpected 'N'"),
        BAD("Infinity", 0, "unexpected 'I'"),
        BAD("-Infinity", 1, "expected a digit after '-'"),
        BAD("0x10", 1, "unexpected data after the JSON value"),
        BAD("trUe", 0, "invalid literal (expected 'true')"),
        BAD("nul", 3, "unexpected end of input in a literal"),
        BAD("True", 0, "unexpected 'T'"),
        BAD("\"\\ud800\"", 1, "unpaired surrogate"),
        BAD("\"\\udc00\"", 1, "unpaired surrogate"),
        BAD("\"\\ud800\\u0041\"", 1, "unpaired surrogate"),
        BAD("\"\\ud800\\n\"", 1, "unpaired surrogate"),
        BAD("\"\\ud800x\"", 1, "unpaired surrogate"),
        BAD("\"\\ud800\\udbff\"", 1, "unpaired surrogate"),
        BAD("\"\\x\"", 1, "invalid escape"),
        BAD("\"\\U0041\"", 1, "invalid escape"),
        BAD("\"\\u12g4\"", 5, "expected 4 hex digits"),
        BAD("\"\\ud800\\u12\"", 11, "expected 4 hex digits"),
        BAD("\"a\x01" "b\"", 2, "control character 0x01"),
        BAD("\"a\nb\"", 2, "control character 0x0a"),
        BAD("\"tab\there\"", 4, "control character 0x09"),
        BAD_N("\"a\0b\"", 2, "control character 0x00"),
        BAD_N("[\0]", 1, "unexpected byte 0x00"),
        BAD_N("1\0", 1, "unexpected data after"),
        BAD("\"\xc0\xaf\"", 1, "invalid UTF-8"),             /* overlong '/' */
        BAD("\"\xe0\x80\xaf\"", 1, "invalid UTF-8"),         /* overlong, 3 bytes */
        BAD("\"\xed\xa0\x80\"", 1, "invalid UTF-8"),         /* U+D800 encoded */
        BAD("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8"),     /* U+110000 */
        BAD("\"ab\x80\"", 3, "invalid UTF-8"),               /* lone continuation */
        BAD("\"\xff\"", 1, "invalid UTF-8"),
        BAD("\"\xc3(\"", 1, "invalid UTF-8"),                /* lead without continuation */
        BAD("\xef\xbb\xbf{}", 0, "unexpected byte 0xef"),    /* no BOM */
        BAD("[\xc3\xa9]", 1, "unexpected byte 0xc3"),
        BAD("{\"a\":1,\"a\":2}", 7, "duplicate key \"a\""),
        BAD("{\"a\":1,\"\\u0061\":2}", 7, "duplicate key \"\\u0061\""),
        BAD("{\"\\u00e9\":1,\"\xc3\xa9\":2}", 12, "duplicate key"),
        BAD("[{\"x\":{\"y\":1,\"y\":[]}}]", 13, "duplicate key \"y\""),
        BAD("{\"b\":1,\"a\":2,\"b\":3,\"a\":4}", 13, "duplicate key \"b\""),
        BAD("{\"\":1,\"\":2}", 6, "duplicate key \"\""),
        BAD("1 2", 2, "unexpected data after the JSON value"),
        BAD("{}{}", 2, "unexpected data after the JSON value"),
        BAD("[] x", 3, "unexpected data after the JSON value"),
        BAD("\"abc", 4, "unexpected end of input in a string"),
        BAD("[1,", 3, "unexpected end of input"),
        BAD("}", 0, "unexpected '}', expected a value"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const invalid_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        json_doc d;
        json_error e = {9999, "unset"};
        char *copy;
        sl_err rc = parse_n(&d, &copy, c->text, len, TOKS, DEPTH, &e);
        int ok = rc == SL_ERR_INVALID && e.offset == c->offset && strstr(e.message, c->msg);
        if (!ok)
            fprintf(stderr, "  case %zu: rc %d, \"%s\" at %zu; expected \"%s\" at %zu\n", i,
                    (int)rc, e.message, e.offset, c->msg, c->offset);
        CHECK(ok);
        CHECK(d.toks == NULL && d.ntoks == 0 && d.text == NULL);
        json_doc_free(&d);
        free(copy);
    }
}

TEST(long_duplicate_key_message)
{
    char text[512];
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memcpy(key + 63, "\xc3\xa9", 2); /* a character across the cut at 64 bytes */
    snprintf(text, sizeof text, "{\"%s\":1,\"%s\":2}", key, key);
    json_doc d;
    json_error e;
    char *copy;
    CHECK(parse_n(&d, &copy, text, strlen(text), TOKS, DEPTH, &e) == SL_ERR_INVALID);
    CHECK(strncmp(e.message, "duplicate key \"", 15) == 0);
    CHECK(strstr(e.message, "...\"") != NULL);
    CHECK(utf8_is_valid(sl_slice_of(e.message)));
    CHECK_EQ_U64(e.offset, strlen(key) + 6);
    free(copy);
}

TEST(null_error_and_null_text)
{
    json_doc d;
    CHECK(json_parse(&d, "[1,]", 4, TOKS, DEPTH, NULL) == SL_ERR_INVALID);
    CHECK(json_parse(&d, NULL, 0, TOKS, DEPTH, NULL) == SL_ERR_INVALID);
    json_error e;
    CHECK(json_parse(&d, NULL, 5, TOKS, DEPTH, &e) == SL_ERR_INVALID);
    CHECK(json_parse(&d, "[1]", (size_t)UINT32_MAX, TOKS, DEPTH, &e) == SL_ERR_TOO_LARGE);
    json_doc_free(&d);
}

/* Every strict prefix of a valid document fails, at the offset where it ends. */
TEST(every_truncation)
{
    const char *text =
        "{\"obj\":{\"a\":[1,-2.5e+3,0.25E-2,true,false,null,[]],\"b\":{}},"
        "\"esc\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\ud83d\\ude00\","
        "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"n\":-0,\"big\":18446744073709551615}";
    size_t len = strlen(text);
    json_doc d;
    json_error e;
    char *copy;
    REQUIRE(parse_n(&d, &copy, text, len, TOKS, DEPTH, &e) == SL_OK);
    json_doc_free(&d);
    free(copy);
    for (size_t k = 0; k < len; k++) {
        e.offset = 9999;
        sl_err rc = parse_n(&d, &copy, text, k, TOKS, DEPTH, &e);
        if (rc != SL_ERR_INVALID || e.offset != k)
            fprintf(stderr, "  prefix %zu: rc %d, \"%s\" at %zu\n", k, (int)rc, e.message,
                    e.offset);
        CHECK(rc == SL_ERR_INVALID);
        CHECK_EQ_U64(e.offset, k);
        CHECK(k == 0 || strstr(e.message, "unexpected end of input") != NULL);
        json_doc_free(&d);
        free(copy);
    }
}

/* ---- limits --------------------------------------------------------------------- */

/* n '[' then n ']' into a fresh buffer of exactly 2n bytes. */
static char *nested_arrays(size_t n)
{
    char *p = malloc(2 * n);
    if (p) {
        memset(p, '[', n);
        memset(p + n, ']', n);
    }
    return p;
}

TEST(depth_limit)
{
    json_doc d;
    json_error e;
    char *deep = nested_arrays(1000);
    REQUIRE(deep != NULL);
    CHECK(json_parse(&d, deep, 2000, TOKS, 64, &e) == SL_ERR_INVALID);
    CHECK_EQ_U64(e.offset, 64);
    CHECK(strstr(e.message, "nesting deeper than 64 levels") != NULL);
    /* no recursion: as deep as the caller allows */
    CHECK(json_parse(&d, deep, 2000, TOKS, 1000, &e) == SL_OK);
    CHECK_EQ_U64(d.ntoks, 1000);
    CHECK(tokens_coherent(&d));
    json_doc_free(&d);
    free(deep);

    char *exact = nested_arrays(64);
    REQUIRE(exact != NULL);
    CHECK(json_parse(&d, exact, 128, TOKS, 64, &e) == SL_OK);
    json_doc_free(&d);
    CHECK(json_parse(&d, exact, 128, TOKS, 63, &e) == SL_ERR_INVALID);
    CHECK_EQ_U64(e.offset, 63);
    free(exact);

    CHECK(json_parse(&d, "1", 1, TOKS, 0, &e) == SL_OK); /* scalars need no depth */
    json_doc_free(&d);
    CHECK(json_parse(&d, "{}", 2, TOKS, 0, &e) == SL_ERR_INVALID);
    CHECK(json_parse(&d, "{\"a\":[]}", 8, TOKS, 1, &e) == SL_ERR_INVALID);
    CHECK_EQ_U64(e.offset, 5);
}

TEST(token_limit)
{
    json_doc d;
    json_error e;
    CHECK(json_parse(&d, "[1,2,3]", 7, 4, DEPTH, &e) == SL_OK);
    CHECK_EQ_U64(d.ntoks, 4);
    json_doc_free(&d);
    CHECK(json_parse(&d, "[1,2,3]", 7, 3, DEPTH, &e) == SL_ERR_TOO_LARGE);
    CHECK_EQ_U64(e.offset, 5);
    CHECK(strstr(e.message, "more than 3 tokens") != NULL);
    CHECK(d.toks == NULL);
    /* keys count */
    CHECK(json_parse(&d, "{\"a\":1}", 7, 2, DEPTH, &e) == SL_ERR_TOO_LARGE);
    CHECK(json_parse(&d, "{\"a\":1}", 7, 3, DEPTH, &e) == SL_OK);
    json_doc_free(&d);
    CHECK(json_parse(&d, "1", 1, 0, DEPTH, &e) == SL_ERR_TOO_LARGE);
    /* a syntax error before the limit is reached is reported as such */
    CHECK(json_parse(&d, "[1,]", 4, 1000, DEPTH, &e) == SL_ERR_INVALID);
}

/* An object of n distinct keys "k0".."k<n-1>", optionally repeating "k<dup>" last. */
static char *many_keys(size_t n, long dup, size_t *len)
{
    size_t cap = 32 + n * 24;
    char *p = malloc(cap);
    if (!p)
        return NULL;
    size_t k = (size_t)snprintf(p, cap, "{");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(p + k, cap - k, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    if (dup >= 0)
        k += (size_t)snprintf(p + k, cap - k, ",\"k%ld\":0", dup);
    k += (size_t)snprintf(p + k, cap - k, "}");
    *len = k;
    return p;
}

TEST(big_objects)
{
    json_doc d;
    json_error e;
    size_t len;
    char *text = many_keys(50000, -1, &len);
    REQUIRE(text != NULL);
    CHECK(json_parse(&d, text, len, TOKS + 1, DEPTH, &e) == SL_OK);
    CHECK_EQ_U64(json_root(&d)->size, 50000);
    const json_tok *v = json_member(&d, json_root(&d), "k49999");
    uint64_t u = 0;
    CHECK(v && json_u64(&d, v, &u) == SL_OK && u == 49999);
    json_doc_free(&d);
    free(text);

    text = many_keys(50000, 12345, &len);
    REQUIRE(text != NULL);
    CHECK(json_parse(&d, text, len, TOKS + 3, DEPTH, &e) == SL_ERR_INVALID);
    CHECK(strstr(e.message, "duplicate key \"k12345\"") != NULL);
    CHECK(e.offset < len && strncmp(text + e.offset, "\"k12345\":0}", 11) == 0);
    free(text);
}

/* ---- values --------------------------------------------------------------------- */

/* Parse a one-value document (kept in *copy) and return its root. */
static const json_tok *one(json_doc *d, char **copy, const char *text)
{
    json_error e;
    if (parse_n(d, copy, text, strlen(text), TOKS, DEPTH, &e) != SL_OK) {
        fprintf(stderr, "  %s: %s\n", text, e.message);
        return NULL;
    }
    return json_root(d);
}

static sl_err u64_of(const char *text, uint64_t *out)
{
    json_doc d;
    char *copy;
    const json_tok *t = one(&d, &copy, text);
    sl_err rc = t ? json_u64(&d, t, out) : SL_ERR_CORRUPT;
    json_doc_free(&d);
    free(copy);
    return rc;
}

static sl_err i64_of(const char *text, int64_t *out)
{
    json_doc d;
    char *copy;
    const json_tok *t = one(&d, &copy, text);
    sl_err rc = t ? json_i64(&d, t, out) : SL_ERR_CORRUPT;
    json_doc_free(&d);
    free(copy);
    return rc;
}

TEST(unsigned_integers)
{
    uint64_t u = 7;
    CHECK(u64_of("0", &u) == SL_OK && u == 0);
    CHECK(u64_of("42", &u) == SL_OK && u == 42);
    CHECK(u64_of("18446744073709551615", &u) == SL_OK && u == UINT64_MAX);
    u = 7;
    CHECK(u64_of("18446744073709551616", &u) == SL_ERR_TOO_LARGE && u == 7);
    CHECK(u64_of("99999999999999999999999", &u) == SL_ERR_TOO_LARGE);
    CHECK(u64_of("1.0", &u) == SL_ERR_INVALID);
    CHECK(u64_of("1e3", &u) == SL_ERR_INVALID);
    CHECK(u64_of("1E3", &u) == SL_ERR_INVALID);
    CHECK(u64_of("-1", &u) == SL_ERR_INVALID);
    CHECK(u64_of("-0", &u) == SL_ERR_INVALID); /* documented: any sign is refused */
    CHECK(u64_of("99999999999999999999.5", &u) == SL_ERR_INVALID);
    CHECK(u64_of("\"1\"", &u) == SL_ERR_INVALID);
    CHECK(u64_of("true", &u) == SL_ERR_INVALID);
    CHECK(u64_of("null", &u) == SL_ERR_INVALID);
    CHECK(u64_of("[1]", &u) == SL_ERR_INVALID);
    CHECK(u == 7);
}

TEST(signed_integers)
{
    int64_t v = 7;
    CHECK(i64_of("0", &v) == SL_OK && v == 0);
    CHECK(i64_of("-0", &v) == SL_OK && v == 0);
    CHECK(i64_of("-42", &v) == SL_OK && v == -42);
    CHECK(i64_of("9223372036854775807", &v) == SL_OK && v == INT64_MAX);
    CHECK(i64_of("-9223372036854775808", &v) == SL_OK && v == INT64_MIN);
    v = 7;
    CHECK(i64_of("9223372036854775808", &v) == SL_ERR_TOO_LARGE);
    CHECK(i64_of("-9223372036854775809", &v) == SL_ERR_TOO_LARGE);
    CHECK(i64_of("18446744073709551616", &v) == SL_ERR_TOO_LARGE);
    CHECK(i64_of("-1.5", &v) == SL_ERR_INVALID);
    CHECK(i64_of("-1e3", &v) == SL_ERR_INVALID);
    CHECK(i64_of("1.0", &v) == SL_ERR_INVALID);
    CHECK(i64_of("false", &v) == SL_ERR_INVALID);
    CHECK(v == 7);
}

TEST(string_copy)
{
    json_doc d;
    char *copy;
    const json_tok *t =
        one(&d, &copy, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uFFFF\"");
    REQUIRE(t != NULL);
    const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf";
    char out[64];
    size_t len = 0;
    CHECK(json_string_copy(&d, t, out, sizeof out, &len) == SL_OK);
    CHECK_EQ_U64(len, sizeof want - 1);
    CHECK(memcmp(out, want, sizeof want) == 0); /* with the NUL */
    CHECK(json_string_eq(&d, t, want));
    CHECK(!json_string_eq(&d, t, "\""));
    CHECK(!json_string_eq(&d, t, NULL));
    /* exactly fits: len + 1; one byte less does not */
    CHECK(json_string_copy(&d, t, out, sizeof want, &len) == SL_OK);
    memset(out, 'x', sizeof out);
    len = 0;
    CHECK(json_string_copy(&d, t, out, sizeof want - 1, &len) == SL_ERR_TOO_LARGE);
    CHECK(out[0] == '\0');
    CHECK_EQ_U64(len, sizeof want - 1); /* the length needed, to allocate */
    CHECK(out[sizeof want - 1] == 'x'); /* nothing written past cap */
    CHECK(json_string_copy(&d, t, NULL, 0, &len) == SL_ERR_TOO_LARGE);
    CHECK_EQ_U64(len, sizeof want - 1);
    json_doc_free(&d);
    free(copy);

    /* \u0000 is valid JSON: it copies a NUL byte, which the length shows */
    t = one(&d, &copy, "\"a\\u0000b\"");
    REQUIRE(t != NULL);
    CHECK(json_string_copy(&d, t, out, sizeof out, &len) == SL_OK);
    CHECK_EQ_U64(len, 3);
    CHECK(memcmp(out, "a\0b", 4) == 0);
    CHECK(strlen(out) != len);
    CHECK(!json_string_eq(&d, t, "a"));
    CHECK(!json_string_eq(&d, t, "a\xc0\x80" "b"));
    json_doc_free(&d);
    free(copy);

    t = one(&d, &copy, "\"\"");
    REQUIRE(t != NULL);
    CHECK(json_string_copy(&d, t, out, 1, &len) == SL_OK && len == 0 && out[0] == '\0');
    CHECK(json_string_eq(&d, t, ""));
    json_doc_free(&d);
    free(copy);

    t = one(&d, &copy, "12");
    REQUIRE(t != NULL);
    CHECK(json_string_copy(&d, t, out, sizeof out, &len) == SL_ERR_INVALID);
    CHECK(!json_string_eq(&d, t, "12"));
    json_doc_free(&d);
    free(copy);
}

TEST(raw_values)
{
    const char *text = " {\"p\": {\"x\": [1, 2]} , \"s\":\"a\\\"b\", \"n\": -1.5e3, \"t\":true} ";
    json_doc d;
    json_error e;
    char *copy;
    REQUIRE(parse_n(&d, &copy, text, strlen(text), TOKS, DEPTH, &e) == SL_OK);
    const json_tok *root = json_root(&d);
    CHECK(sl_slice_eq_cstr(json_raw(&d, root), "{\"p\": {\"x\": [1, 2]} , "
                                               "\"s\":\"a\\\"b\", \"n\": -1.5e3, \"t\":true}"));
    CHECK(sl_slice_eq_cstr(json_raw(&d, json_member(&d, root, "p")), "{\"x\": [1, 2]}"));
    CHECK(sl_slice_eq_cstr(json_raw(&d, json_member(&d, root, "s")), "\"a\\\"b\""));
    CHECK(sl_slice_eq_cstr(json_raw(&d, json_member(&d, root, "n")), "-1.5e3"));
    CHECK(sl_slice_eq_cstr(json_raw(&d, json_member(&d, root, "t")), "true"));
    CHECK(sl_slice_eq_cstr(json_raw(&d, json_first(&d, root)), "\"p\"")); /* a key */
    CHECK(json_is_valid(json_raw(&d, json_member(&d, root, "p"))));
    json_doc_free(&d);
    free(copy);
}

/* ---- fuzz ----------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static size_t rng_below(rng *r, size_t n)
{
    return n ? (size_t)(rng_next(r) % n) : 0;
}

/* One random edit of buf[0..*len) (room for cap bytes). */
static void mutate(rng *r, char *buf, size_t *len, size_t cap)
{
    static const char interesting[] = "\"\\{}[],:0-+.eEu \t\nabtfn1\x80\xbf\xc3\xed\xf0\xff\x00";
    size_t n = *len, at = rng_below(r, n + 1);
    char c = rng_below(r, 2) ? interesting[rng_below(r, sizeof interesting - 1)]
                             : (char)rng_below(r, 256);
    switch (rng_below(r, 6)) {
    case 0: /* replace a byte */
        if (at < n)
            buf[at] = c;
        break;
    case 1: /* insert a byte */
        if (n < cap) {
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = c;
            *len = n + 1;
        }
        break;
    case 2: /* delete a byte */
        if (at < n) {
            memmove(buf + at, buf + at + 1, n - at - 1);
            *len = n - 1;
        }
        break;
    case 3: /* truncate */
        *len = at;
        break;
    case 4: { /* copy a stretch elsewhere */
        size_t from = rng_below(r, n + 1), span = rng_below(r, 16);
        if (from + span > n)
            span = n - from;
        if (n + span <= cap) {
            memmove(buf + at + span, buf + at, n - at);
            memmove(buf + at, buf + (from >= at ? from + span : from), span);
            *len = n + span;
        }
        break;
    }
    default: /* flip one bit */
        if (at < n)
            buf[at] ^= (char)(1u << rng_below(r, 8));
        break;
    }
}

/* Everything a caller may do with a parsed doc, checked for sanity. */
static int use_doc(const json_doc *d)
{
    if (!tokens_coherent(d))
        return 0;
    char out[512];
    for (size_t i = 0; i < d->ntoks; i++) {
        const json_tok *t = &d->toks[i];
        sl_slice raw = json_raw(d, t);
        if (raw.ptr < d->text || raw.ptr + raw.len > d->text + d->len)
            return 0;
        if (t->type == JSON_STRING) {
            size_t len;
            sl_err rc = json_string_copy(d, t, out, sizeof out, &len);
            if (rc == SL_OK && !utf8_is_valid((sl_slice){out, len}))
                return 0;
            if (rc == SL_OK && memchr(out, 0, len) == NULL && !json_string_eq(d, t, out))
                return 0;
        }
        if (t->type == JSON_NUMBER) {
            uint64_t u;
            int64_t v;
            (void)json_u64(d, t, &u);
            (void)json_i64(d, t, &v);
        }
        if (t->type == JSON_OBJECT)
            (void)json_member(d, t, "a");
    }
    return 1;
}

TEST(fuzz_mutations)
{
    static const char *const seeds[] = {
        "{\"a\":[1,-2.5e+3,0.25E-2,true,false,null,[]],\"b\":{\"c\":\"d\"}}",
        "[\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9\\ud83d\\ude00\","
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
        "{\"events\":[{\"topic\":\"order.created\",\"data\":{\"id\":1001,\"total\":25.5},"
        "\"headers\":{\"x\":\"y\"},\"key\":\"order-1001\"}]}",
        "{\"x\":1,\"y\":{\"x\":2,\"z\":[{\"x\":3},{\"x\":4}]},\"\\u0078x\":0}",
        "[[[[[[[[[[]]]]]]]]]]",
        " -0.0e-0 ",
    };
    enum { ROUNDS = 20000, CAP = 512 };
    rng r = {0x5eed5eed12345678ull};
    char buf[CAP];
    size_t parsed = 0, refused = 0;
    for (int round = 0; round < ROUNDS; round++) {
        const char *seed = seeds[rng_below(&r, sizeof seeds / sizeof seeds[0])];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        for (size_t m = 1 + rng_below(&r, 3); m > 0; m--)
            mutate(&r, buf, &len, CAP);
        json_doc d;
        json_error e = {0, ""};
        char *copy;
        size_t max_toks = rng_below(&r, 4) ? TOKS : rng_below(&r, 20);
        unsigned max_depth = rng_below(&r, 4) ? DEPTH : (unsigned)rng_below(&r, 12);
        sl_err rc = parse_n(&d, &copy, buf, len, max_toks, max_depth, &e);
        REQUIRE(copy != NULL);
        bool valid = json_is_valid((sl_slice){copy, len});
        if (rc == SL_OK) {
            parsed++;
            CHECK(valid);
            CHECK(use_doc(&d));
        } else {
            refused++;
            CHECK(rc == SL_ERR_INVALID || rc == SL_ERR_TOO_LARGE);
            CHECK(e.offset <= len);
            CHECK(e.message[0] != '\0');
            CHECK(d.toks == NULL);
            /* what the plain validator refuses, the parser refuses as invalid */
            if (!valid && max_toks == TOKS)
                CHECK(rc == SL_ERR_INVALID);
        }
        json_doc_free(&d);
        free(copy);
    }
    printf("  fuzz: %zu parsed, %zu refused\n", parsed, refused);
    CHECK(parsed > ROUNDS / 20); /* the mutations do not all break the text */
    CHECK(refused > ROUNDS / 4);
}

/* A random code point: ASCII (controls included), 2-, 3- and 4-byte, around
 * the edges that matter. */
static uint32_t random_cp(rng *r)
{
    static const uint32_t edges[] = {0x0,    0x1f,   0x22,   0x5c,    0x7f,    0x80,
                                     0x7ff,  0x800,  0xd7ff, 0xe000,  0xfffd,  0xffff,
                                     0x10000, 0x1f600, 0x10fffe, 0x10ffff, 0x2028, 0xfeff};
    switch (rng_below(r, 4)) {
    case 0: return (uint32_t)rng_below(r, 0x80);
    case 1: return edges[rng_below(r, sizeof edges / sizeof edges[0])];
    case 2: return 0x10000 + (uint32_t)rng_below(r, 0x100000);
    default: {
        uint32_t cp = (uint32_t)rng_below(r, 0x10000);
        return cp >= 0xd800 && cp <= 0xdfff ? cp - 0x800 : cp;
    }
    }
}

static size_t put_utf8(uint32_t cp, char *o)
{
    if (cp < 0x80)
        return (size_t)(o[0] = (char)cp, 1);
    if (cp < 0x800)
        return (size_t)(o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2);
    if (cp < 0x10000)
        return (size_t)(o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
                        o[2] = (char)(0x80 | (cp & 0x3f)), 3);
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* cp written the JSON way into o, raw or escaped at random. */
static size_t put_json_char(rng *r, uint32_t cp, char *o)
{
    static const char hex[] = "0123456789abcdef";
    static const char *const short_forms = "\"\\/\b\f\n\r\t";
    const char *sf = cp && cp < 0x80 ? strchr(short_forms, (int)cp) : NULL;
    bool must = cp < 0x20 || cp == '"' || cp == '\\';
    if (sf && rng_below(r, 2)) {
        o[0] = '\\';
        o[1] = "\"\\/bfnrt"[sf - short_forms];
        return 2;
    }
    if (!must && rng_below(r, 2))
        return put_utf8(cp, o);
    uint32_t units[2] = {cp, 0};
    size_t nu = 1;
    if (cp >= 0x10000) {
        units[0] = 0xd800 + ((cp - 0x10000) >> 10);
        units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        nu = 2;
    }
    size_t k = 0;
    for (size_t u = 0; u < nu; u++) {
        o[k++] = '\\';
        o[k++] = 'u';
        for (int i = 0; i < 4; i++) {
            char h = hex[(units[u] >> (12 - 4 * i)) & 0xf];
            o[k++] = rng_below(r, 2) && h >= 'a' ? (char)(h - 'a' + 'A') : h;
        }
    }
    return k;
}

/* Random strings written every legal way unescape to exactly their UTF-8. */
TEST(random_strings)
{
    rng r = {0x0123456789abcdefull};
    char json[2 + 40 * 12], want[40 * 4 + 1], out[40 * 4 + 1];
    for (int round = 0; round < 3000; round++) {
        size_t nj = 0, nw = 0, n = rng_below(&r, 40);
        json[nj++] = '"';
        for (size_t i = 0; i < n; i++) {
            uint32_t cp = random_cp(&r);
            nw += put_utf8(cp, want + nw);
            nj += put_json_char(&r, cp, json + nj);
        }
        json[nj++] = '"';
        json_doc d;
        json_error e;
        char *copy;
        sl_err rc = parse_n(&d, &copy, json, nj, TOKS, DEPTH, &e);
        if (rc != SL_OK)
            fprintf(stderr, "  round %d: %s at %zu\n", round, e.message, e.offset);
        REQUIRE(rc == SL_OK);
        size_t len = 0;
        CHECK(json_string_copy(&d, json_root(&d), out, sizeof out, &len) == SL_OK);
        CHECK(len == nw && memcmp(out, want, nw) == 0);
        want[nw] = '\0';
        CHECK(json_string_eq(&d, json_root(&d), want) == (memchr(want, 0, nw) == NULL));
        json_doc_free(&d);
        free(copy);
    }
}

UNIT_MAIN("json_parse",
          UNIT_CASE(valid_documents),
          UNIT_CASE(nested_tokens),
          UNIT_CASE(walking),
          UNIT_CASE(invalid_documents),
          UNIT_CASE(long_duplicate_key_message),
          UNIT_CASE(null_error_and_null_text),
          UNIT_CASE(every_truncation),
          UNIT_CASE(depth_limit),
          UNIT_CASE(token_limit),
          UNIT_CASE(big_objects),
          UNIT_CASE(unsigned_integers),
          UNIT_CASE(signed_integers),
          UNIT_CASE(string_copy),
          UNIT_CASE(raw_values),
          UNIT_CASE(random_strings),
          UNIT_CASE(fuzz_mutations))
