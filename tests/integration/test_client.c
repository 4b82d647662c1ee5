/*
 * Integration tests of trawl-index and the trawl client against a real
 * trawld: exit codes, output formats, paging, colors, the indexer's
 * reports and summary, and searches over corpus/seeds.
 *
 * Environment: TRAWL_BIN (the build's bin/), TRAWL_SOURCE (repo root),
 * TRAWL_FIXTURES (tests/fixtures).
 */
/* posix_openpt, grantpt, unlockpt, ptsname are XSI */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* ------------------------------------------------------------- helpers */

enum {
    RUN_NO_COLOR = 1, /* set NO_COLOR=1 */
    RUN_PTY = 2,      /* stdout is a pseudo-terminal */
};

typedef struct result {
    int code;  /* exit status, or 128 + signal */
    char *out; /* stdout (NUL-terminated) */
    char *err; /* stderr */
} result;

static const char *source_dir(void)
{
    const char *s = getenv("TRAWL_SOURCE");
    return s && s[0] ? s : ".";
}

static char *xstrdup_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *xstrdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EIO) /* pty master after the slave closed */
            break;
        assert_true(n >= 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static int tmp_file(void)
{
    char path[] = "/tmp/trawl-it-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* Run argv[0] (a program in TRAWL_BIN) with the remaining arguments. */
static void run_v(result *r, int flags, const char *prog, const char *const *args)
{
    int out_fd = -1, slave_fd = -1;
    int err_fd = tmp_file();
    char *path = xstrdup_printf("%s/%s", th_bin_dir(), prog);
    const char *argv[64];
    size_t argc = 0;

    argv[argc++] = prog;
    for (size_t i = 0; args[i] != NULL && argc < 63; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;

    if (flags & RUN_PTY) {
        out_fd = posix_openpt(O_RDWR | O_NOCTTY);
        assert_true(out_fd >= 0);
        assert_int_equal(grantpt(out_fd), 0);
        assert_int_equal(unlockpt(out_fd), 0);
        slave_fd = open(ptsname(out_fd), O_RDWR | O_NOCTTY);
        assert_true(slave_fd >= 0);
    } else {
        out_fd = tmp_file();
    }

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2((flags & RUN_PTY) ? slave_fd : out_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        if (flags & RUN_NO_COLOR)
            setenv("NO_COLOR", "1", 1);
        else
            unsetenv("NO_COLOR");
        unsetenv("TRAWL_SOCKET");
        alarm(60); /* survives exec: a hung program is killed */
        execv(path, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }

    int status;
    if (flags & RUN_PTY) {
        close(slave_fd);
        r->out = slurp_fd(out_fd); /* until the child closes the slave */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        lseek(out_fd, 0, SEEK_SET);
        r->out = slurp_fd(out_fd);
    }
    close(out_fd);
    lseek(err_fd, 0, SEEK_SET);
    r->err = slurp_fd(err_fd);
    close(err_fd);
    free(path);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status)
                                : 128 + WTERMSIG(status);
}

#define RUN(r, flags, prog, ...)                                          \
    do {                                                                  \
        const char *args_[] = { __VA_ARGS__, NULL };                      \
        run_v((r), (flags), (prog), args_);                               \
    } while (0)

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Print what a failing command said, then fail. */
static void expect_code(const result *r, int code, const char *what)
{
    if (r->code != code) {
        print_error("%s: exit %d, wanted %d\n--- stdout:\n%s\n--- stderr:\n%s\n",
                    what, r->code, code, r->out, r->err);
        fail();
    }
}

static void expect_has(const char *hay, const char *needle, const char *what)
{
    if (strstr(hay, needle) == NULL) {
        print_error("%s: '%s' not found in:\n%s\n", what, needle, hay);
        fail();
    }
}

/* Parse one line of --json output; the caller decrefs. */
static json_t *parse_json(const char *text)
{
    json_error_t e;
    const char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_true(nl[1] == '\0'); /* exactly one line */
    json_t *j = json_loadb(text, (size_t)(nl - text), 0, &e);
    if (j == NULL) {
        print_error("bad JSON (%s): %s\n", e.text, text);
        fail();
    }
    return j;
}

/* 1 if the hits of a search response include the id. */
static int hits_have(const json_t *resp, const char *id)
{
    json_t *hits = json_object_get(resp, "hits");
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        const char *hid = json_string_value(json_object_get(h, "id"));
        if (hid && strcmp(hid, id) == 0)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------- the fixture run */

typedef struct fixture_state {
    th h;         /* temporary dir, index, daemon */
    th_result build; /* what trawl-index said while building the index */
} fixture_state;

static fixture_state fx;

/* Index a corpus into st->h.index and start a daemon on it. */
static int state_setup(fixture_state *st, const char *corpus)
{
    if (th_init(&st->h) < 0)
        return -1;
    const char *paths[] = { corpus, NULL };
    int rc = th_index(&st->h, paths, &st->build);
    if (rc != 0) {
        fprintf(stderr, "trawl-index %s: exit %d\n%s%s", corpus, rc,
                st->build.out, st->build.err);
        return -1;
    }
    return th_daemon_start(&st->h, NULL);
}

static int state_teardown(fixture_state *st)
{
    int rc = th_daemon_stop(&st->h);
    th_result_free(&st->build);
    th_cleanup(&st->h);
    return rc == 0 ? 0 : -1;
}

static int fixture_setup(void **state)
{
    (void)state;
    char *articles = xstrdup_printf("%s/articles", th_fixtures_dir());
    int rc = state_setup(&fx, articles);
    free(articles);
    return rc;
}

static int fixture_teardown(void **state)
{
    (void)state;
    return state_teardown(&fx);
}

/* 8 text files + 3 good JSON lines = 11; one bad line; one repaired. */
static void test_index_summary(void **state)
{
    (void)state;
    expect_has(fx.build.out,
               "indexed 11 documents (11 added, 0 updated, 0 deleted, "
               "0 unchanged)", "summary");
    expect_has(fx.build.out, "generation 1;", "summary");
    expect_has(fx.build.out, "; 1 bad input", "summary");
    expect_has(fx.build.out, " terms; index ", "summary");
    /* the bad JSON line is line 4 (line 2 is blank) */
    expect_has(fx.build.err, "trawl-index: ", "bad line report");
    expect_has(fx.build.err, "articles/wire.jsonl:4: ", "bad line report");
    expect_has(fx.build.err, "articles/latin1-cafe.txt:1: not UTF-8: 2 "
               "bytes read as Windows-1252 (Latin-1)", "Latin-1 report");
    assert_null(strstr(fx.build.err, "zanzibarite"));
    assert_null(strstr(fx.build.err, "wire.jsonl:2:")); /* blank line */
}

static void test_rest_is_indexed(void **state)
{
    (void)state;
    result r;

    /* the lines around the bad one */
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "atlas");
    expect_code(&r, 0, "atlas");
    json_t *j = parse_json(r.out);
    assert_true(hits_have(j, "wire-003"));
    json_decref(j);
    result_free(&r);

    /* the Latin-1 file: its words searchable, "café" too */
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "espresso");
    expect_code(&r, 0, "espresso");
    j = parse_json(r.out);
    assert_true(hits_have(j, "latin1-cafe.txt"));
    json_decref(j);
    result_free(&r);
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "-l", "title:caf\xc3\xa9");
    expect_code(&r, 0, "title:café");
    expect_has(r.out, "latin1-cafe.txt\n", "title:café");
    result_free(&r);
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--get", "latin1-cafe.txt");
    expect_code(&r, 0, "--get latin1-cafe.txt");
    expect_has(r.out, "Caf\xc3\xa9 owner remembers", "Latin-1 title read");
    result_free(&r);

    /* a file in a subdirectory: id relative to the walked PATH */
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "tournament");
    expect_code(&r, 0, "tournament");
    j = parse_json(r.out);
    assert_true(hits_have(j, "notes/chess-club.txt"));
    json_decref(j);
    result_free(&r);

    /* hidden files, hidden directories and .xml are not indexed */
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "zanzibarite");
    expect_code(&r, 1, "zanzibarite");
    result_free(&r);
}

