/* redo.c: see redo.h. */
#include "redo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define CHANGE_HEAD 10 /* kind(1) db(1) key_len(4) val_len(4) */
#define COPY_PIECE 9   /* 'C' from(4) len(4) */
#define LITERAL_HEAD 5 /* 'L' len(4), then the bytes */
#define REDO_INITIAL (64u * 1024u)

struct sl_redo {
    uint8_t *buf;      /* encoded changes (owned) */
    size_t len, cap;
    size_t last;       /* offset of the last change noted */
    size_t reserved;   /* offset of the value of the last reserved put or
                          splice (its pieces); SIZE_MAX: none */
    size_t reserved_len;
    bool splice;       /* reserved is a splice's pieces */
    size_t splice_len; /* the length of that splice's new value */
    size_t limit;      /* most bytes kept */
    size_t overflow_at;/* len when a change did not fit under limit; SIZE_MAX: none */
};

sl_redo *sl_redo_new(size_t limit)
{
    sl_redo *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->buf = malloc(REDO_INITIAL);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->cap = REDO_INITIAL;
    r->reserved = SIZE_MAX;
    r->limit = limit;
    r->overflow_at = SIZE_MAX;
    return r;
}

void sl_redo_free(sl_redo *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* Make room for n more bytes. */
static int reserve(sl_redo *r, size_t n)
{
    if (n > SIZE_MAX / 2 - r->len)
        return ENOMEM;
    if (r->len + n <= r->cap)
        return 0;
    size_t cap = r->cap;
    while (cap < r->len + n)
        cap *= 2;
    uint8_t *b = realloc(r->buf, cap);
    if (!b)
        return ENOMEM;
    r->buf = b;
    r->cap = cap;
    return 0;
}

/* Append a change head and the key; returns where the value goes. */
static int note(sl_redo *r, char kind, sl_db db, const MDB_val *key, size_t val_len,
                size_t *val_at)
{
    *val_at = SIZE_MAX;
    if (r->overflow_at != SIZE_MAX)
        return 0; /* past the limit already: nothing more is kept */
    if (key->mv_size > r->limit || val_len > r->limit ||
        CHANGE_HEAD + key->mv_size + val_len > r->limit - r->len) {
        r->overflow_at = r->len;
        return 0;
    }
    int rc = reserve(r, CHANGE_HEAD + key->mv_size + val_len);
    if (rc)
        return rc;
    uint8_t *p = r->buf + r->len;
    p[0] = (uint8_t)kind;
    p[1] = (uint8_t)db;
    sl_put_u32(p + 2, (uint32_t)key->mv_size);
    sl_put_u32(p + 6, (uint32_t)val_len);
    if (key->mv_size)
        memcpy(p + CHANGE_HEAD, key->mv_data, key->mv_size);
    r->last = r->len;
    *val_at = r->len + CHANGE_HEAD + key->mv_size;
    r->len = *val_at + val_len;
    return 0;
}

int sl_redo_note_put(sl_redo *r, sl_db db, const MDB_val *key, const MDB_val *val,
                     bool reserved)
{
    size_t at;
    int rc = note(r, 'P', db, key, val->mv_size, &at);
    r->reserved = SIZE_MAX;
    if (rc || at == SIZE_MAX)
        return rc;
    if (reserved) {
        r->reserved = at;
        r->reserved_len = val->mv_size;
        r->splice = false;
    } else if (val->mv_size) {
        memcpy(r->buf + at, val->mv_data, val->mv_size);
    }
    return 0;
}

/* Bytes of the pieces that describe a splice. */
static size_t pieces_len(size_t new_len, const sl_db_copy *copies, size_t n)
{
    size_t len = 0, pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (copies[i].len == 0)
            continue;
        if (copies[i].to > pos)
            len += LITERAL_HEAD + (copies[i].to - pos);
        len += COPY_PIECE;
        pos = copies[i].to + copies[i].len;
    }
    return pos < new_len ? len + LITERAL_HEAD + (new_len - pos) : len;
}

