/*
 * Request ids beyond a 64-bit signed integer (a Go uint64 counter, a
 * JavaScript BigInt written out) are echoed as they were written, byte
 * for byte, as docs/protocol.md promises for any JSON value; other
 * numbers out of range in a request stay bad_json. A line that is not
 * JSON gets the id it states plainly (a string, an integer) back with
 * its bad_json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void test_big_request_ids(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "a.jsonl");
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    assert_int_equal(
        th_send_line(&c, "{\"id\":18446744073709551615,\"op\":\"ping\"}"), 0);
    char *r = th_recv_line(&c);
    assert_non_null(r);
    assert_string_equal(r, "{\"id\":18446744073709551615,\"ok\":true,"
                           "\"pong\":true}");
    free(r);
    assert_int_equal(th_send_line(&c, "{\"op\":\"count\",\"q\":\"storm\","
                                      "\"id\": -99999999999999999999}"),
                     0);
    r = th_recv_line(&c);
    assert_non_null(r);
    assert_non_null(strstr(r, "{\"id\":-99999999999999999999,\"ok\":true"));
    assert_non_null(strstr(r, "\"count\":1"));
    free(r);
    /* another member out of range is still bad JSON */
    json_t *j = th_request(&c, "{\"id\":7,\"op\":\"search\",\"q\":\"storm\","
                               "\"limit\":99999999999999999999}");
    assert_non_null(j);
    assert_string_equal(th_error_code(j), "bad_json");
    json_decref(j);
    /* a line that is not JSON still gets its plainly stated id back */
    static const struct {
        const char *line, *id;
    } bad[] = {
        {"{\"id\":12,\"op\":\"ping\",\"x\":1e999999}", "{\"id\":12,"},
        {"{\"id\":\"req-7\",\"op\":\"search\",\"q\":\"storm\",}",
         "{\"id\":\"req-7\","},
        {"{\"id\":\"caf\\u00e9\", \"op\":}", "{\"id\":\"caf\\u00e9\","},
        {"{\"id\":\"bad\\q\",\"op\":\"ping\"}", "{\"id\":null,"},
        {"{\"id\":007,\"op\":\"ping\"}", "{\"id\":null,"},
        {"{\"x\":{\"id\":5},\"op\":}", "{\"id\":null,"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(th_send_line(&c, bad[i].line), 0);
        r = th_recv_line(&c);
        assert_non_null(r);
        if (strncmp(r, bad[i].id, strlen(bad[i].id)) != 0 ||
            strstr(r, "\"bad_json\"") == NULL)
            fail_msg("%s -> %s", bad[i].line, r);
        json_t *ok = json_loads(r, 0, NULL);
        assert_non_null(ok); /* the answer is JSON */
        json_decref(ok);
        free(r);
    }
    /* the connection still answers */
    j = th_request(&c, "{\"id\":8,\"op\":\"ping\"}");
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "pong")));
    json_decref(j);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_request_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
