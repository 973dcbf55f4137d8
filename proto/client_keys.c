/* client_keys.c: the API key operations of the client library (see
 * client_keys.h; wire contract: PROTOCOL.md "API keys").
 *
 * Built into libsluice_client with client.c, whose sink, decoder and call
 * helpers (client_internal.h) it uses. In three sections: request encoders
 * (pack_*), reply decoders (client.c's decoder dispatch asks
 * cl_keys_decoder_of for them), one function per operation. Nothing here is
 * global or mutable.
 */
#include "proto/client_keys.h"

#include <msgpack.h>
#include <string.h>
#include "proto/client_internal.h"

/* ==== 1. request encoders ==================================================== */

/* n slices usable for sending (the array non-NULL when n > 0). */
static bool slices_ok(const sl_slice *v, size_t n)
{
    if (n > 0 && !v)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!cl_slice_ok(v[i]))
            return false;
    return true;
}

static void put_slices(cl_sink *s, const char *key, const sl_slice *v, size_t n)
{
    cl_put_cstr(s, key);
    cl_put_array(s, n);
    for (size_t i = 0; i < n; i++)
        cl_put_str(s, v[i]);
}

static sl_client_status pack_create(cl_sink *s, const sl_client_key_spec *spec)
{
    if (!spec || !cl_slice_ok(spec->name) || !slices_ok(spec->scopes, spec->nscopes) ||
        !slices_ok(spec->topics, spec->ntopics))
        return SL_CLIENT_ERR_ARGUMENT;
    bool topics = spec->ntopics > 0, rate = spec->rate_per_minute > 0;
    cl_put_request(s, SL_CLIENT_OP_KEYS_CREATE, 2 + (size_t)topics + (size_t)rate);
    cl_put_kv_str(s, "name", spec->name);
    put_slices(s, "scopes", spec->scopes, spec->nscopes);
    if (topics)
        put_slices(s, "topics", spec->topics, spec->ntopics);
    if (rate)
        cl_put_kv_uint(s, "rate_per_minute", spec->rate_per_minute);
    return SL_CLIENT_OK;
}

static sl_client_status pack_id(cl_sink *s, sl_client_op op, const char *id)
{
    if ((op != SL_CLIENT_OP_KEYS_GET && op != SL_CLIENT_OP_KEYS_REVOKE) || !id)
        return SL_CLIENT_ERR_ARGUMENT;
    cl_put_request(s, op, 1);
    cl_put_kv_cstr(s, "id", id);
    return SL_CLIENT_OK;
}

static sl_client_status pack_list(cl_sink *s, const char *after, uint32_t limit)
{
    bool with_after = after && *after;
    cl_put_request(s, SL_CLIENT_OP_KEYS_LIST, (size_t)with_after + (limit > 0));
    if (with_after)
        cl_put_kv_cstr(s, "after", after);
    if (limit > 0)
        cl_put_kv_uint(s, "limit", limit);
    return SL_CLIENT_OK;
}

sl_client_status sl_client_encode_keys_create(sl_client_buf *out,
                                              const sl_client_key_spec *spec)
{
    CL_ENCODE_INTO(out, pack_create(s, spec));
}

sl_client_status sl_client_encode_keys_id(sl_client_buf *out, sl_client_op op, const char *id)
{
    CL_ENCODE_INTO(out, pack_id(s, op, id));
}

sl_client_status sl_client_encode_keys_list(sl_client_buf *out, const char *after,
                                            uint32_t limit)
{
    CL_ENCODE_INTO(out, pack_list(s, after, limit));
}

/* ==== 2. reply decoding ========================================================== */

#define KEY_KEYS 3 /* id, name, scopes */

static bool decode_key(cl_decoder *d, const msgpack_object *o, sl_client_apikey *k)
{
    return cl_get_str(d, o, "id", true, &k->id) && cl_get_str(d, o, "name", true, &k->name) &&
           cl_decode_str_array(d, o, "scopes", true, &k->scopes, &k->nscopes) &&
           cl_decode_str_array(d, o, "topics", false, &k->topics, &k->ntopics) &&
           cl_get_uint(d, o, "rate_per_minute", false, &k->rate_per_minute) &&
           cl_get_uint(d, o, "created_ms", false, &k->created_ms);
}

static bool elem_key(cl_decoder *d, const msgpack_object *o, void *out)
{
    return decode_key(d, o, out);
}

/* create, get: "key", and for create the "token". */
static bool decode_one(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const msgpack_object *k;
    if (!cl_get_map(d, top, "key", true, &k) || !decode_key(d, k, &r->apikey.key))
        return false;
    return r->op != SL_CLIENT_OP_KEYS_CREATE ||
           cl_get_str(d, top, "token", true, &r->apikey.token);
}

static bool decode_page(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    const void *p;
    if (!cl_decode_list(d, top, "keys", KEY_KEYS, sizeof(sl_client_apikey), elem_key, &p,
                        &r->apikeys.n))
        return false;
    r->apikeys.keys = p;
    return cl_get_str(d, top, "next_after", true, &r->apikeys.next_after);
}

static bool decode_nothing(cl_decoder *d, const msgpack_object *top, sl_client_result *r)
{
    (void)d, (void)top, (void)r;
    return true;
}

cl_op_decoder cl_keys_decoder_of(sl_client_op op)
{
    switch (op) {
    case SL_CLIENT_OP_KEYS_CREATE:
    case SL_CLIENT_OP_KEYS_GET: return decode_one;
    case SL_CLIENT_OP_KEYS_LIST: return decode_page;
    case SL_CLIENT_OP_KEYS_REVOKE: return decode_nothing;
    default: return NULL;
    }
}

/* ==== 3. one function per operation ================================================ */

sl_client_status sl_client_keys_create(sl_client *c, const sl_client_key_spec *spec,
                                       sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_KEYS_CREATE, res);
    return cl_call_end(&k, pack_create(&k.s, spec), sl_client_timeout_ms(c), 0);
}

static sl_client_status by_id(sl_client *c, sl_client_op op, const char *id,
                              sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, op, res);
    return cl_call_end(&k, pack_id(&k.s, op, id), sl_client_timeout_ms(c), 0);
}

sl_client_status sl_client_keys_get(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_KEYS_GET, id, res);
}

sl_client_status sl_client_keys_revoke(sl_client *c, const char *id, sl_client_result *res)
{
    return by_id(c, SL_CLIENT_OP_KEYS_REVOKE, id, res);
}

sl_client_status sl_client_keys_list(sl_client *c, const char *after, uint32_t limit,
                                     sl_client_result *res)
{
    cl_call k;
    CL_CALL_BEGIN(k, c, SL_CLIENT_OP_KEYS_LIST, res);
    return cl_call_end(&k, pack_list(&k.s, after, limit), sl_client_timeout_ms(c), 0);
}
