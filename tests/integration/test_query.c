/*
 * Integration tests of the query features end to end: explain, fields,
 * proximity weight, exact counts for every operator, option validation,
 * trawld's ranking defaults, and the trawl client's --explain, -l, -c,
 * --fields, dates, prefix* and "near"~N over tests/fixtures/articles.
 *
 * Fixture dates used below (UTC): wire-003 2024-01-15, latin1-cafe
 * 2023-11-20, rail-strike 2024-02-11, library-reopens 2024-03-03,
 * wire-001 2024-03-04, harbor-storm 2024-03-05, notes/bakery 2024-03-06,
 * wire-002 2024-03-07 (06:00Z), orchard-frost 2024-04-18; the rest take
 * their file's modification time, so no test counts an open-ended range
 * on its own.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static th H; /* trawld with default settings over the fixture articles */

static void index_fixture(th *h)
{
    char articles[512];

    snprintf(articles, sizeof(articles), "%s/articles", th_fixtures_dir());
    assert_int_equal(th_index(h, (const char *[]){articles, NULL}, NULL), 0);
}

static int setup(void **state)
{
    (void)state;
    if (th_init(&H) < 0)
        return -1;
    index_fixture(&H);
    return th_daemon_start(&H, NULL);
}

static int teardown(void **state)
{
    (void)state;
    int rc = th_daemon_stop(&H);
    th_cleanup(&H);
    return rc == 0 ? 0 : -1;
}

/* One request on a fresh connection; the response (caller decrefs). */
static json_t *ask_on(th *h, const char *line)
{
    th_conn c;
    assert_int_equal(th_connect(h, &c), 0);
    json_t *r = th_request(&c, line);
    th_close(&c);
    assert_non_null(r);
    return r;
}

static json_t *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *ask(const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return ask_on(&H, line);
}

static void assert_ok(const json_t *r)
{
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *s = json_dumps(r, JSON_COMPACT);
        fprintf(stderr, "not ok: %s\n", s ? s : "?");
        free(s);
        fail();
    }
}

static void assert_code(const json_t *r, const char *code)
{
    const char *got = th_error_code(r);
    if (got == NULL || strcmp(got, code) != 0) {
        char *s = json_dumps(r, JSON_COMPACT);
        fprintf(stderr, "expected %s, got: %s\n", code, s ? s : "?");
        free(s);
        fail();
    }
}

static double num(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static const char *str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* The client's exit status; r is filled (caller frees). */
static int run_client(th *h, th_result *r, const char *const args[])
{
    int status = th_client(h, r, args);
    assert_true(status >= 0);
    return status;
}

/* trawl -c QUERY as a number (asserts a clean exit). */
static long client_count(th *h, const char *q)
{
    th_result r;
    int status = run_client(h, &r, (const char *[]){"-c", "--", q, NULL});
    if (status > 1)
        fprintf(stderr, "trawl -c '%s' exited %d: %s", q, status, r.err);
    assert_true(status == 0 || status == 1);
    char *end;
    long n = strtol(r.out, &end, 10);
    assert_true(end != r.out && *end == '\n' && end[1] == '\0');
    assert_int_equal(status, n > 0 ? 0 : 1);
    th_result_free(&r);
    return n;
}

/* ---- protocol ---------------------------------------------------------- */

static void explain_search(void **state)
{
    (void)state;
    json_t *r =
        ask("{\"op\":\"search\",\"q\":\"Storm  harbor\",\"explain\":true}");
    assert_ok(r);
    json_t *ex = json_object_get(r, "explain");
    assert_true(json_is_object(ex));
    assert_string_equal(str(ex, "parsed"), "AND(storm, harbor)");
    assert_true(num(ex, "k1") == 1.2);
    assert_true(num(ex, "b") == 0.75);
    assert_true(num(ex, "title_weight") == 3.0);
    assert_true(num(ex, "body_weight") == 1.0);
    assert_true(num(ex, "prox_weight") == 1.0);
    assert_true(num(ex, "prox_depth") == 30);
    assert_string_equal(str(ex, "sort"), "score");
    json_decref(r);

    /* The settings echoed are the ones the request ran with. */
    r = ask("{\"op\":\"search\",\"q\":\"-ferry storm OR frost* "
            "date:2024-03..2024-04 title:\\\"rail strike\\\"~3\","
            "\"explain\":true,\"k1\":2,\"b\":0.5,\"title_weight\":3,"
            "\"body_weight\":0.5,\"prox_weight\":0,\"prox_depth\":0,"
            "\"sort\":\"date_asc\"}");
    assert_ok(r);
    ex = json_object_get(r, "explain");
    assert_string_equal(str(ex, "parsed"),
                        "OR(AND(NOT ferri, storm), AND(frost, "
                        "date:2024-03-01..2024-04-30, "
                        "title:\"rail strike\"~3))");
    assert_true(num(ex, "k1") == 2.0);
    assert_true(num(ex, "b") == 0.5);
    assert_true(num(ex, "title_weight") == 3.0);
    assert_true(num(ex, "body_weight") == 0.5);
    assert_true(num(ex, "prox_weight") == 0.0);
    assert_true(num(ex, "prox_depth") == 0);
    assert_string_equal(str(ex, "sort"), "date_asc");
    json_decref(r);

    /* after: is inclusive, before: exclusive: rendered as a closed range. */
    r = ask("{\"op\":\"search\",\"q\":\"storm after:2024-03-05 "
            "before:2024-03-07\",\"explain\":true,\"limit\":0}");
    assert_ok(r);
    assert_string_equal(str(json_object_get(r, "explain"), "parsed"),
                        "AND(storm, date:2024-03-05.., date:..2024-03-06)");
    assert_int_equal((int)num(r, "total"), 2);
    json_decref(r);

    /* No explain unless asked for. */
    r = ask("{\"op\":\"search\",\"q\":\"storm\"}");
    assert_ok(r);
    assert_null(json_object_get(r, "explain"));
    json_decref(r);
}

static void explain_count(void **state)
{
    (void)state;
    json_t *r = ask("{\"op\":\"count\",\"q\":\"harb* OR fros*\","
                    "\"explain\":true,\"id\":5}");
    assert_ok(r);
    assert_int_equal((int)num(r, "count"), 3);
    assert_int_equal((int)num(r, "id"), 5);
    json_t *ex = json_object_get(r, "explain");
    assert_true(json_is_object(ex));
    assert_string_equal(str(ex, "parsed"), "OR(harbor, frost)");
    json_decref(r);

    r = ask("{\"op\":\"count\",\"q\":\"storm\"}");
    assert_ok(r);
    assert_null(json_object_get(r, "explain"));
    json_decref(r);

    r = ask("{\"op\":\"count\",\"q\":\"storm\",\"explain\":\"yes\"}");
    assert_code(r, "bad_request");
    json_decref(r);
}

/* The names of one hit's members, sorted, joined with ','. */
static void member_names(const json_t *hit, char *out, size_t cap)
{
    const char *names[16];
    size_t n = 0;
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)hit, key, v)
    {
        (void)v;
        if (n < 16)
            names[n++] = key;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, names[i], cap - strlen(out) - 1);
    }
}

