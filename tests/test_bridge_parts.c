/* test_bridge_parts.c: the webhook bridge's building blocks (signatures
 * against the vectors of webhook-signing.md, the envelope, json_buf, the
 * target guard, the rate limiter, Retry-After) and the test receiver
 * (tests/webhook_receiver.h) driven with libcurl on loopback. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "tests/support.h"
#include "tests/unit.h"
#include "tests/webhook_receiver.h"
#include "tools/common/json_buf.h"
#include "tools/common/json_check.h"
#include "tools/sluice-bridge/envelope.h"
#include "tools/sluice-bridge/post.h"
#include "tools/sluice-bridge/rate_limit.h"
#include "tools/sluice-bridge/retry_after.h"
#include "tools/sluice-bridge/signature.h"
#include "tools/sluice-bridge/target_guard.h"

/* The vectors of /work/shared/webhook-signing.md. */
#define SEED_SECRET "It's a Secret to Everybody"
#define V1_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define V1_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330u
#define VEC_BODY "{\"test\": 2432232314}"
#define SEED_EXPECTED "sha256=535d8497d859c07ff9680d86abba5699ebc7378ff8fa0443f98861d0826821f7"
#define V1_EXPECTED "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define V1_NEGATIVE "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
/* A second Standard Webhooks secret: base64 of the bytes 0..31. */
#define OTHER_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* ---- signatures --------------------------------------------------------------------- */

TEST(signature_seed_vector)
{
    wh_signer s;
    REQUIRE(wh_signer_init(&s) == SL_OK);
    char out[WH_SIG_SEED_LEN + 1];
    CHECK(wh_sign_seed(&s, sl_slice_of(SEED_SECRET), VEC_TS, sl_slice_of(VEC_BODY), out) == SL_OK);
    CHECK(strcmp(out, SEED_EXPECTED) == 0);
    /* the same signer again gives the same bytes (the context is re-keyed) */
    CHECK(wh_sign_seed(&s, sl_slice_of(SEED_SECRET), VEC_TS, sl_slice_of(VEC_BODY), out) == SL_OK);
    CHECK(strcmp(out, SEED_EXPECTED) == 0);
    CHECK(wh_sign_seed(&s, sl_slice_of(""), VEC_TS, sl_slice_of(VEC_BODY), out) == SL_ERR_INVALID);
    wh_signer_free(&s);
    wh_signer_free(&s); /* twice is fine */
}

TEST(signature_v1_vector)
{
    wh_signer s;
    REQUIRE(wh_signer_init(&s) == SL_OK);
    char out[WH_SIG_V1_LEN + 1];
    CHECK(wh_sign_v1(&s, sl_slice_of(V1_SECRET), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of(VEC_BODY), out) == SL_OK);
    CHECK(strcmp(out, V1_EXPECTED) == 0);
    CHECK(strcmp(out, V1_NEGATIVE) != 0);
    /* the prefix is optional */
    CHECK(wh_sign_v1(&s, sl_slice_of(V1_SECRET + 6), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of(VEC_BODY), out) == SL_OK);
    CHECK(strcmp(out, V1_EXPECTED) == 0);
    /* a body differing by one byte does not give the vector */
    CHECK(wh_sign_v1(&s, sl_slice_of(V1_SECRET), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of("{\"test\":2432232314}"), out) == SL_OK);
    CHECK(strcmp(out, V1_EXPECTED) != 0);
    /* secrets that do not decode, or are too short */
    CHECK(wh_sign_v1(&s, sl_slice_of("whsec_not base64!"), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of(VEC_BODY), out) == SL_ERR_INVALID);
    CHECK(out[0] == '\0');
    CHECK(wh_sign_v1(&s, sl_slice_of("whsec_c2hvcnQ="), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of(VEC_BODY), out) == SL_ERR_INVALID);
    CHECK(wh_sign_v1(&s, sl_slice_of(SEED_SECRET), sl_slice_of(V1_ID), VEC_TS,
                     sl_slice_of(VEC_BODY), out) == SL_ERR_INVALID);
    wh_signer_free(&s);
}

TEST(signature_headers_two_secrets)
{
    wh_signer s;
    REQUIRE(wh_signer_init(&s) == SL_OK);
    sl_slice secrets[2] = {sl_slice_of(V1_SECRET), sl_slice_of(OTHER_SECRET)};
    char seed[WH_SIG_SEED_HEADER_CAP(2)], v1[WH_SIG_V1_HEADER_CAP(2)];
    CHECK(wh_sign_headers(&s, secrets, 2, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, sizeof seed, v1, sizeof v1) == SL_OK);
    char seed0[WH_SIG_SEED_LEN + 1], seed1[WH_SIG_SEED_LEN + 1], v1_1[WH_SIG_V1_LEN + 1];
    REQUIRE(wh_sign_seed(&s, secrets[0], VEC_TS, sl_slice_of(VEC_BODY), seed0) == SL_OK);
    REQUIRE(wh_sign_seed(&s, secrets[1], VEC_TS, sl_slice_of(VEC_BODY), seed1) == SL_OK);
    REQUIRE(wh_sign_v1(&s, secrets[1], sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                       v1_1) == SL_OK);
    char want[512];
    snprintf(want, sizeof want, "%s %s", seed0, seed1);
    CHECK(strcmp(seed, want) == 0);
    snprintf(want, sizeof want, "%s %s", V1_EXPECTED, v1_1);
    CHECK(strcmp(v1, want) == 0);
    CHECK(strcmp(seed0, seed1) != 0);

    /* one secret: one entry */
    CHECK(wh_sign_headers(&s, secrets, 1, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, sizeof seed, v1, sizeof v1) == SL_OK);
    CHECK(strcmp(v1, V1_EXPECTED) == 0);
    CHECK(strcmp(seed, seed0) == 0);

    /* buffers one byte short, a bad secret, no secret: errors, outputs empty */
    CHECK(wh_sign_headers(&s, secrets, 2, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, WH_SIG_SEED_HEADER_CAP(2) - 1, v1, sizeof v1) == SL_ERR_TOO_LARGE);
    CHECK(seed[0] == '\0' && v1[0] == '\0');
    CHECK(wh_sign_headers(&s, secrets, 2, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, sizeof seed, v1, WH_SIG_V1_HEADER_CAP(2) - 1) == SL_ERR_TOO_LARGE);
    CHECK(wh_sign_headers(&s, secrets, 2, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, 0, v1, 0) == SL_ERR_TOO_LARGE);
    sl_slice bad[2] = {sl_slice_of(V1_SECRET), sl_slice_of("whsec_%%%")};
    CHECK(wh_sign_headers(&s, bad, 2, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, sizeof seed, v1, sizeof v1) == SL_ERR_INVALID);
    CHECK(seed[0] == '\0' && v1[0] == '\0');
    CHECK(wh_sign_headers(&s, secrets, 0, sl_slice_of(V1_ID), VEC_TS, sl_slice_of(VEC_BODY),
                          seed, sizeof seed, v1, sizeof v1) == SL_ERR_INVALID);
    wh_signer_free(&s);
}

