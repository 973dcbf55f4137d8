/* test_metrics.c: the daemon's Prometheus metrics (tools/sluiced/metrics.h,
 * metrics_text.h): the text writer and its escaping, observing requests,
 * the rendered page against a real store in a temporary directory (groups,
 * events, a webhook subscription with an odd name, made through core), the
 * walk bound, and every page checked line by line against the text format
 * 0.0.4 grammar by a small checker here (itself tested on bad input).
 * Last, GET /metrics of a real daemon after a few nng requests (skipped
 * when this sluiced has no HTTP API; the API's own tests own the route). */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/group.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/store.h"
#include "core/webhook.h"
#include "tests/daemon_client.h"
#include "tests/support.h"
#include "tests/unit.h"
#include "tools/sluiced/metrics.h"
#include "tools/sluiced/metrics_text.h"

#define T0 1700000000000ull /* a fixed "now" in Unix ms */
#define ERR_MAX 256

/* ---- a checker of the text format 0.0.4 ------------------------------------------ */

typedef struct fmt_check {
    char families[256][96]; /* names given a TYPE so far */
    char types[256][16];
    size_t nfamilies;
    char current[96];        /* the family whose samples may come now */
    char current_type[16];
    char err[ERR_MAX];       /* why the text is bad; "" while good */
} fmt_check;

static bool name_start(char c, bool colon)
{
    return isalpha((unsigned char)c) || c == '_' || (colon && c == ':');
}

static bool name_char(char c, bool colon)
{
    return name_start(c, colon) || isdigit((unsigned char)c);
}

/* Length of the metric (colon) or label name at p; 0 when none. */
static size_t name_len(const char *p, size_t n, bool colon)
{
    size_t i = 0;
    if (n == 0 || !name_start(p[0], colon))
        return 0;
    while (i < n && name_char(p[i], colon))
        i++;
    return i;
}

/* A Go ParseFloat value as Prometheus writes them: decimal or exponent
 * notation, or +Inf, -Inf, NaN. */
static bool value_ok(const char *p, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
        return true;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i]) && !strchr("+-.eE", buf[i]))
            return false;
    char *end;
    strtod(buf, &end);
    return *end == '\0' && isdigit((unsigned char)buf[n - 1]);
}

static int check_fail(fmt_check *c, size_t lineno, const char *why)
{
    snprintf(c->err, sizeof c->err, "line %zu: %s", lineno, why);
    return -1;
}

static int find_family(const fmt_check *c, const char *name, size_t n)
{
    for (size_t i = 0; i < c->nfamilies; i++)
        if (strlen(c->families[i]) == n && !memcmp(c->families[i], name, n))
            return (int)i;
    return -1;
}

