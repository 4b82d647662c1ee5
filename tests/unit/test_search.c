/*
 * Search end to end in process: write an index with trawl_writer, open it,
 * and check ranked results against the brute-force oracle, plus paging,
 * sorting, counting, stored articles and snippets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

#include <cmocka.h>

#include "internal.h"
#include "oracle.h"
#include "query.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

static const char *vocab[] = {
    "north",  "korea",   "talks",   "sanction", "nuclear", "summit",
    "minister", "policy", "embassy", "seoul",    "trade",   "missile",
    "election", "vote",   "budget",  "court",    "ruling",  "river",
    "flood",  "storm",   "market",  "bank",     "rates",   "inflation",
    "the",    "of",      "and",     "a",        "in",      "consultations",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))


/* Zipf-ish: low indexes are more frequent. */
static const char *word(void)
{
    uint32_t a = tu_rnd(NVOCAB), b = tu_rnd(NVOCAB);
    return vocab[a < b ? a : b];
}

/* With prefix_words set, a third of the words are one of 300 that share
 * their first letters (pre000..pre299, "pre1*" covering 100 of them), so
 * that prefixes expand to wide alternatives. */
static int prefix_words;

/* With hyphen_words set, one word in four is joined to the next by a
 * hyphen ("north-korea"): the analyzer adds the compound ("northkorea")
 * at the first part's position. */
static int hyphen_words;

static char *make_text(uint32_t nwords)
{
    size_t cap = nwords * 16 + 1, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (uint32_t i = 0; i < nwords; i++) {
        if (prefix_words && tu_rnd(3) == 0)
            len += (size_t)snprintf(s + len, cap - len, "%spre%03u",
                                    i ? " " : "", tu_rnd(300));
        else
            len += (size_t)snprintf(s + len, cap - len, "%s%s",
                                    i == 0                        ? ""
                                    : hyphen_words && !tu_rnd(4) ? "-"
                                                                  : " ",
                                    word());
    }
    return s;
}

/* Long text where the key words stand at gaps of one of three sizes
 * (per text): a few positions, hundreds, or tens of thousands, so that
 * their position deltas take one, two and three varint bytes; "north" is
 * often followed by "korea". The rest are the common words. */
static const char *keys[] = {"north", "korea", "talks", "summit"};
static int long_docs;

static char *make_long_text(uint32_t nwords)
{
    static const uint32_t gap[] = {6, 400, 12000};
    uint32_t g = gap[tu_rnd(3)];
    size_t cap = nwords * 16 + 1, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (uint32_t i = 0; i < nwords; i++) {
        const char *w = vocab[24 + tu_rnd(5)];
        if (tu_rnd(g) == 0) {
            w = keys[tu_rnd(4)];
            if (w == keys[0] && tu_rnd(2) == 0 && i + 1 < nwords) {
                len += (size_t)snprintf(s + len, cap - len, "%snorth",
                                        i ? " " : "");
                w = keys[1];
                i++;
            }
        }
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? " " : "", w);
    }
    return s;
}

typedef struct fixture {
    char dir[64];
    size_t ndocs;
    char **titles, **bodies;
    trawl_index *ix;
    trawl_analyzer *an;
    oracle *o;
} fixture;

static void build(fixture *f, size_t ndocs, uint64_t seed)
{
    trawl_err err;
    memset(f, 0, sizeof(*f));
    tu_new_dir(f->dir, "test");
    tu_seed(seed);
    f->ndocs = ndocs;
    f->titles = calloc(ndocs, sizeof(char *));
    f->bodies = calloc(ndocs, sizeof(char *));
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, f->dir, NULL, &err), 0);
    assert_int_equal(trawl_analyzer_new(&f->an, "english", &err), 0);
    f->o = oracle_new(f->an);
    for (size_t i = 0; i < ndocs; i++) {
        f->titles[i] = make_text(2 + tu_rnd(5));
        /* some long documents reach past the 65,504 positions that
         * proximity counts in a bitmap (beyond, it merges the lists) */
        f->bodies[i] =
            long_docs ? make_long_text(i % 6 == 5 ? 60000 + tu_rnd(20000)
                                                  : 16000 + tu_rnd(16000))
                      : make_text(tu_rnd(7) == 0 ? 300 + tu_rnd(400)
                                                 : 5 + tu_rnd(60));
        char id[32];
        snprintf(id, sizeof(id), "doc-%05zu", i);
        int64_t date = tu_rnd(10) == 0
                           ? TRAWL_NO_DATE
                           : 1700000000 + (int64_t)tu_rnd(1000) * 86400;
        tu_add(w, id, f->titles[i], f->bodies[i], NULL, date);
        oracle_add(f->o, f->titles[i], f->bodies[i], date);
    }
    trawl_writer_stats st;
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    assert_int_equal(st.docs, ndocs);
    assert_int_equal(st.added, ndocs);
    trawl_writer_free(w);
    assert_int_equal(trawl_index_open(&f->ix, f->dir, &err), 0);
}

