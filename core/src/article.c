/*
 * Article parsers (plain text / Markdown, JSON Lines) and date handling.
 *
 * Dates are converted with our own days-from-civil arithmetic (proleptic
 * Gregorian calendar, UTC), so nothing depends on timegm() or TZ.
 */
#include "trawl/article.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "internal.h"
#include "trawl/analyze.h"

/* ---- calendar arithmetic ---- */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). Counts in 400-year
 * eras of 146097 days, with years starting in March so that the leap day
 * is the last day of a year. */
int64_t trawl__days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                           /* 0..399 */
    int64_t mp = m > 2 ? m - 3 : m + 9;                    /* 0..11 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;              /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;   /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void trawl_format_date(int64_t t, char out[11])
{
    if (t == TRAWL_NO_DATE) {
        out[0] = '\0';
        return;
    }
    int64_t days = t / 86400 - (t % 86400 < 0);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0) {
        memcpy(out, "0000-01-01", 11);
        return;
    }
    if (y > 9999) {
        memcpy(out, "9999-12-31", 11);
        return;
    }
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}

/* ---- date parsing ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static int cur_digits(cursor *c, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (c->p + n < c->end && n < max && c->p[n] >= '0' && c->p[n] <= '9') {
        v = v * 10 + (c->p[n] - '0');
        n++;
    }
    if (n < min)
        return -1;
    /* A longer run of digits than allowed is not this field. */
    if (c->p + n < c->end && c->p[n] >= '0' && c->p[n] <= '9')
        return -1;
    c->p += n;
    *out = v;
    return 0;
}

/* Exactly n digits, whatever follows. */
static int cur_fixed(cursor *c, int n, int *out)
{
    int v = 0;
    if (c->end - c->p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return -1;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return 0;
}

static int cur_char(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static void cur_spaces(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int make_time(int64_t y, int m, int d, int hh, int mm, int ss,
                     int64_t *out)
{
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || hh > 23 ||
        mm > 59 || ss > 60)
        return -1;
    *out = trawl__days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 +
           ss;
    return 0;
}

/* "HH:MM[:SS[.fff]]" */
static int parse_clock(cursor *c, int *hh, int *mm, int *ss)
{
    *ss = 0;
    if (cur_digits(c, 1, 2, hh) < 0 || !cur_char(c, ':') ||
        cur_digits(c, 2, 2, mm) < 0)
        return -1;
    if (cur_char(c, ':')) {
        if (cur_digits(c, 2, 2, ss) < 0)
            return -1;
        if (c->p < c->end && *c->p == '.') {
            c->p++;
            int frac;
            if (cur_digits(c, 1, 9, &frac) < 0)
                return -1;
        }
    }
    return 0;
}

static size_t cur_word(cursor *c, char *buf, size_t cap);

/*
 * An optional time zone after a time of day, at c: "Z", "+hh", "+hhmm",
 * "+hh:mm" (or '-') right after it or after spaces ("2016-03-20 12:00:00
 * -0500", as Jekyll writes dates), or after spaces UTC, GMT, UT or one of
 * RFC 2822's North American names (EST, EDT, CST, CDT, MST, MDT, PST,
 * PDT). *off gets the offset east of UTC in seconds; c is moved past the
 * zone only if there is one. -1 on a malformed offset right after the
 * time ("12:00+5x").
 */
static int parse_zone(cursor *c, int64_t *off)
{
    static const struct {
        const char *name;
        int hours;
    } names[] = {{"utc", 0},  {"gmt", 0},  {"ut", 0},   {"z", 0},
                 {"est", -5}, {"edt", -4}, {"cst", -6}, {"cdt", -5},
                 {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};
    cursor z = *c;
    *off = 0;
    if (cur_char(&z, 'Z') || cur_char(&z, 'z')) {
        *c = z;
        return 0;
    }
    int spaced = z.p < z.end && (*z.p == ' ' || *z.p == '\t');
    cur_spaces(&z);
    if (z.p < z.end && (*z.p == '+' || *z.p == '-')) {
        int sign = *z.p++ == '-' ? -1 : 1, oh, om = 0;
        if (cur_fixed(&z, 2, &oh) < 0)
            return spaced ? 0 : -1;
        if (cur_char(&z, ':')) {
            if (cur_fixed(&z, 2, &om) < 0)
                return spaced ? 0 : -1;
        } else if (z.p < z.end && *z.p >= '0' && *z.p <= '9') {
            if (cur_fixed(&z, 2, &om) < 0)
                return spaced ? 0 : -1;
        }
        if (oh > 23 || om > 59)
            return spaced ? 0 : -1;
        *off = sign * (oh * 3600 + om * 60);
        *c = z;
        return 0;
    }
    if (!spaced)
        return 0;
    char w[8];
    size_t n = cur_word(&z, w, sizeof(w));
    for (size_t i = 0; n > 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(w, names[i].name) == 0) {
            *off = names[i].hours * 3600;
            *c = z;
            return 0;
        }
    }
    return 0;
}

static void zone_names(cursor *c);

/* An ISO 8601 date at c; on success c is just past it. */
static int parse_iso(cursor *c, int64_t *out)
{
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int64_t off = 0;
    if (cur_digits(c, 4, 4, &y) < 0 || !cur_char(c, '-') ||
        cur_digits(c, 2, 2, &m) < 0 || !cur_char(c, '-') ||
        cur_digits(c, 2, 2, &d) < 0)
        return -1;
    if (c->p < c->end && (*c->p == 'T' || *c->p == 't' ||
                          (*c->p == ' ' && c->p + 1 < c->end &&
                           c->p[1] >= '0' && c->p[1] <= '9'))) {
        c->p++;
        const char *z = NULL;
        if (parse_clock(c, &hh, &mm, &ss) < 0 ||
            (z = c->p, parse_zone(c, &off)) < 0)
            return -1;
        if (c->p > z)
            zone_names(c);
    }
    if (make_time(y, m, d, hh, mm, ss, out) < 0)
        return -1;
    *out -= off;
    return 0;
}

/*
 * RFC 9557's suffixes after a time with its offset, as Java's
 * ZonedDateTime writes it ("2024-02-29T23:59:59+01:00[Europe/Paris]",
 * also "[u-ca=hebrew]" and "[!...]"): skipped, the offset given stands
 * for the time (as RFC 9557 says when they agree). At most four, of at
 * most 64 bytes of letters, digits and "/_+-=!.:" each; c moves past
 * those only.
 */
static void zone_names(cursor *c)
{
    for (int k = 0; k < 4 && c->p < c->end && *c->p == '['; k++) {
        const char *p = c->p + 1;
        while (p < c->end && p - c->p <= 64 &&
               ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || strchr("/_+-=!.:", *p) != NULL))
            p++;
        if (p >= c->end || *p != ']' || p == c->p + 1)
            return;
        c->p = p + 1;
    }
}

/* ISO 8601's basic form, as some feeds write it: "20240229", or with a
 * time "20240229T235959" / "20240229T2359", with a zone ("Z", "+0100")
 * or none (UTC). The whole of s[0..len). */
static int parse_iso_basic(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, s + len};
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int64_t off = 0;
    if (cur_fixed(&c, 4, &y) < 0 || cur_fixed(&c, 2, &m) < 0 ||
        cur_fixed(&c, 2, &d) < 0)
        return -1;
    if (c.p < c.end && (*c.p == 'T' || *c.p == 't')) {
        c.p++;
        if (cur_fixed(&c, 2, &hh) < 0 || cur_fixed(&c, 2, &mm) < 0)
            return -1;
        if (c.p + 1 < c.end && c.p[0] >= '0' && c.p[0] <= '9' &&
            cur_fixed(&c, 2, &ss) < 0)
            return -1;
        const char *z = c.p;
        if (parse_zone(&c, &off) < 0)
            return -1;
        if (c.p > z)
            zone_names(&c);
    }
    if (c.p != c.end || make_time(y, m, d, hh, mm, ss, out) < 0)
        return -1;
    *out -= off;
    return 0;
}

int trawl_parse_iso_date(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, s + len};
    int64_t t;
    if (parse_iso(&c, &t) < 0 || c.p != c.end)
        return TRAWL_EINVAL;
    *out = t;
    return 0;
}

/* A JSON Lines "date" string: ISO 8601 (a day, or a day and time), the
 * forms trawl_parse_loose_date reads (RFC 2822 "Tue, 14 Nov 2023 08:12:00
 * +0000", "November 14, 2023", 2023/11/14), or a month or a year alone
 * ("2023-11", "2023": its first day). */
static int parse_dashed(const char *s, size_t len, int64_t *out);

static int parse_json_date(const char *s, size_t len, int64_t *out)
{
    if (trawl_parse_iso_date(s, len, out) == 0 ||
        trawl_parse_loose_date(s, len, out) == 0 ||
        parse_iso_basic(s, len, out) == 0 || parse_dashed(s, len, out) == 0)
        return 0;
    cursor c = {s, s + len};
    int y, m = 1;
    if (cur_digits(&c, 4, 4, &y) < 0)
        return TRAWL_EINVAL;
    if (cur_char(&c, '-') && cur_digits(&c, 2, 2, &m) < 0)
        return TRAWL_EINVAL;
    if (c.p != c.end || make_time(y, m, 1, 0, 0, 0, out) < 0)
        return TRAWL_EINVAL;
    return 0;
}

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

static const char *const weekday_names[7] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday"};

static int ascii_lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Read a word of ASCII letters at c into buf (lowercased). */
static size_t cur_word(cursor *c, char *buf, size_t cap)
{
    size_t n = 0;
    const char *p = c->p;
    while (p < c->end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        if (n + 1 >= cap)
            return 0;
        buf[n++] = (char)ascii_lower(*p++);
    }
    buf[n] = '\0';
    c->p = p;
    return n;
}

/* A month name, full or abbreviated to >= 3 letters ("Sept" too),
 * optionally followed by '.'. Returns 1..12 or -1. */
static int parse_month(cursor *c)
{
    cursor save = *c;
    char w[16];
    size_t n = cur_word(c, w, sizeof(w));
    if (n >= 3) {
        for (int i = 0; i < 12; i++) {
            if (strncmp(month_names[i], w, n) == 0) {
                cur_char(c, '.');
                return i + 1;
            }
        }
    }
    *c = save;
    return -1;
}

static void skip_weekday(cursor *c)
{
    cursor save = *c;
    char w[16];
    size_t n = cur_word(c, w, sizeof(w));
    if (n >= 3) {
        for (int i = 0; i < 7; i++) {
            if (strncmp(weekday_names[i], w, n) == 0) {
                cur_char(c, '.');
                cur_char(c, ',');
                cur_spaces(c);
                return;
            }
        }
    }
    *c = save;
}

/* Day of month with an optional ordinal suffix ("17th"). */
static int parse_day(cursor *c, int *d)
{
    if (cur_digits(c, 1, 2, d) < 0)
        return -1;
    if (c->end - c->p >= 2) {
        char a = (char)ascii_lower(c->p[0]), b = (char)ascii_lower(c->p[1]);
        if ((a == 's' && b == 't') || (a == 'n' && b == 'd') ||
            (a == 'r' && b == 'd') || (a == 't' && b == 'h'))
            c->p += 2;
    }
    return 0;
}

/*
 * A loose date at c: ISO, "YYYY/MM/DD", "[Weekday,] Month[.] D[,] YYYY" or
 * "[Weekday,] D Month[.][,] YYYY", then an optional ", HH:MM[:SS]" with an
 * optional AM/PM. On success c is just past what was read.
 */
