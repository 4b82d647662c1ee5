/* Unit tests for the analyzer (core/src/analyze.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trawl/analyze.h"

#define MAXTOK 256

typedef struct toklist {
    size_t n;
    char term[MAXTOK][TRAWL_MAX_TERM + 1];
    uint32_t pos[MAXTOK];
    size_t start[MAXTOK], end[MAXTOK];
    uint32_t parts[MAXTOK];
    int stop_after; /* return 7 after this many tokens, 0 = never */
} toklist;

static int collect(void *payload, const trawl_token *t)
{
    toklist *l = payload;
    assert_true(t->len >= 1 && t->len <= TRAWL_MAX_TERM);
    assert_true(t->start < t->end);
    if (l->n < MAXTOK) {
        memcpy(l->term[l->n], t->term, t->len);
        l->term[l->n][t->len] = '\0';
        l->pos[l->n] = t->pos;
        l->start[l->n] = t->start;
        l->end[l->n] = t->end;
        l->parts[l->n] = t->parts;
    }
    l->n++;
    if (l->stop_after != 0 && (int)l->n >= l->stop_after)
        return 7;
    return 0;
}

static trawl_analyzer *mk(const char *lang)
{
    trawl_analyzer *a = NULL;
    trawl_err err = {0};
    assert_int_equal(trawl_analyzer_new(&a, lang, &err), 0);
    assert_non_null(a);
    return a;
}

static toklist *run(trawl_analyzer *a, const char *text, int folded)
{
    static toklist l;
    memset(&l, 0, sizeof(l));
    int rc = folded ? trawl_analyze_folded(a, text, strlen(text), collect, &l)
                    : trawl_analyze(a, text, strlen(text), collect, &l);
    assert_int_equal(rc, 0);
    /* Positions are consecutive from 0, offsets increase and lie inside;
     * a compound comes before its first part, at its position and
     * start, and spans its parts. */
    size_t words = 0, last = 0;
    for (size_t i = 0; i < l.n && i < MAXTOK; i++) {
        assert_int_equal(l.pos[i], words);
        assert_true(l.end[i] <= strlen(text));
        if (l.parts[i] != 0) {
            /* a hyphenated chain's (parts >= 2, spanning them) or a word
             * without its apostrophe (1, the word's bytes) */
            assert_true(i + 1 < l.n);
            assert_int_equal(l.parts[i + 1], 0);
            assert_int_equal(l.start[i + 1], l.start[i]);
            if (l.parts[i] >= 2)
                assert_true(l.end[i] > l.end[i + 1]);
            else
                assert_int_equal(l.end[i], l.end[i + 1]);
            continue;
        }
        if (words > 0)
            assert_true(l.start[i] >= l.end[last]);
        last = i;
        words++;
    }
    return &l;
}

/* Terms joined by spaces. */
static const char *terms(trawl_analyzer *a, const char *text, int folded)
{
    static char buf[4096];
    toklist *l = run(a, text, folded);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && i < MAXTOK; i++)
        if (l->parts[i] == 0)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
                                  o ? " " : "", l->term[i]);
    return buf;
}

/* The same with compounds too, each as "<term>". */
static const char *terms_all(trawl_analyzer *a, const char *text)
{
    static char buf[4096];
    toklist *l = run(a, text, 0);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && i < MAXTOK; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              l->parts[i] ? "%s<%s>" : "%s%s", o ? " " : "",
                              l->term[i]);
    return buf;
}

static void test_basic_english(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    assert_string_equal(trawl_analyzer_language(a), "english");
    assert_string_equal(terms(a, "North Korea's", 0), "north korea");
    assert_string_equal(terms(a, "North Korea’s", 0), "north korea");
    assert_string_equal(terms(a, "3.5 million", 0), "3.5 million");
    assert_string_equal(terms(a, "1,000 people.", 0), "1000 peopl");
    assert_string_equal(terms(a, "sanctions", 0), terms(a, "sanction", 0));
    char c1[64];
    snprintf(c1, sizeof(c1), "%s", terms(a, "consultations", 0));
    assert_string_equal(c1, terms(a, "consulting", 0));
    snprintf(c1, sizeof(c1), "%s", terms(a, "chargé d’affaires", 0));
    assert_string_equal(c1, terms(a, "charge d'affaires", 0));
    assert_string_equal(c1, terms(a, "CHARGÉ D'AFFAIRES", 0));
    /* Punctuation splits; trailing dots and apostrophes are not kept;
     * a dotted acronym is one term without its dots, as the same letters
     * written without them (news writes both U.S. and US). */
    assert_string_equal(terms(a, "U.S.-led talks' end", 0), "us led talk end");
    assert_string_equal(terms(a, "the U.S.A. and the E.U., e.g. now", 0),
                        "the usa and the eu eg now");
    assert_string_equal(terms(a, "J.R.R. Tolkien", 0), "jrr tolkien");
    assert_string_equal(terms(a, "U.S.Army", 0), "us armi");
    assert_string_equal(terms(a, "С.Ш.А.", 0), "сша");
    /* not acronyms: an initial, a domain, a number, a word */
    assert_string_equal(terms(a, "J. Smith", 0), "j smith");
    assert_string_equal(terms(a, "x.com a.5 No.1", 0), "x com a 5 no 1");
    assert_string_equal(terms(a, "U.S", 0), "us");
    assert_string_equal(terms(a, "A.Bc", 0), "a bc");
    assert_string_equal(terms(a, "a Ph.D. and an M.Sc.", 0),
                        "a phd and an msc");
    assert_string_equal(terms(a, "co.uk Mr.Smith it.I", 0),
                        "co uk mr smith it i");
    /* thousands separators go: 10,000 is 10000; a decimal comma stays */
    assert_string_equal(terms(a, "10,000 1,250,000 $1,000.50 3,5 1,00", 0),
                        "10000 1250000 1000.50 3,5 1,00");
    assert_string_equal(terms(a, "12,34,567 1234,567 1,000,00", 0),
                        "12,34,567 1234,567 1,000,00");
    assert_string_equal(terms(a, "3. 5", 0), "3 5");
    assert_string_equal(terms(a, "a.5", 0), "a 5");
    assert_string_equal(terms(a, "", 0), "");
    assert_string_equal(terms(a, " \t\n.,;' ", 0), "");
    trawl_analyzer_free(a);
}

