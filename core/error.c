/* error.c: names and descriptions of sl_err codes (see error.h). */
#include "error.h"

const char *sl_err_code(sl_err err)
{
    switch (err) {
    case SL_OK:
        return "ok";
    case SL_ERR_INVALID:
        return "invalid_argument";
    case SL_ERR_NOT_FOUND:
        return "not_found";
    case SL_ERR_EXISTS:
        return "already_exists";
    case SL_ERR_TOO_LARGE:
        return "too_large";
    case SL_ERR_STORAGE_FULL:
        return "storage_full";
    case SL_ERR_MAP_FULL:
    case SL_ERR_TXN_FULL:
    case SL_ERR_STORAGE:
        return "storage_error";
    case SL_ERR_CORRUPT:
        return "corrupt";
    case SL_ERR_VERSION:
        return "bad_version";
    case SL_ERR_NOMEM:
        return "no_memory";
    case SL_ERR_END:
        return "end";
    }
    return "internal";
}

const char *sl_err_text(sl_err err)
{
    switch (err) {
    case SL_OK:
        return "success";
    case SL_ERR_INVALID:
        return "invalid argument";
    case SL_ERR_NOT_FOUND:
        return "not found";
    case SL_ERR_EXISTS:
        return "already exists";
    case SL_ERR_TOO_LARGE:
        return "too large";
    case SL_ERR_STORAGE_FULL:
        return "storage full: disk quota reached or disk full";
    case SL_ERR_MAP_FULL:
        return "storage map full (must grow)";
    case SL_ERR_TXN_FULL:
        return "write transaction too large";
    case SL_ERR_STORAGE:
        return "storage failure";
    case SL_ERR_CORRUPT:
        return "stored record is corrupt";
    case SL_ERR_VERSION:
        return "unsupported on-disk format version";
    case SL_ERR_NOMEM:
        return "out of memory";
    case SL_ERR_END:
        return "end of iteration";
    }
    return "unknown error";
}
