/*
 * Offset tables of POSITIONS blocks (format 9, format.h): a block of
 * n >= 2 postings with at least POS_TAB_MIN bytes of positions per posting
 * starts with n - 1 offsets, u16 while the block is under 64 KiB, else
 * u32. Words whose single block lies one byte under the rule, exactly on
 * it, one byte under the u32 width and on it; every table agrees with a
 * walk of the positions; phrases and proximity in documents at every index
 * of such blocks rank as the brute-force oracle says; format 8 (no tables)
 * reads the same, bit for bit, next to format 9 and merged with it into
 * the bytes of one format 9 build; damaged tables are reported by the
 * check and never crash search.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "format.h"
#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

#define NDOCS 300
#define NSPEC 40 /* documents of each boundary word, one block */

/*
 * The boundary words, each in NSPEC documents of its own (doc k * NSPEC
 * + i), as a run at the start of the body: positions 0, 1, 2, ... are
 * one byte each, so a block's positions take the sum of its tfs.
 *   xkl: 639 bytes, one under POS_TAB_MIN * NSPEC: no table;
 *   xkh: 640, on the rule: a u16 table;
 *   xkm: 65457, so 65535 with a u16 table: still u16;
 *   xkw: 65458, 65536 with u16: a u32 table (65614 bytes).
 */
static const char *spec_word[] = {"xkl", "xkh", "xkm", "xkw"};
static const uint64_t spec_bytes[] = {
    POS_TAB_MIN * NSPEC - 1, POS_TAB_MIN * NSPEC,
    65535 - 2 * (NSPEC - 1), 65536 - 2 * (NSPEC - 1)};
#define NSPECW 4

static const char *filler[] = {
    "harbor", "ships", "council", "market", "storm", "report", "prices",
    "rose", "fell", "city", "night", "river",
};
#define NFILLER (sizeof(filler) / sizeof(filler[0]))

/* tf of boundary word k in its i-th document */
static uint32_t spec_tf(int k, uint32_t i)
{
    uint64_t total = spec_bytes[k];
    uint32_t base = (uint32_t)(total / NSPEC);
    uint32_t extra = (uint32_t)(total % NSPEC);
    return base + (i < extra);
}

static void corpus_make(tu_corpus *c, uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, NDOCS, 3);
    for (uint32_t d = 0; d < NDOCS; d++) {
        char *s[2] = {NULL, NULL};
        size_t len[2] = {0, 0}, cap[2] = {0, 0};
        if (d < NSPECW * NSPEC) {
            int k = (int)(d / NSPEC);
            uint32_t tf = spec_tf(k, d % NSPEC);
            for (uint32_t i = 0; i < tf; i++)
                tu_append(&s[1], &len[1], &cap[1], spec_word[k]);
        }
        uint32_t nt = 1 + tu_rnd(4);
        for (uint32_t i = 0; i < nt; i++)
            tu_append(&s[0], &len[0], &cap[0],
                      tu_rnd(5) == 0 ? "alph" : filler[tu_rnd(NFILLER)]);
        /* alph in most documents, beth in many, with tfs from 1 to
         * hundreds, among filler words: deltas of one and two bytes */
        uint32_t ta =
            tu_rnd(10) < 9 ? 1 + tu_rnd(tu_rnd(8) == 0 ? 300 : 40) : 0;
        uint32_t tb = tu_rnd(10) < 6 ? 1 + tu_rnd(30) : 0;
        while (ta + tb > 0) {
            uint32_t gap = tu_rnd(3) == 0 ? tu_rnd(200) : tu_rnd(3);
            for (uint32_t i = 0; i < gap; i++)
                tu_append(&s[1], &len[1], &cap[1], filler[tu_rnd(NFILLER)]);
            if (ta > 0 && (tb == 0 || tu_rnd(2))) {
                tu_append(&s[1], &len[1], &cap[1], "alph");
                ta--;
                if (tb > 0 && tu_rnd(2)) { /* the phrase "alph beth" */
                    tu_append(&s[1], &len[1], &cap[1], "beth");
                    tb--;
                }
            } else {
                tu_append(&s[1], &len[1], &cap[1], "beth");
                tb--;
            }
        }
        if (s[1] == NULL)
            tu_append(&s[1], &len[1], &cap[1], "river");
        c->title[d] = s[0];
        c->body[d] = s[1];
        c->date[d] = 1700000000 + (int64_t)d * 86400;
    }
}

