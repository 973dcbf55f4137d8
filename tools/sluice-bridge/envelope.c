/* envelope.c: the webhook body (see envelope.h). */
#include "tools/sluice-bridge/envelope.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/webhook.h"
#include "tools/common/json_check.h"

sl_slice wh_envelope_type(sl_slice topic)
{
    size_t plen = strlen(SL_WEBHOOK_GROUP_PREFIX);
    if (topic.len >= plen && memcmp(topic.ptr, SL_WEBHOOK_GROUP_PREFIX, plen) == 0)
        return sl_slice_of(WH_TEST_TYPE);
    return topic;
}

sl_err wh_format_time(uint64_t ms, char out[WH_TIME_MAX])
{
    out[0] = '\0';
    if (ms / 1000 > (uint64_t)INT64_MAX)
        return SL_ERR_INVALID;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || tm.tm_year < 0 || tm.tm_year > 9999 - 1900)
        return SL_ERR_INVALID;
    size_t n = strftime(out, WH_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0 || n + 6 > WH_TIME_MAX)
        return SL_ERR_INVALID;
    snprintf(out + n, WH_TIME_MAX - n, ".%03uZ", (unsigned)(ms % 1000));
    return SL_OK;
}

/* data for a payload that is not JSON: its content type and base64. */
static sl_err write_wrapped(json_buf *b, const wh_envelope_event *ev)
{
    sl_slice ct = ev->content_type.len ? ev->content_type : sl_slice_of(WH_DEFAULT_CONTENT_TYPE);
    sl_err err = jb_begin_object(b);
    if (err == SL_OK)
        err = jb_key_cstr(b, "content_type");
    if (err == SL_OK)
        err = jb_string(b, ct);
    if (err == SL_OK)
        err = jb_key_cstr(b, "base64");
    if (err == SL_OK)
        err = jb_base64(b, ev->payload);
    if (err == SL_OK)
        err = jb_end_object(b);
    return err;
}

static sl_err write_data(json_buf *b, const wh_envelope_event *ev)
{
    if (json_is_valid(ev->payload))
        return jb_raw(b, ev->payload);
    return write_wrapped(b, ev);
}

sl_err wh_envelope_build(json_buf *b, const wh_envelope_event *ev)
{
    char created[WH_TIME_MAX];
    jb_reset(b);
    sl_err err = wh_format_time(ev->ts_ms, created);
    if (err == SL_OK)
        err = jb_begin_object(b);
    if (err == SL_OK)
        err = jb_key_cstr(b, "id");
    if (err == SL_OK)
        err = jb_string(b, ev->id);
    if (err == SL_OK)
        err = jb_key_cstr(b, "type");
    if (err == SL_OK)
        err = jb_string(b, wh_envelope_type(ev->topic));
    if (err == SL_OK)
        err = jb_key_cstr(b, "created_at");
    if (err == SL_OK)
        err = jb_cstr(b, created);
    if (err == SL_OK)
        err = jb_key_cstr(b, "data");
    if (err == SL_OK)
        err = write_data(b, ev);
    if (err == SL_OK)
        err = jb_end_object(b);
    return err;
}
