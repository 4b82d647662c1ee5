/*
 * The ninth review of new code (session 9), through the real programs:
 *  - HTML bodies: table cells, <pre>, a plain body with an entity keeping
 *    its paragraphs, a whole page (<html>, <body>) read as HTML, a tag
 *    named in text (<script>) not taken for markup swallowing the rest, markup nested past libxml2's 256 levels (unclosed
 *    tags), a text longer than libxml2's 10 MB text node, CDATA markers;
 *  - legacy encodings: a Shift_JIS file cut inside its last character and
 *    an EUC-KR file with a stray byte are read in their encoding, not as
 *    Windows-1252 mojibake;
 *  - gzip: zero padding after the last member is the end of the data, the
 *    lines before damage in the same read are indexed, a file that is not
 *    gzip is named so;
 *  - trawld: a socket directory removed is said once in the log, not each
 *    second, and the socket comes back when the directory does; a
 *    --socket-mode without the owner's read and write is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void check_body(th_conn *c, const char *id, const char *want)
{
    json_t *r = th_get_doc(c, id);
    const char *b = th_doc_field(r, "body");
    assert_non_null(b);
    if (strcmp(b, want) != 0)
        fail_msg("%s: body \"%s\", expected \"%s\"", id, b, want);
    json_decref(r);
}

/* s repeated n times, then tail, after head (malloc'd). */
static char *repeat(const char *head, const char *s, size_t n,
                    const char *tail)
{
    size_t hl = strlen(head), sl = strlen(s), tl = strlen(tail);
    char *p = malloc(hl + sl * n + tl + 1);
    assert_non_null(p);
    memcpy(p, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(p + hl + i * sl, s, sl);
    memcpy(p + hl + sl * n, tail, tl + 1);
    return p;
}

static void test_html_text(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "feed.jsonl");
    char *deep_div = repeat("", "<div>", 300, "deepdiv tail");
    char *deep_font = repeat("<p>lead</p>", "<font size=2>", 600,
                             "deepfont tail");
    size_t cap = strlen(deep_div) + strlen(deep_font) + 4096;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap,
             "{\"id\":\"table\",\"title\":\"T\",\"body\":\"<table><tr><td>"
             "Paris</td><td>London</td></tr><tr><th>Berlin</th><th>Rome"
             "</th></tr></table>\"}\n"
             "{\"id\":\"pre\",\"title\":\"T\",\"body\":\"<p>Code:</p><pre>"
             "line one\\n    indented\\nline three</pre>\"}\n"
             "{\"id\":\"plain\",\"title\":\"T\",\"body\":\"First paragraph, "
             "AT&amp;T.\\n\\nSecond paragraph.\\nA line.\"}\n"
             "{\"id\":\"cdata\",\"title\":\"T\",\"body\":\"<![CDATA[<p>"
             "Wrapped text</p>]]>\"}\n"
             "{\"id\":\"page\",\"title\":\"T\",\"body\":\"<!DOCTYPE "
             "html><html><head><title>Site</title></head><body>Hello "
             "world</body></html>\"}\n"
             "{\"id\":\"xss\",\"title\":\"T\",\"body\":\"Attackers inject "
             "<script> tags into forms. The fix is simple.\"}\n"
             "{\"id\":\"css\",\"title\":\"T\",\"body\":\"Put the name in "
             "<title> and the rules in a <style> block; then the text.\"}\n"
             "{\"id\":\"div\",\"title\":\"T\",\"body\":\"%s\"}\n"
             "{\"id\":\"font\",\"title\":\"T\",\"body\":\"%s\"}\n",
             deep_div, deep_font);
    th_write_text(corpus, text);
    free(text);
    free(deep_div);
    free(deep_font);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);

    /* cells were one word ("ParisLondon") */
    check_body(&c, "table", "Paris London\n\nBerlin Rome");
    assert_int_equal(th_count(&c, "london"), 1);
    /* white space of <pre> kept */
    check_body(&c, "pre", "Code:\n\nline one\n    indented\nline three");
    /* one entity made a plain body one paragraph */
    check_body(&c, "plain",
               "First paragraph, AT&T.\n\nSecond paragraph.\nA line.");
    /* "<![CDATA[" was text: the word "cdata" indexed and shown */
    check_body(&c, "cdata", "Wrapped text");
    assert_int_equal(th_count(&c, "cdata"), 0);
    /* a whole page (no tag of the list but html, body, title) was text */
    check_body(&c, "page", "Hello world");
    assert_int_equal(th_count(&c, "html OR doctype OR site"), 0);
    /* a tag named in text, not closed after: the rest of the article was
     * taken for its script (or style, or title) and dropped */
    check_body(&c, "xss",
               "Attackers inject <script> tags into forms. The fix is simple.");
    check_body(&c, "css", "Put the name in <title> and the rules in a "
                          "<style> block; then the text.");
    assert_int_equal(th_count(&c, "fix"), 1);
    /* past 256 open elements libxml2 stopped: the text was lost */
    check_body(&c, "div", "deepdiv tail");
    check_body(&c, "font", "lead\n\ndeepfont tail");
    assert_int_equal(th_count(&c, "deepdiv"), 1);
    assert_int_equal(th_count(&c, "deepfont"), 1);

    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A body whose text is longer than 10 MB: libxml2 cut a tree's text node
 * there, silently, and the rest of the article was lost. */
