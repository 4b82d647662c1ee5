/*
 * The query parser. Grammar (whitespace separates items):
 *
 *   query   := or
 *   or      := and ( ("OR" | "||") and )*
 *   and     := unary ( ["AND" | "&&"] unary )*
 *   unary   := ( "-" | "NOT" ) unary | primary
 *   primary := "(" or ")" | field ":" ( "(" or ")" | "-" unary )
 *            | [field ":"] ( '"' words '"' | word )
 *
 * A field before a group or an exclusion applies to every word, phrase
 * and prefix inside that has no field of its own.
 *
 * A word is analyzed like document text: one token gives a TERM, several
 * (e.g. "U.S." or CJK) a PHRASE, none (punctuation) nothing at all.
 * Errors carry the 1-based column (in characters) where they were found.
 */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "internal.h"

typedef struct parser {
    const char *q;
    size_t len;
    size_t i;
    int depth;
    int leaves;
    int costly;      /* phrases and prefixes among the leaves */
    int field;       /* of an enclosing "title:(...)", else Q_ANY_FIELD */
    trawl_analyzer *an;
    trawl_arena *a;
    trawl_err *err;
} parser;

static size_t column(const parser *p, size_t at)
{
    size_t col = 1;
    for (size_t i = 0; i < at && i < p->len; i++)
        if (((unsigned char)p->q[i] & 0xc0) != 0x80)
            col++;
    return col;
}

