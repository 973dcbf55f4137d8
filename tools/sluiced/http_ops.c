/* http_ops.c: see http_ops.h. */
#include "tools/sluiced/http_ops.h"

#include <stdlib.h>
#include <string.h>
#include "core/store.h"
#include "tools/sluiced/clock.h"
#include "tools/sluiced/http_reply.h"
#include "tools/sluiced/metrics.h"

/* An error answer in out (as the call's other errors): its status. */
static int ops_error(json_buf *out, int status, const char *code, const char *message,
                     const char *field)
{
    if (http_reply_error(out, code, message, field) != SL_OK)
        jb_reset(out);
    return status;
}

static int serve_healthz(json_buf *out)
{
    if (jb_begin_object(out) == SL_OK && jb_key_cstr(out, "status") == SL_OK &&
        jb_cstr(out, "ok") == SL_OK && jb_end_object(out) == SL_OK)
        return 200;
    return ops_error(out, 503, "no_memory", "out of memory", NULL);
}

/* Ready: the store answers a read transaction and is not at its quota. */
static int serve_readyz(const sl_http_env *env, json_buf *out)
{
    sl_txn t = {0};
    sl_store_stats st = {0};
    const char *state = "ok";
    if (sl_txn_begin_read(env->store, &t) != SL_OK)
        state = "storage_error";
    sl_txn_abort(&t);
    if (!strcmp(state, "ok") && sl_store_get_stats(env->store, &st) != SL_OK)
        state = "storage_error";
    if (!strcmp(state, "ok") && st.used_bytes >= st.quota_bytes)
        state = "storage_full";
    bool ok = !strcmp(state, "ok");
    if (jb_begin_object(out) == SL_OK && jb_key_cstr(out, "status") == SL_OK &&
        jb_cstr(out, state) == SL_OK && jb_end_object(out) == SL_OK)
        return ok ? 200 : 503;
    return ops_error(out, 503, "no_memory", "out of memory", NULL);
}

static int serve_metrics(const sl_http_env *env, sl_slice key, json_buf *out,
                         sl_auth_result *auth, http_ops_answer *a)
{
    sl_auth_check_op(env->auth, key, SL_OP_STATS, true, sl_wall_ms(), auth);
    if (auth->status != 0)
        return ops_error(out, auth->status, auth->code, auth->message, auth->field);
    if (sl_metrics_render(env->metrics, env->store, env->counters, sl_wall_ms(), &a->text,
                          &a->text_len) != SL_OK) {
        a->text = NULL;
        return ops_error(out, 503, "storage_error", "metrics are not available now", NULL);
    }
    return 200;
}

bool http_ops_serve(const sl_http_env *env, sl_slice method, bool head_method, sl_slice path,
                    sl_slice key, json_buf *out, sl_auth_result *auth, http_ops_answer *a)
{
    bool healthz = sl_slice_eq_cstr(path, "/healthz");
    bool readyz = sl_slice_eq_cstr(path, "/readyz");
    bool metrics = sl_slice_eq_cstr(path, "/metrics");
    if (!healthz && !readyz && !metrics)
        return false;
    *a = (http_ops_answer){0, NULL, 0};
    if (!sl_slice_eq_cstr(method, "GET") && !head_method)
        a->status = ops_error(out, 405, "method_not_allowed", "use GET", NULL);
    else if (healthz)
        a->status = serve_healthz(out);
    else if (readyz)
        a->status = serve_readyz(env, out);
    else
        a->status = serve_metrics(env, key, out, auth, a);
    return true;
}
