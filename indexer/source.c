/*
 * Plain, gzip and zstd streams (source.h): zlib inflates gzip members one
 * after another (inflateReset between them), libzstd's streaming
 * decompressor takes concatenated frames as they come.
 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define IN_CAP ((size_t)256 << 10)

/* A compressed file is never empty (gzip and zstd of nothing take 20 and
 * 9 bytes): an empty one is a download or copy that failed, and must not
 * delete the articles the file held. */
#define EMPTY_FILE                                                          \
    "empty file (compressed data always has a header: a download or copy " \
    "that failed?)"

struct src {
    int fd, kind;
    unsigned char *in;
    size_t in_pos, in_len;
    int in_eof;
    uint64_t consumed;
    z_stream z;
    int z_ready;
    int z_member_done; /* the last gzip member ended at in_pos */
    int z_padding;     /* zero bytes seen after it */
    uint64_t given;    /* uncompressed bytes given so far */
    ZSTD_DStream *zd;
    size_t zd_hint; /* 0 when the last zstd frame ended */
    /* An error met after some bytes were decompressed in the same call:
     * those bytes are returned first, the error at the next call. */
    const char *pending;
    char why[160];
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int src_kind_of(const char *name)
{
    if (ends_with(name, ".gz"))
        return SRC_GZIP;
    if (ends_with(name, ".zst"))
        return SRC_ZSTD;
    return SRC_PLAIN;
}

src *src_open(int fd, int kind)
{
    src *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fd = fd;
    s->kind = kind;
    if (kind == SRC_PLAIN)
        return s;
    if ((s->in = malloc(IN_CAP)) == NULL)
        goto fail;
    if (kind == SRC_GZIP) {
        /* 15 + 32: a gzip or zlib header, found by its magic */
        if (inflateInit2(&s->z, 15 + 32) != Z_OK)
            goto fail;
        s->z_ready = 1;
    } else {
        if ((s->zd = ZSTD_createDStream()) == NULL ||
            ZSTD_isError(ZSTD_initDStream(s->zd)))
            goto fail;
    }
    return s;
fail:
    src_close(s);
    return NULL;
}

/* More compressed input into s->in: 1, 0 at the end of the file, -1. */
static int fill(src *s, const char **why)
{
    if (s->in_pos < s->in_len)
        return 1;
    if (s->in_eof)
        return 0;
    for (;;) {
        ssize_t n = read(s->fd, s->in, IN_CAP);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(s->why, sizeof(s->why), "read error: %s",
                     strerror(errno));
            *why = s->why;
            return -1;
        }
        s->in_pos = 0;
        s->in_len = (size_t)n;
        s->consumed += (uint64_t)n;
        if (n == 0)
            s->in_eof = 1;
        return n > 0;
    }
}

/*
 * What a decompressor ends a call with: the bytes it gave, if any (the
 * error, if any, kept for the next call: the lines decompressed before
 * the damage are indexed, as for a file cut short), else -1 and why.
 */
static ssize_t give(src *s, size_t got, const char *err, const char **why)
{
    if (err == NULL || got > 0) {
        s->pending = err;
        return (ssize_t)got;
    }
    *why = err;
    return -1;
}

