/*
 * sphinx_bench: clients of Sphinx's searchd (2.2), the daemon peer of
 * trawld, over SphinxQL (the MySQL protocol, libmariadb) on a Unix socket.
 *
 *   sphinx_bench query SOCKET INDEX QUERIES [--threads 1,2,8] [--repeat N] [--ranker R]
 *   sphinx_bench known SOCKET INDEX KNOWN IDS [--ranker R]
 *   sphinx_bench ping SOCKET [--count N]
 *
 * query: as daemon_bench does for trawld: N clients, one connection each,
 * take queries from a shared counter and send each as
 *   SELECT id FROM INDEX WHERE MATCH('...') LIMIT 10 OPTION ranker=..., idf='plain'
 * waiting for the result set before sending the next. The trawl query line
 * is translated to Sphinx's extended syntax: words stay words (implicit
 * AND), "quoted phrases" stay phrases; every other byte that is special to
 * Sphinx or SQL becomes a space (the default charset_table treats those as
 * separators anyway). The ranker (--ranker) defaults to
 *   expr('bm25f(1.2,0.75,{title=3,body=1})*1000000')
 * (trawl's BM25F k1, b and field weights; needs index_field_lengths = 1;
 * bm25f() is a float below about 1 and the ranker's weight an integer,
 * hence the scale); --ranker bm25 uses Sphinx's built-in BM25 ranker
 * instead. idf='plain' (log(N/n)) rather than Sphinx's default
 * 'normalized', which gives terms found in more than half of the
 * documents a weight of about zero (most words of the long State of the
 * Union addresses, on the real corpus). One untimed
 * warm-up pass first, then --repeat (3) passes per client count, the
 * fastest reported.
 *
 * known: the known-item set (TARGET<TAB>query) through one connection;
 * IDS has the article id of Sphinx document N on line N.
 *
 * ping: the round trip of the MySQL protocol's COM_PING (mysql_ping), the
 * cheapest request searchd answers: its protocol cost over the socket.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"

static const char *ranker = "expr('bm25f(1.2,0.75,{title=3,body=1})*1000000')";
static const char *index_name = "idx";

typedef struct client {
    MYSQL *m;
    bench_lines *qs;
    char *sql;
    size_t cap;
    int reported;
    /* known-item: the returned ids of the last query */
    long long ids[10];
    int nids;
} client;

static client *client_new(const char *sock, bench_lines *qs)
{
    client *c = bench_xmalloc(sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->m = mysql_init(NULL);
    if (c->m == NULL) {
        fprintf(stderr, "sphinx_bench: mysql_init failed\n");
        exit(2);
    }
    if (mysql_real_connect(c->m, "localhost", "", "", NULL, 0, sock, 0) == NULL) {
        fprintf(stderr, "sphinx_bench: connect %s: %s\n", sock, mysql_error(c->m));
        exit(2);
    }
    c->qs = qs;
    return c;
}

/* Build the SphinxQL statement for one trawl query line into c->sql. */
static size_t make_sql(client *c, const char *q)
{
    size_t need = strlen(q) + strlen(ranker) + strlen(index_name) + 160, o;
    size_t lastquote = (size_t)-1;
    int quotes = 0;
    const char *p;
    if (c->cap < need) {
        free(c->sql);
        c->cap = need;
        c->sql = bench_xmalloc(need);
    }
    o = (size_t)sprintf(c->sql, "SELECT id FROM %s WHERE MATCH('", index_name);
    for (p = q; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            lastquote = o;
            quotes++;
            c->sql[o++] = '"';
        } else if (ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || ch == '_') {
            c->sql[o++] = (char)ch;
        } else {
            c->sql[o++] = ' ';
        }
    }
    if (quotes % 2 == 1) /* an unbalanced quote: drop the last one */
        c->sql[lastquote] = ' ';
    o += (size_t)sprintf(c->sql + o, "') LIMIT 10 OPTION ranker=%s, idf='plain'", ranker);
    return o;
}

/* Run one statement; returns the rows (ids kept in c->ids) or -1. */
static long run_sql(client *c, size_t len)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    long n = 0;
    c->nids = 0;
    if (mysql_real_query(c->m, c->sql, (unsigned long)len) != 0) {
        if (!c->reported++)
            fprintf(stderr, "sphinx_bench: %s: %s\n", c->sql, mysql_error(c->m));
        return -1;
    }
    res = mysql_store_result(c->m);
    if (res == NULL) {
        if (!c->reported++)
            fprintf(stderr, "sphinx_bench: %s: no result: %s\n", c->sql, mysql_error(c->m));
        return -1;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (c->nids < 10 && row[0] != NULL)
            c->ids[c->nids++] = atoll(row[0]);
        n++;
    }
    mysql_free_result(res);
    return n;
}

