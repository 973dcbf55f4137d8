/* webhooks.c: `sluice webhooks ...`: webhook subscriptions (endpoints the
 * bridge POSTs events to) through proto/client_webhook.h.
 *
 * Parsing fills one wh_plan (its strings and slices borrow argv); execute
 * makes the call(s) and prints the result as text or JSON. dead-letters and
 * replay read the subscription first and then work on its group with the
 * dlq operations.
 */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "core/dlq.h"
#include "proto/client_webhook.h"

#define PAGE_MAX 1000                      /* --limit of list, deliveries, dead-letters */
#define OVERLAP_MAX_MS 2592000000ull       /* PROTOCOL.md: overlap_ms up to 30 days */

typedef enum wh_what {
    WH_CREATE, WH_LIST, WH_GET, WH_UPDATE, WH_DELETE, WH_ENABLE, WH_DISABLE, WH_RESET,
    WH_ROTATE, WH_TEST, WH_STATS, WH_DELIVERIES, WH_RETRY, WH_DEAD_LETTERS, WH_REPLAY,
    WH_EVENT_TYPES
} wh_what;

static const cli_opt config_opts[] = {
    {"--name", true},          {"--url", true},     {"--description", true},
    {"--filter", true},        {"--retry", true},   {"--timeout", true},
    {"--max-in-flight", true}, {"--rate", true},    {"--disable-after", true},
    {"--header", true},        {"--inactive", false}, {"--active", false},
    {NULL, false},
};
static const cli_opt page_opts[] = {{"--after", true}, {"--limit", true}, {NULL, false}};
static const cli_opt rotate_opts[] = {{"--overlap", true}, {NULL, false}};
static const cli_opt deliveries_opts[] = {
    {"--status", true}, {"--http-status", true}, {"--since", true}, {"--until", true},
    {"--event", true},  {"--before", true},      {"--limit", true}, {NULL, false},
};
static const cli_opt replay_opts[] = {{"--all", false}, {NULL, false}};

/* A subcommand: its name, what it does, its words and options. */
typedef struct wh_sub {
    const char *name;
    wh_what what;
    int npos;             /* positional words: 0, 1 (ID) or 2 (ID EVENT_ID); -1: ID SEQ... */
    const cli_opt *opts;  /* NULL: none */
} wh_sub;

static const wh_sub subs[] = {
    {"create", WH_CREATE, 0, config_opts},
    {"list", WH_LIST, 0, page_opts},
    {"get", WH_GET, 1, NULL},
    {"update", WH_UPDATE, 1, config_opts},
    {"delete", WH_DELETE, 1, NULL},
    {"enable", WH_ENABLE, 1, NULL},
    {"disable", WH_DISABLE, 1, NULL},
    {"reset", WH_RESET, 1, NULL},
    {"rotate-secret", WH_ROTATE, 1, rotate_opts},
    {"test", WH_TEST, 1, NULL},
    {"stats", WH_STATS, 1, NULL},
    {"deliveries", WH_DELIVERIES, 1, deliveries_opts},
    {"retry", WH_RETRY, 2, NULL},
    {"dead-letters", WH_DEAD_LETTERS, 1, page_opts},
    {"replay", WH_REPLAY, -1, replay_opts},
    {"event-types", WH_EVENT_TYPES, 0, NULL},
};

#define NSUBS (sizeof subs / sizeof subs[0])

/* A parsed webhooks command line. Strings borrow argv. */
typedef struct wh_plan {
    const wh_sub *sub;                  /* the subcommand */
    const char *id;                     /* ID */
    const char *event_id;               /* retry: EVENT_ID */
    sl_webhook_config cfg;              /* create/update: the options given */
    unsigned mask;                      /* create/update: SL_WEBHOOK_GIVEN_* of those */
    const char *after;                  /* list: --after ID */
    uint64_t after_seq;                 /* dead-letters: --after SEQ */
    uint32_t limit;                     /* list, deliveries, dead-letters; 0: default */
    uint64_t overlap_ms;                /* rotate-secret; SL_DELAY_DEFAULT: the server's */
    sl_client_deliveries_filter filter; /* deliveries */
    uint64_t before;                    /* deliveries: --before */
    uint64_t *seqs;                     /* replay: SEQ... (heap, argc entries) */
    size_t nseqs;
    bool all;                           /* replay: --all */
} wh_plan;

/* ---- parsing: the configuration options ---------------------------------------------- */

