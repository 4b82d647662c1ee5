/*
 * Proximity read from the index (search.c pair_acc_at): a word much
 * rarer than the other in a document has its positions decoded and the
 * other's are read near them only (pos_near: runs of one- and two-byte
 * deltas stepped over sixteen bytes at a time, the walk stopped past the
 * rarer word's last position); two frequent words go through the bitmap,
 * the rarer one marked and the other read up to the last mark's reach.
 * Every way must add the same proximity as the oracle's brute force.
 *
 * Long documents where a frequent word ("market") stands at gaps of one,
 * two and three varint bytes, rare words ("north", "korea", ...) often
 * within a few positions of it on either side (at every distance in and
 * just out of reach), dense filler words, and a few documents past the
 * bitmap's 65,504 positions; every query's full ranking and pages,
 * proximity on the default 30 best matches and on all of them, against
 * the oracle. The searcher's counters must show that each way was taken
 * (else nothing was tested).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "internal.h"
#include "oracle.h"
#include "query.h"
#include "testutil.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

#define NDOCS 48

static const char *const pad[] = {"river", "stone", "cloud",
                                  "field", "grass", "light"};
static const char *const keys[] = {"north", "korea", "summit", "talks"};

/* A body of n words: "market" once in about dm words (gaps of one, two
 * or three varint bytes), the keys once in about dk words, half of them
 * placed within 0..6 positions of a "market" (either side), the rest of
 * the padding words. */
static char *make_body(uint32_t n, uint32_t dm, uint32_t dk)
{
    const char **w = malloc(n * sizeof(*w));
    assert_non_null(w);
    for (uint32_t i = 0; i < n; i++)
        w[i] = tu_rnd(dm) == 0 ? "market" : pad[tu_rnd(6)];
    for (uint32_t i = 0; i < n; i++) {
        if (tu_rnd(dk) != 0)
            continue;
        uint32_t at = i;
        if (tu_rnd(2) == 0) {
            /* near a "market" after i, if one comes soon */
            for (uint32_t j = i; j < n && j < i + 64; j++)
                if (strcmp(w[j], "market") == 0) {
                    int64_t o = (int64_t)j + (int64_t)tu_rnd(13) - 6;
                    if (o >= 0 && o < (int64_t)n &&
                        strcmp(w[o], "market") != 0)
                        at = (uint32_t)o;
                    break;
                }
        }
        if (strcmp(w[at], "market") != 0)
            w[at] = keys[tu_rnd(4)];
    }
    char *s = NULL;
    size_t len = 0, cap = 0;
    for (uint32_t i = 0; i < n; i++)
        tu_append(&s, &len, &cap, w[i]);
    free(w);
    return s;
}

static void make_corpus(tu_corpus *c)
{
    static const uint32_t lens[] = {40, 400, 3000, 20000};
    static const uint32_t dms[] = {2, 8, 60, 300, 20000};
    static const uint32_t dks[] = {30, 400, 4000};
    tu_corpus_init(c, NDOCS, 3);
    tu_seed(1313);
    for (size_t i = 0; i < NDOCS; i++) {
        /* two documents past the bitmap (65,504 positions) */
        uint32_t n = i % 24 == 7 ? 70000 + tu_rnd(5000) : lens[tu_rnd(4)];
        c->body[i] = make_body(n, dms[tu_rnd(5)], dks[tu_rnd(3)]);
        char *t = NULL;
        size_t len = 0, cap = 0;
        uint32_t nt = 2 + tu_rnd(5);
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t r = tu_rnd(4);
            tu_append(&t, &len, &cap,
                      r == 0 ? "market" : r == 1 ? keys[tu_rnd(4)]
                                                 : pad[tu_rnd(6)]);
        }
        c->title[i] = t;
        c->date[i] = TRAWL_NO_DATE;
    }
}

/* q on ix, limit hits from offset, proximity on the depth best matches,
 * against the oracle's ranking (want, nw of them). */