static void test_html_long_text(void **state)
{
    (void)state;
    th h;
    char corpus[256];

    assert_int_equal(th_init(&h), 0);
    th_path(corpus, sizeof(corpus), &h, "big.jsonl");
    char *line = repeat("{\"id\":\"big\",\"title\":\"T\",\"body\":\"<p>",
                        "word ", 2100000,
                        "lastword</p><p>after</p>\"}\n");
    th_write_text(corpus, line);
    free(line);
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(th_count(&c, "lastword"), 1);
    assert_int_equal(th_count(&c, "after"), 1);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* "정부는 새로운 경제 정책을 발표했다. 대통령은 물가 안정을 강조했다. " */
static const char euc_kr[] =
    "\xc1\xa4\xba\xce\xb4\xc2 \xbb\xf5\xb7\xce\xbf\xee \xb0\xe6\xc1\xa6 "
    "\xc1\xa4\xc3\xa5\xc0\xbb \xb9\xdf\xc7\xa5\xc7\xdf\xb4\xd9. \xb4\xeb"
    "\xc5\xeb\xb7\xc9\xc0\xba \xb9\xb0\xb0\xa1 \xbe\xc8\xc1\xa4\xc0\xbb "
    "\xb0\xad\xc1\xb6\xc7\xdf\xb4\xd9. ";
/* "首相は新しい経済政策を発表しました。物価の安定を強調しました。" */
static const char shift_jis[] =
    "\x8e\xf1\x91\x8a\x82\xcd\x90V\x82\xb5\x82\xa2\x8co\x8d\xcf\x90\xad"
    "\x8d\xf4\x82\xf0\x94\xad\x95\\\x82\xb5\x82\xdc\x82\xb5\x82\xbd\x81"
    "B\x95\xa8\x89\xbf\x82\xcc\x88\xc0\x92\xe8\x82\xf0\x8b\xad\x92\xb2"
    "\x82\xb5\x82\xdc\x82\xb5\x82\xbd\x81"
    "B";

/* One invalid byte sequence made iconv give up on the whole file, read
 * then as Windows-1252: every word of it unsearchable. */
static void test_legacy_damaged(void **state)
{
    (void)state;
    th h;
    char dir[256], path[300];
    char buf[2048];
    size_t n = 0;

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "news");
    th_path(dir, sizeof(dir), &h, "news");

    /* EUC-KR, a stray byte in the middle */
    n = 0;
    for (int i = 0; i < 6; i++) {
        memcpy(buf + n, euc_kr, sizeof(euc_kr) - 1);
        n += sizeof(euc_kr) - 1;
        if (i == 2)
            buf[n++] = '\xff';
    }
    snprintf(path, sizeof(path), "%s/ko.txt", dir);
    assert_int_equal(th_write_file(path, buf, n), 0);

    /* Shift_JIS, cut inside its last character */
    n = 0;
    for (int i = 0; i < 6; i++) {
        memcpy(buf + n, shift_jis, sizeof(shift_jis) - 1);
        n += sizeof(shift_jis) - 1;
    }
    buf[n++] = '\x8e'; /* the first byte of a two-byte character */
    snprintf(path, sizeof(path), "%s/ja.txt", dir);
    assert_int_equal(th_write_file(path, buf, n), 0);

    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "ko.txt: not UTF-8: read as EUC-KR"));
    assert_non_null(strstr(r.err, "ja.txt: not UTF-8: read as Shift_JIS"));
    assert_non_null(strstr(r.err, "replaced by U+FFFD"));
    th_result_free(&r);
    assert_int_equal(th_daemon_start(&h, NULL), 0);
    th_conn c;
    assert_int_equal(th_connect(&h, &c), 0);
    assert_int_equal(th_count(&c, "\xec\xa0\x95\xec\xb1\x85"), 1); /* 정책 */
    assert_int_equal(th_count(&c, "\xe7\xb5\x8c\xe6\xb8\x88"), 1); /* 経済 */
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* text as one gzip member of stored (uncompressed) deflate blocks, at
 * out; its length. out must hold strlen(text) + 64 bytes. */
static size_t gzip_stored(unsigned char *out, const char *text)
{
    size_t n = strlen(text), o = 0;
    static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0,
                                           0,    0,    0, 3};
    memcpy(out, head, sizeof(head));
    o = sizeof(head);
    assert_true(n < 65535);
    out[o++] = 1; /* the last block, stored */
    out[o++] = (unsigned char)(n & 0xff);
    out[o++] = (unsigned char)(n >> 8);
    out[o++] = (unsigned char)(~n & 0xff);
    out[o++] = (unsigned char)((~n >> 8) & 0xff);
    memcpy(out + o, text, n);
    o += n;
    uint32_t crc = crc32_of((const unsigned char *)text, n);
    for (int k = 0; k < 4; k++)
        out[o++] = (unsigned char)(crc >> (8 * k));
    for (int k = 0; k < 4; k++)
        out[o++] = (unsigned char)((uint32_t)n >> (8 * k));
    return o;
}

