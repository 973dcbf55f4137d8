/* dlq.c: `sluice dlq list|show|replay|purge`: a group's dead-letter queue. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "core/dlq.h"

typedef enum dlq_what { DLQ_LIST, DLQ_SHOW, DLQ_REPLAY, DLQ_PURGE } dlq_what;

/* A parsed dlq command line. */
typedef struct dlq_plan {
    dlq_what what;       /* the subcommand */
    const char *group;   /* GROUP */
    uint64_t after_seq;  /* list: --after */
    uint32_t limit;      /* list: --limit, 0: the server's default */
    uint64_t *seqs;      /* show: one; replay/purge: SEQ... (argc entries allocated) */
    size_t nseqs;
    bool all;            /* replay/purge: --all */
} dlq_plan;

static const cli_opt list_opts[] = {{"--after", true}, {"--limit", true}, {NULL, false}};
static const cli_opt change_opts[] = {{"--all", false}, {NULL, false}};

static int take_positional(cli *c, dlq_plan *p, const char *word)
{
    if (!p->group) {
        p->group = word;
        return CLI_EXIT_OK;
    }
    if (p->what == DLQ_LIST || (p->what == DLQ_SHOW && p->nseqs == 1))
        return cli_usage_error(c, "unexpected argument \"%s\"", word);
    if (!cli_parse_u64(word, 0, UINT64_MAX, &p->seqs[p->nseqs]))
        return cli_usage_error(c, "\"%s\" is not a sequence number", word);
    p->nseqs++;
    return CLI_EXIT_OK;
}

static int take_option(cli *c, dlq_plan *p, const char *name, const char *value)
{
    if (strcmp(name, "--all") == 0)
        p->all = true;
    else if (strcmp(name, "--after") == 0 && !cli_parse_u64(value, 0, UINT64_MAX, &p->after_seq))
        return cli_usage_error(c, "--after wants a sequence number");
    else if (strcmp(name, "--limit") == 0 &&
             !cli_parse_u32(value, 1, SL_DLQ_PAGE_MAX, &p->limit))
        return cli_usage_error(c, "--limit wants 1..%d", SL_DLQ_PAGE_MAX);
    return CLI_EXIT_OK;
}

/* The arguments are complete and coherent. */
static int check_plan(cli *c, const dlq_plan *p)
{
    if (!p->group)
        return cli_usage_error(c, "a GROUP is needed");
    if (p->what == DLQ_SHOW && p->nseqs != 1)
        return cli_usage_error(c, "dlq show needs GROUP SEQ");
    if ((p->what == DLQ_REPLAY || p->what == DLQ_PURGE) && (p->nseqs > 0) == p->all)
        return cli_usage_error(c, "give sequence numbers or --all (not both)");
    return CLI_EXIT_OK;
}

static int parse_plan(cli *c, const char *sub, int argc, char **argv, dlq_plan *p)
{
    static const char *const names[] = {"list", "show", "replay", "purge"};
    size_t i = 0;
    while (i < 4 && strcmp(sub, names[i]) != 0)
        i++;
    if (i == 4)
        return cli_usage_error(c, "unknown subcommand \"dlq %s\"", sub);
    p->what = (dlq_what)i;
    if (!(p->seqs = calloc((size_t)argc + 1, sizeof *p->seqs))) {
        fprintf(c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    cli_args a;
    cli_args_init(&a, c, argc, argv,
                  p->what == DLQ_LIST ? list_opts : p->what == DLQ_SHOW ? NULL : change_opts);
    for (;;) {
        int status = CLI_EXIT_OK;
        switch (cli_args_next(&a)) {
        case CLI_ARG_END: return check_plan(c, p);
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL: status = take_positional(c, p, a.value); break;
        case CLI_ARG_OPTION: status = take_option(c, p, a.name, a.value); break;
        }
        if (status != CLI_EXIT_OK)
            return status;
    }
}

/* ---- calls and output ---------------------------------------------------------------------- */


static void print_one(cli *c, const sl_client_dead_letter *dl)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "dead_letter");
        out_dead_letter_json(&w, dl);
        jw_end_object(&w);
        jw_finish(&w);
    } else {
        out_dead_letter_text(c->out, dl);
    }
}


static int execute(cli *c, sl_client *client, const dlq_plan *p)
{
    sl_client_result res;
    sl_client_status st;
    switch (p->what) {
    case DLQ_LIST: st = sl_client_dlq_list(client, p->group, p->after_seq, p->limit, &res); break;
    case DLQ_SHOW: st = sl_client_dlq_get(client, p->group, p->seqs[0], &res); break;
    case DLQ_REPLAY:
        st = sl_client_dlq_replay(client, p->group, p->seqs, p->nseqs, p->all, &res);
        break;
    default: st = sl_client_dlq_purge(client, p->group, p->seqs, p->nseqs, p->all, &res); break;
    }
    int status = CLI_EXIT_OK;
    if (st != SL_CLIENT_OK)
        status = cli_report(c, &res.error, 0);
    else if (p->what == DLQ_LIST)
        out_dead_letter_list(c, &res);
    else if (p->what == DLQ_SHOW)
        print_one(c, &res.dead_letter);
    else
        out_dlq_change(c, p->what == DLQ_REPLAY ? "replayed" : "purged", &res);
    sl_client_result_free(&res);
    return status;
}

static int run_dlq(cli *c, int argc, char **argv)
{
    const char *sub;
    int used;
    int status = cli_subcommand(c, argc, argv, &sub, &used);
    dlq_plan plan = {0};
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

const cli_command cli_cmd_dlq = {
    .name = "dlq",
    .summary = "inspect, replay and purge a group's dead letters",
    .usage = "usage: sluice dlq list GROUP [--after SEQ] [--limit N]\n"
             "       sluice dlq show GROUP SEQ\n"
             "       sluice dlq replay GROUP (SEQ... | --all)\n"
             "       sluice dlq purge GROUP (SEQ... | --all)\n"
             "\n"
             "Events a group gave up on (too many deliveries, or term) wait in its\n"
             "dead-letter queue. list pages through them in sequence order (--limit 1..1000,\n"
             "default 100; pass the printed --after for the next page); show prints one;\n"
             "replay puts them back into the group, due at once, attempts reset; purge\n"
             "deletes them. --all handles at most 10000 per call: run it again while\n"
             "\"remaining\" is not 0.\n",
    .run = run_dlq,
};
