/*
 * Idle connections: trawld --idle-timeout closes a connection that has no
 * request in progress and nothing left to send; at --max-connections a new
 * client takes the place of the connection idle longest (if idle for
 * --evict-idle) instead of getting "busy", and so do clients waiting to
 * be accepted while the daemon is out of descriptors, which is logged
 * once, not every retry. See docs/protocol.md, "Idle connections".
 *
 * Timeouts here are 1 s. What can be checked whatever the load is checked
 * strictly: nothing is closed before its timeout (the daemon's clock
 * starts after the client's last request left, so the client's own clock
 * bounds it from below), and everything due is closed in the end (waits
 * of several seconds, which cost nothing when the close comes in time).
 *
 * What cannot: that a client which acts within a fraction of the timeout
 * is kept. If this process stands still for a while (a loaded machine, a
 * virtual machine paused), the daemon rightly sees the client idle. Each
 * such step is timed (pace_*), and an attempt in which one took much
 * longer than planned proves nothing and is run again (up to ATTEMPTS
 * times), saying so on stderr. A daemon that closes an active client
 * fails every attempt.
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

#define BIG_BODY   (1 << 20) /* a "get" answer the socket cannot hold */
#define TIMEOUT_MS 1000      /* --idle-timeout 1, --evict-idle 1 */
/* A step that must happen within the timeout to test what it tests is
 * planned well inside it; past this much after its reference point, the
 * attempt does not count. */
#define IN_TIME_MS 700
/* The earliest a close can come after the client's last request left:
 * the timeout, less a few ms (libuv's clock is coarse). */
#define MIN_CLOSE_MS (TIMEOUT_MS - 50)
#define ATTEMPTS     5
/* Long enough for any close that is due, even on a loaded machine. */
#define CLOSE_WAIT_MS 8000

/* The test's directory and daemon: a global, so that teardown() kills the
 * daemon of a test that failed half-way. */
static th h;

static int teardown(void **state)
{
    (void)state;
    th_cleanup(&h);
    return 0;
}

/* A temporary directory and an index of two articles, one of them with a
 * body of BIG_BODY bytes. */
static void setup_index(th *t)
{
    char src[256], path[256];

    assert_int_equal(th_init(t), 0);
    th_path(src, sizeof(src), t, "src");
    assert_int_equal(mkdir(src, 0755), 0);
    th_path(path, sizeof(path), t, "src/a.txt");
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
    th_path(path, sizeof(path), t, "src/big.txt");
    assert_int_equal(th_write_file(path, big, n), 0);
    free(big);
    assert_int_equal(th_index(t, (const char *[]){src, NULL}, NULL), 0);
}

static void stop_daemon(th *t)
{
    assert_int_equal(th_daemon_stop(t), 0);
    th_cleanup(t);
}

/* Connections start closed, so that an attempt given up can close them
 * all whatever it got to. */
static void conns_init(th_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].fd = -1;
    }
}

static void conns_close(th_conn *c, int n)
{
    for (int i = 0; i < n; i++)
        th_close(&c[i]);
}

/* ---- pace: did this process keep to the plan? ------------------------- */

static bool stalled; /* this attempt had a step out of time */

/* A step planned within IN_TIME_MS of since (th_now_ms()) happens now:
 * false, and the attempt is void, if it is late. */
static bool in_time(long long since, const char *what)
{
    long long late = th_now_ms() - since;

    if (late <= IN_TIME_MS)
        return true;
    if (!stalled)
        fprintf(stderr,
                "note: %s %lld ms after its reference point (planned "
                "within %d): this process stood still, the attempt does "
                "not count\n",
                what, late, IN_TIME_MS);
    stalled = true;
    return false;
}

/* Run an attempt until one is not void. */
static void with_attempts(const char *name, void (*attempt)(void))
{
    for (int i = 1; i <= ATTEMPTS; i++) {
        stalled = false;
        attempt();
        if (!stalled)
            return;
        th_cleanup(&h); /* kills the daemon */
        fprintf(stderr, "note: %s: attempt %d of %d void\n", name, i, ATTEMPTS);
    }
    fail_msg("%s: this process stood still in every attempt", name);
}

/* ---- requests and closes ---------------------------------------------- */

static bool ping_ok(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"ping\"}");
    bool ok = json_is_true(json_object_get(r, "pong"));
    json_decref(r);
    return ok;
}

/* Connect and ping until the daemon takes the connection (not "busy"):
 * th_daemon_start's probe connection counts until the daemon has seen
 * its close. Returns th_now_ms() before the ping that was answered: the
 * daemon's idle clock for c started after that. */
