/* dispatch_context.h: sluiced-internal: what every op function of the
 * dispatch_*.c files gets, and the helpers they share (see dispatch.h for the
 * contract: an op calls the core and encodes the ok reply; on failure it
 * returns the sl_err, having said in *f what it knows beyond sl_err_text).
 */
#ifndef SLUICE_SLUICED_DISPATCH_CONTEXT_H
#define SLUICE_SLUICED_DISPATCH_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/store.h"
#include "proto/reply.h"
#include "proto/request.h"
#include "tools/sluiced/dispatch.h"

/* Everything an op needs. */
typedef struct dctx {
    sl_store *store;                    /* the store (stats) */
    sl_txn *txn;                        /* read txn, or the child write txn */
    const sl_request *req;              /* the decoded request */
    uint64_t now_ms;                    /* the injected clock */
    uint64_t instance;                  /* store instance, for event ids */
    const sl_server_counters *counters; /* read path only; NULL on writes */
    sl_reply_buf *out;                  /* the reply */
    sl_write_effects *fx;               /* write path only; NULL on reads */
} dctx;

/* What an op knows about its failure, beyond the sl_err. */
typedef struct failure {
    char field[96];    /* field to blame, "" if none */
    char message[256]; /* "" : use sl_err_text */
    long long index;   /* publish: the event to blame; -1 if none */
} failure;

/* An op: see the top of this file. */
typedef sl_err (*op_fn)(dctx *c, failure *f);

/* Encoding state of a list built from core callbacks. */
typedef struct list_ctx {
    sl_reply_buf *out; /* the reply */
    uint64_t instance; /* for event ids */
    uint32_t n;        /* items written */
} list_ctx;

/* Record why rc happened and return rc. field NULL: none. */
sl_err dx_explain(failure *f, sl_err rc, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A key followed by an array32 to patch: *mark for sl_reply_array_patch. */
sl_err dx_open_list(sl_reply_buf *out, const char *key, size_t *mark);

#endif
