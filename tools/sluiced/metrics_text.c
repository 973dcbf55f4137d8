/* metrics_text.c: see metrics_text.h. */
#include "metrics_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_MTEXT_MIN_CAP 4096u

void sl_mtext_init(sl_mtext *t)
{
    t->data = NULL;
    t->len = 0;
    t->cap = 0;
}

void sl_mtext_free(sl_mtext *t)
{
    free(t->data);
    sl_mtext_init(t);
}

/* Make room for extra more bytes plus the NUL. */
static sl_err reserve(sl_mtext *t, size_t extra)
{
    if (extra > SIZE_MAX / 2 - t->len - 1)
        return SL_ERR_NOMEM;
    size_t need = t->len + extra + 1;
    if (need <= t->cap)
        return SL_OK;
    size_t cap = t->cap ? t->cap : SL_MTEXT_MIN_CAP;
    while (cap < need)
        cap *= 2;
    char *p = realloc(t->data, cap);
    if (!p)
        return SL_ERR_NOMEM;
    t->data = p;
    t->cap = cap;
    return SL_OK;
}

sl_err sl_mtext_take(sl_mtext *t, char **text, size_t *len)
{
    sl_err rc = reserve(t, 0); /* an empty text is still a string */
    if (rc != SL_OK)
        return rc;
    t->data[t->len] = '\0';
    *text = t->data;
    *len = t->len;
    sl_mtext_init(t);
    return SL_OK;
}

sl_err sl_mtext_append(sl_mtext *t, const char *s, size_t n)
{
    sl_err rc = reserve(t, n);
    if (rc != SL_OK)
        return rc;
    if (n)
        memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
    return SL_OK;
}

sl_err sl_mtext_append_text(sl_mtext *t, const sl_mtext *src)
{
    return sl_mtext_append(t, src->data, src->len);
}

static sl_err append_cstr(sl_mtext *t, const char *s)
{
    return sl_mtext_append(t, s, strlen(s));
}

/* Append s escaped: backslash and newline always, double quote when
 * quote (label values). Writes all of it or nothing. */
static sl_err append_escaped(sl_mtext *t, sl_slice s, int quote)
{
    size_t mark = t->len;
    sl_err rc = reserve(t, s.len);
    for (size_t i = 0; i < s.len && rc == SL_OK; i++) {
        char c = s.ptr[i];
        if (c == '\\')
            rc = sl_mtext_append(t, "\\\\", 2);
        else if (c == '\n')
            rc = sl_mtext_append(t, "\\n", 2);
        else if (c == '"' && quote)
            rc = sl_mtext_append(t, "\\\"", 2);
        else
            rc = sl_mtext_append(t, &c, 1);
    }
    if (rc != SL_OK && t->data) {
        t->len = mark;
        t->data[mark] = '\0';
    }
    return rc;
}

/* Undo a partial line: back to mark. */
static sl_err undo(sl_mtext *t, size_t mark, sl_err rc)
{
    if (rc != SL_OK && t->data) {
        t->len = mark;
        t->data[mark] = '\0';
    }
    return rc;
}

sl_err sl_mtext_family(sl_mtext *t, const char *name, const char *type, const char *help)
{
    size_t mark = t->len;
    sl_err rc = append_cstr(t, "# HELP ");
    if (rc == SL_OK)
        rc = append_cstr(t, name);
    if (rc == SL_OK)
        rc = sl_mtext_append(t, " ", 1);
    if (rc == SL_OK)
        rc = append_escaped(t, sl_slice_of(help), 0);
    if (rc == SL_OK)
        rc = append_cstr(t, "\n# TYPE ");
    if (rc == SL_OK)
        rc = append_cstr(t, name);
    if (rc == SL_OK)
        rc = sl_mtext_append(t, " ", 1);
    if (rc == SL_OK)
        rc = append_cstr(t, type);
    if (rc == SL_OK)
        rc = sl_mtext_append(t, "\n", 1);
    return undo(t, mark, rc);
}

static sl_err append_labels(sl_mtext *t, const sl_mlabel *labels, size_t n)
{
    sl_err rc = sl_mtext_append(t, "{", 1);
    for (size_t i = 0; i < n && rc == SL_OK; i++) {
        if (i)
            rc = sl_mtext_append(t, ",", 1);
        if (rc == SL_OK)
            rc = append_cstr(t, labels[i].name);
        if (rc == SL_OK)
            rc = sl_mtext_append(t, "=\"", 2);
        if (rc == SL_OK)
            rc = append_escaped(t, labels[i].value, 1);
        if (rc == SL_OK)
            rc = sl_mtext_append(t, "\"", 1);
    }
    return rc == SL_OK ? sl_mtext_append(t, "}", 1) : rc;
}

sl_err sl_mtext_sample(sl_mtext *t, const char *name, const sl_mlabel *labels, size_t nlabels,
                       const char *value)
{
    size_t mark = t->len;
    sl_err rc = append_cstr(t, name);
    if (rc == SL_OK && nlabels)
        rc = append_labels(t, labels, nlabels);
    if (rc == SL_OK)
        rc = sl_mtext_append(t, " ", 1);
    if (rc == SL_OK)
        rc = append_cstr(t, value);
    if (rc == SL_OK)
        rc = sl_mtext_append(t, "\n", 1);
    return undo(t, mark, rc);
}

char *sl_mtext_fmt_u64(char out[SL_MTEXT_VALUE_MAX], uint64_t v)
{
    snprintf(out, SL_MTEXT_VALUE_MAX, "%llu", (unsigned long long)v);
    return out;
}

char *sl_mtext_fmt_fixed(char out[SL_MTEXT_VALUE_MAX], uint64_t v, unsigned scale)
{
    if (scale == 0 || scale > 9)
        return sl_mtext_fmt_u64(out, v);
    uint64_t div = 1;
    for (unsigned i = 0; i < scale; i++)
        div *= 10;
    snprintf(out, SL_MTEXT_VALUE_MAX, "%llu.%0*llu", (unsigned long long)(v / div), (int)scale,
             (unsigned long long)(v % div));
    return out;
}
