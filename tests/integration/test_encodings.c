/*
 * Text files in legacy encodings: Korean in EUC-KR, Russian in
 * Windows-1251 and KOI8-R, Japanese in Shift_JIS, Chinese in GBK are
 * recognised, converted and found by UTF-8 queries; Latin-1 and
 * Windows-1252 text (short Spanish and Italian lines too, which a
 * detector takes for other Latin encodings) keeps the Windows-1252
 * reading; a rerun of unchanged files changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static void put(const th *h, const char *name, const char *bytes)
{
    char path[256];
    char rel[64];
    snprintf(rel, sizeof(rel), "docs/%s", name);
    th_path(path, sizeof(path), h, rel);
    assert_int_equal(th_write_file(path, bytes, strlen(bytes)), 0);
}

/* The ids (space-separated, sorted by the client's rank) for q. */
static char *ids(th *h, const char *q)
{
    th_result r;
    const char *args[] = {"-l", "-n", "20", q, NULL};
    int st = th_client(h, &r, args);
    assert_true(st == 0 || st == 1);
    char *out = strdup(r.out);
    th_result_free(&r);
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
    return out;
}

static void assert_ids(th *h, const char *q, const char *want)
{
    char *got = ids(h, q);
    if (strcmp(got, want) != 0)
        fail_msg("query [%s]: [%s], wanted [%s]", q, got, want);
    free(got);
}

static void test_legacy_encodings(void **state)
{
    (void)state;
    th h;
    char dir[256];
    th_result r;

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "docs");
    th_path(dir, sizeof(dir), &h, "docs");
    /* 서울에서 회의가 열렸습니다. 서울시는 새로운 계획을 발표했다. (EUC-KR) */
    put(&h, "ko.txt",
        "\xbc\xad\xbf\xef\xbf\xa1\xbc\xad \xc8\xb8\xc0\xc7\xb0\xa1 \xbf\xad"
        "\xb7\xc8\xbd\xc0\xb4\xcf\xb4\xd9. \xbc\xad\xbf\xef\xbd\xc3\xb4\xc2 "
        "\xbb\xf5\xb7\xce\xbf\xee \xb0\xe8\xc8\xb9\xc0\xbb \xb9\xdf\xc7\xa5"
        "\xc7\xdf\xb4\xd9.\n");
    /* Правительство России объявило новую экономическую политику.
     * (Windows-1251) */
    put(&h, "ru.txt",
        "\xcf\xf0\xe0\xe2\xe8\xf2\xe5\xeb\xfc\xf1\xf2\xe2\xee \xd0\xee\xf1"
        "\xf1\xe8\xe8 \xee\xe1\xfa\xff\xe2\xe8\xeb\xee \xed\xee\xe2\xf3\xfe "
        "\xfd\xea\xee\xed\xee\xec\xe8\xf7\xe5\xf1\xea\xf3\xfe \xef\xee\xeb"
        "\xe8\xf2\xe8\xea\xf3.\n");
    /* the same in KOI8-R */
    put(&h, "ru-koi.txt",
        "\xf0\xd2\xc1\xd7\xc9\xd4\xc5\xcc\xd8\xd3\xd4\xd7\xcf \xf2\xcf\xd3"
        "\xd3\xc9\xc9 \xcf\xc2\xdf\xd1\xd7\xc9\xcc\xcf \xce\xcf\xd7\xd5\xc0 "
        "\xdc\xcb\xcf\xce\xcf\xcd\xc9\xde\xc5\xd3\xcb\xd5\xc0 \xd0\xcf\xcc"
        "\xc9\xd4\xc9\xcb\xd5.\n");
    /* 東京都は今日、新しい計画を発表しました。 (Shift_JIS) */
    put(&h, "ja.txt",
        "\x93\x8c\x8b\x9e\x93\x73\x82\xcd\x8d\xa1\x93\xfa\x81\x41\x90\x56"
        "\x82\xb5\x82\xa2\x8c\x76\x89\xe6\x82\xf0\x94\xad\x95\x5c\x82\xb5"
        "\x82\xdc\x82\xb5\x82\xbd\x81\x42\n");
    /* 中华人民共和国国务院今天在北京召开会议。 (GBK) */
    put(&h, "zh.txt",
        "\xd6\xd0\xbb\xaa\xc8\xcb\xc3\xf1\xb9\xb2\xba\xcd\xb9\xfa\xb9\xfa"
        "\xce\xf1\xd4\xba\xbd\xf1\xcc\xec\xd4\xda\xb1\xb1\xbe\xa9\xd5\xd9"
        "\xbf\xaa\xbb\xe1\xd2\xe9\xa1\xa3\n");
    /* Latin-1 */
    put(&h, "es.txt", "El ni\xf1o comi\xf3 pi\xf1\x61 en Espa\xf1\x61.\n");
    put(&h, "it.txt", "Il ministro \xe8 arrivato. Per\xf2\n");
    put(&h, "fr.txt", "La r\xe9union a \xe9t\xe9 report\xe9\x65. Les "
                      "\xe9l\xe8ves \xe9taient d\xe9\xe7us.\n");
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "ko.txt: not UTF-8: read as EUC-KR"));
    assert_non_null(strstr(r.err, "ru.txt: not UTF-8: read as Windows-1251"));
    assert_non_null(strstr(r.err, "ru-koi.txt: not UTF-8: read as KOI8-R"));
    assert_non_null(strstr(r.err, "ja.txt: not UTF-8: read as Shift_JIS"));
    assert_non_null(strstr(r.err, "zh.txt: not UTF-8: read as GB18030"));
    assert_non_null(strstr(r.err, "es.txt:1: not UTF-8: 4 bytes read as "
                                  "Windows-1252"));
    assert_non_null(strstr(r.err, "it.txt:1: not UTF-8: 2 bytes read as "
                                  "Windows-1252"));
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_ids(&h, "회의", "ko.txt");
    assert_ids(&h, "россии", "ru-koi.txt ru.txt");
    assert_ids(&h, "\"новую экономическую\"", "ru-koi.txt ru.txt");
    assert_ids(&h, "計画", "ja.txt");
    assert_ids(&h, "北京", "zh.txt");
    assert_ids(&h, "niño", "es.txt");
    assert_ids(&h, "però", "it.txt");
    assert_ids(&h, "réunion", "fr.txt");
    assert_int_equal(th_daemon_stop(&h), 0);

    /* Unchanged files are kept without being read again. */
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
