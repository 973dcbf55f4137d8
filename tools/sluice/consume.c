/* consume.c: `sluice pull` and the settle commands ack, nack, extend, term. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS_MAX 300000 /* PROTOCOL.md: wait_ms 0..300000 */

/* ---- printing settle results -------------------------------------------------------- */

static void settle_results_json(json_writer *w, const sl_slice *tokens,
                                const sl_client_result *res)
{
    jw_begin_array(w);
    for (size_t i = 0; i < res->settle.n; i++) {
        jw_begin_object(w);
        jw_key_str(w, "token", tokens[i]);
        jw_key_cstr(w, "status", out_token_status(res->settle.status[i]));
        jw_end_object(w);
    }
    jw_end_array(w);
}

static void settle_results_text(FILE *f, const sl_slice *tokens, const sl_client_result *res)
{
    for (size_t i = 0; i < res->settle.n; i++) {
        cli_text_bytes(f, tokens[i]);
        fprintf(f, "  %s\n", out_token_status(res->settle.status[i]));
    }
}

/* ---- pull ------------------------------------------------------------------------------ */

static const cli_opt pull_opts[] = {
    {"--max", true}, {"--wait", true}, {"--ack", false}, {NULL, false},
};

/* The pull command line. */
typedef struct pull_args {
    const char *group;  /* GROUP */
    uint32_t max;       /* --max, 0: the server's default */
    uint64_t wait_ms;   /* --wait */
    bool ack;           /* --ack: ack what was printed */
} pull_args;

static int parse_pull(cli *c, int argc, char **argv, pull_args *pa)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, pull_opts);
    for (;;) {
        switch (cli_args_next(&a)) {
        case CLI_ARG_END:
            return pa->group ? CLI_EXIT_OK : cli_usage_error(c, "pull needs a GROUP");
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (pa->group)
                return cli_usage_error(c, "unexpected argument \"%s\"", a.value);
            pa->group = a.value;
            break;
        case CLI_ARG_OPTION:
            if (strcmp(a.name, "--ack") == 0)
                pa->ack = true;
            else if (strcmp(a.name, "--max") == 0 &&
                     !cli_parse_u32(a.value, 1, SL_PULL_BATCH_MAX, &pa->max))
                return cli_usage_error(c, "--max wants 1..%d", SL_PULL_BATCH_MAX);
            else if (strcmp(a.name, "--wait") == 0 &&
                     !cli_parse_u64(a.value, 0, WAIT_MS_MAX, &pa->wait_ms))
                return cli_usage_error(c, "--wait wants 0..%d ms", WAIT_MS_MAX);
            break;
        }
    }
}

static void print_deliveries(cli *c, json_writer *w, const sl_client_result *res)
{
    if (c->json) {
        jw_key(w, "deliveries");
        jw_begin_array(w);
        for (size_t i = 0; i < res->pull.n; i++)
            out_delivery_json(w, &res->pull.deliveries[i]);
        jw_end_array(w);
        return;
    }
    if (res->pull.n == 0)
        fputs("(no deliveries)\n", c->out);
    for (size_t i = 0; i < res->pull.n; i++) {
        if (i)
            fputc('\n', c->out);
        out_delivery_text(c->out, &res->pull.deliveries[i]);
    }
}

