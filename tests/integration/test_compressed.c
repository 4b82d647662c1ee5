/*
 * Compressed JSON Lines: *.jsonl.gz (gzip, several members as pigz and
 * bgzip write them) and *.jsonl.zst (zstd, several frames) are read as
 * streams and indexed like the plain file; a rerun finds them unchanged;
 * a file cut short or damaged is reported, what came before it is
 * indexed, and no article is deleted for what could not be read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "harness.h"

static const char *const part1 =
    "{\"id\":\"a\",\"title\":\"Storm\",\"body\":\"storm surge\"}\n"
    "{\"id\":\"b\",\"title\":\"Flood\",\"body\":\"flood water\"}\n";
static const char *const part2 =
    "{\"id\":\"c\",\"title\":\"Drought\",\"body\":\"dry wells\"}\n";

/* One gzip member of text appended to *buf. */
static void gz_member(unsigned char **buf, size_t *len, const char *text)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
                                  Z_DEFAULT_STRATEGY),
                     Z_OK);
    size_t cap = deflateBound(&z, strlen(text)) + 32;
    *buf = realloc(*buf, *len + cap);
    assert_non_null(*buf);
    z.next_in = (unsigned char *)(uintptr_t)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = *buf + *len;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len += cap - z.avail_out;
    deflateEnd(&z);
}

/* One zstd frame of text appended to *buf. */
static void zst_frame(unsigned char **buf, size_t *len, const char *text)
{
    size_t cap = ZSTD_compressBound(strlen(text));
    *buf = realloc(*buf, *len + cap);
    assert_non_null(*buf);
    size_t n = ZSTD_compress(*buf + *len, cap, text, strlen(text), 3);
    assert_false(ZSTD_isError(n));
    *len += n;
}

static void write_bytes(const th *h, const char *name, const void *p,
                        size_t n)
{
    char path[256];
    th_path(path, sizeof(path), h, name);
    assert_int_equal(th_write_file(path, p, n), 0);
}

static int count(th *h, const char *q)
{
    th_result r;
    const char *args[] = {"--count", q, NULL};
    int st = th_client(h, &r, args);
    assert_true(st == 0 || st == 1);
    int n = atoi(r.out);
    th_result_free(&r);
    return n;
}

static void test_gzip_and_zstd(void **state)
{
    (void)state;
    th h;
    char dir[256];
    th_result r;
    unsigned char *gz = NULL, *zs = NULL;
    size_t gzn = 0, zsn = 0;

    assert_int_equal(th_init(&h), 0);
    th_make_dir(&h, "feeds");
    th_path(dir, sizeof(dir), &h, "feeds");
    gz_member(&gz, &gzn, part1);
    gz_member(&gz, &gzn, part2);
    write_bytes(&h, "feeds/day1.jsonl.gz", gz, gzn);
    zst_frame(&zs, &zsn, "{\"id\":\"d\",\"title\":\"Gale\",\"body\":\"high "
                         "winds\"}\n");
    zst_frame(&zs, &zsn, "{\"id\":\"e\",\"title\":\"Fog\",\"body\":\"thick "
                         "fog\"}\n");
    write_bytes(&h, "feeds/DAY2.JSONL.ZST", zs, zsn);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "indexed 5 documents (5 added"));
    assert_string_equal(r.err, "");
    th_result_free(&r);

    assert_int_equal(th_daemon_start(&h, NULL), 0);
    assert_int_equal(count(&h, "storm OR flood OR drought"), 3);
    assert_int_equal(count(&h, "winds OR fog"), 2);

    /* Progress counts the files by their size on disk: never past the
     * total, nor below zero while a file's first input block (256 KiB)
     * has given less than its size. */
    th_make_dir(&h, "feeds2");
    size_t tn = 0, tcap = (size_t)3 << 20;
    char *text = malloc(tcap + 256);
    assert_non_null(text);
    unsigned seed = 7;
    for (int i = 0; tn < tcap; i++) {
        tn += (size_t)snprintf(text + tn, 64,
                               "{\"id\":\"r%d\",\"title\":\"t\",\"body\":\"", i);
        for (int k = 0; k < 150; k++) {
            seed = seed * 1103515245u + 12345u;
            text[tn++] = k % 7 == 6 ? ' ' : (char)('a' + (seed >> 16) % 26);
        }
        tn += (size_t)snprintf(text + tn, 8, "\"}\n");
    }
    text[tn] = '\0';
    unsigned char *big = NULL;
    size_t bign = 0;
    zst_frame(&big, &bign, text);
    free(text);
    assert_true(bign > ((size_t)256 << 10));
    write_bytes(&h, "feeds2/big.jsonl.zst", big, bign);
    free(big);
    char dir2[256], idx2[256];
    th_path(dir2, sizeof(dir2), &h, "feeds2");
    th_path(idx2, sizeof(idx2), &h, "index2");
    const char *prog[] = {"trawl-index", "--index", idx2, "--progress=json",
                          dir2, dir, NULL};
    assert_int_equal(th_run(&r, prog), 0);
    int events = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *ev = json_loads(line, 0, &je);
        assert_non_null(ev);
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (kind != NULL && strcmp(kind, "progress") == 0) {
            json_int_t done = json_integer_value(json_object_get(ev, "bytes"));
            json_int_t total =
                json_integer_value(json_object_get(ev, "total_bytes"));
            assert_true(done >= 0 && done <= total);
            events++;
        }
        json_decref(ev);
    }
    assert_true(events > 0);
    th_result_free(&r);

    /* Unchanged: nothing to commit. */
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);

    /* Cut short in its second member: a, b indexed, c not deleted. */
    write_bytes(&h, "feeds/day1.jsonl.gz", gz, gzn - 12);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "day1.jsonl.gz: compressed data cut "
                                  "short"));
    assert_non_null(strstr(r.err, "not see are kept"));
    assert_non_null(strstr(r.out, "no changes"));
    th_result_free(&r);

    /* Damaged zstd: reported, nothing deleted. */
    zs[zsn / 2] ^= 0x5a;
    zs[zsn / 2 + 1] ^= 0xa5;
    write_bytes(&h, "feeds/DAY2.JSONL.ZST", zs, zsn);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "DAY2.JSONL.ZST: "));
    assert_non_null(strstr(r.err, "not see are kept"));
    th_result_free(&r);
    assert_int_equal(count(&h, "storm OR flood OR drought OR winds OR fog"),
                     5);

    /* Empty (a download that failed: compressed data is never 0 bytes):
     * reported, nothing deleted. */
    zs[zsn / 2] ^= 0x5a;
    zs[zsn / 2 + 1] ^= 0xa5;
    write_bytes(&h, "feeds/DAY2.JSONL.ZST", zs, zsn);
    write_bytes(&h, "feeds/day1.jsonl.gz", "", 0);
    assert_int_equal(th_index(&h, (const char *[]){dir, NULL}, &r), 0);
    assert_non_null(strstr(r.err, "day1.jsonl.gz: empty file"));
    assert_non_null(strstr(r.err, "not see are kept"));
    th_result_free(&r);
    assert_int_equal(count(&h, "storm OR flood OR drought OR winds OR fog"),
                     5);
    assert_int_equal(th_daemon_stop(&h), 0);
    free(gz);
    free(zs);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_and_zstd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
