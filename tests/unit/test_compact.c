/*
 * Compact posting lists (format 7, format.h): lists of at most COMPACT_MAX
 * postings are varints with no skip entry, and their bounds are computed
 * when they are read. Words of document frequency 1, 2, COMPACT_MAX - 1,
 * COMPACT_MAX, COMPACT_MAX + 1 and more, with title and body frequencies
 * of every size (title >= 3 and body >= 32 take the longer codes), rank
 * as the brute-force oracle says, in format 7 and in format 6 (built with
 * trawl__segfile_format = 6), bit for bit the same; indexes mixing both
 * formats, merged or not, and with deletions; damage in a compact list is
 * reported by the check and never crashes search or a merge.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

#define NDOCS 300

/* The marked words: cmpNNN occurs in exactly NNN documents (at most
 * NDOCS). */
static const uint32_t marked[] = {
    1, 2, 3, COMPACT_MAX - 1, COMPACT_MAX, COMPACT_MAX + 1, 64,
    BLOCK_SIZE, BLOCK_SIZE + 1, 200};
#define NMARKED (sizeof(marked) / sizeof(marked[0]))

static const char *filler[] = {
    "harbor", "ships", "council", "market", "storm", "the", "of", "and",
    "a", "in", "report", "prices", "rose", "fell", "city", "night",
};
#define NFILLER (sizeof(filler) / sizeof(filler[0]))

/* A tf for a marked word's field: mostly 0 or 1, sometimes 2 to 5, now
 * and then 40 (a two-byte code) or 300. */
static uint32_t some_tf(int title)
{
    uint32_t r = tu_rnd(40);
    if (r < 20)
        return 0;
    if (r < 32)
        return 1;
    if (r < 38)
        return 2 + tu_rnd(4);
    return title ? 3 + tu_rnd(3) : (r == 38 ? 40 : 300);
}

static void corpus_make(tu_corpus *c, uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, NDOCS, 3);
    /* which docs hold which marked word: a random subset of that size */
    unsigned char (*has)[NMARKED] = calloc(NDOCS, sizeof(*has));
    for (size_t k = 0; k < NMARKED; k++) {
        uint32_t left = marked[k];
        for (uint32_t d = 0; d < NDOCS; d++)
            if (tu_rnd(NDOCS - d) < left) {
                has[d][k] = 1;
                left--;
            }
    }
    for (uint32_t d = 0; d < NDOCS; d++) {
        char *s[2] = {NULL, NULL};
        size_t len[2] = {0, 0}, cap[2] = {0, 0};
        for (int f = 0; f < 2; f++) {
            uint32_t nf = f ? 4 + tu_rnd(30) : 1 + tu_rnd(4);
            for (uint32_t i = 0; i < nf; i++)
                tu_append(&s[f], &len[f], &cap[f], filler[tu_rnd(NFILLER)]);
        }
        for (size_t k = 0; k < NMARKED; k++) {
            if (!has[d][k])
                continue;
            char w[16];
            snprintf(w, sizeof(w), "cmp%03u", marked[k]);
            uint32_t tf[2] = {some_tf(1), some_tf(0)};
            if (tf[0] + tf[1] == 0)
                tf[1] = 1;
            for (int f = 0; f < 2; f++)
                for (uint32_t i = 0; i < tf[f]; i++) {
                    tu_append(&s[f], &len[f], &cap[f], w);
                    /* often followed by the same word: phrases */
                    if (tu_rnd(2))
                        tu_append(&s[f], &len[f], &cap[f], "harbor");
                }
        }
        c->title[d] = s[0];
        c->body[d] = s[1];
        c->date[d] = 1700000000 + (int64_t)d * 86400;
    }
    free(has);
}

