/* endpoint.c: see endpoint.h. */
#include "tools/sluice-bridge/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy s into a buffer of cap bytes, NUL-terminated. */
static sl_err copy_into(char *out, size_t cap, sl_slice s)
{
    if (s.len >= cap)
        return SL_ERR_INVALID;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return SL_OK;
}

static char *dup_slice(sl_slice s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

/* "Name: value" for each custom header of w into lines (all or none). */
static sl_err make_lines(const sl_client_webhook *w, char **lines)
{
    for (size_t i = 0; i < w->nheaders; i++) {
        const sl_header *h = &w->headers[i];
        size_t n = h->key.len + 2 + h->value.len + 1;
        lines[i] = malloc(n);
        if (!lines[i]) {
            free_lines(lines, i);
            return SL_ERR_NOMEM;
        }
        snprintf(lines[i], n, "%.*s: %.*s", (int)h->key.len, h->key.ptr, (int)h->value.len,
                 h->value.ptr);
    }
    return SL_OK;
}

/* Checked in full before anything is copied: all or nothing. */
static sl_err copy_secrets(wh_endpoint *e, const sl_client_webhook *w)
{
    if (!w->secrets || w->nsecrets == 0 || w->nsecrets > SL_WEBHOOK_SECRETS_MAX)
        return SL_ERR_INVALID;
    for (size_t i = 0; i < w->nsecrets; i++)
        if (w->secrets[i].len == 0 || w->secrets[i].len >= sizeof e->secret_text[i])
            return SL_ERR_INVALID;
    for (size_t i = 0; i < w->nsecrets; i++) {
        sl_err rc = copy_into(e->secret_text[i], sizeof e->secret_text[i], w->secrets[i]);
        if (rc != SL_OK)
            return rc;
        e->secrets[i] = sl_slice_of(e->secret_text[i]);
    }
    e->nsecrets = w->nsecrets;
    return SL_OK;
}

sl_err wh_endpoint_apply(wh_endpoint *e, const sl_client_webhook *w, uint64_t now_ms)
{
    if (w->nheaders > SL_WEBHOOK_HEADERS_MAX || w->id.len >= sizeof e->id ||
        w->group.len >= sizeof e->group)
        return SL_ERR_INVALID;
    char *url = dup_slice(w->url);
    char *lines[SL_WEBHOOK_HEADERS_MAX];
    if (!url || make_lines(w, lines) != SL_OK) {
        free(url);
        return SL_ERR_NOMEM;
    }
    sl_err rc = copy_secrets(e, w);
    if (rc != SL_OK) {
        free(url);
        free_lines(lines, w->nheaders);
        return rc;
    }
    copy_into(e->id, sizeof e->id, w->id);          /* fit: checked above */
    copy_into(e->group, sizeof e->group, w->group);
    bool first = e->url == NULL;
    free(e->url);
    free_lines(e->header_lines, e->nheaders);
    e->url = url;
    memcpy(e->header_lines, lines, w->nheaders * sizeof lines[0]);
    e->nheaders = w->nheaders;
    e->timeout_ms = w->timeout_ms ? w->timeout_ms : 10000;
    e->max_in_flight = w->max_in_flight ? (uint32_t)w->max_in_flight : 1;
    if (first)
        wh_rate_init(&e->rate, (uint32_t)w->rate_limit, now_ms);
    else
        wh_rate_set(&e->rate, (uint32_t)w->rate_limit, now_ms);
    return SL_OK;
}

wh_post_target wh_endpoint_target(const wh_endpoint *e, bool allow_private)
{
    wh_post_target t = {
        .url = e->url,
        .secrets = e->secrets,
        .nsecrets = e->nsecrets,
        .header_lines = (const char *const *)e->header_lines,
        .nheaders = e->nheaders,
        .timeout_ms = e->timeout_ms,
        .allow_private = allow_private,
    };
    return t;
}

void wh_endpoint_clear(wh_endpoint *e)
{
    free(e->url);
    free_lines(e->header_lines, e->nheaders);
    e->url = NULL;
    e->nheaders = 0;
}
