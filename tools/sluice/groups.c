/* groups.c: `sluice groups create|update|list|show|delete`. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt config_opts[] = {
    {"--filter", true},         {"--start", true},         {"--ack-wait", true},
    {"--max-deliveries", true}, {"--max-inflight", true},  {"--backoff", true},
    {NULL, false},
};

/* ---- the configuration options ---------------------------------------------------------- */

/* "earliest", "latest", "seq:N" or "time:T" (T: ms or ISO 8601). */
static bool parse_start(const char *s, sl_group_config *cfg)
{
    if (strcmp(s, "earliest") == 0) {
        cfg->start = SL_START_EARLIEST;
    } else if (strcmp(s, "latest") == 0) {
        cfg->start = SL_START_LATEST;
    } else if (strncmp(s, "seq:", 4) == 0) {
        cfg->start = SL_START_SEQ;
        return cli_parse_u64(s + 4, 0, UINT64_MAX, &cfg->start_value);
    } else if (strncmp(s, "time:", 5) == 0) {
        cfg->start = SL_START_TIME;
        return cli_parse_time_ms(s + 5, &cfg->start_value);
    } else {
        return false;
    }
    return true;
}

/* "MS,MS,..." (at most SL_BACKOFF_MAX); "" clears the list. */
static bool parse_backoff(const char *s, sl_group_config *cfg)
{
    cfg->nbackoff = 0;
    if (*s == '\0')
        return true;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        char num[24];
        if (cfg->nbackoff == SL_BACKOFF_MAX || n == 0 || n >= sizeof num)
            return false;
        memcpy(num, s, n);
        num[n] = '\0';
        if (!cli_parse_u64(num, 0, UINT64_MAX, &cfg->backoff_ms[cfg->nbackoff++]))
            return false;
        if (!comma)
            return true;
        s = comma + 1;
    }
}

static int add_filter(cli *c, const char *f, sl_group_config *cfg)
{
    if (cfg->nfilters == SL_FILTERS_MAX)
        return cli_usage_error(c, "at most %d filters", SL_FILTERS_MAX);
    if (strlen(f) > SL_TOPIC_MAX)
        return cli_usage_error(c, "a filter is at most %d bytes", SL_TOPIC_MAX);
    strcpy(cfg->filters[cfg->nfilters++], f);
    return CLI_EXIT_OK;
}

/* Apply one option to cfg and note it in *mask. */
static int apply_option(cli *c, const char *name, const char *v, sl_group_config *cfg,
                        unsigned *mask)
{
    if (strcmp(name, "--filter") == 0) {
        *mask |= SL_CLIENT_GROUP_FILTERS;
        return add_filter(c, v, cfg);
    }
    if (strcmp(name, "--start") == 0) {
        *mask |= SL_CLIENT_GROUP_START;
        if (!parse_start(v, cfg))
            return cli_usage_error(c, "--start wants earliest, latest, seq:N or time:T");
    } else if (strcmp(name, "--ack-wait") == 0) {
        *mask |= SL_CLIENT_GROUP_ACK_WAIT;
        if (!cli_parse_u64(v, 0, UINT64_MAX, &cfg->ack_wait_ms))
            return cli_usage_error(c, "--ack-wait wants milliseconds");
    } else if (strcmp(name, "--max-deliveries") == 0) {
        *mask |= SL_CLIENT_GROUP_MAX_DELIVERIES;
        if (!cli_parse_u32(v, 0, UINT32_MAX, &cfg->max_deliveries))
            return cli_usage_error(c, "--max-deliveries wants a number");
    } else if (strcmp(name, "--max-inflight") == 0) {
        *mask |= SL_CLIENT_GROUP_MAX_INFLIGHT;
        if (!cli_parse_u32(v, 0, UINT32_MAX, &cfg->max_inflight))
            return cli_usage_error(c, "--max-inflight wants a number");
    } else {
        *mask |= SL_CLIENT_GROUP_BACKOFF;
        if (!parse_backoff(v, cfg))
            return cli_usage_error(c, "--backoff wants up to %d comma-separated milliseconds",
                                   SL_BACKOFF_MAX);
    }
    return CLI_EXIT_OK;
}

static int set_name(cli *c, const char *name, sl_group_config *cfg)
{
    if (strlen(name) > SL_GROUP_NAME_MAX)
        return cli_usage_error(c, "a group name is at most %d bytes", SL_GROUP_NAME_MAX);
    strcpy(cfg->name, name);
    return CLI_EXIT_OK;
}

/* NAME [options]: into cfg and mask. */
static int parse_config(cli *c, int argc, char **argv, sl_group_config *cfg, unsigned *mask)
{
    cli_args a;
    bool named = false;
    cli_args_init(&a, c, argc, argv, config_opts);
    for (;;) {
        int status = CLI_EXIT_OK;
        switch (cli_args_next(&a)) {
        case CLI_ARG_END:
            return named ? CLI_EXIT_OK : cli_usage_error(c, "a group NAME is needed");
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (named)
                return cli_usage_error(c, "unexpected argument \"%s\"", a.value);
            named = true;
            status = set_name(c, a.value, cfg);
            break;
        case CLI_ARG_OPTION: status = apply_option(c, a.name, a.value, cfg, mask); break;
        }
        if (status != CLI_EXIT_OK)
            return status;
    }
}

/* Just NAME. */
static int parse_name(cli *c, int argc, char **argv, const char **name)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, NULL);
    *name = NULL;
    for (;;) {
        switch (cli_args_next(&a)) {
        case CLI_ARG_END:
            return *name ? CLI_EXIT_OK : cli_usage_error(c, "a group NAME is needed");
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_POSITIONAL:
            if (*name)
                return cli_usage_error(c, "unexpected argument \"%s\"", a.value);
            *name = a.value;
            break;
        default: return CLI_EXIT_USAGE;
        }
    }
}

