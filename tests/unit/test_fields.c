/*
 * Unit tests for JSON Lines field mappings (trawl_json_fields in
 * core/include/trawl/article.h): trawl-index --field FIELD=KEY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "trawl/article.h"

static int64_t iso(const char *s)
{
    int64_t t = 0;
    assert_int_equal(trawl_parse_iso_date(s, strlen(s), &t), 0);
    return t;
}

/* A mapping from "FIELD=KEY" specs (NULL-terminated), through the parse
 * helper. The specs are string literals: they outlive the mapping. */
static trawl_json_fields map_of(const char *const specs[])
{
    trawl_json_fields f;
    memset(&f, 0, sizeof(f));
    for (size_t i = 0; specs[i] != NULL; i++) {
        trawl_err err = {0};
        if (trawl_json_fields_set(&f, specs[i], &err) != 0)
            fail_msg("\"%s\" refused: %s", specs[i], err.msg);
    }
    return f;
}

#define MAP(...) map_of((const char *const[]){__VA_ARGS__, NULL})

static trawl_article parse_ok(const char *line, const trawl_json_fields *f)
{
    trawl_article a;
    trawl_err err = {0};
    int rc = trawl_article_parse_json_fields(&a, line, strlen(line), f, &err);
    if (rc != 0)
        fail_msg("parse failed for %s: %s", line, err.msg);
    return a;
}

static void parse_err(const char *line, const trawl_json_fields *f,
                      const char *want)
{
    trawl_article a;
    trawl_err err = {0};
    int rc = trawl_article_parse_json_fields(&a, line, strlen(line), f, &err);
    if (rc != TRAWL_EINVAL)
        fail_msg("%s: rc %d, not TRAWL_EINVAL", line, rc);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
    assert_null(a.id);
    assert_null(a.body);
}

static void same_str(const char *what, const char *line, const char *x,
                     size_t xn, const char *y, size_t yn)
{
    if ((x == NULL) != (y == NULL) || xn != yn ||
        (x != NULL && memcmp(x, y, xn) != 0))
        fail_msg("%s differs for %s: \"%s\" / \"%s\"", what, line,
                 x != NULL ? x : "(null)", y != NULL ? y : "(null)");
}

static void same_article(const char *line, const trawl_article *a,
                         const trawl_article *b)
{
    same_str("id", line, a->id, a->id_len, b->id, b->id_len);
    same_str("title", line, a->title, a->title_len, b->title, b->title_len);
    same_str("body", line, a->body, a->body_len, b->body, b->body_len);
    same_str("author", line, a->author, a->author_len, b->author,
             b->author_len);
    same_str("url", line, a->url, a->url_len, b->url, b->url_len);
    same_str("extra", line, a->extra, a->extra_len, b->extra, b->extra_len);
    if (a->date != b->date)
        fail_msg("date differs for %s", line);
    assert_true(a->replaced == b->replaced);
}

/*
 * The public parser (fast path first), the slow path alone and, when it
 * takes the line, the fast path alone: the same article or the same
 * error. Returns whether the fast path took the line.
 */
static int paths_agree(const char *line, const trawl_json_fields *f)
{
    size_t len = strlen(line);
    trawl_article a, b, c;
    trawl_err ea = {0}, eb = {0};
    int ra = trawl_article_parse_json_fields(&a, line, len, f, &ea);
    int rb = trawl__article_parse_json_fields_slow(&b, line, len, f, &eb);
    if (ra != rb || strcmp(ea.msg, eb.msg) != 0)
        fail_msg("paths differ for %s: %d \"%s\" / %d \"%s\"", line, ra,
                 ea.msg, rb, eb.msg);
    if (ra == 0)
        same_article(line, &a, &b);
    int fast = trawl__article_parse_json_fields_fast(&c, line, len, f);
    assert_true(fast == 0 || fast == 1);
    if (fast == 1) {
        if (ra != 0)
            fail_msg("the fast path took %s, which is bad input", line);
        same_article(line, &c, &b);
    } else {
        assert_null(c.id);
    }
    trawl_article_clear(&a);
    trawl_article_clear(&b);
    trawl_article_clear(&c);
    return fast == 1;
}

