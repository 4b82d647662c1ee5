/*
 * Pair terms across merges (format.h, PAIRS): a merge whose inputs do not
 * all have the same PAIRS builds its output's pair terms again, from the
 * newest input's words or, when none has any, from the merged dictionary.
 * Each merged segment is checked against its own positions (every pair of
 * adjacent listed words, at least one common, has a term whose postings
 * are exactly its documents and per-field counts), by trawl_index_check,
 * and by phrase queries ranked bit for bit as in a build without pairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "internal.h"
#include "merge.h"
#include "pairs.h"
#include "seg.h"
#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

/* ---- corpus ------------------------------------------------------------ */

/* The letters that tell the frequent words apart (zephyrb, zephyrc, ...:
 * consonants the stemmer leaves alone, and no digits, which would split
 * "zephyr3" in two words). */
static const char K11[] = "bcdfghjkmnp";

/* n documents with common words, and frequent ones (zephyrK, quillK, in
 * an eleventh of the documents each) next to them, in bodies and titles. */
static void corpus_make(tu_corpus *c, size_t n, uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, n, 5);
    for (size_t i = 0; i < n; i++) {
        char *t = tu_make_text(2 + tu_rnd(5));
        char *b = tu_make_text(tu_rnd(9) == 0 ? 400 : 5 + tu_rnd(60));
        size_t tl = strlen(t) + 32, bl = strlen(b) + 64;
        c->title[i] = malloc(tl);
        c->body[i] = malloc(bl);
        if (i % 7 == 0)
            snprintf(c->title[i], tl, "zephyr%c the %s", K11[i % 11], t);
        else
            snprintf(c->title[i], tl, "%s", t);
        /* "of-the" in a third of them: the compound "ofthe" is a
         * listed word standing at the position of "of", another */
        snprintf(c->body[i], bl, "%s the zephyr%c quill%c of %s", b,
                 K11[i % 11], K11[i / 11 % 11],
                 i % 3 ? "north" : "-the of-the");
        free(t);
        free(b);
        c->date[i] = 1700000000 + (int64_t)tu_rnd(1000) * 86400;
    }
}

static trawl_writer_opts opts_of(int keep_unseen, int no_pairs, int merge)
{
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = keep_unseen;
    o.no_pairs = no_pairs;
    o.merge = merge;
    return o;
}

/* ---- a segment's pair terms against its positions ---------------------- */

typedef struct post {
    uint32_t doc;
    uint32_t tf[TRAWL_NFIELDS];
    const unsigned char *pos; /* positions, all fields */
} post;

/* A term's postings, decoded (positions pointed at). */
static post *read_postings(const trawl_segment *s, const seg_term *t,
                           int pair)
{
    post *ps = calloc(t->df + 1, sizeof(*ps));
    const unsigned char *sp = s->sec[SEC_POSTINGS].p + t->post_off;
    const unsigned char *send = sp + t->skip_len;
    const unsigned char *dp = send;
    const unsigned char *pp = s->sec[SEC_POSITIONS].p + t->pos_off;
    const unsigned char *pend = s->sec[SEC_POSITIONS].p +
                                s->sec[SEC_POSITIONS].len;
    uint32_t vals[TRAWL_NFIELDS + 1][BLOCK_SIZE];
    int64_t doc = -1;
    if (t->compact) { /* format.h: varints, no skip table */
        assert_int_equal(trawl__compact_decode(dp, dp + t->post_len, t->df,
                                               s->ndocs, vals[0], vals[1],
                                               BLOCK_SIZE),
                         t->post_len);
        for (uint32_t i = 0; i < t->df; i++) {
            post *x = &ps[i];
            x->doc = vals[0][i];
            x->pos = pp;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                x->tf[f] = vals[f + 1][i];
                for (uint32_t k = 0; k < x->tf[f] && !pair; k++) {
                    uint64_t d = 0;
                    assert_int_equal(trawl__get_varint(&pp, pend, &d), 0);
                }
            }
        }
        return ps;
    }
    for (uint32_t at = 0; at < t->df;) {
        uint64_t v[3 + 2 * TRAWL_NFIELDS] = {0};
        for (int k = 0; k < 3 + 2 * TRAWL_NFIELDS; k++)
            assert_int_equal(trawl__get_varint(&sp, send, &v[k]), 0);
        uint32_t n = t->df - at < BLOCK_SIZE ? t->df - at : BLOCK_SIZE;
        const unsigned char *bp = dp, *bend = dp + v[1];
        for (int k = 0; k <= TRAWL_NFIELDS; k++) {
            size_t used = trawl__codec_decode(bp, bend, vals[k], n);
            assert_true(used > 0);
            bp += used;
        }
        if (pair)
            assert_int_equal(v[2], 0);
        const unsigned char *q = pp;
        for (uint32_t i = 0; i < n; i++) {
            doc += (int64_t)vals[0][i] + 1;
            post *x = &ps[at + i];
            x->doc = (uint32_t)doc;
            x->pos = q;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                x->tf[f] = vals[f + 1][i];
                for (uint32_t k = 0; k < x->tf[f] && !pair; k++) {
                    uint64_t d = 0;
                    assert_int_equal(trawl__get_varint(&q, pend, &d), 0);
                }
            }
        }
        assert_ptr_equal(q, pp + v[2]);
        dp = bend;
        pp += v[2];
        at += n;
    }
    return ps;
}

