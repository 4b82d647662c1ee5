/*
 * Helpers shared by the unit tests (see testutil.h).
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"
#include "internal.h"
#include "oracle.h"
#include "query.h"
#include "segfile.h"
#include "trawl/search.h"

/* ---- a group fixture ---------------------------------------------------- */

int tu_fixture_setup(void **state)
{
    static tu_fixture f;
    trawl_err err;
    if (trawl_analyzer_new(&f.an, "english", &err) != 0)
        return -1;
    f.a = trawl_arena_new(1 << 12);
    *state = &f;
    return f.a == NULL ? -1 : 0;
}

int tu_fixture_teardown(void **state)
{
    tu_fixture *f = *state;
    trawl_analyzer_free(f->an);
    trawl_arena_free(f->a);
    return 0;
}

int tu_parse_render(tu_fixture *f, const char *q, char *out, size_t cap,
                    trawl_err *err)
{
    qnode *root;
    trawl_buf b = TRAWL_BUF_INIT;

    trawl_arena_reset(f->a);
    trawl_err_clear(err);
    int rc = trawl__query_parse(&root, f->an, q, strlen(q), f->a, err);
    if (rc != 0)
        return rc;
    trawl__query_render(root, &b);
    assert_int_equal(b.rc, 0);
    snprintf(out, cap, "%.*s", (int)b.len, (const char *)b.ptr);
    trawl_buf_free(&b);
    return 0;
}

void tu_check_renders(tu_fixture *f, const tu_query_case *c, size_t n)
{
    trawl_err err;
    char s[512];
    for (size_t i = 0; i < n; i++) {
        if (tu_parse_render(f, c[i].q, s, sizeof(s), &err) != 0)
            fail_msg("%s: %s", c[i].q, err.msg);
        if (strcmp(s, c[i].want) != 0)
            fail_msg("%s: rendered %s, want %s", c[i].q, s, c[i].want);
    }
}

void tu_check_rejects(tu_fixture *f, const tu_query_case *c, size_t n)
{
    trawl_err err;
    char s[512];
    for (size_t i = 0; i < n; i++) {
        int rc = tu_parse_render(f, c[i].q, s, sizeof(s), &err);
        if (rc != TRAWL_EQUERY)
            fail_msg("%s: parsed as %s", c[i].q, rc == 0 ? s : "?");
        if (strstr(err.msg, c[i].want) == NULL)
            fail_msg("%s: %s", c[i].q, err.msg);
    }
}

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng_state;

void tu_seed(uint64_t seed)
{
    rng_state = seed;
}

uint32_t tu_rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

uint32_t tu_xorshift(uint64_t *state, uint32_t n)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return (uint32_t)(x % n);
}

/* ---- corpora and writer runs ------------------------------------------- */

const char *const tu_vocab[] = {
    "north",    "korea",   "talks",    "sanction", "nuclear", "summit",
    "minister", "policy",  "embassy",  "seoul",    "trade",   "missile",
    "election", "vote",    "budget",   "court",    "ruling",  "river",
    "flood",    "storm",   "market",   "bank",     "rates",   "inflation",
    "the",      "of",      "and",      "a",        "in",      "harbour",
    "tariff",   "grain",   "railway",  "senate",   "drought", "festival",
};
const size_t tu_nvocab = sizeof(tu_vocab) / sizeof(tu_vocab[0]);

char *tu_make_text(uint32_t nwords)
{
    size_t cap = (size_t)nwords * 16 + 1, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    for (uint32_t i = 0; i < nwords; i++) {
        uint32_t a = tu_rnd((uint32_t)tu_nvocab);
        uint32_t b = tu_rnd((uint32_t)tu_nvocab);
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? " " : "",
                                tu_vocab[a < b ? a : b]);
    }
    return s;
}

void tu_corpus_init(tu_corpus *c, size_t n, int digits)
{
    c->n = n;
    c->id = calloc(n ? n : 1, sizeof(char *));
    c->title = calloc(n ? n : 1, sizeof(char *));
    c->body = calloc(n ? n : 1, sizeof(char *));
    c->date = calloc(n ? n : 1, sizeof(int64_t));
    c->author = calloc(n ? n : 1, sizeof(char *));
    c->url = calloc(n ? n : 1, sizeof(char *));
    assert_non_null(c->author);
    assert_non_null(c->url);
    assert_non_null(c->id);
    assert_non_null(c->title);
    assert_non_null(c->body);
    assert_non_null(c->date);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "doc-%0*zu", digits, i);
        c->id[i] = strdup(id);
        assert_non_null(c->id[i]);
    }
}