/* "# HELP name text" or "# TYPE name type". */
static int check_comment(fmt_check *c, const char *p, size_t n, size_t lineno)
{
    bool help = n > 7 && !memcmp(p, "# HELP ", 7), type = n > 7 && !memcmp(p, "# TYPE ", 7);
    if (!help && !type)
        return check_fail(c, lineno, "a comment that is neither HELP nor TYPE");
    p += 7, n -= 7;
    size_t nl = name_len(p, n, true);
    if (nl == 0 || nl >= sizeof c->current || nl == n || p[nl] != ' ')
        return check_fail(c, lineno, "bad metric name in HELP/TYPE");
    const char *rest = p + nl + 1;
    size_t rn = n - nl - 1;
    if (help) {
        for (size_t i = 0; i < rn; i++)
            if (rest[i] == '\\' && (i + 1 == rn || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
                return check_fail(c, lineno, "bad escape in HELP");
            else if (rest[i] == '\\')
                i++;
        return 0;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    bool known = false;
    for (size_t i = 0; i < 5; i++)
        known |= strlen(types[i]) == rn && !memcmp(rest, types[i], rn);
    if (!known)
        return check_fail(c, lineno, "unknown TYPE");
    if (find_family(c, p, nl) >= 0)
        return check_fail(c, lineno, "a second TYPE line for one family");
    if (c->nfamilies == sizeof c->families / sizeof c->families[0])
        return check_fail(c, lineno, "too many families for the checker");
    memcpy(c->families[c->nfamilies], p, nl);
    c->families[c->nfamilies][nl] = '\0';
    memcpy(c->types[c->nfamilies], rest, rn);
    c->types[c->nfamilies][rn] = '\0';
    c->nfamilies++;
    snprintf(c->current, sizeof c->current, "%.*s", (int)nl, p);
    snprintf(c->current_type, sizeof c->current_type, "%.*s", (int)rn, rest);
    return 0;
}

/* Does sample name (n bytes) belong to the current family? */
static bool in_current(const fmt_check *c, const char *name, size_t n)
{
    size_t fl = strlen(c->current);
    if (fl == 0 || n < fl || memcmp(name, c->current, fl))
        return false;
    const char *suffix = name + fl;
    size_t sl = n - fl;
    if (sl == 0)
        return strcmp(c->current_type, "histogram") != 0;
    if (strcmp(c->current_type, "histogram"))
        return false;
    return (sl == 7 && !memcmp(suffix, "_bucket", 7)) || (sl == 4 && !memcmp(suffix, "_sum", 4)) ||
           (sl == 6 && !memcmp(suffix, "_count", 6));
}

/* {name="value",...}: *used gets the bytes taken. */
static int check_labels(fmt_check *c, const char *p, size_t n, size_t lineno, size_t *used)
{
    char seen[16][64];
    size_t nseen = 0, i = 1;
    while (i < n && p[i] != '}') {
        size_t ln = name_len(p + i, n - i, false);
        if (ln == 0 || ln >= 64 || i + ln + 1 >= n || p[i + ln] != '=' || p[i + ln + 1] != '"')
            return check_fail(c, lineno, "bad label name or no =\"");
        for (size_t k = 0; k < nseen; k++)
            if (strlen(seen[k]) == ln && !memcmp(seen[k], p + i, ln))
                return check_fail(c, lineno, "a label twice");
        if (nseen < 16)
            snprintf(seen[nseen++], 64, "%.*s", (int)ln, p + i);
        i += ln + 2;
        while (i < n && p[i] != '"') {
            if (p[i] == '\\') {
                if (i + 1 >= n || !strchr("\\\"n", p[i + 1]))
                    return check_fail(c, lineno, "bad escape in a label value");
                i++;
            }
            i++;
        }
        if (i >= n)
            return check_fail(c, lineno, "unterminated label value");
        i++;
        if (i < n && p[i] == ',')
            i++;
        else if (i >= n || p[i] != '}')
            return check_fail(c, lineno, "label not followed by , or }");
    }
    if (i >= n)
        return check_fail(c, lineno, "no closing }");
    *used = i + 1;
    return 0;
}

static int check_sample(fmt_check *c, const char *p, size_t n, size_t lineno)
{
    size_t nl = name_len(p, n, true);
    if (nl == 0)
        return check_fail(c, lineno, "bad metric name");
    if (!in_current(c, p, nl))
        return check_fail(c, lineno, "a sample outside its family (no TYPE, or not contiguous)");
    size_t i = nl;
    if (i < n && p[i] == '{') {
        size_t used;
        if (check_labels(c, p + i, n - i, lineno, &used) != 0)
            return -1;
        i += used;
    }
    if (i >= n || p[i] != ' ')
        return check_fail(c, lineno, "no space before the value");
    i++;
    const char *v = p + i;
    const char *sp = memchr(v, ' ', n - i);
    size_t vn = sp ? (size_t)(sp - v) : n - i;
    if (!value_ok(v, vn))
        return check_fail(c, lineno, "bad value");
    if (sp) { /* an optional integer timestamp */
        for (const char *q = sp + 1; q < p + n; q++)
            if (!isdigit((unsigned char)*q) && !(q == sp + 1 && *q == '-'))
                return check_fail(c, lineno, "bad timestamp");
    }
    if (!strcmp(c->current_type, "counter") && (nl < 6 || memcmp(p + nl - 6, "_total", 6)))
        return check_fail(c, lineno, "a counter not named *_total");
    return 0;
}

/* 0 when text is a valid exposition; else -1 with c->err set. */
static int check_text(fmt_check *c, const char *text, size_t len)
{
    memset(c, 0, sizeof *c);
    if (len == 0 || text[len - 1] != '\n')
        return check_fail(c, 0, "the text does not end with a newline");
    if (strlen(text) != len)
        return check_fail(c, 0, "a NUL inside the text");
    size_t lineno = 0;
    for (const char *p = text; p < text + len;) {
        const char *eol = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = (size_t)(eol - p);
        lineno++;
        int rv = 0;
        if (n == 0)
            rv = 0; /* blank lines are allowed */
        else if (p[0] == '#')
            rv = check_comment(c, p, n, lineno);
        else
            rv = check_sample(c, p, n, lineno);
        if (rv != 0)
            return -1;
        p = eol + 1;
    }
    return 0;
}

static int check_cstr(fmt_check *c, const char *text)
{
    return check_text(c, text, strlen(text));
}

/* ---- reading a page ------------------------------------------------------------------ */

/* True when text has the exact line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

#define CHECK_LINE(text, line)                                                              \
    do {                                                                                     \
        if (!has_line(text, line)) {                                                         \
            fprintf(stderr, "  %s:%d: no line: %s\n", __FILE__, __LINE__, line);             \
            *unit_failed_ = 1;                                                               \
        }                                                                                    \
    } while (0)

/* Lines that start with prefix. */
static size_t count_prefix(const char *text, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, pl))
            n++;
    return n;
}

/* Every histogram series of the page: buckets in increasing le, counts
 * never decreasing, ending with +Inf equal to _count. Returns the number
 * of series checked, or -1 (reported). */
static long check_histograms(const char *text, const char *family)
{
    char bucket[128], count_prefix_s[640];
    snprintf(bucket, sizeof bucket, "%s_bucket{", family);
    long series = 0;
    char key[512] = "";
    double last_le = -1;
    unsigned long long last_count = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, bucket, strlen(bucket)))
            continue;
        const char *le = strstr(p, ",le=\"");
        const char *eol = strchr(p, '\n');
        if (!le || le > eol)
            return fprintf(stderr, "  bucket without le\n"), -1;
        char k[512];
        snprintf(k, sizeof k, "%.*s", (int)(le - p), p);
        if (strcmp(k, key)) {
            if (key[0])
                return fprintf(stderr, "  series %s has no +Inf bucket\n", key), -1;
            snprintf(key, sizeof key, "%s", k);
            last_le = -1;
            last_count = 0;
        }
        const char *lv = le + 5;
        double lev = strncmp(lv, "+Inf", 4) ? strtod(lv, NULL) : INFINITY;
        unsigned long long cnt = strtoull(strchr(lv, '}') + 2, NULL, 10);
        if (!(lev > last_le) || cnt < last_count)
            return fprintf(stderr, "  not cumulative/monotone at %.*s\n", (int)(eol - p), p), -1;
        last_le = lev;
        last_count = cnt;
        if (isinf(lev)) {
            /* the _count line of the same labels */
            snprintf(count_prefix_s, sizeof count_prefix_s, "%s_count%s} %llu", family,
                     key + strlen(family) + strlen("_bucket"), cnt);
            if (!has_line(text, count_prefix_s))
                return fprintf(stderr, "  no %s\n", count_prefix_s), -1;
            key[0] = '\0';
            series++;
        }
    }
    return key[0] ? -1 : series;
}

