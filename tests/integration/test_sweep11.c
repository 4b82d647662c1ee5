/*
 * Integration tests from the eleventh acceptance sweep: what a script
 * expects from the client (trawl --json and the exit statuses, as
 * trawl(1) and `trawl --help` document them), the daemon's counters as
 * docs/protocol.md defines them, and a log that does not grow with the
 * traffic (a daemon left up for weeks).
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static void write_corpus(th *h)
{
    char p[256];
    th_make_dir(h, "news");
    th_path(p, sizeof(p), h, "news/storm.txt");
    th_write_text(p, "Title: Storm closes the harbor\nDate: 2024-03-05\n\n"
                     "A storm closed the harbor. Ferries stayed in port.\n");
    th_path(p, sizeof(p), h, "news/vote.txt");
    th_write_text(p, "Title: Council vote\nDate: 2024-03-06\n\n"
                     "The council voted on the harbor budget.\n");
}

/* The client's standard output as one JSON object on one line (asserted),
 * parsed. */
static json_t *one_json_line(const th_result *r)
{
    size_t n = strlen(r->out);
    assert_true(n > 1);
    assert_int_equal(r->out[n - 1], '\n');
    assert_null(memchr(r->out, '\n', n - 1));
    json_t *j = json_loads(r->out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_object(j));
    return j;
}

/* trawl --json ARGS: the exit status must be want; the response's error
 * code (NULL: an ok answer) must be code. */
static void json_case(th *h, const char *const args[], int want,
                      const char *code)
{
    th_result r;
    th_client(h, &r, args);
    if (r.status != want)
        fprintf(stderr, "trawl %s: exit %d, wanted %d\n%s%s\n", args[1],
                r.status, want, r.out, r.err);
    assert_int_equal(r.status, want);
    json_t *j = one_json_line(&r);
    if (code == NULL) {
        assert_true(json_is_true(json_object_get(j, "ok")));
        assert_string_equal(r.err, "");
    } else {
        assert_true(json_is_false(json_object_get(j, "ok")));
        assert_string_equal(th_error_code(j), code);
        /* the message is on stderr too, for a person */
        char head[64];
        snprintf(head, sizeof(head), "trawl: %s: ", code);
        assert_non_null(strstr(r.err, head));
    }
    json_decref(j);
    th_result_free(&r);
}

/*
 * A script runs trawl --json and reads stdout and the exit status: every
 * answer, an error one too, is one JSON line, and the status is grep's
 * (0 hits, 1 none or --get of an unknown id, 2 an error). When no answer
 * came (no daemon, a usage error) stdout is empty and the status 2.
 */
static void test_json_and_exit_status(void **state)
{
    (void)state;
    th h, empty;
    char dir[256];
    th_result r;
    assert_int_equal(th_init(&h), 0);
    write_corpus(&h);
    th_path(dir, sizeof(dir), &h, "news");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    json_case(&h, (const char *[]){"--json", "harbor", NULL}, 0, NULL);
    json_case(&h, (const char *[]){"--json", "zanzibarite", NULL}, 1, NULL);
    json_case(&h, (const char *[]){"--json", "-c", "harbor", NULL}, 0, NULL);
    json_case(&h, (const char *[]){"--json", "-c", "zanzibarite", NULL}, 1,
              NULL);
    json_case(&h, (const char *[]){"--json", "-l", "harbor", NULL}, 0, NULL);
    json_case(&h, (const char *[]){"--json", "--explain", "-c", "harbor",
                                   NULL},
              0, NULL);
    json_case(&h, (const char *[]){"--json", "--get", "storm.txt", NULL}, 0,
              NULL);
    json_case(&h, (const char *[]){"--json", "--get", "nope.txt", NULL}, 1,
              "not_found");
    json_case(&h, (const char *[]){"--json", "(harbor", NULL}, 2,
              "bad_query");
    json_case(&h, (const char *[]){"--json", "--", "-harbor", NULL}, 2,
              "bad_query");
    json_case(&h, (const char *[]){"--json", "--stats", NULL}, 0, NULL);
    json_case(&h, (const char *[]){"--json", "--ping", NULL}, 0, NULL);

    /* The bad_query answer has the column, for a script to point at. */
    th_client(&h, &r, (const char *[]){"--json", "storm (harbor", NULL});
    json_t *j = one_json_line(&r);
    const char *msg = json_string_value(
        json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "column 7"));
    json_decref(j);
    th_result_free(&r);

    /* No answer: nothing on stdout. */
    th_client(&h, &r, (const char *[]){"--json", "-n", "5000", "x", NULL});
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    th_result_free(&r);
    th_path(dir, sizeof(dir), &h, "nobody.sock");
    th_run(&r, (const char *[]){"trawl", "--socket", dir, "--json", "harbor",
                                NULL});
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "cannot connect"));
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);

    /* A daemon without an index: no_index, status 2, for every query kind;
     * --stats and --ping still succeed. */
    assert_int_equal(th_init(&empty), 0);
    assert_int_equal(th_daemon_start(&empty, NULL), 0);
    json_case(&empty, (const char *[]){"--json", "harbor", NULL}, 2,
              "no_index");
    json_case(&empty, (const char *[]){"--json", "-c", "harbor", NULL}, 2,
              "no_index");
    json_case(&empty, (const char *[]){"--json", "--get", "a", NULL}, 2,
              "no_index");
    json_case(&empty, (const char *[]){"--json", "--stats", NULL}, 0, NULL);
    json_case(&empty, (const char *[]){"--json", "--ping", NULL}, 0, NULL);
    assert_int_equal(th_daemon_stop(&empty), 0);
    th_cleanup(&empty);
}