static void test_folded(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    assert_string_equal(terms(a, "Consultations CHARGÉ Korea’s", 1),
                        "consultations charge korea's");
    assert_string_equal(terms(a, "Straße ﬁnal Ⅻ", 1), "strasse final xii");
    /* A soft hyphen, zero-width joiners and word joiners inside a word
     * neither split it nor stay in it; a zero-width space separates. */
    assert_string_equal(terms(a, "news\u00adpaper Zei\u00adtungs\u00adartikel "
                                 "co\u200dop wo\u200crd a\u2060b \u00adlead",
                              1),
                        "newspaper zeitungsartikel coop word ab lead");
    assert_string_equal(terms(a, "one\u200btwo", 1), "one two");
    trawl_analyzer_free(a);
}

static void test_offsets(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    const char *text = "« Chargé d’affaires », 日本語 and Ünïcödé 3,5";
    toklist *l = run(a, text, 1);
    static const char *want[] = {"Chargé", "d’affaires", "日", "本", "語",
                                 "and", "Ünïcödé", "3,5"};
    static const char *folded[] = {"charge", "d'affaires", "日", "本", "語",
                                   "and", "unicode", "3,5"};
    /* the words; "daffaires" (without its apostrophe) comes before the
     * second, on its bytes */
    assert_int_equal(l->n, 9);
    assert_int_equal(l->parts[1], 1);
    assert_string_equal(l->term[1], "daffaires");
    for (size_t i = 0, k = 0; i < 9; i++) {
        if (l->parts[i] != 0)
            continue;
        size_t n = l->end[i] - l->start[i];
        assert_int_equal(n, strlen(want[k]));
        assert_memory_equal(text + l->start[i], want[k], n);
        assert_string_equal(l->term[i], folded[k]);
        k++;
    }
    trawl_analyzer_free(a);
}

static void test_cjk(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    toklist *l = run(a, "日本語", 0);
    assert_int_equal(l->n, 3);
    assert_int_equal(l->start[1], 3);
    assert_int_equal(l->end[2], 9);
    assert_string_equal(terms(a, "ひらがなカタカナ", 0),
                        "ひ ら が な カ タ カ ナ");
    assert_string_equal(terms(a, "abc漢字def", 0), "abc 漢 字 def");
    /* Hangul is a syllable a token too: a word keeps its particles
     * (회의가 = 회의 + 가), so 회의 is found only as a phrase inside. */
    assert_string_equal(terms(a, "한국어 뉴스", 0), "한 국 어 뉴 스");
    assert_string_equal(terms(a, "회의가 열렸다", 0), "회 의 가 열 렸 다");
    /* A syllable written as conjoining jamo (NFD: U+1112 U+1161 U+11AB)
     * is one token, folded (NFKC) to the syllable; a lone compatibility
     * or halfwidth jamo is a token of its own. */
    assert_string_equal(terms(a, "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"
                                 "\xea\xb5\xad",
                              0),
                        "한 국");
    toklist *j = run(a, "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab!", 0);
    assert_int_equal(j->n, 1);
    assert_int_equal(j->end[0], 9);
    /* (NFKC folds compatibility jamo ㅋ U+314B to conjoining U+110F,
     * halfwidth U+FFA1 to U+1100) */
    assert_string_equal(terms(a, "ㅋㅋ", 0), "\xe1\x84\x8f \xe1\x84\x8f");
    assert_string_equal(terms(a, "\xef\xbe\xa1", 0), "\xe1\x84\x80");
    /* Thai: a character with its marks a token (ไ ท ย: "Thai"), inside
     * text without spaces between words; the tone mark stays on its
     * consonant (ข่). */
    assert_string_equal(terms(a, "ไทย ข่าว", 0), "ไ ท ย ข่ า ว");
    /* Halfwidth katakana is folded (NFKC) to the full-width form. */
    assert_string_equal(terms(a, "ｶ", 0), "カ");
    trawl_analyzer_free(a);
}

/* Optional marks that writers leave out are folded away like Latin
 * accents: Hebrew points, Arabic vowel marks and the tatweel, Russian
 * stress marks (but not й's breve); a mark starts no token (an emoji's
 * variation selector before a word). */
static void test_optional_marks(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("none");
    assert_string_equal(terms(a, "שָׁלוֹם", 0), terms(a, "שלום", 0));
    assert_string_equal(terms(a, "مُحَمَّد", 0), terms(a, "محمد", 0));
    assert_string_equal(terms(a, "العـــربية", 0), terms(a, "العربية", 0));
    assert_string_equal(terms(a, "Ударе́ние", 0), "ударение");
    assert_string_equal(terms(a, "йод", 0), "йод");
    assert_string_equal(terms(a, "ёж", 0), "ёж");
    /* I ❤️love it: the selector U+FE0F is not part of "love" */
    toklist *l = run(a, "I \xe2\x9d\xa4\xef\xb8\x8flove it", 0);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->term[1], "love");
    assert_int_equal(l->start[1], 8);
    trawl_analyzer_free(a);
}

/* French, Italian and Catalan drop an elided article before an
 * apostrophe (l'économie is économie), Turkish a suffix after one
 * (Ankara'da is Ankara); the token's range is the word's. English keeps
 * its apostrophes to the stemmer (korea's). */