/* ---- fixture: one store in its own directory --------------------------------------- */

typedef struct fixture {
    char *dir;
    sl_store *store;
    sl_metrics metrics;
    sl_server_counters counters;
} fixture;

static int fx_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->dir = test_tmpdir("metrics");
    if (!f->dir)
        return -1;
    sl_store_options opt;
    sl_store_options_default(&opt);
    opt.path = f->dir;
    opt.relaxed_sync = true;
    sl_metrics_init(&f->metrics);
    f->counters.started_ms = T0;
    return sl_store_open(&opt, &f->store) == SL_OK ? 0 : -1;
}

static void fx_close(fixture *f)
{
    sl_store_close(f->store);
    test_rmtree(f->dir);
    free(f->dir);
}

/* Render the page (owned by the caller), checked against the grammar. */
static char *fx_render(fixture *f, uint64_t now_ms, int *failed)
{
    char *text = NULL;
    size_t len = 0;
    sl_err rc = sl_metrics_render(&f->metrics, f->store, &f->counters, now_ms, &text, &len);
    if (rc != SL_OK) {
        fprintf(stderr, "  render: %s\n", sl_err_text(rc));
        *failed = 1;
        return NULL;
    }
    fmt_check *c = malloc(sizeof *c);
    if (!c || check_text(c, text, len) != 0) {
        fprintf(stderr, "  not valid text format: %s\n", c ? c->err : "no memory");
        *failed = 1;
    }
    free(c);
    return text;
}

static sl_err group_create(sl_txn *w, const char *name, uint64_t now_ms)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "%s", name);
    return sl_group_create(w, &cfg, now_ms);
}

static sl_err publish(sl_txn *w, const char *topic, size_t n, uint64_t now_ms)
{
    sl_event_in ev[8];
    sl_append_result res[8];
    memset(ev, 0, sizeof ev);
    for (size_t i = 0; i < n && i < 8; i++) {
        ev[i].topic = sl_slice_of(topic);
        ev[i].payload = sl_slice_of("{\"x\":1}");
    }
    return sl_log_append(w, ev, n, now_ms, res, NULL);
}

typedef struct tokens {
    char token[4][SL_TOKEN_LEN + 1];
    size_t n;
} tokens;

