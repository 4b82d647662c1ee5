/*
 * author: and site: queries (format.h, author and site terms): the words
 * of an article's author and the host of its URL are matched, never
 * scored, and change nothing else.
 *   - random corpora with bylines (hyphenated, with apostrophes, accents,
 *     several authors, none; bodies shorter than their byline, title-only
 *     articles) against the brute-force oracle: counts, order and scores
 *     of author words, phrases, prefixes, exclusions, alternatives, and
 *     with words and dates;
 *   - site: by host and parent domain, URLs of every shape, against the
 *     oracle, and the host as trawl__site_host reads it;
 *   - word queries score bit for bit the same with and without bylines
 *     (the author words are not tokens, not in any field's length, never
 *     in PAIRS);
 *   - runs merged give what one build gives, and the index checks sound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h"
#include "testutil.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

static const char *const bylines[] = {
    "Jane Doe",
    "John Smith",
    "John Smith and Jane Doe",
    "Mary-Ann O'Brien",
    "José Álvarez",
    "Li Wei, Sarah Connor; Kyle Reese",
    "By JANE DOE, Staff Writer",
    "Doe",
    "Smith Smith", /* one word twice */
    "Anna Korea-North", /* a byline word that is also a text word */
    "the of and",       /* words the text has, common ones */
};
#define NBYLINES (sizeof(bylines) / sizeof(bylines[0]))

static const char *const urls[] = {
    "https://www.bbc.co.uk/news/world-1",
    "http://user:pw@News.Example.COM:8080/a/b?c=d#e",
    "nytimes.com/2024/01/02/world.html",
    "http://192.168.0.1/x",
    "https://example.com.",
    "//cdn.example.org/x",
    "not a url",
    "",
    "https://a.b.c.d.e.f.g.h.example.co.uk/deep",
    "http://B\u00dcCHER.de/x",
};
#define NURLS (sizeof(urls) / sizeof(urls[0]))

static void corpus_make(tu_corpus *c, size_t n, int with_authors,
                        uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, n, 4);
    for (size_t i = 0; i < n; i++) {
        uint32_t shape = tu_rnd(10);
        c->title[i] = tu_make_text(2 + tu_rnd(5));
        /* some bodies shorter than their byline, some none at all */
        c->body[i] = shape == 0   ? strdup("")
                     : shape == 1 ? tu_make_text(1 + tu_rnd(2))
                                  : tu_make_text(8 + tu_rnd(60));
        c->date[i] = 1700000000 + (int64_t)tu_rnd(800) * 86400;
        uint32_t a = tu_rnd(NBYLINES + 3);
        if (with_authors && a < NBYLINES)
            c->author[i] = strdup(bylines[a]);
        uint32_t u = tu_rnd(NURLS + 2);
        if (with_authors && u < NURLS)
            c->url[i] = strdup(urls[u]);
    }
}

