/* hex_id.c: see hex_id.h. */
#include "hex_id.h"

#include <string.h>

int sl_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool sl_hex_id_parse(sl_slice id, const char *prefix, uint64_t *v)
{
    size_t plen = strlen(prefix);
    if (id.len != plen + 16 || !id.ptr || memcmp(id.ptr, prefix, plen) != 0)
        return false;
    uint64_t acc = 0;
    for (size_t i = plen; i < id.len; i++) {
        int d = sl_hex_digit(id.ptr[i]);
        if (d < 0)
            return false;
        acc = acc << 4 | (uint64_t)d;
    }
    *v = acc;
    return true;
}

void sl_hex_id_format(const char *prefix, uint64_t v, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    for (int i = 0; i < 16; i++)
        out[plen + (size_t)i] = hex[(v >> (60 - 4 * i)) & 15];
    out[plen + 16] = '\0';
}
