/*
 * Brute-force BM25F oracle (see oracle.h). Deliberately simple: every
 * query is evaluated against every document by its definition.
 */
#include "oracle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "internal.h"

typedef struct otok {
    char term[TRAWL_MAX_TERM + 2]; /* an author term: its mark too */
    uint32_t len; /* strlen(term) */
    uint32_t pos;
} otok;

typedef struct odoc {
    otok *f[TRAWL_NFIELDS];
    size_t n[TRAWL_NFIELDS];   /* tokens, compounds included */
    size_t len[TRAWL_NFIELDS]; /* positions: the field's length */
    int64_t date;
} odoc;

struct oracle {
    trawl_analyzer *an;
    odoc *docs;
    size_t ndocs;
    void **allocs; /* query nodes made by expand(), freed with the oracle */
    size_t nallocs;
};

static void *keep(oracle *o, void *p)
{
    o->allocs = realloc(o->allocs, (o->nallocs + 1) * sizeof(void *));
    o->allocs[o->nallocs++] = p;
    return p;
}

typedef struct addctx {
    otok **v;
    size_t *n;
    size_t *len;
    size_t cap;
} addctx;

/* Every token at its position; a compound of hyphenated words
 * (trawl_token.parts) stands at its first part's and adds none. */
static int add_tok(void *payload, const trawl_token *t)
{
    addctx *c = payload;
    if (t->parts == 0)
        (*c->len)++;
    if (*c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        *c->v = realloc(*c->v, c->cap * sizeof(otok));
    }
    otok *o = &(*c->v)[*c->n];
    memcpy(o->term, t->term, t->len);
    o->term[t->len] = '\0';
    o->len = (uint32_t)t->len;
    o->pos = t->pos;
    (*c->n)++;
    return 0;
}

oracle *oracle_new(trawl_analyzer *an)
{
    oracle *o = calloc(1, sizeof(*o));
    o->an = an;
    return o;
}

void oracle_free(oracle *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->ndocs; i++)
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            free(o->docs[i].f[f]);
    free(o->docs);
    for (size_t i = 0; i < o->nallocs; i++)
        free(o->allocs[i]);
    free(o->allocs);
    free(o);
}

static void fail_len(size_t len)
{
    fprintf(stderr, "oracle: a site term of %zu bytes\n", len);
    abort();
}

static void add_site(odoc *d, int f, const char *url);

/* The field of the author and site terms: the body, or the title when
 * only it has words. */
static int author_field(const odoc *d)
{
    return d->len[TRAWL_FIELD_BODY] == 0 && d->len[TRAWL_FIELD_TITLE] > 0
               ? TRAWL_FIELD_TITLE
               : TRAWL_FIELD_BODY;
}

/* The site terms of url, in the field that holds the author's words. */
static void add_site_of(odoc *d, const char *url)
{
    if (url != NULL)
        add_site(d, author_field(d), url);
}

void oracle_add(oracle *o, const char *title, const char *body, int64_t date)
{
    oracle_add_full(o, title, body, NULL, NULL, date);
}

/* The site terms of url (format.h): its host and its SITE_MAX_TERMS - 1
 * shortest parent domains (an IP address alone), after the tokens of
 * field f, at position 0. */
static void add_site(odoc *d, int f, const char *url)
{
    char host[SITE_HOST_MAX];
    size_t n = trawl__site_host(url, strlen(url), host);
    if (n == 0)
        return;
    int ip = host[0] == '[' || (host[n - 1] >= '0' && host[n - 1] <= '9');
    /* the suffixes, longest first */
    const char *suf[SITE_HOST_MAX + 1];
    size_t ns = 0;
    suf[ns++] = host;
    for (size_t i = 0; i + 1 < n && !ip; i++)
        if (host[i] == '.')
            suf[ns++] = host + i + 1;
    for (size_t j = 0; j < ns; j++) {
        if (j > 0 && ns - j > SITE_MAX_TERMS - 1)
            continue; /* a middle parent of a deep host */
        size_t len = n - (size_t)(suf[j] - host);
        otok t;
        memset(&t, 0, sizeof(t));
        if (len + 1 >= sizeof(t.term))
            fail_len(len);
        t.term[0] = (char)SITE_MARK;
        memcpy(t.term + 1, suf[j], len);
        t.len = (uint32_t)len + 1;
        d->f[f] = realloc(d->f[f], (d->n[f] + 1) * sizeof(otok));
        d->f[f][d->n[f]++] = t;
    }
}

