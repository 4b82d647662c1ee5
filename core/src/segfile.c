/*
 * Sequential segment file writer: buffered writes, per-section XXH3, TOC,
 * footer, fsync. Errors are sticky in f->rc. Then the section encoders
 * shared by the writer and the merger (see segfile.h).
 */
/* One part of zstd's advanced API (in the shared library):
 * ZSTD_c_forceAttachDict (a frame larger than 16 KiB would otherwise copy
 * the dictionary's match tables, 384 KiB or more, before each frame). */
#define ZSTD_STATIC_LINKING_ONLY
/* sync_file_range() (Linux) */
#define _GNU_SOURCE

#include "segfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "internal.h"
#include "trawl/analyze.h"

#define WBUF_SIZE SEGFILE_WBUF
/* Every this many bytes written, the kernel is asked to start writing
 * them back, so that the fsync at the end (here or at commit) has little
 * left to wait for. */
#define WRITEBACK_STEP ((uint64_t)4 << 20)

uint32_t trawl__segfile_format = TRAWL_FORMAT_VERSION;

#if TRAWL_NFIELDS != 2
#error "compact posting lists (codec.h) encode a title and a body tf"
#endif

/* Hash the open section's bytes still unhashed in the write buffer: the
 * section checksum is computed over whole buffers, not call by call (the
 * postings and positions are written in pieces of a few bytes, and
 * XXH3's streaming update costs more per call than per byte). */
static void hash_pending(segfile *f)
{
    if (f->in_section && f->wlen > f->hpos)
        XXH3_64bits_update(f->xx, f->wbuf + f->hpos, f->wlen - f->hpos);
    f->hpos = f->wlen;
}

static void flush_wbuf(segfile *f)
{
    size_t done = 0;
    hash_pending(f);
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
    f->hpos = 0;
#ifdef SYNC_FILE_RANGE_WRITE
    if (f->rc == 0 && f->off - f->synced >= WRITEBACK_STEP) {
        /* Only a hint: an error here shows at the fsync. */
        (void)sync_file_range(f->fd, (off_t)f->synced,
                              (off_t)(f->off - f->synced),
                              SYNC_FILE_RANGE_WRITE);
        f->synced = f->off;
    }
#endif
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
    trawl__put_u32(hdr + 8, trawl__segfile_format);
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
    f->hpos = f->wlen;
    XXH3_64bits_reset(f->xx);
}

void trawl__segfile_write(segfile *f, const void *p, size_t n)
{
    if (f->rc != 0 || n == 0)
        return;
    if (n < WBUF_SIZE - f->wlen) {
        memcpy(f->wbuf + f->wlen, p, n);
        f->wlen += n;
        f->off += n;
        return;
    }
    raw_write(f, p, n);
}

