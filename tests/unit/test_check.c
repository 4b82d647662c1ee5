/*
 * trawl_index_check() beyond checksums: damage is written into a segment
 * and the section and TOC checksums are recomputed ("resealed"), so open
 * accepts the file and only the structural checks can notice. Also: any
 * resealed single-byte change in any section is reported or harmless,
 * never a crash (this runs under ASan in CI). The corpus has enough text
 * for a store dictionary (STORE_DICT), which a merge retrains.
 */
#include <dirent.h>
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

#include "format.h"
#include "internal.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/writer.h"

static char dir[64];
static char *seg_path;
static unsigned char *orig;
static size_t orig_len;

/* Where section id lies in the segment image p. */
static void section(const unsigned char *p, size_t n, uint32_t id,
                    uint64_t *off, uint64_t *len)
{
    uint64_t toc = trawl__get_u64(p + n - SEG_FOOTER);
    uint32_t nsec = trawl__get_u32(p + toc);
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = p + toc + 4 + (size_t)i * 32;
        if (trawl__get_u32(e) == id) {
            *off = trawl__get_u64(e + 8);
            *len = trawl__get_u64(e + 16);
            return;
        }
    }
    fail_msg("no section %u", id);
}

/* Doc i's body, a short sentence (short fields keep most damage to
 * positions detectable), and its stored-only extra field: about 400
 * bytes of words drawn from a small vocabulary (news-like repetition, so
 * a store dictionary pays off). */
static void make_body(int i, char *body, size_t cap)
{
    snprintf(body, cap,
             "The harbor was busy on day %d. Ships %s came in while "
             "the harbor master counted %d crates of %s.",
             i, i % 3 ? "slowly" : "quickly", i * 7,
             i % 2 ? "apples" : "pears");
}

static void make_extra(int i, char *extra, size_t cap)
{
    static const char *const words[] = {
        "the",     "harbor",  "council", "said",    "ships",   "storm",
        "of",      "and",     "market",  "prices",  "rose",    "fell",
        "minister", "report", "week",    "crates",  "workers", "strike",
        "in",      "port",    "city",    "officials", "on",    "a",
        "new",     "plan",    "for",     "trade",   "after",   "night"};
    uint32_t x = 2463534242u ^ (uint32_t)i * 2654435761u;
    int n = snprintf(extra, cap, "{\"notes\":\"day %d", i);
    while (n > 0 && (size_t)n < cap - 16 && n < 420) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n += snprintf(extra + n, cap - (size_t)n, " %s",
                      words[x % (sizeof(words) / sizeof(words[0]))]);
    }
    snprintf(extra + n, cap - (size_t)n, "\"}");
}

static int build(const char *d, int from, int to, const trawl_writer_opts *o)
{
    trawl_writer *w;
    trawl_err err;
    char body[512], extra[1024];
    if (trawl_writer_open(&w, d, o, &err) != 0)
        return -1;
    for (int i = from; i < to; i++) {
        char id[32], title[64];
        snprintf(id, sizeof(id), "doc-%03d", i);
        snprintf(title, sizeof(title), "Harbor report %d", i);
        make_body(i, body, sizeof(body));
        make_extra(i, extra, sizeof(extra));
        tu_add(w, id, title, body, extra, 1700000000);
    }
    if (trawl_writer_commit(w, NULL, &err) != 0)
        return -1;
    trawl_writer_free(w);
    return 0;
}

static int setup(void **state)
{
    (void)state;

    tu_new_dir(dir, "check");
    /* The zstd store (its dictionary's checks below); test_wordcode
     * checks word-coded segments. */
    trawl__store_words = 1;
    /* Enough docs that a common term has more than one block, and enough
     * stored text (about 150 KiB) for a store dictionary. */
    if (build(dir, 0, 300, NULL) != 0)
        return -1;
    seg_path = tu_seg_path(dir);
    orig = tu_slurp(seg_path, &orig_len);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(seg_path);
    free(orig);
    return 0;
}

/* Install image p, run the check; its return, report in *rep. */
static int check_image(const unsigned char *p, size_t n, char **rep)
{
    trawl_err err;
    tu_spit(seg_path, p, n);
    int rc = trawl_index_check(dir, rep, &err);
    tu_spit(seg_path, orig, orig_len);
    return rc;
}

static void intact_is_clean(void **state)
{
    (void)state;
    tu_assert_sound(dir);
}

