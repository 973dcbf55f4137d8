/* args.c: walking a command's words, parsing values, opening the client
 * (see cli.h). */
#include "tools/sluice/cli.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

/* Options every command accepts (applied to the cli as they are met). */
static const cli_opt global_opts[] = {
    {"--url", true},     {"--json", false},        {"--timeout", true},
    {"--ca-file", true}, {"--server-name", true},  {"--api-key", true},
    {NULL, false},
};

/* ---- walking words ---------------------------------------------------------------- */

void cli_args_init(cli_args *a, cli *c, int argc, char **argv, const cli_opt *opts)
{
    memset(a, 0, sizeof *a);
    a->c = c;
    a->argc = argc;
    a->argv = argv;
    a->opts = opts;
}

/* The option of table opts whose name is the first n bytes of word. */
static const cli_opt *find_opt(const cli_opt *opts, const char *word, size_t n)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == n && strncmp(opts->name, word, n) == 0)
            return opts;
    return NULL;
}

/* Apply a global option; false (reported) when its value is bad. */
static bool apply_global(cli *c, const char *name, const char *value)
{
    if (strcmp(name, "--url") == 0) {
        c->url = value;
    } else if (strcmp(name, "--json") == 0) {
        c->json = true;
    } else if (strcmp(name, "--timeout") == 0) {
        if (!cli_parse_u64(value, 1, UINT32_MAX, &c->timeout_ms)) {
            cli_usage_error(c, "--timeout wants milliseconds (1 or more), not \"%s\"", value);
            return false;
        }
    } else if (strcmp(name, "--ca-file") == 0) {
        c->ca_file = value;
    } else if (strcmp(name, "--api-key") == 0) {
        c->api_key = value;
    } else {
        c->server_name = value;
    }
    return true;
}

cli_arg_kind cli_args_next(cli_args *a)
{
    while (a->next < a->argc) {
        const char *word = a->argv[a->next++];
        /* "-" (stdin) and "-5" (a negative number) are words, not options */
        if (a->options_done || word[0] != '-' || word[1] == '\0' ||
            (word[1] >= '0' && word[1] <= '9')) {
            a->value = word;
            return CLI_ARG_POSITIONAL;
        }
        if (strcmp(word, "--") == 0) {
            a->options_done = true;
            continue;
        }
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
            return CLI_ARG_HELP;
        const char *eq = strchr(word, '=');
        size_t n = eq ? (size_t)(eq - word) : strlen(word);
        const cli_opt *o = find_opt(a->opts, word, n);
        bool global = false;
        if (!o && (o = find_opt(global_opts, word, n)) != NULL)
            global = true;
        if (!o) {
            cli_usage_error(a->c, "unknown option %.*s (put \"--\" before an argument that "
                                  "starts with a dash)", (int)n, word);
            return CLI_ARG_ERROR;
        }
        const char *value = NULL;
        if (o->has_value) {
            if (eq) {
                value = eq + 1;
            } else if (a->next < a->argc) {
                value = a->argv[a->next++];
            } else {
                cli_usage_error(a->c, "option %s needs a value", o->name);
                return CLI_ARG_ERROR;
            }
        } else if (eq) {
            cli_usage_error(a->c, "option %s takes no value", o->name);
            return CLI_ARG_ERROR;
        }
        if (global) {
            if (!apply_global(a->c, o->name, value))
                return CLI_ARG_ERROR;
            continue;
        }
        a->name = o->name;
        a->value = value;
        return CLI_ARG_OPTION;
    }
    return CLI_ARG_END;
}

int cli_subcommand(cli *c, int argc, char **argv, const char **sub, int *consumed)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, NULL);
    switch (cli_args_next(&a)) {
    case CLI_ARG_POSITIONAL:
        *sub = a.value;
        *consumed = a.next;
        return strcmp(a.value, "help") == 0 ? -1 : CLI_EXIT_OK;
    case CLI_ARG_HELP: return -1;
    case CLI_ARG_END: return cli_usage_error(c, "%s needs a subcommand", c->cmd->name);
    default: return CLI_EXIT_USAGE;
    }
}

