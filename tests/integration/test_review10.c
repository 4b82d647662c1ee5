/*
 * Review 10, through the real trawl-index, trawld and trawl: a word
 * written with U+02BC MODIFIER LETTER APOSTROPHE is found without it
 * ("obrien" finds "O\u02bcBrien"), and a hyphenated word whose last part
 * has an apostrophe ("x-O'Brien") is its whole compound ("xobrien"): it
 * does not find a text's "XO", and its highlight covers the word.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void test_apostrophes_review10(void **state)
{
    (void)state;
    th h;
    char corpus[256], f[300];
    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news");
    th_make_dir(&h, "news");
    snprintf(f, sizeof(f), "%s/mod.txt", corpus);
    th_write_text(f, "Modifier\n\nMr O\xca\xbc" "Brien met the press.\n");
    snprintf(f, sizeof(f), "%s/chain.txt", corpus);
    th_write_text(f, "Chain\n\nThe x-O'Brien rules held.\n");
    snprintf(f, sizeof(f), "%s/xo.txt", corpus);
    th_write_text(f, "Hugs\n\nXO and rockn from us.\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    assert_int_equal(th_count(&c, "obrien"), 2);
    assert_int_equal(th_count(&c, "O'Brien"), 2);
    assert_string_equal(th_highlights(&c, "obrien", "mod.txt"), "O\xca\xbc" "Brien");
    /* the compound is the whole chain */
    assert_int_equal(th_count(&c, "x-O'Brien"), 1);
    assert_int_equal(th_count(&c, "xobrien"), 1);
    assert_int_equal(th_count(&c, "xo"), 1);
    assert_string_equal(th_highlights(&c, "xobrien", "chain.txt"), "x-O'Brien");
    assert_int_equal(th_count(&c, "rock-n'roll"), 0);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_result r;
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apostrophes_review10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
