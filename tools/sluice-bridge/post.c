/* post.c: see post.h. */
#include "tools/sluice-bridge/post.h"

#include <inttypes.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/version.h"
#include "tools/sluice-bridge/envelope.h"
#include "tools/sluice-bridge/retry_after.h"

#define USER_AGENT "User-Agent: sluice-webhooks/" SLUICE_VERSION

/* ---- libcurl callbacks ------------------------------------------------------ */

/* Keep the first SL_WEBHOOK_BODY_KEEP bytes of the response; when more
 * comes, stop the transfer (returning less than n ends it with
 * CURLE_WRITE_ERROR, which wh_post_outcome reads as "answered"). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    wh_post *p = userp;
    size_t n = size * nmemb, room = sizeof p->response - p->response_len;
    size_t take = n < room ? n : room;
    memcpy(p->response + p->response_len, data, take);
    p->response_len += take;
    if (take < n) {
        p->body_cut = true;
        return 0;
    }
    return n;
}

/* Pick Retry-After out of the response headers. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    wh_post *p = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    p->head_bytes += n;
    if (p->head_bytes > WH_POST_HEAD_MAX) {
        p->head_too_large = true;
        return 0; /* ends the transfer with CURLE_WRITE_ERROR */
    }
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        sl_slice v = {data + sizeof name - 1, n - (sizeof name - 1)};
        while (v.len && (v.ptr[0] == ' ' || v.ptr[0] == '\t'))
            v.ptr++, v.len--;
        while (v.len && (v.ptr[v.len - 1] == '\r' || v.ptr[v.len - 1] == '\n' ||
                         v.ptr[v.len - 1] == ' '))
            v.len--;
        uint64_t ms;
        if (wh_retry_after_parse(v, (int64_t)(p->sent_ms / 1000), &ms) == SL_OK)
            p->retry_after_ms = ms;
    }
    return n;
}

/* ---- the request -------------------------------------------------------------- */

static sl_err add_header(wh_post *p, const char *line)
{
    struct curl_slist *l = curl_slist_append(p->headers, line);
    if (!l)
        return SL_ERR_NOMEM;
    p->headers = l;
    return SL_OK;
}

static sl_err add_headerf(wh_post *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static sl_err add_headerf(wh_post *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return SL_ERR_INVALID;
    return add_header(p, line);
}

/* The signature headers and the rest of the fixed set. */
static sl_err add_webhook_headers(wh_post *p, wh_signer *signer, const wh_post_target *t,
                                  const sl_client_delivery *d, uint64_t ts)
{
    char seed[WH_SIG_SEED_HEADER_CAP(SL_WEBHOOK_SECRETS_MAX)];
    char v1[WH_SIG_V1_HEADER_CAP(SL_WEBHOOK_SECRETS_MAX)];
    sl_slice type = wh_envelope_type(d->event.topic);
    const sl_slice id = d->event.id;
    sl_err rc = wh_sign_headers(signer, t->secrets, t->nsecrets, id, ts, jb_slice(&p->body),
                                seed, sizeof seed, v1, sizeof v1);
    if (rc == SL_OK)
        rc = add_headerf(p, "X-Webhook-Id: %.*s", (int)id.len, id.ptr);
    if (rc == SL_OK)
        rc = add_headerf(p, "X-Webhook-Event: %.*s", (int)type.len, type.ptr);
    if (rc == SL_OK)
        rc = add_headerf(p, "X-Webhook-Timestamp: %" PRIu64, ts);
    if (rc == SL_OK)
        rc = add_headerf(p, "X-Webhook-Signature: %s", seed);
    if (rc == SL_OK)
        rc = add_headerf(p, "X-Webhook-Attempt: %" PRIu32, d->attempt);
    if (rc == SL_OK)
        rc = add_headerf(p, "webhook-id: %.*s", (int)id.len, id.ptr);
    if (rc == SL_OK)
        rc = add_headerf(p, "webhook-timestamp: %" PRIu64, ts);
    if (rc == SL_OK)
        rc = add_headerf(p, "webhook-signature: %s", v1);
    if (rc == SL_OK)
        rc = add_header(p, USER_AGENT);
    if (rc == SL_OK)
        rc = add_header(p, "Content-Type: application/json");
    if (rc == SL_OK)
        rc = add_header(p, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; i < t->nheaders && rc == SL_OK; i++)
        rc = add_header(p, t->header_lines[i]);
    return rc;
}

static sl_err configure(wh_post *p, const wh_post_target *t)
{
    CURL *e = p->easy;
    sl_slice body = jb_slice(&p->body);
    p->guard.allow_private = t->allow_private;
    wh_target_guard_reset(&p->guard);
    if (wh_target_guard_apply(e, &p->guard) != SL_OK)
        return SL_ERR_INVALID;
    CURLcode c = CURLE_OK;
    c |= curl_easy_setopt(e, CURLOPT_URL, t->url);
    c |= curl_easy_setopt(e, CURLOPT_POST, 1L);
    c |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.ptr);
    c |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    c |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    c |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    c |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    c |= curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    c |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    c |= curl_easy_setopt(e, CURLOPT_HEADERDATA, p);
    c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->error_text);
    c |= curl_easy_setopt(e, CURLOPT_PRIVATE, p);
    return c == CURLE_OK ? SL_OK : SL_ERR_INVALID;
}

