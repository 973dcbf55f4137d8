/* main.c: `sluice`, the command line tool of sluice: global options, the
 * command table, help. Each command lives in its own file (see cli.h). */
#include "tools/sluice/cli.h"

#include <stdlib.h>
#include <string.h>
#include "core/version.h"

static const cli_command *const commands[] = {
    &cli_cmd_publish, &cli_cmd_pull,  &cli_cmd_ack,    &cli_cmd_nack,
    &cli_cmd_extend,  &cli_cmd_term,  &cli_cmd_groups, &cli_cmd_dlq,
    &cli_cmd_topics,  &cli_cmd_stats, &cli_cmd_log,    &cli_cmd_webhooks,
    &cli_cmd_keys,
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void global_usage(FILE *f)
{
    fputs("usage: sluice [--url URL] [--json] [--timeout MS] COMMAND [ARGS...]\n"
          "\n"
          "The command line client of sluice " SLUICE_VERSION ", an event queue.\n"
          "\n"
          "commands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fputs("  help      help on a command: sluice help COMMAND (or COMMAND --help)\n"
          "\n"
          "global options (anywhere on the line):\n"
          "  --url URL            the daemon: tcp://, ipc://, ws://, tls+tcp://, wss://\n"
          "                       (default $SLUICE_URL, else " SL_CLIENT_DEFAULT_URL ")\n"
          "  --json               print one JSON document (payloads: embedded when JSON,\n"
          "                       a string when clean UTF-8 text, else payload_base64)\n"
          "  --timeout MS         per request (default 10000; pull adds its --wait;\n"
          "                       webhooks create/update read --timeout as their own option)\n"
          "  --ca-file F          CA certificates (PEM) for tls+tcp:// and wss://\n"
          "  --server-name N      name the server certificate must carry (default: host)\n"
          "  --api-key KEY        API key, when the daemon requires one (default\n"
          "                       $SLUICE_API_KEY; not needed over ipc://)\n"
          "\n"
          "exit status: 0 ok, 1 server error (or a token not settled), 2 usage error,\n"
          "3 transport error\n"
          "(unreachable, timeout, connection lost, malformed reply).\n", f);
}

/* `sluice help [COMMAND]`. */
static int run_help(cli *c, int argc, char **argv)
{
    const cli_command *cmd = argc > 0 ? find_command(argv[0]) : NULL;
    if (argc > 0 && !cmd) {
        fprintf(c->err, "sluice: no command named \"%s\"\n", argv[0]);
        global_usage(c->err);
        return CLI_EXIT_USAGE;
    }
    if (cmd) {
        c->cmd = cmd;
        return cli_help(c);
    }
    global_usage(c->out);
    return cli_finish(c, CLI_EXIT_OK);
}

int main(int argc, char **argv)
{
    const char *env_url = getenv("SLUICE_URL");
    const char *env_key = getenv("SLUICE_API_KEY");
    cli c = {.url = env_url && *env_url ? env_url : SL_CLIENT_DEFAULT_URL,
             .api_key = env_key && *env_key ? env_key : NULL,
             .out = stdout,
             .err = stderr};
    cli_args a;
    cli_args_init(&a, &c, argc - 1, argv + 1, NULL);
    switch (cli_args_next(&a)) {
    case CLI_ARG_POSITIONAL: break;
    case CLI_ARG_HELP:
        global_usage(c.out);
        return cli_finish(&c, CLI_EXIT_OK);
    case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
    default:
        global_usage(c.err);
        return CLI_EXIT_USAGE;
    }
    int rest = argc - 1 - a.next;
    char **rest_argv = argv + 1 + a.next;
    if (strcmp(a.value, "help") == 0)
        return run_help(&c, rest, rest_argv);
    c.cmd = find_command(a.value);
    if (!c.cmd) {
        fprintf(c.err, "sluice: no command named \"%s\"\n", a.value);
        global_usage(c.err);
        return CLI_EXIT_USAGE;
    }
    return c.cmd->run(&c, rest, rest_argv);
}