typedef struct occ {
    char key[PAIR_KEY_MAX];
    uint32_t klen;
    uint32_t doc;
    uint32_t tf[TRAWL_NFIELDS];
} occ;

static int cmp_occ(const void *a, const void *b)
{
    const occ *x = a, *y = b;
    int c = trawl__cmp_bytes(x->key, x->klen, y->key, y->klen);
    if (c != 0)
        return c;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Positions with two listed words seen by verify_pairs, in all. */
static uint64_t pairs_shared;

/*
 * Every pair term of s is exactly what its words' positions imply, and
 * every pair they imply has its term. Returns the pair terms (0 when the
 * segment has no pairs; then it must have no pair term).
 */
static uint64_t verify_pairs(const trawl_segment *s)
{
    const seg_section *sec = &s->sec[SEC_PAIRS];
    uint32_t nc = trawl__pairs_common(sec);
    uint32_t nw = nc + trawl__pairs_frequent(sec);
    trawl_err err;
    /* Each doc's fields as listed-word indexes, two per position (a
     * hyphenated chain's compound stands at its first part's; -1: none
     * or another word). */
    int16_t **tok = calloc((size_t)s->ndocs * TRAWL_NFIELDS, sizeof(*tok));
    for (uint32_t d = 0; d < s->ndocs; d++)
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            uint32_t len = trawl__seg_field_len(s, d, f);
            int16_t *a = malloc((2 * len + 2) * sizeof(*a));
            for (uint32_t p = 0; p < 2 * len + 2; p++)
                a[p] = -1;
            tok[(size_t)d * TRAWL_NFIELDS + f] = a;
        }
    uint64_t shared = 0; /* positions with two listed words */
    for (uint32_t w = 0; w < nw; w++) {
        size_t wl;
        const char *wd = trawl__pairs_word(sec, w, &wl);
        seg_term t;
        int rc = trawl__seg_lookup(s, wd, wl, &t, &err);
        assert_true(rc >= 0);
        if (rc == 0)
            continue;
        post *ps = read_postings(s, &t, 0);
        for (uint32_t i = 0; i < t.df; i++) {
            const unsigned char *q = ps[i].pos;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                uint64_t at = 0;
                uint32_t len = trawl__seg_field_len(s, ps[i].doc, f);
                for (uint32_t k = 0; k < ps[i].tf[f]; k++) {
                    uint64_t dv = 0;
                    assert_int_equal(trawl__get_varint(&q, q + 10, &dv), 0);
                    at += dv;
                    assert_true(at < len);
                    int16_t *a = tok[(size_t)ps[i].doc * TRAWL_NFIELDS + f];
                    assert_int_equal(a[2 * at + 1], -1);
                    shared += a[2 * at] >= 0;
                    a[2 * at + (a[2 * at] >= 0)] = (int16_t)w;
                }
            }
        }
        free(ps);
    }
    /* The pairs the positions imply, one record per doc and pair. */
    size_t nocc = 0, cap = 1024;
    occ *o = malloc(cap * sizeof(*o));
    for (uint32_t d = 0; d < s->ndocs; d++)
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            uint32_t len = trawl__seg_field_len(s, d, f);
            const int16_t *a = tok[(size_t)d * TRAWL_NFIELDS + f];
            for (uint32_t p = 0; p + 1 < len; p++)
                for (int u = 0; u < 2; u++)
                    for (int v = 0; v < 2; v++) {
                        int16_t x0 = a[2 * p + u], x1 = a[2 * (p + 1) + v];
                        if (x0 < 0 || x1 < 0 ||
                            ((uint32_t)x0 >= nc && (uint32_t)x1 >= nc))
                            continue;
                        if (nocc == cap) {
                            cap *= 2;
                            o = realloc(o, cap * sizeof(*o));
                        }
                        size_t al, bl;
                        const char *wa =
                            trawl__pairs_word(sec, (unsigned)x0, &al);
                        const char *wb =
                            trawl__pairs_word(sec, (unsigned)x1, &bl);
                        occ *x = &o[nocc++];
                        memset(x, 0, sizeof(*x));
                        x->klen = (uint32_t)trawl__pair_key(x->key, wa, al,
                                                            wb, bl);
                        x->doc = d;
                        x->tf[f] = 1;
                    }
        }
    qsort(o, nocc, sizeof(*o), cmp_occ);
    size_t ng = 0;
    for (size_t i = 0; i < nocc; i++) {
        if (ng > 0 && cmp_occ(&o[ng - 1], &o[i]) == 0) {
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                o[ng - 1].tf[f] += o[i].tf[f];
        } else {
            o[ng++] = o[i];
        }
    }
    /* The dictionary's pair terms (first in it), against those. */
    seg_iter it;
    trawl__seg_iter_init(&it, s);
    size_t at = 0;
    uint64_t nterms = 0;
    int rc;
    while ((rc = trawl__seg_iter_next(&it, &err)) == 1 &&
           trawl__is_pair(it.term, it.len)) {
        nterms++;
        post *ps = read_postings(s, &it.t, 1);
        for (uint32_t i = 0; i < it.t.df; i++, at++) {
            if (at >= ng || o[at].klen != it.len ||
                memcmp(o[at].key, it.term, it.len) != 0 ||
                o[at].doc != ps[i].doc)
                fail_msg("pair term %.*s: posting %u (doc %u) not implied "
                         "by the positions", (int)it.len - 1, it.term + 1,
                         i, ps[i].doc);
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                if (o[at].tf[f] != ps[i].tf[f])
                    fail_msg("pair term %.*s, doc %u: field %d tf %u, the "
                             "positions say %u", (int)it.len - 1,
                             it.term + 1, ps[i].doc, f, ps[i].tf[f],
                             o[at].tf[f]);
        }
        free(ps);
    }
    assert_true(rc >= 0);
    if (at != ng)
        fail_msg("pair %.*s in doc %u has no posting (%zu of %zu)",
                 (int)o[at].klen - 1, o[at].key + 1, o[at].doc, at, ng);
    if (nc == 0)
        assert_int_equal(nterms, 0);
    pairs_shared += shared;
    for (size_t i = 0; i < (size_t)s->ndocs * TRAWL_NFIELDS; i++)
        free(tok[i]);
    free(tok);
    free(o);
    return nterms;
}

