/*
 * Snippets of long bodies, which are analyzed in growing pieces that stop
 * once the best window covers every query word: matches far into the
 * body, phrases across the pieces' boundaries and multi-byte text before
 * them are highlighted at their exact bytes; the first window holding all
 * the words wins; a huge body is not analyzed to its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"
#include "snippet.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"

/* A growing body of text. */
typedef struct body {
    char *p;
    size_t len, cap;
} body;

static void put(body *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* Filler words up to at least `to` bytes (none of them a query word). */
static void fill(body *b, size_t to, const char *word)
{
    while (b->len < to) {
        put(b, word);
        put(b, " ");
    }
}

typedef struct snip {
    const char *s;
    size_t len, nr;
    trawl_range *rg;
} snip;

static snip make(tu_fixture *f, const body *b, const char *q)
{
    trawl_err err;
    qnode *root;
    snip r;
    trawl_arena_reset(f->a);
    assert_int_equal(trawl__query_parse(&root, f->an, q, strlen(q), f->a,
                                        &err),
                     0);
    assert_int_equal(trawl__snippet(f->an, root, b->p, b->len, 200, f->a,
                                    &r.s, &r.len, &r.rg, &r.nr),
                     0);
    return r;
}

/* The highlighted bytes of range k are `want`. */
static void highlight_is(const snip *r, size_t k, const char *want)
{
    assert_true(k < r->nr);
    size_t n = r->rg[k].end - r->rg[k].start;
    if (r->rg[k].end > r->len || n != strlen(want) ||
        memcmp(r->s + r->rg[k].start, want, n) != 0)
        fail_msg("range %zu is [%.*s], want [%s] in [%.*s]", k,
                 (int)(r->rg[k].end <= r->len ? n : 0),
                 r->s + r->rg[k].start, want, (int)r->len, r->s);
}

static void late_match_highlighted_at_its_bytes(void **state)
{
    tu_fixture *f = *state;
    body b = {0};
    /* multi-byte text first: offsets are bytes, not characters */
    fill(&b, 30000, "caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9");
    put(&b, "the Harbors flooded ");
    fill(&b, 70000, "quiet");
    snip r = make(f, &b, "harbor");
    assert_int_equal(r.nr, 1);
    highlight_is(&r, 0, "Harbors");
    assert_non_null(strstr(r.s, "Harbors flooded"));
    free(b.p);
}

static void phrase_across_piece_boundaries(void **state)
{
    tu_fixture *f = *state;
    /* pieces end at the first whitespace from 2 KiB, then from twice the
     * end before: the phrase at every offset around the first two */
    for (size_t at = 2030; at < 4200; at += at < 2070 ? 1 : 29) {
        body b = {0};
        fill(&b, at - 20, "x");
        while (b.len < at - 1)
            put(&b, "y");
        put(&b, " north korea talks ");
        fill(&b, 40000, "calm");
        snip r = make(f, &b, "\"north korea\"");
        if (r.nr != 1)
            fail_msg("phrase at %zu: %zu ranges in [%.*s]", at, r.nr,
                     (int)r.len, r.s);
        highlight_is(&r, 0, "north korea");
        free(b.p);
    }
}

static void first_window_with_every_word_wins(void **state)
{
    tu_fixture *f = *state;
    body b = {0};
    put(&b, "Early on, the budget vote passed. ");
    fill(&b, 50000, "filler");
    /* later a window with more matches of the same words */
    put(&b, "budget vote budget vote budget vote ");
    fill(&b, 60000, "filler");
    snip r = make(f, &b, "budget vote");
    assert_memory_equal(r.s, "Early on", 8);
    assert_int_equal(r.nr, 2);
    highlight_is(&r, 0, "budget");
    highlight_is(&r, 1, "vote");

    /* with a word found only far in, the body is read up to it */
    body c = {0};
    put(&c, "The budget was late. ");
    fill(&c, 20000, "filler");
    put(&c, "then the budget vote failed ");
    fill(&c, 30000, "filler");
    r = make(f, &c, "budget vote");
    assert_non_null(strstr(r.s, "budget vote failed"));
    assert_int_equal(r.nr, 2);
    free(b.p);
    free(c.p);
}

static void huge_body_is_not_read_to_the_end(void **state)
{
    tu_fixture *f = *state;
    body b = {0};
    put(&b, "A storm came. ");
    fill(&b, (size_t)2 << 20, "filler");
    put(&b, "A flood, flood on flood came. ");
    fill(&b, (size_t)6 << 20, "filler");
    put(&b, "A tsunami came. ");
    /* "flood" lies past what is analyzed once "storm" matched: the
     * snippet shows the storm alone */
    snip r = make(f, &b, "storm flood");
    assert_int_equal(r.nr, 1);
    highlight_is(&r, 0, "storm");
    /* alone, it is looked for further */
    r = make(f, &b, "flood");
    assert_int_equal(r.nr, 3);
    highlight_is(&r, 0, "flood");
    /* nothing matches in the part that is read: the start, without
     * highlights */
    r = make(f, &b, "tsunami");
    assert_int_equal(r.nr, 0);
    assert_memory_equal(r.s, "A storm came.", 13);
    free(b.p);
}

/* Analyzer 6 splits a word at its letter-digit changes ("iPhone5s" is
 * iphone, 5 and s, and the compound iphone5s): the window still starts
 * and ends at whole words, never at its "5" or after its "iPhone"; a
 * part highlights alone, the solid query word the whole word. */
static void window_keeps_split_words_whole(void **state)
{
    tu_fixture *f = *state;
    for (int pad = 0; pad < 9; pad++) {
        body b = {0};
        char p[16];
        snprintf(p, sizeof(p), "%.*s ", pad + 1, "zzzzzzzzz");
        put(&b, p);
        fill(&b, 1000, "iPhone5s");
        put(&b, "the COVID19 target ");
        fill(&b, 2000, "iPhone5s");
        snip r = make(f, &b, "target");
        assert_int_equal(r.nr, 1);
        highlight_is(&r, 0, "target");
        assert_true(r.len > 16);
        if (memcmp(r.s, "iPhone5s ", 9) != 0 ||
            memcmp(r.s + r.len - 9, " iPhone5s", 9) != 0)
            fail_msg("pad %d: cut inside a word: [%.*s]", pad, (int)r.len,
                     r.s);
        r = make(f, &b, "covid");
        highlight_is(&r, 0, "COVID");
        r = make(f, &b, "covid19");
        highlight_is(&r, 0, "COVID19");
        free(b.p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_match_highlighted_at_its_bytes),
        cmocka_unit_test(phrase_across_piece_boundaries),
        cmocka_unit_test(first_window_with_every_word_wins),
        cmocka_unit_test(huge_body_is_not_read_to_the_end),
        cmocka_unit_test(window_keeps_split_words_whole),
    };
    return cmocka_run_group_tests_name("snippet", tests, tu_fixture_setup,
                                       tu_fixture_teardown);
}
