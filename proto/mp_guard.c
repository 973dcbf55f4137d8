/* mp_guard.c: see mp_guard.h. One header decoder (read_item) serves both the
 * guard and the cursor; neither allocates nor recurses. */
#include "proto/mp_guard.h"

#include <string.h>
#include "core/bytes.h"

/* Why read_item failed. */
typedef enum item_fault {
    ITEM_OK,
    ITEM_TRUNCATED, /* the header itself runs past the end */
    ITEM_LENGTH,    /* a str/bin/ext length claims more than the bytes left */
    ITEM_RESERVED   /* the never-used byte 0xc1 */
} item_fault;

/* Width in bytes of the length/value field that follows a type byte, for the
 * fixed-width families. */
static size_t width_of(uint8_t type_byte)
{
    switch (type_byte) {
    case 0xcc: case 0xd0: case 0xd9: case 0xc4: case 0xc7: return 1;
    case 0xcd: case 0xd1: case 0xda: case 0xc5: case 0xc8: case 0xdc: case 0xde: return 2;
    case 0xce: case 0xd2: case 0xca: case 0xdb: case 0xc6: case 0xc9: case 0xdd: case 0xdf:
        return 4;
    case 0xcf: case 0xd3: case 0xcb: return 8;
    default: return 0;
    }
}

/* Big-endian unsigned integer of width w (1, 2, 4 or 8) at p. */
static uint64_t get_be(const uint8_t *p, size_t w)
{
    switch (w) {
    case 1: return p[0];
    case 2: return sl_get_u16(p);
    case 4: return sl_get_u32(p);
    default: return sl_get_u64(p);
    }
}

/* Same, sign-extended from width w. */
static int64_t get_be_signed(const uint8_t *p, size_t w)
{
    switch (w) {
    case 1: return (int8_t)p[0];
    case 2: return (int16_t)sl_get_u16(p);
    case 4: return (int32_t)sl_get_u32(p);
    default: return (int64_t)sl_get_u64(p);
    }
}

/* Set out to a byte-carrying item of n bytes at p, if they fit before end. */
static item_fault take_bytes(sl_mp_type type, const uint8_t *p, const uint8_t *end, uint64_t n,
                             sl_mp_item *out, size_t *used)
{
    if (n > (uint64_t)(end - p))
        return ITEM_LENGTH;
    out->type = type;
    out->bytes.ptr = (const char *)p;
    out->bytes.len = (size_t)n;
    *used += (size_t)n;
    return ITEM_OK;
}

static void set_int(sl_mp_item *out, int64_t v)
{
    if (v >= 0) {
        out->type = SL_MP_UINT;
        out->u = (uint64_t)v;
    } else {
        out->type = SL_MP_NEGINT;
        out->i = v;
    }
}