static sl_err on_delivery(void *ctx, const sl_delivery *d)
{
    tokens *t = ctx;
    if (t->n < 4)
        memcpy(t->token[t->n++], d->token, sizeof d->token);
    return SL_OK;
}

/* ---- tests ------------------------------------------------------------------------- */

TEST(text_writer_escapes)
{
    sl_mtext t;
    sl_mtext_init(&t);
    char *text = NULL;
    size_t len = 0;
    sl_mlabel l[2] = {{"a", sl_slice_of("q\"b\\s\nn")}, {"empty", sl_slice_of("")}};
    REQUIRE(sl_mtext_family(&t, "x_total", "counter", "help with \\ and\nnewline") == SL_OK);
    REQUIRE(sl_mtext_sample(&t, "x_total", l, 2, "3") == SL_OK);
    REQUIRE(sl_mtext_sample(&t, "x_total", NULL, 0, "4") == SL_OK);
    REQUIRE(sl_mtext_take(&t, &text, &len) == SL_OK);
    CHECK(t.data == NULL && t.len == 0);
    CHECK_EQ_U64(len, strlen(text));
    CHECK(!strcmp(text, "# HELP x_total help with \\\\ and\\nnewline\n"
                        "# TYPE x_total counter\n"
                        "x_total{a=\"q\\\"b\\\\s\\nn\",empty=\"\"} 3\n"
                        "x_total 4\n"));
    fmt_check c;
    CHECK(check_text(&c, text, len) == 0);
    free(text);
    /* an empty text is still a string */
    REQUIRE(sl_mtext_take(&t, &text, &len) == SL_OK);
    CHECK(text && len == 0 && text[0] == '\0');
    free(text);
    char v[SL_MTEXT_VALUE_MAX];
    CHECK(!strcmp(sl_mtext_fmt_fixed(v, 1234567, 6), "1.234567"));
    CHECK(!strcmp(sl_mtext_fmt_fixed(v, 5, 6), "0.000005"));
    CHECK(!strcmp(sl_mtext_fmt_fixed(v, 1500, 3), "1.500"));
    CHECK(!strcmp(sl_mtext_fmt_u64(v, UINT64_MAX), "18446744073709551615"));
}

TEST(checker_rejects_bad_text)
{
    fmt_check c;
    CHECK(check_cstr(&c, "# TYPE a gauge\na 1\n") == 0);
    CHECK(check_cstr(&c, "# TYPE a gauge\na{x=\"1\",y=\"\\\"\"} 1.5e3 1700000000\n") == 0);
    CHECK(check_cstr(&c, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
                         "h_sum 0.5\nh_count 1\n") == 0);
    CHECK(check_cstr(&c, "a 1\n") != 0);                                 /* no TYPE */
    CHECK(check_cstr(&c, "# TYPE a gauge\na 1") != 0);                   /* no newline at the end */
    CHECK(check_cstr(&c, "# TYPE a gauge\na{x=\"a\"b\"} 1\n") != 0);     /* raw quote */
    CHECK(check_cstr(&c, "# TYPE a gauge\na{x=\"a\\tb\"} 1\n") != 0);    /* bad escape */
    CHECK(check_cstr(&c, "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n") != 0); /* label twice */
    CHECK(check_cstr(&c, "# TYPE a gauge\na{1x=\"1\"} 1\n") != 0);       /* bad label name */
    CHECK(check_cstr(&c, "# TYPE a gauge\na one\n") != 0);               /* bad value */
    CHECK(check_cstr(&c, "# TYPE a gauge\na 1.\n") != 0);
    CHECK(check_cstr(&c, "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n") != 0); /* not contiguous */
    CHECK(check_cstr(&c, "# TYPE a gauge\n# TYPE a gauge\na 1\n") != 0);
    CHECK(check_cstr(&c, "# TYPE a gauges\na 1\n") != 0);
    CHECK(check_cstr(&c, "# TYPE a counter\na 1\n") != 0);               /* counter not _total */
    CHECK(check_cstr(&c, "# HELP a bad \\x escape\n# TYPE a gauge\na 1\n") != 0);
    CHECK(check_cstr(&c, "# TYPE a gauge\na_bucket 1\n") != 0);
    CHECK(check_cstr(&c, "# just a comment\n") != 0);
}

