/*
 * HTML article bodies to text (html.h), with libxml2's HTML parser.
 */
#include "html.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* Tags that article markup is made of; one of them (or a character
 * reference) makes a body HTML. */
static const char *const tags[] = {
    "p",      "br",     "div",   "span",       "a",      "b",  "i",
    "em",     "strong", "ul",    "ol",         "li",     "h1", "h2",
    "h3",     "h4",     "h5",    "h6",         "img",    "hr", "blockquote",
    "figure", "figcaption", "table", "tr",     "td",     "th", "script",
    "style",  "iframe", "section", "article",  "header", "footer", "small",
    "sup",    "sub",    "u",     "pre",        "code",   "font", "center",
    NULL};

/* Where a block ends, a line does. */
static const char *const blocks[] = {
    "p",      "br",         "div",     "li",      "ul",     "ol",   "h1",
    "h2",     "h3",         "h4",      "h5",      "h6",     "hr",   "blockquote",
    "figure", "figcaption", "table",   "tr",      "section", "article",
    "header", "footer",     "pre",     "dd",      "dt",     "dl",   "center",
    "aside",  "nav",        NULL};

/* Subtrees that are not the article's text. */
static const char *const skipped[] = {"script", "style", "noscript",
                                      "template", "head", "title", NULL};

static int in_list(const char *const *list, const char *name, size_t n)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strlen(list[i]) == n && strncasecmp(list[i], name, n) == 0)
            return 1;
    return 0;
}

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* Where the next '<' or '&' is in s[from, n), or n: two memchr runs
 * (vectorized in libc), each remembered until passed, rather than a loop
 * over every byte of every body. */
typedef struct marks {
    size_t lt, amp; /* the next '<' / '&' at or after some offset, or n */
    int have_lt, have_amp;
} marks;

static size_t next_mark(const unsigned char *s, size_t n, size_t from,
                        marks *m)
{
    if (!m->have_lt || m->lt < from) {
        const unsigned char *q = memchr(s + from, '<', n - from);
        m->lt = q != NULL ? (size_t)(q - s) : n;
        m->have_lt = 1;
    }
    if (!m->have_amp || m->amp < from) {
        const unsigned char *q = memchr(s + from, '&', n - from);
        m->amp = q != NULL ? (size_t)(q - s) : n;
        m->have_amp = 1;
    }
    return m->lt < m->amp ? m->lt : m->amp;
}

int trawl_html_like(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text, *end = s + len;
    marks m = {0, 0, 0, 0};
    for (size_t at = 0; (at = next_mark(s, len, at, &m)) < len; at++) {
        const unsigned char *p = s + at;
        if (*p == '<') {
            const unsigned char *q = p + 1;
            if (q < end && *q == '/')
                q++;
            const unsigned char *name = q;
            while (q < end && is_alnum(*q))
                q++;
            if (q > name && q < end &&
                (*q == '>' || *q == ' ' || *q == '/' || *q == '\t' ||
                 *q == '\n') &&
                in_list(tags, (const char *)name, (size_t)(q - name)))
                return 1;
        } else if (*p == '&') {
            const unsigned char *q = p + 1;
            if (q < end && *q == '#') {
                q++;
                if (q < end && (*q | 0x20) == 'x')
                    q++;
                const unsigned char *d = q;
                while (q < end && is_alnum(*q) && q - d < 8)
                    q++;
                if (q > d && q < end && *q == ';')
                    return 1;
            } else {
                const unsigned char *d = q;
                while (q < end && is_alpha(*q) && q - d < 8)
                    q++;
                static const char *const ents[] = {
                    "amp", "lt", "gt", "quot", "apos", "nbsp", "mdash",
                    "ndash", "rsquo", "lsquo", "rdquo", "ldquo", "hellip",
                    NULL};
                if (q > d && q < end && *q == ';' &&
                    in_list(ents, (const char *)d, (size_t)(q - d)))
                    return 1;
            }
        }
    }
    return 0;
}

typedef struct out {
    char *p;
    size_t len, cap;
    int newlines; /* newlines at the end of p (2 at most are kept) */
    int space;    /* a space is owed before the next text */
    int failed;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->failed = 1;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void line_break(out *o)
{
    if (o->len == 0)
        return;
    o->space = 0;
    while (o->newlines < 2) {
        put(o, "\n", 1);
        o->newlines++;
    }
}

/* Text, its runs of white space made one space (as a browser shows it). */
static void text(out *o, const unsigned char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
            *s == '\f') {
            o->space = o->len > 0 && o->newlines == 0;
            continue;
        }
        if (o->space) {
            put(o, " ", 1);
            o->space = 0;
        }
        const unsigned char *run = s;
        while (s[1] && s[1] != ' ' && s[1] != '\t' && s[1] != '\n' &&
               s[1] != '\r' && s[1] != '\f')
            s++;
        put(o, (const char *)run, (size_t)(s - run) + 1);
        o->newlines = 0;
    }
}

static void walk(out *o, xmlNode *n, int depth)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content != NULL)
                text(o, n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE || n->name == NULL)
            continue;
        const char *name = (const char *)n->name;
        size_t nl = strlen(name);
        if (in_list(skipped, name, nl))
            continue;
        int block = in_list(blocks, name, nl);
        if (block)
            line_break(o);
        if (depth < 200)
            walk(o, n->children, depth + 1);
        if (block)
            line_break(o);
    }
}

int trawl_html_text(const char *html, size_t len, char **out_p,
                    size_t *out_len)
{
    if (len > (size_t)INT32_MAX)
        return -1;
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_COMPACT);
    if (doc == NULL)
        return -1;
    out o;
    memset(&o, 0, sizeof(o));
    walk(&o, xmlDocGetRootElement(doc), 0);
    xmlFreeDoc(doc);
    if (o.failed) {
        free(o.p);
        return -1;
    }
    if (o.p == NULL && (o.p = calloc(1, 1)) == NULL)
        return -1; /* markup without text */
    while (o.len > 0 && o.p[o.len - 1] == '\n')
        o.p[--o.len] = '\0';
    *out_p = o.p;
    *out_len = o.len;
    return 0;
}
