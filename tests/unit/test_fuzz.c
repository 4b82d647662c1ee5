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

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h"
#include "query.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

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
    return tu_xorshift(&rng, n);
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

/* ---- manifests --------------------------------------------------------- */

static void add_doc(trawl_writer *w, int i)
{
    char id[32], body[96];

    snprintf(id, sizeof(id), "doc-%02d", i);
    snprintf(body, sizeof(body), "harbor report number %d of the day", i);
    tu_add(w, id, "", body, NULL, TRAWL_NO_DATE);
}

/* Index docs [0, n) except skip (-1: none) into d, as one generation. */
static void build(const char *d, int n, int skip)
{
    trawl_writer *w;
    trawl_err err;

    assert_int_equal(trawl_writer_open(&w, d, NULL, &err), 0);
    for (int i = 0; i < n; i++)
        if (i != skip)
            add_doc(w, i);
    assert_int_equal(trawl_writer_commit(w, NULL, &err), 0);
    trawl_writer_free(w);
}

/*
 * A manifest whose deletion count disagrees with its bitmap (resealed, so
 * the checksum passes) is refused at open. Before, open took the count,
 * the daemon served a document total that no query could reach, and an
 * incremental run carried the inconsistency into every later generation;
 * only trawl-index --check noticed.
 */
static void manifest_deletions_must_match_bitmap(void **state)
{
    (void)state;
    char d[64], man[128];
    trawl_index *ix;
    trawl_index_info info;
    trawl_err err;
    size_t n;

    tu_new_dir(d, "fuzz");
    build(d, 20, -1);
    build(d, 20, 5); /* doc-05 deleted: one bit in a 3-byte bitmap */
    assert_int_equal(trawl_index_open(&ix, d, &err), 0);
    trawl_index_info_get(ix, &info);
    assert_int_equal(info.docs, 19);
    assert_int_equal(info.deleted, 1);
    snprintf(man, sizeof(man), "%s/gen-%06llu.man", d,
             (unsigned long long)info.generation);
    trawl_index_release(ix);

    unsigned char *orig = tu_slurp(man, &n);
    /* the bitmap is the manifest's last 3 bytes before the hash; doc-05
     * is bit 5 of its first byte */
    assert_true(n > 11);
    unsigned char *bm = orig + n - 8 - 3;
    assert_int_equal(bm[0], 1u << 5);
    static const unsigned char bad[][3] = {
        {0x21, 0, 0}, /* two bits, count 1 */
        {0, 0, 0},    /* none, count 1 */
        {0x20, 0, 0x10}, /* a bit beyond doc 19 */
    };
    unsigned char *img = malloc(n);
    assert_non_null(img);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        memcpy(img, orig, n);
        memcpy(img + n - 8 - 3, bad[k], 3);
        trawl__put_u64(img + n - 8, trawl__hash64(img, n - 8));
        tu_spit(man, img, n);
        trawl_err_clear(&err);
        assert_int_equal(trawl_index_open(&ix, d, &err), TRAWL_ECORRUPT);
        assert_non_null(strstr(err.msg, "deletion"));
    }
    tu_spit(man, orig, n);
    assert_int_equal(trawl_index_open(&ix, d, &err), 0);
    trawl_index_release(ix);
    free(img);
    free(orig);
    tu_rm_rf(d);
}

/*
 * Segments are verified at open and then read through their mapping. A
 * file overwritten in place afterwards (segments are immutable, but a
 * person or a broken disk can still do it) must give errors, not reads
 * out of bounds: the offsets of the store and of the term and metadata
 * indexes are checked again where they are read. Before, a damaged
 * STORE_INDEX made `get` decompress from an address past the mapping
 * (a crash of the daemon).
 */
static void index_damaged_after_open(void **state)
{
    (void)state;
    char d[64];
    trawl_index *ix;
    trawl_err err;
    trawl_stored doc;
    trawl_arena *a = trawl_arena_new(1 << 12);

    tu_new_dir(d, "fuzz");
    build(d, 40, -1);
    char *seg = tu_seg_path(d);
    assert_int_equal(trawl_index_open(&ix, d, &err), 0);
    assert_int_equal(trawl_index_get(ix, "doc-07", 6, a, &doc, &err), 0);

    /* the segment's TOC: where the three index sections are */
    size_t n;
    unsigned char *img = tu_slurp(seg, &n);
    uint64_t toc = trawl__get_u64(img + n - SEG_FOOTER);
    uint32_t nsec = trawl__get_u32(img + toc);
    int fd = open(seg, O_WRONLY);
    assert_true(fd >= 0);
    /* offsets far past the sections, increasing (so that a block seems
     * to have bytes) */
    unsigned char junk[64];
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *t = img + toc + 4 + (size_t)i * 32;
        uint32_t id = trawl__get_u32(t);
        uint64_t off = trawl__get_u64(t + 8), len = trawl__get_u64(t + 16);
        if (id != SEC_STORE_INDEX && id != SEC_DOCMETA_INDEX &&
            id != SEC_TERMS_INDEX)
            continue;
        size_t skip = id == SEC_TERMS_INDEX ? 12 : 4;
        size_t k = len - skip < sizeof(junk) ? len - skip : sizeof(junk);
        for (size_t j = 0; j < sizeof(junk) / 8; j++) {
            if (id == SEC_TERMS_INDEX) {
                trawl__put_u32(junk + j * 8, 0x40000000u + (uint32_t)j);
                trawl__put_u32(junk + j * 8 + 4, 0x40000100u + (uint32_t)j);
            } else {
                trawl__put_u64(junk + j * 8, (1ull << 30) + j * 4096);
            }
        }
        assert_int_equal(pwrite(fd, junk, k, (off_t)(off + skip)),
                         (ssize_t)k);
    }
    close(fd);
    /* no crash; errors or not-found, whatever the damage reads as */
    int rc = trawl_index_get(ix, "doc-07", 6, a, &doc, &err);
    assert_true(rc == TRAWL_ECORRUPT || rc == TRAWL_ENOTFOUND);
    trawl_searcher *sr;
    assert_int_equal(trawl_searcher_new(&sr, &err), 0);
    static const char *const qs[] = {"harbor", "report", "harb*", "zzz",
                                     "\"harbor report\""};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        trawl_query q;
        trawl_results res;
        trawl_query_init(&q);
        q.q = qs[i];
        q.qlen = strlen(qs[i]);
        trawl_arena_reset(a);
        rc = trawl_search(sr, ix, &q, a, &res, &err);
        assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
    }
    trawl_searcher_free(sr);
    trawl_index_release(ix);
    free(img);
    free(seg);
    trawl_arena_free(a);
    tu_rm_rf(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feb_29_only_in_leap_years),
        cmocka_unit_test(random_queries_parse_or_fail_cleanly),
        cmocka_unit_test(manifest_deletions_must_match_bitmap),
        cmocka_unit_test(index_damaged_after_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