static const char *queries[] = {
    "cmp001", "cmp002", "cmp003", "cmp031", "cmp032", "cmp033", "cmp064",
    "cmp128", "cmp129", "cmp200", "cmp032 cmp033", "cmp031 OR cmp032",
    "cmp001 OR cmp002 OR cmp003 OR harbor", "cmp032 OR cmp033 OR the",
    "cmp033 OR cmp129 OR cmp200", "title:cmp032", "body:cmp032",
    "title:cmp031 OR body:cmp033", "cmp03*", "cmp0*", "cmp* -the",
    "cmp032 -cmp033", "\"cmp032 harbor\"", "\"cmp031 harbor\" OR cmp128",
    "\"cmp033 cmp033\"", "\"harbor cmp002\"", "\"cmp032 cmp129\"~4",
    "cmp002 market", "cmp200 cmp032 cmp064", "\"cmp001 harbor\"",
    "cmp031 cmp032 cmp033 cmp064 cmp128 cmp129",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static const char *marked_words[] = {
    "cmp001", "cmp002", "cmp003", "cmp031", "cmp032",
    "cmp033", "cmp064", "cmp128", "cmp129", "cmp200",
};

/* Every query against the oracle (testutil.h). */
static void check_oracle(const char *dir, const tu_corpus *c,
                         const unsigned char *keep)
{
    tu_check_oracle(dir, c, keep, queries, NQUERIES);
}

/* Every query against both indexes: the same hits and scores, bit for
 * bit (a prefix's words are summed in byte order whatever the segments
 * hold, so this holds however the documents are divided). */
static void check_same(const char *da, const char *db)
{
    tu_check_same(da, db, queries, NQUERIES);
}

static uint64_t section_len(const trawl_index *ix, int sec)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < ix->nsegs; i++)
        n += ix->segs[i].sec[sec].len;
    return n;
}

/* The threshold: lists up to COMPACT_MAX are compact and have no skip
 * table, longer ones are not; the index ranks as the oracle does and
 * passes the check. */
static void compact_threshold_matches_oracle(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 1);
    char d[64];
    tu_new_dir(d, "compact");
    tu_run_format(d, &c, 0, NDOCS, NULL, NULL, TRAWL_FORMAT_VERSION);
    trawl_index *ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    for (size_t k = 0; k < NMARKED; k++) {
        seg_term t = tu_term_of(ix, 0, marked_words[k]);
        assert_int_equal(t.df, marked[k]);
        assert_int_equal(t.compact, marked[k] <= COMPACT_MAX);
        if (t.compact)
            assert_int_equal(t.skip_len, 0);
        else
            assert_true(t.skip_len > 0);
    }
    trawl_index_release(ix);
    tu_assert_sound(d);
    check_oracle(d, &c, NULL);
    tu_rm_rf(d);
    tu_corpus_free(&c);
}

/* The same documents in format 6 (no compact lists): a larger POSTINGS,
 * the same results bit for bit, and a sound index. Against format 8,
 * whose POSITIONS are format 6's byte for byte (format 9 adds offset
 * tables to long blocks: test_posoff compares 9 with 8). */
static void format6_reads_the_same(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 2);
    char d7[64], d6[64];
    tu_new_dir(d7, "compact");
    tu_new_dir(d6, "compact");
    tu_run_format(d7, &c, 0, NDOCS, NULL, NULL, 8);
    tu_run_format(d6, &c, 0, NDOCS, NULL, NULL, 6);
    trawl_index *i7 = tu_open(d7), *i6 = tu_open(d6);
    assert_int_equal(i7->segs[0].version, 8);
    assert_int_equal(i6->segs[0].version, 6);
    for (size_t k = 0; k < NMARKED; k++) {
        seg_term t = tu_term_of(i6, 0, marked_words[k]);
        assert_int_equal(t.compact, 0);
        assert_true(t.skip_len > 0);
    }
    assert_true(section_len(i7, SEC_POSTINGS) <
                section_len(i6, SEC_POSTINGS));
    assert_int_equal(section_len(i7, SEC_POSITIONS),
                     section_len(i6, SEC_POSITIONS));
    /* TERMS: the same but for the postings lengths and offsets */
    assert_true(section_len(i7, SEC_TERMS) <= section_len(i6, SEC_TERMS));
    trawl_index_release(i7);
    trawl_index_release(i6);
    tu_assert_sound(d6);
    check_oracle(d6, &c, NULL);
    check_same(d7, d6);
    tu_rm_rf(d7);
    tu_rm_rf(d6);
    tu_corpus_free(&c);
}