static int fail(parser *p, size_t at, const char *why)
{
    return trawl_err_set(p->err, TRAWL_EQUERY, "column %zu: %s",
                         column(p, at), why);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static void skip_space(parser *p)
{
    while (p->i < p->len && is_space(p->q[p->i]))
        p->i++;
}

static int word_end_char(char c)
{
    return is_space(c) || c == '(' || c == ')' || c == '"';
}

/* Is the bare word at p->i exactly kw (followed by a word end)? */
static int at_keyword(const parser *p, const char *kw)
{
    size_t n = strlen(kw);
    return p->i + n <= p->len && memcmp(p->q + p->i, kw, n) == 0 &&
           (p->i + n == p->len || word_end_char(p->q[p->i + n]));
}

/* Length of the OR (or Lucene's "||") / AND ("&&") operator at p->i,
 * standing alone as a word; 0 if there is none. */
static size_t at_or(const parser *p)
{
    return at_keyword(p, "OR") || at_keyword(p, "||") ? 2 : 0;
}

static size_t at_and(const parser *p)
{
    return at_keyword(p, "AND") ? 3 : at_keyword(p, "&&") ? 2 : 0;
}

typedef struct collect {
    parser *p;
    const char **terms;
    uint32_t *lens;
    uint32_t n, cap;
    int rc;
    /* compounds of hyphenated words (trawl_token.parts), not in terms:
     * how many, and the first one's term, parts and place in terms */
    uint32_t ncpd, cparts, cpos;
    const char *cterm;
    uint32_t clen;
} collect;

static int on_term(void *payload, const trawl_token *t)
{
    collect *c = payload;
    if (t->parts != 0) {
        if (c->ncpd++ == 0) {
            c->cterm = trawl_arena_strndup(c->p->a, t->term, t->len);
            if (c->cterm == NULL)
                return TRAWL_ENOMEM;
            c->clen = (uint32_t)t->len;
            c->cparts = t->parts;
            c->cpos = c->n;
        }
        return 0;
    }
    if (c->n == c->cap) {
        uint32_t ncap = c->cap ? c->cap * 2 : 8;
        const char **nt = trawl_arena_alloc(c->p->a, ncap * sizeof(*nt));
        uint32_t *nl = trawl_arena_alloc(c->p->a, ncap * sizeof(*nl));
        if (nt == NULL || nl == NULL)
            return TRAWL_ENOMEM;
        if (c->n) {
            memcpy(nt, c->terms, c->n * sizeof(*nt));
            memcpy(nl, c->lens, c->n * sizeof(*nl));
        }
        c->terms = nt;
        c->lens = nl;
        c->cap = ncap;
    }
    char *s = trawl_arena_strndup(c->p->a, t->term, t->len);
    if (s == NULL)
        return TRAWL_ENOMEM;
    c->terms[c->n] = s;
    c->lens[c->n] = (uint32_t)t->len;
    c->n++;
    return 0;
}

/* Analyze text into a TERM or PHRASE node, or NULL if it has no terms.
 * A word or quote with a hyphenated chain ("e-mail", "COVID-19 vaccines")
 * is the OR of the phrase of its parts and the same with the chain's
 * compound instead: "e mail" or "email", "covid 19 vaccin" or "covid19
 * vaccin" (an article's "e-mail" holds both "email" and "e mail"; one
 * that writes "email" only the compound). A word with an apostrophe is
 * likewise itself or its letters run together ("o'brien" or "obrien").
 * Only the first such word has an alternative. */
static int make_leaf(parser *p, const char *text, size_t n, int field,
                     size_t at, qnode **out)
{
    collect c;
    memset(&c, 0, sizeof(c));
    c.p = p;
    *out = NULL;
    int rc = trawl_analyze(p->an, text, n, on_term, &c);
    if (rc != 0)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    if (c.n == 0)
        return 0;
    if (c.n > Q_MAX_PHRASE)
        return fail(p, at, "phrase too long (at most 64 words)");
    int chain = c.ncpd > 0 && c.cparts >= 1 && c.cpos + c.cparts <= c.n;
    p->leaves += chain ? 2 : 1;
    /* the phrase, and the compound's phrase if it is one */
    p->costly += (c.n > 1) + (chain && c.n - c.cparts + 1 > 1);
    if (p->leaves > Q_MAX_LEAVES)
        return fail(p, at, "too many terms (at most 256)");
    if (p->costly > Q_MAX_COSTLY)
        return fail(p, at, "too many phrases and prefixes (at most 64)");
    qnode *q = trawl_arena_calloc(p->a, 1, sizeof(*q));
    if (q == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    q->kind = c.n == 1 ? Q_TERM : Q_PHRASE;
    q->column = column(p, at);
    q->field = field;
    q->nterms = c.n;
    q->terms = c.terms;
    q->lens = c.lens;
    if (chain) {
        /* the terms before the chain, its compound, the terms after */
        uint32_t nt = c.n - c.cparts + 1;
        qnode *t = trawl_arena_calloc(p->a, 1, sizeof(*t));
        qnode *o = trawl_arena_calloc(p->a, 1, sizeof(*o));
        qnode **kids = trawl_arena_alloc(p->a, 2 * sizeof(*kids));
        const char **terms = trawl_arena_alloc(p->a, nt * sizeof(*terms));
        uint32_t *lens = trawl_arena_alloc(p->a, nt * sizeof(*lens));
        if (t == NULL || o == NULL || kids == NULL || terms == NULL ||
            lens == NULL)
            return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
        memcpy(terms, c.terms, c.cpos * sizeof(*terms));
        memcpy(lens, c.lens, c.cpos * sizeof(*lens));
        terms[c.cpos] = c.cterm;
        lens[c.cpos] = c.clen;
        uint32_t rest = c.n - c.cpos - c.cparts;
        memcpy(terms + c.cpos + 1, c.terms + c.cpos + c.cparts,
               rest * sizeof(*terms));
        memcpy(lens + c.cpos + 1, c.lens + c.cpos + c.cparts,
               rest * sizeof(*lens));
        t->kind = nt == 1 ? Q_TERM : Q_PHRASE;
        t->column = q->column;
        t->field = field;
        t->nterms = nt;
        t->terms = terms;
        t->lens = lens;
        kids[0] = t;
        kids[1] = q;
        o->kind = Q_OR;
        o->column = q->column;
        o->field = field;
        o->nkids = 2;
        o->kids = kids;
        q = o;
    }
    *out = q;
    return 0;
}

static int parse_or(parser *p, qnode **out);
static int parse_unary(parser *p, qnode **out);
static int parse_leaf(parser *p, int field, size_t start, qnode **out);
static int parse_site(parser *p, size_t start, qnode **out);
static qnode *node(parser *p, int kind, qnode **kids, uint32_t n);

/* Pseudo-fields that take a date instead of text. */
enum { F_DATE = -2, F_AFTER = -3, F_BEFORE = -4 };
/* Pseudo-fields matched but not scored: the author's words, the URL's
 * host (a FILTER node's field says which). */
enum { F_AUTHOR = TRAWL_NFIELDS, F_SITE };

/* Parse YYYY, YYYY-MM or YYYY-MM-DD into the first and last second of
 * that period. 0 or -1. */
static int parse_period(const char *s, size_t n, int64_t *first,
                        int64_t *last)
{
    unsigned v[3] = {0, 1, 1};
    size_t parts = 0, i = 0;
    static const size_t width[3] = {4, 2, 2};
    while (parts < 3) {
        if (i + width[parts] > n)
            return -1;
        unsigned x = 0;
        for (size_t k = 0; k < width[parts]; k++) {
            char c = s[i + k];
            if (c < '0' || c > '9')
                return -1;
            x = x * 10 + (unsigned)(c - '0');
        }
        v[parts++] = x;
        i += width[parts - 1];
        if (i == n)
            break;
        if (s[i] != '-')
            return -1;
        i++;
    }
    if (i != n || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
        return -1;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
    int leap = v[0] % 4 == 0 && (v[0] % 100 != 0 || v[0] % 400 == 0);
    if (v[2] > mdays[v[1] - 1] || (v[1] == 2 && v[2] == 29 && !leap))
        return -1;
    int64_t start = trawl__days_from_civil(v[0], (int)v[1], (int)v[2]);
    int64_t end;
    if (parts == 1)
        end = trawl__days_from_civil((int64_t)v[0] + 1, 1, 1);
    else if (parts == 2)
        end = v[1] == 12 ? trawl__days_from_civil((int64_t)v[0] + 1, 1, 1)
                         : trawl__days_from_civil(v[0], (int)v[1] + 1, 1);
    else
        end = start + 1;
    *first = start * 86400;
    *last = end * 86400 - 1;
    return 0;
}

static int make_date(parser *p, int field, const char *v, size_t n,
                     size_t at, qnode **out)
{
    int64_t from = INT64_MIN + 1, to = INT64_MAX, f, l;
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (v[i] == '.' && v[i + 1] == '.') {
            dots = v + i;
            break;
        }
    int ok = 1;
    if (field == F_DATE && dots != NULL) {
        size_t ln = (size_t)(dots - v), rn = n - ln - 2;
        if (ln == 0 && rn == 0)
            ok = 0;
        if (ok && ln > 0 && parse_period(v, ln, &f, &l) == 0)
            from = f;
        else if (ln > 0)
            ok = 0;
        if (ok && rn > 0 && parse_period(dots + 2, rn, &f, &l) == 0)
            to = l;
        else if (rn > 0)
            ok = 0;
    } else if (parse_period(v, n, &f, &l) == 0) {
        if (field == F_DATE) {
            from = f;
            to = l;
        } else if (field == F_AFTER) {
            from = f;
        } else {
            to = f - 1;
        }
    } else {
        ok = 0;
    }
    if (!ok)
        return fail(p, at, "bad date (use YYYY-MM-DD, YYYY-MM or YYYY; "
                           "ranges as date:FROM..TO)");
    if (from > to)
        return fail(p, at, "empty date range (FROM is after TO)");
    qnode *q = trawl_arena_calloc(p->a, 1, sizeof(*q));
    if (q == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    q->kind = Q_DATE;
    q->field = Q_ANY_FIELD;
    q->from = from;
    q->to = to;
    q->column = column(p, at);
    *out = q;
    return 0;
}

static qnode *node(parser *p, int kind, qnode **kids, uint32_t n);

typedef struct fold1 {
    char term[TRAWL_MAX_TERM + 1]; /* the first word */
    size_t len;
    int n;                          /* words */
    char cterm[TRAWL_MAX_TERM + 1]; /* the first compound (parts > 0) */
    size_t clen;
    uint32_t cparts;
    int ncpd;
} fold1;

static int on_folded(void *payload, const trawl_token *t)
{
    fold1 *f = payload;
    if (t->parts != 0) {
        if (f->ncpd++ == 0) {
            memcpy(f->cterm, t->term, t->len);
            f->clen = t->len;
            f->cparts = t->parts;
        }
        return 0;
    }
    if (f->n++ == 0) {
        memcpy(f->term, t->term, t->len);
        f->len = t->len;
    }
    return 0;
}

/* A PREFIX node for term[0..len), or NULL out of memory. */
static qnode *prefix_node(parser *p, const char *term, size_t len, int field,
                          size_t at)
{
    qnode *q = trawl_arena_calloc(p->a, 1, sizeof(*q));
    const char **terms = trawl_arena_alloc(p->a, sizeof(*terms));
    uint32_t *lens = trawl_arena_alloc(p->a, sizeof(*lens));
    char *s = trawl_arena_strndup(p->a, term, len);
    if (q == NULL || terms == NULL || lens == NULL || s == NULL)
        return NULL;
    terms[0] = s;
    lens[0] = (uint32_t)len;
    q->kind = Q_PREFIX;
    q->field = field;
    q->nterms = 1;
    q->terms = terms;
    q->lens = lens;
    q->column = column(p, at);
    return q;
}

/* word* is a prefix of the folded (not stemmed) terms. A word with an
 * apostrophe is it or its letters run together ("o'bri*": o'bri* OR
 * obri*, as "o'brien" is also indexed as obrien); a hyphenated chain is
 * its compound ("e-mai*": emai*, which its text is indexed as too). */
static int make_prefix(parser *p, const char *text, size_t n, int field,
                       size_t at, qnode **out)
{
    fold1 f;
    memset(&f, 0, sizeof(f));
    if (trawl_analyze_folded(p->an, text, n, on_folded, &f) != 0)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    if (f.n == 0)
        return fail(p, at, "prefix* needs letters or digits before '*'");
    int chain = f.ncpd == 1 && f.cparts >= 2 && f.cparts == (uint32_t)f.n;
    int apos = f.ncpd == 1 && f.cparts == 1 && f.n == 1;
    if (f.n > 1 && !chain)
        return fail(p, at, "prefix* must be a single word");
    int k = apos ? 2 : 1;
    if ((p->leaves += k) > Q_MAX_LEAVES)
        return fail(p, at, "too many terms (at most 256)");
    if ((p->costly += k) > Q_MAX_COSTLY)
        return fail(p, at, "too many phrases and prefixes (at most 64)");
    qnode *q = chain ? prefix_node(p, f.cterm, f.clen, field, at)
                     : prefix_node(p, f.term, f.len, field, at);
    if (q != NULL && apos) {
        qnode *kids[2] = {q, prefix_node(p, f.cterm, f.clen, field, at)};
        q = kids[1] != NULL ? node(p, Q_OR, kids, 2) : NULL;
        if (q != NULL) {
            q->field = field;
            q->column = kids[0]->column;
        }
    }
    if (q == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    *out = q;
    return 0;
}

static qnode *node(parser *p, int kind, qnode **kids, uint32_t n)
{
    qnode *q = trawl_arena_calloc(p->a, 1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->kind = kind;
    q->field = Q_ANY_FIELD;
    q->kids = trawl_arena_alloc(p->a, n * sizeof(*kids));
    if (q->kids == NULL)
        return NULL;
    memcpy(q->kids, kids, n * sizeof(*kids));
    q->nkids = n;
    return q;
}

/* Does name[0, n) spell word (lower case ASCII) in any case? */
static int field_is(const char *name, size_t n, const char *word)
{
    if (strlen(word) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((name[i] | 0x20) != word[i])
            return 0;
    return 1;
}

/* The field named name[0, n) (ASCII letters, in any case: "Title:" and
 * "TITLE:" are typed too), or Q_ANY_FIELD if none is. */
static int known_field(const char *name, size_t n)
{
    if (field_is(name, n, "title"))
        return TRAWL_FIELD_TITLE;
    if (field_is(name, n, "body"))
        return TRAWL_FIELD_BODY;
    if (field_is(name, n, "author"))
        return F_AUTHOR;
    if (field_is(name, n, "site"))
        return F_SITE;
    if (field_is(name, n, "date"))
        return F_DATE;
    if (field_is(name, n, "after"))
        return F_AFTER;
    if (field_is(name, n, "before"))
        return F_BEFORE;
    return Q_ANY_FIELD;
}

static int parse_field(parser *p, int *field)
{
    /* name ':' where name is ASCII letters; only known names qualify. */
    size_t j = p->i;
    while (j < p->len && ((p->q[j] >= 'a' && p->q[j] <= 'z') ||
                          (p->q[j] >= 'A' && p->q[j] <= 'Z')))
        j++;
    *field = Q_ANY_FIELD;
    if (j == p->i || j >= p->len || p->q[j] != ':')
        return 0;
    /* A known field, spaces, then something to search: "title: storm",
     * "date: 2024" (as Lucene reads them). They were the words "title"
     * and "storm", and found nothing. */
    if (j + 1 < p->len && is_space(p->q[j + 1])) {
        size_t k = j + 1;
        while (k < p->len && is_space(p->q[k]))
            k++;
        int known = known_field(p->q + p->i, j - p->i);
        static const char *const ops[] = {"OR", "AND", "NOT", "||", "&&"};
        int keyword = 0; /* an operator follows, not the value */
        for (size_t w = 0; w < sizeof(ops) / sizeof(ops[0]); w++) {
            size_t wn = strlen(ops[w]);
            if (k + wn <= p->len && strncmp(p->q + k, ops[w], wn) == 0 &&
                (k + wn == p->len || is_space(p->q[k + wn])))
                keyword = 1;
        }
        /* "after: the war", "Date: unknown": words, not a date */
        int is_date = known == F_DATE || known == F_AFTER ||
                      known == F_BEFORE;
        if (is_date && k < p->len && !(p->q[k] >= '0' && p->q[k] <= '9') &&
            p->q[k] != '.')
            known = Q_ANY_FIELD;
        if (known != Q_ANY_FIELD && k < p->len && p->q[k] != ')' &&
            !keyword &&
            !(p->q[k] == '-' && (k + 1 == p->len || is_space(p->q[k + 1])))) {
            *field = known;
            p->i = k;
            return 0;
        }
    }
    /* "name:" followed by nothing to search is plain text ("re:"). */
    if (j + 1 >= p->len || (word_end_char(p->q[j + 1]) &&
                            p->q[j + 1] != '"' && p->q[j + 1] != '('))
        return 0;
    /* A URL ("https://...") is text, not a field. */
    if (j + 2 < p->len && p->q[j + 1] == '/' && p->q[j + 2] == '/')
        return 0;
    size_t n = j - p->i;
    *field = known_field(p->q + p->i, n);
    if (*field == Q_ANY_FIELD) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "unknown field \"%.*s\" (fields: title, body, author, "
                 "site, date, after, before; quote other text with a "
                 "colon)",
                 (int)(n > 32 ? 32 : n), p->q + p->i);
        return fail(p, p->i, msg);
    }
    p->i = j + 1;
    return 0;
}

/* Mark n's terms as author terms (AUTHOR_MARK before each): they are
 * looked up, and prefixes expanded, among the author words. */
static int author_mark(parser *p, qnode *n)
{
    if (n->kind == Q_TERM || n->kind == Q_PHRASE || n->kind == Q_PREFIX) {
        const char **terms =
            trawl_arena_alloc(p->a, n->nterms * sizeof(*terms));
        uint32_t *lens = trawl_arena_alloc(p->a, n->nterms * sizeof(*lens));
        if (terms == NULL || lens == NULL)
            return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n->nterms; i++) {
            char *t = trawl_arena_alloc(p->a, (size_t)n->lens[i] + 2);
            if (t == NULL)
                return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
            t[0] = (char)AUTHOR_MARK;
            memcpy(t + 1, n->terms[i], n->lens[i]);
            t[n->lens[i] + 1] = '\0';
            terms[i] = t;
            lens[i] = n->lens[i] + 1;
        }
        n->terms = terms;
        n->lens = lens;
    }
    n->field = Q_ANY_FIELD;
    for (uint32_t i = 0; i < n->nkids; i++) {
        int rc = author_mark(p, n->kids[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* site:HOST or site:"HOST": the term of the host as the writer reads
 * an article's URL (trawl__site_host), under a FILTER. */
static int parse_site(parser *p, size_t start, qnode **out)
{
    size_t s = p->i, e;
    if (p->i < p->len && p->q[p->i] == '"') {
        size_t open = p->i++;
        s = p->i;
        while (p->i < p->len && p->q[p->i] != '"')
            p->i++;
        if (p->i >= p->len)
            return fail(p, open, "unterminated quote");
        e = p->i++;
    } else {
        while (p->i < p->len && !word_end_char(p->q[p->i]))
            p->i++;
        e = p->i;
    }
    char host[1 + SITE_HOST_MAX];
    size_t n = trawl__site_host(p->q + s, e - s, host + 1);
    if (n == 0)
        return fail(p, start, "site: takes a host name (site:example.com)");
    if (++p->leaves > Q_MAX_LEAVES)
        return fail(p, start, "too many terms (at most 256)");
    host[0] = (char)SITE_MARK;
    qnode *t = trawl_arena_calloc(p->a, 1, sizeof(*t));
    const char **terms = trawl_arena_alloc(p->a, sizeof(*terms));
    uint32_t *lens = trawl_arena_alloc(p->a, sizeof(*lens));
    char *term = trawl_arena_strndup(p->a, host, n + 1);
    if (t == NULL || terms == NULL || lens == NULL || term == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    terms[0] = term;
    lens[0] = (uint32_t)(n + 1);
    t->kind = Q_TERM;
    t->field = Q_ANY_FIELD;
    t->nterms = 1;
    t->terms = terms;
    t->lens = lens;
    t->column = column(p, start);
    qnode *f = node(p, Q_FILTER, &t, 1);
    if (f == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    f->field = F_SITE;
    f->column = t->column;
    *out = f;
    return 0;
}

/* author:x: x's terms marked, under a FILTER (matched, never scored). */
static int author_wrap(parser *p, qnode **out)
{
    int rc = author_mark(p, *out);
    if (rc < 0)
        return rc;
    size_t col = (*out)->column;
    qnode *f = node(p, Q_FILTER, out, 1);
    if (f == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    f->field = F_AUTHOR;
    f->column = col;
    *out = f;
    return 0;
}

static int parse_primary(parser *p, qnode **out)
{
    *out = NULL;
    skip_space(p);
    if (p->i >= p->len)
        return fail(p, p->i, "expected a term");
    char c = p->q[p->i];
    if (c == ')')
        return fail(p, p->i, "unexpected ')'");
    if (c == '(') {
        size_t open = p->i++;
        if (++p->depth > Q_MAX_DEPTH)
            return fail(p, open, "parentheses nested too deeply");
        int rc = parse_or(p, out);
        if (rc < 0)
            return rc;
        skip_space(p);
        if (p->i >= p->len || p->q[p->i] != ')')
            return fail(p, open, "'(' is never closed");
        p->i++;
        p->depth--;
        return 0;
    }
    size_t start = p->i;
    int field;
    int rc = parse_field(p, &field);
    if (rc < 0)
        return rc;
    if (p->field == F_AUTHOR && field != Q_ANY_FIELD && field != F_AUTHOR)
        return fail(p, start, "author:(...) holds words, phrases and "
                              "prefixes, not other fields");
    if (p->field == F_SITE && field != Q_ANY_FIELD && field != F_SITE)
        return fail(p, start, "site:(...) holds host names, not other "
                              "fields");
    if (field >= 0 && p->i < p->len &&
        (p->q[p->i] == '(' || p->q[p->i] == '-')) {
        /* title:(a OR b), title:-a: the field for everything inside */
        int outer = p->field;
        p->field = field;
        rc = p->q[p->i] == '(' ? parse_primary(p, out) : parse_unary(p, out);
        p->field = outer;
        return rc;
    }
    if (field == Q_ANY_FIELD)
        field = p->field;
    if (field == F_AUTHOR) {
        rc = parse_leaf(p, Q_ANY_FIELD, start, out);
        return rc == 0 && *out != NULL ? author_wrap(p, out) : rc;
    }
    if (field == F_SITE)
        return parse_site(p, start, out);
    return parse_leaf(p, field, start, out);
}

/* A date, a quote, a prefix or a word, in field (not F_AUTHOR). */
static int parse_leaf(parser *p, int field, size_t start, qnode **out)
{
    int rc;
    if (field <= F_DATE) {
        size_t s = p->i;
        while (p->i < p->len && !word_end_char(p->q[p->i]))
            p->i++;
        return make_date(p, field, p->q + s, p->i - s, start, out);
    }
    if (p->i < p->len && p->q[p->i] == '"') {
        size_t open = p->i++;
        size_t s = p->i;
        while (p->i < p->len && p->q[p->i] != '"')
            p->i++;
        if (p->i >= p->len)
            return fail(p, open, "unterminated quote");
        size_t e = p->i++;
        /* "united sta*", "united * america": web search habits that
         * were the phrases "unit sta" and "unit america", silently */
        for (size_t k = s; k < e; k++)
            if (p->q[k] == '*' && (k + 1 == e || is_space(p->q[k + 1])))
                return fail(p, k, "a quote cannot hold '*': a prefix is "
                                  "a word of its own (united sta*), a "
                                  "quote the exact words");
        uint32_t slop = 0;
        if (p->i < p->len && p->q[p->i] == '~') {
            size_t at = p->i++;
            uint64_t v = 0;
            size_t d = p->i;
            while (p->i < p->len && p->q[p->i] >= '0' && p->q[p->i] <= '9' &&
                   v <= Q_MAX_SLOP)
                v = v * 10 + (uint64_t)(p->q[p->i++] - '0');
            if (p->i == d || v > Q_MAX_SLOP ||
                (p->i < p->len && !word_end_char(p->q[p->i])))
                return fail(p, at, "'~' after a phrase takes a number of "
                                   "positions, 0..1000");
            slop = (uint32_t)v;
        }
        if ((rc = make_leaf(p, p->q + s, e - s, field, start, out)) < 0)
            return rc;
        if (*out != NULL && (*out)->kind == Q_PHRASE)
            (*out)->slop = slop;
        if (*out != NULL && (*out)->kind == Q_OR) /* a hyphenated word's */
            for (uint32_t k = 0; k < (*out)->nkids; k++)
                if ((*out)->kids[k]->kind == Q_PHRASE)
                    (*out)->kids[k]->slop = slop;
        return 0;
    }
    size_t s = p->i;
    while (p->i < p->len && !word_end_char(p->q[p->i]))
        p->i++;
    if (p->i == s)
        return fail(p, s, "expected a term");
    /* '"a b" ~3': with a space before it, ~3 was the word "3", which
     * the articles must hold as well (usually none does), while the
     * phrase was searched exactly. */
    if (p->q[s] == '~' && p->i - s > 1) {
        size_t k = s + 1, b = s;
        while (k < p->i && p->q[k] >= '0' && p->q[k] <= '9')
            k++;
        while (b > 0 && is_space(p->q[b - 1]))
            b--;
        if (k == p->i && b < s && b > 0 && p->q[b - 1] == '"')
            return fail(p, s, "'~N' goes right after the closing quote of "
                              "a phrase, without a space (\"a b\"~N)");
    }
    /* "word~2" (Lucene's fuzzy match) searched for the phrase "word 2"
     * and found nothing: say what ~N is for. */
    size_t t = p->i;
    while (t > s && p->q[t - 1] >= '0' && p->q[t - 1] <= '9')
        t--;
    if (t < p->i && t > s + 1 && p->q[t - 1] == '~' && p->q[t - 2] != '~')
        return fail(p, t - 1, "'~N' goes after a quoted phrase (\"a b\"~N, "
                              "words near each other); there is no fuzzy "
                              "match of a word");
    if (p->q[p->i - 1] == '*' && p->i - s > 1)
        return make_prefix(p, p->q + s, p->i - s - 1, field, start, out);
    return make_leaf(p, p->q + s, p->i - s, field, start, out);
}

static int parse_unary(parser *p, qnode **out)
{
    skip_space(p);
    size_t at = p->i;
    int neg = 0;
    if (p->i < p->len && p->q[p->i] == '-' && p->i + 1 < p->len &&
        !is_space(p->q[p->i + 1])) {
        p->i++;
        neg = 1;
    } else if (at_keyword(p, "NOT")) {
        p->i += 3;
        skip_space(p);
        if (p->i >= p->len)
            return fail(p, at, "NOT needs a term after it");
        neg = 1;
    }
    if (!neg)
        return parse_primary(p, out);
    if (++p->depth > Q_MAX_DEPTH)
        return fail(p, at, "query nested too deeply");
    qnode *kid;
    int rc = parse_unary(p, &kid);
    p->depth--;
    if (rc < 0)
        return rc;
    if (kid == NULL) {
        *out = NULL;
        return 0;
    }
    if (kid->kind == Q_NOT) { /* double negation */
        *out = kid->kids[0];
        return 0;
    }
    *out = node(p, Q_NOT, &kid, 1);
    return *out ? 0 : trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
}

static int push(parser *p, qnode ***v, uint32_t *n, uint32_t *cap, qnode *q)
{
    if (*n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        qnode **nv = trawl_arena_alloc(p->a, ncap * sizeof(*nv));
        if (nv == NULL)
            return TRAWL_ENOMEM;
        if (*n)
            memcpy(nv, *v, *n * sizeof(*nv));
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = q;
    return 0;
}

static int parse_and(parser *p, qnode **out)
{
    qnode **kids = NULL;
    uint32_t n = 0, cap = 0;
    for (;;) {
        skip_space(p);
        if (p->i >= p->len || p->q[p->i] == ')' || at_or(p))
            break;
        size_t and_len = at_and(p);
        if (and_len > 0) {
            size_t at = p->i;
            p->i += and_len;
            skip_space(p);
            if (n == 0 || p->i >= p->len || p->q[p->i] == ')' || at_or(p) ||
                at_and(p))
                return fail(p, at, "AND needs a term on both sides");
            continue;
        }
        qnode *q = NULL;
        int rc = parse_unary(p, &q);
        if (rc < 0)
            return rc;
        if (q != NULL && push(p, &kids, &n, &cap, q) != 0)
            return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    }
    if (n == 0)
        *out = NULL;
    else if (n == 1)
        *out = kids[0];
    else if ((*out = node(p, Q_AND, kids, n)) == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    return 0;
}

static int parse_or(parser *p, qnode **out)
{
    qnode **kids = NULL;
    uint32_t n = 0, cap = 0;
    size_t at = p->i;
    int saw_or = 0;
    for (;;) {
        skip_space(p);
        size_t here = p->i;
        qnode *q = NULL;
        int rc = parse_and(p, &q);
        if (rc < 0)
            return rc;
        skip_space(p);
        if (q == NULL && saw_or && p->i == here)
            return fail(p, at, "OR needs a term on both sides");
        if (q != NULL && push(p, &kids, &n, &cap, q) != 0)
            return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
        if (!at_or(p))
            break;
        at = p->i;
        if (q == NULL && p->i == here)
            return fail(p, at, "OR needs a term on both sides");
        p->i += at_or(p);
        saw_or = 1;
    }
    if (n == 0)
        *out = NULL;
    else if (n == 1)
        *out = kids[0];
    else if ((*out = node(p, Q_OR, kids, n)) == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    return 0;
}

/* Every AND needs a positive member; OR and the root may not be NOT.
 * in_or: n is an alternative of an OR (said so in the message). */
static int validate(parser *p, const qnode *n, int under_and, int in_or)
{
    const char *only_neg =
        in_or ? "an alternative of OR cannot consist only of excluded terms "
                "(each side of OR needs a term to match)"
              : "a query cannot consist only of excluded terms (add a term "
                "to match)";
    switch (n->kind) {
    case Q_NOT:
        if (!under_and)
            return fail(p, 0, only_neg);
        return validate(p, n->kids[0], 0, 0);
    case Q_AND: {
        int pos = 0;
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (n->kids[i]->kind != Q_NOT)
                pos = 1;
            if (validate(p, n->kids[i], 1, 0) < 0)
                return TRAWL_EQUERY;
        }
        return pos ? 0 : fail(p, 0, only_neg);
    }
    case Q_OR:
        for (uint32_t i = 0; i < n->nkids; i++)
            if (validate(p, n->kids[i], 0, 1) < 0)
                return TRAWL_EQUERY;
        return 0;
    default:
        return 0;
    }
}

/*
 * The ASCII character that a pasted Unicode one stands for in the query
 * syntax, and its length in bytes: Unicode spaces (no-break, ideographic,
 * ...) separate items like ' ', and typographic double quotes (“ ” „ ‟,
 * full-width ＂) quote a phrase like '"'. 0 for anything else. Word
 * processors and web pages put them in text that is pasted into a query:
 * “north korea” was the words north and korea, and "north\u00a0korea" a
 * phrase.
 */
static char ascii_mark(const unsigned char *u, size_t n, size_t *blen)
{
    if (n >= 2 && u[0] == 0xc2 && (u[1] == 0xa0 || u[1] == 0x85)) {
        *blen = 2;
        return ' ';
    }
    if (n < 3)
        return 0;
    *blen = 3;
    if (u[0] == 0xe2 && u[1] == 0x80) {
        if (u[2] >= 0x9c && u[2] <= 0x9f)
            return '"';
        if ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 ||
            u[2] == 0xaf)
            return ' ';
    }
    if ((u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) ||
        (u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) ||
        (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80))
        return ' ';
    if (u[0] == 0xef && u[1] == 0xbc && u[2] == 0x82)
        return '"';
    return 0;
}

/*
 * A minus as word processors and input methods write it (U+2212 MINUS
 * SIGN, U+2013 EN DASH that AutoCorrect makes of "-", U+FF0D FULL-WIDTH
 * HYPHEN-MINUS) where an item starts (at_item) and touching what follows:
 * its length, 3, for '-'; else 0. "storm \u2013ferry" excluded nothing and
 * found exactly the articles the user meant to leave out; inside an item
 * ("1990\u20132000", "Paris\u2013London") it stays the analyzer's.
 */
static size_t minus_mark(const unsigned char *u, size_t n, int at_item)
{
    if (!at_item || n < 4 || is_space((char)u[3]))
        return 0;
    if ((u[0] == 0xe2 && u[1] == 0x88 && u[2] == 0x92) ||
        (u[0] == 0xe2 && u[1] == 0x80 && u[2] == 0x93) ||
        (u[0] == 0xef && u[1] == 0xbc && u[2] == 0x8d))
        return 3;
    return 0;
}

/* A comma that is not inside a number ("10,000", "3,5") or a semicolon
 * separates items like a space: "obama,biden" was the phrase "obama
 * biden" and found nothing (Xapian splits there, FTS5 refuses it). */
static int list_mark(const char *q, size_t len, size_t i)
{
    if (q[i] == ';')
        return 1;
    if (q[i] != ',')
        return 0;
    return !(i > 0 && i + 1 < len && q[i - 1] >= '0' && q[i - 1] <= '9' &&
             q[i + 1] >= '0' && q[i + 1] <= '9');
}

/* q with ascii_mark()'s, minus_mark()'s and list_mark()'s characters
 * replaced (one character for one, so columns stay), in the arena; q
 * itself when it has none. */
static const char *ascii_marks(const char *q, size_t len, trawl_arena *a,
                               size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)q;
    char *o = NULL;
    size_t w = 0;
    *out_len = len;
    /* The item being read starts at q[item]; colon: it has a ':' so
     * far (a field's value or a URL: a comma there is its own, as in
     * "site:https://a.b/x,y" or "author:smith,jones"); name: it is
     * letters then that ':' ("author:", where a value starts). */
    size_t item = 0;
    int colon = 0, name = 1;
    for (size_t i = 0; i < len;) {
        size_t bl = 1;
        char c = 0;
        if (u[i] >= 0x80) {
            int at_item = i == item || (name && colon && q[i - 1] == ':');
            bl = minus_mark(u + i, len - i, at_item);
            if (bl > 0)
                c = '-';
            else
                c = ascii_mark(u + i, len - i, &bl);
        } else if (!colon && list_mark(q, len, i)) {
            c = ' ';
        }
        char now = c != 0 ? c : q[i];
        if (is_space(now) || now == '(' || now == ')') {
            item = i + bl;
            colon = 0;
            name = 1;
        } else if (now == ':' && !colon) {
            colon = 1;
            name = name && i > item;
        } else if (colon) {
            name = 0;
        } else if (!((now >= 'a' && now <= 'z') || (now >= 'A' && now <= 'Z'))) {
            name = 0;
        }
        if (c == 0) {
            if (o != NULL)
                o[w++] = q[i];
            i++;
            continue;
        }
        if (o == NULL) {
            o = trawl_arena_alloc(a, len + 1);
            if (o == NULL)
                return NULL;
            memcpy(o, q, i);
            w = i;
        }
        o[w++] = c;
        i += bl;
    }
    if (o == NULL)
        return q;
    o[w] = '\0';
    *out_len = w;
    return o;
}

int trawl__query_parse(qnode **out, trawl_analyzer *an, const char *q,
                       size_t len, trawl_arena *a, trawl_err *err)
{
    *out = NULL;
    if (!trawl_utf8_valid(q, len))
        return trawl_err_set(err, TRAWL_EQUERY, "query is not valid UTF-8");
    q = ascii_marks(q, len, a, &len);
    if (q == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    parser p = {q, len, 0, 0, 0, 0, Q_ANY_FIELD, an, a, err};
    qnode *root;
    int rc = parse_or(&p, &root);
    if (rc < 0)
        return rc;
    skip_space(&p);
    if (p.i < p.len)
        return fail(&p, p.i, "unexpected ')'");
    if (root == NULL)
        return fail(&p, 0, "empty query (no searchable words)");
    if ((rc = validate(&p, root, 0, 0)) < 0)
        return rc;
    *out = root;
    return 0;
}

static void render_leaf(const qnode *n, trawl_buf *b)
{
    if (n->field == TRAWL_FIELD_TITLE)
        trawl_buf_puts(b, "title:");
    else if (n->field == TRAWL_FIELD_BODY)
        trawl_buf_puts(b, "body:");
    if (n->kind == Q_PHRASE)
        trawl_buf_putc(b, '"');
    for (uint32_t i = 0; i < n->nterms; i++) {
        if (i)
            trawl_buf_putc(b, ' ');
        int mark = n->lens[i] > 0 &&
                   ((unsigned char)n->terms[i][0] == AUTHOR_MARK ||
                    (unsigned char)n->terms[i][0] == SITE_MARK);
        /* (shown by its FILTER) */
        trawl_buf_put(b, n->terms[i] + mark, n->lens[i] - (uint32_t)mark);
    }
    if (n->kind == Q_PHRASE)
        trawl_buf_putc(b, '"');
    if (n->kind == Q_PHRASE && n->slop > 0)
        trawl_buf_printf(b, "~%u", n->slop);
    if (n->kind == Q_PREFIX)
        trawl_buf_putc(b, '*');
}

static void render_date(int64_t t, trawl_buf *b)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    trawl_buf_printf(b, "%04lld-%02u-%02u", (long long)(y + (m <= 2)), m, d);
}

void trawl__query_render(const qnode *n, trawl_buf *b)
{
    switch (n->kind) {
    case Q_TERM:
    case Q_PHRASE:
    case Q_PREFIX:
        render_leaf(n, b);
        return;
    case Q_EMPTY:
        trawl_buf_puts(b, "<no such term>");
        return;
    case Q_DATE:
        trawl_buf_puts(b, "date:");
        if (n->from != INT64_MIN + 1)
            render_date(n->from, b);
        trawl_buf_puts(b, "..");
        if (n->to != INT64_MAX)
            render_date(n->to, b);
        return;
    case Q_NOT:
        trawl_buf_puts(b, "NOT ");
        trawl__query_render(n->kids[0], b);
        return;
    case Q_FILTER:
        trawl_buf_puts(b, n->field == F_SITE ? "site:(" : "author:(");
        trawl__query_render(n->kids[0], b);
        trawl_buf_putc(b, ')');
        return;
    default:
        trawl_buf_puts(b, n->kind == Q_AND ? "AND(" : "OR(");
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (i)
                trawl_buf_puts(b, ", ");
            trawl__query_render(n->kids[i], b);
        }
        trawl_buf_putc(b, ')');
    }
}

/* The distinct terms of an expansion: a hash set (open addressing, of
 * term index + 1) finds repeats, which every segment that has a term
 * adds again (compared one by one, 1000 terms from 9 segments took
 * milliseconds). */
#define EXP_SLOTS (2 * Q_MAX_EXPANSION) /* a power of two */

typedef struct expansion {
    trawl_arena *a;
    const char **terms;
    uint32_t *lens;
    uint32_t n, cap;
    int over;
    uint32_t slot[EXP_SLOTS];
} expansion;

static uint32_t exp_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int add_term(void *payload, const char *term, size_t len)
{
    expansion *e = payload;
    uint32_t j = exp_hash(term, len) & (EXP_SLOTS - 1);
    for (; e->slot[j] != 0; j = (j + 1) & (EXP_SLOTS - 1)) {
        uint32_t i = e->slot[j] - 1;
        if (e->lens[i] == len && memcmp(e->terms[i], term, len) == 0)
            return 0;
    }
    if (e->n == Q_MAX_EXPANSION) {
        e->over = 1;
        return 1;
    }
    if (e->n == e->cap) {
        uint32_t ncap = e->cap ? e->cap * 2 : 16;
        const char **nt = trawl_arena_alloc(e->a, ncap * sizeof(*nt));
        uint32_t *nl = trawl_arena_alloc(e->a, ncap * sizeof(*nl));
        if (nt == NULL || nl == NULL)
            return TRAWL_ENOMEM;
        if (e->n) {
            memcpy(nt, e->terms, e->n * sizeof(*nt));
            memcpy(nl, e->lens, e->n * sizeof(*nl));
        }
        e->terms = nt;
        e->lens = nl;
        e->cap = ncap;
    }
    char *s = trawl_arena_strndup(e->a, term, len);
    if (s == NULL)
        return TRAWL_ENOMEM;
    e->terms[e->n] = s;
    e->lens[e->n++] = (uint32_t)len;
    e->slot[j] = e->n;
    return 0;
}

/* A term of an expansion, to sort them in byte order. */
typedef struct exp_term {
    const char *s;
    uint32_t len;
} exp_term;

static int cmp_exp_term(const void *pa, const void *pb)
{
    const exp_term *a = pa, *b = pb;
    return trawl__cmp_bytes(a->s, a->len, b->s, b->len);
}

int trawl__query_expand(qnode *n, q_expand_fn expand, void *payload,
                        trawl_arena *a, trawl_err *err)
{
    if (n->kind == Q_AND || n->kind == Q_OR || n->kind == Q_NOT ||
        n->kind == Q_FILTER) {
        for (uint32_t i = 0; i < n->nkids; i++) {
            int rc = trawl__query_expand(n->kids[i], expand, payload, a, err);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if (n->kind != Q_PREFIX)
        return 0;
    expansion e;
    memset(&e, 0, sizeof(e));
    e.a = a;
    int rc = expand(payload, n->terms[0], n->lens[0], add_term, &e);
    if (rc < 0 && !e.over)
        return rc == TRAWL_ENOMEM
                   ? trawl_err_set(err, TRAWL_ENOMEM, "out of memory")
                   : rc;
    if (e.over)
        return trawl_err_set(err, TRAWL_EQUERY,
                             "column %zu: %.*s* matches more than %d terms; "
                             "use a longer prefix",
                             n->column, (int)n->lens[0], n->terms[0],
                             Q_MAX_EXPANSION);
    if (e.n == 0) {
        n->kind = Q_EMPTY;
        return 0;
    }
    if (e.n == 1) {
        n->kind = Q_TERM;
        n->terms = e.terms;
        n->lens = e.lens;
        return 0;
    }
    /* Byte order, whatever the segments' order: a document's score sums
     * its words' parts in the kids' order, so that it is the same to the
     * last bit however the index is divided into segments. */
    exp_term *et = trawl_arena_alloc(a, e.n * sizeof(*et));
    qnode **kids = trawl_arena_alloc(a, e.n * sizeof(*kids));
    if (kids == NULL || et == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < e.n; i++) {
        et[i].s = e.terms[i];
        et[i].len = e.lens[i];
    }
    qsort(et, e.n, sizeof(*et), cmp_exp_term);
    for (uint32_t i = 0; i < e.n; i++) {
        e.terms[i] = et[i].s;
        e.lens[i] = et[i].len;
    }
    for (uint32_t i = 0; i < e.n; i++) {
        qnode *k = trawl_arena_calloc(a, 1, sizeof(*k));
        if (k == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        k->kind = Q_TERM;
        k->field = n->field;
        k->nterms = 1;
        k->terms = e.terms + i;
        k->lens = e.lens + i;
        k->column = n->column;
        kids[i] = k;
    }
    n->kind = Q_OR;
    n->prefix = n->terms[0];
    n->prefix_len = n->lens[0];
    n->kids = kids;
    n->nkids = e.n;
    n->nterms = 0;
    n->field = Q_ANY_FIELD;
    return 0;
}

size_t trawl__query_count_leaves(const qnode *n)
{
    if (n->kind == Q_NOT || n->kind == Q_FILTER)
        return 0;
    if (n->kind == Q_TERM || n->kind == Q_PHRASE)
        return 1;
    size_t k = 0;
    for (uint32_t i = 0; i < n->nkids; i++)
        k += trawl__query_count_leaves(n->kids[i]);
    return k;
}

size_t trawl__query_leaves(const qnode *n, const qnode **out, size_t cap)
{
    if (n->kind == Q_NOT || n->kind == Q_FILTER)
        return 0;
    if (n->kind == Q_TERM || n->kind == Q_PHRASE) {
        if (cap == 0)
            return 0;
        out[0] = n;
        return 1;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < n->nkids; i++)
        k += trawl__query_leaves(n->kids[i], out + k, cap - k);
    return k;
}
