/*
 * Unit tests of the web page reader (indexer/html.c,
 * trawl_html_page_read and trawl_html_charset): which title, text, date,
 * author and URL a page gives in the cases sites differ on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"
#include "trawl/article.h"

static trawl_html_page page(const char *html)
{
    trawl_html_page p;
    assert_int_equal(trawl_html_page_read(html, strlen(html), &p), 0);
    assert_non_null(p.title);
    assert_non_null(p.body);
    return p;
}

static int64_t day(const char *iso)
{
    int64_t t;
    assert_int_equal(trawl_parse_iso_date(iso, strlen(iso), &t), 0);
    return t;
}

static void test_title(void **state)
{
    (void)state;
    /* the suffix names og:site_name */
    trawl_html_page p = page(
        "<title>Storm hits | The Gull</title><meta property=og:site_name "
        "content='The Gull'><p>x</p>");
    assert_string_equal(p.title, "Storm hits");
    trawl_html_page_free(&p);
    /* the rest is the <h1> */
    p = page("<title>Storm hits - Gull News</title><body><h1>Storm "
             "hits</h1><p>x</p>");
    assert_string_equal(p.title, "Storm hits");
    assert_string_equal(p.body, "x"); /* the h1 is the title: not again */
    trawl_html_page_free(&p);
    /* a dash of the headline's own stays */
    p = page("<title>Ferry - a history</title><p>x</p>");
    assert_string_equal(p.title, "Ferry - a history");
    trawl_html_page_free(&p);
    /* og:title first; an svg's <title> is no title; else the <h1> */
    p = page("<meta property='og:title' content=' Og  title '><title>T"
             "</title><p>x</p>");
    assert_string_equal(p.title, "Og title");
    trawl_html_page_free(&p);
    p = page("<body><svg><title>icon</title></svg><h1>Head\nline</h1>"
             "<p>x</p>");
    assert_string_equal(p.title, "Head line");
    trawl_html_page_free(&p);
}

static void test_body(void **state)
{
    (void)state;
    /* the largest article; a nested one is part of it */
    trawl_html_page p = page(
        "<article><p>small teaser</p></article><article><p>The long "
        "article text about ferries and harbors.</p><article><p>inner "
        "comment</p></article></article>");
    assert_string_equal(p.body, "The long article text about ferries and "
                                "harbors.\n\ninner comment");
    trawl_html_page_free(&p);
    /* an article of a fifth of the page's text or less is a teaser */
    p = page("<body><div><p>The real story is here and it is long enough "
             "to outweigh the teaser by far.</p></div><article><p>Teaser"
             "</p></article></body>");
    assert_non_null(strstr(p.body, "The real story"));
    assert_non_null(strstr(p.body, "Teaser"));
    trawl_html_page_free(&p);
    /* chrome dropped; <pre> kept as it is */
    p = page("<body><nav>menu</nav><div role=navigation>nav2</div><div "
             "class='gdpr-box'>gdpr</div><main><pre>a  b\n c</pre><aside>"
             "side</aside><form>f</form></main><footer>foot</footer>"
             "</body>");
    assert_string_equal(p.body, "a  b\n c");
    trawl_html_page_free(&p);
    /* no text */
    p = page("<html><head><title>T</title><script>x()</script></head>"
             "<body></body></html>");
    assert_int_equal(p.body_len, 0);
    assert_string_equal(p.title, "T");
    trawl_html_page_free(&p);
}

static void test_date(void **state)
{
    (void)state;
    /* article:published_time before a meta date, JSON-LD and <time> */
    trawl_html_page p = page(
        "<meta name=date content=2020-01-01><meta property="
        "article:published_time content='2021-02-03T04:05:06Z'><script "
        "type='application/ld+json'>{\"@type\":\"NewsArticle\","
        "\"datePublished\":\"2019-01-01\"}</script><article><time "
        "datetime=2018-01-01>x</time><p>y</p></article>");
    assert_true(p.date == day("2021-02-03T04:05:06Z"));
    assert_int_equal(p.bad_date, 0);
    trawl_html_page_free(&p);
    /* one that cannot be read: the next */
    p = page("<meta property=article:published_time content=soon><script "
             "type='application/ld+json'>{\"@graph\":[{\"@type\":"
             "\"WebPage\"},{\"@type\":\"BlogPosting\",\"datePublished\":"
             "\"2019-05-06\"}]}</script><p>y</p>");
    assert_true(p.date == day("2019-05-06"));
    trawl_html_page_free(&p);
    /* the <time> of the article only */
    p = page("<body><div><time datetime=2001-01-01>clock</time></div>"
             "<article><p>words words words</p><time datetime="
             "'March 4, 2017'>x</time></article></body>");
    assert_true(p.date == day("2017-03-04"));
    trawl_html_page_free(&p);
    /* none readable */
    p = page("<meta name=pubdate content=yesterday><p>y</p>");
    assert_true(p.date == TRAWL_NO_DATE);
    assert_int_equal(p.bad_date, 1);
    trawl_html_page_free(&p);
}

static void test_author_url(void **state)
{
    (void)state;
    trawl_html_page p = page(
        "<meta property=article:author content='https://fb.com/jane'>"
        "<script type='application/ld+json'>{\"@type\":\"NewsArticle\","
        "\"author\":[{\"name\":\"Jane Doe\"},\"John Roe\",{\"name\":\"Jane "
        "Doe\"}]}</script><link rel='Canonical' href='/rel/path'><meta "
        "property=og:url content='https://ex.example/a'><p>x</p>");
    assert_string_equal(p.author, "Jane Doe, John Roe");
    assert_string_equal(p.url, "https://ex.example/a");
    trawl_html_page_free(&p);
    p = page("<meta name=author content='Ann Lee'><meta name=author "
             "content='Bo Ek'><p>x</p>");
    assert_string_equal(p.author, "Ann Lee, Bo Ek");
    assert_null(p.url);
    trawl_html_page_free(&p);
    /* bad JSON-LD is no author */
    p = page("<script type='application/ld+json'>{\"author\": </script>"
             "<p>x</p>");
    assert_null(p.author);
    trawl_html_page_free(&p);
}

static void test_charset(void **state)
{
    (void)state;
    char b[64];
    const char *s = "<html><head><meta charset=\"ISO-8859-1\">";
    assert_string_equal(trawl_html_charset(s, strlen(s), b, sizeof(b)),
                        "WINDOWS-1252");
    s = "<head><META HTTP-EQUIV='Content-Type' CONTENT='text/html; "
        "charset=Shift_JIS'>";
    assert_string_equal(trawl_html_charset(s, strlen(s), b, sizeof(b)),
                        "CP932");
    s = "<?xml version='1.0' encoding='koi8-r'?><html>";
    assert_string_equal(trawl_html_charset(s, strlen(s), b, sizeof(b)),
                        "KOI8-R");
    s = "<meta charset=utf-16><p>x</p>";
    assert_string_equal(trawl_html_charset(s, strlen(s), b, sizeof(b)),
                        "UTF-8");
    s = "<p>charset=latin1 in text is no declaration</p>";
    assert_null(trawl_html_charset(s, strlen(s), b, sizeof(b)));
    s = "<metadata charset=x>";
    assert_null(trawl_html_charset(s, strlen(s), b, sizeof(b)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_title),      cmocka_unit_test(test_body),
        cmocka_unit_test(test_date),       cmocka_unit_test(test_author_url),
        cmocka_unit_test(test_charset),
    };
    return cmocka_run_group_tests_name("pages13_unit", tests, NULL, NULL);
}
