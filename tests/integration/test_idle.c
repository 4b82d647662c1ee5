/*
 * Idle connections: trawld --idle-timeout closes a connection that has no
 * request in progress and nothing left to send; at --max-connections a new
 * client takes the place of the connection idle longest (if idle for
 * --evict-idle) instead of getting "busy", and so do clients waiting to
 * be accepted while the daemon is out of descriptors, which is logged
 * once, not every retry. See docs/protocol.md, "Idle connections".
 *
 * Timeouts here are 1 s; the bounds checked are loose (the tests may run
 * beside others, or under sanitizers).
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define BIG_BODY (1 << 20) /* a "get" answer the socket cannot hold */

/* The test's directory and daemon: a global, so that teardown() kills the
 * daemon of a test that failed half-way. */
static th h;

static int teardown(void **state)
{
    (void)state;
    th_cleanup(&h);
    return 0;
}

static void path_in(char *out, size_t cap, const th *t, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", t->dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* A temporary directory and an index of two articles, one of them with a
 * body of BIG_BODY bytes. */
static void setup_index(th *t)
{
    char src[256], path[256];

    assert_int_equal(th_init(t), 0);
    path_in(src, sizeof(src), t, "src");
    assert_int_equal(mkdir(src, 0755), 0);
    path_in(path, sizeof(path), t, "src/a.txt");
    const char *a = "Title\n\nsome aardvark words\n";
    assert_int_equal(th_write_file(path, a, strlen(a)), 0);

    char *big = malloc(BIG_BODY + 16);
    assert_non_null(big);
    size_t n = 0;
    n += (size_t)sprintf(big, "Big\n\n");
    while (n < BIG_BODY) {
        memcpy(big + n, "word ", 5);
        n += 5;
    }
    big[n++] = '\n';
    path_in(path, sizeof(path), t, "src/big.txt");
    assert_int_equal(th_write_file(path, big, n), 0);
    free(big);
    assert_int_equal(th_index(t, (const char *[]){src, NULL}, NULL), 0);
}

static void stop_daemon(th *t)
{
    assert_int_equal(th_daemon_stop(t), 0);
    th_cleanup(t);
}

static bool ping_ok(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"ping\"}");
    bool ok = json_is_true(json_object_get(r, "pong"));
    json_decref(r);
    return ok;
}

/* Connect and ping until the daemon takes the connection (not "busy"):
 * th_daemon_start's probe connection counts until the daemon has seen
 * its close. */
static void connect_counted(th *t, th_conn *c)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal(th_connect(t, c), 0);
        if (ping_ok(c))
            return;
        th_close(c);
        th_sleep_ms(10);
    }
    fail_msg("the daemon never took a connection");
}

/*
 * Wait up to ms for the daemon to close c. Returns 1 on end of file (or a
 * reset), 0 if still open at the deadline, -1 if it sent something.
 */
static int wait_closed(th_conn *c, int ms)
{
    long long deadline = th_now_ms() + ms;

    for (;;) {
        long long left = deadline - th_now_ms();
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&p, 1, left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return 0;
        char b[64];
        ssize_t k = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return 1;
        if (k > 0)
            return -1;
        if (left <= 0)
            return 0;
    }
}

/* The daemon's log, asserted to be there (free it). */
static char *daemon_log(th *t)
{
    char *log = th_daemon_log(t);
    assert_non_null(log);
    return log;
}

static int count_in(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p != NULL;
         p = strstr(p + 1, what))
        n++;
    return n;
}

/*
 * An idle client (one that pinged, one that never sent anything) is
 * closed about 1 s after it turned idle, with no message; a client that
 * keeps sending queries meanwhile is not.
 */
static void test_idle_closed_active_kept(void **state)
{
    (void)state;
    th_conn idle, silent, active;
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    connect_counted(&h, &active);
    connect_counted(&h, &idle);
    long long t0 = th_now_ms();
    assert_int_equal(th_connect(&h, &silent), 0);

    long long idle_closed = 0, silent_closed = 0;
    int queries = 0;
    while (th_now_ms() - t0 < 2500) {
        json_t *r =
            th_request(&active, "{\"op\":\"count\",\"q\":\"aardvark\"}");
        if (r == NULL || json_integer_value(json_object_get(r, "count")) != 1)
            fail_msg("the active client lost its connection after %lld ms",
                     th_now_ms() - t0);
        json_decref(r);
        queries++;
        if (idle_closed == 0 && wait_closed(&idle, 0) == 1)
            idle_closed = th_now_ms() - t0;
        if (silent_closed == 0 && wait_closed(&silent, 0) == 1)
            silent_closed = th_now_ms() - t0;
        th_sleep_ms(100);
    }
    if (idle_closed < 800 || idle_closed > 2400)
        fail_msg("the idle client was closed after %lld ms, not about 1000",
                 idle_closed);
    if (silent_closed < 800 || silent_closed > 2400)
        fail_msg("the silent client was closed after %lld ms, not about "
                 "1000",
                 silent_closed);
    assert_true(queries > 10);
    assert_true(ping_ok(&active));

    /* a client that was closed reconnects and is served */
    th_close(&idle);
    assert_int_equal(th_connect(&h, &idle), 0);
    assert_true(ping_ok(&idle));

    th_close(&idle);
    th_close(&silent);
    th_close(&active);
    stop_daemon(&h);
}