static void teardown_fixture(fixture *f)
{
    trawl_index_release(f->ix);
    oracle_free(f->o);
    trawl_analyzer_free(f->an);
    for (size_t i = 0; i < f->ndocs; i++) {
        free(f->titles[i]);
        free(f->bodies[i]);
    }
    free(f->titles);
    free(f->bodies);
    tu_rm_rf(f->dir);
}

/* Compare trawl_search (all hits) with the oracle for query text q. */
static double w_prox = 1.0;
static uint32_t prox_depth = TRAWL_PROX_DEPTH;

static void check_query(fixture *f, trawl_searcher *s, const char *q,
                        double k1, double b, double wt, double wb)
{
    trawl_arena *a = trawl_arena_new(1 << 16);
    trawl_err err;
    qnode *root;
    int prc = trawl__query_parse(&root, f->an, q, strlen(q), a, &err);
    trawl_query tq;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.limit = TRAWL_MAX_LIMIT;
    tq.k1 = k1;
    tq.b = b;
    tq.w_title = wt;
    tq.w_body = wb;
    tq.w_prox = w_prox;
    tq.prox_depth = prox_depth;
    tq.snippets = 0;
    tq.explain = 1;
    trawl_results r;
    int rc = trawl_search(s, f->ix, &tq, a, &r, &err);
    if (prc != 0) {
        assert_int_equal(rc, TRAWL_EQUERY);
        trawl_arena_free(a);
        return;
    }
    if (rc != 0)
        fail_msg("query [%s]: %s", q, err.msg);
    size_t n;
    oracle_hit *want = oracle_search(f->o, root, k1, b, wt, wb, w_prox,
                                     prox_depth, &n);
    if (r.total != n)
        fail_msg("query [%s] (%s): total %llu, oracle %zu", q, r.parsed,
                 (unsigned long long)r.total, n);
    size_t m = n < TRAWL_MAX_LIMIT ? n : TRAWL_MAX_LIMIT;
    assert_int_equal(r.nhits, m);
    for (size_t i = 0; i < m; i++) {
        char id[32];
        snprintf(id, sizeof(id), "doc-%05zu", want[i].doc);
        double d = fabs(r.hits[i].score - want[i].score);
        if (d > 1e-9 * (1 + want[i].score) || strcmp(r.hits[i].id, id) != 0)
            fail_msg("query [%s] rank %zu: got %s %.12f, oracle %s %.12f", q,
                     i, r.hits[i].id, r.hits[i].score, id, want[i].score);
    }
    /* A short page (pruning kicks in once the heap is full) must equal
     * the head of the full ranking. */
    tq.limit = 3;
    tq.explain = 0;
    trawl_results top;
    assert_int_equal(trawl_search(s, f->ix, &tq, a, &top, &err), 0);
    assert_int_equal(top.nhits, n < 3 ? n : 3);
    /* the parsed query is rendered when asked for, and only then */
    assert_non_null(r.parsed);
    assert_null(top.parsed);
    for (size_t i = 0; i < top.nhits; i++)
        if (strcmp(top.hits[i].id, r.hits[i].id) != 0 ||
            top.hits[i].score != r.hits[i].score)
            fail_msg("query [%s] top-3 rank %zu differs from full ranking", q,
                     i);
    /* A pruned total is a lower bound, and says so; asking for the exact
     * count gives the oracle's. */
    if (top.total_exact)
        assert_int_equal(top.total, n);
    else
        assert_true(top.total <= n);
    tq.exact_total = 1;
    trawl_results ex;
    assert_int_equal(trawl_search(s, f->ix, &tq, a, &ex, &err), 0);
    assert_true(ex.total_exact);
    assert_int_equal(ex.total, n);
    for (size_t i = 0; i < ex.nhits; i++)
        assert_string_equal(ex.hits[i].id, top.hits[i].id);
    uint64_t count;
    assert_int_equal(trawl_count(s, f->ix, q, strlen(q), a, &count, &err), 0);
    assert_int_equal(count, n);
    free(want);
    trawl_arena_free(a);
}