void trawl__segfile_end(segfile *f)
{
    if (f->on_end != NULL) {
        void (*cb)(void *, segfile *) = f->on_end;
        f->on_end = NULL;
        cb(f->on_end_ctx, f);
    }
    if (f->rc != 0)
        return;
    if (f->nsec >= SEC_MAX) {
        f->rc = trawl_err_set(f->err, TRAWL_EINVAL, "too many sections");
        return;
    }
    hash_pending(f);
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
    if (f->rc == 0 && !f->nosync && fsync(f->fd) != 0)
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
    f->on_end = NULL;
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

int trawl__fsync_file(const char *path, trawl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trawl_err_set(err, TRAWL_EIO, "open %s: %s", path,
                             strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0)
        rc = trawl_err_set(err, TRAWL_EIO, "fsync %s: %s", path,
                           strerror(errno));
    close(fd);
    return rc;
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

/* ---- postings ---------------------------------------------------------- */

void trawl__penc_reset(seg_penc *e)
{
    trawl_buf_clear(&e->skip);
    trawl_buf_clear(&e->blocks);
    e->df = 0;
    e->n = 0;
    e->pos_bytes = 0;
    e->ntab = 0;
    e->bpos = 0;
    e->prev_doc = -1;
    e->prev_last = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        e->max_tf[f] = 0;
        e->min_len[f] = UINT32_MAX;
        e->bmax_tf[f] = 0;
        e->bmin_len[f] = UINT32_MAX;
    }
}

/* Room for n more bytes (and the NUL) at the end of b; sticky errors as
 * in trawl_buf. */
static inline int room(trawl_buf *b, size_t n)
{
    if (b->rc == 0 && b->len + n < b->cap)
        return 0;
    return trawl_buf_reserve(b, n);
}

/* Encode the pending block: doc gaps then tf per field, each a PFor run
 * (codec.h), straight into blocks; its skip entry carries the block-max
 * inputs. */
void trawl__penc_block(seg_penc *e)
{
    uint32_t n = e->n;
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        e->vals[i] = (uint32_t)((int64_t)e->docs[i] - e->prev_doc - 1);
        e->prev_doc = e->docs[i];
    }
    size_t eb = 0;
    if (room(&e->blocks, CODEC_BOUND(n) * (1 + TRAWL_NFIELDS)) == 0) {
        unsigned char *o = e->blocks.ptr + e->blocks.len;
        eb = trawl__codec_encode(e->vals, n, o);
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            eb += trawl__codec_encode(e->tf[f], n, o + eb);
        e->blocks.len += eb;
        e->blocks.ptr[e->blocks.len] = '\0';
    }
    uint32_t last = e->docs[n - 1];
    /* Format 9: the block's positions start with their offset table when
     * they are long per posting (format.h, POSITIONS); the positions
     * writers add the same table. */
    if (trawl__segfile_format >= POS_TAB_FROM) {
        uint64_t tb = trawl__postab_bytes(n, e->bpos);
        e->bpos += tb;
        e->ntab += tb > 0;
    }
    if (room(&e->skip, 10 * (3 + 2 * TRAWL_NFIELDS)) == 0) {
        unsigned char *p = e->skip.ptr + e->skip.len;
        p += trawl__put_varint(p, last - e->prev_last);
        p += trawl__put_varint(p, eb);
        p += trawl__put_varint(p, e->bpos);
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            p += trawl__put_varint(p, e->bmax_tf[f]);
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            p += trawl__put_varint(p, e->bmax_tf[f] ? e->bmin_len[f] : 0);
        e->skip.len = (size_t)(p - e->skip.ptr);
        *p = '\0';
    }
    e->prev_last = last;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        if (e->bmax_tf[f] > e->max_tf[f])
            e->max_tf[f] = e->bmax_tf[f];
        if (e->bmax_tf[f] && e->bmin_len[f] < e->min_len[f])
            e->min_len[f] = e->bmin_len[f];
        e->bmax_tf[f] = 0;
        e->bmin_len[f] = UINT32_MAX;
    }
    e->pos_bytes += e->bpos;
    e->bpos = 0;
    e->n = 0;
}

/* A list of df <= COMPACT_MAX (format.h): the pending block, which holds
 * all of it, as varints into blocks; no skip entry. */
static void penc_compact(seg_penc *e)
{
    uint32_t n = e->n;
    if (room(&e->blocks, COMPACT_BOUND(n)) == 0) {
        unsigned char *o = e->blocks.ptr + e->blocks.len;
        e->blocks.len += trawl__compact_encode(e->docs, e->tf[0],
                                               BLOCK_SIZE, n, o);
        e->blocks.ptr[e->blocks.len] = '\0';
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        e->max_tf[f] = e->bmax_tf[f];
        e->min_len[f] = e->bmin_len[f];
        e->bmax_tf[f] = 0;
        e->bmin_len[f] = UINT32_MAX;
    }
    e->pos_bytes += e->bpos;
    e->bpos = 0;
    e->n = 0;
}

void trawl__penc_finish(seg_penc *e)
{
    if (e->df <= COMPACT_MAX && e->n == e->df &&
        trawl__segfile_format >= COMPACT_FROM)
        penc_compact(e);
    else
        trawl__penc_block(e);
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        if (e->max_tf[f] == 0)
            e->min_len[f] = 0;
}

