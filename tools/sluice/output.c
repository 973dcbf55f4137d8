/* output.c: results as text for people or as JSON for scripts; error
 * reports (see cli.h). */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* ---- errors ---------------------------------------------------------------------- */

int cli_exit_of(sl_client_status st)
{
    switch (st) {
    case SL_CLIENT_OK: return CLI_EXIT_OK;
    case SL_CLIENT_ERR_TRANSPORT:
    case SL_CLIENT_ERR_BAD_REPLY: return CLI_EXIT_TRANSPORT;
    case SL_CLIENT_ERR_ARGUMENT: return CLI_EXIT_USAGE;
    case SL_CLIENT_ERR_SERVER:
    case SL_CLIENT_ERR_NOMEM: break;
    }
    return CLI_EXIT_SERVER;
}

void cli_json_error(json_writer *w, const sl_client_error *e, uint64_t index_base)
{
    jw_key(w, "error");
    jw_begin_object(w);
    jw_key_cstr(w, "code", e->code);
    jw_key_cstr(w, "message", e->message);
    jw_key_cstr(w, "kind", sl_client_status_name(e->status));
    if (e->field[0])
        jw_key_cstr(w, "field", e->field);
    if (e->has_index)
        jw_key_uint(w, "index", index_base + e->index);
    jw_end_object(w);
}

void cli_error_message(cli *c, const sl_client_error *e, uint64_t index_base)
{
    fprintf(c->err, "sluice: %s", e->code[0] ? e->code : "error");
    if (e->message[0])
        fprintf(c->err, ": %s", e->message);
    if (e->field[0])
        fprintf(c->err, " (field %s)", e->field);
    if (e->has_index)
        fprintf(c->err, " (event index %" PRIu64 ")", index_base + e->index);
    fputc('\n', c->err);
}

int cli_report(cli *c, const sl_client_error *e, uint64_t index_base)
{
    cli_error_message(c, e, index_base);
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        cli_json_error(&w, e, index_base);
        jw_end_object(&w);
        jw_finish(&w);
    }
    return cli_exit_of(e->status);
}

int cli_finish(cli *c, int status)
{
    if (fflush(c->out) != 0 || ferror(c->out)) {
        fprintf(c->err, "sluice: cannot write the output\n");
        return status == CLI_EXIT_OK ? CLI_EXIT_SERVER : status;
    }
    return status;
}

/* ---- small values ---------------------------------------------------------------------- */

