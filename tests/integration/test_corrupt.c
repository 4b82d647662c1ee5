/*
 * Corruption: every file of a generation (CURRENT, the manifest, each
 * segment) gets bytes flipped in its header, in each section, in the TOC
 * and in the footer, and is truncated at several lengths. Each time
 * `trawl-index --check` must fail with a message naming the damaged file
 * (never crash), and a trawld serving the previous generation must refuse
 * the damaged one on reload, keep answering from the old one, and show the
 * error in stats.
 *
 * The damaged generation is installed next to the served one with
 * write-to-temporary + rename, as a writer would: the daemon's mappings of
 * the served files are never written to. One long article (about 160 KiB)
 * gives the first segment a store dictionary, so STORE_DICT is damaged
 * too.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
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

#define MAX_FILES 16

typedef struct gfile {
    char name[64];
    char *data;
    size_t len;
} gfile;

static th H;
static char scratch[160]; /* a second index dir: the generation to damage */
static gfile files[MAX_FILES];
static size_t nfiles;

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static json_t *ask(const char *line)
{
    th_conn c;
    json_t *r;

    assert_int_equal(th_connect(&H, &c), 0);
    r = th_request(&c, line);
    th_close(&c);
    assert_non_null(r);
    return r;
}

static void copy_tree_file(const char *from_dir, const char *to_dir,
                           const char *name)
{
    char a[512], b[512];
    size_t n;

    snprintf(a, sizeof(a), "%s/%s", from_dir, name);
    snprintf(b, sizeof(b), "%s/%s", to_dir, name);
    char *s = th_read_file(a, &n);
    assert_non_null(s);
    assert_int_equal(th_write_file(b, s, n), 0);
    free(s);
}

/* Install bytes as dir/name by write + rename (a new inode). */
static void install(const char *name, const char *p, size_t n)
{
    char tmp[2048], dst[2048];

    snprintf(tmp, sizeof(tmp), "%s/%s.install", H.index, name);
    snprintf(dst, sizeof(dst), "%s/%s", H.index, name);
    assert_int_equal(th_write_file(tmp, p, n), 0);
    assert_int_equal(rename(tmp, dst), 0);
}

/* An article long enough for a store dictionary (STORE_DICT is empty
 * below 128 KiB of stored text), without the word "storm". */
static void write_long_article(const char *path)
{
    static const char *const words[] = {
        "harbor", "council", "said",   "ships",  "market", "prices",
        "rose",   "fell",    "report", "week",   "crates", "workers",
        "port",   "city",    "plan",   "trade",  "after",  "night",
        "the",    "of",      "and",    "in",     "a",      "for"};
    size_t cap = 170 * 1024, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    uint32_t x = 2463534242u;
    n += (size_t)snprintf(t, cap, "Title: Harbor almanac\n\n");
    while (n < 160 * 1024) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n += (size_t)snprintf(t + n, cap - n, "%s%s",
                              words[x % (sizeof(words) / sizeof(words[0]))],
                              x % 13 == 0 ? ".\n" : " ");
    }
    th_write_file(path, t, n);
    free(t);
}

static int setup(void **state)
{
    char src[256], extra[512];
    th_result r;

    (void)state;
    if (th_init(&H) < 0)
        return -1;
    snprintf(scratch, sizeof(scratch), "%s/scratch", H.dir);

    /* Generation 1 from the protocol fixtures, in the scratch dir, then
     * copied to the served dir. */
    snprintf(src, sizeof(src), "%s/articles", H.dir);
    mkdir(src, 0700);
    const char *names[] = {"harbor.txt", "orchard.txt", "council.txt",
                           "bakery.txt"};
    for (size_t i = 0; i < 4; i++) {
        char f[512];
        snprintf(f, sizeof(f), "%s/protocol", th_fixtures_dir());
        copy_tree_file(f, src, names[i]);
    }
    char almanac[512];
    snprintf(almanac, sizeof(almanac), "%s/almanac.txt", src);
    write_long_article(almanac);
    const char *argv1[] = {"trawl-index", "--index", scratch, src, NULL};
    if (th_run(&r, argv1) != 0) {
        fprintf(stderr, "%s", r.err);
        th_result_free(&r);
        return -1;
    }
    th_result_free(&r);
    mkdir(H.index, 0700);
    DIR *d = opendir(scratch);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "LOCK") != 0)
            copy_tree_file(scratch, H.index, e->d_name);
    closedir(d);
    if (th_daemon_start(&H, NULL) < 0)
        return -1;

    /* Generation 2 (one more storm) in the scratch dir only. */
    snprintf(extra, sizeof(extra), "%s/storm2.txt", src);
    const char *text = "Title: Second storm\n\nAnother storm reached the "
                       "coast.\n";
    th_write_file(extra, text, strlen(text));
    if (th_run(&r, argv1) != 0) {
        fprintf(stderr, "%s", r.err);
        th_result_free(&r);
        return -1;
    }
    th_result_free(&r);
    d = opendir(scratch);
    while ((e = readdir(d)) != NULL && nfiles < MAX_FILES) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0)
            continue;
        gfile *g = &files[nfiles++];
        char path[512];
        snprintf(g->name, sizeof(g->name), "%.63s", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", scratch, e->d_name);
        g->data = th_read_file(path, &g->len);
        if (g->data == NULL)
            return -1;
    }
    closedir(d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nfiles; i++)
        free(files[i].data);
    th_cleanup(&H);
    return 0;
}

