/*
 * The indexer's id scanner (indexer/jsonid.c): hand-picked lines, then a
 * fuzz run of random bytes, random JSON and mutated lines. The property:
 * whenever the scanner names an id, jansson (with the flags the article
 * parser uses) accepts the line and reads the same id, and so does
 * trawl_article_parse_json when it accepts the line. Each line is copied
 * into a buffer of exactly its size, so a sanitizer build catches any
 * read past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonid.h"
#include "trawl/analyze.h"
#include "trawl/article.h"

/* The scanner on an exact-size copy; 1 and the id in idbuf, or 0. */
static int find(const char *line, size_t len, char *idbuf, size_t cap)
{
    char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, line, len);
    jsonid j;
    int rc = jsonid_find(copy, len, &j);
    if (rc == 1) {
        assert_true(j.len > 0 && j.len < cap);
        memcpy(idbuf, j.id, j.len);
        idbuf[j.len] = '\0';
    }
    free(copy);
    return rc;
}

/* When the scanner names an id, jansson and the article parser agree. */
static int check_line(const char *line, size_t len)
{
    char id[4096];
    if (len >= 1 << 20)
        return 0;
    int rc = find(line, len, id, sizeof(id));
    if (rc != 1) {
        /* A valid line without any backslash and with a usable id: the
         * scanner must have found it (the generated lines stay within its
         * depth, key and number limits). NUL bytes are out too: jansson
         * skips one that follows a literal or a number, the scanner
         * refuses them. */
        if (memchr(line, '\\', len) != NULL || memchr(line, '\0', len) != NULL)
            return 0;
        json_t *root = json_loadb(line, len,
                                  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                                  NULL);
        json_t *jid = json_object_get(root, "id");
        if (jid != NULL && (json_is_integer(jid) ||
                            (json_is_string(jid) &&
                             json_string_length(jid) > 0)))
            fail_msg("scanner missed the id of %.*s",
                     (int)(len > 300 ? 300 : len), line);
        json_decref(root);
        return 0;
    }

    json_error_t jerr;
    json_t *root = json_loadb(line, len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL)
        fail_msg("scanner found id '%s' in a line jansson rejects (%s): "
                 "%.*s", id, jerr.text, (int)(len > 300 ? 300 : len), line);
    assert_true(json_is_object(root));
    json_t *jid = json_object_get(root, "id");
    assert_non_null(jid);
    char want[64];
    const char *w;
    size_t wn;
    if (json_is_string(jid)) {
        w = json_string_value(jid);
        wn = json_string_length(jid);
    } else {
        assert_true(json_is_integer(jid));
        snprintf(want, sizeof(want), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(jid));
        w = want;
        wn = strlen(want);
    }
    if (wn != strlen(id) || memcmp(w, id, wn) != 0)
        fail_msg("scanner id '%s', jansson id '%.*s' in %.*s", id, (int)wn, w,
                 (int)(len > 300 ? 300 : len), line);
    json_decref(root);
    assert_true(trawl_utf8_valid(line, len));

    trawl_article a;
    trawl_err err;
    if (trawl_article_parse_json(&a, line, len, &err) == 0) {
        assert_int_equal(a.id_len, strlen(id));
        assert_memory_equal(a.id, id, a.id_len);
        trawl_article_clear(&a);
    }
    return 1;
}

static void expect_id(const char *line, const char *want)
{
    char id[256];
    int rc = find(line, strlen(line), id, sizeof(id));
    if (rc != 1)
        fail_msg("no id found in %s", line);
    if (strcmp(id, want) != 0)
        fail_msg("id '%s' instead of '%s' in %s", id, want, line);
    assert_int_equal(check_line(line, strlen(line)), 1);
}

static void expect_none(const char *line, size_t len)
{
    char id[256];
    if (find(line, len, id, sizeof(id)) != 0)
        fail_msg("id '%s' found in %.*s", id, (int)len, line);
}

#define NONE(s) expect_none(s, sizeof(s) - 1)

