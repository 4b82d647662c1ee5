/*
 * The writer's generations: incremental runs (added, updated, deleted,
 * unchanged), deletions, merges and memory-budget runs. The central
 * property: search results (ids and scores, exactly) do not depend on how
 * the same documents were segmented.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "pairs.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

static const char *queries[] = {
    "north",          "korea talks",      "nuclear OR missile",
    "\"north korea\"", "trade -bank",      "sanc*",
    "title:election", "storm flood river", "the",
    "market rates inflation", "court OR ruling OR vote", "harbour",
    "grain railway",  "senate -drought",  "\"the market\"",
    "festival OR tariff", "budget",        "zebra",
    "quokka",         "policy embassy seoul",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static void corpus_make(tu_corpus *c, size_t n, uint32_t body_words,
                        uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, n, 5);
    for (size_t i = 0; i < n; i++) {
        c->title[i] = tu_make_text(2 + tu_rnd(5));
        c->body[i] = tu_make_text(tu_rnd(9) == 0 ? body_words * 8
                                                 : 5 + tu_rnd(body_words));
        c->date[i] = 1700000000 + (int64_t)tu_rnd(1000) * 86400;
    }
}

static void corpus_set_body(tu_corpus *c, size_t i, const char *body)
{
    free(c->body[i]);
    c->body[i] = strdup(body);
}

/* Add docs [0, n) of c, each with an err that lives only in this call
 * (as a caller's loop would have it). */
static void add_all_short_lived_err(trawl_writer *w, const tu_corpus *c,
                                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        trawl_err err;
        memset(&err, 0, sizeof(err));
        trawl_article a = tu_article(c, i);
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
}

/* A write that fails while the commit writes the run's segment (here: a
 * file size limit) is reported by the commit, with the file and the
 * reason, and the previous generation stays. */
static void writer_write_error_reported_by_commit(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 300, 60, 99);
    char dir[64];
    tu_new_dir(dir, "writer");
    tu_run_range(dir, &c, 0, 10, NULL, NULL, NULL);
    uint64_t gen0;
    assert_int_equal(trawl_index_current(dir, &gen0, NULL), 0);

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 16 << 10; /* under the write buffer: the commit writes */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    trawl_err err;
    memset(&err, 0, sizeof(err));
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    add_all_short_lived_err(w, &c, c.n);
    memset(&err, 0, sizeof(err));
    int rc = trawl_writer_commit(w, NULL, &err);
    trawl_writer_free(w);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, TRAWL_EIO);
    assert_int_equal(err.code, TRAWL_EIO);
    if (strstr(err.msg, "write") == NULL || strstr(err.msg, dir) == NULL)
        fail_msg("commit error \"%s\" does not say which write failed",
                 err.msg);
    uint64_t gen1;
    assert_int_equal(trawl_index_current(dir, &gen1, NULL), 0);
    assert_int_equal(gen1, gen0);
    trawl_index *ix = tu_open(dir);
    assert_int_equal(ix->live_docs, 10);
    trawl_index_release(ix);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* Every query of qs against both indexes: the same hits with the same
 * scores, bit for bit, in the same order; all but 3 find something. */
static void assert_same_results_of(const char *dir_a, const char *dir_b,
                                   const char *const *qs, size_t nq)
{
    tu_assert_same_results(dir_a, dir_b, qs, nq, nq > 3 ? nq - 3 : 0);
}

static void assert_same_results(const char *dir_a, const char *dir_b)
{
    assert_same_results_of(dir_a, dir_b, queries, NQUERIES);
}

static trawl_index_info info_of(const char *dir)
{
    trawl_index *ix = tu_open(dir);
    trawl_index_info in;
    trawl_index_info_get(ix, &in);
    trawl_index_release(ix);
    return in;
}

static uint64_t count(const char *dir, const char *q)
{
    trawl_index *ix = tu_open(dir);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(4096);
    uint64_t n = 0;
    assert_int_equal(trawl_count(s, ix, q, strlen(q), ar, &n, &err), 0);
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    return n;
}

static int has_doc(const char *dir, const char *id)
{
    trawl_index *ix = tu_open(dir);
    trawl_arena *ar = trawl_arena_new(4096);
    trawl_stored sd;
    trawl_err err;
    int rc = trawl_index_get(ix, id, strlen(id), ar, &sd, &err);
    trawl_arena_free(ar);
    trawl_index_release(ix);
    assert_true(rc == 0 || rc == TRAWL_ENOTFOUND);
    return rc == 0;
}

/* ---- tests ------------------------------------------------------------ */

#define NDOCS 1500

/* Ten add-only increments and one build over the same docs, in the same
 * order: same hits, same scores; then --merge changes nothing either. */