TEST(requests_counted_by_op_transport_outcome)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_metrics_observe(&f.metrics, SL_OP_PUBLISH, true, 30, false);
    sl_metrics_observe(&f.metrics, SL_OP_PUBLISH, false, 70, false);
    sl_metrics_observe(&f.metrics, SL_OP_PUBLISH, true, 100, false); /* le is inclusive */
    sl_metrics_observe(&f.metrics, SL_OP_PUBLISH, true, 3000, false);
    sl_metrics_observe(&f.metrics, SL_OP_PUBLISH, true, 20000000, false); /* past 10 s */
    sl_metrics_observe(&f.metrics, SL_OP_PULL, true, 1000, true);
    sl_metrics_observe(&f.metrics, SL_OP_COUNT, false, 10, false);
    sl_metrics_observe(&f.metrics, (sl_op)999, false, 10, false);
    sl_metrics_observe(&f.metrics, SL_OP_GROUP_CREATE, true, 10, true);
    int failed = 0;
    char *text = fx_render(&f, T0 + 1500, &failed);
    CHECK(!failed);
    REQUIRE(text);
    CHECK_LINE(text, "sluice_requests_total{op=\"publish\",transport=\"nng\",outcome=\"ok\"} 4");
    CHECK_LINE(text, "sluice_requests_total{op=\"publish\",transport=\"nng\",outcome=\"error\"} 1");
    CHECK_LINE(text, "sluice_requests_total{op=\"pull\",transport=\"http\",outcome=\"ok\"} 1");
    CHECK_LINE(text, "sluice_requests_total{op=\"pull\",transport=\"nng\",outcome=\"ok\"} 0");
    CHECK_LINE(text, "sluice_requests_total{op=\"term\",transport=\"http\",outcome=\"error\"} 0");
    CHECK_LINE(text, "sluice_requests_total{op=\"invalid\",transport=\"nng\",outcome=\"error\"} 2");
    CHECK_LINE(text, "sluice_requests_total{op=\"group.create\","
               "transport=\"http\",outcome=\"ok\"} 1");
    CHECK(!strstr(text, "op=\"group.create\",transport=\"nng\"")); /* never seen there */
    CHECK(!strstr(text, "op=\"ping\""));
    const char *h = "sluice_request_duration_seconds";
    char line[256];
    const struct {
        const char *le;
        unsigned n;
    } want[] = {{"0.00005", 1}, {"0.0001", 3}, {"0.00025", 3}, {"0.001", 3}, {"0.0025", 3},
                {"0.005", 4},   {"2.5", 4},    {"10", 4},      {"+Inf", 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "%s_bucket{op=\"publish\",transport=\"nng\",le=\"%s\"} %u", h,
                 want[i].le, want[i].n);
        CHECK_LINE(text, line);
    }
    CHECK_LINE(text, "sluice_request_duration_seconds_sum{op=\"publish\","
               "transport=\"nng\"} 20.003200");
    CHECK_LINE(text, "sluice_request_duration_seconds_count{op=\"publish\",transport=\"nng\"} 5");
    CHECK_LINE(text, "sluice_request_duration_seconds_bucket{op=\"pull\","
               "transport=\"http\",le=\"0.001\"} 1");
    CHECK_LINE(text, "sluice_request_duration_seconds_bucket{op=\"pull\","
               "transport=\"http\",le=\"0.0005\"} 0");
    /* 6 always-shown ops x 2 transports, plus invalid/nng and group.create/http */
    CHECK_EQ_U64(check_histograms(text, h), 14);
    CHECK_EQ_U64(count_prefix(text, "sluice_request_duration_seconds_bucket{op=\"ack\","
                                    "transport=\"nng\""),
                 SL_METRICS_BOUNDS + 1);
    free(text);
    fx_close(&f);
}

