/* chunk.c: the format 2 chunk codec (see chunk.h and core/FORMAT.md). */
#include "chunk.h"

#include <string.h>

#include "bytes.h"

#define HDR_OFF_COUNT 2
#define HDR_OFF_FIRST_TS 4
#define HDR_OFF_LAST_TS 12
#define REC_OFF_TOPIC_LEN 4
#define REC_OFF_CT_LEN 5
#define REC_OFF_KEY_LEN 6
#define REC_OFF_NHEADERS 7
#define REC_OFF_HEADERS_LEN 8
#define LMDB_PAGE_HEADER 16 /* LMDB's page header, also on overflow pages */
#define SEQ_KEY_LEN 8

sl_err sl_chunk_parse(const void *key, size_t key_len, const void *val, size_t val_len,
                      sl_chunk *out)
{
    const uint8_t *p = val;
    if (key_len != SEQ_KEY_LEN || val_len < SL_CHUNK_HEADER_LEN)
        return SL_ERR_CORRUPT;
    if (p[0] != SL_CHUNK_VERSION)
        return SL_ERR_VERSION;
    memset(out, 0, sizeof *out);
    out->first_seq = sl_get_u64(key);
    out->count = sl_get_u16(p + HDR_OFF_COUNT);
    out->first_ts = sl_get_u64(p + HDR_OFF_FIRST_TS);
    out->last_ts = sl_get_u64(p + HDR_OFF_LAST_TS);
    size_t table = (size_t)out->count * SL_CHUNK_OFFSET_LEN;
    if (out->count == 0 || out->first_seq == 0 || out->first_ts > out->last_ts ||
        out->first_seq > UINT64_MAX - out->count || val_len - SL_CHUNK_HEADER_LEN < table)
        return SL_ERR_CORRUPT;
    out->offsets = p + SL_CHUNK_HEADER_LEN;
    out->records = out->offsets + table;
    out->records_len = val_len - SL_CHUNK_HEADER_LEN - table;
    out->len = val_len;
    uint32_t last_end = sl_get_u32(out->offsets + table - SL_CHUNK_OFFSET_LEN);
    return last_end == out->records_len ? SL_OK : SL_ERR_CORRUPT;
}

/* The bytes of record index of c: *rec and *len. */
static sl_err record_of(const sl_chunk *c, uint32_t index, const uint8_t **rec, size_t *len)
{
    if (index >= c->count)
        return SL_ERR_INVALID;
    size_t start = index ? sl_get_u32(c->offsets + (size_t)(index - 1) * SL_CHUNK_OFFSET_LEN) : 0;
    size_t end = sl_get_u32(c->offsets + (size_t)index * SL_CHUNK_OFFSET_LEN);
    if (start > end || end > c->records_len || end - start < SL_CHUNK_RECORD_FIXED)
        return SL_ERR_CORRUPT;
    *rec = c->records + start;
    *len = end - start;
    return SL_OK;
}

static sl_slice take_slice(const uint8_t **p, size_t len)
{
    sl_slice s = {(const char *)*p, len};
    *p += len;
    return s;
}

/* The headers block of out holds exactly out->nheaders well-formed headers. */
static sl_err check_headers_block(const sl_event_view *out)
{
    size_t pos = 0;
    sl_header h;
    for (uint32_t i = 0; i < out->nheaders; i++)
        if (sl_event_header_next(out, &pos, &h) != SL_OK)
            return SL_ERR_CORRUPT;
    return pos == out->headers_raw_len ? SL_OK : SL_ERR_CORRUPT;
}

sl_err sl_chunk_event(const sl_chunk *c, uint32_t index, sl_event_view *out)
{
    const uint8_t *p;
    size_t len;
    sl_err rc = record_of(c, index, &p, &len);
    if (rc != SL_OK)
        return rc;
    size_t topic_len = p[REC_OFF_TOPIC_LEN], ct_len = p[REC_OFF_CT_LEN];
    size_t key_len = p[REC_OFF_KEY_LEN], nheaders = p[REC_OFF_NHEADERS];
    size_t headers_len = sl_get_u16(p + REC_OFF_HEADERS_LEN);
    if (topic_len == 0 || ct_len > SL_CONTENT_TYPE_MAX || key_len > SL_IDEM_KEY_MAX ||
        nheaders > SL_HEADERS_MAX)
        return SL_ERR_CORRUPT;
    size_t fixed = SL_CHUNK_RECORD_FIXED + topic_len + ct_len + key_len + headers_len;
    if (fixed > len)
        return SL_ERR_CORRUPT;
    memset(out, 0, sizeof *out);
    out->seq = c->first_seq + index;
    out->ts_ms = c->first_ts + sl_get_u32(p);
    p += SL_CHUNK_RECORD_FIXED;
    out->topic = take_slice(&p, topic_len);
    out->content_type = take_slice(&p, ct_len);
    out->idem_key = take_slice(&p, key_len);
    out->nheaders = (uint32_t)nheaders;
    out->headers_raw = p;
    out->headers_raw_len = headers_len;
    p += headers_len;
    out->payload = take_slice(&p, len - fixed);
    return check_headers_block(out);
}

sl_err sl_chunk_event_ts(const sl_chunk *c, uint32_t index, uint64_t *ts)
{
    const uint8_t *p;
    size_t len;
    sl_err rc = record_of(c, index, &p, &len);
    if (rc == SL_OK)
        *ts = c->first_ts + sl_get_u32(p);
    return rc;
}

size_t sl_chunk_headers_len(const sl_event_in *ev)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->nheaders; i++)
        n += 4 + ev->headers[i].key.len + ev->headers[i].value.len;
    return n;
}