void tu_corpus_free(tu_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->id[i]);
        free(c->title[i]);
        free(c->body[i]);
        if (c->author != NULL)
            free(c->author[i]);
        if (c->url != NULL)
            free(c->url[i]);
    }
    free(c->author);
    free(c->url);
    free(c->id);
    free(c->title);
    free(c->body);
    free(c->date);
    memset(c, 0, sizeof(*c));
}

void tu_append(char **s, size_t *len, size_t *cap, const char *w)
{
    size_t n = strlen(w);
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        *s = realloc(*s, *cap);
        assert_non_null(*s);
    }
    if (*len > 0)
        (*s)[(*len)++] = ' ';
    memcpy(*s + *len, w, n);
    *len += n;
    (*s)[*len] = '\0';
}

trawl_article tu_article(const tu_corpus *c, size_t i)
{
    trawl_article a;
    memset(&a, 0, sizeof(a));
    a.id = c->id[i];
    a.id_len = strlen(a.id);
    a.title = c->title[i];
    a.title_len = strlen(a.title);
    a.body = c->body[i];
    a.body_len = strlen(a.body);
    if (c->author != NULL && c->author[i] != NULL) {
        a.author = c->author[i];
        a.author_len = strlen(a.author);
    }
    if (c->url != NULL && c->url[i] != NULL) {
        a.url = c->url[i];
        a.url_len = strlen(a.url);
    }
    a.date = c->date[i];
    return a;
}

void tu_add(trawl_writer *w, const char *id, const char *title,
            const char *body, const char *extra, int64_t date)
{
    trawl_article a;
    trawl_err err;
    memset(&a, 0, sizeof(a));
    a.id = (char *)id;
    a.id_len = strlen(id);
    a.title = (char *)title;
    a.title_len = strlen(title);
    a.body = (char *)body;
    a.body_len = strlen(body);
    if (extra != NULL) {
        a.extra = (char *)extra;
        a.extra_len = strlen(extra);
    }
    a.date = date;
    assert_int_equal(trawl_writer_add(w, &a, &err), 0);
}

void tu_run(const char *dir, const tu_corpus *c, const size_t *order,
            size_t n, const trawl_writer_opts *o, trawl_writer_stats *st)
{
    trawl_err err;
    trawl_writer *w;
    int rc = trawl_writer_open(&w, dir, o, &err);
    if (rc != 0) {
        trawl__segfile_format = TRAWL_FORMAT_VERSION;
        fail_msg("open writer %s: %s", dir, err.msg);
    }
    for (size_t k = 0; k < n; k++) {
        trawl_article a = tu_article(c, order != NULL ? order[k] : k);
        assert_int_equal(trawl_writer_add(w, &a, &err), 0);
    }
    trawl_writer_stats local;
    rc = trawl_writer_commit(w, st != NULL ? st : &local, &err);
    trawl__segfile_format = TRAWL_FORMAT_VERSION;
    if (rc != 0)
        fail_msg("commit: %s", err.msg);
    trawl_writer_free(w);
}

void tu_run_range(const char *dir, const tu_corpus *c, size_t from,
                  size_t to, const unsigned char *keep,
                  const trawl_writer_opts *o, trawl_writer_stats *st)
{
    size_t *order = malloc((to - from + 1) * sizeof(*order)), n = 0;
    assert_non_null(order);
    for (size_t i = from; i < to; i++)
        if (keep == NULL || keep[i])
            order[n++] = i;
    tu_run(dir, c, order, n, o, st);
    free(order);
}

void tu_run_format(const char *dir, const tu_corpus *c, size_t from,
                   size_t to, const unsigned char *keep,
                   const trawl_writer_opts *o, uint32_t fmt)
{
    trawl__segfile_format = fmt;
    tu_run_range(dir, c, from, to, keep, o, NULL);
}

/* ---- directories and files --------------------------------------------- */

void tu_new_dir(char *dir, const char *tag)
{
    snprintf(dir, 64, "/tmp/trawl-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
}

void tu_rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

unsigned char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

void tu_spit(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

char *tu_seg_path(const char *dir)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    char *p = NULL;
    while ((e = readdir(dd)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".trs") == 0 &&
            (p == NULL || strcmp(e->d_name, p + strlen(dir) + 1) < 0)) {
            free(p);
            p = malloc(strlen(dir) + l + 2);
            assert_non_null(p);
            sprintf(p, "%s/%s", dir, e->d_name);
        }
    }
    closedir(dd);
    assert_non_null(p);
    return p;
}

