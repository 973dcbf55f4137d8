/* dlq.h: the dead-letter queue of each group.
 *
 * A dead letter is an event a group gave up on: max deliveries reached, or
 * terminated by a consumer. It keeps the attempts made, the time and the last
 * reason. The event itself stays in the log (retention keeps it, see
 * sl_groups_floor), so a dead letter can be inspected and replayed.
 */
#ifndef SLUICE_CORE_DLQ_H
#define SLUICE_CORE_DLQ_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "event.h"
#include "store.h"

#define SL_DLQ_PAGE_MAX 1000
#define SL_DLQ_BATCH_MAX 10000 /* replay/purge "all" handles at most this many per call */

typedef struct sl_dead_letter {
    uint64_t seq;
    uint32_t attempts;       /* deliveries made before it died */
    uint64_t dead_at_ms;
    sl_slice reason;         /* valid during the callback */
    bool event_retained;     /* false if retention dropped the event (hard limits) */
    sl_event_view event;     /* valid during the callback, if event_retained */
} sl_dead_letter;

typedef sl_err (*sl_dead_letter_cb)(void *ctx, const sl_dead_letter *dl);

/* Dead letters of group with seq > after_seq, in seq order, at most limit
 * (1..SL_DLQ_PAGE_MAX). *next_after gets the seq to pass for the next page,
 * 0 when there are no more. SL_ERR_NOT_FOUND for an unknown group. */
sl_err sl_dlq_list(sl_txn *t, const char *group, uint64_t after_seq, size_t limit,
                   sl_dead_letter_cb cb, void *ctx, uint64_t *next_after);

/* One dead letter, given to cb. SL_ERR_NOT_FOUND for unknown group or seq. */
sl_err sl_dlq_get(sl_txn *t, const char *group, uint64_t seq, sl_dead_letter_cb cb,
                  void *ctx);

/* Put dead letters back into the group, due at once, with their attempts
 * reset. all: every dead letter (at most SL_DLQ_BATCH_MAX per call; *remaining
 * says how many are left); else the n given seqs (unknown ones are skipped).
 * *done gets how many were replayed. */
sl_err sl_dlq_replay(sl_txn *w, const char *group, const uint64_t *seqs, size_t n, bool all,
                     uint64_t now_ms, size_t *done, uint64_t *remaining);

/* Delete dead letters, same selection rules as replay. */
sl_err sl_dlq_purge(sl_txn *w, const char *group, const uint64_t *seqs, size_t n, bool all,
                    size_t *done, uint64_t *remaining);

#endif
