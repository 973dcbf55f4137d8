/* topic.h: topic names and topic filters.
 *
 * A topic is 1..SL_TOPIC_MAX bytes: segments of [A-Za-z0-9_-]+ joined by '.',
 * e.g. "order.created". A filter has the same shape, and a segment may also
 * be '*' (exactly one segment) or, as the last segment only, '>' (one or more
 * segments): "order.*" matches "order.created" but not "order" nor
 * "order.line.added"; "order.>" matches both of the latter two but not "order".
 *
 * Reserved topics: a topic whose first segment starts with '_' (e.g.
 * "_wh.<id>", the test topic of a webhook subscription, see webhook.h) is a
 * valid topic here, but a filter whose FIRST segment is a wildcard ('*' or
 * '>') does not match it: ">" and "*.x" never see reserved topics, while a
 * filter that names the first segment ("_wh.>", "_wh.wh_1234") does. Core
 * accepts reserved topics; the protocol refuses publishing them.
 * Pure functions: no allocation, no state.
 */
#ifndef SLUICE_CORE_TOPIC_H
#define SLUICE_CORE_TOPIC_H

#include <stdbool.h>
#include "slice.h"

#define SL_TOPIC_MAX 255

/* True when t is a valid topic name. */
bool sl_topic_valid(sl_slice t);

/* True when f is a valid filter (a topic, or with '*' / trailing '>'). */
bool sl_filter_valid(sl_slice f);

/* True when topic t matches filter f. Both must be valid. A filter whose
 * first segment is a wildcard does not match a reserved topic. */
bool sl_filter_match(sl_slice f, sl_slice t);

/* True when pattern p covers filter f: every topic f may match, p matches.
 * Segment by segment: a literal covers only the same literal; '*' covers a
 * literal or '*'; a trailing '>' covers one or more remaining segments of
 * anything ('*' and '>' included); a '>' of f is covered only by a '>' of p
 * at that position. A pattern whose first segment is a wildcard does not
 * cover a filter that names a reserved first segment (it would not match
 * those topics). Both must be valid filters; false otherwise. */
bool sl_filter_covers(sl_slice p, sl_slice f);

/* True when t is a reserved topic: its first segment starts with '_'. */
bool sl_topic_reserved(sl_slice t);

#endif
