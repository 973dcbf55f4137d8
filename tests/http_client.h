/* http_client.h: a real sluiced with its HTTP API on loopback, called with
 * libcurl, and small readers of the JSON answers ("data[0].token" paths),
 * for the HTTP integration tests. */
#ifndef SLUICE_TESTS_HTTP_CLIENT_H
#define SLUICE_TESTS_HTTP_CLIENT_H

#include <curl/curl.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "support.h"
#include "tools/common/json_parse.h"

typedef struct http_fixture {
    test_daemon d;
    char base[128];          /* "http://127.0.0.1:PORT" */
    char certdir[256];       /* https: where cert.pem / key.pem are */
    char *tmp;               /* owned temp dir for the certificate */
    bool https;
    char api_key[128];       /* sent as X-API-Key when set */
} http_fixture;

typedef struct http_resp {
    long status;
    char *body;              /* NUL-terminated (owned) */
    size_t len;
    char *headers;           /* raw response headers (owned) */
    size_t hlen;
    json_doc doc;
    bool parsed;
} http_resp;

static inline size_t hf_collect(char *p, size_t size, size_t n, void *userp)
{
    char **buf = userp;
    size_t old = *buf ? strlen(*buf) : 0, add = size * n;
    char *nb = realloc(*buf, old + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + old, p, add);
    nb[old + add] = '\0';
    *buf = nb;
    return add;
}

