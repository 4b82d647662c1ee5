/*
 * Hostile input for the core's parsers, found by fuzzing: regressions for
 * what the fuzzer found, and a short in-process fuzz of the query parser
 * (every input parses or fails with TRAWL_EQUERY and a column, and what
 * parses renders).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"

static int parse(trawl_analyzer *an, trawl_arena *a, const char *q,
                 qnode **root, trawl_err *err)
{
    trawl_arena_reset(a);
    trawl_err_clear(err);
    return trawl__query_parse(root, an, q, strlen(q), a, err);
}

/* The query as explain renders it, into out. */
static void render(const qnode *root, char *out, size_t cap)
{
    trawl_buf b = TRAWL_BUF_INIT;

    trawl__query_render(root, &b);
    assert_int_equal(b.rc, 0);
    snprintf(out, cap, "%.*s", (int)b.len, (const char *)b.ptr);
    trawl_buf_free(&b);
}

/*
 * 29 February exists only in leap years. Before, "date:2023-02-29" was
 * taken for 2023-03-01 (the day check compared a date with itself).
 */
static void feb_29_only_in_leap_years(void **state)
{
    (void)state;
    trawl_analyzer *an;
    trawl_arena *a = trawl_arena_new(1 << 12);
    trawl_err err;
    qnode *root;
    char s[128];

    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    static const char *bad[] = {
        "date:2023-02-29",  "date:1900-02-29", "after:2023-02-29",
        "before:2100-02-29", "date:2023-02-29..2024", "date:2024-02-30",
        "date:2024-04-31",  "date:2024-13",    "date:2024-00-10",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(an, a, bad[i], &root, &err), TRAWL_EQUERY);
        assert_non_null(strstr(err.msg, "column 1: bad date"));
    }
    static const struct {
        const char *q, *rendered;
    } good[] = {
        {"date:2024-02-29", "date:2024-02-29..2024-02-29"},
        {"date:2000-02-29", "date:2000-02-29..2000-02-29"},
        {"date:2023-02", "date:2023-02-01..2023-02-28"},
        {"date:2024-02", "date:2024-02-01..2024-02-29"},
        {"after:2023-02-28", "date:2023-02-28.."},
        {"date:2023-12-31", "date:2023-12-31..2023-12-31"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(parse(an, a, good[i].q, &root, &err), 0);
        render(root, s, sizeof(s));
        assert_string_equal(s, good[i].rendered);
    }
    trawl_analyzer_free(an);
    trawl_arena_free(a);
}

/* ---- random queries ---------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const pieces[] = {
    "north", "korea", "talks", "the", "U.S.", "caf\xc3\xa9", "\xe6\x9d\xb1\xe4\xba\xac",
    "e\xcc\x81", "\xe2\x80\x8b", "\xe2\x80\xae", "\xf0\x9f\x98\x80", "OR", "AND",
    "NOT", "-", "(", ")", "\"", "~", "~3", "~1001", "*", "ab*", "title:",
    "body:", "date:", "after:", "before:", "colour:", "re:", "2024", "2024-02",
    "2023-02-29", "..", "0000", "9999-12-31", ":", "\t", " ", " ", " ",
};

static void random_queries_parse_or_fail_cleanly(void **state)
{
    (void)state;
    trawl_analyzer *an;
    trawl_arena *a = trawl_arena_new(1 << 12);
    trawl_err err;
    qnode *root;
    char q[512];
    int ok = 0, bad = 0;

    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        int k = (int)rnd(24);
        for (int i = 0; i < k; i++) {
            const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
            size_t l = strlen(p);
            if (n + l + 1 >= sizeof(q))
                break;
            memcpy(q + n, p, l);
            n += l;
            if (rnd(3) == 0)
                q[n++] = ' ';
        }
        if (rnd(10) == 0 && n > 0) /* a random byte, maybe breaking UTF-8 */
            q[rnd((uint32_t)n)] = (char)rnd(256);
        q[n] = '\0';
        trawl_arena_reset(a);
        trawl_err_clear(&err);
        int rc = trawl__query_parse(&root, an, q, n, a, &err);
        if (rc == 0) {
            char s[4096];
            assert_non_null(root);
            render(root, s, sizeof(s));
            ok++;
        } else {
            assert_int_equal(rc, TRAWL_EQUERY);
            assert_true(strncmp(err.msg, "column ", 7) == 0 ||
                        strstr(err.msg, "empty query") != NULL ||
                        strstr(err.msg, "UTF-8") != NULL);
            bad++;
        }
    }
    assert_true(ok > 100 && bad > 100);
    trawl_analyzer_free(an);
    trawl_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feb_29_only_in_leap_years),
        cmocka_unit_test(random_queries_parse_or_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
