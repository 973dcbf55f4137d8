/* topic.c: topic names and filters (rules in topic.h). */
#include "topic.h"

#include <string.h>

/* One segment of s starting at *pos; advances *pos past the segment and its
 * dot. *pos > s.len once the last segment has been taken. */
static sl_slice take_segment(sl_slice s, size_t *pos)
{
    size_t start = *pos, end = start;
    while (end < s.len && s.ptr[end] != '.')
        end++;
    *pos = end + 1;
    sl_slice seg = {s.ptr ? s.ptr + start : NULL, end - start};
    return seg;
}

static bool segment_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static bool plain_segment(sl_slice seg)
{
    if (seg.len == 0)
        return false;
    for (size_t i = 0; i < seg.len; i++)
        if (!segment_char(seg.ptr[i]))
            return false;
    return true;
}

static bool is_wild(sl_slice seg, char c)
{
    return seg.len == 1 && seg.ptr[0] == c;
}

/* Shared walk: every segment plain, or (wildcards) '*' anywhere and '>' last. */
static bool name_valid(sl_slice s, bool wildcards)
{
    if (s.len == 0 || s.len > SL_TOPIC_MAX || !s.ptr)
        return false;
    size_t pos = 0;
    while (pos <= s.len) {
        sl_slice seg = take_segment(s, &pos);
        if (plain_segment(seg))
            continue;
        if (wildcards && is_wild(seg, '*'))
            continue;
        if (wildcards && is_wild(seg, '>') && pos > s.len)
            continue;
        return false;
    }
    return true;
}

bool sl_topic_valid(sl_slice t)
{
    return name_valid(t, false);
}

bool sl_filter_valid(sl_slice f)
{
    return name_valid(f, true);
}

bool sl_topic_reserved(sl_slice t)
{
    return t.len > 0 && t.ptr && t.ptr[0] == '_';
}

/* True when the first segment of f is '*' or '>'. */
static bool wild_first_segment(sl_slice f)
{
    size_t pos = 0;
    sl_slice first = take_segment(f, &pos);
    return is_wild(first, '*') || is_wild(first, '>');
}

bool sl_filter_match(sl_slice f, sl_slice t)
{
    if (f.len == 0 || t.len == 0 || !f.ptr || !t.ptr)
        return false;
    if (sl_topic_reserved(t) && wild_first_segment(f))
        return false; /* reserved topics only match filters that name them */
    size_t fp = 0, tp = 0;
    while (fp <= f.len) {
        sl_slice fs = take_segment(f, &fp);
        if (is_wild(fs, '>'))
            return tp <= t.len; /* one or more topic segments left */
        if (tp > t.len)
            return false;
        sl_slice ts = take_segment(t, &tp);
        if (!is_wild(fs, '*') && !sl_slice_eq(fs, ts))
            return false;
    }
    return tp > t.len;
}

bool sl_filter_covers(sl_slice p, sl_slice f)
{
    if (!sl_filter_valid(p) || !sl_filter_valid(f))
        return false;
    if (sl_topic_reserved(f) && wild_first_segment(p))
        return false; /* p would not match the reserved topics f names */
    size_t pp = 0, fp = 0;
    while (pp <= p.len) {
        sl_slice ps = take_segment(p, &pp);
        if (is_wild(ps, '>'))
            return fp <= f.len; /* one or more segments of f left, whatever they are */
        if (fp > f.len)
            return false; /* p needs more segments than f has */
        sl_slice fs = take_segment(f, &fp);
        if (is_wild(fs, '>'))
            return false; /* only a '>' of p covers one of f */
        if (!is_wild(ps, '*') && !sl_slice_eq(ps, fs))
            return false; /* a literal covers only itself ('*' of f included) */
    }
    return fp > f.len;
}
