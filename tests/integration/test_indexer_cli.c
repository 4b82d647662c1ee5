/*
 * Integration tests of what trawl-index and trawl tell the user about
 * their command line: article files are known by their extension in any
 * case (.TXT, .Md, .JSONL); a PATH given explicitly that yields nothing (a
 * file of another type, an empty directory, a directory of other files,
 * an empty .jsonl) is reported as bad input; option errors name the
 * program, not the path it was run by.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

static void put(const th *h, const char *name, const char *text)
{
    char p[256];
    th_path(p, sizeof(p), h, name);
    assert_int_equal(th_write_file(p, text, strlen(text)), 0);
}

static void mkdir_in(const th *h, const char *name)
{
    char p[256];
    th_path(p, sizeof(p), h, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

/* trawl-index --progress=json --index h->index PATH... (names inside
 * h->dir); the exit status. */
static int run_index(th *h, th_result *r, const char *const names[])
{
    static char paths[8][256];
    const char *argv[16];
    int n = 0;

    argv[n++] = "trawl-index";
    argv[n++] = "--progress=json";
    argv[n++] = "--index";
    argv[n++] = h->index;
    for (int i = 0; names[i] != NULL; i++) {
        assert_true(i < 8);
        th_path(paths[i], sizeof(paths[i]), h, names[i]);
        argv[n++] = paths[i];
    }
    argv[n] = NULL;
    return th_run(r, argv);
}

/* The "done" event's integer member (-1 if there is none). */
static long long done_int(const th_result *r, const char *key)
{
    const char *line = strstr(r->out, "{\"event\":\"done\"");
    if (line == NULL)
        return -1;
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    if (j == NULL)
        return -1;
    json_t *v = json_object_get(j, key);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

/* stderr has "trawl-index: DIR/name: " followed by reason. */
static void expect_note(const th *h, const th_result *r, const char *name,
                        const char *reason)
{
    char want[512];
    snprintf(want, sizeof(want), "trawl-index: %s/%s: %s", h->dir, name,
             reason);
    if (strstr(r->err, want) == NULL)
        fail_msg("stderr lacks \"%s\":\n%s", want, r->err);
}

/* Upper- and mixed-case extensions are article files, in a directory and
 * as a PATH of their own. */
static void test_upper_case_extensions(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "in");
    put(&h, "in/A.TXT", "Upper text\n\nthe zebra grazes\n");
    put(&h, "in/b.Md", "# Mixed markdown\n\nthe giraffe eats\n");
    put(&h, "in/c.JSONL",
        "{\"id\":\"j1\",\"title\":\"J one\",\"body\":\"okapi\"}\n"
        "{\"id\":\"j2\",\"title\":\"J two\",\"body\":\"kudu\"}\n");
    put(&h, "in/d.Txt", "Mixed text\n\nthe lion sleeps\n");
    put(&h, "in/notes.rst", "not an article\n"); /* ignored in a dir */
    put(&h, "E.MD", "Explicit\n\nthe hippo swims\n");

    int rc = run_index(&h, &r, (const char *[]){ "in", "E.MD", NULL });
    if (rc != 0)
        fail_msg("exit %d, stderr:\n%s", rc, r.err);
    assert_int_equal(done_int(&r, "docs"), 6);
    assert_int_equal(done_int(&r, "bad"), 0);
    assert_string_equal(r.err, "");
    th_result_free(&r);

    /* the client finds them */
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){ "-l", "zebra",
                                                         NULL }), 0);
    assert_non_null(strstr(r.out, "A.TXT"));
    th_result_free(&r);
    assert_int_equal(th_client(&h, &r, (const char *[]){ "-l", "kudu",
                                                         NULL }), 0);
    assert_non_null(strstr(r.out, "j2"));
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A PATH that is a file of another type is bad input, the rest of the run
 * goes on. */
