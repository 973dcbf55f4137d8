/* inspect.c: `sluice topics`, `sluice stats`, `sluice log`: looking at the
 * server without consuming anything. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#define LOG_MAX 1000 /* PROTOCOL.md: log.read max 1..1000 */

/* Commands without arguments: END is fine, anything else is not. */
static int parse_none(cli *c, int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, NULL);
    switch (cli_args_next(&a)) {
    case CLI_ARG_END: return CLI_EXIT_OK;
    case CLI_ARG_HELP: return -1;
    case CLI_ARG_POSITIONAL: return cli_usage_error(c, "unexpected argument \"%s\"", a.value);
    default: return CLI_EXIT_USAGE;
    }
}

/* ---- topics ---------------------------------------------------------------------------- */

static void print_topics(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "topics");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->topics.n; i++) {
            const sl_topic_info *t = &res->topics.topics[i];
            jw_begin_object(&w);
            jw_key_str(&w, "name", t->name);
            jw_key_uint(&w, "events", t->events);
            jw_key_uint(&w, "bytes", t->bytes);
            jw_key_uint(&w, "first_seq", t->first_seq);
            jw_key_uint(&w, "last_seq", t->last_seq);
            jw_end_object(&w);
        }
        jw_end_array(&w);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->topics.n == 0) {
        fputs("(no topics with retained events)\n", c->out);
        return;
    }
    fprintf(c->out, "%-32s %12s %14s %12s %12s\n", "TOPIC", "EVENTS", "BYTES", "FIRST_SEQ",
            "LAST_SEQ");
    for (size_t i = 0; i < res->topics.n; i++) {
        const sl_topic_info *t = &res->topics.topics[i];
        int pad = t->name.len < 32 ? (int)(32 - t->name.len) : 0;
        cli_text_bytes(c->out, t->name);
        fprintf(c->out, "%*s %12" PRIu64 " %14" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n", pad, "",
                t->events, t->bytes, t->first_seq, t->last_seq);
    }
}

static int run_topics(cli *c, int argc, char **argv)
{
    int status = parse_none(c, argc, argv);
    if (status == -1)
        return cli_help(c);
    sl_client *client;
    if (status != CLI_EXIT_OK || (status = cli_open(c, &client)) != CLI_EXIT_OK)
        return status;
    sl_client_result res;
    if (sl_client_topics(client, &res) == SL_CLIENT_OK)
        print_topics(c, &res);
    else
        status = cli_report(c, &res.error, 0);
    sl_client_result_free(&res);
    sl_client_close(client);
    return cli_finish(c, status);
}

/* ---- stats ------------------------------------------------------------------------------- */

/* One named counter of the stats reply. */
typedef struct stat_field {
    const char *key;    /* the wire name, also the JSON key */
    const char *label;  /* for people */
    size_t offset;      /* of the uint64_t in sl_client_stats */
} stat_field;

#define STAT(key, label) {#key, label, offsetof(sl_client_stats, key)}

static const stat_field stat_fields[] = {
    STAT(uptime_ms, "uptime (ms)"),     STAT(events, "events"),
    STAT(bytes, "bytes"),               STAT(first_seq, "first seq"),
    STAT(last_seq, "last seq"),         STAT(next_seq, "next seq"),
    STAT(topics, "topics"),             STAT(groups, "groups"),
    STAT(map_bytes, "map bytes"),       STAT(used_bytes, "used bytes"),
    STAT(quota_bytes, "quota bytes"),   STAT(file_bytes, "file bytes"),
    STAT(requests, "requests served"),  STAT(publishes, "events appended"),
    STAT(parked_pulls, "parked pulls"),
    STAT(commits, "LMDB commits"),      STAT(journal_writes, "journal writes"),
    STAT(commit_requests, "requests flushed"), STAT(journal_us, "journal write us"),
    STAT(checkpoint_us, "LMDB commit us"),
};

static uint64_t stat_value(const sl_client_stats *s, const stat_field *f)
{
    uint64_t v;
    memcpy(&v, (const char *)s + f->offset, sizeof v);
    return v;
}

static void print_stats(cli *c, const sl_client_stats *s)
{
    size_t n = sizeof stat_fields / sizeof stat_fields[0];
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key_str(&w, "version", s->version);
        for (size_t i = 0; i < n; i++)
            jw_key_uint(&w, stat_fields[i].key, stat_value(s, &stat_fields[i]));
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    fputs("version:           ", c->out);
    cli_text_bytes(c->out, s->version);
    fputc('\n', c->out);
    for (size_t i = 0; i < n; i++) {
        int pad = 17 - (int)strlen(stat_fields[i].label);
        fprintf(c->out, "%s:%*s %" PRIu64 "\n", stat_fields[i].label, pad > 0 ? pad : 0, "",
                stat_value(s, &stat_fields[i]));
    }
}

