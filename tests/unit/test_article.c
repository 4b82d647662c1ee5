/* Unit tests for article parsing and dates (core/src/article.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trawl/analyze.h"
#include "internal.h"
#include "trawl/article.h"

static int64_t iso(const char *s)
{
    int64_t t = 0;
    assert_int_equal(trawl_parse_iso_date(s, strlen(s), &t), 0);
    return t;
}

static int64_t loose(const char *s)
{
    int64_t t = 0;
    int rc = trawl_parse_loose_date(s, strlen(s), &t);
    if (rc != 0)
        fail_msg("loose date \"%s\" rejected", s);
    return t;
}

static const char *fmt(int64_t t)
{
    static char buf[11];
    trawl_format_date(t, buf);
    return buf;
}

static void test_iso_dates(void **state)
{
    (void)state;
    assert_int_equal(iso("1970-01-01"), 0);
    assert_int_equal(iso("1970-01-02"), 86400);
    assert_int_equal(iso("2000-03-01"), 951868800);
    assert_int_equal(iso("2025-12-17"), 1765929600);
    assert_int_equal(iso("2025-12-17T08:34:00Z"), 1765929600 + 8 * 3600 + 34 * 60);
    assert_int_equal(iso("2025-12-17T08:34"), 1765929600 + 8 * 3600 + 34 * 60);
    assert_int_equal(iso("2025-12-17T08:34:05.123Z"),
                     1765929600 + 8 * 3600 + 34 * 60 + 5);
    assert_int_equal(iso("2025-12-17T09:34:00+01:00"),
                     1765929600 + 8 * 3600 + 34 * 60);
    assert_int_equal(iso("2025-12-17T03:34:00-0500"),
                     1765929600 + 8 * 3600 + 34 * 60);
    assert_int_equal(iso("2025-12-17 08:34:00"), 1765929600 + 8 * 3600 + 34 * 60);
    /* Leap years. */
    assert_int_equal(iso("2024-02-29"), iso("2024-02-28") + 86400);
    assert_int_equal(iso("2000-02-29"), iso("2000-03-01") - 86400);
    /* Pre-1970. */
    assert_int_equal(iso("1969-12-31"), -86400);
    assert_int_equal(iso("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(iso("1900-01-01"), -2208988800LL);
    assert_int_equal(iso("0000-01-01"), -62167219200LL);
    assert_int_equal(iso("1600-02-29"), iso("1600-03-01") - 86400);

    int64_t t;
    static const char *bad[] = {
        "",           "2025",          "2025-12",       "2025-13-01",
        "2025-00-10", "2025-02-29",    "1900-02-29",    "2025-04-31",
        "2025-12-32", "2025-12-00",    "25-12-17",      "2025-1-17",
        "2025-12-17x", "2025-12-17T",  "2025-12-17T24:00", "2025-12-17T08:60",
        "2025-12-17T08:34+25:00", "20251-12-17", "2025-12-17T08:34Zjunk",
        " 2025-12-17",
        /* a zone's name without an offset (its rules are not known), an
         * empty or unclosed one, a name without a time */
        "2024-02-29T23:59:59[Europe/Paris]", "2024-02-29T23:59:59Z[]",
        "2024-02-29T23:59:59Z[Europe/Paris", "2024-02-29[Europe/Paris]",
        "2024-02-29T23:59:59Z[Europe Paris]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (trawl_parse_iso_date(bad[i], strlen(bad[i]), &t) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
    }
    /* Length is honoured (no NUL needed). */
    assert_int_equal(trawl_parse_iso_date("2025-12-17junk", 10, &t), 0);
    assert_int_equal(t, 1765929600);
}

static void test_loose_dates(void **state)
{
    (void)state;
    int64_t day = iso("2025-12-17");
    assert_int_equal(loose("December. 17, 2025 08:34"),
                     day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("December. 17, 2025 08:34,  "),
                     day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("Dec 17, 2025"), day);
    assert_int_equal(loose("Dec. 17 2025"), day);
    assert_int_equal(loose("dec 17, 2025"), day);
    assert_int_equal(loose("17 December 2025"), day);
    assert_int_equal(loose("17 Dec. 2025"), day);
    assert_int_equal(loose("17th December, 2025"), day);
    assert_int_equal(loose("Wednesday, December 17, 2025"), day);
    assert_int_equal(loose("2025-12-17"), day);
    assert_int_equal(loose("2025/12/17"), day);
    assert_int_equal(loose("Sept 1, 2025"), iso("2025-09-01"));
    assert_int_equal(loose("May 5, 2025 at 3:05 pm"),
                     iso("2025-05-05") + 15 * 3600 + 5 * 60);
    assert_int_equal(loose("Dec 17, 2025 12:00 AM"), day);
    assert_int_equal(loose("February 29, 2024"), iso("2024-02-29"));
    /* RFC 2822 (RSS pubDate, e-mail), with its zone */
    assert_int_equal(loose("Wed, 17 Dec 2025 08:34:00 +0000"),
                     day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("Wed, 17 Dec 2025 08:34:00 -0130"),
                     day + 10 * 3600 + 4 * 60);
    assert_int_equal(loose("17 Dec 2025 08:34 GMT"), day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("Dec 17, 2025 08:34 UTC"), day + 8 * 3600 + 34 * 60);
    /* the year after the time: date(1), asctime(), Twitter's created_at */
    assert_int_equal(loose("Wed Dec 17 08:34:00 2025"),
                     day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("Wed Dec 17 08:34:00 UTC 2025"),
                     day + 8 * 3600 + 34 * 60);
    assert_int_equal(loose("Wed Dec 17 08:34:00 +0100 2025"),
                     day + 7 * 3600 + 34 * 60);
    assert_int_equal(loose("Wed Dec 17 08:34:00 EST 2025"),
                     day + 13 * 3600 + 34 * 60);
    assert_int_equal(loose("July 20, 1969"), iso("1969-07-20"));
    /* RFC 2822's North American zone names (RSS feeds write them) */
    assert_int_equal(loose("Dec 17, 2025 08:34 EST"),
                     day + 13 * 3600 + 34 * 60);
    assert_int_equal(loose("Wed, 17 Dec 2025 08:34:00 pdt"),
                     day + 15 * 3600 + 34 * 60);

    int64_t t;
    static const char *bad[] = {
        "", "December", "Dec 2025", "Foo 17, 2025", "February 29, 2025",
        "Dec 32, 2025", "17 2025", "Dec 17, 25", "Dec 17, 2025 and more",
        "De 17, 2025", "Dec 17, 2025 13:00 pm", "Dec 17, 2025 08:34 +25",
        "Wed Dec 17 08:34:00", "Wed Dec 17 08:34:00 CET 2025",
        "Dec 17 25:00 2025", "Feb 30 08:34:00 2025",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (trawl_parse_loose_date(bad[i], strlen(bad[i]), &t) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
    }
}

static void test_format_date(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "1970-01-01");
    assert_string_equal(fmt(-1), "1969-12-31");
    assert_string_equal(fmt(-86400), "1969-12-31");
    assert_string_equal(fmt(-86401), "1969-12-30");
    assert_string_equal(fmt(1765929600 + 86399), "2025-12-17");
    assert_string_equal(fmt(iso("2024-02-29")), "2024-02-29");
    assert_string_equal(fmt(iso("1900-03-01")), "1900-03-01");
    assert_string_equal(fmt(iso("0001-01-01")), "0001-01-01");
    assert_string_equal(fmt(iso("9999-12-31T23:59:59Z")), "9999-12-31");
    assert_string_equal(fmt(TRAWL_NO_DATE), "");
    assert_string_equal(fmt(INT64_MAX), "9999-12-31");
    assert_string_equal(fmt(INT64_MIN + 1), "0000-01-01");
    /* Round trip over a range of days, both sides of the epoch. */
    for (int64_t d = -719000; d < 2900000; d += 997) {
        char buf[11];
        int64_t t = d * 86400 + 12345;
        trawl_format_date(t, buf);
        int64_t back;
        assert_int_equal(trawl_parse_iso_date(buf, 10, &back), 0);
        assert_int_equal(back, d * 86400);
    }
}

static trawl_article parse_text(const char *text, int64_t fallback)
{
    trawl_article a;
    trawl_err err = {0};
    int rc = trawl_article_parse_text(&a, "x.txt", text, strlen(text),
                                      fallback, &err);
    if (rc != 0)
        fail_msg("parse_text failed: %s", err.msg);
    assert_non_null(a.title);
    assert_non_null(a.body);
    assert_int_equal(strlen(a.title), a.title_len);
    assert_int_equal(strlen(a.body), a.body_len);
    assert_string_equal(a.id, "x.txt");
    return a;
}

static void test_text_plain(void **state)
{
    (void)state;
    trawl_article a = parse_text("\n\n  My Title  \n\n\nFirst para.\n\n"
                                 "Second para.\n\n\n",
                                 42);
    assert_string_equal(a.title, "My Title");
    assert_string_equal(a.body, "First para.\n\nSecond para.");
    assert_int_equal(a.date, 42);
    assert_null(a.author);
    assert_null(a.url);
    assert_null(a.extra);
    assert_int_equal(a.replaced, 0);
    trawl_article_clear(&a);
    assert_null(a.title);
    assert_int_equal(a.date, TRAWL_NO_DATE);
    trawl_article_clear(NULL);

    a = parse_text("Only a title", TRAWL_NO_DATE);
    assert_string_equal(a.title, "Only a title");
    assert_string_equal(a.body, "");
    assert_int_equal(a.date, TRAWL_NO_DATE);
    trawl_article_clear(&a);

    a = parse_text("\xef\xbb\xbf# Markdown title\r\n\r\nBody line\r\nmore\r\n",
                   0);
    assert_string_equal(a.title, "Markdown title");
    assert_string_equal(a.body, "Body line\nmore");
    trawl_article_clear(&a);

    a = parse_text("Go to contents\n\nReal Title\nbody", 0);
    assert_string_equal(a.title, "Real Title");
    assert_string_equal(a.body, "body");
    trawl_article_clear(&a);
    a = parse_text("SKIP TO MAIN CONTENT\nskip to content\nReal\nbody", 0);
    assert_string_equal(a.title, "Real");
    trawl_article_clear(&a);

    /* Bytes that are not UTF-8 are read as Windows-1252 and counted; its
     * undefined bytes are U+FFFD. */
    a = parse_text("Ti\xfftle\nbo\xc3" "dy \x81", 0);
    assert_string_equal(a.title, "Ti\xc3\xbftle");
    assert_string_equal(a.body, "bo\xc3\x83" "dy \xef\xbf\xbd");
    assert_int_equal(a.replaced, 3);
    trawl_article_clear(&a);
    /* A Latin-1 / Windows-1252 article: its accents and quotes read, its
     * UTF-8 (a file with a few stray bytes) kept as it is. */
    a = parse_text("Caf\xe9 owner\n\n\x93Na\xefve\x94 \x80 5 \x96 "
                   "r\xc3\xa9sum\xc3\xa9 \xe2\x80\x99 \xe2\x80 \xf0\x9f\x98\x80",
                   0);
    assert_string_equal(a.title, "Caf\xc3\xa9 owner");
    assert_string_equal(a.body, "\xe2\x80\x9cNa\xc3\xafve\xe2\x80\x9d "
                                "\xe2\x82\xac 5 \xe2\x80\x93 r\xc3\xa9sum\xc3\xa9 "
                                "\xe2\x80\x99 \xc3\xa2\xe2\x82\xac "
                                "\xf0\x9f\x98\x80");
    assert_int_equal(a.replaced, 8);
    trawl_article_clear(&a);

    trawl_err err = {0};
    static const char *empty[] = {"", "\n\n  \n\t\n", "Go to contents\n\n"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(trawl_article_parse_text(&a, "e", empty[i],
                                                  strlen(empty[i]), 0, &err),
                         TRAWL_EINVAL);
        assert_string_equal(err.msg, "empty article");
        assert_null(a.id);
    }
}

/* A mail or news message kept as a text file (20 Newsgroups, Usenet and
 * mailing list archives): Subject is the title, From's name the author,
 * Date (also RFC 822's two-digit years) the date, and the header is no
 * part of the body. */
static void test_text_mail_header(void **state)
{
    (void)state;
    trawl_article a = parse_text(
        "Newsgroups: sci.space\n"
        "Path: news!example\n"
        "From: jdoe@example.edu (John Doe)\n"
        "Subject: Re: Shuttle launch\n"
        "\tdelayed again\n"
        "Date: 5 Apr 93 12:00:00 GMT\n"
        "Lines: 2\n"
        "\n"
        "In article <1@x>, ann@example.com writes:\nThe launch slipped.\n",
        7);
    assert_string_equal(a.title, "Re: Shuttle launch delayed again");
    assert_string_equal(a.author, "John Doe");
    assert_int_equal(a.date, iso("1993-04-05") + 12 * 3600);
    assert_string_equal(a.body,
                        "In article <1@x>, ann@example.com writes:\n"
                        "The launch slipped.");
    trawl_article_clear(&a);

    /* "Name <address>", a four-digit year with a zone and its comment,
     * two-digit years of this century, a bare address. */
    a = parse_text("From: \"Doe, Jane\" <jane@example.com>\n"
                   "To: list@example.org\n"
                   "Date: Mon, 05 Apr 1993 08:00:00 -0400 (EDT)\n\nText.\n",
                   7);
    assert_string_equal(a.author, "Doe, Jane");
    assert_string_equal(a.title, "Text.");
    assert_int_equal(a.date, iso("1993-04-05") + 12 * 3600);
    trawl_article_clear(&a);
    a = parse_text("Subject: Orbit\nFrom: <ann@example.com>\n"
                   "Date: 1 Jan 04 00:00 GMT\n\nText.\n",
                   7);
    assert_string_equal(a.title, "Orbit");
    assert_string_equal(a.author, "ann@example.com");
    assert_int_equal(a.date, iso("2004-01-01"));
    trawl_article_clear(&a);

    /* The article's own keys win over the message's. */
    a = parse_text("Title: The Title\nAuthor: Ann Lee\nFrom: x@example.com\n"
                   "Subject: Other\n\nText.\n",
                   7);
    assert_string_equal(a.title, "The Title");
    assert_string_equal(a.author, "Ann Lee");
    assert_string_equal(a.body, "Text.");
    trawl_article_clear(&a);

    /* One mail key alone, or no From/Subject, is no header: prose that
     * starts with "To: ..." stays text. */
    a = parse_text("To: the editor\nI write about the bridge.\n\nx\n", 7);
    assert_string_equal(a.title, "To: the editor");
    trawl_article_clear(&a);
    a = parse_text("Organization: Example\nLines: 3\n\nBody.\n", 7);
    assert_string_equal(a.title, "Organization: Example");
    trawl_article_clear(&a);
}

/* A scraper's URL line and date line above the title (the livedoor news
 * corpus) give the url and the date; either alone stays the title. */
static void test_text_url_date_lines(void **state)
{
    (void)state;
    trawl_article a = parse_text("http://news.example.jp/article/4609913/\n"
                                 "2010-02-17T14:55:00+0900\n"
                                 "Snowboarder withdraws\nShe fell.\n",
                                 7);
    assert_string_equal(a.title, "Snowboarder withdraws");
    assert_string_equal(a.url, "http://news.example.jp/article/4609913/");
    assert_int_equal(a.date, iso("2010-02-17") + 5 * 3600 + 55 * 60);
    assert_string_equal(a.body, "She fell.");
    trawl_article_clear(&a);
    a = parse_text("\nMarch 5, 2024\n\nhttps://example.com/a\nTitle\nx\n", 7);
    assert_string_equal(a.title, "Title");
    assert_string_equal(a.url, "https://example.com/a");
    assert_int_equal(a.date, iso("2024-03-05"));
    trawl_article_clear(&a);

    /* A header's URL and date win. */
    a = parse_text("Date: 2020-01-01\nURL: https://h/x\n\nhttps://b/y\n"
                   "2010-02-17\nTitle\nx\n",
                   7);
    assert_string_equal(a.url, "https://h/x");
    assert_int_equal(a.date, iso("2020-01-01"));
    assert_string_equal(a.title, "Title");
    trawl_article_clear(&a);

    /* Alone, or with a year only, they are the title. */
    a = parse_text("https://example.com/a\nText of a link post.\n", 7);
    assert_string_equal(a.title, "https://example.com/a");
    assert_null(a.url);
    trawl_article_clear(&a);
    a = parse_text("September 11, 2001\nThe day began.\n", 7);
    assert_string_equal(a.title, "September 11, 2001");
    assert_int_equal(a.date, 7);
    trawl_article_clear(&a);
    a = parse_text("https://example.com/a\n2001\nText.\n", 7);
    assert_string_equal(a.title, "https://example.com/a");
    assert_null(a.url);
    trawl_article_clear(&a);
}

/* Front matter bylines given as lists (YAML flow and block sequences,
 * TOML arrays; Hugo's "authors") read as the names joined with ", ". */
static void test_front_matter_author_list(void **state)
{
    (void)state;
    trawl_article a = parse_text("---\ntitle: T\nauthor: [\"Jane Doe\", "
                                 "'John Roe']\n---\nBody.\n",
                                 0);
    assert_string_equal(a.author, "Jane Doe, John Roe");
    assert_int_equal(a.author_len, strlen("Jane Doe, John Roe"));
    trawl_article_clear(&a);
    a = parse_text("---\ntitle: T\nauthors:\n  - Ann Lee\n  - \"Bo, Ek\"\n"
                   "date: 2024-03-06\n---\nBody.\n",
                   0);
    assert_string_equal(a.author, "Ann Lee, Bo, Ek");
    assert_int_equal(a.date, iso("2024-03-06"));
    assert_string_equal(a.body, "Body.");
    trawl_article_clear(&a);
    a = parse_text("+++\ntitle = \"T\"\nauthors = [\"Li Wei\", \"Jane "
                   "Doe\"]\n+++\nBody.\n",
                   0);
    assert_string_equal(a.author, "Li Wei, Jane Doe");
    trawl_article_clear(&a);
    /* A plain byline is as it was; an empty list is none. */
    a = parse_text("---\nauthor: Jane Doe\n---\nBody.\n", 0);
    assert_string_equal(a.author, "Jane Doe");
    trawl_article_clear(&a);
    a = parse_text("---\nauthors: []\n---\nBody.\n", 0);
    assert_null(a.author);
    trawl_article_clear(&a);
}

static void test_text_header(void **state)
{
    (void)state;
    trawl_article a = parse_text("Title: Head Title\n"
                                 "date: 2025-12-17\n"
                                 "Author:  Jane Doe \n"
                                 "URL: https://example.com/a\n"
                                 "Tags: x, y\n"
                                 "\n"
                                 "Body starts here.\nPosted Jan 1, 2020\n",
                                 5);
    assert_string_equal(a.title, "Head Title");
    assert_string_equal(a.author, "Jane Doe");
    assert_int_equal(a.author_len, 8);
    assert_string_equal(a.url, "https://example.com/a");
    assert_int_equal(a.date, iso("2025-12-17"));
    assert_string_equal(a.body, "Body starts here.\nPosted Jan 1, 2020");
    trawl_article_clear(&a);

    /* Header without a title: the first body line is the title. */
    a = parse_text("Date: Dec 17, 2025\n\nThe Title\n\nText.", 5);
    assert_string_equal(a.title, "The Title");
    assert_string_equal(a.body, "Text.");
    assert_int_equal(a.date, iso("2025-12-17"));
    trawl_article_clear(&a);

    /* A bad header date falls back to a Posted line, then the fallback. */
    a = parse_text("Title: T\nDate: someday\n\nPosted: Dec 17, 2025\nx", 5);
    assert_int_equal(a.date, iso("2025-12-17"));
    trawl_article_clear(&a);
    a = parse_text("Title: T\nDate: someday\n\nx", 5);
    assert_int_equal(a.date, 5);
    trawl_article_clear(&a);

    /* "Title:" followed by prose is not a header block. */
    a = parse_text("Title: what it means\nand a second line of prose\n\nx",
                   0);
    assert_string_equal(a.title, "Title: what it means");
    assert_string_equal(a.body, "and a second line of prose\n\nx");
    trawl_article_clear(&a);

    /* Markdown front matter: its fields, quotes dropped, other keys and
     * nested ones left out of the article. */
    a = parse_text("---\n"
                   "layout: post\n"
                   "title: \"Front: Matter\"\n"
                   "date: 2025-12-17T08:34:00Z\n"
                   "author: 'Ann'\n"
                   "tags:\n"
                   "  - x\n"
                   "  - title: nested\n"
                   "---\n"
                   "\n"
                   "Body text.\n",
                   5);
    assert_string_equal(a.title, "Front: Matter");
    assert_string_equal(a.author, "Ann");
    assert_int_equal(a.date, iso("2025-12-17T08:34:00Z"));
    assert_string_equal(a.body, "Body text.");
    trawl_article_clear(&a);
    /* Without a title in it: the first line after it. */
    a = parse_text("---\ndate: Dec 17, 2025\n...\n# Heading\n\nText.", 5);
    assert_string_equal(a.title, "Heading");
    assert_string_equal(a.body, "Text.");
    assert_int_equal(a.date, iso("2025-12-17"));
    trawl_article_clear(&a);
    /* Jekyll's front matter date, with its zone after a space: it was
     * unreadable, and the file's modification time dated the post. */
    a = parse_text("---\nlayout: post\ntitle: J\n"
                   "date: 2016-03-20 23:00:00 -0500\n---\nText.\n",
                   5);
    assert_int_equal(a.date, iso("2016-03-21T04:00:00Z"));
    trawl_article_clear(&a);
    /* The date under the names site generators give it (Astro's
     * pubDate, Hugo's publishDate): they were left out, and the file's
     * modification time dated the article. Jekyll's "published: false"
     * is no date and does not hide the date: that follows. */
    a = parse_text("---\ntitle: 'Astro'\npubDate: 'Jul 08 2022'\n---\nx\n",
                   5);
    assert_int_equal(a.date, iso("2022-07-08"));
    trawl_article_clear(&a);
    a = parse_text("+++\npublishDate = 2024-01-02T03:04:05Z\n+++\nx\n", 5);
    assert_int_equal(a.date, iso("2024-01-02T03:04:05Z"));
    trawl_article_clear(&a);
    a = parse_text("---\npublished: false\ndate: 2016-03-20\n---\nx\n", 5);
    assert_int_equal(a.date, iso("2016-03-20"));
    trawl_article_clear(&a);
    /* Escapes in a double-quoted value, doubled quotes in a single-quoted
     * one: the title showed the backslashes and both quotes. */
    a = parse_text("---\n"
                   "title: \"Trump says \\\"no\\\" \\u00e9t\\u00E9 \\\\ \\q\"\n"
                   "author: 'It''s Ann'\n"
                   "---\nx\n",
                   5);
    assert_string_equal(a.title, "Trump says \"no\" \xc3\xa9t\xc3\xa9 \\ \\q");
    assert_string_equal(a.author, "It's Ann");
    trawl_article_clear(&a);
    a = parse_text("+++\ntitle = \"A \\\"b\\\" \\U0001F600\"\n+++\nx\n", 5);
    assert_string_equal(a.title, "A \"b\" \xf0\x9f\x98\x80");
    trawl_article_clear(&a);
    /* An unquoted value keeps its backslashes. */
    a = parse_text("---\ntitle: C:\\path \\\"x\n---\nx\n", 5);
    assert_string_equal(a.title, "C:\\path \\\"x");
    trawl_article_clear(&a);
    /* TOML front matter (Hugo): "+++" lines around key = value; keys of
     * a [table] are not the article's. Was taken as text: the title was
     * "+++" and the date the file's. */
    a = parse_text("+++\n"
                   "title = \"Hugo Post\"\n"
                   "date = 2024-05-09T10:00:00Z\n"
                   "author='Bo'\n"
                   "draft = false\n"
                   "[params]\n"
                   "title = \"nested\"\n"
                   "+++\n"
                   "\n"
                   "Body text.\n",
                   5);
    assert_string_equal(a.title, "Hugo Post");
    assert_string_equal(a.author, "Bo");
    assert_int_equal(a.date, iso("2024-05-09T10:00:00Z"));
    assert_string_equal(a.body, "Body text.");
    trawl_article_clear(&a);
    /* "---" does not close TOML, "+++" does not close YAML. */
    a = parse_text("+++\ntitle = \"T\"\n---\nx\n", 5);
    assert_string_equal(a.title, "+++");
    trawl_article_clear(&a);
    /* A YAML block scalar: its indented lines, joined (the title was
     * ">"). */
    a = parse_text("---\n"
                   "title: >-\n"
                   "  A folded\n"
                   "  long title\n"
                   "date: 2024-05-11\n"
                   "author: |\n"
                   "   Ann\n"
                   "---\n"
                   "Body.\n",
                   5);
    assert_string_equal(a.title, "A folded long title");
    assert_string_equal(a.author, "Ann");
    assert_int_equal(a.date, iso("2024-05-11"));
    assert_string_equal(a.body, "Body.");
    trawl_article_clear(&a);
    /* An empty block scalar leaves the title to the text. */
    a = parse_text("---\ntitle: >\n---\nFirst line\nrest\n", 5);
    assert_string_equal(a.title, "First line");
    assert_string_equal(a.body, "rest");
    trawl_article_clear(&a);
    /* A rule that is never closed is text, not front matter. */
    a = parse_text("---\nSome words\n", 5);
    assert_string_equal(a.title, "---");
    assert_string_equal(a.body, "Some words");
    trawl_article_clear(&a);

    /* Header that runs to the end of the file. */
    a = parse_text("Title: Just this\nURL: u", 0);
    assert_string_equal(a.title, "Just this");
    assert_string_equal(a.url, "u");
    assert_string_equal(a.body, "");
    trawl_article_clear(&a);
}

static void test_text_posted(void **state)
{
    (void)state;
    int64_t want = iso("2025-12-17T08:34:00Z");
    trawl_article a = parse_text("Go to contents\n\nSouth Korea-U.S. talks\n\n"
                                 "Posted December. 17, 2025 08:34,   \n\n"
                                 "Updated December. 18, 2025 08:34\n\n"
                                 "Body text.\n",
                                 0);
    assert_string_equal(a.title, "South Korea-U.S. talks");
    assert_int_equal(a.date, want);
    trawl_article_clear(&a);

    a = parse_text("T\n  published on 17 December 2025 by X\nb", 0);
    assert_int_equal(a.date, iso("2025-12-17"));
    trawl_article_clear(&a);
    a = parse_text("T\nUpdated: 2025-12-17T10:00:00Z\nb", 0);
    assert_int_equal(a.date, iso("2025-12-17T10:00:00Z"));
    trawl_article_clear(&a);

    /* Not a date line: keyword inside a sentence, or no date after it. */
    a = parse_text("T\nThe report was Posted Dec 17, 2025\nPosted yesterday\n"
                   "Postedx Dec 17, 2025\nb",
                   7);
    assert_int_equal(a.date, 7);
    trawl_article_clear(&a);

    /* Only the first 40 lines are searched. */
    char buf[2048];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "T\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "line %d\n", i);
    snprintf(buf + o, sizeof(buf) - o, "Posted Dec 17, 2025\n");
    a = parse_text(buf, 7);
    assert_int_equal(a.date, 7);
    trawl_article_clear(&a);
}

static void test_seed_files(void **state)
{
    (void)state;
    const char *src = getenv("TRAWL_FIXTURES");
    char path[1024];
    /* TRAWL_FIXTURES is <repo>/tests/fixtures; the seeds are in corpus/. */
    if (src == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/../../corpus/seeds/000_7ee00924eb371e5f.txt",
             src);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        skip();
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof(text), f);
    fclose(f);
    trawl_article a;
    trawl_err err = {0};
    assert_int_equal(trawl_article_parse_text(&a, "seeds/000.txt", text, n,
                                              TRAWL_NO_DATE, &err),
                     0);
    assert_string_equal(a.title,
                        "South Korea-U.S. begin talks on North Korea policy");
    char d[11];
    trawl_format_date(a.date, d);
    assert_string_equal(d, "2025-12-17");
    assert_true(strncmp(a.body, "Posted December. 17", 19) == 0);
    trawl_article_clear(&a);
}