static long long connect_counted(th *t, th_conn *c)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal(th_connect(t, c), 0);
        long long sent = th_now_ms();
        if (ping_ok(c))
            return sent;
        th_close(c);
        th_sleep_ms(10);
    }
    fail_msg("the daemon never took a connection");
    return 0;
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

/* ---- tests ------------------------------------------------------------ */

/*
 * An idle client (one that pinged, one that never sent anything) is
 * closed about 1 s after it turned idle, with no message; a client that
 * keeps sending queries meanwhile is not.
 */
static void attempt_idle_closed_active_kept(void)
{
    enum { IDLE, SILENT, ACTIVE, N };
    th_conn c[N];
    conns_init(c, N);
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    long long asked = connect_counted(&h, &c[ACTIVE]);
    long long idle_from = connect_counted(&h, &c[IDLE]);
    long long silent_from = th_now_ms();
    assert_int_equal(th_connect(&h, &c[SILENT]), 0);
    long long t0 = th_now_ms();

    /* the active client asks every 100 ms: for 2 s at least (twice the
     * timeout), and until both others are closed (or long past due). Its
     * idle clock starts after each question is asked: the next must follow
     * in time. */
    long long idle_closed = 0, silent_closed = 0;
    int queries = 0;
    for (;;) {
        long long now = th_now_ms();
        if (now - t0 >= 2 * TIMEOUT_MS && idle_closed && silent_closed)
            break;
        if (now - t0 >= CLOSE_WAIT_MS)
            break;
        if (!in_time(asked, "a query of the active client"))
            goto void_attempt;
        asked = th_now_ms();
        json_t *r =
            th_request(&c[ACTIVE], "{\"op\":\"count\",\"q\":\"aardvark\"}");
        if (r == NULL || json_integer_value(json_object_get(r, "count")) != 1)
            fail_msg("the active client lost its connection after %lld ms",
                     th_now_ms() - t0);
        json_decref(r);
        queries++;
        if (idle_closed == 0 && wait_closed(&c[IDLE], 0) == 1)
            idle_closed = th_now_ms();
        if (silent_closed == 0 && wait_closed(&c[SILENT], 0) == 1)
            silent_closed = th_now_ms();
        th_sleep_ms(100);
    }
    if (idle_closed == 0 || idle_closed - idle_from < MIN_CLOSE_MS)
        fail_msg("the idle client was closed after %lld ms, not after 1000",
                 idle_closed ? idle_closed - idle_from : -1);
    if (silent_closed == 0 || silent_closed - silent_from < MIN_CLOSE_MS)
        fail_msg("the silent client was closed after %lld ms, not after "
                 "1000",
                 silent_closed ? silent_closed - silent_from : -1);
    assert_true(queries > 10);

    /* a client that was closed reconnects and is served */
    th_close(&c[IDLE]);
    connect_counted(&h, &c[IDLE]);

    conns_close(c, N);
    stop_daemon(&h);
    return;
void_attempt:
    conns_close(c, N);
}

static void test_idle_closed_active_kept(void **state)
{
    (void)state;
    with_attempts("idle_closed_active_kept", attempt_idle_closed_active_kept);
}

/*
 * A partial line is no request in progress: the clock runs from the last
 * answer (or the connect), and bytes of an unfinished line do not reset
 * it. The unfinished request gets no answer. A line completed in time is
 * answered.
 */
