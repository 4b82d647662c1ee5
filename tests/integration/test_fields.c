/*
 * Integration tests of trawl-index --field FIELD=KEY with the real
 * programs: JSON Lines whose members have other names (cc_news' "text"
 * and no id) indexed with a mapping and served by trawld; incremental
 * reruns under the same, another and no mapping; the option's usage
 * errors.
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* Three records as the Hugging Face cc_news dataset has them. */
static const char cc_news[] =
    "{\"title\":\"Storm batters the northern coast\","
    "\"text\":\"A powerful storm battered the northern coast on Monday, "
    "cutting power to thousands of homes.\","
    "\"domain\":\"news.example.com\","
    "\"date\":\"2017-12-01 19:39:40\","
    "\"description\":\"Power cuts after the gale.\","
    "\"url\":\"https://news.example.com/2017/12/01/storm\","
    "\"image_url\":\"https://news.example.com/i/1.jpg\"}\n"
    "{\"title\":\"Central bank holds rates\","
    "\"text\":\"The central bank left interest rates unchanged, "
    "citing steady inflation.\","
    "\"domain\":\"biz.example.com\","
    "\"date\":\"2017-12-02 08:00:00\","
    "\"description\":\"Rates stay put.\","
    "\"url\":\"https://biz.example.com/rates\","
    "\"image_url\":null}\n"
    "{\"title\":\"Caf\\u00e9 opens in the old station\","
    "\"text\":\"A caf\\u00e9 opened in the old railway station.\","
    "\"domain\":\"local.example.com\","
    "\"date\":\"2017-12-03 12:30:00\","
    "\"description\":\"\","
    "\"url\":\"https://local.example.com/cafe\","
    "\"image_url\":null}\n";

static void put(const th *h, const char *name, const char *text)
{
    char p[256];
    th_path(p, sizeof(p), h, name);
    assert_int_equal(th_write_file(p, text, strlen(text)), 0);
}

/* trawl-index --progress=json --index h->index OPTS... h->dir/name; the
 * exit status. opts is NULL-terminated. */
static int run_index(th *h, th_result *r, const char *const opts[],
                     const char *name)
{
    char path[256];
    const char *argv[24];
    int n = 0;

    th_path(path, sizeof(path), h, name);
    argv[n++] = "trawl-index";
    argv[n++] = "--progress=json";
    argv[n++] = "--index";
    argv[n++] = h->index;
    for (int i = 0; opts[i] != NULL; i++) {
        assert_true(n < 20);
        argv[n++] = opts[i];
    }
    argv[n++] = path;
    argv[n] = NULL;
    return th_run(r, argv);
}

