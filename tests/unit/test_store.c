/*
 * The document store and DOCMETA of format 8: per-document DOCMETA
 * offsets (a result's id and title read without walking its block), u16
 * or u32 wide, format 7 segments still read and merged, and the
 * per-thread buffer that keeps a segment's store dictionary between
 * documents (it must never decode against another segment's).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/writer.h"

#define EXTRA_LEN 1400

/* Doc i of variant v (0 or 1: two corpora with different text, so their
 * segments get different dictionaries): id, title, a short body and a
 * stored-only extra field of about EXTRA_LEN bytes of words from a small
 * vocabulary (cheap to index, compressible like news). Doc ids and
 * titles vary in length, so DOCMETA records do too. */
static void make_doc(int v, int i, char *id, char *title, char *body,
                     char *extra)
{
    static const char *const words[2][16] = {
        {"harbor", "council", "ships", "storm", "market", "prices", "rose",
         "minister", "report", "crates", "workers", "strike", "port",
         "officials", "trade", "night"},
        {"orbit", "launch", "rocket", "engineers", "telescope", "signal",
         "moon", "capsule", "booster", "mission", "crew", "landing",
         "satellite", "fuel", "radio", "dawn"}};
    sprintf(id, "%s/%0*d", v ? "space" : "sea", 1 + i % 7, i);
    sprintf(title, "%s %d%s", v ? "Mission log" : "Harbor report", i,
            i % 3 ? "" : " (updated, with a longer title)");
    sprintf(body, "Day %d of the %s.", i, words[v][i % 16]);
    uint32_t x = 2463534242u ^ (uint32_t)(i * 2 + v) * 2654435761u;
    int n = sprintf(extra, "day %d", i);
    while (n < EXTRA_LEN) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n += sprintf(extra + n, " %s", words[v][x % 16]);
    }
}

static void add_doc(trawl_writer *w, int v, int i)
{
    char id[32], title[96], body[128], extra[EXTRA_LEN + 64];
    make_doc(v, i, id, title, body, extra);
    tu_add(w, id, title, body, extra, 1700000000 + (int64_t)i);
}

/* One run of docs [from, to) of variant v, written in format fmt. */
static void build(const char *d, int v, int from, int to,
                  const trawl_writer_opts *o, uint32_t fmt)
{
    trawl_writer *w;
    trawl_err err;
    trawl__segfile_format = fmt;
    assert_int_equal(trawl_writer_open(&w, d, o, &err), 0);
    for (int i = from; i < to; i++)
        add_doc(w, v, i);
    int rc = trawl_writer_commit(w, NULL, &err);
    trawl__segfile_format = TRAWL_FORMAT_VERSION;
    if (rc != 0)
        fail_msg("commit: %s", err.msg);
    trawl_writer_free(w);
}

/* Doc i of variant v reads back whole through trawl_index_get, and its
 * DOCMETA record through trawl__seg_meta at (seg, doc). */
static void expect_doc(const trawl_index *ix, int v, int i, uint32_t seg,
                       uint32_t doc, trawl_arena *ar)
{
    char id[32], title[96], body[128], extra[EXTRA_LEN + 64];
    make_doc(v, i, id, title, body, extra);
    trawl_stored st;
    trawl_err err;
    if (trawl_index_get(ix, id, strlen(id), ar, &st, &err) != 0)
        fail_msg("get %s: %s", id, err.msg);
    assert_string_equal(st.id, id);
    assert_string_equal(st.title, title);
    assert_string_equal(st.body, body);
    assert_non_null(st.extra);
    assert_string_equal(st.extra, extra);
    const char *mid, *mtitle;
    size_t mil, mtl;
    assert_true(seg < ix->nsegs && doc < ix->segs[seg].ndocs);
    assert_int_equal(trawl__seg_meta(&ix->segs[seg], doc, ar, &mid, &mil,
                                     &mtitle, &mtl, &err),
                     0);
    assert_int_equal(mil, strlen(id));
    assert_string_equal(mid, id);
    assert_int_equal(mtl, strlen(title));
    assert_string_equal(mtitle, title);
    const unsigned char *rec;
    size_t rlen;
    assert_int_equal(trawl__seg_meta_raw(&ix->segs[seg], doc, &rec, &rlen,
                                         &err),
                     0);
    /* varint(id + 1) id varint(title + 1) title: both under 127 bytes */
    assert_int_equal(rlen, 2 + strlen(id) + strlen(title));
    assert_int_equal(rec[0], strlen(id) + 1);
    assert_memory_equal(rec + 1, id, strlen(id));
}

