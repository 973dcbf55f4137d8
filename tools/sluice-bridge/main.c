/* main.c: sluice-bridge: deliver sluice's webhook subscriptions (bridge.h).
 *
 *   sluice-bridge [--connect URL] [--allow-private-targets] [--refresh-ms N]
 *                 [--idle-poll-ms N] [--pull-max N] [--drain-ms N]
 *                 [--daemon-timeout-ms N] [--tls-ca FILE] [--tls-server-name NAME]
 *                 [--api-key KEY] [--verbose]
 *
 * SIGTERM / SIGINT stop it cleanly (POSTs in flight finish and are reported
 * first, up to --drain-ms).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "core/version.h"
#include "tools/sluice-bridge/bridge.h"

/* Set by the signal handler, read by the loop: the one piece of global state,
 * owned by main(). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-bridge [options]\n"
            "  --connect URL            sluiced to serve (default %s)\n"
            "  --allow-private-targets  allow webhook URLs on loopback, private, link-local\n"
            "                           and other non-public addresses (refused by default)\n"
            "  --refresh-ms N           how often to re-read the subscriptions (default 2000)\n"
            "  --idle-poll-ms N         pull an idle subscription again after N ms (default 250)\n"
            "  --pull-max N             most events per pull (default 100)\n"
            "  --drain-ms N             on stop, wait up to N ms for POSTs in flight (10000)\n"
            "  --daemon-timeout-ms N    per call to sluiced, to connect and again to answer\n"
            "                           (default %d): one call holds every delivery for\n"
            "                           at most twice this\n"
            "  --tls-ca FILE            CA to verify sluiced with (tls+tcp://, wss://)\n"
            "  --tls-server-name NAME   name sluiced's certificate must carry\n"
            "  --api-key KEY            API key (scopes events:read and webhooks:write) when\n"
            "                           sluiced requires one (default $SLUICE_API_KEY; not\n"
            "                           needed over ipc://)\n"
            "  --verbose                log every delivery attempt\n"
            "  --version, --help\n",
            SL_CLIENT_DEFAULT_URL, WH_BRIDGE_DAEMON_TIMEOUT_MS);
}

/* A positive integer option value; false when it is not one. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* Parse argv into opt. 0: run; 1: done (help/version); 2: usage error. */
static int parse_args(int argc, char **argv, wh_bridge_options *opt)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--version")) {
            printf("sluice-bridge %s\n", SLUICE_VERSION);
            return 1;
        } else if (!strcmp(a, "--allow-private-targets")) {
            opt->allow_private = true;
            continue;
        } else if (!strcmp(a, "--verbose")) {
            opt->verbose = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "sluice-bridge: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--connect"))
            opt->url = v;
        else if (!strcmp(a, "--api-key"))
            opt->client.api_key = v;
        else if (!strcmp(a, "--tls-ca"))
            opt->client.tls_ca_file = v;
        else if (!strcmp(a, "--tls-server-name"))
            opt->client.tls_server_name = v;
        else if (!strcmp(a, "--refresh-ms") && parse_count(v, 3600000, &n))
            opt->refresh_ms = n;
        else if (!strcmp(a, "--idle-poll-ms") && parse_count(v, 60000, &n))
            opt->idle_poll_ms = n;
        else if (!strcmp(a, "--pull-max") && parse_count(v, 1000, &n))
            opt->pull_max = (uint32_t)n;
        else if (!strcmp(a, "--drain-ms") && parse_count(v, 600000, &n))
            opt->drain_ms = n;
        else if (!strcmp(a, "--daemon-timeout-ms") && parse_count(v, 60000, &n))
            opt->client.timeout_ms = n;
        else {
            fprintf(stderr, "sluice-bridge: bad option or value: %s %s (see --help)\n", a, v);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    wh_bridge_options opt;
    wh_bridge_options_default(&opt);
    const char *env_key = getenv("SLUICE_API_KEY");
    if (env_key && *env_key)
        opt.client.api_key = env_key;
    int parsed = parse_args(argc, argv, &opt);
    if (parsed)
        return parsed == 1 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "sluice-bridge: libcurl would not start\n");
        return 1;
    }
    sl_err rc = wh_bridge_run(&opt, &stop_requested);
    curl_global_cleanup();
    return rc == SL_OK ? 0 : 1;
}