static void test_elision(void **state)
{
    (void)state;
    trawl_analyzer *fr = mk("french");
    assert_string_equal(terms(fr, "L'économie française s’améliore", 0),
                        terms(fr, "économie française améliore", 0));
    assert_string_equal(terms(fr, "jusqu'à aujourd'hui", 0),
                        terms(fr, "à aujourd'hui", 0));
    toklist *l = run(fr, "l'Europe", 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->start[0], 2);
    assert_int_equal(l->end[0], 8);
    trawl_analyzer_free(fr);
    trawl_analyzer *it = mk("italian");
    assert_string_equal(terms(it, "dell'economia nell'Unione", 0),
                        terms(it, "economia Unione", 0));
    trawl_analyzer_free(it);
    trawl_analyzer *ca = mk("catalan");
    assert_string_equal(terms(ca, "l'economia", 0), terms(ca, "economia", 0));
    trawl_analyzer_free(ca);
    trawl_analyzer *tr = mk("turkish");
    assert_string_equal(terms(tr, "Ankara'da Türkiye'nin", 0),
                        terms(tr, "Ankara Türkiye", 0));
    trawl_analyzer_free(tr);
    trawl_analyzer *en = mk("english");
    assert_string_equal(terms(en, "l'économie", 0), "l'economi");
    trawl_analyzer_free(en);
}

static void test_marks_and_scripts(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("none");
    assert_string_equal(trawl_analyzer_language(a), "none");
    /* Decomposed e + combining acute folds like the precomposed form. */
    assert_string_equal(terms(a, "caf\xcc\x81" "e cafe\xcc\x81", 0),
                        "cafe cafe");
    /* A lone combining mark is no token. */
    toklist *l = run(a, "\xcc\x81 x", 0);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->term[0], "x");
    assert_string_equal(terms(a, "Ελληνικά Русский Ёлка", 0),
                        "ελληνικα русский ёлка");
    /* Accents on Latin letters go, kana voicing and Indic vowel signs
     * stay. */
    assert_string_equal(terms(a, "Việt Ångström œuvre", 0),
                        "viet angstrom œuvre");
    assert_string_equal(terms(a, "किताब", 0), "किताब");
    assert_string_equal(terms(a, "Korea's", 0), "korea's");
    assert_string_equal(terms(a, "don\xca\xbct", 0), "don't");
    /* Non-ASCII separators end ASCII tokens. */
    assert_string_equal(terms(a, "north—korea “talks”", 0),
                        "north korea talks");
    /* Digits from other scripts are digits (and NFKC keeps them); a
     * letter next to one is a word of its own (see
     * test_letters_and_digits). */
    assert_string_equal(terms(a, "x²", 0), "x 2");
    assert_string_equal(terms(a, "²²", 0), "22");
    trawl_analyzer_free(a);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    static const char *cases[] = {
        "abc\xff" "def",         /* 0xFF */
        "abc\x80" "def",         /* lone continuation */
        "abc\xc3",               /* truncated at end */
        "abc\xe6\x97" "def",     /* truncated 3-byte */
        "abc\xf0\x9f\x98" "def", /* truncated 4-byte */
        "abc\xc0\xaf" "def",     /* overlong '/' */
        "abc\xe0\x80\xaf" "def", /* overlong */
        "abc\xed\xa0\x80" "def", /* surrogate */
        "abc\xf4\x90\x80\x80" "def", /* > U+10FFFF */
        "\xf8\x88\x80\x80\x80",
        "\xc3",
        "\x80\x80\x80",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        toklist *l = run(a, cases[i], 0);
        assert_true(l->n <= 2);
        for (size_t j = 0; j < l->n; j++)
            assert_true(trawl_utf8_valid(l->term[j], strlen(l->term[j])));
        assert_int_equal(trawl_utf8_valid(cases[i], strlen(cases[i])), 0);
    }
    assert_string_equal(terms(a, "abc\xff" "def", 0), "abc def");
    assert_string_equal(terms(a, "caf\xc3", 0), "caf");
    /* All 2-byte garbage combinations: never crash, never loop. */
    for (unsigned x = 0; x < 256; x++) {
        for (unsigned y = 0; y < 256; y += 5) {
            char buf[4] = {(char)x, (char)y, 'a', 0};
            toklist l;
            memset(&l, 0, sizeof(l));
            assert_int_equal(trawl_analyze(a, buf, 3, collect, &l), 0);
        }
    }
    trawl_analyzer_free(a);
}