static int parse_loose(cursor *c, int64_t *out)
{
    cursor save = *c;
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int64_t off = 0;

    cur_spaces(c);
    if (parse_iso(c, out) == 0)
        return 0;
    *c = save;
    cur_spaces(c);
    {
        cursor t = *c;
        if (cur_digits(&t, 4, 4, &y) == 0 && cur_char(&t, '/') &&
            cur_digits(&t, 1, 2, &m) == 0 && cur_char(&t, '/') &&
            cur_digits(&t, 1, 2, &d) == 0) {
            *c = t;
            goto have_date;
        }
    }
    skip_weekday(c);
    if ((m = parse_month(c)) > 0) {
        cur_spaces(c);
        if (parse_day(c, &d) < 0)
            goto fail;
    } else {
        if (parse_day(c, &d) < 0)
            goto fail;
        cur_spaces(c);
        if ((m = parse_month(c)) < 0)
            goto fail;
    }
    cur_char(c, ',');
    cur_spaces(c);
    if (cur_digits(c, 4, 4, &y) < 0) {
        /* The year after the time: date(1), asctime() and Twitter's
         * created_at ("Wed Dec 17 08:34:00 [UTC|+0000] 2025"). */
        cursor t = *c;
        if (parse_clock(&t, &hh, &mm, &ss) < 0 ||
            parse_zone(&t, &off) < 0)
            goto fail;
        cur_spaces(&t);
        if (cur_digits(&t, 4, 4, &y) < 0 ||
            make_time(y, m, d, hh, mm, ss, out) < 0)
            goto fail;
        *out -= off;
        *c = t;
        return 0;
    }

have_date:
    {
        /* Optional time of day. */
        cursor t = *c;
        cur_char(&t, ',');
        cur_spaces(&t);
        if (cur_char(&t, 'a') || cur_char(&t, 'A')) {
            if (!(cur_char(&t, 't') || cur_char(&t, 'T')))
                t = *c;
            cur_spaces(&t);
        }
        int h2, m2, s2;
        if (parse_clock(&t, &h2, &m2, &s2) == 0) {
            cursor u = t;
            cur_spaces(&u);
            char w[8];
            cursor v = u;
            size_t n = cur_word(&v, w, sizeof(w));
            if (n == 2 && (strcmp(w, "am") == 0 || strcmp(w, "pm") == 0)) {
                if (h2 < 1 || h2 > 12)
                    goto fail;
                h2 = h2 % 12 + (w[0] == 'p' ? 12 : 0);
                t = v;
            }
            hh = h2;
            mm = m2;
            ss = s2;
            *c = t;
            /* An optional zone (RFC 2822 and the like): +hhmm, -hh:mm,
             * UTC, GMT, EST, ... Other names are left as trailing text. */
            if (parse_zone(c, &off) < 0)
                off = 0;
        }
    }
    if (make_time(y, m, d, hh, mm, ss, out) < 0)
        goto fail;
    *out -= off;
    return 0;
fail:
    *c = save;
    return -1;
}

int trawl_parse_loose_date(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, s + len};
    int64_t t;
    if (parse_loose(&c, &t) < 0)
        return TRAWL_EINVAL;
    /* Allow trailing spaces and punctuation ("08:34,"), nothing else. */
    while (c.p < c.end && strchr(" \t\r\n,.;", *c.p) != NULL && *c.p != '\0')
        c.p++;
    if (c.p != c.end)
        return TRAWL_EINVAL;
    *out = t;
    return 0;
}

/*
 * "26-FEB-1987 15:01:01.79": a day, a month's name and a year joined by
 * hyphens (Reuters-21578's <DATE>, Oracle's DD-MON-YYYY), then an
 * optional time of day and zone. The month is a name, so the order is
 * certain. JSON Lines dates only: a text file's reading stays as it was.
 */
static int parse_dashed(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, s + len};
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int64_t off = 0;
    cur_spaces(&c); /* " 1-MAR-1987": Reuters pads the day */
    if (cur_digits(&c, 1, 2, &d) < 0 || !cur_char(&c, '-') ||
        (m = parse_month(&c)) < 0 || !cur_char(&c, '-') ||
        cur_digits(&c, 4, 4, &y) < 0)
        return TRAWL_EINVAL;
    cursor t = c;
    cur_spaces(&t);
    if (t.p > c.p && parse_clock(&t, &hh, &mm, &ss) == 0) {
        c = t;
        if (parse_zone(&c, &off) < 0)
            return TRAWL_EINVAL;
    }
    cur_spaces(&c);
    if (c.p != c.end || make_time(y, m, d, hh, mm, ss, out) < 0)
        return TRAWL_EINVAL;
    *out -= off;
    return 0;
}

/* ---- shared helpers ---- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void trawl_article_clear(trawl_article *a)
{
    if (a == NULL)
        return;
    free(a->id);
    free(a->title);
    free(a->body);
    free(a->author);
    free(a->url);
    free(a->extra);
    memset(a, 0, sizeof(*a));
    a->date = TRAWL_NO_DATE;
}

static void article_init(trawl_article *a)
{
    memset(a, 0, sizeof(*a));
    a->date = TRAWL_NO_DATE;
}

/* ---- plain text ---- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

typedef struct span {
    const char *p;
    size_t n;
} span;

static span trim(const char *p, size_t n)
{
    while (n > 0 && is_space(*p)) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    return (span){p, n};
}

/* The line starting at p (without its '\n'); *next gets the next line. */
static span line_at(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) {
        *next = end;
        return (span){p, (size_t)(end - p)};
    }
    *next = nl + 1;
    return (span){p, (size_t)(nl - p)};
}

static int span_ieq(span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(s.p[i]) != lit[i])
            return 0;
    }
    return 1;
}

/* A YAML front matter value without its quotes. */
static span unquote(span v)
{
    if (v.n >= 2 && ((v.p[0] == '"' && v.p[v.n - 1] == '"') ||
                     (v.p[0] == '\'' && v.p[v.n - 1] == '\'')))
        return trim(v.p + 1, v.n - 2);
    return v;
}

/* Lines of site navigation that some saved pages start with. */
static int is_boilerplate(span t)
{
    return span_ieq(t, "go to contents") || span_ieq(t, "skip to content") ||
           span_ieq(t, "skip to main content");
}

enum { H_NONE = -1, H_OTHER = 0, H_TITLE, H_DATE, H_AUTHOR, H_URL };

/* Which field a header or front matter key gives: "date" and the names
 * static site generators use for it (Astro's pubDate, Hugo's
 * publishDate; the first date key that reads as a date wins). */
static int key_kind(span key)
{
    if (span_ieq(key, "title"))
        return H_TITLE;
    if (span_ieq(key, "date") || span_ieq(key, "pubdate") ||
        span_ieq(key, "publishdate") || span_ieq(key, "published"))
        return H_DATE;
    if (span_ieq(key, "author") || span_ieq(key, "authors"))
        return H_AUTHOR;
    if (span_ieq(key, "url"))
        return H_URL;
    return H_OTHER;
}

/* If line is "Key: value" (key of ASCII letters, digits, '-', '_'),
 * return which key (H_OTHER for an unknown one) and its trimmed value. */
static int header_line(span line, span *value)
{
    size_t i = 0;
    while (i < line.n && ((line.p[i] >= 'a' && line.p[i] <= 'z') ||
                          (line.p[i] >= 'A' && line.p[i] <= 'Z') ||
                          (i > 0 && ((line.p[i] >= '0' && line.p[i] <= '9') ||
                                     line.p[i] == '-' || line.p[i] == '_'))))
        i++;
    if (i == 0 || i >= line.n || line.p[i] != ':')
        return H_NONE;
    span key = {line.p, i};
    *value = trim(line.p + i + 1, line.n - i - 1);
    return key_kind(key);
}

/* Whether header line l's key is k (lower case). */
static int mail_key(span l, const char *k)
{
    size_t n = strlen(k);
    return l.n > n && l.p[n] == ':' && span_ieq((span){l.p, n}, k);
}

/* The keys of a mail or news message's header (RFC 5322, RFC 5536), as
 * archives keep them: 20 Newsgroups, Usenet and mailing list dumps. */
static const char *const mail_keys[] = {
    "from", "subject", "newsgroups", "message-id", "path", "organization",
    "lines", "references", "sender", "to", "cc", "reply-to", "xref",
    "in-reply-to", "nntp-posting-host", "mime-version", "content-type",
    "received", "return-path", "followup-to", "distribution", "keywords",
    "summary", "x-newsreader", "x-mailer", "date"};

/*
 * Whether the block of lines at p (up to a blank line) is a mail or news
 * message's header: every line "Key: value" or folded (starting with a
 * space or tab, after the first), "From" or "Subject" among the keys,
 * and at least two keys of mail_keys. A header of an article's own keys
 * (Title, Date, Author, URL) with a "From: " among them is one too, read
 * the same way.
 */
static int mail_header(const char *p, const char *end)
{
    unsigned seen = 0, named = 0;
    const char *next, *q;
    for (q = p; q < end; q = next) {
        span l = line_at(q, end, &next);
        span v;
        if (trim(l.p, l.n).n == 0)
            break;
        if (header_line(l, &v) == H_NONE) {
            if (q == p || !is_space(l.p[0]))
                return 0;
            continue;
        }
        for (size_t k = 0; k < sizeof(mail_keys) / sizeof(mail_keys[0]);
             k++) {
            if (mail_key(l, mail_keys[k]) && !(seen >> k & 1)) {
                seen |= 1u << k;
                named += k < 2;
            }
        }
    }
    if (named == 0 || __builtin_popcount(seen) < 2)
        return 0;
    /* Without a Subject and with nothing after it, such a block would
     * leave no title and no body: a short note of "Key: value" lines
     * ("From: Ann", "To: Bob", "Re: lunch") stays text, read as before. */
    if (!(seen >> 1 & 1)) {
        for (; q < end; q++)
            if (*q != '\n' && !is_space(*q))
                return 1;
        return 0;
    }
    return 1;
}

/*
 * The name in a From: value: "John Doe <jdoe@example.edu>" and
 * "jdoe@example.edu (John Doe)" give "John Doe" (its quotes dropped), a
 * bare address itself ("<...>" without the brackets).
 */
static span mail_name(span v)
{
    const char *lt = memchr(v.p, '<', v.n);
    if (lt != NULL && lt > v.p) {
        span n = unquote(trim(v.p, (size_t)(lt - v.p)));
        if (n.n > 0)
            return n;
    }
    if (v.n > 2 && v.p[v.n - 1] == ')') {
        const char *lp = memchr(v.p, '(', v.n);
        if (lp != NULL) {
            span n = unquote(trim(lp + 1, (size_t)(v.p + v.n - 1 - lp - 1)));
            if (n.n > 0)
                return n;
        }
    }
    if (lt != NULL) {
        const char *gt = memchr(lt, '>', (size_t)(v.p + v.n - lt));
        if (gt != NULL)
            return trim(lt + 1, (size_t)(gt - lt - 1));
    }
    return v;
}

/*
 * A mail Date: as RFC 822 wrote them, with a two-digit year ("5 Apr 93
 * 12:00:00 GMT": 00-49 are 2000-2049, 50-99 are 1950-1999, RFC 5322 4.3)
 * or four, and a zone's name in a comment after the offset ("-0400
 * (EDT)").
 */
static int parse_mail_date(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, s + len};
    int y, m, d, hh = 0, mm = 0, ss = 0;
    int64_t off = 0;
    cur_spaces(&c);
    skip_weekday(&c);
    if (parse_day(&c, &d) < 0)
        return TRAWL_EINVAL;
    cur_spaces(&c);
    if ((m = parse_month(&c)) < 0)
        return TRAWL_EINVAL;
    cur_spaces(&c);
    const char *ys = c.p;
    if (cur_digits(&c, 2, 4, &y) < 0 || c.p - ys == 3)
        return TRAWL_EINVAL;
    if (c.p - ys == 2)
        y += y < 50 ? 2000 : 1900;
    cur_spaces(&c);
    if (c.p < c.end && parse_clock(&c, &hh, &mm, &ss) == 0 &&
        parse_zone(&c, &off) < 0)
        off = 0;
    while (c.p < c.end && strchr(" \t\r\n,.;", *c.p) != NULL && *c.p != '\0')
        c.p++;
    /* A zone's comment ("(EDT)") and nothing else may follow. */
    if (c.p < c.end && *c.p == '(' && c.end[-1] == ')')
        c.p = c.end;
    if (c.p != c.end || make_time(y, m, d, hh, mm, ss, out) < 0)
        return TRAWL_EINVAL;
    *out -= off;
    return 0;
}

/* "Posted <date>", "Published <date>", "Updated <date>" (with an optional
 * ':' or "on" after the keyword); the date may be followed by anything. */
