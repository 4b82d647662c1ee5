/*
 * Writing one segment file: a sequential stream of 8-byte aligned sections,
 * each checksummed as it is written, then the TOC and the footer.
 * Used by the writer (and later the merger); reading is in index.c.
 */
#ifndef TRAWL_SEGFILE_H
#define TRAWL_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

#include "format.h"
#include "trawl/status.h"

typedef struct segfile {
    int fd;
    char *path;          /* temporary path while writing */
    unsigned char *wbuf; /* write buffer */
    size_t wlen;
    uint64_t off;        /* bytes written (incl. buffered) */
    int in_section;
    uint32_t cur_id;
    uint64_t cur_start;
    XXH3_state_t *xx;
    uint32_t nsec;
    struct {
        uint32_t id;
        uint64_t off, len, hash;
    } sec[SEC_MAX];
    int rc;
    trawl_err *err;
} segfile;

int trawl__segfile_open(segfile *f, const char *path, trawl_err *err);
void trawl__segfile_begin(segfile *f, uint32_t id);
void trawl__segfile_write(segfile *f, const void *p, size_t n);
void trawl__segfile_end(segfile *f);
/* Write TOC + footer, fsync, close. Returns f->rc. */
int trawl__segfile_finish(segfile *f);
/* Close and unlink if not finished. */
void trawl__segfile_abort(segfile *f);

/* fsync a directory. */
int trawl__fsync_dir(const char *dir, trawl_err *err);

#endif
