/*
 * The analyzer: tokenizer, folding, stemming and the stem memo.
 *
 * The hot path is pure ASCII text: a 128-entry class table finds token
 * boundaries, ASCII tokens are lowercased directly (that is exactly what
 * NFKC + case fold + mark stripping does to ASCII), and the stem of each
 * folded form is looked up in a per-analyzer memo before libstemmer is
 * called. Any token with a non-ASCII byte takes the slow path through
 * utf8proc, so both paths give the same terms by construction.
 *
 * Character classes (see char_class()):
 *   LETTER  Unicode L* (except those of CJK)
 *   DIGIT   Unicode N*
 *   MARK    Unicode M*: continues a token, does not change what the
 *           previous character was for the joiner rules
 *   CJK     Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer, Myanmar:
 *           one token per character (plus any marks that follow it; a
 *           Hangul syllable's conjoining jamo)
 *   APOS    ' U+2018 U+2019: inside a token when between two letters
 *   POINT   . and ,: inside a token when between two digits
 *   SEP     everything else, including invalid UTF-8 (skipped by the
 *           length of the invalid sequence, at least one byte)
 */
#include "trawl/analyze.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "internal.h"

/* ---- UTF-8 decoding ---- */

/*
 * Decode one character from s[0..n), n >= 1. Returns its length and sets
 * *cp, or returns the negated length of the maximal invalid subpart (the
 * bytes that one U+FFFD replaces), which is at least 1. Overlongs,
 * surrogates and values above U+10FFFF are invalid.
 */
static inline int utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    if (c < 0xc2 || c > 0xf4)
        return -1;
    if (c < 0xe0) {
        if (n < 2 || (s[1] & 0xc0) != 0x80)
            return -1;
        *cp = (int32_t)((c & 0x1f) << 6 | (s[1] & 0x3f));
        return 2;
    }
    /* Allowed range of the second byte (excludes overlongs, surrogates
     * and code points above U+10FFFF). */
    unsigned lo = 0x80, hi = 0xbf;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < 2 || s[1] < lo || s[1] > hi)
        return -1;
    if (c < 0xf0) {
        if (n < 3 || (s[2] & 0xc0) != 0x80)
            return -2;
        *cp = (int32_t)((c & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f));
        return 3;
    }
    if (n < 3 || (s[2] & 0xc0) != 0x80)
        return -2;
    if (n < 4 || (s[3] & 0xc0) != 0x80)
        return -3;
    *cp = (int32_t)((c & 0x07) << 18 | (s[1] & 0x3f) << 12 |
                    (s[2] & 0x3f) << 6 | (s[3] & 0x3f));
    return 4;
}

