/*
 * trawl_index_get finds an article by its id as typed, and when that
 * fails, by the id's composed (NFC) and decomposed (NFD) forms: a file
 * name written on a Mac is decomposed, while a keyboard types composed
 * characters, and the two look the same on a terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/writer.h"

/* "café" composed (U+00E9) and decomposed (e + U+0301). */
#define CAFE_NFC "caf\xc3\xa9"
#define CAFE_NFD "cafe\xcc\x81"

/* Article id with body (and a title). */
static void add(trawl_writer *w, const char *id, const char *body)
{
    tu_add(w, id, "A title", body, NULL, TRAWL_NO_DATE);
}

/* The body of the article got by id, or NULL if none is found. */
static char *get_body(const trawl_index *ix, const char *id)
{
    trawl_arena *ar = trawl_arena_new(4096);
    trawl_stored sd;
    trawl_err err;
    char *body = NULL;
    int rc = trawl_index_get(ix, id, strlen(id), ar, &sd, &err);
    if (rc == 0)
        body = strndup(sd.body, sd.body_len);
    else
        assert_int_equal(rc, TRAWL_ENOTFOUND);
    trawl_arena_free(ar);
    return body;
}

static void assert_get(const trawl_index *ix, const char *id,
                       const char *want)
{
    char *body = get_body(ix, id);
    if (want == NULL) {
        if (body != NULL)
            fail_msg("get %s found '%s', wanted nothing", id, body);
        return;
    }
    if (body == NULL)
        fail_msg("get %s found nothing, wanted '%s'", id, want);
    assert_string_equal(body, want);
    free(body);
}

static void get_finds_either_unicode_form(void **state)
{
    (void)state;
    char dir[64];
    tu_new_dir(dir, "getid");
    trawl_writer *w;
    trawl_err err;
    assert_int_equal(trawl_writer_open(&w, dir, NULL, &err), 0);
    add(w, "mac/" CAFE_NFD ".txt", "written on a mac");
    add(w, "pc/" CAFE_NFC ".txt", "written on a pc");
    /* both forms held as two articles: each is found as it is */
    add(w, "both/" CAFE_NFC ".txt", "composed one");
    add(w, "both/" CAFE_NFD ".txt", "decomposed one");
    add(w, "plain.txt", "ascii");
    trawl_writer_stats st;
    assert_int_equal(trawl_writer_commit(w, &st, &err), 0);
    trawl_writer_free(w);

    trawl_index *ix;
    assert_int_equal(trawl_index_open(&ix, dir, &err), 0);
    assert_get(ix, "mac/" CAFE_NFD ".txt", "written on a mac");
    assert_get(ix, "mac/" CAFE_NFC ".txt", "written on a mac");
    assert_get(ix, "pc/" CAFE_NFC ".txt", "written on a pc");
    assert_get(ix, "pc/" CAFE_NFD ".txt", "written on a pc");
    assert_get(ix, "both/" CAFE_NFC ".txt", "composed one");
    assert_get(ix, "both/" CAFE_NFD ".txt", "decomposed one");
    assert_get(ix, "plain.txt", "ascii");
    /* other ids stay unknown: a different accent, case, bad UTF-8 */
    assert_get(ix, "mac/caf\xc3\xa8.txt", NULL);
    assert_get(ix, "MAC/" CAFE_NFC ".txt", NULL);
    assert_get(ix, "mac/caf\xc3.txt", NULL);
    assert_get(ix, "mac/cafe.txt", NULL);
    trawl_index_release(ix);

    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_finds_either_unicode_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
