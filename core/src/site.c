/*
 * The host of an article's URL, for site: queries (format.h, site
 * terms): the writer indexes it and its parent domains, the query parser
 * reads a site: value the same way, so "site:BBC.co.uk",
 * "site:https://www.bbc.co.uk/news" and an article's
 * "https://www.bbc.co.uk:443/news/x?y" agree.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "format.h"
#include "internal.h"
#include "trawl/analyze.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

size_t trawl__site_host(const char *url, size_t len, char *out)
{
    size_t a = 0, b = len;
    while (a < b && is_ws(url[a]))
        a++;
    while (b > a && is_ws(url[b - 1]))
        b--;
    /* scheme "://" or a scheme-relative "//" */
    size_t s = a;
    while (s < b && (is_alpha(url[s]) || (s > a && ((url[s] >= '0' &&
                                                     url[s] <= '9') ||
                                                    url[s] == '+' ||
                                                    url[s] == '-' ||
                                                    url[s] == '.'))))
        s++;
    if (s > a && b - s >= 3 && memcmp(url + s, "://", 3) == 0)
        a = s + 3;
    else if (b - a >= 2 && url[a] == '/' && url[a + 1] == '/')
        a += 2;
    size_t e = a;
    while (e < b && url[e] != '/' && url[e] != '?' && url[e] != '#')
        e++;
    for (size_t i = e; i > a; i--) /* user:password@ */
        if (url[i - 1] == '@') {
            a = i;
            break;
        }
    if (a < e && url[a] == '[') { /* an IPv6 literal, then :port */
        const char *close = memchr(url + a, ']', e - a);
        if (close == NULL)
            return 0;
        e = (size_t)(close - url) + 1;
    } else if (a < e) { /* :port */
        size_t c = e;
        while (c > a && url[c - 1] >= '0' && url[c - 1] <= '9')
            c--;
        if (c > a && url[c - 1] == ':')
            e = c - 1;
    }
    while (e > a && url[e - 1] == '.')
        e--;
    if (e == a || e - a > SITE_HOST_MAX || !trawl_utf8_valid(url + a, e - a))
        return 0;
    int ascii = 1;
    for (size_t i = a; i < e; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '(' || c == ')')
            return 0;
        ascii &= c < 0x80;
        out[i - a] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (ascii)
        return e - a;
    /* A name in another script is case-insensitive too (IDNA maps it to
     * lower case): "B\u00dcCHER.de" is "b\u00fccher.de" (NFC, case folded,
     * as the analyzer folds words). */
    utf8proc_uint8_t *f = NULL;
    utf8proc_ssize_t n = utf8proc_map(
        (const utf8proc_uint8_t *)out, (utf8proc_ssize_t)(e - a), &f,
        UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (n <= 0 || (size_t)n > SITE_HOST_MAX) {
        free(f);
        return 0;
    }
    memcpy(out, f, (size_t)n);
    free(f);
    return (size_t)n;
}
