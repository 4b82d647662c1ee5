/*
 * The id of a JSON Lines record in one pass, without a tree (jsonid.h).
 *
 * A recursive descent over RFC 8259 with jansson's extra rules
 * (JSON_REJECT_DUPLICATES, no JSON_ALLOW_NUL): strict UTF-8 (no
 * overlongs, no surrogates, nothing above U+10FFFF), no control
 * characters in strings, "\u0000" refused, surrogate escapes only in
 * pairs (trawl_article_parse_json reads those two, dropping NULs and
 * repairing lone surrogates: such a line is just parsed every time),
 * integers within long long, reals that
 * do not overflow a double, no duplicate keys in any object. The
 * recursion is bounded by JSONID_MAX_DEPTH; every read is bounded by the
 * end of the line.
 */
#include "jsonid.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    const unsigned char *p;
    size_t n;
} span;

typedef struct scanner {
    const unsigned char *p, *end;
    span keys[JSONID_MAX_KEYS]; /* keys of the open objects */
    int nkeys;
    jsonid *out;
    const unsigned char *key; /* the member the id is read from */
    size_t key_len;
    int id_state; /* 0: no id yet, 1: usable, -1: present but unusable */
} scanner;

enum { ID_NONE = 0, ID_OK = 1, ID_BAD = -1 };

static void skip_ws(scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Length of the valid UTF-8 sequence at p (p[0] >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned long v;

    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        n = 2;
        v = c & 0x1F;
    } else if (c < 0xF0) {
        n = 3;
        v = c & 0x0F;
    } else {
        n = 4;
        v = c & 0x07;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end,
                unsigned *out)
{
    unsigned v = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when no byte of x is zero. */
static int no_zero_byte(uint64_t x)
{
    return !((x - ONES) & ~x & HIGHS);
}

/* 1 when the 8 bytes at p are all printable ASCII other than '"' and
 * the backslash: nothing a string scan must look at. */
static int plain8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    if (x & HIGHS)
        return 0;
    /* with the high bits clear, x - 0x20 per byte borrows into a high bit
     * exactly for the bytes below 0x20 */
    if ((x - 0x20 * ONES) & HIGHS)
        return 0;
    return no_zero_byte(x ^ ('"' * ONES)) && no_zero_byte(x ^ ('\\' * ONES));
}

/*
 * s->p is at the opening quote. Moves past the closing quote and puts the
 * raw bytes between the quotes in *raw; *escaped tells whether they hold
 * a backslash. 0 or -1.
 */
static int scan_string(scanner *s, span *raw, int *escaped)
{
    const unsigned char *p = s->p + 1, *end = s->end;

    *escaped = 0;
    raw->p = p;
    for (;;) {
        /* the common case: printable ASCII, 8 bytes at a time */
        while (end - p >= 8 && plain8(p))
            p += 8;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return -1;
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return -1;
            p += n;
            continue;
        }
        /* a backslash */
        *escaped = 1;
        if (end - p < 2)
            return -1;
        c = p[1];
        if (c != 'u') {
            if (strchr("\"\\/bfnrt", (int)c) == NULL || c == '\0')
                return -1;
            p += 2;
            continue;
        }
        unsigned v, w;
        if (hex4(p + 2, end, &v) < 0 || v == 0)
            return -1;
        p += 6;
        if (v >= 0xDC00 && v <= 0xDFFF)
            return -1;
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (end - p < 2 || p[0] != '\\' || p[1] != 'u' ||
                hex4(p + 2, end, &w) < 0 || w < 0xDC00 || w > 0xDFFF)
                return -1;
            p += 6;
        }
    }
    raw->n = (size_t)(p - raw->p);
    s->p = p + 1;
    return 0;
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/*
 * A number at s->p. *is_int tells an integer; for one, its value goes to
 * *ival when ival is not NULL. 0, or -1 (bad syntax, out of range, or too
 * long to check cheaply).
 */
static int scan_number(scanner *s, int *is_int, long long *ival)
{
    const unsigned char *p = s->p, *end = s->end, *start = s->p;
    size_t int_digits = 0;
    int real = 0, exp = 0;
    char buf[64];

    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return -1;
    if (*p == '0') {
        p++;
        int_digits = 1;
    } else {
        while (p < end && is_digit(*p)) {
            p++;
            int_digits++;
        }
    }
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || !is_digit(*p))
            return -1;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = exp = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return -1;
        while (p < end && is_digit(*p))
            p++;
    }
    size_t n = (size_t)(p - start);
    s->p = p;
    *is_int = !real;
    if (!real) {
        /* 18 digits always fit a long long */
        if (int_digits <= 18 && ival == NULL)
            return 0;
        if (n >= sizeof(buf))
            return -1;
        memcpy(buf, start, n);
        buf[n] = '\0';
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return -1;
        if (ival != NULL)
            *ival = v;
        return 0;
    }
    if (!exp)
        return int_digits <= 300 ? 0 : -1; /* far below DBL_MAX */
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
        return -1;
    return 0;
}