void tu_reseal(unsigned char *p, size_t n)
{
    uint64_t toc = trawl__get_u64(p + n - SEG_FOOTER);
    uint64_t toc_len = trawl__get_u64(p + n - SEG_FOOTER + 8);
    uint32_t nsec = trawl__get_u32(p + toc);
    for (uint32_t i = 0; i < nsec; i++) {
        unsigned char *e = p + toc + 4 + (size_t)i * 32;
        uint64_t off = trawl__get_u64(e + 8), len = trawl__get_u64(e + 16);
        trawl__put_u64(e + 24, trawl__hash64(p + off, len));
    }
    trawl__put_u64(p + n - SEG_FOOTER + 16, trawl__hash64(p + toc, toc_len));
}

/* ---- indexes ------------------------------------------------------------ */

trawl_index *tu_open(const char *dir)
{
    trawl_index *ix;
    trawl_err err;
    if (trawl_index_open(&ix, dir, &err) != 0)
        fail_msg("open %s: %s", dir, err.msg);
    return ix;
}

void tu_assert_sound(const char *dir)
{
    char *rep = NULL;
    trawl_err err;
    int rc = trawl_index_check(dir, &rep, &err);
    if (rc != 0)
        fail_msg("check %s: %d %s\n%s", dir, rc, err.msg, rep ? rep : "");
    assert_true(rep == NULL || rep[0] == '\0');
    free(rep);
}

seg_term tu_term_of(const trawl_index *ix, uint32_t si, const char *word)
{
    seg_term t;
    trawl_err err;
    assert_int_equal(
        trawl__seg_lookup(&ix->segs[si], word, strlen(word), &t, &err), 1);
    return t;
}

void tu_check_oracle(const char *dir, const tu_corpus *c,
                     const unsigned char *keep, const char *const *qs,
                     size_t nq)
{
    trawl_err err;
    trawl_analyzer *an;
    assert_int_equal(trawl_analyzer_new(&an, "english", &err), 0);
    oracle *o = oracle_new(an);
    /* doc i of the oracle is document ids[i] of c */
    size_t *ids = malloc((c->n ? c->n : 1) * sizeof(*ids)), n = 0;
    assert_non_null(ids);
    for (size_t d = 0; d < c->n; d++)
        if (keep == NULL || keep[d]) {
            oracle_add_full(o, c->title[d], c->body[d],
                            c->author != NULL ? c->author[d] : NULL,
                            c->url != NULL ? c->url[d] : NULL, c->date[d]);
            ids[n++] = d;
        }
    trawl_index *ix = tu_open(dir);
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    for (size_t k = 0; k < nq; k++) {
        const char *q = qs[k];
        trawl_arena *a = trawl_arena_new(1 << 16);
        qnode *root;
        assert_int_equal(trawl__query_parse(&root, an, q, strlen(q), a, &err),
                         0);
        size_t nw;
        trawl_query dq; /* the defaults the search below uses */
        trawl_query_init(&dq);
        oracle_hit *want = oracle_search(o, root, dq.k1, dq.b, dq.w_title,
                                         dq.w_body, dq.w_prox,
                                         TRAWL_PROX_DEPTH, &nw);
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = q;
            tq.qlen = strlen(q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 3;
            tq.snippets = 0;
            trawl_results r;
            if (trawl_search(s, ix, &tq, a, &r, &err) != 0)
                fail_msg("query [%s]: %s", q, err.msg);
            if (pass == 0 && r.total != nw)
                fail_msg("query [%s]: total %llu, oracle %zu", q,
                         (unsigned long long)r.total, nw);
            size_t m = nw < tq.limit ? nw : tq.limit;
            assert_int_equal(r.nhits, m);
            for (size_t i = 0; i < m; i++) {
                const char *id = c->id[ids[want[i].doc]];
                double dd = fabs(r.hits[i].score - want[i].score);
                if (dd > 1e-9 * (1 + want[i].score) ||
                    strcmp(r.hits[i].id, id) != 0)
                    fail_msg("query [%s] rank %zu: got %s %.12f, oracle %s "
                             "%.12f", q, i, r.hits[i].id, r.hits[i].score,
                             id, want[i].score);
            }
        }
        free(want);
        trawl_arena_free(a);
    }
    free(ids);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    oracle_free(o);
    trawl_analyzer_free(an);
}

