/* config.c: see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

void sl_config_defaults(sl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen[0], SL_URL_MAX, "tcp://127.0.0.1:7450");
    cfg->nlisten = 1;
    snprintf(cfg->data_dir, SL_PATH_MAX, "./data");
    cfg->max_request_bytes = 16 * MIB;
    cfg->max_pending = 4096;
    cfg->maintenance_ms = 1000;
    cfg->relaxed_sync_ms = 100;
    cfg->log_level = SL_LOG_INFO;
    sl_store_options_default(&cfg->store);
    cfg->store.path = cfg->data_dir;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A number followed by an optional unit from units (name, multiplier). */
typedef struct unit {
    const char *name;
    uint64_t mult;
} unit;

static int parse_with_unit(const char *s, const unit *units, uint64_t *out)
{
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    while (*end == ' ')
        end++;
    uint64_t mult = 1;
    if (*end) {
        const unit *u = units;
        while (u->name && strcasecmp(u->name, end) != 0)
            u++;
        if (!u->name)
            return -1;
        mult = u->mult;
    }
    if (mult && v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_duration_ms(const char *s, uint64_t *out)
{
    static const unit units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
                                 {"d", 86400000}, {NULL, 0}};
    return parse_with_unit(s, units, out);
}

static int parse_size(const char *s, uint64_t *out)
{
    static const unit units[] = {{"B", 1}, {"K", KIB}, {"KiB", KIB}, {"M", MIB}, {"MiB", MIB},
                                 {"G", GIB}, {"GiB", GIB}, {"T", 1024 * GIB},
                                 {"TiB", 1024 * GIB}, {NULL, 0}};
    return parse_with_unit(s, units, out);
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") || !strcasecmp(s, "on"))
        *out = true;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0") ||
             !strcasecmp(s, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

static int set_string(char *dst, size_t cap, const char *key, const char *value, char *err,
                      size_t errlen)
{
    if (strlen(value) >= cap)
        return fail(err, errlen, "%s: value too long", key);
    snprintf(dst, cap, "%s", value);
    return 0;
}

static int add_listen(sl_config *cfg, const char *value, char *err, size_t errlen)
{
    if (cfg->nlisten >= SL_LISTEN_MAX)
        return fail(err, errlen, "listen: at most %d URLs", SL_LISTEN_MAX);
    return set_string(cfg->listen[cfg->nlisten++], SL_URL_MAX, "listen", value, err, errlen);
}

static int add_http_listen(sl_config *cfg, const char *value, char *err, size_t errlen)
{
    if (cfg->nhttp_listen >= SL_LISTEN_MAX)
        return fail(err, errlen, "http-listen: at most %d URLs", SL_LISTEN_MAX);
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
        return fail(err, errlen, "http-listen: \"%s\" is not an http:// or https:// URL", value);
    return set_string(cfg->http_listen[cfg->nhttp_listen++], SL_URL_MAX, "http-listen", value,
                      err, errlen);
}

static int set_auth_mode(sl_config *cfg, const char *value, char *err, size_t errlen)
{
    if (!strcmp(value, "auto"))
        cfg->auth_mode = SL_AUTH_AUTO;
    else if (!strcmp(value, "on"))
        cfg->auth_mode = SL_AUTH_ON;
    else if (!strcmp(value, "off"))
        cfg->auth_mode = SL_AUTH_OFF;
    else
        return fail(err, errlen, "auth: expected auto, on or off, got \"%s\"", value);
    return 0;
}

/* insecure: a bool; the --insecure flag (main.c) takes no value. */
static int set_insecure(sl_config *cfg, const char *value, char *err, size_t errlen)
{
    if (parse_bool(value, &cfg->insecure) != 0)
        return fail(err, errlen, "insecure: expected true or false, got \"%s\"", value);
    return 0;
}

typedef enum kind { K_DURATION, K_SIZE, K_COUNT, K_BOOL } kind;

typedef struct numeric_key {
    const char *name;
    kind kind;
    size_t offset;    /* into sl_config */
    size_t width;     /* sizeof the field */
    const char *help;
    uint64_t min, max;  /* accepted range when max is not 0 */
} numeric_key;

#define F(field) offsetof(sl_config, field), sizeof(((sl_config *)0)->field)
static const numeric_key numeric_keys[] = {
    {"max-request-bytes", K_SIZE, F(max_request_bytes), "largest request accepted (16MiB)"},
    {"max-pending", K_COUNT, F(max_pending), "concurrent requests incl. long-polls (4096)"},
    {"maintenance-interval", K_DURATION, F(maintenance_ms), "retention/expiry pass period (1s)"},
    {"map-initial", K_SIZE, F(store.map_initial_bytes), "initial LMDB map size (64MiB)"},
    {"quota", K_SIZE, F(store.quota_bytes), "disk quota for the log (8GiB)"},
    {"max-readers", K_COUNT, F(store.max_readers), "concurrent read transactions (1024)"},
    {"max-payload", K_SIZE, F(store.max_payload_bytes), "largest event payload (1MiB)"},
    {"dedupe-window", K_DURATION, F(store.dedupe_window_ms), "idempotency key window (2m)"},
    {"retention-max-age", K_DURATION, F(store.retention.max_age_ms), "drop events older (7d; 0 off)"},
    {"retention-max-bytes", K_SIZE, F(store.retention.max_bytes), "keep at most this much (0 off)"},
    {"retention-max-events", K_COUNT, F(store.retention.max_events), "keep at most this many (0 off)"},
    {"retention-discard-unconsumed", K_BOOL, F(store.retention.discard_unconsumed),
     "trim even events a group still needs (false)"},
    {"relaxed-sync", K_BOOL, F(store.relaxed_sync),
     "RELAXED: fsync on a timer, may lose the last moments on power loss (false)"},
    {"relaxed-sync-interval", K_DURATION, F(relaxed_sync_ms), "relaxed mode: fsync period (100ms)"},
    {"journal", K_BOOL, F(store.journal),
     "write-ahead journal: a batch costs one small fdatasync, not an LMDB commit (true)"},
    {"journal-size", K_SIZE, F(store.journal_bytes), "journal file size, 2MiB..4GiB (16MiB)",
     2ull << 20, 4ull << 30},
};
#undef F

static int store_number(sl_config *cfg, const numeric_key *k, uint64_t v, char *err, size_t errlen)
{
    char *field = (char *)cfg + k->offset;
    if (k->width == sizeof(uint32_t)) {
        if (v > UINT32_MAX)
            return fail(err, errlen, "%s: value too large", k->name);
        uint32_t v32 = (uint32_t)v;
        memcpy(field, &v32, sizeof v32);
    } else {
        memcpy(field, &v, sizeof v);
    }
    return 0;
}

static int set_numeric(sl_config *cfg, const numeric_key *k, const char *value, char *err,
                       size_t errlen)
{
    uint64_t v = 0;
    int rc = 0;
    switch (k->kind) {
    case K_DURATION:
        rc = parse_duration_ms(value, &v);
        break;
    case K_SIZE:
        rc = parse_size(value, &v);
        break;
    case K_COUNT:
        rc = parse_with_unit(value, (const unit[]){{NULL, 0}}, &v);
        break;
    case K_BOOL: {
        bool b;
        if (parse_bool(value, &b) != 0)
            return fail(err, errlen, "%s: expected true or false, got \"%s\"", k->name, value);
        memcpy((char *)cfg + k->offset, &b, sizeof b);
        return 0;
    }
    }
    if (rc != 0)
        return fail(err, errlen, "%s: cannot parse \"%s\"", k->name, value);
    if (k->max && (v < k->min || v > k->max))
        return fail(err, errlen, "%s: \"%s\" is out of range (%s)", k->name, value, k->help);
    return store_number(cfg, k, v, err, errlen);
}

int sl_config_set(sl_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp(key, "listen"))
        return add_listen(cfg, value, err, errlen);
    if (!strcmp(key, "http-listen"))
        return add_http_listen(cfg, value, err, errlen);
    if (!strcmp(key, "data"))
        return set_string(cfg->data_dir, SL_PATH_MAX, key, value, err, errlen);
    if (!strcmp(key, "tls-cert"))
        return set_string(cfg->tls_cert, SL_PATH_MAX, key, value, err, errlen);
    if (!strcmp(key, "tls-key"))
        return set_string(cfg->tls_key, SL_PATH_MAX, key, value, err, errlen);
    if (!strcmp(key, "auth"))
        return set_auth_mode(cfg, value, err, errlen);
    if (!strcmp(key, "insecure"))
        return set_insecure(cfg, value, err, errlen);
    if (!strcmp(key, "log-level")) {
        if (sl_log_level_parse(value, &cfg->log_level) != 0)
            return fail(err, errlen, "log-level: expected error, warn, info or debug");
        return 0;
    }
    for (size_t i = 0; i < sizeof numeric_keys / sizeof numeric_keys[0]; i++)
        if (!strcmp(key, numeric_keys[i].name))
            return set_numeric(cfg, &numeric_keys[i], value, err, errlen);
    return fail(err, errlen, "unknown setting \"%s\"", key);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int apply_line(sl_config *cfg, char *line, char *err, size_t errlen)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    char *s = trim(line);
    if (!*s)
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(err, errlen, "expected key = value");
    *eq = 0;
    return sl_config_set(cfg, trim(s), trim(eq + 1), err, errlen);
}

int sl_config_load_file(sl_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    char line[SL_PATH_MAX + 128];
    char inner[256];
    int lineno = 0, rc = 0;
    bool replaced_default_listen = false;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (!replaced_default_listen && strncmp(trim(line), "listen", 6) == 0) {
            cfg->nlisten = 0; /* the file's listen list replaces the default */
            replaced_default_listen = true;
        }
        rc = apply_line(cfg, line, inner, sizeof inner);
        if (rc != 0)
            fail(err, errlen, "%s:%d: %s", path, lineno, inner);
    }
    fclose(f);
    return rc;
}

void sl_config_usage(void *stream)
{
    FILE *f = stream;
    fprintf(f, "  --listen URL            serve this nng URL (repeatable; tcp://127.0.0.1:7450)\n"
               "  --http-listen URL       serve the HTTP/JSON API on http://HOST:PORT or\n"
               "                          https://HOST:PORT (repeatable; none by default)\n"
               "  --data DIR              LMDB data directory (./data)\n"
               "  --tls-cert FILE         certificate for tls+tcp://, wss:// and https://\n"
               "  --tls-key FILE          private key for tls+tcp://, wss:// and https://\n"
               "  --log-level LEVEL       error, warn, info or debug (info)\n"
               "  --auth MODE             auto, on or off (auto: API keys are required when\n"
               "                          a listener is not loopback-only; ipc:// is trusted)\n"
               "  --insecure              with auth = off, serve beyond loopback anyway\n");
    for (size_t i = 0; i < sizeof numeric_keys / sizeof numeric_keys[0]; i++)
    {
        /* a name too long for the column gets the help on the next line */
        if (strlen(numeric_keys[i].name) > 21)
            fprintf(f, "  --%s\n  %-24s%s\n", numeric_keys[i].name, "", numeric_keys[i].help);
        else
            fprintf(f, "  --%-22s%s\n", numeric_keys[i].name, numeric_keys[i].help);
    }
}
