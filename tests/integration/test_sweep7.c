/*
 * Integration tests from the seventh acceptance sweep: text files as
 * Windows tools write them, binary files named .txt, what a terminal
 * user pastes into a query, a response holding "\u0000", and an index
 * directory whose parents do not exist yet.
 *
 * Environment: TRAWL_BIN (the build's bin/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

/* text (UTF-8, ASCII line ends) as UTF-16LE with a byte order mark and
 * CRLF line ends, as Notepad's "Unicode" writes it: *n bytes, malloc'd. */
static char *utf16le_crlf(const char *text, size_t *n)
{
    size_t len = strlen(text);
    char *o = malloc(2 + len * 4 + 4);
    assert_non_null(o);
    size_t w = 0;
    o[w++] = (char)0xff;
    o[w++] = (char)0xfe;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        unsigned cp;
        int k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        for (int j = 1; j < k; j++)
            cp = cp << 6 | ((unsigned char)text[i + j] & 0x3f);
        i += (size_t)k;
        if (cp == '\n') {
            o[w++] = '\r';
            o[w++] = 0;
        }
        if (cp >= 0x10000) {
            unsigned hi = 0xd800 + ((cp - 0x10000) >> 10);
            unsigned lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            o[w++] = (char)(hi & 0xff);
            o[w++] = (char)(hi >> 8);
            cp = lo;
        }
        o[w++] = (char)(cp & 0xff);
        o[w++] = (char)(cp >> 8);
    }
    *n = w;
    return o;
}

/*
 * A .txt saved as UTF-16 (Notepad's "Unicode", PowerShell's default) was
 * indexed byte by byte: its words were cut apart by NULs and found by
 * nothing, and the NULs were stored, so `trawl` failed on every search
 * that showed it ("trawld sent a response that is not a JSON object").
 * A binary file named .txt filled the dictionary with junk. UTF-16 with
 * a byte order mark is now decoded; a file with NUL bytes otherwise is
 * reported as binary and skipped (the run goes on and commits the rest).
 */
static void test_utf16_and_binary_text_files(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");

    size_t n;
    char *w = utf16le_crlf("Title: Réunion à Genève\n\nLes négociateurs "
                           "se sont réunis \xf0\x9f\x98\x80 à Genève "
                           "pour la trêve.\n",
                           &n);
    th_path(p, sizeof(p), &h, "c/unicode.txt");
    assert_int_equal(th_write_file(p, w, n), 0);
    free(w);
    /* a binary file (NUL bytes, junk) named .txt */
    char bin[600];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)((i * 7919u + 13u) % 251u);
    memcpy(bin, "PK\x03\x04", 4);
    bin[100] = '\0';
    th_path(p, sizeof(p), &h, "c/archive.txt");
    assert_int_equal(th_write_file(p, bin, sizeof(bin)), 0);
    th_path(p, sizeof(p), &h, "c/plain.txt");
    const char *plain = "Title: Plain\n\nThe truce talks in Geneva.\n";
    assert_int_equal(th_write_file(p, plain, strlen(plain)), 0);

    /* JSON Lines as Windows PowerShell's '>' writes them: said once */
    w = utf16le_crlf("{\"id\":\"j1\",\"body\":\"x\"}\n{\"id\":\"j2\","
                     "\"body\":\"y\"}\n",
                     &n);
    th_path(p, sizeof(p), &h, "c/export.jsonl");
    assert_int_equal(th_write_file(p, w, n), 0);
    free(w);

    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.err, "archive.txt: binary file") == NULL ||
        strstr(r.err, "unicode.txt") != NULL ||
        strstr(r.err, "export.jsonl: UTF-16 text") == NULL ||
        strstr(r.err, "export.jsonl:2") != NULL)
        fail_msg("index notes: %s", r.err);
    if (strstr(r.out, "indexed 2 documents") == NULL ||
        strstr(r.out, "2 bad inputs") == NULL)
        fail_msg("summary: %s", r.out);
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    /* the UTF-16 article's words, accents folded as usual */
    assert_int_equal(th_client(&h, &r, (const char *[]){"-l", "negociateur "
                                                        "geneve treve",
                                                        NULL}),
                     0);
    assert_string_equal(r.out, "unicode.txt\n");
    th_result_free(&r);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--get",
                                                        "unicode.txt", NULL}),
                     0);
    if (strstr(r.out, "Réunion à Genève\n") == NULL ||
        strstr(r.out, "réunis \xf0\x9f\x98\x80 à Genève pour la trêve.") ==
            NULL ||
        strchr(r.out, '\r') != NULL)
        fail_msg("--get unicode.txt: %s", r.out);
    th_result_free(&r);
    /* the binary file is not in the index */
    assert_int_equal(th_client(&h, &r, (const char *[]){"--get",
                                                        "archive.txt", NULL}),
                     1);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* A rerun: nothing changed. */
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.out, "no changes") == NULL)
        fail_msg("rerun: %s", r.out);
    th_result_free(&r);
    th_cleanup(&h);
}