/* The only segment of dir: it has pairs, all right. */
static void assert_merged_pairs(const char *dir)
{
    trawl_index *ix = tu_open(dir);
    assert_int_equal(ix->nsegs, 1);
    assert_true(trawl__pairs_common(&ix->segs[0].sec[SEC_PAIRS]) > 0);
    assert_true(verify_pairs(&ix->segs[0]) > 100);
    trawl_index_release(ix);
    tu_assert_sound(dir);
}

/* ---- search comparison ------------------------------------------------- */

static const char *phrase_queries[] = {
    "\"the market\"",       "\"of the\"",            "\"north korea\"",
    "\"the of\"",           "\"market bank rates\"",  "title:\"the market\"",
    "\"a the\"",            "\"the the\"",           "\"in the market\"",
    "\"of the\" OR flood",  "korea \"of a\"",        "\"the market\"~2",
    "\"north korea\" -\"the market\"", "body:\"and the\"", "\"zebra the\"",
    "\"harbour of\"",       "\"the a of and in\"",    "\"the zephyrf\"",
    "\"quillf of\"",        "\"the zephyrf quillb of\"", "\"zephyrf quillb\"",
    "\"quillh of north\"",  "\"quillk of the\"",       "title:\"zephyrd the\"",
    "title:\"the north\"",  "title:\"zephyrg the\"",   "\"zephyrn the\"",
    "\"ofthe the\"",         "\"of-the the\"",          "\"of the of the\"",
    "\"quillf of-the\"",     "\"quillf ofthe\"",        "of-the",
    "\"the ofthe\"",         "\"ofthe\" quilld",        "\"the of the\"~1",
};
#define NPHRASES (sizeof(phrase_queries) / sizeof(phrase_queries[0]))