static void check_page(trawl_searcher *s, const trawl_index *ix,
                       const tu_corpus *c, const char *q,
                       const oracle_hit *want, size_t nw, uint32_t depth,
                       uint32_t limit, uint32_t offset, trawl_arena *a)
{
    trawl_err err;
    trawl_query tq;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.limit = limit;
    tq.offset = offset;
    tq.prox_depth = depth;
    tq.snippets = 0;
    trawl_results r;
    if (trawl_search(s, ix, &tq, a, &r, &err) != 0)
        fail_msg("query [%s]: %s", q, err.msg);
    size_t m = nw > offset ? nw - offset : 0;
    if (m > limit)
        m = limit;
    if (r.nhits != m)
        fail_msg("query [%s] depth %u limit %u offset %u: %zu hits, oracle %zu",
                 q, depth, limit, offset, r.nhits, m);
    for (size_t i = 0; i < m; i++) {
        const oracle_hit *h = &want[offset + i];
        const char *id = c->id[h->doc];
        double d = fabs(r.hits[i].score - h->score);
        if (d > 1e-9 * (1 + h->score) || strcmp(r.hits[i].id, id) != 0)
            fail_msg("query [%s] depth %u limit %u offset %u rank %zu: got "
                     "%s %.12f, oracle %s %.12f",
                     q, depth, limit, offset, offset + i, r.hits[i].id,
                     r.hits[i].score, id, h->score);
    }
}

static void proximity_ways_match_oracle(void **state)
{
    (void)state;
    tu_corpus c;
    make_corpus(&c);
    char dir[64];
    tu_new_dir(dir, "perf13");
    tu_run(dir, &c, NULL, c.n, NULL, NULL);
    trawl_index *ix = tu_open(dir);
    trawl_err err;
    trawl_analyzer *an;
    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    oracle *o = oracle_new(an);
    for (size_t d = 0; d < c.n; d++)
        oracle_add(o, c.title[d], c.body[d], c.date[d]);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);

    static const char *const qs[] = {
        "north market",        "market north",       "korea market",
        "market summit talks", "north korea market", "talks market north",
        "market river",        "river market",       "river stone",
        "stone market north",  "north korea",        "summit talks",
        "market market north", "north river korea",  "korea talks market stone",
        "cloud field grass",   "market light",       "talks summit market korea",
    };
    static const uint32_t depths[] = {TRAWL_PROX_DEPTH, TRAWL_MAX_LIMIT};
    size_t nonempty = 0;
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        trawl_arena *a = trawl_arena_new(1 << 16);
        qnode *root;
        assert_int_equal(
            trawl__query_parse(&root, an, qs[k], strlen(qs[k]), a, &err), 0);
        trawl_query dq;
        trawl_query_init(&dq);
        for (size_t j = 0; j < 2; j++) {
            size_t nw;
            oracle_hit *want = oracle_search(o, root, dq.k1, dq.b, dq.w_title,
                                             dq.w_body, dq.w_prox, depths[j],
                                             &nw);
            nonempty += nw > 0;
            check_page(s, ix, &c, qs[k], want, nw, depths[j],
                       TRAWL_MAX_LIMIT, 0, a);
            check_page(s, ix, &c, qs[k], want, nw, depths[j], 10, 0, a);
            check_page(s, ix, &c, qs[k], want, nw, depths[j], 5, 5, a);
            check_page(s, ix, &c, qs[k], want, nw, depths[j], 3, 20, a);
            free(want);
        }
        trawl_arena_free(a);
    }
    assert_true(nonempty >= 30);

    /* every way was taken: runs stepped over, walks stopped early, pairs
     * read near the rarer word, bitmap reads stopped early */
    uint64_t st[4];
    trawl__search_prox_stats(s, st);
    print_message("steps %llu, early stops %llu, near pairs %llu, bitmap "
                  "stops %llu\n",
                  (unsigned long long)st[0], (unsigned long long)st[1],
                  (unsigned long long)st[2], (unsigned long long)st[3]);
    for (int i = 0; i < 4; i++)
        if (st[i] < 10)
            fail_msg("proximity counter %d is %llu: that way went untested",
                     i, (unsigned long long)st[i]);

    trawl_searcher_free(s);
    oracle_free(o);
    trawl_analyzer_free(an);
    trawl_index_release(ix);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proximity_ways_match_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
