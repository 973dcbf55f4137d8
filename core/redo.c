/* redo.c: see redo.h. */
#include "redo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define CHANGE_HEAD 10 /* kind(1) db(1) key_len(4) val_len(4) */
#define REDO_INITIAL (64u * 1024u)

struct sl_redo {
    uint8_t *buf;      /* encoded changes (owned) */
    size_t len, cap;
    size_t last;       /* offset of the last change noted */
    size_t reserved;   /* offset of the value of the last reserved put; SIZE_MAX: none */
    size_t reserved_len;
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
    } else if (val->mv_size) {
        memcpy(r->buf + at, val->mv_data, val->mv_size);
    }
    return 0;
}

int sl_redo_note_del(sl_redo *r, sl_db db, const MDB_val *key)
{
    size_t at;
    r->reserved = SIZE_MAX;
    return note(r, 'D', db, key, 0, &at);
}

void sl_redo_fill_reserved(sl_redo *r, const MDB_val *val)
{
    if (r->reserved == SIZE_MAX || val->mv_size != r->reserved_len)
        return;
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

/* One change at data[*at]; *at moves past it. */
static sl_err apply_one(sl_txn *t, const uint8_t *data, size_t size, size_t *at)
{
    if (size - *at < CHANGE_HEAD)
        return SL_ERR_CORRUPT;
    const uint8_t *p = data + *at;
    uint32_t klen = sl_get_u32(p + 2), vlen = sl_get_u32(p + 6);
    if (p[1] >= SL_DB_COUNT || klen == 0 || (uint64_t)klen + vlen > size - *at - CHANGE_HEAD)
        return SL_ERR_CORRUPT;
    MDB_val k = {klen, (void *)(p + CHANGE_HEAD)};
    MDB_val v = {vlen, (void *)(p + CHANGE_HEAD + klen)};
    int rc;
    if (p[0] == 'P')
        rc = mdb_put(t->txn, sl_dbi(t, (sl_db)p[1]), &k, &v, 0);
    else if (p[0] == 'D' && vlen == 0)
        rc = mdb_del(t->txn, sl_dbi(t, (sl_db)p[1]), &k, NULL);
    else
        return SL_ERR_CORRUPT;
    *at += CHANGE_HEAD + klen + vlen;
    return sl_err_from_mdb(rc);
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