static int dated_line(span line, int64_t *out)
{
    static const char *const keys[] = {"posted", "published", "updated"};
    span t = trim(line.p, line.n);
    cursor c = {t.p, t.p + t.n};
    char w[16];
    size_t n = cur_word(&c, w, sizeof(w));
    int hit = 0;
    for (size_t i = 0; i < 3 && n > 0; i++)
        hit |= strcmp(w, keys[i]) == 0;
    if (!hit)
        return -1;
    cur_char(&c, ':');
    cur_spaces(&c);
    cursor on = c;
    if (cur_word(&on, w, sizeof(w)) == 2 && strcmp(w, "on") == 0) {
        c = on;
        cur_spaces(&c);
    }
    if (parse_loose(&c, out) < 0)
        return -1;
    /* The date must end at a word boundary. */
    if (c.p < c.end && ((*c.p >= '0' && *c.p <= '9') ||
                        (*c.p >= 'a' && *c.p <= 'z') ||
                        (*c.p >= 'A' && *c.p <= 'Z')))
        return -1;
    return 0;
}

/* Strip a Markdown ATX heading marker ("# Title" -> "Title"). */
/*
 * A title line without its Markdown: "# " before it and an ATX closing
 * "##" after it, emphasis around all of it ("**Title**", "_Title_"), a
 * link that is all of it ("[Title](url)": its text). Titles showed them.
 */
static span strip_heading(span t)
{
    size_t i = 0;
    while (i < t.n && i < 6 && t.p[i] == '#')
        i++;
    if (i > 0 && i < t.n && (t.p[i] == ' ' || t.p[i] == '\t')) {
        t = trim(t.p + i, t.n - i);
        size_t e = t.n;
        while (e > 0 && t.p[e - 1] == '#')
            e--;
        if (e < t.n && e > 0 && (t.p[e - 1] == ' ' || t.p[e - 1] == '\t'))
            t = trim(t.p, e);
    }
    for (size_t k = 2; k >= 1; k--) {
        if (t.n > 2 * k && (t.p[0] == '*' || t.p[0] == '_') &&
            memcmp(t.p, t.p + t.n - k, k) == 0 &&
            (k == 1 || t.p[1] == t.p[0]) && t.p[t.n - 1] == t.p[0] &&
            t.p[k] != ' ' && t.p[t.n - k - 1] != ' ') {
            t = trim(t.p + k, t.n - 2 * k);
            break;
        }
    }
    if (t.n > 4 && t.p[0] == '[' && t.p[t.n - 1] == ')') {
        const char *mid = NULL;
        for (size_t j = 1; j + 1 < t.n; j++) {
            if (t.p[j] == ']') {
                if (t.p[j + 1] == '(')
                    mid = t.p + j;
                break;
            }
        }
        /* the "(url)" runs to the end: no space or ')' inside it */
        if (mid != NULL) {
            for (const char *q = mid + 2; q < t.p + t.n - 1; q++) {
                if (*q == ')' || *q == ' ') {
                    mid = NULL;
                    break;
                }
            }
        }
        if (mid != NULL && mid > t.p + 1)
            t = trim(t.p + 1, (size_t)(mid - t.p - 1));
    }
    return t;
}

/* A Markdown setext underline: a line of only '=' or only '-' (2 or
 * more), spaces around it allowed. */
static int setext_line(span t)
{
    t = trim(t.p, t.n);
    if (t.n < 2 || (t.p[0] != '=' && t.p[0] != '-'))
        return 0;
    for (size_t i = 1; i < t.n; i++)
        if (t.p[i] != t.p[0])
            return 0;
    return 1;
}

static int set_field(char **dst, size_t *dst_len, span v)
{
    free(*dst);
    *dst = dup_n(v.p, v.n);
    if (*dst == NULL)
        return TRAWL_ENOMEM;
    *dst_len = v.n;
    return 0;
}

/* set_field for a header's value that may hold folded lines: each line
 * break and the spaces around it are one space. */
static int set_folded(char **dst, size_t *dst_len, span v)
{
    if (memchr(v.p, '\n', v.n) == NULL)
        return set_field(dst, dst_len, v);
    char *o = malloc(v.n + 1);
    if (o == NULL)
        return TRAWL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == '\n') {
            while (n > 0 && is_space(o[n - 1]))
                n--;
            while (i + 1 < v.n && is_space(v.p[i + 1]))
                i++;
            if (n > 0) /* "Subject:" then the text on the next line */
                o[n++] = ' ';
        } else {
            o[n++] = v.p[i];
        }
    }
    o[n] = '\0';
    free(*dst);
    *dst = o;
    *dst_len = n;
    return 0;
}

/* Append code point c as UTF-8 (c < 0x110000, not a surrogate). */
static size_t put_utf8(char *o, unsigned c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/*
 * Set a front matter field from its raw value: a double-quoted YAML or
 * TOML string has its escapes read (\" \\ \/ \t \n \uXXXX, \UXXXXXXXX;
 * an unknown one is kept as written), a single-quoted one its doubled
 * quotes ('It''s'); the quotes themselves go. Titles showed "\"" and
 * "''".
 */
static int set_quoted_field(char **dst, size_t *dst_len, span raw)
{
    if (raw.n < 2 || raw.p[0] != raw.p[raw.n - 1] ||
        (raw.p[0] != '"' && raw.p[0] != '\''))
        return set_field(dst, dst_len, raw);
    const char *p = raw.p + 1, *e = raw.p + raw.n - 1;
    char *o = malloc(raw.n + 1), *w = o;
    if (o == NULL)
        return TRAWL_ENOMEM;
    while (p < e) {
        if (raw.p[0] == '\'' && *p == '\'' && p + 1 < e && p[1] == '\'') {
            *w++ = '\'';
            p += 2;
            continue;
        }
        if (raw.p[0] != '"' || *p != '\\' || p + 1 >= e) {
            *w++ = *p++;
            continue;
        }
        char c = p[1];
        const char *simple = strchr("\"\\/tn", c);
        if (c != '\0' && simple != NULL) {
            *w++ = c == 't' ? '\t' : c == 'n' ? ' ' : c;
            p += 2;
            continue;
        }
        int digits = c == 'u' ? 4 : c == 'U' ? 8 : 0;
        unsigned v = 0;
        int ok = digits > 0 && e - p >= 2 + digits;
        for (int i = 0; ok && i < digits; i++) {
            char h = p[2 + i];
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            ok = d >= 0;
            v = v * 16 + (unsigned)(d < 0 ? 0 : d);
        }
        if (ok && v != 0 && v < 0x110000 && !(v >= 0xd800 && v < 0xe000)) {
            w += put_utf8(w, v);
            p += 2 + digits;
        } else {
            *w++ = *p++;
        }
    }
    span t = trim(o, (size_t)(w - o));
    memmove(o, t.p, t.n);
    o[t.n] = '\0';
    free(*dst);
    *dst = o;
    *dst_len = t.n;
    return 0;
}

/* If line is TOML's "key = value" (a bare key of ASCII letters, digits,
 * '-', '_'), return which key, as header_line does, and its trimmed
 * value. */
static int toml_line(span line, span *value)
{
    size_t i = 0;
    while (i < line.n && ((line.p[i] >= 'a' && line.p[i] <= 'z') ||
                          (line.p[i] >= 'A' && line.p[i] <= 'Z') ||
                          (line.p[i] >= '0' && line.p[i] <= '9') ||
                          line.p[i] == '-' || line.p[i] == '_'))
        i++;
    span key = {line.p, i};
    while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
        i++;
    if (key.n == 0 || i >= line.n || line.p[i] != '=')
        return H_NONE;
    *value = trim(line.p + i + 1, line.n - i - 1);
    return key_kind(key);
}

/* YAML's block scalar indicators: '>' or '|', then an optional chomping
 * '-'/'+' and indentation digit, in either order. */
static int is_block_scalar(span v)
{
    if (v.n == 0 || (v.p[0] != '>' && v.p[0] != '|') || v.n > 3)
        return 0;
    for (size_t i = 1; i < v.n; i++) {
        if (v.p[i] != '-' && v.p[i] != '+' && !(v.p[i] >= '1' &&
                                                v.p[i] <= '9'))
            return 0;
    }
    return 1;
}

/* The value of a YAML block scalar ("title: >" then indented lines) that
 * starts at q and ends before stop or at the first line that is not
 * indented: its lines trimmed and joined by a space. *next gets the line
 * after it. */
static int set_block_field(char **dst, size_t *dst_len, const char *q,
                           const char *stop, const char **next)
{
    char *out = malloc((size_t)(stop - q) + 1);
    size_t n = 0;
    if (out == NULL)
        return TRAWL_ENOMEM;
    while (q < stop) {
        const char *nx;
        span l = line_at(q, stop, &nx);
        span t = trim(l.p, l.n);
        if (t.n != 0 && l.p[0] != ' ' && l.p[0] != '\t')
            break;
        if (t.n != 0) {
            if (n > 0)
                out[n++] = ' ';
            memcpy(out + n, t.p, t.n);
            n += t.n;
        }
        q = nx;
    }
    out[n] = '\0';
    *next = q;
    free(*dst);
    *dst = out;
    *dst_len = n;
    return 0;
}

/* Append item (its quotes dropped, as set_quoted_field reads them) to
 * the byline *dst, after ", " when it holds a name already. */
static int byline_add(char **dst, size_t *dst_len, span item)
{
    char *one = NULL;
    size_t n = 0;
    int rc = set_quoted_field(&one, &n, trim(item.p, item.n));
    if (rc < 0)
        return rc;
    if (n == 0) {
        free(one);
        return 0;
    }
    size_t had = *dst != NULL ? *dst_len : 0;
    char *o = realloc(*dst, had + 2 + n + 1);
    if (o == NULL) {
        free(one);
        return TRAWL_ENOMEM;
    }
    if (had > 0) {
        memcpy(o + had, ", ", 2);
        had += 2;
    }
    memcpy(o + had, one, n + 1);
    free(one);
    *dst = o;
    *dst_len = had + n;
    return 0;
}

/*
 * A front matter author given as a list: a flow sequence, YAML's and
 * TOML's ("[Jane Doe, John Roe]", "[\"Jane Doe\", 'John Roe']"), or, when
 * the value is empty, YAML's block sequence on the lines from q ("  -
 * Ann Lee"; *next gets the line after it). The names are the byline,
 * joined with ", " as a JSON Lines list of authors is. Returns 1 (read),
 * 0 (not a list) or TRAWL_ENOMEM.
 */
static int set_author_list(char **dst, size_t *dst_len, span v,
                           const char *q, const char *stop,
                           const char **next)
{
    if (v.n >= 2 && v.p[0] == '[' && v.p[v.n - 1] == ']') {
        free(*dst);
        *dst = NULL;
        *dst_len = 0;
        const char *p = v.p + 1, *e = v.p + v.n - 1;
        while (p < e) {
            const char *i = p;
            char quote = 0;
            while (i < e && (quote != 0 || *i != ',')) {
                if (quote != 0 && *i == '\\' && quote == '"' && i + 1 < e)
                    i++;
                else if (quote != 0 && *i == quote)
                    quote = 0;
                else if (quote == 0 && (*i == '"' || *i == '\''))
                    quote = *i;
                i++;
            }
            int rc = byline_add(dst, dst_len, (span){p, (size_t)(i - p)});
            if (rc < 0)
                return rc;
            p = i + 1;
        }
        return 1;
    }
    if (v.n != 0)
        return 0;
    int got = 0;
    while (q < stop) {
        const char *nx;
        span l = line_at(q, stop, &nx);
        span t = trim(l.p, l.n);
        if (t.n == 0) {
            q = nx;
            continue;
        }
        if (t.p[0] != '-' || (t.n > 1 && !is_space(t.p[1])))
            break;
        if (!got) {
            free(*dst);
            *dst = NULL;
            *dst_len = 0;
            got = 1;
        }
        int rc = byline_add(dst, dst_len, (span){t.p + 1, t.n - 1});
        if (rc < 0)
            return rc;
        q = nx;
    }
    if (got)
        *next = q;
    return got;
}

/* Whether t is a URL alone: http:// or https:// and no space. */
static int lone_url(span t)
{
    size_t k = t.n >= 8 && strncasecmp(t.p, "https://", 8) == 0   ? 8
               : t.n >= 7 && strncasecmp(t.p, "http://", 7) == 0 ? 7
                                                                  : 0;
    if (k == 0 || t.n == k)
        return 0;
    for (size_t i = k; i < t.n; i++)
        if (is_space(t.p[i]))
            return 0;
    return 1;
}

/* Whether t is a day's date alone (not a bare year or month), and when. */
static int lone_date(span t, int64_t *when)
{
    size_t digits = 0;
    for (size_t i = 0; i < t.n; i++)
        digits += t.p[i] >= '0' && t.p[i] <= '9';
    return t.n >= 8 && t.n <= 64 && digits >= 3 && digits < t.n &&
           trawl_parse_loose_date(t.p, t.n, when) == 0;
}

/* The first non-blank line at or after p (*at: where it starts), or an
 * empty span at the end. */
static span first_line(const char *p, const char *end, const char **at,
                       const char **next)
{
    while (p < end) {
        span l = line_at(p, end, next);
        span t = trim(l.p, l.n);
        if (t.n != 0) {
            *at = p;
            return t;
        }
        p = *next;
    }
    *at = *next = end;
    return (span){end, 0};
}

/* See the caller: a URL line and a date line above the title give the
 * url (unless a header did) and the date (unless one did); returns where
 * the title is looked for, or NULL (out of memory). */
static const char *url_date_lines(trawl_article *out, const char *p,
                                  const char *end, int *have_date)
{
    const char *a, *b, *an, *bn;
    span l1 = first_line(p, end, &a, &an);
    span l2 = first_line(an, end, &b, &bn);
    int64_t when;
    span url;
    if (lone_url(l1) && lone_date(l2, &when))
        url = l1;
    else if (lone_date(l1, &when) && lone_url(l2))
        url = l2;
    else
        return p;
    /* Nothing after them: they are the article (its title and body), as
     * they were before these lines were read. */
    const char *c, *cn;
    if (first_line(bn, end, &c, &cn).n == 0)
        return p;
    if (out->url == NULL && set_field(&out->url, &out->url_len, url) < 0)
        return NULL;
    if (!*have_date) {
        out->date = when;
        out->bad_date_line = 0;
        *have_date = 1;
    }
    return bn;
}

/* The longest first line that is taken for a title, in bytes. */
#define TITLE_LINE_MAX 300

/* Copy text, dropping a UTF-8 BOM and turning "\r\n", and a lone "\r"
 * (classic Mac OS line ends, which some exports still write), into
 * "\n": such a file was one line, all of it the title. */
static char *normalize_newlines(const char *s, size_t n, size_t *out_len)
{
    if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        n -= 3;
    }
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue;
        p[o++] = s[i] == '\r' ? '\n' : s[i];
    }
    p[o] = '\0';
    *out_len = o;
    return p;
}

