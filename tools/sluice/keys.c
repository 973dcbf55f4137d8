/* keys.c: `sluice keys ...`: API keys (who may call the daemon when
 * authentication is on) through proto/client_keys.h.
 *
 * Parsing fills one key_plan (its strings and slices borrow argv); execute
 * makes the call and prints the result as text or JSON. The token appears
 * only in the output of create, once.
 */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <string.h>
#include "core/apikey.h"
#include "proto/client_keys.h"

#define LIST_MAX 32                        /* entries of --scopes / --topics the CLI takes */

typedef enum key_what { KEY_CREATE, KEY_LIST, KEY_GET, KEY_REVOKE } key_what;

static const cli_opt create_opts[] = {
    {"--name", true}, {"--scopes", true}, {"--topics", true}, {"--rate", true}, {NULL, false},
};
static const cli_opt page_opts[] = {{"--after", true}, {"--limit", true}, {NULL, false}};

/* A subcommand: its name, what it does, whether it takes an ID, its options. */
typedef struct key_sub {
    const char *name;
    key_what what;
    bool takes_id;
    const cli_opt *opts;  /* NULL: none */
} key_sub;

static const key_sub subs[] = {
    {"create", KEY_CREATE, false, create_opts},
    {"list", KEY_LIST, false, page_opts},
    {"get", KEY_GET, true, NULL},
    {"revoke", KEY_REVOKE, true, NULL},
};

#define NSUBS (sizeof subs / sizeof subs[0])

/* A parsed keys command line. Strings borrow argv. */
typedef struct key_plan {
    const key_sub *sub;          /* the subcommand */
    const char *id;              /* get, revoke: ID */
    bool has_name;               /* create: --name given */
    sl_slice scopes[LIST_MAX];   /* create: --scopes, split at commas */
    sl_slice topics[LIST_MAX];   /* create: --topics, split at commas */
    sl_client_key_spec spec;     /* create: what is sent (points at the arrays above) */
    const char *after;           /* list: --after ID */
    uint32_t limit;              /* list: --limit; 0: the server's default */
} key_plan;

/* ---- parsing ------------------------------------------------------------------------ */

/* "a,b,c" into out (at most LIST_MAX non-empty entries); *n gets the count. */
static bool split_list(const char *s, sl_slice *out, size_t *n)
{
    *n = 0;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len == 0 || *n == LIST_MAX)
            return false;
        out[(*n)++] = (sl_slice){s, len};
        if (!comma)
            return true;
        s = comma + 1;
    }
}

static int create_option(cli *c, const char *name, const char *v, key_plan *p)
{
    sl_client_key_spec *s = &p->spec;
    if (strcmp(name, "--name") == 0) {
        s->name = sl_slice_of(v);
        p->has_name = true;
    } else if (strcmp(name, "--scopes") == 0) {
        if (!split_list(v, p->scopes, &s->nscopes))
            return cli_usage_error(c, "--scopes wants comma-separated scopes "
                                      "(e.g. events:read,events:write)");
        s->scopes = p->scopes;
    } else if (strcmp(name, "--topics") == 0) {
        if (!split_list(v, p->topics, &s->ntopics))
            return cli_usage_error(c, "--topics wants comma-separated topic patterns "
                                      "(e.g. 'order.>,invoice.*')");
        s->topics = p->topics;
    } else if (!cli_parse_u32(v, 1, SL_APIKEY_RATE_MAX, &s->rate_per_minute)) {
        return cli_usage_error(c, "--rate wants requests per minute, 1..%d", SL_APIKEY_RATE_MAX);
    }
    return CLI_EXIT_OK;
}

static int take_option(cli *c, const char *name, const char *v, key_plan *p)
{
    if (p->sub->what == KEY_CREATE)
        return create_option(c, name, v, p);
    if (strcmp(name, "--after") == 0) {
        p->after = v;
        return CLI_EXIT_OK;
    }
    if (!cli_parse_u32(v, 1, SL_APIKEY_PAGE_MAX, &p->limit))
        return cli_usage_error(c, "--limit wants 1..%d", SL_APIKEY_PAGE_MAX);
    return CLI_EXIT_OK;
}

