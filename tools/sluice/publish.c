/* publish.c: `sluice publish TOPIC [PAYLOAD...]`.
 *
 * Events come from the payload arguments, from --file (each file one event)
 * or else from stdin (one event per line; empty lines are skipped, a
 * trailing "\r" is dropped). They go out in batches of at most 1000 events
 * and about 8 MiB; each batch is all-or-nothing on the server. With --key K
 * a single event gets the key K, several get K-1, K-2, ... in order, so a
 * retried command dedupes event by event.
 */
#include "tools/sluice/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_EVENTS SL_PUBLISH_BATCH_MAX
#define BATCH_BYTES (8u * 1024u * 1024u) /* start a new batch past this much data */
#define KEY_SUFFIX_MAX 24                /* "-" and a 20-digit number */

static const cli_opt publish_opts[] = {
    {"--key", true}, {"--header", true}, {"--content-type", true}, {"--file", true},
    {NULL, false},
};

/* What the command line asked for. The arrays hold argc entries at most. */
typedef struct publish_args {
    const char *topic;        /* the first positional */
    const char *key;          /* --key, or NULL */
    const char *content_type; /* --content-type, or NULL */
    sl_header *headers;       /* --header K=V (slices into argv) */
    size_t nheaders;
    const char **payloads;    /* the other positionals */
    size_t npayloads;
    const char **files;       /* --file F */
    size_t nfiles;
} publish_args;

/* The events waiting to go out: payload bytes back to back in data. */
typedef struct batch {
    sl_client_buf data;              /* payloads of this batch */
    size_t off[BATCH_EVENTS];        /* where payload i starts in data */
    size_t len[BATCH_EVENTS];        /* its length */
    size_t n;                        /* events in the batch */
    uint64_t sent;                   /* events published by earlier batches */
    sl_client_buf keys;              /* the keys of this batch, back to back */
    size_t key_off[BATCH_EVENTS];    /* where key i starts in keys */
    sl_event_in events[BATCH_EVENTS];/* built at flush time */
} batch;

/* The state of one publish run. */
typedef struct publisher {
    cli *c;                   /* options and streams */
    sl_client *client;        /* the connection */
    const publish_args *args; /* what to publish */
    batch *b;                 /* the pending batch (heap: it is large) */
    json_writer w;            /* the --json document */
    bool results_open;        /* the document's "results" array is open */
} publisher;

/* ---- arguments ------------------------------------------------------------------- */

static int add_header(cli *c, publish_args *pa, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return cli_usage_error(c, "--header wants KEY=VALUE, not \"%s\"", kv);
    pa->headers[pa->nheaders].key = (sl_slice){kv, (size_t)(eq - kv)};
    pa->headers[pa->nheaders].value = sl_slice_of(eq + 1);
    pa->nheaders++;
    return CLI_EXIT_OK;
}