static void writer_increments_match_one_build(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 60, 42);
    char one[64], ten[64];
    tu_new_dir(one, "writer");
    tu_new_dir(ten, "writer");
    trawl_writer_stats st;
    tu_run(one, &c, NULL, c.n, NULL, &st);
    assert_int_equal(st.added, NDOCS);
    assert_int_equal(st.segments, 1);

    trawl_writer_opts add_only;
    memset(&add_only, 0, sizeof(add_only));
    add_only.keep_unseen = 1;
    uint32_t max_segs = 0, merges = 0;
    for (int k = 0; k < 10; k++) {
        tu_run_range(ten, &c, (size_t)k * NDOCS / 10,
                     (size_t)(k + 1) * NDOCS / 10, NULL, &add_only, &st);
        assert_int_equal(st.generation, (uint64_t)k + 1);
        assert_int_equal(st.added, NDOCS / 10);
        assert_int_equal(st.updated, 0);
        assert_int_equal(st.deleted, 0);
        assert_int_equal(st.unchanged, 0);
        assert_int_equal(st.docs, (uint64_t)(k + 1) * NDOCS / 10);
        trawl_index_info in = info_of(ten);
        assert_int_equal(in.docs, st.docs);
        assert_int_equal(in.segments, st.segments);
        assert_int_equal(in.generation, st.generation);
        if (st.segments > max_segs)
            max_segs = st.segments;
        merges += st.merges;
    }
    /* The policy merged 8 small segments into one on the way. */
    assert_int_equal(max_segs, 7);
    assert_int_equal(merges, 1);
    assert_true(st.segments >= 2 && st.segments < 8);
    assert_same_results(one, ten);

    /* --merge: one segment, the same results. */
    trawl_writer_opts mo = add_only;
    mo.merge = 1;
    tu_run(ten, &c, NULL, 0, &mo, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.merges, 1);
    assert_int_equal(st.docs, NDOCS);
    assert_same_results(one, ten);

    tu_rm_rf(one);
    tu_rm_rf(ten);
    tu_corpus_free(&c);
}

/* The corpus grows; each run sees all of it: unchanged docs are kept, not
 * re-indexed. */
static void writer_growing_corpus_reruns(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, NDOCS, 60, 7);
    char one[64], grow[64];
    tu_new_dir(one, "writer");
    tu_new_dir(grow, "writer");
    tu_run(one, &c, NULL, c.n, NULL, NULL);
    trawl_writer_stats st;
    for (int k = 1; k <= 10; k++) {
        size_t n = (size_t)k * NDOCS / 10, prev = (size_t)(k - 1) * NDOCS / 10;
        tu_run_range(grow, &c, 0, n, NULL, NULL, &st);
        assert_int_equal(st.added, n - prev);
        assert_int_equal(st.unchanged, prev);
        assert_int_equal(st.updated, 0);
        assert_int_equal(st.deleted, 0);
        assert_int_equal(st.docs, n);
    }
    assert_same_results(one, grow);

    /* Nothing new: nothing analyzed, a new generation of the same
     * segments. */
    trawl_index_info before = info_of(grow);
    tu_run(grow, &c, NULL, c.n, NULL, &st);
    assert_int_equal(st.unchanged, NDOCS);
    assert_int_equal(st.added + st.updated + st.deleted, 0);
    assert_int_equal(st.tokens, 0);
    assert_int_equal(st.runs, 0);
    assert_int_equal(st.segments, before.segments);
    assert_int_equal(st.generation, before.generation + 1);
    assert_same_results(one, grow);
    tu_rm_rf(one);
    tu_rm_rf(grow);
    tu_corpus_free(&c);
}

/* A changed article matches only its new text, a vanished one is gone,
 * avg_len ignores deleted docs; after --merge the index equals a fresh
 * build of the surviving docs in the same order. */
static void writer_updates_and_deletes(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 400, 40, 9);
    corpus_set_body(&c, 7, "the quokka crossed the river");
    char dir[64], fresh[64];
    tu_new_dir(dir, "writer");
    tu_new_dir(fresh, "writer");
    trawl_writer_stats st;
    tu_run_range(dir, &c, 0, 300, NULL, NULL, &st);
    assert_int_equal(count(dir, "quokka"), 1);

    /* Run 2: doc 5 vanished, doc 7 changed, docs 300..309 new. */
    corpus_set_body(&c, 7, "a zebra crossed the river");
    size_t order[400], n = 0;
    for (size_t i = 0; i < 310; i++)
        if (i != 5)
            order[n++] = i;
    tu_run(dir, &c, order, n, NULL, &st);
    assert_int_equal(st.added, 10);
    assert_int_equal(st.updated, 1);
    assert_int_equal(st.deleted, 1);
    assert_int_equal(st.unchanged, 298);
    assert_int_equal(st.docs, 309);
    assert_int_equal(count(dir, "quokka"), 0);
    assert_int_equal(count(dir, "zebra"), 1);
    assert_false(has_doc(dir, "doc-00005"));
    assert_true(has_doc(dir, "doc-00007"));
    trawl_index_info in = info_of(dir);
    assert_int_equal(in.docs, 309);
    assert_int_equal(in.deleted, 2);
    assert_int_equal(in.segments, 2);

    /* avg_len is over live docs: compare with the sum of live lengths. */
    trawl_index *ix = tu_open(dir);
    uint64_t tot[TRAWL_NFIELDS] = {0}, live = 0;
    for (uint32_t si = 0; si < ix->nsegs; si++) {
        const trawl_segment *s = &ix->segs[si];
        for (uint32_t d = 0; d < s->ndocs; d++) {
            if (trawl__seg_is_deleted(s, d))
                continue;
            live++;
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                tot[f] += trawl__seg_field_len(s, d, f);
        }
    }
    assert_int_equal(live, ix->live_docs);
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        assert_true(ix->avg_len[f] == (double)tot[f] / (double)live);
    trawl_index_release(ix);

    /* Merge away the deletions; a fresh build of the same docs in the
     * same order (the old segment's survivors, then the new run). */
    trawl_writer_opts mo;
    memset(&mo, 0, sizeof(mo));
    mo.merge = 1;
    mo.keep_unseen = 1;
    tu_run(dir, &c, NULL, 0, &mo, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.docs, 309);
    in = info_of(dir);
    assert_int_equal(in.deleted, 0);
    n = 0;
    for (size_t i = 0; i < 300; i++)
        if (i != 5 && i != 7)
            order[n++] = i;
    for (size_t i = 7; i < 310; i = i == 7 ? 300 : i + 1)
        order[n++] = i;
    assert_int_equal(n, 309);
    tu_run(fresh, &c, order, n, NULL, NULL);
    assert_same_results(fresh, dir);
    tu_rm_rf(dir);
    tu_rm_rf(fresh);
    tu_corpus_free(&c);
}

