/*
 * Defects found by the session 14 red-team pass, unit level.
 *
 * JSON Lines records with an integer beyond 64 bits (a uint64 hash or
 * counter, as Python's json.dumps writes it): jansson refuses such a
 * number, and the whole article was lost as "bad JSON ... too big
 * integer", although the line is valid JSON and the number was in a
 * member trawl does not even read. Now the article is read: another
 * member keeps the number as a real, a date so large is out of range
 * (undated, as 1e300 already was), a title that is such a number is not
 * a string, and an id that is one is its digits, as an integer id is.
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

static void parse_ok(const char *line, const trawl_json_fields *f,
                     trawl_article *a)
{
    trawl_err err = {0};
    int rc = trawl_article_parse_json_fields(a, line, strlen(line), f, &err);
    if (rc != 0)
        fail_msg("parse failed for %s: %s", line, err.msg);
}

static void parse_err(const char *line, const char *want)
{
    trawl_article a;
    trawl_err err = {0};
    int rc = trawl_article_parse_json(&a, line, strlen(line), &err);
    if (rc != TRAWL_EINVAL)
        fail_msg("%s: rc %d, not TRAWL_EINVAL", line, rc);
    if (strstr(err.msg, want) == NULL)
        fail_msg("%s: error \"%s\" does not contain \"%s\"", line, err.msg,
                 want);
}

static void test_json_integers_beyond_64_bits(void **state)
{
    (void)state;
    trawl_article a;

    /* in an extra member, nested too: a real, the article kept */
    parse_ok("{\"id\":\"a\",\"body\":\"alpha\",\"hash\":18446744073709551615,"
             "\"x\":[1,{\"id\":-99999999999999999999}],"
             "\"max\":9223372036854775807,\"min\":-9223372036854775808}",
             NULL, &a);
    assert_string_equal(a.id, "a");
    assert_string_equal(a.body, "alpha");
    assert_string_equal(a.extra,
                        "{\"hash\":1.8446744073709552e19,"
                        "\"x\":[1,{\"id\":-1e20}],"
                        "\"max\":9223372036854775807,"
                        "\"min\":-9223372036854775808}");
    trawl_article_clear(&a);

    /* the id: its digits, as an integer id's */
    parse_ok("{\"id\": 18446744073709551615 ,\"body\":\"b\"}", NULL, &a);
    assert_string_equal(a.id, "18446744073709551615");
    assert_null(a.extra);
    trawl_article_clear(&a);
    parse_ok("{\"n\":99999999999999999999,\"id\":-9223372036854775809,"
             "\"body\":\"b\"}",
             NULL, &a);
    assert_string_equal(a.id, "-9223372036854775809");
    assert_string_equal(a.extra, "{\"n\":1e20}");
    trawl_article_clear(&a);

    /* an id read from another member (--field id=uid); "id" is then an
     * extra member like any other */
    trawl_json_fields f;
    trawl_err err = {0};
    memset(&f, 0, sizeof(f));
    assert_int_equal(trawl_json_fields_set(&f, "id=uid", &err), 0);
    parse_ok("{\"id\":12345678901234567890,\"uid\":123456789012345678901,"
             "\"body\":\"b\"}",
             &f, &a);
    assert_string_equal(a.id, "123456789012345678901");
    assert_string_equal(a.extra, "{\"id\":1.2345678901234567e19}");
    trawl_article_clear(&a);

    /* a key spelled like the id inside a string or a nested object is
     * not the id */
    parse_ok("{\"id\":\"s\",\"t\":\"\\\"id\\\":1\",\"o\":{\"id\":"
             "11111111111111111111},\"body\":\"b\"}",
             NULL, &a);
    assert_string_equal(a.id, "s");
    trawl_article_clear(&a);

    /* the fields trawl reads keep their rules */
    parse_err("{\"id\":\"t\",\"title\":12345678901234567890123,"
              "\"body\":\"b\"}",
              "field \"title\" is not a string");
    parse_err("{\"id\":\"d\",\"body\":\"b\",\"date\":99999999999999999999}",
              "out of range");
    /* a fault after such a number: named at its own column */
    parse_err("{\"id\":\"f\",\"body\":\"b\",\"x\":99999999999999999999,\"y\":}",
              "bad JSON at column 51: unexpected token");
    parse_err("{\"id\":\"g\",\"body\":\"b\",\"x\":1e400}", "overflow");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_integers_beyond_64_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