static uint64_t dict_len(const trawl_segment *s)
{
    return s->sec[SEC_STORE_DICT].len;
}

/* About 4.4 MiB of stored text (a store dictionary of 64 KiB), blocks
 * of ids and titles under 64 KiB, so u16 per-document DOCMETA offsets;
 * every document reads back, in order and out of order. */
static void format8_round_trip(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "store");
    const int n = 3000;
    build(d, 0, 0, n, NULL, TRAWL_FORMAT_VERSION);
    tu_assert_sound(d);
    trawl_index *ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    const trawl_segment *s = &ix->segs[0];
    assert_int_equal(s->version, TRAWL_FORMAT_VERSION);
    assert_int_equal(dict_len(s), STORE_DICT_MAX);
    uint64_t mnb = ((uint64_t)s->ndocs + META_BLOCK - 1) / META_BLOCK;
    assert_int_equal(s->sec[SEC_DOCMETA_INDEX].len,
                     4 + (mnb + 1) * 8 + (uint64_t)s->ndocs * 2);
    assert_int_equal(s->meta_rel, 2);
    trawl_arena *ar = trawl_arena_new(0);
    for (int i = 0; i < n; i++) {
        expect_doc(ix, 0, i, 0, (uint32_t)i, ar);
        trawl_arena_reset(ar);
    }
    for (int k = 0; k < n; k++) {
        int i = (int)((uint32_t)k * 2654435761u % (uint32_t)n);
        expect_doc(ix, 0, i, 0, (uint32_t)i, ar);
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_index_release(ix);
    tu_rm_rf(d);
}

/* A format 7 segment (64 KiB dictionary at most, no per-document
 * offsets) next to a format 8 one: both read; a merge writes one format 8
 * segment whose documents and store are byte for byte those of a single
 * build. */
static void format7_read_and_merged(void **state)
{
    (void)state;
    char a[64], b[64];
    tu_new_dir(a, "store");
    tu_new_dir(b, "store");
    const int n = 3000, half = 2000;
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    build(a, 0, 0, half, &o, 7);
    build(a, 0, half, n, &o, TRAWL_FORMAT_VERSION);
    tu_assert_sound(a);
    trawl_index *ix = tu_open(a);
    assert_int_equal(ix->nsegs, 2);
    const trawl_segment *s7 = &ix->segs[0];
    assert_int_equal(s7->version, 7);
    assert_true(dict_len(s7) >= STORE_DICT_MIN &&
                dict_len(s7) <= STORE_DICT_MAX);
    assert_int_equal(s7->meta_rel, 0);
    uint64_t mnb = ((uint64_t)s7->ndocs + META_BLOCK - 1) / META_BLOCK;
    assert_int_equal(s7->sec[SEC_DOCMETA_INDEX].len, 4 + (mnb + 1) * 8);
    assert_int_equal(ix->segs[1].version, TRAWL_FORMAT_VERSION);
    trawl_arena *ar = trawl_arena_new(0);
    /* alternating between the segments (and their dictionaries) */
    for (int k = 0; k < n - half; k++) {
        expect_doc(ix, 0, k, 0, (uint32_t)k, ar);
        expect_doc(ix, 0, half + k, 1, (uint32_t)k, ar);
        trawl_arena_reset(ar);
    }
    trawl_index_release(ix);

    o.merge = 1;
    build(a, 0, 0, 0, &o, TRAWL_FORMAT_VERSION);
    tu_assert_sound(a);
    ix = tu_open(a);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    assert_int_equal(ix->segs[0].meta_rel, 2);
    for (int i = 0; i < n; i += 3) {
        expect_doc(ix, 0, i, 0, (uint32_t)i, ar);
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);

    build(b, 0, 0, n, NULL, TRAWL_FORMAT_VERSION);
    trawl_index *one = tu_open(b);
    /* (Their PAIRS may differ: the runs chose their words from 2,000 and
     * 3,000 documents.) */
    const trawl_segment *x = &ix->segs[0], *y = &one->segs[0];
    static const int same[] = {SEC_DOCS, SEC_IDS, SEC_STORE, SEC_STORE_INDEX,
                               SEC_STORE_DICT, SEC_DOCMETA,
                               SEC_DOCMETA_INDEX};
    for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
        assert_int_equal(x->sec[same[k]].len, y->sec[same[k]].len);
        assert_memory_equal(x->sec[same[k]].p, y->sec[same[k]].p,
                            x->sec[same[k]].len);
    }
    trawl_index_release(one);
    trawl_index_release(ix);
    tu_rm_rf(a);
    tu_rm_rf(b);
}