static int take_positional(cli *c, const char *word, key_plan *p)
{
    if (!p->sub->takes_id || p->id)
        return cli_usage_error(c, "unexpected argument \"%s\"", word);
    p->id = word;
    return CLI_EXIT_OK;
}

/* The words are complete. */
static int check_plan(cli *c, const key_plan *p)
{
    if (p->sub->takes_id && !p->id)
        return cli_usage_error(c, "keys %s needs a key ID", p->sub->name);
    if (p->sub->what == KEY_CREATE && (!p->has_name || p->spec.nscopes == 0))
        return cli_usage_error(c, "keys create needs --name and --scopes");
    return CLI_EXIT_OK;
}

static int parse_plan(cli *c, const char *name, int argc, char **argv, key_plan *p)
{
    for (size_t i = 0; i < NSUBS && !p->sub; i++)
        if (strcmp(name, subs[i].name) == 0)
            p->sub = &subs[i];
    if (!p->sub)
        return cli_usage_error(c, "unknown subcommand \"keys %s\"", name);
    cli_args a;
    cli_args_init(&a, c, argc, argv, p->sub->opts);
    for (;;) {
        int status = CLI_EXIT_OK;
        switch (cli_args_next(&a)) {
        case CLI_ARG_END: return check_plan(c, p);
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL: status = take_positional(c, a.value, p); break;
        case CLI_ARG_OPTION: status = take_option(c, a.name, a.value, p); break;
        }
        if (status != CLI_EXIT_OK)
            return status;
    }
}

/* ---- output --------------------------------------------------------------------------- */

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

static void key_text(FILE *f, const sl_client_apikey *k)
{
    char when[32];
    fprintf(f, "%-12s ", "id:");
    cli_text_bytes(f, k->id);
    fprintf(f, "\n%-12s ", "name:");
    cli_text_bytes(f, k->name);
    fprintf(f, "\n%-12s ", "scopes:");
    print_list(f, k->scopes, k->nscopes, "(none)");
    fprintf(f, "\n%-12s ", "topics:");
    print_list(f, k->topics, k->ntopics, "(all)");
    fprintf(f, "\n%-12s %" PRIu64 " requests/minute\n", "rate limit:", k->rate_per_minute);
    cli_format_time(k->created_ms, when);
    fprintf(f, "%-12s %s\n", "created:", when);
}

static void slices_json(json_writer *w, const char *key, const sl_slice *s, size_t n)
{
    jw_key(w, key);
    jw_begin_array(w);
    for (size_t i = 0; i < n; i++)
        jw_string(w, s[i]);
    jw_end_array(w);
}

static void key_json(json_writer *w, const sl_client_apikey *k)
{
    jw_begin_object(w);
    jw_key_str(w, "id", k->id);
    jw_key_str(w, "name", k->name);
    slices_json(w, "scopes", k->scopes, k->nscopes);
    slices_json(w, "topics", k->topics, k->ntopics);
    jw_key_uint(w, "rate_per_minute", k->rate_per_minute);
    jw_key_uint(w, "created_ms", k->created_ms);
    jw_end_object(w);
}

/* create, get: the key, and the token after create. */
static void print_key(cli *c, const sl_client_result *res)
{
    sl_slice token = res->apikey.token;
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "key");
        key_json(&w, &res->apikey.key);
        if (token.len > 0)
            jw_key_str(&w, "token", token);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    key_text(c->out, &res->apikey.key);
    if (token.len > 0) {
        fprintf(c->out, "\n%-12s ", "token:");
        cli_text_bytes(c->out, token);
        fputs("\n(this token will not be shown again: store it now)\n", c->out);
    }
}