void cli_format_time(uint64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];
    if (ms / 1000 > 253402300799ull || !gmtime_r(&secs, &tm) ||
        strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "%" PRIu64 " ms", ms);
        return;
    }
    snprintf(out, 32, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

void cli_text_bytes(FILE *f, sl_slice s)
{
    if (s.len == 0) {
        fputs("(empty)", f);
    } else if (utf8_is_valid(s)) {
        utf8_write_escaped(f, s);
    } else {
        fprintf(f, "<%zu bytes, base64 ", s.len);
        cli_base64(f, s);
        fputc('>', f);
    }
}

const char *out_token_status(sl_token_status s)
{
    switch (s) {
    case SL_TOKEN_OK: return "ok";
    case SL_TOKEN_STALE: return "stale";
    case SL_TOKEN_GONE: return "gone";
    case SL_TOKEN_INVALID: return "invalid";
    }
    return "unknown";
}

static const char *start_name(sl_start_kind k)
{
    switch (k) {
    case SL_START_EARLIEST: return "earliest";
    case SL_START_LATEST: return "latest";
    case SL_START_SEQ: return "seq";
    case SL_START_TIME: return "time";
    }
    return "unknown";
}

/* ---- events as JSON ------------------------------------------------------------------------ */

/* The payload: embedded JSON, a string, or base64 (see the brief in cli.h). */
static void payload_json(json_writer *w, sl_slice p)
{
    if (json_is_valid(p)) {
        jw_key(w, "payload");
        jw_raw(w, p);
    } else if (utf8_is_clean_text(p)) {
        jw_key_str(w, "payload", p);
    } else {
        jw_key(w, "payload_base64");
        jw_base64(w, p);
    }
}

void out_event_fields_json(json_writer *w, const sl_client_event *e)
{
    jw_key_uint(w, "seq", e->seq);
    jw_key_str(w, "id", e->id);
    jw_key_str(w, "topic", e->topic);
    jw_key_uint(w, "ts_ms", e->ts_ms);
    if (e->content_type.len > 0)
        jw_key_str(w, "content_type", e->content_type);
    if (e->nheaders > 0) {
        jw_key(w, "headers");
        jw_begin_object(w);
        for (size_t i = 0; i < e->nheaders; i++) {
            jw_key_slice(w, e->headers[i].key);
            jw_string(w, e->headers[i].value);
        }
        jw_end_object(w);
    }
    payload_json(w, e->payload);
}

void out_event_json(json_writer *w, const sl_client_event *e)
{
    jw_begin_object(w);
    out_event_fields_json(w, e);
    jw_end_object(w);
}

void out_delivery_json(json_writer *w, const sl_client_delivery *d)
{
    jw_begin_object(w);
    out_event_fields_json(w, &d->event);
    jw_key_uint(w, "attempt", d->attempt);
    jw_key_str(w, "token", d->token);
    jw_key_uint(w, "lease_until_ms", d->lease_until_ms);
    jw_end_object(w);
}

void out_group_json(json_writer *w, const sl_client_group *g)
{
    jw_begin_object(w);
    jw_key_str(w, "name", g->name);
    jw_key(w, "filters");
    jw_begin_array(w);
    for (size_t i = 0; i < g->nfilters; i++)
        jw_string(w, g->filters[i]);
    jw_end_array(w);
    jw_key_cstr(w, "start", start_name(g->start));
    if (g->start == SL_START_SEQ || g->start == SL_START_TIME)
        jw_key_uint(w, "start_value", g->start_value);
    jw_key_uint(w, "ack_wait_ms", g->ack_wait_ms);
    jw_key_uint(w, "max_deliveries", g->max_deliveries);
    jw_key_uint(w, "max_inflight", g->max_inflight);
    jw_key(w, "backoff_ms");
    jw_begin_array(w);
    for (size_t i = 0; i < g->nbackoff; i++)
        jw_uint(w, g->backoff_ms[i]);
    jw_end_array(w);
    jw_key_uint(w, "cursor", g->cursor);
    jw_key_uint(w, "lag", g->lag);
    jw_key_uint(w, "in_flight", g->in_flight);
    jw_key_uint(w, "waiting", g->waiting);
    jw_key_uint(w, "delivered", g->delivered);
    jw_key_uint(w, "redelivered", g->redelivered);
    jw_key_uint(w, "acked", g->acked);
    jw_key_uint(w, "dlq_size", g->dlq_size);
    jw_key_uint(w, "created_ms", g->created_ms);
    jw_end_object(w);
}

void out_dead_letter_json(json_writer *w, const sl_client_dead_letter *dl)
{
    jw_begin_object(w);
    jw_key_uint(w, "seq", dl->seq);
    jw_key_str(w, "id", dl->id);
    jw_key_uint(w, "attempts", dl->attempts);
    jw_key_uint(w, "dead_at_ms", dl->dead_at_ms);
    jw_key_str(w, "reason", dl->reason);
    if (dl->has_event) {
        jw_key(w, "event");
        out_event_json(w, &dl->event);
    }
    jw_end_object(w);
}

/* ---- as text ------------------------------------------------------------------------- */

static void event_head_text(FILE *f, const sl_client_event *e)
{
    char when[32];
    cli_format_time(e->ts_ms, when);
    fprintf(f, "seq %" PRIu64 "  id ", e->seq);
    cli_text_bytes(f, e->id);
    fputs("  topic ", f);
    cli_text_bytes(f, e->topic);
    fprintf(f, "  time %s\n", when);
}

static void event_body_text(FILE *f, const sl_client_event *e)
{
    if (e->content_type.len > 0) {
        fputs("  content-type: ", f);
        cli_text_bytes(f, e->content_type);
        fputc('\n', f);
    }
    for (size_t i = 0; i < e->nheaders; i++) {
        fputs("  header ", f);
        cli_text_bytes(f, e->headers[i].key);
        fputs(": ", f);
        cli_text_bytes(f, e->headers[i].value);
        fputc('\n', f);
    }
    fputs("  payload: ", f);
    cli_text_bytes(f, e->payload);
    fputc('\n', f);
}

void out_event_text(FILE *f, const sl_client_event *e)
{
    event_head_text(f, e);
    event_body_text(f, e);
}

void out_delivery_text(FILE *f, const sl_client_delivery *d)
{
    char until[32];
    cli_format_time(d->lease_until_ms, until);
    event_head_text(f, &d->event);
    fprintf(f, "  attempt %" PRIu32 "  token ", d->attempt);
    cli_text_bytes(f, d->token);
    fprintf(f, "  lease until %s\n", until);
    event_body_text(f, &d->event);
}

static void slices_text(FILE *f, const sl_slice *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_text_bytes(f, s[i]);
    }
}

static void start_text(FILE *f, const sl_client_group *g)
{
    char when[32];
    if (g->start == SL_START_SEQ) {
        fprintf(f, "seq %" PRIu64, g->start_value);
    } else if (g->start == SL_START_TIME) {
        cli_format_time(g->start_value, when);
        fprintf(f, "time %s", when);
    } else {
        fputs(start_name(g->start), f);
    }
}