static void assert_first_hit_members(const char *fields, const char *want)
{
    char names[256];
    json_t *r = ask("{\"op\":\"search\",\"q\":\"harbor storm\"%s%s}",
                    fields ? ",\"fields\":" : "", fields ? fields : "");
    assert_ok(r);
    json_t *hits = json_object_get(r, "hits");
    assert_true(json_array_size(hits) >= 1);
    json_t *hit = json_array_get(hits, 0);
    assert_string_equal(str(hit, "id"), "harbor-storm.txt");
    member_names(hit, names, sizeof(names));
    assert_string_equal(names, want);
    json_decref(r);
}

static void fields_selection(void **state)
{
    (void)state;
    assert_first_hit_members(NULL, "date,highlights,id,score,snippet,title");
    assert_first_hit_members("[\"title\"]", "id,title");
    assert_first_hit_members("[]", "id");
    assert_first_hit_members("[\"id\"]", "id");
    assert_first_hit_members("[\"score\",\"date\",\"score\"]", "date,id,score");
    assert_first_hit_members("[\"snippet\"]", "id,snippet");
    assert_first_hit_members(
        "[\"id\",\"title\",\"date\",\"score\",\"snippet\",\"highlights\","
        "\"author\",\"url\"]",
        "author,date,highlights,id,score,snippet,title,url");

    json_t *r = ask("{\"op\":\"search\",\"q\":\"storm\",\"limit\":10,"
                    "\"fields\":[\"author\",\"url\",\"snippet\"]}");
    assert_ok(r);
    json_t *hits = json_object_get(r, "hits");
    assert_int_equal(json_array_size(hits), 4);
    int seen = 0;
    for (size_t i = 0; i < json_array_size(hits); i++) {
        json_t *h = json_array_get(hits, i);
        assert_true(json_is_string(json_object_get(h, "snippet")));
        if (strcmp(str(h, "id"), "harbor-storm.txt") == 0) {
            assert_string_equal(str(h, "author"), "Mara Lindqvist");
            assert_string_equal(str(h, "url"),
                                "https://example.org/news/harbor-storm");
            seen = 1;
        }
        if (strcmp(str(h, "id"), "notes/bakery.md") == 0) {
            assert_true(json_is_null(json_object_get(h, "author")));
            assert_true(json_is_null(json_object_get(h, "url")));
        }
    }
    assert_true(seen);
    json_decref(r);

    /* "snippet":false still wins over fields: the member is null. */
    r = ask("{\"op\":\"search\",\"q\":\"storm\",\"snippet\":false,"
            "\"fields\":[\"snippet\",\"highlights\"]}");
    assert_ok(r);
    json_t *h = json_array_get(json_object_get(r, "hits"), 0);
    assert_true(json_is_null(json_object_get(h, "snippet")));
    assert_int_equal(json_array_size(json_object_get(h, "highlights")), 0);
    json_decref(r);

    /* snippet_length bounds the snippet. */
    r = ask("{\"op\":\"search\",\"q\":\"storm\",\"snippet_length\":40,"
            "\"limit\":4}");
    assert_ok(r);
    hits = json_object_get(r, "hits");
    for (size_t i = 0; i < json_array_size(hits); i++) {
        json_t *s = json_object_get(json_array_get(hits, i), "snippet");
        assert_true(json_is_string(s));
        assert_true(json_string_length(s) <= 60);
    }
    json_decref(r);
}