static void test_gzip_tail(void **state)
{
    (void)state;
    th h;
    char pad[256], garbage[256];
    const char *lines =
        "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
        "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"flood water\"}\n";
    unsigned char buf[1024];

    assert_int_equal(th_init(&h), 0);
    /* zero padding after the member, as tape and block devices leave it:
     * gzip -d reads it as the end; it was "damaged gzip data" and not
     * one line was indexed */
    th_make_dir(&h, "p");
    th_path(pad, sizeof(pad), &h, "p/pad.jsonl.gz");
    size_t n = gzip_stored(buf, lines);
    memset(buf + n, 0, 512);
    assert_int_equal(th_write_file(pad, buf, n + 512), 0);
    th_result r;
    assert_int_equal(th_index(&h, (const char *[]){pad, NULL}, &r), 0);
    assert_null(strstr(r.err, "damaged"));
    assert_non_null(strstr(r.out, "indexed 2 documents"));
    th_result_free(&r);

    /* bytes that are not gzip after the member: reported, but the lines
     * decompressed in the same read are indexed (they were dropped) */
    th_make_dir(&h, "g");
    th_path(garbage, sizeof(garbage), &h, "g/garbage.jsonl.gz");
    n = gzip_stored(buf, lines);
    memcpy(buf + n, "garbage\n", 8);
    assert_int_equal(th_write_file(garbage, buf, n + 8), 0);
    char idx2[256];
    th_path(idx2, sizeof(idx2), &h, "index2");
    assert_int_equal(th_run(&r, (const char *[]){"trawl-index", "--index",
                                                 idx2, garbage, NULL}),
                     0);
    assert_non_null(strstr(r.err, "damaged gzip data"));
    assert_non_null(strstr(r.out, "indexed 2 documents"));
    th_result_free(&r);

    /* a plain file named .gz is named as such, not as damaged gzip */
    char plain[256];
    th_make_dir(&h, "n");
    th_path(plain, sizeof(plain), &h, "n/plain.jsonl.gz");
    th_write_text(plain, lines);
    assert_int_equal(th_run(&r, (const char *[]){"trawl-index", "--index",
                                                 idx2, plain, NULL}),
                     1);
    assert_non_null(strstr(r.err, "plain.jsonl.gz: not gzip data"));
    th_result_free(&r);
    th_cleanup(&h);
}

/* Lines of the log holding s. */
static int log_lines(th *h, const char *s)
{
    char *log = th_daemon_log(h);
    assert_non_null(log);
    int n = 0;
    for (const char *p = log; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    free(log);
    return n;
}

/* The socket's directory removed (a tmpfiles cleaning of a runtime
 * directory): trawld logged an error each second for as long as it was
 * gone; now once, and the socket is made again when it is back. */
static void test_socket_dir_removed(void **state)
{
    (void)state;
    th h;
    char run[256];

    assert_int_equal(th_init(&h), 0);
    char corpus[256];
    th_path(corpus, sizeof(corpus), &h, "c.jsonl");
    th_write_text(corpus,
                  "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm\"}\n");
    assert_int_equal(th_index(&h, (const char *[]){corpus, NULL}, NULL), 0);
    th_make_dir(&h, "run");
    th_path(run, sizeof(run), &h, "run");
    th_path(h.sock, sizeof(h.sock), &h, "run/t.sock");
    assert_int_equal(th_daemon_start(&h, NULL), 0);

    assert_int_equal(unlink(h.sock), 0);
    assert_int_equal(rmdir(run), 0);
    th_sleep_ms(3600); /* three checks at least */
    assert_int_equal(log_lines(&h, "cannot be made again"), 1);
    assert_int_equal(log_lines(&h, "error bind"), 0);

    assert_int_equal(mkdir(run, 0700), 0);
    th_conn c;
    int ok = -1;
    for (int i = 0; i < 40 && ok != 0; i++) {
        th_sleep_ms(100);
        struct stat st;
        if (stat(h.sock, &st) == 0)
            ok = th_connect(&h, &c);
    }
    assert_int_equal(ok, 0);
    json_t *r = th_request(&c, "{\"op\":\"ping\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

/* A socket mode without the owner's write made trawld unable to start
 * again after a crash (its connect to the stale socket failed with
 * EACCES, not ECONNREFUSED): refused as a usage error. */
static void test_socket_mode_owner(void **state)
{
    (void)state;
    th_result r;
    assert_int_equal(th_run(&r, (const char *[]){"trawld", "--socket-mode",
                                                 "060", "--index", ".",
                                                 NULL}),
                     2);
    assert_non_null(strstr(r.err, "--socket-mode: '060'"));
    th_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_html_long_text),
        cmocka_unit_test(test_legacy_damaged),
        cmocka_unit_test(test_gzip_tail),
        cmocka_unit_test(test_socket_dir_removed),
        cmocka_unit_test(test_socket_mode_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