/* keep_unseen: a run of only new docs deletes nothing. Without it, the
 * docs it did not see are deleted. A segment whose docs are all deleted
 * leaves the manifest. */
static void writer_keep_unseen(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 100, 20, 3);
    char dir[64];
    tu_new_dir(dir, "writer");
    trawl_writer_stats st;
    tu_run_range(dir, &c, 0, 50, NULL, NULL, &st);
    trawl_writer_opts ko;
    memset(&ko, 0, sizeof(ko));
    ko.keep_unseen = 1;
    tu_run_range(dir, &c, 50, 60, NULL, &ko, &st);
    assert_int_equal(st.added, 10);
    assert_int_equal(st.deleted, 0);
    assert_int_equal(st.docs, 60);
    assert_int_equal(st.segments, 2);
    assert_true(has_doc(dir, "doc-00000"));

    tu_run_range(dir, &c, 50, 60, NULL, NULL, &st);
    assert_int_equal(st.unchanged, 10);
    assert_int_equal(st.deleted, 50);
    assert_int_equal(st.docs, 10);
    assert_int_equal(st.segments, 1); /* the first segment is all gone */
    assert_false(has_doc(dir, "doc-00000"));
    assert_true(has_doc(dir, "doc-00055"));
    assert_int_equal(info_of(dir).docs, 10);

    /* --full rebuilds from scratch but still counts against the old. */
    trawl_writer_opts fo;
    memset(&fo, 0, sizeof(fo));
    fo.full = 1;
    tu_run_range(dir, &c, 55, 70, NULL, &fo, &st);
    assert_int_equal(st.unchanged, 5);
    assert_int_equal(st.added, 10);
    assert_int_equal(st.deleted, 5);
    assert_int_equal(st.docs, 15);
    assert_int_equal(st.segments, 1);
    assert_true(st.tokens > 0);
    assert_int_equal(info_of(dir).deleted, 0);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* The fast path for unchanged raw input: trawl_writer_keep with the same
 * caller fingerprint keeps the article without parsing; a different one
 * (or --full) asks for an add. */
static void writer_keep_fast_path(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 40, 20, 11);
    char dir[64];
    tu_new_dir(dir, "writer");
    trawl_err err;
    trawl_writer *w;
    for (int pass = 0; pass < 3; pass++) {
        assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
        size_t kept = 0;
        for (size_t i = 0; i < c.n; i++) {
            /* Pass 2 changes doc 7's raw source. */
            uint64_t fp = 1000 + i + (pass == 2 && i == 7 ? 5000 : 0);
            int k = trawl_writer_keep(w, c.id[i], strlen(c.id[i]), fp, &err);
            assert_true(k == 0 || k == 1);
            if (k == 1) {
                kept++;
                continue;
            }
            trawl_article a;
            memset(&a, 0, sizeof(a));
            a.id = c.id[i];
            a.id_len = strlen(a.id);
            a.title = c.title[i];
            a.title_len = strlen(a.title);
            a.body = pass == 2 && i == 7 ? "zebra quokka" : c.body[i];
            a.body_len = strlen(a.body);
            a.date = c.date[i];
            a.fingerprint = fp;
            assert_int_equal(trawl_writer_add(w, &a, &err), 0);
        }
        trawl_writer_stats st;
        assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
        trawl_writer_free(w);
        assert_int_equal(st.docs, 40);
        assert_int_equal(st.deleted, 0);
        if (pass == 0) {
            assert_int_equal(kept, 0);
            assert_int_equal(st.added, 40);
        } else if (pass == 1) {
            assert_int_equal(kept, 40);
            assert_int_equal(st.unchanged, 40);
            assert_int_equal(st.tokens, 0);
        } else {
            assert_int_equal(kept, 39);
            assert_int_equal(st.unchanged, 39);
            assert_int_equal(st.updated, 1);
        }
    }
    assert_true(has_doc(dir, c.id[7]));
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* trawl_writer_keep_old (input that names an article but is bad): the
 * previous version stays whatever its fingerprint; an id this run
 * already added or kept stands; an unknown id or a full rebuild keeps
 * nothing; a later add of the id replaces the kept version. */
