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
#include "oracle.h"
#include "query.h"
#include "seg.h"
#include "segfile.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

#define NDOCS 300

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

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

typedef struct corpus {
    char *title[NDOCS], *body[NDOCS];
    char id[NDOCS][16];
} corpus;

static void append(char **s, size_t *len, size_t *cap, const char *w)
{
    size_t n = strlen(w);
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        *s = realloc(*s, *cap);
    }
    if (*len > 0)
        (*s)[(*len)++] = ' ';
    memcpy(*s + *len, w, n);
    *len += n;
    (*s)[*len] = '\0';
}

/* A tf for a marked word's field: mostly 0 or 1, sometimes 2 to 5, now
 * and then 40 (a two-byte code) or 300. */
static uint32_t some_tf(int title)
{
    uint32_t r = rnd(40);
    if (r < 20)
        return 0;
    if (r < 32)
        return 1;
    if (r < 38)
        return 2 + rnd(4);
    return title ? 3 + rnd(3) : (r == 38 ? 40 : 300);
}

static void corpus_make(corpus *c, uint64_t seed)
{
    rng_state = seed;
    /* which docs hold which marked word: a random subset of that size */
    unsigned char (*has)[NMARKED] = calloc(NDOCS, sizeof(*has));
    for (size_t k = 0; k < NMARKED; k++) {
        uint32_t left = marked[k];
        for (uint32_t d = 0; d < NDOCS; d++)
            if (rnd(NDOCS - d) < left) {
                has[d][k] = 1;
                left--;
            }
    }
    for (uint32_t d = 0; d < NDOCS; d++) {
        char *s[2] = {NULL, NULL};
        size_t len[2] = {0, 0}, cap[2] = {0, 0};
        for (int f = 0; f < 2; f++) {
            uint32_t nf = f ? 4 + rnd(30) : 1 + rnd(4);
            for (uint32_t i = 0; i < nf; i++)
                append(&s[f], &len[f], &cap[f], filler[rnd(NFILLER)]);
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
                    append(&s[f], &len[f], &cap[f], w);
                    /* often followed by the same word: phrases */
                    if (rnd(2))
                        append(&s[f], &len[f], &cap[f], "harbor");
                }
        }
        c->title[d] = s[0];
        c->body[d] = s[1];
        snprintf(c->id[d], sizeof(c->id[d]), "doc-%03u", d);
    }
    free(has);
}

static void corpus_free(corpus *c)
{
    for (uint32_t d = 0; d < NDOCS; d++) {
        free(c->title[d]);
        free(c->body[d]);
    }
}