/* Add-only runs alternating formats 6 and 7 (a compact list in one
 * segment, the same word's block list in the next), without pair terms,
 * then a merge into format 7 (which builds them, as the one build did):
 * the same results as one build before and after the merge, and the
 * merged segment is the one build's, byte for byte. */
static void merge_mixes_formats(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 3);
    char one[64], mixed[64];
    tu_new_dir(one, "compact");
    tu_new_dir(mixed, "compact");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run_format(one, &c, 0, NDOCS, NULL, NULL, TRAWL_FORMAT_VERSION);
    trawl_writer_opts add = np;
    add.keep_unseen = 1;
    static const uint32_t cut[] = {0, 90, 150, 240, NDOCS};
    for (int k = 0; k < 4; k++)
        tu_run_format(mixed, &c, cut[k], cut[k + 1], NULL, &add,
                      k % 2 ? TRAWL_FORMAT_VERSION : 6);
    trawl_index *ix = tu_open(mixed);
    assert_int_equal(ix->nsegs, 4);
    assert_int_equal(ix->segs[0].version, 6);
    assert_int_equal(ix->segs[1].version, TRAWL_FORMAT_VERSION);
    trawl_index_release(ix);
    tu_assert_sound(mixed);
    check_same(one, mixed);
    check_oracle(mixed, &c, NULL);

    trawl_writer_opts mo = add;
    mo.merge = 1;
    tu_run_format(mixed, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
    ix = tu_open(mixed);
    trawl_index *io = tu_open(one);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    for (size_t k = 0; k < NMARKED; k++)
        assert_int_equal(tu_term_of(ix, 0, marked_words[k]).compact,
                         marked[k] <= COMPACT_MAX);
    assert_int_equal(ix->segs[0].size, io->segs[0].size);
    /* past the header: the sections and the TOC */
    assert_memory_equal(ix->segs[0].map, io->segs[0].map,
                        ix->segs[0].size);
    trawl_index_release(io);
    trawl_index_release(ix);
    tu_assert_sound(mixed);
    check_same(one, mixed);
    tu_rm_rf(one);
    tu_rm_rf(mixed);
    tu_corpus_free(&c);
}

/* Deletions: a run that drops documents so that a block list falls to
 * COMPACT_MAX live postings, a compact one loses some and one loses its
 * only document; before the merge deleted documents are never hits, after
 * it (format 7 output from a format 6 or 7 input) the lists are what a
 * fresh build of the live documents has, and rank as the oracle. */
