/*
 * Integration tests from the sixth acceptance sweep: resource limits in
 * trawld, operator flows over time and corpus variety that earlier sweeps
 * did not cover.
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static int count_in(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* stats on c: its generation and last_reload_error (malloc'd, NULL for
 * null). */
static long long stats_on(th_conn *c, char **reload_error)
{
    json_t *r = th_request(c, "{\"op\":\"stats\"}");
    if (r == NULL)
        fail_msg("no answer to stats");
    json_t *g = json_object_get(r, "generation");
    json_t *e = json_object_get(r, "last_reload_error");
    if (!json_is_integer(g))
        fail_msg("no generation in stats: %s", json_dumps(r, 0));
    long long gen = (long long)json_integer_value(g);
    *reload_error = json_is_string(e) ? strdup(json_string_value(e)) : NULL;
    json_decref(r);
    return gen;
}

/*
 * Out of file descriptors, the watcher's and the poll's look at CURRENT
 * failed without a word: trawld went on serving the old generation, its
 * stats said last_reload_error null and its log nothing about it, until
 * descriptors were free again. Now stats and the log say why (once), and
 * both clear when CURRENT can be read again and the new generation is
 * served.
 */
static void test_reload_check_out_of_descriptors(void **state)
{
    (void)state;
    th h;
    char src[256], b[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "src");
    th_path(src, sizeof(src), &h, "src/a.txt");
    th_write_text(src, "alpha\n");
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);

    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 40;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int started =
        th_daemon_start(&h, (const char *[]){"--evict-idle", "0", NULL});
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(started, 0);

    th_conn c0;
    char *err = NULL;
    assert_int_equal(th_connect(&h, &c0), 0);
    assert_int_equal(stats_on(&c0, &err), 1);
    assert_null(err);
    enum { NCONN = 60 };
    th_conn c[NCONN];
    int n = 0;
    for (; n < NCONN; n++)
        if (th_connect(&h, &c[n]) < 0)
            break;
    th_sleep_ms(300);

    th_path(b, sizeof(b), &h, "src/b.txt");
    th_write_text(b, "beta\n");
    const char *add[] = {"trawl-index", "-q", "--add", "--index",
                         h.index, b, NULL};
    th_result r;
    if (th_run(&r, add) != 0)
        fail_msg("trawl-index --add failed:\n%s", r.err);
    th_result_free(&r);

    long long gen = 0;
    long long t0 = th_now_ms();
    while (th_now_ms() - t0 < 5000) {
        free(err);
        gen = stats_on(&c0, &err);
        if (err != NULL)
            break;
        th_sleep_ms(100);
    }
    if (err == NULL || strstr(err, "Too many open files") == NULL) {
        char *log = th_daemon_log(&h);
        fail_msg("out of descriptors, generation %lld served and "
                 "last_reload_error %s; log:\n%s",
                 gen, err ? err : "null", log);
    }
    assert_int_equal(gen, 1);

    for (int i = 0; i < n; i++)
        th_close(&c[i]);
    t0 = th_now_ms();
    while (th_now_ms() - t0 < 8000) {
        free(err);
        gen = stats_on(&c0, &err);
        if (gen == 2 && err == NULL)
            break;
        th_sleep_ms(100);
    }
    if (gen != 2 || err != NULL) {
        char *log = th_daemon_log(&h);
        fail_msg("descriptors free again: generation %lld, "
                 "last_reload_error %s; log:\n%s",
                 gen, err ? err : "null", log);
    }
    th_close(&c0);
    char *log = th_daemon_log(&h);
    if (count_in(log, "cannot check") != 1 ||
        count_in(log, "can be read again") != 1)
        fail_msg("the failing check not logged once, and its end once:\n%s",
                 log);
    free(log);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A .jsonl file whose lines all miss "body" (another tool's export, with
 * "text") printed one message per line: a million lines for a million
 * articles. Now the first 20 of each file, then one line, then the count;
 * the summary still counts every bad line, and each message names the
 * field the line has.
 */