void oracle_add_full(oracle *o, const char *title, const char *body,
                     const char *author, const char *url, int64_t date)
{
    o->docs = realloc(o->docs, (o->ndocs + 1) * sizeof(odoc));
    odoc *d = &o->docs[o->ndocs++];
    memset(d, 0, sizeof(*d));
    d->date = date;
    const char *text[TRAWL_NFIELDS] = {title, body};
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        addctx c = {&d->f[f], &d->n[f], &d->len[f], 0};
        trawl_analyze(o->an, text[f], strlen(text[f]), add_tok, &c);
    }
    if (author == NULL) {
        add_site_of(d, url);
        return;
    }
    /* The author's words, as format.h defines author terms: AUTHOR_MARK
     * and the term, after the tokens of the body (the title when only it
     * has words), at their position in the byline, at most
     * AUTHOR_MAX_WORDS; no tokens of the field. */
    int f = author_field(d);
    otok *au = NULL;
    size_t nau = 0, aulen = 0;
    addctx c = {&au, &nau, &aulen, 0};
    trawl_analyze(o->an, author, strlen(author), add_tok, &c);
    for (size_t i = 0; i < nau && i < AUTHOR_MAX_WORDS; i++) {
        otok t;
        memset(&t, 0, sizeof(t));
        t.term[0] = (char)AUTHOR_MARK;
        memcpy(t.term + 1, au[i].term, au[i].len);
        t.len = au[i].len + 1;
        t.pos = au[i].pos;
        d->f[f] = realloc(d->f[f], (d->n[f] + 1) * sizeof(otok));
        d->f[f][d->n[f]++] = t;
    }
    free(au);
    add_site_of(d, url);
}

static uint32_t term_tf(const odoc *d, int f, const char *t, size_t len)
{
    uint32_t n = 0;
    for (size_t i = 0; i < d->n[f]; i++)
        if (d->f[f][i].len == len && memcmp(d->f[f][i].term, t, len) == 0)
            n++;
    return n;
}

/* Occurrences of the leaf (term or phrase) in field f of d. */
static uint32_t leaf_tf(const odoc *d, int f, const qnode *q)
{
    if (q->field != Q_ANY_FIELD && q->field != f)
        return 0;
    if (q->kind == Q_TERM)
        return term_tf(d, f, q->terms[0], q->lens[0]);
    uint32_t n = 0;
    if (q->slop > 0) {
        /* Near: each other word within span of an occurrence of the
         * first, either side, each at a position of its own: a word
         * the quote has r times needs r occurrences there (the first
         * word's own occurrence counts for it). */
        int64_t span = (int64_t)q->nterms - 1 + q->slop;
        for (size_t i = 0; i < d->n[f]; i++) {
            if (d->f[f][i].len != q->lens[0] ||
                memcmp(d->f[f][i].term, q->terms[0], q->lens[0]) != 0)
                continue;
            int64_t p0 = d->f[f][i].pos;
            int ok = 1;
            for (uint32_t k = 0; k < q->nterms && ok; k++) {
                uint32_t times = 0, there = 0;
                for (uint32_t m = 0; m < q->nterms; m++)
                    times += q->lens[m] == q->lens[k] &&
                             memcmp(q->terms[m], q->terms[k], q->lens[k]) == 0;
                for (size_t j = 0; j < d->n[f]; j++) {
                    int64_t pj = d->f[f][j].pos;
                    there += pj >= p0 - span && pj <= p0 + span &&
                             d->f[f][j].len == q->lens[k] &&
                             memcmp(d->f[f][j].term, q->terms[k],
                                    q->lens[k]) == 0;
                }
                ok = there >= times;
            }
            n += (uint32_t)ok;
        }
        return n;
    }
    /* exact: word k at the position k after the first's (tokens are in
     * position order; a compound and its first part share one) */
    for (size_t i = 0; i < d->n[f]; i++) {
        const otok *t0 = &d->f[f][i];
        if (t0->len != q->lens[0] ||
            memcmp(t0->term, q->terms[0], q->lens[0]) != 0)
            continue;
        uint32_t k = 1;
        for (size_t j = i + 1; j < d->n[f] && k < q->nterms; j++) {
            const otok *t = &d->f[f][j];
            if (t->pos < t0->pos + k)
                continue;
            if (t->pos > t0->pos + k)
                break;
            if (t->len == q->lens[k] &&
                memcmp(t->term, q->terms[k], q->lens[k]) == 0)
                k++;
        }
        if (k == q->nterms)
            n++;
    }
    return n;
}

static int matches(const odoc *d, const qnode *q)
{
    switch (q->kind) {
    case Q_TERM:
    case Q_PHRASE:
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            if (leaf_tf(d, f, q) > 0)
                return 1;
        return 0;
    case Q_DATE:
        return d->date != INT64_MIN && d->date >= q->from && d->date <= q->to;
    case Q_EMPTY:
        return 0;
    case Q_NOT:
        return !matches(d, q->kids[0]);
    case Q_FILTER:
        return matches(d, q->kids[0]);
    case Q_AND:
        for (uint32_t i = 0; i < q->nkids; i++)
            if (!matches(d, q->kids[i]))
                return 0;
        return 1;
    default:
        for (uint32_t i = 0; i < q->nkids; i++)
            if (matches(d, q->kids[i]))
                return 1;
        return 0;
    }
}