static long run_query(void *state, size_t i)
{
    client *c = state;
    return run_sql(c, make_sql(c, c->qs->line[i]));
}

static void known(const char *sock, const char *kpath, const char *idpath)
{
    bench_lines ks, ids;
    bench_known k;
    client *c = client_new(sock, NULL);
    size_t i, errors = 0;
    char variant[64];
    memset(&k, 0, sizeof(k));
    bench_read_lines(kpath, &ks);
    bench_read_lines(idpath, &ids);
    for (i = 0; i < ks.n; i++) {
        const char *q;
        const char *target = bench_known_split(ks.line[i], &q);
        int rank = 0, j;
        if (run_sql(c, make_sql(c, q)) < 0) {
            errors++;
            continue;
        }
        for (j = 0; j < c->nids; j++) {
            long long id = c->ids[j];
            if (id >= 1 && (size_t)id <= ids.n && strcmp(ids.line[id - 1], target) == 0) {
                rank = j + 1;
                break;
            }
        }
        bench_known_add(&k, rank);
    }
    snprintf(variant, sizeof(variant), "%s", strncmp(ranker, "expr", 4) == 0 ? "bm25f" : ranker);
    bench_known_print("sphinx", variant, &k, errors);
    mysql_close(c->m);
}

static void ping(const char *sock, int count)
{
    client *c = client_new(sock, NULL);
    double *lat = bench_xmalloc(sizeof(double) * (size_t)count);
    int i;
    for (i = 0; i < count / 10; i++) /* warm-up */
        mysql_ping(c->m);
    for (i = 0; i < count; i++) {
        double t0 = bench_now();
        if (mysql_ping(c->m) != 0) {
            fprintf(stderr, "sphinx_bench: ping: %s\n", mysql_error(c->m));
            exit(2);
        }
        lat[i] = bench_now() - t0;
    }
    qsort(lat, (size_t)count, sizeof(double), bench_cmp_double);
    printf("{\"engine\":\"sphinx\",\"mode\":\"ping\",\"count\":%d,\"p50_us\":%.2f,"
           "\"p95_us\":%.2f,\"p99_us\":%.2f}\n",
           count, bench_pct(lat, (size_t)count, 50) * 1e6,
           bench_pct(lat, (size_t)count, 95) * 1e6,
           bench_pct(lat, (size_t)count, 99) * 1e6);
    fflush(stdout);
    mysql_close(c->m);
    free(lat);
}

int main(int argc, char **argv)
{
    int levels[16] = {1}, nlevels = 1, i, count = 5000, first;

    if (argc < 3) {
        fprintf(stderr,
                "usage: sphinx_bench query SOCKET INDEX QUERIES [--threads 1,2,8] [--repeat N] [--ranker R]\n"
                "       sphinx_bench known SOCKET INDEX KNOWN IDS [--ranker R]\n"
                "       sphinx_bench ping SOCKET [--count N]\n");
        return 2;
    }
    first = strcmp(argv[1], "query") == 0 ? 5 : strcmp(argv[1], "known") == 0 ? 6 : 3;
    for (i = first; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0)
            nlevels = bench_parse_levels(argv[++i], levels, 16);
        else if (strcmp(argv[i], "--repeat") == 0)
            bench_repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ranker") == 0) {
            i++;
            if (strcmp(argv[i], "bm25f") != 0)
                ranker = argv[i];
        }
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        fprintf(stderr, "sphinx_bench: mysql_library_init failed\n");
        return 2;
    }
    if (strcmp(argv[1], "query") == 0 && argc >= 5) {
        bench_lines qs;
        void *states[256];
        int maxt = 1, l, t;
        index_name = argv[3];
        bench_read_lines(argv[4], &qs);
        for (l = 0; l < nlevels; l++)
            if (levels[l] > maxt)
                maxt = levels[l];
        for (t = 0; t < maxt; t++)
            states[t] = client_new(argv[2], &qs);
        bench_pass_run("sphinx", "daemon", run_query, states, 1, qs.n, 0);
        for (l = 0; l < nlevels; l++)
            bench_pass_run("sphinx", "daemon", run_query, states, levels[l], qs.n, 1);
        for (t = 0; t < maxt; t++)
            mysql_close(((client *)states[t])->m);
    } else if (strcmp(argv[1], "known") == 0 && argc >= 6) {
        index_name = argv[3];
        known(argv[2], argv[4], argv[5]);
    } else if (strcmp(argv[1], "ping") == 0) {
        if (count < 10)
            count = 10;
        ping(argv[2], count);
    } else {
        fprintf(stderr, "sphinx_bench: unknown mode %s\n", argv[1]);
        return 2;
    }
    mysql_library_end();
    return 0;
}