static void writer_keep_old(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 30, 20, 11);
    char dir[64];
    tu_new_dir(dir, "writer");
    tu_run(dir, &c, NULL, c.n, NULL, NULL);
    trawl_err err;
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    for (size_t i = 0; i < c.n; i++) {
        if (i == 3 || i == 4 || i == 5)
            continue;
        trawl_article a = tu_article(&c, i);
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    /* 3: bad, kept as it was; 4: bad, then good with a new body; 5: gone. */
    assert_int_equal(trawl_writer_keep_old(w, c.id[3], strlen(c.id[3]), &err),
                     1);
    assert_int_equal(trawl_writer_keep_old(w, c.id[3], strlen(c.id[3]), &err),
                     0);
    assert_int_equal(trawl_writer_keep_old(w, c.id[4], strlen(c.id[4]), &err),
                     1);
    tu_add(w, c.id[4], c.title[4], "zebra quokka", NULL, c.date[4]);
    /* an id added in this run, and one the index never had */
    assert_int_equal(trawl_writer_keep_old(w, c.id[6], strlen(c.id[6]), &err),
                     0);
    assert_int_equal(trawl_writer_keep_old(w, "nope", 4, &err), 0);
    trawl_writer_stats st;
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    trawl_writer_free(w);
    assert_int_equal(st.docs, 29);
    assert_int_equal(st.deleted, 1);
    assert_true(has_doc(dir, c.id[3]));
    assert_true(has_doc(dir, c.id[4]));
    assert_false(has_doc(dir, c.id[5]));
    trawl_index *ix = tu_open(dir);
    trawl_arena *ar = trawl_arena_new(0);
    assert_non_null(ar);
    trawl_stored sd;
    assert_int_equal(trawl_index_get(ix, c.id[4], strlen(c.id[4]), ar, &sd,
                                     &err),
                     0);
    assert_string_equal(sd.body, "zebra quokka");
    assert_int_equal(trawl_index_get(ix, c.id[3], strlen(c.id[3]), ar, &sd,
                                     &err),
                     0);
    assert_string_equal(sd.body, c.body[3]);
    trawl_arena_free(ar);
    trawl_index_release(ix);

    /* A full rebuild keeps nothing old. */
    trawl_writer_opts fo;
    memset(&fo, 0, sizeof(fo));
    fo.full = 1;
    assert_int_equal(trawl_writer_open(&w, dir, &fo, &err), 0);
    assert_int_equal(trawl_writer_keep_old(w, c.id[3], strlen(c.id[3]), &err),
                     0);
    trawl_writer_free(w);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* Documents long enough to be inverted by term groups instead of token
 * lists (more than 65,536 tokens), among short ones before and after
 * them: hits, scores (term frequencies) and phrases (positions) agree
 * with the oracle, with the title's positions kept apart. */
static void writer_long_documents(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 12, 40, 5);
    free(c.body[3]);
    c.body[3] = tu_make_text(66000);
    free(c.body[7]);
    c.body[7] = tu_make_text(68000);
    free(c.title[7]);
    c.title[7] = strdup("the harbor storm");
    char dir[64];
    tu_new_dir(dir, "writer");
    tu_run(dir, &c, NULL, c.n, NULL, NULL);
    char q[12][128];
    const char *qs[12];
    snprintf(q[0], sizeof(q[0]), "%s", tu_vocab[0]);
    snprintf(q[1], sizeof(q[1]), "%s", tu_vocab[tu_nvocab - 1]);
    snprintf(q[2], sizeof(q[2]), "\"%s %s\"", tu_vocab[0], tu_vocab[1]);
    snprintf(q[3], sizeof(q[3]), "\"%s %s\"", tu_vocab[5], tu_vocab[2]);
    snprintf(q[4], sizeof(q[4]), "\"%s %s %s\"", tu_vocab[1], tu_vocab[0],
             tu_vocab[3]);
    /* (no near query: the oracle's near check is quadratic in the
     * document's length) */
    snprintf(q[5], sizeof(q[5]), "\"%s %s\"", tu_vocab[4],
             tu_vocab[tu_nvocab / 2]);
    snprintf(q[6], sizeof(q[6]), "title:\"harbor storm\"");
    snprintf(q[7], sizeof(q[7]), "\"storm %s\"", tu_vocab[0]);
    snprintf(q[8], sizeof(q[8]), "%s %s", tu_vocab[2], tu_vocab[7]);
    snprintf(q[9], sizeof(q[9]), "%s OR %s", tu_vocab[9], tu_vocab[11]);
    for (int i = 0; i < 10; i++)
        qs[i] = q[i];
    tu_check_oracle(dir, &c, NULL, qs, 10);
    tu_assert_sound(dir);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* Duplicate ids within one run: the last version wins, across flushed
 * runs too. */
static void writer_duplicates_within_a_run(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 600, 150, 11);
    char dir[64];
    tu_new_dir(dir, "writer");
    trawl_writer_opts bo;
    memset(&bo, 0, sizeof(bo));
    bo.mem_budget = 1 << 20;
    corpus_set_body(&c, 3, "the quokka version one");
    size_t order[700], n = 0;
    for (size_t i = 0; i < 600; i++)
        order[n++] = i;
    tu_run(dir, &c, order, n, &bo, NULL);
    /* Second run: doc 3 unchanged first, then changed late (after several
     * runs were flushed). */
    corpus_set_body(&c, 3, "the zebra version two");
    trawl_writer_stats st;
    n = 0;
    order[n++] = 3;
    for (size_t i = 0; i < 600; i++)
        order[n++] = i;
    tu_run(dir, &c, order, n, &bo, &st);
    assert_int_equal(st.docs, 600);
    assert_int_equal(count(dir, "quokka"), 0);
    assert_int_equal(count(dir, "zebra"), 1);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* A corpus that holds an id twice (the later copy wins), run again
 * unchanged: nothing is updated and no segment is written. */
static void writer_duplicate_id_rerun_unchanged(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 300, 40, 5);
    char dir[64];
    tu_new_dir(dir, "writer");
    size_t order[302], n = 0;
    for (size_t i = 0; i < 300; i++) {
        order[n++] = i;
        if (i == 200)
            order[n++] = 300; /* the second copy of doc 7, below */
    }
    corpus_set_body(&c, 7, "the quokka copy one");
    /* one slot more: the same id as doc 7, another body */
    c.id = realloc(c.id, 301 * sizeof(char *));
    c.title = realloc(c.title, 301 * sizeof(char *));
    c.body = realloc(c.body, 301 * sizeof(char *));
    c.date = realloc(c.date, 301 * sizeof(int64_t));
    c.author = realloc(c.author, 301 * sizeof(char *));
    c.url = realloc(c.url, 301 * sizeof(char *));
    c.author[300] = NULL;
    c.url[300] = NULL;
    c.id[300] = strdup(c.id[7]);
    c.title[300] = strdup(c.title[7]);
    c.body[300] = strdup("the zebra copy two");
    c.date[300] = c.date[7];
    c.n = 301;
    trawl_writer_stats st;
    tu_run(dir, &c, order, n, NULL, &st);
    assert_int_equal(st.docs, 300);
    assert_int_equal(count(dir, "zebra"), 1);
    assert_int_equal(count(dir, "quokka"), 0);
    trawl_index_info before = info_of(dir);
    for (int k = 0; k < 2; k++) {
        tu_run(dir, &c, order, n, NULL, &st);
        assert_int_equal(st.docs, 300);
        assert_int_equal(st.added, 0);
        assert_int_equal(st.updated, 0);
        assert_int_equal(st.deleted, 0);
        assert_int_equal(st.unchanged, 300);
        assert_int_equal(st.runs, 0);
        trawl_index_info now = info_of(dir);
        assert_int_equal(now.segments, before.segments);
        assert_int_equal(now.bytes, before.bytes);
    }
    assert_int_equal(count(dir, "zebra"), 1);
    assert_int_equal(count(dir, "quokka"), 0);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* Open dir, add docs order[0..n) of c, and say what
 * trawl_writer_changed says then (the writer is abandoned, nothing is
 * committed); so_far gets its counts. */
static int changed_after(const char *dir, const tu_corpus *c,
                         const size_t *order, size_t n,
                         const trawl_writer_opts *opts, int keep_unseen,
                         trawl_writer_stats *so_far)
{
    trawl_err err;
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, opts, &err), 0);
    if (keep_unseen)
        trawl_writer_keep_unseen(w);
    for (size_t k = 0; k < n; k++) {
        trawl_article a = tu_article(c, order[k]);
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    int changed = trawl_writer_changed(w, so_far);
    trawl_writer_free(w);
    return changed;
}

