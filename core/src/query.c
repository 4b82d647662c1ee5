/*
 * The query parser. Grammar (whitespace separates items):
 *
 *   query   := or
 *   or      := and ( "OR" and )*
 *   and     := unary ( ["AND"] unary )*
 *   unary   := ( "-" | "NOT" ) unary | primary
 *   primary := "(" or ")" | [field ":"] ( '"' words '"' | word )
 *
 * A word is analyzed like document text: one token gives a TERM, several
 * (e.g. "U.S." or CJK) a PHRASE, none (punctuation) nothing at all.
 * Errors carry the 1-based column (in characters) where they were found.
 */
#include "query.h"

#include <stdio.h>
#include <string.h>

#include "format.h"
#include "internal.h"

typedef struct parser {
    const char *q;
    size_t len;
    size_t i;
    int depth;
    int leaves;
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

typedef struct collect {
    parser *p;
    const char **terms;
    uint32_t *lens;
    uint32_t n, cap;
    int rc;
} collect;

static int on_term(void *payload, const trawl_token *t)
{
    collect *c = payload;
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

/* Analyze text into a TERM or PHRASE node, or NULL if it has no terms. */
static int make_leaf(parser *p, const char *text, size_t n, int field,
                     int quoted, size_t at, qnode **out)
{
    collect c = {p, NULL, NULL, 0, 0, 0};
    *out = NULL;
    int rc = trawl_analyze(p->an, text, n, on_term, &c);
    if (rc != 0)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    if (c.n == 0)
        return 0;
    if (++p->leaves > Q_MAX_LEAVES)
        return fail(p, at, "too many terms (at most 64)");
    qnode *q = trawl_arena_calloc(p->a, 1, sizeof(*q));
    if (q == NULL)
        return trawl_err_set(p->err, TRAWL_ENOMEM, "out of memory");
    q->kind = c.n == 1 ? Q_TERM : Q_PHRASE;
    (void)quoted;
    q->field = field;
    q->nterms = c.n;
    q->terms = c.terms;
    q->lens = c.lens;
    *out = q;
    return 0;
}

static int parse_or(parser *p, qnode **out);

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
    /* "name:" followed by nothing to search is plain text ("re:"). */
    if (j + 1 >= p->len ||
        (word_end_char(p->q[j + 1]) && p->q[j + 1] != '"'))
        return 0;
    size_t n = j - p->i;
    if (n == 5 && strncmp(p->q + p->i, "title", 5) == 0)
        *field = TRAWL_FIELD_TITLE;
    else if (n == 4 && strncmp(p->q + p->i, "body", 4) == 0)
        *field = TRAWL_FIELD_BODY;
    else {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "unknown field \"%.*s\" (searchable fields: title, body)",
                 (int)(n > 32 ? 32 : n), p->q + p->i);
        return fail(p, p->i, msg);
    }
    p->i = j + 1;
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
    if (p->i < p->len && p->q[p->i] == '"') {
        size_t open = p->i++;
        size_t s = p->i;
        while (p->i < p->len && p->q[p->i] != '"')
            p->i++;
        if (p->i >= p->len)
            return fail(p, open, "unterminated quote");
        size_t e = p->i++;
        return make_leaf(p, p->q + s, e - s, field, 1, start, out);
    }
    size_t s = p->i;
    while (p->i < p->len && !word_end_char(p->q[p->i]))
        p->i++;
    if (p->i == s)
        return fail(p, s, "expected a term");
    return make_leaf(p, p->q + s, p->i - s, field, 0, start, out);
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
        if (p->i >= p->len || p->q[p->i] == ')' || at_keyword(p, "OR"))
            break;
        if (at_keyword(p, "AND")) {
            size_t at = p->i;
            p->i += 3;
            skip_space(p);
            if (n == 0 || p->i >= p->len || p->q[p->i] == ')' ||
                at_keyword(p, "OR") || at_keyword(p, "AND"))
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
        if (!at_keyword(p, "OR"))
            break;
        at = p->i;
        if (q == NULL && p->i == here)
            return fail(p, at, "OR needs a term on both sides");
        p->i += 2;
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

/* Every AND needs a positive member; OR and the root may not be NOT. */
static int validate(parser *p, const qnode *n, int under_and)
{
    static const char only_neg[] = "a query cannot consist only of excluded "
                                   "terms (add a term to match)";
    switch (n->kind) {
    case Q_NOT:
        if (!under_and)
            return fail(p, 0, only_neg);
        return validate(p, n->kids[0], 0);
    case Q_AND: {
        int pos = 0;
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (n->kids[i]->kind != Q_NOT)
                pos = 1;
            if (validate(p, n->kids[i], 1) < 0)
                return TRAWL_EQUERY;
        }
        return pos ? 0 : fail(p, 0, only_neg);
    }
    case Q_OR:
        for (uint32_t i = 0; i < n->nkids; i++)
            if (validate(p, n->kids[i], 0) < 0)
                return TRAWL_EQUERY;
        return 0;
    default:
        return 0;
    }
}

int trawl__query_parse(qnode **out, trawl_analyzer *an, const char *q,
                       size_t len, trawl_arena *a, trawl_err *err)
{
    parser p = {q, len, 0, 0, 0, an, a, err};
    *out = NULL;
    if (!trawl_utf8_valid(q, len))
        return trawl_err_set(err, TRAWL_EQUERY, "query is not valid UTF-8");
    qnode *root;
    int rc = parse_or(&p, &root);
    if (rc < 0)
        return rc;
    skip_space(&p);
    if (p.i < p.len)
        return fail(&p, p.i, "unexpected ')'");
    if (root == NULL)
        return trawl_err_set(err, TRAWL_EQUERY,
                             "empty query (no searchable words)");
    if ((rc = validate(&p, root, 0)) < 0)
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
        trawl_buf_put(b, n->terms[i], n->lens[i]);
    }
    if (n->kind == Q_PHRASE)
        trawl_buf_putc(b, '"');
}

void trawl__query_render(const qnode *n, trawl_buf *b)
{
    switch (n->kind) {
    case Q_TERM:
    case Q_PHRASE:
        render_leaf(n, b);
        return;
    case Q_NOT:
        trawl_buf_puts(b, "NOT ");
        trawl__query_render(n->kids[0], b);
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

size_t trawl__query_leaves(const qnode *n, const qnode **out, size_t cap)
{
    if (n->kind == Q_NOT)
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