/* "30s,5m,30m,2h" (at most SL_WEBHOOK_RETRY_MAX); "" or "none": no retries. */
static bool parse_retry(const char *s, sl_webhook_config *cfg)
{
    cfg->nretry = 0;
    if (*s == '\0' || strcmp(s, "none") == 0)
        return true;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        char one[32];
        if (cfg->nretry == SL_WEBHOOK_RETRY_MAX || n == 0 || n >= sizeof one)
            return false;
        memcpy(one, s, n);
        one[n] = '\0';
        if (!cli_parse_duration_ms(one, UINT64_MAX, &cfg->retry_ms[cfg->nretry++]))
            return false;
        if (!comma)
            return true;
        s = comma + 1;
    }
}

/* "Name: value" (spaces around the value trimmed) into a header of cfg. */
static int add_header(cli *c, const char *s, sl_webhook_config *cfg)
{
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (!colon || n == 0)
        return cli_usage_error(c, "--header wants \"Name: value\", not \"%s\"", s);
    if (cfg->nheaders == SL_WEBHOOK_HEADERS_MAX)
        return cli_usage_error(c, "at most %d headers", SL_WEBHOOK_HEADERS_MAX);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vn = strlen(v);
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    sl_header *h = &cfg->headers[cfg->nheaders++];
    h->key = (sl_slice){s, n};
    h->value = (sl_slice){v, vn};
    return CLI_EXIT_OK;
}

static int add_filter(cli *c, const char *f, sl_webhook_config *cfg)
{
    if (cfg->nfilters == SL_WEBHOOK_FILTERS_MAX)
        return cli_usage_error(c, "at most %d filters", SL_WEBHOOK_FILTERS_MAX);
    cfg->filters[cfg->nfilters++] = sl_slice_of(f);
    return CLI_EXIT_OK;
}

/* A number option of the configuration into *out. */
static int config_number(cli *c, const char *name, const char *v, uint32_t *out)
{
    if (!cli_parse_u32(v, 0, UINT32_MAX, out))
        return cli_usage_error(c, "%s wants a number, not \"%s\"", name, v);
    return CLI_EXIT_OK;
}

/* The string options; false when name is none of them. */
static bool config_string(const char *name, const char *v, sl_webhook_config *cfg,
                          unsigned *mask)
{
    if (strcmp(name, "--name") == 0) {
        cfg->name = sl_slice_of(v);
        *mask |= SL_WEBHOOK_GIVEN_NAME;
    } else if (strcmp(name, "--url") == 0) {
        cfg->url = sl_slice_of(v);
        *mask |= SL_WEBHOOK_GIVEN_URL;
    } else if (strcmp(name, "--description") == 0) {
        cfg->description = sl_slice_of(v);
        *mask |= SL_WEBHOOK_GIVEN_DESCRIPTION;
    } else if (strcmp(name, "--inactive") == 0 || strcmp(name, "--active") == 0) {
        cfg->active = name[2] == 'a';
        *mask |= SL_WEBHOOK_GIVEN_ACTIVE;
    } else {
        return false;
    }
    return true;
}

/* Apply one configuration option to p->cfg and note it in p->mask. */
static int config_option(cli *c, const char *name, const char *v, wh_plan *p)
{
    sl_webhook_config *cfg = &p->cfg;
    if (config_string(name, v, cfg, &p->mask))
        return CLI_EXIT_OK;
    if (strcmp(name, "--filter") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_FILTERS;
        return add_filter(c, v, cfg);
    }
    if (strcmp(name, "--header") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_HEADERS;
        return add_header(c, v, cfg);
    }
    if (strcmp(name, "--retry") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_RETRY;
        if (!parse_retry(v, cfg))
            return cli_usage_error(c, "--retry wants up to %d comma-separated durations "
                                      "(e.g. 30s,5m,30m,2h), or \"none\"", SL_WEBHOOK_RETRY_MAX);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--timeout") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_TIMEOUT;
        if (!cli_parse_duration_ms(v, UINT64_MAX, &cfg->timeout_ms))
            return cli_usage_error(c, "--timeout wants a duration (e.g. 10s), not \"%s\"", v);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--max-in-flight") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_MAX_IN_FLIGHT;
        return config_number(c, name, v, &cfg->max_in_flight);
    }
    if (strcmp(name, "--rate") == 0) {
        p->mask |= SL_WEBHOOK_GIVEN_RATE_LIMIT;
        return config_number(c, name, v, &cfg->rate_limit);
    }
    p->mask |= SL_WEBHOOK_GIVEN_DISABLE_AFTER;
    return config_number(c, name, v, &cfg->disable_after);
}

/* ---- parsing: the other options and the words ------------------------------------------ */

static int limit_option(cli *c, const char *v, uint32_t *out)
{
    if (!cli_parse_u32(v, 1, PAGE_MAX, out))
        return cli_usage_error(c, "--limit wants 1..%d", PAGE_MAX);
    return CLI_EXIT_OK;
}

