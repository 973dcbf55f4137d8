/* metrics_text.h: a writer of the Prometheus text exposition format 0.0.4.
 *
 * An sl_mtext is a growable NUL-terminated text buffer owned by its caller
 * (sl_mtext_init, sl_mtext_free; or take the text with sl_mtext_take).
 * It writes the pieces of the format: "# HELP" / "# TYPE" lines of a metric
 * family and sample lines "name{label="value",...} value\n", with label
 * values and help text escaped as the format asks (backslash, double quote
 * in label values, newline). Metric and label names are the caller's
 * constants: they must match [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':').
 *
 * Every append returns SL_OK or SL_ERR_NOMEM; a failed append leaves the
 * text as it was. Used only off the hot path (rendering /metrics), so it
 * allocates freely. Not thread-safe: one writer per buffer.
 */
#ifndef SLUICE_SLUICED_METRICS_TEXT_H
#define SLUICE_SLUICED_METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/slice.h"

typedef struct sl_mtext {
    char *data;  /* the text so far, NUL-terminated (owned; NULL before the first append) */
    size_t len;  /* bytes written, NUL not counted */
    size_t cap;  /* bytes allocated */
} sl_mtext;

/* One label of a sample: name is a constant, value any bytes (escaped). */
typedef struct sl_mlabel {
    const char *name;
    sl_slice value;
} sl_mlabel;

/* Room for any value sl_mtext_fmt_* writes, with its NUL. */
#define SL_MTEXT_VALUE_MAX 32

void sl_mtext_init(sl_mtext *t);
void sl_mtext_free(sl_mtext *t);

/* Hand the text over: *text (malloc'd, NUL-terminated, never NULL on
 * success; the caller frees it) and *len; t is empty afterwards.
 * SL_ERR_NOMEM (only when nothing was ever written). */
sl_err sl_mtext_take(sl_mtext *t, char **text, size_t *len);

/* Append n raw bytes. */
sl_err sl_mtext_append(sl_mtext *t, const char *s, size_t n);

/* Append all of src (another family's text, say). */
sl_err sl_mtext_append_text(sl_mtext *t, const sl_mtext *src);

/* "# HELP name help\n# TYPE name type\n"; type is "counter", "gauge",
 * "histogram", ...; help is escaped (backslash, newline). */
sl_err sl_mtext_family(sl_mtext *t, const char *name, const char *type, const char *help);

/* One sample line: name, then {labels} when nlabels > 0, a space, value
 * (from sl_mtext_fmt_* or a constant such as "+Inf") and a newline. */
sl_err sl_mtext_sample(sl_mtext *t, const char *name, const sl_mlabel *labels, size_t nlabels,
                       const char *value);

/* Format v as a decimal integer into out; returns out. */
char *sl_mtext_fmt_u64(char out[SL_MTEXT_VALUE_MAX], uint64_t v);

/* Format v / 10^scale as an exact decimal ("1.234567" for 1234567, 6);
 * scale 0..9. For microseconds as seconds (6) and milliseconds (3).
 * Returns out. */
char *sl_mtext_fmt_fixed(char out[SL_MTEXT_VALUE_MAX], uint64_t v, unsigned scale);

#endif
