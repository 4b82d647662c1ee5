/*
 * Helpers shared by the unit tests: a group fixture (analyzer and arena),
 * seeded random numbers, corpora of generated documents, writer runs over
 * them, temporary directories, segment images damaged and resealed, and
 * checks of an index's results against the brute-force oracle (oracle.h)
 * or against another index.
 * Each fails the running test (cmocka) when something does not hold.
 */
#ifndef TRAWL_TEST_TESTUTIL_H
#define TRAWL_TEST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/writer.h"

/* ---- a group fixture ---------------------------------------------------- */

/* An English analyzer and a 4 KiB arena, for cmocka group tests:
 * cmocka_run_group_tests(tests, tu_fixture_setup, tu_fixture_teardown),
 * then each test's *state is the tu_fixture. */
typedef struct tu_fixture {
    trawl_analyzer *an;
    trawl_arena *a;
} tu_fixture;

int tu_fixture_setup(void **state);
int tu_fixture_teardown(void **state);

/* q parsed with f's analyzer (f's arena reset first) and rendered into
 * out as explain shows it; 0, or the parser's code with err set. */
int tu_parse_render(tu_fixture *f, const char *q, char *out, size_t cap,
                    trawl_err *err);

/* A query and what is expected of it: its rendering, or a part of the
 * parser's error message. */
typedef struct tu_query_case {
    const char *q, *want;
} tu_query_case;

/* Each case parses and renders as its want; each fails the test if not. */
void tu_check_renders(tu_fixture *f, const tu_query_case *c, size_t n);

/* Each case is a bad_query whose message holds its want. */
void tu_check_rejects(tu_fixture *f, const tu_query_case *c, size_t n);

/* ---- random numbers ---------------------------------------------------- */

/* A linear congruential generator: tu_seed, then tu_rnd(n) in [0, n). */
void tu_seed(uint64_t seed);
uint32_t tu_rnd(uint32_t n);

/* A xorshift64 step of *state (not 0): a number in [0, n). For the tests
 * that keep their own generator's state. */
uint32_t tu_xorshift(uint64_t *state, uint32_t n);

/* ---- corpora and writer runs ------------------------------------------- */

/* A small news vocabulary (tu_nvocab words), the most common first. */
extern const char *const tu_vocab[];
extern const size_t tu_nvocab;

/* nwords words of tu_vocab, separated by spaces (malloc'd); each the
 * lower-indexed of two drawn (tu_rnd): early ones are more frequent. */
char *tu_make_text(uint32_t nwords);

/* n documents: ids, titles, bodies, authors and URLs (malloc'd; an
 * author or URL may be NULL) and dates. */
typedef struct tu_corpus {
    size_t n;
    char **id, **title, **body, **author, **url;
    int64_t *date;
} tu_corpus;

/* Room for n documents, with ids "doc-" and i in `digits` digits (or
 * more); titles, bodies, authors and URLs NULL, dates 0, for the caller
 * to fill. */
void tu_corpus_init(tu_corpus *c, size_t n, int digits);
void tu_corpus_free(tu_corpus *c);

/* Append word w to the string *s (length *len, capacity *cap; NULL, 0, 0
 * at first), after a space unless it is the first. */
void tu_append(char **s, size_t *len, size_t *cap, const char *w);

/* Document i of c as an article (pointing into c). */
trawl_article tu_article(const tu_corpus *c, size_t i);

/* Add an article to w: its stored fields, extra NULL for none, date
 * TRAWL_NO_DATE for none. */
void tu_add(trawl_writer *w, const char *id, const char *title,
            const char *body, const char *extra, int64_t date);

/* One writer run with options o (NULL: the defaults) over documents
 * order[0 .. n) of c (order NULL: 0 .. n), committed; its stats in *st
 * unless st is NULL. trawl__segfile_format (which a test may set to write
 * an older format) is TRAWL_FORMAT_VERSION again afterwards, whether the
 * run succeeded or not. */
void tu_run(const char *dir, const tu_corpus *c, const size_t *order,
            size_t n, const trawl_writer_opts *o, trawl_writer_stats *st);

/* tu_run over the documents d of [from, to) with keep[d] (keep NULL:
 * all), in order. */
void tu_run_range(const char *dir, const tu_corpus *c, size_t from,
                  size_t to, const unsigned char *keep,
                  const trawl_writer_opts *o, trawl_writer_stats *st);

/* tu_run_range of the documents of c with keep, without stats, written
 * in segment format fmt (an older one, or TRAWL_FORMAT_VERSION). */
void tu_run_format(const char *dir, const tu_corpus *c, size_t from,
                   size_t to, const unsigned char *keep,
                   const trawl_writer_opts *o, uint32_t fmt);

/* ---- directories and files --------------------------------------------- */

/* Make a new directory /tmp/trawl-<tag>-XXXXXX; its path in dir (64
 * bytes). */
void tu_new_dir(char *dir, const char *tag);
void tu_rm_rf(const char *dir);

/* The whole file, and its length (one more byte allocated). */
unsigned char *tu_slurp(const char *path, size_t *len);
void tu_spit(const char *path, const unsigned char *p, size_t n);

/* The path (malloc'd) of dir's first segment file (*.trs) in name order;
 * there must be one. */
char *tu_seg_path(const char *dir);

/* Recompute every section hash of the segment image p (n bytes), then the
 * TOC hash, so that open accepts a damaged image and only decoding or the
 * structural checks can notice. */
void tu_reseal(unsigned char *p, size_t n);

/* ---- indexes ------------------------------------------------------------ */

trawl_index *tu_open(const char *dir);

/* trawl_index_check finds nothing wrong in dir (and reports nothing). */
void tu_assert_sound(const char *dir);

/* The dictionary entry of word in segment si of ix; it must be there. */
seg_term tu_term_of(const trawl_index *ix, uint32_t si, const char *word);

/*
 * Every query of qs on dir, all hits (limit TRAWL_MAX_LIMIT) and then a
 * pruned page of 3, against the oracle of the documents d of c with
 * keep[d] (keep NULL: all; dated c->date[d]), with the default
 * parameters: the same total, the same documents in the same order, the
 * same scores (to 1e-9).
 */
void tu_check_oracle(const char *dir, const tu_corpus *c,
                     const unsigned char *keep, const char *const *qs,
                     size_t nq);

/* Every query of qs on both indexes, all hits (limit TRAWL_MAX_LIMIT),
 * then a page of 5: the same hits and scores, bit for bit. */
void tu_check_same(const char *da, const char *db, const char *const *qs,
                   size_t nq);

/*
 * Every query of qs on both indexes, exhaustive (limit 1000, every hit
 * counted) and pruned (a page of 5, which must also be the start of the
 * exhaustive ranking): the same number of documents, the same hits,
 * scores bit for bit; at least min_nonempty queries find something.
 */
void tu_assert_same_results(const char *da, const char *db,
                            const char *const *qs, size_t nq,
                            size_t min_nonempty);

/* Every query of qs on dir (damaged), all hits and then a page of 3 with
 * snippets: each answers or says TRAWL_ECORRUPT, never crashes (ASan in
 * CI). 1 if some query reported the damage, 0 if none did, -1 if the
 * index does not open. */
int tu_search_survives(const char *dir, const char *const *qs, size_t nq);

#endif