static void test_found(void **state)
{
    (void)state;
    expect_id("{\"id\":\"a1\",\"title\":\"t\",\"body\":\"b\"}", "a1");
    expect_id(" \t{ \"id\" : \"x y\" ,\r\n \"body\" : \"\" } \r", "x y");
    expect_id("{\"body\":\"b\",\"id\":42}", "42");
    expect_id("{\"id\":-17}", "-17");
    expect_id("{\"id\":-0}", "0");
    expect_id("{\"id\":9223372036854775807}", "9223372036854775807");
    expect_id("{\"id\":-9223372036854775808}", "-9223372036854775808");
    expect_id("{\"meta\":{\"id\":\"inner\"},\"id\":\"outer\"}", "outer");
    expect_id("{\"a\":[1,-2.5e-3,true,false,null,{},[],[[]],\"s\\n\"],"
              "\"id\":\"k\"}", "k");
    expect_id("{\"id\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    expect_id("{\"id\":\"x\",\"s\":\"\\ud83d\\ude00 \\u00e9 \\\" \\\\ \\/ "
              "\\b\\f\\n\\r\\t\"}", "x");
    expect_id("{\"id\":\"x\",\"a\":{\"k\":1},\"b\":{\"k\":2}}", "x");
    expect_id("{\"id\":\"x\",\"n\":1e308,\"m\":-0.0,\"o\":123456789012345678}",
              "x");
    expect_id("{\"id\":\"x\",\"n\":1e-999}", "x"); /* underflow is fine */

    /* nesting: 64 levels including the record are fine, 65 are not */
    char deep[512];
    size_t o = 0;
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"id\":\"d\",\"a\":");
    for (int i = 0; i < 63; i++)
        deep[o++] = '[';
    for (int i = 0; i < 63; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    deep[o] = '\0';
    expect_id(deep, "d");
    o = 0;
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"id\":\"d\",\"a\":");
    for (int i = 0; i < 64; i++)
        deep[o++] = '[';
    for (int i = 0; i < 64; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    deep[o] = '\0';
    expect_none(deep, o);
}

static void test_not_found(void **state)
{
    (void)state;
    NONE("");
    NONE("   ");
    NONE("[]");
    NONE("\"id\"");
    NONE("{}");
    NONE("{\"meta\":{\"id\":\"inner\"}}");
    NONE("{\"id\":\"a\\\"b\"}");      /* escapes in the id */
    NONE("{\"id\":\"\\u0041\"}");
    NONE("{\"\\u0069d\":\"x\"}");     /* escaped key */
    NONE("{\"id\":\"x\",\"a\\nb\":1}");
    NONE("{\"id\":\"x\",\"id\":\"y\"}"); /* duplicates */
    NONE("{\"id\":\"x\",\"a\":1,\"a\":2}");
    NONE("{\"id\":\"x\",\"a\":{\"k\":1,\"k\":2}}");
    NONE("{\"id\":1.5}");
    NONE("{\"id\":1e2}");
    NONE("{\"id\":\"\"}");
    NONE("{\"id\":null}");
    NONE("{\"id\":true}");
    NONE("{\"id\":[\"x\"]}");
    NONE("{\"id\":{\"x\":1}}");
    NONE("{\"id\":\"x\"}x");
    NONE("{\"id\":\"x\"}{}");
    NONE("{\"id\":\"x\"");
    NONE("{\"id\":\"x\",}");
    NONE("{\"id\":\"x\" \"b\":1}");
    NONE("{\"id\" \"x\"}");
    NONE("{id:\"x\"}");
    NONE("{'id':'x'}");
    NONE("{\"id\":9223372036854775808}");
    NONE("{\"id\":-9223372036854775809}");
    NONE("{\"id\":\"x\",\"n\":99999999999999999999}");
    NONE("{\"id\":\"x\",\"n\":1e999}");
    NONE("{\"id\":\"x\",\"n\":-1E+400}");
    NONE("{\"id\":01}");
    NONE("{\"id\":\"x\",\"n\":01}");
    NONE("{\"id\":\"x\",\"n\":1.}");
    NONE("{\"id\":\"x\",\"n\":.5}");
    NONE("{\"id\":\"x\",\"n\":1e}");
    NONE("{\"id\":\"x\",\"n\":+1}");
    NONE("{\"id\":\"x\",\"n\":-}");
    NONE("{\"id\":\"x\",\"n\":tru}");
    NONE("{\"id\":\"x\",\"n\":nulls}");
    NONE("{\"id\":\"x\",\"n\":NaN}");
    NONE("{\"id\":\"x\",\"s\":\"\\ud800\"}");      /* lone surrogates */
    NONE("{\"id\":\"x\",\"s\":\"\\udc00\"}");
    NONE("{\"id\":\"x\",\"s\":\"\\ud800\\u0041\"}");
    NONE("{\"id\":\"x\",\"s\":\"\\u0000\"}");      /* NUL */
    NONE("{\"id\":\"x\",\"s\":\"\\x\"}");          /* bad escapes */
    NONE("{\"id\":\"x\",\"s\":\"\\u12\"}");
    NONE("{\"id\":\"x\",\"s\":\"\\u12g4\"}");
    NONE("{\"id\":\"x\",\"s\":\"a\tb\"}");         /* raw control */
    NONE("{\"id\":\"x\",\"s\":\"a\0b\"}");
    NONE("{\"id\":\"x\"}\0");
    NONE("{\"id\":\"x\xff\"}");                    /* bad UTF-8 */
    NONE("{\"id\":\"x\",\"s\":\"\xc0\x80\"}");     /* overlong */
    NONE("{\"id\":\"x\",\"s\":\"\xed\xa0\x80\"}"); /* surrogate */
    NONE("{\"id\":\"x\",\"s\":\"\xf4\x90\x80\x80\"}"); /* > U+10FFFF */
    NONE("{\"id\":\"x\",\"s\":\"\xe2\x82\"}");     /* truncated */
    NONE("\xef\xbb\xbf{\"id\":\"x\"}");            /* BOM */
    NONE("{\"id\":\"x\",\"s\":\"\\");
    NONE("{\"id\":\"x\",\"s\":\"\\u");

    /* more than 64 keys open at once: give up */
    char many[2048];
    size_t o = 0;
    o += (size_t)snprintf(many, sizeof(many), "{\"id\":\"m\"");
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, ",\"k%d\":%d", i, i);
    many[o++] = '}';
    expect_none(many, o);
}