/* Two segments with different dictionaries of the same length, read in
 * turn: each document decodes against its own segment's dictionary (a
 * buffer kept from the other segment would give other text or fail).
 * Then an index released and another opened (whose mapping may reuse the
 * address): still the right text. */
static void dictionary_kept_per_segment(void **state)
{
    (void)state;
    char a[64], b[64];
    tu_new_dir(a, "store");
    tu_new_dir(b, "store");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    build(a, 0, 0, 400, &o, TRAWL_FORMAT_VERSION);
    build(a, 1, 400, 800, &o, TRAWL_FORMAT_VERSION);
    trawl_index *ix = tu_open(a);
    assert_int_equal(ix->nsegs, 2);
    assert_true(dict_len(&ix->segs[0]) > 0);
    assert_int_equal(dict_len(&ix->segs[0]), dict_len(&ix->segs[1]));
    assert_true(memcmp(ix->segs[0].sec[SEC_STORE_DICT].p,
                       ix->segs[1].sec[SEC_STORE_DICT].p,
                       dict_len(&ix->segs[0])) != 0);
    trawl_arena *ar = trawl_arena_new(0);
    for (int k = 0; k < 400; k += 5) {
        expect_doc(ix, 0, k, 0, (uint32_t)k, ar);
        expect_doc(ix, 0, k + 1, 0, (uint32_t)k + 1, ar);
        expect_doc(ix, 1, 400 + k, 1, (uint32_t)k, ar);
        trawl_arena_reset(ar);
    }
    expect_doc(ix, 0, 7, 0, 7, ar);
    trawl_index_release(ix);

    build(b, 1, 0, 400, NULL, TRAWL_FORMAT_VERSION);
    trawl_index *other = tu_open(b);
    for (int k = 0; k < 400; k += 9) {
        expect_doc(other, 1, k, 0, (uint32_t)k, ar);
        trawl_arena_reset(ar);
    }
    trawl_index_release(other);
    trawl_arena_free(ar);
    tu_rm_rf(a);
    tu_rm_rf(b);
}

static void long_title(int i, char *title)
{
    int n = snprintf(title, 4096, "Title %d:", i);
    while (n < 2900 + i)
        n += snprintf(title + n, 4096 - (size_t)n, " word%d", n % 97);
}

/* Titles of about 3 KiB: a DOCMETA block of 32 documents passes 64 KiB,
 * so the segment's per-document offsets are u32; all read back, and a
 * merge of it with a u16 segment writes u32 offsets. */
