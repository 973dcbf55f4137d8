/* error.h: the one error type of the core library.
 *
 * Every core function that can fail returns an sl_err; SL_OK is zero. Callers
 * must check it. sl_err_code() gives the stable wire name of a code (it is what
 * clients see in error replies, see proto/PROTOCOL.md), sl_err_text() a short
 * English description. Both return static strings: never free them.
 */
#ifndef SLUICE_CORE_ERROR_H
#define SLUICE_CORE_ERROR_H

typedef enum sl_err {
    SL_OK = 0,
    SL_ERR_INVALID,      /* an argument failed validation ("invalid_argument") */
    SL_ERR_NOT_FOUND,    /* unknown group, event, dead letter ("not_found") */
    SL_ERR_EXISTS,       /* the thing to create exists already ("already_exists") */
    SL_ERR_TOO_LARGE,    /* payload, batch or field over its limit ("too_large") */
    SL_ERR_STORAGE_FULL, /* disk quota reached or disk full ("storage_full") */
    SL_ERR_MAP_FULL,     /* internal: the LMDB map must grow; abort, grow, retry */
    SL_ERR_TXN_FULL,     /* internal: the write transaction is too big; split the batch */
    SL_ERR_STORAGE,      /* any other storage failure ("storage_error") */
    SL_ERR_CORRUPT,      /* a stored record does not decode ("corrupt") */
    SL_ERR_VERSION,      /* on-disk format version not supported ("bad_version") */
    SL_ERR_NOMEM,        /* allocation failed ("no_memory") */
    SL_ERR_END           /* iteration finished: not an error for iterators */
} sl_err;

/* Stable snake_case name of err, as sent on the wire. Static storage. */
const char *sl_err_code(sl_err err);

/* Human-readable description of err. Static storage. */
const char *sl_err_text(sl_err err);

#endif