static ssize_t read_gzip(src *s, unsigned char *buf, size_t cap,
                         const char **why)
{
    size_t got = 0;
    while (got < cap) {
        const char *err = NULL;
        int more = fill(s, &err);
        if (more < 0)
            return give(s, got, err, why);
        if (more == 0) {
            if (s->consumed == 0)
                return give(s, got, EMPTY_FILE, why);
            if (s->z_member_done)
                return (ssize_t)got; /* the end */
            return give(s, got,
                        "compressed data cut short (gzip stream ends early)",
                        why);
        }
        if (s->z_member_done) {
            /* Zero bytes after the last member (a tape or a block
             * device's padding) are no data, as gzip -d has them. */
            while (s->in_pos < s->in_len && s->in[s->in_pos] == 0) {
                s->in_pos++;
                s->z_padding = 1;
            }
            if (s->in_pos == s->in_len)
                continue;
            if (s->z_padding)
                return give(s, got, "damaged gzip data: bytes after the "
                                    "zero padding at its end",
                            why);
            /* another member follows (pigz, bgzip, cat a.gz b.gz) */
            if (inflateReset(&s->z) != Z_OK)
                return give(s, got, "damaged gzip data", why);
            s->z_member_done = 0;
        }
        s->z.next_in = s->in + s->in_pos;
        s->z.avail_in = (uInt)(s->in_len - s->in_pos);
        s->z.next_out = buf + got;
        s->z.avail_out = (uInt)(cap - got > (1u << 30) ? (1u << 30)
                                                       : cap - got);
        uInt before = s->z.avail_out;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        got += before - s->z.avail_out;
        s->in_pos = s->in_len - s->z.avail_in;
        if (rc == Z_STREAM_END) {
            s->z_member_done = 1;
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            if (s->given == 0 && got == 0 && s->consumed <= IN_CAP &&
                !(s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b))
                return give(s, got, "not gzip data (it does not start as "
                                    "gzip does: a file of another kind "
                                    "named .gz?)",
                            why);
            snprintf(s->why, sizeof(s->why), "damaged gzip data%s%s",
                     s->z.msg ? ": " : "", s->z.msg ? s->z.msg : "");
            return give(s, got, s->why, why);
        }
        if (got > 0 && s->z.avail_out > 0 && s->in_pos < s->in_len)
            continue;
        if (got > 0)
            break;
    }
    return (ssize_t)got;
}

static ssize_t read_zstd(src *s, unsigned char *buf, size_t cap,
                         const char **why)
{
    ZSTD_outBuffer out = {buf, cap, 0};
    while (out.pos < out.size) {
        const char *err = NULL;
        int more = fill(s, &err);
        if (more < 0)
            return give(s, out.pos, err, why);
        if (more == 0) {
            if (s->consumed == 0)
                return give(s, out.pos, EMPTY_FILE, why);
            if (s->zd_hint == 0)
                return (ssize_t)out.pos; /* the end, after whole frames */
            return give(s, out.pos,
                        "compressed data cut short (zstd frame ends early)",
                        why);
        }
        ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
        size_t rc = ZSTD_decompressStream(s->zd, &out, &in);
        s->in_pos = in.pos;
        if (ZSTD_isError(rc)) {
            if (s->given == 0 && out.pos == 0 &&
                ZSTD_getErrorCode(rc) == ZSTD_error_prefix_unknown)
                return give(s, out.pos, "not zstd data (it does not start "
                                        "as zstd does: a file of another "
                                        "kind named .zst?)",
                            why);
            snprintf(s->why, sizeof(s->why), "damaged zstd data: %s",
                     ZSTD_getErrorName(rc));
            return give(s, out.pos, s->why, why);
        }
        s->zd_hint = rc;
        if (out.pos > 0 && s->in_pos == s->in_len)
            break;
    }
    return (ssize_t)out.pos;
}

ssize_t src_read(src *s, void *buf, size_t cap, const char **why)
{
    if (s->pending != NULL) {
        *why = s->pending;
        return -1;
    }
    if (s->kind != SRC_PLAIN) {
        ssize_t n = s->kind == SRC_GZIP ? read_gzip(s, buf, cap, why)
                                        : read_zstd(s, buf, cap, why);
        if (n > 0)
            s->given += (uint64_t)n;
        return n;
    }
    for (;;) {
        ssize_t n = read(s->fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(s->why, sizeof(s->why), "%s", strerror(errno));
            *why = s->why;
        } else {
            s->consumed += (uint64_t)n;
        }
        return n;
    }
}

uint64_t src_consumed(const src *s)
{
    return s->consumed;
}

void src_close(src *s)
{
    if (s == NULL)
        return;
    if (s->z_ready)
        inflateEnd(&s->z);
    ZSTD_freeDStream(s->zd);
    free(s->in);
    free(s);
}
