/*
 * The daemon protocol over raw sockets, against the real trawld serving an
 * index built by the real trawl-index from tests/fixtures/protocol.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static th H;               /* the daemon with an index (group "served") */
static char articles[160]; /* H.dir/articles: a copy of the fixture */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void copy_fixture(const char *name)
{
    char src[512], dst[256];
    th_result r;

    snprintf(src, sizeof(src), "%s/protocol/%s", th_fixtures_dir(), name);
    snprintf(dst, sizeof(dst), "%s/%s", articles, name);
    const char *argv[] = {"/bin/cp", src, dst, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    th_result_free(&r);
}

/* A request on a fresh connection. */
static json_t *ask(th *h, const char *line)
{
    th_conn c;
    json_t *r;

    assert_int_equal(th_connect(h, &c), 0);
    r = th_request(&c, line);
    th_close(&c);
    assert_non_null(r);
    return r;
}

static void assert_ok(const json_t *r)
{
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("expected ok: %s", s);
    }
}

static void assert_code(const json_t *r, const char *code)
{
    const char *got = th_error_code(r);
    if (got == NULL || strcmp(got, code) != 0) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("expected error %s: %s", code, s);
    }
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_true(json_is_string(
        json_object_get(json_object_get(r, "error"), "message")));
}

static void assert_pong(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"ping\",\"id\":\"after\"}");
    assert_non_null(r);
    assert_ok(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    assert_string_equal(json_string_value(json_object_get(r, "id")), "after");
    json_decref(r);
}

