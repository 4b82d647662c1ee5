/*
 * Integration tests from the eighth acceptance sweep: an operator who
 * checks the index while trawl-index commits to it; the client's range
 * messages; trawld given a file as its index directory; a request
 * line starting with a byte order mark.
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* A JSON Lines corpus of n articles of about 600 bytes each. */
static void write_corpus(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++) {
        fprintf(f, "{\"id\":\"a%05d\",\"title\":\"article %d\",\"body\":\"",
                i, i);
        for (int w = 0; w < 80; w++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            fprintf(f, "w%u ", (unsigned)(x % 5000));
        }
        fputs("\"}\n", f);
    }
    assert_int_equal(fclose(f), 0);
}

/*
 * `trawl-index --check DIR` while another trawl-index commits to DIR (a
 * cron job checking a live index): --check compared the opened
 * manifest's generation with CURRENT read again after the open, so a
 * commit in between was reported as damage ("gen-000027.man: header:
 * generation 27, but CURRENT names 28", exit 3). Each check must pass.
 */
static void test_check_while_committing(void **state)
{
    (void)state;
    th h;
    char big[256], small[256];

    assert_int_equal(th_init(&h), 0);
    th_path(big, sizeof(big), &h, "big.jsonl");
    th_path(small, sizeof(small), &h, "small.jsonl");
    write_corpus(big, 5000);
    assert_int_equal(th_index(&h, (const char *[]){big, NULL}, NULL), 0);

    /* The writer: one article updated per commit, as fast as it goes. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        for (int i = 0; i < 400; i++) {
            char line[128];
            int n = snprintf(line, sizeof(line),
                             "{\"id\":\"s\",\"title\":\"s\",\"body\":\"v%d\"}\n",
                             i);
            th_result r;
            const char *argv[] = {"trawl-index", "--quiet", "--add",
                                  "--index", h.index, small, NULL};
            if (th_write_file(small, line, (size_t)n) != 0 ||
                th_run(&r, argv) != 0)
                _exit(1);
            th_result_free(&r);
        }
        _exit(0);
    }

    int checks = 0, failed = 0;
    char first[512] = "";
    long long t0 = th_now_ms();
    for (;;) {
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            child = 0;
            break;
        }
        if (checks >= 60 || th_now_ms() - t0 > 15000)
            break;
        th_result r;
        const char *argv[] = {"trawl-index", "--check", h.index, NULL};
        if (th_run(&r, argv) != 0) {
            if (failed++ == 0)
                snprintf(first, sizeof(first), "%s%s", r.out, r.err);
        }
        th_result_free(&r);
        checks++;
    }
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    if (failed > 0)
        fail_msg("%d of %d checks failed during commits; first: %s", failed,
                 checks, first);
    assert_true(checks >= 10);
    th_cleanup(&h);
}

/*
 * trawl --snippet-length 10001 said "wants a number from 0 to 10000",
 * and 0 then "wants 1 to 10000": the range is 1..10000, as --help says.
 */
static void test_client_range_messages(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "10001", "-1", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        th_result r;
        const char *argv[] = {"trawl", "--socket", "/nonexistent/t.sock",
                              "--snippet-length", bad[i], "storm", NULL};
        assert_int_equal(th_run(&r, argv), 2);
        char want[96];
        snprintf(want, sizeof(want), "--snippet-length wants a number from "
                 "1 to 10000, not '%s'", bad[i]);
        if (strstr(r.err, want) == NULL)
            fail_msg("--snippet-length %s: %s", bad[i], r.err);
        th_result_free(&r);
    }
    th_result r;
    const char *argv[] = {"trawl", "--help", NULL};
    assert_int_equal(th_run(&r, argv), 0);
    assert_non_null(strstr(r.out, "snippet length, 1..10000"));
    th_result_free(&r);
}

/*
 * trawld --index corpus.jsonl (a file, arguments swapped) started, logged
 * "no index yet" and waited for ever for an index that can never appear
 * there. It now exits 2 at once and says why; a directory that does not
 * exist yet is still waited for.
 */
