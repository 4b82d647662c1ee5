/*
 * Legacy encodings of non-Latin scripts (encoding.h): uchardet names a
 * candidate, iconv converts, and the result must read as that script.
 */
#include "encoding.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uchardet/uchardet.h>
#include <utf8proc.h>

enum script { CJK, CYRILLIC, GREEK, HEBREW, ARABIC, THAI };

/* uchardet's names that are taken, what iconv calls the encoding to use
 * (a superset where Windows wrote one), and the script it must give. */
static const struct {
    const char *detected, *iconv, *shown;
    enum script script;
} known[] = {
    {"SHIFT_JIS", "CP932", "Shift_JIS", CJK},
    {"EUC-JP", "EUC-JP", "EUC-JP", CJK},
    {"EUC-KR", "UHC", "EUC-KR", CJK},
    {"UHC", "UHC", "EUC-KR (CP949)", CJK},
    {"GB18030", "GB18030", "GB18030 (GBK)", CJK},
    {"BIG5", "BIG5", "Big5", CJK},
    {"EUC-TW", "EUC-TW", "EUC-TW", CJK},
    {"WINDOWS-1251", "WINDOWS-1251", "Windows-1251", CYRILLIC},
    {"KOI8-R", "KOI8-R", "KOI8-R", CYRILLIC},
    {"ISO-8859-5", "ISO-8859-5", "ISO-8859-5", CYRILLIC},
    {"IBM855", "IBM855", "IBM855", CYRILLIC},
    {"IBM866", "IBM866", "IBM866", CYRILLIC},
    {"MAC-CYRILLIC", "MAC-CYRILLIC", "Mac Cyrillic", CYRILLIC},
    {"WINDOWS-1253", "WINDOWS-1253", "Windows-1253", GREEK},
    {"ISO-8859-7", "ISO-8859-7", "ISO-8859-7", GREEK},
    {"WINDOWS-1255", "WINDOWS-1255", "Windows-1255", HEBREW},
    {"ISO-8859-8", "ISO-8859-8", "ISO-8859-8", HEBREW},
    {"WINDOWS-1256", "WINDOWS-1256", "Windows-1256", ARABIC},
    {"ISO-8859-6", "ISO-8859-6", "ISO-8859-6", ARABIC},
    {"TIS-620", "TIS-620", "TIS-620", THAI},
};

/* The detector sees this much of a file: enough to be sure, and cheap. */
#define SAMPLE ((size_t)256 << 10)

static int in_script(int32_t c, enum script s)
{
    switch (s) {
    case CJK:
        return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x2e80 && c <= 0x9fff) ||
               (c >= 0xa960 && c <= 0xa97f) || (c >= 0xac00 && c <= 0xd7ff) ||
               (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef) ||
               (c >= 0x20000 && c <= 0x3ffff);
    case CYRILLIC:
        return c >= 0x0400 && c <= 0x052f;
    case GREEK:
        return (c >= 0x0370 && c <= 0x03ff) || (c >= 0x1f00 && c <= 0x1fff);
    case HEBREW:
        return (c >= 0x0590 && c <= 0x05ff) || (c >= 0xfb1d && c <= 0xfb4f);
    case ARABIC:
        return (c >= 0x0600 && c <= 0x06ff) || (c >= 0x0750 && c <= 0x077f) ||
               (c >= 0xfb50 && c <= 0xfdff) || (c >= 0xfe70 && c <= 0xfeff);
    case THAI:
        return c >= 0x0e00 && c <= 0x0e7f;
    }
    return 0;
}

/*
 * Does UTF-8 text read as script s? At least half of its letters are the
 * script's, and nearly all of the letters that are not ASCII: Latin text
 * that a multibyte encoding happens to accept ("é" and the letter after
 * it taken for one kanji) has few such letters, all inside Latin words.
 */
static int reads_as(const char *p, size_t n, enum script s)
{
    size_t letters = 0, ours = 0, other = 0;
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)p;
    utf8proc_ssize_t left = (utf8proc_ssize_t)n;
    while (left > 0) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(u, left, &c);
        if (k <= 0)
            return 0;
        u += k;
        left -= k;
        utf8proc_category_t cat = utf8proc_category(c);
        int letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        if (!letter)
            continue;
        letters++;
        if (in_script(c, s))
            ours++;
        else if (c >= 0x80)
            other++;
    }
    return ours > 0 && ours * 2 >= letters && other * 10 <= ours;
}

/*
 * text in encoding `from` as UTF-8 (malloc'd), or NULL: not convertible
 * (errno EINVAL) or out of memory (errno ENOMEM). A byte sequence the
 * encoding does not have becomes U+FFFD, counted in *bad: one stray or
 * damaged byte, a file cut inside its last character, a quotation pasted
 * in UTF-8 made iconv give up on the whole file, which was then read as
 * Windows-1252 (all of its text mojibake).
 */
