/* webhook_receiver.c: the test HTTP receiver (see webhook_receiver.h).
 *
 * Ownership: the server owns its paths (behaviours, secrets, recorded
 * requests); each connection thread owns its socket and buffer and hands a
 * finished request record to its path under the mutex. whr_get hands out
 * deep copies. */
#include "tests/webhook_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define POLL_SLICE_MS 50     /* longest wait before looking at the stop flag */
#define REQUEST_TIMEOUT_MS 10000 /* to receive one request once it started */
#define SEND_TIMEOUT_S 2

/* ---- state ---------------------------------------------------------------------- */

typedef struct plan {
    unsigned status;
    bool has_retry_after;
    char retry_after[WHR_RETRY_AFTER_MAX];
    unsigned stall_ms;
    bool drop;
    char body[WHR_RESPONSE_MAX];
    size_t body_len;
    char location[WHR_PATH_MAX + 64]; /* "" : no Location header */
    size_t pad_headers;
    size_t body_bytes;               /* > 0: a body of that many 'x' instead of body */
    unsigned body_stall_ms;
} plan;

typedef struct path_state {
    char path[WHR_PATH_MAX];
    bool has_default;
    plan def;
    plan queue[WHR_QUEUE_MAX];  /* ring */
    size_t qhead, qlen;
    char secrets[WHR_SECRETS_MAX][WHR_SECRET_MAX];
    size_t nsecrets;
    whr_request **reqs;         /* recorded, in arrival order (owned) */
    size_t nreqs, reqs_cap;
} path_state;

typedef struct conn {
    struct whr_server *srv;
    pthread_t thread;
    int fd;
    bool used;                  /* thread started, not joined yet */
    atomic_bool done;           /* the thread has finished */
} conn;

struct whr_server {
    int listen_fd;
    int port;
    pthread_t accept_thread;
    atomic_bool stopping;
    pthread_mutex_t mu;         /* guards paths and npaths */
    pthread_cond_t cond;        /* broadcast on every recorded request */
    path_state *paths[WHR_PATHS_MAX];
    size_t npaths;
    conn conns[WHR_CONN_MAX];   /* touched by the accept thread, then by whr_stop */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void copy_str(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* ---- paths and behaviours (call with mu held) ------------------------------------------ */

/* The state of path; created when create is set. NULL when absent or full. */
static path_state *find_path(whr_server *s, const char *path, bool create)
{
    for (size_t i = 0; i < s->npaths; i++)
        if (strcmp(s->paths[i]->path, path) == 0)
            return s->paths[i];
    if (!create || s->npaths == WHR_PATHS_MAX || strlen(path) >= WHR_PATH_MAX)
        return NULL;
    path_state *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    copy_str(p->path, sizeof p->path, path, strlen(path));
    s->paths[s->npaths++] = p;
    return p;
}

static void plan_of(plan *out, const whr_behaviour *b)
{
    memset(out, 0, sizeof *out);
    out->status = b->status ? b->status : 200;
    out->stall_ms = b->stall_ms;
    out->drop = b->drop;
    if (b->retry_after) {
        out->has_retry_after = true;
        copy_str(out->retry_after, sizeof out->retry_after, b->retry_after,
                 strlen(b->retry_after));
    }
    if (b->body) {
        out->body_len = strlen(b->body) < WHR_RESPONSE_MAX ? strlen(b->body) : WHR_RESPONSE_MAX;
        memcpy(out->body, b->body, out->body_len);
    }
    if (b->location)
        copy_str(out->location, sizeof out->location, b->location, strlen(b->location));
    out->pad_headers = b->pad_headers;
    out->body_bytes = b->body_bytes;
    out->body_stall_ms = b->body_stall_ms;
}

/* The behaviour for the next request of p (NULL p: the default 200). */
static void next_plan(path_state *p, plan *out)
{
    static const whr_behaviour ok = {0};
    if (p && p->qlen > 0) {
        *out = p->queue[p->qhead];
        p->qhead = (p->qhead + 1) % WHR_QUEUE_MAX;
        p->qlen--;
    } else if (p && p->has_default) {
        *out = p->def;
    } else {
        plan_of(out, &ok);
    }
}

int whr_set_default(whr_server *s, const char *path, const whr_behaviour *b)
{
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, true);
    if (p) {
        plan_of(&p->def, b);
        p->has_default = true;
    }
    pthread_mutex_unlock(&s->mu);
    return p ? 0 : -1;
}

int whr_push(whr_server *s, const char *path, const whr_behaviour *b)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, true);
    if (p && p->qlen < WHR_QUEUE_MAX) {
        plan_of(&p->queue[(p->qhead + p->qlen) % WHR_QUEUE_MAX], b);
        p->qlen++;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int whr_set_secrets(whr_server *s, const char *path, const char *const *secrets, size_t n)
{
    if (n > WHR_SECRETS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strlen(secrets[i]) >= WHR_SECRET_MAX)
            return -1;
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, true);
    if (p) {
        for (size_t i = 0; i < n; i++)
            copy_str(p->secrets[i], WHR_SECRET_MAX, secrets[i], strlen(secrets[i]));
        p->nsecrets = n;
    }
    pthread_mutex_unlock(&s->mu);
    return p ? 0 : -1;
}