/* The phrase list, then every two-word phrase of listed words (each read
 * as one pair term where pairs cover it), some for the title only. */
static void assert_same_phrases(const char *dir_a, const char *dir_b,
                                const char *pairs_dir)
{
    tu_assert_same_results(dir_a, dir_b, phrase_queries, NPHRASES,
                        NPHRASES / 2);
    trawl_index *ix = tu_open(pairs_dir);
    const seg_section *sec = &ix->segs[0].sec[SEC_PAIRS];
    uint32_t nw = trawl__pairs_common(sec) + trawl__pairs_frequent(sec);
    size_t nq = 0;
    char (*buf)[96] = malloc((size_t)nw * nw * sizeof(*buf));
    const char **qs = malloc((size_t)nw * nw * sizeof(*qs));
    for (uint32_t i = 0; i < nw; i++)
        for (uint32_t j = 0; j < nw; j++) {
            if ((i * 7 + j) % 3 != 0)
                continue; /* a third of them is enough */
            size_t al, bl;
            const char *a = trawl__pairs_word(sec, i, &al);
            const char *b = trawl__pairs_word(sec, j, &bl);
            snprintf(buf[nq], sizeof(buf[nq]), "%s\"%.*s %.*s\"",
                     (i + j) % 4 == 0 ? "title:" : "", (int)al, a, (int)bl,
                     b);
            qs[nq] = buf[nq];
            nq++;
        }
    trawl_index_release(ix);
    tu_assert_same_results(dir_a, dir_b, qs, nq, nq / 10);
    free(qs);
    free(buf);
}

/* ---- tests ------------------------------------------------------------- */

#define NDOCS 900

/* (1) Batches of fewer than PAIR_MIN_DOCS documents get no pairs; the
 * merge policy's merges and a final --merge give the index pair terms
 * that cover every document, and phrases rank as without pairs. */
static void pairs_small_batches(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 3);
    char dir[64], ref[64];
    tu_new_dir(dir, "pairs");
    tu_new_dir(ref, "pairs");
    trawl_writer_opts add = opts_of(1, 0, 0), np = opts_of(0, 1, 0);
    tu_run_range(ref, &c, 0, c.n, NULL, &np, NULL);
    for (size_t i = 0; i < c.n; i += 60)
        tu_run_range(dir, &c, i, i + 60 < c.n ? i + 60 : c.n, NULL, &add, NULL);
    /* The first eight batches were merged into a segment with pairs,
     * whose words later batches kept. */
    trawl_index *ix = tu_open(dir);
    assert_true(trawl__pairs_common(&ix->segs[0].sec[SEC_PAIRS]) > 0);
    pairs_shared = 0;
    assert_true(verify_pairs(&ix->segs[0]) > 0);
    /* "ofthe" and "of" are both listed, at one position */
    assert_true(pairs_shared > 0);
    trawl_index_release(ix);
    tu_assert_sound(dir);
    tu_assert_same_results(dir, ref, phrase_queries, NPHRASES, NPHRASES / 2);
    trawl_writer_opts mo = opts_of(1, 0, 1);
    tu_run_range(dir, &c, 0, 0, NULL, &mo, NULL);
    assert_merged_pairs(dir);
    assert_same_phrases(dir, ref, dir);
    tu_rm_rf(dir);
    tu_rm_rf(ref);
    tu_corpus_free(&c);
}

/* Words chosen by a merge of segments without pairs are those a single
 * build of the same documents chooses. */
static void pairs_chosen_like_the_writer(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 4);
    char dir[64], one[64];
    tu_new_dir(dir, "pairs");
    tu_new_dir(one, "pairs");
    trawl_writer_opts all = opts_of(0, 0, 0), anp = opts_of(1, 1, 0);
    tu_run_range(one, &c, 0, c.n, NULL, &all, NULL);
    for (int k = 0; k < 3; k++)
        tu_run_range(dir, &c, (size_t)k * c.n / 3,
                     (size_t)(k + 1) * c.n / 3, NULL, &anp, NULL);
    trawl_writer_opts mo = opts_of(1, 0, 1);
    tu_run_range(dir, &c, 0, 0, NULL, &mo, NULL);
    assert_merged_pairs(dir);
    trawl_index *a = tu_open(dir), *b = tu_open(one);
    const seg_section *sa = &a->segs[0].sec[SEC_PAIRS];
    const seg_section *sb = &b->segs[0].sec[SEC_PAIRS];
    assert_true(trawl__pairs_frequent(sa) > 0);
    assert_int_equal(sa->len, sb->len);
    assert_memory_equal(sa->p, sb->p, sa->len);
    trawl_index_release(a);
    trawl_index_release(b);
    tu_rm_rf(dir);
    tu_rm_rf(one);
    tu_corpus_free(&c);
}