/* Each field read from another member, alone. */
static void test_each_field_mapped(void **state)
{
    (void)state;
    trawl_json_fields f;
    trawl_article a;

    f = MAP("id=_id");
    a = parse_ok("{\"_id\":\"k-1\",\"body\":\"b\"}", &f);
    assert_string_equal(a.id, "k-1");
    assert_int_equal(a.id_len, 3);
    assert_null(a.extra);
    trawl_article_clear(&a);

    f = MAP("title=headline");
    a = parse_ok("{\"id\":\"1\",\"headline\":\"Big news\",\"body\":\"b\"}", &f);
    assert_string_equal(a.title, "Big news");
    assert_null(a.extra);
    trawl_article_clear(&a);

    f = MAP("body=text");
    a = parse_ok("{\"id\":\"1\",\"text\":\"The text.\"}", &f);
    assert_string_equal(a.body, "The text.");
    assert_int_equal(a.body_len, 9);
    assert_null(a.extra);
    trawl_article_clear(&a);

    f = MAP("date=publishedAt");
    a = parse_ok("{\"id\":\"1\",\"body\":\"b\","
                 "\"publishedAt\":\"2023-11-14T08:12:00Z\"}",
                 &f);
    assert_int_equal(a.date, iso("2023-11-14T08:12:00Z"));
    assert_null(a.extra);
    trawl_article_clear(&a);

    f = MAP("author=authors");
    a = parse_ok("{\"id\":\"1\",\"body\":\"b\",\"authors\":\"Ann Lee\"}", &f);
    assert_string_equal(a.author, "Ann Lee");
    assert_null(a.extra);
    trawl_article_clear(&a);

    f = MAP("url=link");
    a = parse_ok("{\"id\":\"1\",\"body\":\"b\",\"link\":\"https://x/1\"}", &f);
    assert_string_equal(a.url, "https://x/1");
    assert_null(a.extra);
    trawl_article_clear(&a);

    /* All six at once (the HuffPost dataset, with an id of its own). */
    f = MAP("id=n", "title=headline", "body=short_description",
            "date=when", "author=authors", "url=link");
    a = parse_ok("{\"n\":7,\"link\":\"https://h/1\",\"headline\":\"H\","
                 "\"category\":\"POLITICS\",\"short_description\":\"S d\","
                 "\"authors\":\"A\",\"when\":\"2022-09-23\"}",
                 &f);
    assert_string_equal(a.id, "7");
    assert_string_equal(a.title, "H");
    assert_string_equal(a.body, "S d");
    assert_string_equal(a.author, "A");
    assert_string_equal(a.url, "https://h/1");
    assert_int_equal(a.date, iso("2022-09-23"));
    assert_string_equal(a.extra, "{\"category\":\"POLITICS\"}");
    trawl_article_clear(&a);

    /* A key that is not ASCII, one with a space and one with a quote (the
     * line escapes it: the slow path reads it). */
    f = MAP("body=cuerpo del art\xc3\xad" "culo", "title=a\"b");
    a = parse_ok("{\"id\":\"1\",\"a\\\"b\":\"T\","
                 "\"cuerpo del art\xc3\xad" "culo\":\"Hola\"}",
                 &f);
    assert_string_equal(a.body, "Hola");
    assert_string_equal(a.title, "T");
    assert_null(a.extra);
    trawl_article_clear(&a);
}

