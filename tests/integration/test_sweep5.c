/*
 * Integration tests from the fifth acceptance sweep: what an operator, a
 * program on the socket and a person at the terminal met that earlier
 * sweeps did not cover.
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* Set a file's modification time to t seconds since the epoch. */
static void set_mtime(const char *path, time_t t)
{
    struct timeval tv[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimes(path, tv), 0);
}

/* trawl-index --progress=json --index h->index [extra...] PATH...: the
 * "done" event (the caller frees it). */
static json_t *index_done(th *h, const char *const extra[],
                          const char *const paths[])
{
    const char *argv[24];
    int n = 0;
    th_result r;
    argv[n++] = "trawl-index";
    argv[n++] = "--progress=json";
    argv[n++] = "--index";
    argv[n++] = h->index;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = extra[i];
    for (int i = 0; paths != NULL && paths[i] != NULL; i++)
        argv[n++] = paths[i];
    argv[n] = NULL;
    int st = th_run(&r, argv);
    if (st != 0)
        fail_msg("trawl-index exited %d:\n%s", st, r.err);
    const char *done = strstr(r.out, "{\"event\":\"done\"");
    if (done == NULL)
        fail_msg("no done event:\n%s", r.out);
    json_t *d = json_loads(done, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(d);
    th_result_free(&r);
    return d;
}

static long long num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer \"%s\" in %s", key, json_dumps(o, 0));
    return (long long)json_integer_value(v);
}

static int committed(const json_t *d)
{
    json_t *v = json_object_get(d, "committed");
    assert_true(json_is_boolean(v));
    return json_is_true(v);
}