/* ids of a search's hits, sorted, joined with ' '. */
static char *sorted_ids(const json_t *r)
{
    json_t *hits = json_object_get(r, "hits");
    size_t n = json_array_size(hits);
    const char **v = calloc(n ? n : 1, sizeof(*v));
    size_t len = 1;
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = str(json_array_get(hits, i), "id");
        len += strlen(v[i]) + 1;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    char *s = calloc(len, 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, v[i]);
    }
    free(v);
    return s;
}

static void prox_weight_keeps_hit_set(void **state)
{
    (void)state;
    static const char *queries[] = {"storm harbor", "harbor storm ferry",
                                    "storm OR harbor", "winter storm",
                                    "the harbor"};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        json_t *a = ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":1000,"
                        "\"explain\":true}",
                        queries[i]);
        json_t *b = ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":1000,"
                        "\"explain\":true,\"prox_weight\":0}",
                        queries[i]);
        assert_ok(a);
        assert_ok(b);
        assert_true(num(json_object_get(a, "explain"), "prox_weight") == 1.0);
        assert_true(num(json_object_get(b, "explain"), "prox_weight") == 0.0);
        assert_int_equal((int)num(a, "total"), (int)num(b, "total"));
        char *ia = sorted_ids(a), *ib = sorted_ids(b);
        assert_string_equal(ia, ib);
        free(ia);
        free(ib);
        /* The signal only ever adds to a document's score. */
        json_t *ha = json_object_get(a, "hits"),
               *hb = json_object_get(b, "hits");
        for (size_t x = 0; x < json_array_size(ha); x++)
            for (size_t y = 0; y < json_array_size(hb); y++) {
                json_t *p = json_array_get(ha, x), *q = json_array_get(hb, y);
                if (strcmp(str(p, "id"), str(q, "id")) == 0)
                    assert_true(num(p, "score") >= num(q, "score") - 1e-9);
            }
        json_decref(a);
        json_decref(b);
    }

    /* Words standing together score higher than without the signal. */
    json_t *a = ask("{\"op\":\"search\",\"q\":\"winter storm\"}");
    json_t *b = ask("{\"op\":\"search\",\"q\":\"winter storm\","
                    "\"prox_weight\":0}");
    json_t *ha = json_array_get(json_object_get(a, "hits"), 0);
    json_t *hb = json_array_get(json_object_get(b, "hits"), 0);
    assert_string_equal(str(ha, "id"), "harbor-storm.txt");
    assert_string_equal(str(hb, "id"), "harbor-storm.txt");
    assert_true(num(ha, "score") > num(hb, "score") + 1e-6);
    json_decref(a);
    json_decref(b);
}

static void count_equals_total(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        long n;
    } cases[] = {
        {"storm", 4},
        {"storm harbor", 2},
        {"storm AND harbor", 2},
        {"storm OR frost", 5},
        {"storm -ferry", 2},
        {"storm NOT ferry", 2},
        {"(storm OR frost) -harbor", 3},
        {"\\\"harbor master\\\"", 1},
        {"\\\"storm harbor\\\"", 0},
        {"\\\"storm harbor\\\"~1", 0},
        {"\\\"storm harbor\\\"~2", 1},
        {"\\\"harbor storm\\\"~2", 1},
        {"\\\"storm harbor\\\"~5", 2},
        {"harb*", 2},
        {"harb* OR fros*", 3},
        {"title:storm", 3},
        {"body:storm", 4},
        {"title:\\\"rail workers\\\"", 1},
        {"date:2024-03", 5},
        {"date:2024-03-05", 1},
        {"date:2024-03-04..2024-03-06", 3},
        {"date:..2024-01", 2},
        {"storm after:2024-03-05", 3},
        {"storm before:2024-03-05", 1},
        {"after:2024-03-05 before:2024-03-07", 2},
        {"zebra", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *c = ask("{\"op\":\"count\",\"q\":\"%s\"}", cases[i].q);
        json_t *s =
            ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":1000}", cases[i].q);
        json_t *z = ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":0,"
                        "\"exact_total\":true}",
                        cases[i].q);
        json_t *one = ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":1,"
                          "\"exact_total\":true}",
                          cases[i].q);
        json_t *fast =
            ask("{\"op\":\"search\",\"q\":\"%s\",\"limit\":1}", cases[i].q);
        assert_ok(c);
        assert_ok(s);
        assert_ok(z);
        assert_ok(one);
        assert_ok(fast);
        long n = (long)num(c, "count");
        if (n != cases[i].n)
            fprintf(stderr, "count of %s: %ld, expected %ld\n", cases[i].q, n,
                    cases[i].n);
        assert_int_equal(n, cases[i].n);
        /* Every hit fits on the page: all of them are found. */
        assert_int_equal((long)json_array_size(json_object_get(s, "hits")), n);
        /* A total not marked exact may only be a lower bound. */
        json_t *each[] = {s, fast};
        for (size_t k = 0; k < 2; k++) {
            json_t *ex = json_object_get(each[k], "total_exact");
            assert_true(json_is_boolean(ex));
            if (json_is_true(ex))
                assert_int_equal((long)num(each[k], "total"), n);
            else
                assert_true((long)num(each[k], "total") <= n);
        }
        /* exact_total always counts everything. */
        assert_int_equal((long)num(z, "total"), n);
        assert_true(json_is_true(json_object_get(z, "total_exact")));
        assert_int_equal(json_array_size(json_object_get(z, "hits")), 0);
        assert_int_equal((long)num(one, "total"), n);
        assert_true(json_is_true(json_object_get(one, "total_exact")));
        json_decref(one);
        json_decref(fast);
        json_decref(c);
        json_decref(s);
        json_decref(z);
    }
}