static void print_keys(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "keys");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->apikeys.n; i++)
            key_json(&w, &res->apikeys.keys[i]);
        jw_end_array(&w);
        jw_key_str(&w, "next_after", res->apikeys.next_after);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->apikeys.n == 0)
        fputs("(no API keys)\n", c->out);
    else
        fprintf(c->out, "%-20s  %10s  %-24s %s\n", "ID", "RATE/MIN", "NAME", "SCOPES");
    for (size_t i = 0; i < res->apikeys.n; i++) {
        const sl_client_apikey *k = &res->apikeys.keys[i];
        int pad = k->name.len < 24 ? (int)(24 - k->name.len) : 0;
        cli_text_bytes(c->out, k->id);
        fprintf(c->out, "  %10" PRIu64 "  ", k->rate_per_minute);
        cli_text_bytes(c->out, k->name);
        fprintf(c->out, "%*s ", pad, "");
        print_list(c->out, k->scopes, k->nscopes, "(none)");
        fputc('\n', c->out);
    }
    if (res->apikeys.next_after.len > 0) {
        fputs("(more: --after ", c->out);
        cli_text_bytes(c->out, res->apikeys.next_after);
        fputs(")\n", c->out);
    }
}

static void print_revoked(cli *c, const key_plan *p)
{
    if (!c->json) {
        fprintf(c->out, "revoked key %s\n", p->id);
        return;
    }
    json_writer w;
    jw_init(&w, c->out);
    jw_begin_object(&w);
    jw_key_cstr(&w, "revoked", p->id);
    jw_end_object(&w);
    jw_finish(&w);
}

/* ---- calls --------------------------------------------------------------------------- */

static sl_client_status call_plan(sl_client *client, const key_plan *p, sl_client_result *res)
{
    switch (p->sub->what) {
    case KEY_CREATE: return sl_client_keys_create(client, &p->spec, res);
    case KEY_LIST: return sl_client_keys_list(client, p->after, p->limit, res);
    case KEY_GET: return sl_client_keys_get(client, p->id, res);
    case KEY_REVOKE: break;
    }
    return sl_client_keys_revoke(client, p->id, res);
}

static int execute(cli *c, sl_client *client, const key_plan *p)
{
    sl_client_result res;
    int status = CLI_EXIT_OK;
    if (call_plan(client, p, &res) != SL_CLIENT_OK)
        status = cli_report(c, &res.error, 0);
    else if (p->sub->what == KEY_LIST)
        print_keys(c, &res);
    else if (p->sub->what == KEY_REVOKE)
        print_revoked(c, p);
    else
        print_key(c, &res);
    sl_client_result_free(&res);
    return status;
}

static int run_keys(cli *c, int argc, char **argv)
{
    const char *sub;
    int used;
    int status = cli_subcommand(c, argc, argv, &sub, &used);
    key_plan plan = {0};
    if (status == CLI_EXIT_OK)
        status = parse_plan(c, sub, argc - used, argv + used, &plan);
    sl_client *client;
    if (status == -1) {
        status = cli_help(c);
    } else if (status == CLI_EXIT_OK && (status = cli_open(c, &client)) == CLI_EXIT_OK) {
        status = cli_finish(c, execute(c, client, &plan));
        sl_client_close(client);
    }
    return status;
}

const cli_command cli_cmd_keys = {
    .name = "keys",
    .summary = "manage API keys (who may call the daemon when auth is on)",
    .usage =
        "usage: sluice keys create --name NAME --scopes SCOPE,... [--topics P,...] [--rate N]\n"
        "       sluice keys list [--after ID] [--limit N]\n"
        "       sluice keys get ID\n"
        "       sluice keys revoke ID\n"
        "\n"
        "An API key lets a client call sluiced when authentication is on (HTTP:\n"
        "X-API-Key or Authorization: Bearer; nng: --api-key). create prints the\n"
        "token (slk_...) once: it is not shown again, and the server keeps only a\n"
        "salted hash of it. revoke makes the token fail from the next request on.\n"
        "\n"
        "options (create):\n"
        "  --name NAME           1..128 bytes\n"
        "  --scopes S,S,...      any of: * (everything), events:write, events:read,\n"
        "                        groups:write, webhooks:read, webhooks:write,\n"
        "                        keys:write, stats:read\n"
        "  --topics P,P,...      topic patterns the key is limited to (up to 16;\n"
        "                        default: every topic), e.g. 'order.>,invoice.*'\n"
        "  --rate N              requests per minute (default 1000)\n",
    .run = run_keys,
};