/* The "done" event's integer member (-1 if there is none). */
static long long done_int(const th_result *r, const char *key)
{
    const char *line = strstr(r->out, "{\"event\":\"done\"");
    if (line == NULL)
        return -1;
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    if (j == NULL)
        return -1;
    json_t *v = json_object_get(j, key);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

/* The "done" event's "committed": 1, 0, or -1 if there is none. */
static int done_committed(const th_result *r)
{
    const char *line = strstr(r->out, "{\"event\":\"done\"");
    if (line == NULL)
        return -1;
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    if (j == NULL)
        return -1;
    json_t *v = json_object_get(j, "committed");
    int c = json_is_true(v) ? 1 : json_is_false(v) ? 0 : -1;
    json_decref(j);
    return c;
}

static void expect_ok(int rc, const th_result *r)
{
    if (rc != 0)
        fail_msg("trawl-index exit %d, stderr:\n%s", rc, r->err);
}

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A cc_news-like file indexed with --field, searched and read through
 * trawld. */
static void test_cc_news_served(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    put(&h, "cc_news.jsonl", cc_news);

    int rc = run_index(&h, &r,
                       (const char *[]){"--field", "body=text",
                                        "--field=id=url", NULL},
                       "cc_news.jsonl");
    expect_ok(rc, &r);
    assert_int_equal(done_int(&r, "docs"), 3);
    assert_int_equal(done_int(&r, "bad"), 0);
    assert_string_equal(r.err, "");
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* the text is searched: "inflation" is only in a "text" member */
    json_t *resp = th_request(&c, "{\"op\":\"search\",\"q\":\"inflation\"}");
    assert_non_null(resp);
    assert_true(json_is_true(json_object_get(resp, "ok")));
    json_t *hits = json_object_get(resp, "hits");
    assert_int_equal(json_array_size(hits), 1);
    json_t *hit = json_array_get(hits, 0);
    assert_string_equal(str_of(hit, "id"), "https://biz.example.com/rates");
    assert_string_equal(str_of(hit, "title"), "Central bank holds rates");
    assert_string_equal(str_of(hit, "date"), "2017-12-02");
    json_decref(resp);

    /* and with an escape in it */
    resp = th_request(&c, "{\"op\":\"count\",\"q\":\"railway\"}");
    assert_non_null(resp);
    assert_int_equal(json_integer_value(json_object_get(resp, "count")), 1);
    json_decref(resp);
    /* a member no field reads is not searched */
    resp = th_request(&c, "{\"op\":\"count\",\"q\":\"gale\"}");
    assert_non_null(resp);
    assert_int_equal(json_integer_value(json_object_get(resp, "count")), 0);
    json_decref(resp);

    resp = th_request(&c, "{\"op\":\"get\","
                          "\"doc\":\"https://news.example.com/2017/12/01/"
                          "storm\"}");
    assert_non_null(resp);
    assert_true(json_is_true(json_object_get(resp, "ok")));
    json_t *doc = json_object_get(resp, "doc");
    assert_string_equal(str_of(doc, "id"),
                        "https://news.example.com/2017/12/01/storm");
    assert_string_equal(str_of(doc, "title"),
                        "Storm batters the northern coast");
    assert_string_equal(str_of(doc, "body"),
                        "A powerful storm battered the northern coast on "
                        "Monday, cutting power to thousands of homes.");
    assert_string_equal(str_of(doc, "date"), "2017-12-01");
    /* the id and the url read one member: both have it */
    assert_string_equal(str_of(doc, "url"),
                        "https://news.example.com/2017/12/01/storm");
    assert_true(json_is_null(json_object_get(doc, "author")));
    json_decref(resp);

    resp = th_request(&c, "{\"op\":\"get\","
                          "\"doc\":\"https://local.example.com/cafe\"}");
    assert_non_null(resp);
    doc = json_object_get(resp, "doc");
    assert_string_equal(str_of(doc, "title"),
                        "Caf\xc3\xa9 opens in the old station");
    assert_string_equal(str_of(doc, "body"),
                        "A caf\xc3\xa9 opened in the old railway station.");
    json_decref(resp);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* Rerun with the same options (in another order): no changes, and
     * each line is kept without being parsed, its id found under "url"
     * by the scan. */
    rc = run_index(&h, &r,
                   (const char *[]){"--field", "id=url", "--field",
                                    "body=text", NULL},
                   "cc_news.jsonl");
    expect_ok(rc, &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "unchanged"), 3);
    assert_int_equal(done_int(&r, "skipped"), 3);
    th_result_free(&r);
    th_cleanup(&h);
}

/* Reruns: the same mapping changes nothing (and keeps the lines without
 * parsing them: the id is found under its mapped key); another mapping
 * updates every article; no mapping finds no article and commits
 * nothing. */
static void test_reruns(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    /* both a "text" and a "content" member */
    put(&h, "a.jsonl",
        "{\"id\":\"1\",\"title\":\"One\",\"text\":\"alpha text\","
        "\"content\":\"alpha content\"}\n"
        "{\"id\":\"2\",\"title\":\"Two\",\"text\":\"beta text\","
        "\"content\":\"beta content\"}\n"
        "{\"id\":\"3\",\"title\":\"Three\",\"text\":\"gamma text\","
        "\"content\":\"gamma content\"}\n");
    const char *text[] = {"--field", "body=text", NULL};
    const char *content[] = {"--field", "body=content", NULL};

    expect_ok(run_index(&h, &r, text, "a.jsonl"), &r);
    assert_int_equal(done_int(&r, "added"), 3);
    assert_int_equal(done_int(&r, "generation"), 1);
    th_result_free(&r);

    /* identical: no changes, every line kept unparsed */
    expect_ok(run_index(&h, &r, text, "a.jsonl"), &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "unchanged"), 3);
    assert_int_equal(done_int(&r, "skipped"), 3);
    th_result_free(&r);

    /* another mapping, the same bytes: every article updated */
    expect_ok(run_index(&h, &r, content, "a.jsonl"), &r);
    assert_int_equal(done_committed(&r), 1);
    assert_int_equal(done_int(&r, "updated"), 3);
    assert_int_equal(done_int(&r, "unchanged"), 0);
    assert_int_equal(done_int(&r, "generation"), 2);
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *resp = th_request(&c, "{\"op\":\"count\",\"q\":\"content\"}");
    assert_int_equal(json_integer_value(json_object_get(resp, "count")), 3);
    json_decref(resp);
    resp = th_request(&c, "{\"op\":\"get\",\"doc\":\"2\"}");
    assert_string_equal(str_of(json_object_get(resp, "doc"), "body"),
                        "beta content");
    json_decref(resp);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);

    expect_ok(run_index(&h, &r, content, "a.jsonl"), &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "skipped"), 3);
    th_result_free(&r);

    /* without --field: every line is bad input, reported with the
     * option that reads it; nothing is committed, nothing deleted */
    const char *none[] = {NULL};
    int rc = run_index(&h, &r, none, "a.jsonl");
    assert_int_equal(rc, 1);
    if (strstr(r.err, "--field body=text reads it") == NULL ||
        strstr(r.err, "no articles found") == NULL ||
        strstr(r.err, "left unchanged") == NULL)
        fail_msg("stderr:\n%s", r.err);
    th_result_free(&r);
    expect_ok(run_index(&h, &r, content, "a.jsonl"), &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "generation"), 2);
    assert_int_equal(done_int(&r, "unchanged"), 3);
    th_result_free(&r);
    th_cleanup(&h);
}

