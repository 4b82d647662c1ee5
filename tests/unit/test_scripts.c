/*
 * Scripts whose words are not delimited by spaces. Korean: a word carries
 * its particles and endings (회의가, 회의를 and 회의에서 are all 회의,
 * "meeting"), so a noun searched for must be found inside them; text
 * written decomposed (conjoining jamo, as a Mac writes it) must find and
 * be found like the composed form; snippets highlight the syllables
 * matched. Thai and Myanmar: words run together up to a space that ends
 * a phrase, and must be found inside it.
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
#include "trawl/search.h"
#include "trawl/writer.h"

/* 한국 in conjoining jamo: U+1112 U+1161 U+11AB, U+1100 U+116E U+11A8. */
#define HANGUK_NFD                                                        \
    "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab\xe1\x84\x80\xe1\x85\xae\xe1\x86\xa8"

static char dir[64];
static trawl_index *ix;
static trawl_searcher *srch;

static int setup(void **state)
{
    (void)state;
    trawl_err err;
    trawl_writer *w;
    tu_new_dir(dir, "scripts");
    if (trawl_writer_open(&w, dir, NULL, &err) != 0)
        return -1;
    tu_add(w, "k1", "서울시 회의", "서울시는 오늘 회의를 열었다. 회의에서 "
                                "새로운 계획을 발표했다.",
           NULL, TRAWL_NO_DATE);
    tu_add(w, "k2", "국회", "국회의원들이 예산을 논의했다.", NULL,
           TRAWL_NO_DATE);
    tu_add(w, "k3", "경제", "한국 경제가 성장했다.", NULL, TRAWL_NO_DATE);
    tu_add(w, "k4", "Mac", "이 글은 " HANGUK_NFD " 사람이 썼다.", NULL,
           TRAWL_NO_DATE);
    tu_add(w, "k5", "English", "The Seoul city council met today.", NULL,
           TRAWL_NO_DATE);
    tu_add(w, "t1", "ข่าว", "รัฐบาลไทยประกาศนโยบายเศรษฐกิจใหม่วันนี้", NULL,
           TRAWL_NO_DATE);
    tu_add(w, "t2", "กีฬา", "ทีมฟุตบอลชนะการแข่งขัน", NULL, TRAWL_NO_DATE);
    tu_add(w, "m1", "သတင်း", "မြန်မာနိုင်ငံ စီးပွားရေး", NULL, TRAWL_NO_DATE);
    if (trawl_writer_commit(w, NULL, &err) != 0)
        return -1;
    trawl_writer_free(w);
    ix = tu_open(dir);
    return trawl_searcher_new(&srch, &err);
}

static int teardown(void **state)
{
    (void)state;
    trawl_searcher_free(srch);
    trawl_index_release(ix);
    tu_rm_rf(dir);
    return 0;
}

/* The ids of q's hits, in rank order, space-separated, into out. */
static void ids_of(const char *q, int snippets, char *out, size_t cap,
                   char *snip, size_t snip_cap)
{
    trawl_query tq;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = strlen(q);
    tq.limit = 10;
    tq.snippets = snippets;
    tq.exact_total = 1;
    trawl_arena *a = trawl_arena_new(0);
    trawl_results r;
    trawl_err err;
    if (trawl_search(srch, ix, &tq, a, &r, &err) != 0)
        fail_msg("%s: %s", q, err.msg);
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < r.nhits; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "",
                              r.hits[i].id);
    assert_int_equal(r.total, r.nhits);
    if (snip != NULL && r.nhits > 0) {
        /* the snippet with its highlights in [] */
        const trawl_hit *h = &r.hits[0];
        size_t k = 0, at = 0;
        for (size_t i = 0; i < h->nranges; i++) {
            k += (size_t)snprintf(snip + k, snip_cap - k, "%.*s[%.*s]",
                                  (int)(h->ranges[i].start - at),
                                  h->snippet + at,
                                  (int)(h->ranges[i].end -
                                        h->ranges[i].start),
                                  h->snippet + h->ranges[i].start);
            at = h->ranges[i].end;
        }
        snprintf(snip + k, snip_cap - k, "%.*s", (int)(h->snippet_len - at),
                 h->snippet + at);
    }
    trawl_arena_free(a);
}

static void assert_hits(const char *q, const char *want)
{
    char got[256];
    ids_of(q, 0, got, sizeof(got), NULL, 0);
    if (strcmp(got, want) != 0)
        fail_msg("query [%s]: hits [%s], wanted [%s]", q, got, want);
}

static void test_words_inside_their_particles(void **state)
{
    (void)state;
    /* 회의를, 회의에서; and inside 국회의원 (국회 + 의원): without a
     * dictionary the syllables are all there is, as in Lucene's CJK
     * bigrams. The article that has the word twice ranks first. */
    assert_hits("회의", "k1 k2");
    assert_hits("회의를", "k1");
    assert_hits("계획", "k1");       /* 계획을 */
    assert_hits("서울시", "k1");     /* 서울시는 */
    assert_hits("예산", "k2");
    assert_hits("경제 성장", "k3");
    assert_hits("\"한국 경제\"", "k3");
    assert_hits("title:회의", "k1");
    assert_hits("council 회의", "");
    assert_hits("seoul OR 서울", "k1 k5");
    assert_hits("회의를 -계획", "");
    assert_hits("회의 -계획", "k2");
}

static void test_decomposed_text_and_queries(void **state)
{
    (void)state;
    assert_hits("한국", "k3 k4");
    assert_hits(HANGUK_NFD, "k3 k4");
    assert_hits("\"" HANGUK_NFD " 경제\"", "k3");
}

static void test_thai_and_myanmar_words_inside_phrases(void **state)
{
    (void)state;
    assert_hits("ไทย", "t1");          /* "Thai", inside รัฐบาลไทยประกาศ... */
    assert_hits("เศรษฐกิจ", "t1");     /* "economy" */
    assert_hits("ฟุตบอล", "t2");       /* "football" */
    assert_hits("เศรษฐกิจ ฟุตบอล", "");
    assert_hits("เศรษฐกิจ OR ฟุตบอล", "t1 t2");
    assert_hits("မြန်မာ", "m1");       /* "Myanmar", in မြန်မာနိုင်ငံ */
    assert_hits("စီးပွားရေး", "m1");
}

static void test_snippet_highlights_syllables(void **state)
{
    (void)state;
    char got[256], snip[512];
    ids_of("예산", 1, got, sizeof(got), snip, sizeof(snip));
    assert_string_equal(got, "k2");
    if (strstr(snip, "[예산]을") == NULL)
        fail_msg("snippet: %s", snip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_inside_their_particles),
        cmocka_unit_test(test_decomposed_text_and_queries),
        cmocka_unit_test(test_thai_and_myanmar_words_inside_phrases),
        cmocka_unit_test(test_snippet_highlights_syllables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
