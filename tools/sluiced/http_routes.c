/* http_routes.c: see http_routes.h. The table is the API: keep it in step
 * with proto/HTTP.md. */
#include "tools/sluiced/http_routes.h"

#include <string.h>

static const http_qparam q_log[] = {{"from_seq", "from_seq", Q_UINT},
                                    {"since", "from_time_ms", Q_TIME},
                                    {"from_time_ms", "from_time_ms", Q_TIME},
                                    {"max", "max", Q_UINT},
                                    {NULL, NULL, Q_UINT}};
static const http_qparam q_pull[] = {{"max", "max", Q_UINT},
                                     {"wait_ms", "wait_ms", Q_UINT},
                                     {NULL, NULL, Q_UINT}};
static const http_qparam q_after_seq[] = {{"after_seq", "after_seq", Q_UINT},
                                          {NULL, NULL, Q_UINT}};
static const http_qparam q_after_id[] = {{"after", "after", Q_STR}, {NULL, NULL, Q_UINT}};
static const http_qparam q_deliveries[] = {{"status", "status", Q_STR},
                                           {"http_status", "http_status", Q_UINT},
                                           {"since", "since_ms", Q_TIME},
                                           {"until", "until_ms", Q_TIME},
                                           {"event_id", "event_id", Q_STR},
                                           {"before", "before", Q_UINT},
                                           {NULL, NULL, Q_UINT}};

static const char *const lag_keys[] = {"name", "cursor", "lag", "in_flight", "waiting",
                                       "dlq_size", NULL};

#define GROUP "/v1/groups/{}"
#define HOOK "/v1/webhooks/{}"