static int deliveries_option(cli *c, const char *name, const char *v, wh_plan *p)
{
    sl_client_deliveries_filter *f = &p->filter;
    if (strcmp(name, "--status") == 0) {
        if (strcmp(v, "succeeded") == 0)
            f->status = SL_DELIVERY_SUCCEEDED;
        else if (strcmp(v, "failed") == 0)
            f->status = SL_DELIVERY_FAILED;
        else
            return cli_usage_error(c, "--status wants succeeded or failed");
    } else if (strcmp(name, "--http-status") == 0) {
        if (!cli_parse_u32(v, 1, 999, &f->http_status))
            return cli_usage_error(c, "--http-status wants an HTTP status (e.g. 500)");
    } else if (strcmp(name, "--since") == 0 || strcmp(name, "--until") == 0) {
        uint64_t *t = name[2] == 's' ? &f->since_ms : &f->until_ms;
        if (!cli_parse_time_ms(v, t))
            return cli_usage_error(c, "%s wants Unix ms or a time such as "
                                      "2025-11-23T08:00:00Z", name);
    } else if (strcmp(name, "--event") == 0) {
        f->event_id = v;
    } else if (strcmp(name, "--before") == 0) {
        if (!cli_parse_u64(v, 1, UINT64_MAX, &p->before))
            return cli_usage_error(c, "--before wants the printed next entry (a number)");
    } else {
        return limit_option(c, v, &p->limit);
    }
    return CLI_EXIT_OK;
}

static int take_option(cli *c, const char *name, const char *v, wh_plan *p)
{
    switch (p->sub->what) {
    case WH_CREATE:
    case WH_UPDATE: return config_option(c, name, v, p);
    case WH_DELIVERIES: return deliveries_option(c, name, v, p);
    case WH_REPLAY: p->all = true; return CLI_EXIT_OK;
    case WH_ROTATE:
        if (!cli_parse_duration_ms(v, OVERLAP_MAX_MS, &p->overlap_ms))
            return cli_usage_error(c, "--overlap wants a duration up to 30d (e.g. 24h)");
        return CLI_EXIT_OK;
    default: break;
    }
    if (strcmp(name, "--limit") == 0)
        return limit_option(c, v, &p->limit);
    if (p->sub->what == WH_LIST)
        p->after = v;
    else if (!cli_parse_u64(v, 0, UINT64_MAX, &p->after_seq))
        return cli_usage_error(c, "--after wants a sequence number");
    return CLI_EXIT_OK;
}

/* The n-th positional word (0-based). */
static int take_positional(cli *c, const char *word, size_t n, wh_plan *p)
{
    int npos = p->sub->npos;
    if (n == 0 && npos != 0) {
        p->id = word;
    } else if (n == 1 && npos == 2) {
        p->event_id = word;
    } else if (npos == -1) {
        if (!cli_parse_u64(word, 0, UINT64_MAX, &p->seqs[p->nseqs]))
            return cli_usage_error(c, "\"%s\" is not a sequence number", word);
        p->nseqs++;
    } else {
        return cli_usage_error(c, "unexpected argument \"%s\"", word);
    }
    return CLI_EXIT_OK;
}

/* The words are complete and coherent. */
static int check_plan(cli *c, const wh_plan *p, size_t npos)
{
    const wh_sub *s = p->sub;
    if ((s->npos > 0 || s->npos == -1) && !p->id)
        return cli_usage_error(c, "webhooks %s needs a webhook ID", s->name);
    if (s->npos == 2 && npos < 2)
        return cli_usage_error(c, "webhooks retry needs ID EVENT_ID");
    if (s->what == WH_CREATE && (!(p->mask & SL_WEBHOOK_GIVEN_NAME) ||
                                 !(p->mask & SL_WEBHOOK_GIVEN_URL)))
        return cli_usage_error(c, "webhooks create needs --name and --url");
    if (s->what == WH_UPDATE && p->mask == 0)
        return cli_usage_error(c, "webhooks update needs at least one option to change");
    if (s->what == WH_REPLAY && (p->nseqs > 0) == p->all)
        return cli_usage_error(c, "give sequence numbers or --all (not both)");
    return CLI_EXIT_OK;
}

