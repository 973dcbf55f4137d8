/* envelope.h: the JSON body of a webhook delivery.
 *
 *   {"id":"evt_...","type":"order.created","created_at":"2026-11-23T10:00:00.123Z","data":...}
 *
 * id is the event id (sl_event_id_format; the same on every attempt), type
 * the topic, created_at the event's append time in UTC with milliseconds.
 * data is the payload itself when it is one valid JSON value (json_is_valid),
 * else {"content_type": <the content type, or "application/octet-stream">,
 * "base64": "<the payload in base64>"}. A subscription's test event (topic
 * "_wh.<id>", see core/webhook.h) goes out with type "webhook.test".
 *
 * The body is written into a caller-owned json_buf, reset first: reusing one
 * buffer, building a body allocates nothing once the buffer has grown.
 */
#ifndef SLUICE_BRIDGE_ENVELOPE_H
#define SLUICE_BRIDGE_ENVELOPE_H

#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"
#include "tools/common/json_buf.h"

#define WH_TEST_TYPE "webhook.test"
#define WH_DEFAULT_CONTENT_TYPE "application/octet-stream"
#define WH_TIME_MAX 32 /* bytes wh_format_time may write, with the NUL */

/* What the body is made of. Borrows every slice. */
typedef struct wh_envelope_event {
    sl_slice id;           /* "evt_" + 32 hex */
    sl_slice topic;
    uint64_t ts_ms;        /* append time, Unix ms */
    sl_slice content_type; /* len 0: none */
    sl_slice payload;
} wh_envelope_event;

/* The "type" of an event of topic: "webhook.test" for a test topic
 * (starting with "_wh."), else the topic itself (borrowed). */
sl_slice wh_envelope_type(sl_slice topic);

/* Unix ms as ISO 8601 UTC with milliseconds, "2026-11-23T10:00:00.123Z".
 * SL_ERR_INVALID when the time is past what the C library can convert. */
sl_err wh_format_time(uint64_t ms, char out[WH_TIME_MAX]);

/* Reset b and write the body of ev into it. SL_ERR_NOMEM, SL_ERR_INVALID
 * (a time out of range); on error b holds no usable document. */
sl_err wh_envelope_build(json_buf *b, const wh_envelope_event *ev);

#endif
