/* daemon_client.h: small conveniences for integration tests that talk to a
 * real sluiced through the client library (proto/client.h). */
#ifndef SLUICE_TESTS_DAEMON_CLIENT_H
#define SLUICE_TESTS_DAEMON_CLIENT_H

#include <stdio.h>
#include <string.h>
#include "proto/client.h"
#include "support.h"

/* Open a client on url with a 5 s timeout; NULL on failure (reported). */
static inline sl_client *tc_open(const char *url)
{
    sl_client *c = NULL;
    sl_client_error err;
    sl_client_options opt = {0};
    opt.timeout_ms = 5000;
    if (sl_client_open(url, &opt, &c, &err) != SL_CLIENT_OK) {
        fprintf(stderr, "  cannot open client on %s: %s: %s\n", url, err.code, err.message);
        return NULL;
    }
    return c;
}

/* Publish one event with a string payload; returns its seq or 0. */
static inline uint64_t tc_publish(sl_client *c, const char *topic, const char *payload,
                                  const char *key)
{
    sl_event_in ev = {0};
    ev.topic = sl_slice_of(topic);
    ev.payload = sl_slice_of(payload);
    if (key)
        ev.idem_key = sl_slice_of(key);
    sl_client_result res = {0};
    uint64_t seq = 0;
    if (sl_client_publish(c, &ev, 1, &res) == SL_CLIENT_OK && res.publish.n == 1)
        seq = res.publish.results[0].seq;
    else
        fprintf(stderr, "  publish failed: %s: %s\n", res.error.code, res.error.message);
    sl_client_result_free(&res);
    return seq;
}

/* Create a group with filters (comma-free list, NULL-ended), ack wait and
 * max deliveries (0: default). Returns 0 or -1. */
static inline int tc_group(sl_client *c, const char *name, const char *const *filters,
                           uint64_t ack_wait_ms, uint32_t max_deliveries)
{
    sl_group_config cfg;
    sl_group_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "%s", name);
    unsigned mask = 0;
    if (filters) {
        cfg.nfilters = 0;
        for (; *filters && cfg.nfilters < SL_FILTERS_MAX; filters++)
            snprintf(cfg.filters[cfg.nfilters++], sizeof cfg.filters[0], "%s", *filters);
        mask |= SL_CLIENT_GROUP_FILTERS;
    }
    if (ack_wait_ms) {
        cfg.ack_wait_ms = ack_wait_ms;
        mask |= SL_CLIENT_GROUP_ACK_WAIT;
    }
    if (max_deliveries) {
        cfg.max_deliveries = max_deliveries;
        mask |= SL_CLIENT_GROUP_MAX_DELIVERIES;
    }
    sl_client_result res = {0};
    sl_client_status st = sl_client_group_create(c, &cfg, mask, &res);
    if (st != SL_CLIENT_OK)
        fprintf(stderr, "  group.create %s failed: %s: %s\n", name, res.error.code,
                res.error.message);
    sl_client_result_free(&res);
    return st == SL_CLIENT_OK ? 0 : -1;
}

/* Settle one token; returns the token status, or -1 on a call failure. */
static inline int tc_settle1(sl_client *c, sl_settle_kind kind, const char *group,
                             sl_slice token, uint64_t delay_ms, const char *reason)
{
    sl_client_result res = {0};
    sl_client_status st;
    switch (kind) {
    case SL_SETTLE_ACK:
        st = sl_client_ack(c, group, &token, 1, &res);
        break;
    case SL_SETTLE_NACK:
        st = sl_client_nack(c, group, &token, 1, delay_ms, reason, &res);
        break;
    case SL_SETTLE_EXTEND:
        st = sl_client_extend(c, group, &token, 1, delay_ms, &res);
        break;
    default:
        st = sl_client_term(c, group, &token, 1, reason, &res);
        break;
    }
    int out = -1;
    if (st == SL_CLIENT_OK && res.settle.n == 1)
        out = (int)res.settle.status[0];
    else
        fprintf(stderr, "  settle failed: %s: %s\n", res.error.code, res.error.message);
    sl_client_result_free(&res);
    return out;
}

#endif
