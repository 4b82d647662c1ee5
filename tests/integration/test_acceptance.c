/*
 * Acceptance tests: what a user at a terminal, an operator or a program
 * speaking the protocol ran into, each kept as a test once fixed.
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
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static void write_in(const th *h, const char *name, const char *text)
{
    char path[256];
    th_path(path, sizeof(path), h, name);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
}

static void mkdir_in(const th *h, const char *name)
{
    char path[256];
    th_path(path, sizeof(path), h, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

/*
 * Two PATHs holding files of the same relative name give two articles
 * with one id: the later replaces the earlier. That loses an article, so
 * trawl-index says so instead of dropping it silently.
 */
static void test_duplicate_file_ids_reported(void **state)
{
    (void)state;
    th h;
    th_result r;
    char a[256], b[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "a");
    mkdir_in(&h, "b");
    write_in(&h, "a/x.txt", "First\n\nthe first article, aardvark\n");
    write_in(&h, "b/x.txt", "Second\n\nthe second article, armadillo\n");
    write_in(&h, "b/y.txt", "Third\n\nanother article, anteater\n");
    th_path(a, sizeof(a), &h, "a");
    th_path(b, sizeof(b), &h, "b");
    assert_int_equal(th_index(&h, (const char *[]){a, b, NULL}, &r), 0);
    if (strstr(r.err, "b/x.txt") == NULL ||
        strstr(r.err, "duplicate id \"x.txt\"") == NULL)
        fail_msg("duplicate id not reported:\n%s", r.err);
    if (strstr(r.err, "y.txt") != NULL)
        fail_msg("a unique id reported:\n%s", r.err);
    if (strstr(r.out, "; 1 bad input") == NULL)
        fail_msg("the duplicate is not counted:\n%s", r.out);
    th_result_free(&r);

    /* A rerun reports it again (every run sees both files). */
    assert_int_equal(th_index(&h, (const char *[]){a, b, NULL}, &r), 0);
    if (strstr(r.err, "duplicate id \"x.txt\"") == NULL)
        fail_msg("duplicate id not reported on rerun:\n%s", r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * trawld --socket "" (a script's unset variable) listened on an empty
 * path, which nobody can connect to; like the client, it now takes the
 * default ($TRAWL_SOCKET here).
 */
static void test_empty_socket_option_is_default(void **state)
{
    (void)state;
    th h;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);
    assert_int_equal(setenv("TRAWL_SOCKET", h.sock, 1), 0);
    assert_int_equal(th_daemon_start(&h, (const char *[]){"--socket", "",
                                                          NULL}),
                     0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"ping\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    unsetenv("TRAWL_SOCKET");
    th_cleanup(&h);
}

/*
 * trawl --stats before any index exists showed "generation 0, ... ?" for
 * the daemon's "generation":null; it says that no index is loaded.
 */
static void test_stats_without_index(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--stats", NULL}), 0);
    if (strstr(r.out, "generation 0") != NULL ||
        strstr(r.out, "no index loaded") == NULL)
        fail_msg("stats without an index:\n%s", r.out);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* The message of an out-of-range snippet_length gave "0..10000" above
 * the limit, though 0 is refused too. */
static void test_range_messages(void **state)
{
    (void)state;
    th h;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    static const char *const reqs[] = {
        "{\"op\":\"search\",\"q\":\"words\",\"snippet_length\":0}",
        "{\"op\":\"search\",\"q\":\"words\",\"snippet_length\":10001}",
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        json_t *r = th_request(&c, reqs[i]);
        assert_non_null(r);
        assert_string_equal(th_error_code(r), "bad_request");
        const char *msg = json_string_value(
            json_object_get(json_object_get(r, "error"), "message"));
        if (msg == NULL || strstr(msg, "1..10000") == NULL)
            fail_msg("%s: %s", reqs[i], msg ? msg : "(no message)");
        json_decref(r);
    }
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * When accept() failed for want of file descriptors, trawld paused the
 * listener and 100 ms later restarted it without a callback: it crashed
 * (a call through NULL). Run it with few descriptors, connect more clients
 * than it can hold, and check that it still answers once they are gone.
 */
static void test_out_of_descriptors(void **state)
{
    (void)state;
    th h;
    char src[256];
    struct rlimit old, low;
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);

    /* trawld inherits the low limit; this process gets its own back */
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
    th_sleep_ms(400); /* past the accept pause */
    for (int i = 0; i < n; i++)
        th_close(&c[i]);
    th_sleep_ms(300);

    th_conn d;
    assert_int_equal(th_connect(&h, &d), 0);
    json_t *r = th_request(&d, "{\"op\":\"ping\"}");
    if (r == NULL) {
        char *log = th_daemon_log(&h);
        fail_msg("no answer after running out of descriptors; log:\n%s",
                 log ? log : "");
    }
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
    th_close(&d);
    char *log = th_daemon_log(&h);
    assert_non_null(log);
    if (strstr(log, "accept: Too many open files") == NULL)
        fail_msg("the descriptors did not run out; log:\n%s", log);
    free(log);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* Files in dir whose name ends in ".tmp". */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/*
 * Ctrl-C (or SIGTERM) during a long build left its run files (*.tmp,
 * as large as the postings) in the index directory until the next run.
 * trawl-index now stops reading, removes what it wrote and dies of the
 * signal; the previous generation stays the live one.
 */
static void test_interrupted_build_cleans_up(void **state)
{
    (void)state;
    th h;
    th_result r;
    char src[256], big[256], log[256], cur_before[64];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, NULL), 0);
    char cur[256];
    snprintf(cur, sizeof(cur), "%s/CURRENT", h.index);
    char *text = th_read_file(cur, NULL);
    assert_non_null(text);
    snprintf(cur_before, sizeof(cur_before), "%s", text);
    free(text);

    th_path(big, sizeof(big), &h, "big.jsonl");
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    for (int i = 0; i < 40000; i++) {
        fprintf(f, "{\"id\":\"d%d\",\"title\":\"t %d\",\"body\":\"", i, i);
        for (int k = 0; k < 120; k++)
            fprintf(f, "w%d ", (i * 131 + k * 17) % 20011);
        fputs("\"}\n", f);
    }
    assert_int_equal(fclose(f), 0);

    th_path(log, sizeof(log), &h, "index.log");
    const char *argv[] = {"trawl-index", "--index", h.index, "--memory", "1",
                          big, NULL};
    pid_t pid = th_spawn(argv, log);
    assert_true(pid > 0);
    /* a run file on disk: the build is well under way */
    long long deadline = th_now_ms() + 20000;
    while (count_tmp(h.index) == 0 && th_now_ms() < deadline)
        th_sleep_ms(5);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = th_wait(pid);
    char *out = th_read_file(log, NULL);
    assert_non_null(out);
    if (status != 128 + SIGTERM || strstr(out, "interrupted") == NULL)
        fail_msg("status %d after SIGTERM; output:\n%s", status, out);
    free(out);
    if (count_tmp(h.index) != 0)
        fail_msg("%d temporary files left in %s", count_tmp(h.index),
                 h.index);
    text = th_read_file(cur, NULL);
    assert_non_null(text);
    assert_string_equal(text, cur_before);
    free(text);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * A dangling symlink or an unreadable directory was reported on stderr
 * but not counted in the summary's "bad inputs".
 */
static void test_walk_problems_counted(void **state)
{
    (void)state;
    th h;
    th_result r;
    char src[256], link[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    th_path(link, sizeof(link), &h, "src/gone.txt");
    assert_int_equal(symlink("nowhere.txt", link), 0);
    th_path(src, sizeof(src), &h, "src");
    assert_int_equal(th_index(&h, (const char *[]){src, NULL}, &r), 0);
    if (strstr(r.err, "gone.txt") == NULL ||
        strstr(r.out, "; 1 bad input") == NULL)
        fail_msg("dangling link not counted:\n%s%s", r.out, r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * --language takes Snowball's aliases ("German", "de"), and a new index
 * stores the canonical name; a rerun with the same alias was refused as
 * another language, and an unknown name over an existing index was told
 * to use --full.
 */
static void test_language_alias_rerun(void **state)
{
    (void)state;
    th h;
    th_result r;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    write_in(&h, "src/a.txt", "Titel\n\nDie Strassen sind lang\n");
    th_path(src, sizeof(src), &h, "src");
    const char *first[] = {"trawl-index", "--index", h.index, "--language",
                           "German", src, NULL};
    assert_int_equal(th_run(&r, first), 0);
    th_result_free(&r);
    const char *again[] = {"trawl-index", "--index", h.index, "--language",
                           "German", src, NULL};
    if (th_run(&r, again) != 0)
        fail_msg("rerun with the same --language refused:\n%s", r.err);
    th_result_free(&r);
    const char *bad[] = {"trawl-index", "--index", h.index, "--language",
                         "klingon", src, NULL};
    assert_int_equal(th_run(&r, bad), 1); /* a usage error */
    if (strstr(r.err, "unknown language") == NULL)
        fail_msg("unknown language not named:\n%s", r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * With the progress line on (a terminal, or --progress=tty), a bad input's
 * message was printed right after the progress line, on the same line.
 */
static void test_notes_clear_progress_line(void **state)
{
    (void)state;
    th h;
    th_result r;
    char src[256];
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "src");
    mkdir_in(&h, "src/b");
    write_in(&h, "src/a.txt", "Title\n\nsome words\n");
    write_in(&h, "src/b/empty.txt", "");
    th_path(src, sizeof(src), &h, "src");
    const char *argv[] = {"trawl-index", "--index", h.index,
                          "--progress=tty", src, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    const char *at = strstr(r.err, "trawl-index: ");
    for (; at != NULL; at = strstr(at + 1, "trawl-index: ")) {
        if (strstr(at, "empty.txt") != at + strlen("trawl-index: ") +
                                          strlen(src) + 3)
            continue;
        if (!(at == r.err || at[-1] == '\n' ||
              (at - r.err >= 3 && memcmp(at - 3, "\033[K", 3) == 0)))
            fail_msg("the note is not on a line of its own:\n%s", r.err);
        break;
    }
    if (at == NULL)
        fail_msg("no note for the empty file:\n%s", r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * A write error (disk full; here the file size limit) while the commit
 * writes the segment was reported as "commit to DIR failed: I/O error":
 * the segment file reported it into the trawl_err of the trawl_writer_add
 * call that had opened it, a stack variable long gone (a write through a
 * dangling pointer). The reason and the file are now named.
 */
static void test_write_error_is_named(void **state)
{
    (void)state;
    th h;
    char big[256], log[256];
    struct rlimit old, low;
    assert_int_equal(th_init(&h), 0);
    th_path(big, sizeof(big), &h, "big.jsonl");
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    for (int i = 0; i < 4000; i++) {
        fprintf(f, "{\"id\":\"d%d\",\"title\":\"t %d\",\"body\":\"", i, i);
        for (int k = 0; k < 120; k++)
            fprintf(f, "w%d ", (i * 131 + k * 17) % 20011);
        fputs("\"}\n", f);
    }
    assert_int_equal(fclose(f), 0);

    /* files up to 256 KiB: the segment is larger; SIGXFSZ ignored (the
     * child inherits that), so that write() fails with EFBIG */
    th_path(log, sizeof(log), &h, "index.log");
    const char *argv[] = {"trawl-index", "--index", h.index, big, NULL};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 256 << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    pid_t pid = th_spawn(argv, log);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_true(pid > 0);
    int status = th_wait(pid);
    char *out = th_read_file(log, NULL);
    assert_non_null(out);
    if (status != 2 || strstr(out, "File too large") == NULL)
        fail_msg("status %d; output:\n%s", status, out);
    free(out);
    th_cleanup(&h);
}

/*
 * The same in a merge: its document store is written by a second thread,
 * whose failed write replaced the segment file's message ("write ...:
 * File too large") with an empty one ("I/O error"). The merge fails, the
 * message names the write, and the index still holds its two segments'
 * articles.
 */
static void test_merge_write_error_is_named(void **state)
{
    (void)state;
    th h;
    th_result r;
    char part[2][256], log[256];
    struct rlimit old, low;
    assert_int_equal(th_init(&h), 0);
    for (int j = 0; j < 2; j++) {
        char name[32];
        snprintf(name, sizeof(name), "part%d.jsonl", j);
        th_path(part[j], sizeof(part[j]), &h, name);
        FILE *f = fopen(part[j], "w");
        assert_non_null(f);
        /* long articles of words that hardly repeat: a store of frames
         * that the second thread compresses and writes */
        for (int i = j * 150; i < (j + 1) * 150; i++) {
            fprintf(f, "{\"id\":\"d%d\",\"title\":\"t %d\",\"body\":\"", i,
                    i);
            for (uint64_t k = 0; k < 3000; k++)
                fprintf(f, "w%llx ",
                        (unsigned long long)(((uint64_t)i * 2654435761u +
                                              k * 40503u) %
                                             999983u));
            fputs("\"}\n", f);
        }
        assert_int_equal(fclose(f), 0);
        const char *argv[] = {"trawl-index", "--index", h.index,
                              j ? "--add" : part[j], j ? part[j] : NULL,
                              NULL};
        assert_int_equal(th_run(&r, argv), 0);
        th_result_free(&r);
    }
    th_path(log, sizeof(log), &h, "merge.log");
    const char *argv[] = {"trawl-index", "--index", h.index, "--merge", NULL};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 256 << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    pid_t pid = th_spawn(argv, log);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_true(pid > 0);
    int status = th_wait(pid);
    char *out = th_read_file(log, NULL);
    assert_non_null(out);
    if (status != 2 || strstr(out, "File too large") == NULL ||
        strstr(out, "seg-") == NULL)
        fail_msg("status %d; output:\n%s", status, out);
    free(out);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    if (strstr(r.out, "300 documents, 2 segments") == NULL)
        fail_msg("after the failed merge:\n%s%s", r.out, r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_file_ids_reported),
        cmocka_unit_test(test_empty_socket_option_is_default),
        cmocka_unit_test(test_stats_without_index),
        cmocka_unit_test(test_range_messages),
        cmocka_unit_test(test_out_of_descriptors),
        cmocka_unit_test(test_interrupted_build_cleans_up),
        cmocka_unit_test(test_walk_problems_counted),
        cmocka_unit_test(test_language_alias_rerun),
        cmocka_unit_test(test_notes_clear_progress_line),
        cmocka_unit_test(test_write_error_is_named),
        cmocka_unit_test(test_merge_write_error_is_named),
    };
    return cmocka_run_group_tests_name("acceptance", tests, NULL, NULL);
}
