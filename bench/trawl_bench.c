/*
 * trawl_bench: trawl queries in process (linked against trawl_core).
 *
 *   trawl_bench query INDEX QUERIES [--threads 1,2,8] [--prox W]
 *                     [--depth N]
 *   trawl_bench known INDEX KNOWN [--prox W]... [--depth N]
 *   trawl_bench top INDEX QUERIES [--prox W] [--depth N]
 *
 * query: one untimed warm-up pass, then --repeat (3) timed passes per
 * thread count, of which the fastest is reported.
 * Each query asks for the top 10 by score, snippets off, default BM25F
 * (k1 1.2, b 0.75, title 2, body 1) and default total counting; a query
 * "costs" the search call including parsing and the ids and titles of the
 * 10 hits. One searcher and arena per thread, one shared index.
 *
 * known: MRR@10 and success@1/10 of "TARGET<TAB>query" lines, once per
 * --prox value given (the trawl_query w_prox proximity weight). TARGET may
 * be several ids separated by spaces (bench/gen_spans.py): a hit is any
 * of them, at the rank of the first. --depth sets trawl_query.prox_depth.
 *
 * top: each query, then its top 10 (rank, score, id, title), to look at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/search.h"

typedef struct tstate {
    trawl_searcher *s;
    trawl_arena *arena;
    const trawl_index *ix;
    bench_lines *qs;
    double prox;
    long depth; /* trawl_query.prox_depth, or -1 for the default */
} tstate;

static int search_one(tstate *st, const char *q, trawl_results *res)
{
    trawl_query tq;
    trawl_err err;
    int rc;

    trawl_arena_reset(st->arena);
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.limit = 10;
    tq.snippets = 0;
    tq.w_prox = st->prox;
    if (st->depth >= 0)
        tq.prox_depth = (uint32_t)st->depth;
    memset(&err, 0, sizeof(err));
    rc = trawl_search(st->s, st->ix, &tq, st->arena, res, &err);
    if (rc < 0) {
        fprintf(stderr, "trawl_bench: query \"%s\": %s\n", q, err.msg);
        return -1;
    }
    return 0;
}

static long run_query(void *state, size_t i)
{
    tstate *st = state;
    trawl_results res;
    if (search_one(st, st->qs->line[i], &res) < 0)
        return -1;
    return (long)res.nhits;
}

/* Is id one of the space-separated ids of targets? */
static int is_target(const char *targets, const char *id)
{
    size_t n = strlen(id);
    const char *t = targets;
    while (*t != '\0') {
        size_t m = strcspn(t, " ");
        if (m == n && memcmp(t, id, n) == 0)
            return 1;
        t += m;
        t += strspn(t, " ");
    }
    return 0;
}

static tstate *state_new(const trawl_index *ix, bench_lines *qs, double prox)
{
    tstate *st = bench_xmalloc(sizeof(*st));
    trawl_err err;
    memset(&err, 0, sizeof(err));
    if (trawl_searcher_new(&st->s, &err) < 0) {
        fprintf(stderr, "trawl_bench: %s\n", err.msg);
        exit(2);
    }
    st->arena = trawl_arena_new(1 << 16);
    if (st->arena == NULL) {
        fprintf(stderr, "trawl_bench: out of memory\n");
        exit(2);
    }
    st->ix = ix;
    st->qs = qs;
    st->prox = prox;
    st->depth = -1;
    return st;
}

static void state_free(tstate *st)
{
    trawl_searcher_free(st->s);
    trawl_arena_free(st->arena);
    free(st);
}

int main(int argc, char **argv)
{
    trawl_index *ix;
    trawl_err err;
    bench_lines qs;
    int levels[16] = {1}, nlevels = 1, i;
    double prox[8];
    int nprox = 0;
    long depth = -1;

    if (argc < 4) {
        fprintf(stderr, "usage: trawl_bench query|known|top INDEX FILE "
                        "[--threads 1,2,8] [--repeat N] [--prox W]... "
                        "[--depth N]\n");
        return 2;
    }
    for (i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            nlevels = bench_parse_levels(argv[i + 1], levels, 16);
        else if (strcmp(argv[i], "--repeat") == 0)
            bench_repeat = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--prox") == 0 && nprox < 8)
            prox[nprox++] = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--depth") == 0)
            depth = atol(argv[i + 1]);
    }
    if (nprox == 0)
        prox[nprox++] = 1.0; /* the trawl_query_init default */
    memset(&err, 0, sizeof(err));
    if (trawl_index_open(&ix, argv[2], &err) < 0) {
        fprintf(stderr, "trawl_bench: %s: %s\n", argv[2], err.msg);
        return 2;
    }
    bench_read_lines(argv[3], &qs);

    if (strcmp(argv[1], "query") == 0) {
        void *states[256];
        int maxt = 1, l, t;
        for (l = 0; l < nlevels; l++)
            if (levels[l] > maxt)
                maxt = levels[l];
        for (t = 0; t < maxt; t++) {
            states[t] = state_new(ix, &qs, prox[0]);
            ((tstate *)states[t])->depth = depth;
        }
        bench_pass_run("trawl", "inproc", run_query, states, 1, qs.n, 0);
        for (l = 0; l < nlevels; l++)
            bench_pass_run("trawl", "inproc", run_query, states, levels[l],
                           qs.n, 1);
        for (t = 0; t < maxt; t++)
            state_free(states[t]);
    } else if (strcmp(argv[1], "known") == 0) {
        int p;
        for (p = 0; p < nprox; p++) {
            tstate *st = state_new(ix, &qs, prox[p]);
            st->depth = depth;
            bench_known k;
            size_t errors = 0, n;
            char variant[64];
            memset(&k, 0, sizeof(k));
            for (n = 0; n < qs.n; n++) {
                char *line = strdup(qs.line[n]);
                const char *q, *target = bench_known_split(line, &q);
                trawl_results res;
                int rank = 0;
                size_t h;
                if (search_one(st, q, &res) < 0) {
                    errors++;
                } else {
                    for (h = 0; h < res.nhits && h < 10 && !rank; h++)
                        if (is_target(target, res.hits[h].id))
                            rank = (int)h + 1;
                }
                bench_known_add(&k, rank);
                free(line);
            }
            if (depth < 0) /* the default depth */
                snprintf(variant, sizeof(variant), "prox=%g", prox[p]);
            else
                snprintf(variant, sizeof(variant), "prox=%g depth=%ld",
                         prox[p], depth);
            bench_known_print("trawl", variant, &k, errors);
            state_free(st);
        }
    } else if (strcmp(argv[1], "top") == 0) {
        tstate *st = state_new(ix, &qs, prox[0]);
        size_t n, h;
        st->depth = depth;
        for (n = 0; n < qs.n; n++) {
            trawl_results res;
            printf("%s\n", qs.line[n]);
            if (search_one(st, qs.line[n], &res) < 0)
                continue;
            for (h = 0; h < res.nhits; h++)
                printf("  %2zu %8.4f %s  %s\n", h + 1, res.hits[h].score,
                       res.hits[h].id, res.hits[h].title);
        }
        state_free(st);
    } else {
        fprintf(stderr, "trawl_bench: unknown mode %s\n", argv[1]);
        return 2;
    }
    trawl_index_release(ix);
    return 0;
}
