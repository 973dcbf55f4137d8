/* main.c: sluiced, the sluice daemon.
 *
 *   sluiced [--config FILE] [--listen URL]... [--data DIR] [options]
 *
 * Settings come from the defaults, then the config file, then the flags.
 * Logs go to stderr. SIGTERM or SIGINT stops it cleanly: queued writes
 * commit, long-polls are answered, the store closes. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "logger.h"
#include "server.h"

#include "core/version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sluiced [--config FILE] [options]\n"
               "  --config FILE           read settings from FILE (key = value lines)\n"
               "  --version               print the version and exit\n");
    sl_config_usage(f);
}

/* Apply the command line: a first pass finds --config, a second applies flags. */
static int parse_args(int argc, char **argv, sl_config *cfg)
{
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (sl_config_load_file(cfg, argv[i + 1], err, sizeof err) != 0) {
                fprintf(stderr, "sluiced: %s\n", err);
                return -1;
            }
        }
    }
    bool listen_seen = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("sluiced %s\n", SLUICE_VERSION);
            return 1;
        }
        if (strcmp(arg, "--insecure") == 0) {
            cfg->insecure = true; /* a flag: no value */
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "sluiced: unexpected argument \"%s\" (see --help)\n", arg);
            return -1;
        }
        const char *key = arg + 2, *value = argv[++i];
        if (strcmp(key, "config") == 0)
            continue;
        if (strcmp(key, "listen") == 0 && !listen_seen) {
            cfg->nlisten = 0; /* flags replace the configured listen list */
            listen_seen = true;
        }
        if (sl_config_set(cfg, key, value, err, sizeof err) != 0) {
            fprintf(stderr, "sluiced: --%s\n", err);
            return -1;
        }
    }
    return 0;
}

static int wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

int main(int argc, char **argv)
{
    static sl_config cfg; /* large; lives for the whole run */
    sl_config_defaults(&cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    sl_logger_set_level(cfg.log_level);

    /* Every thread started from here on inherits the blocked signals, so
     * only sigwait below sees them. SIGPIPE is ignored (closed connections). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sl_server *srv;
    if (sl_server_start(&cfg, &srv) != 0)
        return 1;
    sl_log_info("sluiced %s ready", SLUICE_VERSION);
    int sig = wait_for_signal();
    sl_log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sl_server_stop(srv);
    sl_log_info("stopped cleanly");
    return 0;
}