int trawl_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs eight bytes at a time. */
        while (len - i >= 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (v & 0x8080808080808080u)
                break;
            i += 8;
        }
        if (i == len)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        int n = utf8_decode(p + i, len - i, &cp);
        if (n < 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

int trawl_utf8_sanitize(const char *text, size_t len, char **out,
                        size_t *out_len, size_t *replaced)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t cap, i = 0, o = 0, bad = 0;
    /* Each invalid sequence of k >= 1 bytes becomes 3 bytes. */
    if (trawl__mul_overflow(len, 3, &cap) || trawl__add_overflow(cap, 1, &cap))
        return TRAWL_ENOMEM;
    char *buf = malloc(trawl_utf8_valid(text, len) ? len + 1 : cap);
    if (buf == NULL)
        return TRAWL_ENOMEM;
    while (i < len) {
        if (p[i] < 0x80) {
            buf[o++] = (char)p[i++];
            continue;
        }
        int32_t cp;
        int n = utf8_decode(p + i, len - i, &cp);
        if (n > 0) {
            memcpy(buf + o, p + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += (size_t)-n;
            bad++;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    if (replaced != NULL)
        *replaced = bad;
    return 0;
}

/* ---- character classes ---- */

enum {
    C_SEP = 0,
    C_LETTER,
    C_DIGIT,
    C_MARK,
    C_CJK,
    C_APOS,
    C_POINT,
    C_HYPHEN, /* '-', U+2010, U+2011: a separator that may join a compound */
};

/* Classes of the ASCII characters. */
static const unsigned char ascii_class[128] = {
    ['\''] = C_APOS, ['.'] = C_POINT, [','] = C_POINT, ['-'] = C_HYPHEN,
    ['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT,
    ['4'] = C_DIGIT, ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
    ['8'] = C_DIGIT, ['9'] = C_DIGIT,
    ['A'] = C_LETTER, ['B'] = C_LETTER, ['C'] = C_LETTER, ['D'] = C_LETTER,
    ['E'] = C_LETTER, ['F'] = C_LETTER, ['G'] = C_LETTER, ['H'] = C_LETTER,
    ['I'] = C_LETTER, ['J'] = C_LETTER, ['K'] = C_LETTER, ['L'] = C_LETTER,
    ['M'] = C_LETTER, ['N'] = C_LETTER, ['O'] = C_LETTER, ['P'] = C_LETTER,
    ['Q'] = C_LETTER, ['R'] = C_LETTER, ['S'] = C_LETTER, ['T'] = C_LETTER,
    ['U'] = C_LETTER, ['V'] = C_LETTER, ['W'] = C_LETTER, ['X'] = C_LETTER,
    ['Y'] = C_LETTER, ['Z'] = C_LETTER,
    ['a'] = C_LETTER, ['b'] = C_LETTER, ['c'] = C_LETTER, ['d'] = C_LETTER,
    ['e'] = C_LETTER, ['f'] = C_LETTER, ['g'] = C_LETTER, ['h'] = C_LETTER,
    ['i'] = C_LETTER, ['j'] = C_LETTER, ['k'] = C_LETTER, ['l'] = C_LETTER,
    ['m'] = C_LETTER, ['n'] = C_LETTER, ['o'] = C_LETTER, ['p'] = C_LETTER,
    ['q'] = C_LETTER, ['r'] = C_LETTER, ['s'] = C_LETTER, ['t'] = C_LETTER,
    ['u'] = C_LETTER, ['v'] = C_LETTER, ['w'] = C_LETTER, ['x'] = C_LETTER,
    ['y'] = C_LETTER, ['z'] = C_LETTER,
};

/* 1 for the ASCII letters and digits (the bytes of the fast path). */
static const unsigned char ascii_word[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

#define REP8(b) ((uint64_t)(b) * 0x0101010101010101u)

/*
 * The bytes of the 8-byte little-endian word v that are not ASCII letters
 * or digits, as the high bit of each such byte; *lower gets v with 0x20
 * ORed into every byte (the lowercase of the letters, the digits as
 * they are), *digits the digits' high bits. Byte ranges are tested on
 * 7-bit values, where adding a constant below 0x80 never carries into
 * the next byte.
 */
static inline uint64_t word_stops(uint64_t v, uint64_t *lower,
                                  uint64_t *digits)
{
    const uint64_t hi = REP8(0x80);
    uint64_t x = v & ~hi;
    uint64_t digit = (x + REP8(0x80 - '0')) & ~(x + REP8(0x7f - '9'));
    uint64_t l = x | REP8(0x20);
    uint64_t alpha = (l + REP8(0x80 - 'a')) & ~(l + REP8(0x7f - 'z'));
    uint64_t word = (digit | alpha) & ~v & hi;
    *lower = v | REP8(0x20);
    *digits = digit & ~v & hi;
    return ~word & hi;
}

/* Has the folded ASCII word w[0..n) a letter (it has a digit)? */
static __attribute__((noinline)) int has_letter(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] >= 'a')
            return 1;
    return 0;
}

/* Hangul jamo that continue a syllable written decomposed (vowels and
 * final consonants, as a Mac's NFD file names and text have them). */
static int is_jamo_vt(int32_t cp)
{
    return (cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff);
}

/* Hangul: syllables and jamo (conjoining, compatibility, halfwidth). */
static int is_hangul(int32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x3130 && cp <= 0x318f) ||
           (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xac00 && cp <= 0xd7ff) ||
           (cp >= 0xffa0 && cp <= 0xffdc);
}

/* Thai, Lao, Khmer and Myanmar: written without spaces between words
 * too (a space ends a phrase or a sentence). */
static int is_sea(int32_t cp)
{
    return (cp >= 0x0e00 && cp <= 0x0eff) ||  /* Thai, Lao */
           (cp >= 0x1000 && cp <= 0x109f) ||  /* Myanmar */
           (cp >= 0x1780 && cp <= 0x17ff) ||  /* Khmer */
           (cp >= 0x19e0 && cp <= 0x19ff) ||  /* Khmer symbols */
           (cp >= 0xa9e0 && cp <= 0xa9ff) ||  /* Myanmar ext. B */
           (cp >= 0xaa60 && cp <= 0xaa7f);    /* Myanmar ext. A */
}

/* Han, Hiragana and Katakana, and the scripts of is_sea(): written
 * without spaces between words; and Hangul, whose words carry their
 * particles and endings (회의가, 회의를, 회의에서 are all 회의,
 * "meeting"). A character (with its marks) a token, so that a word
 * searched for (a phrase of its characters) is found inside the text. */
static int is_cjk(int32_t cp)
{
    return is_hangul(cp) || (cp < 0x3040 ? is_sea(cp) : 0) ||
           (cp >= 0x3040 && cp <= 0x30ff) ||   /* Hiragana, Katakana */
           (cp >= 0x31f0 && cp <= 0x31ff) ||   /* Katakana ext. */
           (cp >= 0x3400 && cp <= 0x4dbf) ||   /* Han ext. A */
           (cp >= 0x4e00 && cp <= 0x9fff) ||   /* Han */
           (cp >= 0xf900 && cp <= 0xfaff) ||   /* Han compatibility */
           (cp >= 0xff66 && cp <= 0xff9f) ||   /* halfwidth Katakana */
           (cp >= 0x1b000 && cp <= 0x1b16f) || /* Kana supplement/ext. */
           (cp >= 0x20000 && cp <= 0x323af);   /* Han ext. B.. and compat */
}

static int unicode_class(int32_t cp)
{
    /* U+02BC MODIFIER LETTER APOSTROPHE too: folded to '\'' like the
     * quotes, it joins and elides as they do ("O\u02bcBrien") */
    if (cp == 0x2019 || cp == 0x2018 || cp == 0x02bc)
        return C_APOS;
    if (cp == 0x2010 || cp == 0x2011)
        return C_HYPHEN;
    /* Invisible inside words, and dropped by folding: the soft hyphen
     * (web text breaks long words with it), the zero-width (non-)joiners
     * and the word joiners. They keep a word whole, like a mark. */
    if (cp == 0x00ad || cp == 0x200c || cp == 0x200d || cp == 0x2060 ||
        cp == 0xfeff)
        return C_MARK;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return is_cjk(cp) ? C_CJK : C_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return is_cjk(cp) ? C_CJK : C_DIGIT;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return C_MARK;
    default:
        return C_SEP;
    }
}

/* Class of the character at s[0..n), n >= 1; *len gets its byte length
 * (the length of the invalid sequence for invalid UTF-8, class C_SEP). */
static inline int char_class(const unsigned char *s, size_t n, size_t *len)
{
    if (s[0] < 0x80) {
        *len = 1;
        return ascii_class[s[0]];
    }
    int32_t cp;
    int k = utf8_decode(s, n, &cp);
    if (k < 0) {
        *len = (size_t)-k;
        return C_SEP;
    }
    *len = (size_t)k;
    return unicode_class(cp);
}

/* ---- the analyzer ---- */

/*
 * The stem memo: open addressing with linear probing over slots of
 * (hash tag, pool offset + 1). The pool holds, per entry, the key length,
 * the value length, the key bytes and the value bytes. Both are bounded
 * (MEMO_MAX_ENTRIES, MEMO_MAX_POOL); reaching a bound clears the memo,
 * which only costs speed.
 */
#define MEMO_MAX_ENTRIES (1u << 20)
#define MEMO_MAX_POOL (32u << 20)
#define MEMO_MIN_SLOTS 1024u

typedef struct memo_slot {
    uint32_t tag; /* high half of the key's hash */
    uint32_t off; /* pool offset + 1; 0 = empty */
} memo_slot;

/* Elided articles a language writes before an apostrophe (l'économie,
 * dell'economia), dropped as Lucene's ElisionFilter does; and the
 * suffixes Turkish writes after one on proper names (Ankara'da). */
enum { ELIDE_NONE, ELIDE_BEFORE, ELIDE_AFTER };

static const char *const elisions_french[] = {
    "l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu",
    "lorsqu", "puisqu", NULL};
static const char *const elisions_italian[] = {
    "c", "l", "all", "dall", "dell", "nell", "sull", "coll", "pell", "gl",
    "agl", "dagl", "degl", "negl", "sugl", "un", "m", "t", "s", "v", "d",
    NULL};
static const char *const elisions_catalan[] = {"d", "l", "m", "n", "s", "t",
                                               NULL};

static const char *const *elisions_of(const char *language)
{
    if (strcmp(language, "french") == 0)
        return elisions_french;
    if (strcmp(language, "italian") == 0)
        return elisions_italian;
    if (strcmp(language, "catalan") == 0)
        return elisions_catalan;
    return NULL;
}

struct trawl_analyzer {
    struct sb_stemmer *stemmer; /* NULL for "none" */
    char language[32];
    int elide; /* ELIDE_*: what the language does around apostrophes */

    memo_slot *slots;
    size_t nslots; /* power of two, or 0 before first use */
    size_t count;
    unsigned char *pool;
    size_t pool_len, pool_cap;

    unsigned char *user; /* user slot of the last memo hit or insert */
    size_t memo_pool;    /* bounds of the memo (see trawl_analyzer_limit) */
    size_t memo_entries;

    /* Folding scratch space. */
    int32_t *cps;
    size_t cps_cap;
    char *fold;
    size_t fold_cap;
};

/* ISO 639 codes that sb_stemmer_new() accepts, mapped to the names
 * sb_stemmer_list() reports. */
static const char *const language_aliases[][2] = {
    {"ar", "arabic"},      {"ara", "arabic"},     {"hy", "armenian"},
    {"arm", "armenian"},   {"hye", "armenian"},   {"eu", "basque"},
    {"baq", "basque"},     {"eus", "basque"},     {"ca", "catalan"},
    {"cat", "catalan"},    {"da", "danish"},      {"dan", "danish"},
    {"nl", "dutch"},       {"dut", "dutch"},      {"nld", "dutch"},
    {"en", "english"},     {"eng", "english"},    {"fi", "finnish"},
    {"fin", "finnish"},    {"fr", "french"},      {"fre", "french"},
    {"fra", "french"},     {"de", "german"},      {"ger", "german"},
    {"deu", "german"},     {"el", "greek"},       {"gre", "greek"},
    {"ell", "greek"},      {"hi", "hindi"},       {"hin", "hindi"},
    {"hu", "hungarian"},   {"hun", "hungarian"},  {"id", "indonesian"},
    {"ind", "indonesian"}, {"ga", "irish"},       {"gle", "irish"},
    {"it", "italian"},     {"ita", "italian"},    {"lt", "lithuanian"},
    {"lit", "lithuanian"}, {"ne", "nepali"},      {"nep", "nepali"},
    {"no", "norwegian"},   {"nor", "norwegian"},  {"pt", "portuguese"},
    {"por", "portuguese"}, {"ro", "romanian"},    {"rum", "romanian"},
    {"ron", "romanian"},   {"ru", "russian"},     {"rus", "russian"},
    {"sr", "serbian"},     {"srp", "serbian"},    {"es", "spanish"},
    {"spa", "spanish"},    {"sv", "swedish"},     {"swe", "swedish"},
    {"ta", "tamil"},       {"tam", "tamil"},      {"tr", "turkish"},
    {"tur", "turkish"},    {"yi", "yiddish"},     {"yid", "yiddish"},
};

const char **trawl_analyzer_languages(void)
{
    return sb_stemmer_list();
}

static int unknown_language(const char *language, trawl_err *err)
{
    char names[400];
    size_t n = 0;
    names[0] = '\0';
    for (const char **l = sb_stemmer_list(); *l != NULL; l++) {
        int k = snprintf(names + n, sizeof(names) - n, "%s, ", *l);
        if (k < 0 || (size_t)k >= sizeof(names) - n)
            break;
        n += (size_t)k;
    }
    return trawl_err_set(err, TRAWL_EINVAL,
                         "unknown language \"%.64s\" (valid: %snone)",
                         language, names);
}

int trawl_analyzer_new(trawl_analyzer **out, const char *language,
                       trawl_err *err)
{
    char name[32];
    size_t n = language != NULL ? strlen(language) : 0;
    *out = NULL;
    if (n == 0 || n >= sizeof(name))
        return unknown_language(language != NULL ? language : "", err);
    for (size_t i = 0; i <= n; i++) {
        char c = language[i];
        name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }

    const char *canonical = name;
    for (size_t i = 0; i < sizeof(language_aliases) / sizeof(*language_aliases);
         i++) {
        if (strcmp(name, language_aliases[i][0]) == 0) {
            canonical = language_aliases[i][1];
            break;
        }
    }

    trawl_analyzer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (strcmp(canonical, "none") != 0) {
        int known = 0;
        for (const char **l = sb_stemmer_list(); *l != NULL; l++)
            known |= strcmp(*l, canonical) == 0;
        if (!known) {
            free(a);
            return unknown_language(language, err);
        }
        a->stemmer = sb_stemmer_new(canonical, "UTF_8");
        if (a->stemmer == NULL) {
            free(a);
            return trawl_err_set(err, TRAWL_ENOMEM,
                                 "cannot create the %s stemmer", canonical);
        }
    }
    snprintf(a->language, sizeof(a->language), "%s", canonical);
    a->elide = strcmp(a->language, "turkish") == 0 ? ELIDE_AFTER
               : elisions_of(a->language) != NULL  ? ELIDE_BEFORE
                                                   : ELIDE_NONE;
    a->memo_pool = MEMO_MAX_POOL;
    a->memo_entries = MEMO_MAX_ENTRIES;
    *out = a;
    return 0;
}

void trawl_analyzer_free(trawl_analyzer *a)
{
    if (a == NULL)
        return;
    if (a->stemmer != NULL)
        sb_stemmer_delete(a->stemmer);
    free(a->slots);
    free(a->pool);
    free(a->cps);
    free(a->fold);
    free(a);
}

const char *trawl_analyzer_language(const trawl_analyzer *a)
{
    return a->language;
}

/* ---- the stem memo ---- */

static inline uint64_t ld64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t ld32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* memcmp() == 0 for the short keys of the memo, in a few loads (which
 * overlap rather than pass the end). */
static inline int same_bytes(const unsigned char *x, const char *y, size_t n)
{
    const unsigned char *q = (const unsigned char *)y;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            if (ld64(x + i) != ld64(q + i))
                return 0;
        }
        return ld64(x + n - 8) == ld64(q + n - 8);
    }
    if (n >= 4)
        return ld32(x) == ld32(q) && ld32(x + n - 4) == ld32(q + n - 4);
    if (n == 0)
        return 1;
    return x[0] == q[0] && x[n / 2] == q[n / 2] && x[n - 1] == q[n - 1];
}