static const char *queries[] = {
    "alph", "beth", "alph beth", "beth alph", "\"alph beth\"",
    "\"beth alph\"", "\"alph alph\"", "\"alph beth\"~3", "title:alph",
    "body:alph beth", "\"xkl xkl\"", "\"xkh xkh\"", "\"xkm xkm\"",
    "\"xkw xkw\"", "\"xkw xkw xkw\"", "xkl alph", "xkh alph beth",
    "xkm beth", "xkw alph", "xkw alph beth", "xkl OR xkh", "\"xkh alph\"~5",
    "alph beth harbor", "\"harbor alph\"", "alph -beth", "xkm xkm alph",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* Every query against the oracle (testutil.h). */
static void check_oracle(const char *dir, const tu_corpus *c,
                         const unsigned char *keep)
{
    tu_check_oracle(dir, c, keep, queries, NQUERIES);
}

/* Every query against both indexes: the same hits and scores, bit for
 * bit. */
static void check_same(const char *da, const char *db)
{
    tu_check_same(da, db, queries, NQUERIES);
}

/* What walk_term saw of a term's blocks. */
typedef struct tabs {
    uint32_t blocks, tabled, w4; /* blocks, with a table, of them u32 */
    uint64_t pb0;                /* the first block's positions bytes */
    uint64_t tab_bytes;          /* bytes of tables */
} tabs;

/* Walk a (block) list of segment s from its skip table, on its own:
 * each block's table, when the rule gives one (format 9 only), must hold
 * where each posting's positions start, as a varint walk finds them,
 * and the positions must fill the block (a pair term has none). */
static tabs walk_term(const trawl_segment *s, const seg_term *t, int pair)
{
    tabs r;
    memset(&r, 0, sizeof(r));
    assert_false(t->compact);
    const unsigned char *sp = s->sec[SEC_POSTINGS].p + t->post_off;
    const unsigned char *send = sp + t->skip_len;
    const unsigned char *dp = send;
    const unsigned char *pp = s->sec[SEC_POSITIONS].p + t->pos_off;
    const unsigned char *pend =
        s->sec[SEC_POSITIONS].p + s->sec[SEC_POSITIONS].len;
    uint32_t vals[1 + TRAWL_NFIELDS][BLOCK_SIZE];
    for (uint32_t at = 0; at < t->df;) {
        uint64_t v[3 + 2 * TRAWL_NFIELDS];
        for (int k = 0; k < 3 + 2 * TRAWL_NFIELDS; k++)
            assert_int_equal(trawl__get_varint(&sp, send, &v[k]), 0);
        uint32_t n = t->df - at < BLOCK_SIZE ? t->df - at : BLOCK_SIZE;
        const unsigned char *bp = dp;
        for (int k = 0; k <= TRAWL_NFIELDS; k++) {
            size_t used = trawl__codec_decode(bp, dp + v[1], vals[k], n);
            assert_true(used > 0);
            bp += used;
        }
        dp += v[1];
        uint64_t pb = v[2];
        if (r.blocks == 0)
            r.pb0 = pb;
        assert_true(pb <= (uint64_t)(pend - pp));
        unsigned w = s->version >= POS_TAB_FROM
                         ? trawl__postab_width(n, pb) : 0;
        /* the rule, restated: n >= 2 and pb >= POS_TAB_MIN * n; u16
         * below 64 KiB */
        if (s->version >= POS_TAB_FROM)
            assert_int_equal(w, n >= 2 && pb >= (uint64_t)POS_TAB_MIN * n
                                    ? (pb < 65536 ? 2 : 4) : 0);
        const unsigned char *tab = pp, *q = pp + (size_t)w * (n - 1);
        const unsigned char *q0 = q, *qend = pp + pb;
        for (uint32_t i = 0; i < n; i++) {
            if (w != 0 && i > 0) {
                const unsigned char *e = tab + (size_t)(i - 1) * w;
                uint32_t off = w == 2 ? trawl__get_u16(e)
                                      : trawl__get_u32(e);
                assert_int_equal(off, (uint64_t)(q - q0));
            }
            for (int f = 0; f < TRAWL_NFIELDS && !pair; f++)
                for (uint32_t j = 0; j < vals[1 + f][i]; j++) {
                    uint64_t x;
                    assert_int_equal(trawl__get_varint(&q, qend, &x), 0);
                }
        }
        assert_ptr_equal(q, qend);
        if (w != 0) {
            r.tabled++;
            r.w4 += w == 4;
            r.tab_bytes += (uint64_t)w * (n - 1);
            /* the writer's rule on the bytes without the table */
            assert_int_equal(trawl__postab_bytes(n, pb - (uint64_t)w *
                                                        (n - 1)),
                             (uint64_t)w * (n - 1));
        } else if (s->version >= POS_TAB_FROM) {
            assert_int_equal(trawl__postab_bytes(n, pb), 0);
        }
        pp = qend;
        at += n;
        r.blocks++;
    }
    return r;
}

/* walk_term over every block list of s: the bytes of its tables. */
static uint64_t walk_all(const trawl_segment *s)
{
    seg_iter it;
    trawl_err err;
    uint64_t tab = 0;
    int rc;
    trawl__seg_iter_init(&it, s);
    while ((rc = trawl__seg_iter_next(&it, &err)) == 1)
        if (!it.t.compact)
            tab += walk_term(s, &it.t, it.term[0] == PAIR_MARK).tab_bytes;
    if (rc != 0)
        fail_msg("iter: %s", err.msg);
    return tab;
}


/* The boundary words' blocks: tables and widths as the rule says, each
 * table agreeing with the walk; the index is sound and ranks as the
 * oracle. */
static void rule_boundaries(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 1);
    char d[64];
    tu_new_dir(d, "posoff");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run_format(d, &c, 0, NDOCS, NULL, &np, TRAWL_FORMAT_VERSION);
    trawl_index *ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    const trawl_segment *s = &ix->segs[0];
    assert_int_equal(s->version, TRAWL_FORMAT_VERSION);
    static const uint64_t want_pb[NSPECW] = {
        POS_TAB_MIN * NSPEC - 1, POS_TAB_MIN * NSPEC + 2 * (NSPEC - 1),
        65535, 65536 - 2 * (NSPEC - 1) + 4 * (NSPEC - 1)};
    static const unsigned want_w[NSPECW] = {0, 2, 2, 4};
    for (int k = 0; k < NSPECW; k++) {
        seg_term t = tu_term_of(ix, 0, spec_word[k]);
        assert_int_equal(t.df, NSPEC);
        tabs r = walk_term(s, &t, 0);
        assert_int_equal(r.blocks, 1);
        assert_int_equal(r.pb0, want_pb[k]);
        assert_int_equal(r.tabled, want_w[k] != 0);
        assert_int_equal(r.w4, want_w[k] == 4);
    }
    /* alph: blocks of 128 and the rest, with tables */
    seg_term ta = tu_term_of(ix, 0, "alph");
    assert_true(ta.df > 2 * BLOCK_SIZE);
    tabs ra = walk_term(s, &ta, 0);
    assert_int_equal(ra.blocks, 3);
    assert_true(ra.tabled >= 2);
    walk_all(s);
    trawl_index_release(ix);
    tu_assert_sound(d);
    check_oracle(d, &c, NULL);
    tu_rm_rf(d);
    tu_corpus_free(&c);
}

