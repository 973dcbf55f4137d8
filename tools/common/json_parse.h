/* json_parse.h: a strict JSON parser for untrusted input (the daemon's HTTP
 * request bodies), into a flat array of tokens that the caller then walks.
 *
 * json_parse() accepts exactly RFC 8259 and nothing more: one value with only
 * whitespace (space, tab, LF, CR) around it; valid UTF-8 everywhere (no
 * overlong forms, no UTF-8-encoded surrogates, nothing past U+10FFFF, no byte
 * order mark); strings without raw control characters (U+0000..U+001F), with
 * only the escapes \" \\ \/ \b \f \n \r \t \uXXXX, where a \u surrogate must be
 * a high one directly followed by a \u low one; numbers as the grammar says (no
 * leading zero, no '+', no '.' without digits on both sides, no NaN/Infinity);
 * no key twice in one object (compared after unescaping). On top of that it
 * enforces the caller's limits on nesting depth and token count. It never reads
 * outside [text, text + len) (no NUL terminator needed), and its work is
 * O(len log len) whatever the input.
 *
 * Ownership: the json_doc owns its token array (json_doc_free releases it) and
 * borrows the text: the text must stay alive and unchanged while the doc is
 * used. A parsed doc is read-only; several threads may read it at once.
 *
 * Tokens: one per value and one per object key, in document order (pre-order).
 * The tokens of a value's subtree are contiguous: they run from the value's
 * token to just before toks[tok->next]. An object's direct children are its
 * members' key (a JSON_STRING) then value, alternating; the value of the key at
 * k is always the token at k + 1.
 */
#ifndef SLUICE_TOOLS_COMMON_JSON_PARSE_H
#define SLUICE_TOOLS_COMMON_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"

typedef enum json_type {
    JSON_OBJECT,
    JSON_ARRAY,
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL
} json_type;

typedef struct json_tok {
    json_type type;
    uint32_t start; /* first byte: of a string's content (after the quote, still escaped), */
    uint32_t end;   /* one past the last: of the content (before the quote), else the value */
    uint32_t size;  /* object: member count; array: element count; others 0 */
    uint32_t next;  /* index of the first token after this value's whole subtree */
} json_tok;

typedef struct json_doc {
    const char *text; /* the parsed text (borrowed, see above) */
    size_t len;       /* its length in bytes */
    json_tok *toks;   /* the tokens (owned); toks[0] is the root value */
    size_t ntoks;     /* tokens in use */
    size_t cap;       /* tokens allocated */
} json_doc;

typedef struct json_error {
    size_t offset;     /* byte offset in the text where the problem is */
    char message[128]; /* English, NUL-terminated, e.g. "expected ':' after an object key" */
} json_error;

/* Parse text[0..len) into *doc, which is treated as output only (a doc still
 * holding an earlier parse must be json_doc_free'd first, or it leaks).
 *
 * max_tokens: most tokens (values plus keys) allowed; one more is an error.
 * max_depth: most containers nested in one another: 0 allows only a scalar
 * root, 1 allows [1,2] but not [[1]].
 *
 * Returns SL_OK, or:
 *   SL_ERR_INVALID   not strict JSON (see above), or text NULL with len > 0;
 *   SL_ERR_TOO_LARGE more than max_tokens tokens, or len >= UINT32_MAX;
 *   SL_ERR_NOMEM     the token array could not grow.
 * On failure *doc is empty (json_doc_free on it is harmless) and, when err is
 * not NULL, *err says where and what: the first problem met reading left to
 * right, except that a duplicate key is found when its object closes (the
 * offset is then that of the second occurrence's opening quote). Input that
 * ends where more is due fails with the offset len. On success *err is left
 * as it was.
 */
sl_err json_parse(json_doc *doc, const char *text, size_t len, size_t max_tokens,
                  unsigned max_depth, json_error *err);

/* Release the tokens; *doc is empty (all zero) afterwards. Safe on an empty or
 * already freed doc. */
void json_doc_free(json_doc *doc);

/* ---- walking (every pointer returned points into doc->toks) -------------------- */

/* The root value, or NULL for an empty doc. */
const json_tok *json_root(const json_doc *doc);

/* The first token directly inside the object or array c, or NULL when c is
 * empty or not a container. */
const json_tok *json_first(const json_doc *doc, const json_tok *c);

/* The token after child at the same level inside container c, or NULL when
 * child was the last. In an object this goes key, value, key, value... */
const json_tok *json_next(const json_doc *doc, const json_tok *c, const json_tok *child);

/* The value of the member of object obj whose key, unescaped, equals key (a
 * NUL-terminated string); NULL when there is none or obj is not an object. */
const json_tok *json_member(const json_doc *doc, const json_tok *obj, const char *key);

/* "object", "array", "string", "number", "boolean" (true and false) or "null":
 * for messages such as "expected a string, got a number". Static storage. */
const char *json_type_name(json_type type);

/* ---- values ------------------------------------------------------------------- */

/* Copy the string tok, unescaped (valid UTF-8), into out[0..cap) followed by
 * a NUL. *len (when len is not NULL) gets the unescaped length without the
 * NUL, also on SL_ERR_TOO_LARGE, so cap 0 with out NULL asks for the length.
 * \u0000 is allowed by JSON and copies a NUL byte into the string: compare
 * *len with strlen(out) when embedded NULs matter (names, keys, topics).
 * Returns SL_ERR_INVALID when tok is not a string, SL_ERR_TOO_LARGE when the
 * string and its NUL do not fit in cap (out then holds "" when cap > 0).
 * Unescaping never lengthens: cap = tok->end - tok->start + 1 always fits. */
sl_err json_string_copy(const json_doc *doc, const json_tok *tok, char *out, size_t cap,
                        size_t *len);

/* tok is a string whose unescaped bytes are exactly those of s (NUL-terminated;
 * a string holding \u0000 never equals any s). False when tok is not a string
 * or s is NULL. */
bool json_string_eq(const json_doc *doc, const json_tok *tok, const char *s);

/* The number tok as an unsigned integer. Only digits are accepted: a fraction,
 * an exponent or a sign (even "-0") is SL_ERR_INVALID, as is a token that is
 * not a number; past 18446744073709551615 is SL_ERR_TOO_LARGE. *out is
 * written only on SL_OK. */
sl_err json_u64(const json_doc *doc, const json_tok *tok, uint64_t *out);

/* The number tok as a signed integer: an optional '-' and digits ("-0" is 0);
 * a fraction or an exponent, or a token that is not a number, is
 * SL_ERR_INVALID; outside [-9223372036854775808, 9223372036854775807] is
 * SL_ERR_TOO_LARGE. *out is written only on SL_OK. */
sl_err json_i64(const json_doc *doc, const json_tok *tok, int64_t *out);

/* The raw text of the value tok, byte for byte as in the document (a string
 * with its quotes, a container with everything inside): e.g. to store a JSON
 * payload as it came. Borrowed from doc->text. */
sl_slice json_raw(const json_doc *doc, const json_tok *tok);

#endif
