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

enum { Q_TERM, Q_PHRASE, Q_AND, Q_OR, Q_NOT };

#define Q_ANY_FIELD (-1)
#define Q_MAX_DEPTH 32
#define Q_MAX_LEAVES 64

typedef struct qnode {
    int kind;
    int field;            /* Q_ANY_FIELD or TRAWL_FIELD_* */
    uint32_t nterms;      /* TERM: 1; PHRASE: >= 2 */
    const char **terms;   /* analyzed terms */
    uint32_t *lens;
    uint32_t nkids;       /* AND, OR: >= 2; NOT: 1 */
    struct qnode **kids;
} qnode;

/*
 * Parse q into *out. Returns 0, TRAWL_EQUERY with "column N: reason" in
 * err, TRAWL_ENOMEM.
 */
int trawl__query_parse(qnode **out, trawl_analyzer *an, const char *q,
                       size_t len, trawl_arena *a, trawl_err *err);

/* Render the AST for explain output. */
void trawl__query_render(const qnode *n, trawl_buf *b);

/* Collect the positive (not negated) TERM and PHRASE leaves. */
size_t trawl__query_leaves(const qnode *n, const qnode **out, size_t cap);

#endif
