/*
 * The read side of segments and generations, shared by index.c (open,
 * verify, lookups), search.c (cursors, evaluation) and snippet.c. A
 * segment is a read-only mapping; every pointer here points into it.
 */
#ifndef TRAWL_SEG_H
#define TRAWL_SEG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/index.h"
#include "trawl/status.h"

typedef struct seg_section {
    const unsigned char *p;
    uint64_t len;
} seg_section;

/* One decoded term dictionary entry. */
typedef struct seg_term {
    uint32_t df;
    uint64_t post_off;  /* into POSTINGS */
    uint64_t skip_len;  /* skip table bytes at post_off */
    uint64_t post_len;  /* skip table + blocks */
    uint64_t pos_off;   /* into POSITIONS */
    uint32_t max_tf[TRAWL_NFIELDS]; /* 0 for a compact list (unknown */
    uint32_t min_len[TRAWL_NFIELDS]; /* until it is decoded) */
    int compact;        /* a compact list (format.h; skip_len 0) */
} seg_term;

/* What a segment's opening made once: the mapping and the lookup keys,
 * shared by every generation open in the process that holds the same
 * file (trawl_index_reopen), and the file's identity at opening. */
typedef struct seg_shared {
    atomic_int refs;
    /* Format 11: the store's word code, rebuilt from STORE_CODE on the
     * first stored read that needs it (under wmu), then shared. */
    pthread_mutex_t wmu;
    struct wc_code *_Atomic wcode;
    const unsigned char *map;
    size_t size;
    uint64_t *term_keys;
    uint16_t *flen;
    uint64_t dev, ino;
    int64_t mtime_ns, ctime_ns;
} seg_shared;

typedef struct trawl_segment {
    char *name;                  /* file name within the index dir */
    seg_shared *sh;              /* the mapping's owner (refcounted) */
    const unsigned char *map;    /* whole file */
    size_t size;
    seg_section sec[SEC_MAX];
    uint32_t ndocs;
    uint64_t nterms;
    uint64_t total_len[TRAWL_NFIELDS];
    uint32_t nterm_blocks;
    uint32_t term_block;         /* terms per block: TERM_BLOCK, or
                                    TERM_BLOCK_OLD before format 10 */
    uint64_t *term_keys;         /* per term block, its first term's first 8
                                    bytes as a big-endian number (zero
                                    padded), for lookups; sh's */
    uint16_t *flen;              /* field lengths by doc and field, as
                                    DOCS has them (FLEN_BIG: see DOCS),
                                    dense for search; sh's */
    uint32_t nstore_blocks;
    unsigned char *deleted;      /* bitmap (malloc'd, this generation's) or
                                    NULL: none deleted */
    uint32_t ndeleted;
    char language[32];
    uint32_t analyzer_version;
    uint32_t version;            /* format version of the file */
    uint64_t serial;             /* unique among the segments this process
                                    opened (never 0 once open): keys
                                    searchers' term caches */
    uint64_t dict_hash;          /* XXH3 of STORE_DICT (from the TOC) */
    uint32_t meta_rel;           /* bytes per document offset in
                                    DOCMETA_INDEX: 2 or 4 (format 8), 0 */
    int store_words;             /* format 11: STORE blocks are word
                                    coded (STORE_CODE), not zstd */
} trawl_segment;

struct trawl_index {
    atomic_int refs;
    char *dir;
    uint64_t generation;
    int64_t created;
    char language[32];
    uint32_t nsegs;
    trawl_segment *segs;
    uint64_t live_docs;
    uint64_t all_docs;                   /* including deleted */
    uint64_t total_len[TRAWL_NFIELDS];   /* over live docs */
    double avg_len[TRAWL_NFIELDS];       /* total_len / live_docs */
    uint64_t bytes;
    uint64_t nterms;
};

static inline int trawl__seg_is_deleted(const trawl_segment *s, uint32_t d)
{
    return s->deleted != NULL && (s->deleted[d >> 3] >> (d & 7)) & 1;
}

/* Format 8: where doc d's DOCMETA record starts within its block (d <
 * ndocs, s->meta_rel > 0; unchecked). */
static inline uint32_t trawl__seg_meta_rel(const trawl_segment *s,
                                           uint32_t d)
{
    const unsigned char *mx = s->sec[SEC_DOCMETA_INDEX].p + 4 +
                              ((size_t)s->ndocs + META_BLOCK - 1) /
                                  META_BLOCK * 8 + 8;
    if (s->meta_rel == 2)
        return (uint32_t)mx[(size_t)d * 2] |
               (uint32_t)mx[(size_t)d * 2 + 1] << 8;
    mx += (size_t)d * 4;
    return (uint32_t)mx[0] | (uint32_t)mx[1] << 8 | (uint32_t)mx[2] << 16 |
           (uint32_t)mx[3] << 24;
}

