/*
 * Robustness against hostile and unusual input, found by fuzzing the real
 * programs: each test here failed before the fix it came with.
 */
#define _GNU_SOURCE /* memmem() */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
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

/* The live generation's segment file (its name from the manifest). */
static void segment_path(const th *h, char *out, size_t cap)
{
    char cur[160], *name, *man, *p;
    size_t len;

    snprintf(cur, sizeof(cur), "%s/CURRENT", h->index);
    name = th_read_file(cur, NULL);
    assert_non_null(name);
    name[strcspn(name, "\n")] = '\0';
    snprintf(cur, sizeof(cur), "%s/%s", h->index, name);
    free(name);
    man = th_read_file(cur, &len);
    assert_non_null(man);
    p = memmem(man, len, "seg-", 4);
    assert_non_null(p);
    snprintf(out, cap, "%s/%.17s", h->index, p); /* seg-NNNNNN-SS.trs */
    free(man);
}

/*
 * A segment of the served generation truncated in place (the daemon has
 * it mapped): reading a page past the new end raises SIGBUS. The daemon
 * must answer such requests with an "internal" error and keep serving,
 * not die. Before, the first query that touched the lost pages killed it.
 */
static void truncated_live_segment_is_survived(void **state)
{
    (void)state;
    th h;
    th_conn c;
    char seg[200];
    const char *paths[] = {NULL, NULL};
    char fixture[512];

    assert_int_equal(th_init(&h), 0);
    snprintf(fixture, sizeof(fixture), "%s/articles", th_fixtures_dir());
    paths[0] = fixture;
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"the\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_t *hits = json_object_get(r, "hits");
    assert_true(json_array_size(hits) > 0);
    char get[512];
    snprintf(get, sizeof(get), "{\"op\":\"get\",\"doc\":\"%s\"}",
             json_string_value(
                 json_object_get(json_array_get(hits, 0), "id")));
    json_decref(r);

    segment_path(&h, seg, sizeof(seg));
    assert_int_equal(truncate(seg, 64), 0);
    static const char *const reqs[] = {
        "{\"op\":\"search\",\"q\":\"the\"}",
        "{\"op\":\"search\",\"q\":\"harbor OR storm OR the\",\"limit\":50}",
        "{\"op\":\"count\",\"q\":\"t*\"}",
        NULL,
    };
    for (int i = 0; i < 4; i++) {
        r = th_request(&c, reqs[i] ? reqs[i] : get);
        assert_non_null(r); /* the daemon is still there */
        /* what the first page still holds reads as zeros */
        if (!json_is_true(json_object_get(r, "ok")))
            assert_true(strcmp(th_error_code(r), "internal") == 0 ||
                        strcmp(th_error_code(r), "not_found") == 0);
        json_decref(r);
    }
    assert_pong(&c);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A request line far over the limit, sent with one blocking write, as
 * most clients do: the client must be able to finish writing and then
 * read the request_too_large answer, then EOF. Before, the daemon closed
 * as soon as it had seen 64 KiB, so the rest of the write failed with a
 * broken pipe (EPIPE) before the client could read anything.
 */
static void oversized_request_is_answered(void **state)
{
    (void)state;
    th h;
    th_conn c;
    const size_t n = 4 * 1024 * 1024;
    char fixture[512];
    const char *paths[] = {fixture, NULL};

    assert_int_equal(th_init(&h), 0);
    snprintf(fixture, sizeof(fixture), "%s/articles", th_fixtures_dir());
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "{\"op\":\"ping\",\"pad\":\"", 21);
    memset(big + 21, 'a', n - 21 - 3);
    memcpy(big + n - 3, "\"}\n", 3);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(th_connect(&h, &c), 0);
        assert_int_equal(th_send(&c, big, n), 0);
        json_t *r = th_recv_json(&c);
        assert_non_null(r);
        assert_string_equal(th_error_code(r), "request_too_large");
        json_decref(r);
        char *more = th_recv_line(&c); /* then EOF */
        assert_null(more);
        th_close(&c);
    }
    free(big);
    /* and the daemon is fine */
    assert_int_equal(th_connect(&h, &c), 0);
    assert_pong(&c);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* SIGSTOP the daemon and wait until it is stopped (kill() returns
 * before the stop takes effect). */
static void daemon_stop_now(th *h)
{
    char path[64];

    assert_int_equal(th_daemon_signal(h, SIGSTOP), 0);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)h->pid);
    for (int i = 0; i < 1000; i++) {
        char st[512] = "";
        FILE *f = fopen(path, "r"); /* /proc files have no size */
        if (f != NULL) {
            if (fgets(st, sizeof(st), f) == NULL)
                st[0] = '\0';
            fclose(f);
        }
        char *p = strrchr(st, ')');
        int stopped = p != NULL && (p[2] == 'T' || p[2] == 't');
        if (stopped)
            return;
        th_sleep_ms(2);
    }
    fail_msg("the daemon did not stop");
}

