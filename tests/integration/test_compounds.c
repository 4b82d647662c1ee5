/*
 * Hyphenated words are found written either way, through the real
 * trawl-index, trawld and trawl: "email" finds an article's "e-mail" and
 * "e-mail" finds "email" (likewise COVID-19 / covid19, non-profit /
 * nonprofit, re-election / reelection), the highlight covers the whole
 * hyphenated word, a phrase holding the solid form matches the
 * hyphenated one, scores do not count a compound as an extra word, and
 * --check finds the index sound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void test_hyphenated_either_way(void **state)
{
    (void)state;
    th h;
    char corpus[256], f[300];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news");
    th_make_dir(&h, "news");
    snprintf(f, sizeof(f), "%s/hyph.txt", corpus);
    th_write_text(f, "Hyphenated\n\nSend me an e-mail about the non-profit "
                     "and the COVID-19 vaccines before the re-election "
                     "campaign.\n");
    snprintf(f, sizeof(f), "%s/solid.txt", corpus);
    th_write_text(f, "Solid\n\nSend me an email about the nonprofit and the "
                     "covid19 vaccines before the reelection campaign.\n");
    snprintf(f, sizeof(f), "%s/apart.txt", corpus);
    th_write_text(f, "Apart\n\nThe e mail came from a non profit; covid 19 "
                     "numbers fell.\n");
    snprintf(f, sizeof(f), "%s/names.txt", corpus);
    th_write_text(f, "Names\n\nMr O'Brien and Ms O\xe2\x80\x99" "Neill "
                     "don't agree.\n");
    snprintf(f, sizeof(f), "%s/plain.txt", corpus);
    th_write_text(f, "Other\n\nObrien wrote dont\n");
    snprintf(f, sizeof(f), "%s/score.txt", corpus);
    th_write_text(f, "Score\n\nThe mail room and the mail van.\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* either spelling finds both; the hyphenated query also finds the
     * words apart, as before */
    assert_int_equal(th_count(&c, "email"), 2);
    assert_int_equal(th_count(&c, "e-mail"), 3);
    assert_int_equal(th_count(&c, "nonprofit"), 2);
    assert_int_equal(th_count(&c, "non-profit"), 3);
    /* (covid19 is covid-19, analyzer 6: it finds "covid 19" too) */
    assert_int_equal(th_count(&c, "covid19"), 3);
    assert_int_equal(th_count(&c, "COVID-19"), 3);
    assert_int_equal(th_count(&c, "reelection"), 2);
    assert_int_equal(th_count(&c, "re-election"), 2);
    assert_int_equal(th_count(&c, "title:e-mail"), 0);
    /* the parts are still words of their own */
    assert_int_equal(th_count(&c, "mail"), 3);
    assert_int_equal(th_count(&c, "\"e mail\""), 2);
    /* a phrase with the solid form matches the hyphenated text */
    assert_int_equal(th_count(&c, "\"send me an email\""), 2);
    assert_int_equal(th_count(&c, "\"the covid19\""), 2);
    /* a phrase written with the hyphen finds both spellings */
    assert_int_equal(th_count(&c, "\"send me an e-mail\""), 2);
    assert_int_equal(th_count(&c, "\"COVID-19 vaccines\""), 2);
    assert_int_equal(th_count(&c, "\"an e-mail about the\""), 2);
    assert_int_equal(th_count(&c, "\"e-mail came\"~1"), 1);

    /* the highlight covers the hyphenated word, on its bytes */
    assert_string_equal(th_highlights(&c, "email", "hyph.txt"), "e-mail");
    assert_string_equal(th_highlights(&c, "e-mail", "solid.txt"), "email");
    assert_string_equal(th_highlights(&c, "e-mail", "hyph.txt"), "e-mail");
    assert_string_equal(th_highlights(&c, "\"send me an email\"", "hyph.txt"),
                        "Send me an e-mail");
    assert_string_equal(th_highlights(&c, "COVID-19 vaccines", "solid.txt"),
                        "covid19|vaccines");

    /* a word with an apostrophe is found without it, and the other
     * way round */
    assert_int_equal(th_count(&c, "obrien"), 2);
    assert_int_equal(th_count(&c, "O'Brien"), 2);
    assert_int_equal(th_count(&c, "O\xe2\x80\x99" "Brien"), 2);
    assert_int_equal(th_count(&c, "oneill"), 1);
    assert_int_equal(th_count(&c, "dont"), 2);
    assert_int_equal(th_count(&c, "\"ms o'neill don't\""), 1);
    /* and so is a prefix: the word's or its letters', a chain's run
     * together */
    assert_int_equal(th_count(&c, "o'bri*"), 2);
    assert_int_equal(th_count(&c, "O'Brien*"), 2);
    assert_int_equal(th_count(&c, "e-mai*"), 2);
    assert_string_equal(th_highlights(&c, "obrien", "names.txt"), "O'Brien");
    assert_string_equal(th_highlights(&c, "O'Brien", "plain.txt"), "Obrien");

    /* a field's length counts words, not compounds: 70 tokens in all
     * (the solid "covid19" is two, covid and 19), 78 if the eight
     * compounds counted */
    json_t *st = th_request(&c, "{\"op\":\"stats\"}");
    assert_non_null(st);
    assert_int_equal(json_integer_value(json_object_get(st, "tokens")), 70);
    json_decref(st);
    /* BM25 sees "mail" once in each of "e-mail" and "e mail" */
    assert_string_equal(th_hit_ids(&c, "mail", NULL, 0), "score.txt apart.txt hyph.txt");

    /* the client shows the same */
    th_result r;
    assert_int_equal(th_client(&h, &r, (const char *[]){"-l", "--", "e-mail",
                                                         NULL}),
                     0);
    assert_non_null(strstr(r.out, "hyph.txt"));
    assert_non_null(strstr(r.out, "solid.txt"));
    th_result_free(&r);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hyphenated_either_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
