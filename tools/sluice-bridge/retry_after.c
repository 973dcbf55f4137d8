/* retry_after.c: Retry-After parsing (see retry_after.h). A small cursor
 * over the value; each date form is one function. */
#include "tools/sluice-bridge/retry_after.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

typedef struct cursor {
    const char *p;   /* next char */
    const char *end; /* one past the last */
} cursor;

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_days[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

static bool lit(cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Exactly n digits. */
static bool digits(cursor *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, c->p++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return false;
        v = v * 10 + (*c->p - '0');
    }
    *out = v;
    return true;
}

/* One of names[0..n) (none is a prefix of another); *index gets which. */
static bool name(cursor *c, const char *const *names, int n, int *index)
{
    for (int i = 0; i < n; i++)
        if (lit(c, names[i])) {
            *index = i;
            return true;
        }
    return false;
}

/* "hh:mm:ss" */
static bool clock_time(cursor *c, struct tm *tm)
{
    return digits(c, 2, &tm->tm_hour) && lit(c, ":") && digits(c, 2, &tm->tm_min) &&
           lit(c, ":") && digits(c, 2, &tm->tm_sec);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool imf_fixdate(cursor c, struct tm *tm)
{
    int wd, year;
    if (!(name(&c, days, 7, &wd) && lit(&c, ", ") && digits(&c, 2, &tm->tm_mday) &&
          lit(&c, " ") && name(&c, months, 12, &tm->tm_mon) && lit(&c, " ") &&
          digits(&c, 4, &year) && lit(&c, " ") && clock_time(&c, tm) && lit(&c, " GMT")))
        return false;
    tm->tm_year = year - 1900;
    return c.p == c.end;
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: 70-99 is the
 * 1900s, the rest the 2000s) */
static bool rfc850_date(cursor c, struct tm *tm)
{
    int wd, yy;
    if (!(name(&c, long_days, 7, &wd) && lit(&c, ", ") && digits(&c, 2, &tm->tm_mday) &&
          lit(&c, "-") && name(&c, months, 12, &tm->tm_mon) && lit(&c, "-") &&
          digits(&c, 2, &yy) && lit(&c, " ") && clock_time(&c, tm) && lit(&c, " GMT")))
        return false;
    tm->tm_year = yy >= 70 ? yy : yy + 100;
    return c.p == c.end;
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space) */
static bool asctime_date(cursor c, struct tm *tm)
{
    int wd, year;
    if (!(name(&c, days, 7, &wd) && lit(&c, " ") && name(&c, months, 12, &tm->tm_mon) &&
          lit(&c, " ")))
        return false;
    if (lit(&c, " ")) {
        if (!digits(&c, 1, &tm->tm_mday))
            return false;
    } else if (!digits(&c, 2, &tm->tm_mday)) {
        return false;
    }
    if (!(lit(&c, " ") && clock_time(&c, tm) && lit(&c, " ") && digits(&c, 4, &year)))
        return false;
    tm->tm_year = year - 1900;
    return c.p == c.end;
}

/* The date's Unix seconds, when its fields name a real moment. */
static bool date_seconds(struct tm *tm, time_t *out)
{
    if (tm->tm_mday < 1 || tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
        return false;
    struct tm check = *tm;
    time_t t = timegm(&check);
    struct tm back;
    if (t == (time_t)-1 || !gmtime_r(&t, &back))
        return false;
    /* 31 Feb normalises to March: refuse it (a leap second moves only the clock) */
    if (back.tm_year != tm->tm_year || back.tm_mon != tm->tm_mon ||
        (back.tm_mday != tm->tm_mday && tm->tm_sec != 60))
        return false;
    *out = t;
    return true;
}

static uint64_t clamp(uint64_t ms)
{
    return ms > WH_RETRY_AFTER_MAX_MS ? WH_RETRY_AFTER_MAX_MS : ms;
}

static bool delta_seconds(cursor c, uint64_t *ms)
{
    if (c.p == c.end)
        return false;
    uint64_t secs = 0;
    for (; c.p < c.end; c.p++) {
        if (*c.p < '0' || *c.p > '9')
            return false;
        if (secs <= WH_RETRY_AFTER_MAX_MS / 1000)
            secs = secs * 10 + (uint64_t)(*c.p - '0');
    }
    *ms = clamp(secs * 1000);
    return true;
}

static bool http_date(cursor c, uint64_t now_ms, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    time_t t;
    if (!(imf_fixdate(c, &tm) || rfc850_date(c, &tm) || asctime_date(c, &tm)))
        return false;
    if (!date_seconds(&tm, &t))
        return false;
    uint64_t at_ms = t < 0 ? 0 : (uint64_t)t * 1000;
    *ms = at_ms > now_ms ? clamp(at_ms - now_ms) : 0;
    return true;
}

sl_err wh_retry_after_parse(sl_slice value, uint64_t now_ms, uint64_t *delay_ms)
{
    cursor c = {value.ptr, value.ptr + value.len};
    *delay_ms = 0;
    if (!value.ptr)
        return SL_ERR_INVALID;
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (delta_seconds(c, delay_ms) || http_date(c, now_ms, delay_ms))
        return SL_OK;
    *delay_ms = 0;
    return SL_ERR_INVALID;
}
