/*
 * Review of session 12's changes, unit level.
 *
 * Ranking: a pair of adjacent query words weighs max(idf_a, idf_b, 1) in
 * the proximity signal. Every pruning bound of the proximity part (the
 * block maxima's, a document's own term frequencies', the rescoring
 * floor's) must stay above the true score with these weights. Random
 * corpora of few words (so that most pairs are of common words, under
 * the floor of 1, and stand together often) and random queries (phrases,
 * NOT, OR, field words, prefixes, repeated words, author:/site:/date:)
 * under random parameters (k1 and b at their limits, field weights of 0
 * and 1000, proximity weights from 0 to 200, depths 0, 1, 2, 5, 30 and
 * 200): every hit and every page of a pruned search against the oracle.
 *
 * Text files: a mail header's From: that names nobody ("<>") gives no
 * byline (not an empty one); "Key: value" lines alone without a
 * Subject stay text; a value folded right after its colon has no
 * leading space; a URL line and a date line with nothing
 * after them are the article's title and body, as before they were read
 * as a scraper's lines (not an "empty article" error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oracle.h"
#include "query.h"
#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

/* Few words, the first ones in nearly every document (idf below 1). */
static const char *const words[] = {"the",   "of",    "new",   "deal",
                                    "war",   "peace", "storm", "harbour",
                                    "korea", "talks", "rain",  "bridge"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const bylines[] = {"Jane Doe", "John Smith",
                                      "Wei Zhang", "Doe Reese"};
static const char *const urls[] = {"https://www.bbc.co.uk/news/1",
                                   "https://example.com/a",
                                   "http://news.example.net/x"};

/* A word: the lower of two draws, so that early words are common; now
 * and then forced to the two commonest. */
static const char *rw(void)
{
    uint32_t a = tu_rnd(NWORDS), b = tu_rnd(NWORDS);
    return words[a < b ? a : b];
}

static char *text(uint32_t n)
{
    char *s = NULL;
    size_t len = 0, cap = 0;
    for (uint32_t i = 0; i < n; i++)
        tu_append(&s, &len, &cap, i % 3 == 0 && tu_rnd(2) ? "the" : rw());
    if (s == NULL)
        s = strdup("");
    return s;
}

static void corpus(tu_corpus *c, size_t n, uint64_t seed)
{
    tu_seed(seed);
    tu_corpus_init(c, n, 4);
    for (size_t i = 0; i < n; i++) {
        c->title[i] = text(1 + tu_rnd(6));
        /* lengths from 1 to 200 words: b matters */
        c->body[i] = text(tu_rnd(4) == 0 ? 100 + tu_rnd(100)
                                         : 1 + tu_rnd(40));
        c->date[i] = tu_rnd(10) == 0
                         ? TRAWL_NO_DATE
                         : 1600000000 + (int64_t)tu_rnd(60) * 86400 * 30;
        uint32_t a = tu_rnd(6);
        if (a < 4)
            c->author[i] = strdup(bylines[a]);
        uint32_t u = tu_rnd(4);
        if (u < 3)
            c->url[i] = strdup(urls[u]);
    }
}

static void put(char *b, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (*n < cap)
        *n += (size_t)vsnprintf(b + *n, cap - *n, fmt, ap);
    va_end(ap);
}

/* One part of a query: mostly plain words (the pairs proximity scores),
 * some of everything else. */
static void part(char *b, size_t cap, size_t *n, int depth)
{
    uint32_t k = tu_rnd(depth > 0 ? 20 : 16);
    switch (k) {
    case 11:
        put(b, cap, n, "\"%s %s\"", rw(), rw());
        break;
    case 12:
        put(b, cap, n, "%s:%s", tu_rnd(2) ? "title" : "body", rw());
        break;
    case 13:
        put(b, cap, n, "%.3s*", rw());
        break;
    case 14: {
        static const char *const f[] = {"author:doe", "site:example.com",
                                        "date:2021", "-author:smith",
                                        "site:uk", "date:2019..2022"};
        put(b, cap, n, "%s", f[tu_rnd(6)]);
        break;
    }
    case 15:
        put(b, cap, n, "-%s", rw());
        break;
    case 16:
    case 17:
        put(b, cap, n, "(");
        part(b, cap, n, depth - 1);
        put(b, cap, n, " OR ");
        part(b, cap, n, depth - 1);
        put(b, cap, n, ")");
        break;
    case 18:
        put(b, cap, n, "(");
        part(b, cap, n, depth - 1);
        put(b, cap, n, " ");
        part(b, cap, n, depth - 1);
        put(b, cap, n, ")");
        break;
    case 19:
        put(b, cap, n, "\"%s %s %s\"~3", rw(), rw(), rw());
        break;
    default:
        put(b, cap, n, "%s", rw());
        break;
    }
}

static void query(char *b, size_t cap)
{
    size_t n = 0;
    uint32_t parts = 1 + tu_rnd(5);
    for (uint32_t i = 0; i < parts; i++) {
        if (i > 0)
            put(b, cap, &n, " ");
        part(b, cap, &n, 2);
        if (tu_rnd(8) == 0) { /* a repeated word */
            put(b, cap, &n, " ");
            put(b, cap, &n, "%s", words[tu_rnd(3)]);
        }
    }
    if (n >= cap)
        b[0] = '\0';
}

typedef struct rig {
    const tu_corpus *c;
    trawl_analyzer *an;
    oracle *o;
    trawl_index *ix;
    trawl_searcher *s;
    trawl_arena *a;
    size_t checked, nonempty, pages, pruned;
} rig;

/* The oracle's score of document id among want[0..nw) (or -1). */
static double want_score(const rig *r, const oracle_hit *want, size_t nw,
                         const char *id)
{
    for (size_t i = 0; i < nw; i++)
        if (strcmp(r->c->id[want[i].doc], id) == 0)
            return want[i].score;
    return -1;
}

static int close_to(double a, double b)
{
    double d = a - b;
    if (d < 0)
        d = -d;
    return d <= 1e-9 * (1 + (a < 0 ? -a : a));
}

/* Hits r[0..nh) must be oracle ranks off.. (a hit may trade places with
 * another of the same score, to rounding). */
static void same_ranks(const rig *r, const char *q, const char *what,
                       const trawl_results *res, const oracle_hit *want,
                       size_t nw, size_t off)
{
    for (size_t i = 0; i < res->nhits; i++) {
        const oracle_hit *w = &want[off + i];
        const char *id = r->c->id[w->doc];
        double got = res->hits[i].score;
        if (strcmp(res->hits[i].id, id) == 0 && close_to(got, w->score))
            continue;
        if (close_to(got, w->score) &&
            close_to(got, want_score(r, want, nw, res->hits[i].id)))
            continue;
        fail_msg("[%s] %s rank %zu: got %s %.12f, oracle %s %.12f (its "
                 "oracle score %.12f)",
                 q, what, off + i, res->hits[i].id, got, id, w->score,
                 want_score(r, want, nw, res->hits[i].id));
    }
}

static void check(rig *r, const char *q, const trawl_query *params)
{
    trawl_err err;
    qnode *root;
    trawl_arena *pa = trawl_arena_new(1 << 14);
    if (trawl__query_parse(&root, r->an, q, strlen(q), pa, &err) != 0) {
        trawl_arena_free(pa);
        return;
    }
    size_t nw;
    oracle_hit *want = oracle_search(r->o, root, params->k1, params->b,
                                     params->w_title, params->w_body,
                                     params->w_prox, params->prox_depth, &nw);
    char what[160];
    snprintf(what, sizeof(what), "k1 %g b %g wt %g wb %g prox %g depth %u",
             params->k1, params->b, params->w_title, params->w_body,
             params->w_prox, (unsigned)params->prox_depth);
    trawl_query tq = *params;
    tq.q = q;
    tq.qlen = strlen(q);
    tq.snippets = 0;
    tq.limit = TRAWL_MAX_LIMIT;
    tq.offset = 0;
    trawl_results res;
    trawl_arena_reset(r->a);
    int rc = trawl_search(r->s, r->ix, &tq, r->a, &res, &err);
    if (rc == TRAWL_EQUERY) {
        free(want);
        trawl_arena_free(pa);
        return;
    }
    if (rc != 0)
        fail_msg("[%s] %s: %s", q, what, err.msg);
    r->checked++;
    r->nonempty += nw > 0;
    if (res.total_exact ? res.total != nw : res.total > nw)
        fail_msg("[%s] %s: total %llu, oracle %zu", q, what,
                 (unsigned long long)res.total, nw);
    size_t m = nw < TRAWL_MAX_LIMIT ? nw : TRAWL_MAX_LIMIT;
    if (res.nhits != m)
        fail_msg("[%s] %s: %zu hits, oracle %zu", q, what, res.nhits, m);
    same_ranks(r, q, what, &res, want, nw, 0);
    /* pruned pages, the first ones most */
    for (int t = 0; t < 5; t++) {
        tq.limit = 1 + tu_rnd(t < 2 ? 3 : 12);
        tq.offset = t == 0 ? 0 : tu_rnd(t < 3 ? 4 : 40);
        trawl_arena_reset(r->a);
        if (trawl_search(r->s, r->ix, &tq, r->a, &res, &err) != 0)
            fail_msg("[%s] %s page: %s", q, what, err.msg);
        size_t pm = nw > tq.offset ? nw - tq.offset : 0;
        if (pm > tq.limit)
            pm = tq.limit;
        if (res.nhits != pm)
            fail_msg("[%s] %s page %u+%u: %zu hits, oracle %zu", q, what,
                     (unsigned)tq.offset, (unsigned)tq.limit, res.nhits, pm);
        char pw[220];
        snprintf(pw, sizeof(pw), "%s page %u+%u", what, (unsigned)tq.offset,
                 (unsigned)tq.limit);
        same_ranks(r, q, pw, &res, want, nw, tq.offset);
        r->pages++;
        r->pruned += !res.total_exact;
    }
    free(want);
    trawl_arena_free(pa);
}

/* Random parameters: the defaults, or each at an edge now and then. */
static void params(trawl_query *p)
{
    static const double k1s[] = {1.2, 0, 0.01, 0.5, 3, 100};
    static const double bs[] = {0.75, 0, 1, 0.3};
    static const double wts[] = {2, 0, 1, 1000, 0.5};
    static const double wbs[] = {1, 0, 3, 1000};
    static const double wps[] = {1, 0, 0.3, 5, 40, 200};
    static const uint32_t ds[] = {TRAWL_PROX_DEPTH, 0, 1, 2, 5, 200};
    trawl_query_init(p);
    p->k1 = k1s[tu_rnd(3) ? 0 : tu_rnd(6)];
    p->b = bs[tu_rnd(3) ? 0 : tu_rnd(4)];
    p->w_title = wts[tu_rnd(3) ? 0 : tu_rnd(5)];
    p->w_body = wbs[tu_rnd(3) ? 0 : tu_rnd(4)];
    p->w_prox = wps[tu_rnd(6)];
    p->prox_depth = ds[tu_rnd(6)];
}

/* RV12_N, RV12_SEED and RV12_DOCS in the environment: queries per
 * corpus, another corpus, documents per segment (a longer run). */
static void random_ranking_on(size_t ndocs, int segs, uint64_t seed)
{
    const char *es = getenv("RV12_SEED"), *ed = getenv("RV12_DOCS");
    if (es != NULL)
        seed += (uint64_t)atol(es) * 1000;
    if (ed != NULL && atol(ed) > 0)
        ndocs = (size_t)atol(ed) * (size_t)segs;
    tu_corpus c;
    corpus(&c, ndocs, seed);
    char dir[64];
    tu_new_dir(dir, "rv12-rank");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    for (int k = 0; k < segs; k++)
        tu_run_range(dir, &c, (size_t)k * c.n / (size_t)segs,
                     (size_t)(k + 1) * c.n / (size_t)segs, NULL, &o, NULL);
    rig r;
    trawl_err err;
    memset(&r, 0, sizeof(r));
    r.c = &c;
    assert_int_equal(trawl_analyzer_new(&r.an, "english", &err), 0);
    r.o = oracle_new(r.an);
    for (size_t d = 0; d < c.n; d++)
        oracle_add_full(r.o, c.title[d], c.body[d], c.author[d], c.url[d],
                        c.date[d]);
    r.ix = tu_open(dir);
    assert_int_equal(trawl_searcher_new(&r.s, &err), 0);
    r.a = trawl_arena_new(1 << 16);

    static const char *const fixed[] = {
        "the of",          "of the",         "the of the",
        "new deal",        "the new deal",   "deal new",
        "the the",         "the -of",        "\"the of\" new",
        "title:the of",    "the (of OR new)", "th* of",
        "the author:doe",  "of site:uk the", "the of date:2021",
        "korea talks the", "the",            "the of new deal war peace",
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    const char *env = getenv("RV12_N");
    long nq = env != NULL ? atol(env) : 300;
    tu_seed(seed * 31 + 7);
    for (long i = 0; i < (long)nfixed + nq; i++) {
        char q[400];
        if ((size_t)i < nfixed)
            snprintf(q, sizeof(q), "%s", fixed[i]);
        else
            query(q, sizeof(q));
        if (q[0] == '\0')
            continue;
        trawl_query p;
        params(&p);
        check(&r, q, &p);
        /* the same query with the defaults too */
        if ((size_t)i < nfixed) {
            trawl_query_init(&p);
            check(&r, q, &p);
        }
    }
    if (r.nonempty * 2 < r.checked)
        fail_msg("only %zu of %zu queries found something", r.nonempty,
                 r.checked);
    /* the pruning must have been taken, else nothing was tested */
    if (r.pruned * 10 < r.pages)
        fail_msg("only %zu of %zu pages pruned", r.pruned, r.pages);
    print_message("%zu queries, %zu pages checked (%zu pruned)\n",
                  r.checked, r.pages, r.pruned);
    trawl_arena_free(r.a);
    trawl_searcher_free(r.s);
    trawl_index_release(r.ix);
    oracle_free(r.o);
    trawl_analyzer_free(r.an);
    tu_rm_rf(dir);
    tu_corpus_free(&c);
}

static void ranking_random_one_segment(void **state)
{
    (void)state;
    random_ranking_on(400, 1, 12);
}

static void ranking_random_segments(void **state)
{
    (void)state;
    random_ranking_on(600, 3, 13);
}

/* ---- text files --------------------------------------------------------- */

static int parse_text(trawl_article *a, const char *text)
{
    trawl_err err;
    memset(a, 0, sizeof(*a));
    return trawl_article_parse_text(a, "t.txt", text, strlen(text), 0, &err);
}

static void mail_from_nobody(void **state)
{
    (void)state;
    static const char *const nobody[] = {"<>", "< >", "\"\" <>"};
    for (size_t i = 0; i < sizeof(nobody) / sizeof(nobody[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text),
                 "From: %s\nSubject: Storm\nNewsgroups: sci.space\n\n"
                 "The harbour closed.\n", nobody[i]);
        trawl_article a;
        assert_int_equal(parse_text(&a, text), 0);
        assert_string_equal(a.title, "Storm");
        if (a.author != NULL)
            fail_msg("From: %s: byline [%s]", nobody[i], a.author);
        assert_string_equal(a.body, "The harbour closed.");
        trawl_article_clear(&a);
    }
    /* a name still reads */
    trawl_article a;
    assert_int_equal(parse_text(&a, "From: Ann Lee <ann@example.org>\n"
                                    "Subject: Storm\n\nBody.\n"),
                     0);
    assert_string_equal(a.author, "Ann Lee");
    trawl_article_clear(&a);
}

/* A file of "Key: value" lines only, with From: and To: but no Subject:
 * read as a mail header would leave no title and no body ("empty
 * article", where it was read before): it stays text. With a Subject, or
 * a body after it, it is a header. */
static void mail_header_alone(void **state)
{
    (void)state;
    trawl_article a;
    assert_int_equal(parse_text(&a, "From: Ann\nTo: Bob\nRe: lunch at one\n"),
                     0);
    assert_string_equal(a.title, "From: Ann");
    assert_string_equal(a.body, "To: Bob\nRe: lunch at one");
    assert_null(a.author);
    trawl_article_clear(&a);
    assert_int_equal(parse_text(&a, "From: Ann\nTo: Bob\n\nLunch at one.\n"),
                     0);
    assert_string_equal(a.author, "Ann");
    assert_string_equal(a.title, "Lunch at one.");
    trawl_article_clear(&a);
    assert_int_equal(parse_text(&a, "From: Ann\nSubject: Lunch\n"), 0);
    assert_string_equal(a.author, "Ann");
    assert_string_equal(a.title, "Lunch");
    trawl_article_clear(&a);
}

/* A header value folded right after its colon ("Subject:" and the text
 * on the next, indented line, as mailers fold long ones) has no space in
 * front. */
static void mail_folded_after_colon(void **state)
{
    (void)state;
    trawl_article a;
    assert_int_equal(parse_text(&a, "From:\n  Jane Doe <jd@example.org>\n"
                                    "Subject:\n\tShuttle launch\n  delayed\n"
                                    "Newsgroups: sci.space\n\nBody.\n"),
                     0);
    assert_string_equal(a.title, "Shuttle launch delayed");
    assert_string_equal(a.author, "Jane Doe");
    assert_string_equal(a.body, "Body.");
    trawl_article_clear(&a);
    assert_int_equal(parse_text(&a, "From: a@example.org\r\nSubject: \r\n"
                                    " Storm\r\n\r\nBody.\r\n"),
                     0);
    assert_string_equal(a.title, "Storm");
    trawl_article_clear(&a);
}

static void url_date_lines_alone(void **state)
{
    (void)state;
    static const char *const alone[] = {
        "https://news.example.com/a/1\n2012-05-03 10:00\n",
        "\nhttps://news.example.com/a/1\n\n2012-05-03 10:00\n\n\n",
        "2012-05-03 10:00\nhttps://news.example.com/a/1\n",
    };
    for (size_t i = 0; i < sizeof(alone) / sizeof(alone[0]); i++) {
        trawl_article a;
        if (parse_text(&a, alone[i]) != 0)
            fail_msg("[%s] not read", alone[i]);
        assert_non_null(a.title);
        assert_true(a.title_len > 0);
        trawl_article_clear(&a);
    }
    /* with a title after them, they are the url and the date */
    trawl_article a;
    assert_int_equal(parse_text(&a, "https://news.example.com/a/1\n"
                                    "2012-05-03 10:00\nStorm\nBody.\n"),
                     0);
    assert_string_equal(a.title, "Storm");
    assert_string_equal(a.url, "https://news.example.com/a/1");
    assert_true(a.date == 1336039200);
    trawl_article_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mail_from_nobody),
        cmocka_unit_test(mail_header_alone),
        cmocka_unit_test(mail_folded_after_colon),
        cmocka_unit_test(url_date_lines_alone),
        cmocka_unit_test(ranking_random_one_segment),
        cmocka_unit_test(ranking_random_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