static void test_daemon_index_is_a_file(void **state)
{
    (void)state;
    th h;
    char file[256], under[256];

    assert_int_equal(th_init(&h), 0);
    th_path(file, sizeof(file), &h, "corpus.jsonl");
    th_path(under, sizeof(under), &h, "corpus.jsonl/index");
    assert_int_equal(th_write_file(file, "{}\n", 3), 0);
    const char *const paths[] = {file, under};
    char log[256];
    th_path(log, sizeof(log), &h, "start.log");
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {"trawld", "--index", paths[i], "--socket",
                              h.sock, NULL};
        assert_int_equal(th_write_file(log, "", 0), 0);
        pid_t pid = th_spawn(argv, log);
        assert_true(pid > 0);
        int st = -1;
        for (int ms = 0; ms < 10000; ms += 20) {
            int w;
            if (waitpid(pid, &w, WNOHANG) == pid) {
                st = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
                break;
            }
            th_sleep_ms(20);
        }
        if (st < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        char *out = th_read_file(log, NULL);
        assert_non_null(out);
        if (st != 2 || strstr(out, "is not a directory") == NULL)
            fail_msg("trawld --index %s: %s (%s)", paths[i],
                     st < 0 ? "still running after 10 s" : "exit status",
                     out);
        free(out);
    }
    /* not there yet: served once built */
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *resp = th_request(&c, "{\"op\":\"ping\"}");
    assert_non_null(resp);
    assert_true(json_is_true(json_object_get(resp, "pong")));
    json_decref(resp);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A client whose first line starts with a UTF-8 byte order mark (.NET's
 * StreamWriter with Encoding.UTF8 writes one on a socket) got bad_json
 * for it. The mark is ignored at the start of a line; a line of only a
 * mark is blank.
 */
static void test_request_with_byte_order_mark(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "c.jsonl");
    static const char doc[] =
        "{\"id\":\"a\",\"title\":\"t\",\"body\":\"storm\"}\n";
    assert_int_equal(th_write_file(corpus, doc, sizeof(doc) - 1), 0);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    static const char req[] =
        "\xef\xbb\xbf{\"op\":\"count\",\"q\":\"storm\",\"id\":1}\r\n"
        "\xef\xbb\xbf\r\n"
        "\xef\xbb\xbf{\"op\":\"ping\",\"id\":2}\n";
    assert_int_equal(th_send(&c, req, sizeof(req) - 1), 0);
    for (int i = 1; i <= 2; i++) {
        json_t *r = th_recv_json(&c);
        assert_non_null(r);
        if (!json_is_true(json_object_get(r, "ok")) ||
            json_integer_value(json_object_get(r, "id")) != i) {
            char *t = json_dumps(r, JSON_COMPACT);
            fail_msg("response %d: %s", i, t);
        }
        if (i == 1)
            assert_int_equal(
                json_integer_value(json_object_get(r, "count")), 1);
        json_decref(r);
    }
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A CURRENT that does not parse (one byte damaged) is an index that
 * cannot be read, not a missing one: an --add run refuses to start afresh
 * (it would commit only its own articles and delete the rest), and a
 * plain run says that it rebuilds the index from its articles. */
static void test_damaged_current_is_not_an_empty_index(void **state)
{
    (void)state;
    th h;
    char old[256], add[256], cur[256];

    assert_int_equal(th_init(&h), 0);
    th_path(old, sizeof(old), &h, "old.jsonl");
    th_path(add, sizeof(add), &h, "new.jsonl");
    write_corpus(old, 30);
    const char *one = "{\"id\":\"n1\",\"title\":\"t\",\"body\":\"storm\"}\n";
    assert_int_equal(th_write_file(add, one, strlen(one)), 0);
    assert_int_equal(th_index(&h, (const char *[]){old, NULL}, NULL), 0);
    int n = snprintf(cur, sizeof(cur), "%s/CURRENT", h.index);
    assert_true(n > 0 && (size_t)n < sizeof(cur));
    const char *bad = "gen-000001.mam\n";
    assert_int_equal(th_write_file(cur, bad, strlen(bad)), 0);

    th_result r;
    const char *argv[] = {"trawl-index", "--index", h.index, "--add", add,
                          NULL};
    assert_int_equal(th_run(&r, argv), 2);
    assert_non_null(strstr(r.err, "CURRENT"));
    assert_non_null(strstr(r.err, "--full"));
    th_result_free(&r);
    /* nothing removed: the old generation is still there */
    char path[300];
    n = snprintf(path, sizeof(path), "%s/gen-000001.man", h.index);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    assert_int_equal(access(path, F_OK), 0);

    /* a plain run rebuilds, and says why */
    assert_int_equal(th_index(&h, (const char *[]){old, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "cannot be read"));
    assert_non_null(strstr(r.err, "rebuilt"));
    th_result_free(&r);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    assert_non_null(strstr(r.out, "30 documents"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* A text file whose Date header cannot be read is indexed, dated by the
 * file's modification time, and trawl-index says so (it was silent,
 * while the same date in a JSON line is reported as bad input). */
static void test_unreadable_date_header_is_noted(void **state)
{
    (void)state;
    th h;
    char txt[256];

    assert_int_equal(th_init(&h), 0);
    th_path(txt, sizeof(txt), &h, "leap.txt");
    const char *text = "Title: Leap day\nDate: 2024-02-29T24:00:00Z\n\n"
                       "The storm came ashore.\n";
    assert_int_equal(th_write_file(txt, text, strlen(text)), 0);
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){txt, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "leap.txt:2: date not understood; dated "
                                  "by the file's modification time"));
    assert_non_null(strstr(r.out, "indexed 1 document"));
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_while_committing),
        cmocka_unit_test(test_client_range_messages),
        cmocka_unit_test(test_daemon_index_is_a_file),
        cmocka_unit_test(test_request_with_byte_order_mark),
        cmocka_unit_test(test_damaged_current_is_not_an_empty_index),
        cmocka_unit_test(test_unreadable_date_header_is_noted),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("sweep8", tests, NULL, NULL);
}