int cli_usage_error(cli *c, const char *fmt, ...)
{
    va_list ap;
    fputs("sluice: ", c->err);
    va_start(ap, fmt);
    vfprintf(c->err, fmt, ap);
    va_end(ap);
    if (c->cmd)
        fprintf(c->err, "\nsee: sluice %s --help\n", c->cmd->name);
    else
        fputs("\nsee: sluice help\n", c->err);
    return CLI_EXIT_USAGE;
}

int cli_help(cli *c)
{
    fputs(c->cmd->usage, c->out);
    return cli_finish(c, CLI_EXIT_OK);
}

/* ---- values ------------------------------------------------------------------------------ */

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(s, min, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Exactly n digits at *p, as a number; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* "Z", "+hh:mm", "+hhmm", "-hh:mm" or nothing: the offset east of UTC. */
static bool parse_zone(const char **p, long *offset_s)
{
    *offset_s = 0;
    if (**p == '\0')
        return true;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    int sign = **p == '-' ? -1 : 1, hh, mm;
    (*p)++;
    if (!digits(p, 2, &hh))
        return false;
    if (**p == ':')
        (*p)++;
    if (!digits(p, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (hh * 3600L + mm * 60L);
    return true;
}

/* The clock part after the date: "hh:mm[:ss[.fff]]"; *ms gets the fraction. */
static bool parse_clock(const char **p, struct tm *tm, int *ms)
{
    if (!digits(p, 2, &tm->tm_hour) || *(*p)++ != ':' || !digits(p, 2, &tm->tm_min))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!digits(p, 2, &tm->tm_sec))
            return false;
        if (**p == '.' || **p == ',') {
            (*p)++;
            int scale = 100, n = 0;
            for (; **p >= '0' && **p <= '9'; (*p)++, n++, scale /= 10)
                *ms += scale * (**p - '0');
            if (n == 0)
                return false;
        }
    }
    return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 59;
}

static bool parse_iso8601(const char *s, uint64_t *out)
{
    struct tm tm = {0};
    const char *p = s;
    int ms = 0;
    long offset = 0;
    if (!digits(&p, 4, &tm.tm_year) || *p++ != '-' || !digits(&p, 2, &tm.tm_mon) ||
        *p++ != '-' || !digits(&p, 2, &tm.tm_mday))
        return false;
    int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_clock(&p, &tm, &ms))
            return false;
    }
    if (!parse_zone(&p, &offset) || *p != '\0' || mon < 1 || mon > 12 || mday < 1)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    /* timegm normalises 2025-02-30 to March: refuse such dates */
    if (t == (time_t)-1 || tm.tm_year != year - 1900 || tm.tm_mon != mon - 1 || tm.tm_mday != mday)
        return false;
    long long secs = (long long)t - offset;
    if (secs < 0)
        return false;
    *out = (uint64_t)secs * 1000u + (uint64_t)ms;
    return true;
}

bool cli_parse_time_ms(const char *s, uint64_t *out)
{
    return cli_parse_u64(s, 0, UINT64_MAX, out) || parse_iso8601(s, out);
}

bool cli_parse_duration_ms(const char *s, uint64_t max, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"", 1},         {"ms", 1},          {"s", 1000},
                 {"m", 60000},    {"h", 3600000},     {"d", 86400000}};
    size_t n = 0;
    while (s && s[n] >= '0' && s[n] <= '9')
        n++;
    char num[24];
    uint64_t v;
    if (n == 0 || n >= sizeof num)
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    if (!cli_parse_u64(num, 0, UINT64_MAX, &v))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s + n, units[i].unit) == 0) {
            if (v > max / units[i].ms)
                return false;
            *out = v * units[i].ms;
            return true;
        }
    return false;
}

/* ---- the client --------------------------------------------------------------------------- */

int cli_open(cli *c, sl_client **out)
{
    sl_client_options opt = {.timeout_ms = c->timeout_ms,
                             .tls_ca_file = c->ca_file,
                             .tls_server_name = c->server_name,
                             .api_key = c->api_key};
    sl_client_error err;
    if (sl_client_open(c->url, &opt, out, &err) == SL_CLIENT_OK)
        return CLI_EXIT_OK;
    return cli_report(c, &err, 0);
}