static trawl_article parse_json_ok(const char *line)
{
    trawl_article a;
    trawl_err err = {0};
    int rc = trawl_article_parse_json(&a, line, strlen(line), &err);
    if (rc != 0)
        fail_msg("parse_json failed: %s", err.msg);
    assert_non_null(a.title);
    assert_non_null(a.body);
    return a;
}

static void json_err(const char *line, size_t len, const char *want)
{
    trawl_article a;
    trawl_err err = {0};
    assert_int_equal(trawl_article_parse_json(&a, line, len, &err),
                     TRAWL_EINVAL);
    assert_int_equal(err.code, TRAWL_EINVAL);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
    assert_null(a.id);
    assert_null(a.body);
}

static void test_json(void **state)
{
    (void)state;
    trawl_article a = parse_json_ok(
        "{\"id\":\"a/1\",\"title\":\"T\",\"body\":\"B \\u00e9\","
        "\"date\":\"2025-12-17T08:34:00Z\",\"author\":\"Ann\","
        "\"url\":\"http://x\",\"tags\":[\"a\",\"b\"],\"score\":1.5,"
        "\"nested\":{\"k\":null}}");
    assert_string_equal(a.id, "a/1");
    assert_int_equal(a.id_len, 3);
    assert_string_equal(a.title, "T");
    assert_string_equal(a.body, "B é");
    assert_int_equal(a.body_len, 4);
    assert_string_equal(a.author, "Ann");
    assert_string_equal(a.url, "http://x");
    assert_int_equal(a.date, iso("2025-12-17T08:34:00Z"));
    assert_string_equal(a.extra,
                        "{\"tags\":[\"a\",\"b\"],\"score\":1.5,"
                        "\"nested\":{\"k\":null}}");
    assert_int_equal(a.extra_len, strlen(a.extra));
    trawl_article_clear(&a);

    /* Integer id, no title, no date, nothing extra, spaces around. */
    a = parse_json_ok("  {\"body\":\"\",\"id\":12345678901}  ");
    assert_string_equal(a.id, "12345678901");
    assert_string_equal(a.title, "");
    assert_string_equal(a.body, "");
    assert_int_equal(a.date, TRAWL_NO_DATE);
    assert_null(a.author);
    assert_null(a.url);
    assert_null(a.extra);
    trawl_article_clear(&a);

    a = parse_json_ok("{\"id\":-7,\"body\":\"b\",\"title\":null,"
                      "\"author\":null,\"date\":86400}");
    assert_string_equal(a.id, "-7");
    assert_string_equal(a.title, "");
    assert_null(a.author);
    assert_int_equal(a.date, 86400);
    trawl_article_clear(&a);

    json_err("", 0, "bad JSON");
    json_err("{\"id\":", 6, "bad JSON");
    json_err("[1,2]", 5, "line is not a JSON object");
    json_err("\"str\"", 5, "line is not a JSON object");
    json_err("{\"id\":\"x\"}", 10, "missing string field \"body\"");
    json_err("{\"id\":\"x\",\"body\":3}", 19, "field \"body\" is not a string");
    json_err("{\"body\":\"b\"}", 12, "missing field \"id\"");
    /* A line of another tool's export names the field it has. */
    json_err("{\"id\":\"x\",\"text\":\"b\"}", 21,
             "missing string field \"body\" (the text is read from \"body\", "
             "not \"text\")");
    json_err("{\"id\":\"x\",\"content\":\"b\",\"n\":1}", 30,
             "not \"content\")");
    json_err("{\"id\":1.5,\"body\":\"b\"}", 21, "\"id\"");
    json_err("{\"id\":\"\",\"body\":\"b\"}", 20, "\"id\" is empty");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"title\":[]}", 32,
             "field \"title\" is not a string");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"2025-13-01\"}", 41,
             "bad date \"2025-13-01\"");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":true}", 33,
             "field \"date\" is not a string or a number");
    /* seconds with a fraction, as Python's time.time() writes them: the
     * second they fall in (they made the line bad input) */
    a = parse_json_ok("{\"id\":\"f\",\"body\":\"b\",\"date\":1765960440.75}");
    assert_int_equal(a.date, 1765960440);
    trawl_article_clear(&a);
    a = parse_json_ok("{\"id\":\"f\",\"body\":\"b\",\"date\":-0.5}");
    assert_int_equal(a.date, -1);
    trawl_article_clear(&a);
    a = parse_json_ok("{\"id\":\"f\",\"body\":\"b\",\"date\":86400.0}");
    assert_int_equal(a.date, 86400);
    trawl_article_clear(&a);
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":1e300}", 34,
             "out of range");
    /* Whole seconds outside years 1..9999, milliseconds above all, on
     * both parsing paths (the fast one takes up to 18 digits): they were
     * dated 9999-12-31 (or 0000-01-01), shown as such and sorted first. */
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":1700000000000}", 42,
             "bad date 1700000000000 (seconds since 1970 out of range: "
             "years 1..9999; milliseconds?)");
    json_err("{\"body\":\"b\",\"date\":1700000000000,\"id\":\"x\"}", 42,
             "milliseconds?");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":253402300800}", 41,
             "out of range: years 1..9999");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":-62135596801}", 41,
             "out of range");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":-9223372036854775808}",
             49, "out of range");
    a = parse_json_ok("{\"id\":\"f\",\"body\":\"b\",\"date\":253402300799}");
    assert_int_equal(a.date, 253402300799);
    trawl_article_clear(&a);
    a = parse_json_ok("{\"id\":\"f\",\"body\":\"b\",\"date\":-62135596800}");
    assert_int_equal(a.date, -62135596800);
    trawl_article_clear(&a);
    /* Not a zone: still bad. */
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"2016-03-20 23:00:00 +2500\"}",
             56, "bad date");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"2016-03-20 23:00:00 utter\"}",
             56, "bad date");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"2016-03-20T23:00+5x\"}", 50,
             "bad date");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"someday\"}", 38,
             "bad date \"someday\"");
    json_err("{\"id\":\"x\",\"body\":\"b\",\"date\":\"2025-13\"}", 38,
             "bad date");
    json_err("{\"id\":\"x\",\"id\":\"y\",\"body\":\"b\"}", 29, "bad JSON");
    json_err("{\"id\":\"x\\u0000\",\"body\":\"b\"}", 27,
             "field \"id\" holds a NUL character");
    const char bad[] = "{\"id\":\"x\",\"body\":\"\xff\"}";
    json_err(bad, sizeof(bad) - 1, "invalid UTF-8");
    const char bad2[] = "{\"id\":\"x\",\"body\":\"\xed\xa0\x80\"}";
    json_err(bad2, sizeof(bad2) - 1, "invalid UTF-8");
    /* Dates as news feeds write them, and a month or a year alone (its
     * first day), on both parsing paths. */
    static const struct {
        const char *date, *iso;
    } dates[] = {
        {"Wed, 17 Dec 2025 08:34:00 +0000", "2025-12-17T08:34:00Z"},
        {"December 17, 2025", "2025-12-17"},
        {"2025/12/17", "2025-12-17"},
        {"2025-12", "2025-12-01"},
        {"2025", "2025-01-01"},
        /* A zone after a space (Jekyll's "2016-03-20 12:00:00 -0500",
         * SQL dumps' "... +00:00"), named ones of RFC 2822: they were
         * bad dates. */
        {"2016-03-20 23:00:00 -0500", "2016-03-21T04:00:00Z"},
        {"2016-03-20 23:00:00 +05:30", "2016-03-20T17:30:00Z"},
        {"2016-03-20 23:00:00 UTC", "2016-03-20T23:00:00Z"},
        {"2016-03-20T23:00:00 Z", "2016-03-20T23:00:00Z"},
        {"Sun, 20 Mar 2016 23:00:00 EST", "2016-03-21T04:00:00Z"},
        {"March 20, 2016 11:30 pm PDT", "2016-03-21T06:30:00Z"},
        /* Java's ZonedDateTime (RFC 9557: the zone's name after the
         * offset, which stands) and ISO 8601's basic form: they were
         * bad dates, the articles undated. */
        {"2024-02-29T23:59:59+01:00[Europe/Paris]", "2024-02-29T22:59:59Z"},
        {"2024-02-29T10:00:00Z[UTC]", "2024-02-29T10:00:00Z"},
        {"2024-02-29T10:00:00.123-05:00[America/New_York][u-ca=iso8601]",
         "2024-02-29T15:00:00Z"},
        {"20240229", "2024-02-29"},
        {"20240229T235959Z", "2024-02-29T23:59:59Z"},
        {"20240229T2359+0100", "2024-02-29T22:59:00Z"},
    };
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        char line[160];
        snprintf(line, sizeof(line),
                 "{\"id\":\"d\",\"body\":\"b\",\"date\":\"%s\"}", dates[i].date);
        a = parse_json_ok(line);
        assert_int_equal(a.date, iso(dates[i].iso));
        trawl_article_clear(&a);
        trawl_err e2 = {0};
        assert_int_equal(trawl__article_parse_json_slow(&a, line, strlen(line),
                                                        &e2),
                         0);
        assert_int_equal(a.date, iso(dates[i].iso));
        trawl_article_clear(&a);
    }
    /* Length is honoured: a trailing newline-less slice of a buffer. */
    const char two[] = "{\"id\":\"1\",\"body\":\"b\"}{\"id\":\"2\"}";
    trawl_err err = {0};
    assert_int_equal(trawl_article_parse_json(&a, two, 21, &err), 0);
    assert_string_equal(a.id, "1");
    trawl_article_clear(&a);
}