static long long stat_of(th_conn *c, const char *name)
{
    json_t *s = th_request(c, "{\"op\":\"stats\"}");
    assert_non_null(s);
    json_t *v = json_object_get(s, name);
    assert_true(json_is_integer(v));
    long long n = (long long)json_integer_value(v);
    json_decref(s);
    return n;
}

/* Send line, expect an answer with error code (NULL: ok). */
static void expect_answer(th_conn *c, const char *line, const char *code)
{
    json_t *r = th_request(c, line);
    assert_non_null(r);
    if (code == NULL)
        assert_true(json_is_true(json_object_get(r, "ok")));
    else
        assert_string_equal(th_error_code(r), code);
    json_decref(r);
}

/*
 * stats counts what protocol.md says: queries are the search, count and
 * get requests that ran (a bad_query or not_found answer too), errors
 * every error answer; over many requests and reloads the counts are
 * exact, and the log has no line per request: a month of cron reloads
 * and traffic is a few lines a reload.
 */
static void test_counters_and_quiet_log(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    write_corpus(&h);
    th_path(dir, sizeof(dir), &h, "news");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    char *log0 = th_daemon_log(&h);
    size_t log0_len = strlen(log0);
    free(log0);

    long long queries = 0, errors = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++) {
            expect_answer(&c,
                          "{\"op\":\"search\",\"q\":\"harbor\",\"snippet\":"
                          "true,\"sort\":\"date\",\"offset\":1}",
                          NULL);
            expect_answer(&c, "{\"op\":\"count\",\"q\":\"storm OR vote\"}",
                          NULL);
            expect_answer(&c, "{\"op\":\"get\",\"doc\":\"vote.txt\"}", NULL);
            queries += 3;
        }
        /* failing as they run: counted as queries and as errors */
        expect_answer(&c, "{\"op\":\"search\",\"q\":\"(harbor\"}",
                      "bad_query");
        expect_answer(&c, "{\"op\":\"count\",\"q\":\"-harbor\"}", "bad_query");
        expect_answer(&c, "{\"op\":\"get\",\"doc\":\"nope\"}", "not_found");
        queries += 3;
        errors += 3;
        /* refused before running: errors only */
        expect_answer(&c, "{nope", "bad_json");
        expect_answer(&c, "{\"op\":\"frob\"}", "unknown_op");
        expect_answer(&c, "{\"op\":\"search\"}", "bad_request");
        expect_answer(&c, "{\"op\":\"search\",\"q\":\"a\",\"limit\":5000}",
                      "bad_request");
        expect_answer(&c, "{\"op\":\"search\",\"q\":\"\xff\"}",
                      "invalid_utf8");
        errors += 5;
        /* neither */
        expect_answer(&c, "{\"op\":\"ping\"}", NULL);
        /* a new generation, then a reload by signal */
        th_path(p, sizeof(p), &h, "news/extra.txt");
        char text[96];
        snprintf(text, sizeof(text), "Title: Extra %d\n\nharbor %d\n", round,
                 round);
        th_write_text(p, text);
        assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
        expect_answer(&c, "{\"op\":\"reload\"}", NULL);
        assert_int_equal(th_daemon_signal(&h, SIGHUP), 0);
        assert_int_equal(stat_of(&c, "queries"), queries);
        assert_int_equal(stat_of(&c, "errors"), errors);
        assert_int_equal(stat_of(&c, "connections"), 1);
    }
    th_sleep_ms(200); /* the last SIGHUP's reload */

    json_t *s = th_request(&c, "{\"op\":\"stats\"}");
    json_t *lat = json_object_get(s, "latency_us");
    long long p50 = (long long)json_integer_value(json_object_get(lat, "p50"));
    long long p95 = (long long)json_integer_value(json_object_get(lat, "p95"));
    long long p99 = (long long)json_integer_value(json_object_get(lat, "p99"));
    assert_true(p50 <= p95 && p95 <= p99);
    assert_true(json_is_null(json_object_get(s, "last_reload_error")));
    json_decref(s);
    th_close(&c);

    /* About 230 requests, 24 of them errors, and 3 new generations: the
     * log grew by a line or two a reload (6 or 7 lines here) and by
     * nothing a request. */
    char *log = th_daemon_log(&h);
    int lines = 0;
    for (const char *q = log + log0_len; *q != '\0'; q++)
        lines += *q == '\n';
    if (lines > 12)
        fprintf(stderr, "log grew by %d lines:\n%s\n", lines, log + log0_len);
    assert_true(lines <= 12);
    assert_null(strstr(log, "bad_json"));
    assert_null(strstr(log, "bad_query"));
    free(log);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* Each program's --help fits an 80-column terminal (trawl's had an
 * 81-column line). */
