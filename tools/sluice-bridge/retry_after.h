/* retry_after.h: the value of an HTTP Retry-After header (RFC 9110 10.2.3)
 * as a delay: delta-seconds ("120") or an HTTP-date (IMF-fixdate "Sun, 06
 * Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and asctime forms).
 * Pure function: no allocation, no state.
 */
#ifndef SLUICE_BRIDGE_RETRY_AFTER_H
#define SLUICE_BRIDGE_RETRY_AFTER_H

#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"

#define WH_RETRY_AFTER_MAX_MS (24u * 3600u * 1000u) /* longer waits are cut to this */

/* The delay value asks for, in ms, clamped to 0..WH_RETRY_AFTER_MAX_MS (a
 * date in the past gives 0), into *delay_ms. now_ms is the wall clock (Unix
 * ms) a date is measured from. Spaces and tabs around the value are
 * ignored. SL_ERR_INVALID (and *delay_ms = 0) for anything else. */
sl_err wh_retry_after_parse(sl_slice value, uint64_t now_ms, uint64_t *delay_ms);

#endif