static void same_field(const char *what, const char *line, const char *x,
                       size_t xn, const char *y, size_t yn)
{
    if ((x == NULL) != (y == NULL) || xn != yn ||
        (x != NULL && memcmp(x, y, xn) != 0))
        fail_msg("fast and slow paths differ in %s for %s", what, line);
}

/* The fast path must give exactly what jansson gives: the same article or
 * the same error. */
static void json_same(const char *line, size_t len)
{
    trawl_article a, b;
    trawl_err ea = {0}, eb = {0};
    int ra = trawl_article_parse_json(&a, line, len, &ea);
    int rb = trawl__article_parse_json_slow(&b, line, len, &eb);
    if (ra != rb || strcmp(ea.msg, eb.msg) != 0)
        fail_msg("fast and slow paths differ for %.*s: %d \"%s\" / %d \"%s\"",
                 (int)len, line, ra, ea.msg, rb, eb.msg);
    same_field("id", line, a.id, a.id_len, b.id, b.id_len);
    same_field("title", line, a.title, a.title_len, b.title, b.title_len);
    same_field("body", line, a.body, a.body_len, b.body, b.body_len);
    same_field("author", line, a.author, a.author_len, b.author,
               b.author_len);
    same_field("url", line, a.url, a.url_len, b.url, b.url_len);
    same_field("extra", line, a.extra, a.extra_len, b.extra, b.extra_len);
    assert_true(a.date == b.date);
    assert_true(a.replaced == b.replaced);
    trawl_article_clear(&a);
    trawl_article_clear(&b);
}

