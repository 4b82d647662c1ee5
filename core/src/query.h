/*
 * Query parsing: text -> AST of analyzed terms. Shared by search.c (which
 * evaluates the AST) and snippet.c (which highlights its positive terms).
 * All nodes live in the caller's arena.
 */
#ifndef TRAWL_QUERY_H
#define TRAWL_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/status.h"

/* Q_FILTER: its one kid (author or site terms, which start with
 * AUTHOR_MARK or SITE_MARK) must match, and adds nothing to the score;
 * its field says which (query.c). */
enum { Q_TERM, Q_PHRASE, Q_AND, Q_OR, Q_NOT, Q_PREFIX, Q_DATE, Q_EMPTY,
       Q_FILTER };

#define Q_ANY_FIELD (-1)
#define Q_MAX_DEPTH 32
#define Q_MAX_LEAVES 256 /* words, phrases and prefixes of a query */
#define Q_MAX_COSTLY 64  /* of which phrases and prefixes */
#define Q_MAX_PHRASE 64  /* words of a phrase */
#define Q_MAX_EXPANSION 1024 /* terms a prefix may expand to */
#define Q_MAX_SLOP 1000

typedef struct qnode {
    int kind;
    int field;            /* Q_ANY_FIELD or TRAWL_FIELD_* */
    uint32_t nterms;      /* TERM: 1; PHRASE: >= 2 */
    const char **terms;   /* analyzed terms */
    uint32_t *lens;
    uint32_t nkids;       /* AND, OR: >= 2; NOT, FILTER: 1 */
    struct qnode **kids;
    uint32_t slop;        /* PHRASE: 0 exact; N: words within N extra */
    int64_t from, to;     /* DATE: inclusive bounds, seconds since epoch */
    size_t column;        /* where the node starts in the query (1-based) */
    uint32_t leaf;        /* TERM/PHRASE: index among the positive leaves
                             (set by the searcher) */
    const char *prefix;   /* OR a prefix expanded to: the prefix (its kids
                             are TERMs, in byte order); else NULL */
    uint32_t prefix_len;
} qnode;

/*
 * Parse q into *out. Returns 0, TRAWL_EQUERY with "column N: reason" in
 * err, TRAWL_ENOMEM.
 */
int trawl__query_parse(qnode **out, trawl_analyzer *an, const char *q,
                       size_t len, trawl_arena *a, trawl_err *err);

/* Render the AST for explain output. */
void trawl__query_render(const qnode *n, trawl_buf *b);

/*
 * Replace every PREFIX node by an OR of the terms it expands to, in byte
 * order (or EMPTY, or the one TERM) using expand(payload, prefix, len,
 * add, add_payload), which calls add(add_payload, term, len) for each
 * dictionary term with that prefix (in any order, repeats allowed: once
 * per segment that has it).
 * Returns 0, TRAWL_EQUERY when a prefix expands to more than
 * Q_MAX_EXPANSION terms, TRAWL_ENOMEM.
 */
typedef int (*q_add_fn)(void *payload, const char *term, size_t len);
typedef int (*q_expand_fn)(void *payload, const char *prefix, size_t len,
                           q_add_fn add, void *add_payload);
int trawl__query_expand(qnode *root, q_expand_fn expand, void *payload,
                        trawl_arena *a, trawl_err *err);

/* Count the positive (not negated) TERM and PHRASE leaves; those of a
 * FILTER are not leaves (never scored). */
size_t trawl__query_count_leaves(const qnode *n);

/* Collect the positive (not negated) TERM and PHRASE leaves. */
size_t trawl__query_leaves(const qnode *n, const qnode **out, size_t cap);

#endif
