/*
 * Pair terms of common words (format.h, section PAIRS): the word list's
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

/* 0 if sec is a valid PAIRS section (empty or a sorted word list of at
 * most PAIR_MAX_WORDS words of 1 to PAIR_MAX_LEN bytes), else -1. */
int trawl__pairs_valid(const seg_section *sec);

/* Number of words of a valid PAIRS section. */
unsigned trawl__pairs_count(const seg_section *sec);

/* 1 if the word is one of the valid section's common words, else 0. */
int trawl__pairs_has(const seg_section *sec, const char *w, size_t len);

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