/* trawl_writer_changed: what a caller (trawl-index) uses to skip a commit
 * that would write the same documents again. */
static void writer_changed_says_when_a_commit_changes_nothing(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 41, 30, 9);
    char dir[64];
    tu_new_dir(dir, "writer");
    size_t order[42], n = 0;
    for (size_t i = 0; i < 40; i++)
        order[n++] = i;
    trawl_writer_stats so;
    /* no previous generation: a first commit changes everything */
    assert_int_equal(changed_after(dir, &c, order, n, NULL, 0, &so), 1);
    assert_int_equal(so.added, 40);
    tu_run(dir, &c, order, n, NULL, NULL);
    trawl_index_info before = info_of(dir);
    /* the same articles again: nothing changes */
    assert_int_equal(changed_after(dir, &c, order, n, NULL, 0, &so), 0);
    assert_int_equal(so.unchanged, 40);
    assert_int_equal(so.added + so.updated, 0);
    /* all but one: the commit would delete it ... */
    assert_int_equal(changed_after(dir, &c, order, n - 1, NULL, 0, &so), 1);
    /* ... unless unseen articles are kept (trawl-index --add, or inputs
     * that could not be read) */
    assert_int_equal(changed_after(dir, &c, order, n - 1, NULL, 1, &so), 0);
    trawl_writer_opts add;
    memset(&add, 0, sizeof(add));
    add.keep_unseen = 1;
    assert_int_equal(changed_after(dir, &c, order, 5, &add, 0, &so), 0);
    /* a new article, or a changed one */
    order[n] = 40;
    assert_int_equal(changed_after(dir, &c, order, n + 1, NULL, 0, &so), 1);
    assert_int_equal(so.added, 1);
    corpus_set_body(&c, 3, "the platypus changed its mind");
    assert_int_equal(changed_after(dir, &c, order, n, NULL, 0, &so), 1);
    assert_int_equal(so.updated, 1);
    /* a full rebuild always changes the index */
    trawl_writer_opts full;
    memset(&full, 0, sizeof(full));
    full.full = 1;
    assert_int_equal(changed_after(dir, &c, order, n, &full, 0, &so), 1);
    /* none of these committed */
    trawl_index_info now = info_of(dir);
    assert_int_equal(now.generation, before.generation);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* A tiny memory budget: several runs flushed and merged at the end; the
 * same results as an unbounded build. */