static void author_queries_match_oracle(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 400, 1, 7);
    char dir[64];
    tu_new_dir(dir, "author");
    tu_run(dir, &c, NULL, c.n, NULL, NULL);
    tu_assert_sound(dir);
    static const char *const fixed[] = {
        "author:doe",
        "author:\"jane doe\"",
        "author:\"doe jane\"",
        "author:\"jane doe\"~2",
        "author:jane author:doe",
        "author:(doe OR smith)",
        "author:(jane -doe)",
        "north -author:doe",
        "NOT author:smith korea",
        "author:obrien",
        "author:o'brien",
        "author:mary-ann",
        "author:maryann",
        "author:alvarez",
        "author:Álvarez",
        "author:jo*",
        "author:ko*",
        "author:\"korea-north\"",
        "author:korea",
        "korea author:korea",
        "author:the",
        "\"north korea\" author:doe",
        "title:korea author:smith",
        "author:doe date:2024",
        "author:doe OR storm",
        "author:smith OR author:wei",
        "author:\"kyle reese\" OR author:\"sarah connor\"",
        "author:\"staff writer\"",
        "author:nobody",
        "author:doe nobody",
        "talks author:(doe OR smith OR wei) -trade",
        "site:bbc.co.uk",
        "site:www.bbc.co.uk",
        "site:co.uk",
        "site:uk",
        "site:BBC.co.UK",
        "site:https://www.bbc.co.uk/news",
        "site:example.com",
        "site:news.example.com",
        "site:com",
        "site:org",
        "site:nytimes.com",
        "site:192.168.0.1",
        "site:168.0.1",
        "site:(bbc.co.uk OR nytimes.com)",
        "north -site:com",
        "korea site:example.com author:doe",
        "site:\"example.com\" OR author:wei",
        "site:nowhere.net",
        "site:example.co.uk",
        "site:h.example.co.uk",
        "site:c.d.e.f.g.h.example.co.uk",
        "site:a.b.c.d.e.f.g.h.example.co.uk",
        "site:b\u00fccher.de",
        "site:B\u00dcCHER.DE",
        "site:de",
    };
    tu_check_oracle(dir, &c, NULL, fixed, sizeof(fixed) / sizeof(fixed[0]));

    /* random words with random author filters */
    static const char *const names[] = {"doe",   "jane",  "smith", "john",
                                        "wei",   "reese", "o'brien",
                                        "korea", "the",   "álvarez"};
    char buf[200][160];
    const char *qs[200];
    for (int i = 0; i < 200; i++) {
        const char *w1 = tu_vocab[tu_rnd((uint32_t)tu_nvocab)];
        const char *w2 = tu_vocab[tu_rnd((uint32_t)tu_nvocab)];
        const char *n1 = names[tu_rnd(10)], *n2 = names[tu_rnd(10)];
        static const char *const sites[] = {"bbc.co.uk", "uk", "com",
                                            "example.com", "nytimes.com",
                                            "cdn.example.org", "org",
                                            "example.co.uk"};
        const char *st = sites[tu_rnd(8)];
        switch (tu_rnd(8)) {
        case 6:
            snprintf(buf[i], sizeof(buf[i]), "%s site:%s", w1, st);
            break;
        case 7:
            snprintf(buf[i], sizeof(buf[i]), "%s -site:%s author:%s", w1, st,
                     n1);
            break;
        case 0:
            snprintf(buf[i], sizeof(buf[i]), "%s author:%s", w1, n1);
            break;
        case 1:
            snprintf(buf[i], sizeof(buf[i]), "%s %s -author:%s", w1, w2, n1);
            break;
        case 2:
            snprintf(buf[i], sizeof(buf[i]), "author:\"%s %s\" %s", n1, n2,
                     w1);
            break;
        case 3:
            snprintf(buf[i], sizeof(buf[i]), "(%s OR author:%s) %s", w1,
                     n1, w2);
            break;
        case 4:
            snprintf(buf[i], sizeof(buf[i]), "author:(%s OR %s)", n1, n2);
            break;
        default:
            snprintf(buf[i], sizeof(buf[i]), "\"%s %s\" author:%.2s*", w1,
                     w2, n1);
            break;
        }
        qs[i] = buf[i];
    }
    tu_check_oracle(dir, &c, NULL, qs, 200);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

/* The host of a URL, as the writer indexes it and site: reads it. */
static void site_host_of_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host;
    } cases[] = {
        {"https://www.bbc.co.uk/news/x", "www.bbc.co.uk"},
        {"HTTP://User:Pw@News.Example.COM:8080/a?b#c", "news.example.com"},
        {"  example.com/path  ", "example.com"},
        {"example.com.", "example.com"},
        {"//cdn.example.org/x", "cdn.example.org"},
        {"example.com?q=1", "example.com"},
        {"http://[::1]:8080/x", "[::1]"},
        {"http://192.168.0.1:80", "192.168.0.1"},
        {"ftp://files.example.net", "files.example.net"},
        {"http://b\u00fccher.de/", "b\u00fccher.de"},
        {"http://B\u00dcCHER.De/", "b\u00fccher.de"},
        {"http://\u0391\u0398\u0397\u039d\u0391.gr", "\u03b1\u03b8\u03b7\u03bd\u03b1.gr"},
        {"", ""},
        {"http://", ""},
        {"not a url", ""},
        {"http://a b.com/", ""},
        {"http://\xff.com/", ""},
        {"https://:443/", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char h[SITE_HOST_MAX + 1];
        size_t n = trawl__site_host(cases[i].url, strlen(cases[i].url), h);
        h[n] = '\0';
        if (strcmp(h, cases[i].host) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].url, h,
                     cases[i].host);
    }
    /* a host longer than a DNS name is none */
    char longurl[400];
    memset(longurl, 'a', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    char h[SITE_HOST_MAX + 1];
    assert_int_equal(trawl__site_host(longurl, strlen(longurl), h), 0);
}

