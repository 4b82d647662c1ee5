/*
 * Review 10 (analyzer 4: hyphenated compounds, words without their
 * apostrophes): random text of the characters that take the new paths,
 * in several languages and with a stem memo small enough to be cleared
 * often. The writer's two halves (fold, then stem the batch) give what
 * one pass gives, and one pass keeps the invariants the index relies on:
 * a compound stands at the position of the token after it and covers
 * its bytes, positions step by at most one, no term stands twice at one
 * position, at most two terms stand at one (pair terms), spans lie in
 * the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trawl/analyze.h"

typedef struct rtok {
    char term[TRAWL_MAX_TERM + 1];
    size_t len, start, end;
    uint32_t pos, parts;
} rtok;

typedef struct rlist {
    rtok *v;
    size_t n, cap;
    char *dump;
    size_t dn, dcap;
} rlist;

static int on_tok(void *payload, const trawl_token *t)
{
    rlist *l = payload;
    assert_true(t->len >= 1 && t->len <= TRAWL_MAX_TERM);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    rtok *r = &l->v[l->n++];
    memcpy(r->term, t->term, t->len);
    r->term[t->len] = '\0';
    r->len = t->len;
    r->start = t->start;
    r->end = t->end;
    r->pos = t->pos;
    r->parts = t->parts;
    if (l->dn + t->len + 40 > l->dcap) {
        l->dcap = (l->dn + t->len + 40) * 2;
        l->dump = realloc(l->dump, l->dcap);
        assert_non_null(l->dump);
    }
    l->dn += (size_t)snprintf(l->dump + l->dn, l->dcap - l->dn, "%u:%s/%u ",
                              (unsigned)t->pos, r->term,
                              (unsigned)t->parts);
    return 0;
}

static void rlist_reset(rlist *l)
{
    l->n = 0;
    l->dn = 0;
    if (l->dump != NULL)
        l->dump[0] = '\0';
}

static void check_invariants(const rlist *l, size_t textlen, const char *t)
{
    for (size_t i = 0; i < l->n; i++) {
        const rtok *a = &l->v[i];
        if (!(a->start < a->end && a->end <= textlen))
            fail_msg("span [%zu,%zu) outside [%s]", a->start, a->end, t);
        if (i > 0 && (a->pos < l->v[i - 1].pos ||
                      a->pos > l->v[i - 1].pos + 1))
            fail_msg("position step at %zu in [%s]", i, t);
        if (i == 0 && a->pos != 0)
            fail_msg("first position %u in [%s]", a->pos, t);
        if (a->parts != 0) {
            if (i + 1 >= l->n || l->v[i + 1].pos != a->pos ||
                l->v[i + 1].parts != 0)
                fail_msg("compound %s not before a word at %u in [%s]",
                         a->term, a->pos, t);
            if (l->v[i + 1].start != a->start || l->v[i + 1].end > a->end)
                fail_msg("compound %s does not cover its word in [%s]",
                         a->term, t);
        }
        size_t here = 0;
        for (size_t j = 0; j < l->n; j++) {
            if (l->v[j].pos != a->pos)
                continue;
            here++;
            if (j != i && l->v[j].len == a->len &&
                memcmp(l->v[j].term, a->term, a->len) == 0)
                fail_msg("%s twice at %u in [%s]", a->term, a->pos, t);
        }
        if (here > 2)
            fail_msg("%zu terms at %u in [%s]", here, a->pos, t);
    }
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_text_agrees(void **state)
{
    (void)state;
    static const char *const bits[] = {
        "a", "Bc", "e", "19", "-", "-", "-", "\xe2\x80\x90", "\xe2\x80\x91",
        " ", " ", ".", "'", "'", "\xe2\x80\x99", "\xca\xbc", "\xc3\xa9",
        "ab", "s", "--", "U.S.", "\xe6\x9d\xb1", "x", "running", "'s",
        "ies", "ing", "l'", "d\xe2\x80\x99", "qu'", "1,000", "3.5",
        "\xcc\x81", "\xc2\xad", "\xd1\x8f", "\xc4\xb1", "'da", "e.g.",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    static const char *const langs[] = {"english", "french", "turkish",
                                        "german", "none"};
    trawl_folded f;
    memset(&f, 0, sizeof(f));
    rlist one, two;
    memset(&one, 0, sizeof(one));
    memset(&two, 0, sizeof(two));
    for (size_t li = 0; li < sizeof(langs) / sizeof(*langs); li++) {
        trawl_analyzer *a, *fo, *st;
        assert_int_equal(trawl_analyzer_new(&a, langs[li], NULL), 0);
        assert_int_equal(trawl_analyzer_new(&fo, langs[li], NULL), 0);
        assert_int_equal(trawl_analyzer_new(&st, langs[li], NULL), 0);
        trawl_analyzer_limit(a, 4096);
        trawl_analyzer_limit(st, 4096);
        for (int r = 0; r < 4000; r++) {
            char text[1600];
            size_t o = 0;
            int n = 1 + (int)rnd(40);
            for (int k = 0; k < n; k++)
                o += (size_t)snprintf(
                    text + o, sizeof(text) - o, "%s",
                    bits[rnd(sizeof(bits) / sizeof(*bits))]);
            rlist_reset(&one);
            rlist_reset(&two);
            assert_int_equal(trawl_analyze(a, text, o, on_tok, &one), 0);
            check_invariants(&one, o, text);
            /* a title before it in the batch: positions restart */
            trawl_folded_clear(&f);
            assert_int_equal(trawl_analyze_fold(fo, "re-do it", 8, &f), 0);
            size_t mid = f.n;
            assert_int_equal(trawl_analyze_fold(fo, text, o, &f), 0);
            assert_int_equal(
                trawl_analyze_stem_batch(st, &f, mid, f.n, on_tok, &two), 0);
            if (one.n != two.n ||
                (one.n > 0 && strcmp(one.dump, two.dump) != 0))
                fail_msg("%s [%s]\n one: %s\n two: %s", langs[li], text,
                         one.n ? one.dump : "", two.n ? two.dump : "");
        }
        trawl_analyzer_free(a);
        trawl_analyzer_free(fo);
        trawl_analyzer_free(st);
    }
    free(one.v);
    free(one.dump);
    free(two.v);
    free(two.dump);
    trawl_folded_free(&f);
}

static int stop_at_compound(void *payload, const trawl_token *t)
{
    int *seen = payload;
    (*seen)++;
    return t->parts != 0 ? 9 : 0;
}

/* A callback that stops at a compound (or a word without its apostrophe)
 * stops the analysis there, with its value. */
static void callback_stops_at_compound(void **state)
{
    (void)state;
    trawl_analyzer *a;
    assert_int_equal(trawl_analyzer_new(&a, "english", NULL), 0);
    int seen = 0;
    assert_int_equal(trawl_analyze(a, "an e-mail now", 13, stop_at_compound,
                                   &seen),
                     9);
    assert_int_equal(seen, 2);
    seen = 0;
    assert_int_equal(trawl_analyze(a, "O'Brien said", 12, stop_at_compound,
                                   &seen),
                     9);
    assert_int_equal(seen, 1);
    trawl_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_text_agrees),
        cmocka_unit_test(callback_stops_at_compound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
