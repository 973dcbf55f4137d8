/* slice.h: a borrowed byte string (pointer + length), not NUL-terminated.
 *
 * A slice never owns its bytes: whoever hands one out says how long they live
 * (usually: the request buffer, or the LMDB transaction they were read in).
 */
#ifndef SLUICE_CORE_SLICE_H
#define SLUICE_CORE_SLICE_H

#include <stddef.h>
#include <stdbool.h>
#include <string.h>

typedef struct sl_slice {
    const char *ptr; /* first byte; may be NULL when len == 0 */
    size_t len;      /* number of bytes */
} sl_slice;

static inline sl_slice sl_slice_of(const char *cstr)
{
    sl_slice s = {cstr, cstr ? strlen(cstr) : 0};
    return s;
}

static inline bool sl_slice_eq(sl_slice a, sl_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool sl_slice_eq_cstr(sl_slice a, const char *b)
{
    return sl_slice_eq(a, sl_slice_of(b));
}

#endif