/* ---- records ------------------------------------------------------------------------ */

const char *whr_header(const whr_request *r, const char *name)
{
    const char *p = r->headers, *end = r->headers + r->headers_len;
    while (p < end) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

void whr_request_free(whr_request *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->body);
    free(r);
}

static whr_request *copy_request(const whr_request *r)
{
    whr_request *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *r;
    c->headers = malloc(r->headers_len + 1);
    c->body = malloc(r->body_len + 1);
    if (!c->headers || !c->body) {
        whr_request_free(c);
        return NULL;
    }
    memcpy(c->headers, r->headers, r->headers_len + 1);
    memcpy(c->body, r->body, r->body_len + 1);
    return c;
}

size_t whr_count(whr_server *s, const char *path)
{
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, false);
    size_t n = p ? p->nreqs : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

whr_request *whr_get(whr_server *s, const char *path, size_t i)
{
    whr_request *c = NULL;
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, false);
    if (p && i < p->nreqs)
        c = copy_request(p->reqs[i]);
    pthread_mutex_unlock(&s->mu);
    return c;
}

bool whr_wait(whr_server *s, const char *path, size_t n, unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        path_state *p = find_path(s, path, false);
        if (p && p->nreqs >= n)
            break;
        if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) == ETIMEDOUT)
            break;
    }
    path_state *p = find_path(s, path, false);
    bool reached = p && p->nreqs >= n;
    pthread_mutex_unlock(&s->mu);
    return reached;
}

/* Keep r (taking it) under its path and choose the answer. */
static void record(whr_server *s, whr_request *r, plan *out)
{
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, r->path, true);
    next_plan(p, out);
    r->status = out->drop ? 0 : out->status;
    bool kept = false;
    if (p && p->nreqs < WHR_RECORDS_MAX) {
        if (p->nreqs == p->reqs_cap) {
            size_t cap = p->reqs_cap ? p->reqs_cap * 2 : 16;
            whr_request **grown = realloc(p->reqs, cap * sizeof *grown);
            if (grown) {
                p->reqs = grown;
                p->reqs_cap = cap;
            }
        }
        if (p->nreqs < p->reqs_cap) {
            p->reqs[p->nreqs++] = r;
            kept = true;
        }
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (!kept)
        whr_request_free(r);
}

