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
 * are byte offsets into the snippet. Everything is allocated from a.
 * Returns 0 or TRAWL_ENOMEM.
 */
int trawl__snippet(trawl_analyzer *an, const qnode *q, const char *text,
                   size_t len, size_t target, trawl_arena *a,
                   const char **out, size_t *out_len, trawl_range **ranges,
                   size_t *nranges);

#endif