static void attempt_partial_line(void)
{
    enum { PART, DRIP, LATE, N };
    th_conn c[N];
    conns_init(c, N);
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    connect_counted(&h, &c[PART]);
    long long drip_from = connect_counted(&h, &c[DRIP]);
    long long late_from = connect_counted(&h, &c[LATE]);
    long long t0 = th_now_ms();

    /* part: half a request, then nothing */
    assert_int_equal(th_send(&c[PART], "{\"op\":\"pi", 9), 0);
    /* late: half now, the rest 400 ms later (the loop's third turn):
     * answered */
    assert_int_equal(th_send(&c[LATE], "{\"op\":", 6), 0);
    /* drip: a byte every 200 ms, never a whole line (29 bytes take 5.8 s,
     * more than the loop) */
    const char *line = "{\"op\":\"count\",\"q\":\"aardvark\"}";
    size_t sent = 0;
    long long drip_closed = 0, late_answered = 0, late_sent = 0;
    while (!late_answered || !drip_closed) {
        long long now = th_now_ms();
        if (now - t0 >= 5000)
            break;
        if (!late_answered && now - t0 >= 350) {
            if (!in_time(late_from, "the end of the late line"))
                goto void_attempt;
            late_sent = th_now_ms();
            assert_int_equal(th_send_line(&c[LATE], "\"ping\"}"), 0);
            json_t *r = th_recv_json(&c[LATE]);
            if (!json_is_true(json_object_get(r, "pong")))
                fail_msg("a line completed in time got no answer");
            json_decref(r);
            late_answered = th_now_ms();
        }
        if (drip_closed == 0) {
            int rc = wait_closed(&c[DRIP], 0);
            assert_int_not_equal(rc, -1);
            if (rc == 1)
                drip_closed = th_now_ms();
            else if (sent < strlen(line) &&
                     th_send(&c[DRIP], line + sent, 1) == 0)
                sent++;
        }
        th_sleep_ms(200);
    }
    assert_true(late_answered);
    if (drip_closed == 0 || drip_closed - drip_from < MIN_CLOSE_MS)
        fail_msg("the dripping client was closed after %lld ms (%zu bytes "
                 "sent), not after 1000",
                 drip_closed ? drip_closed - drip_from : -1, sent);
    assert_true(sent < strlen(line));
    /* part gets no answer, only the close */
    assert_int_equal(wait_closed(&c[PART], CLOSE_WAIT_MS), 1);
    /* late is idle again since its answer: closed, not before 1 s */
    assert_int_equal(wait_closed(&c[LATE], CLOSE_WAIT_MS), 1);
    if (th_now_ms() - late_sent < MIN_CLOSE_MS)
        fail_msg("late was closed %lld ms after its last request",
                 th_now_ms() - late_sent);

    conns_close(c, N);
    stop_daemon(&h);
    return;
void_attempt:
    conns_close(c, N);
}

static void test_partial_line(void **state)
{
    (void)state;
    with_attempts("partial_line", attempt_partial_line);
}

/* A count of n phrases of 64 words, each matching all along the big
 * article: about 15 ms of work per phrase on a fast machine (malloc'd). */
static char *slow_query(int n)
{
    size_t cap = 64 + (size_t)n * (64 * 5 + 8);
    char *q = malloc(cap);
    assert_non_null(q);
    size_t len = (size_t)snprintf(q, cap, "{\"op\":\"count\",\"q\":\"");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(q + len, cap - len, "%s\\\"", i ? " " : "");
        for (int w = 0; w < 64; w++)
            len += (size_t)snprintf(q + len, cap - len, "%sword",
                                    w ? " " : "");
        len += (size_t)snprintf(q + len, cap - len, "\\\"");
    }
    snprintf(q + len, cap - len, "\"}");
    return q;
}

/* How long a slow_query(n) takes, in ms. */
static long long timed_count(th_conn *c, int n)
{
    char *q = slow_query(n);
    long long t = th_now_ms();
    json_t *r = th_request(c, q);
    long long took = th_now_ms() - t;
    free(q);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
    json_decref(r);
    return took;
}

/* Sleep until th_now_ms() is at. */
static void sleep_until(long long at)
{
    long long left = at - th_now_ms();
    if (left > 0)
        th_sleep_ms((int)left);
}

/*
 * The bytes of a partial line do not restart the clock, even when they
 * wait unread as the timeout comes (the loop was busy): the timer spared
 * such a connection and started its clock over, so a client dribbling a
 * partial line to a loaded daemon got a new timeout again and again.
 *
 * One query loop; a slow query on another connection holds it from
 * before the dripping client's timeout until after, and a byte of the
 * partial line arrives meanwhile. Once the query is answered the loop
 * reads the byte and closes the client at once, not a timeout later.
 */
static int late_closes; /* attempts that saw the client closed late */

