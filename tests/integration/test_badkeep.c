/*
 * Bad input loses nothing: on a rerun, a JSON line or a text file that
 * names an article but cannot be indexed (no body, JSON cut short, an
 * empty or binary file) leaves that article as the index had it, says
 * so, and a later good version replaces it as usual; a JSON line whose
 * date cannot be read is indexed without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char *const first =
    "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
    "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"flood water\"}\n"
    "{\"id\":\"c\",\"title\":\"Drought\",\"body\":\"dry wells\"}\n"
    "{\"id\":7,\"title\":\"Frost\",\"body\":\"frozen pipes\"}\n"
    "{\"id\":\"e\",\"title\":\"Gale\",\"body\":\"high winds\"}\n";

static void test_bad_lines_keep_their_articles(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news.jsonl");
    th_write_text(corpus, first);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* b lost its body (renamed), c has new text but a date nobody can
     * read (indexed without it), 7 was cut short (integer id), e is
     * gone: only e is deleted. */
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
                  "{\"id\":\"b\",\"title\":\"Flood\",\"text\":\"more water\"}\n"
                  "{\"id\":\"c\",\"title\":\"Drought\",\"body\":\"rain\","
                  "\"date\":\"someday\"}\n"
                  "{\"id\":7,\"title\":\"Frost\",\"body\":\"froz\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "news.jsonl:2:"));
    assert_non_null(strstr(r.err, "\"b\" stays as indexed before"));
    assert_non_null(strstr(r.err, "news.jsonl:3: bad date \"someday\": "
                                  "indexed without a date"));
    assert_non_null(strstr(r.err, "\"7\" stays as indexed before"));
    assert_non_null(strstr(r.out, "1 updated, 1 deleted, 3 unchanged"));
    assert_non_null(strstr(r.out, "2 bad inputs (2 articles kept as "
                                  "indexed before); 1 undated (date not "
                                  "understood)"));
    th_result_free(&r);
    th_reload(&c);
    th_expect_body(&c, "a", "storm surge");
    th_expect_body(&c, "b", "flood water");
    th_expect_body(&c, "c", "rain");
    th_expect_body(&c, "7", "frozen pipes");
    /* c is undated; its date member is kept with the article */
    json_t *g = th_request(&c, "{\"op\":\"get\",\"doc\":\"c\"}");
    assert_non_null(g);
    json_t *doc = json_object_get(g, "doc");
    assert_true(json_is_null(json_object_get(doc, "date")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(doc, "extra"), "date")),
        "someday");
    json_decref(g);
    th_expect_body(&c, "e", NULL);

    /* The same bad lines again: nothing to commit. */
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);

    /* A good line after a bad one with the same id replaces the article
     * (the bad one's note is about what it did then); a bad one after a
     * good one does not undo it. */
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
                  "{\"id\":\"b\",\"title\":\"Flood\",\"text\":\"more water\"}\n"
                  "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"more water\"}\n"
                  "{\"id\":\"c\",\"title\":\"Drought\",\"body\":\"rain\"}\n"
                  "{\"id\":\"c\",\"title\":\"Drought\",\"body\":7}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_null(strstr(r.err, "\"c\" stays as indexed before"));
    assert_non_null(strstr(r.out, "2 updated, 1 deleted, 1 unchanged"));
    th_result_free(&r);
    th_reload(&c);
    th_expect_body(&c, "b", "more water");
    th_expect_body(&c, "c", "rain");
    th_expect_body(&c, "7", NULL);

    /* --full rebuilds from what it can read: a bad line's article goes. */
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
                  "{\"id\":\"b\",\"title\":\"Flood\",\"text\":\"more water\"}\n");
    const char *full[] = {"trawl-index", "--index", h.index, "--full",
                          corpus, NULL};
    assert_int_equal(th_run(&r, full), 0);
    assert_null(strstr(r.err, "stays as indexed before"));
    th_result_free(&r);
    th_reload(&c);
    th_expect_body(&c, "a", "storm surge");
    th_expect_body(&c, "b", NULL);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A line over the 64 MiB limit is skipped unread; the id it begins with
 * keeps its article. */
static void test_overlong_line_keeps_its_article(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news.jsonl");
    th_write_text(corpus, first);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    const char *head = "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm "
                       "surge\"}\n{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"";
    size_t hl = strlen(head), n = hl + ((size_t)65 << 20) + 3;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, head, hl);
    memset(big + hl, 'w', n - hl - 3);
    memcpy(big + n - 3, "\"}\n", 3);
    assert_int_equal(th_write_file(corpus, big, n), 0);
    free(big);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "news.jsonl:2: line longer than 64 MiB, "
                                  "skipped; \"b\" stays as indexed before"));
    assert_non_null(strstr(r.out, "3 deleted, 2 unchanged"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* A bad copy of an id, then its unchanged good copy (a partial record
 * and the full one, two daily dumps): the run changes nothing, every
 * time. An escaped id in a bad line (Python writes "caf\u00e9", PHP
 * "https:\/\/...") names its article like a plain one. */
static void test_bad_then_good_and_escaped_ids(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "dump.jsonl");
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"A\",\"body\":\"alpha\"}\n"
                  "{\"id\":\"b\",\"title\":\"B\",\"body\":\"bravo\"}\n"
                  "{\"id\":\"caf\\u00e9\",\"title\":\"C\",\"body\":\"cafe\"}\n"
                  "{\"id\":\"https:\\/\\/ex.com\\/d\",\"title\":\"D\","
                  "\"body\":\"delta\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"A\",\"body\":\"alpha\"}\n"
                  "{\"id\":\"b\",\"title\":\"B\"}\n"
                  "{\"id\":\"b\",\"title\":\"B\",\"body\":\"bravo\"}\n"
                  "{\"id\":\"caf\\u00e9\",\"title\":\"C\"}\n"
                  "{\"id\":\"https:\\/\\/ex.com\\/d\",\"title\":\"D\"}\n");
    for (int run = 0; run < 2; run++) {
        assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
        assert_non_null(strstr(r.out, "no changes: 4 documents unchanged"));
        assert_non_null(strstr(r.err, "\"caf\xc3\xa9\" stays as indexed "
                                      "before"));
        assert_non_null(strstr(r.err, "\"https://ex.com/d\" stays as "
                                      "indexed before"));
        th_result_free(&r);
    }
    th_cleanup(&h);
}