static void deletions_cross_the_threshold(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 4);
    for (int fmt = 6; fmt <= TRAWL_FORMAT_VERSION; fmt++) {
        char d[64];
        tu_new_dir(d, "compact");
        trawl_writer_opts np;
        memset(&np, 0, sizeof(np));
        np.no_pairs = 1;
        tu_run_format(d, &c, 0, NDOCS, NULL, &np, (uint32_t)fmt);
        /* drop one doc of cmp033 (33 -> 32), two of cmp032, cmp001's */
        unsigned char keep[NDOCS];
        memset(keep, 1, sizeof(keep));
        int drop33 = 1, drop32 = 2, drop1 = 1;
        for (uint32_t k = 0; k < NDOCS; k++) {
            const char *t = c.title[k], *b = c.body[k];
            int h33 = strstr(t, "cmp033") || strstr(b, "cmp033");
            int h32 = strstr(t, "cmp032") || strstr(b, "cmp032");
            int h1 = strstr(t, "cmp001") || strstr(b, "cmp001");
            if (h33 && !h32 && drop33 > 0) {
                keep[k] = 0;
                drop33--;
            } else if (h32 && !h33 && drop32 > 0) {
                keep[k] = 0;
                drop32--;
            } else if (h1 && drop1 > 0) {
                keep[k] = 0;
                drop1--;
            }
        }
        assert_int_equal(drop33 + drop32 + drop1, 0);
        tu_run_format(d, &c, 0, NDOCS, keep, &np, TRAWL_FORMAT_VERSION);
        trawl_index *ix = tu_open(d);
        assert_int_equal(ix->nsegs, 1);
        assert_int_equal(ix->segs[0].ndeleted, 4);
        trawl_searcher *s;
        trawl_err err;
        assert_int_equal(trawl_searcher_new(&s, &err), 0);
        trawl_arena *ar = trawl_arena_new(1 << 16);
        for (size_t k = 0; k < NQUERIES; k++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = queries[k];
            tq.qlen = strlen(tq.q);
            tq.limit = TRAWL_MAX_LIMIT;
            tq.snippets = 0;
            trawl_results r;
            assert_int_equal(trawl_search(s, ix, &tq, ar, &r, &err), 0);
            for (size_t i = 0; i < r.nhits; i++) {
                unsigned doc;
                assert_int_equal(sscanf(r.hits[i].id, "doc-%u", &doc), 1);
                assert_true(keep[doc]);
            }
            trawl_arena_reset(ar);
        }
        trawl_arena_free(ar);
        trawl_searcher_free(s);
        trawl_index_release(ix);
        tu_assert_sound(d);

        trawl_writer_opts mo = np;
        mo.merge = 1;
        mo.keep_unseen = 1;
        tu_run_format(d, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
        ix = tu_open(d);
        assert_int_equal(ix->segs[0].ndeleted, 0);
        seg_term t = tu_term_of(ix, 0, "cmp033");
        assert_int_equal(t.df, COMPACT_MAX);
        assert_true(t.compact);
        t = tu_term_of(ix, 0, "cmp032");
        assert_int_equal(t.df, COMPACT_MAX - 2);
        seg_term none;
        assert_int_equal(
            trawl__seg_lookup(&ix->segs[0], "cmp001", 6, &none, &err), 0);
        trawl_index_release(ix);
        tu_assert_sound(d);
        check_oracle(d, &c, keep);
        /* the same results as a fresh build of the live documents */
        char f[64];
        tu_new_dir(f, "compact");
        tu_run_format(f, &c, 0, NDOCS, keep, &np, TRAWL_FORMAT_VERSION);
        check_same(d, f);
        tu_rm_rf(f);
        tu_rm_rf(d);
    }
    tu_corpus_free(&c);
}

/* ---- damage ------------------------------------------------------------ */

/* Damage in the compact lists of cmp001, cmp003 and cmp032 (resealed):
 * the check reports it, search answers or says ECORRUPT and a merge
 * fails cleanly; a gap past the last document is always caught, by the
 * check and by search. */