/*
 * Phrases through the daemon on a corpus big enough for pair terms of
 * common words (format 6, PAIRS): every count equals a brute-force scan
 * of the generated bodies, and search finds the same documents.
 */
static const char *pvocab[] = {"the", "of",    "and",  "to",   "harbor",
                               "storm", "ship", "rain", "a",   "in",
                               "crew",  "port", "wind", "tide"};
#define NPVOCAB (sizeof(pvocab) / sizeof(pvocab[0]))

static void phrases_with_pair_terms(void **state)
{
    (void)state;
    enum { NDOC = 240, NWORDS = 40 };
    th h;
    assert_int_equal(th_init(&h), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/pairs.jsonl", h.dir);
    static int words[NDOC][NWORDS];
    uint64_t rng = 12345;
    size_t cap = (size_t)NDOC * (NWORDS * 8 + 64), len = 0;
    char *all = malloc(cap);
    assert_non_null(all);
    for (int d = 0; d < NDOC; d++) {
        len += (size_t)snprintf(all + len, cap - len,
                                "{\"id\":\"p%03d\",\"title\":\"report %d\","
                                "\"body\":\"",
                                d, d);
        for (int k = 0; k < NWORDS; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t a = (uint32_t)(rng >> 33) % NPVOCAB;
            uint32_t b = (uint32_t)(rng >> 13) % NPVOCAB;
            words[d][k] = (int)(a < b ? a : b); /* low indexes more often */
            len += (size_t)snprintf(all + len, cap - len, "%s%s",
                                    k ? " " : "", pvocab[words[d][k]]);
        }
        len += (size_t)snprintf(all + len, cap - len, "\"}\n");
    }
    assert_int_equal(th_write_file(path, all, len), 0);
    free(all);
    assert_int_equal(th_index(&h, (const char *[]){path, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    /* The dictionary holds the pair terms too: far more entries than the
     * 14 words, "report" and 240 numbers. */
    json_t *st = ask_on(&h, "{\"op\":\"stats\"}");
    assert_ok(st);
    assert_true(json_integer_value(json_object_get(st, "terms")) >
                14 + 1 + 240 + 100);
    json_decref(st);

    static const int phr[][4] = {
        {0, 1, -1, -1},  {1, 0, -1, -1},  {0, 0, -1, -1}, {2, 3, -1, -1},
        {0, 4, -1, -1},  {4, 5, -1, -1},  {0, 1, 2, -1},  {1, 0, 4, -1},
        {3, 0, 1, 0},    {13, 12, -1, -1}, {8, 9, 10, -1}, {0, 11, -1, -1},
    };
    for (size_t i = 0; i < sizeof(phr) / sizeof(phr[0]); i++) {
        int n = 0;
        while (n < 4 && phr[i][n] >= 0)
            n++;
        /* brute force: documents with the words next to each other */
        long want = 0;
        for (int d = 0; d < NDOC; d++) {
            int found = 0;
            for (int k = 0; k + n <= NWORDS && !found; k++) {
                int j = 0;
                while (j < n && words[d][k + j] == phr[i][j])
                    j++;
                found = j == n;
            }
            want += found;
        }
        char q[128];
        size_t ql = 0;
        for (int j = 0; j < n; j++)
            ql += (size_t)snprintf(q + ql, sizeof(q) - ql, "%s%s",
                                   j ? " " : "", pvocab[phr[i][j]]);
        char line[512];
        snprintf(line, sizeof(line), "{\"op\":\"count\",\"q\":\"\\\"%s\\\"\"}",
                 q);
        json_t *c = ask_on(&h, line);
        assert_ok(c);
        long got = (long)json_integer_value(json_object_get(c, "count"));
        if (got != want)
            fail_msg("phrase \"%s\": count %ld, brute force %ld", q, got,
                     want);
        json_decref(c);
        snprintf(line, sizeof(line),
                 "{\"op\":\"search\",\"q\":\"\\\"%s\\\"\",\"limit\":1000,"
                 "\"snippet\":false}",
                 q);
        json_t *s = ask_on(&h, line);
        assert_ok(s);
        assert_int_equal((long)json_array_size(json_object_get(s, "hits")),
                         want);
        json_decref(s);
    }
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static void sorts_and_paging(void **state)
{
    (void)state;
    static const char *const newest[] = {"wire-002", "notes/bakery.md",
                                         "harbor-storm.txt", "wire-001",
                                         "library-reopens.txt"};
    json_t *r = ask("{\"op\":\"search\",\"q\":\"date:2024-03\",\"sort\":"
                    "\"date\",\"fields\":[\"date\"]}");
    assert_ok(r);
    json_t *hits = json_object_get(r, "hits");
    assert_int_equal(json_array_size(hits), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(str(json_array_get(hits, i), "id"), newest[i]);
    json_decref(r);

    r = ask("{\"op\":\"search\",\"q\":\"date:2024-03\",\"sort\":\"date_asc\"}");
    assert_ok(r);
    hits = json_object_get(r, "hits");
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(str(json_array_get(hits, i), "id"), newest[4 - i]);
    json_decref(r);

    /* Pages put together give the whole list, and the same query gives
     * the same order every time (ties broken by index order). */
    json_t *all = ask("{\"op\":\"search\",\"q\":\"the\",\"limit\":100,"
                      "\"fields\":[]}");
    assert_ok(all);
    json_t *ah = json_object_get(all, "hits");
    size_t n = json_array_size(ah);
    assert_true(n >= 8);
    for (size_t off = 0; off < n; off += 3) {
        json_t *p = ask("{\"op\":\"search\",\"q\":\"the\",\"limit\":3,"
                        "\"offset\":%zu,\"fields\":[]}",
                        off);
        assert_ok(p);
        json_t *ph = json_object_get(p, "hits");
        assert_int_equal(json_array_size(ph), n - off < 3 ? n - off : 3);
        for (size_t k = 0; k < json_array_size(ph); k++)
            assert_string_equal(str(json_array_get(ph, k), "id"),
                                str(json_array_get(ah, off + k), "id"));
        json_decref(p);
    }
    json_decref(all);
}

static void bad_options(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"sort\":\"newest\"",
        "\"sort\":\"Score\"",
        "\"sort\":1",
        "\"sort\":\"\"",
        "\"fields\":\"title\"",
        "\"fields\":[1]",
        "\"fields\":[\"body\"]",
        "\"fields\":[\"title\",\"nope\"]",
        "\"prox_weight\":-1",
        "\"prox_weight\":1001",
        "\"prox_weight\":\"1\"",
        "\"prox_weight\":null",
        "\"prox_depth\":-1",
        "\"prox_depth\":100001",
        "\"prox_depth\":1.5",
        "\"prox_depth\":\"30\"",
        "\"exact_total\":1",
        "\"explain\":\"true\"",
        "\"snippet_length\":0",
        "\"snippet_length\":10001",
        "\"snippet_length\":1.5",
        "\"k1\":-0.1",
        "\"b\":1.5",
        "\"title_weight\":-1",
        "\"body_weight\":1e9",
    };
    th_conn c;
    char line[256];

    assert_int_equal(th_connect(&H, &c), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"id\":%zu,\"op\":\"search\",\"q\":\"storm\",%s}", i,
                 bad[i]);
        json_t *r = th_request(&c, line);
        assert_non_null(r);
        if (th_error_code(r) == NULL ||
            strcmp(th_error_code(r), "bad_request") != 0)
            fprintf(stderr, "accepted: %s\n", line);
        assert_code(r, "bad_request");
        assert_int_equal((size_t)num(r, "id"), i);
        json_decref(r);
    }
    /* Still serving on the same connection; valid edge values pass. */
    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"storm\","
                               "\"prox_weight\":1000,\"k1\":0,\"b\":1,"
                               "\"snippet_length\":1,\"exact_total\":false}");
    assert_non_null(r);
    assert_ok(r);
    json_decref(r);
    th_close(&c);
}

static void syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *q, *want;
    } cases[] = {
        {"(storm", "column 1: '(' is never closed"},
        {"storm AND", "column 7: AND needs a term on both sides"},
        {"storm date:2024-13", "column 7: bad date"},
        {"harbor \\\"storm", "column 8: unterminated quote"},
        {"colour:red", "column 1: unknown field"},
        {"-storm", "only of excluded terms"},
        {"!!!", "empty query"},
        {"", "empty query"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *r = ask("{\"op\":\"search\",\"q\":\"%s\"}", cases[i].q);
        assert_code(r, "bad_query");
        const char *msg = str(json_object_get(r, "error"), "message");
        if (strstr(msg, cases[i].want) == NULL)
            fprintf(stderr, "%s: got '%s', want '%s'\n", cases[i].q, msg,
                    cases[i].want);
        assert_non_null(strstr(msg, cases[i].want));
        json_decref(r);
        r = ask("{\"op\":\"count\",\"q\":\"%s\",\"explain\":true}", cases[i].q);
        assert_code(r, "bad_query");
        json_decref(r);
    }
}

/* ---- the client -------------------------------------------------------- */

static void client_syntax_error(void **state)
{
    (void)state;
    th_result r;
    assert_int_equal(
        run_client(&H, &r, (const char *[]){"storm", "(harbor", NULL}), 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "bad_query"));
    assert_non_null(strstr(r.err, "column 7"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r, (const char *[]){"-c", "storm OR", NULL}), 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "column 7"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r, (const char *[]){"--sort", "newest", "storm", NULL}),
        2);
    assert_non_null(strstr(r.err, "--sort"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"--fields", "bogus", "storm", NULL}),
        2);
    assert_non_null(strstr(r.err, "bad_request"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"--prox-weight", "-1", "storm", NULL}),
        2);
    assert_non_null(strstr(r.err, "--prox-weight"));
    th_result_free(&r);
}

