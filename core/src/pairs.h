/*
 * Pair terms of common words (format.h, section PAIRS): the word lists'
 * checks and the pair term's key, shared by the writer, merges, the
 * reader and the search.
 */
#ifndef TRAWL_PAIRS_H
#define TRAWL_PAIRS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "trawl/buf.h"

/* Longest pair term key. */
#define PAIR_KEY_MAX (2 + 2 * PAIR_MAX_LEN)

enum { PAIR_NONE = 0, PAIR_FREQUENT = 1, PAIR_COMMON = 2 };

/* 0 if sec is a valid PAIRS section (empty, or the two sorted word lists
 * format.h describes), else -1. */
int trawl__pairs_valid(const seg_section *sec);

/* Common words of a valid PAIRS section (0: the segment has no pairs),
 * and frequent ones. */
unsigned trawl__pairs_common(const seg_section *sec);
unsigned trawl__pairs_frequent(const seg_section *sec);

/* Word i of a valid section (the common ones first), and its length. */
const char *trawl__pairs_word(const seg_section *sec, unsigned i,
                              size_t *len);

/* PAIR_COMMON, PAIR_FREQUENT or PAIR_NONE: the word's list in a valid
 * section. */
int trawl__pairs_class(const seg_section *sec, const char *w, size_t len);

/* 1 if a then b have a pair term in a segment with this valid section:
 * both listed, at least one common. */
int trawl__pairs_cover(const seg_section *sec, const char *a, size_t alen,
                       const char *b, size_t blen);

/* Write the pair term of a then b into out (PAIR_KEY_MAX bytes) and
 * return its length; 0 if either word is longer than PAIR_MAX_LEN. */
size_t trawl__pair_key(char *out, const char *a, size_t alen, const char *b,
                       size_t blen);

/* ---- counting pair terms ------------------------------------------------
 *
 * The writer (pairs_build, from its in-memory postings) and the merge
 * (pairs_gather, from the inputs' segments) count a document's pairs the
 * same way, with a pair_count: each reads its listed words' postings
 * with its own cursors (cursor c stands for listed word cword[c]); a
 * cursor waits in the bucket of its next document (slot: that document,
 * from the scan's first); for the document at hand, trawl__pair_count_here
 * takes the cursors waiting there, the caller decodes their positions in
 * each field into pos (trawl__pair_count_room first) and marks them as it
 * goes (trawl__pair_mark), and trawl__pair_count_field counts that
 * field's pairs: adjacent positions, the first word's then the second's,
 * at least one of the two common.
 * The document's pairs are then plist[0 .. npl), in first-seen order,
 * with their counts per field in ps[pair].tf.
 */

/* The dense index of the pair (i, j) of listed words (kc common first, k
 * in all), at least one common: below 2 * kc * k. */
static inline uint32_t trawl__pair_index(uint32_t i, uint32_t j, uint32_t kc,
                                         uint32_t k)
{
    return i < kc ? i * k + j : kc * k + (i - kc) * kc + j;
}

/* The words i, j of pair index pr (trawl__pair_index's inverse). */
static inline void trawl__pair_words(uint32_t pr, uint32_t kc, uint32_t k,
                                     uint32_t *i, uint32_t *j)
{
    if (pr < kc * k) {
        *i = pr / k;
        *j = pr % k;
    } else {
        *i = kc + (pr - kc * k) / kc;
        *j = (pr - kc * k) % kc;
    }
}

/* Longest posting trawl__pair_post_put writes. */
#define PAIR_POST_MAX 15

/* Write a pair term's posting as the writer's buffers and the merge's
 * gathered postings hold it (no positions): varint doc gap (the first
 * from -1), varint body tf << 1 | (title tf != 0), then varint title tf
 * unless it is 0. Returns its length, trawl__pair_post_len's. */
static inline size_t trawl__pair_post_len(uint32_t gap, const uint32_t *tf)
{
    uint32_t tt = tf[TRAWL_FIELD_TITLE];
    return trawl__varint_len(gap) +
           trawl__varint_len(tf[TRAWL_FIELD_BODY] << 1 | (tt != 0)) +
           (tt != 0 ? trawl__varint_len(tt) : 0);
}