/* Unmapped fields keep their names; no mapping is the default parser. */
static void test_defaults_untouched(void **state)
{
    (void)state;
    static const char line[] =
        "{\"id\":\"a/1\",\"title\":\"T\",\"text\":\"other\",\"body\":\"B\","
        "\"date\":\"2025-12-17\",\"author\":\"Ann\",\"url\":\"http://x\","
        "\"tags\":[1]}";
    trawl_json_fields none, own;
    memset(&none, 0, sizeof(none));
    own = MAP("id=id", "title=title", "body=body", "date=date",
              "author=author", "url=url");
    trawl_article a, b, c, d;
    trawl_err err = {0};
    assert_int_equal(trawl_article_parse_json(&a, line, strlen(line), &err),
                     0);
    b = parse_ok(line, NULL);
    c = parse_ok(line, &none);
    d = parse_ok(line, &own);
    same_article(line, &a, &b);
    same_article(line, &a, &c);
    same_article(line, &a, &d);
    assert_string_equal(a.body, "B");
    assert_string_equal(a.extra, "{\"text\":\"other\",\"tags\":[1]}");
    trawl_article_clear(&a);
    trawl_article_clear(&b);
    trawl_article_clear(&c);
    trawl_article_clear(&d);

    /* Only the body mapped: the rest from their own names. */
    trawl_json_fields f = MAP("body=text");
    a = parse_ok(line, &f);
    assert_string_equal(a.id, "a/1");
    assert_string_equal(a.title, "T");
    assert_string_equal(a.body, "other");
    assert_string_equal(a.author, "Ann");
    assert_string_equal(a.url, "http://x");
    assert_int_equal(a.date, iso("2025-12-17"));
    trawl_article_clear(&a);

    /* The default messages stay as they were. */
    parse_err("{\"id\":\"x\"}", NULL, "missing string field \"body\"");
    parse_err("{\"id\":\"x\",\"body\":3}", NULL,
              "field \"body\" is not a string");
    parse_err("{\"body\":\"b\"}", NULL, "missing field \"id\"");
    parse_err("{\"id\":\"x\",\"body\":\"b\",\"title\":[]}", &none,
              "field \"title\" is not a string");

    assert_string_equal(trawl_json_fields_id_key(NULL), "id");
    assert_string_equal(trawl_json_fields_id_key(&none), "id");
    f = MAP("id=url");
    assert_string_equal(trawl_json_fields_id_key(&f), "url");
}

/* Members a field reads are not extra; every other member is. */
static void test_extra_members(void **state)
{
    (void)state;
    trawl_json_fields f = MAP("body=text");
    trawl_article a = parse_ok(
        "{\"id\":\"1\",\"body\":\"old\",\"text\":\"new\",\"n\":2}", &f);
    assert_string_equal(a.body, "new");
    /* "body" is read by no field now: an extra member like any other. */
    assert_string_equal(a.extra, "{\"body\":\"old\",\"n\":2}");
    trawl_article_clear(&a);

    /* Two fields read one member: both get it, it is not extra. */
    f = MAP("id=url");
    a = parse_ok("{\"url\":\"https://x/1\",\"body\":\"b\",\"id\":\"i\"}", &f);
    assert_string_equal(a.id, "https://x/1");
    assert_string_equal(a.url, "https://x/1");
    assert_string_equal(a.extra, "{\"id\":\"i\"}");
    trawl_article_clear(&a);

    f = MAP("id=url", "title=url", "body=url");
    a = parse_ok("{\"url\":\"u\"}", &f);
    assert_string_equal(a.id, "u");
    assert_string_equal(a.title, "u");
    assert_string_equal(a.body, "u");
    assert_string_equal(a.url, "u");
    assert_null(a.extra);
    trawl_article_clear(&a);

    /* Two fields swapped. */
    f = MAP("title=body", "body=title");
    a = parse_ok("{\"id\":\"1\",\"title\":\"long text\",\"body\":\"Head\"}",
                 &f);
    assert_string_equal(a.title, "Head");
    assert_string_equal(a.body, "long text");
    assert_null(a.extra);
    trawl_article_clear(&a);
}

