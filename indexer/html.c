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
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

/* Tags that article markup is made of; one of them (or a character
 * reference) makes a body HTML. */
static const char *const tags[] = {
    "p",       "br",      "div",      "span",       "a",        "b",
    "i",       "em",      "strong",   "ul",         "ol",       "li",
    "h1",      "h2",      "h3",       "h4",         "h5",       "h6",
    "img",     "hr",      "blockquote", "figure",   "figcaption", "table",
    "tr",      "td",      "th",       "script",     "style",    "iframe",
    "section", "article", "header",   "footer",     "small",    "sup",
    "sub",     "u",       "pre",      "code",       "font",     "center",
    /* a whole page, and the rest of HTML 5's text markup */
    "html",    "head",    "body",     "title",      "meta",     "main",
    "nav",     "aside",   "dl",       "dt",         "dd",       "thead",
    "tbody",   "caption", "time",     "mark",       "cite",     "abbr",
    "del",     "ins",     "noscript", "picture",    "video",    "audio",
    "svg",     "wbr",     "address",  "details",    "summary",  NULL};

/* Where a block ends, a line does. */
static const char *const blocks[] = {
    "p",      "br",         "div",     "li",      "ul",     "ol",   "h1",
    "h2",     "h3",         "h4",      "h5",      "h6",     "hr",   "blockquote",
    "figure", "figcaption", "table",   "tr",      "section", "article",
    "header", "footer",     "pre",     "dd",      "dt",     "dl",   "center",
    "aside",  "nav",        "main",    "address", "details", "summary",
    "caption", NULL};

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
            if (end - q >= 8 &&
                strncasecmp((const char *)q, "!doctype", 8) == 0)
                return 1;
            if (q < end && *q == '/')
                q++;
            const unsigned char *name = q;
            while (q < end && is_alnum(*q))
                q++;
            if (q > name && q < end &&
                (*q == '>' || *q == ' ' || *q == '/' || *q == '\t' ||
                 *q == '\n' || *q == '\r') &&
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

/*
 * The text is made while libxml2's parser reads (its SAX interface), not
 * from a tree: a tree of a large body took 30 times its size (a 22 MB
 * body of paragraphs, 700 MB), libxml2 cut a tree's text node at 10 MB
 * and stopped at 256 open elements (unclosed <font> or <div> of old or
 * broken markup: the text after them was lost, or all of it), and a walk
 * of the tree recursed once per level.
 */
typedef struct out {
    char *p;
    size_t len, cap;
    int newlines; /* newlines at the end of p (2 at most are kept) */
    int space;    /* a space is owed before the next text */
    int failed;
    unsigned long skip; /* inside this many skipped elements */
    unsigned long pre;  /* inside this many <pre> (white space kept) */
    int lines;          /* no block markup: the text's own line breaks
                           are its paragraphs (plain text with an entity) */
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

/* At most `want` (1 or 2) newlines end the text (none at its start). */
static void newlines(out *o, int want)
{
    if (o->len == 0)
        return;
    o->space = 0;
    while (o->newlines < want) {
        put(o, "\n", 1);
        o->newlines++;
    }
}

static void line_break(out *o)
{
    newlines(o, 2);
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/*
 * Text, its runs of white space made one space (as a browser shows it);
 * inside <pre> kept as they are; in a body without block markup a run
 * holding a line break is a line break (two: a paragraph).
 */
static void text(out *o, const unsigned char *s, size_t n)
{
    const unsigned char *end = s + n;
    if (o->skip > 0)
        return;
    if (o->pre > 0) {
        if (n == 0)
            return;
        if (o->space && o->len > 0 && o->newlines == 0)
            put(o, " ", 1);
        o->space = 0;
        put(o, (const char *)s, n);
        size_t k = 0;
        while (k < n && s[n - 1 - k] == '\n')
            k++;
        if (k < n)
            o->newlines = k > 2 ? 2 : (int)k;
        else
            o->newlines = o->newlines + k > 2 ? 2 : o->newlines + (int)k;
        return;
    }
    while (s < end) {
        if (is_space(*s)) {
            int nl = 0;
            while (s < end && is_space(*s))
                nl += *s++ == '\n';
            if (o->lines && nl > 0)
                newlines(o, nl > 1 ? 2 : 1);
            else
                o->space = o->len > 0 && o->newlines == 0;
            continue;
        }
        if (o->space) {
            put(o, " ", 1);
            o->space = 0;
        }
        const unsigned char *run = s;
        while (s < end && !is_space(*s))
            s++;
        put(o, (const char *)run, (size_t)(s - run));
        o->newlines = 0;
    }
}

/* Elements whose text is set apart from the next one's by a space, as a
 * browser shows them (table cells, images and form controls). */
static const char *const apart[] = {"td",     "th",    "img",
                                    "option", "input", "button",
                                    "select", "textarea", "label", NULL};

/* Elements whose white space is kept. */
static const char *const preformatted[] = {"pre", "textarea", "listing",
                                           "xmp", "plaintext", NULL};

static void on_start(void *ctx, const xmlChar *name, const xmlChar **attrs)
{
    out *o = ((xmlParserCtxtPtr)ctx)->_private;
    (void)attrs;
    if (name == NULL)
        return;
    size_t n = strlen((const char *)name);
    if (o->skip > 0 || in_list(skipped, (const char *)name, n)) {
        o->skip++;
        return;
    }
    if (in_list(blocks, (const char *)name, n))
        line_break(o);
    else if (in_list(apart, (const char *)name, n))
        o->space = o->len > 0 && o->newlines == 0;
    if (in_list(preformatted, (const char *)name, n))
        o->pre++;
}

static void on_end(void *ctx, const xmlChar *name)
{
    out *o = ((xmlParserCtxtPtr)ctx)->_private;
    if (name == NULL)
        return;
    if (o->skip > 0) {
        o->skip--;
        return;
    }
    size_t n = strlen((const char *)name);
    if (in_list(preformatted, (const char *)name, n) && o->pre > 0)
        o->pre--;
    if (in_list(blocks, (const char *)name, n))
        line_break(o);
    else if (in_list(apart, (const char *)name, n))
        o->space = o->len > 0 && o->newlines == 0;
}

static void on_text(void *ctx, const xmlChar *s, int len)
{
    out *o = ((xmlParserCtxtPtr)ctx)->_private;
    if (s != NULL && len > 0)
        text(o, s, (size_t)len);
}

/* Does the markup hold a tag of a block (<p>, <br>, <div>...)? */
static int has_block_tag(const char *html, size_t len)
{
    const unsigned char *s = (const unsigned char *)html, *end = s + len;
    const unsigned char *p = s;
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        const unsigned char *q = ++p;
        if (q < end && *q == '/')
            q++;
        const unsigned char *name = q;
        while (q < end && is_alnum(*q))
            q++;
        if (q > name && (q == end || !is_alnum(*q)) &&
            in_list(blocks, (const char *)name, (size_t)(q - name)))
            return 1;
    }
    return 0;
}

/* The first `what` in s[0, n), or NULL. */
static const char *find(const char *s, size_t n, const char *what)
{
    size_t k = strlen(what);
    const char *end = s + n;
    while (n >= k && (s = memchr(s, what[0], n - k + 1)) != NULL) {
        if (memcmp(s, what, k) == 0)
            return s;
        s++;
        n = (size_t)(end - s);
    }
    return NULL;
}

/*
 * html without its CDATA markers (an RSS item's content copied with
 * them: "<![CDATA[<p>...</p>]]>"), which the HTML parser reads as text:
 * a copy, or NULL when there are none (or out of memory: *failed).
 */
static char *drop_cdata(const char *html, size_t len, size_t *out_len,
                        int *failed)
{
    static const char opening[] = "<![CDATA[", closing[] = "]]>";
    const char *at = find(html, len, opening);
    if (at == NULL)
        return NULL;
    char *c = malloc(len + 1);
    if (c == NULL) {
        *failed = 1;
        return NULL;
    }
    size_t n = 0;
    const char *p = html, *end = html + len;
    while (at != NULL) {
        memcpy(c + n, p, (size_t)(at - p));
        n += (size_t)(at - p);
        p = at + sizeof(opening) - 1;
        const char *stop = find(p, (size_t)(end - p), closing);
        if (stop == NULL)
            break;
        memcpy(c + n, p, (size_t)(stop - p));
        n += (size_t)(stop - p);
        p = stop + sizeof(closing) - 1;
        at = find(p, (size_t)(end - p), opening);
    }
    memcpy(c + n, p, (size_t)(end - p));
    n += (size_t)(end - p);
    c[n] = '\0';
    *out_len = n;
    return c;
}

/*
 * Elements whose content the parser takes as it comes, up to their end
 * tag (script, style, title, textarea...), and those left out of the
 * text: an opening one without its end tag after it is the mention of a
 * tag in text ("attackers inject <script> into forms"), not markup, and
 * swallowed the rest of the article. Such a '<' is made "&lt;".
 */
static const char *const raw[] = {"script",   "style",    "title",
                                  "textarea", "xmp",      "iframe",
                                  "noembed",  "noframes", "noscript",
                                  "template", NULL};

/* The raw element whose tag (an end tag if end) starts at s[0] == '<'
 * ("<script>", "<SCRIPT src=...", "</script >"), or -1. */
static int raw_tag(const unsigned char *s, const unsigned char *stop, int end)
{
    const unsigned char *q = s + 1;
    if (end) {
        if (q == stop || *q != '/')
            return -1;
        q++;
    }
    const unsigned char *name = q;
    while (q < stop && is_alpha(*q))
        q++;
    if (q == name || (q < stop && *q != '>' && *q != '/' && !is_space(*q)))
        return -1;
    for (int i = 0; raw[i] != NULL; i++)
        if (strlen(raw[i]) == (size_t)(q - name) &&
            strncasecmp(raw[i], (const char *)name, (size_t)(q - name)) == 0)
            return i;
    return -1;
}

/*
 * A copy of html with the '<' of every raw element's start tag that has
 * no end tag after it made "&lt;" (*out_len), or NULL when there is none
 * (or out of memory: *failed). One pass: once an element has no end tag
 * after some point, it has none after any later one.
 */
static char *escape_unclosed(const char *html, size_t len, size_t *out_len,
                             int *failed)
{
    const unsigned char *s = (const unsigned char *)html, *stop = s + len;
    const unsigned char *p = s;
    int none_after[sizeof(raw) / sizeof(raw[0])] = {0};
    size_t *at = NULL, n = 0, cap = 0;

    while ((p = memchr(p, '<', (size_t)(stop - p))) != NULL) {
        int k = raw_tag(p, stop, 0);
        if (k < 0) {
            p++;
            continue;
        }
        const unsigned char *q = p + 1, *close = NULL;
        while (!none_after[k] &&
               (q = memchr(q, '<', (size_t)(stop - q))) != NULL) {
            if (raw_tag(q, stop, 1) == k) {
                close = q;
                break;
            }
            q++;
        }
        if (close != NULL) {
            p = close + 1;
            continue;
        }
        none_after[k] = 1;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            size_t *grown = realloc(at, cap * sizeof(*at));
            if (grown == NULL) {
                free(at);
                *failed = 1;
                return NULL;
            }
            at = grown;
        }
        at[n++] = (size_t)(p - s);
        p++;
    }
    if (n == 0)
        return NULL;
    char *c = malloc(len + 3 * n + 1);
    if (c == NULL) {
        free(at);
        *failed = 1;
        return NULL;
    }
    size_t o = 0, from = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(c + o, html + from, at[i] - from);
        o += at[i] - from;
        memcpy(c + o, "&lt;", 4);
        o += 4;
        from = at[i] + 1;
    }
    memcpy(c + o, html + from, len - from);
    o += len - from;
    c[o] = '\0';
    free(at);
    *out_len = o;
    return c;
}