/* A one-shot fake trawld on path: accepts one connection, reads one
 * request line and answers with resp. The child's pid. */
static pid_t fake_daemon(const char *path, const char *resp)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20); /* never outlive a failed test */
        int c = accept(fd, NULL, NULL);
        char ch;
        while (c >= 0 && read(c, &ch, 1) == 1 && ch != '\n')
            ;
        size_t len = strlen(resp), done = 0;
        while (c >= 0 && done < len) {
            ssize_t k = write(c, resp + done, len - done);
            if (k <= 0)
                break;
            done += (size_t)k;
        }
        _exit(0);
    }
    close(fd);
    return pid;
}

/*
 * JSON strings may hold "\u0000", and an index built by an earlier
 * trawl-index from a binary or UTF-16 file does: `trawl` refused such a
 * response ("\u0000 is not allowed without JSON_ALLOW_NUL", exit 2), so
 * no search that showed that article could be read from the terminal.
 * The NUL is shown as '?' (like other control characters); highlights
 * stay on their words.
 */
static void test_client_reads_nul_in_strings(void **state)
{
    (void)state;
    th h;
    assert_int_equal(th_init(&h), 0);
    static const char search[] =
        "{\"id\":1,\"ok\":true,\"generation\":1,\"total\":1,"
        "\"total_exact\":true,\"took_us\":5,\"hits\":[{\"id\":\"b\\u0000.txt\","
        "\"title\":\"T\\u0000i\\u0000t\",\"date\":null,\"score\":1.5,"
        "\"snippet\":\"a\\u0000b needle c\",\"highlights\":[[4,10]]}]}\n";
    static const char get[] =
        "{\"id\":1,\"ok\":true,\"generation\":1,\"doc\":{\"id\":\"b.txt\","
        "\"title\":\"x\\u0000y\",\"date\":null,\"author\":null,\"url\":null,"
        "\"extra\":null,\"body\":\"one\\u0000two\\nthree\"}}\n";
    static const struct {
        const char *resp;
        const char *args[4];
        const char *want[3];
    } cases[] = {
        {search, {"needle", NULL}, {"T?i?t\n", "b?.txt  score 1.50\n",
                                     "a?b needle c\n"}},
        {search, {"-l", "needle", NULL}, {"b?.txt\n", NULL, NULL}},
        {search, {"--json", "needle", NULL}, {"\"T\\u0000i\\u0000t\"", NULL,
                                              NULL}},
        {get, {"--get", "b.txt", NULL}, {"x?y\n", "one?two\nthree\n", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pid_t pid = fake_daemon(h.sock, cases[i].resp);
        th_result r;
        int st = th_client(&h, &r, cases[i].args);
        if (st != 0)
            fail_msg("case %zu: exit %d, %s", i, st, r.err);
        for (int k = 0; k < 3 && cases[i].want[k] != NULL; k++)
            if (strstr(r.out, cases[i].want[k]) == NULL)
                fail_msg("case %zu: no \"%s\" in %s", i, cases[i].want[k],
                         r.out);
        th_result_free(&r);
        assert_int_equal(th_wait(pid), 0);
    }
    th_cleanup(&h);
}

/*
 * Text pasted into a terminal from a web page or a word processor:
 * “north korea” (typographic quotes) searched both words anywhere, and a
 * no-break space made two words a phrase. Both now mean what they show.
 */
static void test_pasted_query_text(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/a.txt");
    const char *a = "Title: A\n\nNorth Korea and the talks.\n";
    assert_int_equal(th_write_file(p, a, strlen(a)), 0);
    th_path(p, sizeof(p), &h, "c/b.txt");
    const char *b = "Title: B\n\nKorea talks in the north.\n";
    assert_int_equal(th_write_file(p, b, strlen(b)), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    static const struct {
        const char *q, *count;
    } cases[] = {
        {"\"north korea\"", "1\n"},
        {"\xe2\x80\x9cnorth korea\xe2\x80\x9d", "1\n"},
        {"\xe2\x80\x9enorth korea\xe2\x80\x9c", "1\n"},
        {"north korea", "2\n"},
        {"north\xc2\xa0korea", "2\n"},
        {"korea\xc2\xa0north", "2\n"},
        {"korea\xe3\x80\x80north", "2\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        th_result r;
        assert_int_equal(th_client(&h, &r, (const char *[]){"-c", cases[i].q,
                                                            NULL}),
                         0);
        if (strcmp(r.out, cases[i].count) != 0)
            fail_msg("%s: %s", cases[i].q, r.out);
        th_result_free(&r);
    }
    /* "trawl -japan korea" failed on "invalid option -- 'a'" without a
     * word of how to search for it; the way is said now */
    th_result r;
    assert_int_equal(th_client(&h, &r, (const char *[]){"-korea", "north",
                                                        NULL}),
                     2);
    if (strstr(r.err, "put -- before it: trawl -- -korea") == NULL)
        fail_msg("trawl -korea north: %s", r.err);
    th_result_free(&r);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--", "-korea",
                                                        "north", NULL}),
                     1);
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * README's quick start indexes into /var/lib/trawl/news: on a machine
 * without /var/lib/trawl, trawl-index said "create ...: No such file or
 * directory". It creates the missing parents now, and a trawld started
 * first on that path serves the index once it is there.
 */
static void test_index_parents_created(void **state)
{
    (void)state;
    th h;
    char dir[256], idx[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/a.txt");
    const char *a = "Title: A\n\nharbor storm\n";
    assert_int_equal(th_write_file(p, a, strlen(a)), 0);
    th_path(idx, sizeof(idx), &h, "var/lib/trawl/news");
    assert_true(strlen(idx) < sizeof(h.index));
    memcpy(h.index, idx, strlen(idx) + 1);

    /* trawld first: it listens without an index */
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_result r;
    assert_int_equal(th_client(&h, &r, (const char *[]){"-c", "storm", NULL}),
                     2);
    if (strstr(r.err, "no_index") == NULL)
        fail_msg("before the index: %s", r.err);
    th_result_free(&r);
    const char *argv[] = {"trawl-index", "--index", idx, dir, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    if (strstr(r.out, "indexed 1 document") == NULL)
        fail_msg("trawl-index into missing parents: %s %s", r.out, r.err);
    th_result_free(&r);
    int st = -1;
    for (int i = 0; i < 60 && st != 0; i++) {
        st = th_client(&h, &r, (const char *[]){"-c", "storm", NULL});
        th_result_free(&r);
        if (st != 0)
            th_sleep_ms(100);
    }
    assert_int_equal(st, 0);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * JSON that Python's json.dumps writes for scraped text: "\u0000" in a
 * string, and a lone surrogate ("\udcff") for an undecodable byte read
 * with errors="surrogateescape". jansson refuses both by default, so the
 * article was reported as bad JSON and lost. It is indexed now (NULs
 * dropped, the surrogate U+FFFD, noted), and a rerun changes nothing.
 */
static void test_jsonl_nul_and_lone_surrogate(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/dump.jsonl");
    const char *lines =
        "{\"id\": \"a\", \"title\": \"Scraped\\u0000 page\", "
        "\"body\": \"ferry\\u0000 timetable\"}\n"
        "{\"id\": \"b\", \"title\": \"Caf\\udce9\", "
        "\"body\": \"harbour caf\\udce9 menu\"}\n";
    assert_int_equal(th_write_file(p, lines, strlen(lines)), 0);
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.out, "indexed 2 documents") == NULL ||
        strstr(r.err, "dump.jsonl:2: unpaired surrogate") == NULL ||
        strstr(r.err, "dump.jsonl:1") != NULL)
        fail_msg("index: %s %s", r.out, r.err);
    th_result_free(&r);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.out, "no changes") == NULL)
        fail_msg("rerun: %s", r.out);
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"--get", "a", NULL}),
                     0);
    if (strstr(r.out, "Scraped page\n") == NULL ||
        strstr(r.out, "ferry timetable") == NULL)
        fail_msg("--get a: %s", r.out);
    th_result_free(&r);
    assert_int_equal(th_client(&h, &r, (const char *[]){"-l", "harbour menu",
                                                        NULL}),
                     0);
    assert_string_equal(r.out, "b\n");
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * What other languages' JSON encoders send. A request with "\u0000" got
 * jansson's words "... not allowed without JSON_ALLOW_NUL", the name of
 * a C flag; it says what is wrong now. The rest pins what protocol.md
 * says: a lone surrogate escape and a number beyond a double are
 * bad_json; -0 is the integer 0 and 10.0 is no integer; a request
 * written a byte at a time, and 1000 in one write, are answered in order.
 */