static int parse_plan(cli *c, const char *name, int argc, char **argv, wh_plan *p)
{
    for (size_t i = 0; i < NSUBS && !p->sub; i++)
        if (strcmp(name, subs[i].name) == 0)
            p->sub = &subs[i];
    if (!p->sub)
        return cli_usage_error(c, "unknown subcommand \"webhooks %s\"", name);
    p->cfg.active = true; /* p->cfg holds only what the options give (p->mask) */
    p->overlap_ms = SL_DELAY_DEFAULT;
    if (!(p->seqs = calloc((size_t)argc + 1, sizeof *p->seqs))) {
        fprintf(c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    cli_args a;
    size_t npos = 0;
    cli_args_init(&a, c, argc, argv, p->sub->opts);
    for (;;) {
        int status = CLI_EXIT_OK;
        switch (cli_args_next(&a)) {
        case CLI_ARG_END: return check_plan(c, p, npos);
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL: status = take_positional(c, a.value, npos++, p); break;
        case CLI_ARG_OPTION: status = take_option(c, a.name, a.value, p); break;
        }
        if (status != CLI_EXIT_OK)
            return status;
    }
}

/* ---- output: small values ----------------------------------------------------------------- */

/* ms as the largest whole unit: "2h", "5m", "30s", "1500ms". */
static void print_duration(FILE *f, uint64_t ms)
{
    if (ms != 0 && ms % 3600000 == 0)
        fprintf(f, "%" PRIu64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        fprintf(f, "%" PRIu64 "m", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        fprintf(f, "%" PRIu64 "s", ms / 1000);
    else
        fprintf(f, "%" PRIu64 "ms", ms);
}

/* "2025-11-23T08:00:00.000Z", or "never" for 0. */
static void print_time(FILE *f, uint64_t ms)
{
    char when[32];
    if (ms == 0) {
        fputs("never", f);
        return;
    }
    cli_format_time(ms, when);
    fputs(when, f);
}

static void print_list(FILE *f, const sl_slice *s, size_t n, const char *none)
{
    if (n == 0)
        fputs(none, f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_text_bytes(f, s[i]);
    }
}

/* A key: value line whose value is bytes. */
static void line_bytes(FILE *f, const char *key, sl_slice v)
{
    fprintf(f, "%-16s ", key);
    cli_text_bytes(f, v);
    fputc('\n', f);
}

/* ---- output: a webhook ------------------------------------------------------------------- */

static void webhook_state_text(FILE *f, const sl_client_webhook *w)
{
    fprintf(f, "%-16s %s", "active:", w->active ? "yes" : "no");
    if (!w->active) {
        fputs(" (", f);
        cli_text_bytes(f, w->disabled_reason);
        fputs(" since ", f);
        print_time(f, w->disabled_ms);
        fputc(')', f);
    }
    fprintf(f, "\n%-16s ", "retry schedule:");
    for (size_t i = 0; i < w->nretry; i++) {
        fputs(i ? ", " : "", f);
        print_duration(f, w->retry_schedule_ms[i]);
    }
    fprintf(f, "%s\n%-16s ", w->nretry ? "" : "none (one attempt)", "timeout:");
    print_duration(f, w->timeout_ms);
    fprintf(f, "\n%-16s %" PRIu64 "\n", "max in flight:", w->max_in_flight);
    if (w->rate_limit)
        fprintf(f, "%-16s %" PRIu64 "/s\n", "rate limit:", w->rate_limit);
    else
        fprintf(f, "%-16s none\n", "rate limit:");
    if (w->disable_after)
        fprintf(f, "%-16s %" PRIu64 " dead events in a row\n", "disable after:",
                w->disable_after);
    else
        fprintf(f, "%-16s never\n", "disable after:");
    fprintf(f, "%-16s %" PRIu64 "\n", "failures:", w->consecutive_failures);
}

static void webhook_secrets_text(FILE *f, const sl_client_webhook *w)
{
    fprintf(f, "%-16s %zu live", "secrets:", w->nsecrets);
    for (size_t i = 0; w->secret_expires_ms && i < w->nsecrets; i++) {
        if (w->secret_expires_ms[i] == 0)
            continue; /* the current one */
        fputs(", one signing until ", f);
        print_time(f, w->secret_expires_ms[i]);
    }
    fputc('\n', f);
}

static void webhook_text(FILE *f, const sl_client_webhook *w)
{
    line_bytes(f, "id:", w->id);
    line_bytes(f, "name:", w->name);
    if (w->description.len > 0)
        line_bytes(f, "description:", w->description);
    line_bytes(f, "url:", w->url);
    fprintf(f, "%-16s ", "filters:");
    print_list(f, w->filters, w->nfilters, "(none)");
    fputc('\n', f);
    webhook_state_text(f, w);
    for (size_t i = 0; i < w->nheaders; i++) {
        fprintf(f, "%-16s ", "header:");
        cli_text_bytes(f, w->headers[i].key);
        fputs(": ", f);
        cli_text_bytes(f, w->headers[i].value);
        fputc('\n', f);
    }
    line_bytes(f, "group:", w->group);
    webhook_secrets_text(f, w);
    fprintf(f, "%-16s ", "created:");
    print_time(f, w->created_ms);
    fprintf(f, "\n%-16s ", "updated:");
    print_time(f, w->updated_ms);
    fputc('\n', f);
}

static void webhook_json(json_writer *w, const sl_client_webhook *h)
{
    jw_begin_object(w);
    jw_key_str(w, "id", h->id);
    jw_key_str(w, "name", h->name);
    jw_key_str(w, "description", h->description);
    jw_key_str(w, "url", h->url);
    jw_key(w, "filters");
    jw_begin_array(w);
    for (size_t i = 0; i < h->nfilters; i++)
        jw_string(w, h->filters[i]);
    jw_end_array(w);
    jw_key_bool(w, "active", h->active);
    jw_key_str(w, "disabled_reason", h->disabled_reason);
    jw_key_uint(w, "disabled_ms", h->disabled_ms);
    jw_key(w, "retry_schedule_ms");
    jw_begin_array(w);
    for (size_t i = 0; i < h->nretry; i++)
        jw_uint(w, h->retry_schedule_ms[i]);
    jw_end_array(w);
    jw_key_uint(w, "timeout_ms", h->timeout_ms);
    jw_key_uint(w, "max_in_flight", h->max_in_flight);
    jw_key_uint(w, "rate_limit", h->rate_limit);
    jw_key_uint(w, "disable_after", h->disable_after);
    jw_key(w, "headers");
    jw_begin_object(w);
    for (size_t i = 0; i < h->nheaders; i++) {
        jw_key_slice(w, h->headers[i].key);
        jw_string(w, h->headers[i].value);
    }
    jw_end_object(w);
    jw_key_str(w, "group", h->group);
    jw_key_uint(w, "consecutive_failures", h->consecutive_failures);
    jw_key(w, "secrets");
    jw_begin_array(w);
    for (size_t i = 0; h->secret_expires_ms && i < h->nsecrets; i++) {
        jw_begin_object(w);
        jw_key_uint(w, "expires_ms", h->secret_expires_ms[i]);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_key_uint(w, "created_ms", h->created_ms);
    jw_key_uint(w, "updated_ms", h->updated_ms);
    jw_end_object(w);
}

/* create, update, get, enable, disable, reset, rotate-secret. */
static void print_webhook(cli *c, const sl_client_result *res)
{
    sl_slice secret = res->webhook.secret;
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "webhook");
        webhook_json(&w, &res->webhook.webhook);
        if (secret.len > 0)
            jw_key_str(&w, "secret", secret);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    webhook_text(c->out, &res->webhook.webhook);
    if (secret.len > 0) {
        fputc('\n', c->out);
        line_bytes(c->out, "secret:", secret);
        fputs("(this signing secret will not be shown again: store it now)\n", c->out);
    }
}

static void print_webhooks(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "webhooks");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->webhooks.n; i++)
            webhook_json(&w, &res->webhooks.webhooks[i]);
        jw_end_array(&w);
        jw_key_str(&w, "next_after", res->webhooks.next_after);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->webhooks.n == 0)
        fputs("(no webhooks)\n", c->out);
    else
        fprintf(c->out, "%-19s  %-8s %8s  %-24s %s\n", "ID", "ACTIVE", "FAILURES", "NAME", "URL");
    for (size_t i = 0; i < res->webhooks.n; i++) {
        const sl_client_webhook *h = &res->webhooks.webhooks[i];
        int pad = h->name.len < 24 ? (int)(24 - h->name.len) : 0;
        cli_text_bytes(c->out, h->id);
        fprintf(c->out, "  %-8s %8" PRIu64 "  ", h->active ? "yes" : "no",
                h->consecutive_failures);
        cli_text_bytes(c->out, h->name);
        fprintf(c->out, "%*s ", pad, "");
        cli_text_bytes(c->out, h->url);
        fputc('\n', c->out);
    }
    if (res->webhooks.next_after.len > 0) {
        fputs("(more: --after ", c->out);
        cli_text_bytes(c->out, res->webhooks.next_after);
        fputs(")\n", c->out);
    }
}

/* ---- output: stats, deliveries and the rest ------------------------------------------------ */

static void stats_json(json_writer *w, const sl_client_webhook_stats *s)
{
    jw_begin_object(w);
    jw_key_uint(w, "attempts", s->attempts);
    jw_key_uint(w, "successes", s->successes);
    jw_key_uint(w, "failures", s->failures);
    jw_key_uint(w, "dead", s->dead);
    jw_key_uint(w, "last_status", s->last_status);
    jw_key_str(w, "last_error", s->last_error);
    jw_key_uint(w, "last_attempt_ms", s->last_attempt_ms);
    jw_key_uint(w, "last_success_ms", s->last_success_ms);
    jw_key_uint(w, "latency_p50_us", s->latency_p50_us);
    jw_key_uint(w, "latency_p99_us", s->latency_p99_us);
    jw_key_uint(w, "backlog", s->backlog);
    jw_key_uint(w, "in_flight", s->in_flight);
    jw_key_uint(w, "waiting", s->waiting);
    jw_key_uint(w, "dlq_size", s->dlq_size);
    jw_end_object(w);
}

static void print_stats(cli *c, const sl_client_webhook_stats *s)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "stats");
        stats_json(&w, s);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    FILE *f = c->out;
    fprintf(f, "%-16s %" PRIu64 " (%" PRIu64 " succeeded, %" PRIu64 " failed)\n", "attempts:",
            s->attempts, s->successes, s->failures);
    fprintf(f, "%-16s %" PRIu64 "\n", "dead events:", s->dead);
    fprintf(f, "%-16s %" PRIu64 " (in flight %" PRIu64 ", waiting %" PRIu64 ")\n", "backlog:",
            s->backlog, s->in_flight, s->waiting);
    fprintf(f, "%-16s %" PRIu64 "\n", "dead letters:", s->dlq_size);
    fprintf(f, "%-16s p50 %" PRIu64 " us, p99 %" PRIu64 " us\n", "latency:", s->latency_p50_us,
            s->latency_p99_us);
    fprintf(f, "%-16s ", "last attempt:");
    print_time(f, s->last_attempt_ms);
    if (s->last_attempt_ms)
        fprintf(f, " (HTTP %" PRIu64 "%s", s->last_status, s->last_error.len ? ", " : ")");
    if (s->last_attempt_ms && s->last_error.len) {
        cli_text_bytes(f, s->last_error);
        fputc(')', f);
    }
    fprintf(f, "\n%-16s ", "last success:");
    print_time(f, s->last_success_ms);
    fputc('\n', f);
}