size_t sl_chunk_entry_len_in(const sl_event_in *ev)
{
    return SL_CHUNK_OFFSET_LEN + SL_CHUNK_RECORD_FIXED + ev->topic.len + ev->content_type.len +
           ev->idem_key.len + sl_chunk_headers_len(ev) + ev->payload.len;
}

size_t sl_chunk_entry_len_view(const sl_event_view *ev)
{
    return SL_CHUNK_OFFSET_LEN + SL_CHUNK_RECORD_FIXED + ev->topic.len + ev->content_type.len +
           ev->idem_key.len + ev->headers_raw_len + ev->payload.len;
}

size_t sl_chunk_cap(size_t page_size)
{
    return SL_CHUNK_MAX_PAGES * page_size - LMDB_PAGE_HEADER;
}

size_t sl_chunk_small_max(size_t page_size)
{
    return page_size - LMDB_PAGE_HEADER;
}

void sl_chunk_writer_start(sl_chunk_writer *w, uint8_t *base, uint32_t count, uint64_t first_ts,
                           uint64_t last_ts)
{
    w->base = base;
    w->count = count;
    w->added = 0;
    w->used = 0;
    w->first_ts = first_ts;
    base[0] = SL_CHUNK_VERSION;
    base[1] = 0; /* flags: reserved */
    sl_put_u16(base + HDR_OFF_COUNT, (uint16_t)count);
    sl_put_u64(base + HDR_OFF_FIRST_TS, first_ts);
    sl_put_u64(base + HDR_OFF_LAST_TS, last_ts);
}

static uint8_t *records_of(const sl_chunk_writer *w)
{
    return w->base + SL_CHUNK_HEADER_LEN + (size_t)w->count * SL_CHUNK_OFFSET_LEN;
}

/* Record the end of the event just written (rec_len bytes). */
static void writer_commit(sl_chunk_writer *w, size_t rec_len)
{
    w->used += rec_len;
    sl_put_u32(w->base + SL_CHUNK_HEADER_LEN + (size_t)w->added * SL_CHUNK_OFFSET_LEN,
               (uint32_t)w->used);
    w->added++;
}

void sl_chunk_writer_copy(sl_chunk_writer *w, const sl_chunk *old)
{
    memcpy(w->base + SL_CHUNK_HEADER_LEN, old->offsets, (size_t)old->count * SL_CHUNK_OFFSET_LEN);
    memcpy(records_of(w), old->records, old->records_len);
    w->added = old->count;
    w->used = old->records_len;
}

void sl_chunk_copy_runs(const sl_chunk *old, uint32_t count, sl_chunk_run runs[2])
{
    size_t old_records = SL_CHUNK_HEADER_LEN + (size_t)old->count * SL_CHUNK_OFFSET_LEN;
    runs[0] = (sl_chunk_run){SL_CHUNK_HEADER_LEN, SL_CHUNK_HEADER_LEN,
                             (size_t)old->count * SL_CHUNK_OFFSET_LEN};
    runs[1] = (sl_chunk_run){SL_CHUNK_HEADER_LEN + (size_t)count * SL_CHUNK_OFFSET_LEN,
                             old_records, old->records_len};
}

static uint8_t *put_bytes(uint8_t *p, sl_slice s)
{
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* The fixed part and the topic, content type and idempotency key of a record. */
static uint8_t *put_front(uint8_t *p, const sl_chunk_writer *w, uint64_t ts, sl_slice topic,
                          sl_slice ct, sl_slice key, size_t nheaders, size_t headers_len)
{
    sl_put_u32(p, (uint32_t)(ts - w->first_ts));
    p[REC_OFF_TOPIC_LEN] = (uint8_t)topic.len;
    p[REC_OFF_CT_LEN] = (uint8_t)ct.len;
    p[REC_OFF_KEY_LEN] = (uint8_t)key.len;
    p[REC_OFF_NHEADERS] = (uint8_t)nheaders;
    sl_put_u16(p + REC_OFF_HEADERS_LEN, (uint16_t)headers_len);
    p += SL_CHUNK_RECORD_FIXED;
    p = put_bytes(p, topic);
    p = put_bytes(p, ct);
    return put_bytes(p, key);
}

void sl_chunk_writer_add_in(sl_chunk_writer *w, const sl_event_in *ev, uint64_t ts)
{
    uint8_t *start = records_of(w) + w->used;
    uint8_t *p = put_front(start, w, ts, ev->topic, ev->content_type, ev->idem_key,
                           ev->nheaders, sl_chunk_headers_len(ev));
    for (size_t i = 0; i < ev->nheaders; i++) {
        sl_put_u16(p, (uint16_t)ev->headers[i].key.len);
        p = put_bytes(p + 2, ev->headers[i].key);
        sl_put_u16(p, (uint16_t)ev->headers[i].value.len);
        p = put_bytes(p + 2, ev->headers[i].value);
    }
    p = put_bytes(p, ev->payload);
    writer_commit(w, (size_t)(p - start));
}

void sl_chunk_writer_add_view(sl_chunk_writer *w, const sl_event_view *ev)
{
    uint8_t *start = records_of(w) + w->used;
    uint8_t *p = put_front(start, w, ev->ts_ms, ev->topic, ev->content_type, ev->idem_key,
                           ev->nheaders, ev->headers_raw_len);
    sl_slice headers = {(const char *)ev->headers_raw, ev->headers_raw_len};
    p = put_bytes(p, headers);
    p = put_bytes(p, ev->payload);
    writer_commit(w, (size_t)(p - start));
}