/* Ack every delivery of pulled (after they were printed). */
static int ack_pulled(cli *c, sl_client *client, json_writer *w, const char *group,
                      const sl_client_result *pulled)
{
    size_t n = pulled->pull.n;
    if (n == 0)
        return CLI_EXIT_OK;
    sl_slice *tokens = calloc(n, sizeof *tokens);
    if (!tokens) {
        fprintf(c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    for (size_t i = 0; i < n; i++)
        tokens[i] = pulled->pull.deliveries[i].token;
    sl_client_result res;
    int status = CLI_EXIT_OK;
    if (sl_client_ack(client, group, tokens, n, &res) != SL_CLIENT_OK) {
        if (c->json)
            cli_json_error(w, &res.error, 0);
        cli_error_message(c, &res.error, 0);
        status = cli_exit_of(res.error.status);
    } else if (c->json) {
        jw_key(w, "acked");
        settle_results_json(w, tokens, &res);
    } else {
        fputs("\nacked:\n", c->out);
        settle_results_text(c->out, tokens, &res);
    }
    sl_client_result_free(&res);
    free(tokens);
    return status;
}

static int run_pull(cli *c, int argc, char **argv)
{
    pull_args pa = {0};
    int status = parse_pull(c, argc, argv, &pa);
    if (status == -1)
        return cli_help(c);
    sl_client *client;
    if (status != CLI_EXIT_OK || (status = cli_open(c, &client)) != CLI_EXIT_OK)
        return status;
    sl_client_result res;
    if (sl_client_pull(client, pa.group, pa.max, pa.wait_ms, &res) != SL_CLIENT_OK) {
        status = cli_report(c, &res.error, 0);
    } else {
        json_writer w;
        jw_init(&w, c->out);
        if (c->json)
            jw_begin_object(&w);
        print_deliveries(c, &w, &res);
        if (pa.ack)
            status = ack_pulled(c, client, &w, pa.group, &res);
        if (c->json) {
            jw_end_object(&w);
            jw_finish(&w);
        }
    }
    sl_client_result_free(&res);
    sl_client_close(client);
    return cli_finish(c, status);
}

/* ---- ack, nack, extend, term ---------------------------------------------------------------- */

static const cli_opt ack_opts[] = {{NULL, false}};
static const cli_opt nack_opts[] = {{"--delay", true}, {"--reason", true}, {NULL, false}};
static const cli_opt extend_opts[] = {{"--lease", true}, {NULL, false}};
static const cli_opt term_opts[] = {{"--reason", true}, {NULL, false}};

/* A settle command line. */
typedef struct settle_args {
    sl_settle_kind kind;  /* which command */
    const char *group;    /* GROUP */
    sl_slice *tokens;     /* TOKEN... (slices into argv; argc entries allocated) */
    size_t ntokens;
    uint64_t delay_ms;    /* --delay / --lease; SL_DELAY_DEFAULT when not given */
    const char *reason;   /* --reason, or NULL */
} settle_args;

static int parse_settle(cli *c, int argc, char **argv, const cli_opt *opts, settle_args *sa)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, opts);
    for (;;) {
        switch (cli_args_next(&a)) {
        case CLI_ARG_END:
            if (!sa->group || sa->ntokens == 0)
                return cli_usage_error(c, "%s needs a GROUP and at least one TOKEN",
                                       c->cmd->name);
            return CLI_EXIT_OK;
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (!sa->group)
                sa->group = a.value;
            else
                sa->tokens[sa->ntokens++] = sl_slice_of(a.value);
            break;
        case CLI_ARG_OPTION:
            if (strcmp(a.name, "--reason") == 0)
                sa->reason = a.value;
            else if (!cli_parse_u64(a.value, 0, UINT64_MAX - 1, &sa->delay_ms))
                return cli_usage_error(c, "%s wants milliseconds, not \"%s\"", a.name, a.value);
            break;
        }
    }
}

/* Scripts need to know when a token was not settled (stale, gone, invalid):
 * exit 1 then, with a line on stderr; the per-token lines say which. */
static int settle_exit_status(cli *c, const sl_client_result *res)
{
    size_t refused = 0;
    for (size_t i = 0; i < res->settle.n; i++)
        refused += res->settle.status[i] != SL_TOKEN_OK;
    if (!refused)
        return CLI_EXIT_OK;
    fprintf(c->err, "sluice: %zu of %zu tokens not settled\n", refused, res->settle.n);
    return CLI_EXIT_SERVER;
}

static int settle_call(cli *c, const settle_args *sa)
{
    sl_client *client;
    int status = cli_open(c, &client);
    if (status != CLI_EXIT_OK)
        return status;
    sl_client_result res;
    sl_client_status st;
    switch (sa->kind) {
    case SL_SETTLE_NACK:
        st = sl_client_nack(client, sa->group, sa->tokens, sa->ntokens, sa->delay_ms, sa->reason,
                            &res);
        break;
    case SL_SETTLE_EXTEND:
        st = sl_client_extend(client, sa->group, sa->tokens, sa->ntokens, sa->delay_ms, &res);
        break;
    case SL_SETTLE_TERM:
        st = sl_client_term(client, sa->group, sa->tokens, sa->ntokens, sa->reason, &res);
        break;
    default:
        st = sl_client_ack(client, sa->group, sa->tokens, sa->ntokens, &res);
        break;
    }
    if (st != SL_CLIENT_OK) {
        status = cli_report(c, &res.error, 0);
    } else if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "results");
        settle_results_json(&w, sa->tokens, &res);
        jw_end_object(&w);
        jw_finish(&w);
    } else {
        settle_results_text(c->out, sa->tokens, &res);
    }
    if (st == SL_CLIENT_OK)
        status = settle_exit_status(c, &res);
    sl_client_result_free(&res);
    sl_client_close(client);
    return cli_finish(c, status);
}