/* Errors name the member the line has, and the field it is read as. */
static void test_errors_name_the_key(void **state)
{
    (void)state;
    trawl_json_fields f = MAP("body=text");
    parse_err("{\"id\":\"1\",\"body\":\"b\"}", &f,
              "missing string field \"text\" (the body, per --field "
              "body=text)");
    parse_err("{\"id\":\"1\",\"text\":[\"b\"]}", &f,
              "field \"text\" is not a string (the body, per --field "
              "body=text)");

    f = MAP("id=guid", "body=content");
    parse_err("{\"id\":\"1\",\"content\":\"b\"}", &f,
              "missing field \"guid\" (the id, per --field id=guid)");
    parse_err("{\"guid\":true,\"content\":\"b\"}", &f,
              "field \"guid\" is not a string or an integer (the id, per "
              "--field id=guid)");
    parse_err("{\"guid\":\"\",\"content\":\"b\"}", &f,
              "field \"guid\" is empty (the id, per --field id=guid)");
    parse_err("{\"guid\":\"a\\u0000\",\"content\":\"b\"}", &f,
              "field \"guid\" holds a NUL character (\\u0000) (the id, per "
              "--field id=guid)");

    f = MAP("title=headline", "author=by", "url=link", "date=at");
    parse_err("{\"id\":\"1\",\"body\":\"b\",\"headline\":1}", &f,
              "field \"headline\" is not a string (the title, per --field "
              "title=headline)");
    parse_err("{\"id\":\"1\",\"body\":\"b\",\"by\":{}}", &f,
              "field \"by\" is not a string (the author, per --field "
              "author=by)");
    parse_err("{\"id\":\"1\",\"body\":\"b\",\"link\":false}", &f,
              "field \"link\" is not a string (the url, per --field "
              "url=link)");
    parse_err("{\"id\":\"1\",\"body\":\"b\",\"at\":true}", &f,
              "field \"at\" is not a string or a number (the date, per "
              "--field date=at)");
    parse_err("{\"id\":\"1\",\"body\":\"b\",\"at\":\"someday\"}", &f,
              "bad date \"someday\"");

    /* Without a mapping, the hints name the option that reads the
     * member the line has. */
    parse_err("{\"id\":\"1\",\"text\":\"b\"}", NULL,
              "missing string field \"body\" (the text is read from "
              "\"body\", not \"text\"); --field body=text reads it");
    parse_err("{\"id\":\"1\",\"content\":\"b\"}", NULL,
              "--field body=content reads it");
    parse_err("{\"url\":\"https://x\",\"body\":\"b\"}", NULL,
              "missing field \"id\" (--field id=url reads the id from "
              "\"url\")");
    parse_err("{\"_id\":12,\"url\":\"https://x\",\"body\":\"b\"}", NULL,
              "--field id=_id reads");
    /* A mapped field gets no such hint (the user chose the name). */
    f = MAP("body=contents");
    trawl_article a;
    trawl_err err = {0};
    static const char l2[] = "{\"id\":\"1\",\"text\":\"b\"}";
    assert_int_equal(
        trawl_article_parse_json_fields(&a, l2, strlen(l2), &f, &err),
        TRAWL_EINVAL);
    assert_string_equal(err.msg, "missing string field \"contents\" (the "
                                 "body, per --field body=contents)");

    /* A very long key is cut in messages (at a character boundary). */
    char spec[400], line[600];
    memcpy(spec, "body=", 5);
    for (int i = 0; i < 150; i++)
        memcpy(spec + 5 + 2 * i, "\xc3\xa9", 2);
    spec[305] = '\0';
    trawl_json_fields g;
    memset(&g, 0, sizeof(g));
    assert_int_equal(trawl_json_fields_set(&g, spec, &err), 0);
    snprintf(line, sizeof(line), "{\"id\":\"1\",\"%s\":2}", spec + 5);
    assert_int_equal(
        trawl_article_parse_json_fields(&a, line, strlen(line), &g, &err),
        TRAWL_EINVAL);
    assert_true(strlen(err.msg) < sizeof(err.msg) - 1);
    assert_non_null(strstr(err.msg, " is not a string (the body"));
}

