/* config.h: the daemon's settings: defaults, then the config file, then
 * command-line flags (later ones win).
 *
 * Config file: one "key = value" per line, '#' starts a comment. Durations
 * take a unit (ms, s, m, h, d; a bare number is ms), sizes a unit (B, KiB,
 * MiB, GiB, TiB, or K/M/G/T as powers of 1024; a bare number is bytes).
 * Keys are the long flag names without "--": see deploy/sluiced.conf.example
 * or `sluiced --help`. */
#ifndef SLUICE_SLUICED_CONFIG_H
#define SLUICE_SLUICED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/store.h"
#include "logger.h"

#define SL_LISTEN_MAX 8
#define SL_URL_MAX 512
#define SL_PATH_MAX 4096

/* auth: when API keys are required (tools/sluiced/auth_policy.h). */
typedef enum sl_auth_mode {
    SL_AUTH_AUTO,  /* default: on when some listener is not loopback-only */
    SL_AUTH_ON,
    SL_AUTH_OFF    /* refused with a listener beyond loopback unless insecure */
} sl_auth_mode;

typedef struct sl_config {
    char listen[SL_LISTEN_MAX][SL_URL_MAX]; /* nng URLs to serve */
    size_t nlisten;
    bool listen_from_flags;       /* flags replace the file's listen list */
    char http_listen[SL_LISTEN_MAX][SL_URL_MAX]; /* HTTP/JSON API: http://host:port or
                                                    https://host:port (tls-cert/tls-key) */
    size_t nhttp_listen;          /* default 0: no HTTP API */
    char data_dir[SL_PATH_MAX];   /* LMDB directory; default ./data */
    char tls_cert[SL_PATH_MAX];   /* PEM certificate (chain) for tls+tcp://, wss://, https:// */
    char tls_key[SL_PATH_MAX];    /* PEM private key */
    uint64_t max_request_bytes;   /* larger requests get "too_large"; default 16 MiB */
    uint32_t max_pending;         /* concurrent requests (nng contexts), incl. long-polls; default 4096 */
    uint64_t maintenance_ms;      /* retention / expiry pass period; default 1 s */
    uint64_t relaxed_sync_ms;     /* relaxed mode only: fsync period; default 100 ms */
    sl_log_level log_level;
    sl_auth_mode auth_mode;       /* auth = auto|on|off; default auto */
    bool insecure;                /* --insecure: allow auth = off beyond loopback */
    sl_store_options store;       /* store.path points at data_dir */
} sl_config;

/* Fill cfg with the defaults. */
void sl_config_defaults(sl_config *cfg);

/* Apply a config file. Returns 0, or -1 with a message in err. */
int sl_config_load_file(sl_config *cfg, const char *path, char *err, size_t errlen);

/* Apply one setting by name (a flag's long name or a config key). Returns 0,
 * or -1 with a message in err. */
int sl_config_set(sl_config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Print the settings' names, defaults and meanings. */
void sl_config_usage(void *stream);

#endif
