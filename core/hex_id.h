/* hex_id.h: core-internal: ids made of a prefix and the 16 lowercase hex
 * digits of a u64 ("wh_0123456789abcdef", "key_..."). Pure functions. */
#ifndef SLUICE_CORE_HEX_ID_H
#define SLUICE_CORE_HEX_ID_H

#include <stdbool.h>
#include <stdint.h>
#include "slice.h"

/* The value of one lowercase hex digit, -1 for any other character. */
int sl_hex_digit(char c);

/* The u64 of id when it is prefix + exactly 16 lowercase hex digits. */
bool sl_hex_id_parse(sl_slice id, const char *prefix, uint64_t *v);

/* prefix + 16 hex digits of v into out (strlen(prefix) + 17 bytes, NUL included). */
void sl_hex_id_format(const char *prefix, uint64_t v, char *out);

#endif