static void test_utf8_valid_sanitize(void **state)
{
    (void)state;
    assert_true(trawl_utf8_valid("", 0));
    assert_true(trawl_utf8_valid("plain", 5));
    assert_true(trawl_utf8_valid("é日\xf0\x9f\x98\x80", 9));
    assert_true(trawl_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
    assert_true(trawl_utf8_valid("\xed\x9f\xbf", 3));     /* U+D7FF */
    assert_false(trawl_utf8_valid("\xed\xa0\x80", 3));
    assert_false(trawl_utf8_valid("\xc1\xbf", 2));
    assert_false(trawl_utf8_valid("\xe0\x9f\xbf", 3));
    assert_false(trawl_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    assert_false(trawl_utf8_valid("\xf4\x90\x80\x80", 4));
    assert_false(trawl_utf8_valid("\xff", 1));
    assert_false(trawl_utf8_valid("\xe6\x97", 2));

    char *out;
    size_t n, r;
    assert_int_equal(trawl_utf8_sanitize("ok é", 5, &out, &n, &r), 0);
    assert_string_equal(out, "ok é");
    assert_int_equal(n, 5);
    assert_int_equal(r, 0);
    free(out);
    /* One U+FFFD per maximal invalid subpart. */
    const char bad[] = "a\xff" "b\xe6\x97" "c\xed\xa0\x80" "d\xc3";
    assert_int_equal(trawl_utf8_sanitize(bad, sizeof(bad) - 1, &out, &n, &r),
                     0);
    assert_string_equal(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd"
                             "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "d\xef\xbf\xbd");
    assert_int_equal(r, 6);
    assert_int_equal(n, strlen(out));
    assert_true(trawl_utf8_valid(out, n));
    free(out);
    assert_int_equal(trawl_utf8_sanitize("", 0, &out, &n, NULL), 0);
    assert_string_equal(out, "");
    free(out);
    /* Every byte value alone. */
    for (unsigned x = 0; x < 256; x++) {
        char b = (char)x;
        assert_int_equal(trawl_utf8_sanitize(&b, 1, &out, &n, &r), 0);
        assert_true(trawl_utf8_valid(out, n));
        assert_int_equal(r, x >= 0x80);
        free(out);
    }
}

static void test_truncation(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("none");
    char text[400];
    memset(text, 'x', 200);
    text[200] = '\0';
    toklist *l = run(a, text, 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(strlen(l->term[0]), TRAWL_MAX_TERM);
    assert_int_equal(l->end[0], 200);
    /* Multi-byte: 'ж' is 2 bytes; with an 'a' first the cut must fall
     * back to 63 bytes. */
    size_t o = 0;
    text[o++] = 'a';
    for (int i = 0; i < 100; i++) {
        memcpy(text + o, "\xd0\xb6", 2);
        o += 2;
    }
    text[o] = '\0';
    l = run(a, text, 0);
    assert_int_equal(l->n, 1);
    assert_int_equal(strlen(l->term[0]), 63);
    assert_true(trawl_utf8_valid(l->term[0], 63));
    assert_int_equal(l->end[0], o);
    /* Uppercase non-ASCII (slow path) is also cut. */
    o = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(text + o, "\xc3\x89", 2); /* É */
        o += 2;
    }
    text[o] = '\0';
    l = run(a, text, 0);
    assert_int_equal(strlen(l->term[0]), 64);
    trawl_analyzer_free(a);

    a = mk("english");
    memset(text, 'k', 300);
    memcpy(text + 295, "ings", 5);
    l = run(a, text, 0);
    assert_int_equal(l->n, 1);
    assert_true(strlen(l->term[0]) <= TRAWL_MAX_TERM);
    trawl_analyzer_free(a);
}

static void test_callback_stop(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    toklist l;
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    const char *t = "one two three four";
    assert_int_equal(trawl_analyze(a, t, strlen(t), collect, &l), 7);
    assert_int_equal(l.n, 2);
    trawl_analyzer_free(a);
}

static void test_languages(void **state)
{
    (void)state;
    const char **langs = trawl_analyzer_languages();
    assert_non_null(langs);
    int count = 0;
    for (const char **l = langs; *l != NULL; l++, count++) {
        trawl_analyzer *a = mk(*l);
        assert_string_equal(trawl_analyzer_language(a), *l);
        /* Something non-trivial in each, twice (memo). */
        char first[2048];
        snprintf(first, sizeof(first), "%s",
                 terms(a, "Running runners ran quickly Éléphants", 0));
        assert_string_equal(first,
                            terms(a, "Running runners ran quickly Éléphants",
                                  0));
        trawl_analyzer_free(a);
    }
    assert_true(count >= 20);

    trawl_analyzer *a = mk("EN");
    assert_string_equal(trawl_analyzer_language(a), "english");
    trawl_analyzer_free(a);
    a = mk("fra");
    assert_string_equal(trawl_analyzer_language(a), "french");
    assert_string_equal(terms(a, "les élections", 0), "le elect");
    trawl_analyzer_free(a);
    a = mk("English");
    assert_string_equal(trawl_analyzer_language(a), "english");
    trawl_analyzer_free(a);

    trawl_err err = {0};
    a = (trawl_analyzer *)1;
    assert_int_equal(trawl_analyzer_new(&a, "klingon", &err), TRAWL_EINVAL);
    assert_null(a);
    assert_int_equal(err.code, TRAWL_EINVAL);
    assert_non_null(strstr(err.msg, "klingon"));
    assert_non_null(strstr(err.msg, "english"));
    assert_non_null(strstr(err.msg, "none"));
    assert_int_equal(trawl_analyzer_new(&a, "", &err), TRAWL_EINVAL);
    assert_int_equal(trawl_analyzer_new(&a, NULL, &err), TRAWL_EINVAL);
    assert_int_equal(
        trawl_analyzer_new(&a, "a-very-long-language-name-that-is-not-real",
                           &err),
        TRAWL_EINVAL);
}

static void test_memo_consistency(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    const char *text = "Consultations consulting consulted sanctions "
                       "Sanction SANCTIONS generously generous";
    char first[512];
    snprintf(first, sizeof(first), "%s", terms(a, text, 0));
    for (int i = 0; i < 3; i++)
        assert_string_equal(first, terms(a, text, 0));
    /* A fresh analyzer agrees (the memo changes nothing). */
    trawl_analyzer *b = mk("english");
    assert_string_equal(first, terms(b, text, 0));
    trawl_analyzer_free(b);

    /* Enough distinct forms to grow the table many times over. */
    char w[32], out[TRAWL_MAX_TERM];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 20000; i++) {
            int n = snprintf(w, sizeof(w), "word%dings", i);
            int k = trawl_analyzer_stem(a, w, (size_t)n, out, sizeof(out));
            char want[32];
            int m = snprintf(want, sizeof(want), "word%d", i);
            assert_int_equal(k, m);
            assert_memory_equal(out, want, (size_t)m);
        }
    }
    trawl_analyzer_free(a);
}

static void test_stem_api(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    char out[TRAWL_MAX_TERM];
    assert_int_equal(trawl_analyzer_stem(a, "sanctions", 9, out, sizeof(out)),
                     8);
    assert_memory_equal(out, "sanction", 8);
    assert_int_equal(trawl_analyzer_stem(a, "korea's", 7, out, sizeof(out)),
                     5);
    assert_int_equal(trawl_analyzer_stem(a, "sanctions", 9, out, 3),
                     TRAWL_ETOOBIG);
    assert_int_equal(trawl_analyzer_stem(a, "\xff", 1, out, sizeof(out)),
                     TRAWL_EINVAL);
    assert_int_equal(trawl_analyzer_stem(a, "", 0, out, sizeof(out)), 0);
    trawl_analyzer_free(a);
    a = mk("none");
    assert_int_equal(trawl_analyzer_stem(a, "sanctions", 9, out, sizeof(out)),
                     9);
    assert_memory_equal(out, "sanctions", 9);
    trawl_analyzer_free(a);
}

/* The ASCII fast path and the utf8proc path agree: an ASCII token next to
 * a non-ASCII separator vs. inside a token with a non-ASCII letter. */
static void test_fast_slow_agree(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("none");
    /* "Ab'Cd" + U+00E9 forces the slow path for the token. */
    assert_string_equal(terms_all(a, "Ab'Cd\xc3\xa9 Ab'Cd"),
                        "<abcde> ab'cde <abcd> ab'cd");
    /* Every printable ASCII char around letters, fast vs slow. */
    for (int c = 32; c < 127; c++) {
        char t1[16], t2[16], r1[256];
        snprintf(t1, sizeof(t1), "Xy%cZ9", c);
        snprintf(t2, sizeof(t2), "\xc3\xa9Xy%cZ9", c);
        snprintf(r1, sizeof(r1), "%s", terms(a, t1, 0));
        const char *r2 = terms(a, t2, 0);
        /* r2's first term is r1's first term prefixed with "e". */
        assert_int_equal(r2[0], 'e');
        assert_string_equal(r1, r2 + 1);
    }
    /* Every byte at every place of a long token, so that the 8-byte
     * scan meets it in every lane (and past the end of the text): in a
     * word of letters, of digits, and of both (which splits). A token
     * that starts with a letter takes the "e" before it; one that
     * starts with a digit is a part of its own after it. */
    static const char *const longs[] = {"AbCdEfGhIjKlMnOpQrStu",
                                        "012345678901234567890",
                                        "AbCdEfGhIjKlMnOpQrSt9"};
    for (size_t w = 0; w < sizeof(longs) / sizeof(*longs); w++) {
        for (int c = 1; c < 256; c++) {
            for (int at = 0; at < 20; at++) {
                char t1[64], t2[80], r1[512];
                memcpy(t1, longs[w], 22);
                t1[at] = (char)c;
                snprintf(t2, sizeof(t2), "\xc3\xa9%s", t1);
                snprintf(r1, sizeof(r1), "%s", terms(a, t1, 0));
                const char *r2 = terms(a, t2, 0);
                int c0 = (unsigned char)t1[0];
                if (((c0 | 0x20) >= 'a' && (c0 | 0x20) <= 'z')) {
                    assert_int_equal(r2[0], 'e');
                    assert_string_equal(r1, r2 + 1);
                } else if (c0 >= '0' && c0 <= '9') {
                    assert_int_equal(r2[0], 'e');
                    assert_int_equal(r2[1], ' ');
                    assert_string_equal(r1, r2 + 2);
                }
            }
        }
    }
    trawl_analyzer_free(a);
}

/* What trawl_analyze gives, token by token, as one string. */
typedef struct dump {
    char *s;
    size_t n, cap;
    int with_user; /* also whether the user bytes were zero (new form) */
} dump;

static int dump_tok(void *payload, const trawl_token *t)
{
    dump *d = payload;
    if (d->n + t->len + 64 > d->cap) {
        d->cap = (d->n + t->len + 64) * 2;
        d->s = realloc(d->s, d->cap);
        assert_non_null(d->s);
    }
    int k = snprintf(d->s + d->n, d->cap - d->n, "%u:%.*s/%u",
                     (unsigned)t->pos, (int)t->len, t->term,
                     (unsigned)t->parts);
    d->n += (size_t)k;
    if (d->with_user) {
        uint32_t u = 1;
        if (t->user != NULL) {
            memcpy(&u, t->user, 4);
            /* Mark the form as seen, as the writer does. */
            uint32_t one = 1;
            memcpy(t->user, &one, 4);
        }
        d->n += (size_t)snprintf(d->s + d->n, d->cap - d->n, "%s",
                                 t->user == NULL ? "-" : u ? "+" : "*");
    }
    d->s[d->n++] = ' ';
    d->s[d->n] = '\0';
    return 0;
}

/* Folding on one analyzer and stemming the batch on another gives what
 * trawl_analyze gives (terms, positions, memo user bytes), for every
 * language mode and for text that takes every path of the tokenizer. */
static void test_fold_stem_batch(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",
        "   ",
        "The Quick brown foxes JUMPED over the lazy dogs' kennels, 3.5 "
        "times in 1,000 years: d\xe2\x80\x99" "affaires korea's",
        "Chars\xc3\xa9 caf\xc3\xa9 CAF\xc3\x89 na\xc3\xafve \xe6\x9d\xb1\xe4"
        "\xba\xac\xe3\x81\x8c \xd0\xb9\xd0\xbe\xd0\xb4 \xe0\xa4\x95\xe0\xa4"
        "\xbf \xef\xac\x81nance \xcc\x81 x\xcc\x81y",
        "bad \xff bytes \xed\xa0\x80 in \xc3 between",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaa \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
        "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
        "\xa9\xc3\xa9\xc3\xa9",
        "running runs ran runner running runs the the the The THE",
        "e-mail COVID-19 state-of-the-art Zu\xcc\x88rich-based "
        "well\xe2\x80\x90known ear-s 1-0 a-b-c-d-e-f-g x-U.S. ending- "
        "O'Brien's don't e-mail's rock'n'roll-era",
        "COVID19 iPhone5s 100km x86-64 h1n1 1990s 3.5km 10,000km v1.2.3 "
        "a3f9c2e81b4d5e6f l'A380 O'Brien2 x-O'Brien2 \xd0\xba" "19 1U.S.",
    };
    static const char *const langs[] = {"english", "french", "none"};
    for (size_t li = 0; li < sizeof(langs) / sizeof(*langs); li++) {
        trawl_analyzer *one = mk(langs[li]);
        trawl_analyzer *fold = mk(langs[li]);
        trawl_analyzer *stem = mk(langs[li]);
        trawl_folded f;
        memset(&f, 0, sizeof(f));
        /* Twice over, so the second round hits the memo. */
        for (int round = 0; round < 2; round++) {
            for (size_t ti = 0; ti < sizeof(texts) / sizeof(*texts); ti++) {
                const char *t = texts[ti];
                dump d1 = {NULL, 0, 0, 1}, d2 = {NULL, 0, 0, 1};
                dump_tok(&d1, &(trawl_token){"x", 1, 0, 0, 1, NULL, 0});
                dump_tok(&d2, &(trawl_token){"x", 1, 0, 0, 1, NULL, 0});
                assert_int_equal(
                    trawl_analyze(one, t, strlen(t), dump_tok, &d1), 0);
                /* Two texts in one batch, as the writer folds title and
                 * body: the range restarts positions. */
                trawl_folded_clear(&f);
                assert_int_equal(trawl_analyze_fold(fold, "x", 1, &f), 0);
                size_t mid = f.n;
                assert_int_equal(trawl_analyze_fold(fold, t, strlen(t), &f),
                                 0);
                assert_int_equal(trawl_analyze_stem_batch(stem, &f, mid, f.n,
                                                          dump_tok, &d2),
                                 0);
                assert_string_equal(d1.s, d2.s);
                free(d1.s);
                free(d2.s);
            }
        }
        assert_true(trawl_folded_footprint(&f) > 0);
        trawl_folded_free(&f);
        trawl_analyzer_free(one);
        trawl_analyzer_free(fold);
        trawl_analyzer_free(stem);
    }
}

