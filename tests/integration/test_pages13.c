/*
 * Integration tests of the thirteenth round: news articles saved as web
 * pages (*.html, *.htm: "Save page as", wget or httrack mirrors) are read
 * as articles, their title, date, author and URL from the page's meta
 * data and their text from its <article> (or <main>, or <body>) without
 * the site's navigation, footer, scripts or cookie banner; and text files
 * compressed with gzip or zstd (.txt.gz, .md.zst, .html.gz, ...) are
 * read as what they hold.
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>
#include <zstd.h>

#include "harness.h"

static void want_in(const char *what, const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        fail_msg("%s: \"%s\" does not contain \"%s\"", what, text, want);
}

static void want_not_in(const char *what, const char *text, const char *no)
{
    if (strstr(text, no) != NULL)
        fail_msg("%s: \"%s\" contains \"%s\"", what, text, no);
}

static void put(const th *h, const char *name, const char *text)
{
    char p[256];
    th_path(p, sizeof(p), h, name);
    th_write_text(p, text);
}

/* A page as a news site serves it: scripts, a cookie banner, the site's
 * navigation and footer around the article, Open Graph and JSON-LD. */
static const char storm_html[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>Storm closes the harbor - The Daily Gull</title>\n"
    "<meta property=\"og:title\" content=\"Storm closes the harbor for two "
    "days\">\n"
    "<meta property=\"og:site_name\" content=\"The Daily Gull\">\n"
    "<meta property=\"og:url\" content=\"https://gull.example/x?utm=1\">\n"
    "<meta property=\"article:published_time\" "
    "content=\"2024-03-05T08:30:00Z\">\n"
    "<meta name=\"author\" content=\"Jane Doe\">\n"
    "<link rel=\"stylesheet\" href=\"site.css\">\n"
    "<link rel=\"canonical\" href=\"https://gull.example/2024/03/storm\">\n"
    "<script>var trackingpixel = 1;</script>\n"
    "<style>.marmoset { color: red }</style>\n"
    "<script type=\"application/ld+json\">{\"@context\": "
    "\"https://schema.org\", \"@type\": \"NewsArticle\", \"datePublished\": "
    "\"2024-03-01\", \"author\": [{\"@type\": \"Person\", \"name\": \"Ann "
    "Lee\"}]}</script>\n"
    "</head><body>\n"
    "<div id=\"cookie-banner\" class=\"consent\">We use cookies to serve "
    "marmalade. <button>Accept</button></div>\n"
    "<header class=\"site\"><a href=\"/\">The Daily Gull</a><nav><ul><li><a "
    "href=\"/sport\">Sportsdesk</a></li><li><a href=\"/w\">Weatherdesk</a>"
    "</li></ul></nav></header>\n"
    "<main><article><header><h1>Storm closes the harbor for two days</h1>"
    "<p class=\"dek\">Ferries stay in port as waves break records.</p>"
    "<p>By Jane Doe, <time datetime=\"2024-02-28\">February 28</time></p>"
    "</header>\n"
    "<p>A storm closed the harbor on Tuesday &amp; the ferries stayed in "
    "port.</p>\n"
    "<p>Fishermen said the waves were the highest in a decade.</p>\n"
    "<noscript>Enable javascript for the zeppelin gallery</noscript>\n"
    "<form><input name=\"q\" placeholder=\"Search\"> newsletter "
    "signup</form>\n"
    "</article>\n<aside>Most read: quokkas escape the zoo</aside></main>\n"
    "<footer>Copyright 2024 The Daily Gull. Zebrafooter terms.</footer>\n"
    "<script>document.write('jabberwock');</script>\n"
    "</body></html>\n";

/* No Open Graph, no <article>: the title is <title> without its site
 * suffix (it repeats the <h1>), the text is <main>'s, the date a meta
 * date, the authors JSON-LD's. */
static const char council_htm[] =
    "<html><head><title>Council votes on ferry fares | Harbor "
    "Times</title>\n"
    "<meta name=\"date\" content=\"2024-03-04\">\n"
    "<meta property=\"og:url\" content=\"https://times.example/council\">\n"
    "<script type=\"application/ld+json\">[{\"@type\": \"WebSite\", "
    "\"name\": \"Harbor Times\"}, {\"@type\": [\"NewsArticle\"], "
    "\"author\": [{\"name\": \"Bo Ek\"}, {\"name\": \"Cy Orr\"}]}]"
    "</script></head>\n"
    "<body><nav>Home Sportsdesk</nav><main><h1>Council votes on ferry "
    "fares</h1><p>The council voted to raise ferry fares by ten "
    "percent.</p></main><footer>Zebrafooter</footer></body></html>\n";

/* Two articles: the larger is the page's; the other (a teaser beside
 * it) is not read. The date is the <time> in the article. */
static const char two_html[] =
    "<html><head><title>Lighthouse keeper retires</title></head><body>\n"
    "<article><h2>Lighthouse keeper retires</h2><p>After forty years the "
    "keeper of the north lighthouse handed over the keys.</p><p>The "
    "lighthouse will be automated next spring, the port authority "
    "said.</p><p><time datetime=\"2024-01-15T10:00:00+01:00\">Jan "
    "15</time></p></article>\n"
    "<article><h2>Also read</h2><p>Walrus sighted.</p></article>\n"
    "</body></html>\n";

/* A legacy page: Windows-1252 declared in the meta http-equiv. */
static const char legacy_html[] =
    "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
    "charset=windows-1252\"><title>Caf\xe9 owner\x92s espresso "
    "prize</title></head><body><p>The caf\xe9 won the \x80 500 "
    "prize.</p></body></html>\n";

/* Shift_JIS declared in <meta charset>: 東京のニュース */
static const char sjis_html[] =
    "<html><head><meta charset=\"Shift_JIS\"><title>\x93\x8c\x8b\x9e"
    "</title></head><body><p>\x93\x8c\x8b\x9e\x82\xcc\x83j\x83\x85\x81[\x83X"
    "</p></body></html>\n";

/* Nothing but markup and scripts (a page its scripts fill in). */
static const char empty_html[] =
    "<html><head><script>render()</script></head><body><div "
    "id=\"root\"></div></body></html>\n";

static void write_pages(const th *h)
{
    th_make_dir(h, "news");
    th_make_dir(h, "news/world");
    put(h, "news/storm.html", storm_html);
    put(h, "news/council.HTM", council_htm);
    put(h, "news/world/two.html", two_html);
    put(h, "news/legacy.html", legacy_html);
    put(h, "news/sjis.htm", sjis_html);
    put(h, "news/empty.html", empty_html);
}

static int count(th_conn *c, const char *q)
{
    return th_count(c, q);
}

static void test_pages(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    write_pages(&h);
    char dir[256];
    th_path(dir, sizeof(dir), &h, "news");
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    want_in("summary", r.out, "indexed 5 documents (5 added");
    want_in("summary", r.out, "1 bad input");
    want_in("empty page", r.err,
            "news/empty.html: empty article (no text in the page)");
    want_not_in("stderr", r.err, "legacy.html"); /* declared: no note */
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    json_t *d = th_get_doc(&c, "storm.html");
    assert_string_equal(th_doc_field(d, "title"),
                        "Storm closes the harbor for two days");
    assert_string_equal(th_doc_field(d, "date"), "2024-03-05");
    assert_string_equal(th_doc_field(d, "author"), "Jane Doe");
    assert_string_equal(th_doc_field(d, "url"),
                        "https://gull.example/2024/03/storm");
    const char *body = th_doc_field(d, "body");
    assert_non_null(body);
    /* the headline is not said again; the standfirst is text */
    assert_int_equal(strncmp(body, "Ferries stay in port", 20), 0);
    want_in("body", body, "the ferries stayed in port.\n\nFishermen");
    json_decref(d);

    d = th_get_doc(&c, "council.HTM");
    assert_string_equal(th_doc_field(d, "title"),
                        "Council votes on ferry fares");
    assert_string_equal(th_doc_field(d, "date"), "2024-03-04");
    assert_string_equal(th_doc_field(d, "author"), "Bo Ek, Cy Orr");
    assert_string_equal(th_doc_field(d, "url"),
                        "https://times.example/council");
    assert_string_equal(th_doc_field(d, "body"),
                        "The council voted to raise ferry fares by ten "
                        "percent.");
    json_decref(d);

    d = th_get_doc(&c, "world/two.html");
    assert_string_equal(th_doc_field(d, "title"),
                        "Lighthouse keeper retires");
    assert_string_equal(th_doc_field(d, "date"), "2024-01-15");
    assert_null(th_doc_field(d, "author"));
    assert_null(th_doc_field(d, "url"));
    json_decref(d);

    d = th_get_doc(&c, "legacy.html");
    assert_string_equal(th_doc_field(d, "title"),
                        "Caf\xc3\xa9 owner\xe2\x80\x99s espresso prize");
    want_in("legacy body", th_doc_field(d, "body"),
            "The caf\xc3\xa9 won the \xe2\x82\xac 500 prize.");
    json_decref(d);
    d = th_get_doc(&c, "sjis.htm");
    assert_string_equal(th_doc_field(d, "title"), "\xe6\x9d\xb1\xe4\xba\xac");
    json_decref(d);

    /* the site's chrome is not the article's text */
    const char *chrome[] = {"marmalade", "cookies",   "Sportsdesk",
                            "Weatherdesk", "Zebrafooter", "quokkas",
                            "trackingpixel", "marmoset", "jabberwock",
                            "zeppelin",  "newsletter", "walrus",
                            "Accept"};
    for (size_t i = 0; i < sizeof(chrome) / sizeof(chrome[0]); i++)
        if (count(&c, chrome[i]) != 0)
            fail_msg("\"%s\" matched: the page's chrome was indexed",
                     chrome[i]);
    assert_int_equal(count(&c, "harbor"), 1);
    assert_int_equal(count(&c, "fishermen"), 1);
    assert_int_equal(count(&c, "lighthouse"), 1);
    assert_int_equal(count(&c, "caf\xc3\xa9"), 1);
    assert_int_equal(count(&c, "\xe6\x9d\xb1\xe4\xba\xac"), 1);
    /* fields and filters as for other articles */
    assert_int_equal(count(&c, "author:doe"), 1);
    assert_int_equal(count(&c, "author:\"cy orr\""), 1);
    assert_int_equal(count(&c, "site:gull.example"), 1);
    assert_int_equal(count(&c, "ferry site:times.example"), 1);
    assert_int_equal(count(&c, "date:2024-03"), 2);
    assert_int_equal(count(&c, "before:2024-02-01"), 1);
    assert_int_equal(count(&c, "title:lighthouse"), 1);
    assert_string_equal(th_highlights(&c, "fishermen", "storm.html"),
                        "Fishermen");
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* unchanged: nothing to commit */
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    want_in("rerun", r.out, "no changes: 5 documents unchanged");
    th_result_free(&r);

    /* one page edited, one deleted, one added */
    char p[256];
    const char *at = strstr(storm_html, "highest in a decade");
    assert_non_null(at);
    size_t k = (size_t)(at - storm_html);
    char *edited = malloc(sizeof(storm_html) + 64);
    assert_non_null(edited);
    snprintf(edited, sizeof(storm_html) + 64, "%.*shighest since the "
             "albatross winter%s", (int)k, storm_html,
             at + strlen("highest in a decade"));
    put(&h, "news/storm.html", edited);
    free(edited);
    th_path(p, sizeof(p), &h, "news/council.HTM");
    assert_int_equal(unlink(p), 0);
    put(&h, "news/world/new.html",
        "<html><head><meta property=\"og:title\" content=\"Ferry back\">"
        "</head><body><article><p>The ferry to the island sails "
        "again.</p></article></body></html>");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    want_in("incremental", r.out,
            "(1 added, 1 updated, 1 deleted, 3 unchanged)");
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(count(&c, "albatross"), 1);
    assert_int_equal(count(&c, "decade"), 0);
    assert_int_equal(count(&c, "council"), 0);
    assert_int_equal(count(&c, "island"), 1);
    d = th_get_doc(&c, "world/new.html");
    assert_string_equal(th_doc_field(d, "title"), "Ferry back");
    json_decref(d);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* ---- compressed text files ------------------------------------------ */

static void write_gz(const char *path, const char *text, size_t n)
{
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, text, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

static void write_zst(const char *path, const char *text)
{
    size_t n = strlen(text), cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    assert_non_null(z);
    size_t zn = ZSTD_compress(z, cap, text, n, 3);
    assert_false(ZSTD_isError(zn));
    assert_int_equal(th_write_file(path, z, zn), 0);
    free(z);
}

static void test_compressed(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    char p[256], dir[256];
    th_path(dir, sizeof(dir), &h, "c");
    const char *a = "Pelican census\n\nDate: none\nThe pelican count "
                    "rose.\n";
    th_path(p, sizeof(p), &h, "c/a.txt.gz");
    write_gz(p, a, strlen(a));
    th_path(p, sizeof(p), &h, "c/b.md.zst");
    write_zst(p, "---\ntitle: Albatross notes\ndate: 2023-05-06\n---\n\n"
                 "The albatross nests.\n");
    th_path(p, sizeof(p), &h, "c/c.HTML.gz");
    write_gz(p, storm_html, strlen(storm_html));
    const char *keep = "Gannet report\n\nThe gannet colony grew.\n";
    th_path(p, sizeof(p), &h, "c/keep.txt.gz");
    write_gz(p, keep, strlen(keep));
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    want_in("summary", r.out, "indexed 4 documents (4 added");
    want_in("summary", r.out, "0 bad inputs");
    th_result_free(&r);

    /* keep.txt.gz cut short, and a gzip bomb beside it */
    th_path(p, sizeof(p), &h, "c/keep.txt.gz");
    size_t n = 0;
    char *z = th_read_file(p, &n);
    assert_non_null(z);
    assert_true(n > 20);
    assert_int_equal(th_write_file(p, z, n - 12), 0); /* no trailer */
    free(z);
    th_path(p, sizeof(p), &h, "c/bomb.txt.gz");
    gzFile g = gzopen(p, "wb9");
    assert_non_null(g);
    char *zeros = calloc(1, 1 << 20);
    assert_non_null(zeros);
    for (int i = 0; i < 257; i++)
        assert_int_equal(gzwrite(g, zeros, 1 << 20), 1 << 20);
    free(zeros);
    assert_int_equal(gzclose(g), Z_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size < (2 << 20)); /* small on disk */

    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    want_in("damaged", r.err,
            "c/keep.txt.gz: compressed data cut short (gzip stream ends "
            "early); \"keep.txt.gz\" stays as indexed before");
    want_in("bomb", r.err,
            "c/bomb.txt.gz: file larger than 256 MiB uncompressed, skipped");
    want_in("rerun", r.out, "2 bad inputs (1 article kept as indexed "
                            "before)");
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(count(&c, "pelican"), 1);
    assert_int_equal(count(&c, "albatross"), 1);
    assert_int_equal(count(&c, "fishermen"), 1);
    assert_int_equal(count(&c, "gannet"), 1); /* the old article kept */
    json_t *d = th_get_doc(&c, "b.md.zst");
    assert_string_equal(th_doc_field(d, "title"), "Albatross notes");
    assert_string_equal(th_doc_field(d, "date"), "2023-05-06");
    json_decref(d);
    d = th_get_doc(&c, "c.HTML.gz");
    assert_string_equal(th_doc_field(d, "title"),
                        "Storm closes the harbor for two days");
    assert_string_equal(th_doc_field(d, "author"), "Jane Doe");
    json_decref(d);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_compressed),
    };
    return cmocka_run_group_tests_name("pages13", tests, NULL, NULL);
}