/* 1 if the hits of r have exactly the ids listed (any order). */
static int hits_are(const json_t *r, const char *const ids[], size_t n)
{
    json_t *hits = json_object_get(r, "hits");
    if (json_array_size(hits) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++) {
            const char *id = json_string_value(
                json_object_get(json_array_get(hits, j), "id"));
            if (id != NULL && strcmp(id, ids[i]) == 0)
                found = 1;
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* ---- group: an index is served ------------------------------------------ */

static int served_setup(void **state)
{
    (void)state;
    if (th_init(&H) < 0)
        return -1;
    snprintf(articles, sizeof(articles), "%s/articles", H.dir);
    if (mkdir(articles, 0700) < 0)
        return -1;
    copy_fixture("harbor.txt");
    copy_fixture("orchard.txt");
    copy_fixture("council.txt");
    copy_fixture("bakery.txt");
    const char *paths[] = {articles, NULL};
    if (th_index(&H, paths, NULL) != 0)
        return -1;
    return th_daemon_start(&H, NULL);
}

static int served_teardown(void **state)
{
    (void)state;
    th_cleanup(&H);
    return 0;
}

static void ping_echoes_id(void **state)
{
    (void)state;
    th_conn c;
    json_t *r;

    assert_int_equal(th_connect(&H, &c), 0);
    r = th_request(&c, "{\"op\":\"ping\",\"id\":7}");
    assert_ok(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    json_decref(r);

    r = th_request(&c, "{\"id\":{\"a\":[1,\"x\"]},\"op\":\"ping\"}");
    assert_ok(r);
    json_t *want = json_loads("{\"a\":[1,\"x\"]}", 0, NULL);
    assert_true(json_equal(json_object_get(r, "id"), want));
    json_decref(want);
    json_decref(r);

    r = th_request(&c, "{\"op\":\"ping\"}"); /* absent id -> null */
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);

    /* blank lines are ignored, CRLF is accepted */
    const char *blank = "\n  \n{\"op\":\"ping\",\"id\":2}\r\n";
    assert_int_equal(th_send(&c, blank, strlen(blank)), 0);
    r = th_recv_json(&c);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);
    th_close(&c);
}

static void stats_reports_index(void **state)
{
    (void)state;
    json_t *r = ask(&H, "{\"op\":\"stats\",\"id\":1}");

    assert_ok(r);
    assert_true(json_integer_value(json_object_get(r, "generation")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(r, "docs")), 4);
    assert_true(json_integer_value(json_object_get(r, "terms")) > 0);
    assert_true(json_integer_value(json_object_get(r, "segments")) >= 1);
    assert_true(json_integer_value(json_object_get(r, "tokens")) > 0);
    assert_true(json_integer_value(json_object_get(r, "index_bytes")) > 0);
    assert_string_equal(json_string_value(json_object_get(r, "language")),
                        "english");
    assert_true(json_is_number(json_object_get(r, "uptime_s")));
    assert_true(json_is_integer(json_object_get(r, "queries")));
    assert_true(json_is_integer(json_object_get(r, "errors")));
    assert_true(json_integer_value(json_object_get(r, "connections")) >= 1);
    json_t *lat = json_object_get(r, "latency_us");
    assert_true(json_is_integer(json_object_get(lat, "p50")));
    assert_true(json_is_integer(json_object_get(lat, "p95")));
    assert_true(json_is_integer(json_object_get(lat, "p99")));
    assert_true(json_is_null(json_object_get(r, "last_reload_error")));
    json_decref(r);
}

static void search_finds_docs(void **state)
{
    (void)state;
    const char *const want[] = {"harbor.txt", "orchard.txt"};
    json_t *r = ask(&H, "{\"op\":\"search\",\"q\":\"storm\",\"id\":\"s\"}");

    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "s");
    assert_true(json_integer_value(json_object_get(r, "generation")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    assert_true(json_is_boolean(json_object_get(r, "total_exact")));
    assert_true(json_is_integer(json_object_get(r, "took_us")));
    assert_true(hits_are(r, want, 2));
    json_t *hit = json_array_get(json_object_get(r, "hits"), 0);
    assert_true(json_is_string(json_object_get(hit, "title")));
    assert_true(json_is_string(json_object_get(hit, "date")));
    assert_true(json_is_number(json_object_get(hit, "score")));
    const char *snip = json_string_value(json_object_get(hit, "snippet"));
    json_t *hl = json_object_get(hit, "highlights");
    assert_non_null(snip);
    assert_true(json_array_size(hl) >= 1);
    for (size_t i = 0; i < json_array_size(hl); i++) {
        json_t *rg = json_array_get(hl, i);
        json_int_t a = json_integer_value(json_array_get(rg, 0));
        json_int_t b = json_integer_value(json_array_get(rg, 1));
        assert_true(a >= 0 && a < b && (size_t)b <= strlen(snip));
        assert_true(strncasecmp(snip + a, "storm", 5) == 0);
    }
    json_decref(r);

    /* one-term, limit and sort options */
    r = ask(&H, "{\"op\":\"search\",\"q\":\"ferry\",\"limit\":5,"
                "\"sort\":\"date\",\"snippet\":false}");
    const char *const ferry[] = {"harbor.txt"};
    assert_ok(r);
    assert_true(hits_are(r, ferry, 1));
    json_decref(r);

    r = ask(&H, "{\"op\":\"search\",\"q\":\"storm\",\"limit\":0}");
    assert_ok(r);
    assert_int_equal(json_array_size(json_object_get(r, "hits")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    json_decref(r);

    r = ask(&H, "{\"op\":\"search\",\"q\":\"zeppelin\"}");
    assert_ok(r);
    assert_int_equal(json_array_size(json_object_get(r, "hits")), 0);
    json_decref(r);
}

static void count_counts(void **state)
{
    (void)state;
    json_t *r = ask(&H, "{\"op\":\"count\",\"q\":\"storm\",\"id\":3}");

    assert_ok(r);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    assert_true(json_integer_value(json_object_get(r, "generation")) >= 1);
    json_decref(r);
}

static void get_known_and_unknown(void **state)
{
    (void)state;
    json_t *r = ask(&H, "{\"op\":\"get\",\"doc\":\"harbor.txt\"}");
    json_t *doc = json_object_get(r, "doc");

    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(doc, "id")),
                        "harbor.txt");
    assert_string_equal(json_string_value(json_object_get(doc, "title")),
                        "Storm closes the harbor");
    assert_string_equal(json_string_value(json_object_get(doc, "date")),
                        "2024-03-05");
    assert_string_equal(json_string_value(json_object_get(doc, "author")),
                        "Mara Lindqvist");
    assert_string_equal(json_string_value(json_object_get(doc, "url")),
                        "https://example.org/harbor");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "body")), "ferry"));
    json_decref(r);

    r = ask(&H, "{\"op\":\"get\",\"doc\":\"bakery.txt\"}");
    doc = json_object_get(r, "doc");
    assert_ok(r);
    assert_true(json_is_null(json_object_get(doc, "author")));
    assert_true(json_is_null(json_object_get(doc, "url")));
    json_decref(r);

    r = ask(&H, "{\"op\":\"get\",\"doc\":\"nope.txt\",\"id\":5}");
    assert_code(r, "not_found");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
    json_decref(r);
}