/* The secrets of path, copied out. */
static size_t secrets_of(whr_server *s, const char *path, char out[][WHR_SECRET_MAX])
{
    pthread_mutex_lock(&s->mu);
    path_state *p = find_path(s, path, false);
    size_t n = p ? p->nsecrets : 0;
    if (n)
        memcpy(out, p->secrets, sizeof p->secrets);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- signature verification (independent of the bridge's signature.c) ------------------ */

/* HMAC-SHA256 of prefix || body with OpenSSL's one-shot HMAC(). */
static bool hmac_of(const void *key, size_t key_len, const char *prefix, const char *body,
                    size_t body_len, unsigned char out[32])
{
    size_t lp = strlen(prefix);
    unsigned char *msg = malloc(lp + body_len + 1);
    if (!msg)
        return false;
    memcpy(msg, prefix, lp);
    memcpy(msg + lp, body, body_len);
    unsigned int len = 0;
    bool ok = HMAC(EVP_sha256(), key, (int)key_len, msg, lp + body_len, out, &len) && len == 32;
    free(msg);
    return ok;
}

/* True when entry (n bytes) equals want (constant time for equal lengths). */
static bool same(const char *entry, size_t n, const char *want)
{
    return n == strlen(want) && CRYPTO_memcmp(entry, want, n) == 0;
}

/* True when one of the entries of list (split at any char of seps) is want. */
static bool list_has(const char *list, const char *seps, const char *want)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, seps);
        if (n && same(p, n, want))
            return true;
        p += n;
        p += strspn(p, seps);
    }
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static unsigned verify_seed(const whr_request *r, char secrets[][WHR_SECRET_MAX], size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned ok = 0;
    if (!all_digits(r->x_webhook_timestamp))
        return 0;
    char prefix[WHR_VALUE_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s.", r->x_webhook_timestamp);
    for (size_t i = 0; i < n; i++) {
        unsigned char mac[32];
        if (!hmac_of(secrets[i], strlen(secrets[i]), prefix, r->body, r->body_len, mac))
            continue;
        char want[7 + 64 + 1] = "sha256=";
        for (int k = 0; k < 32; k++) {
            want[7 + 2 * k] = hex[mac[k] >> 4];
            want[8 + 2 * k] = hex[mac[k] & 15];
        }
        want[71] = '\0';
        if (list_has(r->x_webhook_signature, " ,", want))
            ok |= 1u << i;
    }
    return ok;
}

/* Decode the key of a "whsec_" secret with EVP_DecodeBlock; 0 on failure. */
static size_t v1_key(const char *secret, unsigned char key[96])
{
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    size_t n = strlen(secret);
    char padded[WHR_SECRET_MAX + 4];
    if (n == 0 || n % 4 == 1 || n > 124)
        return 0;
    memcpy(padded, secret, n);
    while (n % 4)
        padded[n++] = '=';
    int len = EVP_DecodeBlock(key, (const unsigned char *)padded, (int)n);
    if (len < 0)
        return 0;
    while (n > 0 && padded[n - 1] == '=') { /* EVP_DecodeBlock counts padding as zero bytes */
        n--;
        len--;
    }
    return len > 0 ? (size_t)len : 0;
}

static unsigned verify_v1(const whr_request *r, char secrets[][WHR_SECRET_MAX], size_t n)
{
    if (!all_digits(r->webhook_timestamp) || strlen(r->webhook_timestamp) > 12)
        return 0;
    long long ts = atoll(r->webhook_timestamp), now = (long long)(r->arrival_wall_ms / 1000);
    if (ts < now - WHR_TOLERANCE_S || ts > now + WHR_TOLERANCE_S)
        return 0;
    char prefix[2 * WHR_VALUE_MAX + 4];
    snprintf(prefix, sizeof prefix, "%s.%s.", r->webhook_id, r->webhook_timestamp);
    unsigned ok = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char key[96], mac[32];
        size_t key_len = v1_key(secrets[i], key);
        if (key_len == 0 || !hmac_of(key, key_len, prefix, r->body, r->body_len, mac))
            continue;
        char want[3 + 44 + 1] = "v1,";
        EVP_EncodeBlock((unsigned char *)want + 3, mac, 32);
        if (list_has(r->webhook_signature, " ", want))
            ok |= 1u << i;
    }
    return ok;
}

static void verify(whr_server *s, whr_request *r)
{
    char secrets[WHR_SECRETS_MAX][WHR_SECRET_MAX];
    size_t n = secrets_of(s, r->path, secrets);
    r->seed_ok = verify_seed(r, secrets, n);
    r->v1_ok = verify_v1(r, secrets, n);
}

/* ---- socket I/O ------------------------------------------------------------------------ */

/* One connection's input: the bytes received and not used yet. */
typedef struct conn_io {
    whr_server *srv;
    int fd;
    char buf[WHR_HEAD_MAX];
    size_t len;
} conn_io;

/* Receive more bytes into buf (or into dst when given), waiting until
 * deadline. >0: bytes; 0: end of stream, timeout or stop; -1: error. */