/* 20,000 records made from base by one to three random edits (a byte of
 * alphabet replaced, inserted, or a byte deleted; seeded): each read the
 * same by the fast path and by jansson (json_same). */
static void json_mutations(const char *base, const char *alphabet,
                           unsigned seed)
{
    size_t len = strlen(base), na = strlen(alphabet);
    char *buf = malloc(len + 8);
    assert_non_null(buf);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = len;
        memcpy(buf, base, n);
        int edits = 1 + iter % 3;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            char c = alphabet[(seed >> 8) % na];
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 8) % 3) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default: /* insert */
                if (n + 1 < len + 8) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                }
            }
        }
        json_same(buf, n);
    }
    free(buf);
}

static void test_json_fast_path(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{\"id\":\"a\",\"body\":\"b\"}",
        " \t{ \"id\" : \"a\" ,\r\n \"body\" : \"b\" } \n",
        "{\"id\":\"a\",\"title\":\"T\",\"body\":\"B\",\"date\":\"2025-12-17\","
        "\"author\":\"A\",\"url\":\"U\"}",
        "{\"id\":\"a\",\"body\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t.\"}",
        "{\"id\":\"a\",\"body\":\"\\u00e9\\u20AC\\ud83d\\ude00\\u0041\"}",
        "{\"id\":\"a\",\"body\":\"\\ud83d\"}",
        "{\"id\":\"a\",\"body\":\"\\ude00\"}",
        "{\"id\":\"a\",\"body\":\"\\ud83d\\u0041\"}",
        "{\"id\":\"a\",\"body\":\"\\u0000\"}",
        "{\"id\":\"a\",\"body\":\"\\u00g0\"}",
        "{\"id\":\"a\",\"body\":\"\\x\"}",
        "{\"id\":\"a\",\"body\":\"tab\there\"}",
        "{\"id\":\"a\",\"body\":\"\\u00e9",
        "{\"id\":\"a\",\"body\":\"b\"",
        "{\"id\":\"a\",\"body\":\"b\",}",
        "{\"id\":\"a\",\"body\":\"b\"} x",
        "{\"id\":\"a\",\"body\":\"b\"}}",
        "{\"id\":\"a\" \"body\":\"b\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"id\":\"c\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":1}",
        "{\"i\\u0064\":\"a\",\"body\":\"b\"}",
        "{\"id\":\"\",\"body\":\"b\"}",
        "{\"id\":null,\"body\":\"b\"}",
        "{\"id\":true,\"body\":\"b\"}",
        "{\"id\":0,\"body\":\"b\"}",
        "{\"id\":-0,\"body\":\"b\"}",
        "{\"id\":-12,\"body\":\"b\"}",
        "{\"id\":012,\"body\":\"b\"}",
        "{\"id\":1.0,\"body\":\"b\"}",
        "{\"id\":1e3,\"body\":\"b\"}",
        "{\"id\":-,\"body\":\"b\"}",
        "{\"id\":123456789012345678,\"body\":\"b\"}",
        "{\"id\":1234567890123456789,\"body\":\"b\"}",
        "{\"id\":99999999999999999999,\"body\":\"b\"}",
        "{\"id\":\"a\",\"body\":null}",
        "{\"id\":\"a\",\"body\":7}",
        "{\"id\":\"a\"}",
        "{\"body\":\"b\"}",
        "{}",
        "",
        "[]",
        "\"s\"",
        "{\"id\":\"a\",\"body\":\"b\",\"title\":null,\"author\":null,"
        "\"url\":null,\"date\":null}",
        "{\"id\":\"a\",\"body\":\"b\",\"title\":1}",
        "{\"id\":\"a\",\"body\":\"b\",\"author\":2}",
        "{\"id\":\"a\",\"body\":\"b\",\"url\":\"\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":86400}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":-86400}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":\"2025-13-01\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":\"2025-12-17T08:34:00+09:00\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":nul}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":nulls}",
        "{\"id\":\"a\",\"body\":\"b\",\"date\":[]}",
        "{\"id\":\"\xc3\xa9\",\"body\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "\xef\xbb\xbf{\"id\":\"a\",\"body\":\"b\"}",
        "{\"id\":\"a\",\"body\":\"b\"}\f",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
        json_same(lines[i], strlen(lines[i]));
    /* A NUL inside and right after the object. */
    json_same("{\"id\":\"a\",\"body\":\"b\0\"}", 21);
    json_same("{\"id\":\"a\",\"body\":\"b\"}\0", 21);

    /* Random mutations of a record: JSON punctuation, escapes and bytes
     * in and out of strings. */
    static const char base[] =
        "{\"id\":\"x/1\",\"title\":\"Caf\\u00e9 \\\"T\\\"\",\"body\":\"one two\\n"
        "three\",\"date\":\"2025-12-17\",\"author\":null,\"url\":\"u\"}";
    static const char alphabet[] = "{}[]:,\"\\/ u0123456789abcdefnrtl-.eE\t\r";
    json_mutations(base, alphabet, 12345);
}

