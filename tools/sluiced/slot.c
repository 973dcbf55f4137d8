/* slot.c: see slot.h. */
#include "slot.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "logger.h"

#define SL_SLOT_REPLY_KEEP (16u * 1024u) /* reply buffer bytes a slot keeps between requests */


static void receive_next(sl_slot *slot)
{
    slot->state = SL_SLOT_RECEIVING;
    nng_ctx_recv(slot->ctx, slot->aio);
}

static void drop_request(sl_slot *slot)
{
    if (slot->decoded) {
        sl_request_release(&slot->job.req);
        slot->decoded = false;
    }
    if (slot->request) {
        nng_msg_free(slot->request);
        slot->request = NULL;
    }
}

/* Send job.reply. Runs on an nng thread or on the writer thread. */
static void send_reply(sl_slot *slot)
{
    atomic_fetch_add(&slot->env->counters->requests, 1);
    sl_metrics_observe_job(slot->env->metrics, &slot->job);
    nng_msg *msg = NULL;
    const void *data = sl_reply_data(&slot->job.reply);
    size_t size = sl_reply_size(&slot->job.reply);
    drop_request(slot);
    int rv = nng_msg_alloc(&msg, size);
    if (rv == 0 && size)
        memcpy(nng_msg_body(msg), data, size);
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

static void finish_job(sl_job *job)
{
    send_reply((sl_slot *)job);
}

static void reply_error(sl_slot *slot, const char *code, const char *message)
{
    sl_reply_reset(&slot->job.reply);
    sl_reply_error(&slot->job.reply, code, message, NULL);
    send_reply(slot);
}

/* True when the request came through an ipc:// listener (trusted). */
static bool from_trusted_listener(const sl_slot *slot)
{
    int id = nng_listener_id(nng_pipe_listener(nng_msg_get_pipe(slot->request)));
    for (size_t i = 0; id > 0 && i < slot->env->ntrusted_listeners; i++)
        if (slot->env->trusted_listeners[i] == id)
            return true;
    return false;
}

/* May the request run (auth.h)? When not, answer it with the reason. */
static bool authorized(sl_slot *slot)
{
    const sl_slot_env *env = slot->env;
    if (!sl_auth_enabled(env->auth) || from_trusted_listener(slot))
        return true;
    sl_auth_result r;
    sl_auth_check(env->auth, slot->job.req.key, &slot->job.req, false, sl_wall_ms(), &r);
    if (r.status == 0)
        return true;
    sl_wire_error e = {.code = r.code, .index = r.index};
    snprintf(e.field, sizeof e.field, "%s", r.field);
    snprintf(e.message, sizeof e.message, "%s", r.message);
    sl_reply_reset(&slot->job.reply);
    sl_reply_wire_error(&slot->job.reply, &e);
    send_reply(slot);
    return false;
}

static void route(sl_slot *slot)
{
    sl_job *job = &slot->job;
    if (!authorized(slot))
        return;
    uint64_t now = sl_wall_ms();
    if (sl_dispatch_route(slot->env->store, &job->req) == SL_RUN_READ) {
        if (sl_dispatch_read(slot->env->store, &job->req, now, slot->env->counters,
                             &job->reply) != SL_OK)
            reply_error(slot, "no_memory", "out of memory");
        else
            send_reply(slot);
        return;
    }
    job->wait_until_ms = 0;
    if (job->req.op == SL_OP_PULL && job->req.pull.wait_ms > 0)
        job->wait_until_ms = now + job->req.pull.wait_ms;
    sl_writer_submit(slot->env->writer, job);
}

static void on_request(sl_slot *slot)
{
    slot->request = nng_aio_get_msg(slot->aio);
    slot->state = SL_SLOT_WORKING;
    slot->job.started_us = sl_metrics_now_us();
    slot->job.req.op = SL_METRICS_OP_INVALID; /* metrics: until it decodes */
    size_t len = nng_msg_len(slot->request);
    if (len > slot->env->max_request_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "request of %zu bytes is over the limit of %llu bytes", len,
                 (unsigned long long)slot->env->max_request_bytes);
        reply_error(slot, "too_large", msg);
        return;
    }
    sl_wire_error err;
    slot->job.bytes = len;
    slot->decoded = true;
    if (sl_request_decode(nng_msg_body(slot->request), len, &slot->job.req, &err) != 0) {
        slot->job.req.op = SL_METRICS_OP_INVALID;
        sl_reply_reset(&slot->job.reply);
        sl_reply_wire_error(&slot->job.reply, &err);
        send_reply(slot);
        return;
    }
    route(slot);
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

int sl_slot_init(sl_slot *slot, nng_socket sock, const sl_slot_env *env)
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
    drop_request(slot);
    if (slot->aio) {
        nng_ctx_close(slot->ctx);
        nng_aio_free(slot->aio);
        slot->aio = NULL;
    }
    sl_reply_free(&slot->job.reply);
}
