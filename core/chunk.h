/* chunk.h: the format 2 chunk codec (layout in core/FORMAT.md, "Chunks").
 *
 * A chunk is one LMDB value in the "chunks" database, keyed by the sequence
 * of its first event (u64 big-endian). It holds 1..SL_CHUNK_MAX_EVENTS
 * consecutive events: a header, a table of record end offsets, the records.
 * Pure functions over caller-owned memory: no allocation, no LMDB calls.
 * Core-internal: only core/ and the tests include it.
 */
#ifndef SLUICE_CORE_CHUNK_H
#define SLUICE_CORE_CHUNK_H

#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "event.h"

#define SL_CHUNK_VERSION 2        /* chunk record version (= the format it came with) */
#define SL_CHUNK_HEADER_LEN 20    /* version, flags, count, first_ts, last_ts */
#define SL_CHUNK_OFFSET_LEN 4     /* one u32 end offset per event */
#define SL_CHUNK_RECORD_FIXED 10  /* ts delta, 4 length bytes, headers length */
#define SL_CHUNK_MAX_EVENTS 1000u /* most events packed into one chunk */
#define SL_CHUNK_MAX_PAGES 16u    /* a chunk of several events fills at most this many pages */
#define SL_CHUNK_TS_SPAN_MAX UINT32_MAX /* last ts - first ts of a chunk, ms */

/* A parsed chunk. Pointers point into the LMDB value it was parsed from and
 * live as long as that value (the read transaction). */
typedef struct sl_chunk {
    uint64_t first_seq;     /* sequence of event 0 (the key) */
    uint32_t count;         /* events in the chunk, >= 1 */
    uint64_t first_ts;      /* timestamp of event 0 */
    uint64_t last_ts;       /* timestamp of the last event */
    const uint8_t *offsets; /* count u32 end offsets into records */
    const uint8_t *records; /* the packed records */
    size_t records_len;     /* bytes in records */
    size_t len;             /* bytes of the whole chunk value */
} sl_chunk;

/* Parse the chunk value val stored under key (8 bytes) into *out, checking
 * the header and the offset table (records are checked when read).
 * SL_ERR_CORRUPT on any size or field mismatch, SL_ERR_VERSION when the
 * version byte is not SL_CHUNK_VERSION. */
sl_err sl_chunk_parse(const void *key, size_t key_len, const void *val, size_t val_len,
                      sl_chunk *out);

/* Decode event index (0..count-1) of c into *out; slices point into c's
 * value. SL_ERR_CORRUPT when the record does not decode, SL_ERR_INVALID when
 * index is out of range. */
sl_err sl_chunk_event(const sl_chunk *c, uint32_t index, sl_event_view *out);

/* Only the timestamp of event index of c (for searches by time). Errors as
 * sl_chunk_event. */
sl_err sl_chunk_event_ts(const sl_chunk *c, uint32_t index, uint64_t *ts);

/* Bytes of the headers block ev encodes to. */
size_t sl_chunk_headers_len(const sl_event_in *ev);

/* Bytes an event adds to a chunk (record + its offset-table entry). */
size_t sl_chunk_entry_len_in(const sl_event_in *ev);
size_t sl_chunk_entry_len_view(const sl_event_view *ev);

/* Largest value of a chunk of several events for page size page_size: what
 * fills SL_CHUNK_MAX_PAGES overflow pages (LMDB adds a 16-byte page header). */
size_t sl_chunk_cap(size_t page_size);

/* Largest "small" chunk: one that fits one overflow page (or is inline in
 * a leaf). Appends rewrite a small tail chunk to add events to it. */
size_t sl_chunk_small_max(size_t page_size);

/* Writes one chunk into memory the caller owns (an LMDB MDB_RESERVE value,
 * usually), whose size is SL_CHUNK_HEADER_LEN + the entry lengths of the
 * count events that will be added. */
typedef struct sl_chunk_writer {
    uint8_t *base;     /* start of the chunk value (borrowed) */
    uint32_t count;    /* events the chunk will hold */
    uint32_t added;    /* events written so far */
    size_t used;       /* bytes of records written so far */
    uint64_t first_ts; /* the chunk's first timestamp (record ts are deltas) */
} sl_chunk_writer;

/* Start a chunk of count events at base; writes the header. */
void sl_chunk_writer_start(sl_chunk_writer *w, uint8_t *base, uint32_t count, uint64_t first_ts,
                           uint64_t last_ts);

/* Copy every record of old (same first_ts, old->count < w->count) as the first
 * events. old must not overlap the writer's memory. */
void sl_chunk_writer_copy(sl_chunk_writer *w, const sl_chunk *old);

/* A run of bytes sl_chunk_writer_copy copies: len bytes at offset from of
 * old's value go to offset to of the new chunk. */
typedef struct sl_chunk_run {
    size_t to, from, len;
} sl_chunk_run;

/* The runs sl_chunk_writer_copy copies from old into a chunk of count
 * events: runs[0] the offset table, runs[1] the records. The rest of the new
 * chunk (its header and what is added after old's events) is new bytes. */
void sl_chunk_copy_runs(const sl_chunk *old, uint32_t count, sl_chunk_run runs[2]);

/* Append one event with timestamp ts (first_ts <= ts <= first_ts + 2^32-1). */
void sl_chunk_writer_add_in(sl_chunk_writer *w, const sl_event_in *ev, uint64_t ts);

/* Append a decoded event (a format 1 record being upgraded). */
void sl_chunk_writer_add_view(sl_chunk_writer *w, const sl_event_view *ev);

#endif