static void test_exit_codes(void **state)
{
    (void)state;
    result r;

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "storm");
    expect_code(&r, 0, "hits");
    expect_has(r.out, "4 results (showing 1-4)", "header");
    expect_has(r.out, "Storm closes the harbor for two days", "title");
    expect_has(r.out, "harbor-storm.txt", "id");
    expect_has(r.out, "2024-03-05", "date");
    assert_string_equal(r.err, "");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "xylophonist");
    expect_code(&r, 1, "no hits");
    expect_has(r.out, "0 results", "no hits header");
    result_free(&r);

    char *nosock = xstrdup_printf("%s/nobody.sock", fx.h.dir);
    RUN(&r, 0, "trawl", "--socket", nosock, "storm");
    expect_code(&r, 2, "no daemon");
    expect_has(r.err, "trawl: cannot connect to ", "no daemon message");
    expect_has(r.err, nosock, "no daemon message");
    expect_has(r.err, "No such file or directory", "no daemon message");
    expect_has(r.err, "is trawld running?", "no daemon message");
    assert_string_equal(r.out, "");
    result_free(&r);
    free(nosock);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "(storm");
    expect_code(&r, 2, "bad query");
    expect_has(r.err, "trawl: bad_query: ", "bad query message");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock);
    expect_code(&r, 2, "usage");
    expect_has(r.err, "no query", "usage message");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "-n", "5000", "storm");
    expect_code(&r, 2, "bad limit");
    result_free(&r);
}

