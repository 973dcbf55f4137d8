/* job.h: one request on its way through the daemon.
 *
 * A job is embedded in the slot (slot.h) that received the request and lives
 * as long as that slot: no allocation per request. Ownership moves with the
 * job: the slot owns it while decoding; the writer (writer.h) owns it from
 * sl_writer_submit() until it calls job->finish(); then the slot again. */
#ifndef SLUICE_SLUICED_JOB_H
#define SLUICE_SLUICED_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include "proto/reply.h"
#include "proto/request.h"

typedef struct sl_job sl_job;

/* Called by the writer when job->reply holds the final reply. */
typedef void (*sl_job_finish_fn)(sl_job *job);

struct sl_job {
    sl_request req;          /* decoded request; slices point into the slot's message */
    sl_reply_buf reply;      /* the reply being built */
    sl_job_finish_fn finish; /* set by the slot */
    sl_job *next;            /* writer queue / parking list link */
    uint64_t wait_until_ms;  /* pull: long-poll deadline (wall ms); 0 when not waiting */
    uint64_t wake_at_ms;     /* parked pull: when to run it again */
    size_t bytes;            /* size of the request message (batches are capped by it) */
    uint64_t started_us;     /* monotonic us when the request arrived (metrics.h) */
};

#endif