/*
 * Members no field reads (HuffPost's "category", news-please's
 * "language", a list of tags) are kept by the fast path too, as the text
 * jansson's compact dump gives: real records have them, and the slow
 * path cost twice the time of a short record. Both paths must give the
 * same extra fields byte for byte, or the same error.
 */
static void test_json_fast_extra(void **state)
{
    (void)state;
    static const char *const fast[] = {
        "{\"id\":\"a\",\"body\":\"b\",\"category\":\"U.S. NEWS\"}",
        "{\"category\":\"C\",\"id\":\"a\",\"n\":-0,\"body\":\"b\",\"ok\":true,"
        "\"no\":false,\"z\":null,\"tags\":[\"x\", 1 ,null,true],\"e\":[ ]}",
        "{\"id\":\"a\",\"body\":\"b\",\"s\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t"
        "\\u0001\\u001f\\u007f\\u00e9\\u2028\\ud83d\\ude00\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"k\xc3\xa9/\x7f\":\"v\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"big\":123456789012345678}",
    };
    for (size_t i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
        trawl_article a;
        if (trawl__article_parse_json_fields_fast(&a, fast[i],
                                                  strlen(fast[i]),
                                                  NULL) != 1)
            fail_msg("not read by the fast path: %s", fast[i]);
        trawl_article_clear(&a);
        json_same(fast[i], strlen(fast[i]));
    }
    /* Left to jansson (and the same answer): reals, objects, nested
     * arrays, duplicates, bad syntax in an extra member. */
    static const char *const slow[] = {
        "{\"id\":\"a\",\"body\":\"b\",\"r\":1.5}",
        "{\"id\":\"a\",\"body\":\"b\",\"o\":{\"x\":1}}",
        "{\"id\":\"a\",\"body\":\"b\",\"t\":[[1]]}",
        "{\"id\":\"a\",\"body\":\"b\",\"t\":[{\"name\":\"x\"}]}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":1,\"x\":2}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":[1,]}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":[1 2]}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":tru}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":\"\\u0000\"}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":99999999999999999999}",
        "{\"id\":\"a\",\"body\":\"b\",\"x\":1e5}",
    };
    for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
        json_same(slow[i], strlen(slow[i]));

    /* Every byte value in an extra string, one at a time. */
    for (int c = 1; c < 256; c++) {
        char line[64];
        int n = snprintf(line, sizeof(line),
                         "{\"id\":\"a\",\"body\":\"b\",\"x\":\"<%c>\"}", c);
        json_same(line, (size_t)n);
    }

    /* Random mutations of a record with extra members. */
    static const char base[] =
        "{\"id\":\"x/1\",\"category\":\"WORLD \\u00e9\",\"title\":\"T\","
        "\"body\":\"one\\ntwo\",\"tags\":[\"a\",\"b\\\"c\",7,null],"
        "\"n\":-12,\"ok\":true,\"url\":\"u\"}";
    static const char alphabet[] = "{}[]:,\"\\/ u0123456789abcdefnrtl-.eE";
    json_mutations(base, alphabet, 4242);
}

