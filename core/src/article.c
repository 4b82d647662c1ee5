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
static int64_t days_from_civil(int64_t y, int m, int d)
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
    *out = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
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
        if (parse_clock(c, &hh, &mm, &ss) < 0)
            return -1;
        if (cur_char(c, 'Z') || cur_char(c, 'z')) {
            /* UTC */
        } else if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
            int sign = *c->p++ == '-' ? -1 : 1, oh, om = 0;
            if (cur_fixed(c, 2, &oh) < 0)
                return -1;
            if (cur_char(c, ':')) {
                if (cur_fixed(c, 2, &om) < 0)
                    return -1;
            } else if (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                if (cur_fixed(c, 2, &om) < 0)
                    return -1;
            }
            if (oh > 23 || om > 59)
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (make_time(y, m, d, hh, mm, ss, out) < 0)
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
    if (cur_digits(c, 4, 4, &y) < 0)
        goto fail;

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
        }
    }
    if (make_time(y, m, d, hh, mm, ss, out) < 0)
        goto fail;
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

/* Lines of site navigation that some saved pages start with. */
static int is_boilerplate(span t)
{
    return span_ieq(t, "go to contents") || span_ieq(t, "skip to content") ||
           span_ieq(t, "skip to main content");
}

enum { H_NONE = -1, H_OTHER = 0, H_TITLE, H_DATE, H_AUTHOR, H_URL };

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
    if (span_ieq(key, "title"))
        return H_TITLE;
    if (span_ieq(key, "date"))
        return H_DATE;
    if (span_ieq(key, "author"))
        return H_AUTHOR;
    if (span_ieq(key, "url"))
        return H_URL;
    return H_OTHER;
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
static span strip_heading(span t)
{
    size_t i = 0;
    while (i < t.n && i < 6 && t.p[i] == '#')
        i++;
    if (i > 0 && i < t.n && (t.p[i] == ' ' || t.p[i] == '\t'))
        return trim(t.p + i, t.n - i);
    return t;
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

/* Copy text, dropping a UTF-8 BOM and turning "\r\n" into "\n". */
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
        p[o++] = s[i];
    }
    p[o] = '\0';
    *out_len = o;
    return p;
}