/* The same documents in format 8: no tables (POSITIONS shorter by their
 * bytes exactly), the same results bit for bit, with and without pair
 * terms; both sound. */
static void format8_reads_the_same(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 2);
    for (int pairs = 0; pairs < 2; pairs++) {
        char d9[64], d8[64];
        tu_new_dir(d9, "posoff");
        tu_new_dir(d8, "posoff");
        trawl_writer_opts o;
        memset(&o, 0, sizeof(o));
        o.no_pairs = !pairs;
        tu_run_format(d9, &c, 0, NDOCS, NULL, &o, TRAWL_FORMAT_VERSION);
        tu_run_format(d8, &c, 0, NDOCS, NULL, &o, 8);
        trawl_index *i9 = tu_open(d9), *i8 = tu_open(d8);
        assert_int_equal(i8->segs[0].version, 8);
        uint64_t tab9 = walk_all(&i9->segs[0]);
        assert_true(tab9 > 0);
        assert_int_equal(walk_all(&i8->segs[0]), 0);
        /* POSITIONS differ by the tables alone */
        assert_int_equal(i8->segs[0].sec[SEC_POSITIONS].len + tab9,
                         i9->segs[0].sec[SEC_POSITIONS].len);
        trawl_index_release(i9);
        trawl_index_release(i8);
        tu_assert_sound(d8);
        check_oracle(d8, &c, NULL);
        check_same(d9, d8);
        tu_rm_rf(d9);
        tu_rm_rf(d8);
    }
    tu_corpus_free(&c);
}

/* Add-only runs alternating formats 8 and 9 (the same word's block
 * without and with a table), then a merge into format 9: the same results
 * as one build before and after, and the merged segment is the one
 * build's, byte for byte. Then deletions merged away: the live documents'
 * results. */
