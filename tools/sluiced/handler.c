/* handler.c: see handler.h. */
#include "handler.h"

#include <stdio.h>

#include "clock.h"
#include "dispatch.h"

static void reply_error(sl_job *job, const char *code, const char *message)
{
    sl_reply_reset(&job->reply);
    sl_reply_error(&job->reply, code, message, NULL);
    job->finish(job);
}

/* May the request run (auth.h)? When not, answer it with the reason. */
static bool authorized(const sl_handler_env *env, sl_job *job, bool trusted)
{
    if (!sl_auth_enabled(env->auth) || trusted)
        return true;
    sl_auth_result r;
    sl_auth_check(env->auth, job->req.key, &job->req, false, sl_wall_ms(), &r);
    if (r.status == 0)
        return true;
    sl_wire_error e = {.code = r.code, .index = r.index};
    snprintf(e.field, sizeof e.field, "%s", r.field);
    snprintf(e.message, sizeof e.message, "%s", r.message);
    sl_reply_reset(&job->reply);
    sl_reply_wire_error(&job->reply, &e);
    job->finish(job);
    return false;
}

static void route(const sl_handler_env *env, sl_job *job)
{
    uint64_t now = sl_wall_ms();
    if (sl_dispatch_route(env->store, &job->req) == SL_RUN_READ) {
        if (sl_dispatch_read(env->store, &job->req, now, env->counters, &job->reply) != SL_OK)
            reply_error(job, "no_memory", "out of memory");
        else
            job->finish(job);
        return;
    }
    job->wait_until_ms = 0;
    if (job->req.op == SL_OP_PULL && job->req.pull.wait_ms > 0)
        job->wait_until_ms = now + job->req.pull.wait_ms;
    sl_writer_submit(env->writer, job);
}

void sl_handle(const sl_handler_env *env, sl_job *job, const void *body, size_t len,
               bool trusted)
{
    job->started_us = sl_metrics_now_us();
    job->req.op = SL_METRICS_OP_INVALID; /* metrics: until it decodes */
    job->bytes = len;
    job->decoded = false;
    if (len > env->max_request_bytes) {
        char msg[128];
        snprintf(msg, sizeof msg, "request of %zu bytes is over the limit of %llu bytes", len,
                 (unsigned long long)env->max_request_bytes);
        reply_error(job, "too_large", msg);
        return;
    }
    sl_wire_error err;
    job->decoded = true;
    if (sl_request_decode(body, len, &job->req, &err) != 0) {
        job->req.op = SL_METRICS_OP_INVALID;
        sl_reply_reset(&job->reply);
        sl_reply_wire_error(&job->reply, &err);
        job->finish(job);
        return;
    }
    if (authorized(env, job, trusted))
        route(env, job);
}

void sl_handler_done(const sl_handler_env *env, sl_job *job)
{
    atomic_fetch_add(&env->counters->requests, 1);
    sl_metrics_observe_job(env->metrics, job);
    if (job->decoded) {
        sl_request_release(&job->req);
        job->decoded = false;
    }
}