/*
 * Windows tools save "Unicode" text as UTF-16 with a byte order mark: it
 * was read as bytes, and its NULs were stored (clients that read JSON
 * with jansson refuse a response holding "\u0000"). Now UTF-16 (LE or
 * BE) is decoded; other text with NUL bytes is binary and refused; zeros
 * only at the end are dropped.
 */
static void test_utf16_and_nul(void **state)
{
    (void)state;
    trawl_article a;
    trawl_err err;
    /* "Title: Caf\u00e9\n\nA \U0001F600 b\n" */
    static const unsigned short units[] = {
        'T', 'i', 't', 'l', 'e', ':', ' ', 'C', 'a', 'f', 0xe9, '\r', '\n',
        '\r', '\n', 'A', ' ', 0xd83d, 0xde00, ' ', 'b', '\n'};
    size_t nu = sizeof(units) / sizeof(units[0]);
    char le[64], be[64];
    le[0] = (char)0xff, le[1] = (char)0xfe, be[0] = (char)0xfe,
    be[1] = (char)0xff;
    for (size_t i = 0; i < nu; i++) {
        le[2 + 2 * i] = (char)(units[i] & 0xff);
        le[3 + 2 * i] = (char)(units[i] >> 8);
        be[2 + 2 * i] = (char)(units[i] >> 8);
        be[3 + 2 * i] = (char)(units[i] & 0xff);
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(trawl_article_parse_text(&a, "w.txt", k ? be : le,
                                                  2 + 2 * nu, 7, &err),
                         0);
        assert_string_equal(a.title, "Caf\xc3\xa9");
        assert_string_equal(a.body, "A \xf0\x9f\x98\x80 b");
        assert_int_equal(a.replaced, 0);
        trawl_article_clear(&a);
    }
    /* an unpaired surrogate and a last odd byte: U+FFFD, counted */
    static const char odd[] = "\xff\xfeT\0i\0t\0l\0e\0:\0 \0x\0\n\0\n\0"
                              "\x00\xd8y\0z";
    assert_int_equal(trawl_article_parse_text(&a, "o.txt", odd,
                                              sizeof(odd) - 1, 7, &err),
                     0);
    assert_string_equal(a.title, "x");
    assert_string_equal(a.body, "\xef\xbf\xbdy\xef\xbf\xbd");
    assert_int_equal(a.replaced, 2);
    trawl_article_clear(&a);

    /* binary: refused, with the line of the first NUL */
    static const char bin[] = "Title: x\n\nsome\n\x01\x00\x02 text";
    trawl_err_clear(&err);
    assert_int_equal(trawl_article_parse_text(&a, "b.txt", bin,
                                              sizeof(bin) - 1, 7, &err),
                     TRAWL_EINVAL);
    assert_non_null(strstr(err.msg, "binary file (a NUL byte on line 4)"));
    /* UTF-16 without a byte order mark is no text either */
    assert_int_equal(trawl_article_parse_text(&a, "n.txt", le + 2, 2 * nu,
                                              7, &err),
                     TRAWL_EINVAL);
    /* zeros only at the end (a tail zero-filled by a crash): dropped */
    static const char pad[] = "Title: x\n\nbody\n\0\0\0\0";
    assert_int_equal(trawl_article_parse_text(&a, "p.txt", pad,
                                              sizeof(pad) - 1, 7, &err),
                     0);
    assert_string_equal(a.body, "body");
    assert_int_equal(a.body_len, 4);
    trawl_article_clear(&a);
}