/*
 * The memo's hash of a folded form (only ever kept in memory): the same
 * overlapping loads, mixed by multiplication. Cheaper than XXH3 on these
 * short keys; the high half is the slot's tag.
 */
static inline uint64_t memo_hash(const void *key, size_t n)
{
    const unsigned char *p = key;
    const uint64_t k1 = 0x9e3779b97f4a7c15u, k2 = 0xc2b2ae3d27d4eb4fu;
    uint64_t a, b;
    if (n >= 8) {
        a = ld64(p);
        b = ld64(p + n - 8);
        for (size_t i = 8; i + 8 < n; i += 8)
            a = (a ^ ld64(p + i)) * k1;
    } else if (n >= 4) {
        a = ld32(p);
        b = ld32(p + n - 4);
    } else {
        a = n > 0 ? (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1]
                  : 0;
        b = 0;
    }
    uint64_t h = (a ^ n) * k1 ^ (b * k2 << 31 | b * k2 >> 33);
    h ^= h >> 32;
    h *= k2;
    h ^= h >> 29;
    return h;
}

/* A memo entry: u8 folded_len, u8 stem_len, u32 user slot (see
 * trawl_token.user), folded bytes, stem bytes. */
#define MEMO_HDR 6

static void memo_clear(trawl_analyzer *a)
{
    if (a->slots != NULL)
        memset(a->slots, 0, a->nslots * sizeof(*a->slots));
    a->count = 0;
    a->pool_len = 0;
}

static int memo_grow(trawl_analyzer *a)
{
    size_t n = a->nslots ? a->nslots * 2 : MEMO_MIN_SLOTS;
    memo_slot *s = calloc(n, sizeof(*s));
    if (s == NULL)
        return TRAWL_ENOMEM;
    for (size_t i = 0; i < a->nslots; i++) {
        memo_slot e = a->slots[i];
        if (e.off == 0)
            continue;
        const unsigned char *k = a->pool + e.off - 1;
        size_t j = memo_hash(k + MEMO_HDR, k[0]) & (n - 1);
        while (s[j].off != 0)
            j = (j + 1) & (n - 1);
        s[j] = e;
    }
    free(a->slots);
    a->slots = s;
    a->nslots = n;
    return 0;
}

/* The memo's miss: stem folded[0..len) (hash h) and insert it. */
static __attribute__((noinline)) int
stem_memo_miss(trawl_analyzer *a, const char *folded, size_t len, uint64_t h,
               const char **out);

/*
 * Stem folded[0..len) (len 1..TRAWL_MAX_TERM) through the memo. *out gets
 * a pointer valid until the next call; returns the stem length (>= 1) or
 * TRAWL_ENOMEM. Inline: the batch stemmer's every token looks up; a miss
 * (a form seen for the first time) goes out of line.
 */
static inline int stem_memo_h(trawl_analyzer *a, const char *folded,
                              size_t len, uint64_t h, const char **out)
{
    if (a->nslots != 0) {
        uint32_t tag = (uint32_t)(h >> 32);
        size_t mask = a->nslots - 1;
        size_t j = (size_t)h & mask;
        for (;;) {
            memo_slot e = a->slots[j];
            if (e.off == 0)
                break;
            const unsigned char *k = a->pool + e.off - 1;
            if (e.tag == tag && k[0] == len &&
                same_bytes(k + MEMO_HDR, folded, len)) {
                *out = (const char *)k + MEMO_HDR + len;
                a->user = a->pool + e.off + 1;
                return k[1];
            }
            j = (j + 1) & mask;
        }
    }
    return stem_memo_miss(a, folded, len, h, out);
}

static int stem_memo_miss(trawl_analyzer *a, const char *folded, size_t len,
                          uint64_t h, const char **out)
{
    uint32_t tag = (uint32_t)(h >> 32);
    size_t mask, j;

    const sb_symbol *st = sb_stemmer_stem(a->stemmer, (const sb_symbol *)folded,
                                          (int)len);
    if (st == NULL)
        return TRAWL_ENOMEM;
    size_t slen = (size_t)sb_stemmer_length(a->stemmer);
    if (slen == 0) {
        /* A stemmer that eats the whole token: keep the folded form. */
        st = (const sb_symbol *)folded;
        slen = len;
    } else if (slen > TRAWL_MAX_TERM) {
        slen = TRAWL_MAX_TERM;
        while (slen > 0 && (st[slen] & 0xc0) == 0x80)
            slen--;
    }

    /* Insert (after a clear or a grow, as needed). */
    size_t need = MEMO_HDR + len + slen;
    if (a->count + 1 > a->memo_entries || a->pool_len + need > a->memo_pool)
        memo_clear(a);
    if ((a->count + 1) * 2 > a->nslots) {
        if (memo_grow(a) < 0)
            return TRAWL_ENOMEM;
    }
    if (a->pool_len + need > a->pool_cap) {
        size_t cap = a->pool_cap ? a->pool_cap * 2 : 64 * 1024;
        while (cap < a->pool_len + need)
            cap *= 2;
        unsigned char *p = realloc(a->pool, cap);
        if (p == NULL)
            return TRAWL_ENOMEM;
        a->pool = p;
        a->pool_cap = cap;
    }
    unsigned char *k = a->pool + a->pool_len;
    k[0] = (unsigned char)len;
    k[1] = (unsigned char)slen;
    memset(k + 2, 0, 4);
    memcpy(k + MEMO_HDR, folded, len);
    memcpy(k + MEMO_HDR + len, st, slen);
    mask = a->nslots - 1;
    j = (size_t)h & mask;
    while (a->slots[j].off != 0)
        j = (j + 1) & mask;
    a->slots[j].tag = tag;
    a->slots[j].off = (uint32_t)(a->pool_len + 1);
    a->pool_len += need;
    a->count++;
    *out = (const char *)k + MEMO_HDR + len;
    a->user = k + 2;
    return (int)slen;
}