static void bad_requests_keep_connection(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *code;
    } cases[] = {
        {"{\"op\":\"ping\"", "bad_json"},
        {"not json", "bad_json"},
        {"[1,2,3]", "bad_json"},
        {"\"ping\"", "bad_json"},
        {"42", "bad_json"},
        {"{\"op\":\"ping\",\"op\":\"stats\"}", "bad_json"},
        {"{\"op\":\"ping\",\"x\":\"\xff\xfe\"}", "invalid_utf8"},
        {"{\"op\":\"ping\",\"x\":\"\xc0\xaf\"}", "invalid_utf8"},
        {"{\"op\":\"frobnicate\"}", "unknown_op"},
        {"{\"id\":1}", "bad_request"},
        {"{\"op\":5}", "bad_request"},
        {"{\"op\":\"search\"}", "bad_request"},
        {"{\"op\":\"search\",\"q\":5}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"limit\":1001}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"limit\":-1}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"limit\":\"10\"}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"limit\":2.5}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"offset\":-3}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"sort\":\"random\"}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"snippet\":\"yes\"}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"k1\":\"big\"}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"x\",\"b\":1.5}", "bad_request"},
        {"{\"op\":\"count\"}", "bad_request"},
        {"{\"op\":\"count\",\"q\":[]}", "bad_request"},
        {"{\"op\":\"get\"}", "bad_request"},
        {"{\"op\":\"get\",\"doc\":1}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"(storm\"}", "bad_query"},
    };
    th_conn c;

    assert_int_equal(th_connect(&H, &c), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *r = th_request(&c, cases[i].line);
        if (r == NULL)
            fail_msg("no response to %s", cases[i].line);
        assert_code(r, cases[i].code);
        json_decref(r);
        assert_pong(&c);
    }
    /* the id is echoed on errors once the object could be read */
    json_t *r = th_request(&c, "{\"id\":\"e\",\"op\":\"nope\"}");
    assert_string_equal(json_string_value(json_object_get(r, "id")), "e");
    json_decref(r);
    th_close(&c);
}

static void oversized_line_closes(void **state)
{
    (void)state;
    size_t max = 65536;
    char *big = malloc(max + 10);
    th_conn c;
    json_t *r;

    /* exactly the limit, newline included: accepted */
    const char *head = "{\"op\":\"ping\",\"id\":1,\"pad\":\"";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'a', max - hl - 3);
    memcpy(big + max - 3, "\"}\n", 3);
    assert_int_equal(th_connect(&H, &c), 0);
    assert_int_equal(th_send(&c, big, max), 0);
    r = th_recv_json(&c);
    assert_non_null(r);
    assert_ok(r);
    json_decref(r);

    /* one byte more: request_too_large, then the connection closes */
    memcpy(big + hl, "a", 1);
    memset(big + hl, 'a', max - hl - 2);
    memcpy(big + max - 2, "\"}\n", 3);
    assert_int_equal(th_send(&c, big, max + 1), 0);
    r = th_recv_json(&c);
    assert_non_null(r);
    assert_code(r, "request_too_large");
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    char *more = th_recv_line(&c);
    assert_null(more);
    th_close(&c);

    /* no newline at all, just a flood */
    assert_int_equal(th_connect(&H, &c), 0);
    memset(big, 'x', max + 10);
    th_send(&c, big, max + 10);
    r = th_recv_json(&c);
    assert_non_null(r);
    assert_code(r, "request_too_large");
    json_decref(r);
    th_close(&c);
    free(big);

    r = ask(&H, "{\"op\":\"ping\"}");
    assert_ok(r);
    json_decref(r);
}