/* Hyphenated words also give their parts run together (news writes
 * e-mail and email, COVID-19 and covid19), at the first part's position
 * and before it; numbers alone, initials and long chains do not. */
static void test_hyphen_compounds(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    assert_string_equal(terms_all(a, "e-mail"), "<email> e mail");
    assert_string_equal(terms_all(a, "send e-mail now"),
                        "send <email> e mail now");
    assert_string_equal(terms_all(a, "COVID-19 vaccines"),
                        "<covid19> covid 19 vaccin");
    assert_string_equal(terms_all(a, "state-of-the-art"),
                        "<stateoftheart> state of the art");
    assert_string_equal(terms_all(a, "F-16s"), "<f16s> f 16 s");
    assert_string_equal(terms_all(a, "e-mail's"), "<email> e mail");
    assert_string_equal(terms_all(a, "re-elected"), "<reelect> re elect");
    /* a compound that stems as its first part adds nothing */
    assert_string_equal(terms_all(a, "ear-s"), "ear s");
    /* U+2010 HYPHEN and U+2011 NON-BREAKING HYPHEN join too; the en
     * dash of a range does not */
    assert_string_equal(terms_all(a, "well\xe2\x80\x90known"),
                        "<wellknown> well known");
    assert_string_equal(terms_all(a, "non\xe2\x80\x91profit"),
                        "<nonprofit> non profit");
    assert_string_equal(terms_all(a, "Paris\xe2\x80\x93" "Berlin"),
                        "pari berlin");
    assert_string_equal(terms_all(a, "Z\xc3\xbcrich-based"),
                        "<zurichbas> zurich base");
    /* not words: numbers alone, a hyphen with a space, a dangling one */
    assert_string_equal(terms_all(a, "won 1-0 in 2024-25"),
                        "won 1 0 in 2024 25");
    assert_string_equal(terms_all(a, "x -y z- w"), "x y z w");
    assert_string_equal(terms_all(a, "pre-"), "pre");
    /* an acronym or number with a point starts or joins none */
    assert_string_equal(terms_all(a, "U.S.-led"), "us led");
    assert_string_equal(terms_all(a, "x-U.S. talks"), "x us talk");
    assert_string_equal(terms_all(a, "covid-19.5"), "covid 19.5");
    /* a chain of seven is not a word, nor any part of it */
    assert_string_equal(terms_all(a, "a-b-c-d-e-f-g"), "a b c d e f g");
    assert_string_equal(terms_all(a, "a-b-c-d-e-f"), "<abcdef> a b c d e f");
    /* one compound per chain, not one per hyphen */
    assert_string_equal(terms_all(a, "mother-in-law"),
                        "<motherinlaw> mother in law");
    /* a word with an apostrophe, also without it */
    assert_string_equal(terms_all(a, "O'Brien said"),
                        "<obrien> o'brien said");
    assert_string_equal(terms_all(a, "O\xe2\x80\x99Neill"),
                        "<oneil> o'neil");
    assert_string_equal(terms_all(a, "don't"), "<dont> don't");
    /* ... unless it stems alike (a possessive) */
    assert_string_equal(terms_all(a, "Korea's talks"), "korea talk");
    assert_string_equal(terms_all(a, "students' rock 'n' roll"),
                        "student rock n roll");
    trawl_analyzer *fr = mk("french");
    assert_string_equal(terms_all(fr, "l'\xc3\xa9" "conomie"), "econom");
    assert_string_equal(terms_all(fr, "aujourd'hui"),
                        "<aujourdhui> aujourd'hui");
    trawl_analyzer_free(fr);
    /* the positions and spans: run() checks them; the compound covers
     * the chain's bytes */
    toklist *l = run(a, "an e-mail", 0);
    assert_int_equal(l->n, 4);
    assert_int_equal(l->parts[1], 2);
    assert_int_equal(l->pos[1], 1);
    assert_int_equal(l->start[1], 3);
    assert_int_equal(l->end[1], 9);
    assert_int_equal(l->pos[2], 1);
    assert_int_equal(l->pos[3], 2);
    /* Random text of words, hyphens, points, apostrophes and accents:
     * run() checks the order, and the writer's two halves (fold, then
     * stem the batch) give the same tokens as one pass. */
    static const char *const bits[] = {
        "a", "Bc", "e", "19", "-", "-", "\xe2\x80\x90", " ", ".", "'",
        "\xc3\xa9", "ab", "s", "--", "U.S.", "\xe6\x9d\xb1", "x",
    };
    trawl_analyzer *fold = mk("english"), *stem = mk("english");
    trawl_folded f;
    memset(&f, 0, sizeof(f));
    srand(7);
    for (int r = 0; r < 3000; r++) {
        char text[160];
        size_t o = 0;
        int n = 1 + rand() % 24;
        for (int k = 0; k < n; k++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "%s",
                                  bits[rand() % (sizeof(bits) /
                                                 sizeof(*bits))]);
        (void)run(a, text, 0);
        (void)run(a, text, 1);
        dump d1 = {NULL, 0, 0, 0}, d2 = {NULL, 0, 0, 0};
        dump_tok(&d1, &(trawl_token){"x", 1, 0, 0, 1, NULL, 0});
        dump_tok(&d2, &(trawl_token){"x", 1, 0, 0, 1, NULL, 0});
        assert_int_equal(trawl_analyze(a, text, o, dump_tok, &d1), 0);
        trawl_folded_clear(&f);
        assert_int_equal(trawl_analyze_fold(fold, text, o, &f), 0);
        assert_int_equal(
            trawl_analyze_stem_batch(stem, &f, 0, f.n, dump_tok, &d2), 0);
        assert_string_equal(d1.s, d2.s);
        free(d1.s);
        free(d2.s);
    }
    trawl_folded_free(&f);
    trawl_analyzer_free(fold);
    trawl_analyzer_free(stem);
    trawl_analyzer_free(a);
}