/* ---- fuzzing ---------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)((rng >> 11) % n) : 0;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* valid string pieces, then ones jansson rejects */
static const char *const pieces[] = {
    "a", "Z", " ", "0", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00",
    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "id",
};
static const char *const bad_pieces[] = {
    "\\u0000", "\\ud800", "\\udc00", "\\q", "\xff", "\xc0\x80", "\xed\xa0\x80",
    "\t", "\"",
};

#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static void gen_string(sbuf *b)
{
    puts_(b, "\"");
    int n = (int)rnd(6);
    for (int i = 0; i < n; i++) {
        uint32_t k = rnd(100);
        if (k == 0)
            puts_(b, bad_pieces[rnd(COUNT(bad_pieces))]);
        else if (k < 30)
            puts_(b, pieces[rnd(COUNT(pieces))]);
        else
            put(b, &"abcdefghij klmnop"[rnd(17)], 1);
    }
    puts_(b, "\"");
}

static const char *const numbers[] = {
    "0", "-0", "1", "42", "-7", "1.5", "-0.25", "1e3", "1E-3", "2.5e+10",
    "9223372036854775807", "-9223372036854775808", "1e-999", "0.000",
    "123456789012345678",
};
static const char *const bad_numbers[] = {
    "9223372036854775808", "123456789012345678901234567890", "1e999",
    "-1e999", "01", "1.", ".5", "+1", "-", "1e", "0x10",
};

static void gen_number(sbuf *b)
{
    if (rnd(30) == 0)
        puts_(b, bad_numbers[rnd(COUNT(bad_numbers))]);
    else
        puts_(b, numbers[rnd(COUNT(numbers))]);
}

static const char *const keys[] = {
    "\"id\"", "\"title\"", "\"body\"", "\"a\"", "\"b\"", "\"date\"", "\"\"",
    "\"c\"", "\"d\"", "\"e\"", "\"\\u0069d\"", "\"i\\u0064\"",
};

static void gen_value(sbuf *b, int depth, int top);

static void gen_ws(sbuf *b)
{
    static const char *const ws[] = { "", "", "", " ", "\t", "\r\n", "  " };
    puts_(b, ws[rnd(7)]);
}

static void gen_object(sbuf *b, int depth, int top)
{
    puts_(b, "{");
    int n = (int)rnd(top ? 6 : 4);
    uint32_t first = top && rnd(4) != 0 ? 0 : rnd(COUNT(keys));
    for (int i = 0; i < n; i++) {
        if (i > 0)
            puts_(b, ",");
        gen_ws(b);
        /* "id" first more often than not, so that many lines have one */
        /* distinct keys, but now and then a random one (a duplicate?) */
        const char *key = keys[(first + (uint32_t)i) % COUNT(keys)];
        if (rnd(20) == 0)
            key = keys[rnd(COUNT(keys))];
        puts_(b, key);
        gen_ws(b);
        puts_(b, ":");
        gen_ws(b);
        if (top && b->p[b->n - 1] == ':' && rnd(3) != 0 &&
            strstr(b->p, "\"id\"") != NULL) {
            /* most ids are plain strings or integers */
            if (rnd(3) == 0)
                gen_number(b);
            else
                gen_string(b);
        } else {
            gen_value(b, depth + 1, 0);
        }
        gen_ws(b);
    }
    puts_(b, "}");
}

