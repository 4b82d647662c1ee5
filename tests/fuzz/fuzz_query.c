/*
 * libFuzzer target: the query parser (core/src/query.c) and the snippet
 * builder (core/src/snippet.c) on the parsed query.
 *
 * Every input parses, or fails with TRAWL_EQUERY and "column N: ..." (N
 * at most one past the query's characters), or TRAWL_ENOMEM. What parses
 * renders to valid UTF-8, expands its prefixes (with a made-up dictionary
 * that may repeat terms), and gives a snippet of a fixed text and of the
 * query's own text with highlight ranges inside the snippet, in order and
 * apart.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "query.h"
#include "snippet.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/status.h"

static trawl_analyzer *an;
static trawl_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    trawl_err err;
    if (trawl_analyzer_new(&an, "english", &err) != 0)
        abort();
    arena = trawl_arena_new(1 << 14);
    if (arena == NULL)
        abort();
    return 0;
}

/* A dictionary with the prefix itself, two longer terms and a repeat (as
 * when two segments hold a term); prefixes of 'x' expand to too many. */
static int expand(void *payload, const char *prefix, size_t len,
                  q_add_fn add, void *add_payload)
{
    (void)payload;
    char t[TRAWL_MAX_TERM + 8];
    int rc;
    if (len > TRAWL_MAX_TERM)
        len = TRAWL_MAX_TERM;
    if (len > 0 && prefix[0] == 'q')
        return 0; /* nothing */
    memcpy(t, prefix, len);
    size_t n = (len > 0 && prefix[0] == 'x') ? Q_MAX_EXPANSION + 2 : 3;
    for (size_t i = 0; i < n; i++) {
        size_t k = len;
        if (i > 0) {
            t[k++] = (char)('a' + i % 26);
            if (i >= 26)
                t[k++] = (char)('a' + (i / 26) % 26);
            if (i >= 26 * 26)
                t[k++] = (char)('a' + (i / 676) % 26);
        }
        if ((rc = add(add_payload, t, k)) != 0)
            return rc;
        if (i == 1 && (rc = add(add_payload, t, k)) != 0)
            return rc;
    }
    return 0;
}

static size_t chars(const uint8_t *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            c++;
    return c;
}

static void check_snippet(const qnode *root, const char *text, size_t len)
{
    const char *snip;
    size_t slen, nr;
    trawl_range *r;
    int rc = trawl__snippet(an, root, text, len, 60, arena, &snip, &slen, &r,
                            &nr);
    FUZZ_CHECK(rc == 0 || rc == TRAWL_ENOMEM, "snippet rc %d", rc);
    if (rc != 0)
        return;
    FUZZ_CHECK(slen == 0 || snip != NULL, "no snippet text");
    if (trawl_utf8_valid(text, len))
        FUZZ_CHECK(trawl_utf8_valid(snip, slen), "snippet not UTF-8");
    uint32_t prev = 0;
    for (size_t i = 0; i < nr; i++) {
        FUZZ_CHECK(r[i].start < r[i].end && r[i].end <= slen,
                   "range %zu [%u,%u) of %zu", i, r[i].start, r[i].end, slen);
        FUZZ_CHECK(r[i].start >= prev, "range %zu overlaps", i);
        prev = r[i].end;
    }
}

static const char text[] =
    "The harbor storm closed the port on Tuesday. Officials said the "
    "storm's damage to the U.S. fleet was light; fishermen disagreed. "
    "\"North Korea\" fired a missile, 東京 reported, café owners fled.";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qnode *root;
    trawl_err err;
    trawl_arena_reset(arena);
    trawl_err_clear(&err);
    int rc = trawl__query_parse(&root, an, (const char *)data, size, arena,
                                &err);
    if (rc == TRAWL_EQUERY) {
        if (!trawl_utf8_valid((const char *)data, size))
            return 0;
        size_t col;
        FUZZ_CHECK(sscanf(err.msg, "column %zu:", &col) == 1, "msg \"%s\"",
                   err.msg);
        FUZZ_CHECK(col >= 1 && col <= chars(data, size) + 1,
                   "column %zu of %zu chars", col, chars(data, size));
        return 0;
    }
    FUZZ_CHECK(rc == 0 || rc == TRAWL_ENOMEM, "parse rc %d: %s", rc, err.msg);
    if (rc != 0)
        return 0;
    FUZZ_CHECK(root != NULL, "parsed to NULL");

    trawl_buf b = TRAWL_BUF_INIT;
    trawl__query_render(root, &b);
    FUZZ_CHECK(b.rc == 0, "render rc %d", b.rc);
    FUZZ_CHECK(trawl_utf8_valid((const char *)b.ptr, b.len),
               "render not UTF-8");
    size_t nleaves = trawl__query_count_leaves(root);
    FUZZ_CHECK(nleaves <= Q_MAX_LEAVES, "%zu leaves", nleaves);

    rc = trawl__query_expand(root, expand, NULL, arena, &err);
    FUZZ_CHECK(rc == 0 || rc == TRAWL_EQUERY || rc == TRAWL_ENOMEM,
               "expand rc %d", rc);
    if (rc == 0) {
        trawl_buf_clear(&b);
        trawl__query_render(root, &b);
        FUZZ_CHECK(b.rc == 0, "render rc %d", b.rc);
        FUZZ_CHECK(trawl_utf8_valid((const char *)b.ptr, b.len),
                   "render not UTF-8");
        nleaves = trawl__query_count_leaves(root);
        const qnode **lv = malloc((nleaves + 1) * sizeof(*lv));
        FUZZ_CHECK(lv != NULL, "malloc");
        size_t got = trawl__query_leaves(root, lv, nleaves);
        FUZZ_CHECK(got == nleaves, "leaves %zu of %zu", got, nleaves);
        for (size_t i = 0; i < got; i++)
            FUZZ_CHECK(lv[i]->kind == Q_TERM || lv[i]->kind == Q_PHRASE,
                       "leaf kind %d", lv[i]->kind);
        free(lv);
        check_snippet(root, text, sizeof(text) - 1);
        check_snippet(root, (const char *)data, size);
    }
    trawl_buf_free(&b);
    return 0;
}