static void writer_budget_runs(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 3000, 200, 5);
    char big[64], tiny[64];
    tu_new_dir(big, "writer");
    tu_new_dir(tiny, "writer");
    trawl_writer_stats st;
    tu_run(big, &c, NULL, c.n, NULL, &st);
    assert_int_equal(st.runs, 1);
    trawl_writer_opts bo;
    memset(&bo, 0, sizeof(bo));
    bo.mem_budget = 1 << 20;
    tu_run(tiny, &c, NULL, c.n, &bo, &st);
    assert_true(st.runs > 2);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.docs, c.n);
    assert_same_results(big, tiny);
    tu_rm_rf(big);
    tu_rm_rf(tiny);
    tu_corpus_free(&c);
}

/* Phrases of common words read pair terms (format.h, PAIRS): a build
 * with them, one without, and one whose segments disagree (so merges drop
 * the pairs) rank every phrase the same, bit for bit. */
static const char *phrase_queries[] = {
    "\"the market\"",       "\"of the\"",            "\"north korea\"",
    "\"the of\"",           "\"market bank rates\"",  "title:\"the market\"",
    "\"a the\"",            "\"the the\"",           "\"in the market\"",
    "\"of the\" OR flood",  "korea \"of a\"",        "\"the market\"~2",
    "\"north korea\" -\"the market\"", "body:\"and the\"", "\"zebra the\"",
    "\"harbour of\"",       "\"the a of and in\"",    "\"the zephyrf\"",
    "\"quillf of\"",        "\"the zephyrf quillb of\"", "\"zephyrf quillb\"",
    "\"quillh of north\"",  "\"quillk of the\"",       "title:\"zephyrd the\"",
};

/* The letters that tell the frequent words apart (zephyrb, zephyrc, ...:
 * consonants the stemmer leaves alone, and no digits, which would split
 * "zephyr3" in two words). */
static const char K11[] = "bcdfghjkmnp";

