/*
 * Ranking of phrases typed without quotes: the words of a query that stand
 * together, in order, in a document lift it even when they are common
 * words ("to be or not to be") or hold one ("new deal"), where BM25F alone
 * gives them next to nothing. The proximity part weighs a pair of adjacent
 * query words by the larger of their idfs, and at least 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trawl/search.h"

#define NDOCS 24
#define T_HAMLET 0 /* holds "to be or not to be" */
#define T_DEAL 1   /* holds "new deal" */

/* Padding between words: 6 words, so no two words of a query stand
 * within proximity's reach (5 positions) of each other. */
static const char *const pad[] = {"river", "stone", "cloud",
                                  "field", "grass", "light"};

/* Append the query words of the filler pattern, each followed by the six
 * padding words: "to river ... be river ... or ... not ... new ...". */
static void pattern(char **s, size_t *len, size_t *cap, int deal)
{
    static const char *const words[] = {"to", "be", "or", "not", "new"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        tu_append(s, len, cap, words[i]);
        for (size_t j = 0; j < 6; j++)
            tu_append(s, len, cap, pad[j]);
    }
    if (deal) {
        tu_append(s, len, cap, "deal");
        for (size_t j = 0; j < 6; j++)
            tu_append(s, len, cap, pad[j]);
    }
}

/* NDOCS documents: every one holds to, be, or, not and new, apart (the
 * fillers three times over); documents 2..5 also hold "deal" three times,
 * apart from "new"; T_HAMLET holds "to be or not to be" once and T_DEAL
 * "new deal" once, each with the pattern once (T_HAMLET then padding). */
static void make_corpus(tu_corpus *c)
{
    tu_corpus_init(c, NDOCS, 2);
    for (size_t i = 0; i < NDOCS; i++) {
        char *s = NULL;
        size_t len = 0, cap = 0;
        if (i == T_HAMLET) {
            const char *ph[] = {"whether", "to", "be", "or", "not",
                                "to", "be", "was", "asked"};
            for (size_t j = 0; j < sizeof(ph) / sizeof(ph[0]); j++)
                tu_append(&s, &len, &cap, ph[j]);
            pattern(&s, &len, &cap, 0);
            /* longer than a filler, which BM25F then prefers */
            for (size_t j = 0; j < 120; j++)
                tu_append(&s, &len, &cap, pad[j % 6]);
        } else if (i == T_DEAL) {
            const char *ph[] = {"the", "new", "deal", "put", "people"};
            for (size_t j = 0; j < sizeof(ph) / sizeof(ph[0]); j++)
                tu_append(&s, &len, &cap, ph[j]);
            pattern(&s, &len, &cap, 0);
        } else {
            for (int r = 0; r < 3; r++)
                pattern(&s, &len, &cap, i >= 2 && i <= 5);
        }
        c->body[i] = s;
        c->title[i] = strdup("weekly report");
        c->date[i] = 1700000000 + (int64_t)i * 86400;
    }
}

typedef struct rank_fixture {
    char dir[64];
    tu_corpus c;
    trawl_index *ix;
    trawl_searcher *s;
    trawl_arena *a;
} rank_fixture;