static void test_bad_lines_noted_up_to_a_count(void **state)
{
    (void)state;
    th h;
    char a[256], b[256];
    assert_int_equal(th_init(&h), 0);
    th_path(a, sizeof(a), &h, "a.jsonl");
    th_path(b, sizeof(b), &h, "b.jsonl");
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 50; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"id\":%d,\"title\":\"t\",\"text\":\"x\"}\n", i);
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"id\":\"good\",\"body\":\"fine words\"}\n");
    assert_int_equal(th_write_file(a, text, len), 0);
    free(text);
    th_write_text(b, "{\"id\":\"b1\",\"text\":\"x\"}\n{\"id\":\"b2\",\"body\":\"y\"}\n");
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){a, b, NULL}, &r), 0);
    int lines = count_in(r.err, "\n");
    if (lines != 23 || count_in(r.err, "missing string field") != 21 ||
        count_in(r.err, "a.jsonl: 30 more lines with problems not shown") !=
            1 ||
        count_in(r.err, "b.jsonl:1: ") != 1 ||
        count_in(r.err, "not \"text\"") != 21 ||
        strstr(r.out, "51 bad inputs") == NULL)
    {
        fprintf(stderr, "%s\n%s", r.err, r.out);
        fail_msg("bad lines not noted 20 per file then counted (above)");
    }
    th_result_free(&r);
    th_cleanup(&h);
}

/* Fill the listen backlog of the socket at path (its daemon stopped):
 * the connected descriptors go to fds, their number is returned. */
static int fill_backlog(const char *path, int *fds, int cap)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    assert_true(len < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, len + 1);
    int n = 0;
    while (n < cap) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            break;
        }
        fds[n++] = fd;
    }
    return n;
}

/*
 * trawl --timeout took whole seconds only ("wants a number from 0 to
 * 3600, not '0.5'"), and a daemon that accepted nothing (its backlog
 * full) was reported as "Resource temporarily unavailable". A fraction
 * is a deadline now, for the connection and for the answer, and each
 * message says which one ran out.
 */
static void test_client_timeout_fraction(void **state)
{
    (void)state;
    th h;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    th_path(src, sizeof(src), &h, "a.txt");
    th_write_text(src, "alpha\n");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_result r;
    assert_int_equal(th_client(&h, &r, (const char *[]){"--timeout", "0.5",
                                                        "--ping", NULL}),
                     0);
    th_result_free(&r);

    /* Stopped: connected, but no answer. */
    assert_int_equal(th_daemon_signal(&h, SIGSTOP), 0);
    long long t0 = th_now_ms();
    int st = th_client(&h, &r, (const char *[]){"--timeout", "0.3",
                                                 "--ping", NULL});
    long long took = th_now_ms() - t0;
    if (st != 2 || strstr(r.err, "no answer from trawld within 0.3 s") ==
                       NULL || took > 5000)
        fail_msg("stopped daemon, --timeout 0.3: exit %d after %lld ms:\n%s",
                 st, took, r.err);
    th_result_free(&r);

    /* Stopped with its backlog full: the connection is not accepted. */
    enum { NFD = 4096 };
    int *fds = malloc(NFD * sizeof(*fds));
    assert_non_null(fds);
    int n = fill_backlog(h.sock, fds, NFD);
    assert_true(n < NFD);
    t0 = th_now_ms();
    st = th_client(&h, &r, (const char *[]){"--timeout", "0.5", "--ping",
                                            NULL});
    took = th_now_ms() - t0;
    if (st != 2 ||
        strstr(r.err, "trawld accepted no connection within 0.5 s") == NULL ||
        took > 5000)
        fail_msg("full backlog, --timeout 0.5: exit %d after %lld ms:\n%s",
                 st, took, r.err);
    th_result_free(&r);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    assert_int_equal(th_daemon_signal(&h, SIGCONT), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--ping", NULL}), 0);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * An index built with --language french, end to end: trawld says so in
 * stats, analyzes queries with the index's stemmer (a singular without
 * accents finds the accented plural, a prefix with an accent too), and a
 * rerun without --language keeps the language and changes nothing.
 */
static void test_french_index_end_to_end(void **state)
{
    (void)state;
    th h;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    th_path(src, sizeof(src), &h, "fr.jsonl");
    th_write_text(src, "{\"id\":\"fr1\",\"title\":\"\u00c9lection "
                    "pr\u00e9sidentielle\",\"body\":\"Les \u00e9lecteurs "
                    "fran\u00e7ais votaient.\"}\n"
                    "{\"id\":\"fr2\",\"title\":\"Autre\",\"body\":"
                    "\"Rien \u00e0 voir.\"}\n");
    const char *first[] = {"trawl-index", "-q", "--language", "french",
                           "--index", h.index, src, NULL};
    th_result r;
    if (th_run(&r, first) != 0)
        fail_msg("trawl-index --language french failed:\n%s", r.err);
    th_result_free(&r);
    const char *again[] = {"trawl-index", "--index", h.index, src, NULL};
    if (th_run(&r, again) != 0 || strstr(r.out, "no changes") == NULL)
        fail_msg("rerun without --language: %s%s", r.out, r.err);
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *st = th_request(&c, "{\"op\":\"stats\"}");
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "language")),
                        "french");
    json_decref(st);
    static const char *const finds[] = {
        "electeur", "\u00c9LECTEURS", "title:presidentiel", "\u00e9lect*",
        "\\\"electeurs francais\\\"",
    };
    for (size_t i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "{\"op\":\"count\",\"q\":\"%s\"}",
                 finds[i]);
        json_t *a = th_request(&c, req);
        assert_non_null(a);
        if (json_integer_value(json_object_get(a, "count")) != 1)
            fail_msg("%s: %s", req, json_dumps(a, 0));
        json_decref(a);
    }
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * Daily dumps: an article in two .jsonl files, the same line in both (and
 * one whose id has an escape, which only the full parse reads). The
 * second copy made the writer count its article as updated, so every
 * rerun of the unchanged corpus committed a new generation (and trawld
 * reloaded it). Now the rerun says "no changes"; a later copy that
 * differs still wins, and a rerun with the copies in two versions is no
 * change either (trawl_writer_changed).
 */
