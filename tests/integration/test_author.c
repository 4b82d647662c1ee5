/*
 * author: and site: through the real trawl-index, trawld and trawl:
 * bylines from
 * text-file headers and JSON Lines are searched with author:, alone
 * (newest first), with words (the byline adds nothing to the score),
 * excluded, as a phrase and a prefix; a byline word is not a text word;
 * an updated byline is found by its new words only; explain shows the
 * filter; a field typo is still a bad_query naming the fields; site:
 * finds an article by its URL's host or a parent domain, however the
 * host is written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void test_author_filter(void **state)
{
    (void)state;
    th h;
    char corpus[256], f[300];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news");
    th_make_dir(&h, "news");
    snprintf(f, sizeof(f), "%s/storm.txt", corpus);
    th_write_text(f, "Title: Storm hits the coast\nAuthor: Jane Doe\n"
                     "Date: 2024-01-02\n\nA storm hit the coast on Monday "
                     "and flooded the harbour.\n");
    snprintf(f, sizeof(f), "%s/harbour.txt", corpus);
    th_write_text(f, "Title: Harbour reopens\nAuthor: John Smith\n"
                     "URL: https://www.bbc.co.uk/news/harbour\n"
                     "Date: 2024-03-04\n\nThe harbour reopened after the "
                     "storm.\n");
    snprintf(f, sizeof(f), "%s/plain.txt", corpus);
    th_write_text(f, "Doe season\n\nHunters wait for the doe season; a "
                     "storm is coming.\n");
    snprintf(f, sizeof(f), "%s/wire.jsonl", corpus);
    th_write_text(f,
                  "{\"id\":\"w1\",\"title\":\"Election night\",\"body\":"
                  "\"Votes were counted overnight in the storm.\","
                  "\"author\":\"Mary-Ann O'Brien and Jane Doe\","
                  "\"url\":\"http://News.Example.com:8080/e/1\","
                  "\"date\":\"2024-02-03\"}\n"
                  "{\"id\":\"w2\",\"title\":\"Markets\",\"body\":\"Shares "
                  "fell.\",\"author\":\"Jos\\u00e9 \\u00c1lvarez\"}\n"
                  "{\"id\":\"w3\",\"title\":\"Scraped\",\"body\":\"A "
                  "scraped page.\",\"author\":\"<a href=\\\"/people/pk\\\">"
                  "Pat Kane</a> &amp; Ravi Rao\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* alone: newest first */
    assert_string_equal(th_hit_ids(&c, "author:doe", NULL, 0),
                        "w1 storm.txt");
    assert_string_equal(th_hit_ids(&c, "author:\"jane doe\"", NULL, 0),
                        "w1 storm.txt");
    assert_int_equal(th_count(&c, "author:\"doe jane\""), 0);
    assert_int_equal(th_count(&c, "author:smith"), 1);
    assert_int_equal(th_count(&c, "Author:SMITH"), 1);
    assert_int_equal(th_count(&c, "author:(smith OR doe)"), 3);
    assert_int_equal(th_count(&c, "author:jo*"), 2); /* john, josé */
    assert_int_equal(th_count(&c, "author:alvarez"), 1);
    assert_int_equal(th_count(&c, "author:obrien"), 1);
    assert_int_equal(th_count(&c, "author:mary-ann"), 1);
    /* a byline in HTML: its text (tags dropped, entities read) */
    assert_string_equal(th_hit_ids(&c, "author:\"pat kane\"", NULL, 0), "w3");
    assert_int_equal(th_count(&c, "author:rao"), 1);
    assert_int_equal(th_count(&c, "author:href OR author:people OR "
                                  "author:amp"),
                     0);
    json_t *g = th_get_doc(&c, "w3");
    assert_string_equal(th_doc_field(g, "author"), "Pat Kane & Ravi Rao");
    json_decref(g);
    /* a byline word is not a text word, nor the other way round */
    assert_string_equal(th_hit_ids(&c, "doe", NULL, 0), "plain.txt");
    assert_int_equal(th_count(&c, "author:season"), 0);
    /* with words: filtered, and scored by the words alone */
    char with[256], without[256];
    assert_string_equal(th_hit_ids(&c, "storm author:doe", with, sizeof(with)),
                        "storm.txt w1");
    th_hit_ids(&c, "storm date:2024-01-02", without, sizeof(without));
    assert_string_equal(strtok(with, " "), without);
    assert_int_equal(th_count(&c, "storm -author:doe"), 2);
    assert_int_equal(th_count(&c, "storm NOT author:(doe OR smith)"), 1);

    /* explain shows the filter */
    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"storm "
                               "author:doe\",\"explain\":true}");
    assert_non_null(r);
    const char *parsed = json_string_value(
        json_object_get(json_object_get(r, "explain"), "parsed"));
    assert_non_null(parsed);
    assert_non_null(strstr(parsed, "author:(doe)"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r, "explain"), "sort")),
                        "score");
    json_decref(r);
    /* filters only: newest first, and explain says so */
    r = th_request(&c, "{\"op\":\"search\",\"q\":\"author:doe\","
                       "\"explain\":true}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r, "explain"), "sort")),
                        "date");
    json_decref(r);

    /* a typo still names the fields */
    r = th_request(&c, "{\"op\":\"search\",\"q\":\"autor:doe\"}");
    assert_string_equal(th_error_code(r), "bad_query");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(r, "error"), "message")),
                           "author"));
    json_decref(r);

    /* site: by host or parent domain, written any way */
    assert_string_equal(th_hit_ids(&c, "site:bbc.co.uk", NULL, 0),
                        "harbour.txt");
    assert_int_equal(th_count(&c, "site:www.bbc.co.uk"), 1);
    assert_int_equal(th_count(&c, "site:https://BBC.co.uk/other"), 1);
    assert_int_equal(th_count(&c, "site:uk"), 1);
    assert_int_equal(th_count(&c, "site:example.com"), 1);
    assert_int_equal(th_count(&c, "site:(example.com OR bbc.co.uk)"), 2);
    assert_int_equal(th_count(&c, "storm -site:example.com"), 3);
    assert_int_equal(th_count(&c, "site:bbc.com"), 0);
    assert_int_equal(th_count(&c, "bbc"), 0); /* a host is not text */
    r = th_request(&c, "{\"op\":\"search\",\"q\":\"site:\\\"a b\\\"\"}");
    assert_string_equal(th_error_code(r), "bad_query");
    json_decref(r);

    /* the client */
    th_result res;
    assert_int_equal(th_client(&h, &res, (const char *[]){"-l", "--",
                                                           "author:smith",
                                                           NULL}),
                     0);
    assert_non_null(strstr(res.out, "harbour.txt"));
    assert_null(strstr(res.out, "storm.txt"));
    th_result_free(&res);

    /* a new byline: found by its new words only, after the rerun */
    snprintf(f, sizeof(f), "%s/storm.txt", corpus);
    th_write_text(f, "Title: Storm hits the coast\nAuthor: Kim Lee\n"
                     "Date: 2024-01-02\n\nA storm hit the coast on Monday "
                     "and flooded the harbour.\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    r = th_request(&c, "{\"op\":\"reload\"}");
    json_decref(r);
    assert_string_equal(th_hit_ids(&c, "author:doe", NULL, 0), "w1");
    assert_string_equal(th_hit_ids(&c, "author:lee", NULL, 0), "storm.txt");

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&res, check), 0);
    th_result_free(&res);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_author_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
