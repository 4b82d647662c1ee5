/*
 * libFuzzer target: the article parsers (core/src/article.c).
 *
 * Each input is read as a text file (front matter, dates in the body, BOMs,
 * UTF-16, Windows-1252) and as a JSON Lines record, with the default member
 * names and with a --field mapping. For JSON the public parser (fast path
 * first), the jansson path alone and the fast path alone must agree: the
 * same article or the same error, and the fast path takes nothing the
 * jansson path refuses (a differential check: any disagreement aborts).
 * What parses is valid UTF-8, NUL-terminated, and its `extra` a JSON
 * object. The date parsers run on the input too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "internal.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/status.h"

static void check_str(const char *what, const char *s, size_t n, int may_null)
{
    if (s == NULL) {
        FUZZ_CHECK(may_null && n == 0, "%s NULL with length %zu", what, n);
        return;
    }
    FUZZ_CHECK(s[n] == '\0', "%s not NUL-terminated at %zu", what, n);
    FUZZ_CHECK(trawl_utf8_valid(s, n), "%s not UTF-8", what);
}

static void check_article(const trawl_article *a, int json)
{
    check_str("id", a->id, a->id_len, 0);
    FUZZ_CHECK(a->id_len > 0, "empty id");
    check_str("title", a->title, a->title_len, 0);
    check_str("body", a->body, a->body_len, 0);
    check_str("author", a->author, a->author_len, 1);
    check_str("url", a->url, a->url_len, 1);
    check_str("extra", a->extra, a->extra_len, 1);
    if (a->extra != NULL) {
        FUZZ_CHECK(json, "extra from a text file");
        json_error_t e;
        json_t *x = json_loadb(a->extra, a->extra_len, JSON_DECODE_ANY, &e);
        FUZZ_CHECK(x != NULL && json_is_object(x), "extra not an object: %s",
                   a->extra);
        json_decref(x);
    }
    char d[11];
    trawl_format_date(a->date, d);
    FUZZ_CHECK(a->date == TRAWL_NO_DATE ? d[0] == '\0' : strlen(d) == 10,
               "date %lld formats as \"%s\"", (long long)a->date, d);
}

static void same_str(const char *what, const char *x, size_t xn,
                     const char *y, size_t yn)
{
    FUZZ_CHECK((x == NULL) == (y == NULL) && xn == yn &&
                   (x == NULL || memcmp(x, y, xn) == 0),
               "paths differ in %s: \"%.*s\" / \"%.*s\"", what,
               (int)(x ? xn : 0), x ? x : "", (int)(y ? yn : 0), y ? y : "");
}

static void same_article(const trawl_article *a, const trawl_article *b)
{
    same_str("id", a->id, a->id_len, b->id, b->id_len);
    same_str("title", a->title, a->title_len, b->title, b->title_len);
    same_str("body", a->body, a->body_len, b->body, b->body_len);
    same_str("author", a->author, a->author_len, b->author, b->author_len);
    same_str("url", a->url, a->url_len, b->url, b->url_len);
    same_str("extra", a->extra, a->extra_len, b->extra, b->extra_len);
    FUZZ_CHECK(a->date == b->date, "paths differ in date: %lld / %lld",
               (long long)a->date, (long long)b->date);
    FUZZ_CHECK(a->replaced == b->replaced, "paths differ in replaced");
}

static void json_paths(const char *line, size_t len,
                       const trawl_json_fields *f)
{
    trawl_article a, b, c;
    trawl_err ea, eb;
    trawl_err_clear(&ea);
    trawl_err_clear(&eb);
    int ra = trawl_article_parse_json_fields(&a, line, len, f, &ea);
    int rb = trawl__article_parse_json_fields_slow(&b, line, len, f, &eb);
    if (ra == TRAWL_ENOMEM || rb == TRAWL_ENOMEM)
        goto out;
    FUZZ_CHECK(ra == rb && strcmp(ea.msg, eb.msg) == 0,
               "paths differ: %d \"%s\" / %d \"%s\"", ra, ea.msg, rb, eb.msg);
    FUZZ_CHECK(ra == 0 || ra == TRAWL_EINVAL, "rc %d", ra);
    if (ra == 0) {
        same_article(&a, &b);
        check_article(&a, 1);
    }
    int fast = trawl__article_parse_json_fields_fast(&c, line, len, f);
    FUZZ_CHECK(fast == 0 || fast == 1 || fast == TRAWL_ENOMEM, "fast %d",
               fast);
    if (fast == 1) {
        FUZZ_CHECK(ra == 0, "the fast path took a line the slow refuses: %s",
                   eb.msg);
        same_article(&c, &b);
    }
    trawl_article_clear(&c);
out:
    trawl_article_clear(&a);
    trawl_article_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    trawl_article a;
    trawl_err err;

    trawl_err_clear(&err);
    int rc = trawl_article_parse_text(&a, "fuzz/doc.txt", s, size,
                                      1700000000, &err);
    FUZZ_CHECK(rc == 0 || rc == TRAWL_EINVAL || rc == TRAWL_ENOMEM,
               "text rc %d", rc);
    if (rc == 0)
        check_article(&a, 0);
    trawl_article_clear(&a);

    json_paths(s, size, NULL);
    static const trawl_json_fields mapped = {
        "url", "headline", "text", "publishedAt", NULL, "id",
    };
    json_paths(s, size, &mapped);
    static const trawl_json_fields one = {NULL, NULL, "body", NULL, "body",
                                          NULL};
    json_paths(s, size, &one);

    int64_t t;
    char d[11];
    if (trawl_parse_iso_date(s, size, &t) == 0) {
        trawl_format_date(t, d);
        FUZZ_CHECK(strlen(d) == 10, "iso date formats as \"%s\"", d);
    }
    if (trawl_parse_loose_date(s, size, &t) == 0) {
        trawl_format_date(t, d);
        FUZZ_CHECK(strlen(d) == 10, "loose date formats as \"%s\"", d);
    }
    return 0;
}
