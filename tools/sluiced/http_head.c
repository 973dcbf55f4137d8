/* http_head.c: see http_head.h. */
#include "tools/sluiced/http_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Is c a token character (RFC 9110: method and header names)? */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static sl_slice trim_ows(sl_slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t'))
        s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* The headers whose duplicates are refused: each says one thing. */
static bool single_valued(sl_slice name)
{
    static const char *const names[] = {"Content-Length", "Transfer-Encoding", "Content-Type",
                                        "Host", "X-API-Key", "Authorization",
                                        "Idempotency-Key", "Expect"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name.len == strlen(names[i]) && strncasecmp(name.ptr, names[i], name.len) == 0)
            return true;
    return false;
}

sl_slice http_head_get(const http_head *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name.len == n && strncasecmp(h->headers[i].name.ptr, name, n) == 0)
            return h->headers[i].value;
    return (sl_slice){NULL, 0};
}

bool http_head_has(const http_head *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name.len == n && strncasecmp(h->headers[i].name.ptr, name, n) == 0)
            return true;
    return false;
}

/* Does the comma-separated header value list hold token (any case)? */
static bool list_has(sl_slice v, const char *token)
{
    size_t n = strlen(token), i = 0;
    while (i < v.len) {
        size_t end = i;
        while (end < v.len && v.ptr[end] != ',')
            end++;
        sl_slice item = trim_ows((sl_slice){v.ptr + i, end - i});
        if (item.len == n && strncasecmp(item.ptr, token, n) == 0)
            return true;
        i = end + 1;
    }
    return false;
}

/* The request line, from p to eol (at its CRLF): method SP target SP
 * HTTP/1.x. 0 (*http11 set), or an HTTP status (*why says why). */
static int parse_request_line(http_head *h, char *p, char *eol, bool *http11, const char **why)
{
    char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1))) {
        *why = "malformed request line (method SP target SP version)";
        return 400;
    }
    h->method = (sl_slice){p, (size_t)(sp1 - p)};
    h->target = (sl_slice){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    sl_slice version = {sp2 + 1, (size_t)(eol - sp2 - 1)};
    for (size_t i = 0; i < h->method.len; i++)
        if (!is_tchar((unsigned char)h->method.ptr[i])) {
            *why = "malformed method";
            return 400;
        }
    for (size_t i = 0; i < h->target.len; i++)
        if ((unsigned char)h->target.ptr[i] <= 0x20 || (unsigned char)h->target.ptr[i] >= 0x7f) {
            *why = "malformed request target";
            return 400;
        }
    if (h->target.len > HTTP_URI_MAX) {
        *why = "the request target is too long";
        return 414;
    }
    if (version.len != 8 || memcmp(version.ptr, "HTTP/", 5) != 0 || version.ptr[6] != '.' ||
        version.ptr[5] < '0' || version.ptr[5] > '9' || version.ptr[7] < '0' ||
        version.ptr[7] > '9') {
        *why = "malformed HTTP version";
        return 400;
    }
    if (version.ptr[5] != '1') {
        *why = "only HTTP/1.x is served";
        return 505;
    }
    *http11 = version.ptr[7] >= '1';
    return 0;
}

/* One header line, from p to eol (at its CRLF): name ":" OWS value OWS,
 * added to h->headers. 0, or an HTTP status (*why says why). */