static int setup(void **state)
{
    rank_fixture *f = calloc(1, sizeof(*f));
    trawl_err err;
    assert_non_null(f);
    tu_new_dir(f->dir, "rank12");
    make_corpus(&f->c);
    tu_run(f->dir, &f->c, NULL, f->c.n, NULL, NULL);
    f->ix = tu_open(f->dir);
    assert_int_equal(trawl_searcher_new(&f->s, &err), 0);
    f->a = trawl_arena_new(1 << 16);
    assert_non_null(f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    rank_fixture *f = *state;
    trawl_arena_free(f->a);
    trawl_searcher_free(f->s);
    trawl_index_release(f->ix);
    tu_rm_rf(f->dir);
    tu_corpus_free(&f->c);
    free(f);
    return 0;
}

/* The id of the first hit of q (w_prox as given, the default depth). */
static const char *first(rank_fixture *f, const char *q, double w_prox,
                         trawl_results *r)
{
    trawl_query tq;
    trawl_err err;
    trawl_arena_reset(f->a);
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.snippets = 0;
    tq.w_prox = w_prox;
    assert_int_equal(trawl_search(f->s, f->ix, &tq, f->a, r, &err), 0);
    assert_true(r->nhits > 0);
    return r->hits[0].id;
}

/* Only common words, typed unquoted: the document that holds them as a
 * phrase comes first, where BM25F alone puts a filler first (their
 * words are in every document and the fillers hold them more often). */
static void common_words_phrase_first(void **state)
{
    rank_fixture *f = *state;
    trawl_results r;
    assert_string_equal(first(f, "to be or not to be", 1.0, &r),
                        f->c.id[T_HAMLET]);
    assert_int_equal(r.total, NDOCS);
    /* the lift is the pairs' (at least idf 1 each), not a rounding */
    assert_true(r.hits[0].score > 1.0);
    assert_true(r.hits[1].score < 0.5);
    assert_string_not_equal(first(f, "to be or not to be", 0.0, &r),
                            f->c.id[T_HAMLET]);
    assert_string_equal(first(f, "be or not", 1.0, &r), f->c.id[T_HAMLET]);
}

/* A common word and a rarer one: the pair weighs as the rarer word, so
 * the document holding "new deal" beats those that say "deal" three times
 * apart from "new"; without proximity it does not. */
static void common_word_pair_first(void **state)
{
    rank_fixture *f = *state;
    trawl_results r;
    assert_string_equal(first(f, "new deal", 1.0, &r), f->c.id[T_DEAL]);
    assert_int_equal(r.total, 5);
    assert_string_not_equal(first(f, "new deal", 0.0, &r), f->c.id[T_DEAL]);
    /* quoted, only that document matches */
    assert_string_equal(first(f, "\"new deal\"", 1.0, &r), f->c.id[T_DEAL]);
    assert_int_equal(r.total, 1);
    /* in the other order the words are not a phrase but still near: the
     * pair counts half (0.5 / d^2 before) and the document still leads */
    assert_string_equal(first(f, "deal new", 1.0, &r), f->c.id[T_DEAL]);
}

/* The score of document id among the hits of q (w_prox as given). */
static double score_of(rank_fixture *f, const char *q, double w_prox,
                       const char *id)
{
    trawl_results r;
    (void)first(f, q, w_prox, &r);
    for (size_t i = 0; i < r.nhits; i++)
        if (strcmp(r.hits[i].id, id) == 0)
            return r.hits[i].score;
    fail_msg("%s is not a hit of %s", id, q);
    return 0;
}

/* Words that never stand within reach of each other get no proximity
 * ("be" and "deal" are 10 or more positions apart everywhere): the scores
 * are BM25F's, with the signal on or off. Where they do ("deal" is right
 * before "river" in every document that has it), the scores rise. */
static void words_apart_score_bm25f(void **state)
{
    rank_fixture *f = *state;
    for (size_t i = T_DEAL; i <= 5; i++) {
        const char *id = f->c.id[i];
        assert_true(score_of(f, "be deal", 1.0, id) ==
                    score_of(f, "be deal", 0.0, id));
        assert_true(score_of(f, "deal river", 1.0, id) >
                    score_of(f, "deal river", 0.0, id));
    }
}

/* The scores, pruned pages included, are the oracle's (which computes the
 * same formula by brute force). */
static void matches_oracle(void **state)
{
    rank_fixture *f = *state;
    static const char *const qs[] = {
        "to be or not to be", "new deal",       "deal new",
        "be or",              "river stone",    "to be",
        "new deal river",     "\"to be\" or not", "not to be new",
        "whether to be",      "deal -new",      "be deal",
    };
    tu_check_oracle(f->dir, &f->c, NULL, qs, sizeof(qs) / sizeof(qs[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(common_words_phrase_first),
        cmocka_unit_test(common_word_pair_first),
        cmocka_unit_test(words_apart_score_bm25f),
        cmocka_unit_test(matches_oracle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