/* stats.queries of the daemon. */
static long long queries_run(th *h)
{
    th_conn c;

    assert_int_equal(th_connect(h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"stats\"}");
    assert_non_null(r);
    long long n = (long long)json_integer_value(json_object_get(r, "queries"));
    json_decref(r);
    th_close(&c);
    return n;
}

/*
 * A client that pipelines requests and closes its socket before the
 * daemon reads them gets no answers, and the daemon runs none of its
 * queries: a dead client's pipeline of heavy queries would otherwise hold
 * up the live connections of its loop. (The daemon is stopped while the
 * client sends and closes, so that it finds the client gone.) Before,
 * they ran until an answer failed to be written (6 of the 50 here).
 */
static void dead_client_queries_are_not_run(void **state)
{
    (void)state;
    th h;
    th_conn c;
    char fixture[512];
    const char *paths[] = {fixture, NULL};
    const char *const threads[] = {"--threads", "1", NULL};

    assert_int_equal(th_init(&h), 0);
    snprintf(fixture, sizeof(fixture), "%s/articles", th_fixtures_dir());
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, threads), 0);
    long long before = queries_run(&h);

    assert_int_equal(th_connect(&h, &c), 0);
    daemon_stop_now(&h);
    for (int i = 0; i < 50; i++)
        assert_int_equal(
            th_send_line(&c, "{\"op\":\"search\",\"q\":\"the\"}"), 0);
    th_close(&c);
    assert_int_equal(th_daemon_signal(&h, SIGCONT), 0);
    th_sleep_ms(300);
    assert_int_equal(queries_run(&h) - before, 0);
    /* a client that only shut down its sending side is still answered */
    assert_int_equal(th_connect(&h, &c), 0);
    daemon_stop_now(&h);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            th_send_line(&c, "{\"op\":\"count\",\"q\":\"the\"}"), 0);
    assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
    assert_int_equal(th_daemon_signal(&h, SIGCONT), 0);
    for (int i = 0; i < 3; i++) {
        json_t *r = th_recv_json(&c);
        assert_non_null(r);
        assert_true(json_is_true(json_object_get(r, "ok")));
        json_decref(r);
    }
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* stats of the daemon on a fresh connection: docs, and generation. */
static long long stats_docs(th *h, long long *gen)
{
    th_conn c;

    assert_int_equal(th_connect(h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"stats\"}");
    assert_non_null(r);
    long long n = (long long)json_integer_value(json_object_get(r, "docs"));
    if (gen != NULL)
        *gen = (long long)json_integer_value(json_object_get(r, "generation"));
    json_decref(r);
    th_close(&c);
    return n;
}

/*
 * The index directory deleted and built again from scratch starts over at
 * generation 1, the number the daemon is serving: it must still notice
 * that this is another index (on its own, and on "reload"). Before, it
 * compared generation numbers only and served the deleted files until
 * restarted; "reload" answered reloaded:false.
 */
static void rebuilt_index_dir_is_picked_up(void **state)
{
    (void)state;
    th h;
    th_conn c;
    char one[200], two[200], cmd[600];
    const char *paths[] = {one, NULL};

    assert_int_equal(th_init(&h), 0);
    snprintf(one, sizeof(one), "%s/one", h.dir);
    snprintf(two, sizeof(two), "%s/two", h.dir);
    assert_int_equal(mkdir(one, 0700), 0);
    assert_int_equal(mkdir(two, 0700), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd), "%s/a%d.txt", one, i);
        assert_int_equal(th_write_file(cmd, "Title: t\n\nharbor storm\n", 24),
                         0);
    }
    snprintf(cmd, sizeof(cmd), "%s/b.txt", two);
    assert_int_equal(th_write_file(cmd, "Title: t\n\nharbor storm\n", 24), 0);
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    long long gen = 0;
    assert_int_equal(stats_docs(&h, &gen), 3);
    assert_int_equal(gen, 1);

    /* rm -rf the index, build it again from another corpus: generation 1 */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h.index);
    assert_int_equal(system(cmd), 0);
    paths[0] = two;
    assert_int_equal(th_index(&h, paths, NULL), 0);

    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_null(json_object_get(r, "reload_error"));
    json_decref(r);
    th_close(&c);
    assert_int_equal(stats_docs(&h, &gen), 1);
    assert_int_equal(gen, 1);

    /* once more, left to the watcher's poll */
    assert_int_equal(system(cmd), 0);
    paths[0] = one;
    assert_int_equal(th_index(&h, paths, NULL), 0);
    long long docs = 0;
    for (int i = 0; i < 300 && docs != 3; i++) {
        th_sleep_ms(10);
        docs = stats_docs(&h, NULL);
    }
    assert_int_equal(docs, 3);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(big_response_is_delivered),
        cmocka_unit_test(truncated_live_segment_is_survived),
        cmocka_unit_test(oversized_request_is_answered),
        cmocka_unit_test(dead_client_queries_are_not_run),
        cmocka_unit_test(rebuilt_index_dir_is_picked_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