/* Bylines change no score, no count and no pair term of a word query. */
static void author_words_change_no_score(void **state)
{
    (void)state;
    tu_corpus a, b;
    corpus_make(&a, 600, 1, 11);
    corpus_make(&b, 600, 0, 11);
    char da[64], db[64];
    tu_new_dir(da, "author-a");
    tu_new_dir(db, "author-b");
    tu_run(da, &a, NULL, a.n, NULL, NULL);
    tu_run(db, &b, NULL, b.n, NULL, NULL);
    static const char *const qs[] = {
        "north",          "korea talks",          "\"north korea\"",
        "the of",         "\"the market\"",       "\"of the\" storm",
        "title:election", "nuclear OR missile",   "trade -bank",
        "sanc*",          "\"talks summit\"~3",   "a",
        "festival grain", "date:2024",            "\"and the\"",
    };
    tu_assert_same_results(da, db, qs, sizeof(qs) / sizeof(qs[0]), 10);
    /* the same PAIRS and per-field totals */
    trawl_index *ia = tu_open(da), *ib = tu_open(db);
    assert_int_equal(ia->nsegs, 1);
    assert_int_equal(ib->nsegs, 1);
    const seg_section *pa = &ia->segs[0].sec[SEC_PAIRS];
    const seg_section *pb = &ib->segs[0].sec[SEC_PAIRS];
    assert_true(pa->len > 0);
    assert_int_equal(pa->len, pb->len);
    assert_memory_equal(pa->p, pb->p, pa->len);
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        assert_int_equal(ia->segs[0].total_len[f], ib->segs[0].total_len[f]);
    trawl_index_release(ia);
    trawl_index_release(ib);
    tu_rm_rf(da);
    tu_rm_rf(db);
    tu_corpus_free(&a);
    tu_corpus_free(&b);
}

/* Four runs merged answer author queries as one build does. */
static void author_terms_survive_merges(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 500, 1, 13);
    char one[64], four[64];
    tu_new_dir(one, "author-one");
    tu_new_dir(four, "author-four");
    tu_run(one, &c, NULL, c.n, NULL, NULL);
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    trawl_writer_stats st;
    for (size_t k = 0; k < 4; k++)
        tu_run_range(four, &c, k * c.n / 4, (k + 1) * c.n / 4, NULL, &o,
                     &st);
    assert_true(st.segments >= 2);
    static const char *const qs[] = {
        "author:doe",        "author:\"jane doe\"", "north author:smith",
        "author:jo*",        "-author:doe korea",   "author:(wei OR reese)",
        "author:maryann",    "talks author:the",    "site:co.uk",
        "north site:example.com", "-site:com korea",
    };
    tu_assert_same_results(one, four, qs, sizeof(qs) / sizeof(qs[0]), 6);
    o.merge = 1;
    tu_run(four, &c, NULL, 0, &o, &st);
    assert_int_equal(st.segments, 1);
    tu_assert_sound(four);
    tu_assert_same_results(one, four, qs, sizeof(qs) / sizeof(qs[0]), 6);
    tu_rm_rf(one);
    tu_rm_rf(four);
    tu_corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(site_host_of_urls),
        cmocka_unit_test(author_queries_match_oracle),
        cmocka_unit_test(author_words_change_no_score),
        cmocka_unit_test(author_terms_survive_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