static int parse_header_line(http_head *h, char *p, char *eol, const char **why)
{
    char *colon = memchr(p, ':', (size_t)(eol - p));
    if (!colon || colon == p) {
        *why = "malformed header line (name: value)";
        return 400;
    }
    sl_slice name = {p, (size_t)(colon - p)};
    for (size_t i = 0; i < name.len; i++)
        if (!is_tchar((unsigned char)name.ptr[i])) {
            *why = "malformed header name (no space before ':', no folding)";
            return 400;
        }
    sl_slice value = trim_ows((sl_slice){colon + 1, (size_t)(eol - colon - 1)});
    for (size_t i = 0; i < value.len; i++) {
        unsigned char ch = (unsigned char)value.ptr[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            *why = "a control character in a header value";
            return 400;
        }
    }
    if (h->nheaders == HTTP_HEADERS_MAX) {
        *why = "too many header lines";
        return 431;
    }
    if (single_valued(name)) {
        for (size_t i = 0; i < h->nheaders; i++)
            if (h->headers[i].name.len == name.len &&
                strncasecmp(h->headers[i].name.ptr, name.ptr, name.len) == 0) {
                *why = "a header that takes one value is given twice";
                return 400;
            }
    }
    h->headers[h->nheaders++] = (http_header){name, value};
    return 0;
}

/* Parse the head in h->raw (len bytes, ending with the blank line).
 * 0, or an HTTP status to refuse it with (*why says why). */
static int parse_head(http_head *h, size_t len, const char **why)
{
    char *p = h->raw, *end = h->raw + len - 2; /* at the final CRLF */
    char *eol = memchr(p, '\r', (size_t)(end - p) + 1);
    if (!eol || eol[1] != '\n') {
        *why = "malformed request line";
        return 400;
    }
    bool http11 = false;
    int status = parse_request_line(h, p, eol, &http11, why);
    if (status != 0)
        return status;
    for (p = eol + 2; p < end;) {
        eol = memchr(p, '\r', (size_t)(end - p) + 1);
        if (!eol || eol[1] != '\n') {
            *why = "malformed header line";
            return 400;
        }
        if ((status = parse_header_line(h, p, eol, why)) != 0)
            return status;
        p = eol + 2;
    }
    if (http11 && !http_head_has(h, "Host")) {
        *why = "HTTP/1.1 needs a Host header";
        return 400;
    }
    sl_slice conn = http_head_get(h, "Connection");
    h->client_close = !http11 || list_has(conn, "close");
    h->expect_continue = http11 && list_has(http_head_get(h, "Expect"), "100-continue");
    return 0;
}

/* Does the request announce a body (which must then be read, or the
 * connection closed: its bytes would be taken for the next request)? */
bool http_head_announces_body(const http_head *h)
{
    sl_slice cl = http_head_get(h, "Content-Length");
    if (http_head_has(h, "Transfer-Encoding"))
        return true;
    for (size_t i = 0; i < cl.len; i++)
        if (cl.ptr[i] != '0')
            return true; /* not a plain 0: unread or unreadable */
    return false;
}

/* The target's path and query, into an owned copy (absolute-form
 * "http://host/path" is taken as its path). */
static int split_target(http_head *h)
{
    sl_slice t = h->target;
    if (t.len > 7 && (strncasecmp(t.ptr, "http://", 7) == 0 || strncasecmp(t.ptr, "https://", 8) == 0)) {
        size_t skip = t.ptr[4] == ':' ? 7 : 8;
        const char *slash = memchr(t.ptr + skip, '/', t.len - skip);
        t = slash ? (sl_slice){slash, t.len - (size_t)(slash - t.ptr)} : (sl_slice){"/", 1};
    }
    h->uri = malloc(t.len + 1);
    if (!h->uri)
        return -1;
    memcpy(h->uri, t.ptr, t.len);
    h->uri[t.len] = '\0';
    char *q = strchr(h->uri, '?');
    h->path = (sl_slice){h->uri, q ? (size_t)(q - h->uri) : t.len};
    h->query = q ? sl_slice_of(q + 1) : (sl_slice){NULL, 0};
    return 0;
}

int http_head_parse(http_head *h, char *raw, size_t len, const char **why)
{
    h->raw = raw;
    int status = parse_head(h, len, why);
    if (status == 0 && split_target(h) != 0) {
        status = 503;
        *why = "out of memory";
    }
    return status;
}

void http_head_free(http_head *h)
{
    free(h->uri);
    free(h->raw);
}
