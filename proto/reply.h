/* reply.h: encoding replies (proto/PROTOCOL.md, "Replies" and "Shared shapes").
 *
 * An sl_reply_buf is a growable msgpack buffer, reused from request to
 * request (sl_reply_reset keeps its memory), so steady-state encoding does
 * not allocate. Every encoder returns SL_OK or SL_ERR_NOMEM; after
 * SL_ERR_NOMEM the buffer holds a partial object: reset it before reuse.
 *
 * A success reply is written as: sl_reply_ok_begin(r, n) then n key/value
 * pairs (sl_reply_key + a value, or the shape encoders below). The caller
 * must write exactly the number of pairs it announced.
 */
#ifndef SLUICE_PROTO_REPLY_H
#define SLUICE_PROTO_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "core/dlq.h"
#include "core/error.h"
#include "core/event.h"
#include "core/group.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/slice.h"
#include "proto/request.h"

/* A reply under construction. Owns its buffer. */
typedef struct sl_reply_buf {
    msgpack_sbuffer sbuf; /* the bytes (malloc'd, grown on demand) */
    msgpack_packer pk;    /* writes into sbuf; re-pointed on every call, so the
                             struct may be moved between calls */
} sl_reply_buf;

/* Start empty (no allocation yet). */
void sl_reply_init(sl_reply_buf *r);
/* Empty it, keep its memory. */
void sl_reply_reset(sl_reply_buf *r);
/* Free its memory; r is then as after sl_reply_init. */
void sl_reply_free(sl_reply_buf *r);
/* Empty it, and free its memory if it grew past keep_bytes (a server with
 * thousands of idle reply buffers must not keep each at its largest reply). */
void sl_reply_shrink(sl_reply_buf *r, size_t keep_bytes);

/* The encoded bytes, owned by r and valid until the next call on r. NULL
 * (with size 0) when nothing was written. */
const void *sl_reply_data(const sl_reply_buf *r);
size_t sl_reply_size(const sl_reply_buf *r);

/* ---- error replies: each replaces whatever r held ------------------------ */

/* {"ok":false,"error":{"code","message","field"?}}. code and message are
 * copied; field NULL or "": none. SL_ERR_NOMEM or SL_OK. */
sl_err sl_reply_error(sl_reply_buf *r, const char *code, const char *message,
                      const char *field /* NULL: none */);

/* The same from a decode error: also "index" when e->index >= 0. */
sl_err sl_reply_wire_error(sl_reply_buf *r, const sl_wire_error *e);

/* The same with code sl_err_code(err); message NULL: sl_err_text(err). */
sl_err sl_reply_core_error(sl_reply_buf *r, sl_err err, const char *message /* NULL: sl_err_text */,
                           const char *field);

/* ---- success replies: building blocks ------------------------------------ */

/* Reset r, then write a map header of 1 + npairs entries and "ok": true. */
sl_err sl_reply_ok_begin(sl_reply_buf *r, uint32_t npairs);

/* A str key (or any str value) from a C string. */
sl_err sl_reply_key(sl_reply_buf *r, const char *key);
sl_err sl_reply_str(sl_reply_buf *r, sl_slice s);
sl_err sl_reply_bin(sl_reply_buf *r, sl_slice b);
sl_err sl_reply_uint(sl_reply_buf *r, uint64_t v);
sl_err sl_reply_bool(sl_reply_buf *r, bool v);
sl_err sl_reply_array(sl_reply_buf *r, uint32_t n);
sl_err sl_reply_map(sl_reply_buf *r, uint32_t n);

/* key then value, for the common pairs. */
sl_err sl_reply_kv_uint(sl_reply_buf *r, const char *key, uint64_t v);
sl_err sl_reply_kv_str(sl_reply_buf *r, const char *key, const char *v);
sl_err sl_reply_kv_slice(sl_reply_buf *r, const char *key, sl_slice v);

/* An array whose length is known only at the end: writes an array32 header
 * with count 0 and stores its offset in *mark; sl_reply_array_patch(r, mark,
 * n) later sets the count to n (the result is valid msgpack). */
sl_err sl_reply_array_open(sl_reply_buf *r, size_t *mark);
void sl_reply_array_patch(sl_reply_buf *r, size_t mark, uint32_t n);

/* ---- the shared shapes of PROTOCOL.md ------------------------------------ */

/* Event map of ev; instance is the store's (sl_store_instance) for the id.
 * ev's slices need only live for the call. SL_ERR_CORRUPT when its headers
 * do not decode (r then holds a partial object). */
sl_err sl_reply_event(sl_reply_buf *r, uint64_t instance, const sl_event_view *ev);

/* Delivery map: the Event keys plus attempt, token, lease_until_ms. */
sl_err sl_reply_delivery(sl_reply_buf *r, uint64_t instance, const sl_delivery *d);

/* Group map of g. */
sl_err sl_reply_group(sl_reply_buf *r, const sl_group_info *g);

/* DeadLetter map of dl (with the event when retained). SL_ERR_CORRUPT as for
 * sl_reply_event. */
sl_err sl_reply_dead_letter(sl_reply_buf *r, uint64_t instance, const sl_dead_letter *dl);

/* Topic map {name, events, bytes, first_seq, last_seq} of t. */
sl_err sl_reply_topic(sl_reply_buf *r, const sl_topic_info *t);

/* Publish result map {seq, id, ts_ms, duplicate}. */
sl_err sl_reply_append_result(sl_reply_buf *r, uint64_t instance, const sl_append_result *a);

#endif