static const char *result_name(sl_attempt_result r)
{
    switch (r) {
    case SL_ATTEMPT_DELIVERED: return "delivered";
    case SL_ATTEMPT_RETRY: return "retry";
    case SL_ATTEMPT_DEAD: return "dead";
    case SL_ATTEMPT_DISABLED: return "disabled";
    case SL_ATTEMPT_STALE: return "stale";
    }
    return "unknown";
}

static void attempt_json(json_writer *w, const sl_client_webhook_attempt_entry *e)
{
    jw_begin_object(w);
    jw_key_uint(w, "entry", e->entry);
    jw_key_uint(w, "seq", e->seq);
    jw_key_str(w, "event_id", e->event_id);
    jw_key_str(w, "topic", e->topic);
    jw_key_uint(w, "attempt", e->attempt);
    jw_key_uint(w, "time_ms", e->time_ms);
    jw_key_uint(w, "http_status", e->http_status);
    jw_key_str(w, "error", e->error);
    jw_key_uint(w, "latency_us", e->latency_us);
    if (utf8_is_valid(e->body)) {
        jw_key_str(w, "body", e->body);
    } else {
        jw_key(w, "body_base64");
        jw_base64(w, e->body);
    }
    jw_key_cstr(w, "result", result_name(e->result));
    jw_end_object(w);
}