/* The fast path follows the mapping and agrees with jansson's. */
static void test_fast_and_slow_agree(void **state)
{
    (void)state;
    trawl_json_fields maps[5];
    memset(&maps[0], 0, sizeof(maps[0]));
    maps[1] = MAP("body=text");
    maps[2] = MAP("body=text", "id=url", "date=publishedAt");
    maps[3] = MAP("title=body", "body=title", "author=n");
    maps[4] = MAP("id=url", "title=url", "url=url", "body=text");
    static const char *const lines[] = {
        "{\"id\":\"a\",\"body\":\"b\"}",
        "{\"id\":\"a\",\"text\":\"b\"}",
        "{\"url\":\"u\",\"text\":\"b\",\"publishedAt\":\"2023-11-14\"}",
        "{\"url\":\"u\",\"text\":\"b\",\"publishedAt\":1700000000}",
        "{\"url\":\"u\",\"text\":\"b\",\"publishedAt\":1700000000000}",
        "{\"url\":\"u\",\"text\":\"b\",\"publishedAt\":1.5}",
        "{\"url\":\"u\",\"text\":\"b\",\"publishedAt\":null,\"title\":\"T\"}",
        "{\"url\":7,\"text\":\"b\"}",
        "{\"url\":\"\",\"text\":\"b\"}",
        "{\"url\":\"u\",\"text\":\"b\",\"url\":\"v\"}",
        "{\"url\":\"u\",\"text\":\"b\",\"body\":\"x\"}",
        "{\"id\":\"a\",\"title\":\"long\",\"body\":\"H\",\"n\":\"me\"}",
        "{\"id\":\"a\",\"title\":\"long\",\"body\":\"H\",\"n\":3}",
        "{\"id\":\"a\",\"title\":null,\"body\":\"H\"}",
        /* escapes in keys: the slow path decides */
        "{\"id\":\"a\",\"t\\u0065xt\":\"b\"}",
        "{\"\\u0075rl\":\"u\",\"text\":\"b\"}",
        "{\"id\":\"a\",\"b\\u006fdy\":\"b\",\"title\":\"t\"}",
        /* escapes in values */
        "{\"url\":\"u\\/1\",\"text\":\"caf\\u00e9\\n\"}",
        "{\"url\":\"u\",\"text\":\"b\\u0000c\"}",
        "{\"url\":\"u\",\"text\":\"\\ud800\"}",
        "{\"url\":\"u\",\"text\":\"b\"",
        "{\"url\":\"u\",\"text\":\"b\"} x",
        "[\"url\",\"text\"]",
        "{}",
    };
    for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            paths_agree(lines[i], &maps[m]);

    /* Which lines the fast path takes. */
    assert_true(paths_agree("{\"id\":\"a\",\"text\":\"b\"}", &maps[1]));
    assert_true(paths_agree("{\"url\":\"u\",\"text\":\"b\","
                            "\"publishedAt\":\"2023-11-14\"}",
                            &maps[2]));
    assert_true(paths_agree("{\"url\":\"u\",\"text\":\"b\"}", &maps[4]));
    assert_true(paths_agree("{\"id\":\"a\",\"title\":\"long\",\"body\":\"H\","
                            "\"n\":\"me\"}",
                            &maps[3]));
    /* a default name no field reads is an extra member: slow */
    assert_false(paths_agree("{\"id\":\"a\",\"text\":\"b\",\"body\":\"c\"}",
                             &maps[1]));
    /* the mapped key with an escape: slow, and the same article */
    assert_false(paths_agree("{\"id\":\"a\",\"t\\u0065xt\":\"b\"}", &maps[1]));
    trawl_article a = parse_ok("{\"id\":\"a\",\"t\\u0065xt\":\"b\"}", &maps[1]);
    assert_string_equal(a.body, "b");
    assert_null(a.extra);
    trawl_article_clear(&a);
    /* the default mapping still takes the default record */
    assert_true(paths_agree("{\"id\":\"a\",\"body\":\"b\"}", NULL));
    assert_false(paths_agree("{\"id\":\"a\",\"body\":\"b\"}", &maps[1]));
}