static void search_matches_oracle_random(void **state)
{
    (void)state;
    fixture f;
    build(&f, 700, 42);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static const char *fixed[] = {
        "north", "north korea", "\"north korea\"", "korea OR seoul",
        "north -korea", "north NOT korea", "title:korea", "title:\"north korea\"",
        "(talks OR summit) korea", "\"the market\" OR flood",
        "korea -\"north korea\"", "title:korea body:seoul", "consultations",
        "consulting", "sanctions", "the", "the of and", "\"of the\"",
        "korea AND north", "-(flood OR storm) court",
        "kor*", "ma* -korea", "title:ma*", "\"north korea\"~2",
        "\"talks korea\"~5 OR summit", "\"korea north\"~1",
        "korea date:2023-11-14..2024-06-30", "date:2024", "after:2025-06-01 talks",
        "before:2024-01-01 -korea", "nothingmatches*", "date:..2024-02",
        "(kor* OR \"market bank\"~3) -date:2024",
        "north OR korea OR talks OR the", "the OR of OR market OR flood",
        "title:korea OR summit OR body:vote", "r*", "s* OR m*",
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_query(&f, s, fixed[i], 1.2, 0.75, 2.0, 1.0);
    /* Random queries over the vocabulary and operators. */
    for (int i = 0; i < 300; i++) {
        char q[256];
        size_t len = 0;
        int nw = 1 + (int)tu_rnd(4);
        for (int k = 0; k < nw; k++) {
            const char *op = "";
            switch (tu_rnd(8)) {
            case 0: op = "-"; break;
            case 1: op = "title:"; break;
            case 2: op = k ? "OR " : ""; break;
            default: break;
            }
            uint32_t kind = tu_rnd(10);
            if (kind == 0)
                len += (size_t)snprintf(q + len, sizeof(q) - len,
                                        "%s%s\"%s %s\"", k ? " " : "", op,
                                        word(), word());
            else if (kind == 1)
                len += (size_t)snprintf(q + len, sizeof(q) - len,
                                        "%s%s\"%s %s %s\"~%u", k ? " " : "",
                                        op, word(), word(), word(), tu_rnd(6));
            else if (kind == 2)
                len += (size_t)snprintf(q + len, sizeof(q) - len,
                                        "%s%s%.2s*", k ? " " : "", op, word());
            else if (kind == 3)
                len += (size_t)snprintf(q + len, sizeof(q) - len,
                                        "%s%sdate:%u..%u", k ? " " : "",
                                        op[0] == '-' ? "-" : "",
                                        2023 + tu_rnd(2), 2024 + tu_rnd(3));
            else
                len += (size_t)snprintf(q + len, sizeof(q) - len, "%s%s%s",
                                        k ? " " : "", op, word());
        }
        check_query(&f, s, q, 1.2, 0.75, 2.0, 1.0);
    }
    /* Other parameters. */
    check_query(&f, s, "north korea", 0.5, 0.3, 1.0, 1.0);
    check_query(&f, s, "north korea", 2.0, 1.0, 5.0, 0.5);
    check_query(&f, s, "korea OR talks", 1.2, 0.0, 0.0, 1.0);
    /* Proximity off and strong, over every match (depth 0), over a
     * depth shorter than the short page, and over the default depth. */
    static const uint32_t depths[] = {0, 2, TRAWL_PROX_DEPTH};
    for (int k = 0; k < 2; k++) {
        for (size_t j = 0; j < sizeof(depths) / sizeof(depths[0]); j++) {
            w_prox = k == 0 ? 0.0 : 4.0;
            prox_depth = depths[j];
            check_query(&f, s, "north korea", 1.2, 0.75, 2.0, 1.0);
            check_query(&f, s, "the market bank rates", 1.2, 0.75, 2.0, 1.0);
            check_query(&f, s, "korea north talks -flood", 1.2, 0.75, 2.0,
                        1.0);
            check_query(&f, s, "north kor* korea", 1.2, 0.75, 2.0, 1.0);
            check_query(&f, s, "the of and", 1.2, 0.75, 2.0, 1.0);
        }
    }
    /* Every fixed query once more with proximity over every match. */
    w_prox = 1.0;
    prox_depth = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_query(&f, s, fixed[i], 1.2, 0.75, 2.0, 1.0);
    prox_depth = TRAWL_PROX_DEPTH;
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/* Long articles whose words' position deltas take one, two and three
 * bytes: phrases and proximity, which decode and step over positions in
 * bulk, still rank as the oracle does. */
static void search_matches_oracle_long_documents(void **state)
{
    (void)state;
    fixture f;
    long_docs = 1;
    build(&f, 24, 7);
    long_docs = 0;
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static const char *qs[] = {
        "north korea", "korea north", "\"north korea\"", "\"korea north\"",
        "north talks summit", "\"the north\"", "\"north korea the\"",
        "\"of north korea\"", "\"korea talks\"~3", "summit the",
        "talks OR summit", "\"a the of\"", "north -talks",
    };
    static const uint32_t depths[] = {0, 2, TRAWL_PROX_DEPTH};
    for (size_t j = 0; j < sizeof(depths) / sizeof(depths[0]); j++) {
        prox_depth = depths[j];
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
            check_query(&f, s, qs[i], 1.2, 0.75, 2.0, 1.0);
    }
    prox_depth = TRAWL_PROX_DEPTH;
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/* Hyphenated words: a compound stands at its first part's position
 * (phrases, proximity and pair terms see it there), a field's length
 * counts positions, and a hyphenated query word is its compound or the
 * phrase of its parts: ranked, counted and paged as the oracle does. */
static void search_matches_oracle_hyphens(void **state)
{
    (void)state;
    fixture f;
    hyphen_words = 1;
    build(&f, 500, 23);
    hyphen_words = 0;
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static const char *qs[] = {
        "north-korea", "northkorea", "\"north korea\"", "north korea",
        "the-market", "themarket rates", "\"the market\"",
        "\"talks northkorea\"", "\"northkorea talks\"",
        "\"talks north-korea summit\"", "title:north-korea",
        "north-korea-talks", "-north-korea korea", "north-korea OR seoul",
        "\"north-korea\"~2", "\"northkorea the\"~3", "nor*",
        "the-of", "a-the", "of the", "\"of the\" a-and",
    };
    static const uint32_t depths[] = {0, TRAWL_PROX_DEPTH};
    for (size_t j = 0; j < sizeof(depths) / sizeof(depths[0]); j++) {
        prox_depth = depths[j];
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
            check_query(&f, s, qs[i], 1.2, 0.75, 2.0, 1.0);
    }
    /* random two- and three-word chains, alone and with words */
    for (int i = 0; i < 150; i++) {
        char q[256];
        const char *w1 = word(), *w2 = word(), *w3 = word();
        switch (tu_rnd(4)) {
        case 0:
            snprintf(q, sizeof(q), "%s-%s", w1, w2);
            break;
        case 1:
            snprintf(q, sizeof(q), "%s-%s-%s", w1, w2, w3);
            break;
        case 2:
            snprintf(q, sizeof(q), "%s-%s %s", w1, w2, w3);
            break;
        default:
            snprintf(q, sizeof(q), "\"%s %s-%s\"", w1, w2, w3);
            break;
        }
        check_query(&f, s, q, 1.2, 0.75, 2.0, 1.0);
    }
    prox_depth = TRAWL_PROX_DEPTH;
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/* Prefixes that expand to hundreds of words (evaluated word at a time
 * into a bitmap and scores) rank, count and page as the oracle does,
 * alone, in conjunctions, alternatives, exclusions and fields. */
static void search_matches_oracle_wide_prefixes(void **state)
{
    (void)state;
    fixture f;
    prefix_words = 1;
    build(&f, 400, 11);
    prefix_words = 0;
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static const char *qs[] = {
        "pre*", "pre1*", "pre* north", "north pre2*", "pre1* pre2*",
        "pre1* OR korea", "pre1* OR pre2* OR talks", "north -pre1*",
        "title:pre*", "title:pre1* body:pre2*", "(pre1* OR seoul) korea",
        "\"north korea\" pre0*", "pre1* date:2024", "pre* -korea -north",
        "north korea pre1*",
    };
    static const uint32_t depths[] = {0, TRAWL_PROX_DEPTH};
    /* Wide alternatives materialized, not at all (a query's budget for
     * them spent), and the first of a query only (room for one: its bits,
     * scores and the segment's norms, about 25 bytes per document): the
     * same rankings. */
    size_t budget = trawl__search_mat_budget;
    const size_t budgets[] = {budget, 0, 400 * 26};
    for (size_t bi = 0; bi < sizeof(budgets) / sizeof(budgets[0]); bi++) {
        trawl__search_mat_budget = budgets[bi];
        for (size_t j = 0; j < sizeof(depths) / sizeof(depths[0]); j++) {
            prox_depth = depths[j];
            for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
                check_query(&f, s, qs[i], 1.2, 0.75, 2.0, 1.0);
        }
    }
    trawl__search_mat_budget = budget;
    prox_depth = TRAWL_PROX_DEPTH;
    check_query(&f, s, "pre1* north", 0.5, 0.3, 1.0, 1.0);
    check_query(&f, s, "pre1* OR north", 2.0, 1.0, 5.0, 0.5);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/* Pruned pages (block-max, MaxScore, the plain-word loop, proximity's
 * second phase) equal the exhaustive ranking cut at the same place, also
 * with parameters that make many scores tie up to rounding (k1 = 0: every
 * document of a word scores its idf, give or take an ulp). */
static void search_pruned_pages_match_exhaustive(void **state)
{
    (void)state;
    fixture f;
    build(&f, 600, 21);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *a = trawl_arena_new(1 << 16);
    static const char *qs[] = {"korea", "north korea", "the market bank",
                               "korea OR talks OR flood", "\"the market\"",
                               "north -flood",
                               /* pruned with filters that score nothing */
                               "korea date:2024", "north korea date:2024..2025",
                               "\"the market\" after:2024-06-01",
                               "the market bank before:2025-01-01",
                               "north -flood date:2025"};
    static const double k1s[] = {0.0, 0.0, 1.2, 3.0};
    static const double bs[] = {0.75, 0.0, 0.0, 1.0};
    for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++)
        for (size_t pi = 0; pi < sizeof(k1s) / sizeof(k1s[0]); pi++) {
            trawl_query q;
            trawl_query_init(&q);
            q.q = qs[qi];
            q.qlen = strlen(q.q);
            q.k1 = k1s[pi];
            q.b = bs[pi];
            q.snippets = 0;
            q.limit = 60;
            q.exact_total = 1; /* no pruning */
            trawl_results all;
            trawl_arena_reset(a);
            assert_int_equal(trawl_search(s, f.ix, &q, a, &all, &err), 0);
            q.exact_total = 0;
            static const uint32_t lims[] = {1, 3, 7};
            for (size_t li = 0; li < 3; li++)
                for (uint32_t off = 0; off + lims[li] <= 21; off += lims[li]) {
                    trawl_results page;
                    q.limit = lims[li];
                    q.offset = off;
                    assert_int_equal(trawl_search(s, f.ix, &q, a, &page, &err),
                                     0);
                    size_t want = all.nhits > off ? all.nhits - off : 0;
                    if (want > lims[li])
                        want = lims[li];
                    if (page.nhits != want)
                        fail_msg("'%s' k1 %g b %g: %zu hits at offset %u, "
                                 "want %zu", qs[qi], q.k1, q.b, page.nhits,
                                 off, want);
                    for (size_t i = 0; i < page.nhits; i++)
                        if (strcmp(page.hits[i].id, all.hits[off + i].id) != 0 ||
                            page.hits[i].score != all.hits[off + i].score)
                            fail_msg("'%s' k1 %g b %g limit %u offset %u hit "
                                     "%zu: %s %.17g, exhaustive %s %.17g",
                                     qs[qi], q.k1, q.b, lims[li], off, i,
                                     page.hits[i].id, page.hits[i].score,
                                     all.hits[off + i].id,
                                     all.hits[off + i].score);
                }
        }
    trawl_arena_free(a);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

static void search_pages_and_sorts(void **state)
{
    (void)state;
    fixture f;
    build(&f, 300, 7);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *a = trawl_arena_new(1 << 16);
    trawl_query q;
    trawl_query_init(&q);
    q.q = "korea";
    q.qlen = 5;
    q.limit = 100;
    q.exact_total = 1; /* pages are compared by their totals too */
    trawl_results all;
    assert_int_equal(trawl_search(s, f.ix, &q, a, &all, &err), 0);
    assert_true(all.total > 30);
    /* Pages of 7 concatenate to the same ranking. */
    for (uint32_t off = 0; off < 28; off += 7) {
        trawl_results page;
        q.limit = 7;
        q.offset = off;
        assert_int_equal(trawl_search(s, f.ix, &q, a, &page, &err), 0);
        assert_int_equal(page.total, all.total);
        assert_int_equal(page.nhits, 7);
        for (size_t i = 0; i < 7; i++)
            assert_string_equal(page.hits[i].id, all.hits[off + i].id);
    }
    /* Offset past the end: no hits, same total. */
    q.offset = 5000;
    trawl_results none;
    assert_int_equal(trawl_search(s, f.ix, &q, a, &none, &err), 0);
    assert_int_equal(none.nhits, 0);
    assert_int_equal(none.total, all.total);
    /* Date sorts. */
    q.offset = 0;
    q.limit = 50;
    q.sort = TRAWL_SORT_DATE;
    trawl_results bydate;
    assert_int_equal(trawl_search(s, f.ix, &q, a, &bydate, &err), 0);
    for (size_t i = 1; i < bydate.nhits; i++)
        assert_true(bydate.hits[i - 1].date >= bydate.hits[i].date);
    q.sort = TRAWL_SORT_DATE_ASC;
    assert_int_equal(trawl_search(s, f.ix, &q, a, &bydate, &err), 0);
    for (size_t i = 1; i < bydate.nhits; i++)
        assert_true(bydate.hits[i - 1].date <= bydate.hits[i].date);
    /* Bad options. */
    q.limit = TRAWL_MAX_LIMIT + 1;
    assert_int_equal(trawl_search(s, f.ix, &q, a, &bydate, &err), TRAWL_EINVAL);
    trawl_arena_free(a);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

static void search_reports_query_errors(void **state)
{
    (void)state;
    fixture f;
    build(&f, 20, 3);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *a = trawl_arena_new(1 << 16);
    static const struct {
        const char *q;
        const char *msg;
    } bad[] = {
        {"(north korea", "column 1: '(' is never closed"},
        {"north \"korea", "column 7: unterminated quote"},
        {"north )", "column 7: unexpected ')'"},
        {"-north", "only of excluded"},
        {"", "empty query"},
        {"   !!! ", "empty query"},
        {"OR north", "OR needs a term"},
        {"north OR", "OR needs a term"},
        {"writer:smith", "unknown field"},
        {"korea date:2025-13-01", "column 7: bad date"},
        {"date:2025-02-30", "bad date"},
        {"date:2025..2024", "empty date range"},
        {"\"north korea\"~x", "column 14: '~'"},
        {"*", "empty query"},
        {"north \"ab cd\"~1001", "'~'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        trawl_query q;
        trawl_results r;
        trawl_query_init(&q);
        q.q = bad[i].q;
        q.qlen = strlen(bad[i].q);
        int rc = trawl_search(s, f.ix, &q, a, &r, &err);
        if (rc != TRAWL_EQUERY || strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("[%s]: rc %d msg '%s', want '%s'", bad[i].q, rc,
                     err.msg, bad[i].msg);
    }
    trawl_arena_free(a);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/* A pasted paragraph is a query: up to 256 words (64 of them phrases or
 * prefixes), ranked as the oracle ranks it; a run of words copied from
 * an article finds that article first; one word or phrase more is a
 * clear error. */
static void search_long_queries(void **state)
{
    (void)state;
    fixture f;
    build(&f, 300, 31);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static char q[8192];
    for (int r = 0; r < 12; r++) {
        size_t o = 0;
        int n = 65 + (int)tu_rnd(192);
        for (int k = 0; k < n; k++)
            o += (size_t)snprintf(q + o, sizeof(q) - o, "%s%s",
                                  k == 0       ? ""
                                  : r % 3 == 2 && k % 7 == 0 ? " title:"
                                                              : " ",
                                  word());
        if (r % 3 == 1) /* an alternative of many words */
            for (size_t i = 0; i + 1 < o; i++)
                if (q[i] == ' ' && tu_rnd(2) == 0) {
                    memmove(q + i + 3, q + i, o - i + 1);
                    memcpy(q + i, " OR", 3);
                    o += 3;
                    i += 4;
                }
        check_query(&f, s, q, 1.2, 0.75, 2.0, 1.0);
    }
    /* 150 words of a long article, pasted */
    size_t best = 0, words = 0;
    for (size_t i = 0; i < f.ndocs; i++) {
        size_t w = 1;
        for (const char *p = f.bodies[i]; *p; p++)
            w += *p == ' ' || *p == '-';
        if (w > words) {
            words = w;
            best = i;
        }
    }
    assert_true(words > 160);
    size_t o = 0, w = 0;
    for (const char *p = f.bodies[best]; *p && w < 150; p++) {
        w += *p == ' ';
        q[o++] = *p;
    }
    q[o] = '\0';
    check_query(&f, s, q, 1.2, 0.75, 2.0, 1.0);
    trawl_arena *a = trawl_arena_new(1 << 16);
    trawl_query tq;
    trawl_results res;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = o;
    assert_int_equal(trawl_search(s, f.ix, &tq, a, &res, &err), 0);
    assert_true(res.nhits >= 1);
    char id[32];
    snprintf(id, sizeof(id), "doc-%05zu", best);
    assert_string_equal(res.hits[0].id, id);
    /* the limits: 257 words; 65 phrases (words of letters: "w12"
     * would be the phrase "w 12" or the term w12) */
    o = 0;
    for (int k = 0; k < 257; k++)
        o += (size_t)snprintf(q + o, sizeof(q) - o, "%sw%c%c", k ? " " : "",
                              'a' + k % 26, 'a' + k / 26);
    tq.q = q;
    tq.qlen = o;
    assert_int_equal(trawl_search(s, f.ix, &tq, a, &res, &err), TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "too many terms (at most 256)"));
    o = 0;
    for (int k = 0; k < 65; k++)
        o += (size_t)snprintf(q + o, sizeof(q) - o, "%s\"a w%c%c\"",
                              k ? " " : "", 'a' + k % 26, 'a' + k / 26);
    tq.qlen = o;
    assert_int_equal(trawl_search(s, f.ix, &tq, a, &res, &err), TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "too many phrases and prefixes"));
    trawl_arena_free(a);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

static void index_stores_and_replaces_articles(void **state)
{
    (void)state;
    char dir[64];
    tu_new_dir(dir, "test");
    trawl_err err;
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    trawl_article a;
    memset(&a, 0, sizeof(a));
    a.id = "x/1";
    a.id_len = 3;
    a.title = "Caf\xc3\xa9 owners";
    a.title_len = strlen(a.title);
    a.body = "first version about bread";
    a.body_len = strlen(a.body);
    a.author = "A. Writer";
    a.author_len = strlen(a.author);
    a.date = 86400 * 365;
    assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    a.body = "second version about cheese";
    a.body_len = strlen(a.body);
    assert_int_equal(trawl_writer_add(w, &a, &err), 0); /* same id: replace */
    trawl_writer_stats st;
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    assert_int_equal(st.docs, 1);
    trawl_writer_free(w);

    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    trawl_arena *ar = trawl_arena_new(4096);
    trawl_stored sd;
    assert_int_equal(trawl_index_get(ix, "x/1", 3, ar, &sd, &err), 0);
    assert_string_equal(sd.body, "second version about cheese");
    assert_string_equal(sd.title, "Caf\xc3\xa9 owners");
    assert_string_equal(sd.author, "A. Writer");
    assert_null(sd.url);
    assert_int_equal(sd.date, 86400 * 365);
    assert_int_equal(trawl_index_get(ix, "x/2", 3, ar, &sd, &err),
                     TRAWL_ENOTFOUND);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    uint64_t n;
    assert_int_equal(trawl_count(s, ix, "bread", 5, ar, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(trawl_count(s, ix, "cheese", 6, ar, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(trawl_count(s, ix, "cafe", 4, ar, &n, &err), 0);
    assert_int_equal(n, 1);
    trawl_index_info info;
    trawl_index_info_get(ix, &info);
    assert_int_equal(info.docs, 1);
    assert_int_equal(info.generation, 1);
    assert_string_equal(info.language, "english");
    trawl_searcher_free(s);
    trawl_arena_free(ar);
    trawl_index_release(ix);

    /* A second run over the same article: unchanged; then a new one. */
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    assert_int_equal(st.unchanged, 1);
    assert_int_equal(st.added, 0);
    assert_int_equal(st.generation, 2);
    trawl_writer_free(w);
    tu_rm_rf(dir);
}

static void snippet_highlights_matches(void **state)
{
    (void)state;
    char dir[64];
    tu_new_dir(dir, "test");
    trawl_err err;
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    const char *body =
        "Officials met in Seoul.\n\nThe charg\xc3\xa9 d\xe2\x80\x99"
        "affaires said North Korea would join the talks, while the "
        "consultations on north policy and korea trade went on. "
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text here.";
    tu_add(w, "s", "T", body, NULL, TRAWL_NO_DATE);
    assert_int_equal(trawl_writer_commit(w, NULL, &err), 0);
    trawl_writer_free(w);
    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(4096);
    static const struct {
        const char *q;
        const char *want[4];
    } cases[] = {
        {"\"north korea\"", {"North Korea", NULL}},
        {"charge d'affaires", {"charg\xc3\xa9", "d\xe2\x80\x99" "affaires", NULL}},
        {"consulting", {"consultations", NULL}},
        {"\xe6\x97\xa5\xe6\x9c\xac", {"\xe6\x97\xa5\xe6\x9c\xac", NULL}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        trawl_query q;
        trawl_results r;
        trawl_query_init(&q);
        q.q = cases[c].q;
        q.qlen = strlen(q.q);
        q.snippet_len = 400;
        assert_int_equal(trawl_search(s, ix, &q, ar, &r, &err), 0);
        assert_int_equal(r.nhits, 1);
        const trawl_hit *h = &r.hits[0];
        assert_non_null(h->snippet);
        assert_null(strchr(h->snippet, '\n'));
        size_t k = 0;
        while (cases[c].want[k] != NULL)
            k++;
        if (h->nranges != k)
            fail_msg("[%s]: %zu ranges, want %zu in '%s'", q.q, h->nranges,
                     k, h->snippet);
        for (size_t i = 0; i < k; i++) {
            const trawl_range *rg = &h->ranges[i];
            assert_true(rg->end <= h->snippet_len);
            size_t n = rg->end - rg->start;
            if (n != strlen(cases[c].want[i]) ||
                memcmp(h->snippet + rg->start, cases[c].want[i], n) != 0)
                fail_msg("[%s] range %zu: '%.*s'", q.q, i, (int)n,
                         h->snippet + rg->start);
        }
    }
    /* A phrase highlights only where its words stand together. */
    trawl_query q;
    trawl_results r;
    trawl_query_init(&q);
    q.q = "\"north policy\"";
    q.qlen = strlen(q.q);
    q.snippet_len = 400;
    assert_int_equal(trawl_search(s, ix, &q, ar, &r, &err), 0);
    assert_int_equal(r.hits[0].nranges, 1);
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    tu_rm_rf(dir);
}

/* A prefix that expands to hundreds of terms ranks like an OR of them;
 * past the cap it is a clear query error. */
static void search_wide_prefix(void **state)
{
    (void)state;
    char dir[64];
    tu_new_dir(dir, "test");
    trawl_err err;
    trawl_writer *w;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    for (int i = 0; i < 1100; i++) {
        char id[16], body[64];
        snprintf(id, sizeof(id), "w%d", i);
        /* Distinct words qx + three letters; stems keep them distinct. */
        snprintf(body, sizeof(body), "qx%c%c%c and more text", 'a' + i / 676,
                 'a' + i / 26 % 26, 'a' + i % 26);
        tu_add(w, id, "t", body, NULL, TRAWL_NO_DATE);
    }
    assert_int_equal(trawl_writer_commit(w, NULL, &err), 0);
    trawl_writer_free(w);
    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    trawl_query q;
    trawl_results r;
    trawl_query_init(&q);
    q.q = "qxa*"; /* 676 terms */
    q.qlen = strlen(q.q);
    q.exact_total = 1;
    assert_int_equal(trawl_search(s, ix, &q, ar, &r, &err), 0);
    assert_int_equal(r.total, 676);
    assert_int_equal(r.nhits, 10);
    assert_non_null(r.hits[0].snippet);
    q.q = "qx* text";
    q.qlen = strlen(q.q);
    assert_int_equal(trawl_search(s, ix, &q, ar, &r, &err), TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "more than 1024 terms"));
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    tu_rm_rf(dir);
}

/* Hostile query strings: any mix of operators, quotes, fields, dates and
 * raw bytes gives a result or a clear query error, never a crash (this
 * runs under ASan/UBSan in CI). */
static void search_survives_garbage_queries(void **state)
{
    (void)state;
    fixture f;
    build(&f, 60, 17);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *a = trawl_arena_new(1 << 16);
    static const char *const bits[] = {
        "(", ")", "\"", "-", "*", ":", "~", "~3", " OR ", " AND ", "NOT ",
        "title:", "body:", "date:", "after:", "before:", "2024", "2024-02",
        "2024-02-30", "..", "korea", "north", "ma", "the", " ", "  ", "\xff",
        "\xc3", "\xe2\x80\x99", "\xe6\x97\xa5", "author:", "\\", "'",
        "1,000", "3.5", "\x00",
    };
    size_t nb = sizeof(bits) / sizeof(bits[0]);
    for (int t = 0; t < 20000; t++) {
        char q[256];
        size_t len = 0;
        int parts = 1 + (int)tu_rnd(12);
        for (int k = 0; k < parts; k++) {
            const char *b = bits[tu_rnd((uint32_t)nb)];
            size_t bl = b[0] == '\0' ? 1 : strlen(b);
            if (len + bl >= sizeof(q))
                break;
            memcpy(q + len, b, bl);
            len += bl;
        }
        trawl_query tq;
        trawl_results r;
        trawl_query_init(&tq);
        tq.q = q;
        tq.qlen = len;
        tq.limit = 3;
        int rc = trawl_search(s, f.ix, &tq, a, &r, &err);
        if (rc != 0 && rc != TRAWL_EQUERY)
            fail_msg("query of %zu bytes: rc %d (%s)", len, rc, err.msg);
        if (rc == TRAWL_EQUERY)
            assert_true(err.msg[0] != '\0');
        trawl_arena_reset(a);
    }
    trawl_arena_free(a);
    trawl_searcher_free(s);
    teardown_fixture(&f);
}

/*
 * A searcher keeps recent dictionary lookups (its term cache). One
 * searcher used on index after index (each built with the same segment
 * file names, each opened where the last one may have been in memory)
 * answers every query from the index it is given, as the oracle does;
 * and thousands of distinct words sharing its slots (absent ones cached
 * as absent, some too long to be kept) leave its answers right.
 */
static void search_term_cache_follows_the_index(void **state)
{
    (void)state;
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    static const char *qs[] = {"north", "korea talks", "north korea",
                               "summit OR flood", "\"north korea\"",
                               "storm -river", "the market", "kor*"};
    for (int round = 0; round < 4; round++) {
        fixture f;
        build(&f, 150 + 120 * (size_t)round, 1000 + (uint64_t)round);
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
            check_query(&f, s, qs[i], 1.2, 0.75, 2.0, 1.0);
        if (round == 1) {
            for (int i = 0; i < 3000; i++) {
                char q[96];
                snprintf(q, sizeof(q), "%s zq%dx%s", vocab[i % NVOCAB], i,
                         i % 7 ? "" : "withalongtailpastthecacheslength");
                check_query(&f, s, q, 1.2, 0.75, 2.0, 1.0);
                if (i % 100 == 0)
                    check_query(&f, s, vocab[i % NVOCAB], 1.2, 0.75, 2.0,
                                1.0);
            }
            for (size_t i = 0; i < NVOCAB; i++)
                check_query(&f, s, vocab[i], 1.2, 0.75, 2.0, 1.0);
        }
        teardown_fixture(&f);
    }
    trawl_searcher_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(search_matches_oracle_random),
        cmocka_unit_test(search_matches_oracle_long_documents),
        cmocka_unit_test(search_matches_oracle_wide_prefixes),
        cmocka_unit_test(search_matches_oracle_hyphens),
        cmocka_unit_test(search_long_queries),
        cmocka_unit_test(search_pruned_pages_match_exhaustive),
        cmocka_unit_test(search_pages_and_sorts),
        cmocka_unit_test(search_reports_query_errors),
        cmocka_unit_test(index_stores_and_replaces_articles),
        cmocka_unit_test(snippet_highlights_matches),
        cmocka_unit_test(search_wide_prefix),
        cmocka_unit_test(search_survives_garbage_queries),
        cmocka_unit_test(search_term_cache_follows_the_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