/* ---- json_buf ----------------------------------------------------------------------- */

TEST(json_buf_values_and_commas)
{
    json_buf b;
    jb_init(&b);
    CHECK(jb_begin_object(&b) == SL_OK);
    CHECK(jb_key_cstr(&b, "a") == SL_OK);
    CHECK(jb_begin_array(&b) == SL_OK);
    CHECK(jb_uint(&b, 18446744073709551615u) == SL_OK);
    CHECK(jb_int(&b, -9223372036854775807 - 1) == SL_OK);
    CHECK(jb_bool(&b, true) == SL_OK);
    CHECK(jb_bool(&b, false) == SL_OK);
    CHECK(jb_null(&b) == SL_OK);
    CHECK(jb_begin_object(&b) == SL_OK);
    CHECK(jb_end_object(&b) == SL_OK);
    CHECK(jb_begin_array(&b) == SL_OK);
    CHECK(jb_end_array(&b) == SL_OK);
    CHECK(jb_raw(&b, sl_slice_of("{\"x\": [1, 2]}")) == SL_OK);
    CHECK(jb_end_array(&b) == SL_OK);
    CHECK(jb_key_cstr(&b, "b") == SL_OK);
    CHECK(jb_base64(&b, sl_slice_of("hi!?")) == SL_OK);
    CHECK(jb_key_cstr(&b, "c") == SL_OK);
    CHECK(jb_base64(&b, sl_slice_of("")) == SL_OK);
    CHECK(jb_end_object(&b) == SL_OK);
    const char *want = "{\"a\":[18446744073709551615,-9223372036854775808,true,false,null,{},[],"
                       "{\"x\": [1, 2]}],\"b\":\"aGkhPw==\",\"c\":\"\"}";
    REQUIRE(b.data != NULL);
    CHECK(strcmp(b.data, want) == 0);
    CHECK_EQ_U64(b.len, strlen(want));
    CHECK(json_is_valid(jb_slice(&b)));

    /* reset keeps the memory */
    char *mem = b.data;
    size_t cap = b.cap;
    jb_reset(&b);
    CHECK(b.len == 0 && b.data == mem && b.cap == cap && b.data[0] == '\0');
    CHECK(jb_begin_array(&b) == SL_OK);
    CHECK(jb_uint(&b, 1) == SL_OK);
    CHECK(jb_uint(&b, 2) == SL_OK);
    CHECK(jb_end_array(&b) == SL_OK);
    CHECK(strcmp(b.data, "[1,2]") == 0);
    CHECK(b.data == mem);
    jb_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

TEST(json_buf_escaping)
{
    json_buf b;
    jb_init(&b);
    static const char in[] = "q\"b\\s/ \b\f\n\r\t\x01\x1f\x7f \xe2\x80\xa8 \xc3\xa9 \xf0\x9f\x98\x80 \xff";
    CHECK(jb_string(&b, (sl_slice){in, sizeof in - 1}) == SL_OK);
    const char *want = "\"q\\\"b\\\\s/ \\b\\f\\n\\r\\t\\u0001\\u001f\\u007f \\u2028 "
                       "\xc3\xa9 \xf0\x9f\x98\x80 \\ufffd\"";
    REQUIRE(b.data != NULL);
    CHECK(strcmp(b.data, want) == 0);
    CHECK(json_is_valid(jb_slice(&b)));

    /* keys are escaped the same way; an embedded NUL too */
    jb_reset(&b);
    CHECK(jb_begin_object(&b) == SL_OK);
    CHECK(jb_key(&b, (sl_slice){"k\"\0", 3}) == SL_OK);
    CHECK(jb_cstr(&b, "v") == SL_OK);
    CHECK(jb_end_object(&b) == SL_OK);
    CHECK(strcmp(b.data, "{\"k\\\"\\u0000\":\"v\"}") == 0);
    jb_free(&b);
}

TEST(json_buf_misuse)
{
    json_buf b;
    jb_init(&b);
    CHECK(jb_key_cstr(&b, "k") == SL_ERR_INVALID);   /* no object */
    CHECK(jb_end_object(&b) == SL_ERR_INVALID);      /* nothing open */
    CHECK(jb_begin_object(&b) == SL_OK);
    CHECK(jb_uint(&b, 1) == SL_ERR_INVALID);         /* a key is due */
    CHECK(jb_end_array(&b) == SL_ERR_INVALID);       /* wrong bracket */
    CHECK(jb_key_cstr(&b, "k") == SL_OK);
    CHECK(jb_key_cstr(&b, "k2") == SL_ERR_INVALID);  /* a value is due */
    CHECK(jb_end_object(&b) == SL_ERR_INVALID);
    CHECK(jb_uint(&b, 7) == SL_OK);
    CHECK(jb_end_object(&b) == SL_OK);
    CHECK(strcmp(b.data, "{\"k\":7}") == 0);          /* failures wrote nothing */

    jb_reset(&b);
    int opened = 0;
    while (jb_begin_array(&b) == SL_OK)
        opened++;
    CHECK_EQ_U64(opened, JSON_BUF_DEPTH_MAX);
    for (int i = 0; i < opened; i++)
        CHECK(jb_end_array(&b) == SL_OK);
    CHECK(json_is_valid(jb_slice(&b)));
    jb_free(&b);
}

TEST(json_check_basics)
{
    CHECK(json_is_valid(sl_slice_of(" {\"a\": [1, -2.5e3, true, null, \"\\u00e9\"]} ")));
    CHECK(!json_is_valid(sl_slice_of("")));
    CHECK(!json_is_valid(sl_slice_of("{\"a\":}")));
    CHECK(!json_is_valid(sl_slice_of("[1,]")));
    CHECK(!json_is_valid(sl_slice_of("hello")));
    CHECK(!json_is_valid(sl_slice_of("\"\xff\"")));
    CHECK(utf8_is_valid(sl_slice_of("caf\xc3\xa9\n")));
    CHECK(!utf8_is_valid(sl_slice_of("\xc0\xaf")));        /* overlong */
    CHECK(!utf8_is_valid(sl_slice_of("\xed\xa0\x80")));    /* surrogate */
    CHECK(utf8_is_clean_text(sl_slice_of("caf\xc3\xa9")));
    CHECK(!utf8_is_clean_text(sl_slice_of("a\tb")));
}

/* ---- envelope ----------------------------------------------------------------------- */

#define EVT_ID "evt_0000000000000001000000000000002a"
#define TS_2026 1795428000123u /* 2026-11-23T10:00:00.123Z */

TEST(envelope_json_payload)
{
    json_buf b;
    jb_init(&b);
    wh_envelope_event ev = {sl_slice_of(EVT_ID), sl_slice_of("order.created"), TS_2026,
                            sl_slice_of("application/json"), sl_slice_of("{\"id\": 1001, \"total\": 25.5}")};
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    const char *want = "{\"id\":\"" EVT_ID "\",\"type\":\"order.created\","
                       "\"created_at\":\"2026-11-23T10:00:00.123Z\","
                       "\"data\":{\"id\": 1001, \"total\": 25.5}}";
    REQUIRE(b.data != NULL);
    CHECK(strcmp(b.data, want) == 0);
    CHECK(json_is_valid(jb_slice(&b)));

    /* a JSON scalar is JSON too; the buffer is reset by each build */
    ev.payload = sl_slice_of("42");
    ev.content_type = sl_slice_of("");
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    CHECK(strstr(b.data, "\"data\":42}") != NULL);
    CHECK(strncmp(b.data, "{\"id\"", 5) == 0);
    jb_free(&b);
}

TEST(envelope_binary_payload)
{
    json_buf b;
    jb_init(&b);
    wh_envelope_event ev = {sl_slice_of(EVT_ID), sl_slice_of("file.uploaded"), 0,
                            sl_slice_of("text/x-\"odd\"\\"), {"\x00\x01hi", 4}};
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    const char *want = "{\"id\":\"" EVT_ID "\",\"type\":\"file.uploaded\","
                       "\"created_at\":\"1970-01-01T00:00:00.000Z\","
                       "\"data\":{\"content_type\":\"text/x-\\\"odd\\\"\\\\\",\"base64\":\"AAFoaQ==\"}}";
    REQUIRE(b.data != NULL);
    CHECK(strcmp(b.data, want) == 0);
    CHECK(json_is_valid(jb_slice(&b)));

    /* no content type, not JSON (and an empty payload is not JSON either) */
    ev.content_type = sl_slice_of("");
    ev.payload = sl_slice_of("plain text");
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    CHECK(strstr(b.data, "\"data\":{\"content_type\":\"application/octet-stream\","
                         "\"base64\":\"cGxhaW4gdGV4dA==\"}}") != NULL);
    ev.payload = sl_slice_of("");
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    CHECK(strstr(b.data, "\"base64\":\"\"}}") != NULL);
    CHECK(json_is_valid(jb_slice(&b)));
    jb_free(&b);
}

TEST(envelope_test_topic_and_time)
{
    json_buf b;
    jb_init(&b);
    wh_envelope_event ev = {sl_slice_of(EVT_ID), sl_slice_of("_wh.wh_0123456789abcdef"),
                            TS_2026 + 876, sl_slice_of(""), sl_slice_of("{}")};
    CHECK(wh_envelope_build(&b, &ev) == SL_OK);
    REQUIRE(b.data != NULL);
    CHECK(strstr(b.data, "\"type\":\"webhook.test\"") != NULL);
    CHECK(strstr(b.data, "\"created_at\":\"2026-11-23T10:00:00.999Z\"") != NULL);
    CHECK(sl_slice_eq_cstr(wh_envelope_type(sl_slice_of("_wh.x")), WH_TEST_TYPE));
    CHECK(sl_slice_eq_cstr(wh_envelope_type(sl_slice_of("_wh")), "_wh"));
    CHECK(sl_slice_eq_cstr(wh_envelope_type(sl_slice_of("wh.x")), "wh.x"));

    char t[WH_TIME_MAX];
    CHECK(wh_format_time(TS_2026 + 1000ull * 86400 * 40, t) == SL_OK);
    CHECK(strcmp(t, "2027-01-02T10:00:00.123Z") == 0);
    CHECK(wh_format_time(UINT64_MAX, t) == SL_ERR_INVALID);
    jb_free(&b);
}

/* ---- target guard ------------------------------------------------------------------- */

static wh_addr_class class_of(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, text, &a->sin6_addr) != 1)
            return (wh_addr_class)-1;
        return wh_addr_classify((struct sockaddr *)a, sizeof *a);
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &a->sin_addr) != 1)
        return (wh_addr_class)-1;
    return wh_addr_classify((struct sockaddr *)a, sizeof *a);
}