static void test_json(void **state)
{
    (void)state;
    result r;

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "storm");
    expect_code(&r, 0, "json");
    json_t *j = parse_json(r.out);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 4);
    json_t *hits = json_object_get(j, "hits");
    assert_int_equal(json_array_size(hits), 4);
    json_t *h = json_array_get(hits, 0);
    assert_true(json_is_string(json_object_get(h, "id")));
    assert_true(json_is_string(json_object_get(h, "title")));
    assert_true(json_is_number(json_object_get(h, "score")));
    assert_true(json_is_string(json_object_get(h, "snippet")));
    assert_true(hits_have(j, "harbor-storm.txt"));
    assert_true(hits_have(j, "notes/bakery.md"));
    assert_true(hits_have(j, "wire-001"));
    assert_true(hits_have(j, "wire-002"));
    json_decref(j);
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "xylophonist");
    expect_code(&r, 1, "json no hits");
    j = parse_json(r.out);
    assert_int_equal(json_array_size(json_object_get(j, "hits")), 0);
    json_decref(j);
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "--stats");
    expect_code(&r, 0, "json stats");
    j = parse_json(r.out);
    assert_int_equal(json_integer_value(json_object_get(j, "docs")), 11);
    json_decref(j);
    result_free(&r);
}

static void test_paging(void **state)
{
    (void)state;
    result r;
    const char *seen[4];
    size_t nseen = 0;

    for (int page = 0; page < 2; page++) {
        char off[8];
        snprintf(off, sizeof(off), "%d", page * 2);
        /* Pages report the same exact total (pruning may otherwise make it
         * a lower bound, flagged total_exact: false). */
        RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "-n", "2",
            "--exact-total", "--offset", off, "storm");
        expect_code(&r, 0, "page");
        json_t *j = parse_json(r.out);
        json_t *hits = json_object_get(j, "hits");
        assert_int_equal(json_array_size(hits), 2);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 4);
        for (size_t i = 0; i < 2; i++) {
            const char *id =
                json_string_value(json_object_get(json_array_get(hits, i), "id"));
            assert_non_null(id);
            for (size_t k = 0; k < nseen; k++)
                assert_string_not_equal(seen[k], id);
            seen[nseen++] = strdup(id);
        }
        json_decref(j);
        result_free(&r);
    }
    for (size_t k = 0; k < nseen; k++)
        free((char *)seen[k]);

    RUN(&r, RUN_NO_COLOR, "trawl", "--socket", fx.h.sock, "--limit", "2",
        "--offset", "2", "storm");
    expect_code(&r, 0, "page text");
    expect_has(r.out, "4 results (showing 3-4)", "page header");
    expect_has(r.out, " 3. ", "rank 3");
    expect_has(r.out, " 4. ", "rank 4");
    assert_null(strstr(r.out, " 1. "));
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--json", "--offset", "4",
        "storm");
    json_t *j = parse_json(r.out);
    assert_int_equal(json_array_size(json_object_get(j, "hits")), 0);
    json_decref(j);
    result_free(&r);
}

