/*
 * fts5_bench: the SQLite FTS5 peer.
 *
 *   fts5_bench build DB CORPUS.jsonl [--contentless]
 *   fts5_bench query DB QUERIES [--threads 1,2,8]
 *   fts5_bench known DB KNOWN
 *
 * build: CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, body,
 * tokenize='porter unicode61') (or, with --contentless, fts5(title, body,
 * content='') which stores no text and cannot return ids: it is built for
 * the index-size comparison only), every article inserted in one
 * transaction, then the FTS5 'optimize' command (merge into one b-tree),
 * as one would after a bulk load. Default pragmas otherwise.
 *
 * query: the trawl query line is translated to FTS5 syntax: each word
 * becomes a quoted FTS5 string (implicit AND), a "quoted phrase" stays an
 * FTS5 phrase; double quotes inside are doubled. Statement:
 *   SELECT id FROM t WHERE t MATCH ?1 ORDER BY bm25(t, 0, 3.0, 1.0) LIMIT 10
 * (FTS5's bm25 has k1 1.2, b 0.75; title weight 3, body 1 as in trawl).
 * One read-only connection per thread, mmap enabled (trawl maps its index).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "benchutil.h"

static void die_db(sqlite3 *db, const char *what)
{
    fprintf(stderr, "fts5_bench: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(2);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "fts5_bench: %s: %s\n", sql, msg ? msg : "?");
        exit(2);
    }
}

static const char *jstr(json_t *o, const char *k, size_t *len)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) {
        *len = 0;
        return "";
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

static int build(const char *dbpath, const char *corpus, int contentless)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    FILE *f = fopen(corpus, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long docs = 0;

    if (f == NULL) {
        perror(corpus);
        return 2;
    }
    remove(dbpath);
    if (sqlite3_open(dbpath, &db) != SQLITE_OK)
        die_db(db, dbpath);
    if (contentless)
        exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body, content='', "
                 "tokenize='porter unicode61')");
    else
        exec(db, "CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, body, "
                 "tokenize='porter unicode61')");
    exec(db, "BEGIN");
    if (sqlite3_prepare_v2(db,
                           contentless
                               ? "INSERT INTO t(rowid, title, body) VALUES(?1, ?3, ?4)"
                               : "INSERT INTO t(rowid, id, title, body) VALUES(?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        die_db(db, "prepare insert");
    while ((len = getline(&line, &cap, f)) >= 0) {
        json_error_t jerr;
        json_t *o;
        const char *id, *title, *body;
        size_t idl, tl, bl;
        if (len <= 1)
            continue;
        o = json_loadb(line, (size_t)len, 0, &jerr);
        if (o == NULL) {
            fprintf(stderr, "fts5_bench: bad JSON line: %s\n", jerr.text);
            continue;
        }
        id = jstr(o, "id", &idl);
        title = jstr(o, "title", &tl);
        body = jstr(o, "body", &bl);
        sqlite3_bind_int64(st, 1, docs + 1);
        if (!contentless)
            sqlite3_bind_text(st, 2, id, (int)idl, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, title, (int)tl, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, body, (int)bl, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            die_db(db, "insert");
        sqlite3_reset(st);
        json_decref(o);
        docs++;
    }
    sqlite3_finalize(st);
    exec(db, "INSERT INTO t(t) VALUES('optimize')");
    exec(db, "COMMIT");
    sqlite3_close(db);
    free(line);
    fclose(f);
    printf("{\"engine\":\"fts5\",\"mode\":\"build\",\"docs\":%ld}\n", docs);
    return 0;
}

/* Translate a trawl query line (words and "phrases") into FTS5 syntax. */
static char *translate(const char *q)
{
    size_t n = strlen(q);
    char *out = bench_xmalloc(n * 2 + 8), *o = out;
    const char *p = q;
    while (*p) {
        const char *s, *e;
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (*p == '"') {
            s = ++p;
            while (*p && *p != '"')
                p++;
            e = p;
            if (*p == '"')
                p++;
        } else {
            s = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            e = p;
        }
        if (o != out)
            *o++ = ' ';
        *o++ = '"';
        for (; s < e; s++) {
            if (*s == '"')
                *o++ = '"';
            *o++ = *s;
        }
        *o++ = '"';
    }
    *o = '\0';
    return out;
}