TEST(target_guard_table)
{
    static const struct {
        const char *addr;
        wh_addr_class cls;
    } cases[] = {
        {"8.8.8.8", WH_ADDR_PUBLIC},
        {"93.184.216.34", WH_ADDR_PUBLIC},
        {"172.32.0.1", WH_ADDR_PUBLIC},
        {"100.128.0.1", WH_ADDR_PUBLIC},
        {"192.0.1.1", WH_ADDR_PUBLIC},
        {"223.255.255.255", WH_ADDR_PUBLIC},
        {"127.0.0.1", WH_ADDR_LOOPBACK},
        {"127.255.0.9", WH_ADDR_LOOPBACK},
        {"10.1.2.3", WH_ADDR_PRIVATE},
        {"172.16.0.1", WH_ADDR_PRIVATE},
        {"172.31.255.255", WH_ADDR_PRIVATE},
        {"192.168.1.1", WH_ADDR_PRIVATE},
        {"100.64.0.1", WH_ADDR_SHARED},
        {"100.127.255.255", WH_ADDR_SHARED},
        {"169.254.169.254", WH_ADDR_LINK_LOCAL},
        {"0.0.0.0", WH_ADDR_UNSPECIFIED},
        {"0.1.2.3", WH_ADDR_RESERVED},
        {"192.0.0.8", WH_ADDR_RESERVED},
        {"192.0.2.10", WH_ADDR_DOCUMENTATION},
        {"198.18.0.1", WH_ADDR_RESERVED},
        {"198.19.255.1", WH_ADDR_RESERVED},
        {"198.51.100.7", WH_ADDR_DOCUMENTATION},
        {"203.0.113.9", WH_ADDR_DOCUMENTATION},
        {"224.0.0.1", WH_ADDR_MULTICAST},
        {"239.255.255.250", WH_ADDR_MULTICAST},
        {"240.0.0.1", WH_ADDR_RESERVED},
        {"255.255.255.255", WH_ADDR_BROADCAST},
        {"2606:4700:4700::1111", WH_ADDR_PUBLIC},
        {"2a00:1450:4001:80b::200e", WH_ADDR_PUBLIC},
        {"::1", WH_ADDR_LOOPBACK},
        {"::", WH_ADDR_UNSPECIFIED},
        {"::ffff:127.0.0.1", WH_ADDR_LOOPBACK},
        {"::ffff:10.0.0.1", WH_ADDR_PRIVATE},
        {"::ffff:169.254.169.254", WH_ADDR_LINK_LOCAL},
        {"::ffff:8.8.8.8", WH_ADDR_PUBLIC},
        {"::127.0.0.1", WH_ADDR_RESERVED},
        {"64:ff9b::192.168.0.1", WH_ADDR_PRIVATE},
        {"64:ff9b::7f00:1", WH_ADDR_LOOPBACK},
        {"64:ff9b::8.8.8.8", WH_ADDR_PUBLIC},
        {"64:ff9b:1::1", WH_ADDR_PRIVATE},
        {"2002:c0a8:0101::1", WH_ADDR_PRIVATE},
        {"2002:0808:0808::1", WH_ADDR_PUBLIC},
        {"fc00::1", WH_ADDR_PRIVATE},
        {"fd12:3456::1", WH_ADDR_PRIVATE},
        {"fe80::1", WH_ADDR_LINK_LOCAL},
        {"febf::1", WH_ADDR_LINK_LOCAL},
        {"fec0::1", WH_ADDR_PRIVATE},
        {"ff02::1", WH_ADDR_MULTICAST},
        {"2001:db8::1", WH_ADDR_DOCUMENTATION},
        {"3fff::1", WH_ADDR_DOCUMENTATION},
        {"2001::1", WH_ADDR_RESERVED},
        {"100::1", WH_ADDR_RESERVED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wh_addr_class got = class_of(cases[i].addr);
        if (got != cases[i].cls)
            fprintf(stderr, "  %s: got %s, expected %s\n", cases[i].addr,
                    wh_addr_class_name(got), wh_addr_class_name(cases[i].cls));
        CHECK(got == cases[i].cls);
    }
    struct sockaddr_in short_one = {.sin_family = AF_INET};
    CHECK(wh_addr_classify((struct sockaddr *)&short_one, 4) == WH_ADDR_UNSUPPORTED);
    struct sockaddr unix_like = {.sa_family = AF_UNIX};
    CHECK(wh_addr_classify(&unix_like, sizeof unix_like) == WH_ADDR_UNSUPPORTED);
    CHECK(strcmp(wh_addr_class_name(WH_ADDR_LINK_LOCAL), "link_local") == 0);
}

/* ---- rate limit --------------------------------------------------------------------- */

TEST(rate_limit_bucket)
{
    wh_rate r;
    wh_rate_init(&r, 0, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK(wh_rate_take(&r, 1000));
    CHECK_EQ_U64(wh_rate_ready_at(&r, 1000), 1000);

    wh_rate_init(&r, 2, 1000); /* burst 2 */
    CHECK(wh_rate_take(&r, 1000));
    CHECK(wh_rate_take(&r, 1000));
    CHECK(!wh_rate_take(&r, 1000));
    CHECK_EQ_U64(wh_rate_ready_at(&r, 1000), 1500);
    CHECK(!wh_rate_take(&r, 1499));
    CHECK(wh_rate_take(&r, 1500));
    CHECK(!wh_rate_take(&r, 1500));
    CHECK(wh_rate_take(&r, 100000)); /* a long pause refills only up to the burst */
    CHECK(wh_rate_take(&r, 100000));
    CHECK(!wh_rate_take(&r, 100000));
    CHECK(!wh_rate_take(&r, 90000)); /* the clock going back adds nothing */

    wh_rate_init(&r, 3, 0); /* fractions: a token every 333.3 ms */
    for (int i = 0; i < 3; i++)
        CHECK(wh_rate_take(&r, 0));
    CHECK_EQ_U64(wh_rate_ready_at(&r, 0), 334);
    CHECK(!wh_rate_take(&r, 333));
    CHECK(wh_rate_take(&r, 334));
    uint64_t taken = 0;
    for (uint64_t t = 334; t <= 10334; t++)
        taken += wh_rate_take(&r, t);
    CHECK_EQ_U64(taken, 30); /* 3 per second over 10 s */

    wh_rate_init(&r, 1, 0); /* rate 1: burst 1 */
    CHECK(wh_rate_take(&r, 0));
    CHECK(!wh_rate_take(&r, 999));
    CHECK(wh_rate_take(&r, 1000));

    wh_rate_init(&r, 100000, 0);
    int n = 0;
    while (wh_rate_take(&r, 0))
        n++;
    CHECK_EQ_U64(n, 100000);
    CHECK_EQ_U64(wh_rate_ready_at(&r, 0), 1);

    wh_rate_set(&r, 5, 0); /* a new rate: the empty bucket refills at it */
    CHECK_EQ_U64(wh_rate_ready_at(&r, 0), 200);
    wh_rate_init(&r, 100000, 0);
    wh_rate_set(&r, 5, 0); /* to a lower rate: a full bucket is cut to the new burst */
    n = 0;
    while (wh_rate_take(&r, 0))
        n++;
    CHECK_EQ_U64(n, 5);
    wh_rate_set(&r, 0, 0);
    CHECK(wh_rate_take(&r, 0));

    /* tokens a pull did not use come back, up to the burst */
    wh_rate_init(&r, 3, 0);
    for (int i = 0; i < 3; i++)
        CHECK(wh_rate_take(&r, 0));
    CHECK(!wh_rate_take(&r, 0));
    wh_rate_refund(&r, 2);
    CHECK(wh_rate_take(&r, 0));
    CHECK(wh_rate_take(&r, 0));
    CHECK(!wh_rate_take(&r, 0));
    wh_rate_refund(&r, 1000000); /* never past the burst */
    n = 0;
    while (wh_rate_take(&r, 0))
        n++;
    CHECK_EQ_U64(n, 3);
    wh_rate_init(&r, 0, 0);
    wh_rate_refund(&r, 5); /* unlimited: nothing to give back */
    CHECK(wh_rate_take(&r, 0));
}

/* ---- Retry-After -------------------------------------------------------------------- */

TEST(retry_after_values)
{
    const uint64_t now = 784111740000u; /* Sun, 06 Nov 1994 08:49:00 GMT */
    uint64_t d = 1;
    CHECK(wh_retry_after_parse(sl_slice_of("120"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 120000);
    CHECK(wh_retry_after_parse(sl_slice_of(" \t5 "), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 5000);
    CHECK(wh_retry_after_parse(sl_slice_of("0"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 0);
    CHECK(wh_retry_after_parse(sl_slice_of("86401"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, WH_RETRY_AFTER_MAX_MS);
    CHECK(wh_retry_after_parse(sl_slice_of("999999999999999999999999"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, WH_RETRY_AFTER_MAX_MS);

    CHECK(wh_retry_after_parse(sl_slice_of("Sun, 06 Nov 1994 08:49:37 GMT"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 37000);
    CHECK(wh_retry_after_parse(sl_slice_of("Sunday, 06-Nov-94 08:49:37 GMT"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 37000);
    CHECK(wh_retry_after_parse(sl_slice_of("Sun Nov  6 08:49:37 1994"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 37000);
    CHECK(wh_retry_after_parse(sl_slice_of("Sat, 05 Nov 1994 08:49:37 GMT"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, 0); /* past */
    CHECK(wh_retry_after_parse(sl_slice_of("Mon, 07 Nov 1994 08:49:01 GMT"), now, &d) == SL_OK);
    CHECK_EQ_U64(d, WH_RETRY_AFTER_MAX_MS); /* a day and a second ahead */
    CHECK(wh_retry_after_parse(sl_slice_of("Tue, 29 Feb 2028 00:00:00 GMT"), 1835395200000u - 1000,
                               &d) == SL_OK);
    CHECK_EQ_U64(d, 1000);

    static const char *const garbage[] = {
        "", "   ", "abc", "12a", "-5", "+5", "1.5", "5 s", "0x10",
        "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun, 00 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        d = 1;
        sl_err err = wh_retry_after_parse(sl_slice_of(garbage[i]), now, &d);
        if (err != SL_ERR_INVALID)
            fprintf(stderr, "  accepted garbage \"%s\"\n", garbage[i]);
        CHECK(err == SL_ERR_INVALID);
        CHECK_EQ_U64(d, 0);
    }
}

/* ---- the receiver, driven with libcurl ---------------------------------------------- */

/* One POST's outcome. */
typedef struct post_result {
    CURLcode rc;
    long status;
    char retry_after[64];   /* the Retry-After header received, "" when none */
    char body[256];         /* the start of the response body */
    size_t body_len;
} post_result;

static size_t collect_body(char *p, size_t size, size_t n, void *ctx)
{
    post_result *r = ctx;
    size_t len = size * n, room = sizeof r->body - 1 - r->body_len;
    memcpy(r->body + r->body_len, p, len < room ? len : room);
    r->body_len += len < room ? len : room;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t collect_header(char *p, size_t size, size_t n, void *ctx)
{
    post_result *r = ctx;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t v = len - 12;
        const char *s = p + 12;
        while (v && (*s == ' '))
            s++, v--;
        while (v && (s[v - 1] == '\r' || s[v - 1] == '\n'))
            v--;
        if (v >= sizeof r->retry_after)
            v = sizeof r->retry_after - 1;
        memcpy(r->retry_after, s, v);
        r->retry_after[v] = '\0';
    }
    return len;
}

/* POST body to url with extra headers (NULL-ended, may be NULL), on easy
 * (reused between calls so connections are kept alive), timeout_ms. */
static post_result post(CURL *easy, const char *url, const char *body, size_t body_len,
                        const char *const *headers, long timeout_ms)
{
    post_result r;
    memset(&r, 0, sizeof r);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    r.rc = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    return r;
}

static post_result post_text(CURL *easy, whr_server *s, const char *path, const char *body)
{
    char url[256];
    whr_url(s, path, url, sizeof url);
    return post(easy, url, body, strlen(body), NULL, 5000);
}

TEST(receiver_status_per_path)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    CHECK(whr_port(s) > 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    REQUIRE(easy != NULL);

    CHECK(whr_set_default(s, "/gone", &(whr_behaviour){.status = 410, .body = "bye"}) == 0);
    CHECK(whr_push(s, "/flaky", &(whr_behaviour){.status = 500}) == 0);
    CHECK(whr_push(s, "/flaky", &(whr_behaviour){.status = 502}) == 0);
    CHECK(whr_set_default(s, "/flaky", &(whr_behaviour){.status = 204}) == 0);

    post_result r = post_text(easy, s, "/ok", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 200 && r.body_len == 0);
    r = post_text(easy, s, "/gone?x=1", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 410 && strcmp(r.body, "bye") == 0);
    long want[] = {500, 502, 204, 204};
    for (size_t i = 0; i < 4; i++) {
        r = post_text(easy, s, "/flaky", "{}");
        CHECK(r.rc == CURLE_OK);
        CHECK_EQ_U64(r.status, want[i]);
    }
    CHECK_EQ_U64(whr_count(s, "/ok"), 1);
    CHECK_EQ_U64(whr_count(s, "/gone"), 1);
    CHECK_EQ_U64(whr_count(s, "/flaky"), 4);
    CHECK_EQ_U64(whr_count(s, "/never"), 0);
    whr_request *q = whr_get(s, "/flaky", 1);
    REQUIRE(q != NULL);
    CHECK(q->status == 502 && strcmp(q->method, "POST") == 0 && strcmp(q->path, "/flaky") == 0);
    whr_request_free(q);
    CHECK(whr_get(s, "/flaky", 4) == NULL);

    uint64_t t0 = test_mono_ms();
    CHECK(!whr_wait(s, "/flaky", 5, 200)); /* bounded */
    CHECK(test_mono_ms() - t0 >= 190);
    CHECK(whr_wait(s, "/flaky", 4, 200));

    curl_easy_cleanup(easy);
    curl_global_cleanup();
    whr_stop(s);
}

TEST(receiver_retry_after_stall_drop)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    REQUIRE(easy != NULL);

    CHECK(whr_push(s, "/busy", &(whr_behaviour){.status = 429, .retry_after = "7"}) == 0);
    CHECK(whr_push(s, "/busy", &(whr_behaviour){.status = 503,
                                                .retry_after = "Sun, 06 Nov 1994 08:49:37 GMT"}) == 0);
    post_result r = post_text(easy, s, "/busy", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 429 && strcmp(r.retry_after, "7") == 0);
    r = post_text(easy, s, "/busy", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 503);
    CHECK(strcmp(r.retry_after, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
    r = post_text(easy, s, "/busy", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 200 && r.retry_after[0] == '\0');

    /* stall past the client's timeout */
    CHECK(whr_push(s, "/slow", &(whr_behaviour){.stall_ms = 1500}) == 0);
    char url[256];
    whr_url(s, "/slow", url, sizeof url);
    uint64_t t0 = test_mono_ms();
    r = post(easy, url, "{}", 2, NULL, 200);
    uint64_t took = test_mono_ms() - t0;
    CHECK(r.rc == CURLE_OPERATION_TIMEDOUT);
    CHECK(took >= 150 && took < 1200);
    CHECK_EQ_U64(whr_count(s, "/slow"), 1);
    r = post_text(easy, s, "/slow", "{}"); /* the queue is spent: answers at once */
    CHECK(r.rc == CURLE_OK && r.status == 200);

    /* drop: on a fresh connection (curl resends once on a reused one) */
    CHECK(whr_set_default(s, "/drop", &(whr_behaviour){.drop = true}) == 0);
    CURL *fresh = curl_easy_init();
    REQUIRE(fresh != NULL);
    r = post_text(fresh, s, "/drop", "{}");
    CHECK(r.rc == CURLE_GOT_NOTHING);
    CHECK_EQ_U64(whr_count(s, "/drop"), 1);
    whr_request *q = whr_get(s, "/drop", 0);
    REQUIRE(q != NULL);
    CHECK(q->status == 0);
    whr_request_free(q);
    curl_easy_cleanup(fresh);

    /* a stalled request does not hold up stop */
    CHECK(whr_set_default(s, "/stuck", &(whr_behaviour){.stall_ms = 60000}) == 0);
    whr_url(s, "/stuck", url, sizeof url);
    r = post(easy, url, "{}", 2, NULL, 100);
    CHECK(r.rc == CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    t0 = test_mono_ms();
    whr_stop(s);
    CHECK(test_mono_ms() - t0 < 1000);
}

TEST(receiver_records_and_verifies)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    REQUIRE(easy != NULL);
    wh_signer sig;
    REQUIRE(wh_signer_init(&sig) == SL_OK);

    const char *secrets[] = {OTHER_SECRET, V1_SECRET};
    CHECK(whr_set_secrets(s, "/hook", secrets, 2) == 0);
    char url[256];
    whr_url(s, "/hook", url, sizeof url);
    const char *body = "{\"id\":\"evt_1\",\"type\":\"order.created\",\"data\":{\"n\":\"\\u00e9\"}}";
    uint64_t now = test_wall_ms() / 1000;

    /* signed by (new, old), by old only, tampered, stale timestamp, unsigned */
    struct {
        size_t first, n;      /* secrets used */
        uint64_t ts;
        const char *sent;     /* body sent (signed over body) */
        unsigned seed_ok, v1_ok;
    } cases[] = {
        {0, 2, now, body, 3, 3},
        {1, 1, now, body, 2, 2},
        {0, 2, now, "{\"tampered\":1}", 0, 0},
        {0, 1, now - 600, body, 1, 0},
        {0, 0, now, body, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_slice list[2] = {sl_slice_of(secrets[cases[i].first]), sl_slice_of(secrets[1])};
        char seed[WH_SIG_SEED_HEADER_CAP(2)] = "", v1[WH_SIG_V1_HEADER_CAP(2)] = "";
        if (cases[i].n)
            CHECK(wh_sign_headers(&sig, list, cases[i].n, sl_slice_of("evt_1"), cases[i].ts,
                                  sl_slice_of(body), seed, sizeof seed, v1, sizeof v1) == SL_OK);
        char h[8][512];
        snprintf(h[0], sizeof h[0], "X-Webhook-Id: evt_1");
        snprintf(h[1], sizeof h[1], "X-Webhook-Timestamp: %llu", (unsigned long long)cases[i].ts);
        snprintf(h[2], sizeof h[2], "X-Webhook-Signature: %s", seed);
        snprintf(h[3], sizeof h[3], "webhook-id: evt_1");
        snprintf(h[4], sizeof h[4], "webhook-timestamp: %llu", (unsigned long long)cases[i].ts);
        snprintf(h[5], sizeof h[5], "webhook-signature: %s", v1);
        snprintf(h[6], sizeof h[6], "X-Webhook-Attempt: %zu", i + 1);
        snprintf(h[7], sizeof h[7], "X-Custom-Thing:  spaced value ");
        const char *headers[] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                                 "X-Webhook-Event: order.created", "User-Agent: sluice-webhooks/test",
                                 "Content-Type: application/json", NULL};
        post_result r = post(easy, url, cases[i].sent, strlen(cases[i].sent), headers, 5000);
        CHECK(r.rc == CURLE_OK && r.status == 200);
        whr_request *q = whr_get(s, "/hook", i);
        REQUIRE(q != NULL);
        if (q->seed_ok != cases[i].seed_ok || q->v1_ok != cases[i].v1_ok)
            fprintf(stderr, "  case %zu: seed_ok %u v1_ok %u\n", i, q->seed_ok, q->v1_ok);
        CHECK(q->seed_ok == cases[i].seed_ok);
        CHECK(q->v1_ok == cases[i].v1_ok);
        CHECK(strcmp(q->x_webhook_id, "evt_1") == 0 && strcmp(q->webhook_id, "evt_1") == 0);
        CHECK(strcmp(q->x_webhook_event, "order.created") == 0);
        CHECK(strcmp(q->x_webhook_signature, seed) == 0);
        CHECK(strcmp(q->webhook_signature, v1) == 0);
        CHECK_EQ_U64(strtoull(q->x_webhook_timestamp, NULL, 10), cases[i].ts);
        CHECK_EQ_U64(strtoull(q->webhook_timestamp, NULL, 10), cases[i].ts);
        CHECK_EQ_U64(strtoull(q->x_webhook_attempt, NULL, 10), i + 1);
        CHECK(strcmp(q->user_agent, "sluice-webhooks/test") == 0);
        CHECK(strcmp(q->content_type, "application/json") == 0);
        CHECK(q->body_len == strlen(cases[i].sent) && strcmp(q->body, cases[i].sent) == 0);
        const char *custom = whr_header(q, "x-custom-thing");
        CHECK(custom && strcmp(custom, "spaced value") == 0);
        CHECK(whr_header(q, "X-Absent") == NULL);
        CHECK(q->arrival_ms > 0 && q->arrival_wall_ms / 1000 >= now);
        whr_request_free(q);
    }

    /* the seeds' scheme also takes comma-separated entries */
    char seed[WH_SIG_SEED_LEN + 1];
    CHECK(wh_sign_seed(&sig, sl_slice_of(V1_SECRET), now, sl_slice_of(body), seed) == SL_OK);
    char h1[128], h2[128];
    snprintf(h1, sizeof h1, "X-Webhook-Timestamp: %llu", (unsigned long long)now);
    snprintf(h2, sizeof h2, "X-Webhook-Signature: sha256=00,%s", seed);
    const char *headers[] = {h1, h2, NULL};
    post_result r = post(easy, url, body, strlen(body), headers, 5000);
    CHECK(r.rc == CURLE_OK);
    whr_request *q = whr_get(s, "/hook", 5);
    REQUIRE(q != NULL);
    CHECK(q->seed_ok == 2 && q->v1_ok == 0 && q->x_webhook_id[0] == '\0');
    whr_request_free(q);

    wh_signer_free(&sig);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    whr_stop(s);
}

TEST(receiver_large_body_and_keepalive)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    REQUIRE(easy != NULL);
    size_t n = 3u << 20; /* past libcurl's Expect: 100-continue threshold */
    char *big = malloc(n);
    REQUIRE(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    char url[256];
    whr_url(s, "/big", url, sizeof url);
    for (int i = 0; i < 3; i++) {
        post_result r = post(easy, url, big, n, NULL, 10000);
        CHECK(r.rc == CURLE_OK && r.status == 200);
    }
    long connects = -1;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    CHECK(connects == 0); /* the last request went over the kept-alive connection */
    CHECK(whr_wait(s, "/big", 3, 1000));
    whr_request *q = whr_get(s, "/big", 2);
    REQUIRE(q != NULL);
    CHECK(q->body_len == n && memcmp(q->body, big, n) == 0);
    whr_request_free(q);
    free(big);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    whr_stop(s);
}

TEST(target_guard_with_curl)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    REQUIRE(easy != NULL);
    wh_target_guard g = {.allow_private = false};
    REQUIRE(wh_target_guard_apply(easy, &g) == SL_OK);

    post_result r = post_text(easy, s, "/guarded", "{}");
    CHECK(r.rc == CURLE_COULDNT_CONNECT);
    CHECK(g.refused && g.refused_class == WH_ADDR_LOOPBACK);
    CHECK_EQ_U64(whr_count(s, "/guarded"), 0);

    /* by name too: "localhost" resolves to loopback, checked after DNS */
    char url[256];
    snprintf(url, sizeof url, "http://localhost:%d/guarded", whr_port(s));
    wh_target_guard_reset(&g);
    r = post(easy, url, "{}", 2, NULL, 5000);
    CHECK(r.rc == CURLE_COULDNT_CONNECT && g.refused);

    /* not http(s) */
    wh_target_guard_reset(&g);
    r = post(easy, "file:///etc/passwd", "{}", 2, NULL, 5000);
    CHECK(r.rc == CURLE_UNSUPPORTED_PROTOCOL);

    g.allow_private = true;
    wh_target_guard_reset(&g);
    r = post_text(easy, s, "/guarded", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 200 && !g.refused);
    CHECK_EQ_U64(whr_count(s, "/guarded"), 1);

    /* redirects are not followed */
    CHECK(whr_push(s, "/moved", &(whr_behaviour){.status = 302}) == 0);
    r = post_text(easy, s, "/moved", "{}");
    CHECK(r.rc == CURLE_OK && r.status == 302);

    curl_easy_cleanup(easy);
    curl_global_cleanup();
    whr_stop(s);
}

/* ---- one wh_post against the receiver ---------------------------------------------- */

typedef struct one_post {
    wh_post p;
    sl_webhook_attempt a;
    uint64_t elapsed_ms;
} one_post;

/* Run the POST of one event to url (private targets allowed, timeout_ms)
 * with curl_easy_perform; o->a gets its outcome (pointing into o->p: call
 * wh_post_free(&o->p) after). */
static sl_err run_post(one_post *o, const char *url, uint64_t timeout_ms)
{
    memset(o, 0, sizeof *o);
    wh_signer signer;
    if (wh_signer_init(&signer) != SL_OK)
        return SL_ERR_NOMEM;
    const sl_slice secrets[] = {sl_slice_of(V1_SECRET)};
    wh_post_target t = {.url = url, .secrets = secrets, .nsecrets = 1,
                        .timeout_ms = timeout_ms, .allow_private = true};
    sl_client_delivery d;
    memset(&d, 0, sizeof d);
    d.event.id = sl_slice_of("evt_0123456789abcdef0123456789abcdef");
    d.event.topic = sl_slice_of("order.created");
    d.event.ts_ms = 1700000000000u;
    d.event.payload = sl_slice_of("{}");
    d.attempt = 1;
    d.token = sl_slice_of("0123456789abcdef0123456789abcdef");
    uint64_t start = test_mono_ms();
    sl_err rc = wh_post_start(&o->p, &signer, &t, &d, test_wall_ms(), start * 1000);
    wh_signer_free(&signer);
    if (rc != SL_OK)
        return rc;
    o->p.result = curl_easy_perform(o->p.easy);
    o->elapsed_ms = test_mono_ms() - start;
    o->p.finished_us = test_mono_ms() * 1000;
    wh_post_outcome(&o->p, &o->a);
    return SL_OK;
}

TEST(post_answers_redirects_bodies_and_heads)
{
    whr_server *s;
    REQUIRE(whr_start(&s) == 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char url[256], elsewhere[256];
    one_post o;

    /* a plain 200, signed; the lease estimate is 2 x timeout + 1 s */
    whr_url(s, "/plain", url, sizeof url);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(o.a.http_status == 200 && o.a.error.len == 0);
    CHECK(sl_slice_eq_cstr(o.a.token, "0123456789abcdef0123456789abcdef"));
    CHECK_EQ_U64(o.p.lease_end_us - o.p.started_us, 7000000);
    wh_post_free(&o.p);

    /* 301 and 302 with a Location: an answer (a failure for sluiced), not followed */
    whr_url(s, "/elsewhere", elsewhere, sizeof elsewhere);
    whr_url(s, "/moved", url, sizeof url);
    REQUIRE(whr_push(s, "/moved", &(whr_behaviour){.status = 301, .location = elsewhere}) == 0);
    REQUIRE(whr_push(s, "/moved", &(whr_behaviour){.status = 302, .location = elsewhere}) == 0);
    for (unsigned want = 301; want <= 302; want++) {
        REQUIRE(run_post(&o, url, 3000) == SL_OK);
        CHECK_EQ_U64(o.a.http_status, want);
        CHECK(o.a.error.len == 0);
        wh_post_free(&o.p);
    }
    CHECK_EQ_U64(whr_count(s, "/moved"), 2);
    CHECK_EQ_U64(whr_count(s, "/elsewhere"), 0);

    /* a body that would take 100 MB and never comes in time: cut at 1 KiB, and
     * the 2xx counts, long before the timeout */
    whr_url(s, "/huge", url, sizeof url);
    REQUIRE(whr_push(s, "/huge", &(whr_behaviour){.body_bytes = 100u << 20,
                                                   .body_stall_ms = 5000}) == 0);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(o.a.http_status == 200 && o.a.error.len == 0);
    CHECK_EQ_U64(o.a.body.len, SL_WEBHOOK_BODY_KEEP);
    CHECK(o.a.body.len > 0 && o.a.body.ptr[0] == 'x');
    CHECK(o.elapsed_ms < 2000);
    wh_post_free(&o.p);
    /* a large body that does come: cut the same way */
    REQUIRE(whr_push(s, "/huge", &(whr_behaviour){.status = 500, .body_bytes = 4u << 20}) == 0);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(o.a.http_status == 500 && o.a.error.len == 0);
    CHECK_EQ_U64(o.a.body.len, SL_WEBHOOK_BODY_KEEP);
    wh_post_free(&o.p);

    /* a response head over WH_POST_HEAD_MAX: a failure with its own code */
    whr_url(s, "/heads", url, sizeof url);
    REQUIRE(whr_push(s, "/heads", &(whr_behaviour){.pad_headers = 200u << 10}) == 0);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(sl_slice_eq_cstr(o.a.error, "headers_too_large"));
    CHECK(o.p.head_bytes > WH_POST_HEAD_MAX && o.p.head_bytes < WH_POST_HEAD_MAX + 2048);
    wh_post_free(&o.p);
    /* a head under it is fine */
    REQUIRE(whr_push(s, "/heads", &(whr_behaviour){.status = 204, .pad_headers = 32u << 10}) ==
            0);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(o.a.http_status == 204 && o.a.error.len == 0);
    wh_post_free(&o.p);

    /* userinfo in the URL: libcurl sends it as Basic credentials */
    char ui[300];
    snprintf(ui, sizeof ui, "http://user:pw@127.0.0.1:%d/ui", whr_port(s));
    const char *ui_secrets[] = {V1_SECRET};
    REQUIRE(whr_set_secrets(s, "/ui", ui_secrets, 1) == 0);
    REQUIRE(run_post(&o, ui, 3000) == SL_OK);
    CHECK(o.a.http_status == 200);
    wh_post_free(&o.p);
    whr_request *q = whr_get(s, "/ui", 0);
    REQUIRE(q != NULL);
    const char *auth = whr_header(q, "authorization");
    CHECK(auth && strcmp(auth, "Basic dXNlcjpwdw==") == 0);
    CHECK(q->v1_ok == 1);
    whr_request_free(q);

    /* a port nothing listens on: a connection failure, not a crash */
    int port = test_free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/none", port);
    REQUIRE(run_post(&o, url, 3000) == SL_OK);
    CHECK(o.a.http_status == 0 && sl_slice_eq_cstr(o.a.error, "connect"));
    wh_post_free(&o.p);

    /* an unusable token: refused before anything is sent, nothing to report */
    wh_signer signer;
    REQUIRE(wh_signer_init(&signer) == SL_OK);
    const sl_slice secrets[] = {sl_slice_of(V1_SECRET)};
    wh_post_target t = {.url = url, .secrets = secrets, .nsecrets = 1, .timeout_ms = 1000};
    sl_client_delivery d;
    memset(&d, 0, sizeof d);
    wh_post p;
    memset(&p, 0, sizeof p);
    CHECK(wh_post_start(&p, &signer, &t, &d, 0, 0) == SL_ERR_INVALID);
    CHECK(p.token[0] == '\0');
    wh_post_free(&p);
    wh_signer_free(&signer);

    curl_global_cleanup();
    whr_stop(s);
}

UNIT_MAIN("bridge_parts",
          UNIT_CASE(signature_seed_vector),
          UNIT_CASE(signature_v1_vector),
          UNIT_CASE(signature_headers_two_secrets),
          UNIT_CASE(json_buf_values_and_commas),
          UNIT_CASE(json_buf_escaping),
          UNIT_CASE(json_buf_misuse),
          UNIT_CASE(json_check_basics),
          UNIT_CASE(envelope_json_payload),
          UNIT_CASE(envelope_binary_payload),
          UNIT_CASE(envelope_test_topic_and_time),
          UNIT_CASE(target_guard_table),
          UNIT_CASE(rate_limit_bucket),
          UNIT_CASE(retry_after_values),
          UNIT_CASE(receiver_status_per_path),
          UNIT_CASE(receiver_retry_after_stall_drop),
          UNIT_CASE(receiver_records_and_verifies),
          UNIT_CASE(receiver_large_body_and_keepalive),
          UNIT_CASE(target_guard_with_curl),
          UNIT_CASE(post_answers_redirects_bodies_and_heads))
