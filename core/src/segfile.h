/*
 * Writing one segment file: a sequential stream of 8-byte aligned sections,
 * each checksummed as it is written, then the TOC and the footer; and the
 * encoders of the sections' contents (postings blocks with skip and
 * block-max data, the front-coded term dictionary, the zstd document store,
 * META), shared by the writer (writer.c) and the merger (merge.c) so that
 * both produce byte-identical layouts. Reading is in index.c.
 */
#ifndef TRAWL_SEGFILE_H
#define TRAWL_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>
#include <zstd.h>

#include "format.h"
#include "trawl/buf.h"
#include "wordcode.h"
#include "trawl/status.h"

#define SEGFILE_WBUF (256u << 10) /* write buffer bytes */

typedef struct segfile {
    int fd;
    char *path;          /* temporary path while writing */
    unsigned char *wbuf; /* write buffer */
    size_t wlen;
    size_t hpos;         /* wbuf offset up to which the open section
                            is hashed (see hash_pending) */
    uint64_t off;        /* bytes written (incl. buffered) */
    uint64_t synced;     /* bytes whose writeback has been started */
    int in_section;
    uint32_t cur_id;
    uint64_t cur_start;
    XXH3_state_t *xx;
    uint32_t nsec;
    struct {
        uint32_t id;
        uint64_t off, len, hash;
    } sec[SEC_MAX];
    int nosync;          /* 1: finish without fsync (the caller syncs
                            the file if it keeps it) */
    /* Called once by trawl__segfile_end before it closes the open section
     * (then cleared): the document store uses it to write the blocks it
     * held back until its dictionary was trained. */
    void (*on_end)(void *ctx, struct segfile *f);
    void *on_end_ctx;
    int rc;
    trawl_err *err;
} segfile;

/* The format version written (segment headers, manifests, compact
 * lists): TRAWL_FORMAT_VERSION; tests set it to an older one (6) to build
 * an index as the previous version did. */
extern uint32_t trawl__segfile_format;

int trawl__segfile_open(segfile *f, const char *path, trawl_err *err);
void trawl__segfile_begin(segfile *f, uint32_t id);
void trawl__segfile_write(segfile *f, const void *p, size_t n);
void trawl__segfile_end(segfile *f);
/* Write TOC + footer, fsync, close. Returns f->rc. */
int trawl__segfile_finish(segfile *f);
/* Close and unlink if not finished. */
void trawl__segfile_abort(segfile *f);

/*
 * Postings encoder for one term. Feed postings in increasing doc order with
 * trawl__penc_add(), then trawl__penc_finish(): skip holds the term's skip
 * table and blocks its postings blocks (the term's bytes in POSTINGS are
 * skip then blocks; a list of df <= COMPACT_MAX is compact, format.h:
 * skip empty, blocks its varints); max_tf/min_len are the whole-list bounds for the
 * dictionary entry and pos_bytes the term's bytes in POSITIONS. Appends
 * are sticky: check trawl__penc_rc() at the end.
 */
typedef struct seg_penc {
    trawl_buf skip, blocks;
    uint32_t df;                         /* postings added */
    uint32_t max_tf[TRAWL_NFIELDS];      /* over the whole list */
    uint32_t min_len[TRAWL_NFIELDS];     /* 0 when max_tf is 0 */
    uint64_t pos_bytes;                  /* POSITIONS bytes of the term */
    uint32_t ntab;                       /* its blocks with an offset
                                            table (format 9) */
    /* the pending block */
    uint32_t n;
    uint32_t docs[BLOCK_SIZE];
    uint32_t tf[TRAWL_NFIELDS][BLOCK_SIZE];
    uint32_t bmax_tf[TRAWL_NFIELDS], bmin_len[TRAWL_NFIELDS];
    uint64_t bpos;
    int64_t prev_doc;
    uint32_t prev_last;
    uint32_t vals[BLOCK_SIZE];
} seg_penc;

void trawl__penc_reset(seg_penc *e);
/* Encode the pending block (trawl__penc_add calls it when it is full). */
void trawl__penc_block(seg_penc *e);

/* tf[f] per field, len[f] the doc's field lengths, pos_len its positions
 * bytes. Inline: it runs once per posting. */
static inline void trawl__penc_add(seg_penc *e, uint32_t doc,
                                   const uint32_t *tf, const uint32_t *len,
                                   uint32_t pos_len)
{
    uint32_t i = e->n;
    e->docs[i] = doc;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        e->tf[f][i] = tf[f];
        if (tf[f] == 0)
            continue;
        if (tf[f] > e->bmax_tf[f])
            e->bmax_tf[f] = tf[f];
        if (len[f] < e->bmin_len[f])
            e->bmin_len[f] = len[f];
    }
    e->bpos += pos_len;
    e->df++;
    if (++e->n == BLOCK_SIZE)
        trawl__penc_block(e);
}
void trawl__penc_finish(seg_penc *e);
int trawl__penc_rc(const seg_penc *e);
void trawl__penc_free(seg_penc *e);

/* The term dictionary (TERMS and TERMS_INDEX), built in memory in term
 * order, then written. Terms are at most TRAWL_MAX_TERM bytes; postings
 * and positions must be laid out in term order, back to back (the
 * entries imply their offsets). */
typedef struct seg_dict {
    trawl_buf terms, tindex;
    uint64_t n;
    char prev[256];
    uint32_t prev_len;
    uint64_t next_post; /* where the next term's postings must start */
    uint64_t prev_pos;  /* the previous term's positions offset */
    int bad;            /* an offset broke the term order */
} seg_dict;

