/*
 * Pair terms of common words (format.h, section PAIRS): the word lists'
 * checks and the pair term's key, shared by the writer, merges, the
 * reader and the search.
 */
#ifndef TRAWL_PAIRS_H
#define TRAWL_PAIRS_H

#include <stddef.h>

#include "format.h"
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
 * (The merge uses it; writer.c has its own copy of these rules, in
 * pairs_choose, that ties by first-seen term.)
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

#endif
