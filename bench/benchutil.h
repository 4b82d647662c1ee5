/*
 * Helpers shared by the benchmark programs (C and C++): clocks, reading the
 * query files, percentiles, a parallel query driver and JSON output.
 *
 * Every program prints one JSON object per line on stdout; bench/run.py
 * collects them.
 */
#ifndef TRAWL_BENCHUTIL_H
#define TRAWL_BENCHUTIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void *bench_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    return p;
}

/* Lines of a file, without their newlines; blank lines dropped. */
typedef struct bench_lines {
    char **line;
    size_t n;
} bench_lines;

static inline void bench_read_lines(const char *path, bench_lines *out)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    out->line = NULL;
    out->n = 0;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len == 0)
            continue;
        if (out->n == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            out->line = (char **)realloc(out->line, alloc * sizeof(char *));
            if (out->line == NULL) {
                fprintf(stderr, "bench: out of memory\n");
                exit(2);
            }
        }
        out->line[out->n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static inline double bench_pct(const double *v, size_t n, double p)
{
    size_t k;
    if (n == 0)
        return 0.0;
    k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/*
 * The parallel driver: `threads` workers take query numbers from a shared
 * counter until the set is exhausted (so every level runs the same queries
 * once) and call run(worker_state, i), which returns the hits found or -1
 * on error. Latency of each query is measured around run().
 */
typedef long (*bench_run_fn)(void *state, size_t i);

typedef struct bench_pass {
    bench_run_fn run;
    void **states; /* one per thread */
    size_t nq;
    double *lat;   /* seconds, per query */
    long *hits;
    size_t next;
    pthread_mutex_t mu;
} bench_pass;

typedef struct bench_worker {
    bench_pass *p;
    void *state;
} bench_worker;

static inline void *bench_worker_main(void *arg)
{
    bench_worker *w = (bench_worker *)arg;
    bench_pass *p = w->p;
    for (;;) {
        size_t i;
        double t0;
        pthread_mutex_lock(&p->mu);
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->nq)
            break;
        t0 = bench_now();
        p->hits[i] = p->run(w->state, i);
        p->lat[i] = bench_now() - t0;
    }
    return NULL;
}

/* Passes per thread count; the one with the shortest wall time is kept
 * (the least disturbed by other load). Set with --repeat. */
static int bench_repeat = 3;

typedef struct bench_stats {
    size_t errors;
    double wall, p50, p95, p99, mean_hits;
} bench_stats;

/* Run the set once with `threads` workers. */
static inline void bench_pass_once(bench_run_fn run, void **states,
                                   int threads, size_t nq, bench_stats *st)
{
    bench_pass p;
    pthread_t *tid = (pthread_t *)bench_xmalloc(sizeof(pthread_t) * (size_t)threads);
    bench_worker *ws = (bench_worker *)bench_xmalloc(sizeof(bench_worker) * (size_t)threads);
    double t0, *sorted;
    size_t i, ok = 0;
    double hits = 0.0;
    int t;

    memset(&p, 0, sizeof(p));
    memset(st, 0, sizeof(*st));
    p.run = run;
    p.states = states;
    p.nq = nq;
    p.lat = (double *)bench_xmalloc(sizeof(double) * nq);
    p.hits = (long *)bench_xmalloc(sizeof(long) * nq);
    pthread_mutex_init(&p.mu, NULL);
    t0 = bench_now();
    for (t = 0; t < threads; t++) {
        ws[t].p = &p;
        ws[t].state = states[t];
        if (pthread_create(&tid[t], NULL, bench_worker_main, &ws[t]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(2);
        }
    }
    for (t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    st->wall = bench_now() - t0;
    if (getenv("BENCH_LATENCIES") != NULL) {
        /* BENCH_LATENCIES=FILE: each query's latency in us, one per line
         * in query order: its fastest over the passes run so far (a
         * single pass is at the mercy of the machine's hiccups). */
        static double *best;
        static size_t nbest;
        if (best == NULL || nbest != nq) {
            free(best);
            best = (double *)bench_xmalloc(sizeof(double) * nq);
            nbest = nq;
            for (i = 0; i < nq; i++)
                best[i] = p.lat[i];
        }
        for (i = 0; i < nq; i++)
            if (p.lat[i] < best[i])
                best[i] = p.lat[i];
        FILE *lf = fopen(getenv("BENCH_LATENCIES"), "w");
        if (lf != NULL) {
            for (i = 0; i < nq; i++)
                fprintf(lf, "%.1f\n", best[i] * 1e6);
            fclose(lf);
        }
    }
    sorted = (double *)bench_xmalloc(sizeof(double) * nq);
    for (i = 0; i < nq; i++) {
        if (p.hits[i] < 0) {
            st->errors++;
            continue;
        }
        sorted[ok++] = p.lat[i];
        hits += (double)p.hits[i];
    }
    qsort(sorted, ok, sizeof(double), bench_cmp_double);
    st->p50 = bench_pct(sorted, ok, 50) * 1e6;
    st->p95 = bench_pct(sorted, ok, 95) * 1e6;
    st->p99 = bench_pct(sorted, ok, 99) * 1e6;
    st->mean_hits = ok ? hits / (double)ok : 0.0;
    free(sorted);
    free(p.lat);
    free(p.hits);
    free(tid);
    free(ws);
    pthread_mutex_destroy(&p.mu);
}

/* Run the set bench_repeat times with `threads` workers and print the
 * fastest pass (print 0: a warm-up, nothing printed, run once). */
static inline void bench_pass_run(const char *engine, const char *mode,
                                  bench_run_fn run, void **states,
                                  int threads, size_t nq, int print)
{
    bench_stats best, cur;
    int r, n = print ? (bench_repeat > 0 ? bench_repeat : 1) : 1;
    memset(&best, 0, sizeof(best));
    for (r = 0; r < n; r++) {
        bench_pass_once(run, states, threads, nq, &cur);
        if (r == 0 || cur.wall < best.wall)
            best = cur;
    }
    if (!print)
        return;
    printf("{\"engine\":\"%s\",\"mode\":\"%s\",\"threads\":%d,"
           "\"queries\":%zu,\"errors\":%zu,\"passes\":%d,\"wall_s\":%.6f,"
           "\"qps\":%.1f,\"p50_us\":%.1f,\"p95_us\":%.1f,\"p99_us\":%.1f,"
           "\"mean_hits\":%.2f}\n",
           engine, mode, threads, nq, best.errors, n, best.wall,
           (double)nq / best.wall, best.p50, best.p95, best.p99, best.mean_hits);
    fflush(stdout);
}

/* Parse "1,2,8" into levels[]; returns the count. */
static inline int bench_parse_levels(const char *s, int *levels, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 256) {
            fprintf(stderr, "bench: bad thread list\n");
            exit(2);
        }
        levels[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* Known-item lines are "TARGET<TAB>query": split in place. */
static inline const char *bench_known_split(char *line, const char **query)
{
    char *tab = strchr(line, '\t');
    if (tab == NULL) {
        fprintf(stderr, "bench: known-item line without a tab\n");
        exit(2);
    }
    *tab = '\0';
    *query = tab + 1;
    return line;
}

/* Accumulate the rank (1-based, 0 = not in the top 10) of one known item. */
typedef struct bench_known {
    size_t n, found10, at1;
    double rr;
} bench_known;

static inline void bench_known_add(bench_known *k, int rank)
{
    k->n++;
    if (rank >= 1 && rank <= 10) {
        k->found10++;
        k->rr += 1.0 / rank;
        if (rank == 1)
            k->at1++;
    }
}

static inline void bench_known_print(const char *engine, const char *variant,
                                     const bench_known *k, size_t errors)
{
    printf("{\"engine\":\"%s\",\"mode\":\"known\",\"variant\":\"%s\","
           "\"queries\":%zu,\"errors\":%zu,\"mrr10\":%.4f,\"success1\":%.4f,"
           "\"success10\":%.4f}\n",
           engine, variant, k->n, errors, k->n ? k->rr / (double)k->n : 0.0,
           k->n ? (double)k->at1 / (double)k->n : 0.0,
           k->n ? (double)k->found10 / (double)k->n : 0.0);
    fflush(stdout);
}

#endif
