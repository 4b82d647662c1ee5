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

/* 1 if the term is a pair term. */
static inline int trawl__is_pair(const char *term, size_t len)
{
    return len > 0 && (unsigned char)term[0] == PAIR_MARK;
}

#endif