static void merge_mixes_formats(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 3);
    char one[64], mixed[64];
    tu_new_dir(one, "posoff");
    tu_new_dir(mixed, "posoff");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run_format(one, &c, 0, NDOCS, NULL, NULL, TRAWL_FORMAT_VERSION);
    trawl_writer_opts add = np;
    add.keep_unseen = 1;
    /* cuts inside the boundary words' documents too */
    static const uint32_t cut[] = {0, 20, 60, 100, 150, 240, NDOCS};
    for (int k = 0; k < 6; k++)
        tu_run_format(mixed, &c, cut[k], cut[k + 1], NULL, &add,
                      k % 2 ? TRAWL_FORMAT_VERSION : 8);
    trawl_index *ix = tu_open(mixed);
    assert_int_equal(ix->nsegs, 6);
    assert_int_equal(ix->segs[0].version, 8);
    assert_int_equal(ix->segs[1].version, TRAWL_FORMAT_VERSION);
    trawl_index_release(ix);
    tu_assert_sound(mixed);
    check_same(one, mixed);
    check_oracle(mixed, &c, NULL);

    trawl_writer_opts mo = add;
    mo.merge = 1;
    tu_run_format(mixed, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
    ix = tu_open(mixed);
    trawl_index *io = tu_open(one);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].version, TRAWL_FORMAT_VERSION);
    assert_int_equal(ix->segs[0].size, io->segs[0].size);
    assert_memory_equal(ix->segs[0].map, io->segs[0].map,
                        ix->segs[0].size);
    trawl_index_release(io);
    trawl_index_release(ix);
    tu_assert_sound(mixed);
    check_same(one, mixed);

    /* drop a third of the documents (blocks lose postings, some cross
     * the rule), merge: the check, the oracle and a fresh build agree */
    unsigned char keep[NDOCS];
    for (uint32_t d = 0; d < NDOCS; d++)
        keep[d] = d % 3 != 1 && d != 45;
    trawl_writer_opts del = np;
    tu_run_format(mixed, &c, 0, NDOCS, keep, &del, TRAWL_FORMAT_VERSION);
    tu_assert_sound(mixed);
    tu_run_format(mixed, &c, 0, 0, NULL, &mo, TRAWL_FORMAT_VERSION);
    ix = tu_open(mixed);
    assert_int_equal(ix->nsegs, 1);
    assert_int_equal(ix->segs[0].ndeleted, 0);
    assert_true(walk_all(&ix->segs[0]) > 0);
    trawl_index_release(ix);
    tu_assert_sound(mixed);
    check_oracle(mixed, &c, keep);
    char f[64];
    tu_new_dir(f, "posoff");
    tu_run_format(f, &c, 0, NDOCS, keep, &np, TRAWL_FORMAT_VERSION);
    check_same(mixed, f);
    tu_rm_rf(f);
    tu_rm_rf(one);
    tu_rm_rf(mixed);
    tu_corpus_free(&c);
}

/* ---- damage ------------------------------------------------------------ */

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

/* Search every query on dir: an answer or ECORRUPT, no crash (ASan in
 * CI); the index opens. */
static void search_survives(const char *dir)
{
    assert_int_not_equal(tu_search_survives(dir, queries, NQUERIES), -1);
}

/* The check's verdict on dir: 1 if it reported damage in POSITIONS. */
static int check_finds(const char *dir)
{
    char *rep = NULL;
    trawl_err err;
    int rc = trawl_index_check(dir, &rep, &err);
    assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
    int found = rc != 0 && rep != NULL && strstr(rep, "POSITIONS") != NULL;
    free(rep);
    return found;
}

/* One query on dir, all hits: its return code. */
static int query_rc(const char *dir, const char *q)
{
    trawl_index *ix = tu_open(dir);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    trawl_query tq;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.limit = TRAWL_MAX_LIMIT;
    tq.snippets = 0;
    trawl_results r;
    int rc = trawl_search(s, ix, &tq, ar, &r, &err);
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    return rc;
}

/* Tables damaged (resealed) in ways the walk disagrees with: an offset
 * past the block, two swapped, one a byte off, the u32 table's high
 * bytes set, every offset past the block: the check reports each, search
 * never crashes, and an offset past the block is ECORRUPT for the
 * phrase and the proximity that read it. */