static void pipelined_in_order(void **state)
{
    (void)state;
    char batch[4096];
    size_t n = 0;
    th_conn c;

    for (int i = 0; i < 10; i++) {
        const char *body;
        switch (i % 5) {
        case 0:
            body = "\"op\":\"search\",\"q\":\"storm\"";
            break;
        case 1:
            body = "\"op\":\"ping\"";
            break;
        case 2:
            body = "\"op\":\"count\",\"q\":\"mayor\"";
            break;
        case 3:
            body = "\"op\":\"get\",\"doc\":\"council.txt\"";
            break;
        default:
            body = "\"op\":\"bogus\"";
        }
        n += (size_t)snprintf(batch + n, sizeof(batch) - n, "{\"id\":%d,%s}\n",
                              i, body);
    }
    assert_int_equal(th_connect(&H, &c), 0);
    assert_int_equal(th_send(&c, batch, n), 0);
    for (int i = 0; i < 10; i++) {
        json_t *r = th_recv_json(&c);
        assert_non_null(r);
        assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
        if (i % 5 == 4)
            assert_code(r, "unknown_op");
        else
            assert_ok(r);
        json_decref(r);
    }
    th_close(&c);

    /* 200 pipelined searches: more than the per-connection window */
    char *many = malloc(200 * 64);
    n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(
            many + n, 64, "{\"id\":%d,\"op\":\"search\",\"q\":\"storm\"}\n", i);
    assert_int_equal(th_connect(&H, &c), 0);
    assert_int_equal(th_send(&c, many, n), 0);
    for (int i = 0; i < 200; i++) {
        json_t *r = th_recv_json(&c);
        assert_non_null(r);
        assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
        json_decref(r);
    }
    th_close(&c);
    free(many);
}

#define NCLIENTS 20
#define NQUERIES 25

static void *client_thread(void *arg)
{
    int *failures = arg;
    const char *const want[] = {"harbor.txt", "orchard.txt"};
    th_conn c;

    if (th_connect(&H, &c) < 0) {
        (*failures)++;
        return NULL;
    }
    for (int i = 0; i < NQUERIES; i++) {
        char line[128];
        snprintf(line, sizeof(line),
                 "{\"id\":%d,\"op\":\"%s\",\"q\":\"storm\"}", i,
                 i % 2 ? "count" : "search");
        json_t *r = th_request(&c, line);
        if (r == NULL || json_integer_value(json_object_get(r, "id")) != i ||
            !json_is_true(json_object_get(r, "ok")) ||
            (i % 2 ? json_integer_value(json_object_get(r, "count")) != 2
                   : !hits_are(r, want, 2)))
            (*failures)++;
        json_decref(r);
    }
    th_close(&c);
    return NULL;
}

static void concurrent_clients(void **state)
{
    (void)state;
    pthread_t t[NCLIENTS];
    int failures[NCLIENTS] = {0};

    for (int i = 0; i < NCLIENTS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, client_thread, &failures[i]), 0);
    for (int i = 0; i < NCLIENTS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(failures[i], 0);
    }
}