static void expect(unsigned char *img, const char *what, const char *a,
                   const char *b)
{
    char *rep = NULL;
    tu_reseal(img, orig_len);
    int rc = check_image(img, orig_len, &rep);
    if (rc != TRAWL_ECORRUPT || rep == NULL || strstr(rep, a) == NULL ||
        (b != NULL && strstr(rep, b) == NULL))
        fail_msg("%s: rc %d, report:\n%s", what, rc, rep ? rep : "(none)");
    free(rep);
}

static void field_length_mismatch(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_DOCS, &off, &len);
    /* doc 0's body length + 1 */
    trawl__put_u32(img + off + 4 * TRAWL_FIELD_BODY,
                   trawl__get_u32(img + off + 4 * TRAWL_FIELD_BODY) + 1);
    expect(img, "field length", "DOCS", "META");
    free(img);
}

static void id_key_mismatch(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_IDS, &off, &len);
    img[off] ^= 1; /* lowest byte of the first key: order may hold */
    expect(img, "id key", "IDS", NULL);
    free(img);
}

static void header_reserved(void **state)
{
    (void)state;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    img[13] = 7;
    expect(img, "header", "header", NULL);
    free(img);
}

static void store_slot(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_DOCS, &off, &len);
    /* doc 1 points at doc 0's slot */
    unsigned char *r0 = img + off, *r1 = img + off + DOC_RECORD;
    memcpy(r1 + 4 * TRAWL_NFIELDS + 16, r0 + 4 * TRAWL_NFIELDS + 16, 8);
    expect(img, "store slot", "share store block", NULL);
    free(img);
}

static void store_has_dictionary(void **state)
{
    (void)state;
    uint64_t off, len;
    section(orig, orig_len, SEC_STORE_DICT, &off, &len);
    assert_true(len >= STORE_DICT_MIN && len <= STORE_DICT_MAX);
    assert_true(trawl__get_u32(orig + off) != STORE_ZDICT_MAGIC);
}

static void store_dict_magic(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_STORE_DICT, &off, &len);
    /* a zstd dictionary header where raw content belongs */
    trawl__put_u32(img + off, STORE_ZDICT_MAGIC);
    expect(img, "dictionary magic", "STORE_DICT", NULL);
    free(img);
}

/* A dictionary byte changed (resealed): the frames that copy from it
 * decode to other text or fail; the check reports the store. */
static void store_dict_changed(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_STORE_DICT, &off, &len);
    for (uint64_t k = 0; k < len; k++)
        img[off + k] = (unsigned char)(0x80 | (k * 37)); /* not UTF-8 */
    expect(img, "dictionary", "STORE", NULL);
    free(img);
}

/* Format 8 keeps each document's DOCMETA offset within its block: one
 * that breaks the order (doc 1 at doc 0's record) is refused at open. */
static void docmeta_offset_order(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_DOCMETA_INDEX, &off, &len);
    uint32_t nb = trawl__get_u32(img + off);
    unsigned char *rel = img + off + 4 + ((size_t)nb + 1) * 8;
    /* u16 offsets: the blocks are small */
    assert_int_equal(len, 4 + ((uint64_t)nb + 1) * 8 + 300 * 2);
    assert_int_equal(trawl__get_u16(rel), 0);
    assert_true(trawl__get_u16(rel + 2) > 0);
    rel[2] = rel[3] = 0;
    expect(img, "docmeta offset order", "DOCMETA_INDEX", NULL);
    free(img);
}

/* An offset still in order and inside its block, but not at its
 * record: open accepts it, the check reports it, and reading the
 * document's id and title gives an error or some text, never a crash. */
