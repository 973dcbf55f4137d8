/* target_guard.c: address classes and the libcurl open-socket check (see
 * target_guard.h). Tables of prefixes, most specific first. */
#include "tools/sluice-bridge/target_guard.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

typedef struct v4_range {
    uint32_t net;       /* host order */
    unsigned bits;      /* prefix length */
    wh_addr_class cls;
} v4_range;

static const v4_range v4_ranges[] = {
    {0x00000000u, 32, WH_ADDR_UNSPECIFIED},   /* 0.0.0.0 */
    {0x00000000u, 8, WH_ADDR_RESERVED},       /* 0/8 "this network" */
    {0x0a000000u, 8, WH_ADDR_PRIVATE},        /* 10/8 */
    {0x64400000u, 10, WH_ADDR_SHARED},        /* 100.64/10 CGNAT */
    {0x7f000000u, 8, WH_ADDR_LOOPBACK},       /* 127/8 */
    {0xa9fe0000u, 16, WH_ADDR_LINK_LOCAL},    /* 169.254/16 */
    {0xac100000u, 12, WH_ADDR_PRIVATE},       /* 172.16/12 */
    {0xc0000000u, 24, WH_ADDR_RESERVED},      /* 192.0.0/24 IETF protocol assignments */
    {0xc0000200u, 24, WH_ADDR_DOCUMENTATION}, /* 192.0.2/24 TEST-NET-1 */
    {0xc0586300u, 24, WH_ADDR_RESERVED},      /* 192.88.99/24 6to4 relay anycast */
    {0xc0a80000u, 16, WH_ADDR_PRIVATE},       /* 192.168/16 */
    {0xc6120000u, 15, WH_ADDR_RESERVED},      /* 198.18/15 benchmarking */
    {0xc6336400u, 24, WH_ADDR_DOCUMENTATION}, /* 198.51.100/24 TEST-NET-2 */
    {0xcb007100u, 24, WH_ADDR_DOCUMENTATION}, /* 203.0.113/24 TEST-NET-3 */
    {0xe0000000u, 4, WH_ADDR_MULTICAST},      /* 224/4 */
    {0xffffffffu, 32, WH_ADDR_BROADCAST},     /* 255.255.255.255 */
    {0xf0000000u, 4, WH_ADDR_RESERVED},       /* 240/4 */
};

typedef enum v6_action {
    V6_CLASS,         /* the range's class */
    V6_EMBEDDED_LOW,  /* the class of the IPv4 address in the last 4 bytes */
    V6_EMBEDDED_6TO4  /* the class of the IPv4 address in bytes 2..5 */
} v6_action;

typedef struct v6_range {
    uint8_t net[16];
    unsigned bits;
    v6_action action;
    wh_addr_class cls;
} v6_range;

static const v6_range v6_ranges[] = {
    {{0}, 128, V6_CLASS, WH_ADDR_UNSPECIFIED},                                 /* :: */
    {{[15] = 1}, 128, V6_CLASS, WH_ADDR_LOOPBACK},                             /* ::1 */
    {{[10] = 0xff, [11] = 0xff}, 96, V6_EMBEDDED_LOW, WH_ADDR_PUBLIC},         /* ::ffff:0:0/96 */
    {{0}, 96, V6_CLASS, WH_ADDR_RESERVED},                                     /* ::/96 v4-compatible */
    {{0x00, 0x64, 0xff, 0x9b}, 96, V6_EMBEDDED_LOW, WH_ADDR_PUBLIC},           /* 64:ff9b::/96 NAT64 */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, V6_CLASS, WH_ADDR_PRIVATE},     /* 64:ff9b:1::/48 */
    {{0xfc}, 7, V6_CLASS, WH_ADDR_PRIVATE},                                    /* fc00::/7 ULA */
    {{0xfe, 0x80}, 10, V6_CLASS, WH_ADDR_LINK_LOCAL},                          /* fe80::/10 */
    {{0xfe, 0xc0}, 10, V6_CLASS, WH_ADDR_PRIVATE},                             /* fec0::/10 site-local */
    {{0xff}, 8, V6_CLASS, WH_ADDR_MULTICAST},                                  /* ff00::/8 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, V6_CLASS, WH_ADDR_DOCUMENTATION},           /* 2001:db8::/32 */
    {{0x3f, 0xff}, 20, V6_CLASS, WH_ADDR_DOCUMENTATION},                       /* 3fff::/20 */
    {{0x20, 0x01}, 23, V6_CLASS, WH_ADDR_RESERVED},                            /* 2001::/23 incl. Teredo */
    {{0x20, 0x02}, 16, V6_EMBEDDED_6TO4, WH_ADDR_PUBLIC},                      /* 2002::/16 6to4 */
    {{0x20}, 3, V6_CLASS, WH_ADDR_PUBLIC},                                     /* 2000::/3 global unicast */
};