static void gen_value(sbuf *b, int depth, int top)
{
    uint32_t k = rnd(depth > 5 ? 6 : 9);
    if (top)
        k = 8;
    switch (k) {
    case 0:
    case 1:
    case 2:
        gen_string(b);
        break;
    case 3:
    case 4:
        gen_number(b);
        break;
    case 5:
        puts_(b, rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null");
        break;
    case 6:
    case 7: {
        puts_(b, "[");
        int n = (int)rnd(4);
        for (int i = 0; i < n; i++) {
            if (i > 0)
                puts_(b, ",");
            gen_ws(b);
            gen_value(b, depth + 1, 0);
        }
        puts_(b, "]");
        break;
    }
    default:
        gen_object(b, depth, top);
    }
}

static const char *const seeds[] = {
    "{\"id\":\"doc-00001\",\"title\":\"Article 1\",\"date\":\"2024-03-02\","
    "\"body\":\"commonword alpha beta\"}",
    "{\"id\":7,\"title\":null,\"body\":\"b\",\"tags\":[\"x\",\"y\"],"
    "\"meta\":{\"id\":\"m\",\"n\":[1,2.5,-3e2]}}",
    "{\"title\":\"caf\xc3\xa9\",\"body\":\"\\u00e9\\ud83d\\ude00 \\\"q\\\"\","
    "\"id\":\"caf\xc3\xa9-1\"}",
    " { \"id\" : \"w\" , \"body\" : \"\" , \"x\" : [ { } , [ ] ] } ",
    "{\"id\":\"a\",\"date\":1700000000,\"author\":\"A\",\"url\":\"http://x/y\","
    "\"body\":\"line\\nline\"}",
};

static const char *const inserts[] = {
    "\\u", "\\ud800", "\\udc00", "\\u0000", "\"id\":", "\"id\":1,",
    "\"id\":\"z\",", "1e999", "99999999999999999999", "-", "[", "{", "]", "}",
    "\"", ",", ":", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\x80",
    "\xe2\x82\xac", "\xe2\x82", "null", "\\", "\x01", "\0", " ", "0",
};

static const char interesting[] = "{}[]\",:\\0123456789eE+-.tfnu \t\r\n\x01\x7f"
                                  "\x80\xbf\xc3\xed\xf0\xf4\xff";

static void mutate(sbuf *b)
{
    int m = 1 + (int)rnd(4);
    for (int i = 0; i < m; i++) {
        size_t at = b->n ? rnd((uint32_t)b->n + 1) : 0;
        switch (rnd(6)) {
        case 0:
            if (b->n)
                b->p[rnd((uint32_t)b->n)] = (char)rnd(256);
            break;
        case 1:
            if (b->n)
                b->p[rnd((uint32_t)b->n)] =
                    interesting[rnd(sizeof(interesting) - 1)];
            break;
        case 2: { /* insert a token */
            const char *t = inserts[rnd(sizeof(inserts) / sizeof(inserts[0]))];
            size_t tn = t[0] ? strlen(t) : 1;
            sbuf nb = { NULL, 0, 0 };
            put(&nb, b->p, at);
            put(&nb, t, tn);
            put(&nb, b->p + at, b->n - at);
            free(b->p);
            *b = nb;
            break;
        }
        case 3: { /* delete a range */
            size_t k = rnd(8) + 1;
            if (at + k > b->n)
                k = b->n - at;
            memmove(b->p + at, b->p + at + k, b->n - at - k);
            b->n -= k;
            break;
        }
        case 4: { /* duplicate a range */
            size_t k = rnd(16) + 1;
            if (at + k > b->n)
                k = b->n - at;
            sbuf nb = { NULL, 0, 0 };
            put(&nb, b->p, at + k);
            put(&nb, b->p + at, b->n - at);
            free(b->p);
            *b = nb;
            break;
        }
        default: /* truncate */
            b->n = at;
            break;
        }
    }
}

static void test_fuzz(void **state)
{
    (void)state;
    long found = 0, total = 0;
    sbuf b = { NULL, 0, 0 };

    for (int iter = 0; iter < 300000; iter++) {
        b.n = 0;
        uint32_t kind = rnd(10);
        if (kind == 0) { /* random bytes */
            int n = (int)rnd(64);
            put(&b, "", 0);
            for (int i = 0; i < n; i++) {
                char c = rnd(2) ? interesting[rnd(sizeof(interesting) - 1)]
                                : (char)rnd(256);
                put(&b, &c, 1);
            }
        } else if (kind < 4) { /* a seed line, mutated */
            puts_(&b, seeds[rnd(sizeof(seeds) / sizeof(seeds[0]))]);
            mutate(&b);
        } else { /* random JSON, sometimes mutated */
            gen_value(&b, 0, 1);
            if (kind < 6)
                mutate(&b);
        }
        total++;
        found += check_line(b.p, b.n);
    }
    free(b.p);
    /* the property must not hold vacuously */
    if (found < total / 20)
        fail_msg("only %ld ids found in %ld lines", found, total);
    print_message("fuzz: %ld lines, %ld ids found and agreed\n", total, found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests_name("jsonid", tests, NULL, NULL);
}