static void docmeta_offset_misplaced(void **state)
{
    (void)state;
    uint64_t off, len;
    unsigned char *img = malloc(orig_len);
    memcpy(img, orig, orig_len);
    section(img, orig_len, SEC_DOCMETA_INDEX, &off, &len);
    uint32_t nb = trawl__get_u32(img + off);
    unsigned char *rel = img + off + 4 + ((size_t)nb + 1) * 8;
    rel[2 * 5]++; /* doc 5's record starts at an even offset */
    assert_true(rel[2 * 5] % 2 == 1);
    expect(img, "docmeta offset", "DOCMETA_INDEX", NULL);

    tu_reseal(img, orig_len);
    tu_spit(seg_path, img, orig_len);
    trawl_index *ix;
    trawl_err err;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    trawl_arena *ar = trawl_arena_new(0);
    trawl_stored st;
    int rc = trawl_index_get(ix, "doc-005", 7, ar, &st, &err);
    assert_true(rc == 0 || rc == TRAWL_ECORRUPT || rc == TRAWL_ENOTFOUND);
    rc = trawl_index_get(ix, "doc-006", 7, ar, &st, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(st.id, "doc-006");
    trawl_arena_free(ar);
    trawl_index_release(ix);
    tu_spit(seg_path, orig, orig_len);
    free(img);
}

/* Two add-only builds merged: every stored body reads back, the merged
 * segment has its own dictionary, and it is byte-identical to one build
 * of the same documents. */
static void merge_retrains_dictionary(void **state)
{
    (void)state;
    char a[64], b[64];
    tu_new_dir(a, "check");
    tu_new_dir(b, "check");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    assert_int_equal(build(a, 0, 300, &o), 0);
    assert_int_equal(build(a, 300, 600, &o), 0);
    o.merge = 1;
    assert_int_equal(build(a, 600, 600, &o), 0);
    assert_int_equal(build(b, 0, 600, NULL), 0);

    tu_assert_sound(a);
    trawl_err err;
    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, a, &err), 0);
    trawl_index_info info;
    trawl_index_info_get(ix, &info);
    assert_int_equal(info.segments, 1);
    trawl_arena *ar = trawl_arena_new(0);
    assert_non_null(ar);
    char body[512], extra[1024];
    for (int i = 0; i < 600; i += 7) {
        char id[32];
        trawl_stored st;
        snprintf(id, sizeof(id), "doc-%03d", i);
        assert_int_equal(trawl_index_get(ix, id, strlen(id), ar, &st, &err),
                         0);
        make_body(i, body, sizeof(body));
        make_extra(i, extra, sizeof(extra));
        assert_string_equal(st.body, body);
        assert_non_null(st.extra);
        assert_string_equal(st.extra, extra);
    }
    trawl_arena_free(ar);
    trawl_index_release(ix);

    /* The one segment of each index, byte for byte. */
    const char *dirs[2] = {a, b};
    unsigned char *img[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        char *p = tu_seg_path(dirs[k]);
        img[k] = tu_slurp(p, &n[k]);
        free(p);
    }
    uint64_t off, len;
    section(img[0], n[0], SEC_STORE_DICT, &off, &len);
    assert_true(len > 0);
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(img[0], img[1], n[0]);
    free(img[0]);
    free(img[1]);
    tu_rm_rf(a);
    tu_rm_rf(b);
}

/* Every resealed byte change in every section: a report or nothing,
 * never a crash; in the posting data most are noticed. */
static void resealed_flips_never_crash(void **state)
{
    (void)state;
    unsigned char *img = malloc(orig_len);
    uint64_t seed = 88172645463325252ull;
    for (uint32_t id = 1; id < SEC_MAX; id++) {
        uint64_t off, len;
        if (id == SEC_STORE_CODE)
            continue; /* zstd segments have none (test_wordcode) */
        section(orig, orig_len, id, &off, &len);
        if (len == 0)
            continue;
        int tries = 40, found = 0;
        for (int t = 0; t < tries; t++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            memcpy(img, orig, orig_len);
            size_t at = off + seed % len;
            img[at] ^= (unsigned char)(1u << (seed >> 60 & 7));
            tu_reseal(img, orig_len);
            char *rep = NULL;
            int rc = check_image(img, orig_len, &rep);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT ||
                        rc == TRAWL_EVERSION);
            if (rc != 0) {
                assert_non_null(rep);
                found++;
            }
            free(rep);
        }
        if (id == SEC_POSTINGS || id == SEC_POSITIONS || id == SEC_TERMS ||
            id == SEC_IDS)
            if (found < tries / 2)
                fail_msg("section %u: only %d of %d changes noticed", id,
                         found, tries);
    }
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intact_is_clean),
        cmocka_unit_test(field_length_mismatch),
        cmocka_unit_test(id_key_mismatch),
        cmocka_unit_test(header_reserved),
        cmocka_unit_test(store_slot),
        cmocka_unit_test(store_has_dictionary),
        cmocka_unit_test(store_dict_magic),
        cmocka_unit_test(store_dict_changed),
        cmocka_unit_test(docmeta_offset_order),
        cmocka_unit_test(docmeta_offset_misplaced),
        cmocka_unit_test(merge_retrains_dictionary),
        cmocka_unit_test(resealed_flips_never_crash),
    };
    return cmocka_run_group_tests_name("check", tests, setup, teardown);
}
