/* json_check.h: UTF-8 and JSON validation, shared by the programs (the CLI,
 * the webhook bridge, later the daemon's HTTP API).
 *
 * Pure functions on borrowed bytes: no allocation, no state. The caller owns
 * every buffer passed in; nothing is kept after a call returns.
 */
#ifndef SLUICE_TOOLS_COMMON_JSON_CHECK_H
#define SLUICE_TOOLS_COMMON_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/slice.h"

#define JSON_VALID_DEPTH 256 /* deepest nesting json_is_valid accepts */

/* Decode the UTF-8 sequence at p (n >= 1 bytes readable there): returns its
 * length (1..4) and puts its code point in *cp, or returns 0 when the bytes
 * are not valid UTF-8 (overlong, surrogate, past U+10FFFF, truncated). */
size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* s is valid UTF-8 (controls allowed). */
bool utf8_is_valid(sl_slice s);

/* s is valid UTF-8 without control characters (C0, DEL, C1). */
bool utf8_is_clean_text(sl_slice s);

/* s is exactly one JSON value (RFC 8259: strings must be valid UTF-8,
 * surrounding whitespace allowed, nesting at most JSON_VALID_DEPTH deep). */
bool json_is_valid(sl_slice s);

#endif
