/*
 * Review of session 12's changes, end to end: a JSON Lines file saved as
 * .json whose first record is longer than the 64 KiB trawl-index looks
 * at to tell JSON Lines from other JSON (an article's full text) is read
 * as JSON Lines, in a walked directory and named alone, not skipped
 * silently or given the advice for one JSON object.
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

/* A .json file of JSON Lines whose first line is `first` bytes of body
 * long (then a second record), ids tag-1 and tag-2. */
static void write_lines(const char *path, const char *tag, size_t first)
{
    size_t cap = first + 256;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, cap, "{\"id\": \"%s-1\", \"title\": "
                                        "\"Long\", \"body\": \"", tag);
    for (size_t i = 0; i < first; i++)
        s[n++] = i % 6 == 5 ? ' ' : "harbr"[i % 6];
    n += (size_t)snprintf(s + n, cap - n,
                          "\"}\n{\"id\": \"%s-2\", \"title\": \"Short\", "
                          "\"body\": \"storm at the harbour\"}\n", tag);
    assert_int_equal(th_write_file(path, s, n), 0);
    free(s);
}

static void test_long_first_line_json(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "data");
    char p[256], q[256], d[256];
    th_path(d, sizeof(d), &h, "data");
    th_path(p, sizeof(p), &h, "data/long.json");
    th_path(q, sizeof(q), &h, "data/short.json");
    write_lines(p, "long", 200000); /* past 64 KiB and the 8 KiB reads after */
    write_lines(q, "short", 100);

    /* the directory: both files read */
    th_result r;
    const char *argv[] = {"trawl-index", "--index", h.index, d, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    want_in("summary", r.out, "indexed 4 documents");
    th_result_free(&r);

    /* the file alone: read, not the advice for one JSON object */
    const char *argv2[] = {"trawl-index", "--full", "--index", h.index, p,
                           NULL};
    assert_int_equal(th_run(&r, argv2), 0);
    want_in("summary", r.out, "indexed 2 documents");
    if (strstr(r.err, "not an article file") != NULL)
        fail_msg("advice for a JSON Lines file: %s", r.err);
    th_result_free(&r);

    /* a long first line that is one object alone, without a second line:
     * still the advice to name it .jsonl */
    char o[256];
    th_path(o, sizeof(o), &h, "one.json");
    size_t cap = 100000;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, cap, "{\"id\": \"x\", \"body\": \"");
    while (n < cap - 8)
        s[n++] = 'a';
    memcpy(s + n, "\"}\n", 3);
    assert_int_equal(th_write_file(o, s, n + 3), 0);
    free(s);
    const char *argv3[] = {"trawl-index", "--index", h.index, o, NULL};
    assert_int_equal(th_run(&r, argv3), 1);
    want_in("stderr", r.err, "it looks like JSON Lines (one object a line)");
    th_result_free(&r);
    th_cleanup(&h);
}

/* JSON Lines saved as .json whose first record was damaged (garbage, or
 * cut short) is still JSON Lines: the bad line is reported and the rest
 * kept, as in a .jsonl, not the whole file skipped in silence and its
 * articles deleted. */
static void test_damaged_first_line_json(void **state)
{
    (void)state;
    static const char *const damaged[] = {
        "garbage\n{\"id\":\"x2\",\"body\":\"rain\"}\n",
        "{\"id\":\"x1\",\"bo\n{\"id\":\"x2\",\"body\":\"rain\"}",
    };
    for (size_t k = 0; k < 2; k++) {
        th h;
        assert_int_equal(th_init(&h), 0);
        th_make_dir(&h, "d");
        char p[256], d[256];
        th_path(d, sizeof(d), &h, "d");
        th_path(p, sizeof(p), &h, "d/a.json");
        th_write_text(p, "{\"id\":\"x1\",\"body\":\"storm\"}\n"
                         "{\"id\":\"x2\",\"body\":\"rain\"}\n");
        th_result r;
        const char *argv[] = {"trawl-index", "--index", h.index, d, NULL};
        assert_int_equal(th_run(&r, argv), 0);
        want_in("summary", r.out, "indexed 2 documents");
        th_result_free(&r);
        th_write_text(p, damaged[k]);
        assert_int_equal(th_run(&r, argv), 0); /* committed, 1 bad input */
        want_in("stderr", r.err, "a.json:1: ");
        want_in("summary", r.out, "1 bad input");
        if (strstr(r.out, "2 deleted") != NULL)
            fail_msg("the file's articles deleted: %s", r.out);
        th_result_free(&r);
        th_cleanup(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_first_line_json),
        cmocka_unit_test(test_damaged_first_line_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
