/* auth_policy.c: see auth_policy.h. */
#include "tools/sluiced/auth_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include "tools/sluiced/logger.h"

/* Schemes that never leave the machine. */
static bool local_scheme(const char *scheme, size_t n)
{
    static const char *const local[] = {"ipc", "inproc", "unix", "abstract"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (strlen(local[i]) == n && strncmp(scheme, local[i], n) == 0)
            return true;
    return false;
}

/* The host of the authority starting at p: "[v6]" without brackets, else
 * up to ':' or '/'. False when it does not fit host (cap bytes). */
static bool host_of(const char *p, char *host, size_t cap)
{
    const char *end;
    if (*p == '[') {
        p++;
        end = strchr(p, ']');
        if (!end)
            return false;
    } else {
        end = p + strcspn(p, ":/");
    }
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= cap)
        return false;
    memcpy(host, p, n);
    host[n] = '\0';
    return true;
}

static bool loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

bool sl_url_loopback_only(const char *url)
{
    if (!url)
        return false;
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    if (local_scheme(url, (size_t)(sep - url)))
        return true;
    char host[256];
    return host_of(sep + 3, host, sizeof host) && loopback_host(host);
}

const char *sl_auth_exposed_listener(const sl_config *cfg)
{
    for (size_t i = 0; i < cfg->nlisten; i++)
        if (!sl_url_loopback_only(cfg->listen[i]))
            return cfg->listen[i];
    for (size_t i = 0; i < cfg->nhttp_listen; i++)
        if (!sl_url_loopback_only(cfg->http_listen[i]))
            return cfg->http_listen[i];
    return NULL;
}

int sl_auth_policy_decide(const sl_config *cfg, bool *enabled)
{
    const char *exposed = sl_auth_exposed_listener(cfg);
    switch (cfg->auth_mode) {
    case SL_AUTH_ON:
        sl_log_info("auth on: API keys required (auth = on; ipc:// listeners are trusted)");
        *enabled = true;
        return 0;
    case SL_AUTH_OFF:
        if (exposed && !cfg->insecure) {
            sl_log_error("refusing to start: auth = off, but %s is not loopback-only: anyone "
                         "who can reach it could do anything. Turn auth on (auth = auto or "
                         "on), listen on loopback only, or pass --insecure to run like this "
                         "anyway", exposed);
            return -1;
        }
        if (exposed)
            sl_log_warn("INSECURE: auth off (--insecure) although %s is not loopback-only: "
                        "anyone who can reach it can do anything", exposed);
        else
            sl_log_info("auth off (auth = off; every listener is loopback-only)");
        *enabled = false;
        return 0;
    default:
        *enabled = exposed != NULL;
        if (exposed)
            sl_log_info("auth on: API keys required because %s is not loopback-only "
                        "(auth = auto; ipc:// listeners are trusted)", exposed);
        else
            sl_log_info("auth off: every listener is loopback-only (auth = auto)");
        return 0;
    }
}