static double float_of(const uint8_t *p, size_t w)
{
    if (w == 4) {
        uint32_t bits = sl_get_u32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    uint64_t bits = sl_get_u64(p);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* The single-byte forms: fixint, fixmap, fixarray, fixstr, nil, bool.
 * Returns true when b is one of them (and fills out). */
static bool read_fixed(uint8_t b, sl_mp_item *out)
{
    if (b <= 0x7f) {
        set_int(out, b);
    } else if (b >= 0xe0) {
        set_int(out, (int8_t)b);
    } else if ((b & 0xf0) == 0x80) {
        out->type = SL_MP_MAP;
        out->count = b & 0x0f;
    } else if ((b & 0xf0) == 0x90) {
        out->type = SL_MP_ARRAY;
        out->count = b & 0x0f;
    } else if (b == 0xc0) {
        out->type = SL_MP_NIL;
    } else if (b == 0xc2 || b == 0xc3) {
        out->type = SL_MP_BOOL;
        out->b = b == 0xc3;
    } else {
        return false;
    }
    return true;
}

/* The fixext forms d4..d8: 1, 2, 4, 8, 16 data bytes. */
static size_t fixext_size(uint8_t b)
{
    return (size_t)1 << (b - 0xd4);
}

/* Decode the item at p (before end); *used gets its size in bytes: the
 * header, plus the data for str/bin/ext. */
static item_fault read_item(const uint8_t *p, const uint8_t *end, sl_mp_item *out, size_t *used)
{
    memset(out, 0, sizeof *out);
    uint8_t b = p[0];
    *used = 1;
    if (read_fixed(b, out))
        return ITEM_OK;
    if ((b & 0xe0) == 0xa0)
        return take_bytes(SL_MP_STR, p + 1, end, b & 0x1f, out, used);
    if (b == 0xc1)
        return ITEM_RESERVED;
    size_t avail = (size_t)(end - p) - 1;
    if (b >= 0xd4 && b <= 0xd8) { /* fixext: type byte + data */
        if (avail < 1)
            return ITEM_TRUNCATED;
        out->ext_type = (int8_t)p[1];
        *used = 2;
        return take_bytes(SL_MP_EXT, p + 2, end, fixext_size(b), out, used);
    }
    size_t w = width_of(b);
    if (avail < w)
        return ITEM_TRUNCATED;
    const uint8_t *v = p + 1;
    *used = 1 + w;
    switch (b) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        out->type = SL_MP_UINT;
        out->u = get_be(v, w);
        return ITEM_OK;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        set_int(out, get_be_signed(v, w));
        return ITEM_OK;
    case 0xca: case 0xcb:
        out->type = SL_MP_FLOAT;
        out->f = float_of(v, w);
        return ITEM_OK;
    case 0xd9: case 0xda: case 0xdb:
        return take_bytes(SL_MP_STR, v + w, end, get_be(v, w), out, used);
    case 0xc4: case 0xc5: case 0xc6:
        return take_bytes(SL_MP_BIN, v + w, end, get_be(v, w), out, used);
    case 0xdc: case 0xdd:
        out->type = SL_MP_ARRAY;
        out->count = (uint32_t)get_be(v, w);
        return ITEM_OK;
    case 0xde: case 0xdf:
        out->type = SL_MP_MAP;
        out->count = (uint32_t)get_be(v, w);
        return ITEM_OK;
    default: /* c7 c8 c9: ext 8/16/32: length, type byte, data */
        if (avail < w + 1)
            return ITEM_TRUNCATED;
        out->ext_type = (int8_t)v[w];
        *used = 2 + w;
        return take_bytes(SL_MP_EXT, v + w + 1, end, get_be(v, w), out, used);
    }
}

/* Elements that follow a container header (pairs count twice). */
static uint64_t elements_of(const sl_mp_item *it)
{
    if (it->type == SL_MP_ARRAY)
        return it->count;
    if (it->type == SL_MP_MAP)
        return 2 * (uint64_t)it->count;
    return 0;
}

static const char *fault_text(item_fault f)
{
    switch (f) {
    case ITEM_LENGTH: return "length larger than input";
    case ITEM_RESERVED: return "reserved byte 0xc1";
    default: return "truncated";
    }
}

/* The walk state of the guard: elements still expected at each open level. */
typedef struct guard_walk {
    uint64_t left[SL_MP_DEPTH_CAP]; /* elements still to read, per open container */
    unsigned depth;                 /* open containers */
    uint64_t pending;               /* sum of left[] */
} guard_walk;

/* Account for one item just read; open it if it is a container. */
static const char *guard_step(guard_walk *g, const sl_mp_item *it, unsigned max_depth,
                              size_t bytes_left)
{
    if (g->depth > 0) {
        g->left[g->depth - 1]--;
        g->pending--;
    }
    if (it->type == SL_MP_ARRAY || it->type == SL_MP_MAP) {
        if (g->depth + 1 > max_depth)
            return "too deep";
        uint64_t n = elements_of(it);
        if (n > bytes_left || g->pending + n > bytes_left)
            return "count larger than input";
        if (n > 0) {
            g->left[g->depth++] = n;
            g->pending += n;
        }
    }
    while (g->depth > 0 && g->left[g->depth - 1] == 0)
        g->depth--;
    return NULL;
}

sl_err sl_mp_guard(const void *buf, size_t len, unsigned max_depth, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (len == 0 || !buf) {
        *why = "empty input";
        return SL_ERR_INVALID;
    }
    if (max_depth > SL_MP_DEPTH_CAP)
        max_depth = SL_MP_DEPTH_CAP;
    const uint8_t *p = buf, *end = p + len;
    guard_walk g = {.depth = 0, .pending = 0};
    do {
        if (p == end) {
            *why = "truncated";
            return SL_ERR_INVALID;
        }
        sl_mp_item it;
        size_t used;
        item_fault f = read_item(p, end, &it, &used);
        if (f != ITEM_OK) {
            *why = fault_text(f);
            return SL_ERR_INVALID;
        }
        p += used;
        *why = guard_step(&g, &it, max_depth, (size_t)(end - p));
        if (*why)
            return SL_ERR_INVALID;
    } while (g.depth > 0);
    if (p != end) {
        *why = "trailing bytes";
        return SL_ERR_INVALID;
    }
    return SL_OK;
}

sl_mp_cursor sl_mp_cursor_make(const void *buf, size_t len)
{
    sl_mp_cursor c;
    c.pos = buf;
    c.end = buf ? c.pos + len : NULL;
    return c;
}

size_t sl_mp_cursor_left(const sl_mp_cursor *c)
{
    return c->pos ? (size_t)(c->end - c->pos) : 0;
}

sl_err sl_mp_read(sl_mp_cursor *c, sl_mp_item *out)
{
    if (sl_mp_cursor_left(c) == 0)
        return SL_ERR_END;
    size_t used;
    if (read_item(c->pos, c->end, out, &used) != ITEM_OK)
        return SL_ERR_INVALID;
    c->pos += used;
    return SL_OK;
}

sl_err sl_mp_skip(sl_mp_cursor *c)
{
    sl_mp_cursor at = *c;
    uint64_t todo = 1;
    while (todo > 0) {
        sl_mp_item it;
        if (sl_mp_read(&at, &it) != SL_OK)
            return SL_ERR_INVALID;
        todo = todo - 1 + elements_of(&it);
        if (todo > sl_mp_cursor_left(&at))
            return SL_ERR_INVALID; /* every element needs at least one byte */
    }
    *c = at;
    return SL_OK;
}
