/* event.c: header blocks and event ids (see event.h; header block layout in
 * core/FORMAT.md). */
#include "event.h"

#include "bytes.h"

sl_err sl_event_header_next(const sl_event_view *ev, size_t *pos, sl_header *out)
{
    if (!ev || !pos || !out)
        return SL_ERR_INVALID;
    size_t len = ev->headers_raw_len, p = *pos;
    const uint8_t *raw = ev->headers_raw;
    if (p == len)
        return SL_ERR_END;
    if (!raw || p > len || len - p < 2)
        return SL_ERR_CORRUPT;
    size_t klen = sl_get_u16(raw + p);
    p += 2;
    if (klen == 0 || len - p < klen + 2)
        return SL_ERR_CORRUPT;
    out->key.ptr = (const char *)raw + p;
    out->key.len = klen;
    p += klen;
    size_t vlen = sl_get_u16(raw + p);
    p += 2;
    if (len - p < vlen)
        return SL_ERR_CORRUPT;
    out->value.ptr = (const char *)raw + p;
    out->value.len = vlen;
    *pos = p + vlen;
    return SL_OK;
}

static void put_hex64(char *out, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 0xf];
}

void sl_event_id_format(uint64_t instance, uint64_t seq, char out[SL_EVENT_ID_LEN + 1])
{
    if (!out)
        return;
    memcpy(out, "evt_", 4);
    put_hex64(out + 4, instance);
    put_hex64(out + 20, seq);
    out[SL_EVENT_ID_LEN] = '\0';
}

/* 16 lowercase hex digits at p into *out; false if any is not one. */
static bool get_hex64(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

sl_err sl_event_id_parse(sl_slice id, uint64_t *instance, uint64_t *seq)
{
    uint64_t inst, s;
    if (id.len != SL_EVENT_ID_LEN || !id.ptr || memcmp(id.ptr, "evt_", 4) != 0)
        return SL_ERR_INVALID;
    if (!get_hex64(id.ptr + 4, &inst) || !get_hex64(id.ptr + 20, &s))
        return SL_ERR_INVALID;
    if (instance)
        *instance = inst;
    if (seq)
        *seq = s;
    return SL_OK;
}
