/*
 * Ranked search over an open index.
 *
 * A searcher holds what one thread needs to run queries (an analyzer with
 * its stem cache, scratch space); it is not thread-safe: use one per
 * thread. Everything a search returns is allocated from the arena passed
 * in and lives until that arena is reset or freed.
 *
 * Query syntax (see README): words (all must match), "quoted phrases",
 * OR, -word / NOT word, parentheses, prefix*, title:word, body:word.
 * Ranking is BM25F over title and body.
 */
#ifndef TRAWL_SEARCH_H
#define TRAWL_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/status.h"

typedef struct trawl_searcher trawl_searcher;

enum { TRAWL_SORT_SCORE = 0, TRAWL_SORT_DATE = 1, TRAWL_SORT_DATE_ASC = 2 };

#define TRAWL_MAX_LIMIT 1000
/* Default and largest proximity depth (trawl_query.prox_depth). */
#define TRAWL_PROX_DEPTH 30
#define TRAWL_MAX_PROX_DEPTH 100000

typedef struct trawl_query {
    const char *q;        /* query text, UTF-8 */
    size_t qlen;
    uint32_t limit;       /* hits to return, 0..TRAWL_MAX_LIMIT */
    uint32_t offset;      /* hits to skip */
    int sort;             /* TRAWL_SORT_* */
    double k1;            /* BM25 k1 (default 1.2) */
    double b;             /* BM25 b (default 0.75) */
    double w_title;       /* title field weight (default 3.0) */
    double w_body;        /* body field weight (default 1.0) */
    double w_prox;        /* proximity signal weight (default 1.0; 0 = off) */
    uint32_t prox_depth;  /* proximity is added to the prox_depth best
                             BM25F matches (default TRAWL_PROX_DEPTH;
                             0 = to every match); see trawl_search */
    int snippets;         /* 1: build a snippet per hit */
    uint32_t snippet_len; /* target snippet length in bytes (default 200) */
    int exact_total;      /* 1: always count every match exactly */
    int author_url;       /* 1: fill trawl_hit.author/url (reads the stored
                             body block; id, title, date never need it) */
    int explain;          /* 1: fill trawl_results.parsed */
} trawl_query;

/* Fill q with defaults (limit 10, offset 0, score sort, k1 1.2, b 0.75,
 * title 2.0, body 1.0, proximity 1.0 over the 30 best BM25F matches,
 * snippets on, 200 bytes). */
void trawl_query_init(trawl_query *q);

typedef struct trawl_range {
    uint32_t start; /* byte offset in the snippet text */
    uint32_t end;   /* one past the last byte */
} trawl_range;

typedef struct trawl_hit {
    const char *id;      /* external id (NUL-terminated) */
    size_t id_len;
    const char *title;   /* NUL-terminated */
    size_t title_len;
    int64_t date;        /* TRAWL_NO_DATE when unknown */
    const char *author;  /* NULL when absent or not asked for */
    size_t author_len;
    const char *url;     /* NULL when absent */
    size_t url_len;
    double score;
    const char *snippet; /* NULL unless snippets were asked for */
    size_t snippet_len;
    trawl_range *ranges; /* matched terms' byte ranges within snippet */
    size_t nranges;
} trawl_hit;

typedef struct trawl_results {
    uint64_t total;   /* matching documents */
    int total_exact;  /* 1: total is exact; 0: a lower bound */
    size_t nhits;
    trawl_hit *hits;
    const char *parsed; /* the query as parsed and analyzed (with
                           trawl_query.explain set, else NULL) */
    int sort;           /* the order of the hits: the query's sort, or
                           TRAWL_SORT_DATE for a query of filters only
                           (date:, author:, site:), which has no score */
} trawl_results;

int trawl_searcher_new(trawl_searcher **out, trawl_err *err);
void trawl_searcher_free(trawl_searcher *s); /* accepts NULL */

/*
 * An arena owned by the searcher, for callers that want a per-query arena
 * without allocating one each time: trawl_arena_reset() it before each
 * query (its warm blocks are kept); it is freed with the searcher.
 */
trawl_arena *trawl_searcher_arena(trawl_searcher *s);

/*
 * Run q against ix. Returns 0, TRAWL_EQUERY (syntax error; err->msg names
 * the column and the reason), TRAWL_EINVAL (bad option), TRAWL_ENOMEM,
 * TRAWL_ECORRUPT.
 */
int trawl_search(trawl_searcher *s, const trawl_index *ix,
                 const trawl_query *q, trawl_arena *arena,
                 trawl_results *out, trawl_err *err);

/* Count matching documents exactly (no ranking). */
int trawl_count(trawl_searcher *s, const trawl_index *ix, const char *q,
                size_t qlen, trawl_arena *arena, uint64_t *count,
                trawl_err *err);

#endif