TEST(store_groups_webhooks_storage)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    CHECK(group_create(&w, "billing", T0) == SL_OK);
    CHECK(publish(&w, "order.created", 3, T0 + 1) == SL_OK);
    sl_webhook_config cfg;
    sl_webhook_config_default(&cfg);
    cfg.name = sl_slice_of("Bill \"quoted\" \\ hook \xc3\xa9");
    cfg.url = sl_slice_of("https://hooks.example.com/in");
    char id[SL_WEBHOOK_ID_LEN + 1], secret[SL_WEBHOOK_SECRET_LEN + 1];
    CHECK(sl_webhook_create(&w, &cfg, T0 + 2, id, secret) == SL_OK);
    CHECK(publish(&w, "order.paid", 1, T0 + 3) == SL_OK); /* the webhook's backlog */
    tokens tk = {.n = 0};
    sl_pull_result pr;
    CHECK(sl_lease_pull(&w, "billing", 2, T0 + 4, on_delivery, &tk, &pr) == SL_OK);
    REQUIRE(tk.n == 2);
    sl_slice t0 = sl_slice_of(tk.token[0]), t1 = sl_slice_of(tk.token[1]);
    sl_token_status st;
    sl_slice none = sl_slice_of(""), why = sl_slice_of("bad");
    CHECK(sl_lease_settle(&w, "billing", SL_SETTLE_ACK, &t0, 1, 0, none, T0 + 5, &st) == SL_OK);
    CHECK(sl_lease_settle(&w, "billing", SL_SETTLE_TERM, &t1, 1, 0, why, T0 + 5, &st) == SL_OK);
    REQUIRE(sl_txn_commit(&w) == SL_OK);
    atomic_store(&f.counters.publishes, 4);
    atomic_store(&f.counters.parked_pulls, 2);
    atomic_store(&f.counters.connections, 5);
    atomic_store(&f.counters.commits, 3);
    atomic_store(&f.counters.journal_us, 350);
    atomic_store(&f.counters.commit_requests, 40);
    atomic_store(&f.counters.checkpoint_us, 900);
    atomic_store(&f.counters.journal_writes, 7);

    int failed = 0;
    char *text = fx_render(&f, T0 + 1500, &failed);
    CHECK(!failed);
    REQUIRE(text);
    CHECK_LINE(text, "sluice_events_published_total 4");
    CHECK_LINE(text, "sluice_parked_pulls 2");
    CHECK_LINE(text, "sluice_connections 5");
    CHECK_LINE(text, "sluice_commits_total 3");
    CHECK_LINE(text, "sluice_commit_seconds_total 0.001250");
    CHECK_LINE(text, "sluice_commit_requests_total 40");
    CHECK_LINE(text, "sluice_journal_writes_total 7");
    CHECK_LINE(text, "sluice_checkpoint_seconds_total 0.000900");
    CHECK_LINE(text, "sluice_journal_seconds_total 0.000350");
    CHECK_LINE(text, "sluice_uptime_seconds 1.500");
    CHECK_LINE(text, "sluice_group_lag{group=\"billing\"} 2");
    CHECK_LINE(text, "sluice_group_in_flight{group=\"billing\"} 0");
    CHECK_LINE(text, "sluice_group_waiting{group=\"billing\"} 0");
    CHECK_LINE(text, "sluice_group_dlq_size{group=\"billing\"} 1");
    CHECK_LINE(text, "sluice_group_acked_total{group=\"billing\"} 1");
    CHECK_LINE(text, "sluice_group_delivered_total{group=\"billing\"} 2");
    char line[512], labels[256];
    snprintf(labels, sizeof labels,
             "{webhook=\"%s\",name=\"Bill \\\"quoted\\\" \\\\ hook \xc3\xa9\"}", id);
    const struct {
        const char *family, *value;
    } hook[] = {{"sluice_webhook_attempts_total", "0"}, {"sluice_webhook_successes_total", "0"},
                {"sluice_webhook_failures_total", "0"}, {"sluice_webhook_dead_total", "0"},
                {"sluice_webhook_backlog", "1"},        {"sluice_webhook_active", "1"},
                {"sluice_webhook_latency_p50_seconds", "0.000000"},
                {"sluice_webhook_latency_p99_seconds", "0.000000"}};
    for (size_t i = 0; i < sizeof hook / sizeof hook[0]; i++) {
        snprintf(line, sizeof line, "%s%s %s", hook[i].family, labels, hook[i].value);
        CHECK_LINE(text, line);
    }
    snprintf(line, sizeof line, "sluice_group_lag{group=\"_wh.%s\"} 1", id);
    CHECK_LINE(text, line);
    CHECK_LINE(text, "sluice_log_events 4");
    CHECK_LINE(text, "sluice_log_last_seq 4");
    CHECK_LINE(text, "sluice_storage_quota_bytes 8589934592");
    CHECK_EQ_U64(count_prefix(text, "sluice_storage_used_bytes "), 1);
    CHECK_EQ_U64(count_prefix(text, "sluice_storage_map_bytes "), 1);
    CHECK_EQ_U64(count_prefix(text, "sluice_storage_file_bytes "), 1);
    CHECK_EQ_U64(count_prefix(text, "sluice_log_bytes "), 1);
    CHECK(strstr(text, "sluice_build_info{version=\"") != NULL);
    free(text);
    fx_close(&f);
}

TEST(empty_store_renders)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    int failed = 0;
    char *text = fx_render(&f, T0, &failed); /* families with no samples are fine */
    CHECK(!failed);
    REQUIRE(text);
    CHECK(strstr(text, "# TYPE sluice_group_lag gauge\n") != NULL);
    CHECK(strstr(text, "# TYPE sluice_webhook_backlog gauge\n") != NULL);
    CHECK_LINE(text, "sluice_log_events 0");
    CHECK_LINE(text, "sluice_uptime_seconds 0.000");
    free(text);
    char *t2 = NULL;
    size_t len;
    CHECK(sl_metrics_render(&f.metrics, NULL, &f.counters, T0, &t2, &len) == SL_ERR_INVALID);
    CHECK(t2 == NULL);
    fx_close(&f);
}

