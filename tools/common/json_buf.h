/* json_buf.h: a JSON writer into a growable byte buffer.
 *
 * The caller owns the json_buf (usually one per request or per connection,
 * reused): jb_init it, append values, read data/len, jb_reset to write the
 * next document in the same memory, jb_free at the end. Commas between items
 * and after keys are handled by the writer; strings are escaped in full
 * (quote, backslash, every control, U+2028/U+2029; invalid UTF-8 bytes
 * become U+FFFD), so the output is always valid JSON when the calls are
 * balanced.
 *
 * Every append returns an sl_err the caller must check: SL_ERR_NOMEM when
 * the buffer cannot grow, SL_ERR_INVALID for a call out of place (a value
 * where a key is due, a key outside an object, an end without its begin),
 * SL_ERR_TOO_LARGE past JSON_BUF_DEPTH_MAX nesting. A failed append writes
 * nothing and leaves the buffer as it was. After a successful append, data
 * is NUL-terminated (the NUL is not counted in len).
 */
#ifndef SLUICE_TOOLS_COMMON_JSON_BUF_H
#define SLUICE_TOOLS_COMMON_JSON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"

#define JSON_BUF_DEPTH_MAX 32 /* open objects/arrays the writer tracks */

typedef struct json_buf {
    char *data;          /* the document so far (owned; NULL before the first append) */
    size_t len;          /* bytes written */
    size_t cap;          /* bytes allocated (room for len + the NUL) */
    unsigned depth;      /* open objects/arrays */
    uint32_t is_object;  /* bit d: the container at depth d + 1 is an object */
    uint32_t has_items;  /* bit d: the container at depth d + 1 has an item */
    bool after_key;      /* a key was written; its value comes next */
} json_buf;

/* An empty buffer; allocates nothing. */
void jb_init(json_buf *b);

/* Release the memory; b is empty (as after jb_init) afterwards. */
void jb_free(json_buf *b);

/* Empty the document and its state, keeping the memory. */
void jb_reset(json_buf *b);

/* Make room for extra more bytes (plus the NUL). SL_ERR_NOMEM. */
sl_err jb_reserve(json_buf *b, size_t extra);

/* The document so far (borrowed from b: valid until b changes). */
sl_slice jb_slice(const json_buf *b);

sl_err jb_begin_object(json_buf *b);
sl_err jb_end_object(json_buf *b);
sl_err jb_begin_array(json_buf *b);
sl_err jb_end_array(json_buf *b);

/* A key of the open object; its value is the next call. */
sl_err jb_key(json_buf *b, sl_slice key);
sl_err jb_key_cstr(json_buf *b, const char *key);

/* A string value, escaped (see above). */
sl_err jb_string(json_buf *b, sl_slice s);
sl_err jb_cstr(json_buf *b, const char *s);

/* Bytes the caller knows to be exactly one valid JSON value (json_is_valid),
 * copied as they are. */
sl_err jb_raw(json_buf *b, sl_slice json);

sl_err jb_uint(json_buf *b, uint64_t v);
sl_err jb_int(json_buf *b, int64_t v);
sl_err jb_bool(json_buf *b, bool v);
sl_err jb_null(json_buf *b);

/* A string holding the standard base64 (with padding) of the bytes. */
sl_err jb_base64(json_buf *b, sl_slice bytes);

#endif
