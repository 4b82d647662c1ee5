/*
 * Review 11 through the real trawl-index, trawld and trawl:
 *   - an index of analyzer 4 (its manifest says so) is refused by trawld
 *     with the reason (search answers no_index naming the analyzer
 *     versions, stats has it as the last reload error), and the next
 *     trawl-index run rebuilds it, which trawld then serves;
 *   - filters over the protocol: a query of filters only lists newest
 *     first unless a date order is asked for, its pages follow that
 *     order, count equals total; a filter word is never highlighted;
 *     explain shows the filters.
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

static const char corpus[] =
    "{\"id\":\"a1\",\"title\":\"Storm hits the coast\",\"body\":\"A storm "
    "hit the coast and the harbour.\",\"author\":\"Jane Doe\","
    "\"url\":\"https://www.bbc.co.uk/news/a1\",\"date\":\"2024-01-02\"}\n"
    "{\"id\":\"a2\",\"title\":\"Harbour reopens\",\"body\":\"The harbour "
    "reopened after the storm; Doe said so.\",\"author\":\"John Smith\","
    "\"url\":\"https://example.com/a2\",\"date\":\"2024-03-04\"}\n"
    "{\"id\":\"a3\",\"title\":\"Doe season\",\"body\":\"Storm and doe.\","
    "\"author\":\"Jane Doe and John Smith\",\"date\":\"2023-05-06\"}\n"
    "{\"id\":\"a4\",\"title\":\"Election\",\"body\":\"Votes in the "
    "storm.\",\"author\":\"Doe\",\"url\":\"http://news.example.com:8080/\","
    "\"date\":\"2024-07-08\"}\n"
    "{\"id\":\"a5\",\"title\":\"Undated\",\"body\":\"A storm.\","
    "\"author\":\"Jane Doe\"}\n";

static json_t *search(th_conn *c, const char *q, const char *extra)
{
    char line[1024];
    json_t *qs = json_string(q);
    char *enc = json_dumps(qs, JSON_ENCODE_ANY);
    snprintf(line, sizeof(line), "{\"op\":\"search\",\"q\":%s%s%s}", enc,
             extra != NULL ? "," : "", extra != NULL ? extra : "");
    free(enc);
    json_decref(qs);
    json_t *r = th_request(c, line);
    assert_non_null(r);
    return r;
}

/* The hits' ids of an ok answer, space separated (static buffer). */
static const char *ids_of(const json_t *r)
{
    static char out[512];
    size_t o = 0, i;
    json_t *h;
    out[0] = '\0';
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_array_foreach(json_object_get(r, "hits"), i, h)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "",
                              json_string_value(json_object_get(h, "id")));
    return out;
}

/* Rewrite the current manifest as analyzer version v (its hash again). */
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

static void old_analyzer_refused_then_rebuilt(void **state)
{
    (void)state;
    th h;
    char in[256];
    assert_int_equal(th_init(&h), 0);
    th_path(in, sizeof(in), &h, "news.jsonl");
    th_write_text(in, corpus);
    assert_int_equal(th_index(&h, (const char *[]){in, NULL}, NULL), 0);
    set_manifest_analyzer(&h, 4);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = search(&c, "author:doe", NULL);
    assert_string_equal(th_error_code(r), "no_index");
    const char *msg = json_string_value(
        json_object_get(json_object_get(r, "error"), "message"));
    assert_non_null(msg);
    if (strstr(msg, "analyzer version 4") == NULL)
        fail_msg("no_index without the reason: %s", msg);
    json_decref(r);
    r = th_request(&c, "{\"op\":\"stats\"}");
    assert_non_null(r);
    const char *lre =
        json_string_value(json_object_get(r, "last_reload_error"));
    assert_non_null(lre);
    assert_non_null(strstr(lre, "analyzer version 4"));
    json_decref(r);

    /* the next run rebuilds it; trawld serves the new generation */
    th_result ir;
    assert_int_equal(th_index(&h, (const char *[]){in, NULL}, &ir), 0);
    assert_non_null(strstr(ir.err, "rebuilt"));
    th_result_free(&ir);
    r = th_request(&c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    assert_int_equal(th_count(&c, "author:doe"), 4);
    assert_int_equal(th_count(&c, "site:example.com"), 2);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void filters_over_the_protocol(void **state)
{
    (void)state;
    th h;
    char in[256];
    assert_int_equal(th_init(&h), 0);
    th_path(in, sizeof(in), &h, "news.jsonl");
    th_write_text(in, corpus);
    assert_int_equal(th_index(&h, (const char *[]){in, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* filters only: newest first, undated last; date_asc when asked
     * (undated first) */
    json_t *r = search(&c, "author:doe", "\"limit\":10");
    assert_string_equal(ids_of(r), "a4 a1 a3 a5");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 4);
    json_decref(r);
    assert_int_equal(th_count(&c, "author:doe"), 4);
    r = search(&c, "author:doe", "\"sort\":\"date_asc\"");
    assert_string_equal(ids_of(r), "a5 a3 a1 a4");
    json_decref(r);
    r = search(&c, "author:doe", "\"limit\":2,\"offset\":1");
    assert_string_equal(ids_of(r), "a1 a3");
    json_decref(r);
    r = search(&c, "site:example.com -author:smith", NULL);
    assert_string_equal(ids_of(r), "a4");
    json_decref(r);
    r = search(&c, "author:\"jane doe\" site:uk", NULL);
    assert_string_equal(ids_of(r), "a1");
    json_decref(r);

    /* with a word: ranked by the word, the filter adds nothing */
    json_t *a = search(&c, "storm author:doe", "\"limit\":10");
    json_t *b = search(&c, "storm", "\"limit\":10");
    size_t i;
    json_t *hit;
    json_array_foreach(json_object_get(a, "hits"), i, hit) {
        const char *id = json_string_value(json_object_get(hit, "id"));
        size_t j;
        json_t *hb;
        int seen = 0;
        json_array_foreach(json_object_get(b, "hits"), j, hb)
            if (strcmp(id, json_string_value(json_object_get(hb, "id"))) ==
                0) {
                seen = 1;
                assert_true(json_real_value(json_object_get(hit, "score")) ==
                            json_real_value(json_object_get(hb, "score")));
            }
        assert_true(seen);
    }
    json_decref(a);
    json_decref(b);

    /* a filter word in the text is not highlighted */
    assert_string_equal(th_highlights(&c, "storm author:doe", "a3"), "Storm");
    assert_string_equal(th_highlights(&c, "author:doe", "a2"), "");
    assert_string_equal(th_highlights(&c, "storm site:com", "a4"), "storm");

    /* explain */
    r = search(&c, "storm -author:smith site:bbc.co.uk",
               "\"explain\":true");
    const char *parsed = json_string_value(json_object_get(
        json_object_get(r, "explain"), "parsed"));
    assert_non_null(parsed);
    assert_string_equal(parsed,
                        "AND(storm, NOT author:(smith), site:(bbc.co.uk))");
    json_decref(r);

    /* errors keep their columns after the comma and dash rules */
    r = search(&c, "storm,\xe2\x80\x93" "ferry )", NULL);
    assert_string_equal(th_error_code(r), "bad_query");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(r, "error"), "message")),
                           "column 14"));
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_analyzer_refused_then_rebuilt),
        cmocka_unit_test(filters_over_the_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
