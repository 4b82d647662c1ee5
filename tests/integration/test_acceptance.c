/*
 * Acceptance tests: what a user at a terminal, an operator or a program
 * speaking the protocol ran into, each kept as a test once fixed.
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

static void path_in(char *out, size_t cap, const th *h, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", h->dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_in(const th *h, const char *name, const char *text)
{
    char path[256];
    path_in(path, sizeof(path), h, name);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
}

static void mkdir_in(const th *h, const char *name)
{
    char path[256];
    path_in(path, sizeof(path), h, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

/*
 * Two PATHs holding files of the same relative name give two articles
 * with one id: the later replaces the earlier. That loses an article, so
 * trawl-index says so instead of dropping it silently.
 */
static void test_duplicate_file_ids_reported(void **state)
{
    (void)state;
    th h;
    th_result r;
    char a[256], b[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "a");
    mkdir_in(&h, "b");
    write_in(&h, "a/x.txt", "First\n\nthe first article, aardvark\n");
    write_in(&h, "b/x.txt", "Second\n\nthe second article, armadillo\n");
    write_in(&h, "b/y.txt", "Third\n\nanother article, anteater\n");
    path_in(a, sizeof(a), &h, "a");
    path_in(b, sizeof(b), &h, "b");
    assert_int_equal(th_index(&h, (const char *[]){a, b, NULL}, &r), 0);
    if (strstr(r.err, "b/x.txt") == NULL ||
        strstr(r.err, "duplicate id \"x.txt\"") == NULL)
        fail_msg("duplicate id not reported:\n%s", r.err);
    if (strstr(r.err, "y.txt") != NULL)
        fail_msg("a unique id reported:\n%s", r.err);
    if (strstr(r.out, "; 1 bad input") == NULL)
        fail_msg("the duplicate is not counted:\n%s", r.out);
    th_result_free(&r);

    /* A rerun reports it again (every run sees both files). */
    assert_int_equal(th_index(&h, (const char *[]){a, b, NULL}, &r), 0);
    if (strstr(r.err, "duplicate id \"x.txt\"") == NULL)
        fail_msg("duplicate id not reported on rerun:\n%s", r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * trawld --socket "" (a script's unset variable) listened on an empty
 * path, which nobody can connect to; like the client, it now takes the
 * default ($TRAWL_SOCKET here).
 */
static void test_empty_socket_option_is_default(void **state)
{
    (void)state;
    th h;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    path_in(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);
    assert_int_equal(setenv("TRAWL_SOCKET", h.sock, 1), 0);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--socket", "",
                                                          NULL}),
                     0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"ping\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    unsetenv("TRAWL_SOCKET");
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_file_ids_reported),
        cmocka_unit_test(test_empty_socket_option_is_default),
    };
    return cmocka_run_group_tests_name("acceptance", tests, NULL, NULL);
}
