/*
 * Regressions for what coverage-guided fuzzing (tests/fuzz, session 10)
 * found, each on a small index damaged the way the fuzzer did it, with
 * its checksums made right again so that only the readers can notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "format.h"
#include "internal.h"
#include "query.h"
#include "snippet.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

/* A one-article index in a new directory dir (64 bytes). */
static void tiny_index(char *dir, const char *body)
{
    trawl_writer *w;
    trawl_err err;
    trawl_writer_opts o;

    tu_new_dir(dir, "fuzz10");
    memset(&o, 0, sizeof(o));
    o.threads = 1;
    assert_int_equal(trawl_writer_open(&w, dir, &o, &err), 0);
    tu_add(w, "doc-1", "", body, NULL, 1700000000);
    assert_int_equal(trawl_writer_commit(w, NULL, &err), 0);
    trawl_writer_free(w);
}

/* Where section id starts in the segment image p (n bytes), and its
 * length. */
static unsigned char *section(unsigned char *p, size_t n, uint32_t id,
                              size_t *len)
{
    uint64_t toc = trawl__get_u64(p + n - SEG_FOOTER);
    uint32_t nsec = trawl__get_u32(p + toc);
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = p + toc + 4 + (size_t)i * 32;
        if (trawl__get_u32(e) == id) {
            *len = (size_t)trawl__get_u64(e + 16);
            return p + trawl__get_u64(e + 8);
        }
    }
    fail_msg("no section %u", id);
    return NULL;
}

/*
 * A dictionary entry whose postings length is 0 (its df 1) was taken:
 * the compact list decoder returns 0 for damage, which then equalled
 * the length it was compared with, so the search read the cursor's
 * documents uninitialized (ASan: SEGV in trawl__seg_field_len from
 * cur_compact). Every list has at least one posting, so at least one
 * byte: an empty one is now a damaged entry (TRAWL_ECORRUPT).
 */
static void empty_postings_list_is_corrupt(void **state)
{
    (void)state;
    char dir[64];
    tiny_index(dir, "storm");
    char *path = tu_seg_path(dir);
    size_t n, tlen;
    unsigned char *img = tu_slurp(path, &n);
    unsigned char *t = section(img, n, SEC_TERMS, &tlen);
    /* shared 0, suffix 5, "storm", df 1, postings offset 0, positions
     * offset 0, postings length (one byte) */
    static const unsigned char entry[] = {0, 5, 's', 't', 'o', 'r', 'm',
                                          1, 0, 0};
    assert_true(tlen > sizeof(entry));
    assert_memory_equal(t, entry, sizeof(entry));
    assert_true(t[sizeof(entry)] > 0 && t[sizeof(entry)] < 0x80);
    t[sizeof(entry)] = 0;
    tu_reseal(img, n);
    tu_spit(path, img, n);

    trawl_index *ix = NULL;
    trawl_err err;
    int rc = trawl_index_open(&ix, dir, &err);
    if (rc == 0) {
        trawl_searcher *s;
        trawl_arena *a = trawl_arena_new(1 << 12);
        assert_int_equal(trawl_searcher_new(&s, &err), 0);
        trawl_query q;
        trawl_results res;
        trawl_query_init(&q);
        q.q = "storm";
        q.qlen = 5;
        rc = trawl_search(s, ix, &q, a, &res, &err);
        assert_int_equal(rc, TRAWL_ECORRUPT);
        uint64_t count = 0;
        assert_int_equal(trawl_count(s, ix, "storm", 5, a, &count, &err),
                         TRAWL_ECORRUPT);
        trawl_searcher_free(s);
        trawl_arena_free(a);
        trawl_index_release(ix);
    } else {
        assert_int_equal(rc, TRAWL_ECORRUPT);
    }
    char *report = NULL;
    assert_int_equal(trawl_index_check(dir, &report, &err), TRAWL_ECORRUPT);
    free(report);
    free(img);
    free(path);
    tu_rm_rf(dir);
}