void tu_check_same(const char *da, const char *db, const char *const *qs,
                   size_t nq)
{
    trawl_index *a = tu_open(da), *b = tu_open(db);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    for (size_t k = 0; k < nq; k++) {
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = qs[k];
            tq.qlen = strlen(tq.q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 5;
            tq.snippets = 0;
            trawl_results ra, rb;
            assert_int_equal(trawl_search(s, a, &tq, ar, &ra, &err), 0);
            assert_int_equal(trawl_search(s, b, &tq, ar, &rb, &err), 0);
            if (pass == 0)
                assert_int_equal(ra.total, rb.total);
            assert_int_equal(ra.nhits, rb.nhits);
            for (size_t i = 0; i < ra.nhits; i++)
                if (strcmp(ra.hits[i].id, rb.hits[i].id) != 0 ||
                    ra.hits[i].score != rb.hits[i].score)
                    fail_msg("query [%s] rank %zu: %s %.17g vs %s %.17g",
                             tq.q, i, ra.hits[i].id, ra.hits[i].score,
                             rb.hits[i].id, rb.hits[i].score);
        }
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(a);
    trawl_index_release(b);
}

void tu_assert_same_results(const char *da, const char *db,
                            const char *const *qs, size_t nq,
                            size_t min_nonempty)
{
    trawl_index *a = tu_open(da), *b = tu_open(db);
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_index_info ia, ib;
    trawl_index_info_get(a, &ia);
    trawl_index_info_get(b, &ib);
    assert_int_equal(ia.docs, ib.docs);
    size_t nonempty = 0;
    for (size_t qi = 0; qi < nq; qi++) {
        trawl_arena *ar = trawl_arena_new(1 << 16);
        trawl_query q;
        trawl_query_init(&q);
        q.q = qs[qi];
        q.qlen = strlen(q.q);
        q.snippets = 0;
        /* Every hit counted, then a short pruned page (the plain-word
         * loop, block skipping and proximity rescoring from the first
         * phase's records, across the segments). */
        trawl_results full;
        for (int pass = 0; pass < 2; pass++) {
            q.limit = pass == 0 ? 1000 : 5;
            q.exact_total = pass == 0;
            trawl_results ra, rb;
            assert_int_equal(trawl_search(s, a, &q, ar, &ra, &err), 0);
            assert_int_equal(trawl_search(s, b, &q, ar, &rb, &err), 0);
            if (pass == 0)
                full = ra;
            else
                for (size_t i = 0; i < rb.nhits; i++)
                    if (i >= full.nhits ||
                        strcmp(rb.hits[i].id, full.hits[i].id) != 0 ||
                        rb.hits[i].score != full.hits[i].score)
                        fail_msg("query '%s': pruned page hit %zu differs "
                                 "from the full ranking",
                                 qs[qi], i);
            if (pass == 0)
                assert_int_equal(ra.total, rb.total);
            assert_int_equal(ra.nhits, rb.nhits);
            for (size_t i = 0; i < ra.nhits; i++) {
                if (strcmp(ra.hits[i].id, rb.hits[i].id) != 0 ||
                    ra.hits[i].score != rb.hits[i].score)
                    fail_msg("query '%s' (limit %u) hit %zu: %s %.17g vs "
                             "%s %.17g",
                             qs[qi], q.limit, i, ra.hits[i].id,
                             ra.hits[i].score, rb.hits[i].id,
                             rb.hits[i].score);
            }
            nonempty += pass == 0 && ra.nhits > 0;
        }
        trawl_arena_free(ar);
    }
    if (nonempty < min_nonempty)
        fail_msg("only %zu of %zu queries found something", nonempty, nq);
    trawl_searcher_free(s);
    trawl_index_release(a);
    trawl_index_release(b);
}

int tu_search_survives(const char *dir, const char *const *qs, size_t nq)
{
    trawl_index *ix;
    trawl_err err;
    if (trawl_index_open(&ix, dir, &err) != 0)
        return -1;
    trawl_searcher *s;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    int seen = 0;
    for (size_t k = 0; k < nq; k++) {
        for (int pass = 0; pass < 2; pass++) {
            trawl_query tq;
            trawl_query_init(&tq);
            tq.q = qs[k];
            tq.qlen = strlen(tq.q);
            tq.limit = pass == 0 ? TRAWL_MAX_LIMIT : 3;
            tq.snippets = pass;
            trawl_results r;
            int rc = trawl_search(s, ix, &tq, ar, &r, &err);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            seen |= rc == TRAWL_ECORRUPT;
        }
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_searcher_free(s);
    trawl_index_release(ix);
    return seen;
}