int trawl__penc_rc(const seg_penc *e)
{
    return e->skip.rc != 0 || e->blocks.rc != 0 ? TRAWL_ENOMEM : 0;
}

void trawl__penc_free(seg_penc *e)
{
    trawl_buf_free(&e->skip);
    trawl_buf_free(&e->blocks);
}

/* ---- dictionary -------------------------------------------------------- */

/* An entry (format.h): the block's first carries its offsets, the others
 * follow their predecessor (postings: right after its list; positions: a
 * delta, since the caller's positions length of a term is not always in
 * e); a list of one block keeps its skip length and bounds only in its
 * skip entry. */
void trawl__dict_add(seg_dict *d, const char *term, uint32_t len,
                     const seg_penc *e, uint64_t post_off, uint64_t pos_off)
{
    int first = d->n % (trawl__segfile_format >= TERM_BLOCK_FROM
                            ? TERM_BLOCK
                            : TERM_BLOCK_OLD) ==
                0;
    if (first) {
        trawl_buf_put_u32le(&d->tindex, (uint32_t)d->terms.len);
        d->prev_len = 0;
    }
    uint32_t shared = 0;
    uint32_t m = d->prev_len < len ? d->prev_len : len;
    while (shared < m && d->prev[shared] == term[shared])
        shared++;
    uint64_t post_len = e->skip.len + e->blocks.len;
    if (!first && (post_off != d->next_post || pos_off < d->prev_pos))
        d->bad = 1;
    /* An entry: at most 6 + 2 * TRAWL_NFIELDS varints of up to 10 bytes,
     * and the term's suffix. */
    if (room(&d->terms, 10 * (6 + 2 * TRAWL_NFIELDS) + len) == 0) {
        unsigned char *p = d->terms.ptr + d->terms.len;
        p += trawl__put_varint(p, shared);
        p += trawl__put_varint(p, len - shared);
        memcpy(p, term + shared, len - shared);
        p += len - shared;
        p += trawl__put_varint(p, e->df);
        if (first) {
            p += trawl__put_varint(p, post_off);
            p += trawl__put_varint(p, pos_off);
        } else {
            p += trawl__put_varint(p, pos_off - d->prev_pos);
        }
        p += trawl__put_varint(p, post_len);
        if (e->df > BLOCK_SIZE) {
            p += trawl__put_varint(p, e->skip.len);
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                p += trawl__put_varint(p, e->max_tf[f]);
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                p += trawl__put_varint(p, e->min_len[f]);
        }
        d->terms.len = (size_t)(p - d->terms.ptr);
        *p = '\0';
    }
    d->next_post = post_off + post_len;
    d->prev_pos = pos_off;
    d->prev_len = len < sizeof(d->prev) ? len : (uint32_t)sizeof(d->prev);
    memcpy(d->prev, term, d->prev_len);
    d->n++;
}

size_t trawl__dict_mem(const seg_dict *d)
{
    return d->terms.cap + d->tindex.cap;
}

int trawl__dict_write(seg_dict *d, segfile *f)
{
    if (d->terms.rc != 0 || d->tindex.rc != 0)
        return f->rc = trawl_err_set(f->err, TRAWL_ENOMEM, "out of memory");
    if (d->bad)
        return f->rc = trawl_err_set(f->err, TRAWL_EINVAL,
                                     "postings or positions not laid out "
                                     "in term order");
    trawl__segfile_begin(f, SEC_TERMS);
    trawl__segfile_write(f, d->terms.ptr, d->terms.len);
    trawl__segfile_end(f);
    unsigned char hdr[12];
    trawl__put_u32(hdr, (uint32_t)(d->tindex.len / 4));
    trawl__put_u64(hdr + 4, d->n);
    trawl__segfile_begin(f, SEC_TERMS_INDEX);
    trawl__segfile_write(f, hdr, sizeof(hdr));
    trawl__segfile_write(f, d->tindex.ptr, d->tindex.len);
    trawl__segfile_end(f);
    return f->rc;
}

void trawl__dict_free(seg_dict *d)
{
    trawl_buf_free(&d->terms);
    trawl_buf_free(&d->tindex);
    memset(d, 0, sizeof(*d));
}