/* An integer id through a mapping, as the default "id" takes it. */
static void test_integer_id(void **state)
{
    (void)state;
    trawl_json_fields f = MAP("id=article_id", "body=text");
    static const struct {
        const char *line, *id;
    } ok[] = {
        {"{\"article_id\":12345678901,\"text\":\"b\"}", "12345678901"},
        {"{\"article_id\":-7,\"text\":\"b\"}", "-7"},
        {"{\"article_id\":0,\"text\":\"b\"}", "0"},
        {"{\"article_id\":1234567890123456789,\"text\":\"b\"}",
         "1234567890123456789"},
        {"{\"text\":\"b\",\"article_id\":\"s-1\"}", "s-1"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        trawl_article a = parse_ok(ok[i].line, &f);
        assert_string_equal(a.id, ok[i].id);
        assert_int_equal(a.id_len, strlen(ok[i].id));
        trawl_article_clear(&a);
        paths_agree(ok[i].line, &f);
    }
    parse_err("{\"article_id\":1.5,\"text\":\"b\"}", &f,
              "field \"article_id\" is not a string or an integer");
    parse_err("{\"article_id\":null,\"text\":\"b\"}", &f,
              "field \"article_id\" is not a string or an integer");
    /* The id and the date from one number. */
    f = MAP("id=ts", "date=ts");
    trawl_article a = parse_ok("{\"ts\":86400,\"body\":\"b\"}", &f);
    assert_string_equal(a.id, "86400");
    assert_int_equal(a.date, 86400);
    trawl_article_clear(&a);
    assert_true(paths_agree("{\"ts\":86400,\"body\":\"b\"}", &f));
}

/* A mapped date takes every form the default "date" takes. */
static void test_date_forms(void **state)
{
    (void)state;
    trawl_json_fields f = MAP("date=publishedAt");
    static const struct {
        const char *value; /* JSON text */
        const char *iso;   /* NULL: no date */
    } ok[] = {
        {"\"2023-11-14\"", "2023-11-14"},
        {"\"2023-11-14T08:12:00Z\"", "2023-11-14T08:12:00Z"},
        {"\"2023-11-14T09:12:00+01:00\"", "2023-11-14T08:12:00Z"},
        {"\"2023-11-14 08:12:00\"", "2023-11-14T08:12:00Z"},
        {"\"Tue, 14 Nov 2023 08:12:00 +0000\"", "2023-11-14T08:12:00Z"},
        {"\"November 14, 2023\"", "2023-11-14"},
        {"\"2023/11/14\"", "2023-11-14"},
        {"\"2023-11\"", "2023-11-01"},
        {"\"2023\"", "2023-01-01"},
        {"1699949520", "2023-11-14T08:12:00Z"},
        {"1699949520.75", "2023-11-14T08:12:00Z"},
        {"null", NULL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char line[200];
        snprintf(line, sizeof(line),
                 "{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":%s,"
                 "\"date\":\"not read\"}",
                 ok[i].value);
        trawl_article a = parse_ok(line, &f);
        assert_true(a.date == (ok[i].iso != NULL ? iso(ok[i].iso)
                                                 : TRAWL_NO_DATE));
        assert_string_equal(a.extra, "{\"date\":\"not read\"}");
        trawl_article_clear(&a);
        paths_agree(line, &f);
        /* without the extra member: the fast path takes the simple
         * values */
        snprintf(line, sizeof(line),
                 "{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":%s}",
                 ok[i].value);
        a = parse_ok(line, &f);
        assert_true(a.date == (ok[i].iso != NULL ? iso(ok[i].iso)
                                                 : TRAWL_NO_DATE));
        trawl_article_clear(&a);
        paths_agree(line, &f);
    }
    /* Absent: no date. */
    trawl_article a = parse_ok("{\"id\":\"d\",\"body\":\"b\"}", &f);
    assert_true(a.date == TRAWL_NO_DATE);
    trawl_article_clear(&a);
    parse_err("{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":1700000000000}",
              &f, "milliseconds?");
    parse_err("{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":1e300}", &f,
              "out of range");
    parse_err("{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":\"2025-13-01\"}",
              &f, "bad date \"2025-13-01\"");
    paths_agree("{\"id\":\"d\",\"body\":\"b\",\"publishedAt\":1700000000000}",
                &f);
}