/* The generation trawld serves (after a reload request). */
static long long served_generation(th_conn *c)
{
    json_t *r = th_request(c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    long long g = json_integer_value(json_object_get(r, "generation"));
    json_decref(r);
    return g;
}

/*
 * Rerunning trawl-index over an unchanged corpus commits nothing: the
 * generation stays, trawld has nothing to reload, and the summary says
 * "no changes". Text files dated by their text, by their mtime, JSON
 * Lines with plain and escaped ids, a file name that is not UTF-8.
 */
static void test_unchanged_rerun_keeps_generation(void **state)
{
    (void)state;
    th h;
    char dir[128], dated[192], undated[192], jsonl[192], badname[192];
    char gone[192];

    assert_int_equal(th_init(&h), 0);
    th_path(dir, sizeof(dir), &h, "corpus");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dated, sizeof(dated), "%s/dated.txt", dir);
    snprintf(undated, sizeof(undated), "%s/undated.md", dir);
    snprintf(jsonl, sizeof(jsonl), "%s/lines.jsonl", dir);
    snprintf(badname, sizeof(badname), "%s/caf\xe9.txt", dir);
    snprintf(gone, sizeof(gone), "%s/gone.txt", dir);
    th_write_text(dated, "Title: Harbor\nDate: 2025-03-04\n\nThe harbor "
                      "master spoke.\n");
    th_write_text(undated, "# Ferry\n\nThe ferry was late again.\n");
    set_mtime(undated, 1700000000);
    th_write_text(jsonl,
               "{\"id\":\"plain\",\"title\":\"A\",\"body\":\"storm one\"}\n"
               "{\"id\":\"esc\\u002did\",\"body\":\"storm two\"}\n"
               "{\"id\":\"https:\\/\\/example.com\\/a\",\"body\":\"three\"}\n"
               "{\"id\":42,\"body\":\"storm four\"}\n");
    th_write_text(badname, "Latin-1 name\n\nA file whose name is not UTF-8.\n");
    th_write_text(gone, "Gone\n\nThis one will be deleted.\n");

    const char *paths[] = {dir, NULL};
    json_t *d = index_done(&h, NULL, paths);
    assert_int_equal(num(d, "generation"), 1);
    assert_int_equal(num(d, "docs"), 8);
    assert_true(committed(d));
    json_decref(d);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(served_generation(&c), 1);

    /* unchanged: nothing committed, every article kept */
    d = index_done(&h, NULL, paths);
    assert_int_equal(num(d, "generation"), 1);
    assert_int_equal(num(d, "docs"), 8);
    assert_int_equal(num(d, "unchanged"), 8);
    assert_int_equal(num(d, "added"), 0);
    assert_int_equal(num(d, "updated"), 0);
    assert_int_equal(num(d, "deleted"), 0);
    assert_false(committed(d));
    json_decref(d);
    assert_int_equal(served_generation(&c), 1);

    /* the plain summary says so */
    th_result r;
    assert_int_equal(th_index(&h, paths, &r), 0);
    if (strstr(r.out, "no changes: 8 documents unchanged") == NULL ||
        strstr(r.out, "generation 1 kept") == NULL)
        fail_msg("summary:\n%s", r.out);
    th_result_free(&r);

    /* touching a file dated by its text changes nothing either */
    set_mtime(dated, 1600000000);
    d = index_done(&h, NULL, paths);
    assert_false(committed(d));
    json_decref(d);

    /* --add of a part: nothing new, nothing deleted */
    const char *part[] = {jsonl, NULL};
    d = index_done(&h, (const char *const[]){"--add", NULL}, part);
    assert_false(committed(d));
    assert_int_equal(num(d, "docs"), 8);
    json_decref(d);

    /* the mtime that dates a file: its date changed, so it is updated */
    set_mtime(undated, 1710000000);
    d = index_done(&h, NULL, paths);
    assert_true(committed(d));
    assert_int_equal(num(d, "generation"), 2);
    assert_int_equal(num(d, "updated"), 1);
    assert_int_equal(num(d, "unchanged"), 7);
    json_decref(d);
    assert_int_equal(served_generation(&c), 2);
    json_t *g = th_request(&c, "{\"op\":\"get\",\"doc\":\"undated.md\"}");
    assert_non_null(g);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(g, "doc"), "date")),
        "2024-03-09");
    json_decref(g);

    /* a deleted file is a change */
    assert_int_equal(unlink(gone), 0);
    d = index_done(&h, NULL, paths);
    assert_true(committed(d));
    assert_int_equal(num(d, "deleted"), 1);
    assert_int_equal(num(d, "generation"), 3);
    json_decref(d);

    /* an edited file is a change */
    th_write_text(dated, "Title: Harbor\nDate: 2025-03-04\n\nThe harbor "
                      "master spoke twice.\n");
    d = index_done(&h, NULL, paths);
    assert_true(committed(d));
    assert_int_equal(num(d, "updated"), 1);
    json_decref(d);

    /* one JSON line with an escaped id changed */
    th_write_text(jsonl,
               "{\"id\":\"plain\",\"title\":\"A\",\"body\":\"storm one\"}\n"
               "{\"id\":\"esc\\u002did\",\"body\":\"storm 2\"}\n"
               "{\"id\":\"https:\\/\\/example.com\\/a\",\"body\":\"three\"}\n"
               "{\"id\":42,\"body\":\"storm four\"}\n");
    d = index_done(&h, NULL, paths);
    assert_true(committed(d));
    assert_int_equal(num(d, "updated"), 1);
    assert_int_equal(num(d, "generation"), 5);
    json_decref(d);

    /* --merge asks for a generation, changed or not */
    d = index_done(&h, (const char *const[]){"--merge", NULL}, NULL);
    assert_true(committed(d));
    assert_int_equal(num(d, "generation"), 6);
    assert_int_equal(num(d, "segments"), 1);
    json_decref(d);
    d = index_done(&h, NULL, paths);
    assert_false(committed(d));
    assert_int_equal(num(d, "generation"), 6);
    json_decref(d);

    /* --full rebuilds, changed or not */
    d = index_done(&h, (const char *const[]){"--full", NULL}, paths);
    assert_true(committed(d));
    assert_int_equal(num(d, "generation"), 7);
    assert_int_equal(num(d, "docs"), 7);
    json_decref(d);
    assert_int_equal(served_generation(&c), 7);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    assert_int_equal(th_run(&r, check), 0);
    th_result_free(&r);
    th_cleanup(&h);
}