static void attempt_row(FILE *f, const sl_client_webhook_attempt_entry *e)
{
    char when[32];
    cli_format_time(e->time_ms, when);
    fprintf(f, "%-8" PRIu64 " %-24s ", e->entry, when);
    cli_text_bytes(f, e->event_id);
    fprintf(f, " %7" PRIu32 " %6" PRIu32 " %-9s %10" PRIu64, e->attempt, e->http_status,
            result_name(e->result), e->latency_us);
    if (e->error.len) {
        fputs("  ", f);
        cli_text_bytes(f, e->error);
    }
    fputc('\n', f);
}

static void print_deliveries(cli *c, const sl_client_result *res)
{
    size_t n = res->webhook_deliveries.n;
    const sl_client_webhook_attempt_entry *es = res->webhook_deliveries.entries;
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "deliveries");
        jw_begin_array(&w);
        for (size_t i = 0; i < n; i++)
            attempt_json(&w, &es[i]);
        jw_end_array(&w);
        jw_key_uint(&w, "next_before", res->webhook_deliveries.next_before);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (n == 0)
        fputs("(no delivery attempts)\n", c->out);
    else
        fprintf(c->out, "%-8s %-24s %-36s %7s %6s %-9s %10s  %s\n", "ENTRY", "TIME", "EVENT",
                "ATTEMPT", "HTTP", "RESULT", "LATENCY_US", "ERROR");
    for (size_t i = 0; i < n; i++)
        attempt_row(c->out, &es[i]);
    if (res->webhook_deliveries.next_before != 0)
        fprintf(c->out, "(more: --before %" PRIu64 ")\n", res->webhook_deliveries.next_before);
}

