/*
 * Acceptance regressions of the query parser: queries a user wrote that
 * were parsed into something other than what they meant, without an error.
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
#include "trawl/buf.h"

/*
 * "title:(a OR b)" searched for the word "title" and then a OR b in any
 * field; "title:-x" searched for x in the title, the opposite of what was
 * asked. A field now applies to a group and to an exclusion.
 */
static void field_applies_to_group_and_exclusion(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];
    static const struct {
        const char *q, *rendered;
    } cases[] = {
        {"title:(storm OR flood)", "OR(title:storm, title:flood)"},
        {"body:(storm flood) harbor",
         "AND(AND(body:storm, body:flood), harbor)"},
        {"title:(\"harbor master\" OR harb*)",
         "OR(title:\"harbor master\", title:harb*)"},
        {"title:(storm OR body:flood)", "OR(title:storm, body:flood)"},
        {"title:(storm date:2024)",
         "AND(title:storm, date:2024-01-01..2024-12-31)"},
        {"title:(storm -flood)", "AND(title:storm, NOT title:flood)"},
        {"harbor title:-storm", "AND(harbor, NOT title:storm)"},
        {"harbor -title:storm", "AND(harbor, NOT title:storm)"},
        {"harbor title:-\"rail strike\"",
         "AND(harbor, NOT title:\"rail strike\")"},
        {"title:(storm) flood", "AND(title:storm, flood)"},
        /* A space after a known field's colon (Lucene reads them so):
         * they were the words "titl" and "storm", and found nothing. */
        {"title: storm flood", "AND(title:storm, flood)"},
        {"title:  \"rail strike\"", "title:\"rail strike\""},
        {"title: (storm OR flood)", "OR(title:storm, title:flood)"},
        {"harbor body: -storm", "AND(harbor, NOT body:storm)"},
        {"date: 2024", "date:2024-01-01..2024-12-31"},
        {"after: 2024-03-05", "date:2024-03-05.."},
        {"storm title:", "AND(storm, titl)"},
        {"storm title: OR flood", "OR(AND(storm, titl), flood)"},
        {"storm title: NOT flood", "AND(storm, titl, NOT flood)"},
        {"storm title: - flood", "AND(storm, titl, flood)"},
        /* unchanged */
        {"title:storm flood", "AND(title:storm, flood)"},
        {"re: storm", "AND(re, storm)"},
        {"(storm OR flood) title:harbor", "AND(OR(storm, flood), title:harbor)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = tu_parse_render(f, cases[i].q, s, sizeof(s), &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].q, err.msg);
        if (strcmp(s, cases[i].rendered) != 0)
            fail_msg("%s: parsed as %s, want %s", cases[i].q, s,
                     cases[i].rendered);
    }

    static const char *const bad[] = {
        "title:-storm",          /* only an exclusion */
        "title:(storm",          /* never closed */
        "title:()",              /* nothing in it */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tu_parse_render(f, bad[i], s, sizeof(s), &err);
        if (rc != TRAWL_EQUERY || strstr(err.msg, "column ") == NULL)
            fail_msg("%s: rc %d, %s", bad[i], rc, rc == 0 ? s : err.msg);
    }
}

/* A pasted URL was an error ("unknown field \"https\""): it is text. */
static void url_is_text(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];

    assert_int_equal(tu_parse_render(f, "https://www.example.com/a-b korea", s,
                                  sizeof(s), &err),
                     0);
    /* (the slug's "a-b" is also "ab", as hyphenated words are) */
    assert_string_equal(s, "AND(OR(\"https www exampl com ab\", "
                           "\"https www exampl com a b\"), korea)");
    assert_int_equal(tu_parse_render(f, "title:ftp://example.org", s, sizeof(s),
                                  &err),
                     0);
    assert_string_equal(s, "title:\"ftp exampl org\"");
    /* other names are still fields, known or not */
    assert_int_equal(tu_parse_render(f, "colour:red", s, sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "unknown field \"colour\""));
    assert_non_null(strstr(err.msg, "quote"));
}

/* "korea~2" (a fuzzy match in Lucene) was the phrase "korea 2": no
 * result and no word why. ~N belongs after a quoted phrase. */
static void tilde_after_word_explained(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];

    static const char *const bad[] = {"korea~2", "talks korea~1",
                                      "title:korea~10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tu_parse_render(f, bad[i], s, sizeof(s), &err);
        if (rc != TRAWL_EQUERY || strstr(err.msg, "quoted phrase") == NULL)
            fail_msg("%s: rc %d, %s", bad[i], rc, rc == 0 ? s : err.msg);
    }
    assert_int_equal(tu_parse_render(f, "\"north korea\"~2", s, sizeof(s),
                                  &err),
                     0);
    assert_string_equal(s, "\"north korea\"~2");
    /* an OR side that only excludes: said so, not "a query" */
    assert_int_equal(tu_parse_render(f, "korea OR -japan", s, sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "alternative of OR"));
    assert_int_equal(tu_parse_render(f, "-japan", s, sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "a query cannot consist only"));
    /* a tilde that is just text stays text */
    assert_int_equal(tu_parse_render(f, "~2 million", s, sizeof(s), &err), 0);
    assert_int_equal(tu_parse_render(f, "korea~", s, sizeof(s), &err), 0);
    assert_string_equal(s, "korea");
}

/*
 * A snippet of a long body kept its token and match arrays (with every
 * copy made while they grew) in the query's arena until the query ended:
 * a page of 1000 long articles made trawld's arena hundreds of MB, kept
 * afterwards. Only the snippet and its ranges belong in the arena.
 */
