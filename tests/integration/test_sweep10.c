/*
 * Integration tests from the tenth acceptance sweep: the operator's cron
 * job over months (links in the news directory, renames, runs at once)
 * and corpora of odd shape.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* The "done" event of trawl-index --progress=json ... (malloc'd JSON),
 * with the run's stderr in *err when err is not NULL (malloc'd). */
static json_t *index_json(th *h, const char *path, char **err)
{
    th_result r;
    th_run(&r, (const char *[]){"trawl-index", "--index", h->index,
                                "--progress=json", path, NULL});
    assert_int_equal(r.status, 0);
    const char *done = strstr(r.out, "{\"event\":\"done\"");
    assert_non_null(done);
    json_t *j = json_loads(done, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    if (err != NULL)
        *err = strdup(r.err);
    th_result_free(&r);
    return j;
}

static long long member(const json_t *j, const char *name)
{
    json_t *v = json_object_get(j, name);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

/*
 * A news directory with a "latest" link to the day's directory and an
 * article hard-linked into another place: each article was indexed once
 * per name, so every search listed it two or three times. A file met
 * again in a run is read once, under the first name in walk order, and
 * the other names are reported; a rerun changes nothing.
 */
static void test_links_read_once(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256], q[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "news/2025-03-01");
    th_path(p, sizeof(p), &h, "news/2025-03-01/storm.txt");
    th_write_text(p, "Title: Storm\n\nA heron storm hit the coast.\n");
    th_path(p, sizeof(p), &h, "news/2025-03-01/vote.txt");
    th_write_text(p, "Title: Vote\n\nThe council vote on the heron park.\n");
    th_path(q, sizeof(q), &h, "news/latest");
    assert_int_equal(symlink("2025-03-01", q), 0);
    th_path(q, sizeof(q), &h, "news/front.txt");
    th_path(p, sizeof(p), &h, "news/2025-03-01/storm.txt");
    assert_int_equal(link(p, q), 0);
    th_path(dir, sizeof(dir), &h, "news");

    char *err = NULL;
    json_t *done = index_json(&h, dir, &err);
    assert_int_equal(member(done, "docs"), 2);
    assert_non_null(strstr(err, "latest/storm.txt: the same file was read"));
    assert_non_null(strstr(err, "latest/vote.txt: the same file was read"));
    assert_non_null(strstr(err, "front.txt: the same file was read"));
    assert_int_equal(member(done, "bad"), 0);
    json_decref(done);
    free(err);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(th_count(&c, "heron"), 2);
    json_t *r = th_request(&c, "{\"op\":\"get\",\"doc\":\"latest/storm.txt\"}");
    assert_string_equal(th_error_code(r), "not_found");
    json_decref(r);
    th_close(&c);

    /* The next run keeps all as they are. */
    done = index_json(&h, dir, NULL);
    assert_int_equal(member(done, "docs"), 2);
    assert_int_equal(member(done, "unchanged"), 2);
    assert_true(json_is_false(json_object_get(done, "committed")));
    json_decref(done);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A link to a directory of many articles is reported file by file up to
 * 20 times, then counted: a cron job's mail is not a page per article;
 * with -q, not at all. The progress display counts its files once.
 */
static void test_many_links_reported_in_short(void **state)
{
    (void)state;
    th h;
    char p[256], dir[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "news/a");
    for (int i = 0; i < 30; i++) {
        char name[64];
        snprintf(name, sizeof(name), "news/a/n%02d.txt", i);
        th_path(p, sizeof(p), &h, name);
        th_write_text(p, "Title: Note\n\nharbor\n");
    }
    th_path(p, sizeof(p), &h, "news/b");
    assert_int_equal(symlink("a", p), 0);
    th_path(dir, sizeof(dir), &h, "news");
    char *err = NULL;
    json_t *done = index_json(&h, dir, &err);
    assert_int_equal(member(done, "docs"), 30);
    size_t lines = 0;
    for (const char *s = err; (s = strstr(s, "read earlier")) != NULL; s++)
        lines++;
    assert_int_equal(lines, 21);
    assert_non_null(strstr(err, "10 more files read earlier in this run"));
    json_decref(done);
    free(err);

    /* -q: nothing to say, it is no problem */
    th_result r;
    th_run(&r, (const char *[]){"trawl-index", "-q", "--index", h.index,
                                "--full", dir, NULL});
    assert_int_equal(r.status, 0);
    if (r.out[0] != '\0' || r.err[0] != '\0')
        fail_msg("-q said: %s%s", r.out, r.err);
    th_result_free(&r);

    /* The progress's total counts each file once (it was 1200 bytes, and
     * the progress stopped at half of it). */
    th_run(&r, (const char *[]){"trawl-index", "--index", h.index, "--full",
                                "--progress=json", dir, NULL});
    assert_int_equal(r.status, 0);
    if (strstr(r.out, "\"bytes\":600,\"total_bytes\":600,") == NULL)
        fail_msg("progress: %s", r.out);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * A merge-only run read no article, yet said "indexed 3 documents (0
 * added, 0 updated, 0 deleted, 0 unchanged) from 0 B in 0.00 s (0.00
 * MB/s)": it says what it did.
 */
static void test_merge_only_summary(void **state)
{
    (void)state;
    th h;
    char p[256];
    th_result r;
    assert_int_equal(th_init(&h), 0);
    th_path(p, sizeof(p), &h, "a.jsonl");
    th_write_text(p, "{\"id\":\"a\",\"title\":\"A\",\"body\":\"one\"}\n"
                     "{\"id\":\"b\",\"title\":\"B\",\"body\":\"two\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){p, NULL}, NULL), 0);
    th_write_text(p, "{\"id\":\"a\",\"title\":\"A\",\"body\":\"one\"}\n"
                     "{\"id\":\"b\",\"title\":\"B\",\"body\":\"new\"}\n"
                     "{\"id\":\"c\",\"title\":\"C\",\"body\":\"three\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){p, NULL}, NULL), 0);
    th_run(&r, (const char *[]){"trawl-index", "--index", h.index, "--merge",
                                NULL});
    assert_int_equal(r.status, 0);
    if (strncmp(r.out, "merged 3 documents in ", 22) != 0 ||
        strstr(r.out, "in 1 segment; generation 3\n") == NULL)
        fail_msg("summary: %s", r.out);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * A feed that prunes old articles while the cron job's run reads the
 * directory: a file listed, then removed before it was opened, was "No
 * such file or directory", a bad input, and an input "that could not be
 * read", so the run deleted no article at all; a directory removed so
 * was reported too. It is gone: its article is
 * deleted, as if the run had started a moment later, and nothing is
 * reported. A dangling link is still reported, by that name.
 */
static void test_file_removed_during_run(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256], log[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    for (int i = 0; i < 10; i++) {
        char name[64];
        snprintf(name, sizeof(name), "c/n%02d.txt", i);
        th_path(p, sizeof(p), &h, name);
        th_write_text(p, "Title: Note\nDate: 2025-03-01\n\nharbor\n");
    }
    th_make_dir(&h, "c/pday");
    th_path(p, sizeof(p), &h, "c/pday/old.txt");
    th_write_text(p, "Title: Old\nDate: 2025-02-01\n\nharbor\n");
    th_path(p, sizeof(p), &h, "c/zz-gone.txt");
    assert_int_equal(symlink("nowhere.txt", p), 0);
    th_path(dir, sizeof(dir), &h, "c");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);

    th_path(log, sizeof(log), &h, "index.log");
    setenv("TRAWL_TEST_CRASH_AT", "stop:3", 1);
    pid_t pid = th_spawn((const char *[]){"trawl-index", "--index", h.index,
                                          dir, NULL},
                         log);
    unsetenv("TRAWL_TEST_CRASH_AT");
    assert_true(pid > 0);
    for (int i = 0; i < 400 && !th_is_stopped(pid); i++)
        th_sleep_ms(25);
    assert_true(th_is_stopped(pid));
    th_path(p, sizeof(p), &h, "c/n06.txt");
    assert_int_equal(unlink(p), 0);
    th_path(p, sizeof(p), &h, "c/n08.txt");
    assert_int_equal(unlink(p), 0);
    th_path(p, sizeof(p), &h, "c/pday/old.txt");
    assert_int_equal(unlink(p), 0);
    th_path(p, sizeof(p), &h, "c/pday");
    assert_int_equal(rmdir(p), 0);
    kill(pid, SIGCONT);
    assert_int_equal(th_wait(pid), 0);
    char *out = th_read_file(log, NULL);
    assert_non_null(out);
    if (strstr(out, "(0 added, 0 updated, 3 deleted, 8 unchanged)") == NULL ||
        strstr(out, "; 1 bad input") == NULL ||
        strstr(out, "n06") != NULL || strstr(out, "pday/") != NULL ||
        strstr(out, "zz-gone.txt: dangling symbolic link") == NULL)
        fail_msg("trawl-index said: %s", out);
    free(out);
    th_cleanup(&h);
}

/*
 * trawl --stats after months of updates: the daemon's "deleted" (what a
 * merge reclaims, and what still counts in the scores) was not shown, and
 * one connection read "1 connections" (th_daemon_start's probe may still
 * be open: 1 or 2 here).
 */
static void test_stats_show_deleted(void **state)
{
    (void)state;
    th h;
    char p[256];
    th_result r;
    assert_int_equal(th_init(&h), 0);
    th_path(p, sizeof(p), &h, "a.jsonl");
    const char *v1 = "{\"id\":\"1\",\"title\":\"t\",\"body\":\"one\"}\n"
                     "{\"id\":\"2\",\"title\":\"t\",\"body\":\"two\"}\n"
                     "{\"id\":\"3\",\"title\":\"t\",\"body\":\"three\"}\n"
                     "{\"id\":\"4\",\"title\":\"t\",\"body\":\"four\"}\n"
                     "{\"id\":\"5\",\"title\":\"t\",\"body\":\"five\"}\n"
                     "{\"id\":\"6\",\"title\":\"t\",\"body\":\"six\"}\n";
    th_write_text(p, v1);
    assert_int_equal(th_index(&h, (const char *[]){p, NULL}, NULL), 0);
    th_write_text(p, "{\"id\":\"1\",\"title\":\"t\",\"body\":\"one\"}\n"
                     "{\"id\":\"2\",\"title\":\"t\",\"body\":\"two again\"}\n"
                     "{\"id\":\"3\",\"title\":\"t\",\"body\":\"three\"}\n"
                     "{\"id\":\"4\",\"title\":\"t\",\"body\":\"four\"}\n"
                     "{\"id\":\"5\",\"title\":\"t\",\"body\":\"five\"}\n"
                     "{\"id\":\"6\",\"title\":\"t\",\"body\":\"six\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){p, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--stats", NULL}), 0);
    if (strstr(r.out, "1 replaced or deleted document not merged away yet") ==
            NULL ||
        strstr(r.out, " 1 connections") != NULL ||
        strstr(r.out, " connection") == NULL)
        fail_msg("stats: %s", r.out);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* merged: nothing to say */
    th_run(&r, (const char *[]){"trawl-index", "--index", h.index, "--merge",
                                NULL});
    assert_int_equal(r.status, 0);
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--stats", NULL}), 0);
    if (strstr(r.out, "replaced or deleted") != NULL)
        fail_msg("stats after --merge: %s", r.out);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_read_once),
        cmocka_unit_test(test_many_links_reported_in_short),
        cmocka_unit_test(test_merge_only_summary),
        cmocka_unit_test(test_file_removed_during_run),
        cmocka_unit_test(test_stats_show_deleted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
