/* client_internal.h: proto-internal: what the files of the C client
 * library share (client.c: the queue operations and the transport;
 * client_webhook.c: the webhook operations).
 *
 * Not part of the public API; nothing outside proto/client*.c includes it.
 * client.c owns every definition here. Three groups of helpers:
 *   - the request sink: encoders pack one request through a cl_sink into an
 *     sl_client_buf; a failed append or an over-long string marks the sink
 *     and the encoder's caller checks it once at the end (cl_sink_status);
 *   - the reply decoder: cl_get_* read one key of an unpacked reply map into
 *     a typed result, recording the first malformation in the result's error
 *     (they return false then); arrays come from the result's zone;
 *   - the call: cl_call_begin resets the result, the caller packs into k.s,
 *     cl_call_end sends, waits and decodes the reply into the result.
 */
#ifndef SLUICE_PROTO_CLIENT_INTERNAL_H
#define SLUICE_PROTO_CLIENT_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "core/slice.h"
#include "proto/client.h"

/* ---- errors ------------------------------------------------------------------ */

/* Record an error in e (replacing whatever was there) and return st. */
sl_client_status cl_fail(sl_client_error *e, sl_client_status st, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
sl_client_status cl_fail_nomem(sl_client_error *e);
sl_client_status cl_fail_argument(sl_client_error *e, const char *what);

/* ---- the request sink --------------------------------------------------------- */

typedef struct cl_sink {
    msgpack_packer pk;   /* writes through the sink into buf */
    sl_client_buf *buf;  /* the target */
    bool nomem;          /* an append failed */
    bool too_long;       /* a string, bin or count does not fit msgpack's 32 bits */
} cl_sink;

void cl_sink_init_buf(cl_sink *s, sl_client_buf *b);
/* The status of an encoder run: its own result st, else the sink's state. */
sl_client_status cl_sink_status(const cl_sink *s, sl_client_status st);

void cl_put_map(cl_sink *s, size_t n);
void cl_put_array(cl_sink *s, size_t n);
void cl_put_str(cl_sink *s, sl_slice v);
void cl_put_cstr(cl_sink *s, const char *v);
void cl_put_bin(cl_sink *s, sl_slice v);
void cl_put_uint(cl_sink *s, uint64_t v);
void cl_put_bool(cl_sink *s, bool v);
void cl_put_kv_uint(cl_sink *s, const char *key, uint64_t v);
void cl_put_kv_cstr(cl_sink *s, const char *key, const char *v);
void cl_put_kv_str(cl_sink *s, const char *key, sl_slice v);
/* The request map header: nfields operation fields follow "v" and "op". */
void cl_put_request(cl_sink *s, sl_client_op op, size_t nfields);
/* A map of str -> str from n headers. */
void cl_put_headers(cl_sink *s, const sl_header *h, size_t n);
/* Count one more pair in the map header at the start of b (a packed
 * request), widening it when the count outgrows it (fixmap -> map16 at 16
 * pairs, map16 -> map32): how the API key is added to every request.
 * ARGUMENT when b does not start with a map, NOMEM. */
sl_client_status cl_map_header_add_one(sl_client_buf *b);

/* A slice may have a NULL pointer only when empty. */
bool cl_slice_ok(sl_slice v);
/* n headers whose slices are all cl_slice_ok (and h non-NULL when n > 0). */
bool cl_headers_ok(const sl_header *h, size_t n);

/* Run an encoder expression (using the cl_sink *s it is given) into the
 * sl_client_buf out and return its status; on failure out->len is restored. */
#define CL_ENCODE_INTO(out, call)                                                 \
    do {                                                                          \
        if (!(out))                                                               \
            return SL_CLIENT_ERR_ARGUMENT;                                        \
        size_t len0_ = (out)->len;                                                \
        cl_sink s_;                                                               \
        cl_sink_init_buf(&s_, (out));                                             \
        cl_sink *s = &s_;                                                         \
        sl_client_status st_ = cl_sink_status(s, (call));                         \
        if (st_ != SL_CLIENT_OK)                                                  \
            (out)->len = len0_;                                                   \
        return st_;                                                               \
    } while (0)

/* ---- the reply decoder ---------------------------------------------------------- */

typedef struct cl_decoder {
    msgpack_zone *zone;    /* decode memory (owned by the result) */
    sl_client_error *err;  /* the first failure goes here */
    const char *where_key; /* the array whose element is being decoded (static string),
                              NULL at top; named in errors as e.g. "deliveries[3]" */
    uint32_t where_index;  /* that element's index */
} cl_decoder;

/* Record a malformed reply (the first problem only) and return false. */
bool cl_bad(cl_decoder *d, const char *key, const char *what);
bool cl_nomem(cl_decoder *d);
/* n elements of size bytes each from the zone, zeroed; NULL for n == 0. */
bool cl_alloc_elems(cl_decoder *d, size_t n, size_t size, void **out);

/* The value of key: *out NULL when absent (or nil, for optional keys). */
bool cl_get(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
            const msgpack_object **out);
/* Typed values; an absent optional key reads as 0 / false / an empty slice. */
bool cl_get_uint(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                 uint64_t *out);
bool cl_get_u32(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                uint32_t *out);
/* A str (or, with bin_ok, a bin) as a slice into the reply. */
bool cl_get_bytes(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                  bool bin_ok, sl_slice *out);
bool cl_get_str(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                sl_slice *out);
bool cl_get_bool(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                 bool *out);
/* An array (absent optional: empty) or a map (*out NULL when absent). */
bool cl_get_array(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                  msgpack_object_array *out);
bool cl_get_map(cl_decoder *d, const msgpack_object *map, const char *key, bool required,
                const msgpack_object **out);
sl_slice cl_slice_of_str(const msgpack_object *o);

/* An array of str (*out NULL, *n 0 when absent or empty). */
bool cl_decode_str_array(cl_decoder *d, const msgpack_object *map, const char *key,
                         bool required, const sl_slice **out, size_t *n);
/* An array of uint (*out NULL, *n 0 when absent or empty). */
bool cl_decode_uint_array(cl_decoder *d, const msgpack_object *map, const char *key,
                          bool required, const uint64_t **out, size_t *n);
/* A map of str -> str (*out NULL, *n 0 when absent or empty). */
bool cl_decode_str_map(cl_decoder *d, const msgpack_object *map, const char *key,
                       bool required, const sl_header **out, size_t *n);

/* Every element of arr is a map of at least min_keys entries. */
bool cl_maps_of(cl_decoder *d, const msgpack_object_array *arr, const char *key,
                uint32_t min_keys);
/* Mark element i of the array under key as the place of any failure. */
void cl_enter(cl_decoder *d, const char *key, uint32_t i);
void cl_leave(cl_decoder *d);

/* Decode the (required) array under key, each element a map of at least
 * min_keys entries, into a zone array of *n elements of elem_size bytes,
 * each decoded by fn. */
typedef bool (*cl_elem_fn)(cl_decoder *d, const msgpack_object *o, void *out);
bool cl_decode_list(cl_decoder *d, const msgpack_object *top, const char *key,
                    uint32_t min_keys, size_t elem_size, cl_elem_fn fn, const void **out,
                    size_t *n);

/* Decodes the fields of one operation's ok reply into r. */
typedef bool (*cl_op_decoder)(cl_decoder *d, const msgpack_object *top, sl_client_result *r);

/* client_webhook.c: the decoder of a webhook operation; NULL for any other. */
cl_op_decoder cl_webhook_decoder_of(sl_client_op op);
/* client_keys.c: the decoder of a keys.* operation; NULL for any other. */
cl_op_decoder cl_keys_decoder_of(sl_client_op op);

/* ---- the call -------------------------------------------------------------------- */

typedef struct cl_call {
    sl_client *client;        /* the client to call */
    sl_client_result *res;    /* the caller's result */
    sl_client_buf buf;        /* the request being packed (grows by doubling:
                                 nng messages grow exactly, so packing many
                                 small pieces straight into one is quadratic) */
    cl_sink s;                /* packs into buf */
} cl_call;

/* Reset *res for op and start packing into k->s. ARGUMENT without res
 * (nothing recorded) or without c (recorded in res). */
sl_client_status cl_call_begin(cl_call *k, sl_client *c, sl_client_op op, sl_client_result *res);

/* The request is packed (packed: the encoder's own status): send it within
 * timeout_ms, wait up to timeout_ms + extra_ms for the reply, decode it into
 * the result. Releases the request buffer whatever happens. */
sl_client_status cl_call_end(cl_call *k, sl_client_status packed, uint64_t timeout_ms,
                             uint64_t extra_ms);

/* An ok reply must answer for exactly the items sent (events, tokens,
 * attempts): BAD_REPLY (recorded in res) when got != sent. */
sl_client_status cl_check_count(sl_client_result *res, sl_client_status st, size_t got,
                                size_t sent, const char *what);

/* Begin a call of op; on failure return its status. */
#define CL_CALL_BEGIN(k, c, op, res)                                              \
    do {                                                                          \
        sl_client_status st_ = cl_call_begin(&(k), (c), (op), (res));             \
        if (st_ != SL_CLIENT_OK)                                                  \
            return st_;                                                           \
    } while (0)

#endif
