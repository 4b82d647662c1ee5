/*
 * The analyzer: the one path from text to terms, used for documents,
 * queries and snippets alike.
 *
 *   1. UTF-8 is validated; invalid bytes never stop analysis (see
 *      trawl_utf8_sanitize() to repair text before it is stored).
 *   2. Tokens are maximal runs of letters, digits and combining marks
 *      (a mark starts none). An apostrophe (', U+2018, U+2019 or
 *      U+02BC, all folded to ') between two letters stays inside the
 *      token ("d’affaires", "korea's"), except
 *      that French, Italian and Catalan drop an elided article before it
 *      ("l'économie" is "économie") and Turkish the suffix after it
 *      ("Ankara'da" is "Ankara"); '.' or ',' between two digits stays
 *      inside a number ("3.5", "1,000"; thousands separators are dropped:
 *      "10,000" is "10000"); a dotted acronym is one token without its
 *      dots ("U.S." is "us", "Ph.D." is "phd"). Words joined by hyphens
 *      ('-', U+2010, U+2011) are tokens of their own, and the chain also
 *      gives its parts run together, at the position of the first part
 *      and before it ("e-mail" is "email" and "e", "mail"; "COVID-19"
 *      "covid19", "covid", "19"): 2 to 6 plain parts, one with a letter
 *      (not "1-0"), a part after the first without its apostrophes
 *      ("x-O'Brien" is "xobrien"), see trawl_token.parts. A change
 *      between a letter and a digit inside a word is such a hyphen too
 *      ("COVID19" is "covid19", "covid", "19" as "COVID-19" is;
 *      "iPhone5s" "iphone5s", "iphone", "5", "s"), if the chain split so
 *      has at most 6 parts (else its words stay whole: "a3f9c2e81b");
 *      a word with a point or comma between digits splits alone, its
 *      compound the word as it is ("3.5km": "3.5km", "3.5", "km"), one
 *      with an apostrophe does not split. A word with an
 *      apostrophe
 *      is likewise preceded by its letters without it ("O'Brien":
 *      "obrien", "o'brien"), unless both stem alike. Han, Hiragana, Katakana,
 *      Hangul, Thai, Lao, Khmer and Myanmar characters (with the marks
 *      that follow them) are one token each (no dictionary segmentation;
 *      a query word of several is a phrase of them: 회의 finds 회의가,
 *      ไทย finds รัฐบาลไทย); a Hangul syllable written as conjoining jamo
 *      is one character.
 *   3. Each token is folded with utf8proc: NFKC, case fold, accents
 *      stripped ("Chargé" -> "charge"), U+2018/U+2019/U+02BC -> "'".
 *      Accents are the combining diacritics (U+0300..036F and the other
 *      "Combining Diacritical Marks" blocks) on Latin or Greek letters,
 *      the stress marks (U+0300, U+0301) on Cyrillic ones, Hebrew points
 *      and Arabic vowel marks on their letters; the Arabic tatweel is
 *      dropped too. Other marks are kept (kana voicing: が stays が; Indic
 *      vowel signs; Cyrillic й and ё stay). A token that folds to nothing (a lone accent)
 *      is dropped without taking a position.
 *   4. The folded token is stemmed with libstemmer (any sb_stemmer_list()
 *      algorithm, or "none"); stems are memoized per surface form.
 *
 * Invalid UTF-8 bytes separate tokens like spaces do.
 *
 * Positions count tokens from 0 within one call (a compound takes none of
 * its own). Byte offsets refer to the
 * text passed in. An analyzer is not thread-safe: use one per thread.
 */
#ifndef TRAWL_ANALYZE_H
#define TRAWL_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/status.h"

/* Bumped whenever the analysis of some text changes; stored in the index. */
#define TRAWL_ANALYZER_VERSION 6 /* 6: letters and digits split */

/* Longest term kept, in bytes after folding; longer tokens are truncated at
 * a character boundary (their byte range still covers the whole token). */
#define TRAWL_MAX_TERM 64

typedef struct trawl_analyzer trawl_analyzer;

typedef struct trawl_token {
    const char *term; /* folded + stemmed; borrowed, valid during callback */
    size_t len;       /* bytes in term, 1..TRAWL_MAX_TERM */
    uint32_t pos;     /* token position, from 0 */
    size_t start;     /* byte offset of the token in the input */
    size_t end;       /* one past its last byte */
    unsigned char *user; /* 4 bytes (unaligned: use memcpy) kept with this
                            surface form in the stem memo, zero when the form
                            is new: a caller may cache something per form
                            there (the writer keeps a term id). NULL when
                            not memoized. Valid during the callback; zeroed
                            by trawl_analyzer_forget() or when the memo
                            fills up. */
    uint32_t parts;   /* 0 for a word; for the compound of a hyphenated
                         chain ("e-mail": "email"), its number of parts,
                         the tokens that follow it, the first at the
                         compound's position; 1 for a word's letters
                         without its apostrophe, before the word */
} trawl_token;

