/* record_codec.h: core-internal: bounds-checked reading and writing of the
 * byte records core/FORMAT.md describes (big-endian integers, see bytes.h).
 *
 * A reader or writer never goes past its buffer: the first read or write
 * that does not fit sets bad, and every later call does nothing (reads
 * return 0), so a decoder reads all its fields and checks bad once at the
 * end. Both borrow their buffer.
 */
#ifndef SLUICE_CORE_RECORD_CODEC_H
#define SLUICE_CORE_RECORD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "bytes.h"

typedef struct rec_reader {
    const uint8_t *p;  /* next byte */
    size_t left;       /* bytes left */
    bool bad;          /* a read ran past the end (or the caller found a bad value) */
} rec_reader;

typedef struct rec_writer {
    uint8_t *p;        /* next byte */
    size_t left;       /* room left */
    bool bad;          /* a write did not fit */
} rec_writer;

/* The next n bytes, or NULL (and bad) when fewer are left. */
static inline const uint8_t *rec_take(rec_reader *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    return at;
}

static inline uint8_t rec_get8(rec_reader *r)
{
    const uint8_t *p = rec_take(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t rec_get16(rec_reader *r)
{
    const uint8_t *p = rec_take(r, 2);
    return p ? sl_get_u16(p) : 0;
}

static inline uint32_t rec_get32(rec_reader *r)
{
    const uint8_t *p = rec_take(r, 4);
    return p ? sl_get_u32(p) : 0;
}

static inline uint64_t rec_get64(rec_reader *r)
{
    const uint8_t *p = rec_take(r, 8);
    return p ? sl_get_u64(p) : 0;
}

/* n bytes into out (left as they were when they do not fit). */
static inline void rec_get_fixed(rec_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = rec_take(r, n);
    if (p)
        memcpy(out, p, n);
}

static inline void rec_put_bytes(rec_writer *w, const void *src, size_t n)
{
    if (w->bad || w->left < n) {
        w->bad = true;
        return;
    }
    if (n)
        memcpy(w->p, src, n);
    w->p += n;
    w->left -= n;
}

static inline void rec_put8(rec_writer *w, uint8_t v)
{
    rec_put_bytes(w, &v, 1);
}

static inline void rec_put16(rec_writer *w, uint16_t v)
{
    uint8_t b[2];
    sl_put_u16(b, v);
    rec_put_bytes(w, b, 2);
}

static inline void rec_put32(rec_writer *w, uint32_t v)
{
    uint8_t b[4];
    sl_put_u32(b, v);
    rec_put_bytes(w, b, 4);
}

static inline void rec_put64(rec_writer *w, uint64_t v)
{
    uint8_t b[8];
    sl_put_u64(b, v);
    rec_put_bytes(w, b, 8);
}

#endif