static int stem_memo(trawl_analyzer *a, const char *folded, size_t len,
                     const char **out)
{
    return stem_memo_h(a, folded, len, memo_hash(folded, len), out);
}

/* ---- folding ---- */

static utf8proc_int32_t fold_custom(utf8proc_int32_t cp, void *data)
{
    (void)data;
    if (cp == 0x2019 || cp == 0x2018 || cp == 0x02bc)
        return '\'';
    return cp;
}

/* Combining diacritics (accents, not script vowel signs or kana voicing
 * marks). */
static int is_accent(int32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
           (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
           (cp >= 0xfe20 && cp <= 0xfe2f);
}

/* Latin and Greek letters: the bases whose accents are folded away. */
static int is_accent_base(int32_t cp)
{
    return cp < 0x0250 || (cp >= 0x0370 && cp <= 0x03ff) ||
           (cp >= 0x1e00 && cp <= 0x1fff) || (cp >= 0x2c60 && cp <= 0x2c7f) ||
           (cp >= 0xa720 && cp <= 0xa7ff) || (cp >= 0xff00 && cp <= 0xff5f);
}

/* The scripts whose optional marks are folded away, by their base. */
enum { B_NONE, B_LATIN, B_HEBREW, B_ARABIC, B_CYRILLIC, B_OTHER };

static int base_of(int32_t cp)
{
    if (is_accent_base(cp))
        return B_LATIN;
    if (cp >= 0x05d0 && cp <= 0x05f2)
        return B_HEBREW;
    if ((cp >= 0x0620 && cp <= 0x06ff) || (cp >= 0x0750 && cp <= 0x077f))
        return B_ARABIC;
    if (cp >= 0x0400 && cp <= 0x04ff)
        return B_CYRILLIC;
    return B_OTHER;
}

/* Is the mark cp (category M*) on a base of kind b folded away? */
static int strip_mark(int32_t cp, int b)
{
    if (is_accent(cp))
        /* Cyrillic: only the stress marks (not й's breve, ё's
         * diaeresis) */
        return b == B_NONE || b == B_LATIN ||
               (b == B_CYRILLIC && (cp == 0x0300 || cp == 0x0301));
    if (cp >= 0x0591 && cp <= 0x05c7) /* Hebrew points and cantillation */
        return b == B_NONE || b == B_HEBREW;
    /* Arabic vowel marks (harakat), shadda, sukun, superscript alef and
     * the Quranic annotation marks */
    if ((cp >= 0x064b && cp <= 0x065f) || cp == 0x0670 ||
        (cp >= 0x06d6 && cp <= 0x06ed))
        return b == B_NONE || b == B_ARABIC;
    return 0;
}

/*
 * Drop optional marks from the decomposed (NFKD) code points cps[0..n)
 * and return the new count: accents on Latin and Greek letters (or on
 * nothing), stress marks on Cyrillic ones (Ударе́ние), Hebrew points
 * (niqqud: שָׁלוֹם = שלום) and Arabic vowel marks (مُحَمَّد = محمد), and
 * the tatweel that stretches Arabic words in headlines (العـــربية). This
 * is utf8proc's STRIPMARK narrowed down: stripping every mark would merge
 * Japanese kana (が -> か), drop Indic vowel signs and turn Cyrillic й
 * into и.
 */
static utf8proc_ssize_t strip_accents(int32_t *cps, utf8proc_ssize_t n)
{
    utf8proc_ssize_t o = 0;
    int base = B_NONE;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        int32_t cp = cps[i];
        if (cp == 0x0640)
            continue; /* tatweel */
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
            cat == UTF8PROC_CATEGORY_ME) {
            if (strip_mark(cp, base))
                continue;
        } else {
            base = base_of(cp);
        }
        cps[o++] = cp;
    }
    return o;
}

/* Cut a folded term to TRAWL_MAX_TERM bytes at a character boundary. */
static size_t clip_term(const char *s, size_t len)
{
    if (len <= TRAWL_MAX_TERM)
        return len;
    len = TRAWL_MAX_TERM;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    return len;
}

/*
 * Fold the (valid UTF-8) token s[0..n) into a->fold. Returns its length
 * clipped to TRAWL_MAX_TERM (0 if nothing is left, e.g. only marks), or
 * TRAWL_ENOMEM.
 */
static int fold_slow(trawl_analyzer *a, const char *s, size_t n, char *dst)
{
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                   UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                   UTF8PROC_IGNORE;
    utf8proc_ssize_t r;
    for (;;) {
        r = utf8proc_decompose_custom((const utf8proc_uint8_t *)s,
                                      (utf8proc_ssize_t)n, a->cps,
                                      (utf8proc_ssize_t)a->cps_cap, opts,
                                      fold_custom, NULL);
        if (r < 0)
            return r == UTF8PROC_ERROR_NOMEM ? TRAWL_ENOMEM : 0;
        if ((size_t)r <= a->cps_cap)
            break;
        size_t cap = a->cps_cap ? a->cps_cap : 64;
        while (cap < (size_t)r)
            cap *= 2;
        int32_t *p = realloc(a->cps, cap * sizeof(*p));
        if (p == NULL)
            return TRAWL_ENOMEM;
        a->cps = p;
        a->cps_cap = cap;
    }
    r = strip_accents(a->cps, r);
    r = utf8proc_normalize_utf32(a->cps, r, opts);
    if (r < 0)
        return 0;
    /* Encode only what can survive the clip (a character is <= 4 bytes). */
    size_t o = 0;
    for (utf8proc_ssize_t i = 0; i < r && o <= TRAWL_MAX_TERM; i++) {
        unsigned char tmp[4];
        utf8proc_ssize_t k = utf8proc_encode_char(a->cps[i], tmp);
        if (o + (size_t)k > TRAWL_MAX_TERM)
            break;
        memcpy(dst + o, tmp, (size_t)k);
        o += (size_t)k;
    }
    return (int)o;
}

/* Fold the token s[0..n) into dst (TRAWL_MAX_TERM bytes); ascii says it
 * has no byte >= 0x80. */
static inline int fold_token(trawl_analyzer *a, const char *s, size_t n,
                             int ascii, char *dst)
{
    if (ascii) {
        size_t m = n < TRAWL_MAX_TERM ? n : TRAWL_MAX_TERM;
        for (size_t i = 0; i < m; i++) {
            unsigned char c = (unsigned char)s[i];
            dst[i] = (char)((unsigned)(c - 'A') < 26u ? c + 32 : c);
        }
        return (int)m;
    }
    return fold_slow(a, s, n, dst);
}

/* ---- tokenizer ---- */

/*
 * The length of a dotted acronym at s (a letter): segments of one or two
 * letters each followed by '.', at least two of them and one of a single
 * letter ("U.S.", "U.S.A.", "e.g.", "J.R.R.", "Ph.D."); the last dot is
 * optional when every segment is a single letter ("U.S-led"). It ends
 * before a letter that would make a longer segment ("U.S.Army" gives
 * "U.S."). 0 when s starts none: a word, a domain ("x.com", "co.uk"), an
 * initial ("J. Smith").
 */
static size_t acronym_len(const unsigned char *s, size_t len)
{
    /* the common case first: a word of three or more ASCII letters */
    if (s[0] < 0x80 && !(len > 1 && s[1] == '.') &&
        !(len > 2 && s[2] == '.' && s[1] < 0x80))
        return 0;
    size_t i = 0, good = 0;
    int nseg = 0, single = 0, two = 0;
    for (;;) {
        size_t seg = i, n;
        int letters = 0, c = C_SEP;
        while (i < len && letters < 3) {
            c = s[i] < 0x80 ? ascii_class[s[i]]
                            : char_class(s + i, len - i, &n);
            if (s[i] < 0x80)
                n = 1;
            if (c == C_MARK && letters > 0) {
                i += n;
                continue;
            }
            if (c != C_LETTER)
                break;
            letters++;
            i += n;
        }
        /* one or two letters, then no letter or digit */
        if (letters == 0 || letters == 3 || c == C_DIGIT || c == C_CJK ||
            c == C_APOS) {
            i = seg;
            break;
        }
        nseg++;
        single += letters == 1;
        two += letters == 2;
        if (i < len && s[i] == '.') {
            i++;
            if (nseg >= 2 && single > 0)
                good = i;
            continue;
        }
        if (nseg >= 2 && single > 0 && two == 0)
            good = i; /* the last letter without its dot */
        break;
    }
    return good;
}