static void disconnect_mid_request(void **state)
{
    (void)state;
    th_conn c;

    /* half a line, then gone */
    assert_int_equal(th_connect(&H, &c), 0);
    assert_int_equal(th_send(&c, "{\"op\":\"sea", 10), 0);
    th_close(&c);

    /* many queries in flight, then gone without reading */
    char line[] = "{\"op\":\"search\",\"q\":\"storm OR mayor OR bread\"}\n";
    for (int k = 0; k < 5; k++) {
        assert_int_equal(th_connect(&H, &c), 0);
        for (int i = 0; i < 50; i++)
            th_send(&c, line, sizeof(line) - 1);
        th_close(&c);
    }
    /* and one that shuts down its side after sending: still answered */
    assert_int_equal(th_connect(&H, &c), 0);
    th_send(&c, "{\"op\":\"ping\",\"id\":1}\n{\"op\":\"ping\",\"id\":2}", 41);
    shutdown(c.fd, SHUT_WR);
    json_t *r = th_recv_json(&c);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    json_decref(r);
    r = th_recv_json(&c);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);
    assert_null(th_recv_line(&c));
    th_close(&c);

    r = ask(&H, "{\"op\":\"stats\"}");
    assert_ok(r);
    json_decref(r);
    r = ask(&H, "{\"op\":\"count\",\"q\":\"storm\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
}

static json_int_t generation(void)
{
    json_t *r = ask(&H, "{\"op\":\"stats\"}");
    json_int_t g = json_integer_value(json_object_get(r, "generation"));
    json_decref(r);
    return g;
}