/* A tail of NUL bytes (blocks a crash left unwritten; the file kept its
 * size): the damage is named and no article is deleted for it. */
static void test_zeroed_tail_keeps_articles(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "feed.jsonl");
    th_write_text(corpus, first);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    char img[4096];
    const char *head = "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm "
                       "surge\"}\n";
    size_t hl = strlen(head);
    memcpy(img, head, hl);
    memset(img + hl, 0, sizeof(img) - hl);
    assert_int_equal(th_write_file(corpus, img, sizeof(img)), 0);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "feed.jsonl:2: NUL bytes instead of a "
                                  "record"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* With --field, the id of a bad line is read from the mapped member. */
static void test_bad_lines_with_a_field_mapping(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "cc.jsonl");
    th_write_text(corpus,
                  "{\"url\":\"http://x/a\",\"title\":\"Storm\",\"text\":\"storm surge\"}\n"
                  "{\"url\":\"http://x/b\",\"title\":\"Flood\",\"text\":\"flood water\"}\n"
                  "{\"url\":\"http://x/c\",\"title\":\"Gale\",\"text\":\"high winds\"}\n");
    const char *run[] = {"trawl-index", "--index", h.index, "--field",
                         "body=text", "--field", "id=url", corpus, NULL};
    assert_int_equal(th_run(&r, run), 0);
    th_result_free(&r);
    /* b without its text, c cut short */
    th_write_text(corpus,
                  "{\"url\":\"http://x/a\",\"title\":\"Storm\",\"text\":\"storm surge\"}\n"
                  "{\"url\":\"http://x/b\",\"title\":\"Flood\"}\n"
                  "{\"url\":\"http://x/c\",\"title\":\"Gale\",\"text\":\"high w\n");
    assert_int_equal(th_run(&r, run), 0);
    assert_non_null(strstr(r.err, "\"http://x/b\" stays as indexed before"));
    assert_non_null(strstr(r.err, "\"http://x/c\" stays as indexed before"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* A .jsonl file of nothing but bad lines (damaged, saved as UTF-16):
 * which articles it held is unknown, so the run deletes none it did not
 * see; emptied, it holds none, and its articles go. */
static void test_unreadable_jsonl_keeps_its_articles(void **state)
{
    (void)state;
    th h;
    char dir[256], a[256], b[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "feeds");
    th_path(dir, sizeof(dir), &h, "feeds");
    th_path(a, sizeof(a), &h, "feeds/a.jsonl");
    th_path(b, sizeof(b), &h, "feeds/b.jsonl");
    th_write_text(a, first);
    th_write_text(b, "{\"id\":\"z\",\"title\":\"Fog\",\"body\":\"thick fog\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);

    /* garbage without a single id */
    th_write_text(a, "\x01\x02 not json\n}{\n");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "no line of it could be indexed"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);
    /* UTF-16, as Windows PowerShell writes it */
    assert_int_equal(th_write_file(a, "\xff\xfe{\0\"\0", 6), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "UTF-16"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    th_expect_body(&c, "a", "storm surge");
    th_expect_body(&c, "e", "high winds");
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* emptied: its five articles are deleted */
    th_write_text(a, "");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "5 deleted"));
    th_result_free(&r);
    th_cleanup(&h);
}

static void test_bad_files_keep_their_articles(void **state)
{
    (void)state;
    th h;
    char dir[256], a[256], b[256], c[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "docs");
    th_path(dir, sizeof(dir), &h, "docs");
    th_path(a, sizeof(a), &h, "docs/a.txt");
    th_path(b, sizeof(b), &h, "docs/b.txt");
    th_path(c, sizeof(c), &h, "docs/c.txt");
    th_write_text(a, "Storm\n\nstorm surge\n");
    th_write_text(b, "Flood\n\nflood water\n");
    th_write_text(c, "Drought\n\ndry wells\n");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);

    /* a emptied (a copy that failed), b turned binary: both kept. */
    th_write_text(a, "");
    assert_int_equal(th_write_file(b, "Flood\0\0\0junk", 12), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "\"a.txt\" stays as indexed before"));
    assert_non_null(strstr(r.err, "\"b.txt\" stays as indexed before"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn cn;
    assert_int_equal(th_connect(&h, &cn), 0);
    th_expect_body(&cn, "a.txt", "storm surge");
    th_expect_body(&cn, "b.txt", "flood water");
    th_close(&cn);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* A file removed is deleted, bad or not. */
    assert_int_equal(unlink(a), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "1 deleted"));
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_lines_keep_their_articles),
        cmocka_unit_test(test_overlong_line_keeps_its_article),
        cmocka_unit_test(test_bad_lines_with_a_field_mapping),
        cmocka_unit_test(test_bad_then_good_and_escaped_ids),
        cmocka_unit_test(test_zeroed_tail_keeps_articles),
        cmocka_unit_test(test_unreadable_jsonl_keeps_its_articles),
        cmocka_unit_test(test_bad_files_keep_their_articles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
