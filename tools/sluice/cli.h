/* cli.h: what the files of the `sluice` command line tool share.
 *
 *   main.c     global options, the command table, help
 *   args.c     option iteration and value parsing (numbers, times)
 *   json.c     a streaming JSON writer, base64 (JSON/UTF-8 checks: tools/common)
 *   output.c   rendering results as text or JSON; error reports
 *   publish.c  publish
 *   consume.c  pull, ack, nack, extend, term
 *   groups.c   groups create|update|list|show|delete
 *   dlq.c      dlq list|show|replay|purge
 *   inspect.c  topics, stats, log
 *   webhooks.c webhooks create|list|get|update|delete|enable|...: webhook
 *              subscriptions (proto/client_webhook.h)
 *   keys.c     keys create|list|get|revoke: API keys (proto/client_keys.h)
 *
 * Exit status: 0 success, 1 server error (or a local failure such as out of
 * memory or unwritable output), 2 usage error, 3 transport error or
 * malformed reply.
 */
#ifndef SLUICE_TOOLS_SLUICE_CLI_H
#define SLUICE_TOOLS_SLUICE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/client.h"
#include "tools/common/json_check.h"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_SERVER = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_TRANSPORT = 3
};

struct cli_command;

/* The state of one run: global options and the streams. */
typedef struct cli {
    const char *url;               /* --url, else $SLUICE_URL, else the default */
    bool json;                     /* --json: one JSON document on stdout */
    uint64_t timeout_ms;           /* --timeout; 0: the library default (10 s) */
    const char *ca_file;           /* --ca-file: for tls+tcp:// and wss:// */
    const char *server_name;       /* --server-name: TLS name to verify */
    const char *api_key;           /* --api-key, else $SLUICE_API_KEY, else NULL */
    FILE *out;                     /* results (stdout) */
    FILE *err;                     /* messages (stderr) */
    const struct cli_command *cmd; /* the command running, for usage messages */
} cli;

/* One command of the table. */
typedef struct cli_command {
    const char *name;      /* as typed: "publish", "groups", ... */
    const char *summary;   /* one line for `sluice help` */
    const char *usage;     /* the full help text of the command */
    int (*run)(cli *c, int argc, char **argv); /* argv: the words after the name */
} cli_command;

extern const cli_command cli_cmd_publish;
extern const cli_command cli_cmd_pull;
extern const cli_command cli_cmd_ack;
extern const cli_command cli_cmd_nack;
extern const cli_command cli_cmd_extend;
extern const cli_command cli_cmd_term;
extern const cli_command cli_cmd_groups;
extern const cli_command cli_cmd_dlq;
extern const cli_command cli_cmd_topics;
extern const cli_command cli_cmd_stats;
extern const cli_command cli_cmd_log;
extern const cli_command cli_cmd_webhooks;
extern const cli_command cli_cmd_keys;

/* ---- args.c ------------------------------------------------------------------ */

/* An option a command accepts: "--max" with a value, "--ack" without. */
typedef struct cli_opt {
    const char *name;  /* with the dashes */
    bool has_value;    /* takes the next word (or "--name=value") */
} cli_opt;

typedef enum cli_arg_kind {
    CLI_ARG_END,        /* no more words */
    CLI_ARG_POSITIONAL, /* value: the word */
    CLI_ARG_OPTION,     /* name: the option (as in the table); value: its value or NULL */
    CLI_ARG_HELP,       /* --help or -h */
    CLI_ARG_ERROR       /* reported already (unknown option, missing value) */
} cli_arg_kind;

/* Walks the words of a command. Global options (--url, --json, --timeout,
 * --ca-file, --server-name, --api-key) are accepted anywhere and applied to the cli.
 * "--" ends the options. Words are borrowed from argv. */
typedef struct cli_args {
    cli *c;               /* where global options go, and messages */
    int argc;             /* words */
    char **argv;
    int next;             /* index of the next word */
    const cli_opt *opts;  /* the command's options, ended by a NULL name; may be NULL */
    bool options_done;    /* "--" was seen */
    const char *name;     /* CLI_ARG_OPTION: the option's name */
    const char *value;    /* CLI_ARG_POSITIONAL / CLI_ARG_OPTION: the word or value */
} cli_args;

void cli_args_init(cli_args *a, cli *c, int argc, char **argv, const cli_opt *opts);
cli_arg_kind cli_args_next(cli_args *a);

/* For commands with subcommands (groups, dlq): the first positional word
 * of argv goes to *sub (global options before it are applied) and
 * *consumed gets the number of words up to and including it. Returns
 * CLI_EXIT_OK, -1 when help was asked (--help, -h or "help"), or
 * CLI_EXIT_USAGE (reported; also when there is no word). */
int cli_subcommand(cli *c, int argc, char **argv, const char **sub, int *consumed);

/* Print "sluice: <message>" and the running command's usage line to
 * stderr; returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int cli_usage_error(cli *c, const char *fmt, ...);

/* Print the running command's help to stdout; returns CLI_EXIT_OK. */
int cli_help(cli *c);