static int scan_literal(scanner *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int scan_value(scanner *s, int depth);

/* memcmp(a, b, n) == 0 for the short keys compared once per line, without
 * the call. */
static int same_bytes(const unsigned char *a, const unsigned char *b,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* s->p at '{'. top: the record itself, whose id is noted. */
static int scan_object(scanner *s, int depth, int top)
{
    /* no key is SIZE_MAX bytes long: no id in a nested object */
    size_t id_len = top ? s->key_len : SIZE_MAX;
    if (depth > JSONID_MAX_DEPTH)
        return -1;
    int base = s->nkeys;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        span key;
        int escaped;
        if (s->p >= s->end || *s->p != '"' ||
            scan_string(s, &key, &escaped) < 0 || escaped)
            return -1; /* an escaped key could be the id or a duplicate */
        for (int i = base; i < s->nkeys; i++)
            if (s->keys[i].n == key.n && memcmp(s->keys[i].p, key.p, key.n) == 0)
                return -1;
        if (s->nkeys == JSONID_MAX_KEYS)
            return -1;
        s->keys[s->nkeys++] = key;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (key.n == id_len && same_bytes(key.p, s->key, key.n)) {
            unsigned c = *s->p;
            s->id_state = ID_BAD;
            if (c == '"') {
                span v;
                if (scan_string(s, &v, &escaped) < 0)
                    return -1;
                if (!escaped && v.n > 0) {
                    s->out->id = (const char *)v.p;
                    s->out->len = v.n;
                    s->id_state = ID_OK;
                }
            } else if (c == '-' || is_digit(c)) {
                int is_int;
                long long v = 0;
                if (scan_number(s, &is_int, &v) < 0)
                    return -1;
                if (is_int) {
                    int n = snprintf(s->out->num, sizeof(s->out->num), "%lld",
                                     v);
                    s->out->id = s->out->num;
                    s->out->len = (size_t)n;
                    s->id_state = ID_OK;
                }
            } else if (scan_value(s, depth) < 0) {
                return -1;
            }
        } else if (scan_value(s, depth) < 0) {
            return -1;
        }
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == '}') {
            s->p++;
            break;
        }
        if (*s->p != ',')
            return -1;
        s->p++;
        skip_ws(s);
    }
    s->nkeys = base;
    return 0;
}

/* s->p at '['. */
static int scan_array(scanner *s, int depth)
{
    if (depth > JSONID_MAX_DEPTH)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (scan_value(s, depth) < 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ']') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return -1;
        s->p++;
        skip_ws(s);
    }
}

/* A value at s->p (no leading white space), inside a container at depth. */
static int scan_value(scanner *s, int depth)
{
    span raw;
    int flag;

    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth + 1, 0);
    case '[':
        return scan_array(s, depth + 1);
    case '"':
        return scan_string(s, &raw, &flag);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s, &flag, NULL);
    }
}

/* Both entry points, inlined into each (the default one is called per
 * line). key_len > 0. */
static inline int find(const char *line, size_t len, const char *key,
                       size_t key_len, jsonid *out)
{
    scanner s;

    s.p = (const unsigned char *)line;
    s.end = s.p + len;
    s.nkeys = 0;
    s.out = out;
    s.key = (const unsigned char *)key;
    s.key_len = key_len;
    s.id_state = ID_NONE;
    out->id = NULL;
    out->len = 0;
    out->num[0] = '\0';

    skip_ws(&s);
    if (s.p < s.end && *s.p == '{' && scan_object(&s, 1, 1) == 0) {
        skip_ws(&s);
        if (s.p == s.end && s.id_state == ID_OK)
            return 1;
    }
    out->id = NULL;
    out->len = 0;
    return 0;
}

int jsonid_find_key(const char *line, size_t len, const char *key,
                    size_t key_len, jsonid *out)
{
    if (key_len == 0) {
        out->id = NULL;
        out->len = 0;
        out->num[0] = '\0';
        return 0; /* "": not looked for; the full parse decides */
    }
    return find(line, len, key, key_len, out);
}

int jsonid_find(const char *line, size_t len, jsonid *out)
{
    return find(line, len, "id", 2, out);
}