static void damaged_compact_lists(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 5);
    char d[64];
    tu_new_dir(d, "compact");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run_format(d, &c, 0, NDOCS, NULL, &np, TRAWL_FORMAT_VERSION);
    char *path = tu_seg_path(d);
    size_t n;
    unsigned char *orig = tu_slurp(path, &n);
    unsigned char *img = malloc(n);
    trawl_index *ix = tu_open(d);
    uint64_t post = (uint64_t)(ix->segs[0].sec[SEC_POSTINGS].p -
                               ix->segs[0].map);
    static const char *words[] = {"cmp001", "cmp003", "cmp032"};
    seg_term t[3];
    for (int k = 0; k < 3; k++) {
        t[k] = tu_term_of(ix, 0, words[k]);
        assert_true(t[k].compact);
    }
    trawl_index_release(ix);

    /* A first gap past the end of the segment's documents. */
    for (int k = 0; k < 3; k++) {
        memcpy(img, orig, n);
        unsigned char *p = img + post + t[k].post_off;
        /* 5 bytes of the varint of 2 * 2^20: a gap of 2^20 docs, then
         * the rest shifted out of place (the list is 5 bytes or more) */
        if (t[k].post_len < 4)
            continue;
        p[0] = 0x80;
        p[1] = 0x80;
        p[2] = 0x80;
        p[3] = 0x01;
        tu_reseal(img, n);
        tu_spit(path, img, n);
        char *rep = NULL;
        trawl_err err;
        int rc = trawl_index_check(d, &rep, &err);
        if (rc != TRAWL_ECORRUPT || rep == NULL ||
            strstr(rep, "POSTINGS") == NULL)
            fail_msg("%s: rc %d, report:\n%s", words[k], rc,
                     rep ? rep : "(none)");
        free(rep);
        char q[32];
        trawl_searcher *s;
        assert_int_equal(trawl_searcher_new(&s, &err), 0);
        ix = tu_open(d);
        trawl_arena *ar = trawl_arena_new(1 << 16);
        trawl_query tq;
        trawl_query_init(&tq);
        snprintf(q, sizeof(q), "%s", words[k]);
        tq.q = q;
        tq.qlen = strlen(q);
        trawl_results r;
        assert_int_equal(trawl_search(s, ix, &tq, ar, &r, &err),
                         TRAWL_ECORRUPT);
        trawl_arena_free(ar);
        trawl_index_release(ix);
        trawl_searcher_free(s);
    }

    /* Every bit of each list flipped in turn. */
    int tries = 0, found = 0;
    for (int k = 0; k < 3; k++) {
        for (uint64_t at = 0; at < t[k].post_len; at++) {
            for (int bit = 0; bit < 8; bit += 3) {
                memcpy(img, orig, n);
                img[post + t[k].post_off + at] ^= (unsigned char)(1u << bit);
                tu_reseal(img, n);
                tu_spit(path, img, n);
                char *rep = NULL;
                trawl_err err;
                int rc = trawl_index_check(d, &rep, &err);
                assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
                tries++;
                found += rc != 0;
                free(rep);
                tu_search_survives(d, queries, NQUERIES);
            }
        }
    }
    /* Nearly every change moves a doc or a tf, which the sums over DOCS
     * notice; a few swap equal tfs between fields or docs of the same
     * lengths. */
    if (found < tries * 9 / 10)
        fail_msg("only %d of %d changes noticed", found, tries);

    /* A merge of a damaged list stops with ECORRUPT. */
    memcpy(img, orig, n);
    unsigned char *p = img + post + t[2].post_off;
    p[0] = 0xff;
    p[1] = 0xff;
    p[2] = 0xff;
    tu_reseal(img, n);
    tu_spit(path, img, n);
    trawl_writer *w;
    trawl_err err;
    trawl_writer_opts mo = np;
    mo.merge = 1;
    mo.keep_unseen = 1;
    assert_int_equal(trawl_writer_open(&w, d, &mo, &err), 0);
    /* merge of one segment is a no-op, so bring a second one */
    tu_add(w, "extra", "extra", "harbor cmp032", NULL, 1700000000);
    assert_int_equal(trawl_writer_commit(w, NULL, &err), TRAWL_ECORRUPT);
    trawl_writer_free(w);

    tu_spit(path, orig, n);
    tu_assert_sound(d);
    free(img);
    free(orig);
    free(path);
    tu_rm_rf(d);
    tu_corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compact_threshold_matches_oracle),
        cmocka_unit_test(format6_reads_the_same),
        cmocka_unit_test(merge_mixes_formats),
        cmocka_unit_test(deletions_cross_the_threshold),
        cmocka_unit_test(damaged_compact_lists),
    };
    return cmocka_run_group_tests_name("compact", tests, NULL, NULL);
}