/* Strict decimal parsing: digits only, no sign, no overflow, within
 * [min, max]. False (nothing written) otherwise. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool cli_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* A time: Unix milliseconds (digits), or ISO 8601 / RFC 3339:
 * YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|(+|-)hh[:]mm] (no zone: UTC). */
bool cli_parse_time_ms(const char *s, uint64_t *out);

/* A duration: digits and a unit, ms (also without a unit), s, m, h or d
 * ("30s", "5m", "24h", "1500"), at most max milliseconds. */
bool cli_parse_duration_ms(const char *s, uint64_t max, uint64_t *out);

/* Open the client for c's URL and options. On failure the error is reported
 * and the exit status returned; else CLI_EXIT_OK and *out is the caller's. */
int cli_open(cli *c, sl_client **out);

/* ---- json.c ------------------------------------------------------------------ */

#define JSON_DEPTH_MAX 16 /* nesting the writer tracks; our documents use 5 */

/* Writes one JSON document to a stream, commas included. */
typedef struct json_writer {
    FILE *f;                          /* the stream */
    unsigned depth;                   /* open objects/arrays */
    bool has_items[JSON_DEPTH_MAX];   /* the container at each depth has an item */
    bool after_key;                   /* a key was written; its value comes next */
} json_writer;

void jw_init(json_writer *w, FILE *f);
void jw_begin_object(json_writer *w);
void jw_end_object(json_writer *w);
void jw_begin_array(json_writer *w);
void jw_end_array(json_writer *w);
void jw_key(json_writer *w, const char *key);
void jw_key_slice(json_writer *w, sl_slice key);
/* A string: UTF-8 kept, invalid bytes as U+FFFD, controls escaped. */
void jw_string(json_writer *w, sl_slice s);
void jw_cstr(json_writer *w, const char *s);
void jw_uint(json_writer *w, uint64_t v);
void jw_bool(json_writer *w, bool v);
/* Bytes already known to be one valid JSON value. */
void jw_raw(json_writer *w, sl_slice json);
/* A string holding the base64 of the bytes. */
void jw_base64(json_writer *w, sl_slice bytes);
/* The base64 (with padding) of the bytes, unquoted. */
void cli_base64(FILE *f, sl_slice bytes);
/* End the document with a newline. */
void jw_finish(json_writer *w);

/* Shorthands: key then value. */
void jw_key_uint(json_writer *w, const char *key, uint64_t v);
void jw_key_str(json_writer *w, const char *key, sl_slice v);
void jw_key_cstr(json_writer *w, const char *key, const char *v);
void jw_key_bool(json_writer *w, const char *key, bool v);

/* s for a terminal: UTF-8 as is, controls as \n \t \r \uXXXX, invalid
 * bytes as \xNN. */
void utf8_write_escaped(FILE *f, sl_slice s);

/* ---- output.c ---------------------------------------------------------------- */

/* Report a failed call: "sluice: <code>: <message>" on stderr (with field
 * and index when the server gave them); with --json also {"error": {...}}
 * on stdout. index_base is added to a reported publish index. Returns the
 * exit status for the failure. */
int cli_report(cli *c, const sl_client_error *e, uint64_t index_base);

/* Only the stderr line of cli_report. */
void cli_error_message(cli *c, const sl_client_error *e, uint64_t index_base);

/* The exit status of a failed call's status. */
int cli_exit_of(sl_client_status st);

/* Print the error object (for documents that carry on after an error). */
void cli_json_error(json_writer *w, const sl_client_error *e, uint64_t index_base);

/* Check the output stream at the end of a command: CLI_EXIT_SERVER (with a
 * message) when writing failed, else status unchanged. */
int cli_finish(cli *c, int status);

/* Unix ms as "2025-11-23T08:00:00.000Z". */
void cli_format_time(uint64_t ms, char out[32]);

/* Bytes for people: "(empty)"; valid UTF-8 with controls escaped; else
 * "<N bytes, base64 ...>". */
void cli_text_bytes(FILE *f, sl_slice s);

/* Shapes as JSON objects. */
void out_event_fields_json(json_writer *w, const sl_client_event *e);
void out_event_json(json_writer *w, const sl_client_event *e);
void out_delivery_json(json_writer *w, const sl_client_delivery *d);
void out_group_json(json_writer *w, const sl_client_group *g);
void out_dead_letter_json(json_writer *w, const sl_client_dead_letter *dl);

/* Shapes as text. */
void out_event_text(FILE *f, const sl_client_event *e);
void out_delivery_text(FILE *f, const sl_client_delivery *d);
void out_group_text(FILE *f, const sl_client_group *g);
void out_group_row_header(FILE *f);
void out_group_row(FILE *f, const sl_client_group *g);
void out_dead_letter_text(FILE *f, const sl_client_dead_letter *dl);
/* A dlq.list result (text or --json), with the next page's --after. */
void out_dead_letter_list(cli *c, const sl_client_result *res);
/* A dlq.replay / dlq.purge result; done: "replayed" or "purged". */
void out_dlq_change(cli *c, const char *done, const sl_client_result *res);

/* The name of a token status ("ok", "stale", "gone", "invalid"). */
const char *out_token_status(sl_token_status s);

#endif
