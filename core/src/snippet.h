/*
 * Snippets: the best window of a document's body for a query, with the
 * byte ranges of what matched. The body is re-analyzed with the same
 * analyzer the index used, so ranges are exact byte offsets; a phrase
 * highlights only where its words stand together.
 */
#ifndef TRAWL_SNIPPET_H
#define TRAWL_SNIPPET_H

#include <stddef.h>

#include "query.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/search.h"

/*
 * Build a snippet of about target bytes from text for the positive leaves
 * of q. Whitespace runs are collapsed to one space in the snippet; ranges
 * are byte offsets into the snippet. The snippet and its ranges are
 * allocated from a; the tokens and matches it needs while choosing are
 * heap scratch, freed before it returns. Returns 0 or TRAWL_ENOMEM.
 */
int trawl__snippet(trawl_analyzer *an, const qnode *q, const char *text,
                   size_t len, size_t target, trawl_arena *a,
                   const char **out, size_t *out_len, trawl_range **ranges,
                   size_t *nranges);

/*
 * Scratch for the tokens and matches of snippets, kept between calls so
 * that a query allocates nothing for them beyond its arena (the arena
 * only gets each snippet and its ranges: kept there, the scratch of a
 * page of long bodies made it hundreds of MB). More than 1 MiB of it is
 * given back after the call that grew it. Zero-initialize.
 */
typedef struct snip_scratch {
    void *toks, *ms, *ids;
    size_t toks_cap, ms_cap, ids_cap; /* elements */
} snip_scratch;

/* trawl__snippet with the caller's scratch. */
int trawl__snippet_in(trawl_analyzer *an, snip_scratch *sb, const qnode *q,
                      const char *text, size_t len, size_t target,
                      trawl_arena *a, const char **out, size_t *out_len,
                      trawl_range **ranges, size_t *nranges);
void trawl__snip_scratch_free(snip_scratch *sb);

#endif