/* Served generation 1 still answers, with its own count. */
static void assert_old_served(void)
{
    json_t *r = ask("{\"op\":\"count\",\"q\":\"storm\"}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "generation")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
}

static int trials;

/*
 * Install generation 2 with file `target` replaced by bad[0..n), then:
 * --check must fail naming it, a reload must fail and keep generation 1.
 */
static void try_damaged(const gfile *target, const char *bad, size_t n,
                        const char *what)
{
    th_result r;
    char label[160];
    int is_current = strcmp(target->name, "CURRENT") == 0;

    trials++;
    snprintf(label, sizeof(label), "%s %s", target->name, what);
    /* Everything but CURRENT first, CURRENT last: like a commit. */
    for (size_t i = 0; i < nfiles; i++) {
        const gfile *g = &files[i];
        if (strcmp(g->name, "CURRENT") == 0)
            continue;
        if (g == target)
            install(g->name, bad, n);
        else
            install(g->name, g->data, g->len);
    }
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, "CURRENT") == 0)
            install("CURRENT", is_current ? bad : files[i].data,
                    is_current ? n : files[i].len);

    const char *argv[] = {"trawl-index", "--check", H.index, NULL};
    int st = th_run(&r, argv);
    if (st != 2 && st != 3)
        fail_msg("%s: --check exited %d\n%s%s", label, st, r.out, r.err);
    size_t lo = strlen(r.out), le = strlen(r.err);
    char *all = malloc(lo + le + 1);
    memcpy(all, r.out, lo);
    memcpy(all + lo, r.err, le + 1);
    if (le == 0)
        fail_msg("%s: --check gave no error message", label);
    if (!is_current && strstr(all, target->name) == NULL)
        fail_msg("%s: --check does not name the file: %s", label, all);
    free(all);
    th_result_free(&r);

    /* The daemon: a forced reload fails, generation 1 keeps serving. */
    json_t *resp = ask("{\"op\":\"reload\"}");
    if (!json_is_true(json_object_get(resp, "ok")) ||
        !json_is_false(json_object_get(resp, "reloaded")) ||
        json_integer_value(json_object_get(resp, "generation")) != 1) {
        char *s = json_dumps(resp, JSON_COMPACT);
        fail_msg("%s: reload answered %s", label, s);
    }
    const char *msg = json_string_value(json_object_get(resp, "reload_error"));
    if (msg == NULL || msg[0] == '\0')
        fail_msg("%s: reload gave no reload_error", label);
    if (!is_current && strstr(msg, target->name) == NULL)
        fail_msg("%s: reload_error does not name the file: %s", label, msg);
    json_decref(resp);
    resp = ask("{\"op\":\"stats\"}");
    assert_true(json_is_string(json_object_get(resp, "last_reload_error")));
    assert_int_equal(json_integer_value(json_object_get(resp, "generation")),
                     1);
    json_decref(resp);
    assert_old_served();
}

static void flip_at(const gfile *g, size_t off)
{
    char what[64];
    if (off >= g->len)
        return;
    char *b = malloc(g->len);
    memcpy(b, g->data, g->len);
    b[off] ^= (char)0xff;
    snprintf(what, sizeof(what), "byte %zu flipped", off);
    try_damaged(g, b, g->len, what);
    free(b);
}

static void truncate_at(const gfile *g, size_t len)
{
    char what[64];
    if (len >= g->len)
        return;
    snprintf(what, sizeof(what), "truncated to %zu bytes", len);
    try_damaged(g, g->data, len, what);
}

#define SEC_ID_STORE_DICT 12 /* core/src/format.h */
#define SEC_ID_STORE_CODE 14
static int dict_sections;    /* non-empty STORE_DICT or STORE_CODE
                                sections damaged */

