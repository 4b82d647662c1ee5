/*
 * JSON bodies that are HTML (feeds put the article's markup there) are
 * indexed and stored as their text: no "p" or "amp" terms, no tags in
 * snippets or `get`, entities decoded, scripts and comments dropped,
 * paragraphs kept as line breaks; a plain body with "<" and "&" in it is
 * left as it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void test_html_bodies(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "feed.jsonl");
    th_write_text(corpus,
        "{\"id\":\"h1\",\"title\":\"AT&amp;T buys &#8220;Time&#8221;\","
        "\"body\":\"<p>The <b>storm</b> hit the coast.</p><p>Residents "
        "fled.<br>More later.</p><script>var hidden = 1;</script>"
        "<!-- remark --><style>p{color:red}</style>\"}\n"
        "{\"id\":\"h2\",\"title\":\"Plain\",\"body\":\"If x < y and y > z, "
        "AT&T wins.\"}\n"
        "{\"id\":\"h3\",\"title\":\"Broken\",\"body\":\"<div><p>Unclosed "
        "<i>italic <b>bold</div> tail &amp; more &#x2014; end\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    json_t *r = th_get_doc(&c, "h1");
    assert_string_equal(th_doc_field(r, "title"), "AT&T buys \xe2\x80\x9cTime\xe2\x80\x9d");
    assert_string_equal(th_doc_field(r, "body"), "The storm hit the coast.\n\n"
                                          "Residents fled.\n\nMore later.");
    json_decref(r);
    r = th_get_doc(&c, "h2");
    assert_string_equal(th_doc_field(r, "body"), "If x < y and y > z, AT&T wins.");
    json_decref(r);
    r = th_get_doc(&c, "h3");
    assert_string_equal(th_doc_field(r, "body"),
                        "Unclosed italic bold\n\ntail & more \xe2\x80\x94 end");
    json_decref(r);

    assert_int_equal(th_count(&c, "storm"), 1);
    assert_int_equal(th_count(&c, "hidden OR remark OR color"), 0);
    assert_int_equal(th_count(&c, "amp OR p OR b"), 0);
    assert_int_equal(th_count(&c, "title:time"), 1);
    /* the snippet is text */
    r = th_request(&c, "{\"op\":\"search\",\"q\":\"storm\"}");
    assert_non_null(r);
    const char *snip = json_string_value(json_object_get(
        json_array_get(json_object_get(r, "hits"), 0), "snippet"));
    assert_non_null(snip);
    assert_null(strchr(snip, '<'));
    json_decref(r);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