static const http_route routes[] = {
    /* events */
    {"POST", "/v1/events", SL_OP_PUBLISH, {0}, NULL, true, B_PUBLISH, "results", {0}, NULL,
     P_NONE, NULL, 0, 201},
    {"GET", "/v1/events", SL_OP_LOG_READ, {0}, q_log, false, B_GENERIC, "events", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"GET", "/v1/topics", SL_OP_TOPICS, {0}, NULL, false, B_GENERIC, "topics", {0}, NULL, P_ALL,
     NULL, 0, 200},
    /* groups */
    {"POST", "/v1/groups", SL_OP_GROUP_CREATE, {0}, NULL, true, B_GENERIC, "group", {0}, NULL,
     P_NONE, NULL, 0, 201},
    {"GET", "/v1/groups", SL_OP_GROUP_LIST, {0}, NULL, false, B_GENERIC, "groups", {0}, NULL,
     P_ALL, NULL, 0, 200},
    {"GET", GROUP, SL_OP_GROUP_GET, {"name"}, NULL, false, B_GENERIC, "group", {0}, NULL, P_NONE,
     NULL, 0, 200},
    {"PATCH", GROUP, SL_OP_GROUP_UPDATE, {"name"}, NULL, true, B_GENERIC, "group", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"DELETE", GROUP, SL_OP_GROUP_DELETE, {"name"}, NULL, false, B_GENERIC, NULL, {0}, NULL,
     P_NONE, NULL, 0, 204},
    {"GET", GROUP "/lag", SL_OP_GROUP_GET, {"name"}, NULL, false, B_GENERIC, "group", {0},
     lag_keys, P_NONE, NULL, 0, 200},
    {"POST", GROUP "/pull", SL_OP_PULL, {"group"}, q_pull, true, B_GENERIC, "deliveries",
     {"acked"}, NULL, P_NONE, NULL, 0, 200},
    {"POST", GROUP "/ack", SL_OP_ACK, {"group"}, NULL, true, B_GENERIC, "results", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"POST", GROUP "/nack", SL_OP_NACK, {"group"}, NULL, true, B_GENERIC, "results", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"POST", GROUP "/extend", SL_OP_EXTEND, {"group"}, NULL, true, B_GENERIC, "results", {0},
     NULL, P_NONE, NULL, 0, 200},
    {"POST", GROUP "/term", SL_OP_TERM, {"group"}, NULL, true, B_GENERIC, "results", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"GET", GROUP "/dead-letters", SL_OP_DLQ_LIST, {"group"}, q_after_seq, false, B_GENERIC,
     "dead_letters", {0}, NULL, P_LIMIT, "limit", 1000, 200},
    {"GET", GROUP "/dead-letters/{}", SL_OP_DLQ_GET, {"group", "seq"}, NULL, false, B_GENERIC,
     "dead_letter", {0}, NULL, P_NONE, NULL, 0, 200},
    {"POST", GROUP "/dead-letters/replay", SL_OP_DLQ_REPLAY, {"group"}, NULL, true, B_GENERIC,
     "", {0}, NULL, P_NONE, NULL, 0, 200},
    {"POST", GROUP "/dead-letters/purge", SL_OP_DLQ_PURGE, {"group"}, NULL, true, B_GENERIC, "",
     {0}, NULL, P_NONE, NULL, 0, 200},
    /* webhooks */
    {"POST", "/v1/webhooks", SL_OP_WEBHOOK_CREATE, {0}, NULL, true, B_GENERIC, "webhook",
     {"secret"}, NULL, P_NONE, NULL, 0, 201},
    {"GET", "/v1/webhooks", SL_OP_WEBHOOK_LIST, {0}, q_after_id, false, B_GENERIC, "webhooks",
     {0}, NULL, P_LIMIT, "limit", 1000, 200},
    {"GET", HOOK, SL_OP_WEBHOOK_GET, {"id"}, NULL, false, B_GENERIC, "webhook", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"PATCH", HOOK, SL_OP_WEBHOOK_UPDATE, {"id"}, NULL, true, B_GENERIC, "webhook", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"DELETE", HOOK, SL_OP_WEBHOOK_DELETE, {"id"}, NULL, false, B_GENERIC, NULL, {0}, NULL,
     P_NONE, NULL, 0, 204},
    {"POST", HOOK "/enable", SL_OP_WEBHOOK_ENABLE, {"id"}, NULL, false, B_GENERIC, "webhook",
     {0}, NULL, P_NONE, NULL, 0, 200},
    {"POST", HOOK "/disable", SL_OP_WEBHOOK_DISABLE, {"id"}, NULL, false, B_GENERIC, "webhook",
     {0}, NULL, P_NONE, NULL, 0, 200},
    {"POST", HOOK "/reset", SL_OP_WEBHOOK_RESET, {"id"}, NULL, false, B_GENERIC, "webhook", {0},
     NULL, P_NONE, NULL, 0, 200},
    {"POST", HOOK "/rotate-secret", SL_OP_WEBHOOK_ROTATE_SECRET, {"id"}, NULL, true, B_GENERIC,
     "webhook", {"secret"}, NULL, P_NONE, NULL, 0, 200},
    {"POST", HOOK "/test", SL_OP_WEBHOOK_TEST, {"id"}, NULL, false, B_GENERIC, "", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"GET", HOOK "/stats", SL_OP_WEBHOOK_STATS, {"id"}, NULL, false, B_GENERIC, "stats", {0},
     NULL, P_NONE, NULL, 0, 200},
    {"GET", HOOK "/deliveries", SL_OP_WEBHOOK_DELIVERIES, {"id"}, q_deliveries, false,
     B_GENERIC, "deliveries", {0}, NULL, P_LIMIT, "limit", 1000, 200},
    {"POST", HOOK "/deliveries/{}/retry", SL_OP_WEBHOOK_RETRY, {"id", "event_id"}, NULL, false,
     B_GENERIC, "", {0}, NULL, P_NONE, NULL, 0, 200},
    {"GET", HOOK "/dead-letters", SL_OP_DLQ_LIST, {"group"}, q_after_seq, false, B_WEBHOOK_GROUP,
     "dead_letters", {0}, NULL, P_LIMIT, "limit", 1000, 200},
    {"POST", HOOK "/dead-letters/replay", SL_OP_DLQ_REPLAY, {"group"}, NULL, true,
     B_WEBHOOK_GROUP, "", {0}, NULL, P_NONE, NULL, 0, 200},
    {"GET", "/v1/event-types", SL_OP_WEBHOOK_EVENT_TYPES, {0}, NULL, false, B_GENERIC, "types",
     {0}, NULL, P_ALL, NULL, 0, 200},
    /* API keys */
    {"POST", "/v1/keys", SL_OP_KEYS_CREATE, {0}, NULL, true, B_GENERIC, "key", {"token"}, NULL,
     P_NONE, NULL, 0, 201},
    {"GET", "/v1/keys", SL_OP_KEYS_LIST, {0}, q_after_id, false, B_GENERIC, "keys", {0}, NULL,
     P_LIMIT, "limit", 1000, 200},
    {"GET", "/v1/keys/{}", SL_OP_KEYS_GET, {"id"}, NULL, false, B_GENERIC, "key", {0}, NULL,
     P_NONE, NULL, 0, 200},
    {"DELETE", "/v1/keys/{}", SL_OP_KEYS_REVOKE, {"id"}, NULL, false, B_GENERIC, NULL, {0},
     NULL, P_NONE, NULL, 0, 204},
    /* the server */
    {"GET", "/v1/stats", SL_OP_STATS, {0}, NULL, false, B_GENERIC, "", {0}, NULL, P_NONE, NULL,
     0, 200},
};

/* Match one pattern; captures go to m. */
static bool match_pattern(const char *pattern, sl_slice path, http_match *m)
{
    size_t pi = 0, si = 0, plen = strlen(pattern);
    m->nparams = 0;
    while (pi < plen && si < path.len) {
        if (pattern[pi] == '{') {
            size_t start = si;
            while (si < path.len && path.ptr[si] != '/')
                si++;
            if (si == start || m->nparams == HTTP_PARAMS_MAX)
                return false;
            m->params[m->nparams++] = (sl_slice){path.ptr + start, si - start};
            pi += 2; /* "{}" */
            continue;
        }
        if (pattern[pi] != path.ptr[si])
            return false;
        pi++, si++;
    }
    return pi == plen && si == path.len;
}

bool http_route_find(sl_slice method, sl_slice path, http_match *m)
{
    memset(m, 0, sizeof *m);
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--; /* "/v1/groups/" is "/v1/groups" */
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        http_match try;
        if (!match_pattern(routes[i].pattern, path, &try))
            continue;
        m->path_known = true;
        if (!sl_slice_eq_cstr(method, routes[i].method))
            continue;
        *m = try;
        m->route = &routes[i];
        m->path_known = true;
        return true;
    }
    return false;
}