/* (2) A segment without pairs merged with segments that have them: the
 * output has the newest one's words and pair terms for every document. */
static void pairs_mixed_inputs(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 5);
    char dir[64], ref[64];
    tu_new_dir(dir, "pairs");
    tu_new_dir(ref, "pairs");
    trawl_writer_opts add = opts_of(1, 0, 0), anp = opts_of(1, 1, 0);
    trawl_writer_opts np = opts_of(0, 1, 0);
    tu_run_range(ref, &c, 0, c.n, NULL, &np, NULL);
    tu_run_range(dir, &c, 0, 300, NULL, &anp, NULL);
    tu_run_range(dir, &c, 300, 600, NULL, &add, NULL);
    tu_run_range(dir, &c, 600, c.n, NULL, &add, NULL);
    trawl_index *ix = tu_open(dir);
    assert_int_equal(ix->nsegs, 3);
    assert_int_equal(trawl__pairs_common(&ix->segs[0].sec[SEC_PAIRS]), 0);
    const seg_section *newest = &ix->segs[2].sec[SEC_PAIRS];
    assert_true(trawl__pairs_common(newest) > 0);
    size_t wlen = newest->len;
    unsigned char *words = malloc(wlen);
    memcpy(words, newest->p, wlen);
    trawl_index_release(ix);
    trawl_writer_opts mo = opts_of(1, 0, 1);
    tu_run_range(dir, &c, 0, 0, NULL, &mo, NULL);
    assert_merged_pairs(dir);
    ix = tu_open(dir);
    assert_int_equal(ix->segs[0].sec[SEC_PAIRS].len, wlen);
    assert_memory_equal(ix->segs[0].sec[SEC_PAIRS].p, words, wlen);
    trawl_index_release(ix);
    assert_same_phrases(dir, ref, dir);
    free(words);
    tu_rm_rf(dir);
    tu_rm_rf(ref);
    tu_corpus_free(&c);
}

static int not_sevens(size_t i)
{
    return i % 7 != 3;
}

static int is_even(size_t i)
{
    return i % 2 == 0;
}

/* (3) Deleted and updated documents across a rebuilding merge: no pair
 * posting of a deleted document survives, and phrases rank as in a
 * build without pairs of the live documents. */
static void pairs_deletions(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 6);
    char dir[64], ref[64];
    tu_new_dir(dir, "pairs");
    tu_new_dir(ref, "pairs");
    trawl_writer_opts add = opts_of(1, 0, 0), anp = opts_of(1, 1, 0);
    tu_run_range(dir, &c, 0, 450, NULL, &anp, NULL);
    tu_run_range(dir, &c, 450, c.n, NULL, &add, NULL);
    /* Change every fourth document (old versions deleted), then a run
     * that drops a seventh of them. */
    for (size_t i = 0; i < c.n; i += 4) {
        size_t l = strlen(c.body[i]) + 32;
        char *b = malloc(l);
        snprintf(b, l, "the the of market %s", c.body[i]);
        free(c.body[i]);
        c.body[i] = b;
    }
    unsigned char *even = malloc(c.n), *kept = malloc(c.n);
    for (size_t i = 0; i < c.n; i++) {
        even[i] = (unsigned char)is_even(i);
        kept[i] = (unsigned char)not_sevens(i);
    }
    tu_run_range(dir, &c, 0, c.n, even, &add, NULL);
    trawl_writer_opts plain = opts_of(0, 0, 0);
    tu_run_range(dir, &c, 0, c.n, kept, &plain, NULL);
    free(even);
    free(kept);
    trawl_index *ix = tu_open(dir);
    assert_true(ix->nsegs >= 2);
    int dels = 0;
    for (uint32_t i = 0; i < ix->nsegs; i++)
        dels |= ix->segs[i].ndeleted > 0;
    assert_true(dels);
    trawl_index_release(ix);
    trawl_writer_opts mo = opts_of(1, 0, 1);
    tu_run_range(dir, &c, 0, 0, NULL, &mo, NULL);
    assert_merged_pairs(dir);
    /* The reference holds the same documents in the same order (ties
     * rank by position), in one run without pairs. */
    ix = tu_open(dir);
    const trawl_segment *sg = &ix->segs[0];
    size_t *order = malloc(sg->ndocs * sizeof(*order));
    trawl_arena *ar = trawl_arena_new(4096);
    for (uint32_t d = 0; d < sg->ndocs; d++) {
        const char *id, *title;
        size_t il, tl;
        trawl_err err;
        assert_int_equal(trawl__seg_meta(sg, d, ar, &id, &il, &title, &tl,
                                         &err), 0);
        order[d] = strtoul(id + 4, NULL, 10);
        assert_true(not_sevens(order[d]));
    }
    uint32_t nd = sg->ndocs;
    trawl_arena_free(ar);
    trawl_index_release(ix);
    trawl_writer_opts np = opts_of(0, 1, 0);
    tu_run(ref, &c, order, nd, &np, NULL);
    free(order);
    assert_same_phrases(dir, ref, dir);
    tu_rm_rf(dir);
    tu_rm_rf(ref);
    tu_corpus_free(&c);
}