/* Analyzer 6: a change between a letter and a digit inside a word is a
 * hyphen ("COVID19" is "COVID-19": covid, 19 and the compound covid19 at
 * the first part's position), so that covid finds COVID19 and iphone
 * iPhone5; numbers alone, and ids of more than six parts, stay whole. */
static void test_letters_and_digits(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    /* the tokens, positions and spans of "COVID19 cases" */
    toklist *l = run(a, "COVID19 cases", 0);
    assert_int_equal(l->n, 4);
    assert_string_equal(l->term[0], "covid19");
    assert_int_equal(l->parts[0], 2);
    assert_int_equal(l->pos[0], 0);
    assert_int_equal(l->start[0], 0);
    assert_int_equal(l->end[0], 7);
    assert_string_equal(l->term[1], "covid");
    assert_int_equal(l->pos[1], 0);
    assert_int_equal(l->end[1], 5);
    assert_string_equal(l->term[2], "19");
    assert_int_equal(l->pos[2], 1);
    assert_int_equal(l->start[2], 5);
    assert_int_equal(l->end[2], 7);
    assert_string_equal(l->term[3], "case");
    assert_int_equal(l->pos[3], 2);
    /* written solid or with a hyphen, the same terms at the same
     * positions */
    static const char *const same[][2] = {
        {"COVID19 cases", "COVID-19 cases"},
        {"iPhone5s", "iPhone-5-s"},
        {"the mp3 player", "the mp-3 player"},
        {"mp3-player", "mp-3-player"},
        {"h1n1 flu", "H1-N1 flu"},
        {"F-16s", "F16s"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
        char x[512];
        snprintf(x, sizeof(x), "%s", terms_all(a, same[i][0]));
        assert_string_equal(x, terms_all(a, same[i][1]));
        toklist *p = run(a, same[i][0], 0);
        uint32_t pos0[MAXTOK];
        size_t n0 = p->n;
        memcpy(pos0, p->pos, sizeof(pos0));
        p = run(a, same[i][1], 0);
        assert_int_equal(p->n, n0);
        assert_memory_equal(p->pos, pos0, n0 * sizeof(*pos0));
    }
    assert_string_equal(terms_all(a, "iPhone5s"), "<iphone5> iphon 5 s");
    assert_string_equal(terms_all(a, "100km"), "<100km> 100 km");
    assert_string_equal(terms_all(a, "x86"), "<x86> x 86");
    assert_string_equal(terms_all(a, "h1n1"), "<h1n1> h 1 n 1");
    assert_string_equal(terms_all(a, "COVID19-related"),
                        "<covid19rel> covid 19 relat");
    /* numbers alone stay whole */
    assert_string_equal(terms_all(a, "2024 10,000 3.5"), "2024 10000 3.5");
    /* decades and ordinals split like the rest: 1990 finds the 1990s
     * (as it finds "1990's", which was already 1990 and s), 2 finds
     * 2nd; the stemmer keeps the parts as they are */
    assert_string_equal(terms_all(a, "1990s"), "<1990s> 1990 s");
    assert_string_equal(terms_all(a, "1990's"), "1990 s");
    assert_string_equal(terms_all(a, "2nd 21st"), "<2nd> 2 nd <21st> 21 st");
    /* a hash or an id of more than six parts stays one word, as does a
     * chain whose words, split, would make more than six */
    const char *hex = "a3f9c2e81b4d5e6f708192a3b4c5d6e7f8091a2b";
    assert_int_equal(strlen(hex), 40);
    assert_string_equal(terms_all(a, hex), hex);
    assert_string_equal(terms_all(a, "a1b2c3d"), "a1b2c3d");
    assert_string_equal(terms_all(a, "a1b2c3"), "<a1b2c3> a 1 b 2 c 3");
    assert_string_equal(terms_all(a, "550e8400-e29b-41d4-a716-446655440000"),
                        "<550e8400e29b41d4a716446655440000> 550e8400 e29b "
                        "41d4 a716 446655440000");
    /* a word with a point or comma between digits splits alone, and
     * stands as it did whole; one with an apostrophe does not */
    assert_string_equal(terms_all(a, "3.5km"), "<3.5km> 3.5 km");
    assert_string_equal(terms_all(a, "10,000km"), "<10,000km> 10000 km");
    assert_string_equal(terms_all(a, "v1.2.3"), "<v1.2.3> v 1.2.3");
    assert_string_equal(terms_all(a, "O'Brien2"), "<obrien2> o'brien2");
    assert_string_equal(terms_all(a, "x-O'Brien2"),
                        "<xobrien2> x <obrien> o'brien 2");
    /* a part is no dotted acronym */
    assert_string_equal(terms_all(a, "1U.S."), "<1u> 1 u s");
    /* letters of any script next to digits */
    assert_string_equal(terms_all(a, "\xd0\x9a\xd0\x9e\xd0\x92\xd0\x98\xd0"
                                     "\x94" "19"),
                        "<\xd0\xba\xd0\xbe\xd0\xb2\xd0\xb8\xd0\xb4" "19> "
                        "\xd0\xba\xd0\xbe\xd0\xb2\xd0\xb8\xd0\xb4 19");
    assert_string_equal(terms_all(a, "\xd9\x83\xd9\x88\xd9\x81\xd9\x8a\xd8"
                                     "\xaf\xd9\xa1\xd9\xa9"),
                        "<\xd9\x83\xd9\x88\xd9\x81\xd9\x8a\xd8\xaf\xd9\xa1"
                        "\xd9\xa9> \xd9\x83\xd9\x88\xd9\x81\xd9\x8a\xd8\xaf "
                        "\xd9\xa1\xd9\xa9");
    /* Devanagari with its vowel signs (marks) before the digits */
    assert_string_equal(terms_all(a, "\xe0\xa4\x95\xe0\xa5\x8b\xe0\xa4\xb5"
                                     "\xe0\xa4\xbf\xe0\xa4\xa1" "19"),
                        "<\xe0\xa4\x95\xe0\xa5\x8b\xe0\xa4\xb5\xe0\xa4\xbf"
                        "\xe0\xa4\xa1" "19> \xe0\xa4\x95\xe0\xa5\x8b\xe0\xa4"
                        "\xb5\xe0\xa4\xbf\xe0\xa4\xa1 19");
    /* an accent (a mark) stays with its letter; fullwidth folds to ASCII */
    assert_string_equal(terms_all(a, "Pe\xcc\x81" "2"), "<pe2> pe 2");
    assert_string_equal(terms_all(a, "\xef\xbd\x89\xef\xbc\xb0\xef\xbd\x88"
                                     "\xef\xbd\x8f\xef\xbd\x8e\xef\xbd\x85"
                                     "\xef\xbc\x95"),
                        "<iphone5> iphon 5");
    /* Han, kana and Hangul: a character a token, as before */
    assert_string_equal(terms_all(a, "\xe3\x82\xb3\xe3\x83\xad\xe3\x83\x8a"
                                     "19 3\xe6\x9c\x88"),
                        "\xe3\x82\xb3 \xe3\x83\xad \xe3\x83\x8a 19 3 "
                        "\xe6\x9c\x88");
    assert_string_equal(terms_all(a, "iPhone5\xe3\x81\xae"),
                        "<iphone5> iphon 5 \xe3\x81\xae");
    trawl_analyzer_free(a);
    trawl_analyzer *fr = mk("french");
    assert_string_equal(terms_all(fr, "l'A380"), "<a380> a 380");
    trawl_analyzer_free(fr);
    /* no stemming: the fast path (ASCII) and the general one agree */
    trawl_analyzer *none = mk("none");
    assert_string_equal(terms_all(none, "iPhone5s iPhone5s\xc3\xa9"),
                        "<iphone5s> iphone 5 s <iphone5se> iphone 5 se");
    assert_string_equal(terms(none, "covid19", 1), "covid 19");
    trawl_analyzer_free(none);
}

/* Review 10: U+02BC MODIFIER LETTER APOSTROPHE is an apostrophe as
 * U+2019 is (it folds to '\''): "O\u02bcBrien" is also "obrien", and
 * French elides with it. A hyphenated chain's part that an apostrophe
 * joins ("x-O'Brien", "rock-n'roll") is that whole word, without its
 * apostrophes, in the compound: "xobrien", not "xo" (which matched a
 * text's "XO" and highlighted "x-O"); its span covers the word. */
static void test_review10_apostrophes(void **state)
{
    (void)state;
    trawl_analyzer *a = mk("english");
    assert_string_equal(terms_all(a, "O\xca\xbc" "Brien said"),
                        "<obrien> o'brien said");
    assert_string_equal(terms_all(a, "\xca\xbc" "tis"), "tis");
    assert_string_equal(terms_all(a, "x-O'Brien said"),
                        "<xobrien> x <obrien> o'brien said");
    assert_string_equal(terms_all(a, "rock-n'roll"),
                        "<rocknrol> rock <nroll> n'roll");
    assert_string_equal(terms_all(a, "x-O\xe2\x80\x99" "Brien-style"),
                        "<xobrienstyl> x <obrien> o'brien style");
    /* a possessive as before: the compound stems alike */
    assert_string_equal(terms_all(a, "non-profit's"),
                        "<nonprofit> non profit");
    /* an apostrophe that joins nothing ends the part */
    assert_string_equal(terms_all(a, "a-b' x-'y"), "<ab> a b x y");
    toklist *l = run(a, "an x-O'Brien", 0);
    assert_int_equal(l->n, 5);
    assert_int_equal(l->parts[1], 2);
    assert_int_equal(l->start[1], 3);
    assert_int_equal(l->end[1], 12);
    trawl_analyzer_free(a);
    trawl_analyzer *fr = mk("french");
    assert_string_equal(terms_all(fr, "l\xca\xbc\xc3\xa9" "conomie"),
                        "econom");
    assert_string_equal(terms_all(fr, "aujourd\xca\xbchui"),
                        "<aujourdhui> aujourd'hui");
    trawl_analyzer_free(fr);
}

/* The word-at-a-time ASCII scan finds a bad byte at every offset. */
static void test_utf8_valid_offsets(void **state)
{
    (void)state;
    char buf[40];
    for (size_t len = 0; len < sizeof(buf); len++) {
        memset(buf, 'a', sizeof(buf));
        assert_int_equal(trawl_utf8_valid(buf, len), 1);
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'a', sizeof(buf));
            buf[at] = (char)0xff;
            assert_int_equal(trawl_utf8_valid(buf, len), 0);
            if (at + 2 <= len) {
                buf[at] = (char)0xc3;
                buf[at + 1] = (char)0xa9;
                assert_int_equal(trawl_utf8_valid(buf, len), 1);
                /* A truncated sequence at the very end. */
                assert_int_equal(trawl_utf8_valid(buf, at + 1), 0);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_english),
        cmocka_unit_test(test_folded),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_cjk),
        cmocka_unit_test(test_optional_marks),
        cmocka_unit_test(test_elision),
        cmocka_unit_test(test_marks_and_scripts),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_utf8_valid_sanitize),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_memo_consistency),
        cmocka_unit_test(test_stem_api),
        cmocka_unit_test(test_fast_slow_agree),
        cmocka_unit_test(test_fold_stem_batch),
        cmocka_unit_test(test_hyphen_compounds),
        cmocka_unit_test(test_review10_apostrophes),
        cmocka_unit_test(test_letters_and_digits),
        cmocka_unit_test(test_utf8_valid_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