/* ---- document store ---------------------------------------------------- */

int trawl__store_init(seg_store *st, trawl_err *err)
{
    memset(st, 0, sizeof(*st));
    st->zc = ZSTD_createCCtx();
    if (st->zc == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_compressionLevel,
                                            STORE_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_forceAttachDict,
                                            ZSTD_dictForceAttach)))
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    return 0;
}

void trawl__store_put_field(trawl_buf *b, const char *s, size_t len)
{
    if (s == NULL) {
        trawl_buf_put_varint(b, 0);
        return;
    }
    trawl_buf_put_varint(b, (uint64_t)len + 1);
    trawl_buf_put(b, s, len);
}

/*
 * Build the segment's dictionary from the held raw blocks: STORE_DICT_PIECE
 * pieces of their text spread evenly over them, 1/32 of the held text in
 * all, at most STORE_DICT_MAX. The dictionary is paid once per segment
 * and pays back a few percent of the segment's store, so a small segment
 * gets a small one, and none below STORE_DICT_MIN_TRAIN. (zstd's
 * fastCover trainer made the store 0.6-0.8% smaller than these plain
 * pieces, for 3% more instructions on the writer's thread.)
 */
static int store_train(seg_store *st, trawl_err *err)
{
    st->dict_done = 1;
    trawl_buf_clear(&st->dict);
    size_t held = st->held.len;
    if (held < STORE_DICT_MIN_TRAIN)
        return 0;
    size_t cap = held / 32 < STORE_DICT_MAX ? held / 32 : STORE_DICT_MAX;
    size_t npieces = cap / STORE_DICT_PIECE;
    for (size_t i = 0; i < npieces; i++)
        trawl_buf_put(&st->dict, st->held.ptr + held / npieces * i,
                      STORE_DICT_PIECE);
    if (st->dict.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    /* A raw content dictionary must not look like a zstd one. */
    size_t skip = 0;
    while (st->dict.len - skip >= 4 &&
           trawl__get_u32(st->dict.ptr + skip) == STORE_ZDICT_MAGIC)
        skip++;
    if (skip > 0) {
        memmove(st->dict.ptr, st->dict.ptr + skip, st->dict.len - skip);
        st->dict.len -= skip;
    }
    if (st->dict.len < STORE_DICT_MIN) {
        trawl_buf_clear(&st->dict);
        return 0;
    }
    st->cdict = ZSTD_createCDict(st->dict.ptr, st->dict.len, STORE_LEVEL);
    if (st->cdict == NULL ||
        ZSTD_isError(ZSTD_CCtx_refCDict(st->zc, st->cdict)))
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    return 0;
}

/* Code one raw block with word code wc, or else zstd context zc, into
 * out. */
static int code_block(const wc_model *wc, ZSTD_CCtx *zc,
                      const unsigned char *p, size_t len, trawl_buf *out,
                      trawl_err *err)
{
    if (wc != NULL) {
        int rc = trawl__wc_encode(wc, p, len, out);
        if (rc == TRAWL_ENOMEM)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (rc < 0)
            return trawl_err_set(err, TRAWL_EINVAL, "bad store block");
        return 0;
    }
    size_t bound = ZSTD_compressBound(len);
    trawl_buf_clear(out);
    if (trawl_buf_reserve(out, bound) != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    size_t n = ZSTD_compress2(zc, out->ptr, bound, p, len);
    if (ZSTD_isError(n))
        return trawl_err_set(err, TRAWL_EIO, "zstd: %s", ZSTD_getErrorName(n));
    out->len = n;
    return 0;
}

/* Code one raw block and append it to STORE. */
static int store_put_block(seg_store *st, segfile *f, const unsigned char *p,
                           size_t len, trawl_err *err)
{
    int rc = code_block(st->wc, st->zc, p, len, &st->zbuf, err);
    if (rc < 0)
        return rc;
    trawl_buf_put_u64le(&st->index, st->off);
    if (st->index.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    trawl__segfile_write(f, st->zbuf.ptr, st->zbuf.len);
    st->off += st->zbuf.len;
    return f->rc;
}

int trawl__store_words = 0;

/*
 * Format 11: with the dictionary decided, build a word code from the same
 * held blocks and code them both ways; keep the word code when the held
 * blocks plus the code come out below STORE_WORDS_GAIN of their zstd
 * frames plus the dictionary, and its tokens' bytes are under
 * 1/STORE_WORDS_VOCAB_DIV of the held bytes (text without spaces, CJK,
 * base64 or ids would make a code as large as the text, which a reader
 * then holds in memory: bench/STORE-MODEL.md, "worst cases"); long
 * articles keep zstd without trying (STORE_WORDS_LONG). When the
 * word code wins the held blocks are written here (*done = 1), else by
 * the caller with zstd.
 */
static int store_pick_code(seg_store *st, segfile *f, int *done,
                           trawl_err *err)
{
    *done = 0;
    if (trawl__segfile_format < STORE_CODE_FROM || trawl__store_words == 1 ||
        st->held.len < STORE_WORDS_MIN_TRAIN)
        return 0;
    if (trawl__store_words != 2 && st->nheld > 0 &&
        st->held.len / st->nheld > STORE_WORDS_LONG)
        return 0; /* long articles: zstd reads them faster (format.h) */
    wc_model *m;
    int rc = trawl__wc_build(st->held.ptr, st->held.len, &m);
    if (rc == TRAWL_ENOMEM)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (rc < 0)
        return 0; /* too many distinct tokens: zstd */
    trawl_buf wz = TRAWL_BUF_INIT;
    trawl_buf one = TRAWL_BUF_INIT, code = TRAWL_BUF_INIT;
    uint64_t wsize = 0, zsize = st->dict.len, zsample = 0, zsampled = 0;
    const unsigned char *p = st->held.ptr;
    rc = trawl__wc_write(m, &code) == 0 ? 0 : TRAWL_ENOMEM;
    wsize = code.len;
    for (uint32_t i = 0; i < st->nheld && rc == 0; i++) {
        uint32_t len = trawl__get_u32(st->held_len.ptr + (size_t)i * 4);
        if ((rc = code_block(m, NULL, p, len, &one, err)) < 0)
            break;
        trawl_buf_put_u32le(&wz, (uint32_t)one.len);
        trawl_buf_put(&wz, one.ptr, one.len);
        wsize += one.len;
        /* zstd's size from every STORE_WORDS_ZSTEP-th block (at least
         * one), scaled to all: it is known to be about even over a
         * segment, and the blocks are coded again if zstd wins */
        if (i % STORE_WORDS_ZSTEP == 0) {
            if ((rc = code_block(NULL, st->zc, p, len, &one, err)) < 0)
                break;
            zsample += len;
            zsampled += one.len;
        }
        p += len;
    }
    if (zsample > 0)
        zsize += (uint64_t)((double)zsampled * (double)st->held.len /
                            (double)zsample);
    if (rc == 0 && wz.rc != 0)
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    int words = rc == 0 &&
                (trawl__store_words == 2 ||
                 ((double)wsize < STORE_WORDS_GAIN * (double)zsize &&
                  trawl__wc_vocab_bytes(m) * STORE_WORDS_VOCAB_DIV <
                      st->held.len));
    if (rc == 0 && words) {
        for (size_t o = 0; o < wz.len && rc == 0;) {
            uint32_t n = trawl__get_u32(wz.ptr + o);
            trawl_buf_put_u64le(&st->index, st->off);
            if (st->index.rc != 0)
                rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            trawl__segfile_write(f, wz.ptr + o + 4, n);
            st->off += n;
            o += 4 + (size_t)n;
        }
        if (rc == 0)
            rc = f->rc;
        *done = 1;
    }
    if (rc == 0 && words) {
        st->wc = m;
        trawl_buf_free(&st->code);
        st->code = code;
        code = (trawl_buf)TRAWL_BUF_INIT;
        /* the blocks do not use the dictionary */
        trawl_buf_clear(&st->dict);
        ZSTD_CCtx_refCDict(st->zc, NULL);
        ZSTD_freeCDict(st->cdict);
        st->cdict = NULL;
    } else {
        trawl__wc_model_free(m);
    }
    trawl_buf_free(&wz);
    trawl_buf_free(&one);
    trawl_buf_free(&code);
    return rc;
}

seg_senc *trawl__store_enc(const seg_store *st)
{
    seg_senc *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    if (st->wc != NULL) {
        e->wc = st->wc;
        return e;
    }
    ZSTD_CCtx *zc = ZSTD_createCCtx();
    if (zc == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel,
                                            STORE_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_forceAttachDict,
                                            ZSTD_dictForceAttach)) ||
        (st->cdict != NULL &&
         ZSTD_isError(ZSTD_CCtx_refCDict(zc, st->cdict)))) {
        ZSTD_freeCCtx(zc);
        free(e);
        return NULL;
    }
    e->zc = zc;
    return e;
}

void trawl__store_enc_free(seg_senc *e)
{
    if (e == NULL)
        return;
    ZSTD_freeCCtx(e->zc);
    free(e);
}

int trawl__store_frame(seg_senc *e, const void *raw, size_t len,
                       trawl_buf *out, trawl_err *err)
{
    return code_block(e->wc, e->zc, raw, len, out, err);
}

int trawl__store_put_frame(seg_store *st, segfile *f, const void *z,
                           size_t n, trawl_err *err)
{
    trawl_buf_put_u64le(&st->index, st->off);
    if (st->index.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    trawl__segfile_write(f, z, n);
    st->off += n;
    st->nblocks++;
    return f->rc;
}

/* Decide the dictionary (if not yet), then write the held blocks. */
static int store_drain(seg_store *st, segfile *f, trawl_err *err)
{
    int rc, done = 0;
    if (!st->dict_done && ((rc = store_train(st, err)) < 0 ||
                           (rc = store_pick_code(st, f, &done, err)) < 0))
        return rc;
    const unsigned char *p = st->held.ptr;
    for (uint32_t i = 0; i < st->nheld && !done; i++) {
        uint32_t len = trawl__get_u32(st->held_len.ptr + (size_t)i * 4);
        if ((rc = store_put_block(st, f, p, len, err)) < 0)
            return rc;
        p += len;
    }
    st->nheld = 0;
    trawl_buf_clear(&st->held);
    trawl_buf_clear(&st->held_len);
    if (f->on_end_ctx == st && f->on_end != NULL)
        f->on_end = NULL;
    return 0;
}

/* segfile on_end hook: the STORE section ends with blocks still held. */
static void store_on_end(void *ctx, segfile *f)
{
    seg_store *st = ctx;
    if (f->rc != 0)
        return;
    int rc = store_drain(st, f, f->err);
    if (rc < 0 && f->rc == 0)
        f->rc = rc;
}

int trawl__store_flush(seg_store *st, segfile *f, trawl_err *err)
{
    if (st->slot == 0)
        return 0;
    if (st->block.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    int rc = 0;
    if (st->dict_done) {
        rc = store_put_block(st, f, st->block.ptr, st->block.len, err);
    } else {
        trawl_buf_put_u32le(&st->held_len, (uint32_t)st->block.len);
        trawl_buf_put(&st->held, st->block.ptr, st->block.len);
        if (st->held.rc != 0 || st->held_len.rc != 0)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        st->nheld++;
        f->on_end = store_on_end;
        f->on_end_ctx = st;
        if (st->held.len >= STORE_DICT_HOLD)
            rc = store_drain(st, f, err);
    }
    if (rc < 0)
        return rc;
    st->nblocks++;
    st->slot = 0;
    trawl_buf_clear(&st->block);
    return f->rc;
}

/* DOCMETA blocks are stored raw: a page of hits reads ten small records
 * straight from the mapping, with no decompression (format 4). */
static int meta_flush(seg_store *st, trawl_err *err)
{
    if (st->mslot == 0)
        return 0;
    if (st->mblock.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    trawl_buf_put_u64le(&st->mindex, st->mz.len);
    trawl_buf_put(&st->mz, st->mblock.ptr, st->mblock.len);
    st->mnblocks++;
    st->mslot = 0;
    trawl_buf_clear(&st->mblock);
    if (st->mindex.rc != 0 || st->mz.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    return 0;
}

int trawl__store_add(seg_store *st, const unsigned char *meta, size_t mlen,
                     const unsigned char *body, size_t blen, uint32_t *block,
                     uint32_t *slot, trawl_err *err)
{
    /* A block's records are addressed by u32 offsets (format 8). */
    if (st->mblock.len + mlen > UINT32_MAX)
        return trawl_err_set(err, TRAWL_EINVAL,
                             "ids and titles too long (4 GiB per 32)");
    trawl_buf_put_u32le(&st->mrel, (uint32_t)st->mblock.len);
    trawl_buf_put(&st->mblock, meta, mlen);
    trawl_buf_put(&st->block, body, blen);
    if (st->mblock.rc != 0 || st->block.rc != 0 || st->mrel.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    *block = st->nblocks;
    *slot = st->slot++;
    if (++st->mslot == META_BLOCK)
        return meta_flush(st, err);
    return 0;
}

int trawl__store_add_record(seg_store *st, const unsigned char *rec,
                            size_t len, uint32_t *block, uint32_t *slot,
                            trawl_err *err)
{
    const unsigned char *p = rec, *end = rec + len;
    for (int k = 0; k < STORED_META_N; k++) {
        uint64_t v;
        if (trawl__get_varint(&p, end, &v) != 0 ||
            (v > 0 && v - 1 > (uint64_t)(end - p)))
            return trawl_err_set(err, TRAWL_EINVAL, "bad stored record");
        if (v > 0)
            p += v - 1;
    }
    return trawl__store_add(st, rec, (size_t)(p - rec), p, (size_t)(end - p),
                            block, slot, err);
}

int trawl__store_write_meta(seg_store *st, segfile *f, trawl_err *err)
{
    int rc = meta_flush(st, err);
    if (rc < 0)
        return rc;
    trawl__segfile_begin(f, SEC_DOCMETA);
    trawl__segfile_write(f, st->mz.ptr, st->mz.len);
    trawl__segfile_end(f);
    unsigned char b[8];
    trawl__segfile_begin(f, SEC_DOCMETA_INDEX);
    trawl__put_u32(b, st->mnblocks);
    trawl__segfile_write(f, b, 4);
    trawl__segfile_write(f, st->mindex.ptr, st->mindex.len);
    trawl__put_u64(b, st->mz.len);
    trawl__segfile_write(f, b, 8);
    if (trawl__segfile_format >= META_DOC_OFFSETS) {
        /* u16 offsets when every block is shorter than 64 KiB */
        int wide = 0;
        for (uint32_t i = 0; i < st->mnblocks; i++) {
            const unsigned char *mi = st->mindex.ptr + (size_t)i * 8;
            uint64_t z = i + 1 < st->mnblocks ? trawl__get_u64(mi + 8)
                                              : st->mz.len;
            if (z - trawl__get_u64(mi) > UINT16_MAX)
                wide = 1;
        }
        if (wide) {
            trawl__segfile_write(f, st->mrel.ptr, st->mrel.len);
        } else {
            for (size_t i = 0; i + 4 <= st->mrel.len; i += 4) {
                uint32_t v = trawl__get_u32(st->mrel.ptr + i);
                b[0] = (unsigned char)(v & 0xff);
                b[1] = (unsigned char)(v >> 8);
                trawl__segfile_write(f, b, 2);
            }
        }
    }
    trawl__segfile_end(f);
    return f->rc;
}

void trawl__store_write_index(seg_store *st, segfile *f)
{
    unsigned char b[8];
    if (f->rc == 0 && st->index.rc != 0)
        f->rc = trawl_err_set(f->err, TRAWL_ENOMEM, "out of memory");
    trawl__segfile_begin(f, SEC_STORE_INDEX);
    trawl__put_u32(b, st->nblocks);
    trawl__segfile_write(f, b, 4);
    trawl__segfile_write(f, st->index.ptr, st->index.len);
    trawl__put_u64(b, st->off);
    trawl__segfile_write(f, b, 8);
    trawl__segfile_end(f);
    trawl__segfile_begin(f, SEC_STORE_DICT);
    trawl__segfile_write(f, st->dict.ptr, st->dict.len);
    trawl__segfile_end(f);
    if (st->wc != NULL) {
        if (f->rc == 0 && st->code.rc != 0)
            f->rc = trawl_err_set(f->err, TRAWL_ENOMEM, "out of memory");
        trawl__segfile_begin(f, SEC_STORE_CODE);
        trawl__segfile_write(f, st->code.ptr, st->code.len);
        trawl__segfile_end(f);
    }
}

void trawl__store_reset(seg_store *st)
{
    trawl_buf_clear(&st->block);
    trawl_buf_clear(&st->index);
    st->slot = 0;
    st->nblocks = 0;
    st->off = 0;
    st->dict_done = 0;
    trawl_buf_clear(&st->dict);
    if (st->zc != NULL)
        ZSTD_CCtx_refCDict(st->zc, NULL);
    ZSTD_freeCDict(st->cdict);
    st->cdict = NULL;
    trawl_buf_clear(&st->held);
    trawl_buf_clear(&st->held_len);
    st->nheld = 0;
    trawl__wc_model_free(st->wc);
    st->wc = NULL;
    trawl_buf_free(&st->code);
    trawl_buf_clear(&st->mblock);
    trawl_buf_clear(&st->mz);
    trawl_buf_clear(&st->mindex);
    trawl_buf_clear(&st->mrel);
    st->mslot = 0;
    st->mnblocks = 0;
}

size_t trawl__store_mem(const seg_store *st)
{
    return st->block.cap + st->index.cap + st->zbuf.cap + st->mblock.cap +
           st->mz.cap + st->mindex.cap + st->mrel.cap + st->held.cap +
           st->held_len.cap + st->dict.cap + ZSTD_sizeof_CCtx(st->zc) +
           ZSTD_sizeof_CDict(st->cdict) + trawl__wc_model_mem(st->wc) +
           st->code.cap;
}

void trawl__store_free(seg_store *st)
{
    trawl_buf_free(&st->block);
    trawl_buf_free(&st->index);
    trawl_buf_free(&st->zbuf);
    trawl_buf_free(&st->mblock);
    trawl_buf_free(&st->mz);
    trawl_buf_free(&st->mindex);
    trawl_buf_free(&st->mrel);
    trawl_buf_free(&st->dict);
    trawl_buf_free(&st->held);
    trawl_buf_free(&st->held_len);
    trawl__wc_model_free(st->wc);
    st->wc = NULL;
    trawl_buf_free(&st->code);
    ZSTD_freeCCtx(st->zc);
    st->zc = NULL;
    ZSTD_freeCDict(st->cdict);
    st->cdict = NULL;
}

/* ---- META -------------------------------------------------------------- */

void trawl__meta_write(segfile *f, uint32_t ndocs, uint64_t nterms,
                       const uint64_t *total_len, const char *language)
{
    unsigned char b[8 + 8 + 8 * TRAWL_NFIELDS + 4 + 1 + 255];
    size_t n = 0, ll = strlen(language);
    if (ll > 255)
        ll = 255;
    trawl__put_u32(b, ndocs);
    trawl__put_u32(b + 4, TRAWL_NFIELDS);
    trawl__put_u64(b + 8, nterms);
    n = 16;
    for (int i = 0; i < TRAWL_NFIELDS; i++, n += 8)
        trawl__put_u64(b + n, total_len[i]);
    trawl__put_u32(b + n, TRAWL_ANALYZER_VERSION);
    n += 4;
    b[n++] = (unsigned char)ll;
    memcpy(b + n, language, ll);
    n += ll;
    trawl__segfile_begin(f, SEC_META);
    trawl__segfile_write(f, b, n);
    trawl__segfile_end(f);
}