static inline size_t trawl__pair_post_put(unsigned char *p, uint32_t gap,
                                          const uint32_t *tf)
{
    uint32_t tt = tf[TRAWL_FIELD_TITLE];
    size_t n = trawl__put_varint(p, gap);
    n += trawl__put_varint(p + n, tf[TRAWL_FIELD_BODY] << 1 | (tt != 0));
    if (tt != 0)
        n += trawl__put_varint(p + n, tt);
    return n;
}

/* A pair's state: where it was last counted and its counts there, side
 * by side (the pairs are touched in no order: one cache miss each, not
 * one per array). */
typedef struct pair_slot {
    uint32_t stamp;             /* document + 1 where last counted */
    uint32_t tf[TRAWL_NFIELDS]; /* counts per field in that document */
} pair_slot;

typedef struct pair_count {
    uint32_t kc, k;   /* common listed words (first), listed words */
    uint32_t *cword;  /* per cursor (up to k): its listed word; the
                         caller's to set */
    uint32_t *next;   /* per cursor: the next one waiting in its bucket
                         + 1 */
    uint32_t *bucket; /* per slot: its first waiting cursor + 1 */
    uint32_t *here;   /* the cursors of the document at hand */
    uint32_t nh;
    uint32_t *span;   /* per cursor here (and one more): where its
                         positions start in pos */
    uint32_t *pos;    /* the positions of the field at hand */
    size_t pos_cap;
    uint16_t *mark;   /* position x -> listed words + 1 at [2x], [2x + 1]
                         (0: none; a compound and its first part stand
                         at one position); all 0 between fields */
    size_t mark_cap;
    pair_slot *ps;    /* per pair */
    uint32_t *plist;  /* the document's pairs, in first-seen order */
    uint32_t npl;
} pair_count;

/* Set up pc for kc common of k listed words and nslots buckets (all
 * empty). 0 or TRAWL_ENOMEM (pc then needs no freeing). */
int trawl__pair_count_init(pair_count *pc, uint32_t kc, uint32_t k,
                           size_t nslots);
void trawl__pair_count_free(pair_count *pc);

/* Grow mark to a field of flen positions and pos to npos of them. 0 or
 * TRAWL_ENOMEM. */
int trawl__pair_count_grow(pair_count *pc, size_t flen, size_t npos);

static inline int trawl__pair_count_room(pair_count *pc, size_t flen,
                                         size_t npos)
{
    if (flen + 2 > pc->mark_cap || npos > pc->pos_cap)
        return trawl__pair_count_grow(pc, flen, npos);
    return 0;
}

/* Cursor c waits for its next document, in bucket slot. */
static inline void trawl__pair_count_wait(pair_count *pc, uint32_t c,
                                          size_t slot)
{
    pc->next[c] = pc->bucket[slot];
    pc->bucket[slot] = c + 1;
}

/* Start a document: take the cursors waiting in bucket slot into here
 * (and empty it); the document has no pairs yet. Returns nh, their
 * number. */
static inline uint32_t trawl__pair_count_here(pair_count *pc, size_t slot)
{
    uint32_t nh = 0;
    for (uint32_t b = pc->bucket[slot]; b != 0; b = pc->next[b - 1])
        pc->here[nh++] = b - 1;
    pc->bucket[slot] = 0;
    pc->nh = nh;
    pc->npl = 0;
    return nh;
}

/* Mark position x of the field at hand (flen tokens) as listed word
 * m - 1's. 1 if it cannot be: x is not below flen, or two other words
 * stand there (a clash, see trawl__pair_count_field); else 0. */
static inline int trawl__pair_mark(uint16_t *mark, size_t flen, uint32_t x,
                                   uint16_t m)
{
    if (x >= flen || mark[2 * (size_t)x + 1] != 0)
        return 1;
    mark[2 * (size_t)x + (mark[2 * (size_t)x] != 0)] = m;
    return 0;
}