static void reload_keeps_serving(void **state)
{
    (void)state;
    json_int_t g0 = generation();
    json_t *r;

    /* SIGHUP with nothing new: same generation, still serving */
    assert_int_equal(th_daemon_signal(&H, SIGHUP), 0);
    sleep_ms(100);
    r = ask(&H, "{\"op\":\"count\",\"q\":\"storm\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
    assert_int_equal(generation(), g0);

    r = ask(&H, "{\"op\":\"reload\",\"id\":\"r\"}");
    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "r");
    assert_true(json_is_false(json_object_get(r, "reloaded")));
    assert_int_equal(json_integer_value(json_object_get(r, "generation")), g0);
    json_decref(r);

    /* a new generation is picked up (by the watcher or the reload op) */
    char path[256];
    snprintf(path, sizeof(path), "%s/storm2.txt", articles);
    th_write_text(path, "Title: Second storm\nDate: 2024-06-01\n\n"
                     "Another storm reached the coast.\n");
    const char *paths[] = {articles, NULL};
    assert_int_equal(th_index(&H, paths, NULL), 0);
    r = ask(&H, "{\"op\":\"reload\"}");
    assert_ok(r);
    assert_true(json_is_boolean(json_object_get(r, "reloaded")));
    assert_int_equal(json_integer_value(json_object_get(r, "generation")),
                     g0 + 1);
    json_decref(r);
    r = ask(&H, "{\"op\":\"count\",\"q\":\"storm\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "generation")),
                     g0 + 1);
    json_decref(r);

    /* and once more through the watcher alone */
    unlink(path);
    assert_int_equal(th_index(&H, paths, NULL), 0);
    for (int i = 0; i < 300 && generation() != g0 + 2; i++)
        sleep_ms(10);
    assert_int_equal(generation(), g0 + 2);
    r = ask(&H, "{\"op\":\"count\",\"q\":\"storm\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
}

static void sigterm_exits_cleanly(void **state)
{
    (void)state;
    struct stat st;

    assert_int_equal(stat(H.sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(th_daemon_stop(&H), 0);
    assert_int_equal(stat(H.sock, &st), -1);
    assert_int_equal(errno, ENOENT);
}

/* ---- group: no index yet, socket handling, limits ----------------------- */

static void no_index_then_watcher(void **state)
{
    (void)state;
    th h;
    json_t *r;

    assert_int_equal(th_init(&h), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    r = ask(&h, "{\"op\":\"ping\"}");
    assert_ok(r);
    json_decref(r);
    r = ask(&h, "{\"op\":\"stats\"}");
    assert_ok(r);
    assert_true(json_is_null(json_object_get(r, "generation")));
    assert_int_equal(json_integer_value(json_object_get(r, "docs")), 0);
    json_decref(r);
    static const char *const queries[] = {
        "{\"op\":\"search\",\"q\":\"storm\",\"id\":1}",
        "{\"op\":\"count\",\"q\":\"storm\",\"id\":1}",
        "{\"op\":\"get\",\"doc\":\"harbor.txt\",\"id\":1}",
    };
    for (size_t i = 0; i < 3; i++) {
        r = ask(&h, queries[i]);
        assert_code(r, "no_index");
        assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
        json_decref(r);
    }
    r = ask(&h, "{\"op\":\"reload\"}");
    assert_ok(r);
    assert_true(json_is_false(json_object_get(r, "reloaded")));
    assert_true(json_is_null(json_object_get(r, "generation")));
    json_decref(r);

    /* an index appears: the watcher picks it up */
    char fx[512];
    snprintf(fx, sizeof(fx), "%s/protocol", th_fixtures_dir());
    const char *paths[] = {fx, NULL};
    assert_int_equal(th_index(&h, paths, NULL), 0);
    for (int i = 0; i < 300; i++) {
        r = ask(&h, "{\"op\":\"count\",\"q\":\"storm\"}");
        int ok = json_is_true(json_object_get(r, "ok"));
        json_decref(r);
        if (ok)
            break;
        sleep_ms(10);
    }
    r = ask(&h, "{\"op\":\"count\",\"q\":\"storm\"}");
    assert_ok(r);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void socket_stale_live_and_long(void **state)
{
    (void)state;
    th h;
    th_result res;
    struct sockaddr_un sa;
    int fd;

    assert_int_equal(th_init(&h), 0);

    /* a stale socket file (bound, never listening, closed) is replaced */
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, h.sock);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    /* a live one is refused */
    const char *argv[] = {"trawld",   "--index", h.index,
                          "--socket", h.sock,    NULL};
    assert_int_not_equal(th_run(&res, argv), 0);
    assert_non_null(strstr(res.err, "already listening"));
    th_result_free(&res);
    json_t *r = ask(&h, "{\"op\":\"ping\"}");
    assert_ok(r);
    json_decref(r);

    /* a path longer than sun_path */
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "/tmp/", 5);
    longpath[sizeof(longpath) - 1] = '\0';
    const char *argv2[] = {"trawld",   "--index", h.index,
                           "--socket", longpath,  NULL};
    assert_int_not_equal(th_run(&res, argv2), 0);
    assert_non_null(strstr(res.err, "longer than"));
    th_result_free(&res);

    /* and a file that is not a socket is left alone */
    char notsock[160];
    snprintf(notsock, sizeof(notsock), "%s/plain", h.dir);
    th_write_text(notsock, "x");
    const char *argv3[] = {"trawld",   "--index", h.index,
                           "--socket", notsock,   NULL};
    assert_int_not_equal(th_run(&res, argv3), 0);
    th_result_free(&res);

    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* Connect and ping until the daemon takes the connection (not "busy"). */
static void connect_counted(th *h, th_conn *c)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal(th_connect(h, c), 0);
        json_t *r = th_request(c, "{\"op\":\"ping\"}");
        int ok = json_is_true(json_object_get(r, "ok"));
        json_decref(r);
        if (ok)
            return;
        th_close(c);
        sleep_ms(10);
    }
    fail_msg("the daemon never took a connection");
}

static void busy_beyond_max_connections(void **state)
{
    (void)state;
    th h;
    th_conn a, b, c;
    json_t *r;

    assert_int_equal(th_init(&h), 0);
    const char *extra[] = {"--max-connections", "2", "--max-request", "100",
                           NULL};
    assert_int_equal(th_daemon_start(&h, extra), 0);
    /* th_daemon_start's probe connection still counts until the daemon
     * has noticed its close (asynchronously, on a query thread) */
    connect_counted(&h, &a);
    connect_counted(&h, &b);
    assert_int_equal(th_connect(&h, &c), 0);
    r = th_recv_json(&c);
    assert_non_null(r);
    assert_code(r, "busy");
    json_decref(r);
    assert_null(th_recv_line(&c));
    th_close(&c);
    th_close(&b);
    /* a slot is free again (the close is noticed asynchronously) */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(th_connect(&h, &c), 0);
        r = th_request(&c, "{\"op\":\"ping\"}");
        int ok = json_is_true(json_object_get(r, "ok"));
        json_decref(r);
        if (ok)
            break;
        th_close(&c);
        sleep_ms(10);
    }
    assert_pong(&c);
    /* --max-request is honoured */
    char line[128];
    memset(line, ' ', sizeof(line));
    memcpy(line, "{\"op\":\"ping\"}", 13);
    line[120] = '\n';
    assert_int_equal(th_send(&c, line, 121), 0);
    r = th_recv_json(&c);
    assert_code(r, "request_too_large");
    json_decref(r);
    th_close(&c);
    assert_pong(&a);
    th_close(&a);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void slow_reader_is_cut_off(void **state)
{
    (void)state;
    th h;
    th_conn slow, c;
    char dir[160], path[200];

    assert_int_equal(th_init(&h), 0);
    snprintf(dir, sizeof(dir), "%s/big", h.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/big.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Title: A long one\n\n", f);
    for (int i = 0; i < 50000; i++)
        fputs("words words ", f); /* 600 KB of body */
    fclose(f);
    const char *paths[] = {dir, NULL};
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    /* 60 gets of 600 KB each, and never read: cut off beyond 8 MiB */
    assert_int_equal(th_connect(&h, &slow), 0);
    for (int i = 0; i < 60; i++)
        th_send_line(&slow, "{\"op\":\"get\",\"doc\":\"big.txt\"}");
    int cut = 0;
    for (int i = 0; i < 500 && !cut; i++) {
        char *log = th_daemon_log(&h);
        cut = strstr(log, "not reading") != NULL;
        free(log);
        sleep_ms(10);
    }
    assert_true(cut);
    /* the others are served meanwhile */
    assert_int_equal(th_connect(&h, &c), 0);
    assert_pong(&c);
    th_close(&c);
    /* the slow one gets what was already sent, then EOF */
    size_t lines = 0;
    char *line;
    while ((line = th_recv_line(&slow)) != NULL) {
        lines++;
        free(line);
    }
    assert_true(lines < 60);
    th_close(&slow);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest served[] = {
        cmocka_unit_test(ping_echoes_id),
        cmocka_unit_test(stats_reports_index),
        cmocka_unit_test(search_finds_docs),
        cmocka_unit_test(count_counts),
        cmocka_unit_test(get_known_and_unknown),
        cmocka_unit_test(bad_requests_keep_connection),
        cmocka_unit_test(oversized_line_closes),
        cmocka_unit_test(pipelined_in_order),
        cmocka_unit_test(concurrent_clients),
        cmocka_unit_test(disconnect_mid_request),
        cmocka_unit_test(reload_keeps_serving),
        cmocka_unit_test(sigterm_exits_cleanly),
    };
    const struct CMUnitTest standalone[] = {
        cmocka_unit_test(no_index_then_watcher),
        cmocka_unit_test(socket_stale_live_and_long),
        cmocka_unit_test(busy_beyond_max_connections),
        cmocka_unit_test(slow_reader_is_cut_off),
    };
    int failed = 0;

    signal(SIGPIPE, SIG_IGN);
    failed += cmocka_run_group_tests_name("served", served, served_setup,
                                          served_teardown);
    failed += cmocka_run_group_tests_name("standalone", standalone, NULL, NULL);
    return failed;
}
