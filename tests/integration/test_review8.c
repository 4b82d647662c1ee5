/*
 * Session 8's review: trawl-index with a CURRENT that is damaged in ways
 * the sweep did not try, and a merge of runs without a frequent word.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void write_corpus(const char *path)
{
    const char *text =
        "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
        "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"flood water\"}\n";
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
}

static void index_path(char *out, size_t cap, const th *h, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", h->index, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* --merge of an index whose CURRENT cannot be read said "no index in DIR
 * to merge" and exited 1 (nothing to do), as for a directory without
 * one; it is an index that cannot be read: exit 2 with the reason. */
static void test_merge_with_damaged_current(void **state)
{
    (void)state;
    th h;
    char corpus[256], cur[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "a.jsonl");
    write_corpus(corpus);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    index_path(cur, sizeof(cur), &h, "CURRENT");
    assert_int_equal(th_write_file(cur, "", 0), 0);

    th_result r;
    const char *merge[] = {"trawl-index", "--index", h.index, "--merge",
                           NULL};
    assert_int_equal(th_run(&r, merge), 2);
    assert_non_null(strstr(r.err, "CURRENT"));
    assert_null(strstr(r.err, "no index"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* A directory named CURRENT: a plain or --full run indexed everything,
 * then failed to rename its CURRENT over the directory and left its
 * generation's files behind. It now stops at the start and says so. */
static void test_current_is_a_directory(void **state)
{
    (void)state;
    th h;
    char corpus[256], cur[256], man2[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "a.jsonl");
    write_corpus(corpus);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    index_path(cur, sizeof(cur), &h, "CURRENT");
    index_path(man2, sizeof(man2), &h, "gen-000002.man");
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(mkdir(cur, 0755), 0);

    const char *modes[] = {NULL, "--full", "--merge", "--add"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        const char *argv[6] = {"trawl-index", "--index", h.index};
        size_t n = 3;
        if (modes[i] != NULL)
            argv[n++] = modes[i];
        if (modes[i] == NULL || strcmp(modes[i], "--merge") != 0)
            argv[n++] = corpus;
        argv[n] = NULL;
        th_result r;
        assert_int_equal(th_run(&r, argv), 2);
        assert_non_null(strstr(r.err, "CURRENT"));
        assert_non_null(strstr(r.err, "directory"));
        th_result_free(&r);
        assert_int_not_equal(access(man2, F_OK), 0); /* nothing written */
    }
    th_cleanup(&h);
}

/* A merge of runs in which no word is frequent enough for word pairs
 * passed qsort a NULL array (undefined; the sanitizer build's
 * trawl-index died with exit 1 and committed nothing). 150 documents of
 * words of their own, in two runs at --memory 1. */
static void test_merge_without_pair_candidates(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "unique.jsonl");
    FILE *f = fopen(corpus, "w");
    assert_non_null(f);
    for (int d = 0; d < 150; d++) {
        fprintf(f, "{\"id\":\"d%d\",\"title\":\"t%d\",\"body\":\"", d, d);
        for (int i = 0; i < 100; i++)
            fprintf(f, "%sq%dz%d", i ? " " : "", d, i);
        fprintf(f, "\"}\n");
    }
    assert_int_equal(fclose(f), 0);
    th_result r;
    const char *argv[] = {"trawl-index", "--index", h.index, "--memory",
                          "1", corpus, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    assert_non_null(strstr(r.out, "indexed 150 documents"));
    assert_non_null(strstr(r.out, "1 merge"));
    th_result_free(&r);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_with_damaged_current),
        cmocka_unit_test(test_current_is_a_directory),
        cmocka_unit_test(test_merge_without_pair_candidates),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("review8", tests, NULL, NULL);
}