static void writer_phrase_pairs(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 900, 60, 11);
    /* Words in an eleventh of the documents each: frequent, not common
     * (format.h, PAIRS), next to common words and to each other. */
    for (size_t i = 0; i < c.n; i++) {
        size_t len = strlen(c.body[i]) + 64;
        char *b = malloc(len);
        snprintf(b, len, "%s the zephyr%c quill%c of %s", c.body[i],
                 K11[i % 11], K11[i / 11 % 11], i % 3 ? "north" : "the");
        corpus_set_body(&c, i, b);
        free(b);
        if (i % 7 == 0) {
            len = strlen(c.title[i]) + 32;
            b = malloc(len);
            snprintf(b, len, "zephyr%c the %s", K11[i % 11], c.title[i]);
            free(c.title[i]);
            c.title[i] = b;
        }
    }
    char with[64], without[64], mixed[64];
    tu_new_dir(with, "writer");
    tu_new_dir(without, "writer");
    tu_new_dir(mixed, "writer");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run(with, &c, NULL, c.n, NULL, NULL);
    tu_run(without, &c, NULL, c.n, &np, NULL);

    /* The build has common words and their pair terms; the other none. */
    trawl_index *ix = tu_open(with);
    const trawl_segment *sg = &ix->segs[0];
    assert_true(trawl__pairs_common(&sg->sec[SEC_PAIRS]) > 4);
    assert_int_equal(trawl__pairs_class(&sg->sec[SEC_PAIRS], "the", 3),
                     PAIR_COMMON);
    assert_int_equal(trawl__pairs_class(&sg->sec[SEC_PAIRS], "zephyrf", 7),
                     PAIR_FREQUENT);
    char key[PAIR_KEY_MAX];
    size_t kl = trawl__pair_key(key, "the", 3, "market", 6);
    seg_term t;
    trawl_err err;
    assert_int_equal(trawl__seg_lookup(sg, key, kl, &t, &err), 1);
    assert_true(t.df > 0);
    char key2[PAIR_KEY_MAX];
    size_t kl2 = trawl__pair_key(key2, "quillf", 6, "of", 2);
    assert_int_equal(trawl__seg_lookup(sg, key2, kl2, &t, &err), 1);
    /* frequent next to frequent: no pair term */
    kl2 = trawl__pair_key(key2, "zephyrf", 7, "quillb", 6);
    assert_int_equal(trawl__seg_lookup(sg, key2, kl2, &t, &err), 0);
    assert_true(count(with, "\"zephyrf quillb\"") > 0);
    trawl_index_release(ix);
    ix = tu_open(without);
    assert_int_equal(trawl__pairs_common(&ix->segs[0].sec[SEC_PAIRS]), 0);
    trawl_index_release(ix);
    uint64_t n_with = count(with, "\"the market\"");
    assert_true(n_with > 10);
    assert_int_equal(n_with, count(without, "\"the market\""));
    assert_same_results_of(with, without, phrase_queries,
                           sizeof(phrase_queries) / sizeof(phrase_queries[0]));

    /* Increments alternating with and without pairs, then one merge. */
    trawl_writer_opts add_only;
    memset(&add_only, 0, sizeof(add_only));
    add_only.keep_unseen = 1;
    trawl_writer_opts add_np = add_only;
    add_np.no_pairs = 1;
    for (int k = 0; k < 3; k++)
        tu_run_range(mixed, &c, (size_t)k * c.n / 3,
                     (size_t)(k + 1) * c.n / 3, NULL,
                     k == 1 ? &add_np : &add_only, NULL);
    assert_same_results_of(with, mixed, phrase_queries,
                           sizeof(phrase_queries) / sizeof(phrase_queries[0]));
    trawl_writer_opts mo = add_only;
    mo.merge = 1;
    tu_run(mixed, &c, NULL, 0, &mo, NULL);
    /* The inputs' PAIRS differ, so the merge builds the pair terms of
     * its output again, over all of its documents. */
    ix = tu_open(mixed);
    assert_int_equal(ix->nsegs, 1);
    assert_true(trawl__pairs_common(&ix->segs[0].sec[SEC_PAIRS]) > 4);
    assert_int_equal(trawl__seg_lookup(&ix->segs[0], key, kl, &t, &err), 1);
    seg_term tw;
    trawl_index *iw = tu_open(with);
    assert_int_equal(trawl__seg_lookup(&iw->segs[0], key, kl, &tw, &err), 1);
    assert_int_equal(t.df, tw.df);
    trawl_index_release(iw);
    trawl_index_release(ix);
    assert_same_results_of(with, mixed, phrase_queries,
                           sizeof(phrase_queries) / sizeof(phrase_queries[0]));
    assert_same_results(with, mixed);

    /* Random phrases of two to four words taken from the documents'
     * bodies (common, frequent and rare words mixed), some quoted for the
     * body field: the same with pairs as without, bit for bit. */
    enum { NRANDOM = 60 };
    char qbuf[NRANDOM][200];
    const char *rq[NRANDOM];
    tu_seed(99);
    for (int i = 0; i < NRANDOM; i++) {
        const char *body = c.body[tu_rnd((uint32_t)c.n)];
        const char *wv[512];
        size_t wl[512], nwv = 0;
        for (const char *p = body; *p != '\0' && nwv < 512;) {
            while (*p == ' ')
                p++;
            const char *q = p;
            while (*q != '\0' && *q != ' ')
                q++;
            if (q > p) {
                wv[nwv] = p;
                wl[nwv++] = (size_t)(q - p);
            }
            p = q;
        }
        uint32_t nw = 2 + tu_rnd(3);
        if (nwv < nw)
            nw = (uint32_t)nwv;
        size_t at = nwv > nw ? tu_rnd((uint32_t)(nwv - nw + 1)) : 0, len = 0;
        len += (size_t)snprintf(qbuf[i], sizeof(qbuf[i]), "%s\"",
                                tu_rnd(4) == 0 ? "body:" : "");
        for (uint32_t k = 0; k < nw; k++)
            len += (size_t)snprintf(qbuf[i] + len, sizeof(qbuf[i]) - len,
                                    "%s%.*s", k ? " " : "", (int)wl[at + k],
                                    wv[at + k]);
        snprintf(qbuf[i] + len, sizeof(qbuf[i]) - len, "\"");
        rq[i] = qbuf[i];
    }
    assert_same_results_of(with, without, rq, NRANDOM);

    tu_rm_rf(with);
    tu_rm_rf(without);
    tu_rm_rf(mixed);
    tu_corpus_free(&c);
}

/* The bytes of dir's first segment (in name order). */
static unsigned char *read_segment(const char *dir, size_t *len)
{
    char *path = tu_seg_path(dir);
    unsigned char *b = tu_slurp(path, len);
    free(path);
    return b;
}

/* Analysis on a second thread writes exactly what one thread writes, with
 * and without budget runs. */
static void writer_threads_write_the_same_bytes(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 1500, 150, 9);
    for (int budget = 0; budget < 2; budget++) {
        char one[64], two[64];
        tu_new_dir(one, "writer");
        tu_new_dir(two, "writer");
        trawl_writer_opts o1, o2;
        memset(&o1, 0, sizeof(o1));
        memset(&o2, 0, sizeof(o2));
        o1.threads = 1;
        o2.threads = 0;
        o1.mem_budget = o2.mem_budget = budget ? 1 << 20 : 0;
        trawl_writer_stats s1, s2;
        tu_run(one, &c, NULL, c.n, &o1, &s1);
        tu_run(two, &c, NULL, c.n, &o2, &s2);
        assert_int_equal(s1.runs, s2.runs);
        assert_int_equal(s1.tokens, s2.tokens);
        size_t n1, n2;
        unsigned char *b1 = read_segment(one, &n1);
        unsigned char *b2 = read_segment(two, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
        tu_rm_rf(one);
        tu_rm_rf(two);
    }
    tu_corpus_free(&c);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's segment files, sorted (*n of them). */
static char **segment_names(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".trs") != 0)
            continue;
        names = realloc(names, (*n + 1) * sizeof(*names));
        assert_non_null(names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof(*names), cmp_name);
    return names;
}

