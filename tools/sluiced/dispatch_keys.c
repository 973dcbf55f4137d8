/* dispatch_keys.c: see dispatch_keys.h. One function per op: call the core
 * (core/apikey.h), encode the ok reply (proto/reply_keys.h). The token
 * leaves only in keys.create's reply and is wiped from the stack after. */
#include "tools/sluiced/dispatch_keys.h"

#include <string.h>
#include "core/apikey.h"
#include "proto/reply_keys.h"

/* rc of a core call on key id: explain NOT_FOUND. */
static sl_err key_rc(failure *f, sl_err rc, const char *id)
{
    if (rc == SL_ERR_NOT_FOUND)
        return dx_explain(f, rc, "id", "no API key with id \"%s\"", id);
    return rc;
}

/* {"ok":true,"key":Key[, "token": token]} for id, read in c->txn. */
static sl_err reply_key(dctx *c, failure *f, const char *id, const char *token)
{
    sl_apikey_view v;
    sl_err rc = sl_apikey_get(c->txn, id, &v);
    if (rc != SL_OK)
        return key_rc(f, rc, id);
    rc = sl_reply_ok_begin(c->out, token ? 2 : 1);
    if (rc == SL_OK)
        rc = sl_reply_key(c->out, "key");
    if (rc == SL_OK)
        rc = sl_reply_apikey(c->out, &v);
    if (rc == SL_OK && token)
        rc = sl_reply_kv_str(c->out, "token", token);
    return rc;
}

/* ---- read ops ----------------------------------------------------------------- */

sl_err dk_get(dctx *c, failure *f)
{
    return reply_key(c, f, c->req->keys_ref.id, NULL);
}

static sl_err on_key(void *ctx, const sl_apikey_view *v)
{
    list_ctx *l = ctx;
    l->n++;
    return sl_reply_apikey(l->out, v);
}

sl_err dk_list(dctx *c, failure *f)
{
    (void)f;
    const sl_req_keys_list *q = &c->req->keys_list;
    list_ctx l = {c->out, c->instance, 0};
    char next[SL_APIKEY_ID_LEN + 1] = "";
    size_t mark;
    sl_err rc = sl_reply_ok_begin(c->out, 2);
    if (rc == SL_OK)
        rc = dx_open_list(c->out, "keys", &mark);
    if (rc == SL_OK)
        rc = sl_apikey_list(c->txn, q->after, q->limit, on_key, &l, next);
    if (rc != SL_OK)
        return rc;
    sl_reply_array_patch(c->out, mark, l.n);
    return sl_reply_kv_str(c->out, "next_after", next);
}

/* ---- write ops ------------------------------------------------------------------ */

sl_err dk_create(dctx *c, failure *f)
{
    char id[SL_APIKEY_ID_LEN + 1], token[SL_APIKEY_TOKEN_LEN + 1];
    const char *field = NULL;
    const sl_apikey_config *cfg = &c->req->keys_create.config;
    sl_err rc = sl_apikey_create(c->txn, cfg, c->now_ms, id, token);
    if (rc == SL_ERR_INVALID && sl_apikey_config_check(cfg, &field) != SL_OK)
        return dx_explain(f, rc, field, "%s: not a valid value", field ? field : "key");
    if (rc != SL_OK)
        return rc;
    rc = reply_key(c, f, id, token);
    memset(token, 0, sizeof token);
    return rc;
}

sl_err dk_revoke(dctx *c, failure *f)
{
    const char *id = c->req->keys_ref.id;
    sl_err rc = sl_apikey_revoke(c->txn, id);
    if (rc != SL_OK)
        return key_rc(f, rc, id);
    return sl_reply_ok_begin(c->out, 0);
}
