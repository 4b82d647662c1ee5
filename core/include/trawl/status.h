/*
 * Error codes and the one-line error message carried beside them.
 *
 * Every fallible core function returns 0 on success or a negative TRAWL_E*
 * code, and fills an optional trawl_err with a message that says what went
 * wrong where it was detected. The core never prints.
 */
#ifndef TRAWL_STATUS_H
#define TRAWL_STATUS_H

#include <stddef.h>

enum {
    TRAWL_OK = 0,
    TRAWL_ENOMEM = -1,    /* out of memory */
    TRAWL_EIO = -2,       /* a system call failed */
    TRAWL_ECORRUPT = -3,  /* index bytes fail a check */
    TRAWL_EVERSION = -4,  /* index format or analyzer mismatch */
    TRAWL_EQUERY = -5,    /* query syntax error */
    TRAWL_EPROTO = -6,    /* malformed request */
    TRAWL_ETOOBIG = -7,   /* a size limit was exceeded */
    TRAWL_EINVAL = -8,    /* bad argument or bad input */
    TRAWL_ENOTFOUND = -9, /* no such document / index */
    TRAWL_ELOCKED = -10,  /* another writer holds the lock */
};

typedef struct trawl_err {
    int code;      /* the TRAWL_E* code, 0 if none */
    char msg[512]; /* one line, no trailing newline */
} trawl_err;

/*
 * Record code and a printf-style message in err (which may be NULL) and
 * return code, so callers can write `return trawl_err_set(err, ...)`.
 */
int trawl_err_set(trawl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset err to "no error". err may be NULL. */
void trawl_err_clear(trawl_err *err);

/* A short static description of a TRAWL_E* code. */
const char *trawl_strerror(int code);

#endif
