/*
 * Integration tests of trawl-index's JSON Lines path: streaming (lines
 * across buffer refills, a line longer than the read buffer, one longer
 * than the 64 MiB cap, CRLF, no final newline), the incremental fast path
 * (a rerun over unchanged lines keeps them without parsing; a changed
 * line is re-indexed alone), the size cap on text files, and the summary.
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <fcntl.h>
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

#define NLINES 600     /* about 3 KB each: the file spans the 1 MiB buffer */
#define LINE_CAP ((size_t)64 << 20)

/* A line of the corpus: escaped ids and integer ids take other paths. */
static void put_line(FILE *f, int i, const char *variant)
{
    if (i % 50 == 7)
        fprintf(f, "{\"id\":\"esc\\u002d%d\",", i); /* parsed in full */
    else if (i % 50 == 9)
        fprintf(f, "{\"id\":%d,", 100000 + i);
    else
        fprintf(f, "{\"id\":\"doc-%04d\",", i);
    fprintf(f, "\"title\":\"Article %d %s\",\"date\":\"2024-05-%02d\","
               "\"meta\":{\"tags\":[\"a\",\"b\"],\"n\":%d},\"body\":\"",
            i, variant, 1 + i % 28, i);
    for (int k = 0; k < 300; k++)
        fprintf(f, "w%d ", (i * 31 + k * 7) % 997);
    fputs("\"}", f);
    fputs(i % 3 == 0 ? "\r\n" : "\n", f);
}

static void write_corpus(const char *path, int changed)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < NLINES; i++) {
        put_line(f, i, i == changed ? "changed" : "same");
        if (i == 100)
            fputs("\n   \n", f); /* blank lines are skipped */
    }
    /* the last line without its newline */
    fputs("{\"id\":\"last\",\"body\":\"the end\"}", f);
    assert_int_equal(fclose(f), 0);
}

/* trawl-index --progress=json ... ; the "done" event. */
static json_t *index_json(th *h, th_result *r, const char *const extra[],
                          const char *path)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = "trawl-index";
    argv[n++] = "--progress=json";
    argv[n++] = "--index";
    argv[n++] = h->index;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n++] = path;
    argv[n] = NULL;
    int st = th_run(r, argv);
    if (st != 0)
        fail_msg("trawl-index exited %d:\n%s", st, r->err);
    const char *last = r->out, *p;
    while ((p = strstr(last, "{\"event\":\"done\"")) != NULL)
        last = p + 1;
    assert_true(last != r->out);
    json_t *done = json_loads(last - 1, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(done);
    return done;
}

static long long num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer \"%s\" in the summary", key);
    return (long long)json_integer_value(v);
}

static void test_rerun_unchanged(void **state)
{
    (void)state;
    th h;
    th_result r;
    char corpus[256];
    const int total = NLINES + 1;
    const int escaped = NLINES / 50; /* ids the scanner leaves to jansson */

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "corpus.jsonl");
    write_corpus(corpus, -1);

    json_t *d = index_json(&h, &r, NULL, corpus);
    assert_int_equal(num(d, "docs"), total);
    assert_int_equal(num(d, "added"), total);
    assert_int_equal(num(d, "bad"), 0);
    assert_int_equal(num(d, "skipped"), 0);
    json_decref(d);
    th_result_free(&r);

    /* nothing changed: every article unchanged, all but the escaped ids
     * kept without parsing */
    d = index_json(&h, &r, NULL, corpus);
    assert_int_equal(num(d, "docs"), total);
    assert_int_equal(num(d, "added"), 0);
    assert_int_equal(num(d, "updated"), 0);
    assert_int_equal(num(d, "deleted"), 0);
    assert_int_equal(num(d, "unchanged"), total);
    assert_int_equal(num(d, "skipped"), total - escaped);
    /* nothing to commit: the generation stays */
    assert_int_equal(num(d, "generation"), 1);
    assert_true(json_is_false(json_object_get(d, "committed")));
    json_decref(d);
    th_result_free(&r);

    /* one line changed: just that one re-indexed */
    write_corpus(corpus, 123);
    d = index_json(&h, &r, NULL, corpus);
    assert_int_equal(num(d, "docs"), total);
    assert_int_equal(num(d, "added"), 0);
    assert_int_equal(num(d, "updated"), 1);
    assert_int_equal(num(d, "unchanged"), total - 1);
    assert_int_equal(num(d, "skipped"), total - escaped - 1);
    assert_int_equal(num(d, "generation"), 2);
    assert_true(json_is_true(json_object_get(d, "committed")));
    json_decref(d);
    th_result_free(&r);

    /* the plain summary says so too, and names no runs */
    assert_int_equal(th_index(&h, (const char *const[]){corpus, NULL}, &r),
                     0);
    char want[128];
    snprintf(want, sizeof(want),
             "no changes: %d documents unchanged, from ", total);
    if (strstr(r.out, want) == NULL)
        fail_msg("summary without '%s':\n%s", want, r.out);
    assert_null(strstr(r.out, "run"));
    th_result_free(&r);

    /* --full parses everything again */
    d = index_json(&h, &r, (const char *const[]){"--full", NULL}, corpus);
    assert_int_equal(num(d, "docs"), total);
    assert_int_equal(num(d, "skipped"), 0);
    json_decref(d);
    th_result_free(&r);

    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

