/* mp_guard.h: safe walking of untrusted msgpack bytes, without allocating.
 *
 * Two tools over the same walk:
 *   - sl_mp_guard() checks a whole buffer before anything else looks at it:
 *     exactly one complete object, bounded nesting, and no length or count
 *     that claims more than the bytes left (so nothing downstream can be made
 *     to allocate or loop on a lie).
 *   - sl_mp_cursor reads a buffer item by item, in place: strings and bins
 *     come out as slices into the buffer. It is bounds-checked on its own, so
 *     it is safe on any bytes, but it does not limit depth: guard first.
 * Pure functions over caller memory: no allocation, no state.
 */
#ifndef SLUICE_PROTO_MP_GUARD_H
#define SLUICE_PROTO_MP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"

/* The deepest nesting sl_mp_guard can check; a larger max_depth acts as this. */
#define SL_MP_DEPTH_CAP 64

/* Walk untrusted msgpack bytes without allocating: SL_OK when buf holds
 * exactly one complete object (no trailing bytes), nesting depth <= max_depth
 * (a scalar has depth 0, an array or map one more than its deepest element's
 * container level: [[1]] has depth 2), and every array/map/str/bin/ext length
 * fits in the bytes left (the sum of all elements still expected, at every
 * level, never exceeds the bytes left); else SL_ERR_INVALID with *why set to
 * a static message ("empty input", "truncated", "trailing bytes", "too deep",
 * "count larger than input", "length larger than input", "reserved byte
 * 0xc1"). buf may be NULL when len is 0. why may be NULL. */
sl_err sl_mp_guard(const void *buf, size_t len, unsigned max_depth, const char **why);

/* The kind of one msgpack item. */
typedef enum sl_mp_type {
    SL_MP_NIL,    /* nil */
    SL_MP_BOOL,   /* true / false: item.b */
    SL_MP_UINT,   /* a non-negative integer (any width, signed or not): item.u */
    SL_MP_NEGINT, /* a negative integer: item.i */
    SL_MP_FLOAT,  /* float 32 or 64: item.f */
    SL_MP_STR,    /* str: item.bytes */
    SL_MP_BIN,    /* bin: item.bytes */
    SL_MP_EXT,    /* ext (fixext too): item.bytes, item.ext_type */
    SL_MP_ARRAY,  /* array header: item.count elements follow */
    SL_MP_MAP     /* map header: item.count key/value pairs follow */
} sl_mp_type;

/* One item as read by sl_mp_read. */
typedef struct sl_mp_item {
    sl_mp_type type; /* which of the fields below is meaningful */
    bool b;          /* SL_MP_BOOL */
    uint64_t u;      /* SL_MP_UINT */
    int64_t i;       /* SL_MP_NEGINT */
    double f;        /* SL_MP_FLOAT */
    sl_slice bytes;  /* SL_MP_STR / BIN / EXT: borrowed from the buffer */
    int8_t ext_type; /* SL_MP_EXT: the application type */
    uint32_t count;  /* SL_MP_ARRAY: elements; SL_MP_MAP: pairs */
} sl_mp_item;

/* A read position in a borrowed buffer. Copy it freely to look ahead. */
typedef struct sl_mp_cursor {
    const uint8_t *pos; /* next byte to read */
    const uint8_t *end; /* one past the last byte */
} sl_mp_cursor;

/* A cursor over buf[0..len). buf must outlive the cursor and its slices. */
sl_mp_cursor sl_mp_cursor_make(const void *buf, size_t len);

/* Bytes not yet read. */
size_t sl_mp_cursor_left(const sl_mp_cursor *c);

/* Read one item. For arrays and maps only the header is read: the cursor is
 * then at the first element. SL_ERR_INVALID (cursor unchanged) when the
 * bytes end too early or hold the reserved byte 0xc1; SL_ERR_END at the end. */
sl_err sl_mp_read(sl_mp_cursor *c, sl_mp_item *out);

/* Skip one whole object (a container with everything in it). SL_ERR_INVALID
 * (cursor unchanged) on malformed or truncated bytes. No recursion. */
sl_err sl_mp_skip(sl_mp_cursor *c);

#endif