static void test_explicit_other_extension(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    put(&h, "table.csv", "a,b\n1,2\n");
    put(&h, "NOTE.TXT", "A note\n\nthe zebra\n");

    int rc = run_index(&h, &r,
                       (const char *[]){ "table.csv", "NOTE.TXT", NULL });
    if (rc != 0)
        fail_msg("exit %d, stderr:\n%s", rc, r.err);
    expect_note(&h, &r, "table.csv", "not an article file");
    assert_null(strstr(r.err, "NOTE.TXT"));
    assert_int_equal(done_int(&r, "docs"), 1);
    assert_int_equal(done_int(&r, "bad"), 1);
    th_result_free(&r);

    /* alone: nothing found, nothing committed, exit 1 */
    rc = run_index(&h, &r, (const char *[]){ "table.csv", NULL });
    assert_int_equal(rc, 1);
    expect_note(&h, &r, "table.csv", "not an article file");
    assert_non_null(strstr(r.err, "no articles found"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* PATHs that give no article are named on stderr and counted as bad. */
static void test_path_without_articles(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "good");
    put(&h, "good/a.txt", "Good\n\nthe zebra\n");
    mkdir_in(&h, "empty");
    mkdir_in(&h, "others");
    put(&h, "others/readme.rst", "not an article\n");
    put(&h, "others/.hidden.txt", "Hidden\n\nskipped\n");
    put(&h, "none.jsonl", "\n\n");
    mkdir_in(&h, "jdir");
    put(&h, "jdir/x.jsonl", "");

    int rc = run_index(&h, &r,
                       (const char *[]){ "good", "empty", "others",
                                         "none.jsonl", "jdir", NULL });
    if (rc != 0)
        fail_msg("exit %d, stderr:\n%s", rc, r.err);
    expect_note(&h, &r, "empty", "no article file");
    expect_note(&h, &r, "others", "no article file");
    expect_note(&h, &r, "none.jsonl", "no article in this file");
    expect_note(&h, &r, "jdir", "no article in the files of this directory");
    assert_null(strstr(r.err, "/good"));
    assert_int_equal(done_int(&r, "docs"), 1);
    assert_int_equal(done_int(&r, "bad"), 4);
    th_result_free(&r);

    /* an empty directory alone: named, then nothing committed, exit 1 */
    rc = run_index(&h, &r, (const char *[]){ "empty", NULL });
    assert_int_equal(rc, 1);
    expect_note(&h, &r, "empty", "no article file");
    assert_non_null(strstr(r.err, "no articles found"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* A PATH that cannot be read stops the run before the index is touched
 * (exit 2): read as empty, it would delete the articles it held. Needs a
 * user whom permissions stop (skipped as root). */
static void test_unreadable_path_stops_run(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip();
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "in");
    put(&h, "in/a.txt", "Alpha\n\nthe zebra\n");
    put(&h, "b.txt", "Beta\n\nthe okapi\n");
    int rc = run_index(&h, &r, (const char *[]){ "in", "b.txt", NULL });
    assert_int_equal(rc, 0);
    th_result_free(&r);
    char p[256];
    th_path(p, sizeof(p), &h, "in");
    assert_int_equal(chmod(p, 0), 0);
    rc = run_index(&h, &r, (const char *[]){ "in", "b.txt", NULL });
    assert_int_equal(chmod(p, 0755), 0);
    assert_int_equal(rc, 2);
    if (strstr(r.err, "cannot read") == NULL)
        fail_msg("stderr:\n%s", r.err);
    th_result_free(&r);
    th_path(p, sizeof(p), &h, "b.txt");
    assert_int_equal(chmod(p, 0), 0);
    rc = run_index(&h, &r, (const char *[]){ "in", "b.txt", NULL });
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(rc, 2);
    th_result_free(&r);
    /* the index still holds both */
    rc = run_index(&h, &r, (const char *[]){ "in", "b.txt", NULL });
    assert_int_equal(rc, 0);
    assert_int_equal(done_int(&r, "docs"), 2);
    assert_int_equal(done_int(&r, "deleted"), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

/* A directory or file inside a PATH that cannot be read is reported,
 * and the run keeps the articles it did not see instead of deleting
 * them (they may still be there); the next readable run deletes what is
 * really gone. Skipped as root, whom permissions do not stop. */
static void test_unreadable_inside_keeps_articles(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip();
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    mkdir_in(&h, "in");
    mkdir_in(&h, "in/sub");
    put(&h, "in/a.txt", "Alpha\n\nthe zebra\n");
    put(&h, "in/sub/b.txt", "Beta\n\nthe okapi\n");
    put(&h, "in/c.txt", "Gamma\n\nthe ibis\n");
    int rc = run_index(&h, &r, (const char *[]){ "in", NULL });
    assert_int_equal(rc, 0);
    assert_int_equal(done_int(&r, "docs"), 3);
    th_result_free(&r);

    char sub[256], c[256];
    th_path(sub, sizeof(sub), &h, "in/sub");
    th_path(c, sizeof(c), &h, "in/c.txt");
    assert_int_equal(chmod(sub, 0), 0);
    assert_int_equal(chmod(c, 0), 0);
    rc = run_index(&h, &r, (const char *[]){ "in", NULL });
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(chmod(c, 0644), 0);
    if (rc != 0)
        fail_msg("exit %d, stderr:\n%s", rc, r.err);
    if (strstr(r.err, "2 inputs could not be read") == NULL)
        fail_msg("stderr:\n%s", r.err);
    assert_int_equal(done_int(&r, "docs"), 3);
    assert_int_equal(done_int(&r, "deleted"), 0);
    th_result_free(&r);

    /* readable again, one really gone: deleted now */
    char b[256];
    th_path(b, sizeof(b), &h, "in/sub/b.txt");
    assert_int_equal(unlink(b), 0);
    rc = run_index(&h, &r, (const char *[]){ "in", NULL });
    assert_int_equal(rc, 0);
    assert_int_equal(done_int(&r, "docs"), 2);
    assert_int_equal(done_int(&r, "deleted"), 1);
    th_result_free(&r);
    th_cleanup(&h);
}

/* Every stderr line is "NAME: ..." or "Try 'NAME --help' ...", and the
 * path the program was run by appears nowhere. */
static void expect_named(const th_result *r, const char *name,
                         const char *path)
{
    char pre[64], try[64];
    snprintf(pre, sizeof(pre), "%s: ", name);
    snprintf(try, sizeof(try), "Try '%s --help'", name);
    if (r->err[0] == '\0')
        fail_msg("%s printed nothing on stderr", name);
    if (strstr(r->err, path) != NULL)
        fail_msg("stderr names the path %s:\n%s", path, r->err);
    for (const char *l = r->err; *l != '\0';) {
        if (strncmp(l, pre, strlen(pre)) != 0 &&
            strncmp(l, try, strlen(try)) != 0)
            fail_msg("a line of stderr does not start with \"%s\":\n%s",
                     pre, r->err);
        const char *nl = strchr(l, '\n');
        l = nl != NULL ? nl + 1 : l + strlen(l);
    }
}

static void run_named(const char *name, const char *const args[],
                      int want_status)
{
    char path[512];
    const char *argv[8];
    int n = 0;
    th_result r;

    snprintf(path, sizeof(path), "%s/%s", th_bin_dir(), name);
    argv[n++] = path; /* as a shell runs a program found on $PATH */
    for (int i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int rc = th_run(&r, argv);
    if (rc != want_status)
        fail_msg("%s: exit %d, not %d; stderr:\n%s", name, rc, want_status,
                 r.err);
    expect_named(&r, name, path);
    th_result_free(&r);
}

static void test_index_messages_name_the_program(void **state)
{
    (void)state;
    run_named("trawl-index", (const char *[]){ "--bogus", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "-x", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "--index", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "--progress", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "-i", "ix", NULL }, 1);
    /* bad option values are usage errors, with the hint to --help */
    run_named("trawl-index", (const char *[]){ "-i", "ix", "--memory", "0",
                                               "x", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "-i", "ix", "--progress=foo",
                                               "x", NULL }, 1);
    run_named("trawl-index", (const char *[]){ "-i", "ix", "--language",
                                               "klingon", th_fixtures_dir(),
                                               NULL }, 1);
    th_result r;
    char path[512];
    snprintf(path, sizeof(path), "%s/trawl-index", th_bin_dir());
    assert_int_equal(th_run(&r, (const char *[]){ path, "-i", "ix",
                                                  "--memory", "0", "x",
                                                  NULL }),
                     1);
    assert_non_null(strstr(r.err, "Try 'trawl-index --help'"));
    th_result_free(&r);
}

static void test_client_messages_name_the_program(void **state)
{
    (void)state;
    run_named("trawl", (const char *[]){ "--bogus", NULL }, 2);
    run_named("trawl", (const char *[]){ "-q", "zebra", NULL }, 2);
    run_named("trawl", (const char *[]){ "--limit", NULL }, 2);
    run_named("trawl", (const char *[]){ "--limit", "x", "a", NULL }, 2);
}

/* trawld follows an option error with its usage: the error line names
 * the program, and the path it ran by appears nowhere. */
static void test_daemon_messages_name_the_program(void **state)
{
    (void)state;
    static const char *const bad[] = {"--bogus", "--index"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[512];
        th_result r;
        snprintf(path, sizeof(path), "%s/trawld", th_bin_dir());
        const char *argv[] = {path, bad[i], NULL};
        int rc = th_run(&r, argv);
        assert_int_equal(rc, 2);
        if (strncmp(r.err, "trawld: ", 8) != 0 || strstr(r.err, path) != NULL)
            fail_msg("trawld %s: stderr:\n%s", bad[i], r.err);
        th_result_free(&r);
    }
    /* -h and -V, as trawl-index and trawl take them */
    static const char *const good[] = {"-h", "-V"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char path[512];
        th_result r;
        snprintf(path, sizeof(path), "%s/trawld", th_bin_dir());
        const char *argv[] = {path, good[i], NULL};
        assert_int_equal(th_run(&r, argv), 0);
        assert_non_null(strstr(r.out, i == 0 ? "usage: trawld" : "trawld "));
        th_result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upper_case_extensions),
        cmocka_unit_test(test_explicit_other_extension),
        cmocka_unit_test(test_path_without_articles),
        cmocka_unit_test(test_unreadable_path_stops_run),
        cmocka_unit_test(test_unreadable_inside_keeps_articles),
        cmocka_unit_test(test_index_messages_name_the_program),
        cmocka_unit_test(test_client_messages_name_the_program),
        cmocka_unit_test(test_daemon_messages_name_the_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