/* Make DIR/big.jsonl: one article "big" of about n bytes of body, and a
 * small one; index it. */
static void index_big_article(th *h, size_t n)
{
    char path[192];
    th_path(path, sizeof(path), h, "big.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"id\":\"big\",\"title\":\"Big\",\"body\":\"", f);
    for (size_t i = 0; i < n / 8; i++)
        fputs("harbour ", f);
    fputs("\"}\n{\"id\":\"small\",\"body\":\"a small one\"}\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(th_index(h, (const char *const[]){path, NULL}, NULL),
                     0);
}

/* Read from c until end of file or error; the bytes read, or -1 if the
 * 10 s receive timeout ran out first. */
static long long read_to_eof(th_conn *c)
{
    static char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return total;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : total;
        total += n;
    }
}

/*
 * A client that sends requests and never reads the answers held its
 * connection busy for ever (never idle, so neither --idle-timeout nor
 * eviction applied) with megabytes waiting for it: enough of them locked
 * everyone out. Now a client that reads nothing for --write-timeout while
 * answers wait is closed; one that reads slowly is not.
 */
static void test_client_not_reading_is_closed(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    index_big_article(&h, 600 * 1024);
    assert_int_equal(th_daemon_start(&h, (const char *const[]){
                                             "--write-timeout", "1", NULL}),
                     0);
    const char *get = "{\"op\":\"get\",\"doc\":\"big\"}\n";

    /* stuck: three big answers, none read */
    th_conn stuck;
    assert_int_equal(th_connect(&h, &stuck), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(th_send(&stuck, get, strlen(get)), 0);

    /* slow: reads 32 KB every 150 ms, about 3 s for its two answers */
    th_conn slow;
    assert_int_equal(th_connect(&h, &slow), 0);
    assert_int_equal(th_send(&slow, get, strlen(get)), 0);
    assert_int_equal(th_send(&slow, get, strlen(get)), 0);
    th_sleep_ms(300);
    long long got = 0;
    int lines = 0;
    static char buf[32768];
    long long t0 = th_now_ms();
    while (lines < 2 && th_now_ms() - t0 < 20000) {
        ssize_t n = recv(slow.fd, buf, sizeof(buf), 0);
        if (n <= 0)
            fail_msg("the slow reader was cut off after %lld bytes", got);
        got += n;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        th_sleep_ms(150);
    }
    assert_int_equal(lines, 2);
    th_close(&slow);

    /* by now the stuck one has been closed: what the socket held, then
     * end of file */
    long long n = read_to_eof(&stuck);
    if (n < 0)
        fail_msg("the connection of a client that reads nothing stays open");
    assert_true(n < 3 * 600 * 1024);
    th_close(&stuck);
    char *log = th_daemon_log(&h);
    assert_non_null(strstr(log, "the client read nothing for"));
    free(log);

    /* the daemon serves on */
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"count\",\"q\":\"small\"}");
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* The command line: a pasted URL is searched as text, and --offset is
 * checked against the daemon's range before anything is sent. */
static void test_terminal_queries(void **state)
{
    (void)state;
    th h;
    th_result r;
    char path[192];
    assert_int_equal(th_init(&h), 0);
    th_path(path, sizeof(path), &h, "a.txt");
    th_write_text(path, "Links\n\nSee https://www.example.com/news/a-b for "
                     "O'Neill's covid-19 note.\n");
    assert_int_equal(th_index(&h, (const char *const[]){path, NULL}, NULL),
                     0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    static const char *const found[] = {
        "https://www.example.com/news/a-b", "www.example.com",
        "o'neill", "covid-19", "example.com/news", NULL};
    for (int i = 0; found[i] != NULL; i++) {
        const char *args[] = {"-c", "--", found[i], NULL};
        int st = th_client(&h, &r, args);
        if (st != 0 || strcmp(r.out, "1\n") != 0)
            fail_msg("%s: exit %d, out '%s', err '%s'", found[i], st, r.out,
                     r.err);
        th_result_free(&r);
    }

    const char *off[] = {"--offset", "100001", "note", NULL};
    assert_int_equal(th_client(&h, &r, off), 2);
    if (strstr(r.err, "--offset wants a number from 0 to 100000") == NULL)
        fail_msg("--offset 100001: %s", r.err);
    th_result_free(&r);
    const char *off_ok[] = {"--offset", "100000", "note", NULL};
    assert_int_equal(th_client(&h, &r, off_ok), 0);
    th_result_free(&r);

    /* an option after the query was silently searched for ("note -n 5"
     * is note, not n, 5): refused, unless -- says it is meant */
    const char *late[] = {"note", "-n", "5", NULL};
    assert_int_equal(th_client(&h, &r, late), 2);
    if (strstr(r.err, "option '-n' after the query") == NULL)
        fail_msg("note -n 5: %s", r.err);
    th_result_free(&r);
    const char *late_long[] = {"-c", "note", "--json", NULL};
    assert_int_equal(th_client(&h, &r, late_long), 2);
    th_result_free(&r);
    const char *meant[] = {"-c", "--", "note", "-n", NULL};
    assert_int_equal(th_client(&h, &r, meant), 0);
    assert_string_equal(r.out, "1\n");
    th_result_free(&r);
    const char *excl[] = {"-c", "note", "-harbor", NULL};
    assert_int_equal(th_client(&h, &r, excl), 0);
    th_result_free(&r);

    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * A damaged generation at startup: trawld served nothing and told the
 * user "no index loaded yet ... build an index", as if there were none;
 * trawl-index rebuilt it without a word. Both now say what is wrong.
 */
static void test_damaged_index_explained(void **state)
{
    (void)state;
    th h;
    th_result r;
    char path[192], seg[192];
    assert_int_equal(th_init(&h), 0);
    th_path(path, sizeof(path), &h, "a.txt");
    th_write_text(path, "Harbor\n\nThe harbor master spoke at length about "
                     "the storm and the ferry.\n");
    assert_int_equal(th_index(&h, (const char *const[]){path, NULL}, NULL),
                     0);
    snprintf(seg, sizeof(seg), "%s/seg-000001-00.trs", h.index);
    size_t len;
    char *data = th_read_file(seg, &len);
    assert_non_null(data);
    assert_true(len > 600);
    data[len / 2] ^= 0x5a; /* in some section: its checksum fails */
    assert_int_equal(th_write_file(seg, data, len), 0);
    free(data);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    const char *q[] = {"harbor", NULL};
    assert_int_equal(th_client(&h, &r, q), 2);
    if (strstr(r.err, "no_index: no index loaded from ") == NULL ||
        strstr(r.err, "seg-000001-00.trs") == NULL ||
        strstr(r.err, "again to rebuild it") == NULL)
        fail_msg("stderr:\n%s", r.err);
    th_result_free(&r);

    assert_int_equal(th_index(&h, (const char *const[]){path, NULL}, &r), 0);
    if (strstr(r.err, "generation 1 of ") == NULL ||
        strstr(r.err, "cannot be read (") == NULL ||
        strstr(r.err, "rebuilt from the articles of this run") == NULL)
        fail_msg("stderr:\n%s", r.err);
    assert_non_null(strstr(r.out, "(1 added"));
    th_result_free(&r);

    /* served once the watcher sees the new generation */
    long long t0 = th_now_ms();
    int st;
    while ((st = th_client(&h, &r, (const char *[]){"-c", "harbor", NULL})) !=
               0 &&
           th_now_ms() - t0 < 5000) {
        th_result_free(&r);
        th_sleep_ms(100);
    }
    assert_int_equal(st, 0);
    assert_string_equal(r.out, "1\n");
    th_result_free(&r);

    /* no index at all: the old advice */
    th_cleanup(&h);
    assert_int_equal(th_init(&h), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, q), 2);
    if (strstr(r.err, "no index loaded yet from") == NULL ||
        strstr(r.err, "build an index with") == NULL)
        fail_msg("stderr:\n%s", r.err);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* JSON Lines as other tools write them: a byte order mark before the
 * first line (it made that line bad input), CRLF, dates in seconds with a
 * fraction (bad input too). */
static void test_jsonl_from_other_tools(void **state)
{
    (void)state;
    th h;
    char path[192];
    assert_int_equal(th_init(&h), 0);
    th_path(path, sizeof(path), &h, "win.jsonl");
    th_write_text(path,
               "\xef\xbb\xbf{\"id\":\"first\",\"body\":\"harbor one\"}\r\n"
               "{\"id\":\"second\",\"body\":\"harbor two\","
               "\"date\":1765960440.25}\r\n"
               "\xef\xbb\xbf{\"id\":\"third\",\"body\":\"not first\"}\r\n");
    json_t *d = index_done(&h, NULL, (const char *const[]){path, NULL});
    assert_int_equal(num(d, "docs"), 2);
    assert_int_equal(num(d, "bad"), 1); /* a mark inside the file is not */
    json_decref(d);
    /* unchanged: kept, BOM and all */
    d = index_done(&h, NULL, (const char *const[]){path, NULL});
    assert_false(committed(d));
    assert_int_equal(num(d, "skipped"), 2);
    json_decref(d);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *g = th_request(&c, "{\"op\":\"get\",\"doc\":\"first\"}");
    assert_true(json_is_true(json_object_get(g, "ok")));
    json_decref(g);
    g = th_request(&c, "{\"op\":\"get\",\"doc\":\"second\"}");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(g, "doc"), "date")),
        "2025-12-17");
    json_decref(g);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A .jsonl file met twice in a run (a PATH given twice, a directory and a
 * file in it, a link) was read twice: each article replaced by itself,
 * counted as updated, a generation committed on every run. */
static void test_jsonl_read_once(void **state)
{
    (void)state;
    th h;
    char dir[160], path[192], link[192];
    assert_int_equal(th_init(&h), 0);
    th_path(dir, sizeof(dir), &h, "feed");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/a.jsonl", dir);
    snprintf(link, sizeof(link), "%s/latest.jsonl", dir);
    th_write_text(path, "{\"id\":\"a\",\"body\":\"one\"}\n"
                     "{\"id\":\"b\",\"body\":\"two\"}\n");
    assert_int_equal(symlink("a.jsonl", link), 0);

    const char *const twice[] = {dir, path, NULL};
    json_t *d = index_done(&h, NULL, twice);
    assert_int_equal(num(d, "docs"), 2);
    assert_int_equal(num(d, "added"), 2);
    assert_int_equal(num(d, "bad"), 0);
    json_decref(d);
    d = index_done(&h, NULL, twice);
    assert_int_equal(num(d, "updated"), 0);
    assert_false(committed(d));
    json_decref(d);

    th_result r;
    assert_int_equal(th_index(&h, twice, &r), 0);
    if (strstr(r.err, "latest.jsonl: the same file was read earlier") ==
            NULL ||
        strstr(r.err, "no article") != NULL)
        fail_msg("stderr:\n%s", r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/* count of q as trawld serves it now, after a reload */
static long long served_count(th_conn *c, const char *q)
{
    (void)served_generation(c);
    char req[256];
    snprintf(req, sizeof(req), "{\"op\":\"count\",\"q\":\"%s\"}", q);
    json_t *r = th_request(c, req);
    assert_non_null(r);
    if (!json_is_true(json_object_get(r, "ok")))
        fail_msg("count %s: %s", q, json_dumps(r, 0));
    long long n = json_integer_value(json_object_get(r, "count"));
    json_decref(r);
    return n;
}

/* Write DIR/NAME.jsonl: 400 articles with ids NAME-i, 134 of them with
 * "harbor". */
static void write_batch(const th *h, const char *name, char *path,
                        size_t cap)
{
    int n = snprintf(path, cap, "%s/%s.jsonl", h->dir, name);
    assert_true(n > 0 && (size_t)n < cap);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 400; i++) {
        fprintf(f, "{\"id\":\"%s-%d\",\"title\":\"t %d\",\"body\":\"", name,
                i, i);
        for (int k = 0; k < 60; k++)
            fprintf(f, "w%d ", (i * 7 + k * 13) % 500);
        fprintf(f, "%s\"}\n", i % 3 == 0 ? "harbor" : "ferry");
    }
    assert_int_equal(fclose(f), 0);
}

/*
 * trawl-index --add --merge (a batch added, every segment merged) killed
 * (SIGKILL) at many moments while trawld serves: what it serves is always
 * one committed generation (the batches it holds, whole), --check passes
 * on what CURRENT names, and the next run succeeds.
 */
static void test_merge_killed_anywhere(void **state)
{
    (void)state;
    th h;
    th_result r;
    char path[192], name[32];
    assert_int_equal(th_init(&h), 0);
    /* six batches added one by one: six segments */
    for (int b = 0; b < 6; b++) {
        snprintf(name, sizeof(name), "b%d", b);
        write_batch(&h, name, path, sizeof(path));
        const char *argv[] = {"trawl-index", "-q", "--add", "--index",
                              h.index, path, NULL};
        assert_int_equal(th_run(&r, argv), 0);
        th_result_free(&r);
    }
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    int batches = 6, killed = 0;
    long long gen = served_generation(&c);
    assert_int_equal(served_count(&c, "harbor"), 134 * batches);

    const char *check[] = {"trawl-index", "--check", h.index, NULL};
    srand(5);
    for (int round = 0; round < 14; round++) {
        snprintf(name, sizeof(name), "r%d", round);
        write_batch(&h, name, path, sizeof(path));
        const char *argv[] = {"trawl-index", "-q", "--add", "--merge",
                              "--index", h.index, path, NULL};
        pid_t pid = th_spawn(argv, NULL);
        assert_true(pid > 0);
        th_sleep_ms(rand() % 30);
        kill(pid, SIGKILL);
        killed += th_wait(pid) == 128 + SIGKILL;
        long long g = served_generation(&c);
        if (g != gen) { /* it committed before the kill */
            batches++;
            gen = g;
        }
        long long n = served_count(&c, "harbor");
        if (n != 134 * batches)
            fail_msg("round %d: harbor counts %lld, not %d", round, n,
                     134 * batches);
        int st = th_run(&r, check);
        if (st != 0)
            fail_msg("round %d: --check: %s%s", round, r.out, r.err);
        th_result_free(&r);
    }
    assert_true(killed > 0);
    const char *merge[] = {"trawl-index", "-q", "--merge", "--index", h.index,
                           NULL};
    assert_int_equal(th_run(&r, merge), 0);
    th_result_free(&r);
    assert_int_equal(served_count(&c, "harbor"), 134 * batches);
    json_t *st = th_request(&c, "{\"op\":\"stats\"}");
    assert_int_equal(json_integer_value(json_object_get(st, "segments")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "docs")),
                     400 * batches);
    json_decref(st);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_rerun_keeps_generation),
        cmocka_unit_test(test_client_not_reading_is_closed),
        cmocka_unit_test(test_terminal_queries),
        cmocka_unit_test(test_damaged_index_explained),
        cmocka_unit_test(test_jsonl_from_other_tools),
        cmocka_unit_test(test_jsonl_read_once),
        cmocka_unit_test(test_merge_killed_anywhere),
    };
    return cmocka_run_group_tests_name("sweep5", tests, NULL, NULL);
}