static void client_ids(void **state)
{
    (void)state;
    th_result r;
    json_t *s = ask("{\"op\":\"search\",\"q\":\"storm\",\"limit\":100}");
    json_t *hits = json_object_get(s, "hits");
    assert_int_equal(run_client(&H, &r, (const char *[]){"-l", "storm", NULL}),
                     0);
    char want[1024] = "";
    for (size_t i = 0; i < json_array_size(hits); i++) {
        strcat(want, str(json_array_get(hits, i), "id"));
        strcat(want, "\n");
    }
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    th_result_free(&r);
    json_decref(s);

    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"--ids", "-n", "2", "--sort", "date_asc",
                                    "date:2024-03", NULL}),
        0);
    assert_string_equal(r.out, "library-reopens.txt\nwire-001\n");
    th_result_free(&r);

    assert_int_equal(run_client(&H, &r, (const char *[]){"-l", "zebra", NULL}),
                     1);
    assert_string_equal(r.out, "");
    th_result_free(&r);
}

static void client_explain(void **state)
{
    (void)state;
    th_result r;
    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"--explain", "Storm", "harbor", NULL}),
        0);
    assert_non_null(strstr(r.out, "AND(storm, harbor)"));
    assert_non_null(strstr(r.out, "proximity 1"));
    /* ... and the search still runs. */
    assert_non_null(strstr(r.out, "2 results"));
    assert_non_null(strstr(r.out, "Storm closes the harbor for two days"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r, (const char *[]){"--explain", "-c", "harb*", NULL}),
        0);
    assert_non_null(strstr(r.out, "harbor\n"));
    assert_non_null(strstr(r.out, "\n2\n"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"--explain", "-l", "--prox-weight", "0",
                                    "--prox-depth", "5", "--k1", "2",
                                    "\"winter storm\"", NULL}),
        0);
    assert_non_null(strstr(r.out, "\"winter storm\"\n"));
    assert_non_null(strstr(r.out, "k1 2,"));
    assert_non_null(strstr(r.out, "proximity 0"));
    assert_non_null(strstr(r.out, "depth 5"));
    assert_non_null(strstr(r.out, "\nharbor-storm.txt\n"));
    th_result_free(&r);

    /* --json carries the explain object. */
    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"-j", "--explain", "--title-weight", "0.5",
                                    "storm", NULL}),
        0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *ex = json_object_get(j, "explain");
    assert_string_equal(str(ex, "parsed"), "storm");
    assert_true(num(ex, "title_weight") == 0.5);
    json_decref(j);
    th_result_free(&r);
}