static int run_settle(cli *c, sl_settle_kind kind, const cli_opt *opts, int argc, char **argv)
{
    settle_args sa = {.kind = kind, .delay_ms = SL_DELAY_DEFAULT};
    sa.tokens = calloc((size_t)argc + 1, sizeof *sa.tokens);
    if (!sa.tokens) {
        fprintf(c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    int status = parse_settle(c, argc, argv, opts, &sa);
    if (status == -1)
        status = cli_help(c);
    else if (status == CLI_EXIT_OK)
        status = settle_call(c, &sa);
    free(sa.tokens);
    return status;
}

static int run_ack(cli *c, int argc, char **argv)
{
    return run_settle(c, SL_SETTLE_ACK, ack_opts, argc, argv);
}

static int run_nack(cli *c, int argc, char **argv)
{
    return run_settle(c, SL_SETTLE_NACK, nack_opts, argc, argv);
}

static int run_extend(cli *c, int argc, char **argv)
{
    return run_settle(c, SL_SETTLE_EXTEND, extend_opts, argc, argv);
}

static int run_term(cli *c, int argc, char **argv)
{
    return run_settle(c, SL_SETTLE_TERM, term_opts, argc, argv);
}

#define SETTLE_STATUSES                                                                  \
    "Prints one status per token: ok; stale (the event was delivered again since);\n"    \
    "gone (nothing pending: already acked or dead-lettered); invalid (not a token).\n"   \
    "The exit status is 0 whenever the server answered, whatever the statuses.\n"

const cli_command cli_cmd_pull = {
    .name = "pull",
    .summary = "lease events of a consumer group",
    .usage = "usage: sluice pull GROUP [--max N] [--wait MS] [--ack]\n"
             "\n"
             "Lease up to N events (default 1) of GROUP and print each delivery: sequence,\n"
             "id, topic, attempt, ack token and payload. Settle them with ack, nack,\n"
             "extend or term before the lease ends, or they come back.\n"
             "\n"
             "options:\n"
             "  --max N     1..1000 deliveries\n"
             "  --wait MS   long-poll up to MS (0..300000) when nothing is due\n"
             "  --ack       ack every delivery after printing it\n",
    .run = run_pull,
};

const cli_command cli_cmd_ack = {
    .name = "ack",
    .summary = "acknowledge deliveries: done",
    .usage = "usage: sluice ack GROUP TOKEN...\n"
             "\n"
             "Acknowledge deliveries of GROUP by their tokens: the events are done.\n"
             SETTLE_STATUSES,
    .run = run_ack,
};

const cli_command cli_cmd_nack = {
    .name = "nack",
    .summary = "give deliveries back for redelivery",
    .usage = "usage: sluice nack GROUP TOKEN... [--delay MS] [--reason R]\n"
             "\n"
             "Give deliveries back: they are delivered again after the delay (default: the\n"
             "group's backoff, else at once).\n" SETTLE_STATUSES,
    .run = run_nack,
};

const cli_command cli_cmd_extend = {
    .name = "extend",
    .summary = "extend the lease of deliveries",
    .usage = "usage: sluice extend GROUP TOKEN... [--lease MS]\n"
             "\n"
             "Restart the leases: they end MS from now (default: the group's ack wait).\n"
             SETTLE_STATUSES,
    .run = run_extend,
};

const cli_command cli_cmd_term = {
    .name = "term",
    .summary = "send deliveries to the dead-letter queue",
    .usage = "usage: sluice term GROUP TOKEN... [--reason R]\n"
             "\n"
             "Give up on deliveries: the events go to the group's dead-letter queue now,\n"
             "with the reason.\n" SETTLE_STATUSES,
    .run = run_term,
};
