/*
 * A brute-force reference for ranked search: documents analyzed into
 * in-memory position lists, queries evaluated by scanning every document,
 * BM25F computed from the definition. Search results must equal it.
 */
#ifndef TRAWL_TEST_ORACLE_H
#define TRAWL_TEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "trawl/analyze.h"

typedef struct oracle oracle;

typedef struct oracle_hit {
    size_t doc; /* index in insertion order */
    double score;
} oracle_hit;

oracle *oracle_new(trawl_analyzer *an);
void oracle_free(oracle *o);
/* Add a document with its date (TRAWL_NO_DATE for none). */
void oracle_add(oracle *o, const char *title, const char *body, int64_t date);
/* The same with an author and a URL (NULL: none), searched by author:
 * and site: */
void oracle_add_full(oracle *o, const char *title, const char *body,
                     const char *author, const char *url, int64_t date);
/* Evaluate q with the given parameters; returns all matching documents
 * ranked by score (ties by insertion order; a query of filters only:
 * newest first, then insertion order); *n gets the count. The array
 * is malloc'd. Proximity (w_prox > 0) is added to the prox_depth best
 * documents by BM25F (0: to all), which are then ranked again. */
oracle_hit *oracle_search(oracle *o, const qnode *q, double k1, double b,
                          double w_title, double w_body, double w_prox,
                          uint32_t prox_depth, size_t *n);

#endif