/*
 * Text that starts with a UTF-16 byte order mark (FF FE little-endian,
 * FE FF big-endian: what Windows tools write for "Unicode") as UTF-8 in a
 * new buffer; an unpaired surrogate or a last odd byte becomes U+FFFD,
 * counted in *replaced. NULL when out of memory.
 */
static char *utf16_to_utf8(const char *s, size_t n, size_t *out_len,
                           size_t *replaced)
{
    const unsigned char *u = (const unsigned char *)s;
    int be = u[0] == 0xfe;
    size_t units = (n - 2) / 2;
    /* a unit takes at most 3 bytes, a pair of them 4 */
    char *o = malloc(units * 3 + 4), *w = o;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < units; i++) {
        const unsigned char *q = u + 2 + 2 * i;
        unsigned c = be ? (unsigned)q[0] << 8 | q[1]
                        : (unsigned)q[1] << 8 | q[0];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
            const unsigned char *r = q + 2;
            unsigned d = be ? (unsigned)r[0] << 8 | r[1]
                            : (unsigned)r[1] << 8 | r[0];
            if (d >= 0xdc00 && d < 0xe000) {
                w += put_utf8(w, 0x10000 + ((c - 0xd800) << 10) +
                                     (d - 0xdc00));
                i++;
                continue;
            }
        }
        if (c >= 0xd800 && c < 0xe000) {
            c = 0xfffd;
            (*replaced)++;
        }
        w += put_utf8(w, c);
    }
    if ((n - 2) % 2 != 0) {
        w += put_utf8(w, 0xfffd);
        (*replaced)++;
    }
    *out_len = (size_t)(w - o);
    return o;
}

/* Windows-1252's characters for bytes 0x80..0x9f (0: undefined there). */
static const unsigned short cp1252_c1[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178};

/*
 * Text that is not valid UTF-8, in a new buffer where every byte that is
 * not part of a valid UTF-8 sequence is read as Windows-1252 (Latin-1's
 * superset: what older news archives and Windows editors save); its five
 * undefined bytes become U+FFFD. *mapped counts those bytes. A Latin-1
 * "caf\xe9" was "caf\ufffd": the article's accented words were cut
 * apart and no query found them; a UTF-8 file with a stray byte keeps
 * all its UTF-8. NULL when out of memory.
 */
static char *legacy_to_utf8(const char *s, size_t n, size_t *out_len,
                            size_t *mapped)
{
    const unsigned char *u = (const unsigned char *)s;
    char *o = malloc(n * 3 + 1), *w = o;
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef             ? 3
                   : c >= 0xf0 && c <= 0xf4             ? 4
                                                        : 0;
        if (k == 1 || (k > 1 && k <= n - i && trawl_utf8_valid(s + i, k))) {
            memcpy(w, s + i, k);
            w += k;
            i += k;
            continue;
        }
        unsigned cp = c >= 0xa0 ? c : cp1252_c1[c - 0x80];
        w += put_utf8(w, cp != 0 ? cp : 0xfffd);
        (*mapped)++;
        i++;
    }
    *out_len = (size_t)(w - o);
    return o;
}

/*
 * trawl-index keeps an unchanged text file without parsing it again, by a
 * hash of its bytes (indexer/main.c, text_fingerprint()): a change here
 * that reads the same bytes into another article must raise
 * TEXT_FP_VERSION there, or indexes keep the old reading of every file
 * that did not change. (JSON lines are kept by a hash of the line alike;
 * a change in how an accepted line is read needs a version there too.)
 */
/* The 1-based number of the line at p in text (which starts at line 1). */
static unsigned long line_number(const char *text, const char *p)
{
    unsigned long n = 1;
    for (const char *q = text; q < p; q++)
        n += *q == '\n';
    return n;
}

int trawl_article_parse_text(trawl_article *out, const char *id,
                             const char *text, size_t len,
                             int64_t fallback_date, trawl_err *err)
{
    char *clean = NULL, *norm = NULL, *wide = NULL;
    size_t clean_len, norm_len, replaced = 0, id_replaced = 0;
    size_t wide_replaced = 0;
    int rc;

    article_init(out);
    const unsigned char *u = (const unsigned char *)text;
    if (len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) ||
                     (u[0] == 0xfe && u[1] == 0xff))) {
        wide = utf16_to_utf8(text, len, &len, &wide_replaced);
        if (wide == NULL) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto fail;
        }
        text = wide;
    }
    /* NUL bytes are no text: a file that has them is binary (or UTF-16
     * without a byte order mark), and indexing it would store NULs that
     * many JSON readers refuse. Zeros at the end only (a file's tail
     * zero-filled by a crash) are dropped. */
    while (len > 0 && text[len - 1] == '\0')
        len--;
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) {
        unsigned long line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "binary file (a NUL byte on line %lu); text must "
                           "be UTF-8, or UTF-16 with a byte order mark",
                           line);
        goto fail;
    }
    if (trawl_utf8_sanitize(id, strlen(id), &out->id, &out->id_len,
                            &id_replaced) < 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    if (wide == NULL && !trawl_utf8_valid(text, len))
        clean = legacy_to_utf8(text, len, &clean_len, &replaced);
    else if (trawl_utf8_sanitize(text, len, &clean, &clean_len,
                                 &replaced) < 0)
        clean = NULL;
    if (clean == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    free(wide);
    wide = NULL;
    norm = normalize_newlines(clean, clean_len, &norm_len);
    free(clean);
    clean = NULL;
    if (norm == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    out->replaced = replaced + wide_replaced + id_replaced;

    const char *p = norm, *end = norm + norm_len, *next;
    span line;
    int have_date = 0, have_title = 0;

    /* Leading blank lines. */
    while (p < end) {
        line = line_at(p, end, &next);
        if (trim(line.p, line.n).n != 0)
            break;
        p = next;
    }

    /* Markdown's front matter: YAML between a "---" line and a "---" or
     * "..." line, or TOML (Hugo) between "+++" lines, closed within 200
     * lines. Its top-level title, date, author and url give the fields
     * (quotes dropped; a YAML block scalar's lines joined); anything else
     * in it is left out of the article. */
    line = line_at(p, end, &next);
    span open = trim(line.p, line.n);
    int toml = p < end && span_ieq(open, "+++");
    if (p < end && (toml || span_ieq(open, "---"))) {
        const char *q = next, *close = NULL, *after = NULL;
        for (int i = 0; i < 200 && q < end; i++) {
            const char *nx;
            span t = line_at(q, end, &nx);
            t = trim(t.p, t.n);
            if (toml ? span_ieq(t, "+++")
                     : span_ieq(t, "---") || span_ieq(t, "...")) {
                close = q;
                after = nx;
                break;
            }
            q = nx;
        }
        int top = 1; /* TOML: not inside a [table] yet */
        if (close != NULL) {
            for (q = next; q < close; q = next) {
                span v;
                span l = line_at(q, end, &next);
                if (toml && l.n > 0 && l.p[0] == '[')
                    top = 0;
                int h = !top ? H_NONE
                        : toml ? toml_line(l, &v)
                               : header_line(l, &v);
                if (h == H_NONE)
                    continue;
                int block = !toml && is_block_scalar(v);
                span raw = v;
                v = unquote(v);
                rc = 0;
                if (h == H_AUTHOR && !block &&
                    (rc = set_author_list(&out->author, &out->author_len,
                                          raw, next, close, &next)) != 0) {
                    rc = rc < 0 ? rc : 0;
                } else if (block && (h == H_TITLE || h == H_AUTHOR ||
                              h == H_URL)) {
                    char **dst = h == H_TITLE    ? &out->title
                                 : h == H_AUTHOR ? &out->author
                                                 : &out->url;
                    size_t *dst_len = h == H_TITLE    ? &out->title_len
                                      : h == H_AUTHOR ? &out->author_len
                                                      : &out->url_len;
                    rc = set_block_field(dst, dst_len, next, close, &next);
                    if (h == H_TITLE && rc == 0 && out->title_len > 0)
                        have_title = 1;
                } else if (h == H_TITLE && v.n > 0) {
                    rc = set_quoted_field(&out->title, &out->title_len, raw);
                    have_title = out->title_len > 0;
                } else if (h == H_AUTHOR && v.n > 0) {
                    rc = set_quoted_field(&out->author, &out->author_len,
                                          raw);
                } else if (h == H_URL && v.n > 0) {
                    rc = set_quoted_field(&out->url, &out->url_len, raw);
                } else if (h == H_DATE && !have_date) {
                    have_date = trawl_parse_loose_date(v.p, v.n,
                                                       &out->date) == 0;
                    if (have_date)
                        out->bad_date_line = 0;
                    else if (v.n > 0 && out->bad_date_line == 0)
                        out->bad_date_line = line_number(norm, q);
                }
                if (rc < 0) {
                    rc = trawl_err_set(err, rc, "out of memory");
                    goto fail;
                }
            }
            p = after;
            while (p < end) {
                line = line_at(p, end, &next);
                if (trim(line.p, line.n).n != 0)
                    break;
                p = next;
            }
        }
    }

    /* Header block: every line is "Key: value", up to a blank line (or
     * the end). It is the article's header when its first key is known,
     * or when it is a mail or news message's (mail_header()): then lines
     * folded onto the next (starting with a space or tab) belong to the
     * line above, Subject is the title and From the author unless Title
     * and Author say otherwise, and the rest stays out of the body.
     * Otherwise it is not a header. */
    {
        span v;
        line = line_at(p, end, &next);
        int mail = p < end && mail_header(p, end);
        if (p < end && (mail || header_line(line, &v) > 0)) {
            const char *q = p;
            int ok = 1;
            while (q < end) {
                span l = line_at(q, end, &next);
                if (trim(l.p, l.n).n == 0)
                    break;
                if (header_line(l, &v) == H_NONE &&
                    !(mail && q > p && is_space(l.p[0]))) {
                    ok = 0;
                    break;
                }
                q = next;
            }
            if (ok) {
                const char *stop = q;
                int have_author = 0;
                span subject = {NULL, 0}, from = {NULL, 0};
                for (q = p; q < stop; q = next) {
                    span l = line_at(q, end, &next);
                    int h = header_line(l, &v);
                    if (h == H_NONE)
                        continue; /* a folded line, read with its own */
                    rc = 0;
                    if (mail) {
                        /* The value with its folded lines. */
                        const char *nx = next;
                        while (nx < stop && is_space(*nx)) {
                            span f = line_at(nx, end, &nx);
                            v.n = (size_t)(f.p + f.n - v.p);
                        }
                        next = nx;
                        v = trim(v.p, v.n);
                        if (h == H_OTHER && mail_key(l, "subject"))
                            subject = v;
                        else if (h == H_OTHER && mail_key(l, "from"))
                            from = v;
                    }
                    if (h == H_TITLE) {
                        rc = set_folded(&out->title, &out->title_len, v);
                        have_title = 1;
                    } else if (h == H_AUTHOR && v.n > 0) {
                        rc = set_folded(&out->author, &out->author_len, v);
                        have_author = 1;
                    } else if (h == H_URL && v.n > 0) {
                        rc = set_field(&out->url, &out->url_len, v);
                    } else if (h == H_DATE && !have_date) {
                        /* An unreadable Date: is not fatal: the body or
                         * the fallback still dates the article, and the
                         * caller is told (bad_date_line). */
                        have_date =
                            trawl_parse_loose_date(v.p, v.n, &out->date) ==
                                0 ||
                            (mail && parse_mail_date(v.p, v.n, &out->date) ==
                                         0);
                        if (have_date)
                            out->bad_date_line = 0;
                        else if (v.n > 0 && out->bad_date_line == 0)
                            out->bad_date_line = line_number(norm, q);
                    }
                    if (rc < 0) {
                        rc = trawl_err_set(err, rc, "out of memory");
                        goto fail;
                    }
                }
                rc = 0;
                if (!have_title && subject.n > 0) {
                    rc = set_folded(&out->title, &out->title_len, subject);
                    have_title = 1;
                }
                /* "From: <>" names nobody: no byline, not an empty one */
                span name = from.n > 0 ? mail_name(from) : from;
                if (rc == 0 && !have_author && name.n > 0)
                    rc = set_folded(&out->author, &out->author_len, name);
                if (rc < 0) {
                    rc = trawl_err_set(err, rc, "out of memory");
                    goto fail;
                }
                p = stop;
            }
        }
    }

    /* A scraper's lines above the title: the page's URL alone on a line
     * and its date alone on the next (or the other way round), as the
     * livedoor news corpus keeps its articles. A URL alone (a link
     * post's first line) or a date alone (maybe a title: "September 11,
     * 2001") stays the title. */
    if (!have_title && (p = url_date_lines(out, p, end, &have_date)) == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }

    /* Date from a "Posted ..." line in the first 40 lines of the file. */
    if (!have_date) {
        const char *q = norm;
        for (int i = 0; i < 40 && q < end; i++, q = next) {
            line = line_at(q, end, &next);
            if (dated_line(line, &out->date) == 0) {
                have_date = 1;
                break;
            }
        }
    }
    if (!have_date)
        out->date = fallback_date;

    /* Title: the first non-blank line that is not site boilerplate. */
    while (p < end) {
        line = line_at(p, end, &next);
        span t = trim(line.p, line.n);
        if (t.n == 0 || (!have_title && is_boilerplate(t))) {
            p = next;
            continue;
        }
        /* A first line longer than any headline is the article's first
         * paragraph (a file of one line, or without a title line): it
         * stays in the body and the article is untitled. It was the
         * title, whole, and the body was empty. */
        if (!have_title && t.n <= TITLE_LINE_MAX) {
            rc = set_field(&out->title, &out->title_len, strip_heading(t));
            if (rc < 0) {
                rc = trawl_err_set(err, rc, "out of memory");
                goto fail;
            }
            have_title = 1;
            p = next;
            /* "Title\n=====": the underline is no body text */
            if (p < end && setext_line(line_at(p, end, &next)))
                p = next;
        }
        break;
    }

    /* Body: the rest, without leading blank lines or trailing space. */
    while (p < end) {
        line = line_at(p, end, &next);
        if (trim(line.p, line.n).n != 0)
            break;
        p = next;
    }
    const char *bend = end;
    while (bend > p && (is_space(bend[-1]) || bend[-1] == '\n'))
        bend--;
    if ((out->title == NULL || out->title_len == 0) && bend == p) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "empty article");
        goto fail;
    }
    rc = set_field(&out->body, &out->body_len, (span){p, (size_t)(bend - p)});
    if (rc == 0 && out->title == NULL)
        rc = set_field(&out->title, &out->title_len, (span){"", 0});
    if (rc < 0) {
        rc = trawl_err_set(err, rc, "out of memory");
        goto fail;
    }
    free(norm);
    return 0;

fail:
    free(wide);
    free(clean);
    free(norm);
    trawl_article_clear(out);
    return rc;
}