static inline int hf_make_cert(http_fixture *f)
{
    f->tmp = test_tmpdir("https");
    if (!f->tmp)
        return -1;
    snprintf(f->certdir, sizeof f->certdir, "%s", f->tmp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             f->certdir, f->certdir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline void hr_free(http_resp *r)
{
    free(r->body);
    free(r->headers);
    if (r->parsed)
        json_doc_free(&r->doc);
    memset(r, 0, sizeof *r);
}

/* One call: method path (may carry a query), body (JSON text or NULL), one
 * extra header line or NULL. Returns the status (0 on a transport error). */
static inline long hf_call(http_fixture *f, const char *method, const char *path,
                           const char *body, const char *header, http_resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *e = curl_easy_init();
    if (!e)
        return 0;
    char url[512], key[200];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    struct curl_slist *h = NULL;
    if (body && !(header && strncasecmp(header, "Content-Type:", 13) == 0))
        h = curl_slist_append(h, "Content-Type: application/json");
    if (header)
        h = curl_slist_append(h, header);
    if (f->api_key[0]) {
        snprintf(key, sizeof key, "X-API-Key: %s", f->api_key);
        h = curl_slist_append(h, key);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hf_collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hf_collect);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->headers);
    char ca[300];
    if (f->https) {
        snprintf(ca, sizeof ca, "%s/cert.pem", f->certdir);
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    }
    CURLcode cc = curl_easy_perform(e);
    if (cc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    else if (cc != CURLE_COULDNT_CONNECT) /* that one: hf_start waiting for the daemon */
        fprintf(stderr, "  %s %s: %s\n", method, url, curl_easy_strerror(cc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    r->len = r->body ? strlen(r->body) : 0;
    json_error err;
    if (r->len && json_parse(&r->doc, r->body, r->len, 1u << 20, 64, &err) == SL_OK)
        r->parsed = true;
    return r->status;
}

/* Start a daemon serving the HTTP API (https: with a new self-signed
 * certificate), extra: more sluiced flags (NULL-ended) or NULL. */
static inline int hf_start(http_fixture *f, bool https, const char *const *extra)
{
    memset(f, 0, sizeof *f);
    f->https = https;
    if (https && hf_make_cert(f) != 0)
        return -1;
    int port = test_free_port();
    char listen[96], cert[300], key[300];
    snprintf(listen, sizeof listen, "%s://127.0.0.1:%d", https ? "https" : "http", port);
    snprintf(f->base, sizeof f->base, "%s", listen);
    snprintf(cert, sizeof cert, "%s/cert.pem", f->certdir);
    snprintf(key, sizeof key, "%s/key.pem", f->certdir);
    const char *flags[32] = {"--http-listen", listen, "--max-request-bytes", "1MiB"};
    int n = 4;
    if (https) {
        flags[n++] = "--tls-cert";
        flags[n++] = cert;
        flags[n++] = "--tls-key";
        flags[n++] = key;
    }
    for (int i = 0; extra && extra[i] && n < 30; i++)
        flags[n++] = extra[i];
    flags[n] = NULL;
    if (test_daemon_start(&f->d, NULL, flags) != 0)
        return -1;
    uint64_t deadline = test_mono_ms() + 10000;
    while (test_mono_ms() < deadline) {
        http_resp r;
        long st = hf_call(f, "GET", "/healthz", NULL, NULL, &r);
        hr_free(&r);
        if (st == 200)
            return 0;
        test_sleep_ms(20);
    }
    fprintf(stderr, "  the HTTP API on %s did not answer\n", f->base);
    return -1;
}

static inline int hf_stop(http_fixture *f)
{
    int rc = test_daemon_cleanup(&f->d);
    if (f->tmp) {
        test_rmtree(f->tmp);
        free(f->tmp);
    }
    return rc;
}

/* ---- reading answers ----------------------------------------------------------- */

/* The token at path ("data[0].token"; a member whose name holds dots or
 * brackets is found whole: "errors.events[0].topic"), or NULL. */
static inline const json_tok *hr_find(const http_resp *r, const char *path)
{
    if (!r->parsed)
        return NULL;
    const json_tok *t = json_root(&r->doc);
    const char *p = path;
    while (t && *p) {
        if (*p == '.')
            p++;
        if (*p == '[') {
            if (t->type != JSON_ARRAY)
                return NULL;
            long idx = strtol(p + 1, (char **)&p, 10);
            p++; /* ']' */
            const json_tok *c = json_first(&r->doc, t);
            for (long i = 0; c && i < idx; i++)
                c = json_next(&r->doc, t, c);
            t = c;
            continue;
        }
        if (t->type != JSON_OBJECT)
            return NULL;
        const json_tok *whole = json_member(&r->doc, t, p);
        if (whole)
            return whole;
        char key[128];
        size_t n = strcspn(p, ".[");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        t = json_member(&r->doc, t, key);
        p += n;
    }
    return t;
}

static inline bool hr_has(const http_resp *r, const char *path)
{
    return hr_find(r, path) != NULL;
}

static inline bool hr_str(const http_resp *r, const char *path, char *out, size_t cap)
{
    const json_tok *t = hr_find(r, path);
    size_t len;
    return t && t->type == JSON_STRING && json_string_copy(&r->doc, t, out, cap, &len) == SL_OK;
}

static inline bool hr_str_eq(const http_resp *r, const char *path, const char *want)
{
    char v[4096];
    return hr_str(r, path, v, sizeof v) && strcmp(v, want) == 0;
}

static inline bool hr_str_prefix(const http_resp *r, const char *path, const char *prefix)
{
    char v[4096];
    return hr_str(r, path, v, sizeof v) && strncmp(v, prefix, strlen(prefix)) == 0;
}

static inline uint64_t hr_uint(const http_resp *r, const char *path)
{
    const json_tok *t = hr_find(r, path);
    uint64_t v = 0;
    if (!t || json_u64(&r->doc, t, &v) != SL_OK)
        return UINT64_MAX;
    return v;
}

static inline bool hr_bool(const http_resp *r, const char *path)
{
    const json_tok *t = hr_find(r, path);
    return t && t->type == JSON_TRUE;
}

static inline bool hr_is_null(const http_resp *r, const char *path)
{
    const json_tok *t = hr_find(r, path);
    return t && t->type == JSON_NULL;
}

static inline size_t hr_array_len(const http_resp *r, const char *path)
{
    const json_tok *t = hr_find(r, path);
    return t && t->type == JSON_ARRAY ? t->size : 0;
}

/* The raw JSON text at path equals want. */
static inline bool hr_raw_eq(const http_resp *r, const char *path, const char *want)
{
    const json_tok *t = hr_find(r, path);
    if (!t)
        return false;
    sl_slice raw = json_raw(&r->doc, t);
    return raw.len == strlen(want) && memcmp(raw.ptr, want, raw.len) == 0;
}

/* A response header's value (case-insensitive name) into out; false if absent. */
static inline bool hr_header(const http_resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - line);
            snprintf(out, cap, "%.*s", (int)vl, v);
            return true;
        }
        line = end ? end + 2 : NULL;
    }
    return false;
}

/* ---- raw TCP (http:// fixtures only) ------------------------------------------ */

/* The fixture's port (from base). */
static inline int hf_port(const http_fixture *f)
{
    const char *colon = strrchr(f->base, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* A TCP connection to the fixture, or -1. */
static inline int hf_raw_connect(const http_fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)hf_port(f));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Write all of p (a peer that closed early is fine: 0 either way; -1 on other errors). */
static inline int hf_raw_send(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t n = send(fd, c, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read into out (cap bytes, NUL-terminated) until the peer closes, out is
 * full, or timeout_ms passes in all: bounded. Returns the bytes read; *closed
 * (may be NULL) says whether the peer closed the connection. */
static inline size_t hf_raw_read(int fd, char *out, size_t cap, unsigned timeout_ms, bool *closed)
{
    size_t got = 0;
    uint64_t deadline = test_mono_ms() + timeout_ms;
    if (closed)
        *closed = false;
    while (got + 1 < cap) {
        uint64_t now = test_mono_ms();
        if (now >= deadline)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (closed)
                *closed = true;
            break;
        }
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

/* One exchange on a new connection: send req, read until the server closes
 * or timeout_ms. Returns the bytes read (out NUL-terminated), or -1 when
 * the connection could not be made. */
static inline long hf_raw(const http_fixture *f, const void *req, size_t len, char *out, size_t cap,
                          unsigned timeout_ms, bool *closed)
{
    int fd = hf_raw_connect(f);
    if (fd < 0)
        return -1;
    hf_raw_send(fd, req, len);
    size_t n = hf_raw_read(fd, out, cap, timeout_ms, closed);
    close(fd);
    return (long)n;
}

/* The status of a raw response ("HTTP/1.1 404 ..."), or 0. */
static inline int hf_raw_status(const char *resp)
{
    if (strncmp(resp, "HTTP/1.", 7) != 0 || strlen(resp) < 12)
        return 0;
    return atoi(resp + 9);
}

/* How many responses (status lines) a raw read holds. */
static inline int hf_raw_count(const char *resp)
{
    int n = 0;
    for (const char *p = resp; (p = strstr(p, "HTTP/1.")) != NULL; p += 7)
        n++;
    return n;
}

#endif