static void wide_docmeta_offsets(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "store");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    trawl_writer *w;
    trawl_err err;
    char id[32], *title = malloc(4096);
    assert_int_equal(trawl_writer_open(&w, d, &o, &err), 0);
    for (int i = 0; i < 70; i++) {
        snprintf(id, sizeof(id), "long/%d", i);
        long_title(i, title);
        trawl_article a;
        memset(&a, 0, sizeof(a));
        a.id = id;
        a.id_len = strlen(id);
        a.title = title;
        a.title_len = strlen(title);
        a.body = (char *)"a body";
        a.body_len = 6;
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    assert_int_equal(trawl_writer_commit(w, NULL, &err), 0);
    trawl_writer_free(w);
    tu_assert_sound(d);
    trawl_index *ix = tu_open(d);
    assert_int_equal(ix->segs[0].meta_rel, 4);
    trawl_index_release(ix);
    build(d, 0, 0, 100, &o, TRAWL_FORMAT_VERSION);
    o.merge = 1;
    build(d, 0, 0, 0, &o, TRAWL_FORMAT_VERSION);
    tu_assert_sound(d);
    ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].meta_rel, 4);
    trawl_arena *ar = trawl_arena_new(0);
    for (int i = 0; i < 70; i++) {
        snprintf(id, sizeof(id), "long/%d", i);
        const char *mid, *mtitle;
        size_t mil, mtl;
        assert_int_equal(trawl__seg_meta(&ix->segs[0], (uint32_t)i, ar, &mid,
                                         &mil, &mtitle, &mtl, &err),
                         0);
        assert_string_equal(mid, id);
        long_title(i, title);
        assert_int_equal(mtl, strlen(title));
        assert_string_equal(mtitle, title);
        trawl_arena_reset(ar);
    }
    for (int i = 0; i < 100; i += 7) {
        expect_doc(ix, 0, i, 0, 70 + (uint32_t)i, ar);
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_index_release(ix);
    free(title);
    tu_rm_rf(d);
}

typedef struct reader_arg {
    const trawl_index *ix;
    int seg;
    int failed;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *r = p;
    trawl_arena *ar = trawl_arena_new(0);
    char id[32], title[96], body[128], extra[EXTRA_LEN + 64];
    trawl_err err;
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 400; k += 3) {
            int i = r->seg * 400 + k;
            make_doc(r->seg, i, id, title, body, extra);
            trawl_stored st;
            if (trawl_index_get(r->ix, id, strlen(id), ar, &st, &err) != 0 ||
                st.extra == NULL || strcmp(st.extra, extra) != 0)
                r->failed++;
            trawl_arena_reset(ar);
        }
    trawl_arena_free(ar);
    return NULL;
}

/* Threads reading different segments at once each keep their own
 * buffer. */
static void threads_read_their_own(void **state)
{
    (void)state;
    char a[64];
    tu_new_dir(a, "store");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    build(a, 0, 0, 400, &o, TRAWL_FORMAT_VERSION);
    build(a, 1, 400, 800, &o, TRAWL_FORMAT_VERSION);
    trawl_index *ix = tu_open(a);
    pthread_t t[4];
    reader_arg r[4];
    for (int k = 0; k < 4; k++) {
        r[k].ix = ix;
        r[k].seg = k % 2;
        r[k].failed = 0;
        assert_int_equal(pthread_create(&t[k], NULL, reader, &r[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        assert_int_equal(r[k].failed, 0);
    }
    trawl_index_release(ix);
    tu_rm_rf(a);
}

int main(void)
{
    /* These are the zstd store's tests (its dictionary and the buffer
     * that keeps it): the segments keep zstd, not the word code that
     * would otherwise win on this text (test_wordcode covers that). */
    trawl__store_words = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format8_round_trip),
        cmocka_unit_test(format7_read_and_merged),
        cmocka_unit_test(wide_docmeta_offsets),
        cmocka_unit_test(dictionary_kept_per_segment),
        cmocka_unit_test(threads_read_their_own),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