static void test_same_article_in_two_dumps(void **state)
{
    (void)state;
    th h;
    char dir[256], d1[256], d2[256], d3[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "dumps");
    th_path(dir, sizeof(dir), &h, "dumps");
    th_path(d1, sizeof(d1), &h, "dumps/day1.jsonl");
    th_path(d2, sizeof(d2), &h, "dumps/day2.jsonl");
    th_path(d3, sizeof(d3), &h, "dumps/day3.jsonl");
    const char *same = "{\"id\":\"s\",\"title\":\"t\",\"body\":\"alpha\"}\n"
                       "{\"id\":\"e\\u0041\",\"body\":\"beta\"}\n";
    th_write_text(d1, same);
    char two[256];
    snprintf(two, sizeof(two), "%s{\"id\":\"o\",\"body\":\"gamma\"}\n",
             same);
    th_write_text(d2, two);
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    th_result_free(&r);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
        if (strstr(r.out, "no changes: 3 documents unchanged") == NULL ||
            strstr(r.out, "generation 1 kept") == NULL)
            fail_msg("rerun %d of unchanged dumps: %s", i + 1, r.out);
        th_result_free(&r);
    }
    /* A later dump with another version of s: it wins. */
    th_write_text(d3, "{\"id\":\"s\",\"title\":\"t\",\"body\":\"delta\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.out, "1 updated") == NULL)
        fail_msg("a later different copy: %s", r.out);
    th_result_free(&r);
    /* s is now in the corpus with different contents (the later copy
     * indexed): a rerun finds the index as it is (the earlier copies
     * replace the indexed version, the last one restores it), and
     * commits nothing. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
        if (strstr(r.out, "no changes: 3 documents unchanged") == NULL ||
            strstr(r.out, "generation 2 kept") == NULL)
            fail_msg("rerun %d with an id in two versions: %s", i + 1,
                     r.out);
        th_result_free(&r);
    }
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"-c", "delta",
                                                        NULL}),
                     0);
    assert_string_equal(r.out, "1\n");
    th_result_free(&r);
    assert_int_equal(th_client(&h, &r, (const char *[]){"-c", "alpha",
                                                        NULL}),
                     1);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_check_out_of_descriptors),
        cmocka_unit_test(test_bad_lines_noted_up_to_a_count),
        cmocka_unit_test(test_client_timeout_fraction),
        cmocka_unit_test(test_french_index_end_to_end),
        cmocka_unit_test(test_same_article_in_two_dumps),
    };
    return cmocka_run_group_tests_name("sweep6", tests, NULL, NULL);
}
