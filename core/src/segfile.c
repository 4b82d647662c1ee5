/*
 * Sequential segment file writer: buffered writes, per-section XXH3, TOC,
 * footer, fsync. Errors are sticky in f->rc.
 */
#include "segfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define WBUF_SIZE (1u << 20)

static void flush_wbuf(segfile *f)
{
    size_t done = 0;
    while (f->rc == 0 && done < f->wlen) {
        ssize_t n = write(f->fd, f->wbuf + done, f->wlen - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            f->rc = trawl_err_set(f->err, TRAWL_EIO, "write %s: %s", f->path,
                                  strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    f->wlen = 0;
}

static void raw_write(segfile *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (f->rc != 0)
        return;
    while (n > 0) {
        size_t room = WBUF_SIZE - f->wlen;
        size_t k = n < room ? n : room;
        memcpy(f->wbuf + f->wlen, s, k);
        f->wlen += k;
        s += k;
        n -= k;
        f->off += k;
        if (f->wlen == WBUF_SIZE)
            flush_wbuf(f);
    }
}

int trawl__segfile_open(segfile *f, const char *path, trawl_err *err)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->err = err;
    f->path = strdup(path);
    f->wbuf = malloc(WBUF_SIZE);
    f->xx = XXH3_createState();
    if (f->path == NULL || f->wbuf == NULL || f->xx == NULL) {
        f->rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        return f->rc;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        f->rc = trawl_err_set(err, TRAWL_EIO, "create %s: %s", path,
                              strerror(errno));
        return f->rc;
    }
    unsigned char hdr[SEG_HEADER] = {0};
    memcpy(hdr, SEG_MAGIC, 8);
    trawl__put_u32(hdr + 8, TRAWL_FORMAT_VERSION);
    raw_write(f, hdr, sizeof(hdr));
    return f->rc;
}

void trawl__segfile_begin(segfile *f, uint32_t id)
{
    static const unsigned char zeros[8] = {0};
    if (f->rc != 0)
        return;
    if (f->off % 8 != 0)
        raw_write(f, zeros, 8 - f->off % 8);
    f->in_section = 1;
    f->cur_id = id;
    f->cur_start = f->off;
    XXH3_64bits_reset(f->xx);
}

void trawl__segfile_write(segfile *f, const void *p, size_t n)
{
    if (f->rc != 0 || n == 0)
        return;
    XXH3_64bits_update(f->xx, p, n);
    raw_write(f, p, n);
}

void trawl__segfile_end(segfile *f)
{
    if (f->rc != 0)
        return;
    if (f->nsec >= SEC_MAX) {
        f->rc = trawl_err_set(f->err, TRAWL_EINVAL, "too many sections");
        return;
    }
    f->sec[f->nsec].id = f->cur_id;
    f->sec[f->nsec].off = f->cur_start;
    f->sec[f->nsec].len = f->off - f->cur_start;
    f->sec[f->nsec].hash = XXH3_64bits_digest(f->xx);
    f->nsec++;
    f->in_section = 0;
}

int trawl__segfile_finish(segfile *f)
{
    static const unsigned char zeros[8] = {0};
    if (f->rc != 0)
        return f->rc;
    if (f->off % 8 != 0)
        raw_write(f, zeros, 8 - f->off % 8);
    uint64_t toc_off = f->off;
    size_t toc_len = 4 + (size_t)f->nsec * 32;
    unsigned char toc[4 + SEC_MAX * 32];
    trawl__put_u32(toc, f->nsec);
    for (uint32_t i = 0; i < f->nsec; i++) {
        unsigned char *e = toc + 4 + i * 32;
        trawl__put_u32(e, f->sec[i].id);
        trawl__put_u32(e + 4, 0);
        trawl__put_u64(e + 8, f->sec[i].off);
        trawl__put_u64(e + 16, f->sec[i].len);
        trawl__put_u64(e + 24, f->sec[i].hash);
    }
    raw_write(f, toc, toc_len);
    unsigned char foot[SEG_FOOTER];
    trawl__put_u64(foot, toc_off);
    trawl__put_u64(foot + 8, toc_len);
    trawl__put_u64(foot + 16, XXH3_64bits(toc, toc_len));
    memcpy(foot + 24, SEG_END_MAGIC, 8);
    raw_write(f, foot, sizeof(foot));
    flush_wbuf(f);
    if (f->rc == 0 && fsync(f->fd) != 0)
        f->rc = trawl_err_set(f->err, TRAWL_EIO, "fsync %s: %s", f->path,
                              strerror(errno));
    if (close(f->fd) != 0 && f->rc == 0)
        f->rc = trawl_err_set(f->err, TRAWL_EIO, "close %s: %s", f->path,
                              strerror(errno));
    f->fd = -1;
    int rc = f->rc;
    free(f->wbuf);
    f->wbuf = NULL;
    XXH3_freeState(f->xx);
    f->xx = NULL;
    if (rc != 0)
        unlink(f->path);
    free(f->path);
    f->path = NULL;
    return rc;
}

void trawl__segfile_abort(segfile *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->path != NULL) {
        unlink(f->path);
        free(f->path);
        f->path = NULL;
    }
    free(f->wbuf);
    f->wbuf = NULL;
    if (f->xx != NULL)
        XXH3_freeState(f->xx);
    f->xx = NULL;
}

int trawl__fsync_dir(const char *dir, trawl_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return trawl_err_set(err, TRAWL_EIO, "open %s: %s", dir,
                             strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0)
        rc = trawl_err_set(err, TRAWL_EIO, "fsync %s: %s", dir,
                           strerror(errno));
    close(fd);
    return rc;
}