/*
 * Valid JSON that jansson refuses by default lost its article: "\u0000"
 * in a string (JSON allows it; a scraper's text may hold it) and an
 * unpaired surrogate escape (Python's json.dumps writes one for text read
 * with errors="surrogateescape"). NULs are dropped now (an id with one
 * is still refused), a lone surrogate is U+FFFD and counted, as invalid
 * UTF-8 in a text file is.
 */
static void test_json_nul_and_lone_surrogates(void **state)
{
    (void)state;
    trawl_article a;
    trawl_err err;
    static const char nul[] =
        "{\"id\":\"x\",\"title\":\"T\\u0000t\",\"body\":\"a\\u0000b c\","
        "\"author\":\"\\u0000\",\"url\":\"u\\u0000\",\"tags\":[\"p\\u0000q\"]}";
    assert_int_equal(trawl_article_parse_json(&a, nul, sizeof(nul) - 1,
                                              &err),
                     0);
    assert_string_equal(a.title, "Tt");
    assert_int_equal(a.title_len, 2);
    assert_string_equal(a.body, "ab c");
    assert_int_equal(a.body_len, 4);
    assert_string_equal(a.author, "");
    assert_string_equal(a.url, "u");
    assert_string_equal(a.extra, "{\"tags\":[\"pq\"]}");
    assert_int_equal(a.replaced, 0);
    trawl_article_clear(&a);

    static const char lone[] =
        "{\"id\":\"\\udc80\",\"body\":\"a\\ud800 b \\ud83d\\ude00 c "
        "\\\\ud800 d\\ud83d\\ud83d\\ude00\\udfff\"}";
    assert_int_equal(trawl_article_parse_json(&a, lone, sizeof(lone) - 1,
                                              &err),
                     0);
    assert_string_equal(a.id, "\xef\xbf\xbd");
    assert_string_equal(a.body, "a\xef\xbf\xbd b \xf0\x9f\x98\x80 c "
                                "\\ud800 d\xef\xbf\xbd\xf0\x9f\x98\x80"
                                "\xef\xbf\xbd");
    assert_int_equal(a.replaced, 4);
    trawl_article_clear(&a);
}

/*
 * A text file of one long line (scraped text without line breaks), or
 * one that starts with its first paragraph: that whole line was the
 * title (17 KB of it) and the body was empty, so no snippet was shown and
 * every word got the title's weight. A first line longer than 300 bytes
 * is no title now: it stays in the body and the article is untitled.
 */
static void test_long_first_line_is_body(void **state)
{
    (void)state;
    char text[1200];
    trawl_article a;
    trawl_err err;
    for (int len = 299; len <= 302; len++) {
        /* "word word ... word" of len bytes, then a second line */
        for (int n = 0; n < len; n++)
            text[n] = (n % 5 == 4) ? ' ' : 'w';
        text[len - 1] = 'x';
        memcpy(text + len, "\nsecond line", 13);
        assert_int_equal(trawl_article_parse_text(&a, "l.txt", text,
                                                  (size_t)len + 12, 7, &err),
                         0);
        if (len <= 300) {
            assert_int_equal(a.title_len, (size_t)len);
            assert_string_equal(a.body, "second line");
        } else {
            assert_string_equal(a.title, "");
            assert_int_equal(a.body_len, (size_t)len + 12);
            assert_memory_equal(a.body, text, (size_t)len + 12);
        }
        trawl_article_clear(&a);
    }
    /* a header's Title: is a title, however long */
    memcpy(text, "Title: ", 7);
    memset(text + 7, 't', 400);
    memcpy(text + 407, "\n\nbody", 7);
    assert_int_equal(trawl_article_parse_text(&a, "h.txt", text, 414, 7,
                                              &err),
                     0);
    assert_int_equal(a.title_len, 400);
    assert_string_equal(a.body, "body");
    trawl_article_clear(&a);
}

/*
 * Markdown around a title line was kept: "## Vote ##" showed its closing
 * hashes, "**Title**" and "[Title](url)" their markup, and a setext
 * underline ("=====") began the body (and its snippets).
 */