static void print_event_types(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "types");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->event_types.n; i++)
            jw_string(&w, res->event_types.types[i]);
        jw_end_array(&w);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->event_types.n == 0)
        fputs("(no event types in the retained log)\n", c->out);
    for (size_t i = 0; i < res->event_types.n; i++) {
        cli_text_bytes(c->out, res->event_types.types[i]);
        fputc('\n', c->out);
    }
}

/* delete, test, retry: one short line, or a small JSON object. */
static void print_done(cli *c, const wh_plan *p, const sl_client_result *res)
{
    json_writer w;
    jw_init(&w, c->out);
    if (c->json)
        jw_begin_object(&w);
    if (p->sub->what == WH_DELETE && c->json) {
        jw_key_cstr(&w, "deleted", p->id);
    } else if (p->sub->what == WH_DELETE) {
        fprintf(c->out, "deleted webhook %s\n", p->id);
    } else if (p->sub->what == WH_TEST && c->json) {
        jw_key_uint(&w, "seq", res->webhook_test.seq);
        jw_key_str(&w, "id", res->webhook_test.event_id);
    } else if (p->sub->what == WH_TEST) {
        fprintf(c->out, "test event seq %" PRIu64 "  id ", res->webhook_test.seq);
        cli_text_bytes(c->out, res->webhook_test.event_id);
        fputc('\n', c->out);
    } else if (c->json) {
        jw_key_cstr(&w, "retried", p->event_id);
    } else {
        fprintf(c->out, "event %s will be delivered again now\n", p->event_id);
    }
    if (c->json) {
        jw_end_object(&w);
        jw_finish(&w);
    }
}



/* ---- calls ------------------------------------------------------------------------------ */

/* dead-letters and replay: read the webhook for its group, then the dlq op. */
static sl_client_status via_group(sl_client *client, const wh_plan *p, sl_client_result *res)
{
    sl_client_status st = sl_client_webhook_get(client, p->id, res);
    if (st != SL_CLIENT_OK)
        return st;
    char group[SL_GROUP_NAME_MAX + 1];
    sl_slice g = res->webhook.webhook.group;
    snprintf(group, sizeof group, "%.*s", (int)(g.len < sizeof group ? g.len : 0), g.ptr);
    sl_client_result_free(res);
    if (p->sub->what == WH_DEAD_LETTERS)
        return sl_client_dlq_list(client, group, p->after_seq, p->limit, res);
    return sl_client_dlq_replay(client, group, p->seqs, p->nseqs, p->all, res);
}

static sl_client_status call_plan(sl_client *client, const wh_plan *p, sl_client_result *res)
{
    switch (p->sub->what) {
    case WH_CREATE: return sl_client_webhook_create(client, &p->cfg, p->mask, res);
    case WH_UPDATE: return sl_client_webhook_update(client, p->id, &p->cfg, p->mask, res);
    case WH_LIST: return sl_client_webhook_list(client, p->after, p->limit, res);
    case WH_GET: return sl_client_webhook_get(client, p->id, res);
    case WH_DELETE: return sl_client_webhook_delete(client, p->id, res);
    case WH_ENABLE: return sl_client_webhook_enable(client, p->id, res);
    case WH_DISABLE: return sl_client_webhook_disable(client, p->id, res);
    case WH_RESET: return sl_client_webhook_reset(client, p->id, res);
    case WH_ROTATE: return sl_client_webhook_rotate_secret(client, p->id, p->overlap_ms, res);
    case WH_TEST: return sl_client_webhook_test(client, p->id, res);
    case WH_STATS: return sl_client_webhook_stats_get(client, p->id, res);
    case WH_DELIVERIES:
        return sl_client_webhook_deliveries(client, p->id, &p->filter, p->before, p->limit, res);
    case WH_RETRY: return sl_client_webhook_retry(client, p->id, p->event_id, res);
    case WH_EVENT_TYPES: return sl_client_webhook_event_types(client, res);
    case WH_DEAD_LETTERS:
    case WH_REPLAY: break;
    }
    return via_group(client, p, res);
}

