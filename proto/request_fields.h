/* request_fields.h: proto-internal: reading the fields of one request map.
 *
 * Not part of the public proto API: request.c (the queue ops) and
 * request_webhook.c (the webhook ops) share it. A map is loaded into a
 * field_table of key -> value position (catching duplicate keys); the
 * readers below look a field up by name, check its type, presence and range
 * and, on failure, fill the sl_wire_error naming the field's path and return
 * -1 (0 on success). Paths ("events[3].topic") are formatted on error paths
 * only.
 */
#ifndef SLUICE_PROTO_REQUEST_FIELDS_H
#define SLUICE_PROTO_REQUEST_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/group.h"
#include "core/slice.h"
#include "proto/mp_guard.h"
#include "proto/request.h"

/* Untrusted bytes made fit for a message: printable ASCII, at most 40. */
typedef struct shown {
    char text[48]; /* NUL-terminated */
} shown;

/* The keys of one map with where each value starts. */
typedef struct field_table {
    size_t n;                                    /* pairs loaded */
    sl_slice key[SL_REQUEST_MAP_KEYS_MAX];       /* key i (a str) */
    sl_mp_cursor value[SL_REQUEST_MAP_KEYS_MAX]; /* value i starts here */
    const char *parent;                          /* "events" for an event map, NULL at top */
    long long index;                             /* position in parent; -1 at top */
} field_table;

/* The path of a field: "max" or "events[3].topic". */
typedef struct field_path {
    char text[96]; /* NUL-terminated */
} field_path;

/* ---- errors ---------------------------------------------------------------- */

/* Fill e and return -1. field NULL: none. */
int rf_fail(sl_wire_error *e, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fail on field key of t: field = its path, message = "path: " + fmt. */
int rf_fail_at(sl_wire_error *e, const field_table *t, const char *key, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A bad_request about the map of t itself. */
int rf_table_fail(sl_wire_error *e, const field_table *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* missing_field for key. */
int rf_missing(sl_wire_error *e, const field_table *t, const char *key);
shown rf_show(sl_slice s);
field_path rf_path_of(const field_table *t, const char *key);
/* The element i of an array field, for error paths like "tokens[4]". */
field_path rf_element_path(const field_table *t, const char *key, uint32_t i);

/* ---- the table --------------------------------------------------------------- */

/* Load the count pairs at *c into t (already named by parent/index) and move
 * *c past them. bad_request for non-str keys, too many keys, a key twice. */
int rf_load_table(sl_mp_cursor *c, uint32_t count, field_table *t, sl_wire_error *e);
bool rf_table_has(const field_table *t, sl_slice key);
/* Where the value of key starts, or NULL when absent. */
const sl_mp_cursor *rf_find(const field_table *t, const char *key);
/* The item of key: 1 found (in *it, with *after past its header), 0 absent. */
int rf_lookup(const field_table *t, const char *key, sl_mp_item *it, sl_mp_cursor *after);

/* ---- typed readers ------------------------------------------------------------- */

/* Optional uint in min..max; *present says whether it was given. */
int rf_opt_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                uint64_t *out, bool *present, sl_wire_error *e);
/* Optional uint with a default. */
int rf_uint_or(const field_table *t, const char *key, uint64_t min, uint64_t max, uint64_t def,
               uint64_t *out, sl_wire_error *e);
int rf_req_uint(const field_table *t, const char *key, uint64_t min, uint64_t max,
                uint64_t *out, sl_wire_error *e);
/* Optional str of at most max_len bytes. */
int rf_opt_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
               bool *present, sl_wire_error *e);
int rf_req_str(const field_table *t, const char *key, size_t max_len, sl_slice *out,
               sl_wire_error *e);
/* Optional bool. */
int rf_opt_bool(const field_table *t, const char *key, bool *out, bool *present,
                sl_wire_error *e);
/* Optional array: *items is at its first element, *n its length. */
int rf_opt_array(const field_table *t, const char *key, sl_mp_cursor *items, uint32_t *n,
                 bool *present, sl_wire_error *e);
/* Optional map: *items is at its first key, *n its pair count. */
int rf_opt_map(const field_table *t, const char *key, sl_mp_cursor *items, uint32_t *n,
               bool *present, sl_wire_error *e);
/* Array length n within 1..max: invalid_argument when empty, too_large over. */
int rf_check_count(const field_table *t, const char *key, uint32_t n, uint32_t max,
                   sl_wire_error *e);
int rf_req_array(const field_table *t, const char *key, uint32_t max, sl_mp_cursor *items,
                 uint32_t *n, sl_wire_error *e);
bool rf_name_char_ok(char ch);
/* Required group name: 1..SL_GROUP_NAME_MAX bytes of [A-Za-z0-9_.-]. */
int rf_req_name(const field_table *t, const char *key, char out[SL_GROUP_NAME_MAX + 1],
                sl_wire_error *e);
/* Read element i of an array as a uint (0..max) / a str (..max_len bytes). */
int rf_element_uint(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                    uint64_t max, uint64_t *out, sl_wire_error *e);
int rf_element_str(sl_mp_cursor *items, const field_table *t, const char *key, uint32_t i,
                   size_t max_len, sl_slice *out, sl_wire_error *e);

#endif