static void test_protocol_from_other_languages(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/a.txt");
    const char *a = "Title: A\n\nharbor storm\n";
    assert_int_equal(th_write_file(p, a, strlen(a)), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"storm\\u0000\"}");
    assert_non_null(r);
    assert_string_equal(th_error_code(r), "bad_json");
    const char *msg = json_string_value(
        json_object_get(json_object_get(r, "error"), "message"));
    if (msg == NULL || strstr(msg, "JSON_ALLOW_NUL") != NULL ||
        strstr(msg, "NUL character") == NULL)
        fail_msg("message: %s", msg ? msg : "(none)");
    json_decref(r);
    static const struct {
        const char *line, *code; /* code NULL: ok */
    } cases[] = {
        {"{\"op\":\"count\",\"q\":\"storm \\ud800\"}", "bad_json"},
        {"{\"id\":\"\\udc00\",\"op\":\"ping\"}", "bad_json"},
        {"{\"id\":1e400,\"op\":\"ping\"}", "bad_json"},
        {"{\"op\":\"search\",\"q\":\"storm\",\"k1\":1e400}", "bad_json"},
        {"{\"op\":\"search\",\"q\":\"storm\",\"limit\":10.0}",
         "bad_request"},
        {"{\"op\":\"search\",\"q\":\"storm\",\"limit\":1e1}", "bad_request"},
        {"{\"op\":\"search\",\"q\":\"storm\",\"limit\":-0}", NULL},
        {"{\"op\":\"search\",\"q\":\"storm\",\"k1\":-0.0}", NULL},
        {"{\"op\":\"search\",\"q\":\"storm\",\"k1\":2}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = th_request(&c, cases[i].line);
        if (r == NULL)
            fail_msg("no answer to %s", cases[i].line);
        const char *code = th_error_code(r);
        if (cases[i].code == NULL ? code != NULL
                                  : code == NULL ||
                                        strcmp(code, cases[i].code) != 0)
            fail_msg("%s: %s", cases[i].line, code ? code : "ok");
        json_decref(r);
    }

    /* one byte at a time */
    const char *req = "{\"id\":\"slow\",\"op\":\"count\",\"q\":\"h\xc3\xa4rbor "
                      "storm\"}\n";
    for (size_t i = 0; req[i] != '\0'; i++)
        assert_int_equal(th_send(&c, req + i, 1), 0);
    r = th_recv_json(&c);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "slow");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
    json_decref(r);

    /* 1000 in one write, every op, in order */
    static const char *const ops[] = {
        "\"op\":\"search\",\"q\":\"storm\",\"limit\":1",
        "\"op\":\"count\",\"q\":\"harbor\"", "\"op\":\"ping\"",
        "\"op\":\"get\",\"doc\":\"a.txt\"", "\"op\":\"stats\"",
        "\"op\":\"count\",\"q\":\"((\""};
    size_t cap = 1000 * 80, len = 0;
    char *blob = malloc(cap);
    assert_non_null(blob);
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(blob + len, cap - len, "{\"id\":%d,%s}\n", i,
                                ops[i % 6]);
    assert_int_equal(th_send(&c, blob, len), 0);
    free(blob);
    for (int i = 0; i < 1000; i++) {
        r = th_recv_json(&c);
        if (r == NULL)
            fail_msg("no answer %d", i);
        assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
        int want_ok = i % 6 != 5;
        assert_int_equal(json_is_true(json_object_get(r, "ok")), want_ok);
        json_decref(r);
    }
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/*
 * An operator's cron job exports a JSON Lines dump in place (truncating
 * it, then writing) while trawl-index runs: the run read the part written
 * so far and deleted every article of the rest from the index until the
 * next run. A file that changed while it was read now counts as not read
 * whole: the run says so, and keeps the articles it did not see.
 */
static void test_jsonl_rewritten_while_read(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/dump.jsonl");
    char all[2048];
    size_t len = 0, cut = 0;
    for (int i = 0; i < 10; i++) {
        len += (size_t)snprintf(all + len, sizeof(all) - len,
                                "{\"id\":\"a%d\",\"title\":\"t\",\"body\":"
                                "\"word%d common\"}\n",
                                i, i);
        if (i == 2)
            cut = len; /* the export has written 3 lines so far */
    }
    assert_int_equal(th_write_file(p, all, len), 0);
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    th_result_free(&r);

    assert_int_equal(th_write_file(p, all, cut), 0);
    char log[256];
    th_path(log, sizeof(log), &h, "index.log");
    setenv("TRAWL_TEST_CRASH_AT", "stop:2", 1);
    pid_t pid = th_spawn((const char *[]){"trawl-index", "--index", h.index,
                                          dir, NULL},
                         log);
    unsetenv("TRAWL_TEST_CRASH_AT");
    assert_true(pid > 0);
    for (int i = 0; i < 200 && !th_is_stopped(pid); i++)
        th_sleep_ms(25);
    assert_true(th_is_stopped(pid));
    /* the export writes one more line meanwhile, and is not done */
    const char *nl = memchr(all + cut, '\n', len - cut);
    assert_non_null(nl);
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    assert_int_equal(fwrite(all + cut, 1, (size_t)(nl + 1 - (all + cut)), f),
                     (size_t)(nl + 1 - (all + cut)));
    assert_int_equal(fclose(f), 0);
    kill(pid, SIGCONT);
    assert_int_equal(th_wait(pid), 0);
    char *out = th_read_file(log, NULL);
    assert_non_null(out);
    if (strstr(out, "dump.jsonl: changed while it was read") == NULL ||
        strstr(out, "are kept") == NULL)
        fail_msg("trawl-index said: %s", out);
    free(out);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(th_client(&h, &r, (const char *[]){"-c", "common",
                                                        NULL}),
                     0);
    assert_string_equal(r.out, "10\n");
    th_result_free(&r);
    assert_int_equal(th_daemon_stop(&h), 0);

    /* the export done: a rerun reads it whole, nothing to change */
    assert_int_equal(th_write_file(p, all, len), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    if (strstr(r.err, "changed while") != NULL ||
        strstr(r.out, "10 documents unchanged") == NULL)
        fail_msg("rerun: %s %s", r.out, r.err);
    th_result_free(&r);
    th_cleanup(&h);
}

/*
 * trawld started with its standard descriptors closed (a cron line's
 * "<&- >&- 2>&-", a supervisor that closes them): libuv's signal pipe
 * took numbers 1 and 2, every log line went into it, and SIGTERM then
 * aborted the daemon (exit 134, socket file left behind). Closed
 * standard descriptors are /dev/null now.
 */
static void test_daemon_with_closed_stdio(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256], bin[512];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/a.txt");
    const char *a = "Title: A\n\nalpha\n";
    assert_int_equal(th_write_file(p, a, strlen(a)), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    snprintf(bin, sizeof(bin), "%s/trawld", th_bin_dir());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(0);
        close(1);
        close(2);
        execl(bin, bin, "--index", h.index, "--socket", h.sock, "--threads",
              "1", (char *)NULL);
        _exit(127);
    }
    th_result r;
    int st = -1;
    for (int i = 0; i < 100 && st != 0; i++) {
        st = th_client(&h, &r, (const char *[]){"--ping", NULL});
        th_result_free(&r);
        if (st != 0)
            th_sleep_ms(50);
    }
    assert_int_equal(st, 0);
    /* log lines: two reloads and a SIGHUP */
    for (int g = 0; g < 2; g++) {
        char body[64];
        snprintf(p, sizeof(p), "%s/c/b%d.txt", h.dir, g);
        snprintf(body, sizeof(body), "Title: B\n\nbeta%d\n", g);
        assert_int_equal(th_write_file(p, body, strlen(body)), 0);
        assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
        char q[16];
        snprintf(q, sizeof(q), "beta%d", g);
        st = -1;
        for (int i = 0; i < 60 && st != 0; i++) {
            st = th_client(&h, &r, (const char *[]){"-c", q, NULL});
            th_result_free(&r);
            if (st != 0)
                th_sleep_ms(100);
        }
        assert_int_equal(st, 0);
    }
    kill(pid, SIGHUP);
    th_sleep_ms(200);
    assert_int_equal(th_client(&h, &r, (const char *[]){"-c", "alpha", NULL}),
                     0);
    th_result_free(&r);
    kill(pid, SIGTERM);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        fail_msg("trawld ended with status %d", ws);
    assert_int_equal(access(h.sock, F_OK), -1);
    th_cleanup(&h);
}

/*
 * The index writer removes *.tmp files and the gen-* and seg-* files of
 * old generations by those prefixes and that suffix. "trawl-index --index
 * news news" (the index beside the articles) deleted the user's
 * gen-ai-boom.txt and seg-rail.md from disk, and any notes.tmp there. An
 * --index directory holding such files that are not trawl's is refused
 * now, before anything is written; one with only trawl's files, or
 * articles of other names, is used as before.
 */
static void test_index_dir_with_foreign_files(void **state)
{
    (void)state;
    th h;
    char news[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "news");
    th_path(news, sizeof(news), &h, "news");
    static const char *const names[] = {"gen-ai-boom.txt", "seg-rail.md",
                                        "notes.tmp"};
    for (size_t i = 0; i < 3; i++) {
        th_path(p, sizeof(p), &h, "news/other.txt");
        assert_int_equal(th_write_file(p, "Other\n\nstory\n", 14), 0);
        char f[256];
        char rel[64];
        snprintf(rel, sizeof(rel), "news/%s", names[i]);
        th_path(f, sizeof(f), &h, rel);
        assert_int_equal(th_write_file(f, "Mine\n\nkeep me\n", 15), 0);
        th_result r;
        const char *argv[] = {"trawl-index", "--index", news, news, NULL};
        assert_int_equal(th_run(&r, argv), 2);
        if (strstr(r.err, names[i]) == NULL ||
            strstr(r.err, "a directory of its own") == NULL)
            fail_msg("%s: %s", names[i], r.err);
        th_result_free(&r);
        assert_int_equal(access(f, F_OK), 0);
        th_path(p, sizeof(p), &h, "news/CURRENT");
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(unlink(f), 0);
    }
    /* without them: the index beside the articles works, twice */
    for (int k = 0; k < 2; k++) {
        th_result r;
        const char *argv[] = {"trawl-index", "--index", news, news, NULL};
        assert_int_equal(th_run(&r, argv), 0);
        th_result_free(&r);
    }
    /* a dead build's leftovers, also of early indexes (seg-N.trs), are
     * trawl's own */
    static const char *const own[] = {"seg-000007.trs", "seg-000008-01.trs.tmp",
                                      "gen-000009.man.tmp", "CURRENT.tmp"};
    for (size_t i = 0; i < 4; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "news/%s", own[i]);
        th_path(p, sizeof(p), &h, rel);
        assert_int_equal(th_write_file(p, "x", 1), 0);
    }
    th_result r;
    const char *argv[] = {"trawl-index", "--index", news, news, NULL};
    assert_int_equal(th_run(&r, argv), 0);
    th_result_free(&r);
    th_path(p, sizeof(p), &h, "news/other.txt");
    assert_int_equal(access(p, F_OK), 0);
    th_cleanup(&h);
}