/* The merger itself: inputs with different words and deletion bitmaps.
 * Then with a cap smaller than the pair postings, which takes several
 * passes over the positions and writes the same bytes; then with a cap
 * too small for any, which gives no pairs but a sound segment. */
static void pairs_direct_merge(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 7);
    char a[64], b[64], out[64];
    tu_new_dir(a, "pairs");
    tu_new_dir(b, "pairs");
    tu_new_dir(out, "pairs");
    trawl_writer_opts all = opts_of(0, 0, 0);
    tu_run_range(a, &c, 0, 500, NULL, &all, NULL);
    tu_run_range(b, &c, 500, c.n, NULL, &all, NULL);
    trawl_index *ia = tu_open(a), *ib = tu_open(b);
    const trawl_segment *sa = &ia->segs[0], *sb = &ib->segs[0];
    assert_true(trawl__pairs_common(&sa->sec[SEC_PAIRS]) > 0);
    assert_true(trawl__pairs_common(&sb->sec[SEC_PAIRS]) > 0);
    /* Chosen apart, from different documents: not the same lists. */
    assert_true(sa->sec[SEC_PAIRS].len != sb->sec[SEC_PAIRS].len ||
                memcmp(sa->sec[SEC_PAIRS].p, sb->sec[SEC_PAIRS].p,
                       sa->sec[SEC_PAIRS].len) != 0);
    unsigned char *da = calloc((sa->ndocs + 7) / 8, 1);
    unsigned char *db = calloc((sb->ndocs + 7) / 8, 1);
    uint32_t live = 0;
    for (uint32_t d = 0; d < sa->ndocs; d++)
        if (d % 3 == 1)
            da[d >> 3] |= (unsigned char)(1u << (d & 7));
        else
            live++;
    for (uint32_t d = 0; d < sb->ndocs; d++)
        if (d % 5 == 0 || d + 1 == sb->ndocs)
            db[d >> 3] |= (unsigned char)(1u << (d & 7));
        else
            live++;
    merge_in in[2] = {{sa, da}, {sb, db}};
    static const size_t caps[] = {0, 16 << 10, 4096};
    uint64_t pair_bytes = 0;
    for (int capped = 0; capped < 3; capped++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/seg-%d.trs", out, capped);
        merge_out mo;
        trawl_err err;
        trawl__merge_pairs_cap = caps[capped];
        int rc = trawl__merge(path, in, 2, ia->language, &mo, &err);
        trawl__merge_pairs_cap = 0;
        if (rc != 0)
            fail_msg("merge: %s", err.msg);
        assert_int_equal(mo.ndocs, live);
        trawl_segment s;
        memset(&s, 0, sizeof(s));
        snprintf(path, sizeof(path), "seg-%d.trs", capped);
        s.name = strdup(path);
        if (trawl__seg_open(&s, out, &err) != 0)
            fail_msg("open: %s", err.msg);
        const seg_section *ps = &s.sec[SEC_PAIRS];
        if (capped == 2) {
            assert_int_equal(ps->len, 0);
            assert_int_equal(verify_pairs(&s), 0);
        } else if (capped == 1) {
            /* more than the cap even encoded: several passes */
            assert_true(pair_bytes > caps[1]);
            size_t l0, l1;
            char p0[128], p1[128];
            snprintf(p0, sizeof(p0), "%s/seg-0.trs", out);
            snprintf(p1, sizeof(p1), "%s/seg-1.trs", out);
            unsigned char *b0 = tu_slurp(p0, &l0), *b1 = tu_slurp(p1, &l1);
            assert_int_equal(l0, l1);
            assert_memory_equal(b0, b1, l0);
            free(b0);
            free(b1);
        } else {
            /* the newest input's words */
            assert_int_equal(ps->len, sb->sec[SEC_PAIRS].len);
            assert_memory_equal(ps->p, sb->sec[SEC_PAIRS].p, ps->len);
            assert_true(verify_pairs(&s) > 100);
            seg_iter it;
            trawl__seg_iter_init(&it, &s);
            while (trawl__seg_iter_next(&it, &err) == 1 &&
                   trawl__is_pair(it.term, it.len))
                pair_bytes += it.t.post_len;
        }
        trawl__seg_close(&s);
    }
    free(da);
    free(db);
    trawl_index_release(ia);
    trawl_index_release(ib);
    tu_rm_rf(a);
    tu_rm_rf(b);
    tu_rm_rf(out);
    tu_corpus_free(&c);
}