/* ---- JSON Lines ---- */

enum { JF_ID, JF_TITLE, JF_BODY, JF_DATE, JF_AUTHOR, JF_URL, JF_N };

static const char *const jf_names[JF_N] = {"id",   "title",  "body",
                                           "date", "author", "url"};

/*
 * The member names one parse reads (a trawl_json_fields resolved): k[f]
 * is the key field f is read from, n[f] its length.
 */
typedef struct jf_keys {
    const char *k[JF_N];
    size_t n[JF_N];
    unsigned mapped; /* bit f: field f reads another key than its name */
    int shared;      /* some key is read by two fields */
} jf_keys;

static const jf_keys jf_default = {
    {"id", "title", "body", "date", "author", "url"}, {2, 5, 4, 4, 6, 3}, 0,
    0};

static void jf_resolve(jf_keys *out, const trawl_json_fields *f)
{
    const char *given[JF_N] = {f->id,   f->title,  f->body,
                               f->date, f->author, f->url};
    out->mapped = 0;
    out->shared = 0;
    for (int i = 0; i < JF_N; i++) {
        out->k[i] = given[i] != NULL ? given[i] : jf_names[i];
        out->n[i] = strlen(out->k[i]);
        if (strcmp(out->k[i], jf_names[i]) != 0)
            out->mapped |= 1u << i;
        for (int j = 0; j < i; j++)
            if (out->n[j] == out->n[i] &&
                memcmp(out->k[j], out->k[i], out->n[i]) == 0)
                out->shared = 1;
    }
}

/* How many bytes of s a message shows: at most 100, cut at a character
 * boundary (a key may be anything the user typed). */
static int jf_clip(const char *s)
{
    size_t n = strlen(s);
    if (n <= 100)
        return (int)n;
    n = 100;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return (int)n;
}

/* What a message about field f's key adds when the key is mapped: " (the
 * body, per --field body=text)"; else "". */
static const char *jf_why(const jf_keys *keys, int f, char *buf, size_t cap)
{
    if (!(keys->mapped >> f & 1))
        return "";
    snprintf(buf, cap, " (the %s, per --field %s=%.*s)", jf_names[f],
             jf_names[f], jf_clip(keys->k[f]), keys->k[f]);
    return buf;
}

static char *dup_text(const char *s, size_t n, size_t *out_n);

/* What a JSON value is, for messages: "an object", "an array", ... */
static const char *jtype(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Whether jq can name member k as .k (a short identifier). */
static int jq_ident(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 40 || (k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' &&
                                                     (c | 32) <= 'z')))
            return 0;
    }
    return 1;
}

/* The member of object o that holds its text: "name" (JSON-LD's Person),
 * "rendered" (WordPress), else the first whose value is a string; or
 * NULL. */
static const char *first_string_member(json_t *o)
{
    static const char *const usual[] = {"name", "rendered", "text"};
    const char *k;
    json_t *m;
    for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
        if (json_is_string(json_object_get(o, usual[i])))
            return usual[i];
    json_object_foreach(o, k, m) {
        if (json_is_string(m))
            return k;
    }
    return NULL;
}

/*
 * The fix an error about member k of field f (a value j of the wrong
 * type) suggests: a jq filter that makes the records readable, written
 * into buf, or "" when none is simple to give. Converting is the user's
 * choice: which of several URLs, which member of an object, is theirs.
 */
static const char *jq_fix(int f, const char *k, json_t *j, char *buf,
                          size_t cap)
{
    const char *conv = NULL, *sub = NULL;
    if (!jq_ident(k))
        return "";
    if (json_is_object(j)) {
        /* WordPress's {"rendered": "..."}, JSON-LD's {"name": "..."} */
        if ((sub = first_string_member(j)) == NULL || !jq_ident(sub))
            return "";
        snprintf(buf, cap, "; e.g. jq -c '.%s |= .%s' reads its \"%s\"", k,
                 sub, sub);
        return buf;
    }
    if (json_is_array(j)) {
        json_t *e = json_array_get(j, 0);
        if (f == JF_AUTHOR && json_is_object(e) &&
            (sub = first_string_member(e)) != NULL && jq_ident(sub)) {
            snprintf(buf, cap, "; e.g. jq -c '.%s |= map(.%s)' reads each "
                     "one's \"%s\"", k, sub, sub);
            return buf;
        }
        if (e == NULL || json_is_string(e))
            conv = f == JF_URL      ? ".[0]"
                   : f == JF_BODY   ? "join(\"\\n\\n\")"
                   : f == JF_AUTHOR ? NULL
                                    : "join(\" \")";
    } else if (json_is_number(j) && f != JF_DATE) {
        conv = "tostring";
    }
    if (conv == NULL)
        return "";
    snprintf(buf, cap, "; e.g. jq -c '.%s |= %s' converts the records", k,
             conv);
    return buf;
}

/* The error for field f's member holding j, of the wrong type. */
static int wrong_type(const jf_keys *keys, int f, json_t *j, trawl_err *err)
{
    char why[256], fix[256];
    const char *want = f == JF_AUTHOR ? "a string or an array of strings"
                                      : "a string";
    return trawl_err_set(err, TRAWL_EINVAL,
                         "field \"%.*s\" is not a string%s: it is %s, and "
                         "the %s is read from %s%s",
                         jf_clip(keys->k[f]), keys->k[f],
                         jf_why(keys, f, why, sizeof(why)), jtype(j),
                         jf_names[f], want,
                         jq_fix(f, keys->k[f], j, fix, sizeof(fix)));
}

/* An optional string member: NULL/absent -> 0 and *v = NULL. */
static int opt_string(json_t *obj, const jf_keys *keys, int f,
                      const char **v, size_t *n, trawl_err *err)
{
    json_t *j = json_object_get(obj, keys->k[f]);
    *v = NULL;
    *n = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return wrong_type(keys, f, j, err);
    *v = json_string_value(j);
    *n = json_string_length(j);
    return 0;
}

/*
 * The byline: a string, or an array of strings (news-please's and
 * CC-News's "authors": ["Jane Doe", "John Roe"]) whose non-empty names
 * are joined with ", ". *out is malloc'd (without NUL characters), or
 * NULL when there is no name. Anything else in the array is an error
 * naming the item.
 */