/* Return 0 to continue, non-zero to stop (that value is returned by
 * trawl_analyze). */
typedef int (*trawl_token_cb)(void *payload, const trawl_token *tok);

/*
 * Create an analyzer for a Snowball language ("english", "french", ... any
 * name or alias sb_stemmer_list() knows) or "none" for no stemming.
 * Returns TRAWL_EINVAL with a message listing valid names for an unknown
 * language, TRAWL_ENOMEM.
 */
int trawl_analyzer_new(trawl_analyzer **out, const char *language,
                       trawl_err *err);
void trawl_analyzer_free(trawl_analyzer *a);

/* Drop the stem memo (and every token's user bytes with it). */
void trawl_analyzer_forget(trawl_analyzer *a);

/* Bound the stem memo to about `bytes` (default: 48 MiB); it is cleared
 * and refilled when it reaches the bound. */
void trawl_analyzer_limit(trawl_analyzer *a, size_t bytes);

/* Bytes the analyzer holds (memo and scratch). */
size_t trawl_analyzer_footprint(const trawl_analyzer *a);

/* The canonical language name the analyzer was created with: the
 * sb_stemmer_list() name ("en", "eng", "English" -> "english") or "none". */
const char *trawl_analyzer_language(const trawl_analyzer *a);

/*
 * Analyze text[0..len) and call cb for each token in order. Returns 0, the
 * callback's non-zero value, or TRAWL_ENOMEM.
 */
int trawl_analyze(trawl_analyzer *a, const char *text, size_t len,
                  trawl_token_cb cb, void *payload);

/*
 * Analyze without stemming-through: like trawl_analyze, but the term passed
 * to cb is the folded surface form (for prefix queries). */
int trawl_analyze_folded(trawl_analyzer *a, const char *text, size_t len,
                         trawl_token_cb cb, void *payload);

/*
 * Analysis in two halves, for a pipeline that folds on one thread and
 * stems on another (the index writer): trawl_analyze_fold() appends the
 * folded tokens of a text to a batch, and trawl_analyze_stem_batch() then
 * passes a range of them through the stem memo to a callback, exactly as
 * trawl_analyze() would have (same terms, same positions counted from the
 * range's first token, same user bytes), except that start and end are
 * 0. Each half uses its own analyzer (of the same language) when they
 * run on different threads.
 */
typedef struct trawl_ftok {
    uint32_t off;  /* of the folded form in trawl_folded.bytes */
    uint32_t len;  /* bits 0-7: 1..TRAWL_MAX_TERM; above: a compound's
                      parts (trawl_token.parts) */
} trawl_ftok;

typedef struct trawl_folded {
    char *bytes;       /* folded forms, back to back */
    size_t len, cap;
    trawl_ftok *toks;
    size_t n, toks_cap;
} trawl_folded; /* zero-initialize */

/* Append the folded tokens of text[0..len). Returns 0, TRAWL_ENOMEM,
 * TRAWL_ETOOBIG (4 GiB of folded bytes in one batch). */
int trawl_analyze_fold(trawl_analyzer *a, const char *text, size_t len,
                       trawl_folded *out);

/* Stem tokens [from, to) of f and call cb for each in order. Returns 0,
 * the callback's non-zero value, or TRAWL_ENOMEM. */
int trawl_analyze_stem_batch(trawl_analyzer *a, const trawl_folded *f,
                             size_t from, size_t to, trawl_token_cb cb,
                             void *payload);

/* Empty the batch (keeping its memory); free it; bytes it holds. */
void trawl_folded_clear(trawl_folded *f);
void trawl_folded_free(trawl_folded *f);
size_t trawl_folded_footprint(const trawl_folded *f);

/*
 * Stem one already-folded token (used for prefix expansion and tests).
 * Writes at most cap bytes to out and returns the length, or a negative
 * code: TRAWL_EINVAL if folded is not valid UTF-8, TRAWL_ETOOBIG if the
 * stem does not fit in cap bytes (cap >= TRAWL_MAX_TERM always fits),
 * TRAWL_ENOMEM. Like trawl_analyze, the input is first cut to
 * TRAWL_MAX_TERM bytes; an empty input gives 0. With "none" the folded
 * form is copied unchanged.
 */
int trawl_analyzer_stem(trawl_analyzer *a, const char *folded, size_t len,
                        char *out, size_t cap);

/*
 * Copy text into *out (malloc'd, NUL-terminated) with every invalid UTF-8
 * sequence replaced by U+FFFD; *out_len gets its length and, if non-NULL,
 * *replaced the number of replacements. Returns 0 or TRAWL_ENOMEM.
 */
int trawl_utf8_sanitize(const char *text, size_t len, char **out,
                        size_t *out_len, size_t *replaced);

/* 1 if s[0..len) is valid UTF-8 (no surrogates, no overlongs), else 0. */
int trawl_utf8_valid(const char *s, size_t len);

/* NULL-terminated list of the stemmer names available (sb_stemmer_list). */
const char **trawl_analyzer_languages(void);

#endif