/* Merge the only segments of dirs[0..n) into out/name; verify its pairs
 * and return how many pair terms it has. */
static uint64_t merge_dirs(const char *const *dirs, uint32_t n,
                           const char *out, const char *name)
{
    trawl_index *ix[4];
    merge_in in[4];
    for (uint32_t i = 0; i < n; i++) {
        ix[i] = tu_open(dirs[i]);
        assert_int_equal(ix[i]->nsegs, 1);
        in[i].seg = &ix[i]->segs[0];
        in[i].del = NULL;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", out, name);
    merge_out mo;
    trawl_err err;
    if (trawl__merge(path, in, n, ix[0]->language, &mo, &err) != 0)
        fail_msg("merge: %s", err.msg);
    for (uint32_t i = 0; i < n; i++)
        trawl_index_release(ix[i]);
    trawl_segment s;
    memset(&s, 0, sizeof(s));
    s.name = strdup(name);
    if (trawl__seg_open(&s, out, &err) != 0)
        fail_msg("open: %s", err.msg);
    uint64_t np = verify_pairs(&s);
    assert_int_equal(np > 0, trawl__pairs_common(&s.sec[SEC_PAIRS]) > 0);
    trawl__seg_close(&s);
    return np;
}

/* Inputs without pairs: their merge chooses words only from
 * PAIR_MIN_DOCS live documents on. */
static void pairs_min_docs(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 200, 8);
    char x[64], y[64], w[64], z[64], out[64];
    tu_new_dir(x, "pairs");
    tu_new_dir(y, "pairs");
    tu_new_dir(w, "pairs");
    tu_new_dir(z, "pairs");
    tu_new_dir(out, "pairs");
    trawl_writer_opts all = opts_of(0, 0, 0);
    tu_run_range(x, &c, 0, 40, NULL, &all, NULL);
    tu_run_range(y, &c, 40, 99, NULL, &all, NULL);
    tu_run_range(w, &c, 99, 100, NULL, &all, NULL);
    /* chooses its own words */
    tu_run_range(z, &c, 100, 200, NULL, &all, NULL);
    const char *xy[2] = {x, y}, *xyw[3] = {x, y, w}, *xzw[3] = {x, z, w};
    assert_int_equal(merge_dirs(xy, 2, out, "xy.trs"), 0);     /* 99 */
    assert_true(merge_dirs(xyw, 3, out, "xyw.trs") > 100);     /* 100 */
    assert_true(merge_dirs(xzw, 3, out, "xzw.trs") > 100);     /* z's */
    tu_rm_rf(x);
    tu_rm_rf(y);
    tu_rm_rf(w);
    tu_rm_rf(z);
    tu_rm_rf(out);
    tu_corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairs_direct_merge),
        cmocka_unit_test(pairs_small_batches),
        cmocka_unit_test(pairs_chosen_like_the_writer),
        cmocka_unit_test(pairs_mixed_inputs),
        cmocka_unit_test(pairs_deletions),
        cmocka_unit_test(pairs_min_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