typedef struct params {
    double k1, b, w[TRAWL_NFIELDS], avg[TRAWL_NFIELDS], N;
    const oracle *o;
    const qnode *memo_q[256]; /* idf per leaf, computed once per query */
    double memo_idf[256];
    size_t nmemo;
} params;

static double leaf_idf(params *p, const qnode *q)
{
    for (size_t i = 0; i < p->nmemo; i++)
        if (p->memo_q[i] == q)
            return p->memo_idf[i];
    double idf = 0;
    for (uint32_t k = 0; k < q->nterms; k++) {
        double df = 0;
        for (size_t i = 0; i < p->o->ndocs; i++) {
            int has = 0;
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                has |= term_tf(&p->o->docs[i], f, q->terms[k], q->lens[k]) > 0;
            df += has;
        }
        idf += log(1.0 + (p->N - df + 0.5) / (df + 0.5));
    }
    if (p->nmemo < 256) {
        p->memo_q[p->nmemo] = q;
        p->memo_idf[p->nmemo++] = idf;
    }
    return idf;
}

static double score(params *p, const odoc *d, const qnode *q)
{
    switch (q->kind) {
    case Q_TERM:
    case Q_PHRASE: {
        double t = 0;
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            uint32_t tf = leaf_tf(d, f, q);
            if (tf == 0)
                continue;
            /* as the engine computes it (search.c, inv_norm) */
            double inv = 1 / ((1 - p->b) + p->b / p->avg[f] * (double)d->len[f]);
            t += p->w[f] * tf * inv;
        }
        if (t <= 0)
            return 0;
        return leaf_idf(p, q) * t * (p->k1 + 1) / (p->k1 + t);
    }
    case Q_NOT:
    case Q_DATE:
    case Q_EMPTY:
    case Q_FILTER:
        return 0;
    default: {
        double s = 0;
        for (uint32_t i = 0; i < q->nkids; i++)
            if (q->kids[i]->kind != Q_NOT && matches(d, q->kids[i]))
                s += score(p, d, q->kids[i]);
        return s;
    }
    }
}

/* Proximity, by its definition in search.c, over the oracle's tokens. */
static void prox_pairs(const qnode *n, const qnode **prev, const qnode **pa,
                       const qnode **pb, size_t *np)
{
    if (n->kind == Q_AND) {
        for (uint32_t i = 0; i < n->nkids; i++)
            prox_pairs(n->kids[i], prev, pa, pb, np);
        return;
    }
    if (n->kind != Q_TERM || n->field != Q_ANY_FIELD)
        return;
    if (*prev != NULL && *np < Q_MAX_LEAVES &&
        !((*prev)->lens[0] == n->lens[0] &&
                           memcmp((*prev)->terms[0], n->terms[0],
                                  n->lens[0]) == 0)) {
        pa[*np] = *prev;
        pb[*np] = n;
        (*np)++;
    }
    *prev = n;
}

static int is_term(const otok *t, const qnode *q)
{
    return t->len == q->lens[0] &&
           memcmp(t->term, q->terms[0], q->lens[0]) == 0;
}

static double prox(params *p, const odoc *d, const qnode *root, double w)
{
    const qnode *pa[Q_MAX_LEAVES], *pb[Q_MAX_LEAVES], *prev = NULL;
    size_t np = 0;
    prox_pairs(root, &prev, pa, pb, &np);
    double sum = 0;
    for (size_t k = 0; k < np; k++) {
        double acc = 0;
        int has_a = 0, has_b = 0;
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            for (size_t i = 0; i < d->n[f]; i++) {
                has_a |= is_term(&d->f[f][i], pa[k]);
                has_b |= is_term(&d->f[f][i], pb[k]);
                if (!is_term(&d->f[f][i], pa[k]))
                    continue;
                int64_t pp = d->f[f][i].pos;
                /* positions grow with the token index: neighbours within
                 * 5 positions are within 10 tokens (a compound shares
                 * a position with the next token) */
                size_t j0 = i > 10 ? i - 10 : 0;
                size_t j1 = i + 11 < d->n[f] ? i + 11 : d->n[f];
                for (size_t j = j0; j < j1; j++) {
                    int64_t q = d->f[f][j].pos;
                    int64_t dist = q > pp ? q - pp : pp - q;
                    if (dist < 1 || dist > 5 || !is_term(&d->f[f][j], pb[k]))
                        continue;
                    acc += (q > pp ? 1.0 : 0.5) / (double)(dist * dist);
                }
            }
        if (!has_a || !has_b || acc <= 0)
            continue;
        double ia = leaf_idf(p, pa[k]), ib = leaf_idf(p, pb[k]);
        double norm = (1 - p->b) + p->b / p->avg[1] * (double)d->len[1];
        /* the pair's weight: the larger idf, at least 1 */
        double pw = ia > ib ? ia : ib;
        if (pw < 1.0)
            pw = 1.0;
        sum += pw * acc * (p->k1 + 1) / (acc + p->k1 * norm);
    }
    return w * sum;
}