static int parse_args(cli *c, int argc, char **argv, publish_args *pa)
{
    cli_args a;
    cli_args_init(&a, c, argc, argv, publish_opts);
    for (;;) {
        switch (cli_args_next(&a)) {
        case CLI_ARG_END:
            if (!pa->topic)
                return cli_usage_error(c, "publish needs a TOPIC");
            if (pa->npayloads > 0 && pa->nfiles > 0)
                return cli_usage_error(c, "give payloads as arguments or with --file, not both");
            return CLI_EXIT_OK;
        case CLI_ARG_HELP: return -1;
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_ARG_POSITIONAL:
            if (!pa->topic)
                pa->topic = a.value;
            else
                pa->payloads[pa->npayloads++] = a.value;
            break;
        case CLI_ARG_OPTION:
            if (strcmp(a.name, "--key") == 0) {
                if (!*a.value)
                    return cli_usage_error(c, "--key must not be empty");
                pa->key = a.value;
            } else if (strcmp(a.name, "--content-type") == 0) {
                pa->content_type = a.value;
            } else if (strcmp(a.name, "--file") == 0) {
                pa->files[pa->nfiles++] = a.value;
            } else if (add_header(c, pa, a.value) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            break;
        }
    }
}

/* ---- batches ----------------------------------------------------------------------- */

static bool buf_append(sl_client_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return false;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        char *q = realloc(b->data, cap);
        if (!q)
            return false;
        b->data = q;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

/* The idempotency keys of the batch into b->keys; single: the whole run is
 * one event. Returns false when out of memory. */
static bool make_keys(batch *b, const char *key, bool single)
{
    b->keys.len = 0;
    for (size_t i = 0; i < b->n; i++) {
        char suffix[KEY_SUFFIX_MAX];
        int n = single ? 0 : snprintf(suffix, sizeof suffix, "-%" PRIu64, b->sent + i + 1);
        b->key_off[i] = b->keys.len;
        if (!buf_append(&b->keys, key, strlen(key)) || !buf_append(&b->keys, suffix, (size_t)n))
            return false;
    }
    return true;
}

static void build_events(batch *b, const publish_args *pa)
{
    for (size_t i = 0; i < b->n; i++) {
        sl_event_in *ev = &b->events[i];
        memset(ev, 0, sizeof *ev);
        ev->topic = sl_slice_of(pa->topic);
        ev->payload = (sl_slice){b->data.data + b->off[i], b->len[i]};
        ev->content_type = sl_slice_of(pa->content_type);
        ev->headers = pa->headers;
        ev->nheaders = pa->nheaders;
        if (pa->key) {
            size_t end = i + 1 < b->n ? b->key_off[i + 1] : b->keys.len;
            ev->idem_key = (sl_slice){b->keys.data + b->key_off[i], end - b->key_off[i]};
        }
    }
}

static void print_results(publisher *p, const sl_client_result *res)
{
    for (size_t i = 0; i < res->publish.n; i++) {
        const sl_client_published *r = &res->publish.results[i];
        if (p->c->json) {
            jw_begin_object(&p->w);
            jw_key_uint(&p->w, "seq", r->seq);
            jw_key_str(&p->w, "id", r->id);
            jw_key_uint(&p->w, "ts_ms", r->ts_ms);
            jw_key_bool(&p->w, "duplicate", r->duplicate);
            jw_end_object(&p->w);
        } else {
            fprintf(p->c->out, "seq %" PRIu64 "  id ", r->seq);
            cli_text_bytes(p->c->out, r->id);
            fputs(r->duplicate ? "  (duplicate: already published)\n" : "\n", p->c->out);
        }
    }
}

/* Publish the pending batch; final: no events follow it. */
static int flush(publisher *p, bool final)
{
    batch *b = p->b;
    if (b->n == 0)
        return CLI_EXIT_OK;
    bool single = b->sent == 0 && final && b->n == 1;
    sl_client_result res;
    if (p->args->key && !make_keys(b, p->args->key, single)) {
        fprintf(p->c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    build_events(b, p->args);
    int status = CLI_EXIT_OK;
    if (sl_client_publish(p->client, b->events, b->n, &res) != SL_CLIENT_OK) {
        /* the results so far stay in the document, the error follows them */
        if (p->c->json) {
            jw_end_array(&p->w);
            p->results_open = false;
            cli_json_error(&p->w, &res.error, b->sent);
        }
        cli_error_message(p->c, &res.error, b->sent);
        status = cli_exit_of(res.error.status);
    } else {
        print_results(p, &res);
        b->sent += b->n;
    }
    sl_client_result_free(&res);
    b->n = 0;
    b->data.len = 0;
    return status;
}

/* Add one payload to the batch, publishing the batch first when full. */
static int add_payload(publisher *p, const char *bytes, size_t len)
{
    batch *b = p->b;
    if (b->n == BATCH_EVENTS || (b->n > 0 && len > BATCH_BYTES - b->data.len)) {
        int status = flush(p, false);
        if (status != CLI_EXIT_OK)
            return status;
    }
    b->off[b->n] = b->data.len;
    b->len[b->n] = len;
    if (!buf_append(&b->data, bytes, len)) {
        fprintf(p->c->err, "sluice: out of memory\n");
        return CLI_EXIT_SERVER;
    }
    b->n++;
    return CLI_EXIT_OK;
}

/* ---- sources -------------------------------------------------------------------------- */

static int from_file(publisher *p, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(p->c->err, "sluice: cannot open %s: %s\n", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    sl_client_buf content = {0};
    char chunk[65536];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(&content, chunk, n);
    int status = CLI_EXIT_OK;
    if (!ok || ferror(f)) {
        fprintf(p->c->err, "sluice: cannot read %s: %s\n", path,
                ok ? strerror(errno) : "out of memory");
        status = ok ? CLI_EXIT_USAGE : CLI_EXIT_SERVER;
    } else {
        status = add_payload(p, content.data, content.len);
    }
    if (f != stdin)
        fclose(f);
    sl_client_buf_free(&content);
    return status;
}

static int from_stdin(publisher *p)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = CLI_EXIT_OK;
    while (status == CLI_EXIT_OK && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > 0)
            status = add_payload(p, line, len);
    }
    if (status == CLI_EXIT_OK && ferror(stdin)) {
        fprintf(p->c->err, "sluice: cannot read stdin: %s\n", strerror(errno));
        status = CLI_EXIT_USAGE;
    }
    free(line);
    return status;
}

static int publish_all(publisher *p)
{
    const publish_args *pa = p->args;
    int status = CLI_EXIT_OK;
    if (pa->npayloads > 0) {
        for (size_t i = 0; i < pa->npayloads && status == CLI_EXIT_OK; i++)
            status = add_payload(p, pa->payloads[i], strlen(pa->payloads[i]));
    } else if (pa->nfiles > 0) {
        for (size_t i = 0; i < pa->nfiles && status == CLI_EXIT_OK; i++)
            status = from_file(p, pa->files[i]);
    } else {
        status = from_stdin(p);
    }
    return status == CLI_EXIT_OK ? flush(p, true) : status;
}

static int run_publish(cli *c, int argc, char **argv)
{
    publish_args pa = {0};
    size_t slots = (size_t)argc + 1;
    pa.headers = calloc(slots, sizeof *pa.headers);
    pa.payloads = calloc(slots, sizeof *pa.payloads);
    pa.files = calloc(slots, sizeof *pa.files);
    publisher p = {.c = c, .args = &pa, .b = calloc(1, sizeof(batch))};
    int status;
    if (!pa.headers || !pa.payloads || !pa.files || !p.b) {
        fprintf(c->err, "sluice: out of memory\n");
        status = CLI_EXIT_SERVER;
    } else if ((status = parse_args(c, argc, argv, &pa)) == -1) {
        status = cli_help(c);
    } else if (status == CLI_EXIT_OK && (status = cli_open(c, &p.client)) == CLI_EXIT_OK) {
        jw_init(&p.w, c->out);
        if (c->json) {
            jw_begin_object(&p.w);
            jw_key(&p.w, "results");
            jw_begin_array(&p.w);
            p.results_open = true;
        }
        status = publish_all(&p);
        if (c->json) {
            if (p.results_open)
                jw_end_array(&p.w);
            jw_end_object(&p.w);
            jw_finish(&p.w);
        }
        sl_client_close(p.client);
        status = cli_finish(c, status);
    }
    if (p.b) {
        sl_client_buf_free(&p.b->data);
        sl_client_buf_free(&p.b->keys);
    }
    free(p.b);
    free(pa.headers);
    free(pa.payloads);
    free(pa.files);
    return status;
}

const cli_command cli_cmd_publish = {
    .name = "publish",
    .summary = "publish events to a topic",
    .usage =
        "usage: sluice publish TOPIC [PAYLOAD...] [options]\n"
        "\n"
        "Publish events to TOPIC: each PAYLOAD argument is one event; with --file, each\n"
        "file is one event (\"-\" is stdin); with neither, each line of stdin is one event\n"
        "(empty lines are skipped). Events go out in batches of at most 1000; a batch is\n"
        "all or nothing. Prints the sequence and id of each event.\n"
        "\n"
        "options:\n"
        "  --key K             idempotency key: one event gets K, several get K-1, K-2, ...\n"
        "  --header K=V        a header on every event (repeatable)\n"
        "  --content-type T    content type of every event, e.g. application/json\n"
        "  --file F            read a whole file as one payload (repeatable)\n"
        "  --                  what follows is a payload even if it starts with \"-\"\n",
    .run = run_publish,
};