static int opt_byline(json_t *obj, const jf_keys *keys, char **out,
                      size_t *out_n, trawl_err *err)
{
    json_t *j = json_object_get(obj, keys->k[JF_AUTHOR]);
    *out = NULL;
    *out_n = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (json_is_string(j)) {
        if ((*out = dup_text(json_string_value(j), json_string_length(j),
                             out_n)) == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        return 0;
    }
    if (!json_is_array(j))
        return wrong_type(keys, JF_AUTHOR, j, err);
    size_t i, total = 0;
    json_t *e;
    json_array_foreach(j, i, e) {
        if (!json_is_string(e)) {
            char why[256], fix[256];
            return trawl_err_set(
                err, TRAWL_EINVAL,
                "field \"%.*s\"%s is an array holding %s (item %zu): the "
                "author is read from a string or an array of strings%s",
                jf_clip(keys->k[JF_AUTHOR]), keys->k[JF_AUTHOR],
                jf_why(keys, JF_AUTHOR, why, sizeof(why)), jtype(e), i + 1,
                jq_fix(JF_AUTHOR, keys->k[JF_AUTHOR], j, fix, sizeof(fix)));
        }
        total += json_string_length(e) + 2;
    }
    char *s = malloc(total + 1);
    size_t o = 0;
    if (s == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    json_array_foreach(j, i, e) {
        /* each name without the spaces around it, as front matter's */
        span v = {json_string_value(e), json_string_length(e)};
        while (v.n > 0 && (is_space(v.p[0]) || v.p[0] == '\n')) {
            v.p++;
            v.n--;
        }
        while (v.n > 0 && (is_space(v.p[v.n - 1]) || v.p[v.n - 1] == '\n'))
            v.n--;
        size_t start = o;
        if (o > 0) {
            memcpy(s + o, ", ", 2);
            o += 2;
        }
        size_t at = o;
        for (size_t k = 0; k < v.n; k++)
            if (v.p[k] != '\0')
                s[o++] = v.p[k];
        if (o == at)
            o = start; /* an empty name: no separator for it */
    }
    s[o] = '\0';
    if (o == 0) {
        free(s);
        return 0;
    }
    *out = s;
    *out_n = o;
    return 0;
}

/*
 * The fast path for the common record: one object whose members are only
 * the keys its fields read, with values of the simple kinds (strings,
 * null, small integers), parsed in one pass without building a jansson
 * tree. It gives up (returns 0, out untouched) on anything else: other
 * members (they go to extra), duplicate keys, escapes in keys, numbers
 * that are not short integers, other literals, any syntax error or value
 * the slow path rejects. The slow path (jansson) then decides, with its
 * own messages, so both paths give the same article or the same error by
 * construction. The line is already known to be valid UTF-8. Returns 1
 * (parsed into out), 0 (use the slow path) or TRAWL_ENOMEM.
 */

typedef struct jvalue {
    int kind;        /* 0 absent, 1 null, 2 string, 3 integer */
    char *s;         /* kind 2: decoded, NUL-terminated (malloc'd) */
    size_t n;
    long long i;     /* kind 3 */
} jvalue;

static int json_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 32) >= 'a' && (c | 32) <= 'f')
            d = (c | 32) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Bytes that end a plain run inside a JSON string: '"', '\\' and the
 * control characters (which JSON forbids raw). */
static const unsigned char json_stop[256] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1,
    [8] = 1, [9] = 1, [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1,
    [15] = 1, [16] = 1, [17] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1,
    [22] = 1, [23] = 1, [24] = 1, [25] = 1, [26] = 1, [27] = 1, [28] = 1,
    [29] = 1, [30] = 1, [31] = 1, ['"'] = 1, ['\\'] = 1,
};

/*
 * Decode the JSON string starting just after its opening quote at *pp
 * into a new buffer. Returns 1 (and *pp just past the closing quote), 0
 * when the slow path must decide, TRAWL_ENOMEM.
 */
static int json_fast_string(const unsigned char **pp, const unsigned char *end,
                            char **out, size_t *out_len)
{
    const unsigned char *p = *pp, *q = p;
    /* A first scan finds the end when there is no escape (the usual
     * case: one memcpy). */
    while (q < end && !json_stop[*q])
        q++;
    if (q == end || *q < 0x20)
        return 0;
    size_t cap = *q == '"' ? (size_t)(q - p) : (size_t)(end - p);
    char *s = malloc(cap + 1);
    if (s == NULL)
        return TRAWL_ENOMEM;
    size_t o = (size_t)(q - p);
    memcpy(s, p, o);
    p = q;
    while (*p != '"') {
        /* p < end and *p is '\\' (a control character fails below). */
        if (*p != '\\' || end - p < 2)
            goto slow;
        unsigned char e = p[1];
        p += 2;
        char c;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - p < 4 || hex4(p, &cp) < 0)
                goto slow;
            p += 4;
            if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
                goto slow;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                    hex4(p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                    goto slow;
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            /* The escape takes at least as many bytes as its UTF-8. */
            if (cp < 0x80) {
                s[o++] = (char)cp;
            } else if (cp < 0x800) {
                s[o++] = (char)(0xc0 | cp >> 6);
                s[o++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                s[o++] = (char)(0xe0 | cp >> 12);
                s[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
                s[o++] = (char)(0x80 | (cp & 0x3f));
            } else {
                s[o++] = (char)(0xf0 | cp >> 18);
                s[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
                s[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
                s[o++] = (char)(0x80 | (cp & 0x3f));
            }
            goto next;
        }
        default:
            goto slow;
        }
        s[o++] = c;
    next:
        q = p;
        while (q < end && !json_stop[*q])
            q++;
        if (q == end || *q < 0x20)
            goto slow;
        memcpy(s + o, p, (size_t)(q - p));
        o += (size_t)(q - p);
        p = q;
    }
    s[o] = '\0';
    if (cap - o > 4096) {
        /* Sized for the rest of the line: give the excess back. */
        char *t = realloc(s, o + 1);
        if (t != NULL)
            s = t;
    }
    *out = s;
    *out_len = o;
    *pp = p + 1;
    return 1;
slow:
    free(s);
    return 0;
}

/* A JSON Lines date given as a number of seconds since 1970: years
 * 1..9999, as dates are shown and queried. */
static int json_seconds_ok(long long t)
{
    return t >= -62135596800LL && t < 253402300800LL;
}

/* A short integer: -?(0|[1-9][0-9]{0,17}), not followed by more of a
 * number. 1, or 0 when the slow path must decide. */
static int json_fast_int(const unsigned char **pp, const unsigned char *end,
                         long long *out)
{
    const unsigned char *p = *pp;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || *p < '0' || *p > '9')
        return 0;
    long long v = 0;
    int n = 0;
    if (*p == '0') {
        p++;
        n = 1;
    } else {
        while (p < end && *p >= '0' && *p <= '9' && n < 18) {
            v = v * 10 + (*p++ - '0');
            n++;
        }
    }
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
                    *p == 'E'))
        return 0;
    *out = neg ? -v : v;
    *pp = p;
    return 1;
}

/* The field whose default name is k, or -1. With constant names the
 * compiler turns each memcmp into a compare or two, which the default
 * mapping's speed depends on. */
static int json_fast_key_default(const unsigned char *k, size_t n)
{
    for (int i = 0; i < JF_N; i++) {
        if (strlen(jf_names[i]) == n && memcmp(jf_names[i], k, n) == 0)
            return i;
    }
    return -1;
}

/* The first field that reads key k under a mapping, or -1; *more: a bit
 * for each later field that reads it too (*more is 0 on entry). */
static int json_fast_key(const jf_keys *keys, const unsigned char *k,
                         size_t n, unsigned *more)
{
    int f = -1;
    for (int i = 0; i < JF_N; i++) {
        if (keys->n[i] == n && memcmp(keys->k[i], k, n) == 0) {
            if (f >= 0) {
                *more |= 1u << i;
            } else {
                f = i;
                if (!keys->shared)
                    break;
            }
        }
    }
    return f;
}

/*
 * The members no field reads, which the fast path keeps as the slow path
 * does: the text jansson's json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives for them (no spaces; in strings '"', '\\',
 * \b \f \n \r \t escaped and other control characters as \u00XX in
 * capitals, everything else as it is). Real records nearly always have
 * such members (HuffPost's "category", news-please's "language"); going
 * through jansson for them doubled the time of a short record.
 */
#define JX_MAX 64

typedef struct jextra {
    char *s; /* "{" and the members so far (malloc'd), or NULL */
    size_t n, cap;
    int count;
    const unsigned char *key[JX_MAX]; /* for duplicates (jansson's
                                         JSON_REJECT_DUPLICATES) */
    size_t key_n[JX_MAX];
} jextra;

static int jx_put(jextra *x, const void *p, size_t n)
{
    if (x->cap - x->n < n + 1) {
        size_t cap = x->cap < 256 ? 256 : x->cap;
        while (cap - x->n < n + 1)
            cap *= 2;
        char *t = realloc(x->s, cap);
        if (t == NULL)
            return TRAWL_ENOMEM;
        x->s = t;
        x->cap = cap;
    }
    memcpy(x->s + x->n, p, n);
    x->n += n;
    return 0;
}

/* A decoded string, quoted and escaped as jansson dumps it. */
static int jx_string(jextra *x, const char *v, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (jx_put(x, "\"", 1) < 0)
        return TRAWL_ENOMEM;
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)v[i] : 0;
        if (i < n && c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (jx_put(x, v + run, i - run) < 0)
            return TRAWL_ENOMEM;
        run = i + 1;
        if (i == n)
            break;
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            en = 6;
        }
        if (jx_put(x, e, en) < 0)
            return TRAWL_ENOMEM;
    }
    return jx_put(x, "\"", 1);
}

/* One scalar at *pp (a string, a short integer, true, false, null) into
 * x. 1, 0 (the slow path decides) or TRAWL_ENOMEM. */
static int jx_scalar(jextra *x, const unsigned char **pp,
                     const unsigned char *end)
{
    const unsigned char *p = *pp;
    if (*p == '"') {
        char *v;
        size_t n;
        p++;
        int rc = json_fast_string(&p, end, &v, &n);
        if (rc <= 0)
            return rc;
        rc = jx_string(x, v, n);
        free(v);
        if (rc < 0)
            return rc;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        long long i;
        char num[32];
        if (!json_fast_int(&p, end, &i))
            return 0;
        int n = snprintf(num, sizeof(num), "%lld", i); /* "-0" is 0 */
        if (jx_put(x, num, (size_t)n) < 0)
            return TRAWL_ENOMEM;
    } else {
        static const char *const lit[] = {"null", "true", "false"};
        size_t i = 0;
        while (i < 3 && !((size_t)(end - p) >= strlen(lit[i]) &&
                          memcmp(p, lit[i], strlen(lit[i])) == 0))
            i++;
        if (i == 3)
            return 0;
        if (jx_put(x, lit[i], strlen(lit[i])) < 0)
            return TRAWL_ENOMEM;
        p += strlen(lit[i]);
    }
    *pp = p;
    return 1;
}

/* The member k (n bytes, no escapes) with its value at *pp: a scalar or
 * an array of scalars ("tags": ["a", "b"]); anything else is left to
 * the slow path. 1, 0 or TRAWL_ENOMEM. */
static int jx_member(jextra *x, const unsigned char *k, size_t n,
                     const unsigned char **pp, const unsigned char *end)
{
    if (x->count == JX_MAX)
        return 0;
    for (int i = 0; i < x->count; i++)
        if (x->key_n[i] == n && memcmp(x->key[i], k, n) == 0)
            return 0; /* a duplicate: jansson's error */
    x->key[x->count] = k;
    x->key_n[x->count++] = n;
    if (jx_put(x, x->n == 0 ? "{\"" : ",\"", 2) < 0 ||
        jx_put(x, k, n) < 0 || jx_put(x, "\":", 2) < 0)
        return TRAWL_ENOMEM;
    const unsigned char *p = *pp;
    if (*p != '[') {
        int rc = jx_scalar(x, &p, end);
        if (rc == 1)
            *pp = p;
        return rc;
    }
    if (jx_put(x, "[", 1) < 0)
        return TRAWL_ENOMEM;
    p++;
    while (p < end && json_ws(*p))
        p++;
    if (p < end && *p == ']') {
        p++;
    } else {
        for (int first = 1;; first = 0) {
            if (p == end || *p == '[' || *p == '{')
                return 0;
            if (!first && jx_put(x, ",", 1) < 0)
                return TRAWL_ENOMEM;
            int rc = jx_scalar(x, &p, end);
            if (rc <= 0)
                return rc;
            while (p < end && json_ws(*p))
                p++;
            if (p == end)
                return 0;
            if (*p == ']') {
                p++;
                break;
            }
            if (*p++ != ',')
                return 0;
            while (p < end && json_ws(*p))
                p++;
        }
    }
    if (jx_put(x, "]", 1) < 0)
        return TRAWL_ENOMEM;
    *pp = p;
    return 1;
}