static uint8_t *put_literal_head(uint8_t *p, size_t len)
{
    p[0] = 'L';
    sl_put_u32(p + 1, (uint32_t)len);
    return p + LITERAL_HEAD + len; /* the bytes come with sl_redo_fill_reserved */
}

/* Write the pieces of a splice at p, literals left to fill. */
static void put_pieces(uint8_t *p, size_t new_len, const sl_db_copy *copies, size_t n)
{
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (copies[i].len == 0)
            continue;
        if (copies[i].to > pos)
            p = put_literal_head(p, copies[i].to - pos);
        p[0] = 'C';
        sl_put_u32(p + 1, (uint32_t)copies[i].from);
        sl_put_u32(p + 5, (uint32_t)copies[i].len);
        p += COPY_PIECE;
        pos = copies[i].to + copies[i].len;
    }
    if (pos < new_len)
        put_literal_head(p, new_len - pos);
}

int sl_redo_note_splice(sl_redo *r, sl_db db, const MDB_val *key, size_t new_len,
                        const sl_db_copy *copies, size_t n)
{
    size_t at, len = pieces_len(new_len, copies, n);
    int rc = note(r, 'S', db, key, len, &at);
    r->reserved = SIZE_MAX;
    if (rc || at == SIZE_MAX)
        return rc;
    put_pieces(r->buf + at, new_len, copies, n);
    r->reserved = at;
    r->reserved_len = len;
    r->splice = true;
    r->splice_len = new_len;
    return 0;
}

/* Copy the literal pieces of the splice at r->reserved from its new value. */
static void fill_splice(sl_redo *r, const uint8_t *val)
{
    uint8_t *p = r->buf + r->reserved, *end = p + r->reserved_len;
    size_t pos = 0;
    while (p < end) {
        if (p[0] == 'C') {
            pos += sl_get_u32(p + 5);
            p += COPY_PIECE;
            continue;
        }
        size_t len = sl_get_u32(p + 1);
        memcpy(p + LITERAL_HEAD, val + pos, len);
        pos += len;
        p += LITERAL_HEAD + len;
    }
}

int sl_redo_note_del(sl_redo *r, sl_db db, const MDB_val *key)
{
    size_t at;
    r->reserved = SIZE_MAX;
    return note(r, 'D', db, key, 0, &at);
}

void sl_redo_fill_reserved(sl_redo *r, const MDB_val *val)
{
    if (r->reserved == SIZE_MAX)
        return;
    if (r->splice && val->mv_size == r->splice_len)
        fill_splice(r, val->mv_data);
    else if (!r->splice && val->mv_size == r->reserved_len)
        memcpy(r->buf + r->reserved, val->mv_data, val->mv_size);
    r->reserved = SIZE_MAX;
}

void sl_redo_drop_last(sl_redo *r)
{
    if (r->overflow_at != SIZE_MAX)
        return; /* the last change was not kept */
    if (r->last < r->len)
        r->len = r->last;
    r->reserved = SIZE_MAX;
}

size_t sl_redo_size(const sl_redo *r)
{
    return r->len;
}

const uint8_t *sl_redo_data(const sl_redo *r)
{
    return r->buf;
}

bool sl_redo_overflowed(const sl_redo *r)
{
    return r->overflow_at != SIZE_MAX;
}

void sl_redo_truncate(sl_redo *r, size_t size)
{
    if (size < r->len)
        r->len = size;
    if (r->overflow_at != SIZE_MAX && size <= r->overflow_at)
        r->overflow_at = SIZE_MAX;
    r->last = r->len;
    r->reserved = SIZE_MAX;
}

/* The length of the value the pieces of a splice make from old; false when
 * they do not decode or reach past old. */