TEST(group_walk_is_bounded)
{
    fixture f;
    REQUIRE(fx_open(&f) == 0);
    sl_txn w;
    REQUIRE(sl_txn_begin_write(f.store, &w) == SL_OK);
    sl_err rc = SL_OK;
    char name[32];
    for (unsigned i = 0; i < SL_METRICS_WALK_MAX + 5 && rc == SL_OK; i++) {
        snprintf(name, sizeof name, "g%05u", i);
        rc = group_create(&w, name, T0);
    }
    CHECK(rc == SL_OK);
    REQUIRE(sl_txn_commit(&w) == SL_OK);
    int failed = 0;
    char *text = fx_render(&f, T0, &failed);
    CHECK(!failed);
    REQUIRE(text);
    CHECK_EQ_U64(count_prefix(text, "sluice_group_lag{"), SL_METRICS_WALK_MAX);
    CHECK_EQ_U64(count_prefix(text, "sluice_group_delivered_total{"), SL_METRICS_WALK_MAX);
    CHECK_LINE(text, "sluice_group_lag{group=\"g09999\"} 0");
    CHECK(!strstr(text, "group=\"g10000\""));
    free(text);
    fx_close(&f);
}

/* ---- a real daemon, when it serves /metrics ---------------------------------------- */

typedef struct http_body {
    char *data;
    size_t len;
} http_body;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    http_body *b = ctx;
    char *d = realloc(b->data, b->len + size * n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, size * n);
    b->data = d;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* GET url: the HTTP status (0: no answer), body in *b (caller frees). */
static long http_get(const char *url, http_body *b)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return 0;
    long status = 0;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(easy) == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    return status;
}

/* Does `$SLUICED --help` mention the HTTP API? */
static bool daemon_has_http(void)
{
    const char *prog = getenv("SLUICED");
    if (!prog)
        return false;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --help 2>&1", prog);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return strstr(buf, "http-listen") != NULL;
}

/* The value of the unlabelled sample `name` in text; -1 when absent. */
static double sample_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* GET url until its body has line (the store's gauges read the last
 * checkpoint, which follows a write within about 100 ms when the daemon is
 * idle), at most 100 tries 20 ms apart. The last answer is in *b. */
static long scrape_until(const char *url, const char *line, http_body *b)
{
    long status = 0;
    for (int i = 0; i < 100; i++) {
        free(b->data);
        *b = (http_body){NULL, 0};
        status = http_get(url, b);
        if (status != 200 || (b->data && has_line(b->data, line)))
            break;
        usleep(20 * 1000);
    }
    return status;
}

/* Start a daemon serving nng on tcp and HTTP; tcp gets its URL (64 bytes),
 * url that of /metrics (96 bytes). 0 started, 1 skipped (this sluiced has
 * no HTTP API; said on stdout), else test_daemon_start's failure. */
static int start_with_metrics(test_daemon *d, char tcp[64], char url[96])
{
    if (!daemon_has_http()) {
        printf("  (skipped: this sluiced has no HTTP API)\n");
        return 1;
    }
    char http[64];
    snprintf(tcp, 64, "tcp://127.0.0.1:%d", test_free_port());
    snprintf(http, sizeof http, "http://127.0.0.1:%d", test_free_port());
    snprintf(url, 96, "%s/metrics", http);
    const char *extra[] = {"--http-listen", http, NULL};
    return test_daemon_start(d, tcp, extra);
}