/* trawl_json_fields_set: FIELD=KEY, and its usage errors. */
static void test_set(void **state)
{
    (void)state;
    trawl_json_fields f;
    trawl_err err = {0};
    memset(&f, 0, sizeof(f));
    assert_int_equal(trawl_json_fields_set(&f, "body=text", &err), 0);
    assert_int_equal(trawl_json_fields_set(&f, "id=a=b", &err), 0);
    assert_int_equal(trawl_json_fields_set(&f, "url=url", &err), 0);
    assert_string_equal(f.body, "text");
    assert_string_equal(f.id, "a=b");
    assert_string_equal(f.url, "url");
    assert_null(f.title);
    assert_null(f.date);
    assert_null(f.author);

    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"body", "\"body\" is not FIELD=KEY"},
        {"", "\"\" is not FIELD=KEY"},
        {"bdy=text", "unknown field \"bdy\" in \"bdy=text\""},
        {"Body=text", "unknown field \"Body\""},
        {"=text", "unknown field \"\""},
        {"extra=x", "FIELD is id, title, body, date, author or url"},
        {"title=", "empty KEY in \"title=\""},
        {"author=\xff", "not UTF-8"},
        {"body=content", "the body is mapped twice: body=text and "
                         "body=content"},
        {"url=link", "the url is mapped twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        trawl_json_fields before = f;
        memset(&err, 0, sizeof(err));
        assert_int_equal(trawl_json_fields_set(&f, bad[i].spec, &err),
                         TRAWL_EINVAL);
        assert_int_equal(err.code, TRAWL_EINVAL);
        if (strstr(err.msg, bad[i].want) == NULL)
            fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].spec, err.msg,
                     bad[i].want);
        assert_memory_equal(&before, &f, sizeof(f));
    }
    /* A NULL err is fine. */
    assert_int_equal(trawl_json_fields_set(&f, "nope", NULL), TRAWL_EINVAL);
}

/* The seed of the line hash: 0 for the default, else one per mapping. */
static void test_seed(void **state)
{
    (void)state;
    trawl_json_fields none;
    memset(&none, 0, sizeof(none));
    assert_true(trawl_json_fields_seed(NULL) == 0);
    assert_true(trawl_json_fields_seed(&none) == 0);
    trawl_json_fields own = MAP("body=body");
    assert_true(trawl_json_fields_seed(&own) == 0);
    own = MAP("id=id", "title=title", "body=body", "date=date",
              "author=author", "url=url");
    assert_true(trawl_json_fields_seed(&own) == 0);

    trawl_json_fields a = MAP("body=text");
    uint64_t sa = trawl_json_fields_seed(&a);
    assert_true(sa != 0);
    /* canonical: the same mapping in another order, or with the default
     * names spelled out, or in other strings */
    char text[] = "text";
    trawl_json_fields b;
    memset(&b, 0, sizeof(b));
    b.body = text;
    b.title = "title";
    assert_true(trawl_json_fields_seed(&b) == sa);
    trawl_json_fields c = MAP("body=text", "id=url");
    trawl_json_fields d = MAP("id=url", "body=text", "url=url");
    assert_true(trawl_json_fields_seed(&c) == trawl_json_fields_seed(&d));
    assert_true(trawl_json_fields_seed(&c) != sa);
    /* different mappings, different seeds */
    uint64_t seeds[8];
    trawl_json_fields m[8];
    m[0] = MAP("body=text");
    m[1] = MAP("body=content");
    m[2] = MAP("title=text");
    m[3] = MAP("body=text", "title=headline");
    m[4] = MAP("body=title", "title=body");
    m[5] = MAP("id=url");
    m[6] = MAP("url=id");
    m[7] = MAP("body=tex", "title=ttitle");
    for (int i = 0; i < 8; i++) {
        seeds[i] = trawl_json_fields_seed(&m[i]);
        assert_true(seeds[i] != 0);
        for (int j = 0; j < i; j++)
            if (seeds[i] == seeds[j])
                fail_msg("mappings %d and %d have one seed", j, i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_field_mapped),
        cmocka_unit_test(test_defaults_untouched),
        cmocka_unit_test(test_extra_members),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_fast_and_slow_agree),
        cmocka_unit_test(test_integer_id),
        cmocka_unit_test(test_date_forms),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