static char *convert(const char *from, const char *text, size_t len,
                     size_t *out_len, size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1) {
        errno = EINVAL;
        return NULL;
    }
    size_t cap = len * 2 + 16, used = 0;
    char *out = malloc(cap);
    char *in = (char *)(uintptr_t)text;
    size_t in_left = len;
    *bad = 0;
    while (out != NULL) {
        char *o = out + used;
        size_t o_left = cap - used;
        size_t r = iconv(cd, &in, &in_left, &o, &o_left);
        used = (size_t)(o - out);
        if (r != (size_t)-1 && in_left == 0)
            break;
        if (r == (size_t)-1 && (errno == EILSEQ || errno == EINVAL) &&
            in_left > 0 && o_left >= 3) {
            memcpy(out + used, "\xef\xbf\xbd", 3);
            used += 3;
            in++;
            in_left--;
            (*bad)++;
            iconv(cd, NULL, NULL, NULL, NULL); /* a fresh state */
            continue;
        }
        if (r == (size_t)-1 && errno != E2BIG && errno != EILSEQ &&
            errno != EINVAL) {
            free(out);
            out = NULL;
            errno = EINVAL;
            break;
        }
        cap *= 2;
        char *grown = realloc(out, cap);
        if (grown == NULL) {
            free(out);
            errno = ENOMEM;
        }
        out = grown;
    }
    iconv_close(cd);
    if (out != NULL)
        *out_len = used;
    return out;
}

/* Bytes replaced by U+FFFD at most: 1 in 50 (a few stray bytes, a
 * character cut at the end); more is not text in that encoding. */
static int few_bad(size_t bad, size_t len)
{
    return bad <= 1 + len / 50;
}

int trawl_legacy_to_utf8(const char *text, size_t len, char **out,
                         size_t *out_len, const char **name)
{
    uchardet_t ud = uchardet_new();
    if (ud == NULL)
        return -1;
    int rc = uchardet_handle_data(ud, text, len < SAMPLE ? len : SAMPLE);
    uchardet_data_end(ud);
    const char *cs = rc == 0 ? uchardet_get_charset(ud) : "";
    size_t i, n = sizeof(known) / sizeof(known[0]);
    for (i = 0; i < n; i++)
        if (strcmp(cs, known[i].detected) == 0)
            break;
    uchardet_delete(ud);
    if (i == n)
        return 0;
    size_t ulen = 0, bad = 0;
    char *u = convert(known[i].iconv, text, len, &ulen, &bad);
    if (u == NULL)
        return errno == ENOMEM ? -1 : 0;
    if (!few_bad(bad, len) || !reads_as(u, ulen, known[i].script)) {
        free(u);
        return 0;
    }
    *out = u;
    *out_len = ulen;
    if (bad == 0) {
        *name = known[i].shown;
    } else {
        static _Thread_local char shown[96];
        snprintf(shown, sizeof(shown), "%s (%zu invalid byte%s replaced "
                 "by U+FFFD)", known[i].shown, bad, bad == 1 ? "" : "s");
        *name = shown;
    }
    return 1;
}

int trawl_to_utf8(const char *from, const char *text, size_t len,
                  char **out, size_t *out_len, size_t *bad)
{
    char *u = convert(from, text, len, out_len, bad);
    if (u == NULL)
        return errno == ENOMEM ? -1 : 0;
    *out = u;
    return 1;
}

/* Windows-1252's characters at 0x80..0x9f (0: none, read as U+FFFD). */
static const unsigned short cp1252_c1[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178};

int trawl_cp1252_repair(const char *text, size_t len, char **out,
                        size_t *out_len, size_t *mapped)
{
    const unsigned char *u = (const unsigned char *)text;
    char *o = malloc(len * 3 + 1), *w = o;
    if (o == NULL)
        return -1;
    *mapped = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef             ? 3
                   : c >= 0xf0 && c <= 0xf4             ? 4
                                                        : 0;
        if (k == 1 || (k > 1 && k <= len - i &&
                       utf8proc_iterate(u + i, (utf8proc_ssize_t)k,
                                        &(utf8proc_int32_t){0}) ==
                           (utf8proc_ssize_t)k)) {
            memcpy(w, text + i, k);
            w += k;
            i += k;
            continue;
        }
        unsigned cp = c >= 0xa0 ? c : cp1252_c1[c - 0x80];
        if (cp == 0)
            cp = 0xfffd;
        w += utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)w);
        (*mapped)++;
        i++;
    }
    *w = '\0';
    *out = o;
    *out_len = (size_t)(w - o);
    return 0;
}