/*
 * A partial line is no request in progress: the clock runs from the last
 * answer (or the connect), and bytes of an unfinished line do not reset
 * it. The unfinished request gets no answer. A line completed in time is
 * answered.
 */
static void test_partial_line(void **state)
{
    (void)state;
    th_conn part, drip, late;
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    connect_counted(&h, &part);
    connect_counted(&h, &drip);
    connect_counted(&h, &late);
    long long t0 = th_now_ms();

    /* part: half a request, then nothing */
    assert_int_equal(th_send(&part, "{\"op\":\"pi", 9), 0);
    /* late: half now, the rest 500 ms later: answered */
    assert_int_equal(th_send(&late, "{\"op\":", 6), 0);
    /* drip: a byte every 200 ms, never a whole line */
    const char *line = "{\"op\":\"count\",\"q\":\"aardvark\"}";
    size_t sent = 0;
    long long drip_closed = 0;
    bool late_done = false;
    while (th_now_ms() - t0 < 2500) {
        if (!late_done && th_now_ms() - t0 >= 500) {
            assert_int_equal(th_send_line(&late, "\"ping\"}"), 0);
            json_t *r = th_recv_json(&late);
            if (!json_is_true(json_object_get(r, "pong")))
                fail_msg("a line completed in time got no answer");
            json_decref(r);
            late_done = true;
        }
        if (drip_closed == 0) {
            int rc = wait_closed(&drip, 0);
            assert_int_not_equal(rc, -1);
            if (rc == 1)
                drip_closed = th_now_ms() - t0;
            else if (sent < strlen(line) &&
                     th_send(&drip, line + sent, 1) == 0)
                sent++;
        }
        th_sleep_ms(200);
    }
    assert_true(late_done);
    if (drip_closed < 800 || drip_closed > 2400)
        fail_msg("the dripping client was closed after %lld ms, not about "
                 "1000",
                 drip_closed);
    /* part got no answer, only the close (long ago by now) */
    assert_int_equal(wait_closed(&part, 0), 1);
    /* late is idle again since its answer (about 1.5 s ago): closed */
    assert_int_equal(wait_closed(&late, 1500), 1);

    th_close(&part);
    th_close(&drip);
    th_close(&late);
    stop_daemon(&h);
}

/* Send a "get" of the big article and read none of it. */
static void send_big_get(th_conn *c)
{
    assert_int_equal(
        th_send_line(c, "{\"id\":9,\"op\":\"get\",\"doc\":\"big.txt\"}"), 0);
}

/* Read the big article's answer in full. */
static void read_big_get(th_conn *c)
{
    json_t *r = th_recv_json(c);
    if (r == NULL)
        fail_msg("the big answer was cut off");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
    const char *body = json_string_value(
        json_object_get(json_object_get(r, "doc"), "body"));
    assert_non_null(body);
    assert_true(strlen(body) >= BIG_BODY - 16);
    json_decref(r);
}

/* A connection whose answer is still being written (the client reads it
 * slowly) is not idle: it outlives the timeout and gets all of it. */
static void test_writing_is_not_idle(void **state)
{
    (void)state;
    th_conn big;
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    connect_counted(&h, &big);
    send_big_get(&big);
    th_sleep_ms(2000);
    read_big_get(&big);
    /* idle from now on: closed after the timeout */
    assert_int_equal(wait_closed(&big, 2500), 1);
    th_close(&big);
    stop_daemon(&h);
}

static void assert_busy(th_conn *c)
{
    json_t *r = th_recv_json(c);
    const char *code = th_error_code(r);
    if (code == NULL || strcmp(code, "busy") != 0)
        fail_msg("expected busy, got %s", code ? code : "no error");
    json_decref(r);
    assert_int_equal(wait_closed(c, 2000), 1);
}

/*
 * With --max-connections filled by idle clients, a new client takes the
 * place of the one idle longest, once that has been idle for --evict-idle;
 * before that, or when the others are active, the new client gets busy.
 */
static void test_evict_longest_idle(void **state)
{
    (void)state;
    th_conn a, b, c, d, e;
    setup_index(&h);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--max-connections",
                                                          "3", "--evict-idle",
                                                          "1", "--idle-timeout",
                                                          "0", NULL}),
                     0);
    connect_counted(&h, &a);
    th_sleep_ms(50);
    connect_counted(&h, &b);
    connect_counted(&h, &c);

    /* all idle for less than 1 s: full */
    assert_int_equal(th_connect(&h, &d), 0);
    assert_busy(&d);
    th_close(&d);

    th_sleep_ms(1300);
    assert_true(ping_ok(&b)); /* b is active; a and c idle for 1.3 s */
    assert_int_equal(th_connect(&h, &d), 0);
    if (!ping_ok(&d)) {
        char *log = daemon_log(&h);
        fail_msg("a new client was refused; log:\n%s", log);
    }
    /* a, idle longest, made room; c, idle almost as long, did not */
    assert_int_equal(wait_closed(&a, 2000), 1);
    assert_int_equal(wait_closed(&c, 0), 0);
    assert_true(ping_ok(&c));

    /* b, c and d were active just now: full again */
    assert_int_equal(th_connect(&h, &e), 0);
    assert_busy(&e);
    th_close(&e);

    json_t *r = th_request(&b, "{\"op\":\"stats\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "connections")), 3);
    json_decref(r);

    char *log = daemon_log(&h);
    if (count_in(log, "closed to make room for") != 1)
        fail_msg("one eviction expected in the log:\n%s", log);
    free(log);

    th_close(&a);
    th_close(&b);
    th_close(&c);
    th_close(&d);
    stop_daemon(&h);
}