/* An index built without --field reruns as no changes, with the default
 * names spelled out too (the line hashes are what they were). */
static void test_default_mapping_unchanged(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    put(&h, "d.jsonl",
        "{\"id\":\"1\",\"title\":\"One\",\"body\":\"alpha\"}\n"
        "{\"id\":2,\"title\":\"Two\",\"body\":\"beta\",\"url\":\"u\"}\n");
    const char *none[] = {NULL};
    expect_ok(run_index(&h, &r, none, "d.jsonl"), &r);
    assert_int_equal(done_int(&r, "added"), 2);
    th_result_free(&r);
    expect_ok(run_index(&h, &r, none, "d.jsonl"), &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "skipped"), 2);
    th_result_free(&r);
    const char *own[] = {"--field", "body=body", "--field", "id=id", NULL};
    expect_ok(run_index(&h, &r, own, "d.jsonl"), &r);
    assert_int_equal(done_committed(&r), 0);
    assert_int_equal(done_int(&r, "skipped"), 2);
    th_result_free(&r);
    /* a mapping that reads the same members under another name is
     * another mapping: the articles are parsed again */
    const char *ids[] = {"--field", "title=body", NULL};
    expect_ok(run_index(&h, &r, ids, "d.jsonl"), &r);
    assert_int_equal(done_committed(&r), 1);
    assert_int_equal(done_int(&r, "updated"), 2);
    th_result_free(&r);
    th_cleanup(&h);
}

/* Bad --field options: exit 1 before the index is touched. */
static void test_usage_errors(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    put(&h, "a.jsonl", "{\"id\":\"1\",\"text\":\"x\"}\n");
    static const struct {
        const char *opts[5];
        const char *want;
    } bad[] = {
        {{"--field", "body", NULL}, "--field: \"body\" is not FIELD=KEY"},
        {{"--field", "text=body", NULL}, "unknown field \"text\""},
        {{"--field=bdy=text", NULL}, "FIELD is id, title, body, date, "
                                     "author or url"},
        {{"--field", "body=", NULL}, "empty KEY in \"body=\""},
        {{"--field", "body=text", "--field", "body=content", NULL},
         "the body is mapped twice: body=text and body=content"},
        {{"--field", NULL}, "requires an argument"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[12];
        int n = 0;
        char path[256];
        th_path(path, sizeof(path), &h, "a.jsonl");
        argv[n++] = "trawl-index";
        argv[n++] = "--index";
        argv[n++] = h.index;
        argv[n++] = path;
        for (int k = 0; bad[i].opts[k] != NULL; k++)
            argv[n++] = bad[i].opts[k];
        argv[n] = NULL;
        int rc = th_run(&r, argv);
        if (rc != 1 || strstr(r.err, bad[i].want) == NULL ||
            strstr(r.err, "Try 'trawl-index --help'") == NULL)
            fail_msg("case %zu: exit %d, stderr:\n%s", i, rc, r.err);
        assert_string_equal(r.out, "");
        th_result_free(&r);
        struct stat st;
        assert_int_not_equal(stat(h.index, &st), 0); /* not created */
    }

    /* --help tells of it */
    assert_int_equal(th_run(&r, (const char *[]){"trawl-index", "--help",
                                                 NULL}),
                     0);
    assert_non_null(strstr(r.out, "--field FIELD=KEY"));
    assert_non_null(strstr(r.out, "--field body=text"));
    assert_non_null(strstr(r.out, "every run"));
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cc_news_served),
        cmocka_unit_test(test_reruns),
        cmocka_unit_test(test_default_mapping_unchanged),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
