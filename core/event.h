/* event.h: an event as a producer hands it in, and as the log hands it out.
 *
 * Limits (checked by sl_log_append, documented in proto/PROTOCOL.md):
 * topic 1..255 bytes; content type 0..SL_CONTENT_TYPE_MAX; at most
 * SL_HEADERS_MAX headers, each key 1..SL_HEADER_KEY_MAX and value
 * 0..SL_HEADER_VALUE_MAX bytes; idempotency key 0..SL_IDEM_KEY_MAX bytes;
 * payload 0..max_payload_bytes (store option, default 1 MiB).
 */
#ifndef SLUICE_CORE_EVENT_H
#define SLUICE_CORE_EVENT_H

#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "slice.h"

#define SL_CONTENT_TYPE_MAX 127
#define SL_HEADERS_MAX 32
#define SL_HEADER_KEY_MAX 127
#define SL_HEADER_VALUE_MAX 1024
#define SL_IDEM_KEY_MAX 128
#define SL_EVENT_ID_LEN 36 /* "evt_" + 32 lowercase hex digits */

typedef struct sl_header {
    sl_slice key;
    sl_slice value;
} sl_header;

/* An event to append. Borrows everything; sl_log_append copies into LMDB. */
typedef struct sl_event_in {
    sl_slice topic;
    sl_slice payload;
    sl_slice content_type; /* len 0: none */
    const sl_header *headers;
    size_t nheaders;
    sl_slice idem_key;     /* len 0: no producer idempotency key */
} sl_event_in;

/* A stored event. Every slice points into LMDB memory and is valid only until
 * the transaction it was read in ends (or, for callbacks, until the callback
 * returns). */
typedef struct sl_event_view {
    uint64_t seq;          /* server-assigned, strictly increasing, never reused */
    uint64_t ts_ms;        /* server-assigned, Unix ms, non-decreasing with seq */
    sl_slice topic;
    sl_slice payload;
    sl_slice content_type;
    sl_slice idem_key;
    uint32_t nheaders;
    const uint8_t *headers_raw; /* encoded headers; iterate with sl_event_header_next */
    size_t headers_raw_len;
} sl_event_view;

/* Iterate headers: start with *pos = 0; returns SL_OK and fills *out for each
 * header, SL_ERR_END after the last, SL_ERR_CORRUPT on a malformed block. */
sl_err sl_event_header_next(const sl_event_view *ev, size_t *pos, sl_header *out);

/* Format the event id of seq in a store whose instance id is instance:
 * "evt_" + 16 hex of instance + 16 hex of seq, NUL-terminated. */
void sl_event_id_format(uint64_t instance, uint64_t seq, char out[SL_EVENT_ID_LEN + 1]);

/* Parse an event id; SL_ERR_INVALID if malformed. Either out may be NULL. */
sl_err sl_event_id_parse(sl_slice id, uint64_t *instance, uint64_t *seq);

#endif