void out_group_text(FILE *f, const sl_client_group *g)
{
    char created[32];
    cli_format_time(g->created_ms, created);
    fputs("name:            ", f);
    cli_text_bytes(f, g->name);
    fputs("\nfilters:         ", f);
    slices_text(f, g->filters, g->nfilters);
    fputs("\nstart:           ", f);
    start_text(f, g);
    fprintf(f, "\nack wait:        %" PRIu64 " ms\n", g->ack_wait_ms);
    fprintf(f, "max deliveries:  %" PRIu64 "\n", g->max_deliveries);
    fprintf(f, "max in flight:   %" PRIu64 "\n", g->max_inflight);
    fputs("backoff:         ", f);
    for (size_t i = 0; i < g->nbackoff; i++)
        fprintf(f, "%s%" PRIu64, i ? ", " : "", g->backoff_ms[i]);
    fputs(g->nbackoff ? " ms\n" : "none\n", f);
    fprintf(f, "cursor:          %" PRIu64 "\n", g->cursor);
    fprintf(f, "lag:             %" PRIu64 "\n", g->lag);
    fprintf(f, "in flight:       %" PRIu64 "\n", g->in_flight);
    fprintf(f, "waiting:         %" PRIu64 "\n", g->waiting);
    fprintf(f, "delivered:       %" PRIu64 " (redelivered %" PRIu64 ")\n", g->delivered,
            g->redelivered);
    fprintf(f, "acked:           %" PRIu64 "\n", g->acked);
    fprintf(f, "dead letters:    %" PRIu64 "\n", g->dlq_size);
    fprintf(f, "created:         %s\n", created);
}

void out_group_row_header(FILE *f)
{
    fprintf(f, "%-24s %10s %10s %10s %10s  %s\n", "NAME", "LAG", "IN_FLIGHT", "WAITING", "DLQ",
            "FILTERS");
}

void out_group_row(FILE *f, const sl_client_group *g)
{
    int pad = g->name.len < 24 ? (int)(24 - g->name.len) : 0;
    cli_text_bytes(f, g->name);
    fprintf(f, "%*s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  ", pad, "", g->lag,
            g->in_flight, g->waiting, g->dlq_size);
    slices_text(f, g->filters, g->nfilters);
    fputc('\n', f);
}

void out_dead_letter_text(FILE *f, const sl_client_dead_letter *dl)
{
    char when[32];
    cli_format_time(dl->dead_at_ms, when);
    fprintf(f, "seq %" PRIu64 "  id ", dl->seq);
    cli_text_bytes(f, dl->id);
    fprintf(f, "  attempts %" PRIu64 "  dead since %s\n  reason: ", dl->attempts, when);
    cli_text_bytes(f, dl->reason);
    fputc('\n', f);
    if (!dl->has_event) {
        fputs("  event: no longer retained\n", f);
        return;
    }
    fputs("  topic: ", f);
    cli_text_bytes(f, dl->event.topic);
    fputc('\n', f);
    event_body_text(f, &dl->event);
}

void out_dead_letter_list(cli *c, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key(&w, "dead_letters");
        jw_begin_array(&w);
        for (size_t i = 0; i < res->dlq_list.n; i++)
            out_dead_letter_json(&w, &res->dlq_list.dead_letters[i]);
        jw_end_array(&w);
        jw_key_uint(&w, "next_after", res->dlq_list.next_after);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    if (res->dlq_list.n == 0)
        fputs("(no dead letters)\n", c->out);
    for (size_t i = 0; i < res->dlq_list.n; i++) {
        if (i)
            fputc('\n', c->out);
        out_dead_letter_text(c->out, &res->dlq_list.dead_letters[i]);
    }
    if (res->dlq_list.next_after != 0)
        fprintf(c->out, "\n(more: --after %" PRIu64 ")\n", res->dlq_list.next_after);
}

void out_dlq_change(cli *c, const char *done, const sl_client_result *res)
{
    if (c->json) {
        json_writer w;
        jw_init(&w, c->out);
        jw_begin_object(&w);
        jw_key_uint(&w, done, res->dlq_change.count);
        jw_key_uint(&w, "remaining", res->dlq_change.remaining);
        jw_end_object(&w);
        jw_finish(&w);
        return;
    }
    fprintf(c->out, "%s %" PRIu64 "\n", done, res->dlq_change.count);
    if (res->dlq_change.remaining > 0)
        fprintf(c->out, "remaining %" PRIu64 " (run the command again for the rest)\n",
                res->dlq_change.remaining);
}