static void new_dir(char *dir)
{
    snprintf(dir, 64, "/tmp/trawl-compact-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Docs d of c with keep[d] (NULL: all) in [from, to), one run written in
 * format fmt. */
static void run(const char *dir, const corpus *c, uint32_t from, uint32_t to,
                const unsigned char *keep, const trawl_writer_opts *o,
                uint32_t fmt)
{
    trawl_writer *w;
    trawl_err err;
    trawl__segfile_format = fmt;
    assert_int_equal(trawl_writer_open(&w, dir, o, &err), 0);
    for (uint32_t d = from; d < to; d++) {
        if (keep != NULL && !keep[d])
            continue;
        trawl_article a;
        memset(&a, 0, sizeof(a));
        a.id = (char *)c->id[d];
        a.id_len = strlen(a.id);
        a.title = c->title[d];
        a.title_len = strlen(a.title);
        a.body = c->body[d];
        a.body_len = strlen(a.body);
        a.date = 1700000000 + (int64_t)d * 86400;
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    int rc = trawl_writer_commit(w, NULL, &err);
    trawl__segfile_format = TRAWL_FORMAT_VERSION;
    if (rc != 0)
        fail_msg("commit: %s", err.msg);
    trawl_writer_free(w);
}

static trawl_index *open_ix(const char *dir)
{
    trawl_index *ix;
    trawl_err err;
    if (trawl_index_open(&ix, dir, &err) != 0)
        fail_msg("open %s: %s", dir, err.msg);
    return ix;
}

static void assert_sound(const char *dir)
{
    char *rep = NULL;
    trawl_err err;
    if (trawl_index_check(dir, &rep, &err) != 0)
        fail_msg("check %s: %s\n%s", dir, err.msg, rep ? rep : "");
    free(rep);
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

/* The oracle of the docs of c with keep[d] (NULL: all). */
static oracle *oracle_of(const corpus *c, const unsigned char *keep,
                         trawl_analyzer *an)
{
    oracle *o = oracle_new(an);
    for (uint32_t d = 0; d < NDOCS; d++)
        if (keep == NULL || keep[d])
            oracle_add(o, c->title[d], c->body[d],
                       1700000000 + (int64_t)d * 86400);
    return o;
}

/* Every query: all hits, then a pruned page of 3, against the oracle
 * (doc i of the oracle is the i-th kept doc). */
static void check_oracle(const char *dir, const corpus *c,
                         const unsigned char *keep)
{
    trawl_err err;
    trawl_analyzer *an;
    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    oracle *o = oracle_of(c, keep, an);
    uint32_t ids[NDOCS], n = 0;
    for (uint32_t d = 0; d < NDOCS; d++)
        if (keep == NULL || keep[d])
            ids[n++] = d;
    trawl_index *ix = open_ix(dir);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    for (size_t k = 0; k < NQUERIES; k++) {
        const char *q = queries[k];
        trawl_arena *a = trawl_arena_new(1 << 16);
        qnode *root;
        assert_int_equal(trawl__query_parse(&root, an, q, strlen(q), a, &err),
                         0);
        size_t nw;
        oracle_hit *want = oracle_search(o, root, 1.2, 0.75, 2.0, 1.0, 1.0,
                                         TRAWL_PROX_DEPTH, &nw);
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = q;
            tq.qlen = strlen(q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 3;
            tq.snippets = 0;
            trawl_results r;
            if (trawl_search(s, ix, &tq, a, &r, &err) != 0)
                fail_msg("query [%s]: %s", q, err.msg);
            if (pass == 0 && r.total != nw)
                fail_msg("query [%s]: total %llu, oracle %zu", q,
                         (unsigned long long)r.total, nw);
            size_t m = nw < tq.limit ? nw : tq.limit;
            assert_int_equal(r.nhits, m);
            for (size_t i = 0; i < m; i++) {
                const char *id = c->id[ids[want[i].doc]];
                double dd = fabs(r.hits[i].score - want[i].score);
                if (dd > 1e-9 * (1 + want[i].score) ||
                    strcmp(r.hits[i].id, id) != 0)
                    fail_msg("query [%s] rank %zu: got %s %.12f, oracle %s "
                             "%.12f", q, i, r.hits[i].id, r.hits[i].score,
                             id, want[i].score);
            }
        }
        free(want);
        trawl_arena_free(a);
    }
    trawl_searcher_free(s);
    trawl_index_release(ix);
    oracle_free(o);
    trawl_analyzer_free(an);
}

/* Every query against both indexes: the same hits and scores, bit for
 * bit (a prefix's words are summed in byte order whatever the segments
 * hold, so this holds however the documents are divided). */
static void check_same(const char *da, const char *db)
{
    trawl_index *a = open_ix(da), *b = open_ix(db);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    for (size_t k = 0; k < NQUERIES; k++) {
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = queries[k];
            tq.qlen = strlen(tq.q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 5;
            tq.snippets = 0;
            trawl_results ra, rb;
            assert_int_equal(trawl_search(s, a, &tq, ar, &ra, &err), 0);
            assert_int_equal(trawl_search(s, b, &tq, ar, &rb, &err), 0);
            if (pass == 0)
                assert_int_equal(ra.total, rb.total);
            assert_int_equal(ra.nhits, rb.nhits);
            for (size_t i = 0; i < ra.nhits; i++)
                if (strcmp(ra.hits[i].id, rb.hits[i].id) != 0 ||
                    ra.hits[i].score != rb.hits[i].score)
                    fail_msg("query [%s] rank %zu: %s %.17g vs %s %.17g",
                             tq.q, i, ra.hits[i].id, ra.hits[i].score,
                             rb.hits[i].id, rb.hits[i].score);
        }
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(a);
    trawl_index_release(b);
}

/* The dictionary entry of word in the index's segment si. */
static seg_term term_of(const trawl_index *ix, uint32_t si, const char *word)
{
    seg_term t;
    trawl_err err;
    assert_int_equal(
        trawl__seg_lookup(&ix->segs[si], word, strlen(word), &t, &err), 1);
    return t;
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
    corpus c;
    corpus_make(&c, 1);
    char d[64];
    new_dir(d);
    run(d, &c, 0, NDOCS, NULL, NULL, TRAWL_FORMAT_VERSION);
    trawl_index *ix = open_ix(d);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    for (size_t k = 0; k < NMARKED; k++) {
        seg_term t = term_of(ix, 0, marked_words[k]);
        assert_int_equal(t.df, marked[k]);
        assert_int_equal(t.compact, marked[k] <= COMPACT_MAX);
        if (t.compact)
            assert_int_equal(t.skip_len, 0);
        else
            assert_true(t.skip_len > 0);
    }
    trawl_index_release(ix);
    assert_sound(d);
    check_oracle(d, &c, NULL);
    rm_rf(d);
    corpus_free(&c);
}

/* The same documents in format 6 (no compact lists): a larger POSTINGS,
 * the same results bit for bit, and a sound index. Against format 8,
 * whose POSITIONS are format 6's byte for byte (format 9 adds offset
 * tables to long blocks: test_posoff compares 9 with 8). */
static void format6_reads_the_same(void **state)
{
    (void)state;
    corpus c;
    corpus_make(&c, 2);
    char d7[64], d6[64];
    new_dir(d7);
    new_dir(d6);
    run(d7, &c, 0, NDOCS, NULL, NULL, 8);
    run(d6, &c, 0, NDOCS, NULL, NULL, 6);
    trawl_index *i7 = open_ix(d7), *i6 = open_ix(d6);
    assert_int_equal(i7->segs[0].version, 8);
    assert_int_equal(i6->segs[0].version, 6);
    for (size_t k = 0; k < NMARKED; k++) {
        seg_term t = term_of(i6, 0, marked_words[k]);
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
    assert_sound(d6);
    check_oracle(d6, &c, NULL);
    check_same(d7, d6);
    rm_rf(d7);
    rm_rf(d6);
    corpus_free(&c);
}

/* Add-only runs alternating formats 6 and 7 (a compact list in one
 * segment, the same word's block list in the next), without pair terms,
 * then a merge into format 7 (which builds them, as the one build did):
 * the same results as one build before and after the merge, and the
 * merged segment is the one build's, byte for byte. */
static void merge_mixes_formats(void **state)
{
    (void)state;
    corpus c;
    corpus_make(&c, 3);
    char one[64], mixed[64];
    new_dir(one);
    new_dir(mixed);
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    run(one, &c, 0, NDOCS, NULL, NULL, TRAWL_FORMAT_VERSION);
    trawl_writer_opts add = np;
    add.keep_unseen = 1;
    static const uint32_t cut[] = {0, 90, 150, 240, NDOCS};
    for (int k = 0; k < 4; k++)
        run(mixed, &c, cut[k], cut[k + 1], NULL, &add,
            k % 2 ? TRAWL_FORMAT_VERSION : 6);
    trawl_index *ix = open_ix(mixed);
    assert_int_equal(ix->nsegs, 4);
    assert_int_equal(ix->segs[0].version, 6);
    assert_int_equal(ix->segs[1].version, TRAWL_FORMAT_VERSION);
    trawl_index_release(ix);
    assert_sound(mixed);
    check_same(one, mixed);
    check_oracle(mixed, &c, NULL);

    trawl_writer_opts mo = add;
    mo.merge = 1;
    run(mixed, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
    ix = open_ix(mixed);
    trawl_index *io = open_ix(one);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    for (size_t k = 0; k < NMARKED; k++)
        assert_int_equal(term_of(ix, 0, marked_words[k]).compact,
                         marked[k] <= COMPACT_MAX);
    assert_int_equal(ix->segs[0].size, io->segs[0].size);
    /* past the header: the sections and the TOC */
    assert_memory_equal(ix->segs[0].map, io->segs[0].map,
                        ix->segs[0].size);
    trawl_index_release(io);
    trawl_index_release(ix);
    assert_sound(mixed);
    check_same(one, mixed);
    rm_rf(one);
    rm_rf(mixed);
    corpus_free(&c);
}

/* Deletions: a run that drops documents so that a block list falls to
 * COMPACT_MAX live postings, a compact one loses some and one loses its
 * only document; before the merge deleted documents are never hits, after
 * it (format 7 output from a format 6 or 7 input) the lists are what a
 * fresh build of the live documents has, and rank as the oracle. */
static void deletions_cross_the_threshold(void **state)
{
    (void)state;
    corpus c;
    corpus_make(&c, 4);
    for (int fmt = 6; fmt <= TRAWL_FORMAT_VERSION; fmt++) {
        char d[64];
        new_dir(d);
        trawl_writer_opts np;
        memset(&np, 0, sizeof(np));
        np.no_pairs = 1;
        run(d, &c, 0, NDOCS, NULL, &np, (uint32_t)fmt);
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
        run(d, &c, 0, NDOCS, keep, &np, TRAWL_FORMAT_VERSION);
        trawl_index *ix = open_ix(d);
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
        assert_sound(d);

        trawl_writer_opts mo = np;
        mo.merge = 1;
        mo.keep_unseen = 1;
        run(d, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
        ix = open_ix(d);
        assert_int_equal(ix->segs[0].ndeleted, 0);
        seg_term t = term_of(ix, 0, "cmp033");
        assert_int_equal(t.df, COMPACT_MAX);
        assert_true(t.compact);
        t = term_of(ix, 0, "cmp032");
        assert_int_equal(t.df, COMPACT_MAX - 2);
        seg_term none;
        assert_int_equal(
            trawl__seg_lookup(&ix->segs[0], "cmp001", 6, &none, &err), 0);
        trawl_index_release(ix);
        assert_sound(d);
        check_oracle(d, &c, keep);
        /* the same results as a fresh build of the live documents */
        char f[64];
        new_dir(f);
        run(f, &c, 0, NDOCS, keep, &np, TRAWL_FORMAT_VERSION);
        check_same(d, f);
        rm_rf(f);
        rm_rf(d);
    }
    corpus_free(&c);
}

/* ---- damage ------------------------------------------------------------ */

static char *seg_path(const char *dir)
{
    DIR *dd = opendir(dir);
    struct dirent *e;
    char *p = NULL;
    while ((e = readdir(dd)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".trs") == 0) {
            p = malloc(strlen(dir) + l + 2);
            sprintf(p, "%s/%s", dir, e->d_name);
        }
    }
    closedir(dd);
    assert_non_null(p);
    return p;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Recompute every section hash, then the TOC hash, so that open accepts
 * the damaged file and only decoding can notice. */
static void reseal(unsigned char *p, size_t n)
{
    uint64_t toc = trawl__get_u64(p + n - SEG_FOOTER);
    uint64_t toc_len = trawl__get_u64(p + n - SEG_FOOTER + 8);
    uint32_t nsec = trawl__get_u32(p + toc);
    for (uint32_t i = 0; i < nsec; i++) {
        unsigned char *e = p + toc + 4 + (size_t)i * 32;
        uint64_t off = trawl__get_u64(e + 8), len = trawl__get_u64(e + 16);
        trawl__put_u64(e + 24, trawl__hash64(p + off, len));
    }
    trawl__put_u64(p + n - SEG_FOOTER + 16, trawl__hash64(p + toc, toc_len));
}

/* Search every query on dir (damaged): an answer or ECORRUPT, no crash
 * (ASan in CI); 1 if some query reported the damage. */
static int search_survives(const char *dir)
{
    trawl_index *ix;
    trawl_err err;
    if (trawl_index_open(&ix, dir, &err) != 0)
        return 1;
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    int seen = 0;
    for (size_t k = 0; k < NQUERIES; k++) {
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = queries[k];
            tq.qlen = strlen(tq.q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 3;
            tq.snippets = pass;
            trawl_results r;
            int rc = trawl_search(s, ix, &tq, ar, &r, &err);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            seen |= rc == TRAWL_ECORRUPT;
        }
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    return seen;
}

/* Damage in the compact lists of cmp001, cmp003 and cmp032 (resealed):
 * the check reports it, search answers or says ECORRUPT and a merge
 * fails cleanly; a gap past the last document is always caught, by the
 * check and by search. */
static void damaged_compact_lists(void **state)
{
    (void)state;
    corpus c;
    corpus_make(&c, 5);
    char d[64];
    new_dir(d);
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    run(d, &c, 0, NDOCS, NULL, &np, TRAWL_FORMAT_VERSION);
    char *path = seg_path(d);
    size_t n;
    unsigned char *orig = slurp(path, &n);
    unsigned char *img = malloc(n);
    trawl_index *ix = open_ix(d);
    uint64_t post = (uint64_t)(ix->segs[0].sec[SEC_POSTINGS].p -
                               ix->segs[0].map);
    static const char *words[] = {"cmp001", "cmp003", "cmp032"};
    seg_term t[3];
    for (int k = 0; k < 3; k++) {
        t[k] = term_of(ix, 0, words[k]);
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
        reseal(img, n);
        spit(path, img, n);
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
        ix = open_ix(d);
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
                reseal(img, n);
                spit(path, img, n);
                char *rep = NULL;
                trawl_err err;
                int rc = trawl_index_check(d, &rep, &err);
                assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
                tries++;
                found += rc != 0;
                free(rep);
                search_survives(d);
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
    reseal(img, n);
    spit(path, img, n);
    trawl_writer *w;
    trawl_err err;
    trawl_writer_opts mo = np;
    mo.merge = 1;
    mo.keep_unseen = 1;
    assert_int_equal(trawl_writer_open(&w, d, &mo, &err), 0);
    /* merge of one segment is a no-op, so bring a second one */
    trawl_article a;
    memset(&a, 0, sizeof(a));
    a.id = "extra";
    a.id_len = 5;
    a.title = "extra";
    a.title_len = 5;
    a.body = "harbor cmp032";
    a.body_len = strlen(a.body);
    a.date = 1700000000;
    assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    assert_int_equal(trawl_writer_commit(w, NULL, &err), TRAWL_ECORRUPT);
    trawl_writer_free(w);

    spit(path, orig, n);
    assert_sound(d);
    free(img);
    free(orig);
    free(path);
    rm_rf(d);
    corpus_free(&c);
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