int trawl_html_text(const char *html, size_t len, char **out_p,
                    size_t *out_len)
{
    int failed = 0;
    size_t clen = 0;
    char *copy = drop_cdata(html, len, &clen, &failed);
    if (failed)
        return -1;
    if (copy != NULL) {
        html = copy;
        len = clen;
    }
    char *escaped = escape_unclosed(html, len, &clen, &failed);
    if (failed) {
        free(copy);
        return -1;
    }
    if (escaped != NULL) {
        free(copy);
        copy = escaped;
        html = copy;
        len = clen;
    }
    if (len > (size_t)INT32_MAX) {
        free(copy);
        return -1;
    }
    out o;
    memset(&o, 0, sizeof(o));
    o.lines = !has_block_tag(html, len);
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (ctxt == NULL) {
        free(copy);
        return -1;
    }
    /* Only these callbacks: no tree is built. */
    memset(ctxt->sax, 0, sizeof(*ctxt->sax));
    ctxt->sax->startElement = on_start;
    ctxt->sax->endElement = on_end;
    ctxt->sax->characters = on_text;
    ctxt->sax->ignorableWhitespace = on_text;
    ctxt->sax->cdataBlock = on_text; /* script and style: skipped */
    ctxt->sax->initialized = 1;
    ctxt->_private = &o;
    /* HUGE: no limit on nesting (unclosed tags) or text length; the
     * body is UTF-8 whatever a <meta charset> in it says. */
    htmlDocPtr doc = htmlCtxtReadMemory(
        ctxt, html, (int)len, NULL, "UTF-8",
        HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
            HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE);
    if (doc != NULL)
        xmlFreeDoc(doc);
    htmlFreeParserCtxt(ctxt);
    free(copy);
    if (o.failed) {
        free(o.p);
        return -1;
    }
    if (o.p == NULL && (o.p = calloc(1, 1)) == NULL)
        return -1; /* markup without text */
    while (o.len > 0 && (o.p[o.len - 1] == '\n' || o.p[o.len - 1] == ' '))
        o.p[--o.len] = '\0';
    *out_p = o.p;
    *out_len = o.len;
    return 0;
}