static void attempt_unread_partial_line(void)
{
    enum { SLOW, DRIP, N };
    th_conn c[N];
    conns_init(c, N);
    const long long timeout = 2000;
    setup_index(&h);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--idle-timeout",
                                                          "2", "--threads",
                                                          "1", NULL}),
                     0);
    connect_counted(&h, &c[SLOW]);
    /* a query that holds the loop for about 1.2 s (at most 64 phrases) */
    long long hold = timed_count(&c[SLOW], 4);
    int n = (int)(1200 * 4 / (hold > 0 ? hold : 1));
    n = n < 1 ? 1 : n > 64 ? 64 : n;
    char *q = slow_query(n);
    hold = timed_count(&c[SLOW], n);
    long long slow_from = th_now_ms(); /* its clock started before */
    if (hold < 150) {
        free(q);
        skip(); /* too fast a machine to hold the loop long enough */
    }

    long long from = connect_counted(&h, &c[DRIP]);
    assert_int_equal(th_send(&c[DRIP], "{\"op\":", 6), 0);
    /* the query from 35% of its time before the timeout, the byte at 15%
     * (on a loaded machine it may take half as long as it did) */
    long long ask_at = from + timeout - hold * 35 / 100;
    /* the slow client is idle too: a ping halfway */
    sleep_until(from + timeout / 2);
    long long pinged = th_now_ms();
    bool pong = ping_ok(&c[SLOW]);
    sleep_until(ask_at);
    long long asked = th_now_ms();
    bool asked_ok = pong && th_send_line(&c[SLOW], q) == 0;
    free(q);
    if (!asked_ok) {
        /* idle at most this long when closed */
        long long idle = pong ? asked - pinged : pinged - slow_from;
        if (idle < timeout - 100)
            fail_msg("the slow client was closed after %lld ms idle", idle);
        fprintf(stderr, "note: the slow client was closed: this process "
                        "stood still, the attempt does not count\n");
        stalled = true;
        conns_close(c, N);
        return;
    }
    sleep_until(asked + hold * 15 / 100);
    long long dripped = th_now_ms();
    bool sent = th_send(&c[DRIP], "\"", 1) == 0;
    json_t *r = th_recv_json(&c[SLOW]);
    long long answered = th_now_ms();
    bool counted = json_integer_value(json_object_get(r, "count")) == 1;
    json_decref(r);
    /* Closed, rightly if this process stood still until a timeout was
     * (almost) over. */
    if (!sent && dripped - from < timeout - 100)
        fail_msg("the dripping client was closed %lld ms after its clock "
                 "started",
                 dripped - from);
    if (!counted && asked - pinged < timeout - 100)
        fail_msg("the slow query was not answered");
    /* The scene as planned: the query asked in time, the byte sent while
     * it ran, and the timeout over before it ended. */
    if (!sent || !counted || asked - ask_at > hold / 10 ||
        answered - dripped < 50 || answered - from < timeout + 50) {
        fprintf(stderr,
                "note: the slow query (%lld ms) from %lld to %lld ms, the "
                "byte at %lld ms, the timeout at %lld ms: not as planned, "
                "the attempt does not count\n",
                hold, asked - from, answered - from, dripped - from,
                timeout);
        stalled = true;
        conns_close(c, N);
        return;
    }
    assert_int_equal(wait_closed(&c[DRIP], CLOSE_WAIT_MS), 1);
    long long closed = th_now_ms();
    /* a whole timeout late: the bug, or this process stood still for
     * half of one; the bug does it again */
    if (closed - answered > timeout / 2 && ++late_closes < 2) {
        fprintf(stderr,
                "note: the dripping client was closed %lld ms after the "
                "loop was free again; once more to be sure\n",
                closed - answered);
        stalled = true;
        conns_close(c, N);
        return;
    }
    if (closed - answered > timeout / 2)
        fail_msg("the dripping client was closed %lld ms after the loop "
                 "was free again (%lld ms after its clock started): its "
                 "unread byte gave it another timeout",
                 closed - answered, closed - from);
    conns_close(c, N);
    stop_daemon(&h);
}