void trawl__dict_add(seg_dict *d, const char *term, uint32_t len,
                     const seg_penc *e, uint64_t post_off, uint64_t pos_off);
/* Bytes held. */
size_t trawl__dict_mem(const seg_dict *d);
/* Write TERMS and TERMS_INDEX; ENOMEM if an append failed earlier. */
int trawl__dict_write(seg_dict *d, segfile *f);
void trawl__dict_free(seg_dict *d);

/*
 * The document store, streamed into the STORE section as blocks fill.
 * Each segment's blocks are compressed with a dictionary (STORE_DICT)
 * trained on the segment's first STORE_DICT_HOLD raw bytes: until that
 * much is there, sealed blocks are held raw in `held`; then the dictionary
 * is trained and they are compressed and written. A segment with less
 * text trains on what it has when its STORE section ends (segfile on_end
 * hook), or goes without a dictionary when that is too little.
 * Format 11: at that point the store may pick a word code (STORE_CODE,
 * wordcode.h) built from the same held bytes instead, when it codes them
 * clearly smaller than zstd with the dictionary (store_train).
 */
typedef struct seg_store {
    trawl_buf block;   /* raw body records of the pending block */
    uint32_t slot;     /* records in it */
    uint32_t nblocks;  /* blocks sealed (written or held) */
    trawl_buf index;   /* u64 offset per written block */
    uint64_t off;      /* STORE bytes written */
    ZSTD_CCtx *zc;
    trawl_buf zbuf;
    int dict_done;     /* 1: the dictionary is decided (maybe empty) */
    trawl_buf dict;    /* its content (raw, see format.h) */
    ZSTD_CDict *cdict; /* NULL without a dictionary */
    trawl_buf held;    /* raw blocks sealed before the dictionary */
    trawl_buf held_len; /* u32 length of each held block */
    uint32_t nheld;
    wc_model *wc;      /* the word code, or NULL: zstd blocks */
    trawl_buf code;    /* its STORE_CODE bytes */
    trawl_buf mblock;  /* raw DOCMETA records of the pending meta block */
    uint32_t mslot;    /* records in it */
    trawl_buf mz;      /* compressed DOCMETA blocks, written at the end */
    trawl_buf mindex;  /* u64 offset (into mz) per meta block */
    trawl_buf mrel;    /* u32 offset of each doc's record in its block
                          (format 8) */
    uint32_t mnblocks;
} seg_store;

int trawl__store_init(seg_store *st, trawl_err *err);
/* Compress and write the pending block (if any) into f's open STORE
 * section. */
int trawl__store_flush(seg_store *st, segfile *f, trawl_err *err);
/* Write STORE_INDEX, STORE_DICT and STORE_CODE (STORE must be ended). */
void trawl__store_write_index(seg_store *st, segfile *f);
void trawl__store_reset(seg_store *st); /* for the next segment */
size_t trawl__store_mem(const seg_store *st);
void trawl__store_free(seg_store *st);

/*
 * Add one document: meta is its DOCMETA record (id and title), body its
 * STORE record. The body goes into the pending block (the caller flushes
 * it when it is big enough); *block and *slot get its place.
 */
int trawl__store_add(seg_store *st, const unsigned char *meta, size_t mlen,
                     const unsigned char *body, size_t blen, uint32_t *block,
                     uint32_t *slot, trawl_err *err);
/* The same from a whole article record (STORED_N fields, as built with
 * trawl__store_put_field): split into its meta and body parts. */
int trawl__store_add_record(seg_store *st, const unsigned char *rec,
                            size_t len, uint32_t *block, uint32_t *slot,
                            trawl_err *err);
/*
 * Blocks compressed elsewhere (the merger's threads), once the dictionary
 * and code are decided (st->dict_done): an encoder of the store's
 * parameters, dictionary or word code (NULL: out of memory; it refers to
 * st's code, so it goes before st), one block's frame into out (as
 * trawl__store_flush would write it), and appending such a frame to the
 * STORE section as the next block.
 */
typedef struct seg_senc {
    ZSTD_CCtx *zc;        /* zstd blocks */
    const wc_model *wc;   /* or word-coded blocks */
} seg_senc;
seg_senc *trawl__store_enc(const seg_store *st);
void trawl__store_enc_free(seg_senc *e);
int trawl__store_frame(seg_senc *e, const void *raw, size_t len,
                       trawl_buf *out, trawl_err *err);
/* 0: a segment of format 11 takes the word code when the guard says so
 * (store_train); 1: never; 2: whenever it can be built (tests). */
extern int trawl__store_words;
int trawl__store_put_frame(seg_store *st, segfile *f, const void *z,
                           size_t n, trawl_err *err);

/* Write DOCMETA and DOCMETA_INDEX (after the STORE sections). */
int trawl__store_write_meta(seg_store *st, segfile *f, trawl_err *err);

/* Append one stored field (NULL = absent) to a store record. */
void trawl__store_put_field(trawl_buf *b, const char *s, size_t len);

/* Write the META section. */
void trawl__meta_write(segfile *f, uint32_t ndocs, uint64_t nterms,
                       const uint64_t *total_len, const char *language);

/* fsync the file at path. */
int trawl__fsync_file(const char *path, trawl_err *err);

/* fsync a directory. */
int trawl__fsync_dir(const char *dir, trawl_err *err);

#endif
