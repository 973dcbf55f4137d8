/* json.c: a streaming JSON writer, terminal escaping and base64 (see cli.h);
 * the UTF-8 and JSON checks live in tools/common/json_check.h. Output goes
 * straight to the stream: no buffers. */
#include "tools/sluice/cli.h"

#include <inttypes.h>
#include <string.h>

/* ---- terminal escaping ----------------------------------------------------------- */

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

void utf8_write_escaped(FILE *f, sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0) {
            fprintf(f, "\\x%02x", p[i]);
            len = 1;
        } else if (cp == '\n') {
            fputs("\\n", f);
        } else if (cp == '\t') {
            fputs("\\t", f);
        } else if (cp == '\r') {
            fputs("\\r", f);
        } else if (is_control(cp)) {
            fprintf(f, "\\u%04" PRIx32, cp);
        } else {
            fwrite(p + i, 1, len, f);
        }
        i += len;
    }
}

/* ---- the writer --------------------------------------------------------------------- */

void jw_init(json_writer *w, FILE *f)
{
    memset(w, 0, sizeof *w);
    w->f = f;
}

/* Before any value: the comma between items, unless it follows a key. */
static void before_value(json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->depth <= JSON_DEPTH_MAX) {
        if (w->has_items[w->depth - 1])
            fputc(',', w->f);
        w->has_items[w->depth - 1] = true;
    }
}

static void open_container(json_writer *w, char ch)
{
    before_value(w);
    fputc(ch, w->f);
    w->depth++;
    if (w->depth <= JSON_DEPTH_MAX)
        w->has_items[w->depth - 1] = false;
}

static void close_container(json_writer *w, char ch)
{
    if (w->depth > 0)
        w->depth--;
    fputc(ch, w->f);
}

void jw_begin_object(json_writer *w)
{
    open_container(w, '{');
}

void jw_end_object(json_writer *w)
{
    close_container(w, '}');
}

void jw_begin_array(json_writer *w)
{
    open_container(w, '[');
}

void jw_end_array(json_writer *w)
{
    close_container(w, ']');
}

/* The body of a string (no quotes). */
static void write_escaped(FILE *f, sl_slice s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, s.len - i, &cp);
        if (len == 0) {
            fputs("\\ufffd", f); /* an invalid byte */
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp == '\n')
            fputs("\\n", f);
        else if (cp == '\t')
            fputs("\\t", f);
        else if (cp == '\r')
            fputs("\\r", f);
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(f, "\\u%04" PRIx32, cp);
        else
            fwrite(p + i, 1, len, f);
        i += len;
    }
}

void jw_key_slice(json_writer *w, sl_slice key)
{
    before_value(w);
    fputc('"', w->f);
    write_escaped(w->f, key);
    fputs("\":", w->f);
    w->after_key = true;
}

void jw_key(json_writer *w, const char *key)
{
    jw_key_slice(w, sl_slice_of(key));
}

void jw_string(json_writer *w, sl_slice s)
{
    before_value(w);
    fputc('"', w->f);
    write_escaped(w->f, s);
    fputc('"', w->f);
}

void jw_cstr(json_writer *w, const char *s)
{
    jw_string(w, sl_slice_of(s));
}

void jw_uint(json_writer *w, uint64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void jw_bool(json_writer *w, bool v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->f);
}

void jw_raw(json_writer *w, sl_slice json)
{
    before_value(w);
    fwrite(json.ptr, 1, json.len, w->f);
}

void cli_base64(FILE *f, sl_slice bytes)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)bytes.ptr;
    for (size_t i = 0; i < bytes.len; i += 3) {
        size_t left = bytes.len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        char out[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63],
                       left > 1 ? alphabet[(v >> 6) & 63] : '=', left > 2 ? alphabet[v & 63] : '='};
        fwrite(out, 1, sizeof out, f);
    }
}

void jw_base64(json_writer *w, sl_slice bytes)
{
    before_value(w);
    fputc('"', w->f);
    cli_base64(w->f, bytes);
    fputc('"', w->f);
}

void jw_finish(json_writer *w)
{
    fputc('\n', w->f);
}

void jw_key_uint(json_writer *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    jw_uint(w, v);
}

void jw_key_str(json_writer *w, const char *key, sl_slice v)
{
    jw_key(w, key);
    jw_string(w, v);
}

void jw_key_cstr(json_writer *w, const char *key, const char *v)
{
    jw_key(w, key);
    jw_cstr(w, v);
}

void jw_key_bool(json_writer *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}