static void test_unread_partial_line(void **state)
{
    (void)state;
    late_closes = 0;
    with_attempts("unread_partial_line", attempt_unread_partial_line);
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
static void attempt_writing_is_not_idle(void)
{
    th_conn big;
    conns_init(&big, 1);
    setup_index(&h);
    assert_int_equal(
        th_daemon_start(&h, (const char *[]){"--idle-timeout", "1", NULL}),
        0);
    long long from = connect_counted(&h, &big);
    if (!in_time(from, "the big request"))
        goto void_attempt;
    send_big_get(&big);
    th_sleep_ms(2000);
    /* The socket holds a fraction of the answer: the daemon hands it the
     * last bytes only once this has read most of it, and is idle from
     * then on. */
    long long reading = th_now_ms();
    read_big_get(&big);
    assert_int_equal(wait_closed(&big, CLOSE_WAIT_MS), 1);
    if (th_now_ms() - reading < MIN_CLOSE_MS)
        fail_msg("closed %lld ms after the client began to read the answer",
                 th_now_ms() - reading);
    th_close(&big);
    stop_daemon(&h);
    return;
void_attempt:
    th_close(&big);
}

static void test_writing_is_not_idle(void **state)
{
    (void)state;
    with_attempts("writing_is_not_idle", attempt_writing_is_not_idle);
}

/* The answer to a new connection when the daemon is full: busy (then
 * closed), or a pong if the daemon made room. */
static json_t *first_answer(th_conn *c)
{
    (void)th_send_line(c, "{\"op\":\"ping\"}"); /* fails if closed already */
    json_t *r = th_recv_json(c);
    if (r == NULL)
        fail_msg("a new client got no answer");
    return r;
}

static void assert_busy(json_t *r, th_conn *c)
{
    const char *code = th_error_code(r);
    if (code == NULL || strcmp(code, "busy") != 0)
        fail_msg("expected busy, got %s", code ? code : "no error");
    json_decref(r);
    assert_int_equal(wait_closed(c, CLOSE_WAIT_MS), 1);
}

/*
 * With --max-connections filled by idle clients, a new client takes the
 * place of the one idle longest, once that has been idle for --evict-idle;
 * before that, or when the others are active, the new client gets busy.
 */
static void attempt_evict_longest_idle(void)
{
    enum { A, B, C, D, E, N };
    th_conn c[N];
    conns_init(c, N);
    setup_index(&h);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--max-connections",
                                                          "3", "--evict-idle",
                                                          "1", "--idle-timeout",
                                                          "0", NULL}),
                     0);
    long long a_from = connect_counted(&h, &c[A]);
    th_sleep_ms(50);
    connect_counted(&h, &c[B]);
    connect_counted(&h, &c[C]);

    /* all idle for less than 1 s: full */
    assert_int_equal(th_connect(&h, &c[D]), 0);
    json_t *r = first_answer(&c[D]);
    if (!in_time(a_from, "the first newcomer")) {
        json_decref(r);
        goto void_attempt;
    }
    assert_busy(r, &c[D]);
    th_close(&c[D]);

    th_sleep_ms(1300);
    long long b_from = th_now_ms();
    assert_true(ping_ok(&c[B])); /* b is active; a and c idle for 1.3 s */
    assert_int_equal(th_connect(&h, &c[D]), 0);
    if (!ping_ok(&c[D])) {
        char *log = daemon_log(&h);
        fail_msg("a new client was refused; log:\n%s", log);
    }
    /* a, idle longest, made room; c, idle almost as long, did not */
    assert_int_equal(wait_closed(&c[A], CLOSE_WAIT_MS), 1);
    assert_int_equal(wait_closed(&c[C], 0), 0);
    assert_true(ping_ok(&c[C]));

    /* b, c and d were active just now: full again */
    assert_int_equal(th_connect(&h, &c[E]), 0);
    r = first_answer(&c[E]);
    if (!in_time(b_from, "the second newcomer")) {
        json_decref(r);
        goto void_attempt;
    }
    assert_busy(r, &c[E]);
    th_close(&c[E]);

    r = th_request(&c[B], "{\"op\":\"stats\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "connections")), 3);
    json_decref(r);

    char *log = daemon_log(&h);
    if (count_in(log, "closed to make room for") != 1)
        fail_msg("one eviction expected in the log:\n%s", log);
    free(log);

    conns_close(c, N);
    stop_daemon(&h);
    return;
void_attempt:
    conns_close(c, N);
}

static void test_evict_longest_idle(void **state)
{
    (void)state;
    with_attempts("evict_longest_idle", attempt_evict_longest_idle);
}

/* A connection with an answer being written is never evicted, however
 * long it has been waiting. */
static void attempt_evict_spares_busy(void)
{
    enum { BIG, IDLE, N1, N2, N };
    th_conn c[N];
    conns_init(c, N);
    setup_index(&h);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--max-connections",
                                                          "2", "--evict-idle",
                                                          "1", NULL}),
                     0);
    connect_counted(&h, &c[BIG]);
    connect_counted(&h, &c[IDLE]);
    send_big_get(&c[BIG]); /* busy from now on */
    th_sleep_ms(1300);

    assert_int_equal(th_connect(&h, &c[N1]), 0);
    long long n1_from = th_now_ms();
    assert_true(ping_ok(&c[N1])); /* took idle's place */
    assert_int_equal(wait_closed(&c[IDLE], CLOSE_WAIT_MS), 1);
    assert_int_equal(th_connect(&h, &c[N2]), 0);
    json_t *r = first_answer(&c[N2]);
    if (!in_time(n1_from, "the second newcomer")) {
        json_decref(r);
        goto void_attempt;
    }
    assert_busy(r, &c[N2]); /* big is busy, n1 active */
    read_big_get(&c[BIG]);

    conns_close(c, N);
    stop_daemon(&h);
    return;
void_attempt:
    conns_close(c, N);
}

static void test_evict_spares_busy(void **state)
{
    (void)state;
    with_attempts("evict_spares_busy", attempt_evict_spares_busy);
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
        cmocka_unit_test_teardown(test_unread_partial_line, teardown),
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
