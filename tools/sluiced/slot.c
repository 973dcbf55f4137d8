/* slot.c: see slot.h. */
#include "slot.h"

#include <string.h>

#include "logger.h"

#define SL_SLOT_REPLY_KEEP (16u * 1024u) /* reply buffer bytes a slot keeps between requests */

static void receive_next(sl_slot *slot)
{
    slot->state = SL_SLOT_RECEIVING;
    nng_ctx_recv(slot->ctx, slot->aio);
}

static void drop_request(sl_slot *slot)
{
    if (slot->request) {
        nng_msg_free(slot->request);
        slot->request = NULL;
    }
}

/* The handler is done: send job.reply. Runs on an nng thread or on the
 * writer thread. */
static void finish_job(sl_job *job)
{
    sl_slot *slot = (sl_slot *)job;
    sl_handler_done(slot->env, &slot->job);
    drop_request(slot);
    nng_msg *msg = NULL;
    size_t size = sl_reply_size(&slot->job.reply);
    int rv = nng_msg_alloc(&msg, size);
    if (rv == 0 && size)
        memcpy(nng_msg_body(msg), sl_reply_data(&slot->job.reply), size);
    /* thousands of slots: none keeps a big reply's buffer while idle */
    sl_reply_shrink(&slot->job.reply, SL_SLOT_REPLY_KEEP);
    if (rv != 0) {
        sl_log_error("out of memory for a %zu-byte reply", size);
        receive_next(slot); /* the client's receive times out */
        return;
    }
    slot->state = SL_SLOT_SENDING;
    nng_aio_set_msg(slot->aio, msg);
    nng_ctx_send(slot->ctx, slot->aio);
}

static void on_request(sl_slot *slot)
{
    slot->request = nng_aio_get_msg(slot->aio);
    slot->state = SL_SLOT_WORKING;
    sl_handle(slot->env, &slot->job, nng_msg_body(slot->request), nng_msg_len(slot->request),
              false);
}

static void on_aio(void *arg)
{
    sl_slot *slot = arg;
    int rv = nng_aio_result(slot->aio);
    switch (slot->state) {
    case SL_SLOT_RECEIVING:
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
            slot->state = SL_SLOT_IDLE;
            return;
        }
        if (rv != 0) {
            sl_log_warn("receive failed: %s", nng_strerror(rv));
            receive_next(slot);
            return;
        }
        on_request(slot);
        return;
    case SL_SLOT_SENDING:
        if (rv != 0) {
            /* Ownership stayed with us: free the reply nobody took. */
            nng_msg_free(nng_aio_get_msg(slot->aio));
            if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
                slot->state = SL_SLOT_IDLE;
                return;
            }
        }
        receive_next(slot);
        return;
    default:
        return;
    }
}

int sl_slot_init(sl_slot *slot, nng_socket sock, const sl_handler_env *env)
{
    memset(slot, 0, sizeof *slot);
    slot->env = env;
    slot->job.finish = finish_job;
    sl_reply_init(&slot->job.reply);
    int rv = nng_aio_alloc(&slot->aio, on_aio, slot);
    if (rv != 0)
        return rv;
    rv = nng_ctx_open(&slot->ctx, sock);
    if (rv != 0) {
        nng_aio_free(slot->aio);
        slot->aio = NULL;
    }
    return rv;
}

void sl_slot_start(sl_slot *slot)
{
    receive_next(slot);
}

void sl_slot_stop(sl_slot *slot)
{
    if (slot->aio)
        nng_aio_stop(slot->aio);
}

void sl_slot_fini(sl_slot *slot)
{
    if (slot->job.decoded) { /* stopped between the request and its reply */
        sl_request_release(&slot->job.req);
        slot->job.decoded = false;
    }
    drop_request(slot);
    if (slot->aio) {
        nng_ctx_close(slot->ctx);
        nng_aio_free(slot->aio);
        slot->aio = NULL;
    }
    sl_reply_free(&slot->job.reply);
}