/*
 * A text file that is one long line: it was all title (the result
 * printed a screenful as its heading, no snippet). It is the body now,
 * untitled, with a snippet around the words.
 */
static void test_one_line_text_file(void **state)
{
    (void)state;
    th h;
    char dir[256], p[256];
    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "c");
    th_path(dir, sizeof(dir), &h, "c");
    th_path(p, sizeof(p), &h, "c/oneline.txt");
    char text[4096];
    size_t n = 0;
    while (n + 40 < sizeof(text))
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "officials said the ferry was late. ");
    n += (size_t)snprintf(text + n, sizeof(text) - n, "harbor storm");
    assert_int_equal(th_write_file(p, text, n), 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"search\",\"q\":\"harbor storm\","
                               "\"snippet_length\":60}");
    assert_non_null(r);
    json_t *hit = json_array_get(json_object_get(r, "hits"), 0);
    assert_non_null(hit);
    assert_string_equal(json_string_value(json_object_get(hit, "title")), "");
    const char *snip = json_string_value(json_object_get(hit, "snippet"));
    if (snip == NULL || strstr(snip, "harbor storm") == NULL ||
        strlen(snip) > 80)
        fail_msg("snippet: %s", snip ? snip : "(null)");
    assert_int_equal(json_array_size(json_object_get(hit, "highlights")), 2);
    json_decref(r);
    th_close(&c);
    th_result res;
    assert_int_equal(th_client(&h, &res, (const char *[]){"harbor", NULL}),
                     0);
    if (strstr(res.out, "1. (untitled)\n") == NULL || strlen(res.out) > 600)
        fail_msg("trawl harbor: %s", res.out);
    th_result_free(&res);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf16_and_binary_text_files),
        cmocka_unit_test(test_client_reads_nul_in_strings),
        cmocka_unit_test(test_pasted_query_text),
        cmocka_unit_test(test_index_parents_created),
        cmocka_unit_test(test_jsonl_nul_and_lone_surrogate),
        cmocka_unit_test(test_protocol_from_other_languages),
        cmocka_unit_test(test_jsonl_rewritten_while_read),
        cmocka_unit_test(test_daemon_with_closed_stdio),
        cmocka_unit_test(test_index_dir_with_foreign_files),
        cmocka_unit_test(test_one_line_text_file),
    };
    return cmocka_run_group_tests_name("sweep7", tests, NULL, NULL);
}