static void damage_segment(const gfile *g)
{
    const unsigned char *p = (const unsigned char *)g->data;
    size_t n = g->len;

    assert_true(n > 48);
    uint64_t toc_off = le64(p + n - 32), toc_len = le64(p + n - 24);
    assert_true(toc_off + toc_len + 32 == n);
    uint32_t nsec = le32(p + toc_off);

    /* header: magic and version (bytes 12..15 are reserved: only --check
     * looks at them) */
    flip_at(g, 0);
    flip_at(g, 7);
    flip_at(g, 8);
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = p + toc_off + 4 + (size_t)i * 32;
        uint64_t off = le64(e + 8), len = le64(e + 16);
        if (len == 0)
            continue;
        if (le32(e) == SEC_ID_STORE_DICT || le32(e) == SEC_ID_STORE_CODE)
            dict_sections++;
        flip_at(g, off);
        flip_at(g, off + len / 2);
        flip_at(g, off + len - 1);
        truncate_at(g, off + len / 2);
    }
    /* TOC and footer */
    flip_at(g, toc_off);
    flip_at(g, toc_off + 4);
    flip_at(g, toc_off + 4 + 8);
    flip_at(g, toc_off + toc_len / 2);
    for (size_t k = 32; k >= 1; k = k > 8 ? k - 8 : k - 1)
        flip_at(g, n - k);
    truncate_at(g, 0);
    truncate_at(g, 8);
    truncate_at(g, 16);
    truncate_at(g, n / 2);
    truncate_at(g, n - 1);
    truncate_at(g, n - 8);
    truncate_at(g, n - 32);
    truncate_at(g, n - 33);
}

static void damage_manifest(const gfile *g)
{
    size_t n = g->len;
    size_t offs[] = {0, 7, 8, 12, 16, 24, 32, 33, 36, n / 2, n - 9, n - 8,
                     n - 1};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
        flip_at(g, offs[i]);
    truncate_at(g, 0);
    truncate_at(g, 8);
    truncate_at(g, n / 2);
    truncate_at(g, n - 8);
    truncate_at(g, n - 1);
}

static void damage_current(const gfile *g)
{
    size_t n = g->len; /* "gen-000002.man\n" */
    flip_at(g, 0);
    flip_at(g, 3);
    flip_at(g, 4);
    flip_at(g, 9);
    flip_at(g, n - 3);
    flip_at(g, n - 1);
    truncate_at(g, 0);
    truncate_at(g, 4);
    truncate_at(g, n - 2); /* n - 1 only drops the newline: still valid */
}

static void every_file_damaged(void **state)
{
    (void)state;
    int seen_seg = 0, seen_man = 0, seen_cur = 0;

    assert_old_served();
    for (size_t i = 0; i < nfiles; i++) {
        const gfile *g = &files[i];
        size_t l = strlen(g->name);
        if (l > 4 && strcmp(g->name + l - 4, ".trs") == 0) {
            damage_segment(g);
            seen_seg++;
        } else if (l > 4 && strcmp(g->name + l - 4, ".man") == 0) {
            damage_manifest(g);
            seen_man++;
        } else if (strcmp(g->name, "CURRENT") == 0) {
            damage_current(g);
            seen_cur++;
        }
    }
    assert_true(seen_seg >= 1);
    assert_true(dict_sections >= 1);
    assert_int_equal(seen_man, 1);
    assert_int_equal(seen_cur, 1);
    assert_true(trials >= 50);

    /* The intact generation 2 is then taken, and the error cleared. */
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, "CURRENT") != 0)
            install(files[i].name, files[i].data, files[i].len);
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, "CURRENT") == 0)
            install("CURRENT", files[i].data, files[i].len);
    json_t *r = ask("{\"op\":\"reload\"}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "generation")), 2);
    json_decref(r);
    r = ask("{\"op\":\"count\",\"q\":\"storm\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "generation")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 3);
    json_decref(r);
    r = ask("{\"op\":\"stats\"}");
    assert_true(json_is_null(json_object_get(r, "last_reload_error")));
    json_decref(r);
    th_result res;
    const char *argv[] = {"trawl-index", "--check", H.index, NULL};
    assert_int_equal(th_run(&res, argv), 0);
    th_result_free(&res);
    assert_int_equal(th_daemon_stop(&H), 0);
}

/* Bytes no checksum covers (reserved header bytes, padding) are still
 * caught by --check. */
static void check_sees_unchecksummed_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < nfiles; i++) {
        const gfile *g = &files[i];
        size_t l = strlen(g->name);
        if (l < 4 || strcmp(g->name + l - 4, ".trs") != 0)
            continue;
        char *b = malloc(g->len);
        memcpy(b, g->data, g->len);
        b[12] ^= 1;
        install(g->name, b, g->len);
        th_result r;
        const char *argv[] = {"trawl-index", "--check", H.index, NULL};
        assert_int_equal(th_run(&r, argv), 3);
        assert_non_null(strstr(r.out, g->name));
        assert_non_null(strstr(r.out, "header"));
        th_result_free(&r);
        install(g->name, g->data, g->len);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_file_damaged),
        cmocka_unit_test(check_sees_unchecksummed_bytes),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("corrupt", tests, setup, teardown);
}