/*
 * trawl_index_check on a store block that does not decompress computed
 * the end of its records from zstd's error code (a size_t near 2^64):
 * pointer arithmetic past the object (UBSan: "addition of unsigned
 * offset overflowed"). It now reports the block and reads no records
 * from it. Built with clang and -DTRAWL_SANITIZE="address;undefined"
 * (as the fuzz build is), this test fails without the fix; gcc's UBSan
 * does not flag the addition, and without a sanitizer it is harmless in
 * practice (no record is read).
 */
static void check_of_undecodable_store_block(void **state)
{
    (void)state;
    char dir[64];
    char body[1024] = "";
    for (int i = 0; i < 40; i++)
        strcat(body, i % 3 ? "harbor storm closed the port " : "tuesday ");
    tiny_index(dir, body);
    char *path = tu_seg_path(dir);
    size_t n, slen;
    unsigned char *img = tu_slurp(path, &n);
    unsigned char *st = section(img, n, SEC_STORE, &slen);
    /* One frame with a compressed block: its literals made "treeless"
     * (reuse the previous block's Huffman table, which the first block
     * has not got), so the frame keeps its size and header and does not
     * decompress. */
    assert_true(slen > 16 && trawl__get_u32(st) == ZSTD_MAGICNUMBER);
    unsigned fhd = st[4], single = (fhd >> 5) & 1;
    static const size_t did[] = {0, 1, 2, 4}, fcs[] = {0, 2, 4, 8};
    size_t fh = 5 + (single ? 0 : 1) + did[fhd & 3] +
                ((fhd >> 6) == 0 ? single : fcs[fhd >> 6]);
    assert_true(fh + 4 < slen);
    assert_int_equal((st[fh] >> 1) & 3, 2); /* Compressed_Block */
    st[fh + 3] |= 3;
    tu_reseal(img, n);
    tu_spit(path, img, n);

    char *report = NULL;
    trawl_err err;
    assert_int_equal(trawl_index_check(dir, &report, &err), TRAWL_ECORRUPT);
    assert_non_null(report);
    assert_non_null(strstr(report, "does not decompress"));
    free(report);
    free(img);
    free(path);
    tu_rm_rf(dir);
}

/*
 * A snippet of a body whose first target bytes hold no word (a rule of
 * symbols, a run of punctuation) was cut at target bytes, even inside a
 * character: invalid UTF-8 in the snippet (the daemon then sent U+FFFD).
 * The cut now falls between characters.
 */
static void snippet_without_words_cuts_between_characters(void **state)
{
    (void)state;
    trawl_analyzer *an;
    trawl_err err;
    trawl_arena *a = trawl_arena_new(1 << 12);
    qnode *q;
    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    assert_int_equal(trawl__query_parse(&q, an, "storm", 5, a, &err), 0);

    /* 19 stars (57 bytes), an em dash (bytes 57..59), then words */
    char text[256] = "";
    for (int i = 0; i < 19; i++)
        strcat(text, "\xe2\x98\x85");
    strcat(text, "\xe2\x80\x94 harbor news");
    for (size_t target = 55; target <= 62; target++) {
        const char *snip;
        size_t n, nr;
        trawl_range *r;
        assert_int_equal(trawl__snippet(an, q, text, strlen(text), target,
                                        a, &snip, &n, &r, &nr),
                         0);
        if (!trawl_utf8_valid(snip, n))
            fail_msg("target %zu: snippet of %zu bytes is not UTF-8",
                     target, n);
        assert_true(n <= target);
    }
    /* what the fuzzer found: NULs, an ideographic space, a word */
    unsigned char nul[64];
    memset(nul, 0, sizeof(nul));
    memcpy(nul + 58, "\xe3\x80\x80\0Q*", 6);
    const char *snip;
    size_t n, nr;
    trawl_range *r;
    assert_int_equal(trawl__snippet(an, q, (const char *)nul, sizeof(nul),
                                    60, a, &snip, &n, &r, &nr),
                     0);
    assert_true(trawl_utf8_valid(snip, n));
    trawl_arena_free(a);
    trawl_analyzer_free(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_postings_list_is_corrupt),
        cmocka_unit_test(check_of_undecodable_store_block),
        cmocka_unit_test(snippet_without_words_cuts_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