/* Above this, a field's length is read from DOCS (see flen). */
#define FLEN_BIG 0xffffu

/* Field lengths of doc d (d < ndocs; unchecked). A query reads them for
 * every document it scores: from a dense array of 4 bytes a document
 * (built at open) rather than the 32-byte DOCS records, so that more of
 * them share a cache line (p50 -7% at 100k documents). */
static inline uint32_t trawl__seg_field_len(const trawl_segment *s,
                                            uint32_t d, int f)
{
    if (s->flen != NULL) {
        uint32_t v = s->flen[(size_t)d * TRAWL_NFIELDS + (size_t)f];
        if (v != FLEN_BIG)
            return v;
    }
    const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
    return (uint32_t)r[4 * f] | (uint32_t)r[4 * f + 1] << 8 |
           (uint32_t)r[4 * f + 2] << 16 | (uint32_t)r[4 * f + 3] << 24;
}

/* Drop the whole pages of [a, b) (inside s's mapping) from this process's
 * resident set: read for the last time; they stay in the page cache. */
void trawl__seg_drop(const trawl_segment *s, const unsigned char *a,
                     const unsigned char *b);

int64_t trawl__seg_date(const trawl_segment *s, uint32_t d);
uint64_t trawl__seg_fingerprint(const trawl_segment *s, uint32_t d);

/* 1 and *out if term is in the segment, 0 if not, <0 on corruption. */
int trawl__seg_lookup(const trawl_segment *s, const char *term, size_t len,
                      seg_term *out, trawl_err *err);

/* Visit the terms that start with prefix, in order, until cb returns
 * non-zero (returned). */
typedef int (*seg_term_cb)(void *payload, const char *term, size_t len,
                           const seg_term *t);
int trawl__seg_prefix(const trawl_segment *s, const char *prefix,
                      size_t len, seg_term_cb cb, void *payload,
                      trawl_err *err);

/* Map and verify the segment file dir/s->name (s zeroed but for name,
 * which trawl__seg_close frees). Does not set s->deleted. */
int trawl__seg_open(trawl_segment *s, const char *dir, trawl_err *err);
void trawl__seg_close(trawl_segment *s);

/* Walk a segment's dictionary in term order.
 *   seg_iter it; trawl__seg_iter_init(&it, s);
 *   while ((rc = trawl__seg_iter_next(&it, err)) == 1) use it.term/len/t;
 * rc is 0 at the end, <0 on corruption. */
typedef struct seg_iter {
    const trawl_segment *s;
    uint64_t i;              /* terms decoded */
    const unsigned char *p;  /* next entry */
    char term[256];
    size_t len;
    seg_term t;
} seg_iter;
void trawl__seg_iter_init(seg_iter *it, const trawl_segment *s);
int trawl__seg_iter_next(seg_iter *it, trawl_err *err);

/* Decode stored doc d into arena strings. */
int trawl__seg_stored(const trawl_segment *s, uint32_t d, trawl_arena *a,
                      trawl_stored *out, trawl_err *err);
/* The same with a caller's decompression context (NULL: a temporary). */
typedef struct ZSTD_DCtx_s ZSTD_DCtx;
int trawl__seg_stored_dctx(const trawl_segment *s, uint32_t d,
                           ZSTD_DCtx *dctx, trawl_arena *a,
                           trawl_stored *out, trawl_err *err);

/* Decompress store block `block` of s into buf (reused; it holds the
 * store's dictionary, then the block): *out and *len get the block's raw
 * records. dctx may be NULL (a temporary is used). */
int trawl__seg_store_block(const trawl_segment *s, uint32_t block,
                           ZSTD_DCtx *dctx, trawl_buf *buf,
                           const unsigned char **out, size_t *len,
                           trawl_err *err);

/* The id and title of doc d (NUL-terminated, in the arena). */
int trawl__seg_meta(const trawl_segment *s, uint32_t d, trawl_arena *a, const char **id, size_t *id_len,
                    const char **title, size_t *title_len, trawl_err *err);

/* The raw DOCMETA record of doc d (pointing into the mapping). */
int trawl__seg_meta_raw(const trawl_segment *s, uint32_t d,
                        const unsigned char **rec, size_t *len,
                        trawl_err *err);

/* Find a live doc by external id across the index; 1 found, 0 not. */
int trawl__index_find_id(const trawl_index *ix, const char *id, size_t len,
                         uint32_t *seg_out, uint32_t *doc_out,
                         trawl_err *err);


#endif