/*
 * Count the pairs of field f of document doc (< UINT32_MAX): the caller
 * has put the positions in f of each cursor here[h], increasing, at
 * pos[span[h] .. span[h + 1]), and marked each with trawl__pair_mark
 * (m = cword[here[h]] + 1), clash set if one could not be. Each listed
 * word followed by another at the next position, at least one of them
 * common, counts a pair; with rank, only those whose first word's rank is
 * in [lo, hi) (see merge.c). Unmarks the positions. Returns clash: when
 * three words stand at one position, or a position is not below flen,
 * nothing is counted.
 */
static inline int trawl__pair_count_field(pair_count *pc, size_t flen,
                                          uint32_t doc, unsigned f,
                                          int clash, const uint32_t *rank,
                                          uint32_t lo, uint32_t hi)
{
    const uint32_t *here = pc->here, *cword = pc->cword, *span = pc->span;
    const uint32_t *pos = pc->pos;
    uint16_t *mark = pc->mark;
    uint32_t *plist = pc->plist;
    pair_slot *ps = pc->ps;
    uint32_t nh = pc->nh, kc = pc->kc, k = pc->k, npl = pc->npl;
    for (uint32_t h = 0; h < nh && !clash; h++) {
        uint32_t i = cword[here[h]];
        if (rank != NULL && (rank[i] < lo || rank[i] >= hi))
            continue;
        for (uint32_t t = span[h]; t < span[h + 1]; t++) {
            const uint16_t *next = mark + 2 * ((size_t)pos[t] + 1);
            for (int s = 0; s < 2 && next[s] != 0; s++) {
                uint32_t j = next[s];
                if (i >= kc && j - 1 >= kc)
                    continue;
                uint32_t pr = trawl__pair_index(i, j - 1, kc, k);
                pair_slot *x = &ps[pr];
                if (x->stamp != doc + 1) {
                    x->stamp = doc + 1;
                    memset(x->tf, 0, sizeof(x->tf));
                    plist[npl++] = pr;
                }
                x->tf[f]++;
            }
        }
    }
    for (uint32_t t = 0; t < span[nh]; t++)
        if (pos[t] < flen) {
            mark[2 * (size_t)pos[t]] = 0;
            mark[2 * (size_t)pos[t] + 1] = 0;
        }
    pc->npl = npl;
    return clash;
}

/* A term that may become a listed word, and its document frequency
 * (see trawl__pairs_choose). */
typedef struct pair_cand {
    const char *s;
    size_t len;
    uint32_t df;
    uint32_t ord; /* set by trawl__pairs_choose */
} pair_cand;

/*
 * Choose the common and frequent words of ndocs documents from terms
 * c[0..n) (format.h, PAIRS): as common, up to PAIR_MAX_WORDS of df at
 * least ndocs / PAIR_DF_DIV; as frequent, up to PAIR_MAX_FREQ more of at
 * least ndocs / PAIR_FREQ_DIV and at least 2; most frequent first, ties
 * to the earlier candidate. Terms that cannot be listed (pair terms, too
 * long, too rare) are skipped. out gets the PAIRS section's bytes; it is
 * left empty when no word is common. c is reordered. 0 or TRAWL_ENOMEM.
 * (The writer passes its terms in first-seen order, the merge in byte
 * order: ties go to the first seen, or to the first in byte order.)
 */
int trawl__pairs_choose(pair_cand *c, size_t n, uint64_t ndocs,
                        trawl_buf *out);

/* Bytes a merge may hold to rebuild pair terms; 0 (the default): half
 * of its inputs' POSTINGS and POSITIONS plus 4 MiB, at most 256 MiB (see
 * merge.c). A hook for tests. */
extern size_t trawl__merge_pairs_cap;

/* 1 if the term is a pair term. */
static inline int trawl__is_pair(const char *term, size_t len)
{
    return len > 0 && (unsigned char)term[0] == PAIR_MARK;
}

/* 1 if the term is an author or a site term (format.h): a filter's,
 * never a token. */
static inline int trawl__is_meta(const char *term, size_t len)
{
    return len > 0 && ((unsigned char)term[0] == AUTHOR_MARK ||
                       (unsigned char)term[0] == SITE_MARK);
}

#endif
