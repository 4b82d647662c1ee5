/*
 * The socket file: --socket-mode sets its permissions (0600 by default);
 * removed while trawld runs (a tmpfiles cleaner, an operator), it is made
 * again within seconds and clients reach the daemon as before; a file
 * someone else puts at the path is left alone and named in the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ping through a new connection, retried for up to 5 s. 0 or -1. */
static int ping_within(th *h, int ms)
{
    long long until = th_now_ms() + ms;
    do {
        th_conn c;
        if (th_connect(h, &c) == 0) {
            json_t *r = th_request(&c, "{\"op\":\"ping\"}");
            int ok = r != NULL && json_is_true(json_object_get(r, "pong"));
            json_decref(r);
            th_close(&c);
            if (ok)
                return 0;
        }
        th_sleep_ms(100);
    } while (th_now_ms() < until);
    return -1;
}

static void test_socket_mode_and_removal(void **state)
{
    (void)state;
    th h;
    struct stat st;

    assert_int_equal(th_init(&h), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(stat(h.sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(th_daemon_stop(&h), 0);

    const char *extra[] = {"--socket-mode", "660", NULL};
    assert_int_equal(th_daemon_start(&h, extra), 0);
    assert_int_equal(stat(h.sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    /* a connection open across the removal keeps working */
    th_conn old;
    assert_int_equal(th_connect(&h, &old), 0);
    assert_int_equal(unlink(h.sock), 0);
    assert_int_equal(ping_within(&h, 5000), 0);
    assert_int_equal(stat(h.sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    json_t *r = th_request(&old, "{\"op\":\"ping\"}");
    assert_non_null(r);
    json_decref(r);
    th_close(&old);

    /* someone else's file at the path is not touched */
    assert_int_equal(unlink(h.sock), 0);
    th_write_text(h.sock, "not a socket");
    th_sleep_ms(2500);
    assert_int_equal(stat(h.sock, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char *log = th_daemon_log(&h);
    assert_non_null(strstr(log, "is no longer trawld's socket"));
    free(log);
    /* gone again: the socket comes back */
    assert_int_equal(unlink(h.sock), 0);
    assert_int_equal(ping_within(&h, 5000), 0);
    assert_int_equal(th_daemon_stop(&h), 0);
    /* and is removed at exit */
    assert_int_not_equal(stat(h.sock, &st), 0);

    th_result res;
    const char *bad[] = {"trawld", "--index", h.index, "--socket", h.sock,
                         "--socket-mode", "8", NULL};
    assert_int_equal(th_run(&res, bad), 2);
    assert_non_null(strstr(res.err, "--socket-mode"));
    th_result_free(&res);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_mode_and_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