int trawl_article_parse_text(trawl_article *out, const char *id,
                             const char *text, size_t len,
                             int64_t fallback_date, trawl_err *err)
{
    char *clean = NULL, *norm = NULL;
    size_t clean_len, norm_len, replaced = 0, id_replaced = 0;
    int rc;

    article_init(out);
    if (trawl_utf8_sanitize(id, strlen(id), &out->id, &out->id_len,
                            &id_replaced) < 0 ||
        trawl_utf8_sanitize(text, len, &clean, &clean_len, &replaced) < 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    norm = normalize_newlines(clean, clean_len, &norm_len);
    free(clean);
    clean = NULL;
    if (norm == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    out->replaced = replaced + id_replaced;

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

    /* Header block: starts with a known key, every line is "Key: value",
     * ends at a blank line (or the end). Otherwise it is not a header. */
    {
        span v;
        line = line_at(p, end, &next);
        if (p < end && header_line(line, &v) > 0) {
            const char *q = p;
            int ok = 1;
            while (q < end) {
                span l = line_at(q, end, &next);
                if (trim(l.p, l.n).n == 0)
                    break;
                if (header_line(l, &v) == H_NONE) {
                    ok = 0;
                    break;
                }
                q = next;
            }
            if (ok) {
                const char *stop = q;
                for (q = p; q < stop; q = next) {
                    span l = line_at(q, end, &next);
                    int h = header_line(l, &v);
                    rc = 0;
                    if (h == H_TITLE) {
                        rc = set_field(&out->title, &out->title_len, v);
                        have_title = 1;
                    } else if (h == H_AUTHOR && v.n > 0) {
                        rc = set_field(&out->author, &out->author_len, v);
                    } else if (h == H_URL && v.n > 0) {
                        rc = set_field(&out->url, &out->url_len, v);
                    } else if (h == H_DATE && !have_date) {
                        /* An unreadable Date: is ignored, not fatal: the
                         * body or the fallback still dates the article. */
                        have_date = trawl_parse_loose_date(v.p, v.n,
                                                           &out->date) == 0;
                    }
                    if (rc < 0) {
                        rc = trawl_err_set(err, rc, "out of memory");
                        goto fail;
                    }
                }
                p = stop;
            }
        }
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
        if (!have_title) {
            rc = set_field(&out->title, &out->title_len, strip_heading(t));
            if (rc < 0) {
                rc = trawl_err_set(err, rc, "out of memory");
                goto fail;
            }
            have_title = 1;
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
    free(clean);
    free(norm);
    trawl_article_clear(out);
    return rc;
}

/* ---- JSON Lines ---- */

/* An optional string member: NULL/absent -> 0 and *v = NULL. */
static int opt_string(json_t *obj, const char *key, const char **v,
                      size_t *n, trawl_err *err)
{
    json_t *j = json_object_get(obj, key);
    *v = NULL;
    *n = 0;
    if (j == NULL || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return trawl_err_set(err, TRAWL_EINVAL,
                             "field \"%s\" is not a string", key);
    *v = json_string_value(j);
    *n = json_string_length(j);
    return 0;
}

int trawl_article_parse_json(trawl_article *out, const char *line,
                             size_t len, trawl_err *err)
{
    json_error_t jerr;
    json_t *root = NULL, *extra = NULL;
    int rc = 0;
    const char *s;
    size_t n;
    char numbuf[32];

    article_init(out);
    /* jansson checks this too, but its message names a byte, not the
     * problem. */
    if (!trawl_utf8_valid(line, len))
        return trawl_err_set(err, TRAWL_EINVAL, "invalid UTF-8");
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
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
    json_t *jid = json_object_get(root, "id");
    if (jid == NULL) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "missing field \"id\"");
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
    } else {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "field \"id\" is not a string or an integer");
        goto done;
    }
    if (n == 0) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "field \"id\" is empty");
        goto done;
    }
    if ((out->id = dup_n(s, n)) == NULL)
        goto nomem;
    out->id_len = n;

    json_t *jbody = json_object_get(root, "body");
    if (jbody == NULL || !json_is_string(jbody)) {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           jbody == NULL ? "missing string field \"body\""
                                         : "field \"body\" is not a string");
        goto done;
    }
    if ((out->body = dup_n(json_string_value(jbody),
                           json_string_length(jbody))) == NULL)
        goto nomem;
    out->body_len = json_string_length(jbody);

    if ((rc = opt_string(root, "title", &s, &n, err)) < 0)
        goto done;
    if ((out->title = dup_n(s != NULL ? s : "", n)) == NULL)
        goto nomem;
    out->title_len = n;

    if ((rc = opt_string(root, "author", &s, &n, err)) < 0)
        goto done;
    if (s != NULL) {
        if ((out->author = dup_n(s, n)) == NULL)
            goto nomem;
        out->author_len = n;
    }
    if ((rc = opt_string(root, "url", &s, &n, err)) < 0)
        goto done;
    if (s != NULL) {
        if ((out->url = dup_n(s, n)) == NULL)
            goto nomem;
        out->url_len = n;
    }

    /* date: an ISO 8601 string, or an integer of seconds since the epoch. */
    json_t *jdate = json_object_get(root, "date");
    if (jdate != NULL && json_is_integer(jdate)) {
        out->date = json_integer_value(jdate);
    } else if (jdate != NULL && json_is_string(jdate)) {
        if (trawl_parse_iso_date(json_string_value(jdate),
                                 json_string_length(jdate), &out->date) < 0) {
            rc = trawl_err_set(err, TRAWL_EINVAL, "bad date \"%.64s\"",
                               json_string_value(jdate));
            goto done;
        }
    } else if (jdate != NULL && !json_is_null(jdate)) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "field \"date\" is not a string");
        goto done;
    }

    /* Everything else goes to extra, in the order it came. */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "id") == 0 || strcmp(key, "title") == 0 ||
            strcmp(key, "body") == 0 || strcmp(key, "date") == 0 ||
            strcmp(key, "author") == 0 || strcmp(key, "url") == 0)
            continue;
        if (extra == NULL && (extra = json_object()) == NULL)
            goto nomem;
        if (json_object_set(extra, key, val) < 0)
            goto nomem;
    }
    if (extra != NULL) {
        out->extra = json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (out->extra == NULL)
            goto nomem;
        out->extra_len = strlen(out->extra);
    }
    goto done;

nomem:
    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
done:
    json_decref(extra);
    json_decref(root);
    if (rc < 0)
        trawl_article_clear(out);
    return rc;
}