static void print_result(cli *c, const wh_plan *p, const sl_client_result *res)
{
    switch (p->sub->what) {
    case WH_LIST: print_webhooks(c, res); break;
    case WH_STATS: print_stats(c, &res->webhook_stats); break;
    case WH_DELIVERIES: print_deliveries(c, res); break;
    case WH_EVENT_TYPES: print_event_types(c, res); break;
    case WH_DEAD_LETTERS: out_dead_letter_list(c, res); break;
    case WH_REPLAY: out_dlq_change(c, "replayed", res); break;
    case WH_DELETE:
    case WH_TEST:
    case WH_RETRY: print_done(c, p, res); break;
    default: print_webhook(c, res); break;
    }
}

static int execute(cli *c, sl_client *client, const wh_plan *p)
{
    sl_client_result res;
    int status = CLI_EXIT_OK;
    if (call_plan(client, p, &res) == SL_CLIENT_OK)
        print_result(c, p, &res);
    else
        status = cli_report(c, &res.error, 0);
    sl_client_result_free(&res);
    return status;
}

static int run_webhooks(cli *c, int argc, char **argv)
{
    const char *sub;
    int used;
    int status = cli_subcommand(c, argc, argv, &sub, &used);
    wh_plan plan = {0};
    if (status == CLI_EXIT_OK)
        status = parse_plan(c, sub, argc - used, argv + used, &plan);
    sl_client *client;
    if (status == -1) {
        status = cli_help(c);
    } else if (status == CLI_EXIT_OK && (status = cli_open(c, &client)) == CLI_EXIT_OK) {
        status = cli_finish(c, execute(c, client, &plan));
        sl_client_close(client);
    }
    free(plan.seqs);
    return status;
}

const cli_command cli_cmd_webhooks = {
    .name = "webhooks",
    .summary = "manage webhook subscriptions (endpoints events are POSTed to)",
    .usage =
        "usage: sluice webhooks create --name NAME --url URL [options]\n"
        "       sluice webhooks list [--after ID] [--limit N]\n"
        "       sluice webhooks get ID\n"
        "       sluice webhooks update ID [options]\n"
        "       sluice webhooks delete ID\n"
        "       sluice webhooks enable ID | disable ID | reset ID\n"
        "       sluice webhooks rotate-secret ID [--overlap DURATION]\n"
        "       sluice webhooks test ID\n"
        "       sluice webhooks stats ID\n"
        "       sluice webhooks deliveries ID [--status succeeded|failed] [--http-status N]\n"
        "                      [--since T] [--until T] [--event EVT_ID] [--before N] [--limit N]\n"
        "       sluice webhooks retry ID EVENT_ID\n"
        "       sluice webhooks dead-letters ID [--after SEQ] [--limit N]\n"
        "       sluice webhooks replay ID (SEQ... | --all)\n"
        "       sluice webhooks event-types\n"
        "\n"
        "A webhook subscription POSTs the events matching its filters to a URL,\n"
        "signed with its secret, retrying on failure; events wait in the log while\n"
        "the endpoint is down or the subscription disabled. create and rotate-secret\n"
        "print the signing secret (whsec_...) once: it is not shown again.\n"
        "update changes only the options given. disable stops delivery (events keep\n"
        "queueing), enable resumes it, reset also clears the failure count. test sends\n"
        "a webhook.test event to this endpoint only. deliveries lists attempts, newest\n"
        "first (T: Unix ms or ISO 8601; pass the printed --before for the next page).\n"
        "retry delivers one failed event again now. dead-letters and replay work on\n"
        "the events that exhausted their retries, as `sluice dlq` does.\n"
        "event-types lists the topics seen in the retained log.\n"
        "\n"
        "options (create and update; DURATION: 500ms, 30s, 5m, 2h, 1d):\n"
        "  --name NAME           1..128 bytes\n"
        "  --url URL             http:// or https://\n"
        "  --description TEXT\n"
        "  --filter F            topic filter, repeatable (default \">\": everything)\n"
        "  --retry D,D,...       delays before attempts 2, 3, ... (default\n"
        "                        30s,5m,30m,2h); \"none\": one attempt only\n"
        "  --timeout DURATION    per request (default 10s); here it is not the\n"
        "                        global --timeout\n"
        "  --max-in-flight N     requests at once (default 16)\n"
        "  --rate N              requests per second (default 0: no limit)\n"
        "  --disable-after N     disable after N events in a row exhausted their\n"
        "                        retries (default 5; 0: never)\n"
        "  --header 'Name: value'  custom header, repeatable (replaces all on update)\n"
        "  --inactive            create or set disabled; --active: enabled\n"
        "\n"
        "rotate-secret: --overlap is how long the old secret keeps signing beside\n"
        "the new one (default 24h, at most 30d; 0 ends it at once).\n",
    .run = run_webhooks,
};