/* A query of filters only ranks newest first (undated last), then by
 * insertion order: oracle_search sets this for cmp_date. */
static const oracle *date_of;

static int cmp_date(const void *a, const void *b)
{
    const oracle_hit *x = a, *y = b;
    int64_t dx = date_of->docs[x->doc].date, dy = date_of->docs[y->doc].date;
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int cmp_hit(const void *a, const void *b)
{
    const oracle_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Replace PREFIX nodes by an OR of the corpus terms with that prefix
 * (the oracle's own expansion, from its documents). */
static void expand(oracle *o, qnode *q)
{
    if (q->kind == Q_AND || q->kind == Q_OR || q->kind == Q_NOT ||
        q->kind == Q_FILTER) {
        for (uint32_t i = 0; i < q->nkids; i++)
            expand(o, q->kids[i]);
        return;
    }
    if (q->kind != Q_PREFIX)
        return;
    const char *pre = q->terms[0];
    size_t plen = q->lens[0];
    char **found = NULL;
    size_t nf = 0;
    for (size_t i = 0; i < o->ndocs; i++)
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            for (size_t k = 0; k < o->docs[i].n[f]; k++) {
                const char *t = o->docs[i].f[f][k].term;
                if (strncmp(t, pre, plen) != 0)
                    continue;
                size_t j = 0;
                while (j < nf && strcmp(found[j], t) != 0)
                    j++;
                if (j == nf) {
                    found = realloc(found, (nf + 1) * sizeof(*found));
                    found[nf++] = (char *)t;
                }
            }
    if (nf == 0) {
        q->kind = Q_EMPTY;
        free(found);
        return;
    }
    qnode **kids = keep(o, calloc(nf, sizeof(*kids)));
    for (size_t j = 0; j < nf; j++) {
        qnode *k = keep(o, calloc(1, sizeof(*k)));
        k->kind = Q_TERM;
        k->field = q->field;
        k->nterms = 1;
        k->terms = keep(o, malloc(sizeof(char *)));
        k->lens = keep(o, malloc(sizeof(uint32_t)));
        k->terms[0] = keep(o, strdup(found[j]));
        k->lens[0] = (uint32_t)strlen(found[j]);
        kids[j] = k;
    }
    free(found);
    if (nf == 1) {
        *q = *kids[0];
        return;
    }
    q->kind = Q_OR;
    q->field = Q_ANY_FIELD;
    q->kids = kids;
    q->nkids = (uint32_t)nf;
}

oracle_hit *oracle_search(oracle *o, const qnode *q, double k1, double b,
                          double w_title, double w_body, double w_prox,
                          uint32_t prox_depth, size_t *n)
{
    expand(o, (qnode *)q);
    params p;
    memset(&p, 0, sizeof(p));
    p.k1 = k1;
    p.b = b;
    p.w[0] = w_title;
    p.w[1] = w_body;
    p.N = (double)o->ndocs;
    p.o = o;
    for (size_t i = 0; i < o->ndocs; i++)
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            p.avg[f] += (double)o->docs[i].len[f];
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        p.avg[f] = o->ndocs ? p.avg[f] / (double)o->ndocs : 0;
    oracle_hit *hits = malloc((o->ndocs + 1) * sizeof(*hits));
    *n = 0;
    for (size_t i = 0; i < o->ndocs; i++) {
        if (!matches(&o->docs[i], q))
            continue;
        hits[*n].doc = i;
        hits[*n].score = score(&p, &o->docs[i], q);
        (*n)++;
    }
    if (trawl__query_count_leaves(q) == 0) {
        date_of = o;
        qsort(hits, *n, sizeof(*hits), cmp_date);
        return hits;
    }
    qsort(hits, *n, sizeof(*hits), cmp_hit);
    /* Proximity for the prox_depth best by BM25F (0: all), ranked again;
     * the rest keep BM25F, never above a rescored one. */
    size_t nr = prox_depth == 0 || prox_depth > *n ? *n : prox_depth;
    if (w_prox > 0) {
        for (size_t i = 0; i < nr; i++)
            hits[i].score += prox(&p, &o->docs[hits[i].doc], q, w_prox);
        qsort(hits, nr, sizeof(*hits), cmp_hit);
    }
    return hits;
}