/* Directories a and b hold the same segment files, byte for byte. */
static void assert_same_segments(const char *a, const char *b)
{
    size_t na, nb;
    char **sa = segment_names(a, &na), **sb = segment_names(b, &nb);
    assert_int_equal(na, nb);
    assert_true(na > 0);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(sa[i], sb[i]);
        char pa[256], pb[256];
        snprintf(pa, sizeof(pa), "%s/%s", a, sa[i]);
        snprintf(pb, sizeof(pb), "%s/%s", b, sb[i]);
        size_t la, lb;
        unsigned char *ba = tu_slurp(pa, &la), *bb = tu_slurp(pb, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ba, bb, la);
        free(ba);
        free(bb);
        free(sa[i]);
        free(sb[i]);
    }
    free(sa);
    free(sb);
}

/* Runs larger than STORE_DICT_HOLD (the store's held blocks, its
 * dictionary or word code, the blocks coded after them), with the
 * analysis on a second thread: every segment is what one thread writes,
 * with zstd blocks and with the word code, in one run and in several
 * (writer_threads_write_the_same_bytes covers smaller runs, and only
 * the first segment). */
static void writer_threads_code_the_store_the_same(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 2500, 400, 11);
    for (int words = 1; words <= 2; words++) {
        for (int budget = 0; budget < 2; budget++) {
            trawl__store_words = words;
            char one[64], two[64];
            tu_new_dir(one, "writer");
            tu_new_dir(two, "writer");
            trawl_writer_opts o1, o2;
            memset(&o1, 0, sizeof(o1));
            memset(&o2, 0, sizeof(o2));
            o1.threads = 1;
            o2.threads = 0;
            o1.mem_budget = o2.mem_budget = budget ? 12 << 20 : 0;
            trawl_writer_stats s1, s2;
            tu_run(one, &c, NULL, c.n, &o1, &s1);
            tu_run(two, &c, NULL, c.n, &o2, &s2);
            trawl__store_words = 0;
            assert_int_equal(s1.runs, s2.runs);
            assert_true(budget ? s1.runs >= 2 : s1.runs == 1);
            assert_same_segments(one, two);
            tu_rm_rf(one);
            tu_rm_rf(two);
        }
    }
    tu_corpus_free(&c);
}

/* The writer removes its own leftovers and unused files, and nothing
 * else: files in the directory that only start or end like its names
 * (the corpus beside the index, anyone's notes) stay. */
static void writer_removes_only_its_own_files(void **state)
{
    (void)state;
    static const char *const own[] = {
        "CURRENT", "CURRENT.tmp", "gen-000001.man", "gen-12.man.tmp",
        "seg-000001-00.trs", "seg-000001-00.trs.tmp", "seg-7.trs"};
    static const char *const other[] = {
        "gen-ai-boom.txt", "seg-rail.md", "notes.tmp", "gen-.man",
        "seg-1-.trs", "seg-x-01.trs", "gen-1.man.bak", "CURRENT.bak",
        "seg-000001-00.trs.tmp.tmp", "LOCK"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (!trawl_writer_file_name(own[i]))
            fail_msg("%s is the writer's", own[i]);
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (trawl_writer_file_name(other[i]))
            fail_msg("%s is not the writer's", other[i]);

    tu_corpus c;
    corpus_make(&c, 40, 30, 7);
    char dir[64], path[128];
    tu_new_dir(dir, "writer");
    static const char *const foreign[] = {"gen-ai-boom.txt", "seg-rail.md",
                                          "notes.tmp", "seg-9-01.trs.bak"};
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, foreign[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("mine\n", f);
        assert_int_equal(fclose(f), 0);
    }
    /* a dead build's leftover, which the next writer removes */
    snprintf(path, sizeof(path), "%s/seg-000005-00.trs.tmp", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    /* three generations: each commit removes the files of the one
     * before that it does not use */
    tu_run_range(dir, &c, 0, 20, NULL, NULL, NULL);
    tu_run_range(dir, &c, 0, 30, NULL, NULL, NULL);
    tu_run_range(dir, &c, 10, 40, NULL, NULL, NULL);
    assert_int_equal(access(path, F_OK), -1);
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, foreign[i]);
        if (access(path, F_OK) != 0)
            fail_msg("the writer removed %s", foreign[i]);
    }
    trawl_index *ix = tu_open(dir);
    assert_int_equal(ix->live_docs, 30);
    trawl_index_release(ix);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_threads_write_the_same_bytes),
        cmocka_unit_test(writer_threads_code_the_store_the_same),
        cmocka_unit_test(writer_increments_match_one_build),
        cmocka_unit_test(writer_growing_corpus_reruns),
        cmocka_unit_test(writer_updates_and_deletes),
        cmocka_unit_test(writer_keep_unseen),
        cmocka_unit_test(writer_keep_fast_path),
        cmocka_unit_test(writer_keep_old),
        cmocka_unit_test(writer_long_documents),
        cmocka_unit_test(writer_duplicates_within_a_run),
        cmocka_unit_test(writer_duplicate_id_rerun_unchanged),
        cmocka_unit_test(writer_changed_says_when_a_commit_changes_nothing),
        cmocka_unit_test(writer_write_error_reported_by_commit),
        cmocka_unit_test(writer_budget_runs),
        cmocka_unit_test(writer_phrase_pairs),
        cmocka_unit_test(writer_removes_only_its_own_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