static void test_markdown_title_markup(void **state)
{
    (void)state;
    static const struct {
        const char *text, *title, *body;
    } cases[] = {
        {"Harbor Storm\n============\n\nThe port.", "Harbor Storm",
         "The port."},
        {"Rail Strike\n---\nUnions out.", "Rail Strike", "Unions out."},
        {"## Council Vote ##\n\nVoted.", "Council Vote", "Voted."},
        {"# C#\n\nx", "C#", "x"},
        {"# Issue #12\n\nx", "Issue #12", "x"},
        {"**Bold Title**\n\nx", "Bold Title", "x"},
        {"_Quiet Title_\n\nx", "Quiet Title", "x"},
        {"# [Link Title](https://example.com/a)\n\nx", "Link Title", "x"},
        /* not markup around the whole line: kept */
        {"[a](b) and [c](d)\n\nx", "[a](b) and [c](d)", "x"},
        {"_snake_case_name\n\nx", "_snake_case_name", "x"},
        {"** \n\nx", "**", "x"},
        {"Title\n\n=====\nx", "Title", "=====\nx"},
        /* classic Mac OS line ends */
        {"Mac Title\r\rFirst.\rSecond.\r", "Mac Title", "First.\nSecond."},
        {"Title: Hdr\rDate: 2024-01-02\r\rBody.", "Hdr", "Body."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trawl_article a = parse_text(cases[i].text, 0);
        if (strcmp(a.title, cases[i].title) != 0 ||
            strcmp(a.body, cases[i].body) != 0)
            fail_msg("%s: title '%s', body '%s'", cases[i].text, a.title,
                     a.body);
        trawl_article_clear(&a);
    }
}

/* A Date header (or front matter date) that cannot be read is named by
 * its line, so that the indexer can say how the article was dated
 * instead; a readable one, before or after it, clears it. */
static void test_unreadable_date_is_reported(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned long line;  /* bad_date_line */
        int64_t date;        /* a.date with fallback 7 */
    } cases[] = {
        {"Title: Leap\nDate: 2024-02-29T24:00:00Z\n\nBody.\n", 2, 7},
        {"Title: Ok\nDate: 2024-02-28\n\nBody.\n", 0, 1709078400},
        {"Title: Two\nDate: garbage\nDate: 2020-01-01\n\nBody.\n", 0,
         1577836800},
        {"Date:\nTitle: Empty\n\nBody.\n", 0, 7},
        {"---\ntitle: X\ndate: not a date\n---\nPosted March 3, 2021\n"
         "body\n", 3, 1614729600},
        {"No header at all\n\nBody.\n", 0, 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trawl_article a = parse_text(cases[i].text, 7);
        if (a.bad_date_line != cases[i].line || a.date != cases[i].date)
            fail_msg("case %zu: bad_date_line %lu date %lld, wanted %lu %lld",
                     i, a.bad_date_line, (long long)a.date, cases[i].line,
                     (long long)cases[i].date);
        trawl_article_clear(&a);
    }
}

/* A byline given as an array of names (news-please, CC-News:
 * "authors": ["Jane Doe", "John Roe"]) is one byline, the names joined
 * with ", "; the fast path leaves arrays to jansson, so both agree. */
static void test_json_author_array(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *author; /* NULL: none */
    } ok[] = {
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"Jane Doe\",\"John "
         "Roe\"]}", "Jane Doe, John Roe"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"Solo\"]}", "Solo"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[]}", NULL},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"\"]}", NULL},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"\",\"X\",\"\",\"Y\","
         "\"\"]}", "X, Y"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"A\\u0000B\","
         "\"\\u00c9mile\"]}", "AB, \xc3\x89mile"},
        {"{\"author\":[\"Ann\",\"Bo\"],\"id\":\"a\",\"body\":\"b\","
         "\"tags\":[\"x\"]}", "Ann, Bo"},
        /* names without the spaces around them; blank ones none */
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\" \",\" Ann Lee \","
         "\"\\n\\tBo\\n\"]}", "Ann Lee, Bo"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"  \"]}", NULL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        trawl_article a = parse_json_ok(ok[i].line);
        if (ok[i].author == NULL ? a.author != NULL
                                 : a.author == NULL ||
                                       strcmp(a.author, ok[i].author) != 0 ||
                                       a.author_len != strlen(ok[i].author))
            fail_msg("%s: author \"%s\", wanted \"%s\"", ok[i].line,
                     a.author != NULL ? a.author : "(null)",
                     ok[i].author != NULL ? ok[i].author : "(null)");
        assert_null(a.extra != NULL ? strstr(a.extra, "author") : NULL);
        trawl_article_clear(&a);
        json_same(ok[i].line, strlen(ok[i].line));
    }

    /* Read from another member: the message names it and the field. */
    trawl_json_fields f;
    trawl_err err = {0};
    memset(&f, 0, sizeof(f));
    assert_int_equal(trawl_json_fields_set(&f, "author=authors", &err), 0);
    trawl_article a;
    static const char np[] =
        "{\"id\":\"a\",\"body\":\"b\",\"authors\":[\"Jane Doe\",\"John "
        "Roe\"]}";
    assert_int_equal(
        trawl_article_parse_json_fields(&a, np, strlen(np), &f, &err), 0);
    assert_string_equal(a.author, "Jane Doe, John Roe");
    trawl_article_clear(&a);
    static const char bad[] =
        "{\"id\":\"a\",\"body\":\"b\",\"authors\":[\"Jane\",7]}";
    assert_int_equal(
        trawl_article_parse_json_fields(&a, bad, strlen(bad), &f, &err),
        TRAWL_EINVAL);
    assert_string_equal(err.msg,
                        "field \"authors\" (the author, per --field "
                        "author=authors) is an array holding a number "
                        "(item 2): the author is read from a string or an "
                        "array of strings");

    /* Anything but strings in the array stays an error, naming what. */
    static const struct {
        const char *line;
        const char *want;
    } errs[] = {
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[null]}",
         "field \"author\" is an array holding null (item 1): the author "
         "is read from a string or an array of strings"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[\"A\",[\"B\"]]}",
         "is an array holding an array (item 2)"},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":[{\"@type\":\"Person\","
         "\"name\":\"A\"}]}",
         "is an array holding an object (item 1): the author is read from "
         "a string or an array of strings; e.g. jq -c '.author |= "
         "map(.name)' reads each one's \"name\""},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":{\"name\":\"A\"}}",
         "field \"author\" is not a string: it is an object, and the author "
         "is read from a string or an array of strings; e.g. jq -c "
         "'.author |= .name' reads its \"name\""},
        {"{\"id\":\"a\",\"body\":\"b\",\"author\":3}",
         "field \"author\" is not a string: it is a number"},
        /* A title, url or body of another type: what it is and a fix. */
        {"{\"id\":\"a\",\"body\":\"b\",\"title\":[\"A\",\"B\"]}",
         "field \"title\" is not a string: it is an array, and the title "
         "is read from a string; e.g. jq -c '.title |= join(\" \")' "
         "converts the records"},
        {"{\"id\":\"a\",\"body\":\"b\",\"title\":1984}",
         "field \"title\" is not a string: it is a number, and the title "
         "is read from a string; e.g. jq -c '.title |= tostring' converts "
         "the records"},
        {"{\"id\":\"a\",\"body\":\"b\",\"title\":{\"rendered\":\"T\"}}",
         "field \"title\" is not a string: it is an object, and the title "
         "is read from a string; e.g. jq -c '.title |= .rendered' reads "
         "its \"rendered\""},
        {"{\"id\":\"a\",\"body\":\"b\",\"title\":true}",
         "field \"title\" is not a string: it is a boolean, and the title "
         "is read from a string"},
        {"{\"id\":\"a\",\"body\":\"b\",\"url\":[\"u1\",\"u2\"]}",
         "field \"url\" is not a string: it is an array, and the url is "
         "read from a string; e.g. jq -c '.url |= .[0]' converts the "
         "records"},
        {"{\"id\":\"a\",\"body\":[\"p1\",\"p2\"]}",
         "field \"body\" is not a string: it is an array, and the body is "
         "read from a string; e.g. jq -c '.body |= join(\"\\n\\n\")' "
         "converts the records"},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        json_err(errs[i].line, strlen(errs[i].line), errs[i].want);
        json_same(errs[i].line, strlen(errs[i].line));
    }
}

/* Reuters-21578's <DATE> (day, month name and year joined by hyphens,
 * the day padded with a space, centiseconds) is a JSON Lines date; the
 * year must have four digits. A text file's Date: header reads as
 * before (its reading is kept in indexes by TEXT_FP_VERSION). */
static void test_json_dashed_dates(void **state)
{
    (void)state;
    static const struct {
        const char *date;
        const char *want; /* NULL: a bad date */
    } cases[] = {
        {"26-FEB-1987 15:01:01.79", "1987-02-26T15:01:01Z"},
        {" 1-MAR-1987 01:41:26.47", "1987-03-01T01:41:26Z"},
        {"  3-MAR-1987 00:43:42.82", "1987-03-03T00:43:42Z"},
        {"3-MAR-1987  09:15:05.40", "1987-03-03T09:15:05Z"},
        {"5-Mar-2024", "2024-03-05"},
        {"05-sept-2024 23:30 +0100", "2024-09-05T22:30:00Z"},
        {"26-FEB-87", NULL},
        {"1987-FEB-26", NULL},
        {"31-FEB-1987", NULL},
        {"26-FEB-1987 25:00", NULL},
        {"26-FOO-1987", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[160];
        snprintf(line, sizeof(line),
                 "{\"id\":\"a\",\"body\":\"b\",\"date\":\"%s\"}",
                 cases[i].date);
        trawl_article a;
        trawl_err err = {0};
        int rc = trawl_article_parse_json(&a, line, strlen(line), &err);
        if (cases[i].want == NULL) {
            if (rc == 0 || strstr(err.msg, "bad date") == NULL)
                fail_msg("%s: read, wanted a bad date", cases[i].date);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", cases[i].date, err.msg);
        if (a.date != iso(cases[i].want))
            fail_msg("%s: %lld, wanted %s", cases[i].date,
                     (long long)a.date, cases[i].want);
        trawl_article_clear(&a);
        json_same(line, strlen(line));
    }
    trawl_article t = parse_text("Title: T\nDate: 26-FEB-1987\n\nBody.\n", 7);
    assert_int_equal(t.date, 7);
    trawl_article_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreadable_date_is_reported),
        cmocka_unit_test(test_iso_dates),
        cmocka_unit_test(test_loose_dates),
        cmocka_unit_test(test_format_date),
        cmocka_unit_test(test_text_plain),
        cmocka_unit_test(test_text_header),
        cmocka_unit_test(test_text_mail_header),
        cmocka_unit_test(test_text_url_date_lines),
        cmocka_unit_test(test_front_matter_author_list),
        cmocka_unit_test(test_text_posted),
        cmocka_unit_test(test_seed_files),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_fast_path),
        cmocka_unit_test(test_json_author_array),
        cmocka_unit_test(test_json_dashed_dates),
        cmocka_unit_test(test_json_fast_extra),
        cmocka_unit_test(test_utf16_and_nul),
        cmocka_unit_test(test_json_nul_and_lone_surrogates),
        cmocka_unit_test(test_long_first_line_is_body),
        cmocka_unit_test(test_markdown_title_markup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