sl_err wh_post_start(wh_post *p, wh_signer *signer, const wh_post_target *target,
                     const sl_client_delivery *d, uint64_t now_ms, uint64_t now_us)
{
    jb_init(&p->body);
    if (d->token.len == 0 || d->token.len > SL_TOKEN_LEN)
        return SL_ERR_INVALID; /* p->token stays "": nothing to report */
    memcpy(p->token, d->token.ptr, d->token.len);
    p->token[d->token.len] = '\0';
    p->attempt = d->attempt;
    p->sent_ms = now_ms;
    p->started_us = now_us;
    p->lease_end_us = now_us + (2 * target->timeout_ms + 1000) * 1000;
    if (target->nsecrets == 0)
        return SL_ERR_INVALID;
    wh_envelope_event ev = {d->event.id, d->event.topic, d->event.ts_ms,
                            d->event.content_type, d->event.payload};
    sl_err rc = wh_envelope_build(&p->body, &ev);
    if (rc != SL_OK)
        return rc;
    p->easy = curl_easy_init();
    if (!p->easy)
        return SL_ERR_NOMEM;
    rc = add_webhook_headers(p, signer, target, d, now_ms / 1000);
    return rc == SL_OK ? configure(p, target) : rc;
}

/* ---- the outcome ---------------------------------------------------------------- */

/* A short, stable code for a transfer that got no HTTP response. */
static const char *error_code(const wh_post *p, CURLcode result)
{
    if (p->guard.refused)
        return "refused_target";
    if (p->head_too_large)
        return "headers_too_large";
    switch (result) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "dns";
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "tls";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "connection_closed";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "bad_url";
    default:
        return "transport";
    }
}

void wh_post_outcome(const wh_post *p, sl_webhook_attempt *a)
{
    long status = 0;
    /* a body cut at the cap was answered; a head cut at its cap has a status
     * line but is no usable answer (an error with the status) */
    bool cut = p->result == CURLE_WRITE_ERROR && (p->body_cut || p->head_too_large);
    bool answered = !p->start_failed && (p->result == CURLE_OK || cut);
    if (answered)
        curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
    memset(a, 0, sizeof *a);
    a->token = sl_slice_of(p->token);
    a->http_status = answered && status > 0 && status < 1000 ? (uint32_t)status : 0;
    if (p->start_failed)
        a->error = sl_slice_of("bridge_error");
    else if (a->http_status == 0 || p->head_too_large)
        a->error = sl_slice_of(error_code(p, p->result));
    a->latency_us = p->finished_us > p->started_us ? p->finished_us - p->started_us : 0;
    a->body = (sl_slice){p->response, p->response_len};
    bool may_wait = a->http_status == 429 || a->http_status == 503;
    a->retry_after_ms = may_wait ? p->retry_after_ms : 0;
    a->sent_ms = p->sent_ms;
}

void wh_post_free(wh_post *p)
{
    if (p->easy)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    jb_free(&p->body);
    p->easy = NULL;
    p->headers = NULL;
}