static int run_stats(cli *c, int argc, char **argv)
{
    int status = parse_none(c, argc, argv);
    if (status == -1)
        return cli_help(c);
    sl_client *client;
    if (status != CLI_EXIT_OK || (status = cli_open(c, &client)) != CLI_EXIT_OK)
        return status;
    sl_client_result res;
    if (sl_client_stats_get(client, &res) == SL_CLIENT_OK)
        print_stats(c, &res.stats);
    else
        status = cli_report(c, &res.error, 0);
    sl_client_result_free(&res);
    sl_client_close(client);
    return cli_finish(c, status);
}

/* ---- log ---------------------------------------------------------------------------------- */

static const cli_opt log_opts[] = {
    {"--from-seq", true}, {"--from-time", true}, {"--max", true}, {NULL, false},
};

/* The log command line. */
typedef struct log_args {
    sl_client_log_from from;  /* where to start */
    uint64_t value;           /* the sequence or Unix ms */
    uint32_t max;             /* --max, 0: the server's default */
} log_args;

static int parse_log(cli *c, int argc, char **argv, log_args *la)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, log_opts);
    for (;;) {
        switch (cli_args_next(&a)) {
        case CLI_ARG_END: return CLI_EXIT_OK;
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL: return cli_usage_error(c, "unexpected argument \"%s\"", a.value);
        case CLI_ARG_OPTION:
            if (strcmp(a.name, "--max") == 0) {
                if (!cli_parse_u32(a.value, 1, LOG_MAX, &la->max))
                    return cli_usage_error(c, "--max wants 1..%d", LOG_MAX);
                break;
            }
            if (la->from != SL_CLIENT_LOG_OLDEST)
                return cli_usage_error(c, "give --from-seq or --from-time, not both");
            if (strcmp(a.name, "--from-seq") == 0) {
                la->from = SL_CLIENT_LOG_SEQ;
                if (!cli_parse_u64(a.value, 0, UINT64_MAX, &la->value))
                    return cli_usage_error(c, "--from-seq wants a sequence number");
            } else {
                la->from = SL_CLIENT_LOG_TIME;
                if (!cli_parse_time_ms(a.value, &la->value))
                    return cli_usage_error(c, "--from-time wants Unix ms or ISO 8601, e.g. "
                                              "2025-11-23T08:00:00Z");
            }
            break;
        }
    }
}

static void print_log(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "events");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->log.n; i++)
            out_event_json(&w, &res->log.events[i]);
        jw_end_array(&w);
        jw_key_uint(&w, "next_seq", res->log.next_seq);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->log.n == 0)
        fputs("(no events)\n", c->out);
    for (size_t i = 0; i < res->log.n; i++) {
        if (i)
            fputc('\n', c->out);
        out_event_text(c->out, &res->log.events[i]);
    }
    fprintf(c->out, "\n(next: --from-seq %" PRIu64 ")\n", res->log.next_seq);
}

static int run_log(cli *c, int argc, char **argv)
{
    log_args la = {0};
    int status = parse_log(c, argc, argv, &la);
    if (status == -1)
        return cli_help(c);
    sl_client *client;
    if (status != CLI_EXIT_OK || (status = cli_open(c, &client)) != CLI_EXIT_OK)
        return status;
    sl_client_result res;
    if (sl_client_log_read(client, la.from, la.value, la.max, &res) == SL_CLIENT_OK)
        print_log(c, &res);
    else
        status = cli_report(c, &res.error, 0);
    sl_client_result_free(&res);
    sl_client_close(client);
    return cli_finish(c, status);
}

const cli_command cli_cmd_topics = {
    .name = "topics",
    .summary = "list the topics with retained events",
    .usage = "usage: sluice topics\n"
             "\n"
             "List the topics that have retained events: count, bytes, first and last\n"
             "sequence.\n",
    .run = run_topics,
};

const cli_command cli_cmd_stats = {
    .name = "stats",
    .summary = "show the server's counters",
    .usage = "usage: sluice stats\n"
             "\n"
             "Show the server's version, log bounds, storage use and request counters.\n",
    .run = run_stats,
};

const cli_command cli_cmd_log = {
    .name = "log",
    .summary = "read the log directly (no group, no lease)",
    .usage = "usage: sluice log [--from-seq N | --from-time T] [--max N]\n"
             "\n"
             "Read events from the log itself, from the oldest retained one unless told\n"
             "otherwise. T is Unix ms or ISO 8601 (2025-11-23T08:00:00Z); --max 1..1000\n"
             "(default 100). Prints the sequence to pass as --from-seq to read on.\n",
    .run = run_log,
};
