/* test_daemon_transports.c: the daemon serves tcp://, ipc://, ws:// and, with
 * a certificate made by this test (openssl), tls+tcp:// and wss://; all on
 * loopback. A publish on one transport is pulled on another. */
#include <stdlib.h>

#include "daemon_client.h"
#include "unit.h"

static int make_cert(const char *dir, char *cert, char *key, size_t cap)
{
    snprintf(cert, cap, "%s/cert.pem", dir);
    snprintf(key, cap, "%s/key.pem", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             "-keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

TEST(every_transport_serves)
{
    char *dir = test_tmpdir("tls");
    REQUIRE(dir);
    char cert[512], key[512];
    REQUIRE(make_cert(dir, cert, key, sizeof cert) == 0);
    char tcp[64], ws[64], tls[64], wss[64];
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", test_free_port());
    snprintf(ws, sizeof ws, "ws://127.0.0.1:%d/sluice", test_free_port());
    snprintf(tls, sizeof tls, "tls+tcp://127.0.0.1:%d", test_free_port());
    snprintf(wss, sizeof wss, "wss://127.0.0.1:%d/sluice", test_free_port());
    const char *extra[] = {"--listen", ws, "--listen", tls, "--listen", wss, "--tls-cert", cert,
                           "--tls-key", key, NULL};
    test_daemon d;
    /* the first --listen replaces the default; the ipc one the harness adds is ours */
    REQUIRE(test_daemon_start(&d, tcp, extra) == 0);
    const char *urls[] = {tcp, ws, tls, wss};
    sl_client *plain = tc_open(tcp);
    REQUIRE(plain);
    REQUIRE(tc_group(plain, "all", NULL, 0, 0) == 0);
    for (size_t i = 0; i < 4; i++) {
        sl_client_options opt = {0};
        opt.timeout_ms = 5000;
        if (strncmp(urls[i], "tls", 3) == 0 || strncmp(urls[i], "wss", 3) == 0) {
            opt.tls_ca_file = cert;
            opt.tls_server_name = "localhost";
        }
        sl_client *c = NULL;
        sl_client_error err;
        if (sl_client_open(urls[i], &opt, &c, &err) != SL_CLIENT_OK) {
            fprintf(stderr, "  %s: %s: %s\n", urls[i], err.code, err.message);
            CHECK(0);
            continue;
        }
        uint64_t seq = tc_publish(c, "via.transport", urls[i], NULL);
        CHECK(seq != 0);
        sl_client_result res = {0};
        CHECK(sl_client_pull(plain, "all", 1, 1000, &res) == SL_CLIENT_OK);
        CHECK(res.pull.n == 1 && sl_slice_eq_cstr(res.pull.deliveries[0].event.payload, urls[i]));
        sl_client_result_free(&res);
        sl_client_close(c);
    }
    /* a TLS client that does not trust the certificate is refused */
    sl_client_options opt = {0};
    opt.timeout_ms = 2000;
    opt.tls_ca_file = "/etc/ssl/certs/ca-certificates.crt";
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_status st = sl_client_open(tls, &opt, &c, &err);
    if (st == SL_CLIENT_OK) {
        sl_client_result res = {0};
        CHECK(sl_client_ping(c, &res) != SL_CLIENT_OK);
        sl_client_result_free(&res);
        sl_client_close(c);
    }
    sl_client_close(plain);
    CHECK(test_daemon_cleanup(&d) == 0);
    test_rmtree(dir);
    free(dir);
}

TEST(refuses_tls_listener_without_certificate)
{
    char tls[64];
    snprintf(tls, sizeof tls, "tls+tcp://127.0.0.1:%d", test_free_port());
    test_daemon d;
    /* start fails: the daemon exits instead of serving */
    CHECK(test_daemon_start(&d, tls, NULL) != 0);
    CHECK(test_daemon_cleanup(&d) == 0);
}

UNIT_MAIN("transports", UNIT_CASE(every_transport_serves),
          UNIT_CASE(refuses_tls_listener_without_certificate))