/* A connection with an answer being written is never evicted, however
 * long it has been waiting. */
static void test_evict_spares_busy(void **state)
{
    (void)state;
    th_conn big, idle, n1, n2;
    setup_index(&h);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--max-connections",
                                                          "2", "--evict-idle",
                                                          "1", NULL}),
                     0);
    connect_counted(&h, &big);
    connect_counted(&h, &idle);
    send_big_get(&big); /* busy from now on */
    th_sleep_ms(1300);

    assert_int_equal(th_connect(&h, &n1), 0);
    assert_true(ping_ok(&n1)); /* took idle's place */
    assert_int_equal(wait_closed(&idle, 2000), 1);
    assert_int_equal(th_connect(&h, &n2), 0);
    assert_busy(&n2); /* big is busy, n1 active */
    th_close(&n2);
    read_big_get(&big);

    th_close(&idle);
    th_close(&big);
    th_close(&n1);
    stop_daemon(&h);
}

/*
 * Out of file descriptors, trawld retries accept() every 100 ms: it said
 * so in the log every time. Now once when it starts, and once when it
 * ends.
 */
static void test_out_of_descriptors_logged_once(void **state)
{
    (void)state;
    struct rlimit old, low;
    setup_index(&h);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 40;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int started = th_daemon_start(&h, NULL);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(started, 0);

    enum { NCONN = 60 };
    th_conn c[NCONN];
    int n = 0;
    for (; n < NCONN; n++)
        if (th_connect(&h, &c[n]) < 0)
            break;
    th_sleep_ms(1000); /* ten retries */
    for (int i = 0; i < n; i++)
        th_close(&c[i]);
    th_sleep_ms(300);

    th_conn d;
    assert_int_equal(th_connect(&h, &d), 0);
    assert_true(ping_ok(&d));
    th_close(&d);
    char *log = daemon_log(&h);
    if (count_in(log, "accept: Too many open files") != 1 ||
        count_in(log, "accept: works again") != 1)
        fail_msg("out of descriptors not logged once at the start and "
                 "once at the end:\n%s",
                 log);
    free(log);
    stop_daemon(&h);
}

/*
 * Out of descriptors, the clients waiting to be accepted take the place
 * of connections idle for --evict-idle, as at --max-connections: a client
 * that arrives while the others hold every descriptor and send nothing
 * is served within a few seconds instead of waiting for the idle timeout.
 */
static void test_out_of_descriptors_evicts_idle(void **state)
{
    (void)state;
    struct rlimit old, low;
    setup_index(&h);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 40;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int started =
        th_daemon_start(&h, (const char *[]){"--evict-idle", "1", NULL});
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(started, 0);

    enum { NCONN = 60 };
    th_conn c[NCONN];
    int n = 0;
    for (; n < NCONN; n++)
        if (th_connect(&h, &c[n]) < 0)
            break;
    th_sleep_ms(300);
    long long t0 = th_now_ms();
    th_conn d;
    assert_int_equal(th_connect(&h, &d), 0);
    if (!ping_ok(&d)) {
        char *log = daemon_log(&h);
        fail_msg("the new client was not served; log:\n%s", log);
    }
    long long took = th_now_ms() - t0;
    if (took > 6000)
        fail_msg("the new client waited %lld ms", took);
    /* the first clients, idle longest, were closed for it */
    assert_int_equal(wait_closed(&c[0], 0), 1);
    char *log = daemon_log(&h);
    if (strstr(log, "closed to free a file descriptor") == NULL)
        fail_msg("no eviction logged:\n%s", log);
    free(log);
    for (int i = 0; i < n; i++)
        th_close(&c[i]);
    th_close(&d);
    stop_daemon(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_idle_closed_active_kept, teardown),
        cmocka_unit_test_teardown(test_partial_line, teardown),
        cmocka_unit_test_teardown(test_writing_is_not_idle, teardown),
        cmocka_unit_test_teardown(test_evict_longest_idle, teardown),
        cmocka_unit_test_teardown(test_evict_spares_busy, teardown),
        cmocka_unit_test_teardown(test_out_of_descriptors_logged_once,
                                  teardown),
        cmocka_unit_test_teardown(test_out_of_descriptors_evicts_idle,
                                  teardown),
    };
    return cmocka_run_group_tests_name("idle", tests, NULL, NULL);
}
