/*
 * Error codes and messages. trawl__corrupt() is the single place every
 * corruption check goes through, so a debugger can break on it.
 */
#include "trawl/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int trawl_err_set(trawl_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void trawl_err_clear(trawl_err *err)
{
    if (err != NULL) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *trawl_strerror(int code)
{
    switch (code) {
    case TRAWL_OK:
        return "success";
    case TRAWL_ENOMEM:
        return "out of memory";
    case TRAWL_EIO:
        return "I/O error";
    case TRAWL_ECORRUPT:
        return "index is corrupt";
    case TRAWL_EVERSION:
        return "incompatible index version or analyzer";
    case TRAWL_EQUERY:
        return "bad query";
    case TRAWL_EPROTO:
        return "malformed request";
    case TRAWL_ETOOBIG:
        return "too large";
    case TRAWL_EINVAL:
        return "invalid argument";
    case TRAWL_ENOTFOUND:
        return "not found";
    case TRAWL_ELOCKED:
        return "index is locked by another writer";
    default:
        return "unknown error";
    }
}

int trawl__corrupt(trawl_err *err, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = TRAWL_ECORRUPT;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return TRAWL_ECORRUPT;
}