/* A small memory budget over the corpus: the summary mentions the runs. */
static void test_summary_runs(void **state)
{
    (void)state;
    th h;
    th_result r;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "corpus.jsonl");
    write_corpus(corpus, -1);
    const char *argv[] = {"trawl-index", "--memory", "1", "--index", h.index,
                          corpus, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    if (strstr(r.out, "runs flushed at the memory budget") == NULL)
        fail_msg("no runs in the summary:\n%s", r.out);
    th_result_free(&r);
    th_cleanup(&h);
}

static void test_long_lines(void **state)
{
    (void)state;
    th h;
    th_result r;
    char path[256];

    assert_int_equal(th_init(&h), 0);
    th_path(path, sizeof(path), &h, "long.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"id\":\"first\",\"body\":\"before the long lines\"}\n", f);
    /* line 2: 3 MiB, longer than the read buffer but within the cap */
    fputs("{\"id\":\"big\",\"body\":\"", f);
    for (int i = 0; i < 3 * 1024 * 1024 / 8; i++)
        fputs("bigword ", f);
    fputs("\"}\n", f);
    /* line 3: over the cap */
    fputs("{\"id\":\"huge\",\"body\":\"", f);
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof(chunk));
    for (size_t n = 0; n <= LINE_CAP; n += sizeof(chunk))
        assert_int_equal(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
    fputs("\"}\n", f);
    fputs("not json\n", f); /* line 4 */
    fputs("{\"id\":\"after\",\"body\":\"after the long lines\"}\n", f);
    assert_int_equal(fclose(f), 0);

    json_t *d = index_json(&h, &r, NULL, path);
    assert_int_equal(num(d, "docs"), 3);
    assert_int_equal(num(d, "bad"), 2);
    json_decref(d);
    if (strstr(r.err, "long.jsonl:3: line longer than 64 MiB, skipped") ==
        NULL)
        fail_msg("no report of the long line:\n%s", r.err);
    if (strstr(r.err, "long.jsonl:4: ") == NULL)
        fail_msg("line numbers lost after the long line:\n%s", r.err);
    th_result_free(&r);

    /* and again: the three kept without parsing, the long line reported */
    d = index_json(&h, &r, NULL, path);
    assert_int_equal(num(d, "unchanged"), 3);
    assert_int_equal(num(d, "skipped"), 3);
    json_decref(d);
    assert_non_null(strstr(r.err, "long.jsonl:3: line longer"));
    th_result_free(&r);
    unlink(path);
    th_cleanup(&h);
}

/* A text file over 256 MiB is reported and skipped (a sparse file). */
static void test_text_too_large(void **state)
{
    (void)state;
    th h;
    th_result r;
    char dir[256], big[300], small[300];

    assert_int_equal(th_init(&h), 0);
    th_path(dir, sizeof(dir), &h, "texts");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(big, sizeof(big), "%s/big.txt", dir);
    snprintf(small, sizeof(small), "%s/small.txt", dir);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, ((off_t)256 << 20) + 1), 0);
    close(fd);
    assert_int_equal(th_write_file(small, "Title: Small\n\nA small one.\n",
                                   28), 0);
    assert_int_equal(th_index(&h, (const char *const[]){dir, NULL}, &r), 0);
    if (strstr(r.err, "big.txt: file larger than 256 MiB, skipped") == NULL)
        fail_msg("no report of the large file:\n%s", r.err);
    assert_non_null(strstr(r.out, "indexed 1 document (1 added"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* --merge with no index to merge: refused, nothing created. */
static void test_merge_without_index(void **state)
{
    (void)state;
    th h;
    th_result r;
    assert_int_equal(th_init(&h), 0);
    const char *argv[] = {"trawl-index", "--index", h.index, "--merge", NULL};
    assert_int_equal(th_run(&r, argv), 1);
    if (strstr(r.err, "no index in") == NULL)
        fail_msg("no clear error:\n%s", r.err);
    struct stat st;
    assert_int_equal(stat(h.index, &st), -1);
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rerun_unchanged),
        cmocka_unit_test(test_summary_runs),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_text_too_large),
        cmocka_unit_test(test_merge_without_index),
    };
    return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