static void client_fields(void **state)
{
    (void)state;
    th_result r;
    assert_int_equal(run_client(&H, &r,
                                (const char *[]){"--fields", "title,author,url",
                                                 "harbor", "master", NULL}),
                     0);
    assert_non_null(strstr(r.out, "Storm closes the harbor"));
    assert_non_null(strstr(r.out, "Mara Lindqvist"));
    assert_non_null(strstr(r.out, "https://example.org/news/harbor-storm"));
    assert_null(strstr(r.out, "score"));
    th_result_free(&r);

    assert_int_equal(
        run_client(&H, &r,
                   (const char *[]){"-j", "--fields", "date", "storm", NULL}),
        0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *hit = json_array_get(json_object_get(j, "hits"), 0);
    assert_non_null(json_object_get(hit, "date"));
    assert_null(json_object_get(hit, "snippet"));
    assert_null(json_object_get(hit, "title"));
    json_decref(j);
    th_result_free(&r);
}

static void client_dates(void **state)
{
    (void)state;
    assert_int_equal(client_count(&H, "date:2024-03"), 5);
    assert_int_equal(client_count(&H, "date:2024-03-05"), 1);
    assert_int_equal(client_count(&H, "date:2024-03-04..2024-03-06"), 3);
    assert_int_equal(client_count(&H, "date:2024-02..2024-04"), 7);
    assert_int_equal(client_count(&H, "date:2023"), 1);
    assert_int_equal(client_count(&H, "date:..2024-01"), 2);
    assert_int_equal(client_count(&H, "date:..2024-01-15"), 2);
    assert_int_equal(client_count(&H, "date:..2024-01-14"), 1);
    /* after: is inclusive, before: exclusive. */
    assert_int_equal(client_count(&H, "after:2024-03-05 before:2024-03-07"), 2);
    assert_int_equal(client_count(&H, "after:2024-03-06 before:2024-03-07"), 1);
    assert_int_equal(client_count(&H, "after:2024-03-06 before:2024-03-06"), 0);
    assert_int_equal(client_count(&H, "storm date:2024-03-04.."), 4);
    assert_int_equal(client_count(&H, "storm date:2024-03-05.."), 3);
    assert_int_equal(client_count(&H, "storm before:2024"), 0);
    assert_int_equal(client_count(&H, "frost OR date:2024-03-07"), 2);

    th_result r;
    assert_int_equal(
        run_client(&H, &r, (const char *[]){"-c", "date:2024-02-30", NULL}), 2);
    assert_non_null(strstr(r.err, "column 1: bad date"));
    th_result_free(&r);
}

static void client_prefix_near(void **state)
{
    (void)state;
    assert_int_equal(client_count(&H, "harb*"), 2);
    assert_int_equal(client_count(&H, "HARB*"), 2);
    assert_int_equal(client_count(&H, "title:harb*"), 1);
    assert_int_equal(client_count(&H, "zebr*"), 0);
    assert_int_equal(client_count(&H, "harb* -bak*"), 1);
    assert_int_equal(client_count(&H, "\"storm harbor\""), 0);
    assert_int_equal(client_count(&H, "\"storm harbor\"~2"), 1);
    assert_int_equal(client_count(&H, "\"harbor storm\"~2"), 1);
    assert_int_equal(client_count(&H, "\"storm harbor\"~5"), 2);
    assert_int_equal(client_count(&H, "\"winter storm\"~0"), 1);

    th_result r;
    assert_int_equal(run_client(&H, &r,
                                (const char *[]){"-l",
                                                 "\"storm "
                                                 "harbor\"~2",
                                                 NULL}),
                     0);
    assert_string_equal(r.out, "harbor-storm.txt\n");
    th_result_free(&r);

    assert_int_equal(run_client(&H, &r,
                                (const char *[]){"\"storm "
                                                 "harbor\"~x",
                                                 NULL}),
                     2);
    assert_non_null(strstr(r.err, "column 15"));
    th_result_free(&r);
}

/* The daemon of a test that starts its own (killed even if it fails). */
static th O;

static int own_cleanup(void **state)
{
    (void)state;
    th_cleanup(&O);
    memset(&O, 0, sizeof(O));
    return 0;
}

/* A prefix matching more than 1024 dictionary terms is a bad_query. */
static void prefix_cap(void **state)
{
    (void)state;
    char dir[256], path[300];

    assert_int_equal(th_init(&O), 0);
    snprintf(dir, sizeof(dir), "%s/many", O.dir);
    const char *mk[] = {"/bin/mkdir", dir, NULL};
    th_result r;
    assert_int_equal(th_run(&r, mk), 0);
    th_result_free(&r);
    snprintf(path, sizeof(path), "%s/words.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "Title: many words\n\n");
    for (int i = 0; i < 1100; i++)
        fprintf(f, "qx%c%c%c ", 'a' + i / 676, 'a' + i / 26 % 26, 'a' + i % 26);
    fprintf(f, "\n");
    fclose(f);
    assert_int_equal(th_index(&O, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&O, NULL), 0);

    assert_int_equal(run_client(&O, &r, (const char *[]){"qx*", NULL}), 2);
    assert_non_null(strstr(r.err, "bad_query"));
    assert_non_null(strstr(r.err, "column 1"));
    assert_non_null(strstr(r.err, "more than 1024"));
    th_result_free(&r);
    /* A narrower prefix is fine (676 terms to count, 26 to rank). */
    assert_int_equal(client_count(&O, "qxa*"), 1);
    json_t *j = ask_on(&O, "{\"op\":\"search\",\"q\":\"qxab*\","
                           "\"explain\":true}");
    assert_ok(j);
    assert_int_equal((int)num(j, "total"), 1);
    const char *parsed = str(json_object_get(j, "explain"), "parsed");
    /* Expanded through the (stemmed) term dictionary. */
    assert_true(strncmp(parsed, "OR(", 3) == 0);
    assert_non_null(strstr(parsed, " qxaba, qxabb, "));
    assert_non_null(strstr(parsed, " qxabz)"));
    json_decref(j);

    assert_int_equal(th_daemon_stop(&O), 0);
}

/* ---- trawld's defaults ------------------------------------------------- */

static void daemon_defaults(void **state)
{
    (void)state;
    th_result r;

    assert_int_equal(th_init(&O), 0);
    index_fixture(&O);

    /* Bad values are refused at start. */
    static const char *const bad[][2] = {
        {"--b", "1.5"},
        {"--k1", "-1"},
        {"--title-weight", "x"},
        {"--prox-weight", "1e9"},
        {"--prox-depth", "-1"},
        {"--prox-depth", "100001"},
        {"--spin-us", "10001"},
        {"--spin-us", "-5"},
        {"--snippet-length", "0"},
        {"--body-weight", "nan"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"trawld", "--index", O.index,   "--socket",
                              O.sock,   bad[i][0], bad[i][1], NULL};
        assert_int_equal(th_run(&r, argv), 2);
        assert_non_null(strstr(r.err, bad[i][0]));
        th_result_free(&r);
    }
    const char *help[] = {"trawld", "--help", NULL};
    assert_int_equal(th_run(&r, help), 0);
    assert_non_null(strstr(r.out, "--prox-weight"));
    assert_non_null(strstr(r.out, "--title-weight"));
    assert_non_null(strstr(r.out, "--snippet-length"));
    th_result_free(&r);

    assert_int_equal(
        th_daemon_start(&O, (const char *[]){"--title-weight", "0", "--k1",
                                             "1.5", "--prox-weight", "0.25",
                                             "--b", "0.5", "--body-weight", "2",
                                             "--snippet-length", "30", NULL}),
        0);
    json_t *j = ask_on(&O, "{\"op\":\"search\",\"q\":\"storm\","
                           "\"explain\":true}");
    assert_ok(j);
    json_t *ex = json_object_get(j, "explain");
    assert_true(num(ex, "title_weight") == 0.0);
    assert_true(num(ex, "k1") == 1.5);
    assert_true(num(ex, "b") == 0.5);
    assert_true(num(ex, "body_weight") == 2.0);
    assert_true(num(ex, "prox_weight") == 0.25);
    json_t *hits = json_object_get(j, "hits");
    for (size_t i = 0; i < json_array_size(hits); i++)
        assert_true(json_string_length(json_object_get(json_array_get(hits, i),
                                                       "snippet")) <= 50);
    json_decref(j);

    /* "burning" is only in a title: with title weight 0 it scores 0 ... */
    j = ask_on(&O, "{\"op\":\"search\",\"q\":\"burning\"}");
    assert_ok(j);
    assert_int_equal((int)num(j, "total"), 1);
    json_t *hit = json_array_get(json_object_get(j, "hits"), 0);
    assert_string_equal(str(hit, "id"), "notes/bakery.md");
    assert_true(num(hit, "score") == 0.0);
    json_decref(j);
    /* ... unless the request sets its own weight. */
    j = ask_on(&O, "{\"op\":\"search\",\"q\":\"burning\",\"title_weight\":2}");
    assert_ok(j);
    hit = json_array_get(json_object_get(j, "hits"), 0);
    assert_true(num(hit, "score") > 0.1);
    json_decref(j);

    /* A title-only match ranks below the body matches. */
    j = ask_on(&O, "{\"op\":\"search\",\"q\":\"burning OR ferry\"}");
    assert_ok(j);
    hits = json_object_get(j, "hits");
    assert_int_equal(json_array_size(hits), 3);
    for (size_t i = 0; i < 2; i++)
        assert_true(num(json_array_get(hits, i), "score") > 0.1);
    assert_string_equal(str(json_array_get(hits, 2), "id"), "notes/bakery.md");
    assert_true(num(json_array_get(hits, 2), "score") == 0.0);
    json_decref(j);

    assert_int_equal(th_daemon_stop(&O), 0);
}

int main(void)
{
    const struct CMUnitTest served[] = {
        cmocka_unit_test(explain_search),
        cmocka_unit_test(explain_count),
        cmocka_unit_test(fields_selection),
        cmocka_unit_test(prox_weight_keeps_hit_set),
        cmocka_unit_test(count_equals_total),
        cmocka_unit_test(phrases_with_pair_terms),
        cmocka_unit_test(sorts_and_paging),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(client_syntax_error),
        cmocka_unit_test(client_ids),
        cmocka_unit_test(client_explain),
        cmocka_unit_test(client_fields),
        cmocka_unit_test(client_dates),
        cmocka_unit_test(client_prefix_near),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test_teardown(prefix_cap, own_cleanup),
        cmocka_unit_test_teardown(daemon_defaults, own_cleanup),
    };
    int failed = cmocka_run_group_tests_name("served", served, setup, teardown);
    failed += cmocka_run_group_tests_name("own daemon", own, NULL, NULL);
    return failed ? 1 : 0;
}