const char *wh_addr_class_name(wh_addr_class c)
{
    switch (c) {
    case WH_ADDR_PUBLIC: return "public";
    case WH_ADDR_UNSPECIFIED: return "unspecified";
    case WH_ADDR_LOOPBACK: return "loopback";
    case WH_ADDR_PRIVATE: return "private";
    case WH_ADDR_SHARED: return "shared";
    case WH_ADDR_LINK_LOCAL: return "link_local";
    case WH_ADDR_MULTICAST: return "multicast";
    case WH_ADDR_BROADCAST: return "broadcast";
    case WH_ADDR_DOCUMENTATION: return "documentation";
    case WH_ADDR_RESERVED: return "reserved";
    case WH_ADDR_UNSUPPORTED: return "unsupported";
    }
    return "unsupported";
}

/* addr: host order. */
static wh_addr_class classify_v4(uint32_t addr)
{
    for (size_t i = 0; i < sizeof v4_ranges / sizeof v4_ranges[0]; i++) {
        const v4_range *r = &v4_ranges[i];
        uint32_t mask = r->bits == 0 ? 0 : 0xffffffffu << (32 - r->bits);
        if ((addr & mask) == r->net)
            return r->cls;
    }
    return WH_ADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool v6_match(const uint8_t a[16], const uint8_t net[16], unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static wh_addr_class classify_v6(const uint8_t a[16])
{
    for (size_t i = 0; i < sizeof v6_ranges / sizeof v6_ranges[0]; i++) {
        const v6_range *r = &v6_ranges[i];
        if (!v6_match(a, r->net, r->bits))
            continue;
        switch (r->action) {
        case V6_EMBEDDED_LOW: return classify_v4(v4_at(a + 12));
        case V6_EMBEDDED_6TO4: return classify_v4(v4_at(a + 2));
        case V6_CLASS: return r->cls;
        }
    }
    return WH_ADDR_RESERVED; /* outside 2000::/3: not global unicast */
}

wh_addr_class wh_addr_classify(const struct sockaddr *sa, size_t len)
{
    if (!sa || len < sizeof(sa_family_t))
        return WH_ADDR_UNSUPPORTED;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        return classify_v4(ntohl(in.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        return classify_v6(in6.sin6_addr.s6_addr);
    }
    return WH_ADDR_UNSUPPORTED;
}

void wh_target_guard_reset(wh_target_guard *g)
{
    g->refused = false;
    g->refused_class = WH_ADDR_PUBLIC;
}

static curl_socket_t refuse(wh_target_guard *g, wh_addr_class c)
{
    g->refused = true;
    g->refused_class = c;
    return CURL_SOCKET_BAD;
}

curl_socket_t wh_target_opensocket(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *address)
{
    wh_target_guard *g = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return refuse(g, WH_ADDR_UNSUPPORTED);
    if (!g->allow_private) {
        wh_addr_class c = wh_addr_classify(&address->addr, address->addrlen);
        if (c != WH_ADDR_PUBLIC)
            return refuse(g, c);
    }
    int fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

sl_err wh_target_guard_apply(CURL *easy, wh_target_guard *g)
{
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, wh_target_opensocket);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, g);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS,
                              (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_PROXY, "");
    return rc == CURLE_OK ? SL_OK : SL_ERR_INVALID;
}