static void test_colors(void **state)
{
    (void)state;
    result r;

    /* not a terminal: no escapes */
    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "storm");
    expect_code(&r, 0, "pipe");
    assert_null(strchr(r.out, '\033'));
    result_free(&r);

    /* a terminal with NO_COLOR: no escapes */
    RUN(&r, RUN_PTY | RUN_NO_COLOR, "trawl", "--socket", fx.h.sock, "storm");
    expect_code(&r, 0, "tty NO_COLOR");
    expect_has(r.out, "harbor", "tty output");
    assert_null(strchr(r.out, '\033'));
    result_free(&r);

    /* a terminal without NO_COLOR: bold titles, highlighted terms */
    RUN(&r, RUN_PTY, "trawl", "--socket", fx.h.sock, "storm");
    expect_code(&r, 0, "tty");
    expect_has(r.out, "\033[1m", "bold");
    expect_has(r.out, "\033[1;31m", "highlight");
    result_free(&r);
}

static void test_ping_stats_get(void **state)
{
    (void)state;
    result r;

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--ping");
    expect_code(&r, 0, "ping");
    expect_has(r.out, "pong", "ping");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--stats");
    expect_code(&r, 0, "stats");
    expect_has(r.out, "11 documents", "stats");
    expect_has(r.out, "generation 1", "stats");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--get", "harbor-storm.txt");
    expect_code(&r, 0, "get");
    expect_has(r.out, "Storm closes the harbor for two days", "get title");
    expect_has(r.out, "Mara Lindqvist", "get author");
    expect_has(r.out, "Fishermen tied their boats", "get body");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--get", "no/such.txt");
    expect_code(&r, 1, "get unknown");
    expect_has(r.err, "not_found", "get unknown");
    result_free(&r);

    RUN(&r, 0, "trawl", "--socket", fx.h.sock, "--count", "storm");
    expect_code(&r, 0, "count");
    assert_string_equal(r.out, "4\n");
    result_free(&r);
}

/* ------------------------------------------------ indexer-only checks */

