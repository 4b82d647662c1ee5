/*
 * Unit tests from the ninth acceptance sweep: query syntax as people
 * type it (field names with a capital letter); the snippet of a near
 * query; highlights of phrases across line breaks.
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
 * "Title:korea" (a capital at the start of the line, or copied from a
 * heading) was a bad_query ("unknown field \"Title\""), and so were
 * "TITLE:", "Date:2024" and "After:..."; the field names are now read in
 * any case, and the other names are still unknown fields. A date field
 * with a space after its colon and then no date ("After: the war",
 * "before: the war", typed as text) is text, not a bad date.
 */
static void field_names_in_any_case(void **state)
{
    tu_fixture *f = *state;
    static const tu_query_case good[] = {
        {"Title:korea", "title:korea"},
        {"TITLE:\"north korea\"", "title:\"north korea\""},
        {"BoDy:talks", "body:talk"},
        {"talks Date:2024-03", "AND(talk, date:2024-03-01..2024-03-31)"},
        {"After:2024-03-05 talks", "AND(date:2024-03-05.., talk)"},
        {"talks BEFORE:2024", "AND(talk, date:..2023-12-31)"},
        {"Title: korea", "title:korea"},
        {"TITLE:(korea OR seoul)", "OR(title:korea, title:seoul)"},
        {"re: korea", "AND(re, korea)"},
        {"After: the war", "AND(after, the, war)"},
        {"before: the war", "AND(befor, the, war)"},
        {"Date: unknown", "AND(date, unknown)"},
        {"after: 2024 war", "AND(date:2024-01-01.., war)"},
        {"date: ..2024 war", "AND(date:..2024-12-31, war)"},
        {"Note: korea", "AND(note, korea)"},
    };
    tu_check_renders(f, good, sizeof(good) / sizeof(good[0]));
    static const tu_query_case bad[] = {
        {"Colour:red", "column 1: unknown field \"Colour\""},
        {"korea Titles:x", "column 7: unknown field \"Titles\""},
        {"Date:yesterday", "column 1: bad date"},
    };
    tu_check_rejects(f, bad, sizeof(bad) / sizeof(bad[0]));
}

/*
 * The snippet of a near query ('"free trade"~3') counted each of its
 * words as the whole query: the first window holding any one of them
 * won, so a State of the Union address matched for "free markets and
 * free trade" showed "Today, women are free and are part of ...", with
 * no "trade" in it. Its words now count one by one, as an AND's do: the
 * window holding them together wins.
 */
static void near_query_snippet_shows_the_words_together(void **state)
{
    tu_fixture *f = *state;
    char body[8192];
    size_t n = 0;
    n += (size_t)snprintf(body + n, sizeof(body) - n,
                          "Today, women are free and are part of the new "
                          "government. ");
    while (n < 3000) /* past the first piece analyzed */
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "The harbor commission met again. ");
    n += (size_t)snprintf(body + n, sizeof(body) - n,
                          "In every region, free markets and free trade and "
                          "free societies are proving their power. ");
    while (n < 6000)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "The harbor commission met again. ");
    const char *queries[] = {"\"free trade\"~3", "\"trade free\"~5",
                             "harbor \"free trade\"~2"};
    for (size_t i = 0; i < 3; i++) {
        trawl_err err;
        qnode *root;
        const char *s;
        size_t len, nr;
        trawl_range *rg;
        trawl_arena_reset(f->a);
        assert_int_equal(trawl__query_parse(&root, f->an, queries[i],
                                            strlen(queries[i]), f->a, &err),
                         0);
        assert_int_equal(trawl__snippet(f->an, root, body, n, 200, f->a, &s,
                                        &len, &rg, &nr),
                         0);
        int trade = 0, free_ = 0;
        for (size_t k = 0; k < nr; k++) {
            if (rg[k].end - rg[k].start == 5 &&
                memcmp(s + rg[k].start, "trade", 5) == 0)
                trade++;
            if (rg[k].end - rg[k].start == 4 &&
                memcmp(s + rg[k].start, "free", 4) == 0)
                free_++;
        }
        if (trade != 1 || free_ < 2)
            fail_msg("%s: snippet [%.*s] highlights %zu (free %d, trade %d)",
                     queries[i], (int)len, s, nr, free_, trade);
    }
}

/*
 * A phrase across collapsed whitespace (a CRLF line break, a blank line,
 * indentation) was highlighted by its length in the body, so its range
 * ran past it in the snippet, where the whitespace is one space:
 * '"north korea"' over "north\r\nkorea talks" highlighted "north korea "
 * and over a paragraph break "north korea talks w". Each range now ends
 * where its last byte lands.
 */
static void phrase_highlight_across_collapsed_whitespace(void **state)
{
    tu_fixture *f = *state;
    static const struct {
        const char *body, *q;
        const char *want[3];
    } cases[] = {
        {"The north\r\nkorea talks went well.", "\"north korea\"",
         {"north korea", NULL}},
        {"The north   \n\n    korea talks went well.", "\"north korea\"",
         {"north korea", NULL}},
        {"The north\r\n\r\nkorea talks\t\t went well.",
         "\"north korea\" \"korea talks\" well",
         {"north korea talks", "well", NULL}},
        {"north  korea and  north   korea talks",
         "north \"north korea\"", {"north korea", "north korea", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trawl_err err;
        qnode *root;
        const char *s;
        size_t len, nr, k = 0;
        trawl_range *rg;
        trawl_arena_reset(f->a);
        assert_int_equal(trawl__query_parse(&root, f->an, cases[i].q,
                                            strlen(cases[i].q), f->a, &err),
                         0);
        assert_int_equal(trawl__snippet(f->an, root, cases[i].body,
                                        strlen(cases[i].body), 200, f->a, &s,
                                        &len, &rg, &nr),
                         0);
        for (; cases[i].want[k] != NULL; k++) {
            const char *w = cases[i].want[k];
            if (k >= nr || rg[k].end > len ||
                rg[k].end - rg[k].start != strlen(w) ||
                memcmp(s + rg[k].start, w, strlen(w)) != 0)
                fail_msg("%s: highlight %zu is [%.*s], want [%s] in [%.*s]",
                         cases[i].q, k,
                         k < nr && rg[k].end <= len
                             ? (int)(rg[k].end - rg[k].start)
                             : 0,
                         k < nr ? s + rg[k].start : "", w, (int)len, s);
        }
        if (nr != k)
            fail_msg("%s: %zu highlights, want %zu", cases[i].q, nr, k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_names_in_any_case),
        cmocka_unit_test(near_query_snippet_shows_the_words_together),
        cmocka_unit_test(phrase_highlight_across_collapsed_whitespace),
    };
    return cmocka_run_group_tests_name("sweep9_unit", tests,
                                       tu_fixture_setup, tu_fixture_teardown);
}