static bool splice_len(const uint8_t *p, size_t n, size_t old_len, size_t *out)
{
    size_t at = 0, len = 0;
    while (at < n) {
        if (p[at] == 'C' && n - at >= COPY_PIECE) {
            uint32_t from = sl_get_u32(p + at + 1), k = sl_get_u32(p + at + 5);
            if (from > old_len || k > old_len - from)
                return false;
            len += k;
            at += COPY_PIECE;
        } else if (p[at] == 'L' && n - at >= LITERAL_HEAD &&
                   sl_get_u32(p + at + 1) <= n - at - LITERAL_HEAD) {
            uint32_t k = sl_get_u32(p + at + 1);
            len += k;
            at += LITERAL_HEAD + k;
        } else {
            return false;
        }
    }
    *out = len;
    return true;
}

/* Build the value the pieces p (n bytes, checked by splice_len) make from old. */
static void splice_build(const uint8_t *p, size_t n, const uint8_t *old, uint8_t *out)
{
    for (size_t at = 0; at < n;) {
        if (p[at] == 'C') {
            uint32_t k = sl_get_u32(p + at + 5);
            memcpy(out, old + sl_get_u32(p + at + 1), k);
            out += k;
            at += COPY_PIECE;
        } else {
            uint32_t k = sl_get_u32(p + at + 1);
            memcpy(out, p + at + LITERAL_HEAD, k);
            out += k;
            at += LITERAL_HEAD + k;
        }
    }
}

/* Replace the value under k with the one the pieces v make of it. (Recovery
 * only: the new value is built in memory of its own, then put.) */
static sl_err apply_splice(sl_txn *t, MDB_dbi dbi, MDB_val *k, const MDB_val *v)
{
    MDB_val old;
    int rc = mdb_get(t->txn, dbi, k, &old);
    if (rc == MDB_NOTFOUND)
        return SL_ERR_CORRUPT; /* a splice of nothing: not what was noted */
    if (rc != MDB_SUCCESS)
        return sl_err_from_mdb(rc);
    size_t len;
    if (!splice_len(v->mv_data, v->mv_size, old.mv_size, &len))
        return SL_ERR_CORRUPT;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return SL_ERR_NOMEM;
    splice_build(v->mv_data, v->mv_size, old.mv_data, buf);
    MDB_val nv = {len, buf};
    rc = mdb_put(t->txn, dbi, k, &nv, 0);
    free(buf);
    return sl_err_from_mdb(rc);
}

/* One change at data[*at]; *at moves past it. */
static sl_err apply_one(sl_txn *t, const uint8_t *data, size_t size, size_t *at)
{
    if (size - *at < CHANGE_HEAD)
        return SL_ERR_CORRUPT;
    const uint8_t *p = data + *at;
    uint32_t klen = sl_get_u32(p + 2), vlen = sl_get_u32(p + 6);
    if (p[1] >= SL_DB_COUNT || klen == 0 || (uint64_t)klen + vlen > size - *at - CHANGE_HEAD)
        return SL_ERR_CORRUPT;
    MDB_dbi dbi = sl_dbi(t, (sl_db)p[1]);
    MDB_val k = {klen, (void *)(p + CHANGE_HEAD)};
    MDB_val v = {vlen, (void *)(p + CHANGE_HEAD + klen)};
    sl_err rc;
    if (p[0] == 'P')
        rc = sl_err_from_mdb(mdb_put(t->txn, dbi, &k, &v, 0));
    else if (p[0] == 'D' && vlen == 0)
        rc = sl_err_from_mdb(mdb_del(t->txn, dbi, &k, NULL));
    else if (p[0] == 'S')
        rc = apply_splice(t, dbi, &k, &v);
    else
        return SL_ERR_CORRUPT;
    *at += CHANGE_HEAD + klen + vlen;
    return rc;
}

sl_err sl_redo_apply(sl_txn *t, const uint8_t *data, size_t size)
{
    if (!t || !t->txn || !t->write || t->redo)
        return SL_ERR_INVALID;
    size_t at = 0;
    while (at < size) {
        sl_err rc = apply_one(t, data, size, &at);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}