static void snippet_scratch_not_in_arena(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    qnode *root;
    const size_t words = 200000; /* 1 MB of "the ": 200k tokens, matches */
    char *body = malloc(words * 4 + 1);
    assert_non_null(body);
    for (size_t i = 0; i < words; i++)
        memcpy(body + i * 4, "the ", 4);
    body[words * 4] = '\0';

    trawl_arena_reset(f->a);
    assert_int_equal(trawl__query_parse(&root, f->an, "the", 3, f->a, &err),
                     0);
    size_t before = trawl_arena_footprint(f->a);
    const char *snip;
    size_t snip_len, nr;
    trawl_range *rg;
    assert_int_equal(trawl__snippet(f->an, root, body, words * 4, 200, f->a,
                                    &snip, &snip_len, &rg, &nr),
                     0);
    assert_true(snip_len > 150 && snip_len <= 200);
    assert_true(nr > 30);
    assert_memory_equal(snip, "the the", 7);
    assert_int_equal(rg[0].start, 0);
    assert_int_equal(rg[0].end, 3);
    size_t grew = trawl_arena_footprint(f->a) - before;
    if (grew > (size_t)1 << 20)
        fail_msg("the arena grew by %zu bytes for a 200-byte snippet", grew);
    free(body);
}

/*
 * Text pasted from a word processor or a web page: typographic double
 * quotes ("\u201c" ...) were punctuation, so \u201cnorth korea\u201d
 * searched the two words anywhere; a no-break or ideographic space
 * joined its words into a phrase. They are '"' and ' ' now, one
 * character for one, so error columns stay right.
 */
static void pasted_quotes_and_spaces(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];
    static const struct {
        const char *q, *rendered;
    } cases[] = {
        {"\u201cnorth korea\u201d", "\"north korea\""},
        {"\u201enorth korea\u201c talks", "AND(\"north korea\", talk)"},
        {"\uff02north korea\uff02~2", "\"north korea\"~2"},
        {"title:\u201cnorth korea\u201d", "title:\"north korea\""},
        {"north\u00a0korea", "AND(north, korea)"},
        {"north\u3000korea\u2009talks", "AND(north, korea, talk)"},
        {"title:\u00a0korea", "title:korea"},
        {"\"north\u00a0korea\"", "\"north korea\""},
        /* the apostrophe stays a part of the word */
        {"Trump\u2019s", "trump"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = tu_parse_render(f, cases[i].q, s, sizeof(s), &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].q, err.msg);
        if (strcmp(s, cases[i].rendered) != 0)
            fail_msg("%s: got %s, want %s", cases[i].q, s,
                     cases[i].rendered);
    }
    /* columns count characters of the query as typed */
    assert_int_equal(tu_parse_render(f, "\u00e9t\u00e9\u00a0\u201cnorth", s,
                                  sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_string_equal(err.msg, "column 5: unterminated quote");
    assert_int_equal(tu_parse_render(f, "a\u3000(b", s, sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_string_equal(err.msg, "column 3: '(' is never closed");
}

/*
 * A minus pasted from a word processor (AutoCorrect's en dash, the minus
 * sign, an input method's full-width hyphen) before a word excludes it
 * like '-'; inside an item it stays punctuation. A comma outside a
 * number, or a semicolon, separates words: "obama,biden" was the phrase
 * "obama biden", which no article has.
 */
static void pasted_minus_and_lists(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];
    static const tu_query_case cases[] = {
        {"storm \u2013ferry", "AND(storm, NOT ferri)"},
        {"storm \u2212ferry", "AND(storm, NOT ferri)"},
        {"storm \uff0dferry", "AND(storm, NOT ferri)"},
        {"storm (\u2013ferry)", "AND(storm, NOT ferri)"},
        {"\u2013ferry storm", "AND(NOT ferri, storm)"},
        {"paris\u2013london", "\"pari london\""},
        {"storm \u2013 ferry", "AND(storm, ferri)"},
        {"obama,biden", "AND(obama, biden)"},
        {"obama, biden,macron", "AND(obama, biden, macron)"},
        {"iraq;afghanistan", "AND(iraq, afghanistan)"},
        {"10,000 people", "AND(10000, peopl)"},
        {"\"north,korea\"", "\"north korea\""},
        {"biden,", "biden"},
        /* a field's value keeps its commas; a dash after a field's
         * colon excludes */
        {"site:https://example.com/a,b", "site:(example.com)"},
        {"author:obama,biden", "author:(\"obama biden\")"},
        {"storm author:\u2013doe", "AND(storm, NOT author:(doe))"},
        {"korea title:\u2212japan", "AND(korea, NOT title:japan)"},
    };
    tu_check_renders(f, cases, sizeof(cases) / sizeof(cases[0]));
    /* columns still count the characters typed */
    assert_int_equal(tu_parse_render(f, "\u2013a,b (", s, sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_string_equal(err.msg, "column 6: '(' is never closed");
    /* a '*' ending a word in a quote is an error, not a silent phrase */
    assert_int_equal(tu_parse_render(f, "\"united sta*\"", s, sizeof(s),
                                  &err),
                     TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "column 12: a quote cannot hold '*'"));
    assert_int_equal(tu_parse_render(f, "\"united * america\"", s,
                                  sizeof(s), &err),
                     TRAWL_EQUERY);
    assert_non_null(strstr(err.msg, "column 9:"));
    assert_int_equal(tu_parse_render(f, "\"5*3 rule\"", s, sizeof(s), &err),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_applies_to_group_and_exclusion),
        cmocka_unit_test(snippet_scratch_not_in_arena),
        cmocka_unit_test(url_is_text),
        cmocka_unit_test(tilde_after_word_explained),
        cmocka_unit_test(pasted_quotes_and_spaces),
        cmocka_unit_test(pasted_minus_and_lists),
    };
    return cmocka_run_group_tests_name("acceptance_unit", tests,
                                       tu_fixture_setup, tu_fixture_teardown);
}