/*
 * A number written with thousands separators: 1 to 3 digits, then groups
 * of a comma and 3 digits, then perhaps a decimal part ("10,000",
 * "1,250,000", "1,000.5"; "3,5" and "1,00" are not). Folded without its
 * commas, so that 10000 finds it.
 */
static int grouped_number(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 4 && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0 || i > 3)
        return 0;
    int groups = 0;
    while (i < n && s[i] == ',') {
        if (n - i < 4)
            return 0;
        for (size_t k = 1; k <= 3; k++)
            if (s[i + k] < '0' || s[i + k] > '9')
                return 0;
        i += 4;
        groups++;
    }
    if (groups == 0 || (i < n && (s[i + 0] != '.' || i + 1 == n)))
        return 0;
    for (i = i < n ? i + 1 : i; i < n; i++) /* a decimal part: "1,000.5" */
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Fold an acronym's letters without its dots (acronym_len), or a
 * grouped number's digits without its commas: s without the bytes sep. */
static int fold_acronym(trawl_analyzer *a, const char *s, size_t n,
                        char *dst, char sep)
{
    char buf[TRAWL_MAX_TERM * 4 + 8];
    size_t m = 0;
    int ascii = 1;
    for (size_t i = 0; i < n && m < sizeof(buf); i++) {
        if (s[i] == sep)
            continue;
        ascii &= (unsigned char)s[i] < 0x80;
        buf[m++] = s[i];
    }
    /* cut at a character boundary if it was long */
    while (m > 0 && m < n && ((unsigned char)s[m] & 0xc0) == 0x80)
        m--;
    return fold_token(a, buf, m, ascii, dst);
}

/* The length of the apostrophe at s[i] ('\'', U+2018, U+2019, U+02BC;
 * s[0..end)), or 0. */
static inline size_t apos_len(const unsigned char *s, size_t i, size_t end)
{
    if (s[i] == '\'')
        return 1;
    if (end - i >= 2 && s[i] == 0xca && s[i + 1] == 0xbc)
        return 2;
    if (end - i >= 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
        (s[i + 2] == 0x98 || s[i + 2] == 0x99))
        return 3;
    return 0;
}

/* The token s[*from, *to), which has an apostrophe between letters: drop
 * an elided article before the first one, or (Turkish) the suffix after
 * it. */
static void elide(const trawl_analyzer *a, const unsigned char *s,
                  size_t *from, size_t *to)
{
    size_t i = *from, alen = 0;
    while (i < *to && (alen = apos_len(s, i, *to)) == 0)
        i++;
    if (alen == 0)
        return;
    if (a->elide == ELIDE_AFTER) {
        *to = i;
        return;
    }
    const char *const *list = elisions_of(a->language);
    size_t plen = i - *from;
    for (size_t k = 0; list != NULL && list[k] != NULL; k++) {
        if (strlen(list[k]) == plen &&
            strncasecmp((const char *)s + *from, list[k], plen) == 0) {
            *from = i + alen;
            return;
        }
    }
}

/* ---- hyphenated compounds ---- */

/* The length of the hyphen at s[i] ('-', U+2010 HYPHEN, U+2011
 * NON-BREAKING HYPHEN), or 0. */
static inline size_t hyphen_len(const unsigned char *s, size_t i, size_t len)
{
    if (s[i] == '-')
        return 1;
    if (s[i] == 0xe2 && len - i >= 3 && s[i + 1] == 0x80 &&
        (s[i + 2] == 0x90 || s[i + 2] == 0x91))
        return 3;
    return 0;
}

#define COMPOUND_PARTS 6  /* most parts of a compound */
#define COMPOUND_RAW 256  /* most bytes of its parts */

/*
 * The changes between a letter and a digit in the word s[from..to)
 * ("COVID19": 1, "h1n1": 3; marks, and the apostrophes and points that
 * join letters or digits, are not counted between them); *first gets
 * where the first one is (the first character after it), to if none.
 */
static size_t letter_digit_changes(const unsigned char *s, size_t from,
                                   size_t to, size_t *first)
{
    size_t nch = 0;
    int prev = C_SEP;
    *first = to;
    for (size_t i = from, n; i < to; i += n) {
        int cls = s[i] < 0x80 ? ascii_class[s[i]]
                              : char_class(s + i, to - i, &n);
        if (s[i] < 0x80)
            n = 1;
        if (cls != C_LETTER && cls != C_DIGIT)
            continue;
        if (prev != C_SEP && prev != cls && nch++ == 0)
            *first = i;
        prev = cls;
    }
    return nch;
}

/*
 * Words joined by hyphens ("e-mail", "COVID-19", "state-of-the-art") are
 * also written solid ("email", "covid19"): the chain that starts with
 * the plain word s[start..end) (letters, digits and marks only, followed
 * by a hyphen) gives one more term, its parts run together, at the
 * position of its first part. A part is a run of letters, digits and
 * marks after a hyphen (with any apostrophe that joins two of its
 * letters, left out: "x-O'Brien" is "xobrien"); the chain ends before a part that a point joins
 * to more ("x-U.S."), and needs 2 to COMPOUND_PARTS parts with a letter
 * among them ("1-0" and "2024-25" are not words). *cend gets where the
 * chain ends (the tokenizer forms no other compound before it), *parts
 * the number of parts. Returns the folded compound's length in dst, 0
 * for none, or TRAWL_ENOMEM.
 *
 * A change between a letter and a digit inside a word is a hyphen too
 * ("COVID19" is "COVID-19", "iPhone5s" "iPhone-5-s"), when the chain
 * split there has at most COMPOUND_PARTS parts: *split is then 1, the
 * chain (a single word is one too) gives its parts split so, and
 * *parts counts them. A longer one (a hash, an id: "a3f9c2e81b") is not
 * split, its words stay whole (*split 0), as they were before analyzer
 * 6. The compound is the same either way: the chain without hyphens.
 */
static int compound(trawl_analyzer *a, const unsigned char *s, size_t len,
                    size_t start, size_t end, size_t *cend, uint32_t *parts,
                    int *split, char *dst)
{
    unsigned char raw[COMPOUND_RAW];
    size_t rn = end - start, i = end, first;
    int ascii = 1, letter = 0, over = 0;
    uint32_t np = 1;
    *cend = end;
    *parts = 0;
    *split = 0;
    if (rn > sizeof(raw))
        return 0;
    uint32_t changes = (uint32_t)letter_digit_changes(s, start, end, &first);
    for (size_t k = start; k < end; k++) {
        ascii &= s[k] < 0x80;
        letter |= s[k] >= 0x80 || ascii_class[s[k]] == C_LETTER;
    }
    memcpy(raw, s + start, rn);
    for (;;) {
        size_t h, n;
        if (i >= len || (h = hyphen_len(s, i, len)) == 0 || i + h >= len)
            break;
        size_t j = i + h, k = j, pn = 0;
        int pl = 0, pa = 1, cls, prev = C_SEP, big = 0;
        uint32_t pch = 0; /* letter-digit changes in the part */
        while (k < len) {
            if (s[k] < 0x80) {
                cls = ascii_class[s[k]];
                n = 1;
            } else {
                cls = char_class(s + k, len - k, &n);
                pa = 0;
            }
            /* an apostrophe between letters joins them, as in a word
             * ("x-O'Brien" is "xobrien", not "xo"): the part is that
             * word, without its apostrophes */
            if (cls == C_APOS && prev == C_LETTER) {
                size_t n2;
                if (k + n < len &&
                    char_class(s + k + n, len - k - n, &n2) == C_LETTER) {
                    k += n;
                    continue;
                }
            }
            if (cls != C_LETTER && cls != C_DIGIT &&
                !(cls == C_MARK && k > j))
                break;
            if (cls != C_MARK) {
                pch += prev != C_SEP && prev != cls;
                prev = cls;
            }
            pl |= cls == C_LETTER;
            if (rn + pn + n <= sizeof(raw))
                memcpy(raw + rn + pn, s + k, n);
            else
                big = 1;
            pn += n;
            k += n;
        }
        if (k == j)
            break; /* no letter or digit after the hyphen */
        if (k < len && s[k] < 0x80 && ascii_class[s[k]] == C_POINT &&
            k + 1 < len && (s[k + 1] >= 0x80 ||
                            ascii_class[s[k + 1]] == C_LETTER ||
                            ascii_class[s[k + 1]] == C_DIGIT))
            break;
        if (np >= COMPOUND_PARTS || big)
            over = 1; /* too long for a word: none, nor inside it */
        else
            rn += pn;
        ascii &= pa;
        letter |= pl;
        changes += pch;
        np++;
        i = k;
    }
    *cend = i;
    if (over)
        return 0;
    *split = changes > 0 && np + changes <= COMPOUND_PARTS;
    uint32_t nparts = *split ? np + changes : np;
    if (nparts < 2 || !letter)
        return 0;
    int clen = fold_token(a, (const char *)raw, rn, ascii, dst);
    if (clen > 0)
        *parts = nparts;
    return clen;
}

