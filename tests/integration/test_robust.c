/*
 * Robustness against hostile and unusual input, found by fuzzing the real
 * programs: each test here failed before the fix it came with.
 */
#include <errno.h>
#include <jansson.h>
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

#include "harness.h"

static void assert_pong(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"ping\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
}

/*
 * One response bigger than the 8 MiB cut-off for clients that let
 * responses pile up (here a 12 MB article) is delivered whole to a client
 * that reads it: it is one answer being read, not a pile. Before, the
 * daemon queued it, saw more than 8 MiB pending and closed the connection
 * in the middle of the line.
 */
static void big_response_is_delivered(void **state)
{
    (void)state;
    th h;
    th_conn c;
    char dir[160], path[200];
    const size_t words = 1500000; /* "w123456 " x 1.5e6: 12 MB */

    assert_int_equal(th_init(&h), 0);
    snprintf(dir, sizeof(dir), "%s/big", h.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/big.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Title: A very long one\n\n", f);
    for (size_t i = 0; i < words; i++)
        fprintf(f, "w%06zu ", i % 500000);
    fclose(f);
    const char *paths[] = {dir, NULL};
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    assert_int_equal(th_connect(&h, &c), 0);
    /* the big answer, then a ping behind it on the same connection */
    assert_int_equal(th_send_line(&c, "{\"op\":\"get\",\"doc\":\"big.txt\"}"),
                     0);
    json_t *r = th_recv_json(&c);
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    const char *body =
        json_string_value(json_object_get(json_object_get(r, "doc"), "body"));
    assert_non_null(body);
    assert_true(strlen(body) >= 8 * words - 1);
    json_decref(r);
    assert_pong(&c);
    th_close(&c);

    char *log = th_daemon_log(&h);
    assert_null(strstr(log, "not reading"));
    free(log);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(big_response_is_delivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