typedef struct fstate {
    sqlite3 *db;
    sqlite3_stmt *st;
    char **fq; /* translated queries */
    char *ids[10];
} fstate;

static fstate *state_new(const char *dbpath, char **fq)
{
    fstate *s = bench_xmalloc(sizeof(*s));
    memset(s, 0, sizeof(*s));
    if (sqlite3_open_v2(dbpath, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        die_db(s->db, dbpath);
    exec(s->db, "PRAGMA mmap_size=17179869184");
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM t WHERE t MATCH ?1 "
                           "ORDER BY bm25(t, 0.0, 3.0, 1.0) LIMIT 10",
                           -1, &s->st, NULL) != SQLITE_OK)
        die_db(s->db, "prepare query");
    s->fq = fq;
    return s;
}

/* Run one query; fills s->ids (malloc'd) and returns the hit count. */
static long search(fstate *s, const char *fq)
{
    long n = 0;
    int rc;
    sqlite3_bind_text(s->st, 1, fq, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s->st)) == SQLITE_ROW) {
        if (n < 10) {
            free(s->ids[n]);
            s->ids[n] = strdup((const char *)sqlite3_column_text(s->st, 0));
        }
        n++;
    }
    sqlite3_reset(s->st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "fts5_bench: query %s: %s\n", fq, sqlite3_errmsg(s->db));
        return -1;
    }
    return n;
}

static long run_query(void *state, size_t i)
{
    fstate *s = state;
    return search(s, s->fq[i]);
}

int main(int argc, char **argv)
{
    bench_lines qs;
    int levels[16] = {1}, nlevels = 1, i;
    char **fq;
    size_t n;

    if (argc < 4) {
        fprintf(stderr, "usage: fts5_bench build|query|known DB FILE [options]\n");
        return 2;
    }
    if (strcmp(argv[1], "build") == 0)
        return build(argv[2], argv[3], argc > 4 && strcmp(argv[4], "--contentless") == 0);
    for (i = 4; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--threads") == 0)
            nlevels = bench_parse_levels(argv[i + 1], levels, 16);
        else if (strcmp(argv[i], "--repeat") == 0)
            bench_repeat = atoi(argv[i + 1]);
    bench_read_lines(argv[3], &qs);
    fq = bench_xmalloc(sizeof(char *) * (qs.n ? qs.n : 1));

    if (strcmp(argv[1], "query") == 0) {
        void *states[256];
        int maxt = 1, l, t;
        for (n = 0; n < qs.n; n++)
            fq[n] = translate(qs.line[n]);
        for (l = 0; l < nlevels; l++)
            if (levels[l] > maxt)
                maxt = levels[l];
        for (t = 0; t < maxt; t++)
            states[t] = state_new(argv[2], fq);
        bench_pass_run("fts5", "inproc", run_query, states, 1, qs.n, 0);
        for (l = 0; l < nlevels; l++)
            bench_pass_run("fts5", "inproc", run_query, states, levels[l], qs.n, 1);
    } else if (strcmp(argv[1], "known") == 0) {
        fstate *s = state_new(argv[2], fq);
        bench_known k;
        size_t errors = 0;
        memset(&k, 0, sizeof(k));
        for (n = 0; n < qs.n; n++) {
            const char *q, *target = bench_known_split(qs.line[n], &q);
            char *t = translate(q);
            long h, nh = search(s, t);
            int rank = 0;
            if (nh < 0)
                errors++;
            for (h = 0; h < nh && h < 10; h++) {
                if (strcmp(s->ids[h], target) == 0) {
                    rank = (int)h + 1;
                    break;
                }
            }
            bench_known_add(&k, rank);
            free(t);
        }
        bench_known_print("fts5", "bm25", &k, errors);
    } else {
        fprintf(stderr, "fts5_bench: unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}