/* Where the tokenizer's folded tokens go: a callback (after stemming, if
 * stem), or the end of a trawl_folded batch. */
typedef struct sink {
    int stem;
    trawl_token_cb cb;
    void *payload;
    trawl_folded *out;
} sink;

/* Room for two more folded tokens (a compound and its first part) at the
 * end of f->bytes and f->toks. */
#define FOLDED_ROOM (2 * TRAWL_MAX_TERM + 16)
static int folded_room(trawl_folded *f)
{
    if (f->cap - f->len < FOLDED_ROOM) {
        size_t cap = f->cap ? f->cap * 2 : 4096;
        if (f->len + FOLDED_ROOM > UINT32_MAX)
            return TRAWL_ETOOBIG;
        char *p = realloc(f->bytes, cap);
        if (p == NULL)
            return TRAWL_ENOMEM;
        f->bytes = p;
        f->cap = cap;
    }
    if (f->toks_cap - f->n < 2) {
        size_t cap = f->toks_cap ? f->toks_cap * 2 : 512;
        trawl_ftok *t = realloc(f->toks, cap * sizeof(*t));
        if (t == NULL)
            return TRAWL_ENOMEM;
        f->toks = t;
        f->toks_cap = cap;
    }
    return 0;
}

/* 1 if the compound x (folded) gives the same term as its first part y
 * ("ear-s": "ears" and "ear" both stem to "ear"; a first part of 64
 * bytes is its clipped compound): it then stands for nothing more, and
 * the part alone is kept. 0 if not, or TRAWL_ENOMEM. */
static __attribute__((noinline)) int
same_term(trawl_analyzer *a, int stem, const char *x, size_t xn,
                     const char *y, size_t yn)
{
    if (!stem || a->stemmer == NULL)
        return xn == yn && memcmp(x, y, xn) == 0;
    char sx[TRAWL_MAX_TERM + 8];
    const char *st;
    int k = stem_memo(a, x, xn, &st);
    if (k < 0)
        return k;
    memcpy(sx, st, (size_t)k);
    int m = stem_memo(a, y, yn, &st);
    if (m < 0)
        return m;
    return k == m && memcmp(sx, st, (size_t)k) == 0;
}

static int emit_before(trawl_analyzer *a, sink *out, char *cdst, size_t clen,
                       uint32_t parts, uint32_t pos, size_t start,
                       size_t cend, char *dst, size_t flen);

/*
 * A word with an apostrophe ("O'Brien", "don't", "aujourd'hui") is also
 * written without it ("OBrien", "dont"): before the word s[start..end),
 * folded at dst (flen bytes), its letters run together, at its position
 * (a compound of one part), unless that is the same term (the English
 * stemmer drops a possessive "'s" either way). 0, or the callback's
 * value or a negative code.
 */
static __attribute__((noinline)) int
emit_unapos(trawl_analyzer *a, sink *out, const unsigned char *s,
            size_t start, size_t end, uint32_t pos, char *dst, size_t flen)
{
    unsigned char raw[COMPOUND_RAW];
    size_t rn = 0;
    int ascii = 1, cut = 0;
    for (size_t k = start; k < end;) {
        size_t al = apos_len(s, k, end);
        if (al != 0) {
            k += al;
            cut = 1;
            continue;
        }
        if (rn == sizeof(raw))
            return 0;
        ascii &= s[k] < 0x80;
        raw[rn++] = s[k++];
    }
    if (!cut)
        return 0; /* an elided article took the apostrophe */
    char *cdst = a->fold + TRAWL_MAX_TERM + 8;
    int clen = fold_token(a, (const char *)raw, rn, ascii, cdst);
    if (clen <= 0)
        return clen;
    return emit_before(a, out, cdst, (size_t)clen, 1, pos, start, end, dst,
                       flen);
}

/* Is s[start..end) plain: letters, digits and marks only (not an
 * acronym, a number with a point, a word with an apostrophe, a Han or
 * kana character)? */
static int plain_word(const unsigned char *s, size_t start, size_t end)
{
    for (size_t k = start; k < end;) {
        size_t n;
        int cls = s[k] < 0x80 ? ascii_class[s[k]]
                              : char_class(s + k, end - k, &n);
        if (s[k] < 0x80)
            n = 1;
        if (cls != C_LETTER && cls != C_DIGIT && cls != C_MARK)
            return 0;
        k += n;
    }
    return 1;
}

/* What a word that may be split or start a chain gives (chain()). */
typedef struct chain_info {
    size_t cend;    /* where its compound ends */
    uint32_t parts; /* the compound's parts (0: no compound) */
    int clen;       /* the folded compound's length, at cdst */
    int split;      /* the word is split at its first letter-digit change */
} chain_info;

/*
 * The word s[start..end) (with an apostrophe if apos, a comma between
 * digits if comma, ASCII only if ascii) is followed by a hyphen, or has
 * a change between a letter and a digit (mixed), and no chain covers
 * it. If it is plain, it starts a chain (compound(): one word alone if
 * no hyphen follows), which *chain_end and, if it splits at its letter-digit
 * changes, *split_end get the end of. A word with a point or a comma
 * that joins digits ("3.5km", "v1.2.3") splits alone, its parts
 * standing for the word folded whole as it was before analyzer 6; a
 * word with an apostrophe ("O'Brien2") does not split. The compound
 * goes to cdst. 0, or TRAWL_ENOMEM.
 */
static __attribute__((noinline)) int
chain(trawl_analyzer *a, const unsigned char *s, size_t len, size_t start,
      size_t end, int mixed, int comma, int ascii, size_t *chain_end,
      size_t *split_end, char *cdst, chain_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    if (plain_word(s, start, end)) {
        ci->clen = compound(a, s, len, start, end, &ci->cend, &ci->parts,
                            &ci->split, cdst);
        if (ci->clen < 0)
            return ci->clen;
        *chain_end = ci->cend;
        if (ci->split)
            *split_end = ci->cend;
        ci->split &= mixed;
        return 0;
    }
    size_t first;
    size_t nch = mixed ? letter_digit_changes(s, start, end, &first) : 0;
    if (nch == 0 || nch + 1 > COMPOUND_PARTS)
        return 0;
    for (size_t k = start; k < end; k++)
        if (apos_len(s, k, end) != 0)
            return 0;
    int clen;
    if (comma && ascii && grouped_number(s + start, end - start))
        clen = fold_acronym(a, (const char *)s + start, end - start, cdst,
                            ',');
    else
        clen = fold_token(a, (const char *)s + start, end - start, ascii,
                          cdst);
    if (clen < 0)
        return clen;
    *split_end = end;
    ci->cend = end;
    ci->split = 1;
    ci->clen = clen;
    ci->parts = clen > 0 ? (uint32_t)nch + 1 : 0;
    return 0;
}

/*
 * Pass the compound cdst[0..clen) (folded, covering s[start..cend), of
 * parts words) to out at position pos, before the word whose folded form
 * is at dst (flen bytes) in a batch: unless it gives the same term as
 * that word. 0, or the callback's value or a negative code.
 */