/* ---- the subcommands ------------------------------------------------------------------------ */

typedef enum groups_what {
    GROUPS_CREATE,
    GROUPS_UPDATE,
    GROUPS_LIST,
    GROUPS_SHOW,
    GROUPS_DELETE
} groups_what;

/* A parsed groups command line. */
typedef struct groups_plan {
    groups_what what;       /* the subcommand */
    sl_group_config *cfg;   /* create/update: the configuration (heap: 4 KiB) */
    unsigned mask;          /* create/update: the options given */
    const char *name;       /* show/delete: the group */
} groups_plan;

static int parse_nothing(cli *c, int argc, char **argv)
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

static int parse_plan(cli *c, const char *sub, int argc, char **argv, groups_plan *p)
{
    if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0) {
        p->what = sub[0] == 'c' ? GROUPS_CREATE : GROUPS_UPDATE;
        if (!(p->cfg = calloc(1, sizeof *p->cfg))) {
            fprintf(c->err, "sluice: out of memory\n");
            return CLI_EXIT_SERVER;
        }
        return parse_config(c, argc, argv, p->cfg, &p->mask);
    }
    if (strcmp(sub, "list") == 0) {
        p->what = GROUPS_LIST;
        return parse_nothing(c, argc, argv);
    }
    if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
        p->what = sub[0] == 's' ? GROUPS_SHOW : GROUPS_DELETE;
        return parse_name(c, argc, argv, &p->name);
    }
    return cli_usage_error(c, "unknown subcommand \"groups %s\"", sub);
}

static void print_group(cli *c, const sl_client_group *g)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "group");
        out_group_json(&w, g);
        jw_end_object(&w);
        jw_finish(&w);
    } else {
        out_group_text(c->out, g);
    }
}

static void print_groups(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "groups");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->groups.n; i++)
            out_group_json(&w, &res->groups.groups[i]);
        jw_end_array(&w);
        jw_end_object(&w);
        jw_finish(&w);
    } else if (res->groups.n == 0) {
        fputs("(no groups)\n", c->out);
    } else {
        out_group_row_header(c->out);
        for (size_t i = 0; i < res->groups.n; i++)
            out_group_row(c->out, &res->groups.groups[i]);
    }
}

static void print_deleted(cli *c, const char *name)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key_cstr(&w, "deleted", name);
        jw_end_object(&w);
        jw_finish(&w);
    } else {
        fprintf(c->out, "deleted group %s\n", name);
    }
}

static int execute(cli *c, sl_client *client, const groups_plan *p)
{
    sl_client_result res;
    sl_client_status st;
    switch (p->what) {
    case GROUPS_CREATE: st = sl_client_group_create(client, p->cfg, p->mask, &res); break;
    case GROUPS_UPDATE: st = sl_client_group_update(client, p->cfg, p->mask, &res); break;
    case GROUPS_LIST: st = sl_client_group_list(client, &res); break;
    case GROUPS_SHOW: st = sl_client_group_get(client, p->name, &res); break;
    default: st = sl_client_group_delete(client, p->name, &res); break;
    }
    int status = CLI_EXIT_OK;
    if (st != SL_CLIENT_OK)
        status = cli_report(c, &res.error, 0);
    else if (p->what == GROUPS_LIST)
        print_groups(c, &res);
    else if (p->what == GROUPS_DELETE)
        print_deleted(c, p->name);
    else
        print_group(c, &res.group);
    sl_client_result_free(&res);
    return status;
}

static int run_groups(cli *c, int argc, char **argv)
{
    const char *sub;
    int used;
    int status = cli_subcommand(c, argc, argv, &sub, &used);
    groups_plan plan = {0};
    if (status == CLI_EXIT_OK)
        status = parse_plan(c, sub, argc - used, argv + used, &plan);
    sl_client *client;
    if (status == -1)
        status = cli_help(c);
    else if (status == CLI_EXIT_OK && (status = cli_open(c, &client)) == CLI_EXIT_OK) {
        status = cli_finish(c, execute(c, client, &plan));
        sl_client_close(client);
    }
    free(plan.cfg);
    return status;
}

const cli_command cli_cmd_groups = {
    .name = "groups",
    .summary = "create, update, list, show and delete consumer groups",
    .usage =
        "usage: sluice groups create NAME [options]\n"
        "       sluice groups update NAME [options]\n"
        "       sluice groups list\n"
        "       sluice groups show NAME\n"
        "       sluice groups delete NAME\n"
        "\n"
        "A consumer group reads the events whose topic matches one of its filters,\n"
        "with its own cursor. update changes only the options given (not --start).\n"
        "delete removes the group with its leases and dead letters.\n"
        "\n"
        "options (create and update):\n"
        "  --filter F            topic filter, repeatable (default \">\": everything);\n"
        "                        \"*\" matches one segment, a final \">\" one or more\n"
        "  --start S             earliest (default), latest, seq:N, or time:T\n"
        "                        (T: Unix ms or ISO 8601, e.g. 2025-11-23T08:00:00Z)\n"
        "  --ack-wait MS         lease length (default 30000)\n"
        "  --max-deliveries N    deliveries before the dead-letter queue (default 5)\n"
        "  --max-inflight N      most events leased at once (default 1000)\n"
        "  --backoff MS,MS,...   delay before each redelivery; the last repeats;\n"
        "                        \"\" for none\n",
    .run = run_groups,
};