static int json_fast(trawl_article *out, const char *line, size_t len,
                     const jf_keys *keys)
{
    const unsigned char *p = (const unsigned char *)line, *end = p + len;
    jvalue v[JF_N];
    jextra x;
    int rc = 0;
    memset(v, 0, sizeof(v));
    x.s = NULL;
    x.n = x.cap = 0;
    x.count = 0;

    while (p < end && json_ws(*p))
        p++;
    if (p == end || *p++ != '{')
        return 0;
    while (p < end && json_ws(*p))
        p++;
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            /* Key: without escapes. */
            if (p == end || *p++ != '"')
                goto out;
            const unsigned char *k = p;
            while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
                p++;
            if (p == end || *p != '"')
                goto out;
            unsigned more = 0;
            size_t kn = (size_t)(p - k);
            int f = keys == &jf_default
                        ? json_fast_key_default(k, kn)
                        : json_fast_key(keys, k, kn, &more);
            p++;
            if (f >= 0 && v[f].kind != 0)
                goto out; /* a duplicate key */
            while (p < end && json_ws(*p))
                p++;
            if (p == end || *p++ != ':')
                goto out;
            while (p < end && json_ws(*p))
                p++;
            if (p == end)
                goto out;
            if (f < 0) {
                /* A member no field reads: an extra field. Under a
                 * mapping, one with a default field's name (a "body"
                 * beside the "text" that --field body=text reads) is
                 * rare: jansson reads it, as test_fields expects. */
                if (keys != &jf_default &&
                    json_fast_key_default(k, kn) >= 0)
                    goto out;
                rc = jx_member(&x, k, kn, &p, end);
                if (rc <= 0)
                    goto out;
                rc = 0;
            } else if (*p == '"') {
                p++;
                rc = json_fast_string(&p, end, &v[f].s, &v[f].n);
                if (rc <= 0)
                    goto out;
                rc = 0;
                v[f].kind = 2;
            } else if (*p == 'n') {
                if (end - p < 4 || memcmp(p, "null", 4) != 0)
                    goto out;
                p += 4;
                v[f].kind = 1;
            } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
                if (!json_fast_int(&p, end, &v[f].i))
                    goto out;
                v[f].kind = 3;
            } else {
                goto out;
            }
            /* The same value for each other field that reads this key
             * (--field id=url: the id and the url). */
            for (int g = f + 1; more != 0 && more >> g != 0; g++) {
                if (!(more >> g & 1))
                    continue;
                v[g] = v[f];
                if (v[f].kind == 2 &&
                    (v[g].s = dup_n(v[f].s, v[f].n)) == NULL) {
                    rc = TRAWL_ENOMEM;
                    goto out;
                }
            }
            while (p < end && json_ws(*p))
                p++;
            if (p == end)
                goto out;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p++ != ',')
                goto out;
            while (p < end && json_ws(*p))
                p++;
        }
    }
    while (p < end && json_ws(*p))
        p++;
    if (p != end)
        goto out;

    /* The slow path's rules, in its order; every error is left to it. */
    char numbuf[32];
    const char *id;
    size_t id_len;
    if (v[JF_ID].kind == 2) {
        id = v[JF_ID].s;
        id_len = v[JF_ID].n;
    } else if (v[JF_ID].kind == 3) {
        snprintf(numbuf, sizeof(numbuf), "%lld", v[JF_ID].i);
        id = numbuf;
        id_len = strlen(numbuf);
    } else {
        goto out;
    }
    if (id_len == 0 || v[JF_BODY].kind != 2)
        goto out;
    if (v[JF_TITLE].kind == 3 || v[JF_AUTHOR].kind == 3 ||
        v[JF_URL].kind == 3)
        goto out;
    int64_t date = TRAWL_NO_DATE;
    if (v[JF_DATE].kind == 3) {
        if (!json_seconds_ok(v[JF_DATE].i))
            goto out; /* the slow path says why */
        date = v[JF_DATE].i;
    } else if (v[JF_DATE].kind == 2) {
        if (parse_json_date(v[JF_DATE].s, v[JF_DATE].n, &date) < 0)
            goto out;
    }

    if (v[JF_ID].kind == 2) {
        out->id = v[JF_ID].s;
        v[JF_ID].s = NULL;
    } else if ((out->id = dup_n(id, id_len)) == NULL) {
        rc = TRAWL_ENOMEM;
        goto out;
    }
    out->id_len = id_len;
    out->body = v[JF_BODY].s;
    out->body_len = v[JF_BODY].n;
    v[JF_BODY].s = NULL;
    if (v[JF_TITLE].kind == 2) {
        out->title = v[JF_TITLE].s;
        out->title_len = v[JF_TITLE].n;
        v[JF_TITLE].s = NULL;
    } else if ((out->title = dup_n("", 0)) == NULL) {
        rc = TRAWL_ENOMEM;
        goto out;
    }
    if (v[JF_AUTHOR].kind == 2) {
        out->author = v[JF_AUTHOR].s;
        out->author_len = v[JF_AUTHOR].n;
        v[JF_AUTHOR].s = NULL;
    }
    if (v[JF_URL].kind == 2) {
        out->url = v[JF_URL].s;
        out->url_len = v[JF_URL].n;
        v[JF_URL].s = NULL;
    }
    if (x.n > 0) {
        if (jx_put(&x, "}", 1) < 0) {
            rc = TRAWL_ENOMEM;
            goto out;
        }
        x.s[x.n] = '\0';
        out->extra = x.s;
        out->extra_len = x.n;
        x.s = NULL;
    }
    out->date = date;
    rc = 1;
out:
    for (int f = 0; f < JF_N; f++)
        free(v[f].s);
    free(x.s);
    if (rc != 1)
        trawl_article_clear(out);
    return rc;
}

static int json_slow(trawl_article *out, const char *line, size_t len,
                     const jf_keys *keys, int checked, trawl_err *err);

static int parse_json_keys(trawl_article *out, const char *line, size_t len,
                           const jf_keys *keys, trawl_err *err)
{
    article_init(out);
    if (!trawl_utf8_valid(line, len))
        return trawl_err_set(err, TRAWL_EINVAL, "invalid UTF-8");
    int rc = json_fast(out, line, len, keys);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return trawl_err_set(err, rc, "out of memory");
    return json_slow(out, line, len, keys, 1, err);
}

/* The keys of fields: jf_default for NULL or the default names, else
 * resolved into *buf. */
static const jf_keys *jf_keys_of(const trawl_json_fields *fields,
                                 jf_keys *buf)
{
    if (fields == NULL)
        return &jf_default;
    jf_resolve(buf, fields);
    return buf->mapped != 0 ? buf : &jf_default;
}

int trawl_article_parse_json(trawl_article *out, const char *line,
                             size_t len, trawl_err *err)
{
    return parse_json_keys(out, line, len, &jf_default, err);
}

int trawl_article_parse_json_fields(trawl_article *out, const char *line,
                                    size_t len,
                                    const trawl_json_fields *fields,
                                    trawl_err *err)
{
    jf_keys buf;
    return parse_json_keys(out, line, len, jf_keys_of(fields, &buf), err);
}

/* The two paths alone, for tests (declared in internal.h). */
int trawl__article_parse_json_slow(trawl_article *out, const char *line,
                                   size_t len, trawl_err *err)
{
    return json_slow(out, line, len, &jf_default, 0, err);
}

int trawl__article_parse_json_fields_slow(trawl_article *out,
                                          const char *line, size_t len,
                                          const trawl_json_fields *fields,
                                          trawl_err *err)
{
    jf_keys buf;
    return json_slow(out, line, len, jf_keys_of(fields, &buf), 0, err);
}

int trawl__article_parse_json_fields_fast(trawl_article *out,
                                          const char *line, size_t len,
                                          const trawl_json_fields *fields)
{
    jf_keys buf;
    article_init(out);
    if (!trawl_utf8_valid(line, len))
        return 0;
    return json_fast(out, line, len, jf_keys_of(fields, &buf));
}

/* ---- field mappings ---- */

int trawl_json_fields_set(trawl_json_fields *fields, const char *spec,
                          trawl_err *err)
{
    const char **slot[JF_N] = {&fields->id,   &fields->title,
                               &fields->body, &fields->date,
                               &fields->author, &fields->url};
    int n = jf_clip(spec);
    const char *eq = strchr(spec, '=');
    if (eq == NULL)
        return trawl_err_set(err, TRAWL_EINVAL,
                             "\"%.*s\" is not FIELD=KEY (e.g. body=text: "
                             "the body is read from the member \"text\")",
                             n, spec);
    size_t fn = (size_t)(eq - spec);
    int f = 0;
    while (f < JF_N &&
           !(strlen(jf_names[f]) == fn && memcmp(jf_names[f], spec, fn) == 0))
        f++;
    if (f == JF_N)
        return trawl_err_set(err, TRAWL_EINVAL,
                             "unknown field \"%.*s\" in \"%.*s\": FIELD is "
                             "id, title, body, date, author or url",
                             (int)(fn < 100 ? fn : 100), spec, n, spec);
    const char *key = eq + 1;
    if (key[0] == '\0')
        return trawl_err_set(err, TRAWL_EINVAL,
                             "empty KEY in \"%.*s\": the name of the member "
                             "the %s is read from", n, spec, jf_names[f]);
    if (!trawl_utf8_valid(key, strlen(key)))
        return trawl_err_set(err, TRAWL_EINVAL,
                             "KEY in \"%s=...\" is not UTF-8 (JSON member "
                             "names are)", jf_names[f]);
    if (*slot[f] != NULL)
        return trawl_err_set(err, TRAWL_EINVAL,
                             "the %s is mapped twice: %s=%.*s and %.*s",
                             jf_names[f], jf_names[f], jf_clip(*slot[f]),
                             *slot[f], n, spec);
    *slot[f] = key;
    return 0;
}

const char *trawl_json_fields_id_key(const trawl_json_fields *fields)
{
    return fields != NULL && fields->id != NULL ? fields->id : "id";
}

uint64_t trawl_json_fields_seed(const trawl_json_fields *fields)
{
    jf_keys buf;
    const jf_keys *keys = jf_keys_of(fields, &buf);
    if (keys->mapped == 0)
        return 0;
    /* Each effective key with its NUL, in field order, chained: the same
     * for a key given by its own name or left NULL. */
    uint64_t h = 0x7472617766696c64ull; /* "trawfild" */
    for (int f = 0; f < JF_N; f++)
        h = XXH3_64bits_withSeed(keys->k[f], keys->n[f] + 1, h);
    return h != 0 ? h : 1;
}

/* The value of the \\uXXXX escape at p (p[0] is '\\'), or -1. */
static long u_escape(const char *p, const char *end)
{
    unsigned v;
    if (end - p < 6 || p[1] != 'u' ||
        hex4((const unsigned char *)p + 2, &v) < 0)
        return -1;
    return (long)v;
}

/*
 * Every unpaired surrogate escape in line ("\\ud800" alone: what Python's
 * json.dumps writes for text read with errors="surrogateescape") turned
 * into "\\ufffd", the same length, in a copy (*copy, malloc'd; NULL when
 * there is none). Returns how many, or TRAWL_ENOMEM. jansson refuses such
 * a line, and the article was lost for a character that invalid UTF-8
 * elsewhere would have had repaired.
 */
static long fix_lone_surrogates(const char *line, size_t len, char **copy)
{
    const char *end = line + len;
    long fixed = 0;
    *copy = NULL;
    for (const char *p = memchr(line, '\\', len); p != NULL;) {
        long v = u_escape(p, end);
        if (v < 0xd800 || v > 0xdfff) {
            p += 2; /* an escape: its second byte starts nothing */
        } else {
            long lo = v <= 0xdbff && end - p >= 12 && p[6] == '\\'
                          ? u_escape(p + 6, end)
                          : -1;
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                p += 12;
            } else {
                if (*copy == NULL && (*copy = dup_n(line, len)) == NULL)
                    return TRAWL_ENOMEM;
                memcpy(*copy + (p - line), "\\ufffd", 6);
                fixed++;
                p += 6;
            }
        }
        p = p < end ? memchr(p, '\\', (size_t)(end - p)) : NULL;
    }
    return fixed;
}

/* Whether the integer token s[0..n) ("-"? digits) is beyond jansson's
 * 64-bit integers. */
static int int_token_overflows(const char *s, size_t n)
{
    int neg = n > 0 && s[0] == '-';
    uint64_t v = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = (size_t)neg; i < n; i++) {
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (max - dgt) / 10)
            return 1;
        v = v * 10 + dgt;
    }
    return 0;
}

/*
 * line (valid JSON but for integers beyond 64 bits, which jansson
 * refuses: a uint64 hash or counter as Python's json.dumps writes it)
 * with every such integer made a real of the same length in a copy
 * (*copy, malloc'd; NULL when there is none): its last two digits become
 * "e2" (18446744073709551615 is 184467440737095516e2), which a double
 * cannot tell from the number anyway, and every column stays where it
 * was for the messages. The article is not lost for a member it does
 * not even read: another member keeps the number as a real, a date so
 * large is out of range (the article is undated), a title or body is
 * not a string. The top-level member id_key, the id, is read as its
 * digits, as an integer id is: *id_digits (malloc'd) when it is such a
 * number, else NULL. Returns how many were made reals, or TRAWL_ENOMEM.
 */