static int emit_before(trawl_analyzer *a, sink *out, char *cdst, size_t clen,
                       uint32_t parts, uint32_t pos, size_t start,
                       size_t cend, char *dst, size_t flen)
{
    int same = same_term(a, out->stem, cdst, clen, dst, flen);
    if (same != 0)
        return same < 0 ? same : 0;
    trawl_folded *f = out->out;
    if (f != NULL) {
        /* the compound's bytes go before the first part's */
        memmove(dst + clen, dst, flen);
        memcpy(dst, cdst, clen);
        trawl_ftok *t = &f->toks[f->n++];
        t->off = (uint32_t)f->len;
        t->len = (uint32_t)clen | parts << 8;
        f->len += clen;
        return 0;
    }
    trawl_token tok;
    tok.term = cdst;
    tok.len = clen;
    tok.user = NULL;
    if (out->stem && a->stemmer != NULL) {
        const char *st;
        int k = stem_memo(a, cdst, clen, &st);
        if (k < 0)
            return k;
        tok.term = st;
        tok.len = (size_t)k;
        tok.user = a->user;
    }
    tok.pos = pos;
    tok.start = start;
    tok.end = cend;
    tok.parts = parts;
    return out->cb(out->payload, &tok);
}

static int tokenize(trawl_analyzer *a, const char *text, size_t len,
                    sink *out)
{
    const unsigned char *s = (const unsigned char *)text;
    /* chain_end: where the last chain (compound()) ends, no other
     * starts before it; split_end: before it, words split at each
     * change between a letter and a digit */
    size_t i = 0, chain_end = 0, split_end = 0;
    uint32_t pos = 0;
    int stem = out->stem;
    trawl_folded *f = out->out;

    if (a->fold == NULL) {
        /* a token's folded form, then a compound's (see compound()) */
        a->fold = malloc(2 * (TRAWL_MAX_TERM + 8));
        if (a->fold == NULL)
            return TRAWL_ENOMEM;
        a->fold_cap = TRAWL_MAX_TERM + 8;
    }
    if (a->stemmer == NULL)
        stem = 0;

    while (i < len) {
        size_t n;
        int cls;
        /* Skip separators; the ASCII ones one byte at a time. */
        if (s[i] < 0x80) {
            cls = ascii_class[s[i]];
            n = 1;
        } else {
            cls = char_class(s + i, len - i, &n);
        }
        /* A mark starts no token: an emoji's variation selector
         * (U+FE0F) before a word is not part of it. */
        if (cls != C_LETTER && cls != C_DIGIT && cls != C_CJK) {
            i += n;
            continue;
        }

        size_t start = i;
        char *dst = a->fold;
        if (f != NULL) {
            int rc = folded_room(f);
            if (rc < 0)
                return rc;
            dst = f->bytes + f->len;
        }
        int flen;
        size_t end;
        int hyph = 0; /* a hyphen follows the word */
        int apo = 0;  /* an apostrophe joined two of its letters */
        chain_info ci; /* its compound, if it starts a chain */
        ci.clen = 0;

        /* The fast path: a run of ASCII letters and digits that ends at
         * the end or at an ASCII separator (not ' . , which may join) is
         * the whole token; it is scanned, lowercased and copied in one
         * pass (OR 0x20 lowercases letters and keeps digits). Anything
         * else goes the general way, from the start. */
        if (ascii_word[s[i]]) {
            size_t j = i, m = 0;
            /* the digits seen (their high bits, or any bit): most
             * words have none, and need no look for letters */
            uint64_t dg = 0;
            /* Eight bytes at a time while they are all letters and
             * digits (dst has 8 bytes of slack past TRAWL_MAX_TERM). */
            while (len - j >= 8) {
                uint64_t v, lower, digits;
                memcpy(&v, s + j, 8);
                uint64_t stop = word_stops(v, &lower, &digits);
                size_t k = stop ? (size_t)__builtin_ctzll(stop) / 8 : 8;
                /* (the bits below the stop: the word's bytes' high
                 * bits) */
                dg |= digits & ((stop & -stop) - 1);
                if (m < TRAWL_MAX_TERM) {
                    memcpy(dst + m, &lower, 8);
                    m = m + k < TRAWL_MAX_TERM ? m + k : TRAWL_MAX_TERM;
                }
                j += k;
                if (k < 8)
                    break;
            }
            while (j < len && ascii_word[s[j]]) {
                dg |= s[j] <= '9';
                if (m < TRAWL_MAX_TERM)
                    dst[m++] = (char)(s[j] | 0x20);
                j++;
            }
            /* A word of three or more before a full stop or a comma
             * that ends it (no digit, letter or mark after it): no
             * acronym, number or apostrophe can join it. Letters and
             * digits together ("COVID19") go the general way, which
             * splits them. */
            if ((dg == 0 ||
                 (j - i <= TRAWL_MAX_TERM && !has_letter(dst, m))) &&
                (j == len || (s[j] < 0x80 && ascii_class[s[j]] == C_SEP) ||
                 ((s[j] == '.' || s[j] == ',') && j - i >= 3 &&
                  (j + 1 == len ||
                   (s[j + 1] < 0x80 && ascii_class[s[j + 1]] == C_SEP))))) {
                i = j;
                end = j;
                flen = (int)m;
                goto emit;
            }
        }

        int ascii = s[i] < 0x80;
        int prev = cls; /* class of the last letter/digit */
        int apos = 0;   /* an apostrophe joined two letters */
        int comma = 0;  /* a comma joined two digits */
        int mixed = 0;  /* a letter and a digit follow each other */
        size_t acro;
        /* (a part of a split word is no acronym: "1U.S." is 1 u s) */
        if (cls == C_LETTER && start >= split_end &&
            (acro = acronym_len(s + i, len - i)) > 0) {
            /* U.S., E.U., e.g.: one term without its dots (us, eu, eg),
             * as the same words written without them */
            end = i + acro;
            i = end;
            flen = fold_acronym(a, text + start, end - start, dst, '.');
            if (flen < 0)
                return flen;
            if (flen == 0)
                continue;
            goto emit;
        }
        i += n;
        if (cls == C_CJK) {
            /* One character, with the marks that follow it; a Hangul
             * syllable written as jamo is one too (NFKC composes it). */
            int32_t cp = 0;
            int hangul = utf8_decode(s + start, len - start, &cp) > 0 &&
                         is_hangul(cp);
            while (i < len && s[i] >= 0x80) {
                int k = utf8_decode(s + i, len - i, &cp);
                if (k < 0 ||
                    !((hangul && is_jamo_vt(cp)) ||
                      unicode_class(cp) == C_MARK))
                    break;
                i += (size_t)k;
            }
        } else {
            while (i < len) {
                unsigned char c = s[i];
                if (c < 0x80) {
                    cls = ascii_class[c];
                    n = 1;
                } else {
                    cls = char_class(s + i, len - i, &n);
                }
                if (cls == C_LETTER || cls == C_DIGIT) {
                    if (cls != prev) {
                        /* a change between a letter and a digit: the
                         * end of a part in a word that splits */
                        if (start < split_end)
                            break;
                        mixed = 1;
                    }
                    prev = cls;
                    ascii &= c < 0x80;
                    i += n;
                    continue;
                }
                if (cls == C_MARK) {
                    ascii = 0;
                    i += n;
                    continue;
                }
                if ((cls == C_APOS && prev == C_LETTER) ||
                    (cls == C_POINT && prev == C_DIGIT)) {
                    size_t n2;
                    if (i + n < len &&
                        char_class(s + i + n, len - i - n, &n2) == prev) {
                        if (c >= 0x80 || s[i + n] >= 0x80)
                            ascii = 0;
                        apos |= cls == C_APOS;
                        comma |= c == ',';
                        i += n + n2;
                        continue;
                    }
                }
                break;
            }
        }
        end = i;
        hyph = i < len && cls == C_HYPHEN;
        apo = apos;
        if (apos && a->elide != ELIDE_NONE)
            elide(a, s, &start, &end);
        /* A hyphen after a word, or a letter and a digit inside it: a
         * compound first, perhaps parts (see chain()). */
        if (__builtin_expect(hyph | mixed, 0) && start >= chain_end) {
            int rc = chain(a, s, len, start, end, mixed, comma, ascii,
                           &chain_end, &split_end,
                           a->fold + TRAWL_MAX_TERM + 8, &ci);
            if (rc < 0)
                return rc;
            if (ci.split) {
                /* the first part, up to the first change; the others
                 * are words of their own */
                size_t first;
                (void)letter_digit_changes(s, start, end, &first);
                end = i = first;
                apo = 0;
                comma = memchr(s + start, ',', end - start) != NULL;
                ascii = 1;
                for (size_t k = start; k < end; k++)
                    ascii &= s[k] < 0x80;
            }
        }
        if (comma && ascii && grouped_number(s + start, end - start))
            flen = fold_acronym(a, text + start, end - start, dst, ',');
        else
            flen = fold_token(a, text + start, end - start, ascii, dst);
        if (flen < 0)
            return flen;
        if (flen == 0)
            continue;

    emit:
        /* A chain's compound first (see chain()). */
        if (__builtin_expect(ci.clen > 0 && ci.parts > 0, 0)) {
            int rc = emit_before(a, out, a->fold + TRAWL_MAX_TERM + 8,
                                 (size_t)ci.clen, ci.parts, pos, start,
                                 ci.cend, dst, (size_t)flen);
            if (rc != 0)
                return rc;
        }
        /* (a word with an apostrophe is not plain: it starts no chain,
         * so at most two terms stand at one position) */
        if (__builtin_expect(apo, 0)) {
            int rc = emit_unapos(a, out, s, start, end, pos, dst,
                                 (size_t)flen);
            if (rc != 0)
                return rc;
        }
        if (f != NULL) {
            trawl_ftok *t = &f->toks[f->n++];
            t->off = (uint32_t)f->len;
            t->len = (uint32_t)flen;
            f->len += (size_t)flen;
            continue;
        }
        trawl_token tok;
        tok.term = a->fold;
        tok.len = (size_t)flen;
        tok.user = NULL;
        tok.parts = 0;
        if (stem) {
            const char *st;
            int k = stem_memo(a, a->fold, (size_t)flen, &st);
            if (k < 0)
                return k;
            tok.term = st;
            tok.len = (size_t)k;
            tok.user = a->user;
        }
        tok.pos = pos++;
        tok.start = start;
        tok.end = end;
        int rc = out->cb(out->payload, &tok);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int trawl__inside_word(const char *text, size_t len, size_t at)
{
    const unsigned char *s = (const unsigned char *)text;
    if (at == 0 || at >= len)
        return 0;
    size_t n;
    int after = char_class(s + at, len - at, &n);
    if (after != C_LETTER && after != C_DIGIT)
        return 0;
    /* the character before, over any marks */
    size_t b = at;
    while (b > 0) {
        size_t k = b - 1;
        while (k > 0 && b - k < 4 && (s[k] & 0xc0) == 0x80)
            k--;
        int before = char_class(s + k, b - k, &n);
        if (n != b - k)
            return 0; /* not a character that ends at b */
        if (before != C_MARK)
            return (before == C_LETTER || before == C_DIGIT) &&
                   before != after;
        b = k;
    }
    return 0;
}

static int analyze(trawl_analyzer *a, const char *text, size_t len,
                   int stem, trawl_token_cb cb, void *payload)
{
    sink out = {stem, cb, payload, NULL};
    return tokenize(a, text, len, &out);
}

int trawl_analyze_fold(trawl_analyzer *a, const char *text, size_t len,
                       trawl_folded *out)
{
    sink k = {0, NULL, NULL, out};
    return tokenize(a, text, len, &k);
}

void trawl_folded_clear(trawl_folded *f)
{
    f->len = 0;
    f->n = 0;
}

void trawl_folded_free(trawl_folded *f)
{
    free(f->bytes);
    free(f->toks);
    memset(f, 0, sizeof(*f));
}

size_t trawl_folded_footprint(const trawl_folded *f)
{
    return f->cap + f->toks_cap * sizeof(*f->toks);
}

/* How many tokens ahead the batch stemmer hashes tokens and prefetches
 * their memo slots (a power of two). */
#define PREFETCH_AHEAD 16

int trawl_analyze_stem_batch(trawl_analyzer *a, const trawl_folded *f,
                             size_t from, size_t to, trawl_token_cb cb,
                             void *payload)
{
    trawl_token tok;
    uint64_t hq[PREFETCH_AHEAD]; /* hashes of tokens [i, ahead) */
    size_t ahead = from;
    uint32_t ncpd = 0; /* compounds before token i in the range */
    tok.start = 0;
    tok.end = 0;
    tok.user = NULL;
    tok.parts = 0;
    for (size_t i = from; i < to; i++) {
        const trawl_ftok *t = &f->toks[i];
        uint32_t tlen = t->len;
        tok.term = f->bytes + t->off;
        tok.pos = (uint32_t)(i - from) - ncpd;
        if (__builtin_expect(tlen > 0xff, 0)) {
            /* a compound, at its first part's position (ncpd counts
             * it from the next token on) */
            tok.parts = tlen >> 8;
            tlen &= 0xff;
            ncpd++;
            /* fold gave it only if it differs from its first part:
             * stemmed, it may not */
            if (i + 1 < to) {
                const trawl_ftok *u = &f->toks[i + 1];
                int same = same_term(a, 1, tok.term, tlen,
                                     f->bytes + u->off, u->len & 0xff);
                if (same < 0)
                    return same;
                if (same) {
                    tok.parts = 0;
                    continue;
                }
            }
        }
        tok.len = tlen;
        if (a->stemmer != NULL) {
            /* Hash the tokens up to PREFETCH_AHEAD ahead and prefetch
             * their slots; prefetch the entry of the one halfway there,
             * whose slot should be in cache by now. */
            while (ahead < to && ahead < i + PREFETCH_AHEAD) {
                const trawl_ftok *u = &f->toks[ahead];
                uint64_t h = memo_hash(f->bytes + u->off, u->len & 0xff);
                hq[ahead % PREFETCH_AHEAD] = h;
                if (a->nslots != 0)
                    __builtin_prefetch(&a->slots[h & (a->nslots - 1)]);
                ahead++;
            }
            size_t half = i + PREFETCH_AHEAD / 2;
            if (half < ahead && a->nslots != 0) {
                uint32_t off =
                    a->slots[hq[half % PREFETCH_AHEAD] & (a->nslots - 1)].off;
                if (off != 0)
                    __builtin_prefetch(a->pool + off - 1);
            }
            const char *st;
            int k = stem_memo_h(a, tok.term, tlen,
                                hq[i % PREFETCH_AHEAD], &st);
            if (k < 0)
                return k;
            tok.term = st;
            tok.len = (size_t)k;
            tok.user = a->user;
        }
        int rc = cb(payload, &tok);
        if (rc != 0)
            return rc;
        tok.parts = 0;
    }
    return 0;
}

int trawl_analyze(trawl_analyzer *a, const char *text, size_t len,
                  trawl_token_cb cb, void *payload)
{
    return analyze(a, text, len, 1, cb, payload);
}

void trawl_analyzer_forget(trawl_analyzer *a)
{
    memo_clear(a);
}

void trawl_analyzer_limit(trawl_analyzer *a, size_t bytes)
{
    /* About a third for the slots (8 bytes, half full), the rest for the
     * entries (header, surface form and stem: ~24 bytes each). */
    if (bytes < (64u << 10))
        bytes = 64u << 10;
    if (bytes > (size_t)MEMO_MAX_POOL + MEMO_MAX_ENTRIES * 16u)
        bytes = (size_t)MEMO_MAX_POOL + MEMO_MAX_ENTRIES * 16u;
    a->memo_entries = bytes / 48;
    if (a->memo_entries > MEMO_MAX_ENTRIES)
        a->memo_entries = MEMO_MAX_ENTRIES;
    a->memo_pool = bytes - a->memo_entries * 16;
    if (a->memo_pool > MEMO_MAX_POOL)
        a->memo_pool = MEMO_MAX_POOL;
    memo_clear(a);
}

size_t trawl_analyzer_footprint(const trawl_analyzer *a)
{
    return a->nslots * sizeof(memo_slot) + a->pool_cap +
           a->cps_cap * sizeof(*a->cps) + a->fold_cap;
}

int trawl_analyze_folded(trawl_analyzer *a, const char *text, size_t len,
                         trawl_token_cb cb, void *payload)
{
    return analyze(a, text, len, 0, cb, payload);
}

int trawl_analyzer_stem(trawl_analyzer *a, const char *folded, size_t len,
                        char *out, size_t cap)
{
    if (!trawl_utf8_valid(folded, len))
        return TRAWL_EINVAL;
    len = clip_term(folded, len);
    if (len == 0)
        return 0;
    const char *st = folded;
    size_t slen = len;
    if (a->stemmer != NULL) {
        /* The memo keeps its own copy of the key; no scratch needed. */
        int k = stem_memo(a, folded, len, &st);
        if (k < 0)
            return k;
        slen = (size_t)k;
    }
    if (slen > cap)
        return TRAWL_ETOOBIG;
    memmove(out, st, slen);
    return (int)slen;
}
