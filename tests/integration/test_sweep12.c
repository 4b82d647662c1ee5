/*
 * Integration tests from the twelfth acceptance sweep: public news
 * datasets in the shapes people download them. A news-please / CC-News
 * record's "authors" is a list of names; JSON Lines saved as .json (the
 * HuffPost dataset), a JSON array or a CSV file are not read, and the
 * message says how to make them readable.
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

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static void want_in(const char *what, const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        fail_msg("%s: \"%s\" does not contain \"%s\"", what, text, want);
}

/* news-please's records, as its JSON export writes them (a list of
 * authors, a date with a space, members trawl stores as extra). */
static void test_author_list(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    char p[256];
    th_path(p, sizeof(p), &h, "news.jsonl");
    th_write_text(
        p,
        "{\"authors\": [\"Jane Doe\", \"John Roe\"], \"date_download\": "
        "\"2024-03-06 01:00:00\", \"date_publish\": \"2024-03-05 "
        "10:00:00\", \"description\": \"A storm.\", \"image_url\": null, "
        "\"language\": \"en\", \"maintext\": \"A storm closed the harbor.\", "
        "\"source_domain\": \"www.example.com\", \"title\": \"Storm\", "
        "\"url\": \"https://www.example.com/storm\"}\n"
        "{\"authors\": [], \"date_publish\": \"2024-03-04 09:00:00\", "
        "\"maintext\": \"The council met about the harbor.\", \"title\": "
        "\"Council\", \"url\": \"https://www.example.com/council\"}\n"
        "{\"authors\": [\"Ann Lee\"], \"date_publish\": null, \"maintext\": "
        "\"Ferries run again after the storm.\", \"title\": \"Ferries\", "
        "\"url\": \"https://www.example.com/ferries\"}\n"
        "{\"authors\": [{\"name\": \"Bo Ek\"}], \"maintext\": \"Harbor.\", "
        "\"url\": \"https://www.example.com/bad\"}\n");
    th_result r;
    const char *argv[] = {"trawl-index",  "--index",
                          h.index,        "--field",
                          "body=maintext", "--field",
                          "date=date_publish", "--field",
                          "author=authors", "--field",
                          "id=url",       p,
                          NULL};
    assert_int_equal(th_run(&r, argv), 0);
    want_in("summary", r.out, "indexed 3 documents");
    want_in("stderr", r.err,
            "news.jsonl:4: field \"authors\" (the author, per --field "
            "author=authors) is an array holding an object (item 1): the "
            "author is read from a string or an array of strings; e.g. jq "
            "-c '.authors |= map(.name)' reads each one's \"name\"");
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *d = th_get_doc(&c, "https://www.example.com/storm");
    assert_string_equal(th_doc_field(d, "author"), "Jane Doe, John Roe");
    assert_string_equal(th_doc_field(d, "date"), "2024-03-05");
    json_decref(d);
    d = th_get_doc(&c, "https://www.example.com/council");
    assert_null(th_doc_field(d, "author"));
    json_decref(d);
    /* Each name is found, as a word and as a phrase; the join adds
     * nothing of its own. */
    assert_int_equal(th_count(&c, "author:doe"), 1);
    assert_int_equal(th_count(&c, "author:roe"), 1);
    assert_int_equal(th_count(&c, "author:\"john roe\""), 1);
    assert_int_equal(th_count(&c, "author:\"ann lee\""), 1);
    assert_int_equal(th_count(&c, "author:(doe OR lee) harbor"), 1);
    th_close(&c);

    /* A hit shows the joined byline. */
    const char *args[] = {"--fields", "id,author", "storm closed", NULL};
    assert_int_equal(th_client(&h, &r, args), 0);
    want_in("trawl", r.out, "Jane Doe, John Roe");
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* trawl-index FILE, which it does not read: exit 1, and the advice. */
static void advice(th *h, const char *path, const char *want)
{
    th_result r;
    const char *argv[] = {"trawl-index", "--index", h->index, path, NULL};
    assert_int_equal(th_run(&r, argv), 1);
    want_in(path, r.err, want);
    th_result_free(&r);
}

/* trawl-index --full PATH with HuffPost's member names mapped: the run
 * indexes `docs` articles, exit 0. */
static void read_as_jsonl(th *h, const char *path, int docs)
{
    th_result r;
    const char *argv[] = {"trawl-index", "--full", "--index", h->index,
                          "--field", "id=link", "--field", "body=headline",
                          path, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    char want[64];
    snprintf(want, sizeof(want), "indexed %d documents", docs);
    want_in(path, r.out, want);
    th_result_free(&r);
}

static void test_json_and_csv_advice(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    char p[256];
    static const char lines[] =
        "{\"link\": \"https://x/1\", \"headline\": \"H\", \"authors\": "
        "\"A\", \"date\": \"2022-09-23\"}\n"
        "{\"link\": \"https://x/2\", \"headline\": \"I\", \"authors\": "
        "\"B\", \"date\": \"2022-09-22\"}\n";
    /* JSON Lines saved as .json (the HuffPost dataset) or .ndjson is
     * read as JSON Lines, named on the command line or in a directory. */
    th_path(p, sizeof(p), &h, "News_Category_Dataset_v3.json");
    th_write_text(p, lines);
    read_as_jsonl(&h, p, 2);
    th_path(p, sizeof(p), &h, "news.ndjson");
    th_write_text(p, lines);
    read_as_jsonl(&h, p, 2);
    /* One object alone on one line: maybe a record, maybe settings. */
    th_path(p, sizeof(p), &h, "one.json");
    th_write_text(p, "{\"link\": \"https://x/1\", \"headline\": \"H\"}\n");
    advice(&h, p, "; it looks like JSON Lines (one object a line): name it "
                  ".jsonl (or link it: ln -s in.json in.jsonl)");

    th_path(p, sizeof(p), &h, "array.json");
    th_write_text(p, "[\n  {\"id\": 1, \"body\": \"b\"}\n]\n");
    advice(&h, p, "; it holds a JSON array: convert it to one object a "
                  "line, e.g. jq -c '.[]' in.json > out.jsonl");

    th_path(p, sizeof(p), &h, "newsapi.json");
    th_write_text(p, "{\"status\": \"ok\", \"totalResults\": 1, "
                     "\"articles\": [{\"title\": \"T\"}]}");
    advice(&h, p, "e.g. jq -c '.articles[]' in.json > out.jsonl");

    th_path(p, sizeof(p), &h, "articles.csv");
    th_write_text(p, "title,content\nT,Body\n");
    advice(&h, p, "; a CSV file: convert it to JSON Lines");

    /* 20 Newsgroups: article files named by number. */
    th_make_dir(&h, "sci.space");
    th_path(p, sizeof(p), &h, "sci.space/60804");
    th_write_text(p, "From: a@example.edu\nSubject: Launch\n\nDelayed.\n");
    th_path(p, sizeof(p), &h, "sci.space");
    advice(&h, p, "sci.space/60804 is not read; files without an "
                  "extension are skipped: if they are articles, name them "
                  ".txt");

    /* Datasets as downloaded: archives, another compressor. */
    th_path(p, sizeof(p), &h, "bbc-fulltext.zip");
    th_write_text(p, "PK");
    advice(&h, p, "; a zip archive: unpack it first (unzip ARCHIVE -d DIR) "
                  "and index DIR");
    th_path(p, sizeof(p), &h, "20news-bydate.tar.gz");
    th_write_text(p, "x");
    advice(&h, p, "; a tar archive: unpack it first (mkdir DIR; tar -xzf "
                  "ARCHIVE -C DIR) and index DIR");
    th_path(p, sizeof(p), &h, "cc_news.jsonl.bz2");
    th_write_text(p, "BZh");
    advice(&h, p, "; .jsonl is read compressed with gzip or zstd only: "
                  "recompress it, e.g. bzip2 -dc in.jsonl.bz2 | zstd -q -o "
                  "in.jsonl.zst");

    /* A directory holding only such a file names it. */
    th_make_dir(&h, "dump");
    th_path(p, sizeof(p), &h, "dump/array.json");
    th_write_text(p, "[{\"id\": 1, \"body\": \"b\"}]\n");
    th_path(p, sizeof(p), &h, "dump");
    advice(&h, p, "dump/array.json is not read; it holds a JSON array");
    /* ... and reads JSON Lines saved as .json beside it. */
    th_path(p, sizeof(p), &h, "dump/huff.json");
    th_write_text(p, lines);
    th_path(p, sizeof(p), &h, "dump");
    read_as_jsonl(&h, p, 2);
    th_cleanup(&h);
}

/* SaudiNewsNet's records ({"url", "date_extracted", "title", "author",
 * "content"}, after jq -c '.[]'): one message names both options a run
 * needs, and a file whose dates are all under another name says which
 * option reads them instead of indexing everything undated in silence. */
static void test_other_names_in_one_message(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    char p[256];
    th_path(p, sizeof(p), &h, "saudi.jsonl");
    th_write_text(p, "{\"source\": \"aawsat\", \"url\": \"http://x/1\", "
                     "\"date_extracted\": \"2015-07-21 02:51:32\", "
                     "\"title\": \"T\", \"author\": \"A\", \"content\": "
                     "\"Storm.\"}\n"
                     "{\"source\": \"aawsat\", \"url\": \"http://x/2\", "
                     "\"date_extracted\": \"2015-07-21 03:00:00\", "
                     "\"title\": \"U\", \"author\": \"B\", \"content\": "
                     "\"Rain.\"}\n");
    th_result r;
    const char *plain[] = {"trawl-index", "--index", h.index, p, NULL};
    assert_int_equal(th_run(&r, plain), 1);
    want_in("stderr", r.err,
            "saudi.jsonl:1: missing field \"id\" (--field id=url reads the "
            "id from \"url\"); the body too: --field body=content");
    th_result_free(&r);

    const char *mapped[] = {"trawl-index", "--index", h.index, "--field",
                            "id=url", "--field", "body=content", p, NULL};
    assert_int_equal(th_run(&r, mapped), 0);
    want_in("stderr", r.err,
            "saudi.jsonl: no article has a \"date\" (indexed undated); "
            "--field date=date_extracted reads the dates from "
            "\"date_extracted\"");
    th_result_free(&r);

    const char *dated[] = {"trawl-index", "--index", h.index, "--field",
                           "id=url", "--field", "body=content", "--field",
                           "date=date_extracted", p, NULL};
    assert_int_equal(th_run(&r, dated), 0);
    assert_null(strstr(r.err, "no article has"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* The HuffPost dataset as downloaded (link, headline, short_description,
 * authors, date; JSON Lines named .json): the first run's message names
 * the id's and the body's options at once, the next one the title's, and
 * with all three nothing is said. */
static void test_huffpost_names(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    char p[256];
    th_path(p, sizeof(p), &h, "News_Category_Dataset_v3.json");
    th_write_text(p, "{\"link\": \"https://x/1\", \"headline\": \"Storm "
                     "hits\", \"category\": \"U.S. NEWS\", "
                     "\"short_description\": \"A storm hit.\", \"authors\": "
                     "\"Ann Lee\", \"date\": \"2022-09-23\"}\n"
                     "{\"link\": \"https://x/2\", \"headline\": \"Rain\", "
                     "\"category\": \"WORLD NEWS\", \"short_description\": "
                     "\"More rain.\", \"authors\": \"\", \"date\": "
                     "\"2022-09-22\"}\n");
    th_result r;
    const char *plain[] = {"trawl-index", "--index", h.index, p, NULL};
    assert_int_equal(th_run(&r, plain), 1);
    want_in("stderr", r.err,
            ":1: missing field \"id\" (--field id=link reads the id from "
            "\"link\"); the body too: --field body=short_description");
    th_result_free(&r);

    const char *two[] = {"trawl-index", "--index", h.index, "--field",
                         "id=link", "--field", "body=short_description", p,
                         NULL};
    assert_int_equal(th_run(&r, two), 0);
    want_in("stderr", r.err,
            "no article has a \"title\" (indexed untitled); --field "
            "title=headline reads the titles from \"headline\"");
    th_result_free(&r);

    const char *all[] = {"trawl-index", "--full", "--index", h.index,
                         "--field", "id=link", "--field",
                         "body=short_description", "--field",
                         "title=headline", "--field", "author=authors", p,
                         NULL};
    assert_int_equal(th_run(&r, all), 0);
    assert_null(strstr(r.err, "no article has"));
    want_in("summary", r.out, "indexed 2 documents");
    th_result_free(&r);
    th_cleanup(&h);
}

/* A CSV's empty column and HuffPost's "authors": "" are an empty
 * byline or URL: trawl shows none, not an "author" line with nothing or
 * "by " alone. */
static void test_empty_byline_not_shown(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    char p[256];
    th_path(p, sizeof(p), &h, "huff.jsonl");
    th_write_text(p, "{\"id\": \"1\", \"title\": \"Storm\", \"body\": \"A storm "
                     "closed the harbor.\", \"author\": \"\", \"url\": \"\", "
                     "\"category\": \"U.S. NEWS\"}\n");
    const char *paths[] = {p, NULL};
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_result r;
    const char *get[] = {"--get", "1", NULL};
    assert_int_equal(th_client(&h, &r, get), 0);
    want_in("get", r.out, "id      1\n");
    if (strstr(r.out, "author") != NULL || strstr(r.out, "url") != NULL)
        fail_msg("an empty author or url shown: %s", r.out);
    th_result_free(&r);
    const char *hits[] = {"--fields", "id,title,author,url", "storm", NULL};
    assert_int_equal(th_client(&h, &r, hits), 0);
    want_in("search", r.out, "1. Storm\n");
    if (strstr(r.out, "by ") != NULL)
        fail_msg("an empty byline shown: %s", r.out);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_author_list),
        cmocka_unit_test(test_json_and_csv_advice),
        cmocka_unit_test(test_other_names_in_one_message),
        cmocka_unit_test(test_empty_byline_not_shown),
        cmocka_unit_test(test_huffpost_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