TEST(daemon_serves_metrics)
{
    char tcp[64], url[96];
    test_daemon d;
    int started = start_with_metrics(&d, tcp, url);
    if (started == 1)
        return;
    REQUIRE(started == 0);
    sl_client *c = tc_open(tcp);
    CHECK(c);
    if (c) {
        CHECK(tc_group(c, "billing", NULL, 0, 0) == 0);
        CHECK(tc_publish(c, "order.created", "{}", NULL) != 0);
        CHECK(tc_publish(c, "order.created", "{}", NULL) != 0);
        sl_client_result res = {0};
        CHECK(sl_client_pull(c, "nope", 1, 0, &res) != SL_CLIENT_OK); /* an error */
        sl_client_result_free(&res);
    }
    /* the client's one connection (one thread, one call at a time), then none */
    http_body b = {NULL, 0};
    CHECK_EQ_U64(scrape_until(url, "sluice_connections 1", &b), 200);
    CHECK(b.data && has_line(b.data, "sluice_connections 1"));
    sl_client_close(c);
    CHECK_EQ_U64(scrape_until(url, "sluice_connections 0", &b), 200);
    CHECK(b.data && has_line(b.data, "sluice_connections 0"));
    long status = scrape_until(url, "sluice_group_lag{group=\"billing\"} 2", &b);
    CHECK_EQ_U64(status, 200);
    {
        fmt_check *fc = malloc(sizeof *fc);
        if (fc && b.data && check_text(fc, b.data, b.len) != 0) {
            fprintf(stderr, "  /metrics is not valid text format: %s\n", fc->err);
            CHECK(0);
        }
        free(fc);
        if (b.data) {
            CHECK_LINE(b.data, "sluice_requests_total{op=\"publish\","
                       "transport=\"nng\",outcome=\"ok\"} 2");
            CHECK_LINE(b.data, "sluice_requests_total{op=\"pull\","
                       "transport=\"nng\",outcome=\"error\"} 1");
            CHECK_LINE(b.data, "sluice_requests_total{op=\"group.create\","
                       "transport=\"nng\",outcome=\"ok\"} 1");
            CHECK_LINE(b.data, "sluice_request_duration_seconds_count{op=\"publish\","
                       "transport=\"nng\"} 2");
            CHECK_LINE(b.data, "sluice_events_published_total 2");
            CHECK_LINE(b.data, "sluice_group_lag{group=\"billing\"} 2");
            CHECK(check_histograms(b.data, "sluice_request_duration_seconds") >= 12);
            /* group commit: the writes so far needed at least one commit each
               batch, and the commits answered all of them */
            CHECK(sample_value(b.data, "sluice_commits_total") >= 1);
            CHECK(sample_value(b.data, "sluice_commit_requests_total") >= 4);
            CHECK(sample_value(b.data, "sluice_commit_seconds_total") > 0);
        }
    }
    free(b.data);
    CHECK(test_daemon_cleanup(&d) == 0);
}

/* One sample of a fresh GET of url; -1 when absent or the GET failed. */
static double scrape_value(const char *url, const char *name)
{
    http_body b = {NULL, 0};
    double v = http_get(url, &b) == 200 && b.data ? sample_value(b.data, name) : -1;
    free(b.data);
    return v;
}

/* A batch that changes more than a journal record holds (512 KiB) is
 * committed to LMDB, not written to the journal too, so its bytes are
 * written once; small ones still use the journal. */
TEST(large_batch_skips_the_journal)
{
    char tcp[64], url[96];
    test_daemon d;
    int started = start_with_metrics(&d, tcp, url);
    if (started == 1)
        return;
    REQUIRE(started == 0);
    sl_client *c = tc_open(tcp);
    CHECK(c);
    enum { PAYLOAD = 512 * 1024, EVENTS = 3 };
    char *big = malloc(PAYLOAD);
    if (c && big) {
        memset(big, 'x', PAYLOAD);
        CHECK(tc_publish(c, "small", "{}", NULL) == 1);
        double journal0 = scrape_value(url, "sluice_journal_writes_total");
        CHECK(journal0 >= 1);
        sl_event_in ev[EVENTS];
        memset(ev, 0, sizeof ev);
        for (int i = 0; i < EVENTS; i++) {
            ev[i].topic = sl_slice_of("big");
            ev[i].payload = (sl_slice){big, PAYLOAD};
        }
        sl_client_result res = {0};
        CHECK(sl_client_publish(c, ev, EVENTS, &res) == SL_CLIENT_OK && res.publish.n == EVENTS);
        sl_client_result_free(&res);
        CHECK(scrape_value(url, "sluice_journal_writes_total") == journal0);
        CHECK(scrape_value(url, "sluice_events_published_total") == 1 + EVENTS);
        CHECK(tc_publish(c, "small", "{}", NULL) == 2 + EVENTS);
        CHECK(scrape_value(url, "sluice_journal_writes_total") == journal0 + 1);
    }
    free(big);
    sl_client_close(c);
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("metrics", UNIT_CASE(text_writer_escapes), UNIT_CASE(checker_rejects_bad_text),
          UNIT_CASE(requests_counted_by_op_transport_outcome),
          UNIT_CASE(store_groups_webhooks_storage), UNIT_CASE(empty_store_renders),
          UNIT_CASE(group_walk_is_bounded), UNIT_CASE(daemon_serves_metrics),
          UNIT_CASE(large_batch_skips_the_journal))