static void test_indexer_errors(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    const char *dir = h.dir;
    char *ix = xstrdup_printf("%s/ix", dir);
    char *missing = xstrdup_printf("%s/no-such-dir", dir);
    result r;

    RUN(&r, 0, "trawl-index", "--index", ix, missing);
    expect_code(&r, 2, "missing PATH");
    expect_has(r.err, "trawl-index: cannot read ", "missing PATH");
    expect_has(r.err, missing, "missing PATH");
    expect_has(r.err, "No such file or directory", "missing PATH");
    result_free(&r);

    RUN(&r, 0, "trawl-index", missing);
    expect_code(&r, 1, "no --index");
    expect_has(r.err, "--index", "no --index");
    result_free(&r);

    RUN(&r, 0, "trawl-index", "--help");
    expect_code(&r, 0, "help");
    expect_has(r.out, "Usage: trawl-index --index DIR", "help");
    result_free(&r);

    /* only bad inputs: nothing committed, exit 1 */
    char *bad = xstrdup_printf("%s/bad", dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    char *badfile = xstrdup_printf("%s/x.jsonl", bad);
    th_write_text(badfile, "not json\n{\"id\": 3}\n");
    RUN(&r, 0, "trawl-index", "--index", ix, bad);
    expect_code(&r, 1, "all bad");
    expect_has(r.err, "x.jsonl:1: ", "all bad");
    expect_has(r.err, "x.jsonl:2: ", "all bad");
    expect_has(r.err, "no articles found", "all bad");
    result_free(&r);

    /* a symlink loop is noticed, the rest indexed; ids relative to PATH */
    char *good = xstrdup_printf("%s/good", dir);
    char *sub = xstrdup_printf("%s/good/sub", dir);
    char *loop = xstrdup_printf("%s/good/sub/loop", dir);
    char *a = xstrdup_printf("%s/good/sub/a.txt", dir);
    assert_int_equal(mkdir(good, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(symlink("..", loop), 0);
    th_write_text(a, "Title: Alpha\n\nThe first letter.\n");
    RUN(&r, 0, "trawl-index", "--index", ix, "--quiet", good);
    expect_code(&r, 0, "loop");
    assert_string_equal(r.out, ""); /* --quiet */
    expect_has(r.err, "symlink loop", "loop");
    result_free(&r);

    /* a second run over the same input: everything unchanged */
    RUN(&r, 0, "trawl-index", "--index", ix, good);
    expect_code(&r, 0, "rerun");
    expect_has(r.out, "no changes: 1 document unchanged, from ", "rerun");
    expect_has(r.out, "generation 1 kept", "rerun");
    result_free(&r);

    /* a file given directly: its id is the basename */
    RUN(&r, 0, "trawl-index", "--index", ix, a);
    expect_code(&r, 0, "file PATH");
    expect_has(r.out, "(1 added, 0 updated, 1 deleted, 0 unchanged)",
               "file PATH");
    result_free(&r);

    th_cleanup(&h);
    free(ix);
    free(missing);
    free(bad);
    free(badfile);
    free(good);
    free(sub);
    free(loop);
    free(a);
}

/* ------------------------------------------------------ corpus/seeds */

static fixture_state seeds;

static int seeds_setup(void **state)
{
    (void)state;
    char *path = xstrdup_printf("%s/corpus/seeds", source_dir());
    int rc = state_setup(&seeds, path);
    free(path);
    return rc;
}

static int seeds_teardown(void **state)
{
    (void)state;
    return state_teardown(&seeds);
}

static json_t *seeds_search(const char *q, int want_code)
{
    result r;
    RUN(&r, 0, "trawl", "--socket", seeds.h.sock, "--json", q);
    expect_code(&r, want_code, q);
    json_t *j = parse_json(r.out);
    result_free(&r);
    return j;
}

static void test_seeds_north_korea(void **state)
{
    (void)state;
    expect_has(seeds.build.out, "indexed 3 documents (3 added", "seeds");
    json_t *j = seeds_search("north korea", 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    assert_true(hits_have(j, "000_7ee00924eb371e5f.txt"));
    assert_true(hits_have(j, "003_22ba26a9ed82bf10.txt"));
    assert_true(hits_have(j, "004_b0338e507dd9b773.txt"));
    json_decref(j);
}

static void test_seeds_charge_daffaires(void **state)
{
    (void)state;
    /* folded accents and apostrophes: the text says "chargé d’affaires" */
    json_t *j = seeds_search("charge d'affaires", 0);
    assert_true(hits_have(j, "000_7ee00924eb371e5f.txt"));
    json_decref(j);
}

static void test_seeds_stemming(void **state)
{
    (void)state;
    /* only 000 says "consultations" and "sanctions" */
    json_t *j = seeds_search("consulting", 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    assert_true(hits_have(j, "000_7ee00924eb371e5f.txt"));
    json_decref(j);

    j = seeds_search("sanction", 0);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    assert_true(hits_have(j, "000_7ee00924eb371e5f.txt"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest fixture_tests[] = {
        cmocka_unit_test(test_index_summary),
        cmocka_unit_test(test_rest_is_indexed),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_colors),
        cmocka_unit_test(test_ping_stats_get),
    };
    const struct CMUnitTest indexer_tests[] = {
        cmocka_unit_test(test_indexer_errors),
    };
    const struct CMUnitTest seed_tests[] = {
        cmocka_unit_test(test_seeds_north_korea),
        cmocka_unit_test(test_seeds_charge_daffaires),
        cmocka_unit_test(test_seeds_stemming),
    };
    int failed = 0;

    signal(SIGPIPE, SIG_IGN);
    failed += cmocka_run_group_tests_name("client-fixtures", fixture_tests,
                                          fixture_setup, fixture_teardown);
    failed += cmocka_run_group_tests_name("indexer", indexer_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("client-seeds", seed_tests,
                                          seeds_setup, seeds_teardown);
    return failed ? 1 : 0;
}
