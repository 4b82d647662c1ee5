/*
 * Defects found by the session 14 red-team pass, end to end.
 *
 * A JSON Lines id beyond 64 bits (a uint64 counter or hash): the line
 * was refused as "too big integer" and its article lost; and once such
 * an article is in the index, a later bad line for it (no body, cut
 * short) must keep it, as it does for any other integer id.
 *
 * trawl-index whose output goes to a reader that is gone (`trawl-index
 * ... 2>&1 | head`, to see the first problems of a large run): the
 * first note written after died of SIGPIPE, mid-run, and nothing was
 * committed. The notes are for people; the run goes on without them.
 *
 * `trawl-index --help > /dev/full` and `trawld --version > /dev/full`
 * exited 0 with nothing written; the client was made to exit 2 for that
 * (test_sweep9), now the other two programs do too.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIG "18446744073709551615"

static void test_ids_and_numbers_beyond_64_bits(void **state)
{
    (void)state;
    th h;
    char corpus[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news.jsonl");
    th_write_text(corpus,
                  "{\"id\":" BIG ",\"title\":\"Storm\",\"body\":\"storm "
                  "surge\"}\n"
                  "{\"id\":\"h\",\"title\":\"Flood\",\"body\":\"flood "
                  "water\",\"simhash\":13091809520834529185}\n"
                  "{\"id\":\"c\",\"title\":\"Calm\",\"body\":\"calm "
                  "sea\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "3 added"));
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    th_expect_body(&c, BIG, "storm surge");
    th_expect_body(&c, "h", "flood water");
    json_t *g = th_request(&c, "{\"op\":\"get\",\"doc\":\"h\"}");
    assert_non_null(g);
    json_t *hash = json_object_get(
        json_object_get(json_object_get(g, "doc"), "extra"), "simhash");
    assert_true(json_is_real(hash));
    assert_true(json_real_value(hash) == 13091809520834529185.0);
    json_decref(g);
    assert_int_equal(th_count(&c, "flood"), 1);

    /* Its line loses the body, then is cut short: the article stays. */
    th_write_text(corpus,
                  "{\"id\":" BIG ",\"title\":\"Storm\",\"text\":\"x\"}\n"
                  "{\"id\":\"c\",\"title\":\"Calm\",\"body\":\"calm "
                  "sea\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "\"" BIG "\" stays as indexed before"));
    assert_non_null(strstr(r.out, "1 deleted"));
    th_result_free(&r);
    th_reload(&c);
    th_expect_body(&c, BIG, "storm surge");
    th_expect_body(&c, "h", NULL);

    th_write_text(corpus,
                  "{\"id\":" BIG ",\"title\":\"Storm\",\"body\":\"sto\n"
                  "{\"id\":\"c\",\"title\":\"Calm\",\"body\":\"calm "
                  "sea\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "\"" BIG "\" stays as indexed before"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);
    th_reload(&c);
    th_expect_body(&c, BIG, "storm surge");

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* argv run with stdout and stderr a pipe nobody reads (closed before it
 * starts); its exit status, 128+N when killed by signal N. */
static int run_into_closed_pipe(const char *const argv[])
{
    char path[512];
    int p[2];
    snprintf(path, sizeof(path), "%s/%s", th_bin_dir(), argv[0]);
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL); /* as a shell starts it */
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ;
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

static void test_index_output_to_a_closed_pipe(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "news.jsonl");
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"text\":\"no body\"}\n"
                  "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"flood "
                  "water\"}\n");
    const char *argv[] = {"trawl-index", "--index", h.index, corpus, NULL};
    assert_int_equal(run_into_closed_pipe(argv), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(th_count(&c, "flood"), 1);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void test_help_to_a_full_device(void **state)
{
    (void)state;
    const char *progs[] = {"trawl-index", "trawld"};
    const char *opts[] = {"--help", "--version"};
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < 2; i++) {
            const char *argv[] = {progs[p], opts[i], NULL};
            pid_t pid = th_spawn(argv, "/dev/full");
            assert_true(pid > 0);
            int st = th_wait(pid);
            if (st != 2)
                fail_msg("%s %s > /dev/full: exit %d", progs[p], opts[i],
                         st);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_numbers_beyond_64_bits),
        cmocka_unit_test(test_index_output_to_a_closed_pipe),
        cmocka_unit_test(test_help_to_a_full_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
