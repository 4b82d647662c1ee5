/*
 * Dictionary lookups (trawl__seg_lookup) against a walk of the whole
 * dictionary: every term is found with the walk's postings offsets,
 * lengths and bounds, and every string next to a term in byte order (its
 * prefixes, extensions, a byte off at each place) is found exactly when
 * it is itself a term. The words share long prefixes, so that entries
 * share from none to all of the bytes of the one before, on both sides of
 * the looked-up key, within and across dictionary blocks, and blocks
 * start with terms that share their first 8 bytes (which lookups bisect
 * by first) and with terms shorter than that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/writer.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    return tu_xorshift(&rng, n);
}

/* A word from a few stems and endings, so that many share prefixes. */
static void word(char *out, size_t cap)
{
    static const char *const stem[] = {"a", "an", "ant", "anti", "b", "ba",
                                       "bar", "barr", "z", "zz", "q"};
    static const char *const end[] = {"", "a", "aa", "ab", "b", "bz", "x",
                                      "xy", "xyz", "xyzzyq", "m", "mm"};
    snprintf(out, cap, "%s%s%s%u", stem[rnd(11)], end[rnd(12)],
             end[rnd(12)], rnd(3) == 0 ? rnd(40) : 0);
}

typedef struct dict {
    char **term;
    size_t *len;
    seg_term *t;
    size_t n;
} dict;

/* Every term of s, in order, with the walk's entry. */
static dict walk(const trawl_segment *s)
{
    dict d = {0};
    size_t cap = 0;
    seg_iter it;
    trawl_err err;
    trawl__seg_iter_init(&it, s);
    int rc;
    while ((rc = trawl__seg_iter_next(&it, &err)) == 1) {
        if (d.n == cap) {
            cap = cap ? cap * 2 : 1024;
            d.term = realloc(d.term, cap * sizeof(*d.term));
            d.len = realloc(d.len, cap * sizeof(*d.len));
            d.t = realloc(d.t, cap * sizeof(*d.t));
            assert_non_null(d.term);
            assert_non_null(d.len);
            assert_non_null(d.t);
        }
        d.term[d.n] = malloc(it.len + 1);
        memcpy(d.term[d.n], it.term, it.len);
        d.len[d.n] = it.len;
        d.t[d.n] = it.t;
        d.n++;
    }
    assert_int_equal(rc, 0);
    return d;
}

/* Index of key in d, or -1. */
static long find(const dict *d, const char *key, size_t len)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = trawl__cmp_bytes(d->term[mid], d->len[mid], key, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void same_entry(const char *key, size_t len, const seg_term *a,
                       const seg_term *b)
{
    if (a->df != b->df || a->post_off != b->post_off ||
        a->post_len != b->post_len || a->pos_off != b->pos_off ||
        a->skip_len != b->skip_len ||
        memcmp(a->max_tf, b->max_tf, sizeof(a->max_tf)) != 0 ||
        memcmp(a->min_len, b->min_len, sizeof(a->min_len)) != 0)
        fail_msg("%.*s: lookup gives df %u at %llu+%llu (positions %llu), "
                 "the walk df %u at %llu+%llu (positions %llu)", (int)len,
                 key, a->df, (unsigned long long)a->post_off,
                 (unsigned long long)a->post_len,
                 (unsigned long long)a->pos_off, b->df,
                 (unsigned long long)b->post_off,
                 (unsigned long long)b->post_len,
                 (unsigned long long)b->pos_off);
}

/* Look key up; it must be found exactly when d has it, as d has it. */
static void probe(const trawl_segment *s, const dict *d, const char *key,
                  size_t len)
{
    seg_term t;
    trawl_err err;
    int rc = trawl__seg_lookup(s, key, len, &t, &err);
    long at = find(d, key, len);
    if (rc != (at >= 0))
        fail_msg("%.*s: lookup says %d, the dictionary %s", (int)len, key,
                 rc, at >= 0 ? "has it" : "does not");
    if (at >= 0)
        same_entry(key, len, &t, &d->t[at]);
}

/* Build an index of format fmt (blocks of 16 terms from format 10, 32
 * before) and compare every lookup with the walk. */
static void lookups_in_format(uint32_t fmt)
{
    char dir[] = "/tmp/trawl-lookup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    trawl_err err;
    trawl_writer *w;
    trawl__segfile_format = fmt;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    char body[8192], id[32];
    for (int i = 0; i < 600; i++) {
        size_t o = 0;
        /* some words in many documents (lists of several blocks) */
        o += (size_t)snprintf(body + o, sizeof(body) - o, "%s ",
                              i % 3 ? "barrxyz" : "antia");
        /* long words sharing their first 8 bytes and more, over several
         * dictionary blocks (their first terms' keys are equal) */
        o += (size_t)snprintf(body + o, sizeof(body) - o,
                              "internationalization%d internat%d ", i % 300,
                              i % 7);
        for (int k = 0; k < 60; k++) {
            char wd[64];
            word(wd, sizeof(wd));
            o += (size_t)snprintf(body + o, sizeof(body) - o, "%s ", wd);
        }
        snprintf(id, sizeof(id), "d%d", i);
        trawl_article a;
        memset(&a, 0, sizeof(a));
        a.id = id;
        a.id_len = strlen(id);
        a.title = "t";
        a.title_len = 1;
        a.body = body;
        a.body_len = o;
        a.date = TRAWL_NO_DATE;
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    trawl_writer_stats st;
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    trawl_writer_free(w);
    trawl__segfile_format = TRAWL_FORMAT_VERSION;

    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    const trawl_segment *s = &ix->segs[0];
    assert_int_equal(s->version, fmt);
    uint32_t tb = fmt >= TERM_BLOCK_FROM ? TERM_BLOCK : TERM_BLOCK_OLD;
    assert_int_equal(s->term_block, tb);
    assert_int_equal(s->nterm_blocks, (s->nterms + tb - 1) / tb);
    dict d = walk(s);
    assert_true(d.n > 1000); /* many dictionary blocks */
    char key[300];
    for (size_t i = 0; i < d.n; i++) {
        size_t n = d.len[i];
        probe(s, &d, d.term[i], n);
        memcpy(key, d.term[i], n);
        for (size_t k = 0; k < n; k++) {
            probe(s, &d, key, k); /* its prefixes */
            unsigned char c = (unsigned char)key[k];
            key[k] = (char)(c + 1); /* a byte off, up and down */
            probe(s, &d, key, n);
            key[k] = (char)(c - 1);
            probe(s, &d, key, n);
            key[k] = (char)c;
        }
        key[n] = 'a'; /* extensions */
        probe(s, &d, key, n + 1);
        key[n] = '\xff';
        probe(s, &d, key, n + 1);
        key[n + 1] = 'a';
        probe(s, &d, key, n + 2);
    }
    probe(s, &d, "", 0);
    probe(s, &d, "\xff\xff", 2);
    for (size_t i = 0; i < d.n; i++)
        free(d.term[i]);
    free(d.term);
    free(d.len);
    free(d.t);
    trawl_index_release(ix);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void lookups_agree_with_the_walk(void **state)
{
    (void)state;
    lookups_in_format(TRAWL_FORMAT_VERSION);
}

/* Format 9's dictionary blocks of 32 terms are still read. */
static void lookups_in_format_9(void **state)
{
    (void)state;
    lookups_in_format(9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookups_agree_with_the_walk),
        cmocka_unit_test(lookups_in_format_9),
    };
    return cmocka_run_group_tests_name("lookup", tests, NULL, NULL);
}
