/* job.h: one request on its way through the daemon.
 *
 * A job is embedded in what its transport keeps per request (slot.h: an nng
 * REP context; sp_pool.h: a call of the stream server) and lives as long as
 * that: no allocation per request. Ownership moves with the job: the
 * transport owns it while the handler (handler.h) decodes; the writer
 * (writer.h) owns it from sl_writer_submit() until it calls job->finish();
 * then the transport again. */
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
    sl_request req;          /* decoded request; slices point into the request bytes */
    sl_reply_buf reply;      /* the reply being built */
    sl_job_finish_fn finish; /* set by the transport */
    sl_job *next;            /* writer queue / parking list link */
    uint64_t wait_until_ms;  /* pull: long-poll deadline (wall ms); 0 when not waiting */
    uint64_t wake_at_ms;     /* parked pull: when to run it again */
    size_t bytes;            /* size of the request message (batches are capped by it) */
    uint64_t started_us;     /* monotonic us when the request arrived (metrics.h) */
    bool decoded;            /* req holds a decode to release (handler.h) */
};

#endif