static ssize_t receive(conn_io *io, char *dst, size_t cap, uint64_t deadline)
{
    while (!atomic_load(&io->srv->stopping)) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return 0;
        uint64_t left = deadline - now;
        struct pollfd pfd = {io->fd, POLLIN, 0};
        int rc = poll(&pfd, 1, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc <= 0)
            continue;
        ssize_t n = recv(io->fd, dst, cap, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        return n;
    }
    return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static const char *reason(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* About n bytes of "X-Pad-<i>: xxx...\r\n" lines, each under 1 KiB. */
static int send_padding(int fd, size_t n)
{
    char line[1024];
    for (size_t i = 0, sent = 0; sent < n; i++) {
        int k = snprintf(line, sizeof line, "X-Pad-%zu: ", i);
        size_t len = (size_t)k;
        while (len < 1000 && sent + len < n)
            line[len++] = 'x';
        line[len++] = '\r';
        line[len++] = '\n';
        if (send_all(fd, line, len) < 0)
            return -1;
        sent += len;
    }
    return 0;
}

/* body_bytes of 'x' (of which only the first 16 KiB when cut). */
static int send_filler(int fd, size_t n)
{
    char chunk[16384];
    memset(chunk, 'x', sizeof chunk);
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        if (send_all(fd, chunk, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

static void stall(whr_server *s, unsigned ms);

/* Answer per pl. 1: the connection must close now (a cut body), 0: sent,
 * -1: error. */
static int respond(whr_server *srv, int fd, const plan *pl, bool close_after)
{
    char head[1024];
    size_t body_len = pl->body_bytes ? pl->body_bytes : pl->body_len;
    bool cut = pl->body_bytes && pl->body_stall_ms;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "%s%s%s%s%s%s%s",
                     pl->status, reason(pl->status), body_len,
                     pl->has_retry_after ? "Retry-After: " : "",
                     pl->has_retry_after ? pl->retry_after : "",
                     pl->has_retry_after ? "\r\n" : "",
                     pl->location[0] ? "Location: " : "", pl->location,
                     pl->location[0] ? "\r\n" : "",
                     close_after || cut ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (send_all(fd, head, (size_t)n) < 0 || send_padding(fd, pl->pad_headers) < 0 ||
        send_all(fd, "\r\n", 2) < 0)
        return -1;
    if (!pl->body_bytes)
        return send_all(fd, pl->body, pl->body_len);
    if (!cut)
        return send_filler(fd, pl->body_bytes);
    if (send_filler(fd, pl->body_bytes < 16384 ? pl->body_bytes : 16384) < 0)
        return -1;
    stall(srv, pl->body_stall_ms);
    return 1;
}

/* An error answer to a request the receiver cannot take; then close. */
static void refuse(int fd, unsigned status)
{
    plan pl;
    whr_behaviour b = {.status = status};
    plan_of(&pl, &b);
    respond(NULL, fd, &pl, true);
}

/* ---- parsing --------------------------------------------------------------------------- */

/* What the head of a request says. Pointers into the connection buffer. */
typedef struct head {
    char *method, *target, *version;
    size_t content_length;
    bool has_length_error, chunked, expect_continue, close_after;
} head;

/* Find "\r\n\r\n" in buf; its end offset, or 0. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static void note_header(head *h, const char *name, const char *value)
{
    if (strcasecmp(name, "Content-Length") == 0) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!all_digits(value) || errno || *end || v > WHR_BODY_MAX)
            h->has_length_error = true;
        else
            h->content_length = (size_t)v;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        h->chunked = true;
    } else if (strcasecmp(name, "Expect") == 0) {
        h->expect_continue = strcasecmp(value, "100-continue") == 0;
    } else if (strcasecmp(name, "Connection") == 0) {
        h->close_after = strcasecmp(value, "close") == 0;
    }
}

/* Split the request line. */
static bool parse_request_line(char *line, head *h)
{
    h->method = line;
    char *sp = strchr(line, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    h->target = sp + 1;
    sp = strchr(h->target, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    h->version = sp + 1;
    if (strcmp(h->version, "HTTP/1.0") == 0)
        h->close_after = true;
    return strncmp(h->version, "HTTP/1.", 7) == 0 && *h->method && *h->target;
}

/* Parse buf[0..n) (the head, NUL-terminated lines in place) into h and the
 * header block of r. False on a malformed head. */
static bool parse_head(char *buf, size_t n, head *h, whr_request *r)
{
    memset(h, 0, sizeof *h);
    buf[n - 2] = '\0'; /* the final CRLF */
    char *line = buf, *next;
    size_t used = 0;
    for (int i = 0; line && *line; i++, line = next) {
        char *crlf = strstr(line, "\r\n");
        next = crlf ? crlf + 2 : NULL;
        if (crlf)
            *crlf = '\0';
        if (i == 0) {
            if (!parse_request_line(line, h))
                return false;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return false;
        *colon = '\0';
        char *value = trim(colon + 1);
        note_header(h, line, value);
        size_t ln = strlen(line) + 1, lv = strlen(value) + 1;
        memcpy(r->headers + used, line, ln);
        memcpy(r->headers + used + ln, value, lv);
        used += ln + lv;
    }
    r->headers[used] = '\0';
    r->headers_len = used;
    return h->method != NULL;
}

static void named(const whr_request *r, const char *name, char out[WHR_VALUE_MAX])
{
    const char *v = whr_header(r, name);
    copy_str(out, WHR_VALUE_MAX, v ? v : "", v ? strlen(v) : 0);
}

static void fill_named(whr_request *r)
{
    named(r, "X-Webhook-Id", r->x_webhook_id);
    named(r, "X-Webhook-Event", r->x_webhook_event);
    named(r, "X-Webhook-Timestamp", r->x_webhook_timestamp);
    named(r, "X-Webhook-Signature", r->x_webhook_signature);
    named(r, "X-Webhook-Attempt", r->x_webhook_attempt);
    named(r, "webhook-id", r->webhook_id);
    named(r, "webhook-timestamp", r->webhook_timestamp);
    named(r, "webhook-signature", r->webhook_signature);
    named(r, "User-Agent", r->user_agent);
    named(r, "Content-Type", r->content_type);
}

/* ---- one request ----------------------------------------------------------------------- */

typedef enum step { STEP_NEXT, STEP_CLOSE } step;

/* Read the body (the part already in buf first), leaving any bytes after
 * it in buf. */
static bool read_body(conn_io *io, size_t head_len, const head *h, whr_request *r,
                      uint64_t deadline)
{
    r->body = malloc(h->content_length + 1);
    if (!r->body)
        return false;
    size_t have = io->len - head_len;
    if (have > h->content_length)
        have = h->content_length;
    memcpy(r->body, io->buf + head_len, have);
    memmove(io->buf, io->buf + head_len + have, io->len - head_len - have);
    io->len -= head_len + have;
    if (have < h->content_length && h->expect_continue &&
        send_all(io->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return false;
    while (have < h->content_length) {
        ssize_t n = receive(io, r->body + have, h->content_length - have, deadline);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    r->body[have] = '\0';
    r->body_len = have;
    return true;
}

/* Receive until buf holds a whole head; its length, or 0 (closed, idle,
 * stopped, error: already answered when it was the request's fault). */
static size_t read_head(conn_io *io)
{
    uint64_t deadline = mono_ms() + WHR_IDLE_MS;
    size_t end;
    while ((end = head_end(io->buf, io->len)) == 0) {
        if (io->len == sizeof io->buf) {
            refuse(io->fd, 431);
            return 0;
        }
        ssize_t n = receive(io, io->buf + io->len, sizeof io->buf - io->len, deadline);
        if (n <= 0)
            return 0;
        if (io->len == 0) /* a request started: it has the request timeout */
            deadline = mono_ms() + REQUEST_TIMEOUT_MS;
        io->len += (size_t)n;
    }
    return end;
}

/* The path (target without query) into r; false when too long. */
static bool take_path(whr_request *r, const char *target)
{
    size_t n = strcspn(target, "?");
    if (n >= WHR_PATH_MAX)
        return false;
    copy_str(r->path, sizeof r->path, target, n);
    return true;
}

/* A request from io into a new record; NULL when the connection must close
 * (the reason was answered already where there is one). */
static whr_request *read_request(conn_io *io, head *h)
{
    size_t head_len = read_head(io);
    if (head_len == 0)
        return NULL;
    whr_request *r = calloc(1, sizeof *r);
    if (r)
        r->headers = malloc(head_len + 1);
    if (!r || !r->headers) {
        whr_request_free(r);
        return NULL;
    }
    r->arrival_ms = mono_ms();
    r->arrival_wall_ms = wall_ms();
    unsigned status = 0;
    if (!parse_head(io->buf, head_len, h, r) || h->has_length_error)
        status = 400;
    else if (h->chunked)
        status = 501;
    else if (!take_path(r, h->target))
        status = 414;
    if (status == 0 && read_body(io, head_len, h, r, mono_ms() + REQUEST_TIMEOUT_MS)) {
        copy_str(r->method, sizeof r->method, h->method, strlen(h->method));
        fill_named(r);
        return r;
    }
    if (status)
        refuse(io->fd, status);
    whr_request_free(r);
    return NULL;
}

/* Sleep ms, waking early when the server stops. */
static void stall(whr_server *s, unsigned ms)
{
    uint64_t end = mono_ms() + ms;
    while (!atomic_load(&s->stopping) && mono_ms() < end) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static step serve_one(conn_io *io)
{
    head h;
    whr_request *r = read_request(io, &h);
    if (!r)
        return STEP_CLOSE;
    bool close_after = h.close_after;
    verify(io->srv, r);
    plan pl;
    record(io->srv, r, &pl); /* r belongs to the path now */
    if (pl.stall_ms)
        stall(io->srv, pl.stall_ms);
    if (pl.drop || atomic_load(&io->srv->stopping))
        return STEP_CLOSE;
    if (respond(io->srv, io->fd, &pl, close_after) != 0 || close_after)
        return STEP_CLOSE;
    return STEP_NEXT;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    conn_io *io = malloc(sizeof *io);
    if (io) {
        io->srv = c->srv;
        io->fd = c->fd;
        io->len = 0;
        while (!atomic_load(&c->srv->stopping) && serve_one(io) == STEP_NEXT)
            ;
        free(io);
    }
    close(c->fd);
    atomic_store(&c->done, true);
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------------- */

/* Join finished connection threads; a free slot, or NULL. */
static conn *free_slot(whr_server *s)
{
    conn *slot = NULL;
    for (size_t i = 0; i < WHR_CONN_MAX; i++) {
        conn *c = &s->conns[i];
        if (c->used && atomic_load(&c->done)) {
            pthread_join(c->thread, NULL);
            c->used = false;
        }
        if (!c->used && !slot)
            slot = c;
    }
    return slot;
}

static void start_conn(whr_server *s, int fd)
{
    struct timeval tv = {SEND_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = free_slot(s);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    atomic_store(&c->done, false);
    if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
        close(fd);
        return;
    }
    c->used = true;
}

static void *accept_main(void *arg)
{
    whr_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        struct pollfd pfd = {s->listen_fd, POLLIN, 0};
        if (poll(&pfd, 1, POLL_SLICE_MS) <= 0)
            continue;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            start_conn(s, fd);
    }
    return NULL;
}

/* ---- start and stop -------------------------------------------------------------------- */

static int open_listener(whr_server *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(s->listen_fd, 64) < 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return 0;
}

static int init_sync(whr_server *s)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_cond_destroy(&s->cond);
        return -1;
    }
    return 0;
}

int whr_start(whr_server **out)
{
    *out = NULL;
    whr_server *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    atomic_init(&s->stopping, false);
    s->listen_fd = -1;
    if (init_sync(s) < 0) {
        free(s);
        return -1;
    }
    if (open_listener(s) < 0 || pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static void free_path(path_state *p)
{
    for (size_t i = 0; i < p->nreqs; i++)
        whr_request_free(p->reqs[i]);
    free(p->reqs);
    free(p);
}

void whr_stop(whr_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    pthread_join(s->accept_thread, NULL);
    close(s->listen_fd);
    for (size_t i = 0; i < WHR_CONN_MAX; i++)
        if (s->conns[i].used)
            pthread_join(s->conns[i].thread, NULL);
    for (size_t i = 0; i < s->npaths; i++)
        free_path(s->paths[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int whr_port(const whr_server *s)
{
    return s->port;
}

int whr_url(const whr_server *s, const char *path, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "http://127.0.0.1:%d%s", s->port, path);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