static void damaged_tables(void **state)
{
    (void)state;
    tu_corpus c;
    corpus_make(&c, 5);
    char d[64];
    tu_new_dir(d, "posoff");
    trawl_writer_opts np;
    memset(&np, 0, sizeof(np));
    np.no_pairs = 1;
    tu_run_format(d, &c, 0, NDOCS, NULL, &np, TRAWL_FORMAT_VERSION);
    char *path = tu_seg_path(d);
    size_t n;
    unsigned char *orig = tu_slurp(path, &n);
    unsigned char *img = malloc(n);
    trawl_index *ix = tu_open(d);
    uint64_t pos = (uint64_t)(ix->segs[0].sec[SEC_POSITIONS].p -
                              ix->segs[0].map);
    seg_term th = tu_term_of(ix, 0, "xkh"), tw = tu_term_of(ix, 0, "xkw");
    trawl_index_release(ix);
    unsigned char *h = img + pos + th.pos_off; /* u16, NSPEC - 1 entries */
    unsigned char *w = img + pos + tw.pos_off; /* u32 */

    for (int kind = 0; kind < 5; kind++) {
        memcpy(img, orig, n);
        const char *q = NULL; /* a query that must see the damage */
        switch (kind) {
        case 0: /* posting 5's offset past the block */
            put_u16(h + 2 * 4, 0xfff0);
            q = "\"xkh xkh\"";
            break;
        case 1: { /* postings 3 and 4 swapped */
            uint16_t a = trawl__get_u16(h + 2 * 2);
            uint16_t b = trawl__get_u16(h + 2 * 3);
            put_u16(h + 2 * 2, b);
            put_u16(h + 2 * 3, a);
            break;
        }
        case 2: /* the last offset one byte late */
            put_u16(h + 2 * (NSPEC - 2),
                           (uint16_t)(trawl__get_u16(h + 2 * (NSPEC - 2)) +
                                      1));
            break;
        case 3: /* u32: a high byte */
            w[4 * 7 + 3] = 0x40;
            q = "\"xkw xkw\"";
            break;
        default: /* u32: every offset past the block; proximity too */
            memset(w, 0xff, 4 * (NSPEC - 1));
            q = "xkw alph";
            break;
        }
        tu_reseal(img, n);
        tu_spit(path, img, n);
        if (!check_finds(d))
            fail_msg("damage %d: the check did not report it", kind);
        search_survives(d);
        if (q != NULL && query_rc(d, q) != TRAWL_ECORRUPT)
            fail_msg("damage %d: [%s] did not report it", kind, q);
    }
    tu_spit(path, orig, n);
    tu_assert_sound(d);
    free(img);
    free(orig);
    free(path);
    tu_rm_rf(d);
    tu_corpus_free(&c);
}

/* The table helpers at their edges: no table for one posting, or one
 * byte short; the u16 / u32 switch where the block reaches 64 KiB; a
 * table round trip in both widths. */
static void table_helpers(void **state)
{
    (void)state;
    assert_int_equal(trawl__postab_bytes(1, 1 << 20), 0);
    assert_int_equal(trawl__postab_width(1, 1 << 20), 0);
    assert_int_equal(trawl__postab_bytes(2, 2 * POS_TAB_MIN - 1), 0);
    assert_int_equal(trawl__postab_bytes(2, 2 * POS_TAB_MIN), 2);
    assert_int_equal(trawl__postab_width(2, 2 * POS_TAB_MIN + 2), 2);
    assert_int_equal(trawl__postab_width(2, 2 * POS_TAB_MIN - 1), 0);
    assert_int_equal(trawl__postab_bytes(128, 65535 - 254), 254);
    assert_int_equal(trawl__postab_width(128, 65535), 2);
    assert_int_equal(trawl__postab_bytes(128, 65536 - 254), 508);
    assert_int_equal(trawl__postab_width(128, 65536 - 254 + 508), 4);
    assert_int_equal(trawl__postab_width(128, 65536), 4);
    for (int big = 0; big < 2; big++) {
        uint32_t len[BLOCK_SIZE];
        uint64_t sum = 0;
        for (uint32_t i = 0; i < BLOCK_SIZE; i++) {
            len[i] = big ? 600 + i * 7 : 17 + i % 5;
            sum += len[i];
        }
        uint64_t tb = trawl__postab_bytes(BLOCK_SIZE, sum);
        assert_int_equal(tb, (big ? 4u : 2u) * (BLOCK_SIZE - 1));
        unsigned char tab[4 * BLOCK_SIZE];
        trawl__postab_put(tab, len, BLOCK_SIZE);
        unsigned wd = trawl__postab_width(BLOCK_SIZE, sum + tb);
        assert_int_equal(wd, big ? 4 : 2);
        uint32_t at = 0;
        for (uint32_t i = 0; i < BLOCK_SIZE; i++) {
            assert_int_equal(trawl__postab_get(tab, wd, i), at);
            at += len[i];
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_helpers),
        cmocka_unit_test(rule_boundaries),
        cmocka_unit_test(format8_reads_the_same),
        cmocka_unit_test(merge_mixes_formats),
        cmocka_unit_test(damaged_tables),
    };
    return cmocka_run_group_tests_name("posoff", tests, NULL, NULL);
}
