/*
 * Words that run letters and digits together are found by their parts
 * (analyzer 6), through the real trawl-index, trawld and trawl: covid
 * finds "COVID19", iphone "iPhone5", km "100km"; covid19 still finds
 * "COVID19", "COVID-19" and "covid 19"; a phrase with the solid word
 * matches either spelling; numbers and long ids stay whole; highlights
 * cover the part or the whole word as the query asks; --check finds the
 * index sound. An index of analyzer 5 is refused by trawld ("rebuild")
 * and rebuilt by the next trawl-index run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* header-only: the manifest's hash (xxh3, format.h) */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "harness.h"

#define HEX "a3f9c2e81b4d5e6f708192a3b4c5d6e7f8091a2b"

static void write_corpus(th *h, char *dir, size_t cap)
{
    char f[300];
    th_path(dir, cap, h, "news");
    th_make_dir(h, "news");
    snprintf(f, sizeof(f), "%s/solid.txt", dir);
    th_write_text(f, "Solid\n\nNew COVID19 cases rose while the iPhone5 "
                     "sold out; the walk was 100km long.\n");
    snprintf(f, sizeof(f), "%s/hyph.txt", dir);
    th_write_text(f, "Hyphen\n\nNew COVID-19 cases rose while the iPhone-5 "
                     "waited.\n");
    snprintf(f, sizeof(f), "%s/apart.txt", dir);
    th_write_text(f, "Apart\n\nThe covid 19 numbers, an iphone 5 review, "
                     "100 km away.\n");
    snprintf(f, sizeof(f), "%s/plain.txt", dir);
    th_write_text(f, "Plain\n\nCovid spread. The iPhone is a phone; roads "
                     "in km.\n");
    snprintf(f, sizeof(f), "%s/ids.txt", dir);
    th_write_text(f, "Ids\n\nCommit " HEX " shipped in 2024 to 10,000 "
                     "users, rated 3.5, a hit of the 1990s.\n");
}

/* Rewrite the current manifest as analyzer version v (its hash again):
 * an index that an older trawl wrote, as trawld and trawl-index see it
 * first (they read the manifest before any segment). */
static void set_manifest_analyzer(const th *h, uint32_t v)
{
    char p[300], name[64];
    snprintf(p, sizeof(p), "%s/CURRENT", h->index);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    size_t n = fread(name, 1, sizeof(name) - 1, f);
    fclose(f);
    while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == ' '))
        n--;
    name[n] = '\0';
    snprintf(p, sizeof(p), "%s/%s", h->index, name);
    unsigned char buf[4096];
    f = fopen(p, "rb");
    assert_non_null(f);
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(len > 24 && len < sizeof(buf));
    assert_memory_equal(buf, "TRAWLMAN", 8);
    for (int i = 0; i < 4; i++)
        buf[12 + i] = (unsigned char)(v >> (8 * i));
    uint64_t x = XXH3_64bits(buf, len - 8);
    for (int i = 0; i < 8; i++)
        buf[len - 8 + (size_t)i] = (unsigned char)(x >> (8 * i));
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void test_letters_and_digits_found_by_parts(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    assert_int_equal(th_init(&h), 0);
    write_corpus(&h, corpus, sizeof(corpus));
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* a part finds the word */
    assert_int_equal(th_count(&c, "covid"), 4);
    assert_int_equal(th_count(&c, "iphone"), 4);
    assert_int_equal(th_count(&c, "km"), 3);
    assert_int_equal(th_count(&c, "100"), 2);
    /* the solid word finds every spelling */
    assert_int_equal(th_count(&c, "covid19"), 3);
    assert_int_equal(th_count(&c, "COVID-19"), 3);
    assert_int_equal(th_count(&c, "iPhone5"), 3);
    assert_int_equal(th_count(&c, "100km"), 2);
    /* phrases, written solid, hyphenated or apart */
    assert_int_equal(th_count(&c, "\"covid19 cases\""), 2);
    assert_int_equal(th_count(&c, "\"COVID-19 cases\""), 2);
    assert_int_equal(th_count(&c, "\"covid 19 cases\""), 2);
    assert_int_equal(th_count(&c, "\"new covid19 cases rose\""), 2);
    assert_int_equal(th_count(&c, "\"the iphone5\""), 2);
    assert_int_equal(th_count(&c, "\"walk was 100km long\""), 1);
    /* a prefix of the solid word */
    assert_int_equal(th_count(&c, "covid1*"), 2);
    /* numbers stay whole; an id too, found whole or by a prefix */
    assert_int_equal(th_count(&c, "2024"), 1);
    assert_int_equal(th_count(&c, "10000"), 1);
    assert_int_equal(th_count(&c, "10,000"), 1);
    assert_int_equal(th_count(&c, "3.5"), 1);
    assert_int_equal(th_count(&c, HEX), 1);
    assert_int_equal(th_count(&c, "a3f9c2e81b*"), 1);
    assert_int_equal(th_count(&c, "a3f9*"), 1);
    assert_int_equal(th_count(&c, "a3f9"), 0);
    /* a decade is found by its year */
    assert_int_equal(th_count(&c, "1990"), 1);
    assert_int_equal(th_count(&c, "1990s"), 1);

    /* highlights: the part alone, the whole word for the solid word */
    assert_string_equal(th_highlights(&c, "covid", "solid.txt"), "COVID");
    assert_string_equal(th_highlights(&c, "covid19", "solid.txt"), "COVID19");
    assert_string_equal(th_highlights(&c, "covid19", "hyph.txt"), "COVID-19");
    assert_string_equal(th_highlights(&c, "\"covid19 cases\"", "hyph.txt"),
                        "COVID-19 cases");
    assert_string_equal(th_highlights(&c, "\"COVID-19 cases\"", "solid.txt"),
                        "COVID19 cases");
    assert_string_equal(th_highlights(&c, "iphone", "solid.txt"), "iPhone");

    /* the client shows the same */
    th_result r;
    assert_int_equal(
        th_client(&h, &r, (const char *[]){"-l", "--", "covid", NULL}), 0);
    assert_non_null(strstr(r.out, "solid.txt"));
    assert_non_null(strstr(r.out, "plain.txt"));
    th_result_free(&r);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

static void test_analyzer_5_index_rebuilt(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    assert_int_equal(th_init(&h), 0);
    write_corpus(&h, corpus, sizeof(corpus));
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    set_manifest_analyzer(&h, 5);

    /* trawld refuses it, naming the versions and what to do */
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"covid\"}");
    assert_non_null(r);
    assert_non_null(th_error_code(r));
    assert_string_equal(th_error_code(r), "no_index");
    const char *msg = json_string_value(
        json_object_get(json_object_get(r, "error"), "message"));
    assert_non_null(msg);
    if (strstr(msg, "analyzer version 5") == NULL ||
        strstr(msg, "with 6") == NULL || strstr(msg, "rebuild") == NULL)
        fail_msg("no_index without the reason: %s", msg);
    json_decref(r);

    /* --add refuses it too; a plain run rebuilds it and says so */
    th_result ir;
    assert_int_not_equal(
        th_index(&h, (const char *[]){"--add", corpus, NULL}, &ir), 0);
    th_result_free(&ir);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &ir), 0);
    if (strstr(ir.err, "rebuilt") == NULL)
        fail_msg("no word of the rebuild: %s", ir.err);
    th_result_free(&ir);
    r = th_request(&c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    assert_int_equal(th_count(&c, "covid"), 4);
    assert_int_equal(th_count(&c, "km"), 3);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_letters_and_digits_found_by_parts),
        cmocka_unit_test(test_analyzer_5_index_rebuilt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