/* A client retrying against a full daemon: a line per refusal was 73
 * bytes, 4 MB in 3 s (helper T's soak). Now the first refusal is logged,
 * then one line at most every 10 s with a count. */
static void test_refusals_do_not_flood_the_log(void **state)
{
    (void)state;
    th h;
    char corpus[256], f[300];
    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news");
    th_make_dir(&h, "news");
    snprintf(f, sizeof(f), "%s/a.txt", corpus);
    th_write_text(f, "Storm\n\nA storm closed the harbor.\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--max-connections",
                                                         "1", "--evict-idle",
                                                         "0", NULL}),
                     0);
    /* the one connection (the start's probe may still be counted for a
     * moment: until one is served) */
    th_conn hold;
    int held = 0;
    for (int t = 0; t < 100 && !held; t++) {
        assert_int_equal(th_connect(&h, &hold), 0);
        json_t *r = th_request(&hold, "{\"op\":\"ping\"}");
        held = r != NULL && json_is_true(json_object_get(r, "ok"));
        json_decref(r);
        if (!held) {
            th_close(&hold);
            th_sleep_ms(20);
        }
    }
    assert_true(held);
    int refused = 0;
    for (int i = 0; i < 300; i++) {
        th_conn c;
        assert_int_equal(th_connect(&h, &c), 0);
        json_t *a = th_recv_json(&c);
        assert_non_null(a); /* "busy", at once */
        if (strcmp(th_error_code(a), "busy") == 0)
            refused++;
        json_decref(a);
        th_close(&c);
    }
    assert_int_equal(refused, 300);
    char *log = th_daemon_log(&h);
    size_t lines = 0;
    for (const char *p = log; (p = strstr(p, "refused: ")) != NULL; p++)
        lines++;
    assert_true(lines >= 1 && lines <= 2);
    free(log);
    th_close(&hold);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void test_help_fits_80_columns(void **state)
{
    (void)state;
    const char *progs[] = {"trawl", "trawld", "trawl-index"};
    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
        th_result r;
        th_run(&r, (const char *[]){progs[i], "--help", NULL});
        assert_int_equal(r.status, 0);
        const char *line = r.out;
        while (*line != '\0') {
            const char *nl = strchr(line, '\n');
            size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
            if (n > 80)
                fprintf(stderr, "%s --help: %zu columns: %.*s\n", progs[i],
                        n, (int)n, line);
            assert_true(n <= 80);
            line += n + (nl != NULL);
        }
        th_result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_and_exit_status),
        cmocka_unit_test(test_counters_and_quiet_log),
        cmocka_unit_test(test_refusals_do_not_flood_the_log),
        cmocka_unit_test(test_help_fits_80_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
