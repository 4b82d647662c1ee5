/*
 * HTML article bodies to text (html.h), with libxml2's HTML parser.
 */
#include "html.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "trawl/article.h"

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


/* Parse html[0..len) (UTF-8, len <= INT32_MAX) with only these callbacks,
 * priv as the context's _private: no tree is built, nothing is fetched
 * (NONET), no limit on nesting (unclosed tags) or text length (HUGE),
 * and a <meta charset> in it is not followed. 0, or -1 when out of
 * memory. */
static int sax_parse(const char *html, size_t len, startElementSAXFunc start,
                     endElementSAXFunc end, charactersSAXFunc chars,
                     cdataBlockSAXFunc cdata, void *priv)
{
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (ctxt == NULL)
        return -1;
    memset(ctxt->sax, 0, sizeof(*ctxt->sax));
    ctxt->sax->startElement = start;
    ctxt->sax->endElement = end;
    ctxt->sax->characters = chars;
    ctxt->sax->ignorableWhitespace = chars;
    ctxt->sax->cdataBlock = cdata;
    ctxt->sax->initialized = 1;
    ctxt->_private = priv;
    htmlDocPtr doc = htmlCtxtReadMemory(
        ctxt, html, (int)len, NULL, "UTF-8",
        HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
            HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE);
    if (doc != NULL)
        xmlFreeDoc(doc);
    htmlFreeParserCtxt(ctxt);
    return 0;
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
    /* script and style: skipped (on_text) */
    if (sax_parse(html, len, on_start, on_end, on_text, on_text, &o) < 0) {
        free(copy);
        return -1;
    }
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

/* ---- whole pages ------------------------------------------------------ */

/* Subtrees of a page that are not its article's text (a <header> only
 * outside an <article>: inside one it holds the headline and standfirst). */
static const char *const page_skipped[] = {
    "script", "style",  "noscript", "template", "head",   "title",
    "nav",    "footer", "aside",    "form",     "iframe", "svg",
    "button", "select", "dialog",   "object",   "noembed", "noframes", NULL};

/* ARIA roles of the same. */
static const char *const page_roles[] = {
    "navigation", "banner", "contentinfo", "complementary",
    "search",     "dialog", "alertdialog", NULL};

enum { DATE_META, DATE_NAMED, DATE_LD, DATE_TIME, DATE_SLOTS };

/* <meta property> names of the publication date (DATE_META). */
static const char *const date_props[] = {
    "article:published_time", "og:published_time",
    "og:article:published_time", "article:published", "published_time",
    NULL};

/* <meta name> names of it (DATE_NAMED). */
static const char *const date_names[] = {
    "date", "pubdate", "publishdate", "publish-date", "publish_date",
    "dc.date", "dc.date.issued", "dc.date.created", "dcterms.date",
    "dcterms.issued", "dcterms.created", "citation_publication_date",
    "citation_date", "parsely-pub-date", "sailthru.date",
    "article.published", "datepublished", "original-publish-date", NULL};

/* JSON-LD types of an article. */
static const char *const ld_types[] = {
    "Article", "NewsArticle", "BlogPosting", "ReportageNews",
    "AnalysisNewsArticle", "OpinionNewsArticle", "ReviewNewsArticle",
    "BackgroundNewsArticle", "LiveBlogPosting", "TechArticle",
    "ScholarlyArticle", "Report", "SocialMediaPosting", "Blog", NULL};

/* The most JSON-LD kept from one script, and a page's meta values. */
#define LD_MAX ((size_t)1 << 20)
#define META_MAX 4096

typedef struct page {
    out body, main, art, best; /* texts: the page's, <main>'s, the current
                                  outermost <article>'s, the largest one's */
    unsigned long skip;        /* inside this many dropped elements */
    unsigned long art_depth, main_depth, svg, h1_depth;
    int in_title, title_done, in_ld;
    out title, h1, ld;         /* <title>, the current <h1>, a JSON-LD script */
    char *h1_any, *h1_art;     /* the first <h1>, the first in an article */
    char *og_title, *og_url, *canonical, *site;
    char *date[DATE_SLOTS];
    char *art_time, *best_time, *main_time;
    out authors, og_authors, ld_authors; /* ", "-joined */
    int failed;
} page;

static char *dup_str(page *pg, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        pg->failed = 1;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Set *dst to the value, white space collapsed, unless it is set or the
 * value is empty. */
static void set_once(page *pg, char **dst, const char *v)
{
    if (*dst != NULL || v == NULL)
        return;
    size_t n = strlen(v);
    if (n > META_MAX)
        return;
    out o;
    memset(&o, 0, sizeof(o));
    text(&o, (const unsigned char *)v, n);
    if (o.failed)
        pg->failed = 1;
    if (o.len > 0)
        *dst = o.p;
    else
        free(o.p);
}

/* Add a name to a ", "-joined list, unless it is there. */
static void add_name(out *list, const char *v, size_t n)
{
    while (n > 0 && is_space((unsigned char)*v)) {
        v++;
        n--;
    }
    while (n > 0 && is_space((unsigned char)v[n - 1]))
        n--;
    if (n == 0 || n > META_MAX)
        return;
    for (const char *p = list->p; p != NULL && *p != '\0';) {
        const char *e = strstr(p, ", ");
        size_t k = e != NULL ? (size_t)(e - p) : strlen(p);
        if (k == n && memcmp(p, v, n) == 0)
            return;
        p = e != NULL ? e + 2 : p + k;
    }
    if (list->len > 0)
        put(list, ", ", 2);
    out one;
    memset(&one, 0, sizeof(one));
    text(&one, (const unsigned char *)v, n);
    if (one.p != NULL)
        put(list, one.p, one.len);
    list->failed |= one.failed;
    free(one.p);
}

static const char *attr(const xmlChar **attrs, const char *name)
{
    for (size_t i = 0; attrs != NULL && attrs[i] != NULL; i += 2)
        if (strcasecmp((const char *)attrs[i], name) == 0)
            return attrs[i + 1] != NULL ? (const char *)attrs[i + 1] : "";
    return NULL;
}

static int is_url(const char *v)
{
    return strncasecmp(v, "http://", 7) == 0 ||
           strncasecmp(v, "https://", 8) == 0 || strncmp(v, "//", 2) == 0 ||
           strncasecmp(v, "www.", 4) == 0;
}

static int names(const char *const *list, const char *v)
{
    return v != NULL && in_list(list, v, strlen(v));
}

static void on_meta(page *pg, const xmlChar **attrs)
{
    const char *prop = attr(attrs, "property");
    const char *name = attr(attrs, "name");
    const char *item = attr(attrs, "itemprop");
    const char *content = attr(attrs, "content");
    if (content == NULL)
        return;
    const char *key = prop != NULL ? prop : name;
    if (key == NULL) {
        if (item != NULL && strcasecmp(item, "datePublished") == 0)
            set_once(pg, &pg->date[DATE_NAMED], content);
        return;
    }
    if (strcasecmp(key, "og:title") == 0)
        set_once(pg, &pg->og_title, content);
    else if (strcasecmp(key, "og:url") == 0)
        set_once(pg, &pg->og_url, content);
    else if (strcasecmp(key, "og:site_name") == 0 ||
             strcasecmp(key, "application-name") == 0)
        set_once(pg, &pg->site, content);
    else if (names(date_props, key))
        set_once(pg, &pg->date[DATE_META], content);
    else if (names(date_names, key))
        set_once(pg, &pg->date[DATE_NAMED], content);
    else if (strcasecmp(key, "author") == 0 ||
             strcasecmp(key, "dc.creator") == 0 ||
             strcasecmp(key, "parsely-author") == 0)
        add_name(&pg->authors, content, strlen(content));
    else if (strcasecmp(key, "article:author") == 0 && !is_url(content))
        add_name(&pg->og_authors, content, strlen(content));
}

/* Does a space-separated attribute value hold word (any case)? */
static int has_token(const char *v, const char *word)
{
    size_t k = strlen(word);
    for (const char *p = v; p != NULL && *p != '\0';) {
        while (*p != '\0' && is_space((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p != '\0' && !is_space((unsigned char)*p))
            p++;
        if ((size_t)(p - s) == k && strncasecmp(s, word, k) == 0)
            return 1;
    }
    return 0;
}

static int contains_ci(const char *v, const char *word)
{
    size_t k = strlen(word);
    for (; v != NULL && *v != '\0'; v++)
        if (strncasecmp(v, word, k) == 0)
            return 1;
    return 0;
}

/* An element dropped for what its attributes say it is. */
static int dropped_by_attrs(const xmlChar **attrs)
{
    const char *role = attr(attrs, "role");
    if (role != NULL && names(page_roles, role))
        return 1;
    const char *const keys[] = {"id", "class"};
    for (int i = 0; i < 2; i++) {
        const char *v = attr(attrs, keys[i]);
        if (contains_ci(v, "cookie") || contains_ci(v, "consent") ||
            contains_ci(v, "gdpr"))
            return 1;
    }
    return 0;
}

/* The outs the page's text goes to now. */
static int active(page *pg, out **o)
{
    int n = 0;
    o[n++] = &pg->body;
    if (pg->main_depth > 0)
        o[n++] = &pg->main;
    if (pg->art_depth > 0)
        o[n++] = &pg->art;
    return n;
}

static void reset_out(out *o)
{
    o->len = 0;
    if (o->p != NULL)
        o->p[0] = '\0';
    o->newlines = 0;
    o->space = 0;
}

static void finish_h1(page *pg)
{
    if (pg->h1.len > 0) {
        for (size_t i = 0; i < pg->h1.len; i++)
            if (pg->h1.p[i] == '\n')
                pg->h1.p[i] = ' ';
        if (pg->h1_any == NULL)
            pg->h1_any = dup_str(pg, pg->h1.p, pg->h1.len);
        if (pg->h1_art == NULL && (pg->art_depth > 0 || pg->main_depth > 0))
            pg->h1_art = dup_str(pg, pg->h1.p, pg->h1.len);
    }
    reset_out(&pg->h1);
}

/* The names of a JSON-LD author: a string, {"name": ...}, or a list. */
static void ld_author(page *pg, json_t *a, int depth)
{
    if (json_is_string(a)) {
        if (!is_url(json_string_value(a)))
            add_name(&pg->ld_authors, json_string_value(a),
                     strlen(json_string_value(a)));
    } else if (json_is_object(a)) {
        ld_author(pg, json_object_get(a, "name"), depth + 1);
    } else if (json_is_array(a) && depth == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) ld_author(pg, v, depth + 1);
    }
}

static int ld_is_article(json_t *o)
{
    json_t *t = json_object_get(o, "@type");
    if (json_is_string(t))
        return names(ld_types, json_string_value(t));
    size_t i;
    json_t *v;
    json_array_foreach(t, i, v) if (json_is_string(v) &&
                                    names(ld_types, json_string_value(v)))
        return 1;
    return 0;
}

/* The article object of a JSON-LD document: itself, an item of a list,
 * or of its @graph. */
static json_t *ld_find(json_t *j, int depth)
{
    if (json_is_object(j)) {
        if (ld_is_article(j))
            return j;
        json_t *g = json_object_get(j, "@graph");
        return depth < 2 && json_is_array(g) ? ld_find(g, depth + 1) : NULL;
    }
    if (json_is_array(j) && depth < 2) {
        size_t i;
        json_t *v, *f;
        json_array_foreach(j, i, v) if ((f = ld_find(v, depth + 1)) != NULL)
            return f;
    }
    return NULL;
}

static void finish_ld(page *pg)
{
    if (pg->ld.len > 0 && pg->ld.len <= LD_MAX &&
        (pg->date[DATE_LD] == NULL || pg->ld_authors.len == 0)) {
        json_t *j = json_loadb(pg->ld.p, pg->ld.len, 0, NULL);
        json_t *a = ld_find(j, 0);
        if (a != NULL) {
            json_t *d = json_object_get(a, "datePublished");
            if (json_is_string(d))
                set_once(pg, &pg->date[DATE_LD], json_string_value(d));
            if (pg->ld_authors.len == 0)
                ld_author(pg, json_object_get(a, "author"), 0);
        }
        json_decref(j);
    }
    reset_out(&pg->ld);
    pg->in_ld = 0;
}

static void finish_article(page *pg)
{
    if (pg->art.len > pg->best.len) {
        out t = pg->best;
        pg->best = pg->art;
        pg->art = t;
        char *s = pg->best_time;
        pg->best_time = pg->art_time;
        pg->art_time = s;
    }
    reset_out(&pg->art);
    pg->art.pre = pg->best.pre; /* one count, whichever holds it */
    free(pg->art_time);
    pg->art_time = NULL;
}

static void on_page_start(void *ctx, const xmlChar *name,
                          const xmlChar **attrs)
{
    page *pg = ((xmlParserCtxtPtr)ctx)->_private;
    if (name == NULL)
        return;
    const char *nm = (const char *)name;
    size_t n = strlen(nm);
    /* What the head and the markup say, wherever it is. */
    if (strcasecmp(nm, "meta") == 0) {
        on_meta(pg, attrs);
    } else if (strcasecmp(nm, "link") == 0) {
        const char *rel = attr(attrs, "rel");
        if (has_token(rel, "canonical"))
            set_once(pg, &pg->canonical, attr(attrs, "href"));
    } else if (strcasecmp(nm, "title") == 0) {
        if (pg->svg == 0 && !pg->title_done)
            pg->in_title = 1;
    } else if (strcasecmp(nm, "svg") == 0) {
        pg->svg++;
    } else if (strcasecmp(nm, "h1") == 0) {
        pg->h1_depth++;
    } else if (strcasecmp(nm, "script") == 0) {
        const char *type = attr(attrs, "type");
        if (type != NULL && strcasecmp(type, "application/ld+json") == 0) {
            reset_out(&pg->ld);
            pg->in_ld = 1;
        }
    }
    const char *when = attr(attrs, "datetime");
    if (when == NULL && attrs != NULL) {
        const char *item = attr(attrs, "itemprop");
        if (item != NULL && strcasecmp(item, "datePublished") == 0)
            when = attr(attrs, "content");
    }
    if (when != NULL) {
        if (pg->art_depth > 0)
            set_once(pg, &pg->art_time, when);
        if (pg->main_depth > 0)
            set_once(pg, &pg->main_time, when);
    }

    if (pg->skip > 0 || in_list(page_skipped, nm, n) ||
        (strcasecmp(nm, "header") == 0 && pg->art_depth == 0) ||
        (strcasecmp(nm, "html") != 0 && strcasecmp(nm, "body") != 0 &&
         strcasecmp(nm, "main") != 0 && strcasecmp(nm, "article") != 0 &&
         dropped_by_attrs(attrs))) {
        pg->skip++;
        return;
    }
    if (strcasecmp(nm, "article") == 0 && pg->art_depth++ == 0)
        reset_out(&pg->art);
    if (strcasecmp(nm, "main") == 0)
        pg->main_depth++;
    out *o[3];
    int k = active(pg, o);
    int block = in_list(blocks, nm, n), apart_ = in_list(apart, nm, n);
    int pre = in_list(preformatted, nm, n);
    for (int i = 0; i < k; i++) {
        if (block)
            line_break(o[i]);
        else if (apart_)
            o[i]->space = o[i]->len > 0 && o[i]->newlines == 0;
    }
    if (pre) {
        pg->body.pre++;
        pg->main.pre++;
        pg->art.pre++;
    }
}

static void on_page_end(void *ctx, const xmlChar *name)
{
    page *pg = ((xmlParserCtxtPtr)ctx)->_private;
    if (name == NULL)
        return;
    const char *nm = (const char *)name;
    size_t n = strlen(nm);
    if (strcasecmp(nm, "title") == 0 && pg->in_title) {
        pg->in_title = 0;
        pg->title_done = pg->title.len > 0;
    } else if (strcasecmp(nm, "svg") == 0 && pg->svg > 0) {
        pg->svg--;
    } else if (strcasecmp(nm, "h1") == 0 && pg->h1_depth > 0) {
        if (--pg->h1_depth == 0)
            finish_h1(pg);
    } else if (strcasecmp(nm, "script") == 0 && pg->in_ld) {
        finish_ld(pg);
    }
    if (pg->skip > 0) {
        pg->skip--;
        return;
    }
    out *o[3];
    int k = active(pg, o);
    int block = in_list(blocks, nm, n), apart_ = in_list(apart, nm, n);
    if (in_list(preformatted, nm, n) && pg->body.pre > 0) {
        pg->body.pre--;
        pg->main.pre--;
        pg->art.pre--;
    }
    for (int i = 0; i < k; i++) {
        if (block)
            line_break(o[i]);
        else if (apart_)
            o[i]->space = o[i]->len > 0 && o[i]->newlines == 0;
    }
    if (strcasecmp(nm, "article") == 0 && pg->art_depth > 0 &&
        --pg->art_depth == 0)
        finish_article(pg);
    if (strcasecmp(nm, "main") == 0 && pg->main_depth > 0)
        pg->main_depth--;
}

static void on_page_text(void *ctx, const xmlChar *s, int len)
{
    page *pg = ((xmlParserCtxtPtr)ctx)->_private;
    if (s == NULL || len <= 0)
        return;
    if (pg->in_title && pg->svg == 0)
        text(&pg->title, s, (size_t)len);
    if (pg->h1_depth > 0)
        text(&pg->h1, s, (size_t)len);
    if (pg->skip > 0)
        return;
    out *o[3];
    int k = active(pg, o);
    for (int i = 0; i < k; i++)
        text(o[i], s, (size_t)len);
}

static void on_page_cdata(void *ctx, const xmlChar *s, int len)
{
    page *pg = ((xmlParserCtxtPtr)ctx)->_private;
    if (pg->in_ld) {
        if (s != NULL && len > 0 && pg->ld.len <= LD_MAX)
            put(&pg->ld, (const char *)s, (size_t)len);
        return;
    }
    on_page_text(ctx, s, len);
}

static void trim_end(out *o)
{
    while (o->len > 0 && (o->p[o->len - 1] == '\n' || o->p[o->len - 1] == ' '))
        o->p[--o->len] = '\0';
}

/* t's prefix before a " | Site" or " - Site" suffix when the suffix is
 * the site's name or the prefix the page's <h1>; its length, else n. */
static size_t strip_site(const char *t, size_t n, const char *site,
                         const char *h1)
{
    static const char *const seps[] = {" | ", " - ", " \xe2\x80\x93 ",
                                       " \xe2\x80\x94 ", " \xc2\xb7 ",
                                       " :: ", NULL};
    for (int i = 0; seps[i] != NULL; i++) {
        size_t k = strlen(seps[i]);
        for (size_t at = n >= k ? n - k + 1 : 0; at-- > 0;) {
            if (memcmp(t + at, seps[i], k) != 0)
                continue;
            const char *suffix = t + at + k;
            size_t sn = n - at - k;
            if ((site != NULL && strlen(site) == sn &&
                 strncasecmp(site, suffix, sn) == 0) ||
                (h1 != NULL && strlen(h1) == at && at > 0 &&
                 memcmp(h1, t, at) == 0))
                return at;
            break; /* the last such separator only */
        }
    }
    return n;
}

static const char *first_abs(const char *a, const char *b)
{
    if (a != NULL && strstr(a, "://") != NULL)
        return a;
    if (b != NULL && strstr(b, "://") != NULL)
        return b;
    return a != NULL ? a : b;
}

static int parse_date(const char *s, int64_t *t)
{
    size_t n = strlen(s);
    return trawl_parse_iso_date(s, n, t) == 0 ||
           trawl_parse_loose_date(s, n, t) == 0;
}

static void page_free(page *pg)
{
    out *outs[] = {&pg->body, &pg->main, &pg->art, &pg->best, &pg->title,
                   &pg->h1, &pg->ld, &pg->authors, &pg->og_authors,
                   &pg->ld_authors};
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
        free(outs[i]->p);
    char *strs[] = {pg->h1_any, pg->h1_art, pg->og_title, pg->og_url,
                    pg->canonical, pg->site, pg->art_time, pg->best_time,
                    pg->main_time};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    for (int i = 0; i < DATE_SLOTS; i++)
        free(pg->date[i]);
}

static int copy_field(char **dst, size_t *dst_len, const char *s, size_t n,
                      int keep_null)
{
    if (s == NULL && keep_null) {
        *dst = NULL;
        *dst_len = 0;
        return 0;
    }
    if (s == NULL)
        n = 0;
    *dst = malloc(n + 1);
    if (*dst == NULL)
        return -1;
    if (n > 0)
        memcpy(*dst, s, n);
    (*dst)[n] = '\0';
    *dst_len = n;
    return 0;
}

void trawl_html_page_free(trawl_html_page *p)
{
    free(p->title);
    free(p->body);
    free(p->author);
    free(p->url);
    memset(p, 0, sizeof(*p));
}

int trawl_html_page_read(const char *html, size_t len, trawl_html_page *p)
{
    memset(p, 0, sizeof(*p));
    p->date = TRAWL_NO_DATE;
    int failed = 0;
    size_t clen = 0;
    char *copy = escape_unclosed(html, len, &clen, &failed);
    if (failed)
        return -1;
    if (copy != NULL) {
        html = copy;
        len = clen;
    }
    if (len > (size_t)INT32_MAX) {
        free(copy);
        return -1;
    }
    page pg;
    memset(&pg, 0, sizeof(pg));
    /* The caller made the page UTF-8 (its <meta charset> is read there). */
    if (sax_parse(html, len, on_page_start, on_page_end, on_page_text,
                  on_page_cdata, &pg) < 0) {
        free(copy);
        return -1;
    }
    free(copy);
    while (pg.art_depth > 0) { /* not closed: the parser's end came first */
        pg.art_depth = 0;
        finish_article(&pg);
    }
    out *outs[] = {&pg.body, &pg.main, &pg.best, &pg.title, &pg.authors,
                   &pg.og_authors, &pg.ld_authors};
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
        failed |= outs[i]->failed;
        trim_end(outs[i]);
    }
    if (failed || pg.failed) {
        page_free(&pg);
        return -1;
    }

    /* The body: the largest article, else <main>, else <body>. */
    const out *whole = pg.main.len > 0 ? &pg.main : &pg.body;
    const out *root = whole;
    const char *when = pg.main.len > 0 ? pg.main_time : NULL;
    if (pg.best.len > 0 && pg.best.len * 5 >= whole->len) {
        root = &pg.best;
        when = pg.best_time;
    }
    if (when != NULL)
        set_once(&pg, &pg.date[DATE_TIME], when);

    /* The title. */
    for (size_t i = 0; i < pg.title.len; i++)
        if (pg.title.p[i] == '\n')
            pg.title.p[i] = ' ';
    const char *h1 = pg.h1_art != NULL ? pg.h1_art : pg.h1_any;
    const char *title = NULL;
    size_t tn = 0;
    if (pg.og_title != NULL) {
        title = pg.og_title;
        tn = strlen(title);
    } else if (pg.title.len > 0) {
        title = pg.title.p;
        tn = strip_site(title, pg.title.len, pg.site, h1);
    } else if (h1 != NULL) {
        title = h1;
        tn = strlen(h1);
    }

    /* A first line that is the title is not said twice. */
    const char *b = root->p != NULL ? root->p : "";
    size_t bn = root->len;
    const char *nl = memchr(b, '\n', bn);
    size_t first = nl != NULL ? (size_t)(nl - b) : bn;
    if (title != NULL && first == tn && memcmp(b, title, tn) == 0) {
        b += first;
        bn -= first;
        while (bn > 0 && (*b == '\n' || *b == ' ')) {
            b++;
            bn--;
        }
    }

    const out *au = pg.authors.len > 0      ? &pg.authors
                    : pg.og_authors.len > 0 ? &pg.og_authors
                                            : &pg.ld_authors;
    const char *url = first_abs(pg.canonical, pg.og_url);
    int rc = 0;
    if (copy_field(&p->title, &p->title_len, title, tn, 0) < 0 ||
        copy_field(&p->body, &p->body_len, b, bn, 0) < 0 ||
        copy_field(&p->author, &p->author_len, au->len > 0 ? au->p : NULL,
                   au->len, 1) < 0 ||
        copy_field(&p->url, &p->url_len, url, url ? strlen(url) : 0, 1) < 0)
        rc = -1;
    for (int i = 0; i < DATE_SLOTS && rc == 0; i++) {
        if (pg.date[i] == NULL)
            continue;
        if (parse_date(pg.date[i], &p->date)) {
            p->bad_date = 0;
            break;
        }
        p->bad_date = 1;
    }
    page_free(&pg);
    if (rc < 0)
        trawl_html_page_free(p);
    return rc;
}

/* ---- the declared encoding -------------------------------------------- */

#define CHARSET_SCAN 8192

/* HTML's readings of encoding labels, as iconv names the encoding. */
static const struct {
    const char *label, *iconv;
} charsets[] = {
    {"utf-8", "UTF-8"},          {"utf8", "UTF-8"},
    {"unicode-1-1-utf-8", "UTF-8"}, {"utf-16", "UTF-8"},
    {"utf-16le", "UTF-8"},       {"utf-16be", "UTF-8"},
    {"iso-8859-1", "WINDOWS-1252"}, {"iso8859-1", "WINDOWS-1252"},
    {"latin1", "WINDOWS-1252"},  {"l1", "WINDOWS-1252"},
    {"us-ascii", "WINDOWS-1252"}, {"ascii", "WINDOWS-1252"},
    {"iso_8859-1", "WINDOWS-1252"}, {"cp1252", "WINDOWS-1252"},
    {"windows-1252", "WINDOWS-1252"}, {"x-cp1252", "WINDOWS-1252"},
    {"shift_jis", "CP932"},      {"shift-jis", "CP932"},
    {"sjis", "CP932"},           {"x-sjis", "CP932"},
    {"ms_kanji", "CP932"},       {"windows-31j", "CP932"},
    {"csshiftjis", "CP932"},     {"euc-kr", "CP949"},
    {"ks_c_5601-1987", "CP949"}, {"korean", "CP949"},
    {"gb2312", "GB18030"},       {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},        {"gb18030", "GB18030"},
    {"chinese", "GB18030"},      {"csgb2312", "GB18030"},
    {"big5", "BIG5-HKSCS"},      {"big5-hkscs", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"},  {"tis-620", "CP874"},
    {"iso-8859-11", "CP874"},    {"windows-874", "CP874"},
    {"x-mac-cyrillic", "MAC-CYRILLIC"},
};

/* The label at v (up to a quote, ';', space or '>') as iconv names it. */
static const char *charset_name(const char *v, const char *end, char *buf,
                                size_t cap)
{
    while (v < end && (*v == '"' || *v == '\'' || is_space((unsigned char)*v)))
        v++;
    size_t n = 0;
    while (v + n < end && (is_alnum((unsigned char)v[n]) || v[n] == '-' ||
                           v[n] == '_' || v[n] == '.' || v[n] == ':'))
        n++;
    if (n == 0 || n + 1 > cap)
        return NULL;
    for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
        if (strlen(charsets[i].label) == n &&
            strncasecmp(charsets[i].label, v, n) == 0) {
            snprintf(buf, cap, "%s", charsets[i].iconv);
            return buf;
        }
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)((v[i] >= 'a' && v[i] <= 'z') ? v[i] - 32 : v[i]);
    buf[n] = '\0';
    return buf;
}

const char *trawl_html_charset(const char *html, size_t len, char *buf,
                               size_t cap)
{
    const char *end = html + (len < CHARSET_SCAN ? len : CHARSET_SCAN);
    const char *p = html;
    if (end - p > 5 && memcmp(p, "<?xml", 5) == 0) {
        const char *q = find(p, (size_t)(end - p), "?>");
        const char *e = find(p, q != NULL ? (size_t)(q - p) : 0, "encoding");
        if (e != NULL) {
            e += 8;
            while (e < q && (is_space((unsigned char)*e) || *e == '='))
                e++;
            return charset_name(e, q, buf, cap);
        }
    }
    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        p++;
        if (end - p < 5 || strncasecmp(p, "meta", 4) != 0 ||
            !is_space((unsigned char)p[4]))
            continue;
        const char *gt = memchr(p, '>', (size_t)(end - p));
        const char *stop = gt != NULL ? gt : end;
        /* charset= anywhere in the tag: <meta charset="x"> and
         * content="text/html; charset=x" alike */
        for (const char *q = p; q + 8 <= stop; q++) {
            if (strncasecmp(q, "charset", 7) != 0)
                continue;
            const char *v = q + 7;
            while (v < stop && is_space((unsigned char)*v))
                v++;
            if (v < stop && *v == '=')
                return charset_name(v + 1, stop, buf, cap);
        }
    }
    return NULL;
}