static long widen_big_ints(const char *line, size_t len, const char *id_key,
                           char **copy, char **id_digits)
{
    const char *p = line, *end = line + len;
    size_t key_len = strlen(id_key);
    int depth = 0, want_key = 0, at_id = 0;
    long n = 0;

    *copy = NULL;
    *id_digits = NULL;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            const char *s = ++p;
            int esc = 0;
            while (p < end && *p != '"') {
                if (*p == '\\') {
                    esc = 1;
                    p++;
                }
                p++;
            }
            /* A key of the record: is it the id's? (One written with
             * escapes is not looked at: its number stays a real.) */
            if (depth == 1 && want_key) {
                at_id = !esc && p <= end && (size_t)(p - s) == key_len &&
                        memcmp(s, id_key, key_len) == 0;
                want_key = 0;
            }
            if (p < end)
                p++;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            const char *s = p++;
            while (p < end && *p >= '0' && *p <= '9')
                p++;
            int integer = !(p < end && (*p == '.' || *p == 'e' || *p == 'E'));
            while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' ||
                               *p == 'e' || *p == 'E' || *p == '+' ||
                               *p == '-'))
                p++;
            if (!integer || !int_token_overflows(s, (size_t)(p - s)))
                continue;
            /* 19 digits or more: two to spare */
            if (*copy == NULL && (*copy = dup_n(line, len)) == NULL)
                goto nomem;
            memcpy(*copy + (p - line) - 2, "e2", 2);
            if (depth == 1 && at_id && *id_digits == NULL &&
                (*id_digits = dup_n(s, (size_t)(p - s))) == NULL)
                goto nomem;
            n++;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            want_key = depth == 1 && c == '{';
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            want_key = 1;
        }
        p++;
    }
    return n;
nomem:
    free(*copy);
    *copy = NULL;
    free(*id_digits);
    *id_digits = NULL;
    return TRAWL_ENOMEM;
}

/* A string value without its NUL characters ("\\u0000": JSON allows
 * them, trawl does not store them). */
static char *dup_text(const char *s, size_t n, size_t *out_n)
{
    char *p = malloc(n + 1);
    size_t o = 0;
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\0')
            p[o++] = s[i];
    p[o] = '\0';
    *out_n = o;
    return p;
}

/* The NUL characters out of every string in v (extra fields). */
static int drop_nuls(json_t *v)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v), m;
        if (memchr(json_string_value(v), '\0', n) == NULL)
            return 0;
        char *t = dup_text(json_string_value(v), n, &m);
        int rc = t == NULL ? -1 : json_string_setn_nocheck(v, t, m);
        free(t);
        return rc;
    }
    const char *key;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, m) {
            if (drop_nuls(m) < 0)
                return -1;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            if (drop_nuls(m) < 0)
                return -1;
        }
    }
    return 0;
}

/* When the body's member is missing and not mapped: the member of
 * another tool's name for the text that the line has (its --field
 * body=KEY reads it), or NULL. */
static const char *body_elsewhere(json_t *root, const jf_keys *keys)
{
    /* the full text first, then a summary (HuffPost's
     * short_description) */
    static const char *const others[] = {
        "text",        "content",      "article",     "contents",
        "Body",        "Text",         "maintext",    "articleBody",
        "article_body", "full_text",   "fulltext",    "story",
        "Content",     "description",  "short_description", "summary",
        "abstract"};
    if ((keys->mapped >> JF_BODY & 1) ||
        json_object_get(root, keys->k[JF_BODY]) != NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (json_is_string(json_object_get(root, others[i])))
            return others[i];
    return NULL;
}

/* checked: the line is known to be valid UTF-8 (parse_json_keys checked
 * it before the fast path; a second scan cost 3% of an Arabic dump). */
static int json_slow(trawl_article *out, const char *line, size_t len,
                     const jf_keys *keys, int checked, trawl_err *err)
{
    json_error_t jerr;
    char why[256];
    json_t *root = NULL, *extra = NULL;
    int rc = 0;
    const char *s;
    size_t n;
    char numbuf[32];
    char *big_id = NULL;

    article_init(out);
    /* jansson checks this too, but its message names a byte, not the
     * problem. */
    if (!checked && !trawl_utf8_valid(line, len))
        return trawl_err_set(err, TRAWL_EINVAL, "invalid UTF-8");
    char *fixed;
    long lone = fix_lone_surrogates(line, len, &fixed);
    if (lone < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    const char *src = fixed != NULL ? fixed : line;
    root = json_loadb(src, len,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
                          JSON_ALLOW_NUL,
                      &jerr);
    if (root == NULL &&
        json_error_code(&jerr) == json_error_numeric_overflow) {
        /* Integers beyond 64 bits: read as reals, the id as its
         * digits (widen_big_ints). */
        char *wide;
        long w = widen_big_ints(src, len, keys->k[JF_ID], &wide, &big_id);
        if (w < 0) {
            free(fixed);
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        }
        if (w > 0) {
            /* a fault further on is reported at its own column */
            root = json_loadb(wide, len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
                                  JSON_ALLOW_NUL,
                              &jerr);
            free(wide);
        }
    }
    free(fixed);
    out->replaced = (size_t)lone;
    if (root == NULL) {
        free(big_id);
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return trawl_err_set(err, TRAWL_EINVAL, "invalid UTF-8");
        return trawl_err_set(err, TRAWL_EINVAL, "bad JSON at column %d: %s",
                             jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "line is not a JSON object");
        goto done;
    }

    /* id: a non-empty string or an integer. */
    const char *kid = keys->k[JF_ID];
    int cid = jf_clip(kid);
    json_t *jid = json_object_get(root, kid);
    if (jid == NULL && !(keys->mapped >> JF_ID & 1)) {
        /* Records without "id" (cc_news) or with another name for it:
         * the option that reads one. */
        static const char *const others[] = {"_id", "guid", "uuid",
                                             "url", "link"};
        const char *other = NULL;
        for (size_t i = 0;
             other == NULL && i < sizeof(others) / sizeof(others[0]); i++) {
            json_t *o = json_object_get(root, others[i]);
            if (json_is_string(o) || json_is_integer(o))
                other = others[i];
        }
        /* The body may be missing too (SaudiNewsNet: "url" and
         * "content"): name both options, not one per run. */
        const char *text = body_elsewhere(root, keys);
        char also[96] = "";
        if (text != NULL)
            snprintf(also, sizeof(also), "; the body too: --field body=%s",
                     text);
        if (other != NULL)
            rc = trawl_err_set(err, TRAWL_EINVAL,
                               "missing field \"id\" (--field id=%s reads "
                               "the id from \"%s\")%s",
                               other, other, also);
        else
            rc = trawl_err_set(err, TRAWL_EINVAL,
                               "missing field \"id\"%s", also);
        goto done;
    }
    if (jid == NULL) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "missing field \"%.*s\"%s",
                           cid, kid, jf_why(keys, JF_ID, why, sizeof(why)));
        goto done;
    }
    if (json_is_string(jid)) {
        s = json_string_value(jid);
        n = json_string_length(jid);
    } else if (json_is_integer(jid)) {
        snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(jid));
        s = numbuf;
        n = strlen(numbuf);
    } else if (json_is_real(jid) && big_id != NULL) {
        s = big_id;
        n = strlen(big_id);
    } else {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "field \"%.*s\" is not a string or an integer%s",
                           cid, kid, jf_why(keys, JF_ID, why, sizeof(why)));
        goto done;
    }
    if (n == 0) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "field \"%.*s\" is empty%s",
                           cid, kid, jf_why(keys, JF_ID, why, sizeof(why)));
        goto done;
    }
    if (memchr(s, '\0', n) != NULL) {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "field \"%.*s\" holds a NUL character "
                           "(\\u0000)%s",
                           cid, kid, jf_why(keys, JF_ID, why, sizeof(why)));
        goto done;
    }
    if ((out->id = dup_n(s, n)) == NULL)
        goto nomem;
    out->id_len = n;

    const char *kbody = keys->k[JF_BODY];
    json_t *jbody = json_object_get(root, kbody);
    if (jbody == NULL || !json_is_string(jbody)) {
        /* Other tools' name for the text: say which field trawl reads,
         * and the option that reads theirs. */
        const char *other = jbody == NULL ? body_elsewhere(root, keys)
                                          : NULL;
        if (other != NULL)
            rc = trawl_err_set(err, TRAWL_EINVAL,
                               "missing string field \"body\" (the text "
                               "is read from \"body\", not \"%s\"); "
                               "--field body=%s reads it",
                               other, other);
        else
            rc = jbody != NULL
                     ? wrong_type(keys, JF_BODY, jbody, err)
                     : trawl_err_set(err, TRAWL_EINVAL,
                                     "missing string field \"%.*s\"%s",
                                     jf_clip(kbody), kbody,
                                     jf_why(keys, JF_BODY, why,
                                            sizeof(why)));
        goto done;
    }
    if ((out->body = dup_text(json_string_value(jbody),
                              json_string_length(jbody),
                              &out->body_len)) == NULL)
        goto nomem;

    if ((rc = opt_string(root, keys, JF_TITLE, &s, &n, err)) < 0)
        goto done;
    if ((out->title = dup_text(s != NULL ? s : "", n, &out->title_len)) ==
        NULL)
        goto nomem;

    if ((rc = opt_byline(root, keys, &out->author, &out->author_len,
                         err)) < 0)
        goto done;
    if ((rc = opt_string(root, keys, JF_URL, &s, &n, err)) < 0)
        goto done;
    if (s != NULL) {
        if ((out->url = dup_text(s, n, &out->url_len)) == NULL)
            goto nomem;
    }

    /* date: an ISO 8601 string, or a number of seconds since the epoch. */
    json_t *jdate = json_object_get(root, keys->k[JF_DATE]);
    if (jdate != NULL && json_is_integer(jdate)) {
        json_int_t t = json_integer_value(jdate);
        if (!json_seconds_ok(t)) {
            /* Milliseconds (JavaScript's Date.now(), Java's
             * currentTimeMillis()) were dated 9999-12-31. */
            rc = trawl_err_set(err, TRAWL_EINVAL, "bad date %lld (seconds "
                               "since 1970 out of range: years 1..9999%s)",
                               (long long)t,
                               json_seconds_ok(t / 1000)
                                   ? "; milliseconds?" : "");
            goto done;
        }
        out->date = t;
    } else if (jdate != NULL && json_is_string(jdate)) {
        if (parse_json_date(json_string_value(jdate),
                            json_string_length(jdate), &out->date) < 0) {
            rc = trawl_err_set(err, TRAWL_EINVAL, "bad date \"%.64s\"",
                               json_string_value(jdate));
            goto done;
        }
    } else if (jdate != NULL && json_is_real(jdate)) {
        /* seconds with a fraction (Python's time.time(), JavaScript's
         * Date.now() / 1000): the second it falls in, years 1..9999 */
        double v = json_real_value(jdate);
        if (!(v >= -62135596800.0 && v < 253402300800.0)) {
            rc = trawl_err_set(err, TRAWL_EINVAL, "bad date %.6g (seconds "
                               "since 1970 out of range)", v);
            goto done;
        }
        int64_t t = (int64_t)v;
        if ((double)t > v)
            t--;
        out->date = t;
    } else if (jdate != NULL && !json_is_null(jdate)) {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "field \"%.*s\" is not a string or a number%s",
                           jf_clip(keys->k[JF_DATE]), keys->k[JF_DATE],
                           jf_why(keys, JF_DATE, why, sizeof(why)));
        goto done;
    }

    /* Everything else goes to extra, in the order it came (with a
     * mapping, the default names no field reads too). */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        int f = 0;
        while (f < JF_N && strcmp(key, keys->k[f]) != 0)
            f++;
        if (f < JF_N)
            continue;
        if (extra == NULL && (extra = json_object()) == NULL)
            goto nomem;
        if (json_object_set(extra, key, val) < 0)
            goto nomem;
    }
    if (extra != NULL) {
        if (drop_nuls(extra) < 0)
            goto nomem;
        out->extra = json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (out->extra == NULL)
            goto nomem;
        out->extra_len = strlen(out->extra);
    }
    goto done;

nomem:
    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
done:
    free(big_id);
    json_decref(extra);
    json_decref(root);
    if (rc < 0)
        trawl_article_clear(out);
    return rc;
}
